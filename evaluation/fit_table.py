#!/usr/bin/python3
"""Which students fit on one 80 GB and one 141 GB GPU in each way of training: the memory plan of
`bcsft train --dry-run --device-memory SIZE` for each architecture in evaluation/students/ (their
published config.json keys, no weights), one row of --seq-len tokens per micro-batch (the paper's
traces run to 16k tokens). Prints a Markdown table (peak GiB per device; which of the two GPUs it
fits) and writes it to evaluation/results/fit_table.md.

Usage: evaluation/fit_table.py [--seq-len 16384] [--bcsft PATH]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

STUDENTS = os.path.join(os.path.dirname(__file__), "students")
CHUNK = {"activation_checkpointing": True, "loss_chunk_tokens": 4096}
# (column, settings, data-parallel ranks sharing the optimizer state)
MODES = [
    ("fp32 full", {}, 1),
    ("bf16 full (fp32 master)", {"dtype": "bfloat16"}, 1),
    ("bf16 full + ckpt + chunked loss", {"dtype": "bfloat16", **CHUNK}, 1),
    ("bf16 pure + ckpt + chunked loss", {"dtype": "bfloat16", "master_weights": False, **CHUNK}, 1),
    ("LoRA r16 q,v on bf16 base + ckpt", {"dtype": "bfloat16", "lora": {"rank": 16, "targets": ["q_proj", "v_proj"]}, **CHUNK}, 1),
    ("bf16 full + ckpt, zero 1 over 8 GPUs", {"dtype": "bfloat16", "zero": 1, "nproc": 8, **CHUNK}, 8),
]
GPUS = [("80GB", 80e9), ("141GB", 141e9)]


def plan(bcsft, cfg_path, memory):
    p = subprocess.run([bcsft, "train", "--config", cfg_path, "--dry-run", "--device-memory", memory], capture_output=True, text=True)
    m = re.search(r"peak per device\s+([0-9.]+) GiB", p.stdout)
    n = re.search(r"parameters\s+([0-9.e+]+)", p.stdout)
    if not m:
        raise SystemExit(f"no plan from {cfg_path}:\n{p.stdout}\n{p.stderr}")
    return float(m.group(1)), float(n.group(1)), p.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq-len", type=int, default=16384)
    ap.add_argument("--bcsft", default=None)
    a = ap.parse_args()
    bcsft = a.bcsft or os.path.join(benchlib.ROOT, ".build", "debug", "bcsft")
    scratch = tempfile.mkdtemp(prefix="bcsft-fit-")
    corpus = os.path.join(benchlib.ROOT, "data", "smoke", "sft.jsonl")
    tok, ds = os.path.join(scratch, "tok.model"), os.path.join(scratch, "ds")
    subprocess.run([bcsft, "tokenizer", "train", "--corpus", corpus, "--vocab-size", "512", "--output", tok], check=True, capture_output=True)
    subprocess.run([bcsft, "dataset", "build", "--records", corpus, "--tokenizer", tok, "--seq-len", str(a.seq_len), "--output", ds],
                   check=True, capture_output=True)
    rows = []
    for name in sorted(f[:-5] for f in os.listdir(STUDENTS) if f.endswith(".json")):
        folder = os.path.join(scratch, name)
        os.makedirs(folder)
        with open(os.path.join(STUDENTS, name + ".json")) as f, open(os.path.join(folder, "config.json"), "w") as g:
            g.write(f.read())
        cells, params = [], None
        for column, settings, _ in MODES:
            cfg = {"data": ds, "output": os.path.join(scratch, "out"), "model": {"from": folder}, "steps": 1, "batch_size": 1,
                   "device": "cuda", **settings}
            path = os.path.join(scratch, "run.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            fits = []
            for label, _ in GPUS:
                peak, params, ok = plan(bcsft, path, label)
                if ok:
                    fits.append(label.replace("GB", ""))
            cells.append(f"{peak:.0f} ({', '.join(fits) if fits else 'neither'})")
        rows.append((params, name, cells))
    rows.sort()
    lines = [f"Peak GiB per GPU from `bcsft train --dry-run` for one row of {a.seq_len} tokens (batch 1), and which GPUs "
             "(80 GB, 141 GB) it fits; \"ckpt\" is activation_checkpointing, \"chunked loss\" loss_chunk_tokens 4096.", "",
             "| student | params | " + " | ".join(m[0] for m in MODES) + " |", "|---|---|" + "---|" * len(MODES)]
    for params, name, cells in rows:
        lines.append(f"| {name} | {params / 1e9:.2f}B | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.dirname(benchlib.RESULTS), exist_ok=True)
    with open(os.path.join(os.path.dirname(benchlib.RESULTS), "fit_table.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()

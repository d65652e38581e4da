#!/usr/bin/python3
"""Peak resident memory and training speed per trainable setting, bcsft against HF transformers
(+ PEFT) on PyPI's current torch (.venv-hf2, scripts/setup-hf2), same model, same cores, same run.

The model: a Llama of about 100M parameters (vocab 32000, dim 768, 8 layers, 12 heads, 4 key-value
heads, ffn 2048, untied head), made once by transformers and saved as a folder both sides load
(`model.from`). One row of --tokens tokens per step (batch 1; then a bf16_full / bf16_ckpt pair at
--ckpt-batch rows, where activations weigh more), AdamW (lr 1e-4, betas 0.9/0.95,
decay 0.1 on matrices), clipping at 1.0. bcsft trains on packed rows of the smoke SFT records
(documents masked from each other, loss on assistant tokens); HF on random ids of the same length
with the loss on every token: the same products and the same optimizer per step.

Rows, one per mode (hf_train_memory.py's docstring says which HF run stands for which setting):
  train_peak_rss[MODE]     ours: `bcsft train`'s peak RSS (the child's ru_maxrss); baseline: the
                           HF process's; goal: ours <= HF's
  train_tokens_per_s[MODE] median step after the first; goal: ours >= HF's
The rows also carry each side's resident size before training (bcsft: a `--dry-run`, which loads
libtorch and reads config.json only; HF: after `import torch, transformers`), so the peaks above it
can be compared too.
Usage: evaluation/bench_train_memory.py [--tokens 1024] [--steps 3] [--modes fp32_full,...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

HF2_PYTHON = os.path.join(benchlib.ROOT, ".venv-hf2", "bin", "python")
WORKER = os.path.join(os.path.dirname(__file__), "hf_train_memory.py")
ARCH = dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=8, num_attention_heads=12,
            num_key_value_heads=4, max_position_embeddings=4096, tie_word_embeddings=False)
# bcsft's settings for each mode (the HF counterpart is hf_train_memory.py's MODE of the same name).
MODES = {
    "fp32_full": {},
    "bf16_full": {"dtype": "bfloat16"},
    "bf16_pure": {"dtype": "bfloat16", "master_weights": False},
    "bf16_ckpt": {"dtype": "bfloat16", "activation_checkpointing": True},
    "lora": {"lora": {"rank": 16, "alpha": 32, "targets": ["q_proj", "v_proj"]}},
}


def make_model(folder):
    code = ("import sys, torch\nfrom transformers import LlamaConfig, LlamaForCausalLM\ntorch.manual_seed(0)\n"
            f"LlamaForCausalLM(LlamaConfig(**{ARCH!r})).save_pretrained(sys.argv[1], safe_serialization=True)\n")
    subprocess.run([HF2_PYTHON, "-c", code, folder], check=True, capture_output=True)


def make_dataset(bcsft, scratch, tokens):
    corpus = os.path.join(benchlib.ROOT, "data", "smoke", "sft.jsonl")
    tok = os.path.join(scratch, "tok.model")
    ds = os.path.join(scratch, "ds")
    subprocess.run([bcsft, "tokenizer", "train", "--corpus", corpus, "--vocab-size", "512", "--output", tok], check=True, capture_output=True)
    subprocess.run([bcsft, "dataset", "build", "--records", corpus, "--tokenizer", tok, "--seq-len", str(tokens), "--output", ds],
                   check=True, capture_output=True)
    return ds


def peak_of(cmd):
    """Runs cmd to completion and returns (stdout, its peak RSS in bytes)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout = p.stdout.read()
    stderr = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{stderr[-3000:]}")
    return stdout, usage.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--ckpt-batch", type=int, default=4,
                    help="rows per step of a second bf16_full / bf16_ckpt pair, where activations weigh more (0: skip it)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--repeats", type=int, default=None, help=argparse.SUPPRESS)  # make bench passes the model drivers' flags
    a, _ = ap.parse_known_args()
    if not os.path.exists(HF2_PYTHON):
        print("note: no .venv-hf2 (scripts/setup-hf2 creates it; evaluation/run calls it): bench_train_memory skipped")
        return
    bcsft = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=benchlib.ROOT,
                                        capture_output=True, text=True, check=True).stdout.strip(), "bcsft")
    subprocess.run(["swift", "build", "-c", "release", "--product", "bcsft"], cwd=benchlib.ROOT, check=True)
    scratch = tempfile.mkdtemp(prefix="bcsft-trainmem-")
    base = os.path.join(scratch, "base")
    make_model(base)
    ds = make_dataset(bcsft, scratch, a.tokens)
    mib = 1 << 20
    runs = [(m, 1) for m in a.modes.split(",")] + ([("bf16_full", a.ckpt_batch), ("bf16_ckpt", a.ckpt_batch)] if a.ckpt_batch > 1 else [])
    for mode, batch in runs:
        cfg_out = os.path.join(scratch, f"run-{mode}-{batch}")
        cfg = {"data": ds, "output": cfg_out, "model": {"from": base}, "steps": a.steps, "batch_size": batch, "grad_accum": 1,
               "lr": 1e-4, "warmup_steps": 0, "schedule": "constant", "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95,
               "grad_clip": 1.0, "save_every": 0, "keep_last": 1, **MODES[mode]}
        path = cfg_out + ".json"
        with open(path, "w") as f:
            json.dump(cfg, f)
        _, ours_runtime = peak_of([bcsft, "train", "--config", path, "--dry-run"])
        _, ours_peak = peak_of([bcsft, "train", "--config", path])
        with open(os.path.join(cfg_out, "metrics.jsonl")) as f:
            lines = [json.loads(x) for x in f if x.strip()]
        speeds = [x["tokens_per_s"] for x in lines if "tokens_per_s" in x][1:]
        ours_tps = benchlib.median(speeds) if speeds else None
        hf_out, hf_peak = peak_of([HF2_PYTHON, WORKER, "--model", base, "--mode", mode, "--tokens", str(a.tokens), "--steps", str(a.steps),
                              "--batch", str(batch)])
        hf = json.loads(hf_out.strip().splitlines()[-1])
        extra = dict(mode=mode, tokens=a.tokens, batch=batch, steps=a.steps, settings=MODES[mode], parameters=hf["parameters"], trainable=hf["trainable"],
                     ours_rss_runtime=ours_runtime, hf_rss_runtime=hf["rss_runtime"], ours_peak_above_runtime=ours_peak - ours_runtime,
                     hf_peak_above_runtime=hf_peak - hf["rss_runtime"], hf_torch=hf["torch"], hf_transformers=hf["transformers"])
        label = mode if batch == 1 else f"{mode},batch {batch}"
        benchlib.record(f"train_peak_rss[{label}]", ours_peak / mib, hf_peak / mib, "MiB", "ours <= HF's", **extra)
        benchlib.record(f"train_tokens_per_s[{label}]", ours_tps, hf["tokens_per_s"], "tokens/s", "ours >= HF's", **extra)
        print(f"{label:10s} peak RSS ours {ours_peak / mib:7.0f} MiB (runtime {ours_runtime / mib:.0f}) HF {hf_peak / mib:7.0f} MiB "
              f"(runtime {hf['rss_runtime'] / mib:.0f}); tokens/s ours {ours_tps or 0:7.1f} HF {hf['tokens_per_s']:7.1f}", flush=True)


if __name__ == "__main__":
    main()

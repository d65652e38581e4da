#!/usr/bin/python3
"""Dataset building throughput and memory.

1. Rate: `bcsft dataset build` (release binary: read JSONL, render the chat template, tokenize
   on every core, best-fit pack, write checksummed shards) against Python's sentencepiece
   encoding the same message texts with the same model (`encode(list, num_threads=cores)`,
   timing the encode call alone, JSON parsing excluded), in the same run. Goal: ours >= 2x.
   Ours is reported twice: the build's own wall time (manifest stats.seconds: what the
   ratio uses, comparable to timing Python's encode call) and the whole process including
   its start (libtorch's static initialisers cost about 0.7 s per process).
2. Memory: peak RSS of `bcsft dataset build` on the corpus and on a corpus 10x larger.
   Goal: flat (the builder streams).
The corpus is generated here (deterministic): multi-turn arithmetic conversations.
Usage: evaluation/bench_dataset.py [--records 20000] [--repeats 3]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

WORDS = ["first", "we", "add", "the", "two", "numbers", "then", "check", "by", "subtracting", "carry", "the",
         "digit", "so", "result", "is", "because", "each", "step", "uses", "the", "same", "rule", "again"]


def make_corpus(path, n, seed=0):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            a, b = rng.randint(10, 9999), rng.randint(10, 9999)
            reasoning = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 160)))
            msgs = [{"role": "system", "content": "Solve step by step; put the answer in \\boxed{}."},
                    {"role": "user", "content": f"Compute {a} + {b} and explain. Problem {i}."},
                    {"role": "assistant", "content": f"{reasoning}. {a} + {b} = {a + b}. The answer is \\boxed{{{a + b}}}."}]
            if i % 3 == 0:
                msgs += [{"role": "user", "content": "Double it."},
                         {"role": "assistant", "content": f"2 × {a + b} = {2 * (a + b)}, so \\boxed{{{2 * (a + b)}}}."}]
            f.write(json.dumps({"id": f"b{i}", "messages": msgs}, ensure_ascii=False) + "\n")


PY_ENCODE = r"""
import json, sys, time, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
texts = []
for line in open(sys.argv[2], encoding="utf-8"):
    texts += [m["content"] for m in json.loads(line)["messages"]]
threads = int(sys.argv[3])
t0 = time.perf_counter()
if threads == 1:
    ids = [sp.encode(t) for t in texts]  # what a per-example datasets.map(tokenize) does
else:
    ids = sp.encode(texts, num_threads=threads)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "tokens": sum(map(len, ids)), "texts": len(texts)}))
"""


def peak_rss_kib(cmd):
    """Runs cmd under /usr/bin/time and returns (seconds, max RSS in KiB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return dt, int(p.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    for product in ("bcsft", "SentencePieceShim"):
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=benchlib.ROOT, check=True,
                       capture_output=True)
    bcsft = os.path.join(os.path.dirname(benchlib.bench_binary()), "bcsft")
    cores = os.cpu_count() or 2
    with tempfile.TemporaryDirectory() as tmp:
        small, large = os.path.join(tmp, "small.jsonl"), os.path.join(tmp, "large.jsonl")
        make_corpus(small, a.records)
        make_corpus(large, a.records * 10, seed=1)
        tok = os.path.join(tmp, "tok.model")
        subprocess.run([bcsft, "tokenizer", "train", "--corpus", small, "--vocab-size", "2000", "--output", tok],
                       check=True, capture_output=True)
        ours, process, theirs, single, tokens = [], [], [], [], 0
        for _ in range(a.repeats):
            dt, _ = peak_rss_kib([bcsft, "dataset", "build", "--records", small, "--tokenizer", tok, "--seq-len", "1024",
                                  "--output", os.path.join(tmp, "ds")])
            m = json.load(open(os.path.join(tmp, "ds", "manifest.json")))
            tokens = sum(s["tokens"] for s in m["splits"].values())
            ours.append(tokens / m["stats"]["seconds"])
            process.append(tokens / dt)
            r = json.loads(subprocess.run(["/usr/bin/python3", "-c", PY_ENCODE, tok, small, str(cores)],
                                          capture_output=True, text=True, check=True).stdout)
            theirs.append(r["tokens"] / r["seconds"])
            r1 = json.loads(subprocess.run(["/usr/bin/python3", "-c", PY_ENCODE, tok, small, "1"],
                                           capture_output=True, text=True, check=True).stdout)
            single.append(r1["tokens"] / r1["seconds"])
        o, t, t1 = benchlib.median(ours), benchlib.median(theirs), benchlib.median(single)
        benchlib.record("dataset_build_tokens_per_s_vs_python_1_thread", o, t1, "tokens/s",
                        "ours >= 2x python sentencepiece encode, one call per text (datasets.map style)",
                        records=a.records, samples_ours=ours, samples_baseline=single)
        benchlib.record(f"dataset_build_tokens_per_s_vs_python_{cores}_threads", o, t, "tokens/s",
                        "ours >= 2x python sentencepiece encode (same texts, same model, same cores)",
                        records=a.records, packing_efficiency=m["stats"]["packing_efficiency"], tokens=tokens,
                        whole_process_tokens_per_s=benchlib.median(process), samples_ours=ours, samples_baseline=theirs)
        print(f"build: {o:,.0f} tokens/s in-process ({benchlib.median(process):,.0f} counting process start)   "
              f"python sentencepiece encode: {t:,.0f} tokens/s with {cores} threads (ratio {o / t:.2f}), "
              f"{t1:,.0f} tokens/s one text per call (ratio {o / t1:.2f})")
        print(f"packing efficiency {m['stats']['packing_efficiency']:.3f}, {tokens:,} tokens from {a.records:,} records")
        _, rss_small = peak_rss_kib([bcsft, "dataset", "build", "--records", small, "--tokenizer", tok, "--seq-len", "1024",
                                     "--output", os.path.join(tmp, "ds")])
        dt_large, rss_large = peak_rss_kib([bcsft, "dataset", "build", "--records", large, "--tokenizer", tok, "--seq-len",
                                            "1024", "--output", os.path.join(tmp, "ds")])
        size_small, size_large = os.path.getsize(small), os.path.getsize(large)
        benchlib.record("dataset_build_peak_rss_10x_input", rss_large / 1024, rss_small / 1024, "MiB",
                        "ratio close to 1: peak memory flat when the input grows 10x",
                        input_mib=[size_small / 2**20, size_large / 2**20])
        print(f"peak RSS: {rss_small / 1024:.0f} MiB on {size_small / 2**20:.0f} MiB of JSONL, "
              f"{rss_large / 1024:.0f} MiB on {size_large / 2**20:.0f} MiB (ratio {rss_large / rss_small:.2f}); "
              f"large build took {dt_large:.1f} s")


if __name__ == "__main__":
    main()

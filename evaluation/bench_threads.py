#!/usr/bin/python3
"""Threads x BLAS grid: one training step of the Llama student at the HF baseline's default
shapes (vocab 2048, dim 256, 4 layers, 4 heads, ffn 688, 16 rows of 256 tokens) through bcsft
and through HF transformers' LlamaForCausalLM on the same libtorch, for every combination of
torch intra-op threads and matrix-product threads in {1, 2} (bcsft: BCSFT_BLAS_THREADS, the
team of its oneDNN products; HF: OpenBLAS's threads). Each cell is the median of --repeats
processes (each itself the median of its timed steps); both sides run in the same invocation.
It is how the default thread settings were chosen (README, "Threads and BLAS").
Usage: evaluation/bench_threads.py [--repeats 3] [--steps 3]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

SHAPES = ["--vocab", "2048", "--dim", "256", "--layers", "4", "--heads", "4", "--ffn", "688",
          "--seq", "256", "--batch", "16"]


def main():
    a, exe, have_baseline, steps = benchlib.driver_setup(__doc__.splitlines()[0])
    rows = []
    for tt in (1, 2):
        for bt in (1, 2):
            env = {"BCSFT_TORCH_THREADS": str(tt), "BCSFT_BLAS_THREADS": str(bt), "OPENBLAS_NUM_THREADS": str(bt)}
            ours, base = [], []
            for _ in range(a.repeats):
                ours.append(benchlib.run_json([exe, "train", *SHAPES, *steps], env)["tokens_per_s"])
                if have_baseline:
                    base.append(benchlib.run_json([benchlib.HF_PYTHON, benchlib.HF_BASELINE, "train", *SHAPES,
                                                   "--min-len", "256", "--threads", str(tt), *steps], env)["tokens_per_s"])
            o = benchlib.median(ours)
            b = benchlib.median(base) if base else None
            rows.append(benchlib.record(f"train_step_threads[torch={tt},blas={bt}]", o, b, "tokens/s",
                                        "choose the default; ratio >= 1 vs HF on the same libtorch",
                                        repeats=a.repeats, samples_ours=ours, samples_baseline=base))
            print(f"torch {tt}  blas {bt}: ours {o:8.0f} tok/s   HF {b if b is None else round(b)} tok/s", flush=True)
    best = max(rows, key=lambda r: r["ours"])
    print("\n| torch threads | OpenBLAS threads | bcsft tokens/s | HF transformers tokens/s | ratio |")
    print("|---|---|---|---|---|")
    for r in rows:
        b = "n/a" if r["baseline"] is None else f"{r['baseline']:.0f}"
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"| {r['name'].split('torch=')[1].split(',')[0]} | {r['name'].split('blas=')[1].rstrip(']')} | {r['ours']:.0f} | {b} | {ratio} |")
    print(f"\nfastest for bcsft: {best['name']}")


if __name__ == "__main__":
    main()

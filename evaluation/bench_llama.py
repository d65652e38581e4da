#!/usr/bin/python3
"""The student model against HF transformers' LlamaForCausalLM on the same libtorch, same
architecture (dim 256, 4 layers, 4 heads, ffn 688, vocab 2048), same threads, same run:

  train_full_rows     one AdamW step on 16 full rows of 256 tokens        goal: >= 1.5x HF tokens/s
  train_sft_rows      16 rows from documents uniform in 32..256: ours packed (useful tokens/s),
                      HF padded to the longest row of each batch, as a plain HF run sees them
                                                                          goal: >= 2.5x
  generate_greedy     batch 8, prompt 64, 128 new tokens, KV cache       goal: >= 2x HF generate
  train_mfu           our full-row GFLOP/s over a 1024^3 fp32 matmul's GFLOP/s measured in the
                      same run (the machine's attainable peak)            goal: >= 0.75
Each figure is the median over --repeats processes (each the median of its timed steps).
Usage: evaluation/bench_llama.py [--repeats 3] [--steps 3]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

ARCH = ["--vocab", "2048", "--dim", "256", "--layers", "4", "--heads", "4", "--kv-heads", "4", "--ffn", "688"]


def main():
    a, exe, have, steps = benchlib.driver_setup(__doc__.splitlines()[0])
    env = {"BCSFT_TORCH_THREADS": "1", "BCSFT_BLAS_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    cases = [
        ("train_full_rows", ["train", *ARCH, "--seq", "256", "--batch", "16"],
         ["train", *ARCH, "--seq", "256", "--min-len", "256", "--batch", "16"], 1.5),
        ("train_sft_rows", ["train", "--packed", *ARCH, "--seq", "256", "--min-len", "32", "--batch", "16"],
         ["train", *ARCH, "--seq", "256", "--min-len", "32", "--batch", "16"], 2.5),
        ("generate_greedy", ["generate", *ARCH, "--gen-batch", "8", "--prompt-len", "64", "--new-tokens", "128"],
         ["generate", *ARCH, "--gen-batch", "8", "--prompt-len", "64", "--new-tokens", "128"], 2.0),
    ]
    gflops, peak = [], []
    for name, ours_args, hf_args, goal in cases:
        ours, base = [], []
        for _ in range(a.repeats):
            r = benchlib.run_json([exe, *ours_args, *steps], env)
            ours.append(r["tokens_per_s"])
            if name == "train_full_rows":
                gflops.append(r["gflops"])
                peak.append(benchlib.run_json([exe, "matmul", "--size", "1024"], env)["gflops"])
            if have:
                base.append(benchlib.run_json([benchlib.HF_PYTHON, benchlib.HF_BASELINE, *hf_args, "--threads", "1", *steps],
                                              env)["tokens_per_s"])
        o, b = benchlib.median(ours), (benchlib.median(base) if base else None)
        benchlib.record(name, o, b, "tokens/s", f"ratio >= {goal}", samples_ours=ours, samples_baseline=base)
        print(f"{name:18s} ours {o:8.0f} tok/s   HF {'n/a' if b is None else f'{b:8.0f}'} tok/s   "
              f"ratio {'n/a' if b is None else f'{o / b:.2f}'} (goal {goal})", flush=True)
    g, p = benchlib.median(gflops), benchlib.median(peak)
    benchlib.record("train_mfu", g, p, "GFLOP/s", "ratio >= 0.75 of the measured matmul GFLOP/s")
    print(f"train_mfu          {g:.1f} GFLOP/s of {p:.1f} GFLOP/s (1024^3 fp32 matmul) = {g / p:.2f} (goal 0.75)")


if __name__ == "__main__":
    main()

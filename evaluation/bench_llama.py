#!/usr/bin/python3
"""The student model against HF transformers' LlamaForCausalLM on the same libtorch, same
architecture (dim 256, 4 layers, 4 heads, ffn 688, vocab 2048), same cores, same run:

  train_full_rows     one AdamW step on 16 full rows of 256 tokens        goal: >= 1.5x HF tokens/s
  train_sft_rows      16 rows from documents uniform in 32..256: ours packed (useful tokens/s),
                      HF padded to the longest row of each batch, as a plain HF run sees them
                                                                          goal: >= 2.5x
  generate_greedy     batch 8, prompt 64, 128 new tokens, KV cache       goal: >= 2x HF generate
  train_mfu           our full-row GFLOP/s over a 1024^3 fp32 matmul's GFLOP/s measured in the
                      same run with the faster of the two libraries on this machine (oneDNN,
                      OpenBLAS as installed): the attainable peak        goal: >= 0.75
Our products go through oneDNN (BCSFT_GEMM=onednn, the default); HF's through ATen's BLAS. Where
OpenBLAS runs its slow generic kernels (this VM: "Prescott"), part of our lead is the library,
not the model code, so each model row is repeated as `NAME[HF with OPENBLAS_CORETYPE=X]` with
HF given OpenBLAS's own kernel for the CPU (X = SkylakeX with AVX-512, Haswell with AVX2),
both sides measured in the same run. Those rows are context; the goals are taken as installed.
Each figure is the median over --repeats processes (each the median of its timed steps).
Usage: evaluation/bench_llama.py [--repeats 3] [--steps 3]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

ARCH = ["--vocab", "2048", "--dim", "256", "--layers", "4", "--heads", "4", "--kv-heads", "4", "--ffn", "688"]


def openblas_native_core():
    """OpenBLAS's kernel name for this CPU, or None where its detection is not the issue."""
    flags = open("/proc/cpuinfo").read()
    return "SkylakeX" if " avx512f" in flags else "Haswell" if " avx2" in flags else None


def main():
    a, exe, have, steps = benchlib.driver_setup(__doc__.splitlines()[0])
    # Each side as it runs best here: bcsft with its defaults (oneDNN products, torch threads =
    # cores); HF with torch threads 1 and OpenBLAS on both cores (its fastest cell in
    # bench_threads.py). OPENBLAS_NUM_THREADS reaches HF's BLAS.
    cores = str(os.cpu_count() or 1)
    env = {"OPENBLAS_NUM_THREADS": cores}
    cases = [
        ("train_full_rows", ["train", *ARCH, "--seq", "256", "--batch", "16"],
         ["train", *ARCH, "--seq", "256", "--min-len", "256", "--batch", "16"], 1.5),
        ("train_sft_rows", ["train", "--packed", *ARCH, "--seq", "256", "--min-len", "32", "--batch", "16"],
         ["train", *ARCH, "--seq", "256", "--min-len", "32", "--batch", "16"], 2.5),
        ("generate_greedy", ["generate", *ARCH, "--gen-batch", "8", "--prompt-len", "64", "--new-tokens", "128"],
         ["generate", *ARCH, "--gen-batch", "8", "--prompt-len", "64", "--new-tokens", "128"], 2.0),
    ]
    core = openblas_native_core()
    native = dict(env, OPENBLAS_CORETYPE=core) if core else None
    gflops, peak = [], []
    for name, ours_args, hf_args, goal in cases:
        ours, base, base_native = [], [], []
        hf = [benchlib.HF_PYTHON, benchlib.HF_BASELINE, *hf_args, "--threads", "1", *steps]
        for _ in range(a.repeats):
            r = benchlib.run_json([exe, *ours_args, *steps], env)
            ours.append(r["tokens_per_s"])
            if name == "train_full_rows":
                gflops.append(r["gflops"])
                # The peak: the faster library's 1024^3 product (oneDNN's, OpenBLAS's as installed).
                peak.append(max(benchlib.run_json([exe, "matmul", "--size", "1024"], dict(env, BCSFT_GEMM=g))["gflops"]
                                for g in ("onednn", "aten")))
            if have:
                base.append(benchlib.run_json(hf, env)["tokens_per_s"])
                if native:
                    base_native.append(benchlib.run_json(hf, native)["tokens_per_s"])
        o, b = benchlib.median(ours), (benchlib.median(base) if base else None)
        benchlib.record(name, o, b, "tokens/s", f"ratio >= {goal}", samples_ours=ours, samples_baseline=base)
        print(f"{name:18s} ours {o:8.0f} tok/s   HF {'n/a' if b is None else f'{b:8.0f}'} tok/s   "
              f"ratio {'n/a' if b is None else f'{o / b:.2f}'} (goal {goal})", flush=True)
        if base_native:
            bn = benchlib.median(base_native)
            benchlib.record(f"{name}[HF with OPENBLAS_CORETYPE={core}]", o, bn, "tokens/s",
                            "context: HF given OpenBLAS's kernel for this CPU", samples_ours=ours, samples_baseline=base_native)
            print(f"{'':18s} HF with OPENBLAS_CORETYPE={core}: {bn:8.0f} tok/s   ratio {o / bn:.2f}", flush=True)
    g, p = benchlib.median(gflops), benchlib.median(peak)
    benchlib.record("train_mfu", g, p, "GFLOP/s", "ratio >= 0.75 of the measured matmul GFLOP/s (faster library)")
    print(f"train_mfu          {g:.1f} GFLOP/s of {p:.1f} GFLOP/s (1024^3 fp32 matmul) = {g / p:.2f} (goal 0.75)")


if __name__ == "__main__":
    main()

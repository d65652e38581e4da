#!/usr/bin/python3
"""Resident memory of a checkpoint export (Checkpoint.save), measured in a process of its own:
a Llama of about 670 MB in float32 (vocab 32000, dim 1024, 8 layers, ffn 2816; the embeddings
and the head are 131 MB each, a fifth of the model) saved as

  export_bf16_sharded_peak_rss   bfloat16 in 100 MB shards with model.safetensors.index.json
  export_fp32_single_peak_rss    float32, one model.safetensors (the 5GB default)

Each row's figure is the peak resident size during the save (VmHWM, reset just before it) above
the resident size before it, as a fraction of the model's float32 size: goal <= 0.10 ("peak
resident memory during save below model size + 10%"). The rows also carry the absolute figures
(the runtime's own resident size before the model existed, the size with the model, the peak),
the peak less the runtime's own size as a multiple of the model's (the "model size + 10%" read
literally: <= 1.10), the save's seconds (context, not a goal), and the load back: the folder must round-trip to the
weights in the export dtype (the driver fails otherwise), with the load's peak above what was
resident before it as a fraction of the exported size.
Usage: evaluation/bench_export.py [--repeats 1] [--out DIR]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

ARCH = ["--vocab", "32000", "--dim", "1024", "--layers", "8", "--heads", "16", "--kv-heads", "16", "--ffn", "2816"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", default=None, help="scratch folder for the export (default: a temporary one)")
    ap.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)  # make bench passes the model drivers' flags
    a, _ = ap.parse_known_args()
    exe = benchlib.bench_binary()
    scratch = a.out or tempfile.mkdtemp(prefix="bcsft-export-")
    cases = [("export_bf16_sharded_peak_rss", ["--dtype", "bfloat16", "--shard-mb", "100"]),
             ("export_fp32_single_peak_rss", ["--dtype", "float32"])]
    for name, flags in cases:
        runs = []
        for _ in range(a.repeats):
            r = benchlib.run_json([exe, "export", *ARCH, *flags, "--out", os.path.join(scratch, "ck")], {})
            if not r["round_trip"]:
                raise SystemExit(f"{name}: the exported folder did not load back as the model's weights in {r['dtype']}")
            runs.append(r)
        frac = benchlib.median([r["save_extra_of_model"] for r in runs])
        last = runs[-1]
        benchlib.record(name, frac, None, "peak RSS above the pre-save RSS / model fp32 bytes", "<= 0.10",
                        samples_ours=[r["save_extra_of_model"] for r in runs],
                        **{k: last[k] for k in ("dtype", "model_bytes", "export_bytes", "largest_tensor_bytes", "shards", "rss_runtime",
                                                 "rss_before_save", "peak_rss_during_save", "save_extra_bytes", "peak_above_runtime_of_model", "save_s",
                                                 "rss_before_load", "load_s", "peak_rss_during_load", "load_extra_of_export")})
        mb = 1e6
        print(f"{name:30s} model {last['model_bytes'] / mb:6.0f} MB, {last['shards']} file(s); RSS runtime {last['rss_runtime'] / mb:.0f} MB, "
              f"with model {last['rss_before_save'] / mb:.0f} MB, peak during save {last['peak_rss_during_save'] / mb:.0f} MB: "
              f"+{last['save_extra_bytes'] / mb:.1f} MB = {frac:.3f} of the model (goal <= 0.10), peak less the runtime "
              f"{last['peak_above_runtime_of_model']:.3f} x the model; save {last['save_s']:.2f} s; "
              f"load peak +{last['load_extra_of_export']:.2f} x the export ({last['load_s']:.2f} s)", flush=True)
    if not a.out:
        os.rmdir(scratch)


if __name__ == "__main__":
    main()

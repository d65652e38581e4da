"""Summarises run.sh's runs as JSON: the shim's C check, GPU vs CPU losses, the memory savers
vs the plain GPU run, the killed-and-resumed GPU run vs the straight one, the cross-device
resume, and the greedy samples."""
import json, os, sys

out, killed_at = sys.argv[1], int(sys.argv[2])
def metrics(name):
    return [json.loads(l) for l in open(f"{out}/metrics-{name}.jsonl") if l.strip()]
def losses(name):
    return [m["loss"] for m in metrics(name)]

cpu, cuda, long_, killed, cross = (losses(n) for n in ("cpu", "cuda", "long", "killed", "cross"))
diffs = [abs(a - b) for a, b in zip(cpu, cuda)]
samples = {d: json.load(open(f"{out}/sample-{d}.json")) for d in ("cpu", "gpu")}
doctor = open(f"{out}/doctor.txt").read()
check = open(f"{out}/check-device.log").read().splitlines() if os.path.exists(f"{out}/check-device.log") else []
saving = losses("saving")
summary = {
    "shim_check": {"passed": "device check passed" in check, "lines": [l for l in check if l.startswith(("FAIL", "bf16", "sdpa", "recompute", "chunked", "loss cpu"))]},
    "checkpointed_chunked_vs_plain_gpu_max_abs_loss_diff": max(abs(a - b) for a, b in zip(cuda, saving)),
    "doctor_cuda_line": next((l.strip() for l in doctor.splitlines() if "CUDA" in l), None),
    "gpu_device": next((l.split(" on ")[1].split(";")[0] for l in open(f"{out}/train-cuda.log") if l.startswith("model:")), None),
    "steps": {"cpu": len(cpu), "cuda": len(cuda)},
    "loss_first_last": {"cpu": [cpu[0], cpu[-1]], "cuda": [cuda[0], cuda[-1]]},
    "cuda_vs_cpu_max_abs_loss_diff": max(diffs),
    "cuda_vs_cpu_max_abs_loss_diff_first_10": max(diffs[:10]),
    "cuda_tokens_per_s_median": sorted(m["tokens_per_s"] for m in metrics("cuda"))[len(cuda) // 2],
    "cpu_tokens_per_s_median": sorted(m["tokens_per_s"] for m in metrics("cpu"))[len(cpu) // 2],
    "resume": {
        "killed_after_steps": killed_at,
        "steps": [len(long_), len(killed)],
        "identical": long_ == killed,
        "max_abs_diff": max(abs(a - b) for a, b in zip(long_, killed)),
    },
    "cross_device_resume": {"steps": len(cross), "last_5": cross[-5:], "finite": all(x == x and abs(x) < 1e30 for x in cross)},
    "greedy_sample_ids_equal": samples["cpu"]["ids"] == samples["gpu"]["ids"],
    "sample_text": {d: samples[d].get("text") for d in samples},
}
if os.path.exists(f"{out}/metrics-dp2.jsonl"):
    dp2 = losses("dp2")
    summary["nccl_2_ranks_vs_1"] = {"steps": len(dp2), "max_abs_loss_diff": max(abs(a - b) for a, b in zip(cuda, dp2))}
else:
    summary["nccl_2_ranks_vs_1"] = "not run: fewer than 2 GPUs"

def max_diff(a, b):
    a, b = losses(a), losses(b)
    return max(abs(x - y) for x, y in zip(a, b)) if a and b else None

# bf16: against the fp32 run on the GPU, against bf16 on the CPU; checkpointing against plain bf16.
summary["bf16"] = {
    "gpu_bf16_vs_gpu_fp32_max_abs_loss_diff": max_diff("bf16", "cuda"),
    "gpu_bf16_vs_cpu_bf16_max_abs_loss_diff": max_diff("bf16", "bf16cpu"),
    "gpu_bf16_ckpt_vs_gpu_bf16_max_abs_loss_diff": max_diff("bf16ckpt", "bf16"),
    "last_loss": {"fp32": cuda[-1], "bf16": losses("bf16")[-1], "bf16_cpu": losses("bf16cpu")[-1]},
}
summary["lora_gpu_vs_cpu_max_abs_loss_diff"] = max_diff("lora", "loracpu")
bench = {}
for name in ("fp32", "bf16", "bf16pure", "bf16ckpt", "lora"):
    if not os.path.exists(f"{out}/hf-{name}.json"):
        continue
    ours = [m["tokens_per_s"] for m in metrics(f"bench-{name}")][1:]
    hf = json.loads(open(f"{out}/hf-{name}.json").read().strip().splitlines()[-1])
    peak = {s: json.load(open(f"{out}/peak-{s}-{name}.json"))["peak_mib"] for s in ("ours", "hf")}
    bench[name] = {"tokens_per_s": {"ours": sorted(ours)[len(ours) // 2], "hf": hf["tokens_per_s"]},
                   "peak_gpu_mib": peak, "hf_torch_max_reserved_mib": (hf.get("cuda_max_reserved") or 0) / 2**20,
                   "hf": {"torch": hf["torch"], "transformers": hf["transformers"]}}
summary["beside_hf_1024_tokens"] = bench or open(f"{out}/bench-skipped.txt").read().strip()
print(json.dumps(summary, indent=2))

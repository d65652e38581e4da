"""Helpers shared by the benchmark drivers: running a command that prints one JSON object,
medians, the HF baseline's location, and appending rows to evaluation/results/bench.jsonl."""
import argparse
import json
import os
import statistics
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RESULTS = os.path.join(ROOT, "evaluation", "results", "bench.jsonl")
HF_BASELINE = os.path.abspath(os.path.join(ROOT, "..", "shared", "bench", "hf_llama_baseline.py"))
HF_PYTHON = os.path.join(ROOT, ".venv-hf", "bin", "python")


def bench_binary():
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(out, "bcsft-bench")


def baseline_available():
    """(True, '') or (False, why) for the HF transformers baseline."""
    if not os.path.exists(HF_BASELINE):
        return False, f"{HF_BASELINE} not found (a fresh clone has no ../shared): baseline skipped"
    if not os.path.exists(HF_PYTHON):
        return False, "no .venv-hf (evaluation/run creates it): baseline skipped"
    return True, ""


def run_json(cmd, env_extra):
    env = dict(os.environ, **env_extra)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def median(xs):
    return statistics.median(xs)


def record(name, ours, baseline, unit, goal, **extra):
    row = {"name": name, "ours": ours, "baseline": baseline,
           "ratio": (ours / baseline) if (baseline and ours is not None) else None,
           "unit": unit, "goal": goal, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **extra}
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def driver_setup(description):
    """Common start of the model drivers: --repeats/--steps, the release bcsft-bench binary,
    and whether the HF baseline can run (a note is printed when it cannot)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    have, why = baseline_available()
    if not have:
        print("note:", why)
    return a, bench_binary(), have, ["--steps", str(a.steps), "--warmup", "1"]

#!/usr/bin/python3
"""A sample evaluation report, rendered and photographed: checks by eye (and by pixel
variance) that report.html draws its charts in a real browser.

1. Makes two small eval runs (bc-sft, vanilla-sft) of generated arithmetic problems at three
   budgets: responses with a <think> span and a boxed answer (right or wrong, sometimes cut off
   at the budget), graded by `bcsft grade`, written as samples.jsonl with a train/metrics.jsonl.
2. `bcsft report` writes evaluation/results/report_sample/report.{md,html}.
3. Headless Chromium screenshots report.html into evaluation/results/report.png (1200x1600),
   and the PNG is checked not to be blank.
Needs Chromium (`sudo apt-get install -y chromium`); not part of CI or `make bench`.
Usage: evaluation/screenshot_report.py
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RESULTS = os.path.join(ROOT, "evaluation", "results")
SUBJECTS = ["Algebra", "Counting & Probability", "Geometry", "Number Theory", "Prealgebra"]
BUDGETS = [2048, 4096, 8192]


def bcsft():
    subprocess.run(["swift", "build", "--product", "bcsft"], cwd=ROOT, check=True)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    return os.path.join(out.stdout.strip(), "bcsft")


def make_run(binary, folder, skill, verbosity, seed):
    """Samples of one arm: `skill` raises accuracy, `verbosity` the tokens it spends."""
    rng = random.Random(seed)
    rows = []
    for p in range(40):
        a, b = (p * 37) % 90 + 10, (p * 53) % 70 + 5
        gold = str(a * b)
        for budget in BUDGETS:
            for s in range(4):
                want = int(budget * verbosity * rng.uniform(0.3, 1.4))
                truncated = want >= budget
                tokens = min(want, budget)
                right = rng.random() < skill + 0.08 * BUDGETS.index(budget) - 0.04 * (p % 5)
                answer = gold if right else str(a * b + rng.choice([-10, -1, 1, 10]))
                response = (f"<think>We multiply {a} by {b} step by step" + (" and keep going" if truncated else
                            f".</think>\nSo {a} \\times {b} = \\boxed{{{answer}}}."))
                rows.append({"problem_id": f"gen/{p}", "subject": SUBJECTS[p % 5], "level": str(p * 3 % 5 + 1),
                             "budget": budget, "sample": s, "response": response, "gold": gold,
                             "output_tokens": tokens, "truncated": truncated, "arm": os.path.basename(folder)})
    pairs = "".join(json.dumps({"pred": r["response"], "gold": r["gold"]}) + "\n" for r in rows)
    graded = subprocess.run([binary, "grade", "--input", "-"], input=pairs, capture_output=True, text=True, check=True).stdout
    os.makedirs(os.path.join(folder, "train"), exist_ok=True)
    with open(os.path.join(folder, "samples.jsonl"), "w") as f:
        for r, line in zip(rows, graded.splitlines()):
            v = json.loads(line)
            extraction = "found" if v["extracted"] is not None else ("truncated" if r["truncated"] else "none")
            f.write(json.dumps({**r, "extracted": v["extracted"], "extraction": extraction,
                                "correct": v["correct"], "reason": v["reason"]}) + "\n")
    with open(os.path.join(folder, "train", "metrics.jsonl"), "w") as f:
        for step in range(10, 310, 10):
            loss = 0.6 + 2.0 * verbosity / (1 + step / 40) + rng.uniform(-0.03, 0.03)
            row = {"step": step, "loss": round(loss, 4), "lr": 1e-4, "grad_norm": 0.8, "loss_tokens": 4096, "tokens_per_s": 1500.0}
            if step % 50 == 0:
                row["val_loss"] = round(loss + 0.08, 4)
            f.write(json.dumps(row) + "\n")


def png_pixels(path):
    """The PNG's pixels as a uint8 array (8-bit RGB or RGBA, no interlacing: what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    bpp = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * bpp)
    out = np.zeros((height, width * bpp), dtype=np.uint8)
    prev = np.zeros(width * bpp, dtype=np.int32)
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) % 256
        else:  # Sub, Average, Paeth depend on the pixel to the left: one pixel at a time
            cur = np.zeros_like(line)
            for x in range(len(line)):
                left = cur[x - bpp] if x >= bpp else 0
                up, ul = prev[x], prev[x - bpp] if x >= bpp else 0
                if f == 1:
                    pred = left
                elif f == 3:
                    pred = (left + up) // 2
                else:
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                cur[x] = (line[x] + pred) % 256
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)


def main():
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        sys.exit("no Chromium: sudo apt-get install -y chromium")
    binary = bcsft()
    work = tempfile.mkdtemp(prefix="bcsft-report-")
    try:
        runs = [os.path.join(work, "bc-sft"), os.path.join(work, "vanilla-sft")]
        make_run(binary, runs[0], skill=0.72, verbosity=0.45, seed=1)
        make_run(binary, runs[1], skill=0.6, verbosity=0.8, seed=2)
        out = os.path.join(RESULTS, "report_sample")
        subprocess.run([binary, "report", *runs, "--out", out, "--title", "Sample report (generated runs)"], check=True)
        png = os.path.join(RESULTS, "report.png")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={png}", "--window-size=1200,1600", "file://" + os.path.join(out, "report.html")],
                       check=True, capture_output=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pixels = png_pixels(png)
    size = os.path.getsize(png)
    std = float(pixels[..., :3].std())
    colored = int((np.ptp(pixels[..., :3].astype(np.int32), axis=2) > 60).sum())  # chart colours, not greys
    print(f"{png}: {pixels.shape[1]}x{pixels.shape[0]}, {size} bytes, pixel std {std:.1f}, {colored} strongly coloured pixels")
    if size < 20000 or std < 5 or colored < 2000:
        sys.exit("the screenshot looks blank or has no charts")


if __name__ == "__main__":
    main()

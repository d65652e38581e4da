#!/usr/bin/env python3
"""Writes sft.jsonl: small SFT records (OpenAI/HF messages) that `scripts/demo` turns into a
tokenizer, a packed dataset and a trained student. Deterministic (seed 0); rerun to regenerate.
Two-operand arithmetic with a short worked answer ending in \\boxed{}."""
import json
import random

rng = random.Random(0)
with open("sft.jsonl", "w", encoding="utf-8") as f:
    for i in range(800):
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        if i % 2 == 0:
            q, work, ans = f"What is {a} + {b}?", f"Add the numbers: {a} + {b} = {a + b}.", a + b
        else:
            q, work, ans = f"What is {a} times {b}?", f"Multiply: {a} × {b} = {a * b}.", a * b
        rec = {"id": f"demo-{i}", "messages": [{"role": "user", "content": q},
                                                {"role": "assistant", "content": f"{work} The answer is \\boxed{{{ans}}}."}]}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print("wrote sft.jsonl")

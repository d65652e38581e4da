#!/usr/bin/env python3
"""Writes corpus.txt: the small shipped text the tests train SentencePiece models on.
Deterministic (seed 0); rerun to regenerate (the tokenizer test fixtures depend on it).
The sentences are short worked arithmetic in the style of the offline world's traces, with a
few non-ASCII lines so byte fallback and Unicode handling are exercised."""
import random

rng = random.Random(0)
names = ["Ada", "Bruno", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustav", "Hana"]
items = ["apples", "marbles", "books", "coins", "stamps", "pencils"]
lines = []
for i in range(1500):
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    n, it = rng.choice(names), rng.choice(items)
    kind = i % 6
    if kind == 0:
        lines.append(f"{n} has {a} {it} and buys {b} more. Total: {a} + {b} = {a + b}.")
    elif kind == 1:
        lines.append(f"behavior_sum_then_check: add {a} and {b}, then check: {a + b} - {b} = {a}.")
    elif kind == 2:
        lines.append(f"The product of {a} and {b} is {a * b}, so the answer is \\boxed{{{a * b}}}.")
    elif kind == 3:
        lines.append(f"If {n} splits {a * b} {it} into {b} equal groups, each group gets {a}.")
    elif kind == 4:
        lines.append(f"Angles of a triangle sum to 180°: 180 - {a} - {min(b, 180 - a - 1)} = {180 - a - min(b, 180 - a - 1)}.")
    else:
        lines.append(f"Étape {i % 7 + 1}: {a} × {b} = {a * b}; vérifier avec {a * b} ÷ {b} = {a}.")
with open("corpus.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
print(len(lines), "lines")

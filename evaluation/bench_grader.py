#!/usr/bin/python3
"""Grader agreement on MATH-500 answers: our grader (`bcsft grade`) against HuggingFace's
math-verify (PyPI `math-verify`, in .venv-eval from scripts/setup-eval), in the same run.

Pairs are built from the 500 gold answers of ../shared/data/benchmarks/math500.jsonl:
for each gold, programmatic rewrites that must still be graded correct (fraction <-> decimal,
the answer boxed inside a sentence, after a <think> draft, spacing, \\dfrac, unbraced \\frac,
`x =` prefix, reordered solution lists, thousands separators, \\left( \\right), dropped
degree signs) and perturbations that must be graded wrong (a number changed, a tuple's order
swapped, an interval end flipped, a sign flipped, a list element dropped, a fraction
inverted, another choice letter). The problem's reference solution is also graded as a whole
response. Each pair carries its intended label.

Prints agreement between the two graders, each grader's accuracy against the intended
labels, and every disagreement with a note saying which side is wrong and why. Records three
rows in evaluation/results/bench.jsonl: agreement % (goal >= 99), and our and math-verify's
accuracy against the labels.
Usage: evaluation/bench_grader.py [--debug] [--show N]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from fractions import Fraction

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

MATH500 = os.path.abspath(os.path.join(benchlib.ROOT, "..", "shared", "data", "benchmarks", "math500.jsonl"))
MV_PYTHON = os.path.join(benchlib.ROOT, ".venv-eval", "bin", "python")

# Why math-verify misgrades a pair, checked by hand on its disagreements with us: (test on
# the pair, explanation). Used only where our grader matches the intended label and
# math-verify does not; anything unexplained prints what math-verify parsed.
MV_NOTES = [
    (lambda p: re.fullmatch(r"\d+_\{?\d+\}?", p["gold"].strip()),
     "it drops a base subscript (52_9 parses as 52), so a numeral in another base still matches"),
    (lambda p: is_plain_number(p["gold"]) and is_plain_number(p["pred"]) and
     round(float(p["gold"]), 6) == round(float(p["pred"]), 6),
     "it compares numbers rounded to 6 decimal places (verify's float_rounding=6), so values that differ "
     "only after the 6th decimal match"),
]


def mv_note(pair, parsed):
    for test, why in MV_NOTES:
        if test(pair):
            return why
    return f"parsed the prediction as {parsed}"

# ---------------------------------------------------------------------------------------------
# rewrites


def simple_fraction(g):
    """(sign, p, q) for `\\frac{p}{q}`, `-\\dfrac pq`, `\\frac12`; None otherwise."""
    m = re.fullmatch(r"(-?)\\[dt]?frac\s*(?:\{(\d+)\}|(\d))\s*(?:\{(\d+)\}|(\d))", g.strip())
    if not m:
        return None
    return m.group(1), int(m.group(2) or m.group(3)), int(m.group(4) or m.group(5))


def terminating_decimal(fr):
    q = fr.denominator
    for p in (2, 5):
        while q % p == 0:
            q //= p
    if q != 1:
        return None
    digits = 0
    while (fr * 10 ** digits).denominator != 1:
        digits += 1
    s = f"{abs(fr.numerator) * 10 ** digits // fr.denominator:0{digits + 1}d}"
    s = s[:-digits] + "." + s[-digits:] if digits else s
    return ("-" if fr < 0 else "") + s


def is_plain_number(g):
    return re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", g.strip()) is not None


def is_numeric_latex(g):
    """A single number-valued answer: digits, fractions, roots, pi; no letters of its own."""
    s = g.strip()
    if "," in s or "=" in s or "\\text" in s or "\\begin" in s or "\\in" in s or s.startswith(("(", "[", "\\{")):
        return False
    return re.search(r"(?<![\\a-zA-Z])[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", s)) is None


def top_level_split(s, sep=","):
    parts, depth, cur, i = [], 0, "", 0
    while i < len(s):
        c = s[i]
        if s.startswith("\\{", i) or s.startswith("\\}", i):
            depth += 1 if s[i + 1] == "{" else -1
            cur += s[i:i + 2]
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    return parts + [cur]


def bracketed(g):
    """(open, [elements], close) for `(a, b)`, `[a, b)`, `\\left( a, b \\right)`; None otherwise."""
    s = re.sub(r"\\left|\\right", "", g).strip()
    if len(s) < 2 or s[0] not in "([" or s[-1] not in ")]" or "\\cup" in s:
        return None
    depth = 0
    for i, c in enumerate(s):
        depth += c in "([{"
        depth -= c in ")]}"
        if depth == 0 and i != len(s) - 1:
            return None
    parts = top_level_split(s[1:-1])
    return (s[0], [p.strip() for p in parts], s[-1]) if len(parts) > 1 else None


def perturb_last_number(g):
    """The last digit run of the value plus one, keeping its width ("080" -> "081"); digits in
    a trailing unit (`864 \\mbox{ inches}^2`) are not the value."""
    unit = re.search(r"\\(text|mbox)\{", g)
    runs = list(re.finditer(r"\d+", g[:unit.start()] if unit else g))
    if not runs:
        return None
    m = runs[-1]
    n = str(int(m.group()) + 1).zfill(len(m.group()))
    return g[:m.start()] + n + g[m.end():]


def thousands_formatted(g):
    """`58,500`, `10,\\!080`, `\\$32,\\!348`: one number, not a list."""
    return re.fullmatch(r"(\\\$)?\d{1,3}(,(\\!)?\s*\d{3})+", g.strip()) is not None


def despace(g):
    """Spaces removed, except one after a control word that a letter follows (`\\cot x`)."""
    s = re.sub(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])", "\\1\x00", g)
    return re.sub(r"\s+", "", s).replace("\x00", " ")


def equivalents(g):
    out = [("boxed_sentence", f"Therefore, the final answer is $\\boxed{{{g}}}$."),
           ("think_then_box", f"<think>First guess: \\boxed{{{perturb_last_number(g) or 'none'}}}. Check again.</think>\n"
                              f"The answer is $\\boxed{{{g}}}$.")]
    if despace(g) != g:
        out.append(("spacing_removed", despace(g)))
    elif re.search(r"[+\-,=]", g) and not thousands_formatted(g):
        out.append(("spacing_added", re.sub(r"\s*([+,=])\s*", r" \1 ", g).strip()))
    if "\\frac" in g and "\\dfrac" not in g:
        out.append(("dfrac", g.replace("\\frac", "\\dfrac")))
    unbraced = re.sub(r"\\frac\{(\d)\}\{(\d)\}", r"\\frac\1\2", g)
    if unbraced != g:
        out.append(("unbraced_frac", unbraced))
    f = simple_fraction(g)
    if f:
        sign, p, q = f
        dec = terminating_decimal(Fraction(p, q) * (-1 if sign else 1))
        if dec:
            out.append(("fraction_to_decimal", dec))
        out.append(("fraction_to_slash", f"{sign}{p}/{q}"))
    if is_plain_number(g) and "." in g:
        fr = Fraction(g.strip())
        out.append(("decimal_to_fraction", f"{'-' if fr < 0 else ''}\\frac{{{abs(fr.numerator)}}}{{{fr.denominator}}}"))
    if is_numeric_latex(g):
        out.append(("x_prefix", f"x = {g}"))
    if re.fullmatch(r"\d{4,}", g.strip()):
        out.append(("thousands_commas", f"{int(g):,}"))
    if "^\\circ" in g:
        out.append(("degrees_dropped", g.replace("^\\circ", "").strip()))
    b = bracketed(g)
    if b and "\\left" not in g:
        out.append(("left_right", f"\\left{b[0]} {', '.join(b[1])} \\right{b[2]}"))
    items = top_level_split(g[2:-2]) if g.startswith("\\{") and g.endswith("\\}") else top_level_split(g)
    if len(items) > 1 and not b and "\\cup" not in g and not thousands_formatted(g):
        rev = ", ".join(i.strip() for i in reversed(items))
        out.append(("list_reordered", f"\\{{{rev}\\}}" if g.startswith("\\{") else rev))
    out.append(("minerva_answer_line", f"Final Answer: The final answer is ${g}$. I hope it is correct."))
    out.append(("paren_math_sentence", f"So the answer is \\({g}\\)."))
    if re.fullmatch(r"[1-9]\d*0{2,}", g.strip()):
        digits = g.strip().rstrip("0")
        exp = len(g.strip()) - 1
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        out.append(("scientific_notation", f"{mant} \\times 10^{{{exp}}}"))
    if f and f[1] > f[2] and f[1] % f[2]:
        sign, p, q = f
        out.append(("mixed_number", f"{sign}{p // q}\\frac{{{p % q}}}{{{q}}}"))
    m = re.fullmatch(r"(\d+)\s*(\\sqrt\{?\d+\}?|\\pi)", g.strip())
    if m:
        out.append(("explicit_times", f"{m.group(1)} \\cdot {m.group(2)}"))
    m = re.fullmatch(r"(\d+)\s*\\sqrt\{?(\d+)\}?", g.strip())
    if m:
        out.append(("radical_unsimplified", f"\\sqrt{{{int(m.group(1)) ** 2 * int(m.group(2))}}}"))
    terms = two_terms(g)
    if terms:
        first, op, second = terms
        out.append(("terms_reordered", f"{second} {op} {first}" if op == "+" else f"-{second} + {first}"))
    return out


def two_terms(g):
    """(first, op, second) for `a + b` / `a - b` with exactly one top-level + or - (not a sign)."""
    s, depth, cuts = g.strip(), 0, []
    if "=" in s or "," in s or "\\pm" in s or "\\text" in s or "\\begin" in s:
        return None
    for i, c in enumerate(s):
        depth += c in "({["
        depth -= c in ")}]"
        if depth == 0 and c in "+-" and i > 0 and s[:i].strip() and s[:i].rstrip()[-1] not in "^_({[":
            cuts.append(i)
    if len(cuts) != 1:
        return None
    i = cuts[0]
    first, second = s[:i].strip(), s[i + 1:].strip()
    return (first, s[i], second) if first and second and not second.startswith("-") else None


def wrongs(g):
    out = []
    p = perturb_last_number(g)
    if p and p != g:
        out.append(("number_changed", p))
    b = bracketed(g)
    if b:
        o, elems, c = b
        if len(set(elems)) > 1:
            out.append(("tuple_swapped", f"{o}{', '.join(reversed(elems))}{c}"))
        if "\\infty" not in elems[-1]:
            out.append(("interval_end_flipped", f"{o}{', '.join(elems)}{')' if c == ']' else ']'}"))
        elif "\\infty" not in elems[0]:
            out.append(("interval_end_flipped", f"{'[' if o == '(' else '('}{', '.join(elems)}{c}"))
    if is_numeric_latex(g) and not re.search(r"(?<!^)[+\-]", g.strip()) and g.strip() not in ("0",):
        out.append(("sign_flipped", g.strip()[1:] if g.strip().startswith("-") else f"-{g.strip()}"))
    items = top_level_split(g[2:-2]) if g.startswith("\\{") and g.endswith("\\}") else top_level_split(g)
    if len(items) > 1 and not b and "\\cup" not in g and not thousands_formatted(g):
        kept = ", ".join(i.strip() for i in items[:-1])
        out.append(("list_element_dropped", f"\\{{{kept}\\}}" if g.startswith("\\{") else kept))
    f = simple_fraction(g)
    if f and f[1] != f[2]:
        out.append(("fraction_inverted", f"{f[0]}\\frac{{{f[2]}}}{{{f[1]}}}"))
    if "\\pm" in g:
        out.append(("pm_dropped", g.replace("\\pm", "+")))
    if f and terminating_decimal(Fraction(f[1], f[2])) is None:
        out.append(("decimal_rounded", f"{f[0]}{f[1] / f[2]:.3f}"))
    m = re.fullmatch(r"\\text\{\(([A-E])\)\}", g.strip())
    if m:
        out.append(("other_choice", f"\\text{{({'B' if m.group(1) == 'A' else 'A'})}}"))
    return out


def build_pairs(rows):
    pairs = []
    for r in rows:
        g = r["answer"]
        pairs += [{"id": r["id"], "kind": k, "gold": g, "pred": p, "label": True} for k, p in equivalents(g)]
        # the reference solution is a whole response whose last \boxed{} is the gold
        pairs.append({"id": r["id"], "kind": "solution_text", "gold": g, "pred": r["solution"], "label": True})
        pairs += [{"id": r["id"], "kind": k, "gold": g, "pred": p, "label": False} for k, p in wrongs(g)]
    return pairs

# ---------------------------------------------------------------------------------------------
# graders


def grade_ours(pairs, debug):
    config = "debug" if debug else "release"
    subprocess.run(["swift", "build", "-c", config, "--product", "bcsft"], cwd=benchlib.ROOT, check=True)
    binpath = subprocess.run(["swift", "build", "-c", config, "--show-bin-path"], cwd=benchlib.ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for p in pairs:
            f.write(json.dumps({"pred": p["pred"], "gold": p["gold"]}) + "\n")
    try:
        out = subprocess.run([os.path.join(binpath, "bcsft"), "grade", "--input", f.name],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    return [json.loads(line) for line in out.splitlines()]


# Runs inside .venv-eval. The gold is given boxed, the way math-verify's docs parse a gold
# answer; the prediction is parsed as a whole response with its default extraction. A bare
# answer (no $, \boxed or <think>) is put in $...$ first: math-verify only extracts LaTeX
# from math mode, and a model writes its answers there.
MV_SCRIPT = r"""
import json, re, sys
from math_verify import parse, verify
for line in sys.stdin:
    p = json.loads(line)
    text = p["pred"]
    if not re.search(r"(?<!\\)\$|\\boxed|<think>|\\\(", text):
        text = "$" + text + "$"
    try:
        gold = parse("\\boxed{" + p["gold"] + "}")
        pred = parse(text)
        ok = bool(verify(gold, pred))
        print(json.dumps({"correct": ok, "parsed": [str(x) for x in pred[:1]]}), flush=True)
    except Exception as e:
        print(json.dumps({"correct": False, "parsed": [], "error": repr(e)[:200]}), flush=True)
"""


def grade_math_verify(pairs):
    if not os.path.exists(MV_PYTHON):
        return None
    data = "".join(json.dumps({"pred": p["pred"], "gold": p["gold"]}) + "\n" for p in pairs)
    out = subprocess.run([MV_PYTHON, "-c", MV_SCRIPT], input=data, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]

# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--debug", action="store_true", help="use the debug bcsft build (no release build)")
    ap.add_argument("--show", type=int, default=1000, help="disagreements to print")
    ap.add_argument("--dump", help="write every pair with both verdicts to this JSONL file")
    a, _ = ap.parse_known_args()  # evaluation/run passes every driver the same arguments
    if not os.path.exists(MATH500):
        print(f"skip: {MATH500} not found (a fresh clone has no ../shared); the grader benchmark needs MATH-500 answers")
        return
    rows = [json.loads(line) for line in open(MATH500, encoding="utf-8")]
    pairs = build_pairs(rows)
    ours = grade_ours(pairs, a.debug)
    assert len(ours) == len(pairs), f"bcsft grade answered {len(ours)} of {len(pairs)} pairs"
    mv = grade_math_verify(pairs)
    if mv is None:
        print("note: no .venv-eval (scripts/setup-eval creates it): math-verify baseline skipped")

    n = len(pairs)
    our_acc = 100 * sum(o["correct"] == p["label"] for o, p in zip(ours, pairs)) / n
    kinds = sorted({p["kind"] for p in pairs})
    print(f"{n} pairs from {len(rows)} MATH-500 answers ({sum(p['label'] for p in pairs)} equivalent, "
          f"{sum(not p['label'] for p in pairs)} wrong), {len(kinds)} kinds")
    if a.dump:
        with open(a.dump, "w") as f:
            for i, p in enumerate(pairs):
                f.write(json.dumps({**p, "ours": ours[i], "math_verify": mv[i] if mv else None}) + "\n")
    if mv is None:
        benchlib.record("grader_accuracy_vs_labels", our_acc, None, "%", "ours >= math-verify", pairs=n)
        print(f"ours vs intended labels: {our_acc:.2f}%")
        return

    mv_acc = 100 * sum(m["correct"] == p["label"] for m, p in zip(mv, pairs)) / n
    agree = 100 * sum(o["correct"] == m["correct"] for o, m in zip(ours, mv)) / n
    print(f"{'kind':24s} {'label':>5s} {'pairs':>5s} {'ours ok':>7s} {'mv ok':>7s}")
    for k in kinds:
        idx = [i for i, p in enumerate(pairs) if p["kind"] == k]
        lab = pairs[idx[0]]["label"]
        print(f"{k:24s} {str(lab):>5s} {len(idx):5d} {sum(ours[i]['correct'] == lab for i in idx):7d} "
              f"{sum(mv[i]['correct'] == lab for i in idx):7d}")
    dis = [i for i in range(n) if ours[i]["correct"] != mv[i]["correct"]]
    print(f"\nagreement {agree:.2f}% ({n - len(dis)}/{n})   ours vs labels {our_acc:.2f}%   math-verify vs labels {mv_acc:.2f}%")
    print(f"\n{len(dis)} disagreements (label = intended verdict):")
    print(f"{'kind':22s} | {'gold':28s} | {'pred':34s} | label | ours | mv | note")
    for i in dis[:a.show]:
        p = pairs[i]
        wrong_side = "ours" if ours[i]["correct"] != p["label"] else "math-verify"
        if wrong_side == "math-verify":
            note = "math-verify wrong: " + mv_note(p, mv[i].get("parsed"))
        else:
            note = f"ours wrong: {ours[i]['reason']}"
        pred = p["pred"].replace("\n", "\\n")
        print(f"{p['kind']:22s} | {p['gold'][:28]:28s} | {pred[:34]:34s} | {str(p['label']):5s} | "
              f"{str(ours[i]['correct']):4s} | {str(mv[i]['correct']):4s} | {note}")
    benchlib.record("grader_agreement_with_math_verify", agree, None, "%", ">= 99% of pairs graded alike",
                    pairs=n, disagreements=len(dis))
    benchlib.record("grader_accuracy_vs_labels", our_acc, mv_acc, "%", "ours >= math-verify (both against the intended labels)",
                    pairs=n)
    benchlib.record("grader_math_verify_accuracy_vs_labels", mv_acc, None, "%", "reference: math-verify against the intended labels",
                    pairs=n)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""tokenizer.json encode throughput: our BPETokenizer against Hugging Face `tokenizers` (Rust).

Both encode the same texts, without special tokens, in one batch call, on every core and on
one thread: ours through `bcsft-bench tokenize` (Tokenizer.encode(batch:threads:)), theirs
through `Tokenizer.from_file(...).encode_batch(texts, add_special_tokens=False)` with
RAYON_NUM_THREADS set to the same count. Each side times its encode call alone (loading and
reading excluded): one untimed warm-up call, then the median of --steps calls in one process,
so both run with their word caches warm. Both sides' ids must be identical on the whole
corpus: a difference is a correctness bug, and the driver stops with the first one.
Goal: ours >= 1.0x in MB/s of UTF-8 input.

Tokenizers:
- the Llama-3-style and Qwen2-style fixtures of the parity tests (small vocabularies, made by
  Tests/TokenizersTests/Fixtures/make_bpe_fixtures.py);
- every tokenizer.json under ../shared (a real model's) when there is one;
- a Llama-3-style tokenizer with a 32k vocabulary that `tokenizers` trains here on the corpus,
  so the merge tables have a real model's size (needs .venv-tok, like the baseline).
The corpus is generated here (deterministic, about --mb MB): English prose with contractions
and accents (some decomposed, for Qwen2's NFC), math with LaTeX, code with indentation and
CRLF, CJK, emoji with ZWJ sequences and flags, digit runs, whitespace runs (tabs, NBSP,
U+3000), and chat markup holding the fixtures' added tokens.
Usage: evaluation/bench_tokenizer.py [--mb 3] [--steps 3] [--threads N]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

TOK_PYTHON = os.path.join(benchlib.ROOT, ".venv-tok", "bin", "python")
FIXTURES = os.path.join(benchlib.ROOT, "Tests", "TokenizersTests", "Fixtures", "bpe")
SHARED = os.path.abspath(os.path.join(benchlib.ROOT, "..", "shared"))
LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

WORDS = ("the of and to in is it that for was on are as with his they at be this from have or by one had not but "
         "what all were when we there can an your which their said if do will each about how up out them then she "
         "many some so these would other into has more her two like him see time could no make than first been its "
         "who now people my made over did down only way find use may water long little very after words called just "
         "where most know get through back much before go good new write our used me man too any day same right look "
         "think also around another came come work three word must because does part even place well such here take "
         "why things help put years different away again off went old number great tell men say small every found "
         "still between name should home big give air line set own under read last never us left end along while "
         "might next sound below saw something thought both few those always looked show large often together asked "
         "house don't world going want school important until form food keep children feet land side without boy "
         "once animals life enough took sometimes four head above kind began almost live page got earth need far hand "
         "high year mother light parts country father let night following picture being study second eyes soon times "
         "story boys since white days ever paper hard near sentence better best across during today others sure means "
         "it's we'll they're I'm you've he'd she'll isn't can't won't couldn't John's Mary's THE AND WE'LL DON'T "
         "Therefore However Moreover Consider Suppose Hence Thus Note Finally Because").split()
ACCENTED = ["café", "naïve", "façade", "Zürich", "Übergrößenträger", "résumé", "São Paulo", "Kraków", "Ελλάδα", "Москва",
            "cafe\u0301", "nai\u0308ve", "A\u030angstro\u0308m", "ﬁnance", "ĳssel"]
LATEX = [r"\frac{{{a}}}{{{b}}}", r"\sqrt{{{a}}}", r"x^{{{a}}}", r"\sum_{{k=1}}^{{{a}}} k^2", r"\int_0^{{{a}}} x\,dx",
         r"\binom{{{a}}}{{{b}}}", r"\left( {a} + {b} \right)", r"\boxed{{{a}}}", r"\alpha + \beta = {a}", r"{a} \times {b} = {c}",
         r"\lfloor \log_2 {a} \rfloor", r"\pmod{{{b}}}", r"\cdot", r"\le {a}", r"\mathbb{{R}}^{{{b}}}", r"a_{{n+1}} = {a} a_n - {b}"]
SYMBOLS = ["α", "β", "π", "∞", "≤", "≥", "×", "÷", "±", "√", "∑", "∫", "→", "⇒", "∀", "∃", "ℝ", "°", "′", "…", "—", "–", "«", "»", "€", "£"]
CJK = ("我们今天学习数学问题的解法首先计算两个数的和然后检查结果是否正确因为每一步都使用相同的规则所以答案是这个"
       "東京大学の学生は毎日図書館で勉強しています。ひらがなとカタカナと漢字を使います。"
       "한국어로 된 문장도 있습니다 수학 문제를 풀어 봅시다")
CJK_PUNCT = ["，", "。", "！", "？", "「", "」", "：", "（", "）", "、"]
EMOJI = ["😀", "😂", "🤔", "👍", "👍🏽", "🎉", "🚀", "❤️", "✨", "🔥", "👨‍👩‍👧‍👦", "🧑🏿‍💻", "🇫🇷", "🇯🇵", "🏳️‍🌈", "1️⃣", "©", "™"]
SPECIALS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>",
            "<|endoftext|>", "[MASK]", "behavior_sum_then_check"]
CODE = [
    "def {f}(xs: list[int]) -> int:\n    total = 0\n    for x in xs:\n        if x % {a} == 0:\n            total += x  # keep multiples\n    return total\n",
    "func {f}(_ n: Int) -> [Int] {{\n\tvar out: [Int] = []\n\tfor i in 0..<n where i % {a} == 0 {{\n\t\tout.append(i * {b})\n\t}}\n\treturn out\n}}\n",
    "for (int i = 0; i < {a}; ++i) {{\r\n    sum += arr[i] * {b};\r\n}}\r\n",
    "    # TODO: handle {f}\n    if not {f}:\n        raise ValueError(f\"bad value: {{{f}!r}}\")\n\n\n",
    "SELECT id, name FROM {f} WHERE score >= {a} ORDER BY score DESC LIMIT {b};\n",
    "const {f} = async (a, b) => {{ return await fetch(`/api/${{a}}/${{b}}?n={a}`); }};\n",
    "{{\"{f}\": [{a}, {b}, {c}], \"ok\": true, \"path\": \"C:\\\\tmp\\\\{f}.txt\"}}\n",
]
IDENTIFIERS = ["parse_header", "totalCount", "HTTPServer", "x", "_private", "compute_sum_v2", "getUserByID", "snake_case_name"]


def number(rng):
    k = rng.random()
    if k < 0.5:
        return str(rng.randint(0, 999))
    if k < 0.7:
        return str(rng.randint(10**5, 10**rng.randint(6, 40)))
    if k < 0.85:
        return f"{rng.uniform(-1000, 1000):.{rng.randint(1, 6)}f}"
    return rng.choice([f"{rng.randint(1, 999):,}000", f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                       f"0x{rng.getrandbits(32):08X}", f"+1 (555) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"])


def prose(rng):
    out = []
    for _ in range(rng.randint(1, 6)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 24))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), number(rng))
        s = " ".join(words)
        s = s[0].upper() + s[1:]
        if rng.random() < 0.3:
            i = s.find(" ", len(s) // 2)
            if i > 0:
                s = s[:i] + rng.choice([",", ";", " —", ":", " (so to speak)", " 'quoted'", ' "really"']) + s[i:]
        out.append(s + rng.choice([".", ".", ".", "!", "?", "...", "?!"]))
    return " ".join(out)


def math(rng):
    parts = []
    for _ in range(rng.randint(2, 8)):
        a, b = rng.randint(1, 999), rng.randint(2, 99)
        expr = rng.choice(LATEX).format(a=a, b=b, c=a * b)
        kind = rng.random()
        if kind < 0.5:
            parts.append(f"${expr}$")
        elif kind < 0.7:
            parts.append(f"$${expr} {rng.choice(SYMBOLS)} {number(rng)}$$")
        elif kind < 0.85:
            parts.append(f"\\[\n{expr}\n\\]")
        else:
            parts.append(f"{a} {rng.choice(SYMBOLS)} {b}")
        parts.append(rng.choice(["so", "hence", "and", "where", "which gives", "Then", "Since", ",", "."]))
    return "We compute: " + " ".join(parts) + f" The answer is $\\boxed{{{rng.randint(0, 10**6)}}}$."


def code(rng):
    f = rng.choice(IDENTIFIERS)
    return rng.choice(CODE).format(f=f, a=rng.randint(2, 99), b=rng.randint(2, 999), c=rng.randint(0, 9999))


def cjk(rng):
    out = []
    for _ in range(rng.randint(2, 10)):
        i = rng.randrange(len(CJK))
        out.append(CJK[i:i + rng.randint(3, 30)] + rng.choice(CJK_PUNCT))
        if rng.random() < 0.2:
            out.append(rng.choice([" ", ""]) + number(rng))
    return "".join(out)


def emoji(rng):
    return " ".join(rng.choice(EMOJI) * rng.randint(1, 3) if rng.random() < 0.5 else rng.choice(WORDS)
                    for _ in range(rng.randint(3, 15)))


def digits(rng):
    return rng.choice([" ", ", ", "; ", "\n", ""]).join(number(rng) for _ in range(rng.randint(3, 20)))


def whitespace(rng):
    ws = [" " * rng.randint(2, 20), "\t" * rng.randint(1, 4), "\n" * rng.randint(2, 5), "  \n", " \r\n", "\u00a0",
          "\u3000", " \t \n", "\n    "]
    return "".join(rng.choice(ws) + rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + rng.choice(ws)


def chat(rng):
    head = rng.choice(SPECIALS)
    return f"{head}user\n{prose(rng)}{rng.choice(SPECIALS)}\n{rng.choice(SPECIALS)}assistant\n{math(rng)}{rng.choice(SPECIALS)}"


KINDS = [(prose, 30), (math, 20), (code, 15), (cjk, 8), (emoji, 5), (digits, 7), (whitespace, 7), (chat, 8)]


def make_corpus(target_bytes, seed=0):
    """Texts of a few hundred bytes to several KB, each a mix of paragraph kinds."""
    rng = random.Random(seed)
    gens, weights = zip(*KINDS)
    texts, size = [], 0
    while size < target_bytes:
        paras = [rng.choices(gens, weights)[0](rng) for _ in range(rng.randint(1, 12))]
        t = "".join(p + rng.choice(["\n\n", "\n", " ", ""]) for p in paras)
        texts.append(t)
        size += len(t.encode("utf-8"))
    return texts


PY_ENCODE = r"""
import json, sys, time, tokenizers
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
texts = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
warmup, steps, ids_out = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def timed(encode):
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        enc = encode(texts, add_special_tokens=False)
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
    return sorted(times)[len(times) // 2], times, enc
seconds, samples, enc = timed(tok.encode_batch)
out = {"seconds": seconds, "samples": samples, "tokens": sum(len(e.ids) for e in enc), "texts": len(texts),
       "bytes": sum(len(t.encode("utf-8")) for t in texts), "version": tokenizers.__version__}
with open(ids_out, "w") as f:
    for e in enc:
        f.write(" ".join(map(str, e.ids)) + "\n")
# encode_batch_fast (tokenizers >= 0.21) skips offsets; reported beside, not the goal's baseline.
if hasattr(tok, "encode_batch_fast"):
    out["fast_seconds"] = timed(tok.encode_batch_fast)[0]
print(json.dumps(out))
"""

PY_TRAIN = r"""
import json, sys
from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, trainers
tok = Tokenizer(models.BPE(ignore_merges=True))
tok.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(sys.argv[3]), behavior="isolated"),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=int(sys.argv[4]), show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              special_tokens=["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"])
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
tok.train_from_iterator(texts, trainer=trainer)
tok.save(sys.argv[2])
"""


def first_difference(ours_path, theirs_path, texts):
    """(index, our ids, their ids) of the first text whose ids differ, or None."""
    with open(ours_path) as a, open(theirs_path) as b:
        la, lb = a.read().split("\n"), b.read().split("\n")
    for i, t in enumerate(texts):
        x = la[i].split() if i < len(la) else None
        y = lb[i].split() if i < len(lb) else None
        if x != y:
            return i, x, y
    return None


def tokenizers_to_run(tmp, texts_path, have_baseline):
    """(name, path) pairs: the fixtures, any in ../shared, and a 32k-vocab one trained here."""
    found = [(n, os.path.join(FIXTURES, n, "tokenizer.json")) for n in ("llama3", "qwen2")]
    shared = []
    if os.path.isdir(SHARED):
        for dirpath, _, files in os.walk(SHARED):
            if "tokenizer.json" in files:
                shared.append((os.path.basename(dirpath), os.path.join(dirpath, "tokenizer.json")))
    if shared:
        found += sorted(shared)
    else:
        print(f"note: no tokenizer.json under {SHARED}: no real model's tokenizer to run (the 32k-vocab one trained here stands in)")
    if have_baseline:
        path = os.path.join(tmp, "trained32k.json")
        subprocess.run([TOK_PYTHON, "-c", PY_TRAIN, texts_path, path, LLAMA3_SPLIT, "32000"], check=True, cwd=benchlib.ROOT)
        found.append(("trained32k", path))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=3.0, help="corpus size in MB of UTF-8")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "bcsft-bench"], cwd=benchlib.ROOT, check=True,
                   capture_output=True)
    bench = benchlib.bench_binary()
    have_baseline = os.path.exists(TOK_PYTHON)
    if not have_baseline:
        print("note: no .venv-tok (scripts/setup-tok creates it; evaluation/run calls it): baseline and parity check skipped")
    texts = make_corpus(int(a.mb * 1e6))
    thread_counts = sorted({a.threads, 1}, reverse=True)
    with tempfile.TemporaryDirectory() as tmp:
        texts_path = os.path.join(tmp, "texts.jsonl")
        with open(texts_path, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        for name, path in tokenizers_to_run(tmp, texts_path, have_baseline):
            for threads in thread_counts:
                ours_ids, theirs_ids = os.path.join(tmp, "ours.ids"), os.path.join(tmp, "theirs.ids")
                o = benchlib.run_json([bench, "tokenize", "--tokenizer", path, "--texts", texts_path, "--threads", str(threads),
                                       "--steps", str(a.steps), "--warmup", "1", "--ids", ours_ids], {})
                mb = o["bytes"] / 1e6
                ours = mb / o["seconds"]
                theirs, extra = None, {}
                if have_baseline:
                    env = {"RAYON_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "true"}
                    t = benchlib.run_json([TOK_PYTHON, "-c", PY_ENCODE, path, texts_path, "1", str(a.steps), theirs_ids], env)
                    diff = first_difference(ours_ids, theirs_ids, texts)
                    if diff:
                        i, x, y = diff
                        sys.exit(f"FAIL: {name}: ids differ from HF tokenizers {t['version']} on text {i} "
                                 f"({texts[i][:200]!r}...):\n  ours   {' '.join((x or [])[:60])}\n  theirs {' '.join((y or [])[:60])}")
                    theirs = mb / t["seconds"]
                    extra = {"baseline_version": t["version"], "samples_baseline": t["samples"],
                             "baseline_tokens_per_s": t["tokens"] / t["seconds"]}
                    if "fast_seconds" in t:
                        extra["baseline_encode_batch_fast_mb_per_s"] = mb / t["fast_seconds"]
                row = benchlib.record(f"tokenizer_encode_{name}_{threads}threads", ours, theirs, "MB/s",
                                      "ours >= 1.0x HF tokenizers encode_batch (same texts, tokenizer and threads; ids identical)",
                                      texts=o["texts"], bytes=o["bytes"], tokens=o["tokens"], threads=threads,
                                      ours_tokens_per_s=o["tokens"] / o["seconds"], samples_ours=o["samples"], **extra)
                ratio = f"ratio {row['ratio']:.2f}" if row["ratio"] else "no baseline"
                fast = f", encode_batch_fast {extra['baseline_encode_batch_fast_mb_per_s']:.2f}" if "baseline_encode_batch_fast_mb_per_s" in extra else ""
                base = f"{theirs:.2f} MB/s{fast}" if theirs else "-"
                print(f"{name:12s} {threads:2d} threads: ours {ours:.2f} MB/s ({o['tokens'] / o['seconds']:,.0f} tokens/s), "
                      f"HF tokenizers {base} ({ratio}); {o['tokens']:,} tokens from {o['bytes'] / 1e6:.1f} MB in {o['texts']:,} texts")


if __name__ == "__main__":
    main()

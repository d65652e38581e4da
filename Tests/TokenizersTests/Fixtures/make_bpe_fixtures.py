#!/usr/bin/env python3
"""Writes the tokenizer.json fixtures for BPETokenizerTests with PyPI `tokenizers` (the reference).

Run from the repository root, in a venv with `pip install tokenizers transformers`:
  .venv-tok/bin/python Tests/TokenizersTests/Fixtures/make_bpe_fixtures.py

Trains two small byte-level BPE tokenizers on data/smoke/corpus.txt plus the parity corpus below,
configured like Llama 3 and like Qwen2, and writes into Fixtures/bpe/:
  llama3/tokenizer.json, tokenizer_config.json   (merges as ["a","b"] pairs, as newer tokenizers write them)
  llama3-merges-as-strings/                      (the same tokenizer with merges as "a b" strings)
  qwen2/tokenizer.json, tokenizer_config.json
  qwen2-merges-as-strings/
  parity.json   the corpus and, per tokenizer, the reference's ids with and without special tokens
                and its decode of them (skipping special tokens or not, and of each id alone)
"""
import json, os, shutil
from tokenizers import Tokenizer, AddedToken, Regex, models, normalizers, pre_tokenizers, decoders, processors, trainers
from transformers import PreTrainedTokenizerFast

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", "..", ".."))
out = os.path.join(here, "bpe")

# The split patterns of Llama 3 (tiktoken's cl100k-style, digits in runs of up to 3) and Qwen2 (one digit each).
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

CORPUS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX'S DOG'LL BARK.",
    "I'm sure they've said we'd go; you're right, it's 'quoted' and he'll see.",
    "Digits: 0 12 123 1234 12345 3.14159 -42 1,000,000 2024-01-31 007",
    "   leading spaces and trailing spaces   ",
    "tabs\tand\t\tdouble tabs\t",
    "line one\nline two\n\nafter an empty line\n\n\n",
    "\n",
    "",
    " ",
    "a  b   c    d     e",
    "Chloé's café — naïve façade, Übergrößenträger, ĳ ﬁ",
    "Cafe\u0301 with a combining accent (NFC folds it for Qwen2)",
    "日本語のテキストと中文文本，还有한국어 텍스트。",
    "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️‍🔥 🇫🇷",
    "Math: ∑_{i=1}^{n} i² = n(n+1)/2, ∀x∈ℝ, √2 ≈ 1.414",
    "def f(x):\n    return x ** 2  # square\n\n\tif x != 0:\n\t\tpass\n",
    "for (int i = 0; i < n; ++i) { s += a[i]; }  // C++\r\nend\r\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n",
    "text<|eot_id|>text <|endoftext|> more",
    "a [MASK] b  [MASK]  c[MASK]d",
    "behavior_sum_then_check and behavior_sum_then_check: add 35 and 67",
    "Total: 51 + 99 = 150. \\boxed{2520}",
    "Mixed\u00a0no-break\u2003em-space\u3000ideographic space\u000bvertical tab\u0085next line",
    "Zero\u200bwidth and soft\u00adhyphen",
    "'s 'S 'T 'RE 'Ve 'M 'LL 'D 'x",
    "!!! ??? ... --- ___ *** ### @@@",
    "   \n   \n",
    "trailing newline then spaces\n   ",
    "Арифметика: сорок два; Ελληνικά; العربية; עברית; हिन्दी",
]


def train(pattern, ignore_merges, normalizer, specials, vocab_size):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=specials)
    text = open(os.path.join(root, "data", "smoke", "corpus.txt"), encoding="utf-8").read().split("\n")
    tok.train_from_iterator(text + CORPUS, trainer=trainer)
    return tok


def llama3():
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok = train(LLAMA3, True, None, specials, 1000)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    # Llama 3's vocabulary (converted from tiktoken) holds words its merges would not build; with
    # ignore_merges such a word is one token. A trained vocabulary has none, so add some: pieces
    # of the corpus that the merges split in two or more.
    j = json.loads(tok.to_str())
    vocab, words = j["model"]["vocab"], []
    for t in CORPUS:
        for piece, _ in tok.pre_tokenizer.pre_tokenize_str(t):
            if piece not in vocab and piece not in words and len(tok.model.tokenize(piece)) >= 2:
                words.append(piece)
    for w in words[:40]:
        vocab[w] = max(vocab.values()) + 1
    tok = Tokenizer.from_str(json.dumps(j))
    off = json.loads(tok.to_str())
    off["model"]["ignore_merges"] = False
    off = Tokenizer.from_str(json.dumps(off))
    assert any(tok.encode(t).ids != off.encode(t).ids for t in CORPUS), "ignore_merges must matter on this corpus"
    return tok, dict(bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")


def qwen2():
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = train(QWEN2, False, normalizers.NFC(), specials, 1200)
    # one added token that is not special (matched after normalisation) and one that takes the spaces around it
    tok.add_tokens([AddedToken("behavior_sum_then_check", special=False, normalized=True)])
    tok.add_special_tokens([AddedToken("[MASK]", lstrip=True, rstrip=True, special=True, normalized=False)])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok, dict(eos_token="<|im_end|>", pad_token="<|endoftext|>")


def save(name, tok, config):
    # transformers' save_pretrained writes tokenizer.json as a user's model folder holds it,
    # with tokenizer_config.json (bos/eos/pad names) beside it.
    folder = os.path.join(out, name)
    shutil.rmtree(folder, ignore_errors=True)
    PreTrainedTokenizerFast(tokenizer_object=tok, **config).save_pretrained(folder)
    for extra in os.listdir(folder):
        if extra not in ("tokenizer.json", "tokenizer_config.json"):
            os.remove(os.path.join(folder, extra))
    path = os.path.join(folder, "tokenizer.json")
    j = json.load(open(path, encoding="utf-8"))
    merges = j["model"]["merges"]
    assert merges and isinstance(merges[0], list), "expected this tokenizers version to write merges as pairs"
    # the older serialisation: "a b" strings (byte-level pieces never hold a space)
    j["model"]["merges"] = [" ".join(m) for m in merges]
    alt = os.path.join(out, name + "-merges-as-strings")
    shutil.rmtree(alt, ignore_errors=True)
    os.makedirs(alt)
    json.dump(j, open(os.path.join(alt, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=2)
    shutil.copy(os.path.join(folder, "tokenizer_config.json"), alt)
    # the strings form must load and tokenize identically in the reference too
    a, b = Tokenizer.from_file(path), Tokenizer.from_file(os.path.join(alt, "tokenizer.json"))
    assert all(a.encode(t).ids == b.encode(t).ids for t in CORPUS)
    return a


def reference(tok):
    rows = []
    for t in CORPUS:
        plain = tok.encode(t, add_special_tokens=False).ids
        special = tok.encode(t, add_special_tokens=True).ids
        rows.append(dict(ids=plain, ids_with_special=special,
                         decoded=tok.decode(plain, skip_special_tokens=False),
                         decoded_skipping_special=tok.decode(plain, skip_special_tokens=True),
                         # one id at a time: a token holding part of a character decodes to U+FFFD
                         decoded_each=[tok.decode([i], skip_special_tokens=False) for i in plain]))
    return rows


os.makedirs(out, exist_ok=True)
result = {"corpus": CORPUS}
for name, make in (("llama3", llama3), ("qwen2", qwen2)):
    tok, config = make()
    result[name] = reference(save(name, tok, config))
json.dump(result, open(os.path.join(out, "parity.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
import tokenizers
print(f"wrote {out} with tokenizers {tokenizers.__version__} for {len(CORPUS)} texts")

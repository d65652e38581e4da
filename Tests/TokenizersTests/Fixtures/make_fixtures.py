#!/usr/bin/python3
"""Writes the SentencePiece fixtures for TokenizersTests with python3-sentencepiece.

Run from the repository root:  /usr/bin/python3 Tests/TokenizersTests/Fixtures/make_fixtures.py
  reference.model   a unigram model (vocab 450, character coverage 0.9995 so rare characters take byte fallback, byte fallback, digits split, identity
                    normalisation, chat markers as user-defined symbols) trained by Python's
                    SentencePiece on data/smoke/corpus.txt plus parity.txt
  parity_ids.txt    Python's ids for each line of parity.txt, space-separated, one line each
"""
import os
import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", "..", ".."))
spm.SentencePieceTrainer.train(
    input=[os.path.join(root, "data", "smoke", "corpus.txt"), os.path.join(here, "parity.txt")],
    model_prefix=os.path.join(here, "reference"), vocab_size=450, model_type="unigram",
    byte_fallback=True, split_digits=True, character_coverage=0.9995, normalization_rule_name="identity",
    user_defined_symbols=["<|user|>", "<|assistant|>", "<|end|>"], unk_id=0, bos_id=1, eos_id=2, pad_id=3,
    num_threads=1, minloglevel=2)
os.remove(os.path.join(here, "reference.vocab"))
sp = spm.SentencePieceProcessor(model_file=os.path.join(here, "reference.model"))
with open(os.path.join(here, "parity.txt"), encoding="utf-8") as f:
    lines = f.read().split("\n")[:-1]
with open(os.path.join(here, "parity_ids.txt"), "w") as f:
    for line in lines:
        f.write(" ".join(map(str, sp.encode(line))) + "\n")
print("wrote reference.model and parity_ids.txt for", len(lines), "lines")

#!/usr/bin/env python3
"""Writes the model-family parity fixtures for ModelsTests: tiny random-weight Qwen2, Qwen3, Mistral
and Llama 3 folders as transformers saves them, and what transformers computes with them.

Needs transformers >= 4.51 (the first with Qwen3) on torch 2.x, in its own venv at the repo root:

  python3 -m venv .venv-hf2 && .venv-hf2/bin/pip install torch 'transformers==4.57.6' safetensors tokenizers jinja2
  .venv-hf2/bin/python Tests/ModelsTests/Fixtures/make_family_fixtures.py          # writes
  .venv-hf2/bin/python Tests/ModelsTests/Fixtures/make_family_fixtures.py --check  # reloads, compares

transformers is pinned to the last 4.x because 5.x saves config.json with `rope_parameters` (theta
inside) instead of the `rope_theta`/`rope_scaling` that released checkpoints carry; `--check` under
5.x reloads these folders and must reproduce the same numbers.

families/<name>/ is a complete student folder: config.json, generation_config.json,
model.safetensors (float32), tokenizer.json, tokenizer_config.json and the chat template. The
tokenizers and templates are the chat fixtures' (Tests/DatasetsTests/Fixtures/chat, copied
byte for byte), and vocab_size is the tokenizer's length.
  qwen2/    Qwen2ForCausalLM: hidden 32 (head dim 8), q/k/v biases, tied embeddings (as
            Qwen2.5-0.5B/1.5B). Its config.json is edited to read like a released Qwen2.5 one:
            sliding_window 8 and max_window_layers 1 with use_sliding_window false, and no
            layer_types; the window is unused, so a reader that applies it gets different logits.
            Tokenizer and template from chat/qwen25.
  qwen3/    Qwen3ForCausalLM: hidden 32, head_dim 16 (not 32 / 4), per-head q_norm/k_norm.
            Tokenizer and template from chat/qwen3.
  mistral/  MistralForCausalLM: hidden 32, head_dim 16, sliding_window 8, shorter than the logits
            rows (24) and the chat prompt. chat/llama3's tokenizer with eos <|end_of_text|> and the
            [INST] template of Tests/ChatTemplatesTests/Fixtures/templates/mistral.jinja.
  llama3/   LlamaForCausalLM: hidden 32 (head dim 8), rope_scaling llama3 (theta 500000, factor 8,
            original_max_position_embeddings 256: the 4 wavelengths 6.3, 166, 4443, 118000 fall in all
            three of its regimes, kept below 64, blended to 256, divided above), eos_token_id a list
            [<|end_of_text|>, <|eom_id|>, <|eot_id|>] as Llama 3.1's. Its seed (111) is one whose
            greedy reply ends at <|eot_id|>, the last of the list, after 8 tokens (asserted), so
            that stopping on any listed eos is tested. Tokenizer and template from chat/llama3.
All have 2 layers, 4 attention heads, 2 key/value heads, intermediate 64, eager attention. Every
weight is redrawn: N(0, 0.3^2), and every RMSNorm weight (layers', final, q_norm/k_norm) 1 + 0.2 N(0,1)
so that none is the identity and a 1e-4 comparison of logits means something.

families/expected.json (layout in families/README.md): for each family the logits of two fixed rows
of 24 token ids, and greedy generate() for one conversation (qwen3 also with enable_thinking false).
"""
import argparse
import json
import os
import platform
import shutil
import sys

import torch
import transformers
from transformers import (AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "families")
CHAT = os.path.join(HERE, "..", "..", "DatasetsTests", "Fixtures", "chat")
TEMPLATES = os.path.join(HERE, "..", "..", "ChatTemplatesTests", "Fixtures", "templates")
ROWS, ROW_LEN, MAX_NEW = 2, 24, 12
MESSAGES = [{"role": "user", "content": "What is 2 + 3?"}]
LLAMA3_DATE = {"date_string": "26 Jul 2024"}  # the template otherwise prints today's date
COMMON = dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=64,
              max_position_embeddings=512, attn_implementation="eager")


def copy_tokenizer(folder, src, files, config_edit=None):
    for f in files:
        shutil.copyfile(os.path.join(src, f), os.path.join(folder, f))
    if config_edit:
        path = os.path.join(folder, "tokenizer_config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg.update(config_edit)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2, ensure_ascii=False)
            f.write("\n")


def tokenizer_source(name):
    """(source folder, files to copy, tokenizer_config.json changes) for a family."""
    if name == "qwen2":
        return os.path.join(CHAT, "qwen25"), ["tokenizer.json", "tokenizer_config.json"], None
    if name == "qwen3":
        return os.path.join(CHAT, "qwen3"), ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"], None
    if name == "llama3":
        return os.path.join(CHAT, "llama3"), ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"], None
    # Mistral's </s> ends a turn; <|end_of_text|> is this tokenizer's counterpart.
    return os.path.join(CHAT, "llama3"), ["tokenizer.json", "tokenizer_config.json"], {"eos_token": "<|end_of_text|>"}


def build(name, vocab):
    if name == "qwen2":
        cfg = Qwen2Config(vocab_size=vocab, hidden_size=32, rms_norm_eps=1e-6, rope_theta=1e6, tie_word_embeddings=True,
                          use_sliding_window=False, max_window_layers=1, bos_token_id=0, eos_token_id=2, **COMMON)
        return cfg, Qwen2ForCausalLM, 11
    if name == "qwen3":
        cfg = Qwen3Config(vocab_size=vocab, hidden_size=32, head_dim=16, rms_norm_eps=1e-6, rope_theta=1e6,
                          tie_word_embeddings=False, use_sliding_window=False, bos_token_id=0, eos_token_id=2, **COMMON)
        return cfg, Qwen3ForCausalLM, 12
    if name == "mistral":
        cfg = MistralConfig(vocab_size=vocab, hidden_size=32, head_dim=16, rms_norm_eps=1e-5, rope_theta=1e6,
                            sliding_window=8, tie_word_embeddings=False, bos_token_id=0, eos_token_id=1, **COMMON)
        return cfg, MistralForCausalLM, 13
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, rms_norm_eps=1e-5, rope_theta=500000.0,
                      rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                    "original_max_position_embeddings": 256},
                      tie_word_embeddings=False, bos_token_id=0, eos_token_id=[1, 1040, 4], **COMMON)
    return cfg, LlamaForCausalLM, 111


def randomize(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(1 + 0.2 * torch.randn_like(p) if "norm" in pname else 0.3 * torch.randn_like(p))


def logit_ids(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (ROWS, ROW_LEN), generator=g).tolist()


def conversations(name):
    """(case name, template variables) for the generate cases of a family."""
    if name == "qwen3":
        return [("default", {}), ("enable_thinking_false", {"enable_thinking": False})]
    return [("default", LLAMA3_DATE if name == "llama3" else {})]


def eos_ids(model):
    e = model.generation_config.eos_token_id
    return [] if e is None else ([e] if isinstance(e, int) else list(e))


def greedy_without_cache(model, prompt, n):
    """Greedy decoding by full forward passes: checks that generate()'s KV cache (a sliding one for Mistral)
    gives the same tokens as recomputing everything."""
    ids = list(prompt)
    for _ in range(n):
        with torch.no_grad():
            ids.append(int(model(torch.tensor([ids]), use_cache=False).logits[0, -1].argmax()))
    return ids[len(prompt):]


def run_cases(name, model, tok):
    cases = []
    for case, variables in conversations(name):
        prompt = tok.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True, return_dict=False,
                                         **variables)
        prompt = list(prompt)
        eos = eos_ids(model)
        pad = tok.pad_token_id if tok.pad_token_id is not None else eos[0]
        x = torch.tensor([prompt])
        with torch.no_grad():
            out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=MAX_NEW, do_sample=False,
                                 pad_token_id=pad)[0, len(prompt):].tolist()
            full = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=MAX_NEW, min_new_tokens=MAX_NEW,
                                  do_sample=False, eos_token_id=None, pad_token_id=pad)[0, len(prompt):].tolist()
        stopped = len(out) < MAX_NEW or (len(out) > 0 and out[-1] in eos)
        expect = greedy_without_cache(model, prompt, MAX_NEW)
        assert full == expect, f"{name}/{case}: generate() with cache {full} != without {expect}"
        cut = next((i + 1 for i, t in enumerate(expect) if t in eos), MAX_NEW)
        assert out == expect[:cut], f"{name}/{case}: stopping at eos {eos}: {out} vs {expect}"
        cases.append({"name": case, "messages": MESSAGES, "template_variables": variables,
                      "text": tok.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False, **variables),
                      "prompt_ids": prompt, "eos_token_ids": eos, "max_new_tokens": MAX_NEW,
                      "new_tokens": out, "stopped_at_eos": stopped, "new_tokens_ignoring_eos": full})
    return cases


def visible_keys(model, ids):
    """[first, last] key position that each query position attends to in layer 0 (nonzero eager weights)."""
    with torch.no_grad():
        att = model(torch.tensor([ids]), output_attentions=True).attentions[0][0]  # heads, q, k
    nz = (att != 0).any(dim=0)
    return [[int(r.nonzero().min()), int(r.nonzero().max())] for r in nz]


def compute(name, model, tok):
    vocab = model.config.vocab_size
    ids = logit_ids(vocab, 100 + ["qwen2", "qwen3", "mistral", "llama3"].index(name))
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits
    entry = {"architecture": type(model).__name__, "vocab_size": vocab,
             "logits": {"ids": ids, "shape": list(logits.shape),
                        "values": [[[float(f"{v:.6g}") for v in pos] for pos in row] for row in logits.tolist()]},
             "generate": run_cases(name, model, tok)}
    if name == "mistral":
        entry["layer0_visible_keys"] = visible_keys(model, ids[0])
    return entry


def write():
    os.makedirs(OUT, exist_ok=True)
    out = {"generator": versions(), "families": {}}
    for name in ["qwen2", "qwen3", "mistral", "llama3"]:
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        src, files, edit = tokenizer_source(name)
        copy_tokenizer(folder, src, files, edit)
        if name == "mistral":
            shutil.copyfile(os.path.join(TEMPLATES, "mistral.jinja"), os.path.join(folder, "chat_template.jinja"))
        tok = AutoTokenizer.from_pretrained(folder)
        cfg, cls, seed = build(name, len(tok))
        torch.manual_seed(seed)
        model = cls(cfg).eval()
        randomize(model, seed)
        model.save_pretrained(folder, safe_serialization=True)
        if name == "qwen2":  # as released Qwen2.5 configs: a window that use_sliding_window false switches off
            path = os.path.join(folder, "config.json")
            with open(path) as f:
                c = json.load(f)
            c["sliding_window"] = 8
            del c["layer_types"]
            with open(path, "w") as f:
                json.dump(c, f, indent=2, sort_keys=True)
                f.write("\n")
        out["families"][name] = compute(name, model, tok)
        if name == "llama3":
            g = out["families"][name]["generate"][0]
            assert g["stopped_at_eos"] and g["new_tokens"][-1] == 4 and len(g["new_tokens"]) < MAX_NEW, g
        print(name, "written")
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


def versions():
    import jinja2
    import safetensors
    import tokenizers
    return {"transformers": transformers.__version__, "torch": torch.__version__, "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__, "jinja2": jinja2.__version__, "python": platform.python_version()}


def check():
    """Reloads each folder with the Auto classes and compares against expected.json."""
    with open(os.path.join(OUT, "expected.json")) as f:
        exp = json.load(f)
    worst = 0.0
    for name, e in exp["families"].items():
        folder = os.path.join(OUT, name)
        tok = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
        assert type(model).__name__ == e["architecture"], (name, type(model).__name__)
        assert len(tok) == e["vocab_size"] == model.config.vocab_size, name
        with torch.no_grad():
            logits = model(torch.tensor(e["logits"]["ids"])).logits
        diff = (logits - torch.tensor(e["logits"]["values"])).abs().max().item()
        worst = max(worst, diff)
        assert diff < 1e-4, f"{name}: logits differ by {diff}"
        got = {c["name"]: c for c in run_cases(name, model, tok)}
        for c in e["generate"]:
            g = got[c["name"]]
            for k in ["prompt_ids", "new_tokens", "new_tokens_ignoring_eos", "eos_token_ids", "stopped_at_eos", "text"]:
                assert g[k] == c[k], f"{name}/{c['name']}: {k} {g[k]} != {c[k]}"
        if "layer0_visible_keys" in e:
            assert visible_keys(model, e["logits"]["ids"][0]) == e["layer0_visible_keys"], name
        print(f"{name}: reloads as {type(model).__name__}; logits within {diff:.2e}; generate and prompt ids equal")
    print(f"all families match with {versions()['transformers']} (largest logit difference {worst:.2e})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="reload the folders and compare with expected.json")
    args = ap.parse_args()
    check() if args.check else write()

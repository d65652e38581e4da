#!/usr/bin/env python3
"""Writes the HF transformers fixtures for ModelsTests, with transformers 4.40.2 over Debian's
python3-torch (the venv of ../shared/bench/hf_llama_baseline.py's header; scripts/setup-hf
makes it as .venv-hf).

Run from the repository root:  .venv-hf/bin/python Tests/ModelsTests/Fixtures/make_hf_fixtures.py
  hf-gqa/   LlamaForCausalLM.save_pretrained (safetensors): vocab 96, dim 32, 2 layers, 4 heads,
            2 key/value heads (grouped-query), untied head
  hf-tied/  the same shapes with 4 key/value heads and tied embeddings
  expected.json  for each: logits of two fixed rows, and greedy generate() of a prompt
Weights are re-drawn with std 0.3 (norms 1 + 0.1 N(0,1)) so logits are far from uniform and a
1e-4 comparison means something.
"""
import json
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
IDS = [[1, 5, 17, 33, 60, 2, 7, 90], [1, 44, 3, 8, 9, 10, 11, 12]]
PROMPT = [[1, 5, 17, 33]]


def make(name, kv_heads, tied, seed):
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=kv_heads, rms_norm_eps=1e-5, rope_theta=10000.0,
                      max_position_embeddings=256, tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model.eval()
    model.save_pretrained(os.path.join(here, name), safe_serialization=True)
    with torch.no_grad():
        logits = model(torch.tensor(IDS)).logits
        gen = model.generate(torch.tensor(PROMPT), max_new_tokens=12, min_new_tokens=12, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    return {"ids": IDS, "logits": logits.reshape(-1).tolist(), "shape": list(logits.shape),
            "prompt": PROMPT[0], "greedy": gen[0, len(PROMPT[0]):].tolist()}


if __name__ == "__main__":
    import transformers
    out = {"transformers": transformers.__version__, "torch": torch.__version__,
           "hf-gqa": make("hf-gqa", 2, False, 0), "hf-tied": make("hf-tied", 4, True, 1)}
    with open(os.path.join(here, "expected.json"), "w") as f:
        json.dump(out, f)
    print("wrote hf-gqa/, hf-tied/ and expected.json")

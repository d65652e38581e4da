#!/usr/bin/env python3
"""Writes the rope-scaling fixtures for ModelsTests: Llama 3.1's `llama3` frequency scaling and
linear position interpolation, as transformers computes them. Needs transformers >= 4.43 (the
first with `rope_type: llama3`), which the pinned baseline venv (.venv-hf, 4.40.2) predates, so
it runs in its own throwaway venv over Debian's python3-torch:

  /usr/bin/python3 -m venv --system-site-packages /tmp/tf443 && /tmp/tf443/bin/pip install transformers==4.43.4
  /tmp/tf443/bin/python Tests/ModelsTests/Fixtures/make_hf_rope_fixtures.py

  hf-llama3rope/  vocab 96, dim 32 (head dim 8), 2 layers, 4 heads, 2 key/value heads, rope_scaling
                  {llama3, factor 8, low_freq_factor 1, high_freq_factor 4,
                  original_max_position_embeddings 64}: with theta 10000 the four frequencies'
                  wavelengths (6.3, 63, 628, 6283) fall in all three of llama3's regimes (kept,
                  blended, divided by the factor)
  hf-linearrope/  the same shapes with rope_scaling {linear, factor 4}
  expected_rope.json  for each: inv_freq, logits of two rows of 40 tokens, greedy generate()
"""
import json
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
g = torch.Generator().manual_seed(5)
IDS = torch.randint(3, 96, (2, 40), generator=g).tolist()
PROMPT = [[1, 5, 17, 33]]


def make(name, scaling, seed):
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
                      max_position_embeddings=512, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                      rope_scaling=scaling)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in pname else 0.3 * torch.randn_like(p))
    model.eval()
    model.save_pretrained(os.path.join(here, name), safe_serialization=True)
    inv_freq = model.model.rotary_emb.inv_freq
    with torch.no_grad():
        logits = model(torch.tensor(IDS)).logits
        gen = model.generate(torch.tensor(PROMPT), max_new_tokens=12, min_new_tokens=12, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    return {"ids": IDS, "inv_freq": inv_freq.tolist(), "logits": logits.reshape(-1).tolist(),
            "shape": list(logits.shape), "prompt": PROMPT[0], "greedy": gen[0, len(PROMPT[0]):].tolist()}


if __name__ == "__main__":
    import transformers
    out = {"transformers": transformers.__version__, "torch": torch.__version__,
           "hf-llama3rope": make("hf-llama3rope", {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 64}, 2),
           "hf-linearrope": make("hf-linearrope", {"rope_type": "linear", "factor": 4.0}, 3)}
    with open(os.path.join(here, "expected_rope.json"), "w") as f:
        json.dump(out, f)
    print("wrote hf-llama3rope/, hf-linearrope/ and expected_rope.json")

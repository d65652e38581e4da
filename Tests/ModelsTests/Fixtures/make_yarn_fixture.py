#!/usr/bin/env python3
"""Writes the YaRN rope-scaling fixture for ModelsTests: a tiny Qwen2 model whose config names
`rope_scaling: {rope_type: yarn}` (what Qwen2.5 and Qwen3 configs state for long contexts), and
what transformers computes with it. Runs in the venv of make_family_fixtures.py:

  .venv-hf2/bin/python Tests/ModelsTests/Fixtures/make_yarn_fixture.py

  hf-qwen2yarn/      vocab 96, hidden 32, head_dim 8, 2 layers, 4 heads, 2 key/value heads, q/k/v
                     biases, rope_theta 10000, max_position_embeddings 256, rope_scaling {yarn,
                     factor 4, original_max_position_embeddings 32}: the highest frequency is kept
                     and the others divided; cos/sin carry yarn's attention factor (0.1 ln 4 + 1)
  hf-qwen2yarn-mscale/  the same weights with mscale 0.707 and mscale_all_dim 1 and no original
                     context (it defaults to max_position_embeddings): one frequency is blended
  expected_yarn.json for each: inv_freq, attention_scaling, logits of two rows of 40 tokens
"""
import json
import os

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
g = torch.Generator().manual_seed(7)
IDS = torch.randint(3, 96, (2, 40), generator=g).tolist()


def make(name, scaling):
    torch.manual_seed(11)
    cfg = Qwen2Config(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=10000.0,
                      max_position_embeddings=256, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                      rope_scaling=scaling, use_sliding_window=False)
    model = Qwen2ForCausalLM(cfg)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in pname else 0.3 * torch.randn_like(p))
    model.eval()
    model.save_pretrained(os.path.join(here, name), safe_serialization=True)
    rotary = model.model.rotary_emb
    with torch.no_grad():
        logits = model(torch.tensor(IDS)).logits
    return {"ids": IDS, "inv_freq": rotary.inv_freq.tolist(), "attention_scaling": float(rotary.attention_scaling),
            "logits": [round(v, 6) for v in logits.reshape(-1).tolist()], "shape": list(logits.shape)}


if __name__ == "__main__":
    import transformers
    out = {"transformers": transformers.__version__, "torch": torch.__version__,
           "hf-qwen2yarn": make("hf-qwen2yarn", {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}),
           "hf-qwen2yarn-mscale": make("hf-qwen2yarn-mscale", {"rope_type": "yarn", "factor": 4.0, "mscale": 0.707, "mscale_all_dim": 1.0})}
    with open(os.path.join(here, "expected_yarn.json"), "w") as f:
        json.dump(out, f)
    print("wrote hf-qwen2yarn/, hf-qwen2yarn-mscale/ and expected_yarn.json")

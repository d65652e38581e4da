#!/usr/bin/env python3
"""Writes the YaRN and dynamic NTK rope-scaling fixtures for ModelsTests: tiny Qwen2 models whose
config names `rope_scaling: {rope_type: yarn}` (what Qwen2.5 and Qwen3 configs state for long
contexts) and a tiny Llama with `dynamic`, and what transformers computes with them. Runs in the
venv of make_family_fixtures.py:

  .venv-hf2/bin/python Tests/ModelsTests/Fixtures/make_yarn_dynamic_fixtures.py

  hf-qwen2yarn/      vocab 96, hidden 32, head_dim 8, 2 layers, 4 heads, 2 key/value heads, q/k/v
                     biases, rope_theta 10000, max_position_embeddings 256, rope_scaling {yarn,
                     factor 4, original_max_position_embeddings 32}: the highest frequency is kept
                     and the others divided; cos/sin carry yarn's attention factor (0.1 ln 4 + 1)
  hf-qwen2yarn-mscale/  the same weights with mscale 0.707 and mscale_all_dim 1 and no original
                     context (it defaults to max_position_embeddings): one frequency is blended
  hf-llamadynamic/   a Llama of the same shapes with max_position_embeddings 16 and rope_scaling
                     {dynamic, factor 2}: its frequencies follow the longest sequence the rotary
                     module has seen, so the calls are recorded in order: logits of the two rows
                     (40 positions: grown), then greedy generate() from a 10-token prompt for 20
                     tokens (reset below 16, then grown at every step past it), then the rows' logits again
  expected_yarn_dynamic.json  for each: inv_freq, attention_scaling, logits of two rows of 40
                     tokens (dynamic: also prompt, greedy, logits_after)
"""
import json
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

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


def make_dynamic(name):
    torch.manual_seed(13)
    cfg = LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
                      max_position_embeddings=16, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                      rope_scaling={"rope_type": "dynamic", "factor": 2.0})
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in pname else 0.3 * torch.randn_like(p))
    model.eval()
    model.save_pretrained(os.path.join(here, name), safe_serialization=True)
    prompt = IDS[0][:10]
    with torch.no_grad():
        logits = model(torch.tensor(IDS)).logits
        grown = model.model.rotary_emb.inv_freq.tolist()
        gen = model.generate(torch.tensor([prompt]), max_new_tokens=20, min_new_tokens=20, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
        after = model(torch.tensor(IDS)).logits
    return {"ids": IDS, "inv_freq": grown, "attention_scaling": 1.0,
            "logits": [round(v, 6) for v in logits.reshape(-1).tolist()], "shape": list(logits.shape),
            "prompt": prompt, "greedy": gen[0, len(prompt):].tolist(),
            "logits_after": [round(v, 6) for v in after.reshape(-1).tolist()]}


if __name__ == "__main__":
    import transformers
    out = {"transformers": transformers.__version__, "torch": torch.__version__,
           "hf-qwen2yarn": make("hf-qwen2yarn", {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}),
           "hf-qwen2yarn-mscale": make("hf-qwen2yarn-mscale", {"rope_type": "yarn", "factor": 4.0, "mscale": 0.707, "mscale_all_dim": 1.0}),
           "hf-llamadynamic": make_dynamic("hf-llamadynamic")}
    with open(os.path.join(here, "expected_yarn_dynamic.json"), "w") as f:
        json.dump(out, f)
    print("wrote hf-qwen2yarn/, hf-qwen2yarn-mscale/, hf-llamadynamic/ and expected_yarn_dynamic.json")

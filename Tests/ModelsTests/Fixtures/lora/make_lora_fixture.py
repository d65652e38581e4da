#!/usr/bin/env python3
"""Writes the LoRA fixture for ModelsTests (LoRATests): an adapter folder PEFT itself saved on the
families/qwen2 base, and the logits PeftModel computes with it.

Needs torch 2.x, transformers 4.57 and peft in the repo's .venv-hf2 (see make_family_fixtures.py):

  .venv-hf2/bin/pip install peft
  .venv-hf2/bin/python Tests/ModelsTests/Fixtures/lora/make_lora_fixture.py

lora/qwen2-adapter/ is what `PeftModel.save_pretrained` writes (adapter_config.json,
adapter_model.safetensors with PEFT's tensor names): rank 4, alpha 8, every projection of both
layers (q/k/v with biases in the base), dropout 0. PEFT starts B at zero, so every A and B is
redrawn N(0, 0.2^2) (seed 7) and the adapters change the logits. base_model_name_or_path is
rewritten to "../../families/qwen2", relative to the adapter folder, so the fixture works in any
checkout (absolute paths are what a trainer writes; both are read).

lora/expected.json: the ids (two rows of 16) and PeftModel's logits for them, flattened, with the
versions that computed them.
"""
import json
import os

import peft
import safetensors.torch
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
base_dir = os.path.join(here, "..", "families", "qwen2")
out = os.path.join(here, "qwen2-adapter")

base = AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager", dtype=torch.float32)
config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
model = get_peft_model(base, config)
g = torch.Generator().manual_seed(7)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_" in name:
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
model.save_pretrained(out)

cfg_path = os.path.join(out, "adapter_config.json")
with open(cfg_path) as f:
    cfg = json.load(f)
cfg["base_model_name_or_path"] = "../../families/qwen2"
with open(cfg_path, "w") as f:
    json.dump(cfg, f, indent=2, sort_keys=True)
    f.write("\n")
readme = os.path.join(out, "README.md")
if os.path.exists(readme):
    os.remove(readme)  # PEFT's model card template, not needed

# Reload as a consumer would: the base, then the saved adapter folder.
base = AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager", dtype=torch.float32)
loaded = PeftModel.from_pretrained(base, out).eval()
ids = torch.tensor([[1, 5, 9, 30, 2, 17, 40, 3, 11, 12, 13, 14, 100, 200, 300, 400],
                    [7, 8, 9, 10, 500, 501, 502, 20, 21, 22, 23, 24, 25, 26, 27, 28]])
with torch.no_grad():
    logits = loaded(ids).logits
    plain = AutoModelForCausalLM.from_pretrained(base_dir, attn_implementation="eager", dtype=torch.float32)(ids).logits
assert (logits - plain).abs().max() > 1e-2, "the adapters must change the logits"
expected = {
    "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    "keys": sorted(safetensors.torch.load_file(os.path.join(out, "adapter_model.safetensors")).keys()),
    "ids": ids.tolist(),
    "logits": [round(v, 7) for v in logits.flatten().tolist()],
}
with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(expected, f)
    f.write("\n")
print("wrote", out, "and expected.json;", len(expected["keys"]), "adapter tensors")

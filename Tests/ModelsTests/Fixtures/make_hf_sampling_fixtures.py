#!/usr/bin/env python3
"""Writes expected_sampling.json for ModelsTests: what transformers' generate() makes of
repetition_penalty and min_p (with temperature, top_k and top_p) on the hf-gqa and hf-tied
folders make_hf_fixtures.py wrote. MinPLogitsWarper needs transformers >= 4.39, past the pinned
.venv-hf (4.40.2 lacks it on Debian's torch), so it runs in a throwaway venv over Debian's
python3-torch, as make_hf_rope_fixtures.py does:

  /usr/bin/python3 -m venv --system-site-packages /tmp/tf443 && /tmp/tf443/bin/pip install transformers==4.43.4
  /tmp/tf443/bin/python Tests/ModelsTests/Fixtures/make_hf_sampling_fixtures.py

For each folder:
  greedy     {penalty: tokens}: generate(do_sample=False, repetition_penalty=penalty), 16 new
             tokens from PROMPT (which repeats ids, so the penalty has prompt tokens to act on);
             penalty 1 is plain greedy
  processed  a list of {settings, probs}: the next-token distribution after PROMPT as
             generate(do_sample=True) draws from it (softmax of its output_scores, which are the
             logits after every processor and warper, in generate()'s own order); a filtered
             token has probability 0. `margin` is how far the closest token is from min_p's
             threshold (relative to the top probability) or top_p's (the mass of the tokens more likely
             than it): a kept set that a 1e-4 difference in logits could change would not be a
             fair fixture.
"""
import json
import os

import torch
from transformers import LlamaForCausalLM

here = os.path.dirname(os.path.abspath(__file__))
PROMPT = [1, 5, 17, 33, 17, 5, 60]
SETTINGS = [
    {"temperature": 0.7, "top_k": 0, "top_p": 1.0, "min_p": 0.2, "repetition_penalty": 1.0},
    {"temperature": 1.5, "top_k": 0, "top_p": 1.0, "min_p": 0.15, "repetition_penalty": 1.3},
    {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "repetition_penalty": 2.0},
    {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "repetition_penalty": 0.5},
    {"temperature": 0.9, "top_k": 20, "top_p": 0.85, "min_p": 0.03, "repetition_penalty": 1.2},
]


def make(name):
    model = LlamaForCausalLM.from_pretrained(os.path.join(here, name))
    model.eval()
    prompt = torch.tensor([PROMPT])
    greedy = {}
    for penalty in (1.0, 1.3, 0.7):
        with torch.no_grad():
            out = model.generate(prompt, max_new_tokens=16, min_new_tokens=16, do_sample=False, repetition_penalty=penalty,
                                 eos_token_id=None, pad_token_id=0)
        greedy[str(penalty)] = out[0, len(PROMPT):].tolist()
    def distribution(settings):
        torch.manual_seed(0)
        with torch.no_grad():
            out = model.generate(prompt, max_new_tokens=1, do_sample=True, output_scores=True, return_dict_in_generate=True,
                                 eos_token_id=None, pad_token_id=0, **settings)
        return torch.softmax(out.scores[0][0].float(), dim=-1)

    processed = []
    for s in SETTINGS:
        probs = distribution(s)
        # How close a token came to a cut: min_p's threshold (relative to the top probability,
        # which renormalising leaves alone), and top_p's (the mass of the more likely tokens).
        before = distribution(dict(s, top_p=1.0, min_p=0.0))
        q = before[before > 0].sort(descending=True).values
        margin = 1.0
        if s["top_p"] < 1:
            margin = min(margin, float((q.cumsum(0) - q - s["top_p"]).abs().min()))
        if s["min_p"] > 0:
            kept = distribution(dict(s, min_p=0.0))
            kept = kept[kept > 0]
            margin = min(margin, float(((kept - s["min_p"] * kept.max()).abs() / kept.max()).min()))
        assert margin > 1e-3, f"{name} {s}: a token lies {margin} from a cut"
        processed.append({"settings": s, "probs": probs.tolist(), "kept": int((probs > 0).sum()), "margin": margin})
    return {"prompt": PROMPT, "greedy": greedy, "processed": processed}


if __name__ == "__main__":
    import transformers
    out = {"transformers": transformers.__version__, "torch": torch.__version__, "hf-gqa": make("hf-gqa"), "hf-tied": make("hf-tied")}
    with open(os.path.join(here, "expected_sampling.json"), "w") as f:
        json.dump(out, f)
    for name in ("hf-gqa", "hf-tied"):
        e = out[name]
        print(name, "greedy", e["greedy"], "kept", [p["kept"] for p in e["processed"]], "margins", [round(p["margin"], 4) for p in e["processed"]])

#!/usr/bin/python3
"""Writes golden.json: reference values from PyTorch (python3-torch, the same libtorch 1.13 the
shim links) for TorchTests/GoldenTests.swift.

Run from the repository root:  /usr/bin/python3 Tests/TorchTests/Fixtures/make_golden.py
Cases:
  mlp        2-layer MLP (linear, SiLU, linear) + cross-entropy with one ignored target:
             loss and the gradient of every weight.
  attention  one pre-norm causal self-attention block (RMSNorm, 2 heads, rotary-free) with
             a residual, an output head and cross-entropy: loss and every gradient.
  adamw      three torch.optim.AdamW steps on the MLP (weight decay on weights only) after
             clip_grad_norm_: the parameters after each step and the clip norms.
All tensors are float32; values are stored as flat lists with their shapes.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)


def t(x):
    return {"shape": list(x.shape), "data": [float(v) for v in x.detach().reshape(-1).tolist()]}


def mlp_case():
    x = torch.randn(6, 4)
    targets = torch.tensor([0, 2, 1, -100, 2, 0])
    w1 = torch.randn(4, 16, requires_grad=True)
    b1 = torch.randn(16, requires_grad=True)
    w2 = torch.randn(16, 3, requires_grad=True)
    b2 = torch.randn(3, requires_grad=True)
    h = F.silu(x @ w1 + b1)
    logits = h @ w2 + b2
    loss = F.cross_entropy(logits, targets, ignore_index=-100)
    loss.backward()
    return {
        "x": t(x), "targets": targets.tolist(),
        "w1": t(w1), "b1": t(b1), "w2": t(w2), "b2": t(b2),
        "loss": loss.item(),
        "grads": {"w1": t(w1.grad), "b1": t(b1.grad), "w2": t(w2.grad), "b2": t(b2.grad)},
    }


def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def attention_case():
    B, T, D, H, V = 2, 5, 8, 2, 7
    hd = D // H
    x = torch.randn(B, T, D, requires_grad=True)
    norm = (1 + 0.1 * torch.randn(D)).requires_grad_(True)
    wq, wk, wv, wo = [(torch.randn(D, D) / math.sqrt(D)).requires_grad_(True) for _ in range(4)]
    head = (torch.randn(D, V) / math.sqrt(D)).requires_grad_(True)
    targets = torch.randint(0, V, (B * T,))
    targets[3] = -100
    n = rmsnorm(x, norm)
    q = (n @ wq).view(B, T, H, hd).transpose(1, 2)
    k = (n @ wk).view(B, T, H, hd).transpose(1, 2)
    v = (n @ wv).view(B, T, H, hd).transpose(1, 2)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    att = torch.softmax(scores, dim=-1)
    y = (att @ v).transpose(1, 2).contiguous().view(B, T, D)
    h = x + y @ wo
    logits = h @ head
    loss = F.cross_entropy(logits.view(-1, V), targets, ignore_index=-100)
    loss.backward()
    names = {"x": x, "norm": norm, "wq": wq, "wk": wk, "wv": wv, "wo": wo, "head": head}
    return {
        "dims": {"B": B, "T": T, "D": D, "H": H, "V": V},
        "targets": targets.tolist(),
        **{k: t(v) for k, v in names.items()},
        "loss": loss.item(),
        "grads": {k: t(v.grad) for k, v in names.items()},
    }


def adamw_case(m):
    params = {k: torch.tensor(m[k]["data"]).view(m[k]["shape"]).requires_grad_(True) for k in ("w1", "b1", "w2", "b2")}
    x = torch.tensor(m["x"]["data"]).view(m["x"]["shape"])
    targets = torch.tensor(m["targets"])
    opt = torch.optim.AdamW([
        {"params": [params["w1"], params["w2"]], "weight_decay": 0.1},
        {"params": [params["b1"], params["b2"]], "weight_decay": 0.0},
    ], lr=0.05, betas=(0.9, 0.95), eps=1e-8)
    steps, norms = [], []
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        h = F.silu(x @ params["w1"] + params["b1"])
        loss = F.cross_entropy(h @ params["w2"] + params["b2"], targets, ignore_index=-100)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm=1.0)))
        opt.step()
        steps.append({k: t(v) for k, v in params.items()})
    return {"lr": 0.05, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "decay": 0.1, "max_norm": 1.0,
            "norms": norms, "steps": steps}


if __name__ == "__main__":
    mlp = mlp_case()
    out = {"torch": torch.__version__, "mlp": mlp, "attention": attention_case(), "adamw": adamw_case(mlp)}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path)

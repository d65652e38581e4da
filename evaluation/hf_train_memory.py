"""The baseline side of bench_train_memory.py: one training mode of HF transformers (+ PEFT for
LoRA) on PyPI's current torch, in a process of its own, printing one JSON line with its figures.
Run by the driver with .venv-hf2's python; not a benchmark on its own.

  hf_train_memory.py --model DIR --mode MODE --tokens N --steps S

MODE is what a user of transformers would run for each of bcsft's settings:
  fp32_full      float32 weights, torch.optim.AdamW                      (bcsft: dtype float32)
  bf16_full      float32 master weights, bf16 autocast (HF Trainer's bf16=True on a float32 model:
                 what bcsft's dtype bfloat16 keeps, fp32 weights + moments, bf16 compute)
  bf16_pure      the model loaded in bfloat16 and AdamW on it (torchtune's default, TRL with
                 torch_dtype=bfloat16): weights, gradients and moments in bf16 (bcsft: dtype
                 bfloat16 with master_weights false)
  bf16_ckpt      bf16_full + gradient_checkpointing_enable()   (bcsft: + activation_checkpointing)
  lora           PEFT LoRA rank 16, alpha 32 on q_proj, v_proj over the frozen float32 base
"""
import argparse
import json
import resource
import time

import torch
from transformers import AutoModelForCausalLM


def rss_now():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--mode", required=True, choices=["fp32_full", "bf16_full", "bf16_pure", "bf16_ckpt", "lora"])
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=1, help="rows of --tokens tokens per step")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the device check's GPU comparison)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rss_runtime = rss_now()
    dtype = torch.bfloat16 if a.mode == "bf16_pure" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=dtype, attn_implementation="sdpa").to(a.device)
    model.train()
    if a.mode == "bf16_ckpt":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if a.mode == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                                                 task_type="CAUSAL_LM"))
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    autocast = a.mode in ("bf16_full", "bf16_ckpt")
    cuda = a.device.startswith("cuda")
    seconds = []
    for _ in range(a.steps):
        ids = torch.randint(0, vocab, (a.batch, a.tokens), generator=g).to(a.device)
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(a.device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t0)
    steady = sorted(seconds[1:] or seconds)
    median = steady[len(steady) // 2]
    print(json.dumps({
        "mode": a.mode, "tokens": a.tokens, "batch": a.batch, "steps": a.steps,
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in params),
        "tokens_per_s": a.batch * a.tokens / median, "step_seconds": seconds,
        "rss_runtime": rss_runtime,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "cuda_max_allocated": torch.cuda.max_memory_allocated() if cuda else None,
        "cuda_max_reserved": torch.cuda.max_memory_reserved() if cuda else None,
        "loss": float(loss.detach()), "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
    }))


if __name__ == "__main__":
    main()

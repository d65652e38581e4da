#!/usr/bin/env bash
# On a GPU machine with PyTorch but no Swift: checks `bcsft train` and `bcsft sample` on cuda:0
# against the CPU, with the binary `bundle` built. Writes summary.json, the logs and the runs'
# metrics to $OUT (default: ./result beside this script).
#   bash out/device-check/run.sh
# GPU=cpu runs the same script with the CPU in the GPU's place (a rehearsal on a machine
# without one: everything but the device itself is exercised).
set -euo pipefail
trap 'echo "failed; the logs end:" >&2; tail -n 15 "$out"/*.log >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/result}
mkdir -p "$out"
torch=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
have=$(python3 -c 'import torch; print(torch.__version__)')
want=$(cat "$here/torch_version")
[ "$have" = "$want" ] || { echo "this machine has torch $have; the bundle was built against $want (TORCH_VERSION=... scripts/device-check/bundle)" >&2; exit 3; }
work=$(mktemp -d)
python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$here/bcsft.xz" "$work/bcsft"
chmod +x "$work/bcsft"
# The bundle's libraries stand in only for those this system lacks.
mkdir -p "$work/lib"
for f in "$here"/lib/*; do
  ldconfig -p | grep -q " $(basename "$f") " || ln -s "$f" "$work/lib/"
done
# NCCL and the CUDA runtime, which the shim's NCCL groups link directly, live beside torch.
nvidia=$(find "$torch/../nvidia" -maxdepth 2 -name lib -type d 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH=$torch/lib:$nvidia$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
b=$work/bcsft
gpu=${GPU:-cuda}
# doctor's SentencePiece row fails where no SentencePiece is installed; nothing here needs it.
"$b" doctor > "$out/doctor.txt" 2>&1 || true

# name device [more bcsft train arguments]
train() { "$b" train --config "$here/train.yaml" --set data="$here/ds" --set output="$work/$1" --set device="$2" "${@:3}"; }

# The shim alone first: bf16 step CPU vs GPU, SDPA vs the shim's attention, recompute, chunked loss.
echo "shim check"; "$here/check_device" "$gpu" > "$out/check-device.log" 2>&1 || true
echo "cpu run"; train cpu cpu > "$out/train-cpu.log" 2>&1
echo "$gpu run"; train cuda "$gpu" > "$out/train-cuda.log" 2>&1
# The memory savers on the GPU: recomputed layers and the loss in chunks of 300 of 1024 tokens.
echo "$gpu run, checkpointed, chunked loss"
train saving "$gpu" --set activation_checkpointing=true --set loss_chunk_tokens=300 > "$out/train-saving.log" 2>&1
# Exact resume on the GPU: a long run straight, and the same run killed with SIGKILL and resumed.
long=(--set steps=300 --set save_every=25 --set eval_every=0)
echo "$gpu long run"; train long "$gpu" "${long[@]}" > "$out/train-long.log" 2>&1
train killed "$gpu" "${long[@]}" > "$out/train-killed-1.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null && [ "$(cat "$work/killed/metrics.jsonl" 2>/dev/null | wc -l)" -lt 110 ]; do sleep 0.02; done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
killed_at=$(wc -l < "$work/killed/metrics.jsonl")
echo "killed at $killed_at steps; resuming"
train killed "$gpu" "${long[@]}" --resume > "$out/train-killed-2.log" 2>&1
# A checkpoint written on the GPU, resumed on the CPU for 5 more steps.
cp -r "$work/cuda" "$work/cross"
train cross cpu --resume --set steps=45 > "$out/train-cross.log" 2>&1
# Greedy samples of the GPU's final checkpoint on each device.
sample() { "$b" sample --model "$work/cuda/checkpoints/step-000040" --prompt "What is 12 + 30? Show the sum." --template bcsft \
  --max-tokens 24 --temperature 0 --device "$1" --json; }
sample cpu > "$out/sample-cpu.json"
sample "$gpu" > "$out/sample-gpu.json"
# Two ranks over NCCL, one GPU each, batch 4 per rank: the same global batch as the GPU run.
gpus=$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
runs=(cpu cuda saving long killed cross)
if [ "$gpu" != cpu ] && [ "$gpus" -ge 2 ]; then
  echo "2 ranks over NCCL"
  train dp2 cuda --nproc 2 --set batch_size=4 > "$out/train-dp2.log" 2>&1
  runs+=(dp2)
fi
# bf16 (fp32 master weights), activation checkpointing and LoRA: the GPU against its fp32 run
# and against the CPU in bf16.
echo "bf16 runs"
train bf16 "$gpu" --set dtype=bfloat16 > "$out/train-bf16.log" 2>&1
train bf16cpu cpu --set dtype=bfloat16 > "$out/train-bf16cpu.log" 2>&1
train bf16ckpt "$gpu" --set dtype=bfloat16 --set activation_checkpointing=true > "$out/train-bf16ckpt.log" 2>&1
runs+=(bf16 bf16cpu bf16ckpt)
# LoRA over the fp32 GPU run's final checkpoint, on each device.
lora() {
  sed -e '/^model:/,/^  seed:/d' "$here/train.yaml" > "$work/lora.yaml"
  printf 'model: {from: %s}\nlora: {rank: 8, alpha: 16, targets: [q_proj, k_proj, v_proj, o_proj]}\n' "$work/cuda/checkpoints/step-000040" >> "$work/lora.yaml"
  "$b" train --config "$work/lora.yaml" --set data="$here/ds" --set output="$work/$1" --set device="$2" --set steps=20 --set save_every=20
}
echo "LoRA runs"; lora lora "$gpu" > "$out/train-lora.log" 2>&1; lora loracpu cpu > "$out/train-loracpu.log" 2>&1
runs+=(lora loracpu)
# Speed and peak GPU memory beside HF transformers (+ PEFT) on this machine's torch, where they are
# installed: a ~100M Llama (made by bcsft from scratch and saved, loaded by both), rows of 1024 tokens.
if [ "$gpu" != cpu ] && python3 -c "import transformers, peft" 2>/dev/null; then
  echo "speed and memory beside HF"
  arch='{hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 8, num_attention_heads: 12, num_key_value_heads: 4, vocab_size: 32000, tie_word_embeddings: false}'
  "$b" train --config "$here/train.yaml" --set data="$here/ds1024" --set output="$work/base100m" --set device="$gpu" --set "model.config=$arch" \
    --set steps=1 --set save_every=1 --set eval_every=0 > "$out/base100m.log" 2>&1
  base=$work/base100m/checkpoints/step-000001
  sed -e '/^model:/,/^  seed:/d' "$here/train.yaml" > "$work/bench.yaml"
  printf 'model: {from: %s}\n' "$base" >> "$work/bench.yaml"
  bench() {  # name, bcsft settings..., then HF's mode last
    local name=$1 mode=${*: -1}; local sets=("${@:2:$#-2}")
    python3 "$here/gpu_peak.py" "$out/peak-ours-$name.json" -- "$b" train --config "$work/bench.yaml" --set data="$here/ds1024" \
      --set output="$work/bench-$name" --set device="$gpu" --set batch_size=1 --set steps=8 --set save_every=0 --set eval_every=0 \
      --set warmup_steps=0 --set schedule=constant "${sets[@]}" > "$out/bench-$name.log" 2>&1
    cp "$work/bench-$name/metrics.jsonl" "$out/metrics-bench-$name.jsonl"
    python3 "$here/gpu_peak.py" "$out/peak-hf-$name.json" -- python3 "$here/hf_train_memory.py" --model "$base" --mode "$mode" \
      --tokens 1024 --steps 8 --device "$gpu" > "$out/hf-$name.json" 2> "$out/hf-$name.log"
  }
  bench fp32 fp32_full
  bench bf16 --set dtype=bfloat16 bf16_full
  bench bf16pure --set dtype=bfloat16 --set master_weights=false bf16_pure
  bench bf16ckpt --set dtype=bfloat16 --set activation_checkpointing=true bf16_ckpt
  bench lora --set lora.rank=16 --set lora.alpha=32 lora
else
  echo "no GPU or no transformers + peft here: the comparison with HF is skipped" > "$out/bench-skipped.txt"
fi
for r in "${runs[@]}"; do cp "$work/$r/metrics.jsonl" "$out/metrics-$r.jsonl"; done
python3 "$here/compare.py" "$out" "$killed_at" | tee "$out/summary.json"

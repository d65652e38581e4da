#!/usr/bin/env bash
# Builds the torch shim, check_device.c and check_distributed.c against a given libtorch and
# runs them: the device check on DEVICE, the collectives over Gloo with 2 CPU ranks, and where
# CUDA is present over NCCL with one rank per GPU.
#   shim/torch/check/build_and_run.sh TORCH_DIR [DEVICE]
# TORCH_DIR holds include/ and lib/: a libtorch download, Python's torch package folder
# (python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))'), or /usr (Debian).
# CXX_STD=c++20 for torch 2.11 and later; ONEDNN=0 leaves oneDNN out (for a machine without
# libdnnl); RUN=0 builds OUT_DIR/check_device and check_distributed and runs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
torch=${1:?usage: build_and_run.sh TORCH_DIR [DEVICE]}
dev=${2:-cpu}
out=${OUT_DIR:-$(mktemp -d)}
abi=${CXX11_ABI:-1}
inc=(-I"$torch/include" -I"$torch/include/torch/csrc/api/include" -I"$here/../include")
libdir="$torch/lib"; [ -d "$libdir" ] || libdir=/usr/lib/x86_64-linux-gnu
extra=()
for l in torch_cuda c10_cuda; do [ -e "$libdir/lib$l.so" ] && extra+=(-l$l); done
# NCCL where this libtorch has CUDA: its c10d headers need nccl.h and CUDA's runtime headers,
# which a pip torch finds in the nvidia-* packages beside it and a toolkit in /usr/local/cuda.
nccl=()
if [ -e "$libdir/libtorch_cuda.so" ]; then
  # The toolkit's headers first (complete: cuda_fp16.h needs CCCL's nv/target), then pip's.
  for h in cuda_runtime_api.h nccl.h; do
    d=$(find -L /usr/local/cuda/include "$torch/../nvidia" /usr/include -name "$h" -printf '%h\n' 2>/dev/null | head -1 || true)
    [ -n "$d" ] && inc+=(-I"$d")
  done
  nccl=(-DCT_WITH_NCCL)
fi
std=${CXX_STD:-c++17}
pids=()
# oneDNN's sgemm for the products where its headers are installed (libdnnl-dev), else ATen only.
dnnl=(); dnnl_lib=()
if [ "${ONEDNN:-1}" != 0 ] && [ -e /usr/include/oneapi/dnnl/dnnl.h ]; then dnnl=(-DCT_WITH_ONEDNN); dnnl_lib=(-ldnnl); fi
# Every unit under src/ (the bindings) and src/kernels/ (the hand-written ops), as SwiftPM
# compiles them; object files are named after the unit (the names are unique).
units=("$here"/../src/*.cpp "$here"/../src/kernels/*.cpp)
objs=()
for f in "${units[@]}"; do
  o="$out/$(basename "$f" .cpp).o"
  g++ -std=$std -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=$abi "${dnnl[@]}" "${nccl[@]}" "${inc[@]}" -c "$f" -o "$o" &
  pids+=($!)
  objs+=("$o")
done
for p in "${pids[@]}"; do wait "$p"; done
# libdnnl first: a pip libtorch carries oneDNN's symbols too, and the shim's sgemm calls must bind
# to the system library its headers describe (bound to torch's, they fail with status 3).
link=(-Wl,--no-as-needed "${dnnl_lib[@]}" -L"$libdir" -Wl,-rpath,"$libdir" "${extra[@]}" -ltorch -ltorch_cpu -lc10 -lgomp -lm)
for prog in check_device check_distributed; do
  gcc -O2 -I"$here/../include" -c "$here/$prog.c" -o "$out/$prog.o"
  g++ -o "$out/$prog" "$out/$prog.o" "${objs[@]}" "${link[@]}"
done
[ "${RUN:-1}" = 0 ] && exit 0
"$out/check_device" "$dev"
port=$((29500 + RANDOM % 1000))
# Gloo where this libtorch ships its headers (Debian's does; pip wheels do not).
if [ -e "$torch/include/gloo/config.h" ] || [ -e /usr/include/gloo/config.h ]; then
  "$out/check_distributed" gloo cpu 2 "$port"
fi
if [ ${#nccl[@]} -gt 0 ]; then
  gpus=$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 1)
  "$out/check_distributed" nccl cuda "$gpus" $((port + 1))
fi

#!/usr/bin/env bash
# Builds the torch shim and check_device.c against a given libtorch and runs the check.
#   shim/torch/check/build_and_run.sh TORCH_DIR [DEVICE]
# TORCH_DIR holds include/ and lib/: a libtorch download, Python's torch package folder
# (python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))'), or /usr (Debian).
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
std=${CXX_STD:-c++17}
pids=()
# oneDNN's sgemm for the products where its headers are installed (libdnnl-dev), else ATen only.
dnnl=(); dnnl_lib=()
if [ -e /usr/include/oneapi/dnnl/dnnl.h ]; then dnnl=(-DCT_WITH_ONEDNN); dnnl_lib=(-ldnnl); fi
units=(tensor runtime serialize gemm attention)
for f in "${units[@]}"; do
  g++ -std=$std -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=$abi "${dnnl[@]}" "${inc[@]}" -c "$here/../src/$f.cpp" -o "$out/$f.o" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
gcc -O2 -I"$here/../include" -c "$here/check_device.c" -o "$out/check.o"
objs=(); for f in "${units[@]}"; do objs+=("$out/$f.o"); done
g++ -o "$out/check_device" "$out"/check.o "${objs[@]}" \
  -L"$libdir" -Wl,-rpath,"$libdir" -Wl,--no-as-needed "${extra[@]}" -ltorch -ltorch_cpu -lc10 "${dnnl_lib[@]}" -lgomp -lm
"$out/check_device" "$dev"

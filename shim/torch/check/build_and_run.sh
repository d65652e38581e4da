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
for f in tensor runtime serialize; do
  g++ -std=$std -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=$abi "${inc[@]}" -c "$here/../src/$f.cpp" -o "$out/$f.o" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
gcc -O2 -I"$here/../include" -c "$here/check_device.c" -o "$out/check.o"
g++ -o "$out/check_device" "$out"/check.o "$out"/tensor.o "$out"/runtime.o "$out"/serialize.o \
  -L"$libdir" -Wl,-rpath,"$libdir" -Wl,--no-as-needed "${extra[@]}" -ltorch -ltorch_cpu -lc10 -lm
"$out/check_device" "$dev"

// Information and settings (ctorch.h's first section): versions, build and BLAS
// configuration, CUDA queries, thread counts, seeding. The products' settings are in
// kernels/gemm.cpp and the CPU cache's in kernels/allocator.cpp, beside the code they set.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <dlfcn.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <mutex>

#include "internal.h"

using namespace ct;

namespace {

// OpenBLAS entry points, looked up at run time: libtorch reaches BLAS through libblas.so.3,
// which may be OpenBLAS or the reference BLAS depending on the system's alternatives.
using set_threads_fn = void (*)(int);
using get_threads_fn = int (*)();
using get_config_fn = char *(*)();

template <class F>
F blas_symbol(const char *name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

extern "C" {

ct_status ct_torch_version(char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&] { write_string(TORCH_VERSION, buf, cap, needed); });
}
ct_status ct_build_config(char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&] { write_string(at::show_config(), buf, cap, needed); });
}
ct_status ct_blas_info(char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&] {
    std::string s = "unknown";
    if (void *sym = dlsym(RTLD_DEFAULT, "sgemm_")) {
      Dl_info info;
      if (dladdr(sym, &info) && info.dli_fname) s = info.dli_fname;
    }
    if (auto cfg = blas_symbol<get_config_fn>("openblas_get_config")) s += " (" + std::string(cfg()) + ")";
    // The kernel OpenBLAS picked for this CPU: on CPUs it does not recognise (some virtual
    // machines) DYNAMIC_ARCH falls back to old SSE3 "Prescott" kernels; OPENBLAS_CORETYPE overrides.
    if (auto core = blas_symbol<get_config_fn>("openblas_get_corename")) s += ", kernel " + std::string(core());
    write_string(s, buf, cap, needed);
  });
}
ct_status ct_cuda_is_available(bool *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = at::hasCUDA(); });
}
ct_status ct_cuda_device_count(int *out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    *out = at::hasCUDA() ? static_cast<int>(torch::cuda::device_count()) : 0;
  });
}
ct_status ct_set_num_threads(int n) {
  return boundary(__func__, [&] {
    require(n > 0, "thread count must be positive");
    at::set_num_threads(n);
  });
}
ct_status ct_get_num_threads(int *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = at::get_num_threads(); });
}
ct_status ct_set_blas_threads(int n) {
  return boundary(__func__, [&] {
    require(n > 0, "thread count must be positive");
    auto f = blas_symbol<set_threads_fn>("openblas_set_num_threads");
    require(f != nullptr, "the BLAS in use is not OpenBLAS; its thread count cannot be set here");
    f(n);
  });
}
ct_status ct_get_blas_threads(int *out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    auto f = blas_symbol<get_threads_fn>("openblas_get_num_threads");
    require(f != nullptr, "the BLAS in use is not OpenBLAS");
    *out = f();
  });
}
ct_status ct_manual_seed(uint64_t seed) {
  return boundary(__func__, [&] {
    {
      auto g = at::globalContext().defaultGenerator(at::kCPU);
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    if (at::hasCUDA()) {
      int n = static_cast<int>(torch::cuda::device_count());
      for (int i = 0; i < n; ++i) {
        auto g = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_current_seed(seed);
      }
    }
  });
}

}  // extern "C"

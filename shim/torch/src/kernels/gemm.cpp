// Matrix products: linear layers (y = x @ W^T + b) and batched matmuls (attention's q @ k^T and
// p @ v), through oneDNN's sgemm for fp32 CPU tensors.
//
// Why: libtorch reaches BLAS through libblas.so.3, and OpenBLAS's run-time detection picks its
// SSE3 "Prescott" kernels on CPUs it does not recognise (virtual machines that report a
// generic "Intel Xeon Processor"), 5-6x below what the CPU can do. oneDNN, which this libtorch
// already links, JIT-compiles its sgemm for the ISA the CPU reports (AVX2, AVX-512), so routing
// the model's products through it is the difference between 35 and 200+ GFLOP/s on the
// training shapes, and 23 vs 170 GFLOP/s on attention's 64 x (256x64 @ 64x256) batches
// (evaluation/bench_llama.py, README). ATen's own oneDNN path (mkldnn_linear) works on
// oneDNN-layout tensors only and its backward rejects dense parameters, hence the two small
// autograd functions below: forward and backward products are plain row-major sgemm calls on
// the tensors' own memory (transposed views are passed as transposed operands, not copied).
//
// Everything else (CUDA tensors, other dtypes, broadcasting matmuls, CT_GEMM_ATEN) goes to
// at::linear / at::matmul unchanged.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>
#ifdef CT_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

#include <algorithm>
#include <atomic>
#include <string>

#include "../internal.h"
#include "parallel.h"  // the OpenMP calls (libgomp, which libtorch and oneDNN share)

using namespace ct;

namespace {

#ifdef CT_WITH_ONEDNN
std::atomic<int> g_backend{CT_GEMM_ONEDNN};
#else
std::atomic<int> g_backend{CT_GEMM_ATEN};  // built without oneDNN's headers: ATen only
#endif
std::atomic<int> g_threads{0};  // 0: the calling thread's OpenMP setting

// C[M,N] = op(A) @ op(B), row-major, with the configured thread count. oneDNN's OpenMP runtime
// takes its team size from the calling thread's setting, which torch's intra-op threads set
// (1 by default): set it for the call and restore it, also when the call throws.
void sgemm(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
           const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  int want = g_threads.load(std::memory_order_relaxed), have = omp_get_max_threads();
  struct Restore {
    int have;
    bool set;
    ~Restore() { if (set) omp_set_num_threads(have); }
  } restore{have, want > 0 && want != have};
  if (restore.set) omp_set_num_threads(want);
  sgemm_here(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}


// One operand of a batched product: [batch, rows, cols] as sgemm sees it (op 'N' or 'T' with a
// leading dimension), made contiguous only when its strides fit neither.
struct Operand {
  at::Tensor keep;  // owns the memory
  char op;
  int64_t ld, batch_stride;

  explicit Operand(const at::Tensor &t3) {  // t3: [batch, rows, cols]
    int64_t rows = t3.size(1), cols = t3.size(2);
    if (t3.stride(2) == 1 && t3.stride(1) >= std::max<int64_t>(cols, 1)) {
      keep = t3, op = 'N', ld = t3.stride(1);
    } else if (t3.stride(1) == 1 && t3.stride(2) >= std::max<int64_t>(rows, 1)) {
      keep = t3, op = 'T', ld = t3.stride(2);
    } else {
      keep = t3.contiguous(), op = 'N', ld = cols;
    }
    batch_stride = keep.size(0) > 1 ? keep.stride(0) : 0;
  }
  const float *at(int64_t b) const { return keep.data_ptr<float>() + b * batch_stride; }
};


}  // namespace

namespace ct {

bool onednn_on() { return g_backend.load(std::memory_order_relaxed) == CT_GEMM_ONEDNN; }
bool cpu_float(const at::Tensor &t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.numel() > 0; }
bool tracked(std::initializer_list<at::Tensor> ts) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto &t : ts)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void sgemm_here(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
#ifdef CT_WITH_ONEDNN
  dnnl_status_t st = dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success) throw std::runtime_error("oneDNN sgemm failed with status " + std::to_string(static_cast<int>(st)));
#else
  throw std::logic_error("sgemm called in a build without oneDNN");
#endif
}

at::Tensor batched_product(const at::Tensor &a3, const at::Tensor &b3, float alpha, const at::Tensor &accumulate) {
  Operand A(a3), B(b3);
  int64_t n = std::max(a3.size(0), b3.size(0)), M = a3.size(1), K = a3.size(2), N = b3.size(2);
  at::Tensor C = accumulate.defined() ? accumulate : at::empty({n, M, N}, a3.options().memory_format(at::MemoryFormat::Contiguous));
  require(C.is_contiguous() && C.dim() == 3 && C.size(0) == n && C.size(1) == M && C.size(2) == N,
          "batched_product: accumulator has the wrong shape or layout");
  float *c = C.data_ptr<float>();
  float beta = accumulate.defined() ? 1.0f : 0.0f;
  for (int64_t i = 0; i < n; ++i) sgemm(A.op, B.op, M, N, K, alpha, A.at(i), A.ld, B.at(i), B.ld, beta, c + i * M * N, N);
  return C;
}

}  // namespace ct

namespace {

// x [..., K] @ w[N, K]^T -> [..., N]
at::Tensor forward_product(const at::Tensor &x, const at::Tensor &w) {
  auto y = batched_product(x.reshape({1, -1, x.size(-1)}), w.t().unsqueeze(0));
  auto shape = x.sizes().vec();
  shape.back() = w.size(0);
  return y.view(shape);
}

struct OneDNNLinear : torch::autograd::Function<OneDNNLinear> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &w) {
    ctx->save_for_backward({x, w});
    return forward_product(x, w);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1];
    auto gy = grads[0].reshape({1, -1, w.size(0)});  // [1, M, N]
    at::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) gx = batched_product(gy, w.unsqueeze(0)).view(x.sizes());  // gy @ w
    if (ctx->needs_input_grad(1)) {
      auto x3 = x.reshape({1, -1, w.size(1)});
      if (w.size(0) >= 4 * w.size(1)) {
        // A tall weight (the LM head, [vocab, dim]): oneDNN runs gy^T @ x at [2048 x 256, inner
        // 4096] at ~150 GFLOP/s against ~220 for x^T @ gy = gw^T; the transposing copy is cheap.
        gw = batched_product(x3.transpose(1, 2), gy).view({w.size(1), w.size(0)}).t().contiguous();
      } else {
        gw = batched_product(gy.transpose(1, 2), x3).view(w.sizes());  // gy^T @ x
      }
    }
    return {gx, gw};
  }
};

// Batched matmul with equal batch shapes: a [..., M, K] @ b [..., K, N].
at::Tensor matmul_product(const at::Tensor &a, const at::Tensor &b) {
  auto batch = a.sizes().slice(0, a.dim() - 2).vec();
  auto c = batched_product(a.reshape({-1, a.size(-2), a.size(-1)}), b.reshape({-1, b.size(-2), b.size(-1)}));
  batch.push_back(a.size(-2));
  batch.push_back(b.size(-1));
  return c.view(batch);
}

struct OneDNNMatmul : torch::autograd::Function<OneDNNMatmul> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &a, const at::Tensor &b) {
    ctx->save_for_backward({a, b});
    return matmul_product(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &a = saved[0], &b = saved[1];
    const auto &gc = grads[0];
    at::Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = matmul_product(gc, b.transpose(-2, -1));  // gc @ b^T
    if (ctx->needs_input_grad(1)) gb = matmul_product(a.transpose(-2, -1), gc);  // a^T @ gc
    return {ga, gb};
  }
};

}  // namespace

extern "C" {

ct_status ct_linear(const ct_tensor *x, const ct_tensor *weight, const ct_tensor *bias, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &xt = T(x), &wt = T(weight);
    c10::optional<at::Tensor> b;
    if (bias) b = T(bias);
    bool ok = onednn_on() && cpu_float(xt) && cpu_float(wt) && wt.dim() == 2 && xt.dim() >= 1 &&
              xt.size(-1) == wt.size(1);
    if (!ok) {
      *out = wrap(at::linear(xt, wt, b));
      return;
    }
    at::Tensor y = tracked({xt, wt}) ? OneDNNLinear::apply(xt, wt) : forward_product(xt, wt);
    if (b) y = y + *b;
    *out = wrap(std::move(y));
  });
}

ct_status ct_matmul(const ct_tensor *a, const ct_tensor *b, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &at_ = T(a), &bt = T(b);
    // Same batch shape, no broadcasting: the attention products. Anything else goes to ATen.
    bool ok = onednn_on() && cpu_float(at_) && cpu_float(bt) && at_.dim() >= 2 && at_.dim() == bt.dim() &&
              at_.size(-1) == bt.size(-2) && at_.sizes().slice(0, at_.dim() - 2) == bt.sizes().slice(0, bt.dim() - 2);
    if (!ok) {
      *out = wrap(at::matmul(at_, bt));
      return;
    }
    *out = wrap(tracked({at_, bt}) ? OneDNNMatmul::apply(at_, bt) : matmul_product(at_, bt));
  });
}

ct_status ct_set_gemm_backend(ct_gemm_backend backend) {
  return boundary(__func__, [&] {
    require(backend == CT_GEMM_ATEN || backend == CT_GEMM_ONEDNN, "unknown gemm backend");
#ifndef CT_WITH_ONEDNN
    require(backend == CT_GEMM_ATEN, "this build of the shim has no oneDNN (install libdnnl-dev and rebuild)");
#endif
    g_backend.store(backend);
  });
}
ct_status ct_get_gemm_backend(ct_gemm_backend *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = static_cast<ct_gemm_backend>(g_backend.load()); });
}
ct_status ct_has_onednn(bool *out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
#ifdef CT_WITH_ONEDNN
    *out = true;
#else
    *out = false;
#endif
  });
}
ct_status ct_set_gemm_threads(int n) {
  return boundary(__func__, [&] {
    require(n >= 0, "thread count must be 0 (inherit) or positive");
    g_threads.store(n);
  });
}
ct_status ct_gemm_info(char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&] {
#ifdef CT_WITH_ONEDNN
    const dnnl_version_t *v = dnnl_version();
    std::string isa;
    switch (dnnl_get_effective_cpu_isa()) {
      case dnnl_cpu_isa_sse41: isa = "sse41"; break;
      case dnnl_cpu_isa_avx: isa = "avx"; break;
      case dnnl_cpu_isa_avx2: isa = "avx2"; break;
      case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
      case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
      case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
      case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
      case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
      default: isa = "isa " + std::to_string(static_cast<int>(dnnl_get_effective_cpu_isa())); break;
    }
    int t = g_threads.load();
    std::string s = std::string(g_backend.load() == CT_GEMM_ONEDNN ? "oneDNN" : "ATen (BLAS)") + "; oneDNN " +
                    std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
                    " (" + isa + "), " + (t > 0 ? std::to_string(t) : std::string("inherited")) + " threads";
#else
    std::string s = "ATen (BLAS); this build has no oneDNN (install libdnnl-dev and rebuild)";
#endif
    write_string(s, buf, cap, needed);
  });
}

}  // extern "C"

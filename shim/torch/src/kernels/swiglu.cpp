// SwiGLU's product, silu(gate) * up, as one op with a closed-form backward.
//
// Why: composed, it is three passes forward (sigmoid inside silu, silu, product) and autograd
// replays a product backward and a silu backward (five more passes, two temporaries) over
// [tokens, ffn] activations, the widest of the layer. Here forward is one pass and backward one
// pass writing both gradients, row by row on the OpenMP team (parallel.h, row_kernels.h).
// fp32 CPU tensors only; others take at::silu(gate) * up.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "../internal.h"
#include "parallel.h"
#include "row_kernels.h"

using namespace ct;

namespace {

at::Tensor forward_rows(const at::Tensor &g, const at::Tensor &u) {
  RowView G(g), U(u);
  auto h = at::empty(g.sizes(), g.options().memory_format(at::MemoryFormat::Contiguous));
  float *hp = h.data_ptr<float>();
  parallel_for(G.rows, rows_per_thread(G.n), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) rows::swiglu(G.row(i), U.row(i), hp + i * G.n, G.n);
  });
  return h;
}

struct SwiGLU : torch::autograd::Function<SwiGLU> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &g, const at::Tensor &u) {
    ctx->save_for_backward({g, u});
    return forward_rows(g, u);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &g = saved[0], &u = saved[1];
    RowView G(g), U(u), DH(grads[0]);
    auto opts = g.options().memory_format(at::MemoryFormat::Contiguous);
    auto dg = at::empty(g.sizes(), opts), du = at::empty(u.sizes(), opts);
    float *dgp = dg.data_ptr<float>(), *dup = du.data_ptr<float>();
    parallel_for(G.rows, rows_per_thread(G.n), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        rows::swiglu_backward(G.row(i), U.row(i), DH.row(i), dgp + i * G.n, dup + i * G.n, G.n);
    });
    return {dg, du};
  }
};

}  // namespace

extern "C" {

ct_status ct_swiglu(const ct_tensor *gate, const ct_tensor *up, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &g = T(gate), &u = T(up);
    require(g.sizes() == u.sizes(), "swiglu: gate and up must have the same shape");
    if (!(cpu_float(g) && cpu_float(u))) {
      *out = wrap(at::silu(g) * u);
    } else {
      *out = wrap(tracked({g, u}) ? SwiGLU::apply(g, u) : forward_rows(g, u));
    }
  });
}

}  // extern "C"

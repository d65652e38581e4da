// Scaled dot-product attention: softmax(q @ k^T * scale + mask) @ v, as one op with its own
// backward.
//
// Why one op: composed from ATen ops, the [B, H, T, S] scores pass through memory five times
// forward (product, scale, mask, softmax, product) and more backward, and on a CPU these
// memory-bound passes cost about as much as the products. Here the mask is copied into the
// score buffer and the product is accumulated onto it with the scale folded in (one sgemm with
// alpha = scale, beta = 1), then one softmax; backward is two products for dp and dv, one
// softmax backward, and two products (alpha = scale) for dq and dk. The products go through
// oneDNN (gemm.cpp). Tensors it cannot serve (CUDA, half types, CT_GEMM_ATEN) take the composed
// ATen path, with the softmax in float32 for half types.
#include <torch/csrc/autograd/custom_function.h>

#include <limits>

#include "internal.h"

using namespace ct;

namespace {

// q [B, H, T, D] -> [B*H, T, D] (a view where the strides allow).
at::Tensor heads_flat(const at::Tensor &t) { return t.reshape({-1, t.size(-2), t.size(-1)}); }

at::Tensor composed(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask, double scale) {
  auto scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (mask.defined()) scores = scores + mask;
  bool half = q.scalar_type() == at::kHalf || q.scalar_type() == at::kBFloat16;
  auto p = half ? at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type()) : at::softmax(scores, -1);
  return at::matmul(p, v);
}

struct Attention : torch::autograd::Function<Attention> {
  // Returns (y, p): p (the attention weights) is kept for backward.
  static std::pair<at::Tensor, at::Tensor> run(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
                                               const at::Tensor &mask, double scale) {
    int64_t B = q.size(0), H = q.size(1), T = q.size(2), S = k.size(2);
    at::Tensor scores;
    if (mask.defined()) {
      scores = at::empty({B, H, T, S}, q.options());
      scores.copy_(mask.expand({B, H, T, S}));
      batched_product(heads_flat(q), heads_flat(k).transpose(1, 2), static_cast<float>(scale), scores.view({-1, T, S}));
    } else {
      scores = batched_product(heads_flat(q), heads_flat(k).transpose(1, 2), static_cast<float>(scale)).view({B, H, T, S});
    }
    auto p = at::_softmax(scores, -1, false);
    auto y = batched_product(p.view({-1, T, S}), heads_flat(v)).view({B, H, T, v.size(-1)});
    return {y, p};
  }

  // The mask travels as an optional, a non-differentiable argument: autograd's argument
  // handling rejects an undefined at::Tensor.
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &q, const at::Tensor &k,
                            const at::Tensor &v, const c10::optional<at::Tensor> &mask, double scale) {
    auto [y, p] = run(q, k, v, mask.value_or(at::Tensor()), scale);
    ctx->save_for_backward({q, k, v, p});
    ctx->saved_data["scale"] = scale;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &p = saved[3];
    float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    int64_t T = q.size(2), S = k.size(2);
    auto dy = heads_flat(grads[0]);                                   // [BH, T, Dv]
    auto p3 = p.view({-1, T, S});
    auto dp = batched_product(dy, heads_flat(v).transpose(1, 2));     // dy @ v^T
    auto ds = at::_softmax_backward_data(dp, p3, -1, at::kFloat);     // through the softmax
    at::Tensor dq, dk, dv;
    if (ctx->needs_input_grad(0)) dq = batched_product(ds, heads_flat(k), scale).view(q.sizes());
    if (ctx->needs_input_grad(1)) dk = batched_product(ds.transpose(1, 2), heads_flat(q), scale).view(k.sizes());
    if (ctx->needs_input_grad(2)) dv = batched_product(p3.transpose(1, 2), dy).view(v.sizes());
    return {dq, dk, dv, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

CT_API(ct_attention, (const ct_tensor *q, const ct_tensor *k, const ct_tensor *v, const ct_tensor *mask,
                      double scale, ct_tensor **out)) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &qt = T(q), &kt = T(k), &vt = T(v);
    at::Tensor mt = mask ? T(mask) : at::Tensor();
    require(qt.dim() == 4 && kt.dim() == 4 && vt.dim() == 4, "attention: q, k and v must be [B, H, T, D]");
    require(kt.sizes().slice(0, 2) == qt.sizes().slice(0, 2) && vt.sizes().slice(0, 3) == kt.sizes().slice(0, 3),
            "attention: q [B, H, T, D], k [B, H, S, D] and v [B, H, S, Dv] disagree on B, H or S");
    require(kt.size(3) == qt.size(3), "attention: q and k have different head sizes");
    require(!mt.defined() || mt.dim() == 4, "attention: the mask must be 4-D, broadcastable to [B, H, T, S]");
    bool fast = onednn_on() && cpu_float(qt) && cpu_float(kt) && cpu_float(vt) &&
                (!mt.defined() || (mt.scalar_type() == at::kFloat && mt.device().is_cpu()));
    if (!fast) {
      *out = wrap(composed(qt, kt, vt, mt, scale));
      return;
    }
    if (mt.defined()) {
      // expand() would accept it too, but say which dimension is wrong rather than failing later.
      const int64_t want[4] = {qt.size(0), qt.size(1), qt.size(2), kt.size(2)};
      for (int d = 0; d < 4; ++d)
        require(mt.size(d) == 1 || mt.size(d) == want[d], "attention: the mask does not broadcast to [B, H, T, S]");
    }
    if (tracked({qt, kt, vt})) {
      *out = wrap(Attention::apply(qt, kt, vt, mt.defined() ? c10::optional<at::Tensor>(mt) : c10::nullopt, scale));
    } else {
      *out = wrap(Attention::run(qt, kt, vt, mt, scale).first);
    }
  });
}

}  // extern "C"

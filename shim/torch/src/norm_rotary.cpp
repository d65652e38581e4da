// RMSNorm and rotary embeddings as single ops with hand-written backward passes.
//
// Why: both are memory-bound. Composed from ATen ops, autograd records every intermediate
// (RMSNorm: square, mean, add, rsqrt, two products; rotary: two narrows, a negation, a cat, two
// products, a sum) and replays each backward, so a [tokens, dim] activation crosses memory a
// dozen times per layer. Here the forward makes the few passes the formula needs and backward
// uses the closed forms below. Both work on any device and dtype (ATen ops throughout); half
// types compute RMSNorm in float32 like HF's LlamaRMSNorm.
#include <torch/csrc/autograd/custom_function.h>

#include "internal.h"

using namespace ct;

namespace {

bool is_half(const at::Tensor &t) { return t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16; }

// y = w * (x * rstd), rstd = 1 / sqrt(mean(x^2) + eps) over the last dimension; HF's order of
// operations (normalise in float32, cast back, then scale by the weight).
struct RMSNorm : torch::autograd::Function<RMSNorm> {
  static std::pair<at::Tensor, at::Tensor> run(const at::Tensor &x, const at::Tensor &w, double eps) {
    auto xf = is_half(x) ? x.to(at::kFloat) : x;
    auto rstd = at::rsqrt(xf.square().mean(-1, true).add_(eps));
    auto n = xf * rstd;
    if (is_half(x)) n = n.to(x.scalar_type());
    return {n.mul_(w), rstd};
  }

  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &w,
                            double eps) {
    auto [y, rstd] = run(x, w, eps);
    ctx->save_for_backward({x, w, rstd});
    return y;
  }

  // With xhat = x * rstd and gh = g * w:  dx = rstd * (gh - xhat * mean(gh * xhat)),
  // dw = sum over rows of g * xhat.
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &rstd = saved[2];
    auto g = is_half(x) ? grads[0].to(at::kFloat) : grads[0];
    auto xhat = (is_half(x) ? x.to(at::kFloat) : x) * rstd;
    at::Tensor dx, dw;
    if (ctx->needs_input_grad(1)) {
      dw = (g * xhat).reshape({-1, w.numel()}).sum(0).to(w.scalar_type());
    }
    if (ctx->needs_input_grad(0)) {
      auto gh = g * (is_half(w) ? w.to(at::kFloat) : w);
      auto dot = (gh * xhat).mean(-1, true);
      dx = gh.sub_(xhat.mul_(dot)).mul_(rstd).to(x.scalar_type());
    }
    return {dx, dw, at::Tensor()};
  }
};

// HF's rotate-half rotation of x [B, H, T, D] by angles with cos, sin [B or 1, 1, T, D/2]:
// y1 = x1 c - x2 s, y2 = x2 c + x1 s for the halves x1, x2 of the last dimension. The output is
// a new contiguous [B, H, T, D] whatever x's layout (the model's q and k are transposed views),
// so the attention that reads it next needs no copy. Its backward is the inverse rotation.
struct Rotary : torch::autograd::Function<Rotary> {
  static at::Tensor rotate(const at::Tensor &x, const at::Tensor &c, const at::Tensor &s, bool inverse) {
    int64_t h = x.size(-1) / 2;
    auto x1 = x.narrow(-1, 0, h), x2 = x.narrow(-1, h, h);
    auto y = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
    auto y1 = y.narrow(-1, 0, h), y2 = y.narrow(-1, h, h);
    double sign = inverse ? 1.0 : -1.0;  // inverse: y1 = x1 c + x2 s, y2 = x2 c - x1 s
    at::mul_out(y1, x1, c).addcmul_(x2, s, sign);
    at::mul_out(y2, x2, c).addcmul_(x1, s, -sign);
    return y;
  }

  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &c,
                            const at::Tensor &s) {
    ctx->save_for_backward({c, s});
    return rotate(x, c, s, false);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    return {rotate(grads[0], saved[0], saved[1], true), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

CT_API(ct_rms_norm, (const ct_tensor *x, const ct_tensor *weight, double eps, ct_tensor **out)) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &xt = T(x), &wt = T(weight);
    require(wt.dim() == 1 && xt.dim() >= 1 && xt.size(-1) == wt.size(0),
            "rms_norm: the weight must be 1-D with the size of x's last dimension");
    *out = wrap(tracked({xt, wt}) ? RMSNorm::apply(xt, wt, eps) : RMSNorm::run(xt, wt, eps).first);
  });
}

CT_API(ct_rotary, (const ct_tensor *x, const ct_tensor *cos, const ct_tensor *sin, ct_tensor **out)) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &xt = T(x), &ct_ = T(cos), &st = T(sin);
    require(xt.dim() == 4 && xt.size(-1) % 2 == 0, "rotary: x must be [B, H, T, D] with an even D");
    require(ct_.dim() == 4 && st.sizes() == ct_.sizes() && ct_.size(-1) == xt.size(-1) / 2 &&
                ct_.size(-2) == xt.size(-2) && ct_.size(1) == 1 && (ct_.size(0) == 1 || ct_.size(0) == xt.size(0)),
            "rotary: cos and sin must both be [B or 1, 1, T, D/2] for x [B, H, T, D]");
    *out = wrap(tracked({xt}) ? Rotary::apply(xt, ct_, st) : Rotary::rotate(xt, ct_, st, false));
  });
}

}  // extern "C"

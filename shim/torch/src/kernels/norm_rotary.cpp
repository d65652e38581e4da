// RMSNorm and rotary embeddings as single ops with hand-written backward passes.
//
// Why: both are memory-bound. Composed from ATen ops, autograd records every intermediate
// (RMSNorm: square, mean, add, rsqrt, two products; rotary: two narrows, a negation, a cat, two
// products, a sum) and replays each backward, so a [tokens, dim] activation crosses memory a
// dozen times per layer. Here the forward makes the few passes the formula needs and backward
// uses the closed forms below. fp32 CPU tensors go row by row through the row kernels on the
// OpenMP team (one pass each way; RMSNorm's weight gradient is summed over fixed chunks of
// rows, in a fixed order, so the result does not depend on the thread count); other devices and
// dtypes use ATen ops with the same formulas, half types computing RMSNorm in float32 like HF's
// LlamaRMSNorm.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "../internal.h"
#include "parallel.h"
#include "row_kernels.h"

using namespace ct;

namespace {

// y = w * (x * rstd), rstd = 1 / sqrt(mean(x^2) + eps) over the last dimension; HF's order of
// operations (normalise in float32, cast back, then scale by the weight).
bool fast(const at::Tensor &x, const at::Tensor &w) { return cpu_float(x) && cpu_float(w); }

// fp32 CPU: y and rstd [rows].
std::pair<at::Tensor, at::Tensor> rms_rows(const at::Tensor &x, const at::Tensor &w, double eps) {
  RowView X(x);
  auto wc = w.contiguous();
  auto y = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  auto rstd = at::empty({X.rows}, x.options());
  const float *wp = wc.data_ptr<float>();
  float *yp = y.data_ptr<float>(), *rp = rstd.data_ptr<float>();
  parallel_for(X.rows, rows_per_thread(X.n), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) rp[i] = rows::rms_norm(X.row(i), wp, yp + i * X.n, X.n, static_cast<float>(eps));
  });
  return {y, rstd};
}

std::pair<at::Tensor, at::Tensor> rms_rows_backward(const at::Tensor &x, const at::Tensor &w, const at::Tensor &rstd,
                                                    const at::Tensor &g, bool want_dx, bool want_dw) {
  RowView X(x), G(g);
  auto wc = w.contiguous();
  const int64_t chunks = std::min<int64_t>(16, X.rows), per = (X.rows + chunks - 1) / chunks;
  at::Tensor dx = want_dx ? at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous)) : at::Tensor();
  at::Tensor partial = want_dw ? at::zeros({chunks, X.n}, x.options()) : at::Tensor();
  const float *wp = wc.data_ptr<float>(), *rp = rstd.data_ptr<float>();
  float *dxp = want_dx ? dx.data_ptr<float>() : nullptr, *pp = want_dw ? partial.data_ptr<float>() : nullptr;
  parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c)
      for (int64_t i = c * per; i < std::min(X.rows, (c + 1) * per); ++i)
        rows::rms_norm_backward(X.row(i), wp, G.row(i), rp[i], dxp ? dxp + i * X.n : nullptr, pp ? pp + c * X.n : nullptr, X.n);
  });
  return {dx, want_dw ? partial.sum(0) : at::Tensor()};
}

struct RMSNorm : torch::autograd::Function<RMSNorm> {
  static std::pair<at::Tensor, at::Tensor> run(const at::Tensor &x, const at::Tensor &w, double eps) {
    if (fast(x, w)) return rms_rows(x, w, eps);
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
    if (fast(x, w)) {
      auto [dx, dw] = rms_rows_backward(x, w, rstd, grads[0], ctx->needs_input_grad(0), ctx->needs_input_grad(1));
      return {dx, dw, at::Tensor()};
    }
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
    if (cpu_float(x) && cpu_float(c) && cpu_float(s)) {
      auto y = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
      rotate_rows(x, c, s, inverse, y);
      return y;
    }
    int64_t h = x.size(-1) / 2;
    auto x1 = x.narrow(-1, 0, h), x2 = x.narrow(-1, h, h);
    auto y = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
    auto y1 = y.narrow(-1, 0, h), y2 = y.narrow(-1, h, h);
    double sign = inverse ? 1.0 : -1.0;  // inverse: y1 = x1 c + x2 s, y2 = x2 c - x1 s
    at::mul_out(y1, x1, c).addcmul_(x2, s, sign);
    at::mul_out(y2, x2, c).addcmul_(x1, s, -sign);
    return y;
  }

  // fp32 CPU: y [B, H, T, D] (any layout with a contiguous last dimension) from x's rows.
  static void rotate_rows(const at::Tensor &x0, const at::Tensor &c0, const at::Tensor &s0, bool inverse, at::Tensor &y) {
    auto x = x0.stride(3) == 1 ? x0 : x0.contiguous();
    auto c = c0.contiguous(), s = s0.contiguous();
    int64_t B = x.size(0), H = x.size(1), T = x.size(2), h = x.size(3) / 2;
    const float *xp = x.data_ptr<float>(), *cp = c.data_ptr<float>(), *sp = s.data_ptr<float>();
    float *yp = y.data_ptr<float>();
    bool per_batch = c.size(0) > 1;
    parallel_for(B * H * T, rows_per_thread(2 * h), [&](int64_t b0, int64_t e0) {
      for (int64_t r = b0; r < e0; ++r) {
        int64_t b = r / (H * T), hh = (r / T) % H, t = r % T;
        int64_t angle = ((per_batch ? b : 0) * T + t) * h;
        rows::rotary(xp + b * x.stride(0) + hh * x.stride(1) + t * x.stride(2), cp + angle, sp + angle,
                     yp + b * y.stride(0) + hh * y.stride(1) + t * y.stride(2), h, inverse ? -1.0f : 1.0f);
      }
    });
  }

  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &c,
                            const at::Tensor &s) {
    ctx->save_for_backward({c, s});
    // The gradient goes back in x's layout where x is the model's transposed view of a
    // [B, T, H, D] projection, so the projection's backward reads it without a copy.
    ctx->saved_data["bthd"] = x.transpose(1, 2).is_contiguous();
    return rotate(x, c, s, false);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &g = grads[0], &c = saved[0], &s = saved[1];
    if (cpu_float(g) && cpu_float(c) && cpu_float(s)) {
      auto opts = g.options().memory_format(at::MemoryFormat::Contiguous);
      auto dx = ctx->saved_data["bthd"].toBool()
                    ? at::empty({g.size(0), g.size(2), g.size(1), g.size(3)}, opts).transpose(1, 2)
                    : at::empty(g.sizes(), opts);
      rotate_rows(g, c, s, true, dx);
      return {dx, at::Tensor(), at::Tensor()};
    }
    return {rotate(g, c, s, true), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

ct_status ct_rms_norm(const ct_tensor *x, const ct_tensor *weight, double eps, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &xt = T(x), &wt = T(weight);
    require(wt.dim() == 1 && xt.dim() >= 1 && xt.size(-1) == wt.size(0),
            "rms_norm: the weight must be 1-D with the size of x's last dimension");
    *out = wrap(tracked({xt, wt}) ? RMSNorm::apply(xt, wt, eps) : RMSNorm::run(xt, wt, eps).first);
  });
}

ct_status ct_rotary(const ct_tensor *x, const ct_tensor *cos, const ct_tensor *sin, ct_tensor **out) {
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

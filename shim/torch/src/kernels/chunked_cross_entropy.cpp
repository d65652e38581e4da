// The language-model head and its cross-entropy in one op, over row chunks, so the [N, V] logits
// of a long micro-batch never exist at once (ctorch.h's ct_chunked_cross_entropy).
//
// Why not save and redo: a chunk's gradients are as cheap to take in forward, while its logits
// are at hand, as to recompute them in backward, and they are small: dh is [N, D] and dW
// [V, D], against [N, V] logits (V is 30k to 150k, D a few thousand). So forward computes each
// chunk's logits (float32 for the softmax; half types' products accumulate in float32 inside
// the GEMM), its summed loss and, where hidden or weight require grad, (softmax - onehot) pushed
// through both products; backward only scales the kept gradients by the incoming scalar. Pure
// ATen ops: CPU and CUDA, float32 and bfloat16 alike.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "../internal.h"

using namespace ct;

namespace {

struct Result {
  at::Tensor loss;  // float32 scalar: the summed loss
  at::Tensor dh;    // [N, D] in hidden's dtype, or undefined
  at::Tensor dw;    // [V, D] float32, or undefined
};

Result chunked(const at::Tensor &h, const at::Tensor &w, const at::Tensor &t, int64_t ignore, int64_t chunk, bool want_dh,
               bool want_dw) {
  int64_t N = h.size(0), V = w.size(0);
  auto bad = t.ne(ignore).logical_and(t.lt(0).logical_or(t.ge(V)));
  if (bad.any().item<bool>()) {
    int64_t row = bad.nonzero()[0][0].item<int64_t>();
    throw InvalidArgument("chunked_cross_entropy: target " + std::to_string(t[row].item<int64_t>()) + " at row " +
                          std::to_string(row) + " is out of bounds for " + std::to_string(V) + " classes");
  }
  Result r;
  auto total = at::zeros({}, h.options().dtype(at::kDouble));
  if (want_dh) r.dh = at::empty({N, h.size(1)}, h.options().memory_format(at::MemoryFormat::Contiguous));
  if (want_dw) r.dw = at::zeros(w.sizes(), w.options().dtype(at::kFloat));
  for (int64_t r0 = 0; r0 < N; r0 += chunk) {
    int64_t m = std::min(chunk, N - r0);
    auto hc = h.narrow(0, r0, m), tc = t.narrow(0, r0, m);
    auto logits = at::linear(hc, w).to(at::kFloat);  // [m, V]
    auto keep = tc.ne(ignore);
    auto index = tc.masked_fill(keep.logical_not(), 0).unsqueeze(1);
    auto lse = at::logsumexp(logits, {1}, true);
    auto rows = (lse.squeeze(1) - logits.gather(1, index).squeeze(1)).masked_fill(keep.logical_not(), 0);
    total.add_(rows.sum(at::kDouble));
    if (!want_dh && !want_dw) continue;
    // d(loss)/d(logits) = softmax - onehot on kept rows, 0 on ignored ones; in place over the logits.
    auto keepf = keep.to(at::kFloat).unsqueeze(1);
    auto g = logits.sub_(lse).exp_();
    g.scatter_add_(1, index, keepf.neg());
    g.mul_(keepf);
    auto gd = g.scalar_type() == h.scalar_type() ? g : g.to(h.scalar_type());
    if (want_dh) r.dh.narrow(0, r0, m).copy_(at::mm(gd, w));
    // The head's gradient accumulates in float32 from the float32 g (a half-type product per
    // chunk would round each chunk's share before the sum).
    if (want_dw) r.dw.addmm_(g.t(), hc.scalar_type() == at::kFloat ? hc : hc.to(at::kFloat));
  }
  r.loss = total.to(at::kFloat);
  return r;
}

struct ChunkedCrossEntropy : torch::autograd::Function<ChunkedCrossEntropy> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &h, const at::Tensor &w,
                            const at::Tensor &t, int64_t ignore, int64_t chunk) {
    auto r = chunked(h, w, t, ignore, chunk, h.requires_grad(), w.requires_grad());
    ctx->save_for_backward({r.dh, r.dw});
    ctx->saved_data["weight_dtype"] = static_cast<int64_t>(w.scalar_type());
    return r.loss;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &g = grads[0];
    auto wdtype = static_cast<at::ScalarType>(ctx->saved_data["weight_dtype"].toInt());
    at::Tensor dh = saved[0].defined() ? saved[0] * g.to(saved[0].scalar_type()) : at::Tensor();
    at::Tensor dw = saved[1].defined() ? (saved[1] * g.to(at::kFloat)).to(wdtype) : at::Tensor();
    return {dh, dw, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

ct_status ct_chunked_cross_entropy(const ct_tensor *hidden, const ct_tensor *weight, const ct_tensor *targets,
                                   int64_t ignore_index, int64_t chunk_rows, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &h = T(hidden), &w = T(weight), &t = T(targets);
    require(h.dim() == 2 && w.dim() == 2 && h.size(1) == w.size(1), "chunked_cross_entropy: hidden must be [N, D] and weight [V, D]");
    require(t.dim() == 1 && t.size(0) == h.size(0), "chunked_cross_entropy: targets must be [N] for hidden [N, D]");
    require(t.scalar_type() == at::kLong, "chunked_cross_entropy: targets must be int64");
    require(h.scalar_type() == w.scalar_type(), "chunked_cross_entropy: hidden and weight have different dtypes");
    require(h.device() == w.device() && t.device() == h.device(), "chunked_cross_entropy: hidden, weight and targets are on different devices");
    require(chunk_rows > 0, "chunked_cross_entropy: chunk_rows must be positive");
    if (tracked({h, w}))
      *out = wrap(ChunkedCrossEntropy::apply(h, w, t, ignore_index, chunk_rows));
    else
      *out = wrap(chunked(h, w, t, ignore_index, chunk_rows, false, false).loss);
  });
}

}  // extern "C"

// Cross-entropy over logits [N, C] with int64 targets [N] and an ignore index, as one op.
//
// Why: the language-model head's logits are the largest tensor of a step (tokens x vocabulary),
// and ATen's cross_entropy makes five passes over them: log_softmax forward, and backward a
// zero-filled gradient, the scatter of -1s, and log_softmax's backward, with two [N, C]
// temporaries. Here forward keeps one log-sum-exp per row and backward writes the gradient,
// scale * (softmax - onehot), in one pass, row by row on the OpenMP team. fp32 CPU logits only
// (bf16 and fp16 logits are upcast to fp32 first); anything else goes to at::cross_entropy_loss.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>

#include "../internal.h"
#include "parallel.h"
#include "row_kernels.h"

using namespace ct;

namespace {

struct Forward {
  at::Tensor loss;  // per row, 0 where ignored
  at::Tensor lse;   // per row
  int64_t count;    // rows not ignored
};

Forward forward_rows(const at::Tensor &x, const at::Tensor &t, int64_t ignore) {
  int64_t n = x.size(0), c = x.size(1);
  auto xc = x.stride(1) == 1 ? x : x.contiguous();
  auto tc = t.contiguous();
  const float *xp = xc.data_ptr<float>();
  const int64_t *tp = tc.data_ptr<int64_t>(), ld = n > 1 ? xc.stride(0) : c;
  auto loss = at::empty({n}, x.options()), lse = at::empty({n}, x.options());
  float *lp = loss.data_ptr<float>(), *sp = lse.data_ptr<float>();
  std::atomic<int64_t> bad{-1}, count{0};
  parallel_for(n, rows_per_thread(c, 65536), [&](int64_t b, int64_t e) {
    int64_t mine = 0;
    for (int64_t i = b; i < e; ++i) {
      const float *row = xp + i * ld;
      sp[i] = rows::logsumexp(row, c);
      int64_t ti = tp[i];
      if (ti == ignore) {
        lp[i] = 0;
      } else if (ti < 0 || ti >= c) {
        bad = i;
        lp[i] = 0;
      } else {
        lp[i] = sp[i] - row[ti];
        ++mine;
      }
    }
    count += mine;
  });
  if (bad >= 0)
    throw InvalidArgument("cross_entropy: target " + std::to_string(tp[bad.load()]) + " at row " + std::to_string(bad.load()) +
                          " is out of bounds for " + std::to_string(c) + " classes");
  return {loss, lse, count.load()};
}

at::Tensor reduce(const Forward &f, ct_reduction reduction) {
  if (reduction == CT_REDUCTION_NONE) return f.loss;
  // Summed in double: thousands of rows of O(10) losses.
  double sum = f.loss.sum(at::kDouble).item<double>();
  double v = reduction == CT_REDUCTION_SUM ? sum : sum / static_cast<double>(f.count);  // 0 rows: NaN, as ATen
  return at::scalar_tensor(v, f.loss.options());
}

struct CrossEntropy : torch::autograd::Function<CrossEntropy> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &t,
                            int64_t ignore, int64_t reduction) {
    auto f = forward_rows(x, t, ignore);
    ctx->save_for_backward({x, t, f.lse});
    ctx->saved_data["ignore"] = ignore;
    ctx->saved_data["reduction"] = reduction;
    ctx->saved_data["count"] = f.count;
    return reduce(f, static_cast<ct_reduction>(reduction));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &t = saved[1], &lse = saved[2];
    int64_t ignore = ctx->saved_data["ignore"].toInt(), count = ctx->saved_data["count"].toInt();
    auto reduction = static_cast<ct_reduction>(ctx->saved_data["reduction"].toInt());
    int64_t n = x.size(0), c = x.size(1);
    auto xc = x.stride(1) == 1 ? x : x.contiguous();
    auto g = grads[0].to(at::kFloat).contiguous();
    const float *xp = xc.data_ptr<float>(), *sp = lse.data_ptr<float>(), *gp = g.data_ptr<float>();
    const int64_t *tp = t.contiguous().data_ptr<int64_t>(), ld = n > 1 ? xc.stride(0) : c;
    float mean = reduction == CT_REDUCTION_MEAN ? 1.0f / static_cast<float>(count) : 1.0f;
    auto dx = at::empty({n, c}, x.options().memory_format(at::MemoryFormat::Contiguous));
    float *dp = dx.data_ptr<float>();
    parallel_for(n, rows_per_thread(c, 65536), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        float *d = dp + i * c;
        if (tp[i] == ignore) {
          std::fill(d, d + c, 0.0f);
          continue;
        }
        float scale = (reduction == CT_REDUCTION_NONE ? gp[i] : gp[0]) * mean;
        rows::softmax_scaled(xp + i * ld, sp[i], scale, d, c);
        d[tp[i]] -= scale;
      }
    });
    return {dx, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

ct_status ct_cross_entropy(const ct_tensor *logits, const ct_tensor *targets, int64_t ignore_index,
                           ct_reduction reduction, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(reduction >= CT_REDUCTION_NONE && reduction <= CT_REDUCTION_SUM, "unknown reduction");
    const auto &t = T(targets);
    // Half-type logits are upcast (autograd casts the gradient back): the log-sum-exp and
    // the sum over tokens in float32, as HF's loss does with logits.float().
    const auto &given = T(logits);
    bool half = is_half(given);
    const auto x = half ? given.to(at::kFloat) : given;
    bool fast = cpu_float(x) && x.dim() == 2 && t.dim() == 1 && t.size(0) == x.size(0) && t.scalar_type() == at::kLong &&
                t.device().is_cpu() && x.size(1) > 0;
    if (!fast) {
      // at::Reduction: None=0, Mean=1, Sum=2, the same numbering as ct_reduction.
      *out = wrap(at::cross_entropy_loss(x, t, {}, static_cast<int64_t>(reduction), ignore_index));
    } else if (tracked({x})) {
      *out = wrap(CrossEntropy::apply(x, t, ignore_index, static_cast<int64_t>(reduction)));
    } else {
      *out = wrap(reduce(forward_rows(x, t, ignore_index), reduction));
    }
  });
}

}  // extern "C"

// The optimizer (ctorch.h's "optimizer" section): AdamW over parameter groups with its state
// for checkpoints, and gradient-norm clipping.
#include <ATen/ops/norm.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros_like.h>

#include <cmath>

#include "internal.h"

using namespace ct;

struct ct_adamw {
  struct Param {
    at::Tensor p;
    double weight_decay;
    int64_t step = 0;
    at::Tensor exp_avg, exp_avg_sq;
  };
  ct_adamw_params hp;
  std::vector<Param> params;

  Param &at_index(int i) {
    require(i >= 0 && i < static_cast<int>(params.size()), "parameter index out of range");
    return params[i];
  }
};

extern "C" {

ct_adamw_params ct_adamw_default_params(void) {
  ct_adamw_params p;
  p.lr = 1e-3;
  p.beta1 = 0.9;
  p.beta2 = 0.999;
  p.eps = 1e-8;
  p.weight_decay = 0.01;
  return p;
}

ct_status ct_adamw_new(const ct_adamw_params *params, ct_adamw **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    ct_adamw_params hp = params ? *params : ct_adamw_default_params();
    require(hp.beta1 >= 0 && hp.beta1 < 1 && hp.beta2 >= 0 && hp.beta2 < 1, "betas must lie in [0, 1)");
    require(hp.eps > 0, "eps must be positive");
    *out = new ct_adamw{hp, {}};
  });
}
void ct_adamw_free(ct_adamw *opt) { delete opt; }

ct_status ct_adamw_add_group(ct_adamw *opt, ct_tensor *const *params, int n, double weight_decay) {
  return boundary(__func__, [&] {
    require(opt != nullptr, "optimizer is NULL");
    require(n >= 0 && (n == 0 || params != nullptr), "parameter list is NULL");
    std::vector<ct_adamw::Param> group;
    for (int i = 0; i < n; ++i) {
      const auto &p = T(params[i]);
      require(p.is_floating_point(), "AdamW parameters must be floating point");
      group.push_back({p, weight_decay});
    }
    opt->params.insert(opt->params.end(), group.begin(), group.end());
  });
}

// Follows torch.optim.AdamW (single-tensor path): decoupled decay, then the Adam update with
// bias corrections applied to the step size and to the second moment.
ct_status ct_adamw_step(ct_adamw *opt, double lr) {
  return boundary(__func__, [&] {
    require(opt != nullptr, "optimizer is NULL");
    at::NoGradGuard no_grad;
    const auto &hp = opt->hp;
    for (auto &s : opt->params) {
      const auto &g = s.p.grad();
      if (!g.defined()) continue;
      if (!s.exp_avg.defined()) {
        s.exp_avg = at::zeros_like(s.p, at::MemoryFormat::Preserve);
        s.exp_avg_sq = at::zeros_like(s.p, at::MemoryFormat::Preserve);
      }
      s.step += 1;
      if (s.weight_decay != 0) s.p.mul_(1.0 - lr * s.weight_decay);
      s.exp_avg.mul_(hp.beta1).add_(g, 1.0 - hp.beta1);
      s.exp_avg_sq.mul_(hp.beta2).addcmul_(g, g, 1.0 - hp.beta2);
      double bc1 = 1.0 - std::pow(hp.beta1, static_cast<double>(s.step));
      double bc2 = 1.0 - std::pow(hp.beta2, static_cast<double>(s.step));
      auto denom = s.exp_avg_sq.sqrt().div(std::sqrt(bc2)).add_(hp.eps);
      s.p.addcdiv_(s.exp_avg, denom, -lr / bc1);
    }
  });
}
ct_status ct_adamw_zero_grad(ct_adamw *opt) {
  return boundary(__func__, [&] {
    require(opt != nullptr, "optimizer is NULL");
    for (auto &s : opt->params) s.p.mutable_grad().reset();
  });
}
ct_status ct_adamw_param_count(const ct_adamw *opt, int *out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(opt != nullptr, "optimizer is NULL");
    *out = static_cast<int>(opt->params.size());
  });
}
ct_status ct_adamw_state_bytes(const ct_adamw *opt, int64_t *out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(opt != nullptr, "optimizer is NULL");
    int64_t n = 0;
    for (const auto &s : opt->params)
      if (s.exp_avg.defined()) n += static_cast<int64_t>(s.exp_avg.nbytes() + s.exp_avg_sq.nbytes());
    *out = n;
  });
}
ct_status ct_adamw_get_state(const ct_adamw *opt, int i, int64_t *step, ct_tensor **exp_avg, ct_tensor **exp_avg_sq) {
  return boundary(__func__, [&] {
    CT_OUT(step);
    CT_OUT(exp_avg);
    CT_OUT(exp_avg_sq);
    require(opt != nullptr, "optimizer is NULL");
    auto &s = const_cast<ct_adamw *>(opt)->at_index(i);
    // Shared, not copied: a checkpoint writes them at once, and a copy would double the moments.
    auto m = s.exp_avg.defined() ? wrap(s.exp_avg.detach()) : nullptr;
    auto v = s.exp_avg_sq.defined() ? wrap(s.exp_avg_sq.detach()) : nullptr;
    *step = s.step;
    *exp_avg = m;
    *exp_avg_sq = v;
  });
}
ct_status ct_adamw_set_state(ct_adamw *opt, int i, int64_t step, const ct_tensor *exp_avg, const ct_tensor *exp_avg_sq) {
  return boundary(__func__, [&] {
    require(opt != nullptr, "optimizer is NULL");
    require(step >= 0, "step must be non-negative");
    auto &s = opt->at_index(i);
    const auto &m = T(exp_avg);
    const auto &v = T(exp_avg_sq);
    if (!m.sizes().equals(s.p.sizes()) || !v.sizes().equals(s.p.sizes()))
      throw InvalidArgument("optimizer state shape does not match parameter " + std::to_string(i));
    auto opts = s.p.options().requires_grad(false);
    s.exp_avg = m.detach().to(opts, /*non_blocking=*/false, /*copy=*/true);
    s.exp_avg_sq = v.detach().to(opts, false, true);
    s.step = step;
  });
}

ct_status ct_clip_grad_norm(ct_tensor *const *params, int n, double max_norm, double *total_norm) {
  return boundary(__func__, [&] {
    CT_OUT(total_norm);
    require(n >= 0 && (n == 0 || params != nullptr), "parameter list is NULL");
    require(max_norm > 0, "max_norm must be positive");
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> grads;
    for (int i = 0; i < n; ++i) {
      const auto &g = T(params[i]).grad();
      if (g.defined()) grads.push_back(g);
    }
    if (grads.empty()) {
      *total_norm = 0;
      return;
    }
    std::vector<at::Tensor> norms;
    for (auto &g : grads) norms.push_back(at::norm(g.to(at::kFloat), 2));
    double total = at::norm(at::stack(norms), 2).item<double>();
    double coef = max_norm / (total + 1e-6);
    if (coef < 1.0 && std::isfinite(total))
      for (auto &g : grads) g.mul_(coef);
    *total_norm = total;
  });
}

}  // extern "C"

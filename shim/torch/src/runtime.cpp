// Runtime settings and information, autograd, random generators, AdamW, gradient clipping.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cmath>
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

// ---------------------------------------------------------------- autograd

ct_status ct_set_requires_grad(ct_tensor *t, bool requires_grad) {
  return boundary(__func__, [&] {
    require(t != nullptr, "tensor handle is NULL");
    t->t.set_requires_grad(requires_grad);
  });
}
ct_status ct_requires_grad(const ct_tensor *t, bool *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = T(t).requires_grad(); });
}
ct_status ct_backward(const ct_tensor *t, const ct_tensor *grad) {
  return boundary(__func__, [&] {
    if (grad)
      T(t).backward(T(grad));
    else
      T(t).backward();
  });
}
ct_status ct_grad(const ct_tensor *t, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &g = T(t).grad();
    *out = g.defined() ? wrap(g) : nullptr;
  });
}
ct_status ct_zero_grad(ct_tensor *t) {
  return boundary(__func__, [&] {
    require(t != nullptr, "tensor handle is NULL");
    t->t.mutable_grad().reset();
  });
}
ct_status ct_set_grad_enabled(bool enabled, bool *previous) {
  return boundary(__func__, [&] {
    bool old = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(enabled);
    if (previous) *previous = old;
  });
}
ct_status ct_is_grad_enabled(bool *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = c10::GradMode::is_enabled(); });
}

// ---------------------------------------------------------------- generators

ct_status ct_generator_new(uint64_t seed, const char *dev, ct_generator **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    auto d = device(dev);
    at::Generator g;
    if (d.is_cpu()) {
      g = at::make_generator<at::CPUGeneratorImpl>(seed);
    } else {
      g = at::globalContext().defaultGenerator(d).clone();
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    *out = new ct_generator{std::move(g)};
  });
}
void ct_generator_free(ct_generator *g) { delete g; }
ct_status ct_generator_get_state(const ct_generator *g, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(g != nullptr, "generator is NULL");
    auto gen = g->g;
    std::lock_guard<std::mutex> lock(gen.mutex());
    *out = wrap(gen.get_state());
  });
}
ct_status ct_generator_set_state(ct_generator *g, const ct_tensor *state) {
  return boundary(__func__, [&] {
    require(g != nullptr, "generator is NULL");
    const auto &s = T(state);
    require(s.scalar_type() == at::kByte, "generator state must be a uint8 tensor");
    std::lock_guard<std::mutex> lock(g->g.mutex());
    g->g.set_state(s);
  });
}

// ---------------------------------------------------------------- AdamW

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
      auto denom = (s.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(hp.eps);
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
ct_status ct_adamw_get_state(const ct_adamw *opt, int i, int64_t *step, ct_tensor **exp_avg, ct_tensor **exp_avg_sq) {
  return boundary(__func__, [&] {
    CT_OUT(step);
    CT_OUT(exp_avg);
    CT_OUT(exp_avg_sq);
    require(opt != nullptr, "optimizer is NULL");
    auto &s = const_cast<ct_adamw *>(opt)->at_index(i);
    auto m = s.exp_avg.defined() ? wrap(s.exp_avg.detach().clone()) : nullptr;
    auto v = s.exp_avg_sq.defined() ? wrap(s.exp_avg_sq.detach().clone()) : nullptr;
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

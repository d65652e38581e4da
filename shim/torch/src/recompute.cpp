// Activation checkpointing (ctorch.h's ct_recompute): a caller's function applied as one autograd
// op that keeps only its inputs. libtorch's C++ API has no torch.utils.checkpoint; this is its
// re-entrant variant: forward runs the function without recording a graph; backward runs it
// again with gradients on, over detached copies of the inputs, and back-propagates the incoming
// gradient through that fresh graph with a nested backward (parameters the function captured
// accumulate into their .grad there), returning the inputs' gradients.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include "internal.h"

using namespace ct;

namespace {

// The caller's function and context. The destructor is the one place `release` runs: when the
// last reference goes, i.e. when the op's autograd node dies, or at the end of ct_recompute
// when no node was made (or making it failed).
struct Callback : torch::CustomClassHolder {
  ct_recompute_fn fn;
  void *ctx;
  ct_release_fn release;
  size_t n;  // the caller's inputs (a placeholder input may follow them, see ct_recompute)
  Callback(ct_recompute_fn fn, void *ctx, ct_release_fn release, size_t n) : fn(fn), ctx(ctx), release(release), n(n) {}
  ~Callback() override {
    if (release) release(ctx);
  }

  // Runs the function over the first n tensors. A failing function becomes an exception here,
  // on the thread it ran on (where its message is), never a status lost inside autograd.
  at::Tensor run(const std::vector<at::Tensor> &inputs) const {
    std::vector<ct_tensor> handles;
    handles.reserve(n);
    for (size_t i = 0; i < n; ++i) handles.push_back(ct_tensor{inputs[i]});
    std::vector<ct_tensor *> ptrs;
    for (auto &h : handles) ptrs.push_back(&h);
    ct_tensor *out = nullptr;
    ct_status s = fn(ctx, ptrs.data(), static_cast<int>(n), &out);
    if (s != CT_OK) {
      delete out;
      throw std::runtime_error(std::string("recompute: the function failed: ") + ct_last_error());
    }
    require(out != nullptr, "recompute: the function returned CT_OK without an output");
    at::Tensor r = std::move(out->t);
    delete out;
    require(r.defined(), "recompute: the function returned an undefined tensor");
    return r;
  }
};

struct Recompute : torch::autograd::Function<Recompute> {
  // Function::apply runs this with grad mode off: nothing inside is recorded or kept.
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const c10::intrusive_ptr<Callback> &cb,
                            at::TensorList inputs) {
    ctx->saved_data["callback"] = c10::IValue::make_capsule(cb);
    ctx->save_for_backward(inputs.vec());
    return cb->run(inputs.vec());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto cb = c10::static_intrusive_pointer_cast<Callback>(ctx->saved_data["callback"].toCapsule());
    auto saved = ctx->get_saved_variables();
    std::vector<at::Tensor> leaves;
    for (auto &s : saved) {
      auto d = s.detach();
      d.set_requires_grad(s.requires_grad());
      leaves.push_back(d);
    }
    at::Tensor out;
    {
      at::AutoGradMode on(true);
      out = cb->run(leaves);
    }
    if (out.requires_grad() && grads[0].defined()) torch::autograd::backward({out}, {grads[0]});
    torch::autograd::variable_list result{at::Tensor()};  // the callback argument
    for (size_t i = 0; i < leaves.size(); ++i) result.push_back(i < cb->n && leaves[i].requires_grad() ? leaves[i].grad() : at::Tensor());
    return result;
  }
};

}  // namespace

extern "C" {

ct_status ct_recompute(ct_recompute_fn fn, void *ctx, ct_release_fn release, ct_tensor *const *inputs, int n,
                       ct_tensor **out) {
  return boundary(__func__, [&] {
    // Ownership of ctx passes here first, so that `release` runs exactly once on every path.
    c10::intrusive_ptr<Callback> cb;
    try {
      cb = c10::make_intrusive<Callback>(fn, ctx, release, static_cast<size_t>(n < 0 ? 0 : n));
    } catch (...) {
      if (release) release(ctx);
      throw;
    }
    CT_OUT(out);
    require(fn != nullptr, "recompute: the function is NULL");
    require(n >= 0 && (n == 0 || inputs != nullptr), "recompute: bad input list");
    std::vector<at::Tensor> ts;
    for (int i = 0; i < n; ++i) ts.push_back(T(inputs[i]));
    if (!c10::GradMode::is_enabled()) {
      *out = wrap(cb->run(ts));
      return;
    }
    // Without an input that requires grad autograd would make no node, and the parameters the
    // function uses would silently get no gradient (a frozen embedding under LoRA): an empty
    // placeholder leaf that requires grad makes one. It gets no gradient.
    bool any = false;
    for (auto &t : ts) any = any || t.requires_grad();
    if (!any) ts.push_back(at::empty({0}, at::TensorOptions().dtype(at::kFloat)).requires_grad_());
    *out = wrap(Recompute::apply(cb, at::TensorList(ts)));
  });
}

}  // extern "C"

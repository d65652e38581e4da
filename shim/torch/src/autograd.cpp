// Autograd (ctorch.h's "autograd" section): requires_grad, backward, gradients, grad mode.
#include "internal.h"

using namespace ct;

extern "C" {

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
ct_status ct_set_grad(ct_tensor *t, const ct_tensor *grad) {
  return boundary(__func__, [&] {
    require(t != nullptr, "tensor handle is NULL");
    const auto &g = T(grad);
    require(t->t.is_leaf(), "set_grad: only a leaf tensor keeps a gradient");
    if (!g.sizes().equals(t->t.sizes()) || g.scalar_type() != t->t.scalar_type() || g.device() != t->t.device())
      throw InvalidArgument("set_grad: the gradient must have the tensor's shape, dtype and device");
    t->t.mutable_grad() = g.detach();
  });
}
ct_status ct_set_data(ct_tensor *t, const ct_tensor *data) {
  return boundary(__func__, [&] {
    require(t != nullptr, "tensor handle is NULL");
    const auto &d = T(data);
    if (!d.sizes().equals(t->t.sizes()) || d.device() != t->t.device())
      throw InvalidArgument("set_data: the new data must have the tensor's shape and device");
    t->t.set_data(d.detach());
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

}  // extern "C"

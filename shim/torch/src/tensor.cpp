// Tensor creation, queries, host copies, elementwise ops, reductions, shape ops, casts.
#include <ATen/ATen.h>

#include <cstring>

#include "internal.h"

namespace ct {

thread_local std::string last_error;

void set_last_error(const char *fn, const char *message) {
  last_error = std::string(fn) + ": " + (message ? message : "");
  // libtorch messages can carry a trailing newline and a long "Exception raised from" tail.
  auto cut = last_error.find("\nException raised from");
  if (cut != std::string::npos) last_error.resize(cut);
  while (!last_error.empty() && (last_error.back() == '\n' || last_error.back() == ' ')) last_error.pop_back();
}

at::ScalarType scalar_type(ct_dtype d) {
  switch (d) {
    case CT_FLOAT32: return at::kFloat;
    case CT_FLOAT16: return at::kHalf;
    case CT_BFLOAT16: return at::kBFloat16;
    case CT_FLOAT64: return at::kDouble;
    case CT_INT32: return at::kInt;
    case CT_INT64: return at::kLong;
    case CT_BOOL: return at::kBool;
    case CT_UINT8: return at::kByte;
  }
  throw InvalidArgument("unknown dtype code " + std::to_string(static_cast<int>(d)));
}

ct_dtype from_scalar_type(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return CT_FLOAT32;
    case at::kHalf: return CT_FLOAT16;
    case at::kBFloat16: return CT_BFLOAT16;
    case at::kDouble: return CT_FLOAT64;
    case at::kInt: return CT_INT32;
    case at::kLong: return CT_INT64;
    case at::kBool: return CT_BOOL;
    case at::kByte: return CT_UINT8;
    default: throw InvalidArgument(std::string("dtype not supported by the shim: ") + c10::toString(s));
  }
}

at::Device device(const char *name) {
  require(name != nullptr, "device is NULL");
  at::Device d{std::string(name)};  // throws c10::Error with torch's message on bad names
  if (d.is_cuda() && !at::hasCUDA())
    throw InvalidArgument(std::string("device '") + name + "' requested but this libtorch has no CUDA (or no GPU is visible)");
  return d;
}

std::vector<int64_t> dims(const int64_t *shape, int ndim) {
  require(ndim >= 0, "ndim is negative");
  require(ndim == 0 || shape != nullptr, "shape is NULL");
  return std::vector<int64_t>(shape, shape + ndim);
}

void write_string(const std::string &s, char *buf, size_t cap, size_t *needed) {
  if (needed) *needed = s.size();
  if (buf && cap > 0) {
    size_t n = std::min(cap - 1, s.size());
    std::memcpy(buf, s.data(), n);
    buf[n] = '\0';
  }
}

static at::TensorOptions opts(ct_dtype dtype, const char *dev) {
  return at::TensorOptions().dtype(scalar_type(dtype)).device(device(dev));
}

// Picks the generator for sampling on `dev`; NULL means the device's default.
static c10::optional<at::Generator> pick(ct_generator *g, const at::Device &dev) {
  if (!g) return c10::nullopt;
  require(g->g.device().type() == dev.type(), "generator belongs to another device type");
  return g->g;
}

}  // namespace ct

using namespace ct;

extern "C" {

const char *ct_last_error(void) { return ct::last_error.c_str(); }
void ct_set_error(const char *message) {
  // Called from the caller's error path: an allocation failure here must not escape as an exception.
  try {
    ct::last_error = message ? message : "";
  } catch (...) {
  }
}

void ct_tensor_free(ct_tensor *t) { delete t; }

ct_status ct_from_host(const void *data, size_t nbytes, const int64_t *shape, int ndim, ct_dtype dtype,
                       const char *dev, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    auto sizes = dims(shape, ndim);
    auto st = scalar_type(dtype);
    int64_t numel = 1;
    for (auto s : sizes) {
      require(s >= 0, "negative size in shape");
      numel *= s;
    }
    size_t expect = static_cast<size_t>(numel) * c10::elementSize(st);
    if (nbytes != expect)
      throw InvalidArgument("buffer holds " + std::to_string(nbytes) + " bytes but shape and dtype need " +
                            std::to_string(expect));
    require(numel == 0 || data != nullptr, "data is NULL");
    auto t = at::empty(sizes, at::TensorOptions().dtype(st));
    if (nbytes) std::memcpy(t.data_ptr(), data, nbytes);
    auto d = device(dev);
    *out = wrap(d.is_cpu() ? t : t.to(d));
  });
}

ct_status ct_zeros(const int64_t *shape, int ndim, ct_dtype dtype, const char *dev, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::zeros(dims(shape, ndim), opts(dtype, dev))); });
}
ct_status ct_ones(const int64_t *shape, int ndim, ct_dtype dtype, const char *dev, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::ones(dims(shape, ndim), opts(dtype, dev))); });
}
ct_status ct_full(const int64_t *shape, int ndim, double value, ct_dtype dtype, const char *dev, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::full(dims(shape, ndim), value, opts(dtype, dev))); });
}
ct_status ct_arange(double start, double end, double step, ct_dtype dtype, const char *dev, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(step != 0, "arange step is 0");
    *out = wrap(at::arange(start, end, step, opts(dtype, dev)));
  });
}
ct_status ct_randn(const int64_t *shape, int ndim, ct_dtype dtype, const char *dev, ct_generator *gen, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    auto o = opts(dtype, dev);
    *out = wrap(at::randn(dims(shape, ndim), pick(gen, o.device()), o));
  });
}
ct_status ct_rand(const int64_t *shape, int ndim, ct_dtype dtype, const char *dev, ct_generator *gen, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    auto o = opts(dtype, dev);
    *out = wrap(at::rand(dims(shape, ndim), pick(gen, o.device()), o));
  });
}
ct_status ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, const char *dev, ct_generator *gen,
                     ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(high > low, "randint needs high > low");
    auto o = opts(CT_INT64, dev);
    *out = wrap(at::randint(low, high, dims(shape, ndim), pick(gen, o.device()), o));
  });
}

ct_status ct_ndim(const ct_tensor *t, int *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = static_cast<int>(T(t).dim()); });
}
ct_status ct_shape(const ct_tensor *t, int64_t *d, int cap) {
  return boundary(__func__, [&] {
    auto s = T(t).sizes();
    require(cap == 0 || d != nullptr, "dims is NULL");
    for (int i = 0; i < cap && i < static_cast<int>(s.size()); ++i) d[i] = s[i];
  });
}
ct_status ct_numel(const ct_tensor *t, int64_t *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = T(t).numel(); });
}
ct_status ct_dtype_of(const ct_tensor *t, ct_dtype *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = from_scalar_type(T(t).scalar_type()); });
}
ct_status ct_device_of(const ct_tensor *t, char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&] { write_string(T(t).device().str(), buf, cap, needed); });
}
ct_status ct_copy_to_host(const ct_tensor *t, void *dst, size_t nbytes) {
  return boundary(__func__, [&] {
    auto h = T(t).detach().to(at::kCPU).contiguous();
    size_t expect = static_cast<size_t>(h.numel()) * h.element_size();
    if (nbytes != expect)
      throw InvalidArgument("destination holds " + std::to_string(nbytes) + " bytes but the tensor has " +
                            std::to_string(expect));
    require(expect == 0 || dst != nullptr, "dst is NULL");
    if (expect) std::memcpy(dst, h.data_ptr(), expect);
  });
}
ct_status ct_item(const ct_tensor *t, double *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = T(t).item<double>(); });
}

ct_status ct_unary(ct_unary_op op, const ct_tensor *a, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &x = T(a);
    at::Tensor r;
    switch (op) {
      case CT_NEG: r = at::neg(x); break;
      case CT_EXP: r = at::exp(x); break;
      case CT_LOG: r = at::log(x); break;
      case CT_SQRT: r = at::sqrt(x); break;
      case CT_RSQRT: r = at::rsqrt(x); break;
      case CT_ABS: r = at::abs(x); break;
      case CT_TANH: r = at::tanh(x); break;
      case CT_SIGMOID: r = at::sigmoid(x); break;
      case CT_SILU: r = at::silu(x); break;
      case CT_RELU: r = at::relu(x); break;
      case CT_GELU: r = at::gelu(x); break;
      case CT_COS: r = at::cos(x); break;
      case CT_SIN: r = at::sin(x); break;
      case CT_SQUARE: r = at::square(x); break;
      case CT_RECIPROCAL: r = at::reciprocal(x); break;
      case CT_LOGICAL_NOT: r = at::logical_not(x); break;
      case CT_FLOOR: r = at::floor(x); break;
      case CT_ISFINITE: r = at::isfinite(x); break;
      default: throw InvalidArgument("unknown unary op " + std::to_string(static_cast<int>(op)));
    }
    *out = wrap(std::move(r));
  });
}

}  // extern "C"

// One table for tensor-tensor and tensor-scalar forms: B is at::Tensor or at::Scalar.
template <class B>
static at::Tensor binary(ct_binary_op op, const at::Tensor &a, const B &b) {
  switch (op) {
    case CT_ADD: return at::add(a, b);
    case CT_SUB: return at::sub(a, b);
    case CT_MUL: return at::mul(a, b);
    case CT_DIV: return at::div(a, b);
    case CT_POW: return at::pow(a, b);
    case CT_EQ: return at::eq(a, b);
    case CT_NE: return at::ne(a, b);
    case CT_LT: return at::lt(a, b);
    case CT_LE: return at::le(a, b);
    case CT_GT: return at::gt(a, b);
    case CT_GE: return at::ge(a, b);
    case CT_REMAINDER: return at::remainder(a, b);
    default: break;
  }
  if constexpr (std::is_same_v<B, at::Tensor>) {
    switch (op) {
      case CT_MAXIMUM: return at::maximum(a, b);
      case CT_MINIMUM: return at::minimum(a, b);
      case CT_LOGICAL_AND: return at::logical_and(a, b);
      case CT_LOGICAL_OR: return at::logical_or(a, b);
      default: break;
    }
  } else {
    switch (op) {
      case CT_MAXIMUM: return at::clamp_min(a, b);
      case CT_MINIMUM: return at::clamp_max(a, b);
      default: break;
    }
  }
  throw InvalidArgument("binary op " + std::to_string(static_cast<int>(op)) + " is not defined for these operands");
}

extern "C" {

ct_status ct_binary(ct_binary_op op, const ct_tensor *a, const ct_tensor *b, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(binary(op, T(a), T(b))); });
}
ct_status ct_binary_scalar(ct_binary_op op, const ct_tensor *a, double s, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(binary(op, T(a), at::Scalar(s))); });
}

ct_status ct_reduce(ct_reduce_op op, const ct_tensor *a, const int64_t *d, int ndims, bool keepdim, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &x = T(a);
    auto ds = dims(d, ndims);
    at::Tensor r;
    switch (op) {
      case CT_SUM: r = ndims ? at::sum(x, ds, keepdim) : at::sum(x); break;
      case CT_MEAN: r = ndims ? at::mean(x, ds, keepdim) : at::mean(x); break;
      case CT_AMAX: r = at::amax(x, ds, keepdim); break;
      case CT_AMIN: r = at::amin(x, ds, keepdim); break;
      default: throw InvalidArgument("unknown reduce op");
    }
    *out = wrap(std::move(r));
  });
}

ct_status ct_softmax(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::softmax(T(a), dim)); });
}
ct_status ct_log_softmax(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::log_softmax(T(a), dim)); });
}
ct_status ct_cumsum(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::cumsum(T(a), dim)); });
}
ct_status ct_argmax(const ct_tensor *a, int64_t dim, bool keepdim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::argmax(T(a), dim, keepdim)); });
}
ct_status ct_topk(const ct_tensor *a, int64_t k, int64_t dim, bool largest, ct_tensor **values, ct_tensor **indices) {
  return boundary(__func__, [&] {
    CT_OUT(values);
    CT_OUT(indices);
    auto r = at::topk(T(a), k, dim, largest, /*sorted=*/true);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}
ct_status ct_sort(const ct_tensor *a, int64_t dim, bool descending, ct_tensor **values, ct_tensor **indices) {
  return boundary(__func__, [&] {
    CT_OUT(values);
    CT_OUT(indices);
    auto r = at::sort(T(a), dim, descending);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  });
}
ct_status ct_multinomial(const ct_tensor *probs, int64_t n, bool replacement, ct_generator *gen, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &p = T(probs);
    *out = wrap(at::multinomial(p, n, replacement, pick(gen, p.device())));
  });
}

ct_status ct_embedding(const ct_tensor *weight, const ct_tensor *indices, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::embedding(T(weight), T(indices))); });
}
ct_status ct_masked_fill(const ct_tensor *a, const ct_tensor *mask, double value, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::masked_fill(T(a), T(mask), value)); });
}
ct_status ct_where(const ct_tensor *cond, const ct_tensor *a, const ct_tensor *b, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::where(T(cond), T(a), T(b))); });
}
ct_status ct_triu(const ct_tensor *a, int64_t diagonal, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::triu(T(a), diagonal)); });
}
ct_status ct_tril(const ct_tensor *a, int64_t diagonal, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::tril(T(a), diagonal)); });
}

}  // extern "C"

static std::vector<at::Tensor> list(ct_tensor *const *ts, int n) {
  require(n > 0, "needs at least one tensor");
  require(ts != nullptr, "tensor list is NULL");
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; ++i) v.push_back(T(ts[i]));
  return v;
}
extern "C" {

ct_status ct_cat(ct_tensor *const *ts, int n, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::cat(list(ts, n), dim)); });
}
ct_status ct_stack(ct_tensor *const *ts, int n, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::stack(list(ts, n), dim)); });
}
ct_status ct_narrow(const ct_tensor *a, int64_t dim, int64_t start, int64_t length, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::narrow(T(a), dim, start, length)); });
}
ct_status ct_index_select(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::index_select(T(a), dim, T(index))); });
}
ct_status ct_gather(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::gather(T(a), dim, T(index))); });
}
ct_status ct_scatter(const ct_tensor *a, int64_t dim, const ct_tensor *index, const ct_tensor *src, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::scatter(T(a), dim, T(index), T(src))); });
}
ct_status ct_view(const ct_tensor *a, const int64_t *shape, int ndim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).view(dims(shape, ndim))); });
}
ct_status ct_reshape(const ct_tensor *a, const int64_t *shape, int ndim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::reshape(T(a), dims(shape, ndim))); });
}
ct_status ct_transpose(const ct_tensor *a, int64_t d0, int64_t d1, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::transpose(T(a), d0, d1)); });
}
ct_status ct_permute(const ct_tensor *a, const int64_t *d, int ndim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).permute(dims(d, ndim))); });
}
ct_status ct_contiguous(const ct_tensor *a, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).contiguous()); });
}
ct_status ct_unsqueeze(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::unsqueeze(T(a), dim)); });
}
ct_status ct_squeeze(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::squeeze(T(a), dim)); });
}
ct_status ct_expand(const ct_tensor *a, const int64_t *shape, int ndim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).expand(dims(shape, ndim))); });
}
ct_status ct_repeat_interleave(const ct_tensor *a, int64_t repeats, int64_t dim, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(at::repeat_interleave(T(a), repeats, dim)); });
}

ct_status ct_to_dtype(const ct_tensor *a, ct_dtype dtype, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).to(scalar_type(dtype))); });
}
ct_status ct_to_device(const ct_tensor *a, const char *dev, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).to(device(dev))); });
}
ct_status ct_clone(const ct_tensor *a, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).clone()); });
}
ct_status ct_share(const ct_tensor *a, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a)); });
}
ct_status ct_detach(const ct_tensor *a, ct_tensor **out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = wrap(T(a).detach()); });
}
ct_status ct_copy_(ct_tensor *dst, const ct_tensor *src) {
  return boundary(__func__, [&] {
    require(dst != nullptr, "dst is NULL");
    at::NoGradGuard no_grad;
    dst->t.copy_(T(src));
  });
}

}  // extern "C"

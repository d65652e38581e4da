// Shared by the shim's translation units: the handle structs and the one exception boundary.
// Only the narrow headers these declarations need: a unit that calls ATen's operators includes
// <ATen/ATen.h> (or the per-operator <ATen/ops/*.h>) itself, so the small units (autograd,
// generators, optimizer, settings, the allocator) compile in about half the time.
#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>  // at::NoGradGuard (not pulled in by ATen.h in torch 2.x)
#include <c10/core/Device.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "ctorch.h"

struct ct_tensor {
  at::Tensor t;
};
struct ct_generator {
  at::Generator g;
};

namespace ct {

// Raised by the shim itself for arguments it rejects before libtorch sees them.
struct InvalidArgument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void set_last_error(const char *fn, const char *message);

// THE exception boundary: every exported function runs its body through this, so no C++
// exception can reach the caller. Only out-parameters assigned inside `body` after all
// throwing work is done are visible to the caller, so failures leave them untouched.
template <class F>
ct_status boundary(const char *fn, F &&body) noexcept {
  try {
    body();
    return CT_OK;
  } catch (const InvalidArgument &e) {
    set_last_error(fn, e.what());
    return CT_ERROR_INVALID_ARGUMENT;
  } catch (const c10::OutOfMemoryError &e) {
    set_last_error(fn, e.what_without_backtrace());
    return CT_ERROR_OUT_OF_MEMORY;
  } catch (const c10::Error &e) {
    set_last_error(fn, e.what_without_backtrace());
    return CT_ERROR_TORCH;
  } catch (const std::bad_alloc &) {
    set_last_error(fn, "out of memory");
    return CT_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    set_last_error(fn, e.what());
    return CT_ERROR_TORCH;
  } catch (...) {
    set_last_error(fn, "unknown C++ exception");
    return CT_ERROR_UNKNOWN;
  }
}

inline void require(bool ok, const char *what) {
  if (!ok) throw InvalidArgument(what);
}
inline const at::Tensor &T(const ct_tensor *h) {
  require(h != nullptr, "tensor handle is NULL");
  return h->t;
}
inline ct_tensor *wrap(at::Tensor t) { return new ct_tensor{std::move(t)}; }

at::ScalarType scalar_type(ct_dtype d);
ct_dtype from_scalar_type(at::ScalarType s);
at::Device device(const char *name);
std::vector<int64_t> dims(const int64_t *shape, int ndim);
// Writes s into buf the way the header's string functions promise.
void write_string(const std::string &s, char *buf, size_t cap, size_t *needed);

// Matrix products (kernels/gemm.cpp). Whether oneDNN serves fp32 CPU products, and whether a tensor
// is one it can serve.
bool onednn_on();
bool cpu_float(const at::Tensor &t);
// bfloat16 or float16: the types the kernels compute in float32 inside.
inline bool is_half(const at::Tensor &t) { return t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16; }
// Whether autograd must record an op over these inputs.
bool tracked(std::initializer_list<at::Tensor> ts);
// One row-major oneDNN sgemm under the calling thread's OpenMP setting (inside a parallel
// region: on that thread alone). C[M,N] = alpha * op(A) @ op(B) + beta * C, op 'N' or 'T' (a
// stored-transposed operand).
void sgemm_here(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                  const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
// C[b] = alpha * A[b] @ B[b] for A [batch, M, K], B [batch, K, N] (a batch of 1 broadcasts),
// through oneDNN's sgemm; strided views are read in place. C is new and contiguous, or
// `accumulate` (contiguous [batch, M, N]), to which the product is added in place.
at::Tensor batched_product(const at::Tensor &a3, const at::Tensor &b3, float alpha = 1.0f,
                           const at::Tensor &accumulate = at::Tensor());

// A float tensor as [rows, n] with contiguous rows at a fixed stride: a view where the layout
// allows (the halves of a fused projection are), else a contiguous copy. For the row kernels.
struct RowView {
  at::Tensor keep;
  float *data;
  int64_t rows, n, ld;
  explicit RowView(const at::Tensor &t) {
    n = t.size(-1);
    keep = t.reshape({-1, n});
    if (keep.stride(1) != 1 || (keep.size(0) > 1 && keep.stride(0) < n)) keep = keep.contiguous();
    data = keep.data_ptr<float>();
    rows = keep.size(0);
    ld = rows > 1 ? keep.stride(0) : n;
  }
  float *row(int64_t i) const { return data + i * ld; }
};

}  // namespace ct

// Every exported function is defined with its plain C signature from ctorch.h, inside an
// extern "C" block, so the compiler checks it against the declaration (a C function cannot be
// overloaded: a mismatch is an error), and its body is `return boundary(__func__, [&] { ... });`.
// Fails with CT_ERROR_INVALID_ARGUMENT when an out-parameter is NULL.
#define CT_OUT(p) ct::require((p) != nullptr, "out-parameter " #p " is NULL")

// Row kernels for the shim's fused ops: softmax and its backward over one row, and a few
// elementwise loops, written so that clang vectorises them.
//
// Each kernel is an always-inline body compiled twice, once for AVX2+FMA and once for the
// baseline ISA, and a dispatcher picks one by what the CPU reports (the shim is built without
// -march flags so that one binary runs everywhere). exp is a Cephes-style polynomial with the
// rounding done by the 1.5 * 2^23 trick instead of floorf, so the loop vectorises on any x86-64
// ISA; it is within 2 ulp of expf on [-87.3, 88.4] and returns exactly 0 below (masked scores).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace ct::rows {

#define CT_INLINE inline __attribute__((always_inline))

CT_INLINE float exp_approx(float x) {
  float xc = std::fmin(std::fmax(x, -87.3365447f), 88.3762626f);
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float t = xc * 1.44269504088896341f + magic;
  float n = t - magic;
  float r = xc - n * 0.693359375f - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t ti, pi;
  std::memcpy(&ti, &t, 4);
  std::memcpy(&pi, &p, 4);
  pi += (ti - 0x4B400000) << 23;  // times 2^n
  float e;
  std::memcpy(&e, &pi, 4);
  return x < -87.3365447f ? 0.0f : e;
}

// x[0..n) <- softmax(x[0..n)). A row whose entries are all -inf becomes NaN, as softmax's.
CT_INLINE void softmax_body(float *x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::fmax(m, x[j]);
  if (m == -std::numeric_limits<float>::infinity()) {
    for (int64_t j = 0; j < n; ++j) x[j] = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  float s = 0;
  {
#pragma clang fp reassociate(on)
    for (int64_t j = 0; j < n; ++j) {
      float e = exp_approx(x[j] - m);
      x[j] = e;
      s += e;
    }
  }
  float inv = 1.0f / s;
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
}

// Through softmax: g[j] <- p[j] * (g[j] - sum_k p[k] g[k]), scaled by `scale`.
CT_INLINE void softmax_backward_body(const float *p, float *g, int64_t n, float scale) {
  float dot = 0;
  {
#pragma clang fp reassociate(on)
    for (int64_t j = 0; j < n; ++j) dot += p[j] * g[j];
  }
  for (int64_t j = 0; j < n; ++j) g[j] = scale * p[j] * (g[j] - dot);
}

// x[j] += m[j * ms] (an additive mask row; ms is 0 where the mask broadcasts over keys).
CT_INLINE void add_row_body(float *x, const float *m, int64_t ms, int64_t n) {
  if (ms == 1) {
    for (int64_t j = 0; j < n; ++j) x[j] += m[j];
  } else {
    for (int64_t j = 0; j < n; ++j) x[j] += m[j * ms];
  }
}

#define CT_DISPATCH(name, params, args)                                                   \
  __attribute__((target("avx2,fma"))) inline void name##_avx2 params { name##_body args; } \
  inline void name##_base params { name##_body args; }                                   \
  inline void name params {                                                               \
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); \
    if (avx2) name##_avx2 args; else name##_base args;                                    \
  }

CT_DISPATCH(softmax, (float *x, int64_t n), (x, n))
CT_DISPATCH(softmax_backward, (const float *p, float *g, int64_t n, float scale), (p, g, n, scale))
CT_DISPATCH(add_row, (float *x, const float *m, int64_t ms, int64_t n), (x, m, ms, n))

}  // namespace ct::rows

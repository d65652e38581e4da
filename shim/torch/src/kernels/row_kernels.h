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

CT_INLINE float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// h = silu(g) * u.
CT_INLINE void swiglu_body(const float *g, const float *u, float *h, int64_t n) {
  for (int64_t j = 0; j < n; ++j) h[j] = g[j] * sigmoid_approx(g[j]) * u[j];
}

// With s = sigmoid(g): du = dh * g * s, dg = dh * u * s * (1 + g * (1 - s)).
CT_INLINE void swiglu_backward_body(const float *g, const float *u, const float *dh, float *dg, float *du, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    float s = sigmoid_approx(g[j]);
    du[j] = dh[j] * g[j] * s;
    dg[j] = dh[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
  }
}

// log(sum_j exp(x[j])) over a row, stably.
CT_INLINE float logsumexp_body(const float *x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = std::fmax(m, x[j]);
  if (!(m > -std::numeric_limits<float>::infinity())) return m;  // all -inf (or NaN)
  float s = 0;
  {
#pragma clang fp reassociate(on)
    for (int64_t j = 0; j < n; ++j) s += exp_approx(x[j] - m);
  }
  return m + std::log(s);
}

// Cross-entropy's gradient for one row: d[j] = scale * exp(x[j] - lse) (the target's -scale is
// added by the caller).
CT_INLINE void softmax_scaled_body(const float *x, float lse, float scale, float *d, int64_t n) {
  for (int64_t j = 0; j < n; ++j) d[j] = scale * exp_approx(x[j] - lse);
}

// RMSNorm forward for one row: y = (x * rstd) * w, rstd = 1 / sqrt(mean(x^2) + eps); returns rstd.
CT_INLINE float rms_norm_body(const float *x, const float *w, float *y, int64_t n, float eps) {
  float ss = 0;
  {
#pragma clang fp reassociate(on)
    for (int64_t j = 0; j < n; ++j) ss += x[j] * x[j];
  }
  float rstd = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] * rstd) * w[j];
  return rstd;
}

// RMSNorm backward for one row: with xhat = x * rstd and gh = g * w,
// dx = rstd * (gh - xhat * mean(gh * xhat)); dw_acc += g * xhat.
CT_INLINE void rms_norm_backward_body(const float *x, const float *w, const float *g, float rstd, float *dx,
                                      float *dw_acc, int64_t n) {
  float dot = 0;
  {
#pragma clang fp reassociate(on)
    for (int64_t j = 0; j < n; ++j) dot += g[j] * w[j] * x[j];
  }
  dot *= rstd / static_cast<float>(n);
  for (int64_t j = 0; j < n; ++j) {
    float xh = x[j] * rstd;
    if (dx) dx[j] = rstd * (g[j] * w[j] - xh * dot);
    if (dw_acc) dw_acc[j] += g[j] * xh;
  }
}

// Rotate-half rotation of one row of D = 2h by angles c, s [h]: y1 = x1 c - sign x2 s,
// y2 = x2 c + sign x1 s (sign -1: the inverse rotation, for backward).
CT_INLINE void rotary_body(const float *x, const float *c, const float *s, float *y, int64_t h, float sign) {
  for (int64_t j = 0; j < h; ++j) {
    float x1 = x[j], x2 = x[j + h];
    y[j] = x1 * c[j] - sign * x2 * s[j];
    y[j + h] = x2 * c[j] + sign * x1 * s[j];
  }
}

// One dispatcher per kernel: `ret name(params)` runs name##_body compiled for AVX2+FMA when the
// CPU has them, else for the baseline ISA (`return` of a void call is fine for void kernels).
#define CT_DISPATCH(ret, name, params, args)                                                  \
  __attribute__((target("avx2,fma"))) inline ret name##_avx2 params { return name##_body args; } \
  inline ret name##_base params { return name##_body args; }                                  \
  inline ret name params {                                                                    \
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); \
    return avx2 ? name##_avx2 args : name##_base args;                                        \
  }

CT_DISPATCH(void, softmax, (float *x, int64_t n), (x, n))
CT_DISPATCH(void, softmax_backward, (const float *p, float *g, int64_t n, float scale), (p, g, n, scale))
CT_DISPATCH(void, add_row, (float *x, const float *m, int64_t ms, int64_t n), (x, m, ms, n))
CT_DISPATCH(void, swiglu, (const float *g, const float *u, float *h, int64_t n), (g, u, h, n))
CT_DISPATCH(void, swiglu_backward, (const float *g, const float *u, const float *dh, float *dg, float *du, int64_t n),
            (g, u, dh, dg, du, n))
CT_DISPATCH(float, logsumexp, (const float *x, int64_t n), (x, n))
CT_DISPATCH(void, softmax_scaled, (const float *x, float lse, float scale, float *d, int64_t n), (x, lse, scale, d, n))
CT_DISPATCH(float, rms_norm, (const float *x, const float *w, float *y, int64_t n, float eps), (x, w, y, n, eps))
CT_DISPATCH(void, rms_norm_backward,
            (const float *x, const float *w, const float *g, float rstd, float *dx, float *dw_acc, int64_t n),
            (x, w, g, rstd, dx, dw_acc, n))
CT_DISPATCH(void, rotary, (const float *x, const float *c, const float *s, float *y, int64_t h, float sign),
            (x, c, s, y, h, sign))

}  // namespace ct::rows

// Scaled dot-product attention: softmax(q @ k^T * scale + mask) @ v, optionally causal, as one
// op with its own backward.
//
// Why one op: composed from ATen ops, the [B, H, T, S] scores pass through memory five times
// forward (product, scale, mask, softmax, product) and more backward, and on a CPU these
// memory-bound passes cost about as much as the products. Here each (batch, head) pair is one
// task on the OpenMP team (parallel.h), and inside it the queries go in blocks of 64 rows:
// one sgemm for the block's scores (scale folded in), the mask added and the softmax taken row
// by row while the block is in cache (row_kernels.h), one sgemm for the output. With `causal`
// a block only computes the keys its last row may see, which skips about 3/8 of the products
// and softmax work at T = 256 (half as T grows). Backward redoes the same blocks: two products
// for dp and dv, the softmax backward by row, two for dq and dk. The output is laid out
// [B, T, H, Dv] in memory (returned as the [B, H, T, Dv] view), so the model's transpose back
// to [B, T, H * Dv] is free, and gradients take their input's layout (the value projection's
// [B, T, H, D]), so the linear layers' backward reads them without a copy.
//
// Half types on the CPU run it over float32 copies (see ct_attention). Tensors it cannot serve
// (CUDA, CT_GEMM_ATEN) take the composed ATen path, with
// the softmax in float32 for half types; except that where the shim is built against torch 2 or
// later, CUDA tensors go through at::scaled_dot_product_attention (flash and memory-efficient
// kernels: the [B, H, T, S] scores are never stored), and ct_set_attention_backend can send
// every tensor there, to compare the two on a CPU.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>

#include <atomic>
#include <limits>

#if TORCH_VERSION_MAJOR >= 2
#define CT_HAS_SDPA 1
#endif

#include "../internal.h"
#include "parallel.h"
#include "row_kernels.h"

using namespace ct;

namespace {

constexpr int64_t kBlock = 64;  // query rows per block
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::atomic<int> backend{CT_ATTENTION_AUTO};

#ifdef CT_HAS_SDPA
// SDPA's is_causal aligns the triangle top-left (key j hidden when j > i); ct_attention's
// causal hides j > i + S - T. So is_causal only when S = T and nothing else is masked;
// otherwise the causal part joins the additive mask.
at::Tensor sdpa(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask, double scale,
                bool causal) {
  int64_t T = q.size(-2), S = k.size(-2);
  c10::optional<at::Tensor> m;
  bool is_causal = false;
  if (causal && !mask.defined() && S == T) {
    is_causal = true;
  } else if (causal || mask.defined()) {
    at::Tensor add = mask.defined() ? mask.to(q.scalar_type()) : at::zeros({T, S}, q.options());
    if (causal) add = add.masked_fill(at::ones({T, S}, q.options().dtype(at::kBool)).triu(S - T + 1), -INFINITY);
    m = add;
  }
#if TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 1
  return at::scaled_dot_product_attention(q, k, v, m, 0.0, is_causal, scale);
#else  // 2.0 has no scale argument and divides by sqrt(D): fold the difference into q
  return at::scaled_dot_product_attention(q * (scale * std::sqrt(static_cast<double>(q.size(-1)))), k, v, m, 0.0, is_causal);
#endif
}
#endif

at::Tensor composed(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask, double scale,
                    bool causal) {
  auto scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (mask.defined()) scores = scores + mask;
  int64_t T = q.size(-2), S = k.size(-2);
  if (causal) scores = scores.masked_fill(at::ones({T, S}, q.options().dtype(at::kBool)).triu(S - T + 1), -INFINITY);
  bool half = q.scalar_type() == at::kHalf || q.scalar_type() == at::kBFloat16;
  auto p = half ? at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type()) : at::softmax(scores, -1);
  return at::matmul(p, v);
}

// A [B, H, rows, cols] fp32 tensor whose last dimension is contiguous: the (b, h) matrix and
// its leading dimension, as sgemm takes them.
struct Heads {
  at::Tensor keep;
  float *data;
  int64_t sb, sh, ld;
  explicit Heads(const at::Tensor &t) : keep(t.stride(3) == 1 || t.size(3) == 1 ? t : t.contiguous()) {
    data = keep.data_ptr<float>();
    sb = keep.stride(0), sh = keep.stride(1), ld = keep.size(2) > 1 ? keep.stride(2) : keep.size(3);
  }
  float *at(int64_t b, int64_t h) const { return data + b * sb + h * sh; }
};

// The additive mask broadcast to [B, H, T, S]: row pointers and the key stride (0 or 1, or any).
struct MaskRows {
  at::Tensor keep;
  const float *data = nullptr;
  int64_t sb = 0, sh = 0, st = 0, ss = 0;
  MaskRows(const at::Tensor &m, int64_t B, int64_t H, int64_t T, int64_t S) {
    if (!m.defined()) return;
    keep = m.expand({B, H, T, S});
    data = keep.data_ptr<float>();
    sb = keep.stride(0), sh = keep.stride(1), st = keep.stride(2), ss = keep.stride(3);
  }
  const float *row(int64_t b, int64_t h, int64_t i) const { return data + b * sb + h * sh + i * st; }
};

struct Shape {
  int64_t B, H, T, S, D, Dv, offset;  // key j is visible to query i iff j <= i + offset (causal)
  bool causal;
  // Keys a block's rows [r0, r1) need, and row r's visible keys (within the block's).
  int64_t block_keys(int64_t r1) const { return causal ? std::clamp<int64_t>(r1 + offset, 0, S) : S; }
  int64_t row_keys(int64_t r, int64_t kend) const { return causal ? std::clamp<int64_t>(r + offset + 1, 0, kend) : S; }
};

// y [B, H, T, Dv] (a view of [B, T, H, Dv] memory) and p [B, H, T, S] (kept for backward;
// entries past a block's keys are left unset and never read).
std::pair<at::Tensor, at::Tensor> fused_forward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
                                                const at::Tensor &mask, double scale, bool causal) {
  Shape sh{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3), k.size(2) - q.size(2), causal};
  Heads Q(q), K(k), V(v);
  MaskRows M(mask, sh.B, sh.H, sh.T, sh.S);
  auto p = at::empty({sh.B, sh.H, sh.T, sh.S}, q.options().memory_format(at::MemoryFormat::Contiguous));
  auto ymem = at::empty({sh.B, sh.T, sh.H, sh.Dv}, q.options().memory_format(at::MemoryFormat::Contiguous));
  float *pp = p.data_ptr<float>(), *yp = ymem.data_ptr<float>();
  const float fscale = static_cast<float>(scale);
  parallel_for(sh.B * sh.H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      int64_t b = item / sh.H, h = item % sh.H;
      const float *q_ = Q.at(b, h), *k_ = K.at(b, h), *v_ = V.at(b, h);
      float *P = pp + item * sh.T * sh.S, *Y = yp + (b * sh.T * sh.H + h) * sh.Dv;
      const int64_t ldy = sh.H * sh.Dv;
      for (int64_t r0 = 0; r0 < sh.T; r0 += kBlock) {
        int64_t r1 = std::min(sh.T, r0 + kBlock), kend = sh.block_keys(r1);
        if (kend == 0) {  // every key blocked for every row: NaN, as softmax gives
          for (int64_t r = r0; r < r1; ++r) std::fill(Y + r * ldy, Y + r * ldy + sh.Dv, kNaN);
          continue;
        }
        sgemm_here('N', 'T', r1 - r0, kend, sh.D, fscale, q_ + r0 * Q.ld, Q.ld, k_, K.ld, 0.0f, P + r0 * sh.S, sh.S);
        for (int64_t r = r0; r < r1; ++r) {
          float *row = P + r * sh.S;
          int64_t n = sh.row_keys(r, kend);
          if (M.data) rows::add_row(row, M.row(b, h, r), M.ss, n);
          if (n == 0) std::fill(row, row + kend, kNaN);
          else rows::softmax(row, n);
          std::fill(row + n, row + kend, 0.0f);
        }
        sgemm_here('N', 'N', r1 - r0, sh.Dv, kend, 1.0f, P + r0 * sh.S, sh.S, v_, V.ld, 0.0f, Y + r0 * ldy, ldy);
      }
    }
  });
  return {ymem.permute({0, 2, 1, 3}), p};
}

// Gradients of q, k, v in their inputs' layouts.
std::array<at::Tensor, 3> fused_backward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &p,
                                         const at::Tensor &dy, double scale, bool causal) {
  Shape sh{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3), k.size(2) - q.size(2), causal};
  Heads Q(q), K(k), V(v), DY(dy);
  auto dq = at::empty_like(Q.keep), dk = at::zeros_like(K.keep), dv = at::zeros_like(V.keep);
  Heads DQ(dq), DK(dk), DV(dv);
  const float *pp = p.data_ptr<float>();
  const float fscale = static_cast<float>(scale);
  parallel_for(sh.B * sh.H, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> ds(kBlock * sh.S);
    for (int64_t item = begin; item < end; ++item) {
      int64_t b = item / sh.H, h = item % sh.H;
      const float *q_ = Q.at(b, h), *k_ = K.at(b, h), *v_ = V.at(b, h), *dy_ = DY.at(b, h);
      float *dq_ = DQ.at(b, h), *dk_ = DK.at(b, h), *dv_ = DV.at(b, h);
      const float *P = pp + item * sh.T * sh.S;
      for (int64_t r0 = 0; r0 < sh.T; r0 += kBlock) {
        int64_t r1 = std::min(sh.T, r0 + kBlock), m = r1 - r0, kend = sh.block_keys(r1);
        if (kend == 0) {
          for (int64_t r = r0; r < r1; ++r) std::fill(dq_ + r * DQ.ld, dq_ + r * DQ.ld + sh.D, 0.0f);
          continue;
        }
        const float *Pb = P + r0 * sh.S, *dyb = dy_ + r0 * DY.ld;
        sgemm_here('N', 'T', m, kend, sh.Dv, 1.0f, dyb, DY.ld, v_, V.ld, 0.0f, ds.data(), sh.S);  // dp
        for (int64_t r = r0; r < r1; ++r) {
          float *g = ds.data() + (r - r0) * sh.S;
          int64_t n = sh.row_keys(r, kend);
          rows::softmax_backward(P + r * sh.S, g, n, fscale);  // scale folded in: ds = scale * dscores
          std::fill(g + n, g + kend, 0.0f);
        }
        sgemm_here('T', 'N', kend, sh.Dv, m, 1.0f, Pb, sh.S, dyb, DY.ld, 1.0f, dv_, DV.ld);              // dv += p^T dy
        sgemm_here('N', 'N', m, sh.D, kend, 1.0f, ds.data(), sh.S, k_, K.ld, 0.0f, dq_ + r0 * DQ.ld, DQ.ld);  // dq = ds k
        sgemm_here('T', 'N', kend, sh.D, m, 1.0f, ds.data(), sh.S, q_ + r0 * Q.ld, Q.ld, 1.0f, dk_, DK.ld);  // dk += ds^T q
      }
    }
  });
  return {dq, dk, dv};
}

struct Attention : torch::autograd::Function<Attention> {
  // The mask travels as an optional, a non-differentiable argument: autograd's argument
  // handling rejects an undefined at::Tensor.
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &q, const at::Tensor &k,
                            const at::Tensor &v, const c10::optional<at::Tensor> &mask, double scale, bool causal) {
    auto [y, p] = fused_forward(q, k, v, mask.value_or(at::Tensor()), scale, causal);
    ctx->save_for_backward({q, k, v, p});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["causal"] = causal;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto g = fused_backward(saved[0], saved[1], saved[2], saved[3], grads[0], ctx->saved_data["scale"].toDouble(),
                            ctx->saved_data["causal"].toBool());
    return {g[0], g[1], g[2], at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

ct_status ct_attention(const ct_tensor *q, const ct_tensor *k, const ct_tensor *v, const ct_tensor *mask,
                       double scale, bool causal, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    const auto &qt = T(q), &kt = T(k), &vt = T(v);
    at::Tensor mt = mask ? T(mask) : at::Tensor();
    require(qt.dim() == 4 && kt.dim() == 4 && vt.dim() == 4, "attention: q, k and v must be [B, H, T, D]");
    require(kt.sizes().slice(0, 2) == qt.sizes().slice(0, 2) && vt.sizes().slice(0, 3) == kt.sizes().slice(0, 3),
            "attention: q [B, H, T, D], k [B, H, S, D] and v [B, H, S, Dv] disagree on B, H or S");
    require(kt.size(3) == qt.size(3), "attention: q and k have different head sizes");
    require(!mt.defined() || mt.dim() == 4, "attention: the mask must be 4-D, broadcastable to [B, H, T, S]");
    if (mt.defined()) {
      // expand() would reject it too, but say which dimension is wrong.
      const int64_t want[4] = {qt.size(0), qt.size(1), qt.size(2), kt.size(2)};
      for (int d = 0; d < 4; ++d)
        require(mt.size(d) == 1 || mt.size(d) == want[d], "attention: the mask does not broadcast to [B, H, T, S]");
    }
#ifdef CT_HAS_SDPA
    int b = backend.load();
    if (b == CT_ATTENTION_SDPA || (b == CT_ATTENTION_AUTO && qt.is_cuda())) {
      *out = wrap(sdpa(qt, kt, vt, mt, scale, causal));
      return;
    }
#endif
    // Half types on the CPU: the fp32 kernel over float32 copies of q, k, v and the mask, the
    // result rounded back. The composed path would keep [B, H, T, S] scores and probabilities for
    // backward (a gigabyte a step at 1k tokens for a 100M model); this keeps q, k and v in
    // float32, and its softmax is float32 as the composed path's is.
    const auto given = qt.scalar_type();
    const bool widen = onednn_on() && qt.device().is_cpu() && is_half(qt) && kt.scalar_type() == given &&
                       vt.scalar_type() == given && (!mt.defined() || mt.device().is_cpu());
    const at::Tensor qf = widen ? qt.to(at::kFloat) : qt, kf = widen ? kt.to(at::kFloat) : kt, vf = widen ? vt.to(at::kFloat) : vt;
    const at::Tensor mf = widen && mt.defined() ? mt.to(at::kFloat) : mt;
    bool fast = onednn_on() && cpu_float(qf) && cpu_float(kf) && cpu_float(vf) &&
                (!mf.defined() || (mf.scalar_type() == at::kFloat && mf.device().is_cpu()));
    at::Tensor o;
    if (!fast) {
      o = composed(qf, kf, vf, mf, scale, causal);
    } else if (tracked({qf, kf, vf})) {
      o = Attention::apply(qf, kf, vf, mf.defined() ? c10::optional<at::Tensor>(mf) : c10::nullopt, scale, causal);
    } else {
      o = fused_forward(qf, kf, vf, mf, scale, causal).first;
    }
    *out = wrap(widen ? o.to(given) : o);
  });
}

ct_status ct_set_attention_backend(ct_attention_backend b) {
  return boundary(__func__, [&] {
    require(b == CT_ATTENTION_AUTO || b == CT_ATTENTION_SHIM || b == CT_ATTENTION_SDPA, "unknown attention backend");
#ifndef CT_HAS_SDPA
    require(b != CT_ATTENTION_SDPA, "CT_ATTENTION_SDPA needs a shim built against torch 2 or later (this one: " TORCH_VERSION ")");
#endif
    backend = b;
  });
}
ct_status ct_get_attention_backend(ct_attention_backend *out) {
  return boundary(__func__, [&] { CT_OUT(out); *out = static_cast<ct_attention_backend>(backend.load()); });
}
ct_status ct_has_sdpa(bool *out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
#ifdef CT_HAS_SDPA
    *out = true;
#else
    *out = false;
#endif
  });
}

}  // extern "C"

/*
 * check_device.c: exercises ctorch.h from plain C on one device and compares with the CPU.
 * Used to check the shim against another libtorch (e.g. a CUDA build) where Swift is absent:
 *   shim/torch/check/build_and_run.sh /path/to/libtorch-or-torch-package [device]
 * Besides the MLP step: SDPA against the shim's attention (torch >= 2), ct_recompute from C, and
 * ct_chunked_cross_entropy against the plain head + loss (bf16 on CUDA).
 * Prints one line per check and exits non-zero on the first failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctorch.h"

static int failures = 0;
#define CHECK(cond, ...)                      \
  do {                                        \
    if (!(cond)) {                            \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                    \
      printf(" [%s]\n", ct_last_error());     \
      failures++;                             \
      return;                                 \
    }                                         \
  } while (0)
#define OK(call) CHECK((call) == CT_OK, "%s", #call)

static double max_abs_diff(ct_tensor *a, ct_tensor *b) {
  int64_t n = 0;
  ct_numel(a, &n);
  float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
  ct_tensor *a32 = NULL, *b32 = NULL;
  ct_to_dtype(a, CT_FLOAT32, &a32);
  ct_to_dtype(b, CT_FLOAT32, &b32);
  ct_copy_to_host(a32, x, n * sizeof(float));
  ct_copy_to_host(b32, y, n * sizeof(float));
  double worst = 0;
  for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)x[i] - y[i]));
  ct_tensor_free(a32);
  ct_tensor_free(b32);
  free(x);
  free(y);
  return worst;
}

static double largest(ct_tensor *a) {
  ct_tensor *m = NULL, *b = NULL;
  double v = 0;
  ct_unary(CT_ABS, a, &m);
  ct_to_dtype(m, CT_FLOAT32, &b);
  ct_tensor_free(m), m = NULL;
  ct_reduce(CT_AMAX, b, NULL, 0, false, &m);
  ct_item(m, &v);
  ct_tensor_free(m), ct_tensor_free(b);
  return v;
}

/* loss = CE(silu(x W1) W2, targets) on `dev` in dtype dt; returns loss, W1's gradient and W1
 * after one clipped AdamW step (on CPU). */
static void mlp_step(const char *dev, ct_dtype dt, double *loss_out, ct_tensor **grad_out, ct_tensor **w1_after) {
  int64_t xs[2] = {8, 16}, w1s[2] = {16, 32}, w2s[2] = {32, 5};
  ct_generator *g = NULL;
  ct_tensor *x = NULL, *w1c = NULL, *w2c = NULL, *x_d = NULL, *w1 = NULL, *w2 = NULL, *h = NULL, *a = NULL, *logits = NULL,
            *tg = NULL, *tg_d = NULL, *loss = NULL, *grad = NULL;
  ct_adamw *opt = NULL;
  int64_t targets[8] = {0, 1, 2, 3, 4, -100, 1, 2}, ts[1] = {8};
  OK(ct_generator_new(42, "cpu", &g));
  OK(ct_randn(xs, 2, CT_FLOAT32, "cpu", g, &x));
  OK(ct_randn(w1s, 2, CT_FLOAT32, "cpu", g, &w1c));
  OK(ct_randn(w2s, 2, CT_FLOAT32, "cpu", g, &w2c));
  ct_tensor *cast[3] = {NULL, NULL, NULL};
  OK(ct_to_dtype(x, dt, &cast[0]));
  OK(ct_to_dtype(w1c, dt, &cast[1]));
  OK(ct_to_dtype(w2c, dt, &cast[2]));
  OK(ct_to_device(cast[0], dev, &x_d));
  OK(ct_to_device(cast[1], dev, &w1));
  OK(ct_to_device(cast[2], dev, &w2));
  for (int i = 0; i < 3; i++) ct_tensor_free(cast[i]);
  OK(ct_set_requires_grad(w1, true));
  OK(ct_set_requires_grad(w2, true));
  OK(ct_matmul(x_d, w1, &h));
  OK(ct_unary(CT_SILU, h, &a));
  OK(ct_matmul(a, w2, &logits));
  OK(ct_from_host(targets, sizeof targets, ts, 1, CT_INT64, "cpu", &tg));
  OK(ct_to_device(tg, dev, &tg_d));
  OK(ct_cross_entropy(logits, tg_d, -100, CT_REDUCTION_MEAN, &loss));
  OK(ct_backward(loss, NULL));
  OK(ct_item(loss, loss_out));
  OK(ct_grad(w1, &grad));
  CHECK(grad != NULL, "no gradient");
  /* Clone first: to_device returns the same storage when already on the CPU, and clipping
   * below scales gradients in place. */
  ct_tensor *grad_copy = NULL;
  OK(ct_clone(grad, &grad_copy));
  OK(ct_to_device(grad_copy, "cpu", grad_out));
  ct_tensor_free(grad_copy);
  ct_adamw_params p = ct_adamw_default_params();
  p.lr = 0.01;
  ct_tensor *ps[2] = {w1, w2};
  OK(ct_adamw_new(&p, &opt));
  OK(ct_adamw_add_group(opt, ps, 2, 0.1));
  double norm = 0;
  OK(ct_clip_grad_norm(ps, 2, 1.0, &norm));
  OK(ct_adamw_step(opt, 0.01));
  OK(ct_to_device(w1, "cpu", w1_after));
  ct_tensor *all[] = {x, w1c, w2c, x_d, w1, w2, h, a, logits, tg, tg_d, loss, grad};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) ct_tensor_free(all[i]);
  ct_adamw_free(opt);
  ct_generator_free(g);
}

static void check_device(const char *dev) {
  double cpu_loss = 0, dev_loss = 0;
  ct_tensor *cpu_grad = NULL, *dev_grad = NULL, *cpu_w = NULL, *dev_w = NULL;
  mlp_step("cpu", CT_FLOAT32, &cpu_loss, &cpu_grad, &cpu_w);
  mlp_step(dev, CT_FLOAT32, &dev_loss, &dev_grad, &dev_w);
  CHECK(cpu_grad && dev_grad, "mlp step failed");
  printf("loss cpu %.7f %s %.7f\n", cpu_loss, dev, dev_loss);
  CHECK(fabs(cpu_loss - dev_loss) < 1e-4, "loss differs");
  double dg = max_abs_diff(cpu_grad, dev_grad), dw = max_abs_diff(cpu_w, dev_w);
  printf("max |grad cpu - grad %s| = %.2e, max |W after AdamW| diff = %.2e\n", dev, dg, dw);
  CHECK(dg < 1e-4 && dw < 1e-4, "gradients or AdamW update differ");
  /* The same step in bfloat16 on both: products and rounding differ by library (oneDNN/BLAS vs
   * cuBLAS), so within bf16's resolution: loss 1e-2 relative, gradient 3e-2 of its largest
   * entry, weights after the step 2e-2 (a bf16 ulp is 2^-8 near 1; the step moves them ~lr). */
  double b_cpu = 0, b_dev = 0;
  ct_tensor *bg[2] = {NULL, NULL}, *bw[2] = {NULL, NULL};
  mlp_step("cpu", CT_BFLOAT16, &b_cpu, &bg[0], &bw[0]);
  mlp_step(dev, CT_BFLOAT16, &b_dev, &bg[1], &bw[1]);
  CHECK(bg[0] && bg[1] && bw[0] && bw[1], "bf16 mlp step failed");
  double bdg = max_abs_diff(bg[0], bg[1]) / fmax(1e-6, largest(bg[0])), bdw = max_abs_diff(bw[0], bw[1]);
  printf("bf16 step, cpu vs %s: loss %.5f vs %.5f, gradient diff %.2e of its largest entry, W after AdamW diff %.2e\n", dev, b_cpu, b_dev, bdg,
         bdw);
  CHECK(fabs(b_cpu - b_dev) <= 1e-2 * fabs(b_cpu) && bdg < 3e-2 && bdw < 2e-2, "bf16 step differs between cpu and %s", dev);
  for (int i = 0; i < 2; i++) ct_tensor_free(bg[i]), ct_tensor_free(bw[i]);

  /* bf16 matmul on the device, sampling with a device generator, error paths. */
  int64_t s[2] = {64, 64};
  ct_tensor *a = NULL, *ab = NULL, *c = NULL, *probs = NULL, *draw = NULL, *bad = NULL;
  ct_generator *g = NULL;
  OK(ct_randn(s, 2, CT_FLOAT32, dev, NULL, &a));
  OK(ct_to_dtype(a, CT_BFLOAT16, &ab));
  OK(ct_matmul(ab, ab, &c));
  ct_dtype dt;
  OK(ct_dtype_of(c, &dt));
  CHECK(dt == CT_BFLOAT16, "bf16 matmul dtype");
  OK(ct_generator_new(7, dev, &g));
  int64_t ps[2] = {2, 4};
  float pv[8] = {0, 0, 1, 0, 1, 0, 0, 0};
  ct_tensor *ph = NULL;
  OK(ct_from_host(pv, sizeof pv, ps, 2, CT_FLOAT32, dev, &ph));
  OK(ct_multinomial(ph, 3, true, g, &draw));
  int64_t got[6];
  OK(ct_copy_to_host(draw, got, sizeof got));
  CHECK(got[0] == 2 && got[3] == 0, "multinomial on %s", dev);
  int64_t s2[2] = {3, 3};
  CHECK(ct_matmul(a, ph, &bad) == CT_ERROR_TORCH, "shape mismatch must be an error");
  printf("error message sample: %s\n", ct_last_error());
  CHECK(ct_zeros(s2, 2, CT_FLOAT32, "cuda:99", &bad) != CT_OK, "a missing device must be an error");
  printf("missing device: %s\n", ct_last_error());
  char ver[64];
  size_t need = 0;
  OK(ct_torch_version(ver, sizeof ver, &need));
  int n = 0;
  OK(ct_cuda_device_count(&n));
  printf("libtorch %s, cuda devices %d\n", ver, n);
  ct_tensor *all[] = {a, ab, c, probs, draw, ph, cpu_grad, dev_grad, cpu_w, dev_w};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) ct_tensor_free(all[i]);
  ct_generator_free(g);
}

/* Attention output and the q, k, v gradients under a given backend, on dev, back on the CPU
 * (as float32); y is backpropagated with gradient gy. */
static int attention_run(ct_attention_backend backend, const char *dev, ct_dtype dt, ct_tensor *const qkv_cpu[3],
                         ct_tensor *mask_cpu, bool causal, ct_tensor *gy_cpu, ct_tensor *res[4]) {
  ct_tensor *in[3] = {NULL, NULL, NULL}, *mask = NULL, *gy = NULL, *y = NULL, *t = NULL;
  int ok = ct_set_attention_backend(backend) == CT_OK;
  for (int i = 0; ok && i < 3; i++) {
    ok = ct_to_device(qkv_cpu[i], dev, &t) == CT_OK && ct_to_dtype(t, dt, &in[i]) == CT_OK && ct_clone(in[i], &t) == CT_OK;
    ct_tensor_free(in[i]);
    in[i] = t;
    t = NULL;
    ok = ok && ct_set_requires_grad(in[i], true) == CT_OK;
  }
  if (ok && mask_cpu) ok = ct_to_device(mask_cpu, dev, &t) == CT_OK && ct_to_dtype(t, dt, &mask) == CT_OK;
  ct_tensor_free(t);
  t = NULL;
  if (ok) ok = ct_to_device(gy_cpu, dev, &t) == CT_OK && ct_to_dtype(t, dt, &gy) == CT_OK;
  ct_tensor_free(t);
  t = NULL;
  if (ok) ok = ct_attention(in[0], in[1], in[2], mask, 0.25, causal, &y) == CT_OK && ct_backward(y, gy) == CT_OK;
  for (int i = 0; ok && i < 4; i++) {
    ct_tensor *src = NULL;
    ok = (i == 0 ? ct_share(y, &src) : ct_grad(in[i - 1], &src)) == CT_OK && src != NULL &&
         ct_to_device(src, "cpu", &t) == CT_OK && ct_to_dtype(t, CT_FLOAT32, &res[i]) == CT_OK;
    ct_tensor_free(src);
    ct_tensor_free(t);
    t = NULL;
  }
  ct_set_attention_backend(CT_ATTENTION_AUTO);
  ct_tensor *all[] = {in[0], in[1], in[2], mask, gy, y};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) ct_tensor_free(all[i]);
  return ok;
}

/* SDPA (where the shim is built against torch >= 2) against the shim's own attention on the CPU
 * in float32: packed documents (additive mask + causal), causal alone (SDPA's own is_causal),
 * and the last T of S keys (a cached decode step). On a CUDA device, the default backend there
 * (SDPA) in bf16 against the shim's own on the CPU in float32. Forward and backward. */
static void check_sdpa(const char *dev) {
  bool has = false;
  OK(ct_has_sdpa(&has));
  if (!has) {
    CHECK(ct_set_attention_backend(CT_ATTENTION_SDPA) == CT_ERROR_INVALID_ARGUMENT, "SDPA must be refused on torch 1.x");
    printf("sdpa: not in this build (torch 1.x), refused as it should be\n");
    return;
  }
  enum { B = 2, H = 3, T = 40, D = 16 };
  ct_generator *g = NULL;
  OK(ct_generator_new(3, "cpu", &g));
  /* Row 0 packs documents of 10, 20 and 10 tokens; row 1 of 25 and 15. */
  float m[B * T * T];
  for (int b = 0; b < B; b++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++) {
        int di = b == 0 ? (i < 10 ? 0 : i < 30 ? 1 : 2) : (i < 25 ? 0 : 1);
        int dj = b == 0 ? (j < 10 ? 0 : j < 30 ? 1 : 2) : (j < 25 ? 0 : 1);
        m[(b * T + i) * T + j] = di == dj ? 0.0f : -INFINITY;
      }
  int64_t ms[4] = {B, 1, T, T};
  ct_tensor *mask = NULL;
  OK(ct_from_host(m, sizeof m, ms, 4, CT_FLOAT32, "cpu", &mask));
  struct { const char *name; int64_t t; ct_tensor *mask; } cases[3] = {{"packed documents", T, mask}, {"causal", T, NULL}, {"last 8 of 40", 8, NULL}};
  for (int c = 0; c < 3; c++) {
    int64_t qs[4] = {B, H, cases[c].t, D}, ks[4] = {B, H, T, D};
    ct_tensor *qkv[3] = {NULL, NULL, NULL}, *gy = NULL, *ours[4] = {0}, *theirs[4] = {0};
    OK(ct_randn(qs, 4, CT_FLOAT32, "cpu", g, &qkv[0]));
    OK(ct_randn(ks, 4, CT_FLOAT32, "cpu", g, &qkv[1]));
    OK(ct_randn(ks, 4, CT_FLOAT32, "cpu", g, &qkv[2]));
    OK(ct_randn(qs, 4, CT_FLOAT32, "cpu", g, &gy));
    CHECK(attention_run(CT_ATTENTION_SHIM, "cpu", CT_FLOAT32, qkv, cases[c].mask, true, gy, ours), "shim attention (%s)", cases[c].name);
    CHECK(attention_run(CT_ATTENTION_SDPA, "cpu", CT_FLOAT32, qkv, cases[c].mask, true, gy, theirs), "sdpa (%s)", cases[c].name);
    double worst = 0;
    for (int i = 0; i < 4; i++) worst = fmax(worst, max_abs_diff(ours[i], theirs[i]));
    printf("sdpa vs shim attention on cpu, %s: max |diff| of y, dq, dk, dv = %.2e\n", cases[c].name, worst);
    CHECK(worst < 1e-5, "sdpa and the shim's attention disagree (%s)", cases[c].name);
    if (strncmp(dev, "cuda", 4) == 0) {
      ct_tensor *dev_res[4] = {0};
      CHECK(attention_run(CT_ATTENTION_AUTO, dev, CT_BFLOAT16, qkv, cases[c].mask, true, gy, dev_res), "sdpa on %s", dev);
      double w = 0;
      for (int i = 0; i < 4; i++) w = fmax(w, max_abs_diff(ours[i], dev_res[i]));
      printf("bf16 sdpa on %s vs fp32 shim on cpu, %s: max |diff| = %.2e\n", dev, cases[c].name, w);
      CHECK(w < 0.1, "bf16 sdpa on %s is off (%s)", dev, cases[c].name);
      for (int i = 0; i < 4; i++) ct_tensor_free(dev_res[i]);
    }
    for (int i = 0; i < 4; i++) ct_tensor_free(ours[i]), ct_tensor_free(theirs[i]);
    for (int i = 0; i < 3; i++) ct_tensor_free(qkv[i]);
    ct_tensor_free(gy);
  }
  ct_tensor_free(mask);
  ct_generator_free(g);
}

/* ct_recompute from C: y = tanh(x @ W) with W in the context, checkpointed, against the plain
 * op: the gradients of x and W; the release callback once; a failure in backward an error status. */
struct rc_ctx {
  ct_tensor *w;
  int calls, fail_on, released;
};
static ct_status rc_fn(void *p, ct_tensor *const *in, int n, ct_tensor **out) {
  struct rc_ctx *c = p;
  if (++c->calls == c->fail_on) {
    ct_set_error("rc_fn failed on purpose");
    return CT_ERROR_INVALID_ARGUMENT;
  }
  ct_tensor *h = NULL;
  if (n != 1 || ct_matmul(in[0], c->w, &h) != CT_OK) return CT_ERROR_TORCH;
  ct_status s = ct_unary(CT_TANH, h, out);
  ct_tensor_free(h);
  return s;
}
static void rc_release(void *p) { ((struct rc_ctx *)p)->released++; }

static void check_recompute(const char *dev) {
  int64_t xs[2] = {5, 8}, ws[2] = {8, 8};
  ct_tensor *xc = NULL, *wc = NULL, *x = NULL, *w = NULL, *y = NULL, *loss = NULL, *g[2][2] = {{0}};
  OK(ct_randn(xs, 2, CT_FLOAT32, "cpu", NULL, &xc));
  OK(ct_randn(ws, 2, CT_FLOAT32, "cpu", NULL, &wc));
  struct rc_ctx c = {NULL, 0, 0, 0};
  for (int pass = 0; pass < 2; pass++) {
    OK(ct_to_device(xc, dev, &x));
    OK(ct_to_device(wc, dev, &w));
    OK(ct_set_requires_grad(x, true));
    OK(ct_set_requires_grad(w, true));
    c.w = w;
    ct_tensor *in[1] = {x};
    if (pass == 0) OK(rc_fn(&c, in, 1, &y));
    else OK(ct_recompute(rc_fn, &c, rc_release, in, 1, &y));
    OK(ct_reduce(CT_SUM, y, NULL, 0, false, &loss));
    OK(ct_backward(loss, NULL));
    OK(ct_grad(x, &g[pass][0]));
    OK(ct_grad(w, &g[pass][1]));
    CHECK(pass == 0 || c.released == 0, "released while the graph lives");
    ct_tensor_free(loss), ct_tensor_free(y), ct_tensor_free(x), ct_tensor_free(w);
  }
  CHECK(c.calls == 3 && c.released == 1, "recompute: %d calls (want 3), %d releases (want 1)", c.calls, c.released);
  double d = fmax(max_abs_diff(g[0][0], g[1][0]), max_abs_diff(g[0][1], g[1][1]));
  printf("recompute on %s: max |grad diff| vs plain = %.2e\n", dev, d);
  CHECK(d < 1e-6, "recompute gradients differ");
  struct rc_ctx f = {NULL, 0, 2, 0};
  OK(ct_to_device(xc, dev, &x));
  OK(ct_to_device(wc, dev, &w));
  OK(ct_set_requires_grad(w, true));
  f.w = w;
  ct_tensor *in[1] = {x};
  OK(ct_recompute(rc_fn, &f, rc_release, in, 1, &y));
  OK(ct_reduce(CT_SUM, y, NULL, 0, false, &loss));
  CHECK(ct_backward(loss, NULL) != CT_OK && strstr(ct_last_error(), "rc_fn failed on purpose"), "a failing recompute must fail ct_backward");
  printf("failing recompute: %s\n", ct_last_error());
  ct_tensor_free(loss), ct_tensor_free(y), ct_tensor_free(x), ct_tensor_free(w);
  CHECK(f.released == 1, "released %d times", f.released);
  for (int i = 0; i < 4; i++) ct_tensor_free(g[i / 2][i % 2]);
  ct_tensor_free(xc), ct_tensor_free(wc);
}

/* ct_chunked_cross_entropy on dev (chunks of 8 of 37 rows) against the plain logits +
 * ct_cross_entropy on the CPU: loss and the gradients of hidden and weight. float32 on the CPU;
 * bfloat16 on a CUDA device (tolerance 2e-2 of the loss, 5e-2 of the largest gradient entry). */
static double chunked_ce(const char *dev, ct_dtype dt, bool chunked, ct_tensor *hc, ct_tensor *wc, ct_tensor *tc, ct_tensor *g[2]) {
  ct_tensor *h = NULL, *w = NULL, *t = NULL, *x = NULL, *logits = NULL, *loss = NULL, *gd = NULL;
  double v = NAN;
  if (ct_to_device(hc, dev, &x) || ct_to_dtype(x, dt, &h) || ct_clone(h, &x) || ct_set_requires_grad(x, true)) goto done;
  ct_tensor_free(h), h = x, x = NULL;
  if (ct_to_device(wc, dev, &x) || ct_to_dtype(x, dt, &w) || ct_clone(w, &x) || ct_set_requires_grad(x, true)) goto done;
  ct_tensor_free(w), w = x, x = NULL;
  if (ct_to_device(tc, dev, &t)) goto done;
  if (chunked ? ct_chunked_cross_entropy(h, w, t, -100, 8, &loss)
              : (ct_linear(h, w, NULL, &logits) || ct_cross_entropy(logits, t, -100, CT_REDUCTION_SUM, &loss)))
    goto done;
  if (ct_backward(loss, NULL) || ct_item(loss, &v)) goto done;
  for (int i = 0; i < 2; i++) {
    ct_grad(i == 0 ? h : w, &gd);
    ct_to_device(gd, "cpu", &g[i]);
    ct_tensor_free(gd), gd = NULL;
  }
done:
  ct_tensor_free(h), ct_tensor_free(w), ct_tensor_free(t), ct_tensor_free(x), ct_tensor_free(logits), ct_tensor_free(loss);
  return v;
}


static void check_chunked_ce(const char *dev) {
  int64_t hs[2] = {37, 16}, ws[2] = {50, 16}, ts[1] = {37};
  int64_t tv[37];
  for (int i = 0; i < 37; i++) tv[i] = i % 9 == 4 ? -100 : (i * 13) % 50;
  ct_tensor *h = NULL, *w = NULL, *t = NULL, *ref[2] = {0}, *got[2] = {0};
  ct_generator *g = NULL;
  OK(ct_generator_new(11, "cpu", &g));
  OK(ct_randn(hs, 2, CT_FLOAT32, "cpu", g, &h));
  OK(ct_randn(ws, 2, CT_FLOAT32, "cpu", g, &w));
  OK(ct_from_host(tv, sizeof tv, ts, 1, CT_INT64, "cpu", &t));
  double plain = chunked_ce("cpu", CT_FLOAT32, false, h, w, t, ref);
  bool cuda = strncmp(dev, "cuda", 4) == 0;
  double loss = chunked_ce(dev, cuda ? CT_BFLOAT16 : CT_FLOAT32, true, h, w, t, got);
  CHECK(ref[0] && ref[1] && got[0] && got[1], "chunked cross-entropy failed");
  double dl = fabs(loss - plain) / fabs(plain);
  double dh = max_abs_diff(ref[0], got[0]) / largest(ref[0]), dw = max_abs_diff(ref[1], got[1]) / largest(ref[1]);
  printf("chunked cross-entropy on %s%s vs plain fp32 cpu: loss %.6f vs %.6f, relative diff loss %.2e, dh %.2e, dw %.2e\n", dev,
         cuda ? " (bf16)" : "", loss, plain, dl, dh, dw);
  CHECK(cuda ? dl < 2e-2 && dh < 5e-2 && dw < 5e-2 : dl < 1e-5 && dh < 1e-5 && dw < 1e-5, "chunked cross-entropy differs");
  for (int i = 0; i < 2; i++) ct_tensor_free(ref[i]), ct_tensor_free(got[i]);
  ct_tensor_free(h), ct_tensor_free(w), ct_tensor_free(t);
  ct_generator_free(g);
}

int main(int argc, char **argv) {
  const char *dev = argc > 1 ? argv[1] : "cpu";
  bool cuda = false;
  ct_cuda_is_available(&cuda);
  printf("cuda available: %s\n", cuda ? "yes" : "no");
  check_device(dev);
  check_sdpa(dev);
  check_recompute(dev);
  check_chunked_ce(dev);
  printf(failures ? "device check FAILED\n" : "device check passed\n");
  return failures ? 1 : 0;
}

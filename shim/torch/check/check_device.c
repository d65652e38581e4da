/*
 * check_device.c: exercises ctorch.h from plain C on one device and compares with the CPU.
 * Used to check the shim against another libtorch (e.g. a CUDA build) where Swift is absent:
 *   shim/torch/check/build_and_run.sh /path/to/libtorch-or-torch-package [device]
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

/* loss = CE(silu(x W1) W2, targets) on `dev`; returns loss and W1's gradient (on CPU). */
static void mlp_step(const char *dev, double *loss_out, ct_tensor **grad_out, ct_tensor **w1_after) {
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
  OK(ct_to_device(x, dev, &x_d));
  OK(ct_to_device(w1c, dev, &w1));
  OK(ct_to_device(w2c, dev, &w2));
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
  mlp_step("cpu", &cpu_loss, &cpu_grad, &cpu_w);
  mlp_step(dev, &dev_loss, &dev_grad, &dev_w);
  CHECK(cpu_grad && dev_grad, "mlp step failed");
  printf("loss cpu %.7f %s %.7f\n", cpu_loss, dev, dev_loss);
  CHECK(fabs(cpu_loss - dev_loss) < 1e-4, "loss differs");
  double dg = max_abs_diff(cpu_grad, dev_grad), dw = max_abs_diff(cpu_w, dev_w);
  printf("max |grad cpu - grad %s| = %.2e, max |W after AdamW| diff = %.2e\n", dev, dg, dw);
  CHECK(dg < 1e-4 && dw < 1e-4, "gradients or AdamW update differ");

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

int main(int argc, char **argv) {
  const char *dev = argc > 1 ? argv[1] : "cpu";
  bool cuda = false;
  ct_cuda_is_available(&cuda);
  printf("cuda available: %s\n", cuda ? "yes" : "no");
  check_device(dev);
  printf(failures ? "device check FAILED\n" : "device check passed\n");
  return failures ? 1 : 0;
}

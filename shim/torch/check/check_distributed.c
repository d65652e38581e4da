/*
 * check_distributed.c: the shim's c10d collectives from plain C, one process per rank (fork).
 *   check_distributed BACKEND DEVICE WORLD_SIZE PORT     e.g.  nccl cuda 1 29500,  gloo cpu 2 29501
 * Each rank all-reduces a tensor holding rank + 1 (expects the sum 1 + ... + WORLD_SIZE), then
 * receives rank 0's tensor by broadcast, reduce-scatters a tensor holding rank + 1 (each rank
 * gets its chunk of the sum), all-gathers bf16 chunks holding rank (each rank gets 0, 1, ... in
 * order), then meets the others at a barrier. With DEVICE
 * "cuda", rank r uses cuda:(r mod device count). Prints a line per rank; exits non-zero if any
 * rank failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctorch.h"

#define TRY(call)                                                              \
  do {                                                                         \
    if ((call) != CT_OK) {                                                     \
      printf("rank %d: FAIL %s: %s\n", rank, #call, ct_last_error());          \
      fflush(stdout);                                                          \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static int run_rank(const char *backend, const char *devkind, int rank, int world, int port) {
  char dev[32];
  if (strcmp(devkind, "cuda") == 0) {
    int count = 0;
    TRY(ct_cuda_device_count(&count));
    if (count < 1) {
      printf("rank %d: FAIL no CUDA device\n", rank);
      return 1;
    }
    snprintf(dev, sizeof dev, "cuda:%d", rank % count);
  } else {
    snprintf(dev, sizeof dev, "%s", devkind);
  }
  ct_process_group *pg = NULL;
  TRY(ct_process_group_new(backend, "127.0.0.1", port, rank, world, 60, &pg));
  int64_t shape[1] = {1000};
  ct_tensor *t = NULL, *b = NULL;
  TRY(ct_full(shape, 1, rank + 1, CT_FLOAT32, dev, &t));
  TRY(ct_all_reduce_sum(pg, &t, 1));
  float host[1000];
  TRY(ct_copy_to_host(t, host, sizeof host));
  float want = world * (world + 1) / 2.0f;
  for (int i = 0; i < 1000; i++)
    if (host[i] != want) {
      printf("rank %d: FAIL all_reduce gave %g at %d, want %g\n", rank, host[i], i, want);
      return 1;
    }
  TRY(ct_full(shape, 1, 10.0 * (rank + 1), CT_FLOAT32, dev, &b));
  TRY(ct_broadcast(pg, b, 0));
  TRY(ct_copy_to_host(b, host, sizeof host));
  if (host[0] != 10.0f || host[999] != 10.0f) {
    printf("rank %d: FAIL broadcast gave %g, want 10\n", rank, host[0]);
    return 1;
  }
  /* ZeRO-1's pair: 1000 elements per rank. */
  int64_t whole[1] = {1000 * world};
  ct_tensor *rs_in = NULL, *rs_out = NULL, *ag_in = NULL, *ag_out = NULL, *ag_f = NULL;
  TRY(ct_full(whole, 1, rank + 1, CT_FLOAT32, dev, &rs_in));
  TRY(ct_zeros(shape, 1, CT_FLOAT32, dev, &rs_out));
  TRY(ct_reduce_scatter_sum(pg, rs_in, rs_out));
  TRY(ct_copy_to_host(rs_out, host, sizeof host));
  if (host[0] != want || host[999] != want) {
    printf("rank %d: FAIL reduce_scatter gave %g, want %g\n", rank, host[0], want);
    return 1;
  }
  TRY(ct_full(shape, 1, rank, CT_BFLOAT16, dev, &ag_in));
  TRY(ct_zeros(whole, 1, CT_BFLOAT16, dev, &ag_out));
  TRY(ct_all_gather(pg, ag_in, ag_out));
  TRY(ct_to_dtype(ag_out, CT_FLOAT32, &ag_f));
  float *gathered = malloc(sizeof(float) * 1000 * world);
  TRY(ct_copy_to_host(ag_f, gathered, sizeof(float) * 1000 * world));
  for (int i = 0; i < 1000 * world; i++)
    if (gathered[i] != (float)(i / 1000)) {
      printf("rank %d: FAIL all_gather gave %g at %d, want %d\n", rank, gathered[i], i, i / 1000);
      return 1;
    }
  free(gathered);
  TRY(ct_barrier(pg));
  printf("rank %d: ok (%s on %s): all_reduce %g, broadcast 10, reduce_scatter, bf16 all_gather, barrier\n", rank, backend, dev, want);
  fflush(stdout);
  ct_tensor_free(t);
  ct_tensor_free(b);
  ct_tensor_free(rs_in);
  ct_tensor_free(rs_out);
  ct_tensor_free(ag_in);
  ct_tensor_free(ag_out);
  ct_tensor_free(ag_f);
  ct_process_group_free(pg);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s BACKEND DEVICE WORLD_SIZE PORT\n", argv[0]);
    return 2;
  }
  int world = atoi(argv[3]), port = atoi(argv[4]), failed = 0;
  pid_t kids[64];
  for (int r = 1; r < world && r < 64; r++) {  /* fork before any rank touches CUDA */
    kids[r] = fork();
    if (kids[r] == 0) _exit(run_rank(argv[1], argv[2], r, world, port));
  }
  failed |= run_rank(argv[1], argv[2], 0, world, port);
  for (int r = 1; r < world && r < 64; r++) {
    int st = 0;
    waitpid(kids[r], &st, 0);
    failed |= !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  printf("%s %s x%d: %s\n", argv[1], argv[2], world, failed ? "FAILED" : "passed");
  return failed ? 1 : 0;
}

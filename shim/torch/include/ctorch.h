/*
 * ctorch.h: the C API of bcsft's libtorch shim.
 *
 * Rules (tch-rs torch-sys and llama.h are the models):
 *  - Every object is an opaque handle. Whoever receives a handle through an out-parameter
 *    owns it and frees it with the matching *_free function, exactly once.
 *  - Input handles are borrowed: a function never frees or keeps a handle it is given,
 *    unless its comment says so.
 *  - Every function returns a ct_status. CT_OK (0) means success and the out-parameters are
 *    set; any other value means failure, the out-parameters are untouched, and
 *    ct_last_error() describes what went wrong.
 *  - No C++ exception ever leaves this library: each call runs inside one exception
 *    boundary that turns std::exception and anything else into a status and a message.
 *  - Devices are strings as torch parses them: "cpu", "cuda", "cuda:1". The library builds
 *    and runs where CUDA is absent; asking for a CUDA device there is an error, not a crash.
 */
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor ct_tensor;       /* a torch tensor (autograd-aware) */
typedef struct ct_generator ct_generator; /* a seeded random generator bound to a device type */
typedef struct ct_adamw ct_adamw;         /* an AdamW optimizer over parameter groups */

typedef enum {
  CT_OK = 0,
  CT_ERROR_TORCH = 1,            /* libtorch raised (shape mismatch, bad dtype, bad index, ...) */
  CT_ERROR_INVALID_ARGUMENT = 2, /* the shim rejected an argument before calling libtorch */
  CT_ERROR_OUT_OF_MEMORY = 3,    /* an allocation failed */
  CT_ERROR_UNKNOWN = 4           /* a non-standard exception was caught */
} ct_status;

typedef enum {
  CT_FLOAT32 = 0,
  CT_FLOAT16 = 1,
  CT_BFLOAT16 = 2,
  CT_FLOAT64 = 3,
  CT_INT32 = 4,
  CT_INT64 = 5,
  CT_BOOL = 6,
  CT_UINT8 = 7
} ct_dtype;

/* The message of the last failed call on this thread. Owned by the library; valid until the
 * next failing call on the same thread. Never NULL (empty when nothing failed). */
const char *ct_last_error(void);

/* ---------------------------------------------------------------- information and settings */

/* Writes a NUL-terminated string into buf (capacity cap, may be 0) and the full length
 * (without NUL) into *needed, so callers can size a buffer and call again. */
ct_status ct_torch_version(char *buf, size_t cap, size_t *needed);
/* libtorch's build configuration (at::show_config()), same buffer contract. */
ct_status ct_build_config(char *buf, size_t cap, size_t *needed);
/* Which BLAS serves sgemm_: the library path and, for OpenBLAS, its config string. */
ct_status ct_blas_info(char *buf, size_t cap, size_t *needed);
ct_status ct_cuda_is_available(bool *out);
ct_status ct_cuda_device_count(int *out);
/* Intra-op threads used by torch kernels on this process. */
ct_status ct_set_num_threads(int n);
ct_status ct_get_num_threads(int *out);
/* OpenBLAS threads; CT_ERROR_INVALID_ARGUMENT when the BLAS in use is not OpenBLAS. */
ct_status ct_set_blas_threads(int n);
ct_status ct_get_blas_threads(int *out);
/* Which library computes ct_linear on fp32 CPU tensors. CT_GEMM_ONEDNN (the default): oneDNN's
 * sgemm, JIT-compiled for the CPU's ISA; CT_GEMM_ATEN: at::linear, i.e. the system BLAS. */
typedef enum { CT_GEMM_ATEN = 0, CT_GEMM_ONEDNN = 1 } ct_gemm_backend;
ct_status ct_set_gemm_backend(ct_gemm_backend backend);
/* Whether this build has oneDNN (compiled with CT_WITH_ONEDNN, i.e. libdnnl-dev was present);
 * without it the backend is CT_GEMM_ATEN and asking for CT_GEMM_ONEDNN is an error. */
ct_status ct_has_onednn(bool *out);
ct_status ct_get_gemm_backend(ct_gemm_backend *out);
/* Threads of the oneDNN products (0: the calling thread's OpenMP setting, i.e. torch's). */
ct_status ct_set_gemm_threads(int n);
/* The backend in effect, oneDNN's version and ISA, and the thread count; buffer contract above. */
ct_status ct_gemm_info(char *buf, size_t cap, size_t *needed);
/* The caching CPU allocator (src/kernels/allocator.cpp): keeps freed blocks of 256 KiB and
 * more for reuse, holding at most `bytes` unused; installs it as the CPU allocator for tensors
 * made from now on. 0 frees what it holds and puts c10's default allocator back. */
ct_status ct_set_cpu_cache_limit(int64_t bytes);
/* Bytes held unused now, and the allocations served from the cache (hits) or from malloc. */
ct_status ct_cpu_cache_stats(int64_t *cached_bytes, int64_t *hits, int64_t *misses);
/* Seeds the default generators of every device type. */
ct_status ct_manual_seed(uint64_t seed);

/* ---------------------------------------------------------------- creation and freeing */

/* Frees a tensor handle. NULL is allowed and ignored. Never fails. */
void ct_tensor_free(ct_tensor *t);

/* Copies nbytes from host memory (laid out C-contiguous, dtype elements) into a new tensor
 * on device. nbytes must equal numel * element size. The caller keeps `data`. */
ct_status ct_from_host(const void *data, size_t nbytes, const int64_t *shape, int ndim,
                       ct_dtype dtype, const char *device, ct_tensor **out);
ct_status ct_zeros(const int64_t *shape, int ndim, ct_dtype dtype, const char *device, ct_tensor **out);
ct_status ct_ones(const int64_t *shape, int ndim, ct_dtype dtype, const char *device, ct_tensor **out);
ct_status ct_full(const int64_t *shape, int ndim, double value, ct_dtype dtype, const char *device,
                  ct_tensor **out);
/* [start, end) with step, like torch.arange. */
ct_status ct_arange(double start, double end, double step, ct_dtype dtype, const char *device,
                    ct_tensor **out);
/* Standard normal / uniform [0,1) samples. gen may be NULL (the device's default generator);
 * a generator for another device type is an error. */
ct_status ct_randn(const int64_t *shape, int ndim, ct_dtype dtype, const char *device,
                   ct_generator *gen, ct_tensor **out);
ct_status ct_rand(const int64_t *shape, int ndim, ct_dtype dtype, const char *device,
                  ct_generator *gen, ct_tensor **out);
/* Integers uniform in [low, high). */
ct_status ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, const char *device,
                     ct_generator *gen, ct_tensor **out);

/* ---------------------------------------------------------------- queries and host copies */

ct_status ct_ndim(const ct_tensor *t, int *out);
/* Writes min(ndim, cap) sizes into dims. */
ct_status ct_shape(const ct_tensor *t, int64_t *dims, int cap);
ct_status ct_numel(const ct_tensor *t, int64_t *out);
ct_status ct_dtype_of(const ct_tensor *t, ct_dtype *out);
ct_status ct_device_of(const ct_tensor *t, char *buf, size_t cap, size_t *needed);
/* Copies the tensor's elements, C-contiguous, into dst. nbytes must equal numel * element
 * size. Works for any device (copies through the host). */
ct_status ct_copy_to_host(const ct_tensor *t, void *dst, size_t nbytes);
/* The value of a one-element tensor as a double. */
ct_status ct_item(const ct_tensor *t, double *out);

/* ---------------------------------------------------------------- elementwise and reductions */

typedef enum {
  CT_NEG, CT_EXP, CT_LOG, CT_SQRT, CT_RSQRT, CT_ABS, CT_TANH, CT_SIGMOID, CT_SILU, CT_RELU,
  CT_GELU, CT_COS, CT_SIN, CT_SQUARE, CT_RECIPROCAL, CT_LOGICAL_NOT, CT_FLOOR, CT_ISFINITE
} ct_unary_op;

typedef enum {
  CT_ADD, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_MAXIMUM, CT_MINIMUM, CT_EQ, CT_NE, CT_LT, CT_LE,
  CT_GT, CT_GE, CT_LOGICAL_AND, CT_LOGICAL_OR, CT_REMAINDER
} ct_binary_op;

typedef enum { CT_SUM, CT_MEAN, CT_AMAX, CT_AMIN } ct_reduce_op;

/* out = op(a). */
ct_status ct_unary(ct_unary_op op, const ct_tensor *a, ct_tensor **out);
/* out = op(a, b) with broadcasting. */
ct_status ct_binary(ct_binary_op op, const ct_tensor *a, const ct_tensor *b, ct_tensor **out);
/* out = op(a, s) with a scalar right-hand side. */
ct_status ct_binary_scalar(ct_binary_op op, const ct_tensor *a, double s, ct_tensor **out);
/* Reduce over dims (ndims == 0: over all elements). */
ct_status ct_reduce(ct_reduce_op op, const ct_tensor *a, const int64_t *dims, int ndims, bool keepdim,
                    ct_tensor **out);
/* torch.matmul. fp32 CPU operands with the same batch shape (no broadcasting) go through
 * oneDNN's sgemm (see ct_set_gemm_backend); transposed views are read in place. */
ct_status ct_matmul(const ct_tensor *a, const ct_tensor *b, ct_tensor **out);
/* x @ weight^T (+ bias): weight is [out, in] as in torch.nn.Linear and HF checkpoints; bias
 * may be NULL. fp32 CPU tensors go through oneDNN's sgemm (forward and backward, see
 * ct_set_gemm_backend); everything else through at::linear. No transposed copy either way. */
ct_status ct_linear(const ct_tensor *x, const ct_tensor *weight, const ct_tensor *bias, ct_tensor **out);
/* Scaled dot-product attention: softmax(q @ k^T * scale + mask) @ v for q [B, H, T, D],
 * k [B, H, S, D], v [B, H, S, Dv]; mask (may be NULL) is additive (0 or -inf), 4-D and
 * broadcastable to [B, H, T, S]. With `causal`, key j is also hidden from query i when
 * j > i + S - T (the last T of S positions; S = T in training), and fp32 CPU tensors skip the
 * products those keys would need. One op with its own backward (no gradient for the mask); fp32
 * CPU tensors go through oneDNN's sgemm with the softmax fused in (bf16/fp16 CPU tensors too,
 * over float32 copies, the result rounded back), CUDA tensors on a shim built against
 * torch >= 2 through at::scaled_dot_product_attention (ct_set_attention_backend), others
 * through composed ATen ops (softmax in float32 for half types). A query row whose keys are all masked gives NaN, as
 * softmax does. The fp32 CPU result is a [B, H, T, Dv] view of [B, T, H, Dv] memory. */
ct_status ct_attention(const ct_tensor *q, const ct_tensor *k, const ct_tensor *v, const ct_tensor *mask,
                       double scale, bool causal, ct_tensor **out);
/* Which implementation ct_attention uses. CT_ATTENTION_AUTO (the default): on a shim built
 * against torch 2 or later, CUDA tensors go through at::scaled_dot_product_attention and every
 * other tensor through the shim's own (as described above); on torch 1.x, the shim's own for all.
 * CT_ATTENTION_SHIM: the shim's own for every tensor. CT_ATTENTION_SDPA: SDPA for every tensor
 * (CPU included, to compare the two); CT_ERROR_INVALID_ARGUMENT on torch 1.x. SDPA gets
 * the same mask and scale; with `causal` and S = T and no mask it runs causal itself, otherwise
 * the causal part joins the mask, keeping the last-T-of-S convention above. A query row with
 * every key masked may give NaN or 0 there, by kernel. Process-wide setting. */
typedef enum { CT_ATTENTION_AUTO = 0, CT_ATTENTION_SHIM = 1, CT_ATTENTION_SDPA = 2 } ct_attention_backend;
ct_status ct_set_attention_backend(ct_attention_backend backend);
ct_status ct_get_attention_backend(ct_attention_backend *out);
/* Whether this build has at::scaled_dot_product_attention (built against torch >= 2). */
ct_status ct_has_sdpa(bool *out);
/* SwiGLU's product silu(gate) * up (same shapes), one op with a closed-form backward; fp32 CPU
 * tensors in one pass each way, others through ATen's silu and product. */
ct_status ct_swiglu(const ct_tensor *gate, const ct_tensor *up, ct_tensor **out);
/* RMSNorm over the last dimension, HF's LlamaRMSNorm: weight * (x / sqrt(mean(x^2) + eps)),
 * in float32 for half types. One op with a closed-form backward (x and weight). */
ct_status ct_rms_norm(const ct_tensor *x, const ct_tensor *weight, double eps, ct_tensor **out);
/* Rotary embedding in HF's rotate-half layout for x [B, H, T, D] (any strides) with cos, sin
 * [B or 1, 1, T, D/2] (the angles of the D/2 frequencies): y1 = x1 cos - x2 sin,
 * y2 = x2 cos + x1 sin for the halves of the last dimension. out is a new contiguous
 * [B, H, T, D]; one op with its own backward (for x only). */
ct_status ct_rotary(const ct_tensor *x, const ct_tensor *cos, const ct_tensor *sin, ct_tensor **out);
ct_status ct_softmax(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_status ct_log_softmax(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_status ct_cumsum(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_status ct_argmax(const ct_tensor *a, int64_t dim, bool keepdim, ct_tensor **out);
/* The k largest (or smallest) along dim; both outputs are new handles. */
ct_status ct_topk(const ct_tensor *a, int64_t k, int64_t dim, bool largest, ct_tensor **values,
                  ct_tensor **indices);
/* Sort along dim; both outputs are new handles. */
ct_status ct_sort(const ct_tensor *a, int64_t dim, bool descending, ct_tensor **values,
                  ct_tensor **indices);
/* n samples per row of non-negative weights; gen may be NULL. */
ct_status ct_multinomial(const ct_tensor *probs, int64_t n, bool replacement, ct_generator *gen,
                         ct_tensor **out);

/* ---------------------------------------------------------------- neural-network pieces */

/* weight[indices]: rows of a [V, D] table for integer indices of any shape. */
ct_status ct_embedding(const ct_tensor *weight, const ct_tensor *indices, ct_tensor **out);

typedef enum { CT_REDUCTION_NONE = 0, CT_REDUCTION_MEAN = 1, CT_REDUCTION_SUM = 2 } ct_reduction;

/* Cross-entropy of logits [N, C] against int64 targets [N]; targets equal to ignore_index
 * contribute nothing (and are not counted by MEAN). fp32 CPU logits: one op with a one-pass
 * backward (src/kernels/cross_entropy.cpp); a target outside [0, C) is an error naming its
 * row. bf16 and fp16 logits are upcast to float32 first (the result is float32; the gradient
 * returns in the logits' dtype). */
ct_status ct_cross_entropy(const ct_tensor *logits, const ct_tensor *targets, int64_t ignore_index,
                           ct_reduction reduction, ct_tensor **out);
/* The summed cross-entropy of the logits hidden [N, D] @ weight[V, D]^T against int64 targets
 * [N] (rows whose target is ignore_index contribute nothing), computed chunk_rows rows at a
 * time so that at most [chunk_rows, V] logits exist at once. Returns a float32 scalar. Forward
 * also takes the gradients of hidden and weight (those that require grad) while each chunk's
 * logits are at hand, with the softmax in float32 for half types, and keeps only those
 * ([N, D] and a float32 [V, D]); backward scales them by the incoming gradient. hidden and
 * weight share dtype and device; a target outside [0, V) is an error naming its row. Pure
 * ATen ops (src/kernels/chunked_cross_entropy.cpp): CPU and CUDA, float32 and bfloat16. */
ct_status ct_chunked_cross_entropy(const ct_tensor *hidden, const ct_tensor *weight, const ct_tensor *targets,
                                   int64_t ignore_index, int64_t chunk_rows, ct_tensor **out);
/* a where mask is false, value where it is true (mask broadcasts). */
ct_status ct_masked_fill(const ct_tensor *a, const ct_tensor *mask, double value, ct_tensor **out);
ct_status ct_where(const ct_tensor *cond, const ct_tensor *a, const ct_tensor *b, ct_tensor **out);
/* Upper / lower triangle (elements below / above `diagonal` zeroed). */
ct_status ct_triu(const ct_tensor *a, int64_t diagonal, ct_tensor **out);
ct_status ct_tril(const ct_tensor *a, int64_t diagonal, ct_tensor **out);

/* ---------------------------------------------------------------- shape and indexing */

/* Concatenate n tensors (borrowed) along dim. */
ct_status ct_cat(ct_tensor *const *tensors, int n, int64_t dim, ct_tensor **out);
ct_status ct_stack(ct_tensor *const *tensors, int n, int64_t dim, ct_tensor **out);
/* A view of `length` elements from `start` along dim (shares storage). */
ct_status ct_narrow(const ct_tensor *a, int64_t dim, int64_t start, int64_t length, ct_tensor **out);
ct_status ct_index_select(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out);
ct_status ct_gather(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out);
/* A copy of a with out[index[i][j]][j] = src[i][j] (dim 0; likewise for other dims). */
ct_status ct_scatter(const ct_tensor *a, int64_t dim, const ct_tensor *index, const ct_tensor *src, ct_tensor **out);
/* view requires compatible strides; reshape copies when it must. A -1 size is inferred. */
ct_status ct_view(const ct_tensor *a, const int64_t *shape, int ndim, ct_tensor **out);
ct_status ct_reshape(const ct_tensor *a, const int64_t *shape, int ndim, ct_tensor **out);
ct_status ct_transpose(const ct_tensor *a, int64_t dim0, int64_t dim1, ct_tensor **out);
ct_status ct_permute(const ct_tensor *a, const int64_t *dims, int ndim, ct_tensor **out);
ct_status ct_contiguous(const ct_tensor *a, ct_tensor **out);
ct_status ct_unsqueeze(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_status ct_squeeze(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_status ct_expand(const ct_tensor *a, const int64_t *shape, int ndim, ct_tensor **out);
ct_status ct_repeat_interleave(const ct_tensor *a, int64_t repeats, int64_t dim, ct_tensor **out);

/* ---------------------------------------------------------------- dtypes, devices, copies */

/* Like torch's .to(): when the tensor already has that dtype or device, the new handle shares
 * its storage (clone first for an independent copy). */
ct_status ct_to_dtype(const ct_tensor *a, ct_dtype dtype, ct_tensor **out);
ct_status ct_to_device(const ct_tensor *a, const char *device, ct_tensor **out);
/* A new tensor with its own storage (autograd history kept). */
ct_status ct_clone(const ct_tensor *a, ct_tensor **out);
/* A second handle to the same tensor: not a copy and not a view, the same autograd identity
 * (gradients recorded through either reach the same graph). Freed on its own. */
ct_status ct_share(const ct_tensor *a, ct_tensor **out);
/* A new handle sharing storage, cut from the autograd graph. */
ct_status ct_detach(const ct_tensor *a, ct_tensor **out);
/* dst[...] = src in place (broadcasting src), outside autograd. dst is modified. */
ct_status ct_copy_(ct_tensor *dst, const ct_tensor *src);

/* ---------------------------------------------------------------- autograd */

ct_status ct_set_requires_grad(ct_tensor *t, bool requires_grad);
ct_status ct_requires_grad(const ct_tensor *t, bool *out);
/* Backpropagates from t. grad may be NULL for a one-element t. */
ct_status ct_backward(const ct_tensor *t, const ct_tensor *grad);
/* The accumulated gradient of t as a new handle, or *out = NULL when t has none. */
ct_status ct_grad(const ct_tensor *t, ct_tensor **out);
/* Makes grad (borrowed; shared, not copied) the gradient of leaf tensor t, as assigning .grad
 * does in Python: what an optimizer over tensors that no backward reaches (a sharded optimizer's
 * float32 master weights) steps on. Shape, dtype and device must match t's. */
ct_status ct_set_grad(ct_tensor *t, const ct_tensor *grad);
/* Makes data (borrowed; its storage shared, not copied) the contents of t, which keeps its
 * identity, requires_grad and every handle to it, as assigning .data does in Python (what
 * module.to(dtype) does to parameters). Shape and device must match t's; the dtype may differ.
 * Call it before any backward through t: a gradient t already has keeps the old dtype. */
ct_status ct_set_data(ct_tensor *t, const ct_tensor *data);
/* Drops t's gradient (like zero_grad(set_to_none=True)). */
ct_status ct_zero_grad(ct_tensor *t);
/* Turns gradient recording on or off for this thread; *previous receives the old mode
 * (may be NULL). Callers restore it when their scope ends. */
ct_status ct_set_grad_enabled(bool enabled, bool *previous);
ct_status ct_is_grad_enabled(bool *out);

/* Activation checkpointing (torch.utils.checkpoint's re-entrant variant; src/recompute.cpp).
 * ct_recompute applies fn to n inputs as one autograd op that keeps only its inputs: forward
 * runs fn without recording a graph; backward runs fn again with grad enabled on detached
 * copies of the inputs (requiring grad as the originals did) and back-propagates the incoming
 * gradient through that graph in a nested backward, so the tensors fn uses besides its inputs
 * (parameters it closes over) accumulate their .grad there, and the inputs' gradients flow on.
 * fn must compute the same function both times: anything random in it must replay identically
 * (draw from state captured before the call, not from a generator that advances).
 *
 * The function: reads the n input handles (borrowed, valid during the call; use ct_share to
 * keep one), writes one new handle to *out (the library takes it) and returns CT_OK; or returns
 * another status after ct_set_error(message) (a handle it wrote to *out is then freed). It runs once inside
 * ct_recompute and once inside the ct_backward that reaches the op, possibly on autograd's
 * device thread; a failure there makes that ct_backward fail with the message. No exception
 * and no longjmp may leave fn.
 *
 * Ownership: ct_recompute takes ctx. release (may be NULL) is called with ctx exactly once: when
 * the op's autograd node is destroyed (the output and everything derived from it freed), or
 * before ct_recompute returns when it made no node (grad mode off) or failed. With grad mode on
 * a node is made even when no input requires grad, so the parameters fn uses get gradients.
 * Double backward (create_graph) is not supported. */
typedef ct_status (*ct_recompute_fn)(void *ctx, ct_tensor *const *inputs, int n, ct_tensor **out);
typedef void (*ct_release_fn)(void *ctx);
ct_status ct_recompute(ct_recompute_fn fn, void *ctx, ct_release_fn release, ct_tensor *const *inputs, int n,
                       ct_tensor **out);
/* Sets this thread's ct_last_error() to message (copied): for callbacks that report a failure. */
void ct_set_error(const char *message);

/* ---------------------------------------------------------------- random generators */

/* A new generator for the device type of `device`, seeded with seed. Caller frees it. */
ct_status ct_generator_new(uint64_t seed, const char *device, ct_generator **out);
void ct_generator_free(ct_generator *g);
/* The generator's full state as a new uint8 tensor, for checkpoints. */
ct_status ct_generator_get_state(const ct_generator *g, ct_tensor **out);
ct_status ct_generator_set_state(ct_generator *g, const ct_tensor *state);

/* ---------------------------------------------------------------- optimizer */

typedef struct {
  double lr;           /* default 1e-3 */
  double beta1;        /* default 0.9 */
  double beta2;        /* default 0.999 */
  double eps;          /* default 1e-8 */
  double weight_decay; /* default 0.01; groups may override */
} ct_adamw_params;

/* torch.optim.AdamW's defaults. */
ct_adamw_params ct_adamw_default_params(void);

/* A new optimizer with no parameters. Caller frees it with ct_adamw_free. */
ct_status ct_adamw_new(const ct_adamw_params *params, ct_adamw **out);
void ct_adamw_free(ct_adamw *opt);
/* Adds a group of n parameters with its own weight decay. The optimizer keeps its own
 * references to the parameters; the caller keeps (and frees) its handles. Parameters are
 * numbered in the order they are added across groups, starting at 0. */
ct_status ct_adamw_add_group(ct_adamw *opt, ct_tensor *const *params, int n, double weight_decay);
/* One AdamW step (decoupled weight decay, bias correction) at learning rate lr, outside
 * autograd. Parameters without a gradient are skipped, as torch does. */
ct_status ct_adamw_step(ct_adamw *opt, double lr);
/* Drops every parameter's gradient. */
ct_status ct_adamw_zero_grad(ct_adamw *opt);
ct_status ct_adamw_param_count(const ct_adamw *opt, int *out);
/* Bytes of the moment tensors the optimizer holds now (0 before the first step allocates them). */
ct_status ct_adamw_state_bytes(const ct_adamw *opt, int64_t *out);
/* Parameter i's state for checkpoints: step count and the two moment tensors (new handles
 * sharing the optimizer's storage, so the next step changes them: clone to keep them; *exp_avg
 * and *exp_avg_sq are NULL before the first step touched it). */
ct_status ct_adamw_get_state(const ct_adamw *opt, int i, int64_t *step, ct_tensor **exp_avg,
                             ct_tensor **exp_avg_sq);
/* Restores parameter i's state (tensors are copied; shapes must match the parameter). */
ct_status ct_adamw_set_state(ct_adamw *opt, int i, int64_t step, const ct_tensor *exp_avg,
                             const ct_tensor *exp_avg_sq);

/* Scales the gradients of n tensors so that their joint L2 norm is at most max_norm;
 * *total_norm receives the norm before clipping (may be inf or nan: the caller decides). */
ct_status ct_clip_grad_norm(ct_tensor *const *params, int n, double max_norm, double *total_norm);

/* ---------------------------------------------------------------- files */

typedef struct ct_named_tensors ct_named_tensors; /* an ordered list of (name, tensor) */

/* Saves n named tensors (borrowed) to path as a dict in torch.save's zip format, so Python's
 * torch.load reads it. Written to "<path>.tmp" and renamed into place: a reader never sees a
 * half-written file. */
ct_status ct_save(const char *path, const char *const *names, ct_tensor *const *tensors, int n);
/* Loads a dict of tensors written by ct_save or by Python's torch.save({name: tensor}).
 * A missing, truncated or foreign file is an error naming the path. Caller frees *out. */
ct_status ct_load(const char *path, ct_named_tensors **out);
ct_status ct_named_tensors_count(const ct_named_tensors *list, int *out);
/* Entry i: its name (buffer contract as above) and a new tensor handle. */
ct_status ct_named_tensors_get(const ct_named_tensors *list, int i, char *name, size_t cap, size_t *needed,
                               ct_tensor **tensor);
void ct_named_tensors_free(ct_named_tensors *list);

/* ---------------------------------------------------------------- collectives (c10d) */

typedef struct ct_process_group ct_process_group; /* a c10d process group over a TCP store */

/* Joins a group of world_size processes: rank 0 hosts a TCP store on master_addr:master_port,
 * the others connect to it (waiting up to timeout_s). backend: "gloo" (CPU tensors; where the
 * libtorch ships Gloo's headers) or "nccl" (CUDA tensors, one GPU per rank; only in a shim built
 * against a CUDA libtorch, with CT_WITH_NCCL). Caller
 * frees *out with ct_process_group_free. Fails with the store's message on a wrong address,
 * a busy port or a timeout. */
ct_status ct_process_group_new(const char *backend, const char *master_addr, int master_port, int rank, int world_size,
                               double timeout_s, ct_process_group **out);
void ct_process_group_free(ct_process_group *pg);
/* Sums n tensors (borrowed; modified in place) element-wise across all ranks, then waits. */
ct_status ct_all_reduce_sum(ct_process_group *pg, ct_tensor *const *tensors, int n);
/* Element-wise sum across ranks of the 1-D input (world_size * n elements, borrowed; its
 * contents are unspecified afterwards), of which rank r receives elements [r*n, (r+1)*n) in
 * output (n elements, contiguous, same dtype and device; written in place). NCCL runs
 * reduce_scatter; Gloo in torch 1.13 does not support it, so there it is an all-reduce of the
 * whole input in place, keeping this rank's chunk (the same sum, an all-reduce's traffic). */
ct_status ct_reduce_scatter_sum(ct_process_group *pg, ct_tensor *input, ct_tensor *output);
/* Every rank's 1-D input (n elements each, borrowed) concatenated in rank order into output
 * (world_size * n elements, contiguous, same dtype and device; written in place). Gloo in torch
 * 1.13 has no bfloat16: bf16 tensors travel bit for bit as float16 there. */
ct_status ct_all_gather(ct_process_group *pg, const ct_tensor *input, ct_tensor *output);
/* Copies root's tensor into every rank's tensor (in place), then waits. */
ct_status ct_broadcast(ct_process_group *pg, ct_tensor *tensor, int root);
ct_status ct_barrier(ct_process_group *pg);

#ifdef __cplusplus
}
#endif

#endif /* CTORCH_H */

// ct::parallel_for: split [0, n) over the OpenMP team libtorch uses, for the shim's own loops.
//
// Why not at::parallel_for: it is a header template whose `#pragma omp parallel` only works
// when the including file is compiled with -fopenmp, and the Swift toolchain's clang has no
// OpenMP. GOMP_parallel is the libgomp entry point that GCC emits for that pragma; calling it
// directly puts the loop on the same threads (and thread count) as ATen's own kernels, so there
// is no second pool to oversubscribe the cores.
#pragma once
#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>

// libgomp's entry points, declared rather than included: the Swift toolchain's clang ships no
// omp.h.
extern "C" {
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
int omp_get_max_threads(void);
void omp_set_num_threads(int);
int omp_in_parallel(void);
}

namespace ct {

// The grain for loops over rows of `row_len` floats: enough rows that a thread's share is at
// least `floats` elements, so short jobs stay on one thread.
inline int64_t rows_per_thread(int64_t row_len, int64_t floats = 32768) {
  return std::max<int64_t>(1, floats / std::max<int64_t>(row_len, 1));
}

// Calls f(begin, end) on contiguous chunks of [0, n), one chunk a thread, at most one thread
// per `grain` items. An exception thrown in a chunk is rethrown on the caller's thread.
template <class F>
void parallel_for(int64_t n, int64_t grain, const F &f) {
  if (n <= 0) return;
  int64_t threads = std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
  if (threads <= 1 || omp_in_parallel()) {
    f(int64_t(0), n);
    return;
  }
  struct Ctx {
    const F *f;
    int64_t n;
    std::exception_ptr error;
    std::mutex mu;
  } ctx{&f, n, nullptr, {}};
  GOMP_parallel(
      [](void *p) {
        auto *c = static_cast<Ctx *>(p);
        int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t chunk = (c->n + nt - 1) / nt, b = t * chunk, e = std::min(c->n, b + chunk);
        if (b >= e) return;
        try {
          (*c->f)(b, e);
        } catch (...) {
          std::lock_guard<std::mutex> g(c->mu);
          if (!c->error) c->error = std::current_exception();
        }
      },
      &ctx, static_cast<unsigned>(threads), 0);
  if (ctx.error) std::rethrow_exception(ctx.error);
}

}  // namespace ct

// A caching CPU allocator. A training step allocates the same large buffers every step
// (activations, gradients, logits); glibc gives blocks that large back to the kernel on free
// (munmap, heap trimming), so every step page-faults and zeroes them anew: a fifth of a
// step's time on 2 cores, and most of its step-to-step variance. This allocator keeps freed
// blocks of 256 KiB and more in free lists by size class (at most 1/8 waste) for reuse, up to
// a cap on the bytes it holds unused; smaller blocks are malloc'd and freed at once. Every block
// carries the same header, so one deleter frees any of them: oneDNN's bf16 kernels allocate
// through raw_allocate/raw_deallocate, which need raw_deleter().
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "../internal.h"

using namespace ct;

// torch 2.3 made Allocator::allocate non-const and added the pure virtual copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define CT_ALLOCATE_CONST
#define CT_ALLOCATOR_COPY_DATA 1
#else
#define CT_ALLOCATE_CONST const
#endif

namespace {

constexpr size_t kMinCached = 256 << 10;
// A header in front of each block holds its size class (0: not cached), so the deleter's context
// is the data pointer itself (raw_deleter then works too) and alignment stays c10's 64 bytes.
constexpr size_t kHeader = 64;

size_t size_class(size_t n) {
  if (n <= (1u << 20)) return (n + (64u << 10) - 1) & ~size_t((64u << 10) - 1);
  size_t step = size_t(1) << (63 - __builtin_clzll(n) - 3);
  return (n + step - 1) & ~(step - 1);
}

struct CachingAllocator final : c10::Allocator {
  mutable std::mutex mu;
  mutable std::unordered_map<size_t, std::vector<char *>> free_lists;
  mutable size_t cached = 0;  // bytes held in free lists
  std::atomic<size_t> limit{0};
  mutable std::atomic<int64_t> hits{0}, misses{0};

  c10::DataPtr allocate(size_t n) CT_ALLOCATE_CONST override {
    size_t cls = n < kMinCached ? 0 : size_class(n);
    char *base = nullptr;
    if (cls == 0) {
      size_t bytes = (n + kHeader + c10::gAlignment - 1) / c10::gAlignment * c10::gAlignment;
      base = static_cast<char *>(std::aligned_alloc(c10::gAlignment, bytes));
      if (!base) throw c10::Error({__func__, __FILE__, __LINE__}, "out of memory allocating " + std::to_string(n) + " bytes");
      *reinterpret_cast<size_t *>(base) = 0;
      return {base + kHeader, base + kHeader, &release, c10::Device(c10::DeviceType::CPU)};
    }
    {
      std::lock_guard<std::mutex> g(mu);
      auto it = free_lists.find(cls);
      if (it != free_lists.end() && !it->second.empty()) {
        base = it->second.back();
        it->second.pop_back();
        cached -= cls;
      }
    }
    if (base) {
      ++hits;
    } else {
      ++misses;
      base = static_cast<char *>(std::aligned_alloc(c10::gAlignment, cls + kHeader));
      if (!base) throw c10::Error({__func__, __FILE__, __LINE__}, "out of memory allocating " + std::to_string(n) + " bytes");
      *reinterpret_cast<size_t *>(base) = cls;
    }
    void *data = base + kHeader;
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }
#ifdef CT_ALLOCATOR_COPY_DATA
  void copy_data(void *dest, const void *src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif

  static void release(void *data);
};

CachingAllocator &instance() {
  // Never destroyed: tensors freed during static destruction still find it.
  static auto *a = new CachingAllocator();
  return *a;
}

void CachingAllocator::release(void *data) {
  auto &a = instance();
  char *base = static_cast<char *>(data) - kHeader;
  size_t cls = *reinterpret_cast<size_t *>(base);
  if (cls == 0) {
    std::free(base);
    return;
  }
  {
    std::lock_guard<std::mutex> g(a.mu);
    if (a.cached + cls <= a.limit.load()) {
      a.free_lists[cls].push_back(base);
      a.cached += cls;
      return;
    }
  }
  std::free(base);
}

void trim(CachingAllocator &a) {
  std::lock_guard<std::mutex> g(a.mu);
  for (auto &kv : a.free_lists)
    for (char *b : kv.second) std::free(b);
  a.free_lists.clear();
  a.cached = 0;
}

}  // namespace

extern "C" {

ct_status ct_set_cpu_cache_limit(int64_t bytes) {
  return boundary(__func__, [&] {
    require(bytes >= 0, "cache limit must be >= 0 bytes");
    auto &a = instance();
    a.limit = static_cast<size_t>(bytes);
    if (bytes == 0) {
      trim(a);
      c10::SetCPUAllocator(c10::GetDefaultCPUAllocator(), 1);
    } else {
      c10::SetCPUAllocator(&a, 1);
    }
  });
}

ct_status ct_cpu_cache_stats(int64_t *cached_bytes, int64_t *hits, int64_t *misses) {
  return boundary(__func__, [&] {
    require(cached_bytes && hits && misses, "output pointer is NULL");
    auto &a = instance();
    {
      std::lock_guard<std::mutex> g(a.mu);
      *cached_bytes = static_cast<int64_t>(a.cached);
    }
    *hits = a.hits;
    *misses = a.misses;
  });
}

}  // extern "C"

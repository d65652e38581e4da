// c10d collectives: a TCP store and a Gloo or NCCL process group behind a C handle.
//
// Gloo (CPU tensors) is in every libtorch; NCCL (CUDA tensors) only in CUDA builds, where the
// build defines CT_WITH_NCCL (shim/torch/check/build_and_run.sh does when libtorch_cuda is
// present). The c10d headers guard each backend behind USE_C10D_*, which libtorch defines for
// its own build. Since torch 2.0 the backends derive from c10d::Backend rather than
// c10d::ProcessGroup; `Group` is whichever this libtorch has (both have the calls used here).
#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#if __has_include(<gloo/config.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define CT_HAVE_GLOO 1
#endif
#ifdef CT_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>

#include "internal.h"

#if TORCH_VERSION_MAJOR >= 2
using Group = c10d::Backend;
#else
using Group = c10d::ProcessGroup;
#endif

using namespace ct;

struct ct_process_group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Group> pg;
  bool nccl = false;
};

extern "C" {

ct_status ct_process_group_new(const char *backend, const char *master_addr, int master_port, int rank, int world_size,
                               double timeout_s, ct_process_group **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(backend && master_addr, "backend or master_addr is NULL");
    require(world_size >= 1 && rank >= 0 && rank < world_size, "rank must lie in [0, world_size)");
    require(master_port > 0 && master_port < 65536, "master_port must be a TCP port");
    require(timeout_s > 0, "timeout must be positive");
    std::string b(backend);
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    auto make_store = [&] {
      c10d::TCPStoreOptions opts;
      opts.port = static_cast<std::uint16_t>(master_port);
      opts.isServer = rank == 0;
      opts.numWorkers = static_cast<std::size_t>(world_size);
      opts.waitWorkers = true;
      opts.timeout = timeout;
      return c10::make_intrusive<c10d::TCPStore>(std::string(master_addr), opts);
    };
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<Group> pg;
    if (b == "gloo") {
#ifdef CT_HAVE_GLOO
      store = make_store();
      auto options = c10d::ProcessGroupGloo::Options::create();
      options->timeout = timeout;
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
#else
      throw InvalidArgument("backend 'gloo' is not available: this libtorch ships no Gloo headers");
#endif
    } else if (b == "nccl") {
#ifdef CT_WITH_NCCL
      // One GPU per rank, and the tensors on it: NCCL refuses two ranks on one GPU.
      store = make_store();
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, options);
#else
      throw InvalidArgument("backend 'nccl' is not available in this build (it needs the shim built against a CUDA libtorch; gloo is)");
#endif
    } else {
      throw InvalidArgument("unknown backend '" + b + "' (gloo for CPU tensors, nccl for CUDA tensors)");
    }
    *out = new ct_process_group{store, pg, b == "nccl"};
  });
}

void ct_process_group_free(ct_process_group *pg) {
  if (!pg) return;
#ifdef CT_WITH_NCCL
  // NCCL's communicators are torn down explicitly (what destroy_process_group() does in
  // Python); without it torch 2.x warns at exit that resources may leak.
  if (pg->nccl) {
    try {
      static_cast<c10d::ProcessGroupNCCL *>(pg->pg.get())->shutdown();
    } catch (...) {
    }
  }
#endif
  delete pg;
}

ct_status ct_all_reduce_sum(ct_process_group *pg, ct_tensor *const *tensors, int n) {
  return boundary(__func__, [&] {
    require(pg != nullptr, "process group is NULL");
    require(n >= 0 && (n == 0 || tensors != nullptr), "tensor list is NULL");
    if (n == 0) return;
    std::vector<at::Tensor> ts;
    for (int i = 0; i < n; ++i) ts.push_back(T(tensors[i]));
    // One flat buffer: one collective instead of n, and contiguous memory for Gloo.
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> flat{at::cat([&] {
      std::vector<at::Tensor> v;
      for (auto &t : ts) v.push_back(t.reshape({-1}));
      return v;
    }())};
    pg->pg->allreduce(flat, c10d::AllreduceOptions())->wait();
    int64_t off = 0;
    for (auto &t : ts) {
      auto n = t.numel();
      t.copy_(flat[0].narrow(0, off, n).view(t.sizes()));
      off += n;
    }
  });
}

// Gloo in torch 1.13 has no reduce_scatter (ProcessGroupGloo throws "does not support
// reduce_scatter"): there the sum is an all-reduce of the whole buffer, in place (no second
// buffer of its size), of which each rank keeps its chunk. Same result, the traffic of an
// all-reduce. NCCL runs the real collective.
ct_status ct_reduce_scatter_sum(ct_process_group *pg, ct_tensor *input, ct_tensor *output) {
  return boundary(__func__, [&] {
    require(pg != nullptr && output != nullptr, "process group or output is NULL");
    const auto &in = T(input);
    auto &out = output->t;
    int64_t w = pg->pg->getSize(), r = pg->pg->getRank();
    require(in.dim() == 1 && out.dim() == 1 && in.numel() == w * out.numel(),
            "reduce_scatter: input must be 1-D with world_size times the output's elements");
    require(in.scalar_type() == out.scalar_type() && in.device() == out.device(), "reduce_scatter: input and output differ in dtype or device");
    require(out.is_contiguous(), "reduce_scatter: the output must be contiguous");
    at::NoGradGuard no_grad;
    int64_t n = out.numel();
    if (pg->nccl) {
      std::vector<at::Tensor> outs{out};
      std::vector<std::vector<at::Tensor>> ins(1);
      auto flat = in.contiguous();
      for (int64_t i = 0; i < w; ++i) ins[0].push_back(flat.narrow(0, i * n, n));
      pg->pg->reduce_scatter(outs, ins, c10d::ReduceScatterOptions())->wait();
      return;
    }
    std::vector<at::Tensor> flat{in.is_contiguous() ? in : in.contiguous()};
    pg->pg->allreduce(flat, c10d::AllreduceOptions())->wait();
    out.copy_(flat[0].narrow(0, r * n, n));
  });
}

ct_status ct_all_gather(ct_process_group *pg, const ct_tensor *input, ct_tensor *output) {
  return boundary(__func__, [&] {
    require(pg != nullptr && output != nullptr, "process group or output is NULL");
    const auto &in = T(input);
    auto &out = output->t;
    int64_t w = pg->pg->getSize();
    require(in.dim() == 1 && out.dim() == 1 && out.numel() == w * in.numel(),
            "all_gather: output must be 1-D with world_size times the input's elements");
    require(in.scalar_type() == out.scalar_type() && in.device() == out.device(), "all_gather: input and output differ in dtype or device");
    require(out.is_contiguous(), "all_gather: the output must be contiguous");
    at::NoGradGuard no_grad;
    int64_t n = in.numel();
    // Gloo in torch 1.13 has no bfloat16 ("Invalid scalar type"); a gather only copies bytes, so
    // the same bits travel as float16, which it has.
    bool as_half = !pg->nccl && in.scalar_type() == at::kBFloat16;
    auto dst = as_half ? out.view(at::kHalf) : out;
    std::vector<at::Tensor> ins{as_half ? in.contiguous().view(at::kHalf) : in.contiguous()};
    std::vector<std::vector<at::Tensor>> outs(1);
    for (int64_t i = 0; i < w; ++i) outs[0].push_back(dst.narrow(0, i * n, n));
    pg->pg->allgather(outs, ins, c10d::AllgatherOptions())->wait();
  });
}

ct_status ct_broadcast(ct_process_group *pg, ct_tensor *tensor, int root) {
  return boundary(__func__, [&] {
    require(pg != nullptr && tensor != nullptr, "process group or tensor is NULL");
    std::vector<at::Tensor> ts{tensor->t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    at::NoGradGuard no_grad;
    pg->pg->broadcast(ts, o)->wait();
  });
}

ct_status ct_barrier(ct_process_group *pg) {
  return boundary(__func__, [&] {
    require(pg != nullptr, "process group is NULL");
    pg->pg->barrier()->wait();
  });
}

}  // extern "C"

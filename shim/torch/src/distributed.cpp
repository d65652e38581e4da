// c10d collectives: a TCP store and a Gloo process group behind a C handle.
// The c10d headers guard Gloo behind USE_C10D_GLOO, which libtorch defines for its own build.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>

#include "internal.h"

using namespace ct;

struct ct_process_group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
};

extern "C" {

CT_API(ct_process_group_new, (const char *backend, const char *master_addr, int master_port, int rank, int world_size,
                              double timeout_s, ct_process_group **out)) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(backend && master_addr, "backend or master_addr is NULL");
    require(world_size >= 1 && rank >= 0 && rank < world_size, "rank must lie in [0, world_size)");
    require(master_port > 0 && master_port < 65536, "master_port must be a TCP port");
    require(timeout_s > 0, "timeout must be positive");
    std::string b(backend);
    if (b != "gloo")
      throw InvalidArgument("backend '" + b + "' is not available in this build (gloo is; NCCL needs a CUDA libtorch build of the shim)");
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(master_port);
    opts.isServer = rank == 0;
    opts.numWorkers = static_cast<std::size_t>(world_size);
    opts.waitWorkers = true;
    opts.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(master_addr), opts);
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
    *out = new ct_process_group{store, pg};
  });
}

void ct_process_group_free(ct_process_group *pg) { delete pg; }

CT_API(ct_all_reduce_sum, (ct_process_group * pg, ct_tensor *const *tensors, int n)) {
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

CT_API(ct_broadcast, (ct_process_group * pg, ct_tensor *tensor, int root)) {
  return boundary(__func__, [&] {
    require(pg != nullptr && tensor != nullptr, "process group or tensor is NULL");
    std::vector<at::Tensor> ts{tensor->t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    at::NoGradGuard no_grad;
    pg->pg->broadcast(ts, o)->wait();
  });
}

CT_API(ct_barrier, (ct_process_group * pg)) {
  return boundary(__func__, [&] {
    require(pg != nullptr, "process group is NULL");
    pg->pg->barrier()->wait();
  });
}

}  // extern "C"

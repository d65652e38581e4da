// Random generators (ctorch.h's "random generators" section): seeded per device type, with
// their state as a uint8 tensor for checkpoints.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <mutex>

#include "internal.h"

using namespace ct;

extern "C" {

ct_status ct_generator_new(uint64_t seed, const char *dev, ct_generator **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    auto d = device(dev);
    at::Generator g;
    if (d.is_cpu()) {
      g = at::make_generator<at::CPUGeneratorImpl>(seed);
    } else {
      g = at::globalContext().defaultGenerator(d).clone();
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    *out = new ct_generator{std::move(g)};
  });
}
void ct_generator_free(ct_generator *g) { delete g; }
ct_status ct_generator_get_state(const ct_generator *g, ct_tensor **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(g != nullptr, "generator is NULL");
    auto gen = g->g;
    std::lock_guard<std::mutex> lock(gen.mutex());
    *out = wrap(gen.get_state());
  });
}
ct_status ct_generator_set_state(ct_generator *g, const ct_tensor *state) {
  return boundary(__func__, [&] {
    require(g != nullptr, "generator is NULL");
    const auto &s = T(state);
    require(s.scalar_type() == at::kByte, "generator state must be a uint8 tensor");
    std::lock_guard<std::mutex> lock(g->g.mutex());
    g->g.set_state(s);
  });
}

}  // extern "C"

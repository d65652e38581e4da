// Named-tensor files in torch.save's format, through libtorch's pickler.
#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "internal.h"

using namespace ct;

struct ct_named_tensors {
  std::vector<std::pair<std::string, at::Tensor>> items;
};

extern "C" {

ct_status ct_save(const char *path, const char *const *names, ct_tensor *const *tensors, int n) {
  return boundary(__func__, [&] {
    require(path != nullptr, "path is NULL");
    require(n >= 0 && (n == 0 || (names && tensors)), "names or tensors is NULL");
    c10::Dict<std::string, at::Tensor> dict;
    for (int i = 0; i < n; ++i) {
      require(names[i] != nullptr, "a name is NULL");
      dict.insert(names[i], T(tensors[i]).detach().to(at::kCPU));
    }
    // torch.save's zip layout (archive/data.pkl + one record per storage), written straight to
    // the file: torch::jit::pickle_save would first build the whole file in memory, a second copy
    // of every tensor (the optimizer's moments are twice the model).
    std::string tmp = std::string(path) + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!f) throw std::runtime_error(std::string("cannot open ") + tmp + " for writing");
      std::vector<char> program;
      // No type tags on the dict: PyTorch >= 2.6's torch.load (weights_only by default) refuses
      // the torch.jit global that a tag calls; an untagged dict of tensors loads there and in 1.13.
      torch::jit::Pickler pickler([&](const char *p, size_t k) { program.insert(program.end(), p, p + k); }, nullptr, nullptr,
                                  nullptr, nullptr, /*tag_aggregates=*/false);
      pickler.protocol();
      pickler.pushIValue(dict);
      pickler.stop();
      caffe2::serialize::PyTorchStreamWriter writer([&](const void *p, size_t k) -> size_t {
        f.write(static_cast<const char *>(p), static_cast<std::streamsize>(k));
        return f ? k : 0;
      });
      torch::jit::writeArchiveAndTensors("data", program.data(), program.size(), pickler.tensorData(), writer);
      writer.writeEndOfFile();
      f.flush();
      if (!f) throw std::runtime_error(std::string("write failed: ") + tmp);
    }
    if (std::rename(tmp.c_str(), path) != 0) throw std::runtime_error(std::string("cannot rename ") + tmp + " to " + path);
  });
}

ct_status ct_load(const char *path, ct_named_tensors **out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(path != nullptr, "path is NULL");
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(std::string(path) + ": cannot open file");
    f.close();
    // Record by record from the file (torch::jit::pickle_load would first read it whole into
    // memory, a second copy of every tensor).
    at::IValue v;
    try {
      caffe2::serialize::PyTorchStreamReader reader{std::string(path)};
      v = torch::jit::readArchiveAndTensors("data", "", "", {}, {}, {}, reader);
    } catch (const c10::Error &e) {
      throw std::runtime_error(std::string(path) + ": not a readable torch.save file: " + e.what_without_backtrace());
    }
    if (!v.isGenericDict()) throw std::runtime_error(std::string(path) + ": expected a dict of tensors");
    auto list = std::make_unique<ct_named_tensors>();
    for (const auto &entry : v.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor())
        throw std::runtime_error(std::string(path) + ": expected a dict of str to tensor");
      list->items.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
    *out = list.release();
  });
}

ct_status ct_named_tensors_count(const ct_named_tensors *list, int *out) {
  return boundary(__func__, [&] {
    CT_OUT(out);
    require(list != nullptr, "list is NULL");
    *out = static_cast<int>(list->items.size());
  });
}

ct_status ct_named_tensors_get(const ct_named_tensors *list, int i, char *name, size_t cap, size_t *needed,
                               ct_tensor **tensor) {
  return boundary(__func__, [&] {
    CT_OUT(tensor);
    require(list != nullptr, "list is NULL");
    require(i >= 0 && i < static_cast<int>(list->items.size()), "index out of range");
    const auto &item = list->items[i];
    auto t = wrap(item.second);
    write_string(item.first, name, cap, needed);
    *tensor = t;
  });
}

void ct_named_tensors_free(ct_named_tensors *list) { delete list; }

}  // extern "C"

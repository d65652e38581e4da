// Named-tensor files in torch.save's format, through libtorch's pickler.
#include <ATen/ATen.h>
#include <torch/csrc/jit/serialization/pickle.h>

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
    std::vector<char> bytes = torch::jit::pickle_save(dict);
    std::string tmp = std::string(path) + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!f) throw std::runtime_error(std::string("cannot open ") + tmp + " for writing");
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
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
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    at::IValue v;
    try {
      v = torch::jit::pickle_load(bytes);
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

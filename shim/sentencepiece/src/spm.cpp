// C API over SentencePiece. See include/cspm.h for the contract.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "cspm.h"

struct cspm_processor {
  sentencepiece::SentencePieceProcessor sp;
};

namespace {

thread_local std::string last_error;

struct InvalidArgument {
  std::string message;
};

// The one exception boundary of this library.
template <class F>
int boundary(const char *fn, F &&body) noexcept {
  try {
    return body();
  } catch (const InvalidArgument &e) {
    last_error = std::string(fn) + ": " + e.message;
    return CSPM_INVALID_ARGUMENT;
  } catch (const std::exception &e) {
    last_error = std::string(fn) + ": " + e.what();
    return CSPM_ERROR;
  } catch (...) {
    last_error = std::string(fn) + ": unknown C++ exception";
    return CSPM_ERROR;
  }
}

int fail(const char *fn, const sentencepiece::util::Status &s) {
  last_error = std::string(fn) + ": " + s.ToString();
  return CSPM_ERROR;
}

void require(bool ok, const char *what) {
  if (!ok) throw InvalidArgument{what};
}

const sentencepiece::SentencePieceProcessor &P(const cspm_processor *p) {
  require(p != nullptr, "processor is NULL");
  return p->sp;
}

// Copies data into a caller buffer, reporting the needed size.
template <class T>
int deliver(const T *data, size_t n, T *buf, size_t cap, size_t *needed) {
  require(needed != nullptr, "needed is NULL");
  *needed = n;
  if (n > cap) return CSPM_BUFFER_TOO_SMALL;
  if (n) std::memcpy(buf, data, n * sizeof(T));
  return CSPM_OK;
}

}  // namespace

extern "C" {

const char *cspm_last_error(void) { return last_error.c_str(); }
const char *cspm_version(void) { return "0.1.x (system libsentencepiece)"; }

int cspm_load(const char *path, cspm_processor **out) {
  return boundary(__func__, [&]() -> int {
    require(path && out, "path or out is NULL");
    auto p = std::make_unique<cspm_processor>();
    auto s = p->sp.Load(path);
    if (!s.ok()) return fail(__func__, s);
    *out = p.release();
    return CSPM_OK;
  });
}

int cspm_load_from_bytes(const void *data, size_t len, cspm_processor **out) {
  return boundary(__func__, [&]() -> int {
    require(data && out, "data or out is NULL");
    auto p = std::make_unique<cspm_processor>();
    auto s = p->sp.LoadFromSerializedProto(std::string(static_cast<const char *>(data), len));
    if (!s.ok()) return fail(__func__, s);
    *out = p.release();
    return CSPM_OK;
  });
}

void cspm_free(cspm_processor *p) { delete p; }

int cspm_encode(const cspm_processor *p, const char *text, size_t len, int32_t *ids, size_t cap, size_t *needed) {
  return boundary(__func__, [&]() -> int {
    require(text || len == 0, "text is NULL");
    std::vector<int> v;
    auto s = P(p).Encode(absl::string_view(text ? text : "", len), &v);
    if (!s.ok()) return fail(__func__, s);
    static_assert(sizeof(int) == sizeof(int32_t), "int is 32-bit");
    return deliver(reinterpret_cast<const int32_t *>(v.data()), v.size(), ids, cap, needed);
  });
}

int cspm_decode(const cspm_processor *p, const int32_t *ids, size_t n, char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&]() -> int {
    require(ids || n == 0, "ids is NULL");
    const auto &sp = P(p);
    std::vector<int> v(ids, ids + n);
    for (int id : v)
      if (id < 0 || id >= sp.GetPieceSize()) throw InvalidArgument{"id " + std::to_string(id) + " is outside the vocabulary (size " + std::to_string(sp.GetPieceSize()) + ")"};
    std::string text;
    auto s = sp.Decode(v, &text);
    if (!s.ok()) return fail(__func__, s);
    return deliver(text.data(), text.size(), buf, cap, needed);
  });
}

int cspm_vocab_size(const cspm_processor *p, int32_t *out) {
  return boundary(__func__, [&]() -> int {
    require(out != nullptr, "out is NULL");
    *out = P(p).GetPieceSize();
    return CSPM_OK;
  });
}

int cspm_piece_to_id(const cspm_processor *p, const char *piece, size_t len, int32_t *out) {
  return boundary(__func__, [&]() -> int {
    require(piece && out, "piece or out is NULL");
    *out = P(p).PieceToId(absl::string_view(piece, len));
    return CSPM_OK;
  });
}

int cspm_id_to_piece(const cspm_processor *p, int32_t id, char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&]() -> int {
    const auto &sp = P(p);
    if (id < 0 || id >= sp.GetPieceSize()) throw InvalidArgument{"id " + std::to_string(id) + " is outside the vocabulary"};
    const std::string &piece = sp.IdToPiece(id);
    return deliver(piece.data(), piece.size(), buf, cap, needed);
  });
}

int cspm_special_ids(const cspm_processor *p, int32_t *bos, int32_t *eos, int32_t *pad, int32_t *unk) {
  return boundary(__func__, [&]() -> int {
    require(bos && eos && pad && unk, "an out-parameter is NULL");
    const auto &sp = P(p);
    *bos = sp.bos_id();
    *eos = sp.eos_id();
    *pad = sp.pad_id();
    *unk = sp.unk_id();
    return CSPM_OK;
  });
}

int cspm_id_kind(const cspm_processor *p, int32_t id, int32_t *is_control, int32_t *is_unknown, int32_t *is_byte) {
  return boundary(__func__, [&]() -> int {
    require(is_control && is_unknown && is_byte, "an out-parameter is NULL");
    const auto &sp = P(p);
    if (id < 0 || id >= sp.GetPieceSize()) throw InvalidArgument{"id " + std::to_string(id) + " is outside the vocabulary"};
    *is_control = sp.IsControl(id);
    *is_unknown = sp.IsUnknown(id);
    *is_byte = sp.IsByte(id);
    return CSPM_OK;
  });
}

int cspm_train(const char *const *keys, const char *const *values, int n) {
  return boundary(__func__, [&]() -> int {
    require(n >= 0 && (n == 0 || (keys && values)), "keys or values is NULL");
    std::unordered_map<std::string, std::string> kw;
    for (int i = 0; i < n; ++i) {
      require(keys[i] && values[i], "a key or value is NULL");
      kw[keys[i]] = values[i];
    }
    auto s = sentencepiece::SentencePieceTrainer::Train(kw);
    if (!s.ok()) return fail(__func__, s);
    return CSPM_OK;
  });
}

}  // extern "C"

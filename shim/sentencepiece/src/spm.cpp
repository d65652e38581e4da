// C API over SentencePiece. See include/cspm.h for the contract. The functions have internal
// linkage and are reached only through the table cspm_get_api returns; the linker's version
// script (exports.map) leaves cspm_get_api the library's one exported symbol.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <memory>
#include <new>
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
// A sentencepiece::util::Status that is not OK, as an exception (check() below).
struct SentencePieceError {
  std::string message;
};

void set_last_error(const char *fn, const std::string &message) { last_error = std::string(fn) + ": " + message; }

// THE exception boundary: every function in the table runs its body through this, so no C++
// exception can reach the caller, and every failure's message starts with the function's name.
// Bodies assign out-parameters last, after all throwing work, and return CSPM_OK or
// CSPM_BUFFER_TOO_SMALL.
template <class F>
cspm_status boundary(const char *fn, F &&body) noexcept {
  try {
    cspm_status s = body();
    if (s == CSPM_BUFFER_TOO_SMALL)
      set_last_error(fn, "the buffer is too small; *needed holds the size required");
    return s;
  } catch (const SentencePieceError &e) {
    set_last_error(fn, e.message);
    return CSPM_ERROR_SENTENCEPIECE;
  } catch (const InvalidArgument &e) {
    set_last_error(fn, e.message);
    return CSPM_ERROR_INVALID_ARGUMENT;
  } catch (const std::bad_alloc &) {
    set_last_error(fn, "out of memory");
    return CSPM_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    set_last_error(fn, e.what());
    return CSPM_ERROR_SENTENCEPIECE;
  } catch (...) {
    set_last_error(fn, "unknown C++ exception");
    return CSPM_ERROR_UNKNOWN;
  }
}

void check(const sentencepiece::util::Status &s) {
  if (!s.ok()) throw SentencePieceError{s.ToString()};
}

void require(bool ok, const char *what) {
  if (!ok) throw InvalidArgument{what};
}

const sentencepiece::SentencePieceProcessor &P(const cspm_processor *p) {
  require(p != nullptr, "processor is NULL");
  return p->sp;
}

void require_id(const sentencepiece::SentencePieceProcessor &sp, int id) {
  if (id < 0 || id >= sp.GetPieceSize())
    throw InvalidArgument{"id " + std::to_string(id) + " is outside the vocabulary (size " +
                          std::to_string(sp.GetPieceSize()) + ")"};
}

// Copies n elements into a caller buffer of cap elements, reporting the needed count: the
// "buffer, capacity, needed" contract of cspm.h.
template <class T>
cspm_status deliver(const T *data, size_t n, T *buf, size_t cap, size_t *needed) {
  require(needed != nullptr, "needed is NULL");
  require(buf != nullptr || cap == 0, "buffer is NULL but its capacity is not 0");
  *needed = n;
  if (n > cap) return CSPM_BUFFER_TOO_SMALL;
  if (n) std::memcpy(buf, data, n * sizeof(T));
  return CSPM_OK;
}

const char *cspm_last_error() { return last_error.c_str(); }
const char *cspm_version() { return "0.1.x (system libsentencepiece)"; }

cspm_status cspm_load(const char *path, cspm_processor **out) {
  return boundary(__func__, [&] {
    require(path && out, "path or out is NULL");
    auto p = std::make_unique<cspm_processor>();
    check(p->sp.Load(path));
    *out = p.release();
    return CSPM_OK;
  });
}

cspm_status cspm_load_from_bytes(const void *data, size_t len, cspm_processor **out) {
  return boundary(__func__, [&] {
    require(data && out, "data or out is NULL");
    auto p = std::make_unique<cspm_processor>();
    check(p->sp.LoadFromSerializedProto(std::string(static_cast<const char *>(data), len)));
    *out = p.release();
    return CSPM_OK;
  });
}

void cspm_free(cspm_processor *p) { delete p; }

cspm_status cspm_encode(const cspm_processor *p, const char *text, size_t len, int32_t *ids, size_t cap,
                        size_t *needed) {
  return boundary(__func__, [&] {
    require(text || len == 0, "text is NULL");
    std::vector<int> v;
    check(P(p).Encode(absl::string_view(text ? text : "", len), &v));
    static_assert(sizeof(int) == sizeof(int32_t), "int is 32-bit");
    return deliver(reinterpret_cast<const int32_t *>(v.data()), v.size(), ids, cap, needed);
  });
}

cspm_status cspm_encode_with_offsets(const cspm_processor *p, const char *text, size_t len, int32_t *ids,
                                     size_t *begins, size_t *ends, size_t cap, size_t *needed) {
  return boundary(__func__, [&] {
    require(text || len == 0, "text is NULL");
    require(needed != nullptr, "needed is NULL");
    require((ids && begins && ends) || cap == 0, "a buffer is NULL but the capacity is not 0");
    // Encode into the proto directly rather than through EncodeAsImmutableProto, which drops
    // the status outside SWIG builds: a failure must be reported, not read as "no pieces".
    sentencepiece::ImmutableSentencePieceText spt;
    check(P(p).Encode(absl::string_view(text ? text : "", len), spt.mutable_proto()));
    const size_t n = spt.pieces_size();
    // SentencePiece's spans are byte offsets into the input it was given. Check what cspm.h
    // promises of them before writing anything, so a failure leaves the buffers untouched.
    for (size_t i = 0; i < n; ++i) {
      const auto piece = spt.pieces(static_cast<int>(i));
      const bool ordered = i == 0 || piece.begin() >= spt.pieces(static_cast<int>(i - 1)).end();
      if (piece.begin() > piece.end() || piece.end() > len || !ordered)
        throw SentencePieceError{"piece " + std::to_string(i) + " has the span [" + std::to_string(piece.begin()) + ", " +
                                 std::to_string(piece.end()) + "), out of order or outside the text of " +
                                 std::to_string(len) + " bytes"};
    }
    *needed = n;
    if (n > cap) return CSPM_BUFFER_TOO_SMALL;
    for (size_t i = 0; i < n; ++i) {
      const auto piece = spt.pieces(static_cast<int>(i));
      ids[i] = static_cast<int32_t>(piece.id());
      begins[i] = piece.begin();
      ends[i] = piece.end();
    }
    return CSPM_OK;
  });
}

cspm_status cspm_decode(const cspm_processor *p, const int32_t *ids, size_t n, char *buf, size_t cap,
                        size_t *needed) {
  return boundary(__func__, [&] {
    require(ids || n == 0, "ids is NULL");
    const auto &sp = P(p);
    std::vector<int> v(ids, ids + n);
    for (int id : v) require_id(sp, id);
    std::string text;
    check(sp.Decode(v, &text));
    return deliver(text.data(), text.size(), buf, cap, needed);
  });
}

cspm_status cspm_vocab_size(const cspm_processor *p, int32_t *out) {
  return boundary(__func__, [&] {
    require(out != nullptr, "out is NULL");
    *out = P(p).GetPieceSize();
    return CSPM_OK;
  });
}

cspm_status cspm_piece_to_id(const cspm_processor *p, const char *piece, size_t len, int32_t *out) {
  return boundary(__func__, [&] {
    require(piece && out, "piece or out is NULL");
    *out = P(p).PieceToId(absl::string_view(piece, len));
    return CSPM_OK;
  });
}

cspm_status cspm_id_to_piece(const cspm_processor *p, int32_t id, char *buf, size_t cap, size_t *needed) {
  return boundary(__func__, [&] {
    const auto &sp = P(p);
    require_id(sp, id);
    const std::string &piece = sp.IdToPiece(id);
    return deliver(piece.data(), piece.size(), buf, cap, needed);
  });
}

cspm_status cspm_special_ids(const cspm_processor *p, int32_t *bos, int32_t *eos, int32_t *pad, int32_t *unk) {
  return boundary(__func__, [&] {
    require(bos && eos && pad && unk, "an out-parameter is NULL");
    const auto &sp = P(p);
    *bos = sp.bos_id();
    *eos = sp.eos_id();
    *pad = sp.pad_id();
    *unk = sp.unk_id();
    return CSPM_OK;
  });
}

cspm_status cspm_id_kind(const cspm_processor *p, int32_t id, int32_t *is_control, int32_t *is_unknown,
                         int32_t *is_byte) {
  return boundary(__func__, [&] {
    require(is_control && is_unknown && is_byte, "an out-parameter is NULL");
    const auto &sp = P(p);
    require_id(sp, id);
    *is_control = sp.IsControl(id);
    *is_unknown = sp.IsUnknown(id);
    *is_byte = sp.IsByte(id);
    return CSPM_OK;
  });
}

cspm_status cspm_train(const char *const *keys, const char *const *values, int n) {
  return boundary(__func__, [&] {
    require(n >= 0 && (n == 0 || (keys && values)), "keys or values is NULL");
    std::unordered_map<std::string, std::string> kw;
    for (int i = 0; i < n; ++i) {
      require(keys[i] && values[i], "a key or value is NULL");
      kw[keys[i]] = values[i];
    }
    check(sentencepiece::SentencePieceTrainer::Train(kw));
    return CSPM_OK;
  });
}

// The table, filled member by member: each function is checked against its member's type by
// name, so two members of the same type (last_error and version) cannot be swapped unseen.
constexpr cspm_api make_api() {
  cspm_api a{};
  a.abi_version = CSPM_API_VERSION;
  a.struct_size = sizeof(cspm_api);
  a.last_error = cspm_last_error;
  a.version = cspm_version;
  a.load = cspm_load;
  a.load_from_bytes = cspm_load_from_bytes;
  a.free = cspm_free;
  a.encode = cspm_encode;
  a.decode = cspm_decode;
  a.vocab_size = cspm_vocab_size;
  a.piece_to_id = cspm_piece_to_id;
  a.id_to_piece = cspm_id_to_piece;
  a.special_ids = cspm_special_ids;
  a.id_kind = cspm_id_kind;
  a.train = cspm_train;
  a.encode_with_offsets = cspm_encode_with_offsets;
  return a;
}
constexpr cspm_api api = make_api();

}  // namespace

extern "C" const cspm_api *cspm_get_api(void) { return &api; }

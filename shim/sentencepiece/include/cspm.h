/*
 * cspm.h: the C API of bcsft's SentencePiece shim (libSentencePieceShim.so).
 *
 * This library is never linked into a binary that also links libtorch: Debian's
 * libsentencepiece carries its own protobuf-lite and the two protobufs clash
 * (docs/design.md, trap 1). Swift loads it with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND)
 * and looks up ONE symbol, cspm_get_api, which returns a table of function pointers (cspm_api).
 * Swift takes the table's type from this header (the header-only SwiftPM target
 * CSentencePieceAPI), so the compiler checks every call against the signatures below; nothing
 * is mirrored by hand.
 *
 * Rules (ctorch.h's, for the same reasons):
 *  - Every object is an opaque handle. Whoever receives a handle through an out-parameter
 *    owns it and frees it with the matching free function, exactly once. Input handles and
 *    buffers are borrowed: a function never frees or keeps what it is given.
 *  - Every function but `last_error`, `version` and `free` returns a cspm_status. CSPM_OK (0)
 *    means success and the out-parameters are set; any other value means failure, the
 *    out-parameters are untouched (but *needed, see below), and last_error() describes what
 *    went wrong.
 *  - No C++ exception ever leaves this library: each call runs inside one exception boundary.
 *  - Variable-length results go into a caller buffer (capacity `cap` elements, may be 0) with
 *    the length written to *needed, so the caller owns all memory. When the buffer is too
 *    small the function returns CSPM_BUFFER_TOO_SMALL with only *needed written, and the
 *    caller calls again with a buffer of that size.
 */
#ifndef CSPM_H
#define CSPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of cspm_api's layout and meaning; raised whenever a member is added, removed or
 * changes. A caller refuses a table whose abi_version differs from the one it was built with. */
#define CSPM_API_VERSION 2

typedef struct cspm_processor cspm_processor; /* a loaded SentencePiece model */

typedef enum {
  CSPM_OK = 0,
  CSPM_ERROR_SENTENCEPIECE = 1,    /* SentencePiece reported an error (a bad model, a bad option) */
  CSPM_BUFFER_TOO_SMALL = 2,       /* only *needed is written: call again with that capacity */
  CSPM_ERROR_INVALID_ARGUMENT = 3, /* the shim rejected an argument (NULL, an id out of range) */
  CSPM_ERROR_OUT_OF_MEMORY = 4,    /* an allocation failed */
  CSPM_ERROR_UNKNOWN = 5           /* a non-standard exception was caught */
} cspm_status;

/* The library's functions. Every member is set; none may be NULL. */
typedef struct cspm_api {
  /* CSPM_API_VERSION and sizeof(cspm_api) as the library was built: a caller checks both
   * before calling anything, so a stale libSentencePieceShim.so is an error, not a crash. */
  uint32_t abi_version;
  uint32_t struct_size;

  /* The message of the last failed call on this thread. Owned by the library; valid until the
   * next failing call on the same thread. Never NULL (empty when nothing failed). */
  const char *(*last_error)(void);
  /* The SentencePiece this shim was built against. A static string, never NULL. */
  const char *(*version)(void);

  /* Loads a .model file. The caller owns *out and frees it with `free`. */
  cspm_status (*load)(const char *path, cspm_processor **out);
  /* Loads a serialized model held in memory (len bytes, copied: the caller keeps `data`).
   * The caller owns *out and frees it with `free`. */
  cspm_status (*load_from_bytes)(const void *data, size_t len, cspm_processor **out);
  /* Frees a processor. NULL is allowed and ignored. Never fails. */
  void (*free)(cspm_processor *p);

  /* Encodes len bytes of UTF-8 text (borrowed) into ids[0..cap); *needed receives the id
   * count. Thread-safe: one processor may encode on many threads at once. */
  cspm_status (*encode)(const cspm_processor *p, const char *text, size_t len, int32_t *ids, size_t cap,
                        size_t *needed);
  /* Decodes n ids into UTF-8 text in buf[0..cap) (not NUL-terminated); *needed receives its
   * length in bytes. An id outside the vocabulary is CSPM_ERROR_INVALID_ARGUMENT. */
  cspm_status (*decode)(const cspm_processor *p, const int32_t *ids, size_t n, char *buf, size_t cap,
                        size_t *needed);

  /* The number of pieces. */
  cspm_status (*vocab_size)(const cspm_processor *p, int32_t *out);
  /* The id of a piece (len bytes of UTF-8); the unknown id when the piece is not in the
   * vocabulary. */
  cspm_status (*piece_to_id)(const cspm_processor *p, const char *piece, size_t len, int32_t *out);
  /* The piece of an id into buf[0..cap) (not NUL-terminated), *needed its length in bytes; an
   * id outside the vocabulary is CSPM_ERROR_INVALID_ARGUMENT. */
  cspm_status (*id_to_piece)(const cspm_processor *p, int32_t id, char *buf, size_t cap, size_t *needed);
  /* The special ids; -1 where the model has none. */
  cspm_status (*special_ids)(const cspm_processor *p, int32_t *bos, int32_t *eos, int32_t *pad, int32_t *unk);
  /* Flags (0 or 1) of an id: a control symbol (<s>, </s>, <pad>), the unknown piece, a
   * byte-fallback piece. An id outside the vocabulary is CSPM_ERROR_INVALID_ARGUMENT. */
  cspm_status (*id_kind)(const cspm_processor *p, int32_t id, int32_t *is_control, int32_t *is_unknown,
                         int32_t *is_byte);

  /* Trains a model with SentencePiece's trainer options given as n key/value pairs of
   * NUL-terminated strings (borrowed), for example "input", "model_prefix", "vocab_size",
   * "model_type", "user_defined_symbols", "byte_fallback". It writes <model_prefix>.model and
   * <model_prefix>.vocab, which the caller owns. */
  cspm_status (*train)(const char *const *keys, const char *const *values, int n);

  /* Version 2. Encodes as `encode` does (the same ids) and gives each id the bytes of `text`
   * it covers: ids[i] covers text[begins[i], ends[i]), byte offsets into the ORIGINAL text
   * (SentencePiece maps them back through its normalizer), in order and disjoint:
   * ends[i - 1] <= begins[i] <= ends[i] <= len. A piece that stands for no text of its own
   * (the dummy prefix U+2581 alone, the leading bytes of a byte-fallback character) has
   * begins[i] == ends[i]. The three arrays each hold cap elements; *needed receives the id
   * count, and when it exceeds cap nothing but *needed is written. */
  cspm_status (*encode_with_offsets)(const cspm_processor *p, const char *text, size_t len, int32_t *ids,
                                     size_t *begins, size_t *ends, size_t cap, size_t *needed);
} cspm_api;

/* The library's one exported symbol: its function table, static and valid for as long as the
 * library stays loaded. Never NULL. Look it up with dlsym(handle, "cspm_get_api") and call it
 * through cspm_get_api_fn. */
const cspm_api *cspm_get_api(void);
typedef const cspm_api *(*cspm_get_api_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* CSPM_H */

/*
 * cspm.h: the C API of bcsft's SentencePiece shim (libSentencePieceShim.so).
 *
 * This library is never linked into a binary that also links libtorch: Debian's
 * libsentencepiece carries its own protobuf-lite and the two protobufs clash. Swift loads
 * it with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) and resolves these functions with
 * dlsym (Sources/Tokenizers/SentencePieceLibrary.swift mirrors every signature below).
 *
 * Rules: every function returns 0 on success and a non-zero code on failure, with
 * cspm_last_error() (thread-local, owned by the library) saying why. Out-parameters are
 * written only on success. No C++ exception leaves the library. Functions that return
 * variable-length data write into a caller buffer and report the size they need, so the
 * caller owns all memory; when the buffer is too small they return CSPM_BUFFER_TOO_SMALL
 * with *needed set and the caller calls again with a bigger buffer.
 */
#ifndef CSPM_H
#define CSPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cspm_processor cspm_processor;

enum {
  CSPM_OK = 0,
  CSPM_ERROR = 1,               /* SentencePiece reported an error (message in cspm_last_error) */
  CSPM_BUFFER_TOO_SMALL = 2,    /* *needed says how many elements are required */
  CSPM_INVALID_ARGUMENT = 3
};

const char *cspm_last_error(void);
/* The SentencePiece version this shim was built against. Static string. */
const char *cspm_version(void);

/* Loads a .model file. The caller owns *out and frees it with cspm_free. */
int cspm_load(const char *path, cspm_processor **out);
/* Loads a serialized model held in memory (copied). */
int cspm_load_from_bytes(const void *data, size_t len, cspm_processor **out);
void cspm_free(cspm_processor *p);

/* Encodes len bytes of UTF-8 text into ids[0..cap). *needed receives the id count.
 * Thread-safe: one processor may encode on many threads at once. */
int cspm_encode(const cspm_processor *p, const char *text, size_t len, int32_t *ids, size_t cap, size_t *needed);
/* Decodes n ids into UTF-8 text in buf[0..cap) (not NUL-terminated); *needed is its length. */
int cspm_decode(const cspm_processor *p, const int32_t *ids, size_t n, char *buf, size_t cap, size_t *needed);

int cspm_vocab_size(const cspm_processor *p, int32_t *out);
/* The id of a piece; the unknown id when the piece is not in the vocabulary. */
int cspm_piece_to_id(const cspm_processor *p, const char *piece, size_t len, int32_t *out);
/* The piece of an id into buf (not NUL-terminated); an out-of-range id is an error. */
int cspm_id_to_piece(const cspm_processor *p, int32_t id, char *buf, size_t cap, size_t *needed);
/* Special ids; -1 where the model has none. */
int cspm_special_ids(const cspm_processor *p, int32_t *bos, int32_t *eos, int32_t *pad, int32_t *unk);
/* Flags (0/1): control symbol (<s>, </s>, <pad>), the unknown piece, a byte-fallback piece. */
int cspm_id_kind(const cspm_processor *p, int32_t id, int32_t *is_control, int32_t *is_unknown, int32_t *is_byte);

/* Trains a model with SentencePiece's trainer options as n key/value pairs (for example
 * "input", "model_prefix", "vocab_size", "model_type", "user_defined_symbols",
 * "byte_fallback"); it writes <model_prefix>.model and .vocab. */
int cspm_train(const char *const *keys, const char *const *values, int n);

#ifdef __cplusplus
}
#endif

#endif /* CSPM_H */

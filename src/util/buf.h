/* The one size-checked buffer: a growing writer and a bounds-checked reader for everything parsed. */
#ifndef TPMTOK_BUF_H
#define TPMTOK_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writer. Integers are big-endian. A failed allocation marks the buffer failed and every later
 * put is ignored, so callers check buf_failed() once at the end. A secret buffer is wiped
 * whenever its memory is released or moved.
 */
struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;
    bool secret;
};

void buf_init(struct buf *b, bool secret);
void buf_free(struct buf *b);
bool buf_failed(const struct buf *b);
void buf_put_u8(struct buf *b, uint8_t v);
void buf_put_u16(struct buf *b, uint16_t v);
void buf_put_u32(struct buf *b, uint32_t v);
void buf_put_u64(struct buf *b, uint64_t v);
void buf_put_bytes(struct buf *b, const void *p, size_t n);
/* A u32 length followed by the bytes. */
void buf_put_blob(struct buf *b, const void *p, size_t n);
/* Hands the bytes to the caller (free with free(), or secret_free() if secret); NULL if failed. */
uint8_t *buf_steal(struct buf *b, size_t *len);

/*
 * Reader over borrowed bytes. Every get checks the bound first and marks the reader failed
 * on a short read; a failed reader returns false from every later get.
 */
struct rd {
    const uint8_t *data;
    size_t len;
    size_t off;
    bool failed;
};

void rd_init(struct rd *r, const void *p, size_t n);
bool rd_u8(struct rd *r, uint8_t *v);
bool rd_u16(struct rd *r, uint16_t *v);
bool rd_u32(struct rd *r, uint32_t *v);
bool rd_u64(struct rd *r, uint64_t *v);
bool rd_bytes(struct rd *r, void *out, size_t n);
/* Borrows n bytes in place. */
bool rd_ptr(struct rd *r, size_t n, const uint8_t **p);
/* A u32 length (at most max) and a borrowed pointer to that many bytes. */
bool rd_blob(struct rd *r, size_t max, const uint8_t **p, size_t *n);
size_t rd_left(const struct rd *r);
/* True when nothing failed and every byte was consumed. */
bool rd_done(const struct rd *r);

#endif

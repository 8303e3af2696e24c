/* The size-checked writer and reader every parser and encoder in tpmtok uses. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/secret.h"

void buf_init(struct buf *b, bool secret)
{
    memset(b, 0, sizeof *b);
    b->secret = secret;
}

void buf_free(struct buf *b)
{
    if (b->secret)
        secret_free(b->data, b->cap);
    else
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

bool buf_failed(const struct buf *b)
{
    return b->failed;
}

static bool buf_reserve(struct buf *b, size_t n)
{
    size_t want;
    uint8_t *p;

    if (b->failed)
        return false;
    if (n <= b->cap - b->len)
        return true;
    if (n > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return false;
    }
    want = b->cap ? b->cap : 64;
    while (want - b->len < n)
        want *= 2;
    /* realloc would leave a copy of a secret behind, so secret buffers move by hand. */
    p = malloc(want);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    if (b->len)
        memcpy(p, b->data, b->len);
    if (b->secret)
        secret_free(b->data, b->cap);
    else
        free(b->data);
    b->data = p;
    b->cap = want;
    return true;
}

void buf_put_bytes(struct buf *b, const void *p, size_t n)
{
    if (n == 0 || !buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_put_u8(struct buf *b, uint8_t v)
{
    buf_put_bytes(b, &v, 1);
}

void buf_put_u16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    buf_put_bytes(b, x, sizeof x);
}

void buf_put_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    buf_put_bytes(b, x, sizeof x);
}

void buf_put_u64(struct buf *b, uint64_t v)
{
    buf_put_u32(b, (uint32_t)(v >> 32));
    buf_put_u32(b, (uint32_t)v);
}

void buf_put_blob(struct buf *b, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        b->failed = true;
        return;
    }
    buf_put_u32(b, (uint32_t)n);
    buf_put_bytes(b, p, n);
}

uint8_t *buf_steal(struct buf *b, size_t *len)
{
    uint8_t *p;

    if (b->failed) {
        buf_free(b);
        return NULL;
    }
    if (b->data == NULL && !buf_reserve(b, 1))
        return NULL;
    p = b->data;
    *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void rd_init(struct rd *r, const void *p, size_t n)
{
    r->data = p;
    r->len = p ? n : 0;
    r->off = 0;
    r->failed = false;
}

bool rd_ptr(struct rd *r, size_t n, const uint8_t **p)
{
    /* Written so the check cannot overflow: off <= len always holds. */
    if (r->failed || n > r->len - r->off) {
        r->failed = true;
        return false;
    }
    *p = r->data + r->off;
    r->off += n;
    return true;
}

bool rd_bytes(struct rd *r, void *out, size_t n)
{
    const uint8_t *p;

    if (!rd_ptr(r, n, &p))
        return false;
    if (n)
        memcpy(out, p, n);
    return true;
}

bool rd_u8(struct rd *r, uint8_t *v)
{
    return rd_bytes(r, v, 1);
}

bool rd_u16(struct rd *r, uint16_t *v)
{
    const uint8_t *p;

    if (!rd_ptr(r, 2, &p))
        return false;
    *v = (uint16_t)((p[0] << 8) | p[1]);
    return true;
}

bool rd_u32(struct rd *r, uint32_t *v)
{
    const uint8_t *p;

    if (!rd_ptr(r, 4, &p))
        return false;
    *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return true;
}

bool rd_u64(struct rd *r, uint64_t *v)
{
    uint32_t hi, lo;

    if (!rd_u32(r, &hi) || !rd_u32(r, &lo))
        return false;
    *v = ((uint64_t)hi << 32) | lo;
    return true;
}

bool rd_blob(struct rd *r, size_t max, const uint8_t **p, size_t *n)
{
    uint32_t len;

    if (!rd_u32(r, &len))
        return false;
    if (len > max) {
        r->failed = true;
        return false;
    }
    if (!rd_ptr(r, len, p))
        return false;
    *n = len;
    return true;
}

size_t rd_left(const struct rd *r)
{
    return r->failed ? 0 : r->len - r->off;
}

bool rd_done(const struct rd *r)
{
    return !r->failed && r->off == r->len;
}

/*
 * AES encryption and decryption in the TPM (TPM2_EncryptDecrypt2), ECB, CBC, CBC with padding,
 * CTR and CFB-128. The library holds input back until a full TPM buffer is ready, so every
 * command carries a full buffer whatever the sizes of the application's updates (N bytes cost
 * ceil(N / buffer) commands); it adds and checks the CBC padding; the TPM layer chains the IV.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "token/keycache.h"
#include "token/mech.h"
#include "token/op_internal.h"
#include "util/secret.h"

#define BLOCK 16

struct op_cipher {
    struct op base;
    enum mech_detail detail;
    bool decrypt;
    uint16_t mode;              /* TPM2_ALG_ECB/CBC/CTR/CFB */
    uint8_t iv[BLOCK];          /* the next IV or counter */
    uint8_t *held;              /* input not yet processed (secret on encryption) */
    size_t held_len;
    size_t cap;                 /* the TPM's buffer: held has room for cap + BLOCK */
    unsigned counter_bits;      /* CTR: the low bits of the counter block that count */
    uint64_t blocks_left;       /* CTR: blocks before the counter would wrap (or UINT64_MAX) */
};

static bool is_stream(const struct op_cipher *c)
{
    return c->detail == CIPHER_CTR || c->detail == CIPHER_CFB;
}

/*
 * How many of the total bytes (held + new) an update processes now: whole TPM buffers, and
 * never the last bytes, which the final call needs (the last block may be padding).
 */
static size_t process_len(const struct op_cipher *c, size_t total)
{
    return total > c->cap ? (total - 1) / c->cap * c->cap : 0;
}

static size_t cipher_update_len(const struct op *op, size_t len)
{
    const struct op_cipher *c = (const struct op_cipher *)op;

    return process_len(c, c->held_len + len);
}

/* A CTR counter may not wrap inside the bits the application gave it. */
static CK_RV count_blocks(struct op_cipher *c, size_t len)
{
    uint64_t n = (len + BLOCK - 1) / BLOCK;

    if (c->detail != CIPHER_CTR)
        return CKR_OK;
    if (n > c->blocks_left)
        return CKR_DATA_LEN_RANGE;
    c->blocks_left -= n;
    return CKR_OK;
}

static CK_RV run(struct op_cipher *c, const uint8_t *in, size_t len, uint8_t *out)
{
    CK_RV rv;

    if (len == 0)
        return CKR_OK;
    if ((rv = count_blocks(c, len)) != CKR_OK)
        return rv;
    return tpm_cipher(c->base.tpm, c->base.key->obj, c->decrypt, c->mode,
                      c->mode == TPM2_ALG_ECB ? NULL : c->iv, c->mode == TPM2_ALG_ECB ? 0 : BLOCK,
                      in, len, out);
}

static CK_RV cipher_update(struct op *op, const uint8_t *in, size_t len, uint8_t *out,
                           size_t *out_len)
{
    struct op_cipher *c = (struct op_cipher *)op;
    size_t now = process_len(c, c->held_len + len), fill, direct;
    CK_RV rv;

    *out_len = 0;
    if (now > 0 && c->held_len > 0) {
        /* Complete one buffer from what is held, then whole buffers straight through. */
        fill = c->cap - c->held_len;
        memcpy(c->held + c->held_len, in, fill);
        if ((rv = run(c, c->held, c->cap, out)) != CKR_OK)
            return rv;
        in += fill;
        len -= fill;
        out += c->cap;
        *out_len += c->cap;
        now -= c->cap;
        c->held_len = 0;
    }
    direct = now;
    if ((rv = run(c, in, direct, out)) != CKR_OK)
        return rv;
    *out_len += direct;
    memcpy(c->held + c->held_len, in + direct, len - direct);
    c->held_len += len - direct;
    return CKR_OK;
}

/* PKCS#7 padding check on the last block, in constant time over its bytes. */
static CK_RV unpad(const uint8_t *block, size_t *len)
{
    uint8_t pad = block[BLOCK - 1], bad = 0;

    bad |= (uint8_t)(pad == 0) | (uint8_t)(pad > BLOCK);
    for (size_t i = 0; i < BLOCK; i++)
        bad |= (uint8_t)((i + pad >= BLOCK) & (block[i] != pad));
    if (bad)
        return CKR_ENCRYPTED_DATA_INVALID;
    *len = BLOCK - pad;
    return CKR_OK;
}

static CK_RV cipher_final(struct op *op, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t *out_len)
{
    struct op_cipher *c = (struct op_cipher *)op;
    size_t n = c->held_len, last;
    CK_RV rv;

    *out_len = 0;
    if (c->detail == CIPHER_CBC_PAD && !c->decrypt) {
        memset(c->held + n, (int)(BLOCK - n % BLOCK), BLOCK - n % BLOCK);
        n += BLOCK - n % BLOCK;
    }
    if (!is_stream(c) && n % BLOCK != 0)
        return c->decrypt ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
    if (c->detail == CIPHER_CBC_PAD && c->decrypt && n == 0)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if ((rv = run(c, c->held, n, c->held)) != CKR_OK)
        return rv;
    /* Decryption with padding: the last block says how much of it is data. */
    if (c->detail == CIPHER_CBC_PAD && c->decrypt) {
        if ((rv = unpad(c->held + n - BLOCK, &last)) != CKR_OK)
            return rv;
        n = n - BLOCK + last;
    }
    memcpy(out, c->held, n);
    *out_len = n;
    return CKR_OK;
}

static size_t cipher_final_max(const struct op *op, size_t more)
{
    const struct op_cipher *c = (const struct op_cipher *)op;
    size_t total = c->held_len + more, held = total - process_len(c, total);

    if (c->detail == CIPHER_CBC_PAD && !c->decrypt)
        return held - held % BLOCK + BLOCK;
    return held;
}

static void cipher_free(struct op *op)
{
    struct op_cipher *c = (struct op_cipher *)op;

    secret_free(c->held, c->cap + BLOCK);
    secret_free(c, sizeof *c);
}

static const struct op_vtable cipher_vt = {
    .update = cipher_update,
    .update_len = cipher_update_len,
    .final = cipher_final,
    .final_max = cipher_final_max,
    .exact = true,
    .free = cipher_free,
};

/* Decryption with padding learns its length only by decrypting: results are computed first. */
static const struct op_vtable cipher_unpad_vt = {
    .update = cipher_update,
    .update_len = cipher_update_len,
    .final = cipher_final,
    .final_max = cipher_final_max,
    .exact = false,
    .free = cipher_free,
};

static uint16_t mode_of(enum mech_detail d)
{
    switch (d) {
    case CIPHER_ECB:
        return TPM2_ALG_ECB;
    case CIPHER_CTR:
        return TPM2_ALG_CTR;
    case CIPHER_CFB:
        return TPM2_ALG_CFB;
    default:
        return TPM2_ALG_CBC;
    }
}

static CK_RV ctr_params(struct op_cipher *c, const CK_MECHANISM *m)
{
    const CK_AES_CTR_PARAMS *p = m->pParameter;
    uint64_t used = 0;

    if (p == NULL || m->ulParameterLen != sizeof *p || p->ulCounterBits == 0 ||
        p->ulCounterBits > 128)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(c->iv, p->cb, BLOCK);
    c->counter_bits = (unsigned)p->ulCounterBits;
    c->blocks_left = UINT64_MAX;
    if (c->counter_bits < 64) {
        for (int i = 8; i < BLOCK; i++)
            used = used << 8 | c->iv[i];
        used &= (1ULL << c->counter_bits) - 1;
        c->blocks_left = (1ULL << c->counter_bits) - used;
    }
    return CKR_OK;
}

static CK_RV cipher_params(struct op_cipher *c, const CK_MECHANISM *m)
{
    if (c->detail == CIPHER_CTR)
        return ctr_params(c, m);
    if (c->detail == CIPHER_ECB)
        return m->pParameter == NULL && m->ulParameterLen == 0 ? CKR_OK
                                                                : CKR_MECHANISM_PARAM_INVALID;
    if (m->pParameter == NULL || m->ulParameterLen != BLOCK)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(c->iv, m->pParameter, BLOCK);
    return CKR_OK;
}

CK_RV op_cipher_new(const struct op_init *in, struct op **out)
{
    struct op_cipher *c = calloc(1, sizeof *c);
    CK_RV rv;

    if (c == NULL)
        return CKR_HOST_MEMORY;
    c->detail = in->mech->detail;
    c->decrypt = in->kind == OP_DECRYPT;
    c->mode = mode_of(c->detail);
    c->base.vt = c->detail == CIPHER_CBC_PAD && c->decrypt ? &cipher_unpad_vt : &cipher_vt;
    if ((rv = cipher_params(c, in->params)) != CKR_OK || (rv = op_base_init(&c->base, in)) != CKR_OK)
        goto out;
    c->cap = tpm_buffer_size(c->base.tpm) / BLOCK * BLOCK;
    if ((c->held = malloc(c->cap + BLOCK)) == NULL)
        rv = CKR_HOST_MEMORY;
out:
    if (rv != CKR_OK) {
        cipher_free(&c->base);
        return rv;
    }
    *out = &c->base;
    return CKR_OK;
}

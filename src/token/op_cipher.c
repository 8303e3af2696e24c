/*
 * AES encryption and decryption in the TPM (TPM2_EncryptDecrypt2): ECB, CBC, CBC with padding,
 * CTR and CFB-128. Every update hands back all the output its input allows, as a software
 * cipher would: the block modes process each whole block at once and hold only a partial one
 * (CBC with padding, decrypting, also the last whole block); the stream modes answer every
 * byte, keeping the unused key stream of the current block. One update costs one command
 * (more only past the TPM's buffer); the TPM layer chains the IV from command to command.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "token/keycache.h"
#include "token/mech.h"
#include "token/op_internal.h"
#include "util/buf.h"
#include "util/secret.h"

#define BLOCK 16

struct op_cipher {
    struct op base;
    enum mech_detail detail;
    bool decrypt;
    uint16_t mode;              /* TPM2_ALG_ECB/CBC/CTR/CFB */
    uint8_t iv[BLOCK];          /* the next IV or counter */
    uint8_t held[BLOCK];        /* block modes: input not yet processed (secret) */
    size_t held_len;
    /*
     * Stream modes: the key stream of the current block (secret) and how much of it is used
     * (BLOCK: none left); CFB also gathers the block's cipher text, the next block's IV.
     */
    uint8_t stream[BLOCK];
    size_t stream_used;
    uint8_t cfb_block[BLOCK];
    uint64_t blocks_left;       /* CTR: blocks before the counter would wrap (or UINT64_MAX) */
};

static bool is_stream(const struct op_cipher *c)
{
    return c->detail == CIPHER_CTR || c->detail == CIPHER_CFB;
}

/* Block modes: how many of total bytes (held + new) to keep back after an update. */
static size_t keep_back(const struct op_cipher *c, size_t total)
{
    size_t keep = total % BLOCK;

    /* The last whole block of a padded cipher text may be all padding: final decides. */
    if (c->detail == CIPHER_CBC_PAD && c->decrypt && keep == 0 && total > 0)
        keep = BLOCK;
    return keep;
}

static size_t cipher_update_len(const struct op *op, size_t len)
{
    const struct op_cipher *c = (const struct op_cipher *)op;
    size_t total = c->held_len + len;

    return is_stream(c) ? len : total - keep_back(c, total);
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

/*
 * Block modes: the held bytes and the new input's whole blocks go out in one run, assembled
 * in out (which may be the input buffer itself: the tail is saved first, the rest moved).
 */
static CK_RV block_update(struct op_cipher *c, const uint8_t *in, size_t len, uint8_t *out,
                          size_t *out_len)
{
    size_t total = c->held_len + len, keep = keep_back(c, total), now = total - keep;
    uint8_t tail[BLOCK];
    CK_RV rv;

    if (now == 0) {
        memcpy(c->held + c->held_len, in, len);
        c->held_len += len;
        return CKR_OK;
    }
    /* now >= BLOCK >= held_len, so the kept bytes all come from the new input. */
    memcpy(tail, in + len - keep, keep);
    memmove(out + c->held_len, in, now - c->held_len);
    memcpy(out, c->held, c->held_len);
    rv = run(c, out, now, out);
    memcpy(c->held, tail, keep);
    c->held_len = keep;
    secret_wipe(tail, sizeof tail);
    if (rv == CKR_OK)
        *out_len = now;
    return rv;
}

/* Stream modes: bytes against the key stream left from the last block. */
static size_t stream_use(struct op_cipher *c, const uint8_t *in, size_t len, uint8_t *out)
{
    size_t n = 0;

    for (; n < len && c->stream_used < BLOCK; n++, c->stream_used++) {
        uint8_t x = in[n], y = x ^ c->stream[c->stream_used];
        out[n] = y;
        c->cfb_block[c->stream_used] = c->decrypt ? x : y;
    }
    if (n > 0 && c->stream_used == BLOCK && c->detail == CIPHER_CFB)
        memcpy(c->iv, c->cfb_block, BLOCK);
    return n;
}

/*
 * Stream modes: whole blocks, and for a last partial block a block of zeros, in one command:
 * what comes back for the zeros is that block's key stream, which the partial block uses and
 * the next update continues.
 */
static CK_RV stream_update(struct op_cipher *c, const uint8_t *in, size_t len, uint8_t *out,
                           size_t *out_len)
{
    size_t first = stream_use(c, in, len, out), rest = len - first;
    size_t whole = rest / BLOCK * BLOCK, part = rest - whole, run_len;
    uint8_t *work;
    CK_RV rv;

    *out_len = first;
    if (rest == 0)
        return CKR_OK;
    in += first;
    out += first;
    if (part == 0) {
        if ((rv = run(c, in, whole, out)) == CKR_OK)
            *out_len = len;
        return rv;
    }
    run_len = whole + BLOCK;
    if ((work = calloc(1, run_len)) == NULL)
        return CKR_HOST_MEMORY;
    memcpy(work, in, whole);   /* the partial block's place stays zeros */
    rv = run(c, work, run_len, work);
    if (rv == CKR_OK) {
        memcpy(out, work, whole);
        memcpy(c->stream, work + whole, BLOCK);
        c->stream_used = 0;
        stream_use(c, in + whole, part, out + whole);
        *out_len = len;
    }
    secret_free(work, run_len);
    return rv;
}

static CK_RV cipher_update(struct op *op, const uint8_t *in, size_t len, uint8_t *out,
                           size_t *out_len)
{
    struct op_cipher *c = (struct op_cipher *)op;

    *out_len = 0;
    if (is_stream(c))
        return stream_update(c, in, len, out, out_len);
    return block_update(c, in, len, out, out_len);
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
    uint8_t block[BLOCK];
    CK_RV rv;

    *out_len = 0;
    if (is_stream(c))
        return CKR_OK;   /* every byte was answered by its update */
    if (c->detail == CIPHER_CBC_PAD && !c->decrypt) {
        memset(c->held + n, (int)(BLOCK - n), BLOCK - n);
        n = BLOCK;
    } else if (n != (c->detail == CIPHER_CBC_PAD ? BLOCK : 0)) {
        return c->decrypt ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
    }
    if (n == 0)
        return CKR_OK;
    if ((rv = run(c, c->held, n, block)) != CKR_OK)
        return rv;
    /* Decryption with padding: the last block says how much of it is data. */
    if (c->decrypt && (rv = unpad(block, &last)) == CKR_OK)
        n = last;
    if (rv == CKR_OK) {
        memcpy(out, block, n);
        *out_len = n;
    }
    secret_wipe(block, sizeof block);
    return rv;
}

static size_t cipher_final_max(const struct op *op, size_t more)
{
    const struct op_cipher *c = (const struct op_cipher *)op;
    size_t total = c->held_len + more;

    if (is_stream(c))
        return 0;
    if (c->detail == CIPHER_CBC_PAD && !c->decrypt)
        return BLOCK;
    return keep_back(c, total);
}

/* The state: IV or counter, held input, key stream and CFB block, counter blocks left. */
static CK_RV cipher_save(struct op *op, struct buf *out)
{
    const struct op_cipher *c = (const struct op_cipher *)op;

    buf_put_bytes(out, c->iv, BLOCK);
    buf_put_blob(out, c->held, c->held_len);
    buf_put_bytes(out, c->stream, BLOCK);
    buf_put_u8(out, (uint8_t)c->stream_used);
    buf_put_bytes(out, c->cfb_block, BLOCK);
    buf_put_u64(out, c->blocks_left);
    return CKR_OK;
}

static CK_RV cipher_restore(struct op *op, struct rd *in)
{
    struct op_cipher *c = (struct op_cipher *)op;
    const uint8_t *held;
    size_t held_len;
    uint8_t used;

    if (!rd_bytes(in, c->iv, BLOCK) || !rd_blob(in, BLOCK, &held, &held_len) ||
        !rd_bytes(in, c->stream, BLOCK) || !rd_u8(in, &used) ||
        !rd_bytes(in, c->cfb_block, BLOCK) || !rd_u64(in, &c->blocks_left))
        return CKR_SAVED_STATE_INVALID;
    /* Only what an update of this mode can leave behind. */
    if (used > BLOCK || (is_stream(c) && held_len != 0) ||
        (!is_stream(c) && (used != BLOCK || held_len > keep_back(c, held_len))))
        return CKR_SAVED_STATE_INVALID;
    memcpy(c->held, held, held_len);
    c->held_len = held_len;
    c->stream_used = used;
    return CKR_OK;
}

static void cipher_free(struct op *op)
{
    secret_free(op, sizeof(struct op_cipher));
}

static const struct op_vtable cipher_vt = {
    .update = cipher_update,
    .update_len = cipher_update_len,
    .final = cipher_final,
    .final_max = cipher_final_max,
    .exact = true,
    .save = cipher_save,
    .restore = cipher_restore,
    .free = cipher_free,
};

/* Decryption with padding learns its length only by decrypting: results are computed first. */
static const struct op_vtable cipher_unpad_vt = {
    .update = cipher_update,
    .update_len = cipher_update_len,
    .final = cipher_final,
    .final_max = cipher_final_max,
    .exact = false,
    .save = cipher_save,
    .restore = cipher_restore,
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
    unsigned bits;

    if (p == NULL || m->ulParameterLen != sizeof *p || p->ulCounterBits == 0 ||
        p->ulCounterBits > 128)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(c->iv, p->cb, BLOCK);
    bits = (unsigned)p->ulCounterBits;
    c->blocks_left = UINT64_MAX;
    if (bits < 64) {
        for (int i = 8; i < BLOCK; i++)
            used = used << 8 | c->iv[i];
        used &= (1ULL << bits) - 1;
        c->blocks_left = (1ULL << bits) - used;
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
    c->stream_used = BLOCK;
    c->blocks_left = UINT64_MAX;
    c->base.vt = c->detail == CIPHER_CBC_PAD && c->decrypt ? &cipher_unpad_vt : &cipher_vt;
    if ((rv = cipher_params(c, in->params)) != CKR_OK ||
        (rv = op_base_init(&c->base, in)) != CKR_OK) {
        cipher_free(&c->base);
        return rv;
    }
    *out = &c->base;
    return CKR_OK;
}

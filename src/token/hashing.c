/* Feeding TPM hash, HMAC and CMAC computations in full buffers, with one-command short paths. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "token/hashing.h"
#include "tpm/tpm.h"
#include "util/buf.h"
#include "util/secret.h"

#define AES_BLOCK 16
/* CMAC cipher text comes back through this much room: four TPM buffers per call. */
#define CMAC_SCRATCH 4096

static bool is_cmac(const struct hashing *h)
{
    return h->hash == TPM2_ALG_CMAC;
}

CK_RV hashing_init(struct hashing *h, struct tpm *tpm, struct tpm_obj *salt, struct tpm_obj *key,
                   uint16_t hash)
{
    memset(h, 0, sizeof *h);
    h->tpm = tpm;
    h->salt = salt;
    h->key = key;
    h->hash = hash;
    h->cap = tpm_buffer_size(tpm);
    if (is_cmac(h)) {
        /* Whole blocks, and room for the first block of the final TPM2_MAC. */
        h->cap = (h->cap - AES_BLOCK) / AES_BLOCK * AES_BLOCK;
        if (key == NULL || (h->scratch = malloc(CMAC_SCRATCH)) == NULL)
            return key == NULL ? CKR_GENERAL_ERROR : CKR_HOST_MEMORY;
    }
    if ((h->buf = malloc(h->cap)) == NULL)
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

void hashing_free(struct hashing *h)
{
    if (h->seq != NULL)
        tpm_obj_close(h->tpm, h->seq);
    h->seq = NULL;
    secret_free(h->buf, h->cap);
    h->buf = NULL;
    h->len = 0;
    secret_free(h->scratch, CMAC_SCRATCH);
    h->scratch = NULL;
    secret_wipe(h->chain, sizeof h->chain);
    h->chained = false;
}

/* CMAC: len bytes (whole blocks) through AES-CBC, continuing the chain. */
static CK_RV cmac_chain(struct hashing *h, const uint8_t *data, size_t len)
{
    CK_RV rv;

    while (len > 0) {
        size_t n = len < CMAC_SCRATCH ? len : CMAC_SCRATCH;
        rv = tpm_cipher(h->tpm, h->key, false, TPM2_ALG_CBC, h->chain, AES_BLOCK, data, n,
                        h->scratch);
        if (rv != CKR_OK)
            return rv;
        h->chained = true;
        data += n;
        len -= n;
    }
    return CKR_OK;
}

/* Sends len bytes, a whole number of buffers, that are not the end of the data. */
static CK_RV send(struct hashing *h, const uint8_t *data, size_t len)
{
    CK_RV rv = CKR_OK;

    if (is_cmac(h))
        return cmac_chain(h, data, len);
    if (h->seq == NULL && h->key != NULL)
        rv = tpm_hmac_start(h->tpm, h->key, h->hash, &h->seq);
    else if (h->seq == NULL)
        rv = tpm_hash_start(h->tpm, h->salt, h->hash, &h->seq);
    return rv != CKR_OK ? rv : tpm_seq_update(h->tpm, h->seq, data, len);
}

CK_RV hashing_update(struct hashing *h, const uint8_t *data, size_t len)
{
    size_t take, whole;
    CK_RV rv;

    while (len > 0) {
        /* A full held buffer goes out only once more data proves it is not the last. */
        if (h->len == h->cap) {
            if ((rv = send(h, h->buf, h->len)) != CKR_OK)
                return rv;
            h->len = 0;
        }
        /* Whole buffers straight from the caller, keeping the last piece back. */
        if (h->len == 0 && len > h->cap) {
            whole = (len - 1) / h->cap * h->cap;
            if ((rv = send(h, data, whole)) != CKR_OK)
                return rv;
            data += whole;
            len -= whole;
        }
        take = h->cap - h->len < len ? h->cap - h->len : len;
        memcpy(h->buf + h->len, data, take);
        h->len += take;
        data += take;
        len -= take;
    }
    return CKR_OK;
}

/*
 * CMAC's last command: TPM2_MAC of the held bytes, after D_K(chain) when blocks went before
 * (the held part is never empty then: a full buffer is sent only when more data follows).
 */
static CK_RV cmac_final(struct hashing *h, uint8_t *out, size_t *out_len)
{
    uint8_t *msg = h->scratch;
    CK_RV rv;

    if (!h->chained)
        return tpm_hmac(h->tpm, h->key, h->hash, h->buf, h->len, out, out_len);
    rv = tpm_cipher(h->tpm, h->key, true, TPM2_ALG_ECB, NULL, 0, h->chain, AES_BLOCK, msg);
    if (rv != CKR_OK)
        return rv;
    memcpy(msg + AES_BLOCK, h->buf, h->len);
    rv = tpm_hmac(h->tpm, h->key, h->hash, msg, AES_BLOCK + h->len, out, out_len);
    secret_wipe(msg, AES_BLOCK + h->len);
    return rv;
}

CK_RV hashing_final(struct hashing *h, uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    if (is_cmac(h))
        rv = cmac_final(h, out, out_len);
    else if (h->seq == NULL && h->key != NULL)
        rv = tpm_hmac(h->tpm, h->key, h->hash, h->buf, h->len, out, out_len);
    else if (h->seq == NULL)
        rv = tpm_hash(h->tpm, h->salt, h->hash, h->buf, h->len, out, out_len);
    else
        rv = tpm_seq_complete(h->tpm, h->seq, h->buf, h->len, out, out_len);
    secret_wipe(h->buf, h->len);
    h->len = 0;
    return rv;
}

/* The first byte says what follows: 0 nothing, 1 a sequence context, 2 a CMAC chain. */
CK_RV hashing_save(struct hashing *h, struct buf *out)
{
    uint8_t auth[64], *ctx = NULL;
    size_t auth_len = sizeof auth, ctx_len = 0;
    CK_RV rv;

    if (is_cmac(h)) {
        buf_put_u8(out, h->chained ? 2 : 0);
        if (h->chained)
            buf_put_bytes(out, h->chain, AES_BLOCK);
    } else {
        buf_put_u8(out, h->seq != NULL);
    }
    if (h->seq != NULL) {
        if ((rv = tpm_seq_save(h->tpm, h->seq, &ctx, &ctx_len, auth, &auth_len)) != CKR_OK)
            return rv;
        buf_put_blob(out, ctx, ctx_len);
        buf_put_blob(out, auth, auth_len);
        free(ctx);
        secret_wipe(auth, sizeof auth);
    }
    buf_put_blob(out, h->buf, h->len);
    return CKR_OK;
}

CK_RV hashing_restore(struct hashing *h, struct rd *in)
{
    const uint8_t *ctx = NULL, *auth = NULL, *held;
    size_t ctx_len = 0, auth_len = 0, held_len;
    uint8_t what;
    CK_RV rv;

    if (!rd_u8(in, &what) || what > 2 || (what == 1 && is_cmac(h)) || (what == 2 && !is_cmac(h)))
        return CKR_SAVED_STATE_INVALID;
    if (what == 1 && (!rd_blob(in, 4096, &ctx, &ctx_len) || !rd_blob(in, 64, &auth, &auth_len)))
        return CKR_SAVED_STATE_INVALID;
    if (what == 2 && !rd_bytes(in, h->chain, AES_BLOCK))
        return CKR_SAVED_STATE_INVALID;
    if (!rd_blob(in, h->cap, &held, &held_len))
        return CKR_SAVED_STATE_INVALID;
    /* Blocks were sent only with more data held back. */
    if (what == 2 && held_len == 0)
        return CKR_SAVED_STATE_INVALID;
    if (what == 1 && (rv = tpm_seq_restore(h->tpm, ctx, ctx_len, auth, auth_len, &h->seq)) != CKR_OK)
        return rv;
    h->chained = what == 2;
    memcpy(h->buf, held, held_len);
    h->len = held_len;
    return CKR_OK;
}

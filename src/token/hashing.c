/* Feeding TPM hash and HMAC sequences in full buffers, with one-command paths for short data. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "token/hashing.h"
#include "tpm/tpm.h"
#include "util/buf.h"
#include "util/secret.h"

CK_RV hashing_init(struct hashing *h, struct tpm *tpm, struct tpm_obj *salt, struct tpm_obj *key,
                   uint16_t hash)
{
    memset(h, 0, sizeof *h);
    h->tpm = tpm;
    h->salt = salt;
    h->key = key;
    h->hash = hash;
    h->cap = tpm_buffer_size(tpm);
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
}

static CK_RV start(struct hashing *h)
{
    if (h->seq != NULL)
        return CKR_OK;
    if (h->key != NULL)
        return tpm_hmac_start(h->tpm, h->key, h->hash, &h->seq);
    return tpm_hash_start(h->tpm, h->salt, h->hash, &h->seq);
}

CK_RV hashing_update(struct hashing *h, const uint8_t *data, size_t len)
{
    size_t take, whole;
    CK_RV rv;

    while (len > 0) {
        /* A full held buffer goes out only once more data proves it is not the last. */
        if (h->len == h->cap) {
            if ((rv = start(h)) != CKR_OK || (rv = tpm_seq_update(h->tpm, h->seq, h->buf, h->len)))
                return rv;
            h->len = 0;
        }
        /* Whole buffers straight from the caller, keeping the last piece back. */
        if (h->len == 0 && len > h->cap) {
            whole = (len - 1) / h->cap * h->cap;
            if ((rv = start(h)) != CKR_OK || (rv = tpm_seq_update(h->tpm, h->seq, data, whole)))
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

CK_RV hashing_final(struct hashing *h, uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    if (h->seq == NULL && h->key != NULL)
        rv = tpm_hmac(h->tpm, h->key, h->hash, h->buf, h->len, out, out_len);
    else if (h->seq == NULL)
        rv = tpm_hash(h->tpm, h->salt, h->hash, h->buf, h->len, out, out_len);
    else
        rv = tpm_seq_complete(h->tpm, h->seq, h->buf, h->len, out, out_len);
    secret_wipe(h->buf, h->len);
    h->len = 0;
    return rv;
}

CK_RV hashing_save(struct hashing *h, struct buf *out)
{
    uint8_t auth[64], *ctx = NULL;
    size_t auth_len = sizeof auth, ctx_len = 0;
    CK_RV rv;

    buf_put_u8(out, h->seq != NULL);
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
    uint8_t has_seq;
    CK_RV rv;

    if (!rd_u8(in, &has_seq) || has_seq > 1)
        return CKR_SAVED_STATE_INVALID;
    if (has_seq && (!rd_blob(in, 4096, &ctx, &ctx_len) || !rd_blob(in, 64, &auth, &auth_len)))
        return CKR_SAVED_STATE_INVALID;
    if (!rd_blob(in, h->cap, &held, &held_len))
        return CKR_SAVED_STATE_INVALID;
    if (has_seq && (rv = tpm_seq_restore(h->tpm, ctx, ctx_len, auth, auth_len, &h->seq)) != CKR_OK)
        return rv;
    memcpy(h->buf, held, held_len);
    h->len = held_len;
    return CKR_OK;
}

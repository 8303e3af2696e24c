/* Feeding TPM hash and HMAC sequences in full buffers, with one-command paths for short data. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "token/hashing.h"
#include "tpm/tpm.h"
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

/*
 * token/hashing: data fed to a TPM hash or HMAC sequence in full TPM buffers. The library holds
 * back up to one buffer, so every TPM2_SequenceUpdate carries a full buffer whatever the sizes
 * of the application's updates, and the last piece rides in TPM2_SequenceComplete: N bytes
 * cost ceil(N / buffer) + 1 commands, or one TPM2_Hash/TPM2_HMAC when they fit one buffer.
 */
#ifndef TPMTOK_HASHING_H
#define TPMTOK_HASHING_H

#include <stddef.h>
#include <stdint.h>

#include "p11.h"

struct tpm;
struct tpm_obj;
struct buf;
struct rd;

struct hashing {
    struct tpm *tpm;
    struct tpm_obj *salt;       /* a primary, for the session */
    struct tpm_obj *key;        /* HMAC: the key; NULL for a plain hash */
    uint16_t hash;              /* TPM2_ALG_SHA* */
    struct tpm_obj *seq;        /* started when the first full buffer goes out */
    uint8_t *buf;               /* held-back bytes (secret: the application's data) */
    size_t len;
    size_t cap;                 /* the TPM's buffer */
};

CK_RV hashing_init(struct hashing *h, struct tpm *tpm, struct tpm_obj *salt, struct tpm_obj *key,
                   uint16_t hash);
CK_RV hashing_update(struct hashing *h, const uint8_t *data, size_t len);
/* The digest or HMAC of everything fed; *out_len: out's size in, the result's length out. */
CK_RV hashing_final(struct hashing *h, uint8_t *out, size_t *out_len);
/* Frees the buffer and the sequence. NULL-safe on a zeroed struct. */
void hashing_free(struct hashing *h);
/*
 * Operation state: the sequence as a TPM context with its auth value (when one was started)
 * and the bytes held back. The auth value is secret: the caller encrypts what it writes.
 * Saving leaves h running unchanged.
 */
CK_RV hashing_save(struct hashing *h, struct buf *out);
/* Into a fresh h (hashing_init'ed with the same hash and key). CKR_SAVED_STATE_INVALID. */
CK_RV hashing_restore(struct hashing *h, struct rd *in);

#endif

/*
 * token/hashing: data fed to a TPM hash, HMAC or CMAC in full TPM buffers. The library holds
 * back up to one buffer, so every TPM command carries a full buffer whatever the sizes of the
 * application's updates, and the last piece rides in the final command: N bytes cost
 * ceil(N / buffer) + 1 commands, or one TPM2_Hash/TPM2_HMAC when they fit one buffer.
 *
 * A hash or HMAC runs in a TPM sequence. A CMAC does not: libtpms 0.9 fails (the TPM stops)
 * on a CMAC sequence that was context-saved and loaded, which residency, resource managers
 * and the operation state all do. So a CMAC's full blocks go through AES-CBC
 * (TPM2_EncryptDecrypt2, IV 0, the chaining value kept here), and the final TPM2_MAC takes
 * D_K(chain) as its first block followed by the held-back rest: CBC-MAC of that block
 * re-enters the chain, so the MAC is the message's. Key and subkeys never leave the TPM.
 */
#ifndef TPMTOK_HASHING_H
#define TPMTOK_HASHING_H

#include <stdbool.h>
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
    uint16_t hash;              /* TPM2_ALG_SHA*, or TPM2_ALG_CMAC (with an AES key) */
    struct tpm_obj *seq;        /* started when the first full buffer goes out */
    uint8_t chain[16];          /* CMAC: the CBC chaining value of the blocks sent */
    bool chained;               /* CMAC: some blocks were sent */
    uint8_t *scratch;           /* CMAC: cipher text out of the TPM, and the final block */
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
 * Operation state: the sequence as a TPM context with its auth value (when one was started),
 * or a CMAC's chaining value, and the bytes held back. The auth value is secret: the caller
 * encrypts what it writes. Saving leaves h running unchanged.
 */
CK_RV hashing_save(struct hashing *h, struct buf *out);
/* Into a fresh h (hashing_init'ed with the same hash and key). CKR_SAVED_STATE_INVALID. */
CK_RV hashing_restore(struct hashing *h, struct rd *in);

#endif

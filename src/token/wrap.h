/*
 * token/wrap: data only a logged-in user may read, sealed with the token secret: key auth
 * values and private objects' attributes. AES-256-GCM under a key derived from the token
 * secret per purpose (HKDF-SHA256), with associated data that binds a blob to its place.
 */
#ifndef TPMTOK_WRAP_H
#define TPMTOK_WRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wrap_purpose {
    WRAP_KEY_AUTH,        /* a key's TPM auth value; ad = the key's public blob */
    WRAP_OBJECT_ATTRS,    /* a private object's attributes; ad = the token serial */
    WRAP_STATE_MAC,       /* key for MACing operation-state blobs (derive only) */
    WRAP_STATE_BODY,      /* an operation state's records; ad = the state's header */
};

#define WRAP_SECRET_LEN 32
/* Format byte, nonce and tag around the ciphertext. */
#define WRAP_OVERHEAD (1 + 12 + 16)

/* Seals in (*out malloc'ed, WRAP_OVERHEAD longer). false on failure (out of memory). */
bool wrap_seal(const uint8_t secret[WRAP_SECRET_LEN], enum wrap_purpose purpose,
               const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t in_len,
               uint8_t **out, size_t *out_len);
/*
 * Opens a sealed blob (*out malloc'ed; free with secret_free(*out, *out_len)). false when the
 * blob is malformed, from another secret or purpose, or altered.
 */
bool wrap_open(const uint8_t secret[WRAP_SECRET_LEN], enum wrap_purpose purpose,
               const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t in_len,
               uint8_t **out, size_t *out_len);
/* The 32-byte key for purpose, for callers that do their own cryptography. */
bool wrap_derive(const uint8_t secret[WRAP_SECRET_LEN], enum wrap_purpose purpose,
                 uint8_t key[32]);

#endif

/* The TPM's key derivation functions (TPM 2.0 Part 1, 11.4.10), on OpenSSL. */
#ifndef TPMTOK_KDF_H
#define TPMTOK_KDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/*
 * KDFa: SP 800-108 counter mode with HMAC(hash). label is a C string; its terminating NUL is
 * part of the input as the TPM specifies. bits must be a multiple of 8. Returns true on success.
 */
bool kdfa(TPMI_ALG_HASH hash, const uint8_t *key, size_t key_len, const char *label,
          const uint8_t *context_u, size_t u_len, const uint8_t *context_v, size_t v_len,
          uint8_t *out, size_t bits);

/*
 * KDFa with an HMAC context that already holds the key (and its digest): no fetch and no key
 * schedule per call, for the session engine, which derives with the key it HMACs with.
 */
bool kdfa_keyed(EVP_MAC_CTX *ctx, const char *label, const uint8_t *context_u, size_t u_len,
                const uint8_t *context_v, size_t v_len, uint8_t *out, size_t bits);

/*
 * KDFe: SP 800-56A concatenation KDF with hash, over Z (the ECDH x-coordinate) with label
 * (NUL included), partyUInfo and partyVInfo. Returns true on success.
 */
bool kdfe(TPMI_ALG_HASH hash, const uint8_t *z, size_t z_len, const char *label,
          const uint8_t *party_u, size_t u_len, const uint8_t *party_v, size_t v_len,
          uint8_t *out, size_t bits);

#endif

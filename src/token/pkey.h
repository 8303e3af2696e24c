/*
 * token/pkey: the public-key half of operations, in OpenSSL: signature verification and RSA
 * encryption need no secret, so they run in the library (the TPM would only add round trips).
 */
#ifndef TPMTOK_PKEY_H
#define TPMTOK_PKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "p11.h"

/* The TPM hash algorithm of a PKCS#11 digest mechanism (CKM_SHA256...), or 0. */
uint16_t pkey_hash_of_mech(CK_MECHANISM_TYPE mech);
/* The TPM hash algorithm of a PKCS#11 MGF (CKG_MGF1_SHA256...), or 0. */
uint16_t pkey_hash_of_mgf(CK_RSA_PKCS_MGF_TYPE mgf);

enum pkey_rsa_sig {
    PKEY_SIG_PKCS1,      /* tbs: a digest of hash (DigestInfo added), or raw data with hash 0 */
    PKEY_SIG_PSS,        /* tbs: a digest of hash */
    PKEY_SIG_RAW,        /* tbs: the block itself, left-padded to the modulus size */
};

/*
 * Verifies an RSA signature. CKR_OK, CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE (not the
 * modulus size), CKR_HOST_MEMORY.
 */
CK_RV pkey_rsa_verify(EVP_PKEY *pub, enum pkey_rsa_sig style, uint16_t hash, uint16_t mgf_hash,
                      size_t salt_len, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
                      size_t sig_len);
/* Verifies r || s over tbs (any length, truncated as ECDSA says). Same return values. */
CK_RV pkey_ecdsa_verify(EVP_PKEY *pub, size_t coord, const uint8_t *tbs, size_t tbs_len,
                        const uint8_t *sig, size_t sig_len);

enum pkey_rsa_enc {
    PKEY_ENC_PKCS1,
    PKEY_ENC_OAEP,
    PKEY_ENC_RAW,
};

/*
 * RSA encryption with the public key into out (the modulus size). CKR_OK;
 * CKR_DATA_LEN_RANGE (too long for the padding); CKR_DATA_INVALID (a raw block not below the
 * modulus); CKR_HOST_MEMORY; CKR_FUNCTION_FAILED.
 */
CK_RV pkey_rsa_encrypt(EVP_PKEY *pub, enum pkey_rsa_enc pad, uint16_t hash, uint16_t mgf_hash,
                       const uint8_t *label, size_t label_len, const uint8_t *in, size_t len,
                       uint8_t *out, size_t *out_len);

/* The modulus size of an RSA key, in bytes. */
size_t pkey_rsa_size(EVP_PKEY *pub);

#endif

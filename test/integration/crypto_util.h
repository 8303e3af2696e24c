/*
 * OpenSSL's answer to every question the crypto tests put to the token: what a PKCS#11 mechanism
 * computes, worked out in software from the mechanism and its parameter, in the byte format
 * PKCS#11 gives (RSA signatures of the modulus size, ECDSA signatures as r || s). The tests
 * compare the token's results with these; test_crypto_util checks these against published
 * known-answer vectors first.
 *
 * Functions returning int give 0 on success and -1 on failure unless they say otherwise.
 */
#ifndef TPMTOK_TEST_CRYPTO_UTIL_H
#define TPMTOK_TEST_CRYPTO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "p11.h"

/* The hash a mechanism is or implies (CKM_SHA256, CKM_SHA256_RSA_PKCS, CKM_SHA256_HMAC...). */
const EVP_MD *cu_md(CK_MECHANISM_TYPE m);
/* The hash an MGF1 identifier (CKG_MGF1_SHA256...) names; NULL for others. */
const EVP_MD *cu_mgf_md(CK_RSA_PKCS_MGF_TYPE mgf);

/* Digest of data under a digest mechanism into out (EVP_MAX_MD_SIZE bytes); its length or 0. */
size_t cu_digest(CK_MECHANISM_TYPE m, const void *data, size_t len, uint8_t *out);
/*
 * The DER DigestInfo (RFC 8017 section 9.2) of the hash of data, as CKM_RSA_PKCS signs it,
 * into out (19 + EVP_MAX_MD_SIZE bytes); its length or 0.
 */
size_t cu_digest_info(CK_MECHANISM_TYPE hash, const void *data, size_t len, uint8_t *out);

/* HMAC under CKM_SHA*_HMAC or CKM_SHA*_HMAC_GENERAL (parameter: the CK_ULONG output length). */
size_t cu_hmac(const CK_MECHANISM *m, const void *key, size_t key_len, const void *data,
               size_t len, uint8_t *out);
/* AES-CMAC (all 16 bytes) under a 16-, 24- or 32-byte key; false if OpenSSL fails. */
bool cu_cmac(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[16]);

/*
 * AES under CKM_AES_ECB, _CBC, _CBC_PAD, _CTR (CK_AES_CTR_PARAMS, counting in the low
 * ulCounterBits bits only) or _CFB128; enc 1 encrypts, 0 decrypts. out holds len + 16 bytes.
 * -1 where the token must refuse: a partial block without padding, bad padding, a counter that
 * would overflow, a bad parameter.
 */
int cu_aes(const CK_MECHANISM *m, int enc, const uint8_t *key, size_t key_len, const uint8_t *in,
           size_t len, uint8_t *out, size_t *out_len);

/*
 * A signature of data under an RSA or ECDSA mechanism (CKM_RSA_PKCS, CKM_RSA_X_509,
 * CKM_RSA_PKCS_PSS, CKM_SHA*_RSA_PKCS[_PSS], CKM_ECDSA, CKM_ECDSA_SHA*) with a private key.
 * sig holds 1024 bytes.
 */
int cu_sign(EVP_PKEY *key, const CK_MECHANISM *m, const void *data, size_t len, uint8_t *sig,
            size_t *sig_len);
/* 1 when sig is a valid signature of data under m and key (public or private), 0 when not. */
int cu_verify(EVP_PKEY *key, const CK_MECHANISM *m, const void *data, size_t len,
              const uint8_t *sig, size_t sig_len);

/* CKM_RSA_PKCS or CKM_RSA_PKCS_OAEP (any hash and label) encryption; out holds the modulus. */
int cu_rsa_encrypt(EVP_PKEY *key, const CK_MECHANISM *m, const void *in, size_t len,
                   uint8_t *out, size_t *out_len);
int cu_rsa_decrypt(EVP_PKEY *key, const CK_MECHANISM *m, const void *in, size_t len,
                   uint8_t *out, size_t *out_len);

/* ECDSA signatures: r || s (2 * n bytes) to DER (out: 2 * n + 16 bytes; length or 0) and back. */
size_t cu_ecdsa_to_der(const uint8_t *raw, size_t n, uint8_t *out);
int cu_ecdsa_from_der(const uint8_t *der, size_t der_len, size_t n, uint8_t *raw);
/* Bytes of the order of an EC key (32, 48, 66), or of the modulus of an RSA key. */
size_t cu_sig_size(EVP_PKEY *key);

/* Deterministic test bytes, different for each seed. */
void cu_fill(uint8_t *buf, size_t len, unsigned seed);
/* Hex of a byte string into a static buffer (for failure messages; at most 64 bytes shown). */
const char *cu_hex(const uint8_t *p, size_t len);
/* Hex text to bytes; the number of bytes, or 0 on bad input. */
size_t cu_unhex(const char *hex, uint8_t *out, size_t max);

#endif

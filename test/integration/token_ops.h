/*
 * The token side of the crypto tests: keys made in the token or brought into it from OpenSSL,
 * whole operations run single-part or in parts of chosen sizes, and failure messages that say
 * which case of a table failed. Everything goes through the PKCS#11 function list only.
 */
#ifndef TPMTOK_TEST_TOKEN_OPS_H
#define TPMTOK_TEST_TOKEN_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "p11.h"

/*
 * Keys. Every maker takes extra attributes that replace its defaults of the same type.
 * Defaults: session objects; public keys CKA_PRIVATE false with CKA_VERIFY (and for RSA
 * CKA_ENCRYPT) true; private keys CKA_SIGN (and for RSA CKA_DECRYPT) true; secret keys
 * CKA_ENCRYPT and CKA_DECRYPT true (AES) or CKA_SIGN and CKA_VERIFY true (generic secrets).
 */
CK_RV tk_rsa_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_ULONG bits,
                  const CK_ATTRIBUTE *priv_extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *pub,
                  CK_OBJECT_HANDLE *priv);
/* curve: "P-256", "P-384" or "P-521". */
CK_RV tk_ec_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *curve,
                 const CK_ATTRIBUTE *priv_extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *pub,
                 CK_OBJECT_HANDLE *priv);
/* gen: CKM_AES_KEY_GEN or CKM_GENERIC_SECRET_KEY_GEN; len in bytes. */
CK_RV tk_secret(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_MECHANISM_TYPE gen, CK_ULONG len,
                const CK_ATTRIBUTE *extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *key);
/* An OpenSSL RSA or EC private key, with all its components, as a token private key. */
CK_RV tk_import_private(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY *k,
                        const CK_ATTRIBUTE *extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *key);
CK_RV tk_import_public(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY *k,
                       const CK_ATTRIBUTE *extra, CK_ULONG n_extra, CK_OBJECT_HANDLE *key);
/* type: CKK_AES or CKK_GENERIC_SECRET, with a known CKA_VALUE. */
CK_RV tk_import_secret(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_KEY_TYPE type,
                       const uint8_t *value, size_t len, const CK_ATTRIBUTE *extra,
                       CK_ULONG n_extra, CK_OBJECT_HANDLE *key);
/* The DER OID of a curve for CKA_EC_PARAMS, or NULL. */
const uint8_t *tk_curve_der(const char *curve, size_t *len);

/*
 * Operations. sizes/n_sizes: the part sizes, used in turn and again from the start until the
 * input is used up (zeros make empty updates); sizes NULL runs the single-part function.
 * *out_len holds the capacity of out on entry and the output length on return. The first
 * failing CK_RV is returned.
 */
CK_RV tk_digest(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_MECHANISM_TYPE m, const uint8_t *in,
                size_t len, const size_t *sizes, size_t n_sizes, uint8_t *out, CK_ULONG *out_len);
CK_RV tk_sign(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
              CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
              size_t n_sizes, uint8_t *sig, CK_ULONG *sig_len);
CK_RV tk_verify(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
                CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
                size_t n_sizes, const uint8_t *sig, size_t sig_len);
CK_RV tk_encrypt(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
                 CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
                 size_t n_sizes, uint8_t *out, CK_ULONG *out_len);
CK_RV tk_decrypt(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_MECHANISM *m,
                 CK_OBJECT_HANDLE key, const uint8_t *in, size_t len, const size_t *sizes,
                 size_t n_sizes, uint8_t *out, CK_ULONG *out_len);

/* Whether the slot's mechanism list has m. */
bool tk_listed(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, CK_MECHANISM_TYPE m);
/* A name for messages: "CKM_SHA256", or the number. */
const char *tk_mech_name(CK_MECHANISM_TYPE m);

/* Fails the running test, naming the case, unless got == want. */
void tk_expect_rv(CK_RV got, CK_RV want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fails the running test, naming the case, unless the two byte strings are equal. */
void tk_expect_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif

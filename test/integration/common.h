/* Helpers the integration tests share: attribute reads and OpenSSL views of token keys. */
#ifndef TPMTOK_TEST_COMMON_H
#define TPMTOK_TEST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "p11.h"

#define SO_PIN "so-pin-1234"
#define USER_PIN "user-1234"
#define RW_SESSION (CKF_SERIAL_SESSION | CKF_RW_SESSION)
#define RO_SESSION CKF_SERIAL_SESSION

/* Reads one attribute into a malloc'ed buffer (*len set); NULL with *rv on failure. */
uint8_t *attr_get(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                  CK_ATTRIBUTE_TYPE type, size_t *len, CK_RV *rv);
CK_ULONG attr_ulong(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                    CK_ATTRIBUTE_TYPE type);
bool attr_bool(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
               CK_ATTRIBUTE_TYPE type);
/* The status C_GetAttributeValue gives for one attribute with a NULL pValue. */
CK_RV attr_status(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                  CK_ATTRIBUTE_TYPE type);
/* Objects a template finds (up to max). */
CK_ULONG find_all(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n,
                  CK_OBJECT_HANDLE *out, CK_ULONG max);
/* The key behind a public key object, from its CKA_PUBLIC_KEY_INFO, as OpenSSL reads it. */
EVP_PKEY *public_key_of(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o);
/* Occurrences of needle in a file (the store, a capture...). */
int file_contains(const char *path, const void *needle, size_t n);
/* A fresh token with both PINs; the user logged in on a new R/W session *s. */
CK_SLOT_ID token_with_user(CK_FUNCTION_LIST *f, const char *label, CK_SESSION_HANDLE *s);

#endif

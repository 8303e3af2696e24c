/* What the fault and crash tests check afterwards: every key pair whole, and every key signs. */
#ifndef TPMTOK_TEST_KEYCHECK_H
#define TPMTOK_TEST_KEYCHECK_H

#include "p11.h"

/* Counts of a token's objects, as a logged-in session sees them. */
struct key_census {
    CK_ULONG private_keys, public_keys, data_objects;
    CK_ULONG unpaired;        /* keys whose other half (same CKA_ID) is missing */
};

/* Counts s's token objects; label NULL counts every one, else only those with that label. */
void key_census(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label,
                struct key_census *out);
/*
 * Signs a message with every private key of s's token (ECDSA for EC, PKCS#1 v1.5 SHA-256 for
 * RSA) and verifies each signature with OpenSSL against the public half. The number of keys
 * that signed and verified; a failure is reported on stderr and not counted.
 */
CK_ULONG keys_sign_and_verify(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s);
/* A token EC P-256 key pair with label, CKA_ID from the module. */
CK_RV ec_token_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label);
/* A token RSA-2048 key pair with label. */
CK_RV rsa_token_pair(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *label);

#endif

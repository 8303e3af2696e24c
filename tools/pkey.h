/* Public keys between PKCS#11 attributes and OpenSSL: building them, their ids, SSH lines. */
#ifndef TPMTOK_PKEY_H
#define TPMTOK_PKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "cli.h"

#define KEY_ID_LEN 20   /* SHA-1 */

/*
 * The public key of an RSA or EC key object, from CKA_MODULUS and CKA_PUBLIC_EXPONENT or
 * CKA_EC_PARAMS and CKA_EC_POINT (EVP_PKEY_fromdata). EXIT_OK, EXIT_NOT_FOUND (the object has
 * no public key material the CLI knows), EXIT_FILE (OpenSSL refuses the material), EXIT_PKCS11.
 */
int pkey_from_object(struct tool *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_KEY_TYPE kt,
                     EVP_PKEY **out);

/* The SHA-1 of the key's subjectPublicKey bits (RFC 5280 key identifier method 1). */
bool pkey_key_id(EVP_PKEY *pkey, uint8_t id[KEY_ID_LEN]);

/* The OpenSSH public key line, "ssh-rsa AAAA... comment\n"; malloc'ed, or NULL (said why). */
char *pkey_ssh_line(EVP_PKEY *pkey, const char *comment);

/* The DER of the named curve's OID (CKA_EC_PARAMS) for an OpenSSL group name; OPENSSL_malloc'ed. */
bool pkey_curve_params(const char *group, uint8_t **der, size_t *len);

#endif

/*
 * tpm/ owns everything that talks to the TPM: the TCTI and ESAPI context, the one lock that
 * serialises commands, the residency of loaded objects, the authorization session, and the
 * TPM commands tpmtok uses. Callers above see opaque objects and marshalled blobs, never
 * ESYS_TR or TPM handles, and get CK_RV back (TPM codes are logged where they are mapped).
 *
 * Every function here takes the TPM lock itself; none may be called with it held.
 */
#ifndef TPMTOK_TPM_H
#define TPMTOK_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "util/lock.h"

struct tpm;
struct tpm_obj;

/* Fixed facts about the TPM, read once when it is opened. */
struct tpm_props {
    char manufacturer[5];     /* e.g. "IBM", NUL-terminated */
    char vendor[17];          /* vendor strings 1-4 */
    uint32_t firmware1;       /* TPM2_PT_FIRMWARE_VERSION_1 */
    uint32_t firmware2;
    uint32_t revision;        /* spec revision x 100, e.g. 164 */
    uint32_t transient_min;   /* transient objects the TPM guarantees to hold */
    uint32_t input_buffer;    /* TPM2_PT_INPUT_BUFFER */
};

/* The dictionary-attack state, for token flags. */
struct tpm_da {
    uint32_t counter;
    uint32_t max_tries;
    uint32_t recovery_s;
    bool in_lockout;
};

/*
 * Connects to the TPM named by a tss2 TCTI string (NULL: the tctildr default).
 * CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR (no TPM there; the reason is logged).
 */
CK_RV tpm_open(const char *tcti_conf, const struct lock_ops *locks, struct tpm **out);
/* Flushes every transient object and session it loaded, then disconnects. NULL is fine. */
void tpm_close(struct tpm *t);
const struct tpm_props *tpm_props_get(const struct tpm *t);

/* CKR_OK or a device error. */
CK_RV tpm_da_get(struct tpm *t, struct tpm_da *out);
/* Fills len bytes from TPM2_GetRandom, looping for long requests. */
CK_RV tpm_random(struct tpm *t, uint8_t *out, size_t len);
/* Mixes data into the TPM's RNG state (TPM2_StirRandom). */
CK_RV tpm_stir_random(struct tpm *t, const uint8_t *data, size_t len);

/* A wrapped object as the TPM returns it: marshalled TPM2B_PUBLIC and TPM2B_PRIVATE. */
struct tpm_blob {
    uint8_t *pub;
    size_t pub_len;
    uint8_t *priv;
    size_t priv_len;
};
void tpm_blob_clear(struct tpm_blob *b);

/*
 * A token's storage primary: an ECC P-256 restricted decryption key in the owner hierarchy,
 * derived from a fixed template whose unique field is the token's seed, so the same seed
 * gives the same key on the same TPM. It is created on first use and kept in residency.
 * name/name_len (may be NULL) receive its TPM name, which the token stores to notice a
 * different TPM or a cleared owner hierarchy.
 * CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY.
 */
CK_RV tpm_primary_open(struct tpm *t, const uint8_t *seed, size_t seed_len,
                       struct tpm_obj **out, uint8_t *name, size_t *name_len);
/* Releases an object (flushes it if loaded). NULL is fine. */
void tpm_obj_close(struct tpm *t, struct tpm_obj *o);

/*
 * Seals data (at most 128 bytes) under parent with an auth value, in a salted session that
 * encrypts the sensitive part on the way. The sealed object is dictionary-attack protected.
 */
CK_RV tpm_seal_create(struct tpm *t, struct tpm_obj *parent,
                      const uint8_t *auth, size_t auth_len,
                      const uint8_t *data, size_t data_len, struct tpm_blob *out);
/*
 * Loads a sealed object, unseals it with auth (response encrypted), flushes it.
 * *out_len is the size of out on entry and the data's length on return.
 * CKR_OK, CKR_PIN_INCORRECT (authorization failed), CKR_PIN_LOCKED (TPM in lockout),
 * CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_HOST_MEMORY, CKR_BUFFER_TOO_SMALL.
 */
CK_RV tpm_seal_unseal(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *seal,
                      const uint8_t *auth, size_t auth_len, uint8_t *out, size_t *out_len);

/* ---- capabilities (read from the TPM once, on first use) ---- */

/* True if the TPM implements the algorithm (TPM2_ALG_*), curve (TPM2_ECC_*) or command. */
bool tpm_has_alg(struct tpm *t, uint16_t alg);
bool tpm_has_curve(struct tpm *t, uint16_t curve);
bool tpm_has_command(struct tpm *t, uint32_t cc);
/* True if TPM2_TestParms accepts an RSA key of bits, or a symmetric alg/bits (mode NULL). */
bool tpm_has_rsa_bits(struct tpm *t, unsigned bits);
bool tpm_has_sym_bits(struct tpm *t, uint16_t alg, unsigned bits);

/* ---- keys ---- */

enum tpm_key_type {
    TPM_KEY_RSA,
    TPM_KEY_EC,
    TPM_KEY_AES,
    TPM_KEY_TDES,
    TPM_KEY_HMAC,      /* a keyed-hash object with no fixed scheme */
};

/* What a key is and may do; the TPM object's attributes follow from it. */
struct tpm_key_spec {
    enum tpm_key_type type;
    unsigned bits;        /* RSA modulus, AES/TDES key bits; HMAC: key bytes * 8 */
    uint32_t exponent;    /* RSA; 0 means 65537 */
    uint16_t curve;       /* EC: TPM2_ECC_NIST_P256 ... */
    bool sign;            /* asymmetric: sign; symmetric: encrypt (the TPM calls it sign) */
    bool decrypt;         /* asymmetric: decrypt/ECDH; symmetric: decrypt */
    bool fixed;           /* not extractable: fixedTPM and fixedParent */
};

/* The public part of a key, as PKCS#11 attributes need it (big-endian byte strings). */
struct tpm_key_public {
    enum tpm_key_type type;
    unsigned bits;
    uint8_t modulus[512];        /* RSA */
    size_t modulus_len;
    uint32_t exponent;           /* RSA, 65537 when the TPM says 0 */
    uint16_t curve;              /* EC */
    uint8_t x[66], y[66];        /* EC affine coordinates, each the curve's size */
    size_t coord_len;
};

/* The private part of a key to import (secret: the caller wipes it). */
struct tpm_key_private {
    const uint8_t *value;        /* AES/TDES/HMAC key bytes; EC private scalar */
    size_t value_len;
    const uint8_t *prime;        /* RSA: one prime factor (p) */
    size_t prime_len;
};

/*
 * Creates a key in the TPM under parent with the given auth value (sent encrypted). With
 * priv NULL the TPM generates the key (sensitiveDataOrigin); HMAC keys of a length no hash
 * matches get their bytes from TPM2_GetRandom instead. With priv given, the key is that one:
 * symmetric and HMAC keys go in with TPM2_Create (sensitive part encrypted on the way),
 * RSA and EC keys with TPM2_Import under an inner wrapper whose key is sent encrypted.
 * For an import, pub must describe the same key (modulus/exponent, curve/point).
 * CKR_OK; CKR_KEY_SIZE_RANGE or CKR_TEMPLATE_INCONSISTENT (the TPM does not do that key);
 * CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_HOST_MEMORY; CKR_ATTRIBUTE_VALUE_INVALID for
 * key material the TPM rejects (e.g. a prime that does not divide the modulus).
 */
CK_RV tpm_key_create(struct tpm *t, struct tpm_obj *parent, const struct tpm_key_spec *spec,
                     const uint8_t *auth, size_t auth_len, const struct tpm_key_public *pub,
                     const struct tpm_key_private *priv, struct tpm_blob *out);

/* The public part of a wrapped key. CKR_OK or CKR_DEVICE_ERROR (a blob that does not parse). */
CK_RV tpm_blob_public(const struct tpm_blob *blob, struct tpm_key_public *out);

/* Number of transient objects this process has loaded in the TPM now (tests, benchmarks). */
unsigned tpm_loaded_count(struct tpm *t);

#endif

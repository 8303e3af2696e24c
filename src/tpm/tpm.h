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

/* Number of transient objects this process has loaded in the TPM now (tests, benchmarks). */
unsigned tpm_loaded_count(struct tpm *t);

#endif

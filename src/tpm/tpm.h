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
CK_RV tpm_open(const char *tcti_conf, const struct lock_ops *locks, bool threads_ok,
               struct tpm **out);
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
/*
 * Releases an object (flushes it if loaded). NULL is fine. Never waits for the TPM when the
 * caller holds other locks: the object is then flushed by the next TPM user (tpm_reap).
 */
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
/* A PCR selection in one bank: hash is a TPM algorithm (TPM2_ALG_SHA256...), mask bit n = PCR n. */
struct tpm_pcr_sel {
    uint16_t hash;
    uint32_t mask;        /* PCRs 0..23 */
};

/*
 * What a key's use is bound to, beyond its auth value (which is always needed too):
 * PCRs with fixed values (pcr_digest: SHA-256 over the selected PCRs' values, in index order),
 * or an authority whose signed approvals name the PCR values (PolicyAuthorize).
 */
struct tpm_policy {
    bool authorize;
    struct tpm_pcr_sel pcrs;          /* fixed: the selection; authorize: unused */
    uint8_t pcr_digest[32];
    uint8_t authority_pub[600];       /* authorize: the authority's marshalled TPM2B_PUBLIC */
    size_t authority_pub_len;
};

/* An authority's approval of PCR values for its keys, parsed from its blob (tpm_approval_parse). */
struct tpm_approval {
    struct tpm_pcr_sel pcrs;
    uint8_t pcr_digest[32];
    uint8_t authority_name[68];       /* TPM name of the authority that signed */
    size_t authority_name_len;
    uint8_t sig[1100];                /* marshalled TPMT_SIGNATURE over the approved policy */
    size_t sig_len;
};

struct tpm_key_spec {
    enum tpm_key_type type;
    unsigned bits;        /* RSA modulus, AES/TDES key bits; HMAC: key bytes * 8 */
    uint32_t exponent;    /* RSA; 0 means 65537 */
    uint16_t curve;       /* EC: TPM2_ECC_NIST_P256 ... */
    bool sign;            /* asymmetric: sign; symmetric: encrypt (the TPM calls it sign) */
    bool decrypt;         /* asymmetric: decrypt/ECDH; symmetric: decrypt */
    bool fixed;           /* not extractable: fixedTPM and fixedParent */
    const struct tpm_policy *policy;   /* NULL, or what use is bound to (authPolicy) */
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

/* ---- policies: keys bound to PCR values (policy.c) ---- */

/* The PCRs' values, each the bank's digest size, in index order. CKR_OK or a device error. */
CK_RV tpm_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, uint8_t *values, size_t max,
                   size_t *len);
/* SHA-256 over the PCR values, as PolicyPCR wants it. */
void tpm_pcr_digest(const uint8_t *values, size_t len, uint8_t out[32]);
/* The authPolicy a key bound to p gets (SHA-256). False if p's authority does not parse. */
bool tpm_policy_digest(const struct tpm_policy *p, uint8_t out[32]);
/* "sha256:0,2,7" for log lines. */
void tpm_pcr_sel_text(const struct tpm_pcr_sel *sel, char *buf, size_t size);
/*
 * An authority's public key (DER SubjectPublicKeyInfo: EC P-256/P-384 or RSA) in the form the
 * TPM loads it, with its TPM name. CKR_OK, CKR_ATTRIBUTE_VALUE_INVALID, CKR_HOST_MEMORY.
 */
CK_RV tpm_authority_from_spki(const uint8_t *der, size_t len, struct tpm_policy *p,
                              uint8_t *name, size_t *name_len);
/*
 * The approved policy an authority signs for sel and pcr_digest: SHA-256 of
 * (PolicyPCR digest || empty policyRef), the digest TPM2_VerifySignature checks.
 */
void tpm_approval_hash(const struct tpm_pcr_sel *sel, const uint8_t pcr_digest[32],
                       uint8_t out[32]);
/* Approval blobs (the token stores them as data objects): parse, and make one from parts. */
CK_RV tpm_approval_parse(const uint8_t *blob, size_t len, struct tpm_approval *out);
/* Binds an open key to p (a copy); its uses then run p in a policy session. */
CK_RV tpm_key_set_policy(struct tpm *t, struct tpm_obj *key, const struct tpm_policy *p);
/* The approvals an authorize-bound key may use now (copied; replaces the earlier list). */
CK_RV tpm_key_set_approvals(struct tpm *t, struct tpm_obj *key, const struct tpm_approval *a,
                            size_t n);

/* ---- using keys ---- */

/*
 * A key ready for use: its blob under parent with its auth value (copied). Nothing is sent to
 * the TPM until the key is used; it then stays loaded (or saved) until tpm_obj_close.
 * CKR_OK, CKR_DEVICE_ERROR (a blob that does not parse), CKR_HOST_MEMORY, CKR_GENERAL_ERROR
 * (an auth value longer than 64 bytes).
 */
CK_RV tpm_key_open(struct tpm *t, struct tpm_obj *parent, const struct tpm_blob *blob,
                   const uint8_t *auth, size_t auth_len, struct tpm_obj **out);

/* Signature schemes for tpm_sign. */
enum tpm_sig_scheme {
    TPM_SIG_RSASSA,      /* PKCS#1 v1.5: the TPM adds the DigestInfo for hash */
    TPM_SIG_RSAPSS,      /* PSS with MGF1(hash); the salt is as long as the digest (swtpm,
                          * checked; a verifier that must take any TPM should accept any) */
    TPM_SIG_ECDSA,
};

/*
 * Signs digest (digest_len must be hash's size) with key in the TPM (TPM2_Sign, NULL
 * ticket). RSA: *sig_len = modulus size. ECDSA: r || s, each left-padded to the curve size.
 * *sig_len is the size of sig on entry; a short one gets CKR_BUFFER_TOO_SMALL and the size
 * before the TPM is asked. CKR_OK, CKR_BUFFER_TOO_SMALL, CKR_KEY_FUNCTION_NOT_PERMITTED (the
 * TPM key may not sign), CKR_KEY_TYPE_INCONSISTENT (an RSA scheme on an EC key or the other
 * way), CKR_DATA_LEN_RANGE (digest_len), CKR_MECHANISM_INVALID (a hash tpmtok or the TPM does
 * not know), CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_HOST_MEMORY.
 */
CK_RV tpm_sign(struct tpm *t, struct tpm_obj *key, enum tpm_sig_scheme scheme, uint16_t hash,
               const uint8_t *digest, size_t digest_len, uint8_t *sig, size_t *sig_len);

/* Padding schemes for tpm_rsa_decrypt. */
enum tpm_rsa_padding {
    TPM_RSA_RAW,         /* c^d mod n, the whole block (also raw signing) */
    TPM_RSA_PKCS1,       /* RSAES-PKCS1-v1_5 */
    TPM_RSA_OAEP,        /* OAEP with MGF1(hash); label must end with a zero byte or be empty */
};

/*
 * RSA private-key operation in the TPM (TPM2_RSA_Decrypt; the result comes back encrypted).
 * Raw RSA needs the key's decrypt permission, signing or not. in_len must be the modulus
 * size. *out_len is out's size on entry, the result's on return (raw: always the modulus
 * size, checked before the TPM is asked; padded: known only after, and a short out costs the
 * caller a second decryption). CKR_OK; CKR_ENCRYPTED_DATA_INVALID (padding does not check,
 * or c >= n); CKR_ENCRYPTED_DATA_LEN_RANGE (in_len); CKR_BUFFER_TOO_SMALL;
 * CKR_KEY_FUNCTION_NOT_PERMITTED (no decrypt permission); CKR_KEY_TYPE_INCONSISTENT (not an
 * RSA key); CKR_MECHANISM_PARAM_INVALID (a label the TPM cannot take: not empty and not ending
 * in 0, or longer than 66 bytes; an OAEP hash tpmtok does not know); device and host errors.
 * OAEP uses hash for both the label hash and MGF1.
 */
CK_RV tpm_rsa_decrypt(struct tpm *t, struct tpm_obj *key, enum tpm_rsa_padding padding,
                      uint16_t hash, const uint8_t *label, size_t label_len,
                      const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);

/*
 * Symmetric encryption or decryption with TPM2_EncryptDecrypt2 (TPM2_EncryptDecrypt where 2
 * is missing: then only the output is encrypted on the way), input and output encrypted on
 * the way. mode: TPM2_ALG_CBC, ECB, CTR, CFB (CFB128). iv_len is the block size (16 for AES),
 * or 0 with iv NULL for ECB. len is any length the mode allows (a multiple of the block for
 * CBC and ECB); the TPM layer cuts it into chunks of the TPM's buffer and chains iv (in: the
 * IV or counter; out: the next one). CTR's counter is the whole block, incremented big-endian
 * over all 128 bits as OpenSSL does. A partial last block (CFB, CTR) ends the chain: the IV
 * that comes back does not continue the stream (the counter has passed the whole block; CFB's
 * holds the partial cipher text and unused key stream), so a multi-part caller passes whole
 * blocks until its final part. in and out may be the same buffer (out is wiped when a
 * decryption fails). CKR_OK; CKR_KEY_FUNCTION_NOT_PERMITTED; CKR_KEY_TYPE_INCONSISTENT (not a
 * cipher key); CKR_DATA_LEN_RANGE or CKR_ENCRYPTED_DATA_LEN_RANGE (len for CBC and ECB);
 * CKR_MECHANISM_INVALID (mode); CKR_MECHANISM_PARAM_INVALID (iv_len); device and host errors.
 */
CK_RV tpm_cipher(struct tpm *t, struct tpm_obj *key, bool decrypt, uint16_t mode,
                 uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out);

/* ---- hash and HMAC sequences ---- */

/*
 * Starts a hash sequence (TPM2_HashSequenceStart) or a MAC sequence with key
 * (TPM2_HMAC_Start) for hash, with a random auth value sent encrypted. For a MAC, hash is a
 * TPM2_ALG_SHA* with a keyedHash key (HMAC); TPM2_ALG_CMAC is refused (CKR_MECHANISM_INVALID:
 * libtpms 0.9 fails on a CMAC sequence whose context was saved and loaded). salt is the primary
 * to salt the process session with if none exists yet (any primary; may be NULL when a key
 * is given: its parent is used). The sequence is an object in residency: saved and reloaded
 * as room requires. Every sequence function below salts a new session, when it needs one,
 * with any primary still open. CKR_MECHANISM_INVALID (TPM2_ALG_NULL or a hash the TPM lacks),
 * CKR_KEY_TYPE_INCONSISTENT (not a key of that MAC), CKR_KEY_FUNCTION_NOT_PERMITTED, device and
 * host errors.
 */
CK_RV tpm_hash_start(struct tpm *t, struct tpm_obj *salt, uint16_t hash, struct tpm_obj **seq);
CK_RV tpm_hmac_start(struct tpm *t, struct tpm_obj *key, uint16_t hash, struct tpm_obj **seq);
/*
 * Feeds len bytes (any length: sent in chunks of the TPM's buffer, encrypted on the way).
 * n full TPM buffers cost exactly n TPM2_SequenceUpdate commands, so a caller that buffers
 * to tpm_buffer_size() pays one command per buffer. A sequence the TPM lost (reset) gives
 * CKR_DEVICE_ERROR.
 */
CK_RV tpm_seq_update(struct tpm *t, struct tpm_obj *seq, const uint8_t *data, size_t len);
/*
 * Feeds the last len bytes (at most the TPM's buffer, else CKR_GENERAL_ERROR) and completes
 * (TPM2_SequenceComplete, one command): the digest or HMAC (encrypted on the way back) into
 * out (*out_len: size in, length out). The sequence is gone from the TPM either way, even
 * when out is too small (CKR_BUFFER_TOO_SMALL, the result lost): the caller sizes out for
 * the hash first. The caller still tpm_obj_close()s seq.
 */
CK_RV tpm_seq_complete(struct tpm *t, struct tpm_obj *seq, const uint8_t *data, size_t len,
                       uint8_t *out, size_t *out_len);
/*
 * One-command digest (TPM2_Hash) and HMAC (TPM2_HMAC; hash TPM2_ALG_CMAC with an AES key for
 * a CMAC, TPM2_MAC's form) of at most the TPM's buffer (more is CKR_GENERAL_ERROR), data and
 * result encrypted on the way. A short out gets CKR_BUFFER_TOO_SMALL and the size (the
 * command ran).
 */
CK_RV tpm_hash(struct tpm *t, struct tpm_obj *salt, uint16_t hash, const uint8_t *data,
               size_t len, uint8_t *out, size_t *out_len);
CK_RV tpm_hmac(struct tpm *t, struct tpm_obj *key, uint16_t hash, const uint8_t *data,
               size_t len, uint8_t *out, size_t *out_len);
/* The TPM's command buffer for data (TPM2_PT_INPUT_BUFFER, at most 1024: tss2's buffers). */
size_t tpm_buffer_size(const struct tpm *t);

/*
 * A sequence's state as a TPM context (TPM2_ContextSave of the sequence, which stays usable;
 * no command when the sequence's saved context is current), for the operation-state blob:
 * *out malloc'ed (a marshalled TPMS_CONTEXT), and the sequence's auth value into auth
 * (*auth_len: size in, length out; 32 bytes, CKR_BUFFER_TOO_SMALL if less). The auth value is
 * a secret: with the context it lets anyone continue the sequence on this TPM until its next
 * reset, and for an HMAC that means MACs of any continuation with the key, so a blob holding
 * it must encrypt it, not only MAC it.
 *
 * tpm_seq_restore loads such a context as a new, independent sequence (TPM2_ContextLoad) with
 * the auth value it had; the same context loads any number of times, each load a sequence of
 * its own (checked on swtpm). CKR_SAVED_STATE_INVALID: bytes that do not parse as one
 * sequence context, or a context this TPM refuses (another TPM, a TPM reset since, altered:
 * TPM_RC_INTEGRITY).
 */
CK_RV tpm_seq_save(struct tpm *t, struct tpm_obj *seq, uint8_t **out, size_t *out_len,
                   uint8_t *auth, size_t *auth_len);
CK_RV tpm_seq_restore(struct tpm *t, const uint8_t *ctx, size_t ctx_len, const uint8_t *auth,
                      size_t auth_len, struct tpm_obj **seq);

/*
 * Which boot of the TPM this is: its reset and restart counts (TPM2_ReadClock), which saved
 * contexts of transient objects do not outlive. fresh asks the TPM; otherwise the count last
 * read serves, unless the process has seen the TPM restart since.
 */
CK_RV tpm_boots(struct tpm *t, bool fresh, uint64_t *boots);

/*
 * Flushes objects whose tpm_obj_close came while the caller held other locks, if this thread
 * holds none now. Cheap when there are none; called when module functions end.
 */
void tpm_reap(struct tpm *t);

/* Number of transient objects this process has loaded in the TPM now (tests, benchmarks). */
unsigned tpm_loaded_count(struct tpm *t);

#endif

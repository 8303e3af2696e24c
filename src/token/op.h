/*
 * token/op: cryptographic operations in progress. Each mechanism family implements one small
 * vtable (update, final, single-part, lengths, free); this file runs the PKCS#11 conventions
 * on top of it for every family alike: the output-length query and CKR_BUFFER_TOO_SMALL
 * (the operation stays active), any other error ends it, and which operations may be active
 * together in one session (a digest with an encryption, and so on).
 */
#ifndef TPMTOK_OP_H
#define TPMTOK_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "token/module.h"

struct session;
struct object;
struct mech;
struct tpm;
struct tpm_obj;
struct key_ref;
struct buf;
struct rd;

enum op_kind {
    OP_ENCRYPT,
    OP_DECRYPT,
    OP_DIGEST,
    OP_SIGN,
    OP_VERIFY,
    OP_KINDS,
};

struct op;

struct op_vtable {
    /*
     * Consumes in. Encrypt/decrypt write exactly update_len(len) bytes to out (the caller made
     * sure there is room); the others write nothing.
     */
    CK_RV (*update)(struct op *op, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);
    size_t (*update_len)(const struct op *op, size_t len);
    /*
     * Ends the data: writes the result (digest, signature, last plaintext...) to out, which has
     * room for final_max(op, 0) bytes. Verify: in is the signature and nothing is written.
     */
    CK_RV (*final)(struct op *op, const uint8_t *in, size_t in_len, uint8_t *out,
                   size_t *out_len);
    /* The final's output once update has also taken more bytes (a single-part call asks). */
    size_t (*final_max)(const struct op *op, size_t more);
    /* Single-part, when it differs from update + final (NULL: update then final). */
    CK_RV (*oneshot)(struct op *op, const uint8_t *in, size_t len, const uint8_t *sig,
                     size_t sig_len, uint8_t *out, size_t *out_len);
    size_t (*oneshot_max)(const struct op *op, size_t len);
    /*
     * True when final_max and oneshot_max are the exact lengths, so a length query needs no
     * work; otherwise (decryption with padding) the result is computed for the query and kept.
     */
    bool exact;
    /*
     * Operation state (C_GetOperationState): writes what the operation holds now, without
     * disturbing it; CKR_STATE_UNSAVEABLE when this operation's state cannot be saved.
     * NULL: the family never can.
     */
    CK_RV (*save)(struct op *op, struct buf *out);
    /*
     * Puts a saved state into an operation just made with the same mechanism, parameters and
     * key; CKR_SAVED_STATE_INVALID when it does not fit (or its TPM context no longer loads).
     */
    CK_RV (*restore)(struct op *op, struct rd *in);
    void (*free)(struct op *op);
};

/* What every operation has; families extend it by putting it first in their own struct. */
struct op {
    const struct op_vtable *vt;
    const struct mech *mech;
    enum op_kind kind;
    struct tpm *tpm;
    struct tpm_obj *salt;          /* the token's primary, for sessions and sequences */
    struct key_ref *key;           /* the key, for keyed operations (a counted reference) */
    bool context_login;            /* CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) due */
    bool started;                  /* data has been fed through C_*Update */
    uint8_t *params;               /* the mechanism's parameters as given (for saved states) */
    size_t params_len;
    bool has_key_id;
    uint8_t key_id[32];            /* which key: see object_key_identity */
    uint8_t *pending;              /* a result computed for a length query (secret) */
    size_t pending_len;
    bool has_pending;
};

/* Everything an Init hands the family's constructor. */
struct op_init {
    struct module *m;
    struct session *s;
    const struct mech *mech;
    const CK_MECHANISM *params;    /* the application's mechanism and parameters */
    enum op_kind kind;
    struct object *key_obj;        /* the key object (NULL for digests) */
    struct key_ref *key;           /* its TPM key, when it has one */
};

/* True for the two kinds of operation a session may run at once (the dual-function pairs). */
bool op_kinds_pair(enum op_kind a, enum op_kind b);
/* C_*Init for kind: checks the mechanism, the key and the session, then starts the operation. */
CK_RV op_init(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const CK_MECHANISM *mech,
              CK_OBJECT_HANDLE key);
/* C_*Update. out/out_len are NULL for digest, sign and verify. */
CK_RV op_update(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const uint8_t *in,
                size_t len, uint8_t *out, CK_ULONG *out_len);
/* C_*Final. Verify: in is the signature (out NULL). */
CK_RV op_final(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const uint8_t *in,
               size_t in_len, uint8_t *out, CK_ULONG *out_len);
/* C_Encrypt, C_Decrypt, C_Digest, C_Sign, C_Verify (sig: the signature to check). */
CK_RV op_single(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const uint8_t *in,
                size_t len, const uint8_t *sig, size_t sig_len, uint8_t *out, CK_ULONG *out_len);
/*
 * A data call's arguments are unusable: like any other error, that ends the operations it
 * works on (a and b, the same kind for all but the dual-function calls). Returns
 * CKR_ARGUMENTS_BAD, or what made the session unusable.
 */
CK_RV op_bad_arguments(struct module *m, CK_SESSION_HANDLE h, enum op_kind a, enum op_kind b);
/* C_DigestKey. */
CK_RV op_digest_key(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key);
/*
 * The dual-function calls. cipher is OP_ENCRYPT (other's update takes the plaintext in, then
 * it is encrypted to out) or OP_DECRYPT (in is decrypted to out, then other's update takes
 * that plaintext). out follows the encryption/decryption's output conventions.
 */
CK_RV op_dual(struct module *m, CK_SESSION_HANDLE h, enum op_kind cipher, enum op_kind other,
              const uint8_t *in, size_t len, uint8_t *out, CK_ULONG *out_len);

/* C_Login(CKU_CONTEXT_SPECIFIC) succeeded on s: the operation waiting for it may go on. */
bool op_context_login_due(struct session *s);
void op_context_login_done(struct session *s);

/* Ends and frees every operation of a session (op_end_all_locked: module lock held). */
void op_end_all(struct session *s);
void op_end_all_locked(struct session *s);
/* Ends the operations of s that use a TPM key (at logout). Module lock held. */
void op_end_keyed_locked(struct session *s);
/* Ends s's operation of kind (NULL-safe). */
void op_end(struct session *s, enum op_kind kind);

/* Families: their constructors, called by op_init through the mechanism table. */
CK_RV op_digest_new(const struct op_init *in, struct op **out);
CK_RV op_sign_new(const struct op_init *in, struct op **out);
CK_RV op_cipher_new(const struct op_init *in, struct op **out);
CK_RV op_rsa_new(const struct op_init *in, struct op **out);

/* Common helpers for the families. */
void op_base_free(struct op *op);

/*
 * Makes an operation as C_*Init does (mechanism, key and parameter checks) without putting it
 * in the session: for C_SetOperationState, which installs operations only once all are made.
 */
CK_RV op_make(struct module *m, struct session *s, enum op_kind kind, const CK_MECHANISM *mech,
              CK_OBJECT_HANDLE key, struct op **out);
/* Frees an operation that is in no session (NULL is fine). */
void op_discard(struct op *op, bool module_locked);

#endif

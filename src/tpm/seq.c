/* Hash and HMAC sequences in the TPM, one-command digests and HMACs, sequence contexts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "tpm/call.h"
#include "tpm/sess.h"
#include "tpm/tpm_internal.h"
#include "util/log.h"
#include "util/secret.h"

/* A sequence's auth value: random, sent encrypted; it leaves this layer only in tpm_seq_save. */
#define SEQ_AUTH_BYTES 32
/* The savedHandle TPM2_ContextSave gives a sequence object (Part 2, TPMS_CONTEXT; swtpm too). */
#define SEQ_SAVED_HANDLE 0x80000001u

size_t tpm_buffer_size(const struct tpm *t)
{
    uint32_t n = t->props.input_buffer;

    return n == 0 || n > TPM2_MAX_DIGEST_BUFFER ? TPM2_MAX_DIGEST_BUFFER : n;
}

/*
 * A primary to salt the process session with when it has to start again (after the TPM lost
 * it): a sequence belongs to no key, and any of our primaries will do. Caller holds t->lock.
 */
static struct tpm_obj *any_primary(struct tpm *t)
{
    for (struct tpm_obj *o = t->objs; o != NULL; o = o->next)
        if (o->kind == TPM_OBJ_PRIMARY)
            return o;
    return NULL;
}

/* A command about to create an object needs a slot: evict down to our limit first. */
static void make_room(struct tpm *t)
{
    while (t->loaded >= t->max_loaded && resid_evict_lru(t))
        ;
}

/*
 * A sequence that must not be used again: forgotten, and flushed unless the TPM let go of it
 * itself (a successful TPM2_SequenceComplete).
 */
static void seq_drop(struct tpm *t, struct tpm_obj *seq, bool flush)
{
    if (flush && seq->handle != 0)
        tpm_flush_handle(t, seq->handle);
    resid_forget(t, seq);
}

/* ---- starting ---- */

struct start_args {
    struct tpm_obj *key;          /* HMAC_Start: the key; NULL for a hash */
    struct tpm_obj *seq;
    TPMI_ALG_HASH hash;
};

/* The new sequence is ours once the TPM names its handle: adopted, then unpinned. */
static TSS2_RC start_once(struct tpm *t, void *arg)
{
    struct start_args *a = arg;
    struct sess_auth auth = { .n_names = 0 };
    TPMI_DH_OBJECT handle = 0;
    struct sess *sess = t->sess;
    TSS2_RC rc;

    if (t->sess == NULL)
        return TSS2_ESYS_RC_BAD_SEQUENCE;
    if (a->key != NULL && ((rc = policy_begin(t, a->key, &sess)) != TSS2_RC_SUCCESS ||
                           (rc = resid_load(t, a->key)) != TSS2_RC_SUCCESS))
        return rc;
    make_room(t);
    if (a->key != NULL) {
        auth.n_names = 1;
        auth.names[0] = &a->key->name;
        auth.auth = &a->key->auth;
        rc = Tss2_Sys_HMAC_Start_Prepare(t->sys, a->key->handle, &a->seq->auth, a->hash);
    } else {
        rc = Tss2_Sys_HashSequenceStart_Prepare(t->sys, &a->seq->auth, a->hash);
    }
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, sess, a->key ? TPM2_CC_HMAC_Start : TPM2_CC_HashSequenceStart,
                      &auth, SESS_ENCRYPT_CMD);
    if (a->key != NULL)
        policy_end(t, a->key, rc);
    if (rc == TSS2_RC_SUCCESS && a->key != NULL)
        rc = Tss2_Sys_HMAC_Start_Complete(t->sys, &handle);
    else if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_HashSequenceStart_Complete(t->sys, &handle);
    if (rc == TSS2_RC_SUCCESS) {
        resid_adopt(t, a->seq, handle);
        resid_unpin(t, a->seq);
    }
    resid_unpin(t, a->key);
    return rc;
}

/* A random auth value whose last byte is not zero (the TPM would strip it). */
static CK_RV seq_auth_new(TPM2B_AUTH *auth)
{
    auth->size = SEQ_AUTH_BYTES;
    if (RAND_bytes(auth->buffer, SEQ_AUTH_BYTES) != 1) {
        log_error("OpenSSL's RAND_bytes failed");
        return CKR_FUNCTION_FAILED;
    }
    auth->buffer[SEQ_AUTH_BYTES - 1] |= 1;
    return CKR_OK;
}

/*
 * A hash the TPM has. Asked first because TPMs refuse others in their own ways (libtpms:
 * TPM_RC_SYMMETRIC for one in TPM2_HMAC_Start), and TPM_ALG_NULL would start an event
 * sequence, which is no digest.
 */
static bool hash_ok(struct tpm *t, uint16_t hash)
{
    return hash != TPM2_ALG_NULL && tpm_has_alg(t, hash);
}

static CK_RV seq_start(struct tpm *t, struct tpm_obj *salt, struct tpm_obj *key, uint16_t hash,
                       struct tpm_obj **out)
{
    struct start_args a = { .key = key, .hash = hash };
    TSS2_RC rc;
    CK_RV rv;

    if (!hash_ok(t, hash))
        return CKR_MECHANISM_INVALID;
    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_HashSequenceStart");
    if ((a.seq = resid_obj_new(t, TPM_OBJ_SEQUENCE)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if ((rv = seq_auth_new(&a.seq->auth)) != CKR_OK)
        goto out;
    if (salt == NULL)
        salt = key != NULL ? key->parent : any_primary(t);
    rc = tpm_call(t, salt, start_once, &a);
    rv = tpm_use_rc_to_rv(rc, key ? "TPM2_HMAC_Start" : "TPM2_HashSequenceStart");
    if (rv == CKR_OK) {
        *out = a.seq;
        a.seq = NULL; /* transferred */
    }
out:
    resid_obj_free(t, a.seq);
    tpm_leave(t);
    return rv;
}

CK_RV tpm_hash_start(struct tpm *t, struct tpm_obj *salt, uint16_t hash, struct tpm_obj **seq)
{
    return seq_start(t, salt, NULL, hash, seq);
}

/*
 * An HMAC takes a keyedHash key, a CMAC (TPM2_MAC, which shares TPM2_HMAC's command code and
 * layout) an AES key. libtpms looks at a key's scheme before its type, so a mismatch would be
 * refused for its "scheme": say what is wrong before asking.
 */
static bool mac_key_fits(const struct tpm_obj *key, uint16_t alg)
{
    const TPMT_PUBLIC *p = &key->pub.publicArea;

    if (alg == TPM2_ALG_CMAC)
        return p->type == TPM2_ALG_SYMCIPHER &&
               p->parameters.symDetail.sym.algorithm == TPM2_ALG_AES;
    return p->type == TPM2_ALG_KEYEDHASH;
}

CK_RV tpm_hmac_start(struct tpm *t, struct tpm_obj *key, uint16_t hash, struct tpm_obj **seq)
{
    /* libtpms 0.9 stops (failure mode) on a CMAC sequence once its context was loaded. */
    if (hash == TPM2_ALG_CMAC)
        return CKR_MECHANISM_INVALID;
    if (!mac_key_fits(key, hash))
        return CKR_KEY_TYPE_INCONSISTENT;
    return seq_start(t, NULL, key, hash, seq);
}

/* ---- feeding and completing ---- */

struct feed_args {
    struct tpm_obj *seq;
    bool complete;                /* TPM2_SequenceComplete, else TPM2_SequenceUpdate */
    TPM2B_MAX_BUFFER data;        /* secret: digests may be of keys */
    TPM2B_DIGEST result;          /* SequenceComplete; secret for an HMAC */
};

/*
 * A sequence is authorized by its auth value; its name is empty. Whatever the outcome, the
 * state in the TPM may have moved on, so the saved context is no longer current.
 */
static TSS2_RC feed_once(struct tpm *t, void *arg)
{
    struct feed_args *a = arg;
    struct sess_auth auth = { .n_names = 1 };
    TPMT_TK_HASHCHECK ticket = { 0 };
    TSS2_RC rc;

    if (t->sess == NULL)
        return TSS2_ESYS_RC_BAD_SEQUENCE;
    if ((rc = resid_load(t, a->seq)) != TSS2_RC_SUCCESS)
        return rc;
    auth.names[0] = &a->seq->name;
    auth.auth = &a->seq->auth;
    a->seq->saved_current = false;
    if (a->complete) {
        rc = Tss2_Sys_SequenceComplete_Prepare(t->sys, a->seq->handle, &a->data, TPM2_RH_NULL);
        if (rc == TSS2_RC_SUCCESS)
            rc = sess_run(t, t->sess, TPM2_CC_SequenceComplete, &auth,
                          SESS_ENCRYPT_CMD | SESS_DECRYPT_RSP);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_Sys_SequenceComplete_Complete(t->sys, &a->result, &ticket);
    } else {
        rc = Tss2_Sys_SequenceUpdate_Prepare(t->sys, a->seq->handle, &a->data);
        if (rc == TSS2_RC_SUCCESS)
            rc = sess_run(t, t->sess, TPM2_CC_SequenceUpdate, &auth, SESS_ENCRYPT_CMD);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_Sys_SequenceUpdate_Complete(t->sys);
    }
    resid_unpin(t, a->seq);
    return rc;
}

/* A sequence the TPM lost (a reset, with nothing saved) cannot come back: not a bug of ours. */
static CK_RV feed_rc_to_rv(const struct tpm_obj *seq, TSS2_RC rc, const char *what)
{
    if (rc == TSS2_ESYS_RC_BAD_REFERENCE && seq->handle == 0 && seq->saved == NULL) {
        log_error("%s: the TPM no longer has the sequence (was it reset?)", what);
        return CKR_DEVICE_ERROR;
    }
    return tpm_rc_to_rv(rc, what);
}

CK_RV tpm_seq_update(struct tpm *t, struct tpm_obj *seq, const uint8_t *data, size_t len)
{
    size_t chunk = tpm_buffer_size(t);
    struct feed_args *a;
    TSS2_RC rc = TSS2_RC_SUCCESS;
    CK_RV rv;

    if (len == 0)
        return CKR_OK;
    if ((a = calloc(1, sizeof *a)) == NULL)
        return CKR_HOST_MEMORY;
    a->seq = seq;
    if (!tpm_enter(t))
        rc = TPMTOK_RC_REENTERED;
    for (size_t done = 0, n; done < len && rc == TSS2_RC_SUCCESS; done += n) {
        n = len - done < chunk ? len - done : chunk;
        a->data.size = (UINT16)n;
        memcpy(a->data.buffer, data + done, n);
        rc = tpm_call(t, any_primary(t), feed_once, a);
    }
    if (rc != TPMTOK_RC_REENTERED)
        tpm_leave(t);
    rv = feed_rc_to_rv(seq, rc, "TPM2_SequenceUpdate");
    secret_free(a, sizeof *a);
    return rv;
}

/* The result into out (*out_len: size in, length out). */
static CK_RV result_copy(const TPM2B_DIGEST *result, uint8_t *out, size_t *out_len)
{
    if (*out_len < result->size) {
        *out_len = result->size;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(out, result->buffer, result->size);
    *out_len = result->size;
    return CKR_OK;
}

CK_RV tpm_seq_complete(struct tpm *t, struct tpm_obj *seq, const uint8_t *data, size_t len,
                       uint8_t *out, size_t *out_len)
{
    struct feed_args *a = NULL;
    TSS2_RC rc = TSS2_ESYS_RC_BAD_VALUE;
    CK_RV rv;

    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_SequenceComplete");
    if (len > tpm_buffer_size(t)) {
        log_error("tpm_seq_complete: %zu bytes is more than one command takes", len);
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    if ((a = calloc(1, sizeof *a)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    a->seq = seq;
    a->complete = true;
    a->data.size = (UINT16)len;
    if (len > 0)
        memcpy(a->data.buffer, data, len);
    rc = tpm_call(t, any_primary(t), feed_once, a);
    rv = feed_rc_to_rv(seq, rc, "TPM2_SequenceComplete");
    if (rv == CKR_OK)
        rv = result_copy(&a->result, out, out_len);
out:
    /* Completed, the TPM flushed it; failed or refused, it must not go on half-fed either. */
    seq_drop(t, seq, rc != TSS2_RC_SUCCESS);
    tpm_leave(t);
    secret_free(a, sizeof *a);
    return rv;
}

/* ---- one command: TPM2_Hash, TPM2_HMAC ---- */

struct oneshot_args {
    struct tpm_obj *key;          /* TPM2_HMAC's key; NULL for TPM2_Hash */
    TPMI_ALG_HASH hash;
    TPM2B_MAX_BUFFER data;        /* secret */
    TPM2B_DIGEST result;          /* secret for an HMAC */
};

static TSS2_RC oneshot_once(struct tpm *t, void *arg)
{
    const unsigned flags = SESS_ENCRYPT_CMD | SESS_DECRYPT_RSP;
    struct oneshot_args *a = arg;
    struct sess_auth auth = { .n_names = 0 };
    TPMT_TK_HASHCHECK ticket = { 0 };
    struct sess *sess;
    TSS2_RC rc;

    if (t->sess == NULL)
        return TSS2_ESYS_RC_BAD_SEQUENCE;
    if (a->key == NULL) {
        rc = Tss2_Sys_Hash_Prepare(t->sys, &a->data, a->hash, TPM2_RH_NULL);
        if (rc == TSS2_RC_SUCCESS)
            rc = sess_run(t, t->sess, TPM2_CC_Hash, &auth, flags);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_Sys_Hash_Complete(t->sys, &a->result, &ticket);
        return rc;
    }
    if ((rc = policy_begin(t, a->key, &sess)) != TSS2_RC_SUCCESS ||
        (rc = resid_load(t, a->key)) != TSS2_RC_SUCCESS)
        return rc;
    auth.n_names = 1;
    auth.names[0] = &a->key->name;
    auth.auth = &a->key->auth;
    rc = Tss2_Sys_HMAC_Prepare(t->sys, a->key->handle, &a->data, a->hash);
    if (rc == TSS2_RC_SUCCESS)
        rc = sess_run(t, sess, TPM2_CC_HMAC, &auth, flags);
    policy_end(t, a->key, rc);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_HMAC_Complete(t->sys, &a->result);
    resid_unpin(t, a->key);
    return rc;
}

static CK_RV oneshot(struct tpm *t, struct tpm_obj *salt, struct tpm_obj *key, uint16_t hash,
                     const uint8_t *data, size_t len, uint8_t *out, size_t *out_len)
{
    struct oneshot_args *a = NULL;
    TSS2_RC rc;
    CK_RV rv;

    if (len > tpm_buffer_size(t)) {
        log_error("tpm_hash/tpm_hmac: %zu bytes is more than one command takes", len);
        return CKR_GENERAL_ERROR;
    }
    if (!hash_ok(t, hash))
        return CKR_MECHANISM_INVALID;
    if ((a = calloc(1, sizeof *a)) == NULL)
        return CKR_HOST_MEMORY;
    a->key = key;
    a->hash = hash;
    a->data.size = (UINT16)len;
    if (len > 0)
        memcpy(a->data.buffer, data, len);
    rc = TPMTOK_RC_REENTERED;
    if (tpm_enter(t)) {
        rc = tpm_call(t, salt != NULL ? salt : any_primary(t), oneshot_once, a);
        tpm_leave(t);
    }
    rv = tpm_use_rc_to_rv(rc, key ? "TPM2_HMAC" : "TPM2_Hash");
    if (rv == CKR_OK)
        rv = result_copy(&a->result, out, out_len);
    secret_free(a, sizeof *a);
    return rv;
}

CK_RV tpm_hash(struct tpm *t, struct tpm_obj *salt, uint16_t hash, const uint8_t *data,
               size_t len, uint8_t *out, size_t *out_len)
{
    return oneshot(t, salt, NULL, hash, data, len, out, out_len);
}

CK_RV tpm_hmac(struct tpm *t, struct tpm_obj *key, uint16_t hash, const uint8_t *data,
               size_t len, uint8_t *out, size_t *out_len)
{
    if (!mac_key_fits(key, hash))
        return CKR_KEY_TYPE_INCONSISTENT;
    return oneshot(t, key->parent, key, hash, data, len, out, out_len);
}

/* ---- saved sequence state ---- */

/*
 * Makes seq->saved current: nothing to do when it is (an evicted sequence always has a
 * current saved context); otherwise TPM2_ContextSave, which leaves the sequence loaded.
 */
static TSS2_RC save_once(struct tpm *t, void *arg)
{
    struct tpm_obj *seq = arg;
    TSS2_RC rc;

    if (seq->saved != NULL && seq->saved_current)
        return TSS2_RC_SUCCESS;
    if (seq->saved == NULL && (seq->saved = calloc(1, sizeof *seq->saved)) == NULL)
        return TSS2_ESYS_RC_MEMORY;
    if ((rc = resid_load(t, seq)) != TSS2_RC_SUCCESS)
        return rc;
    rc = Tss2_Sys_ContextSave(t->sys, seq->handle, seq->saved);
    if (rc == TSS2_RC_SUCCESS)
        seq->saved_current = true;
    resid_unpin(t, seq);
    return rc;
}

static CK_RV context_marshal(const TPMS_CONTEXT *ctx, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = malloc(sizeof *ctx);
    size_t off = 0;
    TSS2_RC rc;

    if (buf == NULL)
        return CKR_HOST_MEMORY;
    rc = Tss2_MU_TPMS_CONTEXT_Marshal(ctx, buf, sizeof *ctx, &off);
    if (rc != TSS2_RC_SUCCESS) {
        free(buf);
        return tpm_rc_to_rv(rc, "marshalling a sequence context");
    }
    *out = buf;
    *out_len = off;
    return CKR_OK;
}

CK_RV tpm_seq_save(struct tpm *t, struct tpm_obj *seq, uint8_t **out, size_t *out_len,
                   uint8_t *auth, size_t *auth_len)
{
    TSS2_RC rc;
    CK_RV rv;

    *out = NULL;
    *out_len = 0;
    if (!tpm_enter(t))
        return tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_ContextSave(sequence)");
    if (*auth_len < seq->auth.size) {
        *auth_len = seq->auth.size;
        rv = CKR_BUFFER_TOO_SMALL;
        goto out;
    }
    rc = tpm_call(t, NULL, save_once, seq);
    if ((rv = tpm_rc_to_rv(rc, "TPM2_ContextSave(sequence)")) != CKR_OK ||
        (rv = context_marshal(seq->saved, out, out_len)) != CKR_OK)
        goto out;
    memcpy(auth, seq->auth.buffer, seq->auth.size);
    *auth_len = seq->auth.size;
out:
    tpm_leave(t);
    return rv;
}

struct restore_args {
    TPMS_CONTEXT *ctx;
    struct tpm_obj *seq;
};

/* The context loads as a new object; it stays the sequence's saved context, current as it is. */
static TSS2_RC restore_once(struct tpm *t, void *arg)
{
    struct restore_args *a = arg;
    TPMI_DH_CONTEXT handle = 0;
    TSS2_RC rc;

    make_room(t);
    if ((rc = Tss2_Sys_ContextLoad(t->sys, a->ctx, &handle)) != TSS2_RC_SUCCESS)
        return rc;
    resid_adopt(t, a->seq, handle);
    resid_unpin(t, a->seq);
    a->seq->saved = a->ctx;
    a->seq->saved_current = true;
    a->ctx = NULL; /* transferred */
    return TSS2_RC_SUCCESS;
}

/*
 * A context this TPM will not load (another TPM, an earlier boot, altered bytes) fails on a
 * parameter or handle: TPM_RC_INTEGRITY above all, TPM_RC_HIERARCHY, TPM_RC_HANDLE, TPM_RC_SIZE.
 */
static CK_RV restore_rc_to_rv(TSS2_RC rc)
{
    if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1)) {
        log_info("TPM2_ContextLoad: the saved sequence is not from this TPM and boot (0x%x)",
                 (unsigned)rc);
        return CKR_SAVED_STATE_INVALID;
    }
    return tpm_rc_to_rv(rc, "TPM2_ContextLoad(sequence)");
}

/* The bytes and auth value as a context to load; CKR_SAVED_STATE_INVALID if they cannot be. */
static CK_RV context_unmarshal(const uint8_t *buf, size_t len, size_t auth_len,
                               TPMS_CONTEXT *ctx)
{
    size_t off = 0;
    TSS2_RC rc = Tss2_MU_TPMS_CONTEXT_Unmarshal(buf, len, &off, ctx);

    if (rc != TSS2_RC_SUCCESS || off != len || ctx->savedHandle != SEQ_SAVED_HANDLE ||
        auth_len > sizeof(TPMU_HA)) {
        log_info("a saved sequence does not parse (0x%x, %zu of %zu bytes, handle 0x%x)",
                 (unsigned)rc, off, len, (unsigned)ctx->savedHandle);
        return CKR_SAVED_STATE_INVALID;
    }
    return CKR_OK;
}

CK_RV tpm_seq_restore(struct tpm *t, const uint8_t *ctx, size_t ctx_len, const uint8_t *auth,
                      size_t auth_len, struct tpm_obj **seq)
{
    struct restore_args a = { 0 };
    TSS2_RC rc;
    CK_RV rv;

    if ((a.ctx = calloc(1, sizeof *a.ctx)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = context_unmarshal(ctx, ctx_len, auth_len, a.ctx)) != CKR_OK)
        goto out;
    if (!tpm_enter(t)) {
        rv = tpm_rc_to_rv(TPMTOK_RC_REENTERED, "TPM2_ContextLoad(sequence)");
        goto out;
    }
    if ((a.seq = resid_obj_new(t, TPM_OBJ_SEQUENCE)) == NULL) {
        rv = CKR_HOST_MEMORY;
    } else {
        a.seq->auth.size = (UINT16)auth_len;
        if (auth_len > 0)
            memcpy(a.seq->auth.buffer, auth, auth_len);
        /* ContextLoad needs no session. */
        rc = tpm_call(t, NULL, restore_once, &a);
        if ((rv = restore_rc_to_rv(rc)) == CKR_OK) {
            *seq = a.seq;
            a.seq = NULL; /* transferred */
        }
    }
    resid_obj_free(t, a.seq);
    tpm_leave(t);
out:
    free(a.ctx);
    return rv;
}

/*
 * Operations: C_*Init/Update/Final and the single-part calls for every family, with the
 * spec's output conventions and the rules on which operations a session may run together.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "token/keycache.h"
#include "token/mech.h"
#include "token/object.h"
#include "token/op.h"
#include "token/op_internal.h"
#include "token/session.h"
#include "token/slot.h"
#include "util/log.h"
#include "util/secret.h"

/* The pairs the dual-function calls need; any other two at once are refused. */
bool op_kinds_pair(enum op_kind a, enum op_kind b)
{
    static const enum op_kind pairs[][2] = {
        { OP_DIGEST, OP_ENCRYPT },
        { OP_DECRYPT, OP_DIGEST },
        { OP_SIGN, OP_ENCRYPT },
        { OP_DECRYPT, OP_VERIFY },
    };

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if ((pairs[i][0] == a && pairs[i][1] == b) || (pairs[i][0] == b && pairs[i][1] == a))
            return true;
    return false;
}

static CK_RV may_start(const struct session *s, enum op_kind kind)
{
    for (int k = 0; k < OP_KINDS; k++)
        if (s->ops[k] != NULL && (k == (int)kind || !op_kinds_pair((enum op_kind)k, kind)))
            return CKR_OPERATION_ACTIVE;
    return CKR_OK;
}

void op_base_free(struct op *op)
{
    if (op->has_pending)
        secret_free(op->pending, op->pending_len);
    op->pending = NULL;
    op->has_pending = false;
}

void op_discard(struct op *op, bool module_locked)
{
    if (op == NULL)
        return;
    op_base_free(op);
    secret_free(op->params, op->params_len);
    if (module_locked)
        keycache_put_locked(op->key);
    else
        keycache_put(op->key);
    op->vt->free(op);
}

static void op_free(struct session *s, enum op_kind kind, bool module_locked)
{
    struct op *op = s->ops[kind];

    if (op == NULL)
        return;
    s->ops[kind] = NULL;
    op_discard(op, module_locked);
}

void op_end(struct session *s, enum op_kind kind)
{
    op_free(s, kind, false);
}

void op_end_all(struct session *s)
{
    for (int k = 0; k < OP_KINDS; k++)
        op_free(s, (enum op_kind)k, false);
}

void op_end_all_locked(struct session *s)
{
    for (int k = 0; k < OP_KINDS; k++)
        op_free(s, (enum op_kind)k, true);
}

void op_end_keyed_locked(struct session *s)
{
    for (int k = 0; k < OP_KINDS; k++)
        if (s->ops[k] != NULL && s->ops[k]->key != NULL)
            op_free(s, (enum op_kind)k, true);
}

bool op_context_login_due(struct session *s)
{
    for (int k = 0; k < OP_KINDS; k++)
        if (s->ops[k] != NULL && s->ops[k]->context_login)
            return true;
    return false;
}

void op_context_login_done(struct session *s)
{
    for (int k = 0; k < OP_KINDS; k++)
        if (s->ops[k] != NULL)
            s->ops[k]->context_login = false;
}

static CK_ATTRIBUTE_TYPE usage_of(enum op_kind kind)
{
    static const CK_ATTRIBUTE_TYPE usage[OP_KINDS] = {
        [OP_ENCRYPT] = CKA_ENCRYPT, [OP_DECRYPT] = CKA_DECRYPT, [OP_DIGEST] = 0,
        [OP_SIGN] = CKA_SIGN, [OP_VERIFY] = CKA_VERIFY,
    };

    return usage[kind];
}

/* The key object fits the mechanism and allows this use. */
static CK_RV key_fits(const struct mech *me, enum op_kind kind, const struct object *o)
{
    CK_OBJECT_CLASS class = object_class(o);
    CK_KEY_TYPE kt = object_key_type(o);

    /* A data object or a certificate is no key at all, whatever the mechanism. */
    if (!object_is_key(o))
        return CKR_KEY_HANDLE_INVALID;
    if (!mech_key_type_ok(me, kt))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (class == CKO_SECRET_KEY ? !mech_is_symmetric(me) : mech_is_symmetric(me))
        return CKR_KEY_TYPE_INCONSISTENT;
    /* Asymmetric: sign and decrypt need the private half, verify and encrypt the public. */
    if (class == CKO_PRIVATE_KEY && (kind == OP_VERIFY || kind == OP_ENCRYPT))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (class == CKO_PUBLIC_KEY && (kind == OP_SIGN || kind == OP_DECRYPT))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!attrs_get_bool(&o->attrs, usage_of(kind), false))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    return CKR_OK;
}

CK_RV op_base_init(struct op *op, const struct op_init *in)
{
    CK_RV rv;

    if ((rv = module_tpm(in->m, &op->tpm)) != CKR_OK)
        return rv;
    return slot_token_primary_get(in->m, in->s->tok, &op->salt);
}

/* The key for an Init: the object, its TPM key when it has one, and the checks. */
static CK_RV init_key(struct module *m, struct session *s, const struct mech *me,
                      enum op_kind kind, CK_OBJECT_HANDLE h, struct op_init *in)
{
    CK_RV rv;

    rv = object_get(m, s, h, &in->key_obj);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        return CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK || (rv = key_fits(me, kind, in->key_obj)) != CKR_OK)
        return rv;
    if (in->key_obj->blob.pub == NULL)
        return CKR_OK;   /* a public key: the work happens in OpenSSL */
    return keycache_get(m, s, in->key_obj, &in->key);
}

/* Keeps the parameters as given, and the key's identity, for a saved state. */
static CK_RV remember(struct op *op, const CK_MECHANISM *mech, const struct object *key_obj)
{
    if (mech->ulParameterLen > 0) {
        if ((op->params = secret_dup(mech->pParameter, mech->ulParameterLen)) == NULL)
            return CKR_HOST_MEMORY;
        op->params_len = mech->ulParameterLen;
    }
    if (key_obj != NULL)
        op->has_key_id = object_key_identity(key_obj, op->key_id);
    return CKR_OK;
}

CK_RV op_make(struct module *m, struct session *s, enum op_kind kind, const CK_MECHANISM *mech,
              CK_OBJECT_HANDLE key, struct op **out)
{
    struct op_init in = { .m = m, .s = s, .params = mech, .kind = kind };
    CK_RV (*new_op)(const struct op_init *, struct op **);
    struct op *op = NULL;
    CK_RV rv;

    if ((rv = mech_lookup(m, mech->mechanism, mech_flag_for(kind), &in.mech)) != CKR_OK)
        goto out;
    if (kind != OP_DIGEST && (rv = init_key(m, s, in.mech, kind, key, &in)) != CKR_OK)
        goto out;
    new_op = kind == OP_ENCRYPT || kind == OP_DECRYPT ? in.mech->new_crypt : in.mech->new_op;
    if (new_op == NULL) {
        rv = CKR_MECHANISM_INVALID;
        goto out;
    }
    if ((rv = new_op(&in, &op)) != CKR_OK)
        goto out;
    op->mech = in.mech;
    op->kind = kind;
    op->key = in.key;
    in.key = NULL;   /* transferred */
    op->context_login = in.key_obj != NULL &&
                        attrs_get_bool(&in.key_obj->attrs, CKA_ALWAYS_AUTHENTICATE, false);
    if ((rv = remember(op, mech, in.key_obj)) != CKR_OK) {
        op_discard(op, false);
        goto out;
    }
    *out = op;
out:
    keycache_put(in.key);
    object_free(in.key_obj);
    return rv;
}

static CK_RV init_locked_out(struct module *m, struct session *s, enum op_kind kind,
                             const CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
    CK_RV rv;

    if ((rv = may_start(s, kind)) != CKR_OK)
        return rv;
    return op_make(m, s, kind, mech, key, &s->ops[kind]);
}

CK_RV op_init(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const CK_MECHANISM *mech,
              CK_OBJECT_HANDLE key)
{
    struct session *s;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    rv = init_locked_out(m, s, kind, mech, key);
    session_release(m, s);
    return rv;
}

/* The operation a data call works on, or why there is none to work on. */
static CK_RV active(struct session *s, enum op_kind kind, struct op **op)
{
    if ((*op = s->ops[kind]) == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    if ((*op)->context_login)
        return CKR_USER_NOT_LOGGED_IN;   /* the key wants C_Login(CKU_CONTEXT_SPECIFIC) first */
    return CKR_OK;
}

/* The spec: buffer-size answers keep the operation; every other error ends it. */
static bool keeps_op(CK_RV rv)
{
    return rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL || rv == CKR_USER_NOT_LOGGED_IN;
}

/*
 * The entry points let NULL through with a length of 0, and the families copy their input with
 * memcpy, which may not be given NULL even for 0 bytes.
 */
static const uint8_t *data_or_empty(const uint8_t *p)
{
    return p != NULL ? p : (const uint8_t *)"";
}

static CK_RV update_locked_out(struct session *s, enum op_kind kind, const uint8_t *in,
                               size_t len, uint8_t *out, CK_ULONG *out_len)
{
    struct op *op;
    size_t need, got = 0;
    CK_RV rv;

    if ((rv = active(s, kind, &op)) != CKR_OK)
        return rv;
    if (out_len != NULL) {
        need = op->vt->update_len(op, len);
        if (out == NULL || *out_len < need) {
            rv = out == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
            *out_len = need;
            return rv;
        }
    }
    op->started = true;
    rv = op->vt->update(op, in, len, out, &got);
    if (rv == CKR_OK && out_len != NULL)
        *out_len = got;
    if (!keeps_op(rv))
        op_end(s, kind);
    return rv;
}

CK_RV op_update(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const uint8_t *in,
                size_t len, uint8_t *out, CK_ULONG *out_len)
{
    struct session *s;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    rv = update_locked_out(s, kind, data_or_empty(in), len, out, out_len);
    session_release(m, s);
    return rv;
}

/* One result-producing step: a final or a single-part call. */
struct step {
    bool single;
    const uint8_t *in;        /* single: the data */
    size_t len;
    const uint8_t *sig;       /* verify: the signature */
    size_t sig_len;
};

static CK_RV run_step(struct op *op, const struct step *st, uint8_t *out, size_t *out_len)
{
    size_t a = 0, b = 0;
    CK_RV rv;

    *out_len = 0;
    if (!st->single)
        return op->vt->final(op, st->sig, st->sig_len, out, out_len);
    if (op->vt->oneshot != NULL)
        return op->vt->oneshot(op, st->in, st->len, st->sig, st->sig_len, out, out_len);
    if ((rv = op->vt->update(op, st->in, st->len, out, &a)) != CKR_OK)
        return rv;
    rv = op->vt->final(op, st->sig, st->sig_len, out != NULL ? out + a : NULL, &b);
    *out_len = a + b;
    return rv;
}

static size_t step_max(const struct op *op, const struct step *st)
{
    if (!st->single)
        return op->vt->final_max(op, 0);
    if (op->vt->oneshot != NULL)
        return op->vt->oneshot_max(op, st->len);
    return op->vt->update_len(op, st->len) + op->vt->final_max(op, st->len);
}

/* Computes the result once and keeps it, for outputs whose length is known only then. */
static CK_RV compute_pending(struct op *op, const struct step *st)
{
    size_t max = step_max(op, st), got = 0;
    uint8_t *buf;
    CK_RV rv;

    if (op->has_pending)
        return CKR_OK;
    if ((buf = malloc(max ? max : 1)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = run_step(op, st, buf, &got)) != CKR_OK) {
        secret_free(buf, max);
        return rv;
    }
    op->pending = buf;
    op->pending_len = got;
    op->has_pending = true;
    return CKR_OK;
}

/* The output conventions: NULL asks the length, too small says so; either keeps the op. */
static CK_RV produce(struct session *s, struct op *op, const struct step *st, uint8_t *out,
                     CK_ULONG *out_len)
{
    size_t need, got = 0;
    CK_RV rv;

    if (out_len == NULL) {                        /* verify: nothing comes out */
        rv = run_step(op, st, NULL, &got);
        op_end(s, op->kind);
        return rv;
    }
    if (!op->vt->exact && (rv = compute_pending(op, st)) != CKR_OK) {
        op_end(s, op->kind);
        return rv;
    }
    need = op->vt->exact ? step_max(op, st) : op->pending_len;
    if (out == NULL || *out_len < need) {
        rv = out == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
        *out_len = need;
        return rv;
    }
    if (op->has_pending) {
        memcpy(out, op->pending, op->pending_len);
        got = op->pending_len;
        rv = CKR_OK;
    } else {
        rv = run_step(op, st, out, &got);
    }
    if (rv == CKR_OK)
        *out_len = got;
    op_end(s, op->kind);
    return rv;
}

CK_RV op_final(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const uint8_t *in,
               size_t in_len, uint8_t *out, CK_ULONG *out_len)
{
    struct step st = { .sig = data_or_empty(in), .sig_len = in_len };
    struct session *s;
    struct op *op;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if ((rv = active(s, kind, &op)) == CKR_OK)
        rv = produce(s, op, &st, out, out_len);
    session_release(m, s);
    return rv;
}

CK_RV op_single(struct module *m, CK_SESSION_HANDLE h, enum op_kind kind, const uint8_t *in,
                size_t len, const uint8_t *sig, size_t sig_len, uint8_t *out, CK_ULONG *out_len)
{
    struct step st = { .single = true, .in = data_or_empty(in), .len = len,
                       .sig = data_or_empty(sig), .sig_len = sig_len };
    struct session *s;
    struct op *op;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if ((rv = active(s, kind, &op)) != CKR_OK)
        goto out;
    /* A single-part call cannot end a multi-part operation (the spec's rule for C_Encrypt...). */
    if (op->started) {
        op_end(s, kind);
        rv = CKR_OPERATION_NOT_INITIALIZED;
        goto out;
    }
    rv = produce(s, op, &st, out, out_len);
out:
    session_release(m, s);
    return rv;
}

CK_RV op_bad_arguments(struct module *m, CK_SESSION_HANDLE h, enum op_kind a, enum op_kind b)
{
    struct session *s;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    op_end(s, a);
    op_end(s, b);
    session_release(m, s);
    return CKR_ARGUMENTS_BAD;
}

CK_RV op_digest_key(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    struct session *s;
    struct object *o = NULL;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if (s->ops[OP_DIGEST] == NULL) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
        goto out;
    }
    rv = object_get(m, s, key, &o);
    if (rv == CKR_OBJECT_HANDLE_INVALID || (rv == CKR_OK && !object_is_key(o)))
        rv = CKR_KEY_HANDLE_INVALID;
    /* Key values live only in the TPM: none can be fed to a digest. */
    else if (rv == CKR_OK)
        rv = CKR_KEY_INDIGESTIBLE;
    /* The spec: an error from C_DigestKey ends the digest. */
    op_end(s, OP_DIGEST);
out:
    object_free(o);
    session_release(m, s);
    return rv;
}

static CK_RV dual_locked_out(struct session *s, enum op_kind cipher, enum op_kind other,
                             const uint8_t *in, size_t len, uint8_t *out, CK_ULONG *out_len)
{
    struct op *c, *o;
    size_t need, got = 0, dummy = 0;
    CK_RV rv;

    if ((rv = active(s, cipher, &c)) != CKR_OK || (rv = active(s, other, &o)) != CKR_OK)
        return rv;
    need = c->vt->update_len(c, len);
    if (out == NULL || *out_len < need) {
        rv = out == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
        *out_len = need;
        return rv;
    }
    c->started = o->started = true;
    if (cipher == OP_ENCRYPT) {
        if ((rv = o->vt->update(o, in, len, NULL, &dummy)) == CKR_OK)
            rv = c->vt->update(c, in, len, out, &got);
    } else {
        if ((rv = c->vt->update(c, in, len, out, &got)) == CKR_OK)
            rv = o->vt->update(o, out, got, NULL, &dummy);
    }
    if (rv == CKR_OK) {
        *out_len = got;
    } else {
        op_end(s, cipher);
        op_end(s, other);
    }
    return rv;
}

CK_RV op_dual(struct module *m, CK_SESSION_HANDLE h, enum op_kind cipher, enum op_kind other,
              const uint8_t *in, size_t len, uint8_t *out, CK_ULONG *out_len)
{
    struct session *s;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    rv = dual_locked_out(s, cipher, other, data_or_empty(in), len, out, out_len);
    session_release(m, s);
    return rv;
}

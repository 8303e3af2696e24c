/*
 * Saved operation states. Layout (integers big-endian):
 *
 *   header  "TPMTOKOS", version 1, flags (1: the records are sealed with the token secret),
 *           the token serial (16), the TPM's boot (reset and restart counts: no state outlives
 *           the TPM contexts it could hold), the operation count (1 or 2), and per operation
 *           its kind,
 *           which key argument it needs (none, hEncryptionKey, hAuthenticationKey) and that
 *           key's identity (32 bytes, zeros for none);
 *   records u32 length, then AES-256-GCM (token/wrap) of, per operation: mechanism (u64),
 *           parameters, whether data went through updates, the family's state;
 *   mac     HMAC-SHA256 of all the above.
 *
 * The MAC key and the key of records without a key come from the token's seed in the store;
 * records of operations with a TPM key are sealed with the token secret, which only a
 * logged-in user has, since they hold what continues a keyed TPM sequence.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token/mech.h"
#include "token/object.h"
#include "token/op.h"
#include "token/opstate.h"
#include "token/session.h"
#include "token/slot.h"
#include "token/wrap.h"
#include "tpm/tpm.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/secret.h"

#define STATE_MAGIC "TPMTOKOS"
#define STATE_VERSION 1
#define FLAG_KEYED 0x01u
#define MAC_LEN 32
#define ID_LEN 32
#define SERIAL_LEN 16
#define MAX_OPS 2

enum key_use { USE_NONE, USE_ENCRYPTION, USE_AUTHENTICATION };

/* What states need of the session's token, copied under the module lock. */
struct token_keys {
    char serial[SERIAL_LEN];
    uint64_t boots;
    uint8_t seed[32];
    uint8_t secret[WRAP_SECRET_LEN];
    bool has_secret;
};

static CK_RV token_keys_get(struct module *m, struct session *s, bool fresh,
                            struct token_keys *k)
{
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = module_tpm(m, &tpm)) != CKR_OK || (rv = tpm_boots(tpm, fresh, &k->boots)) != CKR_OK)
        return rv;
    mutex_lock(m->lock);
    memcpy(k->serial, s->tok->row.serial, SERIAL_LEN);
    memcpy(k->seed, s->tok->row.seed, sizeof k->seed);
    mutex_unlock(m->lock);
    k->has_secret = object_user_secret(m, s, k->secret);
    return CKR_OK;
}

static enum key_use key_use_of(enum op_kind kind)
{
    if (kind == OP_DIGEST)
        return USE_NONE;
    return kind == OP_ENCRYPT || kind == OP_DECRYPT ? USE_ENCRYPTION : USE_AUTHENTICATION;
}

static bool state_mac(const struct token_keys *k, const uint8_t *data, size_t len,
                      uint8_t mac[MAC_LEN])
{
    uint8_t key[32];
    unsigned int n = 0;
    bool ok;

    ok = wrap_derive(k->seed, WRAP_STATE_MAC, key) &&
         HMAC(EVP_sha256(), key, sizeof key, data, len, mac, &n) != NULL && n == MAC_LEN;
    secret_wipe(key, sizeof key);
    return ok;
}

/* ---- saving ---- */

/* The session's operations, if every one of them can be saved. */
static CK_RV collect(struct session *s, struct op **ops, size_t *n)
{
    *n = 0;
    for (int k = 0; k < OP_KINDS; k++) {
        struct op *op = s->ops[k];
        if (op == NULL)
            continue;
        /* A result already computed for a length query has used the state up. */
        if (op->vt->save == NULL || op->has_pending ||
            (key_use_of(op->kind) != USE_NONE && !op->has_key_id))
            return CKR_STATE_UNSAVEABLE;
        ops[(*n)++] = op;
    }
    if (*n == 0)
        return s->find != NULL ? CKR_STATE_UNSAVEABLE : CKR_OPERATION_NOT_INITIALIZED;
    return CKR_OK;
}

static void put_header(struct buf *b, const struct token_keys *k, struct op **ops, size_t n,
                       bool keyed)
{
    static const uint8_t no_key[ID_LEN];

    buf_put_bytes(b, STATE_MAGIC, 8);
    buf_put_u8(b, STATE_VERSION);
    buf_put_u8(b, keyed ? FLAG_KEYED : 0);
    buf_put_bytes(b, k->serial, SERIAL_LEN);
    buf_put_u64(b, k->boots);
    buf_put_u8(b, (uint8_t)n);
    for (size_t i = 0; i < n; i++) {
        enum key_use use = key_use_of(ops[i]->kind);
        buf_put_u8(b, (uint8_t)ops[i]->kind);
        buf_put_u8(b, (uint8_t)use);
        buf_put_bytes(b, use == USE_NONE ? no_key : ops[i]->key_id, ID_LEN);
    }
}

static CK_RV put_records(struct op **ops, size_t n, struct buf *body)
{
    CK_RV rv = CKR_OK;

    for (size_t i = 0; i < n && rv == CKR_OK; i++) {
        struct buf st;
        buf_init(&st, true);
        rv = ops[i]->vt->save(ops[i], &st);
        if (rv == CKR_OK && buf_failed(&st))
            rv = CKR_HOST_MEMORY;
        if (rv == CKR_OK) {
            buf_put_u64(body, ops[i]->mech->type);
            buf_put_blob(body, ops[i]->params, ops[i]->params_len);
            buf_put_u8(body, ops[i]->started);
            buf_put_blob(body, st.data, st.len);
        }
        buf_free(&st);
    }
    if (rv == CKR_OK && buf_failed(body))
        rv = CKR_HOST_MEMORY;
    return rv;
}

static CK_RV build(struct session *s, const struct token_keys *k, uint8_t **out, size_t *out_len)
{
    struct op *ops[OP_KINDS];
    struct buf head, body;
    uint8_t *sealed = NULL, mac[MAC_LEN];
    size_t n, sealed_len = 0;
    bool keyed = false;
    CK_RV rv;

    if ((rv = collect(s, ops, &n)) != CKR_OK)
        return rv;
    for (size_t i = 0; i < n; i++)
        keyed |= ops[i]->key != NULL;
    if (keyed && !k->has_secret)
        return CKR_STATE_UNSAVEABLE;
    buf_init(&head, false);
    buf_init(&body, true);
    put_header(&head, k, ops, n, keyed);
    if ((rv = put_records(ops, n, &body)) != CKR_OK)
        goto out;
    rv = CKR_HOST_MEMORY;
    if (buf_failed(&head) || !wrap_seal(keyed ? k->secret : k->seed, WRAP_STATE_BODY, head.data,
                                        head.len, body.data, body.len, &sealed, &sealed_len))
        goto out;
    buf_put_blob(&head, sealed, sealed_len);
    if (buf_failed(&head))
        goto out;
    rv = CKR_FUNCTION_FAILED;
    if (!state_mac(k, head.data, head.len, mac))
        goto out;
    buf_put_bytes(&head, mac, MAC_LEN);
    rv = (*out = buf_steal(&head, out_len)) != NULL ? CKR_OK : CKR_HOST_MEMORY;
out:
    buf_free(&head);
    buf_free(&body);
    free(sealed);
    return rv;
}

/* C_GetOperationState may return only these. */
static CK_RV get_rv(CK_RV rv)
{
    switch (rv) {
    case CKR_OK:
    case CKR_BUFFER_TOO_SMALL:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_FUNCTION_FAILED:
    case CKR_GENERAL_ERROR:
    case CKR_HOST_MEMORY:
    case CKR_OPERATION_NOT_INITIALIZED:
    case CKR_STATE_UNSAVEABLE:
        return rv;
    default:
        log_warn("cannot save the operation state (0x%lx)", (unsigned long)rv);
        return CKR_FUNCTION_FAILED;
    }
}

CK_RV opstate_get(struct module *m, CK_SESSION_HANDLE h, uint8_t *out, CK_ULONG *out_len)
{
    struct token_keys k;
    struct session *s;
    uint8_t *blob = NULL;
    size_t len = 0;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if ((rv = token_keys_get(m, s, false, &k)) == CKR_OK &&
        (rv = build(s, &k, &blob, &len)) == CKR_OK) {
        if (out != NULL && *out_len < len)
            rv = CKR_BUFFER_TOO_SMALL;
        else if (out != NULL)
            memcpy(out, blob, len);
        *out_len = len;
    }
    free(blob);
    secret_wipe(&k, sizeof k);
    session_release(m, s);
    return get_rv(rv);
}

/* ---- restoring ---- */

struct parsed {
    uint8_t flags;
    size_t n;
    enum op_kind kind[MAX_OPS];
    enum key_use use[MAX_OPS];
    const uint8_t *key_id[MAX_OPS];
    const uint8_t *header;
    size_t header_len;
    const uint8_t *sealed;
    size_t sealed_len;
};

static bool parse_ops(struct rd *r, struct parsed *p)
{
    uint8_t count, kind, use;

    if (!rd_u8(r, &count) || count < 1 || count > MAX_OPS)
        return false;
    p->n = count;
    for (size_t i = 0; i < p->n; i++) {
        if (!rd_u8(r, &kind) || kind >= OP_KINDS || !rd_u8(r, &use) ||
            use != key_use_of((enum op_kind)kind) || !rd_ptr(r, ID_LEN, &p->key_id[i]))
            return false;
        p->kind[i] = (enum op_kind)kind;
        p->use[i] = (enum key_use)use;
    }
    return p->n == 1 || op_kinds_pair(p->kind[0], p->kind[1]);
}

/* Checks the MAC before anything else in the state is read, then the header. */
static CK_RV parse(const struct token_keys *k, const uint8_t *in, size_t len, struct parsed *p)
{
    const uint8_t *magic, *serial;
    uint8_t mac[MAC_LEN], version;
    uint64_t boots;
    struct rd r;

    if (len < MAC_LEN)
        return CKR_SAVED_STATE_INVALID;
    if (!state_mac(k, in, len - MAC_LEN, mac))
        return CKR_FUNCTION_FAILED;
    if (CRYPTO_memcmp(mac, in + len - MAC_LEN, MAC_LEN) != 0) {
        log_info("operation state refused: altered, or from another token");
        return CKR_SAVED_STATE_INVALID;
    }
    rd_init(&r, in, len - MAC_LEN);
    if (!rd_ptr(&r, 8, &magic) || memcmp(magic, STATE_MAGIC, 8) != 0 || !rd_u8(&r, &version) ||
        version != STATE_VERSION || !rd_u8(&r, &p->flags) || (p->flags & ~FLAG_KEYED) != 0 ||
        !rd_ptr(&r, SERIAL_LEN, &serial) || memcmp(serial, k->serial, SERIAL_LEN) != 0 ||
        !rd_u64(&r, &boots) || !parse_ops(&r, p))
        return CKR_SAVED_STATE_INVALID;
    if (boots != k->boots) {
        log_info("operation state refused: the TPM was reset or restarted since it was saved");
        return CKR_SAVED_STATE_INVALID;
    }
    p->header = in;
    p->header_len = r.off;
    if (!rd_blob(&r, len, &p->sealed, &p->sealed_len) || !rd_done(&r))
        return CKR_SAVED_STATE_INVALID;
    return CKR_OK;
}

/* The key argument for use: needed or not, and the very key the state was made with. */
static CK_RV check_key(struct module *m, struct session *s, const struct parsed *p,
                       enum key_use use, CK_OBJECT_HANDLE given)
{
    const uint8_t *want = NULL;
    struct object *o = NULL;
    uint8_t id[ID_LEN];
    CK_RV rv;

    for (size_t i = 0; i < p->n; i++)
        if (p->use[i] == use)
            want = p->key_id[i];
    if (want == NULL)
        return given == CK_INVALID_HANDLE ? CKR_OK : CKR_KEY_NOT_NEEDED;
    if (given == CK_INVALID_HANDLE)
        return CKR_KEY_NEEDED;
    rv = object_get(m, s, given, &o);
    if (rv == CKR_HOST_MEMORY || rv == CKR_DEVICE_ERROR)
        return rv;
    if (rv != CKR_OK || !object_key_identity(o, id) || memcmp(id, want, ID_LEN) != 0) {
        log_info("operation state: the key given is not the key it was saved with");
        rv = CKR_KEY_CHANGED;
    }
    object_free(o);
    return rv;
}

/* What making an operation again may say, in C_SetOperationState's terms. */
static CK_RV make_rv(CK_RV rv)
{
    switch (rv) {
    case CKR_KEY_HANDLE_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_USER_NOT_LOGGED_IN:
        log_info("operation state: its key no longer allows the operation (0x%lx)",
                 (unsigned long)rv);
        return CKR_KEY_CHANGED;
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_FUNCTION_FAILED:
    case CKR_GENERAL_ERROR:
        return rv;
    default:
        return CKR_SAVED_STATE_INVALID;
    }
}

/* One operation from its record: made as C_*Init makes it, then given its saved state. */
static CK_RV rebuild_one(struct module *m, struct session *s, enum op_kind kind,
                         CK_OBJECT_HANDLE key, struct rd *body, struct op **out)
{
    const uint8_t *params, *state;
    size_t params_len, state_len;
    uint64_t type;
    uint8_t started;
    struct rd st;
    CK_MECHANISM mech;
    CK_RV rv;

    if (!rd_u64(body, &type) || !rd_blob(body, 1024, &params, &params_len) ||
        !rd_u8(body, &started) || started > 1 || !rd_blob(body, 65536, &state, &state_len))
        return CKR_SAVED_STATE_INVALID;
    /* The parameters are structures: they get memory of their own, aligned for them. */
    mech = (CK_MECHANISM){ (CK_MECHANISM_TYPE)type, NULL, params_len };
    if (params_len > 0 && (mech.pParameter = secret_dup(params, params_len)) == NULL)
        return CKR_HOST_MEMORY;
    rv = op_make(m, s, kind, &mech, key, out);
    secret_free(mech.pParameter, params_len);
    if (rv != CKR_OK)
        return make_rv(rv);
    (*out)->started = started;
    rd_init(&st, state, state_len);
    if ((*out)->vt->restore == NULL)
        return CKR_SAVED_STATE_INVALID;
    if ((rv = (*out)->vt->restore(*out, &st)) == CKR_OK && !rd_done(&st))
        rv = CKR_SAVED_STATE_INVALID;
    return rv;
}

/* C_SetOperationState may return only these. */
static CK_RV set_rv(CK_RV rv)
{
    switch (rv) {
    case CKR_OK:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_FUNCTION_FAILED:
    case CKR_GENERAL_ERROR:
    case CKR_HOST_MEMORY:
    case CKR_KEY_CHANGED:
    case CKR_KEY_NEEDED:
    case CKR_KEY_NOT_NEEDED:
    case CKR_SAVED_STATE_INVALID:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
        return rv;
    default:
        return CKR_SAVED_STATE_INVALID;
    }
}

static CK_RV set_locked_out(struct module *m, struct session *s, const uint8_t *in, size_t len,
                            CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
    struct op *made[MAX_OPS] = { NULL };
    struct token_keys k;
    struct parsed p = { 0 };
    uint8_t *body = NULL;
    size_t body_len = 0;
    struct rd r;
    CK_RV rv;

    if ((rv = token_keys_get(m, s, true, &k)) != CKR_OK ||
        (rv = parse(&k, in, len, &p)) != CKR_OK ||
        (rv = check_key(m, s, &p, USE_ENCRYPTION, enc_key)) != CKR_OK ||
        (rv = check_key(m, s, &p, USE_AUTHENTICATION, auth_key)) != CKR_OK)
        goto out;
    rv = CKR_SAVED_STATE_INVALID;
    if ((p.flags & FLAG_KEYED) && !k.has_secret) {
        log_info("operation state of a TPM key: the user must be logged in to restore it");
        goto out;
    }
    if (!wrap_open(p.flags & FLAG_KEYED ? k.secret : k.seed, WRAP_STATE_BODY, p.header,
                   p.header_len, p.sealed, p.sealed_len, &body, &body_len))
        goto out;
    rd_init(&r, body, body_len);
    rv = CKR_OK;
    for (size_t i = 0; i < p.n && rv == CKR_OK; i++) {
        CK_OBJECT_HANDLE key = p.use[i] == USE_ENCRYPTION       ? enc_key
                               : p.use[i] == USE_AUTHENTICATION ? auth_key
                                                                : CK_INVALID_HANDLE;
        rv = rebuild_one(m, s, p.kind[i], key, &r, &made[i]);
    }
    if (rv == CKR_OK && !rd_done(&r))
        rv = CKR_SAVED_STATE_INVALID;
    if (rv != CKR_OK)
        goto out;
    /* Everything is made: only now does the session lose what it was doing. */
    op_end_all(s);
    for (size_t i = 0; i < p.n; i++) {
        s->ops[p.kind[i]] = made[i];
        made[i] = NULL;
    }
out:
    for (size_t i = 0; i < MAX_OPS; i++)
        op_discard(made[i], false);
    if (body != NULL)
        secret_free(body, body_len);
    secret_wipe(&k, sizeof k);
    return rv;
}

CK_RV opstate_set(struct module *m, CK_SESSION_HANDLE h, const uint8_t *in, size_t len,
                  CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
    struct session *s;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    rv = set_locked_out(m, s, in, len, enc_key, auth_key);
    session_release(m, s);
    return set_rv(rv);
}

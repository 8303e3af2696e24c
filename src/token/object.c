/*
 * Objects and handles: the handle table, session objects in memory, token objects to and from
 * store rows (a private object's attributes sealed with the token secret), and visibility.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "store/store.h"
#include "token/keycache.h"
#include "token/object.h"
#include "token/wrap.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/u64map.h"

/* Session objects' handles have the top bit set; token objects' do not. */
#define SESSION_HANDLE_BIT 0x80000000UL

struct handle_entry {
    CK_OBJECT_HANDLE handle;
    struct token *tok;
    bool private;
    uint64_t epoch;               /* tok->login_epoch when issued, for private objects */
    uint64_t store_id;            /* token objects */
    struct object *obj;           /* session objects */
};

struct object_table {
    struct u64map by_handle;      /* handle -> struct handle_entry * */
    struct u64map by_row;         /* store row id -> handle */
    CK_OBJECT_HANDLE last_token;  /* handles are never reused within a process */
    CK_OBJECT_HANDLE last_session;
};

CK_RV object_table_new(struct object_table **out)
{
    struct object_table *t = calloc(1, sizeof *t);

    if (t == NULL)
        return CKR_HOST_MEMORY;
    u64map_init(&t->by_handle);
    u64map_init(&t->by_row);
    *out = t;
    return CKR_OK;
}

static void entry_free(struct handle_entry *e)
{
    if (e != NULL)
        object_free(e->obj);
    free(e);
}

void object_table_free(struct object_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->by_handle.cap; i++)
        if (t->by_handle.keys[i] != 0)
            entry_free((struct handle_entry *)(uintptr_t)t->by_handle.values[i]);
    u64map_free(&t->by_handle);
    u64map_free(&t->by_row);
    free(t);
}

void object_free(struct object *o)
{
    if (o == NULL)
        return;
    attrs_free(&o->attrs);
    tpm_blob_clear(&o->blob);
    free(o->auth_wrap);
    secret_wipe(o->auth, sizeof o->auth);
    free(o);
}

static bool dup_bytes(uint8_t **dst, const uint8_t *src, size_t len)
{
    *dst = NULL;
    if (src == NULL)
        return true;
    if ((*dst = malloc(len ? len : 1)) == NULL)
        return false;
    memcpy(*dst, src, len);
    return true;
}

struct object *object_dup(const struct object *o)
{
    struct object *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    *c = *o;
    attrs_init(&c->attrs);
    c->blob.pub = c->blob.priv = c->auth_wrap = NULL;
    if (!attrs_copy(&c->attrs, &o->attrs) || !dup_bytes(&c->blob.pub, o->blob.pub, o->blob.pub_len) ||
        !dup_bytes(&c->blob.priv, o->blob.priv, o->blob.priv_len) ||
        !dup_bytes(&c->auth_wrap, o->auth_wrap, o->auth_wrap_len)) {
        object_free(c);
        return NULL;
    }
    return c;
}

CK_OBJECT_CLASS object_class(const struct object *o)
{
    CK_ULONG v = CK_UNAVAILABLE_INFORMATION;

    attrs_get_ulong(&o->attrs, CKA_CLASS, &v);
    return v;
}

CK_KEY_TYPE object_key_type(const struct object *o)
{
    CK_ULONG v = CK_UNAVAILABLE_INFORMATION;

    attrs_get_ulong(&o->attrs, CKA_KEY_TYPE, &v);
    return v;
}

bool object_is_token(const struct object *o)
{
    return attrs_get_bool(&o->attrs, CKA_TOKEN, false);
}

bool object_is_private(const struct object *o)
{
    return attrs_get_bool(&o->attrs, CKA_PRIVATE, false);
}

bool object_is_key(const struct object *o)
{
    CK_OBJECT_CLASS c = object_class(o);

    return c == CKO_PUBLIC_KEY || c == CKO_PRIVATE_KEY || c == CKO_SECRET_KEY;
}

bool object_key_identity(const struct object *o, uint8_t id[32])
{
    static const CK_ATTRIBUTE_TYPE public_values[] = { CKA_KEY_TYPE, CKA_MODULUS,
                                                       CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS,
                                                       CKA_EC_POINT };
    EVP_MD_CTX *ctx;
    bool ok;

    if (!object_is_key(o) || (ctx = EVP_MD_CTX_new()) == NULL)
        return false;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    if (o->blob.pub != NULL) {
        ok = ok && EVP_DigestUpdate(ctx, "tpm", 3) == 1 &&
             EVP_DigestUpdate(ctx, o->blob.pub, o->blob.pub_len) == 1;
    } else {
        for (size_t i = 0; ok && i < sizeof public_values / sizeof public_values[0]; i++) {
            const struct attr *a = attrs_find(&o->attrs, public_values[i]);
            uint8_t len[4] = { 0 };
            if (a == NULL)
                continue;
            len[0] = (uint8_t)(a->len >> 24);
            len[1] = (uint8_t)(a->len >> 16);
            len[2] = (uint8_t)(a->len >> 8);
            len[3] = (uint8_t)a->len;
            ok = EVP_DigestUpdate(ctx, len, 4) == 1 && EVP_DigestUpdate(ctx, a->value, a->len) == 1;
        }
    }
    ok = ok && EVP_DigestFinal_ex(ctx, id, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

bool object_user_secret(struct module *m, struct session *s, uint8_t secret[32])
{
    bool in;

    mutex_lock(m->lock);
    in = s->tok->login == LOGIN_USER;
    if (in)
        memcpy(secret, s->tok->secret, 32);
    mutex_unlock(m->lock);
    return in;
}

static struct handle_entry *entry_get_locked(struct object_table *t, CK_OBJECT_HANDLE h)
{
    uint64_t v;

    return u64map_get(&t->by_handle, h, &v) ? (struct handle_entry *)(uintptr_t)v : NULL;
}

static void entry_remove_locked(struct object_table *t, struct handle_entry *e)
{
    uint64_t h;

    u64map_remove(&t->by_handle, e->handle);
    if (e->store_id != 0 && u64map_get(&t->by_row, e->store_id, &h) && h == e->handle)
        u64map_remove(&t->by_row, e->store_id);
    entry_free(e);
}

/* A private object's handle is valid only in the login it was issued in. */
static bool entry_visible_locked(const struct handle_entry *e, const struct session *s)
{
    if (e->tok != s->tok)
        return false;
    if (!e->private)
        return true;
    return e->tok->login == LOGIN_USER && e->epoch == e->tok->login_epoch;
}

static CK_RV entry_add_locked(struct object_table *t, struct handle_entry *e)
{
    if (!u64map_put(&t->by_handle, e->handle, (uint64_t)(uintptr_t)e))
        return CKR_HOST_MEMORY;
    if (e->store_id != 0 && !u64map_put(&t->by_row, e->store_id, e->handle)) {
        u64map_remove(&t->by_handle, e->handle);
        return CKR_HOST_MEMORY;
    }
    return CKR_OK;
}

CK_RV object_handle_for_row_locked(struct module *m, struct token *tok, uint64_t store_id,
                                   bool private, CK_OBJECT_HANDLE *out)
{
    struct object_table *t = m->objects;
    struct handle_entry *e;
    uint64_t h;
    CK_RV rv;

    if (u64map_get(&t->by_row, store_id, &h) && (e = entry_get_locked(t, h)) != NULL) {
        if (e->private == private && (!private || e->epoch == tok->login_epoch)) {
            *out = e->handle;
            return CKR_OK;
        }
        entry_remove_locked(t, e);   /* from an earlier login, or its row changed privacy */
    }
    if (t->last_token + 1 >= SESSION_HANDLE_BIT || (e = calloc(1, sizeof *e)) == NULL)
        return CKR_HOST_MEMORY;
    e->handle = ++t->last_token;
    e->tok = tok;
    e->private = private;
    e->epoch = tok->login_epoch;
    e->store_id = store_id;
    if ((rv = entry_add_locked(t, e)) != CKR_OK) {
        free(e);
        return rv;
    }
    *out = e->handle;
    return CKR_OK;
}

static CK_RV attrs_from_row(struct token *tok, const struct store_object *row,
                            const uint8_t *secret, struct attrs *out)
{
    uint8_t *plain = NULL;
    size_t len = 0;
    bool ok;

    if (!row->private)
        return attrs_decode(row->attrs, row->attrs_len, out) ? CKR_OK : CKR_DEVICE_ERROR;
    if (secret == NULL)
        return CKR_USER_NOT_LOGGED_IN;
    if (!wrap_open(secret, WRAP_OBJECT_ATTRS, (const uint8_t *)tok->row.serial,
                   strlen(tok->row.serial), row->attrs, row->attrs_len, &plain, &len)) {
        log_error("private object %lu of token %lu does not open with the token secret",
                  (unsigned long)row->id, (unsigned long)tok->id);
        return CKR_DEVICE_ERROR;
    }
    ok = attrs_decode(plain, len, out);
    secret_free(plain, len);
    return ok ? CKR_OK : CKR_DEVICE_ERROR;
}

CK_RV object_from_row(struct token *tok, const struct store_object *row, const uint8_t *secret,
                      struct object **out)
{
    struct object *o = calloc(1, sizeof *o);
    CK_RV rv;

    if (o == NULL)
        return CKR_HOST_MEMORY;
    o->tok = tok;
    o->store_id = row->id;
    attrs_init(&o->attrs);
    if ((rv = attrs_from_row(tok, row, secret, &o->attrs)) != CKR_OK)
        goto out;
    if (!dup_bytes(&o->blob.pub, row->tpm_pub, row->tpm_pub_len) ||
        !dup_bytes(&o->blob.priv, row->tpm_priv, row->tpm_priv_len) ||
        !dup_bytes(&o->auth_wrap, row->auth_wrap, row->auth_wrap_len)) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    o->blob.pub_len = row->tpm_pub_len;
    o->blob.priv_len = row->tpm_priv_len;
    o->auth_wrap_len = row->auth_wrap_len;
    *out = o;
    o = NULL;
out:
    object_free(o);
    return rv;
}

/* Reads token object store_id for s; the row must still be there and visible. */
static CK_RV token_object_read(struct module *m, struct session *s, uint64_t store_id,
                               const uint8_t *secret, struct object **out)
{
    struct store_object row = { 0 };
    bool found = false;
    CK_RV rv;

    if (m->store == NULL)
        return CKR_DEVICE_ERROR;
    if ((rv = store_object_get(m->store, store_id, &row, &found)) != CKR_OK)
        goto out;
    if (!found || row.token_id != s->tok->id || (row.private && secret == NULL)) {
        rv = CKR_OBJECT_HANDLE_INVALID;
        goto out;
    }
    rv = object_from_row(s->tok, &row, secret, out);
out:
    store_object_clear(&row);
    return rv;
}

CK_RV object_get(struct module *m, struct session *s, CK_OBJECT_HANDLE h, struct object **out)
{
    uint8_t secret[32];
    struct handle_entry *e;
    uint64_t store_id;
    bool user;
    CK_RV rv;

    mutex_lock(m->lock);
    e = entry_get_locked(m->objects, h);
    if (e == NULL || !entry_visible_locked(e, s)) {
        mutex_unlock(m->lock);
        return CKR_OBJECT_HANDLE_INVALID;
    }
    if (e->obj != NULL) {
        *out = object_dup(e->obj);
        mutex_unlock(m->lock);
        return *out != NULL ? CKR_OK : CKR_HOST_MEMORY;
    }
    store_id = e->store_id;
    user = s->tok->login == LOGIN_USER;
    if (user)
        memcpy(secret, s->tok->secret, sizeof secret);
    mutex_unlock(m->lock);
    rv = token_object_read(m, s, store_id, user ? secret : NULL, out);
    if (rv == CKR_OK)
        (*out)->handle = h;
    secret_wipe(secret, sizeof secret);
    return rv;
}

/* The indexed columns and the (sealed, for private objects) attributes of a row. */
static CK_RV row_fill(const struct object *o, const uint8_t *secret, struct store_object *row)
{
    const struct attr *a;
    uint8_t *enc = NULL;
    size_t len = 0;
    CK_ULONG v;
    bool ok;

    row->class = object_class(o);
    row->has_key_type = attrs_get_ulong(&o->attrs, CKA_KEY_TYPE, &v);
    row->key_type = row->has_key_type ? v : 0;
    row->private = object_is_private(o);
    if ((a = attrs_find(&o->attrs, CKA_ID)) != NULL) {
        row->has_cka_id = true;
        if (!dup_bytes(&row->cka_id, a->value, a->len))
            return CKR_HOST_MEMORY;
        row->cka_id_len = a->len;
    }
    if ((a = attrs_find(&o->attrs, CKA_LABEL)) != NULL) {
        row->has_label = true;
        if (!dup_bytes(&row->label, a->value, a->len))
            return CKR_HOST_MEMORY;
        row->label_len = a->len;
    }
    if (!attrs_encode(&o->attrs, &enc, &len))
        return CKR_HOST_MEMORY;
    if (!row->private) {
        row->attrs = enc;
        row->attrs_len = len;
        return CKR_OK;
    }
    ok = wrap_seal(secret, WRAP_OBJECT_ATTRS, (const uint8_t *)o->tok->row.serial,
                   strlen(o->tok->row.serial), enc, len, &row->attrs, &row->attrs_len);
    secret_free(enc, len);
    return ok ? CKR_OK : CKR_HOST_MEMORY;
}

/* Seals a key's auth value for the store, bound to the key's public blob. */
static CK_RV seal_auth(struct object *o, const uint8_t *secret)
{
    if (o->blob.pub == NULL || o->auth_wrap != NULL)
        return CKR_OK;
    if (!wrap_seal(secret, WRAP_KEY_AUTH, o->blob.pub, o->blob.pub_len, o->auth, o->auth_len,
                   &o->auth_wrap, &o->auth_wrap_len))
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

/* The store row of token object o, with its auth value sealed. */
static CK_RV token_row_make(struct session *s, struct object *o, const uint8_t *secret,
                            struct store_object *row)
{
    CK_RV rv;

    if ((rv = seal_auth(o, secret)) != CKR_OK || (rv = row_fill(o, secret, row)) != CKR_OK)
        return rv;
    row->token_id = s->tok->id;
    if (!dup_bytes(&row->tpm_pub, o->blob.pub, o->blob.pub_len) ||
        !dup_bytes(&row->tpm_priv, o->blob.priv, o->blob.priv_len) ||
        !dup_bytes(&row->auth_wrap, o->auth_wrap, o->auth_wrap_len))
        return CKR_HOST_MEMORY;
    row->tpm_pub_len = o->blob.pub_len;
    row->tpm_priv_len = o->blob.priv_len;
    row->auth_wrap_len = o->auth_wrap_len;
    return CKR_OK;
}

static CK_RV add_session_object(struct module *m, struct session *s, struct object *o,
                                CK_OBJECT_HANDLE *out)
{
    struct object_table *t = m->objects;
    struct handle_entry *e = calloc(1, sizeof *e);
    CK_RV rv = CKR_HOST_MEMORY;

    if (e == NULL)
        return rv;
    mutex_lock(m->lock);
    if (t->last_session + 1 < SESSION_HANDLE_BIT) {
        o->owner = s;
        o->tok = s->tok;
        o->handle = SESSION_HANDLE_BIT | ++t->last_session;
        e->handle = o->handle;
        e->tok = s->tok;
        e->private = object_is_private(o);
        e->epoch = s->tok->login_epoch;
        e->obj = o;
        if ((rv = entry_add_locked(t, e)) == CKR_OK)
            *out = o->handle;
    }
    mutex_unlock(m->lock);
    if (rv != CKR_OK) {
        e->obj = NULL;
        free(e);
    }
    return rv;
}

/* Whether s may add obj: CKR_OK, CKR_SESSION_READ_ONLY or CKR_USER_NOT_LOGGED_IN. */
static CK_RV add_allowed(const struct session *s, const struct object *obj, bool user)
{
    bool token = object_is_token(obj), private = object_is_private(obj);

    if (token && !(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    /* A token key's auth value is sealed with the token secret, which needs the user. */
    if ((private || (token && obj->blob.pub != NULL)) && !user)
        return CKR_USER_NOT_LOGGED_IN;
    return CKR_OK;
}

/* Takes back the session objects this call added, when the rest cannot be added. */
static void forget_handles(struct module *m, const CK_OBJECT_HANDLE *h, size_t n)
{
    mutex_lock(m->lock);
    for (size_t i = 0; i < n; i++)
        if (h[i] != CK_INVALID_HANDLE)
            object_forget_locked(m, h[i]);
    mutex_unlock(m->lock);
}

/*
 * Adds the token objects among objs in one store transaction, then gives them handles.
 * rows has room for n rows; out[i] is set for each token object.
 */
static CK_RV add_token_objects(struct module *m, struct session *s, struct object **objs,
                               size_t n, const uint8_t *secret, struct store_object *rows,
                               CK_OBJECT_HANDLE *out)
{
    struct store_object *pending[OBJECT_ADD_MAX];
    size_t n_rows = 0;
    CK_RV rv = CKR_OK;

    for (size_t i = 0; i < n && rv == CKR_OK; i++)
        if (objs[i] != NULL && object_is_token(objs[i])) {
            pending[n_rows] = &rows[i];
            rv = token_row_make(s, objs[i], secret, pending[n_rows++]);
        }
    if (rv != CKR_OK || n_rows == 0)
        return rv;
    if (m->store == NULL)
        return CKR_DEVICE_ERROR;
    if ((rv = store_object_insert_many(m->store, pending, n_rows)) != CKR_OK)
        return rv;
    mutex_lock(m->lock);
    for (size_t i = 0; i < n && rv == CKR_OK; i++)
        if (objs[i] != NULL && object_is_token(objs[i]))
            rv = object_handle_for_row_locked(m, s->tok, rows[i].id, rows[i].private, &out[i]);
    mutex_unlock(m->lock);
    /* Out of memory for a handle: the rows must not outlive the failed call. */
    for (size_t i = 0; i < n && rv != CKR_OK; i++) {
        bool found;
        if (rows[i].id != 0)
            store_object_delete(m->store, s->tok->id, rows[i].id, &found);
    }
    return rv;
}

CK_RV object_add_many(struct module *m, struct session *s, struct object **objs, size_t n,
                      CK_OBJECT_HANDLE *out)
{
    struct store_object rows[OBJECT_ADD_MAX];
    CK_OBJECT_HANDLE added[OBJECT_ADD_MAX];
    uint8_t secret[32];
    bool user;
    CK_RV rv = CKR_OK;

    memset(rows, 0, sizeof rows);
    if (n == 0 || n > OBJECT_ADD_MAX) {
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    user = object_user_secret(m, s, secret);
    for (size_t i = 0; i < n && rv == CKR_OK; i++) {
        objs[i]->tok = s->tok;
        added[i] = CK_INVALID_HANDLE;
        rv = add_allowed(s, objs[i], user);
    }
    /* Session objects first: they can be taken back, committed rows only by another change. */
    for (size_t i = 0; i < n && rv == CKR_OK; i++)
        if (!object_is_token(objs[i]) && (rv = add_session_object(m, s, objs[i], &added[i])) == CKR_OK)
            objs[i] = NULL;   /* transferred to the handle table */
    if (rv == CKR_OK)
        rv = add_token_objects(m, s, objs, n, secret, rows, out);
    if (rv != CKR_OK) {
        forget_handles(m, added, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (added[i] != CK_INVALID_HANDLE)
            out[i] = added[i];
out:
    secret_wipe(secret, sizeof secret);
    for (size_t i = 0; i < n && i < OBJECT_ADD_MAX; i++) {
        store_object_clear(&rows[i]);
        object_free(objs[i]);
        objs[i] = NULL;
    }
    return rv;
}

CK_RV object_add(struct module *m, struct session *s, struct object *obj, CK_OBJECT_HANDLE *out)
{
    return object_add_many(m, s, &obj, 1, out);
}

CK_RV object_session_objects_locked(struct module *m, struct session *s, struct object ***out,
                                    size_t *n)
{
    struct object_table *t = m->objects;
    struct object **list = NULL;
    size_t count = 0;

    for (size_t i = 0; i < t->by_handle.cap; i++) {
        struct handle_entry *e = (struct handle_entry *)(uintptr_t)t->by_handle.values[i];
        struct object **bigger;
        if (t->by_handle.keys[i] == 0 || e->obj == NULL || !entry_visible_locked(e, s))
            continue;
        if ((bigger = realloc(list, (count + 1) * sizeof *list)) == NULL)
            goto fail;
        list = bigger;
        if ((list[count] = object_dup(e->obj)) == NULL)
            goto fail;
        count++;
    }
    *out = list;
    *n = count;
    return CKR_OK;
fail:
    while (count > 0)
        object_free(list[--count]);
    free(list);
    return CKR_HOST_MEMORY;
}

/*
 * Removes every entry pick() selects, with the TPM keys of its session objects; collected
 * first, since removal moves map slots.
 */
static void remove_entries_locked(struct module *m,
                                  bool (*pick)(const struct handle_entry *, const void *),
                                  const void *arg)
{
    struct object_table *t = m->objects;
    CK_OBJECT_HANDLE *doomed = calloc(t->by_handle.n + 1, sizeof *doomed);
    size_t n = 0;

    if (doomed == NULL)
        return;
    for (size_t i = 0; i < t->by_handle.cap; i++) {
        struct handle_entry *e = (struct handle_entry *)(uintptr_t)t->by_handle.values[i];
        if (t->by_handle.keys[i] != 0 && pick(e, arg))
            doomed[n++] = e->handle;
    }
    for (size_t i = 0; i < n; i++) {
        struct handle_entry *e = entry_get_locked(t, doomed[i]);
        if (e == NULL)
            continue;
        if (e->obj != NULL && e->obj->blob.pub != NULL)
            keycache_drop_locked(m, e->tok, keycache_id(e->obj));
        entry_remove_locked(t, e);
    }
    free(doomed);
}

static bool owned_by(const struct handle_entry *e, const void *session)
{
    return e->obj != NULL && e->obj->owner == session;
}

static bool private_of(const struct handle_entry *e, const void *tok)
{
    return e->tok == tok && e->private;
}

void object_session_closed_locked(struct module *m, struct session *s)
{
    remove_entries_locked(m, owned_by, s);
}

void object_logout_locked(struct module *m, struct token *tok)
{
    tok->login_epoch++;
    remove_entries_locked(m, private_of, tok);
}

void object_forget_locked(struct module *m, CK_OBJECT_HANDLE h)
{
    struct handle_entry *e = entry_get_locked(m->objects, h);

    if (e != NULL)
        entry_remove_locked(m->objects, e);
}

/* Replaces a session object's attributes in place. Holds m->lock. */
CK_RV object_replace_session_attrs_locked(struct module *m, CK_OBJECT_HANDLE h,
                                          struct attrs *attrs)
{
    struct handle_entry *e = entry_get_locked(m->objects, h);

    if (e == NULL || e->obj == NULL)
        return CKR_OBJECT_HANDLE_INVALID;
    attrs_free(&e->obj->attrs);
    e->obj->attrs = *attrs;
    attrs_init(attrs);
    return CKR_OK;
}

/* Rewrites a token object's row (indexed columns and attributes) from o. */
CK_RV object_update_row(struct module *m, struct session *s, const struct object *o)
{
    struct store_object row = { 0 };
    uint8_t secret[32];
    bool user = object_user_secret(m, s, secret), found = false;
    CK_RV rv;

    if (object_is_private(o) && !user) {
        rv = CKR_USER_NOT_LOGGED_IN;
        goto out;
    }
    if ((rv = row_fill(o, secret, &row)) != CKR_OK)
        goto out;
    row.id = o->store_id;
    row.token_id = s->tok->id;
    if ((rv = store_object_update(m->store, &row, &found)) == CKR_OK && !found)
        rv = CKR_OBJECT_HANDLE_INVALID;
out:
    secret_wipe(secret, sizeof secret);
    store_object_clear(&row);
    return rv;
}

CK_RV object_key_auth(struct module *m, struct session *s, struct object *o)
{
    uint8_t secret[32];
    uint8_t *auth = NULL;
    size_t len = 0;
    CK_RV rv = CKR_OK;

    if (o->auth_len > 0 || o->auth_wrap == NULL)
        return CKR_OK;
    if (!object_user_secret(m, s, secret))
        return CKR_USER_NOT_LOGGED_IN;
    if (!wrap_open(secret, WRAP_KEY_AUTH, o->blob.pub, o->blob.pub_len, o->auth_wrap,
                   o->auth_wrap_len, &auth, &len) || len > sizeof o->auth) {
        log_error("the auth value of key %lu does not open with the token secret",
                  (unsigned long)o->store_id);
        rv = CKR_DEVICE_ERROR;
    } else {
        memcpy(o->auth, auth, len);
        o->auth_len = len;
    }
    secret_free(auth, len);
    secret_wipe(secret, sizeof secret);
    return rv;
}

/* Object search: indexed store queries for token objects, a scan of session objects. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "token/find.h"
#include "token/object.h"
#include "util/secret.h"

struct find_state {
    CK_OBJECT_HANDLE *handles;
    size_t n;
    size_t next;
};

void find_state_free(struct find_state *f)
{
    if (f == NULL)
        return;
    free(f->handles);
    free(f);
}

static bool push(struct find_state *f, size_t *cap, CK_OBJECT_HANDLE h)
{
    if (f->n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        CK_OBJECT_HANDLE *p = realloc(f->handles, c * sizeof *p);
        if (p == NULL)
            return false;
        f->handles = p;
        *cap = c;
    }
    f->handles[f->n++] = h;
    return true;
}

/* A template attribute that must hold one CK_ULONG to match anything. */
static bool template_ulong(const CK_ATTRIBUTE *t, CK_ULONG *v)
{
    if (t->ulValueLen != sizeof(CK_ULONG) || t->pValue == NULL)
        return false;
    memcpy(v, t->pValue, sizeof *v);
    return true;
}

/*
 * The store query for a template, and whether the query alone decides the match (the
 * template names only indexed columns), so rows need not be read. *none: nothing can match.
 */
static bool build_query(const CK_ATTRIBUTE *t, CK_ULONG n, struct store_object_query *q,
                        bool *none)
{
    bool covered = true;

    *none = false;
    for (CK_ULONG i = 0; i < n; i++) {
        switch (t[i].type) {
        case CKA_CLASS:
            q->has_class = template_ulong(&t[i], &q->class);
            *none |= !q->has_class;
            break;
        case CKA_KEY_TYPE:
            q->has_key_type = template_ulong(&t[i], &q->key_type);
            *none |= !q->has_key_type;
            break;
        case CKA_ID:
            q->has_cka_id = true;
            q->cka_id = t[i].pValue;
            q->cka_id_len = t[i].ulValueLen;
            break;
        case CKA_LABEL:
            q->has_label = true;
            q->label = t[i].pValue;
            q->label_len = t[i].ulValueLen;
            break;
        case CKA_TOKEN:
            /* Only token objects are in the store: the match is about which side to search. */
            break;
        default:
            covered = false;
            break;
        }
    }
    return covered;
}

/* Which kinds of object a template's CKA_TOKEN allows: 1 token, 2 session, 3 both, 0 none. */
static int token_sides(const CK_ATTRIBUTE *t, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        if (t[i].type != CKA_TOKEN)
            continue;
        if (t[i].ulValueLen != sizeof(CK_BBOOL) || t[i].pValue == NULL)
            return 0;
        return *(CK_BBOOL *)t[i].pValue == CK_TRUE ? 1 : *(CK_BBOOL *)t[i].pValue == CK_FALSE ? 2 : 0;
    }
    return 3;
}

/* Whether row id matches the whole template (reading it only when the query did not decide). */
static CK_RV row_matches(struct module *m, struct session *s, uint64_t id, const uint8_t *secret,
                         const CK_ATTRIBUTE *t, CK_ULONG n, bool *match)
{
    struct store_object row = { 0 };
    struct object *o = NULL;
    bool found = false;
    CK_RV rv;

    *match = false;
    if ((rv = store_object_get(m->store, id, &row, &found)) != CKR_OK || !found)
        goto out;   /* gone since the query: not a match */
    if ((rv = object_from_row(s->tok, &row, secret, &o)) == CKR_OK)
        *match = attrs_match(&o->attrs, t, n);
out:
    object_free(o);
    store_object_clear(&row);
    return rv;
}

static CK_RV find_token_objects(struct module *m, struct session *s, const CK_ATTRIBUTE *t,
                                CK_ULONG n, struct find_state *f, size_t *cap)
{
    struct store_object_query q = { .token_id = s->tok->id };
    uint8_t secret[32];
    struct store_object_hit *hits = NULL;
    size_t count = 0;
    bool none, covered, match;
    CK_RV rv;

    covered = build_query(t, n, &q, &none);
    q.with_private = object_user_secret(m, s, secret);
    if (none || m->store == NULL) {
        rv = CKR_OK;
        goto out;
    }
    if ((rv = store_object_find(m->store, &q, &hits, &count)) != CKR_OK)
        goto out;
    for (size_t i = 0; i < count && rv == CKR_OK; i++) {
        CK_OBJECT_HANDLE h;
        match = covered;
        if (!covered &&
            (rv = row_matches(m, s, hits[i].id, q.with_private ? secret : NULL, t, n,
                              &match)) != CKR_OK)
            break;
        if (!match)
            continue;
        mutex_lock(m->lock);
        rv = object_handle_for_row_locked(m, s->tok, hits[i].id, hits[i].private, &h);
        mutex_unlock(m->lock);
        if (rv == CKR_OK && !push(f, cap, h))
            rv = CKR_HOST_MEMORY;
    }
out:
    free(hits);
    secret_wipe(secret, sizeof secret);
    return rv;
}

static CK_RV find_session_objects(struct module *m, struct session *s, const CK_ATTRIBUTE *t,
                                  CK_ULONG n, struct find_state *f, size_t *cap)
{
    struct object **list = NULL;
    size_t count = 0;
    CK_RV rv;

    mutex_lock(m->lock);
    rv = object_session_objects_locked(m, s, &list, &count);
    mutex_unlock(m->lock);
    for (size_t i = 0; i < count; i++) {
        if (rv == CKR_OK && attrs_match(&list[i]->attrs, t, n) && !push(f, cap, list[i]->handle))
            rv = CKR_HOST_MEMORY;
        object_free(list[i]);
    }
    free(list);
    return rv;
}

CK_RV find_init(struct module *m, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct session *s;
    struct find_state *f = NULL;
    size_t cap = 0;
    int sides;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if (s->find != NULL) {
        rv = CKR_OPERATION_ACTIVE;
        goto out;
    }
    if ((f = calloc(1, sizeof *f)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    sides = token_sides(tmpl, n);
    if ((sides & 1) && (rv = find_token_objects(m, s, tmpl, n, f, &cap)) != CKR_OK)
        goto out;
    if ((sides & 2) && (rv = find_session_objects(m, s, tmpl, n, f, &cap)) != CKR_OK)
        goto out;
    s->find = f;
    f = NULL;   /* the session's until C_FindObjectsFinal */
out:
    find_state_free(f);
    session_release(m, s);
    return rv;
}

CK_RV find_next(struct module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out, CK_ULONG max,
                CK_ULONG *count)
{
    struct session *s;
    struct find_state *f;
    CK_ULONG n = 0;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if ((f = s->find) == NULL) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        while (n < max && f->next < f->n)
            out[n++] = f->handles[f->next++];
        *count = n;
    }
    session_release(m, s);
    return rv;
}

CK_RV find_final(struct module *m, CK_SESSION_HANDLE h)
{
    struct session *s;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if (s->find == NULL)
        rv = CKR_OPERATION_NOT_INITIALIZED;
    find_state_free(s->find);
    s->find = NULL;
    session_release(m, s);
    return rv;
}

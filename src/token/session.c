/* This application's sessions: open, close, state, and the busy mark for calls using one. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "token/find.h"
#include "token/keycache.h"
#include "token/op.h"
#include "token/object.h"
#include "token/session.h"
#include "tpm/tpm.h"
#include "util/log.h"
#include "util/secret.h"

struct session_table {
    struct session **s;          /* sorted by handle: handles only grow */
    size_t n;
    size_t cap;
    CK_SESSION_HANDLE last;      /* handles are never reused in a process */
};

CK_RV session_table_new(struct session_table **out)
{
    struct session_table *t = calloc(1, sizeof *t);

    if (t == NULL)
        return CKR_HOST_MEMORY;
    *out = t;
    return CKR_OK;
}

/* Module lock held (or nobody else left: C_Finalize). */
static void session_free(struct session *s)
{
    op_end_all_locked(s);
    find_state_free(s->find);
    free(s);
}

void session_table_free(struct session_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        session_free(t->s[i]);
    free(t->s);
    free(t);
}

static size_t find_index(const struct session_table *t, CK_SESSION_HANDLE h, bool *found)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->s[mid]->handle == h) {
            *found = true;
            return mid;
        }
        if (t->s[mid]->handle < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct session *find_locked(struct module *m, CK_SESSION_HANDLE h)
{
    bool found;
    size_t i = find_index(m->sessions, h, &found);

    return found ? m->sessions->s[i] : NULL;
}

CK_STATE session_state_locked(const struct session *s)
{
    bool rw = (s->flags & CKF_RW_SESSION) != 0;

    switch (s->tok->login) {
    case LOGIN_SO:
        return CKS_RW_SO_FUNCTIONS;
    case LOGIN_USER:
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    default:
        return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    }
}

bool session_ro_exists_locked(struct module *m, const struct token *tok)
{
    return tok->sessions > tok->rw_sessions;
}

/* Caller holds m->lock. */
static CK_RV open_checks_locked(struct module *m, struct token *tok, CK_FLAGS flags)
{
    if (tok == NULL)
        return CKR_SLOT_ID_INVALID;
    if (!tok->initialized)
        return CKR_TOKEN_NOT_RECOGNIZED;
    if ((flags & CKF_RW_SESSION) && m->store != NULL && store_read_only(m->store))
        return CKR_TOKEN_WRITE_PROTECTED;
    if (!(flags & CKF_RW_SESSION) && tok->login == LOGIN_SO)
        return CKR_SESSION_READ_WRITE_SO_EXISTS;
    return CKR_OK;
}

static CK_RV table_insert_locked(struct session_table *t, struct session *s)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct session **p = realloc(t->s, cap * sizeof *p);
        if (p == NULL)
            return CKR_HOST_MEMORY;
        t->s = p;
        t->cap = cap;
    }
    s->handle = ++t->last;
    t->s[t->n++] = s;
    return CKR_OK;
}

CK_RV session_open(struct module *m, CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                   CK_NOTIFY notify, CK_SESSION_HANDLE *out)
{
    struct session *s = calloc(1, sizeof *s);
    struct token *tok;
    CK_RV rv;

    if (s == NULL)
        return CKR_HOST_MEMORY;
    mutex_lock(m->lock);
    tok = slot_find_locked(m, slot);
    if ((rv = open_checks_locked(m, tok, flags)) != CKR_OK)
        goto out;
    s->tok = tok;
    s->flags = flags & (CKF_RW_SESSION | CKF_SERIAL_SESSION);
    s->notify = notify;
    s->application = app;
    if ((rv = table_insert_locked(m->sessions, s)) != CKR_OK)
        goto out;
    tok->sessions++;
    if (flags & CKF_RW_SESSION)
        tok->rw_sessions++;
    *out = s->handle;
    s = NULL;   /* transferred */
out:
    mutex_unlock(m->lock);
    free(s);
    return rv;
}

void session_logout_locked(struct module *m, struct token *tok, struct session *caller)
{
    struct session_table *t = m->sessions;

    tok->login = LOGIN_NONE;
    secret_wipe(tok->secret, sizeof tok->secret);
    object_logout_locked(m, tok);
    keycache_drop_locked(m, tok, 0);
    /* Keyed operations end; a session another thread is inside keeps its own until it ends. */
    for (size_t i = 0; i < t->n; i++)
        if (t->s[i]->tok == tok && (t->s[i] == caller || !t->s[i]->busy))
            op_end_keyed_locked(t->s[i]);
}

/* The spec: closing an application's last session with a token logs it out. */
static void logout_if_last_locked(struct module *m, struct token *tok)
{
    if (tok->sessions == 0 && tok->login != LOGIN_NONE)
        session_logout_locked(m, tok, NULL);
}

/* Removes the session at index i; a busy one is freed by its last session_release. */
static void close_at_locked(struct module *m, size_t i)
{
    struct session_table *t = m->sessions;
    struct session *s = t->s[i];

    memmove(&t->s[i], &t->s[i + 1], (t->n - i - 1) * sizeof t->s[0]);
    t->n--;
    s->tok->sessions--;
    if (s->flags & CKF_RW_SESSION)
        s->tok->rw_sessions--;
    object_session_closed_locked(m, s);
    logout_if_last_locked(m, s->tok);
    if (s->busy)
        s->closed = true;
    else
        session_free(s);
}

CK_RV session_close(struct module *m, CK_SESSION_HANDLE h)
{
    bool found;
    size_t i;

    mutex_lock(m->lock);
    i = find_index(m->sessions, h, &found);
    if (found)
        close_at_locked(m, i);
    mutex_unlock(m->lock);
    tpm_reap(m->tpm);
    return found ? CKR_OK : CKR_SESSION_HANDLE_INVALID;
}

CK_RV session_close_all(struct module *m, CK_SLOT_ID slot)
{
    struct token *tok;
    CK_RV rv = CKR_OK;

    mutex_lock(m->lock);
    if ((tok = slot_find_locked(m, slot)) == NULL) {
        rv = CKR_SLOT_ID_INVALID;
    } else {
        for (size_t i = m->sessions->n; i-- > 0;)
            if (m->sessions->s[i]->tok == tok)
                close_at_locked(m, i);
    }
    mutex_unlock(m->lock);
    tpm_reap(m->tpm);
    return rv;
}

CK_RV session_info(struct module *m, CK_SESSION_HANDLE h, CK_SESSION_INFO *info)
{
    struct session *s;
    CK_RV rv = CKR_OK;

    /* No busy mark: this must work from a callback inside a call on the same session. */
    mutex_lock(m->lock);
    if ((s = find_locked(m, h)) == NULL) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else {
        info->slotID = s->tok->id;
        info->state = session_state_locked(s);
        info->flags = s->flags;
        info->ulDeviceError = s->device_error;
    }
    mutex_unlock(m->lock);
    return rv;
}

/* The application's answer to CKN_SURRENDER: true to cancel. Called with no module lock. */
static bool session_ask(void *ctx)
{
    struct session *s = ctx;
    CK_RV rv = s->notify(s->handle, CKN_SURRENDER, s->application);

    if (rv == CKR_CANCEL)
        return true;
    if (rv != CKR_OK)
        log_info("session %lu: the surrender callback said 0x%lx; going on",
                 (unsigned long)s->handle, (unsigned long)rv);
    return false;
}

CK_RV session_acquire(struct module *m, CK_SESSION_HANDLE h, struct session **out)
{
    struct session *s;
    CK_RV rv = CKR_OK;

    mutex_lock(m->lock);
    if ((s = find_locked(m, h)) == NULL) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (s->busy) {
        /* Another thread, or a callback, is inside a call on this session. */
        log_warn("session %lu is already in use by another call", (unsigned long)h);
        rv = CKR_FUNCTION_FAILED;
    } else {
        s->busy++;
        *out = s;
    }
    mutex_unlock(m->lock);
    if (rv == CKR_OK && s->notify != NULL)
        surrender_begin(&s->surrender, session_ask, s);
    return rv;
}

void session_release(struct module *m, struct session *s)
{
    if (s == NULL)
        return;
    if (s->notify != NULL)
        surrender_end(&s->surrender);
    mutex_lock(m->lock);
    s->busy--;
    if (s->busy == 0 && s->closed)
        session_free(s);
    mutex_unlock(m->lock);
    tpm_reap(m->tpm);
}

/*
 * token/session: this application's sessions: their handles, flags, login-dependent state,
 * and the busy mark that keeps one session from being used by two calls at once.
 */
#ifndef TPMTOK_SESSION_H
#define TPMTOK_SESSION_H

#include <stdbool.h>

#include "p11.h"
#include "token/module.h"
#include "token/slot.h"
#include "util/surrender.h"

struct find_state;
struct op;

struct session {
    CK_SESSION_HANDLE handle;
    struct token *tok;
    CK_FLAGS flags;                /* CKF_SERIAL_SESSION, maybe CKF_RW_SESSION */
    CK_NOTIFY notify;              /* may be NULL */
    CK_VOID_PTR application;
    CK_ULONG device_error;         /* last TPM response code seen in this session */
    unsigned busy;                 /* calls using it now (guarded by the module lock) */
    bool closed;                   /* closed while busy: freed by the last release */
    struct find_state *find;       /* an active C_FindObjects search, or NULL */
    struct op *ops[5];             /* active operations by enum op_kind (token/op.h) */
    struct surrender surrender;    /* while a call runs: CKN_SURRENDER to notify, if set */
};

struct session_table;

CK_RV session_table_new(struct session_table **out);
/* Frees every session (tokens' counts are not touched). NULL is fine. */
void session_table_free(struct session_table *t);

/* C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo. */
CK_RV session_open(struct module *m, CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                   CK_NOTIFY notify, CK_SESSION_HANDLE *out);
CK_RV session_close(struct module *m, CK_SESSION_HANDLE h);
CK_RV session_close_all(struct module *m, CK_SLOT_ID slot);
CK_RV session_info(struct module *m, CK_SESSION_HANDLE h, CK_SESSION_INFO *info);

/*
 * Finds session h and marks it busy for the caller, who must session_release it. A session
 * opened with a notify callback gets CKN_SURRENDER calls while the call does long work
 * (util/surrender), and CKR_CANCEL from it cancels the call.
 * CKR_OK, CKR_SESSION_HANDLE_INVALID.
 */
CK_RV session_acquire(struct module *m, CK_SESSION_HANDLE h, struct session **out);
void session_release(struct module *m, struct session *s);

/* The session's CKS_ state from its flags and its token's login state. Caller holds m->lock. */
CK_STATE session_state_locked(const struct session *s);
/*
 * Logs the application out of tok: secret wiped, private objects and handles gone, cached keys
 * dropped, keyed operations ended. caller: the session calling C_Logout (or NULL). m->lock held.
 */
void session_logout_locked(struct module *m, struct token *tok, struct session *caller);
/* True if tok has a read-only session. Caller holds m->lock. */
bool session_ro_exists_locked(struct module *m, const struct token *tok);

#endif

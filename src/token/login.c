/*
 * Login and PINs. A PIN is right when the TPM unseals the token secret with the auth value
 * derived from it; the secret then stays in memory until logout, and is what wraps key auth
 * values. Login state is per token for the whole application, as the spec says.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "token/login.h"
#include "token/object.h"
#include "token/op.h"
#include "token/pin.h"
#include "token/session.h"
#include "token/slot.h"
#include "tpm/tpm.h"
#include "util/log.h"
#include "util/secret.h"

static enum login_state login_for(CK_USER_TYPE user)
{
    return user == CKU_SO ? LOGIN_SO : LOGIN_USER;
}

/* Caller holds m->lock. */
static CK_RV login_checks_locked(struct module *m, struct session *s, CK_USER_TYPE user)
{
    struct token *tok = s->tok;

    if (tok->login == login_for(user))
        return CKR_USER_ALREADY_LOGGED_IN;
    if (tok->login != LOGIN_NONE)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    if (user == CKU_SO && session_ro_exists_locked(m, tok))
        return CKR_SESSION_READ_ONLY_EXISTS;
    return CKR_OK;
}

static CK_RV login_checks(struct module *m, struct session *s, CK_USER_TYPE user)
{
    CK_RV rv;

    mutex_lock(m->lock);
    rv = login_checks_locked(m, s, user);
    mutex_unlock(m->lock);
    return rv;
}

/*
 * Reads the token's row afresh: another process may have changed a PIN. Caller holds
 * tok->op_lock. The row is also kept as the token's own.
 */
static CK_RV fresh_row(struct module *m, struct token *tok, struct store_token *row)
{
    bool found = false;
    CK_RV rv;

    if (m->store == NULL)
        return CKR_DEVICE_ERROR;
    if ((rv = store_token_get(m->store, tok->id, row, &found)) != CKR_OK)
        return rv;
    if (!found) {
        log_error("token %lu is gone from the store", (unsigned long)tok->id);
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

/* Caller holds tok->op_lock; on success the token is logged in as user. */
static CK_RV login_unseal(struct module *m, struct session *s, CK_USER_TYPE user,
                          const uint8_t *pin, size_t pin_len)
{
    struct token *tok = s->tok;
    struct store_token row = { 0 };
    uint8_t secret[TOKEN_SECRET_LEN];
    struct tpm_obj *primary;
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = fresh_row(m, tok, &row)) != CKR_OK)
        goto out;
    if (user == CKU_USER && !row.has_user) {
        rv = CKR_USER_PIN_NOT_INITIALIZED;
        goto out;
    }
    if ((rv = module_tpm(m, &tpm)) != CKR_OK || (rv = slot_token_primary(m, tok, &primary)) != CKR_OK)
        goto out;
    rv = pin_unseal(tpm, primary, user == CKU_SO ? &row.so : &row.user, pin, pin_len, secret,
                    sizeof secret);
    if (rv != CKR_OK)
        goto out;
    mutex_lock(m->lock);
    /* Another thread may have logged in while the TPM worked. */
    if ((rv = login_checks_locked(m, s, user)) == CKR_OK) {
        tok->login = login_for(user);
        memcpy(tok->secret, secret, sizeof secret);
        store_token_clear(&tok->row);
        tok->row = row;
        memset(&row, 0, sizeof row);   /* transferred */
    }
    mutex_unlock(m->lock);
out:
    secret_wipe(secret, sizeof secret);
    store_token_clear(&row);
    return rv;
}

/*
 * CKU_CONTEXT_SPECIFIC: the user's PIN again, checked by the TPM, for the operation waiting on
 * a CKA_ALWAYS_AUTHENTICATE key. Caller holds tok->op_lock.
 */
static CK_RV login_context(struct module *m, struct session *s, const uint8_t *pin,
                           size_t pin_len)
{
    struct store_token row = { 0 };
    uint8_t secret[TOKEN_SECRET_LEN];
    struct tpm_obj *primary;
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = fresh_row(m, s->tok, &row)) != CKR_OK)
        goto out;
    if (!row.has_user) {
        rv = CKR_USER_PIN_NOT_INITIALIZED;
        goto out;
    }
    if ((rv = module_tpm(m, &tpm)) != CKR_OK ||
        (rv = slot_token_primary(m, s->tok, &primary)) != CKR_OK ||
        (rv = pin_unseal(tpm, primary, &row.user, pin, pin_len, secret, sizeof secret)) != CKR_OK)
        goto out;
    op_context_login_done(s);
out:
    secret_wipe(secret, sizeof secret);
    store_token_clear(&row);
    return rv;
}

CK_RV login_login(struct module *m, CK_SESSION_HANDLE h, CK_USER_TYPE user,
                  const uint8_t *pin, size_t pin_len)
{
    struct session *s = NULL;
    CK_RV rv;

    if (user != CKU_SO && user != CKU_USER && user != CKU_CONTEXT_SPECIFIC)
        return CKR_USER_TYPE_INVALID;
    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if (user == CKU_CONTEXT_SPECIFIC) {
        if (!op_context_login_due(s)) {
            rv = CKR_OPERATION_NOT_INITIALIZED;
        } else if (pin_check_len(pin_len) != CKR_OK) {
            rv = CKR_PIN_INCORRECT;
        } else {
            rv = CKR_FUNCTION_FAILED;   /* a callback during this token's own PIN or TPM set-up */
            if (mutex_enter(s->tok->op_lock)) {
                rv = login_context(m, s, pin, pin_len);
                mutex_unlock(s->tok->op_lock);
            }
        }
        goto out;
    }
    if ((rv = login_checks(m, s, user)) != CKR_OK)
        goto out;
    /* C_Login has no CKR_PIN_LEN_RANGE; a PIN of impossible length needs no TPM to be wrong. */
    if (pin_check_len(pin_len) != CKR_OK) {
        rv = CKR_PIN_INCORRECT;
        goto out;
    }
    rv = CKR_FUNCTION_FAILED;   /* a callback during this token's own PIN or TPM set-up */
    if (mutex_enter(s->tok->op_lock)) {
        rv = login_unseal(m, s, user, pin, pin_len);
        mutex_unlock(s->tok->op_lock);
    }
out:
    session_release(m, s);
    return rv;
}

CK_RV login_logout(struct module *m, CK_SESSION_HANDLE h)
{
    struct session *s = NULL;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    mutex_lock(m->lock);
    if (s->tok->login == LOGIN_NONE) {
        rv = CKR_USER_NOT_LOGGED_IN;
    } else {
        session_logout_locked(m, s->tok, s);
    }
    mutex_unlock(m->lock);
    session_release(m, s);
    return rv;
}

/* Seals secret for pin and stores it as the SO or user seal of tok. Caller holds op_lock. */
static CK_RV store_new_seal(struct module *m, struct token *tok, bool so, const uint8_t *pin,
                            size_t pin_len, const uint8_t *secret, uint64_t generation)
{
    struct store_seal seal = { 0 };
    struct tpm_obj *primary;
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = module_tpm(m, &tpm)) != CKR_OK || (rv = slot_token_primary(m, tok, &primary)) != CKR_OK)
        goto out;
    if ((rv = pin_seal(tpm, primary, pin, pin_len, secret, TOKEN_SECRET_LEN, &seal)) != CKR_OK)
        goto out;
    if ((rv = store_token_set_seal(m->store, tok->id, so, &seal, &generation)) != CKR_OK)
        goto out;
    mutex_lock(m->lock);
    if (so) {
        free(tok->row.so.pub);
        free(tok->row.so.priv);
        tok->row.so = seal;
    } else {
        free(tok->row.user.pub);
        free(tok->row.user.priv);
        tok->row.user = seal;
        tok->row.has_user = true;
    }
    tok->row.generation = generation;
    mutex_unlock(m->lock);
    memset(&seal, 0, sizeof seal);   /* transferred */
out:
    free(seal.pub);
    free(seal.priv);
    return rv;
}

static CK_RV writable(struct module *m, struct session *s)
{
    if (!(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    if (m->store == NULL)
        return CKR_DEVICE_ERROR;
    if (store_read_only(m->store))
        return CKR_TOKEN_WRITE_PROTECTED;
    return CKR_OK;
}

/* The SO's secret copy, if the SO is logged in to s's token. */
static CK_RV so_secret(struct module *m, struct session *s, uint8_t secret[TOKEN_SECRET_LEN])
{
    CK_RV rv = CKR_OK;

    mutex_lock(m->lock);
    if (s->tok->login != LOGIN_SO)
        rv = CKR_USER_NOT_LOGGED_IN;
    else
        memcpy(secret, s->tok->secret, TOKEN_SECRET_LEN);
    mutex_unlock(m->lock);
    return rv;
}

CK_RV login_init_pin(struct module *m, CK_SESSION_HANDLE h, const uint8_t *pin, size_t pin_len)
{
    struct session *s = NULL;
    struct store_token row = { 0 };
    uint8_t secret[TOKEN_SECRET_LEN];
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if ((rv = so_secret(m, s, secret)) != CKR_OK || (rv = writable(m, s)) != CKR_OK ||
        (rv = pin_check_len(pin_len)) != CKR_OK)
        goto out;
    rv = CKR_FUNCTION_FAILED;   /* a callback during this token's own PIN or TPM set-up */
    if (mutex_enter(s->tok->op_lock)) {
        if ((rv = fresh_row(m, s->tok, &row)) == CKR_OK)
            rv = store_new_seal(m, s->tok, false, pin, pin_len, secret, row.generation);
        mutex_unlock(s->tok->op_lock);
    }
out:
    secret_wipe(secret, sizeof secret);
    store_token_clear(&row);
    session_release(m, s);
    return rv;
}

/* Who C_SetPIN changes the PIN of: the SO if logged in, else the user. */
static bool set_pin_is_so(struct module *m, struct session *s)
{
    bool so;

    mutex_lock(m->lock);
    so = s->tok->login == LOGIN_SO;
    mutex_unlock(m->lock);
    return so;
}

/* Caller holds op_lock. The TPM checks the old PIN; the secret stays the same. */
static CK_RV set_pin_locked(struct module *m, struct session *s, bool so, const uint8_t *old_pin,
                            size_t old_len, const uint8_t *new_pin, size_t new_len)
{
    struct store_token row = { 0 };
    uint8_t secret[TOKEN_SECRET_LEN];
    struct tpm_obj *primary;
    struct tpm *tpm;
    CK_RV rv;

    if ((rv = fresh_row(m, s->tok, &row)) != CKR_OK)
        goto out;
    /* C_SetPIN has no CKR_USER_PIN_NOT_INITIALIZED: with no user PIN, no old PIN is right. */
    if (!so && !row.has_user) {
        rv = CKR_PIN_INCORRECT;
        goto out;
    }
    if ((rv = module_tpm(m, &tpm)) != CKR_OK ||
        (rv = slot_token_primary(m, s->tok, &primary)) != CKR_OK)
        goto out;
    rv = pin_unseal(tpm, primary, so ? &row.so : &row.user, old_pin, old_len, secret,
                    sizeof secret);
    if (rv == CKR_OK)
        rv = store_new_seal(m, s->tok, so, new_pin, new_len, secret, row.generation);
out:
    secret_wipe(secret, sizeof secret);
    store_token_clear(&row);
    return rv;
}

CK_RV login_set_pin(struct module *m, CK_SESSION_HANDLE h, const uint8_t *old_pin,
                    size_t old_len, const uint8_t *new_pin, size_t new_len)
{
    struct session *s = NULL;
    CK_RV rv;

    if ((rv = session_acquire(m, h, &s)) != CKR_OK)
        return rv;
    if ((rv = writable(m, s)) != CKR_OK || (rv = pin_check_len(new_len)) != CKR_OK)
        goto out;
    if (pin_check_len(old_len) != CKR_OK) {
        rv = CKR_PIN_INCORRECT;
        goto out;
    }
    rv = CKR_FUNCTION_FAILED;   /* a callback during this token's own PIN or TPM set-up */
    if (mutex_enter(s->tok->op_lock)) {
        rv = set_pin_locked(m, s, set_pin_is_so(m, s), old_pin, old_len, new_pin, new_len);
        mutex_unlock(s->tok->op_lock);
    }
out:
    session_release(m, s);
    return rv;
}

/*
 * Slots and tokens: the slot list (one slot per stored token plus one empty slot), slot and
 * token information, C_InitToken, and each token's storage primary.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "store/store.h"
#include "token/pin.h"
#include "token/session.h"
#include "token/slot.h"
#include "tpm/tpm.h"
#include "util/log.h"
#include "util/secret.h"

struct slot_table {
    struct token **tokens;   /* by ascending id; the last one is the empty slot */
    size_t n;
    size_t cap;
    const struct lock_ops *locks;
};

static void pad_copy(CK_UTF8CHAR *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    memset(dst, ' ', size);
    memcpy(dst, src, n < size ? n : size);
}

void slot_library_info(CK_INFO *info)
{
    memset(info, 0, sizeof *info);
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
    pad_copy(info->manufacturerID, sizeof info->manufacturerID, "tpmtok");
    pad_copy(info->libraryDescription, sizeof info->libraryDescription,
             "tpmtok: PKCS#11 on a TPM 2.0");
    info->libraryVersion.major = 0;
    info->libraryVersion.minor = 1;
}

CK_RV slot_table_new(const struct lock_ops *locks, struct slot_table **out)
{
    struct slot_table *st = calloc(1, sizeof *st);

    if (st == NULL)
        return CKR_HOST_MEMORY;
    st->locks = locks;
    *out = st;
    return CKR_OK;
}

static void token_free(struct token *tok, struct tpm *tpm)
{
    if (tok == NULL)
        return;
    if (tok->primary != NULL && tpm != NULL)
        tpm_obj_close(tpm, tok->primary);
    secret_wipe(tok->secret, sizeof tok->secret);
    store_token_clear(&tok->row);
    mutex_free(tok->op_lock);
    free(tok);
}

void slot_table_free(struct slot_table *st, struct tpm *tpm)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++)
        token_free(st->tokens[i], tpm);
    free(st->tokens);
    free(st);
}

static CK_RV token_new(struct slot_table *st, CK_SLOT_ID id, struct token **out)
{
    struct token *tok = calloc(1, sizeof *tok);
    CK_RV rv;

    if (tok == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = mutex_new(st->locks, &tok->op_lock)) != CKR_OK) {
        free(tok);
        return rv;
    }
    tok->id = id;
    *out = tok;
    return CKR_OK;
}

/* Appends a token with the next id; ids only grow, so the array stays sorted. */
static CK_RV table_append(struct slot_table *st, CK_SLOT_ID id, struct token **out)
{
    struct token *tok;
    CK_RV rv;

    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        struct token **p = realloc(st->tokens, cap * sizeof *p);
        if (p == NULL)
            return CKR_HOST_MEMORY;
        st->tokens = p;
        st->cap = cap;
    }
    if ((rv = token_new(st, id, &tok)) != CKR_OK)
        return rv;
    st->tokens[st->n++] = tok;
    *out = tok;
    return CKR_OK;
}

struct token *slot_find_locked(struct module *m, CK_SLOT_ID id)
{
    struct slot_table *st = m->slots;
    size_t lo = 0, hi = st->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->tokens[mid]->id == id)
            return st->tokens[mid];
        if (st->tokens[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Takes row's contents (row is left cleared). Caller holds m->lock. */
static void token_set_row_locked(struct token *tok, struct store_token *row)
{
    store_token_clear(&tok->row);
    tok->row = *row;
    memset(row, 0, sizeof *row);
    tok->initialized = true;
}

/* Merges the stored tokens into the table and keeps one empty slot, last, at next_id. */
static CK_RV merge_locked(struct module *m, struct store_token *rows, size_t n, uint64_t next_id)
{
    struct slot_table *st = m->slots;
    struct token *tok;
    CK_RV rv;

    for (size_t i = 0; i < n; i++) {
        tok = slot_find_locked(m, rows[i].id);
        if (tok == NULL) {
            if (st->n > 0 && st->tokens[st->n - 1]->id > rows[i].id)
                continue;   /* older than our empty slot: cannot happen with growing ids */
            if ((rv = table_append(st, rows[i].id, &tok)) != CKR_OK)
                return rv;
        }
        /* A token in use keeps the row it was loaded with; login re-reads it anyway. */
        if (!tok->initialized || tok->sessions == 0)
            token_set_row_locked(tok, &rows[i]);
    }
    if (st->n == 0 || st->tokens[st->n - 1]->initialized) {
        CK_SLOT_ID id = next_id;
        if (st->n > 0 && st->tokens[st->n - 1]->id >= id)
            id = st->tokens[st->n - 1]->id + 1;
        if ((rv = table_append(st, id, &tok)) != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

CK_RV slot_refresh(struct module *m)
{
    struct store_token *rows = NULL;
    size_t n = 0;
    uint64_t next_id = 1;
    CK_RV rv;

    if (m->store != NULL &&
        (store_token_list(m->store, &rows, &n) != CKR_OK ||
         store_token_next_id(m->store, &next_id) != CKR_OK)) {
        /* Already logged by the store; keep showing what we had. */
        store_token_list_free(rows, n);
        rows = NULL;
        n = 0;
        next_id = 1;
    }
    mutex_lock(m->lock);
    rv = merge_locked(m, rows, n, next_id);
    mutex_unlock(m->lock);
    store_token_list_free(rows, n);
    return rv;
}

CK_RV slot_list(struct module *m, bool token_present, CK_SLOT_ID *list, CK_ULONG *count)
{
    struct slot_table *st = m->slots;
    CK_RV rv = CKR_OK;

    (void)token_present;   /* every slot holds a token */
    /* The spec lets the list change only on the call that asks for its length. */
    if (list == NULL && (rv = slot_refresh(m)) != CKR_OK)
        return rv;
    mutex_lock(m->lock);
    if (list != NULL && *count < st->n)
        rv = CKR_BUFFER_TOO_SMALL;
    else if (list != NULL)
        for (size_t i = 0; i < st->n; i++)
            list[i] = st->tokens[i]->id;
    *count = st->n;
    mutex_unlock(m->lock);
    return rv;
}

CK_RV slot_info(struct module *m, CK_SLOT_ID id, CK_SLOT_INFO *info)
{
    struct token *tok;
    CK_RV rv = CKR_OK;

    mutex_lock(m->lock);
    if ((tok = slot_find_locked(m, id)) == NULL) {
        rv = CKR_SLOT_ID_INVALID;
        goto out;
    }
    memset(info, 0, sizeof *info);
    pad_copy(info->slotDescription, sizeof info->slotDescription,
             tok->initialized ? "tpmtok token on TPM 2.0" : "tpmtok: space for a new token");
    pad_copy(info->manufacturerID, sizeof info->manufacturerID, "tpmtok");
    info->flags = CKF_TOKEN_PRESENT | CKF_HW_SLOT;
    info->hardwareVersion.major = 2;
    info->hardwareVersion.minor = 0;
    info->firmwareVersion.major = 0;
    info->firmwareVersion.minor = 1;
out:
    mutex_unlock(m->lock);
    return rv;
}

/* The TPM's dictionary-attack counter is shared by every PIN of every token on it. */
static CK_FLAGS da_flags(const struct tpm_da *da)
{
    CK_FLAGS f = 0;

    if (da->in_lockout)
        return CKF_USER_PIN_LOCKED | CKF_SO_PIN_LOCKED;
    if (da->counter > 0)
        f |= CKF_USER_PIN_COUNT_LOW | CKF_SO_PIN_COUNT_LOW;
    if (da->max_tries > 0 && da->counter + 1 == da->max_tries)
        f |= CKF_USER_PIN_FINAL_TRY | CKF_SO_PIN_FINAL_TRY;
    return f;
}

static void token_info_tpm(CK_TOKEN_INFO *info, const struct tpm_props *p)
{
    char model[17];

    pad_copy(info->manufacturerID, sizeof info->manufacturerID,
             p->manufacturer[0] ? p->manufacturer : "TPM");
    snprintf(model, sizeof model, "%s", p->vendor[0] ? p->vendor : "TPM 2.0");
    pad_copy(info->model, sizeof info->model, model);
    info->hardwareVersion.major = (CK_BYTE)(p->revision / 100);
    info->hardwareVersion.minor = (CK_BYTE)(p->revision % 100);
    info->firmwareVersion.major = (CK_BYTE)(p->firmware1 >> 16);
    info->firmwareVersion.minor = (CK_BYTE)p->firmware1;
}

/* Caller holds m->lock. */
static void token_info_locked(struct module *m, const struct token *tok, CK_TOKEN_INFO *info)
{
    if (tok->initialized) {
        memcpy(info->label, tok->row.label, sizeof info->label);
        pad_copy(info->serialNumber, sizeof info->serialNumber, tok->row.serial);
        info->flags |= CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED;
        if (tok->row.has_user)
            info->flags |= CKF_USER_PIN_INITIALIZED;
    } else {
        pad_copy(info->label, sizeof info->label, "");
        pad_copy(info->serialNumber, sizeof info->serialNumber, "");
    }
    info->flags |= CKF_RNG | CKF_DUAL_CRYPTO_OPERATIONS;
    if (m->store != NULL && store_read_only(m->store))
        info->flags |= CKF_WRITE_PROTECTED;
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = tok->sessions;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = tok->rw_sessions;
    info->ulMaxPinLen = PIN_MAX_LEN;
    info->ulMinPinLen = PIN_MIN_LEN;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pad_copy(info->utcTime, sizeof info->utcTime, "");
}

CK_RV slot_token_info(struct module *m, CK_SLOT_ID id, CK_TOKEN_INFO *info)
{
    struct tpm *tpm;
    struct tpm_da da;
    struct token *tok;
    CK_RV rv;

    mutex_lock(m->lock);
    tok = slot_find_locked(m, id);
    mutex_unlock(m->lock);
    if (tok == NULL)
        return CKR_SLOT_ID_INVALID;
    if (m->store == NULL)
        return CKR_DEVICE_ERROR;   /* why was logged when the store failed to open */
    if ((rv = module_tpm(m, &tpm)) != CKR_OK || (rv = tpm_da_get(tpm, &da)) != CKR_OK)
        return rv == CKR_HOST_MEMORY ? rv : CKR_DEVICE_ERROR;
    memset(info, 0, sizeof *info);
    token_info_tpm(info, tpm_props_get(tpm));
    info->flags = da_flags(&da);
    mutex_lock(m->lock);
    token_info_locked(m, tok, info);
    mutex_unlock(m->lock);
    return CKR_OK;
}

CK_RV slot_token_primary(struct module *m, struct token *tok, struct tpm_obj **out)
{
    uint8_t name[sizeof tok->row.primary_name];
    size_t name_len = sizeof name;
    struct tpm *tpm;
    struct tpm_obj *o = NULL;
    CK_RV rv;

    if (tok->primary != NULL) {
        *out = tok->primary;
        return CKR_OK;
    }
    if ((rv = module_tpm(m, &tpm)) != CKR_OK)
        return rv;
    rv = tpm_primary_open(tpm, tok->row.seed, sizeof tok->row.seed, &o, name, &name_len);
    if (rv != CKR_OK)
        return rv;
    if (name_len != tok->row.primary_name_len ||
        memcmp(name, tok->row.primary_name, name_len) != 0) {
        log_error("token %lu was made on another TPM, or this TPM's owner hierarchy was "
                  "cleared: its keys cannot be loaded here", (unsigned long)tok->id);
        tpm_obj_close(tpm, o);
        return CKR_DEVICE_ERROR;
    }
    __atomic_store_n(&tok->primary, o, __ATOMIC_RELEASE);
    *out = o;
    return CKR_OK;
}

CK_RV slot_token_primary_get(struct module *m, struct token *tok, struct tpm_obj **out)
{
    CK_RV rv;

    if ((*out = __atomic_load_n(&tok->primary, __ATOMIC_ACQUIRE)) != NULL)
        return CKR_OK;
    if (!mutex_enter(tok->op_lock))
        return CKR_FUNCTION_FAILED;
    rv = slot_token_primary(m, tok, out);
    mutex_unlock(tok->op_lock);
    return rv;
}

static CK_RV random_bytes(uint8_t *out, size_t n)
{
    return RAND_priv_bytes(out, (int)n) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV new_serial(char serial[17])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[8];
    CK_RV rv;

    if ((rv = random_bytes(raw, sizeof raw)) != CKR_OK)
        return rv;
    for (size_t i = 0; i < sizeof raw; i++) {
        serial[2 * i] = hex[raw[i] >> 4];
        serial[2 * i + 1] = hex[raw[i] & 15];
    }
    serial[16] = '\0';
    return CKR_OK;
}

/* A new token in the empty slot; on success a new empty slot follows it. */
static CK_RV init_new_token(struct module *m, struct tpm *tpm, struct token *tok,
                            const uint8_t *pin, size_t pin_len, const uint8_t label[32])
{
    struct store_token row = { 0 };
    uint8_t secret[TOKEN_SECRET_LEN];
    struct tpm_obj *primary = NULL;
    CK_RV rv;

    row.id = tok->id;
    memcpy(row.label, label, sizeof row.label);
    row.primary_name_len = sizeof row.primary_name;
    if ((rv = random_bytes(row.seed, sizeof row.seed)) != CKR_OK ||
        (rv = random_bytes(secret, sizeof secret)) != CKR_OK ||
        (rv = new_serial(row.serial)) != CKR_OK)
        goto out;
    rv = tpm_primary_open(tpm, row.seed, sizeof row.seed, &primary, row.primary_name,
                          &row.primary_name_len);
    if (rv != CKR_OK)
        goto out;
    if ((rv = pin_seal(tpm, primary, pin, pin_len, secret, sizeof secret, &row.so)) != CKR_OK)
        goto out;
    rv = store_token_create(m->store, &row);
    if (rv == CKR_FUNCTION_FAILED)
        log_error("another process created a token in slot %lu first; list the slots again",
                  (unsigned long)tok->id);
    if (rv != CKR_OK)
        goto out;
    __atomic_store_n(&tok->primary, primary, __ATOMIC_RELEASE);
    primary = NULL;   /* transferred */
    mutex_lock(m->lock);
    token_set_row_locked(tok, &row);
    rv = merge_locked(m, NULL, 0, tok->id + 1);
    mutex_unlock(m->lock);
    log_info("created token %lu (serial %s)", (unsigned long)tok->id, tok->row.serial);
out:
    secret_wipe(secret, sizeof secret);
    tpm_obj_close(tpm, primary);
    store_token_clear(&row);
    return rv;
}

/* Re-initializing needs the current SO PIN, which the TPM checks by unsealing. */
static CK_RV reinit_token(struct module *m, struct tpm *tpm, struct token *tok,
                          const uint8_t *pin, size_t pin_len, const uint8_t label[32])
{
    struct store_token row = { 0 };
    struct store_seal so = { 0 };
    uint8_t secret[TOKEN_SECRET_LEN];
    struct tpm_obj *primary;
    bool found = false;
    CK_RV rv;

    if ((rv = store_token_get(m->store, tok->id, &row, &found)) != CKR_OK)
        goto out;
    if (!found) {
        rv = CKR_TOKEN_NOT_RECOGNIZED;
        goto out;
    }
    if ((rv = slot_token_primary(m, tok, &primary)) != CKR_OK)
        goto out;
    rv = pin_unseal(tpm, primary, &row.so, pin, pin_len, secret, sizeof secret);
    if (rv != CKR_OK)
        goto out;
    /* Every object goes, so the secret that wrapped their auth values goes too. */
    if ((rv = random_bytes(secret, sizeof secret)) != CKR_OK ||
        (rv = pin_seal(tpm, primary, pin, pin_len, secret, sizeof secret, &so)) != CKR_OK)
        goto out;
    free(row.so.pub);
    free(row.so.priv);
    row.so = so;
    memset(&so, 0, sizeof so);   /* transferred */
    memcpy(row.label, label, sizeof row.label);
    if ((rv = store_token_reinit(m->store, &row)) != CKR_OK)
        goto out;
    mutex_lock(m->lock);
    token_set_row_locked(tok, &row);
    tok->login = LOGIN_NONE;
    secret_wipe(tok->secret, sizeof tok->secret);
    mutex_unlock(m->lock);
    log_info("re-initialized token %lu", (unsigned long)tok->id);
out:
    secret_wipe(secret, sizeof secret);
    free(so.pub);
    free(so.priv);
    store_token_clear(&row);
    return rv;
}

CK_RV slot_init_token(struct module *m, CK_SLOT_ID id, const uint8_t *pin, size_t pin_len,
                      const uint8_t label[32])
{
    struct token *tok;
    struct tpm *tpm;
    CK_RV rv;

    mutex_lock(m->lock);
    tok = slot_find_locked(m, id);
    rv = tok == NULL ? CKR_SLOT_ID_INVALID : tok->sessions > 0 ? CKR_SESSION_EXISTS : CKR_OK;
    mutex_unlock(m->lock);
    if (rv != CKR_OK)
        return rv;
    /* C_InitToken has no CKR_PIN_LEN_RANGE: a PIN no token could have is an incorrect one. */
    if (pin_check_len(pin_len) != CKR_OK)
        return CKR_PIN_INCORRECT;
    if (m->store == NULL)
        return CKR_DEVICE_ERROR;
    if (store_read_only(m->store))
        return CKR_TOKEN_WRITE_PROTECTED;
    if ((rv = module_tpm(m, &tpm)) != CKR_OK)
        return rv;
    if (!mutex_enter(tok->op_lock))
        return CKR_FUNCTION_FAILED;   /* a callback during this token's own set-up */
    if (tok->initialized)
        rv = reinit_token(m, tpm, tok, pin, pin_len, label);
    else
        rv = init_new_token(m, tpm, tok, pin, pin_len, label);
    mutex_unlock(tok->op_lock);
    return rv;
}

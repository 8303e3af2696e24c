/*
 * Token rows: reading them into struct store_token, creating, re-initializing and re-sealing
 * them, and counting a token's objects.
 *
 * Every change is one write transaction and is checked against what the caller last read:
 * create against the next free id, the others against the row's generation, so a change made
 * meanwhile by another process is reported (CKR_FUNCTION_FAILED) instead of overwritten.
 * Lengths are checked both ways: rows are written only from well-formed structs, and a row of
 * the wrong shape is reported as a device error instead of being copied into one.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/log.h"

/* The columns of a token row, in the order TOKEN_SELECT names them. */
enum token_col {
    COL_ID,
    COL_LABEL,
    COL_SERIAL,
    COL_SEED,
    COL_PRIMARY_NAME,
    COL_SO_SEAL,           /* pub, priv, salt, iterations */
    COL_USER_SEAL = COL_SO_SEAL + 4,
    COL_GENERATION = COL_USER_SEAL + 4,
};

/* A string constant, so the two queries below are whole literals. */
#define TOKEN_SELECT \
    "SELECT id, label, serial, seed, primary_name," \
    " so_pub, so_priv, so_salt, so_iterations," \
    " user_pub, user_priv, user_salt, user_iterations, generation FROM tokens"

static const char sql_list_tokens[] = TOKEN_SELECT " ORDER BY id";
static const char sql_get_token[] = TOKEN_SELECT " WHERE id = ?1";

static const char sql_next_id[] =
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tokens'), 0),"
    " coalesce((SELECT max(id) FROM tokens), 0)) + 1";

/* The statements below number their parameters as bind_token binds them. */
static const char sql_insert_token[] =
    "INSERT INTO tokens (id, label, serial, seed, primary_name,"
    " so_pub, so_priv, so_salt, so_iterations,"
    " user_pub, user_priv, user_salt, user_iterations, generation)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1)";

static const char sql_reinit_token[] =
    "UPDATE tokens SET label = ?2, seed = ?4, primary_name = ?5,"
    " so_pub = ?6, so_priv = ?7, so_salt = ?8, so_iterations = ?9,"
    " user_pub = NULL, user_priv = NULL, user_salt = NULL, user_iterations = NULL,"
    " generation = generation + 1 WHERE id = ?1 AND generation = ?14";

static const char sql_set_so_seal[] =
    "UPDATE tokens SET so_pub = ?6, so_priv = ?7, so_salt = ?8, so_iterations = ?9,"
    " generation = generation + 1 WHERE id = ?1 AND generation = ?14";

static const char sql_set_user_seal[] =
    "UPDATE tokens SET user_pub = ?6, user_priv = ?7, user_salt = ?8, user_iterations = ?9,"
    " generation = generation + 1 WHERE id = ?1 AND generation = ?14";

static void seal_clear(struct store_seal *seal)
{
    free(seal->pub);
    free(seal->priv);
    memset(seal, 0, sizeof *seal);
}

void store_token_clear(struct store_token *t)
{
    if (t == NULL)
        return;
    seal_clear(&t->so);
    seal_clear(&t->user);
    memset(t, 0, sizeof *t);
}

void store_token_list_free(struct store_token *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        store_token_clear(&list[i]);
    free(list);
}

/* Logs a row that does not fit struct store_token. Returns CKR_DEVICE_ERROR. */
static CK_RV bad_column(struct store *s, sqlite3_stmt *st, int col, const char *why)
{
    const char *name = sqlite3_column_name(st, col);

    log_error("%s: token %lld: column %s %s; the store is damaged", s->path,
              (long long)sqlite3_column_int64(st, COL_ID), name != NULL ? name : "?", why);
    return CKR_DEVICE_ERROR;
}

/* Copies a blob column of min..max bytes into dst. CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
static CK_RV column_copy(struct store *s, sqlite3_stmt *st, int col, void *dst,
                         size_t min, size_t max, size_t *len)
{
    const void *p;
    int n;

    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return bad_column(s, st, col, "is not a blob");
    p = sqlite3_column_blob(st, col);
    n = sqlite3_column_bytes(st, col);
    if (p == NULL && n > 0)
        return CKR_HOST_MEMORY;
    if (n < 0 || (size_t)n < min || (size_t)n > max)
        return bad_column(s, st, col, "has the wrong length");
    if (n > 0)
        memcpy(dst, p, (size_t)n);
    if (len != NULL)
        *len = (size_t)n;
    return CKR_OK;
}

/* A malloc'ed copy of a blob column. CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
static CK_RV column_dup(struct store *s, sqlite3_stmt *st, int col, uint8_t **out, size_t *len)
{
    const void *p;
    int n;

    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return bad_column(s, st, col, "is not a blob");
    p = sqlite3_column_blob(st, col);
    n = sqlite3_column_bytes(st, col);
    if ((p == NULL && n > 0) || n < 0)
        return CKR_HOST_MEMORY;
    /* Never NULL, even for an empty blob, so callers can tell "read" from "absent". */
    if ((*out = malloc(n > 0 ? (size_t)n : 1)) == NULL)
        return CKR_HOST_MEMORY;
    if (n > 0)
        memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return CKR_OK;
}

/* Reads the four seal columns from col on. CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
static CK_RV column_seal(struct store *s, sqlite3_stmt *st, int col, struct store_seal *seal)
{
    sqlite3_int64 iterations;
    CK_RV rv;

    if ((rv = column_dup(s, st, col, &seal->pub, &seal->pub_len)) != CKR_OK)
        return rv;
    if ((rv = column_dup(s, st, col + 1, &seal->priv, &seal->priv_len)) != CKR_OK)
        return rv;
    if ((rv = column_copy(s, st, col + 2, seal->salt, sizeof seal->salt, sizeof seal->salt,
                          NULL)) != CKR_OK)
        return rv;
    iterations = sqlite3_column_int64(st, col + 3);
    if (sqlite3_column_type(st, col + 3) != SQLITE_INTEGER || iterations < 0 ||
        iterations > UINT32_MAX)
        return bad_column(s, st, col + 3, "is not a 32-bit count");
    seal->iterations = (uint32_t)iterations;
    return CKR_OK;
}

/* Reads the serial: exactly 16 bytes of text. CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
static CK_RV column_serial(struct store *s, sqlite3_stmt *st, char serial[17])
{
    const unsigned char *p;

    if (sqlite3_column_type(st, COL_SERIAL) != SQLITE_TEXT)
        return bad_column(s, st, COL_SERIAL, "is not text");
    if ((p = sqlite3_column_text(st, COL_SERIAL)) == NULL)
        return CKR_HOST_MEMORY;
    if (sqlite3_column_bytes(st, COL_SERIAL) != 16 || memchr(p, '\0', 16) != NULL)
        return bad_column(s, st, COL_SERIAL, "is not 16 characters");
    memcpy(serial, p, 16);
    serial[16] = '\0';
    return CKR_OK;
}

/* Fills t from the current row (cleared on error). CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
static CK_RV token_from_row(struct store *s, sqlite3_stmt *st, struct store_token *t)
{
    CK_RV rv;

    memset(t, 0, sizeof *t);
    t->id = (uint64_t)sqlite3_column_int64(st, COL_ID);
    t->generation = (uint64_t)sqlite3_column_int64(st, COL_GENERATION);
    t->has_user = sqlite3_column_type(st, COL_USER_SEAL) != SQLITE_NULL;
    if ((rv = column_copy(s, st, COL_LABEL, t->label, sizeof t->label, sizeof t->label,
                          NULL)) != CKR_OK ||
        (rv = column_serial(s, st, t->serial)) != CKR_OK ||
        (rv = column_copy(s, st, COL_SEED, t->seed, sizeof t->seed, sizeof t->seed,
                          NULL)) != CKR_OK ||
        (rv = column_copy(s, st, COL_PRIMARY_NAME, t->primary_name, 0,
                          sizeof t->primary_name, &t->primary_name_len)) != CKR_OK ||
        (rv = column_seal(s, st, COL_SO_SEAL, &t->so)) != CKR_OK)
        goto out;
    if (t->has_user && (rv = column_seal(s, st, COL_USER_SEAL, &t->user)) != CKR_OK)
        goto out;
    rv = CKR_OK;
out:
    if (rv != CKR_OK)
        store_token_clear(t);
    return rv;
}

/* Binds n bytes; an empty blob stays an empty blob, not NULL. Returns an SQLite code. */
static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    if (n > INT_MAX)
        return SQLITE_TOOBIG;
    return sqlite3_bind_blob(st, i, n > 0 ? p : "", (int)n, SQLITE_STATIC);
}

/* Binds a seal at ?i..?i+3, or four NULLs if seal is NULL. Returns an SQLite code. */
static int bind_seal(sqlite3_stmt *st, int i, const struct store_seal *seal)
{
    int rc;

    if (seal == NULL) {
        for (int k = 0; k < 4; k++)
            if ((rc = sqlite3_bind_null(st, i + k)) != SQLITE_OK)
                return rc;
        return SQLITE_OK;
    }
    if ((rc = bind_blob(st, i, seal->pub, seal->pub_len)) != SQLITE_OK ||
        (rc = bind_blob(st, i + 1, seal->priv, seal->priv_len)) != SQLITE_OK ||
        (rc = bind_blob(st, i + 2, seal->salt, sizeof seal->salt)) != SQLITE_OK)
        return rc;
    return sqlite3_bind_int64(st, i + 3, seal->iterations);
}

/*
 * Binds the token's fields as ?1 id, ?2 label, ?3 serial, ?4 seed, ?5 primary name, ?6-?9 SO
 * seal, ?10-?13 user seal (NULLs without one) and, if the statement goes that far, ?14
 * generation; each statement uses the ones it needs. Returns an SQLite code.
 */
static int bind_token(sqlite3_stmt *st, const struct store_token *t)
{
    int rc;

    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)t->id)) != SQLITE_OK ||
        (rc = bind_blob(st, 2, t->label, sizeof t->label)) != SQLITE_OK ||
        (rc = sqlite3_bind_text(st, 3, t->serial, 16, SQLITE_STATIC)) != SQLITE_OK ||
        (rc = bind_blob(st, 4, t->seed, sizeof t->seed)) != SQLITE_OK ||
        (rc = bind_blob(st, 5, t->primary_name, t->primary_name_len)) != SQLITE_OK ||
        (rc = bind_seal(st, 6, &t->so)) != SQLITE_OK ||
        (rc = bind_seal(st, 10, t->has_user ? &t->user : NULL)) != SQLITE_OK)
        return rc;
    if (sqlite3_bind_parameter_count(st) >= 14)
        return sqlite3_bind_int64(st, 14, (sqlite3_int64)t->generation);
    return SQLITE_OK;
}

/* Catches a caller's malformed seal before it reaches the file. CKR_OK or CKR_ARGUMENTS_BAD. */
static CK_RV seal_check(const struct store_seal *seal)
{
    if ((seal->pub == NULL && seal->pub_len > 0) || (seal->priv == NULL && seal->priv_len > 0)) {
        log_error("a seal with a length but no bytes");
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}

/*
 * As seal_check, for the fields of t that a create (all of them) or a reinit (not the serial
 * nor the user seal) writes. CKR_OK or CKR_ARGUMENTS_BAD.
 */
static CK_RV token_check(const struct store_token *t, bool creating)
{
    CK_RV rv;

    if (t->id == 0 || t->id > INT64_MAX) {
        log_error("token id %llu is out of range", (unsigned long long)t->id);
        return CKR_ARGUMENTS_BAD;
    }
    if (t->primary_name_len > sizeof t->primary_name) {
        log_error("token %llu: the primary's name is too long", (unsigned long long)t->id);
        return CKR_ARGUMENTS_BAD;
    }
    if (creating && strnlen(t->serial, sizeof t->serial) != 16) {
        log_error("token %llu: the serial is not 16 characters", (unsigned long long)t->id);
        return CKR_ARGUMENTS_BAD;
    }
    if ((rv = seal_check(&t->so)) != CKR_OK)
        return rv;
    return creating && t->has_user ? seal_check(&t->user) : CKR_OK;
}

/* Every row, by id. CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR, or as store_rc_to_rv. */
static CK_RV token_list_locked(struct store *s, struct store_token **out, size_t *n)
{
    struct store_token *list = NULL, *grown;
    sqlite3_stmt *st = NULL;
    size_t count = 0, cap = 0;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, sql_list_tokens, &st)) != CKR_OK)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 4;
            if ((grown = reallocarray(list, cap, sizeof *list)) == NULL) {
                rv = CKR_HOST_MEMORY;
                goto out;
            }
            list = grown;
        }
        if ((rv = token_from_row(s, st, &list[count])) != CKR_OK)
            goto out;
        count++;
    }
    if (rc != SQLITE_DONE) {
        rv = store_rc_to_rv(s, rc, "listing the tokens");
        goto out;
    }
    *out = list;
    *n = count;
    list = NULL; /* transferred */
    count = 0;
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    store_token_list_free(list, count);
    return rv;
}

CK_RV store_token_list(struct store *s, struct store_token **out, size_t *n)
{
    CK_RV rv;

    *out = NULL;
    *n = 0;
    mutex_lock(s->lock);
    rv = token_list_locked(s, out, n);
    mutex_unlock(s->lock);
    return rv;
}

/* One row; *found says whether there is one. As token_list_locked. */
static CK_RV token_get_locked(struct store *s, uint64_t id, struct store_token *out, bool *found)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if (id > INT64_MAX) {
        rv = CKR_OK; /* no row can have it */
        goto out;
    }
    if ((rv = store_prepare(s, sql_get_token, &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)id)) != SQLITE_OK ||
        ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE)) {
        rv = store_rc_to_rv(s, rc, "reading a token");
        goto out;
    }
    if (rc == SQLITE_ROW) {
        if ((rv = token_from_row(s, st, out)) != CKR_OK)
            goto out;
        *found = true;
    }
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_token_get(struct store *s, uint64_t id, struct store_token *out, bool *found)
{
    CK_RV rv;

    memset(out, 0, sizeof *out);
    *found = false;
    mutex_lock(s->lock);
    rv = token_get_locked(s, id, out, found);
    mutex_unlock(s->lock);
    return rv;
}

/*
 * One past the highest id ever used: AUTOINCREMENT keeps that in sqlite_sequence even after
 * the row is gone, and max(id) covers a row inserted without it. CKR_OK, CKR_DEVICE_ERROR,
 * or as store_rc_to_rv.
 */
static CK_RV next_id_locked(struct store *s, uint64_t *id)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 v;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, sql_next_id, &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        rv = store_rc_to_rv(s, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc,
                            "finding the next token id");
        goto out;
    }
    /* At INT64_MAX the sum overflows into a REAL. */
    v = sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || v <= 0) {
        log_error("%s: no token ids left", s->path);
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    *id = (uint64_t)v;
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_token_next_id(struct store *s, uint64_t *id)
{
    CK_RV rv;

    mutex_lock(s->lock);
    rv = next_id_locked(s, id);
    mutex_unlock(s->lock);
    return rv;
}

/*
 * Inserts t inside the caller's transaction. CKR_OK; CKR_FUNCTION_FAILED if t->id is not the
 * next id (another process took it) or the serial is taken; else as store_rc_to_rv.
 */
static CK_RV token_insert_intx(struct store *s, const struct store_token *t)
{
    sqlite3_stmt *st = NULL;
    uint64_t next;
    CK_RV rv;
    int rc;

    /* Checked under the write lock, so neither a taken id nor a deleted token's is used. */
    if ((rv = next_id_locked(s, &next)) != CKR_OK)
        goto out;
    if (t->id != next) {
        log_info("%s: token id %llu is not free; the next one is %llu", s->path,
                 (unsigned long long)t->id, (unsigned long long)next);
        rv = CKR_FUNCTION_FAILED;
        goto out;
    }
    if ((rv = store_prepare(s, sql_insert_token, &st)) != CKR_OK)
        goto out;
    if ((rc = bind_token(st, t)) != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_DONE) {
        if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            log_info("%s: token %llu: %s", s->path, (unsigned long long)t->id,
                     sqlite3_errmsg(s->db));
            rv = CKR_FUNCTION_FAILED;
        } else {
            rv = store_rc_to_rv(s, rc, "inserting a token");
        }
        goto out;
    }
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_token_create(struct store *s, struct store_token *t)
{
    CK_RV rv;

    if ((rv = token_check(t, true)) != CKR_OK)
        return rv;
    mutex_lock(s->lock);
    if ((rv = store_tx_begin(s)) != CKR_OK)
        goto out;
    if ((rv = store_tx_end(s, token_insert_intx(s, t))) != CKR_OK)
        goto out;
    t->generation = 1;
out:
    mutex_unlock(s->lock);
    return rv;
}

/* Steps a statement that returns no rows. CKR_OK or as store_rc_to_rv. */
static CK_RV step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc;

    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return store_rc_to_rv(s, rc, what);
    return CKR_OK;
}

/*
 * Steps an UPDATE guarded by "id = ? AND generation = ?". CKR_OK; CKR_FUNCTION_FAILED if it
 * matched no row (the token changed or went away since it was read); else as store_rc_to_rv.
 */
static CK_RV step_guarded(struct store *s, sqlite3_stmt *st, uint64_t id, const char *what)
{
    CK_RV rv;

    if ((rv = step_done(s, st, what)) != CKR_OK)
        return rv;
    if (sqlite3_changes(s->db) == 0) {
        log_info("%s: token %llu changed since it was read, or is gone", s->path,
                 (unsigned long long)id);
        return CKR_FUNCTION_FAILED;
    }
    return CKR_OK;
}

/* Rewrites t's row and deletes its objects, inside the caller's transaction. As step_guarded. */
static CK_RV token_reinit_intx(struct store *s, const struct store_token *t)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, sql_reinit_token, &st)) != CKR_OK)
        goto out;
    if ((rc = bind_token(st, t)) != SQLITE_OK) {
        rv = store_rc_to_rv(s, rc, "binding a token");
        goto out;
    }
    if ((rv = step_guarded(s, st, t->id, "re-initializing a token")) != CKR_OK)
        goto out;
    sqlite3_finalize(st);
    if ((rv = store_prepare(s, "DELETE FROM objects WHERE token_id = ?1", &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)t->id)) != SQLITE_OK) {
        rv = store_rc_to_rv(s, rc, "binding a token id");
        goto out;
    }
    rv = step_done(s, st, "deleting a token's objects");
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_token_reinit(struct store *s, struct store_token *t)
{
    CK_RV rv;

    if ((rv = token_check(t, false)) != CKR_OK)
        return rv;
    mutex_lock(s->lock);
    if ((rv = store_tx_begin(s)) != CKR_OK)
        goto out;
    if ((rv = store_tx_end(s, token_reinit_intx(s, t))) != CKR_OK)
        goto out;
    /* t now matches the row: no user seal, the new generation. */
    t->generation++;
    t->has_user = false;
    seal_clear(&t->user);
out:
    mutex_unlock(s->lock);
    return rv;
}

/* Replaces one seal inside the caller's transaction. As step_guarded. */
static CK_RV token_set_seal_intx(struct store *s, uint64_t id, bool so,
                                 const struct store_seal *seal, uint64_t generation)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, so ? sql_set_so_seal : sql_set_user_seal, &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)id)) != SQLITE_OK ||
        (rc = bind_seal(st, 6, seal)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 14, (sqlite3_int64)generation)) != SQLITE_OK) {
        rv = store_rc_to_rv(s, rc, "binding a seal");
        goto out;
    }
    rv = step_guarded(s, st, id, so ? "replacing the SO seal" : "replacing the user seal");
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_token_set_seal(struct store *s, uint64_t id, bool so,
                           const struct store_seal *seal, uint64_t *generation)
{
    CK_RV rv;

    if ((rv = seal_check(seal)) != CKR_OK)
        return rv;
    mutex_lock(s->lock);
    if ((rv = store_tx_begin(s)) != CKR_OK)
        goto out;
    if ((rv = store_tx_end(s, token_set_seal_intx(s, id, so, seal, *generation))) != CKR_OK)
        goto out;
    (*generation)++;
out:
    mutex_unlock(s->lock);
    return rv;
}

/* CKR_OK or as store_rc_to_rv. */
static CK_RV object_count_locked(struct store *s, uint64_t token_id, uint64_t *count)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, "SELECT count(*) FROM objects WHERE token_id = ?1", &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)token_id)) != SQLITE_OK ||
        (rc = sqlite3_step(st)) != SQLITE_ROW) {
        rv = store_rc_to_rv(s, rc, "counting a token's objects");
        goto out;
    }
    *count = (uint64_t)sqlite3_column_int64(st, 0);
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_object_count(struct store *s, uint64_t token_id, uint64_t *count)
{
    CK_RV rv;

    *count = 0;
    mutex_lock(s->lock);
    rv = object_count_locked(s, token_id, count);
    mutex_unlock(s->lock);
    return rv;
}

/*
 * Object rows: insert, read, update and delete them, and find them by indexed attributes.
 *
 * The searchable attributes (class, key type, private, CKA_ID, CKA_LABEL) are columns with
 * indexes, so C_FindObjects runs one SELECT instead of reading every object. A zero-length
 * CKA_ID or CKA_LABEL is a zero-length blob and an absent one NULL: SQL's "=" then matches a
 * zero-length value only against zero-length ones and never matches an absent one, as
 * PKCS#11 wants. CK_ULONG values go in as their int64 bit pattern and come back the same way.
 * Every change is one write transaction; update and delete are scoped by token as well as id,
 * so a handle from one token cannot reach another token's row.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/log.h"

/* The columns of an object row, in the order sql_get_object names them. */
enum object_col {
    OCOL_ID,
    OCOL_TOKEN_ID,
    OCOL_CLASS,
    OCOL_KEY_TYPE,
    OCOL_PRIVATE,
    OCOL_CKA_ID,
    OCOL_LABEL,
    OCOL_ATTRS,
    OCOL_TPM_PUB,
    OCOL_TPM_PRIV,
    OCOL_AUTH_WRAP,
};

static const char sql_get_object[] =
    "SELECT id, token_id, class, key_type, private, cka_id, label, attrs,"
    " tpm_pub, tpm_priv, auth_wrap FROM objects WHERE id = ?1";

/* The statements below number their parameters as bind_key and bind_fields bind them. */
static const char sql_insert_object[] =
    "INSERT INTO objects (token_id, class, key_type, private, cka_id, label, attrs,"
    " tpm_pub, tpm_priv, auth_wrap) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static const char sql_update_object[] =
    "UPDATE objects SET class = ?3, key_type = ?4, private = ?5, cka_id = ?6, label = ?7,"
    " attrs = ?8 WHERE id = ?1 AND token_id = ?2";

static const char sql_delete_object[] = "DELETE FROM objects WHERE id = ?1 AND token_id = ?2";

void store_object_clear(struct store_object *o)
{
    if (o == NULL)
        return;
    free(o->cka_id);
    free(o->label);
    free(o->attrs);
    free(o->tpm_pub);
    free(o->tpm_priv);
    free(o->auth_wrap);
    memset(o, 0, sizeof *o);
}

/* Logs a row that does not fit struct store_object. Returns CKR_DEVICE_ERROR. */
static CK_RV bad_column(struct store *s, sqlite3_stmt *st, int col, const char *why)
{
    const char *name = sqlite3_column_name(st, col);

    log_error("%s: object %lld: column %s %s; the store is damaged", s->path,
              (long long)sqlite3_column_int64(st, OCOL_ID), name != NULL ? name : "?", why);
    return CKR_DEVICE_ERROR;
}

/*
 * A malloc'ed copy of a blob column (never NULL, even for zero bytes), or *present false and
 * NULL for an SQL NULL if nullable. CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR.
 */
static CK_RV column_blob(struct store *s, sqlite3_stmt *st, int col, bool nullable,
                         bool *present, uint8_t **out, size_t *len)
{
    int type = sqlite3_column_type(st, col);
    const void *p;
    int n;

    *out = NULL;
    *len = 0;
    *present = false;
    if (type == SQLITE_NULL && nullable)
        return CKR_OK;
    if (type != SQLITE_BLOB)
        return bad_column(s, st, col, "is not a blob");
    /* A zero-length blob reads as NULL, so only a NULL with bytes is an allocation failure. */
    p = sqlite3_column_blob(st, col);
    n = sqlite3_column_bytes(st, col);
    if ((p == NULL && n > 0) || n < 0)
        return CKR_HOST_MEMORY;
    if ((*out = malloc(n > 0 ? (size_t)n : 1)) == NULL)
        return CKR_HOST_MEMORY;
    if (n > 0)
        memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    *present = true;
    return CKR_OK;
}

/* Reads an integer column; NULL only if nullable. CKR_OK or CKR_DEVICE_ERROR. */
static CK_RV column_ulong(struct store *s, sqlite3_stmt *st, int col, bool nullable,
                          bool *present, CK_ULONG *out)
{
    int type = sqlite3_column_type(st, col);

    *present = false;
    *out = 0;
    if (type == SQLITE_NULL && nullable)
        return CKR_OK;
    if (type != SQLITE_INTEGER)
        return bad_column(s, st, col, "is not an integer");
    *out = (CK_ULONG)sqlite3_column_int64(st, col);
    *present = true;
    return CKR_OK;
}

/* Fills o from the current row (cleared on error). CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
static CK_RV object_from_row(struct store *s, sqlite3_stmt *st, struct store_object *o)
{
    bool present;
    CK_ULONG priv;
    CK_RV rv;

    memset(o, 0, sizeof *o);
    o->id = (uint64_t)sqlite3_column_int64(st, OCOL_ID);
    o->token_id = (uint64_t)sqlite3_column_int64(st, OCOL_TOKEN_ID);
    if ((rv = column_ulong(s, st, OCOL_CLASS, false, &present, &o->class)) != CKR_OK ||
        (rv = column_ulong(s, st, OCOL_KEY_TYPE, true, &o->has_key_type,
                           &o->key_type)) != CKR_OK ||
        (rv = column_ulong(s, st, OCOL_PRIVATE, false, &present, &priv)) != CKR_OK)
        goto out;
    if (priv > 1) {
        rv = bad_column(s, st, OCOL_PRIVATE, "is not 0 or 1");
        goto out;
    }
    o->private = priv == 1;
    if ((rv = column_blob(s, st, OCOL_CKA_ID, true, &o->has_cka_id, &o->cka_id,
                          &o->cka_id_len)) != CKR_OK ||
        (rv = column_blob(s, st, OCOL_LABEL, true, &o->has_label, &o->label,
                          &o->label_len)) != CKR_OK ||
        (rv = column_blob(s, st, OCOL_ATTRS, false, &present, &o->attrs,
                          &o->attrs_len)) != CKR_OK ||
        (rv = column_blob(s, st, OCOL_TPM_PUB, true, &present, &o->tpm_pub,
                          &o->tpm_pub_len)) != CKR_OK ||
        (rv = column_blob(s, st, OCOL_TPM_PRIV, true, &present, &o->tpm_priv,
                          &o->tpm_priv_len)) != CKR_OK ||
        (rv = column_blob(s, st, OCOL_AUTH_WRAP, true, &present, &o->auth_wrap,
                          &o->auth_wrap_len)) != CKR_OK)
        goto out;
    rv = CKR_OK;
out:
    if (rv != CKR_OK)
        store_object_clear(o);
    return rv;
}

/*
 * Binds n bytes at ?i. An empty value is a zero-length blob (bind_blob with a NULL pointer
 * would bind NULL); absent (present false) binds NULL. Returns an SQLite code.
 */
static int bind_bytes(sqlite3_stmt *st, int i, bool present, const void *p, size_t n)
{
    if (!present)
        return sqlite3_bind_null(st, i);
    if (n > INT_MAX)
        return SQLITE_TOOBIG;
    if (n == 0)
        return sqlite3_bind_zeroblob(st, i, 0);
    return sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

/* Binds the row's key: ?1 id, ?2 token id. Returns an SQLite code. */
static int bind_key(sqlite3_stmt *st, uint64_t id, uint64_t token_id)
{
    int rc;

    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)id)) != SQLITE_OK)
        return rc;
    return sqlite3_bind_int64(st, 2, (sqlite3_int64)token_id);
}

/*
 * Binds o's columns as ?3 class, ?4 key type (NULL without one), ?5 private, ?6 CKA_ID,
 * ?7 CKA_LABEL, ?8 attrs and, if the statement goes that far, ?9 tpm_pub, ?10 tpm_priv,
 * ?11 auth_wrap (NULL when their pointer is). Returns an SQLite code.
 */
static int bind_fields(sqlite3_stmt *st, const struct store_object *o)
{
    int rc;

    if ((rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)o->class)) != SQLITE_OK ||
        (rc = o->has_key_type ? sqlite3_bind_int64(st, 4, (sqlite3_int64)o->key_type)
                              : sqlite3_bind_null(st, 4)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 5, o->private ? 1 : 0)) != SQLITE_OK ||
        (rc = bind_bytes(st, 6, o->has_cka_id, o->cka_id, o->cka_id_len)) != SQLITE_OK ||
        (rc = bind_bytes(st, 7, o->has_label, o->label, o->label_len)) != SQLITE_OK ||
        (rc = bind_bytes(st, 8, true, o->attrs, o->attrs_len)) != SQLITE_OK)
        return rc;
    if (sqlite3_bind_parameter_count(st) < 11)
        return SQLITE_OK;
    if ((rc = bind_bytes(st, 9, o->tpm_pub != NULL, o->tpm_pub, o->tpm_pub_len)) != SQLITE_OK ||
        (rc = bind_bytes(st, 10, o->tpm_priv != NULL, o->tpm_priv,
                         o->tpm_priv_len)) != SQLITE_OK)
        return rc;
    return bind_bytes(st, 11, o->auth_wrap != NULL, o->auth_wrap, o->auth_wrap_len);
}

/* Catches a length without bytes before it reaches the file. CKR_OK or CKR_ARGUMENTS_BAD. */
static CK_RV object_check(const struct store_object *o)
{
    if ((o->cka_id == NULL && o->cka_id_len > 0) || (o->label == NULL && o->label_len > 0) ||
        (o->attrs == NULL && o->attrs_len > 0) || (o->tpm_pub == NULL && o->tpm_pub_len > 0) ||
        (o->tpm_priv == NULL && o->tpm_priv_len > 0) ||
        (o->auth_wrap == NULL && o->auth_wrap_len > 0)) {
        log_error("an object with a length but no bytes");
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}

/*
 * Inserts o inside the caller's transaction and sets o->id. CKR_OK; CKR_FUNCTION_FAILED if
 * the token is gone; else as store_rc_to_rv.
 */
static CK_RV object_insert_intx(struct store *s, struct store_object *o)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, sql_insert_object, &st)) != CKR_OK)
        goto out;
    /* ?1 is not in the statement: the id is SQLite's to choose. */
    if ((rc = bind_key(st, 0, o->token_id)) != SQLITE_OK ||
        (rc = bind_fields(st, o)) != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_DONE) {
        /* Expected when another process deleted the token: not the store's fault. */
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
            log_info("%s: no token %llu to add an object to", s->path,
                     (unsigned long long)o->token_id);
            rv = CKR_FUNCTION_FAILED;
        } else {
            rv = store_rc_to_rv(s, rc, "inserting an object");
        }
        goto out;
    }
    o->id = (uint64_t)sqlite3_last_insert_rowid(s->db);
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_object_insert(struct store *s, struct store_object *o)
{
    return store_object_insert_many(s, &o, 1);
}

CK_RV store_object_insert_many(struct store *s, struct store_object **rows, size_t n)
{
    uint64_t ids[STORE_INSERT_MAX];
    size_t done = 0;
    CK_RV rv = CKR_OK;

    if (n > STORE_INSERT_MAX)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < n && rv == CKR_OK; i++) {
        ids[i] = rows[i]->id;
        rv = object_check(rows[i]);
    }
    if (rv != CKR_OK)
        return rv;
    mutex_lock(s->lock);
    if ((rv = store_tx_begin(s)) != CKR_OK)
        goto out;
    for (; done < n && rv == CKR_OK; done++)
        rv = object_insert_intx(s, rows[done]);
    rv = store_tx_end(s, rv);
out:
    /* A rolled-back insert gave out no ids. */
    if (rv != CKR_OK)
        for (size_t i = 0; i < done; i++)
            rows[i]->id = ids[i];
    mutex_unlock(s->lock);
    return rv;
}

/*
 * One row; *found says whether there is one. CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR, or as
 * store_rc_to_rv.
 */
static CK_RV object_get_locked(struct store *s, uint64_t id, struct store_object *out,
                               bool *found)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, sql_get_object, &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)id)) != SQLITE_OK ||
        ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE)) {
        rv = store_rc_to_rv(s, rc, "reading an object");
        goto out;
    }
    if (rc == SQLITE_ROW) {
        if ((rv = object_from_row(s, st, out)) != CKR_OK)
            goto out;
        *found = true;
    }
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_object_get(struct store *s, uint64_t id, struct store_object *out, bool *found)
{
    CK_RV rv;

    memset(out, 0, sizeof *out);
    *found = false;
    mutex_lock(s->lock);
    rv = object_get_locked(s, id, out, found);
    mutex_unlock(s->lock);
    return rv;
}

/*
 * Runs an update (fields set) or a delete (fields NULL) of row id of token token_id inside
 * the caller's transaction; *found says whether it matched the row. CKR_OK or as
 * store_rc_to_rv.
 */
static CK_RV object_change_intx(struct store *s, const char *sql, uint64_t id, uint64_t token_id,
                                const struct store_object *fields, bool *found, const char *what)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, sql, &st)) != CKR_OK)
        goto out;
    if ((rc = bind_key(st, id, token_id)) != SQLITE_OK ||
        (fields != NULL && (rc = bind_fields(st, fields)) != SQLITE_OK) ||
        (rc = sqlite3_step(st)) != SQLITE_DONE) {
        rv = store_rc_to_rv(s, rc, what);
        goto out;
    }
    *found = sqlite3_changes(s->db) > 0;
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

CK_RV store_object_update(struct store *s, const struct store_object *o, bool *found)
{
    CK_RV rv;

    *found = false;
    if ((rv = object_check(o)) != CKR_OK)
        return rv;
    mutex_lock(s->lock);
    if ((rv = store_tx_begin(s)) != CKR_OK)
        goto out;
    rv = store_tx_end(s, object_change_intx(s, sql_update_object, o->id, o->token_id, o, found,
                                            "updating an object"));
    if (rv != CKR_OK)
        *found = false;
out:
    mutex_unlock(s->lock);
    return rv;
}

CK_RV store_object_delete(struct store *s, uint64_t token_id, uint64_t id, bool *found)
{
    CK_RV rv;

    *found = false;
    mutex_lock(s->lock);
    if ((rv = store_tx_begin(s)) != CKR_OK)
        goto out;
    rv = store_tx_end(s, object_change_intx(s, sql_delete_object, id, token_id, NULL, found,
                                            "deleting an object"));
    if (rv != CKR_OK)
        *found = false;
out:
    mutex_unlock(s->lock);
    return rv;
}

/*
 * Without statistics SQLite picks among equally good indexes by the order it meets them, and
 * would search (token_id, class) even when a CKA_ID is given. The most selective set criterion
 * keeps its index (CKA_ID, then CKA_LABEL, then class); a unary "+" takes the others out of
 * index selection, so they only filter the rows that index finds.
 */
CK_RV store_object_find_sql(const struct store_object_query *q, char *buf, size_t size)
{
    const char *class_term = "", *type_term = "", *id_term = "", *label_term = "";
    int n;

    if (q->has_class)
        class_term = q->has_cka_id || q->has_label ? " AND +class = ?2" : " AND class = ?2";
    if (q->has_key_type)
        type_term = " AND key_type = ?3";
    if (q->has_cka_id)
        id_term = " AND cka_id = ?4";
    if (q->has_label)
        label_term = q->has_cka_id ? " AND +label = ?5" : " AND label = ?5";
    /* Only these constant fragments go into the text; every value is a bound parameter. */
    n = snprintf(buf, size, "SELECT id, private FROM objects WHERE token_id = ?1%s%s%s%s%s ORDER BY id",
                 q->with_private ? "" : " AND private = 0", class_term, type_term, id_term,
                 label_term);
    if (n < 0 || (size_t)n >= size) {
        log_error("an object search does not fit %zu bytes", size);
        return CKR_GENERAL_ERROR;
    }
    return CKR_OK;
}

/* Binds q's set criteria at the numbers store_object_find_sql gives them. An SQLite code. */
static int bind_query(sqlite3_stmt *st, const struct store_object_query *q)
{
    int rc;

    if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)q->token_id)) != SQLITE_OK)
        return rc;
    if (q->has_class && (rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)q->class)) != SQLITE_OK)
        return rc;
    if (q->has_key_type &&
        (rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)q->key_type)) != SQLITE_OK)
        return rc;
    if (q->has_cka_id && (rc = bind_bytes(st, 4, true, q->cka_id, q->cka_id_len)) != SQLITE_OK)
        return rc;
    if (q->has_label && (rc = bind_bytes(st, 5, true, q->label, q->label_len)) != SQLITE_OK)
        return rc;
    return SQLITE_OK;
}

/* Collects the ids. CKR_OK, CKR_HOST_MEMORY, or as store_rc_to_rv. */
static CK_RV object_find_locked(struct store *s, const struct store_object_query *q,
                                struct store_object_hit **ids, size_t *n)
{
    char sql[STORE_OBJECT_FIND_SQL_MAX];
    struct store_object_hit *list = NULL, *grown;
    sqlite3_stmt *st = NULL;
    size_t count = 0, cap = 0;
    CK_RV rv;
    int rc;

    if ((rv = store_object_find_sql(q, sql, sizeof sql)) != CKR_OK ||
        (rv = store_prepare(s, sql, &st)) != CKR_OK)
        goto out;
    if ((rc = bind_query(st, q)) != SQLITE_OK) {
        rv = store_rc_to_rv(s, rc, "binding an object search");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            if ((grown = reallocarray(list, cap, sizeof *list)) == NULL) {
                rv = CKR_HOST_MEMORY;
                goto out;
            }
            list = grown;
        }
        list[count].id = (uint64_t)sqlite3_column_int64(st, 0);
        list[count++].private = sqlite3_column_int64(st, 1) != 0;
    }
    if (rc != SQLITE_DONE) {
        rv = store_rc_to_rv(s, rc, "searching objects");
        goto out;
    }
    *ids = list;
    *n = count;
    list = NULL; /* transferred */
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    free(list);
    return rv;
}

CK_RV store_object_find(struct store *s, const struct store_object_query *q,
                        struct store_object_hit **ids, size_t *n)
{
    CK_RV rv;

    *ids = NULL;
    *n = 0;
    if ((q->has_cka_id && q->cka_id == NULL && q->cka_id_len > 0) ||
        (q->has_label && q->label == NULL && q->label_len > 0)) {
        log_error("an object search with a length but no bytes");
        return CKR_ARGUMENTS_BAD;
    }
    mutex_lock(s->lock);
    rv = object_find_locked(s, q, ids, n);
    mutex_unlock(s->lock);
    return rv;
}

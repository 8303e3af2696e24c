/* Inside store/: the connection struct, the compiled-in migrations, transactions and statements. */
#ifndef TPMTOK_STORE_INTERNAL_H
#define TPMTOK_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* One schema migration: applying it brings the store to version. */
struct store_migration {
    unsigned version;
    const char *name;
    const char *sql;
};

/* In order; store_migrations[i].version is i + 1 (db/embed.sh numbers them from the file names). */
extern const struct store_migration store_migrations[];
extern const unsigned store_migration_count;

struct store {
    struct mutex *lock;    /* held by every public function for its whole duration */
    sqlite3 *db;           /* opened SQLITE_OPEN_NOMUTEX: lock is its only serialization */
    char *path;
    bool read_only;        /* fixed at open; every write then returns CKR_TOKEN_WRITE_PROTECTED */
    /*
     * Set only while store_open_ex tries read-write: SQLITE_READONLY is then the reason to
     * fall back to read-only, not an error, so store_rc_to_rv keeps it in ro_reason (cut to
     * fit) for the one warning the fallback logs, instead of logging an error.
     */
    bool trying_rw;
    char ro_reason[256];
};

/* The one place an SQLite result code becomes a CK_RV; logs the path and SQLite's message. */
CK_RV store_rc_to_rv(struct store *s, int rc, const char *what);

/*
 * store_open, with force_read_only to open a writable file read-only anyway: root can write
 * any file, so the tests reach the read-only paths through this. Same return codes.
 */
CK_RV store_open_ex(const char *path, const struct lock_ops *locks, bool force_read_only,
                    struct store **out);

/*
 * Transactions, called with s->lock held. store_tx_begin starts a write transaction
 * (BEGIN IMMEDIATE, so the busy timeout covers waiting for other writers): CKR_OK;
 * CKR_TOKEN_WRITE_PROTECTED on a read-only store without touching the file; else as
 * store_rc_to_rv. store_tx_end commits if rv is CKR_OK and rolls back otherwise (or if the
 * commit fails); it returns rv, or the commit's error.
 */
CK_RV store_tx_begin(struct store *s);
CK_RV store_tx_end(struct store *s, CK_RV rv);

/* sqlite3_prepare_v2 of one statement. CKR_OK or as store_rc_to_rv. */
CK_RV store_prepare(struct store *s, const char *sql, sqlite3_stmt **out);

/* Room for any text store_object_find_sql makes (the longest is under 200 bytes). */
enum { STORE_OBJECT_FIND_SQL_MAX = 256 };

/*
 * The SELECT store_object_find runs for q: only q's set criteria, each a bound parameter
 * (?1 token id, ?2 class, ?3 key type, ?4 CKA_ID, ?5 CKA_LABEL), ids ascending. Exposed so
 * the tests can EXPLAIN it. CKR_OK; CKR_GENERAL_ERROR if it does not fit size bytes.
 */
CK_RV store_object_find_sql(const struct store_object_query *q, char *buf, size_t size);

#endif

/*
 * The store file: where it lives, making it safely (directories 0700, file 0600, ours alone),
 * opening it with the settings every connection needs, bringing its schema up to date, and the
 * error, transaction and statement helpers the row code shares.
 *
 * A file is only written once it is known to be a tpmtok store this build understands: the
 * version is first read in a plain read transaction, so someone else's SQLite database or a
 * newer tpmtok's store is refused unchanged (not even switched to WAL). Only then is the
 * journal mode set and the migrations applied, in one BEGIN IMMEDIATE transaction that reads
 * the version again, so processes opening a fresh store at once queue on the write lock and
 * all succeed: the first migrates, the others find nothing left to do.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "store/store_internal.h"
#include "util/log.h"

/* Long enough to outwait another process's transaction, short enough to notice a stuck one. */
static const int store_busy_timeout_ms = 5000;

/*
 * SQLite says FULL only for ENOSPC; a quota or a file size limit is a full disk too. Its own
 * record of the system error is not always kept, so errno (which the failed write left, taken
 * before anything else runs) counts as well.
 */
static bool io_error_is_full(struct store *s, int rc, int saved_errno)
{
    int e = s != NULL && s->db != NULL ? sqlite3_system_errno(s->db) : 0;

    if (rc != SQLITE_IOERR_WRITE && rc != SQLITE_IOERR_FSYNC && rc != SQLITE_IOERR_TRUNCATE)
        return false;
    if (e == 0)
        e = saved_errno;
    return e == ENOSPC || e == EFBIG || e == EDQUOT;
}

CK_RV store_rc_to_rv(struct store *s, int rc, const char *what)
{
    int saved_errno = errno;
    const char *path = s != NULL && s->path != NULL ? s->path : "(store)";
    const char *msg = sqlite3_errstr(rc);
    CK_RV rv;

    /* The connection's message has the details, if it is about this error. */
    if (s != NULL && s->db != NULL && sqlite3_extended_errcode(s->db) == rc)
        msg = sqlite3_errmsg(s->db);

    switch (rc & 0xff) {
    case SQLITE_OK:
        return CKR_OK;
    case SQLITE_READONLY:
        rv = CKR_TOKEN_WRITE_PROTECTED;
        break;
    case SQLITE_FULL:
        rv = CKR_DEVICE_MEMORY;
        break;
    case SQLITE_NOMEM:
        rv = CKR_HOST_MEMORY;
        break;
    case SQLITE_IOERR:
        rv = io_error_is_full(s, rc, saved_errno) ? CKR_DEVICE_MEMORY : CKR_DEVICE_ERROR;
        break;
    case SQLITE_CONSTRAINT:
        /* Callers that expect a conflict check for it first; reaching here it is a lost race. */
        rv = CKR_FUNCTION_FAILED;
        break;
    default:
        /* BUSY after the timeout, CORRUPT, NOTADB, IOERR, CANTOPEN, ... */
        rv = CKR_DEVICE_ERROR;
        break;
    }
    if (rv == CKR_TOKEN_WRITE_PROTECTED && s != NULL && s->trying_rw) {
        /* store_open_rw falls back to read-only and gives this as the reason, once. */
        snprintf(s->ro_reason, sizeof s->ro_reason, "%s: %s", what, msg);
        log_debug("%s: %s: %s (SQLite code %d)", path, what, msg, rc);
        return rv;
    }
    if (strcmp(msg, sqlite3_errstr(rc)) == 0)
        log_error("%s: %s: %s (SQLite code %d)", path, what, msg, rc);
    else
        log_error("%s: %s: %s: %s (SQLite code %d)", path, what, sqlite3_errstr(rc), msg, rc);
    return rv;
}

/* The variable's value, or NULL if it is unset or empty. */
static const char *env_get(const char *name)
{
    const char *v;

#ifdef HAVE_SECURE_GETENV
    v = secure_getenv(name);
#else
    v = getenv(name);
#endif
    return v != NULL && *v != '\0' ? v : NULL;
}

/* The effective user's home (passwd database). CKR_OK, CKR_HOST_MEMORY, CKR_GENERAL_ERROR. */
static CK_RV home_from_passwd(char **out)
{
    long max = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t len = max > 0 ? (size_t)max : 1024;
    struct passwd pw, *found = NULL;
    char *buf = NULL, *grown;
    CK_RV rv;
    int err;

    for (;;) {
        if ((grown = realloc(buf, len)) == NULL) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        buf = grown;
        err = getpwuid_r(geteuid(), &pw, buf, len, &found);
        if (err != ERANGE || len >= 1024 * 1024)
            break;
        len *= 2;
    }
    if (err != 0 || found == NULL || pw.pw_dir == NULL || pw.pw_dir[0] != '/') {
        log_error("no home directory for uid %lu: %s", (unsigned long)geteuid(),
                  err != 0 ? strerror(err) : "none in the password database");
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    if ((*out = strdup(pw.pw_dir)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    rv = CKR_OK;
out:
    free(buf);
    return rv;
}

CK_RV store_default_path(char **out)
{
    const char *v;
    char *home = NULL;
    CK_RV rv;
    int n;

    *out = NULL;
    if ((v = env_get("TPMTOK_STORE")) != NULL) {
        n = asprintf(out, "%s", v);
    } else if ((v = env_get("XDG_DATA_HOME")) != NULL && v[0] == '/') {
        /* The XDG spec says to ignore a relative XDG_DATA_HOME. */
        n = asprintf(out, "%s/tpmtok/tpmtok.sqlite3", v);
    } else {
        if ((v = env_get("HOME")) == NULL || v[0] != '/') {
            if ((rv = home_from_passwd(&home)) != CKR_OK)
                goto out;
            v = home;
        }
        n = asprintf(out, "%s/.local/share/tpmtok/tpmtok.sqlite3", v);
    }
    if (n < 0) {
        *out = NULL;
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    rv = CKR_OK;
out:
    free(home);
    return rv;
}

/* Creates the missing directories above path (0700). CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR. */
static CK_RV make_parents(const char *path)
{
    char *copy = strdup(path);
    CK_RV rv = CKR_OK;
    char *p;

    if (copy == NULL)
        return CKR_HOST_MEMORY;
    /* path is not empty (store_open_ex checked), so copy + 1 is in bounds. */
    for (p = strchr(copy + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            log_error("%s: cannot create the directory %s: %s", path, copy, strerror(errno));
            rv = CKR_DEVICE_ERROR;
            break;
        }
        *p = '/';
    }
    free(copy);
    return rv;
}

/*
 * Makes sure path is a regular file owned by us, creating it (and its directories) if it is
 * missing, before SQLite opens it: SQLite would create it with the umask's mode.
 * CKR_OK, CKR_HOST_MEMORY, CKR_DEVICE_ERROR.
 */
static CK_RV store_file_check(const char *path)
{
    struct stat st;
    CK_RV rv;
    int fd;

    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) {
            log_error("%s: cannot look at the store: %s", path, strerror(errno));
            return CKR_DEVICE_ERROR;
        }
        if ((rv = make_parents(path)) != CKR_OK)
            return rv;
        /* EEXIST: another process made it since the lstat; the checks below still apply. */
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            log_error("%s: cannot create the store: %s", path, strerror(errno));
            return CKR_DEVICE_ERROR;
        }
        if (fd >= 0)
            close(fd);
        if (lstat(path, &st) != 0) {
            log_error("%s: cannot look at the store: %s", path, strerror(errno));
            return CKR_DEVICE_ERROR;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        log_error("%s: not a regular file; refusing it as the store", path);
        return CKR_DEVICE_ERROR;
    }
    if (st.st_uid != geteuid()) {
        log_error("%s: owned by uid %lu, not by uid %lu; refusing it as the store", path,
                  (unsigned long)st.st_uid, (unsigned long)geteuid());
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

/* Opens s->db with the settings every connection needs. CKR_OK or as store_rc_to_rv. */
static CK_RV store_connect(struct store *s, bool read_only)
{
    int flags = SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    int rc;

#ifdef SQLITE_OPEN_NOFOLLOW
    flags |= SQLITE_OPEN_NOFOLLOW;
#endif
    /* No SQLITE_OPEN_CREATE: store_file_check made the file with the right mode. */
    if ((rc = sqlite3_open_v2(s->path, &s->db, flags, NULL)) != SQLITE_OK)
        return store_rc_to_rv(s, rc, "opening the database");
    sqlite3_extended_result_codes(s->db, 1);
    if ((rc = sqlite3_busy_timeout(s->db, store_busy_timeout_ms)) != SQLITE_OK)
        return store_rc_to_rv(s, rc, "setting the busy timeout");
    /* SQLite opens read-only by itself when the file cannot be opened for writing. */
    s->read_only = read_only || sqlite3_db_readonly(s->db, "main") == 1;
    rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_rc_to_rv(s, rc, "setting up the connection");
    return CKR_OK;
}

static void store_rollback(struct store *s)
{
    int rc;

    /* After SQLITE_FULL, IOERR or NOMEM SQLite may have rolled back already. */
    if (sqlite3_get_autocommit(s->db))
        return;
    if ((rc = sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL)) != SQLITE_OK)
        (void)store_rc_to_rv(s, rc, "rolling back");
}

CK_RV store_tx_begin(struct store *s)
{
    int rc;

    if (s->read_only) {
        log_debug("%s: read-only; refusing a change", s->path);
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    if ((rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
        return store_rc_to_rv(s, rc, "starting a write transaction");
    return CKR_OK;
}

CK_RV store_tx_end(struct store *s, CK_RV rv)
{
    int rc;

    if (rv == CKR_OK && (rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
        rv = store_rc_to_rv(s, rc, "committing");
    if (rv != CKR_OK)
        store_rollback(s);
    return rv;
}

CK_RV store_prepare(struct store *s, const char *sql, sqlite3_stmt **out)
{
    int rc;

    if ((rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL)) != SQLITE_OK) {
        *out = NULL;
        return store_rc_to_rv(s, rc, "preparing a statement");
    }
    return CKR_OK;
}

/* Runs a query that returns one row of integers into v[0..n-1]. CKR_OK or as store_rc_to_rv. */
static CK_RV store_query_ints(struct store *s, const char *sql, sqlite3_int64 *v, int n)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, sql, &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        rv = store_rc_to_rv(s, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, "reading the schema");
        goto out;
    }
    for (int i = 0; i < n; i++)
        v[i] = sqlite3_column_int64(st, i);
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

static unsigned newest_version(void)
{
    return store_migration_count ? store_migrations[store_migration_count - 1].version : 0;
}

/*
 * The schema version, read in the transaction the caller holds: 0 for a database without
 * tables. CKR_OK; CKR_DEVICE_ERROR for someone else's database, a newer tpmtok's or a
 * malformed schema_version; else as store_rc_to_rv.
 */
static CK_RV store_read_version(struct store *s, unsigned *version)
{
    sqlite3_int64 v[3] = { 0, 0, 0 };
    CK_RV rv;

    rv = store_query_ints(s, "SELECT count(*), count(CASE WHEN type = 'table' AND"
                          " name = 'schema_version' THEN 1 END) FROM sqlite_master", v, 2);
    if (rv != CKR_OK)
        return rv;
    if (v[0] == 0) {
        *version = 0;
        return CKR_OK;
    }
    if (v[1] == 0) {
        log_error("%s: an SQLite database but not a tpmtok store (no schema_version)", s->path);
        return CKR_DEVICE_ERROR;
    }
    rv = store_query_ints(s, "SELECT count(*), min(version), max(version) FROM schema_version",
                          v, 3);
    if (rv != CKR_OK)
        return rv;
    if (v[0] != 1 || v[1] < 1) {
        log_error("%s: schema_version is malformed (%lld rows)", s->path, (long long)v[0]);
        return CKR_DEVICE_ERROR;
    }
    if (v[1] > newest_version()) {
        log_error("%s: made by a newer tpmtok (schema %lld; this one knows up to %u)",
                  s->path, (long long)v[1], newest_version());
        return CKR_DEVICE_ERROR;
    }
    *version = (unsigned)v[1];
    return CKR_OK;
}

/* Reads the version without taking the write lock. CKR_OK or as store_read_version. */
static CK_RV store_peek_version(struct store *s, unsigned *version)
{
    CK_RV rv;
    int rc;

    /* One read transaction, so all the queries see one snapshot. */
    if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
        return store_rc_to_rv(s, rc, "starting a read transaction");
    rv = store_read_version(s, version);
    store_rollback(s);
    return rv;
}

/* One attempt at switching to WAL. Returns an SQLite code. */
static int store_try_wal(struct store *s)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    int rc;

    if ((rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL)) != SQLITE_OK)
        goto out;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        goto out;
    mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
        log_warn("%s: journal mode is %s, not wal; processes will block each other more",
                 s->path, mode != NULL ? (const char *)mode : "unknown");
    rc = SQLITE_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Switches to WAL, so readers and the one writer do not block each other. CKR_OK or as
 * store_rc_to_rv. SQLite makes the switch by upgrading a read lock to a write lock, and an
 * upgrade gets SQLITE_BUSY at once instead of calling the busy handler (waiting could
 * deadlock), so two processes opening a fresh store would fail here; the retry waits instead.
 */
static CK_RV store_set_wal(struct store *s)
{
    const int step_ms = 10;
    int rc, waited = 0;

    while (((rc = store_try_wal(s)) & 0xff) == SQLITE_BUSY && waited < store_busy_timeout_ms) {
        sqlite3_sleep(step_ms);
        waited += step_ms;
    }
    if (rc != SQLITE_OK)
        return store_rc_to_rv(s, rc, "switching to WAL");
    return CKR_OK;
}

/* Records the schema version. CKR_OK or as store_rc_to_rv. */
static CK_RV store_write_version(struct store *s, unsigned version)
{
    sqlite3_stmt *st = NULL;
    CK_RV rv;
    int rc;

    if ((rv = store_prepare(s, "UPDATE schema_version SET version = ?1", &st)) != CKR_OK)
        goto out;
    if ((rc = sqlite3_bind_int64(st, 1, version)) != SQLITE_OK ||
        (rc = sqlite3_step(st)) != SQLITE_DONE) {
        rv = store_rc_to_rv(s, rc, "recording the schema version");
        goto out;
    }
    rv = CKR_OK;
out:
    sqlite3_finalize(st);
    return rv;
}

/*
 * Applies the migrations newer than the store, inside the caller's write transaction.
 * CKR_OK; as store_read_version; as store_rc_to_rv.
 */
static CK_RV store_apply_migrations(struct store *s)
{
    unsigned version;
    CK_RV rv;
    int rc;

    /* Read again: another process may have migrated since the peek. */
    if ((rv = store_read_version(s, &version)) != CKR_OK)
        return rv;
    if (version == 0) {
        rc = sqlite3_exec(s->db, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                          " INSERT INTO schema_version (version) VALUES (0);", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return store_rc_to_rv(s, rc, "creating schema_version");
    }
    for (unsigned i = 0; i < store_migration_count; i++) {
        const struct store_migration *m = &store_migrations[i];

        if (m->version <= version)
            continue;
        log_info("%s: applying migration %s", s->path, m->name);
        if ((rc = sqlite3_exec(s->db, m->sql, NULL, NULL, NULL)) != SQLITE_OK)
            return store_rc_to_rv(s, rc, m->name);
        if ((rv = store_write_version(s, m->version)) != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

/*
 * Connects read-write or read-only and, when writable, brings the schema up to date.
 * CKR_OK; CKR_TOKEN_WRITE_PROTECTED if SQLite finds it cannot write; CKR_DEVICE_ERROR; or as
 * store_rc_to_rv.
 */
static CK_RV store_open_db(struct store *s, bool read_only)
{
    unsigned version;
    CK_RV rv;

    if ((rv = store_connect(s, read_only)) != CKR_OK)
        return rv;
    if ((rv = store_peek_version(s, &version)) != CKR_OK)
        return rv;
    if (s->read_only) {
        if (version < newest_version()) {
            log_error("%s: read-only and at schema %u, older than %u: cannot bring it up to date",
                      s->path, version, newest_version());
            return CKR_DEVICE_ERROR;
        }
        /* A WAL store stays WAL; the journal mode is a property of the file. */
        return CKR_OK;
    }
    if ((rv = store_set_wal(s)) != CKR_OK)
        return rv;
    if ((rv = store_tx_begin(s)) != CKR_OK)
        return rv;
    return store_tx_end(s, store_apply_migrations(s));
}

/*
 * Opens s read-write or, if that finds SQLite cannot write the store, read-only. A read-only
 * open leaves -wal and -shm behind with the file's mode; if they are not writable the store
 * stays read-only even after the file is made writable again, and that is the usual cause.
 * The fallback is not an error: it logs one warning with SQLite's reason, and only a failure
 * of the read-only open logs errors. CKR_OK or as store_open_db.
 */
static CK_RV store_open_rw(struct store *s)
{
    CK_RV rv;

    s->trying_rw = true;
    s->ro_reason[0] = '\0';
    rv = store_open_db(s, false);
    s->trying_rw = false;
    /* A refused write followed by a real failure: the refusal is part of the story. */
    if (rv != CKR_OK && rv != CKR_TOKEN_WRITE_PROTECTED && s->ro_reason[0] != '\0')
        log_error("%s: %s", s->path, s->ro_reason);
    if (rv == CKR_OK && s->read_only)
        log_warn("%s: opened read-only: SQLite could open the file only for reading", s->path);
    if (rv != CKR_TOKEN_WRITE_PROTECTED)
        return rv;
    sqlite3_close(s->db);
    s->db = NULL;
    if ((rv = store_open_db(s, true)) != CKR_OK) {
        log_error("%s: cannot be written (%s) nor opened read-only", s->path, s->ro_reason);
        return rv;
    }
    log_warn("%s: opened read-only: SQLite cannot write it or its -wal and -shm files (%s)",
             s->path, s->ro_reason);
    return CKR_OK;
}

CK_RV store_open_ex(const char *path, const struct lock_ops *locks, bool force_read_only,
                    struct store **out)
{
    struct store *s = NULL;
    CK_RV rv;

    *out = NULL;
    if (path == NULL || *path == '\0') {
        log_error("no store path");
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    if ((s = calloc(1, sizeof *s)) == NULL || (s->path = strdup(path)) == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if ((rv = mutex_new(locks, &s->lock)) != CKR_OK)
        goto out;
    if ((rv = store_file_check(path)) != CKR_OK)
        goto out;
    if (force_read_only || access(path, W_OK) != 0) {
        if ((rv = store_open_db(s, true)) == CKR_OK)
            log_info("%s: opened read-only (%s)", path,
                     force_read_only ? "as asked" : "the file is not writable");
    } else {
        rv = store_open_rw(s);
    }
    if (rv != CKR_OK && rv != CKR_HOST_MEMORY && rv != CKR_CANT_LOCK)
        rv = CKR_DEVICE_ERROR;
    if (rv != CKR_OK)
        goto out;
    *out = s;
    s = NULL; /* transferred */
out:
    store_close(s);
    return rv;
}

CK_RV store_open(const char *path, const struct lock_ops *locks, struct store **out)
{
    return store_open_ex(path, locks, false, out);
}

void store_close(struct store *s)
{
    int rc;

    if (s == NULL)
        return;
    /* sqlite3_close, not _v2: every statement is finalized by the function that made it. */
    if (s->db != NULL && (rc = sqlite3_close(s->db)) != SQLITE_OK)
        log_error("%s: closing: %s", s->path, sqlite3_errstr(rc));
    if (s->lock != NULL)
        mutex_free(s->lock);
    free(s->path);
    free(s);
}

/* Fixed at open, so no lock is needed to read it. */
bool store_read_only(const struct store *s)
{
    return s->read_only;
}

const char *store_path(const struct store *s)
{
    return s->path;
}

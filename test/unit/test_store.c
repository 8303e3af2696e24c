/* Unit tests of store/: a real SQLite file in a fresh temporary directory per test, no TPM. */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/store_internal.h"
#include "unit/store_fixture.h"





static unsigned newest(void)
{
    return store_migrations[store_migration_count - 1].version;
}

/* ---- a second connection, to look at the file without the store's code */


static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);

    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}


/* The first column of the first row, as text; malloc'ed. */


static void assert_file_unchanged(const char *path, const uint8_t *before, size_t before_len)
{
    size_t len;
    uint8_t *now = read_all(path, &len);

    assert_int_equal(len, before_len);
    assert_memory_equal(now, before, len);
    free(now);
}

/* ---- stderr capture, to check that refusals name the file */

struct capture {
    int saved;
    FILE *tmp;
};

static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    c->tmp = tmpfile();
    assert_true(c->saved >= 0);
    assert_non_null(c->tmp);
    assert_true(dup2(fileno(c->tmp), STDERR_FILENO) >= 0);
}

/* Restores stderr, echoes what was written there and returns it (malloc'ed). */
static char *capture_end(struct capture *c)
{
    char *text;
    long n;

    fflush(stderr);
    assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
    close(c->saved);
    n = ftell(c->tmp);
    assert_true(n >= 0);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(c->tmp);
    assert_int_equal(fread(text, 1, (size_t)n, c->tmp), (size_t)n);
    fclose(c->tmp);
    fputs(text, stderr);
    return text;
}

/* store_open must fail with CKR_DEVICE_ERROR and log a line with the path and why. */
static void assert_open_refused(const char *path, const char *why)
{
    struct store *s = (struct store *)&s;
    struct capture c;
    char *log;

    capture_begin(&c);
    assert_int_equal(store_open(path, &os_locks, &s), CKR_DEVICE_ERROR);
    log = capture_end(&c);
    assert_null(s);
    assert_non_null(strstr(log, path));
    assert_non_null(strstr(log, why));
    free(log);
}

/* ---- tokens with every field set from a tag, so each one differs */


static void replace_seal(struct store_seal *seal, uint8_t tag)
{
    free(seal->pub);
    free(seal->priv);
    make_seal(seal, tag, 60 + tag % 7, 90 + tag % 5);
}


static void assert_seal_equal(const struct store_seal *a, const struct store_seal *b)
{
    assert_int_equal(a->pub_len, b->pub_len);
    assert_memory_equal(a->pub, b->pub, a->pub_len);
    assert_int_equal(a->priv_len, b->priv_len);
    assert_memory_equal(a->priv, b->priv, a->priv_len);
    assert_memory_equal(a->salt, b->salt, sizeof a->salt);
    assert_int_equal(a->iterations, b->iterations);
}

static void assert_token_equal(const struct store_token *a, const struct store_token *b)
{
    assert_int_equal(a->id, b->id);
    assert_memory_equal(a->label, b->label, sizeof a->label);
    assert_string_equal(a->serial, b->serial);
    assert_memory_equal(a->seed, b->seed, sizeof a->seed);
    assert_int_equal(a->primary_name_len, b->primary_name_len);
    assert_memory_equal(a->primary_name, b->primary_name, a->primary_name_len);
    assert_seal_equal(&a->so, &b->so);
    assert_int_equal(a->has_user, b->has_user);
    if (a->has_user)
        assert_seal_equal(&a->user, &b->user);
    assert_int_equal(a->generation, b->generation);
}

static void assert_stored(struct store *s, const struct store_token *want)
{
    struct store_token got;
    bool found;

    assert_int_equal(store_token_get(s, want->id, &got, &found), CKR_OK);
    assert_true(found);
    assert_token_equal(&got, want);
    store_token_clear(&got);
}

static void create_ok(struct store *s, struct store_token *t)
{
    uint64_t id;

    assert_int_equal(store_token_next_id(s, &id), CKR_OK);
    assert_int_equal(id, t->id);
    assert_int_equal(store_token_create(s, t), CKR_OK);
    assert_int_equal(t->generation, 1);
}

static void add_objects(const char *path, uint64_t token_id, int n)
{
    char sql[160];

    for (int i = 0; i < n; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO objects (token_id, class, private, attrs)"
                 " VALUES (%llu, 3, 1, x'00')", (unsigned long long)token_id);
        raw_exec(path, sql);
    }
}

/* ---- opening, creating, migrating, refusing */

static void test_migrations_are_numbered_from_one(void **state)
{
    assert_true(store_migration_count >= 1);
    for (unsigned i = 0; i < store_migration_count; i++) {
        assert_int_equal(store_migrations[i].version, i + 1);
        assert_non_null(store_migrations[i].name);
        assert_non_null(store_migrations[i].sql);
    }
}

static void test_open_creates_private_directory_and_file(void **state)
{
    struct fixture *f = *state;
    char nested[512], sub[512];
    struct store *s;
    struct stat st;
    mode_t old = umask(0);   /* so a mode can only come from the store's own code */
    char *mode;

    snprintf(nested, sizeof nested, "%s/a/b/tpmtok.sqlite3", f->dir);
    s = open_ok(nested);
    umask(old);
    assert_false(store_read_only(s));
    assert_string_equal(store_path(s), nested);
    snprintf(sub, sizeof sub, "%s/a", f->dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(sub, sizeof sub, "%s/a/b", f->dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(lstat(nested, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_uid, geteuid());
    assert_int_equal(raw_int(nested, "SELECT version FROM schema_version"), newest());
    assert_int_equal(raw_int(nested, "SELECT count(*) FROM schema_version"), 1);
    assert_int_equal(raw_int(nested, "SELECT count(*) FROM tokens"), 0);
    mode = raw_text(nested, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    store_close(s);
    store_close(NULL);
}

static void test_reopen_keeps_tokens(void **state)
{
    struct fixture *f = *state;
    struct store_token t;
    struct store *s = open_ok(f->path);

    make_token(&t, 1, 7);
    create_ok(s, &t);
    store_close(s);
    s = open_ok(f->path);
    assert_stored(s, &t);
    assert_int_equal(raw_int(f->path, "SELECT version FROM schema_version"), newest());
    store_close(s);
    store_token_clear(&t);
}

static void test_newer_schema_is_refused_unchanged(void **state)
{
    struct fixture *f = *state;
    uint8_t *before;
    size_t len;

    store_close(open_ok(f->path));
    raw_exec(f->path, "UPDATE schema_version SET version = 999");
    before = read_all(f->path, &len);
    assert_open_refused(f->path, "made by a newer tpmtok");
    assert_file_unchanged(f->path, before, len);
    assert_int_equal(raw_int(f->path, "SELECT version FROM schema_version"), 999);
    free(before);
}

static void test_other_sqlite_database_is_refused_unchanged(void **state)
{
    struct fixture *f = *state;
    uint8_t *before;
    size_t len;
    char *mode;

    snprintf(f->path, sizeof f->path, "%s/notes.sqlite3", f->dir);
    raw_exec(f->path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello');");
    before = read_all(f->path, &len);
    assert_open_refused(f->path, "not a tpmtok store");
    assert_file_unchanged(f->path, before, len);
    /* Not even switched to WAL. */
    mode = raw_text(f->path, "PRAGMA journal_mode");
    assert_string_equal(mode, "delete");
    free(mode);
    free(before);
}

static void test_garbage_file_is_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t *before;
    size_t len;
    FILE *fp;

    snprintf(f->path, sizeof f->path, "%s/garbage", f->dir);
    assert_non_null(fp = fopen(f->path, "wb"));
    for (int i = 0; i < 256; i++)
        fputs("this is not an SQLite database\n", fp);
    fclose(fp);
    chmod(f->path, 0600);
    before = read_all(f->path, &len);
    assert_open_refused(f->path, "not a database");
    assert_file_unchanged(f->path, before, len);
    free(before);
}

static void test_file_of_another_user_is_refused(void **state)
{
    struct fixture *f = *state;

    if (geteuid() != 0) {
        print_message("skipped: only root can give a file to another user\n");
        skip();
    }
    store_close(open_ok(f->path));
    assert_int_equal(chown(f->path, 65534, 65534), 0);
    assert_open_refused(f->path, "owned by uid 65534");
}

static void test_directory_or_symlink_is_refused(void **state)
{
    struct fixture *f = *state;
    char link[512];

    store_close(open_ok(f->path));
    snprintf(link, sizeof link, "%s/link.sqlite3", f->dir);
    assert_int_equal(symlink(f->path, link), 0);
    assert_open_refused(link, "not a regular file");
    assert_open_refused(f->dir, "not a regular file");
}

/* ---- read-only */

static void test_read_only_store_reads_and_refuses_changes(void **state)
{
    struct fixture *f = *state;
    struct store_token t, t2, *list;
    struct store_seal seal;
    struct store *s = open_ok(f->path);
    uint64_t id, gen = 1;
    uint8_t *before;
    size_t n, len;

    make_token(&t, 1, 3);
    create_ok(s, &t);
    store_close(s);
    add_objects(f->path, 1, 2);
    before = read_all(f->path, &len);

    assert_int_equal(store_open_ex(f->path, &os_locks, true, &s), CKR_OK);
    assert_true(store_read_only(s));
    assert_int_equal(store_token_list(s, &list, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_token_equal(&list[0], &t);
    store_token_list_free(list, n);
    assert_int_equal(store_token_next_id(s, &id), CKR_OK);
    assert_int_equal(id, 2);

    make_token(&t2, 2, 4);
    assert_int_equal(store_token_create(s, &t2), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(t2.generation, 0);
    assert_int_equal(store_token_reinit(s, &t), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(t.generation, 1);
    make_seal(&seal, 9, 10, 10);
    assert_int_equal(store_token_set_seal(s, 1, false, &seal, &gen), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(gen, 1);
    store_close(s);

    assert_file_unchanged(f->path, before, len);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM objects"), 2);
    assert_int_equal(raw_int(f->path, "SELECT generation FROM tokens WHERE id = 1"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens WHERE user_pub IS NULL"), 1);
    free(before);
    free(seal.pub);
    free(seal.priv);
    store_token_clear(&t);
    store_token_clear(&t2);
}

static void test_read_only_store_without_schema_is_refused(void **state)
{
    struct fixture *f = *state;
    struct store *s = (struct store *)&s;

    assert_int_equal(store_open_ex(f->path, &os_locks, true, &s), CKR_DEVICE_ERROR);
    assert_null(s);
}

/* ---- token rows */

static void test_token_round_trip(void **state)
{
    struct fixture *f = *state;
    struct store_token a, b, got, *list;
    struct store_seal user, so;
    struct store *s = open_ok(f->path);
    uint64_t id, gen;
    bool found = true;
    size_t n;

    assert_int_equal(store_token_list(s, &list, &n), CKR_OK);
    assert_int_equal(n, 0);
    store_token_list_free(list, n);
    assert_int_equal(store_token_next_id(s, &id), CKR_OK);
    assert_int_equal(id, 1);

    make_token(&a, 1, 1);
    create_ok(s, &a);
    assert_stored(s, &a);
    assert_int_equal(store_token_get(s, 2, &got, &found), CKR_OK);
    assert_false(found);
    assert_int_equal(store_token_get(s, UINT64_MAX, &got, &found), CKR_OK);
    assert_false(found);

    /* The edges: the longest primary name, and a user seal from the start. */
    make_token(&b, 2, 2);
    b.primary_name_len = sizeof b.primary_name;
    memset(b.primary_name, 0xee, sizeof b.primary_name);
    b.has_user = true;
    make_seal(&b.user, 0x42, 5, 7);
    create_ok(s, &b);

    assert_int_equal(store_token_list(s, &list, &n), CKR_OK);
    assert_int_equal(n, 2);
    assert_token_equal(&list[0], &a);
    assert_token_equal(&list[1], &b);
    store_token_list_free(list, n);

    /* The user seal, absent, then set; then the SO seal replaced. */
    make_seal(&user, 0x77, 33, 44);
    gen = a.generation;
    assert_int_equal(store_token_set_seal(s, 1, false, &user, &gen), CKR_OK);
    assert_int_equal(gen, 2);
    a.has_user = true;
    a.user = user;           /* a owns it now */
    a.generation = gen;
    assert_stored(s, &a);
    make_seal(&so, 0x88, 12, 13);
    assert_int_equal(store_token_set_seal(s, 1, true, &so, &gen), CKR_OK);
    assert_int_equal(gen, 3);
    free(a.so.pub);
    free(a.so.priv);
    a.so = so;
    a.generation = gen;
    assert_stored(s, &a);
    assert_stored(s, &b);    /* the other row untouched */

    store_close(s);
    store_token_clear(&a);
    store_token_clear(&b);
    store_token_clear(NULL);
    store_token_list_free(NULL, 0);
}

static void test_token_ids_are_never_reused(void **state)
{
    struct fixture *f = *state;
    struct store_token t[4], late;
    struct store *s = open_ok(f->path);
    uint64_t id;

    for (int i = 0; i < 3; i++) {
        make_token(&t[i], (uint64_t)i + 1, (uint8_t)(i + 1));
        create_ok(s, &t[i]);
    }
    raw_exec(f->path, "DELETE FROM tokens WHERE id = 3");
    assert_int_equal(store_token_next_id(s, &id), CKR_OK);
    assert_int_equal(id, 4);
    make_token(&late, 3, 30);
    assert_int_equal(store_token_create(s, &late), CKR_FUNCTION_FAILED);
    make_token(&t[3], 4, 4);
    create_ok(s, &t[3]);

    raw_exec(f->path, "DELETE FROM tokens");
    assert_int_equal(store_token_next_id(s, &id), CKR_OK);
    assert_int_equal(id, 5);
    store_close(s);
    for (int i = 0; i < 4; i++)
        store_token_clear(&t[i]);
    store_token_clear(&late);
}

static void test_create_on_a_taken_id_or_serial_fails(void **state)
{
    struct fixture *f = *state;
    struct store_token first, again, twin;
    struct store *s = open_ok(f->path);

    make_token(&first, 1, 1);
    create_ok(s, &first);
    make_token(&again, 1, 2);
    assert_int_equal(store_token_create(s, &again), CKR_FUNCTION_FAILED);
    make_token(&twin, 2, 1);           /* same serial as first */
    assert_int_equal(store_token_create(s, &twin), CKR_FUNCTION_FAILED);
    assert_stored(s, &first);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens"), 1);
    store_close(s);
    store_token_clear(&first);
    store_token_clear(&again);
    store_token_clear(&twin);
}

static void test_reinit_replaces_row_and_deletes_only_its_objects(void **state)
{
    struct fixture *f = *state;
    struct store_token a, b, cur;
    struct store *s = open_ok(f->path);
    uint64_t count;
    bool found;

    make_token(&a, 1, 1);
    a.has_user = true;
    make_seal(&a.user, 0x11, 20, 30);
    create_ok(s, &a);
    make_token(&b, 2, 2);
    create_ok(s, &b);
    add_objects(f->path, 1, 3);
    add_objects(f->path, 2, 2);
    assert_int_equal(store_object_count(s, 1, &count), CKR_OK);
    assert_int_equal(count, 3);

    assert_int_equal(store_token_get(s, 1, &cur, &found), CKR_OK);
    assert_true(found);
    memset(cur.label, 'N', sizeof cur.label);
    memset(cur.seed, 0x99, sizeof cur.seed);
    cur.primary_name_len = 10;
    memset(cur.primary_name, 0x98, 10);
    replace_seal(&cur.so, 0x97);
    assert_int_equal(store_token_reinit(s, &cur), CKR_OK);
    assert_int_equal(cur.generation, 2);
    assert_false(cur.has_user);
    assert_null(cur.user.pub);
    assert_string_equal(cur.serial, a.serial);
    assert_stored(s, &cur);

    assert_int_equal(store_object_count(s, 1, &count), CKR_OK);
    assert_int_equal(count, 0);
    assert_int_equal(store_object_count(s, 2, &count), CKR_OK);
    assert_int_equal(count, 2);
    assert_stored(s, &b);
    store_close(s);
    store_token_clear(&a);
    store_token_clear(&b);
    store_token_clear(&cur);
}

static void test_stale_generation_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct store_token t, stale;
    struct store_seal user, other;
    struct store *s = open_ok(f->path);
    uint64_t gen, old = 1, count;
    bool found;

    make_token(&t, 1, 1);
    create_ok(s, &t);
    add_objects(f->path, 1, 2);
    assert_int_equal(store_token_get(s, 1, &stale, &found), CKR_OK);

    /* Another writer moves the row to generation 2. */
    make_seal(&user, 0x21, 8, 9);
    gen = 1;
    assert_int_equal(store_token_set_seal(s, 1, false, &user, &gen), CKR_OK);
    assert_int_equal(gen, 2);
    t.has_user = true;
    t.user = user;
    t.generation = 2;

    make_seal(&other, 0x55, 8, 9);
    assert_int_equal(store_token_set_seal(s, 1, true, &other, &old), CKR_FUNCTION_FAILED);
    assert_int_equal(old, 1);
    assert_int_equal(store_token_set_seal(s, 1, false, &other, &old), CKR_FUNCTION_FAILED);
    memset(stale.label, 'X', sizeof stale.label);
    assert_int_equal(store_token_reinit(s, &stale), CKR_FUNCTION_FAILED);
    assert_int_equal(stale.generation, 1);
    gen = 1;
    assert_int_equal(store_token_set_seal(s, 99, true, &other, &gen), CKR_FUNCTION_FAILED);

    assert_stored(s, &t);
    assert_int_equal(store_object_count(s, 1, &count), CKR_OK);
    assert_int_equal(count, 2);
    store_close(s);
    free(other.pub);
    free(other.priv);
    store_token_clear(&t);
    store_token_clear(&stale);
}

static void test_two_handles_see_each_others_tokens(void **state)
{
    struct fixture *f = *state;
    struct store *a = open_ok(f->path), *b = open_ok(f->path);
    struct store_token t1, t2, late, *list;
    uint64_t id;
    size_t n;

    make_token(&t1, 1, 1);
    create_ok(a, &t1);
    assert_int_equal(store_token_list(b, &list, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_token_equal(&list[0], &t1);
    store_token_list_free(list, n);
    assert_int_equal(store_token_next_id(b, &id), CKR_OK);
    assert_int_equal(id, 2);
    make_token(&t2, 2, 2);
    assert_int_equal(store_token_create(b, &t2), CKR_OK);
    assert_stored(a, &t2);
    make_token(&late, 2, 3);   /* a's idea of the next id is stale */
    assert_int_equal(store_token_create(a, &late), CKR_FUNCTION_FAILED);
    store_close(a);
    store_close(b);
    store_token_clear(&t1);
    store_token_clear(&t2);
    store_token_clear(&late);
}

/* ---- processes */

/* Child side: opens the store and adds n tokens, retrying lost races. Exit status 0 on success. */
static void child_create_tokens(const char *path, int start_fd, int n)
{
    struct store_token t;
    struct store *s = NULL;
    char go;
    uint64_t id;
    CK_RV rv;

    if (read(start_fd, &go, 1) < 0)
        _exit(10);
    if (store_open(path, &os_locks, &s) != CKR_OK)
        _exit(11);
    for (int i = 0; i < n; i++) {
        for (int tries = 0;; tries++) {
            if (tries == 1000 || store_token_next_id(s, &id) != CKR_OK)
                _exit(12);
            make_token(&t, id, (uint8_t)i);
            rv = store_token_create(s, &t);
            store_token_clear(&t);
            if (rv == CKR_OK)
                break;
            if (rv != CKR_FUNCTION_FAILED)
                _exit(13);
        }
    }
    store_close(s);
    _exit(0);
}

/* Forks nchildren that each add per_child tokens to a store none has opened yet, all at once. */
static void run_children(const char *path, int nchildren, int per_child)
{
    pid_t pids[8];
    int start[2], status;

    assert_true(nchildren <= 8);
    assert_int_equal(pipe(start), 0);
    fflush(NULL);
    for (int i = 0; i < nchildren; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(start[1]);
            child_create_tokens(path, start[0], per_child);
        }
    }
    close(start[0]);
    close(start[1]);   /* every child's read returns now */
    for (int i = 0; i < nchildren; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void test_processes_create_tokens_concurrently(void **state)
{
    struct fixture *f = *state;
    struct store_token *list;
    struct store *s;
    char *check;
    size_t n;

    run_children(f->path, 2, 25);
    s = open_ok(f->path);
    assert_int_equal(store_token_list(s, &list, &n), CKR_OK);
    assert_int_equal(n, 50);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(list[i].id, i + 1);
    store_token_list_free(list, n);
    store_close(s);
    check = raw_text(f->path, "PRAGMA integrity_check");
    assert_string_equal(check, "ok");
    free(check);
}

static void test_processes_open_a_fresh_store_at_once(void **state)
{
    struct fixture *f = *state;

    for (int round = 0; round < 5; round++) {
        snprintf(f->path, sizeof f->path, "%s/round%d/tpmtok.sqlite3", f->dir, round);
        run_children(f->path, 6, 1);
        assert_int_equal(raw_int(f->path, "SELECT version FROM schema_version"), newest());
        assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tokens"), 6);
    }
}

/* ---- the rest */

static void test_sqlite_codes_map_to_ck_rv(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_ok(f->path);
    struct capture c;
    char *log;

    capture_begin(&c);
    assert_int_equal(store_rc_to_rv(s, SQLITE_READONLY, "t"), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(store_rc_to_rv(s, SQLITE_READONLY_DBMOVED, "t"), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(store_rc_to_rv(s, SQLITE_FULL, "t"), CKR_DEVICE_MEMORY);
    assert_int_equal(store_rc_to_rv(s, SQLITE_NOMEM, "t"), CKR_HOST_MEMORY);
    assert_int_equal(store_rc_to_rv(s, SQLITE_CONSTRAINT_UNIQUE, "t"), CKR_FUNCTION_FAILED);
    assert_int_equal(store_rc_to_rv(s, SQLITE_BUSY, "t"), CKR_DEVICE_ERROR);
    assert_int_equal(store_rc_to_rv(s, SQLITE_CORRUPT, "t"), CKR_DEVICE_ERROR);
    assert_int_equal(store_rc_to_rv(s, SQLITE_NOTADB, "t"), CKR_DEVICE_ERROR);
    assert_int_equal(store_rc_to_rv(s, SQLITE_IOERR_WRITE, "t"), CKR_DEVICE_ERROR);
    assert_int_equal(store_rc_to_rv(s, SQLITE_CANTOPEN, "a thing we did"), CKR_DEVICE_ERROR);
    log = capture_end(&c);
    assert_non_null(strstr(log, f->path));
    assert_non_null(strstr(log, "a thing we did"));
    free(log);
    store_close(s);
}

static void set_or_unset(const char *name, const char *value)
{
    if (value != NULL)
        assert_int_equal(setenv(name, value, 1), 0);
    else
        assert_int_equal(unsetenv(name), 0);
}

static void assert_default_path(const char *store, const char *xdg, const char *home,
                                const char *want)
{
    char *path = NULL;

    set_or_unset("TPMTOK_STORE", store);
    set_or_unset("XDG_DATA_HOME", xdg);
    set_or_unset("HOME", home);
    assert_int_equal(store_default_path(&path), CKR_OK);
    assert_string_equal(path, want);
    free(path);
}

static void test_default_path_follows_environment(void **state)
{
    const char *names[] = { "TPMTOK_STORE", "XDG_DATA_HOME", "HOME" };
    char *saved[3], want[PATH_MAX];
    struct passwd *pw = getpwuid(geteuid());

    for (int i = 0; i < 3; i++)
        saved[i] = getenv(names[i]) != NULL ? strdup(getenv(names[i])) : NULL;
    assert_default_path("/srv/t.db", "/xdg", "/home/u", "/srv/t.db");
    assert_default_path(NULL, "/xdg", "/home/u", "/xdg/tpmtok/tpmtok.sqlite3");
    assert_default_path("", "/xdg", "/home/u", "/xdg/tpmtok/tpmtok.sqlite3");
    assert_default_path(NULL, "relative", "/home/u", "/home/u/.local/share/tpmtok/tpmtok.sqlite3");
    assert_default_path(NULL, "", "/home/u", "/home/u/.local/share/tpmtok/tpmtok.sqlite3");
    assert_default_path(NULL, NULL, "/home/u", "/home/u/.local/share/tpmtok/tpmtok.sqlite3");
    assert_non_null(pw);
    snprintf(want, sizeof want, "%s/.local/share/tpmtok/tpmtok.sqlite3", pw->pw_dir);
    assert_default_path(NULL, NULL, NULL, want);
    for (int i = 0; i < 3; i++) {
        set_or_unset(names[i], saved[i]);
        free(saved[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_are_numbered_from_one),
        cmocka_unit_test_setup_teardown(test_open_creates_private_directory_and_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_sqlite_database_is_refused_unchanged,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_of_another_user_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_or_symlink_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_store_reads_and_refuses_changes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_store_without_schema_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_ids_are_never_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_on_a_taken_id_or_serial_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinit_replaces_row_and_deletes_only_its_objects,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_generation_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_see_each_others_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes_create_tokens_concurrently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes_open_a_fresh_store_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_codes_map_to_ck_rv, setup, teardown),
        cmocka_unit_test(test_default_path_follows_environment),
    };

    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}

/*
 * Fixtures the store unit tests share: a fresh temporary directory per test, a store opened
 * in it, and a second SQLite connection to look at the file without the store's own code.
 * Included by one test program each, so its helpers are static.
 */
#ifndef TPMTOK_TEST_STORE_FIXTURE_H
#define TPMTOK_TEST_STORE_FIXTURE_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "store/store_internal.h"

/* Zeroed: OS locks. */
static const struct lock_ops os_locks;

struct fixture {
    char dir[256];         /* mkdtemp'ed, removed by teardown */
    char path[512];        /* dir/store/tpmtok.sqlite3: its directory does not exist yet */
};

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");

    if (f == NULL)
        return -1;
    if (tmp == NULL || strlen(tmp) > 200)
        tmp = "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/tpmtok-unit-XXXXXX", tmp);
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/store/tpmtok.sqlite3", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct store *open_ok(const char *path)
{
    struct store *s = NULL;

    assert_int_equal(store_open(path, &os_locks, &s), CKR_OK);
    assert_non_null(s);
    return s;
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static sqlite3_int64 raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    sqlite3_int64 v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *data;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return data;
}

static void make_seal(struct store_seal *seal, uint8_t tag, size_t pub_len, size_t priv_len)
{
    seal->pub = malloc(pub_len);
    seal->priv = malloc(priv_len);
    assert_non_null(seal->pub);
    assert_non_null(seal->priv);
    memset(seal->pub, tag, pub_len);
    memset(seal->priv, tag ^ 0x5a, priv_len);
    seal->pub_len = pub_len;
    seal->priv_len = priv_len;
    memset(seal->salt, tag ^ 0xa5, sizeof seal->salt);
    seal->iterations = 100000u + tag;
}

static void make_token(struct store_token *t, uint64_t id, uint8_t tag)
{
    char label[33];

    memset(t, 0, sizeof *t);
    t->id = id;
    snprintf(label, sizeof label, "token %-26u", (unsigned)tag);
    memcpy(t->label, label, sizeof t->label);
    snprintf(t->serial, sizeof t->serial, "%08x%08x", (unsigned)getpid(), (unsigned)tag);
    memset(t->seed, tag, sizeof t->seed);
    t->primary_name_len = 34;
    memset(t->primary_name, tag ^ 0x33, t->primary_name_len);
    make_seal(&t->so, tag, 100 + tag, 200 + tag);
}

static char *raw_text(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    const unsigned char *p;
    char *v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    p = sqlite3_column_text(st, 0);
    v = strdup(p != NULL ? (const char *)p : "");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_non_null(v);
    return v;
}

#endif

/* Unit tests of store/'s object rows, on a real SQLite file in a fresh temporary directory. */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "store/store_internal.h"
#include "unit/store_fixture.h"
#include "util/log.h"





/* ---- a second connection, to look at the file without the store's code */



/* The first column of the first row, as text (empty for NULL); malloc'ed. */

static void assert_raw_text(const char *path, const char *sql, const char *want)
{
    char *got = raw_text(path, sql);

    assert_string_equal(got, want);
    free(got);
}


/* ---- tokens to hang objects on */



/* Creates tokens 1..n. */
static void create_tokens(struct store *s, int n)
{
    struct store_token t;

    for (int i = 1; i <= n; i++) {
        make_token(&t, (uint64_t)i, (uint8_t)i);
        assert_int_equal(store_token_create(s, &t), CKR_OK);
        store_token_clear(&t);
    }
}

/* A store at f->path with tokens 1..n. */
static struct store *open_with_tokens(struct fixture *f, int n)
{
    struct store *s = open_ok(f->path);

    create_tokens(s, n);
    return s;
}

/* ---- objects */

static uint8_t *filled(size_t n, uint8_t v)
{
    uint8_t *p = malloc(n > 0 ? n : 1);

    assert_non_null(p);
    memset(p, v, n);
    return p;
}

static uint8_t *dup_str(const char *str, size_t *len)
{
    *len = strlen(str);
    return (uint8_t *)strndup(str, *len);
}

/* A private EC key with every field set, each from tag so objects differ. */
static void make_key(struct store_object *o, uint64_t token_id, uint8_t tag)
{
    char label[32];

    memset(o, 0, sizeof *o);
    o->token_id = token_id;
    o->class = CKO_PRIVATE_KEY;
    o->has_key_type = true;
    o->key_type = CKK_EC;
    o->private = true;
    o->has_cka_id = true;
    o->cka_id_len = 8;
    o->cka_id = filled(o->cka_id_len, tag);
    o->has_label = true;
    snprintf(label, sizeof label, "key %u", (unsigned)tag);
    o->label = dup_str(label, &o->label_len);
    o->attrs_len = 40u + tag % 7;
    o->attrs = filled(o->attrs_len, tag ^ 0x11);
    o->tpm_pub_len = 90;
    o->tpm_pub = filled(o->tpm_pub_len, tag ^ 0x22);
    o->tpm_priv_len = 126;
    o->tpm_priv = filled(o->tpm_priv_len, tag ^ 0x33);
    o->auth_wrap_len = 60;
    o->auth_wrap = filled(o->auth_wrap_len, tag ^ 0x44);
}

/* A public data object: no key type, no TPM blobs, no CKA_ID nor label. */
static void make_data(struct store_object *o, uint64_t token_id, uint8_t tag)
{
    memset(o, 0, sizeof *o);
    o->token_id = token_id;
    o->class = CKO_DATA;
    o->attrs_len = 17;
    o->attrs = filled(o->attrs_len, tag);
}

static void assert_bytes_equal(bool has_a, const uint8_t *a, size_t a_len,
                               bool has_b, const uint8_t *b, size_t b_len)
{
    assert_int_equal(has_a, has_b);
    assert_int_equal(a_len, b_len);
    if (a_len > 0)
        assert_memory_equal(a, b, a_len);
}

static void assert_object_equal(const struct store_object *a, const struct store_object *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->token_id, b->token_id);
    assert_int_equal(a->class, b->class);
    assert_int_equal(a->has_key_type, b->has_key_type);
    if (a->has_key_type)
        assert_int_equal(a->key_type, b->key_type);
    assert_int_equal(a->private, b->private);
    assert_bytes_equal(a->has_cka_id, a->cka_id, a->cka_id_len,
                       b->has_cka_id, b->cka_id, b->cka_id_len);
    assert_bytes_equal(a->has_label, a->label, a->label_len, b->has_label, b->label, b->label_len);
    assert_bytes_equal(true, a->attrs, a->attrs_len, true, b->attrs, b->attrs_len);
    /* The TPM blobs are absent exactly when their pointer is NULL. */
    assert_bytes_equal(a->tpm_pub != NULL, a->tpm_pub, a->tpm_pub_len,
                       b->tpm_pub != NULL, b->tpm_pub, b->tpm_pub_len);
    assert_bytes_equal(a->tpm_priv != NULL, a->tpm_priv, a->tpm_priv_len,
                       b->tpm_priv != NULL, b->tpm_priv, b->tpm_priv_len);
    assert_bytes_equal(a->auth_wrap != NULL, a->auth_wrap, a->auth_wrap_len,
                       b->auth_wrap != NULL, b->auth_wrap, b->auth_wrap_len);
}

static void insert_ok(struct store *s, struct store_object *o)
{
    o->id = 0;
    assert_int_equal(store_object_insert(s, o), CKR_OK);
    assert_true(o->id > 0);
}

static void assert_object_stored(struct store *s, const struct store_object *want)
{
    struct store_object got;
    bool found = false;

    assert_int_equal(store_object_get(s, want->id, &got, &found), CKR_OK);
    assert_true(found);
    assert_object_equal(&got, want);
    store_object_clear(&got);
}

static void assert_object_gone(struct store *s, uint64_t id)
{
    struct store_object got;
    bool found = true;

    assert_int_equal(store_object_get(s, id, &got, &found), CKR_OK);
    assert_false(found);
    assert_null(got.attrs);
}

static uint64_t count_objects(struct store *s, uint64_t token_id)
{
    uint64_t n = 0;

    assert_int_equal(store_object_count(s, token_id, &n), CKR_OK);
    return n;
}

/* ---- round trips */

static void test_key_round_trips_every_field(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object o;

    make_key(&o, 1, 7);
    insert_ok(s, &o);
    assert_object_stored(s, &o);
    store_close(s);

    /* And from a fresh connection, so nothing came from a cache. */
    s = open_ok(f->path);
    assert_object_stored(s, &o);
    store_close(s);
    store_object_clear(&o);
    store_object_clear(NULL);
}

static void test_object_without_key_type_or_tpm_blobs_round_trips(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object o, got;
    bool found;

    make_data(&o, 1, 3);
    insert_ok(s, &o);
    assert_int_equal(store_object_get(s, o.id, &got, &found), CKR_OK);
    assert_true(found);
    assert_object_equal(&got, &o);
    assert_false(got.has_key_type);
    assert_false(got.has_cka_id);
    assert_null(got.cka_id);
    assert_false(got.has_label);
    assert_null(got.label);
    assert_null(got.tpm_pub);
    assert_null(got.tpm_priv);
    assert_null(got.auth_wrap);
    assert_false(got.private);
    store_object_clear(&got);
    assert_raw_text(f->path, "SELECT typeof(key_type) || typeof(cka_id) || typeof(label) ||"
                    " typeof(tpm_pub) || typeof(tpm_priv) || typeof(auth_wrap) ||"
                    " private FROM objects", "nullnullnullnullnullnull0");
    store_close(s);
    store_object_clear(&o);
}

static void test_private_flag_is_stored_as_zero_or_one(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object pub, priv;

    make_key(&pub, 1, 1);
    pub.private = false;
    make_key(&priv, 1, 2);
    insert_ok(s, &pub);
    insert_ok(s, &priv);
    assert_object_stored(s, &pub);
    assert_object_stored(s, &priv);
    assert_raw_text(f->path, "SELECT group_concat(private, ',') FROM"
                    " (SELECT private FROM objects ORDER BY id)", "0,1");
    store_close(s);
    store_object_clear(&pub);
    store_object_clear(&priv);
}

static void test_empty_id_and_label_are_empty_blobs_not_null(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object o, got;
    bool found;

    make_data(&o, 1, 5);
    o.has_cka_id = true;       /* zero bytes, no pointer */
    o.has_label = true;
    o.label = filled(0, 0);    /* zero bytes, a pointer */
    free(o.attrs);
    o.attrs = NULL;            /* an empty attribute set */
    o.attrs_len = 0;
    insert_ok(s, &o);
    assert_raw_text(f->path, "SELECT typeof(cka_id) || length(cka_id) || typeof(label) ||"
                    " length(label) || typeof(attrs) || length(attrs) FROM objects",
                    "blob0blob0blob0");

    assert_int_equal(store_object_get(s, o.id, &got, &found), CKR_OK);
    assert_true(found);
    assert_true(got.has_cka_id);
    assert_int_equal(got.cka_id_len, 0);
    assert_true(got.has_label);
    assert_int_equal(got.label_len, 0);
    assert_int_equal(got.attrs_len, 0);
    assert_object_equal(&got, &o);
    store_object_clear(&got);
    store_close(s);
    store_object_clear(&o);
}

static void test_get_of_a_missing_id_is_not_found(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);

    assert_object_gone(s, 1);
    assert_object_gone(s, UINT64_MAX);
    store_close(s);
}

static void test_ids_increase_and_are_never_reused(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 2);
    struct store_object o;
    uint64_t last = 0;
    bool found;

    make_data(&o, 1, 1);
    for (int i = 0; i < 5; i++) {
        o.token_id = 1 + (uint64_t)(i % 2);
        insert_ok(s, &o);
        assert_true(o.id > last);
        last = o.id;
    }
    assert_int_equal(store_object_delete(s, 1, last, &found), CKR_OK);
    assert_true(found);
    insert_ok(s, &o);
    assert_true(o.id > last);
    last = o.id;

    /* Even with every row gone. */
    for (uint64_t id = 1; id <= last; id++)
        for (uint64_t tok = 1; tok <= 2; tok++)
            assert_int_equal(store_object_delete(s, tok, id, &found), CKR_OK);
    assert_int_equal(count_objects(s, 1) + count_objects(s, 2), 0);
    insert_ok(s, &o);
    assert_int_equal(o.id, last + 1);
    store_close(s);
    store_object_clear(&o);
}

static void test_insert_into_a_missing_token_fails(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object o;

    make_key(&o, 2, 1);
    o.id = 77;
    assert_int_equal(store_object_insert(s, &o), CKR_FUNCTION_FAILED);
    assert_int_equal(o.id, 77);
    o.token_id = 0;
    assert_int_equal(store_object_insert(s, &o), CKR_FUNCTION_FAILED);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM objects"), 0);

    /* The failure left no transaction open: the next insert works. */
    o.token_id = 1;
    insert_ok(s, &o);
    assert_object_stored(s, &o);
    store_close(s);
    store_object_clear(&o);
}

static void test_length_without_bytes_is_refused(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object_query q = { .token_id = 1, .has_cka_id = true, .cka_id_len = 3 };
    struct store_object o;
    struct store_object_hit *ids = (struct store_object_hit *)&ids;
    size_t n = 9;
    bool found = true;

    make_data(&o, 1, 1);
    o.has_cka_id = true;
    o.cka_id_len = 4;
    assert_int_equal(store_object_insert(s, &o), CKR_ARGUMENTS_BAD);
    o.id = 1;
    assert_int_equal(store_object_update(s, &o, &found), CKR_ARGUMENTS_BAD);
    assert_false(found);
    o.cka_id_len = 0;
    o.tpm_pub_len = 5;
    assert_int_equal(store_object_insert(s, &o), CKR_ARGUMENTS_BAD);
    assert_int_equal(store_object_find(s, &q, &ids, &n), CKR_ARGUMENTS_BAD);
    assert_null(ids);
    assert_int_equal(n, 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM objects"), 0);
    store_close(s);
    store_object_clear(&o);
}

/* ---- update and delete */

static void test_update_replaces_columns_and_attrs_but_keeps_tpm_blobs(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object o, other, change;
    bool found = false;

    make_key(&o, 1, 1);
    insert_ok(s, &o);
    make_key(&other, 1, 2);
    insert_ok(s, &other);

    /* Every updatable field different, and TPM blobs that must be ignored. */
    make_key(&change, 1, 9);
    change.id = o.id;
    change.class = CKO_SECRET_KEY;
    change.key_type = CKK_AES;
    change.private = false;
    assert_int_equal(store_object_update(s, &change, &found), CKR_OK);
    assert_true(found);

    free(o.attrs);
    free(o.cka_id);
    free(o.label);
    o.class = change.class;
    o.key_type = change.key_type;
    o.private = false;
    o.cka_id = change.cka_id;          /* o owns these now */
    o.cka_id_len = change.cka_id_len;
    o.label = change.label;
    o.label_len = change.label_len;
    o.attrs = change.attrs;
    o.attrs_len = change.attrs_len;
    change.cka_id = change.label = change.attrs = NULL;
    assert_object_stored(s, &o);
    assert_object_stored(s, &other);

    /* From columns to NULL and back: key type, CKA_ID and label absent. */
    o.has_key_type = o.has_cka_id = o.has_label = false;
    assert_int_equal(store_object_update(s, &o, &found), CKR_OK);
    assert_true(found);
    assert_raw_text(f->path, "SELECT typeof(key_type) || typeof(cka_id) || typeof(label)"
                    " FROM objects WHERE id = 1", "nullnullnull");
    o.has_key_type = o.has_cka_id = o.has_label = true;
    assert_int_equal(store_object_update(s, &o, &found), CKR_OK);
    assert_object_stored(s, &o);
    store_close(s);
    store_object_clear(&o);
    store_object_clear(&other);
    store_object_clear(&change);
}

static void test_update_of_a_missing_row_is_not_found(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 2);
    struct store_object o, moved;
    bool found = true;

    make_key(&o, 1, 1);
    insert_ok(s, &o);
    make_key(&moved, 2, 5);
    moved.id = o.id + 1;
    assert_int_equal(store_object_update(s, &moved, &found), CKR_OK);
    assert_false(found);

    /* Another token's id is not found either, and its row stays. */
    moved.id = o.id;
    found = true;
    assert_int_equal(store_object_update(s, &moved, &found), CKR_OK);
    assert_false(found);
    assert_object_stored(s, &o);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM objects"), 1);
    store_close(s);
    store_object_clear(&o);
    store_object_clear(&moved);
}

static void test_delete_is_scoped_by_token(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 2);
    struct store_object a, b;
    bool found = true;

    make_key(&a, 1, 1);
    insert_ok(s, &a);
    make_key(&b, 2, 2);
    insert_ok(s, &b);

    assert_int_equal(store_object_delete(s, 2, a.id, &found), CKR_OK);
    assert_false(found);
    assert_object_stored(s, &a);
    assert_int_equal(store_object_delete(s, 1, a.id, &found), CKR_OK);
    assert_true(found);
    assert_object_gone(s, a.id);
    assert_object_stored(s, &b);

    /* Deleting it again finds nothing. */
    found = true;
    assert_int_equal(store_object_delete(s, 1, a.id, &found), CKR_OK);
    assert_false(found);
    assert_int_equal(count_objects(s, 1), 0);
    assert_int_equal(count_objects(s, 2), 1);
    store_close(s);
    store_object_clear(&a);
    store_object_clear(&b);
}

/* ---- find */

/*
 * The objects every find test searches, ids 1..7 in this order. Token 1 holds 1-6, token 2
 * holds 7, a twin of 2.
 */
struct find_row {
    uint64_t token;
    CK_OBJECT_CLASS class;
    CK_KEY_TYPE key_type;      /* ~0: none */
    bool private;
    const char *cka_id;        /* NULL: absent; "": zero-length */
    const char *label;
};

static const struct find_row find_rows[] = {
    { 1, CKO_PRIVATE_KEY, CKK_EC, true, "k1", "key one" },
    { 1, CKO_PUBLIC_KEY, CKK_EC, false, "k1", "key one" },
    { 1, CKO_PUBLIC_KEY, CKK_RSA, false, "k2", "key two" },
    { 1, CKO_DATA, ~(CK_KEY_TYPE)0, false, NULL, "data" },
    { 1, CKO_CERTIFICATE, ~(CK_KEY_TYPE)0, false, "", "" },
    { 1, CKO_SECRET_KEY, CKK_AES, true, "k2", NULL },
    { 2, CKO_PUBLIC_KEY, CKK_EC, false, "k1", "key one" },
};

static const size_t find_row_count = sizeof find_rows / sizeof find_rows[0];

static struct store *open_find_rows(struct fixture *f)
{
    struct store *s = open_with_tokens(f, 2);
    struct store_object o;

    for (size_t i = 0; i < find_row_count; i++) {
        const struct find_row *r = &find_rows[i];

        make_data(&o, r->token, (uint8_t)i);
        o.class = r->class;
        o.has_key_type = r->key_type != ~(CK_KEY_TYPE)0;
        o.key_type = o.has_key_type ? r->key_type : 0;
        o.private = r->private;
        if ((o.has_cka_id = r->cka_id != NULL))
            o.cka_id = dup_str(r->cka_id, &o.cka_id_len);
        if ((o.has_label = r->label != NULL))
            o.label = dup_str(r->label, &o.label_len);
        insert_ok(s, &o);
        assert_int_equal(o.id, i + 1);
        store_object_clear(&o);
    }
    return s;
}

/* A query of token 1, private objects included, with no criteria. */
static struct store_object_query query_all(void)
{
    struct store_object_query q = { .token_id = 1, .with_private = true };

    return q;
}

static void query_id(struct store_object_query *q, const char *id)
{
    q->has_cka_id = true;
    q->cka_id = (const uint8_t *)id;
    q->cka_id_len = strlen(id);
}

static void query_label(struct store_object_query *q, const char *label)
{
    q->has_label = true;
    q->label = (const uint8_t *)label;
    q->label_len = strlen(label);
}

/* Runs q and checks the ids are want[0..n-1], in that (ascending) order. */
static void assert_found(struct store *s, const struct store_object_query *q,
                         const uint64_t *want, size_t n)
{
    struct store_object_hit *ids = (struct store_object_hit *)&ids;
    size_t got = 99;

    assert_int_equal(store_object_find(s, q, &ids, &got), CKR_OK);
    assert_int_equal(got, n);
    if (n == 0)
        assert_null(ids);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i].id, want[i]);
    free(ids);
}

static void test_find_by_class_alone(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();

    q.has_class = true;
    q.class = CKO_PUBLIC_KEY;
    assert_found(s, &q, (const uint64_t[]){ 2, 3 }, 2);
    q.class = CKO_DATA;
    assert_found(s, &q, (const uint64_t[]){ 4 }, 1);
    q.class = CKO_HW_FEATURE;
    assert_found(s, &q, NULL, 0);
    store_close(s);
}

static void test_find_by_key_type_alone(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();

    q.has_key_type = true;
    q.key_type = CKK_EC;
    assert_found(s, &q, (const uint64_t[]){ 1, 2 }, 2);
    q.key_type = CKK_AES;
    assert_found(s, &q, (const uint64_t[]){ 6 }, 1);
    store_close(s);
}

static void test_find_by_id_alone(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();

    query_id(&q, "k2");
    assert_found(s, &q, (const uint64_t[]){ 3, 6 }, 2);
    query_id(&q, "k1");
    assert_found(s, &q, (const uint64_t[]){ 1, 2 }, 2);
    query_id(&q, "k");                 /* a prefix is not a match */
    assert_found(s, &q, NULL, 0);
    store_close(s);
}

static void test_find_by_label_alone(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();

    query_label(&q, "key one");
    assert_found(s, &q, (const uint64_t[]){ 1, 2 }, 2);
    query_label(&q, "data");
    assert_found(s, &q, (const uint64_t[]){ 4 }, 1);
    store_close(s);
}

static void test_find_by_combined_criteria(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();

    q.has_class = true;
    q.class = CKO_PUBLIC_KEY;
    query_id(&q, "k1");
    assert_found(s, &q, (const uint64_t[]){ 2 }, 1);
    q.has_key_type = true;
    q.key_type = CKK_EC;
    query_label(&q, "key one");
    assert_found(s, &q, (const uint64_t[]){ 2 }, 1);
    q.key_type = CKK_RSA;              /* one criterion off: nothing */
    assert_found(s, &q, NULL, 0);

    q = query_all();
    q.has_class = true;
    q.class = CKO_PRIVATE_KEY;
    query_label(&q, "key one");
    assert_found(s, &q, (const uint64_t[]){ 1 }, 1);
    q.with_private = false;
    assert_found(s, &q, NULL, 0);
    store_close(s);
}

static void test_find_without_private_hides_private_rows(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();

    struct store_object_hit *hits;
    size_t n;

    q.with_private = false;
    assert_found(s, &q, (const uint64_t[]){ 2, 3, 4, 5 }, 4);
    /* With private rows included, each hit says which ones are private. */
    q.with_private = true;
    assert_int_equal(store_object_find(s, &q, &hits, &n), CKR_OK);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hits[i].private, hits[i].id == 1 || hits[i].id == 6);
    free(hits);
    q.with_private = false;
    query_id(&q, "k2");
    assert_found(s, &q, (const uint64_t[]){ 3 }, 1);
    store_close(s);
}

static void test_find_empty_id_or_label_matches_only_empty_ones(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();

    q.has_cka_id = true;               /* zero bytes, no pointer */
    assert_found(s, &q, (const uint64_t[]){ 5 }, 1);
    q = query_all();
    query_label(&q, "");
    assert_found(s, &q, (const uint64_t[]){ 5 }, 1);
    store_close(s);
}

static void test_find_without_criteria_matches_all_of_the_token_ascending(void **state)
{
    struct store *s = open_find_rows(*state);
    struct store_object_query q = query_all();
    struct store_object o;
    bool found;

    assert_found(s, &q, (const uint64_t[]){ 1, 2, 3, 4, 5, 6 }, 6);
    q.token_id = 2;
    assert_found(s, &q, (const uint64_t[]){ 7 }, 1);
    q.token_id = 3;
    assert_found(s, &q, NULL, 0);

    /* Still ascending after deletes and inserts, and after an update of an early row. */
    assert_int_equal(store_object_delete(s, 1, 2, &found), CKR_OK);
    make_data(&o, 1, 1);
    insert_ok(s, &o);
    assert_int_equal(o.id, 8);
    o.id = 1;
    o.class = CKO_DATA;
    assert_int_equal(store_object_update(s, &o, &found), CKR_OK);
    assert_true(found);
    q.token_id = 1;
    assert_found(s, &q, (const uint64_t[]){ 1, 3, 4, 5, 6, 8 }, 6);
    store_close(s);
    store_object_clear(&o);
}

static void test_find_binds_values_instead_of_writing_them_into_sql(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    static const char evil[] = "x' OR 1=1 --";
    struct store_object_query q = query_all();
    char sql[STORE_OBJECT_FIND_SQL_MAX];
    struct store_object o;

    make_data(&o, 1, 1);
    o.has_label = true;
    o.label = dup_str(evil, &o.label_len);
    insert_ok(s, &o);
    store_object_clear(&o);
    make_data(&o, 1, 2);
    insert_ok(s, &o);

    query_label(&q, evil);
    assert_found(s, &q, (const uint64_t[]){ 1 }, 1);
    assert_int_equal(store_object_find_sql(&q, sql, sizeof sql), CKR_OK);
    assert_null(strstr(sql, "OR 1=1"));
    assert_int_equal(store_object_find_sql(&q, sql, 20), CKR_GENERAL_ERROR);
    store_close(s);
    store_object_clear(&o);
}

/* ---- find at scale, and its query plans */

/* The plan SQLite picks for sql, every row's detail joined with " | "; malloc'ed. */
static char *query_plan(sqlite3 *db, const char *sql)
{
    char explain[STORE_OBJECT_FIND_SQL_MAX + 32], *plan = calloc(1, 1024);
    sqlite3_stmt *st = NULL;
    int rc;

    assert_non_null(plan);
    snprintf(explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(st, 3);

        assert_true(strlen(plan) + strlen(detail) + 4 < 1024);
        if (plan[0] != '\0')
            strcat(plan, " | ");
        strcat(plan, detail);
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    return plan;
}

/* Inserts n objects into token 1 in one transaction on a second connection: CKA_ID = "id%05d". */
static void bulk_insert(const char *path, int n)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    char id[16], label[16];

    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO objects (token_id, class, key_type,"
                                        " private, cka_id, label, attrs) VALUES (1, ?1, ?2, ?3,"
                                        " ?4, ?5, zeroblob(64))", -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "id%05d", i);
        snprintf(label, sizeof label, "label %d", i % 100);
        assert_int_equal(sqlite3_bind_int64(st, 1, i % 4), SQLITE_OK);
        assert_int_equal(sqlite3_bind_int64(st, 2, i % 3), SQLITE_OK);
        assert_int_equal(sqlite3_bind_int(st, 3, i % 2), SQLITE_OK);
        assert_int_equal(sqlite3_bind_blob(st, 4, id, 7, SQLITE_STATIC), SQLITE_OK);
        assert_int_equal(sqlite3_bind_blob(st, 5, label, (int)strlen(label), SQLITE_STATIC),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        assert_int_equal(sqlite3_reset(st), SQLITE_OK);
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void test_find_by_id_among_10000_objects_uses_the_index(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object_query q = query_all();
    char sql[STORE_OBJECT_FIND_SQL_MAX], *plan;
    const int rounds = 200;
    struct store_object_hit *ids;
    sqlite3 *db;
    double t0;
    size_t n;

    bulk_insert(f->path, 10000);
    assert_int_equal(count_objects(s, 1), 10000);
    query_id(&q, "id04321");
    assert_found(s, &q, (const uint64_t[]){ 4322 }, 1);

    t0 = now_us();
    for (int i = 0; i < rounds; i++) {
        assert_int_equal(store_object_find(s, &q, &ids, &n), CKR_OK);
        assert_int_equal(n, 1);
        free(ids);
    }
    print_message("a CKA_ID find among 10000 objects: %.1f us\n", (now_us() - t0) / rounds);

    assert_int_equal(store_object_find_sql(&q, sql, sizeof sql), CKR_OK);
    db = raw_open(f->path);
    plan = query_plan(db, sql);
    print_message("plan: %s\n", plan);
    assert_non_null(strstr(plan, "INDEX objects_token_id"));
    assert_null(strstr(plan, "SCAN"));
    free(plan);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_close(s);
}

/*
 * Every combination of criteria that includes an indexed one searches an index; CKA_ID's when
 * it is set (the planner would otherwise take class's), then label's.
 */
static void test_every_find_with_an_indexed_criterion_searches_an_index(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    char sql[STORE_OBJECT_FIND_SQL_MAX], *plan;
    sqlite3 *db;

    store_close(s);
    bulk_insert(f->path, 1000);
    db = raw_open(f->path);
    for (unsigned m = 0; m < 32; m++) {
        struct store_object_query q = { .token_id = 1, .with_private = m & 1,
                                        .has_class = m & 2, .has_key_type = m & 4,
                                        .has_cka_id = m & 8, .has_label = m & 16 };
        const char *want = q.has_cka_id ? "objects_token_id" :
                           q.has_label ? "objects_token_label" : "objects_token_class";

        if (!q.has_class && !q.has_cka_id && !q.has_label)
            continue;
        assert_int_equal(store_object_find_sql(&q, sql, sizeof sql), CKR_OK);
        plan = query_plan(db, sql);
        if (strstr(plan, want) == NULL || strstr(plan, "SCAN") != NULL)
            fail_msg("%s: plan %s, wanted %s", sql, plan, want);
        free(plan);
    }
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---- with the token and the file */

static void test_token_reinit_deletes_its_objects(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 2);
    struct store_object a, b;
    struct store_token t;
    bool found;

    make_key(&a, 1, 1);
    insert_ok(s, &a);
    make_key(&b, 2, 2);
    insert_ok(s, &b);
    insert_ok(s, &a);

    assert_int_equal(store_token_get(s, 1, &t, &found), CKR_OK);
    assert_true(found);
    assert_int_equal(store_token_reinit(s, &t), CKR_OK);
    assert_int_equal(count_objects(s, 1), 0);
    assert_object_gone(s, 1);
    assert_object_gone(s, 3);
    assert_object_stored(s, &b);

    /* The re-initialized token takes new objects, under new ids. */
    insert_ok(s, &a);
    assert_int_equal(a.id, 4);
    store_close(s);
    store_token_clear(&t);
    store_object_clear(&a);
    store_object_clear(&b);
}

static void test_read_only_store_refuses_object_changes(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object o, change;
    struct store_object_query q = query_all();
    uint8_t *before, *after;
    size_t len, after_len;
    bool found;

    make_key(&o, 1, 1);
    insert_ok(s, &o);
    store_close(s);
    before = read_all(f->path, &len);

    assert_int_equal(store_open_ex(f->path, &os_locks, true, &s), CKR_OK);
    make_key(&change, 1, 2);
    change.id = 55;
    assert_int_equal(store_object_insert(s, &change), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(change.id, 55);
    change.id = o.id;
    found = true;
    assert_int_equal(store_object_update(s, &change, &found), CKR_TOKEN_WRITE_PROTECTED);
    assert_false(found);
    found = true;
    assert_int_equal(store_object_delete(s, 1, o.id, &found), CKR_TOKEN_WRITE_PROTECTED);
    assert_false(found);

    /* Reading still works. */
    assert_object_stored(s, &o);
    assert_found(s, &q, (const uint64_t[]){ 1 }, 1);
    store_close(s);

    after = read_all(f->path, &after_len);
    assert_int_equal(after_len, len);
    assert_memory_equal(after, before, len);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM objects"), 1);
    free(before);
    free(after);
    store_object_clear(&o);
    store_object_clear(&change);
}

/* ---- processes */

/* Child side: opens the store, adds n objects labelled "child <tag>"; exit 0 if all went in. */
static void child_insert_objects(const char *path, int start_fd, uint8_t tag, int n)
{
    struct store_object o;
    struct store *s = NULL;
    char label[32];
    CK_RV rv;

    if (read(start_fd, &label[0], 1) < 0)
        _exit(10);
    if (store_open(path, &os_locks, &s) != CKR_OK)
        _exit(11);
    for (int i = 0; i < n; i++) {
        make_data(&o, 1, tag);
        o.has_label = true;
        snprintf(label, sizeof label, "child %u", (unsigned)tag);
        o.label = dup_str(label, &o.label_len);
        o.has_cka_id = true;
        o.cka_id = filled(2, tag);
        o.cka_id_len = 2;
        o.cka_id[1] = (uint8_t)i;
        rv = store_object_insert(s, &o);
        store_object_clear(&o);
        if (rv != CKR_OK)
            _exit(12);
    }
    store_close(s);
    _exit(0);
}

static void test_processes_insert_objects_concurrently(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_with_tokens(f, 1);
    struct store_object_query q = query_all();
    pid_t pids[2];
    int start[2], status;
    struct store_object_hit *ids;
    size_t n;

    store_close(s);
    assert_int_equal(pipe(start), 0);
    fflush(NULL);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(start[1]);
            child_insert_objects(f->path, start[0], (uint8_t)(i + 1), 200);
        }
    }
    close(start[0]);
    close(start[1]);   /* both children start now */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM objects"), 400);
    assert_int_equal(raw_int(f->path, "SELECT count(DISTINCT cka_id) FROM objects"), 400);
    assert_raw_text(f->path, "PRAGMA integrity_check", "ok");
    s = open_ok(f->path);
    query_label(&q, "child 2");
    assert_int_equal(store_object_find(s, &q, &ids, &n), CKR_OK);
    assert_int_equal(n, 200);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i].id > ids[i - 1].id);
    free(ids);
    store_close(s);
}

/* ---- store.c: falling back to read-only */

/*
 * Child side, as a user the file permissions apply to: makes a store that a read-only open
 * left with read-only -wal and -shm files, makes the file itself writable again, then opens it
 * with stderr going to log_path at log level info. Exit status 0 if that open fell back to
 * read-only and the store still reads.
 */
static void child_open_after_read_only_open(const char *path, const char *log_path)
{
    struct store_token *list = NULL, t;
    struct store *s = NULL;
    size_t n = 0;
    int fd;

    /* No cmocka asserts in a child: a failure would run the rest of the tests here too. */
    make_token(&t, 1, 1);
    if (store_open(path, &os_locks, &s) != CKR_OK || store_token_create(s, &t) != CKR_OK)
        _exit(11);
    store_token_clear(&t);
    store_close(s);
    if (chmod(path, 0400) != 0 || store_open(path, &os_locks, &s) != CKR_OK)
        _exit(12);
    store_close(s);
    if (chmod(path, 0600) != 0)
        _exit(13);
    if ((fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
        dup2(fd, STDERR_FILENO) < 0)
        _exit(14);
    setenv("TPMTOK_LOG", "info", 1);
    log_init();
    if (store_open(path, &os_locks, &s) != CKR_OK || !store_read_only(s) ||
        store_token_list(s, &list, &n) != CKR_OK || n != 1)
        _exit(15);
    store_token_list_free(list, n);
    store_close(s);
    _exit(0);
}

static int count_lines_with(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_read_only_fallback_logs_one_warning_and_no_error(void **state)
{
    struct fixture *f = *state;
    char log_path[600], *log;
    uint8_t *text;
    size_t len;
    int status;
    pid_t pid;

    snprintf(log_path, sizeof log_path, "%s/log", f->dir);
    /* root writes any file, so the child drops to nobody to meet the permissions. */
    if (geteuid() == 0)
        assert_int_equal(chown(f->dir, 65534, 65534), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        child_open_after_read_only_open(f->path, log_path);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    text = read_all(log_path, &len);
    text[len] = '\0';
    log = (char *)text;
    print_message("%s", log);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_lines_with(log, "tpmtok error:"), 0);
    assert_int_equal(count_lines_with(log, "tpmtok warn:"), 1);
    assert_non_null(strstr(log, "read-only"));
    assert_non_null(strstr(log, "readonly database"));   /* SQLite's reason */
    assert_non_null(strstr(log, f->path));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_round_trips_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_without_key_type_or_tpm_blobs_round_trips,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_flag_is_stored_as_zero_or_one,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_id_and_label_are_empty_blobs_not_null,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_of_a_missing_id_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_increase_and_are_never_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_into_a_missing_token_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_without_bytes_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_replaces_columns_and_attrs_but_keeps_tpm_blobs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_of_a_missing_row_is_not_found,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_is_scoped_by_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_class_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_key_type_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_id_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_label_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_combined_criteria, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_without_private_hides_private_rows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_empty_id_or_label_matches_only_empty_ones,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_find_without_criteria_matches_all_of_the_token_ascending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_binds_values_instead_of_writing_them_into_sql,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_id_among_10000_objects_uses_the_index,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_every_find_with_an_indexed_criterion_searches_an_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_reinit_deletes_its_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_store_refuses_object_changes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes_insert_objects_concurrently,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_fallback_logs_one_warning_and_no_error,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

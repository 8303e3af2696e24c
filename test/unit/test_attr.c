/* The attribute set: container operations, template import, matching, the store encoding. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "token/attr.h"
#include "util/buf.h"
#include "util/secret.h"

static void test_set_keeps_types_sorted_and_unique(void **state)
{
    struct attrs s;

    attrs_init(&s);
    assert_true(attrs_set(&s, CKA_VALUE, "v", 1));
    assert_true(attrs_set(&s, CKA_CLASS, "c", 1));
    assert_true(attrs_set(&s, CKA_LABEL, "l", 1));
    assert_true(attrs_set(&s, CKA_ID, "i", 1));
    assert_int_equal(s.n, 4);
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.a[i - 1].type < s.a[i].type);
    attrs_free(&s);
    assert_int_equal(s.n, 0);
    assert_null(s.a);
}

static void test_set_replaces_existing_value(void **state)
{
    struct attrs s;
    const struct attr *a;

    attrs_init(&s);
    assert_true(attrs_set(&s, CKA_LABEL, "first", 5));
    assert_true(attrs_set(&s, CKA_LABEL, "second!", 7));
    assert_int_equal(s.n, 1);
    a = attrs_find(&s, CKA_LABEL);
    assert_non_null(a);
    assert_int_equal(a->len, 7);
    assert_memory_equal(a->value, "second!", 7);
    /* Replacing with its own bytes must not read freed memory. */
    assert_true(attrs_set(&s, CKA_LABEL, a->value, a->len));
    a = attrs_find(&s, CKA_LABEL);
    assert_memory_equal(a->value, "second!", 7);
    attrs_free(&s);
}

static void test_empty_value_has_no_buffer(void **state)
{
    struct attrs s;
    const struct attr *a;

    attrs_init(&s);
    assert_true(attrs_set(&s, CKA_LABEL, NULL, 0));
    a = attrs_find(&s, CKA_LABEL);
    assert_non_null(a);
    assert_int_equal(a->len, 0);
    assert_null(a->value);
    assert_true(attrs_has(&s, CKA_LABEL));
    attrs_free(&s);
}

static void test_remove_drops_only_that_type(void **state)
{
    struct attrs s;

    attrs_init(&s);
    assert_true(attrs_set(&s, CKA_CLASS, "c", 1));
    assert_true(attrs_set(&s, CKA_LABEL, "l", 1));
    assert_true(attrs_set(&s, CKA_VALUE, "v", 1));
    attrs_remove(&s, CKA_LABEL);
    attrs_remove(&s, CKA_ID);  /* absent: nothing happens */
    assert_int_equal(s.n, 2);
    assert_false(attrs_has(&s, CKA_LABEL));
    assert_true(attrs_has(&s, CKA_CLASS));
    assert_true(attrs_has(&s, CKA_VALUE));
    attrs_free(&s);
}

static void test_find_absent_is_null(void **state)
{
    struct attrs s;

    attrs_init(&s);
    assert_null(attrs_find(&s, CKA_LABEL));
    assert_true(attrs_set(&s, CKA_CLASS, "c", 1));
    assert_null(attrs_find(&s, CKA_LABEL));
    assert_false(attrs_has(&s, CKA_LABEL));
    attrs_free(&s);
}

static void test_many_attributes_grow_the_set(void **state)
{
    struct attrs s;

    attrs_init(&s);
    for (CK_ULONG t = 200; t > 0; t--)
        assert_true(attrs_set_ulong(&s, t, t * 3));
    assert_int_equal(s.n, 200);
    for (CK_ULONG t = 1; t <= 200; t++) {
        CK_ULONG v = 0;
        assert_true(attrs_get_ulong(&s, t, &v));
        assert_int_equal(v, t * 3);
    }
    attrs_free(&s);
}

static void test_get_bool_reads_one_byte_else_default(void **state)
{
    struct attrs s;
    CK_ULONG wide = CK_TRUE;

    attrs_init(&s);
    assert_true(attrs_set_bool(&s, CKA_TOKEN, true));
    assert_true(attrs_set_bool(&s, CKA_PRIVATE, false));
    assert_true(attrs_set(&s, CKA_SENSITIVE, &wide, sizeof wide));
    assert_true(attrs_get_bool(&s, CKA_TOKEN, false));
    assert_false(attrs_get_bool(&s, CKA_PRIVATE, true));
    /* Absent, or not a CK_BBOOL: the default. */
    assert_true(attrs_get_bool(&s, CKA_MODIFIABLE, true));
    assert_false(attrs_get_bool(&s, CKA_MODIFIABLE, false));
    assert_true(attrs_get_bool(&s, CKA_SENSITIVE, true));
    assert_false(attrs_get_bool(&s, CKA_SENSITIVE, false));
    attrs_free(&s);
}

static void test_get_ulong_needs_exact_size(void **state)
{
    struct attrs s;
    CK_ULONG v = 77;
    uint32_t narrow = 3;

    attrs_init(&s);
    assert_true(attrs_set_ulong(&s, CKA_CLASS, CKO_SECRET_KEY));
    assert_true(attrs_set(&s, CKA_KEY_TYPE, &narrow, sizeof narrow));
    assert_true(attrs_get_ulong(&s, CKA_CLASS, &v));
    assert_int_equal(v, CKO_SECRET_KEY);
    v = 77;
    assert_false(attrs_get_ulong(&s, CKA_KEY_TYPE, &v));
    assert_false(attrs_get_ulong(&s, CKA_VALUE_LEN, &v));
    assert_int_equal(v, 77);
    attrs_free(&s);
}

static void test_copy_is_deep(void **state)
{
    struct attrs s, c;
    const struct attr *a;

    attrs_init(&s);
    assert_true(attrs_set(&s, CKA_LABEL, "label", 5));
    assert_true(attrs_set(&s, CKA_ID, NULL, 0));
    assert_true(attrs_copy(&c, &s));
    assert_int_equal(c.n, 2);
    a = attrs_find(&c, CKA_LABEL);
    assert_non_null(a);
    assert_ptr_not_equal(a->value, attrs_find(&s, CKA_LABEL)->value);
    attrs_free(&s);
    /* The copy outlives the original. */
    a = attrs_find(&c, CKA_LABEL);
    assert_memory_equal(a->value, "label", 5);
    assert_int_equal(attrs_find(&c, CKA_ID)->len, 0);
    attrs_free(&c);
}

static void test_copy_of_empty_set_is_empty(void **state)
{
    struct attrs s, c;

    attrs_init(&s);
    assert_true(attrs_copy(&c, &s));
    assert_int_equal(c.n, 0);
    attrs_free(&c);
}

static void test_match_is_subset_with_equal_bytes(void **state)
{
    struct attrs s;
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_ATTRIBUTE both[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_LABEL, (void *)"abc", 3 },
    };
    CK_ATTRIBUTE other_label[] = { { CKA_LABEL, (void *)"abd", 3 } };
    CK_ATTRIBUTE prefix_label[] = { { CKA_LABEL, (void *)"ab", 2 } };
    CK_ATTRIBUTE missing[] = { { CKA_ID, (void *)"x", 1 } };

    attrs_init(&s);
    assert_true(attrs_set_ulong(&s, CKA_CLASS, CKO_DATA));
    assert_true(attrs_set(&s, CKA_LABEL, "abc", 3));
    assert_true(attrs_set(&s, CKA_VALUE, "data", 4));
    assert_true(attrs_match(&s, both, 2));
    assert_true(attrs_match(&s, both, 1));
    assert_false(attrs_match(&s, other_label, 1));
    assert_false(attrs_match(&s, prefix_label, 1));
    assert_false(attrs_match(&s, missing, 1));
    attrs_free(&s);
}

static void test_empty_template_matches_everything(void **state)
{
    struct attrs s;

    attrs_init(&s);
    assert_true(attrs_match(&s, NULL, 0));
    assert_true(attrs_set(&s, CKA_LABEL, "abc", 3));
    assert_true(attrs_match(&s, NULL, 0));
    attrs_free(&s);
}

static void test_match_of_empty_value(void **state)
{
    struct attrs s;
    CK_ATTRIBUTE empty_label[] = { { CKA_LABEL, NULL, 0 } };

    attrs_init(&s);
    assert_false(attrs_match(&s, empty_label, 1));
    assert_true(attrs_set(&s, CKA_LABEL, NULL, 0));
    assert_true(attrs_match(&s, empty_label, 1));
    assert_true(attrs_set(&s, CKA_LABEL, "x", 1));
    assert_false(attrs_match(&s, empty_label, 1));
    attrs_free(&s);
}

static void test_from_template_imports_every_entry(void **state)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_LABEL, (void *)"lbl", 3 },
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_TOKEN, &yes, sizeof yes },
        { CKA_VALUE, NULL, 0 },
    };
    struct attrs s;
    CK_ULONG v;

    assert_int_equal(attrs_from_template(tmpl, 4, &s), CKR_OK);
    assert_int_equal(s.n, 4);
    assert_true(attrs_get_ulong(&s, CKA_CLASS, &v));
    assert_int_equal(v, CKO_DATA);
    assert_true(attrs_get_bool(&s, CKA_TOKEN, false));
    assert_int_equal(attrs_find(&s, CKA_VALUE)->len, 0);
    attrs_free(&s);
}

static void test_from_template_null_template_with_count_is_arguments_bad(void **state)
{
    struct attrs s;

    assert_int_equal(attrs_from_template(NULL, 1, &s), CKR_ARGUMENTS_BAD);
    assert_int_equal(s.n, 0);
    assert_int_equal(attrs_from_template(NULL, 0, &s), CKR_OK);
    assert_int_equal(s.n, 0);
    attrs_free(&s);
}

static void test_from_template_null_value_with_length_is_arguments_bad(void **state)
{
    CK_ATTRIBUTE tmpl[] = {
        { CKA_ID, (void *)"x", 1 },
        { CKA_LABEL, NULL, 3 },
    };
    struct attrs s;

    assert_int_equal(attrs_from_template(tmpl, 2, &s), CKR_ARGUMENTS_BAD);
    assert_int_equal(s.n, 0);
}

static void test_from_template_unavailable_length_is_value_invalid(void **state)
{
    CK_ATTRIBUTE tmpl[] = { { CKA_LABEL, (void *)"x", CK_UNAVAILABLE_INFORMATION } };
    struct attrs s;

    assert_int_equal(attrs_from_template(tmpl, 1, &s), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(s.n, 0);
}

static void test_from_template_duplicate_same_value_is_ok(void **state)
{
    CK_ATTRIBUTE tmpl[] = {
        { CKA_LABEL, (void *)"abc", 3 },
        { CKA_LABEL, (void *)"abc", 3 },
    };
    struct attrs s;

    assert_int_equal(attrs_from_template(tmpl, 2, &s), CKR_OK);
    assert_int_equal(s.n, 1);
    attrs_free(&s);
}

static void test_from_template_duplicate_different_values_is_inconsistent(void **state)
{
    CK_ATTRIBUTE tmpl[] = {
        { CKA_LABEL, (void *)"abc", 3 },
        { CKA_ID, (void *)"i", 1 },
        { CKA_LABEL, (void *)"abd", 3 },
    };
    CK_ATTRIBUTE shorter[] = {
        { CKA_LABEL, (void *)"abc", 3 },
        { CKA_LABEL, (void *)"ab", 2 },
    };
    struct attrs s;

    assert_int_equal(attrs_from_template(tmpl, 3, &s), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(s.n, 0);
    assert_int_equal(attrs_from_template(shorter, 2, &s), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(s.n, 0);
}

/* A set with an empty value, a CK_ULONG, and types on both sides of 2^31. */
static void sample_set(struct attrs *s)
{
    attrs_init(s);
    assert_true(attrs_set_ulong(s, CKA_CLASS, CKO_DATA));
    assert_true(attrs_set_bool(s, CKA_TOKEN, true));
    assert_true(attrs_set(s, CKA_LABEL, "a label", 7));
    assert_true(attrs_set(s, CKA_APPLICATION, NULL, 0));
    assert_true(attrs_set(s, CKA_VENDOR_DEFINED | 5, "vendor", 6));
}

static uint8_t *encode_sample(size_t *len)
{
    struct attrs s;
    uint8_t *enc = NULL;

    sample_set(&s);
    assert_true(attrs_encode(&s, &enc, len));
    assert_int_equal(*len, attrs_encoded_len(&s));
    attrs_free(&s);
    return enc;
}

static void test_encode_decode_round_trips(void **state)
{
    struct attrs s, d;
    uint8_t *enc;
    size_t len;

    sample_set(&s);
    assert_true(attrs_encode(&s, &enc, &len));
    assert_int_equal(len, attrs_encoded_len(&s));
    assert_true(attrs_decode(enc, len, &d));
    assert_int_equal(d.n, s.n);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(d.a[i].type, s.a[i].type);
        assert_int_equal(d.a[i].len, s.a[i].len);
        if (s.a[i].len)
            assert_memory_equal(d.a[i].value, s.a[i].value, s.a[i].len);
    }
    secret_free(enc, len);
    attrs_free(&s);
    attrs_free(&d);
}

static void test_encoding_layout_is_count_type_length_bytes(void **state)
{
    static const uint8_t want[] = {
        0, 0, 0, 1,                      /* count */
        0, 0, 0, 0, 0, 0, 0, 3,          /* CKA_LABEL */
        0, 0, 0, 2,                      /* length */
        'h', 'i',
    };
    struct attrs s;
    uint8_t *enc;
    size_t len;

    attrs_init(&s);
    assert_true(attrs_set(&s, CKA_LABEL, "hi", 2));
    assert_true(attrs_encode(&s, &enc, &len));
    assert_int_equal(len, sizeof want);
    assert_memory_equal(enc, want, sizeof want);
    secret_free(enc, len);
    attrs_free(&s);
}

static void test_empty_set_round_trips(void **state)
{
    struct attrs s, d;
    uint8_t *enc;
    size_t len;

    attrs_init(&s);
    assert_true(attrs_encode(&s, &enc, &len));
    assert_int_equal(len, 4);
    assert_true(attrs_decode(enc, len, &d));
    assert_int_equal(d.n, 0);
    secret_free(enc, len);
}

static void test_decode_rejects_truncation_at_every_offset(void **state)
{
    struct attrs d;
    size_t len;
    uint8_t *enc = encode_sample(&len);

    for (size_t cut = 0; cut < len; cut++) {
        assert_false(attrs_decode(enc, cut, &d));
        assert_int_equal(d.n, 0);
        assert_null(d.a);
    }
    secret_free(enc, len);
}

static void test_decode_rejects_trailing_byte(void **state)
{
    struct attrs d;
    size_t len;
    uint8_t *enc = encode_sample(&len);
    uint8_t *longer = calloc(1, len + 1);

    assert_non_null(longer);
    memcpy(longer, enc, len);
    assert_true(attrs_decode(longer, len, &d));
    attrs_free(&d);
    assert_false(attrs_decode(longer, len + 1, &d));
    assert_int_equal(d.n, 0);
    free(longer);
    secret_free(enc, len);
}

/* Two attributes, written by hand so the order and the types can be anything. */
static uint8_t *encode_pair(CK_ULONG t1, CK_ULONG t2, size_t *len)
{
    struct buf b;

    buf_init(&b, false);
    buf_put_u32(&b, 2);
    buf_put_u64(&b, t1);
    buf_put_blob(&b, "a", 1);
    buf_put_u64(&b, t2);
    buf_put_blob(&b, "b", 1);
    return buf_steal(&b, len);
}

static void test_decode_rejects_unsorted_types(void **state)
{
    struct attrs d;
    size_t len;
    uint8_t *enc = encode_pair(CKA_LABEL, CKA_CLASS, &len);

    assert_false(attrs_decode(enc, len, &d));
    assert_int_equal(d.n, 0);
    free(enc);
    enc = encode_pair(CKA_CLASS, CKA_LABEL, &len);
    assert_true(attrs_decode(enc, len, &d));
    attrs_free(&d);
    free(enc);
}

static void test_decode_rejects_duplicate_types(void **state)
{
    struct attrs d;
    size_t len;
    uint8_t *enc = encode_pair(CKA_LABEL, CKA_LABEL, &len);

    assert_false(attrs_decode(enc, len, &d));
    assert_int_equal(d.n, 0);
    free(enc);
}

static void test_decode_rejects_huge_count(void **state)
{
    struct attrs d;
    struct buf b;
    size_t len;
    uint8_t *enc;

    buf_init(&b, false);
    buf_put_u32(&b, 4097);
    for (CK_ULONG t = 0; t < 4097; t++) {
        buf_put_u64(&b, t);
        buf_put_blob(&b, NULL, 0);
    }
    enc = buf_steal(&b, &len);
    assert_false(attrs_decode(enc, len, &d));
    /* The same with 4096 is fine: the limit is the count, not the data. */
    enc[3] = 0x00;
    enc[2] = 0x10;
    assert_true(attrs_decode(enc, len - 12, &d));
    assert_int_equal(d.n, 4096);
    attrs_free(&d);
    free(enc);
    enc = NULL;
    buf_init(&b, false);
    buf_put_u32(&b, UINT32_MAX);
    enc = buf_steal(&b, &len);
    assert_false(attrs_decode(enc, len, &d));
    free(enc);
}

static void test_decode_rejects_huge_length(void **state)
{
    struct attrs d;
    struct buf b;
    size_t len;
    uint8_t *enc;

    buf_init(&b, false);
    buf_put_u32(&b, 1);
    buf_put_u64(&b, CKA_LABEL);
    buf_put_u32(&b, UINT32_MAX);
    buf_put_bytes(&b, "abc", 3);
    enc = buf_steal(&b, &len);
    assert_false(attrs_decode(enc, len, &d));
    assert_int_equal(d.n, 0);
    free(enc);
}

static void test_decode_of_nothing_fails(void **state)
{
    struct attrs d;

    assert_false(attrs_decode(NULL, 0, &d));
    assert_int_equal(d.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_keeps_types_sorted_and_unique),
        cmocka_unit_test(test_set_replaces_existing_value),
        cmocka_unit_test(test_empty_value_has_no_buffer),
        cmocka_unit_test(test_remove_drops_only_that_type),
        cmocka_unit_test(test_find_absent_is_null),
        cmocka_unit_test(test_many_attributes_grow_the_set),
        cmocka_unit_test(test_get_bool_reads_one_byte_else_default),
        cmocka_unit_test(test_get_ulong_needs_exact_size),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_copy_of_empty_set_is_empty),
        cmocka_unit_test(test_match_is_subset_with_equal_bytes),
        cmocka_unit_test(test_empty_template_matches_everything),
        cmocka_unit_test(test_match_of_empty_value),
        cmocka_unit_test(test_from_template_imports_every_entry),
        cmocka_unit_test(test_from_template_null_template_with_count_is_arguments_bad),
        cmocka_unit_test(test_from_template_null_value_with_length_is_arguments_bad),
        cmocka_unit_test(test_from_template_unavailable_length_is_value_invalid),
        cmocka_unit_test(test_from_template_duplicate_same_value_is_ok),
        cmocka_unit_test(test_from_template_duplicate_different_values_is_inconsistent),
        cmocka_unit_test(test_encode_decode_round_trips),
        cmocka_unit_test(test_encoding_layout_is_count_type_length_bytes),
        cmocka_unit_test(test_empty_set_round_trips),
        cmocka_unit_test(test_decode_rejects_truncation_at_every_offset),
        cmocka_unit_test(test_decode_rejects_trailing_byte),
        cmocka_unit_test(test_decode_rejects_unsorted_types),
        cmocka_unit_test(test_decode_rejects_duplicate_types),
        cmocka_unit_test(test_decode_rejects_huge_count),
        cmocka_unit_test(test_decode_rejects_huge_length),
        cmocka_unit_test(test_decode_of_nothing_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

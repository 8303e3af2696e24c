/* Attribute rules after creation: C_SetAttributeValue, C_CopyObject, C_GetAttributeValue. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attr_fixtures.h"
#include "util/secret.h"

static const uint8_t key32[32] = { 2 };

/* ---- changes: C_SetAttributeValue and C_CopyObject */

static void made(void (*build)(struct attrs *), struct attrs *obj)
{
    build(obj);
    assert_int_equal(create_so(obj), CKR_OK);
}

static CK_RV change_one(struct attrs *obj, CK_ATTRIBUTE_TYPE t, const void *v, size_t len,
                        bool copy, bool so)
{
    struct attrs ch;
    CK_RV rv;

    attrs_init(&ch);
    put(&ch, t, v, len);
    rv = attr_rules_change(obj, &ch, copy, so);
    attrs_free(&ch);
    return rv;
}

static CK_RV set_bool(struct attrs *obj, CK_ATTRIBUTE_TYPE t, CK_BBOOL v)
{
    return change_one(obj, t, &v, 1, false, false);
}

static void test_set_label_is_allowed(void **state)
{
    struct attrs obj;

    made(tmpl_aes, &obj);
    assert_int_equal(change_one(&obj, CKA_LABEL, "new", 3, false, false), CKR_OK);
    assert_memory_equal(attrs_find(&obj, CKA_LABEL)->value, "new", 3);
    attrs_free(&obj);
}

static void test_set_identity_or_key_material_is_read_only(void **state)
{
    struct attrs obj;
    CK_ULONG cls = CKO_DATA, kt = CKK_DES3;

    made(tmpl_aes, &obj);
    assert_int_equal(change_one(&obj, CKA_CLASS, &cls, sizeof cls, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(change_one(&obj, CKA_KEY_TYPE, &kt, sizeof kt, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(change_one(&obj, CKA_VALUE, key32, sizeof key32, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(set_bool(&obj, CKA_LOCAL, CK_TRUE), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(set_bool(&obj, CKA_ALWAYS_SENSITIVE, CK_TRUE), CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
    made(tmpl_cert, &obj);
    assert_int_equal(change_one(&obj, CKA_VALUE, "other", 5, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(change_one(&obj, CKA_SUBJECT, "other", 5, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
    made(tmpl_ec_public, &obj);
    assert_int_equal(change_one(&obj, CKA_EC_POINT, "other", 5, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
}

static void test_set_read_only_attribute_to_its_value_is_ok(void **state)
{
    struct attrs obj;
    CK_ULONG cls = CKO_SECRET_KEY;

    made(tmpl_aes, &obj);
    assert_int_equal(change_one(&obj, CKA_CLASS, &cls, sizeof cls, false, false), CKR_OK);
    attrs_free(&obj);
}

static void test_set_of_sensitive_component_is_read_only_even_if_equal(void **state)
{
    struct attrs obj;
    static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

    /* No oracle: the same answer whether the guess is right or wrong. */
    made(tmpl_aes, &obj);
    assert_int_equal(change_one(&obj, CKA_VALUE, key, sizeof key, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(change_one(&obj, CKA_VALUE, key32, 16, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
    made(tmpl_rsa_private, &obj);
    assert_int_equal(change_one(&obj, CKA_PRIVATE_EXPONENT, "d", 1, true, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
}

static void test_sensitive_cannot_go_back_to_false(void **state)
{
    struct attrs obj;

    made(tmpl_rsa_private, &obj);
    assert_int_equal(set_bool(&obj, CKA_SENSITIVE, CK_FALSE), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(set_bool(&obj, CKA_SENSITIVE, CK_TRUE), CKR_OK);
    expect_bool(&obj, CKA_SENSITIVE, true);
    attrs_free(&obj);
}

static void test_extractable_may_only_become_false(void **state)
{
    struct attrs obj;

    tmpl_aes(&obj);
    put_bool(&obj, CKA_EXTRACTABLE, true);
    assert_int_equal(create(&obj), CKR_OK);
    assert_int_equal(set_bool(&obj, CKA_EXTRACTABLE, CK_FALSE), CKR_OK);
    expect_bool(&obj, CKA_EXTRACTABLE, false);
    assert_int_equal(set_bool(&obj, CKA_EXTRACTABLE, CK_TRUE), CKR_ATTRIBUTE_READ_ONLY);
    expect_bool(&obj, CKA_EXTRACTABLE, false);
    attrs_free(&obj);
}

static void test_copyable_may_only_become_false(void **state)
{
    struct attrs obj;

    made(tmpl_data, &obj);
    assert_int_equal(set_bool(&obj, CKA_COPYABLE, CK_FALSE), CKR_OK);
    assert_int_equal(set_bool(&obj, CKA_COPYABLE, CK_TRUE), CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
}

static void test_wrap_with_trusted_may_only_become_true(void **state)
{
    struct attrs obj;

    made(tmpl_ec_private, &obj);
    assert_int_equal(set_bool(&obj, CKA_WRAP_WITH_TRUSTED, CK_TRUE), CKR_OK);
    assert_int_equal(set_bool(&obj, CKA_WRAP_WITH_TRUSTED, CK_FALSE), CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
}

static void test_set_trusted_true_only_for_so(void **state)
{
    struct attrs obj;
    CK_BBOOL yes = CK_TRUE;

    made(tmpl_cert, &obj);
    assert_int_equal(change_one(&obj, CKA_TRUSTED, &yes, 1, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    expect_bool(&obj, CKA_TRUSTED, false);
    assert_int_equal(change_one(&obj, CKA_TRUSTED, &yes, 1, false, true), CKR_OK);
    expect_bool(&obj, CKA_TRUSTED, true);
    attrs_free(&obj);
}

static void test_set_on_unmodifiable_object_is_prohibited(void **state)
{
    struct attrs obj;

    tmpl_data(&obj);
    put_bool(&obj, CKA_MODIFIABLE, false);
    assert_int_equal(create(&obj), CKR_OK);
    assert_int_equal(change_one(&obj, CKA_LABEL, "x", 1, false, false), CKR_ACTION_PROHIBITED);
    /* Checked before the attributes. */
    assert_int_equal(change_one(&obj, CKA_MODULUS, "x", 1, false, false),
                     CKR_ACTION_PROHIBITED);
    /* A copy only needs CKA_COPYABLE. */
    assert_int_equal(change_one(&obj, CKA_LABEL, "x", 1, true, false), CKR_OK);
    attrs_free(&obj);
}

static void test_copy_of_uncopyable_object_is_prohibited(void **state)
{
    struct attrs obj;

    tmpl_aes(&obj);
    put_bool(&obj, CKA_COPYABLE, false);
    assert_int_equal(create(&obj), CKR_OK);
    assert_int_equal(change_one(&obj, CKA_LABEL, "x", 1, true, false), CKR_ACTION_PROHIBITED);
    assert_int_equal(attr_rules_change(&obj, &(struct attrs){ 0 }, true, false),
                     CKR_ACTION_PROHIBITED);
    assert_int_equal(change_one(&obj, CKA_LABEL, "x", 1, false, false), CKR_OK);
    attrs_free(&obj);
}

static void test_copy_may_set_token_and_private_set_may_not(void **state)
{
    struct attrs obj;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

    made(tmpl_aes, &obj);
    assert_int_equal(change_one(&obj, CKA_TOKEN, &yes, 1, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(change_one(&obj, CKA_PRIVATE, &no, 1, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(change_one(&obj, CKA_TOKEN, &yes, 1, true, false), CKR_OK);
    assert_int_equal(change_one(&obj, CKA_PRIVATE, &no, 1, true, false), CKR_OK);
    expect_bool(&obj, CKA_TOKEN, true);
    expect_bool(&obj, CKA_PRIVATE, false);
    attrs_free(&obj);
}

static void test_copy_may_clear_modifiable_only(void **state)
{
    struct attrs obj;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

    made(tmpl_data, &obj);
    assert_int_equal(change_one(&obj, CKA_MODIFIABLE, &no, 1, false, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(change_one(&obj, CKA_MODIFIABLE, &no, 1, true, false), CKR_OK);
    assert_int_equal(change_one(&obj, CKA_MODIFIABLE, &yes, 1, true, false),
                     CKR_ATTRIBUTE_READ_ONLY);
    attrs_free(&obj);
}

static void test_change_of_invalid_type_or_value(void **state)
{
    struct attrs obj;
    const uint8_t two = 2;

    made(tmpl_aes, &obj);
    assert_int_equal(change_one(&obj, CKA_MODULUS, "x", 1, false, false),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(change_one(&obj, CKA_ENCRYPT, &two, 1, false, false),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(change_one(&obj, CKA_ENCRYPT, "\x01\x00", 2, false, false),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(change_one(&obj, CKA_END_DATE, "tomorrow", 8, false, false),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&obj);
}

static void test_change_is_all_or_nothing(void **state)
{
    struct attrs obj, ch;
    CK_ULONG cls = CKO_DATA;

    made(tmpl_aes, &obj);
    attrs_init(&ch);
    put_str(&ch, CKA_LABEL, "new");
    put_bool(&ch, CKA_SIGN, true);
    put_ulong(&ch, CKA_CLASS, cls);
    assert_int_equal(attr_rules_change(&obj, &ch, false, false), CKR_ATTRIBUTE_READ_ONLY);
    expect_empty(&obj, CKA_LABEL);
    expect_bool(&obj, CKA_SIGN, false);
    expect_ulong(&obj, CKA_CLASS, CKO_SECRET_KEY);
    attrs_remove(&ch, CKA_CLASS);
    assert_int_equal(attr_rules_change(&obj, &ch, false, false), CKR_OK);
    assert_int_equal(attrs_find(&obj, CKA_LABEL)->len, 3);
    expect_bool(&obj, CKA_SIGN, true);
    attrs_free(&ch);
    attrs_free(&obj);
}

/* ---- C_GetAttributeValue */

static void test_get_with_null_value_reports_length(void **state)
{
    struct attrs obj;
    CK_ATTRIBUTE t[] = { { CKA_VALUE, NULL, 0 }, { CKA_CLASS, NULL, 99 } };

    made(tmpl_cert, &obj);
    assert_int_equal(attr_rules_get(&obj, t, 2), CKR_OK);
    assert_int_equal(t[0].ulValueLen, strlen("certificate"));
    assert_int_equal(t[1].ulValueLen, sizeof(CK_ULONG));
    attrs_free(&obj);
}

static void test_get_copies_values(void **state)
{
    struct attrs obj;
    uint8_t value[32];
    CK_ULONG cls = 0;
    CK_ATTRIBUTE t[] = {
        { CKA_VALUE, value, sizeof value },
        { CKA_CLASS, &cls, sizeof cls },
    };

    made(tmpl_cert, &obj);
    assert_int_equal(attr_rules_get(&obj, t, 2), CKR_OK);
    assert_int_equal(t[0].ulValueLen, 11);
    assert_memory_equal(value, "certificate", 11);
    assert_int_equal(t[1].ulValueLen, sizeof cls);
    assert_int_equal(cls, CKO_CERTIFICATE);
    attrs_free(&obj);
}

static void test_get_too_small_buffer_is_unavailable(void **state)
{
    struct attrs obj;
    uint8_t value[10];
    CK_ATTRIBUTE t[] = { { CKA_VALUE, value, sizeof value } };

    made(tmpl_cert, &obj);
    assert_int_equal(attr_rules_get(&obj, t, 1), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&obj);
}

static void test_get_sensitive_components_is_sensitive(void **state)
{
    struct attrs obj;
    uint8_t buf[64];
    CK_ATTRIBUTE t[] = { { CKA_PRIVATE_EXPONENT, buf, sizeof buf } };
    CK_ATTRIBUTE absent[] = { { CKA_COEFFICIENT, NULL, 0 } };
    CK_ATTRIBUTE aes[] = { { CKA_VALUE, NULL, 0 } };

    made(tmpl_rsa_private, &obj);
    assert_int_equal(attr_rules_get(&obj, t, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* Components the TPM alone holds are sensitive, not empty. */
    assert_int_equal(attr_rules_get(&obj, absent, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(absent[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&obj);
    made(tmpl_aes, &obj);
    assert_int_equal(attr_rules_get(&obj, aes, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(aes[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&obj);
}

static void test_get_of_unprotected_key_reveals_only_kept_components(void **state)
{
    struct attrs obj;
    uint8_t buf[8];
    CK_ATTRIBUTE t[] = { { CKA_PRIME_1, buf, sizeof buf }, { CKA_COEFFICIENT, buf, sizeof buf } };

    /* Not a key tpmtok makes (always sensitive), but the footnote-7 rule for one. */
    made(tmpl_rsa_private, &obj);
    put_bool(&obj, CKA_SENSITIVE, false);
    put_bool(&obj, CKA_EXTRACTABLE, true);
    assert_int_equal(attr_rules_get(&obj, t, 2), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(t[0].ulValueLen, 1);
    assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* Unextractable alone is enough to withhold. */
    put_bool(&obj, CKA_EXTRACTABLE, false);
    assert_int_equal(attr_rules_get(&obj, t, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_free(&obj);
}

static void test_get_public_parts_of_private_key(void **state)
{
    struct attrs obj;
    CK_ATTRIBUTE t[] = {
        { CKA_MODULUS, NULL, 0 },
        { CKA_PUBLIC_EXPONENT, NULL, 0 },
        { CKA_EC_POINT, NULL, 0 },
    };

    made(tmpl_rsa_private, &obj);
    assert_int_equal(attr_rules_get(&obj, t, 2), CKR_OK);
    assert_int_equal(t[0].ulValueLen, 7);
    assert_int_equal(t[1].ulValueLen, 3);
    attrs_free(&obj);
    made(tmpl_ec_private, &obj);
    put_str(&obj, CKA_EC_POINT, "point");   /* what the token adds */
    assert_int_equal(attr_rules_get(&obj, &t[2], 1), CKR_OK);
    assert_int_equal(t[2].ulValueLen, 5);
    attrs_free(&obj);
}

static void test_get_invalid_type_is_type_invalid(void **state)
{
    struct attrs obj;
    CK_ATTRIBUTE t[] = { { CKA_MODULUS, NULL, 0 } };
    CK_ATTRIBUTE vendor[] = { { CKA_VENDOR_DEFINED, NULL, 0 } };

    made(tmpl_aes, &obj);
    assert_int_equal(attr_rules_get(&obj, t, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(attr_rules_get(&obj, vendor, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    attrs_free(&obj);
}

static void test_get_valid_but_unset_is_empty(void **state)
{
    struct attrs obj;
    uint8_t buf[8];
    CK_ATTRIBUTE t[] = {
        { CKA_LOCAL, buf, sizeof buf },
        { CKA_CHECK_VALUE, NULL, 0 },
        { CKA_ALLOWED_MECHANISMS, buf, sizeof buf },
    };

    made(tmpl_aes, &obj);
    assert_int_equal(attr_rules_get(&obj, t, 3), CKR_OK);
    assert_int_equal(t[0].ulValueLen, 0);
    assert_int_equal(t[1].ulValueLen, 0);
    assert_int_equal(t[2].ulValueLen, 0);
    attrs_free(&obj);
}

static void test_get_processes_every_entry(void **state)
{
    struct attrs obj;
    uint8_t label[8], small[2];
    CK_ULONG kt = 0;
    CK_BBOOL enc = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        { CKA_LABEL, label, sizeof label },
        { CKA_MODULUS, label, sizeof label },
        { CKA_VALUE, label, sizeof label },
        { CKA_CLASS, small, sizeof small },
        { CKA_KEY_TYPE, &kt, sizeof kt },
        { CKA_ENCRYPT, &enc, sizeof enc },
    };

    made(tmpl_aes, &obj);
    assert_int_equal(change_one(&obj, CKA_LABEL, "key", 3, false, false), CKR_OK);
    /* The first failure's code. */
    assert_int_equal(attr_rules_get(&obj, t, 6), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(t[0].ulValueLen, 3);
    assert_memory_equal(label, "key", 3);
    assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[4].ulValueLen, sizeof kt);
    assert_int_equal(kt, CKK_AES);
    assert_int_equal(t[5].ulValueLen, 1);
    assert_int_equal(enc, CK_TRUE);
    attrs_free(&obj);
}

static void test_is_sensitive_follows_footnote_7(void **state)
{
    struct attrs obj;

    made(tmpl_rsa_private, &obj);
    assert_true(attr_rules_is_sensitive(&obj, CKA_PRIVATE_EXPONENT));
    assert_true(attr_rules_is_sensitive(&obj, CKA_PRIME_2));
    assert_false(attr_rules_is_sensitive(&obj, CKA_MODULUS));
    assert_false(attr_rules_is_sensitive(&obj, CKA_VALUE));
    attrs_free(&obj);
    made(tmpl_cert, &obj);
    assert_false(attr_rules_is_sensitive(&obj, CKA_VALUE));
    attrs_free(&obj);
    made(tmpl_aes, &obj);
    assert_true(attr_rules_is_sensitive(&obj, CKA_VALUE));
    attrs_free(&obj);
}

static void test_object_of_unknown_kind_is_refused(void **state)
{
    struct attrs obj, ch;
    CK_ATTRIBUTE t[] = { { CKA_LABEL, NULL, 0 }, { CKA_CLASS, NULL, 0 } };

    put_class(&obj, CKO_MECHANISM, NONE);
    put_str(&obj, CKA_LABEL, "x");
    assert_int_equal(attr_rules_get(&obj, t, 2), CKR_FUNCTION_FAILED);
    assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    attrs_init(&ch);
    put_str(&ch, CKA_LABEL, "y");
    assert_int_equal(attr_rules_change(&obj, &ch, false, false), CKR_FUNCTION_FAILED);
    assert_false(attr_rules_is_sensitive(&obj, CKA_VALUE));
    attrs_free(&ch);
    attrs_free(&obj);
}

static void test_object_size_is_encoding_length(void **state)
{
    struct attrs obj;
    uint8_t *enc;
    size_t len;

    made(tmpl_cert, &obj);
    assert_true(attrs_encode(&obj, &enc, &len));
    assert_int_equal(attr_rules_object_size(&obj), len);
    secret_free(enc, len);
    attrs_free(&obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_label_is_allowed),
        cmocka_unit_test(test_set_identity_or_key_material_is_read_only),
        cmocka_unit_test(test_set_read_only_attribute_to_its_value_is_ok),
        cmocka_unit_test(test_set_of_sensitive_component_is_read_only_even_if_equal),
        cmocka_unit_test(test_sensitive_cannot_go_back_to_false),
        cmocka_unit_test(test_extractable_may_only_become_false),
        cmocka_unit_test(test_copyable_may_only_become_false),
        cmocka_unit_test(test_wrap_with_trusted_may_only_become_true),
        cmocka_unit_test(test_set_trusted_true_only_for_so),
        cmocka_unit_test(test_set_on_unmodifiable_object_is_prohibited),
        cmocka_unit_test(test_copy_of_uncopyable_object_is_prohibited),
        cmocka_unit_test(test_copy_may_set_token_and_private_set_may_not),
        cmocka_unit_test(test_copy_may_clear_modifiable_only),
        cmocka_unit_test(test_change_of_invalid_type_or_value),
        cmocka_unit_test(test_change_is_all_or_nothing),
        cmocka_unit_test(test_get_with_null_value_reports_length),
        cmocka_unit_test(test_get_copies_values),
        cmocka_unit_test(test_get_too_small_buffer_is_unavailable),
        cmocka_unit_test(test_get_sensitive_components_is_sensitive),
        cmocka_unit_test(test_get_of_unprotected_key_reveals_only_kept_components),
        cmocka_unit_test(test_get_public_parts_of_private_key),
        cmocka_unit_test(test_get_invalid_type_is_type_invalid),
        cmocka_unit_test(test_get_valid_but_unset_is_empty),
        cmocka_unit_test(test_get_processes_every_entry),
        cmocka_unit_test(test_is_sensitive_follows_footnote_7),
        cmocka_unit_test(test_object_of_unknown_kind_is_refused),
        cmocka_unit_test(test_object_size_is_encoding_length),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

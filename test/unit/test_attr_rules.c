/* PKCS#11 attribute rules for new objects: validity, footnotes 1-6, values, defaults. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attr_fixtures.h"

static const uint8_t key16[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t key24[24] = { 1 };
static const uint8_t key32[32] = { 2 };
static const uint8_t key129[129] = { 3 };

/* Creates a from a template builder and frees it after checking rv. */
static void expect_create(void (*build)(struct attrs *), CK_ATTRIBUTE_TYPE drop, CK_RV want)
{
    struct attrs a;

    build(&a);
    attrs_remove(&a, drop);
    assert_int_equal(create(&a), want);
    attrs_free(&a);
}

static void expect_storage_defaults(const struct attrs *a, bool private)
{
    expect_bool(a, CKA_TOKEN, false);
    expect_bool(a, CKA_PRIVATE, private);
    expect_bool(a, CKA_MODIFIABLE, true);
    expect_bool(a, CKA_COPYABLE, true);
    expect_bool(a, CKA_DESTROYABLE, true);
    expect_empty(a, CKA_LABEL);
}

static void expect_key_defaults(const struct attrs *a)
{
    expect_empty(a, CKA_ID);
    expect_empty(a, CKA_START_DATE);
    expect_empty(a, CKA_END_DATE);
    expect_bool(a, CKA_DERIVE, false);
    /* The token adds what it computes. */
    assert_false(attrs_has(a, CKA_LOCAL));
    assert_false(attrs_has(a, CKA_KEY_GEN_MECHANISM));
    assert_false(attrs_has(a, CKA_ALWAYS_SENSITIVE));
    assert_false(attrs_has(a, CKA_NEVER_EXTRACTABLE));
}

static void expect_usage(const struct attrs *a, bool enc, bool dec, bool sign, bool verify)
{
    expect_bool(a, CKA_ENCRYPT, enc);
    expect_bool(a, CKA_DECRYPT, dec);
    expect_bool(a, CKA_SIGN, sign);
    expect_bool(a, CKA_VERIFY, verify);
}

static void expect_secret_defaults(const struct attrs *a)
{
    expect_storage_defaults(a, true);
    expect_key_defaults(a);
    expect_bool(a, CKA_SENSITIVE, true);
    expect_bool(a, CKA_EXTRACTABLE, false);
    expect_bool(a, CKA_WRAP, false);
    expect_bool(a, CKA_UNWRAP, false);
    expect_bool(a, CKA_TRUSTED, false);
    expect_bool(a, CKA_WRAP_WITH_TRUSTED, false);
}

/* ---- new objects: minimal templates and their defaults */

static void test_data_object_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_data(&a);
    assert_int_equal(create(&a), CKR_OK);
    expect_storage_defaults(&a, false);
    expect_empty(&a, CKA_APPLICATION);
    expect_empty(&a, CKA_OBJECT_ID);
    expect_empty(&a, CKA_VALUE);
    attrs_free(&a);
}

static void test_certificate_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_cert(&a);
    assert_int_equal(create(&a), CKR_OK);
    expect_storage_defaults(&a, false);
    expect_bool(&a, CKA_TRUSTED, false);
    expect_ulong(&a, CKA_CERTIFICATE_CATEGORY, 0);
    expect_ulong(&a, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);
    expect_empty(&a, CKA_ID);
    expect_empty(&a, CKA_ISSUER);
    expect_empty(&a, CKA_SERIAL_NUMBER);
    expect_empty(&a, CKA_START_DATE);
    expect_empty(&a, CKA_END_DATE);
    expect_empty(&a, CKA_PUBLIC_KEY_INFO);
    attrs_free(&a);
}

static void test_rsa_public_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_rsa_public(&a);
    assert_int_equal(create(&a), CKR_OK);
    expect_storage_defaults(&a, false);
    expect_key_defaults(&a);
    expect_bool(&a, CKA_ENCRYPT, true);
    expect_bool(&a, CKA_VERIFY, true);
    expect_bool(&a, CKA_VERIFY_RECOVER, false);
    expect_bool(&a, CKA_WRAP, false);
    expect_bool(&a, CKA_TRUSTED, false);
    expect_empty(&a, CKA_SUBJECT);
    assert_false(attrs_has(&a, CKA_MODULUS_BITS));
    attrs_free(&a);
}

static void test_ec_public_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_ec_public(&a);
    assert_int_equal(create(&a), CKR_OK);
    expect_storage_defaults(&a, false);
    expect_key_defaults(&a);
    expect_bool(&a, CKA_ENCRYPT, false);
    expect_bool(&a, CKA_VERIFY, true);
    expect_bool(&a, CKA_VERIFY_RECOVER, false);
    expect_bool(&a, CKA_WRAP, false);
    expect_bool(&a, CKA_TRUSTED, false);
    attrs_free(&a);
}

static void expect_private_defaults(const struct attrs *a, bool decrypt)
{
    expect_storage_defaults(a, true);
    expect_key_defaults(a);
    expect_bool(a, CKA_SENSITIVE, true);
    expect_bool(a, CKA_EXTRACTABLE, false);
    expect_bool(a, CKA_SIGN, true);
    expect_bool(a, CKA_DECRYPT, decrypt);
    expect_bool(a, CKA_SIGN_RECOVER, false);
    expect_bool(a, CKA_UNWRAP, false);
    expect_bool(a, CKA_WRAP_WITH_TRUSTED, false);
    expect_bool(a, CKA_ALWAYS_AUTHENTICATE, false);
    expect_empty(a, CKA_SUBJECT);
}

static void test_rsa_private_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_rsa_private(&a);
    assert_int_equal(create(&a), CKR_OK);
    expect_private_defaults(&a, true);
    attrs_free(&a);
}

static void test_ec_private_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_ec_private(&a);
    assert_int_equal(create(&a), CKR_OK);
    expect_private_defaults(&a, false);
    assert_false(attrs_has(&a, CKA_EC_POINT));
    attrs_free(&a);
}

static void test_aes_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_aes(&a);
    assert_int_equal(create(&a), CKR_OK);
    expect_secret_defaults(&a);
    expect_usage(&a, true, true, false, false);
    assert_false(attrs_has(&a, CKA_VALUE_LEN));
    attrs_free(&a);
}

static void test_des3_create_adds_defaults(void **state)
{
    struct attrs a;

    tmpl_secret(&a, CKK_DES3, key24, sizeof key24);
    assert_int_equal(create(&a), CKR_OK);
    expect_secret_defaults(&a);
    expect_usage(&a, true, true, false, false);
    attrs_free(&a);
}

static void test_generic_and_hmac_create_add_mac_defaults(void **state)
{
    static const CK_KEY_TYPE types[] = {
        CKK_GENERIC_SECRET, CKK_SHA_1_HMAC, CKK_SHA256_HMAC, CKK_SHA384_HMAC, CKK_SHA512_HMAC,
    };

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        struct attrs a;

        tmpl_secret(&a, types[i], key32, sizeof key32);
        assert_int_equal(create(&a), CKR_OK);
        expect_secret_defaults(&a);
        expect_usage(&a, false, false, true, true);
        attrs_free(&a);
    }
}

static void test_template_values_win_over_defaults(void **state)
{
    struct attrs a;

    tmpl_aes(&a);
    put_bool(&a, CKA_SIGN, true);
    put_bool(&a, CKA_ENCRYPT, false);
    put_bool(&a, CKA_TOKEN, true);
    put_bool(&a, CKA_PRIVATE, false);
    put_str(&a, CKA_LABEL, "mine");
    assert_int_equal(create(&a), CKR_OK);
    expect_usage(&a, false, true, true, false);
    expect_bool(&a, CKA_TOKEN, true);
    expect_bool(&a, CKA_PRIVATE, false);
    assert_int_equal(attrs_find(&a, CKA_LABEL)->len, 4);
    attrs_free(&a);
}

static void test_generate_takes_class_and_key_type_from_caller(void **state)
{
    struct attrs pub, priv, aes;

    attrs_init(&pub);
    put_ulong(&pub, CKA_MODULUS_BITS, 2048);
    assert_int_equal(generate(&pub, CKO_PUBLIC_KEY, CKK_RSA), CKR_OK);
    expect_ulong(&pub, CKA_CLASS, CKO_PUBLIC_KEY);
    expect_ulong(&pub, CKA_KEY_TYPE, CKK_RSA);
    expect_bool(&pub, CKA_ENCRYPT, true);
    attrs_init(&priv);
    assert_int_equal(generate(&priv, CKO_PRIVATE_KEY, CKK_RSA), CKR_OK);
    expect_ulong(&priv, CKA_CLASS, CKO_PRIVATE_KEY);
    expect_private_defaults(&priv, true);
    attrs_init(&aes);
    put_ulong(&aes, CKA_VALUE_LEN, 32);
    assert_int_equal(generate(&aes, CKO_SECRET_KEY, CKK_AES), CKR_OK);
    expect_ulong(&aes, CKA_KEY_TYPE, CKK_AES);
    expect_secret_defaults(&aes);
    attrs_free(&pub);
    attrs_free(&priv);
    attrs_free(&aes);
}

static void test_generate_of_every_kind_with_minimal_template(void **state)
{
    struct attrs a;

    attrs_init(&a);
    put_str(&a, CKA_EC_PARAMS, "params");
    assert_int_equal(generate(&a, CKO_PUBLIC_KEY, CKK_EC), CKR_OK);
    attrs_free(&a);
    attrs_init(&a);
    assert_int_equal(generate(&a, CKO_PRIVATE_KEY, CKK_EC), CKR_OK);
    expect_private_defaults(&a, false);
    attrs_free(&a);
    attrs_init(&a);
    assert_int_equal(generate(&a, CKO_SECRET_KEY, CKK_DES3), CKR_OK);
    attrs_free(&a);
    attrs_init(&a);
    put_ulong(&a, CKA_VALUE_LEN, 64);
    assert_int_equal(generate(&a, CKO_SECRET_KEY, CKK_SHA256_HMAC), CKR_OK);
    expect_usage(&a, false, false, true, true);
    attrs_free(&a);
}

static void test_template_class_or_key_type_contradicting_caller_is_inconsistent(void **state)
{
    struct attrs a;

    put_class(&a, CKO_SECRET_KEY, NONE);
    assert_int_equal(generate(&a, CKO_PUBLIC_KEY, CKK_RSA), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    put_class(&a, CKO_PRIVATE_KEY, CKK_EC);
    assert_int_equal(generate(&a, CKO_PRIVATE_KEY, CKK_RSA), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    /* Agreeing is fine. */
    put_class(&a, CKO_PRIVATE_KEY, CKK_RSA);
    assert_int_equal(generate(&a, CKO_PRIVATE_KEY, CKK_RSA), CKR_OK);
    attrs_free(&a);
}

/* ---- required and forbidden attributes */

static void test_missing_class_or_key_type_is_incomplete(void **state)
{
    expect_create(tmpl_data, CKA_CLASS, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_aes, CKA_KEY_TYPE, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_cert, CKA_CERTIFICATE_TYPE, CKR_TEMPLATE_INCOMPLETE);
}

static void test_missing_required_at_create_is_incomplete(void **state)
{
    expect_create(tmpl_cert, CKA_VALUE, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_cert, CKA_SUBJECT, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_rsa_public, CKA_MODULUS, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_rsa_public, CKA_PUBLIC_EXPONENT, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_ec_public, CKA_EC_POINT, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_ec_private, CKA_EC_PARAMS, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_ec_private, CKA_VALUE, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_rsa_private, CKA_PRIVATE_EXPONENT, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_rsa_private, CKA_PUBLIC_EXPONENT, CKR_TEMPLATE_INCOMPLETE);
    expect_create(tmpl_aes, CKA_VALUE, CKR_TEMPLATE_INCOMPLETE);
}

static void test_rsa_private_import_needs_a_prime(void **state)
{
    struct attrs a;

    expect_create(tmpl_rsa_private, CKA_PRIME_1, CKR_TEMPLATE_INCOMPLETE);
    tmpl_rsa_private(&a);
    attrs_remove(&a, CKA_PRIME_1);
    put_str(&a, CKA_PRIME_2, "q");
    assert_int_equal(create(&a), CKR_OK);
    attrs_free(&a);
}

static void test_must_not_at_create_is_inconsistent(void **state)
{
    struct attrs a;

    tmpl_aes(&a);
    put_bool(&a, CKA_LOCAL, true);
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    tmpl_rsa_public(&a);
    put_ulong(&a, CKA_MODULUS_BITS, 2048);
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    tmpl_aes(&a);
    put_ulong(&a, CKA_VALUE_LEN, 16);
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    tmpl_rsa_private(&a);
    put_bool(&a, CKA_ALWAYS_SENSITIVE, true);
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    tmpl_rsa_private(&a);
    put_ulong(&a, CKA_KEY_GEN_MECHANISM, CKM_RSA_PKCS_KEY_PAIR_GEN);
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
}

static void test_must_not_at_generate_is_inconsistent(void **state)
{
    struct attrs a;

    attrs_init(&a);
    put_ulong(&a, CKA_VALUE_LEN, 16);
    put(&a, CKA_VALUE, key16, sizeof key16);
    assert_int_equal(generate(&a, CKO_SECRET_KEY, CKK_AES), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    attrs_init(&a);
    put_ulong(&a, CKA_MODULUS_BITS, 2048);
    put_str(&a, CKA_MODULUS, "modulus");
    assert_int_equal(generate(&a, CKO_PUBLIC_KEY, CKK_RSA), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    attrs_init(&a);
    put_str(&a, CKA_EC_PARAMS, "params");
    assert_int_equal(generate(&a, CKO_PRIVATE_KEY, CKK_EC), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    attrs_init(&a);
    put_bool(&a, CKA_LOCAL, true);
    assert_int_equal(generate(&a, CKO_PRIVATE_KEY, CKK_EC), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
}

static void test_ec_point_of_private_key_is_token_computed(void **state)
{
    struct attrs a;

    tmpl_ec_private(&a);
    put_str(&a, CKA_EC_POINT, "point");
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    attrs_init(&a);
    put_str(&a, CKA_EC_POINT, "point");
    assert_int_equal(generate(&a, CKO_PRIVATE_KEY, CKK_EC), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
}

static void test_missing_required_at_generate_is_incomplete(void **state)
{
    struct attrs a;

    attrs_init(&a);
    assert_int_equal(generate(&a, CKO_SECRET_KEY, CKK_AES), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(generate(&a, CKO_SECRET_KEY, CKK_GENERIC_SECRET), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(generate(&a, CKO_PUBLIC_KEY, CKK_RSA), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(generate(&a, CKO_PUBLIC_KEY, CKK_EC), CKR_TEMPLATE_INCOMPLETE);
    /* A failed check leaves the template as it was. */
    assert_int_equal(a.n, 0);
    attrs_free(&a);
}

static void test_unwrap_footnotes(void **state)
{
    struct attrs a;

    attrs_init(&a);
    assert_int_equal(attr_rules_new_object(&a, ORIGIN_UNWRAP, CKO_SECRET_KEY, CKK_AES, false),
                     CKR_OK);
    attrs_free(&a);
    attrs_init(&a);
    put_ulong(&a, CKA_VALUE_LEN, 16);
    assert_int_equal(attr_rules_new_object(&a, ORIGIN_UNWRAP, CKO_SECRET_KEY, CKK_AES, false),
                     CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    attrs_init(&a);
    put_ulong(&a, CKA_VALUE_LEN, 16);
    assert_int_equal(attr_rules_new_object(&a, ORIGIN_UNWRAP, CKO_SECRET_KEY,
                                           CKK_GENERIC_SECRET, false), CKR_OK);
    attrs_free(&a);
    attrs_init(&a);
    put(&a, CKA_VALUE, key16, sizeof key16);
    assert_int_equal(attr_rules_new_object(&a, ORIGIN_UNWRAP, CKO_SECRET_KEY, CKK_AES, false),
                     CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
}

static void test_copy_origin_is_not_a_new_object(void **state)
{
    struct attrs a;

    tmpl_data(&a);
    assert_int_equal(attr_rules_new_object(&a, ORIGIN_COPY, NONE, NONE, false),
                     CKR_FUNCTION_FAILED);
    attrs_free(&a);
}

/* ---- attributes and values that are not valid */

static void test_attribute_of_another_class_or_key_type_is_type_invalid(void **state)
{
    struct attrs a;

    tmpl_aes(&a);
    put_str(&a, CKA_MODULUS, "modulus");
    assert_int_equal(create(&a), CKR_ATTRIBUTE_TYPE_INVALID);
    attrs_free(&a);
    attrs_init(&a);
    put_ulong(&a, CKA_VALUE_LEN, 24);
    assert_int_equal(generate(&a, CKO_SECRET_KEY, CKK_DES3), CKR_ATTRIBUTE_TYPE_INVALID);
    attrs_free(&a);
    tmpl_data(&a);
    put_ulong(&a, CKA_KEY_TYPE, CKK_AES);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_TYPE_INVALID);
    attrs_free(&a);
    tmpl_rsa_public(&a);
    put_bool(&a, CKA_SENSITIVE, true);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_TYPE_INVALID);
    attrs_free(&a);
}

static void test_vendor_defined_attribute_is_type_invalid(void **state)
{
    struct attrs a;

    tmpl_data(&a);
    put_str(&a, CKA_VENDOR_DEFINED | 1, "x");
    assert_int_equal(create(&a), CKR_ATTRIBUTE_TYPE_INVALID);
    attrs_free(&a);
}

static void expect_aes_with(CK_ATTRIBUTE_TYPE t, const void *v, size_t len, CK_RV want)
{
    struct attrs a;

    tmpl_aes(&a);
    put(&a, t, v, len);
    assert_int_equal(create(&a), want);
    attrs_free(&a);
}

static void test_bool_must_be_one_byte_zero_or_one(void **state)
{
    const uint8_t two_bytes[2] = { 1, 0 };
    const uint8_t two = 2;

    expect_aes_with(CKA_ENCRYPT, two_bytes, sizeof two_bytes, CKR_ATTRIBUTE_VALUE_INVALID);
    expect_aes_with(CKA_ENCRYPT, &two, 1, CKR_ATTRIBUTE_VALUE_INVALID);
    expect_aes_with(CKA_ENCRYPT, NULL, 0, CKR_ATTRIBUTE_VALUE_INVALID);
    expect_aes_with(CKA_TOKEN, &two, 1, CKR_ATTRIBUTE_VALUE_INVALID);
}

static void test_ulong_must_be_full_size(void **state)
{
    struct attrs a;
    uint32_t four = CKO_DATA;

    attrs_init(&a);
    put(&a, CKA_CLASS, &four, sizeof four);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
    tmpl_cert(&a);
    put(&a, CKA_CERTIFICATE_CATEGORY, &four, sizeof four);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
    tmpl_aes(&a);
    put(&a, CKA_KEY_TYPE, &four, sizeof four);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
}

static void test_unsupported_class_is_value_invalid(void **state)
{
    static const CK_OBJECT_CLASS bad[] = {
        CKO_MECHANISM, CKO_HW_FEATURE, CKO_OTP_KEY, 0x1234, CKO_VENDOR_DEFINED,
        CK_UNAVAILABLE_INFORMATION,
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct attrs a;

        put_class(&a, bad[i], NONE);
        assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
        attrs_free(&a);
    }
}

static void test_unsupported_key_type_is_value_invalid(void **state)
{
    struct attrs a;

    put_class(&a, CKO_PRIVATE_KEY, CKK_DSA);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
    put_class(&a, CKO_PRIVATE_KEY, CKK_AES);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
    tmpl_secret(&a, CKK_RSA, key16, sizeof key16);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
    attrs_init(&a);
    assert_int_equal(generate(&a, CKO_SECRET_KEY, CKK_SHA224_HMAC), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
}

static void test_certificate_type_other_than_x509_is_value_invalid(void **state)
{
    struct attrs a;

    tmpl_cert(&a);
    put_ulong(&a, CKA_CERTIFICATE_TYPE, CKC_X_509_ATTR_CERT);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
}

static void test_secret_key_value_lengths(void **state)
{
    struct attrs a;

    expect_aes_with(CKA_VALUE, key16, 15, CKR_ATTRIBUTE_VALUE_INVALID);
    expect_aes_with(CKA_VALUE, key32, 32, CKR_OK);
    expect_aes_with(CKA_VALUE, key24, 24, CKR_OK);
    expect_aes_with(CKA_VALUE, key129, 33, CKR_ATTRIBUTE_VALUE_INVALID);
    tmpl_secret(&a, CKK_DES3, key16, 16);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
    tmpl_secret(&a, CKK_GENERIC_SECRET, key129, 129);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
    tmpl_secret(&a, CKK_GENERIC_SECRET, key129, 128);
    assert_int_equal(create(&a), CKR_OK);
    attrs_free(&a);
    tmpl_secret(&a, CKK_SHA_1_HMAC, key129, 1);
    assert_int_equal(create(&a), CKR_OK);
    attrs_free(&a);
    tmpl_secret(&a, CKK_SHA_1_HMAC, NULL, 0);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
}

static void test_value_len_at_generate_is_checked(void **state)
{
    static const struct {
        CK_KEY_TYPE kt;
        CK_ULONG len;
        CK_RV rv;
    } cases[] = {
        { CKK_AES, 15, CKR_ATTRIBUTE_VALUE_INVALID },
        { CKK_AES, 16, CKR_OK },
        { CKK_AES, 24, CKR_OK },
        { CKK_AES, 32, CKR_OK },
        { CKK_AES, 64, CKR_ATTRIBUTE_VALUE_INVALID },
        { CKK_GENERIC_SECRET, 0, CKR_ATTRIBUTE_VALUE_INVALID },
        { CKK_GENERIC_SECRET, 1, CKR_OK },
        { CKK_GENERIC_SECRET, 128, CKR_OK },
        { CKK_SHA512_HMAC, 129, CKR_ATTRIBUTE_VALUE_INVALID },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct attrs a;

        attrs_init(&a);
        put_ulong(&a, CKA_VALUE_LEN, cases[i].len);
        assert_int_equal(generate(&a, CKO_SECRET_KEY, cases[i].kt), cases[i].rv);
        attrs_free(&a);
    }
}

static void test_dates_are_empty_or_eight_digits(void **state)
{
    expect_aes_with(CKA_START_DATE, "20240131", 8, CKR_OK);
    expect_aes_with(CKA_START_DATE, NULL, 0, CKR_OK);
    expect_aes_with(CKA_START_DATE, "2024013", 7, CKR_ATTRIBUTE_VALUE_INVALID);
    expect_aes_with(CKA_END_DATE, "2024-1-1", 8, CKR_ATTRIBUTE_VALUE_INVALID);
}

static void test_allowed_mechanisms_are_whole_mechanism_types(void **state)
{
    CK_MECHANISM_TYPE mechs[2] = { CKM_AES_CBC, CKM_AES_GCM };

    expect_aes_with(CKA_ALLOWED_MECHANISMS, mechs, sizeof mechs, CKR_OK);
    expect_aes_with(CKA_ALLOWED_MECHANISMS, mechs, sizeof mechs - 1, CKR_ATTRIBUTE_VALUE_INVALID);
}

static void test_wrap_templates_are_only_accepted_empty(void **state)
{
    CK_ATTRIBUTE inner = { CKA_TOKEN, NULL, 0 };

    expect_aes_with(CKA_WRAP_TEMPLATE, NULL, 0, CKR_OK);
    expect_aes_with(CKA_WRAP_TEMPLATE, &inner, sizeof inner, CKR_ATTRIBUTE_VALUE_INVALID);
    expect_aes_with(CKA_UNWRAP_TEMPLATE, &inner, sizeof inner, CKR_ATTRIBUTE_VALUE_INVALID);
}

static void test_certificate_category_is_zero_to_three(void **state)
{
    struct attrs a;

    tmpl_cert(&a);
    put_ulong(&a, CKA_CERTIFICATE_CATEGORY, 3);
    assert_int_equal(create(&a), CKR_OK);
    attrs_free(&a);
    tmpl_cert(&a);
    put_ulong(&a, CKA_CERTIFICATE_CATEGORY, 4);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_VALUE_INVALID);
    attrs_free(&a);
}

/* A key may be not sensitive, or extractable, but not both: its value never leaves the TPM. */
static void test_not_sensitive_and_extractable_keys_are_inconsistent(void **state)
{
    struct attrs a;

    tmpl_rsa_private(&a);
    put_bool(&a, CKA_SENSITIVE, false);
    assert_int_equal(create(&a), CKR_OK);
    expect_bool(&a, CKA_SENSITIVE, false);
    expect_bool(&a, CKA_EXTRACTABLE, false);
    attrs_free(&a);
    tmpl_rsa_private(&a);
    put_bool(&a, CKA_SENSITIVE, false);
    put_bool(&a, CKA_EXTRACTABLE, true);
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    tmpl_aes(&a);
    put_bool(&a, CKA_EXTRACTABLE, true);
    assert_int_equal(create(&a), CKR_OK);
    attrs_free(&a);
    tmpl_aes(&a);
    put_bool(&a, CKA_SENSITIVE, false);
    put_bool(&a, CKA_EXTRACTABLE, true);
    assert_int_equal(create(&a), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&a);
    expect_aes_with(CKA_SENSITIVE, "\x00", 1, CKR_OK);
}

static void test_trusted_true_only_for_so(void **state)
{
    struct attrs a;

    tmpl_cert(&a);
    put_bool(&a, CKA_TRUSTED, true);
    assert_int_equal(create(&a), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(create_so(&a), CKR_OK);
    expect_bool(&a, CKA_TRUSTED, true);
    attrs_free(&a);
    tmpl_rsa_public(&a);
    put_bool(&a, CKA_TRUSTED, false);
    assert_int_equal(create(&a), CKR_OK);
    attrs_free(&a);
    expect_aes_with(CKA_TRUSTED, "\x01", 1, CKR_ATTRIBUTE_READ_ONLY);
}

static void test_always_authenticate_true_is_allowed(void **state)
{
    struct attrs a;

    tmpl_ec_private(&a);
    put_bool(&a, CKA_ALWAYS_AUTHENTICATE, true);
    assert_int_equal(create(&a), CKR_OK);
    expect_bool(&a, CKA_ALWAYS_AUTHENTICATE, true);
    attrs_free(&a);
}

static void test_failed_check_leaves_template_unchanged(void **state)
{
    struct attrs a;

    tmpl_aes(&a);
    put_str(&a, CKA_MODULUS, "modulus");
    assert_int_equal(create(&a), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(a.n, 4);
    assert_false(attrs_has(&a, CKA_TOKEN));
    attrs_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_object_create_adds_defaults),
        cmocka_unit_test(test_certificate_create_adds_defaults),
        cmocka_unit_test(test_rsa_public_create_adds_defaults),
        cmocka_unit_test(test_ec_public_create_adds_defaults),
        cmocka_unit_test(test_rsa_private_create_adds_defaults),
        cmocka_unit_test(test_ec_private_create_adds_defaults),
        cmocka_unit_test(test_aes_create_adds_defaults),
        cmocka_unit_test(test_des3_create_adds_defaults),
        cmocka_unit_test(test_generic_and_hmac_create_add_mac_defaults),
        cmocka_unit_test(test_template_values_win_over_defaults),
        cmocka_unit_test(test_generate_takes_class_and_key_type_from_caller),
        cmocka_unit_test(test_generate_of_every_kind_with_minimal_template),
        cmocka_unit_test(test_template_class_or_key_type_contradicting_caller_is_inconsistent),
        cmocka_unit_test(test_missing_class_or_key_type_is_incomplete),
        cmocka_unit_test(test_missing_required_at_create_is_incomplete),
        cmocka_unit_test(test_rsa_private_import_needs_a_prime),
        cmocka_unit_test(test_must_not_at_create_is_inconsistent),
        cmocka_unit_test(test_must_not_at_generate_is_inconsistent),
        cmocka_unit_test(test_ec_point_of_private_key_is_token_computed),
        cmocka_unit_test(test_missing_required_at_generate_is_incomplete),
        cmocka_unit_test(test_unwrap_footnotes),
        cmocka_unit_test(test_copy_origin_is_not_a_new_object),
        cmocka_unit_test(test_attribute_of_another_class_or_key_type_is_type_invalid),
        cmocka_unit_test(test_vendor_defined_attribute_is_type_invalid),
        cmocka_unit_test(test_bool_must_be_one_byte_zero_or_one),
        cmocka_unit_test(test_ulong_must_be_full_size),
        cmocka_unit_test(test_unsupported_class_is_value_invalid),
        cmocka_unit_test(test_unsupported_key_type_is_value_invalid),
        cmocka_unit_test(test_certificate_type_other_than_x509_is_value_invalid),
        cmocka_unit_test(test_secret_key_value_lengths),
        cmocka_unit_test(test_value_len_at_generate_is_checked),
        cmocka_unit_test(test_dates_are_empty_or_eight_digits),
        cmocka_unit_test(test_allowed_mechanisms_are_whole_mechanism_types),
        cmocka_unit_test(test_wrap_templates_are_only_accepted_empty),
        cmocka_unit_test(test_certificate_category_is_zero_to_three),
        cmocka_unit_test(test_not_sensitive_and_extractable_keys_are_inconsistent),
        cmocka_unit_test(test_trusted_true_only_for_so),
        cmocka_unit_test(test_always_authenticate_true_is_allowed),
        cmocka_unit_test(test_failed_check_leaves_template_unchanged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

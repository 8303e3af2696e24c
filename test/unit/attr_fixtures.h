/*
 * Template builders and checks shared by the attribute-rule tests. Header-only (static inline)
 * so each test program stays one source file. Include after <cmocka.h>.
 */
#ifndef TPMTOK_TEST_ATTR_FIXTURES_H
#define TPMTOK_TEST_ATTR_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "token/attr_rules.h"

#define NONE CK_UNAVAILABLE_INFORMATION

/* ---- building templates */

static inline void put(struct attrs *a, CK_ATTRIBUTE_TYPE t, const void *v, size_t len)
{
    assert_true(attrs_set(a, t, v, len));
}

static inline void put_str(struct attrs *a, CK_ATTRIBUTE_TYPE t, const char *s)
{
    put(a, t, s, strlen(s));
}

static inline void put_ulong(struct attrs *a, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
    assert_true(attrs_set_ulong(a, t, v));
}

static inline void put_bool(struct attrs *a, CK_ATTRIBUTE_TYPE t, bool v)
{
    assert_true(attrs_set_bool(a, t, v));
}

static inline void put_class(struct attrs *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    attrs_init(a);
    put_ulong(a, CKA_CLASS, cls);
    if (kt != NONE)
        put_ulong(a, CKA_KEY_TYPE, kt);
}

static inline void tmpl_data(struct attrs *a)
{
    put_class(a, CKO_DATA, NONE);
}

static inline void tmpl_cert(struct attrs *a)
{
    put_class(a, CKO_CERTIFICATE, NONE);
    put_ulong(a, CKA_CERTIFICATE_TYPE, CKC_X_509);
    put_str(a, CKA_SUBJECT, "subject");
    put_str(a, CKA_VALUE, "certificate");
}

static inline void tmpl_rsa_public(struct attrs *a)
{
    put_class(a, CKO_PUBLIC_KEY, CKK_RSA);
    put_str(a, CKA_MODULUS, "modulus");
    put(a, CKA_PUBLIC_EXPONENT, "\x01\x00\x01", 3);
}

static inline void tmpl_ec_public(struct attrs *a)
{
    put_class(a, CKO_PUBLIC_KEY, CKK_EC);
    put_str(a, CKA_EC_PARAMS, "params");
    put_str(a, CKA_EC_POINT, "point");
}

static inline void tmpl_rsa_private(struct attrs *a)
{
    put_class(a, CKO_PRIVATE_KEY, CKK_RSA);
    put_str(a, CKA_MODULUS, "modulus");
    put(a, CKA_PUBLIC_EXPONENT, "\x01\x00\x01", 3);
    put_str(a, CKA_PRIVATE_EXPONENT, "d");
    put_str(a, CKA_PRIME_1, "p");
}

static inline void tmpl_ec_private(struct attrs *a)
{
    put_class(a, CKO_PRIVATE_KEY, CKK_EC);
    put_str(a, CKA_EC_PARAMS, "params");
    put_str(a, CKA_VALUE, "scalar");
}

static inline void tmpl_secret(struct attrs *a, CK_KEY_TYPE kt, const uint8_t *v, size_t len)
{
    put_class(a, CKO_SECRET_KEY, kt);
    put(a, CKA_VALUE, v, len);
}

static inline void tmpl_aes(struct attrs *a)
{
    static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

    tmpl_secret(a, CKK_AES, key, sizeof key);
}

static inline CK_RV create(struct attrs *a)
{
    return attr_rules_new_object(a, ORIGIN_CREATE, NONE, NONE, false);
}

static inline CK_RV create_so(struct attrs *a)
{
    return attr_rules_new_object(a, ORIGIN_CREATE, NONE, NONE, true);
}

static inline CK_RV generate(struct attrs *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    return attr_rules_new_object(a, ORIGIN_GENERATE, cls, kt, false);
}

/* ---- checking results */

static inline void expect_bool(const struct attrs *a, CK_ATTRIBUTE_TYPE t, bool v)
{
    const struct attr *at = attrs_find(a, t);

    assert_non_null(at);
    assert_int_equal(at->len, sizeof(CK_BBOOL));
    assert_int_equal(at->value[0], v ? CK_TRUE : CK_FALSE);
}

static inline void expect_ulong(const struct attrs *a, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
    CK_ULONG got = ~v;

    assert_true(attrs_get_ulong(a, t, &got));
    assert_int_equal(got, v);
}

static inline void expect_empty(const struct attrs *a, CK_ATTRIBUTE_TYPE t)
{
    const struct attr *at = attrs_find(a, t);

    assert_non_null(at);
    assert_int_equal(at->len, 0);
}

#endif

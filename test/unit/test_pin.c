/* PIN rules and the PIN KDF, compared with OpenSSL's own PBKDF2. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "token/pin.h"

static void test_pin_length_bounds(void **state)
{
    assert_int_equal(pin_check_len(PIN_MIN_LEN - 1), CKR_PIN_LEN_RANGE);
    assert_int_equal(pin_check_len(PIN_MIN_LEN), CKR_OK);
    assert_int_equal(pin_check_len(PIN_MAX_LEN), CKR_OK);
    assert_int_equal(pin_check_len(PIN_MAX_LEN + 1), CKR_PIN_LEN_RANGE);
    assert_int_equal(pin_check_len(0), CKR_PIN_LEN_RANGE);
}

/* Independent computation through the EVP_KDF interface. */
static void openssl_pbkdf2(const char *pin, const uint8_t *salt, size_t salt_len,
                           unsigned iterations, uint8_t out[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pin, strlen(pin)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iterations),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };

    assert_int_equal(EVP_KDF_derive(ctx, out, 32, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void test_pin_derive_matches_openssl(void **state)
{
    uint8_t salt[32], ours[32], theirs[32];

    for (size_t i = 0; i < sizeof salt; i++)
        salt[i] = (uint8_t)(i * 7 + 1);
    assert_true(pin_derive((const uint8_t *)"123456", 6, salt, sizeof salt, PIN_KDF_ITERATIONS, ours));
    openssl_pbkdf2("123456", salt, sizeof salt, PIN_KDF_ITERATIONS, theirs);
    assert_memory_equal(ours, theirs, 32);
}

static void test_pin_derive_depends_on_pin_and_salt(void **state)
{
    uint8_t salt[32] = { 1 }, a[32], b[32], c[32];

    assert_true(pin_derive((const uint8_t *)"123456", 6, salt, sizeof salt, 10, a));
    assert_true(pin_derive((const uint8_t *)"123457", 6, salt, sizeof salt, 10, b));
    salt[31] = 1;
    assert_true(pin_derive((const uint8_t *)"123456", 6, salt, sizeof salt, 10, c));
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
}

static void test_pin_derive_refuses_bad_parameters(void **state)
{
    uint8_t salt[32] = { 0 }, out[32];
    uint8_t long_pin[PIN_MAX_LEN + 1];

    memset(long_pin, 'x', sizeof long_pin);
    assert_false(pin_derive(long_pin, sizeof long_pin, salt, sizeof salt, 10, out));
    assert_false(pin_derive((const uint8_t *)"1234", 4, salt, sizeof salt, 0, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_length_bounds),
        cmocka_unit_test(test_pin_derive_matches_openssl),
        cmocka_unit_test(test_pin_derive_depends_on_pin_and_salt),
        cmocka_unit_test(test_pin_derive_refuses_bad_parameters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

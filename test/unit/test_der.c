/* DER helpers: curves, EC points (short and long form), key ids, certificates. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <tss2/tss2_tpm2_types.h>

#include "token/der.h"
#include "tpm/alg.h"

static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t p521_oid[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t k256_oid[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };

static void test_curves_by_oid_and_name(void **state)
{
    static const uint8_t by_name[] = { 0x13, 0x09, 's', 'e', 'c', 'p', '3', '8', '4', 'r', '1' };
    uint8_t *der;
    size_t len;

    assert_int_equal(der_ec_params_curve(p256_oid, sizeof p256_oid), TPM2_ECC_NIST_P256);
    assert_int_equal(der_ec_params_curve(p521_oid, sizeof p521_oid), TPM2_ECC_NIST_P521);
    assert_int_equal(der_ec_params_curve(by_name, sizeof by_name), TPM2_ECC_NIST_P384);
    assert_int_equal(der_ec_params_curve(k256_oid, sizeof k256_oid), 0);
    assert_true(der_ec_params_wellformed(k256_oid, sizeof k256_oid));
    assert_int_equal(der_ec_params_curve(p256_oid, sizeof p256_oid - 1), 0);
    assert_false(der_ec_params_wellformed(p256_oid, sizeof p256_oid - 1));
    assert_true(der_ec_params_encode(TPM2_ECC_NIST_P256, &der, &len));
    assert_int_equal(len, sizeof p256_oid);
    assert_memory_equal(der, p256_oid, len);
    OPENSSL_free(der);
    assert_false(der_ec_params_encode(TPM2_ECC_BN_P256, &der, &len));
    assert_int_equal(tpm_curve_bytes(TPM2_ECC_NIST_P521), 66);
    assert_int_equal(tpm_curve_bytes(TPM2_ECC_BN_P256), 0);
    assert_int_equal(tpm_hash_size(TPM2_ALG_SHA384), 48);
    assert_int_equal(tpm_hash_size(TPM2_ALG_SM3_256), 0);
}

static void test_ec_point_round_trip_with_long_form(void **state)
{
    uint8_t x[66], y[66], x2[66], y2[66], *der;
    size_t len;

    for (size_t i = 0; i < sizeof x; i++) {
        x[i] = (uint8_t)i;
        y[i] = (uint8_t)(255 - i);
    }
    assert_true(der_ec_point_encode(x, y, 66, &der, &len));
    /* 133 content bytes need a two-byte length: 04 81 85 04 x y */
    assert_int_equal(len, 3 + 133);
    assert_int_equal(der[0], 0x04);
    assert_int_equal(der[1], 0x81);
    assert_int_equal(der[2], 0x85);
    assert_int_equal(der[3], 0x04);
    assert_true(der_ec_point_decode(der, len, 66, x2, y2));
    assert_memory_equal(x, x2, 66);
    assert_memory_equal(y, y2, 66);
    /* The bare point some applications send is read too; truncations are not. */
    assert_true(der_ec_point_decode(der + 3, len - 3, 66, x2, y2));
    assert_false(der_ec_point_decode(der, len - 1, 66, x2, y2));
    assert_false(der_ec_point_decode(der, len, 32, x2, y2));
    OPENSSL_free(der);
}

static void test_key_id_is_sha1_of_the_public_key(void **state)
{
    struct tpm_key_public pub = { .type = TPM_KEY_RSA, .modulus_len = 4 };
    uint8_t id[20], want[20];

    memcpy(pub.modulus, "\x01\x02\x03\x04", 4);
    assert_true(der_key_id(&pub, id));
    SHA1(pub.modulus, 4, want);
    assert_memory_equal(id, want, 20);
}

static void test_certificate_parse_rejects_garbage(void **state)
{
    static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01, 0x00 };
    struct der_cert c;

    assert_false(der_cert_parse(junk, sizeof junk, &c));
    assert_false(der_cert_parse(NULL, 0, &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curves_by_oid_and_name),
        cmocka_unit_test(test_ec_point_round_trip_with_long_form),
        cmocka_unit_test(test_key_id_is_sha1_of_the_public_key),
        cmocka_unit_test(test_certificate_parse_rejects_garbage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* KDFa and KDFe checked byte for byte against OpenSSL's own KBKDF and SSKDF implementations. */
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

#include "tpm/kdf.h"

static const uint8_t key[32] = {
    0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88, 0x97, 0xa6, 0xb5, 0xc4, 0xd3, 0xe2, 0xf1, 0x00,
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};
static const uint8_t ctx_u[32] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa };
static const uint8_t ctx_v[20] = { 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a };

static const char *digest_name(TPMI_ALG_HASH hash)
{
    return hash == TPM2_ALG_SHA384 ? "SHA384" : "SHA256";
}

/*
 * OpenSSL's KBKDF in counter mode feeds HMAC with counter || salt || 0x00 || info || L, with L
 * the output length in bits: KDFa with label = salt (its NUL is KBKDF's separator) and
 * context = contextU || contextV.
 */
static void kbkdf(TPMI_ALG_HASH hash, const char *label, const uint8_t *u, size_t u_len,
                  const uint8_t *v, size_t v_len, uint8_t *out, size_t len)
{
    uint8_t info[sizeof ctx_u + sizeof ctx_v];
    OSSL_PARAM params[8], *p = params;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);

    assert_non_null(kctx);
    assert_true(u_len + v_len <= sizeof info);
    memcpy(info, u, u_len);
    memcpy(info + u_len, v, v_len);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, "counter", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, "HMAC", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest_name(hash), 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, sizeof key);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, strlen(label));
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, u_len + v_len);
    *p = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_KDF_derive(kctx, out, len, params), 1);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
}

/* SSKDF with a digest: H(counter || Z || info); KDFe's info is label || 0 || partyU || partyV. */
static void sskdf(TPMI_ALG_HASH hash, const uint8_t *z, size_t z_len, const char *label,
                  const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len, uint8_t *out,
                  size_t len)
{
    uint8_t info[64 + sizeof ctx_u + sizeof ctx_v];
    size_t label_len = strlen(label) + 1, info_len = label_len + u_len + v_len;
    OSSL_PARAM params[4], *p = params;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);

    assert_non_null(kctx);
    assert_true(info_len <= sizeof info);
    memcpy(info, label, label_len);
    memcpy(info + label_len, u, u_len);
    memcpy(info + label_len + u_len, v, v_len);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest_name(hash), 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, info_len);
    *p = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_KDF_derive(kctx, out, len, params), 1);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
}

static const size_t lengths[] = { 16, 32, 48, 64, 100 };

static void kdfa_matches(TPMI_ALG_HASH hash, const char *label, size_t u_len, size_t v_len)
{
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        uint8_t ours[128], theirs[128];
        size_t len = lengths[i];

        memset(ours, 0xee, sizeof ours);
        assert_true(kdfa(hash, key, sizeof key, label, ctx_u, u_len, ctx_v, v_len, ours,
                         len * 8));
        kbkdf(hash, label, ctx_u, u_len, ctx_v, v_len, theirs, len);
        assert_memory_equal(ours, theirs, len);
        /* Nothing past the requested length is touched. */
        assert_int_equal(ours[len], 0xee);
    }
}

static void test_kdfa_sha256_with_contexts_matches_kbkdf(void **state)
{
    (void)state;
    kdfa_matches(TPM2_ALG_SHA256, "CFB", sizeof ctx_u, sizeof ctx_v);
    kdfa_matches(TPM2_ALG_SHA256, "ATH", sizeof ctx_u, sizeof ctx_v);
}

static void test_kdfa_sha256_empty_contexts_matches_kbkdf(void **state)
{
    (void)state;
    kdfa_matches(TPM2_ALG_SHA256, "CFB", 0, 0);
    kdfa_matches(TPM2_ALG_SHA256, "STORAGE", sizeof ctx_u, 0);
    kdfa_matches(TPM2_ALG_SHA256, "INTEGRITY", 0, sizeof ctx_v);
}

static void test_kdfa_sha384_matches_kbkdf(void **state)
{
    (void)state;
    kdfa_matches(TPM2_ALG_SHA384, "CFB", sizeof ctx_u, sizeof ctx_v);
    kdfa_matches(TPM2_ALG_SHA384, "ATH", 0, 0);
}

static void kdfe_matches(TPMI_ALG_HASH hash, const char *label, size_t u_len, size_t v_len)
{
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        uint8_t ours[128], theirs[128];
        size_t len = lengths[i];

        memset(ours, 0xee, sizeof ours);
        assert_true(kdfe(hash, key, sizeof key, label, ctx_u, u_len, ctx_v, v_len, ours,
                         len * 8));
        sskdf(hash, key, sizeof key, label, ctx_u, u_len, ctx_v, v_len, theirs, len);
        assert_memory_equal(ours, theirs, len);
        assert_int_equal(ours[len], 0xee);
    }
}

static void test_kdfe_sha256_matches_sskdf(void **state)
{
    (void)state;
    kdfe_matches(TPM2_ALG_SHA256, "SECRET", sizeof ctx_u, sizeof ctx_v);
    kdfe_matches(TPM2_ALG_SHA256, "SECRET", 0, 0);
    kdfe_matches(TPM2_ALG_SHA256, "DUPLICATE", sizeof ctx_u, 0);
}

static void test_kdfe_sha384_matches_sskdf(void **state)
{
    (void)state;
    kdfe_matches(TPM2_ALG_SHA384, "SECRET", sizeof ctx_u, sizeof ctx_v);
}

/* The TPM's session key derivation (salt, "ATH", nonceTPM, nonceCaller): 32 bytes, one block. */
static void test_kdfa_session_key_shape(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    assert_true(kdfa(TPM2_ALG_SHA256, key, sizeof key, "ATH", ctx_u, sizeof ctx_u, ctx_v,
                     sizeof ctx_v, a, 256));
    /* Swapping the nonces (command vs response direction) gives a different key. */
    assert_true(kdfa(TPM2_ALG_SHA256, key, sizeof key, "ATH", ctx_v, sizeof ctx_v, ctx_u,
                     sizeof ctx_u, b, 256));
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_kdf_rejects_bad_arguments(void **state)
{
    uint8_t out[32];

    (void)state;
    /* Lengths that are not whole bytes, zero length, an unknown hash. */
    assert_false(kdfa(TPM2_ALG_SHA256, key, sizeof key, "CFB", NULL, 0, NULL, 0, out, 12));
    assert_false(kdfa(TPM2_ALG_SHA256, key, sizeof key, "CFB", NULL, 0, NULL, 0, out, 0));
    assert_false(kdfa(TPM2_ALG_SM3_256, key, sizeof key, "CFB", NULL, 0, NULL, 0, out, 256));
    assert_false(kdfe(TPM2_ALG_SHA256, key, sizeof key, "SECRET", NULL, 0, NULL, 0, out, 7));
    assert_false(kdfe(TPM2_ALG_NULL, key, sizeof key, "SECRET", NULL, 0, NULL, 0, out, 256));
}

/* An empty HMAC key is legal input (an unsalted, unbound session would have one). */
static void test_kdfa_empty_key(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    assert_true(kdfa(TPM2_ALG_SHA256, NULL, 0, "CFB", ctx_u, 4, NULL, 0, a, 256));
    assert_true(kdfa(TPM2_ALG_SHA256, key, 0, "CFB", ctx_u, 4, NULL, 0, b, 256));
    assert_memory_equal(a, b, sizeof a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdfa_sha256_with_contexts_matches_kbkdf),
        cmocka_unit_test(test_kdfa_sha256_empty_contexts_matches_kbkdf),
        cmocka_unit_test(test_kdfa_sha384_matches_kbkdf),
        cmocka_unit_test(test_kdfe_sha256_matches_sskdf),
        cmocka_unit_test(test_kdfe_sha384_matches_sskdf),
        cmocka_unit_test(test_kdfa_session_key_shape),
        cmocka_unit_test(test_kdf_rejects_bad_arguments),
        cmocka_unit_test(test_kdfa_empty_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

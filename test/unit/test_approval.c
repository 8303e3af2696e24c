/* Approval blobs and policy digests (src/tpm/approval.c), without a TPM. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tpm/approval.h"

static const struct tpm_pcr_sel sel = { TPM2_ALG_SHA256, (1u << 0) | (1u << 7) | (1u << 23) };

static size_t blob_make(uint8_t *blob, size_t max)
{
    TPMT_SIGNATURE sig = { .sigAlg = TPM2_ALG_ECDSA };
    uint8_t digest[32], name[34];
    size_t len = 0;

    memset(digest, 0x5a, sizeof digest);
    memset(name, 0x11, sizeof name);
    name[0] = 0x00;
    name[1] = 0x0b;
    sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
    sig.signature.ecdsa.signatureR.size = sig.signature.ecdsa.signatureS.size = 32;
    memset(sig.signature.ecdsa.signatureR.buffer, 1, 32);
    memset(sig.signature.ecdsa.signatureS.buffer, 2, 32);
    assert_true(approval_make(&sel, digest, name, sizeof name, &sig, blob, max, &len));
    return len;
}

static void test_blob_round_trip(void **state)
{
    uint8_t blob[2048];
    struct tpm_approval a;
    size_t len = blob_make(blob, sizeof blob);

    (void)state;
    assert_int_equal(tpm_approval_parse(blob, len, &a), CKR_OK);
    assert_int_equal(a.pcrs.hash, TPM2_ALG_SHA256);
    assert_int_equal(a.pcrs.mask, sel.mask);
    assert_int_equal(a.pcr_digest[0], 0x5a);
    assert_int_equal(a.authority_name_len, 34);
}

/* Every shorter prefix, any changed magic or version byte, and trailing bytes are refused. */
static void test_bad_blobs_are_refused(void **state)
{
    uint8_t blob[2048];
    struct tpm_approval a;
    size_t len = blob_make(blob, sizeof blob);

    (void)state;
    for (size_t n = 0; n < len; n++)
        assert_int_equal(tpm_approval_parse(blob, n, &a), CKR_ATTRIBUTE_VALUE_INVALID);
    for (size_t i = 0; i < 9; i++) {
        blob[i] ^= 0x40;
        assert_int_equal(tpm_approval_parse(blob, len, &a), CKR_ATTRIBUTE_VALUE_INVALID);
        blob[i] ^= 0x40;
    }
    blob[len] = 0;
    assert_int_equal(tpm_approval_parse(blob, len + 1, &a), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(tpm_approval_parse(NULL, 0, &a), CKR_ATTRIBUTE_VALUE_INVALID);
}

static void test_pcr_selection_text(void **state)
{
    char text[64];

    (void)state;
    tpm_pcr_sel_text(&sel, text, sizeof text);
    assert_string_equal(text, "sha256:0,7,23");
}

/*
 * PolicyAuthValue alone from an empty policy is SHA-256(zeros || 0x0000016B); a fixed-PCR
 * policy ends with it too, so its digest differs from the approved PCR policy alone.
 */
static void test_policy_digests(void **state)
{
    struct tpm_policy p = { .pcrs = sel };
    uint8_t d[32], approved[32], want[36] = { 0 };
    unsigned n = 32;
    uint8_t h[32];

    (void)state;
    approval_approved_policy(&sel, p.pcr_digest, approved);
    tpm_policy_digest(&p, d);
    assert_memory_not_equal(d, approved, 32);
    /* The last step by hand: H(approved || TPM_CC_PolicyAuthValue). */
    memcpy(want, approved, 32);
    want[32] = 0x00;
    want[33] = 0x00;
    want[34] = 0x01;
    want[35] = 0x6b;
    assert_int_equal(EVP_Digest(want, sizeof want, h, &n, EVP_sha256(), NULL), 1);
    assert_memory_equal(d, h, 32);
}

static void test_authority_keys(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t der[256], name[68];
    unsigned char *p = der;
    struct tpm_policy pol;
    size_t name_len;
    int n;

    (void)state;
    assert_non_null(k);
    n = i2d_PUBKEY(k, &p);
    assert_true(n > 0);
    assert_int_equal(tpm_authority_from_spki(der, (size_t)n, &pol, name, &name_len), CKR_OK);
    assert_true(pol.authorize);
    assert_int_equal(name_len, 34);
    {
        uint8_t d[32];
        assert_true(tpm_policy_digest(&pol, d));
    }
    assert_int_equal(tpm_authority_from_spki(der, (size_t)n - 1, &pol, name, &name_len),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(tpm_authority_from_spki(der, 0, &pol, name, &name_len),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_round_trip),
        cmocka_unit_test(test_bad_blobs_are_refused),
        cmocka_unit_test(test_pcr_selection_text),
        cmocka_unit_test(test_policy_digests),
        cmocka_unit_test(test_authority_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Keys bound to PCRs (include/tpmtok.h): a key bound to fixed PCR values signs while the PCRs
 * hold them and is refused (CKR_FUNCTION_FAILED) once one is extended, while keys not bound to
 * that PCR go on; a key bound to an authority signs only with an approval for the PCRs' values
 * of now, stored on the token, and again after a new approval. Signatures are checked with
 * OpenSSL; approvals are signed with OpenSSL as an authority would.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_tpm2_types.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/token_ops.h"
#include "tpm/approval.h"
#include "tpmtok.h"

#define PCR_BOOT 16        /* a debug PCR the test may extend and reset */
#define PCR_OTHER 15

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;
static CK_SESSION_HANDLE s;

static int group_setup(void **state)
{
    (void)state;
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK || (slot = token_with_user(f, "pcr", &s)) == (CK_SLOT_ID)-1)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    f->C_Finalize(NULL);
    return 0;
}

/* An EC P-256 pair whose private half has the extra attributes. */
static void ec_pair(const CK_ATTRIBUTE *extra, CK_ULONG n, CK_OBJECT_HANDLE *pub,
                    CK_OBJECT_HANDLE *priv)
{
    assert_int_equal(tk_ec_pair(f, s, "P-256", extra, n, pub, priv), CKR_OK);
}

/* CKR_OK when priv signs and pub verifies it (with OpenSSL); the CK_RV of the failure else. */
static CK_RV sign_check(CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv)
{
    static const uint8_t msg[] = "measured-boot signing";
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    EVP_PKEY *k = public_key_of(f, s, pub);
    uint8_t sig[128];
    CK_ULONG len = sizeof sig;
    CK_RV rv;

    assert_non_null(k);
    if ((rv = f->C_SignInit(s, &m, priv)) == CKR_OK &&
        (rv = f->C_Sign(s, (CK_BYTE_PTR)msg, sizeof msg, sig, &len)) == CKR_OK)
        assert_true(cu_verify(k, &m, msg, sizeof msg, sig, len));
    EVP_PKEY_free(k);
    return rv;
}

/* A signature in parts, its state saved and restored in another session, then finished. */
static CK_RV sign_across_sessions(CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv)
{
    static const uint8_t msg[] = "first part, then the second";
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    EVP_PKEY *k = public_key_of(f, s, pub);
    uint8_t state[4096], sig[128];
    CK_ULONG state_len = sizeof state, len = sizeof sig;
    CK_SESSION_HANDLE s1, s2;
    CK_RV rv;

    assert_non_null(k);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s1), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s2), CKR_OK);
    if ((rv = f->C_SignInit(s1, &m, priv)) != CKR_OK ||
        (rv = f->C_SignUpdate(s1, (CK_BYTE_PTR)msg, 10)) != CKR_OK ||
        (rv = f->C_GetOperationState(s1, state, &state_len)) != CKR_OK ||
        (rv = f->C_SetOperationState(s2, state, state_len, CK_INVALID_HANDLE, priv)) != CKR_OK ||
        (rv = f->C_SignUpdate(s2, (CK_BYTE_PTR)msg + 10, sizeof msg - 10)) != CKR_OK ||
        (rv = f->C_SignFinal(s2, sig, &len)) != CKR_OK)
        goto out;
    assert_true(cu_verify(k, &m, msg, sizeof msg, sig, len));
out:
    f->C_CloseSession(s1);
    f->C_CloseSession(s2);
    EVP_PKEY_free(k);
    return rv;
}

static void test_key_bound_to_pcr_values_of_now(void **state)
{
    CK_TPMTOK_PCR_SELECTION sel = { CKM_SHA256, 1ul << PCR_BOOT };
    CK_TPMTOK_PCR_SELECTION other = { CKM_SHA256, 1ul << PCR_OTHER };
    CK_ATTRIBUTE bind[] = { { CKA_TPMTOK_PCR_SELECTION, &sel, sizeof sel } };
    CK_ATTRIBUTE bind_other[] = { { CKA_TPMTOK_PCR_SELECTION, &other, sizeof other } };
    CK_OBJECT_HANDLE pub, priv, pub2, priv2, pub3, priv3;
    size_t len;
    CK_RV rv;
    uint8_t *v;

    (void)state;
    ec_pair(bind, 1, &pub, &priv);
    ec_pair(bind_other, 1, &pub2, &priv2);
    ec_pair(NULL, 0, &pub3, &priv3);
    /* The key says what it is bound to. */
    assert_non_null(v = attr_get(f, s, priv, CKA_TPMTOK_PCR_VALUES, &len, &rv));
    assert_int_equal(len, 32);
    free(v);
    assert_non_null(v = attr_get(f, s, priv, CKA_TPMTOK_POLICY_DIGEST, &len, &rv));
    assert_int_equal(len, 32);
    free(v);
    /* A key bound to nothing has no policy to tell. */
    v = attr_get(f, s, priv3, CKA_TPMTOK_POLICY_DIGEST, &len, &rv);
    assert_true(v == NULL ? rv == CKR_ATTRIBUTE_TYPE_INVALID : len == 0);
    free(v);
    /* Signs, and again (the policy session starts over after each use). */
    assert_int_equal(sign_check(pub, priv), CKR_OK);
    assert_int_equal(sign_check(pub, priv), CKR_OK);
    assert_int_equal(sign_across_sessions(pub, priv), CKR_OK);
    /* Another boot state: refused; keys not bound to that PCR go on. */
    assert_int_equal(swtpm_pcr_extend(&tpm, PCR_BOOT, "another kernel"), 0);
    assert_int_equal(sign_check(pub, priv), CKR_FUNCTION_FAILED);
    assert_int_equal(sign_check(pub, priv), CKR_FUNCTION_FAILED);
    assert_int_equal(sign_across_sessions(pub, priv), CKR_FUNCTION_FAILED);
    assert_int_equal(sign_check(pub2, priv2), CKR_OK);
    assert_int_equal(sign_check(pub3, priv3), CKR_OK);
    /* The attribute is fixed, as the key's TPM policy is. */
    assert_int_equal(f->C_SetAttributeValue(s, priv, bind_other, 1), CKR_ATTRIBUTE_READ_ONLY);
}

static void test_key_bound_to_given_values(void **state)
{
    CK_TPMTOK_PCR_SELECTION sel = { CKM_SHA256, 1ul << PCR_BOOT };
    uint8_t values[32], *now;
    size_t len;
    CK_RV rv;
    CK_ATTRIBUTE bind[] = { { CKA_TPMTOK_PCR_SELECTION, &sel, sizeof sel },
                            { CKA_TPMTOK_PCR_VALUES, values, sizeof values } };
    CK_ATTRIBUTE ref[] = { { CKA_TPMTOK_PCR_SELECTION, &sel, sizeof sel } };
    CK_OBJECT_HANDLE pub, priv, rpub, rpriv;

    (void)state;
    /* The values of now, as a key made now records them. */
    ec_pair(ref, 1, &rpub, &rpriv);
    assert_non_null(now = attr_get(f, s, rpriv, CKA_TPMTOK_PCR_VALUES, &len, &rv));
    memcpy(values, now, sizeof values);
    free(now);
    ec_pair(bind, 2, &pub, &priv);
    assert_int_equal(sign_check(pub, priv), CKR_OK);
    /* Values the PCR does not hold. */
    values[0] ^= 1;
    ec_pair(bind, 2, &pub, &priv);
    assert_int_equal(sign_check(pub, priv), CKR_FUNCTION_FAILED);
    /* Values of the wrong size, values without a selection. */
    bind[1].ulValueLen = 20;
    assert_int_equal(tk_ec_pair(f, s, "P-256", bind, 2, &pub, &priv), CKR_ATTRIBUTE_VALUE_INVALID);
    bind[1].ulValueLen = 32;
    assert_int_equal(tk_ec_pair(f, s, "P-256", bind + 1, 1, &pub, &priv),
                     CKR_TEMPLATE_INCONSISTENT);
    sel.pcrMask = 0;
    assert_int_equal(tk_ec_pair(f, s, "P-256", bind, 1, &pub, &priv), CKR_ATTRIBUTE_VALUE_INVALID);
}

/* ---- an authority */

struct authority {
    EVP_PKEY *key;
    uint8_t spki[256];
    size_t spki_len;
};

static void authority_new(struct authority *a)
{
    unsigned char *p = a->spki;
    int n;

    assert_non_null(a->key = EVP_EC_gen("P-256"));
    n = i2d_PUBKEY(a->key, NULL);
    assert_true(n > 0 && (size_t)n <= sizeof a->spki);
    assert_int_equal(i2d_PUBKEY(a->key, &p), n);
    a->spki_len = (size_t)n;
}

/* The PCR's value of now, through a key made to record it. */
static void pcr_now(uint8_t out[32])
{
    CK_TPMTOK_PCR_SELECTION sel = { CKM_SHA256, 1ul << PCR_BOOT };
    CK_ATTRIBUTE ref[] = { { CKA_TPMTOK_PCR_SELECTION, &sel, sizeof sel } };
    CK_OBJECT_HANDLE pub, priv;
    size_t len;
    CK_RV rv;
    uint8_t *v;

    ec_pair(ref, 1, &pub, &priv);
    assert_non_null(v = attr_get(f, s, priv, CKA_TPMTOK_PCR_VALUES, &len, &rv));
    memcpy(out, v, 32);
    free(v);
}

/* The authority approves the PCR's values of now: an approval object on the token. */
static void approve_now(const struct authority *a)
{
    struct tpm_pcr_sel sel = { TPM2_ALG_SHA256, 1u << PCR_BOOT };
    static const char app[] = TPMTOK_APPROVAL_APPLICATION;
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    uint8_t values[32], digest[32], ahash[32], der[128], name[68], blob[2048];
    size_t der_len = sizeof der, name_len, blob_len;
    const unsigned char *p = der;
    TPMT_SIGNATURE sig = { .sigAlg = TPM2_ALG_ECDSA };
    EVP_PKEY_CTX *ctx;
    ECDSA_SIG *es;
    TPM2B_PUBLIC pub;
    struct tpm_policy pol;
    CK_OBJECT_HANDLE h;

    pcr_now(values);
    tpm_pcr_digest(values, sizeof values, digest);
    tpm_approval_hash(&sel, digest, ahash);
    assert_non_null(ctx = EVP_PKEY_CTX_new(a->key, NULL));
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_int_equal(EVP_PKEY_sign(ctx, der, &der_len, ahash, sizeof ahash), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_non_null(es = d2i_ECDSA_SIG(NULL, &p, (long)der_len));
    sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
    sig.signature.ecdsa.signatureR.size = 32;
    sig.signature.ecdsa.signatureS.size = 32;
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.signature.ecdsa.signatureR.buffer, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.signature.ecdsa.signatureS.buffer, 32);
    ECDSA_SIG_free(es);
    assert_int_equal(tpm_authority_from_spki(a->spki, a->spki_len, &pol, name, &name_len), CKR_OK);
    (void)pub;
    assert_true(approval_make(&sel, digest, name, name_len, &sig, blob, sizeof blob, &blob_len));
    {
        CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, 1 },
                             { CKA_APPLICATION, (void *)app, sizeof app - 1 },
                             { CKA_VALUE, blob, blob_len } };
        assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_OK);
    }
}

static void test_key_bound_to_an_authority(void **state)
{
    struct authority a, other;
    CK_OBJECT_HANDLE pub, priv;

    (void)state;
    authority_new(&a);
    authority_new(&other);
    {
        CK_ATTRIBUTE bind[] = { { CKA_TPMTOK_POLICY_AUTHORITY, a.spki, a.spki_len } };
        ec_pair(bind, 1, &pub, &priv);
    }
    /* No approval yet; then one from another authority, which does not count. */
    assert_int_equal(sign_check(pub, priv), CKR_FUNCTION_FAILED);
    approve_now(&other);
    assert_int_equal(sign_check(pub, priv), CKR_FUNCTION_FAILED);
    /* Approved: signs, and again. */
    approve_now(&a);
    assert_int_equal(sign_check(pub, priv), CKR_OK);
    assert_int_equal(sign_check(pub, priv), CKR_OK);
    /* An update changes the PCR: refused until the authority approves the new values. */
    assert_int_equal(swtpm_pcr_extend(&tpm, PCR_BOOT, "an update"), 0);
    assert_int_equal(sign_check(pub, priv), CKR_FUNCTION_FAILED);
    approve_now(&a);
    assert_int_equal(sign_check(pub, priv), CKR_OK);
    /* Without the user, not even an approved key signs. */
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(sign_check(pub, priv), CKR_KEY_HANDLE_INVALID);
    EVP_PKEY_free(a.key);
    EVP_PKEY_free(other.key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_bound_to_pcr_values_of_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_bound_to_given_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_bound_to_an_authority, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * The rules around signing and verifying: input lengths, mechanism parameters, key types and
 * usage flags, the life of an operation and the output conventions of PKCS#11 2.40 section 5.2,
 * public sessions, keys that need a context-specific login, and what the mechanism list says.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/token_ops.h"
#include "util/rv.h"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static uint8_t msg[1024];
/* One of each key the tests need, made fresh for every test. */
static CK_OBJECT_HANDLE rsa_pub, rsa_priv, ec_pub, ec_priv, aes, hmac;

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(msg, sizeof msg, 21);
    return 0;
}

static int group_teardown(void **state)
{
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    CK_ATTRIBUTE aes_signs[] = { { CKA_SIGN, &yes, 1 }, { CKA_VERIFY, &yes, 1 } };

    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "sign rules", &s);
    if (slot == (CK_SLOT_ID)-1 || tk_rsa_pair(f, s, 2048, NULL, 0, &rsa_pub, &rsa_priv) != CKR_OK ||
        tk_ec_pair(f, s, "P-256", NULL, 0, &ec_pub, &ec_priv) != CKR_OK ||
        tk_secret(f, s, CKM_AES_KEY_GEN, 16, aes_signs, 2, &aes) != CKR_OK ||
        tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, NULL, 0, &hmac) != CKR_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

/* After an error the operation is over: the next call finds none. */
static void expect_sign_ended(const char *after)
{
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;

    tk_expect_rv(f->C_Sign(s, msg, 32, sig, &len), CKR_OPERATION_NOT_INITIALIZED,
                 "C_Sign after %s", after);
}

static void test_input_of_the_wrong_length_is_data_len_range(void **state)
{
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 }, x509 = { CKM_RSA_X_509, NULL, 0 };
    CK_MECHANISM raw_pss = { CKM_RSA_PKCS_PSS, &pss, sizeof pss };
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;

    /* PKCS #1 v1.5 takes at most k - 11 bytes, raw RSA k, PSS exactly the hash's length. */
    assert_int_equal(tk_sign(f, s, &pkcs, rsa_priv, msg, 246, NULL, 0, sig, &len),
                     CKR_DATA_LEN_RANGE);
    expect_sign_ended("CKR_DATA_LEN_RANGE");
    len = sizeof sig;
    assert_int_equal(tk_sign(f, s, &x509, rsa_priv, msg, 257, NULL, 0, sig, &len),
                     CKR_DATA_LEN_RANGE);
    len = sizeof sig;
    assert_int_equal(tk_sign(f, s, &raw_pss, rsa_priv, msg, 31, NULL, 0, sig, &len),
                     CKR_DATA_LEN_RANGE);
    len = sizeof sig;
    assert_int_equal(tk_sign(f, s, &raw_pss, rsa_priv, msg, 33, NULL, 0, sig, &len),
                     CKR_DATA_LEN_RANGE);
    expect_sign_ended("CKR_DATA_LEN_RANGE");
    assert_int_equal(tk_verify(f, s, &pkcs, rsa_pub, msg, 246, NULL, 0, sig, 256),
                     CKR_DATA_LEN_RANGE);
}

/* The TPM signs PSS with a salt as long as the hash, MGF1 with the same hash. */
static void test_pss_parameters_the_tpm_cannot_follow_are_param_invalid(void **state)
{
    static const struct { CK_MECHANISM_TYPE mech, hash; CK_RSA_PKCS_MGF_TYPE mgf; CK_ULONG slen; } bad[] = {
        { CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 20 },
        { CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 0 },
        { CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 64 },
        { CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA1, 32 },
        { CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA512, 48 },
        /* 2.40: with a hashing mechanism, hashAlg "must match the hash algorithm" of it */
        { CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 20 },
        { CKM_RSA_PKCS_PSS, CKM_MD5, CKG_MGF1_SHA256, 16 },
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CK_RSA_PKCS_PSS_PARAMS p = { bad[i].hash, bad[i].mgf, bad[i].slen };
        CK_MECHANISM m = { bad[i].mech, &p, sizeof p };
        tk_expect_rv(f->C_SignInit(s, &m, rsa_priv), CKR_MECHANISM_PARAM_INVALID,
                     "C_SignInit(%s, case %zu)", tk_mech_name(bad[i].mech), i);
    }
}

static void test_pss_parameters_of_the_wrong_size_are_param_invalid(void **state)
{
    CK_RSA_PKCS_PSS_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM none = { CKM_RSA_PKCS_PSS, NULL, 0 }, short_p = { CKM_RSA_PKCS_PSS, &p, sizeof p - 1 };
    CK_MECHANISM hashing = { CKM_SHA256_RSA_PKCS_PSS, NULL, 0 };

    assert_int_equal(f->C_SignInit(s, &none, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_SignInit(s, &short_p, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_SignInit(s, &hashing, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_VerifyInit(s, &none, rsa_pub), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_VerifyInit(s, &short_p, rsa_pub), CKR_MECHANISM_PARAM_INVALID);
}

static void test_mechanisms_that_do_not_sign_are_mechanism_invalid(void **state)
{
    static const CK_MECHANISM_TYPE others[] = { CKM_SHA256, CKM_SHA_1, CKM_RSA_PKCS_OAEP,
                                                CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_MD5_RSA_PKCS,
                                                CKM_VENDOR_DEFINED | 0x4321 };

    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        CK_MECHANISM m = { others[i], NULL, 0 };
        tk_expect_rv(f->C_SignInit(s, &m, rsa_priv), CKR_MECHANISM_INVALID, "C_SignInit(%s)",
                     tk_mech_name(others[i]));
        tk_expect_rv(f->C_VerifyInit(s, &m, rsa_pub), CKR_MECHANISM_INVALID, "C_VerifyInit(%s)",
                     tk_mech_name(others[i]));
    }
}

static void test_keys_of_another_type_are_key_type_inconsistent(void **state)
{
    static const struct { CK_MECHANISM_TYPE m; int key; } cases[] = {
        { CKM_ECDSA, 0 }, { CKM_ECDSA_SHA256, 0 }, { CKM_SHA256_HMAC, 0 },
        { CKM_SHA256_RSA_PKCS, 1 }, { CKM_RSA_PKCS, 1 }, { CKM_SHA_1_HMAC, 1 },
        { CKM_SHA256_RSA_PKCS, 2 }, { CKM_SHA256_HMAC, 2 }, { CKM_ECDSA, 2 },
        { CKM_ECDSA, 3 }, { CKM_SHA512_RSA_PKCS, 3 },
    };
    const CK_OBJECT_HANDLE priv[] = { rsa_priv, ec_priv, aes, hmac };
    const CK_OBJECT_HANDLE pub[] = { rsa_pub, ec_pub, aes, hmac };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CK_MECHANISM m = { cases[i].m, NULL, 0 };
        tk_expect_rv(f->C_SignInit(s, &m, priv[cases[i].key]), CKR_KEY_TYPE_INCONSISTENT,
                     "C_SignInit(%s) with key %d", tk_mech_name(cases[i].m), cases[i].key);
        tk_expect_rv(f->C_VerifyInit(s, &m, pub[cases[i].key]), CKR_KEY_TYPE_INCONSISTENT,
                     "C_VerifyInit(%s) with key %d", tk_mech_name(cases[i].m), cases[i].key);
    }
}

static void test_keys_without_the_usage_flag_are_not_permitted(void **state)
{
    CK_ATTRIBUTE no_sign[] = { { CKA_SIGN, &no, 1 } }, no_verify[] = { { CKA_VERIFY, &no, 1 } };
    CK_MECHANISM rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 }, ec = { CKM_ECDSA, NULL, 0 };
    CK_MECHANISM mac = { CKM_SHA256_HMAC, NULL, 0 };
    CK_OBJECT_HANDLE pub, priv, key;

    assert_int_equal(tk_rsa_pair(f, s, 2048, no_sign, 1, &pub, &priv), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &rsa, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(tk_ec_pair(f, s, "P-256", no_sign, 1, &pub, &priv), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &ec, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, no_sign, 1, &key), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &mac, key), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f->C_VerifyInit(s, &mac, key), CKR_OK);
    assert_int_equal(f->C_Verify(s, msg, 10, msg, 32), CKR_SIGNATURE_INVALID);
    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, no_verify, 1, &key), CKR_OK);
    assert_int_equal(f->C_VerifyInit(s, &mac, key), CKR_KEY_FUNCTION_NOT_PERMITTED);
    {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_int_equal(tk_import_public(f, s, k, no_verify, 1, &pub), CKR_OK);
        assert_int_equal(f->C_VerifyInit(s, &ec, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
        EVP_PKEY_free(k);
    }
}

/* The usage flags are read at every init: a change after a signature counts for the next. */
static void test_changed_usage_flags_count_from_the_next_init(void **state)
{
    CK_ATTRIBUTE sign_off[] = { { CKA_SIGN, &no, 1 } }, sign_on[] = { { CKA_SIGN, &yes, 1 } };
    CK_ATTRIBUTE verify_off[] = { { CKA_VERIFY, &no, 1 } };
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;

    assert_int_equal(tk_sign(f, s, &m, ec_priv, msg, 100, NULL, 0, sig, &len), CKR_OK);
    assert_int_equal(f->C_SetAttributeValue(s, ec_priv, sign_off, 1), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &m, ec_priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f->C_SetAttributeValue(s, ec_priv, sign_on, 1), CKR_OK);
    len = sizeof sig;
    assert_int_equal(tk_sign(f, s, &m, ec_priv, msg, 100, NULL, 0, sig, &len), CKR_OK);
    assert_int_equal(tk_verify(f, s, &m, ec_pub, msg, 100, NULL, 0, sig, len), CKR_OK);
    assert_int_equal(f->C_SetAttributeValue(s, ec_pub, verify_off, 1), CKR_OK);
    assert_int_equal(f->C_VerifyInit(s, &m, ec_pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
}

static void test_handles_that_are_not_keys_are_key_handle_invalid(void **state)
{
    static CK_OBJECT_CLASS data = CKO_DATA;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &data, sizeof data }, { CKA_VALUE, "x", 1 } };
    CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
    CK_OBJECT_HANDLE obj;

    assert_int_equal(f->C_CreateObject(s, t, 2, &obj), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &m, 0), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_SignInit(s, &m, 0xdead), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_SignInit(s, &m, obj), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_VerifyInit(s, &m, 0xdead), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_VerifyInit(s, &m, obj), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_DestroyObject(s, ec_priv), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &m, ec_priv), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_SignInit(s, NULL, ec_pub), CKR_ARGUMENTS_BAD);
}

/* A refused init leaves no operation behind: the next init with good arguments works. */
static void test_a_refused_init_leaves_no_operation(void **state)
{
    CK_RSA_PKCS_PSS_PARAMS bad = { CKM_SHA256, CKG_MGF1_SHA256, 3 };
    CK_MECHANISM pss = { CKM_RSA_PKCS_PSS, &bad, sizeof bad }, ec = { CKM_ECDSA, NULL, 0 };
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, mac = { CKM_SHA256_HMAC, NULL, 0 };
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;

    assert_int_equal(f->C_SignInit(s, &pss, rsa_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_SignInit(s, &ec, rsa_priv), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(f->C_SignInit(s, &sha, rsa_priv), CKR_MECHANISM_INVALID);
    assert_int_equal(f->C_SignInit(s, &ec, 0xdead), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(f->C_Sign(s, msg, 32, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_VerifyInit(s, &ec, rsa_pub), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(f->C_VerifyInit(s, &mac, hmac), CKR_OK);
    assert_int_equal(f->C_VerifyFinal(s, sig, 31), CKR_SIGNATURE_LEN_RANGE);
    assert_int_equal(f->C_SignInit(s, &ec, ec_priv), CKR_OK);
    assert_int_equal(f->C_Sign(s, msg, 32, sig, &len), CKR_OK);
}

static void test_second_init_is_operation_active_and_leaves_the_first(void **state)
{
    CK_MECHANISM ec = { CKM_ECDSA_SHA256, NULL, 0 }, rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;
    EVP_PKEY *check = public_key_of(f, s, ec_pub);

    assert_int_equal(f->C_SignInit(s, &ec, ec_priv), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &rsa, rsa_priv), CKR_OPERATION_ACTIVE);
    assert_int_equal(f->C_SignInit(s, &ec, ec_priv), CKR_OPERATION_ACTIVE);
    assert_int_equal(f->C_Sign(s, msg, 100, sig, &len), CKR_OK);
    assert_int_equal(len, 64);
    assert_int_equal(cu_verify(check, &ec, msg, 100, sig, len), 1);
    assert_int_equal(f->C_VerifyInit(s, &ec, ec_pub), CKR_OK);
    assert_int_equal(f->C_VerifyInit(s, &ec, ec_pub), CKR_OPERATION_ACTIVE);
    assert_int_equal(f->C_Verify(s, msg, 100, sig, len), CKR_OK);
    EVP_PKEY_free(check);
}

static void test_calls_without_init_are_not_initialized(void **state)
{
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;

    assert_int_equal(f->C_Sign(s, msg, 10, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_SignUpdate(s, msg, 10), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_SignFinal(s, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_Verify(s, msg, 10, sig, 64), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_VerifyUpdate(s, msg, 10), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_VerifyFinal(s, sig, 64), CKR_OPERATION_NOT_INITIALIZED);
}

/* 2.40 section 5.2 with C_Sign: a length query and a short buffer leave the operation active. */
static void check_sign_length_conventions(const CK_MECHANISM *m, CK_OBJECT_HANDLE priv,
                                          EVP_PKEY *check, CK_ULONG size, bool final)
{
    uint8_t sig[512];
    CK_ULONG len = 0;
    const char *name = tk_mech_name(m->mechanism);

    assert_int_equal(f->C_SignInit(s, (CK_MECHANISM *)m, priv), CKR_OK);
    if (final)
        assert_int_equal(f->C_SignUpdate(s, msg, 500), CKR_OK);
    tk_expect_rv(final ? f->C_SignFinal(s, NULL, &len) : f->C_Sign(s, msg, 500, NULL, &len),
                 CKR_OK, "%s length query", name);
    if (len != size)
        fail_msg("%s length query: %lu, want %lu", name, (unsigned long)len, (unsigned long)size);
    len = size - 1;
    tk_expect_rv(final ? f->C_SignFinal(s, sig, &len) : f->C_Sign(s, msg, 500, sig, &len),
                 CKR_BUFFER_TOO_SMALL, "%s into %lu bytes", name, (unsigned long)size - 1);
    if (len != size)
        fail_msg("%s too small: %lu, want %lu", name, (unsigned long)len, (unsigned long)size);
    len = sizeof sig;
    tk_expect_rv(final ? f->C_SignFinal(s, sig, &len) : f->C_Sign(s, msg, 500, sig, &len), CKR_OK,
                 "%s after the length conventions", name);
    assert_int_equal(len, size);
    if (check != NULL && cu_verify(check, m, msg, 500, sig, len) != 1)
        fail_msg("%s after the length conventions: OpenSSL finds it invalid", name);
    expect_sign_ended("a signature");
}

static void test_sign_length_query_and_small_buffer_keep_the_operation(void **state)
{
    CK_MECHANISM rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 }, ec = { CKM_ECDSA_SHA384, NULL, 0 };
    CK_MECHANISM mac = { CKM_SHA512_HMAC, NULL, 0 };
    EVP_PKEY *rsa_check = public_key_of(f, s, rsa_pub), *ec_check = public_key_of(f, s, ec_pub);

    for (int final = 0; final < 2; final++) {
        check_sign_length_conventions(&rsa, rsa_priv, rsa_check, 256, final);
        check_sign_length_conventions(&ec, ec_priv, ec_check, 64, final);
        check_sign_length_conventions(&mac, hmac, NULL, 64, final);
    }
    EVP_PKEY_free(rsa_check);
    EVP_PKEY_free(ec_check);
}

static void test_sign_errors_end_the_operation(void **state)
{
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    uint8_t sig[512];

    assert_int_equal(f->C_SignInit(s, &m, rsa_priv), CKR_OK);
    assert_int_equal(f->C_Sign(s, msg, 10, sig, NULL), CKR_ARGUMENTS_BAD);
    expect_sign_ended("CKR_ARGUMENTS_BAD from C_Sign");
    assert_int_equal(f->C_SignInit(s, &m, rsa_priv), CKR_OK);
    assert_int_equal(f->C_SignUpdate(s, NULL, 10), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_SignUpdate(s, msg, 10), CKR_OPERATION_NOT_INITIALIZED);
}

/*
 * The 2.40 tables list CKM_RSA_PKCS, CKM_RSA_X_509, CKM_RSA_PKCS_PSS and CKM_ECDSA for
 * single-part use. The token also takes their input in parts (clients such as pkcs11-tool
 * --test try C_SignUpdate first): the parts are gathered and signed as one, the input limit
 * still holds, and the result is what the single-part call gives.
 */
static void test_single_part_mechanisms_also_take_parts(void **state)
{
    static const size_t parts[] = { 7, 13 };
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    const struct { CK_MECHANISM m; CK_OBJECT_HANDLE priv, pub; bool same; } cases[] = {
        { { CKM_RSA_PKCS, NULL, 0 }, rsa_priv, rsa_pub, true },
        { { CKM_RSA_X_509, NULL, 0 }, rsa_priv, rsa_pub, true },
        { { CKM_RSA_PKCS_PSS, &pss, sizeof pss }, rsa_priv, rsa_pub, false },
        { { CKM_ECDSA, NULL, 0 }, ec_priv, ec_pub, false },
    };
    CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 };
    uint8_t one[512], many[512];
    CK_ULONG one_len, many_len;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *name = tk_mech_name(cases[i].m.mechanism);
        EVP_PKEY *check = public_key_of(f, s, cases[i].pub);
        one_len = many_len = 512;
        tk_expect_rv(tk_sign(f, s, &cases[i].m, cases[i].priv, msg, 32, NULL, 0, one, &one_len),
                     CKR_OK, "%s single-part", name);
        tk_expect_rv(tk_sign(f, s, &cases[i].m, cases[i].priv, msg, 32, parts, 2, many,
                             &many_len), CKR_OK, "%s in parts", name);
        if (cases[i].same)
            tk_expect_bytes(many, many_len, one, one_len, "%s in parts", name);
        if (cu_verify(check, &cases[i].m, msg, 32, many, many_len) != 1)
            fail_msg("%s signed in parts: OpenSSL finds it invalid", name);
        tk_expect_rv(tk_verify(f, s, &cases[i].m, cases[i].pub, msg, 32, parts, 2, many,
                               many_len), CKR_OK, "%s verified in parts", name);
        EVP_PKEY_free(check);
    }
    /* 2048-bit PKCS #1 v1.5 carries at most 245 bytes, however they come. */
    many_len = sizeof many;
    tk_expect_rv(tk_sign(f, s, &pkcs, rsa_priv, msg, 246, parts, 2, many, &many_len),
                 CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS over 246 bytes in parts");
    expect_sign_ended("CKR_DATA_LEN_RANGE in parts");
}

static void test_private_keys_do_not_sign_in_a_public_session(void **state)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_SESSION_HANDLE ro;
    CK_RV rv;

    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    /* Not even visible any more: either code says so. */
    rv = f->C_SignInit(ro, &m, ec_priv);
    if (rv != CKR_USER_NOT_LOGGED_IN && rv != CKR_KEY_HANDLE_INVALID)
        fail_msg("C_SignInit with a private key in a public session: 0x%lx", (unsigned long)rv);
    rv = f->C_SignInit(s, &m, rsa_priv);
    if (rv != CKR_USER_NOT_LOGGED_IN && rv != CKR_KEY_HANDLE_INVALID)
        fail_msg("C_SignInit with a private key after logout: 0x%lx", (unsigned long)rv);
}

static void test_verify_works_in_a_public_read_only_session(void **state)
{
    CK_MECHANISM rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 }, ec = { CKM_ECDSA_SHA256, NULL, 0 };
    uint8_t rsa_sig[512], ec_sig[512];
    CK_ULONG rsa_len = sizeof rsa_sig, ec_len = sizeof ec_sig;
    CK_SESSION_HANDLE ro;

    assert_int_equal(tk_sign(f, s, &rsa, rsa_priv, msg, 1000, NULL, 0, rsa_sig, &rsa_len), CKR_OK);
    assert_int_equal(tk_sign(f, s, &ec, ec_priv, msg, 1000, NULL, 0, ec_sig, &ec_len), CKR_OK);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(tk_verify(f, ro, &rsa, rsa_pub, msg, 1000, NULL, 0, rsa_sig, rsa_len), CKR_OK);
    assert_int_equal(tk_verify(f, ro, &ec, ec_pub, msg, 1000, NULL, 0, ec_sig, ec_len), CKR_OK);
    assert_int_equal(tk_verify(f, ro, &ec, ec_pub, msg, 999, NULL, 0, ec_sig, ec_len),
                     CKR_SIGNATURE_INVALID);
}

/*
 * 2.40 CKA_ALWAYS_AUTHENTICATE: "the user has to supply the PIN for each use"; without it "calls
 * using the key" give CKR_USER_NOT_LOGGED_IN; C_Login(CKU_CONTEXT_SPECIFIC) after the init.
 */
static void test_always_authenticate_key_needs_a_context_login_per_signature(void **state)
{
    CK_ATTRIBUTE always[] = { { CKA_ALWAYS_AUTHENTICATE, &yes, 1 } };
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_OBJECT_HANDLE pub, priv;
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;
    EVP_PKEY *check;

    assert_int_equal(tk_ec_pair(f, s, "P-256", always, 1, &pub, &priv), CKR_OK);
    assert_true(attr_bool(f, s, priv, CKA_ALWAYS_AUTHENTICATE));
    check = public_key_of(f, s, pub);
    assert_int_equal(f->C_SignInit(s, &m, priv), CKR_OK);
    assert_int_equal(f->C_Sign(s, msg, 100, sig, &len), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN,
                                strlen(USER_PIN)), CKR_OK);
    len = sizeof sig;
    assert_int_equal(f->C_Sign(s, msg, 100, sig, &len), CKR_OK);
    assert_int_equal(cu_verify(check, &m, msg, 100, sig, len), 1);
    /* The next signature needs it again; a wrong PIN is as if there had been no login. */
    assert_int_equal(f->C_SignInit(s, &m, priv), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)"wrong-pin", 9),
                     CKR_PIN_INCORRECT);
    len = sizeof sig;
    assert_int_equal(f->C_Sign(s, msg, 100, sig, &len), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN,
                                strlen(USER_PIN)), CKR_OK);
    len = sizeof sig;
    assert_int_equal(f->C_Sign(s, msg, 100, sig, &len), CKR_OK);
    assert_int_equal(cu_verify(check, &m, msg, 100, sig, len), 1);
    EVP_PKEY_free(check);
}

/* 2.40: C_Login(CKU_CONTEXT_SPECIFIC) for a key without the attribute is
 * CKR_OPERATION_NOT_INITIALIZED, "but the active cryptographic operation will not be affected". */
static void test_context_login_for_an_ordinary_key_changes_nothing(void **state)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;

    assert_int_equal(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN,
                                strlen(USER_PIN)), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_SignInit(s, &m, ec_priv), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN,
                                strlen(USER_PIN)), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_Sign(s, msg, 100, sig, &len), CKR_OK);
}

static void test_signature_mechanisms_are_listed_with_sign_and_verify(void **state)
{
    static const CK_MECHANISM_TYPE mechs[] = {
        CKM_RSA_PKCS, CKM_RSA_X_509, CKM_RSA_PKCS_PSS, CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS,
        CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS,
        CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA, CKM_ECDSA_SHA1,
        CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_SHA_1_HMAC, CKM_SHA256_HMAC,
        CKM_SHA384_HMAC, CKM_SHA512_HMAC, CKM_SHA_1_HMAC_GENERAL, CKM_SHA256_HMAC_GENERAL,
        CKM_SHA384_HMAC_GENERAL, CKM_SHA512_HMAC_GENERAL,
    };
    CK_MECHANISM_INFO info;

    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
        const char *name = tk_mech_name(mechs[i]);
        if (!tk_listed(f, slot, mechs[i]))
            fail_msg("%s is not in the mechanism list", name);
        tk_expect_rv(f->C_GetMechanismInfo(slot, mechs[i], &info), CKR_OK, "info of %s", name);
        if ((info.flags & (CKF_HW | CKF_SIGN | CKF_VERIFY)) != (CKF_HW | CKF_SIGN | CKF_VERIFY) ||
            (info.flags & (CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER | CKF_DIGEST)) != 0)
            fail_msg("%s flags 0x%lx", name, (unsigned long)info.flags);
    }
}

static void test_signatures_with_recovery_are_not_offered(void **state)
{
    CK_MECHANISM m = { CKM_RSA_X_509, NULL, 0 };
    CK_RV rv;

    rv = f->C_SignRecoverInit(s, &m, rsa_priv);
    if (rv != CKR_FUNCTION_NOT_SUPPORTED && rv != CKR_MECHANISM_INVALID)
        fail_msg("C_SignRecoverInit: 0x%lx", (unsigned long)rv);
    rv = f->C_VerifyRecoverInit(s, &m, rsa_pub);
    if (rv != CKR_FUNCTION_NOT_SUPPORTED && rv != CKR_MECHANISM_INVALID)
        fail_msg("C_VerifyRecoverInit: 0x%lx", (unsigned long)rv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_input_of_the_wrong_length_is_data_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pss_parameters_the_tpm_cannot_follow_are_param_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pss_parameters_of_the_wrong_size_are_param_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mechanisms_that_do_not_sign_are_mechanism_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_of_another_type_are_key_type_inconsistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_without_the_usage_flag_are_not_permitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_usage_flags_count_from_the_next_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handles_that_are_not_keys_are_key_handle_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_init_leaves_no_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_init_is_operation_active_and_leaves_the_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calls_without_init_are_not_initialized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_length_query_and_small_buffer_keep_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_errors_end_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_part_mechanisms_also_take_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_keys_do_not_sign_in_a_public_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_works_in_a_public_read_only_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_always_authenticate_key_needs_a_context_login_per_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_login_for_an_ordinary_key_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_mechanisms_are_listed_with_sign_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signatures_with_recovery_are_not_offered, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * RSA encryption: PKCS #1 v1.5 and OAEP (SHA-1, SHA-256; an empty label and one ending in a
 * zero byte) with the public key in the token, decryption with the private key in the TPM,
 * each checked against OpenSSL both ways; the length and validity rules and their codes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rsa.h>

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
static EVP_PKEY *ossl_rsa;
static uint8_t msg[256];
/* OpenSSL's key in the token (both halves), and a pair the token made. */
static CK_OBJECT_HANDLE imp_pub, imp_priv, gen_pub, gen_priv;

static CK_RSA_PKCS_OAEP_PARAMS oaep[] = {
    { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 },
    { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 },
    { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, "abc", 4 },
    { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, "abc", 4 },
};
#define N_MECHS 5   /* CKM_RSA_PKCS, then OAEP with each parameter */

static CK_MECHANISM mech(size_t i)
{
    if (i == 0)
        return (CK_MECHANISM){ CKM_RSA_PKCS, NULL, 0 };
    return (CK_MECHANISM){ CKM_RSA_PKCS_OAEP, &oaep[i - 1], sizeof oaep[0] };
}

static const char *mech_text(size_t i)
{
    static const char *text[] = { "PKCS #1 v1.5", "OAEP SHA-1", "OAEP SHA-256",
                                  "OAEP SHA-1 with a label", "OAEP SHA-256 with a label" };
    return text[i];
}

/* The most a 2048-bit modulus carries under each. */
static size_t max_plain(size_t i)
{
    return i == 0 ? 256 - 11 : oaep[i - 1].hashAlg == CKM_SHA_1 ? 256 - 42 : 256 - 66;
}

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(msg, sizeof msg, 61);
    return (ossl_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(ossl_rsa);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "rsa cipher", &s);
    if (slot == (CK_SLOT_ID)-1 || tk_import_public(f, s, ossl_rsa, NULL, 0, &imp_pub) != CKR_OK ||
        tk_import_private(f, s, ossl_rsa, NULL, 0, &imp_priv) != CKR_OK ||
        tk_rsa_pair(f, s, 2048, NULL, 0, &gen_pub, &gen_priv) != CKR_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static void test_token_encryption_decrypts_in_openssl(void **state)
{
    for (size_t i = 0; i < N_MECHS; i++) {
        CK_MECHANISM m = mech(i);
        const size_t lens[] = { 0, 1, 32, max_plain(i) };
        for (size_t j = 0; j < 4; j++) {
            uint8_t ct[512], pt[512];
            CK_ULONG ct_len = sizeof ct;
            size_t pt_len;
            tk_expect_rv(tk_encrypt(f, s, &m, imp_pub, msg, lens[j], NULL, 0, ct, &ct_len), CKR_OK,
                         "%s encrypt of %zu bytes", mech_text(i), lens[j]);
            assert_int_equal(ct_len, 256);
            if (cu_rsa_decrypt(ossl_rsa, &m, ct, ct_len, pt, &pt_len) != 0)
                fail_msg("%s of %zu bytes: OpenSSL cannot decrypt it", mech_text(i), lens[j]);
            tk_expect_bytes(pt, pt_len, msg, lens[j], "%s round trip through OpenSSL", mech_text(i));
        }
    }
}

static void test_openssl_encryption_decrypts_in_the_token(void **state)
{
    EVP_PKEY *gen = public_key_of(f, s, gen_pub);

    assert_non_null(gen);
    for (size_t i = 0; i < N_MECHS; i++) {
        CK_MECHANISM m = mech(i);
        const size_t lens[] = { 0, 1, 32, max_plain(i) };
        for (size_t j = 0; j < 4; j++)
            for (int k = 0; k < 2; k++) {
                uint8_t ct[512], pt[512];
                size_t ct_len;
                CK_ULONG pt_len = sizeof pt;
                assert_int_equal(cu_rsa_encrypt(k ? gen : ossl_rsa, &m, msg, lens[j], ct, &ct_len), 0);
                tk_expect_rv(tk_decrypt(f, s, &m, k ? gen_priv : imp_priv, ct, ct_len, NULL, 0,
                                        pt, &pt_len), CKR_OK, "%s decrypt of %zu bytes, %s key",
                             mech_text(i), lens[j], k ? "generated" : "imported");
                tk_expect_bytes(pt, pt_len, msg, lens[j], "%s decrypt of %zu bytes, %s key",
                                mech_text(i), lens[j], k ? "generated" : "imported");
            }
    }
    EVP_PKEY_free(gen);
}

static void test_generated_key_round_trips_in_the_token(void **state)
{
    for (size_t i = 0; i < N_MECHS; i++) {
        CK_MECHANISM m = mech(i);
        uint8_t ct[512], pt[512];
        CK_ULONG ct_len = sizeof ct, pt_len = sizeof pt;
        assert_int_equal(tk_encrypt(f, s, &m, gen_pub, msg, 100, NULL, 0, ct, &ct_len), CKR_OK);
        tk_expect_rv(tk_decrypt(f, s, &m, gen_priv, ct, ct_len, NULL, 0, pt, &pt_len), CKR_OK,
                     "%s decrypt", mech_text(i));
        tk_expect_bytes(pt, pt_len, msg, 100, "%s round trip", mech_text(i));
        /* Randomized padding: the same message encrypts differently each time. */
        {
            uint8_t again[512];
            CK_ULONG again_len = sizeof again;
            assert_int_equal(tk_encrypt(f, s, &m, gen_pub, msg, 100, NULL, 0, again, &again_len),
                             CKR_OK);
            if (memcmp(again, ct, 256) == 0)
                fail_msg("%s: two encryptions gave one ciphertext", mech_text(i));
        }
    }
}

/*
 * The TPM appends a zero to a label that lacks one, so it can only decrypt with labels ending
 * in zero; encryption runs in OpenSSL and takes any label.
 */
static void test_oaep_label_without_a_final_zero_encrypts_but_does_not_decrypt(void **state)
{
    CK_RSA_PKCS_OAEP_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, "abc", 3 };
    CK_MECHANISM m = { CKM_RSA_PKCS_OAEP, &p, sizeof p };
    uint8_t ct[512], pt[512];
    CK_ULONG ct_len = sizeof ct, pt_len = sizeof pt;
    size_t len;
    CK_RV rv;

    assert_int_equal(tk_encrypt(f, s, &m, imp_pub, msg, 20, NULL, 0, ct, &ct_len), CKR_OK);
    assert_int_equal(cu_rsa_decrypt(ossl_rsa, &m, ct, ct_len, pt, &len), 0);
    tk_expect_bytes(pt, len, msg, 20, "OAEP with the label \"abc\" through OpenSSL");
    rv = f->C_DecryptInit(s, &m, imp_priv);
    if (rv == CKR_OK)
        rv = f->C_Decrypt(s, ct, ct_len, pt, &pt_len);
    tk_expect_rv(rv, CKR_MECHANISM_PARAM_INVALID, "decrypt with the label \"abc\"");
    assert_int_equal(f->C_Decrypt(s, ct, ct_len, pt, &pt_len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_oaep_parameters_the_tpm_cannot_follow_are_param_invalid(void **state)
{
    static const CK_RSA_PKCS_OAEP_PARAMS bad[] = {
        { CKM_SHA256, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 },
        { CKM_SHA_1, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 },
        { CKM_MD5, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 },
        { CKM_SHA256, CKG_MGF1_SHA256, 2, NULL, 0 },
    };
    CK_RSA_PKCS_OAEP_PARAMS good = oaep[1];
    CK_MECHANISM none = { CKM_RSA_PKCS_OAEP, NULL, 0 };
    CK_MECHANISM short_p = { CKM_RSA_PKCS_OAEP, &good, sizeof good - 1 };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CK_MECHANISM m = { CKM_RSA_PKCS_OAEP, (void *)&bad[i], sizeof bad[i] };
        tk_expect_rv(f->C_DecryptInit(s, &m, imp_priv), CKR_MECHANISM_PARAM_INVALID,
                     "C_DecryptInit with OAEP parameters %zu", i);
    }
    assert_int_equal(f->C_EncryptInit(s, &none, imp_pub), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_DecryptInit(s, &none, imp_priv), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_EncryptInit(s, &short_p, imp_pub), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_DecryptInit(s, &short_p, imp_priv), CKR_MECHANISM_PARAM_INVALID);
}

static void test_plaintext_too_long_is_data_len_range(void **state)
{
    for (size_t i = 0; i < N_MECHS; i++) {
        CK_MECHANISM m = mech(i);
        uint8_t ct[512];
        CK_ULONG ct_len = sizeof ct;
        tk_expect_rv(tk_encrypt(f, s, &m, imp_pub, msg, max_plain(i) + 1, NULL, 0, ct, &ct_len),
                     CKR_DATA_LEN_RANGE, "%s encrypt of %zu bytes", mech_text(i), max_plain(i) + 1);
        tk_expect_rv(f->C_Encrypt(s, msg, 1, ct, &ct_len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s C_Encrypt after CKR_DATA_LEN_RANGE", mech_text(i));
    }
}

static void test_ciphertext_of_the_wrong_length_is_encrypted_data_len_range(void **state)
{
    static const size_t lens[] = { 0, 128, 255, 257 };
    uint8_t ct[512] = { 0 }, pt[512];

    for (size_t i = 0; i < N_MECHS; i++) {
        CK_MECHANISM m = mech(i);
        for (size_t j = 0; j < 4; j++) {
            CK_ULONG pt_len = sizeof pt;
            tk_expect_rv(tk_decrypt(f, s, &m, imp_priv, ct, lens[j], NULL, 0, pt, &pt_len),
                         CKR_ENCRYPTED_DATA_LEN_RANGE, "%s decrypt of %zu bytes", mech_text(i),
                         lens[j]);
        }
    }
}

/* A raw RSA encryption of a block that is not a valid padding of anything. */
static size_t raw_encrypt(const uint8_t block[256], uint8_t ct[256])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ossl_rsa, NULL);
    size_t len = 256;

    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0);
    assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &len, block, 256), 1);
    EVP_PKEY_CTX_free(ctx);
    return len;
}

static void test_ciphertext_that_is_no_padding_is_encrypted_data_invalid(void **state)
{
    uint8_t block[256], ct[512], pt[512];
    size_t ct_len;

    /* 00 01 ...: a signature block, not an encryption block; 01 ...: not OAEP's leading zero. */
    memcpy(block, msg, 256);
    block[0] = 0x00;
    block[1] = 0x01;
    ct_len = raw_encrypt(block, ct);
    for (size_t i = 0; i < N_MECHS; i++) {
        CK_MECHANISM m = mech(i);
        CK_ULONG pt_len = sizeof pt;
        tk_expect_rv(tk_decrypt(f, s, &m, imp_priv, ct, ct_len, NULL, 0, pt, &pt_len),
                     CKR_ENCRYPTED_DATA_INVALID, "%s decrypt of no padding", mech_text(i));
        tk_expect_rv(f->C_Decrypt(s, ct, ct_len, pt, &pt_len), CKR_OPERATION_NOT_INITIALIZED,
                     "%s C_Decrypt after CKR_ENCRYPTED_DATA_INVALID", mech_text(i));
    }
    /* OAEP under another label or hash, and a number beyond the modulus, are invalid too. */
    {
        CK_MECHANISM with_label = mech(4), no_label = mech(2), sha1 = mech(3);
        CK_ULONG pt_len = sizeof pt;
        assert_int_equal(cu_rsa_encrypt(ossl_rsa, &with_label, msg, 10, ct, &ct_len), 0);
        assert_int_equal(tk_decrypt(f, s, &no_label, imp_priv, ct, ct_len, NULL, 0, pt, &pt_len),
                         CKR_ENCRYPTED_DATA_INVALID);
        assert_int_equal(tk_decrypt(f, s, &sha1, imp_priv, ct, ct_len, NULL, 0, pt, &pt_len),
                         CKR_ENCRYPTED_DATA_INVALID);
        memset(ct, 0xff, 256);
        assert_int_equal(tk_decrypt(f, s, &no_label, imp_priv, ct, 256, NULL, 0, pt, &pt_len),
                         CKR_ENCRYPTED_DATA_INVALID);
    }
}

static void test_decrypt_into_a_buffer_of_the_plaintext_size_works(void **state)
{
    CK_MECHANISM m = mech(2);
    uint8_t ct[512], pt[512];
    size_t ct_len;
    CK_ULONG len = 0;

    assert_int_equal(cu_rsa_encrypt(ossl_rsa, &m, msg, 10, ct, &ct_len), 0);
    assert_int_equal(f->C_DecryptInit(s, &m, imp_priv), CKR_OK);
    assert_int_equal(f->C_Decrypt(s, ct, ct_len, NULL, &len), CKR_OK);
    assert_true(len >= 10 && len <= 256);
    len = 9;
    assert_int_equal(f->C_Decrypt(s, ct, ct_len, pt, &len), CKR_BUFFER_TOO_SMALL);
    assert_true(len >= 10 && len <= 256);
    len = 10;
    assert_int_equal(f->C_Decrypt(s, ct, ct_len, pt, &len), CKR_OK);
    tk_expect_bytes(pt, len, msg, 10, "C_Decrypt into 10 bytes");
}

static void test_encrypt_length_query_and_small_buffer_keep_the_operation(void **state)
{
    CK_MECHANISM m = mech(0);
    uint8_t ct[512], pt[512];
    CK_ULONG len = 0;
    size_t pt_len;

    assert_int_equal(f->C_EncryptInit(s, &m, imp_pub), CKR_OK);
    assert_int_equal(f->C_Encrypt(s, msg, 50, NULL, &len), CKR_OK);
    assert_int_equal(len, 256);
    len = 255;
    assert_int_equal(f->C_Encrypt(s, msg, 50, ct, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 256);
    assert_int_equal(f->C_Encrypt(s, msg, 50, ct, &len), CKR_OK);
    assert_int_equal(cu_rsa_decrypt(ossl_rsa, &m, ct, len, pt, &pt_len), 0);
    tk_expect_bytes(pt, pt_len, msg, 50, "after the length conventions");
}

static void test_rsa_encryption_works_in_a_public_read_only_session(void **state)
{
    CK_MECHANISM m = mech(3);
    CK_SESSION_HANDLE ro;
    uint8_t ct[512], pt[512];
    CK_ULONG ct_len = sizeof ct;
    size_t pt_len;
    CK_RV rv;

    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(tk_encrypt(f, ro, &m, imp_pub, msg, 77, NULL, 0, ct, &ct_len), CKR_OK);
    assert_int_equal(cu_rsa_decrypt(ossl_rsa, &m, ct, ct_len, pt, &pt_len), 0);
    tk_expect_bytes(pt, pt_len, msg, 77, "encrypted in a public session");
    rv = f->C_DecryptInit(ro, &m, imp_priv);
    if (rv != CKR_USER_NOT_LOGGED_IN && rv != CKR_KEY_HANDLE_INVALID)
        fail_msg("C_DecryptInit with a private key in a public session: %s", rv_name(rv));
}

static void test_rsa_keys_without_encrypt_or_decrypt_are_not_permitted(void **state)
{
    CK_ATTRIBUTE no_encrypt[] = { { CKA_ENCRYPT, &no, 1 } }, no_decrypt[] = { { CKA_DECRYPT, &no, 1 } };
    CK_MECHANISM m = mech(0);
    CK_OBJECT_HANDLE pub, priv;

    assert_int_equal(tk_import_public(f, s, ossl_rsa, no_encrypt, 1, &pub), CKR_OK);
    assert_int_equal(f->C_EncryptInit(s, &m, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(tk_import_private(f, s, ossl_rsa, no_decrypt, 1, &priv), CKR_OK);
    assert_int_equal(f->C_DecryptInit(s, &m, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
}

/* Listed for single-part use, RSA encryption also takes its input in parts, gathered as one. */
static void test_rsa_encryption_takes_parts_too(void **state)
{
    static const size_t parts[] = { 3, 11 };

    for (size_t i = 0; i < N_MECHS; i++) {
        CK_MECHANISM m = mech(i);
        uint8_t ct[512], pt[512];
        CK_ULONG ct_len = sizeof ct, pt_len = sizeof pt;
        size_t len = max_plain(i);
        tk_expect_rv(tk_encrypt(f, s, &m, imp_pub, msg, len, parts, 2, ct, &ct_len), CKR_OK,
                     "%s encrypt in parts", mech_text(i));
        assert_int_equal(ct_len, 256);
        tk_expect_rv(tk_decrypt(f, s, &m, imp_priv, ct, ct_len, parts, 2, pt, &pt_len), CKR_OK,
                     "%s decrypt in parts", mech_text(i));
        tk_expect_bytes(pt, pt_len, msg, len, "%s round trip in parts", mech_text(i));
        ct_len = sizeof ct;
        tk_expect_rv(tk_encrypt(f, s, &m, imp_pub, msg, len + 1, parts, 2, ct, &ct_len),
                     CKR_DATA_LEN_RANGE, "%s encrypt of %zu bytes in parts", mech_text(i),
                     len + 1);
    }
}

static void test_always_authenticate_key_needs_a_context_login_to_decrypt(void **state)
{
    CK_ATTRIBUTE always[] = { { CKA_ALWAYS_AUTHENTICATE, &yes, 1 } };
    CK_MECHANISM m = mech(1);
    CK_OBJECT_HANDLE priv;
    uint8_t ct[512], pt[512];
    size_t ct_len;
    CK_ULONG len = sizeof pt;

    assert_int_equal(tk_import_private(f, s, ossl_rsa, always, 1, &priv), CKR_OK);
    assert_int_equal(cu_rsa_encrypt(ossl_rsa, &m, msg, 16, ct, &ct_len), 0);
    assert_int_equal(f->C_DecryptInit(s, &m, priv), CKR_OK);
    assert_int_equal(f->C_Decrypt(s, ct, ct_len, pt, &len), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)USER_PIN,
                                strlen(USER_PIN)), CKR_OK);
    len = sizeof pt;
    assert_int_equal(f->C_Decrypt(s, ct, ct_len, pt, &len), CKR_OK);
    tk_expect_bytes(pt, len, msg, 16, "decrypt after the context-specific login");
    assert_int_equal(f->C_DecryptInit(s, &m, priv), CKR_OK);
    len = sizeof pt;
    assert_int_equal(f->C_Decrypt(s, ct, ct_len, pt, &len), CKR_USER_NOT_LOGGED_IN);
}

static void test_rsa_cipher_mechanisms_are_listed(void **state)
{
    CK_MECHANISM_INFO info;
    const CK_FLAGS cipher = CKF_HW | CKF_ENCRYPT | CKF_DECRYPT;

    assert_true(tk_listed(f, slot, CKM_RSA_PKCS));
    assert_true(tk_listed(f, slot, CKM_RSA_PKCS_OAEP));
    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_RSA_PKCS, &info), CKR_OK);
    assert_int_equal(info.flags & (cipher | CKF_SIGN | CKF_VERIFY), cipher | CKF_SIGN | CKF_VERIFY);
    assert_true(info.ulMinKeySize <= 2048 && info.ulMaxKeySize >= 2048);
    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_RSA_PKCS_OAEP, &info), CKR_OK);
    assert_int_equal(info.flags & cipher, cipher);
    assert_false(info.flags & (CKF_SIGN | CKF_VERIFY | CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_encryption_decrypts_in_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openssl_encryption_decrypts_in_the_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_key_round_trips_in_the_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oaep_label_without_a_final_zero_encrypts_but_does_not_decrypt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oaep_parameters_the_tpm_cannot_follow_are_param_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_too_long_is_data_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ciphertext_of_the_wrong_length_is_encrypted_data_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ciphertext_that_is_no_padding_is_encrypted_data_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_into_a_buffer_of_the_plaintext_size_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypt_length_query_and_small_buffer_keep_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_encryption_works_in_a_public_read_only_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_keys_without_encrypt_or_decrypt_are_not_permitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_encryption_takes_parts_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_always_authenticate_key_needs_a_context_login_to_decrypt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_cipher_mechanisms_are_listed, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

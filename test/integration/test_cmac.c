/*
 * AES-CMAC in the TPM (TPM2_MAC): CKM_AES_CMAC and CKM_AES_CMAC_GENERAL for every AES key
 * size, single-part and in parts, equal to OpenSSL's CMAC for keys of known value; the
 * mechanism's parameter and info; which keys may MAC; verification; saved operation state.
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

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const CK_ATTRIBUTE mac_usage[] = {
    { CKA_SIGN, &yes, 1 }, { CKA_VERIFY, &yes, 1 },
    { CKA_ENCRYPT, &no, 1 }, { CKA_DECRYPT, &no, 1 },
};
#define N_MAC_USAGE (sizeof mac_usage / sizeof mac_usage[0])

static const size_t msg_lengths[] = { 0, 1, 15, 16, 17, 1023, 1024, 1025, 5000 };
#define N_MSG (sizeof msg_lengths / sizeof msg_lengths[0])
static const size_t odd_parts[] = { 1, 15, 100, 0, 1023, 1025 };
static uint8_t msg[5000];

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(msg, sizeof msg, 41);
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
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "cmac", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static void openssl_cmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                         uint8_t out[16])
{
    assert_true(cu_cmac(key, key_len, data, len, out));
}

static CK_OBJECT_HANDLE import_mac_key(const uint8_t *value, size_t len)
{
    CK_OBJECT_HANDLE key;

    tk_expect_rv(tk_import_secret(f, s, CKK_AES, value, len, mac_usage, N_MAC_USAGE, &key),
                 CKR_OK, "import of a %zu-byte AES key", len);
    return key;
}

/* The token's MAC under m (want_len bytes of OpenSSL's) equals OpenSSL's, and verifies. */
static void check_mac(CK_OBJECT_HANDLE key, const uint8_t *value, size_t value_len,
                      const CK_MECHANISM *m, size_t want_len, size_t len, bool parts)
{
    uint8_t got[32], want[16];
    CK_ULONG got_len = sizeof got;
    const char *how = parts ? "in parts" : "single-part";

    openssl_cmac(value, value_len, msg, len, want);
    tk_expect_rv(tk_sign(f, s, m, key, msg, len, parts ? odd_parts : NULL, 6, got, &got_len),
                 CKR_OK, "%s of %zu bytes %s", tk_mech_name(m->mechanism), len, how);
    tk_expect_bytes(got, got_len, want, want_len, "%s of %zu bytes %s with a %zu-byte key",
                    tk_mech_name(m->mechanism), len, how, value_len);
    tk_expect_rv(tk_verify(f, s, m, key, msg, len, parts ? NULL : odd_parts, 6, want, want_len),
                 CKR_OK, "%s verify of %zu bytes", tk_mech_name(m->mechanism), len);
}

static void test_cmac_equals_openssl_for_every_key_size(void **state)
{
    static const size_t sizes[] = { 16, 32 }; /* swtpm has no AES-192 */
    CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
    uint8_t value[32];

    cu_fill(value, sizeof value, 42);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        CK_OBJECT_HANDLE key = import_mac_key(value, sizes[k]);
        for (size_t j = 0; j < N_MSG; j++) {
            check_mac(key, value, sizes[k], &m, 16, msg_lengths[j], false);
            check_mac(key, value, sizes[k], &m, 16, msg_lengths[j], true);
        }
    }
}

/* SP 800-38B's first AES-128 example: the empty message. */
static void test_cmac_of_the_standard_example(void **state)
{
    static const uint8_t key_value[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                           0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };
    static const uint8_t want[16] = { 0xbb, 0x1d, 0x69, 0x29, 0xe9, 0x59, 0x37, 0x28,
                                      0x7f, 0xa3, 0x7d, 0x12, 0x9b, 0x75, 0x67, 0x46 };
    CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
    CK_OBJECT_HANDLE key = import_mac_key(key_value, sizeof key_value);
    uint8_t got[16];
    CK_ULONG len = sizeof got;

    assert_int_equal(tk_sign(f, s, &m, key, msg, 0, NULL, 0, got, &len), CKR_OK);
    tk_expect_bytes(got, len, want, sizeof want, "CMAC of the empty message");
}

static void test_cmac_general_gives_the_leading_bytes(void **state)
{
    static const CK_ULONG outs[] = { 1, 4, 8, 15, 16 };
    uint8_t value[32];
    CK_OBJECT_HANDLE key;

    cu_fill(value, sizeof value, 43);
    key = import_mac_key(value, 32);
    for (size_t j = 0; j < sizeof outs / sizeof outs[0]; j++) {
        CK_ULONG out = outs[j];
        CK_MECHANISM m = { CKM_AES_CMAC_GENERAL, &out, sizeof out };
        check_mac(key, value, 32, &m, out, 1000, false);
        check_mac(key, value, 32, &m, out, 3000, true);
    }
}

static void test_cmac_parameters_are_checked(void **state)
{
    CK_OBJECT_HANDLE key;
    CK_ULONG zero = 0, too_long = 17, eight = 8;
    CK_MECHANISM over = { CKM_AES_CMAC_GENERAL, &too_long, sizeof too_long };
    CK_MECHANISM empty = { CKM_AES_CMAC_GENERAL, &zero, sizeof zero };
    CK_MECHANISM none = { CKM_AES_CMAC_GENERAL, NULL, 0 };
    CK_MECHANISM short_p = { CKM_AES_CMAC_GENERAL, &eight, sizeof eight - 1 };
    CK_MECHANISM plain_with = { CKM_AES_CMAC, &eight, sizeof eight };

    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, mac_usage, N_MAC_USAGE, &key), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &over, key), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_VerifyInit(s, &over, key), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_SignInit(s, &empty, key), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_SignInit(s, &none, key), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_SignInit(s, &short_p, key), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(f->C_SignInit(s, &plain_with, key), CKR_MECHANISM_PARAM_INVALID);
}

static void test_generated_key_macs_and_verification_tells_wrong_macs(void **state)
{
    CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
    CK_OBJECT_HANDLE key, other;
    uint8_t mac[16];
    CK_ULONG len = sizeof mac;

    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 32, mac_usage, N_MAC_USAGE, &key), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 32, mac_usage, N_MAC_USAGE, &other), CKR_OK);
    assert_int_equal(tk_sign(f, s, &m, key, msg, 3000, odd_parts, 6, mac, &len), CKR_OK);
    assert_int_equal(len, 16);
    assert_int_equal(tk_verify(f, s, &m, key, msg, 3000, NULL, 0, mac, 16), CKR_OK);
    assert_int_equal(tk_verify(f, s, &m, other, msg, 3000, NULL, 0, mac, 16),
                     CKR_SIGNATURE_INVALID);
    assert_int_equal(tk_verify(f, s, &m, key, msg, 2999, NULL, 0, mac, 16), CKR_SIGNATURE_INVALID);
    mac[15] ^= 1;
    assert_int_equal(tk_verify(f, s, &m, key, msg, 3000, NULL, 0, mac, 16), CKR_SIGNATURE_INVALID);
    mac[15] ^= 1;
    assert_int_equal(tk_verify(f, s, &m, key, msg, 3000, NULL, 0, mac, 15), CKR_SIGNATURE_LEN_RANGE);
    assert_int_equal(tk_verify(f, s, &m, key, msg, 3000, odd_parts, 6, mac, 16), CKR_OK);
}

/* CKA_SIGN/CKA_VERIFY decide, and only AES keys do CMAC. */
static void test_only_aes_keys_with_sign_may_mac(void **state)
{
    CK_MECHANISM cmac = { CKM_AES_CMAC, NULL, 0 };
    CK_MECHANISM hmac = { CKM_SHA256_HMAC, NULL, 0 };
    CK_MECHANISM cbc = { CKM_AES_CBC, msg, 16 };
    CK_OBJECT_HANDLE crypt_only, mac_only, generic;

    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, NULL, 0, &crypt_only), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, mac_usage, N_MAC_USAGE, &mac_only),
                     CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, NULL, 0, &generic), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &cmac, crypt_only), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f->C_VerifyInit(s, &cmac, crypt_only), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f->C_EncryptInit(s, &cbc, mac_only), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f->C_SignInit(s, &cmac, generic), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(f->C_SignInit(s, &hmac, mac_only), CKR_KEY_TYPE_INCONSISTENT);
}

/* A CMAC in progress saved in one session and finished in another. */
static void test_cmac_state_is_saved_and_restored(void **state)
{
    CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
    uint8_t value[16], want[16], got[16], *st;
    CK_ULONG st_len = 0, len = sizeof got;
    CK_OBJECT_HANDLE key;
    CK_SESSION_HANDLE other;

    cu_fill(value, sizeof value, 44);
    key = import_mac_key(value, sizeof value);
    openssl_cmac(value, sizeof value, msg, 4000, want);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &other), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(f->C_SignUpdate(s, msg, 2500), CKR_OK);
    assert_int_equal(f->C_GetOperationState(s, NULL, &st_len), CKR_OK);
    assert_non_null(st = malloc(st_len));
    assert_int_equal(f->C_GetOperationState(s, st, &st_len), CKR_OK);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, 0, 0), CKR_KEY_NEEDED);
    assert_int_equal(f->C_SetOperationState(other, st, st_len, 0, key), CKR_OK);
    free(st);
    assert_int_equal(f->C_SignUpdate(other, msg + 2500, 1500), CKR_OK);
    assert_int_equal(f->C_SignFinal(other, got, &len), CKR_OK);
    tk_expect_bytes(got, len, want, 16, "CMAC finished in another session");
    /* The original goes on by itself. */
    assert_int_equal(f->C_SignUpdate(s, msg + 2500, 1500), CKR_OK);
    len = sizeof got;
    assert_int_equal(f->C_SignFinal(s, got, &len), CKR_OK);
    tk_expect_bytes(got, len, want, 16, "CMAC finished where it began");
}

static void test_cmac_mechanism_info(void **state)
{
    static const CK_MECHANISM_TYPE types[] = { CKM_AES_CMAC, CKM_AES_CMAC_GENERAL };
    CK_MECHANISM_INFO info;

    for (size_t i = 0; i < 2; i++) {
        tk_expect_rv(f->C_GetMechanismInfo(slot, types[i], &info), CKR_OK, "%s",
                     tk_mech_name(types[i]));
        assert_true(info.flags & CKF_SIGN);
        assert_true(info.flags & CKF_VERIFY);
        assert_false(info.flags & (CKF_ENCRYPT | CKF_DECRYPT | CKF_DIGEST));
        assert_int_equal(info.ulMinKeySize, 16);
        assert_int_equal(info.ulMaxKeySize, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cmac_equals_openssl_for_every_key_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmac_of_the_standard_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmac_general_gives_the_leading_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmac_parameters_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_key_macs_and_verification_tells_wrong_macs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_aes_keys_with_sign_may_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmac_state_is_saved_and_restored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmac_mechanism_info, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * HMAC in the TPM with generic secret keys: every hash, full and general (truncated) lengths,
 * single-part and in parts, equal to OpenSSL's HMAC for keys of known value; verification of
 * right, wrong and wrongly sized MACs; the mechanism parameter of the _GENERAL variants.
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

static const struct hmac {
    CK_MECHANISM_TYPE full, general;
    CK_ULONG len;
} hmacs[] = {
    { CKM_SHA_1_HMAC, CKM_SHA_1_HMAC_GENERAL, 20 },
    { CKM_SHA256_HMAC, CKM_SHA256_HMAC_GENERAL, 32 },
    { CKM_SHA384_HMAC, CKM_SHA384_HMAC_GENERAL, 48 },
    { CKM_SHA512_HMAC, CKM_SHA512_HMAC_GENERAL, 64 },
};
#define N_HMACS 4
static const size_t msg_lengths[] = { 0, 1, 63, 64, 65, 1024, 1025, 5000 };
#define N_MSG (sizeof msg_lengths / sizeof msg_lengths[0])
static const size_t odd_parts[] = { 1, 7, 100, 0, 1023, 1025 };
static uint8_t msg[5000];

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(msg, sizeof msg, 31);
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
    slot = token_with_user(f, "hmac", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

/* The token's MAC under m equals OpenSSL's HMAC with the key's value, and verifies. */
static void check_mac(CK_OBJECT_HANDLE key, const uint8_t *value, size_t value_len,
                      const CK_MECHANISM *m, size_t len, bool parts)
{
    uint8_t got[64], want[64];
    CK_ULONG got_len = sizeof got;
    size_t want_len = cu_hmac(m, value, value_len, msg, len, want);
    const char *how = parts ? "in parts" : "single-part";

    assert_true(want_len > 0);
    tk_expect_rv(tk_sign(f, s, m, key, msg, len, parts ? odd_parts : NULL, 6, got, &got_len),
                 CKR_OK, "%s of %zu bytes %s", tk_mech_name(m->mechanism), len, how);
    tk_expect_bytes(got, got_len, want, want_len, "%s of %zu bytes %s with a %zu-byte key",
                    tk_mech_name(m->mechanism), len, how, value_len);
    tk_expect_rv(tk_verify(f, s, m, key, msg, len, parts ? NULL : odd_parts, 6, want, want_len),
                 CKR_OK, "%s verify of %zu bytes", tk_mech_name(m->mechanism), len);
}

static void test_hmac_of_an_imported_key_equals_openssl(void **state)
{
    uint8_t value[32];
    CK_OBJECT_HANDLE key;

    cu_fill(value, sizeof value, 32);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, 32, NULL, 0, &key), CKR_OK);
    for (size_t i = 0; i < N_HMACS; i++) {
        CK_MECHANISM m = { hmacs[i].full, NULL, 0 };
        for (size_t j = 0; j < N_MSG; j++) {
            check_mac(key, value, 32, &m, msg_lengths[j], false);
            check_mac(key, value, 32, &m, msg_lengths[j], true);
        }
    }
}

/* Keys shorter than, as long as, and (for SHA-1 and SHA-256) longer than the hash block. */
static void test_hmac_equals_openssl_for_keys_of_several_sizes(void **state)
{
    static const size_t sizes[] = { 1, 16, 20, 64, 65, 100, 128 };
    uint8_t value[128];

    cu_fill(value, sizeof value, 33);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        CK_OBJECT_HANDLE key;
        tk_expect_rv(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, sizes[k], NULL, 0, &key),
                     CKR_OK, "import of a %zu-byte key", sizes[k]);
        for (size_t i = 0; i < N_HMACS; i++) {
            CK_MECHANISM m = { hmacs[i].full, NULL, 0 };
            check_mac(key, value, sizes[k], &m, 100, false);
        }
    }
}

static void test_hmac_general_gives_the_leading_bytes(void **state)
{
    uint8_t value[48];
    CK_OBJECT_HANDLE key;

    cu_fill(value, sizeof value, 34);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, 48, NULL, 0, &key), CKR_OK);
    for (size_t i = 0; i < N_HMACS; i++) {
        const CK_ULONG outs[] = { 1, 10, 16, hmacs[i].len - 1, hmacs[i].len };
        for (size_t j = 0; j < sizeof outs / sizeof outs[0]; j++) {
            CK_ULONG out = outs[j];
            CK_MECHANISM m = { hmacs[i].general, &out, sizeof out };
            check_mac(key, value, 48, &m, 1000, false);
            check_mac(key, value, 48, &m, 1000, true);
        }
    }
}

static void test_hmac_general_length_beyond_the_hash_is_param_invalid(void **state)
{
    CK_OBJECT_HANDLE key;

    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, NULL, 0, &key), CKR_OK);
    for (size_t i = 0; i < N_HMACS; i++) {
        CK_ULONG too_long = hmacs[i].len + 1;
        CK_MECHANISM over = { hmacs[i].general, &too_long, sizeof too_long };
        CK_MECHANISM none = { hmacs[i].general, NULL, 0 };
        CK_MECHANISM short_p = { hmacs[i].general, &too_long, sizeof too_long - 1 };
        const char *name = tk_mech_name(hmacs[i].general);
        tk_expect_rv(f->C_SignInit(s, &over, key), CKR_MECHANISM_PARAM_INVALID, "%s, too long", name);
        tk_expect_rv(f->C_VerifyInit(s, &over, key), CKR_MECHANISM_PARAM_INVALID, "%s, too long", name);
        tk_expect_rv(f->C_SignInit(s, &none, key), CKR_MECHANISM_PARAM_INVALID, "%s, no parameter", name);
        tk_expect_rv(f->C_SignInit(s, &short_p, key), CKR_MECHANISM_PARAM_INVALID, "%s, short parameter", name);
    }
}

static void test_generated_hmac_key_signs_and_verifies(void **state)
{
    CK_OBJECT_HANDLE key, other;
    uint8_t mac[64];
    CK_ULONG len;

    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, NULL, 0, &key), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, NULL, 0, &other), CKR_OK);
    for (size_t i = 0; i < N_HMACS; i++) {
        CK_MECHANISM m = { hmacs[i].full, NULL, 0 };
        const char *name = tk_mech_name(m.mechanism);
        len = sizeof mac;
        tk_expect_rv(tk_sign(f, s, &m, key, msg, 3000, odd_parts, 6, mac, &len), CKR_OK, "%s", name);
        assert_int_equal(len, hmacs[i].len);
        tk_expect_rv(tk_verify(f, s, &m, key, msg, 3000, NULL, 0, mac, len), CKR_OK, "%s verify", name);
        /* Another key, or other data, gives another MAC. */
        tk_expect_rv(tk_verify(f, s, &m, other, msg, 3000, NULL, 0, mac, len),
                     CKR_SIGNATURE_INVALID, "%s verify with another key", name);
        tk_expect_rv(tk_verify(f, s, &m, key, msg, 2999, odd_parts, 6, mac, len),
                     CKR_SIGNATURE_INVALID, "%s verify of other data", name);
    }
}

static void test_hmac_verify_of_a_wrong_mac_is_invalid_and_of_a_wrong_size_len_range(void **state)
{
    uint8_t value[32], mac[65];
    CK_OBJECT_HANDLE key;
    CK_ULONG ten = 10;
    CK_MECHANISM general = { CKM_SHA256_HMAC_GENERAL, &ten, sizeof ten };

    cu_fill(value, sizeof value, 35);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, 32, NULL, 0, &key), CKR_OK);
    for (size_t i = 0; i < N_HMACS; i++) {
        CK_MECHANISM m = { hmacs[i].full, NULL, 0 };
        size_t len = cu_hmac(&m, value, 32, msg, 500, mac);
        const char *name = tk_mech_name(m.mechanism);
        mac[len - 1] ^= 1;
        tk_expect_rv(tk_verify(f, s, &m, key, msg, 500, NULL, 0, mac, len), CKR_SIGNATURE_INVALID,
                     "%s with a flipped bit", name);
        mac[len - 1] ^= 1;
        tk_expect_rv(tk_verify(f, s, &m, key, msg, 500, NULL, 0, mac, len - 1),
                     CKR_SIGNATURE_LEN_RANGE, "%s one byte short", name);
        tk_expect_rv(tk_verify(f, s, &m, key, msg, 500, odd_parts, 6, mac, len + 1),
                     CKR_SIGNATURE_LEN_RANGE, "%s one byte long, in parts", name);
    }
    /* The general variant checks exactly its own length. */
    assert_int_equal(cu_hmac(&general, value, 32, msg, 500, mac), 10);
    assert_int_equal(tk_verify(f, s, &general, key, msg, 500, NULL, 0, mac, 10), CKR_OK);
    assert_int_equal(tk_verify(f, s, &general, key, msg, 500, NULL, 0, mac, 9),
                     CKR_SIGNATURE_LEN_RANGE);
    assert_int_equal(tk_verify(f, s, &general, key, msg, 500, NULL, 0, mac, 11),
                     CKR_SIGNATURE_LEN_RANGE);
}

static void test_hmac_length_conventions_keep_the_operation(void **state)
{
    uint8_t value[32], mac[64], want[64];
    CK_OBJECT_HANDLE key;
    CK_ULONG twelve = 12, len = 0;
    CK_MECHANISM m = { CKM_SHA384_HMAC_GENERAL, &twelve, sizeof twelve };

    cu_fill(value, sizeof value, 36);
    cu_hmac(&m, value, 32, msg, 300, want);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, 32, NULL, 0, &key), CKR_OK);
    assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(f->C_Sign(s, msg, 300, NULL, &len), CKR_OK);
    assert_int_equal(len, 12);
    len = 11;
    assert_int_equal(f->C_Sign(s, msg, 300, mac, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 12);
    assert_int_equal(f->C_Sign(s, msg, 300, mac, &len), CKR_OK);
    assert_int_equal(len, 12);
    assert_memory_equal(mac, want, 12);
    assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(f->C_SignUpdate(s, msg, 100), CKR_OK);
    len = 0;
    assert_int_equal(f->C_SignFinal(s, NULL, &len), CKR_OK);
    assert_int_equal(len, 12);
    assert_int_equal(f->C_SignUpdate(s, msg + 100, 200), CKR_OK);
    len = 1;
    assert_int_equal(f->C_SignFinal(s, mac, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 12);
    assert_int_equal(f->C_SignFinal(s, mac, &len), CKR_OK);
    assert_memory_equal(mac, want, 12);
}

static void test_hmac_keys_sign_in_read_only_sessions_until_logout(void **state)
{
    uint8_t value[32], mac[64], want[64];
    CK_OBJECT_HANDLE key;
    CK_SESSION_HANDLE ro;
    CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
    CK_ULONG len = sizeof mac;
    CK_RV rv;

    cu_fill(value, sizeof value, 37);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, 32, NULL, 0, &key), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    assert_int_equal(tk_sign(f, ro, &m, key, msg, 64, NULL, 0, mac, &len), CKR_OK);
    assert_int_equal(cu_hmac(&m, value, 32, msg, 64, want), 32);
    assert_memory_equal(mac, want, 32);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    rv = f->C_SignInit(ro, &m, key);
    if (rv != CKR_USER_NOT_LOGGED_IN && rv != CKR_KEY_HANDLE_INVALID)
        fail_msg("C_SignInit with a private secret key after logout: 0x%lx", (unsigned long)rv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hmac_of_an_imported_key_equals_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac_equals_openssl_for_keys_of_several_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac_general_gives_the_leading_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac_general_length_beyond_the_hash_is_param_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_hmac_key_signs_and_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac_verify_of_a_wrong_mac_is_invalid_and_of_a_wrong_size_len_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac_length_conventions_keep_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac_keys_sign_in_read_only_sessions_until_logout, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Message digests run in the TPM: every mechanism over every interesting length, single-part
 * and in parts of odd sizes, equal to OpenSSL; the output conventions of PKCS#11 2.40 section 5.2;
 * the life of a digest operation; C_DigestKey; digests in public sessions and many at once.
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

#define MIB (1024 * 1024)

static const CK_MECHANISM_TYPE digests[] = { CKM_SHA_1, CKM_SHA256, CKM_SHA384, CKM_SHA512 };
#define N_DIGESTS (sizeof digests / sizeof digests[0])
static const size_t lengths[] = { 0, 1, 55, 56, 63, 64, 111, 112, 127, 128, 129,
                                  1023, 1024, 1025, 5000 };
#define N_LENGTHS (sizeof lengths / sizeof lengths[0])
/* Part sizes: odd ones with empty updates; one byte at a time; around the block sizes. */
static const size_t odd_parts[] = { 1, 7, 100, 0, 1023, 1025 };
static const size_t byte_parts[] = { 1 };
static const size_t block_parts[] = { 64, 0, 63, 65, 128, 127, 0, 0, 129 };

static uint8_t *big;   /* 1 MiB of test data */

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    if ((big = malloc(MIB)) == NULL)
        return -1;
    cu_fill(big, MIB, 42);
    return 0;
}

static int group_teardown(void **state)
{
    free(big);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = token_with_user(f, "digest", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

/* The token's digest of data (in parts of sizes, or single-part) equals OpenSSL's. */
static void check_digest(CK_MECHANISM_TYPE m, const uint8_t *data, size_t len,
                         const size_t *sizes, size_t n_sizes, const char *how)
{
    uint8_t got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
    CK_ULONG got_len = sizeof got;
    size_t want_len = cu_digest(m, data, len, want);

    tk_expect_rv(tk_digest(f, s, m, data, len, sizes, n_sizes, got, &got_len), CKR_OK,
                 "%s of %zu bytes %s", tk_mech_name(m), len, how);
    tk_expect_bytes(got, got_len, want, want_len, "%s of %zu bytes %s", tk_mech_name(m), len, how);
}

static void test_every_digest_equals_openssl_single_part(void **state)
{
    for (size_t i = 0; i < N_DIGESTS; i++)
        for (size_t j = 0; j < N_LENGTHS; j++)
            check_digest(digests[i], big, lengths[j], NULL, 0, "single-part");
}

static void test_every_digest_equals_openssl_in_odd_parts(void **state)
{
    for (size_t i = 0; i < N_DIGESTS; i++)
        for (size_t j = 0; j < N_LENGTHS; j++) {
            check_digest(digests[i], big, lengths[j], odd_parts, 6, "in odd parts");
            check_digest(digests[i], big, lengths[j], block_parts, 9, "in parts around blocks");
        }
}

static void test_every_digest_equals_openssl_one_byte_at_a_time(void **state)
{
    for (size_t i = 0; i < N_DIGESTS; i++)
        for (size_t j = 0; j < N_LENGTHS && lengths[j] <= 129; j++)
            check_digest(digests[i], big, lengths[j], byte_parts, 1, "one byte at a time");
}

static void test_digests_of_a_mebibyte_equal_openssl(void **state)
{
    static const size_t hundred[] = { 100 };

    for (size_t i = 0; i < N_DIGESTS; i++)
        check_digest(digests[i], big, MIB, NULL, 0, "single-part");
    check_digest(CKM_SHA256, big, MIB, odd_parts, 6, "in odd parts");
    check_digest(CKM_SHA512, big, MIB, hundred, 1, "in 100-byte parts");
}

/* PKCS#11 2.40 section 5.2: a NULL buffer asks for the length and leaves the operation active. */
static void test_digest_length_query_keeps_the_operation(void **state)
{
    CK_MECHANISM m = { CKM_SHA384, NULL, 0 };
    uint8_t out[64], want[64];
    CK_ULONG len = 0;

    cu_digest(CKM_SHA384, "abc", 3, want);
    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_Digest(s, (CK_BYTE *)"abc", 3, NULL, &len), CKR_OK);
    assert_int_equal(len, 48);
    len = sizeof out;
    assert_int_equal(f->C_Digest(s, (CK_BYTE *)"abc", 3, out, &len), CKR_OK);
    assert_int_equal(len, 48);
    assert_memory_equal(out, want, 48);
    /* Done: the operation is over. */
    assert_int_equal(f->C_Digest(s, (CK_BYTE *)"abc", 3, out, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_digest_into_a_small_buffer_gives_the_length_and_keeps_the_operation(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    uint8_t out[64], want[32];
    CK_ULONG len = 31;

    cu_digest(CKM_SHA256, big, 1000, want);
    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_Digest(s, big, 1000, out, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 32);
    len = 32;
    assert_int_equal(f->C_Digest(s, big, 1000, out, &len), CKR_OK);
    assert_int_equal(len, 32);
    assert_memory_equal(out, want, 32);
}

static void test_digest_final_length_query_and_small_buffer_keep_the_operation(void **state)
{
    CK_MECHANISM m = { CKM_SHA512, NULL, 0 };
    uint8_t out[64], want[64];
    CK_ULONG len = 0;

    cu_digest(CKM_SHA512, big, 3000, want);
    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(s, big, 1000), CKR_OK);
    assert_int_equal(f->C_DigestFinal(s, NULL, &len), CKR_OK);
    assert_int_equal(len, 64);
    /* Still open for more data after the query. */
    assert_int_equal(f->C_DigestUpdate(s, big + 1000, 2000), CKR_OK);
    len = 10;
    assert_int_equal(f->C_DigestFinal(s, out, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 64);
    len = sizeof out;
    assert_int_equal(f->C_DigestFinal(s, out, &len), CKR_OK);
    assert_int_equal(len, 64);
    assert_memory_equal(out, want, 64);
    assert_int_equal(f->C_DigestFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_digest_calls_without_init_are_not_initialized(void **state)
{
    uint8_t out[64];
    CK_ULONG len = sizeof out;

    assert_int_equal(f->C_Digest(s, big, 10, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DigestUpdate(s, big, 10), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DigestFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_second_digest_init_is_operation_active_and_harmless(void **state)
{
    CK_MECHANISM sha1 = { CKM_SHA_1, NULL, 0 }, sha256 = { CKM_SHA256, NULL, 0 };
    uint8_t out[64], want[20];
    CK_ULONG len = sizeof out;

    cu_digest(CKM_SHA_1, "abc", 3, want);
    assert_int_equal(f->C_DigestInit(s, &sha1), CKR_OK);
    assert_int_equal(f->C_DigestInit(s, &sha256), CKR_OPERATION_ACTIVE);
    /* The first operation is untouched. */
    assert_int_equal(f->C_Digest(s, (CK_BYTE *)"abc", 3, out, &len), CKR_OK);
    assert_int_equal(len, 20);
    assert_memory_equal(out, want, 20);
}

static void test_digest_init_refuses_mechanisms_that_are_not_digests(void **state)
{
    static const CK_MECHANISM_TYPE others[] = { CKM_AES_CBC, CKM_SHA256_RSA_PKCS, CKM_SHA256_HMAC,
                                                CKM_ECDSA, CKM_MD5, CKM_VENDOR_DEFINED | 0x1234 };
    uint8_t iv[16] = { 0 };

    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        CK_MECHANISM m = { others[i], others[i] == CKM_AES_CBC ? iv : NULL,
                           others[i] == CKM_AES_CBC ? 16 : 0 };
        tk_expect_rv(f->C_DigestInit(s, &m), CKR_MECHANISM_INVALID, "C_DigestInit(%s)",
                     tk_mech_name(others[i]));
    }
    assert_int_equal(f->C_DigestInit(s, NULL), CKR_ARGUMENTS_BAD);
}

/* 2.40 C_DigestUpdate: "A call to C_DigestUpdate which results in an error terminates". */
static void test_digest_update_error_ends_the_operation(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    uint8_t out[32];
    CK_ULONG len = sizeof out;

    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(s, NULL, 10), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_DigestFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    /* And a fresh digest works. */
    check_digest(CKM_SHA256, big, 100, NULL, 0, "after an ended operation");
}

/* 2.40 C_Digest: "always terminates the active digest operation" unless it only gave a length. */
static void test_digest_error_ends_the_operation(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    uint8_t out[32];
    CK_ULONG len = sizeof out;

    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_Digest(s, big, 10, out, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_Digest(s, big, 10, out, &len), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_digest_key_of_a_tpm_key_is_indigestible(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_OBJECT_HANDLE aes, hmac;
    uint8_t out[32];
    CK_ULONG len = sizeof out;

    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, NULL, 0, &aes), CKR_OK);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, big, 32, NULL, 0, &hmac), CKR_OK);
    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_DigestKey(s, aes), CKR_KEY_INDIGESTIBLE);
    assert_int_equal(f->C_DigestFinal(s, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_DigestKey(s, hmac), CKR_KEY_INDIGESTIBLE);
}

static void test_digest_key_needs_an_operation_and_a_valid_handle(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_OBJECT_HANDLE aes;

    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 16, NULL, 0, &aes), CKR_OK);
    assert_int_equal(f->C_DigestKey(s, aes), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_DigestKey(s, 0xdead), CKR_KEY_HANDLE_INVALID);
}

static void test_digests_work_in_a_public_read_only_session(void **state)
{
    CK_SESSION_HANDLE ro;

    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(f->C_CloseSession(s), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &ro), CKR_OK);
    s = ro;
    for (size_t i = 0; i < N_DIGESTS; i++) {
        check_digest(digests[i], big, 1500, NULL, 0, "in a public session");
        check_digest(digests[i], big, 1500, odd_parts, 6, "in parts in a public session");
    }
}

/* Digests in many sessions at once, more than the TPM holds sequences, stay apart. */
static void test_interleaved_digests_in_many_sessions_stay_apart(void **state)
{
    enum { SESSIONS = 6 };
    CK_SESSION_HANDLE h[SESSIONS];
    uint8_t out[64], want[64];
    CK_ULONG len;

    for (int i = 0; i < SESSIONS; i++) {
        CK_MECHANISM m = { digests[i % N_DIGESTS], NULL, 0 };
        assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &h[i]), CKR_OK);
        assert_int_equal(f->C_DigestInit(h[i], &m), CKR_OK);
    }
    /* Session i digests the bytes from i * 1000 to i * 1000 + 3000, 100 at a time. */
    for (size_t off = 0; off < 3000; off += 100)
        for (int i = 0; i < SESSIONS; i++)
            tk_expect_rv(f->C_DigestUpdate(h[i], big + i * 1000 + off, 100), CKR_OK,
                         "update at %zu in session %d", off, i);
    for (int i = 0; i < SESSIONS; i++) {
        size_t want_len = cu_digest(digests[i % N_DIGESTS], big + i * 1000, 3000, want);
        len = sizeof out;
        tk_expect_rv(f->C_DigestFinal(h[i], out, &len), CKR_OK, "final in session %d", i);
        tk_expect_bytes(out, len, want, want_len, "digest of session %d", i);
    }
}

/* Closing a session in the middle of a digest leaves the others working. */
static void test_closing_a_session_mid_digest_leaves_others_alone(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_SESSION_HANDLE a, b;
    uint8_t out[32], want[32];
    CK_ULONG len = sizeof out;

    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &a), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &b), CKR_OK);
    assert_int_equal(f->C_DigestInit(a, &m), CKR_OK);
    assert_int_equal(f->C_DigestInit(b, &m), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(a, big, 2000), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(b, big, 2000), CKR_OK);
    assert_int_equal(f->C_CloseSession(a), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(b, big + 2000, 2000), CKR_OK);
    assert_int_equal(f->C_DigestFinal(b, out, &len), CKR_OK);
    cu_digest(CKM_SHA256, big, 4000, want);
    assert_memory_equal(out, want, 32);
}

static void test_digest_calls_on_a_closed_session_are_session_handle_invalid(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_SESSION_HANDLE other;
    uint8_t out[32];
    CK_ULONG len = sizeof out;

    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &other), CKR_OK);
    assert_int_equal(f->C_DigestInit(other, &m), CKR_OK);
    assert_int_equal(f->C_CloseSession(other), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(other, big, 10), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_DigestFinal(other, out, &len), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_DigestInit(other, &m), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_Digest(other, big, 10, out, &len), CKR_SESSION_HANDLE_INVALID);
}

static void test_digest_mechanisms_are_listed_with_the_digest_flag(void **state)
{
    CK_MECHANISM_INFO info;

    for (size_t i = 0; i < N_DIGESTS; i++) {
        assert_true(tk_listed(f, slot, digests[i]));
        assert_int_equal(f->C_GetMechanismInfo(slot, digests[i], &info), CKR_OK);
        assert_true(info.flags & CKF_DIGEST);
        assert_true(info.flags & CKF_HW);
        assert_false(info.flags & (CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT |
                                   CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_digest_equals_openssl_single_part, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_digest_equals_openssl_in_odd_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_digest_equals_openssl_one_byte_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digests_of_a_mebibyte_equal_openssl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_length_query_keeps_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_into_a_small_buffer_gives_the_length_and_keeps_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_final_length_query_and_small_buffer_keep_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_calls_without_init_are_not_initialized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_digest_init_is_operation_active_and_harmless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_init_refuses_mechanisms_that_are_not_digests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_update_error_ends_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_error_ends_the_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_key_of_a_tpm_key_is_indigestible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_key_needs_an_operation_and_a_valid_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digests_work_in_a_public_read_only_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved_digests_in_many_sessions_stay_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_a_session_mid_digest_leaves_others_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_calls_on_a_closed_session_are_session_handle_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_mechanisms_are_listed_with_the_digest_flag, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * CKN_SURRENDER callbacks: long functions (key generation, C_Login, long digests and
 * encryptions, long C_GenerateRandom) hand control back to the application while they wait on
 * the TPM, CKR_CANCEL stops them cleanly, and a callback that calls back into the module gets
 * answers or clear errors, never a deadlock. The TPM is made slow where a test needs it by the
 * harness TCTI's delays (TPMTOK_TCTI_DELAY), as a laptop's TPM is slow.
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
#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/token_ops.h"

#define MIB (1024 * 1024)
#define BIG (4 * MIB)

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;
static CK_SESSION_HANDLE plain;    /* a logged-in session without a callback */
static uint8_t *big;

/* What a callback does each time, and what it saw. */
struct app {
    unsigned calls;
    unsigned cancel_at;            /* answer CKR_CANCEL on this call (0: never) */
    CK_RV answer;                  /* otherwise */
    CK_SESSION_HANDLE seen;        /* the handle it was called with */
    CK_SESSION_HANDLE other;       /* a session to use from inside the callback */
    bool call_info;                /* C_GetSessionInfo on its own session */
    bool call_own;                 /* C_DigestUpdate on its own session */
    bool call_other;               /* a digest on another session */
    CK_RV info_rv, own_rv, other_rv;
    bool bad_event;
};

static CK_RV notify(CK_SESSION_HANDLE h, CK_NOTIFICATION event, CK_VOID_PTR ctx)
{
    struct app *a = ctx;
    CK_SESSION_INFO info;

    if (event != CKN_SURRENDER)
        a->bad_event = true;
    a->calls++;
    a->seen = h;
    if (a->call_info)
        a->info_rv = f->C_GetSessionInfo(h, &info);
    if (a->call_own)
        a->own_rv = f->C_DigestUpdate(h, big, 16);
    if (a->call_other) {
        CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
        uint8_t out[32];
        CK_ULONG len = sizeof out;
        a->other_rv = f->C_DigestInit(a->other, &m);
        if (a->other_rv == CKR_OK)
            a->other_rv = f->C_Digest(a->other, big, 100, out, &len);
    }
    if (a->cancel_at != 0 && a->calls >= a->cancel_at)
        return CKR_CANCEL;
    return a->answer;
}

static CK_SESSION_HANDLE open_with(struct app *a)
{
    CK_SESSION_HANDLE h;

    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, a, notify, &h), CKR_OK);
    return h;
}

/* Starts the module on a TCTI that makes the commands in delays slow ("" for none). */
static void start_module(const char *delays)
{
    char conf[512];

    snprintf(conf, sizeof conf, "%s:%s", getenv("TPMTOK_TCTI_COUNT_LIB"), tpm.tcti);
    setenv("TPMTOK_TCTI", conf, 1);
    setenv("TPMTOK_TCTI_DELAY", delays, 1);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
}

static int group_setup(void **state)
{
    if (getenv("TPMTOK_TCTI_COUNT_LIB") == NULL || swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    unsetenv("TPMTOK_TCTI_COUNT");
    if ((big = malloc(BIG)) == NULL)
        return -1;
    cu_fill(big, BIG, 5);
    return 0;
}

static int group_teardown(void **state)
{
    free(big);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

/* A fresh store and token; the module is started by each test with its delays. */
static int setup(void **state)
{
    swtpm_new_store(&tpm);
    setenv("TPMTOK_TCTI", tpm.tcti, 1);
    if (f->C_Initialize(NULL) != CKR_OK ||
        (slot = token_with_user(f, "surrender", &plain)) == (CK_SLOT_ID)-1)
        return -1;
    return f->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    unsetenv("TPMTOK_TCTI_DELAY");
    return 0;
}

static void login_plain(void)
{
    CK_RV rv;

    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &plain), CKR_OK);
    rv = f->C_Login(plain, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
}

static CK_ULONG token_objects(void)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = { { CKA_TOKEN, &yes, 1 } };
    CK_OBJECT_HANDLE found[64];

    return find_all(f, plain, t, 1, found, 64);
}

static CK_RV rsa_keygen(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pt[] = { { CKA_MODULUS_BITS, &bits, sizeof bits }, { CKA_TOKEN, &yes, 1 } };
    CK_ATTRIBUTE kt[] = { { CKA_TOKEN, &yes, 1 }, { CKA_SIGN, &yes, 1 } };

    return f->C_GenerateKeyPair(h, &m, pt, 2, kt, 2, pub, priv);
}

/* TPM2_Create of a 2048-bit key made to take 600 ms: the callback comes while it waits. */
static void test_key_generation_calls_back_while_the_tpm_works(void **state)
{
    struct app a = { .answer = CKR_OK, .call_info = true };
    CK_OBJECT_HANDLE pub, priv;
    CK_SESSION_HANDLE h;
    CK_ULONG before;

    start_module("0x153=600");
    login_plain();
    before = token_objects();
    h = open_with(&a);
    assert_int_equal(rsa_keygen(h, &pub, &priv), CKR_OK);
    assert_true(a.calls >= 2);
    assert_int_equal(a.seen, h);
    assert_false(a.bad_event);
    /* Its own session's information, from inside the callback: no deadlock, a real answer. */
    assert_int_equal(a.info_rv, CKR_OK);
    assert_int_equal(token_objects(), before + 2);
}

/* A session without a callback is never called back, slow TPM or not. */
static void test_a_session_without_a_callback_is_not_called(void **state)
{
    struct app a = { .answer = CKR_OK };
    CK_OBJECT_HANDLE pub, priv;

    start_module("0x153=300");
    login_plain();
    (void)open_with(&a);
    assert_int_equal(rsa_keygen(plain, &pub, &priv), CKR_OK);
    assert_int_equal(a.calls, 0);
}

static void test_cancelled_key_generation_leaves_nothing_behind(void **state)
{
    struct app a = { .answer = CKR_OK, .cancel_at = 1 };
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_SESSION_HANDLE h;
    CK_ULONG before;
    int loaded;

    start_module("0x153=400");
    login_plain();
    h = open_with(&a);
    /* Warm: the token's primary is made and loaded before anything is counted. */
    {
        struct app ok = { .answer = CKR_OK };
        CK_SESSION_HANDLE w = open_with(&ok);
        assert_int_equal(rsa_keygen(w, &pub, &priv), CKR_OK);
    }
    before = token_objects();
    loaded = swtpm_transient_count(&tpm);
    assert_int_equal(rsa_keygen(h, &pub, &priv), CKR_FUNCTION_CANCELED);
    assert_int_equal(a.calls, 1);
    assert_int_equal(token_objects(), before);
    assert_int_equal(swtpm_transient_count(&tpm), loaded);
    /* The session and the token go on: the next generation works. */
    a.cancel_at = 0;
    assert_int_equal(rsa_keygen(h, &pub, &priv), CKR_OK);
    assert_int_equal(token_objects(), before + 2);
}

/* Any answer but CKR_CANCEL means go on. */
static void test_other_answers_mean_go_on(void **state)
{
    struct app a = { .answer = CKR_GENERAL_ERROR };
    CK_OBJECT_HANDLE pub, priv;

    start_module("0x153=300");
    login_plain();
    assert_int_equal(rsa_keygen(open_with(&a), &pub, &priv), CKR_OK);
    assert_true(a.calls >= 1);
}

static void test_a_long_digest_calls_back_and_cancel_ends_it(void **state)
{
    struct app a = { .answer = CKR_OK };
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    uint8_t out[32], want[32];
    CK_ULONG len = sizeof out;
    CK_SESSION_HANDLE h;

    /* Each SequenceUpdate 1 ms: 4 MiB take 4 seconds or so. */
    start_module("0x15c=1");
    h = open_with(&a);
    assert_int_equal(f->C_DigestInit(h, &m), CKR_OK);
    assert_int_equal(f->C_Digest(h, big, BIG, out, &len), CKR_OK);
    assert_true(a.calls >= 2);
    cu_digest(CKM_SHA256, big, BIG, want);
    tk_expect_bytes(out, len, want, 32, "SHA-256 of 4 MiB with callbacks");
    /* Cancelled in the middle of an update: the operation is over. */
    a.calls = 0;
    a.cancel_at = 2;
    assert_int_equal(f->C_DigestInit(h, &m), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(h, big, BIG), CKR_FUNCTION_CANCELED);
    assert_int_equal(a.calls, 2);
    assert_int_equal(f->C_DigestUpdate(h, big, 16), CKR_OPERATION_NOT_INITIALIZED);
}

static void test_a_long_encryption_calls_back_and_cancel_ends_it(void **state)
{
    struct app a = { .answer = CKR_OK };
    static const uint8_t value[16] = "surrender aes 1";
    uint8_t iv[16] = { 0 }, *out = malloc(BIG), *want = malloc(BIG);
    CK_MECHANISM m = { CKM_AES_CBC, iv, sizeof iv };
    CK_OBJECT_HANDLE key;
    CK_ULONG len = BIG;
    CK_SESSION_HANDLE h;
    size_t want_len;

    assert_non_null(out);
    assert_non_null(want);
    start_module("0x164=1");   /* TPM2_EncryptDecrypt2 */
    login_plain();
    h = open_with(&a);
    assert_int_equal(tk_import_secret(f, h, CKK_AES, value, 16, NULL, 0, &key), CKR_OK);
    assert_int_equal(f->C_EncryptInit(h, &m, key), CKR_OK);
    assert_int_equal(f->C_Encrypt(h, big, BIG, out, &len), CKR_OK);
    assert_true(a.calls >= 2);
    assert_int_equal(cu_aes(&m, 1, value, 16, big, BIG, want, &want_len), 0);
    tk_expect_bytes(out, len, want, want_len, "AES-CBC of 4 MiB with callbacks");
    a.calls = 0;
    a.cancel_at = 1;
    len = BIG;
    assert_int_equal(f->C_EncryptInit(h, &m, key), CKR_OK);
    assert_int_equal(f->C_Encrypt(h, big, BIG, out, &len), CKR_FUNCTION_CANCELED);
    len = BIG;
    assert_int_equal(f->C_EncryptUpdate(h, big, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    free(out);
    free(want);
}

/* From inside the callback: its own session is busy, another session's TPM work is refused. */
static void test_calls_from_the_callback_get_clear_errors(void **state)
{
    struct app a = { .answer = CKR_OK, .call_own = true, .call_other = true };
    CK_OBJECT_HANDLE pub, priv;
    CK_SESSION_HANDLE h;
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };

    start_module("0x153=300");
    login_plain();
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &a.other), CKR_OK);
    h = open_with(&a);
    assert_int_equal(f->C_DigestInit(h, &m), CKR_OK);
    /* A digest and a key generation at once are not allowed; a fresh session for that. */
    assert_int_equal(f->C_DigestFinal(h, NULL, &(CK_ULONG){ 0 }), CKR_OK);
    assert_int_equal(rsa_keygen(h, &pub, &priv), CKR_OK);
    assert_true(a.calls >= 1);
    assert_true(a.own_rv == CKR_FUNCTION_FAILED || a.own_rv == CKR_OPERATION_ACTIVE);
    if (a.other_rv != CKR_FUNCTION_FAILED && a.other_rv != CKR_OK)
        fail_msg("other session from the callback: 0x%lx", (unsigned long)a.other_rv);
    /* Afterwards both sessions work. */
    a.call_own = a.call_other = false;
    assert_int_equal(f->C_DigestInit(a.other, &m), CKR_OK);
    assert_int_equal(f->C_DigestFinal(a.other, NULL, &(CK_ULONG){ 0 }), CKR_OK);
}

static void test_login_calls_back_and_cancel_leaves_the_user_out(void **state)
{
    struct app a = { .answer = CKR_OK };
    CK_SESSION_INFO info;
    CK_SESSION_HANDLE h;

    start_module("0x15e=300");   /* TPM2_Unseal */
    h = open_with(&a);
    a.cancel_at = 1;
    assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)),
                     CKR_FUNCTION_CANCELED);
    assert_int_equal(f->C_GetSessionInfo(h, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_PUBLIC_SESSION);
    a.cancel_at = 0;
    a.calls = 0;
    assert_int_equal(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
    assert_true(a.calls >= 1);
    assert_int_equal(f->C_GetSessionInfo(h, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_USER_FUNCTIONS);
}

static void test_long_random_calls_back_and_cancels(void **state)
{
    struct app a = { .answer = CKR_OK };
    uint8_t out[8192];
    CK_SESSION_HANDLE h;

    start_module("0x17b=10");   /* TPM2_GetRandom: 64 bytes a command */
    h = open_with(&a);
    assert_int_equal(f->C_GenerateRandom(h, out, sizeof out), CKR_OK);
    assert_true(a.calls >= 2);
    a.cancel_at = a.calls + 1;
    assert_int_equal(f->C_GenerateRandom(h, out, sizeof out), CKR_FUNCTION_CANCELED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_generation_calls_back_while_the_tpm_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_session_without_a_callback_is_not_called, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_key_generation_leaves_nothing_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_answers_mean_go_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_long_digest_calls_back_and_cancel_ends_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_long_encryption_calls_back_and_cancel_ends_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calls_from_the_callback_get_clear_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_calls_back_and_cancel_leaves_the_user_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_random_calls_back_and_cancels, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

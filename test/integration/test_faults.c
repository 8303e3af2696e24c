/*
 * A TPM that disappears mid-call: swtpm is killed while a sign, a key generation or a digest
 * is under way. The call fails with CKR_DEVICE_ERROR or CKR_DEVICE_REMOVED, the process goes on,
 * the store keeps every key whole, and once the TPM is back (same state) the next C_Initialize
 * works and every key still signs.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/keycheck.h"

#define BIG (8 * 1024 * 1024)
#define LOOP_LIMIT_S 20

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;
static CK_SESSION_HANDLE s;
static uint8_t *big;
static unsigned kills;

struct killer {
    pthread_t thread;
    unsigned after_ms;
};

static void *killer_run(void *arg)
{
    struct killer *k = arg;
    struct timespec ts = { k->after_ms / 1000, (long)(k->after_ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
    swtpm_kill(&tpm);
    kills++;
    return NULL;
}

static void killer_start(struct killer *k, unsigned after_ms)
{
    k->after_ms = after_ms;
    assert_int_equal(pthread_create(&k->thread, NULL, killer_run, k), 0);
}

static void killer_join(struct killer *k)
{
    assert_int_equal(pthread_join(k->thread, NULL), 0);
}

static int device_gone(CK_RV rv)
{
    return rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_REMOVED;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void login(void)
{
    CK_RV rv;

    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s), CKR_OK);
    rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
}

/* Brings the TPM back with the same state and restarts the module, as an application would. */
static void recover(void)
{
    assert_int_equal(swtpm_restart(&tpm), 0);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    login();
}

/* What survived: every pair whole, and every key signs (checked against OpenSSL). */
static void assert_keys_intact(CK_ULONG at_least)
{
    struct key_census c;

    key_census(f, s, NULL, &c);
    assert_int_equal(c.unpaired, 0);
    assert_int_equal(c.private_keys, c.public_keys);
    assert_true(c.private_keys >= at_least);
    assert_int_equal(keys_sign_and_verify(f, s), c.private_keys);
}

static int group_setup(void **state)
{
    (void)state;
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0 || (big = malloc(BIG)) == NULL)
        return -1;
    f = mod.f;
    cu_fill(big, BIG, 9);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(big);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    print_message("swtpm killed %u times mid-call\n", kills);
    return 0;
}

/* A fresh store with a token holding an EC and an RSA key pair; the user logged in. */
static int setup(void **state)
{
    (void)state;
    /* A test that failed half-way may have left the TPM dead. */
    if (tpm.pid == 0 && swtpm_restart(&tpm) != 0)
        return -1;
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK ||
        (slot = token_with_user(f, "faults", &s)) == (CK_SLOT_ID)-1 ||
        ec_token_pair(f, s, "ec before") != CKR_OK || rsa_token_pair(f, s, "rsa before") != CKR_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    f->C_Finalize(NULL);
    return 0;
}

static CK_OBJECT_HANDLE key_labelled(const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, (void *)label, strlen(label) } };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;

    assert_int_equal(find_all(f, s, t, 2, &h, 1), 1);
    return h;
}

static void test_tpm_killed_during_signing(void **state)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_OBJECT_HANDLE key = key_labelled("ec before");
    struct killer k;
    uint8_t sig[128];
    CK_ULONG len;
    CK_RV rv = CKR_OK;
    double end = now_s() + LOOP_LIMIT_S;
    unsigned signed_ok = 0;

    (void)state;
    killer_start(&k, 50);
    while (rv == CKR_OK && now_s() < end) {
        len = sizeof sig;
        if ((rv = f->C_SignInit(s, &m, key)) == CKR_OK &&
            (rv = f->C_Sign(s, big, 64, sig, &len)) == CKR_OK)
            signed_ok++;
    }
    killer_join(&k);
    assert_true(signed_ok > 0);
    assert_true(device_gone(rv));
    /* Without a TPM the module still answers, and tells the same. */
    len = sizeof sig;
    rv = f->C_SignInit(s, &m, key);
    if (rv == CKR_OK)
        rv = f->C_Sign(s, big, 64, sig, &len);
    assert_true(device_gone(rv));
    /* Back again (reset): the same session signs, the module reloading what the TPM lost. */
    assert_int_equal(swtpm_restart(&tpm), 0);
    len = sizeof sig;
    assert_int_equal(f->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(f->C_Sign(s, big, 64, sig, &len), CKR_OK);
    assert_keys_intact(2);
    recover();
    assert_keys_intact(2);
}

static void test_tpm_killed_during_key_generation(void **state)
{
    struct killer k;
    struct key_census c;
    CK_RV rv = CKR_OK;
    double end = now_s() + LOOP_LIMIT_S;
    unsigned made = 0;

    (void)state;
    killer_start(&k, 150);
    while (rv == CKR_OK && now_s() < end)
        if ((rv = rsa_token_pair(f, s, "during")) == CKR_OK)
            made++;
    killer_join(&k);
    assert_true(device_gone(rv));
    recover();
    key_census(f, s, "during", &c);
    assert_int_equal(c.private_keys, made);
    assert_int_equal(c.public_keys, made);
    assert_keys_intact(2 + made);
}

static void test_tpm_killed_during_a_digest(void **state)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    struct killer k;
    uint8_t out[32], want[32];
    CK_ULONG len;
    CK_RV rv = CKR_OK;
    double end = now_s() + LOOP_LIMIT_S;

    (void)state;
    killer_start(&k, 30);
    while (rv == CKR_OK && now_s() < end) {
        len = sizeof out;
        if ((rv = f->C_DigestInit(s, &m)) == CKR_OK)
            rv = f->C_Digest(s, big, BIG, out, &len);
    }
    killer_join(&k);
    assert_true(device_gone(rv));
    /* The failed digest ended its operation: a new one can start (and fails the same way). */
    rv = f->C_DigestInit(s, &m);
    assert_true(rv == CKR_OK || device_gone(rv));
    /* The module finalizes cleanly without its TPM. */
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(swtpm_restart(&tpm), 0);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    login();
    len = sizeof out;
    assert_int_equal(f->C_DigestInit(s, &m), CKR_OK);
    assert_int_equal(f->C_Digest(s, big, BIG, out, &len), CKR_OK);
    cu_digest(CKM_SHA256, big, BIG, want);
    assert_memory_equal(out, want, sizeof want);
    assert_keys_intact(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tpm_killed_during_signing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tpm_killed_during_key_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tpm_killed_during_a_digest, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

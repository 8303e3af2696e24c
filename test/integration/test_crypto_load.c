/*
 * Many operations at once on a TPM that holds three objects: interleaved in many sessions with
 * many keys, from several threads, and abandoned half way. Every result is still OpenSSL's, and
 * nothing is left loaded in the TPM at C_Finalize.
 */
#include "config.h"

#include <pthread.h>
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

enum { SESSIONS = 6, THREADS = 4, ROUNDS = 20 };
static uint8_t data[4096];

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    cu_fill(data, sizeof data, 81);
    return 0;
}

static int group_teardown(void **state)
{
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

/* The library may be called from several threads: say so at C_Initialize. */
static int setup(void **state)
{
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };

    swtpm_new_store(&tpm);
    if (f->C_Initialize(&args) != CKR_OK)
        return -1;
    slot = token_with_user(f, "load", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static void open_sessions(CK_SESSION_HANDLE h[SESSIONS])
{
    for (int i = 0; i < SESSIONS; i++)
        assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &h[i]), CKR_OK);
}

static void test_interleaved_hmacs_with_many_keys_stay_apart(void **state)
{
    CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
    CK_SESSION_HANDLE h[SESSIONS];
    CK_OBJECT_HANDLE keys[SESSIONS];
    uint8_t values[SESSIONS][32], mac[32], want[32];
    CK_ULONG len;

    open_sessions(h);
    for (int i = 0; i < SESSIONS; i++) {
        cu_fill(values[i], 32, 100 + (unsigned)i);
        assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, values[i], 32, NULL, 0, &keys[i]),
                         CKR_OK);
        assert_int_equal(f->C_SignInit(h[i], &m, keys[i]), CKR_OK);
    }
    /* Session i MACs 3000 bytes from offset 100 i, 150 at a time, all sessions in turn. */
    for (size_t off = 0; off < 3000; off += 150)
        for (int i = 0; i < SESSIONS; i++)
            tk_expect_rv(f->C_SignUpdate(h[i], data + 100 * i + off, 150), CKR_OK,
                         "HMAC update at %zu in session %d", off, i);
    for (int i = 0; i < SESSIONS; i++) {
        len = sizeof mac;
        tk_expect_rv(f->C_SignFinal(h[i], mac, &len), CKR_OK, "HMAC final in session %d", i);
        cu_hmac(&m, values[i], 32, data + 100 * i, 3000, want);
        tk_expect_bytes(mac, len, want, 32, "HMAC of session %d", i);
    }
}

static void test_interleaved_cbc_encryptions_with_many_keys_stay_apart(void **state)
{
    CK_SESSION_HANDLE h[SESSIONS];
    CK_OBJECT_HANDLE keys[SESSIONS];
    uint8_t values[SESSIONS][32], ivs[SESSIONS][16], out[SESSIONS][3300], ref[3300];
    CK_ULONG done[SESSIONS] = { 0 }, got;
    size_t ref_len;

    open_sessions(h);
    for (int i = 0; i < SESSIONS; i++) {
        CK_MECHANISM m = { i % 2 ? CKM_AES_CBC_PAD : CKM_AES_CBC, ivs[i], 16 };
        cu_fill(values[i], 32, 200 + (unsigned)i);
        cu_fill(ivs[i], 16, 300 + (unsigned)i);
        assert_int_equal(tk_import_secret(f, s, CKK_AES, values[i], i % 3 ? 32 : 16, NULL, 0, &keys[i]),
                         CKR_OK);
        assert_int_equal(f->C_EncryptInit(h[i], &m, keys[i]), CKR_OK);
    }
    /* 3200 bytes, a whole number of blocks, 100 at a time in every session in turn. */
    for (size_t off = 0; off < 3200; off += 100)
        for (int i = 0; i < SESSIONS; i++) {
            got = sizeof out[i] - done[i];
            tk_expect_rv(f->C_EncryptUpdate(h[i], data + off, 100, out[i] + done[i], &got), CKR_OK,
                         "update at %zu in session %d", off, i);
            done[i] += got;
        }
    for (int i = 0; i < SESSIONS; i++) {
        CK_MECHANISM m = { i % 2 ? CKM_AES_CBC_PAD : CKM_AES_CBC, ivs[i], 16 };
        got = sizeof out[i] - done[i];
        tk_expect_rv(f->C_EncryptFinal(h[i], out[i] + done[i], &got), CKR_OK, "final in session %d", i);
        assert_int_equal(cu_aes(&m, 1, values[i], i % 3 ? 32 : 16, data, 3200, ref, &ref_len), 0);
        tk_expect_bytes(out[i], done[i] + got, ref, ref_len, "ciphertext of session %d", i);
    }
}

static void test_interleaved_signatures_with_many_keys_verify(void **state)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_SESSION_HANDLE h[SESSIONS];
    CK_OBJECT_HANDLE pub[SESSIONS], priv[SESSIONS];
    uint8_t sig[64];
    CK_ULONG len;

    open_sessions(h);
    for (int i = 0; i < SESSIONS; i++) {
        assert_int_equal(tk_ec_pair(f, s, "P-256", NULL, 0, &pub[i], &priv[i]), CKR_OK);
        assert_int_equal(f->C_SignInit(h[i], &m, priv[i]), CKR_OK);
    }
    for (size_t off = 0; off < 2000; off += 250)
        for (int i = 0; i < SESSIONS; i++)
            tk_expect_rv(f->C_SignUpdate(h[i], data + i + off, 250), CKR_OK,
                         "update at %zu in session %d", off, i);
    for (int i = 0; i < SESSIONS; i++) {
        EVP_PKEY *check = public_key_of(f, s, pub[i]);
        len = sizeof sig;
        tk_expect_rv(f->C_SignFinal(h[i], sig, &len), CKR_OK, "final in session %d", i);
        if (cu_verify(check, &m, data + i, 2000, sig, len) != 1)
            fail_msg("signature of session %d: OpenSSL finds it invalid", i);
        EVP_PKEY_free(check);
    }
}

/* What each thread uses: keys made by the main thread, values known for the comparisons. */
static struct {
    CK_OBJECT_HANDLE aes, mac, ec_priv;
    uint8_t aes_value[16], mac_value[32];
    EVP_PKEY *ec_check;
} shared;

static int one_round(CK_SESSION_HANDLE h, unsigned seed)
{
    static const size_t parts[] = { 333, 0, 1000 };
    CK_AES_CTR_PARAMS ctr = { .ulCounterBits = 128 };
    CK_MECHANISM aes = { CKM_AES_CTR, &ctr, sizeof ctr }, mac = { CKM_SHA384_HMAC, NULL, 0 };
    CK_MECHANISM ec = { CKM_ECDSA_SHA384, NULL, 0 };
    uint8_t msg[1500], got[1600], want[1600];
    CK_ULONG len;
    size_t want_len;
    int bad = 0;

    cu_fill(msg, sizeof msg, seed);
    cu_fill(ctr.cb, 16, seed + 1);
    len = sizeof got;
    bad |= tk_digest(f, h, CKM_SHA256, msg, sizeof msg, parts, 3, got, &len) != CKR_OK ||
           len != cu_digest(CKM_SHA256, msg, sizeof msg, want) || memcmp(got, want, len) != 0;
    len = sizeof got;
    bad |= tk_sign(f, h, &mac, shared.mac, msg, sizeof msg, parts, 3, got, &len) != CKR_OK ||
           len != cu_hmac(&mac, shared.mac_value, 32, msg, sizeof msg, want) ||
           memcmp(got, want, len) != 0;
    len = sizeof got;
    bad |= tk_encrypt(f, h, &aes, shared.aes, msg, sizeof msg, parts, 3, got, &len) != CKR_OK ||
           cu_aes(&aes, 1, shared.aes_value, 16, msg, sizeof msg, want, &want_len) != 0 ||
           len != want_len || memcmp(got, want, len) != 0;
    len = sizeof got;
    bad |= tk_sign(f, h, &ec, shared.ec_priv, msg, sizeof msg, NULL, 0, got, &len) != CKR_OK ||
           cu_verify(shared.ec_check, &ec, msg, sizeof msg, got, len) != 1;
    return bad;
}

static void *worker(void *arg)
{
    CK_SESSION_HANDLE h;
    intptr_t bad = f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &h) != CKR_OK;

    for (unsigned r = 0; r < ROUNDS && !bad; r++)
        bad |= one_round(h, 1000 * (unsigned)(intptr_t)arg + r);
    return (void *)bad;
}

static void test_threads_in_their_own_sessions_all_get_openssl_results(void **state)
{
    pthread_t t[THREADS];
    CK_OBJECT_HANDLE pub;
    void *bad;
    int failed = 0;

    cu_fill(shared.aes_value, 16, 401);
    cu_fill(shared.mac_value, 32, 402);
    assert_int_equal(tk_import_secret(f, s, CKK_AES, shared.aes_value, 16, NULL, 0, &shared.aes),
                     CKR_OK);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, shared.mac_value, 32, NULL, 0,
                                      &shared.mac), CKR_OK);
    assert_int_equal(tk_ec_pair(f, s, "P-384", NULL, 0, &pub, &shared.ec_priv), CKR_OK);
    assert_non_null(shared.ec_check = public_key_of(f, s, pub));
    for (intptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], &bad), 0);
        failed += bad != NULL;
    }
    EVP_PKEY_free(shared.ec_check);
    assert_int_equal(failed, 0);
}

/* Operations left unfinished in closed sessions, again and again, block nothing. */
static void test_abandoned_operations_use_up_nothing(void **state)
{
    CK_MECHANISM sha = { CKM_SHA512, NULL, 0 }, mac = { CKM_SHA256_HMAC, NULL, 0 };
    CK_OBJECT_HANDLE key;
    uint8_t value[32];

    cu_fill(value, 32, 501);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, 32, NULL, 0, &key), CKR_OK);
    for (int i = 0; i < 50; i++) {
        CK_SESSION_HANDLE h;
        assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &h), CKR_OK);
        assert_int_equal(f->C_DigestInit(h, &sha), CKR_OK);
        tk_expect_rv(f->C_DigestUpdate(h, data, 2000), CKR_OK, "abandoned digest %d", i);
        assert_int_equal(f->C_CloseSession(h), CKR_OK);
        assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &h), CKR_OK);
        assert_int_equal(f->C_SignInit(h, &mac, key), CKR_OK);
        tk_expect_rv(f->C_SignUpdate(h, data, 2000), CKR_OK, "abandoned HMAC %d", i);
        assert_int_equal(f->C_CloseSession(h), CKR_OK);
    }
    /* And a whole operation still works. */
    {
        uint8_t got[32], want[32];
        CK_ULONG len = sizeof got;
        assert_int_equal(tk_sign(f, s, &mac, key, data, 4096, NULL, 0, got, &len), CKR_OK);
        cu_hmac(&mac, value, 32, data, 4096, want);
        tk_expect_bytes(got, len, want, 32, "HMAC after 100 abandoned operations");
    }
}

static void test_finalize_with_operations_in_progress_leaves_the_tpm_empty(void **state)
{
    CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, mac = { CKM_SHA256_HMAC, NULL, 0 };
    CK_MECHANISM ec = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_AES_CTR_PARAMS ctr = { .ulCounterBits = 128 };
    CK_MECHANISM aes = { CKM_AES_CTR, &ctr, sizeof ctr };
    CK_SESSION_HANDLE h[SESSIONS];
    CK_OBJECT_HANDLE key, aes_key, pub, priv;
    uint8_t out[2100];
    CK_ULONG len = sizeof out;

    assert_int_equal(tk_secret(f, s, CKM_GENERIC_SECRET_KEY_GEN, 32, NULL, 0, &key), CKR_OK);
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 32, NULL, 0, &aes_key), CKR_OK);
    assert_int_equal(tk_ec_pair(f, s, "P-256", NULL, 0, &pub, &priv), CKR_OK);
    open_sessions(h);
    assert_int_equal(f->C_DigestInit(h[0], &sha), CKR_OK);
    assert_int_equal(f->C_DigestUpdate(h[0], data, 2000), CKR_OK);
    assert_int_equal(f->C_SignInit(h[1], &mac, key), CKR_OK);
    assert_int_equal(f->C_SignUpdate(h[1], data, 2000), CKR_OK);
    assert_int_equal(f->C_SignInit(h[2], &ec, priv), CKR_OK);
    assert_int_equal(f->C_SignUpdate(h[2], data, 2000), CKR_OK);
    assert_int_equal(f->C_EncryptInit(h[3], &aes, aes_key), CKR_OK);
    assert_int_equal(f->C_EncryptUpdate(h[3], data, 2000, out, &len), CKR_OK);
    assert_int_equal(f->C_DigestInit(h[4], &sha), CKR_OK);
    assert_int_equal(f->C_EncryptInit(h[4], &aes, aes_key), CKR_OK);
    len = sizeof out;
    assert_int_equal(f->C_DigestEncryptUpdate(h[4], data, 2000, out, &len), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(swtpm_transient_count(&tpm), 0);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
}

/* Finds the one object of a class with a label. */
static CK_OBJECT_HANDLE by_label(CK_OBJECT_CLASS cls, const char *label)
{
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, (void *)label, strlen(label) } };
    CK_OBJECT_HANDLE found[2];

    assert_int_equal(find_all(f, s, t, 2, found, 2), 1);
    return found[0];
}

static void log_in_again(void)
{
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
}

/* Token keys made in one life of the module sign, MAC and decrypt in the next, and after a TPM reset. */
static void test_token_keys_still_work_after_finalize_and_tpm_reset(void **state)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE ec_t[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "ec", 2 } };
    CK_ATTRIBUTE aes_t[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "aes", 3 } };
    CK_ATTRIBUTE mac_t[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "mac", 3 } };
    CK_MECHANISM ec = { CKM_ECDSA_SHA256, NULL, 0 }, mac = { CKM_SHA256_HMAC, NULL, 0 };
    uint8_t iv[16] = { 0 }, value[32], ct[1024], pt[1024], tag[32], want[32], sig[64];
    CK_MECHANISM cbc = { CKM_AES_CBC, iv, 16 };
    CK_OBJECT_HANDLE pub, priv, aes, key;
    CK_ULONG ct_len = sizeof ct, len;
    EVP_PKEY *check;

    cu_fill(value, 32, 601);
    assert_int_equal(tk_ec_pair(f, s, "P-256", ec_t, 2, &pub, &priv), CKR_OK);
    assert_non_null(check = public_key_of(f, s, pub));
    assert_int_equal(tk_secret(f, s, CKM_AES_KEY_GEN, 32, aes_t, 2, &aes), CKR_OK);
    assert_int_equal(tk_import_secret(f, s, CKK_GENERIC_SECRET, value, 32, mac_t, 2, &key), CKR_OK);
    assert_int_equal(tk_encrypt(f, s, &cbc, aes, data, 1024, NULL, 0, ct, &ct_len), CKR_OK);
    cu_hmac(&mac, value, 32, data, 1000, want);
    for (int life = 0; life < 2; life++) {
        assert_int_equal(f->C_Finalize(NULL), CKR_OK);
        if (life == 1)
            assert_int_equal(swtpm_restart(&tpm), 0);
        log_in_again();
        priv = by_label(CKO_PRIVATE_KEY, "ec");
        len = sizeof sig;
        tk_expect_rv(tk_sign(f, s, &ec, priv, data, 1000, NULL, 0, sig, &len), CKR_OK, "ECDSA in life %d", life);
        if (cu_verify(check, &ec, data, 1000, sig, len) != 1)
            fail_msg("ECDSA in life %d: OpenSSL finds it invalid", life);
        len = sizeof pt;
        tk_expect_rv(tk_decrypt(f, s, &cbc, by_label(CKO_SECRET_KEY, "aes"), ct, ct_len, NULL, 0, pt,
                                &len), CKR_OK, "AES in life %d", life);
        tk_expect_bytes(pt, len, data, 1024, "AES plaintext in life %d", life);
        len = sizeof tag;
        tk_expect_rv(tk_sign(f, s, &mac, by_label(CKO_SECRET_KEY, "mac"), data, 1000, NULL, 0, tag,
                             &len), CKR_OK, "HMAC in life %d", life);
        tk_expect_bytes(tag, len, want, 32, "HMAC in life %d", life);
    }
    EVP_PKEY_free(check);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interleaved_hmacs_with_many_keys_stay_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved_cbc_encryptions_with_many_keys_stay_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved_signatures_with_many_keys_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_in_their_own_sessions_all_get_openssl_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandoned_operations_use_up_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalize_with_operations_in_progress_leaves_the_tpm_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_keys_still_work_after_finalize_and_tpm_reset, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

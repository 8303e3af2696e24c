/* Sessions: opening, closing, information, handles, and many threads at once. */
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

#define SO_PIN "so-pin-1234"
#define USER_PIN "user-1234"
#define RW (CKF_SERIAL_SESSION | CKF_RW_SESSION)
#define RO CKF_SERIAL_SESSION

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;

static int group_setup(void **state)
{
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
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
    slot = p11_new_token(f, "sessions", SO_PIN, USER_PIN);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static void test_session_info(void **state)
{
    CK_SESSION_HANDLE ro, rw;
    CK_SESSION_INFO info;
    int app;

    assert_int_equal(f->C_OpenSession(slot, RO, &app, NULL, &ro), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW, NULL, NULL, &rw), CKR_OK);
    assert_int_not_equal(ro, rw);
    assert_int_not_equal(ro, CK_INVALID_HANDLE);
    assert_int_equal(f->C_GetSessionInfo(ro, &info), CKR_OK);
    assert_int_equal(info.slotID, slot);
    assert_int_equal(info.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(info.flags, CKF_SERIAL_SESSION);
    assert_int_equal(f->C_GetSessionInfo(rw, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_PUBLIC_SESSION);
    assert_int_equal(info.flags, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    assert_int_equal(f->C_GetSessionInfo(rw, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetSessionInfo(rw + ro + 100, &info), CKR_SESSION_HANDLE_INVALID);
}

static void test_close_session(void **state)
{
    CK_SESSION_HANDLE a, b, c;
    CK_SESSION_INFO info;
    CK_TOKEN_INFO ti;

    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &a), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW, NULL, NULL, &b), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_int_equal(ti.ulSessionCount, 2);
    assert_int_equal(ti.ulRwSessionCount, 1);
    assert_int_equal(f->C_CloseSession(a), CKR_OK);
    assert_int_equal(f->C_CloseSession(a), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_GetSessionInfo(a, &info), CKR_SESSION_HANDLE_INVALID);
    /* Handles are not reused. */
    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &c), CKR_OK);
    assert_int_not_equal(c, a);
    assert_int_equal(f->C_CloseAllSessions(slot), CKR_OK);
    assert_int_equal(f->C_GetSessionInfo(b, &info), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_GetSessionInfo(c, &info), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_int_equal(ti.ulSessionCount, 0);
    assert_int_equal(f->C_CloseAllSessions(slot + 1000), CKR_SLOT_ID_INVALID);
}

static void test_close_all_sessions_touches_one_token(void **state)
{
    CK_SLOT_ID other = p11_new_token(f, "other", SO_PIN, USER_PIN);
    CK_SESSION_HANDLE a, b;
    CK_SESSION_INFO info;

    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &a), CKR_OK);
    assert_int_equal(f->C_OpenSession(other, RO, NULL, NULL, &b), CKR_OK);
    assert_int_equal(f->C_Login(b, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9), CKR_OK);
    assert_int_equal(f->C_CloseAllSessions(slot), CKR_OK);
    assert_int_equal(f->C_GetSessionInfo(a, &info), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(f->C_GetSessionInfo(b, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RO_USER_FUNCTIONS);
}

static void test_finalize_closes_everything(void **state)
{
    CK_SESSION_HANDLE a;
    CK_SESSION_INFO info;

    assert_int_equal(f->C_OpenSession(slot, RO, NULL, NULL, &a), CKR_OK);
    assert_int_equal(f->C_Login(a, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_GetSessionInfo(a, &info), CKR_SESSION_HANDLE_INVALID);
    /* The module loaded no transient object it left behind. */
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(swtpm_transient_count(&tpm), 0);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
}

#define THREADS 8
#define ROUNDS 40

static void *session_worker(void *arg)
{
    intptr_t bad = 0;

    for (int i = 0; i < ROUNDS && !bad; i++) {
        CK_SESSION_HANDLE s;
        CK_SESSION_INFO info;
        CK_TOKEN_INFO ti;
        CK_BYTE rnd[16];

        bad |= f->C_OpenSession(slot, (i & 1) ? RW : RO, NULL, NULL, &s) != CKR_OK;
        bad |= f->C_GetSessionInfo(s, &info) != CKR_OK || info.slotID != slot;
        bad |= f->C_GenerateRandom(s, rnd, sizeof rnd) != CKR_OK;
        bad |= f->C_GetTokenInfo(slot, &ti) != CKR_OK;
        if (i % 10 == 0) {
            CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9);
            bad |= rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN;
        }
        bad |= f->C_CloseSession(s) != CKR_OK;
    }
    return (void *)bad;
}

static void test_threads_share_the_module(void **state)
{
    pthread_t t[THREADS];
    CK_TOKEN_INFO ti;
    void *bad;

    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, session_worker, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_int_equal(ti.ulSessionCount, 0);
    assert_int_equal(ti.ulRwSessionCount, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_all_sessions_touches_one_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalize_closes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_the_module, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

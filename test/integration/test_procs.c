/* Several processes on one store and one bare TPM: nothing lost, each sees the other's tokens. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness/loader.h"
#include "harness/swtpm.h"

#define SO_PIN "so-pin-1234"
#define USER_PIN "user-1234"
#define PROCS 2
#define TOKENS_EACH 4

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;

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

/* Creates a token, retrying when another process took the empty slot first. */
static int create_one(int proc, int i)
{
    char label[32];

    snprintf(label, sizeof label, "proc %d token %d", proc, i);
    for (int attempt = 0; attempt < 20; attempt++)
        if (p11_new_token(f, label, SO_PIN, USER_PIN) != (CK_SLOT_ID)-1)
            return 0;
    return -1;
}

/* Logs in to every token: the PIN checks of both processes interleave in one TPM. */
static int login_everywhere(void)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE s;
    int logged = 0;

    if (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || f->C_GetSlotList(CK_TRUE, slots, &n))
        return -1;
    for (CK_ULONG i = 0; i < n; i++) {
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            return -1;
        if (!(ti.flags & CKF_USER_PIN_INITIALIZED))
            continue;
        if (f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
            f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, 9) != CKR_OK ||
            f->C_CloseSession(s) != CKR_OK)
            return -1;
        logged++;
    }
    return logged;
}

static int child(int proc)
{
    if (f->C_Initialize(NULL) != CKR_OK)
        return 10;
    for (int i = 0; i < TOKENS_EACH; i++)
        if (create_one(proc, i) != 0)
            return 11;
    if (login_everywhere() < TOKENS_EACH)
        return 12;
    return f->C_Finalize(NULL) == CKR_OK ? 0 : 13;
}

static long count_tokens(void)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long n = -1;

    if (sqlite3_open_v2(getenv("TPMTOK_STORE"), &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM tokens", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_two_processes_share_store_and_tpm(void **state)
{
    pid_t pids[PROCS];
    int status;

    swtpm_new_store(&tpm);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0)
            _exit(child(p));
    }
    for (int p = 0; p < PROCS; p++) {
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(count_tokens(), PROCS * TOKENS_EACH);
    /* A third process sees all of them, and every PIN works. */
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p11_slot_count(f), PROCS * TOKENS_EACH + 1);
    assert_int_equal(login_everywhere(), PROCS * TOKENS_EACH);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    /* Nobody left a transient object in the TPM. */
    assert_int_equal(swtpm_transient_count(&tpm), 0);
}

/* A process that sees a new token from another process after refreshing its slot list. */
static void test_token_made_elsewhere_appears_after_refresh(void **state)
{
    CK_ULONG before, after;
    int status;
    pid_t pid;

    swtpm_new_store(&tpm);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    before = (CK_ULONG)p11_slot_count(f);
    pid = fork();
    if (pid == 0)
        _exit(f->C_Initialize(NULL) == CKR_OK &&
              p11_new_token(f, "elsewhere", SO_PIN, USER_PIN) != (CK_SLOT_ID)-1 ? 0 : 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    after = (CK_ULONG)p11_slot_count(f);
    assert_int_equal(after, before + 1);
    /* Our empty slot was taken by the other process: it now holds that token. */
    assert_int_equal(login_everywhere(), 1);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes_share_store_and_tpm),
        cmocka_unit_test(test_token_made_elsewhere_appears_after_refresh),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

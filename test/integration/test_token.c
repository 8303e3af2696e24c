/* Slots and tokens: the slot list, slot and token info, C_InitToken, store and TPM failures. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness/loader.h"
#include "harness/swtpm.h"

#define SO_PIN "so-pin-1234"
#define USER_PIN "user-1234"

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

static int setup(void **state)
{
    swtpm_new_store(&tpm);
    setenv("TPMTOK_TCTI", tpm.tcti, 1);
    return f->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static long count_rows(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long n = -1;

    if (sqlite3_open_v2(getenv("TPMTOK_STORE"), &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_fresh_store_has_one_empty_slot(void **state)
{
    CK_SLOT_ID slots[4];
    CK_ULONG n = 0;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;

    assert_int_equal(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
    n = 4;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f->C_GetSlotInfo(slots[0], &si), CKR_OK);
    assert_true(si.flags & CKF_TOKEN_PRESENT);
    assert_int_equal(f->C_GetTokenInfo(slots[0], &ti), CKR_OK);
    assert_false(ti.flags & CKF_TOKEN_INITIALIZED);
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_true(ti.flags & CKF_RNG);
    assert_int_equal(f->C_GetSlotInfo(slots[0] + 100, &si), CKR_SLOT_ID_INVALID);
    assert_int_equal(f->C_GetTokenInfo(slots[0] + 100, &ti), CKR_SLOT_ID_INVALID);
    assert_int_equal(f->C_GetSlotInfo(slots[0], NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetTokenInfo(slots[0], NULL), CKR_ARGUMENTS_BAD);
}

static void test_slot_list_length_convention(void **state)
{
    CK_SLOT_ID slots[4];
    CK_ULONG n;

    assert_int_not_equal(p11_new_token(f, "one", SO_PIN, NULL), (CK_SLOT_ID)-1);
    n = 0;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 2);
    n = 1;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    assert_true(slots[0] < slots[1]);
}

static void test_init_token_creates_a_token(void **state)
{
    CK_SLOT_ID empty = p11_empty_slot(f), slot;
    CK_UTF8CHAR label[32];
    CK_TOKEN_INFO ti;

    p11_label(label, "my token");
    assert_int_equal(f->C_InitToken(empty, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label), CKR_OK);
    slot = empty;
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_memory_equal(ti.label, label, 32);
    assert_true(ti.flags & CKF_TOKEN_INITIALIZED);
    assert_true(ti.flags & CKF_LOGIN_REQUIRED);
    assert_true(ti.flags & CKF_RNG);
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_false(ti.flags & CKF_WRITE_PROTECTED);
    for (int i = 0; i < 16; i++)
        assert_non_null(strchr("0123456789abcdef", ti.serialNumber[i]));
    assert_int_equal(ti.ulMinPinLen, 4);
    assert_true(ti.ulMaxPinLen >= 64);
    assert_int_equal(ti.ulSessionCount, 0);
    assert_memory_equal(ti.manufacturerID, "IBM", 3);   /* swtpm's TPM manufacturer */
    /* A new empty slot follows, with a higher ID. */
    assert_true(p11_empty_slot(f) > slot);
    assert_int_equal(count_rows("SELECT count(*) FROM tokens"), 1);
}

static void test_slot_ids_are_stable_across_processes(void **state)
{
    CK_SLOT_ID a = p11_new_token(f, "a", SO_PIN, NULL);
    CK_SLOT_ID b = p11_new_token(f, "b", SO_PIN, NULL);
    CK_SLOT_ID slots[4];
    CK_TOKEN_INFO ti;
    CK_ULONG n = 4;
    int status;
    pid_t pid;

    assert_true(a != (CK_SLOT_ID)-1 && b != (CK_SLOT_ID)-1 && a != b);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(a, &ti), CKR_OK);
    assert_memory_equal(ti.label, "a ", 2);
    assert_int_equal(f->C_GetTokenInfo(b, &ti), CKR_OK);
    assert_memory_equal(ti.label, "b ", 2);
    pid = fork();
    if (pid == 0) {
        int bad = f->C_Initialize(NULL) != CKR_OK ||
                  f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n != 3 ||
                  slots[0] != a || slots[1] != b ||
                  f->C_GetTokenInfo(b, &ti) != CKR_OK || memcmp(ti.label, "b ", 2) != 0;
        _exit(bad);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_init_token_errors(void **state)
{
    CK_SLOT_ID empty = p11_empty_slot(f), slot;
    CK_UTF8CHAR label[32];
    CK_SESSION_HANDLE s;

    p11_label(label, "x");
    assert_int_equal(f->C_InitToken(empty + 100, (CK_UTF8CHAR *)SO_PIN, 11, label), CKR_SLOT_ID_INVALID);
    assert_int_equal(f->C_InitToken(empty, NULL, 11, label), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_InitToken(empty, (CK_UTF8CHAR *)SO_PIN, 11, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_InitToken(empty, (CK_UTF8CHAR *)"123", 3, label), CKR_PIN_INCORRECT);
    assert_int_equal(count_rows("SELECT count(*) FROM tokens"), 0);

    slot = p11_new_token(f, "x", SO_PIN, USER_PIN);
    assert_int_not_equal(slot, (CK_SLOT_ID)-1);
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, 11, label), CKR_SESSION_EXISTS);
    assert_int_equal(f->C_CloseSession(s), CKR_OK);
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)"wrong-pin", 9, label), CKR_PIN_INCORRECT);
}

static void test_reinit_token_destroys_objects_and_user_pin(void **state)
{
    CK_SLOT_ID slot = p11_new_token(f, "before", SO_PIN, USER_PIN);
    CK_UTF8CHAR label[32];
    CK_TOKEN_INFO ti;
    char sql[128];
    sqlite3 *db;

    assert_int_not_equal(slot, (CK_SLOT_ID)-1);
    /* Objects come with a later capability; plant rows to see that re-init removes them. */
    assert_int_equal(sqlite3_open(getenv("TPMTOK_STORE"), &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO objects(token_id, class, private, attrs) "
             "VALUES (%lu, 0, 0, x'00'), (%lu, 0, 0, x'00')", (unsigned long)slot, (unsigned long)slot);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(count_rows("SELECT count(*) FROM objects"), 2);

    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_INITIALIZED);
    p11_label(label, "after");
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    assert_memory_equal(ti.label, label, 32);
    assert_false(ti.flags & CKF_USER_PIN_INITIALIZED);
    assert_int_equal(count_rows("SELECT count(*) FROM objects"), 0);
    assert_int_equal(count_rows("SELECT count(*) FROM tokens"), 1);
    /* The SO PIN still works after re-initialization. */
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label), CKR_OK);
}

static void test_open_session_rules(void **state)
{
    CK_SLOT_ID slot = p11_new_token(f, "s", SO_PIN, USER_PIN);
    CK_SLOT_ID empty = p11_empty_slot(f);
    CK_SESSION_HANDLE s;

    assert_int_equal(f->C_OpenSession(empty, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_TOKEN_NOT_RECOGNIZED);
    assert_int_equal(f->C_OpenSession(slot, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_OpenSession(empty + 100, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_SLOT_ID_INVALID);
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
}

/* A corrupt store leaves the module usable and every token call says so clearly. */
static void test_corrupt_store_gives_device_error(void **state)
{
    const char *path = getenv("TPMTOK_STORE");
    CK_UTF8CHAR label[32];
    CK_TOKEN_INFO ti;
    CK_SLOT_ID slot;
    CK_ULONG n = 1;
    int fd;

    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "this is not an sqlite database at all, not even close....", 56), 56);
    close(fd);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_GetSlotList(CK_TRUE, &slot, &n), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_DEVICE_ERROR);
    p11_label(label, "x");
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, 11, label), CKR_DEVICE_ERROR);
}

/* With no TPM behind TPMTOK_TCTI, C_Initialize works and TPM work fails with a device error. */
static void test_unreachable_tpm_gives_device_error(void **state)
{
    CK_UTF8CHAR label[32];
    CK_TOKEN_INFO ti;
    CK_SLOT_ID slot;
    CK_ULONG n = 1;

    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    setenv("TPMTOK_TCTI", "swtpm:host=127.0.0.1,port=1", 1);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_GetSlotList(CK_TRUE, &slot, &n), CKR_OK);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_DEVICE_ERROR);
    p11_label(label, "x");
    assert_int_equal(f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, 11, label), CKR_DEVICE_ERROR);
}

/* A store the process cannot write: tokens can be used read-only, never changed. */
static int read_only_child(CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE s;
    CK_TOKEN_INFO ti;
    CK_UTF8CHAR label[32];

    if (f->C_Initialize(NULL) != CKR_OK)
        return 1;
    if (f->C_GetTokenInfo(slot, &ti) != CKR_OK || !(ti.flags & CKF_WRITE_PROTECTED))
        return 2;
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) !=
        CKR_TOKEN_WRITE_PROTECTED)
        return 3;
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return 4;
    if (f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK)
        return 5;
    if (f->C_CloseSession(s) != CKR_OK)
        return 6;
    p11_label(label, "x");
    if (f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label) != CKR_TOKEN_WRITE_PROTECTED)
        return 7;
    return 0;
}

static void test_read_only_store(void **state)
{
    const char *path = getenv("TPMTOK_STORE");
    CK_SLOT_ID slot = p11_new_token(f, "ro", SO_PIN, USER_PIN);
    char sidecar[4096];
    int status;
    pid_t pid;

    assert_int_not_equal(slot, (CK_SLOT_ID)-1);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    pid = fork();
    if (pid == 0) {
        /* root writes anything; take another identity so the permissions apply. */
        if (geteuid() == 0) {
            if (chown(tpm.dir, 65534, 65534) || chown(path, 65534, 65534))
                _exit(20);
            snprintf(sidecar, sizeof sidecar, "%s-wal", path);
            chown(sidecar, 65534, 65534);
            snprintf(sidecar, sizeof sidecar, "%s-shm", path);
            chown(sidecar, 65534, 65534);
            if (setgid(65534) || setuid(65534))
                _exit(21);
        }
        if (chmod(path, 0400))
            _exit(22);
        _exit(read_only_child(slot));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(tpm.dir, 0, 0), 0);
        assert_int_equal(chown(path, 0, 0), 0);
    }
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_store_has_one_empty_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_list_length_convention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_token_creates_a_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_ids_are_stable_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_token_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinit_token_destroys_objects_and_user_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_session_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_store_gives_device_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_tpm_gives_device_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_store, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

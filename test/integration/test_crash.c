/*
 * A process killed (SIGKILL) in the middle of C_GenerateKeyPair, C_CreateObject,
 * C_DestroyObject, C_InitToken or C_SetPIN, at many points: afterwards the store passes
 * PRAGMA integrity_check, holds each object whole or not at all (a key pair both halves or
 * neither), and a token whose PIN change was cut short opens with exactly one of the two PINs.
 * A full disk (the file size limit) gives CKR_DEVICE_MEMORY and leaves nothing half-written.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/keycheck.h"

#define ROUNDS 12
#define DATA_LEN 2048
#define PIN_A "pin-a-1234"
#define PIN_B "pin-b-5678"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;
static unsigned seed = 20261123;
static unsigned kills;

/* What a child does over and over until it is killed. */
typedef void (*child_loop)(CK_SESSION_HANDLE s);

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

    nanosleep(&ts, NULL);
}

static CK_RV login(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin)
{
    return f->C_Login(s, who, (CK_UTF8CHAR *)pin, strlen(pin));
}

/* The child: starts the module afresh, tells the parent it is ready, then loops. */
static void child_run(int ready_fd, CK_USER_TYPE who, const char *pin, child_loop loop)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    char ok = 1;

    if (f->C_Initialize(NULL) != CKR_OK ||
        f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        (pin != NULL && login(s, who, pin) != CKR_OK))
        ok = 0;
    if (write(ready_fd, &ok, 1) != 1 || !ok)
        _exit(1);
    loop(s);
    _exit(0);
}

/*
 * One round: a child runs loop, and is killed a random time (up to max_us) after it is ready;
 * then what a resource manager would do for it, and the store's own check.
 */
static void crash_round(CK_USER_TYPE who, const char *pin, child_loop loop, long max_us)
{
    int fds[2], status;
    char ok = 0;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_run(fds[1], who, pin, loop);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &ok, 1), 1);
    close(fds[0]);
    assert_int_equal(ok, 1);
    /* Under valgrind everything the child does takes some twenty times longer. */
    if (getenv("TPMTOK_VALGRIND") != NULL)
        max_us *= 20;
    sleep_us((long)(rand_r(&seed) % (unsigned)max_us));
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        kills++;
    assert_true(swtpm_flush_leftovers(&tpm) >= 0);
}

static void assert_store_integrity(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_open_v2(getenv("TPMTOK_STORE"), &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The parent's view after a round: the module started afresh, a session logged in as who. */
static CK_SESSION_HANDLE parent_session(CK_USER_TYPE who, const char *pin)
{
    CK_SESSION_HANDLE s;

    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s), CKR_OK);
    if (pin != NULL)
        assert_int_equal(login(s, who, pin), CKR_OK);
    return s;
}

static int group_setup(void **state)
{
    (void)state;
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    p11_unload(&mod);
    swtpm_stop(&tpm);
    print_message("%u processes killed mid-call\n", kills);
    return 0;
}

/* A fresh store with a token and both PINs; the module is not left running. */
static int setup(void **state)
{
    CK_SESSION_HANDLE s;

    (void)state;
    swtpm_new_store(&tpm);
    if (f->C_Initialize(NULL) != CKR_OK ||
        (slot = token_with_user(f, "crash", &s)) == (CK_SLOT_ID)-1)
        return -1;
    return f->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    f->C_Finalize(NULL);
    return 0;
}

static void loop_keypairs(CK_SESSION_HANDLE s)
{
    for (unsigned i = 0; i < 1000; i++)
        ec_token_pair(f, s, "crash pair");
}

static void test_killed_generating_key_pairs(void **state)
{
    struct key_census c;
    CK_SESSION_HANDLE s;

    (void)state;
    for (int round = 0; round < ROUNDS; round++) {
        crash_round(CKU_USER, USER_PIN, loop_keypairs, 60000);
        assert_store_integrity();
    }
    s = parent_session(CKU_USER, USER_PIN);
    key_census(f, s, NULL, &c);
    print_message("%lu key pairs survived\n", (unsigned long)c.private_keys);
    assert_int_equal(c.unpaired, 0);
    assert_int_equal(c.private_keys, c.public_keys);
    assert_true(c.private_keys > 0);
    assert_int_equal(keys_sign_and_verify(f, s), c.private_keys);
}

/* The value a data object holds, from its number: a torn object cannot match it. */
static void data_value(unsigned n, uint8_t *v)
{
    for (size_t i = 0; i < DATA_LEN; i++)
        v[i] = (uint8_t)(n * 31 + i * 7);
}

static CK_RV data_create(CK_SESSION_HANDLE s, unsigned n, CK_OBJECT_HANDLE *h)
{
    static const char label[] = "crash data";
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    uint8_t value[DATA_LEN];
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, 1 },
                         { CKA_LABEL, (void *)label, sizeof label - 1 },
                         { CKA_APPLICATION, &n, sizeof n }, { CKA_VALUE, value, sizeof value } };

    data_value(n, value);
    return f->C_CreateObject(s, t, 5, h);
}

static void loop_create_destroy(CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE h[2] = { CK_INVALID_HANDLE, CK_INVALID_HANDLE };

    for (unsigned n = (unsigned)getpid() * 1000; ; n++) {
        if (h[n % 2] != CK_INVALID_HANDLE)
            f->C_DestroyObject(s, h[n % 2]);
        h[n % 2] = CK_INVALID_HANDLE;
        data_create(s, n, &h[n % 2]);
    }
}

/* Every data object reads back whole: its value is the one its number says. */
static CK_ULONG assert_data_objects_whole(CK_SESSION_HANDLE s)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls } };
    CK_OBJECT_HANDLE found[256];
    CK_ULONG n = find_all(f, s, t, 1, found, 256);
    uint8_t want[DATA_LEN];

    for (CK_ULONG i = 0; i < n; i++) {
        size_t app_len, value_len;
        CK_RV rv;
        uint8_t *app = attr_get(f, s, found[i], CKA_APPLICATION, &app_len, &rv);
        uint8_t *value = attr_get(f, s, found[i], CKA_VALUE, &value_len, &rv);
        unsigned number;
        assert_non_null(app);
        assert_non_null(value);
        assert_int_equal(app_len, sizeof number);
        memcpy(&number, app, sizeof number);
        data_value(number, want);
        assert_int_equal(value_len, DATA_LEN);
        assert_memory_equal(value, want, DATA_LEN);
        free(app);
        free(value);
    }
    return n;
}

static void test_killed_creating_and_destroying_objects(void **state)
{
    CK_SESSION_HANDLE s;
    CK_ULONG n;

    (void)state;
    for (int round = 0; round < ROUNDS; round++) {
        crash_round(CKU_USER, NULL, loop_create_destroy, 40000);
        assert_store_integrity();
    }
    s = parent_session(CKU_USER, NULL);
    n = assert_data_objects_whole(s);
    print_message("%lu data objects survived, each whole\n", (unsigned long)n);
    /* Each child leaves at most the two it had, and each had made some. */
    assert_true(n <= 2 * ROUNDS);
}

static void loop_init_token(CK_SESSION_HANDLE s)
{
    CK_UTF8CHAR label[32];

    /* C_InitToken wants no session open on the token. */
    f->C_CloseSession(s);
    for (unsigned i = 0; ; i++) {
        p11_label(label, i % 2 ? "crash B" : "crash A");
        f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label);
    }
}

static void test_killed_initializing_the_token(void **state)
{
    CK_TOKEN_INFO ti;

    (void)state;
    for (int round = 0; round < ROUNDS; round++) {
        crash_round(CKU_SO, NULL, loop_init_token, 150000);
        assert_store_integrity();
        /* The token is there under one of its labels, and its SO PIN opens it. */
        parent_session(CKU_SO, SO_PIN);
        assert_int_equal(f->C_GetTokenInfo(slot, &ti), CKR_OK);
        assert_true(ti.flags & CKF_TOKEN_INITIALIZED);
        assert_true(memcmp(ti.label, "crash", 5) == 0);
        assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    }
}

static void loop_set_pin(CK_SESSION_HANDLE s)
{
    const char *cur = PIN_A, *next = PIN_B, *t;

    /* The child does not know where the last one stopped: one of the two works. */
    if (login(s, CKU_USER, cur) != CKR_OK) {
        cur = PIN_B;
        next = PIN_A;
        if (login(s, CKU_USER, cur) != CKR_OK)
            _exit(3);
    }
    for (;;) {
        if (f->C_SetPIN(s, (CK_UTF8CHAR *)cur, strlen(cur), (CK_UTF8CHAR *)next, strlen(next)) ==
            CKR_OK) {
            t = cur;
            cur = next;
            next = t;
        }
    }
}

static void test_killed_changing_the_pin(void **state)
{
    CK_SESSION_HANDLE s;
    CK_RV a, b;

    (void)state;
    /* Start from PIN_A. */
    s = parent_session(CKU_SO, NULL);
    assert_int_equal(login(s, CKU_USER, USER_PIN), CKR_OK);
    assert_int_equal(f->C_SetPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN),
                                 (CK_UTF8CHAR *)PIN_A, strlen(PIN_A)), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    for (int round = 0; round < ROUNDS; round++) {
        crash_round(CKU_USER, NULL, loop_set_pin, 150000);
        assert_store_integrity();
        s = parent_session(CKU_USER, NULL);
        a = login(s, CKU_USER, PIN_A);
        if (a == CKR_OK)
            assert_int_equal(f->C_Logout(s), CKR_OK);
        b = login(s, CKU_USER, PIN_B);
        assert_true((a == CKR_OK) != (b == CKR_OK));
        assert_true(a == CKR_OK || a == CKR_PIN_INCORRECT);
        assert_true(b == CKR_OK || b == CKR_PIN_INCORRECT);
        assert_int_equal(f->C_Finalize(NULL), CKR_OK);
        assert_int_equal(swtpm_da_reset(&tpm), 0);
    }
}

/* The child under a file size limit: objects until the store cannot grow, then what it got. */
static int child_fill_disk(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h;
    struct stat st;
    struct rlimit lim;
    char wal[4096];
    off_t biggest;
    CK_RV rv = CKR_OK;
    unsigned made = 0;

    signal(SIGXFSZ, SIG_IGN);
    if (f->C_Initialize(NULL) != CKR_OK ||
        f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s) != CKR_OK)
        return 10;
    snprintf(wal, sizeof wal, "%s-wal", getenv("TPMTOK_STORE"));
    biggest = stat(getenv("TPMTOK_STORE"), &st) == 0 ? st.st_size : 0;
    if (stat(wal, &st) == 0 && st.st_size > biggest)
        biggest = st.st_size;
    lim.rlim_cur = lim.rlim_max = (rlim_t)biggest + 64 * 1024;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 11;
    while (made < 10000 && (rv = data_create(s, made, &h)) == CKR_OK)
        made++;
    printf("made %u objects before the disk was full: CK_RV 0x%lx\n", made, (unsigned long)rv);
    fflush(stdout);
    if (rv != CKR_DEVICE_MEMORY || made == 0)
        return 12;
    /* Reading still works, and holds exactly what was made. */
    return assert_data_objects_whole(s) == made ? 0 : 13;
}

static void test_disk_full(void **state)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h;
    int status;
    pid_t pid;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_fill_disk());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_store_integrity();
    /* With room again, the store takes more. */
    s = parent_session(CKU_USER, NULL);
    assert_true(assert_data_objects_whole(s) > 0);
    assert_int_equal(data_create(s, 99999, &h), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_generating_key_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_creating_and_destroying_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_initializing_the_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_changing_the_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Many processes, many threads, one token and store: signing, digesting, creating and
 * destroying objects for a bounded time. No error but CKR_OK, exact object counts at the end,
 * and no deadlock: every process runs under an alarm, so a hang fails the test.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "harness/abrmd.h"
#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"
#include "integration/crypto_util.h"
#include "integration/keycheck.h"

#define PROCESSES 3
#define THREADS 4
#define RUN_SECONDS 3
#define HANG_SECONDS 90
#define DIGEST_LEN (64 * 1024)

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;
static unsigned run;              /* labels differ from run to run on one store */

struct worker {
    pthread_t thread;
    int kind;                   /* 0 sign, 1 digest, 2 create and destroy */
    char label[48];             /* the objects this worker makes */
    double until;
    unsigned ops;
    CK_ULONG kept;              /* objects made and not destroyed */
    CK_RV failed;               /* the first error, CKR_OK if none */
    const char *failed_in;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int worker_fail(struct worker *w, const char *where, CK_RV rv)
{
    w->failed = rv == CKR_OK ? CKR_GENERAL_ERROR : rv;
    w->failed_in = where;
    return -1;
}

static CK_OBJECT_HANDLE shared_key(CK_SESSION_HANDLE s)
{
    static const char label[] = "shared";
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, (void *)label, 6 } };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;

    find_all(f, s, t, 2, &h, 1);
    return h;
}

static int sign_once(struct worker *w, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    uint8_t msg[32], sig[128];
    CK_ULONG len = sizeof sig;
    CK_RV rv;

    memset(msg, (int)w->ops, sizeof msg);
    if ((rv = f->C_SignInit(s, &m, key)) != CKR_OK)
        return worker_fail(w, "C_SignInit", rv);
    if ((rv = f->C_Sign(s, msg, sizeof msg, sig, &len)) != CKR_OK)
        return worker_fail(w, "C_Sign", rv);
    return len == 64 ? 0 : worker_fail(w, "C_Sign length", CKR_OK);
}

static int digest_once(struct worker *w, CK_SESSION_HANDLE s, const uint8_t *data)
{
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    uint8_t out[32], want[32];
    CK_ULONG len = sizeof out;
    CK_RV rv;

    if ((rv = f->C_DigestInit(s, &m)) != CKR_OK)
        return worker_fail(w, "C_DigestInit", rv);
    if ((rv = f->C_DigestUpdate(s, (CK_BYTE_PTR)data, DIGEST_LEN / 2)) != CKR_OK ||
        (rv = f->C_DigestUpdate(s, (CK_BYTE_PTR)data + DIGEST_LEN / 2, DIGEST_LEN / 2)) != CKR_OK)
        return worker_fail(w, "C_DigestUpdate", rv);
    if ((rv = f->C_DigestFinal(s, out, &len)) != CKR_OK)
        return worker_fail(w, "C_DigestFinal", rv);
    cu_digest(CKM_SHA256, data, DIGEST_LEN, want);
    return memcmp(out, want, sizeof want) == 0 ? 0 : worker_fail(w, "digest value", CKR_OK);
}

/* Makes two objects and destroys one: the store grows by one each time. */
static int create_destroy_once(struct worker *w, CK_SESSION_HANDLE s)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    uint8_t value[256];
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, 1 },
                         { CKA_LABEL, w->label, strlen(w->label) },
                         { CKA_VALUE, value, sizeof value } };
    CK_OBJECT_HANDLE a, b;
    CK_RV rv;

    memset(value, (int)w->ops, sizeof value);
    if ((rv = f->C_CreateObject(s, t, 4, &a)) != CKR_OK ||
        (rv = f->C_CreateObject(s, t, 4, &b)) != CKR_OK)
        return worker_fail(w, "C_CreateObject", rv);
    if ((rv = f->C_DestroyObject(s, a)) != CKR_OK)
        return worker_fail(w, "C_DestroyObject", rv);
    w->kept++;
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    uint8_t *data = malloc(DIGEST_LEN);
    CK_RV rv;
    int r = 0;

    if (data == NULL)
        return NULL;
    cu_fill(data, DIGEST_LEN, (unsigned)w->kind);
    /* The user is logged in through another session: this one shares the login. */
    if ((rv = f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s)) != CKR_OK) {
        worker_fail(w, "C_OpenSession", rv);
        goto out;
    }
    if (w->kind == 0 && (key = shared_key(s)) == CK_INVALID_HANDLE) {
        worker_fail(w, "finding the shared key", CKR_OK);
        goto out;
    }
    while (r == 0 && now_s() < w->until) {
        r = w->kind == 0 ? sign_once(w, s, key)
            : w->kind == 1 ? digest_once(w, s, data) : create_destroy_once(w, s);
        w->ops++;
    }
    if ((rv = f->C_CloseSession(s)) != CKR_OK && w->failed == CKR_OK)
        worker_fail(w, "C_CloseSession", rv);
out:
    free(data);
    return NULL;
}

static CK_ULONG count_labelled(CK_SESSION_HANDLE s, const char *label)
{
    CK_ATTRIBUTE t[] = { { CKA_LABEL, (void *)label, strlen(label) } };
    CK_OBJECT_HANDLE found[1];
    CK_ULONG n = 0, got;

    /* Counted in chunks through the search, as an application would. */
    if (f->C_FindObjectsInit(s, t, 1) != CKR_OK)
        return (CK_ULONG)-1;
    while (f->C_FindObjects(s, found, 1, &got) == CKR_OK && got == 1)
        n++;
    f->C_FindObjectsFinal(s);
    return n;
}

/* One process: THREADS workers of every kind; 0 when every one succeeded and counts match. */
static int process_main(int id)
{
    struct worker w[THREADS];
    CK_SESSION_HANDLE s;
    unsigned ops = 0;
    int bad = 0;

    alarm(HANG_SECONDS);
    if (f->C_Initialize(NULL) != CKR_OK ||
        f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK)
        return 2;
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].kind = i % 3;
        w[i].until = now_s() + RUN_SECONDS;
        snprintf(w[i].label, sizeof w[i].label, "concurrency %u.%d.%d", run, id, i);
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
            return 3;
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i].thread, NULL);
        ops += w[i].ops;
        if (w[i].failed != CKR_OK) {
            fprintf(stderr, "process %d thread %d (kind %d): %s: CK_RV 0x%lx\n", id, i,
                    w[i].kind, w[i].failed_in, (unsigned long)w[i].failed);
            bad = 1;
        }
        if (count_labelled(s, w[i].label) != w[i].kept) {
            fprintf(stderr, "process %d thread %d: %lu objects, expected %lu\n", id, i,
                    (unsigned long)count_labelled(s, w[i].label), (unsigned long)w[i].kept);
            bad = 1;
        }
    }
    printf("process %d: %u operations in %d threads\n", id, ops, THREADS);
    fflush(stdout);
    f->C_Finalize(NULL);
    return bad ? 4 : 0;
}

static int group_setup(void **state)
{
    CK_SESSION_HANDLE s;

    (void)state;
    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    if (f->C_Initialize(NULL) != CKR_OK ||
        (slot = token_with_user(f, "concurrency", &s)) == (CK_SLOT_ID)-1 ||
        ec_token_pair(f, s, "shared") != CKR_OK)
        return -1;
    return f->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

static void run_processes(int n)
{
    pid_t pids[PROCESSES];
    int status;

    run++;
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(process_main(i));
    }
    for (int i = 0; i < n; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if (WIFSIGNALED(status))
            fail_msg("process %d died of signal %d (SIGALRM: it hung)", i, WTERMSIG(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* One process, its threads sharing the module's residency of loaded objects. */
static void test_threads_in_one_process(void **state)
{
    (void)state;
    run_processes(1);
}

/*
 * Processes sharing the TPM through a resource manager (tpm2-abrmd), as processes on a laptop
 * share /dev/tpmrm0: a bare TPM's three slots cannot hold every process's working set.
 */
static void test_processes_with_threads(void **state)
{
    CK_SESSION_HANDLE s;
    struct key_census c;
    struct abrmd a;
    int r;

    (void)state;
    if ((r = abrmd_start(&a, &tpm)) == 1)
        skip();
    assert_int_equal(r, 0);
    run_processes(PROCESSES);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RW_SESSION, NULL, NULL, &s), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)), CKR_OK);
    key_census(f, s, NULL, &c);
    assert_int_equal(c.private_keys, 1);
    assert_int_equal(c.unpaired, 0);
    assert_int_equal(keys_sign_and_verify(f, s), 1);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    abrmd_stop(&a, &tpm);
    print_message("%d processes x %d threads ran %d s each\n", PROCESSES, THREADS, RUN_SECONDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_in_one_process),
        cmocka_unit_test(test_processes_with_threads),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

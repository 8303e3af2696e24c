/* C_Initialize/C_Finalize, locking arguments, function lists, legacy functions, fork and races. */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"

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

/* Each test starts uninitialized, with a store of its own. */
static int setup(void **state)
{
    swtpm_new_store(&tpm);
    return 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static void test_function_list_is_complete_and_2_40(void **state)
{
    CK_FUNCTION_LIST *list = NULL;
    void (**fn)(void);
    size_t n = (sizeof *list - offsetof(CK_FUNCTION_LIST, C_Initialize)) / sizeof(void (*)(void));

    assert_int_equal(f->C_GetFunctionList(&list), CKR_OK);
    assert_ptr_equal(list, f);
    assert_int_equal(list->version.major, 2);
    assert_int_equal(list->version.minor, 40);
    fn = (void (**)(void))&list->C_Initialize;
    assert_int_equal(n, 68);
    for (size_t i = 0; i < n; i++)
        assert_non_null(fn[i]);
    assert_int_equal(f->C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
}

static void test_interface_list_offers_pkcs11_2_40(void **state)
{
    CK_C_GetInterfaceList get_list = (CK_C_GetInterfaceList)dlsym(mod.dl, "C_GetInterfaceList");
    CK_C_GetInterface get = (CK_C_GetInterface)dlsym(mod.dl, "C_GetInterface");
    CK_INTERFACE list[2];
    CK_INTERFACE *iface = NULL;
    CK_ULONG n = 0;
    CK_VERSION v240 = { 2, 40 }, v30 = { 3, 0 };

    assert_non_null(get_list);
    assert_non_null(get);
    assert_int_equal(get_list(NULL, &n), CKR_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(get_list(list, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 1);
    n = 2;
    assert_int_equal(get_list(list, &n), CKR_OK);
    assert_string_equal((char *)list[0].pInterfaceName, "PKCS 11");
    assert_ptr_equal(list[0].pFunctionList, f);
    assert_int_equal(get_list(list, NULL), CKR_ARGUMENTS_BAD);

    assert_int_equal(get(NULL, NULL, &iface, 0), CKR_OK);
    assert_ptr_equal(iface->pFunctionList, f);
    assert_int_equal(get((CK_UTF8CHAR *)"PKCS 11", &v240, &iface, 0), CKR_OK);
    assert_int_equal(get((CK_UTF8CHAR *)"PKCS 11", &v30, &iface, 0), CKR_ARGUMENTS_BAD);
    assert_int_equal(get((CK_UTF8CHAR *)"Vendor", NULL, &iface, 0), CKR_ARGUMENTS_BAD);
    assert_int_equal(get(NULL, NULL, &iface, CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
    assert_int_equal(get(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
}

/* Every function but the list getters says CKR_CRYPTOKI_NOT_INITIALIZED before C_Initialize. */
static void test_every_function_needs_initialize(void **state)
{
    CK_BYTE b[64];
    CK_ULONG n = sizeof b;
    CK_SLOT_ID slot = 1;
    CK_SESSION_HANDLE s = 1;
    CK_OBJECT_HANDLE o = 1;
    CK_MECHANISM mech = { CKM_SHA256, NULL, 0 };
    CK_ATTRIBUTE attr = { CKA_CLASS, b, sizeof b };
    CK_INFO info;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_INFO ssi;
    CK_MECHANISM_INFO mi;
    CK_MECHANISM_TYPE mt[4];
    const CK_RV want = CKR_CRYPTOKI_NOT_INITIALIZED;

    assert_int_equal(f->C_Finalize(NULL), want);
    assert_int_equal(f->C_GetInfo(&info), want);
    assert_int_equal(f->C_GetSlotList(CK_FALSE, NULL, &n), want);
    assert_int_equal(f->C_GetSlotInfo(slot, &si), want);
    assert_int_equal(f->C_GetTokenInfo(slot, &ti), want);
    assert_int_equal(f->C_GetMechanismList(slot, mt, &n), want);
    assert_int_equal(f->C_GetMechanismInfo(slot, CKM_SHA256, &mi), want);
    assert_int_equal(f->C_InitToken(slot, b, 8, b), want);
    assert_int_equal(f->C_InitPIN(s, b, 8), want);
    assert_int_equal(f->C_SetPIN(s, b, 8, b, 8), want);
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s), want);
    assert_int_equal(f->C_CloseSession(s), want);
    assert_int_equal(f->C_CloseAllSessions(slot), want);
    assert_int_equal(f->C_GetSessionInfo(s, &ssi), want);
    assert_int_equal(f->C_GetOperationState(s, b, &n), want);
    assert_int_equal(f->C_SetOperationState(s, b, n, 0, 0), want);
    assert_int_equal(f->C_Login(s, CKU_USER, b, 8), want);
    assert_int_equal(f->C_Logout(s), want);
    assert_int_equal(f->C_CreateObject(s, &attr, 1, &o), want);
    assert_int_equal(f->C_CopyObject(s, o, &attr, 1, &o), want);
    assert_int_equal(f->C_DestroyObject(s, o), want);
    assert_int_equal(f->C_GetObjectSize(s, o, &n), want);
    assert_int_equal(f->C_GetAttributeValue(s, o, &attr, 1), want);
    assert_int_equal(f->C_SetAttributeValue(s, o, &attr, 1), want);
    assert_int_equal(f->C_FindObjectsInit(s, &attr, 1), want);
    assert_int_equal(f->C_FindObjects(s, &o, 1, &n), want);
    assert_int_equal(f->C_FindObjectsFinal(s), want);
    assert_int_equal(f->C_EncryptInit(s, &mech, o), want);
    assert_int_equal(f->C_Encrypt(s, b, 16, b, &n), want);
    assert_int_equal(f->C_EncryptUpdate(s, b, 16, b, &n), want);
    assert_int_equal(f->C_EncryptFinal(s, b, &n), want);
    assert_int_equal(f->C_DecryptInit(s, &mech, o), want);
    assert_int_equal(f->C_Decrypt(s, b, 16, b, &n), want);
    assert_int_equal(f->C_DecryptUpdate(s, b, 16, b, &n), want);
    assert_int_equal(f->C_DecryptFinal(s, b, &n), want);
    assert_int_equal(f->C_DigestInit(s, &mech), want);
    assert_int_equal(f->C_Digest(s, b, 16, b, &n), want);
    assert_int_equal(f->C_DigestUpdate(s, b, 16), want);
    assert_int_equal(f->C_DigestKey(s, o), want);
    assert_int_equal(f->C_DigestFinal(s, b, &n), want);
    assert_int_equal(f->C_SignInit(s, &mech, o), want);
    assert_int_equal(f->C_Sign(s, b, 16, b, &n), want);
    assert_int_equal(f->C_SignUpdate(s, b, 16), want);
    assert_int_equal(f->C_SignFinal(s, b, &n), want);
    assert_int_equal(f->C_SignRecoverInit(s, &mech, o), want);
    assert_int_equal(f->C_SignRecover(s, b, 16, b, &n), want);
    assert_int_equal(f->C_VerifyInit(s, &mech, o), want);
    assert_int_equal(f->C_Verify(s, b, 16, b, 16), want);
    assert_int_equal(f->C_VerifyUpdate(s, b, 16), want);
    assert_int_equal(f->C_VerifyFinal(s, b, 16), want);
    assert_int_equal(f->C_VerifyRecoverInit(s, &mech, o), want);
    assert_int_equal(f->C_VerifyRecover(s, b, 16, b, &n), want);
    assert_int_equal(f->C_DigestEncryptUpdate(s, b, 16, b, &n), want);
    assert_int_equal(f->C_DecryptDigestUpdate(s, b, 16, b, &n), want);
    assert_int_equal(f->C_SignEncryptUpdate(s, b, 16, b, &n), want);
    assert_int_equal(f->C_DecryptVerifyUpdate(s, b, 16, b, &n), want);
    assert_int_equal(f->C_GenerateKey(s, &mech, &attr, 1, &o), want);
    assert_int_equal(f->C_GenerateKeyPair(s, &mech, &attr, 1, &attr, 1, &o, &o), want);
    assert_int_equal(f->C_WrapKey(s, &mech, o, o, b, &n), want);
    assert_int_equal(f->C_UnwrapKey(s, &mech, o, b, 16, &attr, 1, &o), want);
    assert_int_equal(f->C_DeriveKey(s, &mech, o, &attr, 1, &o), want);
    assert_int_equal(f->C_SeedRandom(s, b, 16), want);
    assert_int_equal(f->C_GenerateRandom(s, b, 16), want);
    assert_int_equal(f->C_GetFunctionStatus(s), want);
    assert_int_equal(f->C_CancelFunction(s), want);
    assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), want);
}

static void test_initialize_twice_and_finalize(void **state)
{
    int reserved;

    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(f->C_Finalize(&reserved), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
}

static void test_initialize_arguments(void **state)
{
    int reserved;
    CK_C_INITIALIZE_ARGS args;

    memset(&args, 0, sizeof args);
    args.pReserved = &reserved;
    assert_int_equal(f->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    memset(&args, 0, sizeof args);
    args.CreateMutex = (CK_CREATEMUTEX)1;   /* one callback without the other three */
    assert_int_equal(f->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(f->C_Initialize(&args), CKR_OK);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    memset(&args, 0, sizeof args);
    assert_int_equal(f->C_Initialize(&args), CKR_OK);
}

/* Application mutexes: counted, so the test sees the module really uses them. */
static int app_mutex_ops;
static int app_create_fails;

static CK_RV app_create(CK_VOID_PTR_PTR m)
{
    pthread_mutex_t *p;

    if (app_create_fails)
        return CKR_GENERAL_ERROR;
    if ((p = malloc(sizeof *p)) == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(p, NULL);
    *m = p;
    __atomic_add_fetch(&app_mutex_ops, 1, __ATOMIC_SEQ_CST);
    return CKR_OK;
}

static CK_RV app_destroy(CK_VOID_PTR m)
{
    pthread_mutex_destroy(m);
    free(m);
    return CKR_OK;
}

static CK_RV app_lock(CK_VOID_PTR m)
{
    __atomic_add_fetch(&app_mutex_ops, 1, __ATOMIC_SEQ_CST);
    return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}

static CK_RV app_unlock(CK_VOID_PTR m)
{
    return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

static void test_application_mutexes_are_used(void **state)
{
    CK_C_INITIALIZE_ARGS args = { app_create, app_destroy, app_lock, app_unlock, 0, NULL };
    CK_ULONG n = 0;

    app_mutex_ops = 0;
    app_create_fails = 0;
    assert_int_equal(f->C_Initialize(&args), CKR_OK);
    assert_int_equal(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_true(app_mutex_ops > 2);
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);

    app_create_fails = 1;
    assert_int_equal(f->C_Initialize(&args), CKR_CANT_LOCK);
    app_create_fails = 0;
    /* With CKF_OS_LOCKING_OK the module may use its own locks instead. */
    app_mutex_ops = 0;
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(f->C_Initialize(&args), CKR_OK);
    assert_int_equal(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
}

static void test_get_info(void **state)
{
    CK_INFO info;

    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 2);
    assert_int_equal(info.cryptokiVersion.minor, 40);
    assert_memory_equal(info.manufacturerID, "tpmtok                          ", 32);
    assert_int_equal(info.flags, 0);
    for (size_t i = 0; i < sizeof info.libraryDescription; i++)
        assert_true(info.libraryDescription[i] >= 0x20 && info.libraryDescription[i] < 0x7f);
}

static void test_legacy_parallel_functions(void **state)
{
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_GetFunctionStatus(0), CKR_FUNCTION_NOT_PARALLEL);
    assert_int_equal(f->C_CancelFunction(12345), CKR_FUNCTION_NOT_PARALLEL);
}

static void test_wait_for_slot_event(void **state)
{
    CK_SLOT_ID slot;

    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    assert_int_equal(f->C_WaitForSlotEvent(0, &slot, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
}

static CK_RV race_results[2];

static void *race_initialize(void *arg)
{
    race_results[(intptr_t)arg] = f->C_Initialize(NULL);
    return NULL;
}

static void test_concurrent_initialize_one_wins(void **state)
{
    for (int round = 0; round < 50; round++) {
        pthread_t a, b;
        pthread_create(&a, NULL, race_initialize, (void *)0);
        pthread_create(&b, NULL, race_initialize, (void *)1);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        assert_true((race_results[0] == CKR_OK && race_results[1] == CKR_CRYPTOKI_ALREADY_INITIALIZED) ||
                    (race_results[1] == CKR_OK && race_results[0] == CKR_CRYPTOKI_ALREADY_INITIALIZED));
        assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    }
}

/* The child of fork() must re-initialize; then it has a working module of its own. */
static int child_after_fork(void)
{
    CK_ULONG n = 0;
    CK_SLOT_ID slot;

    if (f->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 1;
    if (f->C_Initialize(NULL) != CKR_OK)
        return 2;
    slot = p11_new_token(f, "made in child", "so-pin-1234", "user-1234");
    if (slot == (CK_SLOT_ID)-1)
        return 3;
    if (f->C_Finalize(NULL) != CKR_OK)
        return 4;
    return 0;
}

static void test_fork_child_reinitializes(void **state)
{
    CK_SESSION_HANDLE s;
    CK_SESSION_INFO info;
    CK_SLOT_ID slot;
    int status;
    pid_t pid;

    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    slot = p11_new_token(f, "parent", "so-pin-1234", "user-1234");
    assert_int_not_equal(slot, (CK_SLOT_ID)-1);
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)"user-1234", 9), CKR_OK);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_after_fork());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The parent's session and login are untouched, and it sees the child's token. */
    assert_int_equal(f->C_GetSessionInfo(s, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RO_USER_FUNCTIONS);
    assert_int_equal(p11_slot_count(f), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_function_list_is_complete_and_2_40, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interface_list_offers_pkcs11_2_40, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_function_needs_initialize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initialize_twice_and_finalize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initialize_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_application_mutexes_are_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_parallel_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_slot_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_initialize_one_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_reinitializes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

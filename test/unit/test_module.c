/* The module state without a TPM: locking choices, CK_RV names, slots from the store alone. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "token/module.h"
#include "token/slot.h"
#include "util/lock.h"
#include "util/rv.h"

static CK_RV dummy_create(CK_VOID_PTR_PTR m) { *m = NULL; return CKR_OK; }
static CK_RV dummy_destroy(CK_VOID_PTR m) { return CKR_OK; }
static CK_RV dummy_lock(CK_VOID_PTR m) { return CKR_OK; }
static CK_RV dummy_unlock(CK_VOID_PTR m) { return CKR_OK; }

static void test_lock_choice(void **state)
{
    CK_C_INITIALIZE_ARGS args = { 0 };
    struct lock_ops ops;
    int reserved;

    assert_int_equal(lock_ops_choose(NULL, &ops), CKR_OK);
    assert_null(ops.create);
    assert_int_equal(lock_ops_choose(&args, &ops), CKR_OK);
    assert_null(ops.create);
    args.CreateMutex = dummy_create;
    assert_int_equal(lock_ops_choose(&args, &ops), CKR_ARGUMENTS_BAD);
    args.DestroyMutex = dummy_destroy;
    args.LockMutex = dummy_lock;
    args.UnlockMutex = dummy_unlock;
    assert_int_equal(lock_ops_choose(&args, &ops), CKR_OK);
    assert_ptr_equal(ops.create, dummy_create);
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(lock_ops_choose(&args, &ops), CKR_OK);
    assert_null(ops.create);
    args.pReserved = &reserved;
    assert_int_equal(lock_ops_choose(&args, &ops), CKR_ARGUMENTS_BAD);
}

static void test_rv_names(void **state)
{
    assert_string_equal(rv_name(CKR_OK), "CKR_OK");
    assert_string_equal(rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
    assert_string_equal(rv_name(CKR_FUNCTION_NOT_PARALLEL), "CKR_FUNCTION_NOT_PARALLEL");
    assert_string_equal(rv_name(0x7ffffff0UL), "CKR_(unknown)");
}

/* Listing slots reads only the store: no TPM is needed (nor touched: the TCTI is bogus). */
static void test_slots_without_a_tpm(void **state)
{
    char dir[] = "/tmp/tpmtok-unit-XXXXXX", path[64];
    struct module *m;
    CK_SLOT_ID slots[2];
    CK_ULONG n = 2;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/store.sqlite3", dir);
    setenv("TPMTOK_STORE", path, 1);
    setenv("TPMTOK_TCTI", "swtpm:host=127.0.0.1,port=1", 1);
    assert_int_equal(module_get(&m), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(module_initialize(NULL), CKR_OK);
    assert_int_equal(module_initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(module_get(&m), CKR_OK);
    assert_int_equal(slot_list(m, true, slots, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(slots[0], 1);
    assert_null(m->tpm);
    assert_int_equal(module_finalize(), CKR_OK);
    assert_int_equal(module_finalize(), CKR_CRYPTOKI_NOT_INITIALIZED);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_choice),
        cmocka_unit_test(test_rv_names),
        cmocka_unit_test(test_slots_without_a_tpm),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

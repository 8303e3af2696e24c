/* C_FindObjects: templates, visibility, session and token objects, chunks, many objects. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"
#include "integration/common.h"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;
static CK_SLOT_ID slot;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS data_class = CKO_DATA;

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
    slot = token_with_user(f, "find", &s);
    return slot == (CK_SLOT_ID)-1 ? -1 : 0;
}

static int teardown(void **state)
{
    f->C_Finalize(NULL);
    return 0;
}

static CK_OBJECT_HANDLE make(CK_BBOOL token, CK_BBOOL private, const char *label, const char *id)
{
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &data_class, sizeof data_class }, { CKA_TOKEN, &token, 1 },
        { CKA_PRIVATE, &private, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
        { CKA_OBJECT_ID, (void *)id, strlen(id) },
    };

    assert_int_equal(f->C_CreateObject(s, t, 5, &h), CKR_OK);
    return h;
}

static bool has(const CK_OBJECT_HANDLE *list, CK_ULONG n, CK_OBJECT_HANDLE h)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (list[i] == h)
            return true;
    return false;
}

static void test_find_by_template(void **state)
{
    CK_OBJECT_HANDLE a = make(CK_TRUE, CK_TRUE, "alpha", "1"), b = make(CK_TRUE, CK_FALSE, "beta", "2");
    CK_OBJECT_HANDLE c = make(CK_FALSE, CK_FALSE, "alpha", "3"), found[8];
    CK_ATTRIBUTE alpha[] = { { CKA_LABEL, "alpha", 5 } };
    CK_ATTRIBUTE alpha_token[] = { { CKA_LABEL, "alpha", 5 }, { CKA_TOKEN, &yes, 1 } };
    CK_ATTRIBUTE session_only[] = { { CKA_TOKEN, &no, 1 } };
    CK_ATTRIBUTE by_oid[] = { { CKA_OBJECT_ID, "2", 1 } };
    CK_ATTRIBUTE nothing[] = { { CKA_LABEL, "gamma", 5 } };
    CK_ULONG n;

    n = find_all(f, s, NULL, 0, found, 8);
    assert_int_equal(n, 3);
    assert_true(has(found, n, a) && has(found, n, b) && has(found, n, c));
    n = find_all(f, s, alpha, 1, found, 8);
    assert_int_equal(n, 2);
    assert_true(has(found, n, a) && has(found, n, c));
    n = find_all(f, s, alpha_token, 2, found, 8);
    assert_int_equal(n, 1);
    assert_int_equal(found[0], a);
    n = find_all(f, s, session_only, 1, found, 8);
    assert_int_equal(n, 1);
    assert_int_equal(found[0], c);
    n = find_all(f, s, by_oid, 1, found, 8);   /* not an indexed attribute */
    assert_int_equal(n, 1);
    assert_int_equal(found[0], b);
    assert_int_equal(find_all(f, s, nothing, 1, found, 8), 0);
    /* Without the user, private objects are not found. */
    assert_int_equal(f->C_Logout(s), CKR_OK);
    n = find_all(f, s, NULL, 0, found, 8);
    assert_int_equal(n, 2);
    assert_true(has(found, n, b) && has(found, n, c));
}

static void test_find_in_chunks_and_operation_rules(void **state)
{
    CK_OBJECT_HANDLE found[2], all[8];
    CK_ULONG n, total = 0;

    for (int i = 0; i < 5; i++)
        make(CK_TRUE, CK_FALSE, "chunk", "x");
    assert_int_equal(f->C_FindObjects(s, found, 2, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(f->C_FindObjectsInit(s, NULL, 0), CKR_OK);
    assert_int_equal(f->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE);
    do {
        assert_int_equal(f->C_FindObjects(s, found, 2, &n), CKR_OK);
        assert_true(n <= 2);
        memcpy(all + total, found, n * sizeof found[0]);
        total += n;
    } while (n > 0);
    assert_int_equal(total, 5);
    assert_int_equal(f->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(f->C_FindObjects(s, found, 2, NULL), CKR_ARGUMENTS_BAD);
    /* Handles stay the same from one search to the next. */
    assert_int_equal(find_all(f, s, NULL, 0, found, 1), 1);
    assert_true(has(all, total, found[0]));
}

/* Among many objects, a search by CKA_ID finds exactly its object. */
static void test_find_by_id_among_many(void **state)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_OBJECT_HANDLE found[4], want = CK_INVALID_HANDLE;
    char label[32];

    for (int i = 0; i < 1000; i++) {
        CK_OBJECT_HANDLE h;
        CK_ATTRIBUTE t[] = {
            { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &no, 1 },
            { CKA_LABEL, label, 0 },
        };
        t[3].ulValueLen = (CK_ULONG)snprintf(label, sizeof label, "object %04d", i);
        assert_int_equal(f->C_CreateObject(s, t, 4, &h), CKR_OK);
        if (i == 617)
            want = h;
    }
    {
        CK_ATTRIBUTE t[] = { { CKA_LABEL, "object 0617", 11 } };
        assert_int_equal(find_all(f, s, t, 1, found, 4), 1);
        assert_int_equal(found[0], want);
    }
    /* After a restart the same object is still found. */
    assert_int_equal(f->C_Finalize(NULL), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    assert_int_equal(f->C_OpenSession(slot, RO_SESSION, NULL, NULL, &s), CKR_OK);
    {
        CK_ATTRIBUTE t[] = { { CKA_LABEL, "object 0999", 11 }, { CKA_CLASS, &cls, sizeof cls } };
        assert_int_equal(find_all(f, s, t, 2, found, 4), 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_by_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_in_chunks_and_operation_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_id_among_many, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

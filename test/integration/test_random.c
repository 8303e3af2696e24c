/* C_GenerateRandom and C_SeedRandom, served by the TPM. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/loader.h"
#include "harness/swtpm.h"

static struct swtpm tpm;
static struct p11 mod;
static CK_FUNCTION_LIST *f;
static CK_SESSION_HANDLE s;

static int group_setup(void **state)
{
    CK_SLOT_ID slot;

    if (swtpm_start(&tpm) != 0 || p11_load(&mod) != 0)
        return -1;
    f = mod.f;
    if (f->C_Initialize(NULL) != CKR_OK)
        return -1;
    slot = p11_new_token(f, "random", "so-pin-1234", NULL);
    if (slot == (CK_SLOT_ID)-1)
        return -1;
    /* A public read-only session is enough for random numbers. */
    return f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    f->C_Finalize(NULL);
    p11_unload(&mod);
    swtpm_stop(&tpm);
    return 0;
}

/* Bytes that are all equal, or equal to another draw, are not random. */
static void check_random(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t same = 0;

    for (size_t i = 1; i < n; i++)
        same += a[i] == a[0];
    if (n >= 16) {
        assert_true(same < n / 2);
        assert_memory_not_equal(a, b, n);
    }
}

static void test_generate_random_lengths(void **state)
{
    static const size_t lengths[] = { 1, 16, 32, 63, 64, 65, 100, 1000, 4096, 100000 };

    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        size_t n = lengths[i];
        uint8_t *a = malloc(n + 8), *b = malloc(n + 8);
        assert_non_null(a);
        assert_non_null(b);
        memset(a, 0xa5, n + 8);
        assert_int_equal(f->C_GenerateRandom(s, a, n), CKR_OK);
        assert_int_equal(f->C_GenerateRandom(s, b, n), CKR_OK);
        check_random(a, b, n);
        /* Nothing written past the end. */
        for (size_t j = n; j < n + 8; j++)
            assert_int_equal(a[j], 0xa5);
        free(a);
        free(b);
    }
}

static void test_generate_random_arguments(void **state)
{
    uint8_t buf[8];

    assert_int_equal(f->C_GenerateRandom(s, NULL, 0), CKR_OK);
    assert_int_equal(f->C_GenerateRandom(s, buf, 0), CKR_OK);
    assert_int_equal(f->C_GenerateRandom(s, NULL, 8), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_GenerateRandom(s + 100, buf, 8), CKR_SESSION_HANDLE_INVALID);
}

static void test_seed_random(void **state)
{
    uint8_t seed[300];

    memset(seed, 7, sizeof seed);
    assert_int_equal(f->C_SeedRandom(s, seed, sizeof seed), CKR_OK);
    assert_int_equal(f->C_SeedRandom(s, seed, 1), CKR_OK);
    assert_int_equal(f->C_SeedRandom(s, NULL, 4), CKR_ARGUMENTS_BAD);
    assert_int_equal(f->C_SeedRandom(s + 100, seed, 4), CKR_SESSION_HANDLE_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_random_lengths),
        cmocka_unit_test(test_generate_random_arguments),
        cmocka_unit_test(test_seed_random),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

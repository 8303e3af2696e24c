/* The u64 map: insert, replace, remove (with backward shifts), growth, against a plain array. */
#include "config.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/u64map.h"

static void test_put_get_replace_remove(void **state)
{
    struct u64map m;
    uint64_t v;

    u64map_init(&m);
    assert_false(u64map_get(&m, 5, &v));
    assert_true(u64map_put(&m, 5, 50));
    assert_true(u64map_get(&m, 5, &v));
    assert_int_equal(v, 50);
    assert_true(u64map_put(&m, 5, 55));
    assert_true(u64map_get(&m, 5, &v));
    assert_int_equal(v, 55);
    assert_int_equal(m.n, 1);
    u64map_remove(&m, 5);
    assert_false(u64map_get(&m, 5, &v));
    assert_int_equal(m.n, 0);
    u64map_remove(&m, 5);
    assert_false(u64map_get(&m, 0, &v));
    u64map_free(&m);
}

/* Random inserts and removals agree with a reference array at every step. */
static void test_agrees_with_a_reference(void **state)
{
    enum { KEYS = 5000 };
    uint64_t *ref = calloc(KEYS, sizeof *ref);
    struct u64map m;
    uint64_t v, seed = 12345;

    u64map_init(&m);
    for (int step = 0; step < 200000; step++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t k = 1 + (seed >> 33) % KEYS;
        if ((seed >> 20) & 1) {
            assert_true(u64map_put(&m, k, seed | 1));
            ref[k - 1] = seed | 1;
        } else {
            u64map_remove(&m, k);
            ref[k - 1] = 0;
        }
    }
    for (uint64_t k = 1; k <= KEYS; k++) {
        bool there = u64map_get(&m, k, &v);
        assert_int_equal(there, ref[k - 1] != 0);
        if (there)
            assert_true(v == ref[k - 1]);
    }
    u64map_free(&m);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_remove),
        cmocka_unit_test(test_agrees_with_a_reference),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

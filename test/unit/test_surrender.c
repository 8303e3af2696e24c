/* util/surrender and the lock guard it feeds: when the application is asked, what it answers. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "util/lock.h"
#include "util/surrender.h"

struct asker {
    int calls;
    int cancel_at;               /* answer "cancel" on this call (0: never) */
    struct mutex *try;           /* a mutex to try from inside the question */
    bool try_result;
};

static bool ask(void *ctx)
{
    struct asker *a = ctx;

    a->calls++;
    if (a->try != NULL) {
        a->try_result = mutex_enter(a->try);
        if (a->try_result)
            mutex_unlock(a->try);
    }
    return a->cancel_at != 0 && a->calls >= a->cancel_at;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void test_nothing_is_asked_without_a_surrender(void **state)
{
    assert_false(surrender_active());
    assert_false(surrender_poll());
    assert_false(surrender_canceled());
    assert_false(surrender_asking());
}

static void test_the_first_question_waits_for_the_interval(void **state)
{
    struct asker a = { 0 };
    struct surrender s;

    surrender_begin(&s, ask, &a);
    assert_true(surrender_active());
    assert_false(surrender_poll());
    assert_int_equal(a.calls, 0);
    sleep_ms(SURRENDER_EVERY_MS + 10);
    assert_false(surrender_poll());
    assert_int_equal(a.calls, 1);
    /* Asked just now: not again at once. */
    assert_false(surrender_poll());
    assert_int_equal(a.calls, 1);
    surrender_end(&s);
    assert_false(surrender_active());
}

static void test_cancel_is_kept_until_the_end(void **state)
{
    struct asker a = { .cancel_at = 1 };
    struct surrender s;

    surrender_begin(&s, ask, &a);
    sleep_ms(SURRENDER_EVERY_MS + 10);
    assert_true(surrender_poll());
    assert_true(surrender_canceled());
    sleep_ms(SURRENDER_EVERY_MS + 10);
    assert_true(surrender_poll());
    assert_int_equal(a.calls, 1);
    surrender_end(&s);
    assert_false(surrender_canceled());
}

static void test_nested_surrenders_ask_the_inner_one(void **state)
{
    struct asker outer = { 0 }, inner = { .cancel_at = 1 };
    struct surrender so, si;

    surrender_begin(&so, ask, &outer);
    surrender_begin(&si, ask, &inner);
    sleep_ms(SURRENDER_EVERY_MS + 10);
    assert_true(surrender_poll());
    assert_int_equal(outer.calls, 0);
    assert_int_equal(inner.calls, 1);
    surrender_end(&si);
    assert_false(surrender_canceled());
    assert_false(surrender_poll());
    surrender_end(&so);
}

/* From inside a question no mutex is waited for; a held one is never taken twice. */
static void test_mutex_enter_refuses_inside_a_question_and_when_held(void **state)
{
    struct lock_ops os = { 0 };
    struct asker a = { 0 };
    struct surrender s;
    struct mutex *m;

    assert_int_equal(mutex_new(&os, &m), CKR_OK);
    assert_true(mutex_enter(m));
    assert_true(mutex_held(m));
    assert_false(mutex_enter(m));
    mutex_unlock(m);
    assert_false(mutex_held(m));
    assert_int_equal(mutex_held_count(), 0);
    a.try = m;
    surrender_begin(&s, ask, &a);
    sleep_ms(SURRENDER_EVERY_MS + 10);
    surrender_poll();
    assert_int_equal(a.calls, 1);
    assert_false(a.try_result);
    surrender_end(&s);
    assert_true(mutex_enter(m));
    mutex_unlock(m);
    mutex_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_is_asked_without_a_surrender),
        cmocka_unit_test(test_the_first_question_waits_for_the_interval),
        cmocka_unit_test(test_cancel_is_kept_until_the_end),
        cmocka_unit_test(test_nested_surrenders_ask_the_inner_one),
        cmocka_unit_test(test_mutex_enter_refuses_inside_a_question_and_when_held),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

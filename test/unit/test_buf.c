/* The size-checked buffer: writing, reading, bounds, failure that sticks. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

static void test_put_then_get_round_trips(void **state)
{
    struct buf b;
    struct rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    const uint8_t *p;
    size_t n, len;
    uint8_t *bytes;

    buf_init(&b, false);
    buf_put_u8(&b, 0xab);
    buf_put_u16(&b, 0x1234);
    buf_put_u32(&b, 0xdeadbeef);
    buf_put_u64(&b, 0x0102030405060708ULL);
    buf_put_blob(&b, "hello", 5);
    assert_false(buf_failed(&b));
    bytes = buf_steal(&b, &len);
    assert_non_null(bytes);
    assert_int_equal(len, 1 + 2 + 4 + 8 + 4 + 5);
    /* Big-endian on the wire. */
    assert_int_equal(bytes[1], 0x12);
    assert_int_equal(bytes[2], 0x34);

    rd_init(&r, bytes, len);
    assert_true(rd_u8(&r, &u8));
    assert_int_equal(u8, 0xab);
    assert_true(rd_u16(&r, &u16));
    assert_int_equal(u16, 0x1234);
    assert_true(rd_u32(&r, &u32));
    assert_int_equal(u32, 0xdeadbeef);
    assert_true(rd_u64(&r, &u64));
    assert_true(u64 == 0x0102030405060708ULL);
    assert_true(rd_blob(&r, 16, &p, &n));
    assert_int_equal(n, 5);
    assert_memory_equal(p, "hello", 5);
    assert_true(rd_done(&r));
    free(bytes);
}

static void test_short_reads_fail_and_stay_failed(void **state)
{
    const uint8_t data[3] = { 1, 2, 3 };
    struct rd r;
    uint32_t v;
    uint8_t u8;

    rd_init(&r, data, sizeof data);
    assert_false(rd_u32(&r, &v));
    /* After a failure even a read that would fit fails. */
    assert_false(rd_u8(&r, &u8));
    assert_false(rd_done(&r));
    assert_int_equal(rd_left(&r), 0);
}

static void test_blob_length_is_checked_against_max_and_data(void **state)
{
    uint8_t data[8] = { 0, 0, 0, 4, 'a', 'b', 'c', 'd' };
    uint8_t huge[8] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd' };
    const uint8_t *p;
    size_t n;
    struct rd r;

    rd_init(&r, data, sizeof data);
    assert_false(rd_blob(&r, 3, &p, &n));          /* longer than allowed */
    rd_init(&r, huge, sizeof huge);
    assert_false(rd_blob(&r, SIZE_MAX, &p, &n));   /* longer than the data */
    rd_init(&r, data, sizeof data);
    assert_true(rd_blob(&r, 4, &p, &n));
    assert_true(rd_done(&r));
}

static void test_trailing_bytes_are_not_done(void **state)
{
    const uint8_t data[2] = { 1, 2 };
    struct rd r;
    uint8_t u8;

    rd_init(&r, data, sizeof data);
    assert_true(rd_u8(&r, &u8));
    assert_false(rd_done(&r));
    assert_int_equal(rd_left(&r), 1);
}

static void test_null_reader_is_empty(void **state)
{
    struct rd r;
    uint8_t u8;

    rd_init(&r, NULL, 100);
    assert_int_equal(rd_left(&r), 0);
    assert_false(rd_u8(&r, &u8));
}

static void test_growth_keeps_contents(void **state)
{
    struct buf b;
    uint8_t *bytes;
    size_t len;

    buf_init(&b, true);
    for (int i = 0; i < 10000; i++)
        buf_put_u8(&b, (uint8_t)i);
    bytes = buf_steal(&b, &len);
    assert_int_equal(len, 10000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(bytes[i], (uint8_t)i);
    free(bytes);
}

static void test_oversized_blob_fails_the_writer(void **state)
{
    struct buf b;
    size_t len;

    buf_init(&b, false);
    buf_put_blob(&b, "x", (size_t)UINT32_MAX + 1);
    assert_true(buf_failed(&b));
    assert_null(buf_steal(&b, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_then_get_round_trips),
        cmocka_unit_test(test_short_reads_fail_and_stay_failed),
        cmocka_unit_test(test_blob_length_is_checked_against_max_and_data),
        cmocka_unit_test(test_trailing_bytes_are_not_done),
        cmocka_unit_test(test_null_reader_is_empty),
        cmocka_unit_test(test_growth_keeps_contents),
        cmocka_unit_test(test_oversized_blob_fails_the_writer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_common_backoff.c: the backoff arithmetic shared by plugin restarts
 * and IRC reconnects (common/backoff.c), exact values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/backoff.h"

static void
test_delay_series(void **state)
{
	/* 1 × 2^k capped at 60: 1, 2, 4, ... 32, 60, 60. */
	assert_true(backoff_delay(1, 2, 60, 0) == 1);
	assert_true(backoff_delay(1, 2, 60, 1) == 2);
	assert_true(backoff_delay(1, 2, 60, 5) == 32);
	assert_true(backoff_delay(1, 2, 60, 6) == 60);
	assert_true(backoff_delay(1, 2, 60, 4000000000u) == 60);
	/* A first step over the cap is capped too. */
	assert_true(backoff_delay(90, 2, 60, 0) == 60);
	/* Multiplier 1 and a delay of 0 stay where they are. */
	assert_true(backoff_delay(3, 1, 60, 4000000000u) == 3);
	assert_true(backoff_delay(0, 2, 60, 10) == 0);
	/* Huge multipliers stop at the cap, never at infinity. */
	assert_true(backoff_delay(1, 1e300, 120, 3) == 120);
}

static void
test_count_runs(void **state)
{
	struct breaker	b;

	breaker_init(&b, 3);
	/* Failures soon after a start lengthen the run. */
	assert_int_equal(backoff_count(0, &b, 0, 60), 1);
	assert_int_equal(backoff_count(1, &b, 59.9, 60), 2);
	/* Up stable seconds: this failure starts a new run. */
	assert_int_equal(backoff_count(2, &b, 60, 60), 1);
	/* A failed trial stays in the run, however long it was up. */
	b.state = BREAKER_HALF_OPEN;
	assert_int_equal(backoff_count(6, &b, 1000, 60), 7);
	breaker_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_series),
		cmocka_unit_test(test_count_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

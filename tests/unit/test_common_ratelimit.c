/*
 * test_common_ratelimit.c: token buckets and the rate-limited log
 * (common/ratelimit.c), exact values on a clock the test drives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/ratelimit.h"

static void
test_tbucket(void **state)
{
	struct tbucket	b;
	int		i;

	/* 2 a second, burst 4: starts full. */
	tbucket_init(&b, 2, 4, 100);
	for (i = 0; i < 4; i++)
		assert_true(tbucket_take(&b, 1, 100));
	assert_false(tbucket_take(&b, 1, 100));
	/* Half a second earns one token. */
	assert_false(tbucket_take(&b, 1, 100.25));
	assert_true(tbucket_take(&b, 1, 100.5));
	assert_false(tbucket_take(&b, 1, 100.5));
	/* A long pause refills to the burst, no further. */
	assert_true(tbucket_take(&b, 4, 1000));
	assert_false(tbucket_take(&b, 0.5, 1000));
	/* Not enough: nothing taken. */
	tbucket_init(&b, 1, 10, 0);
	assert_false(tbucket_take(&b, 11, 0));
	assert_true(b.tokens == 10);
	/* Rate 0: no limit. */
	tbucket_init(&b, 0, 1, 0);
	for (i = 0; i < 1000; i++)
		assert_true(tbucket_take(&b, 1e9, 0));
	/* Spending goes into debt, which the rate pays back. */
	tbucket_init(&b, 4, 8, 0);
	assert_true(tbucket_spend(&b, 8, 0));
	assert_false(tbucket_spend(&b, 2, 0));
	assert_true(b.tokens == -2);
	assert_false(tbucket_spend(&b, 0, 0.25));
	assert_true(tbucket_spend(&b, 0, 0.5));
	assert_true(b.tokens == 0);
	tbucket_init(&b, 0, 1, 0);
	assert_true(tbucket_spend(&b, 1e9, 0));
	/* A clock that steps back earns nothing. */
	tbucket_init(&b, 1, 1, 50);
	assert_true(tbucket_take(&b, 1, 50));
	assert_false(tbucket_take(&b, 1, 40));
	assert_true(tbucket_take(&b, 1, 41));
}

static void
test_logrl_lines(void **state)
{
	struct logrl		rl;
	struct logrl_summary	s;
	int			i, admitted = 0;

	/* 10 lines/s, burst 20, no byte limit, summary every 10 s. */
	logrl_init(&rl, 10, 20, 0, 1, 10, 1000);
	assert_true(logrl_due(&rl) == 0);
	assert_false(logrl_summary(&rl, 1000, 1, &s));
	for (i = 0; i < 100; i++)
		admitted += logrl_admit(&rl, 1, 50, 1000);
	assert_int_equal(admitted, 20);
	assert_int_equal(rl.count[1], 80);
	assert_int_equal(rl.nbytes[1], 4000);
	assert_true(logrl_due(&rl) == 1010);
	/* 1 s later: 10 more lines, in another kind. */
	admitted = 0;
	for (i = 0; i < 15; i++)
		admitted += logrl_admit(&rl, 0, 10, 1001);
	assert_int_equal(admitted, 10);
	assert_int_equal(rl.count[0], 5);
	/* Not due before the interval is over, unless forced. */
	assert_false(logrl_summary(&rl, 1009.5, 0, &s));
	assert_true(logrl_summary(&rl, 1010, 0, &s));
	assert_true(s.span == 10);
	assert_int_equal(s.count[0], 5);
	assert_int_equal(s.nbytes[0], 50);
	assert_int_equal(s.count[1], 80);
	assert_int_equal(s.nbytes[1], 4000);
	assert_int_equal(s.count[2], 0);
	assert_int_equal(rl.total, 85);
	/* Closed: counts back to zero, nothing due. */
	assert_true(logrl_due(&rl) == 0);
	assert_int_equal(rl.count[1], 0);
	assert_false(logrl_summary(&rl, 2000, 1, &s));
	/* The next suppression opens the next interval. */
	for (i = 0; i < 21; i++)
		logrl_admit(&rl, 2, 1, 1010);
	assert_true(logrl_due(&rl) == 1020);
	assert_true(logrl_summary(&rl, 1012.5, 1, &s));
	assert_true(s.span == 2.5);
	assert_int_equal(s.count[2], 1);
	assert_int_equal(rl.total, 86);
}

static void
test_logrl_bytes(void **state)
{
	struct logrl	rl;

	/* 1000 lines/s but 100 bytes/s, burst 256 bytes. */
	logrl_init(&rl, 1000, 1000, 100, 256, 10, 0.5);
	assert_true(logrl_admit(&rl, 0, 200, 0.5));
	/* 56 bytes left: a 57-byte line waits, a 56-byte one passes. */
	assert_false(logrl_admit(&rl, 0, 57, 0.5));
	assert_true(logrl_admit(&rl, 0, 56, 0.5));
	assert_false(logrl_admit(&rl, 0, 1, 0.5));
	/* A refused line took no line token either. */
	assert_true(rl.lines.tokens == 998);
	/* 0.5 s: 50 bytes. */
	assert_true(logrl_admit(&rl, 0, 50, 1.0));
	assert_int_equal(rl.count[0], 2);
	assert_int_equal(rl.nbytes[0], 58);
	/* New limits keep the counts and start full. */
	logrl_set(&rl, 1, 1, 0, 1, 5, 2);
	assert_int_equal(rl.count[0], 2);
	assert_true(logrl_due(&rl) == 5.5);
	assert_true(logrl_admit(&rl, 0, 100000, 2));
	assert_false(logrl_admit(&rl, 0, 1, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tbucket),
		cmocka_unit_test(test_logrl_lines),
		cmocka_unit_test(test_logrl_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

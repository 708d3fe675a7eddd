/* test_restart.c: backoff delays and the crash-loop breaker, exact values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "supervisor/supervisor.h"

static struct restart_policy
policy(void)
{
	struct restart_policy	pol;

	config_restart_defaults(&pol);
	return pol;
}

static void
test_defaults_match_the_docs(void **state)
{
	struct restart_policy	pol = policy();

	assert_true(pol.first_delay == 0);
	assert_true(pol.initial_delay == 1);
	assert_true(pol.multiplier == 2);
	assert_true(pol.max_delay == 60);
	assert_true(pol.reset_after == 60);
	assert_int_equal(pol.max_crashes, 5);
	assert_true(pol.crash_window == 60);
	assert_true(pol.cooldown == 300);
	assert_int_equal(pol.autorestart, AUTORESTART_ALWAYS);
}

static void
test_delay_schedule(void **state)
{
	struct restart_policy	pol = policy();

	/* first_delay, then 1 2 4 8 16 32, capped at 60. */
	assert_true(restart_delay(&pol, 1) == 0);
	assert_true(restart_delay(&pol, 2) == 1);
	assert_true(restart_delay(&pol, 3) == 2);
	assert_true(restart_delay(&pol, 4) == 4);
	assert_true(restart_delay(&pol, 7) == 32);
	assert_true(restart_delay(&pol, 8) == 60);
	assert_true(restart_delay(&pol, 1000) == 60);
	pol.first_delay = 0.5;
	pol.initial_delay = 0.1;
	pol.multiplier = 3;
	pol.max_delay = 1;
	assert_true(restart_delay(&pol, 1) == 0.5);
	assert_true(restart_delay(&pol, 2) == 0.1);
	assert_true(restart_delay(&pol, 3) > 0.2999 && restart_delay(&pol, 3) < 0.3001);
	assert_true(restart_delay(&pol, 4) > 0.8999 && restart_delay(&pol, 4) < 0.9001);
	assert_true(restart_delay(&pol, 5) == 1);
}

static void
test_breaker_opens_after_max_crashes_in_window(void **state)
{
	struct restart_policy	pol = policy();
	struct restart_state	rs;
	double			delay;
	int			i;

	restart_init(&rs, &pol);
	/* Five crashes one second apart: restarted with growing delays. */
	for (i = 0; i < 5; i++) {
		assert_int_equal(restart_on_exit(&rs, &pol, 100 + i, 1, 1, 0,
		    &delay), RESTART_AFTER);
		assert_true(delay == restart_delay(&pol, i + 1));
	}
	assert_int_equal(rs.consecutive, 5);
	/* The sixth within 60 s is more than max_crashes: FATAL. */
	assert_int_equal(restart_on_exit(&rs, &pol, 105, 1, 1, 0, &delay),
	    RESTART_FATAL);
	assert_int_equal(rs.breaker.state, BREAKER_OPEN);
	restart_free(&rs);
}

static void
test_crashes_outside_the_window_do_not_count(void **state)
{
	struct restart_policy	pol = policy();
	struct restart_state	rs;
	double			delay;
	int			i;

	restart_init(&rs, &pol);
	/* One crash every 20 s: never more than 3 in any 60 s. */
	for (i = 0; i < 20; i++)
		assert_int_equal(restart_on_exit(&rs, &pol, 1000 + 20.0 * i, 1,
		    1, 0, &delay), RESTART_AFTER);
	restart_free(&rs);
}

static void
test_stable_uptime_resets_the_count(void **state)
{
	struct restart_policy	pol = policy();
	struct restart_state	rs;
	double			delay;

	restart_init(&rs, &pol);
	restart_on_exit(&rs, &pol, 10, 1, 1, 0, &delay);
	restart_on_exit(&rs, &pol, 11, 1, 1, 0, &delay);
	restart_on_exit(&rs, &pol, 13, 1, 1, 0, &delay);
	assert_true(delay == 2);
	/* It then ran 60 s: the next crash starts a new run at first_delay. */
	assert_int_equal(restart_on_exit(&rs, &pol, 200, 60, 1, 0, &delay),
	    RESTART_AFTER);
	assert_int_equal(rs.consecutive, 1);
	assert_true(delay == 0);
	restart_free(&rs);
}

static void
test_half_open_trial(void **state)
{
	struct restart_policy	pol = policy();
	struct restart_state	rs;
	double			delay;
	int			i;

	restart_init(&rs, &pol);
	for (i = 0; i < 6; i++)
		restart_on_exit(&rs, &pol, i, 0.1, 1, 0, &delay);
	assert_int_equal(rs.breaker.state, BREAKER_OPEN);
	/* Trial start crashes: open again at once, even long after. */
	breaker_trial(&rs.breaker);
	assert_int_equal(restart_on_exit(&rs, &pol, 1000, 100, 1, 0, &delay),
	    RESTART_FATAL);
	assert_int_equal(rs.breaker.state, BREAKER_OPEN);
	/* Trial start stays up reset_after: closed and forgotten. */
	breaker_trial(&rs.breaker);
	restart_on_stable(&rs);
	assert_int_equal(rs.breaker.state, BREAKER_CLOSED);
	assert_int_equal(rs.consecutive, 0);
	assert_int_equal(restart_on_exit(&rs, &pol, 2000, 1, 1, 0, &delay),
	    RESTART_AFTER);
	assert_true(delay == 0);
	restart_free(&rs);
}

static void
test_manual_reset_closes_the_breaker(void **state)
{
	struct restart_policy	pol = policy();
	struct restart_state	rs;
	double			delay;
	int			i;

	restart_init(&rs, &pol);
	for (i = 0; i < 6; i++)
		restart_on_exit(&rs, &pol, i, 0.1, 1, 0, &delay);
	assert_int_equal(rs.breaker.state, BREAKER_OPEN);
	restart_reset(&rs);
	assert_int_equal(rs.breaker.state, BREAKER_CLOSED);
	assert_int_equal(restart_on_exit(&rs, &pol, 7, 0.1, 1, 0, &delay),
	    RESTART_AFTER);
	assert_true(delay == 0);
	restart_free(&rs);
}

static void
test_autorestart_modes(void **state)
{
	struct restart_policy	pol = policy();
	struct restart_state	rs;
	double			delay;

	restart_init(&rs, &pol);
	pol.autorestart = AUTORESTART_ON_FAILURE;
	assert_int_equal(restart_on_exit(&rs, &pol, 1, 5, 1, 1, &delay),
	    RESTART_NEVER);
	assert_int_equal(restart_on_exit(&rs, &pol, 2, 5, 1, 0, &delay),
	    RESTART_AFTER);
	pol.autorestart = AUTORESTART_NEVER;
	assert_int_equal(restart_on_exit(&rs, &pol, 3, 5, 1, 0, &delay),
	    RESTART_NEVER);
	/* An exit that was asked for is never a crash. */
	pol.autorestart = AUTORESTART_ALWAYS;
	assert_int_equal(restart_on_exit(&rs, &pol, 4, 5, 0, 0, &delay),
	    RESTART_NEVER);
	restart_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_match_the_docs),
		cmocka_unit_test(test_delay_schedule),
		cmocka_unit_test(test_breaker_opens_after_max_crashes_in_window),
		cmocka_unit_test(test_crashes_outside_the_window_do_not_count),
		cmocka_unit_test(test_stable_uptime_resets_the_count),
		cmocka_unit_test(test_half_open_trial),
		cmocka_unit_test(test_manual_reset_closes_the_breaker),
		cmocka_unit_test(test_autorestart_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * restart.c: the restart policy's arithmetic, with no event loop: backoff
 * delays, the stable-uptime reset, and the crash-loop breaker.
 *
 * Delays: the first restart of a run of crashes waits first_delay; the n-th
 * after it waits initial_delay * multiplier^(n-1), capped at max_delay.
 * Breaker: more than max_crashes crashes within crash_window opens it (the
 * plugin goes FATAL). After cooldown one trial start is half-open: staying up
 * reset_after closes the breaker, crashing opens it again at once.
 * The counting and the delays are common/backoff.c's, the same as the IRC
 * connector's reconnects.
 */
#include <stdlib.h>

#include "common/backoff.h"
#include "supervisor/supervisor.h"

void
restart_init(struct restart_state *rs, const struct restart_policy *pol)
{
	rs->consecutive = 0;
	breaker_init(&rs->breaker, (unsigned)pol->max_crashes);
}

void
restart_free(struct restart_state *rs)
{
	breaker_free(&rs->breaker);
}

/* A manual start or restart: forget the crash run and close the breaker. */
void
restart_reset(struct restart_state *rs)
{
	rs->consecutive = 0;
	breaker_reset(&rs->breaker);
}

/* Delay before the restart that follows the consecutive-th crash (1-based). */
double
restart_delay(const struct restart_policy *pol, unsigned consecutive)
{
	if (consecutive <= 1)
		return pol->first_delay;
	/* The backoff series starts at the second: initial × multiplier^(n−2). */
	return backoff_delay(pol->initial_delay, pol->multiplier,
	    pol->max_delay, consecutive - 2);
}

/*
 * Decide what follows an exit. crashed: the exit was not asked for.
 * clean_exit: status 0. uptime: seconds it ran. Returns RESTART_AFTER with
 * *delay, RESTART_NEVER (autorestart says no), or RESTART_FATAL.
 */
enum restart_decision
restart_on_exit(struct restart_state *rs, const struct restart_policy *pol,
    double now, double uptime, int crashed, int clean_exit, double *delay)
{
	*delay = 0;
	if (!crashed)
		return RESTART_NEVER;

	rs->consecutive = backoff_count(rs->consecutive, &rs->breaker, uptime,
	    pol->reset_after);
	if (pol->autorestart == AUTORESTART_NEVER)
		return RESTART_NEVER;
	if (pol->autorestart == AUTORESTART_ON_FAILURE && clean_exit)
		return RESTART_NEVER;
	if (breaker_failure(&rs->breaker, now, pol->crash_window))
		return RESTART_FATAL;
	*delay = restart_delay(pol, rs->consecutive);
	return RESTART_AFTER;
}

/* The plugin stayed up reset_after seconds: the run of crashes is over. */
void
restart_on_stable(struct restart_state *rs)
{
	rs->consecutive = 0;
	breaker_success(&rs->breaker);
}

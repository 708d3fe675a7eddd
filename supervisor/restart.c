/*
 * restart.c: the restart policy's arithmetic, with no event loop: backoff
 * delays, the stable-uptime reset, and the crash-loop breaker.
 *
 * Delays: the first restart of a run of crashes waits first_delay; the n-th
 * after it waits initial_delay * multiplier^(n-1), capped at max_delay.
 * Breaker: more than max_crashes crashes within crash_window opens it (the
 * plugin goes FATAL). After cooldown one trial start is half-open: staying up
 * reset_after closes the breaker, crashing opens it again at once.
 */
#include <math.h>
#include <stdlib.h>

#include "supervisor/supervisor.h"

void
restart_init(struct restart_state *rs, const struct restart_policy *pol)
{
	rs->consecutive = 0;
	rs->crash_cap = (size_t)pol->max_crashes + 1;
	rs->crash_times = xcalloc(rs->crash_cap, sizeof *rs->crash_times);
	rs->ncrash_times = 0;
	rs->crash_head = 0;
	rs->breaker = BREAKER_CLOSED;
}

void
restart_free(struct restart_state *rs)
{
	free(rs->crash_times);
	rs->crash_times = NULL;
}

/* A manual start or restart: forget the crash run and close the breaker. */
void
restart_reset(struct restart_state *rs)
{
	rs->consecutive = 0;
	rs->ncrash_times = 0;
	rs->crash_head = 0;
	rs->breaker = BREAKER_CLOSED;
}

/* Delay before the restart that follows the consecutive-th crash (1-based). */
double
restart_delay(const struct restart_policy *pol, unsigned consecutive)
{
	double	d;

	if (consecutive <= 1)
		return pol->first_delay;
	d = pol->initial_delay * pow(pol->multiplier, (double)(consecutive - 2));
	if (!isfinite(d) || d > pol->max_delay)
		d = pol->max_delay;
	return d;
}

/* Count crashes recorded within the window ending at now. */
static size_t
restart_recent(const struct restart_state *rs, double now, double window)
{
	size_t	i, n = 0;

	for (i = 0; i < rs->ncrash_times; i++) {
		if (now - rs->crash_times[i] < window)
			n++;
	}
	return n;
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

	if (uptime >= pol->reset_after && rs->breaker != BREAKER_HALF_OPEN)
		rs->consecutive = 0;
	rs->consecutive++;
	rs->crash_times[rs->crash_head] = now;
	rs->crash_head = (rs->crash_head + 1) % rs->crash_cap;
	if (rs->ncrash_times < rs->crash_cap)
		rs->ncrash_times++;

	if (pol->autorestart == AUTORESTART_NEVER)
		return RESTART_NEVER;
	if (pol->autorestart == AUTORESTART_ON_FAILURE && clean_exit)
		return RESTART_NEVER;

	if (rs->breaker == BREAKER_HALF_OPEN ||
	    restart_recent(rs, now, pol->crash_window) > (size_t)pol->max_crashes) {
		rs->breaker = BREAKER_OPEN;
		return RESTART_FATAL;
	}
	*delay = restart_delay(pol, rs->consecutive);
	return RESTART_AFTER;
}

/* The plugin stayed up reset_after seconds: the run of crashes is over. */
void
restart_on_stable(struct restart_state *rs)
{
	rs->consecutive = 0;
	if (rs->breaker == BREAKER_HALF_OPEN) {
		rs->breaker = BREAKER_CLOSED;
		rs->ncrash_times = 0;
		rs->crash_head = 0;
	}
}

const char *
breaker_state_name(enum breaker_state b)
{
	switch (b) {
	case BREAKER_CLOSED:
		return "closed";
	case BREAKER_OPEN:
		return "open";
	case BREAKER_HALF_OPEN:
		return "half-open";
	}
	return "?";
}

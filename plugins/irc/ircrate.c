/*
 * ircrate.c: output pacing and the reconnect policy of the IRC connector,
 * pure arithmetic on times passed in, so the unit tests check exact values.
 *
 * Pacing is a token bucket (common/ratelimit.c's tbucket): it holds at most
 * burst tokens, gains rate a second, and each line sent takes one. So in
 * any interval of t seconds at most burst + rate × t lines leave, which is
 * what servers' flood limits (and our own e2e test) measure.
 *
 * Reconnecting follows the daemon's restart policy (shared/DESIGN.md), with
 * the same arithmetic (common/backoff.c): the n-th consecutive failure waits
 * initial × multiplier^(n-1), capped at max, then spread by ±jitter so that many bots cut off by one netsplit do not
 * come back in the same second. More than max_failures failures within
 * window open the breaker: the next attempt waits cooldown and is a trial
 * (half-open); a trial that stays registered stable seconds closes the
 * breaker, a failed one opens it again.
 */
#include <math.h>
#include <stdlib.h>

#include "common/backoff.h"
#include "common/common.h"
#include "plugins/irc/ircrate.h"

void
irc_reconnect_init(struct irc_reconnect *rc,
    const struct irc_reconnect_policy *pol)
{
	rc->consecutive = 0;
	breaker_init(&rc->breaker, pol->max_failures);
}

void
irc_reconnect_free(struct irc_reconnect *rc)
{
	breaker_free(&rc->breaker);
}

/*
 * Delay before retry n (1-based) of a run of failures; r in [0, 1) picks
 * the jitter, r = 0.5 none.
 */
double
irc_backoff_delay(const struct irc_reconnect_policy *pol, unsigned n,
    double r)
{
	double	d;

	if (n < 1)
		n = 1;
	d = backoff_delay(pol->initial, pol->multiplier, pol->max, n - 1);
	d *= 1 + pol->jitter * (2 * r - 1);
	return d < 0 ? 0 : d;
}

/*
 * A connection failed or was lost after uptime seconds registered (0 if it
 * never got there). Returns the delay before the next attempt.
 */
double
irc_reconnect_on_failure(struct irc_reconnect *rc,
    const struct irc_reconnect_policy *pol, double now, double uptime,
    double r)
{
	rc->consecutive = backoff_count(rc->consecutive, &rc->breaker, uptime,
	    pol->stable);
	if (breaker_failure(&rc->breaker, now, pol->window))
		return pol->cooldown;
	return irc_backoff_delay(pol, rc->consecutive, r);
}

/* An attempt starts: after an open breaker's cooldown it is the trial. */
void
irc_reconnect_on_attempt(struct irc_reconnect *rc)
{
	breaker_trial(&rc->breaker);
}

/* Registered for stable seconds: the run of failures is over. */
void
irc_reconnect_on_stable(struct irc_reconnect *rc)
{
	rc->consecutive = 0;
	breaker_success(&rc->breaker);
}

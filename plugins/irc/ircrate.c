/*
 * ircrate.c: output pacing and the reconnect policy of the IRC connector,
 * pure arithmetic on times passed in, so the unit tests check exact values.
 *
 * Pacing is a token bucket: it holds at most burst tokens, gains rate a
 * second, and each line sent takes one. So in any interval of t seconds at
 * most burst + rate × t lines leave, which is what servers' flood limits
 * (and our own e2e test) measure.
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

/*
 * A token is there when at least this close to 1: rounding in the refill
 * must not leave 0.9999999 and a wait too short for the clock to see.
 */
#define IRC_BUCKET_EPSILON	1e-9

/* A full bucket: a burst may leave at once. */
void
irc_bucket_init(struct irc_bucket *b, double rate, double burst, double now)
{
	b->rate = rate;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last = now;
}

/* Add what the time since the last update earned, up to burst. */
static void
irc_bucket_refill(struct irc_bucket *b, double now)
{
	if (now > b->last) {
		b->tokens += (now - b->last) * b->rate;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	/* A clock that went back earns nothing, but the bucket follows it. */
	b->last = now;
}

/* Take a token for one line: 1 if there was one, else 0. */
int
irc_bucket_take(struct irc_bucket *b, double now)
{
	irc_bucket_refill(b, now);
	if (b->tokens + IRC_BUCKET_EPSILON < 1)
		return 0;
	b->tokens -= 1;
	if (b->tokens < 0)
		b->tokens = 0;
	return 1;
}

/* Seconds until a token is there: 0 if one is now. */
double
irc_bucket_wait(struct irc_bucket *b, double now)
{
	irc_bucket_refill(b, now);
	if (b->tokens + IRC_BUCKET_EPSILON >= 1)
		return 0;
	if (b->rate <= 0)
		return INFINITY;
	return (1 - b->tokens) / b->rate;
}

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

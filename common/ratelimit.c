/*
 * ratelimit.c: token buckets and the rate-limited log (ratelimit.h).
 */
#include <string.h>

#include "common/ratelimit.h"

/*
 * Tokens are there when at least this close to what is asked: rounding in
 * the refill must not leave 0.9999999 and a wait too short for the clock
 * to see.
 */
#define TBUCKET_EPSILON	1e-9

/*
 * A full bucket: a quiet source may start with a burst. A bucket holds at
 * least one token, or a take of one would wait for ever.
 */
void
tbucket_init(struct tbucket *b, double rate, double burst, double now)
{
	b->rate = rate;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last = now;
}

/* Add what the time since the last refill earned, up to burst. */
void
tbucket_refill(struct tbucket *b, double now)
{
	if (now > b->last) {
		b->tokens += (now - b->last) * b->rate;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last = now;
}

/* Take n tokens: 1 if there were enough (or no limit), else 0, none taken. */
int
tbucket_take(struct tbucket *b, double n, double now)
{
	if (b->rate == 0)
		return 1;
	tbucket_refill(b, now);
	if (b->tokens + TBUCKET_EPSILON < n)
		return 0;
	b->tokens -= n;
	if (b->tokens < 0)
		b->tokens = 0;
	return 1;
}

/* Seconds until n tokens are there: 0 if they are now (or no limit). */
double
tbucket_wait(struct tbucket *b, double n, double now)
{
	if (b->rate == 0)
		return 0;
	tbucket_refill(b, now);
	if (b->tokens + TBUCKET_EPSILON >= n)
		return 0;
	return (n - b->tokens) / b->rate;
}

/*
 * Spend n tokens that were used already (bytes read): the bucket may go
 * into debt. 1 if it is still in credit (or has no limit), else 0.
 */
int
tbucket_spend(struct tbucket *b, double n, double now)
{
	if (b->rate == 0)
		return 1;
	tbucket_refill(b, now);
	b->tokens -= n;
	return b->tokens >= 0;
}

void
logrl_init(struct logrl *rl, double lines_per_second, double burst_lines,
    double bytes_per_second, double burst_bytes, double interval, double now)
{
	memset(rl, 0, sizeof *rl);
	logrl_set(rl, lines_per_second, burst_lines, bytes_per_second,
	    burst_bytes, interval, now);
}

/* New limits (a reload): the buckets start full, the counts stay. */
void
logrl_set(struct logrl *rl, double lines_per_second, double burst_lines,
    double bytes_per_second, double burst_bytes, double interval, double now)
{
	tbucket_init(&rl->lines, lines_per_second, burst_lines, now);
	tbucket_init(&rl->bytes, bytes_per_second, burst_bytes, now);
	rl->interval = interval;
}

/*
 * 1 if a line of kind and bytes may be logged now (its tokens are taken
 * from both buckets); else 0, and it is counted as suppressed.
 */
int
logrl_admit(struct logrl *rl, int kind, size_t bytes, double now)
{
	double	n = (double)bytes;

	tbucket_refill(&rl->lines, now);
	tbucket_refill(&rl->bytes, now);
	if ((rl->lines.rate == 0 || rl->lines.tokens >= 1) &&
	    (rl->bytes.rate == 0 || rl->bytes.tokens >= n)) {
		tbucket_take(&rl->lines, 1, now);
		tbucket_take(&rl->bytes, n, now);
		return 1;
	}
	if (rl->since == 0)
		rl->since = now > 0 ? now : 1e-9;
	rl->count[kind]++;
	rl->nbytes[kind] += bytes;
	rl->total++;
	return 0;
}

/* When the open interval's summary is due; 0 if nothing was suppressed. */
double
logrl_due(const struct logrl *rl)
{
	return rl->since == 0 ? 0 : rl->since + rl->interval;
}

/*
 * Hand over the open interval's counts and close it: 1 if it had any and
 * is due (or force: the source is going away), else 0.
 */
int
logrl_summary(struct logrl *rl, double now, int force,
    struct logrl_summary *out)
{
	if (rl->since == 0 || (!force && now < rl->since + rl->interval))
		return 0;
	out->span = now - rl->since;
	memcpy(out->count, rl->count, sizeof out->count);
	memcpy(out->nbytes, rl->nbytes, sizeof out->nbytes);
	memset(rl->count, 0, sizeof rl->count);
	memset(rl->nbytes, 0, sizeof rl->nbytes);
	rl->since = 0;
	return 1;
}

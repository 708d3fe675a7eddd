/* backoff.c: delays and counting of a run of failures (see backoff.h). */
#include "common/backoff.h"

/*
 * Step k (0-based) of a run: initial × multiplier^k, capped at max. It
 * multiplies step by step and stops once past the cap or once a step
 * changes nothing (multiplier 1, or 0 s), so a run of thousands of
 * failures neither loops long nor overflows.
 */
double
backoff_delay(double initial, double multiplier, double max, unsigned k)
{
	double		d = initial;
	unsigned	i;

	for (i = 0; i < k && d <= max && d * multiplier != d; i++)
		d *= multiplier;
	if (d > max)
		d = max;
	return d < 0 ? 0 : d;
}

/*
 * The run's length after one more failure, uptime seconds after it
 * started. Up stable seconds or more ends the run before it: this
 * failure is the first of a new one. A failed trial (breaker half-open)
 * never does: it belongs to the crash loop that opened the breaker.
 */
unsigned
backoff_count(unsigned consecutive, const struct breaker *b, double uptime,
    double stable)
{
	if (uptime >= stable && b->state != BREAKER_HALF_OPEN)
		consecutive = 0;
	return consecutive + 1;
}

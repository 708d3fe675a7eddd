/* breaker.c: the circuit breaker shared by restarts and reconnects. */
#include <stdlib.h>

#include "common/breaker.h"
#include "common/common.h"

void
breaker_init(struct breaker *b, unsigned max)
{
	b->state = BREAKER_CLOSED;
	b->max = max;
	b->times = xcalloc((size_t)max + 1, sizeof *b->times);
	b->n = 0;
	b->head = 0;
}

void
breaker_free(struct breaker *b)
{
	free(b->times);
	b->times = NULL;
}

/* Failures recorded within the window ending at now. */
static size_t
breaker_recent(const struct breaker *b, double now, double window)
{
	size_t	i, n = 0;

	for (i = 0; i < b->n; i++) {
		if (now - b->times[i] < window)
			n++;
	}
	return n;
}

int
breaker_failure(struct breaker *b, double now, double window)
{
	size_t	cap = (size_t)b->max + 1;

	b->times[b->head] = now;
	b->head = (b->head + 1) % cap;
	if (b->n < cap)
		b->n++;
	/* A failed trial, or one failure too many: open. */
	if (b->state != BREAKER_CLOSED || breaker_recent(b, now, window) > b->max)
		b->state = BREAKER_OPEN;
	return b->state == BREAKER_OPEN;
}

void
breaker_trial(struct breaker *b)
{
	if (b->state == BREAKER_OPEN)
		b->state = BREAKER_HALF_OPEN;
}

void
breaker_success(struct breaker *b)
{
	if (b->state != BREAKER_CLOSED)
		breaker_reset(b);
}

void
breaker_reset(struct breaker *b)
{
	b->state = BREAKER_CLOSED;
	b->n = 0;
	b->head = 0;
}

const char *
breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED:
		return "closed";
	case BREAKER_OPEN:
		return "open";
	case BREAKER_HALF_OPEN:
		return "half-open";
	}
	return "?";
}

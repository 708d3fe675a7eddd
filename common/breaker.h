/*
 * breaker.h: a crash-loop (or reconnect-loop) circuit breaker. More than
 * max failures within a window opens it; after a cooldown the owner makes
 * one trial (half-open): success closes it, failure opens it again at once.
 * Shared by the daemon's restart policy and the IRC connector's reconnects.
 */
#ifndef BREAKER_H
#define BREAKER_H

#include <stddef.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
	enum breaker_state	 state;
	unsigned		 max;	/* failures allowed within the window */
	double			*times;	/* ring of the last max + 1 failures */
	size_t			 n;
	size_t			 head;
};

void	 breaker_init(struct breaker *, unsigned max);
void	 breaker_free(struct breaker *);
/* Record a failure at now; 1 if that leaves the breaker open. */
int	 breaker_failure(struct breaker *, double now, double window);
/* The cooldown of an open breaker is over: the next start is a trial. */
void	 breaker_trial(struct breaker *);
/* It ran long enough: a trial succeeded; the failures are forgotten. */
void	 breaker_success(struct breaker *);
/* An operator's manual start: closed, failures forgotten. */
void	 breaker_reset(struct breaker *);
const char *breaker_state_name(enum breaker_state);

#endif

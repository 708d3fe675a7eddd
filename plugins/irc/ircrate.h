/*
 * ircrate.h: the IRC connector's timing arithmetic, without I/O or clocks
 * (every time is passed in, in seconds): the reconnect policy (backoff with
 * jitter, and a breaker). Output is paced by common/ratelimit.h's tbucket.
 */
#ifndef IRCRATE_H
#define IRCRATE_H

#include <stddef.h>

#include "common/breaker.h"
#include "common/ratelimit.h"	/* tbucket: output pacing */

/* The reconnect policy, from the connector's "reconnect" config. */
struct irc_reconnect_policy {
	double		initial;	/* first retry after a failure, s */
	double		multiplier;	/* each further retry waits this × more */
	double		max;		/* cap of the delay, s */
	double		jitter;		/* ± this fraction of the delay */
	unsigned	max_failures;	/* more within window open the breaker */
	double		window;		/* s */
	double		cooldown;	/* open breaker: wait before a trial, s */
	double		stable;		/* s registered that end a run of failures */
};

/*
 * Failures so far: the run since the last stable connection, and the
 * breaker (the same one as the daemon's restart policy, common/breaker.h).
 */
struct irc_reconnect {
	unsigned		 consecutive;
	struct breaker		 breaker;
};

void	 irc_reconnect_init(struct irc_reconnect *,
	     const struct irc_reconnect_policy *);
void	 irc_reconnect_free(struct irc_reconnect *);
double	 irc_backoff_delay(const struct irc_reconnect_policy *, unsigned n,
	     double r);
double	 irc_reconnect_on_failure(struct irc_reconnect *,
	     const struct irc_reconnect_policy *, double now, double uptime,
	     double r);
void	 irc_reconnect_on_attempt(struct irc_reconnect *);
void	 irc_reconnect_on_stable(struct irc_reconnect *);

#endif

/*
 * backoff.h: the arithmetic of a run of failures, shared by the daemon's
 * restart policy (supervisor/restart.c) and the IRC connector's reconnects
 * (plugins/irc/ircrate.c), so both count and wait the same way: the k-th
 * step of a run waits initial × multiplier^k, capped; a failure after a
 * stable run starts a new run. The breaker over the same failures is in
 * breaker.h.
 */
#ifndef BACKOFF_H
#define BACKOFF_H

#include "common/breaker.h"

double	 backoff_delay(double initial, double multiplier, double max,
	     unsigned k);
unsigned backoff_count(unsigned consecutive, const struct breaker *,
	     double uptime, double stable);

#endif

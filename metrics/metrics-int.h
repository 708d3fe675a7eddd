/*
 * metrics-int.h: declarations shared between the files of metrics/ only.
 * Callers outside metrics/ include metrics.h.
 */
#ifndef METRICS_INT_H
#define METRICS_INT_H

#include "metrics/metrics.h"

int	ring_runs(const struct sample_ring *, size_t, size_t,
	    const struct metrics_sample *[2], size_t[2]);

#endif

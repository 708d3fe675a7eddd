/*
 * stats.c: avg/min/max/p95 and the aggregates of a ring window.
 *
 * p95 is the reference spec's nearest rank, sorted[min(floor(n * 0.95),
 * n - 1)], so p95 of 10,20,30,40,50 is 50. It is found by selection, not by
 * sorting: a full hour is 720 samples and a status request aggregates every
 * plugin, so the whole aggregate has to stay within a few microseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "metrics/metrics-int.h"

/*
 * Rounds of partitioning before selection gives up on median-of-three and
 * sorts what is left: bounds the quadratic worst case on adversarial input.
 */
#define STATS_SELECT_ROUNDS	48

static int
stats_cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int
stats_cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Hoare-partition quickselect (Wirth's "find"): reorder a[0..n) so a[k] is
 * the k-th smallest and return it. Hoare partitioning splits runs of equal
 * values down the middle, so a flat series (constant memory) stays linear.
 */
#define STATS_SELECT(name, type, cmp)					\
static type								\
name(type *a, size_t n, size_t k)					\
{									\
	ptrdiff_t	l = 0, r = (ptrdiff_t)n - 1, i, j;		\
	ptrdiff_t	kk = (ptrdiff_t)k;				\
	type		x, y, z, pivot, t;				\
	int		rounds = 0;					\
									\
	while (r > l) {							\
		if (++rounds > STATS_SELECT_ROUNDS) {			\
			qsort(a + l, (size_t)(r - l + 1), sizeof *a, cmp); \
			break;						\
		}							\
		x = a[l];						\
		y = a[l + (r - l) / 2];					\
		z = a[r];						\
		if (x > y) { t = x; x = y; y = t; }			\
		if (y > z) { y = z; }					\
		pivot = x > y ? x : y;					\
		i = l;							\
		j = r;							\
		do {							\
			while (a[i] < pivot)				\
				i++;					\
			while (pivot < a[j])				\
				j--;					\
			if (i <= j) {					\
				t = a[i]; a[i] = a[j]; a[j] = t;	\
				i++;					\
				j--;					\
			}						\
		} while (i <= j);					\
		if (j < kk)						\
			l = i;						\
		if (kk < i)						\
			r = j;						\
	}								\
	return a[k];							\
}

STATS_SELECT(stats_select_u32, uint32_t, stats_cmp_u32)
STATS_SELECT(stats_select_double, double, stats_cmp_double)

/* Index of the nearest-rank p95 in n sorted values: min(n*95/100, n-1). */
size_t
stats_p95_index(size_t n)
{
	size_t	i;

	if (n == 0)
		return 0;
	/* Integer arithmetic is exactly the spec's int(n * 95 / 100). */
	i = n / 100 * 95 + n % 100 * 95 / 100;
	return i < n - 1 ? i : n - 1;
}

/* p95 of n values (reordered in place); 0 if n is 0. */
double
stats_p95(double *values, size_t n)
{
	if (n == 0)
		return 0.0;
	return stats_select_double(values, n, stats_p95_index(n));
}

/* p95 of n integers (reordered in place); 0 if n is 0. */
uint32_t
stats_p95_u32(uint32_t *values, size_t n)
{
	if (n == 0)
		return 0;
	return stats_select_u32(values, n, stats_p95_index(n));
}

/* avg/min/max/p95 of n values (reordered in place); all 0 if n is 0. */
void
stats_compute(double *values, size_t n, struct metrics_stats *st)
{
	double	sum = 0;
	size_t	i;

	memset(st, 0, sizeof *st);
	if (n == 0)
		return;
	st->min = st->max = values[0];
	for (i = 0; i < n; i++) {
		sum += values[i];
		if (values[i] < st->min)
			st->min = values[i];
		if (values[i] > st->max)
			st->max = values[i];
	}
	st->avg = sum / n;
	st->p95 = stats_p95(values, n);
}

/* Scratch values metrics_aggregate needs for this ring: two series. */
size_t
metrics_scratch_len(const struct sample_ring *ring)
{
	return 2 * ring_capacity(ring);
}

/* Running sums of one fixed-point series. */
struct stats_series {
	uint32_t	*values;
	size_t		 n;
	uint64_t	 sum;
	uint32_t	 min;
	uint32_t	 max;
};

/* Finish a series into stats, dividing by its fixed-point scale. */
static void
stats_series_finish(struct stats_series *ser, double scale,
    struct metrics_stats *st)
{
	memset(st, 0, sizeof *st);
	if (ser->n == 0)
		return;
	st->avg = (double)ser->sum / ser->n / scale;
	st->min = ser->min / scale;
	st->max = ser->max / scale;
	st->p95 = stats_p95_u32(ser->values, ser->n) / scale;
}

/*
 * Aggregate a window of the ring. Returns 0, or -1 if the window holds no
 * samples (agg zeroed). One pass over at most two contiguous runs gathers
 * both series into scratch; the p95s are then selections on integers.
 */
int
metrics_aggregate(const struct sample_ring *ring,
    const struct metrics_window *w, struct metrics_aggregates *agg,
    uint32_t *scratch)
{
	const struct metrics_sample	*run[2], *s, *first_s, *last_s;
	struct stats_series		 cpu, mem;
	size_t				 first, n, len[2], i;
	uint32_t			*owned = NULL;
	int				 nruns, r;

	memset(agg, 0, sizeof *agg);
	n = ring_window(ring, w, &first);
	if (n == 0)
		return -1;
	if (scratch == NULL)
		scratch = owned = xreallocarray(NULL, 2 * n, sizeof *scratch);

	memset(&cpu, 0, sizeof cpu);
	memset(&mem, 0, sizeof mem);
	cpu.values = scratch;
	cpu.min = mem.min = UINT32_MAX;
	mem.values = scratch + n;

	nruns = ring_runs(ring, first, n, run, len);
	for (r = 0; r < nruns; r++) {
		for (i = 0; i < len[r]; i++) {
			s = &run[r][i];
			if (s->cpu_centi != METRICS_CPU_NONE) {
				cpu.values[cpu.n++] = s->cpu_centi;
				cpu.sum += s->cpu_centi;
				if (s->cpu_centi < cpu.min)
					cpu.min = s->cpu_centi;
				if (s->cpu_centi > cpu.max)
					cpu.max = s->cpu_centi;
			}
			if (s->pid != 0) {
				mem.values[mem.n++] = s->rss_kib;
				mem.sum += s->rss_kib;
				if (s->rss_kib < mem.min)
					mem.min = s->rss_kib;
				if (s->rss_kib > mem.max)
					mem.max = s->rss_kib;
			}
		}
	}

	first_s = run[0];
	last_s = nruns == 2 ? &run[1][len[1] - 1] : &run[0][len[0] - 1];
	agg->sample_count = n;
	agg->cpu_samples = cpu.n;
	agg->memory_samples = mem.n;
	agg->first_time = ring_sample_time(ring, first_s);
	agg->last_time = ring_sample_time(ring, last_s);
	agg->time_span_seconds = (last_s->time_ds - first_s->time_ds) / 10.0;
	stats_series_finish(&cpu, 100.0, &agg->cpu);
	stats_series_finish(&mem, 1024.0, &agg->memory_mb);
	/*
	 * The daemon keeps the counter cumulative per plugin name across
	 * restarts, so last - first (mod 2^32) is what was routed.
	 */
	agg->events = last_s->events - first_s->events;
	if (last_s->time_ds > first_s->time_ds)
		agg->events_per_minute = agg->events * 60.0 /
		    agg->time_span_seconds;
	agg->latest = *last_s;

	free(owned);
	return 0;
}

/*
 * Uptime in the spec's human form: 45s, 12m, 3h 5m, 2d 4h. Truncates like
 * the spec's int(); negative counts as 0.
 */
char *
metrics_format_uptime(double seconds, char *buf, size_t len)
{
	unsigned long long	s;

	if (!(seconds > 0))
		s = 0;
	else if (seconds >= 1e18)
		s = 1000000000000000000ULL;
	else
		s = (unsigned long long)seconds;

	if (s < 60)
		snprintf(buf, len, "%llus", s);
	else if (s < 3600)
		snprintf(buf, len, "%llum", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh %llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%llud %lluh", s / 86400, s % 86400 / 3600);
	return buf;
}

/*
 * test_metrics_rollup.c: rollup tiers (bucket boundaries, gaps, wrap, tier
 * from tier), window selection, and the p95 estimator's error on a known
 * 30-day trace, beside the alternative it was chosen over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "metrics/metrics.h"

/* A whole hour (and so a whole minute) in wall seconds. */
#define EPOCH	1699999200.0

#define assert_near(a, b, eps) do {					\
	double a_ = (a), b_ = (b);					\
	if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))			\
		fail_msg("%s = %.6f, expected %.6f (within %g)", #a, a_,	\
		    b_, (double)(eps));					\
} while (0)

struct fixture {
	struct sample_ring	*ring;
	struct rollup_tier	*tiers[ROLLUP_MAX_TIERS];
	size_t			 ntiers;
	uint64_t		 events;
};

static void
fx_init(struct fixture *f, size_t ring_cap, double r0, size_t c0, double r1,
    size_t c1)
{
	memset(f, 0, sizeof *f);
	f->ring = ring_new(ring_cap, EPOCH);
	if (r0 > 0)
		f->tiers[f->ntiers++] = rollup_new(r0, c0);
	if (r1 > 0)
		f->tiers[f->ntiers++] = rollup_new(r1, c1);
}

static void
fx_free(struct fixture *f)
{
	size_t	i;

	ring_free(f->ring);
	for (i = 0; i < f->ntiers; i++)
		rollup_free(f->tiers[i]);
}

/* What the daemon does per sample: close buckets, then push. */
static void
fx_feed(struct fixture *f, double t, double cpu, uint64_t kib, int events)
{
	struct metrics_sample	s = { .pid = 42 };

	f->events += (uint64_t)events;
	sample_set_cpu(&s, cpu);
	sample_set_rss_kib(&s, kib);
	sample_set_events(&s, f->events);
	rollup_advance(f->tiers, f->ntiers, f->ring, t);
	ring_push(f->ring, t, &s);
}

static void
test_budget(void **state)
{
	size_t	total;

	/* 22-byte buckets; the three default tiers within 64 KiB a plugin. */
	assert_int_equal(rollup_bucket_bytes(), 22);
	total = ring_memory_bytes_for(720) + rollup_memory_bytes_for(1440) +
	    rollup_memory_bytes_for(720);
	print_message("history per plugin, default tiers: %zu bytes\n", total);
	assert_true(total <= 65536);
}

/* A bucket of n samples of cpu and kib. */
static struct rollup_summary
test_bucket(double n, double cpu, double kib)
{
	struct rollup_summary	s;

	memset(&s, 0, sizeof s);
	s.samples = s.mem_n = s.cpu_n = n;
	s.cpu_min = s.cpu_max = s.cpu_p95 = cpu;
	s.cpu_sum = cpu * n;
	s.mem_min = s.mem_max = s.mem_p95 = kib;
	s.mem_sum = kib * n;
	return s;
}

/*
 * A tier's buckets are allocated as they are written (16, then doubling or
 * as far as a gap reaches, at most the capacity); empty writes allocate
 * nothing; buckets keep their values through growth, a gap, the wrap, and a
 * save and load.
 */
static void
test_tier_grows(void **state)
{
	struct rollup_tier	*t = rollup_new(60, 40), *u;
	struct rollup_summary	 s, empty;
	unsigned char		*bytes;
	int64_t			 b, head, first;
	size_t			 hdr = rollup_memory_bytes_for(0), bb = 22;

	assert_int_equal(rollup_memory_bytes(t), hdr);
	memset(&empty, 0, sizeof empty);
	rollup_put(t, 1000, &empty);
	assert_int_equal(rollup_memory_bytes(t), hdr);
	for (b = 1000; b < 1010; b++) {
		s = test_bucket(12, (double)(b - 1000), 100);
		rollup_put(t, b, &s);
	}
	assert_int_equal(rollup_memory_bytes(t), hdr + 16 * bb);
	/* A gap to slot 30: grown to 32; 1010..1029 read as empty. */
	s = test_bucket(12, 30, 100);
	rollup_put(t, 1030, &s);
	assert_int_equal(rollup_memory_bytes(t), hdr + 32 * bb);
	for (b = 1000; b <= 1030; b++) {
		if (b >= 1010 && b < 1030) {
			assert_int_equal(rollup_get(t, b, &s), -1);
			continue;
		}
		assert_int_equal(rollup_get(t, b, &s), 0);
		assert_near(s.cpu_max, (double)(b - 1000), 1e-9);
		assert_near(s.mem_sum, 1200, 1e-9);
	}
	/* Past the capacity: wraps onto slot 5, 1000..1005 leave the reach. */
	s = test_bucket(12, 45, 100);
	rollup_put(t, 1045, &s);
	assert_int_equal(rollup_memory_bytes(t), hdr + 32 * bb);
	assert_int_equal(rollup_get(t, 1005, &s), -1);
	assert_int_equal(rollup_get(t, 1006, &s), 0);
	assert_near(s.cpu_max, 6, 1e-9);
	assert_int_equal(rollup_get(t, 1031, &s), -1);
	assert_int_equal(rollup_get(t, 1045, &s), 0);
	assert_near(s.cpu_max, 45, 1e-9);
	assert_int_equal(rollup_first(t, &first), 0);
	assert_int_equal(first, 1006);

	/* Saved as a state file does (oldest first) and loaded: the same. */
	assert_int_equal(rollup_head(t, &head), 0);
	bytes = calloc((size_t)(head - first + 1), bb);
	for (b = first; b <= head; b++)
		rollup_bucket_encode(t, b, bytes + (size_t)(b - first) * bb);
	u = rollup_new(60, 40);
	assert_int_equal(rollup_load(u, head, bytes,
	    (size_t)(head - first + 1)), 0);
	assert_int_equal(rollup_memory_bytes(u),
	    hdr + (size_t)(head - first + 1) * bb);
	for (b = 1000; b <= 1046; b++) {
		struct rollup_summary	x;
		int			r = rollup_get(t, b, &s);

		assert_int_equal(rollup_get(u, b, &x), r);
		if (r == 0)
			assert_memory_equal(&s, &x, sizeof s);
	}
	free(bytes);
	rollup_free(u);
	rollup_free(t);
}

/* One minute of 5 s samples makes one bucket, closed by the next sample. */
static void
test_minute_bucket(void **state)
{
	struct fixture		f;
	struct rollup_summary	s;
	int64_t			b0 = (int64_t)(EPOCH / 60), head;
	int			i;

	fx_init(&f, 720, 60, 1440, 0, 0);
	for (i = 0; i < 12; i++)
		fx_feed(&f, EPOCH + 5 * i, i, 1000 + i, 2);
	/* Nothing closed yet: the minute is still open. */
	assert_int_equal(rollup_head(f.tiers[0], &head), -1);
	fx_feed(&f, EPOCH + 60, 50, 5000, 1);
	assert_int_equal(rollup_head(f.tiers[0], &head), 0);
	assert_int_equal(head, b0);
	assert_int_equal(rollup_get(f.tiers[0], b0, &s), 0);
	assert_near(s.start, EPOCH, 0);
	assert_near(s.end, EPOCH + 60, 0);
	assert_near(s.samples, 12, 0);
	assert_near(s.cpu_n, 12, 0);
	assert_near(s.cpu_min, 0, 0);
	assert_near(s.cpu_max, 11, 0);
	assert_near(s.cpu_sum / s.cpu_n, 5.5, 0.01);
	/* Nearest rank of 12: sorted[min(11, 11)], the max. */
	assert_near(s.cpu_p95, 11, 0.05);
	assert_near(s.mem_min, 1000, 0);
	assert_near(s.mem_max, 1011, 0);
	/* Events routed in the minute: 11 deltas of 2 (the first has none). */
	assert_near(s.events, 22, 0);
	/* The sample at EPOCH + 60 belongs to the next minute. */
	assert_int_equal(rollup_get(f.tiers[0], b0 + 1, &s), -1);
	fx_free(&f);
}

/* The daemon down for three minutes: a gap, not made-up buckets. */
static void
test_gap(void **state)
{
	struct fixture		f;
	struct rollup_summary	s;
	int64_t			b0 = (int64_t)(EPOCH / 60), head, first;
	int			i;

	fx_init(&f, 720, 60, 1440, 0, 0);
	for (i = 0; i < 12; i++)
		fx_feed(&f, EPOCH + 5 * i, 10, 2000, 0);
	for (i = 0; i < 13; i++)
		fx_feed(&f, EPOCH + 240 + 5 * i, 20, 2000, 0);
	assert_int_equal(rollup_head(f.tiers[0], &head), 0);
	assert_int_equal(head, b0 + 4);
	assert_int_equal(rollup_get(f.tiers[0], b0, &s), 0);
	assert_near(s.cpu_max, 10, 0);
	for (i = 1; i <= 3; i++)
		assert_int_equal(rollup_get(f.tiers[0], b0 + i, &s), -1);
	assert_int_equal(rollup_get(f.tiers[0], b0 + 4, &s), 0);
	assert_near(s.cpu_min, 20, 0);
	assert_int_equal(rollup_first(f.tiers[0], &first), 0);
	assert_int_equal(first, b0);
	fx_free(&f);
}

/* A full tier keeps its newest buckets and forgets the oldest. */
static void
test_wrap(void **state)
{
	struct fixture		f;
	struct rollup_summary	s;
	int64_t			b0 = (int64_t)EPOCH, head, first;
	int			i;

	fx_init(&f, 100, 1, 5, 0, 0);
	for (i = 0; i <= 20; i++)
		fx_feed(&f, EPOCH + i, i, 100, 0);
	assert_int_equal(rollup_head(f.tiers[0], &head), 0);
	assert_int_equal(head, b0 + 19);
	assert_int_equal(rollup_first(f.tiers[0], &first), 0);
	assert_int_equal(first, b0 + 15);
	assert_int_equal(rollup_get(f.tiers[0], b0 + 14, &s), -1);
	assert_int_equal(rollup_get(f.tiers[0], b0 + 15, &s), 0);
	assert_near(s.cpu_max, 15, 0);
	assert_near(rollup_oldest(f.tiers, f.ntiers), EPOCH + 15, 0);
	fx_free(&f);
}

/* An hour bucket made of sixty minute buckets: exact counts, min, max, avg. */
static void
test_hour_from_minutes(void **state)
{
	struct fixture		f;
	struct rollup_summary	s;
	int64_t			h0 = (int64_t)(EPOCH / 3600);
	double			sum = 0;
	int			i;

	fx_init(&f, 720, 60, 1440, 3600, 720);
	for (i = 0; i < 720; i++) {
		double cpu = (i * 37) % 101;

		sum += cpu;
		fx_feed(&f, EPOCH + 5 * i, cpu, 10000 + i * 3, 1);
	}
	fx_feed(&f, EPOCH + 3600, 0, 1, 0);
	assert_int_equal(rollup_get(f.tiers[1], h0, &s), 0);
	assert_near(s.samples, 720, 0);
	assert_near(s.cpu_min, 0, 0);
	assert_near(s.cpu_max, 100, 0);
	assert_near(s.cpu_sum / s.cpu_n, sum / 720, 0.05);
	assert_near(s.mem_min, 10000, 0);
	/* 12157 KiB as a 16-bit float: within 0.025 %. */
	assert_near(s.mem_max, 10000 + 719 * 3, 12157 * 0.00025);
	assert_near(s.events, 719, 0);
	fx_free(&f);
}

/* Windows pick the finest data that covers them and say so. */
static void
test_window_selection(void **state)
{
	struct fixture			f;
	struct metrics_aggregates	a;
	struct rollup_query		q;
	double				now = EPOCH + 3 * 86400;
	int				i;

	fx_init(&f, 720, 60, 1440, 3600, 720);
	for (i = 0; i < 3 * 86400 / 5; i++)
		fx_feed(&f, EPOCH + 5 * i, 10, 4096, 0);
	assert_int_equal(rollup_aggregate(f.tiers, f.ntiers, f.ring, 3600,
	    now - 1800, now, &a, &q), 0);
	assert_true(q.resolution == 0 && q.p95_exact);
	assert_int_equal(a.sample_count, 360);
	assert_int_equal(rollup_aggregate(f.tiers, f.ntiers, f.ring, 3600,
	    now - 7200, now, &a, &q), 0);
	assert_true(q.resolution == 60 && !q.p95_exact);
	/* Two hours of 5 s samples, give or take the bucket at the edge. */
	assert_true(a.sample_count >= 1440 && a.sample_count <= 1452);
	assert_near(a.cpu.avg, 10, 0.01);
	assert_near(a.cpu.p95, 10, 0.01);
	assert_int_equal(rollup_aggregate(f.tiers, f.ntiers, f.ring, 3600,
	    now - 2 * 86400, now, &a, &q), 0);
	assert_true(q.resolution == 3600 && !q.p95_exact);
	assert_true(a.sample_count >= 2 * 17280 && a.sample_count <= 2 * 17280
	    + 720);
	assert_near(a.memory_mb.avg, 4, 0.001);
	/* Longer than every tier: the coarsest, covering what it holds. */
	assert_int_equal(rollup_aggregate(f.tiers, f.ntiers, f.ring, 3600,
	    now - 60 * 86400, now, &a, &q), 0);
	assert_true(q.resolution == 3600);
	assert_near(a.first_time, EPOCH, 0);
	fx_free(&f);
}

/* A small deterministic generator, so the trace is the same everywhere. */
static uint64_t	rng = 88172645463325252ULL;

static double
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / (double)(1ULL << 53);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Exact nearest-rank p95 of a copy of v. */
static double
exact_p95(const double *v, size_t n)
{
	double	*c = malloc(n * sizeof *c), r;

	memcpy(c, v, n * sizeof *c);
	qsort(c, n, sizeof *c, cmp_double);
	r = c[stats_p95_index(n)];
	free(c);
	return r;
}

/* Where a value ranks among v: the fraction of values at or below it. */
static double
rank_of(const double *v, size_t n, double x)
{
	size_t	i, below = 0;

	for (i = 0; i < n; i++)
		if (v[i] <= x)
			below++;
	return (double)below / (double)n;
}

/*
 * The alternative: nearest rank over the buckets' own p95s, each weighted
 * by its sample count.
 */
static double
alt_p95(const struct rollup_tier *t, int64_t from, int64_t to)
{
	struct rollup_summary	s;
	double			*v = NULL, r;
	size_t			 n = 0, k;
	int64_t			 b;

	for (b = from; b <= to; b++)
		if (rollup_get(t, b, &s) == 0)
			n += (size_t)s.cpu_n;
	v = malloc((n ? n : 1) * sizeof *v);
	n = 0;
	for (b = from; b <= to; b++) {
		if (rollup_get(t, b, &s) != 0)
			continue;
		for (k = 0; k < (size_t)s.cpu_n; k++)
			v[n++] = s.cpu_p95;
	}
	r = n ? exact_p95(v, n) : 0;
	free(v);
	return r;
}

/*
 * A 30-day trace at 5 s: a daily CPU wave of 2-10 % with noise, a 2-minute
 * burst to 60-90 % every 3 hours, a busy 20 % hour each afternoon; memory
 * growing slowly under a garbage-collector sawtooth. The estimated p95 over
 * windows of 2 h to 30 d against the exact one over every sample.
 */
static void
test_estimator_error(void **state)
{
	struct fixture			 f;
	struct metrics_aggregates	 a;
	struct rollup_query		 q;
	static const double		 windows[] = { 7200, 6 * 3600, 86400,
	    7 * 86400, 30 * 86400 };
	size_t				 n = 30 * 86400 / 5, i, w, first;
	double				*cpu = malloc(n * sizeof *cpu);
	double				*mem = malloc(n * sizeof *mem);
	double				 t, day, c, m, now, ex, worst_cpu = 0;
	double				 worst_mem = 0, worst_alt = 0, alt;
	double				 r, ra, worst_rank = 0, worst_alt_rank = 0;
	int64_t				 from, to;

	fx_init(&f, 720, 60, 1440, 3600, 720);
	for (i = 0; i < n; i++) {
		t = 5.0 * (double)i;
		day = t / 86400.0 - (double)(long long)(t / 86400.0);
		c = 6 + 4 * (day < 0.5 ? 2 * day : 2 - 2 * day) * 2 - 4 +
		    uniform() * 2;
		if ((long long)t % 10800 < 120)
			c = 60 + uniform() * 30;
		if (day > 0.6 && day < 0.6 + 1.0 / 24)
			c = 20 + uniform() * 4;
		m = 40000 + t / 100 + ((long long)t % 600) * 10;
		cpu[i] = (double)(long long)(c * 100 + 0.5) / 100;
		mem[i] = (double)(long long)m;
		fx_feed(&f, EPOCH + t, cpu[i], (uint64_t)mem[i], 0);
	}
	now = EPOCH + 5.0 * (double)(n - 1);
	for (w = 0; w < nitems(windows); w++) {
		assert_int_equal(rollup_aggregate(f.tiers, f.ntiers, f.ring,
		    3600, now - windows[w], now, &a, &q), 0);
		/* The exact value over the samples the estimate covered. */
		first = (size_t)((a.first_time - EPOCH) / 5 + 0.5);
		ex = exact_p95(cpu + first, n - first);
		if (a.cpu.p95 - ex > worst_cpu || ex - a.cpu.p95 > worst_cpu)
			worst_cpu = a.cpu.p95 > ex ? a.cpu.p95 - ex :
			    ex - a.cpu.p95;
		m = exact_p95(mem + first, n - first) / 1024;
		if ((a.memory_mb.p95 - m) / m > worst_mem ||
		    (m - a.memory_mb.p95) / m > worst_mem)
			worst_mem = (a.memory_mb.p95 > m ? a.memory_mb.p95 - m :
			    m - a.memory_mb.p95) / m;
		from = (int64_t)((a.first_time) / q.resolution);
		to = (int64_t)(now / q.resolution);
		alt = alt_p95(q.resolution == 60 ? f.tiers[0] : f.tiers[1],
		    from, to);
		if (alt - ex > worst_alt || ex - alt > worst_alt)
			worst_alt = alt > ex ? alt - ex : ex - alt;
		r = rank_of(cpu + first, n - first, a.cpu.p95);
		ra = rank_of(cpu + first, n - first, alt);
		if (r - 0.95 > worst_rank || 0.95 - r > worst_rank)
			worst_rank = r > 0.95 ? r - 0.95 : 0.95 - r;
		if (ra - 0.95 > worst_alt_rank || 0.95 - ra > worst_alt_rank)
			worst_alt_rank = ra > 0.95 ? ra - 0.95 : 0.95 - ra;
		print_message("window %8.0f s (%4.0f s buckets): cpu p95 exact "
		    "%6.2f estimated %6.2f (at rank %5.2f %%; bucket-p95 rank "
		    "%6.2f at %5.2f %%); memory p95 exact %8.2f MB estimated "
		    "%8.2f MB\n", windows[w], q.resolution, ex, a.cpu.p95,
		    r * 100, alt, ra * 100, m, a.memory_mb.p95);
	}
	print_message("worst error: cpu %.2f points, %.2f %% of rank (bucket-"
	    "p95 rank: %.2f points, %.2f %% of rank), memory %.3f %%\n",
	    worst_cpu, worst_rank * 100, worst_alt, worst_alt_rank * 100,
	    worst_mem * 100);
	/*
	 * The bounds docs/metrics.md states for this trace. The worst value
	 * error sits on a cliff (the busy hour's edge), where it is a tiny
	 * error of rank; the worst rank error is a small error of value.
	 */
	assert_true(worst_rank <= 0.025);
	assert_true(worst_cpu <= 3.5);
	assert_true(worst_mem <= 0.0001);
	/* And better than ranking the buckets' own p95s. */
	assert_true(worst_rank < worst_alt_rank);
	free(cpu);
	free(mem);
	fx_free(&f);
}

/* A tier converted to a coarser one keeps its counts, min, max and avg. */
static void
test_convert(void **state)
{
	struct fixture		f;
	struct rollup_tier	*ten = rollup_new(600, 100), *same;
	struct rollup_summary	s;
	int64_t			b0 = (int64_t)(EPOCH / 600);
	int64_t			m0 = (int64_t)(EPOCH / 60);
	int			i;

	fx_init(&f, 720, 60, 1440, 0, 0);
	for (i = 0; i <= 2 * 600 / 5; i++)
		fx_feed(&f, EPOCH + 5 * i, i % 7, 100, 0);
	assert_true(rollup_convertible(f.tiers[0], ten));
	assert_false(rollup_convertible(ten, f.tiers[0]));
	rollup_convert(ten, f.tiers[0]);
	assert_int_equal(rollup_get(ten, b0, &s), 0);
	assert_near(s.samples, 120, 0);
	assert_near(s.cpu_min, 0, 0);
	assert_near(s.cpu_max, 6, 0);
	assert_int_equal(rollup_get(ten, b0 + 1, &s), 0);
	/* Same resolution, smaller ring: the newest buckets. */
	same = rollup_new(60, 5);
	rollup_convert(same, f.tiers[0]);
	assert_int_equal(rollup_get(same, m0 + 19, &s), 0);
	assert_int_equal(rollup_get(same, m0 + 15, &s), 0);
	assert_int_equal(rollup_get(same, m0 + 14, &s), -1);
	rollup_free(same);
	rollup_free(ten);
	fx_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_minute_bucket),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_hour_from_minutes),
		cmocka_unit_test(test_window_selection),
		cmocka_unit_test(test_estimator_error),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_tier_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

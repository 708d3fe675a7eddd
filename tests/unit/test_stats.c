/* test_stats.c: p95, avg/min/max, window aggregates and uptime strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

#define EPOCH	1700000000.0

#define assert_double_eq(a, b) do {					\
	double a_ = (a), b_ = (b);					\
	if (!(a_ == b_))						\
		fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);	\
} while (0)

/* Push one sample: cpu in percent (< 0: none), rss in KiB. */
static void
test_push(struct sample_ring *ring, double t, uint32_t pid, double cpu,
    uint64_t rss_kib, uint64_t events)
{
	struct metrics_sample	s = { .pid = pid };

	sample_set_cpu(&s, cpu);
	sample_set_rss_kib(&s, rss_kib);
	sample_set_events(&s, events);
	ring_push(ring, t, &s);
}

static void
test_p95_index(void **state)
{
	assert_int_equal(stats_p95_index(0), 0);
	assert_int_equal(stats_p95_index(1), 0);
	assert_int_equal(stats_p95_index(5), 4);
	assert_int_equal(stats_p95_index(19), 18);	/* 18.05 -> 18 = max */
	assert_int_equal(stats_p95_index(20), 19);	/* 19 = max */
	assert_int_equal(stats_p95_index(21), 19);	/* 19.95 -> 19 */
	assert_int_equal(stats_p95_index(40), 38);
	assert_int_equal(stats_p95_index(100), 95);
	assert_int_equal(stats_p95_index(720), 684);
	assert_int_equal(stats_p95_index(SIZE_MAX), SIZE_MAX / 100 * 95 +
	    SIZE_MAX % 100 * 95 / 100);
}

/* Values 1..n in a scrambled order (11 is prime to every n used). */
static void
test_scrambled(double *d, uint32_t *u, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		d[i] = (double)((i * 11) % n + 1);
		u[i] = (uint32_t)((i * 11) % n + 1);
	}
}

static void
test_p95_edges(void **state)
{
	double		d[32];
	uint32_t	u[32];

	assert_double_eq(stats_p95(d, 0), 0.0);
	assert_int_equal(stats_p95_u32(u, 0), 0);

	d[0] = 7.5;
	u[0] = 7;
	assert_double_eq(stats_p95(d, 1), 7.5);
	assert_int_equal(stats_p95_u32(u, 1), 7);

	/* n = 19: index 18, the maximum. */
	test_scrambled(d, u, 19);
	assert_double_eq(stats_p95(d, 19), 19.0);
	assert_int_equal(stats_p95_u32(u, 19), 19);
	/* n = 20: index 19, the maximum. */
	test_scrambled(d, u, 20);
	assert_double_eq(stats_p95(d, 20), 20.0);
	assert_int_equal(stats_p95_u32(u, 20), 20);
	/* n = 21: index 19, the second largest. */
	test_scrambled(d, u, 21);
	assert_double_eq(stats_p95(d, 21), 20.0);
	assert_int_equal(stats_p95_u32(u, 21), 20);

	/* Spec: p95 of 10,20,30,40,50 is 50. */
	memcpy(d, (double[]){ 50, 10, 40, 20, 30 }, 5 * sizeof *d);
	assert_double_eq(stats_p95(d, 5), 50.0);
}

static int
test_cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Selection agrees with sorting on many sizes and value spreads. */
static void
test_p95_matches_sort(void **state)
{
	uint32_t	*u, *sorted;
	double		*d;
	size_t		 n, i;
	unsigned int	 seed = 12345, spread;

	u = malloc(2000 * sizeof *u);
	sorted = malloc(2000 * sizeof *sorted);
	d = malloc(2000 * sizeof *d);
	for (n = 1; n <= 2000; n += (n < 50 ? 1 : 37)) {
		for (spread = 1; spread <= 100000; spread *= 10) {
			for (i = 0; i < n; i++) {
				/* Small spreads give long runs of equals. */
				u[i] = (uint32_t)(rand_r(&seed) % spread);
				d[i] = u[i];
				sorted[i] = u[i];
			}
			qsort(sorted, n, sizeof *sorted, test_cmp_u32);
			assert_int_equal(stats_p95_u32(u, n),
			    sorted[stats_p95_index(n)]);
			assert_double_eq(stats_p95(d, n),
			    (double)sorted[stats_p95_index(n)]);
		}
		/* Ascending and descending input. */
		for (i = 0; i < n; i++)
			u[i] = (uint32_t)i;
		assert_int_equal(stats_p95_u32(u, n), stats_p95_index(n));
		for (i = 0; i < n; i++)
			u[i] = (uint32_t)(n - 1 - i);
		assert_int_equal(stats_p95_u32(u, n), stats_p95_index(n));
	}
	free(u);
	free(sorted);
	free(d);
}

static void
test_stats_compute_spec(void **state)
{
	double			v[] = { 10, 20, 30, 40, 50 };
	struct metrics_stats	st;

	stats_compute(v, 5, &st);
	assert_double_eq(st.avg, 30.0);
	assert_double_eq(st.min, 10.0);
	assert_double_eq(st.max, 50.0);
	assert_double_eq(st.p95, 50.0);

	stats_compute(v, 0, &st);
	assert_double_eq(st.avg, 0.0);
	assert_double_eq(st.p95, 0.0);
}

/* The spec's aggregation test: CPU 10..50, memory 50 MB. */
static void
test_aggregate_spec_vector(void **state)
{
	struct sample_ring		*ring = ring_new(720, EPOCH);
	struct metrics_aggregates	 agg;
	struct metrics_window		 w = metrics_window_all();
	uint32_t			*scratch;
	int				 i;

	scratch = malloc(metrics_scratch_len(ring) * sizeof *scratch);
	for (i = 1; i <= 5; i++)
		test_push(ring, EPOCH + 5 * i, 12345, 10.0 * i, 50 * 1024, 0);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, scratch), 0);
	assert_int_equal(agg.sample_count, 5);
	assert_int_equal(agg.cpu_samples, 5);
	assert_int_equal(agg.memory_samples, 5);
	assert_double_eq(agg.cpu.avg, 30.0);
	assert_double_eq(agg.cpu.min, 10.0);
	assert_double_eq(agg.cpu.max, 50.0);
	assert_double_eq(agg.cpu.p95, 50.0);
	assert_double_eq(agg.memory_mb.avg, 50.0);
	assert_double_eq(agg.memory_mb.min, 50.0);
	assert_double_eq(agg.memory_mb.max, 50.0);
	assert_double_eq(agg.memory_mb.p95, 50.0);
	assert_double_eq(agg.time_span_seconds, 20.0);
	assert_double_eq(agg.first_time, EPOCH + 5);
	assert_double_eq(agg.last_time, EPOCH + 25);
	assert_int_equal(agg.events, 0);
	assert_double_eq(agg.events_per_minute, 0.0);
	assert_int_equal(agg.latest.pid, 12345);
	assert_double_eq(sample_cpu_percent(&agg.latest), 50.0);
	free(scratch);
	ring_free(ring);
}

static void
test_aggregate_one_sample(void **state)
{
	struct sample_ring		*ring = ring_new(10, EPOCH);
	struct metrics_aggregates	 agg;
	struct metrics_window		 w = metrics_window_all();

	test_push(ring, EPOCH + 1, 7, 12.5, 3 * 1024 + 512, 40);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.sample_count, 1);
	assert_int_equal(agg.cpu_samples, 1);
	assert_double_eq(agg.cpu.avg, 12.5);
	assert_double_eq(agg.cpu.min, 12.5);
	assert_double_eq(agg.cpu.max, 12.5);
	assert_double_eq(agg.cpu.p95, 12.5);
	assert_double_eq(agg.memory_mb.avg, 3.5);
	assert_double_eq(agg.memory_mb.p95, 3.5);
	assert_double_eq(agg.time_span_seconds, 0.0);
	assert_int_equal(agg.events, 0);
	assert_double_eq(agg.events_per_minute, 0.0);
	ring_free(ring);
}

static void
test_aggregate_all_equal(void **state)
{
	struct sample_ring		*ring = ring_new(100, EPOCH);
	struct metrics_aggregates	 agg;
	struct metrics_window		 w = metrics_window_all();
	int				 i;

	for (i = 0; i < 100; i++)
		test_push(ring, EPOCH + i, 9, 2.25, 20480, 0);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.sample_count, 100);
	assert_double_eq(agg.cpu.avg, 2.25);
	assert_double_eq(agg.cpu.min, 2.25);
	assert_double_eq(agg.cpu.max, 2.25);
	assert_double_eq(agg.cpu.p95, 2.25);
	assert_double_eq(agg.memory_mb.avg, 20.0);
	assert_double_eq(agg.memory_mb.min, 20.0);
	assert_double_eq(agg.memory_mb.max, 20.0);
	assert_double_eq(agg.memory_mb.p95, 20.0);
	assert_double_eq(agg.time_span_seconds, 99.0);
	ring_free(ring);
}

/*
 * Capacity 40, samples i = 1..50 at EPOCH + 5i: the ring keeps i = 11..50.
 * CPU of sample i is (17i mod 50) + 1, a permutation of 1..50; i = 1..10
 * gave 18 35 2 19 36 3 20 37 4 21, so the kept values are 1..50 without
 * {2,3,4,18,19,20,21,35,36,37}: 40 values, sum 1275 - 195 = 1080, avg 27,
 * min 1, max 50; p95 index floor(40 * 0.95) = 38, the second largest: 49.
 * Memory of sample i is i/2 MB (512i KiB): kept 5.5 .. 25, avg 15.25,
 * p95 = sorted[38] = 24.5. Events 6i: 300 - 66 = 234 over 195 s = 72/min.
 */
static void
test_aggregate_full_ring_wrapped(void **state)
{
	struct sample_ring		*ring = ring_new(40, EPOCH);
	struct metrics_aggregates	 agg;
	struct metrics_window		 w = metrics_window_all();
	uint32_t			 scratch[80];
	int				 i;

	for (i = 1; i <= 50; i++)
		test_push(ring, EPOCH + 5 * i, 100, (17 * i) % 50 + 1,
		    512 * i, 6 * i);
	assert_int_equal(ring_count(ring), 40);
	assert_int_equal(metrics_scratch_len(ring), 80);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, scratch), 0);
	assert_int_equal(agg.sample_count, 40);
	assert_int_equal(agg.cpu_samples, 40);
	assert_double_eq(agg.cpu.avg, 27.0);
	assert_double_eq(agg.cpu.min, 1.0);
	assert_double_eq(agg.cpu.max, 50.0);
	assert_double_eq(agg.cpu.p95, 49.0);
	assert_double_eq(agg.memory_mb.avg, 15.25);
	assert_double_eq(agg.memory_mb.min, 5.5);
	assert_double_eq(agg.memory_mb.max, 25.0);
	assert_double_eq(agg.memory_mb.p95, 24.5);
	assert_double_eq(agg.time_span_seconds, 195.0);
	assert_double_eq(agg.first_time, EPOCH + 55);
	assert_double_eq(agg.last_time, EPOCH + 250);
	assert_int_equal(agg.events, 234);
	assert_double_eq(agg.events_per_minute, 72.0);

	/*
	 * The newest 16 (i = 35..50) start at slot 34 and wrap to slot 0.
	 * CPU 46 13 30 47 14 31 48 15 32 49 16 33 50 17 34 1: sum 476,
	 * avg 29.75; p95 index 15 = 50. Memory 17.5 .. 25, avg 21.25.
	 * Events 300 - 210 = 90 over 75 s: 72/min.
	 */
	w = metrics_window_last(16);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, scratch), 0);
	assert_int_equal(agg.sample_count, 16);
	assert_double_eq(agg.cpu.avg, 29.75);
	assert_double_eq(agg.cpu.min, 1.0);
	assert_double_eq(agg.cpu.max, 50.0);
	assert_double_eq(agg.cpu.p95, 50.0);
	assert_double_eq(agg.memory_mb.avg, 21.25);
	assert_double_eq(agg.memory_mb.min, 17.5);
	assert_double_eq(agg.memory_mb.max, 25.0);
	assert_double_eq(agg.time_span_seconds, 75.0);
	assert_int_equal(agg.events, 90);
	assert_double_eq(agg.events_per_minute, 72.0);
	assert_int_equal(agg.latest.events, 300);

	/* The same samples chosen by time. */
	w = metrics_window_since(EPOCH + 175);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.sample_count, 16);
	assert_double_eq(agg.cpu.avg, 29.75);
	assert_double_eq(agg.first_time, EPOCH + 175);

	/* An empty window. */
	w = metrics_window_since(EPOCH + 251);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, scratch), -1);
	assert_int_equal(agg.sample_count, 0);
	w = metrics_window_last(0);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, scratch), -1);
	ring_free(ring);
}

/*
 * The first sample after a (re)start has no CPU delta: it is left out of
 * CPU stats (not averaged in as 0) but its memory counts. A sample without a
 * process (pid 0, plugin down) counts in neither.
 */
static void
test_aggregate_missing_cpu(void **state)
{
	struct sample_ring		*ring = ring_new(16, EPOCH);
	struct metrics_aggregates	 agg;
	struct metrics_window		 w = metrics_window_all();

	test_push(ring, EPOCH + 0, 10, -1, 1024, 0);	/* start */
	test_push(ring, EPOCH + 5, 10, 40, 2048, 0);
	test_push(ring, EPOCH + 10, 10, 60, 3072, 0);
	test_push(ring, EPOCH + 15, 0, -1, 0, 0);	/* down */
	test_push(ring, EPOCH + 20, 11, -1, 5120, 0);	/* restarted */
	test_push(ring, EPOCH + 25, 11, 20, 1024, 0);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.sample_count, 6);
	assert_int_equal(agg.cpu_samples, 3);
	assert_int_equal(agg.memory_samples, 5);
	assert_double_eq(agg.cpu.avg, 40.0);
	assert_double_eq(agg.cpu.min, 20.0);
	assert_double_eq(agg.cpu.max, 60.0);
	assert_double_eq(agg.cpu.p95, 60.0);
	/* 1 + 2 + 3 + 5 + 1 = 12 MB over 5 samples. */
	assert_double_eq(agg.memory_mb.avg, 2.4);
	assert_double_eq(agg.memory_mb.min, 1.0);
	assert_double_eq(agg.memory_mb.max, 5.0);
	assert_double_eq(agg.memory_mb.p95, 5.0);
	assert_double_eq(agg.time_span_seconds, 25.0);

	/* Only samples without a delta: no CPU stats at all. */
	w = metrics_window_last(2);
	ring_clear(ring);
	test_push(ring, EPOCH + 30, 12, -1, 1024, 0);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.sample_count, 1);
	assert_int_equal(agg.cpu_samples, 0);
	assert_double_eq(agg.cpu.avg, 0.0);
	assert_double_eq(agg.cpu.p95, 0.0);
	assert_int_equal(agg.memory_samples, 1);
	assert_false(sample_has_cpu(&agg.latest));
	ring_free(ring);
}

static void
test_events_per_minute(void **state)
{
	struct sample_ring		*ring = ring_new(8, EPOCH);
	struct metrics_aggregates	 agg;
	struct metrics_window		 w = metrics_window_all();

	/* 20 events in 10 s: 120 per minute. */
	test_push(ring, EPOCH + 0, 1, 0, 1024, 100);
	test_push(ring, EPOCH + 5, 1, 0, 1024, 110);
	test_push(ring, EPOCH + 10, 1, 0, 1024, 120);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.events, 20);
	assert_double_eq(agg.events_per_minute, 120.0);

	/* 3 events in 0.5 s: 360 per minute. */
	ring_clear(ring);
	test_push(ring, EPOCH + 0, 1, 0, 1024, 0);
	test_push(ring, EPOCH + 0.5, 1, 0, 1024, 3);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_double_eq(agg.events_per_minute, 360.0);

	/* The 32-bit counter wrapped: still 10 events. */
	ring_clear(ring);
	test_push(ring, EPOCH + 0, 1, 0, 1024, UINT32_MAX - 4ULL);
	test_push(ring, EPOCH + 60, 1, 0, 1024, (1ULL << 32) + 5);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.events, 10);
	assert_double_eq(agg.events_per_minute, 10.0);

	/* Zero span: rate 0, not a division by zero. */
	ring_clear(ring);
	test_push(ring, EPOCH + 1, 1, 0, 1024, 0);
	test_push(ring, EPOCH + 1, 1, 0, 1024, 50);
	assert_int_equal(metrics_aggregate(ring, &w, &agg, NULL), 0);
	assert_int_equal(agg.events, 50);
	assert_double_eq(agg.events_per_minute, 0.0);
	ring_free(ring);
}

/* Caller scratch and per-call allocation give the same answer. */
static void
test_aggregate_scratch_reuse(void **state)
{
	struct sample_ring		*ring = ring_new(720, EPOCH);
	struct metrics_aggregates	 a, b;
	struct metrics_window		 w = metrics_window_all();
	uint32_t			*scratch;
	unsigned int			 seed = 7;
	int				 i;

	scratch = malloc(metrics_scratch_len(ring) * sizeof *scratch);
	for (i = 0; i < 1000; i++)
		test_push(ring, EPOCH + 5 * i, 1,
		    (i % 97 == 0) ? -1 : (rand_r(&seed) % 10000) / 100.0,
		    10000 + rand_r(&seed) % 50000, i);
	assert_int_equal(metrics_aggregate(ring, &w, &a, scratch), 0);
	assert_int_equal(metrics_aggregate(ring, &w, &b, NULL), 0);
	assert_memory_equal(&a, &b, sizeof a);
	assert_int_equal(a.sample_count, 720);
	assert_true(a.cpu_samples < 720 && a.cpu_samples > 700);
	assert_int_equal(a.memory_samples, 720);
	assert_true(a.cpu.min <= a.cpu.avg && a.cpu.avg <= a.cpu.max);
	assert_true(a.cpu.p95 <= a.cpu.max && a.cpu.p95 >= a.cpu.avg);
	assert_double_eq(a.events_per_minute, 12.0);
	free(scratch);
	ring_free(ring);
}

static void
test_format_uptime(void **state)
{
	char	buf[32];

	assert_string_equal(metrics_format_uptime(45, buf, sizeof buf), "45s");
	assert_string_equal(metrics_format_uptime(12 * 60 + 30, buf,
	    sizeof buf), "12m");
	assert_string_equal(metrics_format_uptime(3 * 3600 + 5 * 60 + 9, buf,
	    sizeof buf), "3h 5m");
	assert_string_equal(metrics_format_uptime(2 * 86400 + 4 * 3600 + 59,
	    buf, sizeof buf), "2d 4h");

	assert_string_equal(metrics_format_uptime(0, buf, sizeof buf), "0s");
	assert_string_equal(metrics_format_uptime(-3, buf, sizeof buf), "0s");
	assert_string_equal(metrics_format_uptime(59, buf, sizeof buf), "59s");
	assert_string_equal(metrics_format_uptime(59.99, buf, sizeof buf),
	    "59s");
	assert_string_equal(metrics_format_uptime(60, buf, sizeof buf), "1m");
	assert_string_equal(metrics_format_uptime(3599, buf, sizeof buf),
	    "59m");
	assert_string_equal(metrics_format_uptime(3600, buf, sizeof buf),
	    "1h 0m");
	assert_string_equal(metrics_format_uptime(86399, buf, sizeof buf),
	    "23h 59m");
	assert_string_equal(metrics_format_uptime(86400, buf, sizeof buf),
	    "1d 0h");
	assert_string_equal(metrics_format_uptime(400 * 86400.0, buf,
	    sizeof buf), "400d 0h");

	/* Truncated, never overflowing. */
	assert_string_equal(metrics_format_uptime(86399, buf, 4), "23h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p95_index),
		cmocka_unit_test(test_p95_edges),
		cmocka_unit_test(test_p95_matches_sort),
		cmocka_unit_test(test_stats_compute_spec),
		cmocka_unit_test(test_aggregate_spec_vector),
		cmocka_unit_test(test_aggregate_one_sample),
		cmocka_unit_test(test_aggregate_all_equal),
		cmocka_unit_test(test_aggregate_full_ring_wrapped),
		cmocka_unit_test(test_aggregate_missing_cpu),
		cmocka_unit_test(test_events_per_minute),
		cmocka_unit_test(test_aggregate_scratch_reuse),
		cmocka_unit_test(test_format_uptime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

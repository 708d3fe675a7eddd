/* test_ring.c: the sample ring, fixed-point sample fields and windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "metrics/metrics.h"

#define EPOCH	1700000000.0

#define assert_double_eq(a, b) do {					\
	double a_ = (a), b_ = (b);					\
	if (!(a_ == b_))						\
		fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);	\
} while (0)

/* A sample whose pid and cpu (percent) identify it. */
static struct metrics_sample
test_sample(uint32_t pid, double cpu)
{
	struct metrics_sample	s = { .pid = pid };

	sample_set_cpu(&s, cpu);
	sample_set_rss_kib(&s, 1024);
	return s;
}

/* Push pid = 1..n at EPOCH + 5 * pid. */
static void
test_fill(struct sample_ring *ring, uint32_t n)
{
	struct metrics_sample	s;
	uint32_t		i;

	for (i = 1; i <= n; i++) {
		s = test_sample(i, i);
		ring_push(ring, EPOCH + 5.0 * i, &s);
	}
}

static void
test_sample_size(void **state)
{
	assert_int_equal(sizeof(struct metrics_sample), 24);
	/* 720 samples (1 h at 5 s) in at most 20 KB, header included. */
	assert_true(ring_memory_bytes_for(720) <= 20 * 1024);
	assert_int_equal(ring_memory_bytes_for(720),
	    ring_memory_bytes_for(0) + 720 * 24);
}

/*
 * The samples are allocated as they come: none for an empty ring, 32 for
 * the first, then doubling to the capacity; every sample keeps its place
 * and value through each growth and the wrap after it.
 */
static void
test_grows_as_filled(void **state)
{
	struct sample_ring		*ring = ring_new(720, EPOCH);
	struct metrics_aggregates	 a;
	struct metrics_window		 w = metrics_window_all();
	size_t				 i;

	assert_int_equal(ring_memory_bytes(ring), ring_memory_bytes_for(0));
	test_fill(ring, 1);
	assert_int_equal(ring_memory_bytes(ring), ring_memory_bytes_for(32));
	ring_clear(ring);
	test_fill(ring, 33);
	assert_int_equal(ring_memory_bytes(ring), ring_memory_bytes_for(64));
	ring_clear(ring);
	test_fill(ring, 700);
	assert_int_equal(ring_memory_bytes(ring), ring_memory_bytes_for(720));
	for (i = 0; i < 700; i++) {
		assert_int_equal(ring_get(ring, i)->pid, i + 1);
		assert_double_eq(ring_sample_time(ring, ring_get(ring, i)),
		    EPOCH + 5.0 * (i + 1));
	}
	/* 1..700 at cpu = pid: avg 350.5, p95 index floor(700 * 0.95). */
	assert_int_equal(metrics_aggregate(ring, &w, &a, NULL), 0);
	assert_int_equal(a.sample_count, 700);
	assert_double_eq(a.cpu.avg, 350.5);
	assert_double_eq(a.cpu.min, 1);
	assert_double_eq(a.cpu.max, 700);
	assert_double_eq(a.cpu.p95, 666);
	ring_free(ring);

	/* A capacity between two steps: 32, then the capacity, then wraps. */
	ring = ring_new(40, EPOCH);
	test_fill(ring, 50);
	assert_int_equal(ring_memory_bytes(ring), ring_memory_bytes_for(40));
	assert_int_equal(ring_count(ring), 40);
	for (i = 0; i < 40; i++)
		assert_int_equal(ring_get(ring, i)->pid, 11 + i);
	assert_int_equal(ring_latest(ring)->pid, 50);
	ring_free(ring);
}

static void
test_sample_fields(void **state)
{
	struct metrics_sample	s = { 0 };

	sample_set_cpu(&s, 12.34);
	assert_int_equal(s.cpu_centi, 1234);
	assert_true(sample_has_cpu(&s));
	assert_double_eq(sample_cpu_percent(&s), 12.34);
	sample_set_cpu(&s, 0);
	assert_true(sample_has_cpu(&s));
	assert_double_eq(sample_cpu_percent(&s), 0.0);
	sample_set_cpu(&s, -1);
	assert_false(sample_has_cpu(&s));
	assert_double_eq(sample_cpu_percent(&s), -1.0);
	sample_set_cpu(&s, 0.0 / 0.0);
	assert_false(sample_has_cpu(&s));
	sample_set_cpu(&s, 1e12);
	assert_true(sample_has_cpu(&s));
	assert_int_equal(s.cpu_centi, METRICS_CPU_NONE - 1);

	sample_set_rss_kib(&s, 51200);
	assert_int_equal(sample_rss_bytes(&s), 51200ULL * 1024);
	assert_double_eq(sample_memory_mb(&s), 50.0);
	sample_set_rss_kib(&s, 1ULL << 40);
	assert_int_equal(s.rss_kib, UINT32_MAX);

	sample_set_events(&s, (1ULL << 32) + 7);
	assert_int_equal(s.events, 7);
	sample_set_restarts(&s, 70000);
	assert_int_equal(s.restarts, UINT16_MAX);
	sample_set_restarts(&s, 3);
	assert_int_equal(s.restarts, 3);
	sample_set_threads(&s, 1000);
	assert_int_equal(s.threads, 255);
	sample_set_threads(&s, -2);
	assert_int_equal(s.threads, 0);
	sample_set_threads(&s, 4);
	assert_int_equal(s.threads, 4);
}

static void
test_capacity_helper(void **state)
{
	assert_int_equal(metrics_ring_capacity(3600, 5), 720);
	assert_int_equal(metrics_ring_capacity(7 * 86400, 5), 120960);
	assert_int_equal(metrics_ring_capacity(10, 1), 10);
	assert_int_equal(metrics_ring_capacity(0.3, 0.1), 3);
	assert_int_equal(metrics_ring_capacity(3601, 5), 720);
	assert_int_equal(metrics_ring_capacity(1, 5), 1);
	assert_int_equal(metrics_ring_capacity(3600, 0), 1);
	assert_int_equal(metrics_ring_capacity(-1, 5), 1);
	assert_int_equal(metrics_ring_capacity(1e12, 1), METRICS_RING_MAX);
}

static void
test_empty(void **state)
{
	struct sample_ring	*ring = ring_new(4, EPOCH);
	struct metrics_window	 w = metrics_window_all();
	size_t			 first;

	assert_int_equal(ring_count(ring), 0);
	assert_int_equal(ring_capacity(ring), 4);
	assert_null(ring_get(ring, 0));
	assert_null(ring_latest(ring));
	assert_int_equal(ring_window(ring, &w, &first), 0);
	w = metrics_window_since(0);
	assert_int_equal(ring_window(ring, &w, &first), 0);
	ring_free(ring);
}

static void
test_push_and_wrap(void **state)
{
	struct sample_ring	*ring = ring_new(4, EPOCH);
	uint32_t		 i;

	test_fill(ring, 3);
	assert_int_equal(ring_count(ring), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(ring_get(ring, i)->pid, i + 1);
	assert_null(ring_get(ring, 3));
	assert_int_equal(ring_latest(ring)->pid, 3);

	/* Push 4..10: the ring keeps 7..10, oldest first. */
	ring_clear(ring);
	test_fill(ring, 10);
	assert_int_equal(ring_count(ring), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(ring_get(ring, i)->pid, 7 + i);
		assert_double_eq(ring_sample_time(ring, ring_get(ring, i)),
		    EPOCH + 5.0 * (7 + i));
	}
	assert_null(ring_get(ring, 4));
	assert_int_equal(ring_latest(ring)->pid, 10);
	assert_double_eq(sample_cpu_percent(ring_latest(ring)), 10.0);
	assert_int_equal(ring_memory_bytes(ring), ring_memory_bytes_for(4));
	ring_free(ring);
}

static void
test_capacity_one(void **state)
{
	struct sample_ring	*ring = ring_new(1, EPOCH);
	struct metrics_window	 w;
	size_t			 first;

	test_fill(ring, 1);
	assert_int_equal(ring_count(ring), 1);
	assert_int_equal(ring_latest(ring)->pid, 1);
	test_fill(ring, 5);
	assert_int_equal(ring_count(ring), 1);
	assert_int_equal(ring_get(ring, 0)->pid, 5);
	assert_ptr_equal(ring_get(ring, 0), ring_latest(ring));
	assert_null(ring_get(ring, 1));

	w = metrics_window_last(3);
	assert_int_equal(ring_window(ring, &w, &first), 1);
	assert_int_equal(first, 0);
	w = metrics_window_since(EPOCH + 25);
	assert_int_equal(ring_window(ring, &w, &first), 1);
	w = metrics_window_since(EPOCH + 25.1);
	assert_int_equal(ring_window(ring, &w, &first), 0);
	ring_free(ring);
}

static void
test_time_encoding(void **state)
{
	struct sample_ring	*ring = ring_new(8, EPOCH);
	struct metrics_sample	 s = test_sample(1, 0);

	/* 0.1 s resolution, rounded. */
	ring_push(ring, EPOCH + 1.04, &s);
	assert_int_equal(ring_latest(ring)->time_ds, 10);
	ring_push(ring, EPOCH + 1.26, &s);
	assert_int_equal(ring_latest(ring)->time_ds, 13);
	/* A clock stepped backwards is clamped: time never decreases. */
	ring_push(ring, EPOCH - 100, &s);
	assert_int_equal(ring_latest(ring)->time_ds, 13);
	/* Seven days later still fits (and 13 years would). */
	ring_push(ring, EPOCH + 7 * 86400.0, &s);
	assert_int_equal(ring_latest(ring)->time_ds, 6048000);
	assert_double_eq(ring_sample_time(ring, ring_latest(ring)),
	    EPOCH + 7 * 86400.0);
	assert_double_eq(ring_epoch(ring), EPOCH);
	ring_free(ring);

	/* Before the epoch clamps to it. */
	ring = ring_new(2, EPOCH);
	ring_push(ring, EPOCH - 5, &s);
	assert_int_equal(ring_latest(ring)->time_ds, 0);
	ring_free(ring);
}

static void
test_window_last(void **state)
{
	struct sample_ring	*ring = ring_new(5, EPOCH);
	struct metrics_window	 w;
	size_t			 first;

	test_fill(ring, 3);
	w = metrics_window_last(2);
	assert_int_equal(ring_window(ring, &w, &first), 2);
	assert_int_equal(first, 1);
	/* Last N > count: everything. */
	w = metrics_window_last(100);
	assert_int_equal(ring_window(ring, &w, &first), 3);
	assert_int_equal(first, 0);
	w = metrics_window_last(3);
	assert_int_equal(ring_window(ring, &w, &first), 3);
	assert_int_equal(first, 0);
	w = metrics_window_last(0);
	assert_int_equal(ring_window(ring, &w, &first), 0);
	ring_free(ring);
}

static void
test_window_spans_wrap(void **state)
{
	struct sample_ring	*ring = ring_new(5, EPOCH);
	struct metrics_window	 w;
	size_t			 first, n, i;

	/*
	 * Push 1..8 into 5 slots: slots hold [6 7 8 4 5], head at slot 3.
	 * The newest 4 (5..8) start at slot 4 and wrap to slot 0.
	 */
	test_fill(ring, 8);
	w = metrics_window_last(4);
	n = ring_window(ring, &w, &first);
	assert_int_equal(n, 4);
	assert_int_equal(first, 1);
	for (i = 0; i < n; i++)
		assert_int_equal(ring_get(ring, first + i)->pid, 5 + i);

	/* Since the time of sample 5 (EPOCH + 25): 5..8. */
	w = metrics_window_since(EPOCH + 25);
	n = ring_window(ring, &w, &first);
	assert_int_equal(n, 4);
	assert_int_equal(ring_get(ring, first)->pid, 5);
	/* Just after it: 6..8, the part after the wrap point. */
	w = metrics_window_since(EPOCH + 25.05);
	n = ring_window(ring, &w, &first);
	assert_int_equal(n, 3);
	assert_int_equal(ring_get(ring, first)->pid, 6);

	w = metrics_window_all();
	n = ring_window(ring, &w, &first);
	assert_int_equal(n, 5);
	assert_int_equal(first, 0);
	assert_int_equal(ring_get(ring, 0)->pid, 4);
	ring_free(ring);
}

static void
test_window_since_bounds(void **state)
{
	struct sample_ring	*ring = ring_new(6, EPOCH);
	struct metrics_window	 w;
	size_t			 first;

	test_fill(ring, 9);	/* holds 4..9 at EPOCH + 20 .. 45 */
	/* Before all: everything. */
	w = metrics_window_since(EPOCH);
	assert_int_equal(ring_window(ring, &w, &first), 6);
	assert_int_equal(first, 0);
	w = metrics_window_since(0);
	assert_int_equal(ring_window(ring, &w, &first), 6);
	/* Exactly the oldest. */
	w = metrics_window_since(EPOCH + 20);
	assert_int_equal(ring_window(ring, &w, &first), 6);
	/* Exactly the newest. */
	w = metrics_window_since(EPOCH + 45);
	assert_int_equal(ring_window(ring, &w, &first), 1);
	assert_int_equal(first, 5);
	/* After all: nothing. */
	w = metrics_window_since(EPOCH + 45.5);
	assert_int_equal(ring_window(ring, &w, &first), 0);
	assert_int_equal(first, 6);
	w = metrics_window_since(EPOCH + 1e9);
	assert_int_equal(ring_window(ring, &w, &first), 0);
	ring_free(ring);
}

static void
test_window_since_equal_times(void **state)
{
	struct sample_ring	*ring = ring_new(4, EPOCH);
	struct metrics_sample	 s = test_sample(1, 1);
	struct metrics_window	 w;
	size_t			 first;

	/* Several samples at one time (or a clamped clock step). */
	ring_push(ring, EPOCH + 10, &s);
	ring_push(ring, EPOCH + 20, &s);
	ring_push(ring, EPOCH + 20, &s);
	ring_push(ring, EPOCH + 5, &s);		/* clamped to 20 */
	w = metrics_window_since(EPOCH + 20);
	assert_int_equal(ring_window(ring, &w, &first), 3);
	assert_int_equal(first, 1);
	ring_free(ring);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_size),
		cmocka_unit_test(test_sample_fields),
		cmocka_unit_test(test_capacity_helper),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_push_and_wrap),
		cmocka_unit_test(test_capacity_one),
		cmocka_unit_test(test_time_encoding),
		cmocka_unit_test(test_window_last),
		cmocka_unit_test(test_window_spans_wrap),
		cmocka_unit_test(test_window_since_bounds),
		cmocka_unit_test(test_window_since_equal_times),
		cmocka_unit_test(test_grows_as_filled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

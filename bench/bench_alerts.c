/*
 * bench_alerts.c: the cost of alert rules on the sampling tick.
 *
 *   100 rules on 1000 plugins, one tick      <= 1 ms (target)
 *   no rules                                 nothing: one test per tick
 *
 * Each of 1000 plugins has a full ring (720 samples: an hour at 5 s) of
 * idle-bot values. 100 rules cycle through every metric over four windows
 * (1m, 5m, 15m, 1h, so the hour's trackers see the ring's oldest sample
 * evicted on every tick) and apply to every plugin: 100 000 rule checks a
 * tick. Their thresholds are out of reach, as a healthy bot's are: the
 * figure is what evaluation costs, not what saying things costs. Each tick
 * pushes one sample to every ring (not timed), then evaluates every plugin
 * (timed), as the daemon's cron does. For comparison, the same four
 * windows aggregated from scratch with metrics_aggregate, as a rule would
 * without its trackers. Prints one line per measurement:
 * NAME key=value ... value=X.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "bench/bench.h"
#include "supervisor/alert.h"

#define BENCH_PLUGINS	1000
#define BENCH_RULES	100
#define BENCH_RING	720
#define BENCH_TICKS	300
#define BENCH_POLL	5.0
#define BENCH_EPOCH	1700000000.0

static const double	bench_windows[] = { 60, 300, 900, 3600 };

/*
 * The thread's CPU time: on a machine shared with other work, wall time
 * would count their turns on the CPU too.
 */
static double
bench_now(void)
{
	return bench_clock(CLOCK_THREAD_CPUTIME_ID);
}

/*
 * One sample of a bot plugin as they look (docs/control.md's metrics
 * example): mostly 0% CPU, now and then a little (0.01-3%), its RSS steady
 * and stepping by a few KiB now and then, events trickling in.
 */
static void
bench_push(struct sample_ring *ring, double t, uint64_t *rss,
    uint64_t *events)
{
	struct metrics_sample	s = { .pid = 4242 };

	*events += (uint64_t)(random() % 3);
	if (random() % 10 == 0)
		*rss += (uint64_t)(random() % 65) - 32;
	sample_set_cpu(&s, random() % 10 < 7 ? 0 :
	    (1 + random() % 300) / 100.0);
	sample_set_rss_kib(&s, *rss);
	sample_set_events(&s, *events);
	ring_push(ring, t, &s);
}

static size_t
bench_heap(void)
{
	return mallinfo2().uordblks;
}

int
main(void)
{
	static struct sample_ring	*rings[BENCH_PLUGINS];
	static struct alert_watch	*watch[BENCH_PLUGINS];
	static uint64_t			 events[BENCH_PLUGINS];
	static uint64_t			 rss[BENCH_PLUGINS];
	static char			 names[BENCH_PLUGINS][16];
	static struct alert_rule_config	 rules[BENCH_RULES];
	static char			 rnames[BENCH_RULES][16];
	static const double		 never[ALERT_NMETRICS] = {
		[AM_CPU_AVG] = 1e4, [AM_CPU_MIN] = 1e4, [AM_CPU_MAX] = 1e4,
		[AM_CPU_P95] = 1e4, [AM_MEMORY_AVG] = 1e6,
		[AM_MEMORY_MIN] = 1e6, [AM_MEMORY_MAX] = 1e6,
		[AM_MEMORY_P95] = 1e6, [AM_EVENTS] = 1e12,
		[AM_EVENTS_PER_MIN] = 1e12,
	};
	struct alerts_config		 al;
	struct alert_rules		*rs;
	struct alert_book		*book;
	struct metrics_aggregates	 agg;
	struct metrics_window		 w;
	struct alert_time		 now;
	uint32_t			*scratch;
	double				 t = 0, t0, first, ticks[BENCH_TICKS];
	double				 scratch_us[BENCH_TICKS], med, max = 0;
	size_t				 i, k, heap0;
	int				 tick;

	log_init("bench_alerts", 0);
	srandom(1);
	for (i = 0; i < BENCH_PLUGINS; i++) {
		snprintf(names[i], sizeof names[i], "p%zu", i);
		rings[i] = ring_new(BENCH_RING, BENCH_EPOCH);
		rss[i] = 1024 + (uint64_t)(random() % 40960);
	}
	for (k = 0; k < BENCH_RING; k++, t += BENCH_POLL) {
		for (i = 0; i < BENCH_PLUGINS; i++)
			bench_push(rings[i], BENCH_EPOCH + t, &rss[i], &events[i]);
	}
	memset(&al, 0, sizeof al);
	for (i = 0; i < BENCH_RULES; i++) {
		snprintf(rnames[i], sizeof rnames[i], "r%zu", i);
		rules[i].name = rnames[i];
		rules[i].metric = (enum alert_metric)(i % ALERT_NMETRICS);
		rules[i].op = AO_GT;
		rules[i].value = never[rules[i].metric];
		rules[i].window = bench_windows[i / ALERT_NMETRICS %
		    nitems(bench_windows)];
		rules[i].hold = 60;
		rules[i].severity = ALERT_WARNING;
	}
	al.rules = rules;
	al.nrules = BENCH_RULES;
	rs = alert_rules_new(&al);
	book = alert_book_new(NULL, NULL);

	/* The first tick builds every tracker from its ring. */
	heap0 = bench_heap();
	now.mono = 1000;
	now.wall = BENCH_EPOCH + t;
	t0 = bench_now();
	for (i = 0; i < BENCH_PLUGINS; i++)
		alert_evaluate(rs, book, names[i], rings[i], &watch[i], &now);
	first = (bench_now() - t0) * 1e6;

	scratch = xreallocarray(NULL, metrics_scratch_len(rings[0]),
	    sizeof *scratch);
	for (tick = 0; tick < BENCH_TICKS; tick++, t += BENCH_POLL) {
		for (i = 0; i < BENCH_PLUGINS; i++)
			bench_push(rings[i], BENCH_EPOCH + t, &rss[i], &events[i]);
		now.mono += BENCH_POLL;
		now.wall = BENCH_EPOCH + t;
		t0 = bench_now();
		for (i = 0; i < BENCH_PLUGINS; i++) {
			/* As the daemon's tick does (alert.c). */
			if (i + 1 < BENCH_PLUGINS)
				alert_watch_prefetch(watch[i + 1]);
			alert_evaluate(rs, book, names[i], rings[i], &watch[i],
			    &now);
		}
		ticks[tick] = (bench_now() - t0) * 1e6;
		if (ticks[tick] > max)
			max = ticks[tick];
		/* The same windows from scratch, for comparison. */
		t0 = bench_now();
		for (i = 0; i < BENCH_PLUGINS; i++) {
			for (k = 0; k < nitems(bench_windows); k++) {
				w = metrics_window_since(BENCH_EPOCH + t -
				    bench_windows[k]);
				metrics_aggregate(rings[i], &w, &agg, scratch);
			}
		}
		scratch_us[tick] = (bench_now() - t0) * 1e6;
	}
	if (alert_book_firing(book) != 0)
		fatalx("%zu alerts fired; the thresholds are out of reach",
		    alert_book_firing(book));
	med = bench_median(ticks, BENCH_TICKS);
	printf("alert_tick_us rules=%d plugins=%d windows=%zu ticks=%d "
	    "value=%.1f target=1000\n", BENCH_RULES, BENCH_PLUGINS,
	    nitems(bench_windows), BENCH_TICKS, med);
	printf("alert_tick_max_us rules=%d plugins=%d value=%.1f\n",
	    BENCH_RULES, BENCH_PLUGINS, max);
	printf("alert_tick_ns_per_rule_check value=%.2f\n",
	    med * 1000 / (BENCH_RULES * BENCH_PLUGINS));
	printf("alert_first_tick_us rules=%d plugins=%d value=%.1f "
	    "(builds the window trackers)\n", BENCH_RULES, BENCH_PLUGINS, first);
	printf("alert_state_bytes plugins=%d value=%zu "
	    "(window sums, min/max deques, rule states)\n",
	    BENCH_PLUGINS, bench_heap() - heap0);
	printf("aggregate_from_scratch_us plugins=%d windows=%zu value=%.1f\n",
	    BENCH_PLUGINS, nitems(bench_windows),
	    bench_median(scratch_us, BENCH_TICKS));

	/* No rules: nothing compiled, and a tick does nothing. */
	alert_rules_free(rs);
	rs = alert_rules_new(&(struct alerts_config){ .nrules = 0 });
	t0 = bench_now();
	for (i = 0; i < BENCH_PLUGINS; i++)
		alert_evaluate(rs, book, names[i], rings[i], &watch[i], &now);
	printf("alert_evaluate_us rules=0 plugins=%d value=%.1f (calls that "
	    "return at once; the daemon's tick makes none)\n", BENCH_PLUGINS,
	    (bench_now() - t0) * 1e6);

	for (i = 0; i < BENCH_PLUGINS; i++) {
		alert_watch_free(watch[i]);
		ring_free(rings[i]);
	}
	free(scratch);
	alert_book_free(book);
	return 0;
}

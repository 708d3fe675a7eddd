/*
 * test_alert.c: the pure part of alerts (supervisor/alert-book.c,
 * supervisor/alert-eval.c), linked alone with metrics/ and driven by an
 * injected clock: the window trackers against metrics_aggregate on random
 * series, `for` and resolution timing, windows, repeat, collapse,
 * escalation, silences and their expiry, the history's bound, a reload.
 */
#include <math.h>
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
#include "supervisor/alert.h"

#define EPOCH	1700000000.0

#define assert_double_eq(a, b) do {					\
	double a_ = (a), b_ = (b);					\
	if (!(a_ == b_) && !(isnan(a_) && isnan(b_)))			\
		fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);	\
} while (0)

/* The notes the book emitted, in order. */
static struct alert_note	notes[512];
static size_t			nnotes;

static void
record(void *arg, const struct alert_note *n)
{
	if (nnotes < nitems(notes))
		notes[nnotes++] = *n;
}

/* The test's clock: mono from 1000, wall from EPOCH. */
static struct alert_time
at(double t)
{
	struct alert_time	now = { 1000.0 + t, EPOCH + t };

	return now;
}

/* Push one sample: cpu in percent (< 0: none), rss in KiB, pid 0: none. */
static void
push(struct sample_ring *ring, double t, uint32_t pid, double cpu,
    uint64_t rss_kib, uint64_t events)
{
	struct metrics_sample	s = { .pid = pid };

	sample_set_cpu(&s, cpu);
	sample_set_rss_kib(&s, rss_kib);
	sample_set_events(&s, events);
	ring_push(ring, EPOCH + t, &s);
}

/* A rule config, as config/parse.c would fill it. */
static struct alert_rule_config
rule(const char *name, enum alert_metric m, enum alert_op op, double value,
    double window, double hold)
{
	struct alert_rule_config	r;

	memset(&r, 0, sizeof r);
	r.name = (char *)name;
	r.metric = m;
	r.op = op;
	r.value = value;
	r.window = window;
	r.hold = hold;
	r.severity = ALERT_WARNING;
	return r;
}

static struct alert_rules *
rules_of(struct alert_rule_config *r, size_t n)
{
	struct alerts_config	al;

	memset(&al, 0, sizeof al);
	al.rules = r;
	al.nrules = n;
	return alert_rules_new(&al);
}

/* What alert_watch_report says, per rule index. */
struct seen_all {
	const struct alert_rules	*rs;
	double				 value[64];
	int				 firing[64];
	double				 pending_since[64];
};

static void
seen_cb(void *arg, const char *plugin, const struct alert_seen *s)
{
	struct seen_all	*all = arg;
	size_t		 i;

	for (i = 0; i < alert_rules_count(all->rs); i++) {
		if (alert_rules_get(all->rs, i) == s->rule) {
			all->value[i] = s->value;
			all->firing[i] = s->firing;
			all->pending_since[i] = s->pending_since;
		}
	}
}

/* The value metrics_aggregate gives for a metric over a window. */
static double
reference(const struct sample_ring *ring, enum alert_metric m, double window)
{
	struct metrics_aggregates	agg;
	struct metrics_window		w;
	const struct metrics_sample	*newest = ring_latest(ring);

	w = metrics_window_since(ring_sample_time(ring, newest) - window);
	if (metrics_aggregate(ring, &w, &agg, NULL) != 0)
		return NAN;
	switch (m) {
	case AM_CPU_AVG:
		return agg.cpu_samples ? agg.cpu.avg : NAN;
	case AM_CPU_MIN:
		return agg.cpu_samples ? agg.cpu.min : NAN;
	case AM_CPU_MAX:
		return agg.cpu_samples ? agg.cpu.max : NAN;
	case AM_CPU_P95:
		return agg.cpu_samples ? agg.cpu.p95 : NAN;
	case AM_MEMORY_AVG:
		return agg.memory_samples ? agg.memory_mb.avg : NAN;
	case AM_MEMORY_MIN:
		return agg.memory_samples ? agg.memory_mb.min : NAN;
	case AM_MEMORY_MAX:
		return agg.memory_samples ? agg.memory_mb.max : NAN;
	case AM_MEMORY_P95:
		return agg.memory_samples ? agg.memory_mb.p95 : NAN;
	case AM_EVENTS:
		return agg.events;
	case AM_EVENTS_PER_MIN:
		return agg.events_per_minute;
	}
	return NAN;
}

/*
 * Every metric over four windows (one sample, a few, most of the ring,
 * all of it and more: evictions) on random series with gaps (no process,
 * no CPU delta), repeated and clamped times, a cleared ring, and ticks
 * where two samples came at once: the trackers give exactly what
 * metrics_aggregate gives, tick after tick, across the ring's wrap.
 */
static void
test_windows_match_aggregate(void **state)
{
	static const double		 windows[] = { 0.5, 12, 100, 400 };
	struct alert_rule_config	 r[40];
	char				 names[40][16];
	struct alert_rules		*rs;
	struct alert_book		*book = alert_book_new(NULL, NULL);
	struct alert_watch		*watch = NULL;
	struct sample_ring		*ring = ring_new(60, EPOCH);
	struct seen_all			 all;
	struct alert_time		 now;
	double				 t = 0;
	uint64_t			 events = 0;
	size_t				 i, m, tick;

	for (i = 0; i < nitems(r); i++) {
		snprintf(names[i], sizeof names[i], "r%zu", i);
		/* Thresholds no value reaches: this test looks at values. */
		r[i] = rule(names[i], (enum alert_metric)(i % ALERT_NMETRICS),
		    AO_GT, 1e12, windows[i / ALERT_NMETRICS], 0);
	}
	rs = rules_of(r, nitems(r));
	srandom(42);
	for (tick = 0; tick < 3000; tick++) {
		uint32_t	pid = random() % 7 == 0 ? 0 : 100;
		double		cpu = random() % 5 == 0 ? -1 :
				    (random() % 20000) / 100.0;
		int		pushes = random() % 25 == 0 ? 2 : 1;

		if (tick == 1500)
			ring_clear(ring);
		while (pushes-- > 0) {
			/* Mostly 5 s apart; sometimes late, sometimes the same. */
			t += random() % 30 == 0 ? 0 : random() % 10 == 0 ?
			    11.3 : 5;
			events += random() % 4;
			push(ring, t, pid, cpu, 1000 + random() % 500, events);
		}
		now = at(t);
		alert_evaluate(rs, book, "p", ring, &watch, &now);
		memset(&all, 0, sizeof all);
		all.rs = rs;
		alert_watch_report(rs, watch, "p", seen_cb, &all);
		for (m = 0; m < nitems(r); m++) {
			double	want = reference(ring, r[m].metric,
				    r[m].window);

			if (!(all.value[m] == want) &&
			    !(isnan(all.value[m]) && isnan(want)))
				fail_msg("tick %zu rule %zu (%s over %g s): "
				    "%.17g, metrics_aggregate %.17g", tick, m,
				    config_alert_metric_name(r[m].metric),
				    r[m].window, all.value[m], want);
		}
	}
	assert_int_equal(alert_book_firing(book), 0);
	alert_watch_free(watch);
	alert_rules_free(rs);
	alert_book_free(book);
	ring_free(ring);
}

/*
 * Rules on p95 are decided by the window's min and max when the threshold
 * is outside them, by a selection otherwise: either way as the value
 * itself would decide, tick after tick, for every operator.
 */
static void
test_p95_rules_decide_as_selection(void **state)
{
	static const enum alert_op	 ops[] = { AO_GT, AO_GE, AO_LT, AO_LE };
	static const double		 limits[] = { 20, 100, 180 };
	struct alert_rule_config	 r[48];
	char				 names[48][16];
	struct alert_rules		*rs;
	struct alert_book		*book = alert_book_new(NULL, NULL);
	struct alert_watch		*watch = NULL;
	struct sample_ring		*ring = ring_new(40, EPOCH);
	struct seen_all			 all;
	struct alert_time		 now;
	double				 t = 0, v;
	size_t				 i, tick;
	int				 want;

	for (i = 0; i < nitems(r); i++) {
		snprintf(names[i], sizeof names[i], "q%zu", i);
		r[i] = rule(names[i], i % 2 ? AM_MEMORY_P95 : AM_CPU_P95,
		    ops[i / 2 % 4], limits[i / 8 % 3], i / 24 ? 400 : 30, 0);
	}
	rs = rules_of(r, nitems(r));
	srandom(7);
	for (tick = 0; tick < 2000; tick++) {
		/* Runs of calm and busy, so values cross the limits. */
		double	base = (tick / 50) % 2 ? 150 : 10;

		t += 5;
		push(ring, t, random() % 9 ? 100 : 0, random() % 6 == 0 ? -1 :
		    base + random() % 6000 / 100.0, (uint64_t)(base * 1024 +
		    random() % 30000), 0);
		now = at(t);
		alert_evaluate(rs, book, "p", ring, &watch, &now);
		memset(&all, 0, sizeof all);
		all.rs = rs;
		alert_watch_report(rs, watch, "p", seen_cb, &all);
		for (i = 0; i < nitems(r); i++) {
			v = reference(ring, r[i].metric, r[i].window);
			assert_double_eq(all.value[i], v);
			switch (r[i].op) {
			case AO_GT: want = v > r[i].value; break;
			case AO_GE: want = v >= r[i].value; break;
			case AO_LT: want = v < r[i].value; break;
			default: want = v <= r[i].value; break;
			}
			if (all.firing[i] != want)
				fail_msg("tick %zu rule %zu (%s %s %g over %g s): "
				    "firing %d, p95 %g", tick, i,
				    config_alert_metric_name(r[i].metric),
				    config_alert_op_name(r[i].op), r[i].value,
				    r[i].window, all.firing[i], v);
		}
	}
	alert_watch_free(watch);
	alert_rules_free(rs);
	alert_book_free(book);
	ring_free(ring);
}

/* Evaluate one tick of plugin p with a sample at t. */
static void
tick_at(struct alert_rules *rs, struct alert_book *book,
    struct sample_ring *ring, struct alert_watch **watch, double t,
    double cpu, uint64_t rss_kib)
{
	struct alert_time	now = at(t);

	push(ring, t, 100, cpu, rss_kib, 0);
	alert_evaluate(rs, book, "p", ring, watch, &now);
	alert_book_tick(book, &now);
}

/*
 * `for`: the alert fires at the first tick at which its condition has
 * held that long, not before; it resolves at the first tick it does not
 * hold, the window deciding when that is.
 */
static void
test_for_and_resolve(void **state)
{
	struct alert_rule_config	 r = rule("hot", AM_CPU_AVG, AO_GT, 50,
					     10, 30);
	struct alert_rules		*rs = rules_of(&r, 1);
	struct alert_book		*book = alert_book_new(record, NULL);
	struct alert_watch		*watch = NULL;
	struct sample_ring		*ring = ring_new(720, EPOCH);
	struct seen_all			 all;
	double				 t;

	nnotes = 0;
	for (t = 0; t < 30; t += 5) {
		tick_at(rs, book, ring, &watch, t, 80, 1024);
		assert_int_equal(nnotes, 0);
	}
	memset(&all, 0, sizeof all);
	all.rs = rs;
	alert_watch_report(rs, watch, "p", seen_cb, &all);
	assert_double_eq(all.pending_since[0], 1000.0);
	assert_int_equal(all.firing[0], 0);

	tick_at(rs, book, ring, &watch, 30, 80, 1024);
	assert_int_equal(nnotes, 1);
	assert_int_equal(notes[0].kind, ALERT_NOTE_FIRING);
	assert_int_equal(notes[0].severity, ALERT_WARNING);
	assert_string_equal(notes[0].source, "hot");
	assert_string_equal(notes[0].plugin, "p");
	assert_double_eq(notes[0].time, EPOCH + 30);
	assert_string_equal(notes[0].text,
	    "🟠 hot: p cpu.avg 80.0% > 50.0% over 10 s for 30 s");
	assert_int_equal(notes[0].silenced, 0);
	assert_int_equal(alert_book_firing(book), 1);

	/* The CPU falls; the 10 s window still averages 80, 80, 10 at 35. */
	tick_at(rs, book, ring, &watch, 35, 10, 1024);
	assert_int_equal(nnotes, 1);
	tick_at(rs, book, ring, &watch, 40, 10, 1024);
	assert_int_equal(nnotes, 2);
	assert_int_equal(notes[1].kind, ALERT_NOTE_RESOLVED);
	assert_string_equal(notes[1].text,
	    "✅ hot resolved: p cpu.avg 33.3% now, after 10 s");
	assert_int_equal(alert_book_firing(book), 0);

	/* Held again, but not for 30 s: nothing. */
	tick_at(rs, book, ring, &watch, 45, 90, 1024);
	tick_at(rs, book, ring, &watch, 50, 90, 1024);
	tick_at(rs, book, ring, &watch, 55, 10, 1024);
	tick_at(rs, book, ring, &watch, 60, 10, 1024);
	assert_int_equal(nnotes, 2);

	alert_watch_free(watch);
	alert_rules_free(rs);
	alert_book_free(book);
	ring_free(ring);
}

/* for 0 fires on the first tick; no data (no process) never holds. */
static void
test_no_hold_and_no_data(void **state)
{
	struct alert_rule_config	 r[2];
	struct alert_rules		*rs;
	struct alert_book		*book = alert_book_new(record, NULL);
	struct alert_watch		*watch = NULL;
	struct sample_ring		*ring = ring_new(100, EPOCH);
	struct alert_time		 now;

	r[0] = rule("big", AM_MEMORY_MAX, AO_GE, 2, 60, 0);
	r[1] = rule("idle", AM_CPU_P95, AO_LT, 1, 60, 0);
	r[1].severity = ALERT_INFO;
	rs = rules_of(r, 2);
	nnotes = 0;
	/* No process: neither memory nor CPU has a sample. */
	now = at(0);
	push(ring, 0, 0, -1, 0, 0);
	alert_evaluate(rs, book, "p", ring, &watch, &now);
	assert_int_equal(nnotes, 0);
	now = at(5);
	push(ring, 5, 100, 0.5, 2048, 0);
	alert_evaluate(rs, book, "p", ring, &watch, &now);
	/* In one tick, rules fire in the order of what they read. */
	assert_int_equal(nnotes, 2);
	assert_string_equal(notes[0].text,
	    "🔵 idle: p cpu.p95 0.5% < 1.0% over 1m");
	assert_string_equal(notes[1].text,
	    "🟠 big: p memory_mb.max 2.0 MB >= 2.0 MB over 1m");
	alert_watch_free(watch);
	alert_rules_free(rs);
	alert_book_free(book);
	ring_free(ring);
}

/* A rule with a plugin list applies to those plugins only. */
static void
test_plugin_list(void **state)
{
	struct alert_rule_config	 r = rule("hot", AM_CPU_MAX, AO_GT, 50,
					     10, 0);
	char				*list[] = { "q", NULL };
	struct alert_rules		*rs;
	struct alert_book		*book = alert_book_new(record, NULL);
	struct alert_watch		*wp = NULL, *wq = NULL;
	struct sample_ring		*rp = ring_new(100, EPOCH);
	struct sample_ring		*rq = ring_new(100, EPOCH);
	struct alert_time		 now = at(0);

	r.plugins = list;
	r.nplugins = 1;
	rs = rules_of(&r, 1);
	nnotes = 0;
	push(rp, 0, 100, 99, 1024, 0);
	push(rq, 0, 100, 99, 1024, 0);
	alert_evaluate(rs, book, "p", rp, &wp, &now);
	alert_evaluate(rs, book, "q", rq, &wq, &now);
	assert_int_equal(nnotes, 1);
	assert_string_equal(notes[0].plugin, "q");
	alert_watch_free(wp);
	alert_watch_free(wq);
	alert_rules_free(rs);
	alert_book_free(book);
	ring_free(rp);
	ring_free(rq);
}

/* Run the book's periodic work at every due time up to t. */
static void
run_until(struct alert_book *book, double t)
{
	struct alert_time	now;
	double			due;

	while ((due = alert_book_due(book)) > 0 && due <= 1000.0 + t) {
		now.mono = due;
		now.wall = EPOCH + (due - 1000.0);
		alert_book_tick(book, &now);
	}
}

/*
 * A crash said at once, the recovery too; then a plugin that keeps
 * crashing and coming back writes one summary per collapse interval, with
 * how it is now; an alert that holds is said again every repeat.
 */
static void
test_collapse_and_repeat(void **state)
{
	struct alert_book	*book = alert_book_new(record, NULL);
	struct alert		*a;
	struct alert_time	 now;
	int			 i;

	alert_book_configure(book, 600, 60);
	nnotes = 0;
	now = at(0);
	a = alert_occur(book, "crash", "8ball", ALERT_WARNING,
	    "8ball crashed: signal SIGSEGV (11)", "BACKOFF", &now);
	assert_int_equal(nnotes, 1);
	assert_string_equal(notes[0].text,
	    "🟠 8ball crashed: signal SIGSEGV (11)");
	now = at(1);
	alert_resolve(book, a, "8ball RUNNING again after 1 crash in 1 s",
	    "RUNNING again", 0, &now);
	assert_int_equal(nnotes, 2);
	assert_int_equal(notes[1].kind, ALERT_NOTE_RESOLVED);
	assert_string_equal(notes[1].text,
	    "✅ 8ball RUNNING again after 1 crash in 1 s");
	assert_double_eq(alert_book_due(book), 0);

	/* Five more crashes, each followed by a recovery: all collapsed. */
	for (i = 0; i < 5; i++) {
		now = at(10 + 5 * i);
		a = alert_occur(book, "crash", "8ball", ALERT_WARNING,
		    "8ball crashed: exit 1", "BACKOFF", &now);
		now = at(11 + 5 * i);
		alert_resolve(book, a, "8ball RUNNING again",
		    "RUNNING again", 0, &now);
	}
	assert_int_equal(nnotes, 2);
	assert_double_eq(alert_book_due(book), 1000.0 + 61);
	run_until(book, 60.9);
	assert_int_equal(nnotes, 2);
	run_until(book, 61);
	assert_int_equal(nnotes, 3);
	assert_int_equal(notes[2].kind, ALERT_NOTE_SUMMARY);
	assert_string_equal(notes[2].text,
	    "✅ 5 more crashes of 8ball in the last 1m; RUNNING again");
	assert_double_eq(notes[2].time, EPOCH + 61);

	/* It crashes and stays down: a summary, then a repeat every 600 s. */
	now = at(70);
	a = alert_occur(book, "crash", "8ball", ALERT_WARNING,
	    "8ball crashed: exit 2", "BACKOFF, restart 9 in 60 s", &now);
	assert_int_equal(nnotes, 3);
	run_until(book, 121);
	assert_int_equal(nnotes, 4);
	assert_string_equal(notes[3].text, "🟠 1 more crash of 8ball in the "
	    "last 1m; BACKOFF, restart 9 in 60 s");
	run_until(book, 720);
	assert_int_equal(nnotes, 4);
	run_until(book, 721);
	assert_int_equal(nnotes, 5);
	assert_int_equal(notes[4].kind, ALERT_NOTE_REPEAT);
	assert_string_equal(notes[4].text,
	    "🟠 still, after 10m: 8ball crashed: exit 2");
	run_until(book, 1321);
	assert_int_equal(nnotes, 6);

	/* Over: said at once; then forgotten a collapse interval later. */
	now = at(1400);
	alert_resolve(book, a, "8ball RUNNING again", "RUNNING again", 0, &now);
	assert_int_equal(nnotes, 7);
	assert_non_null(alert_find(book, "crash", "8ball"));
	now = at(1460);
	alert_book_tick(book, &now);
	assert_null(alert_find(book, "crash", "8ball"));
	alert_book_free(book);
}

/* A higher severity while firing is said at once, whatever was collapsed. */
static void
test_escalation(void **state)
{
	struct alert_book	*book = alert_book_new(record, NULL);
	struct alert		*a;
	struct alert_time	 now;

	alert_book_configure(book, 600, 60);
	nnotes = 0;
	now = at(0);
	alert_occur(book, "crash", "p", ALERT_WARNING, "p crashed: exit 1",
	    "BACKOFF", &now);
	now = at(1);
	alert_occur(book, "crash", "p", ALERT_WARNING, "p crashed: exit 1",
	    "BACKOFF", &now);
	assert_int_equal(nnotes, 1);
	now = at(2);
	a = alert_occur(book, "crash", "p", ALERT_CRITICAL,
	    "p FATAL: crash loop", "FATAL", &now);
	assert_int_equal(nnotes, 2);
	assert_int_equal(notes[1].severity, ALERT_CRITICAL);
	assert_string_equal(notes[1].text, "🔴 p FATAL: crash loop");
	assert_int_equal(a->count, 3);
	assert_int_equal(a->collapsed, 1);
	/* The same severity again: counted. */
	now = at(3);
	alert_occur(book, "crash", "p", ALERT_CRITICAL, "p FATAL: crash loop",
	    "FATAL", &now);
	assert_int_equal(nnotes, 2);
	run_until(book, 62);
	assert_int_equal(nnotes, 3);
	assert_string_equal(notes[2].text,
	    "🔴 2 more crashes of p in the last 1m; FATAL");

	/*
	 * A crash, back, a crash (collapsed), back, then the breaker opens
	 * within the collapse interval: the new episode is worse than the
	 * last, so it is said at once.
	 */
	now = at(100);
	a = alert_occur(book, "crash", "q", ALERT_WARNING, "q crashed",
	    "BACKOFF", &now);
	now = at(101);
	alert_resolve(book, a, "q RUNNING again", "RUNNING again", 0, &now);
	now = at(102);
	a = alert_occur(book, "crash", "q", ALERT_WARNING, "q crashed",
	    "BACKOFF", &now);
	now = at(103);
	alert_resolve(book, a, "q RUNNING again", "RUNNING again", 0, &now);
	assert_int_equal(nnotes, 5);
	now = at(104);
	alert_occur(book, "crash", "q", ALERT_CRITICAL, "q FATAL", "FATAL",
	    &now);
	assert_int_equal(nnotes, 6);
	assert_string_equal(notes[5].text, "🔴 q FATAL");
	alert_book_free(book);
}

/*
 * A silence keeps an alert's lines from chat (the topic still has them,
 * marked); at its end, an alert still firing that chat has not heard of
 * is said; one that ended meanwhile is not.
 */
static void
test_silence(void **state)
{
	struct alert_book	*book = alert_book_new(record, NULL);
	struct alert		*a;
	struct alert_time	 now;

	alert_book_configure(book, 600, 60);
	nnotes = 0;
	now = at(0);
	assert_int_equal(alert_silence(book, "p", 30, &now), 0);
	assert_int_equal(alert_silence_count(book), 1);
	assert_double_eq(alert_silence_get(book, 0)->until_wall, EPOCH + 30);
	assert_int_equal(alert_silenced(book, "crash", "p", now.mono), 1);
	assert_int_equal(alert_silenced(book, "crash", "q", now.mono), 0);
	a = alert_occur(book, "crash", "p", ALERT_WARNING, "p crashed: exit 1",
	    "BACKOFF", &now);
	assert_int_equal(nnotes, 1);
	assert_int_equal(notes[0].silenced, 1);
	assert_int_equal(a->announced, 0);
	/* "q" is not silenced; nor is rule "hot" on "p"... */
	alert_occur(book, "crash", "q", ALERT_WARNING, "q crashed: exit 1",
	    "BACKOFF", &now);
	assert_int_equal(notes[1].silenced, 0);
	/* ... but a silence of the rule is. */
	alert_silence(book, "hot", 10, &now);
	alert_occur(book, "hot", "q", ALERT_WARNING, "hot: q", NULL, &now);
	assert_int_equal(notes[2].silenced, 1);

	/* The silence of "hot" ends at 10: its alert is said then. */
	assert_double_eq(alert_book_due(book), 1010.0);
	run_until(book, 10);
	assert_int_equal(nnotes, 4);
	assert_int_equal(notes[3].silenced, 0);
	assert_int_equal(notes[3].kind, ALERT_NOTE_FIRING);
	assert_string_equal(notes[3].text, "🟠 still, after 10 s: hot: q");
	assert_int_equal(alert_silence_count(book), 1);

	/* Lifted early: "p" still fires and is said. */
	now = at(20);
	assert_int_equal(alert_unsilence(book, "p", &now), 0);
	assert_int_equal(alert_unsilence(book, "p", &now), -1);
	assert_int_equal(nnotes, 5);
	assert_string_equal(notes[4].text,
	    "🟠 still, after 20 s: p crashed: exit 1");
	assert_int_equal(notes[4].silenced, 0);

	/* Silenced again: the recovery is kept from chat. */
	alert_silence(book, "crash", 60, &now);
	now = at(25);
	alert_resolve(book, a, "p RUNNING again", "RUNNING again", 0, &now);
	assert_int_equal(nnotes, 6);
	assert_int_equal(notes[5].silenced, 1);
	/* At the end of the silence nothing fires that chat has not heard. */
	run_until(book, 80);
	assert_int_equal(alert_silence_count(book), 0);

	/* A full table of silences refuses one more. */
	{
		char	name[16];
		int	i;

		for (i = 0; i < ALERT_MAX_SILENCES; i++) {
			snprintf(name, sizeof name, "s%d", i);
			assert_int_equal(alert_silence(book, name, 5, &now), 0);
		}
		assert_int_equal(alert_silence(book, "one-more", 5, &now), -1);
		/* Renewing one that is there still works. */
		assert_int_equal(alert_silence(book, "s0", 50, &now), 0);
	}
	alert_book_free(book);
}

/* The history keeps the newest ALERT_HISTORY notes, oldest first. */
static void
test_history_bound(void **state)
{
	struct alert_book	*book = alert_book_new(NULL, NULL);
	struct alert		*a;
	struct alert_time	 now;
	char			 name[16];
	int			 i;

	for (i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "p%d", i);
		now = at(i);
		a = alert_occur(book, "crash", name, ALERT_WARNING, name, NULL,
		    &now);
		assert_non_null(a);
	}
	assert_int_equal(alert_book_history_count(book), ALERT_HISTORY);
	assert_string_equal(alert_book_history(book, 0)->plugin, "p50");
	assert_string_equal(alert_book_history(book, ALERT_HISTORY - 1)->plugin,
	    "p149");
	assert_null(alert_book_history(book, ALERT_HISTORY));
	assert_int_equal(alert_book_firing(book), 150);
	alert_book_forget(book, "p3");
	assert_int_equal(alert_book_firing(book), 149);
	assert_null(alert_find(book, "crash", "p3"));
	alert_book_free(book);
}

/*
 * A new rule set (a reload): each plugin's state is rebuilt, and a rule
 * kept by name goes on firing without a second line.
 */
static void
test_new_rules_keep_firing(void **state)
{
	struct alert_rule_config	 r = rule("hot", AM_CPU_AVG, AO_GT, 50,
					     10, 0);
	struct alert_rules		*rs = rules_of(&r, 1), *rs2;
	struct alert_book		*book = alert_book_new(record, NULL);
	struct alert_watch		*watch = NULL;
	struct sample_ring		*ring = ring_new(100, EPOCH);

	nnotes = 0;
	tick_at(rs, book, ring, &watch, 0, 90, 1024);
	assert_int_equal(nnotes, 1);
	rs2 = rules_of(&r, 1);
	alert_rules_free(rs);
	tick_at(rs2, book, ring, &watch, 5, 90, 1024);
	assert_int_equal(nnotes, 1);
	tick_at(rs2, book, ring, &watch, 10, 0, 1024);
	tick_at(rs2, book, ring, &watch, 15, 0, 1024);
	tick_at(rs2, book, ring, &watch, 20, 0, 1024);
	assert_int_equal(nnotes, 2);
	assert_int_equal(notes[1].kind, ALERT_NOTE_RESOLVED);
	alert_watch_free(watch);
	alert_rules_free(rs2);
	alert_book_free(book);
	ring_free(ring);
}

/* No rules: nothing compiled, nothing to evaluate. */
static void
test_no_rules(void **state)
{
	struct alerts_config	al;
	struct alert_watch	*watch = NULL;
	struct sample_ring	*ring = ring_new(10, EPOCH);
	struct alert_time	 now = at(0);

	memset(&al, 0, sizeof al);
	assert_null(alert_rules_new(&al));
	assert_int_equal(alert_rules_count(NULL), 0);
	push(ring, 0, 1, 1, 1, 1);
	alert_evaluate(NULL, NULL, "p", ring, &watch, &now);
	assert_null(watch);
	ring_free(ring);
}

static void
test_durations(void **state)
{
	char	buf[32];

	assert_string_equal(alert_format_duration(0, buf, sizeof buf), "0 s");
	assert_string_equal(alert_format_duration(0.25, buf, sizeof buf),
	    "0.2 s");
	assert_string_equal(alert_format_duration(2, buf, sizeof buf), "2 s");
	assert_string_equal(alert_format_duration(12.6, buf, sizeof buf),
	    "13 s");
	assert_string_equal(alert_format_duration(60, buf, sizeof buf), "1m");
	assert_string_equal(alert_format_duration(3725, buf, sizeof buf),
	    "1h 2m");
	assert_string_equal(alert_format_duration(90000, buf, sizeof buf),
	    "1d 1h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_match_aggregate),
		cmocka_unit_test(test_p95_rules_decide_as_selection),
		cmocka_unit_test(test_for_and_resolve),
		cmocka_unit_test(test_no_hold_and_no_data),
		cmocka_unit_test(test_plugin_list),
		cmocka_unit_test(test_collapse_and_repeat),
		cmocka_unit_test(test_escalation),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_history_bound),
		cmocka_unit_test(test_new_rules_keep_firing),
		cmocka_unit_test(test_no_rules),
		cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * alert-eval.c: threshold rules over the sample rings, on each sampling
 * tick (alert.h).
 *
 * A rule compares one aggregate of a plugin's samples over its window
 * (cpu.p95 over 5m) with a value; once that has held for `for`, its alert
 * fires; once it stops holding, the alert resolves. The aggregates are
 * those of metrics_aggregate (metrics/stats.c) over the same samples, the
 * ones `supervisorctl metrics NAME 5m` shows: nearest-rank p95, CPU over
 * the samples that have a CPU delta, memory over those with a process.
 *
 * Computed from scratch they cost too much on every tick: metrics_aggregate
 * takes 0.85 µs over a 5-minute window and 9.5 µs over an hour (720
 * samples; docs/benchmarks.md), so 100 rules over four windows on 1000
 * plugins would take about 14 ms of every tick. Instead each plugin keeps,
 * for each distinct window length among the rules that apply to it, a
 * window tracker: the newest sample comes in, those older than the window
 * go out, and the tracker keeps running sums (averages) and, when a rule
 * needs min, max or p95, the window's values in a sorted array (a binary
 * search and a memmove per sample in and out; at most the window's samples
 * long). A tick then costs the same whatever the window's length. What a
 * tracker gives is exactly what metrics_aggregate gives over that window;
 * tests/unit/test_alert.c checks it on random series, across the ring's
 * wrap and its evictions. bench/bench_alerts.c measures a tick.
 *
 * A tracker trusts that exactly one sample was pushed between two ticks
 * (the sampler pushes one per plugin per tick); it checks that the sample
 * before the newest is the newest it saw, and rebuilds from the ring when
 * it is not (the first tick, a reload, a tick without sampling).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "supervisor/alert.h"

/* What a window tracker keeps, for the metrics of the rules using it. */
#define NEED_CPU		0x1	/* sums of cpu */
#define NEED_CPU_ORDER		0x2	/* cpu's sorted values: min, max, p95 */
#define NEED_MEMORY		0x4
#define NEED_MEMORY_ORDER	0x8

struct alert_rules {
	unsigned			 generation;
	struct alert_rule_config	*rules;		/* deep copies */
	size_t				 nrules;
	double				*windows;	/* distinct lengths, s */
	size_t				 nwindows;
	size_t				*window_of;	/* rule → its window */
};

/* One series of a window (cpu or memory), in the ring's fixed point. */
struct alert_series {
	uint32_t	*sorted;	/* NULL unless a rule needs order */
	size_t		 cap;
	size_t		 n;		/* samples with a value */
	uint64_t	 sum;
};

/* A window over one ring, kept up to date sample by sample. */
struct alert_window {
	double			 seconds;
	unsigned		 need;		/* NEED_* */
	unsigned		 metrics;	/* 1 << metric asked of it */
	int			 primed;	/* n and the series are right */
	size_t			 n;		/* samples in it, from the newest */
	size_t			 ring_count;	/* the ring's count then */
	struct metrics_sample	 newest;	/* the newest taken in */
	struct metrics_sample	 oldest;	/* the ring's oldest, when in it */
	struct alert_series	 cpu;
	struct alert_series	 memory;
	double			 values[ALERT_NMETRICS];	/* NAN: no data */
};

/* One rule on one plugin. */
struct alert_pair {
	size_t		 rule;		/* index in the rules */
	int		 pending;	/* holds, not yet for `for` */
	double		 pending_since;	/* mono */
	int		 firing;
};

struct alert_watch {
	unsigned		 generation;	/* of the rules it was built for */
	const struct sample_ring *ring;
	struct alert_pair	*pairs;		/* the rules that apply */
	size_t			 npairs;
	struct alert_window	*windows;	/* per window of the rules */
	size_t			 nwindows;
};

/* Bumped for every rule set, so a watch knows its rules went away. */
static unsigned	alert_generation;

/* A copy of a rule that lives as long as the rule set. */
static void
alert_rule_copy(struct alert_rule_config *dst,
    const struct alert_rule_config *src)
{
	size_t	i;

	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->plugins = NULL;
	if (src->plugins != NULL) {
		dst->plugins = xcalloc(src->nplugins + 1, sizeof *dst->plugins);
		for (i = 0; i < src->nplugins; i++)
			dst->plugins[i] = xstrdup(src->plugins[i]);
	}
}

/* Compile the rules of a config; NULL when it has none (no cost a tick). */
struct alert_rules *
alert_rules_new(const struct alerts_config *al)
{
	struct alert_rules	*rs;
	size_t			 i, j;

	if (al->nrules == 0)
		return NULL;
	rs = xcalloc(1, sizeof *rs);
	rs->generation = ++alert_generation;
	rs->rules = xcalloc(al->nrules, sizeof *rs->rules);
	rs->window_of = xcalloc(al->nrules, sizeof *rs->window_of);
	rs->windows = xcalloc(al->nrules, sizeof *rs->windows);
	rs->nrules = al->nrules;
	for (i = 0; i < al->nrules; i++) {
		alert_rule_copy(&rs->rules[i], &al->rules[i]);
		for (j = 0; j < rs->nwindows; j++) {
			if (rs->windows[j] == al->rules[i].window)
				break;
		}
		if (j == rs->nwindows)
			rs->windows[rs->nwindows++] = al->rules[i].window;
		rs->window_of[i] = j;
	}
	return rs;
}

void
alert_rules_free(struct alert_rules *rs)
{
	size_t	i, j;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->nrules; i++) {
		free(rs->rules[i].name);
		for (j = 0; j < rs->rules[i].nplugins; j++)
			free(rs->rules[i].plugins[j]);
		free(rs->rules[i].plugins);
	}
	free(rs->rules);
	free(rs->windows);
	free(rs->window_of);
	free(rs);
}

size_t
alert_rules_count(const struct alert_rules *rs)
{
	return rs != NULL ? rs->nrules : 0;
}

const struct alert_rule_config *
alert_rules_get(const struct alert_rules *rs, size_t i)
{
	return rs != NULL && i < rs->nrules ? &rs->rules[i] : NULL;
}

/* What a window must keep for a metric. */
static unsigned
alert_metric_need(enum alert_metric m)
{
	switch (m) {
	case AM_CPU_AVG:
		return NEED_CPU;
	case AM_CPU_MIN:
	case AM_CPU_MAX:
	case AM_CPU_P95:
		return NEED_CPU | NEED_CPU_ORDER;
	case AM_MEMORY_AVG:
		return NEED_MEMORY;
	case AM_MEMORY_MIN:
	case AM_MEMORY_MAX:
	case AM_MEMORY_P95:
		return NEED_MEMORY | NEED_MEMORY_ORDER;
	case AM_EVENTS:
	case AM_EVENTS_PER_MIN:
		break;
	}
	return 0;
}

static void
alert_series_free(struct alert_series *ser)
{
	free(ser->sorted);
	memset(ser, 0, sizeof *ser);
}

void
alert_watch_free(struct alert_watch *w)
{
	size_t	i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nwindows; i++) {
		alert_series_free(&w->windows[i].cpu);
		alert_series_free(&w->windows[i].memory);
	}
	free(w->windows);
	free(w->pairs);
	free(w);
}

/* 1 if a rule applies to the plugin: "*", or the plugin is in its list. */
static int
alert_rule_applies(const struct alert_rule_config *r, const char *plugin)
{
	size_t	i;

	if (r->plugins == NULL)
		return 1;
	for (i = 0; i < r->nplugins; i++) {
		if (strcmp(r->plugins[i], plugin) == 0)
			return 1;
	}
	return 0;
}

/*
 * (Re)build a plugin's watch for the current rules: the rules that apply
 * to it, the windows they use. An alert of a rule that fires already (a
 * reload that kept the rule) goes on firing.
 */
static struct alert_watch *
alert_watch_build(struct alert_rules *rs, struct alert_book *book,
    const char *plugin, const struct sample_ring *ring, struct alert_watch *old)
{
	struct alert_watch	*w;
	struct alert		*a;
	const struct alert_rule_config *r;
	size_t			 i, k;

	alert_watch_free(old);
	w = xcalloc(1, sizeof *w);
	w->generation = rs->generation;
	w->ring = ring;
	w->pairs = xcalloc(rs->nrules, sizeof *w->pairs);
	w->windows = xcalloc(rs->nwindows, sizeof *w->windows);
	w->nwindows = rs->nwindows;
	for (k = 0; k < rs->nwindows; k++) {
		w->windows[k].seconds = rs->windows[k];
		for (i = 0; i < ALERT_NMETRICS; i++)
			w->windows[k].values[i] = NAN;
	}
	for (i = 0; i < rs->nrules; i++) {
		r = &rs->rules[i];
		if (!alert_rule_applies(r, plugin))
			continue;
		k = rs->window_of[i];
		w->windows[k].need |= alert_metric_need(r->metric);
		w->windows[k].metrics |= 1u << r->metric;
		w->pairs[w->npairs].rule = i;
		a = alert_find(book, r->name, plugin);
		w->pairs[w->npairs].firing = a != NULL && a->firing;
		w->npairs++;
	}
	return w;
}

/* Index of the first value >= v in a sorted array. */
static size_t
alert_lower_bound(const uint32_t *a, size_t n, uint32_t v)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for one more value in a sorted series. */
static void
alert_series_grow(struct alert_series *ser, size_t need)
{
	if (need <= ser->cap)
		return;
	ser->cap = ser->cap == 0 ? 16 : ser->cap;
	while (ser->cap < need)
		ser->cap *= 2;
	ser->sorted = xreallocarray(ser->sorted, ser->cap, sizeof *ser->sorted);
}

/* A value comes into the window. ordered: keep it in the sorted array. */
static void
alert_series_add(struct alert_series *ser, uint32_t v, int ordered)
{
	size_t	pos;

	ser->sum += v;
	if (ordered) {
		alert_series_grow(ser, ser->n + 1);
		pos = alert_lower_bound(ser->sorted, ser->n, v);
		memmove(&ser->sorted[pos + 1], &ser->sorted[pos],
		    (ser->n - pos) * sizeof *ser->sorted);
		ser->sorted[pos] = v;
	}
	ser->n++;
}

/* A value leaves the window; -1 if it was not there (rebuild). */
static int
alert_series_remove(struct alert_series *ser, uint32_t v, int ordered)
{
	size_t	pos;

	if (ser->n == 0)
		return -1;
	if (ordered) {
		pos = alert_lower_bound(ser->sorted, ser->n, v);
		if (pos == ser->n || ser->sorted[pos] != v)
			return -1;
		memmove(&ser->sorted[pos], &ser->sorted[pos + 1],
		    (ser->n - pos - 1) * sizeof *ser->sorted);
	}
	ser->sum -= v;
	ser->n--;
	return 0;
}

/* A sample comes into (add) or leaves a window: its CPU and memory. */
static int
alert_window_take(struct alert_window *win, const struct metrics_sample *s,
    int add)
{
	int	rc = 0;

	if ((win->need & NEED_CPU) && s->cpu_centi != METRICS_CPU_NONE) {
		if (add)
			alert_series_add(&win->cpu, s->cpu_centi,
			    win->need & NEED_CPU_ORDER);
		else
			rc |= alert_series_remove(&win->cpu, s->cpu_centi,
			    win->need & NEED_CPU_ORDER);
	}
	if ((win->need & NEED_MEMORY) && s->pid != 0) {
		if (add)
			alert_series_add(&win->memory, s->rss_kib,
			    win->need & NEED_MEMORY_ORDER);
		else
			rc |= alert_series_remove(&win->memory, s->rss_kib,
			    win->need & NEED_MEMORY_ORDER);
	}
	return rc;
}

static int
alert_cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Note what the next update needs to know about the ring. */
static void
alert_window_mark(struct alert_window *win, const struct sample_ring *ring)
{
	size_t	count = ring_count(ring);

	win->ring_count = count;
	win->newest = *ring_get(ring, count - 1);
	/* The ring's oldest may be pushed out next: keep what leaves with it. */
	if (win->n == count)
		win->oldest = *ring_get(ring, 0);
	win->primed = 1;
}

/* Take the window whole from the ring: at start, and when unsure. */
static void
alert_window_rebuild(struct alert_window *win, const struct sample_ring *ring)
{
	struct metrics_window	 mw;
	const struct metrics_sample *newest;
	size_t			 count = ring_count(ring), first, i;

	win->cpu.n = win->memory.n = 0;
	win->cpu.sum = win->memory.sum = 0;
	win->n = 0;
	newest = ring_get(ring, count - 1);
	mw = metrics_window_since(ring_sample_time(ring, newest) - win->seconds);
	win->n = ring_window(ring, &mw, &first);
	if (win->need & NEED_CPU_ORDER)
		alert_series_grow(&win->cpu, win->n);
	if (win->need & NEED_MEMORY_ORDER)
		alert_series_grow(&win->memory, win->n);
	/* Appended unsorted, then sorted once. */
	for (i = first; i < count; i++) {
		const struct metrics_sample *s = ring_get(ring, i);

		if ((win->need & NEED_CPU) && s->cpu_centi != METRICS_CPU_NONE) {
			if (win->need & NEED_CPU_ORDER)
				win->cpu.sorted[win->cpu.n] = s->cpu_centi;
			win->cpu.sum += s->cpu_centi;
			win->cpu.n++;
		}
		if ((win->need & NEED_MEMORY) && s->pid != 0) {
			if (win->need & NEED_MEMORY_ORDER)
				win->memory.sorted[win->memory.n] = s->rss_kib;
			win->memory.sum += s->rss_kib;
			win->memory.n++;
		}
	}
	if (win->need & NEED_CPU_ORDER)
		qsort(win->cpu.sorted, win->cpu.n, sizeof *win->cpu.sorted,
		    alert_cmp_u32);
	if (win->need & NEED_MEMORY_ORDER)
		qsort(win->memory.sorted, win->memory.n,
		    sizeof *win->memory.sorted, alert_cmp_u32);
	alert_window_mark(win, ring);
}

/*
 * Bring a window up to the ring's newest sample: take it in, let go of the
 * samples now older than the window. One push since the last update is the
 * rule; anything else (or a value not found where it should be) rebuilds.
 */
static void
alert_window_update(struct alert_window *win, const struct sample_ring *ring)
{
	const struct metrics_sample	*newest, *prev, *s;
	size_t				 count = ring_count(ring);
	size_t				 cap = ring_capacity(ring);
	double				 since;
	int				 one;

	if (count == 0) {
		win->primed = 0;
		win->n = 0;
		return;
	}
	newest = ring_get(ring, count - 1);
	if (win->primed && count == win->ring_count &&
	    memcmp(newest, &win->newest, sizeof *newest) == 0)
		return;		/* nothing new */
	prev = count >= 2 ? ring_get(ring, count - 2) : NULL;
	if (!win->primed)
		one = 0;
	else if (win->ring_count == 0)
		one = count == 1;
	else
		one = (count == win->ring_count + 1 || (count == cap &&
		    win->ring_count == cap)) && prev != NULL &&
		    memcmp(prev, &win->newest, sizeof *prev) == 0;
	if (!one) {
		alert_window_rebuild(win, ring);
		return;
	}
	/* A full ring dropped its oldest; the window had it if it held all. */
	if (win->ring_count == cap && win->n == cap) {
		if (alert_window_take(win, &win->oldest, 0) != 0) {
			alert_window_rebuild(win, ring);
			return;
		}
		win->n--;
	}
	alert_window_take(win, newest, 1);
	win->n++;
	since = ring_sample_time(ring, newest) - win->seconds;
	while (win->n > 0) {
		s = ring_get(ring, count - win->n);
		if (ring_sample_time(ring, s) >= since)
			break;
		if (alert_window_take(win, s, 0) != 0) {
			alert_window_rebuild(win, ring);
			return;
		}
		win->n--;
	}
	alert_window_mark(win, ring);
}

/* One statistic of a series, divided by its fixed-point scale. */
static double
alert_series_stat(const struct alert_series *ser, enum alert_metric m,
    double scale)
{
	if (ser->n == 0)
		return NAN;
	switch (m) {
	case AM_CPU_AVG:
	case AM_MEMORY_AVG:
		return (double)ser->sum / ser->n / scale;
	case AM_CPU_MIN:
	case AM_MEMORY_MIN:
		return ser->sorted[0] / scale;
	case AM_CPU_MAX:
	case AM_MEMORY_MAX:
		return ser->sorted[ser->n - 1] / scale;
	case AM_CPU_P95:
	case AM_MEMORY_P95:
		return ser->sorted[stats_p95_index(ser->n)] / scale;
	default:
		break;
	}
	return NAN;
}

/* The window's value of each metric a rule asks of it (as stats.c has it). */
static void
alert_window_values(struct alert_window *win, const struct sample_ring *ring)
{
	const struct metrics_sample	*first, *last;
	size_t				 count = ring_count(ring);
	uint32_t			 events;
	unsigned			 m;

	for (m = 0; m < ALERT_NMETRICS; m++) {
		if (!(win->metrics & (1u << m)))
			continue;
		win->values[m] = NAN;
		if (win->n == 0)
			continue;
		switch ((enum alert_metric)m) {
		case AM_CPU_AVG:
		case AM_CPU_MIN:
		case AM_CPU_MAX:
		case AM_CPU_P95:
			win->values[m] = alert_series_stat(&win->cpu, m, 100.0);
			break;
		case AM_MEMORY_AVG:
		case AM_MEMORY_MIN:
		case AM_MEMORY_MAX:
		case AM_MEMORY_P95:
			win->values[m] = alert_series_stat(&win->memory, m,
			    1024.0);
			break;
		case AM_EVENTS:
		case AM_EVENTS_PER_MIN:
			/* Cumulative per name: last - first, mod 2^32. */
			first = ring_get(ring, count - win->n);
			last = ring_get(ring, count - 1);
			events = last->events - first->events;
			if (m == AM_EVENTS)
				win->values[m] = events;
			else if (last->time_ds > first->time_ds)
				win->values[m] = events * 60.0 /
				    ((last->time_ds - first->time_ds) / 10.0);
			else
				win->values[m] = 0;
			break;
		}
	}
}

/* A metric's value as people read it: "95.2%", "260.1 MB", "12.50/min". */
void
alert_format_value(enum alert_metric m, double v, char *buf, size_t len)
{
	switch (m) {
	case AM_CPU_AVG:
	case AM_CPU_MIN:
	case AM_CPU_MAX:
	case AM_CPU_P95:
		snprintf(buf, len, "%.1f%%", v);
		break;
	case AM_MEMORY_AVG:
	case AM_MEMORY_MIN:
	case AM_MEMORY_MAX:
	case AM_MEMORY_P95:
		snprintf(buf, len, "%.1f MB", v);
		break;
	case AM_EVENTS:
		snprintf(buf, len, "%.0f", v);
		break;
	case AM_EVENTS_PER_MIN:
		snprintf(buf, len, "%.2f/min", v);
		break;
	}
}

/* 1 if the value meets the rule (no data never does). */
static int
alert_holds(const struct alert_rule_config *r, double v)
{
	if (isnan(v))
		return 0;
	switch (r->op) {
	case AO_GT:
		return v > r->value;
	case AO_GE:
		return v >= r->value;
	case AO_LT:
		return v < r->value;
	case AO_LE:
		return v <= r->value;
	}
	return 0;
}

/* "hot-cpu: hog cpu.p95 95.2% > 80% over 5m for 2m" */
static void
alert_rule_text(const struct alert_rule_config *r, const char *plugin,
    double v, char *buf, size_t len)
{
	char	val[32], lim[32], win[32], hold[40] = "";

	alert_format_value(r->metric, v, val, sizeof val);
	alert_format_value(r->metric, r->value, lim, sizeof lim);
	alert_format_duration(r->window, win, sizeof win);
	if (r->hold > 0) {
		memcpy(hold, " for ", 6);
		alert_format_duration(r->hold, hold + 5, sizeof hold - 5);
	}
	snprintf(buf, len, "%s: %s %s %s %s %s over %s%s", r->name, plugin,
	    config_alert_metric_name(r->metric), val,
	    config_alert_op_name(r->op), lim, win, hold);
}

/* The rule's current value, for a summary: "cpu.p95 95.2% now". */
static void
alert_rule_status(const struct alert_rule_config *r, double v, char *buf,
    size_t len)
{
	char	val[32];

	if (isnan(v)) {
		snprintf(buf, len, "no %s samples now",
		    config_alert_metric_name(r->metric));
		return;
	}
	alert_format_value(r->metric, v, val, sizeof val);
	snprintf(buf, len, "%s %s now", config_alert_metric_name(r->metric),
	    val);
}

/* One rule on one plugin, with the value its window gives this tick. */
static void
alert_pair_eval(const struct alert_rules *rs, struct alert_book *book,
    const char *plugin, struct alert_pair *pair, double v,
    const struct alert_time *now)
{
	const struct alert_rule_config	*r = &rs->rules[pair->rule];
	struct alert			*a;
	char				 text[ALERT_TEXT_MAX], status[128];
	char				 now_text[96], span[32];

	if (alert_holds(r, v)) {
		if (pair->firing) {
			/* Its text says the value now, for repeats and lists. */
			if ((a = alert_find(book, r->name, plugin)) != NULL &&
			    a->value != v) {
				a->value = v;
				alert_rule_text(r, plugin, v, a->text,
				    sizeof a->text);
				alert_rule_status(r, v, status, sizeof status);
				alert_set_status(a, status);
			}
			return;
		}
		if (!pair->pending) {
			pair->pending = 1;
			pair->pending_since = now->mono;
		}
		if (now->mono - pair->pending_since < r->hold)
			return;
		alert_rule_text(r, plugin, v, text, sizeof text);
		alert_rule_status(r, v, status, sizeof status);
		a = alert_occur(book, r->name, plugin, r->severity, text,
		    status, now);
		a->value = v;
		pair->firing = 1;
		pair->pending = 0;
		return;
	}
	pair->pending = 0;
	if (!pair->firing)
		return;
	pair->firing = 0;
	if ((a = alert_find(book, r->name, plugin)) == NULL)
		return;
	alert_rule_status(r, v, now_text, sizeof now_text);
	snprintf(text, sizeof text, "%s resolved: %s %s, after %s", r->name,
	    plugin, now_text, alert_format_duration(now->mono - a->since, span,
	    sizeof span));
	snprintf(status, sizeof status, "resolved, %s", now_text);
	alert_resolve(book, a, text, status, 0, now);
}

/*
 * Evaluate every rule that applies to a plugin after a sampling tick: its
 * windows take the new sample, each rule reads its metric from its window.
 * *watchp is the plugin's state, made here and kept by the caller (freed
 * with alert_watch_free).
 */
void
alert_evaluate(struct alert_rules *rs, struct alert_book *book,
    const char *plugin, const struct sample_ring *ring,
    struct alert_watch **watchp, const struct alert_time *now)
{
	struct alert_watch	*w = *watchp;
	struct alert_window	*win;
	struct alert_pair	*pair;
	size_t			 i, k;

	if (rs == NULL)
		return;
	if (w == NULL || w->generation != rs->generation || w->ring != ring)
		*watchp = w = alert_watch_build(rs, book, plugin, ring, w);
	if (w->npairs == 0)
		return;
	for (k = 0; k < w->nwindows; k++) {
		win = &w->windows[k];
		if (win->metrics == 0)
			continue;
		alert_window_update(win, ring);
		alert_window_values(win, ring);
	}
	for (i = 0; i < w->npairs; i++) {
		pair = &w->pairs[i];
		alert_pair_eval(rs, book, plugin, pair,
		    w->windows[rs->window_of[pair->rule]].values[
		    rs->rules[pair->rule].metric], now);
	}
}

/* What each rule on this plugin saw at the last tick, for `alerts`. */
void
alert_watch_report(const struct alert_rules *rs, const struct alert_watch *w,
    const char *plugin, alert_seen_fn *fn, void *arg)
{
	struct alert_seen	 seen;
	const struct alert_pair	*pair;
	size_t			 i;

	if (rs == NULL || w == NULL || w->generation != rs->generation)
		return;
	for (i = 0; i < w->npairs; i++) {
		pair = &w->pairs[i];
		seen.rule = &rs->rules[pair->rule];
		seen.value = w->windows[rs->window_of[pair->rule]].values[
		    seen.rule->metric];
		seen.pending_since = pair->pending ? pair->pending_since : 0;
		seen.firing = pair->firing;
		fn(arg, plugin, &seen);
	}
}

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
 * Computed from scratch on every tick they cost too much: metrics_aggregate
 * takes 0.85 µs over a 5-minute window and 9.5 µs over an hour (720
 * samples; docs/benchmarks.md), so 100 rules over four windows on 1000
 * plugins would take about 14 ms of every tick. Instead each plugin keeps,
 * per distinct window length of the rules that apply to it, a window
 * tracker that takes in the newest sample and lets go of those that left
 * the window: running sums give the averages, and monotonic deques the
 * minimum and maximum (each sample goes in and out of a deque once; an idle
 * plugin's deques hold a handful of entries). p95 is not tracked: it lies
 * between the window's min and max, so a rule on it is decided by those
 * bounds unless its threshold falls between them, and only then is p95
 * selected from the window's samples (stats_p95_u32, as metrics_aggregate
 * does). A healthy bot's rules are far from their thresholds and cost a
 * compare each. A first version kept each window's values in sorted arrays
 * for min, max and p95: 12 MB for 1000 plugins and 2 ms a tick, bound by
 * the cache misses of its binary searches; this takes a fraction of both
 * (bench/bench_alerts.c, docs/benchmarks.md).
 *
 * What a tracker gives is exactly what metrics_aggregate gives over that
 * window; tests/unit/test_alert.c checks it on random series, across the
 * ring's wrap and its evictions. A tracker trusts that exactly one sample
 * was pushed between two ticks (the sampler pushes one per plugin per
 * tick): it checks that the sample before the newest is the newest it saw,
 * and rebuilds from the ring when it is not (the first tick, a reload, a
 * tick without sampling).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "supervisor/alert.h"

/* A p95's bounds are found at fixed offsets from it (alert_evaluate). */
_Static_assert(AM_CPU_P95 - AM_CPU_MIN == AM_MEMORY_P95 - AM_MEMORY_MIN &&
    AM_CPU_P95 - AM_CPU_MAX == AM_MEMORY_P95 - AM_MEMORY_MAX,
    "the metrics' order in config.h");

/* What a window tracker keeps, for the metrics of the rules using it. */
#define NEED_CPU		0x1	/* sums of cpu */
#define NEED_CPU_EXTREMES	0x2	/* cpu's min and max (and p95's bounds) */
#define NEED_MEMORY		0x4
#define NEED_MEMORY_EXTREMES	0x8

/* What the loop over every rule on a plugin reads of a rule: 16 bytes. */
struct alert_check {
	double		 threshold;
	uint32_t	 slot;		/* window × ALERT_NMETRICS + metric */
	uint8_t		 op;		/* enum alert_op */
	uint8_t		 p95;		/* decided by bounds, else selected */
};

/*
 * The rules on one metric of one window: what is lower than the lowest
 * threshold of their ">" rules and higher than the highest of their "<"
 * rules meets none of them, so one compare rules them all out.
 */
struct alert_group {
	uint32_t	 slot;		/* window × ALERT_NMETRICS + metric */
	uint32_t	 start;		/* in the rules' order */
	uint32_t	 count;
	int		 p95;		/* bounded by the window's min and max */
	double		 above;		/* lowest ">", ">=" threshold; +inf: none */
	double		 below;		/* highest "<", "<=" threshold; -inf */
};

struct alert_rules {
	unsigned			 generation;
	struct alert_rule_config	*rules;		/* deep copies */
	struct alert_check		*checks;	/* one per rule */
	uint16_t			*order;		/* rule indices by slot */
	struct alert_group		*groups;
	size_t				 ngroups;
	size_t				 nrules;
	double				*windows;	/* distinct lengths, s */
	size_t				 nwindows;
	size_t				*window_of;	/* rule → its window */
	uint32_t			*scratch;	/* for a p95's selection */
	size_t				 scratch_len;
};

/* An entry of a deque: a value and the sequence number of its sample. */
struct alert_entry {
	uint32_t	 value;
	uint32_t	 seq;
};

/*
 * Entries a deque holds in place before it takes memory of its own. A max
 * deque of n random values holds about ln n of them (7 for an hour of 720
 * samples), a steady series one: in place, a tick touches no memory but
 * the watch's own.
 */
#define ALERT_DEQUE_INLINE	4

/*
 * A monotonic deque: the candidates for a window's min (or max), oldest
 * first. The front is the extreme; it leaves when its sample does.
 */
struct alert_deque {
	struct alert_entry	*e;	/* inl, or its own memory */
	uint32_t		 cap;	/* a power of two */
	uint32_t		 head;
	uint32_t		 len;
	struct alert_entry	 inl[ALERT_DEQUE_INLINE];
};

/* Running sums of one series of a window, in the ring's fixed point. */
struct alert_sums {
	size_t		 n;		/* samples with a value */
	uint64_t	 sum;
};

/* A window: the ring's newest samples, back to its length. */
struct alert_window {
	double		 seconds;
	unsigned	 metrics;	/* 1 << metric asked of it */
	unsigned	 need;		/* NEED_CPU, NEED_MEMORY: sums */
	size_t		 n;		/* samples in it, from the newest */
	struct alert_sums cpu;
	struct alert_sums memory;
	double		*values;	/* its metrics in the watch's */
};

/* One rule on one plugin, beyond what every tick reads. */
struct alert_pair {
	int		 pending;	/* holds, not yet for `for` */
	int		 firing;
	double		 pending_since;	/* mono */
};

/*
 * One plugin's rules and windows. Every window ends at the newest sample,
 * so they are nested, and one min and one max deque per series over the
 * longest window that needs them serve them all: the extreme of a shorter
 * window is the first entry inside it. What each tick reads is kept small
 * and together (see alert_watch_build).
 */
struct alert_watch {
	unsigned		 generation;	/* of the rules it was built for */
	const struct sample_ring *ring;
	int			 primed;	/* the windows are right */
	uint32_t		 seq;		/* of the newest sample taken in */
	size_t			 ring_count;	/* the ring's count then */
	struct metrics_sample	 newest;	/* the newest taken in */
	struct metrics_sample	 oldest;	/* the ring's oldest, when in a window */
	unsigned		 deques;	/* NEED_*_EXTREMES */
	size_t			 extremes;	/* the window the deques cover */
	struct alert_deque	 cpu_min, cpu_max, memory_min, memory_max;
	struct alert_window	*windows;	/* per window of the rules */
	size_t			 nwindows;
	double			*values;	/* windows × ALERT_NMETRICS; NAN: no data */
	uint16_t		*applies;	/* the rules that apply; NULL: all */
	uint64_t		*active;	/* bits per applies: pending or firing */
	size_t			 nactive;	/* bits set */
	uint8_t			*selected;	/* per window and series: p95 this tick */
	size_t			 napplies;
	size_t			 size;		/* bytes of the allocation */
	struct alert_pair	*pairs;		/* per applies */
};

/* The rule applies[i] of a watch; whether it is pending or firing. */
#define ALERT_RULE_OF(w, i)	((w)->applies != NULL ? (w)->applies[i] : (i))
#define ALERT_ACTIVE(w, i)	(((w)->active[(i) / 64] >> ((i) % 64)) & 1)
#define ALERT_ACTIVE_SET(w, i, on) do {					\
	if (on)								\
		(w)->active[(i) / 64] |= (uint64_t)1 << ((i) % 64);	\
	else								\
		(w)->active[(i) / 64] &= ~((uint64_t)1 << ((i) % 64));	\
} while (0)

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

static int
alert_cmp_slot(const void *a, const void *b, void *arg)
{
	const struct alert_check	*c = arg;
	uint16_t			 x = *(const uint16_t *)a;
	uint16_t			 y = *(const uint16_t *)b;

	if (c[x].slot != c[y].slot)
		return c[x].slot < c[y].slot ? -1 : 1;
	return (x > y) - (x < y);
}

/* Group the rules by the metric and window they read (alert_group). */
static void
alert_rules_group(struct alert_rules *rs)
{
	struct alert_group	*g = NULL;
	const struct alert_check *c;
	size_t			 i;

	rs->order = xcalloc(rs->nrules, sizeof *rs->order);
	rs->groups = xcalloc(rs->nrules, sizeof *rs->groups);
	for (i = 0; i < rs->nrules; i++)
		rs->order[i] = (uint16_t)i;
	qsort_r(rs->order, rs->nrules, sizeof *rs->order, alert_cmp_slot,
	    rs->checks);
	for (i = 0; i < rs->nrules; i++) {
		c = &rs->checks[rs->order[i]];
		if (g == NULL || g->slot != c->slot) {
			g = &rs->groups[rs->ngroups++];
			g->slot = c->slot;
			g->start = (uint32_t)i;
			g->p95 = c->p95;
			g->above = INFINITY;
			g->below = -INFINITY;
		}
		g->count++;
		if ((c->op == AO_GT || c->op == AO_GE) && c->threshold < g->above)
			g->above = c->threshold;
		if ((c->op == AO_LT || c->op == AO_LE) && c->threshold > g->below)
			g->below = c->threshold;
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
	rs->checks = xcalloc(al->nrules, sizeof *rs->checks);
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
		rs->checks[i].threshold = al->rules[i].value;
		rs->checks[i].op = (uint8_t)al->rules[i].op;
		rs->checks[i].p95 = al->rules[i].metric == AM_CPU_P95 ||
		    al->rules[i].metric == AM_MEMORY_P95;
		rs->checks[i].slot = (uint32_t)(j * ALERT_NMETRICS +
		    al->rules[i].metric);
	}
	alert_rules_group(rs);
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
	free(rs->checks);
	free(rs->order);
	free(rs->groups);
	free(rs->windows);
	free(rs->window_of);
	free(rs->scratch);
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
		return NEED_CPU | NEED_CPU_EXTREMES;
	case AM_MEMORY_AVG:
		return NEED_MEMORY;
	case AM_MEMORY_MIN:
	case AM_MEMORY_MAX:
	case AM_MEMORY_P95:
		return NEED_MEMORY | NEED_MEMORY_EXTREMES;
	case AM_EVENTS:
	case AM_EVENTS_PER_MIN:
		break;
	}
	return 0;
}

/* The metrics a window computes for one: p95's bounds are min and max. */
static unsigned
alert_metric_computes(enum alert_metric m)
{
	switch (m) {
	case AM_CPU_P95:
		return 1u << AM_CPU_MIN | 1u << AM_CPU_MAX;
	case AM_MEMORY_P95:
		return 1u << AM_MEMORY_MIN | 1u << AM_MEMORY_MAX;
	default:
		break;
	}
	return 1u << m;
}

static void
alert_deque_free(struct alert_deque *d)
{
	if (d->e != d->inl)
		free(d->e);
	d->e = NULL;
	d->cap = d->head = d->len = 0;
}

void
alert_watch_free(struct alert_watch *w)
{
	if (w == NULL)
		return;
	alert_deque_free(&w->cpu_min);
	alert_deque_free(&w->cpu_max);
	alert_deque_free(&w->memory_min);
	alert_deque_free(&w->memory_max);
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
	size_t			 i, k, size;
	unsigned		 need;

	alert_watch_free(old);
	/*
	 * What a tick reads, in the order it reads it, in one allocation:
	 * the hardware prefetcher streams it in, where separate pieces
	 * would be a cache miss each (a tick visits 1000 plugins' state,
	 * long out of the cache since the last tick).
	 */
	for (i = 0, k = 0; i < rs->nrules; i++)
		k += alert_rule_applies(&rs->rules[i], plugin);
	size = sizeof *w + rs->nwindows * sizeof *w->windows +
	    rs->nwindows * ALERT_NMETRICS * sizeof *w->values +
	    (rs->nrules + 63) / 64 * sizeof *w->active +
	    (k < rs->nrules ? k * sizeof *w->applies : 0) + rs->nwindows * 2;
	w = xcalloc(1, size);
	w->size = size;
	w->windows = (struct alert_window *)(w + 1);
	w->values = (double *)(w->windows + rs->nwindows);
	w->active = (uint64_t *)(w->values + rs->nwindows * ALERT_NMETRICS);
	w->applies = k < rs->nrules ?
	    (uint16_t *)(w->active + (rs->nrules + 63) / 64) : NULL;
	w->selected = (uint8_t *)(w->applies != NULL ? w->applies + k :
	    (uint16_t *)(w->active + (rs->nrules + 63) / 64));
	w->generation = rs->generation;
	w->ring = ring;
	w->pairs = xcalloc(rs->nrules, sizeof *w->pairs);
	w->nwindows = rs->nwindows;
	for (k = 0; k < rs->nwindows; k++) {
		w->windows[k].seconds = rs->windows[k];
		w->windows[k].values = &w->values[k * ALERT_NMETRICS];
		for (i = 0; i < ALERT_NMETRICS; i++)
			w->windows[k].values[i] = NAN;
	}
	for (i = 0; i < rs->nrules; i++) {
		r = &rs->rules[i];
		if (!alert_rule_applies(r, plugin))
			continue;
		k = rs->window_of[i];
		need = alert_metric_need(r->metric);
		w->windows[k].need |= need & (NEED_CPU | NEED_MEMORY);
		w->windows[k].metrics |= alert_metric_computes(r->metric);
		if ((need & (NEED_CPU_EXTREMES | NEED_MEMORY_EXTREMES)) &&
		    (w->deques == 0 || rs->windows[k] >
		    rs->windows[w->extremes]))
			w->extremes = k;
		w->deques |= need & (NEED_CPU_EXTREMES | NEED_MEMORY_EXTREMES);
		/* CONFIG_MAX_ALERT_RULES is 1000: an index fits 16 bits. */
		if (w->applies != NULL)
			w->applies[w->napplies] = (uint16_t)i;
		a = alert_find(book, r->name, plugin);
		if (a != NULL && a->firing) {
			w->pairs[w->napplies].firing = 1;
			ALERT_ACTIVE_SET(w, w->napplies, 1);
			w->nactive++;
		}
		w->napplies++;
	}
	return w;
}

/* Room for one more entry in a deque: in place, then doubling. */
static void
alert_deque_grow(struct alert_deque *d)
{
	struct alert_entry	*e;
	uint32_t		 cap, i;

	if (d->e == NULL) {
		d->e = d->inl;
		d->cap = ALERT_DEQUE_INLINE;
	}
	if (d->len < d->cap)
		return;
	cap = d->cap * 2;
	e = xreallocarray(NULL, cap, sizeof *e);
	for (i = 0; i < d->len; i++)
		e[i] = d->e[(d->head + i) & (d->cap - 1)];
	if (d->e != d->inl)
		free(d->e);
	d->e = e;
	d->cap = cap;
	d->head = 0;
}

/*
 * A value comes in: the candidates it beats (for max: not greater than
 * it; for min: not less) can never be the extreme again, and go.
 */
static void
alert_deque_push(struct alert_deque *d, uint32_t v, uint32_t seq, int max)
{
	uint32_t	back;

	while (d->len > 0) {
		back = (d->head + d->len - 1) & (d->cap - 1);
		if (max ? d->e[back].value > v : d->e[back].value < v)
			break;
		d->len--;
	}
	alert_deque_grow(d);
	back = (d->head + d->len) & (d->cap - 1);
	d->e[back].value = v;
	d->e[back].seq = seq;
	d->len++;
}

/* A sample comes into (add) or leaves a window's sums. */
static int
alert_window_take(struct alert_window *win, const struct metrics_sample *s,
    int add)
{
	if ((win->need & NEED_CPU) && s->cpu_centi != METRICS_CPU_NONE) {
		if (add) {
			win->cpu.sum += s->cpu_centi;
			win->cpu.n++;
		} else if (win->cpu.n == 0 || win->cpu.sum < s->cpu_centi)
			return -1;
		else {
			win->cpu.sum -= s->cpu_centi;
			win->cpu.n--;
		}
	}
	if ((win->need & NEED_MEMORY) && s->pid != 0) {
		if (add) {
			win->memory.sum += s->rss_kib;
			win->memory.n++;
		} else if (win->memory.n == 0 || win->memory.sum < s->rss_kib)
			return -1;
		else {
			win->memory.sum -= s->rss_kib;
			win->memory.n--;
		}
	}
	return 0;
}

/* A sample comes into the deques, with its sequence number. */
static void
alert_watch_push(struct alert_watch *w, const struct metrics_sample *s,
    uint32_t seq)
{
	if ((w->deques & NEED_CPU_EXTREMES) && s->cpu_centi != METRICS_CPU_NONE) {
		alert_deque_push(&w->cpu_min, s->cpu_centi, seq, 0);
		alert_deque_push(&w->cpu_max, s->cpu_centi, seq, 1);
	}
	if ((w->deques & NEED_MEMORY_EXTREMES) && s->pid != 0) {
		alert_deque_push(&w->memory_min, s->rss_kib, seq, 0);
		alert_deque_push(&w->memory_max, s->rss_kib, seq, 1);
	}
}

/* Samples before seq start have left the deques' window. */
static void
alert_deque_expire(struct alert_deque *d, uint32_t start)
{
	/* Sequence numbers wrap: compare their difference. */
	while (d->len > 0 && (int32_t)(d->e[d->head].seq - start) < 0) {
		d->head = (d->head + 1) & (d->cap - 1);
		d->len--;
	}
}

/* The extreme of the samples from seq start on: the first entry there. */
static uint32_t
alert_deque_from(const struct alert_deque *d, uint32_t start)
{
	uint32_t	i, at;

	for (i = 0; i < d->len; i++) {
		at = (d->head + i) & (d->cap - 1);
		if ((int32_t)(d->e[at].seq - start) >= 0)
			return d->e[at].value;
	}
	return 0;	/* not reached: a series with samples has an entry */
}

/* Note what the next update needs to know about the ring. */
static void
alert_watch_mark(struct alert_watch *w, const struct sample_ring *ring)
{
	size_t	count = ring_count(ring), k;

	w->ring_count = count;
	w->newest = *ring_get(ring, count - 1);
	/* The ring's oldest may be pushed out next: keep what leaves with it. */
	for (k = 0; k < w->nwindows; k++) {
		if (w->windows[k].metrics != 0 && w->windows[k].n == count) {
			w->oldest = *ring_get(ring, 0);
			break;
		}
	}
	w->primed = 1;
}

/*
 * Take every window whole from the ring: at start, and when unsure. The
 * sample at ring index i gets sequence number i + 1.
 */
static void
alert_watch_rebuild(struct alert_watch *w, const struct sample_ring *ring)
{
	struct alert_window	*win;
	struct metrics_window	 mw;
	size_t			 count = ring_count(ring), first, i, k;
	double			 newest;

	w->cpu_min.len = w->cpu_max.len = 0;
	w->memory_min.len = w->memory_max.len = 0;
	newest = ring_sample_time(ring, ring_get(ring, count - 1));
	for (k = 0; k < w->nwindows; k++) {
		win = &w->windows[k];
		memset(&win->cpu, 0, sizeof win->cpu);
		memset(&win->memory, 0, sizeof win->memory);
		mw = metrics_window_since(newest - win->seconds);
		win->n = ring_window(ring, &mw, &first);
		for (i = first; i < count; i++)
			alert_window_take(win, ring_get(ring, i), 1);
	}
	w->seq = (uint32_t)count;
	if (w->deques) {
		for (i = count - w->windows[w->extremes].n; i < count; i++)
			alert_watch_push(w, ring_get(ring, i), (uint32_t)(i + 1));
	}
	alert_watch_mark(w, ring);
}

/*
 * Bring the windows up to the ring's newest sample: take it in, let go of
 * the samples now older than each window. One push since the last update
 * is the rule; anything else (or sums that do not add up) rebuilds.
 */
static void
alert_watch_update(struct alert_watch *w, const struct sample_ring *ring)
{
	const struct metrics_sample	*newest, *prev, *s;
	struct alert_window		*win;
	size_t				 count = ring_count(ring);
	size_t				 cap = ring_capacity(ring), k;
	double				 since, t;
	uint32_t			 start;
	int				 one, evicted, rc = 0;

	if (count == 0) {
		w->primed = 0;
		for (k = 0; k < w->nwindows; k++)
			w->windows[k].n = 0;
		return;
	}
	newest = ring_get(ring, count - 1);
	if (w->primed && count == w->ring_count &&
	    memcmp(newest, &w->newest, sizeof *newest) == 0)
		return;		/* nothing new */
	prev = count >= 2 ? ring_get(ring, count - 2) : NULL;
	if (!w->primed)
		one = 0;
	else if (w->ring_count == 0)
		one = count == 1;
	else
		one = (count == w->ring_count + 1 || (count == cap &&
		    w->ring_count == cap)) && prev != NULL &&
		    memcmp(prev, &w->newest, sizeof *prev) == 0;
	if (!one) {
		alert_watch_rebuild(w, ring);
		return;
	}
	/* A full ring dropped its oldest: in the windows that held all. */
	evicted = w->ring_count == cap;
	t = ring_sample_time(ring, newest);
	w->seq++;
	for (k = 0; k < w->nwindows && rc == 0; k++) {
		win = &w->windows[k];
		if (win->metrics == 0)
			continue;
		if (evicted && win->n == cap) {
			rc |= alert_window_take(win, &w->oldest, 0);
			win->n--;
		}
		alert_window_take(win, newest, 1);
		win->n++;
		since = t - win->seconds;
		while (rc == 0 && win->n > 1) {
			s = ring_get(ring, count - win->n);
			if (ring_sample_time(ring, s) >= since)
				break;
			rc |= alert_window_take(win, s, 0);
			win->n--;
		}
	}
	if (rc != 0) {
		alert_watch_rebuild(w, ring);
		return;
	}
	if (w->deques) {
		alert_watch_push(w, newest, w->seq);
		start = w->seq - (uint32_t)w->windows[w->extremes].n + 1;
		alert_deque_expire(&w->cpu_min, start);
		alert_deque_expire(&w->cpu_max, start);
		alert_deque_expire(&w->memory_min, start);
		alert_deque_expire(&w->memory_max, start);
	}
	alert_watch_mark(w, ring);
}

/* A window's value of each metric asked of it, but p95 (as stats.c has it). */
static void
alert_window_values(const struct alert_watch *w, struct alert_window *win,
    const struct sample_ring *ring)
{
	const struct metrics_sample	*first, *last;
	size_t				 count = ring_count(ring);
	uint32_t			 events, start;
	unsigned			 m;

	start = w->seq - (uint32_t)win->n + 1;
	for (m = 0; m < ALERT_NMETRICS; m++) {
		if (!(win->metrics & (1u << m)))
			continue;
		win->values[m] = NAN;
		if (win->n == 0)
			continue;
		switch ((enum alert_metric)m) {
		case AM_CPU_AVG:
			if (win->cpu.n > 0)
				win->values[m] = (double)win->cpu.sum /
				    win->cpu.n / 100.0;
			break;
		case AM_CPU_MIN:
			if (win->cpu.n > 0)
				win->values[m] = alert_deque_from(&w->cpu_min,
				    start) / 100.0;
			break;
		case AM_CPU_MAX:
			if (win->cpu.n > 0)
				win->values[m] = alert_deque_from(&w->cpu_max,
				    start) / 100.0;
			break;
		case AM_MEMORY_AVG:
			if (win->memory.n > 0)
				win->values[m] = (double)win->memory.sum /
				    win->memory.n / 1024.0;
			break;
		case AM_MEMORY_MIN:
			if (win->memory.n > 0)
				win->values[m] = alert_deque_from(
				    &w->memory_min, start) / 1024.0;
			break;
		case AM_MEMORY_MAX:
			if (win->memory.n > 0)
				win->values[m] = alert_deque_from(
				    &w->memory_max, start) / 1024.0;
			break;
		case AM_CPU_P95:
		case AM_MEMORY_P95:
			break;		/* selected when needed */
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

/*
 * The p95 of a window's series, selected from its samples as
 * metrics_aggregate selects it; NAN without samples.
 */
static double
alert_window_p95(struct alert_rules *rs, const struct alert_window *win,
    const struct sample_ring *ring, int memory)
{
	const struct metrics_sample	*s;
	size_t				 count = ring_count(ring), i, n = 0;

	if (win->n == 0 || (memory ? win->memory.n : win->cpu.n) == 0)
		return NAN;
	if (rs->scratch_len < win->n) {
		rs->scratch_len = win->n;
		rs->scratch = xreallocarray(rs->scratch, rs->scratch_len,
		    sizeof *rs->scratch);
	}
	for (i = count - win->n; i < count; i++) {
		s = ring_get(ring, i);
		if (memory && s->pid != 0)
			rs->scratch[n++] = s->rss_kib;
		else if (!memory && s->cpu_centi != METRICS_CPU_NONE)
			rs->scratch[n++] = s->cpu_centi;
	}
	return stats_p95_u32(rs->scratch, n) / (memory ? 1024.0 : 100.0);
}

/*
 * 1 if a rule on p95 cannot hold: p95 lies between the window's min and
 * max, so a threshold outside them decides without a selection.
 */
static int
alert_p95_ruled_out(const struct alert_check *c, const double *values)
{
	size_t	base = c->slot - c->slot % ALERT_NMETRICS;
	int	memory = c->slot % ALERT_NMETRICS == AM_MEMORY_P95;
	double	lo = values[base + (memory ? AM_MEMORY_MIN : AM_CPU_MIN)];
	double	hi = values[base + (memory ? AM_MEMORY_MAX : AM_CPU_MAX)];

	if (isnan(lo))
		return 1;	/* no samples: no rule holds */
	switch (c->op) {
	case AO_GT:
		return !(hi > c->threshold);
	case AO_GE:
		return !(hi >= c->threshold);
	case AO_LT:
		return !(lo < c->threshold);
	case AO_LE:
		return !(lo <= c->threshold);
	}
	return 0;
}

/* A p95 a rule needs this tick: selected once per window and series. */
static double
alert_p95(struct alert_rules *rs, struct alert_watch *w,
    const struct alert_check *c, const struct sample_ring *ring)
{
	size_t	k = c->slot / ALERT_NMETRICS;
	int	memory = c->slot % ALERT_NMETRICS == AM_MEMORY_P95;

	if (!w->selected[k * 2 + memory]) {
		w->values[c->slot] = alert_window_p95(rs, &w->windows[k], ring,
		    memory);
		w->selected[k * 2 + memory] = 1;
	}
	return w->values[c->slot];
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
    const char *plugin, struct alert_pair *pair, size_t rule, double v,
    int holds, const struct alert_time *now)
{
	const struct alert_rule_config	*r = &rs->rules[rule];
	struct alert			*a;
	char				 text[ALERT_TEXT_MAX], status[128];
	char				 now_text[96], span[32];

	if (holds) {
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
 * Ask the CPU to fetch a plugin's watch while the one before it is
 * evaluated: a tick goes through every plugin's state, out of the cache
 * since the last tick, and the misses then overlap the work instead of
 * adding to it.
 */
void
alert_watch_prefetch(const struct alert_watch *w)
{
	const char	*p = (const char *)w;
	size_t		 off;

	if (w == NULL)
		return;
	for (off = 0; off < w->size; off += 64)
		__builtin_prefetch(p + off);
}

/*
 * Rule applies[i] on a plugin this tick: holds or not, and what follows
 * (pending, firing, resolved). A p95 is selected only if min and max do not
 * rule the rule out.
 */
static void
alert_check_rule(struct alert_rules *rs, struct alert_book *book,
    const char *plugin, struct alert_watch *w, size_t i,
    const struct sample_ring *ring, const struct alert_time *now)
{
	const struct alert_check	*c = &rs->checks[ALERT_RULE_OF(w, i)];
	struct alert_pair		*pair;
	double				 v;
	int				 holds, was = ALERT_ACTIVE(w, i), is;

	if (c->p95) {
		if (!was && alert_p95_ruled_out(c, w->values))
			return;
		v = alert_p95(rs, w, c, ring);
	} else
		v = w->values[c->slot];
	switch (c->op) {
	case AO_GT:
		holds = v > c->threshold;
		break;
	case AO_GE:
		holds = v >= c->threshold;
		break;
	case AO_LT:
		holds = v < c->threshold;
		break;
	case AO_LE:
	default:
		holds = v <= c->threshold;
		break;
	}
	if (!holds && !was)
		return;
	pair = &w->pairs[i];
	alert_pair_eval(rs, book, plugin, pair, ALERT_RULE_OF(w, i), v, holds,
	    now);
	is = pair->pending || pair->firing;
	if (is != was) {
		ALERT_ACTIVE_SET(w, i, is);
		w->nactive += is ? 1 : (size_t)-1;
	}
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
	const struct alert_group *g;
	double			 lo, hi;
	size_t			 i, k;

	if (rs == NULL)
		return;
	if (w == NULL || w->generation != rs->generation || w->ring != ring)
		*watchp = w = alert_watch_build(rs, book, plugin, ring, w);
	if (w->napplies == 0)
		return;
	alert_watch_update(w, ring);
	for (k = 0; k < w->nwindows; k++) {
		win = &w->windows[k];
		if (win->metrics != 0)
			alert_window_values(w, win, ring);
	}
	memset(w->selected, 0, w->nwindows * 2);
	if (w->applies != NULL || w->nactive > 0) {
		for (i = 0; i < w->napplies; i++)
			alert_check_rule(rs, book, plugin, w, i, ring, now);
		return;
	}
	/*
	 * Every rule applies and none is pending or firing, as on a healthy
	 * bot: a group of rules whose thresholds the value is nowhere near
	 * costs one compare (NAN, no data, compares false).
	 */
	for (k = 0; k < rs->ngroups; k++) {
		g = &rs->groups[k];
		if (g->p95) {
			/* p95 is between min and max (next to it in values). */
			lo = w->values[g->slot - (AM_CPU_P95 - AM_CPU_MIN)];
			hi = w->values[g->slot - (AM_CPU_P95 - AM_CPU_MAX)];
		} else
			lo = hi = w->values[g->slot];
		if (!(hi >= g->above) && !(lo <= g->below))
			continue;
		for (i = g->start; i < g->start + g->count; i++)
			alert_check_rule(rs, book, plugin, w, rs->order[i], ring,
			    now);
	}
}

/*
 * What each rule on this plugin saw at the last tick, for `alerts` (a
 * p95 is selected here if the tick did not need it).
 */
void
alert_watch_report(struct alert_rules *rs, struct alert_watch *w,
    const char *plugin, alert_seen_fn *fn, void *arg)
{
	struct alert_seen	 seen;
	const struct alert_check *c;
	const struct alert_pair	*pair;
	size_t			 i;

	if (rs == NULL || w == NULL || w->generation != rs->generation)
		return;
	for (i = 0; i < w->napplies; i++) {
		pair = &w->pairs[i];
		c = &rs->checks[ALERT_RULE_OF(w, i)];
		seen.rule = &rs->rules[ALERT_RULE_OF(w, i)];
		seen.value = c->p95 ? alert_p95(rs, w, c, w->ring) :
		    w->values[c->slot];
		seen.pending_since = pair->pending ? pair->pending_since : 0;
		seen.firing = pair->firing;
		fn(arg, plugin, &seen);
	}
}

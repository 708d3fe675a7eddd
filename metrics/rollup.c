/*
 * rollup.c: rollup tiers behind the raw ring, and aggregates over windows
 * longer than the raw ring holds.
 *
 * Budget: the default tiers (raw 5 s x 1 h, 1 min x 24 h, 1 h x 30 d) must
 * fit 64 KiB per plugin. The raw ring is 17,280 bytes, which leaves 22 bytes
 * for each of the 2,160 buckets. So a bucket stores its counts exactly
 * (uint16), and its values as 16-bit floats of the integer fixed-point units
 * the raw ring uses (centi-percent, KiB): 11 bits of mantissa, exact below
 * 2048 and within 0.025 % above, up to 4.4e12. The p95 is stored as its
 * position between min and max in 1/255 steps. Measured: 64,800 bytes of
 * buckets and rings per plugin (docs/metrics.md).
 *
 * A bucket is written once, when it ends (the first raw sample past its end
 * arrives): tier 0 from the raw samples in it, with the exact nearest-rank
 * p95 of those; tier k from the buckets of tier k - 1 in it, with the p95
 * estimated by rollup_estimate_p95(). A bucket with no samples (the daemon
 * was down) stays empty: a gap, never made-up values.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "metrics/metrics-int.h"

struct rollup_bucket {
	uint16_t	samples;	/* 0: no data */
	uint16_t	mem_n;
	uint16_t	cpu_n;
	uint16_t	events;		/* f16 */
	uint16_t	cpu_min, cpu_max, cpu_avg;	/* f16, centi-percent */
	uint16_t	mem_min, mem_max, mem_avg;	/* f16, KiB */
	uint8_t		cpu_p95, mem_p95;	/* position in [min, max] */
};
_Static_assert(sizeof(struct rollup_bucket) == 22,
    "struct rollup_bucket must stay 22 bytes");

struct rollup_tier {
	double			resolution;
	size_t			capacity;
	int			have_head;
	int64_t			head;	/* newest bucket written */
	int64_t			origin;	/* the first head: slots before it
					   were never written */
	int64_t			first;	/* oldest non-empty bucket kept */
	int64_t			base;	/* the bucket in slot 0 (see rollup_slot) */
	size_t			allocated;	/* slots in b; the rest are empty */
	struct rollup_bucket	*b;
};

/*
 * A tier's buckets are allocated as they are written: 16 first (352
 * bytes), then doubling up to the capacity. Every slot at or past
 * `allocated` is an empty bucket, so clearing one there is nothing to do
 * and only a bucket with samples makes the array grow. Allocated whole
 * (31,680 and 15,840 bytes for the default tiers) each tier kept at least
 * the page of its first slot resident apart from every other plugin's:
 * measured with 1000 bench_idle plugins after 120 s, the raw ring and the
 * two tiers allocated whole cost 12.8 MB of the daemon's 23.3 MB PSS
 * (10.8 MB with a one-sample ring and no tiers); allocated as they fill,
 * see ring.c for the figure.
 */
#define ROLLUP_FIRST_ALLOC	16

/* Largest f16: (2048 + 2047) << 30. */
#define ROLLUP_F16_MAX	4396972769280.0

/* Encode a non-negative value as a 16-bit float of 11 mantissa bits. */
static uint16_t
rollup_f16(double v)
{
	double		x;
	uint32_t	e, q;

	if (!(v > 0))
		return 0;
	if (v >= ROLLUP_F16_MAX)
		return 0xffff;
	if (v < 2047.5)
		return (uint16_t)(v + 0.5);
	/* Exponent 1 holds 2048..4095 in steps of 1, 2 the next octave. */
	x = v;
	e = 1;
	while (x >= 4095.5) {
		x /= 2;
		e++;
	}
	q = (uint32_t)(x + 0.5);
	if (q >= 4096) {
		q = 2048;
		e++;
	}
	if (e > 31)
		return 0xffff;
	return (uint16_t)(e << 11 | (q - 2048));
}

/* Decode rollup_f16(). */
static double
rollup_f16_value(uint16_t f)
{
	uint32_t	e = f >> 11, m = f & 0x7ff;

	if (e == 0)
		return m;
	return (double)((uint64_t)(2048 + m) << (e - 1));
}

/* p95's place between min and max, 0..255. */
static uint8_t
rollup_pos(double v, double min, double max)
{
	double	x;

	if (!(max > min) || !(v > min))
		return 0;
	if (v >= max)
		return 255;
	x = (v - min) / (max - min) * 255.0 + 0.5;
	return (uint8_t)(x > 255 ? 255 : x);
}

/* Whole buckets before a wall time (times are after 1970: positive). */
static int64_t
rollup_bucket_of(double wall, double resolution)
{
	double	b = wall / resolution;

	if (!(b > 0))
		return 0;
	if (b >= 9e18)
		return INT64_MAX / 2;
	return (int64_t)b;
}

/* Slot of a bucket number in the ring. */
static size_t
rollup_slot(const struct rollup_tier *t, int64_t bucket)
{
	int64_t	cap = (int64_t)t->capacity;
	int64_t	slot = (bucket - t->base) % cap;

	/*
	 * Counted from the first bucket the tier held (base), not from the
	 * epoch: a new tier fills from slot 0, beside its header, instead of
	 * from a slot the clock picks in the middle of the array. The array
	 * is not written ahead, so an idle daemon's 1000 plugins kept two
	 * pages (8 KiB) each resident for two tiers holding a few buckets.
	 * It also keeps the slots in use at the front of the array, which
	 * is what lets the array grow as the tier fills (rollup_room).
	 */
	return (size_t)(slot < 0 ? slot + cap : slot);
}

/* Bytes a tier of this capacity occupies once full. */
size_t
rollup_memory_bytes_for(size_t capacity)
{
	return sizeof(struct rollup_tier) +
	    capacity * sizeof(struct rollup_bucket);
}

/* Bytes this tier occupies now: its header and the buckets allocated. */
size_t
rollup_memory_bytes(const struct rollup_tier *t)
{
	return sizeof(struct rollup_tier) +
	    t->allocated * sizeof(struct rollup_bucket);
}

/* The bucket in a slot; NULL if the slot was never allocated (empty). */
static struct rollup_bucket *
rollup_at(const struct rollup_tier *t, size_t slot)
{
	return slot < t->allocated ? &t->b[slot] : NULL;
}

/* Empty the bucket in a slot (nothing to do past the allocated ones). */
static void
rollup_clear(struct rollup_tier *t, size_t slot)
{
	if (slot < t->allocated)
		memset(&t->b[slot], 0, sizeof *t->b);
}

/*
 * Allocate slots up to and including slot: doubling, at least to slot + 1,
 * at most the capacity. realloc keeps every bucket in its slot; the new
 * ones are empty.
 */
static void
rollup_room(struct rollup_tier *t, size_t slot)
{
	size_t	n;

	if (slot < t->allocated)
		return;
	n = t->allocated == 0 ? ROLLUP_FIRST_ALLOC : 2 * t->allocated;
	if (n < slot + 1)
		n = slot + 1;
	if (n > t->capacity)
		n = t->capacity;
	t->b = xreallocarray(t->b, n, sizeof *t->b);
	memset(&t->b[t->allocated], 0, (n - t->allocated) * sizeof *t->b);
	t->allocated = n;
}

/* Bytes one stored bucket takes in a state file. */
size_t
rollup_bucket_bytes(void)
{
	return sizeof(struct rollup_bucket);
}

/* Allocate an empty tier. */
struct rollup_tier *
rollup_new(double resolution, size_t capacity)
{
	struct rollup_tier	*t;

	if (capacity == 0 || capacity > ROLLUP_MAX_BUCKETS ||
	    !(resolution >= 1))
		fatalx("rollup_new: bad shape %g x %zu", resolution, capacity);
	/*
	 * No buckets yet: they come as the tier fills (rollup_room), so a new
	 * plugin's month of tiers costs what it holds, and memory grows as
	 * history does. A slot counts only from the first head on (origin).
	 */
	t = xcalloc(1, sizeof *t);
	t->resolution = resolution;
	t->capacity = capacity;
	return t;
}

void
rollup_free(struct rollup_tier *t)
{
	if (t == NULL)
		return;
	free(t->b);
	free(t);
}

double
rollup_resolution(const struct rollup_tier *t)
{
	return t->resolution;
}

size_t
rollup_capacity(const struct rollup_tier *t)
{
	return t->capacity;
}

/* The newest bucket written, if any: 0, else -1. */
int
rollup_head(const struct rollup_tier *t, int64_t *bucket)
{
	if (!t->have_head)
		return -1;
	*bucket = t->head;
	return 0;
}

/* The oldest non-empty bucket held, if any: 0, else -1. */
int
rollup_first(const struct rollup_tier *t, int64_t *bucket)
{
	if (!t->have_head || t->first > t->head)
		return -1;
	*bucket = t->first;
	return 0;
}

/* Whether a bucket number is inside the ring's reach. */
static int
rollup_held(const struct rollup_tier *t, int64_t bucket)
{
	return t->have_head && bucket <= t->head && bucket >= t->origin &&
	    bucket > t->head - (int64_t)t->capacity;
}

/* Decode one bucket: 0, or -1 if it is out of reach or empty. */
int
rollup_get(const struct rollup_tier *t, int64_t bucket,
    struct rollup_summary *s)
{
	const struct rollup_bucket	*b;
	double				 cmin, cmax, mmin, mmax;

	if (!rollup_held(t, bucket))
		return -1;
	b = rollup_at(t, rollup_slot(t, bucket));
	if (b == NULL || b->samples == 0)
		return -1;
	memset(s, 0, sizeof *s);
	s->start = (double)bucket * t->resolution;
	s->end = s->start + t->resolution;
	s->samples = b->samples;
	s->mem_n = b->mem_n;
	s->cpu_n = b->cpu_n;
	s->events = rollup_f16_value(b->events);
	if (b->cpu_n > 0) {
		cmin = rollup_f16_value(b->cpu_min);
		cmax = rollup_f16_value(b->cpu_max);
		s->cpu_min = cmin / 100.0;
		s->cpu_max = cmax / 100.0;
		s->cpu_sum = rollup_f16_value(b->cpu_avg) / 100.0 * b->cpu_n;
		s->cpu_p95 = (cmin + (cmax - cmin) * b->cpu_p95 / 255.0) /
		    100.0;
	}
	if (b->mem_n > 0) {
		mmin = rollup_f16_value(b->mem_min);
		mmax = rollup_f16_value(b->mem_max);
		s->mem_min = mmin;
		s->mem_max = mmax;
		s->mem_sum = rollup_f16_value(b->mem_avg) * b->mem_n;
		s->mem_p95 = mmin + (mmax - mmin) * b->mem_p95 / 255.0;
	}
	return 0;
}

/* Counts saturate: the config keeps a bucket under 65536 samples. */
static uint16_t
rollup_count(double n)
{
	if (!(n > 0))
		return 0;
	if (n >= UINT16_MAX)
		return UINT16_MAX;
	return (uint16_t)(n + 0.5);
}

/* Recompute the oldest non-empty bucket after the head moved past it. */
static void
rollup_find_first(struct rollup_tier *t)
{
	int64_t	b;

	b = t->head - (int64_t)t->capacity + 1;
	if (b < t->origin)
		b = t->origin;
	for (; b <= t->head; b++) {
		const struct rollup_bucket *x = rollup_at(t, rollup_slot(t, b));

		if (x != NULL && x->samples != 0) {
			t->first = b;
			return;
		}
	}
	t->first = t->head + 1;
}

/* Move the head to a newer bucket, emptying the slots it passes. */
static void
rollup_move_head(struct rollup_tier *t, int64_t bucket)
{
	int64_t	b, from;

	if (!t->have_head) {
		t->have_head = 1;
		t->head = bucket;
		t->origin = bucket;
		t->base = bucket;
		t->first = bucket + 1;
		return;
	}
	from = t->head + 1;
	if (bucket - from >= (int64_t)t->capacity)
		from = bucket - (int64_t)t->capacity + 1;
	for (b = from; b <= bucket; b++)
		rollup_clear(t, rollup_slot(t, b));
	t->head = bucket;
	if (t->first <= t->head - (int64_t)t->capacity)
		rollup_find_first(t);
}

/*
 * Write a bucket. One newer than the head moves the head (buckets between
 * stay empty: a gap); one older than the ring's reach is ignored.
 */
void
rollup_put(struct rollup_tier *t, int64_t bucket,
    const struct rollup_summary *s)
{
	struct rollup_bucket	*b;
	double			 cmin, cmax, mmin, mmax;
	size_t			 slot;

	if (t->have_head && bucket <= t->head - (int64_t)t->capacity)
		return;
	if (!t->have_head || bucket > t->head)
		rollup_move_head(t, bucket);
	/* An older bucket than any yet: clear the never-written slots between. */
	for (; t->origin > bucket; t->origin--)
		rollup_clear(t, rollup_slot(t, t->origin - 1));
	slot = rollup_slot(t, bucket);
	rollup_clear(t, slot);
	if (!(s->samples > 0))
		return;
	rollup_room(t, slot);
	b = &t->b[slot];
	b->samples = rollup_count(s->samples);
	b->mem_n = rollup_count(s->mem_n);
	b->cpu_n = rollup_count(s->cpu_n);
	b->events = rollup_f16(s->events);
	if (b->cpu_n > 0) {
		b->cpu_min = rollup_f16(s->cpu_min * 100.0);
		b->cpu_max = rollup_f16(s->cpu_max * 100.0);
		b->cpu_avg = rollup_f16(s->cpu_sum / s->cpu_n * 100.0);
		cmin = rollup_f16_value(b->cpu_min);
		cmax = rollup_f16_value(b->cpu_max);
		b->cpu_p95 = rollup_pos(s->cpu_p95 * 100.0, cmin, cmax);
	}
	if (b->mem_n > 0) {
		b->mem_min = rollup_f16(s->mem_min);
		b->mem_max = rollup_f16(s->mem_max);
		b->mem_avg = rollup_f16(s->mem_sum / s->mem_n);
		mmin = rollup_f16_value(b->mem_min);
		mmax = rollup_f16_value(b->mem_max);
		b->mem_p95 = rollup_pos(s->mem_p95, mmin, mmax);
	}
	if (bucket < t->first)
		t->first = bucket;
}

/* One bucket's bytes as stored (a state file keeps them as they are). */
void
rollup_bucket_encode(const struct rollup_tier *t, int64_t bucket,
    unsigned char *out)
{
	const struct rollup_bucket	*b = rollup_at(t, rollup_slot(t, bucket));

	if (b != NULL)
		memcpy(out, b, sizeof *b);
	else
		memset(out, 0, sizeof *b);
}

/*
 * Whether stored bytes cannot be a bucket: counts out of order, values in
 * an empty one, min above max. (The f16 encoding orders like the values.)
 */
static int
rollup_bucket_bad(const struct rollup_bucket *b)
{
	static const struct rollup_bucket	zero;

	if (b->samples == 0)
		return memcmp(b, &zero, sizeof *b) != 0;
	return b->mem_n > b->samples || b->cpu_n > b->mem_n ||
	    (b->cpu_n > 0 && b->cpu_min > b->cpu_max) ||
	    (b->mem_n > 0 && b->mem_min > b->mem_max);
}

/*
 * Load n consecutive buckets ending at head, as a state file stores them,
 * into an empty tier: every bucket is checked first, then they are copied
 * in at most two runs. Returns -1 (tier untouched) if one cannot be a
 * bucket. Only the newest capacity buckets are kept.
 */
int
rollup_load(struct rollup_tier *t, int64_t head, const unsigned char *in,
    size_t n)
{
	struct rollup_bucket	b;
	size_t			i, slot, run;
	int64_t			first = head + 1;

	if (t->have_head || n == 0)
		return n == 0 ? 0 : -1;
	for (i = 0; i < n; i++) {
		memcpy(&b, in + i * sizeof b, sizeof b);
		if (rollup_bucket_bad(&b))
			return -1;
		if (b.samples != 0 && first > head)
			first = head - (int64_t)(n - 1 - i);
	}
	if (n > t->capacity) {
		in += (n - t->capacity) * sizeof b;
		n = t->capacity;
	}
	t->have_head = 1;
	t->head = head;
	t->origin = head - (int64_t)n + 1;
	t->base = t->origin;
	slot = rollup_slot(t, head - (int64_t)n + 1);
	run = t->capacity - slot < n ? t->capacity - slot : n;
	rollup_room(t, run < n ? t->capacity - 1 : slot + n - 1);
	memcpy(&t->b[slot], in, run * sizeof b);
	memcpy(&t->b[0], in + run * sizeof b, (n - run) * sizeof b);
	t->first = first;
	if (t->first <= t->head - (int64_t)t->capacity)
		rollup_find_first(t);
	return 0;
}

/* Wall time of the oldest bucket any tier holds; 0 if none. */
double
rollup_oldest(struct rollup_tier *const *tiers, size_t ntiers)
{
	double	oldest = 0, t;
	size_t	k;

	for (k = 0; k < ntiers; k++) {
		if (!tiers[k]->have_head || tiers[k]->first > tiers[k]->head)
			continue;
		t = (double)tiers[k]->first * tiers[k]->resolution;
		if (oldest == 0 || t < oldest)
			oldest = t;
	}
	return oldest;
}

/*
 * The estimator. Each bucket is modelled from what it keeps: of its n
 * values, k + 1 (k = its nearest-rank p95 index) lie evenly in [min, p95],
 * the rest evenly in (p95, max]. The window's p95 is where the modelled
 * count of values at or below it first reaches the window's nearest rank,
 * found by bisection. A raw sample is a bucket of one (a step). Chosen over
 * "nearest rank of the buckets' p95s" by measurement: docs/metrics.md.
 */
static double
rollup_model_count(const struct rollup_summary *s, double v, int cpu)
{
	double	n, min, max, p95, lower, upper, c = 0;
	size_t	k;

	n = cpu ? s->cpu_n : s->mem_n;
	if (n <= 0)
		return 0;
	min = cpu ? s->cpu_min : s->mem_min;
	max = cpu ? s->cpu_max : s->mem_max;
	p95 = cpu ? s->cpu_p95 : s->mem_p95;
	if (v < min)
		return 0;
	if (v >= max)
		return n;
	k = stats_p95_index((size_t)n);
	lower = (double)k + 1;
	upper = n - lower;
	if (p95 > min)
		c += lower * (v >= p95 ? 1 : (v - min) / (p95 - min));
	else
		c += lower;
	if (v > p95 && max > p95)
		c += upper * (v - p95) / (max - p95);
	return c;
}

/* p95 of a window from its bucket summaries (see the model above). */
double
rollup_estimate_p95(const struct rollup_summary *s, size_t n, int cpu)
{
	double	lo = 0, hi = 0, total = 0, want, mid, v;
	size_t	i;
	int	first = 1, round;

	for (i = 0; i < n; i++) {
		double cnt = cpu ? s[i].cpu_n : s[i].mem_n;

		if (cnt <= 0)
			continue;
		total += cnt;
		v = cpu ? s[i].cpu_min : s[i].mem_min;
		if (first || v < lo)
			lo = v;
		v = cpu ? s[i].cpu_max : s[i].mem_max;
		if (first || v > hi)
			hi = v;
		first = 0;
	}
	if (total <= 0)
		return 0;
	want = (double)stats_p95_index((size_t)(total + 0.5)) + 1;
	/* Smallest v whose modelled count reaches want, to 1e-4 of the range. */
	for (round = 0; round < 48 && hi - lo > 1e-9; round++) {
		double	c = 0;

		mid = lo + (hi - lo) / 2;
		for (i = 0; i < n; i++)
			c += rollup_model_count(&s[i], mid, cpu);
		if (c >= want - 1e-9)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* Fold one summary into a running total (p95 left to the estimator). */
static void
rollup_fold(struct rollup_summary *acc, const struct rollup_summary *s)
{
	if (s->cpu_n > 0) {
		if (acc->cpu_n == 0 || s->cpu_min < acc->cpu_min)
			acc->cpu_min = s->cpu_min;
		if (acc->cpu_n == 0 || s->cpu_max > acc->cpu_max)
			acc->cpu_max = s->cpu_max;
		acc->cpu_sum += s->cpu_sum;
		acc->cpu_n += s->cpu_n;
	}
	if (s->mem_n > 0) {
		if (acc->mem_n == 0 || s->mem_min < acc->mem_min)
			acc->mem_min = s->mem_min;
		if (acc->mem_n == 0 || s->mem_max > acc->mem_max)
			acc->mem_max = s->mem_max;
		acc->mem_sum += s->mem_sum;
		acc->mem_n += s->mem_n;
	}
	acc->samples += s->samples;
	acc->events += s->events;
}

/* One raw sample as a summary of one; events since the sample before it. */
static void
rollup_point(const struct sample_ring *ring, size_t i,
    struct rollup_summary *s)
{
	const struct metrics_sample	*x = ring_get(ring, i), *prev;

	memset(s, 0, sizeof *s);
	s->start = s->end = ring_sample_time(ring, x);
	s->samples = 1;
	if (i > 0 && (prev = ring_get(ring, i - 1)) != NULL)
		s->events = (uint32_t)(x->events - prev->events);
	if (sample_has_cpu(x)) {
		s->cpu_n = 1;
		s->cpu_min = s->cpu_max = s->cpu_p95 = s->cpu_sum =
		    sample_cpu_percent(x);
	}
	if (x->pid != 0) {
		s->mem_n = 1;
		s->mem_min = s->mem_max = s->mem_p95 = s->mem_sum = x->rss_kib;
	}
}

/* Index of the first raw sample at or after a wall time. */
static size_t
rollup_ring_from(const struct sample_ring *ring, double wall)
{
	struct metrics_window	w = metrics_window_since(wall);
	size_t			first;

	ring_window(ring, &w, &first);
	return first;
}

/* Merge summaries into one bucket of [start, end), p95 estimated. */
static void
rollup_merge(const struct rollup_summary *s, size_t n, double start,
    double end, struct rollup_summary *out)
{
	size_t	i;

	memset(out, 0, sizeof *out);
	out->start = start;
	out->end = end;
	for (i = 0; i < n; i++)
		rollup_fold(out, &s[i]);
	out->cpu_p95 = rollup_estimate_p95(s, n, 1);
	out->mem_p95 = rollup_estimate_p95(s, n, 0);
}

/* Tier 0's bucket from the raw samples in it, with their exact p95. */
static void
rollup_close_raw(struct rollup_tier *t, const struct sample_ring *ring,
    int64_t bucket)
{
	struct rollup_summary	 acc, one;
	double			 start, end;
	uint32_t		*cpu, *mem;
	size_t			 i, from, n, ncpu = 0, nmem = 0;

	start = (double)bucket * t->resolution;
	end = start + t->resolution;
	from = rollup_ring_from(ring, start);
	for (n = 0; from + n < ring_count(ring); n++)
		if (ring_sample_time(ring, ring_get(ring, from + n)) >= end)
			break;
	if (n == 0)
		return;
	cpu = xreallocarray(NULL, 2 * n, sizeof *cpu);
	mem = cpu + n;
	memset(&acc, 0, sizeof acc);
	acc.start = start;
	acc.end = end;
	for (i = 0; i < n; i++) {
		const struct metrics_sample *x = ring_get(ring, from + i);

		rollup_point(ring, from + i, &one);
		rollup_fold(&acc, &one);
		if (sample_has_cpu(x))
			cpu[ncpu++] = x->cpu_centi;
		if (x->pid != 0)
			mem[nmem++] = x->rss_kib;
	}
	acc.cpu_p95 = stats_p95_u32(cpu, ncpu) / 100.0;
	acc.mem_p95 = stats_p95_u32(mem, nmem);
	free(cpu);
	rollup_put(t, bucket, &acc);
}

/* Tier k's bucket from tier k - 1's buckets in it. */
static void
rollup_close_tier(struct rollup_tier *t, const struct rollup_tier *finer,
    int64_t bucket)
{
	struct rollup_summary	*parts, acc;
	int64_t			 ratio, b, from;
	size_t			 n = 0;

	ratio = (int64_t)(t->resolution / finer->resolution + 0.5);
	if (ratio < 1)
		return;
	parts = xreallocarray(NULL, (size_t)ratio, sizeof *parts);
	from = bucket * ratio;
	for (b = from; b < from + ratio; b++)
		if (rollup_get(finer, b, &parts[n]) == 0)
			n++;
	if (n > 0) {
		rollup_merge(parts, n, (double)bucket * t->resolution,
		    (double)(bucket + 1) * t->resolution, &acc);
		rollup_put(t, bucket, &acc);
	}
	free(parts);
}

/*
 * Before a raw sample taken at wall is pushed: close every bucket that
 * sample ends, finest tier first, so each coarser bucket finds the finer
 * ones it is made of already written.
 */
void
rollup_advance(struct rollup_tier **tiers, size_t ntiers,
    const struct sample_ring *ring, double wall)
{
	const struct metrics_sample	*latest = ring_latest(ring);
	double				 last;
	int64_t				 open;
	size_t				 k;

	if (latest == NULL)
		return;
	last = ring_sample_time(ring, latest);
	for (k = 0; k < ntiers; k++) {
		open = rollup_bucket_of(last, tiers[k]->resolution);
		if (rollup_bucket_of(wall, tiers[k]->resolution) <= open)
			break;
		if (k == 0)
			rollup_close_raw(tiers[0], ring, open);
		else
			rollup_close_tier(tiers[k], tiers[k - 1], open);
	}
}

/* A growing array of summaries. */
struct rollup_list {
	struct rollup_summary	*s;
	size_t			 n, cap;
};

static struct rollup_summary *
rollup_list_add(struct rollup_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->s = xreallocarray(l->s, l->cap, sizeof *l->s);
	}
	return &l->s[l->n++];
}

/* Fill aggregates from the summaries of a window. */
static int
rollup_finish(const struct rollup_list *l, const struct sample_ring *ring,
    struct metrics_aggregates *agg)
{
	struct rollup_summary			 acc;
	const struct metrics_sample		*latest;
	size_t					 i;

	memset(agg, 0, sizeof *agg);
	memset(&acc, 0, sizeof acc);
	for (i = 0; i < l->n; i++)
		rollup_fold(&acc, &l->s[i]);
	if (acc.samples <= 0)
		return -1;
	agg->sample_count = (size_t)acc.samples;
	agg->cpu_samples = (size_t)acc.cpu_n;
	agg->memory_samples = (size_t)acc.mem_n;
	agg->first_time = l->s[0].start;
	agg->last_time = l->s[l->n - 1].end;
	agg->time_span_seconds = agg->last_time - agg->first_time;
	if (acc.cpu_n > 0) {
		agg->cpu.min = acc.cpu_min;
		agg->cpu.max = acc.cpu_max;
		agg->cpu.avg = acc.cpu_sum / acc.cpu_n;
		agg->cpu.p95 = rollup_estimate_p95(l->s, l->n, 1);
	}
	if (acc.mem_n > 0) {
		agg->memory_mb.min = acc.mem_min / 1024.0;
		agg->memory_mb.max = acc.mem_max / 1024.0;
		agg->memory_mb.avg = acc.mem_sum / acc.mem_n / 1024.0;
		agg->memory_mb.p95 = rollup_estimate_p95(l->s, l->n, 0) /
		    1024.0;
	}
	agg->events = (uint32_t)(acc.events > UINT32_MAX ? UINT32_MAX :
	    acc.events);
	if (agg->time_span_seconds > 0)
		agg->events_per_minute = acc.events * 60.0 /
		    agg->time_span_seconds;
	if ((latest = ring_latest(ring)) != NULL)
		agg->latest = *latest;
	return 0;
}

/* Aggregates of [since, now] from the finest data that covers it. */
int
rollup_aggregate(struct rollup_tier *const *tiers, size_t ntiers,
    const struct sample_ring *ring, double history_seconds, double since,
    double now, struct metrics_aggregates *agg, struct rollup_query *q)
{
	struct metrics_window	 w = metrics_window_since(since);
	struct rollup_list	 l = { NULL, 0, 0 };
	struct rollup_tier	*t;
	double			 bound = since;
	int64_t			 b, head, from;
	size_t			 k, pick, i;
	int			 rc, j;

	memset(q, 0, sizeof *q);
	if (ntiers == 0 || now - since <= history_seconds + 1e-6) {
		q->p95_exact = 1;
		q->covered_seconds = history_seconds;
		return metrics_aggregate(ring, &w, agg, NULL);
	}
	pick = ntiers - 1;
	for (k = 0; k < ntiers; k++) {
		if (tiers[k]->resolution * (double)tiers[k]->capacity >=
		    now - since - 1e-6) {
			pick = k;
			break;
		}
	}
	q->resolution = tiers[pick]->resolution;
	q->covered_seconds = tiers[pick]->resolution *
	    (double)tiers[pick]->capacity;

	/* Coarse buckets first, then finer ones for what they lack yet. */
	for (j = (int)pick; j >= 0; j--) {
		t = tiers[j];
		if (rollup_head(t, &head) != 0)
			continue;
		from = rollup_bucket_of(bound, t->resolution);
		if (from <= head - (int64_t)t->capacity)
			from = head - (int64_t)t->capacity + 1;
		for (b = from; b <= head; b++)
			if (rollup_get(t, b, rollup_list_add(&l)) != 0)
				l.n--;
		if ((double)(head + 1) * t->resolution > bound)
			bound = (double)(head + 1) * t->resolution;
	}
	for (i = rollup_ring_from(ring, bound); i < ring_count(ring); i++)
		rollup_point(ring, i, rollup_list_add(&l));
	if (l.n > 0) {
		/* The first sample counts no events from before the window. */
		if (l.s[0].start == l.s[0].end)
			l.s[0].events = 0;
	}
	rc = l.n > 0 ? rollup_finish(&l, ring, agg) : -1;
	if (rc != 0)
		memset(agg, 0, sizeof *agg);
	free(l.s);
	return rc;
}

/*
 * Whether dst's buckets can be made exactly from src's: the same
 * resolution, or a whole multiple of it (min, max, avg, counts and events
 * add up exactly; the p95 is estimated, as in any coarser tier).
 */
int
rollup_convertible(const struct rollup_tier *src, const struct rollup_tier *dst)
{
	double	q = dst->resolution / src->resolution;

	return q >= 1 && q == (double)(long long)q;
}

/* Fill dst from src's buckets (see rollup_convertible). */
void
rollup_convert(struct rollup_tier *dst, const struct rollup_tier *src)
{
	int64_t	ratio, b, first, head;

	if (!rollup_convertible(src, dst) || rollup_first(src, &first) != 0)
		return;
	head = src->head;
	ratio = (int64_t)(dst->resolution / src->resolution);
	if (ratio == 1) {
		struct rollup_summary	s;

		if (first < head - (int64_t)dst->capacity + 1)
			first = head - (int64_t)dst->capacity + 1;
		for (b = first; b <= head; b++)
			if (rollup_get(src, b, &s) == 0)
				rollup_put(dst, b, &s);
		return;
	}
	first /= ratio;
	head /= ratio;
	if (first < head - (int64_t)dst->capacity + 1)
		first = head - (int64_t)dst->capacity + 1;
	for (b = first; b <= head; b++)
		rollup_close_tier(dst, src, b);
}

/*
 * ring.c: the per-plugin sample ring and the fixed-point sample fields.
 *
 * The ring's capacity is fixed when the plugin is first configured; its
 * samples are allocated as they come (ring_grow), and once the ring is full
 * pushes overwrite the oldest sample in place and never allocate. The ring
 * outlives the plugin's processes: history is keyed by name, not pid.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "metrics/metrics-int.h"

struct sample_ring {
	size_t			 capacity;
	size_t			 allocated;	/* slots in samples */
	size_t			 head;	/* next slot to write */
	size_t			 count;
	double			 epoch;	/* wall seconds of time_ds == 0 */
	struct metrics_sample	*samples;
};

/*
 * The first allocation of samples: 32 of them (768 bytes, 160 s at 5 s).
 * A ring of 720 allocated whole at the plugin's configuration (17 KB, as
 * this ring was) put its samples' first page apart from every other
 * plugin's: with 1000 idle plugins after 120 s, each ring held 24 samples
 * (576 bytes) and kept a page of its own resident, and the tiers behind it
 * did the same (rollup.c). Allocated as they come, the first samples of
 * every plugin are pushed on the same tick and lie together in the heap.
 * Measured with the tiers allocated the same way (rollup.c), 1000
 * bench_idle plugins, default history, 120 s idle, three interleaved runs
 * each: daemon PSS 23,381 / 23,531 / 23,555 KiB before, 10,428 / 11,120 /
 * 10,160 after; of that, history is now about 1.3 KB a plugin (768 bytes
 * of samples, 352 of minute buckets, the headers); after 300 s (64
 * samples allocated) PSS was 11,686 KiB. It grows with the samples: full
 * after an hour (17 KB a plugin), the same as before. With
 * 0.1 s sampling to fill 1000 rings in 72 s (tiers 1 s x 1440, 60 s x
 * 720), PSS was 37.7 MB before and 29.7 MB after: growing by doubling
 * leaves no holes the heap keeps.
 */
#define RING_FIRST_ALLOC	32

/* Store a CPU percentage in hundredths; negative or NaN means no delta. */
void
sample_set_cpu(struct metrics_sample *s, double percent)
{
	double	centi;

	if (isnan(percent) || percent < 0) {
		s->cpu_centi = METRICS_CPU_NONE;
		return;
	}
	centi = round_nearest(percent * 100.0);
	/* The sentinel is not a value: saturate one below it. */
	if (centi >= (double)(METRICS_CPU_NONE - 1))
		s->cpu_centi = METRICS_CPU_NONE - 1;
	else
		s->cpu_centi = (uint32_t)centi;
}

/* Store RSS in KiB, saturating at 4 TiB. */
void
sample_set_rss_kib(struct metrics_sample *s, uint64_t kib)
{
	s->rss_kib = kib > UINT32_MAX ? UINT32_MAX : (uint32_t)kib;
}

/*
 * Store the cumulative event counter. Only the low 32 bits are kept: rates
 * use the unsigned difference, which is right across a wrap.
 */
void
sample_set_events(struct metrics_sample *s, uint64_t events)
{
	s->events = (uint32_t)events;
}

/* Store the restart count, saturating. */
void
sample_set_restarts(struct metrics_sample *s, unsigned int restarts)
{
	s->restarts = restarts > UINT16_MAX ? UINT16_MAX : (uint16_t)restarts;
}

/* Store the thread count, saturating at 255. */
void
sample_set_threads(struct metrics_sample *s, int threads)
{
	if (threads < 0)
		threads = 0;
	s->threads = threads > UINT8_MAX ? UINT8_MAX : (uint8_t)threads;
}

/* Whether the sample carries a CPU delta. */
int
sample_has_cpu(const struct metrics_sample *s)
{
	return s->cpu_centi != METRICS_CPU_NONE;
}

/* CPU in percent (100 = one core); -1 if the sample has no delta. */
double
sample_cpu_percent(const struct metrics_sample *s)
{
	if (s->cpu_centi == METRICS_CPU_NONE)
		return -1.0;
	return s->cpu_centi / 100.0;
}

/* RSS in bytes. */
uint64_t
sample_rss_bytes(const struct metrics_sample *s)
{
	return (uint64_t)s->rss_kib * 1024;
}

/* RSS in MB of 1048576 bytes, as the spec's memory_mb. */
double
sample_memory_mb(const struct metrics_sample *s)
{
	return s->rss_kib / 1024.0;
}

/*
 * Ring capacity for a history length and poll interval, as the spec's
 * int(history / interval), at least 1 and at most METRICS_RING_MAX. The
 * epsilon keeps 0.3 / 0.1 from becoming 2.
 */
size_t
metrics_ring_capacity(double history_seconds, double interval_seconds)
{
	double	n;

	if (!(interval_seconds > 0) || !(history_seconds > 0))
		return 1;
	n = floor(history_seconds / interval_seconds + 1e-9);
	if (n < 1)
		return 1;
	if (n > METRICS_RING_MAX)
		return METRICS_RING_MAX;
	return (size_t)n;
}

/* Bytes a ring of this capacity occupies once full. */
size_t
ring_memory_bytes_for(size_t capacity)
{
	return sizeof(struct sample_ring) +
	    capacity * sizeof(struct metrics_sample);
}

/* Allocate an empty ring; times are stored relative to epoch_wall. */
struct sample_ring *
ring_new(size_t capacity, double epoch_wall)
{
	struct sample_ring	*ring;

	if (capacity == 0 || capacity > METRICS_RING_MAX)
		fatalx("ring_new: bad capacity %zu", capacity);
	ring = xcalloc(1, sizeof *ring);
	ring->capacity = capacity;
	ring->epoch = epoch_wall;
	return ring;
}

/* Free a ring. */
void
ring_free(struct sample_ring *ring)
{
	if (ring == NULL)
		return;
	free(ring->samples);
	free(ring);
}

/*
 * Make room for slot head. Until the ring first wraps its samples are
 * slots 0 .. count - 1 in order, so growing (doubling, up to the capacity)
 * keeps every one of them where it was; the ring wraps only once it has
 * all its slots. Doubling copies each sample at most once on average.
 */
static void
ring_grow(struct sample_ring *ring)
{
	size_t	n;

	if (ring->head < ring->allocated)
		return;
	n = ring->allocated == 0 ? RING_FIRST_ALLOC : 2 * ring->allocated;
	if (n > ring->capacity || n < ring->allocated)
		n = ring->capacity;
	ring->samples = xreallocarray(ring->samples, n,
	    sizeof *ring->samples);
	ring->allocated = n;
}

/* Forget every sample, keeping the allocation and the epoch. */
void
ring_clear(struct sample_ring *ring)
{
	ring->head = 0;
	ring->count = 0;
}

/* Deciseconds since the epoch for a wall time, clamped to uint32. */
static uint32_t
ring_encode_time(const struct sample_ring *ring, double wall)
{
	double	ds;

	ds = round_nearest((wall - ring->epoch) * 10.0);
	if (!(ds > 0))
		return 0;
	if (ds >= UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)ds;
}

/*
 * Append a sample taken at wall_time, overwriting the oldest when full. The
 * sample's time_ds is set here. A wall clock stepped backwards is clamped to
 * the newest sample's time: windows binary-search on time and spans must not
 * go negative.
 */
void
ring_push(struct sample_ring *ring, double wall_time,
    const struct metrics_sample *s)
{
	struct metrics_sample	*slot;
	uint32_t		 t;

	t = ring_encode_time(ring, wall_time);
	if (ring->count > 0) {
		const struct metrics_sample *last = ring_latest(ring);
		if (t < last->time_ds)
			t = last->time_ds;
	}
	ring_grow(ring);
	slot = &ring->samples[ring->head];
	*slot = *s;
	slot->time_ds = t;
	if (++ring->head == ring->capacity)
		ring->head = 0;
	if (ring->count < ring->capacity)
		ring->count++;
}

/* Number of samples held. */
size_t
ring_count(const struct sample_ring *ring)
{
	return ring->count;
}

/* Number of samples the ring can hold. */
size_t
ring_capacity(const struct sample_ring *ring)
{
	return ring->capacity;
}

/* Wall time of time_ds == 0. */
double
ring_epoch(const struct sample_ring *ring)
{
	return ring->epoch;
}

/* The i-th sample, 0 = oldest; NULL if out of range. */
const struct metrics_sample *
ring_get(const struct sample_ring *ring, size_t i)
{
	size_t	slot;

	if (i >= ring->count)
		return NULL;
	/* head - count is the oldest slot, modulo capacity. */
	slot = ring->head + ring->capacity - ring->count + i;
	if (slot >= ring->capacity)
		slot -= ring->capacity;
	return &ring->samples[slot];
}

/* The newest sample, NULL if empty. */
const struct metrics_sample *
ring_latest(const struct sample_ring *ring)
{
	if (ring->count == 0)
		return NULL;
	return ring_get(ring, ring->count - 1);
}

/* A sample's time as wall seconds. */
double
ring_sample_time(const struct sample_ring *ring,
    const struct metrics_sample *s)
{
	return ring->epoch + s->time_ds / 10.0;
}

/* Bytes this ring occupies now (header and the samples allocated so far). */
size_t
ring_memory_bytes(const struct sample_ring *ring)
{
	return sizeof(struct sample_ring) +
	    ring->allocated * sizeof(struct metrics_sample);
}

/* A window over everything retained. */
struct metrics_window
metrics_window_all(void)
{
	struct metrics_window	w = { .kind = WINDOW_ALL };

	return w;
}

/* A window over the newest n samples. */
struct metrics_window
metrics_window_last(size_t n)
{
	struct metrics_window	w = { .kind = WINDOW_LAST, .last = n };

	return w;
}

/* A window over samples taken at or after a wall time. */
struct metrics_window
metrics_window_since(double wall)
{
	struct metrics_window	w = { .kind = WINDOW_SINCE, .since = wall };

	return w;
}

/*
 * Resolve a window to logical indices [*first, *first + count) and return
 * count. Times are nondecreasing (ring_push clamps), so "since" is a binary
 * search for the first sample at or after it.
 */
size_t
ring_window(const struct sample_ring *ring, const struct metrics_window *w,
    size_t *first)
{
	size_t	lo, hi, mid;

	*first = 0;
	switch (w->kind) {
	case WINDOW_ALL:
		return ring->count;
	case WINDOW_LAST:
		if (w->last >= ring->count)
			return ring->count;
		*first = ring->count - w->last;
		return w->last;
	case WINDOW_SINCE:
		lo = 0;
		hi = ring->count;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (ring_sample_time(ring, ring_get(ring, mid)) <
			    w->since)
				lo = mid + 1;
			else
				hi = mid;
		}
		*first = lo;
		return ring->count - lo;
	}
	return 0;
}

/*
 * The samples of logical range [first, first + n) as at most two contiguous
 * runs, so hot loops walk plain arrays across the wrap point. Returns the
 * number of runs.
 */
int
ring_runs(const struct sample_ring *ring, size_t first, size_t n,
    const struct metrics_sample *run[2], size_t len[2])
{
	size_t	start, tail;

	if (n == 0)
		return 0;
	start = ring->head + ring->capacity - ring->count + first;
	if (start >= ring->capacity)
		start -= ring->capacity;
	tail = ring->capacity - start;
	run[0] = &ring->samples[start];
	if (n <= tail) {
		len[0] = n;
		return 1;
	}
	len[0] = tail;
	run[1] = &ring->samples[0];
	len[1] = n - tail;
	return 2;
}

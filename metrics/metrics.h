/*
 * metrics.h: per-plugin resource history, aggregates, /proc sampling and
 * crash records.
 *
 * Pure C: no libevent, no JSON. The daemon owns one sample_ring and one
 * crash_log per plugin name (so history survives restarts), one sampler for
 * all plugins, and calls sampler_read() once per poll tick with every live
 * pid. The field names follow the reference spec (cpu avg/min/max/p95,
 * memory_mb, time_span_seconds, events) so the JSON layer maps one to one.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One sample, 24 bytes, fixed point. The spec's snapshot was ~200 bytes; a
 * full hour at 5 s (720 samples) is 17 KB here. Never do arithmetic on the
 * raw fields: fill them with sample_set_*() (ring_push sets time_ds) and
 * read them back with the accessors below and ring_sample_time(), which
 * convert to percent, bytes, MB and wall seconds.
 */
struct metrics_sample {
	uint32_t	time_ds;	/* deciseconds since the ring's epoch */
	uint32_t	pid;		/* 0: no process at that time */
	uint32_t	rss_kib;	/* resident set size, KiB, saturating */
	uint32_t	cpu_centi;	/* 1/100 %, 100% = one core */
	uint32_t	events;		/* events routed, cumulative, wraps */
	uint16_t	restarts;	/* saturating */
	uint8_t		state;		/* the caller's plugin state enum */
	uint8_t		threads;	/* saturating at 255 */
};
_Static_assert(sizeof(struct metrics_sample) == 24,
    "struct metrics_sample must stay 24 bytes");

/* cpu_centi of a sample without a CPU delta (first after a (re)start). */
#define METRICS_CPU_NONE	UINT32_MAX

/* Largest ring accepted: a week at 1 s would be 604800; this is 24 MB. */
#define METRICS_RING_MAX	(1u << 20)

/* 1 MB as the spec's memory_mb counts it. */
#define METRICS_MB		1048576.0

void		 sample_set_cpu(struct metrics_sample *, double percent);
void		 sample_set_rss_kib(struct metrics_sample *, uint64_t kib);
void		 sample_set_events(struct metrics_sample *, uint64_t events);
void		 sample_set_restarts(struct metrics_sample *, unsigned int);
void		 sample_set_threads(struct metrics_sample *, int);
int		 sample_has_cpu(const struct metrics_sample *);
double		 sample_cpu_percent(const struct metrics_sample *);
uint64_t	 sample_rss_bytes(const struct metrics_sample *);
double		 sample_memory_mb(const struct metrics_sample *);

/*
 * Fixed-capacity ring of samples, allocated as it fills (doubling from 32
 * samples up to the capacity; no sample moves or is lost) and never after
 * it is full: ring_memory_bytes() is what it holds now,
 * ring_memory_bytes_for() what it holds full. Index 0 is the oldest.
 * Times are stored relative to the epoch given at creation, with 0.1 s
 * resolution, and never go backwards inside one ring (see ring_push).
 */
struct sample_ring;

size_t		 metrics_ring_capacity(double history_seconds,
		     double interval_seconds);
struct sample_ring *ring_new(size_t capacity, double epoch_wall);
void		 ring_free(struct sample_ring *);
void		 ring_push(struct sample_ring *, double wall_time,
		     const struct metrics_sample *);
void		 ring_clear(struct sample_ring *);
size_t		 ring_count(const struct sample_ring *);
size_t		 ring_capacity(const struct sample_ring *);
double		 ring_epoch(const struct sample_ring *);
const struct metrics_sample *ring_get(const struct sample_ring *, size_t);
const struct metrics_sample *ring_latest(const struct sample_ring *);
double		 ring_sample_time(const struct sample_ring *,
		     const struct metrics_sample *);
size_t		 ring_memory_bytes(const struct sample_ring *);
size_t		 ring_memory_bytes_for(size_t capacity);

/* Which samples a query covers. */
enum window_kind {
	WINDOW_ALL,		/* everything retained */
	WINDOW_LAST,		/* the newest n samples */
	WINDOW_SINCE,		/* samples with time >= since (wall seconds) */
};

struct metrics_window {
	enum window_kind kind;
	size_t		 last;
	double		 since;
};

struct metrics_window metrics_window_all(void);
struct metrics_window metrics_window_last(size_t);
struct metrics_window metrics_window_since(double wall);
size_t		 ring_window(const struct sample_ring *,
		     const struct metrics_window *, size_t *first);

/* avg/min/max/p95 of one series, in its natural unit. */
struct metrics_stats {
	double		avg;
	double		min;
	double		max;
	double		p95;
};

/*
 * Aggregates over a window. CPU stats cover only samples with a CPU delta
 * (cpu_samples of them); memory stats cover samples with a process
 * (memory_samples: pid != 0). A series with no samples has all zeros: look at
 * the count before printing it.
 */
struct metrics_aggregates {
	size_t			sample_count;
	size_t			cpu_samples;
	size_t			memory_samples;
	double			first_time;	/* wall seconds */
	double			last_time;
	double			time_span_seconds;
	struct metrics_stats	cpu;		/* percent, 100 = one core */
	struct metrics_stats	memory_mb;	/* MB of 1048576 bytes */
	uint32_t		events;		/* routed within the window */
	double			events_per_minute;
	struct metrics_sample	latest;
};

/*
 * scratch: NULL (then allocated per call) or metrics_scratch_len(ring)
 * values, reused across calls so a tick allocates nothing.
 */
size_t		 metrics_scratch_len(const struct sample_ring *);
int		 metrics_aggregate(const struct sample_ring *,
		     const struct metrics_window *,
		     struct metrics_aggregates *, uint32_t *scratch);

size_t		 stats_p95_index(size_t n);
double		 stats_p95(double *values, size_t n);
uint32_t	 stats_p95_u32(uint32_t *values, size_t n);
void		 stats_compute(double *values, size_t n,
		     struct metrics_stats *);
char		*metrics_format_uptime(double seconds, char *buf, size_t len);

/*
 * Rollup tiers: coarser history behind the raw ring (rrdtool's idea in our
 * own compact form). A tier is a fixed ring of buckets of `resolution`
 * seconds, bucket number = floor(wall / resolution), allocated as it fills
 * (rollup_memory_bytes: now; rollup_memory_bytes_for: full). Tier 0
 * is built from the raw ring, tier k from tier k - 1, when a bucket ends;
 * each bucket keeps sample counts, CPU and memory min / max / avg, a p95
 * estimate and the events routed in it (rollup.c says how, in 22 bytes).
 */
#define ROLLUP_MAX_TIERS	4
#define ROLLUP_MAX_BUCKETS	(1u << 20)

struct rollup_shape {
	double		resolution;	/* seconds, whole */
	size_t		capacity;	/* buckets: duration / resolution */
};

struct rollup_tier;

/* A bucket decoded: what a query or a merge works with. */
struct rollup_summary {
	double		start;		/* wall seconds */
	double		end;		/* exclusive */
	double		samples;	/* taken, with or without a process */
	double		mem_n;		/* with a process */
	double		cpu_n;		/* with a CPU delta */
	double		events;		/* routed */
	double		cpu_min, cpu_max, cpu_sum, cpu_p95;	/* percent */
	double		mem_min, mem_max, mem_sum, mem_p95;	/* KiB */
};

struct rollup_tier *rollup_new(double resolution, size_t capacity);
void		 rollup_free(struct rollup_tier *);
double		 rollup_resolution(const struct rollup_tier *);
size_t		 rollup_capacity(const struct rollup_tier *);
size_t		 rollup_memory_bytes_for(size_t capacity);
size_t		 rollup_memory_bytes(const struct rollup_tier *);
int		 rollup_head(const struct rollup_tier *, int64_t *bucket);
int		 rollup_first(const struct rollup_tier *, int64_t *bucket);
int		 rollup_get(const struct rollup_tier *, int64_t bucket,
		     struct rollup_summary *);
void		 rollup_put(struct rollup_tier *, int64_t bucket,
		     const struct rollup_summary *);
size_t		 rollup_bucket_bytes(void);
void		 rollup_bucket_encode(const struct rollup_tier *, int64_t,
		     unsigned char *);
int		 rollup_load(struct rollup_tier *, int64_t head,
		     const unsigned char *, size_t n);
void		 rollup_advance(struct rollup_tier **, size_t ntiers,
		     const struct sample_ring *, double wall);
double		 rollup_oldest(struct rollup_tier *const *, size_t ntiers);
int		 rollup_convertible(const struct rollup_tier *src,
		     const struct rollup_tier *dst);
void		 rollup_convert(struct rollup_tier *dst,
		     const struct rollup_tier *src);

/* p95 of a window from bucket summaries (the estimator, see rollup.c). */
double		 rollup_estimate_p95(const struct rollup_summary *, size_t n,
		     int cpu);

/*
 * Aggregates of the window [since, now] from the finest data that covers
 * it: the raw ring (exact p95) when history_seconds covers the window, else
 * the finest tier whose span does (or the coarsest), with finer tiers and the
 * raw ring for the part its buckets do not hold yet. *resolution is 0 for
 * the raw ring. Returns -1 if the window holds no samples.
 */
struct rollup_query {
	double		resolution;	/* s; 0: the raw ring */
	int		p95_exact;
	double		covered_seconds;	/* what that tier spans */
};

int		 rollup_aggregate(struct rollup_tier *const *, size_t ntiers,
		     const struct sample_ring *, double history_seconds,
		     double since, double now, struct metrics_aggregates *,
		     struct rollup_query *);

/*
 * One process as read from /proc. CPU% needs two readings of the same
 * process (same start_ticks): see metrics_cpu_percent().
 */
struct proc_reading {
	pid_t		pid;
	int		found;		/* 0: no such process (not an error) */
	char		state;		/* R, S, D, Z, T, ... */
	int		threads;
	uint64_t	ticks;		/* utime + stime, clock ticks */
	uint64_t	start_ticks;	/* since boot; differs if pid reused */
	uint64_t	rss_kib;
};

/*
 * Reads many pids per call: one procps_pids_select per 255 pids, results
 * mapped back to the request by pid (out[i] is always for pids[i]).
 */
struct sampler;

struct sampler	*sampler_new(void);
void		 sampler_free(struct sampler *);
const char	*sampler_error(void);
int		 sampler_read(struct sampler *, const pid_t *, size_t,
		     struct proc_reading *);
int		 sampler_read_self(struct sampler *, struct proc_reading *);

/*
 * A process's /proc/PID/stat and statm, kept open from its spawn to its
 * reap (so the pid cannot have been reused behind them): each tick reads
 * them with a pread. -1 where a file could not be opened; such a process is
 * read through sampler_read (libproc2) instead.
 */
struct proc_files {
	int	stat;
	int	statm;
};

void		 sampler_files_init(struct proc_files *);
int		 sampler_files_open(struct proc_files *, pid_t);
void		 sampler_files_close(struct proc_files *);
int		 sampler_read_files(const struct proc_files *, pid_t,
		     struct proc_reading *);
int		 sampler_parse_stat(const char *, struct proc_reading *);
long		 sampler_hz(void);
double		 metrics_cpu_percent(uint64_t prev_ticks, uint64_t cur_ticks,
		     double dt_seconds, long hz);

/* Why a plugin process ended without being asked to. */
enum crash_reason {
	CRASH_EXIT,
	CRASH_SIGNAL,
	CRASH_HUNG,
	CRASH_READY_TIMEOUT,
	CRASH_PROTOCOL,
	CRASH_MEMORY_LIMIT,
	CRASH_CPU_LIMIT,
	CRASH_SPAWN,		/* no process could be made */
};

struct crash_record {
	double		  wall_time;
	int		  pid;
	int		  exit_code;	/* -1 if signalled */
	int		  signal;	/* 0 if none */
	int		  core_dumped;
	double		  uptime;	/* seconds the process ran */
	enum crash_reason reason;
	char		 *detail;	/* optional, e.g. the protocol error */
	char		**stderr_lines;	/* last lines, oldest first */
	size_t		  nlines;
};

/*
 * Bounded ring of crash records for one plugin; oldest evicted first.
 * crashlog_push copies the record's strings; crashlog_get's pointer is valid
 * until the next push. metrics_signal_name's string is static.
 */
struct crash_log;

struct crash_log *crashlog_new(size_t capacity);
void		 crashlog_free(struct crash_log *);
void		 crashlog_push(struct crash_log *, const struct crash_record *);
size_t		 crashlog_count(const struct crash_log *);
size_t		 crashlog_capacity(const struct crash_log *);
const struct crash_record *crashlog_get(const struct crash_log *, size_t);
const struct crash_record *crashlog_latest(const struct crash_log *);
uint64_t	 crashlog_total(const struct crash_log *);
void		 crashlog_set_total(struct crash_log *, uint64_t);
const char	*crash_reason_name(enum crash_reason);
int		 crash_reason_from_name(const char *, enum crash_reason *);
const char	*metrics_signal_name(int);

/*
 * A state file: one plugin's history saved across daemon restarts (the raw
 * ring, the rollup tiers, the crash log and named counters). statefile.c
 * has the format; decoding checks every length, count and value, so a file
 * is either wholly trusted or refused with a reason.
 */
#define STATEFILE_VERSION	1
#define STATEFILE_MAX_BYTES	(256u << 20)
#define STATEFILE_MAX_COUNTERS	32
#define STATEFILE_COUNTER_NAME	32
#define STATEFILE_NAME_MAX	64

struct state_counter {
	char		name[STATEFILE_COUNTER_NAME];
	uint64_t	value;
};

struct state_history {
	char			 name[STATEFILE_NAME_MAX + 1];
	double			 saved_at;
	double			 poll_interval;
	struct state_counter	 counters[STATEFILE_MAX_COUNTERS];
	size_t			 ncounters;
	struct sample_ring	*ring;
	struct rollup_tier	*tiers[ROLLUP_MAX_TIERS];
	size_t			 ntiers;
	struct crash_log	*crashes;
};

enum statefile_error {
	STATEFILE_OK,
	STATEFILE_CORRUPT,	/* truncated, bad checksum, bad field */
	STATEFILE_NEWER,	/* a version this daemon does not know */
};

int		 statefile_encode(const struct state_history *,
		     unsigned char **, size_t *);
enum statefile_error statefile_decode(const unsigned char *, size_t,
		     struct state_history *, char **cause);
void		 statefile_clear(struct state_history *);
uint64_t	 statefile_hash(const unsigned char *, size_t);

#endif

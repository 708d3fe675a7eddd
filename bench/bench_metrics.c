/*
 * bench_metrics.c: cost of the metrics module against its targets.
 *
 *   sample tick (sampler_read over n live pids)  <= 60 us per plugin
 *   ... as the daemon reads (sampler_read_files)  <= 60 us per plugin
 *   ring memory, 720 samples (1 h at 5 s)         <= 20 KB per plugin
 *   metrics_aggregate over a full 720 ring        <= 20 us
 *
 * The floor for a tick is two pread()s per pid on /proc/PID/stat and
 * /proc/PID/statm kept open: what any /proc sampler has to pay. libproc2
 * pays more: per pid it opens and closes stat and statm, stats /proc/PID,
 * and (4.0.2's listed_nextpid, to learn the Tgid) reads /proc/PID/status,
 * the costliest of the three files; floor_status_us_per_plugin shows that
 * part alone. Prints one machine-readable line per measurement:
 * NAME key=value ... value=X.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "bench/bench.h"

#define BENCH_MAX_CHILDREN	1000
#define BENCH_RING		720

static double
bench_now(void)
{
	return bench_clock(CLOCK_MONOTONIC);
}

/* Fork n children that sleep until killed (or until we die). */
static void
bench_fork_children(pid_t *pids, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == -1)
			fatal("fork");
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(0);
			for (;;)
				pause();
		}
	}
}

static void
bench_reap_children(pid_t *pids, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++) {
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	}
}

/* Median microseconds of one sampler_read over n pids. */
static double
bench_sampler_tick(struct sampler *sm, const pid_t *pids, size_t n,
    int ticks)
{
	struct proc_reading	*out;
	double			*t, t0, med;
	int			 i;
	size_t			 j, found;

	out = xreallocarray(NULL, n, sizeof *out);
	t = xreallocarray(NULL, (size_t)ticks, sizeof *t);
	if (sampler_read(sm, pids, n, out) != 0)	/* warm up */
		fatal("sampler_read");
	for (i = 0; i < ticks; i++) {
		t0 = bench_now();
		if (sampler_read(sm, pids, n, out) != 0)
			fatal("sampler_read");
		t[i] = (bench_now() - t0) * 1e6;
	}
	for (found = 0, j = 0; j < n; j++)
		found += out[j].found != 0;
	if (found != n)
		fatalx("sampler_read found %zu of %zu", found, n);
	med = bench_median(t, (size_t)ticks);
	free(t);
	free(out);
	return med;
}

/*
 * Median microseconds of one tick as the daemon makes it: sampler_read_files
 * over each pid's kept-open stat and statm (the path every plugin takes
 * unless it ran short of descriptors at spawn).
 */
static double
bench_files_tick(const struct proc_files *files, const pid_t *pids, size_t n,
    int ticks)
{
	struct proc_reading	 r;
	double			*t, t0, med;
	int			 i;
	size_t			 j, found = 0;

	t = xreallocarray(NULL, (size_t)ticks, sizeof *t);
	for (i = 0; i < ticks; i++) {
		t0 = bench_now();
		for (j = 0; j < n; j++) {
			if (sampler_read_files(&files[j], pids[j], &r) != 0)
				fatal("sampler_read_files");
			found += r.found != 0;
		}
		t[i] = (bench_now() - t0) * 1e6;
	}
	if (found != n * (size_t)ticks)
		fatalx("sampler_read_files found %zu of %zu", found,
		    n * (size_t)ticks);
	med = bench_median(t, (size_t)ticks);
	free(t);
	return med;
}

/*
 * Parse what the sampler reads from stat and statm text: utime + stime,
 * start time, threads, state, resident pages. Enough to be a fair floor.
 */
static unsigned long long
bench_parse(const char *stat, const char *statm)
{
	unsigned long long	 utime = 0, stime = 0, start = 0, v;
	const char		*p;
	char			*end;
	int			 field;
	long			 threads = 0;

	if ((p = strrchr(stat, ')')) == NULL)
		return 0;
	p += 2;		/* field 3, state */
	for (field = 3; *p != '\0' && field <= 22; field++) {
		if (field == 3) {
			p += 2;
			continue;
		}
		v = strtoull(p, &end, 10);
		if (field == 14)
			utime = v;
		else if (field == 15)
			stime = v;
		else if (field == 20)
			threads = (long)v;
		else if (field == 22)
			start = v;
		p = *end == ' ' ? end + 1 : end;
	}
	v = strtoull(statm, &end, 10);			/* size */
	v = strtoull(end, NULL, 10);			/* resident */
	return utime + stime + start + (unsigned long long)threads + v;
}

/*
 * Median microseconds of reading every pid's stat and statm with pread on
 * descriptors kept open (three per pid: stat, statm, status); parse = 1
 * also parses the text, parse = -1 reads status alone instead.
 */
static double
bench_floor_tick(const int *fds, size_t n, int ticks, int parse)
{
	char			 stat[1024], statm[256], status[4096];
	double			*t, t0, med;
	unsigned long long	 sink = 0;
	ssize_t			 len;
	size_t			 j;
	int			 i;

	t = xreallocarray(NULL, (size_t)ticks, sizeof *t);
	for (i = -1; i < ticks; i++) {
		t0 = bench_now();
		for (j = 0; j < n; j++) {
			if (parse == -1) {
				/* /proc/PID/status only. */
				if (pread(fds[3 * j + 2], status,
				    sizeof status, 0) <= 0)
					fatal("pread status");
				continue;
			}
			len = pread(fds[3 * j], stat, sizeof stat - 1, 0);
			if (len <= 0)
				fatal("pread stat");
			stat[len] = '\0';
			len = pread(fds[3 * j + 1], statm, sizeof statm - 1, 0);
			if (len <= 0)
				fatal("pread statm");
			statm[len] = '\0';
			if (parse == 1)
				sink += bench_parse(stat, statm);
		}
		if (i >= 0)	/* i == -1 warms up */
			t[i] = (bench_now() - t0) * 1e6;
	}
	if (parse == 1 && sink == 0)
		fatalx("parse read nothing");
	med = bench_median(t, (size_t)ticks);
	free(t);
	return med;
}

static void
bench_sampling(void)
{
	static const size_t	 sizes[] = { 10, 100, 1000 };
	struct sampler		*sm;
	struct proc_files	*files;
	struct rlimit		 rl;
	pid_t			 pids[BENCH_MAX_CHILDREN];
	int			*fds, ticks;
	char			 path[64];
	size_t			 i, k, n;
	double			 us;

	/* Three descriptors per pid for the floor, two for the files. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < 5 * BENCH_MAX_CHILDREN + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	bench_fork_children(pids, BENCH_MAX_CHILDREN);
	if ((sm = sampler_new()) == NULL)
		fatal("sampler_new");

	fds = xreallocarray(NULL, 3 * BENCH_MAX_CHILDREN, sizeof *fds);
	for (i = 0; i < 3 * BENCH_MAX_CHILDREN; i++) {
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pids[i / 3],
		    i % 3 == 0 ? "stat" : i % 3 == 1 ? "statm" : "status");
		if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			fatal("open %s", path);
	}
	files = xreallocarray(NULL, BENCH_MAX_CHILDREN, sizeof *files);
	for (i = 0; i < BENCH_MAX_CHILDREN; i++) {
		if (sampler_files_open(&files[i], pids[i]) == -1)
			fatal("sampler_files_open %d", (int)pids[i]);
	}

	for (k = 0; k < nitems(sizes); k++) {
		n = sizes[k];
		ticks = n >= 1000 ? 21 : 101;
		us = bench_sampler_tick(sm, pids, n, ticks);
		printf("sample_tick_us n=%zu ticks=%d value=%.1f\n", n, ticks,
		    us);
		printf("sample_tick_us_per_plugin n=%zu value=%.2f "
		    "target=60\n", n, us / n);
		us = bench_files_tick(files, pids, n, ticks);
		printf("sample_tick_files_us_per_plugin n=%zu value=%.2f "
		    "target=60\n", n, us / n);
		us = bench_floor_tick(fds, n, ticks, 0);
		printf("floor_pread_us_per_plugin n=%zu value=%.2f\n", n,
		    us / n);
		us = bench_floor_tick(fds, n, ticks, 1);
		printf("floor_pread_parse_us_per_plugin n=%zu value=%.2f\n",
		    n, us / n);
		us = bench_floor_tick(fds, n, ticks, -1);
		printf("floor_status_us_per_plugin n=%zu value=%.2f\n", n,
		    us / n);
		fflush(stdout);
	}

	for (i = 0; i < 3 * BENCH_MAX_CHILDREN; i++)
		close(fds[i]);
	free(fds);
	for (i = 0; i < BENCH_MAX_CHILDREN; i++)
		sampler_files_close(&files[i]);
	free(files);
	sampler_free(sm);
	bench_reap_children(pids, BENCH_MAX_CHILDREN);
}

static void
bench_memory(void)
{
	struct sample_ring	*rings[1000];
	struct metrics_sample	 s = { .pid = 1 };
	size_t			 i, j, total = 0;

	/* A ring allocates its samples as they come: these hold a full hour. */
	for (i = 0; i < nitems(rings); i++) {
		rings[i] = ring_new(metrics_ring_capacity(3600, 5), 0);
		for (j = 0; j < ring_capacity(rings[i]); j++)
			ring_push(rings[i], 5.0 * (double)j, &s);
		total += ring_memory_bytes(rings[i]);
	}
	printf("ring_bytes_per_plugin samples=%zu value=%zu target=20480\n",
	    ring_capacity(rings[0]), ring_memory_bytes(rings[0]));
	printf("sample_bytes value=%zu\n", sizeof(struct metrics_sample));
	printf("ring_bytes_total plugins=%zu samples=%zu value=%zu\n",
	    nitems(rings), ring_capacity(rings[0]), total);
	printf("ring_bytes_per_plugin_7d_at_5s samples=%zu value=%zu\n",
	    metrics_ring_capacity(7 * 86400, 5),
	    ring_memory_bytes_for(metrics_ring_capacity(7 * 86400, 5)));
	for (i = 0; i < nitems(rings); i++)
		ring_free(rings[i]);
}

/*
 * A plugin's hour: mostly idle CPU with noise and occasional spikes, a
 * restart every so often (no CPU delta), memory drifting 30..60 MB.
 */
static void
bench_fill_ring(struct sample_ring *ring, size_t pushes)
{
	struct metrics_sample	s;
	unsigned int		seed = 42;
	double			cpu, mb = 40;
	size_t			i;

	for (i = 0; i < pushes; i++) {
		memset(&s, 0, sizeof s);
		s.pid = 1000 + (uint32_t)(i / 200);
		cpu = (rand_r(&seed) % 500) / 100.0;
		if (rand_r(&seed) % 20 == 0)
			cpu += rand_r(&seed) % 8000 / 100.0;
		if (i % 200 == 0)
			cpu = -1;
		mb += (rand_r(&seed) % 201 - 100) / 100.0;
		mb = mb < 30 ? 30 : mb > 60 ? 60 : mb;
		sample_set_cpu(&s, cpu);
		sample_set_rss_kib(&s, (uint64_t)(mb * 1024));
		sample_set_events(&s, i * 3);
		sample_set_threads(&s, 2);
		ring_push(ring, 1700000000.0 + 5.0 * i, &s);
	}
}

/* Median nanoseconds of one metrics_aggregate over a window. */
static double
bench_aggregate_ns(struct sample_ring *ring, struct metrics_window *w,
    uint32_t *scratch, int runs)
{
	struct metrics_aggregates	 agg;
	double				*t, t0, med, sink = 0;
	int				 i;

	t = xreallocarray(NULL, (size_t)runs, sizeof *t);
	for (i = 0; i < runs; i++) {
		t0 = bench_now();
		if (metrics_aggregate(ring, w, &agg, scratch) != 0)
			fatalx("empty window");
		t[i] = (bench_now() - t0) * 1e9;
		sink += agg.cpu.p95;
	}
	if (sink <= 0)
		fatalx("no p95");
	med = bench_median(t, (size_t)runs);
	free(t);
	return med;
}

static void
bench_aggregates(void)
{
	struct sample_ring	*ring = ring_new(BENCH_RING, 1700000000.0);
	struct metrics_window	 w;
	uint32_t		*scratch;
	double			 ns, clock_ns, t0;
	int			 i;

	scratch = xreallocarray(NULL, metrics_scratch_len(ring),
	    sizeof *scratch);
	bench_fill_ring(ring, BENCH_RING + 123);	/* wrapped */

	/* What the clock itself costs, reported so it can be discounted. */
	t0 = bench_now();
	for (i = 0; i < 100000; i++)
		(void)bench_now();
	clock_ns = (bench_now() - t0) * 1e9 / 100000;

	w = metrics_window_all();
	ns = bench_aggregate_ns(ring, &w, scratch, 20001);
	printf("aggregate_ns samples=%zu runs=20001 value=%.0f "
	    "target=20000\n", ring_count(ring), ns);
	w = metrics_window_last(60);
	ns = bench_aggregate_ns(ring, &w, scratch, 20001);
	printf("aggregate_ns samples=60 runs=20001 value=%.0f\n", ns);
	ns = bench_aggregate_ns(ring, &w, NULL, 20001);
	printf("aggregate_noscratch_ns samples=60 runs=20001 value=%.0f\n",
	    ns);
	printf("clock_overhead_ns value=%.0f\n", clock_ns);
	free(scratch);
	ring_free(ring);
}

int
main(void)
{
	log_init("bench_metrics", 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("hz value=%ld\n", sampler_hz());
	bench_memory();
	bench_aggregates();
	bench_sampling();
	return 0;
}

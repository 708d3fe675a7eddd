/*
 * bench_state.c: writes full state files, as a daemon that has run a month
 * would leave them, so `make bench` can time loading, saving and 30-day
 * queries on full tiers without waiting a month.
 *
 *   bench_state DIR PREFIX N
 *
 * writes DIR/PREFIX0.state .. DIR/PREFIX<N-1>.state, each with the default
 * shape: 720 raw samples at 5 s, 1440 minute buckets and 720 hour buckets,
 * all ending now, and 10 crash records of 10 stderr lines. Prints
 * "bytes_per_file=B".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "metrics/metrics.h"

/* A summary with plausible, varying values. */
static void
bench_summary(struct rollup_summary *s, double n, unsigned seed)
{
	double	cpu = (seed % 97) / 10.0, kib = 20000 + (seed % 1000) * 7;

	memset(s, 0, sizeof *s);
	s->samples = s->mem_n = s->cpu_n = n;
	s->events = seed % 50;
	s->cpu_min = cpu / 2;
	s->cpu_max = cpu * 3 + 1;
	s->cpu_sum = cpu * n;
	s->cpu_p95 = cpu * 2;
	s->mem_min = kib - 500;
	s->mem_max = kib + 800;
	s->mem_sum = kib * n;
	s->mem_p95 = kib + 600;
}

int
main(int argc, char **argv)
{
	struct state_history	 h;
	struct metrics_sample	 smp;
	struct rollup_summary	 s;
	struct crash_record	 cr;
	char			 path[4096], line[10][128], *lines[10];
	unsigned char		*buf;
	size_t			 len = 0;
	double			 now = clock_wall();
	int64_t			 b, head;
	int			 n, i, j, fd;

	if (argc != 4 || (n = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: bench_state DIR PREFIX N\n");
		return 2;
	}
	for (j = 0; j < 10; j++) {
		snprintf(line[j], sizeof line[j], "worker %d: traceback line "
		    "%d of the last crash, as a plugin writes it", j, j);
		lines[j] = line[j];
	}
	for (i = 0; i < n; i++) {
		memset(&h, 0, sizeof h);
		snprintf(h.name, sizeof h.name, "%s%d", argv[2], i);
		h.saved_at = now;
		h.poll_interval = 5;
		h.ring = ring_new(720, now - 3600);
		for (j = 0; j < 720; j++) {
			memset(&smp, 0, sizeof smp);
			smp.pid = 1000 + (uint32_t)i;
			sample_set_cpu(&smp, (j % 13) / 10.0);
			sample_set_rss_kib(&smp, 20000 + (uint64_t)(j % 50));
			sample_set_events(&smp, (uint64_t)j);
			ring_push(h.ring, now - 3600 + 5.0 * j, &smp);
		}
		h.tiers[0] = rollup_new(60, 1440);
		h.tiers[1] = rollup_new(3600, 720);
		h.ntiers = 2;
		head = (int64_t)(now / 60) - 1;
		for (b = head - 1439; b <= head; b++) {
			bench_summary(&s, 12, (unsigned)(b + i));
			rollup_put(h.tiers[0], b, &s);
		}
		head = (int64_t)(now / 3600) - 1;
		for (b = head - 719; b <= head; b++) {
			bench_summary(&s, 720, (unsigned)(b * 7 + i));
			rollup_put(h.tiers[1], b, &s);
		}
		h.crashes = crashlog_new(64);
		for (j = 0; j < 10; j++) {
			memset(&cr, 0, sizeof cr);
			cr.wall_time = now - 86400 + j * 3600;
			cr.pid = 2000 + j;
			cr.exit_code = -1;
			cr.signal = 11;
			cr.uptime = 100;
			cr.reason = CRASH_SIGNAL;
			cr.stderr_lines = lines;
			cr.nlines = 10;
			crashlog_push(h.crashes, &cr);
		}
		statefile_encode(&h, &buf, &len);
		snprintf(path, sizeof path, "%s/%s.state", argv[1], h.name);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
		    write(fd, buf, len) != (ssize_t)len || close(fd) == -1) {
			perror(path);
			return 1;
		}
		free(buf);
		statefile_clear(&h);
	}
	printf("bytes_per_file=%zu\n", len);
	return 0;
}

/*
 * bench_idle_floor.c: the floor for the daemon's idle CPU with many
 * plugins. N child processes that do nothing but answer a ping on a
 * socketpair; the parent does only what an idle daemon must do for each of
 * them once per interval, with none of the daemon's code: a ping sent and
 * its pong read (epoll, one recv), and one pread each of the child's
 * kept-open /proc/PID/stat and statm. Pings go out in 8 slots per interval
 * as the daemon spreads them. The parent's CPU time over the run
 * (CLOCK_PROCESS_CPUTIME_ID), per operation and as a percent of a core at
 * the daemon's defaults (one ping and one sample per plugin every 5 s), is
 * what no supervisor that pings and samples can go below on this machine.
 *
 * usage: bench_idle_floor N SECONDS [INTERVAL]; prints one JSON object.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define FLOOR_SLOTS	8

/* A child: answer every message with the same bytes until end of file. */
static void __attribute__((noreturn))
floor_child(int fd)
{
	char	buf[64];
	ssize_t	n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	_exit(0);
}

/* Open /proc/PID/NAME; exits on failure (the child must exist). */
static int
floor_open(pid_t pid, const char *name)
{
	char	path[64];
	int	fd;

	snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

/* Wait for pongs until the monotonic time until; returns how many came. */
static long
floor_collect(int ep, const int *sock, double until)
{
	struct epoll_event	ev[64];
	char			buf[64];
	long			got = 0;
	double			left;
	int			i, k;

	while ((left = until - bench_clock(CLOCK_MONOTONIC)) > 0) {
		k = epoll_wait(ep, ev, 64, (int)(left * 1000) + 1);
		for (i = 0; i < k; i++)
			if (recv(sock[ev[i].data.u32], buf, sizeof buf,
			    MSG_DONTWAIT) > 0)
				got++;
	}
	return got;
}

int
main(int argc, char **argv)
{
	struct epoll_event	 ev;
	static const char	 ping[] = "\x82\xa4type\xa4ping\xa3seq\x01";
	char			 buf[1024];
	double			 interval, seconds, cpu0, cpu, t0, at;
	double			 ops_per_s, ping_us, sample_us, s0, sample_cpu = 0;
	long			 pings = 0, pongs = 0, samples = 0, i;
	pid_t			*pid;
	int			*sock, *stat_fd, *statm_fd, n, sv[2], ep, slot;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_idle_floor N SECONDS [INTERVAL]\n");
		return 2;
	}
	n = atoi(argv[1]);
	seconds = atof(argv[2]);
	interval = argc > 3 ? atof(argv[3]) : 5;
	if (n <= 0 || n > 100000 || !(seconds > 0) || !(interval > 0))
		return 2;
	pid = calloc((size_t)n, sizeof *pid);
	sock = calloc((size_t)n, sizeof *sock);
	stat_fd = calloc((size_t)n, sizeof *stat_fd);
	statm_fd = calloc((size_t)n, sizeof *statm_fd);
	if (pid == NULL || sock == NULL || stat_fd == NULL || statm_fd == NULL)
		return 1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
			perror("socketpair");
			return 1;
		}
		if ((pid[i] = fork()) == -1) {
			perror("fork");
			return 1;
		}
		if (pid[i] == 0) {
			close(sv[0]);
			floor_child(sv[1]);
		}
		close(sv[1]);
		sock[i] = sv[0];
		stat_fd[i] = floor_open(pid[i], "stat");
		statm_fd[i] = floor_open(pid[i], "statm");
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, sock[i], &ev);
	}
	/* Let the children reach their read first. */
	floor_collect(ep, sock, bench_clock(CLOCK_MONOTONIC) + 1);

	cpu0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
	t0 = at = bench_clock(CLOCK_MONOTONIC);
	for (slot = 0; at - t0 < seconds; slot = (slot + 1) % FLOOR_SLOTS) {
		/* This slot's pings, then its plugins' samples, timed. */
		for (i = slot; i < n; i += FLOOR_SLOTS)
			if (send(sock[i], ping, sizeof ping - 1, MSG_DONTWAIT |
			    MSG_NOSIGNAL) > 0)
				pings++;
		s0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
		for (i = slot; i < n; i += FLOOR_SLOTS)
			if (pread(stat_fd[i], buf, sizeof buf - 1, 0) > 0 &&
			    pread(statm_fd[i], buf, sizeof buf - 1, 0) > 0)
				samples++;
		sample_cpu += bench_clock(CLOCK_PROCESS_CPUTIME_ID) - s0;
		at += interval / FLOOR_SLOTS;
		pongs += floor_collect(ep, sock, at);
	}
	cpu = bench_clock(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	seconds = bench_clock(CLOCK_MONOTONIC) - t0;

	sample_us = samples > 0 ? sample_cpu / (double)samples * 1e6 : 0;
	ping_us = pings > 0 ? (cpu - sample_cpu) / (double)pings * 1e6 : 0;

	for (i = 0; i < n; i++)
		close(sock[i]);
	for (i = 0; i < n; i++)
		waitpid(pid[i], NULL, 0);
	/* At the daemon's defaults: a ping and a sample per plugin per 5 s. */
	ops_per_s = n / 5.0;
	printf("{\"n\": %d, \"seconds\": %.1f, \"pings\": %ld, \"pongs\": %ld, "
	    "\"samples\": %ld, \"cpu_percent\": %.4f, \"ping_us\": %.2f, "
	    "\"sample_us\": %.2f, \"floor_percent_at_5s\": %.4f}\n", n, seconds,
	    pings, pongs, samples, cpu / seconds * 100, ping_us, sample_us,
	    ops_per_s * (ping_us + sample_us) * 1e-6 * 100);
	return 0;
}

/*
 * bench_floor.c: the floor for the routing benchmark: a bare socketpair
 * round trip between two processes, with the same message size as a chat
 * line, one at a time (p50/p99) and pipelined (messages per second).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

#define MSG	96

static int
floor_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
floor_read_full(int fd, char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) <= 0)
			fatal("read");
		buf += n;
		len -= (size_t)n;
	}
}

int
main(int argc, char **argv)
{
	long	 n = argc > 1 ? atol(argv[1]) : 20000;
	long	 m = argc > 2 ? atol(argv[2]) : 200000, i;
	double	*rtt, t0;
	char	 buf[MSG * 64];
	int	 sv[2];
	pid_t	 pid;

	if (n < 1 || m < 1 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("setup");
	memset(buf, 'x', sizeof buf);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		/* Echo every message back. */
		for (;;) {
			ssize_t	r = read(sv[1], buf, sizeof buf);

			if (r <= 0)
				_exit(0);
			if (write(sv[1], buf, (size_t)r) != r)
				_exit(1);
		}
	}
	close(sv[1]);
	rtt = xcalloc((size_t)n, sizeof *rtt);
	for (i = 0; i < n; i++) {
		t0 = clock_mono();
		if (write(sv[0], buf, MSG) != MSG)
			fatal("write");
		floor_read_full(sv[0], buf, MSG);
		rtt[i] = clock_mono() - t0;
	}
	qsort(rtt, (size_t)n, sizeof *rtt, floor_cmp);
	/* Pipelined: 64 messages in flight, like the routing benchmark. */
	t0 = clock_mono();
	for (i = 0; i < m; i += 64) {
		if (write(sv[0], buf, MSG * 64) != MSG * 64)
			fatal("write");
		floor_read_full(sv[0], buf, MSG * 64);
	}
	printf("{\"rtt_p50_ms\": %.4f, \"rtt_p99_ms\": %.4f, "
	    "\"messages_per_second\": %.0f}\n", rtt[n / 2] * 1000,
	    rtt[(n * 99) / 100] * 1000, (double)i / (clock_mono() - t0));
	close(sv[0]);
	waitpid(pid, NULL, 0);
	free(rtt);
	return 0;
}

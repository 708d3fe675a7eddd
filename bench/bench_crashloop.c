/*
 * bench_crashloop.c: a plugin that crashes at once, for the restart-gap
 * benchmark. It appends "s NS" when it starts and "e NS" just before it
 * exits (CLOCK_MONOTONIC nanoseconds, shared by all processes) to the file
 * named by BENCH_CRASHLOG; the gap is each "e" to the next "s".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
crashloop_mark(int fd, char what)
{
	struct timespec	ts;
	char		line[64];
	int		n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof line, "%c %lld\n", what,
	    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (write(fd, line, (size_t)n) != n)
		_exit(2);
}

int
main(void)
{
	const char	*path = getenv("BENCH_CRASHLOG");
	int		 fd;

	if (path == NULL ||
	    (fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644)) == -1)
		return 2;
	crashloop_mark(fd, 's');
	crashloop_mark(fd, 'e');
	_exit(1);
}

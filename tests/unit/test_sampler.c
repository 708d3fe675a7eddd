/* test_sampler.c: reading real processes through libproc2. */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics/metrics.h"

#define MANY	300

#define assert_double_eq(a, b) do {					\
	double a_ = (a), b_ = (b);					\
	if (!(a_ == b_))						\
		fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);	\
} while (0)

static double
test_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_sleep(double seconds)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Fork a child that sleeps (busy = 0) or spins (busy = 1) until killed. */
static pid_t
test_child(int busy)
{
	volatile unsigned long	spin = 0;
	pid_t			pid;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (busy) {
			for (;;)
				spin++;
		}
		for (;;)
			pause();
	}
	return pid;
}

static void
test_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/* A pid that cannot exist: pids are below pid_max. */
static pid_t
test_missing_pid(void)
{
	FILE	*f;
	long	 max = 4194304;

	if ((f = fopen("/proc/sys/kernel/pid_max", "r")) != NULL) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 4194304;
		fclose(f);
	}
	return (pid_t)max;
}

/* Wait (with a deadline) until a child is asleep; return its reading. */
static struct proc_reading
test_wait_sleeping(struct sampler *sm, pid_t pid)
{
	struct proc_reading	r;
	double			deadline = test_now() + 5;

	do {
		assert_int_equal(sampler_read(sm, &pid, 1, &r), 0);
		assert_true(r.found);
		if (r.state == 'S')
			return r;
		test_sleep(0.01);
	} while (test_now() < deadline);
	fail_msg("child %d never slept (state %c)", (int)pid, r.state);
	return r;
}

static void
test_cpu_percent(void **state)
{
	assert_double_eq(metrics_cpu_percent(0, 100, 1.0, 100), 100.0);
	assert_double_eq(metrics_cpu_percent(1000, 1050, 0.5, 100), 100.0);
	assert_double_eq(metrics_cpu_percent(0, 200, 1.0, 100), 200.0);
	assert_double_eq(metrics_cpu_percent(0, 25, 5.0, 100), 5.0);
	assert_double_eq(metrics_cpu_percent(7, 7, 5.0, 100), 0.0);
	assert_double_eq(metrics_cpu_percent(0, 1000, 10.0, 1000), 10.0);
	/* No meaningful delta. */
	assert_double_eq(metrics_cpu_percent(10, 5, 1.0, 100), -1.0);
	assert_double_eq(metrics_cpu_percent(0, 5, 0.0, 100), -1.0);
	assert_double_eq(metrics_cpu_percent(0, 5, -1.0, 100), -1.0);
	assert_double_eq(metrics_cpu_percent(0, 5, 1.0, 0), -1.0);
	assert_true(sampler_hz() > 0);
	assert_int_equal(sampler_hz(), sysconf(_SC_CLK_TCK));
}

static void
test_read_self(void **state)
{
	struct sampler		*sm = sampler_new();
	struct proc_reading	 r;
	pid_t			 self = getpid();

	assert_non_null(sm);
	memset(&r, 0xa5, sizeof r);
	assert_int_equal(sampler_read(sm, &self, 1, &r), 0);
	assert_int_equal(r.pid, self);
	assert_true(r.found);
	assert_true(r.rss_kib > 0);
	assert_true(r.threads >= 1);
	assert_true(r.start_ticks > 0);
	assert_int_equal(r.state, 'R');
	sampler_free(sm);
	sampler_free(NULL);
}

/* sampler_read_self gives what libproc2 gives for the same process. */
static void
test_read_self_pread_matches_libproc2(void **state)
{
	struct sampler		*sm = sampler_new();
	struct proc_reading	 mine, lib;
	pid_t			 self = getpid();
	volatile unsigned long	 spin = 0;
	int			 i;

	assert_non_null(sm);
	/* Twice: the second read reuses the descriptor kept open. */
	for (i = 0; i < 2; i++) {
		while (spin < 20000000UL)
			spin++;
		spin = 0;
		memset(&mine, 0xa5, sizeof mine);
		assert_int_equal(sampler_read(sm, &self, 1, &lib), 0);
		assert_int_equal(sampler_read_self(sm, &mine), 0);
		assert_int_equal(mine.pid, self);
		assert_true(mine.found);
		assert_int_equal(mine.state, 'R');
		assert_int_equal(mine.threads, lib.threads);
		assert_int_equal(mine.start_ticks, lib.start_ticks);
		/* Read a moment apart: at most a tick and a few pages more. */
		assert_true(mine.ticks >= lib.ticks && mine.ticks <= lib.ticks + 2);
		assert_true(mine.rss_kib + 64 >= lib.rss_kib &&
		    mine.rss_kib <= lib.rss_kib + 64);
	}
	sampler_free(sm);
}

/* The command name may hold spaces and ')': fields follow the last ')'. */
static void
test_parse_stat(void **state)
{
	static const char	 line[] = "4242 (we ird) (name) S 1 4242 4242 0 -1 "
	    "4194560 120 0 0 0 37 5 -3 0 20 0 3 0 987654 10485760 300 "
	    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	struct proc_reading	 r;

	memset(&r, 0, sizeof r);
	assert_int_equal(sampler_parse_stat(line, &r), 0);
	assert_true(r.found);
	assert_int_equal(r.state, 'S');
	assert_int_equal(r.ticks, 42);
	assert_int_equal(r.threads, 3);
	assert_int_equal(r.start_ticks, 987654);
	assert_int_equal(r.rss_kib, 300 * (uint64_t)sysconf(_SC_PAGESIZE) / 1024);
	/* Cut short, or not a stat line at all. */
	assert_int_equal(sampler_parse_stat("4242 (x) S 1 4242 4242 0 -1 4194560 "
	    "120 0 0 0 37 5", &r), -1);
	assert_int_equal(sampler_parse_stat("4242 (x) S 1 2 3 x", &r), -1);
	assert_int_equal(sampler_parse_stat("no parenthesis", &r), -1);
	assert_int_equal(sampler_parse_stat("1 (x)", &r), -1);
	assert_int_equal(sampler_parse_stat("", &r), -1);
}

static void
test_read_child(void **state)
{
	struct sampler		*sm = sampler_new();
	struct proc_reading	 r[2], c;
	pid_t			 pids[2], child;

	child = test_child(0);
	c = test_wait_sleeping(sm, child);
	assert_true(c.rss_kib > 0);
	assert_int_equal(c.threads, 1);

	pids[0] = getpid();
	pids[1] = child;
	assert_int_equal(sampler_read(sm, pids, 2, r), 0);
	assert_true(r[0].found && r[1].found);
	assert_int_equal(r[0].pid, getpid());
	assert_int_equal(r[1].pid, child);
	assert_true(r[1].rss_kib > 0);
	/* The child began after us: start times tell processes apart. */
	assert_true(r[1].start_ticks >= r[0].start_ticks);

	/* Reaped: gone, and that is not an error. */
	test_reap(child);
	assert_int_equal(sampler_read(sm, pids, 2, r), 0);
	assert_true(r[0].found);
	assert_false(r[1].found);
	assert_int_equal(r[1].pid, child);
	sampler_free(sm);
}

static void
test_read_missing(void **state)
{
	struct sampler		*sm = sampler_new();
	struct proc_reading	 r[6];
	pid_t			 pids[6];
	size_t			 i;

	pids[0] = test_missing_pid();
	pids[1] = getpid();
	pids[2] = 0;
	pids[3] = -5;
	pids[4] = test_missing_pid() + 1;
	pids[5] = getpid();
	assert_int_equal(sampler_read(sm, pids, 6, r), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(r[i].pid, pids[i]);
	assert_false(r[0].found);
	assert_true(r[1].found);
	assert_false(r[2].found);
	assert_false(r[3].found);
	assert_false(r[4].found);
	assert_true(r[5].found);
	assert_int_equal(r[5].start_ticks, r[1].start_ticks);

	/* Only missing pids, and an empty request. */
	assert_int_equal(sampler_read(sm, pids, 1, r), 0);
	assert_false(r[0].found);
	assert_int_equal(sampler_read(sm, pids + 2, 2, r), 0);
	assert_false(r[0].found || r[1].found);
	assert_int_equal(sampler_read(sm, pids, 0, r), 0);
	sampler_free(sm);
}

/*
 * More than libproc2's 255 per select, out of order, with holes and
 * duplicates: every reading must land at its own index.
 */
static void
test_read_many(void **state)
{
	struct sampler		*sm = sampler_new();
	struct proc_reading	*r;
	pid_t			 children[MANY], *pids, missing;
	size_t			 i, n;

	for (i = 0; i < MANY; i++)
		children[i] = test_child(0);
	missing = test_missing_pid();

	/* Children newest first, a missing pid after every 7th. */
	pids = calloc(2 * MANY + 2, sizeof *pids);
	r = calloc(2 * MANY + 2, sizeof *r);
	n = 0;
	for (i = 0; i < MANY; i++) {
		pids[n++] = children[MANY - 1 - i];
		if (i % 7 == 0)
			pids[n++] = missing;
	}
	assert_true(n > 255);
	assert_int_equal(sampler_read(sm, pids, n, r), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(r[i].pid, pids[i]);
		if (pids[i] == missing)
			assert_false(r[i].found);
		else {
			assert_true(r[i].found);
			assert_true(r[i].rss_kib > 0);
		}
	}

	/* Every child twice, the copies in another order (some chunks apart). */
	n = 0;
	for (i = 0; i < MANY; i++) {
		pids[n++] = children[i];
		pids[n++] = children[(i * 31) % MANY];
	}
	assert_int_equal(sampler_read(sm, pids, n, r), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(r[i].pid, pids[i]);
		assert_true(r[i].found);
	}
	/* Exactly one full chunk. */
	assert_int_equal(sampler_read(sm, children, 255, r), 0);
	for (i = 0; i < 255; i++)
		assert_true(r[i].found);

	for (i = 0; i < MANY; i++)
		test_reap(children[i]);
	assert_int_equal(sampler_read(sm, children, MANY, r), 0);
	for (i = 0; i < MANY; i++)
		assert_false(r[i].found);
	free(pids);
	free(r);
	sampler_free(sm);
}

/* A process's own CPU time (all threads), seconds, from the kernel. */
static double
test_cpu_time(pid_t pid)
{
	struct timespec	ts;
	clockid_t	clk;

	assert_int_equal(clock_getcpuclockid(pid, &clk), 0);
	assert_int_equal(clock_gettime(clk, &ts), 0);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The sampler's CPU reading of a spinning and a sleeping child matches
 * what the kernel's CPU clock of each says over the same interval, within
 * TEST_CPU_SLACK clock ticks: /proc's utime + stime is that clock cut to
 * ticks, and the two reads of each end are not quite simultaneous. This
 * holds however loaded the machine is (the spinning child may get much
 * less than a core); the interval lasts until the spinner has had 0.2 s
 * of CPU, so the comparison is over at least 20 ticks.
 */
#define TEST_CPU_SLACK	3

static void
test_cpu_busy_idle(void **state)
{
	struct sampler		*sm = sampler_new();
	struct proc_reading	 a[2], b[2];
	pid_t			 pids[2];
	double			 t0, t1, c0[2], c1[2], busy, clock_busy, idle;
	double			 deadline, hz = (double)sampler_hz();
	double			 dticks[2], dclock[2];
	int			 i;

	pids[0] = test_child(1);
	pids[1] = test_child(0);
	(void)test_wait_sleeping(sm, pids[1]);

	/* Kernel clocks inside the sampler's reads: its window is wider. */
	assert_int_equal(sampler_read(sm, pids, 2, a), 0);
	t0 = test_now();
	c0[0] = test_cpu_time(pids[0]);
	c0[1] = test_cpu_time(pids[1]);
	deadline = t0 + 30;
	do {
		test_sleep(0.05);
		c1[0] = test_cpu_time(pids[0]);
	} while (c1[0] - c0[0] < 0.2 && test_now() < deadline);
	c1[1] = test_cpu_time(pids[1]);
	t1 = test_now();
	assert_int_equal(sampler_read(sm, pids, 2, b), 0);
	assert_true(a[0].found && b[0].found && a[1].found && b[1].found);
	assert_int_equal(a[0].start_ticks, b[0].start_ticks);
	assert_true(c1[0] - c0[0] >= 0.2);

	for (i = 0; i < 2; i++) {
		dticks[i] = (double)(b[i].ticks - a[i].ticks);
		dclock[i] = (c1[i] - c0[i]) * hz;
	}
	busy = metrics_cpu_percent(a[0].ticks, b[0].ticks, t1 - t0,
	    sampler_hz());
	clock_busy = (c1[0] - c0[0]) / (t1 - t0) * 100;
	idle = metrics_cpu_percent(a[1].ticks, b[1].ticks, t1 - t0,
	    sampler_hz());
	print_message("busy %.1f%% (CPU clock %.1f%%: %.1f ticks, sampler "
	    "%.0f) idle %.1f%% over %.3f s\n", busy, clock_busy, dclock[0],
	    dticks[0], idle, t1 - t0);
	/* The spinner: the sampler saw what its CPU clock counted. */
	assert_true(dticks[0] >= dclock[0] - TEST_CPU_SLACK);
	assert_true(dticks[0] <= dclock[0] + TEST_CPU_SLACK);
	/* The sleeper: next to nothing, by both. */
	assert_true(dclock[1] <= 1);
	assert_true(dticks[1] <= dclock[1] + TEST_CPU_SLACK);
	assert_int_equal(b[0].state, 'R');
	assert_int_equal(b[1].state, 'S');

	test_reap(pids[0]);
	test_reap(pids[1]);
	sampler_free(sm);
}

/*
 * A child read through kept-open files: the same as libproc2 reads it,
 * a zombie reads as one, and once reaped it is not found (the descriptor
 * still names the process it was opened on, never one that took the pid).
 */
static void
test_read_files(void **state)
{
	struct sampler		*sm = sampler_new();
	struct proc_files	 f;
	struct proc_reading	 mine, lib;
	pid_t			 child = test_child(0);

	assert_non_null(sm);
	sampler_files_init(&f);
	assert_int_equal(f.stat, -1);
	assert_int_equal(f.statm, -1);
	assert_int_equal(sampler_files_open(&f, child), 0);
	assert_true(f.stat >= 0 && f.statm >= 0);
	assert_int_equal(sampler_read(sm, &child, 1, &lib), 0);
	memset(&mine, 0xa5, sizeof mine);
	assert_int_equal(sampler_read_files(&f, child, &mine), 0);
	assert_int_equal(mine.pid, child);
	assert_true(mine.found);
	assert_int_equal(mine.threads, lib.threads);
	assert_int_equal(mine.start_ticks, lib.start_ticks);
	assert_true(mine.rss_kib + 64 >= lib.rss_kib &&
	    mine.rss_kib <= lib.rss_kib + 64);

	/* Dead, not reaped: a zombie, as the daemon sees it before SIGCHLD. */
	kill(child, SIGKILL);
	while (waitid(P_PID, (id_t)child, NULL, WEXITED | WNOWAIT) == -1 &&
	    errno == EINTR)
		;
	assert_int_equal(sampler_read_files(&f, child, &mine), 0);
	assert_true(mine.found);
	assert_int_equal(mine.state, 'Z');

	/* Reaped: not found, not an error. */
	test_reap(child);
	memset(&mine, 0xa5, sizeof mine);
	assert_int_equal(sampler_read_files(&f, child, &mine), 0);
	assert_false(mine.found);
	assert_int_equal(mine.pid, child);

	sampler_files_close(&f);
	assert_int_equal(f.stat, -1);
	/* No such process: the open fails and leaves nothing open. */
	assert_int_equal(sampler_files_open(&f, child), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(f.stat, -1);
	assert_int_equal(f.statm, -1);
	sampler_free(sm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_percent),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_read_self_pread_matches_libproc2),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_read_child),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_read_many),
		cmocka_unit_test(test_cpu_busy_idle),
		cmocka_unit_test(test_read_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

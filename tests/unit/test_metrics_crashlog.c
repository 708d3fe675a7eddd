/* test_metrics_crashlog.c: the crash ring, reason and signal names. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

/* A record whose pid identifies it, with n stderr lines "pid:i". */
static void
test_push_crash(struct crash_log *log, int pid, size_t n)
{
	struct crash_record	 cr;
	char			*lines[8], detail[32];
	size_t			 i;

	memset(&cr, 0, sizeof cr);
	cr.wall_time = 1700000000.0 + pid;
	cr.pid = pid;
	cr.exit_code = -1;
	cr.signal = SIGSEGV;
	cr.core_dumped = 1;
	cr.uptime = pid * 1.5;
	cr.reason = CRASH_SIGNAL;
	snprintf(detail, sizeof detail, "detail %d", pid);
	cr.detail = detail;
	for (i = 0; i < n; i++) {
		lines[i] = malloc(48);
		snprintf(lines[i], 48, "%d:%zu", pid, i);
	}
	cr.stderr_lines = lines;
	cr.nlines = n;
	crashlog_push(log, &cr);
	/* The log keeps its own copies. */
	for (i = 0; i < n; i++) {
		memset(lines[i], 'x', 47);
		free(lines[i]);
	}
	memset(detail, 'x', sizeof detail - 1);
}

static void
test_crashlog_basic(void **state)
{
	struct crash_log		*log = crashlog_new(3);
	const struct crash_record	*cr;

	assert_int_equal(crashlog_count(log), 0);
	assert_int_equal(crashlog_capacity(log), 3);
	assert_int_equal(crashlog_total(log), 0);
	assert_null(crashlog_get(log, 0));
	assert_null(crashlog_latest(log));

	test_push_crash(log, 100, 2);
	assert_int_equal(crashlog_count(log), 1);
	assert_int_equal(crashlog_total(log), 1);
	cr = crashlog_get(log, 0);
	assert_non_null(cr);
	assert_ptr_equal(cr, crashlog_latest(log));
	assert_int_equal(cr->pid, 100);
	assert_int_equal(cr->exit_code, -1);
	assert_int_equal(cr->signal, SIGSEGV);
	assert_int_equal(cr->core_dumped, 1);
	assert_true(cr->uptime == 150.0);
	assert_true(cr->wall_time == 1700000100.0);
	assert_int_equal(cr->reason, CRASH_SIGNAL);
	assert_string_equal(cr->detail, "detail 100");
	assert_int_equal(cr->nlines, 2);
	assert_string_equal(cr->stderr_lines[0], "100:0");
	assert_string_equal(cr->stderr_lines[1], "100:1");

	/* No detail, no lines. */
	test_push_crash(log, 101, 0);
	cr = crashlog_latest(log);
	assert_int_equal(cr->nlines, 0);
	assert_null(cr->stderr_lines);
	crashlog_free(log);
	crashlog_free(NULL);
}

static void
test_crashlog_eviction(void **state)
{
	struct crash_log		*log = crashlog_new(3);
	const struct crash_record	*cr;
	int				 pid;
	size_t				 i;

	/* Ten crashes into three slots: 7, 8, 9 remain, total 10. */
	for (pid = 0; pid < 10; pid++)
		test_push_crash(log, pid, (size_t)pid % 4);
	assert_int_equal(crashlog_count(log), 3);
	assert_int_equal(crashlog_total(log), 10);
	for (i = 0; i < 3; i++) {
		cr = crashlog_get(log, i);
		assert_int_equal(cr->pid, 7 + (int)i);
		assert_int_equal(cr->nlines, (7 + i) % 4);
		if (cr->nlines > 0) {
			char	want[48];

			snprintf(want, sizeof want, "%d:%zu", cr->pid,
			    cr->nlines - 1);
			assert_string_equal(cr->stderr_lines[cr->nlines - 1],
			    want);
		}
	}
	assert_null(crashlog_get(log, 3));
	assert_int_equal(crashlog_latest(log)->pid, 9);
	crashlog_free(log);

	/* Capacity 1. */
	log = crashlog_new(1);
	test_push_crash(log, 1, 3);
	test_push_crash(log, 2, 1);
	assert_int_equal(crashlog_count(log), 1);
	assert_int_equal(crashlog_total(log), 2);
	assert_int_equal(crashlog_get(log, 0)->pid, 2);
	assert_string_equal(crashlog_get(log, 0)->stderr_lines[0], "2:0");
	crashlog_free(log);
}

static void
test_crashlog_null_lines(void **state)
{
	struct crash_log	*log = crashlog_new(2);
	struct crash_record	 cr;
	char			*lines[2] = { NULL, (char *)"boom" };

	memset(&cr, 0, sizeof cr);
	cr.reason = CRASH_EXIT;
	cr.exit_code = 3;
	cr.stderr_lines = lines;
	cr.nlines = 2;
	crashlog_push(log, &cr);
	assert_null(crashlog_latest(log)->detail);
	assert_string_equal(crashlog_latest(log)->stderr_lines[0], "");
	assert_string_equal(crashlog_latest(log)->stderr_lines[1], "boom");
	crashlog_free(log);
}

static void
test_reason_names(void **state)
{
	static const struct {
		enum crash_reason	 reason;
		const char		*name;
	} names[] = {
		{ CRASH_EXIT, "exit" },
		{ CRASH_SIGNAL, "signal" },
		{ CRASH_HUNG, "hung" },
		{ CRASH_READY_TIMEOUT, "ready-timeout" },
		{ CRASH_PROTOCOL, "protocol" },
		{ CRASH_MEMORY_LIMIT, "memory-limit" },
		{ CRASH_CPU_LIMIT, "cpu-limit" },
		{ CRASH_SPAWN, "spawn" },
	};
	enum crash_reason	reason;
	size_t			i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		assert_string_equal(crash_reason_name(names[i].reason),
		    names[i].name);
		assert_int_equal(crash_reason_from_name(names[i].name,
		    &reason), 0);
		assert_int_equal(reason, names[i].reason);
	}
	assert_string_equal(crash_reason_name((enum crash_reason)99),
	    "unknown");
	assert_int_equal(crash_reason_from_name("segfault", &reason), -1);
}

static void
test_signal_names(void **state)
{
	const char	*a, *b;

	assert_string_equal(metrics_signal_name(SIGKILL), "SIGKILL");
	assert_string_equal(metrics_signal_name(SIGSEGV), "SIGSEGV");
	assert_string_equal(metrics_signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(metrics_signal_name(SIGABRT), "SIGABRT");
	assert_string_equal(metrics_signal_name(SIGHUP), "SIGHUP");
	assert_string_equal(metrics_signal_name(SIGXCPU), "SIGXCPU");
	/* Numbers without a name. */
	assert_string_equal(metrics_signal_name(0), "SIG0");
	assert_string_equal(metrics_signal_name(-1), "SIG-1");
	assert_string_equal(metrics_signal_name(1000), "SIG1000");
	/* Two names in one printf both survive. */
	a = metrics_signal_name(SIGKILL);
	b = metrics_signal_name(SIGTERM);
	assert_string_equal(a, "SIGKILL");
	assert_string_equal(b, "SIGTERM");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crashlog_basic),
		cmocka_unit_test(test_crashlog_eviction),
		cmocka_unit_test(test_crashlog_null_lines),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_signal_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

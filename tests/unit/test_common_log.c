/*
 * test_common_log.c: the log line of each level, exact text, as an operator
 * reads it in the daemon's stderr. fatal and fatalx exit, so each case runs
 * in a child whose stderr is a pipe.
 */
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

enum log_case { CASE_WARNX, CASE_WARN, CASE_INFO, CASE_FATAL, CASE_FATALX };

/* Run one case in a child; its stderr into out, its exit status returned. */
static int
log_run(enum log_case c, char *out, size_t outsz)
{
	int	 fds[2], status;
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		log_init("prog", 0);
		log_set_timestamps(0);
		errno = ENOENT;
		switch (c) {
		case CASE_WARNX:
			log_warnx("plugin %s: gone", "dice");
			break;
		case CASE_WARN:
			log_warn("open %s", "x.json");
			break;
		case CASE_INFO:
			log_info("listening on %s", "a.sock");
			break;
		case CASE_FATAL:
			fatal("socket %d", 3);
		case CASE_FATALX:
			fatalx("event_base_new failed");
		}
		_exit(0);
	}
	close(fds[1]);
	while (len < outsz - 1 &&
	    (n = read(fds[0], out + len, outsz - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_warning_lines(void **state)
{
	char	out[512];

	assert_int_equal(log_run(CASE_WARNX, out, sizeof out), 0);
	assert_string_equal(out, "prog: warning: plugin dice: gone\n");
	assert_int_equal(log_run(CASE_WARN, out, sizeof out), 0);
	assert_string_equal(out,
	    "prog: warning: open x.json: No such file or directory\n");
	assert_int_equal(log_run(CASE_INFO, out, sizeof out), 0);
	assert_string_equal(out, "prog: listening on a.sock\n");
}

/* A fatal line says fatal:, not warning: fatal:, and the process exits 1. */
static void
test_fatal_lines(void **state)
{
	char	out[512];

	assert_int_equal(log_run(CASE_FATAL, out, sizeof out), 1);
	assert_string_equal(out,
	    "prog: fatal: socket 3: No such file or directory\n");
	assert_int_equal(log_run(CASE_FATALX, out, sizeof out), 1);
	assert_string_equal(out, "prog: fatal: event_base_new failed\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warning_lines),
		cmocka_unit_test(test_fatal_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

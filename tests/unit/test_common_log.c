/*
 * test_common_log.c: the log line of each level, exact text, as an operator
 * reads it in the daemon's stderr. fatal and fatalx exit, so each case runs
 * in a child whose stderr is a pipe.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

enum log_case { CASE_WARNX, CASE_WARN, CASE_INFO, CASE_FATAL, CASE_FATALX,
    CASE_DEBUG };

/* JOURNAL_STREAM in the child: unset, stderr's own, another stream's. */
enum journal { JOURNAL_NONE, JOURNAL_STDERR, JOURNAL_OTHER, JOURNAL_GARBAGE };

/* Run one case in a child; its stderr into out, its exit status returned. */
static int
log_run_journal(enum log_case c, enum journal j, char *out, size_t outsz)
{
	struct stat	 sb;
	char		 env[64];
	int		 fds[2], status;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		unsetenv("JOURNAL_STREAM");
		if (j != JOURNAL_NONE) {
			/* The pipe is stderr; /dev/null another file. */
			if (j == JOURNAL_OTHER)
				assert_int_equal(stat("/dev/null", &sb), 0);
			else
				assert_int_equal(fstat(STDERR_FILENO, &sb), 0);
			snprintf(env, sizeof env, "%llu:%llu%s",
			    (unsigned long long)sb.st_dev,
			    (unsigned long long)sb.st_ino,
			    j == JOURNAL_GARBAGE ? "x" : "");
			setenv("JOURNAL_STREAM", env, 1);
		}
		log_init("prog", c == CASE_DEBUG);
		if (j == JOURNAL_NONE)
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
		case CASE_DEBUG:
			log_debug("tick %d", 7);
			break;
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

static int
log_run(enum log_case c, char *out, size_t outsz)
{
	return log_run_journal(c, JOURNAL_NONE, out, outsz);
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

/*
 * With stderr connected to the journal (JOURNAL_STREAM names its device and
 * inode), each line is its syslog priority, then the text: no time stamp,
 * no program name (the journal keeps both).
 */
static void
test_journal_lines(void **state)
{
	char	out[512];

	assert_int_equal(log_run_journal(CASE_WARNX, JOURNAL_STDERR, out,
	    sizeof out), 0);
	assert_string_equal(out, "<4>warning: plugin dice: gone\n");
	assert_int_equal(log_run_journal(CASE_INFO, JOURNAL_STDERR, out,
	    sizeof out), 0);
	assert_string_equal(out, "<6>listening on a.sock\n");
	assert_int_equal(log_run_journal(CASE_DEBUG, JOURNAL_STDERR, out,
	    sizeof out), 0);
	assert_string_equal(out, "<7>tick 7\n");
	assert_int_equal(log_run_journal(CASE_FATALX, JOURNAL_STDERR, out,
	    sizeof out), 1);
	assert_string_equal(out, "<3>fatal: event_base_new failed\n");
}

/*
 * A JOURNAL_STREAM inherited by a process whose stderr goes elsewhere (a
 * plugin's pipe) is not the journal: lines stay as in a terminal. So is a
 * value that is not DEVICE:INODE.
 */
static void
test_journal_stream_of_another_file(void **state)
{
	char	out[512];

	assert_int_equal(log_run_journal(CASE_WARNX, JOURNAL_OTHER, out,
	    sizeof out), 0);
	assert_true(strstr(out, "prog: warning: plugin dice: gone\n") != NULL);
	assert_true(out[0] >= '0' && out[0] <= '9');	/* a time stamp */
	assert_int_equal(log_run_journal(CASE_WARNX, JOURNAL_GARBAGE, out,
	    sizeof out), 0);
	assert_true(strstr(out, "prog: warning: plugin dice: gone\n") != NULL);
	assert_true(out[0] != '<');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warning_lines),
		cmocka_unit_test(test_fatal_lines),
		cmocka_unit_test(test_journal_lines),
		cmocka_unit_test(test_journal_stream_of_another_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

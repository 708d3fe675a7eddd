/*
 * test_common_logfile.c: the size-rotated log file (common/logfile.c) on a
 * scratch directory: names, sizes and contents after each rotation.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
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
#include "common/logfile.h"

static char	tmpdir[PATH_MAX];

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	strlcpy_(tmpdir, "/tmp/test_logfile.XXXXXX", sizeof tmpdir);
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	chmod(tmpdir, 0700);
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* The contents of a file as a string, or NULL if there is none. */
static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
assert_file(const char *path, const char *want)
{
	char	*got = slurp(path);

	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_backup_name(void **state)
{
	char	*n;

	n = logfile_backup_name("/var/log/bot/dice.log", 1);
	assert_string_equal(n, "/var/log/bot/dice.log.1");
	free(n);
	n = logfile_backup_name("d.log", 12);
	assert_string_equal(n, "d.log.12");
	free(n);
}

/* 10-byte lines, max 25 bytes: two lines a file; 2 backups. */
static void
test_rotation(void **state)
{
	struct logfile	*lf;
	char		*path, *b1, *b2, *b3, *cause = NULL;

	xasprintf(&path, "%s/p.log", tmpdir);
	b1 = logfile_backup_name(path, 1);
	b2 = logfile_backup_name(path, 2);
	b3 = logfile_backup_name(path, 3);
	lf = logfile_new(path, 25, 2);
	assert_string_equal(logfile_path(lf), path);
	assert_int_equal(logfile_write(lf, "line-0001\nline-0002\n", 20,
	    &cause), 0);
	assert_int_equal(logfile_size(lf), 20);
	assert_file(path, "line-0001\nline-0002\n");
	assert_file(b1, NULL);
	/* The third line would pass 25: rotate before it. */
	assert_int_equal(logfile_write(lf, "line-0003\n", 10, &cause), 0);
	assert_file(path, "line-0003\n");
	assert_file(b1, "line-0001\nline-0002\n");
	/* Several rotations inside one write; the oldest goes. */
	assert_int_equal(logfile_write(lf, "line-0004\nline-0005\nline-0006\n"
	    "line-0007\nline-0008\n", 50, &cause), 0);
	assert_null(cause);
	assert_file(path, "line-0007\nline-0008\n");
	assert_file(b1, "line-0005\nline-0006\n");
	assert_file(b2, "line-0003\nline-0004\n");
	assert_file(b3, NULL);
	logfile_free(lf);

	/* Reopened: appends, and knows the size it found. */
	lf = logfile_new(path, 25, 2);
	assert_int_equal(logfile_write(lf, "x\n", 2, &cause), 0);
	assert_int_equal(logfile_size(lf), 22);
	assert_int_equal(logfile_write(lf, "line-0009\n", 10, &cause), 0);
	assert_file(path, "line-0009\n");
	assert_file(b1, "line-0007\nline-0008\nx\n");
	assert_file(b2, "line-0005\nline-0006\n");
	logfile_free(lf);

	/* A line longer than max_bytes gets a file of its own. */
	lf = logfile_new(path, 4, 1);
	assert_int_equal(logfile_write(lf, "abcdefgh\nij\n", 12, &cause), 0);
	assert_file(path, "ij\n");
	assert_file(b1, "abcdefgh\n");
	logfile_free(lf);
	free(path);
	free(b1);
	free(b2);
	free(b3);
}

/* No backups: the file is emptied in place. */
static void
test_no_backups(void **state)
{
	struct logfile	*lf;
	char		*path, *b1, *cause = NULL;

	xasprintf(&path, "%s/n.log", tmpdir);
	b1 = logfile_backup_name(path, 1);
	lf = logfile_new(path, 8, 0);
	assert_int_equal(logfile_write(lf, "aaa\nbbb\nccc\n", 12, &cause), 0);
	assert_file(path, "ccc\n");
	assert_file(b1, NULL);
	logfile_free(lf);
	free(path);
	free(b1);
}

/* An unwritable directory: an error naming the file, and a retry works. */
static void
test_errors(void **state)
{
	struct logfile	*lf;
	char		*dir, *path, *cause = NULL, *want;

	if (geteuid() == 0)
		xasprintf(&dir, "%s/missing", tmpdir);	/* root writes anywhere */
	else {
		xasprintf(&dir, "%s/ro", tmpdir);
		assert_int_equal(mkdir(dir, 0500), 0);
	}
	xasprintf(&path, "%s/x.log", dir);
	lf = logfile_new(path, 100, 1);
	assert_int_equal(logfile_write(lf, "a\n", 2, &cause), -1);
	xasprintf(&want, "cannot open %s: %s", path, geteuid() == 0 ?
	    "No such file or directory" : "Permission denied");
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	cause = NULL;
	if (geteuid() == 0)
		assert_int_equal(mkdir(dir, 0700), 0);
	else
		assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(logfile_write(lf, "b\n", 2, &cause), 0);
	assert_file(path, "b\n");
	logfile_free(lf);
	free(path);

	/* A directory at the path is not a file. */
	lf = logfile_new(dir, 100, 1);
	assert_int_equal(logfile_write(lf, "a\n", 2, &cause), -1);
	assert_non_null(cause);
	free(cause);
	logfile_free(lf);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_name),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_no_backups),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

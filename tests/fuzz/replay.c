/*
 * replay.c: run a fuzz target over files, without libFuzzer. make test
 * replays every input kept in tests/fuzz/corpus/NAME/ through the target
 * built with the normal and the sanitizer build, so an input that once
 * crashed (or found new code) stays a test.
 *
 *	fuzz_NAME-replay FILE|DIR ...
 *
 * Prints "NAME: N inputs replayed" and exits 0; a bad input ends the run
 * the way the target fails under libFuzzer (abort, sanitizer report).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

/* Inputs larger than this are not fuzz inputs: refuse to replay them. */
#define REPLAY_MAX_INPUT	(4 * 1024 * 1024)

/* Read one file whole and run the target on it. */
static int
replay_file(const char *path)
{
	struct stat	 st;
	FILE		*f;
	uint8_t		*buf;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: not an input of at most %d bytes\n",
		    path, REPLAY_MAX_INPUT);
		fclose(f);
		return -1;
	}
	/* One byte more than needed: a zero-length input still gets a buffer. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of a directory, in name order; or one file. */
static int
replay_path(const char *path, size_t *count)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL, full[4096];
	size_t		 n = 0, cap = 0, i;
	int		 rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (names == NULL)
				abort();
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	qsort(names, n, sizeof *names, replay_cmp);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof full, "%s/%s", path, names[i]);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			(*count)++;
			if (replay_file(full) != 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t	count = 0;
	int	i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR ...\n", basename(argv[0]));
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (replay_path(argv[i], &count) != 0)
			rc = 1;
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs under the paths given\n");
		return 1;
	}
	printf("%s: %zu inputs replayed\n", basename(argv[0]), count);
	return rc;
}

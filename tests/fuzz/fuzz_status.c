/*
 * fuzz_status.c: libFuzzer target for supervisorctl's reader of a status
 * reply (verb_cli_status_line, supervisor/verbs-cli.c), which reads the
 * rows of the reply line in place instead of through jansson.
 *
 * The input is a reply line as a socket could send it. The reader either
 * refuses it (returns -1) having printed nothing, or takes it: then jansson
 * must parse the same line as a reply with a result, and the jansson path
 * (verb_cli, as supervisorctl runs it for a line the reader refuses) must
 * print the same bytes and return the same exit status. A difference, a
 * crash or a sanitizer report is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "metrics/metrics.h"
#include "supervisor/verbs.h"
#include "tests/fuzz/fuzz.h"

/* Abort with a line saying which property broke. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_status: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

/* Where stdout goes while a printer runs, and where it was. */
static FILE	*capture;
static int	 saved_stdout = -1;

/* Run the reader (fast) or the jansson path on line; the text printed. */
static char *
run(const uint8_t *line, size_t len, int fast, int *status, size_t *outlen)
{
	json_t	*reply;
	char	*out;
	long	 n;

	fflush(stdout);
	CHECK(ftruncate(fileno(capture), 0) == 0);
	rewind(capture);
	CHECK(dup2(fileno(capture), STDOUT_FILENO) != -1);
	if (fast)
		*status = verb_cli_status_line((const char *)line, len);
	else {
		reply = json_loadb((const char *)line, len, 0, NULL);
		/* The reader took it: it is a reply with a result. */
		CHECK(reply != NULL);
		CHECK(json_is_true(json_object_get(reply, "ok")));
		CHECK(json_object_get(reply, "result") != NULL);
		*status = verb_cli(verb_find("status"),
		    json_object_get(reply, "result"));
		json_decref(reply);
	}
	fflush(stdout);
	CHECK(dup2(saved_stdout, STDOUT_FILENO) != -1);
	n = lseek(fileno(capture), 0, SEEK_END);
	CHECK(n >= 0);
	out = xmalloc((size_t)n + 1);
	CHECK(pread(fileno(capture), out, (size_t)n, 0) == n);
	*outlen = (size_t)n;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*fast, *slow;
	size_t	 flen, slen;
	int	 fstatus, sstatus;

	if (capture == NULL) {
		CHECK((capture = tmpfile()) != NULL);
		CHECK((saved_stdout = dup(STDOUT_FILENO)) != -1);
	}
	fast = run(data, size, 1, &fstatus, &flen);
	if (fstatus == -1)
		CHECK(flen == 0);
	else {
		CHECK(fstatus == VERB_EXIT_OK || fstatus == VERB_EXIT_FAILED);
		slow = run(data, size, 0, &sstatus, &slen);
		CHECK(sstatus == fstatus);
		CHECK(slen == flen && memcmp(slow, fast, flen) == 0);
		free(slow);
	}
	free(fast);
	return 0;
}

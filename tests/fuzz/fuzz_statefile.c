/*
 * fuzz_statefile.c: libFuzzer target for the state file reader
 * (metrics/statefile.c), which reads what is on disk after a crash, a full
 * disk, a bad block or an operator's editor.
 *
 * The first byte chooses the mode: odd, the file's checksum is recomputed
 * before it is read (so the mutator gets past it to the field checks,
 * where the work is); even, the file is read as it is.
 *
 * Properties: a refused file comes with a cause and leaves nothing
 * allocated; an accepted one holds what the format promises (a plugin
 * name, counts within their bounds, samples in time order), and writing it
 * out and reading that back gives the same bytes again (the reader and the
 * writer agree). Leaks are found by LeakSanitizer at each input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"
#include "metrics/metrics.h"

/* Abort with a line saying which property broke. */
static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_statefile: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_history	 h, again;
	unsigned char		*out, *out2, *file;
	size_t			 len, len2, i;
	char			*cause;
	uint64_t		 hash;
	int			 rc;

	if (size < 1)
		return 0;
	file = malloc(size);
	memcpy(file, data + 1, size - 1);
	if ((data[0] & 1) && size - 1 >= 32) {
		hash = statefile_hash(file + 32, size - 1 - 32);
		memcpy(file + 24, &hash, 8);
	}
	rc = statefile_decode(file, size - 1, &h, &cause);
	free(file);
	if (rc != STATEFILE_OK) {
		check(cause != NULL && cause[0] != '\0', "refused without a cause");
		check(h.ring == NULL && h.crashes == NULL && h.ntiers == 0,
		    "refused but kept something");
		free(cause);
		return 0;
	}
	check(cause == NULL, "accepted with a cause");
	check(h.name[0] != '\0', "accepted without a name");
	check(h.ncounters <= STATEFILE_MAX_COUNTERS, "too many counters");
	if (h.ring != NULL) {
		check(ring_count(h.ring) <= ring_capacity(h.ring), "ring overfull");
		for (i = 1; i < ring_count(h.ring); i++)
			check(ring_get(h.ring, i)->time_ds >=
			    ring_get(h.ring, i - 1)->time_ds,
			    "samples out of order");
	}
	statefile_encode(&h, &out, &len);
	check(statefile_decode(out, len, &again, &cause) == STATEFILE_OK,
	    "what was written cannot be read back");
	again.saved_at = h.saved_at;
	statefile_encode(&again, &out2, &len2);
	check(len == len2 && memcmp(out, out2, len) == 0,
	    "written, read and written again differs");
	free(out);
	free(out2);
	statefile_clear(&again);
	statefile_clear(&h);
	return 0;
}

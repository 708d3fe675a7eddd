/*
 * test_metrics_statefile.c: the state file format. A round trip keeps
 * everything; every truncation, every flipped byte, a wrong magic, version
 * or checksum, and fields out of range with a valid checksum are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "metrics/metrics.h"

#define EPOCH	1699999200.0

/* A small history: 30 samples, two tiers, two crashes, three counters. */
static void
make_history(struct state_history *h)
{
	struct metrics_sample	s;
	struct crash_record	cr;
	char			*lines[] = { "panic: x", "\tat main.go:12" };
	int			i;

	memset(h, 0, sizeof *h);
	strlcpy_(h->name, "dice-roller", sizeof h->name);
	h->saved_at = EPOCH + 200;
	h->poll_interval = 5;
	h->ring = ring_new(720, EPOCH);
	h->tiers[0] = rollup_new(60, 1440);
	h->tiers[1] = rollup_new(3600, 720);
	h->ntiers = 2;
	for (i = 0; i < 30; i++) {
		memset(&s, 0, sizeof s);
		s.pid = 100;
		sample_set_cpu(&s, i == 0 ? -1 : i * 1.5);
		sample_set_rss_kib(&s, 2048 + (uint64_t)i);
		sample_set_events(&s, (uint64_t)i * 3);
		rollup_advance(h->tiers, h->ntiers, h->ring, EPOCH + 5 * i);
		ring_push(h->ring, EPOCH + 5 * i, &s);
	}
	h->crashes = crashlog_new(8);
	memset(&cr, 0, sizeof cr);
	cr.wall_time = EPOCH + 17.5;
	cr.pid = 99;
	cr.exit_code = -1;
	cr.signal = 11;
	cr.core_dumped = 1;
	cr.uptime = 3.25;
	cr.reason = CRASH_SIGNAL;
	cr.stderr_lines = lines;
	cr.nlines = 2;
	crashlog_push(h->crashes, &cr);
	cr.wall_time = EPOCH + 90;
	cr.exit_code = 3;
	cr.signal = 0;
	cr.core_dumped = 0;
	cr.reason = CRASH_PROTOCOL;
	cr.detail = "bad message";
	cr.nlines = 0;
	crashlog_push(h->crashes, &cr);
	crashlog_set_total(h->crashes, 57);
	strlcpy_(h->counters[0].name, "events_routed", STATEFILE_COUNTER_NAME);
	h->counters[0].value = 123456789012ULL;
	strlcpy_(h->counters[1].name, "replies", STATEFILE_COUNTER_NAME);
	h->counters[1].value = 7;
	strlcpy_(h->counters[2].name, "restarts", STATEFILE_COUNTER_NAME);
	h->counters[2].value = 2;
	h->ncounters = 3;
}

static void
test_round_trip(void **state)
{
	struct state_history		 h, back;
	struct rollup_summary		 a, b;
	const struct crash_record	*c;
	unsigned char			*buf, *again;
	size_t				 len, len2, i;
	char				*cause;
	int64_t				 head, head2;

	make_history(&h);
	assert_int_equal(statefile_encode(&h, &buf, &len), 0);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_OK);
	assert_null(cause);
	assert_string_equal(back.name, "dice-roller");
	assert_true(back.saved_at == h.saved_at);
	assert_true(back.poll_interval == 5);
	assert_int_equal(back.ncounters, 3);
	assert_string_equal(back.counters[0].name, "events_routed");
	assert_true(back.counters[0].value == 123456789012ULL);
	/* Samples byte for byte, times included. */
	assert_int_equal(ring_count(back.ring), 30);
	assert_int_equal(ring_capacity(back.ring), 720);
	assert_true(ring_epoch(back.ring) == EPOCH);
	for (i = 0; i < 30; i++)
		assert_memory_equal(ring_get(back.ring, i), ring_get(h.ring, i),
		    sizeof(struct metrics_sample));
	/* The minute buckets closed so far. */
	assert_int_equal(back.ntiers, 2);
	assert_int_equal(rollup_head(h.tiers[0], &head), 0);
	assert_int_equal(rollup_head(back.tiers[0], &head2), 0);
	assert_true(head == head2);
	assert_int_equal(rollup_get(h.tiers[0], head, &a), 0);
	assert_int_equal(rollup_get(back.tiers[0], head, &b), 0);
	assert_memory_equal(&a, &b, sizeof a);
	assert_int_equal(rollup_head(back.tiers[1], &head2), -1);
	/* Crashes: records, strings and the all-time total. */
	assert_int_equal(crashlog_count(back.crashes), 2);
	assert_true(crashlog_total(back.crashes) == 57);
	c = crashlog_get(back.crashes, 0);
	assert_true(c->wall_time == EPOCH + 17.5);
	assert_int_equal(c->signal, 11);
	assert_int_equal(c->exit_code, -1);
	assert_int_equal(c->core_dumped, 1);
	assert_int_equal(c->reason, CRASH_SIGNAL);
	assert_null(c->detail);
	assert_int_equal(c->nlines, 2);
	assert_string_equal(c->stderr_lines[1], "\tat main.go:12");
	c = crashlog_get(back.crashes, 1);
	assert_string_equal(c->detail, "bad message");
	assert_int_equal(c->exit_code, 3);
	/* What was read writes the same bytes again. */
	back.saved_at = h.saved_at;
	assert_int_equal(statefile_encode(&back, &again, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, again, len);
	free(again);
	free(buf);
	statefile_clear(&back);
	statefile_clear(&h);
}

/* Every prefix of a file is refused, with a reason. */
static void
test_truncation(void **state)
{
	struct state_history	 h, back;
	unsigned char		*buf;
	size_t			 len, cut;
	char			*cause;

	make_history(&h);
	statefile_encode(&h, &buf, &len);
	for (cut = 0; cut < len; cut++) {
		assert_int_equal(statefile_decode(buf, cut, &back, &cause),
		    STATEFILE_CORRUPT);
		assert_non_null(cause);
		assert_null(back.ring);
		free(cause);
	}
	free(buf);
	statefile_clear(&h);
}

/* Every single flipped byte is refused. */
static void
test_flipped_bytes(void **state)
{
	struct state_history	 h, back;
	unsigned char		*buf;
	size_t			 len, i;
	char			*cause;
	enum statefile_error	 e;

	make_history(&h);
	statefile_encode(&h, &buf, &len);
	for (i = 0; i < len; i++) {
		buf[i] ^= 0x20;
		e = statefile_decode(buf, len, &back, &cause);
		if (e == STATEFILE_OK)
			fail_msg("byte %zu flipped, file accepted", i);
		free(cause);
		buf[i] ^= 0x20;
	}
	free(buf);
	statefile_clear(&h);
}

static void
test_header_errors(void **state)
{
	struct state_history	 h, back;
	unsigned char		*buf;
	size_t			 len;
	uint32_t		 v;
	char			*cause;

	make_history(&h);
	statefile_encode(&h, &buf, &len);
	memcpy(buf, "NOTSTATE", 8);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_CORRUPT);
	assert_non_null(strstr(cause, "magic"));
	free(cause);
	free(buf);

	statefile_encode(&h, &buf, &len);
	v = 99;
	memcpy(buf + 8, &v, 4);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_NEWER);
	assert_non_null(strstr(cause, "version 99"));
	free(cause);
	v = 0;
	memcpy(buf + 8, &v, 4);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_CORRUPT);
	free(cause);
	free(buf);

	statefile_encode(&h, &buf, &len);
	buf[24] ^= 1;
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_CORRUPT);
	assert_non_null(strstr(cause, "checksum"));
	free(cause);
	free(buf);
	statefile_clear(&h);
}

/* Re-seal a modified body so only the field checks can refuse it. */
static void
reseal(unsigned char *buf, size_t len)
{
	uint64_t	hash = statefile_hash(buf + 32, len - 32);

	memcpy(buf + 24, &hash, 8);
}

/* Find a section's data by type: offset of its first byte. */
static size_t
section(const unsigned char *buf, size_t len, uint32_t type)
{
	size_t		off = 32;
	uint32_t	t, l;

	while (off + 8 <= len) {
		memcpy(&t, buf + off, 4);
		memcpy(&l, buf + off + 4, 4);
		if (t == type)
			return off + 8;
		off += 8 + l;
	}
	fail_msg("no section %u", type);
	return 0;
}

/* A valid checksum does not make bad fields good. */
static void
test_field_checks(void **state)
{
	struct state_history	 h, back;
	unsigned char		*buf;
	size_t			 len, at;
	uint32_t		 v;
	char			*cause;

	make_history(&h);

	/* RAW (4): more samples than the ring holds. */
	statefile_encode(&h, &buf, &len);
	at = section(buf, len, 4);
	v = 10;
	memcpy(buf + at + 8, &v, 4);
	reseal(buf, len);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_CORRUPT);
	assert_non_null(strstr(cause, "raw"));
	free(cause);
	free(buf);

	/* NAME (1): not a plugin name. */
	statefile_encode(&h, &buf, &len);
	at = section(buf, len, 1);
	buf[at + 2] = '/';
	reseal(buf, len);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_CORRUPT);
	assert_non_null(strstr(cause, "name"));
	free(cause);
	free(buf);

	/* CRASHES (6): a total below the records kept. */
	statefile_encode(&h, &buf, &len);
	at = section(buf, len, 6);
	memset(buf + at, 0, 8);
	reseal(buf, len);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_CORRUPT);
	free(cause);
	free(buf);

	/* An unknown section type. */
	statefile_encode(&h, &buf, &len);
	at = section(buf, len, 2);
	v = 77;
	memcpy(buf + at - 8, &v, 4);
	reseal(buf, len);
	assert_int_equal(statefile_decode(buf, len, &back, &cause),
	    STATEFILE_CORRUPT);
	assert_non_null(strstr(cause, "unknown section"));
	free(cause);
	free(buf);
	statefile_clear(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_field_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

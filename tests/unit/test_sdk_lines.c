/*
 * test_sdk_lines.c: sdk_split_lines, the chat-sized lines of the console
 * and IRC connectors, exact values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/sdk/sdk.h"

/* The lines handed out, joined with '|'. */
struct collect {
	char	buf[1024];
	size_t	len;
	size_t	lines;
};

static void
collect_line(const char *line, size_t len, void *arg)
{
	struct collect	*c = arg;

	assert_null(memchr(line, '\r', len));
	assert_null(memchr(line, '\n', len));
	if (c->lines > 0)
		c->buf[c->len++] = '|';
	assert_true(c->len + len < sizeof c->buf);
	memcpy(c->buf + c->len, line, len);
	c->len += len;
	c->buf[c->len] = '\0';
	c->lines++;
}

/* Split s with room; the joined lines, and their number in *n. */
static const char *
split(struct collect *c, const char *s, size_t room, size_t *n)
{
	memset(c, 0, sizeof *c);
	*n = sdk_split_lines(s, strlen(s), room, collect_line, c);
	assert_int_equal(*n, c->lines);
	return c->buf;
}

static void
test_no_split_needed(void **state)
{
	struct collect	c;
	size_t		n;

	assert_string_equal(split(&c, "hello world", 80, &n), "hello world");
	assert_int_equal(n, 1);
	assert_string_equal(split(&c, "", 80, &n), "");
	assert_int_equal(n, 0);
}

static void
test_exact_fit(void **state)
{
	struct collect	c;
	size_t		n;

	/* Ten bytes in a room of ten: one line, untouched. */
	assert_string_equal(split(&c, "0123456789", 10, &n), "0123456789");
	assert_int_equal(n, 1);
	/* One more: cut at the room, no space to prefer. */
	assert_string_equal(split(&c, "0123456789A", 10, &n),
	    "0123456789|A");
	assert_int_equal(n, 2);
	/* A space just past the room is dropped, and no empty line follows. */
	assert_string_equal(split(&c, "0123456789 ", 10, &n), "0123456789");
	assert_int_equal(n, 1);
}

static void
test_words_stay_whole(void **state)
{
	struct collect	c;
	size_t		n;

	/* The last space in the second half of the room; it is dropped. */
	assert_string_equal(split(&c, "roll the dice again", 10, &n),
	    "roll the|dice again");
	assert_int_equal(n, 2);
	/* A space only in the first half: cut at the room instead. */
	assert_string_equal(split(&c, "ab cdefghijklmn", 10, &n),
	    "ab cdefghi|jklmn");
	assert_int_equal(n, 2);
}

static void
test_utf8_at_the_boundary(void **state)
{
	struct collect	c;
	size_t		n;

	/* "é" (c3 a9) on bytes 9-10 of a room of 10: it moves whole. */
	assert_string_equal(split(&c, "012345678\xc3\xa9xyz", 10, &n),
	    "012345678|\xc3\xa9xyz");
	assert_int_equal(n, 2);
	/* "🎲" (f0 9f 8e b2) on bytes 8-11: cut before it. */
	assert_string_equal(split(&c, "01234567\xf0\x9f\x8e\xb2!", 10, &n),
	    "01234567|\xf0\x9f\x8e\xb2!");
	assert_int_equal(n, 2);
	/* Ending exactly at the room: no cut inside it. */
	assert_string_equal(split(&c, "012345\xf0\x9f\x8e\xb2Z", 10, &n),
	    "012345\xf0\x9f\x8e\xb2|Z");
	assert_int_equal(n, 2);
	/* Not UTF-8 (continuation bytes only): cut at the room. */
	assert_string_equal(split(&c, "\x80\x80\x80\x80\x80\x80\x80\x80\x80"
	    "\x80\x80\x80", 10, &n),
	    "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80|\x80\x80");
	assert_int_equal(n, 2);
}

static void
test_cr_lf_inside(void **state)
{
	struct collect	c;
	size_t		n;

	/* LF, CR LF and a lone CR each end a line. */
	assert_string_equal(split(&c, "a\nb\r\nc\rd", 80, &n), "a|b|c|d");
	assert_int_equal(n, 4);
	/* An empty line is a line; the end after a last break is not. */
	assert_string_equal(split(&c, "a\n\nb\n", 80, &n), "a||b");
	assert_int_equal(n, 3);
	assert_string_equal(split(&c, "a\r\n\r\nb\r\n", 80, &n), "a||b");
	assert_int_equal(n, 3);
	/* Each line is cut on its own. */
	assert_string_equal(split(&c, "0123456789AB\nxy", 10, &n),
	    "0123456789|AB|xy");
	assert_int_equal(n, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_split_needed),
		cmocka_unit_test(test_exact_fit),
		cmocka_unit_test(test_words_stay_whole),
		cmocka_unit_test(test_utf8_at_the_boundary),
		cmocka_unit_test(test_cr_lf_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

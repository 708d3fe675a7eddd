/*
 * test_jsonw.c: the reply writer. Its text must be what jansson's
 * json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) writes for the same
 * value, byte for byte, so replies read the same whichever path built them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/supervisor.h"

#define DUMP_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(15) | \
			 JSON_ENCODE_ANY)

/* jw_json(j) must equal json_dumps(j). */
static void
check_same_as_jansson(json_t *j)
{
	struct jsonw	 w;
	char		*want;

	want = json_dumps(j, DUMP_FLAGS);
	assert_non_null(want);
	jw_init(&w);
	jw_json(&w, j);
	assert_string_equal(w.buf, want);
	assert_int_equal(w.len, strlen(want));
	free(want);
	jw_free(&w);
}

static void
test_values_match_jansson(void **state)
{
	static const double	 reals[] = { 0.0, 1.0, -2.5, 0.1, 0.3, 1e20,
	    1.5e-7, -3e-300, 123456789012345678.0, 1763935000.123, 99.99,
	    1e15, 1e14 + 0.5, 2.220446049250313e-16, 1.7976931348623157e308 };
	static const json_int_t	 ints[] = { 0, 1, -1, 42, 9007199254740993LL,
	    INT64_MAX, INT64_MIN };
	json_t			*j;
	size_t			 i;

	for (i = 0; i < nitems(reals); i++) {
		j = json_real(reals[i]);
		check_same_as_jansson(j);
		json_decref(j);
	}
	for (i = 0; i < nitems(ints); i++) {
		j = json_integer(ints[i]);
		check_same_as_jansson(j);
		json_decref(j);
	}
	j = json_pack("{s:s, s:s, s:s, s:b, s:b, s:n, s:{}, s:[], s:[i, f, "
	    "{s:[[], {}]}, s], s:{s:{s:i}}}",
	    "plain", "dice-roller",
	    "escapes", "q\" b\\ n\n t\t r\r f\f b\b c\x01\x1f del\x7f /",
	    "utf8", "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb2",
	    "t", 1, "f", 0, "n", "empty", "none",
	    "mixed", 7, 2.5, "deep", "end",
	    "nest", "a", "b", -3);
	check_same_as_jansson(j);
	json_decref(j);
	/* A string with a NUL inside. */
	j = json_stringn("a\0b", 3);
	check_same_as_jansson(j);
	json_decref(j);
}

/* jw_fixed(v, p) writes what jw_real writes for v rounded to p places. */
static void
test_fixed_matches_rounded_real(void **state)
{
	static const double	 scale[] = { 1, 10, 100, 1000 };
	static const double	 values[] = { 0, 0.004, 0.005, 0.015, 1.005,
	    1.23, 12.5, 99.999, 100, 0.1, 1763935000.1234, 1763935000.9996,
	    -0.004, -1.25, -7.0, 4.2e9, 123456789012.345, 9.99999e14,
	    3.4e15, 1e300 };
	struct jsonw		 a, b;
	unsigned int		 seed = 12345;
	double			 v;
	size_t			 i;
	int			 p, k;

	jw_init(&a);
	jw_init(&b);
	for (p = 0; p < 4; p++) {
		for (i = 0; i < nitems(values) + 20000; i++) {
			if (i < nitems(values))
				v = values[i];
			else {
				/* Pseudo-random values over many magnitudes. */
				seed = seed * 1103515245 + 12345;
				v = (double)(seed % 1000000) / 1000.0;
				for (k = (int)(seed >> 24) % 8; k > 0; k--)
					v *= 10;
				if (seed & 0x100)
					v = -v;
			}
			jw_truncate(&a, 0);
			jw_truncate(&b, 0);
			jw_fixed(&a, v, p);
			jw_real(&b, round_nearest(v * scale[p]) / scale[p]);
			if (strcmp(a.buf, b.buf) != 0 &&
			    !(strcmp(a.buf, "0.0") == 0 &&
			    strcmp(b.buf, "-0.0") == 0))
				fail_msg("jw_fixed(%.17g, %d) = %s, jw_real of "
				    "the rounded value = %s", v, p, a.buf,
				    b.buf);
		}
	}
	jw_free(&a);
	jw_free(&b);
}

static void
test_structure_and_commas(void **state)
{
	struct jsonw	w;

	jw_init(&w);
	jw_open_object(&w);
	jw_key(&w, "a");
	jw_open_array(&w);
	jw_int(&w, 1);
	jw_open_object(&w);
	jw_close_object(&w);
	jw_open_array(&w);
	jw_close_array(&w);
	jw_string(&w, NULL);
	jw_fixed(&w, 2.345, 2);
	jw_close_array(&w);
	jw_key(&w, "b");
	jw_null(&w);
	jw_key(&w, "c");
	jw_bool(&w, 1);
	jw_close_object(&w);
	assert_string_equal(w.buf, "{\"a\":[1,{},[],null,2.35],\"b\":null,"
	    "\"c\":true}");

	/* Truncating starts a new top-level value: no comma before it. */
	jw_truncate(&w, 0);
	jw_int(&w, -12);
	assert_string_equal(w.buf, "-12");
	jw_truncate(&w, 0);
	jw_string(&w, "x");
	assert_string_equal(w.buf, "\"x\"");
	jw_free(&w);
}

/* JSON has no NaN or infinity; a bad number is null, not invalid text. */
static void
test_non_finite_is_null(void **state)
{
	struct jsonw	w;

	jw_init(&w);
	jw_open_array(&w);
	jw_real(&w, 0.0 / 0.0);
	jw_real(&w, 1.0 / 0.0);
	jw_fixed(&w, -1.0 / 0.0, 2);
	jw_close_array(&w);
	assert_string_equal(w.buf, "[null,null,null]");
	jw_free(&w);
}

/* Bytes that are not UTF-8 become '?': the reply stays valid JSON. */
static void
test_invalid_utf8(void **state)
{
	struct jsonw	 w;
	json_t		*j;

	jw_init(&w);
	jw_open_array(&w);
	jw_string(&w, "ok\xff\xfe mid\xc3 end\xe2\x82");
	jw_string(&w, "\xed\xa0\x80 surrogate, \xc0\xaf overlong");
	jw_close_array(&w);
	assert_string_equal(w.buf, "[\"ok?? mid? end??\",\"??? surrogate, "
	    "?? overlong\"]");
	j = json_loadb(w.buf, w.len, 0, NULL);
	assert_non_null(j);
	json_decref(j);
	jw_free(&w);
}

/* A long reply grows the buffer; the text stays NUL-terminated. */
static void
test_large_text(void **state)
{
	struct jsonw	 w;
	json_t		*j;
	int		 i;

	jw_init(&w);
	jw_open_array(&w);
	for (i = 0; i < 100000; i++)
		jw_int(&w, i);
	jw_close_array(&w);
	assert_int_equal(strlen(w.buf), w.len);
	j = json_loadb(w.buf, w.len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 100000);
	assert_int_equal(json_integer_value(json_array_get(j, 99999)), 99999);
	json_decref(j);
	jw_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_match_jansson),
		cmocka_unit_test(test_fixed_matches_rounded_real),
		cmocka_unit_test(test_structure_and_commas),
		cmocka_unit_test(test_non_finite_is_null),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_large_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

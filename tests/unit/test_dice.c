/* test_dice.c: the dice notation parser, roller and formatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "plugins/dice-roller/dice.h"

/* Parse notation that must be valid and check the spec. */
static void
parse_ok(const char *notation, int count, int sides, int modifier)
{
	struct dice_spec	 spec;
	char			*cause = NULL;

	if (dice_parse(notation, &spec, &cause) != 0)
		fail_msg("\"%s\" refused: %s", notation, cause);
	assert_null(cause);
	assert_int_equal(spec.count, count);
	assert_int_equal(spec.sides, sides);
	assert_int_equal(spec.modifier, modifier);
}

/* Parse notation that must be refused, with exactly this message. */
static void
parse_bad(const char *notation, const char *want)
{
	struct dice_spec	 spec;
	char			*cause = NULL;

	if (dice_parse(notation, &spec, &cause) == 0)
		fail_msg("\"%s\" accepted", notation);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

static void
test_parse_valid(void **state)
{
	parse_ok("2d6", 2, 6, 0);
	parse_ok("d20", 1, 20, 0);
	parse_ok("D20", 1, 20, 0);
	parse_ok("3D8", 3, 8, 0);
	parse_ok("1d6", 1, 6, 0);
	parse_ok("2d6+2", 2, 6, 2);
	parse_ok("2d6-1", 2, 6, -1);
	parse_ok("d20+3", 1, 20, 3);
	parse_ok("2d6 + 2", 2, 6, 2);
	parse_ok("2d6 -  1", 2, 6, -1);
	parse_ok("2d6\t+\t4", 2, 6, 4);
	parse_ok("  4d10  ", 4, 10, 0);
	parse_ok("2d6+0", 2, 6, 0);
	parse_ok("02d06", 2, 6, 0);
}

static void
test_parse_bounds(void **state)
{
	/* Every edge, just inside. */
	parse_ok("20d6", 20, 6, 0);
	parse_ok("1d2", 1, 2, 0);
	parse_ok("1d1000", 1, 1000, 0);
	parse_ok("d6+100", 1, 6, 100);
	parse_ok("d6-100", 1, 6, -100);

	/* And just outside. */
	parse_bad("21d6", "at most 20 dice");
	parse_bad("99999999999999d6", "at most 20 dice");
	parse_bad("0d6", "at least 1 die");
	parse_bad("2d1", "dice need 2 to 1000 sides");
	parse_bad("2d0", "dice need 2 to 1000 sides");
	parse_bad("2d1001", "dice need 2 to 1000 sides");
	parse_bad("d99999999999999", "dice need 2 to 1000 sides");
	parse_bad("2d6+101", "modifier must be between -100 and 100");
	parse_bad("2d6-101", "modifier must be between -100 and 100");
	parse_bad("2d6 + 99999999999999",
	    "modifier must be between -100 and 100");
}

static void
test_parse_malformed(void **state)
{
	parse_bad("2x6", "can't roll \"2x6\": use NdM, like 2d6 or d20+3");
	parse_bad("", "can't roll \"\": use NdM, like 2d6 or d20+3");
	parse_bad("d", "can't roll \"d\": use NdM, like 2d6 or d20+3");
	parse_bad("2d", "can't roll \"2d\": use NdM, like 2d6 or d20+3");
	parse_bad("2d6+", "can't roll \"2d6+\": use NdM, like 2d6 or d20+3");
	parse_bad("2d6++1", "can't roll \"2d6++1\": use NdM, like 2d6 or d20+3");
	parse_bad("2d6 3", "can't roll \"2d6 3\": use NdM, like 2d6 or d20+3");
	parse_bad("2 d6", "can't roll \"2 d6\": use NdM, like 2d6 or d20+3");
	parse_bad("-2d6", "can't roll \"-2d6\": use NdM, like 2d6 or d20+3");
	parse_bad("2d6*2", "can't roll \"2d6*2\": use NdM, like 2d6 or d20+3");
	parse_bad("  2d6x  ", "can't roll \"2d6x\": use NdM, like 2d6 or d20+3");
	parse_bad("dd6", "can't roll \"dd6\": use NdM, like 2d6 or d20+3");
	/* Long junk is shortened to 32 bytes, and never inside a character. */
	parse_bad("abcdefghijklmnopqrstuvwxyz0123456789",
	    "can't roll \"abcdefghijklmnopqrstuvwxyz012345...\": "
	    "use NdM, like 2d6 or d20+3");
	parse_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9zz",
	    "can't roll \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
	    "use NdM, like 2d6 or d20+3");
}

static void
test_format(void **state)
{
	struct dice_result	res = { .spec = { 2, 6, 0 }, .rolls = { 4, 3 },
				    .total = 7 };
	char			buf[DICE_FORMAT_MAX];

	assert_int_equal(dice_format(&res, buf, sizeof buf), 0);
	assert_string_equal(buf, "🎲 [4, 3] = 7");

	res.spec.modifier = 2;
	res.total = 9;
	assert_int_equal(dice_format(&res, buf, sizeof buf), 0);
	assert_string_equal(buf, "🎲 [4, 3] +2 = 9");

	res.spec.modifier = -1;
	res.total = 6;
	assert_int_equal(dice_format(&res, buf, sizeof buf), 0);
	assert_string_equal(buf, "🎲 [4, 3] -1 = 6");

	res.spec.count = 1;
	res.spec.modifier = 0;
	res.rolls[0] = 20;
	res.total = 20;
	assert_int_equal(dice_format(&res, buf, sizeof buf), 0);
	assert_string_equal(buf, "🎲 [20] = 20");

	/* Too small a buffer: an error, and still a terminated string. */
	assert_int_equal(dice_format(&res, buf, 8), -1);
	assert_true(strlen(buf) < 8);
}

static void
test_format_largest(void **state)
{
	struct dice_result	res = { .spec = { 20, 1000, -100 } };
	char			buf[DICE_FORMAT_MAX];
	int			i;

	res.total = -100;
	for (i = 0; i < 20; i++) {
		res.rolls[i] = 1000;
		res.total += 1000;
	}
	assert_int_equal(dice_format(&res, buf, sizeof buf), 0);
	assert_int_equal(strncmp(buf, "🎲 [1000, 1000, ", 16), 0);
	assert_non_null(strstr(buf, ", 1000] -100 = 19900"));
}

/* A deterministic source: returns the values of an array in turn. */
struct seq {
	const uint32_t	*values;
	size_t		 n, next;
};

static uint32_t
seq_rng(void *arg)
{
	struct seq	*s = arg;

	assert_true(s->next < s->n);
	return s->values[s->next++];
}

static void
test_roll(void **state)
{
	/* 2^32 mod 6 = 4: 0..3 are rejected, then r % 6 + 1. */
	static const uint32_t	 v[] = { 9, 2, 16, 3, 4, 0xffffffff };
	struct seq		 s = { v, nitems(v), 0 };
	struct dice_spec	 spec = { 3, 6, 2 };
	struct dice_result	 res;
	char			 buf[DICE_FORMAT_MAX];

	dice_roll(&spec, seq_rng, &s, &res);
	assert_int_equal(res.rolls[0], 9 % 6 + 1);	/* 4 */
	assert_int_equal(res.rolls[1], 16 % 6 + 1);	/* 5, after rejecting 2 */
	assert_int_equal(res.rolls[2], 4 % 6 + 1);	/* 5, after rejecting 3 */
	assert_int_equal(res.total, 4 + 5 + 5 + 2);
	assert_int_equal(s.next, 5);
	assert_int_equal(dice_format(&res, buf, sizeof buf), 0);
	assert_string_equal(buf, "🎲 [4, 5, 5] +2 = 16");
}

/* A small linear congruential generator, for many reproducible rolls. */
static uint32_t
lcg_rng(void *arg)
{
	uint64_t	*x = arg;

	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*x >> 32);
}

static void
test_roll_range(void **state)
{
	struct dice_spec	spec = { 20, 1000, -100 };
	struct dice_result	res;
	uint64_t		x = 42;
	int			i, j, sum, seen[7] = { 0 };

	for (i = 0; i < 1000; i++) {
		dice_roll(&spec, lcg_rng, &x, &res);
		sum = 0;
		for (j = 0; j < 20; j++) {
			assert_in_range(res.rolls[j], 1, 1000);
			sum += res.rolls[j];
		}
		assert_int_equal(res.total, sum - 100);
	}

	/* Every face of a d6 comes up, and nothing outside 1..6. */
	spec = (struct dice_spec){ 1, 6, 0 };
	for (i = 0; i < 600; i++) {
		dice_roll(&spec, lcg_rng, &x, &res);
		assert_in_range(res.rolls[0], 1, 6);
		assert_int_equal(res.total, res.rolls[0]);
		seen[res.rolls[0]]++;
	}
	for (i = 1; i <= 6; i++)
		assert_true(seen[i] > 50);
}

static void
test_uniform(void **state)
{
	/* n = 3: 2^32 mod 3 = 1, so only 0 is rejected. */
	static const uint32_t	 v[] = { 0, 1, 0xffffffff };
	struct seq		 s = { v, nitems(v), 0 };

	assert_int_equal(dice_uniform(3, seq_rng, &s), 1);
	assert_int_equal(s.next, 2);
	assert_int_equal(dice_uniform(3, seq_rng, &s), 0xffffffffU % 3);
	/* n = 2 divides 2^32: nothing is rejected. */
	s.next = 0;
	assert_int_equal(dice_uniform(2, seq_rng, &s), 0);
	assert_int_equal(s.next, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_largest),
		cmocka_unit_test(test_roll),
		cmocka_unit_test(test_roll_range),
		cmocka_unit_test(test_uniform),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

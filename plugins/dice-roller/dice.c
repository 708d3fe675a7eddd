/*
 * dice.c: dice notation parser, roller and formatter.
 *
 * Self-contained on purpose (libc only, not even common/): the unit test
 * links this object after the module libraries.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "plugins/dice-roller/dice.h"

/* Longest piece of bad notation quoted back in an error, in bytes. */
#define DICE_QUOTE_MAX	32

/* Numbers are capped here while parsed, so "99999999999d6" cannot overflow. */
#define DICE_NUMBER_CAP	1000000

/* Skip spaces and tabs. */
static const char *
dice_skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Parse a run of digits into *v (capped); returns the end, or NULL if none. */
static const char *
dice_number(const char *p, int *v)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	*v = 0;
	while (isdigit((unsigned char)*p)) {
		*v = *v * 10 + (*p - '0');
		if (*v > DICE_NUMBER_CAP)
			*v = DICE_NUMBER_CAP;
		p++;
	}
	return p;
}

/* The "can't roll" error, quoting the notation (trimmed and shortened). */
static void
dice_bad_notation(const char *notation, char **cause)
{
	const char	*start = dice_skip_space(notation);
	size_t		 len = strlen(start), cut;

	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
		len--;
	cut = len;
	if (cut > DICE_QUOTE_MAX) {
		cut = DICE_QUOTE_MAX;
		while (cut > 0 && ((unsigned char)start[cut] & 0xc0) == 0x80)
			cut--;
	}
	xasprintf(cause, "can't roll \"%.*s%s\": use NdM, like 2d6 or d20+3",
	    (int)cut, start, cut < len ? "..." : "");
}

int
dice_parse(const char *notation, struct dice_spec *spec, char **cause)
{
	const char	*p = dice_skip_space(notation), *q;
	int		 count = 1, sides, modifier = 0, sign;

	if ((q = dice_number(p, &count)) != NULL)
		p = q;
	if (*p != 'd' && *p != 'D')
		goto bad;
	if ((p = dice_number(p + 1, &sides)) == NULL)
		goto bad;
	p = dice_skip_space(p);
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if ((p = dice_number(dice_skip_space(p + 1), &modifier)) == NULL)
			goto bad;
		modifier *= sign;
		p = dice_skip_space(p);
	}
	if (*p != '\0')
		goto bad;

	if (count < 1) {
		xasprintf(cause, "at least 1 die");
		return -1;
	}
	if (count > DICE_MAX_COUNT) {
		xasprintf(cause, "at most %d dice", DICE_MAX_COUNT);
		return -1;
	}
	if (sides < DICE_MIN_SIDES || sides > DICE_MAX_SIDES) {
		xasprintf(cause, "dice need %d to %d sides", DICE_MIN_SIDES,
		    DICE_MAX_SIDES);
		return -1;
	}
	if (modifier < -DICE_MAX_MODIFIER || modifier > DICE_MAX_MODIFIER) {
		xasprintf(cause, "modifier must be between %d and %d",
		    -DICE_MAX_MODIFIER, DICE_MAX_MODIFIER);
		return -1;
	}
	spec->count = count;
	spec->sides = sides;
	spec->modifier = modifier;
	return 0;
bad:
	dice_bad_notation(notation, cause);
	return -1;
}

/*
 * Reject the lowest 2^32 mod n values, so what is left is a whole number
 * of runs of n and r % n is uniform (the arc4random_uniform method).
 */
uint32_t
dice_uniform(uint32_t n, uint32_t (*rng)(void *), void *rng_arg)
{
	uint32_t	threshold, r;

	if (n < 2)
		return 0;
	threshold = (uint32_t)(0 - n) % n;
	do
		r = rng(rng_arg);
	while (r < threshold);
	return r % n;
}

void
dice_roll(const struct dice_spec *spec, uint32_t (*rng)(void *), void *rng_arg,
    struct dice_result *res)
{
	int	i;

	memset(res, 0, sizeof *res);
	res->spec = *spec;
	res->total = spec->modifier;
	for (i = 0; i < spec->count && i < DICE_MAX_COUNT; i++) {
		res->rolls[i] = 1 + (int)dice_uniform(spec->sides, rng, rng_arg);
		res->total += res->rolls[i];
	}
}

/* Append to buf at *off like snprintf; -1 once it no longer fits. */
static int __attribute__((format(printf, 4, 5)))
dice_append(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *off)
		return -1;
	*off += n;
	return 0;
}

int
dice_format(const struct dice_result *res, char *buf, size_t size)
{
	size_t	off = 0;
	int	i;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	if (dice_append(buf, size, &off, "🎲 [") != 0)
		return -1;
	for (i = 0; i < res->spec.count && i < DICE_MAX_COUNT; i++) {
		if (dice_append(buf, size, &off, "%s%d", i > 0 ? ", " : "",
		    res->rolls[i]) != 0)
			return -1;
	}
	if (dice_append(buf, size, &off, "]") != 0)
		return -1;
	if (res->spec.modifier != 0 &&
	    dice_append(buf, size, &off, " %+d", res->spec.modifier) != 0)
		return -1;
	return dice_append(buf, size, &off, " = %d", res->total);
}

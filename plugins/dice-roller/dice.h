/*
 * dice.h: dice notation (NdM+K) parsing, rolling and formatting. Pure C,
 * no I/O: the random source is passed in, so tests roll deterministically.
 */
#ifndef DICE_H
#define DICE_H

#include <stddef.h>
#include <stdint.h>

#define DICE_MAX_COUNT		20
#define DICE_MIN_SIDES		2
#define DICE_MAX_SIDES		1000
#define DICE_MAX_MODIFIER	100

/* Room for the longest formatted result (20 rolls of 1000, modifier, total). */
#define DICE_FORMAT_MAX		256

struct dice_spec {
	int	count;		/* N, 1..20 */
	int	sides;		/* M, 2..1000 */
	int	modifier;	/* K, -100..100 */
};

struct dice_result {
	struct dice_spec spec;
	int		 rolls[DICE_MAX_COUNT];
	int		 total;	/* sum of rolls plus modifier */
};

/* Parse "NdM", "dM", "NdM+K", "NdM - K"; 0, or -1 with a message in *cause. */
int	dice_parse(const char *notation, struct dice_spec *, char **cause);
/* A uniform integer in [0, n), n >= 1, without modulo bias. */
uint32_t dice_uniform(uint32_t n, uint32_t (*rng)(void *), void *rng_arg);
/* Roll the dice of a spec with a source of uniform 32-bit values. */
void	dice_roll(const struct dice_spec *, uint32_t (*rng)(void *), void *rng_arg,
	    struct dice_result *);
/* "🎲 [4, 3] +2 = 9"; 0, or -1 if it did not fit (then truncated). */
int	dice_format(const struct dice_result *, char *, size_t);

#endif

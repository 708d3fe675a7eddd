/*
 * ratelimit.h: token buckets, and a rate-limited log built on them, so that
 * nothing a plugin does can write the daemon's log faster than an operator
 * allows. Pure arithmetic: every call takes the time (seconds on a
 * monotonic clock) from its caller, so the unit tests drive the clock.
 *
 * A logrl admits a line when both of its buckets (lines, bytes) hold enough
 * tokens; otherwise it counts the line as suppressed, by kind (stdout,
 * stderr, ...). The first suppression opens a summary interval; once it has
 * lasted `interval` seconds the caller takes the counts and writes one
 * summary line per kind, and the next suppression opens the next interval.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Tokens refilled at rate a second, at most burst held; rate 0: no limit. */
struct tbucket {
	double	rate;
	double	burst;
	double	tokens;
	double	last;		/* when tokens was last brought up to date */
};

void	 tbucket_init(struct tbucket *, double rate, double burst, double now);
void	 tbucket_refill(struct tbucket *, double now);
int	 tbucket_take(struct tbucket *, double n, double now);
int	 tbucket_spend(struct tbucket *, double n, double now);
double	 tbucket_wait(struct tbucket *, double n, double now);

/* Kinds of line one logrl counts apart (a plugin's stdout, stderr, log). */
#define LOGRL_KINDS	3

struct logrl {
	struct tbucket	 lines;
	struct tbucket	 bytes;
	double		 interval;		/* s between two summaries */
	double		 since;			/* first suppression of the
						   open interval; 0: none open */
	uint64_t	 count[LOGRL_KINDS];	/* suppressed in the interval */
	uint64_t	 nbytes[LOGRL_KINDS];
	uint64_t	 total;			/* suppressed ever */
};

/* What one interval suppressed, as logrl_summary hands it over. */
struct logrl_summary {
	double		 span;			/* s from the first suppression */
	uint64_t	 count[LOGRL_KINDS];
	uint64_t	 nbytes[LOGRL_KINDS];
};

void	 logrl_init(struct logrl *, double lines_per_second, double burst_lines,
	     double bytes_per_second, double burst_bytes, double interval,
	     double now);
void	 logrl_set(struct logrl *, double lines_per_second, double burst_lines,
	     double bytes_per_second, double burst_bytes, double interval,
	     double now);
int	 logrl_admit(struct logrl *, int kind, size_t bytes, double now);
double	 logrl_due(const struct logrl *);
int	 logrl_summary(struct logrl *, double now, int force,
	     struct logrl_summary *);

#endif

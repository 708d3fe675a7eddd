/*
 * test_lifecycle.c: the lifecycle's decision table, pair by pair, against
 * the one docs/lifecycle.md prints, and the invariants the table must keep.
 * Links lifecycle.o alone: the decisions need no daemon and no libevent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/lifecycle.h"

#define DOC_LINE_MAX	1024
#define DOC_MAX_COLS	16
#define DOC_MAX_ROWS	32

/* One markdown table: its header cells and rows of cells. */
struct doc_table {
	int	 ncols;
	char	 head[DOC_MAX_COLS][128];
	int	 nrows;
	char	 cell[DOC_MAX_ROWS][DOC_MAX_COLS][128];
};

/* Split "| a | `b` | c |" into trimmed cells without backquotes. */
static int
split_row(const char *line, char cells[][128], int max)
{
	const char	*p = line, *end;
	int		 n = 0;
	size_t		 len, i, j;

	if (*p != '|')
		return -1;
	p++;
	while ((end = strchr(p, '|')) != NULL && n < max) {
		while (p < end && *p == ' ')
			p++;
		len = (size_t)(end - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		for (i = j = 0; i < len && j < 127; i++) {
			if (p[i] != '`')
				cells[n][j++] = p[i];
		}
		cells[n][j] = '\0';
		n++;
		p = end + 1;
	}
	return n;
}

/* Read the table whose first header cell is first from docs/lifecycle.md. */
static void
read_doc_table(const char *first, struct doc_table *t)
{
	char	 line[DOC_LINE_MAX], cells[DOC_MAX_COLS][128];
	char	 path[512];
	const char *dir = getenv("SUPERVISOR_SRCDIR");
	FILE	*f;
	int	 n, in = 0, i;

	snprintf(path, sizeof path, "%s/docs/lifecycle.md", dir ? dir : ".");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (run from the source tree)", path);
	memset(t, 0, sizeof *t);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		n = split_row(line, cells, DOC_MAX_COLS);
		if (!in) {
			if (n > 0 && strcmp(cells[0], first) == 0) {
				in = 1;
				t->ncols = n;
				for (i = 0; i < n; i++)
					memcpy(t->head[i], cells[i],
					    sizeof t->head[i]);
			}
			continue;
		}
		if (n == -1)
			break;
		if (strncmp(cells[0], "---", 3) == 0)
			continue;
		assert_int_equal(n, t->ncols);
		assert_true(t->nrows < DOC_MAX_ROWS);
		memcpy(t->cell[t->nrows++], cells, sizeof cells);
	}
	fclose(f);
	if (!in)
		fail_msg("no table headed \"%s\" in %s", first, path);
}

static int
state_by_name(const char *name)
{
	int	s;

	for (s = 0; s < PLUGIN_NSTATES; s++) {
		if (strcmp(plugin_state_name(s), name) == 0)
			return s;
	}
	return -1;
}

static int
event_by_name(const char *name)
{
	int	e;

	for (e = 0; e < PLUGIN_NEVENTS; e++) {
		if (strcmp(plugin_event_name(e), name) == 0)
			return e;
	}
	return -1;
}

/* Every state × event cell of the doc names the action the code takes. */
static void
test_table_matches_the_doc(void **state)
{
	struct doc_table	*t = malloc(sizeof *t);
	int			 seen_state[PLUGIN_NSTATES] = { 0 };
	int			 col_event[DOC_MAX_COLS];
	int			 r, c, s, e, checked = 0;

	read_doc_table("state \\ event", t);
	assert_int_equal(t->ncols, 1 + PLUGIN_NEVENTS);
	for (c = 1; c < t->ncols; c++) {
		col_event[c] = event_by_name(t->head[c]);
		if (col_event[c] == -1)
			fail_msg("doc column \"%s\" is no event", t->head[c]);
	}
	assert_int_equal(t->nrows, PLUGIN_NSTATES);
	for (r = 0; r < t->nrows; r++) {
		s = state_by_name(t->cell[r][0]);
		if (s == -1)
			fail_msg("doc row \"%s\" is no state", t->cell[r][0]);
		seen_state[s]++;
		for (c = 1; c < t->ncols; c++) {
			e = col_event[c];
			if (strcmp(t->cell[r][c],
			    lifecycle_action_name(lifecycle_decide(s, e))) != 0)
				fail_msg("%s × %s: the doc says %s, the code %s",
				    plugin_state_name(s), plugin_event_name(e),
				    t->cell[r][c], lifecycle_action_name(
				    lifecycle_decide(s, e)));
			checked++;
		}
	}
	for (s = 0; s < PLUGIN_NSTATES; s++)
		assert_int_equal(seen_state[s], 1);
	assert_int_equal(checked, PLUGIN_NSTATES * PLUGIN_NEVENTS);
	free(t);
}

/* Every action the doc lists leads to the states the code allows it. */
static void
test_targets_match_the_doc(void **state)
{
	struct doc_table	*t = malloc(sizeof *t);
	int			 seen[LIFECYCLE_NACTIONS] = { 0 };
	unsigned		 doc_targets;
	char			*tok, *save;
	int			 r, a, s;

	read_doc_table("action", t);
	assert_int_equal(t->ncols, 3);
	assert_string_equal(t->head[2], "goes to");
	for (r = 0; r < t->nrows; r++) {
		for (a = 0; a < LIFECYCLE_NACTIONS; a++) {
			if (strcmp(lifecycle_action_name(a), t->cell[r][0]) == 0)
				break;
		}
		if (a == LIFECYCLE_NACTIONS)
			fail_msg("doc action \"%s\" is not in the code",
			    t->cell[r][0]);
		seen[a]++;
		doc_targets = 0;
		if (strcmp(t->cell[r][2], "—") != 0) {
			for (tok = strtok_r(t->cell[r][2], ", ", &save);
			    tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
				if ((s = state_by_name(tok)) == -1)
					fail_msg("%s: \"%s\" is no state",
					    t->cell[r][0], tok);
				doc_targets |= PLUGIN_STATE_BIT(s);
			}
		}
		if (doc_targets != lifecycle_targets(a))
			fail_msg("action %s: the doc's targets differ from the "
			    "code's", lifecycle_action_name(a));
	}
	for (a = 0; a < LIFECYCLE_NACTIONS; a++) {
		if (seen[a] != 1)
			fail_msg("action %s is documented %d times",
			    lifecycle_action_name(a), seen[a]);
	}
	free(t);
}

static int
has_process(int s)
{
	return s == PLUGIN_STARTING || s == PLUGIN_RUNNING ||
	    s == PLUGIN_STOPPING || s == PLUGIN_UPGRADING;
}

/*
 * What the table must keep whatever it says: events about a process only
 * where there is one; STOPPING and RUNNING entered only from a state with a
 * process (no "STOPPING, pid null"); a failed spawn handled wherever a spawn
 * can be tried, and leading only to states that act (BACKOFF and FATAL arm
 * a timer, STOPPED waits for an operator).
 */
static void
test_invariants(void **state)
{
	enum lifecycle_action	a;
	unsigned		 spawning = 0;
	int			 s, e;

	for (s = 0; s < PLUGIN_NSTATES; s++) {
		for (e = 0; e < PLUGIN_NEVENTS; e++) {
			a = lifecycle_decide(s, e);
			if (lifecycle_targets(a) & PLUGIN_STATE_BIT(
			    PLUGIN_STARTING))
				spawning |= PLUGIN_STATE_BIT(s);
			if (!has_process(s)) {
				assert_int_equal(lifecycle_decide(s, PEV_EXIT),
				    LA_INVALID);
				assert_int_equal(lifecycle_decide(s, PEV_READY),
				    LA_INVALID);
				assert_false(lifecycle_allows(a,
				    PLUGIN_STOPPING));
				assert_false(lifecycle_allows(a,
				    PLUGIN_RUNNING));
			}
			/* RUNNING: a ready, or the end of an upgrade. */
			if (lifecycle_allows(a, PLUGIN_RUNNING))
				assert_true(s == PLUGIN_STARTING ||
				    s == PLUGIN_UPGRADING);
			/* The new process exists only in UPGRADING. */
			if (s != PLUGIN_UPGRADING) {
				assert_int_equal(lifecycle_decide(s,
				    PEV_NEW_READY), LA_INVALID);
				assert_int_equal(lifecycle_decide(s,
				    PEV_NEW_FAILED), LA_INVALID);
			}
			if (lifecycle_allows(a, PLUGIN_UPGRADING))
				assert_int_equal(s, PLUGIN_RUNNING);
		}
	}
	/* Where a spawn is tried, its failure is a crash. */
	for (s = 0; s < PLUGIN_NSTATES; s++) {
		if (spawning & PLUGIN_STATE_BIT(s))
			assert_int_equal(lifecycle_decide(s, PEV_SPAWN_FAILED),
			    LA_CRASHED);
		else
			assert_int_equal(lifecycle_decide(s, PEV_SPAWN_FAILED),
			    LA_INVALID);
	}
	assert_int_equal(lifecycle_targets(LA_CRASHED),
	    PLUGIN_STATE_BIT(PLUGIN_BACKOFF) | PLUGIN_STATE_BIT(PLUGIN_FATAL) |
	    PLUGIN_STATE_BIT(PLUGIN_STOPPED));
	/* An operator's start and stop mean something in every state. */
	for (s = 0; s < PLUGIN_NSTATES; s++) {
		assert_int_not_equal(lifecycle_decide(s, PEV_START), LA_INVALID);
		assert_int_not_equal(lifecycle_decide(s, PEV_STOP), LA_INVALID);
		assert_int_not_equal(lifecycle_decide(s, PEV_RESTART),
		    LA_INVALID);
		/* Every state but STOPPED has a deadline. */
		assert_int_equal(lifecycle_decide(s, PEV_TIMER) == LA_INVALID,
		    s == PLUGIN_STOPPED);
	}
}

/* The bugs the table was made against, as single cells. */
static void
test_known_paths(void **state)
{
	/* A backoff or trial start that cannot spawn is a crash, again. */
	assert_int_equal(lifecycle_decide(PLUGIN_BACKOFF, PEV_TIMER), LA_SPAWN);
	assert_int_equal(lifecycle_decide(PLUGIN_BACKOFF, PEV_SPAWN_FAILED),
	    LA_CRASHED);
	assert_int_equal(lifecycle_decide(PLUGIN_FATAL, PEV_TIMER), LA_TRIAL);
	assert_int_equal(lifecycle_decide(PLUGIN_FATAL, PEV_SPAWN_FAILED),
	    LA_CRASHED);
	/* restart: the asked-for exit starts it again, or it crashes. */
	assert_int_equal(lifecycle_decide(PLUGIN_STOPPING, PEV_EXIT),
	    LA_EXITED);
	assert_true(lifecycle_allows(LA_EXITED, PLUGIN_STARTING));
	assert_int_equal(lifecycle_decide(PLUGIN_STOPPING, PEV_SPAWN_FAILED),
	    LA_CRASHED);
	/* A ready while stopping is moot; a second one is refused. */
	assert_int_equal(lifecycle_decide(PLUGIN_STOPPING, PEV_READY),
	    LA_IGNORE);
	assert_int_equal(lifecycle_decide(PLUGIN_RUNNING, PEV_READY),
	    LA_REFUSE);
}

/*
 * Upgrade: only a running plugin gets a new process beside the old; either
 * outcome of the new one leaves it RUNNING (the new version, or the old one
 * serving on); an operator's stop or restart during it still means stop.
 */
static void
test_upgrade_paths(void **state)
{
	assert_int_equal(lifecycle_decide(PLUGIN_RUNNING, PEV_UPGRADE),
	    LA_UPGRADE);
	assert_int_equal(lifecycle_targets(LA_UPGRADE),
	    PLUGIN_STATE_BIT(PLUGIN_UPGRADING));
	assert_int_equal(lifecycle_decide(PLUGIN_UPGRADING, PEV_NEW_READY),
	    LA_SWITCH);
	assert_int_equal(lifecycle_decide(PLUGIN_UPGRADING, PEV_NEW_FAILED),
	    LA_ABANDON);
	assert_int_equal(lifecycle_targets(LA_SWITCH),
	    PLUGIN_STATE_BIT(PLUGIN_RUNNING));
	assert_int_equal(lifecycle_targets(LA_ABANDON),
	    PLUGIN_STATE_BIT(PLUGIN_RUNNING));
	assert_int_equal(lifecycle_decide(PLUGIN_UPGRADING, PEV_UPGRADE),
	    LA_PEND_UPGRADE);
	assert_int_equal(lifecycle_decide(PLUGIN_UPGRADING, PEV_STOP),
	    LA_SHUTDOWN);
	assert_int_equal(lifecycle_decide(PLUGIN_UPGRADING, PEV_RESTART),
	    LA_RESTART);
	/* The old process crashing or hanging is its own crash. */
	assert_int_equal(lifecycle_decide(PLUGIN_UPGRADING, PEV_EXIT),
	    LA_CRASHED);
	assert_int_equal(lifecycle_decide(PLUGIN_UPGRADING, PEV_TIMER),
	    LA_TICK);
	/* Nothing to upgrade: stopped stays stopped, a crashed one starts. */
	assert_int_equal(lifecycle_decide(PLUGIN_STOPPED, PEV_UPGRADE),
	    LA_IGNORE);
	assert_int_equal(lifecycle_decide(PLUGIN_BACKOFF, PEV_UPGRADE),
	    LA_START);
	assert_int_equal(lifecycle_decide(PLUGIN_FATAL, PEV_UPGRADE),
	    LA_START);
	assert_string_equal(plugin_state_name(PLUGIN_UPGRADING), "UPGRADING");
	assert_string_equal(plugin_event_name(PEV_NEW_FAILED), "new-failed");
}

static void
test_names_and_bounds(void **state)
{
	assert_string_equal(plugin_state_name(PLUGIN_BACKOFF), "BACKOFF");
	assert_string_equal(plugin_state_name((enum plugin_state)99), "?");
	assert_string_equal(plugin_event_name(PEV_SPAWN_FAILED),
	    "spawn-failed");
	assert_string_equal(plugin_event_name((enum plugin_event)99), "?");
	assert_string_equal(lifecycle_action_name(LA_PEND_RESTART),
	    "pend-restart");
	assert_string_equal(lifecycle_action_name(
	    (enum lifecycle_action)99), "?");
	assert_int_equal(lifecycle_decide((enum plugin_state)99, PEV_START),
	    LA_INVALID);
	assert_int_equal(lifecycle_decide(PLUGIN_STOPPED,
	    (enum plugin_event)99), LA_INVALID);
	assert_int_equal(lifecycle_targets((enum lifecycle_action)99), 0);
	assert_false(lifecycle_allows(LA_START, (enum plugin_state)99));
	assert_false(lifecycle_allows(LA_IGNORE, PLUGIN_STOPPED));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_the_doc),
		cmocka_unit_test(test_targets_match_the_doc),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_known_paths),
		cmocka_unit_test(test_upgrade_paths),
		cmocka_unit_test(test_names_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * lifecycle.c: the decision table of the plugin lifecycle. One row per state,
 * one column per event; plugin.c runs the action a cell names and may only
 * move the plugin to the states that action allows (lifecycle_allows), so a
 * transition the table does not foresee is a broken invariant, not a quiet
 * surprise. docs/lifecycle.md prints the same table and tests/unit/
 * test_lifecycle.c holds the two against each other, cell by cell.
 *
 * Adding a state is one row here (and its name); adding an event, one column.
 */
#include <stddef.h>

#include "common/common.h"
#include "supervisor/lifecycle.h"

#define S(x)	PLUGIN_STATE_BIT(PLUGIN_##x)

static const char *const lifecycle_state_names[PLUGIN_NSTATES] = {
	[PLUGIN_STOPPED] = "STOPPED",
	[PLUGIN_STARTING] = "STARTING",
	[PLUGIN_RUNNING] = "RUNNING",
	[PLUGIN_BACKOFF] = "BACKOFF",
	[PLUGIN_STOPPING] = "STOPPING",
	[PLUGIN_FATAL] = "FATAL",
	[PLUGIN_UPGRADING] = "UPGRADING",
};

static const char *const lifecycle_event_names[PLUGIN_NEVENTS] = {
	[PEV_START] = "start",
	[PEV_STOP] = "stop",
	[PEV_RESTART] = "restart",
	[PEV_REMOVE] = "remove",
	[PEV_ADD] = "add",
	[PEV_READY] = "ready",
	[PEV_EXIT] = "exit",
	[PEV_TIMER] = "timer",
	[PEV_SPAWN_FAILED] = "spawn-failed",
	[PEV_KILL] = "kill",
	[PEV_UPGRADE] = "upgrade",
	[PEV_NEW_READY] = "new-ready",
	[PEV_NEW_FAILED] = "new-failed",
};

/* Each action's name and the states it may move a plugin to. */
static const struct {
	const char	*name;
	unsigned	 targets;
} lifecycle_actions[LIFECYCLE_NACTIONS] = {
	[LA_INVALID] = { "invalid", 0 },
	[LA_IGNORE] = { "ignore", 0 },
	[LA_START] = { "start", S(STARTING) },
	[LA_SPAWN] = { "spawn", S(STARTING) },
	[LA_TRIAL] = { "trial", S(STARTING) },
	[LA_SHUTDOWN] = { "shutdown", S(STOPPING) },
	[LA_RESTART] = { "restart", S(STOPPING) },
	[LA_PEND_RESTART] = { "pend-restart", 0 },
	[LA_CANCEL_RESTART] = { "cancel-restart", 0 },
	[LA_SETTLE] = { "settle", S(STOPPED) },
	[LA_UP] = { "up", S(RUNNING) },
	[LA_REFUSE] = { "refuse", 0 },
	[LA_CRASHED] = { "crashed", S(BACKOFF) | S(FATAL) | S(STOPPED) },
	[LA_EXITED] = { "exited", S(STOPPED) | S(STARTING) },
	[LA_READY_TIMEOUT] = { "ready-timeout", 0 },
	[LA_TICK] = { "tick", 0 },
	[LA_ESCALATE] = { "escalate", 0 },
	[LA_KILL] = { "kill", 0 },
	[LA_FORGET] = { "forget", 0 },
	[LA_UNREMOVE] = { "unremove", 0 },
	[LA_UPGRADE] = { "upgrade", S(UPGRADING) },
	[LA_SWITCH] = { "switch", S(RUNNING) },
	[LA_ABANDON] = { "abandon", S(RUNNING) },
	[LA_PEND_UPGRADE] = { "pend-upgrade", 0 },
};

#define X	LA_INVALID
#define I	LA_IGNORE

/*
 * The table. A spawn that fails is reported in the state the spawn was tried
 * from (STARTING is entered only with a process), so spawn-failed is a crash
 * in every state a start can come from. ready, exit and kill need a process:
 * in a state without one they cannot happen (exit) or are moot (kill). A
 * removed plugin is only ever STOPPED or STOPPING, so add elsewhere is a bug.
 * new-ready and new-failed come from the new process of an upgrade, which
 * exists only in UPGRADING: leaving UPGRADING any other way discards it.
 */
static const enum lifecycle_action
lifecycle_table[PLUGIN_NSTATES][PLUGIN_NEVENTS] = {
	/*		    start	    stop	       restart
	 *		    remove	    add		       ready
	 *		    exit	    timer	       spawn-failed
	 *		    kill	    upgrade	       new-ready
	 *		    new-failed */
	[PLUGIN_STOPPED] = {
			    LA_START,	    I,		       LA_START,
			    LA_FORGET,	    LA_UNREMOVE,       X,
			    X,		    X,		       LA_CRASHED,
			    I,		    I,		       X,
			    X },
	[PLUGIN_STARTING] = {
			    I,		    LA_SHUTDOWN,       LA_RESTART,
			    LA_SHUTDOWN,    X,		       LA_UP,
			    LA_CRASHED,	    LA_READY_TIMEOUT,  X,
			    LA_KILL,	    LA_RESTART,	       X,
			    X },
	[PLUGIN_RUNNING] = {
			    I,		    LA_SHUTDOWN,       LA_RESTART,
			    LA_SHUTDOWN,    X,		       LA_REFUSE,
			    LA_CRASHED,	    LA_TICK,	       X,
			    LA_KILL,	    LA_UPGRADE,	       X,
			    X },
	[PLUGIN_BACKOFF] = {
			    LA_START,	    LA_SETTLE,	       LA_START,
			    LA_SETTLE,	    X,		       X,
			    X,		    LA_SPAWN,	       LA_CRASHED,
			    I,		    LA_START,	       X,
			    X },
	[PLUGIN_STOPPING] = {
			    LA_PEND_RESTART, LA_CANCEL_RESTART, LA_PEND_RESTART,
			    LA_CANCEL_RESTART, LA_UNREMOVE,    I,
			    LA_EXITED,	    LA_ESCALATE,       LA_CRASHED,
			    LA_KILL,	    I,		       X,
			    X },
	[PLUGIN_FATAL] = {
			    LA_START,	    LA_SETTLE,	       LA_START,
			    LA_SETTLE,	    X,		       X,
			    X,		    LA_TRIAL,	       LA_CRASHED,
			    I,		    LA_START,	       X,
			    X },
	[PLUGIN_UPGRADING] = {
			    I,		    LA_SHUTDOWN,       LA_RESTART,
			    LA_SHUTDOWN,    X,		       LA_REFUSE,
			    LA_CRASHED,	    LA_TICK,	       X,
			    LA_KILL,	    LA_PEND_UPGRADE,   LA_SWITCH,
			    LA_ABANDON },
};

#undef X
#undef I

const char *
plugin_state_name(enum plugin_state s)
{
	if ((unsigned)s >= PLUGIN_NSTATES)
		return "?";
	return lifecycle_state_names[s];
}

const char *
plugin_event_name(enum plugin_event e)
{
	if ((unsigned)e >= PLUGIN_NEVENTS)
		return "?";
	return lifecycle_event_names[e];
}

const char *
lifecycle_action_name(enum lifecycle_action a)
{
	if ((unsigned)a >= LIFECYCLE_NACTIONS)
		return "?";
	return lifecycle_actions[a].name;
}

/* The action for an event in a state; LA_INVALID for any value outside. */
enum lifecycle_action
lifecycle_decide(enum plugin_state s, enum plugin_event e)
{
	if ((unsigned)s >= PLUGIN_NSTATES || (unsigned)e >= PLUGIN_NEVENTS)
		return LA_INVALID;
	return lifecycle_table[s][e];
}

/* The states an action may lead to, as PLUGIN_STATE_BIT()s. */
unsigned
lifecycle_targets(enum lifecycle_action a)
{
	if ((unsigned)a >= LIFECYCLE_NACTIONS)
		return 0;
	return lifecycle_actions[a].targets;
}

/* Whether an action may move a plugin to a state. */
int
lifecycle_allows(enum lifecycle_action a, enum plugin_state to)
{
	if ((unsigned)to >= PLUGIN_NSTATES)
		return 0;
	return (lifecycle_targets(a) & PLUGIN_STATE_BIT(to)) != 0;
}

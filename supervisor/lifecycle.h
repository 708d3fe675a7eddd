/*
 * lifecycle.h: the plugin lifecycle as a table of decisions, state × event →
 * action (s6-supervise's actions[state][event]). Pure: no libevent, no daemon
 * state, so the unit tests walk every pair against docs/lifecycle.md. What an
 * action does to a process lives in plugin.c; which action runs, and which
 * states it may lead to, is decided here only.
 */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

/* Lifecycle states (docs/lifecycle.md). */
enum plugin_state {
	PLUGIN_STOPPED,
	PLUGIN_STARTING,
	PLUGIN_RUNNING,
	PLUGIN_BACKOFF,
	PLUGIN_STOPPING,
	PLUGIN_FATAL,
	PLUGIN_UPGRADING,
};
#define PLUGIN_NSTATES	7

/* What can happen to a plugin; every caller outside plugin.c sends one. */
enum plugin_event {
	PEV_START,		/* operator start, autostart, added by reload */
	PEV_STOP,		/* operator stop, daemon shutdown */
	PEV_RESTART,		/* operator restart, config changed by reload */
	PEV_REMOVE,		/* gone from the config: stop, then forget it */
	PEV_ADD,		/* back in the config before it was forgotten */
	PEV_READY,		/* a valid ready message */
	PEV_EXIT,		/* waitpid reported the process gone */
	PEV_TIMER,		/* the state's deadline passed */
	PEV_SPAWN_FAILED,	/* no process could be made (fork, pipes) */
	PEV_KILL,		/* the daemon kills it: hung, protocol, limits */
	PEV_UPGRADE,		/* upgrade verb, reload (reload: upgrade), watch */
	PEV_NEW_READY,		/* the new process of an upgrade sent ready */
	PEV_NEW_FAILED,		/* the new process of an upgrade failed */
};
#define PLUGIN_NEVENTS	13

/* What the daemon does for a (state, event) pair. */
enum lifecycle_action {
	LA_INVALID,		/* cannot happen: a broken invariant, fatal */
	LA_IGNORE,		/* nothing to do */
	LA_START,		/* close the breaker, spawn */
	LA_SPAWN,		/* spawn (backoff over) */
	LA_TRIAL,		/* breaker half-open, spawn once */
	LA_SHUTDOWN,		/* send shutdown, arm stop_timeout */
	LA_RESTART,		/* close the breaker, shutdown, start once stopped */
	LA_PEND_RESTART,	/* close the breaker, start once stopped */
	LA_CANCEL_RESTART,	/* stay stopped once stopped */
	LA_SETTLE,		/* no process and none wanted: drop the queue */
	LA_UP,			/* claim its commands, deliver what waited */
	LA_REFUSE,		/* a second ready: protocol error, dropped */
	LA_CRASHED,		/* record the crash, apply the restart policy */
	LA_EXITED,		/* the asked-for exit: stopped, or start again */
	LA_READY_TIMEOUT,	/* kill, reason ready-timeout */
	LA_TICK,		/* ping, hang check, stable uptime */
	LA_ESCALATE,		/* SIGTERM, then SIGKILL */
	LA_KILL,		/* SIGKILL with a reason for the crash record */
	LA_FORGET,		/* free it once the loop turns */
	LA_UNREMOVE,		/* keep it: it is in the config again */
	LA_UPGRADE,		/* spawn the new process beside the old */
	LA_SWITCH,		/* the new one takes the commands, the old drains */
	LA_ABANDON,		/* the new one failed: a crash; the old serves on */
	LA_PEND_UPGRADE,	/* upgrade again once this upgrade ends */
};
#define LIFECYCLE_NACTIONS	24

#define PLUGIN_STATE_BIT(s)	(1u << (s))

const char	*plugin_state_name(enum plugin_state);
const char	*plugin_event_name(enum plugin_event);
const char	*lifecycle_action_name(enum lifecycle_action);
enum lifecycle_action lifecycle_decide(enum plugin_state, enum plugin_event);
unsigned	 lifecycle_targets(enum lifecycle_action);
int		 lifecycle_allows(enum lifecycle_action, enum plugin_state to);

#endif

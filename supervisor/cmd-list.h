/*
 * cmd-list.h: the verbs of the command table, once: name, arguments,
 * one line of help, flags. The daemon (cmd.c) pairs each with its function
 * cmd_NAME; supervisorctl reads the same list for its usage and help
 * without linking the daemon.
 */
#ifndef CMD_LIST_H
#define CMD_LIST_H

#define CMD_PLUGIN	0x1	/* takes a plugin name */
#define CMD_CHAT	0x2	/* allowed as !admin VERB */
#define CMD_STREAM	0x4	/* turns the connection into a stream */

#define CMD_LIST(X) \
	X(status, "[plugin]", CMD_CHAT, \
	    "state, pid, uptime, restarts, CPU, memory "\
	    "and events of every plugin (or one), and system metrics") \
	X(metrics, "plugin [window]", CMD_PLUGIN | CMD_CHAT, \
	    "current sample and avg/min/max/p95 "\
	    "aggregates over a window (90s, 5m, 1h; default all retained)") \
	X(history, "plugin [last N | since WINDOW]", CMD_PLUGIN, \
	    "raw samples, oldest "\
	    "first") \
	X(crashes, "plugin", CMD_PLUGIN | CMD_CHAT, \
	    "crash records, oldest first, with exit "\
	    "status, signal, reason and last stderr lines") \
	X(start, "plugin", CMD_PLUGIN | CMD_CHAT, \
	    "start a stopped or FATAL plugin (closes the "\
	    "breaker)") \
	X(stop, "plugin", CMD_PLUGIN | CMD_CHAT, \
	    "stop a plugin (shutdown, SIGTERM, SIGKILL)") \
	X(restart, "plugin", CMD_PLUGIN | CMD_CHAT, \
	    "stop and start a plugin (closes the breaker)") \
	X(reload, "", CMD_CHAT, \
	    "read the config file again: add, remove and restart "\
	    "changed plugins; chat settings apply at once") \
	X(tail, "plugin [lines]", CMD_PLUGIN, \
	    "last stderr lines of a plugin") \
	X(system, "", CMD_CHAT, \
	    "daemon uptime, plugin counts, events, memory, and the "\
	    "daemon's own CPU and memory") \
	X(version, "", CMD_CHAT, \
	    "daemon and protocol version") \
	X(help, "", CMD_CHAT, \
	    "the verbs") \
	X(subscribe, "[topics]", CMD_STREAM, \
	    "stream events as JSON lines: state, crash, "\
	    "sample (default all)")

#endif

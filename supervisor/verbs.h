/*
 * verbs.h: the verbs of the command table, each one entry of VERB_LIST:
 * its name, arguments, flags, one line of help, and how its JSON result
 * reads in chat (chat) and on the command line (cli). The daemon pairs
 * every entry with its function cmd_NAME (cmd.c); supervisorctl and !admin
 * read the same entries. Nothing here knows libevent or the daemon's
 * structures, so supervisorctl links this (verbs*.c) and not the daemon.
 * (tmux's cmd_entry is the model.)
 */
#ifndef VERBS_H
#define VERBS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "common/common.h"

#define SUPERVISOR_VERSION	"0.1.0"

#define CMD_PLUGIN	0x1	/* takes a plugin name */
#define CMD_CHAT	0x2	/* allowed as !admin VERB */
#define CMD_STREAM	0x4	/* turns the connection into a stream */
#define CMD_READ	0x8	/* changes nothing: served over HTTP too */
#define CMD_MULTI	0x10	/* plugin may be "all" or a list of names */

/* Lines of one chat answer at most. */
#define VERB_CHAT_MAX_LINES	12

/* What a cli printer returns: supervisorctl's exit status. */
#define VERB_EXIT_OK		0
#define VERB_EXIT_FAILED	1	/* status: a plugin is not RUNNING */

struct verb;

/* Chat text being written, bounded by its buffer; never overflows. */
struct verb_text {
	char	*buf;
	size_t	 size;
	size_t	 len;
};

typedef void	verb_chat_fn(const struct verb *, json_t *, struct verb_text *);
typedef int	verb_cli_fn(const struct verb *, json_t *);

/*
 * One verb. args names the request's keys in order ("plugin [window]": a
 * plugin, then an optional window), so a verb whose arguments are strings
 * needs no code of its own in supervisorctl or !admin. Without chat, a
 * result reads in chat as compact "key: value" text; without cli, the
 * command line prints the chat text, or "key: value" lines without either.
 */
struct verb {
	const char	*name;
	const char	*args;		/* arguments, as request keys */
	const char	*usage;		/* one line of help */
	int		 flags;		/* CMD_* */
	verb_chat_fn	*chat;		/* NULL: verb_chat_generic */
	verb_cli_fn	*cli;		/* NULL: the chat text */
	const char	*cli_name;	/* typed as, if not name */
	const char	*cli_args;	/* on the command line, if not args */
};

/*
 * The verbs, in the order help lists them: X(name, fields of struct verb
 * as designated initializers). Adding a verb is one entry here and its
 * function cmd_NAME in cmd.c (the build fails without it), plus its
 * formatters if the generic ones do not read well.
 */
#define VERB_LIST(X) \
	X(status, .args = "[plugin]", .flags = CMD_CHAT | CMD_READ, \
	    .chat = verb_chat_status, .cli = verb_cli_status, \
	    .cli_args = "[plugin] [--fields NAME,...]", \
	    .usage = "state, pid, uptime, restarts, CPU, memory "\
	    "and events of every plugin (or one), and system metrics") \
	X(metrics, .args = "plugin [window]", \
	    .flags = CMD_PLUGIN | CMD_CHAT | CMD_READ, \
	    .chat = verb_chat_metrics, .cli = verb_cli_metrics, \
	    .usage = "current sample and avg/min/max/p95 "\
	    "aggregates over a window (90s, 5m, 1h; default all retained)") \
	X(history, .args = "plugin [last N | since WINDOW]", \
	    .flags = CMD_PLUGIN | CMD_READ, .cli = verb_cli_history, \
	    .cli_args = "plugin [--last N | --since WINDOW]", \
	    .usage = "raw samples, oldest first") \
	X(crashes, .args = "plugin", \
	    .flags = CMD_PLUGIN | CMD_CHAT | CMD_READ, \
	    .chat = verb_chat_crashes, .cli = verb_cli_crashes, \
	    .usage = "crash records, oldest first, with exit "\
	    "status, signal, reason and last stderr lines") \
	X(start, .args = "plugin", \
	    .flags = CMD_PLUGIN | CMD_CHAT | CMD_MULTI, \
	    .chat = verb_chat_action, .cli = verb_cli_action, \
	    .cli_args = "plugin ... | all", \
	    .usage = "start a stopped or FATAL plugin (closes the breaker); "\
	    "all, or several names, for each") \
	X(stop, .args = "plugin", \
	    .flags = CMD_PLUGIN | CMD_CHAT | CMD_MULTI, \
	    .chat = verb_chat_action, .cli = verb_cli_action, \
	    .cli_args = "plugin ... | all", \
	    .usage = "stop a plugin (shutdown, SIGTERM, SIGKILL); all, or "\
	    "several names, for each") \
	X(restart, .args = "plugin", \
	    .flags = CMD_PLUGIN | CMD_CHAT | CMD_MULTI, \
	    .chat = verb_chat_action, .cli = verb_cli_action, \
	    .cli_args = "plugin ... | all", \
	    .usage = "stop and start a plugin (closes the breaker); all, or "\
	    "several names, for each") \
	X(upgrade, .args = "plugin", .flags = CMD_PLUGIN | CMD_CHAT, \
	    .chat = verb_chat_upgrade, \
	    .usage = "start a new process of a running plugin beside the old "\
	    "one; it takes over the commands on ready, the old one drains; "\
	    "if it fails the old one serves on") \
	X(signal, .args = "plugin signal", .flags = CMD_PLUGIN | CMD_CHAT, \
	    .chat = verb_chat_signal, \
	    .usage = "send a signal (HUP, USR1, TERM, KILL, ... with or "\
	    "without SIG, or a number) to a RUNNING or STARTING plugin's "\
	    "process group") \
	X(reload, .args = "", .flags = CMD_CHAT, \
	    .chat = verb_chat_reload, .cli = verb_cli_reload, \
	    .usage = "read the config file again: add, remove and restart "\
	    "changed plugins; chat settings apply at once") \
	X(tail, .args = "plugin [lines]", .flags = CMD_PLUGIN | CMD_READ, \
	    .cli = verb_cli_tail, \
	    .cli_args = "plugin [lines] | -f [plugin [lines]]", \
	    .usage = "last stderr lines of a plugin; supervisorctl tail -f "\
	    "follows the output of one plugin or all as it comes") \
	X(forget, .args = "name", .flags = 0, \
	    .usage = "delete the saved history of a plugin that is no "\
	    "longer in the config") \
	X(system, .args = "", .flags = CMD_CHAT | CMD_READ, \
	    .chat = verb_chat_system, .cli = verb_cli_system, \
	    .usage = "daemon uptime, plugin counts, events, memory, and the "\
	    "daemon's own CPU and memory") \
	X(alerts, .args = "", .flags = CMD_CHAT | CMD_READ, \
	    .chat = verb_chat_alerts, .cli = verb_cli_alerts, \
	    .usage = "alerts firing now, pending rules, silences, targets "\
	    "and the recent alert lines") \
	X(silence, .args = "name duration", .flags = CMD_CHAT, \
	    .chat = verb_chat_silence, \
	    .usage = "keep a plugin's, a rule's or every lifecycle (crash) "\
	    "alert from chat for a duration (10m, 2h); off lifts it") \
	X(shutdown, .args = "", .flags = 0, \
	    .usage = "stop every plugin and exit 0, as SIGTERM does") \
	X(version, .args = "", .flags = CMD_CHAT | CMD_READ, \
	    .chat = verb_chat_version, .cli = verb_cli_version, \
	    .usage = "daemon and protocol version") \
	X(help, .args = "", .flags = CMD_CHAT | CMD_READ, \
	    .chat = verb_chat_help, .cli = verb_cli_help, \
	    .usage = "the verbs") \
	X(subscribe, .args = "[topics]", .flags = CMD_STREAM, \
	    .cli_name = "watch", .cli_args = "[topic ...] [--samples]", \
	    .usage = "stream events: state, crash, sample, alert, log "\
	    "(plugin output); plugin: only one's. watch without topics: "\
	    "state, crash and alert; --samples adds the samples")

/* VERB_status, VERB_metrics, ...: a verb's index in verb_table. */
enum verb_index {
#define VERB_INDEX(name, ...)	VERB_##name,
	VERB_LIST(VERB_INDEX)
#undef VERB_INDEX
	VERB_COUNT
};

extern const struct verb verb_table[VERB_COUNT];

/* verbs.c: the table, its arguments, reading results, the fallbacks. */
const struct verb *verb_find(const char *);
const struct verb *verb_find_typed(const char *);
const char	*verb_cli_name(const struct verb *);
const char	*verb_cli_args(const struct verb *);
int		 verb_arg(const struct verb *, size_t, char *, size_t, int *);
const char	*verb_str(json_t *, const char *, const char *);
double		 verb_num(json_t *, const char *, double);
long long	 verb_int(json_t *, const char *, long long);
const char	*verb_alert_marker(const char *);
const char	*verb_plural(long long, const char *, const char *);
void		 verb_text_init(struct verb_text *, char *, size_t);
void		 verb_text_add(struct verb_text *, const char *, ...)
		     printflike(2, 3);
void		 verb_chat(const struct verb *, json_t *, char *, size_t);
void		 verb_chat_generic(const struct verb *, json_t *,
		     struct verb_text *);
int		 verb_cli(const struct verb *, json_t *);
int		 verb_cli_generic(const struct verb *, json_t *);

/* verbs-chat.c: results as a few chat lines. */
void	 verb_chat_status(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_metrics(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_crashes(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_action(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_signal(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_upgrade(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_reload(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_system(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_version(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_help(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_alerts(const struct verb *, json_t *, struct verb_text *);
void	 verb_chat_silence(const struct verb *, json_t *, struct verb_text *);

/* verbs-cli.c: results as text for a terminal (supervisorctl). */
int	 verb_cli_status(const struct verb *, json_t *);
int	 verb_cli_metrics(const struct verb *, json_t *);
int	 verb_cli_history(const struct verb *, json_t *);
int	 verb_cli_crashes(const struct verb *, json_t *);
int	 verb_cli_tail(const struct verb *, json_t *);
int	 verb_cli_system(const struct verb *, json_t *);
int	 verb_cli_version(const struct verb *, json_t *);
int	 verb_cli_reload(const struct verb *, json_t *);
int	 verb_cli_help(const struct verb *, json_t *);
int	 verb_cli_alerts(const struct verb *, json_t *);
int	 verb_cli_action(const struct verb *, json_t *);
int	 verb_cli_status_exit(json_t *);
int	 verb_cli_status_line(const char *, size_t);
void	 verb_cli_event(json_t *, const char *);
void	 verb_cli_usage(FILE *, const struct verb *, char mark);
void	 verb_cli_put_safe(FILE *, const char *);

#endif

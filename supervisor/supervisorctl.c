/*
 * supervisorctl.c: the command-line client of the control socket.
 *
 *	supervisorctl [-s SOCKET | -c CONFIG] VERB [ARGS] [--json]
 *
 * One request line out, one reply line back, printed as a table for people or
 * as the daemon's JSON result for scripts. The verbs, their arguments and
 * their help come from the list the daemon's command table is built from
 * (supervisor/cmd-list.h), so the CLI, the socket and !admin share one list
 * of names without the CLI linking the daemon; this file
 * only knows how to turn arguments into a request and a result into text.
 * `watch` is the table's `subscribe`: it keeps the connection open and prints
 * one line per event. (OpenBSD's relayctl/smtpctl beside their daemons.)
 *
 * Exit status: 0 ok; 1 the verb failed, or status found a plugin that is not
 * RUNNING; 2 usage; 3 the daemon could not be reached or gave no usable reply.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "supervisor/supervisor.h"

/* Used when neither -s, -c nor $SUPERVISOR_SOCKET says otherwise. */
#define CTL_DEFAULT_SOCKET	"run/supervisor.sock"
#define CTL_SOCKET_ENV		"SUPERVISOR_SOCKET"
/*
 * Longest reply line accepted: bounds what a confused peer can make us
 * allocate. A sample is about 200 bytes of JSON, so this holds a history of
 * some 80000 samples (the default ring keeps 720); ask for more with
 * --last or --since.
 */
#define CTL_REPLY_MAX		(16 * 1024 * 1024)
/* Seconds to wait for a reply, so a stuck daemon cannot hang the CLI. */
#define CTL_TIMEOUT		10
/* Positional arguments after the verb (watch takes topics). */
#define CTL_MAX_ARGS		16
/* Columns of the widest table (status). */
#define CTL_TABLE_COLS		9

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNREACHABLE = 3,
};

/* The command line, parsed. */
struct ctl_opts {
	const char	*socket;	/* -s */
	const char	*config;	/* -c */
	int		 json;		/* --json */
	const char	*verb;		/* as typed */
	char		*args[CTL_MAX_ARGS];
	size_t		 nargs;
	const char	*last;		/* history --last N */
	const char	*since;		/* history --since WINDOW */
	const char	*fields;	/* status --json --fields A,B */
};

/* One connection to the daemon, with what was read past the last line. */
struct ctl_conn {
	int		 fd;
	const char	*path;
	char		*buf;
	size_t		 len;
	size_t		 size;
};

/* A text table: cells added row by row, columns sized to fit, then printed. */
struct ctl_table {
	size_t		 ncols;
	const char	*align;		/* 'l' or 'r' per column */
	char		**cells;
	size_t		 ncells;
	size_t		 cap;
	size_t		 width[CTL_TABLE_COLS];
};

struct ctl_verb;
typedef void	(*ctl_build_fn)(const struct ctl_verb *, struct ctl_opts *,
		    json_t *);
typedef int	(*ctl_print_fn)(json_t *);

/*
 * What the CLI adds to a ctl_cmd_table entry: the name typed (differs only for
 * watch), the argument syntax when it differs from the table's, how to build
 * the request and how to print the result. A table verb missing here still
 * works, through ctl_build_generic and ctl_print_generic.
 */
struct ctl_verb {
	const char	*name;		/* typed on the command line */
	const char	*cmd;		/* in ctl_cmd_table */
	const char	*args;		/* NULL: ctl_cmd_table's args */
	ctl_build_fn	 build;
	ctl_print_fn	 print;
};

static void	ctl_build_status(const struct ctl_verb *, struct ctl_opts *,
		    json_t *);
static void	ctl_build_metrics(const struct ctl_verb *, struct ctl_opts *,
		    json_t *);
static void	ctl_build_history(const struct ctl_verb *, struct ctl_opts *,
		    json_t *);
static void	ctl_build_tail(const struct ctl_verb *, struct ctl_opts *,
		    json_t *);
static void	ctl_build_watch(const struct ctl_verb *, struct ctl_opts *,
		    json_t *);
static void	ctl_build_generic(const struct ctl_verb *, struct ctl_opts *,
		    json_t *);
static int	ctl_print_status(json_t *);
static int	ctl_print_metrics(json_t *);
static int	ctl_print_history(json_t *);
static int	ctl_print_crashes(json_t *);
static int	ctl_print_action(json_t *);
static int	ctl_print_tail(json_t *);
static int	ctl_print_system(json_t *);
static int	ctl_print_version(json_t *);
static int	ctl_print_reload(json_t *);
static int	ctl_print_help(json_t *);
static int	ctl_print_generic(json_t *);

/* The daemon's verbs, from the same list as its command table. */
#define CTL_ENTRY(name, args, flags, usage)				\
	{ #name, args, usage, flags, NULL },
static const struct cmd_entry ctl_cmd_table[] = {
	CMD_LIST(CTL_ENTRY)
};
#undef CTL_ENTRY
static const size_t ctl_cmd_count = nitems(ctl_cmd_table);

static const struct cmd_entry *
ctl_cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < ctl_cmd_count; i++) {
		if (strcmp(ctl_cmd_table[i].name, name) == 0)
			return &ctl_cmd_table[i];
	}
	return NULL;
}

static const struct ctl_verb ctl_verbs[] = {
	{ "status", "status", "[plugin] [--fields NAME,...]",
	    ctl_build_status, ctl_print_status },
	{ "metrics", "metrics", NULL, ctl_build_metrics, ctl_print_metrics },
	{ "history", "history", "plugin [--last N | --since WINDOW]",
	    ctl_build_history, ctl_print_history },
	{ "crashes", "crashes", NULL, ctl_build_generic, ctl_print_crashes },
	{ "start", "start", NULL, ctl_build_generic, ctl_print_action },
	{ "stop", "stop", NULL, ctl_build_generic, ctl_print_action },
	{ "restart", "restart", NULL, ctl_build_generic, ctl_print_action },
	{ "tail", "tail", NULL, ctl_build_tail, ctl_print_tail },
	{ "system", "system", NULL, ctl_build_generic, ctl_print_system },
	{ "version", "version", NULL, ctl_build_generic, ctl_print_version },
	{ "reload", "reload", NULL, ctl_build_generic, ctl_print_reload },
	{ "help", "help", NULL, ctl_build_generic, ctl_print_help },
	{ "watch", "subscribe", "[topic ...]", ctl_build_watch, NULL },
};

static const struct ctl_verb ctl_verb_generic = {
	NULL, NULL, NULL, ctl_build_generic, ctl_print_generic
};

static volatile sig_atomic_t	ctl_interrupted;

/* The CLI's entry for a ctl_cmd_table verb; NULL if it has none of its own. */
static const struct ctl_verb *
ctl_verb_for_cmd(const char *cmd)
{
	size_t	i;

	for (i = 0; i < nitems(ctl_verbs); i++) {
		if (strcmp(ctl_verbs[i].cmd, cmd) == 0)
			return &ctl_verbs[i];
	}
	return NULL;
}

/* The name a table verb is typed as (subscribe is typed watch). */
static const char *
ctl_verb_name(const char *cmd)
{
	const struct ctl_verb	*v = ctl_verb_for_cmd(cmd);

	return v != NULL ? v->name : cmd;
}

/* The argument syntax of a table verb on the command line. */
static const char *
ctl_verb_args(const struct cmd_entry *ce)
{
	const struct ctl_verb	*v = ctl_verb_for_cmd(ce->name);

	return v != NULL && v->args != NULL ? v->args : ce->args;
}

/* Print text wrapped at 79 columns, continuation lines indented by indent. */
static void
ctl_wrap(FILE *f, const char *text, size_t col, size_t indent)
{
	const char	*p = text, *sp;
	size_t		 n;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (col > indent && col + 1 + n > 79) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* One verb's line of the usage: mark, name, arguments, what it does. */
static void
ctl_usage_verb(FILE *f, const struct cmd_entry *ce, char mark)
{
	char	 left[128];
	int	 n;

	n = snprintf(left, sizeof left, "%c %s %s", mark,
	    ctl_verb_name(ce->name), ctl_verb_args(ce));
	if (n < 28) {
		fprintf(f, "%-28s", left);
		ctl_wrap(f, ce->usage, 28, 28);
	} else {
		fprintf(f, "%s\n%28s", left, "");
		ctl_wrap(f, ce->usage, 28, 28);
	}
}

/* The full usage, built from the command table. */
static void
ctl_usage(FILE *f)
{
	size_t	i;

	fprintf(f,
	    "usage: supervisorctl [-s SOCKET | -c CONFIG] VERB [ARGS] [--json]\n"
	    "  -s SOCKET   the control socket (default: $" CTL_SOCKET_ENV ",\n"
	    "              else " CTL_DEFAULT_SOCKET ")\n"
	    "  -c CONFIG   use the socket named in the daemon's config file\n"
	    "  -j, --json  print the daemon's JSON result instead of text\n"
	    "  -h, --help  this help\n"
	    "verbs:\n");
	for (i = 0; i < ctl_cmd_count; i++)
		ctl_usage_verb(f, &ctl_cmd_table[i], ' ');
	fprintf(f,
	    "exit status: 0 ok; 1 the verb failed (status: a plugin is not "
	    "RUNNING);\n"
	    "  2 usage error; 3 the supervisor could not be reached\n");
}

static void __attribute__((noreturn)) printflike(2, 3)
ctl_usage_error(const struct cmd_entry *ce, const char *fmt, ...);

/* A usage error: the reason, then the verb's usage (or all of it); exit 2. */
static void
ctl_usage_error(const struct cmd_entry *ce, const char *fmt, ...)
{
	va_list	ap;
	size_t	i;

	fprintf(stderr, "supervisorctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ce != NULL) {
		fprintf(stderr, "usage: supervisorctl [-s SOCKET | -c CONFIG] "
		    "%s%s%s [--json]\n", ctl_verb_name(ce->name),
		    *ctl_verb_args(ce) ? " " : "", ctl_verb_args(ce));
		exit(CTL_EXIT_USAGE);
	}
	fprintf(stderr, "usage: supervisorctl [-s SOCKET | -c CONFIG] VERB "
	    "[ARGS] [--json]\nverbs:");
	for (i = 0; i < ctl_cmd_count; i++)
		fprintf(stderr, " %s", ctl_verb_name(ctl_cmd_table[i].name));
	fprintf(stderr, " (supervisorctl -h says more)\n");
	exit(CTL_EXIT_USAGE);
}

static void __attribute__((noreturn)) printflike(2, 3)
ctl_die(int status, const char *fmt, ...);

/* Print "supervisorctl: ..." on stderr and exit with status. */
static void
ctl_die(int status, const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fprintf(stderr, "supervisorctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Parse the command line: options anywhere, the first other word the verb. */
static void
ctl_parse_args(int argc, char **argv, struct ctl_opts *o)
{
	const char	*a;
	int		 i, only_args = 0;

	memset(o, 0, sizeof *o);
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (only_args || a[0] != '-' || a[1] == '\0') {
			if (o->verb == NULL)
				o->verb = a;
			else if (o->nargs == CTL_MAX_ARGS)
				ctl_usage_error(NULL, "too many arguments");
			else
				o->args[o->nargs++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0)
			only_args = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			ctl_usage(stdout);
			exit(CTL_EXIT_OK);
		} else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0)
			o->json = 1;
		else if (strcmp(a, "-s") == 0 || strcmp(a, "-c") == 0 ||
		    strcmp(a, "--last") == 0 || strcmp(a, "--since") == 0 ||
		    strcmp(a, "--fields") == 0) {
			if (i + 1 == argc)
				ctl_usage_error(NULL, "%s needs a value", a);
			if (a[1] == 's')
				o->socket = argv[++i];
			else if (a[1] == 'c')
				o->config = argv[++i];
			else if (a[2] == 'l')
				o->last = argv[++i];
			else if (a[2] == 'f')
				o->fields = argv[++i];
			else
				o->since = argv[++i];
		} else if (strncmp(a, "--last=", 7) == 0)
			o->last = a + 7;
		else if (strncmp(a, "--fields=", 9) == 0)
			o->fields = a + 9;
		else if (strncmp(a, "--since=", 8) == 0)
			o->since = a + 8;
		else if (strncmp(a, "-s", 2) == 0)
			o->socket = a + 2;
		else if (strncmp(a, "-c", 2) == 0)
			o->config = a + 2;
		else
			ctl_usage_error(NULL, "unknown option %s", a);
	}
	if (o->socket != NULL && o->config != NULL)
		ctl_usage_error(NULL, "-s and -c are exclusive");
	if (o->verb == NULL)
		ctl_usage_error(NULL, "no verb given");
}

/* A positive integer argument, or a usage error naming what it is. */
static json_int_t
ctl_parse_count(const struct cmd_entry *ce, const char *what, const char *s)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || n < 1)
		ctl_usage_error(ce, "%s must be a positive integer, not \"%s\"",
		    what, s);
	return (json_int_t)n;
}

/* An argument as a JSON string; it must be UTF-8. */
static json_t *
ctl_string(const struct cmd_entry *ce, const char *s)
{
	json_t	*j;

	if ((j = json_string(s)) == NULL)
		ctl_usage_error(ce, "argument is not valid UTF-8");
	return j;
}

/* The plugin name every CMD_PLUGIN verb needs first. */
static void
ctl_add_plugin(const struct cmd_entry *ce, struct ctl_opts *o, json_t *req)
{
	if (o->nargs < 1)
		ctl_usage_error(ce, "%s needs a plugin name",
		    ctl_verb_name(ce->name));
	json_object_set_new(req, "plugin", ctl_string(ce, o->args[0]));
}

static void
ctl_max_args(const struct cmd_entry *ce, struct ctl_opts *o, size_t max)
{
	if (o->nargs > max)
		ctl_usage_error(ce, "too many arguments for %s",
		    ctl_verb_name(ce->name));
}

/* status [plugin] */
static void
ctl_build_status(const struct ctl_verb *v, struct ctl_opts *o, json_t *req)
{
	const struct cmd_entry	*ce = ctl_cmd_find(v->cmd);

	ctl_max_args(ce, o, 1);
	if (o->nargs == 1)
		json_object_set_new(req, "plugin", ctl_string(ce, o->args[0]));
	if (o->fields != NULL) {
		/* Scripts pick fields; the daemon checks the names. */
		json_t		*list = json_array(), *name;
		const char	*f = o->fields;
		size_t		 len;

		if (!o->json)
			ctl_usage_error(ce, "--fields is for --json output "
			    "(the table shows its own columns)");
		for (;;) {
			len = strcspn(f, ",");
			if (len == 0)
				ctl_usage_error(ce, "--fields: an empty field "
				    "name in \"%s\"", o->fields);
			if ((name = json_stringn(f, len)) == NULL)
				ctl_usage_error(ce, "--fields: not valid UTF-8");
			json_array_append_new(list, name);
			if (f[len] == '\0')
				break;
			f += len + 1;
		}
		json_object_set_new(req, "fields", list);
	} else if (o->nargs == 0 && !o->json) {
		/*
		 * The table shows nine of a row's eighteen fields: asking for
		 * just those cuts the reply for a thousand plugins from 338 to
		 * 193 KB, and parsing it is most of this program's time.
		 * --json prints the daemon's whole reply.
		 */
		json_object_set_new(req, "fields", json_pack("[s, s, s, s, s, "
		    "s, s, s, s]", "name", "state", "pid", "uptime_human",
		    "cpu_percent", "memory_mb", "events", "restarts",
		    "crashes"));
	}
}

/* metrics plugin [window] */
static void
ctl_build_metrics(const struct ctl_verb *v, struct ctl_opts *o, json_t *req)
{
	const struct cmd_entry	*ce = ctl_cmd_find(v->cmd);

	ctl_add_plugin(ce, o, req);
	ctl_max_args(ce, o, 2);
	if (o->nargs == 2)
		json_object_set_new(req, "window", ctl_string(ce, o->args[1]));
}

/* history plugin [--last N | --since WINDOW], or the table's "last N". */
static void
ctl_build_history(const struct ctl_verb *v, struct ctl_opts *o, json_t *req)
{
	const struct cmd_entry	*ce = ctl_cmd_find(v->cmd);

	ctl_add_plugin(ce, o, req);
	if (o->nargs == 3 && strcmp(o->args[1], "last") == 0 && o->last == NULL)
		o->last = o->args[2];
	else if (o->nargs == 3 && strcmp(o->args[1], "since") == 0 &&
	    o->since == NULL)
		o->since = o->args[2];
	else
		ctl_max_args(ce, o, 1);
	if (o->last != NULL && o->since != NULL)
		ctl_usage_error(ce, "--last and --since are exclusive");
	if (o->last != NULL)
		json_object_set_new(req, "last", json_integer(
		    ctl_parse_count(ce, "--last", o->last)));
	if (o->since != NULL)
		json_object_set_new(req, "since", ctl_string(ce, o->since));
}

/* tail plugin [lines] */
static void
ctl_build_tail(const struct ctl_verb *v, struct ctl_opts *o, json_t *req)
{
	const struct cmd_entry	*ce = ctl_cmd_find(v->cmd);

	ctl_add_plugin(ce, o, req);
	ctl_max_args(ce, o, 2);
	if (o->nargs == 2)
		json_object_set_new(req, "lines", json_integer(
		    ctl_parse_count(ce, "lines", o->args[1])));
}

/* watch [topic ...]: subscribe, to the given topics or all of them. */
static void
ctl_build_watch(const struct ctl_verb *v, struct ctl_opts *o, json_t *req)
{
	json_t	*topics;
	size_t	 i;

	if (o->nargs == 0)
		return;
	topics = json_array();
	for (i = 0; i < o->nargs; i++)
		json_array_append_new(topics, ctl_string(ctl_cmd_find(v->cmd),
		    o->args[i]));
	json_object_set_new(req, "topics", topics);
}

/* A verb with a plugin name (if the table says so) and nothing else. */
static void
ctl_build_generic(const struct ctl_verb *v, struct ctl_opts *o, json_t *req)
{
	const struct cmd_entry	*ce = ctl_cmd_find(json_string_value(
				    json_object_get(req, "cmd")));

	if (ce->flags & CMD_PLUGIN) {
		ctl_add_plugin(ce, o, req);
		ctl_max_args(ce, o, 1);
	} else
		ctl_max_args(ce, o, 0);
}

/*
 * Where the socket is: -s, else the socket of -c's config, else
 * $SUPERVISOR_SOCKET, else run/supervisor.sock in the current directory (where
 * the daemon puts it when started there with its built-in config). Of the
 * config only the socket is read: status is most wanted when a plugin's
 * executable has gone, and that would fail a whole load.
 */
static char *
ctl_socket_path(const struct ctl_opts *o)
{
	char		*cause = NULL, *path;
	const char	*env;

	if (o->socket != NULL)
		return xstrdup(o->socket);
	if (o->config != NULL) {
		if (config_load_socket(o->config, &path, &cause) != 0) {
			fprintf(stderr, "supervisorctl: %s\n", cause);
			free(cause);
			exit(CTL_EXIT_USAGE);
		}
		return path;
	}
	if ((env = getenv(CTL_SOCKET_ENV)) != NULL && *env != '\0')
		return xstrdup(env);
	return xstrdup(CTL_DEFAULT_SOCKET);
}

/* Connect to the daemon, or exit 3 saying why not. */
static void
ctl_connect(struct ctl_conn *c, const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { CTL_TIMEOUT, 0 };
	int			 fd, saved;

	memset(c, 0, sizeof *c);
	c->path = path;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		ctl_die(CTL_EXIT_UNREACHABLE, "cannot connect to %s: path too "
		    "long for a Unix socket (%zu bytes, at most %zu)", path,
		    strlen(path), sizeof sun.sun_path - 1);
	strlcpy_(sun.sun_path, path, sizeof sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		ctl_die(CTL_EXIT_UNREACHABLE, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		saved = errno;
		close(fd);
		if (saved == EACCES)
			ctl_die(CTL_EXIT_UNREACHABLE, "cannot connect to %s: %s "
			    "(the socket is for the daemon's user and root)",
			    path, strerror(saved));
		ctl_die(CTL_EXIT_UNREACHABLE, "cannot connect to %s: %s (is "
		    "the supervisor running?)", path, strerror(saved));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
		ctl_die(CTL_EXIT_UNREACHABLE, "setsockopt: %s", strerror(errno));
	c->fd = fd;
}

/* Send one request line, or exit 3. */
static void
ctl_send(struct ctl_conn *c, json_t *req)
{
	char	*s, *line;
	size_t	 len, off = 0;
	ssize_t	 n;

	if ((s = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("json_dumps failed");
	len = (size_t)xasprintf(&line, "%s\n", s);
	free(s);
	while (off < len) {
		n = write(c->fd, line + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(line);
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				ctl_die(CTL_EXIT_UNREACHABLE, "the supervisor on "
				    "%s is not reading (no progress in %d s)",
				    c->path, CTL_TIMEOUT);
			if (errno == EPIPE || errno == ECONNRESET)
				ctl_die(CTL_EXIT_UNREACHABLE, "the supervisor on "
				    "%s closed the connection (too many clients, "
				    "or not the daemon's user?)", c->path);
			ctl_die(CTL_EXIT_UNREACHABLE, "cannot send to %s: %s",
			    c->path, strerror(errno));
		}
		off += (size_t)n;
	}
	free(line);
}

/*
 * Take one line out of the buffer into *line (NUL-terminated, without the
 * newline, valid until the next call). 1 if there was one.
 */
static int
ctl_take_line(struct ctl_conn *c, char **line, size_t *len, size_t *consumed)
{
	char	*nl;

	if (c->len == 0 || (nl = memchr(c->buf, '\n', c->len)) == NULL)
		return 0;
	*nl = '\0';
	*len = (size_t)(nl - c->buf);
	if (*len > 0 && c->buf[*len - 1] == '\r')
		c->buf[--*len] = '\0';
	*line = c->buf;
	*consumed = (size_t)(nl - c->buf) + 1;
	return 1;
}

/* Drop the line returned last from the front of the buffer. */
static void
ctl_consume(struct ctl_conn *c, size_t consumed)
{
	memmove(c->buf, c->buf + consumed, c->len - consumed);
	c->len -= consumed;
}

/*
 * Read more into the buffer. 1 if something came, 0 at end of file, -1 on
 * error with errno set (EAGAIN: the receive timeout; EMSGSIZE: a line over
 * CTL_REPLY_MAX). A read interrupted by a signal returns -1 with EINTR.
 */
static int
ctl_fill(struct ctl_conn *c)
{
	ssize_t	n;

	if (c->len > CTL_REPLY_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (c->size - c->len < 65536) {
		c->size = c->size == 0 ? 65536 : c->size * 2;
		c->buf = xreallocarray(c->buf, 1, c->size);
	}
	/* Leave a byte for the NUL ctl_take_line may need at the end. */
	n = read(c->fd, c->buf + c->len, c->size - c->len - 1);
	if (n == -1)
		return -1;
	if (n == 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

/* Read one reply line, or exit 3 saying what went wrong. */
static char *
ctl_read_reply(struct ctl_conn *c, size_t *len, size_t *consumed)
{
	char	*line;
	int	 r;

	for (;;) {
		if (ctl_take_line(c, &line, len, consumed)) {
			if (*len > CTL_REPLY_MAX)
				break;
			return line;
		}
		if ((r = ctl_fill(c)) == 1)
			continue;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0 || errno == ECONNRESET)
			ctl_die(CTL_EXIT_UNREACHABLE, "the supervisor on %s "
			    "closed the connection without a reply (too many "
			    "clients, or not the daemon's user?)", c->path);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			ctl_die(CTL_EXIT_UNREACHABLE, "no reply from the "
			    "supervisor on %s within %d s", c->path, CTL_TIMEOUT);
		if (errno == EMSGSIZE)
			break;
		ctl_die(CTL_EXIT_UNREACHABLE, "cannot read from %s: %s",
		    c->path, strerror(errno));
	}
	ctl_die(CTL_EXIT_UNREACHABLE, "reply from %s is over %d MiB; refused "
	    "(for history, ask for less with --last or --since)", c->path,
	    CTL_REPLY_MAX / 1024 / 1024);
}

/*
 * Check a reply line's shape. Returns the result of an ok reply (owned by
 * *reply); on an error reply prints it and exits 1; exits 3 if the line is not
 * a reply at all.
 */
static json_t *
ctl_parse_reply(struct ctl_conn *c, const char *line, size_t len,
    json_t **reply)
{
	json_error_t	 jerr;
	json_t		*ok, *err, *result;
	const char	*code, *message;

	if ((*reply = json_loadb(line, len, 0, &jerr)) == NULL)
		ctl_die(CTL_EXIT_UNREACHABLE, "invalid reply from %s: %s",
		    c->path, jerr.text);
	ok = json_object_get(*reply, "ok");
	if (json_is_true(ok) &&
	    (result = json_object_get(*reply, "result")) != NULL)
		return result;
	err = json_object_get(*reply, "error");
	code = json_string_value(json_object_get(err, "code"));
	message = json_string_value(json_object_get(err, "message"));
	if (!json_is_false(ok) || code == NULL || message == NULL)
		ctl_die(CTL_EXIT_UNREACHABLE, "invalid reply from %s: not "
		    "{\"ok\": ...} with a result or an error", c->path);
	ctl_die(CTL_EXIT_FAILED, "%s (%s)", message, code);
}

/* Send one request and return its result; exits on any failure. */
static json_t *
ctl_request(struct ctl_conn *c, json_t *req, json_t **reply)
{
	char	*line;
	size_t	 len, consumed;
	json_t	*result;

	ctl_send(c, req);
	line = ctl_read_reply(c, &len, &consumed);
	result = ctl_parse_reply(c, line, len, reply);
	ctl_consume(c, consumed);
	return result;
}

/* Helpers to read a result, tolerating missing or mistyped fields. */
static const char *
ctl_str(json_t *o, const char *key, const char *def)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

static double
ctl_num(json_t *o, const char *key, double def)
{
	json_t	*v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : def;
}

static long long
ctl_int(json_t *o, const char *key, long long def)
{
	json_t	*v = json_object_get(o, key);

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return def;
}

/* A number with prec decimals, or "-" if it is null or missing. */
static const char *
ctl_fmt_num(json_t *o, const char *key, int prec, char *buf, size_t size)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, size, "%.*f", prec, json_number_value(v));
	return buf;
}

/* Local time of a wall clock time: "2024-11-23 19:30:01", or just the time. */
static const char *
ctl_fmt_time(double t, int with_date, char *buf, size_t size)
{
	struct tm	tm;
	time_t		secs = (time_t)t;

	if (!(t > 0) || localtime_r(&secs, &tm) == NULL)
		return "-";
	strftime(buf, size, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S",
	    &tm);
	return buf;
}

/* A duration: "3.2 s" under a minute, else "5m", "3h 5m", "2d 4h". */
static const char *
ctl_fmt_duration(double secs, char *buf, size_t size)
{
	if (secs < 60)
		snprintf(buf, size, "%.1f s", secs < 0 ? 0 : secs);
	else
		metrics_format_uptime(secs, buf, size);
	return buf;
}

/*
 * Print text from a plugin (stderr lines, crash details) with control
 * characters shown as '?', so a plugin cannot send escape sequences to the
 * operator's terminal.
 */
static void
ctl_put_safe(const char *s)
{
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			putchar('?');
		else
			putchar(*s);
	}
}

static void
ctl_table_init(struct ctl_table *t, size_t ncols, const char *align)
{
	memset(t, 0, sizeof *t);
	if (ncols > CTL_TABLE_COLS)
		fatalx("ctl_table_init: %zu columns", ncols);
	t->ncols = ncols;
	t->align = align;
}

static void	ctl_cell(struct ctl_table *, const char *, ...) printflike(2, 3);

/* Add the next cell, left to right and row by row. */
static void
ctl_cell(struct ctl_table *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	if (t->ncells == t->cap) {
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->cells = xreallocarray(t->cells, t->cap, sizeof *t->cells);
	}
	t->cells[t->ncells++] = s;
}

/* Display width of a UTF-8 string: its code points. */
static size_t
ctl_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* Print the table, columns two spaces apart, then free it. */
static void
ctl_table_print(struct ctl_table *t, int indent)
{
	size_t	 i, col, w, pad;
	char	*s;

	for (i = 0; i < t->ncells; i++) {
		w = ctl_width(t->cells[i]);
		if (w > t->width[i % t->ncols])
			t->width[i % t->ncols] = w;
	}
	for (i = 0; i < t->ncells; i++) {
		col = i % t->ncols;
		s = t->cells[i];
		pad = t->width[col] - ctl_width(s);
		if (col == 0)
			printf("%*s", indent, "");
		if (t->align[col] == 'r')
			printf("%*s", (int)pad, "");
		ctl_put_safe(s);
		if (col + 1 == t->ncols)
			putchar('\n');
		else {
			if (t->align[col] != 'r')
				printf("%*s", (int)pad, "");
			fputs("  ", stdout);
		}
		free(s);
	}
	if (t->ncells % t->ncols != 0)
		putchar('\n');
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

/* A sparkline of a series: ▁ to █ scaled min..max, a space for a null. */
static char *
ctl_sparkline(json_t *series, double *lo, double *hi, int *have)
{
	static const char	*blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆",
				    "▇", "█" };
	json_t			*v;
	char			*out;
	size_t			 i, off = 0;
	double			 x;
	int			 level;

	*have = 0;
	*lo = *hi = 0;
	json_array_foreach(series, i, v) {
		if (!json_is_number(v))
			continue;
		x = json_number_value(v);
		if (!*have || x < *lo)
			*lo = x;
		if (!*have || x > *hi)
			*hi = x;
		*have = 1;
	}
	out = xmalloc(json_array_size(series) * 3 + 1);
	json_array_foreach(series, i, v) {
		if (!json_is_number(v)) {
			out[off++] = ' ';
			continue;
		}
		x = json_number_value(v);
		level = *hi > *lo ? (int)lround((x - *lo) / (*hi - *lo) * 7) : 0;
		if (level < 0)
			level = 0;
		if (level > 7)
			level = 7;
		memcpy(out + off, blocks[level], 3);
		off += 3;
	}
	out[off] = '\0';
	return out;
}

/*
 * The exit status of status: 1 if a plugin shown is not RUNNING. Rows
 * without a state (--fields without state) say nothing either way.
 */
static int
ctl_status_exit(json_t *res)
{
	json_t	*p;
	size_t	 i;

	if (json_object_get(res, "plugins") == NULL)
		return strcmp(ctl_str(res, "state", "RUNNING"), "RUNNING") == 0 ?
		    CTL_EXIT_OK : CTL_EXIT_FAILED;
	json_array_foreach(json_object_get(res, "plugins"), i, p) {
		if (strcmp(ctl_str(p, "state", "RUNNING"), "RUNNING") != 0)
			return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* status: the table of every plugin and the system line; 1 if any not RUNNING. */
static int
ctl_print_status_all(json_t *res)
{
	struct ctl_table	 t;
	json_t			*plugins = json_object_get(res, "plugins"), *p;
	json_t			*sys = json_object_get(res, "system"), *d;
	char			 b1[32], b2[32];
	size_t			 i;

	ctl_table_init(&t, 9, "llrlrrrrr");
	ctl_cell(&t, "NAME");
	ctl_cell(&t, "STATE");
	ctl_cell(&t, "PID");
	ctl_cell(&t, "UPTIME");
	ctl_cell(&t, "CPU%%");
	ctl_cell(&t, "MEM(MB)");
	ctl_cell(&t, "EVENTS");
	ctl_cell(&t, "RESTARTS");
	ctl_cell(&t, "CRASHES");
	json_array_foreach(plugins, i, p) {
		int	has_pid = json_is_integer(json_object_get(p, "pid"));

		ctl_cell(&t, "%s", ctl_str(p, "name", "?"));
		ctl_cell(&t, "%s", ctl_str(p, "state", "?"));
		ctl_cell(&t, "%s", ctl_fmt_num(p, "pid", 0, b1, sizeof b1));
		ctl_cell(&t, "%s", has_pid ? ctl_str(p, "uptime_human", "-") :
		    "-");
		ctl_cell(&t, "%s", ctl_fmt_num(p, "cpu_percent", 1, b1,
		    sizeof b1));
		ctl_cell(&t, "%s", ctl_fmt_num(p, "memory_mb", 1, b2,
		    sizeof b2));
		ctl_cell(&t, "%lld", ctl_int(json_object_get(p, "events"),
		    "routed", 0));
		ctl_cell(&t, "%lld", ctl_int(p, "restarts", 0));
		ctl_cell(&t, "%lld", ctl_int(p, "crashes", 0));
	}
	ctl_table_print(&t, 0);

	d = json_object_get(sys, "daemon");
	printf("system: up %s, %lld plugins (%lld running, %lld crashed), "
	    "%lld events, plugins %.1f MB, daemon pid %lld cpu %s%% mem %s MB\n",
	    ctl_str(sys, "bot_uptime_human", "?"),
	    ctl_int(sys, "total_plugins", 0), ctl_int(sys, "plugins_running", 0),
	    ctl_int(sys, "plugins_crashed", 0), ctl_int(sys, "total_events", 0),
	    ctl_num(sys, "total_memory_mb", 0), ctl_int(d, "pid", 0),
	    ctl_fmt_num(d, "cpu_percent", 1, b1, sizeof b1),
	    ctl_fmt_num(d, "memory_mb", 1, b2, sizeof b2));
	return ctl_status_exit(res);
}

/* status NAME: one plugin as "key: value" lines; 1 if it is not RUNNING. */
static int
ctl_print_status_one(json_t *p)
{
	json_t		*v, *ev = json_object_get(p, "events");
	char		 b1[64], b2[64];
	size_t		 i;
	double		 since = ctl_num(p, "state_since", 0);

	printf("%-17s%s\n", "name:", ctl_str(p, "name", "?"));
	printf("%-17s%s\n", "role:", ctl_str(p, "role", "?"));
	printf("%-17s%s since %s (%s ago)\n", "state:", ctl_str(p, "state", "?"),
	    ctl_fmt_time(since, 1, b1, sizeof b1),
	    ctl_fmt_duration(clock_wall() - since, b2, sizeof b2));
	printf("%-17s%s\n", "pid:", ctl_fmt_num(p, "pid", 0, b1, sizeof b1));
	if (json_is_integer(json_object_get(p, "pid")))
		printf("%-17s%s (%.1f s)\n", "uptime:",
		    ctl_str(p, "uptime_human", "?"),
		    ctl_num(p, "uptime_seconds", 0));
	else
		printf("%-17s-\n", "uptime:");
	printf("%-17s%s\n", "version:", ctl_str(p, "version", "-"));
	printf("%-17s", "commands:");
	v = json_object_get(p, "commands");
	if (json_array_size(v) == 0)
		printf("-");
	for (i = 0; i < json_array_size(v); i++)
		printf("%s%s", i ? ", " : "",
		    json_string_value(json_array_get(v, i)) ?
		    json_string_value(json_array_get(v, i)) : "?");
	putchar('\n');
	printf("%-17s%lld (%lld starts)\n", "restarts:", ctl_int(p, "restarts", 0),
	    ctl_int(p, "starts", 0));
	printf("%-17s%lld\n", "crashes:", ctl_int(p, "crashes", 0));
	printf("%-17s%s\n", "breaker:", ctl_str(p, "breaker", "?"));
	printf("%-17s%s%s\n", "cpu:", ctl_fmt_num(p, "cpu_percent", 2, b1,
	    sizeof b1), json_is_number(json_object_get(p, "cpu_percent")) ?
	    "%" : "");
	printf("%-17s%s%s\n", "memory:", ctl_fmt_num(p, "memory_mb", 2, b1,
	    sizeof b1), json_is_number(json_object_get(p, "memory_mb")) ?
	    " MB" : "");
	printf("%-17s%lld routed, %lld replies, %lld dropped, %lld protocol "
	    "errors\n", "events:", ctl_int(ev, "routed", 0),
	    ctl_int(ev, "replies", 0), ctl_int(ev, "dropped", 0),
	    ctl_int(ev, "protocol_errors", 0));
	printf("%-17s%lld\n", "queued:", ctl_int(p, "queued", 0));
	if (json_object_get(p, "chat_lines") != NULL)
		printf("%-17s%lld\n", "chat lines:", ctl_int(p, "chat_lines", 0));
	return ctl_status_exit(p);
}

static int
ctl_print_status(json_t *res)
{
	if (json_object_get(res, "plugins") != NULL)
		return ctl_print_status_all(res);
	return ctl_print_status_one(res);
}

/* One row of the aggregates table: label, then avg min max p95. */
static void
ctl_stats_row(struct ctl_table *t, const char *label, json_t *stats)
{
	char	b[32];

	ctl_cell(t, "%s", label);
	ctl_cell(t, "%s", ctl_fmt_num(stats, "avg", 2, b, sizeof b));
	ctl_cell(t, "%s", ctl_fmt_num(stats, "min", 2, b, sizeof b));
	ctl_cell(t, "%s", ctl_fmt_num(stats, "max", 2, b, sizeof b));
	ctl_cell(t, "%s", ctl_fmt_num(stats, "p95", 2, b, sizeof b));
}

/* "label:    ▁▂▃█  lo..hi unit" for one series. */
static void
ctl_print_sparkline(const char *label, json_t *series, const char *unit)
{
	char	*line;
	double	 lo, hi;
	int	 have;

	line = ctl_sparkline(series, &lo, &hi, &have);
	if (have)
		printf("%-10s%s  %.2f..%.2f %s\n", label, line, lo, hi, unit);
	else
		printf("%-10s(no data)\n", label);
	free(line);
}

/* metrics: aggregates table, counts, current sample and two sparklines. */
static int
ctl_print_metrics(json_t *res)
{
	struct ctl_table	 t;
	json_t			*st = json_object_get(res, "status");
	json_t			*agg = json_object_get(res, "aggregates");
	json_t			*cur = json_object_get(res, "current");
	json_t			*series = json_object_get(res, "series");
	char			 b1[64], b2[64], b3[64], b4[64];
	double			 span;

	printf("%s: %s", ctl_str(res, "plugin", "?"), ctl_str(st, "state", "?"));
	if (json_is_integer(json_object_get(st, "pid")))
		printf(", pid %lld, up %s", ctl_int(st, "pid", 0),
		    ctl_str(st, "uptime_human", "?"));
	if (json_is_number(json_object_get(res, "window_seconds")))
		printf("; window %s\n", ctl_fmt_duration(ctl_num(res,
		    "window_seconds", 0), b1, sizeof b1));
	else
		printf("; window: all retained\n");

	if (!json_is_object(agg))
		printf("no samples in this window\n");
	else {
		ctl_table_init(&t, 5, "lrrrr");
		ctl_cell(&t, "%s", "");
		ctl_cell(&t, "avg");
		ctl_cell(&t, "min");
		ctl_cell(&t, "max");
		ctl_cell(&t, "p95");
		ctl_stats_row(&t, "CPU %", json_object_get(agg, "cpu"));
		ctl_stats_row(&t, "MEM MB", json_object_get(agg, "memory_mb"));
		ctl_table_print(&t, 0);
		span = ctl_num(agg, "time_span_seconds", 0);
		printf("%-10s%lld (%lld with CPU) over %.1f s", "samples:",
		    ctl_int(agg, "sample_count", 0),
		    ctl_int(agg, "cpu_samples", 0), span);
		if (span >= 60)
			printf(" (%s)", ctl_fmt_duration(span, b1, sizeof b1));
		putchar('\n');
		printf("%-10s%lld in window, %.2f/min\n", "events:",
		    ctl_int(agg, "events", 0),
		    ctl_num(agg, "events_per_minute", 0));
	}
	if (json_is_object(cur)) {
		printf("%-10s%s %s pid %s cpu %s%s mem %s%s threads %lld\n",
		    "current:", ctl_fmt_time(ctl_num(cur, "time", 0), 0, b1,
		    sizeof b1), ctl_str(cur, "state", "?"),
		    ctl_fmt_num(cur, "pid", 0, b2, sizeof b2),
		    ctl_fmt_num(cur, "cpu_percent", 2, b3, sizeof b3),
		    json_is_number(json_object_get(cur, "cpu_percent")) ?
		    "%" : "",
		    ctl_fmt_num(cur, "memory_mb", 2, b4, sizeof b4),
		    json_is_number(json_object_get(cur, "memory_mb")) ?
		    " MB" : "", ctl_int(cur, "threads", 0));
	}
	if (json_array_size(json_object_get(series, "cpu")) > 0) {
		ctl_print_sparkline("cpu:", json_object_get(series, "cpu"), "%");
		ctl_print_sparkline("memory:", json_object_get(series,
		    "memory_mb"), "MB");
	}
	return CTL_EXIT_OK;
}

/* history: one line per sample, oldest first. */
static int
ctl_print_history(json_t *res)
{
	struct ctl_table	 t;
	json_t			*samples = json_object_get(res, "samples"), *s;
	char			 b[64];
	size_t			 i;

	if (json_array_size(samples) == 0)
		printf("%s: no samples\n", ctl_str(res, "plugin", "?"));
	else {
		ctl_table_init(&t, 5, "llrrr");
		ctl_cell(&t, "TIME");
		ctl_cell(&t, "STATE");
		ctl_cell(&t, "PID");
		ctl_cell(&t, "CPU%%");
		ctl_cell(&t, "MEM(MB)");
		json_array_foreach(samples, i, s) {
			ctl_cell(&t, "%s", ctl_fmt_time(ctl_num(s, "time", 0),
			    1, b, sizeof b));
			ctl_cell(&t, "%s", ctl_str(s, "state", "?"));
			ctl_cell(&t, "%s", ctl_int(s, "pid", 0) > 0 ?
			    ctl_fmt_num(s, "pid", 0, b, sizeof b) : "-");
			ctl_cell(&t, "%s", ctl_fmt_num(s, "cpu_percent", 2, b,
			    sizeof b));
			ctl_cell(&t, "%s", ctl_fmt_num(s, "memory_mb", 2, b,
			    sizeof b));
		}
		ctl_table_print(&t, 0);
	}
	printf("%zu samples of %lld kept, one every %g s\n",
	    json_array_size(samples), ctl_int(res, "capacity", 0),
	    ctl_num(res, "poll_interval", 0));
	return CTL_EXIT_OK;
}

/* "SIGKILL (9) core" or "exit 3" for a crash record. */
static const char *
ctl_fmt_exit(json_t *cr, char *buf, size_t size)
{
	const char	*core = json_is_true(json_object_get(cr, "core_dumped")) ?
			    " core" : "";

	if (json_is_integer(json_object_get(cr, "signal")))
		snprintf(buf, size, "%s (%lld)%s",
		    ctl_str(cr, "signal_name", "?"), ctl_int(cr, "signal", 0),
		    core);
	else if (json_is_integer(json_object_get(cr, "exit_code")))
		snprintf(buf, size, "exit %lld%s", ctl_int(cr, "exit_code", 0),
		    core);
	else
		snprintf(buf, size, "-");
	return buf;
}

/* crashes: a table of the records, then the newest one's stderr lines. */
static int
ctl_print_crashes(json_t *res)
{
	struct ctl_table	 t;
	json_t			*list = json_object_get(res, "crashes"), *cr;
	json_t			*lines;
	char			 b[64];
	size_t			 i, n = json_array_size(list);

	if (n == 0) {
		printf("%s: no crashes (breaker %s)\n", ctl_str(res, "plugin",
		    "?"), ctl_str(res, "breaker", "?"));
		return CTL_EXIT_OK;
	}
	printf("%s: %lld crash%s, %zu kept (at most %lld); breaker %s\n",
	    ctl_str(res, "plugin", "?"), ctl_int(res, "total", 0),
	    ctl_int(res, "total", 0) == 1 ? "" : "es", n,
	    ctl_int(res, "kept", 0), ctl_str(res, "breaker", "?"));
	ctl_table_init(&t, 6, "lrllrl");
	ctl_cell(&t, "TIME");
	ctl_cell(&t, "PID");
	ctl_cell(&t, "REASON");
	ctl_cell(&t, "EXIT/SIGNAL");
	ctl_cell(&t, "UPTIME");
	ctl_cell(&t, "DETAIL");
	json_array_foreach(list, i, cr) {
		ctl_cell(&t, "%s", ctl_fmt_time(ctl_num(cr, "time", 0), 1, b,
		    sizeof b));
		ctl_cell(&t, "%lld", ctl_int(cr, "pid", 0));
		ctl_cell(&t, "%s", ctl_str(cr, "reason", "?"));
		ctl_cell(&t, "%s", ctl_fmt_exit(cr, b, sizeof b));
		ctl_cell(&t, "%s", ctl_fmt_duration(ctl_num(cr,
		    "uptime_seconds", 0), b, sizeof b));
		ctl_cell(&t, "%s", ctl_str(cr, "detail", "-"));
	}
	ctl_table_print(&t, 0);

	cr = json_array_get(list, n - 1);
	lines = json_object_get(cr, "stderr");
	if (json_array_size(lines) == 0) {
		printf("no stderr lines from pid %lld\n", ctl_int(cr, "pid", 0));
		return CTL_EXIT_OK;
	}
	printf("last stderr lines at the crash of pid %lld:\n",
	    ctl_int(cr, "pid", 0));
	json_array_foreach(lines, i, cr) {
		fputs("    ", stdout);
		ctl_put_safe(json_is_string(cr) ? json_string_value(cr) : "?");
		putchar('\n');
	}
	return CTL_EXIT_OK;
}

/* start, stop, restart: "dice-roller: restart asked, now STARTING". */
static int
ctl_print_action(json_t *res)
{
	printf("%s: %s asked, now %s\n", ctl_str(res, "plugin", "?"),
	    ctl_str(res, "action", "?"), ctl_str(res, "state", "?"));
	return CTL_EXIT_OK;
}

/* tail: the lines, as they were. */
static int
ctl_print_tail(json_t *res)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(res, "lines"), i, v) {
		ctl_put_safe(json_is_string(v) ? json_string_value(v) : "?");
		putchar('\n');
	}
	return CTL_EXIT_OK;
}

/* system: "key: value" lines. */
static int
ctl_print_system(json_t *res)
{
	json_t	*d = json_object_get(res, "daemon");
	json_t	*cpu = json_object_get(d, "cpu");
	json_t	*mem = json_object_get(d, "memory_mb_stats");
	char	 b1[32], b2[32];

	printf("%-17s%s (%.1f s)\n", "uptime:", ctl_str(res, "bot_uptime_human",
	    "?"), ctl_num(res, "bot_uptime_seconds", 0));
	printf("%-17s%lld total, %lld running, %lld crashed\n", "plugins:",
	    ctl_int(res, "total_plugins", 0), ctl_int(res, "plugins_running", 0),
	    ctl_int(res, "plugins_crashed", 0));
	printf("%-17s%lld routed, %lld chat lines, %lld unknown commands\n",
	    "events:", ctl_int(res, "total_events", 0),
	    ctl_int(res, "chat_lines", 0), ctl_int(res, "unknown_commands", 0));
	printf("%-17s%.2f MB\n", "plugin memory:",
	    ctl_num(res, "total_memory_mb", 0));
	printf("%-17spid %lld, version %s\n", "daemon:", ctl_int(d, "pid", 0),
	    ctl_str(d, "version", "?"));
	printf("%-17s%s%s", "daemon cpu:", ctl_fmt_num(d, "cpu_percent", 2, b1,
	    sizeof b1), json_is_number(json_object_get(d, "cpu_percent")) ?
	    "%" : "");
	if (json_is_object(cpu))
		printf(" (avg %.2f%%, max %.2f%%, p95 %.2f%%)", ctl_num(cpu, "avg",
		    0), ctl_num(cpu, "max", 0), ctl_num(cpu, "p95", 0));
	printf("\n%-17s%s%s", "daemon memory:", ctl_fmt_num(d, "memory_mb", 2,
	    b2, sizeof b2), json_is_number(json_object_get(d, "memory_mb")) ?
	    " MB" : "");
	if (json_is_object(mem))
		printf(" (avg %.2f, max %.2f, p95 %.2f MB)", ctl_num(mem, "avg",
		    0), ctl_num(mem, "max", 0), ctl_num(mem, "p95", 0));
	printf("\n%-17severy %g s, %s; %lld bytes of history per plugin\n",
	    "metrics:", ctl_num(res, "poll_interval", 0),
	    json_is_true(json_object_get(res, "metrics_enabled")) ? "enabled" :
	    "disabled", ctl_int(d, "ring_bytes_per_plugin", 0));
	return CTL_EXIT_OK;
}

static int
ctl_print_version(json_t *res)
{
	printf("supervisor %s, protocol %lld (supervisorctl %s)\n",
	    ctl_str(res, "version", "?"), ctl_int(res, "protocol", 0),
	    SUPERVISOR_VERSION);
	return CTL_EXIT_OK;
}

/* Print one list of names from a reload result, if it has any. */
static void
ctl_print_names(json_t *res, const char *key, const char *label)
{
	json_t	*v;
	size_t	 i;

	if (json_array_size(json_object_get(res, key)) == 0)
		return;
	printf("%-12s ", label);
	json_array_foreach(json_object_get(res, key), i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("\n");
}

/* reload: what changed. */
static int
ctl_print_reload(json_t *res)
{
	printf("reloaded: %zu added, %zu removed, %zu changed, %lld unchanged\n",
	    json_array_size(json_object_get(res, "added")),
	    json_array_size(json_object_get(res, "removed")),
	    json_array_size(json_object_get(res, "changed")),
	    ctl_int(res, "unchanged", 0));
	ctl_print_names(res, "added", "added:");
	ctl_print_names(res, "removed", "removed:");
	ctl_print_names(res, "changed", "changed:");
	ctl_print_names(res, "not_applied", "not applied (restart the daemon):");
	return CTL_EXIT_OK;
}

/* help: the daemon's verbs, with the arguments as typed here. */
static int
ctl_print_help(json_t *res)
{
	struct cmd_entry	 ce;
	const struct cmd_entry	*known;
	json_t			*v;
	size_t			 i;

	printf("verbs (* also in chat as !admin VERB):\n");
	json_array_foreach(json_object_get(res, "verbs"), i, v) {
		memset(&ce, 0, sizeof ce);
		ce.name = ctl_str(v, "name", "?");
		ce.args = ctl_str(v, "args", "");
		ce.usage = ctl_str(v, "usage", "");
		/* The daemon may be newer: keep its args unless we know it. */
		if ((known = ctl_cmd_find(ce.name)) != NULL &&
		    strcmp(known->args, ce.args) == 0)
			ce.args = ctl_verb_args(known);
		ctl_usage_verb(stdout, &ce, json_is_true(json_object_get(v,
		    "chat")) ? '*' : ' ');
	}
	return CTL_EXIT_OK;
}

/* A verb this CLI does not know how to print: its JSON. */
static int
ctl_print_generic(json_t *res)
{
	char	*s;

	if ((s = json_dumps(res, JSON_INDENT(2) | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(15))) == NULL)
		fatalx("json_dumps failed");
	printf("%s\n", s);
	free(s);
	return CTL_EXIT_OK;
}

/* One subscribe event as a human line. */
static void
ctl_print_event(json_t *ev, const char *raw)
{
	json_t		*cr, *s;
	const char	*type = ctl_str(ev, "event", "");
	char		 t[32], b1[64], b2[32];

	if (strcmp(type, "state") == 0) {
		printf("%s %s %s -> %s", ctl_fmt_time(ctl_num(ev, "time", 0), 0,
		    t, sizeof t), ctl_str(ev, "plugin", "?"),
		    ctl_str(ev, "from", "?"), ctl_str(ev, "to", "?"));
		if (json_is_integer(json_object_get(ev, "pid")))
			printf(" pid %lld", ctl_int(ev, "pid", 0));
		fputs(" (", stdout);
		ctl_put_safe(ctl_str(ev, "reason", ""));
		puts(")");
	} else if (strcmp(type, "crash") == 0) {
		cr = json_object_get(ev, "crash");
		printf("%s %s crashed: %s", ctl_fmt_time(ctl_num(cr, "time", 0),
		    0, t, sizeof t), ctl_str(ev, "plugin", "?"),
		    ctl_str(cr, "reason", "?"));
		if (json_is_integer(json_object_get(cr, "signal")) ||
		    strcmp(ctl_str(cr, "reason", ""), "exit") != 0)
			printf(" %s", ctl_fmt_exit(cr, b1, sizeof b1));
		else
			printf(" code %lld%s", ctl_int(cr, "exit_code", 0),
			    json_is_true(json_object_get(cr, "core_dumped")) ?
			    " core" : "");
		printf(" after %s", ctl_fmt_duration(ctl_num(cr,
		    "uptime_seconds", 0), b2, sizeof b2));
		if (json_is_string(json_object_get(cr, "detail"))) {
			fputs(": ", stdout);
			ctl_put_safe(ctl_str(cr, "detail", ""));
		}
		putchar('\n');
	} else if (strcmp(type, "sample") == 0) {
		s = json_object_get(ev, "sample");
		printf("%s %s sample", ctl_fmt_time(ctl_num(s, "time", 0), 0, t,
		    sizeof t), ctl_str(ev, "plugin", "?"));
		if (ctl_int(s, "pid", 0) == 0)
			printf(" no process (%s)\n", ctl_str(s, "state", "?"));
		else
			printf(" cpu %s%s mem %s MB\n",
			    ctl_fmt_num(s, "cpu_percent", 1, b1, sizeof b1),
			    json_is_number(json_object_get(s, "cpu_percent")) ?
			    "%" : "", ctl_fmt_num(s, "memory_mb", 1, b2,
			    sizeof b2));
	} else {
		ctl_put_safe(raw);
		putchar('\n');
	}
}

static void
ctl_signal(int sig)
{
	ctl_interrupted = 1;
}

/*
 * watch: the subscribe reply, then one event per line until SIGINT/SIGTERM
 * (exit 0) or the daemon goes away (exit 3). Signals are blocked except
 * inside ppoll, so one cannot slip in between the check and the wait.
 */
static int
ctl_watch(struct ctl_conn *c, json_t *req, int json)
{
	struct sigaction	 sa;
	struct timeval		 tv = { 0, 0 };
	struct pollfd		 pfd;
	sigset_t		 block, orig;
	json_t			*reply, *result, *ev, *t;
	char			*line;
	size_t			 len, consumed, i;
	int			 r;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctl_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);

	result = ctl_request(c, req, &reply);
	if (!json) {
		fprintf(stderr, "watching");
		json_array_foreach(json_object_get(result, "topics"), i, t)
			fprintf(stderr, "%s%s", i ? ", " : " ",
			    json_string_value(t));
		fprintf(stderr, " events on %s (interrupt to stop)\n", c->path);
	}
	json_decref(reply);
	/* Events come when they come: no receive timeout from here. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

	for (;;) {
		while (ctl_take_line(c, &line, &len, &consumed)) {
			if (len > CTL_REPLY_MAX)
				ctl_die(CTL_EXIT_UNREACHABLE, "event line from %s "
				    "is over %d MiB; refused", c->path,
				    CTL_REPLY_MAX / 1024 / 1024);
			if (json)
				printf("%s\n", line);
			else if ((ev = json_loadb(line, len, 0, NULL)) == NULL) {
				ctl_put_safe(line);
				putchar('\n');
			} else {
				ctl_print_event(ev, line);
				json_decref(ev);
			}
			ctl_consume(c, consumed);
		}
		if (fflush(stdout) == EOF)
			return CTL_EXIT_FAILED;	/* stdout closed: stop quietly */
		if (ctl_interrupted)
			return CTL_EXIT_OK;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, NULL, &orig) == -1) {
			if (errno == EINTR)
				continue;
			ctl_die(CTL_EXIT_UNREACHABLE, "poll: %s", strerror(errno));
		}
		if ((r = ctl_fill(c)) == 1)
			continue;
		if (r == 0 || errno == ECONNRESET)
			ctl_die(CTL_EXIT_UNREACHABLE, "the supervisor on %s "
			    "closed the connection", c->path);
		if (errno == EINTR || errno == EAGAIN)
			continue;
		if (errno == EMSGSIZE)
			ctl_die(CTL_EXIT_UNREACHABLE, "event line from %s is over "
			    "%d MiB; refused", c->path,
			    CTL_REPLY_MAX / 1024 / 1024);
		ctl_die(CTL_EXIT_UNREACHABLE, "cannot read from %s: %s",
		    c->path, strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	struct ctl_opts		 o;
	struct ctl_conn		 c;
	const struct cmd_entry	*ce;
	const struct ctl_verb	*v = NULL;
	json_t			*req, *reply, *result;
	char			*path, *s;
	size_t			 i;
	int			 status;

	log_init("supervisorctl", 0);
	signal(SIGPIPE, SIG_IGN);
	ctl_parse_args(argc, argv, &o);

	/* The verb as typed (watch), else a table name (subscribe too). */
	for (i = 0; i < nitems(ctl_verbs); i++) {
		if (strcmp(ctl_verbs[i].name, o.verb) == 0)
			v = &ctl_verbs[i];
	}
	if ((ce = ctl_cmd_find(v != NULL ? v->cmd : o.verb)) == NULL)
		ctl_usage_error(NULL, "unknown verb \"%s\"", o.verb);
	if (v == NULL && (v = ctl_verb_for_cmd(ce->name)) == NULL)
		v = &ctl_verb_generic;
	if ((o.last != NULL || o.since != NULL) &&
	    strcmp(ce->name, "history") != 0)
		ctl_usage_error(ce, "--last and --since are for history only");
	if (o.fields != NULL && strcmp(ce->name, "status") != 0)
		ctl_usage_error(ce, "--fields is for status only");

	req = json_pack("{s:s}", "cmd", ce->name);
	v->build(v, &o, req);

	path = ctl_socket_path(&o);
	ctl_connect(&c, path);
	if (ce->flags & CMD_STREAM)
		status = ctl_watch(&c, req, o.json);
	else {
		result = ctl_request(&c, req, &reply);
		if (o.json) {
			/*
			 * Precision 15 prints the daemon's rounded numbers as
			 * written (1.37, not 1.3700000000000001); a result
			 * holds no value with more significant digits.
			 */
			s = json_dumps(result, JSON_INDENT(2) |
			    JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
			if (s == NULL)
				fatalx("json_dumps failed");
			printf("%s\n", s);
			free(s);
			/* status keeps its exit status in JSON mode too. */
			status = CTL_EXIT_OK;
			if (strcmp(ce->name, "status") == 0)
				status = ctl_status_exit(result);
		} else
			status = v->print(result);
		json_decref(reply);
	}
	close(c.fd);
	free(c.buf);
	free(path);
	json_decref(req);
	if (fflush(stdout) == EOF && status == CTL_EXIT_OK)
		status = CTL_EXIT_FAILED;
	return status;
}

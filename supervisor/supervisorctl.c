/*
 * supervisorctl.c: the command-line client of the control socket.
 *
 *	supervisorctl [-s SOCKET | -c CONFIG] VERB [ARGS] [--json]
 *
 * One request line out, one reply line back, printed as text for people or
 * as the daemon's JSON result for scripts. The verbs, their arguments, their
 * help and how their results print are the daemon's verb table
 * (supervisor/verbs.h), linked here without the daemon; this file turns
 * arguments into a request (a verb whose arguments are strings needs nothing
 * here: they become the request keys its args name) and talks to the socket.
 * `watch` is the table's `subscribe`: it keeps the connection open and prints
 * one line per event. (OpenBSD's relayctl/smtpctl beside their daemons.)
 *
 * Exit status: 0 ok; 1 the verb failed, or status found a plugin that is not
 * RUNNING; 2 usage; 3 the daemon could not be reached or gave no usable reply.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/paths.h"
#include "config/config.h"
#include "supervisor/verbs.h"

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

enum {
	CTL_EXIT_OK = VERB_EXIT_OK,
	CTL_EXIT_FAILED = VERB_EXIT_FAILED,
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
	int		 follow;	/* tail -f */
	int		 samples;	/* watch --samples */
};

/* One connection to the daemon, with what was read past the last line. */
struct ctl_conn {
	int		 fd;
	const char	*path;
	char		*buf;
	size_t		 len;
	size_t		 size;
};

/* Builds the request of a verb whose arguments are not plain strings. */
typedef void	ctl_build_fn(const struct verb *, struct ctl_opts *, json_t *);

static ctl_build_fn	ctl_build_status, ctl_build_history, ctl_build_tail,
			ctl_build_watch, ctl_build_multi, ctl_build_generic;

/* The verbs with options or numbers; every other verb: ctl_build_generic. */
static const struct {
	const char	*name;
	ctl_build_fn	*build;
} ctl_builders[] = {
	{ "status", ctl_build_status },
	{ "history", ctl_build_history },
	{ "tail", ctl_build_tail },
	{ "subscribe", ctl_build_watch },
	{ "start", ctl_build_multi },
	{ "stop", ctl_build_multi },
	{ "restart", ctl_build_multi },
};

static volatile sig_atomic_t	ctl_interrupted;

/* The full usage, built from the command table. */
static void
ctl_usage(FILE *f)
{
	size_t	i;

	fprintf(f,
	    "usage: supervisorctl [-s SOCKET | -c CONFIG] VERB [ARGS] [--json]\n"
	    "  -s SOCKET   the control socket (default: $" CTL_SOCKET_ENV ",\n"
	    "              else the socket of $" PATHS_CONFIG_ENV ", else, when\n"
	    "              installed, that of " PATHS_SYSTEM_CONFIG ",\n"
	    "              else " CTL_DEFAULT_SOCKET ")\n"
	    "  -c CONFIG   use the socket named in the daemon's config file\n"
	    "  -j, --json  print the daemon's JSON result instead of text\n"
	    "  -f          tail: follow the output as it comes (tail -f [NAME])\n"
	    "  --samples   watch: the metrics samples too (every poll interval)\n"
	    "  -h, --help  this help\n"
	    "  -V, --version  this program's version\n"
	    "verbs:\n");
	for (i = 0; i < VERB_COUNT; i++)
		verb_cli_usage(f, &verb_table[i], ' ');
	fprintf(f,
	    "exit status: 0 ok; 1 the verb failed (status: a plugin is not "
	    "RUNNING);\n"
	    "  2 usage error; 3 the supervisor could not be reached\n");
}

static void __attribute__((noreturn)) printflike(2, 3)
ctl_usage_error(const struct verb *ce, const char *fmt, ...);

/* A usage error: the reason, then the verb's usage (or all of it); exit 2. */
static void
ctl_usage_error(const struct verb *ce, const char *fmt, ...)
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
		    "%s%s%s [--json]\n", verb_cli_name(ce),
		    *verb_cli_args(ce) ? " " : "", verb_cli_args(ce));
		exit(CTL_EXIT_USAGE);
	}
	fprintf(stderr, "usage: supervisorctl [-s SOCKET | -c CONFIG] VERB "
	    "[ARGS] [--json]\nverbs:");
	for (i = 0; i < VERB_COUNT; i++)
		fprintf(stderr, " %s", verb_cli_name(&verb_table[i]));
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
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			/* Recognisable: make install tells ours from others. */
			printf("supervisorctl (" PATHS_PROJECT ") %s\n",
			    SUPERVISOR_VERSION);
			exit(CTL_EXIT_OK);
		} else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0)
			o->json = 1;
		else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0)
			o->follow = 1;
		else if (strcmp(a, "--samples") == 0)
			o->samples = 1;
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
ctl_parse_count(const struct verb *ce, const char *what, const char *s)
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
ctl_string(const struct verb *ce, const char *s)
{
	json_t	*j;

	if ((j = json_string(s)) == NULL)
		ctl_usage_error(ce, "argument is not valid UTF-8");
	return j;
}

/* The plugin name every CMD_PLUGIN verb needs first. */
static void
ctl_add_plugin(const struct verb *ce, struct ctl_opts *o, json_t *req)
{
	if (o->nargs < 1)
		ctl_usage_error(ce, "%s needs a plugin name",
		    verb_cli_name(ce));
	json_object_set_new(req, "plugin", ctl_string(ce, o->args[0]));
}

static void
ctl_max_args(const struct verb *ce, struct ctl_opts *o, size_t max)
{
	if (o->nargs > max)
		ctl_usage_error(ce, "too many arguments for %s",
		    verb_cli_name(ce));
}

/* status [plugin] */
static void
ctl_build_status(const struct verb *ce, struct ctl_opts *o, json_t *req)
{
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
		 * The table shows nine of a row's fields, and of events only
		 * the count routed: asking for just those cuts the reply for
		 * a thousand plugins from 511 to about 190 KB, and parsing it
		 * is most of this program's time. --json prints the daemon's
		 * whole reply.
		 */
		json_object_set_new(req, "fields", json_pack("[s, s, s, s, s, "
		    "s, s, s, s]", "name", "state", "pid", "uptime_human",
		    "cpu_percent", "memory_mb", "events.routed", "restarts",
		    "crashes"));
		/*
		 * And as rows of values, not objects with their keys: a
		 * thousand jansson objects (a hash table each) were half of
		 * the parse.
		 */
		json_object_set_new(req, "rows", json_true());
	}
}

/* history plugin [--last N | --since WINDOW], or the table's "last N". */
static void
ctl_build_history(const struct verb *ce, struct ctl_opts *o, json_t *req)
{
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

/* tail plugin [lines]; tail -f [plugin [lines]] */
static void
ctl_build_tail(const struct verb *ce, struct ctl_opts *o, json_t *req)
{
	if (o->follow && o->nargs == 0)
		return;
	ctl_add_plugin(ce, o, req);
	ctl_max_args(ce, o, 2);
	if (o->nargs == 2)
		json_object_set_new(req, "lines", json_integer(
		    ctl_parse_count(ce, "lines", o->args[1])));
}

/* watch [topic ...]: subscribe, to the given topics or all of them. */
static void
ctl_build_watch(const struct verb *ce, struct ctl_opts *o, json_t *req)
{
	json_t	*topics;
	size_t	 i;

	/*
	 * Without topics, what changes: a sample line per plugin every poll
	 * interval would bury the state changes; --samples asks for them.
	 */
	topics = json_array();
	if (o->nargs == 0) {
		json_array_append_new(topics, json_string("state"));
		json_array_append_new(topics, json_string("crash"));
		json_array_append_new(topics, json_string("alert"));
	}
	for (i = 0; i < o->nargs; i++)
		json_array_append_new(topics, ctl_string(ce, o->args[i]));
	if (o->samples)
		json_array_append_new(topics, json_string("sample"));
	json_object_set_new(req, "topics", topics);
}

/* start/stop/restart NAME ... | all: one name, or a list of them. */
static void
ctl_build_multi(const struct verb *ce, struct ctl_opts *o, json_t *req)
{
	json_t	*list;
	size_t	 i;

	if (o->nargs <= 1) {
		ctl_build_generic(ce, o, req);
		return;
	}
	list = json_array();
	for (i = 0; i < o->nargs; i++)
		json_array_append_new(list, ctl_string(ce, o->args[i]));
	json_object_set_new(req, "plugin", list);
}

/*
 * A verb whose arguments are strings: each becomes the request key its
 * verb's args name ("plugin [window]": plugin, then window if given).
 */
static void
ctl_build_generic(const struct verb *ce, struct ctl_opts *o, json_t *req)
{
	char	key[32];
	size_t	i;
	int	optional;

	for (i = 0; verb_arg(ce, i, key, sizeof key, &optional) == 0; i++) {
		if (i < o->nargs)
			json_object_set_new(req, key, ctl_string(ce,
			    o->args[i]));
		else if (!optional && strcmp(key, "plugin") == 0)
			ctl_usage_error(ce, "%s needs a plugin name",
			    verb_cli_name(ce));
		else if (!optional)
			ctl_usage_error(ce, "%s needs a %s", verb_cli_name(ce),
			    key);
	}
	ctl_max_args(ce, o, i);
}

/*
 * The config the daemon would read without -c, when supervisorctl is not
 * told a socket: $SUPERVISOR_CONFIG, else the system config if this
 * supervisorctl is installed (PREFIX/bin, beside PREFIX/lib/bot-supervisor)
 * and the file is there. NULL if neither.
 */
static const char *
ctl_system_config(void)
{
	struct paths_layout	 l;
	struct stat		 sb;
	const char		*env = getenv(PATHS_CONFIG_ENV);
	int			 installed;

	if (env != NULL && *env != '\0')
		return env;
	if (paths_layout_self(&l) == -1)
		return NULL;
	installed = l.installed;
	paths_layout_free(&l);
	if (installed && lstat(PATHS_SYSTEM_CONFIG, &sb) == 0)
		return PATHS_SYSTEM_CONFIG;
	return NULL;
}

/*
 * Where the socket is: -s, else the socket of -c's config, else
 * $SUPERVISOR_SOCKET, else the socket of the config the daemon finds by
 * itself ($SUPERVISOR_CONFIG, or the system config of an installed
 * daemon), else run/supervisor.sock in the current directory (where the
 * daemon puts it when started there with its built-in config). Of the
 * config only the socket is read: status is most wanted when a plugin's
 * executable has gone, and that would fail a whole load.
 */
static char *
ctl_socket_path(const struct ctl_opts *o)
{
	char		*cause = NULL, *path;
	const char	*env, *config;

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
	if ((config = ctl_system_config()) != NULL) {
		if (config_load_socket(config, &path, &cause) != 0) {
			fprintf(stderr, "supervisorctl: %s\n", cause);
			free(cause);
			exit(CTL_EXIT_USAGE);
		}
		return path;
	}
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

/*
 * Send request lines, or exit 3. Requests sent together go in one write,
 * so the daemon reads them together and runs them one after the other
 * with nothing in between (tail -f: the kept lines, then the subscription).
 */
static void
ctl_send_n(struct ctl_conn *c, json_t **reqs, size_t nreqs)
{
	char	*s, *line = NULL, *more;
	size_t	 len = 0, off = 0, i;
	ssize_t	 n;

	for (i = 0; i < nreqs; i++) {
		if ((s = json_dumps(reqs[i], JSON_COMPACT)) == NULL)
			fatalx("json_dumps failed");
		len = (size_t)xasprintf(&more, "%s%s\n", line != NULL ? line :
		    "", s);
		free(s);
		free(line);
		line = more;
	}
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

/* Send one request line, or exit 3. */
static void
ctl_send(struct ctl_conn *c, json_t *req)
{
	ctl_send_n(c, &req, 1);
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

/*
 * status as the table of every plugin: the reply line printed by the
 * table's own reader (verb_cli_status_line, which says why), or, for a line
 * it does not take, parsed by jansson as every other reply is.
 */
static int
ctl_status_rows(struct ctl_conn *c, const struct verb *ce, json_t *req)
{
	char	*line;
	size_t	 len, consumed;
	json_t	*reply, *result;
	int	 status;

	ctl_send(c, req);
	line = ctl_read_reply(c, &len, &consumed);
	if ((status = verb_cli_status_line(line, len)) != -1)
		return status;
	result = ctl_parse_reply(c, line, len, &reply);
	status = verb_cli(ce, result);
	json_decref(reply);
	return status;
}

static void
ctl_signal(int sig)
{
	ctl_interrupted = 1;
}

/* What an event stream prints: every event (watch), or plugin output. */
enum ctl_stream_mode {
	CTL_WATCH,		/* watch: one line per event */
	CTL_FOLLOW_ONE,		/* tail -f NAME: the lines as they were written */
	CTL_FOLLOW_ALL,		/* tail -f: "NAME | line" */
};

/*
 * SIGINT and SIGTERM end a stream with exit 0: caught, and blocked except
 * inside ppoll (orig is the mask to wait with), so one cannot slip in
 * between the check and the wait.
 */
static void
ctl_stream_signals(sigset_t *orig)
{
	struct sigaction	sa;
	sigset_t		block;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctl_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, orig);
}

/* One line of plugin output from a log event, for tail -f. */
static void
ctl_print_log(json_t *ev, enum ctl_stream_mode mode)
{
	const char	*level = verb_str(ev, "level", "info");

	if (strcmp(verb_str(ev, "event", ""), "log") != 0)
		return;
	if (mode == CTL_FOLLOW_ALL)
		printf("%s | ", verb_str(ev, "plugin", "?"));
	if (strcmp(level, "info") != 0)
		printf("%s: ", level);
	verb_cli_put_safe(stdout, verb_str(ev, "line", ""));
	putchar('\n');
}

/*
 * An error line in the stream: the daemon dropped this client (it did not
 * read fast enough: "not-reading"). Says so and exits 3; the line is freed
 * first.
 */
static void
ctl_stream_error(struct ctl_conn *c, json_t *line)
{
	json_t	*err = json_object_get(line, "error");
	char	 why[600];

	snprintf(why, sizeof why, "%s (%s)", verb_str(err, "message", "?"),
	    verb_str(err, "code", "?"));
	json_decref(line);
	ctl_die(CTL_EXIT_UNREACHABLE, "the supervisor on %s closed the "
	    "connection: %s", c->path, why);
}

/*
 * Print events, one per line, until SIGINT/SIGTERM (exit 0), stdout goes
 * away (exit 1, quietly) or the daemon does (exit 3).
 */
static int
ctl_stream(struct ctl_conn *c, int json, enum ctl_stream_mode mode,
    const sigset_t *orig)
{
	struct timeval	 tv = { 0, 0 };
	struct pollfd	 pfd;
	json_t		*ev;
	char		*line;
	size_t		 len, consumed;
	int		 r;

	/* Events come when they come: no receive timeout from here. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (;;) {
		while (ctl_take_line(c, &line, &len, &consumed)) {
			if (len > CTL_REPLY_MAX)
				ctl_die(CTL_EXIT_UNREACHABLE, "event line from %s "
				    "is over %d MiB; refused", c->path,
				    CTL_REPLY_MAX / 1024 / 1024);
			ev = json_loadb(line, len, 0, NULL);
			if (json)
				printf("%s\n", line);
			else if (ev == NULL) {
				verb_cli_put_safe(stdout, line);
				putchar('\n');
			} else if (json_is_false(json_object_get(ev, "ok")))
				;	/* below */
			else if (mode == CTL_WATCH)
				verb_cli_event(ev, line);
			else
				ctl_print_log(ev, mode);
			if (ev != NULL && json_is_false(json_object_get(ev,
			    "ok")))
				ctl_stream_error(c, ev);
			json_decref(ev);
			ctl_consume(c, consumed);
		}
		if (fflush(stdout) == EOF)
			return CTL_EXIT_FAILED;	/* stdout closed: stop quietly */
		if (ctl_interrupted)
			return CTL_EXIT_OK;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, NULL, orig) == -1) {
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

/* watch: the subscribe reply, then one event per line. */
static int
ctl_watch(struct ctl_conn *c, json_t *req, int json)
{
	sigset_t	 orig;
	json_t		*reply, *result, *t;
	size_t		 i;

	ctl_stream_signals(&orig);
	result = ctl_request(c, req, &reply);
	if (!json) {
		fprintf(stderr, "watching");
		json_array_foreach(json_object_get(result, "topics"), i, t)
			fprintf(stderr, "%s%s", i ? ", " : " ",
			    json_string_value(t));
		fprintf(stderr, " events on %s (interrupt to stop)\n", c->path);
	}
	json_decref(reply);
	return ctl_stream(c, json, CTL_WATCH, &orig);
}

/*
 * tail -f [NAME [N]]: with a name, first the stderr lines the daemon kept
 * (tail), then that plugin's output as it comes; without, every plugin's.
 * Both requests go in one write, so no line falls between the two: the
 * daemon runs them one after the other. With --json, only the events.
 */
static int
ctl_follow(struct ctl_conn *c, json_t *tail, int json)
{
	sigset_t	 orig;
	json_t		*sub, *reqs[2], *reply, *result, *v, *plugin;
	char		*line;
	size_t		 len, consumed, i, n = 0;

	plugin = json_object_get(tail, "plugin");
	sub = json_pack("{s:s, s:[s]}", "cmd", "subscribe", "topics", "log");
	if (plugin != NULL)
		json_object_set(sub, "plugin", plugin);
	if (plugin != NULL && !json)
		reqs[n++] = tail;
	reqs[n++] = sub;
	ctl_stream_signals(&orig);
	ctl_send_n(c, reqs, n);
	for (i = 0; i < n; i++) {
		line = ctl_read_reply(c, &len, &consumed);
		result = ctl_parse_reply(c, line, len, &reply);
		ctl_consume(c, consumed);
		if (reqs[i] == tail) {
			json_array_foreach(json_object_get(result, "lines"), len,
			    v) {
				verb_cli_put_safe(stdout, json_string_value(v));
				putchar('\n');
			}
		}
		json_decref(reply);
	}
	json_decref(sub);
	return ctl_stream(c, json, plugin != NULL ? CTL_FOLLOW_ONE :
	    CTL_FOLLOW_ALL, &orig);
}

/* Wait between two looks at how an upgrade goes, in microseconds. */
#define CTL_UPGRADE_POLL	50000

/*
 * upgrade NAME: ask for it, then look at the plugin's status until the
 * upgrade of that number has ended (the daemon answers the verb at once:
 * the new process may take up to its ready_timeout). Exit 0 if the new
 * version took over; 1 with the reason and the new process's last stderr
 * lines if it failed or was cancelled.
 */
static int
ctl_upgrade(struct ctl_conn *c, json_t *req, int json)
{
	json_t		*reply, *result, *st, *streply, *u, *v;
	json_int_t	 seq;
	const char	*res, *name;
	char		*s;
	size_t		 i;
	int		 status;

	result = ctl_request(c, req, &reply);
	name = verb_str(result, "plugin", "?");
	seq = json_integer_value(json_object_get(json_object_get(result,
	    "upgrade"), "seq"));
	if (!json)
		printf("%s: upgrading (%s)\n", name, verb_str(json_object_get(
		    result, "upgrade"), "why", ""));
	st = json_pack("{s:s, s:s, s:[s, s, s, s]}", "cmd", "status",
	    "plugin", name, "fields", "state", "pid", "version", "upgrade");
	for (;;) {
		u = json_object_get(ctl_request(c, st, &streply), "upgrade");
		res = verb_str(u, "result", "none");
		if (json_integer_value(json_object_get(u, "seq")) != seq ||
		    strcmp(res, "running") != 0)
			break;
		json_decref(streply);
		if (ctl_interrupted)
			ctl_die(CTL_EXIT_FAILED, "interrupted; the upgrade of "
			    "%s goes on", name);
		usleep(CTL_UPGRADE_POLL);
	}
	status = strcmp(res, "done") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILED;
	if (json) {
		s = json_dumps(u, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
		if (s == NULL)
			fatalx("json_dumps failed");
		printf("%s\n", s);
		free(s);
	} else if (status == CTL_EXIT_OK)
		printf("%s: upgraded: version %s -> %s, pid %lld -> %lld, ready "
		    "in %.0f ms\n", name, verb_str(u, "from_version", "?"),
		    verb_str(u, "to_version", "?"),
		    (long long)verb_int(u, "old_pid", 0),
		    (long long)verb_int(u, "new_pid", 0),
		    verb_num(u, "ready_ms", 0));
	else {
		printf("%s: upgrade %s: ", name, res);
		if ((v = json_object_get(u, "reason")) != NULL &&
		    json_is_string(v))
			printf("%s, ", json_string_value(v));
		verb_cli_put_safe(stdout, verb_str(u, "detail", "?"));
		if (strcmp(res, "failed") == 0)
			printf("; pid %lld serves on", (long long)verb_int(
			    json_object_get(reply, "result"), "pid", 0));
		putchar('\n');
		if (json_array_size(json_object_get(u, "stderr")) > 0)
			printf("last stderr lines of the new process:\n");
		json_array_foreach(json_object_get(u, "stderr"), i, v) {
			printf("  ");
			verb_cli_put_safe(stdout, json_string_value(v));
			putchar('\n');
		}
	}
	json_decref(streply);
	json_decref(st);
	json_decref(reply);
	return status;
}

int
main(int argc, char **argv)
{
	struct ctl_opts		 o;
	struct ctl_conn		 c;
	const struct verb	*ce;
	ctl_build_fn		*build = ctl_build_generic;
	json_t			*req, *reply, *result;
	char			*path, *s;
	size_t			 i;
	int			 status;

	log_init("supervisorctl", 0);
	signal(SIGPIPE, SIG_IGN);
	ctl_parse_args(argc, argv, &o);

	/* The verb as typed (watch), else a table name (subscribe too). */
	if ((ce = verb_find_typed(o.verb)) == NULL)
		ctl_usage_error(NULL, "unknown verb \"%s\"", o.verb);
	for (i = 0; i < nitems(ctl_builders); i++) {
		if (strcmp(ctl_builders[i].name, ce->name) == 0)
			build = ctl_builders[i].build;
	}
	if ((o.last != NULL || o.since != NULL) &&
	    strcmp(ce->name, "history") != 0)
		ctl_usage_error(ce, "--last and --since are for history only");
	if (o.fields != NULL && strcmp(ce->name, "status") != 0)
		ctl_usage_error(ce, "--fields is for status only");
	if (o.follow && strcmp(ce->name, "tail") != 0)
		ctl_usage_error(ce, "-f is for tail only");
	if (o.samples && strcmp(ce->name, "subscribe") != 0)
		ctl_usage_error(ce, "--samples is for watch only");

	req = json_pack("{s:s}", "cmd", ce->name);
	build(ce, &o, req);

	path = ctl_socket_path(&o);
	ctl_connect(&c, path);
	if (ce->flags & CMD_STREAM)
		status = ctl_watch(&c, req, o.json);
	else if (o.follow)
		status = ctl_follow(&c, req, o.json);
	else if (strcmp(ce->name, "upgrade") == 0)
		status = ctl_upgrade(&c, req, o.json);
	else if (strcmp(ce->name, "status") == 0 && json_is_true(
	    json_object_get(req, "rows")))
		status = ctl_status_rows(&c, ce, req);
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
				status = verb_cli_status_exit(result);
		} else
			status = verb_cli(ce, result);
		json_decref(reply);
	}
	close(c.fd);
	free(c.buf);
	free(path);
	json_decref(req);
	/* ferror too: a write that failed earlier may leave nothing to flush. */
	if ((fflush(stdout) == EOF || ferror(stdout)) && status == CTL_EXIT_OK)
		status = CTL_EXIT_FAILED;
	return status;
}

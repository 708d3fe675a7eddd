/*
 * sdk.c: the plugin side of the protocol (docs/protocol.md).
 *
 * One poll(2) loop over the daemon's socket, the plugin's watched fds and
 * its timers. Incoming bytes go through the ipc stream decoder; outgoing
 * messages are appended to one write queue that is flushed whenever the
 * socket is writable, so a slow daemon never blocks the plugin and a
 * partial write is never lost.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "ipc/ipc.h"
#include "plugins/sdk/sdk.h"

#define SDK_MAX_COMMANDS	IPC_MAX_COMMANDS
#define SDK_MAX_WATCHES		16

/*
 * Bytes queued for the daemon beyond which new messages are dropped: the
 * daemon reads continuously, so this much backlog means it is stuck, and
 * the plugin must not grow without bound meanwhile.
 */
#define SDK_MAX_QUEUE		(4 * 1024 * 1024)

/* How long sdk_run tries to deliver queued messages after shutdown. */
#define SDK_DRAIN_MS		1000

struct sdk_command {
	char		*name;
	char		*usage;		/* for !help NAME; NULL: none */
	sdk_event_cb	 cb;
	void		*arg;
};

struct sdk_watch {
	int		 fd;
	int		 write;		/* also poll for POLLOUT */
	sdk_fd_cb	 cb;
	void		*arg;
};

struct sdk_timer {
	int		 id;
	uint64_t	 deadline;	/* clock_mono_ms */
	sdk_timer_cb	 cb;
	void		*arg;
	TAILQ_ENTRY(sdk_timer) entry;
};
TAILQ_HEAD(sdk_timers, sdk_timer);

/* One key of the hello "config" map; value stays in the kept hello message. */
struct sdk_config_entry {
	char			 *key;
	const msgpack_object	 *value;
	char			 *str;		/* NUL-terminated copy of a str */
	const char		**strv;		/* copies of an array's strs */
	size_t			  nstrv;
};

static struct {
	char			*name;
	const char		*version;
	int			 fd;
	struct ipc_stream	*stream;
	struct msg_builder	*builder;

	struct sdk_command	 commands[SDK_MAX_COMMANDS];
	size_t			 ncommands;
	sdk_event_cb		 chat_cb;
	void			*chat_arg;
	sdk_say_cb		 say_cb;
	void			*say_arg;
	sdk_shutdown_cb		 shutdown_cb;
	void			*shutdown_arg;
	void			(*ready_cb)(void *);
	void			*ready_arg;

	struct sdk_watch	 watches[SDK_MAX_WATCHES];
	size_t			 nwatches;
	struct sdk_timers	 timers;
	int			 next_timer;

	struct msg		 hello;
	int			 have_hello;
	char			*plugin_name;	/* from hello */
	char			*role;		/* from hello */
	struct sdk_config_entry	*config;
	size_t			 nconfig;
	struct sdk_config_entry	*nested;	/* dotted keys looked up */
	size_t			 nnested;

	char			*out;		/* write queue */
	size_t			 outlen;
	size_t			 outsize;
	int			 ready;		/* ready sent: the queue may flush */
	int			 dead;		/* the socket failed */
	int			 stop;
} sdk = { .fd = -1 };

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t
sdk_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* Add a string field, truncated at a UTF-8 boundary to max bytes. */
static void
sdk_add_text(const char *key, const char *s, size_t max)
{
	msg_add_strn(sdk.builder, key, s, sdk_utf8_cut(s, strlen(s), max));
}

/* Add the "text" field from a format, truncated like sdk_add_text. */
static void printflike(1, 0)
sdk_add_vtext(const char *fmt, va_list ap)
{
	char	*text;

	xvasprintf(&text, fmt, ap);
	sdk_add_text("text", text, IPC_MAX_TEXT);
	free(text);
}

/* Write as much of the queue as the socket takes now. */
static void
sdk_flush(void)
{
	ssize_t	n;

	while (sdk.ready && !sdk.dead && sdk.outlen > 0) {
		n = write(sdk.fd, sdk.out, sdk.outlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("write to daemon");
				sdk.dead = 1;
			}
			return;
		}
		memmove(sdk.out, sdk.out + n, sdk.outlen - n);
		sdk.outlen -= n;
	}
}

/*
 * Finish the message in the builder and queue it, at the front for the
 * ready message: anything queued before the handshake (a log line from
 * main) must wait behind it, because the daemon expects ready first.
 */
static void
sdk_queue(int front)
{
	const char	*data;
	size_t		 len;

	msg_end(sdk.builder, &data, &len);
	if (sdk.outlen + len > SDK_MAX_QUEUE) {
		log_warnx("daemon is not reading: dropping a %zu-byte message",
		    len);
		return;
	}
	if (sdk.outlen + len > sdk.outsize) {
		sdk.outsize = sdk.outlen + len + 4096;
		sdk.out = xreallocarray(sdk.out, 1, sdk.outsize);
	}
	if (front) {
		memmove(sdk.out + len, sdk.out, sdk.outlen);
		memcpy(sdk.out, data, len);
	} else
		memcpy(sdk.out + sdk.outlen, data, len);
	sdk.outlen += len;
	sdk_flush();
}

/* Queue the message in the builder behind the others. */
static void
sdk_send(void)
{
	sdk_queue(0);
}

/* Name the plugin (for logs) and its version; set up the daemon's socket. */
void
sdk_init(const char *name, const char *version)
{
	struct sigaction	 sa;
	const char		*env;
	char			*end;
	long			 fd = IPC_PLUGIN_FD;

	sdk.name = xstrdup(name);
	sdk.version = version;
	log_init(sdk.name, 0);
	/* stderr goes to the daemon's log, which stamps each line itself. */
	log_set_timestamps(0);

	/* A daemon gone mid-write must be a write error, not a signal. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	if ((env = getenv(IPC_PLUGIN_FD_ENV)) != NULL && *env != '\0') {
		errno = 0;
		fd = strtol(env, &end, 10);
		if (errno != 0 || *end != '\0' || fd < 0 || fd > INT_MAX)
			fatalx("bad %s: \"%s\"", IPC_PLUGIN_FD_ENV, env);
	}
	sdk.fd = fd;
	sdk.stream = ipc_stream_new(IPC_MAX_MESSAGE);
	sdk.builder = msg_builder_new();
	TAILQ_INIT(&sdk.timers);
}

void
sdk_command(const char *name, sdk_event_cb cb, void *arg)
{
	if (sdk.ncommands == SDK_MAX_COMMANDS)
		fatalx("more than %d commands", SDK_MAX_COMMANDS);
	/* The daemon would refuse the ready: say so where it is the bug. */
	if (!ipc_command_valid(name, strlen(name)))
		fatalx("invalid command name \"%s\" (1-%d of a-z 0-9 - _)",
		    name, IPC_MAX_COMMAND);
	sdk.commands[sdk.ncommands].name = xstrdup(name);
	sdk.commands[sdk.ncommands].cb = cb;
	sdk.commands[sdk.ncommands].arg = arg;
	sdk.ncommands++;
}

/* How to use a command, one line for !help NAME (at most 200 bytes). */
void
sdk_usage(const char *name, const char *usage)
{
	size_t	i;

	if (strlen(usage) > IPC_MAX_USAGE)
		fatalx("usage of \"%s\" is over %d bytes", name,
		    IPC_MAX_USAGE);
	for (i = 0; i < sdk.ncommands; i++) {
		if (strcmp(sdk.commands[i].name, name) == 0) {
			free(sdk.commands[i].usage);
			sdk.commands[i].usage = xstrdup(usage);
			return;
		}
	}
	fatalx("usage for \"%s\", which is no command of this plugin", name);
}

void
sdk_on_chat(sdk_event_cb cb, void *arg)
{
	sdk.chat_cb = cb;
	sdk.chat_arg = arg;
}

void
sdk_on_say(sdk_say_cb cb, void *arg)
{
	sdk.say_cb = cb;
	sdk.say_arg = arg;
}

void
sdk_on_shutdown(sdk_shutdown_cb cb, void *arg)
{
	sdk.shutdown_cb = cb;
	sdk.shutdown_arg = arg;
}

void
sdk_on_ready(void (*cb)(void *), void *arg)
{
	sdk.ready_cb = cb;
	sdk.ready_arg = arg;
}

const char *
sdk_name(void)
{
	return sdk.plugin_name != NULL ? sdk.plugin_name : sdk.name;
}

const char *
sdk_role(void)
{
	return sdk.role != NULL ? sdk.role : "plugin";
}

void
sdk_reply(const struct sdk_event *ev, const char *fmt, ...)
{
	va_list	ap;

	msg_begin(sdk.builder, MSG_REPLY);
	msg_add_uint(sdk.builder, "id", ev->id);
	va_start(ap, fmt);
	sdk_add_vtext(fmt, ap);
	va_end(ap);
	sdk_send();
}

void
sdk_say(const char *platform, const char *channel, const char *fmt, ...)
{
	va_list	ap;

	msg_begin(sdk.builder, MSG_SAY);
	sdk_add_text("platform", platform, IPC_MAX_PLATFORM);
	sdk_add_text("channel", channel, IPC_MAX_CHANNEL);
	va_start(ap, fmt);
	sdk_add_vtext(fmt, ap);
	va_end(ap);
	sdk_send();
}

void
sdk_chat(const char *platform, const char *channel, const char *user,
    const char *text)
{
	msg_begin(sdk.builder, MSG_CHAT);
	sdk_add_text("platform", platform, IPC_MAX_PLATFORM);
	sdk_add_text("channel", channel, IPC_MAX_CHANNEL);
	sdk_add_text("user", user, IPC_MAX_USER);
	sdk_add_text("text", text, IPC_MAX_TEXT);
	sdk_send();
}

/* The connector with the terminal: its user ended the session. */
void
sdk_request_shutdown(void)
{
	msg_begin(sdk.builder, MSG_SHUTDOWN);
	sdk_send();
}

void
sdk_log(const char *level, const char *fmt, ...)
{
	va_list	ap;

	if (strcmp(level, "debug") != 0 && strcmp(level, "warn") != 0)
		level = "info";
	msg_begin(sdk.builder, MSG_LOG);
	msg_add_str(sdk.builder, "level", level);
	va_start(ap, fmt);
	sdk_add_vtext(fmt, ap);
	va_end(ap);
	sdk_send();
}

/* Fill a config entry for a value, copying strings NUL-terminated. */
static void
sdk_config_fill(struct sdk_config_entry *ce, const char *key, size_t keylen,
    const msgpack_object *val)
{
	uint32_t	j, n;

	ce->key = xstrndup(key, keylen);
	ce->value = val;
	if (val->type == MSGPACK_OBJECT_STR)
		ce->str = xstrndup(val->via.str.ptr, val->via.str.size);
	if (val->type != MSGPACK_OBJECT_ARRAY || (n = val->via.array.size) == 0)
		return;
	for (j = 0; j < n; j++) {
		if (val->via.array.ptr[j].type != MSGPACK_OBJECT_STR)
			return;
	}
	ce->strv = xcalloc(n, sizeof *ce->strv);
	for (j = 0; j < n; j++)
		ce->strv[j] = xstrndup(val->via.array.ptr[j].via.str.ptr,
		    val->via.array.ptr[j].via.str.size);
	ce->nstrv = n;
}

/* Index the hello "config" map by key, copying strings NUL-terminated. */
static void
sdk_config_load(void)
{
	const msgpack_object	*o = msg_get_object(&sdk.hello, "config");
	const msgpack_object_kv	*kv;
	uint32_t		 i;

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP || o->via.map.size == 0)
		return;
	sdk.config = xcalloc(o->via.map.size, sizeof *sdk.config);
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			continue;
		sdk_config_fill(&sdk.config[sdk.nconfig++], kv->key.via.str.ptr,
		    kv->key.via.str.size, &kv->val);
	}
}

/* The value of a string key in a msgpack map, or NULL. */
static const msgpack_object *
sdk_config_member(const msgpack_object *map, const char *key, size_t keylen)
{
	const msgpack_object_kv	*kv;
	uint32_t		 i;

	if (map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == keylen &&
		    memcmp(kv->key.via.str.ptr, key, keylen) == 0)
			return &kv->val;
	}
	return NULL;
}

/*
 * A dotted key ("reconnect.initial") inside nested objects of the config:
 * found once, then kept in a table of its own until exit, like the others.
 */
static const struct sdk_config_entry *
sdk_config_find_nested(const char *key)
{
	const msgpack_object	*o = msg_get_object(&sdk.hello, "config");
	const char		*p, *dot;
	size_t			 i;

	for (i = 0; i < sdk.nnested; i++) {
		if (strcmp(sdk.nested[i].key, key) == 0)
			return &sdk.nested[i];
	}
	for (p = key; o != NULL; p = dot + 1) {
		dot = strchr(p, '.');
		o = sdk_config_member(o, p, dot != NULL ? (size_t)(dot - p) :
		    strlen(p));
		if (dot == NULL)
			break;
	}
	if (o == NULL)
		return NULL;
	sdk.nested = xreallocarray(sdk.nested, sdk.nnested + 1,
	    sizeof *sdk.nested);
	memset(&sdk.nested[sdk.nnested], 0, sizeof *sdk.nested);
	sdk_config_fill(&sdk.nested[sdk.nnested], key, strlen(key), o);
	return &sdk.nested[sdk.nnested++];
}

/* The config value for a key, or NULL. */
static const struct sdk_config_entry *
sdk_config_find(const char *key)
{
	size_t	i;

	for (i = 0; i < sdk.nconfig; i++) {
		if (strcmp(sdk.config[i].key, key) == 0)
			return &sdk.config[i];
	}
	if (strchr(key, '.') != NULL && sdk.have_hello)
		return sdk_config_find_nested(key);
	return NULL;
}

/* Warn that a config value has the wrong type and the default is used. */
static void
sdk_config_mistyped(const char *key, const char *want)
{
	log_warnx("config \"%s\" is not %s: using the default", key, want);
}

const char *
sdk_config_str(const char *key, const char *def)
{
	const struct sdk_config_entry	*ce = sdk_config_find(key);

	if (ce == NULL)
		return def;
	if (ce->str == NULL) {
		sdk_config_mistyped(key, "a string");
		return def;
	}
	return ce->str;
}

int64_t
sdk_config_int(const char *key, int64_t def)
{
	const struct sdk_config_entry	*ce = sdk_config_find(key);

	if (ce == NULL)
		return def;
	if (ce->value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return ce->value->via.i64;
	if (ce->value->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    ce->value->via.u64 <= INT64_MAX)
		return (int64_t)ce->value->via.u64;
	sdk_config_mistyped(key, "an integer");
	return def;
}

double
sdk_config_double(const char *key, double def)
{
	const struct sdk_config_entry	*ce = sdk_config_find(key);

	if (ce == NULL)
		return def;
	switch (ce->value->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return ce->value->via.f64;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return (double)ce->value->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (double)ce->value->via.i64;
	default:
		sdk_config_mistyped(key, "a number");
		return def;
	}
}

int
sdk_config_bool(const char *key, int def)
{
	const struct sdk_config_entry	*ce = sdk_config_find(key);

	if (ce == NULL)
		return def;
	if (ce->value->type != MSGPACK_OBJECT_BOOLEAN) {
		sdk_config_mistyped(key, "a boolean");
		return def;
	}
	return ce->value->via.boolean;
}

size_t
sdk_config_strv(const char *key, const char **strv, size_t max)
{
	const struct sdk_config_entry	*ce = sdk_config_find(key);
	size_t				 i;

	if (ce == NULL)
		return 0;
	if (ce->strv == NULL) {
		if (ce->value->type != MSGPACK_OBJECT_ARRAY ||
		    ce->value->via.array.size != 0)
			sdk_config_mistyped(key, "an array of strings");
		return 0;
	}
	for (i = 0; i < ce->nstrv && i < max; i++)
		strv[i] = ce->strv[i];
	return ce->nstrv;
}

void
sdk_watch_fd(int fd, sdk_fd_cb cb, void *arg)
{
	size_t	i;

	for (i = 0; i < sdk.nwatches; i++) {
		if (sdk.watches[i].fd == fd)
			break;
	}
	if (i == sdk.nwatches) {
		if (sdk.nwatches == SDK_MAX_WATCHES)
			fatalx("more than %d watched fds", SDK_MAX_WATCHES);
		sdk.nwatches++;
		sdk.watches[i].write = 0;
	}
	sdk.watches[i].fd = fd;
	sdk.watches[i].cb = cb;
	sdk.watches[i].arg = arg;
}

void
sdk_unwatch_fd(int fd)
{
	size_t	i;

	for (i = 0; i < sdk.nwatches; i++) {
		if (sdk.watches[i].fd == fd) {
			sdk.watches[i] = sdk.watches[--sdk.nwatches];
			return;
		}
	}
}

/* Poll a watched fd for writability too, or no longer. */
void
sdk_watch_fd_write(int fd, int on)
{
	size_t	i;

	for (i = 0; i < sdk.nwatches; i++) {
		if (sdk.watches[i].fd == fd) {
			sdk.watches[i].write = on;
			return;
		}
	}
	log_warnx("fd %d is not watched: cannot watch it for writing", fd);
}

/* The watch of an fd, or NULL if it is not (or no longer) watched. */
static struct sdk_watch *
sdk_watch_find(int fd)
{
	size_t	i;

	for (i = 0; i < sdk.nwatches; i++) {
		if (sdk.watches[i].fd == fd)
			return &sdk.watches[i];
	}
	return NULL;
}

/* Add a one-shot timer, kept sorted by deadline. */
int
sdk_timer(double seconds, sdk_timer_cb cb, void *arg)
{
	struct sdk_timer	*t, *at;
	uint64_t		 ms = 0;

	/* Round up, so a timer never fires early; NaN and negatives are 0. */
	if (seconds > 0)
		ms = (uint64_t)((seconds < 1e9 ? seconds : 1e9) * 1000 + 0.999);
	t = xcalloc(1, sizeof *t);
	t->id = ++sdk.next_timer;
	t->deadline = clock_mono_ms() + ms;
	t->cb = cb;
	t->arg = arg;
	TAILQ_FOREACH(at, &sdk.timers, entry) {
		if (at->deadline > t->deadline)
			break;
	}
	if (at != NULL)
		TAILQ_INSERT_BEFORE(at, t, entry);
	else
		TAILQ_INSERT_TAIL(&sdk.timers, t, entry);
	return t->id;
}

void
sdk_timer_cancel(int id)
{
	struct sdk_timer	*t;

	TAILQ_FOREACH(t, &sdk.timers, entry) {
		if (t->id == id) {
			TAILQ_REMOVE(&sdk.timers, t, entry);
			free(t);
			return;
		}
	}
}

/* Run the timers that are due; each is removed before its callback runs. */
static void
sdk_timers_run(void)
{
	struct sdk_timer	*t;
	uint64_t		 now = clock_mono_ms();

	while ((t = TAILQ_FIRST(&sdk.timers)) != NULL && t->deadline <= now) {
		TAILQ_REMOVE(&sdk.timers, t, entry);
		t->cb(t->arg);
		free(t);
	}
}

void
sdk_stop(void)
{
	sdk.stop = 1;
}

/*
 * Handle hello: keep it for config lookups, call on_ready, send ready. A
 * hello the plugin cannot read leaves it nothing to go by: it exits 1.
 */
static void
sdk_handle_hello(struct msg *m)
{
	const char		*commands[SDK_MAX_COMMANDS];
	const char		*usage[SDK_MAX_COMMANDS];
	struct ipc_hello	 hello;
	char			*cause = NULL;
	size_t			 i;

	if (sdk.have_hello) {
		log_warnx("daemon sent a second hello: ignored");
		msg_release(m);
		return;
	}
	if (ipc_read_hello(m, &hello, &cause) != 0) {
		log_warnx("bad hello from daemon: %s", cause);
		free(cause);
		msg_release(m);
		sdk.dead = 1;
		return;
	}
	sdk.hello = *m;
	sdk.have_hello = 1;
	if (hello.protocol != PROTOCOL_VERSION)
		log_warnx("daemon speaks protocol %llu, this plugin %d",
		    (unsigned long long)hello.protocol, PROTOCOL_VERSION);
	sdk.plugin_name = xstrdup(hello.name);
	sdk.role = xstrdup(hello.role == IPC_ROLE_CONNECTOR ? "connector" :
	    "plugin");
	sdk_config_load();
	log_debug("hello: name %s, role %s", sdk_name(), sdk_role());

	if (sdk.ready_cb != NULL)
		sdk.ready_cb(sdk.ready_arg);

	for (i = 0; i < sdk.ncommands; i++) {
		commands[i] = sdk.commands[i].name;
		usage[i] = sdk.commands[i].usage != NULL ?
		    sdk.commands[i].usage : "";
	}
	msg_begin(sdk.builder, MSG_READY);
	msg_add_uint(sdk.builder, "protocol", PROTOCOL_VERSION);
	msg_add_str(sdk.builder, "version", sdk.version);
	msg_add_strv(sdk.builder, "commands", commands, sdk.ncommands);
	msg_add_strv(sdk.builder, "usage", usage, sdk.ncommands);
	msg_add_bool(sdk.builder, "chat", sdk.chat_cb != NULL);
	sdk_queue(1);
	sdk.ready = 1;
	sdk_flush();
}

/* Handle event: copy its texts NUL-terminated and call its callback. */
static void
sdk_handle_event(struct msg *m)
{
	struct ipc_event	 in;
	struct sdk_event	 ev;
	char			*args, *text, *cause = NULL;
	size_t			 i;

	if (ipc_read_event(m, &in, &cause) != 0) {
		log_warnx("bad event: %s; ignored", cause);
		free(cause);
		return;
	}
	args = xstrndup(in.args, in.args_len);
	text = xstrndup(in.text, in.text_len);
	memset(&ev, 0, sizeof ev);
	ev.id = in.id;
	ev.platform = in.platform;
	ev.channel = in.channel;
	ev.user = in.user;
	ev.command = in.command;
	ev.args = args;
	ev.text = text;

	if (*ev.command == '\0') {
		if (sdk.chat_cb != NULL)
			sdk.chat_cb(&ev, sdk.chat_arg);
		goto out;
	}
	for (i = 0; i < sdk.ncommands; i++) {
		if (strcmp(sdk.commands[i].name, ev.command) == 0) {
			sdk.commands[i].cb(&ev, sdk.commands[i].arg);
			goto out;
		}
	}
	log_warnx("event for a command not ours: \"%s\"", ev.command);
out:
	free(args);
	free(text);
}

/* Handle say (connectors): deliver the text to the chat platform. */
static void
sdk_handle_say(struct msg *m)
{
	struct ipc_say	 say;
	char		*text, *cause = NULL;

	if (ipc_read_say(m, &say, &cause) != 0) {
		log_warnx("bad say: %s; ignored", cause);
		free(cause);
		return;
	}
	if (sdk.say_cb == NULL) {
		log_warnx("say received, but this plugin is not a connector");
		return;
	}
	text = xstrndup(say.text, say.text_len);
	sdk.say_cb(say.platform, say.channel, say.user, text, sdk.say_arg);
	free(text);
}

/* Handle one message from the daemon; the message is released here. */
static void
sdk_dispatch(struct msg *m)
{
	struct ipc_ping	 ping;
	char		*cause = NULL;

	if (m->type != MSG_HELLO && !sdk.have_hello &&
	    m->type != MSG_SHUTDOWN && m->type != MSG_PING) {
		log_warnx("%s before hello: ignored", msg_type_name(m->type));
		msg_release(m);
		return;
	}
	switch (m->type) {
	case MSG_HELLO:
		sdk_handle_hello(m);	/* keeps the message */
		return;
	case MSG_EVENT:
		sdk_handle_event(m);
		break;
	case MSG_SAY:
		sdk_handle_say(m);
		break;
	case MSG_PING:
		if (ipc_read_ping(m, &ping, &cause) != 0) {
			log_warnx("bad ping: %s; ignored", cause);
			free(cause);
			break;
		}
		msg_begin(sdk.builder, MSG_PONG);
		msg_add_uint(sdk.builder, "seq", ping.seq);
		sdk_send();
		break;
	case MSG_SHUTDOWN:
		log_debug("shutdown requested");
		if (sdk.shutdown_cb != NULL)
			sdk.shutdown_cb(sdk.shutdown_arg);
		sdk.stop = 1;
		break;
	default:
		log_warnx("unexpected %s from daemon: ignored",
		    msg_type_name(m->type));
		break;
	}
	msg_release(m);
}

/*
 * Read what the daemon sent and handle every complete message, stopping
 * after shutdown. Returns -1 if the connection is closed or broken.
 */
static int
sdk_read(void)
{
	char		 buf[16384], *cause;
	struct msg	 m;
	ssize_t		 n;
	int		 r;

	n = read(sdk.fd, buf, sizeof buf);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_warn("read from daemon");
		return -1;
	}
	if (n == 0) {
		log_warnx("daemon closed the connection");
		return -1;
	}
	if (ipc_stream_feed(sdk.stream, buf, n, &cause) != 0)
		goto bad;
	while (!sdk.stop) {
		if ((r = ipc_stream_next(sdk.stream, &m, &cause)) == -1)
			goto bad;
		if (r == 0)
			break;
		sdk_dispatch(&m);
	}
	return 0;
bad:
	log_warnx("bad message from daemon: %s", cause);
	free(cause);
	return -1;
}

/* Milliseconds until the next timer, or -1 for none. */
static int
sdk_poll_timeout(void)
{
	struct sdk_timer	*t = TAILQ_FIRST(&sdk.timers);
	uint64_t		 now = clock_mono_ms();

	if (t == NULL)
		return -1;
	if (t->deadline <= now)
		return 0;
	if (t->deadline - now > INT_MAX)
		return INT_MAX;
	return (int)(t->deadline - now);
}

/* Give queued messages (a last reply, a log line) a bounded time to leave. */
static void
sdk_drain(void)
{
	struct pollfd	pfd = { .fd = sdk.fd, .events = POLLOUT };
	uint64_t	deadline = clock_mono_ms() + SDK_DRAIN_MS, now;

	while (sdk.outlen > 0 && !sdk.dead &&
	    (now = clock_mono_ms()) < deadline) {
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 && errno != EINTR)
			break;
		sdk_flush();
	}
}

int
sdk_run(void)
{
	struct pollfd	 pfds[1 + SDK_MAX_WATCHES];
	struct sdk_watch *w;
	nfds_t		 nfds, i;
	int		 flags, status = 0;

	if (sdk.builder == NULL)
		fatalx("sdk_run called without sdk_init");
	if ((flags = fcntl(sdk.fd, F_GETFL)) == -1 ||
	    fcntl(sdk.fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("daemon socket (fd %d)", sdk.fd);

	while (!sdk.stop) {
		if (sdk.dead) {
			status = 1;
			break;
		}
		pfds[0].fd = sdk.fd;
		pfds[0].events = POLLIN;
		if (sdk.ready && sdk.outlen > 0)
			pfds[0].events |= POLLOUT;
		nfds = 1;
		/* Watches and timers start once the handshake is done. */
		if (sdk.ready) {
			for (i = 0; i < sdk.nwatches; i++) {
				pfds[nfds].fd = sdk.watches[i].fd;
				pfds[nfds].events = POLLIN;
				if (sdk.watches[i].write)
					pfds[nfds].events |= POLLOUT;
				nfds++;
			}
		}
		if (poll(pfds, nfds, sdk.ready ? sdk_poll_timeout() : -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}

		if (pfds[0].revents & (POLLOUT | POLLERR | POLLHUP))
			sdk_flush();
		if ((pfds[0].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) &&
		    sdk_read() == -1) {
			status = 1;
			break;
		}
		/* A callback may (un)watch fds: look each one up again. */
		for (i = 1; i < nfds && !sdk.stop; i++) {
			if (pfds[i].revents == 0 ||
			    (w = sdk_watch_find(pfds[i].fd)) == NULL)
				continue;
			if (pfds[i].revents & POLLNVAL) {
				log_warnx("watched fd %d is not open: unwatched",
				    w->fd);
				sdk_unwatch_fd(w->fd);
				continue;
			}
			w->cb(w->fd, w->arg);
		}
		if (sdk.ready && !sdk.stop)
			sdk_timers_run();
	}
	/* Memory stays reachable from sdk until the process exits. */
	if (status == 0)
		sdk_drain();
	return status;
}

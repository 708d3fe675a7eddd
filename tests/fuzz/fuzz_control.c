/*
 * fuzz_control.c: libFuzzer target for the control socket's request path
 * (supervisor/control.c and the command table in supervisor/cmd.c).
 *
 * The input is what a client could write on the socket. It is cut into
 * lines as control_read_cb does (LF ends a line, a CR before it is dropped,
 * empty lines are skipped, a line over CONTROL_LINE_MAX is refused and ends
 * the connection) and each line goes to cmd_execute_line, as in
 * control_request: parsed, run, the reply written as JSON text. A reply
 * that is not one line of valid JSON (jansson must read it back), or not
 * the documented shape, is a failure.
 *
 * The first byte chooses between the raw line(s) and a request built around
 * the rest of the input: {"cmd": VERB, "plugin": NAME, KEY: <rest>}, with
 * VERB, NAME and KEY chosen by the first two bytes ({"cmd": <rest>} and
 * {"cmd": VERB, "plugin": <rest>} for the keys cmd and plugin). The daemon
 * looks request keys up by hash, so the mutator could not find their names
 * alone.
 *
 * State: every input gets a fresh daemon state (server_init on a config
 * loaded from a string, no socket, no plugin started, no event loop) that
 * is freed afterwards (server_free), so nothing carries over and
 * LeakSanitizer checks the whole request path at each input. The plugins
 * run /bin/true and do not autostart; a start or restart does spawn one, and
 * it is killed and reaped before the state is freed.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"
#include "config/config.h"
#include "ipc/ipc.h"
#include "metrics/metrics.h"
#include "supervisor/supervisor.h"

/* Abort with a line saying which property broke. */
#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_control: %s (check %s, line %d)\n", \
		    what, #cond, __LINE__);				\
		abort();						\
	}								\
} while (0)

static const char fuzz_config_text[] =
    "{\"socket\": \"/nonexistent/fuzz_control.sock\","
    " \"chat\": {\"admins\": [\"console:console\"], \"admin_rate\": 0},"
    " \"metrics\": {\"poll_interval\": 1, \"history_duration\": 60},"
    " \"restart\": {\"stop_timeout\": 1, \"crash_history\": 4,"
    "   \"stderr_lines\": 3},"
    " \"plugins\": ["
    "  {\"name\": \"console\", \"role\": \"connector\","
    "   \"exec\": [\"/bin/true\"], \"autostart\": false},"
    "  {\"name\": \"dice-roller\", \"exec\": [\"/bin/true\"],"
    "   \"autostart\": false},"
    "  {\"name\": \"p\", \"exec\": [\"/bin/true\", \"x\"],"
    "   \"autostart\": false, \"restart\": {\"queue_size\": 2}}]}";

static const char *const verbs[] = {
	"status", "metrics", "history", "crashes", "start", "stop", "restart",
	"reload", "tail", "system", "version", "help", "subscribe",
};
static const char *const keys[] = {
	"plugin", "window", "last", "since", "lines", "topics", "fields", "cmd",
	"x",
};
/*
 * Plugin names: the configured ones, an unknown one, one longer than the 64
 * bytes an error message keeps of a name (in 3-byte characters), and NULL
 * for no "plugin" key.
 */
static const char *const names[] = {
	"dice-roller", "console", "p", "ghost",
	"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
	"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
	"\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac",
	NULL,
};
static const char *const codes[] = {
	"invalid-json", "invalid-request", "unknown-command",
	"missing-argument", "bad-argument", "unknown-plugin", "invalid-state",
	"start-failed", "shutting-down", "not-permitted", "line-too-long",
	"config-error",
};

/*
 * cmd_execute only hands a socket request's client to control_subscribe,
 * which sets its topics: a zeroed stand-in does for the real one (its type
 * is private to control.c). It lives for the process, so after the first
 * subscribe one subscriber is counted and events are built (for nobody).
 */
static union {
	max_align_t	align;
	char		bytes[4096];
} fuzz_client;

/*
 * A start or restart forks, and forking slows down as ASan's quarantine of
 * freed memory grows (each input frees a whole daemon state): keep it small.
 * ASAN_OPTIONS still overrides this.
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_control", 0);
	return 0;
}

/*
 * A daemon state as main() sets it up, minus the socket: the server owns
 * the config; reload reads the same built-in text again.
 */
static void
fuzz_server_init(void)
{
	struct config	*cf;
	char		*cause = NULL;

	if (config_load_string(fuzz_config_text, strlen(fuzz_config_text),
	    "(fuzz_control config)", "/", NULL, &cf, &cause) != 0) {
		fprintf(stderr, "fuzz_control: %s\n", cause);
		abort();
	}
	server_init(cf, NULL);
	server->builtin_config = fuzz_config_text;
	server->builtin_config_len = strlen(fuzz_config_text);
}

/* What a reply must look like: one line of JSON, the documented shape. */
static void
write_reply(struct jsonw *text)
{
	json_error_t	 jerr;
	json_t		*reply, *ok, *err, *code;
	size_t		 i;

	CHECK(text->len > 0 && strlen(text->buf) == text->len,
	    "an empty reply, or one with a NUL byte in it");
	CHECK(memchr(text->buf, '\n', text->len) == NULL,
	    "a reply spans more than one line");
	reply = json_loadb(text->buf, text->len, JSON_REJECT_DUPLICATES, &jerr);
	CHECK(reply != NULL, "the reply is not valid JSON");
	ok = json_object_get(reply, "ok");
	CHECK(json_is_boolean(ok), "reply without a boolean ok");
	if (json_is_true(ok)) {
		CHECK(json_object_get(reply, "result") != NULL,
		    "ok reply without a result");
		json_decref(reply);
		return;
	}
	err = json_object_get(reply, "error");
	code = json_object_get(err, "code");
	CHECK(json_is_string(code), "error reply without a code");
	CHECK(json_is_string(json_object_get(err, "message")),
	    "error reply without a message");
	for (i = 0; i < nitems(codes); i++) {
		if (strcmp(json_string_value(code), codes[i]) == 0)
			break;
	}
	CHECK(i < nitems(codes), "error code not in docs/control.md");
	json_decref(reply);
}

/* control_request: parse, run, reply. */
static void
serve_line(const char *data, size_t len)
{
	struct jsonw	 reply;
	char		*line;

	/* An exact-size copy, NUL-terminated as evbuffer_readln returns it. */
	line = xmalloc(len + 1);
	memcpy(line, data, len);
	line[len] = '\0';
	jw_init(&reply);
	cmd_execute_line(line, len, (struct control_client *)&fuzz_client,
	    &reply);
	write_reply(&reply);
	jw_free(&reply);
	free(line);
}

/* control_read_cb: one request per line; an over-long line ends it all. */
static void
serve(const char *buf, size_t size)
{
	const char	*p = buf, *end = buf + size, *nl;
	size_t		 len;
	struct jsonw	 reply;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		len = (size_t)(nl - p);
		if (len > CONTROL_LINE_MAX)
			goto too_long;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > 0)
			serve_line(p, len);
		p = nl + 1;
	}
	/* An unfinished line waits for more, unless it is already too long. */
	if ((size_t)(end - p) <= CONTROL_LINE_MAX)
		return;
too_long:
	jw_init(&reply);
	cmd_write_error(&reply, "line-too-long", "request line over %d bytes; "
	    "closing", CONTROL_LINE_MAX);
	write_reply(&reply);
	jw_free(&reply);
}

/* Kill and reap what a start or restart spawned. */
static void
reap_plugins(void)
{
	struct plugin	*p;

	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->pid > 0) {
			kill(p->pid, SIGKILL);
			while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
				;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*verb, *key, *name;
	char		*buf;
	size_t		 len, off;

	if (size < 2)
		return 0;
	fuzz_server_init();
	if (data[0] % (nitems(verbs) + 1) == nitems(verbs))
		serve((const char *)data + 1, size - 1);
	else {
		verb = verbs[data[0] % (nitems(verbs) + 1)];
		key = keys[data[1] % nitems(keys)];
		name = names[(data[1] / nitems(keys)) % nitems(names)];
		if (strcmp(key, "plugin") == 0)
			name = NULL;	/* no duplicate key */
		len = size + 256;
		buf = xmalloc(len);
		off = 0;
		if (strcmp(key, "cmd") != 0) {
			off += (size_t)snprintf(buf, len, "{\"cmd\": \"%s\", ",
			    verb);
			if (name != NULL)
				off += (size_t)snprintf(buf + off, len - off,
				    "\"plugin\": \"%s\", ", name);
		} else
			buf[off++] = '{';
		off += (size_t)snprintf(buf + off, len - off, "\"%s\": ", key);
		memcpy(buf + off, data + 2, size - 2);
		off += size - 2;
		buf[off++] = '}';
		buf[off++] = '\n';
		serve(buf, off);
		free(buf);
	}
	reap_plugins();
	server_free();
	return 0;
}

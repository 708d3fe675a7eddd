/*
 * http.c: the HTTP endpoint (libevent's evhttp), read-only. Off unless the
 * config has "http"; the built-in config listens on 127.0.0.1:8421.
 *
 *   GET /metrics    Prometheus text exposition (0.0.4), written by hand
 *   GET /api/VERB[/PLUGIN][?key=value&...]   the read-only verbs of the
 *                   command table (CMD_READ), the control socket's JSON
 *   GET /events[?topics=state,crash,sample&plugin=NAME]   Server-Sent
 *                   Events: the lines control.c publishes to subscribers
 *   GET /healthz, /readyz   for load balancers and service checks
 *   GET /           the dashboard (dashboard.html, compiled in)
 *
 * With a token set (required beyond loopback: the config refuses a
 * non-loopback listen without one) every request needs "Authorization:
 * Bearer TOKEN", compared in constant time. Bounded like the control socket: request line and headers at most
 * HTTP_HEADERS_MAX bytes, URIs HTTP_URI_MAX, no bodies, at most
 * http.max_connections connections (counted from accept to close, see
 * http_conn_sweep), at most http.max_events_clients event streams,
 * each dropped once HTTP_STREAM_MAX bytes wait unread for it, idle
 * connections closed after http.idle_timeout.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "metrics/metrics.h"
#include "supervisor/http.h"
#include "supervisor/supervisor.h"

/*
 * Request line plus headers: 8 KiB, what common servers allow (nginx's
 * large_client_header_buffers, Apache's LimitRequestLine); a browser's
 * dashboard request is under 1 KiB.
 */
#define HTTP_HEADERS_MAX	8192
/* A URI longer than this is refused with 414 (ours need < 300 bytes). */
#define HTTP_URI_MAX		2048
/*
 * Bytes waiting for an /events client before it is dropped: 256 KiB is a
 * minute of sample events for ~40 plugins; a reader that keeps up never
 * holds more than a tick's worth.
 */
#define HTTP_STREAM_MAX		(256 * 1024)
/* Kernel send buffer of an event stream's socket. */
#define HTTP_STREAM_SNDBUF	(64 * 1024)
/* s between comments on an idle event stream: proxies and dead peers. */
#define HTTP_STREAM_PING	15

/* A connection, from accept to close: the cap counts these. */
struct http_conn {
	struct bufferevent		*bev;		/* what evhttp uses */
	int				 over;		/* accepted over the cap */
	TAILQ_ENTRY(http_conn)		 entry;
};
TAILQ_HEAD(http_conns, http_conn);

/* An /events client. */
struct http_stream {
	struct evhttp_request		*req;
	struct evhttp_connection	*evcon;
	int				 topics;
	char				*filter;	/* a plugin name, or NULL */
	TAILQ_ENTRY(http_stream)	 entry;
};
TAILQ_HEAD(http_streams, http_stream);

static struct evhttp		*http_server;
static struct evhttp_bound_socket *http_socket;
static struct event		*http_ping_ev;
static struct event		*http_resume_ev;
static struct event		*http_sweep_ev;
static struct http_conns	 http_conns = TAILQ_HEAD_INITIALIZER(http_conns);
static size_t			 http_nconns;
static struct http_streams	 http_streams =
    TAILQ_HEAD_INITIALIZER(http_streams);
static size_t			 http_nstream;
static uint64_t			 http_refused;	/* over the cap, logged once
						   per HTTP_LOG_INTERVAL */
static double			 http_refused_logged;

/* The page at /, compiled into the daemon's binary (main.c hands it). */
static const char	*http_page;
static size_t		 http_page_len;

/* Topic names of /events, as subscribe's. */
static const struct {
	const char	*name;
	int		 bit;
} http_topics[] = {
	{ "state", TOPIC_STATE },
	{ "crash", TOPIC_CRASH },
	{ "sample", TOPIC_SAMPLE },
	{ "alert", TOPIC_ALERT },
	{ "log", TOPIC_LOG },
};

size_t
http_nstreams(void)
{
	return http_nstream;
}

/* ---- Request parsing: pure, fuzzed (tests/fuzz/fuzz_http.c). ---- */

static int
http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s[0..n) into out (size bytes, NUL-terminated); '+' is a
 * space in a query. -1 for a bad escape, a NUL byte or too long a result.
 */
static int
http_decode(const char *s, size_t n, int plus, char *out, size_t size)
{
	size_t	i, o = 0;
	int	hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			hi = http_hexval((unsigned char)s[i + 1]);
			lo = http_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == 0 || o + 1 >= size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * Split a query string into at most HTTP_QUERY_MAX decoded pairs. A key
 * given twice, a key or value too long, or a bad escape is an error in
 * why. NULL or "" is no pairs.
 */
int
http_parse_query(const char *q, struct http_query *out, char *why,
    size_t whylen)
{
	const char	*p, *amp, *eq, *end;
	size_t		 i;

	memset(out, 0, sizeof *out);
	if (q == NULL)
		return 0;
	end = q + strlen(q);
	for (p = q; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		if (out->n == HTTP_QUERY_MAX) {
			snprintf(why, whylen, "more than %d query parameters",
			    HTTP_QUERY_MAX);
			return -1;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if (http_decode(p, (size_t)(eq - p), 1, out->key[out->n],
		    sizeof out->key[0]) == -1 || out->key[out->n][0] == '\0') {
			snprintf(why, whylen, "a query parameter name is empty, "
			    "over %zu bytes or badly escaped",
			    sizeof out->key[0] - 1);
			return -1;
		}
		if (http_decode(eq < amp ? eq + 1 : amp, eq < amp ?
		    (size_t)(amp - eq - 1) : 0, 1, out->value[out->n],
		    sizeof out->value[0]) == -1) {
			snprintf(why, whylen, "the value of query parameter %.32s "
			    "is over %zu bytes or badly escaped",
			    out->key[out->n], sizeof out->value[0] - 1);
			return -1;
		}
		for (i = 0; i < out->n; i++) {
			if (strcmp(out->key[i], out->key[out->n]) == 0) {
				snprintf(why, whylen, "query parameter %.32s "
				    "given twice", out->key[i]);
				return -1;
			}
		}
		out->n++;
		if (amp == end)
			break;
	}
	return 0;
}

/* The value of a query parameter, or NULL. */
const char *
http_query_get(const struct http_query *q, const char *key)
{
	size_t	i;

	for (i = 0; i < q->n; i++) {
		if (strcmp(q->key[i], key) == 0)
			return q->value[i];
	}
	return NULL;
}

/*
 * Which page a path is, and for /api/VERB[/NAME] the verb and name
 * (decoded). Paths are compared whole: "/metrics/" is not "/metrics".
 */
enum http_route
http_route(const char *path, char *verb, size_t verblen, char *name,
    size_t namelen)
{
	const char	*v, *slash;

	verb[0] = name[0] = '\0';
	if (path == NULL || *path == '\0' || strcmp(path, "/") == 0 ||
	    strcmp(path, "/index.html") == 0)
		return HTTP_ROUTE_DASHBOARD;
	if (strcmp(path, "/metrics") == 0)
		return HTTP_ROUTE_METRICS;
	if (strcmp(path, "/events") == 0)
		return HTTP_ROUTE_EVENTS;
	if (strcmp(path, "/healthz") == 0)
		return HTTP_ROUTE_HEALTHZ;
	if (strcmp(path, "/readyz") == 0)
		return HTTP_ROUTE_READYZ;
	if (strcmp(path, "/api") == 0 || strcmp(path, "/api/") == 0)
		return HTTP_ROUTE_API_INDEX;
	if (strncmp(path, "/api/", 5) != 0)
		return HTTP_ROUTE_NONE;
	v = path + 5;
	if ((slash = strchr(v, '/')) == NULL)
		slash = v + strlen(v);
	if (http_decode(v, (size_t)(slash - v), 0, verb, verblen) == -1 ||
	    verb[0] == '\0')
		goto none;
	if (*slash == '/') {
		if (strchr(slash + 1, '/') != NULL ||
		    http_decode(slash + 1, strlen(slash + 1), 0, name,
		    namelen) == -1 || name[0] == '\0')
			goto none;
	}
	return HTTP_ROUTE_API;
none:
	verb[0] = name[0] = '\0';
	return HTTP_ROUTE_NONE;
}

/*
 * 1 if key is one of a verb's request keys: a lower-case word of its args
 * or cli_args ("plugin [last N | since WINDOW]" takes plugin, last and
 * since; "--fields" is fields), so the table says what a verb takes.
 */
int
http_verb_takes(const struct verb *ve, const char *key)
{
	const char	*lists[2] = { ve->args, ve->cli_args };
	const char	*s, *w;
	size_t		 i, n;

	for (i = 0; i < 2; i++) {
		if ((s = lists[i]) == NULL)
			continue;
		while (*s != '\0') {
			while (*s != '\0' && (*s < 'a' || *s > 'z'))
				s++;
			for (w = s; (*s >= 'a' && *s <= 'z') || *s == '_'; s++)
				;
			n = (size_t)(s - w);
			/* One letter is a CLI flag (-f), not a key. */
			if (n > 1 && strlen(key) == n &&
			    strncmp(w, key, n) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * The request object for /api/VERB[/NAME]?query, as a control client would
 * send it: the name is "plugin", each parameter a key the verb takes; a
 * value of digits is a number, "fields" a comma-separated list. NULL and
 * why for what the verb does not take.
 */
json_t *
http_api_request(const struct verb *ve, const char *name,
    const struct http_query *q, char *why, size_t whylen)
{
	json_t		*req, *list;
	const char	*v, *c;
	size_t		 i, n;

	req = json_pack("{s:s}", "cmd", ve->name);
	if (name != NULL && name[0] != '\0') {
		if (!http_verb_takes(ve, "plugin")) {
			snprintf(why, whylen, "%s takes no plugin name",
			    ve->name);
			json_decref(req);
			return NULL;
		}
		json_object_set_new(req, "plugin", json_string(name));
	}
	for (i = 0; i < q->n; i++) {
		if (!http_verb_takes(ve, q->key[i])) {
			snprintf(why, whylen, "%s takes no parameter \"%.32s\" "
			    "(it takes: %s)", ve->name, q->key[i],
			    ve->args[0] ? ve->args : "nothing");
			json_decref(req);
			return NULL;
		}
		if (json_object_get(req, q->key[i]) != NULL) {
			snprintf(why, whylen, "%.32s given twice", q->key[i]);
			json_decref(req);
			return NULL;
		}
		v = q->value[i];
		n = strspn(v, "0123456789");
		if (strcmp(q->key[i], "fields") == 0) {
			list = json_array();
			for (c = v; *c != '\0'; c += *c == ',') {
				n = strcspn(c, ",");
				json_array_append_new(list, json_stringn(c, n));
				c += n;
			}
			json_object_set_new(req, "fields", list);
		} else if (n > 0 && n <= 9 && v[n] == '\0')
			json_object_set_new(req, q->key[i],
			    json_integer(strtoll(v, NULL, 10)));
		else if (json_object_set_new(req, q->key[i],
		    json_string(v)) == -1) {
			snprintf(why, whylen, "the value of %.32s is not UTF-8",
			    q->key[i]);
			json_decref(req);
			return NULL;
		}
	}
	return req;
}

/* Topics named in a comma-separated list; -1 and why for an unknown one. */
int
http_parse_topics(const char *s, int *topics, char *why, size_t whylen)
{
	size_t	n, i;

	*topics = 0;
	if (s == NULL) {
		*topics = TOPIC_STATE | TOPIC_CRASH | TOPIC_SAMPLE |
		    TOPIC_ALERT;
		return 0;
	}
	for (;;) {
		n = strcspn(s, ",");
		for (i = 0; i < nitems(http_topics); i++) {
			if (strlen(http_topics[i].name) == n &&
			    strncmp(s, http_topics[i].name, n) == 0)
				break;
		}
		if (i == nitems(http_topics)) {
			snprintf(why, whylen, "unknown topic \"%.*s\"; topics "
			    "are: state, crash, sample, alert, log", n > 32 ? 32 : (int)n,
			    s);
			return -1;
		}
		*topics |= http_topics[i].bit;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

/* 1 if a and b are equal, in time that depends on their lengths only. */
int
http_token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char	d = alen != blen;
	size_t		i;

	for (i = 0; i < alen; i++)
		d |= (unsigned char)(a[i] ^ b[blen ? i % blen : 0]);
	return d == 0;
}

/* ---- Replies. ---- */

/*
 * Send a reply; to HEAD, its headers only (evhttp 2.1 would send the body),
 * with the length the body would have.
 */
void
http_send(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *body)
{
	struct evbuffer	*none;
	char		 len[32];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_reply(req, code, reason, body);
		return;
	}
	snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
	evhttp_remove_header(evhttp_request_get_output_headers(req),
	    "Content-Length");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Length", len);
	none = evbuffer_new();
	evhttp_send_reply(req, code, reason, none);
	evbuffer_free(none);
}

/* A short error reply: text, or the API's JSON error for /api/. */
static void
http_error(struct evhttp_request *req, int code, const char *reason,
    int json, const char *errcode, const char *fmt, ...) printflike(6, 7);

static void
http_error(struct evhttp_request *req, int code, const char *reason,
    int json, const char *errcode, const char *fmt, ...)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();
	struct jsonw		 w;
	char			 msg[512];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json) {
		jw_init(&w);
		cmd_write_error(&w, errcode, "%s", msg);
		jw_raw(&w, "\n", 1);
		evbuffer_add(b, w.buf, w.len);
		jw_free(&w);
		evhttp_add_header(h, "Content-Type", "application/json");
	} else {
		evbuffer_add_printf(b, "%d %s: %s\n", code, reason, msg);
		evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	}
	evhttp_add_header(h, "Cache-Control", "no-store");
	http_send(req, code, reason, b);
	evbuffer_free(b);
}

/* A whole reply from memory. */
static void
http_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evbuffer_add(b, body, len);
	http_send(req, code, reason, b);
	evbuffer_free(b);
}

/* /api/...: a read-only verb through the command table. */
static void
http_api(struct evhttp_request *req, const char *verbname, const char *name,
    const struct http_query *q)
{
	const struct verb	*ve;
	struct jsonw		 w;
	json_t			*r, *err;
	const char		*code;
	char			 why[256];
	int			 status = 200;

	if ((ve = verb_find(verbname)) == NULL) {
		http_error(req, 404, "Not Found", 1, "unknown-command",
		    "unknown command \"%.64s\"; GET /api lists the verbs",
		    verbname);
		return;
	}
	if (!(ve->flags & CMD_READ)) {
		http_error(req, 403, "Forbidden", 1, "read-only",
		    "%s changes the daemon; the HTTP endpoint is read-only "
		    "(use supervisorctl)", ve->name);
		return;
	}
	if ((r = http_api_request(ve, name, q, why, sizeof why)) == NULL) {
		http_error(req, 400, "Bad Request", 1, "bad-argument", "%s",
		    why);
		return;
	}
	jw_init(&w);
	cmd_execute(r, NULL, NULL, &w);
	json_decref(r);
	/* The status code follows the error's code. */
	if (strncmp(w.buf, "{\"ok\":false", 11) == 0 &&
	    (r = json_loadb(w.buf, w.len, 0, NULL)) != NULL) {
		err = json_object_get(r, "error");
		code = json_string_value(json_object_get(err, "code"));
		if (code != NULL && strncmp(code, "unknown-", 8) == 0)
			status = 404;
		else if (code != NULL && strcmp(code, "not-permitted") == 0)
			status = 403;
		else
			status = 400;
		json_decref(r);
	}
	jw_raw(&w, "\n", 1);
	http_reply(req, status, status == 200 ? "OK" : status == 404 ?
	    "Not Found" : status == 403 ? "Forbidden" : "Bad Request",
	    "application/json", w.buf, w.len);
	jw_free(&w);
}

/* /api: the verbs served here. */
static void
http_api_index(struct evhttp_request *req)
{
	struct jsonw	w;
	size_t		i;

	jw_init(&w);
	jw_raw(&w, "{\"ok\":true,\"result\":", 20);
	jw_open_object(&w);
	jw_key(&w, "verbs");
	jw_open_array(&w);
	for (i = 0; i < VERB_COUNT; i++) {
		if (!(verb_table[i].flags & CMD_READ))
			continue;
		jw_open_object(&w);
		jw_key(&w, "name"), jw_string(&w, verb_table[i].name);
		jw_key(&w, "args"), jw_string(&w, verb_table[i].args);
		jw_key(&w, "usage"), jw_string(&w, verb_table[i].usage);
		jw_close_object(&w);
	}
	jw_close_array(&w);
	jw_close_object(&w);
	jw_raw(&w, "}\n", 2);
	http_reply(req, 200, "OK", "application/json", w.buf, w.len);
	jw_free(&w);
}

/* /healthz: 200 while serving (503 once stopping), with FATAL plugins. */
static void
http_healthz(struct evhttp_request *req)
{
	struct plugin	*p;
	struct jsonw	 w;
	size_t		 running = 0, fatal = 0;

	jw_init(&w);
	jw_open_object(&w);
	jw_key(&w, "status");
	jw_string(&w, server->shutting_down ? "stopping" : "ok");
	jw_key(&w, "fatal");
	jw_open_array(&w);
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->state == PLUGIN_FATAL) {
			jw_string(&w, p->name);
			fatal++;
		}
		if (plugin_serving(p))
			running++;
	}
	jw_close_array(&w);
	jw_key(&w, "any_fatal"), jw_bool(&w, fatal > 0);
	jw_key(&w, "plugins"), jw_int(&w, (long long)hmap_count(server->by_name));
	jw_key(&w, "running"), jw_int(&w, (long long)running);
	jw_key(&w, "uptime_seconds"), jw_fixed(&w, clock_mono() -
	    server->started_mono, 1);
	jw_close_object(&w);
	jw_raw(&w, "\n", 1);
	http_reply(req, server->shutting_down ? 503 : 200,
	    server->shutting_down ? "Service Unavailable" : "OK",
	    "application/json", w.buf, w.len);
	jw_free(&w);
}

/*
 * /readyz: 200 once the start is over (no plugin in its first STARTING)
 * and until the daemon stops; 503 with the reason otherwise.
 */
static void
http_readyz(struct evhttp_request *req)
{
	struct plugin	*p;
	const char	*why = NULL;
	char		 buf[160];

	if (server->shutting_down)
		why = "the daemon is stopping";
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (why == NULL && p->state == PLUGIN_STARTING &&
		    p->starts <= 1) {
			snprintf(buf, sizeof buf, "plugin %s is starting",
			    p->name);
			why = buf;
		}
	}
	if (why != NULL) {
		http_error(req, 503, "Service Unavailable", 0, NULL, "%s", why);
		return;
	}
	http_reply(req, 200, "OK", "text/plain; charset=utf-8", "ready\n", 6);
}

/* / : the dashboard. */
static void
http_dashboard(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	/* Nothing from elsewhere: the page works offline, and says so. */
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'; "
	    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
	    "img-src 'self' data:; frame-ancestors 'none'");
	evbuffer_add_reference(b, http_page, http_page_len, NULL, NULL);
	http_send(req, 200, "OK", b);
	evbuffer_free(b);
}

/* ---- /events. ---- */

static void
http_stream_free(struct http_stream *s)
{
	TAILQ_REMOVE(&http_streams, s, entry);
	http_nstream--;
	free(s->filter);
	free(s);
}

/*
 * The client went away: forget its stream. evhttp calls this before it
 * frees the connection's requests; but a request whose connection failed
 * (end of file, timeout) before the reply was ended has been taken off the
 * connection already (evhttp leaves it to its owner), so it is freed here.
 */
static void
http_stream_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_stream	*s = arg;

	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_request_free(s->req);
	http_stream_free(s);
}

/* Drop a stream whose client does not read; its connection closes. */
static void
http_stream_drop(struct http_stream *s, const char *why)
{
	struct evhttp_connection	*evcon = s->evcon;
	char				 peer[64] = "?";
	char				*addr = NULL;
	ev_uint16_t			 port = 0;

	evhttp_connection_get_peer(evcon, &addr, &port);
	if (addr != NULL)
		snprintf(peer, sizeof peer, "%s:%u", addr, port);
	log_warnx("http: events client %s dropped: %s", peer, why);
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	http_stream_free(s);
	evhttp_connection_free(evcon);
}

/* Queue text for a stream, or drop it if too much waits unread. */
static int
http_stream_send(struct http_stream *s, const char *text, size_t len)
{
	struct bufferevent	*bev = evhttp_connection_get_bufferevent(s->evcon);
	struct evbuffer		*b;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > HTTP_STREAM_MAX) {
		http_stream_drop(s, "not reading (over 256 KiB of events "
		    "waiting)");
		return -1;
	}
	b = evbuffer_new();
	evbuffer_add(b, text, len);
	evhttp_send_reply_chunk(s->req, b);
	evbuffer_free(b);
	return 0;
}

/*
 * An event published by control.c (a JSON line) to every stream of its
 * topic whose filter lets it through, as "event: NAME\ndata: JSON\n\n".
 */
void
http_publish(int topic, const char *plugin, const char *line, size_t len)
{
	struct http_stream	*s, *next;
	struct jsonw		 w;
	size_t			 i;

	if (http_nstream == 0)
		return;
	while (len > 0 && line[len - 1] == '\n')
		len--;
	jw_init(&w);
	for (i = 0; i < nitems(http_topics); i++) {
		if (http_topics[i].bit == topic)
			break;
	}
	if (i == nitems(http_topics))
		return;
	jw_raw(&w, "event: ", 7);
	jw_raw(&w, http_topics[i].name, strlen(http_topics[i].name));
	jw_raw(&w, "\ndata: ", 7);
	jw_raw(&w, line, len);
	jw_raw(&w, "\n\n", 2);
	TAILQ_FOREACH_SAFE(s, &http_streams, entry, next) {
		if (!(s->topics & topic))
			continue;
		if (s->filter != NULL && plugin != NULL &&
		    strcmp(s->filter, plugin) != 0)
			continue;
		http_stream_send(s, w.buf, w.len);
	}
	jw_free(&w);
}

/* Every HTTP_STREAM_PING s: a comment to each stream (finds dead peers). */
static void
http_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_stream	*s, *next;

	TAILQ_FOREACH_SAFE(s, &http_streams, entry, next)
		http_stream_send(s, ": ping\n\n", 8);
}

/*
 * A stream's connection: no read timeout (a follower sends nothing, and
 * evhttp keeps reading to see it close), a write timeout of
 * http.idle_timeout (a peer that takes nothing that long is gone), and a
 * send buffer of HTTP_STREAM_SNDBUF, so what waits for a slow reader is
 * bounded by HTTP_STREAM_MAX here plus that, not the kernel's autotuned
 * megabytes; and no Nagle delay.
 */
static void
http_stream_bounds(struct http_stream *s)
{
	struct bufferevent	*bev = evhttp_connection_get_bufferevent(s->evcon);
	struct timeval		 tv = clock_timeval(
	    server->config->http.idle_timeout);
	int			 size = HTTP_STREAM_SNDBUF, on = 1;

	bufferevent_set_timeouts(bev, NULL, &tv);
	(void)setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &size,
	    sizeof size);
	/* An event goes out at once, not held back for the peer's ACK. */
	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &on,
	    sizeof on);
}

/* /events: start a stream. */
static void
http_events(struct evhttp_request *req, const struct http_query *q)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct http_stream	*s;
	struct plugin		*p = NULL;
	const char		*name;
	char			 why[160], hello[160];
	int			 topics;
	size_t			 i;

	for (i = 0; i < q->n; i++) {
		if (strcmp(q->key[i], "topics") != 0 &&
		    strcmp(q->key[i], "plugin") != 0) {
			http_error(req, 400, "Bad Request", 0, NULL, "unknown "
			    "parameter \"%.32s\" (events takes topics and "
			    "plugin)", q->key[i]);
			return;
		}
	}
	if (http_parse_topics(http_query_get(q, "topics"), &topics, why,
	    sizeof why) == -1) {
		http_error(req, 400, "Bad Request", 0, NULL, "%s", why);
		return;
	}
	if ((name = http_query_get(q, "plugin")) != NULL &&
	    (p = server_find_plugin(name)) == NULL) {
		http_error(req, 404, "Not Found", 0, NULL, "no plugin named "
		    "\"%.64s\"", name);
		return;
	}
	if (http_nstream >= server->config->http.max_events_clients) {
		http_error(req, 503, "Service Unavailable", 0, NULL, "%zu event "
		    "streams already (http.max_events_clients)", http_nstream);
		return;
	}
	s = xcalloc(1, sizeof *s);
	s->req = req;
	s->evcon = evhttp_request_get_connection(req);
	s->topics = topics;
	s->filter = p != NULL ? xstrdup(p->name) : NULL;
	TAILQ_INSERT_TAIL(&http_streams, s, entry);
	http_nstream++;
	evhttp_connection_set_closecb(s->evcon, http_stream_closed_cb, s);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	http_stream_bounds(s);
	snprintf(hello, sizeof hello, "retry: 3000\n: supervisor %s events "
	    "(%s%s%s)\n\n", SUPERVISOR_VERSION, (topics & TOPIC_STATE) ?
	    "state " : "", (topics & TOPIC_CRASH) ? "crash " : "",
	    (topics & TOPIC_SAMPLE) ? "sample" : "");
	http_stream_send(s, hello, strlen(hello));
}

/* ---- The request handler. ---- */

/* 1 if the request carries the configured token (or none is needed). */
static int
http_authorized(struct evhttp_request *req)
{
	const char	*tok = server->config->http.token;
	const char	*a;

	if (tok == NULL)
		return 1;
	a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	while (*a == ' ')
		a++;
	return http_token_equal(a, strlen(a), tok, strlen(tok));
}

/* The connection a request came on, if it was accepted over the cap. */
static int
http_over_cap(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	struct http_conn		*c;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return 0;
	bev = evhttp_connection_get_bufferevent(evcon);
	TAILQ_FOREACH(c, &http_conns, entry) {
		if (c->bev == bev)
			return c->over;
	}
	return 0;
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*raw = evhttp_request_get_uri(req);
	struct http_query	 q;
	enum http_route		 route;
	char			 verb[64], name[128], why[160];
	int			 method = evhttp_request_get_command(req);

	if (http_over_cap(req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_error(req, 503, "Service Unavailable", 0, NULL, "%zu "
		    "connections already (http.max_connections)",
		    server->config->http.max_connections);
		return;
	}
	if (raw == NULL || strlen(raw) > HTTP_URI_MAX) {
		http_error(req, 414, "URI Too Long", 0, NULL, "the URI is over "
		    "%d bytes", HTTP_URI_MAX);
		return;
	}
	if (!http_authorized(req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"supervisor\"");
		http_error(req, 401, "Unauthorized", 0, NULL, "this endpoint "
		    "needs Authorization: Bearer TOKEN (http.token)");
		return;
	}
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_error(req, 405, "Method Not Allowed", 0, NULL, "the HTTP "
		    "endpoint is read-only: GET or HEAD only");
		return;
	}
	if (uri == NULL) {
		http_error(req, 400, "Bad Request", 0, NULL, "a URI that does "
		    "not parse");
		return;
	}
	route = http_route(evhttp_uri_get_path(uri), verb, sizeof verb, name,
	    sizeof name);
	if (route == HTTP_ROUTE_NONE) {
		http_error(req, 404, "Not Found", 0, NULL, "no such page; try "
		    "/, /metrics, /api, /events, /healthz or /readyz");
		return;
	}
	if (http_parse_query(evhttp_uri_get_query(uri), &q, why,
	    sizeof why) == -1) {
		http_error(req, 400, "Bad Request", route == HTTP_ROUTE_API,
		    "bad-argument", "%s", why);
		return;
	}
	switch (route) {
	case HTTP_ROUTE_DASHBOARD:
		http_dashboard(req);
		break;
	case HTTP_ROUTE_METRICS:
		http_metrics(req);
		break;
	case HTTP_ROUTE_EVENTS:
		if (method == EVHTTP_REQ_HEAD)
			http_reply(req, 200, "OK", "text/event-stream", "", 0);
		else
			http_events(req, &q);
		break;
	case HTTP_ROUTE_HEALTHZ:
		http_healthz(req);
		break;
	case HTTP_ROUTE_READYZ:
		http_readyz(req);
		break;
	case HTTP_ROUTE_API_INDEX:
		http_api_index(req);
		break;
	case HTTP_ROUTE_API:
		http_api(req, verb, name, &q);
		break;
	case HTTP_ROUTE_NONE:
		break;
	}
}

/* ---- Connections. ---- */

/*
 * Connections are counted from accept to close. evhttp 2.1 has no hook on
 * either end but the one that makes a connection's bufferevent
 * (evhttp_set_bevcb): each one made there is kept with a reference of our
 * own. When evhttp is done with a connection it shuts the socket down for
 * writing (the peer sees the end at once) and frees the bufferevent, which
 * clears its callbacks; with our reference it lives on until the next
 * sweep (each accept, and every second) drops it, closing the socket.
 */
static void
http_conn_sweep(void)
{
	struct http_conn	*c, *next;
	bufferevent_data_cb	 rcb, wcb;
	bufferevent_event_cb	 ecb;
	void			*arg;

	TAILQ_FOREACH_SAFE(c, &http_conns, entry, next) {
		bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &arg);
		if (rcb != NULL || wcb != NULL || ecb != NULL || arg != NULL)
			continue;
		TAILQ_REMOVE(&http_conns, c, entry);
		http_nconns--;
		bufferevent_decref(c->bev);
		free(c);
	}
}

/* Every second: close what evhttp has let go of. */
static void
http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	http_conn_sweep();
}

/*
 * evhttp asks for a new connection's bufferevent. Over the cap the
 * connection is still made (evhttp gives no way to refuse here), marked:
 * its request gets 503 and it is closed; one that sends nothing is closed
 * after idle_timeout like any other.
 */
static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;
	struct http_conn	*c;
	double			 now;

	http_conn_sweep();
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("bufferevent_socket_new failed");
	bufferevent_incref(bev);
	c = xcalloc(1, sizeof *c);
	c->bev = bev;
	c->over = http_nconns >= server->config->http.max_connections;
	TAILQ_INSERT_TAIL(&http_conns, c, entry);
	http_nconns++;
	if (c->over) {
		http_refused++;
		now = clock_mono();
		if (now - http_refused_logged >= 10) {
			log_warnx("http: %llu connection(s) over the cap of %zu "
			    "(http.max_connections) answered 503",
			    (unsigned long long)http_refused,
			    server->config->http.max_connections);
			http_refused = 0;
			http_refused_logged = now;
		}
	}
	return bev;
}

/* Accepting again after running out of descriptors. */
static void
http_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	if (http_socket != NULL)
		evconnlistener_enable(evhttp_bound_socket_get_listener(
		    http_socket));
}

/* accept(2) failed (out of descriptors): pause for 100 ms, not spin. */
static void
http_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 0, 100 * 1000 };

	log_warn("http: accept");
	evconnlistener_disable(l);
	evtimer_add(http_resume_ev, &tv);
}

/*
 * A listening socket at the config's numeric address. Bound here rather
 * than by evhttp_bind_socket, whose getaddrinfo(3) pulls in glibc's NSS
 * modules: about 270 KiB more resident for an address already parsed.
 */
static int
http_listen(const struct http_config *hc)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	int			 fd, on = 1, err;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, hc->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)hc->port);
		len = sizeof *sin;
	} else if (inet_pton(AF_INET6, hc->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)hc->port);
		len = sizeof *sin6;
	} else {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 128) == -1) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Listen where the config says, if it says so. */
void
http_init(const char *page, size_t len)
{
	const struct http_config	*hc = &server->config->http;
	struct timeval			 tv;
	int				 fd;

	if (!hc->enabled)
		return;
	http_page = page;
	http_page_len = len;
	if ((http_server = evhttp_new(server->base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_max_headers_size(http_server, HTTP_HEADERS_MAX);
	/* GET and HEAD have no body; another method is refused anyway. */
	evhttp_set_max_body_size(http_server, 1024);
	/* Every method reaches the handler, which answers 405. */
	evhttp_set_allowed_methods(http_server, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	tv = clock_timeval(hc->idle_timeout);
	evhttp_set_timeout_tv(http_server, &tv);
	evhttp_set_bevcb(http_server, http_bev_cb, NULL);
	evhttp_set_gencb(http_server, http_request_cb, NULL);
	/*
	 * A port taken is the endpoint's problem, not the bot's: the daemon
	 * runs on without it (say a second daemon on the built-in config),
	 * and says so.
	 */
	if ((fd = http_listen(hc)) == -1) {
		log_warnx("http: cannot listen on %s: %s; the HTTP endpoint is "
		    "off", hc->listen, strerror(errno));
		evhttp_free(http_server);
		http_server = NULL;
		return;
	}
	if ((http_socket = evhttp_accept_socket_with_handle(http_server,
	    fd)) == NULL)
		fatalx("evhttp_accept_socket_with_handle failed");
	http_resume_ev = evtimer_new(server->base, http_resume_cb, NULL);
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(
	    http_socket), http_accept_error_cb);
	http_ping_ev = event_new(server->base, -1, EV_PERSIST, http_ping_cb,
	    NULL);
	tv.tv_sec = HTTP_STREAM_PING;
	tv.tv_usec = 0;
	event_add(http_ping_ev, &tv);
	http_sweep_ev = event_new(server->base, -1, EV_PERSIST, http_sweep_cb,
	    NULL);
	tv.tv_sec = 1;
	event_add(http_sweep_ev, &tv);
	log_info("http: listening on http://%s/%s", hc->listen, hc->token ?
	    " (bearer token required)" : "");
}

/* Daemon stopping: end every event stream, so clients see it. */
void
http_shutdown(void)
{
	struct http_stream	*s;

	while ((s = TAILQ_FIRST(&http_streams)) != NULL) {
		evhttp_connection_set_closecb(s->evcon, NULL, NULL);
		evhttp_send_reply_end(s->req);
		http_stream_free(s);
	}
}

void
http_free(void)
{
	http_shutdown();
	if (http_server != NULL) {
		evhttp_free(http_server);
		http_server = NULL;
		http_socket = NULL;
	}
	http_conn_sweep();
	if (http_sweep_ev != NULL)
		event_free(http_sweep_ev);
	http_sweep_ev = NULL;
	if (http_ping_ev != NULL)
		event_free(http_ping_ev);
	if (http_resume_ev != NULL)
		event_free(http_resume_ev);
	http_ping_ev = http_resume_ev = NULL;
}

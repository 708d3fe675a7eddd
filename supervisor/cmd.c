/*
 * cmd.c: what the verbs do. Every verb of the table (VERB_LIST in
 * verbs.h: its name, arguments, flags and formatters) is implemented once,
 * here, as cmd_NAME, a function from a JSON request to a JSON result; the
 * control socket, supervisorctl (through the socket) and !admin in chat all
 * come through cmd_execute. Adding a verb is one entry in VERB_LIST and one
 * function here. (tmux's cmd-*.c and cmd.c are the model.)
 */
#include <sys/resource.h>

#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "supervisor/alert.h"
#include "supervisor/supervisor.h"

/* Points in a metrics series, for sparklines. */
#define CMD_SERIES_POINTS	60
/* Most samples one history request returns. */
#define CMD_HISTORY_MAX		100000

typedef int	cmd_exec_fn(struct cmd_ctx *, json_t **, struct cmd_error *);

#define CMD_DECLARE(name, ...)	static cmd_exec_fn cmd_##name;
VERB_LIST(CMD_DECLARE)
#undef CMD_DECLARE

/* cmd_NAME of every verb, in verb_table's order. */
#define CMD_EXEC(name, ...)	cmd_##name,
static cmd_exec_fn *const cmd_exec[VERB_COUNT] = {
	VERB_LIST(CMD_EXEC)
};
#undef CMD_EXEC

static int
cmd_fail(struct cmd_error *err, const char *code, const char *fmt, ...)
    printflike(3, 4);

/* Fill an error and return -1. */
static int
cmd_fail(struct cmd_error *err, const char *code, const char *fmt, ...)
{
	va_list	ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	utf8_sanitize(err->message);
	return -1;
}

/* Write an error reply: {"ok": false, "error": {"code", "message"}}. */
void
cmd_write_error(struct jsonw *w, const char *code, const char *fmt, ...)
{
	char	message[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	jw_open_object(w);
	jw_key(w, "ok"), jw_bool(w, 0);
	jw_key(w, "error");
	jw_open_object(w);
	jw_key(w, "code"), jw_string(w, code);
	jw_key(w, "message"), jw_string(w, message);
	jw_close_object(w);
	jw_close_object(w);
}

/* A number rounded to 2 places, as the spec's to_dict does. */
static json_t *
json_round2(double v)
{
	return json_real(round_nearest(v * 100) / 100);
}

static json_t *
json_stats(const struct metrics_stats *s)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "avg", json_round2(s->avg),
	    "min", json_round2(s->min), "max", json_round2(s->max),
	    "p95", json_round2(s->p95));
}

/* The spec's MetricAggregates.to_dict(), plus the counts behind it. */
json_t *
json_aggregates(const char *name, const struct metrics_aggregates *a)
{
	json_t	*j;

	j = json_pack("{s:s, s:I, s:I, s:o}", "plugin_name", name,
	    "sample_count", (json_int_t)a->sample_count,
	    "cpu_samples", (json_int_t)a->cpu_samples,
	    "time_span_seconds", json_real(round_nearest(a->time_span_seconds * 10) / 10));
	json_object_set_new(j, "cpu", a->cpu_samples ? json_stats(&a->cpu) :
	    json_null());
	json_object_set_new(j, "memory_mb", a->memory_samples ?
	    json_stats(&a->memory_mb) : json_null());
	json_object_set_new(j, "events", json_integer(a->events));
	json_object_set_new(j, "events_per_minute",
	    json_round2(a->events_per_minute));
	return j;
}

/* One sample as JSON; cpu_percent is null when it had no delta. */
json_t *
json_sample(const struct sample_ring *ring, const struct metrics_sample *s)
{
	json_t	*j;

	j = json_pack("{s:o, s:s, s:I, s:I, s:I, s:i, s:I}",
	    "time", json_real(round_nearest(ring_sample_time(ring, s) * 10) / 10),
	    "state", plugin_state_name((enum plugin_state)s->state),
	    "pid", (json_int_t)s->pid,
	    "rss_bytes", (json_int_t)sample_rss_bytes(s),
	    "events", (json_int_t)s->events,
	    "threads", (int)s->threads,
	    "restarts", (json_int_t)s->restarts);
	json_object_set_new(j, "cpu_percent", sample_has_cpu(s) ?
	    json_round2(sample_cpu_percent(s)) : json_null());
	json_object_set_new(j, "memory_mb", s->pid ?
	    json_round2(sample_memory_mb(s)) : json_null());
	return j;
}

/*
 * A sample of a plugin: json_sample and the version its process said in
 * ready (null when not known: no process, or before the daemon started).
 */
json_t *
json_plugin_sample(const struct plugin *p, const struct metrics_sample *s)
{
	json_t		*j = json_sample(p->ring, s);
	const char	*v = plugin_version_at(p, (pid_t)s->pid,
	    ring_sample_time(p->ring, s));

	json_object_set_new(j, "version", v != NULL ? json_string(v) :
	    json_null());
	return j;
}

/* ISO 8601 UTC time with milliseconds. */
static json_t *
json_time_iso(double t)
{
	char		buf[64];
	struct tm	tm;
	time_t		secs = (time_t)t;

	gmtime_r(&secs, &tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)((t - (double)secs) * 1000));
	return json_string(buf);
}

json_t *
json_crash(const struct crash_record *cr)
{
	json_t	*j, *lines;
	size_t	 i;

	lines = json_array();
	for (i = 0; i < cr->nlines; i++)
		json_array_append_new(lines, json_string(cr->stderr_lines[i]));
	j = json_pack("{s:o, s:o, s:o, s:s, s:b, s:o, s:o}",
	    "time", json_real(round_nearest(cr->wall_time * 1000) / 1000),
	    "time_iso", json_time_iso(cr->wall_time),
	    "pid", cr->pid > 0 ? json_integer(cr->pid) : json_null(),
	    "reason", crash_reason_name(cr->reason),
	    "core_dumped", cr->core_dumped,
	    "uptime_seconds", json_real(round_nearest(cr->uptime * 1000) / 1000),
	    "stderr", lines);
	json_object_set_new(j, "exit_code", cr->exit_code >= 0 ?
	    json_integer(cr->exit_code) : json_null());
	json_object_set_new(j, "signal", cr->signal ?
	    json_integer(cr->signal) : json_null());
	json_object_set_new(j, "signal_name", cr->signal ?
	    json_string(metrics_signal_name(cr->signal)) : json_null());
	json_object_set_new(j, "detail", cr->detail ?
	    json_string(cr->detail) : json_null());
	return j;
}

/*
 * The fields of a status row, in the order they are written. A request may
 * name the ones it wants ("fields"); supervisorctl's table asks for nine of
 * them: 57 % of the bytes to send and parse when there were eighteen (193
 * of 338 KB for a thousand plugins), less with the fields added since.
 */
#define STATUS_FIELDS(X) \
	X(name) X(role) X(state) X(state_since) X(uptime_seconds) \
	X(uptime_human) X(restarts) X(crashes) X(starts) X(breaker) X(pid) \
	X(version) X(commands) X(cpu_percent) X(memory_mb) \
	X(tree_cpu_seconds) X(tree_memory_mb) X(events) X(queued) \
	X(output_suppressed) X(chat_lines) X(chat_lines_dropped) \
	X(history_since) X(upgrade) \
	X(sandbox)

/*
 * The parts of a row's "events" object; "fields" may name one as
 * "events.routed" (supervisorctl's table wants only that: a thousand rows
 * are 100 KB lighter without the rest).
 */
#define EVENT_FIELDS(X) \
	X(routed) X(replies) X(dropped) X(in_flight) X(dropped_by_reason) \
	X(protocol_errors)

enum event_field {
#define EVENT_ENUM(f) EF_##f,
	EVENT_FIELDS(EVENT_ENUM)
#undef EVENT_ENUM
	EF_COUNT
};

static const char *const event_field_names[] = {
#define EVENT_NAME(f) #f,
	EVENT_FIELDS(EVENT_NAME)
#undef EVENT_NAME
};

#define EF(f)		(1u << EF_##f)
#define EF_ALL		((1u << EF_COUNT) - 1)

enum status_field {
#define STATUS_ENUM(f) SF_##f,
	STATUS_FIELDS(STATUS_ENUM)
#undef STATUS_ENUM
	SF_COUNT
};
#define SF(f)		(1u << SF_##f)
#define SF_ALL		((1u << SF_COUNT) - 1)

static const char *const status_field_names[] = {
#define STATUS_NAME(f) #f,
	STATUS_FIELDS(STATUS_NAME)
#undef STATUS_NAME
};

/*
 * Status of one plugin: what `supervisorctl status` shows. Written as text:
 * the status of every plugin is the largest reply the daemon makes.
 */
static void
jw_plugin_status(struct jsonw *w, const struct plugin *p, unsigned int f,
    unsigned int ef)
{
	const struct metrics_sample	*last = ring_latest(p->ring);
	char				 human[32];
	double				 up = plugin_uptime(p);
	double				 tree_cpu = 0, tree_mem = 0;
	int				 live, tree;
	size_t				 i;

	live = p->pid > 0 && last != NULL && last->pid == (uint32_t)p->pid;
	if (w->nokeys)
		jw_open_array(w);	/* a row: the values, in column order */
	else
		jw_open_object(w);
	if (f & SF(name))
		jw_key(w, "name"), jw_string(w, p->name);
	if (f & SF(role))
		jw_key(w, "role"), jw_string(w, plugin_role_name(p->conf->role));
	if (f & SF(state))
		jw_key(w, "state"), jw_string(w, plugin_state_name(p->state));
	if (f & SF(state_since))
		jw_key(w, "state_since"), jw_fixed(w, p->state_since, 3);
	if (f & SF(uptime_seconds))
		jw_key(w, "uptime_seconds"), jw_fixed(w, up, 1);
	if (f & SF(uptime_human))
		jw_key(w, "uptime_human"), jw_string(w,
		    metrics_format_uptime(up, human, sizeof human));
	if (f & SF(restarts))
		jw_key(w, "restarts"), jw_int(w, (long long)p->restarts);
	if (f & SF(crashes))
		jw_key(w, "crashes"), jw_int(w,
		    (long long)crashlog_total(p->crashes));
	if (f & SF(starts))
		jw_key(w, "starts"), jw_int(w, (long long)p->starts);
	if (f & SF(breaker))
		jw_key(w, "breaker"), jw_string(w,
		    breaker_state_name(p->restart.breaker.state));
	if (f & SF(pid)) {
		jw_key(w, "pid");
		if (p->pid > 0)
			jw_int(w, p->pid);
		else
			jw_null(w);
	}
	if (f & SF(version))
		jw_key(w, "version"), jw_string(w, p->version[0] ? p->version :
		    NULL);
	if (f & SF(commands)) {
		jw_key(w, "commands");
		jw_open_array(w);
		for (i = 0; i < p->ncommands; i++)
			jw_string(w, p->commands[i]);
		jw_close_array(w);
	}
	if (f & SF(cpu_percent)) {
		jw_key(w, "cpu_percent");
		if (live && sample_has_cpu(last))
			jw_fixed(w, sample_cpu_percent(last), 2);
		else
			jw_null(w);
	}
	if (f & SF(memory_mb)) {
		jw_key(w, "memory_mb");
		if (live)
			jw_fixed(w, sample_memory_mb(last), 2);
		else
			jw_null(w);
	}
	if (f & (SF(tree_cpu_seconds) | SF(tree_memory_mb))) {
		/* The whole tree's, from its cgroup: null without cgroups. */
		tree = contain_usage(p, &tree_cpu, &tree_mem);
		if (f & SF(tree_cpu_seconds)) {
			jw_key(w, "tree_cpu_seconds");
			if (tree & 1)
				jw_fixed(w, tree_cpu, 3);
			else
				jw_null(w);
		}
		if (f & SF(tree_memory_mb)) {
			jw_key(w, "tree_memory_mb");
			if (tree & 2)
				jw_fixed(w, tree_mem, 2);
			else
				jw_null(w);
		}
	}
	if (f & SF(events)) {
		jw_key(w, "events");
		if (!w->nokeys)
			jw_open_object(w);
		if (ef & EF(routed))
			jw_key(w, "routed"), jw_int(w,
			    (long long)p->events_routed);
		if (ef & EF(replies))
			jw_key(w, "replies"), jw_int(w, (long long)p->replies);
		if (ef & EF(dropped))
			jw_key(w, "dropped"), jw_int(w,
			    (long long)p->events_dropped);
		if (ef & EF(in_flight))
			jw_key(w, "in_flight"), jw_int(w,
			    (long long)p->npending);
		if (ef & EF(dropped_by_reason)) {
			int	nokeys = w->nokeys;

			jw_key(w, "dropped_by_reason");
			w->nokeys = 0;	/* an object, in a row too */
			jw_open_object(w);
			for (i = 0; i < DROP_NREASONS; i++)
				jw_key(w, router_drop_reason_name(i)),
				    jw_int(w, (long long)p->dropped[i]);
			jw_close_object(w);
			w->nokeys = nokeys;
		}
		if (ef & EF(protocol_errors))
			jw_key(w, "protocol_errors"), jw_int(w,
			    (long long)p->protocol_errors);
		if (!w->nokeys)
			jw_close_object(w);
	}
	if (f & SF(queued))
		jw_key(w, "queued"), jw_int(w, (long long)p->queue_len);
	if (f & SF(output_suppressed))
		jw_key(w, "output_suppressed"), jw_int(w,
		    (long long)output_suppressed(p));
	if ((f & SF(chat_lines)) && p->conf->role == ROLE_CONNECTOR)
		jw_key(w, "chat_lines"), jw_int(w, (long long)p->chat_lines);
	else if ((f & SF(chat_lines)) && w->nokeys)
		jw_null(w);	/* a row keeps its columns */
	if ((f & SF(chat_lines_dropped)) && p->conf->role == ROLE_CONNECTOR)
		jw_key(w, "chat_lines_dropped"), jw_int(w,
		    (long long)p->chat_dropped);
	else if ((f & SF(chat_lines_dropped)) && w->nokeys)
		jw_null(w);
	if (f & SF(history_since)) {
		double	since = state_history_since(p);

		jw_key(w, "history_since");
		if (since > 0)
			jw_fixed(w, since, 1);
		else
			jw_null(w);
	}
	if (f & (SF(upgrade) | SF(sandbox))) {
		int	nokeys = w->nokeys;

		/* Objects, in a row too. */
		if (f & SF(upgrade)) {
			json_t	*u = plugin_upgrade_json(p);

			jw_key(w, "upgrade");
			w->nokeys = 0;
			jw_json(w, u);
			w->nokeys = nokeys;
			json_decref(u);
		}
		if (f & SF(sandbox)) {
			jw_key(w, "sandbox");
			w->nokeys = 0;
			sandbox_status(p, w);
			w->nokeys = nokeys;
		}
	}
	if (w->nokeys)
		jw_close_array(w);
	else
		jw_close_object(w);
}

/* The column names of status rows for these fields, in row order. */
static void
jw_status_columns(struct jsonw *w, unsigned int f, unsigned int ef)
{
	char	name[64];
	size_t	k, e;

	jw_open_array(w);
	for (k = 0; k < SF_COUNT; k++) {
		if (!(f & (1u << k)))
			continue;
		if (k != SF_events) {
			jw_string(w, status_field_names[k]);
			continue;
		}
		for (e = 0; e < EF_COUNT; e++) {
			if (!(ef & (1u << e)))
				continue;
			snprintf(name, sizeof name, "events.%s",
			    event_field_names[e]);
			jw_string(w, name);
		}
	}
	jw_close_array(w);
}

/* The same status row as a jansson value, for replies built of those. */
json_t *
json_plugin_status(const struct plugin *p)
{
	struct jsonw	 w;
	json_t		*j;

	jw_init(&w);
	jw_plugin_status(&w, p, SF_ALL, EF_ALL);
	if ((j = json_loadb(w.buf, w.len, 0, NULL)) == NULL)
		fatalx("%s: status of %s is not valid JSON", __func__, p->name);
	jw_free(&w);
	return j;
}

/* Bytes of history one plugin holds: the raw ring and every tier. */
static size_t
cmd_history_bytes(void)
{
	const struct config	*cf = server->config;
	size_t			 n, i;

	n = ring_memory_bytes_for(config_history_capacity(cf));
	for (i = 0; i < cf->nrollups; i++)
		n += rollup_memory_bytes_for((size_t)(cf->rollups[i].duration /
		    cf->rollups[i].resolution + 0.5));
	return n;
}

/* The spec's SystemMetrics.to_dict(), plus the daemon's own numbers. */
json_t *
json_system_metrics(void)
{
	const struct metrics_sample	*self = ring_latest(server->self_ring);
	struct plugin			*p;
	json_t				*j, *daemon;
	char				 human[32];
	double				 up = clock_mono() - server->started_mono;
	double				 mem = 0, cpu_seconds = 0;
	struct rusage			 ru;
	int				 running = 0, crashed = 0;

	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (plugin_serving(p))
			running++;
		if (p->state == PLUGIN_BACKOFF || p->state == PLUGIN_FATAL)
			crashed++;
		if (p->pid > 0)
			mem += (double)p->last_rss / METRICS_MB;
	}
	/* Exact CPU time used so far; samples only count whole clock ticks. */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu_seconds = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	daemon = json_pack("{s:i, s:s, s:I, s:f}", "pid", (int)getpid(),
	    "version", SUPERVISOR_VERSION,
	    "ring_bytes_per_plugin", (json_int_t)ring_memory_bytes_for(
	    config_history_capacity(server->config)),
	    "cpu_seconds", cpu_seconds);
	json_object_set_new(daemon, "cpu_percent", self != NULL &&
	    sample_has_cpu(self) ? json_round2(sample_cpu_percent(self)) :
	    json_null());
	json_object_set_new(daemon, "memory_mb", self != NULL && self->pid ?
	    json_round2(sample_memory_mb(self)) : json_null());
	if (ring_count(server->self_ring) > 0) {
		struct metrics_aggregates	a;
		struct metrics_window		w = metrics_window_all();

		if (metrics_aggregate(server->self_ring, &w, &a, NULL) == 0) {
			json_object_set_new(daemon, "cpu", a.cpu_samples ?
			    json_stats(&a.cpu) : json_null());
			json_object_set_new(daemon, "memory_mb_stats",
			    a.memory_samples ? json_stats(&a.memory_mb) :
			    json_null());
		}
	}
	j = json_pack("{s:o, s:s, s:i, s:i, s:i, s:I, s:o, s:I, s:I, s:o}",
	    "bot_uptime_seconds", json_real(round_nearest(up * 10) / 10),
	    "bot_uptime_human", metrics_format_uptime(up, human, sizeof human),
	    "total_plugins", (int)hmap_count(server->by_name),
	    "plugins_running", running,
	    "plugins_crashed", crashed,
	    "total_events", (json_int_t)server->total_events,
	    "total_memory_mb", json_round2(mem),
	    "chat_lines", (json_int_t)server->total_chat_lines,
	    "unknown_commands", (json_int_t)server->unknown_commands,
	    "daemon", daemon);
	json_object_set_new(j, "poll_interval", json_real(
	    server->config->poll_interval));
	json_object_set_new(j, "metrics_enabled",
	    json_boolean(server->config->metrics_enabled));
	json_object_set_new(j, "containment", json_string(contain_mode()));
	json_object_set_new(daemon, "history_bytes_per_plugin", json_integer(
	    (json_int_t)cmd_history_bytes()));
	json_object_set_new(j, "state", state_status());
	return j;
}

/* The longest window asked for: the longest history kept, or 30 days. */
static double
cmd_window_max(void)
{
	const struct config	*cf = server->config;
	double			 max = 30 * 86400;

	if (cf->nrollups > 0 && cf->rollups[cf->nrollups - 1].duration > max)
		max = cf->rollups[cf->nrollups - 1].duration;
	if (cf->history_duration > max)
		max = cf->history_duration;
	return max;
}

/*
 * A window: "90s", "5m", "1h", "7d", or a number of seconds; positive and
 * at most the longest history kept (30 days by default).
 */
int
cmd_parse_window(json_t *v, double *seconds, struct cmd_error *err)
{
	const char	*s;
	char		*end;
	double		 n, mult = 1;

	if (json_is_number(v))
		n = json_number_value(v);
	else if (json_is_string(v)) {
		/* Plain decimal only: no spaces, signs, hex or exponents. */
		s = json_string_value(v);
		if (strspn(s, "0123456789.") == 0 ||
		    strspn(s, "0123456789.") != strcspn(s, "smhd"))
			goto bad;
		n = strtod(s, &end);
		if (end == s)
			goto bad;
		if (*end == 's')
			end++;
		else if (*end == 'm')
			mult = 60, end++;
		else if (*end == 'h')
			mult = 3600, end++;
		else if (*end == 'd')
			mult = 86400, end++;
		if (*end != '\0')
			goto bad;
		n *= mult;
	} else
		goto bad;
	if (!isfinite(n) || n <= 0 || n > cmd_window_max())
		goto bad;
	*seconds = n;
	return 0;
bad:
	return cmd_fail(err, "bad-argument", "window must be a duration like "
	    "90s, 5m, 1h, 2d or a number of seconds (up to %g days)",
	    cmd_window_max() / 86400);
}

/* Which status field (or "events.NAME" part) a name is: 0, or -1. */
static int
cmd_status_field(const char *name, unsigned int *mask, unsigned int *emask)
{
	size_t	k;

	for (k = 0; k < SF_COUNT; k++) {
		if (strcmp(name, status_field_names[k]) == 0) {
			*mask |= 1u << k;
			if (k == SF_events)
				*emask = EF_ALL;
			return 0;
		}
	}
	if (strncmp(name, "events.", 7) != 0)
		return -1;
	for (k = 0; k < EF_COUNT; k++) {
		if (strcmp(name + 7, event_field_names[k]) == 0) {
			*mask |= SF(events);
			*emask |= 1u << k;
			return 0;
		}
	}
	return -1;
}

/* The status fields a request asks for ("fields"), or all of them. */
static int
cmd_status_fields(json_t *req, unsigned int *mask, unsigned int *emask,
    struct cmd_error *err)
{
	json_t		*v, *e;
	size_t		 i, k, off;
	char		 quoted[72], all[512];

	*mask = SF_ALL;
	*emask = EF_ALL;
	if ((v = json_object_get(req, "fields")) == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cmd_fail(err, "bad-argument", "fields must be a non-empty "
		    "array of status field names");
	*mask = 0;
	*emask = 0;
	json_array_foreach(v, i, e) {
		if (json_is_string(e) && cmd_status_field(json_string_value(e),
		    mask, emask) == 0)
			continue;
		for (k = 0, off = 0; k < SF_COUNT && off < sizeof all; k++)
			off += (size_t)snprintf(all + off, sizeof all - off,
			    "%s%s", k ? ", " : "", status_field_names[k]);
		return cmd_fail(err, "bad-argument", "unknown status field %s; "
		    "the fields are %s (and events.NAME for a part of events)",
		    json_is_string(e) ? utf8_quote(json_string_value(e),
		    quoted, sizeof quoted) : "(not a string)", all);
	}
	return 0;
}

/*
 * status [plugin] [fields] [rows]: one row, or every row and the system
 * metrics. Written straight into the reply (ctx->out), not built as
 * jansson values. With "rows": true a listing is "columns" (the names)
 * and "rows" (arrays of values in that order) instead of "plugins" (an
 * object per plugin): supervisorctl's table asks for it, as a thousand
 * objects with their keys were most of its time to parse (docs/control.md).
 */
static int
cmd_status(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = NULL;
	json_t		*v, *sys, *rows;
	char		 quoted[72];
	unsigned int	 mask, emask;

	if ((v = json_object_get(ctx->req, "plugin")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_string(v))
			return cmd_fail(err, "bad-argument", "plugin must be a "
			    "string");
		if ((p = server_find_plugin(json_string_value(v))) == NULL)
			return cmd_fail(err, "unknown-plugin", "no plugin "
			    "named \"%s\"", utf8_quote(json_string_value(v),
			    quoted, sizeof quoted));
	}
	if (cmd_status_fields(ctx->req, &mask, &emask, err) != 0)
		return -1;
	if (p != NULL) {
		jw_plugin_status(ctx->out, p, mask, emask);
		return 0;
	}
	/*
	 * The tree_* fields are two reads of cgroup files per plugin: for a
	 * thousand plugins they took a status from 3.4 to 15 ms on the socket
	 * (make bench). A listing carries them only when "fields" names them.
	 */
	v = json_object_get(ctx->req, "fields");
	if (v == NULL || json_is_null(v))
		mask &= ~(SF(tree_cpu_seconds) | SF(tree_memory_mb));
	rows = json_object_get(ctx->req, "rows");
	if (rows != NULL && !json_is_boolean(rows))
		return cmd_fail(err, "bad-argument", "rows must be true or "
		    "false");
	jw_open_object(ctx->out);
	if (json_is_true(rows)) {
		jw_key(ctx->out, "columns");
		jw_status_columns(ctx->out, mask, emask);
		jw_key(ctx->out, "rows");
	} else
		jw_key(ctx->out, "plugins");
	jw_open_array(ctx->out);
	ctx->out->nokeys = json_is_true(rows);
	TAILQ_FOREACH(p, &server->plugins, entry)
		jw_plugin_status(ctx->out, p, mask, emask);
	ctx->out->nokeys = 0;
	jw_close_array(ctx->out);
	jw_key(ctx->out, "system");
	sys = json_system_metrics();
	jw_json(ctx->out, sys);
	json_decref(sys);
	jw_close_object(ctx->out);
	return 0;
}

/* Average values into buckets for a sparkline; null where a bucket is empty. */
static json_t *
cmd_series(const struct sample_ring *ring, size_t first, size_t n, int cpu)
{
	json_t	*arr = json_array();
	size_t	 buckets = n < CMD_SERIES_POINTS ? n : CMD_SERIES_POINTS;
	size_t	 b, i, from, to, count;
	double	 sum;

	for (b = 0; b < buckets; b++) {
		from = b * n / buckets;
		to = (b + 1) * n / buckets;
		sum = 0;
		count = 0;
		for (i = from; i < to; i++) {
			const struct metrics_sample *s = ring_get(ring, first + i);

			if (cpu && sample_has_cpu(s))
				sum += sample_cpu_percent(s), count++;
			else if (!cpu && s->pid != 0)
				sum += sample_memory_mb(s), count++;
		}
		json_array_append_new(arr, count ? json_round2(sum / count) :
		    json_null());
	}
	return arr;
}

/*
 * Averages of a tier's buckets for a sparkline over [since, now]: the
 * window cut in CMD_SERIES_POINTS equal spans, null where one holds no
 * bucket (a gap).
 */
static json_t *
cmd_tier_series(const struct rollup_tier *t, double since, double now,
    int cpu)
{
	struct rollup_summary	 s;
	json_t			*arr = json_array();
	double			 res = rollup_resolution(t), sum[CMD_SERIES_POINTS];
	double			 cnt[CMD_SERIES_POINTS];
	int64_t			 b, first, head;
	size_t			 k;

	memset(sum, 0, sizeof sum);
	memset(cnt, 0, sizeof cnt);
	if (rollup_head(t, &head) == 0 && rollup_first(t, &first) == 0) {
		if ((double)first * res < since)
			first = (int64_t)(since / res);
		for (b = first; b <= head; b++) {
			if (rollup_get(t, b, &s) != 0)
				continue;
			k = (size_t)(((double)b * res - since) / (now - since) *
			    CMD_SERIES_POINTS);
			if (k >= CMD_SERIES_POINTS)
				k = CMD_SERIES_POINTS - 1;
			if (cpu && s.cpu_n > 0)
				sum[k] += s.cpu_sum, cnt[k] += s.cpu_n;
			else if (!cpu && s.mem_n > 0)
				sum[k] += s.mem_sum / 1024.0, cnt[k] += s.mem_n;
		}
	}
	for (k = 0; k < CMD_SERIES_POINTS; k++)
		json_array_append_new(arr, cnt[k] > 0 ?
		    json_round2(sum[k] / cnt[k]) : json_null());
	return arr;
}

/*
 * metrics NAME [WINDOW]: aggregates over the window from the finest data
 * that covers it (rollup_aggregate), and which data that was.
 */
static int
cmd_metrics(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin			*p = ctx->plugin;
	const struct config		*cf = server->config;
	struct metrics_aggregates	 a;
	struct metrics_window		 w = metrics_window_all();
	struct rollup_query		 q;
	const struct metrics_sample	*last;
	const struct rollup_tier	*tier = NULL;
	json_t				*v, *agg, *cpu_series, *mem_series;
	double				 secs = 0, now = clock_wall(), since;
	size_t				 first, n, k;
	int				 rc;

	if ((v = json_object_get(ctx->req, "window")) != NULL &&
	    !json_is_null(v)) {
		if (cmd_parse_window(v, &secs, err) != 0)
			return -1;
		w = metrics_window_since(now - secs);
	}
	if (secs > cf->history_duration + 1e-6 && p->ntiers > 0) {
		rc = rollup_aggregate(p->tiers, p->ntiers, p->ring,
		    cf->history_duration, now - secs, now, &a, &q);
		for (k = 0; k < p->ntiers; k++)
			if (rollup_resolution(p->tiers[k]) == q.resolution)
				tier = p->tiers[k];
	} else {
		memset(&q, 0, sizeof q);
		q.p95_exact = 1;
		q.covered_seconds = cf->history_duration;
		rc = metrics_aggregate(p->ring, &w, &a, NULL);
	}
	if (rc != 0 || a.sample_count == 0)
		agg = json_null();
	else
		agg = json_aggregates(p->name, &a);
	last = ring_latest(p->ring);
	if (tier != NULL) {
		since = now - secs;
		cpu_series = cmd_tier_series(tier, since, now, 1);
		mem_series = cmd_tier_series(tier, since, now, 0);
	} else {
		n = ring_window(p->ring, &w, &first);
		cpu_series = cmd_series(p->ring, first, n, 1);
		mem_series = cmd_series(p->ring, first, n, 0);
	}
	since = state_history_since(p);
	*res = json_pack("{s:s, s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:f, s:s, "
	    "s:f, s:o}",
	    "plugin", p->name,
	    "window_seconds", secs > 0 ? json_real(secs) : json_null(),
	    "status", json_plugin_status(p),
	    "current", last ? json_plugin_sample(p, last) : json_null(),
	    "aggregates", agg,
	    "series", "cpu", cpu_series, "memory_mb", mem_series,
	    "resolution_seconds", q.resolution > 0 ? q.resolution :
	    cf->poll_interval,
	    "source", q.resolution > 0 ? "rollup" : "raw",
	    "covers_seconds", q.covered_seconds,
	    "history_since", since > 0 ? json_real(round_nearest(since * 10) /
	    10) : json_null());
	json_object_set_new(*res, "p95", json_string(q.p95_exact ? "exact" :
	    "estimated"));
	return 0;
}

static int
cmd_history(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin		*p = ctx->plugin;
	struct metrics_window	 w = metrics_window_all();
	json_t			*v, *list;
	double			 secs;
	size_t			 first, n, i;

	if ((v = json_object_get(ctx->req, "last")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > CMD_HISTORY_MAX)
			return cmd_fail(err, "bad-argument", "last must be an "
			    "integer from 1 to %d", CMD_HISTORY_MAX);
		w = metrics_window_last((size_t)json_integer_value(v));
	}
	if ((v = json_object_get(ctx->req, "since")) != NULL && !json_is_null(v)) {
		if (w.kind == WINDOW_LAST)
			return cmd_fail(err, "bad-argument", "give last or "
			    "since, not both");
		if (cmd_parse_window(v, &secs, err) != 0)
			return -1;
		w = metrics_window_since(clock_wall() - secs);
	}
	n = ring_window(p->ring, &w, &first);
	/* One reply stays bounded: at most the newest CMD_HISTORY_MAX. */
	if (n > CMD_HISTORY_MAX) {
		first += n - CMD_HISTORY_MAX;
		n = CMD_HISTORY_MAX;
	}
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list, json_plugin_sample(p,
		    ring_get(p->ring, first + i)));
	*res = json_pack("{s:s, s:I, s:o, s:o}", "plugin", p->name,
	    "capacity", (json_int_t)ring_capacity(p->ring),
	    "poll_interval", json_real(server->config->poll_interval),
	    "samples", list);
	return 0;
}

static int
cmd_crashes(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = ctx->plugin;
	json_t		*list = json_array();
	size_t		 i;

	for (i = 0; i < crashlog_count(p->crashes); i++)
		json_array_append_new(list, json_crash(crashlog_get(p->crashes,
		    i)));
	*res = json_pack("{s:s, s:I, s:I, s:s, s:o}", "plugin", p->name,
	    "total", (json_int_t)crashlog_total(p->crashes),
	    "kept", (json_int_t)crashlog_capacity(p->crashes),
	    "breaker", breaker_state_name(p->restart.breaker.state),
	    "crashes", list);
	return 0;
}

static json_t *
cmd_state_result(const struct plugin *p, const char *action)
{
	return json_pack("{s:s, s:s, s:s}", "plugin", p->name, "action", action,
	    "state", plugin_state_name(p->state));
}

/*
 * After a start or restart: the plugin has a process (STARTING), or will
 * have one (STOPPING, then STARTING). Otherwise the spawn failed: say why,
 * and what the daemon does about it (the restart policy retries).
 */
static int
cmd_check_started(const struct plugin *p, struct cmd_error *err)
{
	const struct crash_record	*cr;

	if (p->state == PLUGIN_STARTING || p->state == PLUGIN_STOPPING)
		return 0;
	cr = crashlog_latest(p->crashes);
	return cmd_fail(err, "start-failed", "%s could not be started: %s; "
	    "now %s", p->name, cr != NULL && cr->detail != NULL ? cr->detail :
	    "see the daemon's log", plugin_state_name(p->state));
}

static int
cmd_start(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = ctx->plugin;
	char		 why[160];

	if (server->shutting_down)
		return cmd_fail(err, "shutting-down", "the daemon is stopping");
	switch (p->state) {
	case PLUGIN_STARTING:
	case PLUGIN_RUNNING:
	case PLUGIN_UPGRADING:
		return cmd_fail(err, "invalid-state", "%s is already %s",
		    p->name, plugin_state_name(p->state));
	case PLUGIN_STOPPING:
		return cmd_fail(err, "invalid-state", "%s is stopping; use "
		    "restart", p->name);
	default:
		break;
	}
	snprintf(why, sizeof why, "start by %s", ctx->identity ? ctx->identity :
	    "control socket");
	plugin_event(p, PEV_START, why);
	if (cmd_check_started(p, err) != 0)
		return -1;
	*res = cmd_state_result(p, "start");
	return 0;
}

static int
cmd_stop(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = ctx->plugin;
	char		 why[160];

	if (p->state == PLUGIN_STOPPED)
		return cmd_fail(err, "invalid-state", "%s is already STOPPED",
		    p->name);
	snprintf(why, sizeof why, "stop by %s", ctx->identity ? ctx->identity :
	    "control socket");
	plugin_event(p, PEV_STOP, why);
	*res = cmd_state_result(p, "stop");
	return 0;
}

static int
cmd_restart(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = ctx->plugin;
	char		 why[160];

	if (server->shutting_down)
		return cmd_fail(err, "shutting-down", "the daemon is stopping");
	snprintf(why, sizeof why, "restart by %s", ctx->identity ?
	    ctx->identity : "control socket");
	plugin_event(p, PEV_RESTART, why);
	if (cmd_check_started(p, err) != 0)
		return -1;
	*res = cmd_state_result(p, "restart");
	return 0;
}

/*
 * upgrade plugin: start the new process beside the running one; it takes
 * over when it sends ready (docs/lifecycle.md, Upgrade). The answer comes
 * at once, with the upgrade's number: how it ends is the "upgrade" object
 * of status (supervisorctl upgrade waits for it), the state topic's
 * transition out of UPGRADING, and for !admin a line in the same channel.
 */
static int
cmd_upgrade(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = ctx->plugin;
	char		 why[160];

	if (server->shutting_down)
		return cmd_fail(err, "shutting-down", "the daemon is stopping");
	if (p->conf->role == ROLE_CONNECTOR)
		return cmd_fail(err, "not-upgradable", "%s is a connector: "
		    "its chat connection cannot have two processes; use "
		    "restart", p->name);
	switch (p->state) {
	case PLUGIN_RUNNING:
		break;
	case PLUGIN_UPGRADING:
		return cmd_fail(err, "invalid-state", "%s is already "
		    "upgrading (new pid %ld)", p->name, p->upgrade_new != NULL ?
		    (long)p->upgrade_new->pid : 0L);
	default:
		return cmd_fail(err, "invalid-state", "%s is %s: only a RUNNING "
		    "plugin is upgraded; use start or restart", p->name,
		    plugin_state_name(p->state));
	}
	snprintf(why, sizeof why, "upgrade by %s", ctx->identity ?
	    ctx->identity : "control socket");
	plugin_event(p, PEV_UPGRADE, why);
	if (p->upgrade->result == UPGRADE_FAILED)
		return cmd_fail(err, "upgrade-failed", "%s: upgrade failed: %s, "
		    "%s; pid %ld serves on", p->name, p->upgrade->reason,
		    p->upgrade->detail, (long)p->pid);
	*res = cmd_state_result(p, "upgrade");
	json_object_set_new(*res, "pid", json_integer(p->pid));
	json_object_set_new(*res, "upgrade", plugin_upgrade_json(p));
	return 0;
}

/*
 * A signal by name, as kill -l spells it, with or without SIG and in any
 * case ("hup", "SIGUSR1"), or by number (9, "9"); 0 if it is none of these.
 */
static int
cmd_signal_number(json_t *v)
{
	const char	*s, *name;
	char		*end;
	long		 n;
	int		 sig;

	if (json_is_integer(v))
		return json_integer_value(v) >= 1 &&
		    json_integer_value(v) < NSIG ? (int)json_integer_value(v) : 0;
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	if (isdigit((unsigned char)*s)) {
		n = strtol(s, &end, 10);
		return *end == '\0' && n >= 1 && n < NSIG ? (int)n : 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	if (*s == '\0')
		return 0;
	for (sig = 1; sig < NSIG; sig++) {
		/* "SIGHUP"; "SIG34" for a signal without a name. */
		name = metrics_signal_name(sig) + 3;
		if (!isdigit((unsigned char)*name) && strcasecmp(name, s) == 0)
			return sig;
	}
	return 0;
}

/*
 * signal plugin signal: send it to the plugin's process group. What the
 * plugin does with it is its own business; an exit it causes was not asked
 * for, so it is a crash like any other (docs/lifecycle.md).
 */
static int
cmd_signal(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = ctx->plugin;
	json_t		*v = json_object_get(ctx->req, "signal");
	char		 quoted[40];
	int		 sig;

	if (v == NULL || json_is_null(v))
		return cmd_fail(err, "missing-argument", "signal needs a signal "
		    "name or number: signal plugin signal");
	if ((sig = cmd_signal_number(v)) == 0 && json_is_string(v))
		return cmd_fail(err, "bad-argument", "unknown signal \"%s\"; "
		    "give a name like HUP, USR1, TERM or KILL (with or without "
		    "SIG) or a number from 1 to %d", utf8_quote(
		    json_string_value(v), quoted, sizeof quoted), NSIG - 1);
	if (sig == 0)
		return cmd_fail(err, "bad-argument", "signal must be a name "
		    "like HUP or a number from 1 to %d", NSIG - 1);
	if ((!plugin_serving(p) && p->state != PLUGIN_STARTING) ||
	    p->pid <= 0)
		return cmd_fail(err, "invalid-state", "%s is %s: only a RUNNING "
		    "or STARTING plugin has a process to signal", p->name,
		    plugin_state_name(p->state));
	log_info("plugin %s: %s sent to pid %ld by %s", p->name,
	    metrics_signal_name(sig), (long)p->pid, ctx->identity ?
	    ctx->identity : "control socket");
	proc_signal(p, p->pid, sig);
	*res = json_pack("{s:s, s:s, s:i, s:I, s:s}", "plugin", p->name,
	    "signal", metrics_signal_name(sig), "signal_number", sig,
	    "pid", (json_int_t)p->pid, "state", plugin_state_name(p->state));
	return 0;
}

static int
cmd_reload(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	char	*cause = NULL;

	if (server->shutting_down)
		return cmd_fail(err, "shutting-down", "the daemon is stopping");
	if ((*res = server_reload(&cause)) == NULL) {
		cmd_fail(err, "config-error", "%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * forget NAME: delete the state file of a plugin no longer configured; a
 * configured plugin's history is in use and is refused.
 */
static int
cmd_forget(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	json_t		*v = json_object_get(ctx->req, "name");
	const char	*name;
	char		 msg[PATH_MAX + 128], quoted[256];

	if (v == NULL || !json_is_string(v))
		return cmd_fail(err, "bad-argument", "forget needs the name of "
		    "a plugin that is no longer in the config");
	name = json_string_value(v);
	if (!config_valid_name(name))
		return cmd_fail(err, "bad-argument", "\"%s\" is not a plugin "
		    "name", utf8_quote(name, quoted, sizeof quoted));
	if (server_find_plugin(name) != NULL)
		return cmd_fail(err, "in-config", "%s is in the config and its "
		    "history is in use: remove it from the config and reload "
		    "first", name);
	if (state_forget(name, msg, sizeof msg) != 0)
		return cmd_fail(err, "not-found", "%s", msg);
	*res = json_pack("{s:s, s:s}", "plugin", name, "action", "forgotten");
	return 0;
}

static int
cmd_tail(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	struct plugin	*p = ctx->plugin;
	json_t		*v, *list = json_array();
	size_t		 n = p->tail_len, i;

	if ((v = json_object_get(ctx->req, "lines")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 100000) {
			json_decref(list);
			return cmd_fail(err, "bad-argument", "lines must be an "
			    "integer from 1 to 100000");
		}
		if ((size_t)json_integer_value(v) < n)
			n = (size_t)json_integer_value(v);
	}
	for (i = p->tail_len - n; i < p->tail_len; i++)
		json_array_append_new(list, json_string(
		    p->tail[(p->tail_head + i) % p->tail_cap]));
	*res = json_pack("{s:s, s:I, s:o}", "plugin", p->name, "kept",
	    (json_int_t)p->tail_cap, "lines", list);
	return 0;
}

static int
cmd_system(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	json_t	*st;

	*res = json_system_metrics();
	/* Here only, not in status: it reads the state directory. */
	if ((st = json_object_get(*res, "state")) != NULL && state_enabled())
		json_object_set_new(st, "unconfigured", state_unconfigured());
	return 0;
}

/*
 * shutdown: every plugin stops (connectors first) and the daemon exits 0,
 * as on SIGTERM. The stop begins on the next turn of the loop, so the
 * reply is queued first; the socket stays open until the daemon exits.
 */
static int
cmd_shutdown(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	if (server->shutting_down)
		return cmd_fail(err, "shutting-down", "the daemon is already "
		    "stopping");
	log_info("shutdown asked by %s", ctx->identity != NULL ?
	    ctx->identity : "the control socket");
	server_shutdown_soon("shutdown verb");
	*res = json_pack("{s:b, s:I}", "stopping", 1, "plugins",
	    (json_int_t)hmap_count(server->by_name));
	return 0;
}

static int
cmd_version(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	*res = json_pack("{s:s, s:i}", "version", SUPERVISOR_VERSION,
	    "protocol", PROTOCOL_VERSION);
	return 0;
}

static int
cmd_help(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	json_t	*list = json_array();
	size_t	 i;

	for (i = 0; i < VERB_COUNT; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b}",
		    "name", verb_table[i].name, "args", verb_table[i].args,
		    "usage", verb_table[i].usage,
		    "chat", (verb_table[i].flags & CMD_CHAT) != 0));
	*res = json_pack("{s:o}", "verbs", list);
	return 0;
}

/* alerts: what fires, what is pending, silences, targets, the history. */
static int
cmd_alerts(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	*res = alert_status_json();
	return 0;
}

/*
 * silence NAME DURATION: keep a plugin's, a rule's or every lifecycle
 * ("crash") alert line from chat for a while; DURATION "off" lifts it.
 */
static int
cmd_silence(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	json_t		*name = json_object_get(ctx->req, "name");
	json_t		*dur = json_object_get(ctx->req, "duration");
	const char	*who = ctx->identity ? ctx->identity : "control socket";
	char		 quoted[72];
	double		 secs;

	if (name == NULL || json_is_null(name) || dur == NULL ||
	    json_is_null(dur))
		return cmd_fail(err, "missing-argument", "silence needs a name "
		    "and a duration: silence %s", verb_table[VERB_silence].args);
	if (!json_is_string(name))
		return cmd_fail(err, "bad-argument", "name must be a string");
	if (!alert_known_name(json_string_value(name)))
		return cmd_fail(err, "unknown-plugin", "no plugin or alert "
		    "rule named \"%s\" (or \"crash\" for every lifecycle "
		    "alert)", utf8_quote(json_string_value(name), quoted,
		    sizeof quoted));
	if (json_is_string(dur) && strcmp(json_string_value(dur), "off") == 0) {
		if (alert_silence_lift(json_string_value(name)) != 0)
			return cmd_fail(err, "invalid-state", "%s is not "
			    "silenced", json_string_value(name));
		log_info("alert: silence of %s lifted by %s",
		    json_string_value(name), who);
		*res = json_pack("{s:s, s:b}", "name", json_string_value(name),
		    "silenced", 0);
		return 0;
	}
	if (cmd_parse_window(dur, &secs, err) != 0)
		return cmd_fail(err, "bad-argument", "duration must be a "
		    "duration like 90s, 5m, 1h, 2d or a number of seconds (up "
		    "to 30 days), or off to lift the silence");
	if (alert_silence_set(json_string_value(name), secs) != 0)
		return cmd_fail(err, "bad-argument", "too many silences (at "
		    "most %d); lift one first", ALERT_MAX_SILENCES);
	log_info("alert: %s silenced for %g s by %s", json_string_value(name),
	    secs, who);
	*res = json_pack("{s:s, s:b, s:o, s:f}", "name",
	    json_string_value(name), "silenced", 1, "until",
	    json_real(round_nearest((clock_wall() + secs) * 1000) / 1000),
	    "seconds", secs);
	return 0;
}

static int
cmd_subscribe(struct cmd_ctx *ctx, json_t **res, struct cmd_error *err)
{
	static const char	*names[] = { "state", "crash", "sample", "log", "alert" };
	json_t			*v, *t, *list;
	struct plugin		*p = NULL;
	size_t			 i, j;
	int			 topics = 0;
	char			 quoted[72];

	if (ctx->client == NULL)
		return cmd_fail(err, "not-permitted", "subscribe needs the "
		    "control socket");
	/* "plugin": only events about that plugin (tail -f NAME). */
	if ((v = json_object_get(ctx->req, "plugin")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_string(v))
			return cmd_fail(err, "bad-argument", "plugin must be a "
			    "string");
		if ((p = server_find_plugin(json_string_value(v))) == NULL)
			return cmd_fail(err, "unknown-plugin", "no plugin named "
			    "\"%s\"", utf8_quote(json_string_value(v), quoted,
			    sizeof quoted));
	}
	if ((v = json_object_get(ctx->req, "topics")) == NULL || json_is_null(v))
		topics = TOPIC_STATE | TOPIC_CRASH | TOPIC_SAMPLE | TOPIC_ALERT;
	else if (!json_is_array(v) || json_array_size(v) == 0)
		return cmd_fail(err, "bad-argument", "topics must be a "
		    "non-empty array of: state, crash, sample, log, alert");
	else {
		json_array_foreach(v, i, t) {
			for (j = 0; j < nitems(names); j++) {
				if (json_is_string(t) &&
				    strcmp(json_string_value(t), names[j]) == 0)
					break;
			}
			if (j == nitems(names))
				return cmd_fail(err, "bad-argument", "unknown "
				    "topic; topics are: state, crash, sample, "
				    "log, alert");
			topics |= 1 << j;
		}
	}
	list = json_array();
	for (j = 0; j < nitems(names); j++) {
		if (topics & (1 << j))
			json_array_append_new(list, json_string(names[j]));
	}
	control_subscribe(ctx->client, topics);
	control_filter(ctx->client, p != NULL ? p->name : NULL);
	*res = json_pack("{s:o}", "topics", list);
	if (p != NULL)
		json_object_set_new(*res, "plugin", json_string(p->name));
	return 0;
}

/* The most names one start/stop/restart request may list. */
#define CMD_MULTI_MAX		4096

/* 1 if p is among the first n plugins of list. */
static int
cmd_multi_seen(struct plugin **list, size_t n, const struct plugin *p)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (list[i] == p)
			return 1;
	}
	return 0;
}

/* Whether start would spawn p now, as the lifecycle table decides. */
static int
cmd_multi_spawns(const struct plugin *p)
{
	return lifecycle_decide(p->state, PEV_START) == LA_START;
}

/*
 * start, stop or restart of "all" or of a list of names: every name is
 * checked before anything is done (an unknown one refuses the request), then
 * the verb runs for each plugin in turn and the result says what happened to
 * each: done (with its state now), skipped (for all: already in the state
 * asked for) or failed (with the reason). A plain name keeps the one-plugin
 * result.
 */
static int
cmd_execute_multi(const struct verb *ce, struct cmd_ctx *ctx, json_t *names,
    json_t **res, struct cmd_error *err)
{
	struct plugin		**list, *p;
	struct cmd_error	  e;
	json_t			 *v, *r, *items;
	size_t			  n = 0, i, j, done = 0, skipped = 0, failed = 0;
	int			  all, burst;
	char			  quoted[72];

	all = json_is_string(names) && strcmp(json_string_value(names),
	    "all") == 0;
	if (!all && json_array_size(names) == 0)
		return cmd_fail(err, "bad-argument", "plugin must be a name, "
		    "\"all\" or a non-empty list of names");
	if (json_array_size(names) > CMD_MULTI_MAX)
		return cmd_fail(err, "bad-argument", "at most %d names in one "
		    "request", CMD_MULTI_MAX);
	list = xcalloc(all ? hmap_count(server->by_name) + 1 :
	    json_array_size(names), sizeof *list);
	if (all) {
		TAILQ_FOREACH(p, &server->plugins, entry)
			list[n++] = p;
	} else {
		json_array_foreach(names, i, v) {
			if (!json_is_string(v)) {
				free(list);
				return cmd_fail(err, "bad-argument", "plugin "
				    "names must be strings");
			}
			if ((p = server_find_plugin(json_string_value(v))) ==
			    NULL) {
				free(list);
				return cmd_fail(err, "unknown-plugin", "no "
				    "plugin named \"%s\"; nothing was done",
				    utf8_quote(json_string_value(v), quoted,
				    sizeof quoted));
			}
			/* A name given twice is done once. */
			if (!cmd_multi_seen(list, n, p))
				list[n++] = p;
		}
	}
	items = json_array();
	/* start of many is a burst: proc.c prepares each next spawn meanwhile. */
	burst = strcmp(ce->name, "start") == 0;
	if (burst)
		proc_burst_begin();
	for (i = 0; i < n; i++) {
		if (burst) {
			for (j = i + 1; j < n && !cmd_multi_spawns(list[j]); j++)
				;
			proc_burst_next(j < n ? list[j] : NULL);
		}
		ctx->plugin = list[i];
		memset(&e, 0, sizeof e);
		r = NULL;
		if (cmd_exec[ce - verb_table](ctx, &r, &e) == 0) {
			json_object_set_new(r, "result", json_string("done"));
			done++;
		} else {
			json_decref(r);
			r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "plugin",
			    list[i]->name, "action", ce->name, "state",
			    plugin_state_name(list[i]->state), "error", e.code,
			    "message", e.message);
			/* all: one already as asked is no failure. */
			if (all && strcmp(e.code, "invalid-state") == 0) {
				json_object_set_new(r, "result",
				    json_string("skipped"));
				skipped++;
			} else {
				json_object_set_new(r, "result",
				    json_string("failed"));
				failed++;
			}
		}
		json_array_append_new(items, r);
	}
	if (burst)
		proc_burst_end();
	free(list);
	*res = json_pack("{s:s, s:o, s:I, s:I, s:I}", "action", ce->name,
	    "plugins", items, "done", (json_int_t)done, "skipped",
	    (json_int_t)skipped, "failed", (json_int_t)failed);
	return 0;
}

/*
 * Run one request object and write the reply object to w (no newline).
 * Request fields are checked here once: cmd a known verb, plugin a known
 * name where needed. A verb returns its result as a jansson value or, for
 * a large one, writes it into ctx->out itself.
 */
void
cmd_execute(json_t *req, struct control_client *client, const char *identity,
    struct jsonw *w)
{
	static const char	 ok[] = "{\"ok\":true,\"result\":";
	const struct verb	*ce;
	struct cmd_ctx		 ctx;
	struct cmd_error	 err;
	json_t			*v, *result = NULL;
	const char		*name;
	char			 quoted[72];
	size_t			 start = w->len;

	jw_truncate(w, start);
	if (!json_is_object(req)) {
		cmd_write_error(w, "invalid-request", "a request is a JSON "
		    "object like {\"cmd\": \"status\"}");
		return;
	}
	v = json_object_get(req, "cmd");
	if (v == NULL || !json_is_string(v)) {
		cmd_write_error(w, "invalid-request", "the request has no "
		    "\"cmd\" string");
		return;
	}
	name = json_string_value(v);
	if ((ce = verb_find(name)) == NULL) {
		cmd_write_error(w, "unknown-command", "unknown command "
		    "\"%s\"; try \"help\"", utf8_quote(name, quoted,
		    sizeof quoted));
		return;
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.req = req;
	ctx.out = w;
	ctx.client = client;
	ctx.identity = identity;
	v = json_object_get(req, "plugin");
	if ((ce->flags & CMD_MULTI) && (json_is_array(v) || (json_is_string(v)
	    && strcmp(json_string_value(v), "all") == 0))) {
		memset(&err, 0, sizeof err);
		if (cmd_execute_multi(ce, &ctx, v, &result, &err) != 0) {
			cmd_write_error(w, err.code, "%s", err.message);
			return;
		}
		jw_raw(w, ok, sizeof ok - 1);
		jw_json(w, result);
		json_decref(result);
		jw_raw(w, "}", 1);
		return;
	}
	if (ce->flags & CMD_PLUGIN) {
		if (v == NULL || json_is_null(v)) {
			cmd_write_error(w, "missing-argument", "%s needs a "
			    "plugin name: %s %s", ce->name, ce->name, ce->args);
			return;
		}
		if (!json_is_string(v)) {
			cmd_write_error(w, "bad-argument", "plugin must be a "
			    "string");
			return;
		}
		if ((ctx.plugin = server_find_plugin(json_string_value(v))) ==
		    NULL) {
			cmd_write_error(w, "unknown-plugin", "no plugin named "
			    "\"%s\"", utf8_quote(json_string_value(v), quoted,
			    sizeof quoted));
			return;
		}
	}
	memset(&err, 0, sizeof err);
	jw_raw(w, ok, sizeof ok - 1);
	if (cmd_exec[ce - verb_table](&ctx, &result, &err) != 0) {
		json_decref(result);
		jw_truncate(w, start);
		cmd_write_error(w, err.code, "%s", err.message);
		return;
	}
	if (result != NULL) {
		jw_json(w, result);
		json_decref(result);
	} else if (w->len == start + sizeof ok - 1)
		fatalx("%s: %s returned no result", __func__, ce->name);
	jw_raw(w, "}", 1);
}

/*
 * One request line as a client sent it: parse it (any JSON value; one that
 * is not an object is refused by cmd_execute), run it, write the reply.
 */
void
cmd_execute_line(const char *line, size_t len, struct control_client *client,
    struct jsonw *w)
{
	json_error_t	 jerr;
	json_t		*req;

	if ((req = json_loadb(line, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &jerr)) == NULL) {
		cmd_write_error(w, "invalid-json", "invalid JSON at column %d: "
		    "%s", jerr.column, jerr.text);
		return;
	}
	cmd_execute(req, client, NULL, w);
	json_decref(req);
}

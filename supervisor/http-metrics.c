/*
 * http-metrics.c: GET /metrics, the Prometheus text exposition format
 * (version 0.0.4): every family's # HELP and # TYPE, then its samples, a
 * family's samples together. Per plugin the labels plugin and role; metric
 * names in base units (seconds, bytes, ratios), counters ending _total.
 *
 * Written as text into one growing buffer (jsonw's, its number writers),
 * not through printf or jansson: a scrape of 1000 plugins is ~30,000 lines,
 * and the budget for it is 5 ms of the daemon's loop (make bench measures
 * it). Each plugin's label text is written once and copied into each of its
 * lines.
 */
#include <sys/resource.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "metrics/metrics.h"
#include "supervisor/http.h"
#include "supervisor/supervisor.h"

_Static_assert(PLUGIN_CRASH_REASONS == CRASH_SPAWN + 1,
    "PLUGIN_CRASH_REASONS counts enum crash_reason");

/* One plugin's label text, {plugin="NAME",role="ROLE" without the brace. */
struct pm_labels {
	size_t	off;
	size_t	len;
};

static void
pm_str(struct jsonw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/* "# HELP NAME TEXT\n# TYPE NAME TYPE\n" */
static void
pm_family(struct jsonw *w, const char *name, const char *type,
    const char *help)
{
	pm_str(w, "# HELP ");
	pm_str(w, name);
	jw_raw(w, " ", 1);
	pm_str(w, help);
	pm_str(w, "\n# TYPE ");
	pm_str(w, name);
	jw_raw(w, " ", 1);
	pm_str(w, type);
	jw_raw(w, "\n", 1);
}

/* A label value, escaped as the format says: \\, \" and \n. */
static void
pm_label_value(struct jsonw *w, const char *s)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\' && *s != '"' && *s != '\n')
			continue;
		jw_raw(w, run, (size_t)(s - run));
		jw_raw(w, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n", 2);
		run = s + 1;
	}
	jw_raw(w, run, (size_t)(s - run));
}

/* An integer value and the end of its line. */
static void
pm_int(struct jsonw *w, unsigned long long v)
{
	jw_raw(w, " ", 1);
	w->comma = 0;
	jw_int(w, (long long)v);
	jw_raw(w, "\n", 1);
}

/* A real value (places after the point) and the end of its line. */
static void
pm_real(struct jsonw *w, double v, int places)
{
	jw_raw(w, " ", 1);
	w->comma = 0;
	jw_fixed(w, v, places);
	jw_raw(w, "\n", 1);
}

/* "NAME{plugin=..,role=..": a plugin's series, the brace left open. */
static void
pm_plugin_series(struct jsonw *w, const char *name, const struct jsonw *lt,
    const struct pm_labels *l)
{
	pm_str(w, name);
	jw_raw(w, "{", 1);
	jw_raw(w, lt->buf + l->off, l->len);
}

/* NAME{plugin,role} VALUE for every plugin, as get says (NAN: none). */
static void
pm_each(struct jsonw *w, const char *name, const struct jsonw *lt,
    const struct pm_labels *l, double (*get)(const struct plugin *),
    int places)
{
	struct plugin	*p;
	size_t		 i = 0;
	double		 v;

	TAILQ_FOREACH(p, &server->plugins, entry) {
		v = get(p);
		if (v == v) {
			pm_plugin_series(w, name, lt, &l[i]);
			jw_raw(w, "}", 1);
			if (places == 0)
				pm_int(w, (unsigned long long)v);
			else
				pm_real(w, v, places);
		}
		i++;
	}
}

/* The latest sample of a plugin's current process, or NULL. */
static const struct metrics_sample *
pm_live(const struct plugin *p)
{
	const struct metrics_sample	*s = ring_latest(p->ring);

	if (p->pid > 0 && s != NULL && s->pid == (uint32_t)p->pid)
		return s;
	return NULL;
}

static double
pm_up(const struct plugin *p)
{
	return plugin_serving(p);
}

static double
pm_pid(const struct plugin *p)
{
	return p->pid > 0 ? (double)p->pid : NAN;
}

static double
pm_cpu_seconds(const struct plugin *p)
{
	return p->cpu_seconds;
}

static double
pm_cpu_ratio(const struct plugin *p)
{
	const struct metrics_sample	*s = pm_live(p);

	return s != NULL && sample_has_cpu(s) ? sample_cpu_percent(s) / 100 :
	    NAN;
}

static double
pm_rss(const struct plugin *p)
{
	const struct metrics_sample	*s = pm_live(p);

	return s != NULL ? (double)sample_rss_bytes(s) : NAN;
}

static double
pm_memory_limit(const struct plugin *p)
{
	return p->conf->limits.memory_mb > 0 ? p->conf->limits.memory_mb *
	    METRICS_MB : NAN;
}

static double
pm_routed(const struct plugin *p)
{
	return (double)p->events_routed;
}

static double
pm_replies(const struct plugin *p)
{
	return (double)p->replies;
}

static double
pm_in_flight(const struct plugin *p)
{
	return (double)p->npending;
}

static double
pm_queued(const struct plugin *p)
{
	return (double)p->queue_len;
}

static double
pm_protocol_errors(const struct plugin *p)
{
	return (double)p->protocol_errors;
}

static double
pm_restarts(const struct plugin *p)
{
	return p->restarts;
}

static double
pm_starts(const struct plugin *p)
{
	return p->starts;
}

static double
pm_crashes(const struct plugin *p)
{
	return (double)crashlog_total(p->crashes);
}

static double
pm_uptime(const struct plugin *p)
{
	return plugin_uptime(p);
}

static double
pm_last_crash(const struct plugin *p)
{
	const struct crash_record	*cr = crashlog_latest(p->crashes);

	return cr != NULL ? cr->wall_time : NAN;
}

/* The daemon's own numbers. */
static void
pm_daemon(struct jsonw *w)
{
	const struct metrics_sample	*self = ring_latest(server->self_ring);
	static const enum plugin_state	 states[] = { PLUGIN_STOPPED,
	    PLUGIN_STARTING, PLUGIN_RUNNING, PLUGIN_BACKOFF, PLUGIN_STOPPING,
	    PLUGIN_FATAL, PLUGIN_UPGRADING };
	struct plugin			*p;
	struct rusage			 ru;
	size_t				 count[nitems(states)], i;

	pm_family(w, "supervisor_build_info", "gauge", "The daemon's version "
	    "and protocol version; always 1.");
	pm_str(w, "supervisor_build_info{version=\"");
	pm_label_value(w, SUPERVISOR_VERSION);
	pm_str(w, "\",protocol=\"");
	w->comma = 0;
	jw_int(w, PROTOCOL_VERSION);
	pm_str(w, "\"} 1\n");
	pm_family(w, "supervisor_start_time_seconds", "gauge", "When the "
	    "daemon started, seconds since the epoch.");
	pm_str(w, "supervisor_start_time_seconds");
	pm_real(w, server->started_wall, 3);
	pm_family(w, "supervisor_uptime_seconds", "gauge", "Seconds since "
	    "the daemon started.");
	pm_str(w, "supervisor_uptime_seconds");
	pm_real(w, clock_mono() - server->started_mono, 3);
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		pm_family(w, "supervisor_process_cpu_seconds_total", "counter",
		    "CPU time the daemon used, user and system.");
		pm_str(w, "supervisor_process_cpu_seconds_total");
		pm_real(w, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		    6);
	}
	if (self != NULL && self->pid != 0) {
		pm_family(w, "supervisor_process_resident_memory_bytes",
		    "gauge", "The daemon's resident memory at its latest "
		    "sample.");
		pm_str(w, "supervisor_process_resident_memory_bytes");
		pm_int(w, sample_rss_bytes(self));
	}
	memset(count, 0, sizeof count);
	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (i = 0; i < nitems(states); i++)
			if (p->state == states[i])
				count[i]++;
	}
	pm_family(w, "supervisor_plugins", "gauge", "Plugins in each state.");
	for (i = 0; i < nitems(states); i++) {
		pm_str(w, "supervisor_plugins{state=\"");
		pm_str(w, plugin_state_name(states[i]));
		pm_str(w, "\"}");
		pm_int(w, count[i]);
	}
	pm_family(w, "supervisor_events_routed_total", "counter", "Chat "
	    "commands routed to plugins, all plugins.");
	pm_str(w, "supervisor_events_routed_total");
	pm_int(w, server->total_events);
	pm_family(w, "supervisor_chat_lines_total", "counter", "Chat lines "
	    "the connectors sent.");
	pm_str(w, "supervisor_chat_lines_total");
	pm_int(w, server->total_chat_lines);
	pm_family(w, "supervisor_unknown_commands_total", "counter",
	    "Commands no plugin owns.");
	pm_str(w, "supervisor_unknown_commands_total");
	pm_int(w, server->unknown_commands);
	pm_family(w, "supervisor_http_event_streams", "gauge", "Clients "
	    "following /events.");
	pm_str(w, "supervisor_http_event_streams");
	pm_int(w, http_nstreams());
}

/* The whole exposition, appended to w. */
void
http_metrics_write(struct jsonw *w)
{
	static const enum plugin_state	 states[] = { PLUGIN_STOPPED,
	    PLUGIN_STARTING, PLUGIN_RUNNING, PLUGIN_BACKOFF, PLUGIN_STOPPING,
	    PLUGIN_FATAL, PLUGIN_UPGRADING };
	struct jsonw			 lt;
	struct pm_labels		*l;
	struct plugin			*p;
	size_t				 n = 0, i, k;

	pm_daemon(w);
	TAILQ_FOREACH(p, &server->plugins, entry)
		n++;
	l = xcalloc(n ? n : 1, sizeof *l);
	jw_init(&lt);
	i = 0;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		l[i].off = lt.len;
		pm_str(&lt, "plugin=\"");
		pm_label_value(&lt, p->name);
		pm_str(&lt, "\",role=\"");
		pm_str(&lt, plugin_role_name(p->conf->role));
		jw_raw(&lt, "\"", 1);
		l[i].len = lt.len - l[i].off;
		i++;
	}

	pm_family(w, "supervisor_plugin_up", "gauge", "1 if the plugin is "
	    "RUNNING, else 0.");
	pm_each(w, "supervisor_plugin_up", &lt, l, pm_up, 0);
	pm_family(w, "supervisor_plugin_state", "gauge", "The plugin's "
	    "lifecycle state: 1 for the state it is in, 0 for the others.");
	i = 0;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (k = 0; k < nitems(states); k++) {
			pm_plugin_series(w, "supervisor_plugin_state", &lt,
			    &l[i]);
			pm_str(w, ",state=\"");
			pm_str(w, plugin_state_name(states[k]));
			pm_str(w, p->state == states[k] ? "\"} 1\n" :
			    "\"} 0\n");
		}
		i++;
	}
	pm_family(w, "supervisor_plugin_pid", "gauge", "The plugin's process "
	    "id; no sample while it has no process.");
	pm_each(w, "supervisor_plugin_pid", &lt, l, pm_pid, 0);
	pm_family(w, "supervisor_plugin_cpu_seconds_total", "counter", "CPU "
	    "time of the plugin's processes, as sampled, since the daemon "
	    "started.");
	pm_each(w, "supervisor_plugin_cpu_seconds_total", &lt, l,
	    pm_cpu_seconds, 2);
	pm_family(w, "supervisor_plugin_cpu_ratio", "gauge", "CPU use at the "
	    "latest sample, 1 = one core (CPU percent / 100).");
	pm_each(w, "supervisor_plugin_cpu_ratio", &lt, l, pm_cpu_ratio, 4);
	pm_family(w, "supervisor_plugin_resident_memory_bytes", "gauge",
	    "Resident memory (RSS) at the latest sample.");
	pm_each(w, "supervisor_plugin_resident_memory_bytes", &lt, l, pm_rss,
	    0);
	pm_family(w, "supervisor_plugin_memory_limit_bytes", "gauge", "The "
	    "plugin's configured RSS limit (limits.memory_mb), if any.");
	pm_each(w, "supervisor_plugin_memory_limit_bytes", &lt, l,
	    pm_memory_limit, 0);
	pm_family(w, "supervisor_plugin_events_routed_total", "counter",
	    "Chat commands routed to the plugin.");
	pm_each(w, "supervisor_plugin_events_routed_total", &lt, l, pm_routed,
	    0);
	pm_family(w, "supervisor_plugin_replies_total", "counter", "Replies "
	    "the plugin sent to routed events.");
	pm_each(w, "supervisor_plugin_replies_total", &lt, l, pm_replies, 0);
	/*
	 * By reason: a series once a reason has counted (as client libraries
	 * make labelled counters); a thousand plugins' zeros would be a
	 * third of the scrape.
	 */
	pm_family(w, "supervisor_plugin_events_dropped_total", "counter",
	    "Routed events that ended without a reply, by reason.");
	i = 0;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (k = 0; k < DROP_NREASONS; k++) {
			if (p->dropped[k] == 0)
				continue;
			pm_plugin_series(w,
			    "supervisor_plugin_events_dropped_total", &lt,
			    &l[i]);
			pm_str(w, ",reason=\"");
			pm_str(w, router_drop_reason_name(k));
			jw_raw(w, "\"}", 2);
			pm_int(w, p->dropped[k]);
		}
		i++;
	}
	pm_family(w, "supervisor_plugin_events_in_flight", "gauge", "Routed "
	    "events waiting for the plugin's reply.");
	pm_each(w, "supervisor_plugin_events_in_flight", &lt, l, pm_in_flight,
	    0);
	pm_family(w, "supervisor_plugin_events_queued", "gauge", "Events held "
	    "while the plugin is not running.");
	pm_each(w, "supervisor_plugin_events_queued", &lt, l, pm_queued, 0);
	pm_family(w, "supervisor_plugin_protocol_errors_total", "counter",
	    "Messages from the plugin that broke the protocol.");
	pm_each(w, "supervisor_plugin_protocol_errors_total", &lt, l,
	    pm_protocol_errors, 0);
	pm_family(w, "supervisor_plugin_starts_total", "counter", "Times the "
	    "plugin was started.");
	pm_each(w, "supervisor_plugin_starts_total", &lt, l, pm_starts, 0);
	pm_family(w, "supervisor_plugin_restarts_total", "counter", "Restarts "
	    "after a crash or on request.");
	pm_each(w, "supervisor_plugin_restarts_total", &lt, l, pm_restarts, 0);
	/* As the drops: a series once an upgrade of that outcome happened. */
	pm_family(w, "supervisor_plugin_upgrades_total", "counter", "Upgrades "
	    "since the daemon started, by result (done, failed).");
	i = 0;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (k = 0; k < 2; k++) {
			uint64_t	count = k == 0 ? p->upgrades :
			    p->upgrade_failures;

			if (count == 0)
				continue;
			pm_plugin_series(w, "supervisor_plugin_upgrades_total",
			    &lt, &l[i]);
			pm_str(w, k == 0 ? ",result=\"done" : ",result=\"failed");
			jw_raw(w, "\"}", 2);
			pm_int(w, count);
		}
		i++;
	}
	pm_family(w, "supervisor_plugin_crashes_total", "counter", "Crashes, "
	    "over the whole saved history.");
	pm_each(w, "supervisor_plugin_crashes_total", &lt, l, pm_crashes, 0);
	pm_family(w, "supervisor_plugin_crash_reasons_total", "counter",
	    "Crashes since the daemon started, by reason.");
	i = 0;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (k = 0; k < PLUGIN_CRASH_REASONS; k++) {
			if (p->crash_reasons[k] == 0)
				continue;
			pm_plugin_series(w,
			    "supervisor_plugin_crash_reasons_total", &lt,
			    &l[i]);
			pm_str(w, ",reason=\"");
			pm_str(w, crash_reason_name(k));
			jw_raw(w, "\"}", 2);
			pm_int(w, p->crash_reasons[k]);
		}
		i++;
	}
	pm_family(w, "supervisor_plugin_last_crash_time_seconds", "gauge",
	    "When the plugin last crashed, seconds since the epoch; no "
	    "sample if it never did.");
	pm_each(w, "supervisor_plugin_last_crash_time_seconds", &lt, l,
	    pm_last_crash, 3);
	pm_family(w, "supervisor_plugin_uptime_seconds", "gauge", "Seconds "
	    "the plugin's current process has run; 0 without one.");
	pm_each(w, "supervisor_plugin_uptime_seconds", &lt, l, pm_uptime, 1);
	jw_free(&lt);
	free(l);
}

static void
http_metrics_done(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

/* GET /metrics. */
void
http_metrics(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();
	struct jsonw		 w;

	jw_init(&w);
	http_metrics_write(&w);
	evhttp_add_header(h, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	/* The text is handed over, not copied: freed once written. */
	evbuffer_add_reference(b, w.buf, w.len, http_metrics_done, NULL);
	http_send(req, 200, "OK", b);
	evbuffer_free(b);
}

/*
 * verbs-chat.c: a verb's JSON result as a few chat-sized lines, for
 * !admin (admin.c). Each function is named in its verb's VERB_LIST entry;
 * a verb without one reads as verb_chat_generic's "key: value" text.
 */
#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"
#include "supervisor/verbs.h"

/* "dice-roller RUNNING pid 4242 up 3h 5m · cpu 0.4% · mem 1.8 MB · 57 events · 2 crashes" */
static void
chat_status_line(json_t *st, json_t *agg, struct verb_text *t)
{
	json_t		*ev = json_object_get(st, "events"), *pid, *cpu;
	long long	 n;

	verb_text_add(t, "%s %s", verb_str(st, "name", "?"),
	    verb_str(st, "state", "?"));
	pid = json_object_get(st, "pid");
	if (json_is_integer(pid))
		verb_text_add(t, " pid %lld up %s",
		    (long long)json_integer_value(pid),
		    verb_str(st, "uptime_human", "?"));
	cpu = agg ? json_object_get(agg, "cpu") : NULL;
	if (json_is_object(cpu))
		verb_text_add(t, " · cpu avg %.1f%% p95 %.1f%%",
		    verb_num(cpu, "avg", 0), verb_num(cpu, "p95", 0));
	else if (json_is_number(json_object_get(st, "cpu_percent")))
		verb_text_add(t, " · cpu %.1f%%", verb_num(st, "cpu_percent", 0));
	if (json_is_number(json_object_get(st, "memory_mb")))
		verb_text_add(t, " · mem %.1f MB", verb_num(st, "memory_mb", 0));
	n = (long long)verb_num(ev, "routed", 0);
	verb_text_add(t, " · %lld %s", n, verb_plural(n, "event", "events"));
	n = (long long)verb_num(st, "crashes", 0);
	verb_text_add(t, " · %lld %s", n, verb_plural(n, "crash", "crashes"));
}

/* "up 1h 2m · 4 plugins, 4 running, 0 crashed · 71 events · ..." */
static void
chat_system_line(json_t *sys, struct verb_text *t)
{
	json_t	*d = json_object_get(sys, "daemon");
	json_t	*cpu = json_object_get(d, "cpu_percent");
	char	 cpubuf[32] = "n/a";	/* until the first delta */
	long long plugins = (long long)verb_num(sys, "total_plugins", 0);
	long long events = (long long)verb_num(sys, "total_events", 0);

	if (json_is_number(cpu))
		snprintf(cpubuf, sizeof cpubuf, "%.2f%%", json_number_value(cpu));
	verb_text_add(t, "up %s · %lld %s, %lld running, %lld crashed · "
	    "%lld %s · plugins %.1f MB · daemon cpu %s mem %.1f MB",
	    verb_str(sys, "bot_uptime_human", "?"),
	    plugins, verb_plural(plugins, "plugin", "plugins"),
	    (long long)verb_num(sys, "plugins_running", 0),
	    (long long)verb_num(sys, "plugins_crashed", 0),
	    events, verb_plural(events, "event", "events"),
	    verb_num(sys, "total_memory_mb", 0),
	    cpubuf, verb_num(d, "memory_mb", 0));
}

/*
 * status: the system line and a line per plugin, at most
 * VERB_CHAT_MAX_LINES in all; or the one plugin asked for.
 */
void
verb_chat_status(const struct verb *v, json_t *res, struct verb_text *t)
{
	json_t	*list, *e;
	size_t	 i, n;

	if (json_object_get(res, "plugins") == NULL) {
		chat_status_line(res, NULL, t);
		return;
	}
	chat_system_line(json_object_get(res, "system"), t);
	list = json_object_get(res, "plugins");
	n = json_array_size(list);
	json_array_foreach(list, i, e) {
		if (i + 2 >= VERB_CHAT_MAX_LINES && n > VERB_CHAT_MAX_LINES - 1) {
			verb_text_add(t, "\n… and %zu more (supervisorctl status)",
			    n - i);
			break;
		}
		verb_text_add(t, "\n");
		chat_status_line(e, NULL, t);
	}
}

/* metrics: the status line with CPU aggregates, then the aggregates. */
void
verb_chat_metrics(const struct verb *v, json_t *res, struct verb_text *t)
{
	json_t		*agg = json_object_get(res, "aggregates"), *cpu, *mem;
	long long	 n;

	chat_status_line(json_object_get(res, "status"), agg, t);
	if (!json_is_object(agg)) {
		verb_text_add(t, "\nno samples yet");
		return;
	}
	cpu = json_object_get(agg, "cpu");
	mem = json_object_get(agg, "memory_mb");
	n = (long long)verb_num(agg, "sample_count", 0);
	verb_text_add(t, "\n%lld %s over %.0f s", n,
	    verb_plural(n, "sample", "samples"),
	    verb_num(agg, "time_span_seconds", 0));
	if (json_is_object(cpu))
		verb_text_add(t, " · cpu avg %.2f%% min %.2f%% max %.2f%% "
		    "p95 %.2f%%", verb_num(cpu, "avg", 0),
		    verb_num(cpu, "min", 0), verb_num(cpu, "max", 0),
		    verb_num(cpu, "p95", 0));
	if (json_is_object(mem))
		verb_text_add(t, " · mem avg %.2f MB max %.2f MB p95 %.2f MB",
		    verb_num(mem, "avg", 0), verb_num(mem, "max", 0),
		    verb_num(mem, "p95", 0));
	verb_text_add(t, " · %.2f events/min",
	    verb_num(agg, "events_per_minute", 0));
	if (strcmp(verb_str(res, "source", "raw"), "rollup") == 0)
		verb_text_add(t, " · from %.0f s buckets, p95 estimated",
		    verb_num(res, "resolution_seconds", 0));
}

/* crashes: the count and the breaker, then the newest five records. */
void
verb_chat_crashes(const struct verb *v, json_t *res, struct verb_text *t)
{
	json_t	*list = json_object_get(res, "crashes"), *e;
	size_t	 i, n = json_array_size(list);

	verb_text_add(t, "%s: %lld crash%s (breaker %s)",
	    verb_str(res, "plugin", "?"), (long long)verb_num(res, "total", 0),
	    verb_num(res, "total", 0) == 1 ? "" : "es",
	    verb_str(res, "breaker", "?"));
	for (i = n > 5 ? n - 5 : 0; i < n; i++) {
		e = json_array_get(list, i);
		verb_text_add(t, "\n%.19s %s", verb_str(e, "time_iso", "?"),
		    verb_str(e, "reason", "?"));
		if (json_is_string(json_object_get(e, "signal_name")))
			verb_text_add(t, " %s", verb_str(e, "signal_name", ""));
		else if (json_is_integer(json_object_get(e, "exit_code")))
			verb_text_add(t, " code %lld",
			    (long long)verb_num(e, "exit_code", 0));
		verb_text_add(t, " after %.1f s",
		    verb_num(e, "uptime_seconds", 0));
		if (json_is_string(json_object_get(e, "detail")))
			verb_text_add(t, ": %.100s", verb_str(e, "detail", ""));
	}
}

/* start, stop, restart: "dice-roller: restart asked, now STOPPING". */
void
verb_chat_action(const struct verb *v, json_t *res, struct verb_text *t)
{
	json_t		*list, *item;
	size_t		 i;
	const char	*result;

	/*
	 * all, or a list: one line per plugin, then the counts; at most
	 * VERB_CHAT_MAX_LINES in all, so restart all of a thousand plugins
	 * still ends with its counts.
	 */
	if ((list = json_object_get(res, "plugins")) != NULL) {
		json_array_foreach(list, i, item) {
			if (i + 2 >= VERB_CHAT_MAX_LINES &&
			    json_array_size(list) > VERB_CHAT_MAX_LINES - 1) {
				verb_text_add(t, "… and %zu more\n",
				    json_array_size(list) - i);
				break;
			}
			result = verb_str(item, "result", "done");
			if (strcmp(result, "done") == 0)
				verb_text_add(t, "%s: %s asked, now %s\n",
				    verb_str(item, "plugin", "?"), v->name,
				    verb_str(item, "state", "?"));
			else
				verb_text_add(t, "%s: %s: %s\n",
				    verb_str(item, "plugin", "?"),
				    strcmp(result, "skipped") == 0 ?
				    "skipped" : "FAILED",
				    verb_str(item, "message", "?"));
		}
		verb_text_add(t, "%s: %lld done, %lld skipped, %lld failed",
		    v->name, verb_int(res, "done", 0),
		    verb_int(res, "skipped", 0), verb_int(res, "failed", 0));
		return;
	}
	verb_text_add(t, "%s: %s asked, now %s", verb_str(res, "plugin", "?"),
	    v->name, verb_str(res, "state", "?"));
}

/* signal: "dice-roller: SIGHUP sent to pid 4242 (RUNNING)". */
void
verb_chat_signal(const struct verb *v, json_t *res, struct verb_text *t)
{
	verb_text_add(t, "%s: %s sent to pid %lld (%s)",
	    verb_str(res, "plugin", "?"), verb_str(res, "signal", "?"),
	    verb_int(res, "pid", 0), verb_str(res, "state", "?"));
}

/* upgrade: "dice-roller: upgrading, new pid 4243 beside pid 4242; ...". */
void
verb_chat_upgrade(const struct verb *v, json_t *res, struct verb_text *t)
{
	json_t	*u = json_object_get(res, "upgrade");

	verb_text_add(t, "%s: upgrading, new pid %lld beside pid %lld; the "
	    "outcome follows here", verb_str(res, "plugin", "?"),
	    verb_int(u, "new_pid", 0), verb_int(res, "pid", 0));
}

/* reload: the counts of what changed. */
void
verb_chat_reload(const struct verb *v, json_t *res, struct verb_text *t)
{
	verb_text_add(t, "reloaded: %zu added, %zu removed, %zu changed, "
	    "%lld unchanged", json_array_size(json_object_get(res, "added")),
	    json_array_size(json_object_get(res, "removed")),
	    json_array_size(json_object_get(res, "changed")),
	    (long long)verb_num(res, "unchanged", 0));
	if (json_array_size(json_object_get(res, "not_applied")) > 0)
		verb_text_add(t, " (socket/metrics changes need a daemon "
		    "restart)");
}

void
verb_chat_system(const struct verb *v, json_t *res, struct verb_text *t)
{
	chat_system_line(res, t);
	if (json_is_string(json_object_get(res, "containment")))
		verb_text_add(t, " · containment %s", verb_str(res,
		    "containment", "?"));
}

void
verb_chat_version(const struct verb *v, json_t *res, struct verb_text *t)
{
	verb_text_add(t, "supervisor %s, protocol %lld",
	    verb_str(res, "version", "?"), (long long)verb_num(res, "protocol",
	    0));
}

/* help: the verbs allowed in chat, and those a plugin name follows. */
void
verb_chat_help(const struct verb *v, json_t *res, struct verb_text *t)
{
	struct verb	 entry;
	json_t		*e;
	char		 key[32];
	size_t		 i, n = 0;

	verb_text_add(t, "!admin verbs:");
	json_array_foreach(json_object_get(res, "verbs"), i, e) {
		if (json_is_true(json_object_get(e, "chat")))
			verb_text_add(t, " %s", verb_str(e, "name", "?"));
	}
	verb_text_add(t, " (a plugin name follows");
	json_array_foreach(json_object_get(res, "verbs"), i, e) {
		memset(&entry, 0, sizeof entry);
		entry.args = verb_str(e, "args", "");
		if (json_is_true(json_object_get(e, "chat")) &&
		    verb_arg(&entry, 0, key, sizeof key, NULL) == 0 &&
		    strcmp(key, "plugin") == 0)
			verb_text_add(t, "%s%s", n++ ? ", " : " ",
			    verb_str(e, "name", "?"));
	}
	verb_text_add(t, ")");
}

/* "8ball, hot-cpu" from an array of objects' key. */
static void
chat_names(json_t *list, const char *key, struct verb_text *t)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(list, i, e)
		verb_text_add(t, "%s%s", i ? ", " : "", verb_str(e, key, "?"));
}

/*
 * alerts: one line of counts, then what fires (its line and how long),
 * or when nothing does, the newest lines of the history.
 */
void
verb_chat_alerts(const struct verb *v, json_t *res, struct verb_text *t)
{
	json_t	*firing = json_object_get(res, "firing");
	json_t	*history = json_object_get(res, "history");
	json_t	*silences = json_object_get(res, "silences"), *e;
	char	 span[32];
	size_t	 i, n = json_array_size(firing), lines = 1, h;

	verb_text_add(t, "alerts: %zu firing · %zu pending · %zu silenced",
	    n, json_array_size(json_object_get(res, "pending")),
	    json_array_size(silences));
	if (json_array_size(silences) > 0) {
		verb_text_add(t, " (");
		chat_names(silences, "name", t);
		verb_text_add(t, ")");
	}
	verb_text_add(t, " · %lld rule%s", verb_int(res, "rules", 0),
	    verb_int(res, "rules", 0) == 1 ? "" : "s");
	json_array_foreach(firing, i, e) {
		if (lines + 1 >= VERB_CHAT_MAX_LINES && n - i > 1) {
			verb_text_add(t, "\n… and %zu more (supervisorctl "
			    "alerts)", n - i);
			return;
		}
		verb_text_add(t, "\n%s %s (%lld×, for %s%s)",
		    verb_alert_marker(verb_str(e, "severity", "")),
		    verb_str(e, "text", "?"), verb_int(e, "count", 0),
		    metrics_format_uptime(verb_num(e, "for_seconds", 0), span,
		    sizeof span), json_is_true(json_object_get(e, "silenced")) ?
		    ", silenced" : "");
		lines++;
	}
	if (n > 0)
		return;
	h = json_array_size(history);
	if (h == 0) {
		verb_text_add(t, "\nno alert lines yet");
		return;
	}
	for (i = h > 3 ? h - 3 : 0; i < h; i++) {
		e = json_array_get(history, i);
		verb_text_add(t, "\n%.19s %s%s", verb_str(e, "time_iso", "?"),
		    verb_str(e, "text", "?"), json_is_true(json_object_get(e,
		    "silenced")) ? " (silenced)" : "");
	}
}

/* silence: "8ball silenced for 10m", "8ball: silence lifted". */
void
verb_chat_silence(const struct verb *v, json_t *res, struct verb_text *t)
{
	char	span[32];

	if (!json_is_true(json_object_get(res, "silenced"))) {
		verb_text_add(t, "%s: silence lifted", verb_str(res, "name",
		    "?"));
		return;
	}
	verb_text_add(t, "%s silenced for %s", verb_str(res, "name", "?"),
	    metrics_format_uptime(verb_num(res, "seconds", 0), span,
	    sizeof span));
}

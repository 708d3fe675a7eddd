/*
 * admin.c: "!admin VERB [PLUGIN] [WINDOW]" in chat. The verb runs through
 * the same command table as the control socket; its JSON result is turned
 * into a few chat-sized lines here. Only identities matching chat.admins
 * may use it, each at most once per chat.admin_rate seconds.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "supervisor/supervisor.h"

/* Identities remembered for the rate limit before the table is reset. */
#define ADMIN_RATE_MAX	4096
/* Lines of one chat answer at most. */
#define ADMIN_MAX_LINES	12

static struct hmap	*admin_last;	/* identity → double * (monotonic) */

/*
 * Glob match with '*' (any run) and '?' (one character), ignoring ASCII
 * case: IRC nicks and host names are case-insensitive.
 */
int
admin_match(const char *pattern, const char *s)
{
	const char	*star = NULL, *back = NULL;

	while (*s != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			back = s;
		} else if (*pattern == '?' || tolower((unsigned char)*pattern) ==
		    tolower((unsigned char)*s)) {
			pattern++;
			s++;
		} else if (star != NULL) {
			pattern = star + 1;
			s = ++back;
		} else
			return 0;
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

/* 1 if the identity matches one of chat.admins. */
int
admin_allowed(const char *identity)
{
	size_t	i;

	for (i = 0; i < server->config->nadmins; i++) {
		if (admin_match(server->config->admins[i], identity))
			return 1;
	}
	return 0;
}

/* 0 if the identity may run a command now, else seconds left to wait. */
static double
admin_rate_wait(const char *identity)
{
	double	*last, now = clock_mono(), rate = server->config->admin_rate;

	if (admin_last == NULL)
		admin_last = hmap_new();
	if ((last = hmap_sget(admin_last, identity)) != NULL) {
		if (now - *last < rate)
			return rate - (now - *last);
		*last = now;
		return 0;
	}
	if (hmap_count(admin_last) >= ADMIN_RATE_MAX) {
		admin_free();
		admin_last = hmap_new();
	}
	last = xmalloc(sizeof *last);
	*last = now;
	hmap_sput(admin_last, identity, last);
	return 0;
}

/* Release the rate-limit table (it owns its values). */
void
admin_free(void)
{
	hmap_free_with(admin_last, free);
	admin_last = NULL;
}

static const char *
admin_str(json_t *o, const char *key, const char *def)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

static double
admin_num(json_t *o, const char *key, double def)
{
	json_t	*v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : def;
}

/* "dice-roller RUNNING pid 4242 up 3h 5m · cpu 0.4% · mem 1.8 MB · 57 events · 2 crashes" */
static void
admin_status_line(json_t *st, json_t *agg, char *buf, size_t size)
{
	json_t	*ev = json_object_get(st, "events"), *pid, *cpu;
	size_t	 off;

	off = (size_t)snprintf(buf, size, "%s %s", admin_str(st, "name", "?"),
	    admin_str(st, "state", "?"));
	pid = json_object_get(st, "pid");
	if (json_is_integer(pid) && off < size)
		off += (size_t)snprintf(buf + off, size - off, " pid %lld up %s",
		    (long long)json_integer_value(pid),
		    admin_str(st, "uptime_human", "?"));
	cpu = agg ? json_object_get(agg, "cpu") : NULL;
	if (json_is_object(cpu) && off < size)
		off += (size_t)snprintf(buf + off, size - off, " · cpu avg %.1f%% "
		    "p95 %.1f%%", admin_num(cpu, "avg", 0), admin_num(cpu, "p95", 0));
	else if (json_is_number(json_object_get(st, "cpu_percent")) && off < size)
		off += (size_t)snprintf(buf + off, size - off, " · cpu %.1f%%",
		    admin_num(st, "cpu_percent", 0));
	if (json_is_number(json_object_get(st, "memory_mb")) && off < size)
		off += (size_t)snprintf(buf + off, size - off, " · mem %.1f MB",
		    admin_num(st, "memory_mb", 0));
	if (off < size)
		snprintf(buf + off, size - off, " · %lld events · %lld crashes",
		    (long long)admin_num(ev, "routed", 0),
		    (long long)admin_num(st, "crashes", 0));
}

static void
admin_system_line(json_t *sys, char *buf, size_t size)
{
	json_t	*d = json_object_get(sys, "daemon");
	json_t	*cpu = json_object_get(d, "cpu_percent");

	char	cpubuf[32] = "-";

	if (json_is_number(cpu))
		snprintf(cpubuf, sizeof cpubuf, "%.2f%%", json_number_value(cpu));
	snprintf(buf, size, "up %s · %lld plugins, %lld running, %lld crashed · "
	    "%lld events · plugins %.1f MB · daemon cpu %s mem %.1f MB",
	    admin_str(sys, "bot_uptime_human", "?"),
	    (long long)admin_num(sys, "total_plugins", 0),
	    (long long)admin_num(sys, "plugins_running", 0),
	    (long long)admin_num(sys, "plugins_crashed", 0),
	    (long long)admin_num(sys, "total_events", 0),
	    admin_num(sys, "total_memory_mb", 0),
	    cpubuf, admin_num(d, "memory_mb", 0));
}

/* Turn a verb's result into chat lines (joined with newlines). */
static void
admin_format(const char *verb, json_t *res, char *out, size_t size)
{
	char	 line[512];
	json_t	*v, *e;
	size_t	 off = 0, i, n;

#define ADD(...) do {							\
	if (off < size)							\
		off += (size_t)snprintf(out + off, size - off, __VA_ARGS__); \
} while (0)

	out[0] = '\0';
	if (strcmp(verb, "status") == 0 && json_object_get(res, "plugins")) {
		admin_system_line(json_object_get(res, "system"), line,
		    sizeof line);
		ADD("%s", line);
		v = json_object_get(res, "plugins");
		n = json_array_size(v);
		json_array_foreach(v, i, e) {
			if (i + 2 >= ADMIN_MAX_LINES && n > ADMIN_MAX_LINES - 1) {
				ADD("\n… and %zu more (supervisorctl status)",
				    n - i);
				break;
			}
			admin_status_line(e, NULL, line, sizeof line);
			ADD("\n%s", line);
		}
	} else if (strcmp(verb, "status") == 0) {
		admin_status_line(res, NULL, line, sizeof line);
		ADD("%s", line);
	} else if (strcmp(verb, "metrics") == 0) {
		json_t	*agg = json_object_get(res, "aggregates");

		admin_status_line(json_object_get(res, "status"), agg, line,
		    sizeof line);
		ADD("%s", line);
		if (json_is_object(agg)) {
			json_t	*cpu = json_object_get(agg, "cpu");
			json_t	*mem = json_object_get(agg, "memory_mb");

			ADD("\n%lld samples over %.0f s",
			    (long long)admin_num(agg, "sample_count", 0),
			    admin_num(agg, "time_span_seconds", 0));
			if (json_is_object(cpu))
				ADD(" · cpu avg %.2f%% min %.2f%% max %.2f%% "
				    "p95 %.2f%%", admin_num(cpu, "avg", 0),
				    admin_num(cpu, "min", 0),
				    admin_num(cpu, "max", 0),
				    admin_num(cpu, "p95", 0));
			if (json_is_object(mem))
				ADD(" · mem avg %.2f MB max %.2f MB p95 %.2f MB",
				    admin_num(mem, "avg", 0),
				    admin_num(mem, "max", 0),
				    admin_num(mem, "p95", 0));
			ADD(" · %.2f events/min",
			    admin_num(agg, "events_per_minute", 0));
		} else
			ADD("\nno samples yet");
	} else if (strcmp(verb, "crashes") == 0) {
		v = json_object_get(res, "crashes");
		n = json_array_size(v);
		ADD("%s: %lld crash%s (breaker %s)", admin_str(res, "plugin", "?"),
		    (long long)admin_num(res, "total", 0),
		    admin_num(res, "total", 0) == 1 ? "" : "es",
		    admin_str(res, "breaker", "?"));
		for (i = n > 5 ? n - 5 : 0; i < n; i++) {
			e = json_array_get(v, i);
			ADD("\n%.19s %s", admin_str(e, "time_iso", "?"),
			    admin_str(e, "reason", "?"));
			if (json_is_string(json_object_get(e, "signal_name")))
				ADD(" %s", admin_str(e, "signal_name", ""));
			else
				ADD(" code %lld",
				    (long long)admin_num(e, "exit_code", 0));
			ADD(" after %.1f s", admin_num(e, "uptime_seconds", 0));
			if (json_is_string(json_object_get(e, "detail")))
				ADD(": %.100s", admin_str(e, "detail", ""));
		}
	} else if (strcmp(verb, "start") == 0 || strcmp(verb, "stop") == 0 ||
	    strcmp(verb, "restart") == 0) {
		ADD("%s: %s asked, now %s", admin_str(res, "plugin", "?"), verb,
		    admin_str(res, "state", "?"));
	} else if (strcmp(verb, "reload") == 0) {
		ADD("reloaded: %zu added, %zu removed, %zu changed, %lld unchanged",
		    json_array_size(json_object_get(res, "added")),
		    json_array_size(json_object_get(res, "removed")),
		    json_array_size(json_object_get(res, "changed")),
		    (long long)admin_num(res, "unchanged", 0));
		if (json_array_size(json_object_get(res, "not_applied")) > 0)
			ADD(" (socket/metrics changes need a daemon restart)");
	} else if (strcmp(verb, "system") == 0) {
		admin_system_line(res, line, sizeof line);
		ADD("%s", line);
	} else if (strcmp(verb, "version") == 0) {
		ADD("supervisor %s, protocol %lld", admin_str(res, "version", "?"),
		    (long long)admin_num(res, "protocol", 0));
	} else if (strcmp(verb, "help") == 0) {
		ADD("!admin verbs:");
		json_array_foreach(json_object_get(res, "verbs"), i, e) {
			if (json_is_true(json_object_get(e, "chat")))
				ADD(" %s", admin_str(e, "name", "?"));
		}
		ADD(" (a plugin name follows status, metrics, crashes, start, "
		    "stop, restart)");
	}
#undef ADD
}

/* !admin from chat: check, rate-limit, run through the table, answer. */
void
admin_command(struct plugin *c, const char *platform, const char *channel,
    const char *user, const char *args)
{
	const struct cmd_entry	*ce;
	char			 identity[300], verb[33], name[65], window[33];
	char			 out[IPC_MAX_TEXT];
	json_t			*req, *reply, *err;
	struct jsonw		 text;
	double			 wait;
	int			 n;

	snprintf(identity, sizeof identity, "%s:%s", platform, user);
	if (!admin_allowed(identity)) {
		log_warnx("admin: refused \"!admin %.100s\" from %s (not in "
		    "chat.admins)", args, identity);
		router_send_say(c, platform, channel, user, "not allowed: "
		    "!admin is for the bot's admins");
		return;
	}
	if ((wait = admin_rate_wait(identity)) > 0) {
		snprintf(out, sizeof out, "slow down: one admin command every "
		    "%g s (wait %.1f s)", server->config->admin_rate, wait);
		router_send_say(c, platform, channel, user, out);
		return;
	}
	verb[0] = name[0] = window[0] = '\0';
	n = sscanf(args, "%32s %64s %32s", verb, name, window);
	if (n < 1)
		strlcpy_(verb, "help", sizeof verb);
	if ((ce = cmd_find(verb)) == NULL || !(ce->flags & CMD_CHAT)) {
		snprintf(out, sizeof out, "unknown admin verb \"%s\"; try "
		    "%sadmin help", verb, server->config->prefix);
		router_send_say(c, platform, channel, user, out);
		return;
	}
	log_info("admin: %s runs \"%s%s%s\"", identity, verb, name[0] ? " " : "",
	    name);
	req = json_pack("{s:s}", "cmd", verb);
	if (name[0] != '\0')
		json_object_set_new(req, "plugin", json_string(name));
	if (window[0] != '\0')
		json_object_set_new(req, "window", json_string(window));
	jw_init(&text);
	cmd_execute(req, NULL, identity, &text);
	/* The command table writes JSON text; chat reads it back. */
	if ((reply = json_loadb(text.buf, text.len, 0, NULL)) == NULL)
		fatalx("%s: the reply to \"%s\" is not valid JSON", __func__,
		    verb);
	jw_free(&text);
	if (json_is_true(json_object_get(reply, "ok")))
		admin_format(verb, json_object_get(reply, "result"), out,
		    sizeof out);
	else {
		err = json_object_get(reply, "error");
		snprintf(out, sizeof out, "error: %s",
		    admin_str(err, "message", "?"));
	}
	router_send_say(c, platform, channel, user, out);
	json_decref(reply);
	json_decref(req);
}

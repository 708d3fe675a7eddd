/*
 * alert.c: alerts in the daemon (docs/alerts.md). The lifecycle's
 * transitions and the sampling tick feed the book and the rules
 * (alert-book.c, alert-eval.c: pure, unit-tested); the lines they emit are
 * logged, published on the control socket's `alert` topic, and sent to the
 * connector channels of alerts.targets.
 *
 * Sending never blocks or waits on anything: each target has a token
 * bucket (alerts.rate, alerts.burst) and a small ring of lines
 * (alerts.queue) that hold what the bucket or a connector that is not
 * RUNNING holds back. When the ring is full the oldest line goes and is
 * counted; the next line sent there says how many went. One timer, armed
 * only while something is due (a summary, a repeat, a silence's end, a
 * line the bucket held), does the rest; rules are evaluated on the
 * sampling tick, and cost nothing when there are none.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ratelimit.h"
#include "metrics/metrics.h"
#include "supervisor/alert.h"
#include "supervisor/supervisor.h"

/* Bytes of a stderr line quoted in a crash alert. */
#define ALERT_STDERR_CHARS	120

/* One connector channel lines go to. */
struct alert_target {
	char			*connector;
	char			*channel;
	struct tbucket		 bucket;
	char			**queue;	/* a ring of lines waiting */
	size_t			 qcap;
	size_t			 qhead;
	size_t			 qlen;
	uint64_t		 sent;
	uint64_t		 dropped;	/* ever: the ring was full */
	uint64_t		 unsaid;	/* dropped since the last line sent */
};

static struct alert_book	*alert_book;
static struct alert_rules	*alert_rules;
static struct alert_target	*alert_targets;
static size_t			 alert_ntargets;
static struct event		*alert_timer;
static double			 alert_flush_at;	/* mono; 0: none */

static void	alert_emitted(void *, const struct alert_note *);
static void	alert_arm(void);
static void	alert_timer_cb(evutil_socket_t, short, void *);

static void	alert_fmt(char *, size_t, const char *, ...) printflike(3, 4);

/* Format into buf, cut at its end (lines are made valid UTF-8 later). */
static void
alert_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Now, on both clocks. */
static struct alert_time
alert_now(void)
{
	struct alert_time	now = { clock_mono(), clock_wall() };

	return now;
}

static void
alert_target_free(struct alert_target *t)
{
	size_t	i;

	for (i = 0; i < t->qlen; i++)
		free(t->queue[(t->qhead + i) % t->qcap]);
	free(t->queue);
	free(t->connector);
	free(t->channel);
}

/*
 * Targets from the config. One that was there before keeps its lines,
 * bucket and counters (as many lines as the new queue holds, the newest).
 */
static void
alert_set_targets(const struct alerts_config *al)
{
	struct alert_target	*old = alert_targets, *t, *o;
	size_t			 nold = alert_ntargets, i, j, keep;
	double			 now = clock_mono();

	alert_targets = al->ntargets ? xcalloc(al->ntargets,
	    sizeof *alert_targets) : NULL;
	alert_ntargets = al->ntargets;
	for (i = 0; i < al->ntargets; i++) {
		t = &alert_targets[i];
		t->connector = xstrdup(al->targets[i].connector);
		t->channel = xstrdup(al->targets[i].channel);
		t->qcap = (size_t)al->queue;
		t->queue = t->qcap ? xcalloc(t->qcap, sizeof *t->queue) : NULL;
		tbucket_init(&t->bucket, al->rate, al->burst, now);
		for (j = 0; j < nold; j++) {
			o = &old[j];
			if (o->connector == NULL ||
			    strcmp(o->connector, t->connector) != 0 ||
			    strcmp(o->channel, t->channel) != 0)
				continue;
			t->sent = o->sent;
			t->dropped = o->dropped;
			t->unsaid = o->unsaid;
			t->bucket.tokens = o->bucket.tokens < t->bucket.burst ?
			    o->bucket.tokens : t->bucket.burst;
			t->bucket.last = o->bucket.last;
			keep = o->qlen < t->qcap ? o->qlen : t->qcap;
			t->dropped += o->qlen - keep;
			t->unsaid += o->qlen - keep;
			for (; o->qlen > 0; o->qlen--, o->qhead = (o->qhead +
			    1) % o->qcap) {
				if (o->qlen > keep)
					free(o->queue[o->qhead]);
				else
					t->queue[t->qlen++] =
					    o->queue[o->qhead];
			}
			break;
		}
	}
	for (j = 0; j < nold; j++)
		alert_target_free(&old[j]);
	free(old);
}

/*
 * The rules from the config. Rules that are the same as before keep their
 * alerts; when any changed, the alerts of rules that are gone or changed
 * are resolved ("changed by a reload"), and every plugin's state is
 * rebuilt (the rule set's generation) at the next tick.
 */
static void
alert_set_rules(const struct alerts_config *al)
{
	const struct alert_rule_config	*r;
	const struct alert_list		*list;
	struct alert			*a, *next;
	struct alert_time		 now = alert_now();
	char				 text[ALERT_TEXT_MAX];
	size_t				 i, j, n = alert_rules_count(alert_rules);
	int				 same = n == al->nrules, kept;

	for (i = 0; same && i < n; i++)
		same = config_alert_rule_equal(alert_rules_get(alert_rules, i),
		    &al->rules[i]);
	if (same && alert_rules != NULL)
		return;
	list = alert_book_alerts(alert_book);
	for (a = TAILQ_FIRST(list); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (!a->firing || strcmp(a->source, ALERT_SOURCE_CRASH) == 0)
			continue;
		kept = 0;
		for (i = 0; i < n && !kept; i++) {
			r = alert_rules_get(alert_rules, i);
			if (strcmp(r->name, a->source) != 0)
				continue;
			for (j = 0; j < al->nrules && !kept; j++)
				kept = config_alert_rule_equal(r, &al->rules[j]);
		}
		if (kept)
			continue;
		alert_fmt(text, sizeof text, "%s on %s: the rule was changed "
		    "or removed by a reload", a->source, a->plugin);
		alert_resolve(alert_book, a, text, "rule changed by a reload",
		    0, &now);
	}
	alert_rules_free(alert_rules);
	alert_rules = alert_rules_new(al);
}

/* Take the alerts section of a config: at start and on each reload. */
void
alert_configure(const struct config *cf)
{
	const struct alerts_config	*al = &cf->alerts;

	if (alert_book == NULL) {
		alert_book = alert_book_new(alert_emitted, NULL);
		alert_timer = evtimer_new(server->base, alert_timer_cb, NULL);
	}
	alert_book_configure(alert_book, al->repeat, al->collapse);
	alert_set_targets(al);
	alert_set_rules(al);
	alert_flush_at = clock_mono();
	alert_arm();
}

void
alert_free(void)
{
	size_t	i;

	for (i = 0; i < alert_ntargets; i++)
		alert_target_free(&alert_targets[i]);
	free(alert_targets);
	alert_targets = NULL;
	alert_ntargets = 0;
	alert_rules_free(alert_rules);
	alert_rules = NULL;
	alert_book_free(alert_book);
	alert_book = NULL;
	if (alert_timer != NULL)
		event_free(alert_timer);
	alert_timer = NULL;
}

/* Queue a line for a target; the oldest goes if the ring is full. */
static void
alert_enqueue(struct alert_target *t, const char *text)
{
	if (t->qcap == 0) {
		t->dropped++;
		t->unsaid++;
		return;
	}
	if (t->qlen == t->qcap) {
		free(t->queue[t->qhead]);
		t->qhead = (t->qhead + 1) % t->qcap;
		t->qlen--;
		t->dropped++;
		t->unsaid++;
	}
	t->queue[(t->qhead + t->qlen++) % t->qcap] = xstrdup(text);
}

/* The connector a target names, if it can take a line now. */
static struct plugin *
alert_target_ready(const struct alert_target *t)
{
	struct plugin	*c = server_find_plugin(t->connector);

	if (c == NULL || c->removed || c->state != PLUGIN_RUNNING ||
	    c->kill_reason != KILL_NONE)
		return NULL;
	return c;
}

/*
 * Send what waits, as far as each target's connector and bucket allow.
 * Returns when (mono) a bucket has room again for what is left, 0 if
 * nothing waits for a bucket (a connector that is down is waited for by
 * its transition to RUNNING).
 */
static double
alert_flush(void)
{
	struct alert_target	*t;
	struct plugin		*c;
	char			 note[160];
	double			 now = clock_mono(), next = 0, wait;
	size_t			 i;

	for (i = 0; i < alert_ntargets; i++) {
		t = &alert_targets[i];
		if ((t->qlen == 0 && t->unsaid == 0) ||
		    (c = alert_target_ready(t)) == NULL)
			continue;
		while (t->qlen > 0 || t->unsaid > 0) {
			if (!tbucket_take(&t->bucket, 1, now)) {
				wait = now + tbucket_wait(&t->bucket, 1, now);
				if (next == 0 || wait < next)
					next = wait;
				break;
			}
			if (t->unsaid > 0) {
				alert_fmt(note, sizeof note, "🟠 %llu alert "
				    "line%s for %s dropped here (queue full); "
				    "supervisorctl alerts has the history",
				    (unsigned long long)t->unsaid,
				    t->unsaid == 1 ? "" : "s", t->channel);
				t->unsaid = 0;
				router_send_say(c, config_platform(c->conf),
				    t->channel, NULL, note);
			} else {
				router_send_say(c, config_platform(c->conf),
				    t->channel, NULL, t->queue[t->qhead]);
				free(t->queue[t->qhead]);
				t->qhead = (t->qhead + 1) % t->qcap;
				t->qlen--;
			}
			t->sent++;
		}
	}
	return next;
}

/*
 * Arm the one timer for whatever is due next (the book's periodic work, a
 * target's lines), or leave it unarmed. Lines are only ever sent from the
 * timer: never in the middle of a transition or a command.
 */
static void
alert_arm(void)
{
	struct timeval	tv;
	double		now, next;

	if (alert_book == NULL)
		return;
	next = alert_book_due(alert_book);
	if (alert_flush_at > 0 && (next == 0 || alert_flush_at < next))
		next = alert_flush_at;
	if (next == 0) {
		evtimer_del(alert_timer);
		return;
	}
	now = clock_mono();
	tv = clock_timeval(next > now ? next - now : 0);
	evtimer_add(alert_timer, &tv);
}

/* The book's periodic work, then what waits for the targets. */
static void
alert_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct alert_time	now = alert_now();
	double			due = alert_book_due(alert_book);

	if (due > 0 && due <= now.mono)
		alert_book_tick(alert_book, &now);
	if (alert_flush_at > 0 && alert_flush_at <= clock_mono())
		alert_flush_at = alert_flush();
	alert_arm();
}

/* A line from the book: the log, the topic, and the targets. */
static void
alert_emitted(void *arg, const struct alert_note *n)
{
	size_t	i;

	log_info("alert: %s%s", n->text, n->silenced ? " (silenced)" : "");
	control_publish_alert(n);
	if (n->silenced || alert_ntargets == 0)
		return;
	for (i = 0; i < alert_ntargets; i++)
		alert_enqueue(&alert_targets[i], n->text);
	alert_flush_at = clock_mono();
}

/* "exit 3", "signal SIGSEGV (11), core dumped" for a crash record. */
static void
alert_how(const struct crash_record *cr, char *buf, size_t len)
{
	if (cr->signal != 0)
		alert_fmt(buf, len, "signal %s (%d)%s",
		    metrics_signal_name(cr->signal), cr->signal,
		    cr->core_dumped ? ", core dumped" : "");
	else
		alert_fmt(buf, len, "exit %d", cr->exit_code);
}

/*
 * The lifecycle switch a crash falls under, and what it reads as: a
 * failed handshake (no ready in time, or a bad one), a kill for a limit or
 * a hang, or a crash.
 */
static unsigned
alert_crash_kind(const struct crash_record *cr, enum plugin_state from,
    char *what, size_t len)
{
	char	how[64];

	alert_how(cr, how, sizeof how);
	switch (cr->reason) {
	case CRASH_READY_TIMEOUT:
		alert_fmt(what, len, "failed its ready handshake: %s",
		    cr->detail ? cr->detail : "no ready in time");
		return ALERT_ON_READY;
	case CRASH_PROTOCOL:
		if (from == PLUGIN_STARTING) {
			alert_fmt(what, len, "failed its ready handshake: %s",
			    cr->detail ? cr->detail : "protocol");
			return ALERT_ON_READY;
		}
		alert_fmt(what, len, "killed (protocol): %s",
		    cr->detail ? cr->detail : "protocol violation");
		return ALERT_ON_CRASH;
	case CRASH_HUNG:
		alert_fmt(what, len, "killed (hung): %s",
		    cr->detail ? cr->detail : "no pong");
		return ALERT_ON_HUNG;
	case CRASH_MEMORY_LIMIT:
		alert_fmt(what, len, "killed (memory-limit): %s",
		    cr->detail ? cr->detail : "over limits.memory_mb");
		return ALERT_ON_MEMORY_LIMIT;
	case CRASH_CPU_LIMIT:
		alert_fmt(what, len, "killed (cpu-limit): %s",
		    cr->detail ? cr->detail : "over limits.cpu_percent");
		return ALERT_ON_CPU_LIMIT;
	case CRASH_SPAWN:
		alert_fmt(what, len, "could not start: %s",
		    cr->detail ? cr->detail : "spawn failed");
		return ALERT_ON_CRASH;
	case CRASH_EXIT:
	case CRASH_SIGNAL:
		break;
	}
	alert_fmt(what, len, "crashed: %s", how);
	return ALERT_ON_CRASH;
}

/* " · stderr: LAST LINE" of a crash record, or nothing. */
static void
alert_stderr(const struct crash_record *cr, char *buf, size_t len)
{
	const char	*line;

	buf[0] = '\0';
	if (cr->nlines == 0)
		return;
	line = cr->stderr_lines[cr->nlines - 1];
	alert_fmt(buf, len, " · stderr: %.*s%s", ALERT_STDERR_CHARS, line,
	    strlen(line) > ALERT_STDERR_CHARS ? "…" : "");
}

/*
 * A plugin crashed (the action that sends this transition is "crashed"):
 * an occurrence of its crash alert, or an escalation when the breaker
 * opened (FATAL). Each kind has its switch in alerts.lifecycle.
 */
static void
alert_crashed(struct plugin *p, const struct transition *t,
    const struct alert_time *now)
{
	const struct restart_policy	*pol = &p->conf->restart;
	const struct crash_record	*cr = crashlog_latest(p->crashes);
	unsigned			 on = server->config->alerts.lifecycle;
	unsigned			 kind;
	char				 what[320], next[96], status[128];
	char				 text[ALERT_TEXT_MAX], err[200], up[40];

	if (cr == NULL)
		return;
	kind = alert_crash_kind(cr, t->from, what, sizeof what);
	alert_stderr(cr, err, sizeof err);
	up[0] = '\0';
	if (cr->reason != CRASH_SPAWN)
		alert_fmt(up, sizeof up, " after %.1f s", cr->uptime);
	if (t->to == PLUGIN_FATAL && (on & ALERT_ON_CRASH_LOOP)) {
		alert_fmt(status, sizeof status, "FATAL, %s", pol->cooldown > 0 ?
		    "trial start after the cooldown" : "until a manual start");
		alert_fmt(text, sizeof text, "%s FATAL: %s · last: %s%s%s",
		    p->name, t->reason, what, up, err);
		alert_occur(alert_book, ALERT_SOURCE_CRASH, p->name,
		    ALERT_CRITICAL, text, status, now);
		return;
	}
	if (!(on & kind))
		return;
	switch (t->to) {
	case PLUGIN_BACKOFF:
		alert_fmt(next, sizeof next, "restart %u in %g s",
		    p->restart.consecutive, restart_delay(pol,
		    p->restart.consecutive));
		alert_fmt(status, sizeof status, "BACKOFF, %s", next);
		break;
	case PLUGIN_FATAL:
		alert_fmt(next, sizeof next, "FATAL (crash loop)");
		alert_fmt(status, sizeof status, "FATAL");
		break;
	default:
		alert_fmt(next, sizeof next, "not restarted (autorestart %s)",
		    config_autorestart_name(pol->autorestart));
		alert_fmt(status, sizeof status, "STOPPED");
		break;
	}
	alert_fmt(text, sizeof text, "%s %s%s; %s%s", p->name, what, up, next,
	    err);
	alert_occur(alert_book, ALERT_SOURCE_CRASH, p->name, ALERT_WARNING,
	    text, status, now);
}

/* The plugin is back (or stopped by hand): its crash alert is over. */
static void
alert_recovered(struct plugin *p, struct alert *a, const char *how,
    const struct alert_time *now)
{
	char	text[ALERT_TEXT_MAX], span[32];

	alert_fmt(text, sizeof text, "%s %s after %u crash%s in %s%s", p->name,
	    how, a->count, a->count == 1 ? "" : "es",
	    alert_format_duration(now->mono - a->since, span, sizeof span),
	    a->severity == ALERT_CRITICAL && strcmp(how, "RUNNING again") == 0 ?
	    "; breaker closed" : "");
	alert_resolve(alert_book, a, text, how,
	    !(server->config->alerts.lifecycle & ALERT_ON_RECOVERY), now);
}

/* 1 if the plugin is a target's connector. */
static int
alert_is_target(const struct plugin *p)
{
	size_t	i;

	for (i = 0; i < alert_ntargets; i++) {
		if (strcmp(alert_targets[i].connector, p->name) == 0)
			return 1;
	}
	return 0;
}

/*
 * Every lifecycle transition (server_transition): crashes raise the
 * plugin's crash alert, RUNNING with the breaker closed (or a stop asked
 * for) ends it. A connector of a target that is RUNNING again sends what
 * waited. The daemon's own stop raises nothing.
 */
void
alert_transition(const struct transition *t)
{
	struct plugin		*p = (struct plugin *)t->plugin;
	struct alert		*a;
	struct alert_time	 now = alert_now();
	char			 how[200];

	if (alert_book == NULL)
		return;
	if (t->to == PLUGIN_RUNNING && alert_is_target(p))
		alert_flush_at = now.mono;
	if (!server->shutting_down) {
		a = alert_find(alert_book, ALERT_SOURCE_CRASH, p->name);
		if (p->action == LA_CRASHED)
			alert_crashed(p, t, &now);
		else if (a != NULL && a->firing && t->to == PLUGIN_RUNNING) {
			if (p->restart.breaker.state == BREAKER_CLOSED)
				alert_recovered(p, a, "RUNNING again", &now);
			else
				alert_set_status(a, "RUNNING on a trial start "
				    "(breaker half-open)");
		} else if (a != NULL && a->firing && t->to == PLUGIN_STOPPED) {
			alert_fmt(how, sizeof how, "STOPPED (%.150s)", t->reason);
			alert_recovered(p, a, how, &now);
		}
	}
	alert_arm();
}

/*
 * A crash alert of a plugin RUNNING on a trial start ends when its breaker
 * closes (reset_after of uptime), which is no transition: looked at on the
 * tick, for the alerts that fire only.
 */
static void
alert_check_breakers(const struct alert_time *now)
{
	const struct alert_list	*list = alert_book_alerts(alert_book);
	struct alert		*a, *next;
	struct plugin		*p;

	for (a = TAILQ_FIRST(list); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (!a->firing || strcmp(a->source, ALERT_SOURCE_CRASH) != 0 ||
		    (p = server_find_plugin(a->plugin)) == NULL)
			continue;
		if (p->state == PLUGIN_RUNNING &&
		    p->restart.breaker.state == BREAKER_CLOSED)
			alert_recovered(p, a, "RUNNING again", now);
	}
}

/*
 * The sampling tick (server.c's cron, after the samples): every rule on
 * every plugin it applies to. Nothing to do, nothing done: no rules and
 * no alert firing cost one test each.
 */
void
alert_tick(void)
{
	struct alert_time	 now;
	struct plugin		*p, *next;

	if (alert_book == NULL || (alert_rules == NULL &&
	    alert_book_firing(alert_book) == 0))
		return;
	now = alert_now();
	if (alert_rules != NULL && server->config->metrics_enabled) {
		TAILQ_FOREACH(p, &server->plugins, entry) {
			if ((next = TAILQ_NEXT(p, entry)) != NULL)
				alert_watch_prefetch(next->alert_watch);
			if (!p->removed)
				alert_evaluate(alert_rules, alert_book, p->name,
				    p->ring, &p->alert_watch, &now);
		}
	}
	if (alert_book_firing(alert_book) > 0)
		alert_check_breakers(&now);
	alert_arm();
}

/* A plugin is freed (removed by a reload, or the daemon's exit). */
void
alert_plugin_free(struct plugin *p)
{
	alert_watch_free(p->alert_watch);
	p->alert_watch = NULL;
	if (alert_book != NULL)
		alert_book_forget(alert_book, p->name);
}

/* 1 if a silence may name this: a plugin, a rule, or "crash". */
int
alert_known_name(const char *name)
{
	size_t	i;

	if (strcmp(name, ALERT_SOURCE_CRASH) == 0 ||
	    server_find_plugin(name) != NULL)
		return 1;
	for (i = 0; i < server->config->alerts.nrules; i++) {
		if (strcmp(server->config->alerts.rules[i].name, name) == 0)
			return 1;
	}
	return 0;
}

/* Silence a name for seconds; -1 if the table of silences is full. */
int
alert_silence_set(const char *name, double seconds)
{
	struct alert_time	now = alert_now();
	int			rc;

	rc = alert_silence(alert_book, name, seconds, &now);
	alert_arm();
	return rc;
}

/* Lift a silence; -1 if there was none. */
int
alert_silence_lift(const char *name)
{
	struct alert_time	now = alert_now();
	int			rc;

	rc = alert_unsilence(alert_book, name, &now);
	alert_arm();
	return rc;
}

/* ISO 8601 UTC, to the second. */
static json_t *
alert_iso(double t)
{
	char		buf[32];
	struct tm	tm;
	time_t		secs = (time_t)t;

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
alert_round(double v, double scale)
{
	return json_real(round_nearest(v * scale) / scale);
}

/* A pending rule (holds, not yet for `for`) for the `alerts` result. */
struct alert_pending_ctx {
	json_t			*list;
	struct alert_time	 now;
};

static void
alert_pending_cb(void *arg, const char *plugin, const struct alert_seen *s)
{
	struct alert_pending_ctx	*ctx = arg;
	double				 held;

	if (s->pending_since == 0 || s->firing)
		return;
	held = ctx->now.mono - s->pending_since;
	json_array_append_new(ctx->list, json_pack("{s:s, s:s, s:s, s:o, s:o, "
	    "s:o, s:o}", "rule", s->rule->name, "plugin", plugin,
	    "metric", config_alert_metric_name(s->rule->metric),
	    "value", isnan(s->value) ? json_null() : alert_round(s->value, 100),
	    "since", alert_round(ctx->now.wall - held, 1000),
	    "held_seconds", alert_round(held, 10),
	    "for_seconds", alert_round(s->rule->hold, 10)));
}

/* One note of the history, as the result and the topic show it. */
json_t *
alert_note_json(const struct alert_note *n)
{
	return json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "time", alert_round(n->time, 1000), "time_iso", alert_iso(n->time),
	    "kind", alert_note_kind_name(n->kind),
	    "severity", config_alert_severity_name(n->severity),
	    "source", n->source, "plugin", n->plugin, "text", n->text,
	    "silenced", n->silenced);
}

/*
 * The `alerts` result: what fires now, what holds but not yet for long
 * enough, the silences, the targets with their counters, and the recent
 * history, oldest first.
 */
json_t *
alert_status_json(void)
{
	const struct alert_list		*list = alert_book_alerts(alert_book);
	const struct alert		*a;
	const struct alert_silence	*s;
	struct alert_pending_ctx	 pctx;
	struct alert_target		*t;
	struct plugin			*p, *c;
	json_t				*firing, *silences, *targets, *history;
	size_t				 i;

	pctx.now = alert_now();
	firing = json_array();
	TAILQ_FOREACH(a, list, entry) {
		if (!a->firing)
			continue;
		json_array_append_new(firing, json_pack("{s:s, s:s, s:s, s:o, "
		    "s:o, s:o, s:I, s:I, s:s, s:s, s:b, s:b}",
		    "source", a->source, "plugin", a->plugin,
		    "severity", config_alert_severity_name(a->severity),
		    "since", alert_round(a->since_wall, 1000),
		    "since_iso", alert_iso(a->since_wall),
		    "for_seconds", alert_round(pctx.now.mono - a->since, 10),
		    "count", (json_int_t)a->count,
		    "total", (json_int_t)a->total,
		    "text", a->text, "status", a->status,
		    "announced", a->announced,
		    "silenced", alert_silenced(alert_book, a->source,
		    a->plugin, pctx.now.mono)));
	}
	pctx.list = json_array();
	TAILQ_FOREACH(p, &server->plugins, entry)
		alert_watch_report(alert_rules, p->alert_watch, p->name,
		    alert_pending_cb, &pctx);
	silences = json_array();
	for (i = 0; (s = alert_silence_get(alert_book, i)) != NULL; i++) {
		if (s->until <= pctx.now.mono)
			continue;
		json_array_append_new(silences, json_pack("{s:s, s:o, s:o, "
		    "s:o}", "name", s->name,
		    "until", alert_round(s->until_wall, 1000),
		    "until_iso", alert_iso(s->until_wall),
		    "remaining_seconds", alert_round(s->until - pctx.now.mono,
		    10)));
	}
	targets = json_array();
	for (i = 0; i < alert_ntargets; i++) {
		t = &alert_targets[i];
		c = server_find_plugin(t->connector);
		json_array_append_new(targets, json_pack("{s:s, s:s, s:s, s:I, "
		    "s:I, s:I}", "connector", t->connector, "channel",
		    t->channel, "state", c != NULL ?
		    plugin_state_name(c->state) : "removed",
		    "sent", (json_int_t)t->sent, "queued", (json_int_t)t->qlen,
		    "dropped", (json_int_t)t->dropped));
	}
	history = json_array();
	for (i = 0; i < alert_book_history_count(alert_book); i++)
		json_array_append_new(history,
		    alert_note_json(alert_book_history(alert_book, i)));
	return json_pack("{s:o, s:o, s:o, s:o, s:I, s:o}", "firing", firing,
	    "pending", pctx.list, "silences", silences, "targets", targets,
	    "rules", (json_int_t)alert_rules_count(alert_rules),
	    "history", history);
}

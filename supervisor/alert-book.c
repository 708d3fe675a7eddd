/*
 * alert-book.c: the bookkeeping of alerts (alert.h): what fires, what is
 * said and when, silences, the recent history. Pure: the time comes with
 * every call, notes go to the emit callback.
 *
 * Per alert, the lines that reach chat follow three rules:
 *
 *   1. Its first occurrence, an escalation (a higher severity while it
 *      fires: a crash that opens the breaker) and its resolution right
 *      after an occurrence that was said are said at once: they are news.
 *   2. Anything else waits until `collapse` seconds after its last line:
 *      a burst of occurrences (a plugin crashing and coming back every few
 *      seconds) becomes one summary per interval, however long it lasts.
 *   3. An alert that holds and has nothing new is said again every
 *      `repeat` seconds, so it is not forgotten.
 *
 * So one alert writes at most two lines, then one per `collapse`, whatever
 * a plugin does; the daemon's per-target rate limit is a second fence for
 * many alerts at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/hmap.h"
#include "supervisor/alert.h"

struct alert_book {
	alert_emit_fn		*emit;
	void			*arg;
	double			 repeat;
	double			 collapse;
	struct alert_list	 alerts;
	struct hmap		*by_key;	/* "source/plugin" → alert */
	size_t			 nfiring;
	struct alert_note	*history;	/* ring of ALERT_HISTORY, lazily */
	size_t			 history_head;
	size_t			 history_len;
	struct alert_silence	*silences;	/* grown as needed, to a bound */
	size_t			 nsilences;
	size_t			 silences_cap;
};

/* The markers that start a line: people scan for them. */
static const char *const alert_markers[] = {
	[ALERT_INFO] = "🔵",
	[ALERT_WARNING] = "🟠",
	[ALERT_CRITICAL] = "🔴",
};
#define ALERT_RESOLVED_MARKER	"✅"

static const char *const alert_note_kinds[] = {
	[ALERT_NOTE_FIRING] = "firing",
	[ALERT_NOTE_REPEAT] = "repeat",
	[ALERT_NOTE_SUMMARY] = "summary",
	[ALERT_NOTE_RESOLVED] = "resolved",
};

const char *
alert_severity_marker(enum alert_severity sev)
{
	if ((unsigned)sev > ALERT_CRITICAL)
		return alert_markers[ALERT_WARNING];
	return alert_markers[sev];
}

const char *
alert_note_kind_name(enum alert_note_kind k)
{
	if ((unsigned)k > ALERT_NOTE_RESOLVED)
		return "?";
	return alert_note_kinds[k];
}

static void	alert_printf(char *, size_t, const char *, ...) printflike(3, 4);

/* Format a line into buf, cut at its end (alert_note makes it valid UTF-8). */
static void
alert_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* A duration as people say it: "0.4 s", "40 s", "5m", "1h 2m", "2d 4h". */
char *
alert_format_duration(double secs, char *buf, size_t len)
{
	unsigned long long	s;

	if (!(secs > 0))
		secs = 0;
	if (secs < 60 && secs == (double)(long)secs)
		snprintf(buf, len, "%.0f s", secs);
	else if (secs < 10)
		snprintf(buf, len, "%.1f s", secs);
	else if (secs < 60)
		snprintf(buf, len, "%.0f s", secs);
	else {
		s = secs >= 1e15 ? 1000000000000000ULL : (unsigned long long)secs;
		if (s < 3600)
			snprintf(buf, len, "%llum", s / 60);
		else if (s < 86400)
			snprintf(buf, len, "%lluh %llum", s / 3600, s % 3600 / 60);
		else
			snprintf(buf, len, "%llud %lluh", s / 86400,
			    s % 86400 / 3600);
	}
	return buf;
}

struct alert_book *
alert_book_new(alert_emit_fn *emit, void *arg)
{
	struct alert_book	*b = xcalloc(1, sizeof *b);

	b->emit = emit;
	b->arg = arg;
	b->repeat = 600;
	b->collapse = 60;
	TAILQ_INIT(&b->alerts);
	b->by_key = hmap_new();
	return b;
}

void
alert_book_free(struct alert_book *b)
{
	struct alert	*a;

	if (b == NULL)
		return;
	while ((a = TAILQ_FIRST(&b->alerts)) != NULL) {
		TAILQ_REMOVE(&b->alerts, a, entry);
		free(a);
	}
	hmap_free(b->by_key);
	free(b->history);
	free(b->silences);
	free(b);
}

/* New intervals apply from the next line on. */
void
alert_book_configure(struct alert_book *b, double repeat, double collapse)
{
	b->repeat = repeat;
	b->collapse = collapse;
}

/* The map key of an alert: names have no '/', so it is unambiguous. */
static void
alert_key(const char *source, const char *plugin, char *key, size_t len)
{
	snprintf(key, len, "%s/%s", source, plugin);
}

struct alert *
alert_find(const struct alert_book *b, const char *source, const char *plugin)
{
	char	key[2 * (CONFIG_NAME_MAX + 1)];

	alert_key(source, plugin, key, sizeof key);
	return hmap_sget(b->by_key, key);
}

/* 1 if a silence covers this source or plugin at time mono. */
int
alert_silenced(const struct alert_book *b, const char *source,
    const char *plugin, double mono)
{
	size_t	i;

	for (i = 0; i < b->nsilences; i++) {
		if (b->silences[i].until > mono &&
		    (strcmp(b->silences[i].name, source) == 0 ||
		    strcmp(b->silences[i].name, plugin) == 0))
			return 1;
	}
	return 0;
}

/*
 * Emit one note of an alert and keep it in the history. It is silenced
 * (kept from chat) when a silence covers the alert; a note chat does not
 * hear does not count as the alert being announced.
 */
static void
alert_note(struct alert_book *b, struct alert *a, enum alert_note_kind kind,
    enum alert_severity sev, const char *text, int silenced,
    const struct alert_time *now)
{
	struct alert_note	*n;

	if (b->history == NULL)
		b->history = xcalloc(ALERT_HISTORY, sizeof *b->history);
	n = &b->history[(b->history_head + b->history_len) % ALERT_HISTORY];
	if (b->history_len == ALERT_HISTORY)
		b->history_head = (b->history_head + 1) % ALERT_HISTORY;
	else
		b->history_len++;
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->severity = sev;
	n->time = now->wall;
	strlcpy_(n->source, a->source, sizeof n->source);
	strlcpy_(n->plugin, a->plugin, sizeof n->plugin);
	strlcpy_(n->text, text, sizeof n->text);
	utf8_sanitize(n->text);
	n->silenced = silenced || alert_silenced(b, a->source, a->plugin,
	    now->mono);
	a->last_line = now->mono;
	if (!n->silenced && kind != ALERT_NOTE_RESOLVED)
		a->announced = 1;
	if (b->emit != NULL)
		b->emit(b->arg, n);
}

/* Who an alert is about, in a summary: "8ball", "hot-cpu on hog". */
static void
alert_who(const struct alert *a, char *buf, size_t len)
{
	if (strcmp(a->source, ALERT_SOURCE_CRASH) == 0)
		snprintf(buf, len, "%s", a->plugin);
	else
		snprintf(buf, len, "%s on %s", a->source, a->plugin);
}

/* The line that says what was collapsed since the last one. */
static void
alert_summary(struct alert_book *b, struct alert *a,
    const struct alert_time *now)
{
	char	text[ALERT_TEXT_MAX], who[2 * CONFIG_NAME_MAX + 8], span[32];
	int	crash = strcmp(a->source, ALERT_SOURCE_CRASH) == 0;
	double	from = a->last_line > 0 ? a->last_line : a->collapsed_since;
	double	secs = now->mono - from;

	/* Whole seconds: the timer's lateness is no news. */
	if (secs >= 1)
		secs = (double)(long long)(secs + 0.5);

	alert_who(a, who, sizeof who);
	alert_printf(text, sizeof text, "%s %u more %s of %s in the last %s; %s",
	    a->firing ? alert_severity_marker(a->severity) :
	    ALERT_RESOLVED_MARKER, a->collapsed, crash ?
	    (a->collapsed == 1 ? "crash" : "crashes") :
	    (a->collapsed == 1 ? "firing" : "firings"), who,
	    alert_format_duration(secs, span, sizeof span),
	    a->status[0] != '\0' ? a->status : a->firing ? "still firing" :
	    "resolved");
	a->collapsed = 0;
	a->collapsed_since = 0;
	alert_note(b, a, ALERT_NOTE_SUMMARY, a->firing ? a->severity :
	    ALERT_INFO, text, 0, now);
}

/* Replace what an alert says it is now ("BACKOFF", "RUNNING again"). */
void
alert_set_status(struct alert *a, const char *status)
{
	if (status != NULL) {
		strlcpy_(a->status, status, sizeof a->status);
		utf8_sanitize(a->status);
	}
}

/*
 * An occurrence: the alert fires (a new episode if it did not), or fires
 * again. text is the line without its marker; status says how things are
 * now, for a later summary. Said at once if it is news (rule 1 above),
 * otherwise counted for the next summary.
 */
struct alert *
alert_occur(struct alert_book *b, const char *source, const char *plugin,
    enum alert_severity sev, const char *text, const char *status,
    const struct alert_time *now)
{
	struct alert	*a;
	char		 key[2 * (CONFIG_NAME_MAX + 1)], line[ALERT_TEXT_MAX];
	int		 escalates, quiet_since;

	if ((a = alert_find(b, source, plugin)) == NULL) {
		a = xcalloc(1, sizeof *a);
		strlcpy_(a->source, source, sizeof a->source);
		strlcpy_(a->plugin, plugin, sizeof a->plugin);
		a->severity = sev;
		alert_key(source, plugin, key, sizeof key);
		hmap_sput(b->by_key, key, a);
		TAILQ_INSERT_TAIL(&b->alerts, a, entry);
	}
	/*
	 * Worse than this episode (or the last one, just over) is news even
	 * in a burst: a crash loop's FATAL after crashes that came back.
	 */
	escalates = sev > a->severity;
	if (!a->firing) {
		a->firing = 1;
		a->announced = 0;
		a->since = now->mono;
		a->since_wall = now->wall;
		a->count = 0;
		a->severity = sev;
		b->nfiring++;
	} else if (escalates)
		a->severity = sev;
	a->count++;
	a->total++;
	strlcpy_(a->text, text, sizeof a->text);
	utf8_sanitize(a->text);
	alert_set_status(a, status);

	quiet_since = a->last_line > 0 && now->mono - a->last_line <
	    b->collapse;
	if (escalates || (a->count == 1 && !quiet_since && a->collapsed == 0)) {
		alert_printf(line, sizeof line, "%s %s", alert_severity_marker(sev),
		    text);
		alert_note(b, a, ALERT_NOTE_FIRING, sev, line, 0, now);
	} else {
		if (a->collapsed++ == 0)
			a->collapsed_since = now->mono;
	}
	return a;
}

/*
 * The alert is over. text is its resolution line without the marker;
 * quiet: nothing to say (a plugin removed). It is said at once if chat
 * heard of the episode and nothing waits to be summed up; otherwise the
 * pending summary says how it ended (its status).
 */
void
alert_resolve(struct alert_book *b, struct alert *a, const char *text,
    const char *status, int quiet, const struct alert_time *now)
{
	char	line[ALERT_TEXT_MAX];

	if (a == NULL || !a->firing)
		return;
	a->firing = 0;
	b->nfiring--;
	alert_set_status(a, status);
	if (quiet || a->collapsed > 0)
		return;
	alert_printf(line, sizeof line, "%s %s", ALERT_RESOLVED_MARKER, text);
	/* Chat never heard of it (silenced): the topic still does. */
	alert_note(b, a, ALERT_NOTE_RESOLVED, ALERT_INFO, line, !a->announced,
	    now);
}

/* An alert chat has not heard of (silenced), said once the silence ends. */
static void
alert_unmute(struct alert_book *b, struct alert *a, const struct alert_time *now)
{
	char	line[ALERT_TEXT_MAX], span[32];

	alert_printf(line, sizeof line, "%s still, after %s: %s",
	    alert_severity_marker(a->severity),
	    alert_format_duration(now->mono - a->since, span, sizeof span),
	    a->text);
	a->collapsed = 0;
	alert_note(b, a, ALERT_NOTE_FIRING, a->severity, line, 0, now);
}

/*
 * Remove silence i. What it kept from chat and still fires is said now;
 * what is over starts afresh: its next occurrence is said at once, not
 * collapsed behind lines chat never saw (the history and the topic have
 * them, marked silenced).
 */
static void
alert_silence_end(struct alert_book *b, size_t i, const struct alert_time *now)
{
	struct alert	*a;
	char		 name[CONFIG_NAME_MAX + 1];

	strlcpy_(name, b->silences[i].name, sizeof name);
	b->silences[i] = b->silences[--b->nsilences];
	TAILQ_FOREACH(a, &b->alerts, entry) {
		if ((strcmp(a->source, name) != 0 &&
		    strcmp(a->plugin, name) != 0) ||
		    alert_silenced(b, a->source, a->plugin, now->mono))
			continue;
		if (!a->firing) {
			a->last_line = 0;
			a->collapsed = 0;
		} else if (!a->announced)
			alert_unmute(b, a, now);
	}
}

/*
 * Silence a plugin, a rule or "crash" for seconds from now (a second
 * silence of one name replaces the first). -1 when ALERT_MAX_SILENCES are
 * in force already.
 */
int
alert_silence(struct alert_book *b, const char *name, double seconds,
    const struct alert_time *now)
{
	struct alert_silence	*s = NULL;
	size_t			 i;

	for (i = 0; i < b->nsilences; i++) {
		if (strcmp(b->silences[i].name, name) == 0)
			s = &b->silences[i];
	}
	if (s == NULL) {
		if (b->nsilences == ALERT_MAX_SILENCES)
			return -1;
		if (b->nsilences == b->silences_cap) {
			b->silences_cap = b->silences_cap == 0 ? 8 :
			    b->silences_cap * 2;
			b->silences = xreallocarray(b->silences,
			    b->silences_cap, sizeof *b->silences);
		}
		s = &b->silences[b->nsilences++];
		strlcpy_(s->name, name, sizeof s->name);
	}
	s->until = now->mono + seconds;
	s->until_wall = now->wall + seconds;
	return 0;
}

/* Lift a silence early; 0, or -1 if there was none of that name. */
int
alert_unsilence(struct alert_book *b, const char *name,
    const struct alert_time *now)
{
	size_t	i;

	for (i = 0; i < b->nsilences; i++) {
		if (strcmp(b->silences[i].name, name) == 0) {
			alert_silence_end(b, i, now);
			return 0;
		}
	}
	return -1;
}

size_t
alert_silence_count(const struct alert_book *b)
{
	return b->nsilences;
}

const struct alert_silence *
alert_silence_get(const struct alert_book *b, size_t i)
{
	return i < b->nsilences ? &b->silences[i] : NULL;
}

/* When an alert's next line is due (mono), 0 if it has none to come. */
static double
alert_next(const struct alert_book *b, const struct alert *a)
{
	if (a->collapsed > 0)
		return (a->last_line > 0 ? a->last_line : a->collapsed_since) +
		    b->collapse;
	if (a->firing && a->announced)
		return a->last_line + b->repeat;
	return 0;
}

/*
 * The periodic work: summaries of what was collapsed, repeats of what
 * holds, silences that expired; alerts that are over and quiet for a
 * collapse interval are forgotten (their lines stay in the history).
 */
void
alert_book_tick(struct alert_book *b, const struct alert_time *now)
{
	struct alert	*a, *next;
	char		 line[ALERT_TEXT_MAX], span[32];
	char		 key[2 * (CONFIG_NAME_MAX + 1)];
	double		 due;
	size_t		 i;

	for (i = 0; i < b->nsilences; ) {
		if (b->silences[i].until <= now->mono)
			alert_silence_end(b, i, now);
		else
			i++;
	}
	TAILQ_FOREACH_SAFE(a, &b->alerts, entry, next) {
		due = alert_next(b, a);
		if (due > 0 && due <= now->mono) {
			if (a->collapsed > 0)
				alert_summary(b, a, now);
			else {
				alert_printf(line, sizeof line, "%s still, after "
				    "%s: %s", alert_severity_marker(a->severity),
				    alert_format_duration(now->mono - a->since,
				    span, sizeof span), a->text);
				alert_note(b, a, ALERT_NOTE_REPEAT, a->severity,
				    line, 0, now);
			}
			continue;
		}
		if (!a->firing && a->collapsed == 0 &&
		    now->mono - a->last_line >= b->collapse) {
			alert_key(a->source, a->plugin, key, sizeof key);
			hmap_sdel(b->by_key, key);
			TAILQ_REMOVE(&b->alerts, a, entry);
			free(a);
		}
	}
}

/* When alert_book_tick next has work (mono), 0 if none is to come. */
double
alert_book_due(const struct alert_book *b)
{
	const struct alert	*a;
	double			 due = 0, t;
	size_t			 i;

	for (i = 0; i < b->nsilences; i++) {
		if (due == 0 || b->silences[i].until < due)
			due = b->silences[i].until;
	}
	TAILQ_FOREACH(a, &b->alerts, entry) {
		if ((t = alert_next(b, a)) > 0 && (due == 0 || t < due))
			due = t;
	}
	return due;
}

/* A plugin left the config: its alerts go without a word. */
void
alert_book_forget(struct alert_book *b, const char *plugin)
{
	struct alert	*a, *next;
	char		 key[2 * (CONFIG_NAME_MAX + 1)];

	TAILQ_FOREACH_SAFE(a, &b->alerts, entry, next) {
		if (strcmp(a->plugin, plugin) != 0)
			continue;
		if (a->firing)
			b->nfiring--;
		alert_key(a->source, a->plugin, key, sizeof key);
		hmap_sdel(b->by_key, key);
		TAILQ_REMOVE(&b->alerts, a, entry);
		free(a);
	}
}

const struct alert_list *
alert_book_alerts(const struct alert_book *b)
{
	return &b->alerts;
}

size_t
alert_book_firing(const struct alert_book *b)
{
	return b->nfiring;
}

size_t
alert_book_history_count(const struct alert_book *b)
{
	return b->history_len;
}

/* The i-th note of the history, 0 the oldest. */
const struct alert_note *
alert_book_history(const struct alert_book *b, size_t i)
{
	if (i >= b->history_len)
		return NULL;
	return &b->history[(b->history_head + i) % ALERT_HISTORY];
}

/*
 * alert.h: alerts, the pure part: the bookkeeping of every alert and the
 * threshold rules' evaluation. No libevent and no daemon structures: the
 * daemon (alert.c) feeds it lifecycle events and sampling ticks with the
 * time, and sends the lines it emits; tests/unit/test_alert.c links it
 * alone and drives it with a clock of its own. docs/alerts.md is the
 * operator's view.
 *
 * The book (alert-book.c) keeps one struct alert per source and plugin. The
 * source is "crash" (everything that takes a plugin down: crashes, kills,
 * failed handshakes, and the crash loop, which escalates the same alert) or
 * a rule's name. An alert fires, may fire again (an occurrence), escalate,
 * and resolves. What people are told is a note: one chat-sized line with a
 * severity marker, handed to the emit callback and kept in a bounded
 * history. The book keeps the promises against floods:
 *
 *   - an alert's first occurrence is said at once, and so is its
 *     resolution (and an escalation to a higher severity);
 *   - any other line of one alert comes at most once per `collapse`
 *     seconds: occurrences in between are counted and said in one summary
 *     ("5 more crashes of 8ball in the last 1m; RUNNING again");
 *   - an alert that holds is said again once per `repeat` seconds;
 *   - a silence (a plugin, a rule or "crash") keeps its notes from chat
 *     until it expires; an alert still firing then is said.
 *
 * The evaluator (alert-eval.c) runs on each sampling tick over each
 * plugin's sample ring: one window tracker per distinct window length keeps
 * the window's aggregates up to date as samples come and go, so a tick
 * costs the same whatever the window (see the top of alert-eval.c).
 */
#ifndef ALERT_H
#define ALERT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct sample_ring;

/* Bytes of one alert line, its marker included: chat-sized. */
#define ALERT_TEXT_MAX		400
/* Notes kept for `alerts` (the recent history). */
#define ALERT_HISTORY		100
/* Silences at once. */
#define ALERT_MAX_SILENCES	256
/* The lifecycle source. */
#define ALERT_SOURCE_CRASH	"crash"

/* The time of a call: monotonic for durations, wall for people. */
struct alert_time {
	double	mono;
	double	wall;
};

enum alert_note_kind {
	ALERT_NOTE_FIRING,	/* starts, escalates, or a silence ended */
	ALERT_NOTE_REPEAT,	/* still holds, `repeat` after its last line */
	ALERT_NOTE_SUMMARY,	/* occurrences collapsed since its last line */
	ALERT_NOTE_RESOLVED,	/* over */
};

/* One line of an alert, as emitted and kept in the history. */
struct alert_note {
	enum alert_note_kind	 kind;
	enum alert_severity	 severity;
	double			 time;		/* wall */
	char			 source[CONFIG_NAME_MAX + 1];
	char			 plugin[CONFIG_NAME_MAX + 1];
	char			 text[ALERT_TEXT_MAX];	/* marker first */
	int			 silenced;	/* not for chat */
};

typedef void	alert_emit_fn(void *, const struct alert_note *);

/* One alert: a source on a plugin. Read-only outside alert-book.c. */
struct alert {
	char			 source[CONFIG_NAME_MAX + 1];
	char			 plugin[CONFIG_NAME_MAX + 1];
	enum alert_severity	 severity;
	int			 firing;
	int			 announced;	/* chat was told of this episode */
	double			 since;		/* mono: the episode's start */
	double			 since_wall;
	double			 last_line;	/* mono of its last note; 0: none */
	unsigned		 count;		/* occurrences this episode */
	unsigned		 collapsed;	/* occurrences not said yet */
	double			 collapsed_since;	/* mono */
	uint64_t		 total;		/* occurrences ever */
	double			 value;		/* rules: the latest value */
	char			 text[ALERT_TEXT_MAX];	/* what fired, no marker */
	char			 status[128];	/* now: "FATAL", "RUNNING again" */
	TAILQ_ENTRY(alert)	 entry;
};
TAILQ_HEAD(alert_list, alert);

struct alert_silence {
	char	 name[CONFIG_NAME_MAX + 1];	/* plugin, rule or "crash" */
	double	 until;				/* mono */
	double	 until_wall;
};

/* alert-book.c */
struct alert_book;

struct alert_book *alert_book_new(alert_emit_fn *, void *);
void	 alert_book_free(struct alert_book *);
void	 alert_book_configure(struct alert_book *, double repeat,
	     double collapse);
struct alert *alert_find(const struct alert_book *, const char *source,
	     const char *plugin);
struct alert *alert_occur(struct alert_book *, const char *source,
	     const char *plugin, enum alert_severity, const char *text,
	     const char *status, const struct alert_time *);
void	 alert_resolve(struct alert_book *, struct alert *, const char *text,
	     const char *status, int quiet, const struct alert_time *);
void	 alert_set_status(struct alert *, const char *);
void	 alert_book_tick(struct alert_book *, const struct alert_time *);
double	 alert_book_due(const struct alert_book *);
void	 alert_book_forget(struct alert_book *, const char *plugin);
const struct alert_list *alert_book_alerts(const struct alert_book *);
size_t	 alert_book_firing(const struct alert_book *);
size_t	 alert_book_history_count(const struct alert_book *);
const struct alert_note *alert_book_history(const struct alert_book *,
	     size_t);
int	 alert_silence(struct alert_book *, const char *name, double seconds,
	     const struct alert_time *);
int	 alert_unsilence(struct alert_book *, const char *name,
	     const struct alert_time *);
int	 alert_silenced(const struct alert_book *, const char *source,
	     const char *plugin, double mono);
size_t	 alert_silence_count(const struct alert_book *);
const struct alert_silence *alert_silence_get(const struct alert_book *,
	     size_t);
const char *alert_severity_marker(enum alert_severity);
const char *alert_note_kind_name(enum alert_note_kind);
char	*alert_format_duration(double, char *, size_t);

/* alert-eval.c */
struct alert_rules;
struct alert_watch;

/* What a rule saw on one plugin, for `alerts` (pending and firing). */
struct alert_seen {
	const struct alert_rule_config *rule;
	double			 value;		/* NAN: no data */
	double			 pending_since;	/* mono; 0: not holding */
	int			 firing;
};

typedef void	alert_seen_fn(void *, const char *plugin,
		    const struct alert_seen *);

struct alert_rules *alert_rules_new(const struct alerts_config *);
void	 alert_rules_free(struct alert_rules *);
size_t	 alert_rules_count(const struct alert_rules *);
const struct alert_rule_config *alert_rules_get(const struct alert_rules *,
	     size_t);
void	 alert_evaluate(struct alert_rules *, struct alert_book *,
	     const char *plugin, const struct sample_ring *,
	     struct alert_watch **, const struct alert_time *);
void	 alert_watch_free(struct alert_watch *);
void	 alert_watch_prefetch(const struct alert_watch *);
void	 alert_watch_report(struct alert_rules *, struct alert_watch *,
	     const char *plugin, alert_seen_fn *, void *);
void	 alert_format_value(enum alert_metric, double, char *, size_t);

#endif

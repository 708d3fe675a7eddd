/*
 * crashlog.c: bounded per-plugin history of crashes, and names for crash
 * reasons and signals.
 *
 * Records own copies of their strings, so the caller may free its stderr
 * buffer as soon as crashlog_push returns. The all-time total keeps counting
 * after old records are evicted: "crashes: 57 (last 10 shown)".
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "metrics/metrics.h"

struct crash_log {
	size_t			 capacity;
	size_t			 head;	/* next slot to write */
	size_t			 count;
	uint64_t		 total;
	struct crash_record	*records;
};

static const char *crash_reason_names[] = {
	[CRASH_EXIT] = "exit",
	[CRASH_SIGNAL] = "signal",
	[CRASH_HUNG] = "hung",
	[CRASH_READY_TIMEOUT] = "ready-timeout",
	[CRASH_PROTOCOL] = "protocol",
	[CRASH_MEMORY_LIMIT] = "memory-limit",
	[CRASH_CPU_LIMIT] = "cpu-limit",
	[CRASH_SPAWN] = "spawn",
};

/* Create a crash log holding the newest capacity records. */
struct crash_log *
crashlog_new(size_t capacity)
{
	struct crash_log	*log;

	if (capacity == 0)
		fatalx("crashlog_new: zero capacity");
	log = xcalloc(1, sizeof *log);
	log->capacity = capacity;
	/*
	 * The records come with the first crash (crashlog_push): 64 of them
	 * are 4 KiB, and most plugins never crash. With 1000 plugins that
	 * was 4 MB of the daemon's memory holding nothing.
	 */
	log->records = NULL;
	return log;
}

/* Free the strings a record owns. */
static void
crashlog_clear_record(struct crash_record *cr)
{
	size_t	i;

	free(cr->detail);
	for (i = 0; i < cr->nlines; i++)
		free(cr->stderr_lines[i]);
	free(cr->stderr_lines);
	memset(cr, 0, sizeof *cr);
}

/* Free a crash log and every record in it. */
void
crashlog_free(struct crash_log *log)
{
	size_t	i;

	if (log == NULL)
		return;
	for (i = 0; log->records != NULL && i < log->capacity; i++)
		crashlog_clear_record(&log->records[i]);
	free(log->records);
	free(log);
}

/* Append a copy of a record, evicting (and freeing) the oldest if full. */
void
crashlog_push(struct crash_log *log, const struct crash_record *cr)
{
	struct crash_record	*slot;
	size_t			 i;

	if (log->records == NULL)
		log->records = xcalloc(log->capacity, sizeof *log->records);
	slot = &log->records[log->head];
	crashlog_clear_record(slot);
	*slot = *cr;
	slot->detail = cr->detail != NULL ? xstrdup(cr->detail) : NULL;
	slot->stderr_lines = NULL;
	slot->nlines = 0;
	if (cr->nlines > 0 && cr->stderr_lines != NULL) {
		slot->stderr_lines = xreallocarray(NULL, cr->nlines,
		    sizeof *slot->stderr_lines);
		for (i = 0; i < cr->nlines; i++) {
			slot->stderr_lines[i] = xstrdup(
			    cr->stderr_lines[i] != NULL ?
			    cr->stderr_lines[i] : "");
		}
		slot->nlines = cr->nlines;
	}

	if (++log->head == log->capacity)
		log->head = 0;
	if (log->count < log->capacity)
		log->count++;
	log->total++;
}

/* Number of records held. */
size_t
crashlog_count(const struct crash_log *log)
{
	return log->count;
}

/* Number of records the log can hold. */
size_t
crashlog_capacity(const struct crash_log *log)
{
	return log->capacity;
}

/* The i-th record, 0 = oldest; NULL if out of range. Valid until a push. */
const struct crash_record *
crashlog_get(const struct crash_log *log, size_t i)
{
	size_t	slot;

	if (i >= log->count)
		return NULL;
	slot = log->head + log->capacity - log->count + i;
	if (slot >= log->capacity)
		slot -= log->capacity;
	return &log->records[slot];
}

/* The newest record, NULL if none. */
const struct crash_record *
crashlog_latest(const struct crash_log *log)
{
	if (log->count == 0)
		return NULL;
	return crashlog_get(log, log->count - 1);
}

/* Crashes ever pushed, including those evicted. */
uint64_t
crashlog_total(const struct crash_log *log)
{
	return log->total;
}

/*
 * Set the all-time total, as a saved one is restored: never below the
 * records held.
 */
void
crashlog_set_total(struct crash_log *log, uint64_t total)
{
	log->total = total < log->count ? log->count : total;
}

/* A reason's name as shown by status and the JSON socket. */
const char *
crash_reason_name(enum crash_reason reason)
{
	if ((size_t)reason >= nitems(crash_reason_names) ||
	    crash_reason_names[reason] == NULL)
		return "unknown";
	return crash_reason_names[reason];
}

/* Look up a reason by name; 0 if found, -1 if not. */
int
crash_reason_from_name(const char *name, enum crash_reason *reason)
{
	size_t	i;

	for (i = 0; i < nitems(crash_reason_names); i++) {
		if (strcmp(crash_reason_names[i], name) == 0) {
			*reason = (enum crash_reason)i;
			return 0;
		}
	}
	return -1;
}

/*
 * "SIGKILL" etc. for every signal number, built once: sigabbrev_np gives
 * "KILL" and we need the prefix, so the names live in a table rather than a
 * buffer that the next call would overwrite.
 */
static char		signal_names[NSIG][16];
static pthread_once_t	signal_names_once = PTHREAD_ONCE_INIT;

static void
metrics_signal_names_init(void)
{
	const char	*abbrev;
	int		 sig;

	for (sig = 0; sig < NSIG; sig++) {
		abbrev = NULL;
#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
		if (sig > 0)
			abbrev = sigabbrev_np(sig);
#endif
		if (abbrev != NULL)
			snprintf(signal_names[sig], sizeof signal_names[sig],
			    "SIG%s", abbrev);
		else
			snprintf(signal_names[sig], sizeof signal_names[sig],
			    "SIG%d", sig);
	}
}

/* A signal's name, "SIGKILL"; "SIG%d" for numbers without one. */
const char *
metrics_signal_name(int sig)
{
	static _Thread_local char	buf[24];

	if (sig >= 0 && sig < NSIG) {
		pthread_once(&signal_names_once, metrics_signal_names_init);
		return signal_names[sig];
	}
	/* Out of range: a per-thread buffer, overwritten by the next call. */
	snprintf(buf, sizeof buf, "SIG%d", sig);
	return buf;
}

/*
 * log.c: operator-facing log lines on stderr, one per message:
 *
 *	2026-11-23 19:30:01.123 supervisor: text		(info, debug)
 *	2026-11-23 19:30:01.123 supervisor: warning: text	(log_warn[x])
 *	2026-11-23 19:30:01.123 supervisor: fatal: text	(fatal[x], then exit 1)
 *
 * Under systemd, with stderr connected to the journal ($JOURNAL_STREAM names
 * stderr's device and inode), each line starts with its syslog priority
 * instead (<7> debug, <6> info, <4> warning, <3> fatal) and carries neither
 * a time stamp nor the program name: the journal records both itself.
 *
 *	<4>warning: text
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *log_progname = "supervisor";
static int log_debug_on;
static int log_timestamps = 1;
static int log_journal;		/* stderr is the journal: <N> prefixes */

/* Syslog priorities of the levels, for the journal (sd-daemon(3)). */
static const char *const log_priorities[] = {
	[LOG_LEVEL_DEBUG] = "<7>",
	[LOG_LEVEL_INFO] = "<6>",
	[LOG_LEVEL_WARN] = "<4>",
	[LOG_LEVEL_FATAL] = "<3>",
};

static void log_fatal_line(const char *, ...) printflike(1, 2);

/* Set the name printed on each line and whether debug lines are shown. */
void
log_init(const char *progname, int debug)
{
	log_progname = progname;
	log_debug_on = debug;
	if (getenv("SUPERVISOR_DEBUG") != NULL)
		log_debug_on = 1;
	log_journal = log_stderr_is_journal();
}

/*
 * 1 if stderr is the journal's stream: systemd sets JOURNAL_STREAM to
 * "DEVICE:INODE" of the stream it connected, and a process whose stderr was
 * redirected since (a plugin's stderr is a pipe to the daemon; a test's is a
 * file) inherits the variable but not the stream, so both must match.
 */
int
log_stderr_is_journal(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	struct stat		 sb;
	unsigned long long	 dev, ino;
	char			 end;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &sb) == -1)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

void
log_set_timestamps(int on)
{
	log_timestamps = on;
}

/* Write one line: "2026-11-23 19:30:01.123 supervisor: text". */
void
log_vlog(enum log_level level, const char *fmt, va_list ap)
{
	char		 line[4096], stamp[64];
	struct timespec	 ts;
	struct tm	 tm;
	const char	*tag = "";
	int		 saved = errno;

	if (level == LOG_LEVEL_DEBUG && !log_debug_on)
		return;
	if (level == LOG_LEVEL_WARN)
		tag = "warning: ";
	else if (level == LOG_LEVEL_FATAL)
		tag = "fatal: ";
	vsnprintf(line, sizeof line, fmt, ap);
	if (log_journal) {
		fprintf(stderr, "%s%s%s\n", log_priorities[level], tag, line);
		fflush(stderr);
		errno = saved;
		return;
	}
	stamp[0] = '\0';
	if (log_timestamps) {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		snprintf(stamp, sizeof stamp, "%04d-%02d-%02d %02d:%02d:%02d.%03ld ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	}
	fprintf(stderr, "%s%s: %s%s\n", stamp, log_progname, tag, line);
	fflush(stderr);
	errno = saved;
}

/* Log one line at a level chosen by the caller. */
void
log_vlog_line(enum log_level level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(level, fmt, ap);
	va_end(ap);
}

/* 1 if debug lines are written. */
int
log_get_debug(void)
{
	return log_debug_on;
}

/* Log a warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	char	*s;
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	errno = saved;
	log_warnx("%s: %s", s != NULL ? s : fmt, strerror(saved));
	free(s);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_DEBUG, fmt, ap);
	va_end(ap);
}

/* Write one fatal line from an already formatted text. */
static void
log_fatal_line(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_FATAL, fmt, ap);
	va_end(ap);
}

/* Log with strerror(errno) and exit: a broken invariant or resource. */
void
fatal(const char *fmt, ...)
{
	char	 line[4096];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_fatal_line("%s: %s", line, strerror(saved));
	exit(1);
}

/* Log and exit, without errno. */
void
fatalx(const char *fmt, ...)
{
	char	 line[4096];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_fatal_line("%s", line);
	exit(1);
}

/*
 * output.c: what a plugin's output and the warnings about it may cost the
 * daemon's log, and the plugin's own log file.
 *
 * A plugin printing to stderr in a loop once wrote 2.1 GB of daemon log in
 * 40 s, and one warning per dropped event added 16 000 lines more. So:
 *
 * - Lines of stdout and stderr, and log messages, go to the daemon's log
 *   through one token bucket of lines and one of bytes per plugin (config
 *   "output"). What does not fit is counted, by stream, and one summary
 *   line per stream says how much once the interval is over:
 *	plugin dice-roller: 18344 stderr lines (2.1 MiB) suppressed in the
 *	last 10 s (output limit 100 lines/s, 65536 bytes/s)
 *   The stderr tail kept for crash records (plugin.c) takes every line,
 *   suppressed or not: the last lines before a crash matter most.
 * - Repeated warnings about one plugin (events dropped, protocol errors)
 *   each have a small bucket of their own per kind: a few lines, then one
 *   summary per interval: "plugin X: 15997 more events dropped in the last
 *   10 s (not reading its socket)".
 * - Every line, within the budget or not, also goes to the control
 *   socket's `log` subscribers (supervisorctl tail -f), who are bounded
 *   like any client (control.c).
 * - With "log_file", stdout and stderr go to that file instead of the
 *   daemon's log (as supervisord's stdout_logfile), with a time stamp and
 *   the stream, rotated by size (common/logfile.c). The line budget does
 *   not apply to it (rotation bounds its size; the read budget below its
 *   rate). If it cannot be written the lines
 *   go to the daemon's log (rate limited) and the error is logged once per
 *   change; the file is tried again every OUTPUT_FILE_RETRY seconds.
 *
 * Reading a flood costs CPU even when nothing is logged, so a pipe is read
 * with back-pressure (output_read): after a read whose lines were
 * suppressed, or once the plugin's pipes gave more than OUTPUT_READ_RATE
 * bytes a second, the pipe is left unread for OUTPUT_PAUSE seconds and the
 * plugin blocks on its full pipe. Each read is at most 4 KiB (libevent
 * 2.1's EVBUFFER_MAX_READ), so one callback's work is bounded too.
 * Measured on the 2-core test machine, a plugin running yes(1) into its
 * stderr (tests/plugins/flood.py "yes"), over 5 s:
 *
 *	before (every line logged, pipe read as fast as it fills):
 *	    daemon 96 % of a core, 156 MB of daemon log in 7 s
 *	default limits, no log file:
 *	    daemon < 1 % of a core (no tick counted), 55 KB of log in 7 s
 *	log file of 10 MiB x 5 backups, pipe read without a budget:
 *	    daemon 90 % of a core, all 6 files (60 MB) filled in 7 s
 *	the same with OUTPUT_READ_RATE 256 KiB/s:
 *	    daemon 7 % of a core, 44 MB of files in 7 s ("y" lines gain a
 *	    time stamp and the stream)
 *
 * Writing the file from the event loop: write(2) of a regular file on a
 * local disk copies into the page cache and returns; it does not wait for
 * the disk (O_NONBLOCK would not change that anyway). The lines of one read
 * go in one write. A rotation is one rename per kept file: 20 to 40 us
 * each (strace -T), so 0.2 ms for 5 backups and at most 4 ms for the
 * maximum of 100.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/logfile.h"
#include "common/ratelimit.h"
#include "supervisor/supervisor.h"

/* s a flooding plugin's pipes are left unread after lines were suppressed. */
#define OUTPUT_PAUSE		0.1
/* Bytes a second read from a plugin's pipes at most, and the burst. */
#define OUTPUT_READ_RATE	(256 * 1024)
#define OUTPUT_READ_BURST	(256 * 1024)
/* s between two tries of a log file that could not be written. */
#define OUTPUT_FILE_RETRY	10.0
/* Warnings of one kind logged one by one before they are only counted. */
#define OUTPUT_WARN_BURST	3
/* ... and then one more every this many seconds. */
#define OUTPUT_WARN_EVERY	10.0

/* What a summary says about each kind of repeated warning. */
static const struct {
	enum log_level	 level;
	const char	*what;
	const char	*why;
} output_warnings[OUTPUT_NWARNINGS] = {
	[WARN_NOT_READING] = { LOG_LEVEL_WARN, "events dropped",
	    "not reading its socket" },
	[WARN_QUEUE_FULL] = { LOG_LEVEL_WARN, "events dropped",
	    "queue full while not running" },
	[WARN_NOT_RUNNING] = { LOG_LEVEL_INFO, "events dropped",
	    "stopped, stopping or FATAL" },
	[WARN_PROTOCOL] = { LOG_LEVEL_WARN, "messages dropped",
	    "protocol errors" },
	[WARN_CHAT_DROPPED] = { LOG_LEVEL_WARN, "chat lines dropped",
	    "over chat.max_line" },
	[WARN_SAY_DROPPED] = { LOG_LEVEL_WARN, "say messages dropped",
	    "no connector for the platform" },
};

static const char *const output_stream_names[] = {
	[OUTPUT_STDOUT] = "stdout",
	[OUTPUT_STDERR] = "stderr",
	[OUTPUT_LOG] = "log",
};

struct plugin_output {
	struct logrl		 limit;		/* lines into the daemon's log */
	struct logrl		 warn[OUTPUT_NWARNINGS];
	struct tbucket		 read;		/* bytes read from its pipes */
	struct event		*summary;	/* the next summary is due */
	struct event		*resume;	/* paused pipes are read again */

	struct logfile		*file;		/* NULL: no log file */
	int			 file_failed;	/* lines go to the daemon's log */
	double			 file_retry;	/* monotonic: try it again */
	char			*file_error;	/* the error last logged */
	char			*batch;		/* lines of one read, for the file */
	size_t			 batch_len;
	size_t			 batch_size;
	char			 stamp[64];	/* time of the read in progress */
};

static void	output_summary_cb(evutil_socket_t, short, void *);
static void	output_resume_cb(evutil_socket_t, short, void *);

/* Arm a timer for seconds from now. */
static void
output_arm(struct event *ev, double seconds)
{
	struct timeval	tv = clock_timeval(seconds);

	evtimer_add(ev, &tv);
}

/* The limits of the config into the buckets (counts are kept). */
static void
output_set_limits(struct plugin_output *o, const struct output_policy *op,
    double now)
{
	size_t	i;

	logrl_set(&o->limit, op->lines_per_second, op->burst_lines,
	    op->bytes_per_second, op->burst_bytes, op->summary_interval, now);
	for (i = 0; i < OUTPUT_NWARNINGS; i++)
		logrl_set(&o->warn[i], 1 / OUTPUT_WARN_EVERY, OUTPUT_WARN_BURST,
		    0, 1, op->summary_interval, now);
}

/* The log file of the config, or none. */
static void
output_set_file(struct plugin_output *o, const struct log_file_config *lf)
{
	logfile_free(o->file);
	o->file = NULL;
	if (lf->path != NULL)
		o->file = logfile_new(lf->path, lf->max_bytes, lf->backups);
	o->file_failed = 0;
	o->file_retry = 0;
	free(o->file_error);
	o->file_error = NULL;
}

/* Set up a plugin's output: buckets full, timers, its log file if any. */
void
output_init(struct plugin *p)
{
	struct plugin_output	*o = xcalloc(1, sizeof *o);
	double			 now = clock_mono();
	size_t			 i;

	logrl_init(&o->limit, 0, 1, 0, 1, 1, now);
	for (i = 0; i < OUTPUT_NWARNINGS; i++)
		logrl_init(&o->warn[i], 0, 1, 0, 1, 1, now);
	output_set_limits(o, &p->conf->output, now);
	tbucket_init(&o->read, OUTPUT_READ_RATE, OUTPUT_READ_BURST, now);
	output_set_file(o, &p->conf->log_file);
	o->summary = evtimer_new(server->base, output_summary_cb, p);
	o->resume = evtimer_new(server->base, output_resume_cb, p);
	p->output = o;
}

/* A size for an operator: "512 bytes", "64.0 KiB", "2.1 MiB". */
static void
output_format_bytes(uint64_t n, char *buf, size_t size)
{
	if (n < 1024)
		snprintf(buf, size, "%llu bytes", (unsigned long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", (double)n / 1024);
	else
		snprintf(buf, size, "%.1f MiB", (double)n / (1024 * 1024));
}

/* Write the summaries that are due (all of them with force). */
static void
output_summaries(struct plugin *p, int force)
{
	struct plugin_output		*o = p->output;
	const struct output_policy	*op = &p->conf->output;
	struct logrl_summary		 s;
	double				 now = clock_mono(), due, next = 0;
	char				 bytes[32];
	size_t				 i, k;

	if (logrl_summary(&o->limit, now, force, &s)) {
		for (k = 0; k < LOGRL_KINDS; k++) {
			if (s.count[k] == 0)
				continue;
			output_format_bytes(s.nbytes[k], bytes, sizeof bytes);
			log_warnx("plugin %s: %llu %s %s (%s) suppressed in "
			    "the last %.*f s (output limit %g lines/s, %g "
			    "bytes/s)", p->name, (unsigned long long)s.count[k],
			    output_stream_names[k], k == OUTPUT_LOG ?
			    "messages" : "lines", bytes, s.span < 10 ? 1 : 0,
			    s.span, op->lines_per_second, op->bytes_per_second);
		}
	}
	for (i = 0; i < OUTPUT_NWARNINGS; i++) {
		if (!logrl_summary(&o->warn[i], now, force, &s))
			continue;
		log_vlog_line(output_warnings[i].level, "plugin %s: %llu more "
		    "%s in the last %.*f s (%s)", p->name,
		    (unsigned long long)s.count[0], output_warnings[i].what,
		    s.span < 10 ? 1 : 0, s.span, output_warnings[i].why);
	}
	if (force)
		return;
	/* The next one due, if any interval is open. */
	if ((due = logrl_due(&o->limit)) != 0)
		next = due;
	for (i = 0; i < OUTPUT_NWARNINGS; i++) {
		if ((due = logrl_due(&o->warn[i])) != 0 &&
		    (next == 0 || due < next))
			next = due;
	}
	if (next != 0)
		output_arm(o->summary, next - now);
}

static void
output_summary_cb(evutil_socket_t fd, short what, void *arg)
{
	output_summaries(arg, 0);
}

/* An interval was opened: make sure a summary will close it. */
static void
output_schedule(struct plugin *p, const struct logrl *rl)
{
	struct plugin_output	*o = p->output;

	/* A pending timer is for an interval opened earlier: due sooner. */
	if (!evtimer_pending(o->summary, NULL))
		output_arm(o->summary, logrl_due(rl) - clock_mono());
}

/* Read paused pipes again. */
static void
output_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct plugin	*p = arg;

	if (p->out_bev != NULL)
		bufferevent_enable(p->out_bev, EV_READ);
	if (p->err_bev != NULL)
		bufferevent_enable(p->err_bev, EV_READ);
}

/*
 * After a read of a pipe: leave it unread for OUTPUT_PAUSE seconds if its
 * lines were suppressed (reading faster would only cost CPU) or if the
 * plugin's pipes gave more than OUTPUT_READ_RATE bytes a second (to a log
 * file, which is not rate limited). The plugin then blocks on its full
 * pipe: back-pressure. What it writes meanwhile is read once the pause is
 * over, or when it exits (plugin_pipe_final), so the crash record's tail
 * is its last lines.
 */
void
output_read(struct plugin *p, struct bufferevent *bev, size_t bytes,
    int suppressed)
{
	struct plugin_output	*o = p->output;

	if (!tbucket_spend(&o->read, (double)bytes, clock_mono()))
		suppressed = 1;
	if (!suppressed)
		return;
	bufferevent_disable(bev, EV_READ);
	if (!evtimer_pending(o->resume, NULL))
		output_arm(o->resume, OUTPUT_PAUSE);
}

void
output_free(struct plugin *p)
{
	struct plugin_output	*o = p->output;

	if (o == NULL)
		return;
	output_end(p);
	output_summaries(p, 1);
	event_free(o->summary);
	event_free(o->resume);
	logfile_free(o->file);
	free(o->file_error);
	free(o->batch);
	free(o);
	p->output = NULL;
}

/* A new config (a reload): new limits, and a new log file if it changed. */
void
output_reconfigure(struct plugin *p, const struct plugin_config *old)
{
	struct plugin_output		*o = p->output;
	const struct log_file_config	*a = &old->log_file;
	const struct log_file_config	*b = &p->conf->log_file;

	output_set_limits(o, &p->conf->output, clock_mono());
	if ((a->path == NULL) != (b->path == NULL) || (a->path != NULL &&
	    strcmp(a->path, b->path) != 0) || a->max_bytes != b->max_bytes ||
	    a->backups != b->backups) {
		output_end(p);
		output_set_file(o, b);
	}
}

/* Lines suppressed so far (status). */
uint64_t
output_suppressed(const struct plugin *p)
{
	return p->output->limit.total;
}

/* Log the log file's state when it changes: failing (with why), or back. */
static void
output_file_state(struct plugin *p, const char *cause)
{
	struct plugin_output	*o = p->output;

	if (cause == NULL) {
		if (o->file_failed)
			log_info("plugin %s: writing its stdout and stderr to "
			    "%s again", p->name, logfile_path(o->file));
		o->file_failed = 0;
		free(o->file_error);
		o->file_error = NULL;
		return;
	}
	o->file_failed = 1;
	o->file_retry = clock_mono() + OUTPUT_FILE_RETRY;
	if (o->file_error != NULL && strcmp(o->file_error, cause) == 0)
		return;
	log_warnx("plugin %s: log file: %s; its stdout and stderr go to the "
	    "daemon's log until the file can be written (tried every %g s)",
	    p->name, cause, OUTPUT_FILE_RETRY);
	free(o->file_error);
	o->file_error = xstrdup(cause);
}

/*
 * Start a read's worth of lines: one time stamp for all of them, and the
 * log file opened (or tried again) before any line is put in its batch.
 */
void
output_begin(struct plugin *p)
{
	struct plugin_output	*o = p->output;
	struct timespec		 ts;
	struct tm		 tm;
	char			*cause = NULL;

	if (o->file == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(o->stamp, sizeof o->stamp, "%04d-%02d-%02d %02d:%02d:%02d.%03ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	if (o->file_failed && clock_mono() < o->file_retry)
		return;
	/* A write of nothing opens the file if it is closed. */
	if (logfile_write(o->file, "", 0, &cause) == -1) {
		output_file_state(p, cause);
		free(cause);
	} else
		output_file_state(p, NULL);
}

/*
 * Write the batch of lines to the log file. If that fails, the batch is
 * lost (the lines of one read of a pipe, at most 4 KiB) and the next
 * reads go to the daemon's log until the file works again.
 */
void
output_end(struct plugin *p)
{
	struct plugin_output	*o = p->output;
	char			*cause = NULL;

	if (o->batch_len == 0)
		return;
	if (logfile_write(o->file, o->batch, o->batch_len, &cause) == -1) {
		output_file_state(p, cause);
		free(cause);
	}
	o->batch_len = 0;
}

/* Put one line in the batch for the log file. */
static void
output_batch(struct plugin *p, enum output_stream stream, const char *line,
    size_t len)
{
	struct plugin_output	*o = p->output;
	size_t			 need;
	int			 n;

	need = strlen(o->stamp) + len + 64;
	if (o->batch_len + need > o->batch_size) {
		o->batch_size = (o->batch_len + need) * 2;
		o->batch = xreallocarray(o->batch, 1, o->batch_size);
	}
	n = snprintf(o->batch + o->batch_len, o->batch_size - o->batch_len,
	    "%s [%ld] %s: %.*s\n", o->stamp, (long)p->pid,
	    output_stream_names[stream], (int)len, line);
	if (n > 0)
		o->batch_len += (size_t)n;
}

/*
 * One line of stdout or stderr (between output_begin and output_end) or
 * one log message: to the log file if there is one that works, else to the
 * daemon's log if the plugin is within its limit. Returns 1 if the line
 * was suppressed.
 */
int
output_line(struct plugin *p, enum output_stream stream, enum log_level level,
    const char *line, size_t len)
{
	struct plugin_output	*o = p->output;

	/*
	 * Followers (supervisorctl tail -f) get every line, whatever the
	 * budget below leaves out of the log, but debug messages only where
	 * the log shows them too.
	 */
	if (level != LOG_LEVEL_DEBUG || log_get_debug())
		control_publish_log(p, output_stream_names[stream], level, line,
		    len);
	if (stream != OUTPUT_LOG && o->file != NULL && !o->file_failed) {
		output_batch(p, stream, line, len);
		return 0;
	}
	/* A line the log would not show costs nothing. */
	if (level == LOG_LEVEL_DEBUG && !log_get_debug())
		return 0;
	if (!logrl_admit(&o->limit, stream, len, clock_mono())) {
		output_schedule(p, &o->limit);
		return 1;
	}
	if (stream == OUTPUT_LOG)
		log_vlog_line(level, "%s: %.*s", p->name, (int)len, line);
	else
		log_vlog_line(level, "%s[%ld] %s: %.*s", p->name, (long)p->pid,
		    output_stream_names[stream], (int)len, line);
	return 0;
}

/* A warning that may repeat for every event: a few, then a summary. */
void
output_warn(struct plugin *p, enum output_warning kind, const char *fmt, ...)
{
	struct logrl	*rl = &p->output->warn[kind];
	va_list		 ap;

	if (!logrl_admit(rl, 0, 0, clock_mono())) {
		output_schedule(p, rl);
		return;
	}
	va_start(ap, fmt);
	log_vlog(output_warnings[kind].level, fmt, ap);
	va_end(ap);
}

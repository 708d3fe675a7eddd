/*
 * state.c: plugins' history kept across daemon restarts, in a state
 * directory of one file per plugin name (metrics/statefile.c is the format).
 *
 * Saving is redis's BGSAVE: the daemon forks, and the child, holding a
 * copy-on-write snapshot of every ring, tier, crash log and counter, writes
 * each file as a new file, fsync, rename over the old one, then fsyncs the
 * directory, and exits. The event loop only pays for the fork (measured:
 * docs/benchmarks.md), never for the writes or the fsyncs, which on a busy
 * disk take far longer than a tick. At shutdown the daemon saves in process,
 * after every plugin has stopped, so the last counters are in.
 *
 * Loading happens before any plugin starts. A file that cannot be trusted
 * (truncated, corrupt, a newer format) is renamed aside and logged, never
 * loaded and never fatal. Saving failures (a full disk, a read-only
 * directory) are logged when they start and when they end, not every time.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "supervisor/supervisor.h"

#define STATE_SUFFIX		".state"
/* After a crash, a save this soon: crash records are the evidence. */
#define STATE_CRASH_DELAY	1.0
/* A save running this long is stuck; at shutdown it gets this long. */
#define STATE_SAVER_SLOW	120.0
#define STATE_SAVER_WAIT	10.0

/*
 * A plugin a reload removed is saved while it stops; once it is gone, forget
 * may come before the save that holds it has renamed its file into place.
 * Its name is kept until that save ends, and a forget meanwhile is done
 * again then, or the save would bring the file back.
 */
struct state_in_save {
	char	*name;
	int	 forget;
};

static struct {
	int		 enabled;
	char		*dir;
	double		 next_save;	/* monotonic */
	pid_t		 saver;		/* the saving child, 0 if none */
	int		 saver_fd;	/* its report, -1 if none */
	double		 saver_started;	/* monotonic */
	const char	*saver_why;
	int		 again;		/* save again when the child is done */
	int		 saver_warned;	/* ... said to be slow */
	struct state_in_save *removed;	/* removed plugins the saver holds */
	size_t		 nremoved;
	int		 failing;	/* the last save failed */
	char		 error[256];	/* ... why */
	/* What the last save did, for status and the benchmark. */
	double		 last_save;	/* wall, 0 if none yet */
	double		 last_fork_ms;
	double		 last_wall_ms;
	double		 last_cpu_ms;	/* the child's */
	unsigned long long last_bytes;
	size_t		 last_files;
	double		 load_ms;
	size_t		 loaded;
	unsigned char	*rbuf;		/* state_read_file's, during a load */
	size_t		 rbuf_size;
} state = { .saver_fd = -1 };

/* Counters saved by name: a field of struct plugin each. */
static const struct {
	const char	*name;
	size_t		 offset;
} state_counters[] = {
	{ "events_routed", offsetof(struct plugin, events_routed) },
	{ "replies", offsetof(struct plugin, replies) },
	{ "events_dropped", offsetof(struct plugin, events_dropped) },
	{ "dropped.queue_full", offsetof(struct plugin, dropped) +
	    DROP_QUEUE_FULL * sizeof(uint64_t) },
	{ "dropped.plugin_down", offsetof(struct plugin, dropped) +
	    DROP_PLUGIN_DOWN * sizeof(uint64_t) },
	{ "dropped.died", offsetof(struct plugin, dropped) +
	    DROP_DIED * sizeof(uint64_t) },
	{ "dropped.expired", offsetof(struct plugin, dropped) +
	    DROP_EXPIRED * sizeof(uint64_t) },
	{ "dropped.not_reading", offsetof(struct plugin, dropped) +
	    DROP_NOT_READING * sizeof(uint64_t) },
	{ "protocol_errors", offsetof(struct plugin, protocol_errors) },
	{ "chat_lines", offsetof(struct plugin, chat_lines) },
	{ "chat_dropped", offsetof(struct plugin, chat_dropped) },
	{ "platform_refused", offsetof(struct plugin, platform_refused) },
};
_Static_assert(DROP_NREASONS == 5, "state_counters lists every drop reason");

/* Milliseconds between two monotonic times. */
static double
state_ms(double from, double to)
{
	return (to - from) * 1000.0;
}

/* Create the directory and its missing parents, the last one 0700. */
static int
state_mkdir(const char *dir)
{
	char	*copy, *p;
	int	 rc = 0;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	copy = xstrdup(dir);
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = '/';
	}
	free(copy);
	if (rc == 0 && mkdir(dir, 0700) == -1 && errno != EEXIST)
		rc = -1;
	return rc;
}

/*
 * Take the config's state settings; make the directory and clear what an
 * interrupted save of ours left (".NAME.state.tmp"). Only that: other files
 * in the directory, dot-files ending in ".tmp" included, are not ours.
 */
void
state_init(void)
{
	const struct config	*cf = server->config;
	struct dirent		*de;
	DIR			*d;
	size_t			 len, tlen = strlen(STATE_SUFFIX ".tmp");

	state.enabled = cf->state_enabled;
	if (!state.enabled)
		return;
	state.dir = xstrdup(cf->state_dir);
	state.next_save = clock_mono() + cf->save_interval;
	if (state_mkdir(state.dir) == -1) {
		log_warn("state: cannot create %s; history will not be saved "
		    "until it can be", state.dir);
		return;
	}
	if ((d = opendir(state.dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' && len > tlen + 1 &&
		    strcmp(de->d_name + len - tlen, STATE_SUFFIX ".tmp") == 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("state: removed %s/%s, left by an interrupted "
			    "save", state.dir, de->d_name);
	}
	closedir(d);
}

void
state_free(void)
{
	size_t	i;

	state_load_done();
	for (i = 0; i < state.nremoved; i++)
		free(state.removed[i].name);
	free(state.removed);
	free(state.dir);
	if (state.saver_fd != -1)
		close(state.saver_fd);
	memset(&state, 0, sizeof state);
	state.saver_fd = -1;
}

/* Whether history is being kept on disk. */
int
state_enabled(void)
{
	return state.enabled;
}

/* A plugin's view as the format wants it (pointers, nothing copied). */
static void
state_view(const struct plugin *p, struct state_history *h)
{
	size_t	i;

	memset(h, 0, sizeof *h);
	strlcpy_(h->name, p->name, sizeof h->name);
	h->saved_at = clock_wall();
	h->poll_interval = server->config->poll_interval;
	for (i = 0; i < nitems(state_counters); i++) {
		strlcpy_(h->counters[i].name, state_counters[i].name,
		    sizeof h->counters[i].name);
		memcpy(&h->counters[i].value, (const char *)p +
		    state_counters[i].offset, sizeof(uint64_t));
	}
	h->counters[i].value = p->restarts;
	strlcpy_(h->counters[i++].name, "restarts", STATEFILE_COUNTER_NAME);
	h->counters[i].value = p->starts;
	strlcpy_(h->counters[i++].name, "starts", STATEFILE_COUNTER_NAME);
	h->ncounters = i;
	h->ring = p->ring;
	for (i = 0; i < p->ntiers; i++)
		h->tiers[i] = p->tiers[i];
	h->ntiers = p->ntiers;
	h->crashes = p->crashes;
}

/* Write all of buf to fd. */
static int
state_write_fd(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Write one plugin's file: a new file, fsync, rename over the old one.
 * Returns the bytes written, or -1 with errno and *what set.
 */
static long long
state_write_plugin(int dfd, const struct plugin *p, const char **what)
{
	struct state_history	 h;
	unsigned char		*buf;
	size_t			 len;
	char			 tmp[128], path[128];
	int			 fd, saved;

	state_view(p, &h);
	statefile_encode(&h, &buf, &len);
	snprintf(tmp, sizeof tmp, ".%s%s.tmp", p->name, STATE_SUFFIX);
	snprintf(path, sizeof path, "%s%s", p->name, STATE_SUFFIX);
	*what = "creating";
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		goto fail;
	*what = "writing";
	if (state_write_fd(fd, buf, len) == -1)
		goto fail_fd;
	*what = "syncing";
	if (fsync(fd) == -1)
		goto fail_fd;
	if (close(fd) == -1) {
		fd = -1;
		goto fail_fd;
	}
	*what = "renaming";
	if (renameat(dfd, tmp, dfd, path) == -1)
		goto fail_unlink;
	free(buf);
	return (long long)len;
fail_fd:
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlinkat(dfd, tmp, 0);
	errno = saved;
fail:
	free(buf);
	return -1;
}

/*
 * Write every plugin's file and sync the directory. Returns the number of
 * files that failed; err says the first failure. *bytes counts what was
 * written.
 */
static size_t
state_write_all(char *err, size_t errlen, unsigned long long *bytes,
    size_t *files)
{
	const struct plugin	*p;
	const char		*what;
	long long		 n;
	size_t			 failed = 0;
	int			 dfd;

	*bytes = 0;
	*files = 0;
	err[0] = '\0';
	if (state_mkdir(state.dir) == -1 || (dfd = open(state.dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", state.dir, strerror(errno));
		return 1;
	}
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if ((n = state_write_plugin(dfd, p, &what)) < 0) {
			if (failed++ == 0)
				snprintf(err, errlen, "%s %s/%s%s: %s", what,
				    state.dir, p->name, STATE_SUFFIX,
				    strerror(errno));
			continue;
		}
		*bytes += (unsigned long long)n;
		(*files)++;
	}
	if (fsync(dfd) == -1 && failed++ == 0)
		snprintf(err, errlen, "syncing %s: %s", state.dir,
		    strerror(errno));
	close(dfd);
	return failed;
}

/* Log a save's outcome when it differs from the last one's. */
static void
state_outcome(int ok, const char *error)
{
	if (ok && state.failing) {
		log_info("state: saving to %s works again; history is on disk",
		    state.dir);
		state.failing = 0;
		state.error[0] = '\0';
	} else if (!ok && (!state.failing || strcmp(state.error, error) != 0)) {
		log_warnx("state: cannot save history: %s; it stays in memory "
		    "and the daemon tries again every %g s", error,
		    server->config->save_interval);
		state.failing = 1;
		strlcpy_(state.error, error, sizeof state.error);
	}
}

/* Close every descriptor from lo up, but keep. */
static void
state_close_from(int lo, int keep)
{
	int	fd, max = (int)sysconf(_SC_OPEN_MAX);

	if (keep > lo && close_range((unsigned)lo, (unsigned)keep - 1, 0) ==
	    0 && close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
	for (fd = lo; fd < max; fd++)
		if (fd != keep)
			close(fd);
}

/*
 * Start a save in a child process. A save already running is left to
 * finish, and another one follows it.
 */
static void
state_save_start(const char *why)
{
	const struct plugin	*p;
	unsigned long long	 bytes;
	size_t			 files, failed;
	char			 err[256], report[300];
	double			 t0;
	pid_t			 pid;
	int			 fds[2];

	if (!state.enabled || server->shutting_down)
		return;
	state.next_save = clock_mono() + server->config->save_interval;
	if (state.saver > 0) {
		state.again = 1;
		return;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_warn("state: pipe for the saving process");
		return;
	}
	t0 = clock_mono();
	if ((pid = fork()) == -1) {
		log_warn("state: fork of the saving process");
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		/*
		 * The child: the daemon's signal handlers would write to the
		 * parent's event loop; a file size limit must give EFBIG,
		 * not kill. Write, report one line, _exit (no atexit, no
		 * sanitizer leak check of the parent's heap).
		 */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGXFSZ, SIG_IGN);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/*
		 * Hold no copy of the daemon's sockets and pipes: a client
		 * or plugin the daemon closes must see its EOF now, not when
		 * this child is done.
		 */
		close(fds[0]);
		state_close_from(3, fds[1]);
		failed = state_write_all(err, sizeof err, &bytes, &files);
		if (failed)
			snprintf(report, sizeof report, "%zu %s", failed, err);
		else
			snprintf(report, sizeof report, "0 %llu %zu", bytes,
			    files);
		state_write_fd(fds[1], (unsigned char *)report,
		    strlen(report));
		_exit(failed ? 1 : 0);
	}
	close(fds[1]);
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (!p->removed)
			continue;
		state.removed = xreallocarray(state.removed, state.nremoved + 1,
		    sizeof *state.removed);
		state.removed[state.nremoved].name = xstrdup(p->name);
		state.removed[state.nremoved++].forget = 0;
	}
	state.saver = pid;
	state.saver_warned = 0;
	state.saver_fd = fds[0];
	state.saver_started = t0;
	state.saver_why = why;
	state.last_fork_ms = state_ms(t0, clock_mono());
	log_debug("state: saving (%s) in pid %ld; fork took %.2f ms", why,
	    (long)pid, state.last_fork_ms);
}

/* The save ended: remove again the files forgotten while it ran. */
static void
state_forget_after_save(void)
{
	char	path[PATH_MAX];
	size_t	i;

	for (i = 0; i < state.nremoved; i++) {
		snprintf(path, sizeof path, "%s/%s%s", state.dir,
		    state.removed[i].name, STATE_SUFFIX);
		if (state.removed[i].forget && unlink(path) == -1 &&
		    errno != ENOENT)
			log_warn("state: cannot remove %s, forgotten while a "
			    "save wrote it", path);
		free(state.removed[i].name);
	}
	free(state.removed);
	state.removed = NULL;
	state.nremoved = 0;
}

/*
 * A child was reaped: if it was the saver, read its report and say what it
 * did. Returns 1 if it was.
 */
int
state_reaped(pid_t pid, int status, const struct rusage *ru)
{
	char		 report[320], err[300];
	ssize_t		 n = 0;
	unsigned long long bytes = 0;
	size_t		 files = 0, failed = 0;

	if (state.saver <= 0 || pid != state.saver)
		return 0;
	state.saver = 0;
	report[0] = '\0';
	if (state.saver_fd != -1) {
		n = read(state.saver_fd, report, sizeof report - 1);
		close(state.saver_fd);
		state.saver_fd = -1;
		report[n > 0 ? n : 0] = '\0';
	}
	state.last_wall_ms = state_ms(state.saver_started, clock_mono());
	state.last_cpu_ms = ru ? (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) *
	    1000.0 + (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000.0 :
	    0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    sscanf(report, "0 %llu %zu", &bytes, &files) == 2) {
		state.last_save = clock_wall();
		state.last_bytes = bytes;
		state.last_files = files;
		log_debug("state: saved %zu files, %llu bytes, in %.1f ms "
		    "(saving process CPU %.1f ms)", files, bytes,
		    state.last_wall_ms, state.last_cpu_ms);
		state_outcome(1, NULL);
	} else {
		if (WIFSIGNALED(status))
			snprintf(err, sizeof err, "the saving process was "
			    "killed by signal %d", WTERMSIG(status));
		else if (sscanf(report, "%zu", &failed) == 1 &&
		    strchr(report, ' ') != NULL)
			snprintf(err, sizeof err, "%s%s",
			    strchr(report, ' ') + 1, failed > 1 ?
			    " (and more files)" : "");
		else
			snprintf(err, sizeof err, "the saving process exited "
			    "with status %d", WIFEXITED(status) ?
			    WEXITSTATUS(status) : -1);
		state_outcome(0, err);
	}
	state_forget_after_save();
	if (state.again) {
		state.again = 0;
		state_save_start("requested during the last save");
	}
	return 1;
}

/*
 * On the cron tick: save when due. A saving process still running after
 * STATE_SAVER_SLOW seconds is said once: the disk or file system under the
 * state directory is stuck, and no other save starts until it ends.
 */
void
state_cron(double now_mono)
{
	if (!state.enabled)
		return;
	if (state.saver > 0 && !state.saver_warned &&
	    now_mono - state.saver_started > STATE_SAVER_SLOW) {
		log_warnx("state: the saving process (pid %ld) has run for "
		    "%.0f s: is %s on a stuck file system? history stays in "
		    "memory; no other save starts until it ends",
		    (long)state.saver, now_mono - state.saver_started,
		    state.dir);
		state.saver_warned = 1;
	}
	if (now_mono >= state.next_save)
		state_save_start("save_interval");
}

/* Save soon (a crash was recorded, a reload happened). */
void
state_save_soon(const char *why)
{
	double	at;

	if (!state.enabled)
		return;
	if (why != NULL && strcmp(why, "reload") == 0) {
		state_save_start(why);
		return;
	}
	at = clock_mono() + STATE_CRASH_DELAY;
	if (at < state.next_save)
		state.next_save = at;
}

/*
 * Wait for the saving process at shutdown: STATE_SAVER_WAIT seconds, then
 * kill it (a save stuck on a hung file system must not keep the daemon
 * from exiting) and wait a little more. 0 once reaped, -1 if it would not
 * go.
 */
static int
state_wait_saver(int *status)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	double		deadline = clock_mono() + STATE_SAVER_WAIT;
	pid_t		pid;
	int		killed = 0;

	for (;;) {
		pid = waitpid(state.saver, status, WNOHANG);
		if (pid == state.saver)
			return 0;
		if (pid == -1 && errno != EINTR)
			return -1;
		if (clock_mono() >= deadline) {
			if (killed)
				return -1;
			log_warnx("state: the saving process (pid %ld) has not "
			    "finished in %g s; killing it", (long)state.saver,
			    STATE_SAVER_WAIT);
			kill(state.saver, SIGKILL);
			killed = 1;
			deadline = clock_mono() + 5;
		}
		nanosleep(&ts, NULL);
	}
}

/*
 * Save in this process, now (at shutdown, once every plugin is stopped). A
 * save running in a child is waited for first: its files must not land
 * after these.
 */
void
state_save_now(void)
{
	unsigned long long	bytes;
	size_t			files, failed;
	char			err[256];
	double			t0 = clock_mono();
	int			status;

	if (!state.enabled)
		return;
	if (state.saver > 0 && state_wait_saver(&status) == 0) {
		state_reaped(state.saver, status, NULL);
		state.again = 0;
	}
	failed = state_write_all(err, sizeof err, &bytes, &files);
	if (failed) {
		log_warnx("state: history not saved at shutdown: %s", err);
		return;
	}
	log_info("state: saved the history of %zu plugins to %s (%llu bytes, "
	    "%.1f ms)", files, state.dir, bytes, state_ms(t0, clock_mono()));
}

/*
 * Read a whole state file into the read buffer, reused across a load of
 * every plugin: a fresh buffer per file costs a page fault per 4 KB, which
 * measured 45 ms of the 135 ms it took to load 1000 full files.
 * -1 with errno (ENOENT: there is none).
 */
static int
state_read_file(const char *path, unsigned char **buf, size_t *len)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)STATEFILE_MAX_BYTES) {
		if (errno == 0 || !S_ISREG(st.st_mode))
			errno = EINVAL;
		else if (st.st_size > (off_t)STATEFILE_MAX_BYTES)
			errno = EFBIG;
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size + 1 > state.rbuf_size) {
		free(state.rbuf);
		state.rbuf_size = (size_t)st.st_size + 1;
		state.rbuf = xmalloc(state.rbuf_size);
	}
	*buf = state.rbuf;
	while (got < (size_t)st.st_size) {
		n = read(fd, *buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return 0;
}

/* Rename a file that cannot be trusted aside, NAME.KIND-YYYYmmddTHHMMSS. */
static void
state_set_aside(const struct plugin *p, const char *path, const char *kind,
    const char *cause)
{
	char		 aside[PATH_MAX], stamp[32];
	time_t		 now = time(NULL);
	struct tm	 tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
	snprintf(aside, sizeof aside, "%s/%s.%s-%s", state.dir, p->name, kind,
	    stamp);
	if (rename(path, aside) == -1) {
		log_warn("plugin %s: state file %s is %s (%s) and could not "
		    "be renamed to %s; starting with empty history", p->name,
		    path, kind, cause, aside);
		return;
	}
	log_warnx("plugin %s: state file %s is %s (%s): kept aside as %s; "
	    "starting with empty history", p->name, path, kind, cause, aside);
}

/* Put a loaded ring in place, converting a different shape. */
static void
state_apply_ring(struct plugin *p, struct state_history *h)
{
	size_t	cap = ring_capacity(p->ring), n, i, from;

	if (h->ring == NULL)
		return;
	n = ring_count(h->ring);
	if (ring_capacity(h->ring) == cap &&
	    h->poll_interval == server->config->poll_interval) {
		ring_free(p->ring);
		p->ring = h->ring;
		h->ring = NULL;
		return;
	}
	/* The samples are real readings: keep the newest that fit. */
	ring_free(p->ring);
	p->ring = ring_new(cap, ring_epoch(h->ring));
	from = n > cap ? n - cap : 0;
	for (i = from; i < n; i++)
		ring_push(p->ring, ring_sample_time(h->ring,
		    ring_get(h->ring, i)), ring_get(h->ring, i));
	log_info("plugin %s: saved raw history was %zu x %g s, now %zu x "
	    "%g s: kept the newest %zu of %zu samples", p->name,
	    ring_capacity(h->ring), h->poll_interval, cap,
	    server->config->poll_interval, n - from, n);
}

/* How far back a full tier reaches, in seconds. */
static double
state_tier_span(const struct rollup_tier *t)
{
	return rollup_resolution(t) * (double)rollup_capacity(t);
}

/*
 * Put loaded tiers in place, converting or dropping a different shape. All
 * conversions come first, from the saved tiers as loaded; only then are the
 * saved tiers of the same shape moved in (a tier added between two others
 * is built from the finer one before that one is taken).
 */
static void
state_apply_tiers(struct plugin *p, struct state_history *h)
{
	struct rollup_tier	*src;
	int			 same[ROLLUP_MAX_TIERS];
	size_t			 k, j;

	for (k = 0; k < p->ntiers; k++) {
		same[k] = -1;
		for (j = 0; j < h->ntiers; j++)
			if (rollup_resolution(h->tiers[j]) ==
			    rollup_resolution(p->tiers[k]) &&
			    rollup_capacity(h->tiers[j]) ==
			    rollup_capacity(p->tiers[k]))
				same[k] = (int)j;
	}
	for (k = 0; k < p->ntiers; k++) {
		if (same[k] != -1)
			continue;
		/*
		 * The saved tier that divides it and reaches furthest back:
		 * each gives exact buckets, and the finest may hold a day
		 * where the next holds a month.
		 */
		src = NULL;
		for (j = 0; j < h->ntiers; j++) {
			if (rollup_convertible(h->tiers[j], p->tiers[k]) &&
			    (src == NULL || state_tier_span(h->tiers[j]) >
			    state_tier_span(src)))
				src = h->tiers[j];
		}
		if (src != NULL) {
			rollup_convert(p->tiers[k], src);
			log_info("plugin %s: saved %g s x %zu tier converted "
			    "to %g s x %zu", p->name, rollup_resolution(src),
			    rollup_capacity(src),
			    rollup_resolution(p->tiers[k]),
			    rollup_capacity(p->tiers[k]));
		} else if (h->ntiers > 0)
			log_info("plugin %s: no saved tier converts exactly "
			    "to %g s buckets: that tier starts empty", p->name,
			    rollup_resolution(p->tiers[k]));
	}
	for (k = 0; k < p->ntiers; k++) {
		if (same[k] == -1 || h->tiers[same[k]] == NULL)
			continue;
		rollup_free(p->tiers[k]);
		p->tiers[k] = h->tiers[same[k]];
		h->tiers[same[k]] = NULL;
	}
}

/* Take the counters and crash records of a loaded file. */
static void
state_apply_counters(struct plugin *p, struct state_history *h)
{
	uint64_t	in_flight;
	size_t		i, j;

	for (i = 0; i < h->ncounters; i++) {
		for (j = 0; j < nitems(state_counters); j++) {
			if (strcmp(h->counters[i].name,
			    state_counters[j].name) == 0)
				memcpy((char *)p + state_counters[j].offset,
				    &h->counters[i].value, sizeof(uint64_t));
		}
		if (strcmp(h->counters[i].name, "restarts") == 0)
			p->restarts = (unsigned)h->counters[i].value;
		if (strcmp(h->counters[i].name, "starts") == 0)
			p->starts = (unsigned)h->counters[i].value;
	}
	/*
	 * Events in flight when the file was written never got their reply:
	 * the daemon that had them died. Count them as such, so routed =
	 * replies + dropped holds again.
	 */
	if (p->events_routed > p->replies + p->events_dropped) {
		in_flight = p->events_routed - p->replies - p->events_dropped;
		p->dropped[DROP_DIED] += in_flight;
		p->events_dropped += in_flight;
		log_info("plugin %s: %llu events in flight when history was "
		    "saved are counted as dropped (died)", p->name,
		    (unsigned long long)in_flight);
	}
	if (h->crashes != NULL) {
		for (i = 0; i < crashlog_count(h->crashes); i++)
			crashlog_push(p->crashes, crashlog_get(h->crashes, i));
		crashlog_set_total(p->crashes, crashlog_total(h->crashes));
	}
}

/*
 * Load one plugin's saved history, if there is any. Called before it is
 * started (at daemon start, or when a reload adds it).
 */
void
state_load(struct plugin *p)
{
	struct state_history	 h;
	enum statefile_error	 e;
	unsigned char		*buf;
	char			 path[PATH_MAX], when[32], *cause;
	size_t			 len;
	time_t			 t;
	struct tm		 tm;

	if (!state.enabled)
		return;
	snprintf(path, sizeof path, "%s/%s%s", state.dir, p->name,
	    STATE_SUFFIX);
	if (state_read_file(path, &buf, &len) == -1) {
		if (errno != ENOENT)
			log_warn("plugin %s: cannot read state file %s; "
			    "starting with empty history", p->name, path);
		return;
	}
	e = statefile_decode(buf, len, &h, &cause);
	if (e == STATEFILE_OK && strcmp(h.name, p->name) != 0) {
		xasprintf(&cause, "it holds the history of \"%s\"", h.name);
		statefile_clear(&h);
		e = STATEFILE_CORRUPT;
	}
	if (e != STATEFILE_OK) {
		state_set_aside(p, path, e == STATEFILE_NEWER ? "newer" :
		    "corrupt", cause);
		free(cause);
		return;
	}
	state_apply_ring(p, &h);
	state_apply_tiers(p, &h);
	state_apply_counters(p, &h);
	t = (time_t)h.saved_at;
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	log_debug("plugin %s: history restored from %s (saved %s: %zu "
	    "samples, %llu crashes)", p->name, path, when,
	    ring_count(p->ring), (unsigned long long)crashlog_total(
	    p->crashes));
	state.loaded++;
	statefile_clear(&h);
}

/* Free the read buffer of a load. */
void
state_load_done(void)
{
	free(state.rbuf);
	state.rbuf = NULL;
	state.rbuf_size = 0;
}

/* Load every configured plugin's history (at start). */
void
state_load_all(void)
{
	struct plugin	*p;
	double		 t0 = clock_mono();

	if (!state.enabled)
		return;
	state.loaded = 0;
	TAILQ_FOREACH(p, &server->plugins, entry)
		state_load(p);
	state_load_done();
	/*
	 * Loading allocated each history anew and freed what the plugins
	 * were made with, and the read buffer: give those pages back.
	 */
	malloc_trim(0);
	state.load_ms = state_ms(t0, clock_mono());
	log_info("state: history of %zu of %zu plugins loaded from %s in "
	    "%.1f ms", state.loaded, hmap_count(server->by_name), state.dir,
	    state.load_ms);
}

/*
 * Remove the saved history of a plugin that is no longer configured.
 * Returns 0, or -1 with a message for the operator.
 */
int
state_forget(const char *name, char *err, size_t errlen)
{
	struct state_in_save	*saving = NULL;
	char			 path[PATH_MAX];
	size_t			 i;

	if (!state.enabled) {
		snprintf(err, errlen, "history is not saved (state.enabled is "
		    "false)");
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s%s", state.dir, name, STATE_SUFFIX);
	for (i = 0; i < state.nremoved; i++)
		if (strcmp(state.removed[i].name, name) == 0)
			saving = &state.removed[i];
	/* In the running save, it may have no file yet: it will have. */
	if (unlink(path) == -1 && (errno != ENOENT || saving == NULL)) {
		if (errno == ENOENT)
			snprintf(err, errlen, "no saved history for \"%s\" in "
			    "%s", name, state.dir);
		else
			snprintf(err, errlen, "cannot remove %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (saving != NULL)
		saving->forget = 1;
	log_info("state: forgot the saved history of %s (removed %s)", name,
	    path);
	return 0;
}

/* Names with a saved history and no plugin in the config, for status. */
json_t *
state_unconfigured(void)
{
	json_t		*list = json_array();
	struct dirent	*de;
	DIR		*d;
	size_t		 len, slen = strlen(STATE_SUFFIX);
	char		 name[STATEFILE_NAME_MAX + 1];

	if (!state.enabled || (d = opendir(state.dir)) == NULL)
		return list;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= slen ||
		    len - slen > STATEFILE_NAME_MAX ||
		    strcmp(de->d_name + len - slen, STATE_SUFFIX) != 0)
			continue;
		memcpy(name, de->d_name, len - slen);
		name[len - slen] = '\0';
		if (config_valid_name(name) && server_find_plugin(name) == NULL)
			json_array_append_new(list, json_string(name));
	}
	closedir(d);
	return list;
}

/* The state directory's settings and the last save, for status. */
json_t *
state_status(void)
{
	if (!state.enabled)
		return json_pack("{s:b}", "enabled", 0);
	return json_pack("{s:b, s:s, s:f, s:o, s:b, s:o, s:I, s:I, s:f, s:f, "
	    "s:f, s:f}",
	    "enabled", 1, "dir", state.dir,
	    "save_interval", server->config->save_interval,
	    "last_save", state.last_save > 0 ?
	    json_real(round_nearest(state.last_save * 10) / 10) : json_null(),
	    "failing", state.failing,
	    "error", state.failing ? json_string(state.error) : json_null(),
	    "last_save_files", (json_int_t)state.last_files,
	    "last_save_bytes", (json_int_t)state.last_bytes,
	    "last_save_fork_ms", round_nearest(state.last_fork_ms * 100) / 100,
	    "last_save_ms", round_nearest(state.last_wall_ms * 10) / 10,
	    "last_save_cpu_ms", round_nearest(state.last_cpu_ms * 10) / 10,
	    "load_ms", round_nearest(state.load_ms * 10) / 10);
}

/* Wall time history reaches back to: the oldest sample or bucket; 0 none. */
double
state_history_since(const struct plugin *p)
{
	double	oldest = rollup_oldest(p->tiers, p->ntiers), raw = 0;

	if (ring_count(p->ring) > 0)
		raw = ring_sample_time(p->ring, ring_get(p->ring, 0));
	if (oldest == 0 || (raw > 0 && raw < oldest))
		oldest = raw;
	return oldest;
}

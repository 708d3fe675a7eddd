/*
 * watch.c: upgrade a plugin when its files change on disk ("watch" in the
 * config): the plugin author's edit-and-see loop (PM2's --watch).
 *
 * One inotify descriptor for the daemon, read through the event loop. It
 * watches the directories that hold the watched files, not the files: a
 * compiler or an editor often writes a new file and renames it over the
 * old one, and a watch on the old file's inode would see nothing of that.
 * The events of one plugin's files are coalesced: every event re-arms the
 * plugin's settle timer (WATCH_SETTLE); when it fires, and no writer still
 * has a file open for writing (an IN_MODIFY without its IN_CLOSE_WRITE yet;
 * at most WATCH_MAX_WAIT), each file whose identity (inode, size, mtime,
 * mode) changed since the last upgrade must be complete: a regular file,
 * and executable if it is the program. Then the plugin gets one upgrade
 * event, whatever the number of files and events. A file not ready yet (not
 * executable, gone for the moment) is logged and waited for: its chmod or
 * its return is an event too.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

/*
 * Seconds without an event before a burst is taken as over. A compiler's
 * output or an editor's save is a burst of events within a few ms; a
 * writer that pauses longer in mid-file still holds it open, which
 * WATCH_MAX_WAIT covers.
 */
#define WATCH_SETTLE		0.3
/* Seconds a file held open for writing may delay the upgrade at most. */
#define WATCH_MAX_WAIT		10.0
/* What a directory is watched for: writes, renames, chmod, removal. */
#define WATCH_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | \
	IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR)

/* What a file was when last seen good; a change of any is a change. */
struct watch_sig {
	int		 exists;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	mode_t		 mode;
};

struct watch_file {
	char			*path;
	char			*base;		/* its name in dir */
	int			 wd;		/* its directory's watch */
	int			 program;	/* must be executable */
	struct watch_sig	 sig;
};

/* One plugin's watched files and its burst of events. */
struct watch_group {
	char			 name[64];	/* the plugin, looked up by name */
	struct watch_file	*files;
	size_t			 nfiles;
	struct event		*settle;
	double			 first;		/* monotonic, 0: no burst */
	int			 writing;	/* a file is open for writing */
	char			 changed[PATH_MAX];	/* for the log */
};

static int			 watch_fd = -1;
static struct event		*watch_ev;
static struct watch_group	*watch_groups;
static size_t			 watch_ngroups;

static void	watch_read_cb(evutil_socket_t, short, void *);
static void	watch_settle_cb(evutil_socket_t, short, void *);

/* What a file is now. */
static void
watch_stat(const char *path, struct watch_sig *sig)
{
	struct stat	st;

	memset(sig, 0, sizeof *sig);
	if (stat(path, &st) == -1)
		return;
	sig->exists = 1;
	sig->dev = st.st_dev;
	sig->ino = st.st_ino;
	sig->size = st.st_size;
	sig->mtime = st.st_mtim;
	sig->mode = st.st_mode;
}

static int
watch_sig_equal(const struct watch_sig *a, const struct watch_sig *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec && a->mode == b->mode;
}

/* Forget every watch (a reload builds them again). */
static void
watch_clear(void)
{
	size_t	i, j;

	for (i = 0; i < watch_ngroups; i++) {
		for (j = 0; j < watch_groups[i].nfiles; j++) {
			if (watch_fd != -1 && watch_groups[i].files[j].wd >= 0)
				inotify_rm_watch(watch_fd,
				    watch_groups[i].files[j].wd);
			free(watch_groups[i].files[j].path);
		}
		free(watch_groups[i].files);
		event_free(watch_groups[i].settle);
	}
	free(watch_groups);
	watch_groups = NULL;
	watch_ngroups = 0;
}

/* The inotify descriptor and its read event, once. 0, or -1 logged. */
static int
watch_open(void)
{
	if (watch_fd != -1)
		return 0;
	if ((watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("watch: inotify_init1; no plugin is watched");
		return -1;
	}
	watch_ev = event_new(server->base, watch_fd, EV_READ | EV_PERSIST,
	    watch_read_cb, NULL);
	event_add(watch_ev, NULL);
	return 0;
}

/* Watch one file of a group: its directory, and what it is now. */
static void
watch_add_file(struct watch_group *g, const char *path, int program)
{
	struct watch_file	*f = &g->files[g->nfiles];
	char			 dir[PATH_MAX];
	const char		*slash = strrchr(path, '/');
	size_t			 len;

	if (slash == NULL)
		return;		/* resolved paths are absolute */
	len = (size_t)(slash - path);
	if (len == 0)
		len = 1;	/* a file in / */
	if (len >= sizeof dir)
		return;
	memcpy(dir, path, len);
	dir[len] = '\0';
	f->path = xstrdup(path);
	f->base = f->path + (slash - path) + 1;
	f->program = program;
	watch_stat(path, &f->sig);
	/* inotify gives one directory the same watch for every file in it. */
	if ((f->wd = inotify_add_watch(watch_fd, dir, WATCH_MASK)) == -1) {
		log_warn("watch: plugin %s: cannot watch %s", g->name, dir);
		free(f->path);
		return;
	}
	g->nfiles++;
	log_info("watch: plugin %s: watching %s", g->name, path);
}

/* (Re)build the watches from the plugins' configs: at start, on reload. */
void
watch_configure(void)
{
	struct plugin		*p;
	struct watch_group	*g;
	size_t			 n = 0, i;

	watch_clear();
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->conf->watch && !p->removed && p->conf->nwatch > 0)
			n++;
	}
	if (n == 0 || watch_open() == -1)
		return;
	watch_groups = xcalloc(n, sizeof *watch_groups);
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (!p->conf->watch || p->removed || p->conf->nwatch == 0)
			continue;
		g = &watch_groups[watch_ngroups++];
		strlcpy_(g->name, p->name, sizeof g->name);
		g->files = xcalloc(p->conf->nwatch, sizeof *g->files);
		g->settle = evtimer_new(server->base, watch_settle_cb, g);
		for (i = 0; i < p->conf->nwatch; i++)
			watch_add_file(g, p->conf->watch_paths[i],
			    strcmp(p->conf->watch_paths[i], p->conf->argv[0]) ==
			    0);
	}
}

/* An event for a group's file: note it and (re)arm the settle timer. */
static void
watch_note(struct watch_group *g, const struct watch_file *f, uint32_t mask)
{
	struct timeval	tv = clock_timeval(WATCH_SETTLE);

	if (g->first == 0)
		g->first = clock_mono();
	if (mask & (IN_MODIFY | IN_CREATE))
		g->writing = 1;
	if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM))
		g->writing = 0;
	strlcpy_(g->changed, f != NULL ? f->path : "(events lost)",
	    sizeof g->changed);
	evtimer_add(g->settle, &tv);
}

/* Read every inotify event there is; match each to the watched files. */
static void
watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	/* inotify(7): aligned for struct inotify_event, room for a name. */
	char				 buf[16 * (sizeof(struct inotify_event) +
	    NAME_MAX + 1)] __attribute__((aligned(__alignof__(
	    struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	size_t				 i, j, off;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; off + sizeof *ev <= (size_t)n;
		    off += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events were lost: look at every file. */
				for (i = 0; i < watch_ngroups; i++)
					watch_note(&watch_groups[i], NULL, 0);
				continue;
			}
			if (ev->len == 0)
				continue;
			for (i = 0; i < watch_ngroups; i++) {
				for (j = 0; j < watch_groups[i].nfiles; j++) {
					struct watch_file *f =
					    &watch_groups[i].files[j];

					if (f->wd == ev->wd &&
					    strcmp(f->base, ev->name) == 0)
						watch_note(&watch_groups[i], f,
						    ev->mask);
				}
			}
		}
	}
}

/*
 * A burst is over: if its files changed and are complete, one upgrade. A
 * file still open for writing holds it back (up to WATCH_MAX_WAIT).
 */
static void
watch_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch_group	*g = arg;
	struct watch_sig	 now[CONFIG_MAX_WATCH];
	struct plugin		*p;
	struct timeval		 tv;
	char			 why[PATH_MAX + 64];
	size_t			 i, changed = 0;

	if (g->writing && clock_mono() - g->first < WATCH_MAX_WAIT) {
		tv = clock_timeval(WATCH_SETTLE);
		evtimer_add(g->settle, &tv);
		return;
	}
	g->first = 0;
	g->writing = 0;
	for (i = 0; i < g->nfiles && i < nitems(now); i++) {
		const struct watch_file	*f = &g->files[i];

		watch_stat(f->path, &now[i]);
		if (watch_sig_equal(&now[i], &f->sig))
			continue;
		if (!now[i].exists) {
			log_info("watch: plugin %s: %s is gone; waiting for it",
			    g->name, f->path);
			return;
		}
		if (!S_ISREG(now[i].mode)) {
			log_warnx("watch: plugin %s: %s is not a regular file; "
			    "waiting", g->name, f->path);
			return;
		}
		if (f->program && access(f->path, X_OK) == -1) {
			log_info("watch: plugin %s: %s changed but is not "
			    "executable yet; waiting", g->name, f->path);
			return;
		}
		changed++;
	}
	if (changed == 0)
		return;		/* touched, rewritten alike, or back as it was */
	for (i = 0; i < g->nfiles && i < nitems(now); i++)
		g->files[i].sig = now[i];
	if ((p = server_find_plugin(g->name)) == NULL || p->removed ||
	    server->shutting_down)
		return;
	log_info("watch: plugin %s: %s changed; upgrading (%s)", g->name,
	    g->changed, plugin_state_name(p->state));
	snprintf(why, sizeof why, "watch: %s changed", g->changed);
	plugin_event(p, PEV_UPGRADE, why);
}

void
watch_free(void)
{
	watch_clear();
	if (watch_ev != NULL)
		event_free(watch_ev);
	watch_ev = NULL;
	if (watch_fd != -1)
		close(watch_fd);
	watch_fd = -1;
}

/*
 * contain.c: nothing a plugin starts outlives it.
 *
 * A plugin runs in its own process group, and the group is killed when the
 * plugin exits; but a descendant that calls setsid(), or joins another
 * group, leaves it. Two ways catch those, chosen once at start:
 *
 * cgroup	Where the daemon's cgroup v2 directory can have children, it
 *		makes one subtree for itself (supervisor.PID beside its own
 *		processes, so two daemons in one cgroup never meet) and one
 *		cgroup per plugin in it, which the child joins before exec.
 *		Membership is exact and inherited by every fork; cgroup.kill
 *		(Linux 5.14) ends all members at once, even one forking at that
 *		very moment. The cgroups also give exact CPU (and, where the
 *		memory controller is delegated, memory) figures for the whole
 *		plugin tree.
 * subreaper	Otherwise: the daemon is a child subreaper, so a descendant
 *		whose parent died is reparented to it. Those orphans are found
 *		in /proc (children of the daemon that are no plugin) and, with
 *		everything below them, killed when their plugin exits and at
 *		shutdown. An orphan is attributed by its process group (the
 *		plugin's pid) or else by SUPERVISOR_PLUGIN in its environment;
 *		one attributed to a live plugin is left alone.
 *
 * SUPERVISOR_CONTAINMENT=auto (default), cgroup (refuse to start without
 * it) or subreaper (never try cgroups) chooses; `system` says which is in
 * force. The cost per restart, from scripts/bench.py's restart gap: about
 * 0.2-0.3 ms in cgroup mode (mkdir, the child's write, cgroup.kill, rmdir), and
 * one read of the daemon's children list in subreaper mode.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

/* Pids named in one "killed N leftover processes" line (N counts them all). */
#define CONTAIN_LOG_PIDS	16
/* Pids killed at shutdown that later sweeps kill again without a word. */
#define CONTAIN_KILLED_MAX	256

static int	 contain_cgroup;	/* cgroup mode in force */
static char	*contain_base;		/* the daemon's subtree: .../supervisor.PID */
static int	 contain_dirty;		/* a plugin cgroup awaits its rmdir */
static pid_t	 contain_killed[CONTAIN_KILLED_MAX];
static size_t	 contain_nkilled;

/* One process as /proc shows it. */
struct contain_proc {
	pid_t			 pid;
	pid_t			 ppid;
	pid_t			 pgrp;
	char			 state;
	int			 doomed;
	const struct plugin	*owner;
};

/* Read a small file whole into buf (NUL-terminated); its length or -1. */
static ssize_t
contain_read(const char *path, char *buf, size_t size)
{
	ssize_t	n, len = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)len < size - 1) {
		n = read(fd, buf + len, size - 1 - (size_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

/* Write a short string to a cgroup file; 0 or -1 with errno. */
static int
contain_write(const char *path, const char *s)
{
	int	fd, saved;
	ssize_t	n;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, strlen(s));
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Whether a space-separated list holds word. */
static int
contain_has_word(const char *list, const char *word)
{
	size_t		 len = strlen(word);
	const char	*s = list;

	while ((s = strstr(s, word)) != NULL) {
		if ((s == list || isspace((unsigned char)s[-1])) &&
		    (s[len] == '\0' || isspace((unsigned char)s[len])))
			return 1;
		s += len;
	}
	return 0;
}

/* Where cgroup v2 is mounted (first cgroup2 line of mountinfo), and its root. */
static int
contain_find_mount(char *mnt, size_t mntsize, char *root, size_t rootsize,
    char **why)
{
	FILE	*f;
	char	*line = NULL, *sep, *field[5], *s;
	size_t	 cap = 0;
	int	 i, found = 0;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL) {
		xasprintf(why, "/proc/self/mountinfo: %s", strerror(errno));
		return -1;
	}
	while (!found && getline(&line, &cap, f) != -1) {
		if ((sep = strstr(line, " - ")) == NULL ||
		    strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		*sep = '\0';
		s = line;
		for (i = 0; i < 5 && (field[i] = strsep(&s, " ")) != NULL; i++)
			;
		if (i < 5)
			continue;
		strlcpy_(root, field[3], rootsize);
		strlcpy_(mnt, field[4], mntsize);
		found = 1;
	}
	free(line);
	fclose(f);
	if (!found)
		xasprintf(why, "no cgroup2 file system is mounted");
	return found ? 0 : -1;
}

/* The daemon's cgroup v2 directory: the mount point plus its "0::" path. */
static int
contain_self_dir(char *dir, size_t size, char **why)
{
	char		 mnt[PATH_MAX], root[PATH_MAX], buf[4096], *rel, *nl;
	size_t		 rlen;

	if (contain_find_mount(mnt, sizeof mnt, root, sizeof root, why) == -1)
		return -1;
	if (contain_read("/proc/self/cgroup", buf, sizeof buf) == -1) {
		xasprintf(why, "/proc/self/cgroup: %s", strerror(errno));
		return -1;
	}
	if (strncmp(buf, "0::", 3) == 0)
		rel = buf + 3;
	else if ((rel = strstr(buf, "\n0::")) != NULL)
		rel += 4;
	else {
		xasprintf(why, "/proc/self/cgroup has no cgroup v2 line");
		return -1;
	}
	if ((nl = strchr(rel, '\n')) != NULL)
		*nl = '\0';
	/* A mount of a subtree shows the paths below its root. */
	rlen = strlen(root);
	if (strcmp(root, "/") != 0) {
		if (strncmp(rel, root, rlen) != 0 ||
		    (rel[rlen] != '\0' && rel[rlen] != '/')) {
			xasprintf(why, "the daemon's cgroup %s is outside the "
			    "cgroup2 mount at %s", rel, mnt);
			return -1;
		}
		rel += rlen;
	}
	if (strcmp(rel, "/") == 0)
		rel = "";
	if ((size_t)snprintf(dir, size, "%s%s", mnt, rel) >= size) {
		xasprintf(why, "cgroup path too long");
		return -1;
	}
	return 0;
}

/*
 * Remove what a daemon killed with SIGKILL left beside us: its subtree
 * supervisor.PID, with the processes plugins had started that nobody
 * stopped (a plugin dies with the daemon, PR_SET_PDEATHSIG; what it
 * detached does not). Only subtrees of daemons that are gone: another
 * daemon in the same cgroup keeps its own.
 */
static void
contain_reap_stale(const char *dir)
{
	struct timespec	 ts = { 0, 5 * 1000 * 1000 };
	struct dirent	*de, *ce;
	DIR		*d, *cd;
	char		 path[PATH_MAX + 300], sub[PATH_MAX + 600];
	char		*end;
	long		 pid;
	int		 tries, left;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "supervisor.", 11) != 0)
			continue;
		pid = strtol(de->d_name + 11, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		snprintf(sub, sizeof sub, "%s/cgroup.kill", path);
		contain_write(sub, "1");
		for (tries = 0, left = 1; tries < 40 && left; tries++) {
			left = 0;
			if ((cd = opendir(path)) == NULL)
				break;
			while ((ce = readdir(cd)) != NULL) {
				if (ce->d_type != DT_DIR || ce->d_name[0] == '.')
					continue;
				snprintf(sub, sizeof sub, "%s/%s", path,
				    ce->d_name);
				if (rmdir(sub) == -1 && errno == EBUSY)
					left = 1;
			}
			closedir(cd);
			if (!left && rmdir(path) == -1 && errno == EBUSY)
				left = 1;
			if (left)
				nanosleep(&ts, NULL);
		}
		if (left)
			log_warnx("containment: %s, left by daemon pid %ld, "
			    "still holds processes after cgroup.kill", path,
			    pid);
		else
			log_info("containment: removed %s, left by daemon pid "
			    "%ld (killed with what its plugins had started)",
			    path, pid);
	}
	closedir(d);
}

/* Make the daemon's subtree; 0, or -1 with why. */
static int
contain_cgroup_setup(char **why)
{
	char	dir[PATH_MAX], path[PATH_MAX + 64], list[512];

	if (contain_self_dir(dir, sizeof dir, why) == -1)
		return -1;
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	/* Moving a process needs write access to the common ancestor's. */
	if (access(path, W_OK) == -1) {
		xasprintf(why, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	contain_reap_stale(dir);
	xasprintf(&contain_base, "%s/supervisor.%ld", dir, (long)getpid());
	if (mkdir(contain_base, 0755) == -1) {
		xasprintf(why, "mkdir %s: %s", contain_base, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof path, "%s/cgroup.kill", contain_base);
	if (access(path, W_OK) == -1) {
		xasprintf(why, "%s: %s (cgroup.kill needs Linux 5.14)", path,
		    strerror(errno));
		rmdir(contain_base);
		goto fail;
	}
	/* Memory figures where the controller is there to enable (optional). */
	snprintf(path, sizeof path, "%s/cgroup.controllers", contain_base);
	if (contain_read(path, list, sizeof list) > 0 &&
	    contain_has_word(list, "memory")) {
		snprintf(path, sizeof path, "%s/cgroup.subtree_control",
		    contain_base);
		if (contain_write(path, "+memory") == -1)
			log_warn("%s: +memory (no tree_memory_mb)", path);
	}
	return 0;

fail:
	free(contain_base);
	contain_base = NULL;
	return -1;
}

/* The SUPERVISOR_CONTAINMENT asked for: checked at start, used by contain_start. */
static const char	*contain_want = "auto";

/*
 * Check SUPERVISOR_CONTAINMENT before anything else happens (a bad value
 * stops the daemon before it binds its socket).
 */
void
contain_init(void)
{
	const char	*want = getenv("SUPERVISOR_CONTAINMENT");

	if (want == NULL || *want == '\0')
		want = "auto";
	if (strcmp(want, "auto") != 0 && strcmp(want, "cgroup") != 0 &&
	    strcmp(want, "subreaper") != 0)
		fatalx("SUPERVISOR_CONTAINMENT=%s: expected auto, cgroup or "
		    "subreaper", want);
	contain_want = want;
}

/*
 * Choose the containment, once, before any plugin starts: after the
 * control socket is ours, so a daemon that refuses to start (another one
 * runs there) makes no cgroup and says nothing but why.
 */
void
contain_start(void)
{
	const char	*want = contain_want;
	char		*why = NULL;

	if (strcmp(want, "subreaper") == 0) {
		log_info("containment: subreaper (SUPERVISOR_CONTAINMENT="
		    "subreaper): what a plugin leaves behind is killed at its "
		    "exit");
		return;
	}
	if (contain_cgroup_setup(&why) == 0) {
		contain_cgroup = 1;
		log_info("containment: cgroup: one cgroup per plugin under %s",
		    contain_base);
		return;
	}
	if (strcmp(want, "cgroup") == 0)
		fatalx("SUPERVISOR_CONTAINMENT=cgroup: no usable cgroup v2 "
		    "subtree: %s", why);
	log_info("containment: subreaper (no usable cgroup v2 subtree: %s): "
	    "what a plugin leaves behind is killed at its exit", why);
	free(why);
}

/* "cgroup" or "subreaper", for status and the log. */
const char *
contain_mode(void)
{
	return contain_cgroup ? "cgroup" : "subreaper";
}

/* A file of a plugin's cgroup. */
static void
contain_path(const char *name, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s%s%s", contain_base, name, *file ? "/" : "",
	    file);
}

/*
 * Before a spawn: make the plugin's cgroup and put the path of its
 * cgroup.procs in buf, for the child to write "0" to (joining it) before
 * exec; buf is "" without cgroups. 0, or -1 with *cause.
 */
int
contain_prepare(const struct plugin *p, char *buf, size_t size, char **cause)
{
	char	path[PATH_MAX];

	buf[0] = '\0';
	if (!contain_cgroup)
		return 0;
	contain_path(p->cgroup, "", path, sizeof path);
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		xasprintf(cause, "cgroup: mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	contain_path(p->cgroup, "cgroup.procs", buf, size);
	return 0;
}

/*
 * Undo contain_prepare for a spawn that did not happen: remove the cgroup
 * of a plugin without a process (one with a process stays, and a populated
 * one rmdir refuses).
 */
void
contain_unprepare(const struct plugin *p)
{
	char	path[PATH_MAX];

	if (!contain_cgroup || p->pid > 0)
		return;
	contain_path(p->cgroup, "", path, sizeof path);
	(void)rmdir(path);
}

/*
 * In cgroup mode, the live plugin whose cgroup (or one below it) a process
 * is in, from its /proc/PID/cgroup line "0::/.../supervisor.PID/NAME";
 * NULL otherwise.
 */
const struct plugin *
contain_cgroup_owner(pid_t pid)
{
	char		 path[64], buf[4096], name[64], *s, *e;
	const char	*base;
	size_t		 len;

	if (!contain_cgroup || (base = strrchr(contain_base, '/')) == NULL)
		return NULL;
	snprintf(path, sizeof path, "/proc/%ld/cgroup", (long)pid);
	if (contain_read(path, buf, sizeof buf) <= 0)
		return NULL;
	len = strlen(base);
	for (s = buf; (s = strstr(s, base)) != NULL; s += len) {
		if (s[len] != '/')
			continue;
		s += len + 1;
		for (e = s; *e != '\0' && *e != '/' && *e != '\n'; e++)
			;
		if ((size_t)(e - s) >= sizeof name)
			return NULL;
		memcpy(name, s, (size_t)(e - s));
		name[e - s] = '\0';
		return server_find_plugin(name);
	}
	return NULL;
}

/* Append a pid to a log list of at most CONTAIN_LOG_PIDS. */
static void
contain_note_pid(char *list, size_t size, size_t n, pid_t pid)
{
	size_t	len = strlen(list);

	if (n < CONTAIN_LOG_PIDS)
		snprintf(list + len, size - len, "%s%ld", n ? ", " : "",
		    (long)pid);
	else if (n == CONTAIN_LOG_PIDS)
		snprintf(list + len, size - len, ", …");
}

/* Whether a pid was killed by an earlier shutdown sweep (and note it). */
static int
contain_killed_before(pid_t pid)
{
	size_t	i;

	for (i = 0; i < contain_nkilled; i++) {
		if (contain_killed[i] == pid)
			return 1;
	}
	if (contain_nkilled < CONTAIN_KILLED_MAX)
		contain_killed[contain_nkilled++] = pid;
	return 0;
}

/*
 * Kill every member of one plugin's cgroup (named name) and log them; the
 * count. The list is read only for the log: cgroup.kill is what is exact.
 */
static size_t
contain_cgroup_kill(const char *name, int quiet_repeats)
{
	char	path[PATH_MAX + 128], buf[8192], list[256] = "", *s, *end;
	size_t	n = 0;
	long	pid;

	contain_path(name, "cgroup.procs", path, sizeof path);
	if (contain_read(path, buf, sizeof buf) <= 0)
		return 0;
	for (s = buf; *s != '\0'; s = end) {
		pid = strtol(s, &end, 10);
		if (end == s)
			break;
		while (*end == '\n')
			end++;
		if (quiet_repeats && contain_killed_before((pid_t)pid))
			continue;
		contain_note_pid(list, sizeof list, n++, (pid_t)pid);
	}
	contain_path(name, "cgroup.kill", path, sizeof path);
	if (contain_write(path, "1") == -1) {
		log_warn("plugin %s: %s", name, path);
		return 0;
	}
	if (n > 0)
		log_warnx("plugin %s: killed %zu leftover process%s (pids %s)",
		    name, n, n == 1 ? "" : "es", list);
	return n;
}

/* Read every process's pid, parent, group and state from /proc. */
static struct contain_proc *
contain_scan(size_t *count)
{
	struct contain_proc	*v = NULL;
	struct dirent		*de;
	DIR			*d;
	size_t			 n = 0, cap = 0;
	char			 path[64], buf[512], *s;
	long			 pid;
	int			 ppid, pgrp;
	char			 state;

	if ((d = opendir("/proc")) == NULL) {
		log_warn("/proc");
		*count = 0;
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if (contain_read(path, buf, sizeof buf) <= 0 ||
		    (s = strrchr(buf, ')')) == NULL ||
		    sscanf(s + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xreallocarray(v, cap, sizeof *v);
		}
		memset(&v[n], 0, sizeof v[n]);
		v[n].pid = (pid_t)pid;
		v[n].ppid = (pid_t)ppid;
		v[n].pgrp = (pid_t)pgrp;
		v[n].state = state;
		n++;
	}
	closedir(d);
	*count = n;
	return v;
}

/*
 * Whether the daemon has a child that is no plugin. One read of its
 * children list (the daemon is one thread) instead of all of /proc: a
 * plugin's exit without leftovers costs 0.05 ms, not the 1.2 ms of reading
 * 90 /proc/PID/stat files. Without that file (CONFIG_PROC_CHILDREN): yes.
 */
static int
contain_have_orphans(void)
{
	char	 path[64], buf[16384], *s, *end;
	long	 pid;
	ssize_t	 n;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
	    (long)getpid());
	if ((n = contain_read(path, buf, sizeof buf)) == -1 ||
	    (size_t)n >= sizeof buf - 1)
		return 1;
	for (s = buf; *s != '\0'; s = end) {
		pid = strtol(s, &end, 10);
		if (end == s)
			break;
		if (hmap_iget(server->by_pid, (uint64_t)pid) == NULL)
			return 1;
	}
	return 0;
}

/* The plugin an orphan belongs to: by process group, else by environment. */
static const struct plugin *
contain_owner(const struct contain_proc *c, const struct plugin *gone)
{
	static const char	 key[] = "SUPERVISOR_PLUGIN=";
	const struct plugin	*p;
	char			 path[64], buf[65536], *s, *end;
	ssize_t			 n;

	if (gone != NULL && !gone->conf->terminal && c->pgrp == gone->pid)
		return gone;
	if ((p = hmap_iget(server->by_pid, (uint64_t)c->pgrp)) != NULL &&
	    !p->conf->terminal)
		return p;
	snprintf(path, sizeof path, "/proc/%ld/environ", (long)c->pid);
	if ((n = contain_read(path, buf, sizeof buf)) <= 0)
		return NULL;
	for (s = buf, end = buf + n; s < end; s += strlen(s) + 1) {
		if (strncmp(s, key, sizeof key - 1) == 0)
			return server_find_plugin(s + sizeof key - 1);
	}
	return NULL;
}

/*
 * Subreaper mode: kill the orphans (children of the daemon that are no
 * plugin) and everything below them, but those of a live plugin other than
 * gone. gone is the plugin that just exited, or NULL at shutdown, where
 * every orphan goes. Returns how many were killed.
 */
static size_t
contain_sweep(const struct plugin *gone)
{
	struct contain_proc	*v, *c;
	const struct plugin	*owner, *who;
	pid_t			 self = getpid();
	size_t			 n, i, j, killed = 0, count;
	char			 list[256];
	int			 changed;

	if (!contain_have_orphans())
		return 0;
	if ((v = contain_scan(&n)) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		c = &v[i];
		if (c->ppid != self || c->state == 'Z' ||
		    hmap_iget(server->by_pid, (uint64_t)c->pid) != NULL)
			continue;
		owner = contain_owner(c, gone);
		if (gone != NULL && owner != NULL && owner != gone &&
		    owner->pid > 0)
			continue;	/* a live plugin's: it goes with it */
		c->doomed = 1;
		c->owner = owner;
	}
	/* Everything below an orphan goes with it (a few passes: its depth). */
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (v[i].doomed || v[i].ppid <= 1)
				continue;
			for (j = 0; j < n; j++) {
				if (v[j].doomed && v[j].pid == v[i].ppid) {
					v[i].doomed = 1;
					v[i].owner = v[j].owner;
					changed = 1;
					break;
				}
			}
		}
	} while (changed);
	/* One line per owner. */
	for (i = 0; i < n; i++) {
		if (v[i].doomed != 1)
			continue;
		who = v[i].owner;
		list[0] = '\0';
		count = 0;
		for (j = i; j < n; j++) {
			if (v[j].doomed != 1 || v[j].owner != who)
				continue;
			v[j].doomed = 2;
			if (kill(v[j].pid, SIGKILL) == -1)
				continue;
			if (gone == NULL && contain_killed_before(v[j].pid))
				continue;
			contain_note_pid(list, sizeof list, count++, v[j].pid);
		}
		if (count == 0)
			continue;
		if (who != NULL)
			log_warnx("plugin %s: killed %zu leftover process%s "
			    "(pids %s)", who->name, count, count == 1 ? "" :
			    "es", list);
		else
			log_warnx("killed %zu leftover process%s of plugins "
			    "(pids %s)", count, count == 1 ? "" : "es", list);
		killed += count;
	}
	free(v);
	return killed;
}

/*
 * A plugin's process is reaped: kill what it left behind, now. Its cgroup
 * is removed once empty (the killed may take a moment to die).
 */
void
contain_exited(const struct plugin *p)
{
	char	path[PATH_MAX + 128];

	if (!contain_cgroup) {
		contain_sweep(p);
		return;
	}
	contain_cgroup_kill(p->cgroup, 0);
	contain_path(p->cgroup, "", path, sizeof path);
	if (rmdir(path) == -1 && errno == EBUSY)
		contain_dirty = 1;
}

/* Remove the cgroups of plugins without a process that have emptied. */
void
contain_tidy(void)
{
	const struct plugin	*p;
	struct dirent		*de;
	DIR			*d;
	char			 path[PATH_MAX + 128];

	if (!contain_cgroup || !contain_dirty)
		return;
	if ((d = opendir(contain_base)) == NULL)
		return;
	contain_dirty = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		p = server_find_plugin(de->d_name);
		if (p != NULL && p->pid > 0)
			continue;
		contain_path(de->d_name, "", path, sizeof path);
		if (rmdir(path) == -1 && errno == EBUSY)
			contain_dirty = 1;
	}
	closedir(d);
}

/*
 * Shutdown, every plugin reaped: kill whatever is left and say whether the
 * daemon still has children (killed ones not yet reaped), to wait for.
 */
int
contain_shutdown(void)
{
	struct dirent	*de;
	DIR		*d;
	siginfo_t	 si;

	if (contain_cgroup) {
		if ((d = opendir(contain_base)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				if (de->d_type == DT_DIR &&
				    de->d_name[0] != '.')
					contain_cgroup_kill(de->d_name, 1);
			}
			closedir(d);
		}
	} else
		contain_sweep(NULL);
	/* Any child at all, without reaping it: that is SIGCHLD's job. */
	memset(&si, 0, sizeof si);
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* At exit: remove the cgroups the daemon made. */
void
contain_cleanup(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX + 128];

	if (!contain_cgroup)
		return;
	if ((d = opendir(contain_base)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			contain_path(de->d_name, "", path, sizeof path);
			if (rmdir(path) == -1)
				log_warn("rmdir %s", path);
		}
		closedir(d);
	}
	if (rmdir(contain_base) == -1)
		log_warn("rmdir %s", contain_base);
	free(contain_base);
	contain_base = NULL;
	contain_cgroup = 0;
	contain_dirty = 0;
	contain_nkilled = 0;
}

/*
 * The whole plugin tree's CPU seconds and memory from its cgroup: a bit
 * each for what is known (1 CPU, 2 memory), 0 without cgroups or process.
 */
int
contain_usage(const struct plugin *p, double *cpu_seconds, double *memory_mb)
{
	char		 path[PATH_MAX + 128], buf[1024], *s;
	int		 known = 0;

	if (!contain_cgroup || p->pid <= 0)
		return 0;
	contain_path(p->cgroup, "cpu.stat", path, sizeof path);
	if (contain_read(path, buf, sizeof buf) > 0 &&
	    (s = strstr(buf, "usage_usec ")) != NULL) {
		*cpu_seconds = strtod(s + 11, NULL) / 1e6;
		known |= 1;
	}
	contain_path(p->cgroup, "memory.current", path, sizeof path);
	if (contain_read(path, buf, sizeof buf) > 0) {
		*memory_mb = strtod(buf, NULL) / (1024.0 * 1024.0);
		known |= 2;
	}
	return known;
}

/*
 * control.c: the JSON status socket. A Unix stream socket, mode 0600 in a
 * 0700 directory, that only the daemon's own uid (or root) may use. One JSON
 * object per line each way; requests go to the command table. A client that
 * sends a line over 64 KiB or stops reading its replies is dropped; nothing
 * a client does stops the daemon or another client. (relayd's control.c.)
 *
 * Nor can clients lock the operator out: a client that leaves a request
 * unfinished (bytes without their newline) and sends nothing more for
 * control.idle_timeout seconds is closed, and when the table of clients is
 * full a new connection takes the place of the one that has held an
 * unfinished request longest, or else of one long idle between requests
 * (docs/control.md, "Framing and limits"). Since only the daemon's uid and
 * root may connect at all, a share per uid would not help against the
 * owner's own runaway script; making room by idleness does.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/listener.h>

#include "metrics/metrics.h"
#include "supervisor/supervisor.h"

struct control_client {
	struct bufferevent		*bev;
	uid_t				 uid;
	pid_t				 pid;
	int				 topics;	/* subscribed, 0 if none */
	char				*filter;	/* only events about this
							   plugin, or NULL */
	int				 closing;	/* flush, then close */
	int				 dead;		/* freed by the reaper */
	int				 idle_armed;	/* the idle timeout runs */
	double				 last_active;	/* clock_mono of the last
							   byte read or reply
							   written out */
	TAILQ_ENTRY(control_client)	 entry;
};
TAILQ_HEAD(control_clients, control_client);

/*
 * A warning that a flood of clients could repeat a thousand times: the
 * first is logged whole, the ones after it within CONTROL_LOG_INTERVAL are
 * counted and summed up in one line at the end of the interval.
 */
struct control_tally {
	const char	*what;		/* "clients closed ...", for the summary */
	struct event	*ev;		/* end of the interval */
	unsigned	 held;		/* counted, not logged */
	int		 open;		/* an interval runs */
};

static struct evconnlistener	*control_listener;
static struct event		*control_resume;
static struct control_clients	 control_clients =
    TAILQ_HEAD_INITIALIZER(control_clients);
static size_t			 control_nclients;
static size_t			 control_nsubscribers;
static size_t			 control_nlog;	/* subscribers of TOPIC_LOG */
static char			*control_path;
static dev_t			 control_dev;	/* the socket file made, */
static ino_t			 control_ino;	/* removed only if still there */

static void	control_close(struct control_client *, const char *why);
static void	control_reap_cb(evutil_socket_t, short, void *);
static int	control_reap_pending;

static struct control_tally	control_idle_tally = {
	"clients closed for an unfinished request", NULL, 0, 0 };
static struct control_tally	control_evict_tally = {
	"idle clients closed to make room for new ones", NULL, 0, 0 };
static struct control_tally	control_refuse_tally = {
	"connections refused with the table of clients full", NULL, 0, 0 };

/* End of a tally's interval: sum up what it held, or close it. */
static void
control_tally_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_tally	*t = arg;
	struct timeval		 tv = { CONTROL_LOG_INTERVAL, 0 };

	if (t->held == 0) {
		t->open = 0;
		return;
	}
	log_warnx("control: %u more %s in the last %d s", t->held, t->what,
	    CONTROL_LOG_INTERVAL);
	t->held = 0;
	evtimer_add(t->ev, &tv);
}

/* Log a warning of a kind a flood repeats, or count it for the summary. */
static void printflike(2, 3)
control_tally_note(struct control_tally *t, const char *fmt, ...)
{
	struct timeval	tv = { CONTROL_LOG_INTERVAL, 0 };
	va_list		ap;

	if (t->open) {
		t->held++;
		return;
	}
	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, fmt, ap);
	va_end(ap);
	if (t->ev == NULL)
		t->ev = evtimer_new(server->base, control_tally_cb, t);
	t->open = 1;
	evtimer_add(t->ev, &tv);
}

/* At exit: log what a tally still holds, free its timer. */
static void
control_tally_free(struct control_tally *t)
{
	if (t->held > 0)
		log_warnx("control: %u more %s", t->held, t->what);
	if (t->ev != NULL)
		event_free(t->ev);
	t->ev = NULL;
	t->held = 0;
	t->open = 0;
}

/*
 * A client that does not read what it is sent (over CONTROL_OUTPUT_MAX
 * queued) is dropped, and told so: nothing more is queued or read, an error
 * line goes after what is queued (whole lines, so it starts a line of its
 * own), and the connection closes once that is written, or after
 * CONTROL_DRAIN_TIMEOUT seconds without progress. A `tail -f` that fell
 * behind a flood thus learns it missed lines, rather than seeing the
 * stream just end.
 */
static void
control_overflow(struct control_client *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct timeval	 tv = { CONTROL_DRAIN_TIMEOUT, 0 };
	struct jsonw	 w;

	log_warnx("control: client pid %ld uid %ld dropped: not reading its "
	    "replies (over 4 MiB queued)%s", (long)c->pid, (long)c->uid,
	    c->topics ? "; events to it stop here" : "");
	jw_init(&w);
	cmd_write_error(&w, "not-reading", "over %d MiB of %s queued to this "
	    "client: it is not reading fast enough and is dropped; %s",
	    CONTROL_OUTPUT_MAX / (1024 * 1024), c->topics ? "events" :
	    "replies", c->topics ? "events after this point were not sent" :
	    "requests after this point were not read");
	jw_raw(&w, "\n", 1);
	evbuffer_add(out, w.buf, w.len);
	jw_free(&w);
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	c->idle_armed = 0;
	bufferevent_set_timeouts(c->bev, NULL, &tv);
}

/*
 * Queue one reply or event line (JSON text, newline added here) for a
 * client; drop the client if it is not reading what it was sent.
 */
static void
control_send(struct control_client *c, struct jsonw *w)
{
	struct evbuffer	*out;

	if (c->closing || c->dead)
		return;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > CONTROL_OUTPUT_MAX) {
		control_overflow(c);
		return;
	}
	if (w->len == 0 || w->buf[w->len - 1] != '\n')
		jw_raw(w, "\n", 1);
	evbuffer_add(out, w->buf, w->len);
}

static void
control_free_client(struct control_client *c)
{
	TAILQ_REMOVE(&control_clients, c, entry);
	control_nclients--;
	if (c->topics)
		control_nsubscribers--;
	if (c->topics & TOPIC_LOG)
		control_nlog--;
	bufferevent_free(c->bev);
	free(c->filter);
	free(c);
}

/* Free dropped clients, outside any callback that may still use them. */
static void
control_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_client	*c, *next;

	control_reap_pending = 0;
	TAILQ_FOREACH_SAFE(c, &control_clients, entry, next) {
		if (c->dead)
			control_free_client(c);
	}
}

/*
 * A last error line to a client about to be closed by the daemon, so it
 * knows why: written straight to the socket, and only if nothing else is
 * queued (it must not land inside another reply). Best effort: a client
 * whose socket buffer is full does not get it.
 */
static void printflike(3, 4)
control_goodbye(struct control_client *c, const char *code, const char *fmt,
    ...)
{
	struct jsonw	 w;
	char		 message[512];
	va_list		 ap;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	jw_init(&w);
	cmd_write_error(&w, code, "%s", message);
	jw_raw(&w, "\n", 1);
	(void)send(bufferevent_getfd(c->bev), w.buf, w.len,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	jw_free(&w);
}

/* Drop a client; why is logged (NULL for an ordinary close). */
static void
control_close(struct control_client *c, const char *why)
{
	if (c->dead)
		return;
	if (why != NULL)
		log_warnx("control: client pid %ld uid %ld dropped: %s",
		    (long)c->pid, (long)c->uid, why);
	c->dead = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (!control_reap_pending) {
		control_reap_pending = 1;
		event_base_once(server->base, -1, EV_TIMEOUT, control_reap_cb,
		    NULL, NULL);
	}
}

/* Everything queued is written: close if asked to. */
static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_client	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	c->last_active = clock_mono();
	if (c->closing)
		control_close(c, NULL);
}

/*
 * Run the idle timeout while a partial request waits (a read resets it),
 * stop it otherwise: a client between requests, or a subscriber, may stay
 * silent as long as it likes.
 */
static void
control_idle_arm(struct control_client *c)
{
	struct timeval	tv;
	double		t = server->config->control_idle_timeout;
	int		want;

	want = !c->topics &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0;
	if (want == c->idle_armed)
		return;
	c->idle_armed = want;
	if (!want) {
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		return;
	}
	tv = clock_timeval(t);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
}

/* The idle timeout ran out: close a client that left a request unfinished. */
static void
control_idle_timeout(struct control_client *c)
{
	size_t	held = evbuffer_get_length(bufferevent_get_input(c->bev));
	double	t = server->config->control_idle_timeout;

	/* Replies still going out, or a subscriber: not idle. */
	if (c->topics || evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    0) {
		c->idle_armed = 0;
		control_idle_arm(c);
		bufferevent_enable(c->bev, EV_READ);
		return;
	}
	control_goodbye(c, "idle-timeout", "request unfinished (no newline) "
	    "and nothing more sent for %g s; closing", t);
	control_tally_note(&control_idle_tally, "control: client pid %ld "
	    "uid %ld closed: %zu bytes of a request without its newline and "
	    "nothing more for %g s (control.idle_timeout)", (long)c->pid,
	    (long)c->uid, held, t);
	control_close(c, NULL);
}

/* One request line: parse, run, reply. */
static void
control_request(struct control_client *c, const char *line, size_t len)
{
	struct jsonw	 reply;

	/*
	 * The reply has a writer of its own: running a verb (restart) may
	 * publish events to subscribers while the reply is being written.
	 */
	jw_init(&reply);
	cmd_execute_line(line, len, c, &reply);
	control_send(c, &reply);
	jw_free(&reply);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 len;
	struct jsonw		 reply;

	c->last_active = clock_mono();
	while (!c->closing && !c->dead && (line = evbuffer_readln(in, &len,
	    EVBUFFER_EOL_LF)) != NULL) {
		if (len > CONTROL_LINE_MAX) {
			free(line);
			goto too_long;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > 0)
			control_request(c, line, len);
		free(line);
	}
	if (c->dead || c->closing)
		return;
	if (evbuffer_get_length(in) > CONTROL_LINE_MAX)
		goto too_long;
	control_idle_arm(c);
	return;

too_long:
	jw_init(&reply);
	cmd_write_error(&reply, "line-too-long", "request line over %d bytes; "
	    "closing", CONTROL_LINE_MAX);
	control_send(c, &reply);
	jw_free(&reply);
	log_warnx("control: client pid %ld sent a line over %d bytes; "
	    "disconnecting", (long)c->pid, CONTROL_LINE_MAX);
	c->closing = 1;
	bufferevent_disable(bev, EV_READ);
	control_write_cb(bev, c);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_client	*c = arg;

	if (what & BEV_EVENT_ERROR)
		control_close(c, NULL);
	else if ((what & BEV_EVENT_TIMEOUT) && c->closing) {
		log_warnx("control: client pid %ld uid %ld took nothing of what "
		    "was queued to it for %d s after it was dropped; closed",
		    (long)c->pid, (long)c->uid, CONTROL_DRAIN_TIMEOUT);
		control_close(c, NULL);
	}
	else if (what & BEV_EVENT_TIMEOUT)
		control_idle_timeout(c);
	else if (what & BEV_EVENT_EOF) {
		/* Half-closed: answer what it sent, then close. */
		c->closing = 1;
		bufferevent_disable(bev, EV_READ);
		control_write_cb(bev, c);
	}
}

/* Accepting again after running out of descriptors. */
static void
control_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(control_listener);
}

/* Free the clients already dropped now, not at the next turn of the loop. */
static void
control_reap_now(void)
{
	struct control_client	*c, *next;

	TAILQ_FOREACH_SAFE(c, &control_clients, entry, next) {
		if (c->dead)
			control_free_client(c);
	}
}

/*
 * The client that gives its place to a new one: first the one that has
 * held an unfinished request the longest (the pattern that locks operators
 * out), else the one idle longest between requests, if for at least
 * CONTROL_EVICT_IDLE seconds (a burst of new clients, each about to send
 * its request, must not push each other out). Never a subscriber, nor a
 * client with replies still going out; NULL if there is none.
 */
static struct control_client *
control_evictable(double now)
{
	struct control_client	*c, *partial = NULL, *idle = NULL;

	TAILQ_FOREACH(c, &control_clients, entry) {
		if (c->dead || c->closing || c->topics ||
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			continue;
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
			if (partial == NULL ||
			    c->last_active < partial->last_active)
				partial = c;
		} else if (now - c->last_active >= CONTROL_EVICT_IDLE) {
			if (idle == NULL || c->last_active < idle->last_active)
				idle = c;
		}
	}
	return partial != NULL ? partial : idle;
}

/*
 * Close the client idle longest to make room, if there is one: its
 * descriptor is free when this returns. Called outside any callback of the
 * clients (from the listener), so the client is freed at once.
 */
static int
control_evict(double now, const char *why)
{
	struct control_client	*c;
	size_t			 held;
	char			 what[128];

	if ((c = control_evictable(now)) == NULL)
		return -1;
	held = evbuffer_get_length(bufferevent_get_input(c->bev));
	if (held > 0)
		snprintf(what, sizeof what, "holding %zu bytes of an "
		    "unfinished request, nothing sent for %.1f s", held,
		    now - c->last_active);
	else
		snprintf(what, sizeof what, "idle for %.1f s between requests",
		    now - c->last_active);
	control_goodbye(c, "evicted", "%s; this connection was %s, and is "
	    "closed to make room for a new one", why, what);
	control_tally_note(&control_evict_tally, "control: %s: closed client "
	    "pid %ld uid %ld to make room for a new one: %s", why, (long)c->pid,
	    (long)c->uid, what);
	control_free_client(c);
	return 0;
}

/*
 * accept(2) failed: out of descriptors (EMFILE, ENFILE) would fail again at
 * once and spin the loop. Make room by closing the client idle longest, so
 * the next accept succeeds; if none may go, stop accepting for a moment.
 */
static void
control_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 0, 100 * 1000 };
	int		err = EVUTIL_SOCKET_ERROR();
	char		why[128];

	if (err == EMFILE || err == ENFILE) {
		snprintf(why, sizeof why, "out of descriptors (%s)",
		    strerror(err));
		control_reap_now();
		if (control_evict(clock_mono(), why) == 0)
			return;
	}
	errno = err;
	log_warn("control: accept");
	evconnlistener_disable(l);
	evtimer_add(control_resume, &tv);
}

/* A new connection: check the peer's uid, then serve it. */
static void
control_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control_client	*c;
	const struct plugin	*owner;
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;
	double			 now = clock_mono();
	char			 why[64];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid()) {
		if (geteuid() == 0)
			log_warnx("control: refused pid %ld uid %ld: only root "
			    "may use the control socket", (long)cred.pid,
			    (long)cred.uid);
		else
			log_warnx("control: refused pid %ld uid %ld: only uid "
			    "%ld and root may use the control socket",
			    (long)cred.pid, (long)cred.uid, (long)geteuid());
		close(fd);
		return;
	}
	/*
	 * Same uid is not enough: a plugin (or anything it started) runs as
	 * the daemon's user, and must not stop its siblings or reload.
	 */
	if ((owner = sandbox_peer_plugin(cred.pid)) != NULL) {
		log_warnx("control: refused pid %ld uid %ld: a process of plugin "
		    "%s", (long)cred.pid, (long)cred.uid, owner->name);
		close(fd);
		return;
	}
	if (control_nclients >= CONTROL_MAX_CLIENTS)
		control_reap_now();
	if (control_nclients >= CONTROL_MAX_CLIENTS) {
		snprintf(why, sizeof why, "%d clients already",
		    CONTROL_MAX_CLIENTS);
		if (control_evict(now, why) == -1) {
			control_tally_note(&control_refuse_tally, "control: "
			    "refused pid %ld: %d clients already, none of them "
			    "holding an unfinished request or idle for %d s",
			    (long)cred.pid, CONTROL_MAX_CLIENTS,
			    CONTROL_EVICT_IDLE);
			close(fd);
			return;
		}
	}
	c = xcalloc(1, sizeof *c);
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->last_active = now;
	c->bev = bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, control_read_cb, control_write_cb,
	    control_event_cb, c);
	/* Stop reading past one maximal line plus a little. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONTROL_LINE_MAX + 4096);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&control_clients, c, entry);
	control_nclients++;
}

/* Make the socket's directory (0700) if it is missing. */
static int
control_mkdir(const char *path, char **cause)
{
	char	*copy = xstrdup(path), *dir = dirname(copy);
	int	 r = 0;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "control socket directory %s: %s", dir,
		    strerror(errno));
		r = -1;
	}
	free(copy);
	return r;
}

/* "DIR/.NAME.PID": a temporary name beside path, or NULL if too long. */
static char *
control_temp_path(const char *path)
{
	struct sockaddr_un	 sun;
	char			*copy = xstrdup(path), *dir, *tmp;
	const char		*base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	dir = dirname(copy);
	xasprintf(&tmp, "%s/.%s.%ld", dir, base, (long)getpid());
	free(copy);
	if (strlen(tmp) >= sizeof sun.sun_path) {
		free(tmp);
		return NULL;
	}
	return tmp;
}

/*
 * Warn when others may write the socket's directory: whoever can write
 * there can remove the socket and bind one of their own in its place, and
 * supervisorctl would then talk to them. The daemon makes the directory
 * 0700 when it is missing; one that already exists is the operator's.
 */
void
control_check_dir(const char *path)
{
	struct stat	 sb;
	char		*copy = xstrdup(path), *dir = dirname(copy);
	unsigned	 mode;

	if (stat(dir, &sb) == -1) {
		free(copy);
		return;
	}
	mode = (unsigned)(sb.st_mode & 07777);
	if ((sb.st_mode & S_IWOTH) && !(sb.st_mode & S_ISVTX))
		log_warnx("control socket directory %s is writable by every "
		    "user (mode %04o, no sticky bit): anyone can replace the "
		    "socket with their own and answer supervisorctl; use a "
		    "directory only uid %ld can write", dir, mode,
		    (long)geteuid());
	else if (sb.st_mode & S_IWOTH)
		log_warnx("control socket directory %s is writable by every "
		    "user (mode %04o): the sticky bit keeps them from removing "
		    "the socket, but any user can take its name while the "
		    "daemon is down; a directory only uid %ld can write is "
		    "safer", dir, mode, (long)geteuid());
	else if (sb.st_mode & S_IWGRP)
		log_warnx("control socket directory %s is writable by group %ld "
		    "(mode %04o): its members can replace the socket with their "
		    "own and answer supervisorctl; use a directory only uid %ld "
		    "can write", dir, (long)sb.st_gid, mode, (long)geteuid());
	if (sb.st_uid != geteuid() && sb.st_uid != 0)
		log_warnx("control socket directory %s belongs to uid %ld, who "
		    "can replace the socket with their own; use a directory of "
		    "uid %ld or root", dir, (long)sb.st_uid, (long)geteuid());
	free(copy);
}

/*
 * Make way for the socket at path. Nothing there is fine; a socket that
 * nobody answers on is a stale one a daemon left behind, and is removed; a
 * socket that answers is another daemon's. Anything else (a regular file,
 * a directory, a symbolic link, whatever it points to) the daemon did not
 * make, and it is never removed: the config's resolution refuses it
 * already, this is the check at the moment it matters.
 */
static int
control_clear_path(const char *path, const struct sockaddr_un *sun,
    char **cause)
{
	struct stat	sb;
	int		fd, r, err;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "control socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "control socket %s: the path is %s, not a "
		    "socket: refusing to replace it", path,
		    config_file_type(sb.st_mode));
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	r = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	err = errno;
	close(fd);
	/* A full backlog (EAGAIN) is a daemon too busy to accept. */
	if (r == 0 || err == EAGAIN) {
		xasprintf(cause, "another supervisor is running on %s", path);
		return -1;
	}
	if (err != ECONNREFUSED) {
		xasprintf(cause, "control socket %s: cannot tell whether a "
		    "daemon answers there: %s", path, strerror(err));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "control socket %s: cannot remove the stale "
		    "socket: %s", path, strerror(errno));
		return -1;
	}
	log_info("control: removed the stale socket %s (nobody answered on "
	    "it)", path);
	return 0;
}

/*
 * Put the socket bound at tmp in place at path, unless something is there
 * by now: link(2) never replaces (rename(2) would, whatever the file).
 */
static int
control_place(const char *tmp, const char *path)
{
	if (link(tmp, path) == -1)
		return -1;
	unlink(tmp);
	return 0;
}

/* Listen on the control socket; refuse if another daemon answers there. */
int
control_init(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	mode_t			 old;
	char			*tmp;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "control socket path too long (%zu bytes, "
		    "at most %zu): %s", strlen(path), sizeof sun.sun_path - 1,
		    path);
		return -1;
	}
	strlcpy_(sun.sun_path, path, sizeof sun.sun_path);
	if (control_mkdir(path, cause) != 0)
		return -1;
	control_check_dir(path);
	if (control_clear_path(path, &sun, cause) != 0)
		return -1;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	/*
	 * Bind and listen under a temporary name, then link it into place:
	 * whoever sees the socket's path can connect at once (a client
	 * polling for the path would otherwise race bind against listen).
	 * Without a temporary name (too long), bind at the path itself,
	 * which never replaces a file either.
	 */
	tmp = control_temp_path(path);
	strlcpy_(sun.sun_path, tmp != NULL ? tmp : path, sizeof sun.sun_path);
	if (tmp != NULL)
		unlink(tmp);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    chmod(sun.sun_path, 0600) == -1 ||
	    listen(fd, 128) == -1 ||
	    (tmp != NULL && control_place(tmp, path) == -1)) {
		umask(old);
		if (errno == EEXIST || errno == EADDRINUSE)
			xasprintf(cause, "control socket %s: a file appeared "
			    "at the path meanwhile; not replacing it", path);
		else
			xasprintf(cause, "control socket %s: %s", path,
			    strerror(errno));
		close(fd);
		if (tmp != NULL)
			unlink(tmp);
		free(tmp);
		return -1;
	}
	umask(old);
	free(tmp);
	control_listener = evconnlistener_new(server->base, control_accept_cb,
	    NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (control_listener == NULL)
		fatalx("evconnlistener_new failed");
	evconnlistener_set_error_cb(control_listener, control_accept_error_cb);
	control_resume = evtimer_new(server->base, control_resume_cb, NULL);
	control_path = xstrdup(path);
	if (lstat(path, &sb) == 0) {
		control_dev = sb.st_dev;
		control_ino = sb.st_ino;
	}
	log_info("control socket listening on %s", path);
	return 0;
}

void
control_free(void)
{
	struct control_client	*c;
	struct stat		 sb;

	/* Best effort: subscribers get the last events before we go. */
	while ((c = TAILQ_FIRST(&control_clients)) != NULL) {
		if (!c->dead)
			evbuffer_write(bufferevent_get_output(c->bev),
			    bufferevent_getfd(c->bev));
		control_free_client(c);
	}
	control_tally_free(&control_idle_tally);
	control_tally_free(&control_evict_tally);
	control_tally_free(&control_refuse_tally);
	if (control_listener != NULL) {
		evconnlistener_free(control_listener);
		control_listener = NULL;
		event_free(control_resume);
		control_resume = NULL;
	}
	/* Whatever took the path meanwhile is not the daemon's to remove. */
	if (control_path != NULL) {
		if (lstat(control_path, &sb) == -1)
			;	/* gone already */
		else if (S_ISSOCK(sb.st_mode) && sb.st_dev == control_dev &&
		    sb.st_ino == control_ino)
			unlink(control_path);
		else
			log_warnx("control: %s is no longer the daemon's socket; "
			    "left as it is", control_path);
		free(control_path);
		control_path = NULL;
	}
}

void
control_subscribe(struct control_client *c, int topics)
{
	if (c->topics == 0)
		control_nsubscribers++;
	if ((c->topics & TOPIC_LOG) && !(topics & TOPIC_LOG))
		control_nlog--;
	else if (!(c->topics & TOPIC_LOG) && (topics & TOPIC_LOG))
		control_nlog++;
	c->topics = topics;
}

/* Events about one plugin only (a name), or about all (NULL). */
void
control_filter(struct control_client *c, const char *plugin)
{
	free(c->filter);
	c->filter = plugin != NULL ? xstrdup(plugin) : NULL;
}

/*
 * Send an event line to every subscriber of its topic whose filter lets it
 * through: an event about a plugin (plugin not NULL) reaches the clients
 * that follow every plugin or that one.
 */
static void
control_publish_line(int topic, const char *plugin, struct jsonw *line)
{
	struct control_client	*c, *next;

	TAILQ_FOREACH_SAFE(c, &control_clients, entry, next) {
		if (!(c->topics & topic))
			continue;
		if (c->filter != NULL && plugin != NULL &&
		    strcmp(c->filter, plugin) != 0)
			continue;
		control_send(c, line);
	}
	/* The HTTP endpoint's /events streams get the same line. */
	http_publish(topic, plugin, line->buf, line->len);
}

/*
 * Send an event to every subscriber of its topic: written once, sent to
 * all. Its "plugin", if any, is what a subscriber's filter is checked on.
 */
static void
control_publish(int topic, json_t *ev)
{
	struct jsonw	line;

	jw_init(&line);
	jw_json(&line, ev);
	control_publish_line(topic, json_string_value(json_object_get(ev,
	    "plugin")), &line);
	jw_free(&line);
}

void
control_publish_transition(const struct transition *t)
{
	json_t	*ev;

	if (control_nsubscribers == 0 && http_nstreams() == 0)
		return;
	ev = json_pack("{s:s, s:f, s:s, s:s, s:s, s:s}", "event", "state",
	    "time", clock_wall(), "plugin", t->plugin->name,
	    "from", plugin_state_name(t->from), "to", plugin_state_name(t->to),
	    "reason", t->reason);
	json_object_set_new(ev, "pid", t->plugin->pid > 0 ?
	    json_integer(t->plugin->pid) : json_null());
	control_publish(TOPIC_STATE, ev);
	json_decref(ev);
}

void
control_publish_crash(const struct plugin *p)
{
	json_t	*ev;

	if (control_nsubscribers == 0 && http_nstreams() == 0)
		return;
	ev = json_pack("{s:s, s:s, s:o}", "event", "crash", "plugin", p->name,
	    "crash", json_crash(crashlog_latest(p->crashes)));
	control_publish(TOPIC_CRASH, ev);
	json_decref(ev);
}

/*
 * A line of a plugin's stdout or stderr, or a log message, as it arrives
 * (supervisorctl tail -f): every line read, before the daemon's log budget
 * (output.c) decides whether the log shows it. Written by hand rather than
 * through jansson: a flood makes these by the thousand a second. With no
 * log subscriber this costs one comparison, and a line nobody follows (they
 * follow other plugins) a look at each client.
 */
void
control_publish_log(const struct plugin *p, const char *stream,
    enum log_level level, const char *text, size_t len)
{
	static const char	*const levels[] = {
		[LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_INFO] = "info",
		[LOG_LEVEL_WARN] = "warning", [LOG_LEVEL_FATAL] = "error",
	};
	struct control_client	*c;
	struct jsonw		 line;

	if (control_nlog == 0)
		return;
	/* Followers of other plugins only: not even formatted. */
	TAILQ_FOREACH(c, &control_clients, entry) {
		if ((c->topics & TOPIC_LOG) && !c->closing && !c->dead &&
		    (c->filter == NULL || strcmp(c->filter, p->name) == 0))
			break;
	}
	if (c == NULL)
		return;
	jw_init(&line);
	jw_open_object(&line);
	jw_key(&line, "event");
	jw_string(&line, "log");
	jw_key(&line, "time");
	jw_fixed(&line, clock_wall(), 3);
	jw_key(&line, "plugin");
	jw_string(&line, p->name);
	jw_key(&line, "pid");
	if (p->pid > 0)
		jw_int(&line, p->pid);
	else
		jw_null(&line);
	jw_key(&line, "stream");
	jw_string(&line, stream);
	if (strcmp(stream, "log") == 0) {
		jw_key(&line, "level");
		jw_string(&line, levels[level]);
	}
	jw_key(&line, "line");
	jw_stringn(&line, text, len);
	jw_close_object(&line);
	control_publish_line(TOPIC_LOG, p->name, &line);
	jw_free(&line);
}

/* An alert line, as alerts shows it in its history (docs/alerts.md). */
void
control_publish_alert(const struct alert_note *n)
{
	json_t	*ev, *note;

	if (control_nsubscribers == 0)
		return;
	ev = json_pack("{s:s}", "event", "alert");
	note = alert_note_json(n);
	json_object_update(ev, note);
	json_decref(note);
	control_publish(TOPIC_ALERT, ev);
	json_decref(ev);
}

void
control_publish_sample(const struct plugin *p, const struct metrics_sample *s,
    double wall)
{
	json_t	*ev;

	if (control_nsubscribers == 0 && http_nstreams() == 0)
		return;
	/* The ring's copy carries the sample's time. */
	ev = json_pack("{s:s, s:s, s:o}", "event", "sample", "plugin", p->name,
	    "sample", json_plugin_sample(p, ring_latest(p->ring)));
	control_publish(TOPIC_SAMPLE, ev);
	json_decref(ev);
}

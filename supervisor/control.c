/*
 * control.c: the JSON status socket. A Unix stream socket, mode 0600 in a
 * 0700 directory, that only the daemon's own uid (or root) may use. One JSON
 * object per line each way; requests go to the command table. A client that
 * sends a line over 64 KiB or stops reading its replies is dropped; nothing
 * a client does stops the daemon or another client. (relayd's control.c.)
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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
	int				 closing;	/* flush, then close */
	int				 dead;		/* freed by the reaper */
	TAILQ_ENTRY(control_client)	 entry;
};
TAILQ_HEAD(control_clients, control_client);

static struct evconnlistener	*control_listener;
static struct event		*control_resume;
static struct control_clients	 control_clients =
    TAILQ_HEAD_INITIALIZER(control_clients);
static size_t			 control_nclients;
static size_t			 control_nsubscribers;
static char			*control_path;

static void	control_close(struct control_client *, const char *why);
static void	control_reap_cb(evutil_socket_t, short, void *);
static int	control_reap_pending;

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
		control_close(c, "not reading its replies (over 4 MiB queued)");
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
	bufferevent_free(c->bev);
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

/* Close once what is queued has been written. */
static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_client	*c = arg;

	if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
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

/*
 * accept(2) failed: out of descriptors (EMFILE, ENFILE) would fail again at
 * once and spin the loop, so stop accepting for a moment instead.
 */
static void
control_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 0, 100 * 1000 };

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
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;

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
	if (control_nclients >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: refused pid %ld: %d clients already",
		    (long)cred.pid, CONTROL_MAX_CLIENTS);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->uid = cred.uid;
	c->pid = cred.pid;
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

/* Listen on the control socket; refuse if another daemon answers there. */
int
control_init(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
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

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		close(fd);
		xasprintf(cause, "another supervisor is running on %s", path);
		return -1;
	}
	close(fd);
	unlink(path);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	/*
	 * Bind and listen under a temporary name, then rename it into place:
	 * whoever sees the socket's path can connect at once (a client
	 * polling for the path would otherwise race bind against listen).
	 */
	tmp = control_temp_path(path);
	strlcpy_(sun.sun_path, tmp != NULL ? tmp : path, sizeof sun.sun_path);
	if (tmp != NULL)
		unlink(tmp);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    chmod(sun.sun_path, 0600) == -1 ||
	    listen(fd, 128) == -1 ||
	    (tmp != NULL && rename(tmp, path) == -1)) {
		umask(old);
		xasprintf(cause, "control socket %s: %s", path, strerror(errno));
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
	log_info("control socket listening on %s", path);
	return 0;
}

void
control_free(void)
{
	struct control_client	*c;

	/* Best effort: subscribers get the last events before we go. */
	while ((c = TAILQ_FIRST(&control_clients)) != NULL) {
		if (!c->dead)
			evbuffer_write(bufferevent_get_output(c->bev),
			    bufferevent_getfd(c->bev));
		control_free_client(c);
	}
	if (control_listener != NULL) {
		evconnlistener_free(control_listener);
		control_listener = NULL;
		event_free(control_resume);
		control_resume = NULL;
	}
	if (control_path != NULL) {
		unlink(control_path);
		free(control_path);
		control_path = NULL;
	}
}

void
control_subscribe(struct control_client *c, int topics)
{
	if (c->topics == 0)
		control_nsubscribers++;
	c->topics = topics;
}

/* Send an event to every subscriber of its topic: written once, sent to all. */
static void
control_publish(int topic, json_t *ev)
{
	struct control_client	*c, *next;
	struct jsonw		 line;

	jw_init(&line);
	jw_json(&line, ev);
	TAILQ_FOREACH_SAFE(c, &control_clients, entry, next) {
		if (c->topics & topic)
			control_send(c, &line);
	}
	jw_free(&line);
}

void
control_publish_transition(const struct transition *t)
{
	json_t	*ev;

	if (control_nsubscribers == 0)
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

	if (control_nsubscribers == 0)
		return;
	ev = json_pack("{s:s, s:s, s:o}", "event", "crash", "plugin", p->name,
	    "crash", json_crash(crashlog_latest(p->crashes)));
	control_publish(TOPIC_CRASH, ev);
	json_decref(ev);
}

void
control_publish_sample(const struct plugin *p, const struct metrics_sample *s,
    double wall)
{
	json_t	*ev;

	if (control_nsubscribers == 0)
		return;
	/* The ring's copy carries the sample's time. */
	ev = json_pack("{s:s, s:s, s:o}", "event", "sample", "plugin", p->name,
	    "sample", json_sample(p->ring, ring_latest(p->ring)));
	control_publish(TOPIC_SAMPLE, ev);
	json_decref(ev);
}

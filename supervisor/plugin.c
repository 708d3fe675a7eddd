/*
 * plugin.c: one plugin's process and the actions of its lifecycle.
 *
 * Which action runs is decided by lifecycle.c's table (state × event, see
 * docs/lifecycle.md); plugin_handle is the one entry point, and the actions
 * here (plugin_act_*) are the only code that changes a plugin's state or its
 * lifecycle fields. Other files send events: plugin_event (start, stop,
 * restart, remove, add), plugin_kill, plugin_exited.
 *
 *	STOPPED ─start─▶ STARTING ─ready─▶ RUNNING ─stop─▶ STOPPING ─exit─▶ STOPPED
 *	   ▲                │ crash            │ crash        │ exit, restart
 *	   │ stop           ▼                  ▼              ▼ pending
 *	   ├────────── BACKOFF ◀───────────────┘           STARTING
 *	   │                │ more than max_crashes in crash_window
 *	   │ stop           ▼
 *	   └────────────  FATAL ─cooldown─▶ STARTING (half-open trial)
 *
 * A crash (any exit not asked for, or a spawn that failed) from STARTING,
 * RUNNING, STOPPED, BACKOFF or FATAL goes to BACKOFF, FATAL or STOPPED by
 * the restart policy. Every change goes through plugin_set_state, which
 * checks it against the table, logs it with its reason and publishes it to
 * subscribers. The process's death is only ever learned from waitpid
 * (server.c's SIGCHLD handler calls plugin_exited); closing of the pipes
 * only means there is nothing more to read, and closing of the socket by a
 * process that then does not exit is a protocol crash (plugin_event_cb).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "metrics/metrics.h"
#include "supervisor/supervisor.h"

/* Bytes queued to a plugin that does not read before events are dropped. */
#define PLUGIN_OUTPUT_MAX	(1024 * 1024)

/*
 * Seconds a process that closed its socket has to be seen exiting before it
 * is killed as one that closed its socket and lives on. A process that
 * exits closes its descriptors before it becomes a zombie (the kernel's
 * exit_files comes before exit_notify), and an interpreter closes its
 * sockets while it finalizes, so the end of the socket is often read
 * before waitpid can report the exit: killing at once would record a
 * plain exit (exit 1, a signal) as a protocol crash. Half a second is far
 * more than such an exit takes, and far less than hang_timeout.
 */
#define PLUGIN_EOF_GRACE	0.5

static void	plugin_arm_timer(struct plugin *, double);
static void	plugin_timer_cb(evutil_socket_t, short, void *);
static void	plugin_read_cb(struct bufferevent *, void *);
static void	plugin_event_cb(struct bufferevent *, short, void *);
static void	plugin_eof_cb(evutil_socket_t, short, void *);
static void	plugin_pipe_read_cb(struct bufferevent *, void *);
static void	plugin_pipe_event_cb(struct bufferevent *, short, void *);
static void	plugin_close_io(struct plugin *);
static void	plugin_schedule_running(struct plugin *);
static void	plugin_tail_clear(struct plugin *);
static void	plugin_shadow_dispatch(struct plugin *, const struct msg *);
static void	plugin_shadow_kill(struct plugin *, enum kill_reason,
		    const char *);
static void	plugin_shadow_exited(struct plugin *, int);
static void	plugin_shadow_free(struct plugin *);
static void	plugin_upgrade_discard(struct plugin *, const char *);
static void	plugin_version_note(struct plugin *, double since);
static void	plugin_shadow_timer_cb(evutil_socket_t, short, void *);
static void	plugin_upgrade_ready(struct plugin *, const struct msg *);
static void	plugin_handle_log(struct plugin *, const struct msg *);
static void	plugin_escalate(struct plugin *);
static double	plugin_reap(struct plugin *, int, char *, size_t);
static enum crash_reason plugin_record_exit(struct plugin *, int, double,
		    const char *);
static void	plugin_record_crash(struct plugin *, struct crash_record *);
static double	plugin_ping_due(const struct plugin *);

const char *
plugin_role_name(enum plugin_role r)
{
	return r == ROLE_CONNECTOR ? "connector" : "plugin";
}

_Static_assert(nitems(((struct plugin *)0)->tiers) == ROLLUP_MAX_TIERS &&
    CONFIG_MAX_ROLLUPS <= ROLLUP_MAX_TIERS, "a plugin holds every tier");

/* The rollup tiers of the config, empty. */
static void
plugin_new_tiers(struct plugin *p)
{
	const struct config	*cf = server->config;
	size_t			 i;

	for (i = 0; i < cf->nrollups; i++)
		p->tiers[i] = rollup_new(cf->rollups[i].resolution,
		    (size_t)(cf->rollups[i].duration /
		    cf->rollups[i].resolution + 0.5));
	p->ntiers = cf->nrollups;
}

/* Create a plugin from its config: rings and logs are allocated once here. */
struct plugin *
plugin_new(const struct plugin_config *pc)
{
	struct plugin	*p = xcalloc(1, sizeof *p);
	size_t		 cap;

	strlcpy_(p->name, pc->name, sizeof p->name);
	/* Its own copy: a reload can replace it, or the whole config. */
	p->conf = config_plugin_dup(pc);
	p->state = PLUGIN_STOPPED;
	p->state_since = clock_wall();
	sampler_files_init(&p->procf);
	restart_init(&p->restart, &pc->restart);
	p->crashes = crashlog_new((size_t)pc->restart.crash_history);
	p->tail_cap = (size_t)pc->restart.stderr_lines;
	if (p->tail_cap > 0)
		p->tail = xcalloc(p->tail_cap, sizeof *p->tail);
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->pending);
	TAILQ_INIT(&p->retired);
	strlcpy_(p->cgroup, p->name, sizeof p->cgroup);
	cap = config_history_capacity(server->config);
	p->ring = ring_new(cap, server->started_wall);
	plugin_new_tiers(p);
	p->timer = evtimer_new(server->base, plugin_timer_cb, p);
	p->eof_timer = evtimer_new(server->base, plugin_eof_cb, p);
	output_init(p);
	return p;
}

/*
 * Empty the queue. With count_dropped, its events are dropped as the
 * plugin's: no process will take them (those that ended already, by an
 * expiry, are not counted twice).
 */
static void
plugin_clear_queue(struct plugin *p, int count_dropped)
{
	struct queued_event	*q;
	size_t			 n = 0;

	while ((q = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, q, entry);
		if (count_dropped &&
		    router_drop(p, q->id, DROP_PLUGIN_DOWN) == 0)
			n++;
		free(q->data);
		free(q);
	}
	p->queue_len = 0;
	if (n > 0)
		log_info("plugin %s: %zu queued event%s dropped: no process "
		    "to take them", p->name, n, n == 1 ? "" : "s");
}

static void
plugin_clear_ready(struct plugin *p)
{
	size_t	i;

	for (i = 0; i < p->ncommands; i++) {
		free(p->commands[i]);
		free(p->usage[i]);
	}
	free(p->commands);
	free(p->usage);
	p->commands = p->usage = NULL;
	p->ncommands = 0;
	p->version[0] = '\0';
}

/*
 * Room for the commands a ready declared. Sized to them, not to the 32 a
 * ready may declare: two arrays of 32 pointers in every plugin were 512
 * bytes, 0.5 MB of the daemon's heap with 1000 plugins of one command.
 */
static void
plugin_alloc_commands(struct plugin *p, size_t n)
{
	if (n == 0)
		return;
	p->commands = xcalloc(n, sizeof *p->commands);
	p->usage = xcalloc(n, sizeof *p->usage);
}

/* Forget what the last upgrade left: its strings and lines. */
static void
plugin_upgrade_clear(struct upgrade_record *u)
{
	size_t	i;

	for (i = 0; i < u->nlines; i++)
		free(u->stderr_lines[i]);
	free(u->stderr_lines);
	free(u->why);
	free(u->reason);
	free(u->detail);
	free(u->notify_connector);
	free(u->notify_platform);
	free(u->notify_channel);
	free(u->notify_user);
	u->stderr_lines = NULL;
	u->nlines = 0;
	u->why = u->reason = u->detail = NULL;
	u->notify_connector = u->notify_platform = NULL;
	u->notify_channel = u->notify_user = NULL;
}

void
plugin_free(struct plugin *p)
{
	struct plugin	*n;
	size_t		 i;

	if (p->upgrade_new != NULL) {
		plugin_shadow_free(p->upgrade_new);
		p->upgrade_new = NULL;
	}
	while ((n = TAILQ_FIRST(&p->retired)) != NULL) {
		TAILQ_REMOVE(&p->retired, n, entry);
		plugin_shadow_free(n);
	}
	if (p->upgrade != NULL) {
		plugin_upgrade_clear(p->upgrade);
		free(p->upgrade);
	}
	free(p->versions);
	plugin_close_io(p);
	output_free(p);
	alert_plugin_free(p);
	router_release(p);
	router_forget(p);
	plugin_clear_queue(p, 0);
	plugin_clear_ready(p);
	event_free(p->timer);
	event_free(p->eof_timer);
	restart_free(&p->restart);
	crashlog_free(p->crashes);
	ring_free(p->ring);
	for (i = 0; i < p->ntiers; i++)
		rollup_free(p->tiers[i]);
	for (i = 0; i < p->tail_cap; i++)
		free(p->tail[i]);
	free(p->tail);
	free(p->kill_detail);
	config_plugin_free(p->conf);
	free(p);
}

/*
 * Take a new config (after a reload). What was collected stays: the sample
 * ring, the crash records (as many as the new crash_history keeps), the
 * counters and the stderr tail. A running plugin is restarted by the caller.
 */
void
plugin_reconfigure(struct plugin *p, const struct plugin_config *pc)
{
	const struct restart_policy	*old = &p->conf->restart;
	struct plugin_config		*conf = config_plugin_dup(pc), *prev;
	struct crash_log		*log;
	struct restart_state		 rs;
	char				**tail;
	size_t				 cap, n, i;

	if (conf->restart.crash_history != old->crash_history) {
		log = crashlog_new((size_t)conf->restart.crash_history);
		n = crashlog_count(p->crashes);
		for (i = n > crashlog_capacity(log) ? n - crashlog_capacity(log) :
		    0; i < n; i++)
			crashlog_push(log, crashlog_get(p->crashes, i));
		crashlog_free(p->crashes);
		p->crashes = log;
	}
	if (conf->restart.max_crashes != old->max_crashes) {
		restart_init(&rs, &conf->restart);
		rs.consecutive = p->restart.consecutive;
		rs.breaker.state = p->restart.breaker.state;
		restart_free(&p->restart);
		p->restart = rs;
	}
	cap = (size_t)conf->restart.stderr_lines;
	if (cap != p->tail_cap) {
		/* Keep the newest lines that fit. */
		tail = cap > 0 ? xcalloc(cap, sizeof *tail) : NULL;
		n = p->tail_len < cap ? p->tail_len : cap;
		for (i = 0; i < p->tail_len; i++) {
			char	*line = p->tail[(p->tail_head + i) % p->tail_cap];

			if (i >= p->tail_len - n)
				tail[i - (p->tail_len - n)] = line;
			else
				free(line);
		}
		free(p->tail);
		p->tail = tail;
		p->tail_cap = cap;
		p->tail_len = n;
		p->tail_head = 0;
	}
	prev = p->conf;
	p->conf = conf;
	output_reconfigure(p, prev);
	config_plugin_free(prev);
}

/* An event with what comes with it, as the actions receive it. */
struct plugin_input {
	enum plugin_event	 event;
	const char		*why;		/* for the log and subscribers */
	int			 status;	/* exit: as waitpid gave it */
	enum kill_reason	 kill;		/* kill */
	const char		*detail;	/* kill; spawn-failed: the cause */
	const struct msg	*msg;		/* ready */
};

static void	plugin_handle(struct plugin *, const struct plugin_input *);

/*
 * The one place a state changes: only to a state the running action allows
 * (lifecycle.c), so a path the table does not foresee stops the daemon
 * here instead of leaving a plugin in a state nothing acts on. Each state
 * arms its own deadline after entering it; the old one goes here.
 */
static void
plugin_set_state(struct plugin *p, enum plugin_state to, const char *reason)
{
	struct transition	t;

	if (!lifecycle_allows(p->action, to))
		fatalx("plugin %s: %s -> %s by action %s is not in the "
		    "lifecycle table (%s)", p->name, plugin_state_name(p->state),
		    plugin_state_name(to), lifecycle_action_name(p->action),
		    reason);
	evtimer_del(p->timer);
	/* Leaving UPGRADING other than by its end: the new one goes. */
	if (p->state == PLUGIN_UPGRADING && to != PLUGIN_UPGRADING &&
	    p->upgrade_new != NULL)
		plugin_upgrade_discard(p, reason);
	t.plugin = p;
	t.from = p->state;
	t.to = to;
	t.reason = reason;
	if (to == PLUGIN_FATAL || (to == PLUGIN_BACKOFF && p->state != to))
		log_warnx("plugin %s: %s -> %s (%s)", p->name,
		    plugin_state_name(p->state), plugin_state_name(to), reason);
	else
		log_info("plugin %s: %s -> %s (%s)", p->name,
		    plugin_state_name(p->state), plugin_state_name(to), reason);
	p->state = to;
	p->state_since = clock_wall();
	server_transition(&t);
}

double
plugin_uptime(const struct plugin *p)
{
	if (p->pid <= 0 || p->started_mono == 0)
		return 0;
	return clock_mono() - p->started_mono;
}

static void
plugin_arm_timer(struct plugin *p, double seconds)
{
	struct timeval	tv = clock_timeval(seconds);

	evtimer_add(p->timer, &tv);
}

/* Append a value of the config JSON to a msgpack packer. */
static void
plugin_pack_json(msgpack_packer *pk, json_t *j)
{
	const char	*key, *s;
	json_t		*v;
	size_t		 i, len;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(j));
		json_object_foreach(j, key, v) {
			len = strlen(key);
			msgpack_pack_str(pk, len);
			msgpack_pack_str_body(pk, key, len);
			plugin_pack_json(pk, v);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach(j, i, v)
			plugin_pack_json(pk, v);
		break;
	case JSON_STRING:
		s = json_string_value(j);
		len = json_string_length(j);
		msgpack_pack_str(pk, len);
		msgpack_pack_str_body(pk, s, len);
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, json_integer_value(j));
		break;
	case JSON_REAL:
		msgpack_pack_double(pk, json_real_value(j));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	case JSON_NULL:
		msgpack_pack_nil(pk);
		break;
	}
}

/* Send hello: protocol, name, role and the plugin's own config. */
static void
plugin_send_hello(struct plugin *p)
{
	struct msg_builder	*b = server->builder;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	const char		*data;
	size_t			 len;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	plugin_pack_json(&pk, p->conf->config);
	msg_begin(b, MSG_HELLO);
	msg_add_uint(b, "protocol", PROTOCOL_VERSION);
	msg_add_str(b, "name", p->name);
	msg_add_str(b, "role", plugin_role_name(p->conf->role));
	msg_add_raw(b, "config", sb.data, sb.size);
	msg_end(b, &data, &len);
	plugin_send(p, data, len);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * Make a process for p (the plugin, or a process beside it in an upgrade)
 * and connect its socket and pipes; -1 with *cause if none could be made.
 */
static pid_t
plugin_start_process(struct plugin *p, char **cause)
{
	int	sock, out, err;
	pid_t	pid;

	pid = proc_spawn(p, &sock, &out, &err, cause);
	if (pid == -1)
		return -1;
	p->pid = pid;
	plugin_series(p)->starts++;
	p->started_mono = clock_mono();
	p->started_wall = clock_wall();
	p->stop_stage = 0;
	p->kill_reason = KILL_NONE;
	free(p->kill_detail);
	p->kill_detail = NULL;
	p->ping_sent = 0;
	p->last_heard = p->ping_tried = 0;
	p->have_prev = 0;
	p->mem_violations = 0;
	plugin_tail_clear(p);
	p->cpu_over_since = 0;
	hmap_iput(server->by_pid, (uint64_t)pid, p);
	/*
	 * Kept open until plugin_reap, for the sampling ticks. Short of
	 * descriptors, the process is sampled through libproc2 instead.
	 */
	if (sampler_files_open(&p->procf, pid) == -1)
		log_debug("plugin %s: /proc/%ld/stat: %s; sampled by path",
		    p->name, (long)pid, strerror(errno));

	p->stream = ipc_stream_new(IPC_MAX_MESSAGE);
	p->bev = bufferevent_socket_new(server->base, sock, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(p->bev, plugin_read_cb, NULL, plugin_event_cb, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	p->err_bev = bufferevent_socket_new(server->base, err, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(p->err_bev, plugin_pipe_read_cb, NULL,
	    plugin_pipe_event_cb, p);
	bufferevent_enable(p->err_bev, EV_READ);
	if (out != -1) {
		p->out_bev = bufferevent_socket_new(server->base, out,
		    BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(p->out_bev, plugin_pipe_read_cb, NULL,
		    plugin_pipe_event_cb, p);
		bufferevent_enable(p->out_bev, EV_READ);
	}
	return pid;
}

/*
 * Start a process: STARTING until it says ready. A spawn that fails before
 * the child exists (descriptors, processes or memory run out) is reported
 * as the event spawn-failed in the state it was tried from: a crash, with
 * the restart policy's retry, never a state with nothing scheduled.
 */
static void
plugin_spawn(struct plugin *p, const char *why)
{
	struct plugin_input	 in;
	char			*cause = NULL, reason[256];
	pid_t			 pid;

	if ((pid = plugin_start_process(p, &cause)) == -1) {
		log_warnx("plugin %s: cannot start: %s", p->name, cause);
		memset(&in, 0, sizeof in);
		in.event = PEV_SPAWN_FAILED;
		in.why = why;
		in.detail = cause;
		plugin_handle(p, &in);
		free(cause);
		return;
	}
	snprintf(reason, sizeof reason, "%s; pid %ld", why, (long)pid);
	plugin_set_state(p, PLUGIN_STARTING, reason);
	plugin_send_hello(p);
	plugin_arm_timer(p, p->conf->restart.ready_timeout);
}

/* Send one of the events that carry only a reason (start, stop, ...). */
void
plugin_event(struct plugin *p, enum plugin_event event, const char *why)
{
	struct plugin_input	in;

	memset(&in, 0, sizeof in);
	in.event = event;
	in.why = why;
	plugin_handle(p, &in);
}

/* Kill a misbehaving plugin now; the exit is recorded as a crash. */
void
plugin_kill(struct plugin *p, enum kill_reason reason, const char *detail)
{
	struct plugin_input	in;

	if (p->series != NULL) {
		plugin_shadow_kill(p, reason, detail);
		return;
	}
	memset(&in, 0, sizeof in);
	in.event = PEV_KILL;
	in.kill = reason;
	in.detail = detail;
	plugin_handle(p, &in);
}

/* The process is gone (from waitpid). */
void
plugin_exited(struct plugin *p, int status)
{
	struct plugin_input	in;

	if (p->series != NULL) {
		plugin_shadow_exited(p, status);
		return;
	}
	memset(&in, 0, sizeof in);
	in.event = PEV_EXIT;
	in.status = status;
	plugin_handle(p, &in);
}

/* Count a protocol error that drops one message but keeps the plugin. */
void
plugin_protocol_error(struct plugin *p, const char *fmt, ...)
{
	char	line[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	plugin_series(p)->protocol_errors++;
	output_warn(p, WARN_PROTOCOL, "plugin %s: protocol error, message "
	    "dropped: %s", p->name, line);
}

/*
 * Send bytes to the plugin; -1 if it is not reading (output over limit).
 * With nothing queued before them they are written at once: a message is
 * small and the socket almost always has room, and going through the
 * bufferevent would cost two epoll_ctl calls (arm the write event, disarm
 * it once drained) per event and per ping. What the socket does not take
 * is queued, and the bufferevent writes it (or reports the error) as usual.
 */
int
plugin_send(struct plugin *p, const char *data, size_t len)
{
	struct evbuffer	*out;
	ssize_t		 n;

	if (p->bev == NULL || p->kill_reason != KILL_NONE)
		return -1;
	out = bufferevent_get_output(p->bev);
	if (evbuffer_get_length(out) + len > PLUGIN_OUTPUT_MAX)
		return -1;
	if (evbuffer_get_length(out) == 0) {
		n = send(bufferevent_getfd(p->bev), data, len, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return 0;
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	evbuffer_add(out, data, len);
	return 0;
}

/*
 * Deliver an encoded message: now if RUNNING, queued (bounded, oldest
 * dropped) while STARTING or BACKOFF, dropped if stopped, stopping or
 * FATAL. An event (id not 0) that is dropped is counted through the router
 * with its reason; a say to a connector (id 0) is not an event.
 */
enum delivery
plugin_deliver(struct plugin *p, const char *data, size_t len, uint64_t id)
{
	struct queued_event	*q;
	size_t			 max = (size_t)p->conf->restart.queue_size;
	const char		*what = id != 0 ? "event" : "say";

	switch (p->state) {
	case PLUGIN_RUNNING:
	case PLUGIN_UPGRADING:
		if (p->kill_reason != KILL_NONE || p->bev == NULL) {
			router_drop(p, id, DROP_PLUGIN_DOWN);
			output_warn(p, WARN_NOT_RUNNING, "plugin %s: being killed; "
			    "%s %llu dropped", p->name, what,
			    (unsigned long long)id);
			return DELIVERY_DROPPED;
		}
		if (plugin_send(p, data, len) == 0)
			return DELIVERY_SENT;
		router_drop(p, id, DROP_NOT_READING);
		output_warn(p, WARN_NOT_READING, "plugin %s: not reading its "
		    "socket; %s %llu dropped", p->name, what,
		    (unsigned long long)id);
		return DELIVERY_DROPPED;
	case PLUGIN_STARTING:
	case PLUGIN_BACKOFF:
		if (max == 0) {
			router_drop(p, id, DROP_QUEUE_FULL);
			return DELIVERY_DROPPED;
		}
		if (p->queue_len >= max) {
			q = TAILQ_FIRST(&p->queue);
			TAILQ_REMOVE(&p->queue, q, entry);
			p->queue_len--;
			router_drop(p, q->id, DROP_QUEUE_FULL);
			output_warn(p, WARN_QUEUE_FULL, "plugin %s: %s, queue "
			    "full (%zu); oldest %s %llu dropped", p->name,
			    plugin_state_name(p->state), max,
			    q->id != 0 ? "event" : "say",
			    (unsigned long long)q->id);
			free(q->data);
			free(q);
		}
		q = xcalloc(1, sizeof *q);
		q->data = xmalloc(len);
		memcpy(q->data, data, len);
		q->len = len;
		q->id = id;
		TAILQ_INSERT_TAIL(&p->queue, q, entry);
		p->queue_len++;
		return DELIVERY_QUEUED;
	case PLUGIN_STOPPED:
	case PLUGIN_STOPPING:
	case PLUGIN_FATAL:
		router_drop(p, id, DROP_PLUGIN_DOWN);
		output_warn(p, WARN_NOT_RUNNING, "plugin %s: %s; %s %llu "
		    "dropped", p->name, plugin_state_name(p->state), what,
		    (unsigned long long)id);
		return DELIVERY_DROPPED;
	}
	return DELIVERY_DROPPED;
}

/* Send what waited while the plugin was starting. */
static void
plugin_flush_queue(struct plugin *p)
{
	struct queued_event	*q;

	while ((q = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, q, entry);
		p->queue_len--;
		if (plugin_send(p, q->data, q->len) == 0)
			router_sent(p, q->id);
		else {
			router_drop(p, q->id, DROP_NOT_READING);
			log_warnx("plugin %s: not reading its socket; queued "
			    "event %llu dropped", p->name,
			    (unsigned long long)q->id);
		}
		free(q->data);
		free(q);
	}
}

/*
 * Read a ready message and check its protocol version; names[] gets its
 * commands. 0, or -1 with *cause (the plugin's process is then killed,
 * reason protocol: it cannot be used).
 */
static int
plugin_read_ready(const struct msg *m, struct ipc_ready *ready,
    const char **names, char **cause)
{
	size_t	i;

	if (ipc_read_ready(m, ready, cause) != 0)
		return -1;
	if (ready->protocol != PROTOCOL_VERSION) {
		xasprintf(cause, "speaks protocol version %llu, the daemon "
		    "speaks %d", (unsigned long long)ready->protocol,
		    PROTOCOL_VERSION);
		return -1;
	}
	for (i = 0; i < ready->ncommands; i++)
		names[i] = ready->commands[i];
	return 0;
}

/* Validate ready: protocol, version, commands; claim them; go RUNNING. */
static void
plugin_handle_ready(struct plugin *p, const struct msg *m)
{
	struct ipc_ready ready;
	const char	*names[IPC_MAX_COMMANDS];
	char		*cause = NULL;
	char		 detail[IPC_MAX_COMMANDS * (IPC_MAX_COMMAND + 2) + 256];
	char		 list[IPC_MAX_COMMANDS * (IPC_MAX_COMMAND + 2) + 1];
	size_t		 i, j;

	/* A ready the daemon cannot read leaves the plugin unusable: kill it. */
	if (plugin_read_ready(m, &ready, names, &cause) != 0) {
		plugin_kill(p, KILL_PROTOCOL, cause);
		free(cause);
		return;
	}
	/* A new ready replaces what the previous process claimed. */
	router_release(p);
	plugin_clear_ready(p);
	strlcpy_(p->version, ready.version, sizeof p->version);
	utf8_sanitize(p->version);
	if (router_claim(p, names, ready.ncommands, ready.chat, &cause) != 0) {
		plugin_kill(p, KILL_PROTOCOL, cause);
		free(cause);
		return;
	}
	list[0] = '\0';
	plugin_alloc_commands(p, ready.ncommands);
	for (i = 0; i < ready.ncommands; i++) {
		p->commands[i] = xstrdup(ready.commands[i]);
		if (ready.usage[i][0] != '\0') {
			/* One chat line: control characters become spaces. */
			p->usage[i] = xstrdup(ready.usage[i]);
			utf8_sanitize(p->usage[i]);
			for (j = 0; p->usage[i][j] != '\0'; j++) {
				if ((unsigned char)p->usage[i][j] < 0x20)
					p->usage[i][j] = ' ';
			}
		}
		if (i > 0)
			strcat(list, ", ");
		strcat(list, ready.commands[i]);
	}
	p->ncommands = ready.ncommands;

	snprintf(detail, sizeof detail, "ready in %.0f ms; version %s; "
	    "commands: %s%s", (clock_mono() - p->started_mono) * 1000,
	    p->version[0] ? p->version : "?", ready.ncommands ? list : "none",
	    ready.chat ? "; all chat" : "");
	plugin_version_note(p, p->started_wall);
	plugin_set_state(p, PLUGIN_RUNNING, detail);
	plugin_flush_queue(p);
	plugin_schedule_running(p);
}

/*
 * Handle a log message: write it to the daemon's log, within the plugin's
 * output limit (output.c). The socket is never paused for it, as a pipe
 * is: replies and pongs share it.
 */
static void
plugin_handle_log(struct plugin *p, const struct msg *m)
{
	struct ipc_log	 l;
	enum log_level	 level = LOG_LEVEL_INFO;
	char		*cause = NULL;

	if (ipc_read_log(m, &l, &cause) != 0) {
		plugin_protocol_error(p, "%s", cause);
		free(cause);
		return;
	}
	if (l.level == IPC_LOG_WARN)
		level = LOG_LEVEL_WARN;
	else if (l.level == IPC_LOG_DEBUG)
		level = LOG_LEVEL_DEBUG;
	output_line(p, OUTPUT_LOG, level, l.text, l.text_len);
}

/* Dispatch one message from a plugin. */
static void
plugin_dispatch(struct plugin *p, const struct msg *m)
{
	struct plugin_input	 in;
	struct ipc_pong		 pong;
	char			*cause = NULL;

	p->last_heard = clock_mono();
	if (p->series != NULL) {
		plugin_shadow_dispatch(p, m);
		return;
	}
	if (p->state == PLUGIN_STARTING && m->type != MSG_READY &&
	    m->type != MSG_LOG) {
		plugin_protocol_error(p, "%s before ready",
		    msg_type_name(m->type));
		return;
	}
	switch (m->type) {
	case MSG_READY:
		memset(&in, 0, sizeof in);
		in.event = PEV_READY;
		in.msg = m;
		plugin_handle(p, &in);
		break;
	case MSG_CHAT:
		if (p->conf->role != ROLE_CONNECTOR) {
			plugin_protocol_error(p, "chat from a plugin that is "
			    "not a connector");
			break;
		}
		router_chat(p, m);
		break;
	case MSG_REPLY:
		router_reply(p, m);
		break;
	case MSG_SAY:
		router_say(p, m);
		break;
	case MSG_PONG:
		if (ipc_read_pong(m, &pong, &cause) != 0) {
			plugin_protocol_error(p, "%s", cause);
			free(cause);
			break;
		}
		if (pong.seq == p->ping_seq && p->ping_sent > 0) {
			p->ping_sent = 0;
			/* The timer waits for the hang deadline: bring it
			 * forward to the next ping. */
			if (p->state == PLUGIN_RUNNING &&
			    p->kill_reason == KILL_NONE)
				plugin_schedule_running(p);
		}
		break;
	case MSG_LOG:
		plugin_handle_log(p, m);
		break;
	case MSG_SHUTDOWN:
		/*
		 * From the connector that has the terminal: its user ended
		 * the session (Ctrl-D), and the daemon stops as on SIGTERM.
		 */
		if (p->conf->role != ROLE_CONNECTOR || !p->conf->terminal) {
			plugin_protocol_error(p, "shutdown from a plugin that "
			    "does not have the terminal");
			break;
		}
		log_info("plugin %s: end of input on the terminal", p->name);
		server_shutdown_soon("end of input on the console");
		break;
	default:
		plugin_protocol_error(p, "%s is not a message a plugin sends",
		    msg_type_name(m->type));
		break;
	}
}

/* Read from the socket: feed the stream and handle every whole message. */
static void
plugin_read_cb(struct bufferevent *bev, void *arg)
{
	struct plugin		*p = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 vec[8];
	struct msg		 m;
	struct ipc_stream	*st = p->stream;
	char			*cause = NULL;
	int			 n, i, r;

	while (evbuffer_get_length(in) > 0 && p->kill_reason == KILL_NONE) {
		n = evbuffer_peek(in, 16384, NULL, vec, nitems(vec));
		if (n > (int)nitems(vec))
			n = nitems(vec);
		for (i = 0; i < n; i++) {
			size_t	len = vec[i].iov_len;

			if (ipc_stream_feed(st, vec[i].iov_base, len,
			    &cause) != 0)
				goto broken;
			evbuffer_drain(in, len);
			while ((r = ipc_stream_next(st, &m, &cause)) == 1) {
				plugin_dispatch(p, &m);
				msg_release(&m);
				/*
				 * An upgrade's switch: this process (its
				 * stream, its socket) is now the plugin's.
				 */
				if (p->stream != st && p->series != NULL &&
				    p->series->stream == st)
					p = p->series;
				if (p->kill_reason != KILL_NONE || p->bev == NULL)
					return;
			}
			if (r == -1)
				goto broken;
		}
	}
	return;

broken:
	{
		char	detail[512];

		plugin_series(p)->protocol_errors++;
		snprintf(detail, sizeof detail, "protocol violation: %s", cause);
		free(cause);
		plugin_kill(p, KILL_PROTOCOL, detail);
	}
}

/*
 * The socket closed or failed: stop reading. A process that is stopping
 * (it was sent shutdown) closes it on its way out, and the stop's own
 * deadlines follow it; any other is given PLUGIN_EOF_GRACE to be seen
 * exiting, then killed (plugin_eof_cb).
 */
static void
plugin_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct plugin	*p = arg;
	struct timeval	 tv;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		log_debug("plugin %s: socket closed", p->name);
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		if (p->pid <= 0 || p->state == PLUGIN_STOPPING ||
		    p->kill_reason != KILL_NONE)
			return;
		p->eof_pid = p->pid;
		tv = clock_timeval(PLUGIN_EOF_GRACE);
		evtimer_add(p->eof_timer, &tv);
	}
}

/*
 * The grace after the socket closed is over. The same process still not
 * reaped, not stopping and not a zombie (waitid with WNOWAIT looks without
 * reaping: server.c's SIGCHLD handler reaps it) lives on without its
 * socket: nothing can reach it, so it is killed as a protocol crash.
 */
static void
plugin_eof_cb(evutil_socket_t fd, short what, void *arg)
{
	struct plugin	*p = arg;
	siginfo_t	 si;

	if (p->pid <= 0 || p->pid != p->eof_pid ||
	    p->state == PLUGIN_STOPPING || p->kill_reason != KILL_NONE)
		return;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == p->pid)
		return;		/* exited: waitpid reports it next */
	plugin_kill(p, KILL_PROTOCOL, "closed its socket");
}

/* Forget the last process's stderr: a crash record holds its own lines. */
static void
plugin_tail_clear(struct plugin *p)
{
	size_t	i;

	for (i = 0; i < p->tail_cap; i++) {
		free(p->tail[i]);
		p->tail[i] = NULL;
	}
	p->tail_len = p->tail_head = 0;
}

/*
 * Keep a stderr line in the plugin's tail ring: every line, whether the
 * daemon's log shows it or not. A slot's string is reused when the new
 * line fits, so a flood of lines allocates nothing.
 */
static void
plugin_tail_add(struct plugin *p, const char *line, size_t len)
{
	size_t	slot;

	if (p->tail_cap == 0)
		return;
	slot = (p->tail_head + p->tail_len) % p->tail_cap;
	if (p->tail_len == p->tail_cap) {
		slot = p->tail_head;
		p->tail_head = (p->tail_head + 1) % p->tail_cap;
	} else
		p->tail_len++;
	if (p->tail[slot] != NULL && strlen(p->tail[slot]) >= len)
		memcpy(p->tail[slot], line, len + 1);
	else {
		free(p->tail[slot]);
		p->tail[slot] = xstrdup(line);
	}
}

/* One line of a plugin's stdout or stderr; 1 if the log suppressed it. */
static int
plugin_pipe_line(struct plugin *p, int is_err, char *line, size_t len)
{
	size_t	i;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	}
	/* It ends up in JSON replies: keep it valid UTF-8. */
	utf8_sanitize(line);
	len = strlen(line);
	if (is_err)
		plugin_tail_add(p, line, len);
	return output_line(p, is_err ? OUTPUT_STDERR : OUTPUT_STDOUT,
	    LOG_LEVEL_INFO, line, len);
}

/*
 * Take whole lines from a pipe; with eof, the rest. A line longer than
 * PLUGIN_LINE_MAX is cut into pieces of that size, and the search for a
 * newline looks no further than that, so the work is linear in what the
 * buffer holds: what one read brought (libevent 2.1 reads at most 4 KiB at
 * a time, EVBUFFER_MAX_READ) or what a dead process left (plugin_pipe_final).
 * If the daemon's log suppressed lines, or the plugin writes faster than
 * the daemon reads, the pipe is left unread for a moment (output_read):
 * back-pressure on a flooding plugin.
 */
static void
plugin_pipe_drain(struct plugin *p, struct bufferevent *bev, int eof)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 end, eol;
	char			 buf[PLUGIN_LINE_MAX + 1];
	size_t			 avail, len, total;
	int			 is_err = bev == p->err_bev, suppressed = 0;

	output_begin(p);
	total = evbuffer_get_length(in);
	while ((avail = evbuffer_get_length(in)) > 0) {
		len = avail < PLUGIN_LINE_MAX + 1 ? avail : PLUGIN_LINE_MAX + 1;
		evbuffer_ptr_set(in, &end, len, EVBUFFER_PTR_SET);
		eol = evbuffer_search_range(in, "\n", 1, NULL, &end);
		if (eol.pos != -1) {
			len = (size_t)eol.pos;
			evbuffer_remove(in, buf, len);
			evbuffer_drain(in, 1);
		} else if (avail >= PLUGIN_LINE_MAX || eof) {
			len = avail < PLUGIN_LINE_MAX ? avail : PLUGIN_LINE_MAX;
			evbuffer_remove(in, buf, len);
		} else
			break;
		buf[len] = '\0';
		suppressed |= plugin_pipe_line(p, is_err, buf, len);
	}
	output_end(p);
	if (!eof)
		output_read(p, bev, total - evbuffer_get_length(in), suppressed);
}

static void
plugin_pipe_read_cb(struct bufferevent *bev, void *arg)
{
	plugin_pipe_drain(arg, bev, 0);
}

static void
plugin_pipe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		plugin_pipe_drain(arg, bev, 1);
		bufferevent_disable(bev, EV_READ);
	}
}

/*
 * Read what a dead process left in a pipe, so its last lines are kept: up
 * to 1 MiB, the most a pipe holds by default (/proc/sys/fs/pipe-max-size);
 * more can only come from a descendant still writing, which is not waited
 * for. A pipe paused by output_pause is read here all the same. libevent
 * keeps a bufferevent's input buffer frozen at its end outside its own
 * read callback, so evbuffer_read (and evbuffer_add) on it fail: this
 * used evbuffer_read, and the lines a process wrote just before it died
 * never reached its crash record. Thawed for the read here.
 */
static void
plugin_pipe_final(struct plugin *p, struct bufferevent *bev)
{
	struct evbuffer	*in;
	char		 buf[16384];
	ssize_t		 n;
	size_t		 total = 0;

	if (bev == NULL)
		return;
	in = bufferevent_get_input(bev);
	evbuffer_unfreeze(in, 0);
	while (total < 1024 * 1024) {
		n = read(bufferevent_getfd(bev), buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		evbuffer_add(in, buf, (size_t)n);
		total += (size_t)n;
	}
	evbuffer_freeze(in, 0);
	plugin_pipe_drain(p, bev, 1);
}

static void
plugin_close_io(struct plugin *p)
{
	if (p->bev != NULL) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
	if (p->out_bev != NULL) {
		bufferevent_free(p->out_bev);
		p->out_bev = NULL;
	}
	if (p->err_bev != NULL) {
		bufferevent_free(p->err_bev);
		p->err_bev = NULL;
	}
	ipc_stream_free(p->stream);
	p->stream = NULL;
}

static enum crash_reason
plugin_crash_reason(const struct plugin *p, int status)
{
	switch (p->kill_reason) {
	case KILL_HUNG:
		return CRASH_HUNG;
	case KILL_READY_TIMEOUT:
		return CRASH_READY_TIMEOUT;
	case KILL_PROTOCOL:
		return CRASH_PROTOCOL;
	case KILL_MEMORY_LIMIT:
		return CRASH_MEMORY_LIMIT;
	case KILL_CPU_LIMIT:
		return CRASH_CPU_LIMIT;
	case KILL_NONE:
		break;
	}
	return WIFSIGNALED(status) ? CRASH_SIGNAL : CRASH_EXIT;
}

/*
 * Write a crash record: what, when, how long it ran, its last words. The
 * caller fills what it knows (pid, exit status, reason, detail).
 */
static void
plugin_record_crash(struct plugin *proc, struct crash_record *cr)
{
	struct plugin	*p = plugin_series(proc);
	char		*lines[1000];
	size_t		 i;

	cr->wall_time = clock_wall();
	for (i = 0; i < proc->tail_len && i < nitems(lines); i++)
		lines[i] = proc->tail[(proc->tail_head + i) % proc->tail_cap];
	cr->stderr_lines = lines;
	cr->nlines = i;
	crashlog_push(p->crashes, cr);
	if ((size_t)cr->reason < PLUGIN_CRASH_REASONS)
		p->crash_reasons[cr->reason]++;
	control_publish_crash(p);
	state_save_soon("crash");
}

/* Record the exit of a process the daemon did not ask to exit. */
static enum crash_reason
plugin_record_exit(struct plugin *p, int status, double uptime,
    const char *how)
{
	struct crash_record	cr;

	memset(&cr, 0, sizeof cr);
	cr.pid = (int)p->pid;
	cr.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	cr.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	cr.core_dumped = WIFSIGNALED(status) && WCOREDUMP(status);
	cr.uptime = uptime;
	cr.reason = plugin_crash_reason(p, status);
	cr.detail = p->kill_detail;
	plugin_record_crash(p, &cr);
	log_warnx("plugin %s: pid %ld crashed: %s (%s) after %.1f s uptime",
	    p->name, (long)p->pid, crash_reason_name(cr.reason), how, uptime);
	return cr.reason;
}

/*
 * The process is gone: read what it left in its pipes, end what is left of
 * its process group, close the daemon's side. Its commands stay claimed:
 * events for them queue while it restarts and are counted as dropped while
 * it is stopped or FATAL. Returns how long it ran; *how says how it ended.
 */
static double
plugin_reap(struct plugin *p, int status, char *how, size_t howlen)
{
	double	uptime = plugin_uptime(p);

	proc_describe_status(status, how, howlen);
	hmap_idel(server->by_pid, (uint64_t)p->pid);
	sampler_files_close(&p->procf);
	/* Stragglers in its process group go with it, and those outside. */
	proc_signal(p, p->pid, SIGKILL);
	contain_exited(p);
	plugin_pipe_final(p, p->err_bev);
	plugin_pipe_final(p, p->out_bev);
	plugin_close_io(p);
	router_forget(p);
	p->ping_sent = 0;
	return uptime;
}

/* Forget the reaped process. */
static void
plugin_clear_process(struct plugin *p)
{
	p->pid = 0;
	p->started_mono = 0;
}

/*
 * start (and restart from a state without a process): a manual start
 * resets the crash count and closes the breaker; autostart and reload
 * find it closed already.
 */
static void
plugin_act_start(struct plugin *p, const struct plugin_input *in)
{
	restart_reset(&p->restart);
	plugin_spawn(p, in->why);
}

/* The backoff delay passed. */
static void
plugin_act_spawn(struct plugin *p, const struct plugin_input *in)
{
	plugin_spawn(p, "backoff over");
}

/* Leave FATAL after the cooldown with one trial start (half-open). */
static void
plugin_act_trial(struct plugin *p, const struct plugin_input *in)
{
	breaker_trial(&p->restart.breaker);
	plugin_spawn(p, "cooldown over: trial start, breaker half-open");
}

/* Ask the process to stop: shutdown, then SIGTERM, then SIGKILL. */
static void
plugin_act_shutdown(struct plugin *p, const struct plugin_input *in)
{
	const char	*data;
	size_t		 len;

	p->stop_stage = 0;
	plugin_set_state(p, PLUGIN_STOPPING, in->why);
	msg_begin(server->builder, MSG_SHUTDOWN);
	msg_end(server->builder, &data, &len);
	plugin_send(p, data, len);
	plugin_arm_timer(p, p->conf->restart.stop_timeout);
}

/* Manual restart of a live process: stop it, start again once it exited. */
static void
plugin_act_restart(struct plugin *p, const struct plugin_input *in)
{
	restart_reset(&p->restart);
	p->restart_asked = 1;
	plugin_act_shutdown(p, in);
}

/* A start or restart while stopping: start again once it exited. */
static void
plugin_act_pend_restart(struct plugin *p, const struct plugin_input *in)
{
	restart_reset(&p->restart);
	if (!p->restart_asked)
		log_info("plugin %s: will start again once stopped (%s)",
		    p->name, in->why);
	p->restart_asked = 1;
}

/* A stop while stopping: stay stopped, even if a restart was asked. */
static void
plugin_act_cancel_restart(struct plugin *p, const struct plugin_input *in)
{
	if (p->restart_asked)
		log_info("plugin %s: restart cancelled (%s)", p->name, in->why);
	p->restart_asked = 0;
}

/* No process, and none wanted: drop what waited for one. */
static void
plugin_act_settle(struct plugin *p, const struct plugin_input *in)
{
	plugin_clear_queue(p, 1);
	plugin_set_state(p, PLUGIN_STOPPED, in->why);
}

/* A valid ready (plugin_handle_ready checks it and goes RUNNING). */
static void
plugin_act_up(struct plugin *p, const struct plugin_input *in)
{
	plugin_handle_ready(p, in->msg);
}

/* A second ready from a running plugin: dropped, counted. */
static void
plugin_act_refuse(struct plugin *p, const struct plugin_input *in)
{
	plugin_protocol_error(p, "ready sent twice");
}

/*
 * An exit nobody asked for, or a spawn that failed: record it, then let
 * the restart policy decide: BACKOFF with a delay, FATAL when the breaker
 * opens, STOPPED when autorestart says no (or the daemon is stopping, or
 * the plugin left the config).
 */
static void
plugin_act_crashed(struct plugin *p, const struct plugin_input *in)
{
	const struct restart_policy	*pol = &p->conf->restart;
	enum restart_decision		 d;
	enum crash_reason		 reason = CRASH_SPAWN;
	struct crash_record		 cr;
	double				 uptime = 0, delay;
	char				 how[128], why[512];
	int				 clean = 0;

	if (in->event == PEV_EXIT) {
		uptime = plugin_reap(p, in->status, how, sizeof how);
		reason = plugin_record_exit(p, in->status, uptime, how);
		clean = WIFEXITED(in->status) && WEXITSTATUS(in->status) == 0;
		plugin_clear_process(p);
	} else {
		memset(&cr, 0, sizeof cr);
		cr.exit_code = -1;
		cr.reason = CRASH_SPAWN;
		cr.detail = (char *)in->detail;
		plugin_record_crash(p, &cr);
		snprintf(how, sizeof how, "%s", in->detail);
	}

	if (server->shutting_down || p->removed) {
		plugin_clear_queue(p, 1);
		plugin_set_state(p, PLUGIN_STOPPED, server->shutting_down ?
		    "crashed while the daemon was stopping" :
		    "crashed after its removal from the config");
		return;
	}
	d = restart_on_exit(&p->restart, pol, clock_mono(), uptime, 1, clean,
	    &delay);
	switch (d) {
	case RESTART_NEVER:
		plugin_clear_queue(p, 1);
		snprintf(why, sizeof why, "%s, %s; autorestart is %s",
		    crash_reason_name(reason), how,
		    pol->autorestart == AUTORESTART_NEVER ? "never" :
		    "on-failure");
		plugin_set_state(p, PLUGIN_STOPPED, why);
		break;
	case RESTART_FATAL:
		plugin_clear_queue(p, 1);
		if (pol->cooldown > 0)
			snprintf(why, sizeof why, "crash loop: more than %d "
			    "crashes in %g s; breaker open, trial start in %g s",
			    pol->max_crashes, pol->crash_window, pol->cooldown);
		else
			snprintf(why, sizeof why, "crash loop: more than %d "
			    "crashes in %g s; breaker open until a manual start",
			    pol->max_crashes, pol->crash_window);
		plugin_set_state(p, PLUGIN_FATAL, why);
		if (pol->cooldown > 0)
			plugin_arm_timer(p, pol->cooldown);
		break;
	case RESTART_AFTER:
		snprintf(why, sizeof why, "%s, %s; restart %u in %g s",
		    crash_reason_name(reason), how,
		    p->restart.consecutive, delay);
		plugin_set_state(p, PLUGIN_BACKOFF, why);
		p->restarts++;
		/* A delay of 0 is the next turn of the loop: no recursion. */
		plugin_arm_timer(p, delay);
		break;
	}
}

/*
 * The exit asked for by stop or restart. One killed for a reason on the
 * way (a protocol violation while stopping) still gets its crash record,
 * but the stop stands.
 */
static void
plugin_act_exited(struct plugin *p, const struct plugin_input *in)
{
	double	uptime;
	char	how[128];

	uptime = plugin_reap(p, in->status, how, sizeof how);
	if (p->kill_reason != KILL_NONE)
		plugin_record_exit(p, in->status, uptime, how);
	else
		log_info("plugin %s: pid %ld exited (%s) after %.1f s", p->name,
		    (long)p->pid, how, uptime);
	plugin_clear_process(p);
	if (p->restart_asked && !server->shutting_down && !p->removed) {
		p->restart_asked = 0;
		p->restarts++;
		plugin_spawn(p, "restart asked");
		return;
	}
	p->restart_asked = 0;
	plugin_clear_queue(p, 1);
	plugin_set_state(p, PLUGIN_STOPPED, how);
}

/* Kill now; the exit is then a crash with this reason. The first wins. */
static void
plugin_act_kill(struct plugin *p, const struct plugin_input *in)
{
	if (p->kill_reason != KILL_NONE)
		return;
	p->kill_reason = in->kill;
	free(p->kill_detail);
	p->kill_detail = in->detail != NULL ? xstrdup(in->detail) : NULL;
	if (p->kill_detail != NULL)
		utf8_sanitize(p->kill_detail);
	log_warnx("plugin %s: killing pid %ld: %s", p->name, (long)p->pid,
	    in->detail != NULL ? in->detail : "");
	proc_signal(p, p->pid, SIGKILL);
	/* Nothing it says from now on counts. */
	if (p->bev != NULL)
		bufferevent_disable(p->bev, EV_READ);
}

/* STARTING's deadline: no ready in time. */
static void
plugin_act_ready_timeout(struct plugin *p, const struct plugin_input *in)
{
	char	detail[128];

	snprintf(detail, sizeof detail, "no ready within %g s",
	    p->conf->restart.ready_timeout);
	plugin_kill(p, KILL_READY_TIMEOUT, detail);
}

/*
 * How many ping slots an interval has. A ping is due once the plugin has
 * said nothing for ping_interval, rounded down to a slot: plugins fall
 * into a few groups pinged in the same turn of the loop (one wake-up for
 * each group, not one per plugin), spread over the interval rather than
 * all at once, and never pinged later than their silence asks.
 */
#define PLUGIN_PING_SLOTS	8

/*
 * When the plugin is next due a ping (monotonic): ping_interval after the
 * last thing it sent (a pong included), early by less than a slot. Any
 * message shows its loop alive, so a plugin that talks is not pinged; a
 * silent one is pinged once per interval, as before. A plugin that hangs
 * right after a message is pinged within ping_interval and killed
 * hang_timeout later: the bound it always had. (docs/lifecycle.md)
 */
static double
plugin_ping_due(const struct plugin *p)
{
	double	interval = p->conf->restart.ping_interval;
	double	slot = interval / PLUGIN_PING_SLOTS;
	double	since = p->last_heard;

	/* A ping its full socket did not take is tried again an interval on. */
	if (p->ping_tried > since)
		since = p->ping_tried;
	return (double)(long long)((since + interval) / slot) * slot;
}

/* Send a ping and note when. */
static void
plugin_ping(struct plugin *p)
{
	const char	*data;
	size_t		 len;

	msg_begin(server->builder, MSG_PING);
	msg_add_uint(server->builder, "seq", ++p->ping_seq);
	msg_end(server->builder, &data, &len);
	p->ping_tried = clock_mono();
	if (plugin_send(p, data, len) == 0)
		p->ping_sent = p->ping_tried;
}

/* RUNNING: wake for the next ping, the hang deadline, or stable uptime. */
static void
plugin_schedule_running(struct plugin *p)
{
	const struct restart_policy	*pol = &p->conf->restart;
	double				 now = clock_mono(), at;

	/* A ping out: only its deadline; else when the next one is due. */
	if (p->ping_sent > 0)
		at = p->ping_sent + pol->hang_timeout;
	else
		at = plugin_ping_due(p);
	if ((p->restart.consecutive > 0 ||
	    p->restart.breaker.state == BREAKER_HALF_OPEN) &&
	    p->started_mono + pol->reset_after < at)
		at = p->started_mono + pol->reset_after;
	plugin_arm_timer(p, at - now);
}

/* RUNNING's deadline: kill if hung, note stable uptime, ping. */
static void
plugin_act_tick(struct plugin *p, const struct plugin_input *in)
{
	const struct restart_policy	*pol = &p->conf->restart;
	double				 now = clock_mono();
	char				 detail[128];

	if (p->kill_reason != KILL_NONE)
		return;		/* killed: waiting for the exit */
	if (p->ping_sent > 0 && now - p->ping_sent >= pol->hang_timeout) {
		snprintf(detail, sizeof detail, "no pong within %g s",
		    pol->hang_timeout);
		plugin_kill(p, KILL_HUNG, detail);
		return;
	}
	if ((p->restart.consecutive > 0 ||
	    p->restart.breaker.state == BREAKER_HALF_OPEN) &&
	    now - p->started_mono >= pol->reset_after) {
		if (p->restart.breaker.state == BREAKER_HALF_OPEN)
			log_info("plugin %s: up %g s after the trial start; "
			    "breaker closed", p->name, pol->reset_after);
		restart_on_stable(&p->restart);
	}
	if (p->ping_sent == 0 && now >= plugin_ping_due(p))
		plugin_ping(p);
	plugin_schedule_running(p);
}

/* A stop's deadline: SIGTERM to the group, then SIGKILL. */
static void
plugin_escalate(struct plugin *p)
{
	const struct restart_policy	*pol = &p->conf->restart;

	if (p->stop_stage == 0) {
		log_warnx("plugin %s: still running %g s after shutdown; "
		    "sending SIGTERM", p->name, pol->stop_timeout);
		proc_signal(p, p->pid, SIGTERM);
		p->stop_stage = 1;
		plugin_arm_timer(p, pol->stop_timeout);
	} else {
		log_warnx("plugin %s: still running %g s after SIGTERM; "
		    "sending SIGKILL", p->name, pol->stop_timeout);
		proc_signal(p, p->pid, SIGKILL);
		p->stop_stage = 2;
	}
}

/* STOPPING's deadline. */
static void
plugin_act_escalate(struct plugin *p, const struct plugin_input *in)
{
	plugin_escalate(p);
}

/* STOPPED and removed: free it once the loop turns (reload.c). */
static void
plugin_act_forget(struct plugin *p, const struct plugin_input *in)
{
	reload_check_removed(p);
}

/* In the config again before it was forgotten: keep it and its history. */
static void
plugin_act_unremove(struct plugin *p, const struct plugin_input *in)
{
	p->removed = 0;
}

static void
plugin_act_ignore(struct plugin *p, const struct plugin_input *in)
{
}

/*
 * Upgrade (docs/lifecycle.md, Upgrade). The new process runs beside the
 * old one as a struct plugin of its own whose series is the plugin: it has
 * a socket, pipes, a stderr tail and deadlines, and no history. Its ready
 * is checked here (plugin_upgrade_ready) and becomes the event new-ready;
 * its death before that is new-failed. At the switch the two structs trade
 * their processes (plugin_swap_process), so the plugin keeps its name, its
 * rings, its counters and its place in the command map, and the struct
 * beside it now holds the old process while it drains and stops.
 */

/* A process beside p's own: its timers, tail and output, no history. */
static struct plugin *
plugin_shadow_new(struct plugin *p)
{
	struct plugin	*n = xcalloc(1, sizeof *n);

	strlcpy_(n->name, p->name, sizeof n->name);
	n->series = p;
	n->conf = config_plugin_dup(p->conf);
	n->state = PLUGIN_STARTING;
	n->state_since = clock_wall();
	n->tail_cap = (size_t)n->conf->restart.stderr_lines;
	if (n->tail_cap > 0)
		n->tail = xcalloc(n->tail_cap, sizeof *n->tail);
	TAILQ_INIT(&n->queue);
	TAILQ_INIT(&n->pending);
	TAILQ_INIT(&n->retired);
	/*
	 * Its own cgroup: the old one's exit kills what is left in its.
	 * Names are at most 32 characters (config.h), so %.40s cuts nothing.
	 */
	snprintf(n->cgroup, sizeof n->cgroup, "%.40s.%llu", p->name,
	    (unsigned long long)p->upgrade->seq);
	n->timer = evtimer_new(server->base, plugin_shadow_timer_cb, n);
	n->eof_timer = evtimer_new(server->base, plugin_eof_cb, n);
	output_init(n);
	return n;
}

/* Free a process beside a plugin; one still alive is killed first. */
static void
plugin_shadow_free(struct plugin *n)
{
	size_t	i;

	if (n->pid > 0) {
		hmap_idel(server->by_pid, (uint64_t)n->pid);
		proc_signal(n, n->pid, SIGKILL);
		contain_exited(n);
		router_forget(n);
	}
	plugin_close_io(n);
	output_free(n);
	plugin_clear_ready(n);
	event_free(n->timer);
	event_free(n->eof_timer);
	for (i = 0; i < n->tail_cap; i++)
		free(n->tail[i]);
	free(n->tail);
	free(n->kill_detail);
	config_plugin_free(n->conf);
	free(n);
}

/* Events sent to this process and not answered yet. */
static size_t
plugin_in_flight(const struct plugin *proc)
{
	const struct pending_event	*pe;
	size_t				 n = 0;

	TAILQ_FOREACH(pe, &proc->series->pending, entry) {
		if (!pe->queued && pe->pid == proc->pid)
			n++;
	}
	return n;
}

/* A retired process: send it shutdown, then SIGTERM and SIGKILL. */
static void
plugin_shadow_stop(struct plugin *n)
{
	const char	*data;
	size_t		 len;

	n->draining = 0;
	n->state = PLUGIN_STOPPING;
	n->state_since = clock_wall();
	n->stop_stage = 0;
	msg_begin(server->builder, MSG_SHUTDOWN);
	msg_end(server->builder, &data, &len);
	plugin_send(n, data, len);
	evtimer_del(n->timer);
	plugin_arm_timer(n, n->conf->restart.stop_timeout);
}

/* Kill a process beside the plugin now; the first reason wins. */
static void
plugin_shadow_kill(struct plugin *n, enum kill_reason reason,
    const char *detail)
{
	if (n->kill_reason != KILL_NONE || n->pid <= 0)
		return;
	n->kill_reason = reason;
	free(n->kill_detail);
	n->kill_detail = detail != NULL ? xstrdup(detail) : NULL;
	if (n->kill_detail != NULL)
		utf8_sanitize(n->kill_detail);
	log_warnx("plugin %s: killing %s pid %ld: %s", n->name,
	    n == n->series->upgrade_new ? "new" : "old", (long)n->pid,
	    detail != NULL ? detail : "");
	proc_signal(n, n->pid, SIGKILL);
	if (n->bev != NULL)
		bufferevent_disable(n->bev, EV_READ);
}

/*
 * The deadlines of a process beside the plugin: the new one's ready_timeout,
 * an old one's drain (stop_timeout), then its stop's SIGTERM and SIGKILL.
 */
static void
plugin_shadow_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct plugin	*n = arg;
	char		 detail[128];

	if (n->pid <= 0)
		return;
	if (n == n->series->upgrade_new) {
		if (n->kill_reason != KILL_NONE)
			return;
		snprintf(detail, sizeof detail, "no ready within %g s",
		    n->conf->restart.ready_timeout);
		plugin_shadow_kill(n, KILL_READY_TIMEOUT, detail);
	} else if (n->draining) {
		log_warnx("plugin %s: old pid %ld still owes %zu replies "
		    "%g s after the switch; stopping it", n->name, (long)n->pid,
		    plugin_in_flight(n), n->conf->restart.stop_timeout);
		plugin_shadow_stop(n);
	} else if (n->kill_reason == KILL_NONE)
		plugin_escalate(n);
}

/* A message from a process beside the plugin. */
static void
plugin_shadow_dispatch(struct plugin *n, const struct msg *m)
{
	if (n == n->series->upgrade_new) {
		if (m->type == MSG_READY)
			plugin_upgrade_ready(n, m);
		else if (m->type == MSG_LOG)
			plugin_handle_log(n, m);
		else
			plugin_protocol_error(n, "%s before ready",
			    msg_type_name(m->type));
		return;
	}
	switch (m->type) {
	case MSG_REPLY:
		router_reply(n, m);
		if (n->draining && plugin_in_flight(n) == 0) {
			log_info("plugin %s: old pid %ld answered all it was "
			    "sent; stopping it", n->name, (long)n->pid);
			plugin_shadow_stop(n);
		}
		break;
	case MSG_SAY:
		router_say(n, m);
		break;
	case MSG_LOG:
		plugin_handle_log(n, m);
		break;
	case MSG_PONG:
		break;
	default:
		plugin_protocol_error(n, "%s from an old process",
		    msg_type_name(m->type));
		break;
	}
}

/*
 * The new process's ready: one the daemon cannot read, of another protocol,
 * or claiming a command another plugin owns kills it (reason protocol), and
 * its exit is the upgrade's failure; a good one is new-ready.
 */
static void
plugin_upgrade_ready(struct plugin *n, const struct msg *m)
{
	struct plugin_input	 in;
	struct ipc_ready	 ready;
	const char		*names[IPC_MAX_COMMANDS];
	char			*cause = NULL;

	if (plugin_read_ready(m, &ready, names, &cause) != 0) {
		plugin_shadow_kill(n, KILL_PROTOCOL, cause);
		free(cause);
		return;
	}
	if (router_can_claim(n->series, names, ready.ncommands, &cause) != 0) {
		plugin_shadow_kill(n, KILL_PROTOCOL, cause);
		free(cause);
		return;
	}
	memset(&in, 0, sizeof in);
	in.event = PEV_NEW_READY;
	in.why = "the new process sent ready";
	in.msg = m;
	plugin_handle(n->series, &in);
}

/* A process beside the plugin is gone (from waitpid). */
static void
plugin_shadow_exited(struct plugin *n, int status)
{
	struct plugin		*p = n->series;
	struct plugin_input	 in;
	double			 uptime;
	char			 how[128];

	uptime = plugin_reap(n, status, how, sizeof how);
	if (n == p->upgrade_new) {
		memset(&in, 0, sizeof in);
		in.event = PEV_NEW_FAILED;
		in.why = how;
		in.status = status;
		in.detail = how;
		plugin_handle(p, &in);
		return;
	}
	if (n->kill_reason != KILL_NONE)
		plugin_record_exit(n, status, uptime, how);
	else
		log_info("plugin %s: old pid %ld exited (%s) after %.1f s",
		    n->name, (long)n->pid, how, uptime);
	TAILQ_REMOVE(&p->retired, n, entry);
	n->pid = 0;
	plugin_shadow_free(n);
	server_maybe_exit();
}

/* Stop the old processes still draining now (the daemon is stopping). */
void
plugin_stop_retired(struct plugin *p)
{
	struct plugin	*n;

	TAILQ_FOREACH(n, &p->retired, entry) {
		if (n->draining)
			plugin_shadow_stop(n);
	}
}

/* Begin the record of an upgrade. */
static void
plugin_upgrade_begin(struct plugin *p, const char *why)
{
	struct upgrade_record	*u;
	char			*c, *pl, *ch, *us;

	/* Allocated on the first upgrade: most plugins never have one. */
	if (p->upgrade == NULL)
		p->upgrade = xcalloc(1, sizeof *p->upgrade);
	u = p->upgrade;
	c = u->notify_connector;
	pl = u->notify_platform;
	ch = u->notify_channel;
	us = u->notify_user;

	/* Who asked in chat (set just before the event) stays. */
	u->notify_connector = u->notify_platform = NULL;
	u->notify_channel = u->notify_user = NULL;
	plugin_upgrade_clear(u);
	u->notify_connector = c;
	u->notify_platform = pl;
	u->notify_channel = ch;
	u->notify_user = us;
	u->seq++;
	u->result = UPGRADE_RUNNING;
	u->started = clock_wall();
	u->ended = 0;
	u->ready_ms = 0;
	u->old_pid = p->pid;
	u->new_pid = 0;
	strlcpy_(u->from_version, p->version, sizeof u->from_version);
	u->to_version[0] = '\0';
	u->why = xstrdup(why != NULL ? why : "upgrade");
}

/* End the record of an upgrade; tell the admin who asked in chat. */
static void
plugin_upgrade_end(struct plugin *p, enum upgrade_result result,
    const char *detail)
{
	struct upgrade_record	*u = p->upgrade;
	struct plugin		*c;
	char			 text[512];

	u->result = result;
	u->ended = clock_wall();
	if (detail != NULL && u->detail == NULL) {
		u->detail = xstrdup(detail);
		utf8_sanitize(u->detail);
	}
	if (u->notify_connector == NULL)
		return;
	if (result == UPGRADE_DONE)
		snprintf(text, sizeof text, "upgraded %s: version %s -> %s, "
		    "pid %ld -> %ld", p->name, u->from_version[0] ?
		    u->from_version : "?", u->to_version[0] ? u->to_version :
		    "?", (long)u->old_pid, (long)u->new_pid);
	else if (result == UPGRADE_FAILED)
		snprintf(text, sizeof text, "upgrade of %s failed: %s, %s; pid "
		    "%ld serves on", p->name, u->reason != NULL ? u->reason : "?",
		    u->detail != NULL ? u->detail : "?", (long)p->pid);
	else
		snprintf(text, sizeof text, "upgrade of %s cancelled: %s",
		    p->name, u->detail != NULL ? u->detail : "?");
	if ((c = server_find_plugin(u->notify_connector)) != NULL &&
	    c->state == PLUGIN_RUNNING)
		router_send_say(c, u->notify_platform, u->notify_channel,
		    u->notify_user, text);
	free(u->notify_connector);
	free(u->notify_platform);
	free(u->notify_channel);
	free(u->notify_user);
	u->notify_connector = u->notify_platform = NULL;
	u->notify_channel = u->notify_user = NULL;
}

/* !admin upgrade: say in this channel how the upgrade ends. */
void
plugin_upgrade_notify(struct plugin *p, const char *connector,
    const char *platform, const char *channel, const char *user)
{
	struct upgrade_record	*u = p->upgrade;

	if (u == NULL)
		return;		/* no upgrade runs */
	free(u->notify_connector);
	free(u->notify_platform);
	free(u->notify_channel);
	free(u->notify_user);
	u->notify_connector = xstrdup(connector);
	u->notify_platform = xstrdup(platform);
	u->notify_channel = xstrdup(channel);
	u->notify_user = user != NULL ? xstrdup(user) : NULL;
}

/*
 * Leaving UPGRADING by a stop, a restart, a removal or the old process's
 * crash: the new process is killed (no crash: it did nothing wrong) and
 * reaped as a retired one.
 */
static void
plugin_upgrade_discard(struct plugin *p, const char *why)
{
	struct plugin	*n = p->upgrade_new;

	p->upgrade_new = NULL;
	p->upgrade_again = 0;
	plugin_upgrade_end(p, UPGRADE_CANCELLED, why);
	if (n->pid <= 0) {
		plugin_shadow_free(n);
		return;
	}
	log_info("plugin %s: upgrade cancelled (%s); killing new pid %ld",
	    p->name, why, (long)n->pid);
	evtimer_del(n->timer);
	n->state = PLUGIN_STOPPING;
	n->stop_stage = 2;
	proc_signal(n, n->pid, SIGKILL);
	if (n->bev != NULL)
		bufferevent_disable(n->bev, EV_READ);
	TAILQ_INSERT_TAIL(&p->retired, n, entry);
}

/* Trade the processes of the plugin and the struct beside it. */
static void
plugin_swap_process(struct plugin *p, struct plugin *n)
{
	struct plugin	*o[2] = { p, n };
	char		 buf[sizeof p->cgroup];
	size_t		 i;

#define PLUGIN_SWAP(type, f)	do {					\
	type	t_ = p->f;						\
	p->f = n->f;							\
	n->f = t_;							\
} while (0)
	PLUGIN_SWAP(pid_t, pid);
	PLUGIN_SWAP(struct bufferevent *, bev);
	PLUGIN_SWAP(struct ipc_stream *, stream);
	PLUGIN_SWAP(struct bufferevent *, out_bev);
	PLUGIN_SWAP(struct bufferevent *, err_bev);
	PLUGIN_SWAP(pid_t, eof_pid);
	PLUGIN_SWAP(double, started_mono);
	PLUGIN_SWAP(double, started_wall);
	PLUGIN_SWAP(enum kill_reason, kill_reason);
	PLUGIN_SWAP(char *, kill_detail);
	PLUGIN_SWAP(int, stop_stage);
	PLUGIN_SWAP(char **, tail);
	PLUGIN_SWAP(size_t, tail_cap);
	PLUGIN_SWAP(size_t, tail_len);
	PLUGIN_SWAP(size_t, tail_head);
	/* The kept-open /proc files follow their process (sampler.c). */
	PLUGIN_SWAP(struct proc_files, procf);
#undef PLUGIN_SWAP
	memcpy(buf, p->cgroup, sizeof buf);
	memcpy(p->cgroup, n->cgroup, sizeof buf);
	memcpy(n->cgroup, buf, sizeof buf);
	evtimer_del(p->eof_timer);
	evtimer_del(n->eof_timer);
	for (i = 0; i < nitems(o); i++) {
		hmap_iput(server->by_pid, (uint64_t)o[i]->pid, o[i]);
		if (o[i]->bev != NULL)
			bufferevent_setcb(o[i]->bev, plugin_read_cb, NULL,
			    plugin_event_cb, o[i]);
		/* A pipe paused by the other's output limit reads again. */
		if (o[i]->err_bev != NULL) {
			bufferevent_setcb(o[i]->err_bev, plugin_pipe_read_cb,
			    NULL, plugin_pipe_event_cb, o[i]);
			bufferevent_enable(o[i]->err_bev, EV_READ);
		}
		if (o[i]->out_bev != NULL) {
			bufferevent_setcb(o[i]->out_bev, plugin_pipe_read_cb,
			    NULL, plugin_pipe_event_cb, o[i]);
			bufferevent_enable(o[i]->out_bev, EV_READ);
		}
	}
}

/*
 * Remember the version the plugin's process runs, from when: the samples'
 * version field (plugin_version_at). Only changes are kept, the last
 * PLUGIN_VERSION_SPANS of them: a crash loop adds nothing.
 */
static void
plugin_version_note(struct plugin *p, double since)
{
	struct version_span	*v;

	if (p->nversions > 0 && p->versions[p->nversions - 1].pid == p->pid)
		return;
	if (p->nversions > 0 && strcmp(p->versions[p->nversions - 1].version,
	    p->version) == 0)
		return;
	/*
	 * One more span at a time: most plugins only ever run one version,
	 * and the whole array (16 spans, 1,280 bytes) allocated on the first
	 * ready was 1.2 MB of the daemon's heap with 1000 plugins.
	 */
	if (p->nversions < PLUGIN_VERSION_SPANS)
		p->versions = xreallocarray(p->versions, p->nversions + 1,
		    sizeof *p->versions);
	if (p->nversions == PLUGIN_VERSION_SPANS) {
		memmove(p->versions, p->versions + 1,
		    (PLUGIN_VERSION_SPANS - 1) * sizeof *p->versions);
		p->nversions--;
	}
	v = &p->versions[p->nversions++];
	v->since = since;
	v->pid = p->pid;
	strlcpy_(v->version, p->version, sizeof v->version);
}

/*
 * The version that ran as process pid at wall time t: the span of that
 * pid, else the last one begun by then; NULL if none is known (before the
 * first ready since the daemon started, or an empty version).
 */
const char *
plugin_version_at(const struct plugin *p, pid_t pid, double t)
{
	size_t	i;

	if (pid <= 0)
		return NULL;
	for (i = p->nversions; i > 0; i--) {
		if (p->versions[i - 1].pid == pid)
			return p->versions[i - 1].version[0] ?
			    p->versions[i - 1].version : NULL;
	}
	for (i = p->nversions; i > 0; i--) {
		if (p->versions[i - 1].since <= t)
			return p->versions[i - 1].version[0] ?
			    p->versions[i - 1].version : NULL;
	}
	return NULL;
}

/* The last upgrade as status shows it; null if there was none. */
json_t *
plugin_upgrade_json(const struct plugin *p)
{
	const struct upgrade_record	*u = p->upgrade;
	static const char *const	 names[] = {
		[UPGRADE_NONE] = "none", [UPGRADE_RUNNING] = "running",
		[UPGRADE_DONE] = "done", [UPGRADE_FAILED] = "failed",
		[UPGRADE_CANCELLED] = "cancelled",
	};
	const struct plugin		*n;
	json_t				*j, *old, *lines;
	size_t				 i;

	if (u == NULL)
		return json_null();
	old = json_array();
	TAILQ_FOREACH(n, &p->retired, entry) {
		if (n->pid > 0)
			json_array_append_new(old, json_integer(n->pid));
	}
	lines = json_array();
	for (i = 0; i < u->nlines; i++)
		json_array_append_new(lines, json_string(u->stderr_lines[i]));
	j = json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:o}",
	    "seq", (json_int_t)u->seq, "result", names[u->result],
	    "upgrades", (json_int_t)p->upgrades,
	    "failures", (json_int_t)p->upgrade_failures,
	    "old_pids", old, "stderr", lines,
	    "started", json_real(round_nearest(u->started * 1000) / 1000));
	json_object_set_new(j, "new_pid", p->upgrade_new != NULL &&
	    p->upgrade_new->pid > 0 ? json_integer(p->upgrade_new->pid) :
	    u->new_pid > 0 ? json_integer(u->new_pid) : json_null());
	json_object_set_new(j, "old_pid", u->old_pid > 0 ?
	    json_integer(u->old_pid) : json_null());
	json_object_set_new(j, "ended", u->ended > 0 ?
	    json_real(round_nearest(u->ended * 1000) / 1000) : json_null());
	json_object_set_new(j, "from_version", u->from_version[0] ?
	    json_string(u->from_version) : json_null());
	json_object_set_new(j, "to_version", u->to_version[0] ?
	    json_string(u->to_version) : json_null());
	json_object_set_new(j, "ready_ms", u->ready_ms > 0 ?
	    json_real(round_nearest(u->ready_ms * 10) / 10) : json_null());
	json_object_set_new(j, "first_event_ms", p->first_event_ms > 0 ?
	    json_real(round_nearest(p->first_event_ms * 1000) / 1000) :
	    json_null());
	json_object_set_new(j, "why", u->why != NULL ? json_string(u->why) :
	    json_null());
	json_object_set_new(j, "reason", u->reason != NULL ?
	    json_string(u->reason) : json_null());
	json_object_set_new(j, "detail", u->detail != NULL ?
	    json_string(u->detail) : json_null());
	return j;
}

/*
 * upgrade: spawn the new process beside the running one and send it
 * hello; the old one keeps serving (and being pinged) meanwhile. A spawn
 * that fails is the upgrade's failure at once.
 */
static void
plugin_act_upgrade(struct plugin *p, const struct plugin_input *in)
{
	struct plugin_input	 fin;
	struct plugin		*n;
	char			*cause = NULL, why[512];
	pid_t			 pid;

	p->upgrade_again = 0;
	plugin_upgrade_begin(p, in->why);
	n = plugin_shadow_new(p);
	p->upgrade_new = n;
	if ((pid = plugin_start_process(n, &cause)) == -1) {
		log_warnx("plugin %s: cannot start the new process: %s",
		    p->name, cause);
		snprintf(why, sizeof why, "%s; no new process", in->why);
		plugin_set_state(p, PLUGIN_UPGRADING, why);
		memset(&fin, 0, sizeof fin);
		fin.event = PEV_NEW_FAILED;
		fin.why = cause;
		fin.detail = cause;
		plugin_handle(p, &fin);
		free(cause);
		return;
	}
	p->upgrade->new_pid = pid;
	snprintf(why, sizeof why, "%s; new pid %ld beside pid %ld", in->why,
	    (long)pid, (long)p->pid);
	plugin_set_state(p, PLUGIN_UPGRADING, why);
	plugin_schedule_running(p);
	plugin_send_hello(n);
	plugin_arm_timer(n, n->conf->restart.ready_timeout);
}

/* Another upgrade asked while one runs: it follows this one. */
static void
plugin_act_pend_upgrade(struct plugin *p, const struct plugin_input *in)
{
	if (!p->upgrade_again)
		log_info("plugin %s: will upgrade again once this upgrade "
		    "ends (%s)", p->name, in->why);
	p->upgrade_again = 1;
}

/* An upgrade ended: the one asked meanwhile begins. */
static void
plugin_upgrade_next(struct plugin *p)
{
	if (p->upgrade_again && !server->shutting_down && !p->removed) {
		p->upgrade_again = 0;
		plugin_event(p, PEV_UPGRADE, "upgrade asked during the last one");
	}
}

/*
 * switch: in one turn of the loop, the plugin's commands become the new
 * version's (those it dropped released, new ones claimed: checked free in
 * plugin_upgrade_ready, in this same turn), the new process becomes the
 * plugin's, so every event from now on goes to it, and the old one drains:
 * it answers what it was sent (its replies are still routed) and is sent
 * shutdown once it has, or after stop_timeout.
 */
static void
plugin_act_switch(struct plugin *p, const struct plugin_input *in)
{
	struct plugin	*n = p->upgrade_new;
	struct upgrade_record *u = p->upgrade;
	struct ipc_ready ready;
	const char	*names[IPC_MAX_COMMANDS];
	char		*cause = NULL;
	char		 list[IPC_MAX_COMMANDS * (IPC_MAX_COMMAND + 2) + 1];
	char		 detail[IPC_MAX_COMMANDS * (IPC_MAX_COMMAND + 2) + 512];
	size_t		 i, inflight;

	if (ipc_read_ready(in->msg, &ready, &cause) != 0)
		fatalx("plugin %s: a ready read once cannot be read: %s",
		    p->name, cause);
	for (i = 0; i < ready.ncommands; i++)
		names[i] = ready.commands[i];
	router_release(p);
	plugin_clear_ready(p);
	if (router_claim(p, names, ready.ncommands, ready.chat, &cause) != 0)
		fatalx("plugin %s: commands checked free are not: %s",
		    p->name, cause);
	list[0] = '\0';
	plugin_alloc_commands(p, ready.ncommands);
	for (i = 0; i < ready.ncommands; i++) {
		p->commands[i] = xstrdup(ready.commands[i]);
		if (i > 0)
			strcat(list, ", ");
		strcat(list, ready.commands[i]);
	}
	p->ncommands = ready.ncommands;

	p->upgrade_new = NULL;
	plugin_swap_process(p, n);
	strlcpy_(n->version, u->from_version, sizeof n->version);
	strlcpy_(p->version, ready.version, sizeof p->version);
	utf8_sanitize(p->version);
	strlcpy_(u->to_version, p->version, sizeof u->to_version);
	u->ready_ms = (clock_mono() - p->started_mono) * 1000;
	p->ping_sent = 0;
	p->have_prev = 0;
	p->mem_violations = 0;
	p->cpu_over_since = 0;
	p->upgrades++;
	p->first_event_ms = 0;
	p->switched_mono = clock_mono();
	plugin_version_note(p, clock_wall());

	/* The old process: drains, then stops. */
	n->state = PLUGIN_RUNNING;
	n->state_since = clock_wall();
	n->draining = 1;
	evtimer_del(n->timer);
	TAILQ_INSERT_TAIL(&p->retired, n, entry);
	inflight = plugin_in_flight(n);

	snprintf(detail, sizeof detail, "upgraded: version %s -> %s, pid %ld "
	    "-> %ld, ready in %.0f ms; commands: %s%s; old pid draining %zu "
	    "event%s", u->from_version[0] ? u->from_version : "?",
	    p->version[0] ? p->version : "?", (long)n->pid, (long)p->pid,
	    u->ready_ms, ready.ncommands ? list : "none",
	    ready.chat ? "; all chat" : "", inflight, inflight == 1 ? "" : "s");
	plugin_set_state(p, PLUGIN_RUNNING, detail);
	/* Its ready is the last it said: the next ping an interval on. */
	p->last_heard = clock_mono();
	p->ping_tried = 0;
	plugin_schedule_running(p);
	if (inflight == 0)
		plugin_shadow_stop(n);
	else
		plugin_arm_timer(n, n->conf->restart.stop_timeout);
	plugin_upgrade_end(p, UPGRADE_DONE, NULL);
	plugin_upgrade_next(p);
}

/*
 * abandon: the new process failed. Its failure is a crash of the plugin
 * (one crash log, one series) with its reason, detail and last stderr
 * lines, and the restart policy is not asked: the old process serves on
 * as if nothing happened.
 */
static void
plugin_act_abandon(struct plugin *p, const struct plugin_input *in)
{
	struct plugin		*n = p->upgrade_new;
	struct upgrade_record	*u = p->upgrade;
	struct crash_record	 cr;
	enum crash_reason	 reason;
	char			*d, why[768];
	size_t			 i;

	p->upgrade_new = NULL;
	if (n->pid > 0) {
		xasprintf(&d, "upgrade failed: %s", n->kill_detail != NULL ?
		    n->kill_detail : in->detail);
		free(n->kill_detail);
		n->kill_detail = d;
		reason = plugin_record_exit(n, in->status, plugin_uptime(n),
		    in->detail);
	} else {
		memset(&cr, 0, sizeof cr);
		cr.exit_code = -1;
		cr.reason = reason = CRASH_SPAWN;
		xasprintf(&d, "upgrade failed: %s", in->detail);
		cr.detail = d;
		plugin_record_crash(n, &cr);
		free(n->kill_detail);
		n->kill_detail = d;
	}
	p->upgrade_failures++;
	u->reason = xstrdup(crash_reason_name(reason));
	u->detail = xstrdup(n->kill_detail + strlen("upgrade failed: "));
	if (n->pid > 0 && n->kill_reason == KILL_NONE) {
		/* An exit: how it ended is the detail. */
		free(u->detail);
		u->detail = xstrdup(in->detail);
	}
	if (n->tail_len > 0) {
		u->stderr_lines = xcalloc(n->tail_len, sizeof *u->stderr_lines);
		for (i = 0; i < n->tail_len; i++)
			u->stderr_lines[i] = xstrdup(n->tail[(n->tail_head +
			    i) % n->tail_cap]);
		u->nlines = n->tail_len;
	}
	n->pid = 0;
	plugin_shadow_free(n);
	snprintf(why, sizeof why, "upgrade failed: %s, %s; pid %ld serves on",
	    u->reason, u->detail, (long)p->pid);
	plugin_set_state(p, PLUGIN_RUNNING, why);
	plugin_schedule_running(p);
	plugin_upgrade_end(p, UPGRADE_FAILED, NULL);
	plugin_upgrade_next(p);
}

static void (*const plugin_actions[LIFECYCLE_NACTIONS])(struct plugin *,
    const struct plugin_input *) = {
	[LA_IGNORE] = plugin_act_ignore,
	[LA_START] = plugin_act_start,
	[LA_SPAWN] = plugin_act_spawn,
	[LA_TRIAL] = plugin_act_trial,
	[LA_SHUTDOWN] = plugin_act_shutdown,
	[LA_RESTART] = plugin_act_restart,
	[LA_PEND_RESTART] = plugin_act_pend_restart,
	[LA_CANCEL_RESTART] = plugin_act_cancel_restart,
	[LA_SETTLE] = plugin_act_settle,
	[LA_UP] = plugin_act_up,
	[LA_REFUSE] = plugin_act_refuse,
	[LA_CRASHED] = plugin_act_crashed,
	[LA_EXITED] = plugin_act_exited,
	[LA_READY_TIMEOUT] = plugin_act_ready_timeout,
	[LA_TICK] = plugin_act_tick,
	[LA_ESCALATE] = plugin_act_escalate,
	[LA_KILL] = plugin_act_kill,
	[LA_FORGET] = plugin_act_forget,
	[LA_UNREMOVE] = plugin_act_unremove,
	[LA_UPGRADE] = plugin_act_upgrade,
	[LA_SWITCH] = plugin_act_switch,
	[LA_ABANDON] = plugin_act_abandon,
	[LA_PEND_UPGRADE] = plugin_act_pend_upgrade,
};

/*
 * The one entry point of the lifecycle: the table decides the action for
 * the plugin's state and the event, the action does it. An event the table
 * says cannot happen in this state is a bug in the daemon: fatal. Actions
 * may send events of their own (a failed spawn, a kill); the running action
 * is kept per plugin so plugin_set_state checks each against its own row.
 */
static void
plugin_handle(struct plugin *p, const struct plugin_input *in)
{
	enum lifecycle_action	a = lifecycle_decide(p->state, in->event);
	enum lifecycle_action	outer = p->action;

	if (in->event == PEV_REMOVE) {
		/*
		 * Whatever its state: it is not restarted, its commands go
		 * now, and it is freed once STOPPED. The state's action
		 * below then stops it as for stop.
		 */
		p->removed = 1;
		p->restart_asked = 0;
		router_release(p);
	}
	if (a == LA_INVALID || plugin_actions[a] == NULL)
		fatalx("plugin %s: event %s cannot happen in state %s", p->name,
		    plugin_event_name(in->event), plugin_state_name(p->state));
	log_debug("plugin %s: %s in %s: %s", p->name,
	    plugin_event_name(in->event), plugin_state_name(p->state),
	    lifecycle_action_name(a));
	p->action = a;
	plugin_actions[a](p, in);
	p->action = outer;
}

/* The state's deadline passed. */
static void
plugin_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct plugin_input	in;

	memset(&in, 0, sizeof in);
	in.event = PEV_TIMER;
	plugin_handle(arg, &in);
}

/*
 * server.c: the daemon's event loop, signals, and the one cron timer.
 *
 * Signals arrive only as libevent signal events. SIGCHLD reaps every child
 * with waitpid(-1, WNOHANG) until none is left, then hands each to its
 * plugin. The cron timer (redis's serverCron) runs every poll_interval: one
 * batched /proc read for all plugins, the limits, and housekeeping.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "supervisor/supervisor.h"

struct server *server;

/*
 * Connectors start once every other autostarted plugin has left STARTING,
 * so the first chat lines find their commands claimed; but a plugin slow to
 * get ready delays the chat for at most CONNECTOR_WAIT seconds.
 */
#define CONNECTOR_WAIT	2.0
static int		 server_connectors_started;
static struct event	*server_connector_timer;

/*
 * At shutdown, once every plugin is reaped, what they left behind is
 * killed and reaped too; a process that will not die (stuck in the kernel)
 * holds the exit back at most this long.
 */
#define LEFTOVER_WAIT	5.0
static struct event	*server_leftover_timer;

/*
 * systemd (Type=notify, notify.c): READY=1 once the start is over, STATUS=
 * a one-line summary as plugins change state, at most every
 * NOTIFY_STATUS_EVERY seconds (a crash loop of a thousand plugins must not
 * become a datagram per transition; the cron and the watchdog send what was
 * held back), WATCHDOG=1 every half WatchdogSec= from a timer of its own:
 * the cron ticks every poll_interval, which may be longer than that.
 */
#define NOTIFY_STATUS_EVERY	1.0
static int		 server_ready;		/* READY=1 sent */
static struct event	*server_watchdog_timer;
static double		 server_status_sent;	/* monotonic */
static int		 server_status_held;	/* a change not sent yet */
static char		 server_status_last[256];

static void	server_cron_cb(evutil_socket_t, short, void *);
static void	server_notify_status(void);

struct plugin *
server_find_plugin(const char *name)
{
	return hmap_sget(server->by_name, name);
}

/* Start connectors when no ordinary plugin is still starting (or forced). */
static void
server_start_connectors(int force)
{
	struct plugin	*p;

	if (server_connectors_started || server->shutting_down)
		return;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->conf->role == ROLE_CONNECTOR || p->state != PLUGIN_STARTING)
			continue;
		if (!force)
			return;
		log_warnx("plugin %s still STARTING after %g s; starting "
		    "connectors anyway", p->name, CONNECTOR_WAIT);
	}
	server_connectors_started = 1;
	evtimer_del(server_connector_timer);
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->conf->role == ROLE_CONNECTOR && p->conf->autostart)
			plugin_event(p, PEV_START, "daemon start");
	}
}

static void
server_connector_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	server_start_connectors(1);
}

/*
 * The one-line summary systemctl status shows: "3/4 plugins running; pick
 * FATAL", naming at most three plugins that are not running.
 */
static void
server_status_line(char *buf, size_t size)
{
	struct plugin	*p;
	size_t		 total = 0, running = 0, named = 0, len;

	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->removed)
			continue;
		total++;
		if (plugin_serving(p))
			running++;
	}
	if (server->shutting_down)
		len = (size_t)snprintf(buf, size, "stopping: %zu of %zu "
		    "plugins running", running, total);
	else
		len = (size_t)snprintf(buf, size, "%zu/%zu plugins running",
		    running, total);
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (len >= size || server->shutting_down)
			break;
		if (p->removed || plugin_serving(p))
			continue;
		if (named == 3) {
			snprintf(buf + len, size - len, ", and %zu more",
			    total - running - named);
			break;
		}
		len += (size_t)snprintf(buf + len, size - len, "%s%s %s",
		    named == 0 ? "; " : ", ", p->name,
		    plugin_state_name(p->state));
		named++;
	}
}

/* STATUS=: sent when it changed, held back if one went out just now. */
static void
server_notify_status(void)
{
	char	line[sizeof server_status_last];
	double	now;

	if (!notify_enabled() || !server_ready)
		return;
	server_status_line(line, sizeof line);
	if (strcmp(line, server_status_last) == 0) {
		server_status_held = 0;
		return;
	}
	now = clock_mono();
	if (now - server_status_sent < NOTIFY_STATUS_EVERY) {
		server_status_held = 1;
		return;
	}
	notify_send("STATUS=%s", line);
	strlcpy_(server_status_last, line, sizeof server_status_last);
	server_status_sent = now;
	server_status_held = 0;
}

/*
 * READY=1 once the start is over: the control socket listens (it does
 * before server_run), every autostarted plugin has been started and none
 * is STARTING any more (each is RUNNING, or failed its first start and is
 * in the restart policy's hands), and the connectors have been started.
 */
static void
server_notify_ready(void)
{
	struct plugin	*p;

	if (server_ready || !notify_enabled() || !server_connectors_started ||
	    server->shutting_down)
		return;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->state == PLUGIN_STARTING)
			return;
	}
	server_ready = 1;
	server_status_line(server_status_last, sizeof server_status_last);
	server_status_sent = clock_mono();
	notify_send("READY=1\nSTATUS=%s", server_status_last);
	log_info("notify: READY=1 (%s)", server_status_last);
}

/* WATCHDOG=1: the loop is alive. */
static void
server_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
	if (server_status_held)
		server_notify_status();
}

/* RELOADING=1 before a reload is applied (systemd waits for READY=1). */
void
server_notify_reloading(void)
{
	struct timespec	ts;

	if (!notify_enabled() || !server_ready)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000, server->config->path);
}

/* READY=1 again once the reload is applied (or refused). */
void
server_notify_reloaded(void)
{
	if (!notify_enabled() || !server_ready || server->shutting_down)
		return;
	server_status_line(server_status_last, sizeof server_status_last);
	server_status_sent = clock_mono();
	notify_send("READY=1\nSTATUS=%s", server_status_last);
}

/* Every state transition passes here after it is logged. */
void
server_transition(const struct transition *t)
{
	if (!server_connectors_started)
		server_start_connectors(0);
	if (notify_enabled()) {
		if (server_ready)
			server_notify_status();
		else
			server_notify_ready();
	}
	control_publish_transition(t);
	alert_transition(t);
	reload_check_removed(t->plugin);
	server_maybe_exit();
}

/* Reap every exited child. */
static void
server_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct rusage	 ru;
	struct plugin	*p;
	pid_t		 pid;
	int		 status, orphans = 0, saver = 0;

	for (;;) {
		pid = wait4(-1, &status, WNOHANG, &ru);
		if (pid == 0 || (pid == -1 && errno == ECHILD))
			break;
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			log_warn("waitpid");
			break;
		}
		if (!WIFEXITED(status) && !WIFSIGNALED(status))
			continue;
		if (state_reaped(pid, status, &ru)) {
			saver = 1;
			continue;
		}
		if (proc_helper_exited(pid, status))
			continue;
		if ((p = hmap_iget(server->by_pid, (uint64_t)pid)) == NULL) {
			/* An orphan of a plugin, reparented to us. */
			log_debug("reaped pid %ld (not a plugin)", (long)pid);
			orphans = 1;
			continue;
		}
		plugin_exited(p, status);
	}
	if (orphans)
		contain_tidy();
	/* A shutdown waits for every child, a saving process too. */
	if (orphans || saver)
		server_maybe_exit();
}

static void
server_sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	static double	 first;
	struct plugin	*p;

	/*
	 * A second signal a second or more after the first means "now"; one
	 * arriving with the first (timeout(1) signals the child and then its
	 * process group) is the same request.
	 */
	if (server->shutting_down && clock_mono() - first >= 1.0) {
		log_warnx("%s again: killing every plugin now",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
		TAILQ_FOREACH(p, &server->plugins, entry) {
			if (p->pid > 0)
				proc_signal(p, p->pid, SIGKILL);
		}
		return;
	}
	if (server->shutting_down)
		return;
	first = clock_mono();
	server_shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
}

/* SIGHUP: read the config again, like supervisorctl reload. */
static void
server_sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	json_t	*r;
	char	*cause = NULL;

	if (server->shutting_down)
		return;
	log_info("SIGHUP: reloading %s", server->config->path);
	if ((r = server_reload(&cause)) == NULL) {
		log_warnx("reload refused, nothing changed: %s", cause);
		free(cause);
		return;
	}
	json_decref(r);
}

/* Stop every plugin; the loop ends once all have exited. */
void
server_shutdown(const char *why)
{
	struct plugin	*p;
	char		 reason[128];

	if (server->shutting_down)
		return;
	server->shutting_down = 1;
	log_info("%s: stopping %zu plugins", why, hmap_count(server->by_name));
	notify_send("STOPPING=1\nSTATUS=stopping %zu plugins (%s)",
	    hmap_count(server->by_name), why);
	snprintf(reason, sizeof reason, "daemon stopping (%s)", why);
	/* Connectors first, so no new chat arrives while plugins stop. */
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->conf->role == ROLE_CONNECTOR)
			plugin_event(p, PEV_STOP, reason);
	}
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->conf->role != ROLE_CONNECTOR)
			plugin_event(p, PEV_STOP, reason);
		plugin_stop_retired(p);
	}
	server_maybe_exit();
}

static void
server_shutdown_soon_cb(evutil_socket_t fd, short what, void *arg)
{
	server_shutdown(arg);
}

/*
 * server_shutdown on the next turn of the loop, outside the callback that
 * asks (a plugin's message, a control request, whose reply is queued
 * first). why must outlive the call: a string literal.
 */
void
server_shutdown_soon(const char *why)
{
	struct timeval	tv = { 0, 0 };

	if (event_base_once(server->base, -1, EV_TIMEOUT,
	    server_shutdown_soon_cb, (void *)(uintptr_t)why, &tv) == -1)
		server_shutdown(why);
}

static void
server_leftover_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("processes left by plugins still alive %g s after SIGKILL; "
	    "exiting anyway", LEFTOVER_WAIT);
	event_base_loopexit(server->base, NULL);
}

/*
 * While shutting down: leave the loop when no plugin process is left, nor
 * any process a plugin started (killed here, reaped by SIGCHLD).
 */
void
server_maybe_exit(void)
{
	struct plugin	*p;
	struct timeval	 tv;

	if (!server->shutting_down)
		return;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		/* An old process of an upgrade, still draining, too. */
		if (p->pid > 0 || !TAILQ_EMPTY(&p->retired))
			return;
	}
	/*
	 * No spawn from now on. contain_shutdown waits for every child: the
	 * spawn helper goes once it is the last (a save may still run).
	 */
	if (proc_helper_alone())
		proc_helper_stop();
	if (contain_shutdown()) {
		if (!evtimer_pending(server_leftover_timer, NULL)) {
			tv.tv_sec = (time_t)LEFTOVER_WAIT;
			tv.tv_usec = 0;
			evtimer_add(server_leftover_timer, &tv);
		}
		return;
	}
	event_base_loopexit(server->base, NULL);
}

/* Restart a plugin over a resource limit, as a crash. */
static void
server_check_limits(struct plugin *p, double now, double cpu, uint64_t rss)
{
	const struct plugin_limits	*l = &p->conf->limits;
	char				 detail[160];

	if (l->memory_mb > 0) {
		if ((double)rss > l->memory_mb * METRICS_MB) {
			if (++p->mem_violations >= l->violations) {
				snprintf(detail, sizeof detail, "memory %.1f MB "
				    "over limits.memory_mb %g for %d samples",
				    (double)rss / METRICS_MB, l->memory_mb,
				    p->mem_violations);
				plugin_kill(p, KILL_MEMORY_LIMIT, detail);
				return;
			}
		} else
			p->mem_violations = 0;
	}
	if (l->cpu_percent > 0 && cpu >= 0) {
		if (cpu > l->cpu_percent) {
			if (p->cpu_over_since == 0)
				p->cpu_over_since = now;
			else if (now - p->cpu_over_since >= l->cpu_seconds) {
				snprintf(detail, sizeof detail, "CPU %.1f%% over "
				    "limits.cpu_percent %g for %.0f s", cpu,
				    l->cpu_percent, now - p->cpu_over_since);
				plugin_kill(p, KILL_CPU_LIMIT, detail);
			}
		} else
			p->cpu_over_since = 0;
	}
}

/* One sample of one plugin, from its /proc reading (or none). */
void
plugin_sample(struct plugin *p, double now_mono, double now_wall, int found,
    unsigned long long ticks, uint64_t rss_bytes, int threads)
{
	struct metrics_sample	s;
	double			cpu = -1;

	memset(&s, 0, sizeof s);
	s.state = (uint8_t)p->state;
	sample_set_events(&s, p->events_routed);
	sample_set_restarts(&s, p->restarts);
	sample_set_cpu(&s, -1);
	if (found) {
		s.pid = (uint32_t)p->pid;
		sample_set_rss_kib(&s, rss_bytes / 1024);
		sample_set_threads(&s, threads);
		if (p->have_prev && now_mono > p->prev_sample_mono &&
		    ticks >= p->prev_ticks) {
			cpu = metrics_cpu_percent(p->prev_ticks, ticks,
			    now_mono - p->prev_sample_mono, sampler_hz());
			sample_set_cpu(&s, cpu);
			p->cpu_seconds += (double)(ticks - p->prev_ticks) /
			    (double)sampler_hz();
		} else if (!p->have_prev)
			/* A new process: what it used since its exec. */
			p->cpu_seconds += (double)ticks / (double)sampler_hz();
		p->prev_ticks = ticks;
		p->prev_sample_mono = now_mono;
		p->have_prev = 1;
		p->last_cpu = cpu;
		p->last_rss = rss_bytes;
	} else {
		p->have_prev = 0;
		p->last_cpu = -1;
		p->last_rss = 0;
	}
	/* Buckets this sample ends are closed from the ring as it was. */
	rollup_advance(p->tiers, p->ntiers, p->ring, now_wall);
	ring_push(p->ring, now_wall, &s);
	control_publish_sample(p, &s, now_wall);
	if (found && (p->state == PLUGIN_RUNNING || p->state == PLUGIN_STARTING))
		server_check_limits(p, now_mono, cpu, rss_bytes);
}

/* The daemon samples itself the same way, so its overhead shows. */
static void
server_sample_self(double now_mono, double now_wall, struct proc_reading *r)
{
	struct metrics_sample	s;
	double			cpu;

	memset(&s, 0, sizeof s);
	sample_set_cpu(&s, -1);
	sample_set_events(&s, server->total_events);
	if (r->found) {
		s.pid = (uint32_t)r->pid;
		sample_set_rss_kib(&s, r->rss_kib);
		sample_set_threads(&s, r->threads);
		if (server->self_have_prev) {
			cpu = metrics_cpu_percent(server->self_prev_ticks,
			    r->ticks, now_mono - server->self_prev_mono,
			    sampler_hz());
			sample_set_cpu(&s, cpu);
		}
		server->self_prev_ticks = r->ticks;
		server->self_prev_mono = now_mono;
		server->self_have_prev = 1;
	}
	ring_push(server->self_ring, now_wall, &s);
}

/*
 * One sampling tick: every live plugin from the /proc files it keeps open
 * (sampler.c), those without them in one batched libproc2 read, and the
 * daemon itself from its own /proc/PID/stat.
 */
void
server_sample(void)
{
	static pid_t			*pids;
	static struct proc_reading	*readings;
	static size_t			 cap;
	struct plugin			*p;
	struct proc_reading		 own, *r;
	size_t				 n = 0, need, i;
	double				 now_mono = clock_mono();
	double				 now_wall = clock_wall();
	int				 failed = 0;

	need = hmap_count(server->by_name) + 1;
	if (need > cap) {
		cap = need;
		pids = xreallocarray(pids, cap, sizeof *pids);
		readings = xreallocarray(readings, cap, sizeof *readings);
	}
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->pid > 0 && p->procf.stat == -1)
			pids[n++] = p->pid;
	}
	if (n > 0 && sampler_read(server->sampler, pids, n, readings) != 0) {
		if (sampler_error()[0] != '\0')
			log_warnx("sampling /proc: %s; %zu plugin%s without "
			    "kept-open /proc files unsampled this tick",
			    sampler_error(), n, n == 1 ? "" : "s");
		else
			log_warn("sampling /proc");
		failed = 1;
	}
	i = 0;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->pid <= 0) {
			if (!failed)
				plugin_sample(p, now_mono, now_wall, 0, 0, 0, 0);
			continue;
		}
		if (p->procf.stat == -1) {
			if (failed)
				continue;
			r = &readings[i++];
		} else {
			r = &own;
			if (sampler_read_files(&p->procf, p->pid, r) != 0) {
				log_warn("plugin %s: reading /proc/%ld/stat",
				    p->name, (long)p->pid);
				continue;
			}
		}
		plugin_sample(p, now_mono, now_wall, r->found &&
		    r->state != 'Z', r->ticks, r->rss_kib * 1024, r->threads);
	}
	/* Last, so this tick's own work is in the daemon's reading. */
	if (sampler_read_self(server->sampler, &own) != 0)
		log_warn("sampling the daemon's own /proc/%ld/stat",
		    (long)getpid());
	else
		server_sample_self(now_mono, now_wall, &own);
}

/* The cron: sample (if enabled) and expire events nobody answered. */
static void
server_cron_cb(evutil_socket_t fd, short what, void *arg)
{
	if (server->config->metrics_enabled)
		server_sample();
	alert_tick();
	router_expire(clock_mono());
	state_cron(clock_mono());
	if (server_status_held)
		server_notify_status();
}

/*
 * Each plugin takes four descriptors (three, and its sandbox's kept
 * Landlock ruleset) and each control client one: raise
 * the soft limit on open files to the hard one (at most 65536), so 1024
 * clients and thousands of plugins fit under the stock soft limit of 1024.
 * A hard limit too low for that is said at start: the control socket then
 * runs out of descriptors before its table of clients is full, and makes
 * room by closing idle clients sooner (docs/control.md). The sampler keeps
 * two more per running plugin (its /proc stat and statm, sampler.c) where
 * it can; they are not counted as needed: without them a plugin is
 * sampled through libproc2.
 */
static void
server_raise_fd_limit(size_t nplugins)
{
	struct rlimit		rl;
	unsigned long long	need;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < 65536 && rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
			    (unsigned long long)rl.rlim_cur);
			if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
				return;
		}
	}
	/* 64: the loop, the listener, logs, a spawn in progress. */
	need = CONTROL_MAX_CLIENTS + 4ULL * nplugins + 64;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("open-file limit %llu is below the %llu that %d "
		    "control clients and %zu plugins need: raise the hard "
		    "limit (ulimit -Hn, LimitNOFILE=)",
		    (unsigned long long)rl.rlim_cur, need, CONTROL_MAX_CLIENTS,
		    nplugins);
}

/* Set up the loop, signals and the plugins; the server owns the config. */
void
server_init(struct config *cf, const char *plugin_dir)
{
	struct plugin	*p;
	struct timeval	 tv;
	double		 interval;
	size_t		 i;

	server = xcalloc(1, sizeof *server);
	server->config = cf;
	server->plugin_dir = plugin_dir ? xstrdup(plugin_dir) : NULL;
	server->started_wall = clock_wall();
	server->started_mono = clock_mono();
	TAILQ_INIT(&server->plugins);
	server->by_name = hmap_new();
	server->by_pid = hmap_new();
	server->builder = msg_builder_new();
	if ((server->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	router_init();

	server_raise_fd_limit(cf->nplugins);
	/* Forked while the daemon is small and holds no plugin's descriptor. */
	proc_helper_start(cf->nplugins);
	notify_init();

	/* Plugins' orphans are reparented to us, so nothing escapes. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER)");
	contain_init();

	server->sig_chld = evsignal_new(server->base, SIGCHLD,
	    server_sigchld_cb, NULL);
	server->sig_term = evsignal_new(server->base, SIGTERM,
	    server_sigterm_cb, NULL);
	server->sig_int = evsignal_new(server->base, SIGINT,
	    server_sigterm_cb, NULL);
	server->sig_hup = evsignal_new(server->base, SIGHUP,
	    server_sighup_cb, NULL);
	evsignal_add(server->sig_chld, NULL);
	evsignal_add(server->sig_term, NULL);
	evsignal_add(server->sig_int, NULL);
	evsignal_add(server->sig_hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Over a file size limit, a write fails with EFBIG: logged, survived. */
	signal(SIGXFSZ, SIG_IGN);

	server->sampler = sampler_new();
	server->self_ring = ring_new(config_history_capacity(cf), server->started_wall);
	for (i = 0; i < cf->nplugins; i++) {
		p = plugin_new(&cf->plugins[i]);
		TAILQ_INSERT_TAIL(&server->plugins, p, entry);
		hmap_sput(server->by_name, p->name, p);
	}

	server_connector_timer = evtimer_new(server->base,
	    server_connector_timer_cb, NULL);
	server_leftover_timer = evtimer_new(server->base,
	    server_leftover_timer_cb, NULL);
	interval = cf->metrics_enabled ? cf->poll_interval : 5.0;
	server->cron = event_new(server->base, -1, EV_PERSIST, server_cron_cb,
	    NULL);
	tv = clock_timeval(interval);
	event_add(server->cron, &tv);
	if (notify_watchdog_interval() > 0) {
		server_watchdog_timer = event_new(server->base, -1, EV_PERSIST,
		    server_watchdog_cb, NULL);
		tv = clock_timeval(notify_watchdog_interval());
		event_add(server_watchdog_timer, &tv);
		log_info("notify: WATCHDOG=1 every %.3g s (WatchdogSec=%.3g s)",
		    notify_watchdog_interval(), 2 * notify_watchdog_interval());
	}
	alert_configure(cf);
}

/* p or the first plugin after it that the daemon starts itself, or NULL. */
static struct plugin *
server_next_autostart(struct plugin *p)
{
	while (p != NULL && (p->conf->role == ROLE_CONNECTOR ||
	    !p->conf->autostart))
		p = TAILQ_NEXT(p, entry);
	return p;
}

/* Start the plugins and run until every plugin has stopped after a signal. */
int
server_run(void)
{
	struct plugin	*p, *next;

	log_info("supervisor %s starting: %zu plugins, config %s, pid %ld",
	    SUPERVISOR_VERSION, hmap_count(server->by_name),
	    server->config->path, (long)getpid());
	/*
	 * History continues where it stopped, before anything starts; only
	 * now that the control socket is ours: a second daemon on the same
	 * config has stopped at it and never touches the state directory.
	 */
	state_init();
	state_load_all();
	contain_start();
	watch_configure();
	/*
	 * One burst over the autostarted plugins (connectors come later):
	 * proc.c prepares each next spawn while one is made.
	 */
	proc_burst_begin();
	for (p = server_next_autostart(TAILQ_FIRST(&server->plugins));
	    p != NULL; p = next) {
		next = server_next_autostart(TAILQ_NEXT(p, entry));
		proc_burst_next(next);
		plugin_event(p, PEV_START, "daemon start");
	}
	proc_burst_end();
	server_start_connectors(0);
	if (!server_connectors_started) {
		struct timeval	tv = { (time_t)CONNECTOR_WAIT, 0 };

		evtimer_add(server_connector_timer, &tv);
	}
	if (server->config->metrics_enabled)
		server_sample();	/* a first reading: CPU deltas start here */
	server_notify_ready();		/* nothing to wait for, perhaps */
	event_base_dispatch(server->base);
	state_save_now();
	log_info("supervisor stopped: every plugin has exited");
	return server->exit_status;
}

void
server_free(void)
{
	struct plugin	*p;

	watch_free();
	while ((p = TAILQ_FIRST(&server->plugins)) != NULL) {
		TAILQ_REMOVE(&server->plugins, p, entry);
		plugin_free(p);
	}
	contain_cleanup();
	sandbox_cleanup();
	state_free();
	alert_free();
	http_free();
	control_free();
	admin_free();
	router_free();
	hmap_free(server->by_name);
	hmap_free(server->by_pid);
	msg_builder_free(server->builder);
	sampler_free(server->sampler);
	ring_free(server->self_ring);
	event_free(server->cron);
	event_free(server_connector_timer);
	server_connector_timer = NULL;
	event_free(server_leftover_timer);
	server_leftover_timer = NULL;
	if (server_watchdog_timer != NULL)
		event_free(server_watchdog_timer);
	server_watchdog_timer = NULL;
	notify_free();
	server_ready = 0;
	server_status_held = 0;
	server_status_last[0] = '\0';
	server_connectors_started = 0;
	event_free(server->sig_chld);
	event_free(server->sig_term);
	event_free(server->sig_int);
	event_free(server->sig_hup);
	event_base_free(server->base);
	free(server->plugin_dir);
	/* The server owns the config it runs (a reload replaces it). */
	config_free(server->config);
	free(server);
	server = NULL;
}

/*
 * supervisor.h: the daemon's internal interfaces. The pure modules (ipc/,
 * config/, metrics/) are wired together here; everything with libevent in
 * it lives in supervisor/.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <jansson.h>

#include "common/breaker.h"
#include "common/common.h"
#include "common/hmap.h"
#include "config/config.h"
#include "ipc/ipc.h"
#include "metrics/metrics.h"
#include "supervisor/lifecycle.h"
#include "supervisor/verbs.h"

/* Longest line of plugin stdout/stderr; longer ones are cut into pieces. */
#define PLUGIN_LINE_MAX		1024
/* Commands one plugin may own (the protocol's bounds, ipc/ipc.h). */
#define PLUGIN_MAX_COMMANDS	IPC_MAX_COMMANDS
#define PLUGIN_COMMAND_MAX	IPC_MAX_COMMAND
/* Events waiting for a reply from one plugin before the oldest is forgotten. */
#define PLUGIN_MAX_PENDING	4096
/* Crash reasons (metrics.h enum crash_reason), counted per plugin. */
#define PLUGIN_CRASH_REASONS	8
/* Seconds an event waits for its reply before it is forgotten. */
#define EVENT_REPLY_TTL		60.0

/* Why the daemon killed a plugin itself (kept for the crash record). */
enum kill_reason {
	KILL_NONE,
	KILL_HUNG,
	KILL_READY_TIMEOUT,
	KILL_PROTOCOL,
	KILL_MEMORY_LIMIT,
	KILL_CPU_LIMIT,
};

/*
 * Restart bookkeeping: consecutive crashes for the backoff, recent crash
 * times for the breaker. Pure arithmetic in restart.c, unit-tested alone.
 */
struct restart_state {
	unsigned		 consecutive;	/* crashes since the last stable run */
	struct breaker		 breaker;	/* max_crashes in crash_window */
};

enum restart_decision { RESTART_AFTER, RESTART_NEVER, RESTART_FATAL };

void	 restart_init(struct restart_state *, const struct restart_policy *);
void	 restart_free(struct restart_state *);
void	 restart_reset(struct restart_state *);
double	 restart_delay(const struct restart_policy *, unsigned consecutive);
enum restart_decision restart_on_exit(struct restart_state *,
	     const struct restart_policy *, double now, double uptime,
	     int crashed, int clean_exit, double *delay);
void	 restart_on_stable(struct restart_state *);

/*
 * Why an event routed to a plugin ended without its reply. Every event
 * routed ends once: replied, or dropped for one of these, so per plugin
 * routed = replies + dropped + in flight at every moment.
 */
enum drop_reason {
	DROP_QUEUE_FULL,	/* not running, and its queue was full */
	DROP_PLUGIN_DOWN,	/* stopped, stopping, FATAL or being killed */
	DROP_DIED,		/* its process ended with the event in flight */
	DROP_EXPIRED,		/* no reply in EVENT_REPLY_TTL, or too many waiting */
	DROP_NOT_READING,	/* its socket's output was full */
	DROP_NREASONS
};

/* What plugin_deliver did with a message. */
enum delivery { DELIVERY_SENT, DELIVERY_QUEUED, DELIVERY_DROPPED };

/*
 * An event routed and not yet ended, from routing to its reply or its drop:
 * in the plugin's queue (not running yet) or sent, waiting for the reply.
 */
struct pending_event {
	uint64_t			 id;
	double				 sent;		/* monotonic, when routed */
	int				 queued;	/* in the plugin's queue */
	pid_t				 pid;		/* sent to this process */
	struct plugin			*target;
	char				*connector;	/* plugin name */
	char				*platform;
	char				*channel;
	char				*user;
	TAILQ_ENTRY(pending_event)	 entry;		/* target's list */
};
TAILQ_HEAD(pending_list, pending_event);

/* An event held while its plugin is not RUNNING. */
struct queued_event {
	char				*data;		/* encoded event message */
	size_t				 len;
	uint64_t			 id;
	TAILQ_ENTRY(queued_event)	 entry;
};
TAILQ_HEAD(queued_list, queued_event);

/* How the last upgrade of a plugin ended (status, the upgrade verb). */
enum upgrade_result {
	UPGRADE_NONE,		/* never upgraded */
	UPGRADE_RUNNING,	/* the new process is starting */
	UPGRADE_DONE,		/* the new process took over */
	UPGRADE_FAILED,		/* the new process failed; the old one serves on */
	UPGRADE_CANCELLED,	/* stopped, restarted or crashed during it */
};

/* The last upgrade, as status shows it. */
struct upgrade_record {
	uint64_t		 seq;		/* upgrades asked so far; 0: none */
	enum upgrade_result	 result;
	double			 started;	/* wall */
	double			 ended;		/* wall, 0 while it runs */
	double			 ready_ms;	/* spawn to ready of the new one */
	pid_t			 old_pid;
	pid_t			 new_pid;
	char			 from_version[65];
	char			 to_version[65];
	char			*why;		/* who asked: "upgrade by ..." */
	char			*reason;	/* failed: crash reason name */
	char			*detail;	/* failed, cancelled: what happened */
	char			**stderr_lines;	/* failed: the new one's last lines */
	size_t			 nlines;
	/* !admin upgrade: where to say how it ended (NULL otherwise). */
	char			*notify_connector;
	char			*notify_platform;
	char			*notify_channel;
	char			*notify_user;
};

/* The version a plugin's process said in ready, from when (sample version). */
struct version_span {
	double		 since;		/* wall */
	pid_t		 pid;
	char		 version[65];
};
/* Version changes remembered per plugin for the samples' version field. */
#define PLUGIN_VERSION_SPANS	16

TAILQ_HEAD(plugin_list, plugin);

struct plugin {
	char				 name[64];
	struct plugin_config		*conf;
	enum plugin_state		 state;
	double				 state_since;	/* wall */

	pid_t				 pid;
	struct proc_files		 procf;		/* its /proc stat, statm: sampler.c */
	struct bufferevent		*bev;		/* the socketpair */
	struct ipc_stream		*stream;
	struct bufferevent		*out_bev;	/* stdout pipe */
	struct bufferevent		*err_bev;	/* stderr pipe */
	struct event			*timer;		/* the state's deadline */
	struct event			*eof_timer;	/* socket closed: still alive? */
	pid_t				 eof_pid;	/* ... the process that closed it */
	double				 started_mono;
	double				 started_wall;
	/*
	 * Lifecycle fields below are written by plugin.c's actions only;
	 * other files send events (plugin_event, plugin_kill, plugin_exited).
	 */
	enum lifecycle_action		 action;	/* running now, or LA_INVALID */
	int				 restart_asked;	/* start again once stopped */
	int				 removed;	/* gone from the config: freed once stopped */
	enum kill_reason		 kill_reason;
	char				*kill_detail;
	int				 stop_stage;	/* 0 shutdown sent, 1 TERM, 2 KILL */

	/* What the plugin said in ready. */
	char				 version[65];
	char				**commands;	/* ncommands of them */
	char				**usage;	/* each NULL: none */
	size_t				 ncommands;
	TAILQ_ENTRY(plugin)		 chat_entry;	/* on the router's chat list */
	uint64_t			 platform_refused;	/* connectors: lines of another platform */
	double				 platform_logged;	/* ... last logged, monotonic */

	/* Health. */
	uint64_t			 ping_seq;
	double				 ping_sent;	/* monotonic, 0 if none outstanding */
	double				 last_heard;	/* monotonic: its last message */
	double				 ping_tried;	/* ... the last ping (sent or not) */

	/* Counters, cumulative per name across restarts. */
	uint64_t			 events_routed;
	uint64_t			 replies;
	uint64_t			 events_dropped;	/* the sum of dropped[] */
	uint64_t			 dropped[DROP_NREASONS];
	uint64_t			 protocol_errors;
	uint64_t			 chat_lines;	/* connectors: lines received */
	uint64_t			 chat_dropped;	/* ... over chat.max_line */
	unsigned			 restarts;
	unsigned			 starts;

	struct restart_state		 restart;
	struct crash_log		*crashes;

	/* Last stderr lines, a ring of conf->restart.stderr_lines. */
	char				**tail;
	size_t				 tail_cap;
	size_t				 tail_len;
	size_t				 tail_head;

	struct queued_list		 queue;
	size_t				 queue_len;
	struct pending_list		 pending;
	size_t				 npending;

	/* Rate limits of its output and warnings, its log file (output.c). */
	struct plugin_output		*output;

	/* Its threshold rules' windows and states (alert-eval.c). */
	struct alert_watch		*alert_watch;

	/* Metrics. */
	struct sample_ring		*ring;
	struct rollup_tier		*tiers[4];	/* ROLLUP_MAX_TIERS */
	size_t				 ntiers;
	unsigned long long		 prev_ticks;
	double				 prev_sample_mono;
	int				 have_prev;
	int				 mem_violations;
	double				 cpu_over_since;	/* monotonic, 0 if under */
	double				 last_cpu;
	uint64_t			 last_rss;
	/* For /metrics (http.c): counted since the daemon started. */
	double				 cpu_seconds;	/* sampled, all processes */
	uint64_t			 crash_reasons[PLUGIN_CRASH_REASONS];

	/*
	 * Hot upgrade (docs/lifecycle.md, Upgrade). A process beside the
	 * plugin's own (the new one starting, or an old one draining) is a
	 * struct plugin too, with series pointing to the plugin whose history
	 * and counters it adds to; it is never on server->plugins.
	 */
	struct plugin			*series;	/* a process of that plugin */
	struct plugin			*upgrade_new;	/* UPGRADING: the new one */
	struct plugin_list		 retired;	/* old ones not yet reaped */
	int				 upgrade_again;	/* pend-upgrade */
	int				 draining;	/* retired: replies awaited */
	char				 cgroup[64];	/* its process's (contain.c) */
	struct upgrade_record		*upgrade;	/* the last; NULL: none */
	uint64_t			 upgrades;	/* switched */
	uint64_t			 upgrade_failures;
	double				 switched_mono;	/* the last switch */
	double				 first_event_ms; /* switch to first event */
	struct version_span		*versions;	/* allocated on first ready */
	size_t				 nversions;

	TAILQ_ENTRY(plugin)		 entry;
};

/* A state transition, as logged and published to subscribers. */
struct transition {
	const struct plugin	*plugin;
	enum plugin_state	 from;
	enum plugin_state	 to;
	const char		*reason;
};

struct server {
	struct event_base	*base;
	struct config		*config;
	char			*plugin_dir;
	struct plugin_list	 plugins;
	struct hmap		*by_name;
	struct hmap		*by_pid;
	struct hmap		*commands;	/* command word → plugin */
	struct hmap		*pending;	/* event id → pending_event */
	struct plugin_list	 chat_plugins;	/* running, wanting plain chat */
	struct msg_builder	*builder;
	uint64_t		 next_event_id;
	double			 started_wall;
	double			 started_mono;
	int			 shutting_down;
	int			 exit_status;
	struct event		*sig_chld, *sig_term, *sig_int, *sig_hup, *sig_pipe;
	struct event		*cron;		/* metrics sampling and housekeeping */
	uint64_t		 total_events;
	uint64_t		 total_chat_lines;
	uint64_t		 unknown_commands;
	const char		*builtin_config;	/* reloaded when no file */
	size_t			 builtin_config_len;
	struct sampler		*sampler;
	struct sample_ring	*self_ring;	/* the daemon's own CPU and memory */
	unsigned long long	 self_prev_ticks;
	double			 self_prev_mono;
	int			 self_have_prev;
};

extern struct server *server;

struct metrics_sample;
struct metrics_aggregates;
struct crash_record;
struct sample_ring;
struct control_client;
struct alert_note;

/* server.c */
void	 server_init(struct config *, const char *plugin_dir);
void	 server_transition(const struct transition *);
void	 server_sample(void);
int	 server_run(void);
void	 server_shutdown(const char *why);
void	 server_shutdown_soon(const char *why);
void	 server_maybe_exit(void);
void	 server_free(void);
json_t	*server_reload(char **cause);
void	 server_notify_reloading(void);
void	 server_notify_reloaded(void);

/* state.c */
struct rusage;
void	 state_init(void);
void	 state_free(void);
int	 state_enabled(void);
void	 state_load(struct plugin *);
void	 state_load_all(void);
void	 state_load_done(void);
void	 state_cron(double now_mono);
void	 state_save_soon(const char *why);
void	 state_save_now(void);
int	 state_reaped(pid_t, int status, const struct rusage *);
int	 state_forget(const char *name, char *err, size_t errlen);
json_t	*state_unconfigured(void);
json_t	*state_status(void);
double	 state_history_since(const struct plugin *);

/* reload.c */
void	 reload_check_removed(const struct plugin *);
struct plugin *server_find_plugin(const char *name);

/* The plugin whose history a process adds to: itself, or the one it is of. */
static inline struct plugin *
plugin_series(struct plugin *p)
{
	return p->series != NULL ? p->series : p;
}

/* RUNNING, or RUNNING with an upgrade under way: its process serves. */
static inline int
plugin_serving(const struct plugin *p)
{
	return p->state == PLUGIN_RUNNING || p->state == PLUGIN_UPGRADING;
}

/* plugin.c */
struct plugin *plugin_new(const struct plugin_config *);
void	 plugin_upgrade_notify(struct plugin *, const char *connector,
	     const char *platform, const char *channel, const char *user);
json_t	*plugin_upgrade_json(const struct plugin *);
const char *plugin_version_at(const struct plugin *, pid_t, double wall);
void	 plugin_stop_retired(struct plugin *);
void	 plugin_reconfigure(struct plugin *, const struct plugin_config *);
void	 plugin_free(struct plugin *);
void	 plugin_event(struct plugin *, enum plugin_event, const char *why);
void	 plugin_kill(struct plugin *, enum kill_reason, const char *detail);
void	 plugin_exited(struct plugin *, int status);
int	 plugin_send(struct plugin *, const char *, size_t);
enum delivery plugin_deliver(struct plugin *, const char *, size_t, uint64_t id);
void	 plugin_protocol_error(struct plugin *, const char *, ...) printflike(2, 3);
const char *plugin_role_name(enum plugin_role);
double	 plugin_uptime(const struct plugin *);
void	 plugin_sample(struct plugin *, double now_mono, double now_wall,
	     int found, unsigned long long ticks, uint64_t rss_bytes, int threads);

/* output.c: a plugin's output in the daemon's log, and its log file. */
enum output_stream { OUTPUT_STDOUT, OUTPUT_STDERR, OUTPUT_LOG };
/* Warnings that may repeat for every event or message: each rate limited. */
enum output_warning {
	WARN_NOT_READING,	/* events dropped: not reading its socket */
	WARN_QUEUE_FULL,	/* events dropped: queue full while starting */
	WARN_NOT_RUNNING,	/* events dropped: stopped, stopping, FATAL */
	WARN_PROTOCOL,		/* messages dropped: protocol errors */
	WARN_CHAT_DROPPED,	/* connectors: chat lines over max_line */
	WARN_SAY_DROPPED,	/* say to a platform without a connector */
	OUTPUT_NWARNINGS
};
void	 output_init(struct plugin *);
void	 output_free(struct plugin *);
void	 output_reconfigure(struct plugin *, const struct plugin_config *old);
void	 output_begin(struct plugin *);
int	 output_line(struct plugin *, enum output_stream, enum log_level,
	     const char *, size_t);
void	 output_end(struct plugin *);
void	 output_read(struct plugin *, struct bufferevent *, size_t bytes,
	     int suppressed);
void	 output_warn(struct plugin *, enum output_warning, const char *, ...)
	     printflike(3, 4);
uint64_t output_suppressed(const struct plugin *);

/* proc.c */
pid_t	 proc_spawn(struct plugin *, int *sock, int *out_fd, int *err_fd,
	     char **cause);
void	 proc_signal(const struct plugin *, pid_t, int);
void	 proc_burst_begin(void);
void	 proc_burst_next(struct plugin *);
void	 proc_burst_end(void);
void	 proc_helper_start(size_t);
void	 proc_helper_stop(void);
int	 proc_helper_alone(void);
int	 proc_helper_exited(pid_t, int);
const char *proc_describe_status(int status, char *, size_t);

/* identity.c: a plugin's directory, umask, nice, groups and user. */
int	 identity_apply(const struct plugin_identity *);

/* contain.c: nothing a plugin starts outlives it (cgroup or subreaper). */
void	 contain_init(void);
void	 contain_start(void);
const char *contain_mode(void);
int	 contain_prepare(const struct plugin *, char *, size_t, char **cause);
void	 contain_unprepare(const struct plugin *);
void	 contain_exited(const struct plugin *);
void	 contain_tidy(void);
int	 contain_shutdown(void);
void	 contain_cleanup(void);
int	 contain_usage(const struct plugin *, double *cpu_seconds,
	     double *memory_mb);
const struct plugin *contain_cgroup_owner(pid_t);

/*
 * sandbox.c: least privilege for plugins (docs/sandbox.md). What the
 * daemon prepares for one spawn and the child applies before exec.
 */
struct sock_fprog;
struct sandbox_spawn {
	int			 enabled;
	int			 drop_caps;	/* last capability to drop, -1: none */
	int			 ruleset_fd;	/* Landlock, -1: none */
	const struct sock_fprog	*prog;		/* seccomp, shared */
	char			 env_data[4200];	/* SUPERVISOR_DATA_DIR=... */
	char			 env_tmp[4200];		/* TMPDIR=... */
};
void	 sandbox_init(void);
void	 sandbox_log_offer(void);
int	 sandbox_landlock_abi(void);
int	 sandbox_check_config(const struct config *, char **cause);
int	 sandbox_prepare(const struct plugin *, struct sandbox_spawn *,
	     char **cause);
void	 sandbox_release(struct sandbox_spawn *);
void	 sandbox_burst(int);
int	 sandbox_apply(const struct sandbox_spawn *);
void	 sandbox_helper_init(void);
int	 sandbox_keeps_caps(const struct sandbox_spawn *);
struct jsonw;
void	 sandbox_status(const struct plugin *, struct jsonw *);
const struct plugin *sandbox_peer_plugin(pid_t);
void	 sandbox_cleanup(void);

/* notify.c: readiness, status and watchdog for systemd (sd_notify(3)). */
void	 notify_init(void);
int	 notify_enabled(void);
double	 notify_watchdog_interval(void);
void	 notify_send(const char *, ...) printflike(1, 2);
void	 notify_free(void);

/* router.c */
void	 router_init(void);
void	 router_free(void);
int	 router_claim(struct plugin *, const char *const *, size_t, int chat,
	     char **cause);
int	 router_can_claim(const struct plugin *, const char *const *, size_t,
	     char **cause);
void	 router_release(struct plugin *);
void	 router_chat(struct plugin *connector, const struct msg *);
void	 router_reply(struct plugin *, const struct msg *);
void	 router_say(struct plugin *, const struct msg *);
void	 router_forget(struct plugin *);
void	 router_expire(double now_mono);
int	 router_drop(struct plugin *, uint64_t id, enum drop_reason);
void	 router_sent(struct plugin *, uint64_t id);
const char *router_drop_reason_name(enum drop_reason);
struct plugin *router_owner(const char *command);
/* Send text to a connector's channel (admin replies, help). */
void	 router_send_say(struct plugin *connector, const char *platform,
	     const char *channel, const char *user, const char *text);

/* jsonw.c: JSON text written straight into a buffer (replies). */
struct jsonw {
	char	*buf;		/* NUL-terminated text */
	size_t	 len;
	size_t	 size;
	int	 comma;		/* the next value or key needs a comma */
	int	 nokeys;	/* jw_key writes nothing: a row of values */
};
void	 jw_init(struct jsonw *);
void	 jw_free(struct jsonw *);
void	 jw_truncate(struct jsonw *, size_t);
void	 jw_raw(struct jsonw *, const char *, size_t);
void	 jw_open_object(struct jsonw *);
void	 jw_close_object(struct jsonw *);
void	 jw_open_array(struct jsonw *);
void	 jw_close_array(struct jsonw *);
void	 jw_key(struct jsonw *, const char *);
void	 jw_string(struct jsonw *, const char *);
void	 jw_stringn(struct jsonw *, const char *, size_t);
void	 jw_int(struct jsonw *, long long);
void	 jw_null(struct jsonw *);
void	 jw_bool(struct jsonw *, int);
void	 jw_real(struct jsonw *, double);
void	 jw_fixed(struct jsonw *, double, int places);
void	 jw_json(struct jsonw *, const json_t *);

/* cmd.c: what the verbs of verbs.h do, for the socket, supervisorctl and chat. */

struct cmd_error {
	const char	*code;
	char		 message[512];
};

struct cmd_ctx {
	json_t			*req;		/* the request object */
	struct jsonw		*out;		/* a large result is written here */
	struct plugin		*plugin;	/* resolved for CMD_PLUGIN */
	struct control_client	*client;	/* socket requests only */
	const char		*identity;	/* chat requests only */
};

void	 cmd_execute(json_t *req, struct control_client *, const char *identity,
	     struct jsonw *);
void	 cmd_execute_line(const char *, size_t, struct control_client *,
	     struct jsonw *);
void	 cmd_write_error(struct jsonw *, const char *code, const char *fmt, ...)
	     printflike(3, 4);
int	 cmd_parse_window(json_t *, double *seconds, struct cmd_error *);
json_t	*json_plugin_status(const struct plugin *);
json_t	*json_system_metrics(void);
json_t	*json_sample(const struct sample_ring *, const struct metrics_sample *);
json_t	*json_plugin_sample(const struct plugin *, const struct metrics_sample *);
json_t	*json_crash(const struct crash_record *);
json_t	*json_aggregates(const char *name, const struct metrics_aggregates *);

/* control.c: the JSON status socket and subscribers. */
#define CONTROL_LINE_MAX	(64 * 1024)
#define CONTROL_OUTPUT_MAX	(4 * 1024 * 1024)
#define CONTROL_MAX_CLIENTS	1024
/* s a client must be idle before a new one may take its place (table full) */
#define CONTROL_EVICT_IDLE	1
/* s over which a flood's repeated warnings are summed up in one line */
#define CONTROL_LOG_INTERVAL	2
#define TOPIC_STATE		0x1
#define TOPIC_CRASH		0x2
#define TOPIC_SAMPLE		0x4
#define TOPIC_LOG		0x8
#define TOPIC_ALERT		0x10
/* s a client dropped for not reading has to take what was queued to it */
#define CONTROL_DRAIN_TIMEOUT	10
void	 control_subscribe(struct control_client *, int topics);
void	 control_filter(struct control_client *, const char *plugin);
int	 control_init(const char *path, char **cause);
void	 control_check_dir(const char *path);
void	 control_free(void);
void	 control_publish_transition(const struct transition *);
void	 control_publish_sample(const struct plugin *,
	     const struct metrics_sample *, double wall);
void	 control_publish_crash(const struct plugin *);
void	 control_publish_log(const struct plugin *, const char *stream,
	     enum log_level, const char *line, size_t len);
void	 control_publish_alert(const struct alert_note *);

/* alert.c: alerts to chat and the alert topic (docs/alerts.md). */
void	 alert_configure(const struct config *);
void	 alert_free(void);
void	 alert_transition(const struct transition *);
void	 alert_tick(void);
void	 alert_plugin_free(struct plugin *);
int	 alert_known_name(const char *);
int	 alert_silence_set(const char *, double);
int	 alert_silence_lift(const char *);
json_t	*alert_status_json(void);
json_t	*alert_note_json(const struct alert_note *);

/* http.c: the HTTP endpoint (Prometheus, JSON API, events, dashboard). */
void	 http_init(const char *page, size_t);
void	 http_free(void);
size_t	 http_nstreams(void);
void	 http_publish(int topic, const char *plugin, const char *, size_t);
void	 http_shutdown(void);

/* watch.c: upgrade a plugin when its files change (inotify). */
void	 watch_configure(void);
void	 watch_free(void);

/* admin.c: !admin in chat, through the command table. */
void	 admin_command(struct plugin *connector, const char *platform,
	     const char *channel, const char *user, const char *args);
int	 admin_match(const char *pattern, const char *);
int	 admin_allowed(const char *identity);
void	 admin_free(void);

#endif

/*
 * config.h: the daemon's JSON configuration, loaded and validated with
 * jansson before anything starts. Every error names the file, the line and
 * column, and the JSON path of the offending value (docs/config.md).
 *
 * A load is a parse (the text alone: shape, types, ranges; no file system
 * access) then a resolution (relative paths against the config's directory,
 * executables in the plugin directory or PATH). config_load_* do both;
 * config_parse and config_resolve are the two steps apart, and
 * config_load_socket reads only the socket a file names (supervisorctl).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <sys/types.h>

#include <stddef.h>

#include <jansson.h>

/* Bounds of the config (docs/config.md). */
#define CONFIG_MAX_SIZE		(1024 * 1024)	/* bytes of config text */
#define CONFIG_MAX_PLUGINS	4096
#define CONFIG_NAME_MAX		32	/* characters of a plugin name */
#define CONFIG_MAX_SAMPLES	1000000	/* history_duration / poll_interval */
#define CONFIG_MAX_ROLLUPS	4	/* rollup tiers */
#define CONFIG_MAX_BUCKETS	200000	/* buckets of all tiers, per plugin */
#define CONFIG_MAX_BUCKET_SAMPLES 65535	/* samples one bucket counts */

enum plugin_role { ROLE_PLUGIN, ROLE_CONNECTOR };

enum autorestart { AUTORESTART_ALWAYS, AUTORESTART_ON_FAILURE, AUTORESTART_NEVER };

/* What a reload does to a running plugin whose config changed. */
enum reload_mode { RELOAD_RESTART, RELOAD_UPGRADE };

/* Files one plugin's "watch" may list. */
#define CONFIG_MAX_WATCH	16

enum unknown_command { UNKNOWN_IGNORE, UNKNOWN_REPLY };

/* Restart, health and lifecycle policy: global defaults, per-plugin overrides. */
struct restart_policy {
	double		 first_delay;	/* s before the first restart, 0 */
	double		 initial_delay;	/* s, backoff base, 1 */
	double		 multiplier;	/* backoff factor, 2 */
	double		 max_delay;	/* s, backoff cap, 60 */
	double		 reset_after;	/* s of stable uptime that reset the count, 60 */
	int		 max_crashes;	/* crashes within crash_window that open the breaker, 5 */
	double		 crash_window;	/* s, 60 */
	double		 cooldown;	/* s in FATAL before a trial start, 300; 0 = never */
	enum autorestart autorestart;	/* always */
	double		 ready_timeout;	/* s to send ready, 5 */
	double		 ping_interval;	/* s between pings, 5 */
	double		 hang_timeout;	/* s without pong before kill, 15 */
	double		 stop_timeout;	/* s from shutdown to SIGTERM, and SIGTERM to SIGKILL, 3 */
	int		 queue_size;	/* events held while not RUNNING, 256 */
	int		 crash_history;	/* crash records kept, 64 */
	int		 stderr_lines;	/* stderr lines kept (and put in crash records), 10 */
};

/* Resource limits; 0 means no limit. */
struct plugin_limits {
	double		 memory_mb;	/* RSS limit in MB (1 MB = 1048576 bytes) */
	int		 violations;	/* consecutive samples over memory_mb, 2 */
	double		 cpu_percent;	/* CPU% limit, 100 = one core */
	double		 cpu_seconds;	/* s the CPU limit must be exceeded, 30 */
};

/*
 * What of a plugin's stdout, stderr and log messages reaches the daemon's
 * log: a token bucket of lines and one of bytes, global defaults with
 * per-plugin overrides. A rate of 0 means no limit.
 */
struct output_policy {
	double		 lines_per_second;	/* 100 */
	int		 burst_lines;		/* 200 */
	double		 bytes_per_second;	/* 65536 */
	int		 burst_bytes;		/* 131072 */
	double		 summary_interval;	/* s between summary lines, 10 */
};

/* A plugin's own log file for its stdout and stderr; path NULL: none. */
struct log_file_config {
	char		*path;		/* as written until resolved, then
					   absolute against the config's dir */
	size_t		 max_bytes;	/* rotate before passing it, 10 MiB */
	int		 backups;	/* old files kept, 5 */
};

/*
 * Where and as whom a plugin runs (docs/config.md): resolved at load, in
 * the daemon (names to ids, supplementary groups, the directory made
 * absolute), applied in the child with plain system calls only.
 */
struct plugin_identity {
	char		 *directory;	/* absolute once resolved; NULL: daemon's */
	char		 *user;		/* as written; NULL: the daemon's */
	char		 *group;	/* as written; NULL: user's, or daemon's */
	int		  set_uid;	/* uid, gid and groups apply */
	int		  set_gid;
	uid_t		  uid;
	gid_t		  gid;
	gid_t		 *groups;	/* supplementary groups of user */
	size_t		  ngroups;
	int		  umask;	/* 0-0777, or -1: the daemon's */
	int		  set_nice;
	int		  nice;		/* -20 to 19 */
};

/*
 * The sandbox of a plugin (docs/sandbox.md, supervisor/sandbox.c). The
 * global "sandbox" sets enabled and required for every plugin; a plugin's
 * own adds paths, network and syscalls. Paths are absolute and exist.
 */
#define CONFIG_SANDBOX_MAX_PATHS	64	/* per list: one rule each */
#define CONFIG_SANDBOX_PATH_MAX		1024	/* bytes of one path */
enum sandbox_network {
	SANDBOX_NET_NONE,	/* no TCP bind or connect */
	SANDBOX_NET_CONNECT,	/* TCP connect, no bind (connectors) */
	SANDBOX_NET_ANY,	/* not restricted */
};
struct sandbox_config {
	int		  enabled;	/* true */
	int		  required;	/* refuse to run without Landlock, false */
	char		**read;		/* NULL-terminated: read and execute */
	size_t		  nread;
	char		**write;	/* NULL-terminated: read and write */
	size_t		  nwrite;
	enum sandbox_network network;	/* by role: connectors connect */
	char		**syscalls;	/* NULL-terminated: denied ones allowed */
	size_t		  nsyscalls;
	int		  root;		/* a root daemon's plugin keeps root's
					   capabilities, false */
};
/* The syscalls the filter denies by default, NULL-terminated. */
extern const char *const config_sandbox_denied[];
const char *config_sandbox_network_name(enum sandbox_network);

struct plugin_config {
	char		 *name;		/* [a-z0-9][a-z0-9_-]{0,31} */
	enum plugin_role  role;
	char		**argv;		/* NULL-terminated; argv[0] as written until
					   resolved, then an absolute path */
	size_t		  argc;
	char		**env;		/* NULL-terminated "KEY=VALUE" to add */
	size_t		  nenv;
	json_t		 *config;	/* object handed to the plugin in hello; never NULL */
	int		  autostart;	/* start with the daemon, true */
	int		  terminal;	/* stdin/stdout are the daemon's (console), false */
	char		 *platform;	/* connectors: the platform of their chat
					   lines, as a name; NULL: the name */
	struct restart_policy restart;
	struct plugin_limits  limits;
	struct output_policy  output;
	struct log_file_config log_file;
	struct plugin_identity identity;
	enum reload_mode  reload;	/* "restart" (default) or "upgrade" */
	int		  watch;	/* upgrade when its files change */
	char		**watch_paths;	/* NULL-terminated, absolute once
					   resolved; true: the program (and
					   a script it is given) */
	size_t		  nwatch;
	struct sandbox_config sandbox;
};

/* One rollup tier: buckets of resolution seconds kept for duration. */
struct rollup_config {
	double		 resolution;
	double		 duration;
};

/*
 * Alerts (docs/alerts.md): lifecycle alerts, each switchable, and threshold
 * rules over the metrics rings, sent to connector channels.
 */
enum alert_severity { ALERT_INFO, ALERT_WARNING, ALERT_CRITICAL };

/* What a rule looks at, over its window. */
enum alert_metric {
	AM_CPU_AVG, AM_CPU_MIN, AM_CPU_MAX, AM_CPU_P95,
	AM_MEMORY_AVG, AM_MEMORY_MIN, AM_MEMORY_MAX, AM_MEMORY_P95,
	AM_EVENTS, AM_EVENTS_PER_MIN,
};
#define ALERT_NMETRICS		10

enum alert_op { AO_GT, AO_GE, AO_LT, AO_LE };

/* alerts.lifecycle: which lifecycle events raise an alert. */
#define ALERT_ON_CRASH		0x01	/* exit, signal, protocol, spawn */
#define ALERT_ON_CRASH_LOOP	0x02	/* FATAL: the breaker opened */
#define ALERT_ON_MEMORY_LIMIT	0x04
#define ALERT_ON_CPU_LIMIT	0x08
#define ALERT_ON_HUNG		0x10
#define ALERT_ON_READY		0x20	/* a failed ready handshake */
#define ALERT_ON_RECOVERY	0x40	/* the line when it is over */

/* Bounds of the alerts section. */
#define CONFIG_MAX_ALERT_RULES		1000
#define CONFIG_MAX_ALERT_TARGETS	16
#define CONFIG_ALERT_CHANNEL_MAX	200	/* bytes of a target channel */

struct alert_rule_config {
	char		 *name;		/* a plugin-name-like word, unique */
	char		**plugins;	/* NULL-terminated; NULL: every plugin */
	size_t		  nplugins;
	enum alert_metric metric;
	enum alert_op	  op;
	double		  value;
	double		  window;	/* s of samples, up to history_duration */
	double		  hold;		/* s the condition must hold ("for") */
	enum alert_severity severity;	/* warning */
};

struct alert_target_config {
	char		 *connector;	/* a connector plugin's name */
	char		 *channel;
};

struct alerts_config {
	struct alert_target_config *targets;
	size_t		  ntargets;
	double		  repeat;	/* s between two lines of one alert that holds, 600 */
	double		  collapse;	/* s over which a burst is one summary line, 60 */
	double		  rate;		/* lines a second per target, 1; 0 = no limit */
	int		  burst;	/* lines at once per target, 5 */
	int		  queue;	/* lines held per target while it cannot send, 20 */
	unsigned	  lifecycle;	/* ALERT_ON_*, all by default */
	struct alert_rule_config *rules;
	size_t		  nrules;
};

/*
 * The HTTP endpoint (supervisor/http.c): off unless "http" is given. listen
 * is "ADDRESS:PORT" as written, host and port what it says; a listener
 * beyond loopback needs a token.
 */
#define CONFIG_HTTP_TOKEN_MIN	16	/* characters of a bearer token */
#define CONFIG_HTTP_TOKEN_MAX	256
struct http_config {
	int		  enabled;	/* "http" given */
	char		 *listen;	/* "127.0.0.1:8421" */
	char		 *host;		/* numeric address, brackets removed */
	unsigned	  port;
	int		  loopback;	/* host is 127.0.0.0/8 or ::1 */
	char		 *token;	/* NULL: none needed (loopback only) */
	size_t		  max_connections;	/* 256 */
	size_t		  max_events_clients;	/* /events streams, 64 */
	double		  idle_timeout;	/* s, 30 */
};

/* Parse "ADDRESS:PORT" (IPv4, or [IPv6]): 0, or -1 with why. */
int	 config_parse_listen(const char *, struct http_config *, char *why,
	     size_t);

struct config_source;

struct config {
	char		 *path;		/* file loaded, or "(built-in default)" */
	char		 *dir;		/* directory relative paths resolve against;
					   NULL until resolved */
	char		 *socket_path;	/* control socket: as written until
					   resolved, then absolute against dir */
	double		  control_idle_timeout;	/* s a control client may
					   leave a request unfinished, 10 */
	char		 *prefix;	/* command prefix, "!" */
	char		**admins;	/* identity patterns, NULL-terminated */
	size_t		  nadmins;
	enum unknown_command unknown_command;
	size_t		  max_line;	/* longest chat line accepted, bytes, 512 */
	double		  admin_rate;	/* s between admin commands per user, 2 */
	int		  metrics_enabled;	/* true */
	double		  poll_interval;	/* s, 5, range 0.1-3600 */
	double		  history_duration;	/* s, 3600 */
	struct rollup_config rollups[CONFIG_MAX_ROLLUPS];	/* 1 min x 24 h,
					   1 h x 30 d */
	size_t		  nrollups;
	int		  state_enabled;	/* true */
	char		 *state_dir;	/* "state", made absolute when resolved */
	double		  save_interval;	/* s, 60 */
	struct restart_policy restart;	/* global defaults */
	struct output_policy output;	/* global defaults */
	struct alerts_config alerts;
	struct http_config http;
	struct sandbox_config sandbox;	/* global: enabled and required */
	struct plugin_config *plugins;
	size_t		  nplugins;
	struct config_source *source;	/* private: the text parsed, kept
					   until resolved (error positions) */
};

/*
 * Load and validate. plugin_dir is where a bare exec name (no slash) is
 * looked for first, before PATH. On error returns -1 and sets *cause to one
 * line: "FILE:LINE:COL: JSON.PATH: what is wrong".
 */
int	 config_load_file(const char *path, const char *plugin_dir,
	     struct config **, char **cause);
/* The same from text in memory; origin names it in errors, basedir resolves. */
int	 config_load_string(const char *text, size_t len, const char *origin,
	     const char *basedir, const char *plugin_dir, struct config **,
	     char **cause);
void	 config_free(struct config *);

/*
 * The two steps of a load apart. config_parse checks the text alone and
 * touches no file system: paths stay as written, dir is NULL. Its errors are
 * those of config_load_string, but for the ones resolution finds (socket
 * path too long, executable not found). config_resolve then resolves a
 * parsed config once, as config_load_string would with basedir and
 * plugin_dir; on error the config is only fit for config_free.
 */
int	 config_parse(const char *text, size_t len, const char *origin,
	     struct config **, char **cause);
int	 config_resolve(struct config *, const char *basedir,
	     const char *plugin_dir, char **cause);

/*
 * The control socket a config file names, absolute, resolved as the daemon
 * resolves it: the file is read and its top level and "socket" checked, the
 * rest of it is not looked at (its plugins' executables may be gone).
 */
int	 config_load_socket(const char *path, char **socket_path,
	     char **cause);

/* One plugin's config on its own: a deep copy, freed alone, compared. */
struct plugin_config *config_plugin_dup(const struct plugin_config *);
void	 config_plugin_free(struct plugin_config *);
int	 config_plugin_equal(const struct plugin_config *,
	     const struct plugin_config *);

/* Defaults, as documented in docs/config.md. */
void	 config_restart_defaults(struct restart_policy *);
void	 config_output_defaults(struct output_policy *);

const struct plugin_config *config_find_plugin(const struct config *, const char *);
/* 1 if a plugin name is valid: [a-z0-9][a-z0-9_-]{0,31}. */
int	 config_valid_name(const char *);
const char *config_platform(const struct plugin_config *);

/* Samples a metrics ring holds: ceil(history_duration / poll_interval). */
size_t	 config_history_capacity(const struct config *);
/* What kind of file a stat mode is, with its article: "a FIFO". */
const char *config_file_type(mode_t);
/* Names as written in the config: "on-failure", "connector". */
const char *config_autorestart_name(enum autorestart);
const char *config_role_name(enum plugin_role);
const char *config_reload_mode_name(enum reload_mode);
int	 config_plugin_watch_equal(const struct plugin_config *,
	     const struct plugin_config *);
/* Alert names as written in the config: "cpu.p95", ">=", "critical". */
const char *config_alert_metric_name(enum alert_metric);
const char *config_alert_op_name(enum alert_op);
const char *config_alert_severity_name(enum alert_severity);
int	 config_alert_rule_equal(const struct alert_rule_config *,
	     const struct alert_rule_config *);

#endif

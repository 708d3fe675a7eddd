/*
 * parse.c: check a config's text and fill struct config from it, touching
 * no file system (resolve.c does that afterwards).
 *
 * jansson parses the text; then one walk over the tree checks every key
 * against a table per object (unknown keys, types, ranges) and fills struct
 * config. The walk keeps the JSON path it is at, so an error names that path
 * and jsonpos finds its line and column in the raw text. Paths stay as
 * written: the socket and each exec[0] are resolved later, after the whole
 * shape is known good, so a typo is reported before a missing binary. Being
 * pure, this is what tests/fuzz/fuzz_config.c drives.
 *
 * The design suggests json_unpack_ex for validation, but its errors name
 * neither the path nor the allowed keys, and an operator needs both; a table
 * per object gives them and keeps every range in one place.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"
#include "config/config-private.h"
#include "config/jsonpos.h"

/* The daemon passes the plugin's socket descriptor in this variable. */
#define CONFIG_FD_ENV		"SUPERVISOR_FD"
#define CONFIG_DEFAULT_SOCKET	"run/supervisor.sock"
#define CONFIG_MAX_HISTORY	604800	/* s of metrics history: 7 days */
#define CONFIG_MAX_ARGS		64	/* exec elements */
#define CONFIG_MAX_ENV		256	/* env variables per plugin */
#define CONFIG_MAX_ADMINS	1024
#define CONFIG_ADMIN_MAX	256	/* bytes of one admin pattern */
#define CONFIG_PREFIX_MAX	8	/* characters of the command prefix */

enum config_type {
	CT_CUSTOM,	/* handled by code, listed for the unknown-key check */
	CT_NUMBER,	/* double */
	CT_INTEGER,	/* int */
	CT_SIZE,	/* size_t */
	CT_BOOL,	/* int, 0 or 1 */
	CT_ENUM,	/* int-sized enum, index into choices */
};

/* One key of an object: its type, where it is stored and its range. */
struct config_field {
	const char		*key;
	enum config_type	 type;
	size_t			 offset;
	double			 min;
	double			 max;
	const char *const	*choices;	/* CT_ENUM, NULL-terminated */
};

_Static_assert(sizeof(enum autorestart) == sizeof(int), "enum size");
_Static_assert(sizeof(enum unknown_command) == sizeof(int), "enum size");
_Static_assert(sizeof(enum plugin_role) == sizeof(int), "enum size");

static const char *const config_autorestart_names[] = {
	[AUTORESTART_ALWAYS] = "always",
	[AUTORESTART_ON_FAILURE] = "on-failure",
	[AUTORESTART_NEVER] = "never",
	NULL
};
static const char *const config_role_names[] = {
	[ROLE_PLUGIN] = "plugin",
	[ROLE_CONNECTOR] = "connector",
	NULL
};
_Static_assert(sizeof(enum reload_mode) == sizeof(int), "enum size");
static const char *const config_reload_mode_names[] = {
	[RELOAD_RESTART] = "restart",
	[RELOAD_UPGRADE] = "upgrade",
	NULL
};
static const char *const config_unknown_names[] = {
	[UNKNOWN_IGNORE] = "ignore",
	[UNKNOWN_REPLY] = "reply",
	NULL
};

#define CF(f)	offsetof(struct config, f)
#define RP(f)	offsetof(struct restart_policy, f)
#define PL(f)	offsetof(struct plugin_config, f)
#define LM(f)	offsetof(struct plugin_limits, f)
#define OP(f)	offsetof(struct output_policy, f)
#define LF(f)	offsetof(struct log_file_config, f)

static const struct config_field config_top_fields[] = {
	{ "socket", CT_CUSTOM, 0, 0, 0, NULL },
	{ "control", CT_CUSTOM, 0, 0, 0, NULL },
	{ "chat", CT_CUSTOM, 0, 0, 0, NULL },
	{ "metrics", CT_CUSTOM, 0, 0, 0, NULL },
	{ "state", CT_CUSTOM, 0, 0, 0, NULL },
	{ "restart", CT_CUSTOM, 0, 0, 0, NULL },
	{ "output", CT_CUSTOM, 0, 0, 0, NULL },
	{ "plugins", CT_CUSTOM, 0, 0, 0, NULL },
	{ "alerts", CT_CUSTOM, 0, 0, 0, NULL },
	{ "http", CT_CUSTOM, 0, 0, 0, NULL },
	{ "base_dir", CT_CUSTOM, 0, 0, 0, NULL },
	{ "sandbox", CT_CUSTOM, 0, 0, 0, NULL },
};

static const struct config_field config_state_fields[] = {
	{ "enabled", CT_BOOL, CF(state_enabled), 0, 0, NULL },
	{ "dir", CT_CUSTOM, 0, 0, 0, NULL },
	{ "save_interval", CT_NUMBER, CF(save_interval), 1, 86400, NULL },
};

#define RC(f)	offsetof(struct rollup_config, f)

static const struct config_field config_rollup_fields[] = {
	{ "resolution", CT_NUMBER, RC(resolution), 1, 86400 * 7, NULL },
	{ "duration", CT_NUMBER, RC(duration), 1, 86400 * 3660, NULL },
};

static const struct config_field config_control_fields[] = {
	{ "idle_timeout", CT_NUMBER, CF(control_idle_timeout), 0.1, 3600,
	    NULL },
};

#define HT(f)	offsetof(struct http_config, f)

static const struct config_field config_http_fields[] = {
	{ "listen", CT_CUSTOM, 0, 0, 0, NULL },
	{ "token", CT_CUSTOM, 0, 0, 0, NULL },
	{ "max_connections", CT_SIZE, HT(max_connections), 1, 10000, NULL },
	{ "max_events_clients", CT_SIZE, HT(max_events_clients), 1, 1024,
	    NULL },
	{ "idle_timeout", CT_NUMBER, HT(idle_timeout), 1, 3600, NULL },
};

static const struct config_field config_chat_fields[] = {
	{ "prefix", CT_CUSTOM, 0, 0, 0, NULL },
	{ "admins", CT_CUSTOM, 0, 0, 0, NULL },
	{ "unknown_command", CT_ENUM, CF(unknown_command), 0, 0,
	    config_unknown_names },
	{ "max_line", CT_SIZE, CF(max_line), 16, 2048, NULL },
	{ "admin_rate", CT_NUMBER, CF(admin_rate), 0, 3600, NULL },
};

static const struct config_field config_metrics_fields[] = {
	{ "enabled", CT_BOOL, CF(metrics_enabled), 0, 0, NULL },
	{ "poll_interval", CT_NUMBER, CF(poll_interval), 0.1, 3600, NULL },
	{ "history_duration", CT_NUMBER, CF(history_duration), 0.1,
	    CONFIG_MAX_HISTORY, NULL },
	{ "rollups", CT_CUSTOM, 0, 0, 0, NULL },
};

static const struct config_field config_restart_fields[] = {
	{ "first_delay", CT_NUMBER, RP(first_delay), 0, 86400, NULL },
	{ "initial_delay", CT_NUMBER, RP(initial_delay), 0, 86400, NULL },
	{ "multiplier", CT_NUMBER, RP(multiplier), 1, 10, NULL },
	{ "max_delay", CT_NUMBER, RP(max_delay), 0, 86400, NULL },
	{ "reset_after", CT_NUMBER, RP(reset_after), 0, 86400, NULL },
	{ "max_crashes", CT_INTEGER, RP(max_crashes), 1, 1000, NULL },
	{ "crash_window", CT_NUMBER, RP(crash_window), 1, 86400, NULL },
	{ "cooldown", CT_NUMBER, RP(cooldown), 0, 86400, NULL },
	{ "autorestart", CT_ENUM, RP(autorestart), 0, 0,
	    config_autorestart_names },
	{ "ready_timeout", CT_NUMBER, RP(ready_timeout), 0.1, 3600, NULL },
	{ "ping_interval", CT_NUMBER, RP(ping_interval), 0.1, 3600, NULL },
	{ "hang_timeout", CT_NUMBER, RP(hang_timeout), 0.1, 3600, NULL },
	{ "stop_timeout", CT_NUMBER, RP(stop_timeout), 0.1, 3600, NULL },
	{ "queue_size", CT_INTEGER, RP(queue_size), 0, 100000, NULL },
	{ "crash_history", CT_INTEGER, RP(crash_history), 1, 10000, NULL },
	{ "stderr_lines", CT_INTEGER, RP(stderr_lines), 0, 1000, NULL },
};

static const struct config_field config_plugin_fields[] = {
	{ "name", CT_CUSTOM, 0, 0, 0, NULL },
	{ "exec", CT_CUSTOM, 0, 0, 0, NULL },
	{ "role", CT_ENUM, PL(role), 0, 0, config_role_names },
	{ "env", CT_CUSTOM, 0, 0, 0, NULL },
	{ "config", CT_CUSTOM, 0, 0, 0, NULL },
	{ "autostart", CT_BOOL, PL(autostart), 0, 0, NULL },
	{ "terminal", CT_BOOL, PL(terminal), 0, 0, NULL },
	{ "platform", CT_CUSTOM, 0, 0, 0, NULL },
	{ "restart", CT_CUSTOM, 0, 0, 0, NULL },
	{ "limits", CT_CUSTOM, 0, 0, 0, NULL },
	{ "output", CT_CUSTOM, 0, 0, 0, NULL },
	{ "log_file", CT_CUSTOM, 0, 0, 0, NULL },
	{ "directory", CT_CUSTOM, 0, 0, 0, NULL },
	{ "user", CT_CUSTOM, 0, 0, 0, NULL },
	{ "group", CT_CUSTOM, 0, 0, 0, NULL },
	{ "umask", CT_CUSTOM, 0, 0, 0, NULL },
	{ "nice", CT_CUSTOM, 0, 0, 0, NULL },
	{ "reload", CT_ENUM, PL(reload), 0, 0, config_reload_mode_names },
	{ "watch", CT_CUSTOM, 0, 0, 0, NULL },
	{ "sandbox", CT_CUSTOM, 0, 0, 0, NULL },
};

static const struct config_field config_limits_fields[] = {
	{ "memory_mb", CT_NUMBER, LM(memory_mb), 0, 1048576, NULL },
	{ "violations", CT_INTEGER, LM(violations), 1, 1000, NULL },
	{ "cpu_percent", CT_NUMBER, LM(cpu_percent), 0, 102400, NULL },
	{ "cpu_seconds", CT_NUMBER, LM(cpu_seconds), 0, 86400, NULL },
};

/*
 * A burst of bytes holds at least one whole line of output (the daemon cuts
 * lines at 1024 bytes), or a long line could never pass.
 */
static const struct config_field config_output_fields[] = {
	{ "lines_per_second", CT_NUMBER, OP(lines_per_second), 0, 1000000,
	    NULL },
	{ "burst_lines", CT_INTEGER, OP(burst_lines), 1, 1000000, NULL },
	{ "bytes_per_second", CT_NUMBER, OP(bytes_per_second), 0, 1073741824,
	    NULL },
	{ "burst_bytes", CT_INTEGER, OP(burst_bytes), 4096, 1073741824, NULL },
	{ "summary_interval", CT_NUMBER, OP(summary_interval), 0.1, 3600, NULL },
};

static const struct config_field config_log_file_fields[] = {
	{ "path", CT_CUSTOM, 0, 0, 0, NULL },
	{ "max_bytes", CT_SIZE, LF(max_bytes), 4096, 1099511627776.0, NULL },
	{ "backups", CT_INTEGER, LF(backups), 0, 100, NULL },
};

#define SB(f)	offsetof(struct sandbox_config, f)

/* The global "sandbox": what every plugin starts from. */
static const struct config_field config_sandbox_global_fields[] = {
	{ "enabled", CT_BOOL, SB(enabled), 0, 0, NULL },
	{ "required", CT_BOOL, SB(required), 0, 0, NULL },
};

static const char *const config_sandbox_network_names[] = {
	"none", "connect", "any", NULL
};

/* A plugin's "sandbox"; network is read by hand (false is "none"). */
static const struct config_field config_sandbox_fields[] = {
	{ "enabled", CT_BOOL, SB(enabled), 0, 0, NULL },
	{ "required", CT_BOOL, SB(required), 0, 0, NULL },
	{ "read", CT_CUSTOM, 0, 0, 0, NULL },
	{ "write", CT_CUSTOM, 0, 0, 0, NULL },
	{ "network", CT_CUSTOM, 0, 0, 0, NULL },
	{ "syscalls", CT_CUSTOM, 0, 0, 0, NULL },
	{ "root", CT_BOOL, SB(root), 0, 0, NULL },
};

/*
 * What the seccomp filter denies (with EPERM) unless a plugin's
 * "syscalls" allows it: nothing a chat plugin needs. The filter itself is
 * built from this list in supervisor/sandbox.c; "syscalls" may only name
 * these (allowing anything else would be a no-op, so it is a typo).
 */
const char *const config_sandbox_denied[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"kexec_load", "kexec_file_load", "reboot",
	"init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "userfaultfd",
	"keyctl", "add_key", "request_key",
	"personality", "setns", "unshare",
	"swapon", "swapoff", "acct", "quotactl", "syslog",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"iopl", "ioperm", "open_by_handle_at", "name_to_handle_at",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"lookup_dcookie", "vhangup",
	NULL
};

/* alerts (docs/alerts.md). */
#define AL(f)	offsetof(struct alerts_config, f)
#define AR(f)	offsetof(struct alert_rule_config, f)

_Static_assert(sizeof(enum alert_metric) == sizeof(int), "enum size");
_Static_assert(sizeof(enum alert_op) == sizeof(int), "enum size");
_Static_assert(sizeof(enum alert_severity) == sizeof(int), "enum size");

static const char *const config_alert_metric_names[] = {
	[AM_CPU_AVG] = "cpu.avg",
	[AM_CPU_MIN] = "cpu.min",
	[AM_CPU_MAX] = "cpu.max",
	[AM_CPU_P95] = "cpu.p95",
	[AM_MEMORY_AVG] = "memory_mb.avg",
	[AM_MEMORY_MIN] = "memory_mb.min",
	[AM_MEMORY_MAX] = "memory_mb.max",
	[AM_MEMORY_P95] = "memory_mb.p95",
	[AM_EVENTS] = "events",
	[AM_EVENTS_PER_MIN] = "events_per_min",
	NULL
};
static const char *const config_alert_op_names[] = {
	[AO_GT] = ">",
	[AO_GE] = ">=",
	[AO_LT] = "<",
	[AO_LE] = "<=",
	NULL
};
static const char *const config_alert_severity_names[] = {
	[ALERT_INFO] = "info",
	[ALERT_WARNING] = "warning",
	[ALERT_CRITICAL] = "critical",
	NULL
};

/* Durations (repeat, collapse, window, for) are CT_CUSTOM: "5m" or 300. */
static const struct config_field config_alerts_fields[] = {
	{ "targets", CT_CUSTOM, 0, 0, 0, NULL },
	{ "repeat", CT_CUSTOM, 0, 0, 0, NULL },
	{ "collapse", CT_CUSTOM, 0, 0, 0, NULL },
	{ "rate", CT_NUMBER, AL(rate), 0, 1000, NULL },
	{ "burst", CT_INTEGER, AL(burst), 1, 1000, NULL },
	{ "queue", CT_INTEGER, AL(queue), 0, 10000, NULL },
	{ "lifecycle", CT_CUSTOM, 0, 0, 0, NULL },
	{ "rules", CT_CUSTOM, 0, 0, 0, NULL },
};

static const struct config_field config_alert_target_fields[] = {
	{ "connector", CT_CUSTOM, 0, 0, 0, NULL },
	{ "channel", CT_CUSTOM, 0, 0, 0, NULL },
};

/* The switches of alerts.lifecycle, booleans, and the bit of each. */
static const struct config_field config_alert_lifecycle_fields[] = {
	{ "crash", CT_CUSTOM, ALERT_ON_CRASH, 0, 0, NULL },
	{ "crash_loop", CT_CUSTOM, ALERT_ON_CRASH_LOOP, 0, 0, NULL },
	{ "memory_limit", CT_CUSTOM, ALERT_ON_MEMORY_LIMIT, 0, 0, NULL },
	{ "cpu_limit", CT_CUSTOM, ALERT_ON_CPU_LIMIT, 0, 0, NULL },
	{ "hung", CT_CUSTOM, ALERT_ON_HUNG, 0, 0, NULL },
	{ "ready", CT_CUSTOM, ALERT_ON_READY, 0, 0, NULL },
	{ "recovery", CT_CUSTOM, ALERT_ON_RECOVERY, 0, 0, NULL },
};

/* A rule's value is any finite number an operator would compare with. */
static const struct config_field config_alert_rule_fields[] = {
	{ "name", CT_CUSTOM, 0, 0, 0, NULL },
	{ "plugins", CT_CUSTOM, 0, 0, 0, NULL },
	{ "metric", CT_ENUM, AR(metric), 0, 0, config_alert_metric_names },
	{ "op", CT_ENUM, AR(op), 0, 0, config_alert_op_names },
	{ "value", CT_NUMBER, AR(value), -1e15, 1e15, NULL },
	{ "window", CT_CUSTOM, 0, 0, 0, NULL },
	{ "for", CT_CUSTOM, 0, 0, 0, NULL },
	{ "severity", CT_ENUM, AR(severity), 0, 0,
	    config_alert_severity_names },
};

void
config_output_defaults(struct output_policy *op)
{
	op->lines_per_second = 100;
	op->burst_lines = 200;
	op->bytes_per_second = 65536;
	op->burst_bytes = 131072;
	op->summary_interval = 10;
}

void
config_restart_defaults(struct restart_policy *rp)
{
	memset(rp, 0, sizeof *rp);
	rp->first_delay = 0;
	rp->initial_delay = 1;
	rp->multiplier = 2;
	rp->max_delay = 60;
	rp->reset_after = 60;
	rp->max_crashes = 5;
	rp->crash_window = 60;
	rp->cooldown = 300;
	rp->autorestart = AUTORESTART_ALWAYS;
	rp->ready_timeout = 5;
	rp->ping_interval = 5;
	rp->hang_timeout = 15;
	rp->stop_timeout = 3;
	rp->queue_size = 256;
	rp->crash_history = 64;
	rp->stderr_lines = 10;
}

/* Resource limit defaults: no limit, and how long one must be exceeded. */
static void
config_limits_defaults(struct plugin_limits *lm)
{
	lm->memory_mb = 0;
	lm->violations = 2;
	lm->cpu_percent = 0;
	lm->cpu_seconds = 30;
}

int
config_valid_name(const char *name)
{
	size_t	i;
	char	c;

	if (name == NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= CONFIG_NAME_MAX)
			return 0;
		c = name[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '_' || c == '-'))
			continue;
		return 0;
	}
	return i > 0;
}

/*
 * names[v] of a NULL-terminated table of n names, or unknown for a value
 * past it: the one bounds check of every enum-to-name accessor below.
 */
static const char *
config_enum_name(const char *const *names, size_t n, unsigned int v,
    const char *unknown)
{
	return v < n && names[v] != NULL ? names[v] : unknown;
}
#define CONFIG_ENUM_NAME(names, v, unknown) \
	config_enum_name(names, nitems(names) - 1, (unsigned int)(v), unknown)

const char *
config_autorestart_name(enum autorestart ar)
{
	return CONFIG_ENUM_NAME(config_autorestart_names, ar, "unknown");
}

const char *
config_reload_mode_name(enum reload_mode m)
{
	return CONFIG_ENUM_NAME(config_reload_mode_names, m, "unknown");
}

const char *
config_role_name(enum plugin_role role)
{
	return CONFIG_ENUM_NAME(config_role_names, role, "unknown");
}

const char *
config_alert_metric_name(enum alert_metric m)
{
	return CONFIG_ENUM_NAME(config_alert_metric_names, m, "unknown");
}

const char *
config_alert_op_name(enum alert_op op)
{
	return CONFIG_ENUM_NAME(config_alert_op_names, op, "?");
}

const char *
config_alert_severity_name(enum alert_severity sev)
{
	return CONFIG_ENUM_NAME(config_alert_severity_names, sev, "unknown");
}

/*
 * Samples one ring holds: enough to cover history_duration. The epsilon keeps
 * 3600 / 5 at 720 when floating point lands a hair above it.
 */
size_t
config_history_capacity(const struct config *cf)
{
	double	n;

	if (cf->poll_interval <= 0)
		return 1;
	n = ceil(cf->history_duration / cf->poll_interval - 1e-9);
	return n < 1 ? 1 : (size_t)n;
}

/* Append formatted text to buf at *off, truncating at its end. */
void
config_append(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*off += (size_t)n;
	if (*off >= size)
		*off = size - 1;
}

/*
 * Quote a user's string for an error line: JSON escapes for quotes,
 * backslashes and control characters (so the error stays one line), cut
 * after CONFIG_QUOTE_CHARS characters, never inside a UTF-8 sequence.
 */
void
config_quote(const char *s, char *buf, size_t size)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 off = 0, chars = 0, n;

	config_append(buf, size, &off, "\"");
	while (*p != '\0') {
		if (chars++ == CONFIG_QUOTE_CHARS) {
			config_append(buf, size, &off, "...");
			break;
		}
		if (*p == '"' || *p == '\\')
			config_append(buf, size, &off, "\\%c", *p++);
		else if (*p < 0x20 || *p == 0x7f)
			config_append(buf, size, &off, "\\u%04x", *p++);
		else {
			n = 1;
			while (p[n] != '\0' && (p[n] & 0xc0) == 0x80)
				n++;
			config_append(buf, size, &off, "%.*s", (int)n,
			    (const char *)p);
			p += n;
		}
	}
	config_append(buf, size, &off, "\"");
}

/* Format a number the way an operator wrote it: 0.1, 86400, 2.5. */
static void
config_format_number(double d, char *buf, size_t size)
{
	snprintf(buf, size, "%.15g", d);
}

/* Describe a value for "got ...": the value itself, or its kind. */
static void
config_describe(const json_t *v, char *buf, size_t size)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		strlcpy_(buf, json_object_size(v) == 0 ? "an empty object" :
		    "an object", size);
		break;
	case JSON_ARRAY:
		strlcpy_(buf, json_array_size(v) == 0 ? "an empty array" :
		    "an array", size);
		break;
	case JSON_STRING:
		config_quote(json_string_value(v), buf, size);
		break;
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		/* Keep the point, so 2.0 does not read as the integer 2. */
		config_format_number(json_real_value(v), buf, size);
		if (strpbrk(buf, ".eEn") == NULL && strlen(buf) + 3 <= size)
			strcat(buf, ".0");
		break;
	case JSON_TRUE:
		strlcpy_(buf, "true", size);
		break;
	case JSON_FALSE:
		strlcpy_(buf, "false", size);
		break;
	case JSON_NULL:
		strlcpy_(buf, "null", size);
		break;
	}
}

/* A key that reads plainly after a dot in a path. */
static int
config_plain_key(const char *key)
{
	size_t	i;
	char	c;

	for (i = 0; key[i] != '\0'; i++) {
		c = key[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (i > 0 && ((c >= '0' && c <= '9') || c == '-')))
			continue;
		return 0;
	}
	return i > 0 && i <= 64;
}

/* The current path as text: plugins[2].restart.max_delay. */
static void
config_path_string(const struct config_ctx *ctx, size_t depth, char *buf,
    size_t size)
{
	char	quoted[CONFIG_QUOTE_SIZE];
	size_t	i, off = 0;

	buf[0] = '\0';
	if (depth == 0) {
		strlcpy_(buf, "(top level)", size);
		return;
	}
	for (i = 0; i < depth; i++) {
		if (ctx->path[i].key == NULL)
			config_append(buf, size, &off, "[%zu]",
			    ctx->path[i].index);
		else if (config_plain_key(ctx->path[i].key))
			config_append(buf, size, &off, "%s%s", i > 0 ? "." : "",
			    ctx->path[i].key);
		else {
			config_quote(ctx->path[i].key, quoted, sizeof quoted);
			config_append(buf, size, &off, "[%s]", quoted);
		}
	}
}

/*
 * Record the one error of this load: "FILE:LINE:COL: PATH: message". The
 * path is always the current one; where says which text the position is
 * of (AT_PARENT for a missing key: the object that lacks it). Returns -1.
 */
int
config_error(struct config_ctx *ctx, enum config_where where, const char *fmt,
    ...)
{
	struct jsonpos	 pos;
	char		 path[2048], *msg;
	va_list		 ap;
	size_t		 depth = ctx->depth;

	if (ctx->cause != NULL)
		return -1;
	if (where == AT_PARENT && depth > 0)
		depth--;
	jsonpos_find(ctx->text, ctx->len, ctx->path, depth,
	    where == AT_KEY && depth > 0 && ctx->path[depth - 1].key != NULL,
	    &pos);
	config_path_string(ctx, ctx->depth, path, sizeof path);
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	xasprintf(&ctx->cause, "%s:%zu:%zu: %s: %s", ctx->origin, pos.line,
	    pos.column, path, msg);
	free(msg);
	return -1;
}

/* Step into an object's key. */
void
config_push_key(struct config_ctx *ctx, const char *key)
{
	if (ctx->depth == CONFIG_PATH_DEPTH)
		fatalx("%s: path too deep", __func__);
	ctx->path[ctx->depth].key = key;
	ctx->path[ctx->depth].index = 0;
	ctx->depth++;
}

/* Step into an array's element. */
void
config_push_index(struct config_ctx *ctx, size_t index)
{
	if (ctx->depth == CONFIG_PATH_DEPTH)
		fatalx("%s: path too deep", __func__);
	ctx->path[ctx->depth].key = NULL;
	ctx->path[ctx->depth].index = index;
	ctx->depth++;
}

/* Step back out. */
void
config_pop(struct config_ctx *ctx)
{
	if (ctx->depth == 0)
		fatalx("%s: path empty", __func__);
	ctx->depth--;
}

/* Error for a value of the wrong kind: "must be WHAT, got VALUE". */
static int
config_wrong(struct config_ctx *ctx, const json_t *v, const char *what)
{
	char	got[CONFIG_QUOTE_SIZE];

	config_describe(v, got, sizeof got);
	return config_error(ctx, AT_VALUE, "must be %s, got %s", what, got);
}

/* Require the value at the current path to be an object. */
static int
config_want_object(struct config_ctx *ctx, const json_t *v)
{
	if (!json_is_object(v))
		return config_wrong(ctx, v, "an object");
	return 0;
}

/* Refuse any key of obj that is not in the table. */
static int
config_check_keys(struct config_ctx *ctx, json_t *obj,
    const struct config_field *fields, size_t nfields)
{
	const char	*key;
	json_t		*v;
	char		 list[512];
	size_t		 i, off;

	json_object_foreach(obj, key, v) {
		for (i = 0; i < nfields; i++) {
			if (strcmp(key, fields[i].key) == 0)
				break;
		}
		if (i != nfields)
			continue;
		off = 0;
		list[0] = '\0';
		for (i = 0; i < nfields; i++)
			config_append(list, sizeof list, &off, "%s%s",
			    i > 0 ? ", " : "", fields[i].key);
		config_push_key(ctx, key);
		config_error(ctx, AT_KEY, "unknown key (expected one of: %s)",
		    list);
		config_pop(ctx);
		return -1;
	}
	return 0;
}

/* Read one scalar field of the table into base, checking type and range. */
static int
config_read_field(struct config_ctx *ctx, const json_t *v,
    const struct config_field *f, void *base)
{
	char		 lo[32], hi[32], list[256], what[320];
	void		*dst = (char *)base + f->offset;
	double		 d;
	json_int_t	 n;
	size_t		 i, off;

	config_format_number(f->min, lo, sizeof lo);
	config_format_number(f->max, hi, sizeof hi);
	switch (f->type) {
	case CT_CUSTOM:
		fatalx("%s: custom field %s", __func__, f->key);
	case CT_NUMBER:
		if (!json_is_number(v) ||
		    (d = json_number_value(v)) < f->min || d > f->max) {
			snprintf(what, sizeof what,
			    "a number between %s and %s", lo, hi);
			return config_wrong(ctx, v, what);
		}
		*(double *)dst = d;
		break;
	case CT_INTEGER:
	case CT_SIZE:
		if (!json_is_integer(v) ||
		    (n = json_integer_value(v)) < f->min || n > f->max) {
			snprintf(what, sizeof what,
			    "an integer between %s and %s", lo, hi);
			return config_wrong(ctx, v, what);
		}
		if (f->type == CT_INTEGER)
			*(int *)dst = (int)n;
		else
			*(size_t *)dst = (size_t)n;
		break;
	case CT_BOOL:
		if (!json_is_boolean(v))
			return config_wrong(ctx, v, "true or false");
		*(int *)dst = json_is_true(v);
		break;
	case CT_ENUM:
		for (i = 0; json_is_string(v) && f->choices[i] != NULL; i++) {
			if (strcmp(json_string_value(v), f->choices[i]) == 0) {
				*(int *)dst = (int)i;
				return 0;
			}
		}
		off = 0;
		list[0] = '\0';
		for (i = 0; f->choices[i] != NULL; i++)
			config_append(list, sizeof list, &off, "%s\"%s\"",
			    i > 0 ? ", " : "", f->choices[i]);
		snprintf(what, sizeof what, "one of %s", list);
		return config_wrong(ctx, v, what);
	}
	return 0;
}

/* Check an object's keys, then read every scalar field present into base. */
static int
config_read_fields(struct config_ctx *ctx, json_t *obj,
    const struct config_field *fields, size_t nfields, void *base)
{
	json_t	*v;
	size_t	 i;
	int	 rc;

	if (config_check_keys(ctx, obj, fields, nfields) == -1)
		return -1;
	for (i = 0; i < nfields; i++) {
		if (fields[i].type == CT_CUSTOM)
			continue;
		if ((v = json_object_get(obj, fields[i].key)) == NULL)
			continue;
		config_push_key(ctx, fields[i].key);
		rc = config_read_field(ctx, v, &fields[i], base);
		config_pop(ctx);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Count UTF-8 characters. */
static size_t
config_utf8_length(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* 1 if s has a control character (or, with no_space, any space). */
static int
config_has_control(const char *s, int no_space)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
		if (no_space && *s == ' ')
			return 1;
	}
	return 0;
}

/*
 * "socket": the control socket path, kept as written; resolve.c makes it
 * absolute and checks that it fits a socket address.
 */
static int
config_parse_socket(struct config_ctx *ctx, json_t *root)
{
	json_t		*v;
	const char	*s = CONFIG_DEFAULT_SOCKET;

	if ((v = json_object_get(root, "socket")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    config_has_control(json_string_value(v), 0)) {
			config_push_key(ctx, "socket");
			config_wrong(ctx, v, "a non-empty path without control "
			    "characters");
			config_pop(ctx);
			return -1;
		}
		s = json_string_value(v);
		ctx->cf->source->socket_given = 1;
	}
	ctx->cf->socket_path = xstrdup(s);
	/* Read with the socket: supervisorctl -c resolves it alike. */
	if ((v = json_object_get(root, "base_dir")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    config_has_control(json_string_value(v), 0)) {
			config_push_key(ctx, "base_dir");
			config_wrong(ctx, v, "a non-empty path without control "
			    "characters");
			config_pop(ctx);
			return -1;
		}
		ctx->cf->source->base_dir = xstrdup(json_string_value(v));
	}
	return 0;
}

/* "control": limits of the control socket's clients. */
static int
config_parse_control(struct config_ctx *ctx, json_t *obj)
{
	if (config_want_object(ctx, obj) == -1)
		return -1;
	return config_read_fields(ctx, obj, config_control_fields,
	    nitems(config_control_fields), ctx->cf);
}

/*
 * "http": the HTTP endpoint. listen is required; a listener that is not
 * loopback needs a token (every request must then carry it), refused here
 * otherwise, at the listen key.
 */
static int
config_parse_http(struct config_ctx *ctx, json_t *obj)
{
	struct http_config	*h = &ctx->cf->http;
	json_t			*v;
	const char		*s;
	char			 why[160], what[400];
	size_t			 i, n;

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_http_fields,
	    nitems(config_http_fields), h) == -1)
		return -1;
	if ((v = json_object_get(obj, "token")) != NULL) {
		config_push_key(ctx, "token");
		s = json_is_string(v) ? json_string_value(v) : "";
		n = strlen(s);
		for (i = 0; i < n; i++) {
			/* What a header may carry unquoted: visible ASCII. */
			if (s[i] <= 0x20 || s[i] >= 0x7f)
				break;
		}
		if (!json_is_string(v) || n < CONFIG_HTTP_TOKEN_MIN ||
		    n > CONFIG_HTTP_TOKEN_MAX || i != n) {
			snprintf(what, sizeof what, "a string of %d to %d "
			    "visible ASCII characters (no spaces)",
			    CONFIG_HTTP_TOKEN_MIN, CONFIG_HTTP_TOKEN_MAX);
			config_wrong(ctx, v, what);
			config_pop(ctx);
			return -1;
		}
		h->token = xstrdup(s);
		config_pop(ctx);
	}
	if ((v = json_object_get(obj, "listen")) == NULL)
		return config_error(ctx, AT_VALUE, "listen is required: "
		    "\"ADDRESS:PORT\", e.g. \"127.0.0.1:8421\"");
	config_push_key(ctx, "listen");
	if (!json_is_string(v) || config_parse_listen(json_string_value(v), h,
	    why, sizeof why) == -1) {
		snprintf(what, sizeof what, "\"ADDRESS:PORT\" with a numeric "
		    "IPv4 address or a [bracketed] IPv6 one and a port from 1 "
		    "to 65535%s%s", json_is_string(v) ? ": " : "",
		    json_is_string(v) ? why : "");
		config_wrong(ctx, v, what);
		config_pop(ctx);
		return -1;
	}
	if (!h->loopback && h->token == NULL) {
		config_error(ctx, AT_VALUE, "%s is not a loopback address: "
		    "listening there needs a \"token\" (every request must "
		    "then send Authorization: Bearer TOKEN)", h->host);
		config_pop(ctx);
		return -1;
	}
	config_pop(ctx);
	h->enabled = 1;
	return 0;
}

/* "chat.prefix": 1 to 8 characters, no spaces. */
static int
config_parse_prefix(struct config_ctx *ctx, json_t *v)
{
	const char	*s;
	size_t		 n;

	if (!json_is_string(v))
		return config_wrong(ctx, v, "a string of 1 to 8 characters "
		    "without spaces");
	s = json_string_value(v);
	n = config_utf8_length(s);
	if (n < 1 || n > CONFIG_PREFIX_MAX || config_has_control(s, 1))
		return config_wrong(ctx, v, "a string of 1 to 8 characters "
		    "without spaces");
	free(ctx->cf->prefix);
	ctx->cf->prefix = xstrdup(s);
	return 0;
}

/* "chat.admins": identity patterns allowed to run admin commands. */
static int
config_parse_admins(struct config_ctx *ctx, json_t *v)
{
	struct config	*cf = ctx->cf;
	json_t		*item;
	const char	*s;
	size_t		 i, n;
	char		 what[128];

	if (!json_is_array(v))
		return config_wrong(ctx, v, "an array of strings");
	if ((n = json_array_size(v)) > CONFIG_MAX_ADMINS)
		return config_error(ctx, AT_VALUE, "at most %d admins, got %zu",
		    CONFIG_MAX_ADMINS, n);
	config_free_vector(cf->admins);
	cf->admins = xcalloc(n + 1, sizeof *cf->admins);
	cf->nadmins = 0;
	json_array_foreach(v, i, item) {
		config_push_index(ctx, i);
		if (!json_is_string(item) || (s = json_string_value(item))[0] ==
		    '\0' || strlen(s) > CONFIG_ADMIN_MAX ||
		    config_has_control(s, 0)) {
			snprintf(what, sizeof what, "a non-empty string of at "
			    "most %d bytes without control characters",
			    CONFIG_ADMIN_MAX);
			config_wrong(ctx, item, what);
			config_pop(ctx);
			return -1;
		}
		cf->admins[cf->nadmins++] = xstrdup(s);
		config_pop(ctx);
	}
	return 0;
}

/* "chat": command prefix, admins, chat limits. */
static int
config_parse_chat(struct config_ctx *ctx, json_t *obj)
{
	json_t	*v;
	int	 rc;

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_chat_fields,
	    nitems(config_chat_fields), ctx->cf) == -1)
		return -1;
	if ((v = json_object_get(obj, "prefix")) != NULL) {
		config_push_key(ctx, "prefix");
		rc = config_parse_prefix(ctx, v);
		config_pop(ctx);
		if (rc == -1)
			return -1;
	}
	if ((v = json_object_get(obj, "admins")) != NULL) {
		config_push_key(ctx, "admins");
		rc = config_parse_admins(ctx, v);
		config_pop(ctx);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * "metrics": sampling. The ring per plugin holds history_duration /
 * poll_interval samples and is allocated for every plugin up front, so the
 * ratio is bounded.
 */
static int	config_parse_rollups(struct config_ctx *, json_t *);
static void	config_fit_default_rollups(struct config *);

static int
config_parse_metrics(struct config_ctx *ctx, json_t *obj)
{
	struct config	*cf = ctx->cf;
	const char	*blame;
	char		 p[32], h[32];
	size_t		 cap;
	json_t		*v;
	int		 rc;

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_metrics_fields,
	    nitems(config_metrics_fields), cf) == -1)
		return -1;
	blame = json_object_get(obj, "history_duration") != NULL ?
	    "history_duration" : "poll_interval";
	config_format_number(cf->poll_interval, p, sizeof p);
	config_format_number(cf->history_duration, h, sizeof h);
	if (cf->history_duration < cf->poll_interval) {
		config_push_key(ctx, blame);
		config_error(ctx, AT_VALUE, "history_duration (%s) must be at "
		    "least poll_interval (%s)", h, p);
		config_pop(ctx);
		return -1;
	}
	cap = config_history_capacity(cf);
	if (cap > CONFIG_MAX_SAMPLES) {
		config_push_key(ctx, blame);
		config_error(ctx, AT_VALUE, "history_duration / poll_interval "
		    "(%s / %s) gives %zu samples per plugin, more than %d",
		    h, p, cap, CONFIG_MAX_SAMPLES);
		config_pop(ctx);
		return -1;
	}
	if ((v = json_object_get(obj, "rollups")) != NULL) {
		config_push_key(ctx, "rollups");
		rc = config_parse_rollups(ctx, v);
		config_pop(ctx);
		if (rc == -1)
			return -1;
	} else
		config_fit_default_rollups(cf);
	return 0;
}

/* Whether x is a whole multiple of unit (both whole seconds here). */
static int
config_multiple(double x, double unit)
{
	double	q = x / unit;

	return q >= 1 && q - (double)(long long)(q + 0.5) < 1e-9 &&
	    (double)(long long)(q + 0.5) - q < 1e-9;
}

/*
 * One rollup tier, index i, checked against the raw ring and the tier before
 * it: each bucket must be made of whole buckets (or raw samples) of the tier
 * below, that tier must keep at least one bucket's worth, and a bucket counts
 * at most 65535 samples.
 */
static int
config_rollup_problem(const struct config *cf, size_t i, const char **keyp,
    char *msg, size_t msgsize)
{
	const struct rollup_config *r = &cf->rollups[i], *prev = NULL;
	char			 a[32], b[32], c[32], d[32];
	const char		*key = "resolution";

	config_format_number(r->resolution, a, sizeof a);
	config_format_number(r->duration, b, sizeof b);
	config_format_number(cf->poll_interval, c, sizeof c);
	config_format_number(cf->history_duration, d, sizeof d);
	msg[0] = '\0';
	if (i > 0)
		prev = &cf->rollups[i - 1];
	if (r->resolution != (double)(long long)r->resolution)
		snprintf(msg, msgsize, "must be a whole number of seconds, "
		    "got %s", a);
	else if (prev == NULL && r->resolution < cf->poll_interval)
		snprintf(msg, msgsize, "%s is shorter than "
		    "metrics.poll_interval (%s)", a, c);
	else if (prev == NULL && r->resolution > cf->history_duration)
		snprintf(msg, msgsize, "%s is longer than "
		    "metrics.history_duration (%s): its buckets are made from "
		    "the raw samples", a, d);
	else if (prev != NULL && (!(r->resolution > prev->resolution) ||
	    !config_multiple(r->resolution, prev->resolution))) {
		config_format_number(prev->resolution, c, sizeof c);
		snprintf(msg, msgsize, "%s is not a larger multiple of the "
		    "previous tier's resolution (%s)", a, c);
	} else if (prev != NULL && r->resolution > prev->duration) {
		config_format_number(prev->duration, c, sizeof c);
		snprintf(msg, msgsize, "%s is longer than the previous "
		    "tier's duration (%s), which must hold one bucket's worth",
		    a, c);
	} else if (r->resolution / cf->poll_interval >
	    CONFIG_MAX_BUCKET_SAMPLES + 1e-9)
		snprintf(msg, msgsize, "%s holds more than %d samples of "
		    "metrics.poll_interval (%s)", a, CONFIG_MAX_BUCKET_SAMPLES,
		    c);
	if (msg[0] == '\0') {
		key = "duration";
		if (!config_multiple(r->duration, r->resolution))
			snprintf(msg, msgsize, "%s is not a whole number of "
			    "resolutions (%s)", b, a);
		else if (prev == NULL && r->duration <= cf->history_duration)
			snprintf(msg, msgsize, "%s must be longer than "
			    "metrics.history_duration (%s)", b, d);
		else if (prev != NULL && r->duration <= prev->duration) {
			config_format_number(prev->duration, c, sizeof c);
			snprintf(msg, msgsize, "%s must be longer than the "
			    "previous tier's duration (%s)", b, c);
		}
	}
	*keyp = key;
	return msg[0] == '\0' ? 0 : -1;
}

/* One rollup tier of the config, as written: an error if it does not fit. */
static int
config_check_rollup(struct config_ctx *ctx, size_t i)
{
	const char	*key;
	char		 msg[256];

	if (config_rollup_problem(ctx->cf, i, &key, msg, sizeof msg) == 0)
		return 0;
	config_push_key(ctx, key);
	config_error(ctx, AT_VALUE, "%s", msg);
	config_pop(ctx);
	return -1;
}

/*
 * The default tiers, when the config names none, less those that do not
 * fit its raw ring (a history_duration of a day or more makes the minute
 * tier pointless; one under a minute leaves no raw samples to build from).
 */
static void
config_fit_default_rollups(struct config *cf)
{
	const char	*key;
	char		 msg[256];
	size_t		 i, n = 0;

	for (i = 0; i < cf->nrollups; i++) {
		cf->rollups[n] = cf->rollups[i];
		if (config_rollup_problem(cf, n, &key, msg, sizeof msg) == 0)
			n++;
	}
	cf->nrollups = n;
}

/* "metrics.rollups": the tiers behind the raw ring, finest first. */
static int
config_parse_rollups(struct config_ctx *ctx, json_t *v)
{
	struct config	*cf = ctx->cf;
	json_t		*item;
	size_t		 i, n, buckets = 0;
	int		 rc;

	if (!json_is_array(v))
		return config_wrong(ctx, v, "an array of {\"resolution\": S, "
		    "\"duration\": S} objects, finest first");
	if ((n = json_array_size(v)) > CONFIG_MAX_ROLLUPS)
		return config_error(ctx, AT_VALUE, "at most %d tiers, got %zu",
		    CONFIG_MAX_ROLLUPS, n);
	cf->nrollups = 0;
	json_array_foreach(v, i, item) {
		config_push_index(ctx, i);
		memset(&cf->rollups[i], 0, sizeof cf->rollups[i]);
		rc = config_want_object(ctx, item);
		if (rc == 0) {
			if (json_object_get(item, "resolution") == NULL ||
			    json_object_get(item, "duration") == NULL)
				rc = config_error(ctx, AT_VALUE, "needs both "
				    "\"resolution\" and \"duration\"");
		}
		if (rc == 0)
			rc = config_read_fields(ctx, item,
			    config_rollup_fields, nitems(config_rollup_fields),
			    &cf->rollups[i]);
		if (rc == 0)
			rc = config_check_rollup(ctx, i);
		if (rc == 0) {
			buckets += (size_t)(cf->rollups[i].duration /
			    cf->rollups[i].resolution + 0.5);
			if (buckets > CONFIG_MAX_BUCKETS)
				rc = config_error(ctx, AT_VALUE, "the tiers "
				    "keep %zu buckets per plugin, more than %d",
				    buckets, CONFIG_MAX_BUCKETS);
		}
		config_pop(ctx);
		if (rc == -1)
			return -1;
	}
	cf->nrollups = n;
	return 0;
}

/*
 * "state": where history is saved across restarts. The directory is kept as
 * written; resolve.c makes it absolute like the socket.
 */
static int
config_parse_state(struct config_ctx *ctx, json_t *obj)
{
	json_t		*v;
	const char	*s;

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_state_fields,
	    nitems(config_state_fields), ctx->cf) == -1)
		return -1;
	if ((v = json_object_get(obj, "dir")) != NULL) {
		config_push_key(ctx, "dir");
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    config_has_control(s = json_string_value(v), 0)) {
			config_wrong(ctx, v, "a non-empty path without control "
			    "characters");
			config_pop(ctx);
			return -1;
		}
		config_pop(ctx);
		free(ctx->cf->state_dir);
		ctx->cf->state_dir = xstrdup(s);
	}
	return 0;
}

/*
 * "restart", global or per plugin: fields over what rp holds already (the
 * defaults, or the global policy for a plugin), then the cross checks.
 */
static int
config_parse_restart(struct config_ctx *ctx, json_t *obj,
    struct restart_policy *rp)
{
	char	a[32], b[32];

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_restart_fields,
	    nitems(config_restart_fields), rp) == -1)
		return -1;
	if (rp->max_delay < rp->initial_delay) {
		config_format_number(rp->initial_delay, a, sizeof a);
		config_format_number(rp->max_delay, b, sizeof b);
		if (json_object_get(obj, "max_delay") != NULL ||
		    json_object_get(obj, "initial_delay") == NULL) {
			config_push_key(ctx, "max_delay");
			config_error(ctx, json_object_get(obj, "max_delay") ?
			    AT_VALUE : AT_PARENT, "must be at least "
			    "initial_delay (%s), got %s", a, b);
		} else {
			config_push_key(ctx, "initial_delay");
			config_error(ctx, AT_VALUE, "must be at most max_delay "
			    "(%s), got %s", b, a);
		}
		config_pop(ctx);
		return -1;
	}
	return 0;
}

/* "limits" of one plugin. */
static int
config_parse_limits(struct config_ctx *ctx, json_t *obj,
    struct plugin_limits *lm)
{
	if (config_want_object(ctx, obj) == -1)
		return -1;
	return config_read_fields(ctx, obj, config_limits_fields,
	    nitems(config_limits_fields), lm);
}

/* "output", global or per plugin: over what op holds already. */
static int
config_parse_output(struct config_ctx *ctx, json_t *obj,
    struct output_policy *op)
{
	if (config_want_object(ctx, obj) == -1)
		return -1;
	return config_read_fields(ctx, obj, config_output_fields,
	    nitems(config_output_fields), op);
}

/*
 * "log_file" of one plugin: a path (kept as written; resolve.c makes it
 * absolute), when to rotate, how many old files to keep.
 */
static int
config_parse_log_file(struct config_ctx *ctx, json_t *obj,
    struct log_file_config *lf)
{
	json_t		*v;
	const char	*s;
	size_t		 len;

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_log_file_fields,
	    nitems(config_log_file_fields), lf) == -1)
		return -1;
	config_push_key(ctx, "path");
	if ((v = json_object_get(obj, "path")) == NULL) {
		config_error(ctx, AT_PARENT, "missing required key");
		config_pop(ctx);
		return -1;
	}
	if (!json_is_string(v) || (len = json_string_length(v)) == 0 ||
	    config_has_control(s = json_string_value(v), 0) ||
	    s[len - 1] == '/') {
		config_wrong(ctx, v, "a path to a file, without control "
		    "characters");
		config_pop(ctx);
		return -1;
	}
	config_pop(ctx);
	free(lf->path);
	lf->path = xstrdup(s);
	return 0;
}

/* "name" of plugin number idx: valid and not taken by an earlier one. */
static int
config_parse_name(struct config_ctx *ctx, json_t *v, size_t idx)
{
	struct config	*cf = ctx->cf;
	const char	*s;
	char		 quoted[CONFIG_QUOTE_SIZE];
	size_t		 i;

	if (!json_is_string(v))
		return config_wrong(ctx, v, "a string");
	s = json_string_value(v);
	config_quote(s, quoted, sizeof quoted);
	if (!config_valid_name(s))
		return config_error(ctx, AT_VALUE, "invalid plugin name %s: "
		    "use 1 to %d of a-z, 0-9, '_' and '-', starting with a "
		    "letter or digit", quoted, CONFIG_NAME_MAX);
	/* supervisorctl restart all means every plugin. */
	if (strcmp(s, "all") == 0)
		return config_error(ctx, AT_VALUE, "plugin name \"all\" is "
		    "reserved: start, stop and restart take it for every "
		    "plugin");
	for (i = 0; i < idx; i++) {
		if (strcmp(cf->plugins[i].name, s) == 0)
			return config_error(ctx, AT_VALUE, "duplicate plugin "
			    "name %s (first at plugins[%zu])", quoted, i);
	}
	cf->plugins[idx].name = xstrdup(s);
	return 0;
}

/* The platform of a connector's chat lines: its own, or its name. */
const char *
config_platform(const struct plugin_config *p)
{
	return p->platform != NULL ? p->platform : p->name;
}

/*
 * "platform": a connector's only. It fixes the platform of every chat line
 * the connector sends, so identities ("platform:user", what chat.admins
 * matches) belong to the connector that saw the user: the same rule as a
 * plugin name, so no ':' can make an identity ambiguous.
 */
static int
config_parse_platform(struct config_ctx *ctx, json_t *v,
    struct plugin_config *p)
{
	const char	*s;
	char		 quoted[CONFIG_QUOTE_SIZE];

	if (!json_is_string(v))
		return config_wrong(ctx, v, "a string");
	s = json_string_value(v);
	config_quote(s, quoted, sizeof quoted);
	if (!config_valid_name(s))
		return config_error(ctx, AT_VALUE, "invalid platform %s: use 1 "
		    "to %d of a-z, 0-9, '_' and '-', starting with a letter or "
		    "digit", quoted, CONFIG_NAME_MAX);
	if (p->role != ROLE_CONNECTOR)
		return config_error(ctx, AT_KEY, "only a connector has a "
		    "platform (this plugin's role is \"%s\")",
		    config_role_name(p->role));
	p->platform = xstrdup(s);
	return 0;
}

/* Longest user or group name taken: useradd's limit is 32. */
#define CONFIG_ACCOUNT_MAX	64

/* "directory": where the plugin runs; resolve.c checks that it is one. */
static int
config_parse_directory(struct config_ctx *ctx, json_t *v,
    struct plugin_config *p)
{
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= 4096 ||
	    config_has_control(json_string_value(v), 0))
		return config_wrong(ctx, v, "a non-empty path without control "
		    "characters, shorter than 4096 bytes");
	p->identity.directory = xstrdup(json_string_value(v));
	return 0;
}

/* "user" or "group": a name, or a number; resolve.c looks it up. */
static int
config_parse_account(struct config_ctx *ctx, json_t *v, char **dst)
{
	const char	*s;
	size_t		 i;

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > CONFIG_ACCOUNT_MAX)
		return config_wrong(ctx, v, "a name or number of 1 to 64 "
		    "characters");
	s = json_string_value(v);
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == ':' || s[i] == '/' ||
		    (unsigned char)s[i] == 0x7f)
			return config_wrong(ctx, v, "a name without spaces, "
			    "control characters, ':' or '/'");
	}
	*dst = xstrdup(s);
	return 0;
}

/* "umask": octal digits as a string, as umask(1) takes them ("022"). */
static int
config_parse_umask(struct config_ctx *ctx, json_t *v, struct plugin_config *p)
{
	const char	*s;
	size_t		 i;
	int		 m = 0;

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 4)
		return config_wrong(ctx, v, "octal digits as a string, like "
		    "\"022\"");
	s = json_string_value(v);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '7')
			return config_wrong(ctx, v, "octal digits as a string, "
			    "like \"022\"");
		m = m * 8 + (s[i] - '0');
	}
	if (m > 0777)
		return config_wrong(ctx, v, "at most \"777\"");
	p->identity.umask = m;
	return 0;
}

/* "nice": the plugin's scheduling priority, as nice(1) sets it. */
static int
config_parse_nice(struct config_ctx *ctx, json_t *v, struct plugin_config *p)
{
	if (!json_is_integer(v) || json_integer_value(v) < -20 ||
	    json_integer_value(v) > 19)
		return config_wrong(ctx, v, "an integer between -20 and 19");
	p->identity.nice = (int)json_integer_value(v);
	p->identity.set_nice = 1;
	return 0;
}

/* "exec": program and arguments; argv[0] is resolved later. */
static int
config_parse_exec(struct config_ctx *ctx, json_t *v, struct plugin_config *p)
{
	json_t	*item;
	size_t	 i, n;
	char	 what[128];

	snprintf(what, sizeof what, "a non-empty array of at most %d "
	    "strings (program and arguments)", CONFIG_MAX_ARGS);
	if (!json_is_array(v) || (n = json_array_size(v)) == 0)
		return config_wrong(ctx, v, what);
	if (n > CONFIG_MAX_ARGS)
		return config_error(ctx, AT_VALUE, "must be %s, got %zu "
		    "elements", what, n);
	p->argv = xcalloc(n + 1, sizeof *p->argv);
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || json_string_length(item) == 0) {
			config_push_index(ctx, i);
			config_wrong(ctx, item, "a non-empty string");
			config_pop(ctx);
			return -1;
		}
		p->argv[p->argc++] = xstrdup(json_string_value(item));
	}
	return 0;
}

/* A valid environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
static int
config_valid_env_name(const char *s)
{
	size_t	i;
	char	c;

	for (i = 0; s[i] != '\0'; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (i > 0 && c >= '0' && c <= '9'))
			continue;
		return 0;
	}
	return i > 0;
}

/* "env": variables added to the plugin's environment, "KEY=VALUE". */
static int
config_parse_env(struct config_ctx *ctx, json_t *obj, struct plugin_config *p)
{
	const char	*key;
	json_t		*v;
	size_t		 n;
	int		 rc = 0;

	if (!json_is_object(obj))
		return config_wrong(ctx, obj, "an object of string values");
	if ((n = json_object_size(obj)) > CONFIG_MAX_ENV)
		return config_error(ctx, AT_VALUE, "at most %d variables, got "
		    "%zu", CONFIG_MAX_ENV, n);
	config_free_vector(p->env);
	p->env = xcalloc(n + 1, sizeof *p->env);
	p->nenv = 0;
	json_object_foreach(obj, key, v) {
		config_push_key(ctx, key);
		if (!config_valid_env_name(key))
			rc = config_error(ctx, AT_KEY, "invalid variable name: "
			    "use letters, digits and '_', not starting with a "
			    "digit");
		else if (strcmp(key, CONFIG_FD_ENV) == 0)
			rc = config_error(ctx, AT_KEY, "%s is reserved: the "
			    "supervisor sets it to the plugin's socket",
			    CONFIG_FD_ENV);
		else if (!json_is_string(v))
			rc = config_wrong(ctx, v, "a string");
		else
			xasprintf(&p->env[p->nenv++], "%s=%s", key,
			    json_string_value(v));
		config_pop(ctx);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * If obj has key, evaluate call (which sees the value as v_) with key pushed
 * on the path, and return -1 from the caller if it fails.
 */
#define CONFIG_CUSTOM(ctx, obj, key, call) do {				\
	json_t	*v_ = json_object_get((obj), (key));			\
	int	 rc_;							\
	if (v_ != NULL) {						\
		config_push_key((ctx), (key));				\
		rc_ = (call);						\
		config_pop(ctx);					\
		if (rc_ == -1)						\
			return -1;					\
	}								\
} while (0)

/*
 * "watch": true (the program, and a script it is given: resolve.c), false,
 * or a list of at most CONFIG_MAX_WATCH paths (relative ones resolve
 * against the config's directory, as exec does).
 */
static int
config_parse_watch(struct config_ctx *ctx, json_t *v, struct plugin_config *p)
{
	json_t	*e;
	size_t	 i, n;

	if (json_is_boolean(v)) {
		p->watch = json_is_true(v);
		return 0;
	}
	if (!json_is_array(v))
		return config_wrong(ctx, v, "true, false or a list of paths");
	if ((n = json_array_size(v)) == 0 || n > CONFIG_MAX_WATCH)
		return config_error(ctx, AT_VALUE, "a list of 1 to %d paths, got "
		    "%zu", CONFIG_MAX_WATCH, n);
	config_free_vector(p->watch_paths);
	p->watch_paths = xcalloc(n + 1, sizeof *p->watch_paths);
	p->nwatch = 0;
	json_array_foreach(v, i, e) {
		config_push_index(ctx, i);
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) >= PATH_MAX) {
			config_wrong(ctx, e, "a path");
			config_pop(ctx);
			return -1;
		}
		config_pop(ctx);
		p->watch_paths[p->nwatch++] = xstrdup(json_string_value(e));
	}
	p->watch = 1;
	return 0;
}

/* "none", "connect", "any": as written in the config. */
const char *
config_sandbox_network_name(enum sandbox_network n)
{
	return CONFIG_ENUM_NAME(config_sandbox_network_names, n, "unknown");
}

/* The global "sandbox": enabled, required. */
static int
config_parse_sandbox_global(struct config_ctx *ctx, json_t *obj)
{
	if (config_want_object(ctx, obj) == -1)
		return -1;
	return config_read_fields(ctx, obj, config_sandbox_global_fields,
	    nitems(config_sandbox_global_fields), &ctx->cf->sandbox);
}

/*
 * One list of a plugin's "sandbox": absolute paths (resolve.c checks they
 * exist), or names from config_sandbox_denied. At most
 * CONFIG_SANDBOX_MAX_PATHS: each is a rule the kernel checks on every path
 * walk, and a list longer than that is a grant of too much anyway.
 */
static int
config_parse_sandbox_list(struct config_ctx *ctx, json_t *v, int syscalls,
    char ***vec, size_t *n)
{
	json_t		*item;
	const char	*s;
	size_t		 i, j, len;

	if (!json_is_array(v))
		return config_wrong(ctx, v, syscalls ? "an array of syscall "
		    "names" : "an array of absolute paths");
	if (json_array_size(v) > CONFIG_SANDBOX_MAX_PATHS)
		return config_error(ctx, AT_VALUE, "at most %d entries, got %zu",
		    CONFIG_SANDBOX_MAX_PATHS, json_array_size(v));
	config_free_vector(*vec);
	*vec = xcalloc(json_array_size(v) + 1, sizeof **vec);
	*n = 0;
	json_array_foreach(v, i, item) {
		config_push_index(ctx, i);
		if (!json_is_string(item) || (len = json_string_length(item)) ==
		    0 || len > CONFIG_SANDBOX_PATH_MAX ||
		    config_has_control(s = json_string_value(item), 0)) {
			config_wrong(ctx, item, syscalls ? "a syscall name" :
			    "an absolute path without control characters");
			config_pop(ctx);
			return -1;
		}
		if (!syscalls && s[0] != '/') {
			config_error(ctx, AT_VALUE, "\"%s\" is a relative "
			    "path; sandbox paths are absolute", s);
			config_pop(ctx);
			return -1;
		}
		if (syscalls) {
			for (j = 0; config_sandbox_denied[j] != NULL; j++) {
				if (strcmp(s, config_sandbox_denied[j]) == 0)
					break;
			}
			if (config_sandbox_denied[j] == NULL) {
				config_error(ctx, AT_VALUE, "\"%.64s\" is not a "
				    "syscall the sandbox denies (see "
				    "docs/sandbox.md for the list)", s);
				config_pop(ctx);
				return -1;
			}
		}
		(*vec)[(*n)++] = xstrdup(s);
		config_pop(ctx);
	}
	return 0;
}

/*
 * A plugin's "sandbox": over the global enabled and required and the
 * role's network (set by the caller).
 */
static int
config_parse_sandbox(struct config_ctx *ctx, json_t *obj,
    struct sandbox_config *sb)
{
	json_t	*v;
	size_t	 i;

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_sandbox_fields,
	    nitems(config_sandbox_fields), sb) == -1)
		return -1;
	CONFIG_CUSTOM(ctx, obj, "read", config_parse_sandbox_list(ctx, v_, 0,
	    &sb->read, &sb->nread));
	CONFIG_CUSTOM(ctx, obj, "write", config_parse_sandbox_list(ctx, v_, 0,
	    &sb->write, &sb->nwrite));
	CONFIG_CUSTOM(ctx, obj, "syscalls", config_parse_sandbox_list(ctx, v_,
	    1, &sb->syscalls, &sb->nsyscalls));
	if ((v = json_object_get(obj, "network")) != NULL) {
		config_push_key(ctx, "network");
		if (json_is_false(v))
			sb->network = SANDBOX_NET_NONE;
		else {
			for (i = 0; json_is_string(v) &&
			    config_sandbox_network_names[i] != NULL; i++) {
				if (strcmp(json_string_value(v),
				    config_sandbox_network_names[i]) == 0)
					break;
			}
			if (!json_is_string(v) ||
			    config_sandbox_network_names[i] == NULL) {
				config_wrong(ctx, v, "false, \"none\", "
				    "\"connect\" or \"any\"");
				config_pop(ctx);
				return -1;
			}
			sb->network = (enum sandbox_network)i;
		}
		config_pop(ctx);
	}
	return 0;
}

/* One entry of "plugins". */
static int
config_parse_plugin(struct config_ctx *ctx, json_t *obj, size_t idx,
    size_t *terminal)
{
	struct config		*cf = ctx->cf;
	struct plugin_config	*p = &cf->plugins[idx];
	const char		*required[] = { "name", "exec" };
	json_t			*v;
	size_t			 i;

	p->role = ROLE_PLUGIN;
	p->autostart = 1;
	p->terminal = 0;
	p->restart = cf->restart;
	config_limits_defaults(&p->limits);
	p->output = cf->output;
	p->log_file.path = NULL;
	p->log_file.max_bytes = 10485760;
	p->log_file.backups = 5;
	p->identity.umask = -1;
	p->sandbox.enabled = cf->sandbox.enabled;
	p->sandbox.required = cf->sandbox.required;
	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_plugin_fields,
	    nitems(config_plugin_fields), p) == -1)
		return -1;
	for (i = 0; i < nitems(required); i++) {
		if (json_object_get(obj, required[i]) == NULL) {
			config_push_key(ctx, required[i]);
			config_error(ctx, AT_PARENT, "missing required key");
			config_pop(ctx);
			return -1;
		}
	}
	CONFIG_CUSTOM(ctx, obj, "name", config_parse_name(ctx, v_, idx));
	CONFIG_CUSTOM(ctx, obj, "exec", config_parse_exec(ctx, v_, p));
	CONFIG_CUSTOM(ctx, obj, "env", config_parse_env(ctx, v_, p));
	CONFIG_CUSTOM(ctx, obj, "platform", config_parse_platform(ctx, v_, p));
	CONFIG_CUSTOM(ctx, obj, "directory",
	    config_parse_directory(ctx, v_, p));
	CONFIG_CUSTOM(ctx, obj, "user",
	    config_parse_account(ctx, v_, &p->identity.user));
	CONFIG_CUSTOM(ctx, obj, "group",
	    config_parse_account(ctx, v_, &p->identity.group));
	CONFIG_CUSTOM(ctx, obj, "umask", config_parse_umask(ctx, v_, p));
	CONFIG_CUSTOM(ctx, obj, "nice", config_parse_nice(ctx, v_, p));
	CONFIG_CUSTOM(ctx, obj, "watch", config_parse_watch(ctx, v_, p));
	/* A connector's chat connection cannot have two processes. */
	if (p->role == ROLE_CONNECTOR && (p->watch || p->reload ==
	    RELOAD_UPGRADE)) {
		config_push_key(ctx, p->watch ? "watch" : "reload");
		config_error(ctx, AT_VALUE, "a connector is restarted, never "
		    "upgraded: its chat connection cannot have two processes");
		config_pop(ctx);
		return -1;
	}
	if (p->role == ROLE_CONNECTOR) {
		/* Two connectors of one platform would share its identities. */
		for (i = 0; i < idx; i++) {
			if (cf->plugins[i].role != ROLE_CONNECTOR ||
			    strcmp(config_platform(&cf->plugins[i]),
			    config_platform(p)) != 0)
				continue;
			config_push_key(ctx, p->platform != NULL ? "platform" :
			    "name");
			config_error(ctx, AT_VALUE, "platform \"%s\" is already "
			    "that of connector plugins[%zu]; give each "
			    "connector its own \"platform\"", config_platform(p),
			    i);
			config_pop(ctx);
			return -1;
		}
	}
	CONFIG_CUSTOM(ctx, obj, "restart",
	    config_parse_restart(ctx, v_, &p->restart));
	CONFIG_CUSTOM(ctx, obj, "limits",
	    config_parse_limits(ctx, v_, &p->limits));
	CONFIG_CUSTOM(ctx, obj, "output",
	    config_parse_output(ctx, v_, &p->output));
	CONFIG_CUSTOM(ctx, obj, "log_file",
	    config_parse_log_file(ctx, v_, &p->log_file));
	/* After "role": a connector's network default is connect. */
	p->sandbox.network = p->role == ROLE_CONNECTOR ? SANDBOX_NET_CONNECT :
	    SANDBOX_NET_NONE;
	CONFIG_CUSTOM(ctx, obj, "sandbox",
	    config_parse_sandbox(ctx, v_, &p->sandbox));
	if (p->sandbox.read == NULL)
		p->sandbox.read = xcalloc(1, sizeof *p->sandbox.read);
	if (p->sandbox.write == NULL)
		p->sandbox.write = xcalloc(1, sizeof *p->sandbox.write);
	if (p->sandbox.syscalls == NULL)
		p->sandbox.syscalls = xcalloc(1, sizeof *p->sandbox.syscalls);
	if ((v = json_object_get(obj, "config")) != NULL) {
		config_push_key(ctx, "config");
		if (config_want_object(ctx, v) == -1) {
			config_pop(ctx);
			return -1;
		}
		config_pop(ctx);
		p->config = json_incref(v);
	} else
		p->config = json_object();
	if (p->env == NULL)
		p->env = xcalloc(1, sizeof *p->env);
	if (p->terminal) {
		if (*terminal != SIZE_MAX) {
			config_push_key(ctx, "terminal");
			config_error(ctx, AT_VALUE, "only one plugin may have "
			    "the terminal (plugins[%zu] has it already)",
			    *terminal);
			config_pop(ctx);
			return -1;
		}
		*terminal = idx;
	}
	return 0;
}

/* "plugins": required, an array of plugin objects. */
static int
config_parse_plugins(struct config_ctx *ctx, json_t *root)
{
	struct config	*cf = ctx->cf;
	json_t		*arr, *item;
	size_t		 i, n, terminal = SIZE_MAX;
	int		 rc;

	config_push_key(ctx, "plugins");
	if ((arr = json_object_get(root, "plugins")) == NULL) {
		config_error(ctx, AT_PARENT, "missing required key");
		goto fail;
	}
	if (!json_is_array(arr)) {
		config_wrong(ctx, arr, "an array of plugins");
		goto fail;
	}
	if ((n = json_array_size(arr)) > CONFIG_MAX_PLUGINS) {
		config_error(ctx, AT_VALUE, "at most %d plugins, got %zu",
		    CONFIG_MAX_PLUGINS, n);
		goto fail;
	}
	if (n > 0) {
		cf->plugins = xcalloc(n, sizeof *cf->plugins);
		cf->nplugins = n;
	}
	json_array_foreach(arr, i, item) {
		config_push_index(ctx, i);
		rc = config_parse_plugin(ctx, item, i, &terminal);
		config_pop(ctx);
		if (rc == -1)
			goto fail;
	}
	config_pop(ctx);
	return 0;
fail:
	config_pop(ctx);
	return -1;
}

/*
 * A duration: a number of seconds (300, 2.5) or a string of one with a
 * unit, s, m, h or d ("90s", "5m", "1.5h", "2d"), from min to max seconds.
 */
static int
config_parse_duration(struct config_ctx *ctx, const json_t *v, double min,
    double max, double *out)
{
	const char	*s;
	char		*end, lo[32], hi[32], what[192];
	double		 d = -1;

	if (json_is_number(v))
		d = json_number_value(v);
	else if (json_is_string(v)) {
		s = json_string_value(v);
		/* Plain decimal only: no spaces, signs, hex or exponents. */
		if (strspn(s, "0123456789.") > 0) {
			d = strtod(s, &end);
			if (end != s + strspn(s, "0123456789.") || !isfinite(d))
				d = -1;
			else if (strcmp(end, "m") == 0)
				d *= 60;
			else if (strcmp(end, "h") == 0)
				d *= 3600;
			else if (strcmp(end, "d") == 0)
				d *= 86400;
			else if (*end != '\0' && strcmp(end, "s") != 0)
				d = -1;
		}
	}
	if (d < min || d > max || !isfinite(d)) {
		config_format_number(min, lo, sizeof lo);
		config_format_number(max, hi, sizeof hi);
		snprintf(what, sizeof what, "a duration from %s to %s seconds: "
		    "a number of seconds, or a string like \"90s\", \"5m\", "
		    "\"1.5h\", \"2d\"", lo, hi);
		return config_wrong(ctx, v, what);
	}
	*out = d;
	return 0;
}

/* One alert target: {"connector": NAME, "channel": "#ops"}. */
static int
config_parse_alert_target(struct config_ctx *ctx, json_t *obj, size_t idx)
{
	struct alerts_config		*al = &ctx->cf->alerts;
	struct alert_target_config	*t = &al->targets[idx];
	const struct plugin_config	*pc;
	const char			*keys[] = { "connector", "channel" };
	const char			*s;
	char				 quoted[CONFIG_QUOTE_SIZE], what[128];
	json_t				*v;
	size_t				 i;

	if (config_want_object(ctx, obj) == -1 ||
	    config_check_keys(ctx, obj, config_alert_target_fields,
	    nitems(config_alert_target_fields)) == -1)
		return -1;
	for (i = 0; i < nitems(keys); i++) {
		config_push_key(ctx, keys[i]);
		if ((v = json_object_get(obj, keys[i])) == NULL) {
			config_error(ctx, AT_PARENT, "missing required key");
			config_pop(ctx);
			return -1;
		}
		config_pop(ctx);
	}
	config_push_key(ctx, "connector");
	v = json_object_get(obj, "connector");
	if (!json_is_string(v)) {
		config_wrong(ctx, v, "the name of a connector plugin");
		config_pop(ctx);
		return -1;
	}
	s = json_string_value(v);
	config_quote(s, quoted, sizeof quoted);
	if ((pc = config_find_plugin(ctx->cf, s)) == NULL) {
		config_error(ctx, AT_VALUE, "no plugin named %s in plugins",
		    quoted);
		config_pop(ctx);
		return -1;
	}
	if (pc->role != ROLE_CONNECTOR) {
		config_error(ctx, AT_VALUE, "plugin %s is not a connector "
		    "(its role is \"%s\"): alerts go to a connector's "
		    "channel", quoted, config_role_name(pc->role));
		config_pop(ctx);
		return -1;
	}
	config_pop(ctx);
	config_push_key(ctx, "channel");
	v = json_object_get(obj, "channel");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > CONFIG_ALERT_CHANNEL_MAX ||
	    config_has_control(json_string_value(v), 1)) {
		snprintf(what, sizeof what, "a channel name of 1 to %d bytes "
		    "without spaces or control characters",
		    CONFIG_ALERT_CHANNEL_MAX);
		config_wrong(ctx, v, what);
		config_pop(ctx);
		return -1;
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(al->targets[i].connector, s) == 0 &&
		    strcmp(al->targets[i].channel, json_string_value(v)) == 0) {
			config_error(ctx, AT_VALUE, "the same connector and "
			    "channel as alerts.targets[%zu]", i);
			config_pop(ctx);
			return -1;
		}
	}
	config_pop(ctx);
	t->connector = xstrdup(s);
	t->channel = xstrdup(json_string_value(v));
	return 0;
}

/* "alerts.targets": where alert lines go, at most 16. */
static int
config_parse_alert_targets(struct config_ctx *ctx, json_t *arr)
{
	struct alerts_config	*al = &ctx->cf->alerts;
	json_t			*item;
	size_t			 i, n;
	int			 rc;

	if (!json_is_array(arr))
		return config_wrong(ctx, arr, "an array of {\"connector\", "
		    "\"channel\"} objects");
	if ((n = json_array_size(arr)) > CONFIG_MAX_ALERT_TARGETS)
		return config_error(ctx, AT_VALUE, "at most %d targets, got %zu",
		    CONFIG_MAX_ALERT_TARGETS, n);
	if (n > 0)
		al->targets = xcalloc(n, sizeof *al->targets);
	json_array_foreach(arr, i, item) {
		config_push_index(ctx, i);
		rc = config_parse_alert_target(ctx, item, i);
		config_pop(ctx);
		if (rc == -1)
			return -1;
		al->ntargets++;
	}
	return 0;
}

/* "alerts.lifecycle": which lifecycle events raise an alert, all by default. */
static int
config_parse_alert_lifecycle(struct config_ctx *ctx, json_t *obj)
{
	struct alerts_config	*al = &ctx->cf->alerts;
	const struct config_field *f;
	json_t			*v;
	size_t			 i;

	if (config_want_object(ctx, obj) == -1 ||
	    config_check_keys(ctx, obj, config_alert_lifecycle_fields,
	    nitems(config_alert_lifecycle_fields)) == -1)
		return -1;
	for (i = 0; i < nitems(config_alert_lifecycle_fields); i++) {
		f = &config_alert_lifecycle_fields[i];
		if ((v = json_object_get(obj, f->key)) == NULL)
			continue;
		if (!json_is_boolean(v)) {
			config_push_key(ctx, f->key);
			config_wrong(ctx, v, "true or false");
			config_pop(ctx);
			return -1;
		}
		if (json_is_true(v))
			al->lifecycle |= (unsigned)f->offset;
		else
			al->lifecycle &= ~(unsigned)f->offset;
	}
	return 0;
}

/* A rule's "plugins": "*" (every plugin) or an array of plugin names. */
static int
config_parse_alert_plugins(struct config_ctx *ctx, json_t *v,
    struct alert_rule_config *r)
{
	const char	*s;
	char		 quoted[CONFIG_QUOTE_SIZE];
	json_t		*item;
	size_t		 i, n;

	if (json_is_string(v) && strcmp(json_string_value(v), "*") == 0)
		return 0;
	if (!json_is_array(v) || (n = json_array_size(v)) == 0)
		return config_wrong(ctx, v, "\"*\" (every plugin) or a "
		    "non-empty array of plugin names");
	if (n > CONFIG_MAX_PLUGINS)
		return config_error(ctx, AT_VALUE, "at most %d plugins, got %zu",
		    CONFIG_MAX_PLUGINS, n);
	r->plugins = xcalloc(n + 1, sizeof *r->plugins);
	json_array_foreach(v, i, item) {
		config_push_index(ctx, i);
		if (!json_is_string(item)) {
			config_wrong(ctx, item, "a plugin name");
			config_pop(ctx);
			return -1;
		}
		s = json_string_value(item);
		if (config_find_plugin(ctx->cf, s) == NULL) {
			config_quote(s, quoted, sizeof quoted);
			config_error(ctx, AT_VALUE, "no plugin named %s in "
			    "plugins", quoted);
			config_pop(ctx);
			return -1;
		}
		r->plugins[r->nplugins++] = xstrdup(s);
		config_pop(ctx);
	}
	return 0;
}

/*
 * One rule. Its window is read from the raw sample ring, so it may not be
 * longer than the ring keeps (metrics.history_duration).
 */
static int
config_parse_alert_rule(struct config_ctx *ctx, json_t *obj, size_t idx)
{
	struct config			*cf = ctx->cf;
	struct alert_rule_config	*r = &cf->alerts.rules[idx];
	const char			*required[] = { "name", "metric", "op",
					    "value", "window" };
	const char			*s;
	char				 quoted[CONFIG_QUOTE_SIZE], h[32];
	json_t				*v;
	size_t				 i;

	r->severity = ALERT_WARNING;
	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_alert_rule_fields,
	    nitems(config_alert_rule_fields), r) == -1)
		return -1;
	for (i = 0; i < nitems(required); i++) {
		if (json_object_get(obj, required[i]) == NULL) {
			config_push_key(ctx, required[i]);
			config_error(ctx, AT_PARENT, "missing required key");
			config_pop(ctx);
			return -1;
		}
	}
	config_push_key(ctx, "name");
	v = json_object_get(obj, "name");
	if (!json_is_string(v)) {
		config_wrong(ctx, v, "a string");
		config_pop(ctx);
		return -1;
	}
	s = json_string_value(v);
	config_quote(s, quoted, sizeof quoted);
	if (!config_valid_name(s)) {
		config_error(ctx, AT_VALUE, "invalid rule name %s: use 1 to %d "
		    "of a-z, 0-9, '_' and '-', starting with a letter or digit",
		    quoted, CONFIG_NAME_MAX);
		config_pop(ctx);
		return -1;
	}
	if (strcmp(s, "crash") == 0) {
		config_error(ctx, AT_VALUE, "rule name %s is taken by the "
		    "lifecycle alerts", quoted);
		config_pop(ctx);
		return -1;
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(cf->alerts.rules[i].name, s) == 0) {
			config_error(ctx, AT_VALUE, "duplicate rule name %s "
			    "(first at alerts.rules[%zu])", quoted, i);
			config_pop(ctx);
			return -1;
		}
	}
	config_pop(ctx);
	r->name = xstrdup(s);
	CONFIG_CUSTOM(ctx, obj, "plugins",
	    config_parse_alert_plugins(ctx, v_, r));
	CONFIG_CUSTOM(ctx, obj, "window",
	    config_parse_duration(ctx, v_, 0.1, CONFIG_MAX_HISTORY, &r->window));
	CONFIG_CUSTOM(ctx, obj, "for",
	    config_parse_duration(ctx, v_, 0, 604800, &r->hold));
	if (r->window > cf->history_duration) {
		config_format_number(cf->history_duration, h, sizeof h);
		config_push_key(ctx, "window");
		config_error(ctx, AT_VALUE, "longer than the samples kept: at "
		    "most metrics.history_duration (%s s), got %g s", h,
		    r->window);
		config_pop(ctx);
		return -1;
	}
	return 0;
}

/* "alerts.rules": threshold rules, at most 1000; they need samples. */
static int
config_parse_alert_rules(struct config_ctx *ctx, json_t *arr)
{
	struct alerts_config	*al = &ctx->cf->alerts;
	json_t			*item;
	size_t			 i, n;
	int			 rc;

	if (!json_is_array(arr))
		return config_wrong(ctx, arr, "an array of rules");
	if ((n = json_array_size(arr)) > CONFIG_MAX_ALERT_RULES)
		return config_error(ctx, AT_VALUE, "at most %d rules, got %zu",
		    CONFIG_MAX_ALERT_RULES, n);
	if (n > 0 && !ctx->cf->metrics_enabled)
		return config_error(ctx, AT_VALUE, "rules need the samples: "
		    "metrics.enabled is false");
	if (n > 0)
		al->rules = xcalloc(n, sizeof *al->rules);
	json_array_foreach(arr, i, item) {
		config_push_index(ctx, i);
		rc = config_parse_alert_rule(ctx, item, i);
		config_pop(ctx);
		al->nrules = i + 1;	/* freed with the config, even half read */
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* "alerts": after the plugins, whose names targets and rules use. */
static int
config_parse_alerts(struct config_ctx *ctx, json_t *obj)
{
	struct alerts_config	*al = &ctx->cf->alerts;

	if (config_want_object(ctx, obj) == -1)
		return -1;
	if (config_read_fields(ctx, obj, config_alerts_fields,
	    nitems(config_alerts_fields), al) == -1)
		return -1;
	CONFIG_CUSTOM(ctx, obj, "repeat",
	    config_parse_duration(ctx, v_, 1, 604800, &al->repeat));
	CONFIG_CUSTOM(ctx, obj, "collapse",
	    config_parse_duration(ctx, v_, 0.1, 86400, &al->collapse));
	CONFIG_CUSTOM(ctx, obj, "targets",
	    config_parse_alert_targets(ctx, v_));
	CONFIG_CUSTOM(ctx, obj, "lifecycle",
	    config_parse_alert_lifecycle(ctx, v_));
	CONFIG_CUSTOM(ctx, obj, "rules", config_parse_alert_rules(ctx, v_));
	return 0;
}

/*
 * The whole document: top-level keys in an order that makes defaults flow.
 * CONFIG_PART_SOCKET stops after the socket: the other sections are not
 * looked at, only the top level's key names (a misspelt "socket" would
 * otherwise mean the default one).
 */
static int
config_parse_root(struct config_ctx *ctx, json_t *root, enum config_part part)
{
	if (!json_is_object(root))
		return config_wrong(ctx, root, "an object");
	if (config_check_keys(ctx, root, config_top_fields,
	    nitems(config_top_fields)) == -1)
		return -1;
	if (config_parse_socket(ctx, root) == -1)
		return -1;
	if (part == CONFIG_PART_SOCKET)
		return 0;
	CONFIG_CUSTOM(ctx, root, "control", config_parse_control(ctx, v_));
	CONFIG_CUSTOM(ctx, root, "chat", config_parse_chat(ctx, v_));
	CONFIG_CUSTOM(ctx, root, "metrics", config_parse_metrics(ctx, v_));
	CONFIG_CUSTOM(ctx, root, "state", config_parse_state(ctx, v_));
	/* Before the plugins: theirs start from the global policy. */
	CONFIG_CUSTOM(ctx, root, "restart",
	    config_parse_restart(ctx, v_, &ctx->cf->restart));
	CONFIG_CUSTOM(ctx, root, "output",
	    config_parse_output(ctx, v_, &ctx->cf->output));
	CONFIG_CUSTOM(ctx, root, "http", config_parse_http(ctx, v_));
	/* Before the plugins: theirs start from it. */
	CONFIG_CUSTOM(ctx, root, "sandbox",
	    config_parse_sandbox_global(ctx, v_));
	if (config_parse_plugins(ctx, root) == -1)
		return -1;
	/* After the plugins: alert targets and rules name them. */
	CONFIG_CUSTOM(ctx, root, "alerts", config_parse_alerts(ctx, v_));
	return 0;
}

/*
 * Parse text named origin into a new config holding the defaults and what
 * the text sets, paths as written, with a copy of the text for resolve.c.
 * On error -1 and *cause (not yet cleaned of control characters).
 */
int
config_parse_text(const char *text, size_t len, const char *origin,
    enum config_part part, struct config **out, char **cause)
{
	struct config_source	*src;
	struct config_ctx	 ctx;
	struct config		*cf;
	json_error_t		 jerr;
	json_t			*root;

	*out = NULL;
	*cause = NULL;
	if (origin == NULL)
		origin = "(string)";
	if (len > CONFIG_MAX_SIZE) {
		xasprintf(cause, "%s: too large: %zu bytes, the limit is %d",
		    origin, len, CONFIG_MAX_SIZE);
		return -1;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		xasprintf(cause, "%s:%d:%d: invalid JSON: %s", origin,
		    jerr.line < 1 ? 1 : jerr.line,
		    jerr.column < 1 ? 1 : jerr.column, jerr.text);
		return -1;
	}

	src = xcalloc(1, sizeof *src);
	src->origin = xstrdup(origin);
	src->text = xmalloc(len + 1);
	memcpy(src->text, text, len);
	src->text[len] = '\0';
	src->len = len;

	cf = xcalloc(1, sizeof *cf);
	cf->source = src;
	cf->path = xstrdup(origin);
	cf->prefix = xstrdup("!");
	cf->admins = xcalloc(1, sizeof *cf->admins);
	cf->unknown_command = UNKNOWN_IGNORE;
	cf->control_idle_timeout = 10;
	cf->max_line = 512;
	cf->admin_rate = 2;
	cf->metrics_enabled = 1;
	cf->poll_interval = 5;
	cf->history_duration = 3600;
	cf->rollups[0] = (struct rollup_config){ 60, 86400 };
	cf->rollups[1] = (struct rollup_config){ 3600, 30 * 86400 };
	cf->nrollups = 2;
	cf->state_enabled = 1;
	cf->state_dir = xstrdup("state");
	cf->save_interval = 60;
	config_restart_defaults(&cf->restart);
	config_output_defaults(&cf->output);
	cf->alerts.repeat = 600;
	cf->alerts.collapse = 60;
	cf->alerts.rate = 1;
	cf->alerts.burst = 5;
	cf->alerts.queue = 20;
	cf->alerts.lifecycle = ALERT_ON_CRASH | ALERT_ON_CRASH_LOOP |
	    ALERT_ON_MEMORY_LIMIT | ALERT_ON_CPU_LIMIT | ALERT_ON_HUNG |
	    ALERT_ON_READY | ALERT_ON_RECOVERY;
	cf->http.max_connections = 256;
	cf->http.max_events_clients = 64;
	cf->http.idle_timeout = 30;
	cf->sandbox.enabled = 1;

	memset(&ctx, 0, sizeof ctx);
	ctx.origin = src->origin;
	ctx.text = src->text;
	ctx.len = src->len;
	ctx.cf = cf;
	if (config_parse_root(&ctx, root, part) == -1) {
		if (ctx.cause == NULL)
			fatalx("%s: error without a cause", __func__);
		*cause = ctx.cause;
		json_decref(root);
		config_free(cf);
		return -1;
	}
	json_decref(root);
	*out = cf;
	return 0;
}

/*
 * "ADDRESS:PORT": a numeric IPv4 address, or an IPv6 one in brackets, and
 * a decimal port from 1 to 65535. Names are refused: what a name resolves
 * to can change, and whether it is loopback must be known at load.
 */
int
config_parse_listen(const char *s, struct http_config *h, char *why,
    size_t whylen)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*colon, *hs, *he;
	char		 host[INET6_ADDRSTRLEN + 1], *end;
	unsigned long	 port;
	int		 v6;

	if (strlen(s) > 64) {
		snprintf(why, whylen, "longer than 64 bytes");
		return -1;
	}
	if (s[0] == '[') {
		if ((he = strchr(s, ']')) == NULL || he[1] != ':') {
			snprintf(why, whylen, "an IPv6 address needs brackets: "
			    "[::1]:PORT");
			return -1;
		}
		hs = s + 1;
		colon = he + 1;
		v6 = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(why, whylen, "no :PORT");
			return -1;
		}
		hs = s;
		he = colon;
		v6 = 0;
	}
	if ((size_t)(he - hs) >= sizeof host || he == hs) {
		snprintf(why, whylen, "no address before the port");
		return -1;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (v6 ? inet_pton(AF_INET6, host, &a6) != 1 :
	    inet_pton(AF_INET, host, &a4) != 1) {
		snprintf(why, whylen, "%s is not a numeric %s address", v6 ?
		    "the part in brackets" : "the part before the port",
		    v6 ? "IPv6" : "IPv4");
		return -1;
	}
	if (colon[1] < '0' || colon[1] > '9') {
		snprintf(why, whylen, "no port number after the colon");
		return -1;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 1 || port > 65535) {
		snprintf(why, whylen, "the port is not a number from 1 to "
		    "65535");
		return -1;
	}
	free(h->listen);
	free(h->host);
	h->listen = xstrdup(s);
	h->host = xstrdup(host);
	h->port = (unsigned)port;
	h->loopback = v6 ? IN6_IS_ADDR_LOOPBACK(&a6) :
	    (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

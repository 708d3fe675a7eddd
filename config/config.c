/*
 * config.c: load and validate the daemon's JSON configuration.
 *
 * jansson parses the text; then one walk over the tree checks every key
 * against a table per object (unknown keys, types, ranges) and fills struct
 * config. The walk keeps the JSON path it is at, so an error names that path
 * and jsonpos finds its line and column in the raw text. Checks that touch
 * the file system (executables) run last, after the whole shape is known
 * good, so a typo is reported before a missing binary.
 *
 * The design suggests json_unpack_ex for validation, but its errors name
 * neither the path nor the allowed keys, and an operator needs both; a table
 * per object gives them and keeps every range in one place.
 */
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "config/jsonpos.h"

/* Deepest path an error can name: plugins[i].restart.key is four steps. */
#define CONFIG_PATH_DEPTH	8
/* Characters of a user's string quoted in an error line. */
#define CONFIG_QUOTE_CHARS	48
#define CONFIG_QUOTE_SIZE	(CONFIG_QUOTE_CHARS * 6 + 8)
/* The daemon passes the plugin's socket descriptor in this variable. */
#define CONFIG_FD_ENV		"SUPERVISOR_FD"
#define CONFIG_DEFAULT_SOCKET	"run/supervisor.sock"
#define CONFIG_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
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

/* Where an error points: the value at the path, its key, or its parent. */
enum config_where { AT_VALUE, AT_KEY, AT_PARENT };

/* State of one load: the text for positions and the current JSON path. */
struct config_ctx {
	const char		*origin;
	const char		*text;
	size_t			 len;
	const char		*plugin_dir;
	struct config		*cf;
	struct jsonpos_step	 path[CONFIG_PATH_DEPTH];
	size_t			 depth;
	char			*cause;
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
static const char *const config_unknown_names[] = {
	[UNKNOWN_IGNORE] = "ignore",
	[UNKNOWN_REPLY] = "reply",
	NULL
};

#define CF(f)	offsetof(struct config, f)
#define RP(f)	offsetof(struct restart_policy, f)
#define PL(f)	offsetof(struct plugin_config, f)
#define LM(f)	offsetof(struct plugin_limits, f)

static const struct config_field config_top_fields[] = {
	{ "socket", CT_CUSTOM, 0, 0, 0, NULL },
	{ "chat", CT_CUSTOM, 0, 0, 0, NULL },
	{ "metrics", CT_CUSTOM, 0, 0, 0, NULL },
	{ "restart", CT_CUSTOM, 0, 0, 0, NULL },
	{ "plugins", CT_CUSTOM, 0, 0, 0, NULL },
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
	{ "restart", CT_CUSTOM, 0, 0, 0, NULL },
	{ "limits", CT_CUSTOM, 0, 0, 0, NULL },
};

static const struct config_field config_limits_fields[] = {
	{ "memory_mb", CT_NUMBER, LM(memory_mb), 0, 1048576, NULL },
	{ "violations", CT_INTEGER, LM(violations), 1, 1000, NULL },
	{ "cpu_percent", CT_NUMBER, LM(cpu_percent), 0, 102400, NULL },
	{ "cpu_seconds", CT_NUMBER, LM(cpu_seconds), 0, 86400, NULL },
};

static int	config_error(struct config_ctx *, enum config_where,
		    const char *, ...) printflike(3, 4);

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

const struct plugin_config *
config_find_plugin(const struct config *cf, const char *name)
{
	size_t	i;

	if (cf == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cf->nplugins; i++) {
		if (cf->plugins[i].name != NULL &&
		    strcmp(cf->plugins[i].name, name) == 0)
			return &cf->plugins[i];
	}
	return NULL;
}

const char *
config_autorestart_name(enum autorestart ar)
{
	if ((unsigned)ar > AUTORESTART_NEVER)
		return "unknown";
	return config_autorestart_names[ar];
}

const char *
config_role_name(enum plugin_role role)
{
	if ((unsigned)role > ROLE_CONNECTOR)
		return "unknown";
	return config_role_names[role];
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

/* Free a NULL-terminated string vector. */
static void
config_free_vector(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A copy of a vector of strings, NULL-terminated. */
static char **
config_dup_vector(char *const *v, size_t n)
{
	char	**copy = xcalloc(n + 1, sizeof *copy);
	size_t	  i;

	for (i = 0; i < n; i++)
		copy[i] = xstrdup(v[i]);
	return copy;
}

/* A deep copy of one plugin's config, owned by the caller. */
struct plugin_config *
config_plugin_dup(const struct plugin_config *pc)
{
	struct plugin_config	*copy = xcalloc(1, sizeof *copy);

	*copy = *pc;
	copy->name = xstrdup(pc->name);
	copy->argv = config_dup_vector(pc->argv, pc->argc);
	copy->env = config_dup_vector(pc->env, pc->nenv);
	copy->config = json_deep_copy(pc->config);
	return copy;
}

void
config_plugin_free(struct plugin_config *pc)
{
	if (pc == NULL)
		return;
	free(pc->name);
	config_free_vector(pc->argv);
	config_free_vector(pc->env);
	json_decref(pc->config);
	free(pc);
}

/* 1 if two vectors of strings hold the same strings. */
static int
config_vector_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t	i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	}
	return 1;
}

/* 1 if two restart policies are the same, field by field. */
static int
config_restart_equal(const struct restart_policy *a,
    const struct restart_policy *b)
{
	return a->first_delay == b->first_delay &&
	    a->initial_delay == b->initial_delay &&
	    a->multiplier == b->multiplier && a->max_delay == b->max_delay &&
	    a->reset_after == b->reset_after &&
	    a->max_crashes == b->max_crashes &&
	    a->crash_window == b->crash_window && a->cooldown == b->cooldown &&
	    a->autorestart == b->autorestart &&
	    a->ready_timeout == b->ready_timeout &&
	    a->ping_interval == b->ping_interval &&
	    a->hang_timeout == b->hang_timeout &&
	    a->stop_timeout == b->stop_timeout &&
	    a->queue_size == b->queue_size &&
	    a->crash_history == b->crash_history &&
	    a->stderr_lines == b->stderr_lines;
}

/* 1 if two plugin configs would run the same plugin the same way. */
int
config_plugin_equal(const struct plugin_config *a,
    const struct plugin_config *b)
{
	return strcmp(a->name, b->name) == 0 && a->role == b->role &&
	    config_vector_equal(a->argv, a->argc, b->argv, b->argc) &&
	    config_vector_equal(a->env, a->nenv, b->env, b->nenv) &&
	    json_equal(a->config, b->config) &&
	    a->autostart == b->autostart && a->terminal == b->terminal &&
	    config_restart_equal(&a->restart, &b->restart) &&
	    a->limits.memory_mb == b->limits.memory_mb &&
	    a->limits.violations == b->limits.violations &&
	    a->limits.cpu_percent == b->limits.cpu_percent &&
	    a->limits.cpu_seconds == b->limits.cpu_seconds;
}

void
config_free(struct config *cf)
{
	struct plugin_config	*p;
	size_t			 i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nplugins; i++) {
		p = &cf->plugins[i];
		free(p->name);
		config_free_vector(p->argv);
		config_free_vector(p->env);
		json_decref(p->config);
	}
	free(cf->plugins);
	config_free_vector(cf->admins);
	free(cf->prefix);
	free(cf->socket_path);
	free(cf->dir);
	free(cf->path);
	free(cf);
}

/* Append formatted text to buf at *off, truncating at its end. */
static void printflike(4, 5)
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
static void
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
static int
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

static void
config_push_key(struct config_ctx *ctx, const char *key)
{
	if (ctx->depth == CONFIG_PATH_DEPTH)
		fatalx("%s: path too deep", __func__);
	ctx->path[ctx->depth].key = key;
	ctx->path[ctx->depth].index = 0;
	ctx->depth++;
}

static void
config_push_index(struct config_ctx *ctx, size_t index)
{
	if (ctx->depth == CONFIG_PATH_DEPTH)
		fatalx("%s: path too deep", __func__);
	ctx->path[ctx->depth].key = NULL;
	ctx->path[ctx->depth].index = index;
	ctx->depth++;
}

static void
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

/* Join base and a relative path; an absolute path stays as it is. */
static char *
config_join(const char *base, const char *path)
{
	char	*out;
	size_t	 len;

	if (path[0] == '/' || base == NULL)
		return xstrdup(path);
	len = strlen(base);
	if (len > 0 && base[len - 1] == '/')
		xasprintf(&out, "%s%s", base, path);
	else
		xasprintf(&out, "%s/%s", base, path);
	return out;
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

/* "socket": the control socket path, relative to the config's directory. */
static int
config_parse_socket(struct config_ctx *ctx, json_t *root)
{
	struct sockaddr_un	 sun;
	json_t			*v;
	const char		*s = CONFIG_DEFAULT_SOCKET;
	char			 quoted[CONFIG_QUOTE_SIZE];
	size_t			 len;

	config_push_key(ctx, "socket");
	if ((v = json_object_get(root, "socket")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    config_has_control(json_string_value(v), 0)) {
			config_wrong(ctx, v, "a non-empty path without control "
			    "characters");
			goto fail;
		}
		s = json_string_value(v);
	}
	ctx->cf->socket_path = config_join(ctx->cf->dir, s);
	len = strlen(ctx->cf->socket_path);
	if (len >= sizeof sun.sun_path) {
		config_quote(ctx->cf->socket_path, quoted, sizeof quoted);
		config_error(ctx, v != NULL ? AT_VALUE : AT_PARENT,
		    "socket path %s is %zu bytes, longer than the %zu a Unix "
		    "socket allows", quoted, len, sizeof sun.sun_path - 1);
		goto fail;
	}
	config_pop(ctx);
	return 0;
fail:
	config_pop(ctx);
	return -1;
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
static int
config_parse_metrics(struct config_ctx *ctx, json_t *obj)
{
	struct config	*cf = ctx->cf;
	const char	*blame;
	char		 p[32], h[32];
	size_t		 cap;

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
	for (i = 0; i < idx; i++) {
		if (strcmp(cf->plugins[i].name, s) == 0)
			return config_error(ctx, AT_VALUE, "duplicate plugin "
			    "name %s (first at plugins[%zu])", quoted, i);
	}
	cf->plugins[idx].name = xstrdup(s);
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
	CONFIG_CUSTOM(ctx, obj, "restart",
	    config_parse_restart(ctx, v_, &p->restart));
	CONFIG_CUSTOM(ctx, obj, "limits",
	    config_parse_limits(ctx, v_, &p->limits));
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

/* Note one tried path and why it did not do, for the error line. */
static void
config_tried(char *buf, size_t size, size_t *off, const char *path,
    const char *why)
{
	config_append(buf, size, off, "%s%s (%s)", *off > 0 ? ", " : "",
	    path, why);
}

/* 0 if path is an executable regular file, else -1 and why not. */
static int
config_check_exec(const char *path, const char **why)
{
	struct stat	sb;

	if (stat(path, &sb) == -1) {
		*why = (errno == ENOENT || errno == ENOTDIR) ?
		    "no such file" : strerror(errno);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		*why = "not a regular file";
		return -1;
	}
	if (access(path, X_OK) == -1) {
		*why = "not executable";
		return -1;
	}
	return 0;
}

/*
 * Resolve argv[0] of one plugin. With a slash it is a path (relative to the
 * config's directory); without, it is looked for in plugin_dir, then in each
 * PATH entry. Empty PATH entries, which would mean the current directory,
 * are skipped. The result is absolute but a symlink to the program itself
 * is kept, so a program that looks at its own name still sees it.
 */
static int
config_resolve_exec(struct config_ctx *ctx, struct plugin_config *p,
    const char *cwd)
{
	const char	*name = p->argv[0], *why, *env;
	char		*candidate, *base, *search, *entry, *next;
	char		 tried[4096], quoted[CONFIG_QUOTE_SIZE];
	size_t		 off = 0;

	tried[0] = '\0';
	if (strchr(name, '/') != NULL) {
		candidate = config_join(ctx->cf->dir, name);
		if (config_check_exec(candidate, &why) == 0)
			goto found;
		config_tried(tried, sizeof tried, &off, candidate, why);
		free(candidate);
		goto fail;
	}
	if (ctx->plugin_dir != NULL && ctx->plugin_dir[0] != '\0') {
		/* The directory may be BIN/../plugins: tidy it if it exists. */
		if ((base = realpath(ctx->plugin_dir, NULL)) == NULL)
			base = config_join(cwd, ctx->plugin_dir);
		candidate = config_join(base, name);
		free(base);
		if (config_check_exec(candidate, &why) == 0)
			goto found;
		config_tried(tried, sizeof tried, &off, candidate, why);
		free(candidate);
	}
	if ((env = getenv("PATH")) == NULL)
		env = CONFIG_DEFAULT_PATH;
	search = xstrdup(env);
	for (entry = search; entry != NULL; entry = next) {
		if ((next = strchr(entry, ':')) != NULL)
			*next++ = '\0';
		if (*entry == '\0')
			continue;
		base = config_join(cwd, entry);
		candidate = config_join(base, name);
		free(base);
		if (config_check_exec(candidate, &why) == 0) {
			free(search);
			goto found;
		}
		config_tried(tried, sizeof tried, &off, candidate, why);
		free(candidate);
	}
	free(search);
fail:
	config_quote(name, quoted, sizeof quoted);
	return config_error(ctx, AT_VALUE, "cannot find executable %s "
	    "(tried: %s)", quoted, off > 0 ? tried : "nothing: no plugin "
	    "directory and PATH is empty");
found:
	free(p->argv[0]);
	p->argv[0] = candidate;
	return 0;
}

/* Resolve every plugin's executable: the last, file-system, pass. */
static int
config_resolve_all(struct config_ctx *ctx)
{
	char	*cwd;
	size_t	 i;
	int	 rc = 0;

	if ((cwd = getcwd(NULL, 0)) == NULL)
		cwd = xstrdup(ctx->cf->dir);
	config_push_key(ctx, "plugins");
	for (i = 0; i < ctx->cf->nplugins && rc == 0; i++) {
		config_push_index(ctx, i);
		config_push_key(ctx, "exec");
		config_push_index(ctx, 0);
		rc = config_resolve_exec(ctx, &ctx->cf->plugins[i], cwd);
		config_pop(ctx);
		config_pop(ctx);
		config_pop(ctx);
	}
	config_pop(ctx);
	free(cwd);
	return rc;
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

/* The whole document: top-level keys in an order that makes defaults flow. */
static int
config_parse_root(struct config_ctx *ctx, json_t *root)
{
	if (!json_is_object(root))
		return config_wrong(ctx, root, "an object");
	if (config_check_keys(ctx, root, config_top_fields,
	    nitems(config_top_fields)) == -1)
		return -1;
	if (config_parse_socket(ctx, root) == -1)
		return -1;
	CONFIG_CUSTOM(ctx, root, "chat", config_parse_chat(ctx, v_));
	CONFIG_CUSTOM(ctx, root, "metrics", config_parse_metrics(ctx, v_));
	/* Before the plugins: theirs start from the global policy. */
	CONFIG_CUSTOM(ctx, root, "restart",
	    config_parse_restart(ctx, v_, &ctx->cf->restart));
	if (config_parse_plugins(ctx, root) == -1)
		return -1;
	return config_resolve_all(ctx);
}

static int
config_load_string_raw(const char *text, size_t len, const char *origin,
    const char *basedir, const char *plugin_dir, struct config **out,
    char **cause)
{
	struct config_ctx	 ctx;
	struct config		*cf;
	json_error_t		 jerr;
	json_t			*root;
	char			*dir;

	*out = NULL;
	*cause = NULL;
	if (origin == NULL)
		origin = "(string)";
	if (len > CONFIG_MAX_SIZE) {
		xasprintf(cause, "%s: too large: %zu bytes, the limit is %d",
		    origin, len, CONFIG_MAX_SIZE);
		return -1;
	}
	if (basedir == NULL) {
		if ((dir = getcwd(NULL, 0)) == NULL) {
			xasprintf(cause, "%s: cannot get the current "
			    "directory: %s", origin, strerror(errno));
			return -1;
		}
	} else if ((dir = realpath(basedir, NULL)) == NULL) {
		xasprintf(cause, "%s: cannot resolve directory %s: %s", origin,
		    basedir, strerror(errno));
		return -1;
	}

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		xasprintf(cause, "%s:%d:%d: invalid JSON: %s", origin,
		    jerr.line < 1 ? 1 : jerr.line,
		    jerr.column < 1 ? 1 : jerr.column, jerr.text);
		free(dir);
		return -1;
	}

	cf = xcalloc(1, sizeof *cf);
	cf->path = xstrdup(origin);
	cf->dir = dir;
	cf->prefix = xstrdup("!");
	cf->admins = xcalloc(1, sizeof *cf->admins);
	cf->unknown_command = UNKNOWN_IGNORE;
	cf->max_line = 512;
	cf->admin_rate = 2;
	cf->metrics_enabled = 1;
	cf->poll_interval = 5;
	cf->history_duration = 3600;
	config_restart_defaults(&cf->restart);

	memset(&ctx, 0, sizeof ctx);
	ctx.origin = origin;
	ctx.text = text;
	ctx.len = len;
	ctx.plugin_dir = plugin_dir;
	ctx.cf = cf;
	if (config_parse_root(&ctx, root) == -1) {
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

/* Read at most CONFIG_MAX_SIZE bytes of a regular file. */
static int
config_read_file(const char *path, char **buf, size_t *len, char **cause)
{
	struct stat	 sb;
	ssize_t		 n;
	size_t		 off = 0;
	char		*data;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		xasprintf(cause, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (sb.st_size > CONFIG_MAX_SIZE) {
		xasprintf(cause, "%s: too large: %lld bytes, the limit is %d",
		    path, (long long)sb.st_size, CONFIG_MAX_SIZE);
		close(fd);
		return -1;
	}
	/* One byte more than allowed, to notice a file that grew meanwhile. */
	data = xmalloc(CONFIG_MAX_SIZE + 1);
	while (off < CONFIG_MAX_SIZE + 1) {
		n = read(fd, data + off, CONFIG_MAX_SIZE + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: cannot read: %s", path,
			    strerror(errno));
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (off > CONFIG_MAX_SIZE) {
		xasprintf(cause, "%s: too large: more than %d bytes", path,
		    CONFIG_MAX_SIZE);
		free(data);
		return -1;
	}
	*buf = data;
	*len = off;
	return 0;
}

static int
config_load_file_raw(const char *path, const char *plugin_dir,
    struct config **out, char **cause)
{
	const char	*slash, *base;
	char		*text, *given, *dir, *abspath;
	size_t		 len;
	int		 rc;

	*out = NULL;
	*cause = NULL;
	if (config_read_file(path, &text, &len, cause) == -1)
		return -1;

	/*
	 * Relative paths in the file resolve against the directory it was
	 * named in, made absolute; a symlinked file is not followed to its
	 * target's directory.
	 */
	if ((slash = strrchr(path, '/')) == NULL) {
		given = xstrdup(".");
		base = path;
	} else {
		given = slash == path ? xstrdup("/") :
		    xstrndup(path, (size_t)(slash - path));
		base = slash + 1;
	}
	if ((dir = realpath(given, NULL)) == NULL) {
		xasprintf(cause, "%s: cannot resolve directory %s: %s", path,
		    given, strerror(errno));
		free(given);
		free(text);
		return -1;
	}
	free(given);
	abspath = config_join(dir, base);
	rc = config_load_string_raw(text, len, path, dir, plugin_dir, out, cause);
	free(text);
	free(dir);
	if (rc == 0) {
		/* Absolute, so a reload still finds it after a chdir. */
		free((*out)->path);
		(*out)->path = abspath;
	} else
		free(abspath);
	return rc;
}

/*
 * An error is one line of text for a terminal or a JSON reply: control
 * characters the input brought into it (jansson quotes the offending text,
 * paths may hold anything) become '?', and it is kept valid UTF-8.
 */
static void
config_clean_cause(char *cause)
{
	char	*p;

	if (cause == NULL)
		return;
	for (p = cause; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	utf8_sanitize(cause);
}

int
config_load_string(const char *text, size_t len, const char *origin,
    const char *basedir, const char *plugin_dir, struct config **out,
    char **cause)
{
	int	r;

	r = config_load_string_raw(text, len, origin, basedir, plugin_dir, out,
	    cause);
	if (r != 0)
		config_clean_cause(*cause);
	return r;
}

int
config_load_file(const char *path, const char *plugin_dir,
    struct config **out, char **cause)
{
	int	r;

	r = config_load_file_raw(path, plugin_dir, out, cause);
	if (r != 0)
		config_clean_cause(*cause);
	return r;
}

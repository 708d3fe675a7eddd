/*
 * config.c: the config module's entry points (load a file or a string, or
 * only the socket a file names; the two steps of a load on their own) and
 * the operations on a loaded config: find, copy, compare, free.
 *
 * A load reads the file here, parses the text in parse.c (no file system
 * access) and resolves paths and executables in resolve.c
 * (config-private.h says how the three fit).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "config/config-private.h"

/* Free what the parse kept for resolution. */
static void
config_source_free(struct config_source *src)
{
	if (src == NULL)
		return;
	free(src->origin);
	free(src->text);
	free(src->base_dir);
	free(src);
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

/* Free a NULL-terminated string vector. */
void
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

/* Free what a sandbox config holds. */
static void
config_sandbox_free(struct sandbox_config *sb)
{
	config_free_vector(sb->read);
	config_free_vector(sb->write);
	config_free_vector(sb->syscalls);
}

/* dst, a struct copy of src, made to own copies of src's strings. */
static void
config_identity_dup(struct plugin_identity *dst,
    const struct plugin_identity *src)
{
	dst->directory = src->directory != NULL ? xstrdup(src->directory) :
	    NULL;
	dst->user = src->user != NULL ? xstrdup(src->user) : NULL;
	dst->group = src->group != NULL ? xstrdup(src->group) : NULL;
	dst->groups = NULL;
	if (src->ngroups > 0) {
		dst->groups = xreallocarray(NULL, src->ngroups,
		    sizeof *dst->groups);
		memcpy(dst->groups, src->groups, src->ngroups *
		    sizeof *dst->groups);
	}
}

/* Free what an identity holds. */
static void
config_identity_free(struct plugin_identity *id)
{
	free(id->directory);
	free(id->user);
	free(id->group);
	free(id->groups);
}

/* A deep copy of one plugin's config, owned by the caller. */
struct plugin_config *
config_plugin_dup(const struct plugin_config *pc)
{
	struct plugin_config	*copy = xcalloc(1, sizeof *copy);

	*copy = *pc;
	copy->name = xstrdup(pc->name);
	copy->platform = pc->platform != NULL ? xstrdup(pc->platform) : NULL;
	copy->argv = config_dup_vector(pc->argv, pc->argc);
	copy->env = config_dup_vector(pc->env, pc->nenv);
	copy->config = json_deep_copy(pc->config);
	copy->log_file.path = pc->log_file.path != NULL ?
	    xstrdup(pc->log_file.path) : NULL;
	config_identity_dup(&copy->identity, &pc->identity);
	copy->watch_paths = pc->watch_paths != NULL ?
	    config_dup_vector(pc->watch_paths, pc->nwatch) : NULL;
	copy->sandbox.read = config_dup_vector(pc->sandbox.read,
	    pc->sandbox.nread);
	copy->sandbox.write = config_dup_vector(pc->sandbox.write,
	    pc->sandbox.nwrite);
	copy->sandbox.syscalls = config_dup_vector(pc->sandbox.syscalls,
	    pc->sandbox.nsyscalls);
	return copy;
}

void
config_plugin_free(struct plugin_config *pc)
{
	if (pc == NULL)
		return;
	free(pc->name);
	free(pc->platform);
	config_free_vector(pc->argv);
	config_free_vector(pc->env);
	json_decref(pc->config);
	free(pc->log_file.path);
	config_identity_free(&pc->identity);
	config_free_vector(pc->watch_paths);
	config_sandbox_free(&pc->sandbox);
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

/* 1 if two output policies and log files are the same. */
static int
config_output_equal(const struct plugin_config *a,
    const struct plugin_config *b)
{
	const struct output_policy	*x = &a->output, *y = &b->output;

	if ((a->log_file.path == NULL) != (b->log_file.path == NULL) ||
	    (a->log_file.path != NULL &&
	    strcmp(a->log_file.path, b->log_file.path) != 0))
		return 0;
	return a->log_file.max_bytes == b->log_file.max_bytes &&
	    a->log_file.backups == b->log_file.backups &&
	    x->lines_per_second == y->lines_per_second &&
	    x->burst_lines == y->burst_lines &&
	    x->bytes_per_second == y->bytes_per_second &&
	    x->burst_bytes == y->burst_bytes &&
	    x->summary_interval == y->summary_interval;
}

/* 1 if two plugins would run in the same directory, as the same user. */
static int
config_identity_equal(const struct plugin_identity *a,
    const struct plugin_identity *b)
{
	size_t	i;

	if ((a->directory == NULL) != (b->directory == NULL) ||
	    (a->directory != NULL && strcmp(a->directory, b->directory) != 0))
		return 0;
	if (a->set_uid != b->set_uid || a->set_gid != b->set_gid ||
	    a->uid != b->uid || a->gid != b->gid || a->ngroups != b->ngroups ||
	    a->umask != b->umask || a->set_nice != b->set_nice ||
	    a->nice != b->nice)
		return 0;
	for (i = 0; i < a->ngroups; i++) {
		if (a->groups[i] != b->groups[i])
			return 0;
	}
	return 1;
}

/* 1 if two sandboxes are the same. */
static int
config_sandbox_equal(const struct sandbox_config *a,
    const struct sandbox_config *b)
{
	return a->enabled == b->enabled && a->required == b->required &&
	    a->network == b->network && a->root == b->root &&
	    config_vector_equal(a->read, a->nread, b->read, b->nread) &&
	    config_vector_equal(a->write, a->nwrite, b->write, b->nwrite) &&
	    config_vector_equal(a->syscalls, a->nsyscalls, b->syscalls,
	    b->nsyscalls);
}

/* 1 if two plugin configs would run the same plugin the same way. */
int
config_plugin_equal(const struct plugin_config *a,
    const struct plugin_config *b)
{
	return strcmp(a->name, b->name) == 0 && a->role == b->role &&
	    strcmp(config_platform(a), config_platform(b)) == 0 &&
	    config_vector_equal(a->argv, a->argc, b->argv, b->argc) &&
	    config_vector_equal(a->env, a->nenv, b->env, b->nenv) &&
	    json_equal(a->config, b->config) &&
	    a->autostart == b->autostart && a->terminal == b->terminal &&
	    config_restart_equal(&a->restart, &b->restart) &&
	    a->limits.memory_mb == b->limits.memory_mb &&
	    a->limits.violations == b->limits.violations &&
	    a->limits.cpu_percent == b->limits.cpu_percent &&
	    a->limits.cpu_seconds == b->limits.cpu_seconds &&
	    config_output_equal(a, b) &&
	    config_identity_equal(&a->identity, &b->identity) &&
	    config_sandbox_equal(&a->sandbox, &b->sandbox);
}

/*
 * 1 if two configs of a plugin upgrade and watch alike ("reload", "watch"):
 * these change how the daemon handles the next change, not the process,
 * so a reload takes them without a restart.
 */
int
config_plugin_watch_equal(const struct plugin_config *a,
    const struct plugin_config *b)
{
	return a->reload == b->reload && a->watch == b->watch &&
	    config_vector_equal(a->watch_paths, a->nwatch, b->watch_paths,
	    b->nwatch);
}

/* 1 if two alert rules are the same rule (a reload keeps its alerts). */
int
config_alert_rule_equal(const struct alert_rule_config *a,
    const struct alert_rule_config *b)
{
	return strcmp(a->name, b->name) == 0 &&
	    config_vector_equal(a->plugins, a->nplugins, b->plugins,
	    b->nplugins) && a->metric == b->metric && a->op == b->op &&
	    a->value == b->value && a->window == b->window &&
	    a->hold == b->hold && a->severity == b->severity;
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
		free(p->platform);
		config_free_vector(p->argv);
		config_free_vector(p->env);
		json_decref(p->config);
		free(p->log_file.path);
		config_identity_free(&p->identity);
		config_free_vector(p->watch_paths);
		config_sandbox_free(&p->sandbox);
	}
	free(cf->plugins);
	for (i = 0; i < cf->alerts.ntargets; i++) {
		free(cf->alerts.targets[i].connector);
		free(cf->alerts.targets[i].channel);
	}
	free(cf->alerts.targets);
	for (i = 0; i < cf->alerts.nrules; i++) {
		free(cf->alerts.rules[i].name);
		config_free_vector(cf->alerts.rules[i].plugins);
	}
	free(cf->alerts.rules);
	config_free_vector(cf->admins);
	free(cf->prefix);
	free(cf->socket_path);
	free(cf->state_dir);
	free(cf->http.listen);
	free(cf->http.host);
	free(cf->http.token);
	free(cf->dir);
	free(cf->path);
	config_source_free(cf->source);
	free(cf);
}

/*
 * Read at most CONFIG_MAX_SIZE bytes of a regular file. The open must not
 * block: a FIFO opened for reading waits for a writer, and the daemon loads
 * its config from its event loop (SIGHUP, reload), so it opens without
 * waiting (O_NONBLOCK, which a regular file ignores) and refuses anything
 * but a regular file before reading. O_NOCTTY: a terminal named as the
 * config must not become the daemon's controlling terminal.
 */
static int
config_read_file(const char *path, char **buf, size_t *len, char **cause)
{
	struct stat	 sb;
	ssize_t		 n;
	size_t		 off = 0;
	char		*data;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		/* A socket cannot be opened at all: say what it is. */
		if (errno == ENXIO && stat(path, &sb) == 0 &&
		    !S_ISREG(sb.st_mode))
			xasprintf(cause, "%s: not a regular file (%s)", path,
			    config_file_type(sb.st_mode));
		else
			xasprintf(cause, "%s: cannot open: %s", path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		xasprintf(cause, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		xasprintf(cause, "%s: not a regular file (%s)", path,
		    config_file_type(sb.st_mode));
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

/*
 * The directory a config file's relative paths resolve against: the one it
 * was named in, made absolute; a symlinked file is not followed to its
 * target's directory. Also, unless abspath is NULL, the file's own
 * absolute path.
 */
static int
config_file_dir(const char *path, char **dir, char **abspath, char **cause)
{
	const char	*slash, *base;
	char		*given;

	if ((slash = strrchr(path, '/')) == NULL) {
		given = xstrdup(".");
		base = path;
	} else {
		given = slash == path ? xstrdup("/") :
		    xstrndup(path, (size_t)(slash - path));
		base = slash + 1;
	}
	*dir = config_base_dir(path, given, cause);
	free(given);
	if (*dir == NULL)
		return -1;
	if (abspath != NULL)
		xasprintf(abspath, "%s%s%s", *dir,
		    strcmp(*dir, "/") == 0 ? "" : "/", base);
	return 0;
}

/* Parse, then resolve against dir (taken) and plugin_dir. */
static int
config_load_text(const char *text, size_t len, const char *origin, char *dir,
    int from_file, const char *plugin_dir, struct config **out, char **cause)
{
	struct config	*cf;

	if (config_parse_text(text, len, origin, CONFIG_PART_ALL, &cf,
	    cause) == -1) {
		free(dir);
		return -1;
	}
	cf->source->from_file = from_file;
	if (config_resolve_paths(cf, dir, cause) == -1 ||
	    config_resolve_execs(cf, plugin_dir, cause) == -1) {
		config_free(cf);
		return -1;
	}
	config_source_free(cf->source);
	cf->source = NULL;
	*out = cf;
	return 0;
}

/* config_load_string, its cause not yet cleaned. */
static int
config_load_string_raw(const char *text, size_t len, const char *origin,
    const char *basedir, const char *plugin_dir, struct config **out,
    char **cause)
{
	char	*dir;

	*out = NULL;
	*cause = NULL;
	if (origin == NULL)
		origin = "(string)";
	if ((dir = config_base_dir(origin, basedir, cause)) == NULL)
		return -1;
	return config_load_text(text, len, origin, dir, 0, plugin_dir, out,
	    cause);
}

/* config_load_file, its cause not yet cleaned. */
static int
config_load_file_raw(const char *path, const char *plugin_dir,
    struct config **out, char **cause)
{
	char	*text, *dir, *abspath;
	size_t	 len;
	int	 rc;

	*out = NULL;
	*cause = NULL;
	if (config_read_file(path, &text, &len, cause) == -1)
		return -1;
	if (config_file_dir(path, &dir, &abspath, cause) == -1) {
		free(text);
		return -1;
	}
	rc = config_load_text(text, len, path, dir, 1, plugin_dir, out, cause);
	free(text);
	if (rc == 0) {
		/* Absolute, so a reload still finds it after a chdir. */
		free((*out)->path);
		(*out)->path = abspath;
	} else
		free(abspath);
	return rc;
}

/* Read a file, parse what names the socket, resolve it; nothing else. */
static int
config_load_socket_raw(const char *path, char **socket_path, char **cause)
{
	struct config	*cf;
	char		*text, *dir;
	size_t		 len;
	int		 rc;

	*socket_path = NULL;
	*cause = NULL;
	if (config_read_file(path, &text, &len, cause) == -1)
		return -1;
	if (config_file_dir(path, &dir, NULL, cause) == -1) {
		free(text);
		return -1;
	}
	rc = config_parse_text(text, len, path, CONFIG_PART_SOCKET, &cf, cause);
	free(text);
	if (rc == -1) {
		free(dir);
		return -1;
	}
	cf->source->from_file = 1;
	if (config_resolve_paths(cf, dir, cause) == 0) {
		*socket_path = cf->socket_path;
		cf->socket_path = NULL;
	} else
		rc = -1;
	config_free(cf);
	return rc;
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

int
config_load_socket(const char *path, char **socket_path, char **cause)
{
	int	r;

	r = config_load_socket_raw(path, socket_path, cause);
	if (r != 0)
		config_clean_cause(*cause);
	return r;
}

int
config_parse(const char *text, size_t len, const char *origin,
    struct config **out, char **cause)
{
	int	r;

	r = config_parse_text(text, len, origin, CONFIG_PART_ALL, out, cause);
	if (r != 0)
		config_clean_cause(*cause);
	return r;
}

int
config_resolve(struct config *cf, const char *basedir, const char *plugin_dir,
    char **cause)
{
	char	*dir;
	int	 r = -1;

	*cause = NULL;
	if (cf->source == NULL)
		fatalx("%s: config resolved already", __func__);
	if ((dir = config_base_dir(cf->source->origin, basedir, cause)) != NULL &&
	    config_resolve_paths(cf, dir, cause) == 0 &&
	    config_resolve_execs(cf, plugin_dir, cause) == 0)
		r = 0;
	if (r != 0) {
		config_clean_cause(*cause);
		return r;
	}
	config_source_free(cf->source);
	cf->source = NULL;
	return 0;
}

/*
 * resolve.c: the part of a load that looks at the file system, run on a
 * config parse.c has checked: the directory relative paths resolve
 * against, the control socket's path made absolute (it must fit a Unix
 * socket address), and each plugin's executable found in the plugin
 * directory or PATH. Errors point into the text the parse kept, in the
 * same "FILE:LINE:COL: JSON.PATH: what" form as the parse's.
 */
#include <sys/stat.h>
#include <sys/un.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "config/config-private.h"

#define CONFIG_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"

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

/* Note one tried path and why it did not do, for the error line. */
static void
config_tried(char *buf, size_t size, size_t *off, const char *path,
    const char *why)
{
	config_append(buf, size, off, "%s%s (%s)", *off > 0 ? ", " : "",
	    path, why);
}

/*
 * An ELF header's class, byte order, type and machine; 0 if the bytes are
 * no ELF header. e_type and e_machine sit at the same offsets in the 32-
 * and 64-bit headers.
 */
struct config_elf {
	unsigned char	cls, data, version;
	uint16_t	type, machine;
};

static int
config_elf_header(const unsigned char *head, size_t n, struct config_elf *e)
{
	if (n < EI_NIDENT + 4 || memcmp(head, ELFMAG, SELFMAG) != 0)
		return 0;
	e->cls = head[EI_CLASS];
	e->data = head[EI_DATA];
	e->version = head[EI_VERSION];
	memcpy(&e->type, head + EI_NIDENT, sizeof e->type);
	memcpy(&e->machine, head + EI_NIDENT + 2, sizeof e->machine);
	return 1;
}

/* The daemon's own ELF header: what this machine runs. */
static int
config_host_elf(struct config_elf *e)
{
	static struct config_elf	host;
	static int			known = -1;
	unsigned char			head[64];
	ssize_t				n;
	int				fd;

	if (known == -1) {
		known = 0;
		if ((fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, head, sizeof head);
			close(fd);
			known = n > 0 && config_elf_header(head, (size_t)n,
			    &host);
		}
	}
	*e = host;
	return known;
}

/*
 * What exec would say of a file's first bytes, before a plugin is ever
 * started: a script's #! interpreter must exist and be executable, an ELF
 * file must be one this machine runs (as the daemon's own header says).
 * Anything else is left to exec, which reports a failure as a failed spawn.
 * 0 if fine, else -1 and why (in buf when it names the interpreter).
 */
static int
config_check_image(const char *path, char *buf, size_t size,
    const char **why)
{
	unsigned char		 head[256];
	char			 interp[sizeof head];
	struct config_elf	 e, host;
	ssize_t			 n;
	size_t			 i, j;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return 0;	/* execute-only: exec will say */
	n = read(fd, head, sizeof head);
	close(fd);
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		for (i = 2; i < (size_t)n && (head[i] == ' ' ||
		    head[i] == '\t'); i++)
			;
		for (j = 0; i < (size_t)n && head[i] != ' ' &&
		    head[i] != '\t' && head[i] != '\n' && head[i] != '\r'; i++)
			interp[j++] = (char)head[i];
		interp[j] = '\0';
		if (j == 0 || i == sizeof head) {
			*why = "its #! line names no interpreter, or a name "
			    "too long";
			return -1;
		}
		if (access(interp, X_OK) == -1) {
			snprintf(buf, size, "its #! interpreter %s: %s", interp,
			    errno == ENOENT ? "no such file" : strerror(errno));
			*why = buf;
			return -1;
		}
		return 0;
	}
	if (n > 0 && config_elf_header(head, (size_t)n, &e) &&
	    config_host_elf(&host) &&
	    (e.cls != host.cls || e.data != host.data ||
	    e.version != EV_CURRENT || (e.type != ET_EXEC &&
	    e.type != ET_DYN) || e.machine != host.machine)) {
		*why = "not an executable this machine runs (its ELF header)";
		return -1;
	}
	return 0;
}

/* 0 if path is an executable regular file, else -1 and why not. */
static int
config_check_exec(const char *path, const char **why)
{
	static char	why_buf[PATH_MAX + 64];
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
	return config_check_image(path, why_buf, sizeof why_buf, why);
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
    const char *plugin_dir, const char *cwd)
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
	if (plugin_dir != NULL && plugin_dir[0] != '\0') {
		/* The directory may be BIN/../plugins: tidy it if it exists. */
		if ((base = realpath(plugin_dir, NULL)) == NULL)
			base = config_join(cwd, plugin_dir);
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

/*
 * "watch": listed paths relative to the config's directory, as exec's; true
 * is the program and, for a script given to an interpreter (["python3",
 * "bot.py"]), that script if it exists (relative to the daemon's directory,
 * where the plugin starts).
 */
static void
config_resolve_watch(struct plugin_config *p, const char *dir,
    const char *cwd)
{
	struct stat	 st;
	char		*s;
	size_t		 i;

	if (!p->watch)
		return;
	if (p->nwatch > 0) {
		for (i = 0; i < p->nwatch; i++) {
			s = config_join(dir, p->watch_paths[i]);
			free(p->watch_paths[i]);
			p->watch_paths[i] = s;
		}
		return;
	}
	p->watch_paths = xcalloc(3, sizeof *p->watch_paths);
	p->watch_paths[p->nwatch++] = xstrdup(p->argv[0]);
	if (p->argc > 1 && p->argv[1][0] != '-') {
		s = config_join(cwd, p->argv[1]);
		if (stat(s, &st) == 0 && S_ISREG(st.st_mode))
			p->watch_paths[p->nwatch++] = s;
		else
			free(s);
	}
}

/* A context for errors that point into the text cf was parsed from. */
static void
config_resolve_ctx(struct config_ctx *ctx, struct config *cf)
{
	if (cf->source == NULL)
		fatalx("%s: config resolved already", __func__);
	memset(ctx, 0, sizeof *ctx);
	ctx->origin = cf->source->origin;
	ctx->text = cf->source->text;
	ctx->len = cf->source->len;
	ctx->cf = cf;
}

/*
 * The directory a config's relative paths resolve against, absolute:
 * basedir with symlinks resolved, or the current directory if NULL. NULL
 * and *cause naming origin if there is none.
 */
char *
config_base_dir(const char *origin, const char *basedir, char **cause)
{
	char	*dir;

	if (basedir == NULL) {
		if ((dir = getcwd(NULL, 0)) == NULL)
			xasprintf(cause, "%s: cannot get the current "
			    "directory: %s", origin, strerror(errno));
	} else if ((dir = realpath(basedir, NULL)) == NULL)
		xasprintf(cause, "%s: cannot resolve directory %s: %s", origin,
		    basedir, strerror(errno));
	return dir;
}

/*
 * What is at the socket path must be nothing or a socket: the daemon
 * removes a stale socket there, and must never remove anything else (a
 * "socket" naming the config file itself would delete it). A symbolic link
 * is refused too, whatever it points to: removing it is removing a file the
 * daemon did not make. An lstat that fails for another reason than a
 * missing file is left to the daemon, which says why when it binds.
 */
static int
config_check_socket(struct config_ctx *ctx, const char *path, char **cause)
{
	struct stat	 sb;

	if (lstat(path, &sb) == -1 || S_ISSOCK(sb.st_mode))
		return 0;
	/* Whole, not cut as config_quote would: it fits a socket address. */
	config_push_key(ctx, "socket");
	config_error(ctx, ctx->cf->source->socket_given ? AT_VALUE : AT_PARENT,
	    "socket path \"%s\" is %s, not a socket: refusing to replace it",
	    path, config_file_type(sb.st_mode));
	config_pop(ctx);
	*cause = ctx->cause;
	return -1;
}

/* What kind of file a mode is, with its article: "a FIFO". */
const char *
config_file_type(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	return "a file of unknown type";
}

/*
 * Make each plugin's log_file path absolute against the config's
 * directory; two plugins writing (and rotating) one file is refused.
 * Whether the file can be written is learned when the daemon writes it:
 * a directory that is missing now may exist by then, and the daemon logs
 * the error and carries on (supervisor/output.c).
 */
static int
config_resolve_log_files(struct config_ctx *ctx, struct config *cf)
{
	struct log_file_config	*lf;
	char			*path, quoted[CONFIG_QUOTE_SIZE];
	size_t			 i, j;

	for (i = 0; i < cf->nplugins; i++) {
		lf = &cf->plugins[i].log_file;
		if (lf->path == NULL)
			continue;
		path = config_join(cf->dir, lf->path);
		free(lf->path);
		lf->path = path;
		for (j = 0; j < i; j++) {
			if (cf->plugins[j].log_file.path == NULL ||
			    strcmp(cf->plugins[j].log_file.path, path) != 0)
				continue;
			config_quote(path, quoted, sizeof quoted);
			config_push_key(ctx, "plugins");
			config_push_index(ctx, i);
			config_push_key(ctx, "log_file");
			config_push_key(ctx, "path");
			config_error(ctx, AT_VALUE, "%s is the log file of "
			    "plugins[%zu] already", quoted, j);
			return -1;
		}
	}
	return 0;
}

/*
 * Each path a plugin's sandbox grants must exist now: Landlock grants a
 * file or directory by its descriptor, so a path missing at spawn would be
 * a grant silently dropped (or a plugin that cannot start).
 */
static int
config_resolve_sandbox(struct config_ctx *ctx, struct config *cf)
{
	const struct sandbox_config	*sb;
	struct stat			 st;
	char				 quoted[CONFIG_QUOTE_SIZE];
	char *const			*list;
	size_t				 i, j, k;

	for (i = 0; i < cf->nplugins; i++) {
		sb = &cf->plugins[i].sandbox;
		for (k = 0; k < 2; k++) {
			list = k == 0 ? sb->read : sb->write;
			for (j = 0; list != NULL && list[j] != NULL; j++) {
				if (stat(list[j], &st) == 0)
					continue;
				config_quote(list[j], quoted, sizeof quoted);
				config_push_key(ctx, "plugins");
				config_push_index(ctx, i);
				config_push_key(ctx, "sandbox");
				config_push_key(ctx, k == 0 ? "read" : "write");
				config_push_index(ctx, j);
				config_error(ctx, AT_VALUE, "%s: %s", quoted,
				    strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Take dir (from config_base_dir) as the config's directory and make the
 * socket path absolute against it; it must fit sun_path with its NUL, and
 * what is there already must be a socket, if anything. Plugins' log
 * files resolve against it too.
 */
int
config_resolve_paths(struct config *cf, char *dir, char **cause)
{
	struct sockaddr_un	 sun;
	struct config_ctx	 ctx;
	char			*path, *base, quoted[CONFIG_QUOTE_SIZE];
	size_t			 len;

	config_resolve_ctx(&ctx, cf);
	/*
	 * base_dir moves what relative paths resolve against, from the file's
	 * directory (config/default.json: "..", the source tree, where the
	 * daemon with its built-in copy of that file runs). The built-in
	 * config resolves against the current directory, so it is not applied
	 * to a config that is no file.
	 */
	if (cf->source->base_dir != NULL && cf->source->from_file) {
		path = config_join(dir, cf->source->base_dir);
		if ((base = realpath(path, NULL)) == NULL) {
			config_quote(cf->source->base_dir, quoted,
			    sizeof quoted);
			config_push_key(&ctx, "base_dir");
			config_error(&ctx, AT_VALUE, "cannot resolve directory "
			    "%s (in %s): %s", quoted, dir, strerror(errno));
			config_pop(&ctx);
			free(path);
			free(dir);
			*cause = ctx.cause;
			return -1;
		}
		free(path);
		free(dir);
		dir = base;
	}
	free(cf->dir);
	cf->dir = dir;
	path = config_join(dir, cf->state_dir);
	free(cf->state_dir);
	cf->state_dir = path;
	path = config_join(dir, cf->socket_path);
	free(cf->socket_path);
	cf->socket_path = path;
	if ((len = strlen(path)) >= sizeof sun.sun_path) {
		config_quote(path, quoted, sizeof quoted);
		config_push_key(&ctx, "socket");
		config_error(&ctx, cf->source->socket_given ? AT_VALUE :
		    AT_PARENT, "socket path %s is %zu bytes, longer than the %zu "
		    "a Unix socket allows", quoted, len, sizeof sun.sun_path - 1);
		config_pop(&ctx);
		*cause = ctx.cause;
		return -1;
	}
	if (config_resolve_log_files(&ctx, cf) == -1 ||
	    config_resolve_sandbox(&ctx, cf) == -1) {
		*cause = ctx.cause;
		return -1;
	}
	return config_check_socket(&ctx, path, cause);
}

/* A decimal id ("1000") as written in user or group, or -1. */
static long
config_numeric_id(const char *s)
{
	char	*end;
	long	 n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || n < 0 || n >= 0x7fffffffL)
		return -1;
	return n;
}

/*
 * The supplementary groups of user with primary group gid, as login gives
 * them; at most NGROUPS_MAX, the kernel's bound.
 */
static void
config_user_groups(struct plugin_identity *id, const char *user, gid_t gid)
{
	int	n = 32;

	for (;;) {
		id->groups = xreallocarray(id->groups, (size_t)n,
		    sizeof *id->groups);
		if (getgrouplist(user, gid, id->groups, &n) != -1)
			break;
		if (n > NGROUPS_MAX)
			n = NGROUPS_MAX;
		else if (n <= 32)
			n = 64;
	}
	id->ngroups = (size_t)n;
}

/*
 * A plugin's directory, user and group, looked up here in the daemon so the
 * child only makes system calls. Switching user or group takes root: a
 * daemon that is not root may only name its own.
 */
static int
config_resolve_identity(struct config_ctx *ctx, struct plugin_config *p)
{
	struct plugin_identity	*id = &p->identity;
	struct passwd		*pw = NULL;
	struct group		*gr = NULL;
	struct stat		 sb;
	char			*path, quoted[CONFIG_QUOTE_SIZE];
	long			 n;

	if (id->directory != NULL) {
		config_push_key(ctx, "directory");
		config_quote(id->directory, quoted, sizeof quoted);
		path = config_join(ctx->cf->dir, id->directory);
		if (stat(path, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
			config_error(ctx, AT_VALUE, "%s (%s): %s", quoted, path,
			    access(path, F_OK) == 0 ? "not a directory" :
			    strerror(errno));
			free(path);
			return -1;
		}
		free(id->directory);
		id->directory = path;
		config_pop(ctx);
	}
	if (id->user != NULL) {
		config_push_key(ctx, "user");
		config_quote(id->user, quoted, sizeof quoted);
		n = config_numeric_id(id->user);
		if ((pw = n == -1 ? getpwnam(id->user) : getpwuid((uid_t)n)) ==
		    NULL && (n == -1 || id->group == NULL))
			return config_error(ctx, AT_VALUE, n == -1 ?
			    "no user named %s on this machine" : "uid %s has "
			    "no passwd entry: give its group too", quoted);
		id->uid = pw != NULL ? pw->pw_uid : (uid_t)n;
		id->gid = pw != NULL ? pw->pw_gid : 0;
		id->set_uid = id->set_gid = 1;
		if (geteuid() != 0 && id->uid != geteuid())
			return config_error(ctx, AT_VALUE, "the daemon runs as "
			    "uid %u, not root: it cannot run a plugin as user %s "
			    "(leave user out, or start the daemon as root)",
			    (unsigned)geteuid(), quoted);
		config_pop(ctx);
	}
	if (id->group != NULL) {
		config_push_key(ctx, "group");
		config_quote(id->group, quoted, sizeof quoted);
		n = config_numeric_id(id->group);
		if ((gr = n == -1 ? getgrnam(id->group) : getgrgid((gid_t)n)) ==
		    NULL && n == -1)
			return config_error(ctx, AT_VALUE, "no group named %s "
			    "on this machine", quoted);
		id->gid = gr != NULL ? gr->gr_gid : (gid_t)n;
		id->set_gid = 1;
		if (geteuid() != 0 && id->gid != getegid())
			return config_error(ctx, AT_VALUE, "the daemon runs as "
			    "gid %u, not root: it cannot run a plugin in group "
			    "%s (leave group out, or start the daemon as root)",
			    (unsigned)getegid(), quoted);
		config_pop(ctx);
	}
	/* Not root, its own user or group: nothing to change (nor allowed). */
	if (geteuid() != 0) {
		id->set_uid = id->set_gid = 0;
		return 0;
	}
	if (id->set_uid && pw != NULL)
		config_user_groups(id, pw->pw_name, id->gid);
	else if (id->set_gid) {
		id->groups = xreallocarray(id->groups, 1, sizeof *id->groups);
		id->groups[0] = id->gid;
		id->ngroups = 1;
	}
	return 0;
}

/*
 * Resolve every plugin's executable: the last pass, after the paths (a
 * relative exec with a slash resolves against cf->dir).
 */
int
config_resolve_execs(struct config *cf, const char *plugin_dir, char **cause)
{
	struct config_ctx	 ctx;
	char			*cwd;
	size_t			 i;
	int			 rc = 0;

	config_resolve_ctx(&ctx, cf);
	if (cf->dir == NULL)
		fatalx("%s: paths not resolved", __func__);
	if ((cwd = getcwd(NULL, 0)) == NULL)
		cwd = xstrdup(cf->dir);
	config_push_key(&ctx, "plugins");
	for (i = 0; i < cf->nplugins && rc == 0; i++) {
		config_push_index(&ctx, i);
		if ((rc = config_resolve_identity(&ctx, &cf->plugins[i])) == -1)
			break;
		config_push_key(&ctx, "exec");
		config_push_index(&ctx, 0);
		rc = config_resolve_exec(&ctx, &cf->plugins[i], plugin_dir,
		    cwd);
		if (rc == 0)
			config_resolve_watch(&cf->plugins[i], cf->dir, cwd);
		config_pop(&ctx);
		config_pop(&ctx);
		config_pop(&ctx);
	}
	config_pop(&ctx);
	free(cwd);
	if (rc == -1)
		*cause = ctx.cause;
	return rc;
}

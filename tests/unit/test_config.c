/*
 * test_config.c: loading and validating the JSON config (config/).
 *
 * Every test runs against a scratch directory holding fake plugin
 * executables (plugins/), a PATH directory (bin/) and config files. A valid
 * config is read back field by field; each invalid one must give -1 and the
 * exact one-line cause an operator would read: FILE:LINE:COL: PATH: what.
 *
 * The parse step must touch no file system: the calls that would (open,
 * stat, access, realpath, getcwd, getenv, ...) are wrapped at link time
 * (-Wl,--wrap in the Makefile) and counted while a test forbids them.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "config/config.h"
#include "config/jsonpos.h"

/* The scratch tree shared by every test. */
static char	 tmpdir[PATH_MAX];
static char	*plugindir;
static char	*bindir;
static char	*old_path;

/* While set, a file system call fails and is counted in fs_calls. */
static int		 fs_forbidden;
static int		 fs_calls;
static const char	*fs_first;	/* the first call made while forbidden */

/* The real functions, and the wrappers the linker puts in their place. */
int	 __real_open(const char *, int, ...);
int	 __real_openat(int, const char *, int, ...);
FILE	*__real_fopen(const char *, const char *);
int	 __real_stat(const char *, struct stat *);
int	 __real_lstat(const char *, struct stat *);
int	 __real_access(const char *, int);
char	*__real_realpath(const char *, char *);
char	*__real_getcwd(char *, size_t);
char	*__real_getenv(const char *);
ssize_t	 __real_readlink(const char *, char *, size_t);
DIR	*__real_opendir(const char *);
int	 __wrap_open(const char *, int, ...);
int	 __wrap_openat(int, const char *, int, ...);
FILE	*__wrap_fopen(const char *, const char *);
int	 __wrap_stat(const char *, struct stat *);
int	 __wrap_lstat(const char *, struct stat *);
int	 __wrap_access(const char *, int);
char	*__wrap_realpath(const char *, char *);
char	*__wrap_getcwd(char *, size_t);
char	*__wrap_getenv(const char *);
ssize_t	 __wrap_readlink(const char *, char *, size_t);
DIR	*__wrap_opendir(const char *);

/* 1 (and the call noted, errno EPERM) if file system calls are forbidden. */
static int
fs_refuse(const char *name)
{
	if (!fs_forbidden)
		return 0;
	if (fs_calls++ == 0)
		fs_first = name;
	errno = EPERM;
	return 1;
}

int
__wrap_open(const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;

	if (fs_refuse("open"))
		return -1;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return __real_open(path, flags, mode);
}

int
__wrap_openat(int dirfd, const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;

	if (fs_refuse("openat"))
		return -1;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return __real_openat(dirfd, path, flags, mode);
}

FILE *
__wrap_fopen(const char *path, const char *mode)
{
	return fs_refuse("fopen") ? NULL : __real_fopen(path, mode);
}

int
__wrap_stat(const char *path, struct stat *sb)
{
	return fs_refuse("stat") ? -1 : __real_stat(path, sb);
}

int
__wrap_lstat(const char *path, struct stat *sb)
{
	return fs_refuse("lstat") ? -1 : __real_lstat(path, sb);
}

int
__wrap_access(const char *path, int mode)
{
	return fs_refuse("access") ? -1 : __real_access(path, mode);
}

char *
__wrap_realpath(const char *path, char *resolved)
{
	return fs_refuse("realpath") ? NULL : __real_realpath(path, resolved);
}

char *
__wrap_getcwd(char *buf, size_t size)
{
	return fs_refuse("getcwd") ? NULL : __real_getcwd(buf, size);
}

char *
__wrap_getenv(const char *name)
{
	return fs_refuse("getenv") ? NULL : __real_getenv(name);
}

ssize_t
__wrap_readlink(const char *path, char *buf, size_t size)
{
	return fs_refuse("readlink") ? -1 : __real_readlink(path, buf, size);
}

DIR *
__wrap_opendir(const char *path)
{
	return fs_refuse("opendir") ? NULL : __real_opendir(path);
}

/* config_parse with the file system forbidden; no call may have been made. */
static int
parse_pure(const char *text, const char *origin, struct config **cf,
    char **cause)
{
	int	rc;

	fs_calls = 0;
	fs_first = NULL;
	fs_forbidden = 1;
	rc = config_parse(text, strlen(text), origin, cf, cause);
	fs_forbidden = 0;
	if (fs_calls != 0)
		fail_msg("config_parse made %d file system or environment calls, "
		    "the first %s()", fs_calls, fs_first);
	return rc;
}

/* A minimal valid plugin entry. */
#define PLUG	"{\"name\": \"a\", \"exec\": [\"dice-roller\"]}"
#define PLUG_CONFIG	"{\"plugins\": [" PLUG "]}"

/* Write a file under the scratch directory with the given mode. */
static char *
write_file(const char *rel, const char *text, size_t len, mode_t mode)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", tmpdir, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
write_script(const char *rel, mode_t mode)
{
	static const char	script[] = "#!/bin/sh\nexit 0\n";

	free(write_file(rel, script, sizeof script - 1, mode));
}

static void
make_dir(const char *rel)
{
	char	*path;

	xasprintf(&path, "%s/%s", tmpdir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

static int
group_setup(void **state)
{
	const char	*path;
	char		*newpath;

	strlcpy_(tmpdir, "/tmp/test_config.XXXXXX", sizeof tmpdir);
	assert_non_null(mkdtemp(tmpdir));
	make_dir("plugins");
	make_dir("bin");
	make_dir("etc");
	make_dir("etc/scripts");
	make_dir("plugins/adir");
	write_script("plugins/console", 0755);
	write_script("plugins/dice-roller", 0755);
	write_script("plugins/8ball", 0755);
	write_script("plugins/pick", 0755);
	write_script("plugins/noexec", 0644);
	free(write_file("plugins/badinterp", "#!/nonexistent/python3 -u\n", 26,
	    0755));
	free(write_file("plugins/nointerp", "#!  \nexit 0\n", 12, 0755));
	/* ELF magic, then what no kernel loads: class 0. */
	free(write_file("plugins/badelf", "\177ELF\000\001\001\000"
	    "\000\000\000\000\000\000\000\000\002\000\076\000", 20, 0755));
	write_script("bin/pathtool", 0755);
	write_script("bin/dice-roller", 0755);	/* shadowed by plugins/ */
	write_script("etc/scripts/tool.sh", 0755);
	xasprintf(&plugindir, "%s/plugins", tmpdir);
	xasprintf(&bindir, "%s/bin", tmpdir);

	/* PATH: an empty entry (skipped), bin/, a missing directory. */
	path = getenv("PATH");
	old_path = path != NULL ? xstrdup(path) : NULL;
	xasprintf(&newpath, ":%s:%s/nowhere", bindir, tmpdir);
	assert_int_equal(setenv("PATH", newpath, 1), 0);
	free(newpath);
	return 0;
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
group_teardown(void **state)
{
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	if (old_path != NULL)
		setenv("PATH", old_path, 1);
	free(old_path);
	free(plugindir);
	free(bindir);
	return 0;
}

/* Load text as "cfg.json" from the scratch directory; must succeed. */
static struct config *
load_ok(const char *text)
{
	struct config	*cf = NULL;
	char		*cause = NULL;
	int		 rc;

	rc = config_load_string(text, strlen(text), "cfg.json", tmpdir,
	    plugindir, &cf, &cause);
	if (rc != 0)
		fail_msg("unexpected error: %s", cause);
	assert_null(cause);
	assert_non_null(cf);
	return cf;
}

/* Load text as "cfg.json"; must fail. Returns the cause. */
static char *
load_err(const char *text)
{
	struct config	*cf = (struct config *)1;
	char		*cause = NULL;

	assert_int_equal(config_load_string(text, strlen(text), "cfg.json",
	    tmpdir, plugindir, &cf, &cause), -1);
	assert_null(cf);
	assert_non_null(cause);
	assert_null(strchr(cause, '\n'));
	return cause;
}

#define assert_error(text, expected) do {				\
	char	*cause_ = load_err(text);				\
	assert_string_equal(cause_, (expected));			\
	free(cause_);							\
} while (0)

/* The same, with the expected cause built by printf (it names tmpdir). */
static void printflike(2, 3)
assert_errorf(const char *text, const char *fmt, ...)
{
	va_list	 ap;
	char	*expected;

	va_start(ap, fmt);
	xvasprintf(&expected, fmt, ap);
	va_end(ap);
	assert_error(text, expected);
	free(expected);
}

static void
assert_defaults(const struct restart_policy *rp)
{
	assert_true(rp->first_delay == 0);
	assert_true(rp->initial_delay == 1);
	assert_true(rp->multiplier == 2);
	assert_true(rp->max_delay == 60);
	assert_true(rp->reset_after == 60);
	assert_int_equal(rp->max_crashes, 5);
	assert_true(rp->crash_window == 60);
	assert_true(rp->cooldown == 300);
	assert_int_equal(rp->autorestart, AUTORESTART_ALWAYS);
	assert_true(rp->ready_timeout == 5);
	assert_true(rp->ping_interval == 5);
	assert_true(rp->hang_timeout == 15);
	assert_true(rp->stop_timeout == 3);
	assert_int_equal(rp->queue_size, 256);
	assert_int_equal(rp->crash_history, 64);
	assert_int_equal(rp->stderr_lines, 10);
}

static void
test_restart_defaults(void **state)
{
	struct restart_policy	rp;

	memset(&rp, 0xff, sizeof rp);
	config_restart_defaults(&rp);
	assert_defaults(&rp);
}

static const char full_config[] =
"{\n"
"  \"socket\": \"run/sup.sock\",\n"
"  \"control\": {\"idle_timeout\": 2.5},\n"
"  \"chat\": {\"prefix\": \"?\", \"admins\": [\"console:console\", \"irc:op\"],\n"
"           \"unknown_command\": \"reply\", \"max_line\": 400, \"admin_rate\": 0.5},\n"
"  \"metrics\": {\"enabled\": false, \"poll_interval\": 2.5, \"history_duration\": 600},\n"
"  \"restart\": {\"first_delay\": 0.25, \"initial_delay\": 2, \"multiplier\": 3,\n"
"              \"max_delay\": 120, \"reset_after\": 30, \"max_crashes\": 7,\n"
"              \"crash_window\": 90, \"cooldown\": 0, \"autorestart\": \"on-failure\",\n"
"              \"ready_timeout\": 4, \"ping_interval\": 6, \"hang_timeout\": 20,\n"
"              \"stop_timeout\": 1.5, \"queue_size\": 0, \"crash_history\": 10,\n"
"              \"stderr_lines\": 0},\n"
"  \"plugins\": [\n"
"    {\"name\": \"console\", \"exec\": [\"console\", \"--color\"], \"role\": \"connector\",\n"
"     \"terminal\": true},\n"
"    {\"name\": \"dice-roller\", \"exec\": [\"dice-roller\"], \"autostart\": false,\n"
"     \"env\": {\"LANG\": \"C\", \"DICE_MAX\": \"100\"},\n"
"     \"config\": {\"max_dice\": 50, \"anything\": {\"nested\": [1, 2]}},\n"
"     \"restart\": {\"max_crashes\": 2, \"autorestart\": \"never\", \"max_delay\": 5},\n"
"     \"limits\": {\"memory_mb\": 64.5, \"violations\": 3, \"cpu_percent\": 150,\n"
"                \"cpu_seconds\": 10}},\n"
"    {\"name\": \"tool_1\", \"exec\": [\"pathtool\", \"a\", \"b c\"]},\n"
"    {\"name\": \"script\", \"exec\": [\"scripts/tool.sh\"]},\n"
"    {\"name\": \"abs\", \"exec\": [\"/bin/sh\", \"-c\", \"exit 0\"]}\n"
"  ]\n"
"}\n";

/* Every field read back from a file in etc/, paths resolved against etc/. */
static void
test_full_config(void **state)
{
	const struct plugin_config	*p;
	struct config			*cf;
	char				*path, *cause = NULL, *want, *etc;

	path = write_file("etc/cfg.json", full_config, sizeof full_config - 1,
	    0644);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), 0);
	assert_null(cause);
	xasprintf(&etc, "%s/etc", tmpdir);

	assert_string_equal(cf->path, path);
	assert_string_equal(cf->dir, etc);
	xasprintf(&want, "%s/run/sup.sock", etc);
	assert_string_equal(cf->socket_path, want);
	free(want);

	assert_string_equal(cf->prefix, "?");
	assert_int_equal(cf->nadmins, 2);
	assert_string_equal(cf->admins[0], "console:console");
	assert_string_equal(cf->admins[1], "irc:op");
	assert_null(cf->admins[2]);
	assert_int_equal(cf->unknown_command, UNKNOWN_REPLY);
	assert_int_equal(cf->max_line, 400);
	assert_true(cf->admin_rate == 0.5);
	assert_true(cf->control_idle_timeout == 2.5);
	assert_int_equal(cf->metrics_enabled, 0);
	assert_true(cf->poll_interval == 2.5);
	assert_true(cf->history_duration == 600);
	assert_int_equal(config_history_capacity(cf), 240);

	assert_true(cf->restart.first_delay == 0.25);
	assert_true(cf->restart.initial_delay == 2);
	assert_true(cf->restart.multiplier == 3);
	assert_true(cf->restart.max_delay == 120);
	assert_true(cf->restart.reset_after == 30);
	assert_int_equal(cf->restart.max_crashes, 7);
	assert_true(cf->restart.crash_window == 90);
	assert_true(cf->restart.cooldown == 0);
	assert_int_equal(cf->restart.autorestart, AUTORESTART_ON_FAILURE);
	assert_true(cf->restart.ready_timeout == 4);
	assert_true(cf->restart.ping_interval == 6);
	assert_true(cf->restart.hang_timeout == 20);
	assert_true(cf->restart.stop_timeout == 1.5);
	assert_int_equal(cf->restart.queue_size, 0);
	assert_int_equal(cf->restart.crash_history, 10);
	assert_int_equal(cf->restart.stderr_lines, 0);

	assert_int_equal(cf->nplugins, 5);

	/* console: found in plugin_dir, a connector with the terminal. */
	p = &cf->plugins[0];
	assert_string_equal(p->name, "console");
	assert_int_equal(p->role, ROLE_CONNECTOR);
	assert_int_equal(p->argc, 2);
	xasprintf(&want, "%s/console", plugindir);
	assert_string_equal(p->argv[0], want);
	free(want);
	assert_string_equal(p->argv[1], "--color");
	assert_null(p->argv[2]);
	assert_int_equal(p->terminal, 1);
	assert_int_equal(p->autostart, 1);
	assert_int_equal(p->nenv, 0);
	assert_non_null(p->env);
	assert_null(p->env[0]);
	assert_true(json_is_object(p->config));
	assert_int_equal(json_object_size(p->config), 0);
	/* No override: the global policy as written. */
	assert_memory_equal(&p->restart, &cf->restart, sizeof p->restart);
	assert_true(p->limits.memory_mb == 0);
	assert_int_equal(p->limits.violations, 2);
	assert_true(p->limits.cpu_percent == 0);
	assert_true(p->limits.cpu_seconds == 30);

	/* dice-roller: plugin_dir wins over PATH; overrides merged. */
	p = &cf->plugins[1];
	assert_string_equal(p->name, "dice-roller");
	assert_int_equal(p->role, ROLE_PLUGIN);
	xasprintf(&want, "%s/dice-roller", plugindir);
	assert_string_equal(p->argv[0], want);
	free(want);
	assert_int_equal(p->argc, 1);
	assert_int_equal(p->autostart, 0);
	assert_int_equal(p->terminal, 0);
	assert_int_equal(p->nenv, 2);
	assert_string_equal(p->env[0], "LANG=C");
	assert_string_equal(p->env[1], "DICE_MAX=100");
	assert_null(p->env[2]);
	assert_int_equal(json_integer_value(json_object_get(p->config,
	    "max_dice")), 50);
	assert_int_equal(json_array_size(json_object_get(json_object_get(
	    p->config, "anything"), "nested")), 2);
	assert_int_equal(p->restart.max_crashes, 2);
	assert_int_equal(p->restart.autorestart, AUTORESTART_NEVER);
	assert_true(p->restart.max_delay == 5);
	assert_true(p->restart.initial_delay == 2);	/* global */
	assert_true(p->restart.multiplier == 3);	/* global */
	assert_true(p->restart.first_delay == 0.25);	/* global */
	assert_true(p->restart.stop_timeout == 1.5);	/* global */
	assert_int_equal(p->restart.crash_history, 10);	/* global */
	assert_true(p->limits.memory_mb == 64.5);
	assert_int_equal(p->limits.violations, 3);
	assert_true(p->limits.cpu_percent == 150);
	assert_true(p->limits.cpu_seconds == 10);

	/* tool_1: found in PATH, past the skipped empty entry. */
	p = &cf->plugins[2];
	xasprintf(&want, "%s/pathtool", bindir);
	assert_string_equal(p->argv[0], want);
	free(want);
	assert_int_equal(p->argc, 3);
	assert_string_equal(p->argv[2], "b c");

	/* script: a relative path with a slash, against the config's dir. */
	p = &cf->plugins[3];
	xasprintf(&want, "%s/scripts/tool.sh", etc);
	assert_string_equal(p->argv[0], want);
	free(want);

	/* abs: an absolute path stays. */
	p = &cf->plugins[4];
	assert_string_equal(p->argv[0], "/bin/sh");
	assert_int_equal(p->argc, 3);

	assert_ptr_equal(config_find_plugin(cf, "tool_1"), &cf->plugins[2]);
	assert_ptr_equal(config_find_plugin(cf, "abs"), &cf->plugins[4]);
	assert_null(config_find_plugin(cf, "nope"));
	assert_null(config_find_plugin(cf, NULL));

	config_free(cf);
	free(etc);
	free(path);
}

/* directory, user, group, umask, nice: resolved at load, exact values. */
static void
test_plugin_identity(void **state)
{
	struct config			*cf;
	const struct plugin_identity	*id;
	struct plugin_config		*dup;
	char				*want, *cause;

	cf = load_ok("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"dice-roller\"], \"directory\": \"plugins/adir\", "
	    "\"user\": \"root\", \"group\": \"0\", \"umask\": \"027\", "
	    "\"nice\": -5}, {\"name\": \"b\", \"exec\": [\"dice-roller\"]}]}");
	id = &cf->plugins[0].identity;
	xasprintf(&want, "%s/plugins/adir", tmpdir);
	assert_string_equal(id->directory, want);
	free(want);
	assert_int_equal(id->umask, 027);
	assert_int_equal(id->set_nice, 1);
	assert_int_equal(id->nice, -5);
	if (geteuid() == 0) {
		assert_int_equal(id->set_uid, 1);
		assert_int_equal(id->set_gid, 1);
		assert_int_equal(id->uid, 0);
		assert_int_equal(id->gid, 0);
		assert_true(id->ngroups >= 1);
	}
	/* The other plugin keeps the daemon's everything. */
	id = &cf->plugins[1].identity;
	assert_null(id->directory);
	assert_int_equal(id->umask, -1);
	assert_int_equal(id->set_nice, 0);
	assert_int_equal(id->set_uid, 0);
	/* A copy owns its strings: the config may go first. */
	dup = config_plugin_dup(&cf->plugins[0]);
	assert_true(config_plugin_equal(dup, &cf->plugins[0]));
	assert_false(config_plugin_equal(dup, &cf->plugins[1]));
	config_free(cf);
	assert_int_equal(dup->identity.umask, 027);
	assert_true(strstr(dup->identity.directory, "/plugins/adir") != NULL);
	config_plugin_free(dup);

	cause = load_err("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"dice-roller\"], \"umask\": \"8\"}]}");
	assert_non_null(strstr(cause, "plugins[0].umask: must be octal digits"));
	free(cause);
	cause = load_err("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"dice-roller\"], \"umask\": \"1000\"}]}");
	assert_non_null(strstr(cause, "plugins[0].umask: must be at most"));
	free(cause);
	cause = load_err("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"dice-roller\"], \"nice\": -21}]}");
	assert_non_null(strstr(cause, "plugins[0].nice: must be an integer "
	    "between -20 and 19"));
	free(cause);
	cause = load_err("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"dice-roller\"], \"directory\": \"nowhere\"}]}");
	assert_non_null(strstr(cause, "plugins[0].directory: \"nowhere\" ("));
	assert_non_null(strstr(cause, "): No such file or directory"));
	free(cause);
	cause = load_err("{\"plugins\": [{\"name\": \"all\", \"exec\": "
	    "[\"dice-roller\"]}]}");
	assert_non_null(strstr(cause, "plugins[0].name: plugin name \"all\" is "
	    "reserved"));
	free(cause);
}

/* Only the required keys: every default applies. */
static void
test_defaults(void **state)
{
	struct config			*cf;
	const struct plugin_config	*p;
	char				*want;

	cf = load_ok("{\"plugins\": [" PLUG "]}");
	assert_string_equal(cf->path, "cfg.json");
	assert_string_equal(cf->dir, tmpdir);
	xasprintf(&want, "%s/run/supervisor.sock", tmpdir);
	assert_string_equal(cf->socket_path, want);
	free(want);
	assert_string_equal(cf->prefix, "!");
	assert_int_equal(cf->nadmins, 0);
	assert_non_null(cf->admins);
	assert_null(cf->admins[0]);
	assert_int_equal(cf->unknown_command, UNKNOWN_IGNORE);
	assert_int_equal(cf->max_line, 512);
	assert_true(cf->admin_rate == 2);
	assert_true(cf->control_idle_timeout == 10);
	assert_int_equal(cf->metrics_enabled, 1);
	assert_true(cf->poll_interval == 5);
	assert_true(cf->history_duration == 3600);
	assert_int_equal(config_history_capacity(cf), 720);
	assert_defaults(&cf->restart);

	assert_int_equal(cf->nplugins, 1);
	p = &cf->plugins[0];
	assert_string_equal(p->name, "a");
	assert_int_equal(p->role, ROLE_PLUGIN);
	assert_int_equal(p->autostart, 1);
	assert_int_equal(p->terminal, 0);
	assert_int_equal(p->nenv, 0);
	assert_null(p->env[0]);
	assert_true(json_is_object(p->config));
	assert_defaults(&p->restart);
	assert_true(p->limits.memory_mb == 0);
	assert_int_equal(p->limits.violations, 2);
	assert_true(p->limits.cpu_percent == 0);
	assert_true(p->limits.cpu_seconds == 30);
	config_free(cf);

	/* No plugins at all is valid; an absolute socket stays. */
	cf = load_ok("{\"plugins\": [], \"socket\": \"/run/x.sock\"}");
	assert_int_equal(cf->nplugins, 0);
	assert_null(config_find_plugin(cf, "a"));
	assert_string_equal(cf->socket_path, "/run/x.sock");
	config_free(cf);

	/* Limits of each range are inclusive; integers pass as numbers. */
	cf = load_ok("{\"metrics\": {\"poll_interval\": 0.1, "
	    "\"history_duration\": 100000}, \"chat\": {\"max_line\": 2048, "
	    "\"prefix\": \"\xc2\xbb\xc2\xbb!!!!!!\"}, \"restart\": "
	    "{\"multiplier\": 10, \"max_delay\": 86400, \"max_crashes\": 1000, "
	    "\"queue_size\": 100000, \"hang_timeout\": 0.1}, \"plugins\": []}");
	assert_int_equal(config_history_capacity(cf), 1000000);
	assert_int_equal(cf->max_line, 2048);
	assert_string_equal(cf->prefix, "\xc2\xbb\xc2\xbb!!!!!!");
	assert_true(cf->restart.multiplier == 10);
	config_free(cf);
}

/* Find the default config of the source tree from the test binary. */
static char *
default_json_path(void)
{
	char	 exe[PATH_MAX], *slash, *path;
	ssize_t	 n;
	int	 i;

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* BUILD/tests/unit/test_config: up four to the tree. */
		for (i = 0; i < 4 && (slash = strrchr(exe, '/')) != NULL; i++)
			*slash = '\0';
		xasprintf(&path, "%s/config/default.json", exe);
		if (access(path, R_OK) == 0)
			return path;
		free(path);
	}
	return xstrdup("config/default.json");
}

/* config/default.json, what `make run` starts, loads and says what it should. */
static void
test_default_json(void **state)
{
	struct config	*cf;
	char		*path, *cause = NULL;

	path = default_json_path();
	if (config_load_file(path, plugindir, &cf, &cause) != 0)
		fail_msg("%s: %s", path, cause);
	assert_int_equal(cf->nplugins, 4);
	assert_string_equal(cf->plugins[0].name, "console");
	assert_int_equal(cf->plugins[0].role, ROLE_CONNECTOR);
	assert_int_equal(cf->plugins[0].terminal, 1);
	assert_string_equal(cf->plugins[1].name, "dice-roller");
	assert_string_equal(cf->plugins[2].name, "8ball");
	assert_string_equal(cf->plugins[3].name, "pick");
	assert_int_equal(cf->plugins[3].role, ROLE_PLUGIN);
	assert_int_equal(cf->nadmins, 1);
	assert_string_equal(cf->admins[0], "console:console");
	assert_string_equal(cf->prefix, "!");
	assert_int_equal(cf->metrics_enabled, 1);
	assert_true(cf->poll_interval == 5);
	assert_true(cf->history_duration == 3600);
	assert_defaults(&cf->restart);
	/* base_dir "..": the source tree's run/, where make run listens. */
	assert_null(strstr(cf->socket_path, "/config/"));
	assert_non_null(strstr(cf->socket_path, "/run/supervisor.sock"));
	config_free(cf);
	free(path);
}

static void
test_valid_name(void **state)
{
	assert_true(config_valid_name("a"));
	assert_true(config_valid_name("8ball"));
	assert_true(config_valid_name("dice-roller"));
	assert_true(config_valid_name("x_y-z9"));
	assert_true(config_valid_name("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(config_valid_name("abcdefghijklmnopqrstuvwxyz0123456"));
	assert_false(config_valid_name(""));
	assert_false(config_valid_name(NULL));
	assert_false(config_valid_name("-a"));
	assert_false(config_valid_name("_a"));
	assert_false(config_valid_name("Dice"));
	assert_false(config_valid_name("a b"));
	assert_false(config_valid_name("a.b"));
	assert_false(config_valid_name("a/b"));
	assert_false(config_valid_name("caf\xc3\xa9"));
}

/* A connector's platform: its own, or its name; a connector's only. */
static void
test_platform(void **state)
{
	struct config	*cf;

	cf = load_ok("{\"plugins\": [{\"name\": \"console\", \"role\": "
	    "\"connector\", \"exec\": [\"pick\"]}, {\"name\": \"libera\", "
	    "\"role\": \"connector\", \"platform\": \"irc\", \"exec\": "
	    "[\"pick\"]}, {\"name\": \"dice\", \"exec\": [\"pick\"]}]}");
	assert_null(cf->plugins[0].platform);
	assert_string_equal(config_platform(&cf->plugins[0]), "console");
	assert_string_equal(cf->plugins[1].platform, "irc");
	assert_string_equal(config_platform(&cf->plugins[1]), "irc");
	assert_string_equal(config_platform(&cf->plugins[2]), "dice");
	{
		struct plugin_config	*copy = config_plugin_dup(&cf->plugins[1]);

		assert_string_equal(copy->platform, "irc");
		assert_true(config_plugin_equal(copy, &cf->plugins[1]));
		free(copy->platform);
		copy->platform = xstrdup("libera");
		assert_false(config_plugin_equal(copy, &cf->plugins[1]));
		config_plugin_free(copy);
	}
	config_free(cf);

	assert_error("{\"plugins\": [{\"name\": \"evil\", \"exec\": [\"pick\"], "
	    "\"platform\": \"console\"}]}",
	    "cfg.json:1:49: plugins[0].platform: only a connector has a "
	    "platform (this plugin's role is \"plugin\")");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"role\": "
	    "\"connector\", \"exec\": [\"pick\"], \"platform\": \"irc:x\"}]}",
	    "cfg.json:1:79: plugins[0].platform: invalid platform "
	    "\"irc:x\": use 1 to 32 of a-z, 0-9, '_' and '-', starting "
	    "with a letter or digit");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"role\": "
	    "\"connector\", \"exec\": [\"pick\"], \"platform\": 5}]}",
	    "cfg.json:1:79: plugins[0].platform: must be a string, got 5");
	assert_error("{\"plugins\": [{\"name\": \"console\", \"role\": "
	    "\"connector\", \"exec\": [\"pick\"]}, {\"name\": \"evil\", "
	    "\"role\": \"connector\", \"exec\": [\"pick\"], \"platform\": "
	    "\"console\"}]}",
	    "cfg.json:1:142: plugins[1].platform: platform \"console\" "
	    "is already that of connector plugins[0]; give each "
	    "connector its own \"platform\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"role\": "
	    "\"connector\", \"platform\": \"b\", \"exec\": [\"pick\"]}, "
	    "{\"name\": \"b\", \"role\": \"connector\", \"exec\": "
	    "[\"pick\"]}]}",
	    "cfg.json:1:94: plugins[1].name: platform \"b\" is already "
	    "that of connector plugins[0]; give each connector its own "
	    "\"platform\"");
}

static void
test_names(void **state)
{
	struct config	cf;

	memset(&cf, 0, sizeof cf);
	assert_string_equal(config_autorestart_name(AUTORESTART_ALWAYS),
	    "always");
	assert_string_equal(config_autorestart_name(AUTORESTART_ON_FAILURE),
	    "on-failure");
	assert_string_equal(config_autorestart_name(AUTORESTART_NEVER),
	    "never");
	assert_string_equal(config_role_name(ROLE_PLUGIN), "plugin");
	assert_string_equal(config_role_name(ROLE_CONNECTOR), "connector");
	cf.poll_interval = 0.3;
	cf.history_duration = 1;
	assert_int_equal(config_history_capacity(&cf), 4);
	cf.poll_interval = 0.1;
	cf.history_duration = 0.3;
	assert_int_equal(config_history_capacity(&cf), 3);
	config_free(NULL);
}

/* The position scanner on its own: escapes, nesting, UTF-8 columns. */
static void
test_jsonpos(void **state)
{
	static const char	text[] =
	    "{\"a\\u00e9\": 1, \"x\": [10, {\"k\": [\"]\", \"q\\\"\"]}],\n"
	    "  \"\xc3\xa9t\xc3\xa9\": \"v\", \"z\": {\"b\": [1, [2, 3]], \"c\": null}}";
	struct jsonpos_step	p1[] = { { "x", 0 }, { NULL, 1 }, { "k", 0 },
	    { NULL, 1 } };
	struct jsonpos_step	p2[] = { { "z", 0 }, { "c", 0 } };
	struct jsonpos_step	p3[] = { { "a\xc3\xa9", 0 } };
	struct jsonpos_step	p4[] = { { "z", 0 }, { "b", 0 }, { NULL, 1 },
	    { NULL, 1 } };
	struct jsonpos_step	p5[] = { { "z", 0 }, { "nope", 0 } };
	struct jsonpos		pos;

	jsonpos_find(text, strlen(text), NULL, 0, 0, &pos);
	assert_int_equal(pos.line, 1);
	assert_int_equal(pos.column, 1);
	jsonpos_find(text, strlen(text), p1, 4, 0, &pos);
	assert_int_equal(pos.line, 1);
	assert_int_equal(pos.column, 38);
	jsonpos_find(text, strlen(text), p3, 1, 1, &pos);
	assert_int_equal(pos.column, 2);
	jsonpos_find(text, strlen(text), p3, 1, 0, &pos);
	assert_int_equal(pos.column, 13);
	/* Columns count characters: é is one. */
	jsonpos_find(text, strlen(text), p2, 2, 0, &pos);
	assert_int_equal(pos.line, 2);
	assert_int_equal(pos.column, 44);
	jsonpos_find(text, strlen(text), p2, 2, 1, &pos);
	assert_int_equal(pos.column, 39);
	jsonpos_find(text, strlen(text), p4, 4, 0, &pos);
	assert_int_equal(pos.line, 2);
	assert_int_equal(pos.column, 34);
	/* A path that is not there: the deepest point reached. */
	jsonpos_find(text, strlen(text), p5, 2, 0, &pos);
	assert_int_equal(pos.line, 2);
	assert_int_equal(pos.column, 20);
}

static void
test_invalid_json(void **state)
{
	assert_error("{\n  \"plugins\": [\n    {\"name\": \"a\",}\n  ]\n}",
	    "cfg.json:3:18: invalid JSON: string or '}' expected near '}'");
	assert_error("{\"plugins\": [], \"plugins\": []}",
	    "cfg.json:1:25: invalid JSON: duplicate object key near "
	    "'\"plugins\"'");
	assert_error("", "cfg.json:1:1: invalid JSON: '[' or '{' expected "
	    "near end of file");
	assert_error("{\"plugins\": [tru]}",
	    "cfg.json:1:16: invalid JSON: invalid token near 'tru'");
	assert_error("{\"plugins\": []} x",
	    "cfg.json:1:17: invalid JSON: end of file expected near 'x'");
	assert_error("[1, 2]", "cfg.json:1:1: (top level): must be an object, "
	    "got an array");
}

/* metrics.rollups and state: defaults, fitting, and each refusal. */
static void
test_rollups_state(void **state)
{
	struct config	*cf;

	cf = load_ok("{\"plugins\": []}");
	assert_int_equal(cf->nrollups, 2);
	assert_true(cf->rollups[0].resolution == 60 &&
	    cf->rollups[0].duration == 86400);
	assert_true(cf->rollups[1].resolution == 3600 &&
	    cf->rollups[1].duration == 30 * 86400);
	assert_true(cf->state_enabled && cf->save_interval == 60);
	/* The state dir resolves against the config's directory. */
	assert_true(cf->state_dir[0] == '/');
	assert_non_null(strstr(cf->state_dir, "/state"));
	config_free(cf);

	/* A raw ring of two days makes the default minute tier pointless. */
	cf = load_ok("{\"metrics\": {\"history_duration\": 172800}, "
	    "\"plugins\": []}");
	assert_int_equal(cf->nrollups, 1);
	assert_true(cf->rollups[0].resolution == 3600);
	config_free(cf);
	/* Ten seconds of raw samples: no default tier can be built. */
	cf = load_ok("{\"metrics\": {\"poll_interval\": 1, "
	    "\"history_duration\": 10}, \"plugins\": []}");
	assert_int_equal(cf->nrollups, 0);
	config_free(cf);
	cf = load_ok("{\"metrics\": {\"rollups\": []}, \"state\": "
	    "{\"enabled\": false, \"dir\": \"/var/lib/x\", "
	    "\"save_interval\": 1}, \"plugins\": []}");
	assert_int_equal(cf->nrollups, 0);
	assert_false(cf->state_enabled);
	assert_string_equal(cf->state_dir, "/var/lib/x");
	config_free(cf);

	assert_error("{\"metrics\": {\"rollups\": [{\"resolution\": 60, "
	    "\"duration\": 86400}, {\"resolution\": 90, \"duration\": "
	    "200000}]}, \"plugins\": []}",
	    "cfg.json:1:80: metrics.rollups[1].resolution: 90 is not a larger "
	    "multiple of the previous tier's resolution (60)");
	assert_error("{\"metrics\": {\"rollups\": [{\"resolution\": 60, "
	    "\"duration\": 86430}]}, \"plugins\": []}",
	    "cfg.json:1:57: metrics.rollups[0].duration: 86430 is not a whole "
	    "number of resolutions (60)");
	assert_error("{\"metrics\": {\"rollups\": [{\"resolution\": 2, "
	    "\"duration\": 86400}]}, \"plugins\": []}",
	    "cfg.json:1:41: metrics.rollups[0].resolution: 2 is shorter than "
	    "metrics.poll_interval (5)");
	assert_error("{\"metrics\": {\"rollups\": [{\"resolution\": 60}]}, "
	    "\"plugins\": []}",
	    "cfg.json:1:26: metrics.rollups[0]: needs both \"resolution\" and "
	    "\"duration\"");
	assert_error("{\"metrics\": {\"rollups\": {}}, \"plugins\": []}",
	    "cfg.json:1:25: metrics.rollups: must be an array of "
	    "{\"resolution\": S, \"duration\": S} objects, finest first, got "
	    "an empty object");
	assert_error("{\"state\": {\"dir\": \"\"}, \"plugins\": []}",
	    "cfg.json:1:19: state.dir: must be a non-empty path without "
	    "control characters, got \"\"");
	assert_error("{\"state\": {\"save_interval\": 0}, \"plugins\": []}",
	    "cfg.json:1:29: state.save_interval: must be a number between 1 "
	    "and 86400, got 0");
	assert_error("{\"state\": {\"every\": 5}, \"plugins\": []}",
	    "cfg.json:1:12: state.every: unknown key (expected one of: "
	    "enabled, dir, save_interval)");
}

/* "reload" and "watch": what each accepts, and each refusal pointed at. */
static void
test_reload_and_watch(void **state)
{
	struct config	*cf;

	cf = load_ok("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"dice-roller\"], "
	    "\"reload\": \"upgrade\", \"watch\": true}, {\"name\": \"b\", "
	    "\"exec\": [\"dice-roller\"], \"watch\": [\"/tmp/w1\", \"rel/w2\"]}, "
	    "{\"name\": \"c\", \"exec\": [\"dice-roller\"]}]}");
	assert_int_equal(cf->plugins[0].reload, RELOAD_UPGRADE);
	assert_int_equal(cf->plugins[0].watch, 1);
	/* true: the program, resolved. */
	assert_int_equal(cf->plugins[0].nwatch, 1);
	assert_string_equal(cf->plugins[0].watch_paths[0],
	    cf->plugins[0].argv[0]);
	assert_int_equal(cf->plugins[1].nwatch, 2);
	assert_string_equal(cf->plugins[1].watch_paths[0], "/tmp/w1");
	assert_true(cf->plugins[1].watch_paths[1][0] == '/');
	assert_non_null(strstr(cf->plugins[1].watch_paths[1], "/rel/w2"));
	assert_int_equal(cf->plugins[2].reload, RELOAD_RESTART);
	assert_int_equal(cf->plugins[2].watch, 0);
	assert_int_equal(config_plugin_watch_equal(&cf->plugins[0],
	    &cf->plugins[2]), 0);
	assert_string_equal(config_reload_mode_name(RELOAD_UPGRADE), "upgrade");
	config_free(cf);

	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"reload\": \"hot\"}]}",
	    "cfg.json:1:53: plugins[0].reload: must be one of \"restart\", "
	    "\"upgrade\", got \"hot\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"watch\": \"yes\"}]}",
	    "cfg.json:1:52: plugins[0].watch: must be true, false or a list "
	    "of paths, got \"yes\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"watch\": []}]}",
	    "cfg.json:1:52: plugins[0].watch: a list of 1 to 16 paths, got 0");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"watch\": [\"\"]}]}",
	    "cfg.json:1:53: plugins[0].watch[0]: must be a path, got \"\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"role\": \"connector\", \"reload\": \"upgrade\"}]}",
	    "cfg.json:1:74: plugins[0].reload: a connector is restarted, "
	    "never upgraded: its chat connection cannot have two processes");
}

static void
test_unknown_keys(void **state)
{
	assert_error("{\"plugins\": [], \"sockt\": \"x\"}",
	    "cfg.json:1:17: sockt: unknown key (expected one of: socket, "
	    "control, chat, metrics, state, restart, output, plugins, alerts, http, base_dir, sandbox)");
	assert_error("{\"control\": {\"idle\": 5}, \"plugins\": []}",
	    "cfg.json:1:14: control.idle: unknown key (expected one of: "
	    "idle_timeout)");
	assert_error("{\n  \"chat\": {\n    \"prefx\": \"!\"},\n  \"plugins\": []}",
	    "cfg.json:3:5: chat.prefx: unknown key (expected one of: prefix, "
	    "admins, unknown_command, max_line, admin_rate)");
	assert_error("{\"metrics\": {\"interval\": 5}, \"plugins\": []}",
	    "cfg.json:1:14: metrics.interval: unknown key (expected one of: "
	    "enabled, poll_interval, history_duration, rollups)");
	assert_error("{\"restart\": {\"max_crashes\": 3, \"delay\": 5}, "
	    "\"plugins\": []}",
	    "cfg.json:1:32: restart.delay: unknown key (expected one of: "
	    "first_delay, initial_delay, multiplier, max_delay, reset_after, "
	    "max_crashes, crash_window, cooldown, autorestart, ready_timeout, "
	    "ping_interval, hang_timeout, stop_timeout, queue_size, "
	    "crash_history, stderr_lines)");
	assert_error("{\"plugins\": [" PLUG ", {\"name\": \"b\", \"exec\": "
	    "[\"x\"], \"cmd\": 1}]}",
	    "cfg.json:1:83: plugins[1].cmd: unknown key (expected one of: "
	    "name, exec, role, env, config, autostart, terminal, platform, "
	    "restart, limits, output, log_file, directory, user, group, "
	    "umask, nice, reload, watch, sandbox)");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"limits\": {\"memory\": 5}}]}",
	    "cfg.json:1:54: plugins[0].limits.memory: unknown key (expected "
	    "one of: memory_mb, violations, cpu_percent, cpu_seconds)");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"restart\": {\"max_crash\": 5}}]}",
	    "cfg.json:1:55: plugins[0].restart.max_crash: unknown key "
	    "(expected one of: first_delay, initial_delay, multiplier, "
	    "max_delay, reset_after, max_crashes, crash_window, cooldown, "
	    "autorestart, ready_timeout, ping_interval, hang_timeout, "
	    "stop_timeout, queue_size, crash_history, stderr_lines)");
	/* A key that is not a plain word is quoted, escapes and all. */
	assert_error("{\"plugins\": [], \"so cket\\n\": 1}",
	    "cfg.json:1:17: [\"so cket\\u000a\"]: unknown key (expected one "
	    "of: socket, control, chat, metrics, state, restart, output, plugins, alerts, http, base_dir, sandbox)");
	/* Anything goes inside a plugin's own config. */
	config_free(load_ok("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"dice-roller\"], \"config\": {\"whatever\": [1, {\"x\": null}]}}]}"));
}

static void
test_wrong_types(void **state)
{
	assert_error("{\"socket\": 5, \"plugins\": []}",
	    "cfg.json:1:12: socket: must be a non-empty path "
	    "without control characters, got 5");
	assert_error("{\"socket\": \"\", \"plugins\": []}",
	    "cfg.json:1:12: socket: must be a non-empty path "
	    "without control characters, got \"\"");
	assert_error("{\"chat\": \"x\", \"plugins\": []}",
	    "cfg.json:1:10: chat: must be an object, got \"x\"");
	assert_error("{\"control\": 10, \"plugins\": []}",
	    "cfg.json:1:13: control: must be an object, got 10");
	assert_error("{\"control\": {\"idle_timeout\": \"10s\"}, "
	    "\"plugins\": []}",
	    "cfg.json:1:30: control.idle_timeout: must be a number between "
	    "0.1 and 3600, got \"10s\"");
	assert_error("{\"metrics\": {\"enabled\": \"yes\"}, \"plugins\": []}",
	    "cfg.json:1:25: metrics.enabled: must be true or false, got "
	    "\"yes\"");
	assert_error("{\"metrics\": {\"poll_interval\": \"5\"}, \"plugins\": []}",
	    "cfg.json:1:31: metrics.poll_interval: must be a number between "
	    "0.1 and 3600, got \"5\"");
	assert_error("{\"restart\": [], \"plugins\": []}",
	    "cfg.json:1:13: restart: must be an object, got an empty array");
	assert_error("{\"plugins\": {}}",
	    "cfg.json:1:13: plugins: must be an array of plugins, got an "
	    "empty object");
	assert_error("{\"plugins\": [\"dice\"]}",
	    "cfg.json:1:14: plugins[0]: must be an object, got \"dice\"");
	/* An integer field refuses a fraction, and even 2.0. */
	assert_error("{\"restart\": {\"max_crashes\": 2.5}, \"plugins\": []}",
	    "cfg.json:1:29: restart.max_crashes: must be an integer between 1 "
	    "and 1000, got 2.5");
	assert_error("{\"restart\": {\"max_crashes\": 2.0}, \"plugins\": []}",
	    "cfg.json:1:29: restart.max_crashes: must be an integer between 1 "
	    "and 1000, got 2.0");
	assert_error("{\"restart\": {\"autorestart\": \"sometimes\"}, "
	    "\"plugins\": []}",
	    "cfg.json:1:29: restart.autorestart: must be one of \"always\", "
	    "\"on-failure\", \"never\", got \"sometimes\"");
	assert_error("{\"chat\": {\"unknown_command\": true}, \"plugins\": []}",
	    "cfg.json:1:30: chat.unknown_command: must be one of \"ignore\", "
	    "\"reply\", got true");
	assert_error("{\"chat\": {\"admins\": \"console:console\"}, "
	    "\"plugins\": []}",
	    "cfg.json:1:21: chat.admins: must be an array of strings, got "
	    "\"console:console\"");
	assert_error("{\"chat\": {\"admins\": [\"a\", \"\"]}, \"plugins\": []}",
	    "cfg.json:1:27: chat.admins[1]: must be a non-empty string of at "
	    "most 256 bytes without control characters, got \"\"");
	assert_error("{\"chat\": {\"admins\": [null]}, \"plugins\": []}",
	    "cfg.json:1:22: chat.admins[0]: must be a non-empty string of at "
	    "most 256 bytes without control characters, got null");
	/* Control characters are shown escaped: the error stays one line. */
	assert_error("{\"chat\": {\"admins\": [\"a\\tb\"]}, \"plugins\": []}",
	    "cfg.json:1:22: chat.admins[0]: must be a non-empty string of at "
	    "most 256 bytes without control characters, got \"a\\u0009b\"");
	assert_error("{\"chat\": {\"prefix\": \"\"}, \"plugins\": []}",
	    "cfg.json:1:21: chat.prefix: must be a string of 1 to 8 "
	    "characters without spaces, got \"\"");
	assert_error("{\"chat\": {\"prefix\": \"! \"}, \"plugins\": []}",
	    "cfg.json:1:21: chat.prefix: must be a string of 1 to 8 "
	    "characters without spaces, got \"! \"");
	assert_error("{\"chat\": {\"prefix\": \"123456789\"}, \"plugins\": []}",
	    "cfg.json:1:21: chat.prefix: must be a string of 1 to 8 "
	    "characters without spaces, got \"123456789\"");
	assert_error("{\"plugins\": [{\"name\": 5, \"exec\": [\"x\"]}]}",
	    "cfg.json:1:23: plugins[0].name: must be a string, got 5");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": \"dice-roller\"}]}",
	    "cfg.json:1:36: plugins[0].exec: must be a non-empty array of at "
	    "most 64 strings (program and arguments), got \"dice-roller\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": []}]}",
	    "cfg.json:1:36: plugins[0].exec: must be a non-empty array of at "
	    "most 64 strings (program and arguments), got an empty array");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\", \"\"]}]}",
	    "cfg.json:1:42: plugins[0].exec[1]: must be a non-empty string, "
	    "got \"\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\", 3]}]}",
	    "cfg.json:1:42: plugins[0].exec[1]: must be a non-empty string, "
	    "got 3");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"role\": \"bot\"}]}",
	    "cfg.json:1:51: plugins[0].role: must be one of \"plugin\", "
	    "\"connector\", got \"bot\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"autostart\": 1}]}",
	    "cfg.json:1:56: plugins[0].autostart: must be true or false, "
	    "got 1");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"env\": [\"A=b\"]}]}",
	    "cfg.json:1:50: plugins[0].env: must be an object of string "
	    "values, got an array");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"env\": {\"PORT\": 8080}}]}",
	    "cfg.json:1:59: plugins[0].env.PORT: must be a string, got 8080");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"config\": [1]}]}",
	    "cfg.json:1:53: plugins[0].config: must be an object, got an "
	    "array");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"limits\": 5}]}",
	    "cfg.json:1:53: plugins[0].limits: must be an object, got 5");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"restart\": {\"cooldown\": null}}]}",
	    "cfg.json:1:67: plugins[0].restart.cooldown: must be a number "
	    "between 0 and 86400, got null");
}

/* One value past each end of each kind of range. */
static void
test_out_of_range(void **state)
{
	assert_error("{\n  \"plugins\": [\n    " PLUG ",\n    {\"name\": \"b\", "
	    "\"exec\": [\"x\"], \"restart\": {\"max_delay\": -1}}]}",
	    "cfg.json:4:59: plugins[1].restart.max_delay: must be a number "
	    "between 0 and 86400, got -1");
	assert_error("{\"restart\": {\"first_delay\": 86400.5}, \"plugins\": []}",
	    "cfg.json:1:29: restart.first_delay: must be a number between 0 "
	    "and 86400, got 86400.5");
	assert_error("{\"restart\": {\"multiplier\": 0.5}, \"plugins\": []}",
	    "cfg.json:1:28: restart.multiplier: must be a number between 1 "
	    "and 10, got 0.5");
	assert_error("{\"restart\": {\"max_crashes\": 0}, \"plugins\": []}",
	    "cfg.json:1:29: restart.max_crashes: must be an integer between 1 "
	    "and 1000, got 0");
	assert_error("{\"restart\": {\"queue_size\": 100001}, \"plugins\": []}",
	    "cfg.json:1:28: restart.queue_size: must be an integer between 0 "
	    "and 100000, got 100001");
	assert_error("{\"restart\": {\"crash_history\": 0}, \"plugins\": []}",
	    "cfg.json:1:31: restart.crash_history: must be an integer between "
	    "1 and 10000, got 0");
	assert_error("{\"restart\": {\"stderr_lines\": 1001}, \"plugins\": []}",
	    "cfg.json:1:30: restart.stderr_lines: must be an integer between "
	    "0 and 1000, got 1001");
	assert_error("{\"restart\": {\"crash_window\": 0}, \"plugins\": []}",
	    "cfg.json:1:30: restart.crash_window: must be a number between 1 "
	    "and 86400, got 0");
	assert_error("{\"restart\": {\"ready_timeout\": 0}, \"plugins\": []}",
	    "cfg.json:1:31: restart.ready_timeout: must be a number between "
	    "0.1 and 3600, got 0");
	assert_error("{\"restart\": {\"ping_interval\": 3601}, \"plugins\": []}",
	    "cfg.json:1:31: restart.ping_interval: must be a number between "
	    "0.1 and 3600, got 3601");
	assert_error("{\"restart\": {\"hang_timeout\": 0.05}, \"plugins\": []}",
	    "cfg.json:1:30: restart.hang_timeout: must be a number between "
	    "0.1 and 3600, got 0.05");
	assert_error("{\"restart\": {\"stop_timeout\": -3}, \"plugins\": []}",
	    "cfg.json:1:30: restart.stop_timeout: must be a number between "
	    "0.1 and 3600, got -3");
	assert_error("{\"control\": {\"idle_timeout\": 0.05}, "
	    "\"plugins\": []}",
	    "cfg.json:1:30: control.idle_timeout: must be a number between "
	    "0.1 and 3600, got 0.05");
	assert_error("{\"control\": {\"idle_timeout\": 3601}, "
	    "\"plugins\": []}",
	    "cfg.json:1:30: control.idle_timeout: must be a number between "
	    "0.1 and 3600, got 3601");
	assert_error("{\"chat\": {\"max_line\": 8}, \"plugins\": []}",
	    "cfg.json:1:23: chat.max_line: must be an integer between 16 and "
	    "2048, got 8");
	assert_error("{\"chat\": {\"admin_rate\": 1e9}, \"plugins\": []}",
	    "cfg.json:1:25: chat.admin_rate: must be a number between 0 and "
	    "3600, got 1000000000.0");
	assert_error("{\"metrics\": {\"poll_interval\": 0.05}, \"plugins\": []}",
	    "cfg.json:1:31: metrics.poll_interval: must be a number between "
	    "0.1 and 3600, got 0.05");
	assert_error("{\"metrics\": {\"history_duration\": 604801}, "
	    "\"plugins\": []}",
	    "cfg.json:1:34: metrics.history_duration: must be a number "
	    "between 0.1 and 604800, got 604801");
	assert_error("{\"metrics\": {\"poll_interval\": 60, "
	    "\"history_duration\": 30}, \"plugins\": []}",
	    "cfg.json:1:55: metrics.history_duration: history_duration (30) "
	    "must be at least poll_interval (60)");
	/* Only poll_interval given: it takes the blame. */
	assert_error("{\"metrics\": {\"poll_interval\": 3600.5}, \"plugins\": []}",
	    "cfg.json:1:31: metrics.poll_interval: must be a number between "
	    "0.1 and 3600, got 3600.5");
	assert_error("{\"metrics\": {\"poll_interval\": 0.1, "
	    "\"history_duration\": 200000}, \"plugins\": []}",
	    "cfg.json:1:56: metrics.history_duration: history_duration / "
	    "poll_interval (200000 / 0.1) gives 2000000 samples per plugin, "
	    "more than 1000000");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"limits\": {\"violations\": 0}}]}",
	    "cfg.json:1:68: plugins[0].limits.violations: must be an integer "
	    "between 1 and 1000, got 0");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"limits\": {\"memory_mb\": -1}}]}",
	    "cfg.json:1:67: plugins[0].limits.memory_mb: must be a number "
	    "between 0 and 1048576, got -1");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"limits\": {\"cpu_percent\": 102401}}]}",
	    "cfg.json:1:69: plugins[0].limits.cpu_percent: must be a number "
	    "between 0 and 102400, got 102401");
}

/* max_delay below initial_delay: blamed on the key that was written. */
static void
test_cross_checks(void **state)
{
	assert_error("{\"restart\": {\"initial_delay\": 10, \"max_delay\": 5}, "
	    "\"plugins\": []}",
	    "cfg.json:1:48: restart.max_delay: must be at least initial_delay "
	    "(10), got 5");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"restart\": {\"initial_delay\": 120}}]}",
	    "cfg.json:1:72: plugins[0].restart.initial_delay: must be at most "
	    "max_delay (60), got 120");
	/* Overrides merge over the global policy before the check. */
	assert_error("{\"restart\": {\"initial_delay\": 10}, \"plugins\": "
	    "[{\"name\": \"a\", \"exec\": [\"x\"], \"restart\": "
	    "{\"max_delay\": 5}}]}",
	    "cfg.json:1:102: plugins[0].restart.max_delay: must be at least "
	    "initial_delay (10), got 5");
}

static void
test_plugin_entries(void **state)
{
	char	*text, *p;
	size_t	 i;

	assert_error("{\"socket\": \"x\"}",
	    "cfg.json:1:1: plugins: missing required key");
	assert_error("{\"plugins\": [{\"exec\": [\"x\"]}]}",
	    "cfg.json:1:14: plugins[0].name: missing required key");
	assert_error("{\"plugins\": [{\"name\": \"a\"}]}",
	    "cfg.json:1:14: plugins[0].exec: missing required key");
	assert_error("{\"plugins\": [{\"name\": \"Dice\", \"exec\": [\"x\"]}]}",
	    "cfg.json:1:23: plugins[0].name: invalid plugin name \"Dice\": use "
	    "1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or "
	    "digit");
	assert_error("{\n  \"plugins\": [\n    {\"name\": \"dice-roller\", "
	    "\"exec\": [\"x\"]},\n    {\"exec\": [\"y\"],\n     \"name\": "
	    "\"dice-roller\"}]}",
	    "cfg.json:5:14: plugins[1].name: duplicate plugin name "
	    "\"dice-roller\" (first at plugins[0])");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"terminal\": true}, {\"name\": \"b\", \"exec\": [\"x\"]}, "
	    "{\"name\": \"c\", \"exec\": [\"x\"], \"terminal\": true}]}",
	    "cfg.json:1:133: plugins[2].terminal: only one plugin may have "
	    "the terminal (plugins[0] has it already)");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"env\": {\"SUPERVISOR_FD\": \"4\"}}]}",
	    "cfg.json:1:51: plugins[0].env.SUPERVISOR_FD: SUPERVISOR_FD is "
	    "reserved: the supervisor sets it to the plugin's socket");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"env\": {\"OK\": \"1\", \"1BAD\": \"2\"}}]}",
	    "cfg.json:1:62: plugins[0].env[\"1BAD\"]: invalid variable name: use "
	    "letters, digits and '_', not starting with a digit");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"env\": {\"A=B\": \"2\"}}]}",
	    "cfg.json:1:51: plugins[0].env[\"A=B\"]: invalid variable name: "
	    "use letters, digits and '_', not starting with a digit");

	/* 65 arguments. */
	text = xstrdup("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"");
	for (i = 1; i < 65; i++) {
		xasprintf(&p, "%s, \"a\"", text);
		free(text);
		text = p;
	}
	xasprintf(&p, "%s]}]}", text);
	free(text);
	assert_error(p, "cfg.json:1:36: plugins[0].exec: must be a non-empty "
	    "array of at most 64 strings (program and arguments), got 65 "
	    "elements");
	free(p);
}

static void
test_too_many_plugins(void **state)
{
	char	*text, *p;
	size_t	 i, off = 0, size = 16 + 4097 * 3;

	text = xmalloc(size);
	off += (size_t)snprintf(text, size, "{\"plugins\": [");
	for (i = 0; i < 4097; i++)
		off += (size_t)snprintf(text + off, size - off, "%s{}",
		    i > 0 ? "," : "");
	snprintf(text + off, size - off, "]}");
	assert_error(text, "cfg.json:1:13: plugins: at most 4096 plugins, got "
	    "4097");

	/* 4096 is fine, as far as the count goes: the first lacks a name. */
	p = strstr(text, "{},{}]}");
	memcpy(p, "{}]}", 5);
	assert_error(text, "cfg.json:1:14: plugins[0].name: missing required "
	    "key");
	free(text);
}

static void
test_exec_resolution(void **state)
{
	assert_errorf("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"nothere\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"nothere\" (tried: %s/nothere (no such file), %s/nothere "
	    "(no such file), %s/nowhere/nothere (no such file))",
	    plugindir, bindir, tmpdir);
	assert_errorf("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"noexec\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"noexec\" (tried: %s/noexec (not executable), %s/noexec "
	    "(no such file), %s/nowhere/noexec (no such file))",
	    plugindir, bindir, tmpdir);
	assert_errorf("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"adir\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"adir\" (tried: %s/adir (not a regular file), %s/adir "
	    "(no such file), %s/nowhere/adir (no such file))",
	    plugindir, bindir, tmpdir);
	assert_errorf("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"plugins/noexec\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"plugins/noexec\" (tried: %s/plugins/noexec (not executable))",
	    tmpdir);
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"/nonexistent/x\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"/nonexistent/x\" (tried: /nonexistent/x (no such file))");
	/* What exec would refuse, said before any start. */
	assert_errorf("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"plugins/badinterp\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"plugins/badinterp\" (tried: %s/plugins/badinterp (its #! "
	    "interpreter /nonexistent/python3: no such file))", tmpdir);
	assert_errorf("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"plugins/nointerp\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"plugins/nointerp\" (tried: %s/plugins/nointerp (its #! line "
	    "names no interpreter, or a name too long))", tmpdir);
	assert_errorf("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"plugins/badelf\"]}]}",
	    "cfg.json:1:37: plugins[0].exec[0]: cannot find executable "
	    "\"plugins/badelf\" (tried: %s/plugins/badelf (not an executable "
	    "this machine runs (its ELF header)))", tmpdir);
	/* The second plugin's, once the whole shape is known good. */
	assert_errorf("{\"plugins\": [" PLUG ",\n  {\"name\": \"b\", \"exec\": "
	    "[\"missing\", \"arg\"]}]}",
	    "cfg.json:2:26: plugins[1].exec[0]: cannot find executable "
	    "\"missing\" (tried: %s/missing (no such file), %s/missing "
	    "(no such file), %s/nowhere/missing (no such file))",
	    plugindir, bindir, tmpdir);
}

/* Without a plugin directory only PATH is searched. */
static void
test_exec_no_plugin_dir(void **state)
{
	static const char	 text[] =
	    "{\"plugins\": [{\"name\": \"a\", \"exec\": [\"dice-roller\"]}]}";
	struct config		*cf;
	char			*cause = NULL, *want;

	assert_int_equal(config_load_string(text, strlen(text), NULL, tmpdir,
	    NULL, &cf, &cause), 0);
	assert_string_equal(cf->path, "(string)");
	xasprintf(&want, "%s/dice-roller", bindir);
	assert_string_equal(cf->plugins[0].argv[0], want);
	free(want);
	config_free(cf);
}

static void
test_socket_too_long(void **state)
{
	char	*text, *want, longname[200];

	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	xasprintf(&text, "{\"socket\": \"%s\", \"plugins\": []}", longname);
	xasprintf(&want, "cfg.json:1:12: socket: socket path \"%s/%.*s...\" is "
	    "%zu bytes, longer than the 107 a Unix socket allows", tmpdir,
	    48 - (int)strlen(tmpdir) - 1, longname,
	    strlen(tmpdir) + 1 + strlen(longname));
	assert_error(text, want);
	free(text);
	free(want);
}

static void
test_files(void **state)
{
	struct config	*cf = (struct config *)1;
	char		*cause = NULL, *path, *want, *big;
	size_t		 size = CONFIG_MAX_SIZE + 1;

	/* Not there. */
	xasprintf(&path, "%s/missing.json", tmpdir);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), -1);
	assert_null(cf);
	xasprintf(&want, "%s: cannot open: No such file or directory", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);

	/* A directory. */
	xasprintf(&path, "%s/etc", tmpdir);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), -1);
	xasprintf(&want, "%s: not a regular file (a directory)", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);

	/* One byte over the limit, even with valid JSON in it. */
	big = xmalloc(size);
	memset(big, ' ', size);
	big[0] = '{';
	memcpy(big + size - 15, "\"plugins\": []}", 14);
	big[size - 1] = '\n';
	path = write_file("big.json", big, size, 0644);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), -1);
	xasprintf(&want, "%s: too large: 1048577 bytes, the limit is 1048576",
	    path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	assert_int_equal(config_load_string(big, size, "big", tmpdir,
	    plugindir, &cf, &cause), -1);
	assert_string_equal(cause, "big: too large: 1048577 bytes, the limit "
	    "is 1048576");
	free(cause);
	free(path);
	/* At the limit it loads. */
	big[1] = '{';
	path = write_file("big.json", big + 1, size - 1, 0644);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), 0);
	assert_int_equal(cf->nplugins, 0);
	config_free(cf);
	free(path);
	free(big);

	/* A syntax error in a file names the file as given. */
	path = write_file("bad.json", "{\n\"plugins\": [}\n", 16, 0644);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), -1);
	xasprintf(&want, "%s:2:13: invalid JSON: unexpected token near '}'",
	    path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);

	/* A base directory that does not exist. */
	assert_int_equal(config_load_string("{}", 2, "x", "/nonexistent/dir",
	    NULL, &cf, &cause), -1);
	assert_string_equal(cause, "x: cannot resolve directory "
	    "/nonexistent/dir: No such file or directory");
	free(cause);
}

/* A Unix socket bound at path (and left there, stale, once closed). */
static void
make_socket(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strlcpy_(sun.sun_path, path, sizeof sun.sun_path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
}

/*
 * Whatever is at the socket path must be a socket (the daemon replaces a
 * stale one) or nothing: a "socket" naming the config file itself, a
 * directory, a FIFO or a symlink is an error naming the path, for the
 * daemon, supervisor -n and supervisorctl -c alike.
 */
static void
test_socket_path_kinds(void **state)
{
	static const char	 self[] = "{\"socket\": \"self.json\", "
	    "\"plugins\": []}";
	struct config		*cf = (struct config *)1;
	char			*path, *cause = NULL, *want, *sock, *text;
	struct {
		const char	*name;
		const char	*kind;
	} kinds[] = {
		{ "k/file", "a regular file" },
		{ "k/dir", "a directory" },
		{ "k/fifo", "a FIFO" },
		{ "k/link", "a symbolic link" },
		{ "k/dangling", "a symbolic link" },
	};
	size_t			 i;

	/* The config file as its own socket: refused, and left alone. */
	path = write_file("etc/self.json", self, sizeof self - 1, 0644);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), -1);
	assert_null(cf);
	xasprintf(&want, "%s:1:12: socket: socket path \"%s\" is a regular "
	    "file, not a socket: refusing to replace it", path, path);
	assert_string_equal(cause, want);
	free(cause);
	/* supervisorctl -c reads the same socket and says the same. */
	assert_int_equal(config_load_socket(path, &sock, &cause), -1);
	assert_null(sock);
	assert_string_equal(cause, want);
	free(cause);
	free(want);
	free(path);

	make_dir("k");
	free(write_file("k/file", "x", 1, 0644));
	make_dir("k/dir");
	xasprintf(&path, "%s/k/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	free(path);
	xasprintf(&path, "%s/k/link", tmpdir);
	assert_int_equal(symlink("file", path), 0);
	free(path);
	xasprintf(&path, "%s/k/dangling", tmpdir);
	assert_int_equal(symlink("nothing", path), 0);
	free(path);
	for (i = 0; i < nitems(kinds); i++) {
		xasprintf(&text, "{\"socket\": \"%s\", \"plugins\": []}",
		    kinds[i].name);
		assert_errorf(text, "cfg.json:1:12: socket: socket path "
		    "\"%s/%s\" is %s, not a socket: refusing to replace it",
		    tmpdir, kinds[i].name, kinds[i].kind);
		free(text);
	}
	/* The default path is blamed on the top level. */
	make_dir("d");
	make_dir("d/run");
	free(write_file("d/run/supervisor.sock", "", 0, 0644));
	xasprintf(&path, "%s/d", tmpdir);
	assert_int_equal(config_load_string("{\"plugins\": []}", 15, "cfg.json",
	    path, plugindir, &cf, &cause), -1);
	xasprintf(&want, "cfg.json:1:1: socket: socket path \"%s/run/"
	    "supervisor.sock\" is a regular file, not a socket: refusing to "
	    "replace it", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);

	/* A socket (stale or not) is the daemon's business; none is fine. */
	xasprintf(&path, "%s/k/s.sock", tmpdir);
	make_socket(path);
	free(path);
	config_free(load_ok("{\"socket\": \"k/s.sock\", \"plugins\": []}"));
	config_free(load_ok("{\"socket\": \"k/none.sock\", \"plugins\": []}"));
}

/*
 * A config that is not a regular file is refused without waiting: a FIFO
 * opened for reading would block until a writer came (the daemon reloads
 * from its event loop). alarm() turns a hang into a failure.
 */
static void
test_config_not_regular(void **state)
{
	struct config	*cf = (struct config *)1;
	char		*path, *cause = NULL, *want, *sock = (char *)1;

	xasprintf(&path, "%s/fifo.json", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), -1);
	assert_null(cf);
	xasprintf(&want, "%s: not a regular file (a FIFO)", path);
	assert_string_equal(cause, want);
	free(cause);
	assert_int_equal(config_load_socket(path, &sock, &cause), -1);
	assert_null(sock);
	assert_string_equal(cause, want);
	alarm(0);
	free(cause);
	free(want);
	free(path);

	/* A socket cannot even be opened: said as what it is. */
	xasprintf(&path, "%s/sock.json", tmpdir);
	make_socket(path);
	assert_int_equal(config_load_file(path, plugindir, &cf, &cause), -1);
	xasprintf(&want, "%s: not a regular file (a socket)", path);
	assert_string_equal(cause, want);
	free(cause);
	free(want);
	free(path);

	/* A character device. */
	assert_int_equal(config_load_file("/dev/null", plugindir, &cf, &cause),
	    -1);
	assert_string_equal(cause, "/dev/null: not a regular file (a "
	    "character device)");
	free(cause);
}

/* Paths of a file named relatively, through a symlink, or in "/". */
static void
test_file_paths(void **state)
{
	static const char	 text[] = "{\"socket\": \"s.sock\", \"plugins\": "
	    "[{\"name\": \"a\", \"exec\": [\"dice-roller\"]}]}";
	struct config		*cf;
	char			*cause = NULL, *path, *link, *want, *cwd, *rel;

	path = write_file("etc/min.json", text, sizeof text - 1, 0644);

	/* Named through a symlink: its own directory, not the target's. */
	xasprintf(&link, "%s/min-link.json", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(config_load_file(link, plugindir, &cf, &cause), 0);
	assert_string_equal(cf->path, link);
	assert_string_equal(cf->dir, tmpdir);
	xasprintf(&want, "%s/s.sock", tmpdir);
	assert_string_equal(cf->socket_path, want);
	free(want);
	config_free(cf);

	/* Named relative to the current directory; a relative plugin_dir. */
	assert_non_null(cwd = getcwd(NULL, 0));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(config_load_file("etc/min.json", "bin/../plugins",
	    &cf, &cause), 0);
	assert_string_equal(cf->path, path);
	xasprintf(&want, "%s/etc/s.sock", tmpdir);
	assert_string_equal(cf->socket_path, want);
	free(want);
	xasprintf(&want, "%s/dice-roller", plugindir);
	assert_string_equal(cf->plugins[0].argv[0], want);
	free(want);
	config_free(cf);

	/* A file in the current directory, and errors name it as given. */
	assert_int_equal(chdir("etc"), 0);
	assert_int_equal(config_load_file("min.json", NULL, &cf, &cause), 0);
	assert_string_equal(cf->path, path);
	config_free(cf);
	rel = write_file("etc/oops.json", "{\"plugins\": 1}", 14, 0644);
	assert_int_equal(config_load_file("oops.json", NULL, &cf, &cause), -1);
	assert_string_equal(cause, "oops.json:1:13: plugins: must be an array "
	    "of plugins, got 1");
	free(cause);
	assert_int_equal(chdir(cwd), 0);

	free(rel);
	free(cwd);
	free(link);
	free(path);
}

/* The guard works: a load, which resolves, is caught by it. */
static void
test_fs_guard(void **state)
{
	struct config	*cf;
	char		*cause = NULL;

	fs_calls = 0;
	fs_forbidden = 1;
	assert_int_equal(config_load_string(PLUG_CONFIG, strlen(PLUG_CONFIG),
	    "cfg.json", tmpdir, plugindir, &cf, &cause), -1);
	fs_forbidden = 0;
	assert_true(fs_calls > 0);
	assert_string_equal(fs_first, "realpath");
	free(cause);
}

/*
 * The parse step alone: every value read, paths as written, nothing looked
 * up; resolving it then gives what a load gives.
 */
static void
test_parse_then_resolve(void **state)
{
	const struct plugin_config	*p;
	struct config			*cf, *loaded;
	char				*cause = NULL, *etc, *path;
	size_t				 i, j;

	assert_int_equal(parse_pure(full_config, "cfg.json", &cf, &cause), 0);
	assert_null(cause);
	assert_string_equal(cf->path, "cfg.json");
	assert_null(cf->dir);
	assert_string_equal(cf->socket_path, "run/sup.sock");
	assert_string_equal(cf->prefix, "?");
	assert_int_equal(cf->nadmins, 2);
	assert_true(cf->poll_interval == 2.5);
	assert_int_equal(cf->restart.max_crashes, 7);
	assert_int_equal(cf->nplugins, 5);
	assert_string_equal(cf->plugins[0].argv[0], "console");
	assert_string_equal(cf->plugins[0].argv[1], "--color");
	assert_string_equal(cf->plugins[1].argv[0], "dice-roller");
	assert_string_equal(cf->plugins[1].env[0], "LANG=C");
	assert_int_equal(cf->plugins[1].restart.max_crashes, 2);
	assert_string_equal(cf->plugins[2].argv[0], "pathtool");
	assert_string_equal(cf->plugins[3].argv[0], "scripts/tool.sh");
	assert_string_equal(cf->plugins[4].argv[0], "/bin/sh");

	xasprintf(&etc, "%s/etc", tmpdir);
	assert_int_equal(config_resolve(cf, etc, plugindir, &cause), 0);
	assert_null(cause);
	path = write_file("etc/cfg.json", full_config, sizeof full_config - 1,
	    0644);
	assert_int_equal(config_load_file(path, plugindir, &loaded, &cause), 0);
	assert_string_equal(cf->dir, loaded->dir);
	assert_string_equal(cf->socket_path, loaded->socket_path);
	assert_int_equal(cf->nplugins, loaded->nplugins);
	for (i = 0; i < cf->nplugins; i++) {
		p = &cf->plugins[i];
		assert_true(config_plugin_equal(p, &loaded->plugins[i]));
		for (j = 0; j < p->argc; j++)
			assert_string_equal(p->argv[j],
			    loaded->plugins[i].argv[j]);
	}
	free(path);
	xasprintf(&path, "%s/scripts/tool.sh", etc);
	assert_string_equal(cf->plugins[3].argv[0], path);
	config_free(loaded);
	config_free(cf);
	free(path);
	free(etc);
}

/*
 * A plugin whose executable does not exist, in a directory that does not
 * either: the parse accepts it; resolution refuses it with the message a
 * load gives.
 */
static void
test_parse_accepts_what_resolution_refuses(void **state)
{
	static const char	 text[] = "{\"socket\": \"/nonexistent/dir/s.sock\",\n"
	    " \"plugins\": [" PLUG ",\n  {\"name\": \"gone\", "
	    "\"exec\": [\"/nonexistent/bin\"]}]}";
	struct config		*cf;
	char			*cause = NULL, *loaded;

	assert_int_equal(parse_pure(text, "cfg.json", &cf, &cause), 0);
	assert_string_equal(cf->socket_path, "/nonexistent/dir/s.sock");
	assert_string_equal(cf->plugins[1].argv[0], "/nonexistent/bin");
	assert_int_equal(config_resolve(cf, tmpdir, plugindir, &cause), -1);
	assert_string_equal(cause, "cfg.json:3:29: plugins[1].exec[0]: cannot "
	    "find executable \"/nonexistent/bin\" (tried: /nonexistent/bin "
	    "(no such file))");
	loaded = load_err(text);
	assert_string_equal(cause, loaded);
	free(loaded);
	free(cause);
	config_free(cf);

	/* Resolution against a directory that is not there. */
	assert_int_equal(parse_pure(text, "cfg.json", &cf, &cause), 0);
	assert_int_equal(config_resolve(cf, "/nonexistent/dir", plugindir,
	    &cause), -1);
	assert_string_equal(cause, "cfg.json: cannot resolve directory "
	    "/nonexistent/dir: No such file or directory");
	free(cause);
	config_free(cf);
}

/* A socket path too long once resolved: the parse cannot know, resolution says. */
static void
test_parse_then_socket_too_long(void **state)
{
	struct config	*cf;
	char		*text, *cause = NULL, *loaded, longname[100];

	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	/* Given, it points at the value; by default, at the top level. */
	xasprintf(&text, "{\"socket\": \"%s\", \"plugins\": []}", longname);
	assert_int_equal(parse_pure(text, "cfg.json", &cf, &cause), 0);
	assert_string_equal(cf->socket_path, longname);
	assert_int_equal(config_resolve(cf, tmpdir, NULL, &cause), -1);
	loaded = load_err(text);
	assert_string_equal(cause, loaded);
	assert_non_null(strstr(cause, "cfg.json:1:12: socket: socket path \""));
	free(loaded);
	free(cause);
	config_free(cf);
	free(text);
}

/* Shape errors come from the parse alone, as a load gives them. */
static void
test_parse_errors(void **state)
{
	static const char *const texts[] = {
		"{\"plugins\": [{\"name\": \"a\", \"exec\": [\"missing\"], "
		    "\"colour\": 1}]}",
		"{\"socket\": 5, \"plugins\": []}",
		"{\"plugins\": [" PLUG ", " PLUG "]}",
		"[1, 2",
		"{}",
	};
	struct config	*cf = (struct config *)1;
	char		*cause = NULL, *loaded;
	size_t		 i;

	for (i = 0; i < nitems(texts); i++) {
		assert_int_equal(parse_pure(texts[i], "cfg.json", &cf, &cause),
		    -1);
		assert_null(cf);
		loaded = load_err(texts[i]);
		assert_string_equal(cause, loaded);
		free(loaded);
		free(cause);
	}
	assert_int_equal(parse_pure("{\"plugins\": []}", NULL, &cf, &cause),
	    0);
	assert_string_equal(cf->path, "(string)");
	config_free(cf);
}

/* "output" (global, per plugin) and "log_file": values, ranges, paths. */
static void
test_output_config(void **state)
{
	struct config			*cf;
	const struct plugin_config	*p;
	char				*want;

	/* Defaults. */
	cf = load_ok("{\"plugins\": [" PLUG "]}");
	assert_true(cf->output.lines_per_second == 100);
	assert_int_equal(cf->output.burst_lines, 200);
	assert_true(cf->output.bytes_per_second == 65536);
	assert_int_equal(cf->output.burst_bytes, 131072);
	assert_true(cf->output.summary_interval == 10);
	p = &cf->plugins[0];
	assert_memory_equal(&p->output, &cf->output, sizeof p->output);
	assert_null(p->log_file.path);
	assert_int_equal(p->log_file.max_bytes, 10485760);
	assert_int_equal(p->log_file.backups, 5);
	config_free(cf);

	/* Global, then per plugin key by key; a relative log file path. */
	cf = load_ok("{\"output\": {\"lines_per_second\": 10, "
	    "\"burst_lines\": 20, \"bytes_per_second\": 0, \"burst_bytes\": "
	    "4096, \"summary_interval\": 0.5}, \"plugins\": [" PLUG ", "
	    "{\"name\": \"b\", \"exec\": [\"dice-roller\"], \"output\": "
	    "{\"burst_lines\": 1000000, \"lines_per_second\": 0}, "
	    "\"log_file\": {\"path\": \"logs/b.log\", \"max_bytes\": 4096, "
	    "\"backups\": 0}}, {\"name\": \"c\", \"exec\": [\"dice-roller\"], "
	    "\"log_file\": {\"path\": \"/var/log/c.log\", \"backups\": 100, "
	    "\"max_bytes\": 1099511627776}}]}");
	assert_true(cf->output.lines_per_second == 10);
	assert_int_equal(cf->output.burst_lines, 20);
	assert_true(cf->output.bytes_per_second == 0);
	assert_int_equal(cf->output.burst_bytes, 4096);
	assert_true(cf->output.summary_interval == 0.5);
	assert_memory_equal(&cf->plugins[0].output, &cf->output,
	    sizeof cf->output);
	p = &cf->plugins[1];
	assert_true(p->output.lines_per_second == 0);
	assert_int_equal(p->output.burst_lines, 1000000);
	assert_int_equal(p->output.burst_bytes, 4096);	/* global */
	assert_true(p->output.summary_interval == 0.5);	/* global */
	xasprintf(&want, "%s/logs/b.log", tmpdir);
	assert_string_equal(p->log_file.path, want);
	free(want);
	assert_int_equal(p->log_file.max_bytes, 4096);
	assert_int_equal(p->log_file.backups, 0);
	p = &cf->plugins[2];
	assert_string_equal(p->log_file.path, "/var/log/c.log");
	assert_int_equal(p->log_file.max_bytes, 1099511627776ULL);
	assert_int_equal(p->log_file.backups, 100);
	/* A copy compares equal; another log file does not. */
	{
		struct plugin_config	*copy = config_plugin_dup(p);

		assert_true(config_plugin_equal(copy, p));
		free(copy->log_file.path);
		copy->log_file.path = xstrdup("/var/log/d.log");
		assert_false(config_plugin_equal(copy, p));
		free(copy->log_file.path);
		copy->log_file.path = NULL;
		assert_false(config_plugin_equal(copy, p));
		config_plugin_free(copy);
		copy = config_plugin_dup(&cf->plugins[0]);
		copy->output.burst_lines++;
		assert_false(config_plugin_equal(copy, &cf->plugins[0]));
		config_plugin_free(copy);
	}
	config_free(cf);

	/* Errors. */
	assert_error("{\"output\": {\"lines\": 5}, \"plugins\": []}",
	    "cfg.json:1:13: output.lines: unknown key (expected one of: "
	    "lines_per_second, burst_lines, bytes_per_second, burst_bytes, "
	    "summary_interval)");
	assert_error("{\"output\": 5, \"plugins\": []}",
	    "cfg.json:1:12: output: must be an object, got 5");
	assert_error("{\"output\": {\"lines_per_second\": -1}, \"plugins\": []}",
	    "cfg.json:1:33: output.lines_per_second: must be a number between "
	    "0 and 1000000, got -1");
	assert_error("{\"output\": {\"burst_lines\": 0}, \"plugins\": []}",
	    "cfg.json:1:28: output.burst_lines: must be an integer between 1 "
	    "and 1000000, got 0");
	assert_error("{\"output\": {\"bytes_per_second\": 1073741825}, "
	    "\"plugins\": []}",
	    "cfg.json:1:33: output.bytes_per_second: must be a number between "
	    "0 and 1073741824, got 1073741825");
	assert_error("{\"output\": {\"burst_bytes\": 4095}, \"plugins\": []}",
	    "cfg.json:1:28: output.burst_bytes: must be an integer between "
	    "4096 and 1073741824, got 4095");
	assert_error("{\"output\": {\"summary_interval\": 0}, \"plugins\": []}",
	    "cfg.json:1:33: output.summary_interval: must be a number between "
	    "0.1 and 3600, got 0");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"output\": {\"burst_lines\": 2.5}}]}",
	    "cfg.json:1:69: plugins[0].output.burst_lines: must be an integer "
	    "between 1 and 1000000, got 2.5");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"log_file\": \"a.log\"}]}",
	    "cfg.json:1:55: plugins[0].log_file: must be an object, got "
	    "\"a.log\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"log_file\": {\"backups\": 1}}]}",
	    "cfg.json:1:55: plugins[0].log_file.path: missing required key");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"log_file\": {\"path\": \"logs/\"}}]}",
	    "cfg.json:1:64: plugins[0].log_file.path: must be a path to a "
	    "file, without control characters, got \"logs/\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"log_file\": {\"path\": \"a\\nb\"}}]}",
	    "cfg.json:1:64: plugins[0].log_file.path: must be a path to a "
	    "file, without control characters, got \"a\\u000ab\"");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"log_file\": {\"path\": \"a.log\", \"max_bytes\": 4095}}]}",
	    "cfg.json:1:86: plugins[0].log_file.max_bytes: must be an integer "
	    "between 4096 and 1099511627776, got 4095");
	assert_error("{\"plugins\": [{\"name\": \"a\", \"exec\": [\"x\"], "
	    "\"log_file\": {\"path\": \"a.log\", \"backups\": 101}}]}",
	    "cfg.json:1:84: plugins[0].log_file.backups: must be an integer "
	    "between 0 and 100, got 101");
	/* One file for two plugins, however it is written. */
	xasprintf(&want, "{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"dice-roller\"], \"log_file\": {\"path\": \"x.log\"}}, "
	    "{\"name\": \"b\", \"exec\": [\"dice-roller\"], \"log_file\": "
	    "{\"path\": \"%s/x.log\"}}]}", tmpdir);
	assert_errorf(want, "cfg.json:1:%zu: plugins[1].log_file.path: "
	    "\"%s/x.log\" is the log file of plugins[0] already",
	    strlen(want) - strlen(tmpdir) - 11, tmpdir);
	free(want);
}

/* Only the socket of a file, as supervisorctl -c reads it. */
static void
test_load_socket(void **state)
{
	static const char	 gone[] = "{\"socket\": \"run/s.sock\", "
	    "\"chat\": 5, \"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"/nonexistent/bin\"]}, {\"name\": \"a\"}]}";
	static const char	 dflt[] = "{\"plugins\": 1}";
	static const char	 typo[] = "{\"sockte\": \"s.sock\"}";
	static const char	 bad[] = "{\"socket\": [\"s.sock\"]}";
	char			*path, *sock = (char *)1, *cause = NULL, *want;

	/* The rest of the file is not looked at, and not needed. */
	path = write_file("etc/gone.json", gone, sizeof gone - 1, 0644);
	assert_int_equal(config_load_socket(path, &sock, &cause), 0);
	assert_null(cause);
	xasprintf(&want, "%s/etc/run/s.sock", tmpdir);
	assert_string_equal(sock, want);
	free(want);
	free(sock);
	free(path);
	path = write_file("etc/dflt.json", dflt, sizeof dflt - 1, 0644);
	assert_int_equal(config_load_socket(path, &sock, &cause), 0);
	xasprintf(&want, "%s/etc/run/supervisor.sock", tmpdir);
	assert_string_equal(sock, want);
	free(want);
	free(sock);
	free(path);

	/* What names the socket is checked as a load checks it. */
	path = write_file("etc/typo.json", typo, sizeof typo - 1, 0644);
	assert_int_equal(config_load_socket(path, &sock, &cause), -1);
	assert_null(sock);
	xasprintf(&want, "%s:1:2: sockte: unknown key (expected one of: "
	    "socket, control, chat, metrics, state, restart, output, plugins, alerts, http, base_dir, sandbox)", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);
	path = write_file("etc/bad.json", bad, sizeof bad - 1, 0644);
	assert_int_equal(config_load_socket(path, &sock, &cause), -1);
	xasprintf(&want, "%s:1:12: socket: must be a non-empty path without "
	    "control characters, got an array", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);
	path = write_file("etc/syntax.json", "{\"socket\": }", 12, 0644);
	assert_int_equal(config_load_socket(path, &sock, &cause), -1);
	xasprintf(&want, "%s:1:12: invalid JSON: unexpected token near '}'",
	    path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);
	xasprintf(&path, "%s/etc/none.json", tmpdir);
	assert_int_equal(config_load_socket(path, &sock, &cause), -1);
	xasprintf(&want, "%s: cannot open: No such file or directory", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_defaults),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_json),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_platform),
		cmocka_unit_test(test_jsonpos),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_plugin_identity),
		cmocka_unit_test(test_reload_and_watch),
		cmocka_unit_test(test_rollups_state),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_plugin_entries),
		cmocka_unit_test(test_too_many_plugins),
		cmocka_unit_test(test_exec_resolution),
		cmocka_unit_test(test_exec_no_plugin_dir),
		cmocka_unit_test(test_socket_too_long),
		cmocka_unit_test(test_socket_path_kinds),
		cmocka_unit_test(test_config_not_regular),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_file_paths),
		cmocka_unit_test(test_fs_guard),
		cmocka_unit_test(test_parse_then_resolve),
		cmocka_unit_test(test_parse_accepts_what_resolution_refuses),
		cmocka_unit_test(test_parse_then_socket_too_long),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load_socket),
		cmocka_unit_test(test_output_config),
	};

	log_init("test_config", 0);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

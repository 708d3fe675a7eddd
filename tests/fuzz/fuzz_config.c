/*
 * fuzz_config.c: libFuzzer target for the configuration loader (config/).
 *
 * The input is what an operator could put in a config file. The first byte
 * chooses how it is used:
 *
 *   - as the whole config text (as config_load_file hands it over); or
 *   - as one value spliced into an otherwise valid config, at one of the
 *     slots below, so the mutator spends its time on the validation of each
 *     key rather than on rediscovering the shape of a config.
 *
 * Either way the text goes through config_parse, the pure step of a load
 * (no file system): a config it accepts must hold what docs/config.md
 * promises of its shape, paths still as written. Then config_resolve, with
 * a plugin directory holding one executable ("plugin") so bare exec names
 * resolve; a config that resolves must hold the rest (absolute socket and
 * executables) and is freed, after each plugin's config has been copied and
 * compared as reload does. The two steps must agree with
 * config_load_string, which the daemon uses: the same config, or the same
 * cause. A refused text must come with a cause that names the origin
 * (docs/config.md: "FILE:LINE:COL: PATH: what"). Leaks are found by
 * LeakSanitizer at each input.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"
#include "config/config.h"

#define ORIGIN		"fuzz.json"

/* Abort with a line saying which property broke. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_config: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

/*
 * Text before and after the spliced value. Each pair with a valid value in
 * the middle is a valid config; "plugin" is the executable made below.
 */
static const struct slot {
	const char	*before;
	const char	*after;
} slots[] = {
	{ "{\"socket\": ", ", \"plugins\": []}" },
	{ "{\"chat\": ", ", \"plugins\": []}" },
	{ "{\"chat\": {\"prefix\": ", "}, \"plugins\": []}" },
	{ "{\"chat\": {\"admins\": ", "}, \"plugins\": []}" },
	{ "{\"chat\": {\"unknown_command\": ", ", \"max_line\": 100}, "
	    "\"plugins\": []}" },
	{ "{\"chat\": {\"admin_rate\": 1, \"max_line\": ", "}, \"plugins\": []}" },
	{ "{\"metrics\": ", ", \"plugins\": []}" },
	{ "{\"metrics\": {\"enabled\": true, \"poll_interval\": ",
	    ", \"history_duration\": 60}, \"plugins\": []}" },
	{ "{\"metrics\": {\"poll_interval\": 0.5, \"history_duration\": ",
	    "}, \"plugins\": []}" },
	{ "{\"restart\": ", ", \"plugins\": []}" },
	{ "{\"restart\": {\"initial_delay\": 1, \"multiplier\": 2, "
	    "\"max_delay\": ", "}, \"plugins\": []}" },
	{ "{\"plugins\": ", "}" },
	{ "{\"plugins\": [", "]}" },
	{ "{\"plugins\": [{\"name\": ", ", \"exec\": [\"plugin\"]}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": ", "}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": [", "]}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": [\"plugin\"], "
	    "\"role\": ", "}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": [\"plugin\"], "
	    "\"env\": ", "}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": [\"plugin\"], "
	    "\"config\": ", "}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": [\"plugin\"], "
	    "\"restart\": ", "}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": [\"plugin\"], "
	    "\"limits\": ", "}]}" },
	{ "{\"plugins\": [{\"name\": \"p\", \"exec\": [\"/bin/true\"], "
	    "\"autostart\": false, \"terminal\": ", "}]}" },
	{ "{\"socket\": \"run/s.sock\", \"plugins\": [{\"name\": \"a\", "
	    "\"exec\": [\"plugin\"]}, ", "]}" },
	{ "{", "}" },
	{ "{\"control\": ", ", \"plugins\": []}" },
};

static char	*fuzz_dir;		/* basedir and plugin dir */
static char	*fuzz_plugin;		/* the executable in it */

/* Remove the directory when the fuzzer exits normally. */
static void
fuzz_cleanup(void)
{
	unlink(fuzz_plugin);
	rmdir(fuzz_dir);
}

/* A directory with one executable plugin, once per process. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 tmpl[] = "/tmp/fuzz_config.XXXXXX", *path;
	FILE	*f;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		abort();
	}
	fuzz_dir = xstrdup(tmpl);
	xasprintf(&path, "%s/plugin", fuzz_dir);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		abort();
	}
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	if (chmod(path, 0755) == -1) {
		perror(path);
		abort();
	}
	fuzz_plugin = path;
	atexit(fuzz_cleanup);
	log_init("fuzz_config", 0);
	return 0;
}

/* What a parsed config must hold, resolved or not. */
static void
check_parsed(const struct config *cf)
{
	struct plugin_config	*copy;
	size_t			 i, j;

	CHECK(cf->path != NULL && strcmp(cf->path, ORIGIN) == 0);
	CHECK(cf->socket_path != NULL && cf->socket_path[0] != '\0');
	/* 1 to 8 characters (UTF-8 code points), no spaces or controls. */
	CHECK(cf->prefix != NULL);
	for (i = 0, j = 0; cf->prefix[i] != '\0'; i++) {
		CHECK((unsigned char)cf->prefix[i] > ' ' && cf->prefix[i] != 0x7f);
		if (((unsigned char)cf->prefix[i] & 0xc0) != 0x80)
			j++;
	}
	CHECK(j >= 1 && j <= 8);
	CHECK(cf->admins != NULL && cf->admins[cf->nadmins] == NULL);
	CHECK(cf->nadmins <= 1024);
	CHECK(cf->max_line >= 16 && cf->max_line <= 2048);
	CHECK(cf->admin_rate >= 0 && cf->admin_rate <= 3600);
	CHECK(cf->control_idle_timeout >= 0.1 &&
	    cf->control_idle_timeout <= 3600);
	CHECK(cf->poll_interval >= 0.1 && cf->poll_interval <= 3600);
	CHECK(cf->history_duration >= cf->poll_interval &&
	    cf->history_duration <= 604800);
	CHECK(config_history_capacity(cf) >= 1 &&
	    config_history_capacity(cf) <= CONFIG_MAX_SAMPLES);
	CHECK(cf->nplugins <= CONFIG_MAX_PLUGINS);
	for (i = 0; i < cf->nplugins; i++) {
		const struct plugin_config *p = &cf->plugins[i];

		CHECK(config_valid_name(p->name));
		CHECK(config_find_plugin(cf, p->name) == p);
		for (j = 0; j < i; j++)
			CHECK(strcmp(cf->plugins[j].name, p->name) != 0);
		CHECK(p->argc >= 1 && p->argv != NULL &&
		    p->argv[p->argc] == NULL);
		for (j = 0; j < p->argc; j++)
			CHECK(p->argv[j][0] != '\0');
		CHECK(p->env != NULL && p->env[p->nenv] == NULL);
		CHECK(p->nenv <= 256);
		for (j = 0; j < p->nenv; j++) {
			CHECK(strchr(p->env[j], '=') != NULL);
			CHECK(strncmp(p->env[j], "SUPERVISOR_FD=", 14) != 0);
		}
		CHECK(json_is_object(p->config));
		CHECK(p->restart.multiplier >= 0 && p->restart.max_crashes >= 0);
		CHECK(p->restart.queue_size >= 0 && p->restart.crash_history >= 0);
		CHECK(p->limits.memory_mb >= 0 && p->limits.cpu_percent >= 0);
		/* What reload compares and keeps: a copy equals the original. */
		copy = config_plugin_dup(p);
		CHECK(config_plugin_equal(copy, p));
		CHECK(strcmp(copy->name, p->name) == 0 && copy->argc == p->argc);
		config_plugin_free(copy);
	}
}

/* 1 if path is dir "/" rel. */
static int
is_joined(const char *path, const char *dir, const char *rel)
{
	size_t	n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/' &&
	    strcmp(path + n + 1, rel) == 0;
}

/*
 * What a parse leaves for resolution: no directory, paths as written, which
 * the load (a resolved config of the same text) made absolute.
 */
static void
check_unresolved(const struct config *cf, const struct config *loaded)
{
	const char	*a, *b;
	size_t		 i, n;

	CHECK(cf->dir == NULL);
	a = cf->socket_path;
	CHECK(a[0] == '/' ? strcmp(a, loaded->socket_path) == 0 :
	    is_joined(loaded->socket_path, loaded->dir, a));
	CHECK(cf->nplugins == loaded->nplugins);
	for (i = 0; i < cf->nplugins; i++) {
		a = cf->plugins[i].argv[0];
		b = loaded->plugins[i].argv[0];
		if (a[0] == '/')
			CHECK(strcmp(a, b) == 0);
		else if (strchr(a, '/') != NULL)
			CHECK(is_joined(b, loaded->dir, a));
		else {
			/* Found in some directory: the plugin dir or PATH. */
			n = strlen(b) - strlen(a);
			CHECK(strlen(b) > strlen(a) && b[n - 1] == '/' &&
			    strcmp(b + n, a) == 0);
		}
	}
}

/* What a resolved config must hold besides. */
static void
check_resolved(const struct config *cf)
{
	size_t	i;

	CHECK(cf->dir != NULL && cf->dir[0] == '/');
	CHECK(cf->socket_path[0] == '/');
	CHECK(strlen(cf->socket_path) <= 107);
	for (i = 0; i < cf->nplugins; i++) {
		CHECK(cf->plugins[i].argv[0][0] == '/');
		CHECK(access(cf->plugins[i].argv[0], X_OK) == 0);
	}
}

/* The two steps gave what a load gives: the same values, plugin by plugin. */
static void
check_same(const struct config *a, const struct config *b)
{
	size_t	i, j;

	CHECK(strcmp(a->dir, b->dir) == 0);
	CHECK(strcmp(a->socket_path, b->socket_path) == 0);
	CHECK(strcmp(a->prefix, b->prefix) == 0);
	CHECK(a->nadmins == b->nadmins && a->max_line == b->max_line);
	CHECK(a->control_idle_timeout == b->control_idle_timeout);
	CHECK(a->nplugins == b->nplugins);
	for (i = 0; i < a->nplugins; i++) {
		CHECK(config_plugin_equal(&a->plugins[i], &b->plugins[i]));
		for (j = 0; j < a->plugins[i].argc; j++)
			CHECK(strcmp(a->plugins[i].argv[j],
			    b->plugins[i].argv[j]) == 0);
	}
}

/* A refused text: a cause that names the origin. */
static void
check_cause(const char *cause)
{
	/*
	 * "fuzz.json:LINE:COL: ...". Its characters are not checked: some
	 * causes carry raw bytes of the input, newlines and escape sequences
	 * included (jansson's "near '...'" text, the list of paths tried for
	 * an exec), which is reported as a bug rather than made fatal here.
	 */
	CHECK(cause != NULL);
	CHECK(strncmp(cause, ORIGIN ":", strlen(ORIGIN) + 1) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct slot	*s;
	struct config		*cf = NULL, *loaded = NULL;
	char			*cause = NULL, *lcause = NULL, *text;
	size_t			 len, nb, na;
	unsigned		 mode;
	int			 rl;

	if (size == 0)
		return 0;
	mode = data[0] % (nitems(slots) + 1);
	data++;
	size--;
	if (mode == nitems(slots)) {
		/* The whole config; an exact-size copy so ASan sees overreads. */
		len = size;
		text = xmalloc(len + 1);
		memcpy(text, data, len);
		text[len] = '\0';
	} else {
		s = &slots[mode];
		nb = strlen(s->before);
		na = strlen(s->after);
		len = nb + size + na;
		text = xmalloc(len + 1);
		memcpy(text, s->before, nb);
		memcpy(text + nb, data, size);
		memcpy(text + nb + size, s->after, na);
		text[len] = '\0';
	}

	rl = config_load_string(text, len, ORIGIN, fuzz_dir, fuzz_dir, &loaded,
	    &lcause);
	if (config_parse(text, len, ORIGIN, &cf, &cause) == 0) {
		CHECK(cf != NULL && cause == NULL);
		check_parsed(cf);
		if (rl == 0)
			check_unresolved(cf, loaded);
		if (config_resolve(cf, fuzz_dir, fuzz_dir, &cause) == 0) {
			CHECK(rl == 0);
			check_parsed(cf);
			check_resolved(cf);
			check_same(cf, loaded);
		} else {
			check_cause(cause);
			CHECK(rl == -1 && strcmp(cause, lcause) == 0);
			free(cause);
		}
		config_free(cf);
	} else {
		CHECK(cf == NULL);
		check_cause(cause);
		CHECK(rl == -1 && strcmp(cause, lcause) == 0);
		free(cause);
	}
	config_free(loaded);
	free(lcause);
	free(text);
	return 0;
}

/*
 * main.c: the supervisor daemon's entry point: options, configuration,
 * then the event loop until every plugin has stopped.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

extern const char	default_config_json[];
extern const size_t	default_config_json_len;

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: supervisor [-dhnV] [-c config.json] [-P plugin-dir]\n"
	    "  -c FILE  configuration (default: the built-in config/default.json)\n"
	    "  -P DIR   where bare plugin names are found (default: ../plugins\n"
	    "           beside the supervisor binary)\n"
	    "  -n       check the configuration and exit\n"
	    "  -d       debug logging\n"
	    "  -V       print the version and exit\n");
	exit(status);
}

/* The plugins directory beside the binary: BIN/../plugins. */
static char *
default_plugin_dir(void)
{
	char	 exe[PATH_MAX], *dir, *path;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) == -1)
		return NULL;
	exe[n] = '\0';
	dir = dirname(exe);
	xasprintf(&path, "%s/../plugins", dir);
	return path;
}

int
main(int argc, char **argv)
{
	struct config	*cf;
	char		*cause = NULL, *plugin_dir = NULL, cwd[PATH_MAX];
	const char	*config_path = NULL;
	int		 ch, debug = 0, check_only = 0, status, r;

	while ((ch = getopt(argc, argv, "c:dhnP:V")) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(0);
		case 'n':
			check_only = 1;
			break;
		case 'P':
			plugin_dir = xstrdup(optarg);
			break;
		case 'V':
			printf("supervisor %s (protocol %d)\n", SUPERVISOR_VERSION,
			    PROTOCOL_VERSION);
			return 0;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	log_init("supervisor", debug);
	/*
	 * A large reply (status of a thousand plugins) makes thousands of
	 * small JSON values; with fastbins, each larger buffer allocated in
	 * between walks them all again (malloc_consolidate was a fifth of
	 * such a request's time). tcache still serves the small ones.
	 */
	mallopt(M_MXFAST, 0);
	if (plugin_dir == NULL)
		plugin_dir = default_plugin_dir();

	if (config_path != NULL)
		r = config_load_file(config_path, plugin_dir, &cf, &cause);
	else {
		if (getcwd(cwd, sizeof cwd) == NULL)
			fatal("getcwd");
		r = config_load_string(default_config_json,
		    default_config_json_len, "(built-in default)", cwd,
		    plugin_dir, &cf, &cause);
	}
	if (r != 0) {
		fprintf(stderr, "supervisor: %s\n", cause);
		free(cause);
		free(plugin_dir);
		return 2;
	}
	if (check_only) {
		control_check_dir(cf->socket_path);
		printf("%s: configuration OK (%zu plugins)\n", cf->path,
		    cf->nplugins);
		config_free(cf);
		free(plugin_dir);
		return 0;
	}

	server_init(cf, plugin_dir);
	if (config_path == NULL) {
		server->builtin_config = default_config_json;
		server->builtin_config_len = default_config_json_len;
	}
	if (control_init(cf->socket_path, &cause) != 0) {
		fprintf(stderr, "supervisor: %s\n", cause);
		free(cause);
		server_free();
		free(plugin_dir);
		return 1;
	}
	status = server_run();
	server_free();
	free(plugin_dir);
	return status;
}

/*
 * main.c: the supervisor daemon's entry point: options, configuration,
 * then the event loop until every plugin has stopped.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/paths.h"
#include "supervisor/supervisor.h"

extern const char	default_config_json[];
extern const size_t	default_config_json_len;
extern const char	dashboard_html[];	/* supervisor/dashboard.html */
extern const size_t	dashboard_html_len;

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: supervisor [-dhnV] [-c config.json] [-P plugin-dir]\n"
	    "  -c FILE  configuration (default: $" PATHS_CONFIG_ENV ", else,\n"
	    "           when installed, " PATHS_SYSTEM_CONFIG " if it\n"
	    "           exists, else the built-in config/default.json)\n"
	    "  -P DIR   where bare plugin names are found (default: ../plugins\n"
	    "           beside the supervisor binary; installed:\n"
	    "           PREFIX/" PATHS_PLUGIN_SUBDIR ")\n"
	    "  -n       check the configuration and exit\n"
	    "  -d       debug logging\n"
	    "  -V, --version  print the version and exit\n");
	exit(status);
}

/*
 * The config file when there is no -c: $SUPERVISOR_CONFIG, else the
 * system config if the daemon is installed and the file is there (any
 * file: the loader says what is wrong with it), else NULL for the built-in
 * default. why says where the answer came from, for supervisor -n.
 */
static const char *
main_find_config(const struct paths_layout *l, char *why, size_t size)
{
	const char	*env = getenv(PATHS_CONFIG_ENV);
	struct stat	 sb;

	if (env != NULL && *env != '\0') {
		snprintf(why, size, "from $" PATHS_CONFIG_ENV);
		return env;
	}
	if (l->installed && lstat(PATHS_SYSTEM_CONFIG, &sb) == 0) {
		snprintf(why, size, "the system config; no -c, $"
		    PATHS_CONFIG_ENV " unset");
		return PATHS_SYSTEM_CONFIG;
	}
	if (l->installed)
		snprintf(why, size, "no -c, $" PATHS_CONFIG_ENV " unset, no "
		    PATHS_SYSTEM_CONFIG);
	else
		snprintf(why, size, "no -c, $" PATHS_CONFIG_ENV " unset; a "
		    "build in the source tree reads no " PATHS_SYSTEM_CONFIG);
	return NULL;
}

static void __attribute__((noreturn))
main_version(void)
{
	printf("supervisor (" PATHS_PROJECT ") %s (protocol %d)\n",
	    SUPERVISOR_VERSION, PROTOCOL_VERSION);
	exit(0);
}

int
main(int argc, char **argv)
{
	struct config		*cf;
	struct paths_layout	 layout;
	char			*cause = NULL, *plugin_dir = NULL, cwd[PATH_MAX];
	char			 why[160];
	const char		*config_path = NULL;
	int			 ch, debug = 0, check_only = 0, status, r, i;

	/* GNU style, as packaging scripts probe programs. */
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--version") == 0)
			main_version();
	}
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
			main_version();
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
	/* Without /proc: no plugin directory of its own, as before. */
	if (paths_layout_self(&layout) == -1)
		log_warn("readlink /proc/self/exe: no built-in plugin directory");
	if (plugin_dir == NULL && layout.plugin_dir != NULL)
		plugin_dir = xstrdup(layout.plugin_dir);
	why[0] = '\0';
	if (config_path == NULL)
		config_path = main_find_config(&layout, why, sizeof why);
	paths_layout_free(&layout);

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
		if (why[0] != '\0' && config_path == NULL)
			printf("supervisor: checked the built-in default config "
			    "(%s)\n", why);
		else if (why[0] != '\0')
			printf("supervisor: checked %s (%s)\n", cf->path, why);
		control_check_dir(cf->socket_path);
		printf("%s: configuration OK (%zu plugins)\n", cf->path,
		    cf->nplugins);
		config_free(cf);
		free(plugin_dir);
		return 0;
	}

	/* Before any plugin: what the kernel offers, checked against cf. */
	sandbox_init();
	if (sandbox_check_config(cf, &cause) != 0) {
		fprintf(stderr, "supervisor: %s\n", cause);
		log_warnx("%s", cause);
		free(cause);
		config_free(cf);
		free(plugin_dir);
		return 1;
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
	sandbox_log_offer();
	http_init(dashboard_html, dashboard_html_len);
	status = server_run();
	server_free();
	free(plugin_dir);
	return status;
}

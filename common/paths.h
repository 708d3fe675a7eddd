/*
 * paths.h: where the daemon and supervisorctl find their plugins and their
 * system config, whether they run from the source tree's build or from an
 * installed prefix (make install). Resolved from the executable's own path,
 * so one build serves both, and a tree installed under DESTDIR runs as well
 * as one at its final place.
 */
#ifndef PATHS_H
#define PATHS_H

/*
 * The name of everything installed: it may not collide with Debian's
 * supervisor package (supervisord), which owns /usr/bin/supervisorctl,
 * supervisor.service and /etc/supervisor/.
 */
#define PATHS_PROJECT		"bot-supervisor"
/* Plugins below an installed prefix: PREFIX/lib/bot-supervisor/plugins. */
#define PATHS_PLUGIN_SUBDIR	"lib/" PATHS_PROJECT "/plugins"
/* The config an installed daemon reads without -c or $SUPERVISOR_CONFIG. */
#define PATHS_SYSTEM_CONFIG	"/etc/" PATHS_PROJECT "/bot.json"
/* Names a config in the environment (daemon and supervisorctl). */
#define PATHS_CONFIG_ENV	"SUPERVISOR_CONFIG"

struct paths_layout {
	int	 installed;	/* PREFIX/bin, with PREFIX/lib/bot-supervisor */
	char	*prefix;	/* installed: PREFIX; else NULL */
	char	*plugin_dir;	/* the built-in plugin directory */
};

int	 paths_layout_of(const char *exe, struct paths_layout *);
int	 paths_layout_self(struct paths_layout *);
void	 paths_layout_free(struct paths_layout *);

#endif

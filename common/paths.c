/*
 * paths.c: the layout a program runs in, from its executable's path.
 *
 *	source tree	build/bin/supervisor, plugins in build/plugins
 *	installed	PREFIX/bin/supervisor, plugins in
 *			PREFIX/lib/bot-supervisor/plugins (make install)
 *
 * The choice is made at run time from /proc/self/exe rather than compiled
 * in (-DPLUGINDIR=...): make install copies the binaries make built, with
 * no second build, and an installation staged under DESTDIR (a package
 * build, the install test) finds its own plugins, not those of whatever is
 * installed at PREFIX on that machine.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "paths.h"

/* 1 if path is a directory. */
static int
paths_is_dir(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/*
 * The layout of a program whose executable is exe (an absolute path):
 * installed if EXE_DIR/../lib/bot-supervisor/plugins is a directory, else
 * the source tree's EXE_DIR/../plugins (whether it exists or not, as
 * before there was an install).
 */
int
paths_layout_of(const char *exe, struct paths_layout *l)
{
	char	*copy, *dir, *installed;

	memset(l, 0, sizeof *l);
	if (exe == NULL || exe[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	copy = xstrdup(exe);
	dir = dirname(copy);
	xasprintf(&installed, "%s/../%s", dir, PATHS_PLUGIN_SUBDIR);
	if (paths_is_dir(installed)) {
		l->installed = 1;
		l->plugin_dir = installed;
		/* PREFIX: the directory above bin/, without "..". */
		l->prefix = xstrdup(dir);
		if (strrchr(l->prefix, '/') == l->prefix)
			l->prefix[1] = '\0';
		else
			*strrchr(l->prefix, '/') = '\0';
	} else {
		free(installed);
		xasprintf(&l->plugin_dir, "%s/../plugins", dir);
	}
	free(copy);
	return 0;
}

/* The layout of the running program (/proc/self/exe). */
int
paths_layout_self(struct paths_layout *l)
{
	char	exe[PATH_MAX];
	ssize_t	n;

	memset(l, 0, sizeof *l);
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) == -1)
		return -1;
	exe[n] = '\0';
	return paths_layout_of(exe, l);
}

void
paths_layout_free(struct paths_layout *l)
{
	free(l->prefix);
	free(l->plugin_dir);
	memset(l, 0, sizeof *l);
}

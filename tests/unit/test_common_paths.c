/*
 * test_common_paths.c: the layout a program runs in, from its executable's
 * path: an installed prefix (PREFIX/bin beside PREFIX/lib/bot-supervisor/
 * plugins) or the source tree's build (build/bin beside build/plugins).
 * Each case builds the directories in a temporary tree.
 */
#include <sys/stat.h>

#include <errno.h>
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
#include "common/paths.h"

static char	root[64];

static int
setup(void **state)
{
	strlcpy_(root, "/tmp/test_paths.XXXXXX", sizeof root);
	return mkdtemp(root) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	*cmd;
	int	 r;

	xasprintf(&cmd, "rm -rf '%s'", root);
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

/* mkdir -p ROOT/rel */
static void
mkdirs(const char *rel)
{
	char	*cmd;

	xasprintf(&cmd, "mkdir -p '%s/%s'", root, rel);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static char *
at(const char *rel)
{
	char	*path;

	xasprintf(&path, "%s/%s", root, rel);
	return path;
}

/* PREFIX/bin/supervisor with PREFIX/lib/bot-supervisor/plugins: installed. */
static void
test_installed_prefix(void **state)
{
	struct paths_layout	 l;
	char			*exe, *want;

	mkdirs("usr/bin");
	mkdirs("usr/lib/bot-supervisor/plugins");
	exe = at("usr/bin/supervisor");
	assert_int_equal(paths_layout_of(exe, &l), 0);
	assert_true(l.installed);
	want = at("usr/bin/../lib/bot-supervisor/plugins");
	assert_string_equal(l.plugin_dir, want);
	free(want);
	want = at("usr");
	assert_string_equal(l.prefix, want);
	free(want);
	paths_layout_free(&l);
	assert_null(l.plugin_dir);
	free(exe);
}

/* build/bin/supervisor with build/plugins: the source tree, as before. */
static void
test_source_tree(void **state)
{
	struct paths_layout	 l;
	char			*exe, *want;

	mkdirs("build/bin");
	mkdirs("build/plugins");
	mkdirs("build/lib");	/* the build's static libraries live here */
	exe = at("build/bin/supervisor");
	assert_int_equal(paths_layout_of(exe, &l), 0);
	assert_false(l.installed);
	assert_null(l.prefix);
	want = at("build/bin/../plugins");
	assert_string_equal(l.plugin_dir, want);
	free(want);
	paths_layout_free(&l);
	free(exe);
}

/*
 * Neither: the source tree's answer, as before there was an install (the
 * config then says which executable it could not find, and where it
 * looked). A plugin directory that is a file is no plugin directory.
 */
static void
test_neither(void **state)
{
	struct paths_layout	 l;
	char			*exe, *want, *file;
	FILE			*f;

	mkdirs("opt/x/bin");
	mkdirs("opt/x/lib/bot-supervisor");
	file = at("opt/x/lib/bot-supervisor/plugins");
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	exe = at("opt/x/bin/supervisor");
	assert_int_equal(paths_layout_of(exe, &l), 0);
	assert_false(l.installed);
	want = at("opt/x/bin/../plugins");
	assert_string_equal(l.plugin_dir, want);
	free(want);
	paths_layout_free(&l);
	free(exe);
	free(file);
}

/* An installed prefix of / (bin/ at the root) is "/", not "". */
static void
test_root_prefix(void **state)
{
	struct paths_layout	l;
	struct stat		sb;

	assert_int_equal(paths_layout_of("/bin/supervisor", &l), 0);
	if (stat("/bin/../lib/bot-supervisor/plugins", &sb) == 0) {
		/* Installed with PREFIX=/ or /usr on a merged-/usr system. */
		assert_true(l.installed);
		assert_string_equal(l.prefix, "/");
	} else {
		assert_false(l.installed);
		assert_string_equal(l.plugin_dir, "/bin/../plugins");
	}
	paths_layout_free(&l);
}

/* A path that is not absolute is refused: the caller's bug. */
static void
test_relative_exe_refused(void **state)
{
	struct paths_layout	l;

	errno = 0;
	assert_int_equal(paths_layout_of("bin/supervisor", &l), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(l.plugin_dir);
	assert_int_equal(paths_layout_of(NULL, &l), -1);
}

/* The running test itself: build/tests/unit/x, no installed layout. */
static void
test_self(void **state)
{
	struct paths_layout	l;

	assert_int_equal(paths_layout_self(&l), 0);
	assert_false(l.installed);
	assert_non_null(strstr(l.plugin_dir, "/tests/unit/../plugins"));
	paths_layout_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_installed_prefix, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_source_tree, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_neither, setup, teardown),
		cmocka_unit_test(test_root_prefix),
		cmocka_unit_test(test_relative_exe_refused),
		cmocka_unit_test(test_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

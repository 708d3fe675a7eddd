/*
 * test_config_sandbox.c: the "sandbox" sections of the config (global and
 * per plugin): defaults by role, lists, network, syscalls, and each error
 * with the file, position and JSON path it names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "config/config.h"

/* Load text as "cfg.json" resolved against /; *cause on error. */
static int
load(const char *text, struct config **cf, char **cause)
{
	*cf = NULL;
	*cause = NULL;
	return config_load_string(text, strlen(text), "cfg.json", "/", "/",
	    cf, cause);
}

#define PLUG(extra)	"{\"plugins\": [{\"name\": \"a\", \"exec\": " \
	"[\"/bin/true\"]" extra "}]}"

static void
assert_cause(const char *text, const char *expected)
{
	struct config	*cf;
	char		*cause;

	assert_int_equal(load(text, &cf, &cause), -1);
	assert_null(cf);
	assert_non_null(cause);
	assert_string_equal(cause, expected);
	free(cause);
}

/* No "sandbox": on, not required, nothing granted, network by role. */
static void
test_sandbox_defaults(void **state)
{
	struct config	*cf;
	char		*cause;

	assert_int_equal(load("{\"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"/bin/true\"]}, {\"name\": \"c\", \"role\": \"connector\", "
	    "\"exec\": [\"/bin/true\"]}]}", &cf, &cause), 0);
	assert_true(cf->sandbox.enabled);
	assert_false(cf->sandbox.required);
	assert_true(cf->plugins[0].sandbox.enabled);
	assert_false(cf->plugins[0].sandbox.required);
	assert_int_equal(cf->plugins[0].sandbox.nread, 0);
	assert_null(cf->plugins[0].sandbox.read[0]);
	assert_int_equal(cf->plugins[0].sandbox.nwrite, 0);
	assert_int_equal(cf->plugins[0].sandbox.nsyscalls, 0);
	assert_int_equal(cf->plugins[0].sandbox.network, SANDBOX_NET_NONE);
	assert_int_equal(cf->plugins[1].sandbox.network, SANDBOX_NET_CONNECT);
	config_free(cf);
}

/* Everything given, and the global section over which plugins start. */
static void
test_sandbox_full(void **state)
{
	struct config		*cf;
	struct plugin_config	*copy;
	char			*cause;

	assert_int_equal(load("{\"sandbox\": {\"enabled\": false, "
	    "\"required\": true}, \"plugins\": [{\"name\": \"a\", \"exec\": "
	    "[\"/bin/true\"], \"sandbox\": {\"enabled\": true, \"read\": "
	    "[\"/usr\", \"/etc/hostname\"], \"write\": [\"/tmp\"], "
	    "\"network\": \"any\", \"syscalls\": [\"ptrace\", \"unshare\"], "
	    "\"root\": true}}, "
	    "{\"name\": \"b\", \"exec\": [\"/bin/true\"], \"sandbox\": "
	    "{\"network\": false}}]}", &cf, &cause), 0);
	assert_false(cf->sandbox.enabled);
	assert_true(cf->sandbox.required);
	assert_true(cf->plugins[0].sandbox.enabled);
	assert_true(cf->plugins[0].sandbox.required);
	assert_int_equal(cf->plugins[0].sandbox.nread, 2);
	assert_string_equal(cf->plugins[0].sandbox.read[1], "/etc/hostname");
	assert_string_equal(cf->plugins[0].sandbox.write[0], "/tmp");
	assert_int_equal(cf->plugins[0].sandbox.network, SANDBOX_NET_ANY);
	assert_int_equal(cf->plugins[0].sandbox.nsyscalls, 2);
	assert_string_equal(cf->plugins[0].sandbox.syscalls[1], "unshare");
	assert_true(cf->plugins[0].sandbox.root);
	assert_false(cf->plugins[1].sandbox.root);
	assert_false(cf->plugins[1].sandbox.enabled);
	assert_int_equal(cf->plugins[1].sandbox.network, SANDBOX_NET_NONE);
	assert_string_equal(config_sandbox_network_name(SANDBOX_NET_CONNECT),
	    "connect");

	/* A copy is equal; a different grant is a different plugin. */
	copy = config_plugin_dup(&cf->plugins[0]);
	assert_true(config_plugin_equal(copy, &cf->plugins[0]));
	assert_false(config_plugin_equal(copy, &cf->plugins[1]));
	free(copy->sandbox.write[0]);
	copy->sandbox.write[0] = xstrdup("/var");
	assert_false(config_plugin_equal(copy, &cf->plugins[0]));
	config_plugin_free(copy);
	config_free(cf);
}

static void
test_sandbox_errors(void **state)
{
	assert_cause(PLUG(", \"sandbox\": {\"read\": [\"/nonexistent/x\"]}"),
	    "cfg.json:1:72: plugins[0].sandbox.read[0]: \"/nonexistent/x\": "
	    "No such file or directory");
	assert_cause(PLUG(", \"sandbox\": {\"write\": [\"tmp\"]}"),
	    "cfg.json:1:73: plugins[0].sandbox.write[0]: \"tmp\" is a relative "
	    "path; sandbox paths are absolute");
	assert_cause(PLUG(", \"sandbox\": {\"readonly\": []}"),
	    "cfg.json:1:63: plugins[0].sandbox.readonly: unknown key (expected "
	    "one of: enabled, required, read, write, network, syscalls, root)");
	assert_cause(PLUG(", \"sandbox\": {\"network\": true}"),
	    "cfg.json:1:74: plugins[0].sandbox.network: must be false, "
	    "\"none\", \"connect\" or \"any\", got true");
	assert_cause(PLUG(", \"sandbox\": {\"syscalls\": [\"read\"]}"),
	    "cfg.json:1:76: plugins[0].sandbox.syscalls[0]: \"read\" is not a "
	    "syscall the sandbox denies (see docs/sandbox.md for the list)");
	assert_cause(PLUG(", \"sandbox\": {\"read\": \"/usr\"}"),
	    "cfg.json:1:71: plugins[0].sandbox.read: must be an array of "
	    "absolute paths, got \"/usr\"");
	assert_cause(PLUG(", \"sandbox\": {\"read\": [\"\"]}"),
	    "cfg.json:1:72: plugins[0].sandbox.read[0]: must be an absolute "
	    "path without control characters, got \"\"");
	assert_cause(PLUG(", \"sandbox\": []"),
	    "cfg.json:1:62: plugins[0].sandbox: must be an object, got an "
	    "empty array");
	assert_cause("{\"sandbox\": {\"read\": []}, \"plugins\": []}",
	    "cfg.json:1:14: sandbox.read: unknown key (expected one of: "
	    "enabled, required)");
	assert_cause("{\"sandbox\": {\"required\": 1}, \"plugins\": []}",
	    "cfg.json:1:26: sandbox.required: must be true or false, got 1");
}

/* At most CONFIG_SANDBOX_MAX_PATHS entries in one list. */
static void
test_sandbox_bounds(void **state)
{
	struct config	*cf;
	char		*text, *cause, *p;
	size_t		 i, size = 16384;

	text = p = xmalloc(size);
	p += snprintf(p, size, "%s", "{\"plugins\": [{\"name\": \"a\", "
	    "\"exec\": [\"/bin/true\"], \"sandbox\": {\"read\": [");
	for (i = 0; i <= CONFIG_SANDBOX_MAX_PATHS; i++)
		p += snprintf(p, size - (size_t)(p - text), "%s\"/usr\"",
		    i ? ", " : "");
	snprintf(p, size - (size_t)(p - text), "]}}]}");
	assert_int_equal(load(text, &cf, &cause), -1);
	assert_non_null(strstr(cause, "plugins[0].sandbox.read: at most 64 "
	    "entries, got 65"));
	free(cause);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox_defaults),
		cmocka_unit_test(test_sandbox_full),
		cmocka_unit_test(test_sandbox_errors),
		cmocka_unit_test(test_sandbox_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_admin.c: who may use !admin in chat: the identity patterns of
 * chat.admins, exact values. admin.c belongs to the daemon, so this test
 * links the daemon's library (see the Makefile's unit test link sets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "supervisor/supervisor.h"

static void
test_admin_patterns(void **state)
{
	assert_true(admin_match("console:console", "console:console"));
	assert_false(admin_match("console:console", "console:consolex"));
	assert_true(admin_match("irc:alice!*@*.example.org",
	    "irc:alice!al@home.example.org"));
	assert_false(admin_match("irc:alice!*@*.example.org",
	    "irc:alice!al@example.com"));
	assert_true(admin_match("irc:*", "irc:bob!b@h"));
	assert_true(admin_match("irc:b?b!*", "irc:bob!x@y"));
	assert_false(admin_match("irc:b?b!*", "irc:bb!x@y"));
	assert_true(admin_match("*", ""));
	/* Case does not matter: IRC nicks and hosts are case-insensitive. */
	assert_true(admin_match("irc:Alice!*@*.Example.ORG",
	    "irc:alice!~al@home.example.org"));
	assert_false(admin_match("", "x"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

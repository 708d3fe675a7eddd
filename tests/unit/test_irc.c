/*
 * test_irc.c: the IRC connector's pure parts: the message parser and
 * formatter (plugins/irc/ircmsg.c), the token bucket, the reconnect
 * backoff and its breaker (plugins/irc/ircrate.c), capability negotiation,
 * SASL messages and the password file (plugins/irc/ircsasl.c).
 */
#include <sys/stat.h>

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
#include "plugins/irc/ircmsg.h"
#include "plugins/irc/ircrate.h"
#include "plugins/irc/ircsasl.h"

static struct irc_msg	msg;	/* 17 KB: not on the stack */

/* Parse a line that must be accepted. */
static struct irc_msg *
parse_ok(const char *line)
{
	const char	*cause = NULL;

	if (irc_parse(&msg, line, strlen(line), &cause) != 0)
		fail_msg("\"%s\" refused: %s", line, cause);
	return &msg;
}

/* Parse a line that must be refused, with exactly this reason. */
static void
parse_bad(const char *line, size_t len, const char *want)
{
	const char	*cause = NULL;

	if (irc_parse(&msg, line, len, &cause) == 0)
		fail_msg("\"%.60s\" accepted", line);
	assert_string_equal(cause, want);
}

static void
test_parse_privmsg_with_full_prefix(void **state)
{
	struct irc_msg	*m = parse_ok(":alice!al@example.org PRIVMSG #dice "
	    ":!roll 2d6");

	assert_string_equal(m->prefix, "alice!al@example.org");
	assert_string_equal(m->nick, "alice");
	assert_string_equal(m->user, "al");
	assert_string_equal(m->host, "example.org");
	assert_string_equal(m->command, "PRIVMSG");
	assert_int_equal(m->numeric, -1);
	assert_int_equal(m->nparams, 2);
	assert_string_equal(m->params[0], "#dice");
	assert_string_equal(m->params[1], "!roll 2d6");
	assert_int_equal(m->trailing, 1);
}

static void
test_parse_prefix_forms(void **state)
{
	struct irc_msg	*m;

	m = parse_ok(":irc.example.org NOTICE * :hello");
	assert_string_equal(m->nick, "irc.example.org");
	assert_null(m->user);
	assert_null(m->host);

	m = parse_ok(":bob@host.example JOIN #a");
	assert_string_equal(m->nick, "bob");
	assert_null(m->user);
	assert_string_equal(m->host, "host.example");
	assert_string_equal(m->prefix, "bob@host.example");

	m = parse_ok(":carol!~c@2001:db8::1 QUIT :bye");
	assert_string_equal(m->nick, "carol");
	assert_string_equal(m->user, "~c");
	assert_string_equal(m->host, "2001:db8::1");

	m = parse_ok("PING :irc.example.org");
	assert_null(m->prefix);
	assert_null(m->nick);
	assert_string_equal(m->command, "PING");
	assert_int_equal(m->nparams, 1);
	assert_string_equal(m->params[0], "irc.example.org");
}

static void
test_parse_numerics_and_case(void **state)
{
	struct irc_msg	*m;

	m = parse_ok(":irc.test 001 bot :Welcome to the network bot!b@h");
	assert_string_equal(m->command, "001");
	assert_int_equal(m->numeric, 1);
	assert_int_equal(m->nparams, 2);
	assert_string_equal(m->params[0], "bot");

	m = parse_ok(":irc.test 433 * bot :Nickname is already in use");
	assert_int_equal(m->numeric, 433);
	assert_int_equal(m->nparams, 3);
	assert_string_equal(m->params[1], "bot");

	m = parse_ok(":irc.test 000 x");
	assert_int_equal(m->numeric, 0);

	/* Commands are case-insensitive: upper-cased. */
	m = parse_ok("privmsg #a :hi");
	assert_string_equal(m->command, "PRIVMSG");

	/* Two or four digits are not a numeric, and not a word either. */
	parse_bad(":s 01 x", 7, "command is neither a word nor a numeric");
	parse_bad(":s 0001 x", 9, "command is neither a word nor a numeric");
	parse_bad("PRIV-MSG x", 10, "command is neither a word nor a numeric");
}

static void
test_parse_params_and_trailing(void **state)
{
	struct irc_msg	*m;

	/* No parameters at all. */
	m = parse_ok("QUIT");
	assert_int_equal(m->nparams, 0);
	assert_int_equal(m->trailing, 0);

	/* An empty trailing parameter is one parameter, "". */
	m = parse_ok(":n!u@h PRIVMSG #a :");
	assert_int_equal(m->nparams, 2);
	assert_string_equal(m->params[1], "");
	assert_int_equal(m->trailing, 1);

	/* Trailing keeps its spaces and colons. */
	m = parse_ok("PRIVMSG #a :  two  spaces : and colon ");
	assert_string_equal(m->params[1], "  two  spaces : and colon ");

	/* Middle parameters only, liberal about runs of spaces. */
	m = parse_ok("  MODE   #a  +o   bob  ");
	assert_int_equal(m->nparams, 3);
	assert_string_equal(m->params[0], "#a");
	assert_string_equal(m->params[1], "+o");
	assert_string_equal(m->params[2], "bob");
	assert_int_equal(m->trailing, 0);

	/* A colon inside a middle parameter does not start the trailing. */
	m = parse_ok("X a:b :c d");
	assert_int_equal(m->nparams, 2);
	assert_string_equal(m->params[0], "a:b");
	assert_string_equal(m->params[1], "c d");
}

static void
test_parse_fifteen_params(void **state)
{
	struct irc_msg	*m;
	char		 want[4];
	size_t		 i;

	/* After 14 middle ones, the rest is the 15th, with its spaces. */
	m = parse_ok("X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17");
	assert_int_equal(m->nparams, IRC_MAX_PARAMS);
	for (i = 0; i < 14; i++) {
		snprintf(want, sizeof want, "%zu", i + 1);
		assert_string_equal(m->params[i], want);
	}
	assert_string_equal(m->params[14], "15 16 17");
	assert_int_equal(m->trailing, 1);

	/* ... and its ':' is dropped if there is one. */
	m = parse_ok("X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :last one");
	assert_int_equal(m->nparams, 15);
	assert_string_equal(m->params[14], "last one");
}

static void
test_parse_tags_skipped(void **state)
{
	struct irc_msg	*m;
	char		*line;
	size_t		 tags = 8000;

	m = parse_ok("@time=2026-11-23T19:00:00.000Z;account=al "
	    ":al!a@h PRIVMSG #x :hi");
	assert_string_equal(m->nick, "al");
	assert_string_equal(m->command, "PRIVMSG");
	assert_string_equal(m->params[1], "hi");

	/* Long tags are accepted, as long as the whole fits IRC_MAX_INPUT. */
	line = xmalloc(tags + 64);
	line[0] = '@';
	memset(line + 1, 'a', tags - 1);
	strcpy(line + tags, " PING :x");
	m = parse_ok(line);
	assert_string_equal(m->command, "PING");
	free(line);

	parse_bad("@a=b", 4, "no command");
	parse_bad("@a=b :pre", 9, "no command");
}

static void
test_parse_refused(void **state)
{
	char	*line;

	parse_bad("", 0, "no command");
	parse_bad("   ", 3, "no command");
	parse_bad(":", 1, "empty prefix");
	parse_bad(": PING", 6, "empty prefix");
	parse_bad(":nick!u@h", 9, "no command");
	parse_bad(":!u@h PING", 10, "prefix without a nick");
	parse_bad("PING a\rb", 8, "NUL, CR or LF inside the line");
	parse_bad("PING a\nQUIT", 11, "NUL, CR or LF inside the line");
	parse_bad("PING a\0b", 8, "NUL, CR or LF inside the line");

	line = xmalloc(IRC_MAX_INPUT + 2);
	memcpy(line, "PRIVMSG #a :", 12);
	memset(line + 12, 'x', IRC_MAX_INPUT - 12);
	line[IRC_MAX_INPUT] = '\0';
	assert_string_equal(parse_ok(line)->command, "PRIVMSG");
	assert_int_equal(strlen(msg.params[1]), IRC_MAX_INPUT - 12);
	line[IRC_MAX_INPUT] = 'x';
	line[IRC_MAX_INPUT + 1] = '\0';
	parse_bad(line, IRC_MAX_INPUT + 1, "line too long");
	free(line);
}

/* Build a line that must be accepted and compare it. */
static void
build_ok(const char *command, const char *const *params, size_t n,
    const char *want)
{
	char		 out[IRC_MAX_LINE + 1];
	const char	*cause = NULL;
	int		 len;

	len = irc_build(out, sizeof out, command, params, n, &cause);
	if (len == -1)
		fail_msg("%s refused: %s", command, cause);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void
build_bad(const char *command, const char *const *params, size_t n,
    const char *want)
{
	char		 out[IRC_MAX_LINE + 1];
	const char	*cause = NULL;

	assert_int_equal(irc_build(out, sizeof out, command, params, n,
	    &cause), -1);
	assert_string_equal(cause, want);
}

static void
test_build(void **state)
{
	const char	*nick[] = { "bot" };
	const char	*user[] = { "bot", "0", "*", "Dice Bot" };
	const char	*pong[] = { "irc.test" };
	const char	*empty[] = { "" };
	const char	*colon[] = { ":x" };
	const char	*join[] = { "#a", "key" };
	const char	*inject[] = { "#a", "hi\r\nQUIT :gone" };
	const char	*badmid[] = { "#a b", "text" };
	const char	*emptymid[] = { "", "text" };
	char		 big[600];
	const char	*toolong[] = { big };

	build_ok("NICK", nick, 1, "NICK bot\r\n");
	build_ok("USER", user, 4, "USER bot 0 * :Dice Bot\r\n");
	build_ok("PONG", pong, 1, "PONG irc.test\r\n");
	build_ok("PONG", empty, 1, "PONG :\r\n");
	build_ok("PONG", colon, 1, "PONG ::x\r\n");
	build_ok("JOIN", join, 2, "JOIN #a key\r\n");
	build_ok("QUIT", NULL, 0, "QUIT\r\n");
	/* CR and LF cannot end the line early and start another command. */
	build_ok("PRIVMSG", inject, 2, "PRIVMSG #a :hiQUIT :gone\r\n");

	build_bad("PRIVMSG", badmid, 2, "bad parameter");
	build_bad("PRIVMSG", emptymid, 2, "bad parameter");
	build_bad("BAD CMD", NULL, 0, "bad command");
	build_bad("", NULL, 0, "bad command");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	build_bad("PRIVMSG", toolong, 1, "line too long");
	/* 510 bytes before CR LF is the most: "PING :" + 504. */
	big[504] = '\0';
	{
		char		 out[IRC_MAX_LINE + 1];
		const char	*cause;
		const char	*one[] = { big };

		big[0] = ':';	/* force the trailing form */
		assert_int_equal(irc_build(out, sizeof out, "PING", one, 1,
		    &cause), 512);
		big[503] = '\0';
		big[502] = 'x';
		assert_int_equal(irc_build(out, sizeof out, "PING", one, 1,
		    &cause), 511);
		memset(big, 'y', 506);
		big[506] = '\0';
		assert_int_equal(irc_build(out, sizeof out, "PING", one, 1,
		    &cause), -1);
	}
}

/* Lines irc_split produced, for checking. */
static struct {
	char	lines[64][IRC_MAX_LINE + 1];
	size_t	n;
} got;

static void
collect(const char *line, size_t len, void *arg)
{
	assert_true(got.n < 64);
	assert_true(len <= IRC_MAX_LINE);
	assert_int_equal(strlen(line), len);
	memcpy(got.lines[got.n++], line, len + 1);
}

static int
split(const char *target, const char *text, size_t len, size_t prefixlen)
{
	const char	*cause = NULL;
	int		 n;

	memset(&got, 0, sizeof got);
	n = irc_split("PRIVMSG", target, text, len, prefixlen, collect, NULL,
	    &cause);
	if (n == -1)
		return -1;
	assert_int_equal((size_t)n, got.n);
	return n;
}

static void
test_split_lines_and_stripping(void **state)
{
	static const char	 t1[] = "one\ntwo\r\nthree\rfour\n\n\r\n";
	static const char	 t2[] = "a\0b\001ACTION x\001c";

	assert_int_equal(split("#a", "hello", 5, 0), 1);
	assert_string_equal(got.lines[0], "PRIVMSG #a :hello\r\n");

	/* CR, LF and CR LF each end a line; empty lines are not sent. */
	assert_int_equal(split("#a", t1, sizeof t1 - 1, 0), 4);
	assert_string_equal(got.lines[0], "PRIVMSG #a :one\r\n");
	assert_string_equal(got.lines[1], "PRIVMSG #a :two\r\n");
	assert_string_equal(got.lines[2], "PRIVMSG #a :three\r\n");
	assert_string_equal(got.lines[3], "PRIVMSG #a :four\r\n");

	/* An injected command is just text on a line of its own. */
	assert_int_equal(split("bob", "hi\r\nQUIT :bye", 13, 0), 2);
	assert_string_equal(got.lines[1], "PRIVMSG bob :QUIT :bye\r\n");

	/* NUL and \001 (a CTCP request) are dropped. */
	assert_int_equal(split("#a", t2, sizeof t2 - 1, 0), 1);
	assert_string_equal(got.lines[0], "PRIVMSG #a :abACTION xc\r\n");

	/* Nothing to send: no line. */
	assert_int_equal(split("#a", "\r\n\n", 3, 0), 0);
	assert_int_equal(split("#a", "", 0, 0), 0);
}

static void
test_split_refuses_bad_targets(void **state)
{
	const char	*cause;
	char		 target[600];

	assert_int_equal(split("", "x", 1, 0), -1);
	assert_int_equal(split("#a b", "x", 1, 0), -1);
	assert_int_equal(split("#a\r\nQUIT", "x", 1, 0), -1);
	assert_int_equal(split(":x", "x", 1, 0), -1);
	assert_int_equal(split("#a,#b", "x", 1, 0), -1);
	memset(target, 'c', 150);
	target[0] = '#';
	target[150] = '\0';
	/* 150 bytes of target and 400 of prefix leave no room. */
	assert_int_equal(irc_split("PRIVMSG", target, "x", 1, 400, collect,
	    NULL, &cause), -1);
	assert_string_equal(cause, "target or prefix too long");
	assert_int_equal(irc_split("PRIV MSG", "#a", "x", 1, 0, collect, NULL,
	    &cause), -1);
	assert_string_equal(cause, "bad command");
}

static void
test_split_at_the_limit(void **state)
{
	char	text[1500];
	size_t	room, prefix = irc_prefix_len("bot", "~bot", "127.0.0.1");
	size_t	i, off;

	/* ":bot!~bot@127.0.0.1 " */
	assert_int_equal(prefix, 20);
	/* 512 - CRLF - prefix - "PRIVMSG #a :" */
	room = 512 - 2 - 20 - 12;
	assert_int_equal(room, 478);

	/* No spaces: hard cuts of exactly room bytes. */
	for (i = 0; i < sizeof text; i++)
		text[i] = (char)('a' + i % 26);
	assert_int_equal(split("#a", text, sizeof text, prefix), 4);
	for (i = 0, off = 0; i < 4; i++) {
		size_t	len = strlen(got.lines[i]) - 12 - 2;

		assert_int_equal(prefix + strlen(got.lines[i]),
		    i < 3 ? 512 : 20 + 12 + 66 + 2);
		assert_memory_equal(got.lines[i] + 12, text + off, len);
		off += len;
	}
	assert_int_equal(off, sizeof text);

	/* Exactly room bytes: one line of exactly 512 with the prefix. */
	assert_int_equal(split("#a", text, room, prefix), 1);
	assert_int_equal(prefix + strlen(got.lines[0]), 512);
	assert_int_equal(split("#a", text, room + 1, prefix), 2);
	assert_string_equal(got.lines[1], "PRIVMSG #a :k\r\n");
}

static void
test_split_prefers_spaces(void **state)
{
	char	text[1009];
	size_t	i;

	/* Words of 9 letters and a space: cuts fall on spaces, which go. */
	for (i = 0; i < sizeof text; i++)
		text[i] = i % 10 == 9 ? ' ' : 'w';
	/* room 100 with a 400-byte prefix: "PRIVMSG #a :" is 12, CRLF 2. */
	assert_int_equal(split("#a", text, sizeof text, 398), 11);
	for (i = 0; i < 10; i++) {
		/* 9 words and 9 spaces = 99 bytes, the 10th space dropped. */
		assert_int_equal(strlen(got.lines[i]), 12 + 99 + 2);
		assert_int_equal(got.lines[i][12], 'w');
		assert_int_equal(got.lines[i][12 + 98], 'w');
	}
	assert_string_equal(got.lines[10], "PRIVMSG #a :wwwwwwwww\r\n");

	/* A space early in the room is not worth a short line: hard cut. */
	memset(text, 'x', 300);
	text[10] = ' ';
	assert_int_equal(split("#a", text, 300, 398), 3);
	assert_int_equal(strlen(got.lines[0]), 12 + 100 + 2);
}

static void
test_split_keeps_utf8_whole(void **state)
{
	/* "é" is 2 bytes, "🎲" 4: no line may end inside one. */
	char	text[1200];
	size_t	i, off, len, total = 0;

	for (off = 0; off + 4 <= sizeof text - 2;) {
		memcpy(text + off, "\xf0\x9f\x8e\xb2", 4);
		off += 4;
		memcpy(text + off, "\xc3\xa9", 2);
		off += 2;
	}
	/* room 100 with a 398-byte prefix. */
	assert_int_equal(split("#a", text, off, 398) > 1, 1);
	for (i = 0; i < got.n; i++) {
		len = strlen(got.lines[i]) - 14;
		assert_true(len <= 100);
		assert_true(len >= 97 || i == got.n - 1);
		/* Each line starts with a lead byte, never a continuation. */
		assert_int_not_equal((unsigned char)got.lines[i][12] & 0xc0,
		    0x80);
		assert_memory_equal(got.lines[i] + 12, text + total, len);
		total += len;
	}
	assert_int_equal(total, off);
	/* 16 × 6 bytes and a die fill the first; the second cuts a die. */
	assert_int_equal(strlen(got.lines[0]) - 14, 100);
	assert_int_equal(strlen(got.lines[1]) - 14, 98);
}

static void
test_prefix_len_reserves_unknowns(void **state)
{
	/* ":bot!b@h " */
	assert_int_equal(irc_prefix_len("bot", "b", "h"), 9);
	assert_int_equal(irc_prefix_len("bot", NULL, NULL),
	    1 + 3 + 1 + IRC_USER_RESERVE + 1 + IRC_HOST_RESERVE + 1);
}

static void
test_names(void **state)
{
	assert_true(irc_is_channel("#a"));
	assert_true(irc_is_channel("&a"));
	assert_false(irc_is_channel("bob"));
	assert_false(irc_is_channel(""));
	assert_int_equal(irc_casecmp("Bot[1]", "bot{1}"), 0);
	assert_int_equal(irc_casecmp("a\\b~", "A|B^"), 0);
	assert_int_not_equal(irc_casecmp("bot", "bot_"), 0);
	assert_true(irc_valid_target("#dice"));
	assert_true(irc_valid_target("alice"));
	assert_false(irc_valid_target("a b"));
	assert_false(irc_valid_target("a\tb"));
	assert_false(irc_valid_target(""));
}

/* Clean a copy of s and compare. */
static void
clean_ok(const char *s, const char *want)
{
	char	buf[256];

	strlcpy_(buf, s, sizeof buf);
	irc_clean_text(buf);
	assert_string_equal(buf, want);
}

static void
test_clean_text(void **state)
{
	clean_ok("!roll 2d6", "!roll 2d6");
	clean_ok("\002!roll\002 2d6", "!roll 2d6");
	clean_ok("\00304!roll\003 1d6", "!roll 1d6");
	clean_ok("\0034,12!roll\017 x", "!roll x");
	clean_ok("\003,5x", ",5x");		/* a comma alone is text */
	clean_ok("\00312,x", ",x");
	clean_ok("\004ff0000red\004 x", "red x");
	clean_ok("\004ff00x", "ff00x");		/* not 6 hex digits: text */
	clean_ok("\035it\035 \037u\037 \026r\026 \036s\036 \021m", "it u r s m");
	clean_ok("caf\xc3\xa9 \xf0\x9f\x8e\xb2", "caf\xc3\xa9 \xf0\x9f\x8e\xb2");
	/* Latin-1 and broken sequences become '?', one per byte. */
	clean_ok("caf\xe9!", "caf?!");
	clean_ok("\xc3", "?");
	clean_ok("\xe2\x82", "??");
	clean_ok("\xc0\xaf", "??");		/* overlong '/' */
	clean_ok("\xed\xa0\x80", "???");	/* surrogate */
	clean_ok("\xf4\x90\x80\x80", "????");	/* past U+10FFFF */
	clean_ok("\xff", "?");
}

static void
test_bucket_paces_lines(void **state)
{
	struct tbucket		b;

	/* 1 line/s, burst 4: four at once, then one a second. */
	tbucket_init(&b, 1, 4, 100);
	assert_true(tbucket_take(&b, 1, 100));
	assert_true(tbucket_take(&b, 1, 100));
	assert_true(tbucket_take(&b, 1, 100));
	assert_true(tbucket_take(&b, 1, 100));
	assert_false(tbucket_take(&b, 1, 100));
	assert_true(tbucket_wait(&b, 1, 100) == 1.0);
	assert_true(tbucket_wait(&b, 1, 100.25) == 0.75);
	assert_false(tbucket_take(&b, 1, 100.5));
	assert_true(tbucket_take(&b, 1, 101));
	assert_false(tbucket_take(&b, 1, 101));
	assert_true(tbucket_wait(&b, 1, 101.5) == 0.5);

	/* Idle time refills up to the burst, no more. */
	assert_true(tbucket_wait(&b, 1, 1000) == 0);
	assert_true(b.tokens == 4);

	/* 4 lines/s: a token every 0.25 s. */
	tbucket_init(&b, 4, 1, 0);
	assert_true(tbucket_take(&b, 1, 0));
	assert_true(tbucket_wait(&b, 1, 0) == 0.25);
	assert_false(tbucket_take(&b, 1, 0.125));
	assert_true(tbucket_take(&b, 1, 0.25));

	/* A clock going back earns nothing. */
	tbucket_init(&b, 1, 1, 10);
	assert_true(tbucket_take(&b, 1, 10));
	assert_false(tbucket_take(&b, 1, 5));
	assert_true(tbucket_wait(&b, 1, 5) == 1.0);

	/* A burst below 1 still lets one line through. */
	tbucket_init(&b, 1, 0, 0);
	assert_true(tbucket_take(&b, 1, 0));
}

static void
test_bucket_rounding(void **state)
{
	struct tbucket		b;
	double			t = 0;
	int			i, sent = 0;

	/* 0.1 s steps are not exact in binary: 10 of them earn a token. */
	tbucket_init(&b, 1, 1, 0);
	assert_true(tbucket_take(&b, 1, 0));
	for (i = 0; i < 10; i++)
		t += 0.1;
	assert_true(tbucket_take(&b, 1, t));

	/* Over 10 s at 3 lines/s, burst 2: 2 + 30 lines, never more. */
	tbucket_init(&b, 3, 2, 0);
	for (i = 0; i <= 1000; i++) {
		while (tbucket_take(&b, 1, i * 0.01))
			sent++;
	}
	assert_int_equal(sent, 32);
}

static const struct irc_reconnect_policy test_policy = {
	.initial = 1, .multiplier = 2, .max = 30, .jitter = 0.2,
	.max_failures = 3, .window = 60, .cooldown = 300, .stable = 10
};

static void
test_backoff_delays(void **state)
{
	const struct irc_reconnect_policy	*p = &test_policy;

	/* r = 0.5 is no jitter: 1, 2, 4, 8, 16, then the cap of 30. */
	assert_true(irc_backoff_delay(p, 1, 0.5) == 1);
	assert_true(irc_backoff_delay(p, 2, 0.5) == 2);
	assert_true(irc_backoff_delay(p, 3, 0.5) == 4);
	assert_true(irc_backoff_delay(p, 5, 0.5) == 16);
	assert_true(irc_backoff_delay(p, 6, 0.5) == 30);
	assert_true(irc_backoff_delay(p, 1000, 0.5) == 30);
	assert_true(irc_backoff_delay(p, 0, 0.5) == 1);
	/* r = 0 is -20%, r → 1 is +20%. */
	assert_true(irc_backoff_delay(p, 3, 0) == 3.2);
	assert_true(irc_backoff_delay(p, 3, 0.75) == 4.4);
	assert_true(irc_backoff_delay(p, 6, 0) == 24);
	assert_true(irc_backoff_delay(p, 6, 0.999) > 35.9);
	assert_true(irc_backoff_delay(p, 6, 0.999) < 36);
}

static void
test_breaker_opens_and_trial_closes(void **state)
{
	const struct irc_reconnect_policy	*p = &test_policy;
	struct irc_reconnect			 rc;

	irc_reconnect_init(&rc, p);
	assert_int_equal(rc.breaker.state, BREAKER_CLOSED);
	/* Three failures within the window: backoff 1, 2, 4. */
	assert_true(irc_reconnect_on_failure(&rc, p, 100, 0, 0.5) == 1);
	irc_reconnect_on_attempt(&rc);
	assert_true(irc_reconnect_on_failure(&rc, p, 101, 0, 0.5) == 2);
	irc_reconnect_on_attempt(&rc);
	assert_true(irc_reconnect_on_failure(&rc, p, 103, 0, 0.5) == 4);
	assert_int_equal(rc.breaker.state, BREAKER_CLOSED);
	assert_int_equal(rc.consecutive, 3);
	/* The fourth, more than max_failures in 60 s: open, wait cooldown. */
	irc_reconnect_on_attempt(&rc);
	assert_true(irc_reconnect_on_failure(&rc, p, 107, 0, 0.5) == 300);
	assert_int_equal(rc.breaker.state, BREAKER_OPEN);
	assert_string_equal(breaker_state_name(rc.breaker.state), "open");
	/* After the cooldown: the trial is half-open. */
	irc_reconnect_on_attempt(&rc);
	assert_int_equal(rc.breaker.state, BREAKER_HALF_OPEN);
	assert_string_equal(breaker_state_name(rc.breaker.state), "half-open");
	/* A failed trial opens it again at once, however long it was up. */
	assert_true(irc_reconnect_on_failure(&rc, p, 407, 50, 0.5) == 300);
	assert_int_equal(rc.breaker.state, BREAKER_OPEN);
	/* A trial that stays up closes it and forgets the failures. */
	irc_reconnect_on_attempt(&rc);
	irc_reconnect_on_stable(&rc);
	assert_int_equal(rc.breaker.state, BREAKER_CLOSED);
	assert_string_equal(breaker_state_name(rc.breaker.state), "closed");
	assert_int_equal(rc.consecutive, 0);
	assert_int_equal(rc.breaker.n, 0);
	assert_true(irc_reconnect_on_failure(&rc, p, 800, 60, 0.5) == 1);
	irc_reconnect_free(&rc);
}

static void
test_breaker_window_and_stable_uptime(void **state)
{
	const struct irc_reconnect_policy	*p = &test_policy;
	struct irc_reconnect			 rc;

	irc_reconnect_init(&rc, p);
	/* Failures spread wider than the window never open it. */
	assert_true(irc_reconnect_on_failure(&rc, p, 0, 0, 0.5) == 1);
	assert_true(irc_reconnect_on_failure(&rc, p, 30, 0, 0.5) == 2);
	assert_true(irc_reconnect_on_failure(&rc, p, 61, 0, 0.5) == 4);
	assert_true(irc_reconnect_on_failure(&rc, p, 95, 0, 0.5) == 8);
	assert_int_equal(rc.breaker.state, BREAKER_CLOSED);
	/* A connection that was up stable seconds starts a new run. */
	assert_true(irc_reconnect_on_failure(&rc, p, 200, 10, 0.5) == 1);
	assert_int_equal(rc.consecutive, 1);
	/* Up a little less: the run goes on. */
	assert_true(irc_reconnect_on_failure(&rc, p, 300, 9.5, 0.5) == 2);
	irc_reconnect_free(&rc);
}

/* Parse a CAP line and split it; must be accepted. */
static struct irc_cap_msg
cap_ok(const char *line)
{
	struct irc_cap_msg	 c;
	const char		*cause = NULL;

	parse_ok(line);
	if (irc_cap_parse(&msg, &c, &cause) != 0)
		fail_msg("\"%s\" refused: %s", line, cause);
	return c;
}

static void
test_cap_parse(void **state)
{
	struct irc_cap_msg	 c;
	const char		*cause = NULL;

	c = cap_ok(":irc.test CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL");
	assert_string_equal(c.sub, "LS");
	assert_int_equal(c.more, 1);
	assert_string_equal(c.list, "multi-prefix sasl=PLAIN,EXTERNAL");
	c = cap_ok(":irc.test CAP * LS :server-time");
	assert_int_equal(c.more, 0);
	assert_string_equal(c.list, "server-time");
	c = cap_ok("CAP dicebot ACK :sasl multi-prefix");
	assert_string_equal(c.sub, "ACK");
	assert_string_equal(c.list, "sasl multi-prefix");
	/* One capability needs no ':'. */
	c = cap_ok(":irc.test CAP dicebot NAK sasl");
	assert_string_equal(c.sub, "NAK");
	assert_string_equal(c.list, "sasl");
	c = cap_ok(":irc.test CAP dicebot LIST");
	assert_string_equal(c.list, "");

	parse_ok(":irc.test CAP *");
	assert_int_equal(irc_cap_parse(&msg, &c, &cause), -1);
	assert_string_equal(cause, "CAP without a subcommand");
	parse_ok(":irc.test CAP * LS x y :z");
	assert_int_equal(irc_cap_parse(&msg, &c, &cause), -1);
	assert_string_equal(cause, "CAP with too many parameters");
	parse_ok(":irc.test NOTICE * :CAP");
	assert_int_equal(irc_cap_parse(&msg, &c, &cause), -1);
	assert_string_equal(cause, "not a CAP message");
}

static void
test_cap_ls_and_lists(void **state)
{
	struct irc_caps	caps;
	char		long_list[600];

	memset(&caps, 0, sizeof caps);
	assert_int_equal(irc_cap_ls(&caps, "away-notify  multi-prefix "
	    "sasl=PLAIN,EXTERNAL"), IRC_CAP_MULTI_PREFIX | IRC_CAP_SASL);
	assert_string_equal(caps.sasl_mechs, "PLAIN,EXTERNAL");
	/* A second LS line adds; what was there is not added again. */
	assert_int_equal(irc_cap_ls(&caps, "server-time sasl"),
	    IRC_CAP_SERVER_TIME);
	assert_int_equal(caps.offered, IRC_CAP_MULTI_PREFIX | IRC_CAP_SASL |
	    IRC_CAP_SERVER_TIME);
	/* A bare "sasl" (CAP 301) is no list of mechanisms: kept as it was. */
	assert_string_equal(caps.sasl_mechs, "PLAIN,EXTERNAL");
	/* A value too long to keep is as if not said. */
	memset(long_list, 'A', sizeof long_list);
	memcpy(long_list, "sasl=", 5);
	long_list[sizeof long_list - 1] = '\0';
	irc_cap_ls(&caps, long_list);
	assert_string_equal(caps.sasl_mechs, "");
	/* Names are exact: no prefix matches. */
	memset(&caps, 0, sizeof caps);
	assert_int_equal(irc_cap_ls(&caps, "sasl2 multi message-tagsx "
	    "draft/sasl"), 0);

	assert_int_equal(irc_cap_list("sasl -multi-prefix unknown"),
	    IRC_CAP_SASL);
	assert_int_equal(irc_cap_list(""), 0);
	assert_int_equal(irc_cap_bit("message-tags", 12), IRC_CAP_MESSAGE_TAGS);
	assert_int_equal(irc_cap_bit("message-tags", 7), 0);
}

static void
test_cap_req(void **state)
{
	char	buf[64];

	assert_int_equal(irc_cap_req(IRC_CAP_MULTI_PREFIX | IRC_CAP_SASL, buf,
	    sizeof buf), 17);
	assert_string_equal(buf, "sasl multi-prefix");
	assert_int_equal(irc_cap_req(IRC_CAP_MULTI_PREFIX, buf, sizeof buf), 12);
	assert_string_equal(buf, "multi-prefix");
	assert_int_equal(irc_cap_req(0, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	/* Like snprintf: the length it needs, cut to fit. */
	assert_int_equal(irc_cap_req(IRC_CAP_SASL | IRC_CAP_SERVER_TIME, buf,
	    8), 16);
	assert_string_equal(buf, "sasl se");
}

static void
test_sasl_mech_offered(void **state)
{
	assert_true(irc_sasl_mech_offered("PLAIN,EXTERNAL", "PLAIN"));
	assert_true(irc_sasl_mech_offered("PLAIN,EXTERNAL", "EXTERNAL"));
	assert_true(irc_sasl_mech_offered("plain", "PLAIN"));
	assert_false(irc_sasl_mech_offered("SCRAM-SHA-256", "PLAIN"));
	assert_false(irc_sasl_mech_offered("PLAINX,XPLAIN", "PLAIN"));
	assert_false(irc_sasl_mech_offered(",", "PLAIN"));
	/* Not said which: try, the server's answer tells. */
	assert_true(irc_sasl_mech_offered("", "EXTERNAL"));
}

static void
test_base64(void **state)
{
	/* RFC 4648, 10. */
	static const char *const vectors[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char		out[16];
	unsigned char	raw[8];
	size_t		i;

	for (i = 0; i < nitems(vectors); i++) {
		assert_int_equal(irc_base64_encode(vectors[i][0],
		    strlen(vectors[i][0]), out, sizeof out),
		    strlen(vectors[i][1]));
		assert_string_equal(out, vectors[i][1]);
		assert_int_equal(irc_base64_decode(vectors[i][1],
		    strlen(vectors[i][1]), raw, sizeof raw),
		    strlen(vectors[i][0]));
		assert_memory_equal(raw, vectors[i][0], strlen(vectors[i][0]));
	}
	/* Room for "Zm9v" and its NUL, not less. */
	assert_int_equal(irc_base64_encode("foo", 3, out, 5), 4);
	assert_int_equal(irc_base64_encode("foo", 3, out, 4), -1);
	assert_int_equal(irc_base64_decode("Zm9vYmFy", 8, raw, 5), -1);
	/* Strict: length, alphabet, padding only at the end. */
	assert_int_equal(irc_base64_decode("Zg=", 3, raw, sizeof raw), -1);
	assert_int_equal(irc_base64_decode("Z===", 4, raw, sizeof raw), -1);
	assert_int_equal(irc_base64_decode("Zm9!", 4, raw, sizeof raw), -1);
	assert_int_equal(irc_base64_decode("Zg==Zg==", 8, raw, sizeof raw), -1);
	assert_int_equal(irc_base64_decode("Zm\0v", 4, raw, sizeof raw), -1);
	/* One encoding each: "Zh==" would also be "f". */
	assert_int_equal(irc_base64_decode("Zh==", 4, raw, sizeof raw), -1);
	assert_int_equal(irc_base64_decode("Zm9=", 4, raw, sizeof raw), -1);
}

static void
test_sasl_plain(void **state)
{
	char		 out[IRC_SASL_MAX_OUT], pw[IRC_SASL_MAX_PASSWORD + 2];
	const char	*cause = NULL;

	/* "dicebot\0dicebot\0hunter2" */
	assert_int_equal(irc_sasl_plain("dicebot", "hunter2", out, sizeof out,
	    &cause), 32);
	assert_string_equal(out, "ZGljZWJvdABkaWNlYm90AGh1bnRlcjI=");
	assert_int_equal(irc_sasl_plain("", "hunter2", out, sizeof out,
	    &cause), -1);
	assert_string_equal(cause, "the SASL user must be 1 to 255 bytes");
	memset(pw, 'p', sizeof pw);
	pw[sizeof pw - 1] = '\0';
	assert_int_equal(irc_sasl_plain("dicebot", pw, out, sizeof out,
	    &cause), -1);
	assert_string_equal(cause, "the SASL password must be 1 to 510 bytes");
	/* The longest password fits the largest payload. */
	pw[sizeof pw - 2] = '\0';
	assert_true(irc_sasl_plain("dicebot", pw, out, sizeof out, &cause) > 0);
	assert_int_equal(irc_sasl_plain("dicebot", "x", out, 8, &cause), -1);
	assert_string_equal(cause, "no room for the SASL message");
}

static char	chunks[8][IRC_SASL_CHUNK + 1];
static int	nchunks;

static void
chunk_cb(const char *chunk, void *arg)
{
	assert_true(nchunks < 8);
	strlcpy_(chunks[nchunks++], chunk, sizeof chunks[0]);
}

static void
test_sasl_chunks(void **state)
{
	char	b64[1201];

	memset(b64, 'A', sizeof b64);
	/* Under 400: one chunk. */
	b64[10] = '\0';
	nchunks = 0;
	assert_int_equal(irc_sasl_chunks(b64, chunk_cb, NULL), 1);
	assert_int_equal(strlen(chunks[0]), 10);
	/* Exactly 400: the chunk, then "+" to end it. */
	memset(b64, 'A', sizeof b64);
	b64[400] = '\0';
	nchunks = 0;
	assert_int_equal(irc_sasl_chunks(b64, chunk_cb, NULL), 2);
	assert_int_equal(strlen(chunks[0]), 400);
	assert_string_equal(chunks[1], "+");
	/* 401: 400 and 1. */
	b64[400] = 'B';
	b64[401] = '\0';
	nchunks = 0;
	assert_int_equal(irc_sasl_chunks(b64, chunk_cb, NULL), 2);
	assert_string_equal(chunks[1], "B");
	/* 1200: three full chunks and "+". */
	memset(b64, 'A', sizeof b64);
	b64[1200] = '\0';
	nchunks = 0;
	assert_int_equal(irc_sasl_chunks(b64, chunk_cb, NULL), 4);
	assert_string_equal(chunks[3], "+");
	/* Empty: "+". */
	nchunks = 0;
	assert_int_equal(irc_sasl_chunks("", chunk_cb, NULL), 1);
	assert_string_equal(chunks[0], "+");
}

static void
test_sasl_input(void **state)
{
	static struct irc_sasl_in	 in;
	char				 full[IRC_SASL_CHUNK + 1];
	const char			*cause = NULL;
	int				 i;

	/* "AUTHENTICATE +" and "AUTHENTICATE :+" parse the same. */
	parse_ok("AUTHENTICATE +");
	assert_string_equal(msg.params[0], "+");
	parse_ok(":irc.test AUTHENTICATE :+");
	assert_string_equal(msg.params[0], "+");
	assert_int_equal(irc_sasl_input(&in, msg.params[0], &cause), 1);
	assert_int_equal(in.len, 0);

	memset(full, 'Q', IRC_SASL_CHUNK);
	full[IRC_SASL_CHUNK] = '\0';
	assert_int_equal(irc_sasl_input(&in, full, &cause), 0);
	assert_int_equal(irc_sasl_input(&in, "Zm9v", &cause), 1);
	assert_int_equal(in.len, 404);
	in.len = 0;
	assert_int_equal(irc_sasl_input(&in, full, &cause), 0);
	assert_int_equal(irc_sasl_input(&in, "+", &cause), 1);
	assert_int_equal(in.len, 400);
	in.len = 0;

	assert_int_equal(irc_sasl_input(&in, "Zm9v!", &cause), -1);
	assert_string_equal(cause, "AUTHENTICATE data is not base64");
	assert_int_equal(irc_sasl_input(&in, "", &cause), -1);
	assert_string_equal(cause, "an AUTHENTICATE chunk must be 1 to 400 "
	    "bytes");
	/* A server that never ends its message is cut off at the bound. */
	for (i = 0; i < 13; i++)
		assert_int_equal(irc_sasl_input(&in, full, &cause), 0);
	assert_int_equal(irc_sasl_input(&in, full, &cause), -1);
	assert_string_equal(cause, "AUTHENTICATE data longer than 4096 bytes");
}

static void
test_sasl_numerics(void **state)
{
	assert_int_equal(irc_sasl_numeric(900), IRC_SASL_LOGGEDIN);
	assert_int_equal(irc_sasl_numeric(901), IRC_SASL_LOGGEDOUT);
	assert_int_equal(irc_sasl_numeric(902), IRC_SASL_FAILURE);
	assert_int_equal(irc_sasl_numeric(903), IRC_SASL_SUCCESS);
	assert_int_equal(irc_sasl_numeric(904), IRC_SASL_FAILURE);
	assert_int_equal(irc_sasl_numeric(905), IRC_SASL_FAILURE);
	assert_int_equal(irc_sasl_numeric(906), IRC_SASL_FAILURE);
	assert_int_equal(irc_sasl_numeric(907), IRC_SASL_SUCCESS);
	assert_int_equal(irc_sasl_numeric(908), IRC_SASL_MECHS);
	assert_int_equal(irc_sasl_numeric(1), IRC_SASL_NONE);
	assert_int_equal(irc_sasl_numeric(909), IRC_SASL_NONE);
}

/* Write a file for irc_secret_read, mode 0600. */
static void
secret_file(const char *path, const char *data, size_t len)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static void
test_secret_read(void **state)
{
	char		 dir[] = "/tmp/test_irc.XXXXXX", path[64], buf[16];
	char		 big[5000];
	const char	*cause = NULL;
	int		 mode;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/secret", dir);

	secret_file(path, "hunter2\n", 8);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    7);
	assert_string_equal(buf, "hunter2");
	assert_int_equal(mode, 0600);
	secret_file(path, "hunter2\r\n", 9);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    7);
	assert_string_equal(buf, "hunter2");
	secret_file(path, "with spaces", 11);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    11);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    11);
	assert_int_equal(mode, 0644);

	secret_file(path, "\n", 1);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    -1);
	assert_string_equal(cause, "empty");
	secret_file(path, "one\ntwo\n", 8);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    -1);
	assert_string_equal(cause, "more than one line, or a NUL byte");
	secret_file(path, "a\0b", 3);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    -1);
	assert_string_equal(cause, "more than one line, or a NUL byte");
	secret_file(path, "0123456789abcdef", 16);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    -1);
	assert_string_equal(cause, "the password is too long");
	memset(big, 'x', sizeof big);
	secret_file(path, big, sizeof big);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    -1);
	assert_string_equal(cause, "larger than 4096 bytes: not a password "
	    "file");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(irc_secret_read(path, buf, sizeof buf, &mode, &cause),
	    -1);
	assert_string_equal(cause, "No such file or directory");
	assert_int_equal(irc_secret_read(dir, buf, sizeof buf, &mode, &cause),
	    -1);
	assert_string_equal(cause, "not a regular file");
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_privmsg_with_full_prefix),
		cmocka_unit_test(test_parse_prefix_forms),
		cmocka_unit_test(test_parse_numerics_and_case),
		cmocka_unit_test(test_parse_params_and_trailing),
		cmocka_unit_test(test_parse_fifteen_params),
		cmocka_unit_test(test_parse_tags_skipped),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_split_lines_and_stripping),
		cmocka_unit_test(test_split_refuses_bad_targets),
		cmocka_unit_test(test_split_at_the_limit),
		cmocka_unit_test(test_split_prefers_spaces),
		cmocka_unit_test(test_split_keeps_utf8_whole),
		cmocka_unit_test(test_prefix_len_reserves_unknowns),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_clean_text),
		cmocka_unit_test(test_bucket_paces_lines),
		cmocka_unit_test(test_bucket_rounding),
		cmocka_unit_test(test_backoff_delays),
		cmocka_unit_test(test_breaker_opens_and_trial_closes),
		cmocka_unit_test(test_breaker_window_and_stable_uptime),
		cmocka_unit_test(test_cap_parse),
		cmocka_unit_test(test_cap_ls_and_lists),
		cmocka_unit_test(test_cap_req),
		cmocka_unit_test(test_sasl_mech_offered),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_sasl_plain),
		cmocka_unit_test(test_sasl_chunks),
		cmocka_unit_test(test_sasl_input),
		cmocka_unit_test(test_sasl_numerics),
		cmocka_unit_test(test_secret_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_irc.c: libFuzzer target for the IRC connector's message code
 * (plugins/irc/ircmsg.c), which reads whatever a server (or anyone on it)
 * sends and formats whatever a plugin replies.
 *
 * Each input goes
 *  1. whole through irc_parse, as a line from the server: an accepted line
 *     has a command that is a word or a numeric, at most 15 parameters with
 *     no CR, LF or NUL; rebuilt with irc_build, when it fits, it parses to
 *     the same command and parameters;
 *  2. through irc_split as a plugin's reply, with a prefix length and a
 *     target chosen by its first two bytes: every line is at most 512 bytes
 *     with the prefix, ends with its only CR LF, holds no NUL or \001,
 *     parses back to PRIVMSG to the target, and the lines together carry
 *     every byte of the text but the line breaks, NUL, \001 and the spaces
 *     the cuts fell on; valid UTF-8 in gives valid UTF-8 in every line;
 *  3. through irc_clean_text: the result is no longer, is valid UTF-8 and
 *     holds no formatting code.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"
#include "plugins/irc/ircmsg.h"
/* irc_split cuts lines with it: scripts/fuzz builds lines.c in. */
#include "plugins/sdk/lines.h"

/* Abort with a line saying which property broke. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_irc: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

static struct irc_msg	fuzz_msg, fuzz_msg2;

/* 1 if s[0..len) is valid UTF-8 (written apart from ircmsg.c's). */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t		i = 0, n, k;
	uint32_t	cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (i + n > len)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}

/* Parse an input line and check what was accepted. */
static void
fuzz_parse(const uint8_t *data, size_t size)
{
	const char	*cause, *params[IRC_MAX_PARAMS];
	char		 line[IRC_MAX_LINE + 1];
	size_t		 i, n;
	int		 len;

	if (irc_parse(&fuzz_msg, (const char *)data, size, &cause) != 0) {
		CHECK(cause != NULL && *cause != '\0');
		return;
	}
	CHECK(size <= IRC_MAX_INPUT);
	CHECK(memchr(data, '\0', size) == NULL);
	CHECK(memchr(data, '\r', size) == NULL);
	CHECK(memchr(data, '\n', size) == NULL);
	CHECK(fuzz_msg.command != NULL && *fuzz_msg.command != '\0');
	n = strlen(fuzz_msg.command);
	if (fuzz_msg.numeric >= 0) {
		CHECK(n == 3 && fuzz_msg.numeric <= 999);
	} else {
		for (i = 0; i < n; i++)
			CHECK(fuzz_msg.command[i] >= 'A' &&
			    fuzz_msg.command[i] <= 'Z');
	}
	if (fuzz_msg.prefix != NULL) {
		CHECK(*fuzz_msg.prefix != '\0');
		CHECK(fuzz_msg.nick != NULL && *fuzz_msg.nick != '\0');
		CHECK(strchr(fuzz_msg.prefix, ' ') == NULL);
	}
	CHECK(fuzz_msg.nparams <= IRC_MAX_PARAMS);
	for (i = 0; i < fuzz_msg.nparams; i++) {
		CHECK(fuzz_msg.params[i] != NULL);
		if (i + 1 < fuzz_msg.nparams || !fuzz_msg.trailing) {
			CHECK(*fuzz_msg.params[i] != '\0');
			CHECK(*fuzz_msg.params[i] != ':');
			CHECK(strchr(fuzz_msg.params[i], ' ') == NULL);
		}
	}

	/* Rebuilt, it reads the same (if it fits in one line). */
	for (i = 0; i < fuzz_msg.nparams; i++)
		params[i] = fuzz_msg.params[i];
	len = irc_build(line, sizeof line, fuzz_msg.command, params,
	    fuzz_msg.nparams, &cause);
	if (len == -1) {
		CHECK(strcmp(cause, "line too long") == 0);
		return;
	}
	CHECK(len >= 3 && (size_t)len <= IRC_MAX_LINE);
	CHECK(line[len - 2] == '\r' && line[len - 1] == '\n');
	CHECK(irc_parse(&fuzz_msg2, line, (size_t)len - 2, &cause) == 0);
	CHECK(strcmp(fuzz_msg2.command, fuzz_msg.command) == 0);
	CHECK(fuzz_msg2.nparams == fuzz_msg.nparams);
	for (i = 0; i < fuzz_msg.nparams; i++)
		CHECK(strcmp(fuzz_msg2.params[i], fuzz_msg.params[i]) == 0);
}

/* What irc_split must have carried: the text without the dropped bytes. */
static struct {
	const char	*target;
	size_t		 prefixlen;
	char		*carried;	/* payload bytes but spaces */
	size_t		 ncarried;
	int		 utf8;		/* the text was valid UTF-8 */
	size_t		 lines;
} split;

/* Check one line irc_split made. */
static void
fuzz_split_line(const char *line, size_t len, void *arg)
{
	const char	*cause, *payload;
	char		 head[IRC_MAX_LINE];
	size_t		 hlen, plen, i;

	split.lines++;
	CHECK(strlen(line) == len);
	CHECK(split.prefixlen + len <= IRC_MAX_LINE);
	CHECK(len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n');
	CHECK(memchr(line, '\r', len - 2) == NULL);
	CHECK(memchr(line, '\n', len - 2) == NULL);
	CHECK(memchr(line, '\001', len) == NULL);
	hlen = (size_t)snprintf(head, sizeof head, "PRIVMSG %s :",
	    split.target);
	CHECK(len > hlen + 2 && memcmp(line, head, hlen) == 0);
	payload = line + hlen;
	plen = len - hlen - 2;
	if (split.utf8)
		CHECK(utf8_valid((const unsigned char *)payload, plen));

	CHECK(irc_parse(&fuzz_msg2, line, len - 2, &cause) == 0);
	CHECK(strcmp(fuzz_msg2.command, "PRIVMSG") == 0);
	CHECK(fuzz_msg2.nparams == 2);
	CHECK(strcmp(fuzz_msg2.params[0], split.target) == 0);
	CHECK(strlen(fuzz_msg2.params[1]) == plen);
	CHECK(memcmp(fuzz_msg2.params[1], payload, plen) == 0);

	for (i = 0; i < plen; i++) {
		if (payload[i] != ' ')
			split.carried[split.ncarried++] = payload[i];
	}
}

/* Split the input as a reply and check every line. */
static void
fuzz_split(const uint8_t *data, size_t size)
{
	static const char	*targets[] = {
		"#dice", "alice", "&local", "#a-channel-name-that-is-long"
	};
	const char		*cause, *text;
	char			*want;
	size_t			 len, i, nwant = 0;
	int			 n;

	if (size < 2)
		return;
	/* A prefix from 0 to 510 bytes, in steps of 2. */
	split.prefixlen = (size_t)data[0] * 2;
	split.target = targets[data[1] % nitems(targets)];
	text = (const char *)data + 2;
	len = size - 2;
	split.carried = xmalloc(len + 1);
	split.ncarried = 0;
	split.lines = 0;
	split.utf8 = utf8_valid((const unsigned char *)text, len);

	n = irc_split("PRIVMSG", split.target, text, len, split.prefixlen,
	    fuzz_split_line, NULL, &cause);
	if (n == -1) {
		CHECK(split.lines == 0);
		CHECK(split.prefixlen + 8 + strlen(split.target) + 2 +
		    IRC_MIN_TEXT + 2 > IRC_MAX_LINE);
		free(split.carried);
		return;
	}
	CHECK((size_t)n == split.lines);

	want = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		switch (text[i]) {
		case ' ': case '\r': case '\n': case '\0': case '\001':
			break;
		default:
			want[nwant++] = text[i];
		}
	}
	CHECK(split.ncarried == nwant);
	CHECK(nwant == 0 || memcmp(split.carried, want, nwant) == 0);
	free(want);
	free(split.carried);
}

/* Clean the input as received text and check the result. */
static void
fuzz_clean(const uint8_t *data, size_t size)
{
	char	*s;
	size_t	 before, after, i;

	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	before = strlen(s);
	irc_clean_text(s);
	after = strlen(s);
	CHECK(after <= before);
	CHECK(utf8_valid((const unsigned char *)s, after));
	for (i = 0; i < after; i++)
		CHECK(strchr("\002\003\004\017\021\026\035\036\037", s[i]) ==
		    NULL);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	fuzz_split(data, size);
	fuzz_clean(data, size);
	return 0;
}

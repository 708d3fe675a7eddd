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
 *     holds no formatting code;
 *  4. through the CAP and SASL code (plugins/irc/ircsasl.c), as a server
 *     would send it: as the list of "CAP * LS * :", only known capability
 *     bits are taken, the mechanisms kept are a NUL-terminated part of the
 *     input, and the REQ list made of them reads back as the same bits; as
 *     the parameter of "AUTHENTICATE", chunks are put together within their
 *     bound, and what decodes encodes back to the same text; as data, its
 *     base64 cut into 400-byte chunks is put back together exactly, ending
 *     where the chunks end, and decodes to the data.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"
#include "plugins/irc/ircmsg.h"
#include "plugins/irc/ircsasl.h"
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

/* Build "head" + data as a line and parse it into fuzz_msg; 0 if accepted. */
static int
fuzz_line(const char *head, const uint8_t *data, size_t size)
{
	static char	 line[IRC_MAX_INPUT + 64];
	const char	*cause;
	size_t		 hlen = strlen(head);

	if (hlen + size > IRC_MAX_INPUT)
		return -1;
	memcpy(line, head, hlen);
	memcpy(line + hlen, data, size);
	return irc_parse(&fuzz_msg, line, hlen + size, &cause);
}

/* The input as a server's CAP LS list. */
static void
fuzz_cap(const uint8_t *data, size_t size)
{
	struct irc_cap_msg	 c;
	struct irc_caps		 caps;
	const char		*cause;
	char			 req[128];
	unsigned		 added;

	if (fuzz_line("CAP * LS * :", data, size) != 0)
		return;
	CHECK(irc_cap_parse(&fuzz_msg, &c, &cause) == 0);
	CHECK(c.more == 1 && strcmp(c.sub, "LS") == 0);
	memset(&caps, 0, sizeof caps);
	added = irc_cap_ls(&caps, c.list);
	CHECK(added == caps.offered);
	CHECK((caps.offered & ~(unsigned)(IRC_CAP_SASL | IRC_CAP_MULTI_PREFIX |
	    IRC_CAP_MESSAGE_TAGS | IRC_CAP_SERVER_TIME)) == 0);
	CHECK(memchr(caps.sasl_mechs, '\0', sizeof caps.sasl_mechs) != NULL);
	if (caps.sasl_mechs[0] != '\0')
		CHECK(strstr(c.list, caps.sasl_mechs) != NULL);
	CHECK((irc_cap_list(c.list) & ~caps.offered) == 0);
	CHECK(irc_cap_req(caps.offered, req, sizeof req) < sizeof req);
	CHECK(irc_cap_list(req) == caps.offered);
	(void)irc_sasl_mech_offered(caps.sasl_mechs, "PLAIN");
}

/* The input as AUTHENTICATE data from the server. */
static void
fuzz_authenticate(const uint8_t *data, size_t size)
{
	static struct irc_sasl_in	 in;
	static unsigned char		 raw[IRC_SASL_MAX_IN + 4];
	static char			 again[sizeof in.b64];
	const char			*cause;
	size_t				 before;
	int				 r, n;

	if (fuzz_line("AUTHENTICATE ", data, size) != 0 ||
	    fuzz_msg.nparams < 1)
		return;
	/* Twice: a message may come in several chunks. */
	in.len = 0;
	for (int k = 0; k < 2; k++) {
		before = in.len;
		r = irc_sasl_input(&in, fuzz_msg.params[0], &cause);
		CHECK(in.len < sizeof in.b64);
		if (r == -1) {
			CHECK(cause != NULL && in.len == before);
			return;
		}
		if (r == 0) {
			CHECK(strlen(fuzz_msg.params[0]) == IRC_SASL_CHUNK);
			continue;
		}
		CHECK(strlen(in.b64) == in.len);
		n = irc_base64_decode(in.b64, in.len, raw, sizeof raw);
		if (n >= 0) {
			CHECK(irc_base64_encode(raw, (size_t)n, again,
			    sizeof again) == (int)in.len);
			CHECK(strcmp(again, in.b64) == 0);
		}
		return;
	}
}

/* What irc_sasl_chunks made, fed back as the server would send it. */
static struct {
	struct irc_sasl_in	in;
	int			done;
	int			chunks;
} sasl;

/* One chunk of ours, back through the reader. */
static void
fuzz_chunk(const char *chunk, void *arg)
{
	const char	*cause;
	int		 r;

	CHECK(!sasl.done);
	CHECK(strlen(chunk) >= 1 && strlen(chunk) <= IRC_SASL_CHUNK);
	sasl.chunks++;
	r = irc_sasl_input(&sasl.in, chunk, &cause);
	CHECK(r != -1);
	sasl.done = r;
}

/* The input as a SASL message of ours: chunked, reassembled, decoded. */
static void
fuzz_chunks(const uint8_t *data, size_t size)
{
	static char		b64[4 * (IRC_SASL_MAX_IN / 3) + 8];
	static unsigned char	raw[IRC_SASL_MAX_IN + 4];
	int			len, n;

	/* What fits the reader's bound, as the server's would. */
	if (size > 3 * (IRC_SASL_MAX_IN / 3) - 3)
		size = 3 * (IRC_SASL_MAX_IN / 3) - 3;
	len = irc_base64_encode(data, size, b64, sizeof b64);
	CHECK(len >= 0 && (size_t)len == 4 * ((size + 2) / 3));
	memset(&sasl, 0, sizeof sasl);
	n = irc_sasl_chunks(b64, fuzz_chunk, NULL);
	CHECK(n == sasl.chunks && sasl.done == 1);
	CHECK(n == len / IRC_SASL_CHUNK + 1);
	CHECK(sasl.in.len == (size_t)len);
	CHECK(memcmp(sasl.in.b64, b64, (size_t)len) == 0);
	n = irc_base64_decode(sasl.in.b64, sasl.in.len, raw, sizeof raw);
	CHECK(n >= 0 && (size_t)n == size);
	CHECK(size == 0 || memcmp(raw, data, size) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	fuzz_split(data, size);
	fuzz_clean(data, size);
	fuzz_cap(data, size);
	fuzz_authenticate(data, size);
	fuzz_chunks(data, size);
	return 0;
}

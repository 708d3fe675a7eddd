/*
 * ircmsg.c: parse and format IRC lines (RFC 1459, RFC 2812), no I/O.
 *
 *	message  = [ "@" tags SPACE ] [ ":" prefix SPACE ] command [ params ]
 *	prefix   = servername / ( nick [ [ "!" user ] "@" host ] )
 *	command  = 1*letter / 3digit
 *	params   = *14( SPACE middle ) [ SPACE [ ":" ] trailing ]
 *
 * Parsing is liberal where servers differ and it costs nothing (runs of
 * spaces, IRCv3 tags skipped, a lower-case command); it refuses what could
 * only be misread (an empty prefix, a command that is neither a word nor a
 * numeric, NUL, CR or LF inside the line). Formatting is strict: whatever
 * goes out is one line of at most IRC_MAX_LINE bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "plugins/irc/ircmsg.h"
#include "plugins/sdk/lines.h"

/* Skip a run of spaces. */
static char *
irc_skip_spaces(char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* Split the prefix copy in m->mask into nick, user and host. */
static int
irc_parse_prefix(struct irc_msg *m, size_t len)
{
	char	*bang, *at;

	memcpy(m->mask, m->prefix, len);
	m->mask[len] = '\0';
	m->nick = m->mask;
	bang = strchr(m->mask, '!');
	at = strchr(bang != NULL ? bang : m->mask, '@');
	if (at != NULL) {
		*at = '\0';
		m->host = at + 1;
	}
	if (bang != NULL) {
		*bang = '\0';
		m->user = bang + 1;
	}
	return *m->nick == '\0' ? -1 : 0;
}

/*
 * Parse one line, without its CR LF, into m. Returns 0, or -1 with a static
 * reason in *cause.
 */
int
irc_parse(struct irc_msg *m, const char *line, size_t len, const char **cause)
{
	char	*p, *end, *word, *c;
	size_t	 n;

	memset(m, 0, offsetof(struct irc_msg, buf));
	m->numeric = -1;
	if (len > IRC_MAX_INPUT) {
		*cause = "line too long";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL ||
	    memchr(line, '\r', len) != NULL ||
	    memchr(line, '\n', len) != NULL) {
		*cause = "NUL, CR or LF inside the line";
		return -1;
	}
	/* Copy, so every part can end with a NUL where a space was. */
	memcpy(m->buf, line, len);
	m->buf[len] = '\0';
	p = m->buf;
	end = m->buf + len;

	p = irc_skip_spaces(p, end);
	if (p < end && *p == '@') {
		/* IRCv3 tags: nothing here needs them. */
		while (p < end && *p != ' ')
			p++;
		p = irc_skip_spaces(p, end);
	}

	if (p < end && *p == ':') {
		word = ++p;
		while (p < end && *p != ' ')
			p++;
		if (p == word) {
			*cause = "empty prefix";
			return -1;
		}
		n = (size_t)(p - word);
		*p = '\0';
		m->prefix = word;
		if (irc_parse_prefix(m, n) != 0) {
			*cause = "prefix without a nick";
			return -1;
		}
		if (p < end)
			p++;
		p = irc_skip_spaces(p, end);
	}

	word = p;
	while (p < end && *p != ' ')
		p++;
	if (p == word) {
		*cause = "no command";
		return -1;
	}
	n = (size_t)(p - word);
	*p = '\0';
	if (n == 3 && word[0] >= '0' && word[0] <= '9' && word[1] >= '0' &&
	    word[1] <= '9' && word[2] >= '0' && word[2] <= '9')
		m->numeric = (word[0] - '0') * 100 + (word[1] - '0') * 10 +
		    (word[2] - '0');
	else {
		for (c = word; *c != '\0'; c++) {
			if (*c >= 'a' && *c <= 'z')
				*c -= 'a' - 'A';
			else if (*c < 'A' || *c > 'Z') {
				*cause = "command is neither a word nor a "
				    "numeric";
				return -1;
			}
		}
	}
	m->command = word;
	if (p < end)
		p++;

	while (m->nparams < IRC_MAX_PARAMS) {
		p = irc_skip_spaces(p, end);
		if (p == end)
			break;
		/*
		 * After 14 middle parameters the rest of the line is the
		 * 15th, with or without its ':' (RFC 2812, 2.3.1).
		 */
		if (*p == ':' || m->nparams == IRC_MAX_PARAMS - 1) {
			if (*p == ':')
				p++;
			m->params[m->nparams++] = p;
			m->trailing = 1;
			break;
		}
		word = p;
		while (p < end && *p != ' ')
			p++;
		*p = '\0';
		m->params[m->nparams++] = word;
		if (p < end)
			p++;
	}
	return 0;
}

/* 1 if s can be a middle parameter: a word, not empty, no ':' first. */
static int
irc_valid_middle(const char *s)
{
	const unsigned char	*p;

	if (*s == '\0' || *s == ':')
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\r' || *p == '\n')
			return 0;
	}
	return 1;
}

/*
 * Build "COMMAND p1 ... :last\r\n" into out (size bytes, at least
 * IRC_MAX_LINE + 1), NUL-terminated. Middle parameters must be words; the
 * last gets a ':' when it needs one, and loses any CR, LF (and so can never
 * start a second command). Returns the length, CR LF included, or -1 with
 * a static reason in *cause.
 */
int
irc_build(char *out, size_t size, const char *command,
    const char *const *params, size_t nparams, const char **cause)
{
	const char	*s;
	size_t		 len, i, n;

	if (size < IRC_MAX_LINE + 1) {
		*cause = "buffer too small";
		return -1;
	}
	if (nparams > IRC_MAX_PARAMS) {
		*cause = "too many parameters";
		return -1;
	}
	if (!irc_valid_middle(command)) {
		*cause = "bad command";
		return -1;
	}
	len = strlen(command);
	if (len > IRC_MAX_LINE - 2) {
		*cause = "line too long";
		return -1;
	}
	memcpy(out, command, len);
	for (i = 0; i < nparams; i++) {
		s = params[i];
		if (i + 1 < nparams && !irc_valid_middle(s)) {
			*cause = "bad parameter";
			return -1;
		}
		if (len + 1 > IRC_MAX_LINE - 2)
			goto toolong;
		out[len++] = ' ';
		if (i + 1 == nparams && (!irc_valid_middle(s) ||
		    strchr(s, ' ') != NULL)) {
			if (len + 1 > IRC_MAX_LINE - 2)
				goto toolong;
			out[len++] = ':';
		}
		for (n = 0; s[n] != '\0'; n++) {
			if (s[n] == '\r' || s[n] == '\n')
				continue;
			if (len + 1 > IRC_MAX_LINE - 2)
				goto toolong;
			out[len++] = s[n];
		}
	}
	out[len++] = '\r';
	out[len++] = '\n';
	out[len] = '\0';
	return (int)len;

toolong:
	*cause = "line too long";
	return -1;
}

/*
 * Bytes the server's ":nick!user@host " takes in front of a line it
 * relays for us; user or host NULL when not known yet (reserved then).
 */
size_t
irc_prefix_len(const char *nick, const char *user, const char *host)
{
	return 1 + strlen(nick) + 1 +
	    (user != NULL ? strlen(user) : IRC_USER_RESERVE) + 1 +
	    (host != NULL ? strlen(host) : IRC_HOST_RESERVE) + 1;
}

/* 1 if s can be the target of a PRIVMSG: one word, no control bytes. */
int
irc_valid_target(const char *s)
{
	const unsigned char	*p;

	if (*s == '\0' || *s == ':' || strlen(s) > IRC_MAX_TARGET)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= ' ' || *p == ',' || *p == 0x7f)
			return 0;
	}
	return 1;
}

/* 1 if name is a channel (#, &, + or ! first), not a nick. */
int
irc_is_channel(const char *name)
{
	return name[0] != '\0' && strchr("#&+!", name[0]) != NULL;
}

/* RFC 1459 case mapping: {}|^ are the lower case of []\~. */
static int
irc_tolower(int c)
{
	if (c >= 'A' && c <= ']')	/* A-Z [ \ ] */
		return c + ('a' - 'A');
	if (c == '~')
		return '^';
	return c;
}

/* Compare two nicks or channel names as IRC does: 0 if equal. */
int
irc_casecmp(const char *a, const char *b)
{
	int	ca, cb;

	do {
		ca = irc_tolower((unsigned char)*a++);
		cb = irc_tolower((unsigned char)*b++);
	} while (ca == cb && ca != '\0');
	return ca - cb;
}

/* Where irc_split's lines are built: "COMMAND target :" then a piece. */
struct irc_split_state {
	char		 line[IRC_MAX_LINE + 1];
	size_t		 head;		/* length of "COMMAND target :" */
	irc_line_cb	 cb;
	void		*arg;
	int		 count;
};

/* Send one piece of text as a line; IRC has no empty lines: skip those. */
static void
irc_split_line(const char *piece, size_t len, void *arg)
{
	struct irc_split_state	*st = arg;

	if (len == 0)
		return;
	memcpy(st->line + st->head, piece, len);
	memcpy(st->line + st->head + len, "\r\n", 3);
	st->cb(st->line, st->head + len + 2, st->arg);
	st->count++;
}

/*
 * Send text to target as "COMMAND target :text" lines through cb: one per
 * line of text (CR, LF or CR LF end a line; empty lines are skipped), each
 * cut by sdk_split_lines so that with the server's prefix of prefixlen bytes
 * it fits in IRC_MAX_LINE. NUL and \001 (which would make a CTCP request)
 * are dropped first. Returns the number of lines, or -1 with a static
 * reason in *cause.
 */
int
irc_split(const char *command, const char *target, const char *text,
    size_t len, size_t prefixlen, irc_line_cb cb, void *arg,
    const char **cause)
{
	struct irc_split_state	 st;
	char			*clean;
	size_t			 room, i, n;

	if (!irc_valid_middle(command) || strlen(command) > 32) {
		*cause = "bad command";
		return -1;
	}
	if (!irc_valid_target(target)) {
		*cause = "bad target";
		return -1;
	}
	st.head = strlen(command) + 1 + strlen(target) + 2;
	if (prefixlen + st.head + IRC_MIN_TEXT + 2 > IRC_MAX_LINE) {
		*cause = "target or prefix too long";
		return -1;
	}
	room = IRC_MAX_LINE - 2 - prefixlen - st.head;
	snprintf(st.line, sizeof st.line, "%s %s :", command, target);
	st.cb = cb;
	st.arg = arg;
	st.count = 0;

	clean = xmalloc(len + 1);
	for (i = n = 0; i < len; i++) {
		if (text[i] != '\0' && text[i] != '\001')
			clean[n++] = text[i];
	}
	sdk_split_lines(clean, n, room, irc_split_line, &st);
	free(clean);
	return st.count;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
irc_utf8_len(const unsigned char *s)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	/* Only the second byte has the narrower range; a NUL stops it. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

/* 1 if c is a hexadecimal digit. */
static int
irc_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Length of a run of at most max digits (hex: hexadecimal) at s. */
static size_t
irc_digits(const char *s, size_t max, int hex)
{
	size_t	n = 0;

	while (n < max && (hex ? irc_is_hex(s[n]) : (s[n] >= '0' &&
	    s[n] <= '9')))
		n++;
	return n;
}

/*
 * Make received text plain, in place, for the bot's commands: mIRC
 * formatting goes (bold \002, colour \003NN[,NN], hex colour \004RRGGBB
 * [,RRGGBB], monospace \021, reset \017, reverse \026, italics \035,
 * strike \036, underline \037), and each byte that does not start a valid
 * UTF-8 sequence becomes '?' (clients in Latin-1 exist; plugins in other
 * languages may insist on UTF-8).
 */
void
irc_clean_text(char *s)
{
	char	*out = s;
	size_t	 n, w;
	int	 hex;

	while (*s != '\0') {
		switch (*s) {
		case '\002': case '\017': case '\021': case '\026':
		case '\035': case '\036': case '\037':
			s++;
			continue;
		case '\003':
		case '\004':
			hex = *s == '\004';
			w = hex ? 6 : 2;
			s++;
			if ((n = irc_digits(s, w, hex)) == 0 || (hex && n != w))
				continue;
			s += n;
			n = s[0] == ',' ? irc_digits(s + 1, w, hex) : 0;
			if (n > 0 && (!hex || n == w))
				s += 1 + n;
			continue;
		}
		if ((n = irc_utf8_len((const unsigned char *)s)) == 0) {
			*out++ = '?';
			s++;
			continue;
		}
		memmove(out, s, n);
		out += n;
		s += n;
	}
	*out = '\0';
}

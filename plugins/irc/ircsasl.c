/*
 * ircsasl.c: IRCv3 capability negotiation and SASL (PLAIN, EXTERNAL),
 * without network I/O.
 *
 *	C: CAP LS 302			S: CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL
 *	C: NICK, USER			S: CAP * LS :server-time
 *	C: CAP REQ :sasl multi-prefix	S: CAP * ACK :sasl multi-prefix
 *	C: AUTHENTICATE PLAIN		S: AUTHENTICATE +
 *	C: AUTHENTICATE <base64>	S: 900 ..., 903 :SASL authentication successful
 *	C: CAP END			S: 001 ...
 *
 * Everything here reads what a server sent, so every length is bounded
 * and every malformed part refused with a reason; the connector (irc.c)
 * decides what to do with it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/irc/ircmsg.h"
#include "plugins/irc/ircsasl.h"

/* The capabilities known, in the order they are requested. */
static const struct {
	const char	*name;
	unsigned	 bit;
} irc_cap_names[] = {
	{ "sasl",		IRC_CAP_SASL },
	{ "multi-prefix",	IRC_CAP_MULTI_PREFIX },
	{ "message-tags",	IRC_CAP_MESSAGE_TAGS },
	{ "server-time",	IRC_CAP_SERVER_TIME },
};

/*
 * Split a CAP message, "CAP target sub [*] [list]", into its parts.
 * Returns 0, or -1 with a static reason.
 */
int
irc_cap_parse(const struct irc_msg *m, struct irc_cap_msg *c,
    const char **cause)
{
	memset(c, 0, sizeof *c);
	if (strcmp(m->command, "CAP") != 0) {
		*cause = "not a CAP message";
		return -1;
	}
	if (m->nparams < 2) {
		*cause = "CAP without a subcommand";
		return -1;
	}
	c->sub = m->params[1];
	c->list = "";
	if (m->nparams == 3)
		c->list = m->params[2];
	else if (m->nparams == 4 && strcmp(m->params[2], "*") == 0) {
		c->more = 1;
		c->list = m->params[3];
	} else if (m->nparams > 3) {
		*cause = "CAP with too many parameters";
		return -1;
	}
	return 0;
}

/* The bit of a capability name of len bytes, 0 if the connector does not know it. */
unsigned
irc_cap_bit(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < nitems(irc_cap_names); i++) {
		if (strlen(irc_cap_names[i].name) == len &&
		    memcmp(irc_cap_names[i].name, name, len) == 0)
			return irc_cap_names[i].bit;
	}
	return 0;
}

/*
 * Add one CAP LS line's capabilities to what the server offers; keep the
 * value of "sasl=" (its mechanisms). Returns the bits this line added.
 */
unsigned
irc_cap_ls(struct irc_caps *caps, const char *list)
{
	const char	*p = list, *end, *eq;
	unsigned	 bit, added = 0;
	size_t		 vlen;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		bit = irc_cap_bit(p, (size_t)((eq != NULL ? eq : end) - p));
		if (bit == IRC_CAP_SASL && eq != NULL) {
			/* Too long to keep whole: unknown, as if not said. */
			vlen = (size_t)(end - eq - 1);
			if (vlen < sizeof caps->sasl_mechs) {
				memcpy(caps->sasl_mechs, eq + 1, vlen);
				caps->sasl_mechs[vlen] = '\0';
			} else
				caps->sasl_mechs[0] = '\0';
		}
		added |= bit & ~caps->offered;
		caps->offered |= bit;
		p = end;
	}
	return added;
}

/*
 * The known capabilities in an ACK, NAK, NEW or DEL list (a "-" before a
 * name in an ACK disables it: not counted).
 */
unsigned
irc_cap_list(const char *list)
{
	const char	*p = list, *end, *eq;
	unsigned	 bits = 0;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (*p != '-')
			bits |= irc_cap_bit(p, (size_t)((eq != NULL ? eq :
			    end) - p));
		p = end;
	}
	return bits;
}

/*
 * Write the capabilities of want as a CAP REQ list ("sasl multi-prefix")
 * into buf. Returns its length (0 if none), truncated to fit as snprintf.
 */
size_t
irc_cap_req(unsigned want, char *buf, size_t size)
{
	size_t	i, len = 0;
	int	n;

	if (size > 0)
		buf[0] = '\0';
	for (i = 0; i < nitems(irc_cap_names); i++) {
		if ((want & irc_cap_names[i].bit) == 0)
			continue;
		n = snprintf(buf + (len < size ? len : size), len < size ?
		    size - len : 0, "%s%s", len > 0 ? " " : "",
		    irc_cap_names[i].name);
		len += (size_t)n;
	}
	return len;
}

/*
 * 1 if mech is among the comma-separated mechanisms the server offers, or
 * if the server did not say which it offers (CAP 301 has no values): then
 * the server's answer to AUTHENTICATE tells.
 */
int
irc_sasl_mech_offered(const char *mechs, const char *mech)
{
	const char	*p = mechs, *end;
	size_t		 len = strlen(mech);

	if (*mechs == '\0')
		return 1;
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == len && strncasecmp(p, mech, len) == 0)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static const char irc_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Base64 (RFC 4648, padded) of len bytes into out, NUL-terminated.
 * Returns the length, or -1 if out is too small.
 */
int
irc_base64_encode(const void *data, size_t len, char *out, size_t size)
{
	const unsigned char	*s = data;
	size_t			 i, o = 0, need = 4 * ((len + 2) / 3) + 1;
	unsigned		 v;

	if (need > size || need > 0x7fffffff)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		out[o++] = irc_b64[v >> 18];
		out[o++] = irc_b64[(v >> 12) & 63];
		out[o++] = irc_b64[(v >> 6) & 63];
		out[o++] = irc_b64[v & 63];
	}
	if (i < len) {
		v = (unsigned)s[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)s[i + 1] << 8;
		out[o++] = irc_b64[v >> 18];
		out[o++] = irc_b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? irc_b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* The value of a base64 character, -1 if it is none. */
static int
irc_b64_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(irc_b64, c)) == NULL)
		return -1;
	return (int)(p - irc_b64);
}

/*
 * Decode len bytes of padded base64 into out. Strict: a length that is not
 * a multiple of 4, a character outside the alphabet, padding anywhere but
 * at the end, bits set that the padding drops, or out too small is -1, so
 * what decodes has one encoding. Returns the decoded length.
 */
int
irc_base64_decode(const char *in, size_t len, void *out, size_t size)
{
	unsigned char	*d = out;
	size_t		 i, o = 0, pad = 0;
	int		 v[4], k;

	if (len % 4 != 0 || len / 4 * 3 > 0x7fffffff)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > size)
		return -1;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + 4 == len && k >= 4 - (int)pad)
				v[k] = 0;
			else if ((v[k] = irc_b64_value(in[i + k])) == -1)
				return -1;
		}
		/* Bits the padding drops must be 0 (RFC 4648, 3.5). */
		if (i + 4 == len && ((pad == 2 && (v[1] & 15) != 0) ||
		    (pad == 1 && (v[2] & 3) != 0)))
			return -1;
		d[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (i + 4 < len || pad < 2)
			d[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (i + 4 < len || pad < 1)
			d[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	return (int)o;
}

/*
 * SASL PLAIN's message (RFC 4616), "user NUL user NUL password", in base64
 * into out. Returns its length, or -1 with a static reason.
 */
int
irc_sasl_plain(const char *user, const char *password, char *out,
    size_t size, const char **cause)
{
	char	payload[2 * IRC_SASL_MAX_USER + IRC_SASL_MAX_PASSWORD + 2];
	size_t	ulen = strlen(user), plen = strlen(password);
	int	n;

	if (ulen == 0 || ulen > IRC_SASL_MAX_USER) {
		*cause = "the SASL user must be 1 to 255 bytes";
		return -1;
	}
	if (plen == 0 || plen > IRC_SASL_MAX_PASSWORD) {
		*cause = "the SASL password must be 1 to 510 bytes";
		return -1;
	}
	memcpy(payload, user, ulen);
	payload[ulen] = '\0';
	memcpy(payload + ulen + 1, user, ulen);
	payload[2 * ulen + 1] = '\0';
	memcpy(payload + 2 * ulen + 2, password, plen);
	n = irc_base64_encode(payload, 2 * ulen + 2 + plen, out, size);
	explicit_bzero(payload, sizeof payload);
	if (n == -1)
		*cause = "no room for the SASL message";
	return n;
}

/*
 * Cut a base64 SASL message into AUTHENTICATE parameters of at most 400
 * bytes. An empty message is "+"; a message whose last chunk is exactly
 * 400 bytes ends with a "+" so the server knows it is over. Returns the
 * number of chunks.
 */
int
irc_sasl_chunks(const char *b64, irc_chunk_cb cb, void *arg)
{
	char	chunk[IRC_SASL_CHUNK + 1];
	size_t	len = strlen(b64), off = 0, n;
	int	count = 0;

	while (off < len) {
		n = len - off > IRC_SASL_CHUNK ? IRC_SASL_CHUNK : len - off;
		memcpy(chunk, b64 + off, n);
		chunk[n] = '\0';
		cb(chunk, arg);
		count++;
		off += n;
	}
	if (len % IRC_SASL_CHUNK == 0) {
		cb("+", arg);
		count++;
	}
	return count;
}

/*
 * One AUTHENTICATE parameter from the server. Returns 0 if more chunks
 * follow, 1 when the message is complete (in->b64 holds it, in->len bytes
 * of base64, "" for "+": decode it with irc_base64_decode, then set len to
 * 0), or -1 with a static reason (the caller aborts the login).
 */
int
irc_sasl_input(struct irc_sasl_in *in, const char *param, const char **cause)
{
	size_t	n = strlen(param), i;

	if (strcmp(param, "+") == 0) {
		in->b64[in->len] = '\0';
		return 1;
	}
	if (n == 0 || n > IRC_SASL_CHUNK) {
		*cause = "an AUTHENTICATE chunk must be 1 to 400 bytes";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (irc_b64_value(param[i]) == -1 && param[i] != '=') {
			*cause = "AUTHENTICATE data is not base64";
			return -1;
		}
	}
	if (in->len + n > sizeof in->b64 - 1) {
		*cause = "AUTHENTICATE data longer than 4096 bytes";
		return -1;
	}
	memcpy(in->b64 + in->len, param, n);
	in->len += n;
	in->b64[in->len] = '\0';
	return n < IRC_SASL_CHUNK ? 1 : 0;
}

/* What a numeric means for a SASL login (IRCv3 sasl-3.1). */
enum irc_sasl_reply
irc_sasl_numeric(int numeric)
{
	switch (numeric) {
	case 900:			/* RPL_LOGGEDIN */
		return IRC_SASL_LOGGEDIN;
	case 901:			/* RPL_LOGGEDOUT */
		return IRC_SASL_LOGGEDOUT;
	case 903:			/* RPL_SASLSUCCESS */
	case 907:			/* ERR_SASLALREADY */
		return IRC_SASL_SUCCESS;
	case 902:			/* ERR_NICKLOCKED */
	case 904:			/* ERR_SASLFAIL */
	case 905:			/* ERR_SASLTOOLONG */
	case 906:			/* ERR_SASLABORTED */
		return IRC_SASL_FAILURE;
	case 908:			/* RPL_SASLMECHS */
		return IRC_SASL_MECHS;
	default:
		return IRC_SASL_NONE;
	}
}

/*
 * Read a secret (a password) from a file: one line, its line end dropped.
 * The file must be a regular file of at most IRC_SECRET_MAX_FILE bytes; the
 * secret 1 to size - 1 bytes without NUL, CR or LF. *mode gets the file's
 * permission bits (the caller warns if others may read it). Returns the
 * secret's length, or -1 with a static reason.
 */
int
irc_secret_read(const char *path, char *buf, size_t size, int *mode,
    const char **cause)
{
	char		 data[IRC_SECRET_MAX_FILE + 1];
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, saved;

	*mode = 0;
	/* O_NONBLOCK: a FIFO put there must not hang the connector. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		*cause = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		*cause = strerror(saved);
		return -1;
	}
	*mode = (int)(st.st_mode & 07777);
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		*cause = "not a regular file";
		return -1;
	}
	if (st.st_size > IRC_SECRET_MAX_FILE) {
		close(fd);
		*cause = "larger than 4096 bytes: not a password file";
		return -1;
	}
	while (len < sizeof data) {
		n = read(fd, data + len, sizeof data - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			explicit_bzero(data, sizeof data);
			*cause = strerror(saved);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > IRC_SECRET_MAX_FILE) {
		explicit_bzero(data, sizeof data);
		*cause = "larger than 4096 bytes: not a password file";
		return -1;
	}
	/* One line end (LF or CR LF), as editors and echo leave it. */
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	if (len == 0)
		*cause = "empty";
	else if (memchr(data, '\0', len) != NULL ||
	    memchr(data, '\r', len) != NULL || memchr(data, '\n', len) != NULL)
		*cause = "more than one line, or a NUL byte";
	else if (len > size - 1)
		*cause = "the password is too long";
	else {
		memcpy(buf, data, len);
		buf[len] = '\0';
		explicit_bzero(data, sizeof data);
		return (int)len;
	}
	explicit_bzero(data, sizeof data);
	return -1;
}

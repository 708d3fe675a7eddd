/* jsonpos.c: find the line and column of a value in JSON text by path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/jsonpos.h"

struct jsonpos_scan {
	const char	*text;
	size_t		 len;
	size_t		 off;
};

static int
jsonpos_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Characters that end a bare token (number, true, false, null). */
static int
jsonpos_is_delim(char c)
{
	return jsonpos_is_space(c) || c == ',' || c == ':' || c == '[' ||
	    c == ']' || c == '{' || c == '}' || c == '"';
}

static void
jsonpos_skip_space(struct jsonpos_scan *s)
{
	while (s->off < s->len && jsonpos_is_space(s->text[s->off]))
		s->off++;
}

/* The byte at the scan position, or NUL at the end of the text. */
static char
jsonpos_peek(struct jsonpos_scan *s)
{
	return s->off < s->len ? s->text[s->off] : '\0';
}

/* Skip a string from its opening quote to just past its closing quote. */
static void
jsonpos_skip_string(struct jsonpos_scan *s)
{
	char	c;

	s->off++;
	while (s->off < s->len) {
		c = s->text[s->off++];
		if (c == '\\') {
			if (s->off < s->len)
				s->off++;
		} else if (c == '"')
			return;
	}
}

/* Skip one value of any type, containers included, without recursion. */
static void
jsonpos_skip_value(struct jsonpos_scan *s)
{
	size_t	depth = 0;
	char	c;

	do {
		jsonpos_skip_space(s);
		if (s->off >= s->len)
			return;
		c = s->text[s->off];
		if (c == '"')
			jsonpos_skip_string(s);
		else if (c == '{' || c == '[') {
			depth++;
			s->off++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return;
			depth--;
			s->off++;
		} else if (c == ',' || c == ':')
			s->off++;
		else {
			do
				s->off++;
			while (s->off < s->len &&
			    !jsonpos_is_delim(s->text[s->off]));
		}
	} while (depth > 0);
}

/* Four hex digits at p, or -1. */
static long
jsonpos_hex4(const char *p, const char *end)
{
	long	v = 0;
	int	i;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Append code point cp to out as UTF-8; returns the bytes written. */
static size_t
jsonpos_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decode the string at the scan position (an opening quote) and move past
 * it. Escapes never grow the text (six bytes of \uXXXX give at most three,
 * a surrogate pair's twelve give four), so the raw length bounds the result.
 */
static char *
jsonpos_decode_string(struct jsonpos_scan *s)
{
	const char	*p, *end;
	char		*out, *o;
	long		 cp, lo;
	size_t		 start = s->off;

	jsonpos_skip_string(s);
	p = s->text + start + 1;
	end = s->text + s->off;
	if (end > p && end[-1] == '"')
		end--;
	out = o = xmalloc((size_t)(end - p) + 1);
	while (p < end) {
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		if (++p >= end)
			break;
		switch (*p++) {
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if ((cp = jsonpos_hex4(p, end)) == -1)
				goto out;
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u' &&
			    (lo = jsonpos_hex4(p + 2, end)) >= 0xdc00 &&
			    lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			o += jsonpos_utf8((uint32_t)cp, o);
			break;
		default:	/* '"', '\\', '/' stand for themselves */
			*o++ = p[-1];
			break;
		}
	}
out:
	*o = '\0';
	return out;
}

/* Move from an object's '{' to the value (or key) named key. */
static int
jsonpos_find_key(struct jsonpos_scan *s, const char *key, int want_key)
{
	size_t	 key_off;
	char	*name;
	int	 match;

	if (jsonpos_peek(s) != '{')
		return 0;
	s->off++;
	for (;;) {
		jsonpos_skip_space(s);
		if (jsonpos_peek(s) != '"')
			return 0;
		key_off = s->off;
		name = jsonpos_decode_string(s);
		match = strcmp(name, key) == 0;
		free(name);
		jsonpos_skip_space(s);
		if (jsonpos_peek(s) != ':')
			return 0;
		s->off++;
		jsonpos_skip_space(s);
		if (match) {
			if (want_key)
				s->off = key_off;
			return 1;
		}
		jsonpos_skip_value(s);
		jsonpos_skip_space(s);
		if (jsonpos_peek(s) != ',')
			return 0;
		s->off++;
	}
}

/* Move from an array's '[' to its element number index. */
static int
jsonpos_find_index(struct jsonpos_scan *s, size_t index)
{
	size_t	n;

	if (jsonpos_peek(s) != '[')
		return 0;
	s->off++;
	for (n = 0;; n++) {
		jsonpos_skip_space(s);
		if (s->off >= s->len || s->text[s->off] == ']')
			return 0;
		if (n == index)
			return 1;
		jsonpos_skip_value(s);
		jsonpos_skip_space(s);
		if (jsonpos_peek(s) != ',')
			return 0;
		s->off++;
	}
}

/*
 * Turn a byte offset into line and column the way jansson counts them:
 * lines split at '\n', columns count characters (UTF-8 lead bytes), from 1.
 */
static void
jsonpos_locate(const char *text, size_t off, struct jsonpos *out)
{
	size_t	i, line_start = 0;

	out->line = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			out->line++;
			line_start = i + 1;
		}
	}
	out->column = 1;
	for (i = line_start; i < off; i++) {
		if (((unsigned char)text[i] & 0xc0) != 0x80)
			out->column++;
	}
}

void
jsonpos_find(const char *text, size_t len, const struct jsonpos_step *path,
    size_t npath, int want_key, struct jsonpos *out)
{
	struct jsonpos_scan	 s = { text, len, 0 };
	size_t			 i, best;
	int			 found;

	jsonpos_skip_space(&s);
	best = s.off;
	for (i = 0; i < npath; i++) {
		if (path[i].key != NULL)
			found = jsonpos_find_key(&s, path[i].key,
			    want_key && i == npath - 1);
		else
			found = jsonpos_find_index(&s, path[i].index);
		if (!found)
			break;
		best = s.off;
	}
	if (best > len)
		best = len;
	jsonpos_locate(text, best, out);
}

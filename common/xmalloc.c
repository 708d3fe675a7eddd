/* xmalloc.c: allocation wrappers that die on failure, and clocks. */
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0)
		fatalx("xmalloc: zero size");
	if ((p = malloc(size)) == NULL)
		fatal("xmalloc: allocating %zu bytes", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xcalloc: zero size");
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("xcalloc: allocating %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xreallocarray: zero size");
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("xreallocarray: %zu * %zu overflows", nmemb, size);
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		fatal("xreallocarray: allocating %zu * %zu bytes", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return p;
}

/* Copy at most n bytes of s, which need not be NUL-terminated. */
char *
xstrndup(const char *s, size_t n)
{
	const char	*end = memchr(s, '\0', n);
	size_t		 len = end != NULL ? (size_t)(end - s) : n;
	char		*p;

	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	i;

	if ((i = vasprintf(ret, fmt, ap)) == -1)
		fatal("xvasprintf");
	return i;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	i;

	va_start(ap, fmt);
	i = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return i;
}

/* Copy at most size - 1 bytes and always terminate; return strlen(src). */
size_t
strlcpy_(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size != 0) {
		size_t	n = len >= size ? size - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

double
clock_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
clock_wall(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds as a struct timeval for a timer (libevent's); negative is now. */
struct timeval
clock_timeval(double seconds)
{
	struct timeval	tv;

	if (!(seconds > 0))
		seconds = 0;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

uint64_t
clock_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t		len, i;
	unsigned int	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* No overlong forms, surrogates, or code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Replace every byte that is not part of valid UTF-8 with '?', in place. */
void
utf8_sanitize(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 n = strlen(s), len;

	while (n > 0) {
		if ((len = utf8_seq(p, n)) == 0) {
			*p = '?';
			len = 1;
		}
		p += len;
		n -= len;
	}
}

/*
 * Copy s into buf (size bytes), cut at a character boundary so the copy
 * stays valid UTF-8, with "…" where it was cut. Invalid bytes become '?'.
 */
char *
utf8_quote(const char *s, char *buf, size_t size)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), off = 0, len;
	static const char	 ell[] = "…";

	if (size == 0)
		return buf;
	while (n > 0) {
		len = utf8_seq(p, n);
		if (off + (len ? len : 1) + sizeof ell > size && n > (len ? len : 1)) {
			memcpy(buf + off, ell, sizeof ell);
			return buf;
		}
		if (off + (len ? len : 1) >= size)
			break;
		if (len == 0) {
			buf[off++] = '?';
			len = 1;
		} else {
			memcpy(buf + off, p, len);
			off += len;
		}
		p += len;
		n -= len;
	}
	buf[off] = '\0';
	return buf;
}

/*
 * Round to the nearest integer, halves away from zero, like round(3) but
 * without libm: the daemon links no libm, whose pages would count against
 * its memory figure. Values too large for that are returned as they are.
 */
double
round_nearest(double x)
{
	if (!(x > -9e18 && x < 9e18))
		return x;
	return x >= 0 ? (double)(long long)(x + 0.5) :
	    -(double)(long long)(-x + 0.5);
}

/*
 * statefile.c: the format of a state file, one plugin's saved history.
 *
 *	offset	size	field
 *	0	8	magic "SVHIST\r\n" (a CR or LF mangled in transit shows)
 *	8	4	version (STATEFILE_VERSION)
 *	12	4	header size, 32
 *	16	8	body size: the file is exactly header + body
 *	24	8	statefile_hash() of the body
 *	32	...	sections: type (4), length (4), that many bytes
 *
 * Integers and doubles are little-endian, as this machine writes them (a file
 * from a big-endian machine fails the magic's version check). Sections, each
 * at most once but TIER: NAME (the plugin name, required, first), SAVED
 * (wall time of the save, poll_interval), COUNTERS (named uint64 counters),
 * RAW (the raw ring: epoch, capacity, samples oldest first), TIER (one
 * rollup tier: resolution, capacity, head bucket, the buckets up to it),
 * CRASHES (all-time total, records oldest first).
 *
 * The reader trusts nothing: every length is checked against what is left,
 * every count against its bound, every value against its range, before
 * anything is allocated from it. Any failure refuses the whole file.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "metrics/metrics.h"

#define STATEFILE_MAGIC		"SVHIST\r\n"
#define STATEFILE_HEADER	32

enum statefile_section {
	SECTION_NAME = 1,
	SECTION_SAVED,
	SECTION_COUNTERS,
	SECTION_RAW,
	SECTION_TIER,
	SECTION_CRASHES,
};

/* Bounds of a crash record's strings, as the daemon makes them. */
#define STATEFILE_DETAIL_MAX	4096
#define STATEFILE_LINE_MAX	4096
#define STATEFILE_LINES_MAX	1000
#define STATEFILE_CRASHES_MAX	10000

/*
 * 64-bit hash of the body, 8 bytes a step: xor the word in, multiply by an
 * odd constant, xor-shift. Every step is a bijection of the state for a
 * given word, so a change confined to one word always changes the result;
 * it runs at several GB/s, so loading 1000 full files stays within budget.
 */
uint64_t
statefile_hash(const unsigned char *p, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL, w;
	size_t		i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++) {
		h = (h ^ p[i]) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h ^ (uint64_t)n;
}

/* A growing output buffer. */
struct sf_out {
	unsigned char	*buf;
	size_t		 len, cap;
};

static void
sf_put(struct sf_out *o, const void *p, size_t n)
{
	/* An empty or absent string (a crash without detail): p may be NULL. */
	if (n == 0)
		return;
	if (o->len + n > o->cap) {
		while (o->len + n > o->cap)
			o->cap = o->cap ? o->cap * 2 : 4096;
		o->buf = xreallocarray(o->buf, o->cap, 1);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
sf_u8(struct sf_out *o, uint8_t v)
{
	sf_put(o, &v, 1);
}

static void
sf_u16(struct sf_out *o, uint16_t v)
{
	sf_put(o, &v, 2);
}

static void
sf_u32(struct sf_out *o, uint32_t v)
{
	sf_put(o, &v, 4);
}

static void
sf_u64(struct sf_out *o, uint64_t v)
{
	sf_put(o, &v, 8);
}

static void
sf_f64(struct sf_out *o, double v)
{
	sf_put(o, &v, 8);
}

/* A string of at most max bytes, with a 16-bit length. */
static void
sf_str(struct sf_out *o, const char *s, size_t max)
{
	size_t	n = s ? strlen(s) : 0;

	if (n > max)
		n = max;
	sf_u16(o, (uint16_t)n);
	sf_put(o, s, n);
}

/* Open a section: returns where its length goes. */
static size_t
sf_begin(struct sf_out *o, uint32_t type)
{
	size_t	at;

	sf_u32(o, type);
	at = o->len;
	sf_u32(o, 0);
	return at;
}

static void
sf_end(struct sf_out *o, size_t at)
{
	uint32_t	len = (uint32_t)(o->len - at - 4);

	memcpy(o->buf + at, &len, 4);
}

/* Serialize one plugin's history; the buffer is the caller's to free. */
int
statefile_encode(const struct state_history *h, unsigned char **out,
    size_t *outlen)
{
	struct sf_out			 o = { NULL, 0, 0 };
	const struct crash_record	*cr;
	const struct rollup_tier	*t;
	size_t				 at, i, j, n;
	int64_t				 head, b, from;
	unsigned char			 bucket[64];
	uint64_t			 hash;

	sf_put(&o, STATEFILE_MAGIC, 8);
	sf_u32(&o, STATEFILE_VERSION);
	sf_u32(&o, STATEFILE_HEADER);
	sf_u64(&o, 0);
	sf_u64(&o, 0);

	at = sf_begin(&o, SECTION_NAME);
	sf_str(&o, h->name, STATEFILE_NAME_MAX);
	sf_end(&o, at);

	at = sf_begin(&o, SECTION_SAVED);
	sf_f64(&o, h->saved_at);
	sf_f64(&o, h->poll_interval);
	sf_end(&o, at);

	at = sf_begin(&o, SECTION_COUNTERS);
	sf_u32(&o, (uint32_t)h->ncounters);
	for (i = 0; i < h->ncounters; i++) {
		sf_str(&o, h->counters[i].name, STATEFILE_COUNTER_NAME - 1);
		sf_u64(&o, h->counters[i].value);
	}
	sf_end(&o, at);

	if (h->ring != NULL) {
		at = sf_begin(&o, SECTION_RAW);
		sf_f64(&o, ring_epoch(h->ring));
		sf_u32(&o, (uint32_t)ring_capacity(h->ring));
		sf_u32(&o, (uint32_t)ring_count(h->ring));
		for (i = 0; i < ring_count(h->ring); i++)
			sf_put(&o, ring_get(h->ring, i),
			    sizeof(struct metrics_sample));
		sf_end(&o, at);
	}

	for (j = 0; j < h->ntiers; j++) {
		t = h->tiers[j];
		at = sf_begin(&o, SECTION_TIER);
		sf_f64(&o, rollup_resolution(t));
		sf_u32(&o, (uint32_t)rollup_capacity(t));
		if (rollup_head(t, &head) != 0) {
			sf_u32(&o, 0);
			sf_u64(&o, 0);
		} else {
			/* The span from the oldest bucket kept to the head. */
			if (rollup_first(t, &from) != 0)
				from = head;
			n = (size_t)(head - from + 1);
			sf_u32(&o, (uint32_t)n);
			sf_u64(&o, (uint64_t)head);
			for (b = from; b <= head; b++) {
				rollup_bucket_encode(t, b, bucket);
				sf_put(&o, bucket, rollup_bucket_bytes());
			}
		}
		sf_end(&o, at);
	}

	if (h->crashes != NULL) {
		at = sf_begin(&o, SECTION_CRASHES);
		sf_u64(&o, crashlog_total(h->crashes));
		sf_u32(&o, (uint32_t)crashlog_count(h->crashes));
		for (i = 0; i < crashlog_count(h->crashes); i++) {
			cr = crashlog_get(h->crashes, i);
			sf_f64(&o, cr->wall_time);
			sf_f64(&o, cr->uptime);
			sf_u32(&o, (uint32_t)cr->pid);
			sf_u32(&o, (uint32_t)cr->exit_code);
			sf_u32(&o, (uint32_t)cr->signal);
			sf_u8(&o, cr->core_dumped ? 1 : 0);
			sf_u8(&o, (uint8_t)cr->reason);
			sf_u8(&o, cr->detail != NULL);
			sf_str(&o, cr->detail, STATEFILE_DETAIL_MAX);
			n = cr->nlines > STATEFILE_LINES_MAX ?
			    STATEFILE_LINES_MAX : cr->nlines;
			sf_u16(&o, (uint16_t)n);
			for (j = cr->nlines - n; j < cr->nlines; j++)
				sf_str(&o, cr->stderr_lines[j],
				    STATEFILE_LINE_MAX);
		}
		sf_end(&o, at);
	}

	{
		uint64_t body = o.len - STATEFILE_HEADER;

		hash = statefile_hash(o.buf + STATEFILE_HEADER, body);
		memcpy(o.buf + 16, &body, 8);
		memcpy(o.buf + 24, &hash, 8);
	}
	*out = o.buf;
	*outlen = o.len;
	return 0;
}

/* A bounded reader: every get fails once the data runs out. */
struct sf_in {
	const unsigned char	*p;
	size_t			 len, off;
	const char		*what;	/* the section being read */
	char			*cause;
};

static int
sf_fail(struct sf_in *in, const char *fmt, ...)
{
	va_list	ap;
	char	buf[256];

	if (in->cause != NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	xasprintf(&in->cause, "%s section at byte %zu: %s", in->what,
	    in->off, buf);
	return -1;
}

static int
sf_get(struct sf_in *in, void *p, size_t n)
{
	if (in->len - in->off < n)
		return sf_fail(in, "ends %zu bytes early", n - (in->len -
		    in->off));
	memcpy(p, in->p + in->off, n);
	in->off += n;
	return 0;
}

#define SF_GET(in, v)	sf_get((in), &(v), sizeof (v))

/* A string of at most max bytes, without NUL or control bytes but tab. */
static int
sf_getstr(struct sf_in *in, char **out, size_t max)
{
	uint16_t	n = 0;
	size_t		i;

	*out = NULL;
	if (SF_GET(in, n) != 0)
		return -1;
	if (n > max)
		return sf_fail(in, "a string of %u bytes, more than %zu", n,
		    max);
	if (in->len - in->off < n)
		return sf_fail(in, "a string runs past the end");
	for (i = 0; i < n; i++) {
		unsigned char c = in->p[in->off + i];

		if (c == 0 || (c < 0x20 && c != '\t') || c == 0x7f)
			return sf_fail(in, "a string holds byte 0x%02x", c);
	}
	*out = xmalloc((size_t)n + 1);
	memcpy(*out, in->p + in->off, n);
	(*out)[n] = '\0';
	in->off += n;
	return 0;
}

/* A finite double within [min, max]. */
static int
sf_getnum(struct sf_in *in, double *v, double min, double max,
    const char *name)
{
	if (SF_GET(in, *v) != 0)
		return -1;
	if (!isfinite(*v) || *v < min || *v > max)
		return sf_fail(in, "%s %g is out of range", name, *v);
	return 0;
}

static int
sf_name(struct sf_in *in, struct state_history *h)
{
	char	*s;
	size_t	 i;

	if (sf_getstr(in, &s, STATEFILE_NAME_MAX) != 0)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			break;
	if (i == 0 || s[i] != '\0') {
		free(s);
		return sf_fail(in, "not a plugin name");
	}
	strlcpy_(h->name, s, sizeof h->name);
	free(s);
	return 0;
}

static int
sf_saved(struct sf_in *in, struct state_history *h)
{
	if (sf_getnum(in, &h->saved_at, 0, 1e11, "save time") != 0 ||
	    sf_getnum(in, &h->poll_interval, 0, 86400, "poll_interval") != 0)
		return -1;
	return 0;
}

static int
sf_counters(struct sf_in *in, struct state_history *h)
{
	uint32_t	n = 0, i;
	char		*s;

	if (SF_GET(in, n) != 0)
		return -1;
	if (n > STATEFILE_MAX_COUNTERS)
		return sf_fail(in, "%u counters, more than %d", n,
		    STATEFILE_MAX_COUNTERS);
	for (i = 0; i < n; i++) {
		if (sf_getstr(in, &s, STATEFILE_COUNTER_NAME - 1) != 0)
			return -1;
		if (s[0] == '\0') {
			free(s);
			return sf_fail(in, "a counter without a name");
		}
		strlcpy_(h->counters[i].name, s, sizeof h->counters[i].name);
		free(s);
		if (SF_GET(in, h->counters[i].value) != 0)
			return -1;
	}
	h->ncounters = n;
	return 0;
}

static int
sf_raw(struct sf_in *in, struct state_history *h)
{
	struct metrics_sample	 s;
	double			 epoch;
	uint32_t		 cap = 0, count = 0, i, last = 0;

	if (sf_getnum(in, &epoch, 0, 1e11, "ring epoch") != 0 ||
	    SF_GET(in, cap) != 0 || SF_GET(in, count) != 0)
		return -1;
	if (cap == 0 || cap > METRICS_RING_MAX || count > cap)
		return sf_fail(in, "%u samples in a ring of %u", count, cap);
	if (in->len - in->off < (size_t)count * sizeof s)
		return sf_fail(in, "%u samples run past the end", count);
	h->ring = ring_new(cap, epoch);
	for (i = 0; i < count; i++) {
		sf_get(in, &s, sizeof s);
		if (s.time_ds < last)
			return sf_fail(in, "sample %u goes back in time", i);
		last = s.time_ds;
		ring_push(h->ring, epoch + s.time_ds / 10.0, &s);
	}
	return 0;
}

static int
sf_tier(struct sf_in *in, struct state_history *h)
{
	struct rollup_tier	*t;
	double			 res;
	uint32_t		 cap = 0, n = 0;
	uint64_t		 head = 0;

	if (h->ntiers == ROLLUP_MAX_TIERS)
		return sf_fail(in, "more than %d tiers", ROLLUP_MAX_TIERS);
	if (sf_getnum(in, &res, 1, 86400.0 * 3660, "resolution") != 0 ||
	    SF_GET(in, cap) != 0 || SF_GET(in, n) != 0 ||
	    SF_GET(in, head) != 0)
		return -1;
	if (res != (double)(long long)res)
		return sf_fail(in, "resolution %g is not whole seconds", res);
	if (cap == 0 || cap > ROLLUP_MAX_BUCKETS || n > cap)
		return sf_fail(in, "%u buckets in a tier of %u", n, cap);
	if (n > 0 && (head > (uint64_t)1e11 / (uint64_t)res ||
	    head + 1 < n))
		return sf_fail(in, "head bucket %llu is out of range",
		    (unsigned long long)head);
	if (in->len - in->off < (size_t)n * rollup_bucket_bytes())
		return sf_fail(in, "%u buckets run past the end", n);
	t = h->tiers[h->ntiers++] = rollup_new(res, cap);
	if (rollup_load(t, (int64_t)head, in->p + in->off, n) != 0)
		return sf_fail(in, "a bucket is not a bucket");
	in->off += (size_t)n * rollup_bucket_bytes();
	return 0;
}

static int
sf_crashes(struct sf_in *in, struct state_history *h)
{
	struct crash_record	cr;
	uint64_t		total = 0;
	uint32_t		n = 0, i, pid = 0, code = 0, sig = 0;
	uint16_t		nlines = 0, l;
	uint8_t			core = 0, reason = 0, has_detail = 0;
	int			rc = 0;

	if (SF_GET(in, total) != 0 || SF_GET(in, n) != 0)
		return -1;
	if (n > STATEFILE_CRASHES_MAX || total < n)
		return sf_fail(in, "%u records of %llu crashes", n,
		    (unsigned long long)total);
	h->crashes = crashlog_new(n > 0 ? n : 1);
	for (i = 0; i < n && rc == 0; i++) {
		memset(&cr, 0, sizeof cr);
		if (sf_getnum(in, &cr.wall_time, 0, 1e11, "crash time") != 0 ||
		    sf_getnum(in, &cr.uptime, 0, 1e11, "uptime") != 0 ||
		    SF_GET(in, pid) != 0 || SF_GET(in, code) != 0 ||
		    SF_GET(in, sig) != 0 || SF_GET(in, core) != 0 ||
		    SF_GET(in, reason) != 0 || SF_GET(in, has_detail) != 0)
			return -1;
		cr.pid = (int)pid;
		cr.exit_code = (int)code;
		cr.signal = (int)sig;
		if (core > 1 || has_detail > 1 || reason > CRASH_SPAWN ||
		    cr.signal < 0 || cr.signal > 64 || cr.exit_code < -1 ||
		    cr.exit_code > 255 || cr.pid < 0)
			return sf_fail(in, "crash record %u has a field out of "
			    "range", i);
		cr.core_dumped = core;
		cr.reason = (enum crash_reason)reason;
		if (sf_getstr(in, &cr.detail, STATEFILE_DETAIL_MAX) != 0)
			return -1;
		if (!has_detail) {
			free(cr.detail);
			cr.detail = NULL;
		}
		if (SF_GET(in, nlines) != 0 || nlines > STATEFILE_LINES_MAX) {
			free(cr.detail);
			return sf_fail(in, "crash record %u: bad line count", i);
		}
		cr.stderr_lines = nlines ? xcalloc(nlines, sizeof(char *)) :
		    NULL;
		for (l = 0; l < nlines; l++) {
			if (sf_getstr(in, &cr.stderr_lines[l],
			    STATEFILE_LINE_MAX) != 0) {
				rc = -1;
				break;
			}
			cr.nlines++;
		}
		if (rc == 0)
			crashlog_push(h->crashes, &cr);
		free(cr.detail);
		for (l = 0; l < cr.nlines; l++)
			free(cr.stderr_lines[l]);
		free(cr.stderr_lines);
	}
	if (rc == 0)
		crashlog_set_total(h->crashes, total);
	return rc;
}

/* Free what a decode allocated and zero the history. */
void
statefile_clear(struct state_history *h)
{
	size_t	i;

	ring_free(h->ring);
	for (i = 0; i < h->ntiers; i++)
		rollup_free(h->tiers[i]);
	crashlog_free(h->crashes);
	memset(h, 0, sizeof *h);
}

/*
 * Read a state file's bytes into h (allocating its ring, tiers and crash
 * log). STATEFILE_OK, or an error with *cause saying what and where, h
 * cleared.
 */
enum statefile_error
statefile_decode(const unsigned char *buf, size_t len,
    struct state_history *h, char **cause)
{
	struct sf_in	in = { buf, len, STATEFILE_HEADER, "header", NULL };
	uint32_t	version, hsize, type = 0, slen = 0, seen = 0;
	uint64_t	body, hash;
	size_t		end;
	int		rc = 0;

	memset(h, 0, sizeof *h);
	*cause = NULL;
	if (len < STATEFILE_HEADER) {
		xasprintf(cause, "%zu bytes, shorter than the %d-byte header",
		    len, STATEFILE_HEADER);
		return STATEFILE_CORRUPT;
	}
	if (memcmp(buf, STATEFILE_MAGIC, 8) != 0) {
		xasprintf(cause, "not a state file (bad magic)");
		return STATEFILE_CORRUPT;
	}
	memcpy(&version, buf + 8, 4);
	memcpy(&hsize, buf + 12, 4);
	memcpy(&body, buf + 16, 8);
	memcpy(&hash, buf + 24, 8);
	if (version > STATEFILE_VERSION) {
		xasprintf(cause, "format version %u, newer than this daemon's "
		    "%d", version, STATEFILE_VERSION);
		return STATEFILE_NEWER;
	}
	if (version != STATEFILE_VERSION || hsize != STATEFILE_HEADER) {
		xasprintf(cause, "format version %u with a %u-byte header: "
		    "not one this daemon wrote", version, hsize);
		return STATEFILE_CORRUPT;
	}
	if (body != len - STATEFILE_HEADER) {
		xasprintf(cause, "truncated or padded: the header says %llu "
		    "bytes of data, the file has %zu",
		    (unsigned long long)body, len - STATEFILE_HEADER);
		return STATEFILE_CORRUPT;
	}
	if (statefile_hash(buf + STATEFILE_HEADER, len - STATEFILE_HEADER) !=
	    hash) {
		xasprintf(cause, "checksum mismatch: the data was changed "
		    "after it was written");
		return STATEFILE_CORRUPT;
	}

	while (rc == 0 && in.off < len) {
		in.what = "section header";
		if (SF_GET(&in, type) != 0 || SF_GET(&in, slen) != 0) {
			rc = -1;
			break;
		}
		if (slen > len - in.off) {
			rc = sf_fail(&in, "a section of %u bytes runs past the "
			    "end", slen);
			break;
		}
		if (type < SECTION_NAME || type > SECTION_CRASHES) {
			rc = sf_fail(&in, "unknown section type %u", type);
			break;
		}
		if (type != SECTION_TIER && (seen & (1u << type))) {
			rc = sf_fail(&in, "section %u twice", type);
			break;
		}
		if (type != SECTION_NAME && !(seen & (1u << SECTION_NAME))) {
			rc = sf_fail(&in, "data before the plugin's name");
			break;
		}
		seen |= 1u << type;
		end = in.off + slen;
		{
			/* Each section is read within its own length. */
			struct sf_in	sec = { buf, end, in.off, NULL, NULL };
			static const char *const names[] = { NULL, "name",
			    "saved", "counters", "raw", "tier", "crashes" };

			sec.what = names[type];
			switch (type) {
			case SECTION_NAME:
				rc = sf_name(&sec, h);
				break;
			case SECTION_SAVED:
				rc = sf_saved(&sec, h);
				break;
			case SECTION_COUNTERS:
				rc = sf_counters(&sec, h);
				break;
			case SECTION_RAW:
				rc = sf_raw(&sec, h);
				break;
			case SECTION_TIER:
				rc = sf_tier(&sec, h);
				break;
			case SECTION_CRASHES:
				rc = sf_crashes(&sec, h);
				break;
			}
			if (rc == 0 && sec.off != end)
				rc = sf_fail(&sec, "%zu bytes left over",
				    end - sec.off);
			if (rc != 0)
				in.cause = sec.cause;
		}
		in.off = end;
	}
	if (rc == 0 && !(seen & (1u << SECTION_NAME))) {
		in.what = "file";
		rc = sf_fail(&in, "no plugin name");
	}
	if (rc != 0) {
		*cause = in.cause != NULL ? in.cause :
		    xstrdup("unreadable");
		statefile_clear(h);
		return STATEFILE_CORRUPT;
	}
	return STATEFILE_OK;
}

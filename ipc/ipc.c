/* ipc.c: msgpack message codec and stream framing for the plugin protocol. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "ipc/ipc.h"

static const char *msg_type_names[MSG_TYPE_COUNT] = {
	[MSG_HELLO] = "hello",
	[MSG_READY] = "ready",
	[MSG_CHAT] = "chat",
	[MSG_EVENT] = "event",
	[MSG_REPLY] = "reply",
	[MSG_SAY] = "say",
	[MSG_PING] = "ping",
	[MSG_PONG] = "pong",
	[MSG_LOG] = "log",
	[MSG_SHUTDOWN] = "shutdown",
};

/* msgpack-c's NOMEM_ERROR: see ipc_stream_next. */
#define MSG_CAUSE_TOO_DEEP \
	"malformed msgpack (nested deeper than 32 levels, or too large)"

/* Containers open at once, as msgpack-c's parser stack allows. */
#define IPC_SCAN_DEPTH	32

/*
 * The framing scanner reads every byte fed, ahead of msgpack-c, only to see
 * container headers. msgpack-c allocates an array's or map's elements when
 * it parses the header, trusting the announced count: five bytes
 * (dd ff ff ff ff) would ask for 96 GiB. Each element takes at least one
 * byte, so a message that announces more elements than its limit leaves
 * room for cannot fit: the stream refuses it before msgpack-c sees the
 * header. In a stream, a str, bin or ext header announcing more bytes
 * than are left is refused the same way, as its header arrives: msgpack-c
 * would only wait for bytes that may never come, and a silent peer would
 * look hung, not broken, until the ping timeout. (msg_decode has the whole
 * message and msgpack-c allocates nothing for a string: it leaves strings
 * alone.) Everything else (0xc1, nesting deeper than msgpack-c's stack) is
 * left for msgpack-c to refuse, and the scanner stops there.
 */
struct ipc_scan {
	size_t		 max_message;
	size_t		 msg_bytes;	/* bytes of the current message so far */
	uint64_t	 owed;		/* elements announced, not begun, all levels */
	uint64_t	 left[IPC_SCAN_DEPTH];	/* ... per open container */
	int		 depth;		/* open containers */
	unsigned char	 lead;		/* first byte of a header being read */
	int		 need;		/* bytes of its length field still to come */
	uint64_t	 field;		/* the length field so far */
	uint64_t	 skip;		/* payload bytes still to pass over */
	int		 stopped;	/* at a byte msgpack-c will refuse */
	int		 refused;	/* a header announced too much */
	int		 strings;	/* check str, bin, ext lengths too */
	unsigned char	 refused_lead;	/* ... a str, bin or ext header, or 0 */
	uint64_t	 refused_len;	/* ... announcing this many bytes */
	size_t		 messages;	/* messages scanned to their end */
};

struct ipc_stream {
	msgpack_unpacker	unpacker;
	int			live;		/* unpacker initialised */
	size_t			max_message;
	struct ipc_scan		scan;
	char		       *refused;	/* the scanner's cause, for next() */
};

struct msg_builder {
	msgpack_sbuffer	fields;
	msgpack_packer	fields_pk;
	msgpack_sbuffer	out;
	msgpack_packer	out_pk;
	enum msg_type	type;
	uint32_t	nfields;
};

const char *
msg_type_name(enum msg_type type)
{
	if ((unsigned)type >= MSG_TYPE_COUNT)
		return NULL;
	return msg_type_names[type];
}

int
msg_type_from_name(const char *name, size_t len)
{
	int	i;

	for (i = 0; i < MSG_TYPE_COUNT; i++) {
		if (strlen(msg_type_names[i]) == len &&
		    memcmp(msg_type_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

/* Find a key in the message's map; NULL if absent. */
static const msgpack_object *
msg_find(const struct msg *m, const char *key)
{
	const msgpack_object_map	*map = &m->unpacked.data.via.map;
	size_t				 klen = strlen(key);
	uint32_t			 i;

	for (i = 0; i < map->size; i++) {
		const msgpack_object	*k = &map->ptr[i].key;

		/* An empty string's ptr may be NULL: see msg_get_str. */
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
		    (klen == 0 || memcmp(k->via.str.ptr, key, klen) == 0))
			return &map->ptr[i].val;
	}
	return NULL;
}

int
msg_has(const struct msg *m, const char *key)
{
	return msg_find(m, key) != NULL;
}

int
msg_get_str(const struct msg *m, const char *key, const char **s, size_t *len)
{
	const msgpack_object	*o = msg_find(m, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return -1;
	/*
	 * msgpack-c leaves ptr NULL for an empty string parsed first in an
	 * unpacker call (one fed on its own): callers get "" instead, so
	 * memcpy(buf, s, 0) and the like stay defined.
	 */
	*s = o->via.str.size > 0 ? o->via.str.ptr : "";
	*len = o->via.str.size;
	return 0;
}

int
msg_copy_str(const struct msg *m, const char *key, char *buf, size_t size)
{
	const char	*s;
	size_t		 len;

	/* A NUL inside would silently cut the string: refuse it. */
	if (msg_get_str(m, key, &s, &len) != 0 || len >= size ||
	    memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

char *
msg_dup_str(const struct msg *m, const char *key, size_t maxlen)
{
	const char	*s;
	size_t		 len;

	if (msg_get_str(m, key, &s, &len) != 0 || len > maxlen ||
	    memchr(s, '\0', len) != NULL)
		return NULL;
	return xstrndup(s, len);
}

int
msg_get_uint(const struct msg *m, const char *key, uint64_t *v)
{
	const msgpack_object	*o = msg_find(m, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

int
msg_get_int(const struct msg *m, const char *key, int64_t *v)
{
	const msgpack_object	*o = msg_find(m, key);

	if (o == NULL)
		return -1;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= (uint64_t)INT64_MAX) {
		*v = (int64_t)o->via.u64;
		return 0;
	}
	return -1;
}

int
msg_get_bool(const struct msg *m, const char *key, int *v)
{
	const msgpack_object	*o = msg_find(m, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*v = o->via.boolean;
	return 0;
}

int
msg_get_double(const struct msg *m, const char *key, double *v)
{
	const msgpack_object	*o = msg_find(m, key);

	if (o == NULL)
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return 0;
	default:
		return -1;
	}
}

int
msg_get_strv(const struct msg *m, const char *key, const char **strs,
    size_t *lens, size_t max)
{
	const msgpack_object	*o = msg_find(m, key);
	uint32_t		 i;

	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size > max)
		return -1;
	for (i = 0; i < o->via.array.size; i++) {
		const msgpack_object	*e = &o->via.array.ptr[i];

		if (e->type != MSGPACK_OBJECT_STR)
			return -1;
		strs[i] = e->via.str.size > 0 ? e->via.str.ptr : "";
		lens[i] = e->via.str.size;
	}
	return (int)o->via.array.size;
}

const msgpack_object *
msg_get_object(const struct msg *m, const char *key)
{
	return msg_find(m, key);
}

/* An item (scalar, string, empty or completed container) has ended. */
static void
ipc_scan_item_end(struct ipc_scan *sc)
{
	while (sc->depth > 0 && sc->left[sc->depth - 1] == 0)
		sc->depth--;
	if (sc->depth == 0) {
		sc->msg_bytes = 0;
		sc->messages++;
	}
}

/* A container of n elements (2 per map entry) begins; -1 if it cannot fit. */
static int
ipc_scan_container(struct ipc_scan *sc, uint64_t n)
{
	if (sc->depth == IPC_SCAN_DEPTH) {
		sc->stopped = 1;	/* msgpack-c: NOMEM_ERROR */
		return 0;
	}
	if (n == 0) {
		ipc_scan_item_end(sc);
		return 0;
	}
	if (sc->msg_bytes + sc->owed + n > sc->max_message) {
		sc->refused = 1;
		return -1;
	}
	sc->left[sc->depth++] = n;
	sc->owed += n;
	return 0;
}

/* A header's length field is complete: act on it. */
static int
ipc_scan_header(struct ipc_scan *sc)
{
	unsigned char	c = sc->lead;

	if (c == 0xdc || c == 0xdd)
		return ipc_scan_container(sc, sc->field);
	if (c == 0xde || c == 0xdf)
		return ipc_scan_container(sc, 2 * sc->field);
	/* str, bin, ext (which has a type byte before its data) */
	sc->skip = sc->field + (c >= 0xc7 && c <= 0xc9);
	if (sc->strings &&
	    sc->msg_bytes + sc->owed + sc->skip > sc->max_message) {
		sc->refused = 1;
		sc->refused_lead = c;
		sc->refused_len = sc->field;
		return -1;
	}
	if (sc->skip == 0)
		ipc_scan_item_end(sc);
	return 0;
}

/* What a str, bin or ext header's lead byte starts, for a cause. */
static const char *
ipc_scan_kind(unsigned char c)
{
	if (c >= 0xc4 && c <= 0xc6)
		return "a bin";
	if (c >= 0xc7 && c <= 0xc9)
		return "an ext";
	return "a str";
}

/*
 * Scan len bytes; return how many msgpack-c may have. Fewer than len only
 * after a refusal: the header that announced too much is held back.
 */
static size_t
ipc_scan(struct ipc_scan *sc, const unsigned char *p, size_t len)
{
	/* Payload bytes after 0xc4 ... 0xdf that are not a length field. */
	static const unsigned char fixed[32] = {
		[0xca - 0xc4] = 4, [0xcb - 0xc4] = 8,
		[0xcc - 0xc4] = 1, [0xcd - 0xc4] = 2, [0xce - 0xc4] = 4,
		[0xcf - 0xc4] = 8, [0xd0 - 0xc4] = 1, [0xd1 - 0xc4] = 2,
		[0xd2 - 0xc4] = 4, [0xd3 - 0xc4] = 8, [0xd4 - 0xc4] = 2,
		[0xd5 - 0xc4] = 3, [0xd6 - 0xc4] = 5, [0xd7 - 0xc4] = 9,
		[0xd8 - 0xc4] = 17,
	};
	/* Length-field bytes after 0xc4 ... 0xdf. */
	static const unsigned char field[32] = {
		[0xc4 - 0xc4] = 1, [0xc5 - 0xc4] = 2, [0xc6 - 0xc4] = 4,
		[0xc7 - 0xc4] = 1, [0xc8 - 0xc4] = 2, [0xc9 - 0xc4] = 4,
		[0xd9 - 0xc4] = 1, [0xda - 0xc4] = 2, [0xdb - 0xc4] = 4,
		[0xdc - 0xc4] = 2, [0xdd - 0xc4] = 4, [0xde - 0xc4] = 2,
		[0xdf - 0xc4] = 4,
	};
	size_t		i, n;
	unsigned char	c;

	if (sc->refused)
		return 0;
	for (i = 0; i < len && !sc->stopped; i++) {
		if (sc->skip > 0) {
			n = len - i < sc->skip ? len - i : (size_t)sc->skip;
			sc->skip -= n;
			sc->msg_bytes += n;
			i += n - 1;
			if (sc->skip == 0)
				ipc_scan_item_end(sc);
			continue;
		}
		c = p[i];
		sc->msg_bytes++;
		if (sc->need > 0) {
			sc->field = sc->field << 8 | c;
			if (--sc->need == 0 && ipc_scan_header(sc) != 0)
				return i;
			continue;
		}
		/* The first byte of an item. */
		if (sc->depth > 0) {
			sc->left[sc->depth - 1]--;
			sc->owed--;
		}
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 ||
		    c == 0xc3)
			ipc_scan_item_end(sc);
		else if (c <= 0x8f) {
			if (ipc_scan_container(sc, 2 * (uint64_t)(c & 0x0f)) != 0)
				return i;
		} else if (c <= 0x9f) {
			if (ipc_scan_container(sc, c & 0x0f) != 0)
				return i;
		} else if (c <= 0xbf) {
			sc->lead = c;		/* fixstr: the length is in c */
			sc->field = c & 0x1f;
			if (ipc_scan_header(sc) != 0)
				return i;
		} else if (c == 0xc1)
			sc->stopped = 1;	/* msgpack-c: PARSE_ERROR */
		else if (field[c - 0xc4] != 0) {
			sc->lead = c;
			sc->need = field[c - 0xc4];
			sc->field = 0;
		} else
			sc->skip = fixed[c - 0xc4];
	}
	return len;
}

/* Check that a decoded object is a message: a map with a known "type". */
static int
msg_check(struct msg *m, char **cause)
{
	const msgpack_object	*root = &m->unpacked.data;
	const char		*name;
	size_t			 len;
	int			 type;

	if (root->type != MSGPACK_OBJECT_MAP) {
		xasprintf(cause, "message is not a map (msgpack type %d)",
		    (int)root->type);
		return -1;
	}
	if (msg_get_str(m, "type", &name, &len) != 0) {
		xasprintf(cause, "message has no \"type\" string");
		return -1;
	}
	if ((type = msg_type_from_name(name, len)) == -1) {
		xasprintf(cause, "unknown message type \"%.*s\"",
		    (int)(len > 32 ? 32 : len), name);
		return -1;
	}
	m->type = type;
	return 0;
}

void
msg_release(struct msg *m)
{
	msgpack_unpacked_destroy(&m->unpacked);
}

int
msg_decode(const void *data, size_t len, struct msg *m, char **cause)
{
	struct ipc_scan		scan;
	size_t			off = 0;
	msgpack_unpack_return	ret;

	memset(m, 0, sizeof *m);
	msgpack_unpacked_init(&m->unpacked);
	if (len > IPC_MAX_MESSAGE) {
		xasprintf(cause, "message of %zu bytes exceeds the %d-byte limit",
		    len, IPC_MAX_MESSAGE);
		return -1;
	}
	/*
	 * A container announcing more elements than the bytes left could
	 * hold: msgpack-c would allocate for them, then want more bytes.
	 */
	memset(&scan, 0, sizeof scan);
	scan.max_message = len;
	if (ipc_scan(&scan, data, len) < len) {
		xasprintf(cause, "%s", scan.messages > 0 ?
		    "trailing bytes after message" : "truncated msgpack message");
		return -1;
	}
	ret = msgpack_unpack_next(&m->unpacked, data, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len) {
		msg_release(m);
		xasprintf(cause, "%s", ret == MSGPACK_UNPACK_CONTINUE ?
		    "truncated msgpack message" : ret == MSGPACK_UNPACK_SUCCESS ?
		    "trailing bytes after message" :
		    ret == MSGPACK_UNPACK_NOMEM_ERROR ? MSG_CAUSE_TOO_DEEP :
		    "malformed msgpack");
		return -1;
	}
	if (msg_check(m, cause) != 0) {
		msg_release(m);
		return -1;
	}
	return 0;
}

/* The unpacker's first buffer: a ping's pong, a log line or two. */
#define IPC_STREAM_INITIAL	512

/*
 * A stream holds an unpacker only while it has bytes: msgpack-c's unpacker
 * is a buffer, a parse stack (1 KiB) and an 8 KiB zone, renewed after
 * every message, and an idle plugin's stream is empty but for a pong every
 * ping_interval. Kept for every plugin, they were the larger part of the
 * daemon's heap at 1000 idle plugins; made when bytes come and dropped
 * when all are consumed, the heap reuses the same few. A message handed
 * out keeps what it needs (msgpack-c counts references to the buffer).
 */
struct ipc_stream *
ipc_stream_new(size_t max_message)
{
	struct ipc_stream	*s = xcalloc(1, sizeof *s);

	s->max_message = max_message;
	s->scan.max_message = max_message;
	s->scan.strings = 1;
	return s;
}

/* Make the unpacker for bytes to come. */
static void
ipc_stream_open(struct ipc_stream *s)
{
	if (s->live)
		return;
	if (!msgpack_unpacker_init(&s->unpacker, IPC_STREAM_INITIAL))
		fatalx("msgpack_unpacker_init failed");
	s->live = 1;
}

/* Drop the unpacker if it holds no byte, whole or partial message. */
static void
ipc_stream_idle(struct ipc_stream *s)
{
	if (!s->live || msgpack_unpacker_message_size(&s->unpacker) != 0)
		return;
	msgpack_unpacker_destroy(&s->unpacker);
	s->live = 0;
}

void
ipc_stream_free(struct ipc_stream *s)
{
	if (s == NULL)
		return;
	if (s->live)
		msgpack_unpacker_destroy(&s->unpacker);
	free(s->refused);
	free(s);
}

size_t
ipc_stream_pending(const struct ipc_stream *s)
{
	if (!s->live)
		return 0;
	/* Counts the part of a message the unpacker has already parsed, too. */
	return msgpack_unpacker_message_size(&s->unpacker);
}

int
ipc_stream_feed(struct ipc_stream *s, const void *data, size_t len,
    char **cause)
{
	/*
	 * Unparsed bytes never exceed one maximal message plus what one feed
	 * brings, because the caller drains the stream after each feed and a
	 * partial message over the limit is refused there.
	 */
	if (ipc_stream_pending(s) + len > 2 * s->max_message) {
		xasprintf(cause, "more than %zu bytes buffered without a "
		    "complete message", 2 * s->max_message);
		return -1;
	}
	/* After a refusal, next() reports it; the rest is never parsed. */
	if (s->scan.refused)
		return 0;
	len = ipc_scan(&s->scan, data, len);
	if (s->scan.refused && s->scan.refused_lead != 0)
		xasprintf(&s->refused, "message exceeds the %zu-byte limit: "
		    "%s header announces %llu bytes", s->max_message,
		    ipc_scan_kind(s->scan.refused_lead),
		    (unsigned long long)s->scan.refused_len);
	else if (s->scan.refused)
		xasprintf(&s->refused, "message exceeds the %zu-byte limit",
		    s->max_message);
	ipc_stream_open(s);
	if (!msgpack_unpacker_reserve_buffer(&s->unpacker, len))
		fatalx("msgpack_unpacker_reserve_buffer(%zu) failed", len);
	memcpy(msgpack_unpacker_buffer(&s->unpacker), data, len);
	msgpack_unpacker_buffer_consumed(&s->unpacker, len);
	return 0;
}

int
ipc_stream_next(struct ipc_stream *s, struct msg *m, char **cause)
{
	msgpack_unpack_return	ret;
	size_t			size = 0;

	memset(m, 0, sizeof *m);
	msgpack_unpacked_init(&m->unpacked);
	if (!s->live) {
		/* No byte since the last message. */
		msg_release(m);
		if (s->refused != NULL) {
			*cause = s->refused;
			s->refused = NULL;
			return -1;
		}
		return 0;
	}
	ret = msgpack_unpacker_next_with_size(&s->unpacker, &m->unpacked, &size);
	switch (ret) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_CONTINUE:
		msg_release(m);
		/* The messages before a refused header came out first. */
		if (s->refused != NULL) {
			*cause = s->refused;
			s->refused = NULL;
			return -1;
		}
		if (msgpack_unpacker_message_size(&s->unpacker) > s->max_message) {
			xasprintf(cause, "message exceeds the %zu-byte limit",
			    s->max_message);
			return -1;
		}
		ipc_stream_idle(s);
		return 0;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		/*
		 * Not fatal: msgpack-c says "no memory" for nesting deeper than
		 * its 32-level stack and for a container whose declared length
		 * it cannot allocate, both of which the peer's bytes cause.
		 */
		msg_release(m);
		xasprintf(cause, "%s", MSG_CAUSE_TOO_DEEP);
		return -1;
	default:
		msg_release(m);
		xasprintf(cause, "malformed msgpack");
		return -1;
	}
	if (size > s->max_message) {
		msg_release(m);
		xasprintf(cause, "message of %zu bytes exceeds the %zu-byte limit",
		    size, s->max_message);
		return -1;
	}
	if (msg_check(m, cause) != 0) {
		msg_release(m);
		return -1;
	}
	return 1;
}

struct msg_builder *
msg_builder_new(void)
{
	struct msg_builder	*b = xcalloc(1, sizeof *b);

	msgpack_sbuffer_init(&b->fields);
	msgpack_sbuffer_init(&b->out);
	msgpack_packer_init(&b->fields_pk, &b->fields, msgpack_sbuffer_write);
	msgpack_packer_init(&b->out_pk, &b->out, msgpack_sbuffer_write);
	return b;
}

void
msg_builder_free(struct msg_builder *b)
{
	if (b == NULL)
		return;
	msgpack_sbuffer_destroy(&b->fields);
	msgpack_sbuffer_destroy(&b->out);
	free(b);
}

void
msg_begin(struct msg_builder *b, enum msg_type type)
{
	msgpack_sbuffer_clear(&b->fields);
	msgpack_sbuffer_clear(&b->out);
	b->type = type;
	b->nfields = 0;
}

static void
msg_add_key(struct msg_builder *b, const char *key)
{
	size_t	len = strlen(key);

	msgpack_pack_str(&b->fields_pk, len);
	msgpack_pack_str_body(&b->fields_pk, key, len);
	b->nfields++;
}

void
msg_add_strn(struct msg_builder *b, const char *key, const char *s, size_t len)
{
	msg_add_key(b, key);
	msgpack_pack_str(&b->fields_pk, len);
	msgpack_pack_str_body(&b->fields_pk, s, len);
}

void
msg_add_str(struct msg_builder *b, const char *key, const char *s)
{
	msg_add_strn(b, key, s, strlen(s));
}

void
msg_add_uint(struct msg_builder *b, const char *key, uint64_t v)
{
	msg_add_key(b, key);
	msgpack_pack_uint64(&b->fields_pk, v);
}

void
msg_add_int(struct msg_builder *b, const char *key, int64_t v)
{
	msg_add_key(b, key);
	msgpack_pack_int64(&b->fields_pk, v);
}

void
msg_add_bool(struct msg_builder *b, const char *key, int v)
{
	msg_add_key(b, key);
	if (v)
		msgpack_pack_true(&b->fields_pk);
	else
		msgpack_pack_false(&b->fields_pk);
}

void
msg_add_double(struct msg_builder *b, const char *key, double v)
{
	msg_add_key(b, key);
	msgpack_pack_double(&b->fields_pk, v);
}

void
msg_add_strv(struct msg_builder *b, const char *key, const char *const *v,
    size_t n)
{
	size_t	i, len;

	msg_add_key(b, key);
	msgpack_pack_array(&b->fields_pk, n);
	for (i = 0; i < n; i++) {
		len = strlen(v[i]);
		msgpack_pack_str(&b->fields_pk, len);
		msgpack_pack_str_body(&b->fields_pk, v[i], len);
	}
}

void
msg_add_raw(struct msg_builder *b, const char *key, const void *data, size_t len)
{
	msg_add_key(b, key);
	msgpack_sbuffer_write(&b->fields, data, len);
}

void
msg_add_object(struct msg_builder *b, const char *key, const msgpack_object *o)
{
	msg_add_key(b, key);
	msgpack_pack_object(&b->fields_pk, *o);
}

void
msg_end(struct msg_builder *b, const char **data, size_t *len)
{
	const char	*name = msg_type_names[b->type];
	size_t		 nlen = strlen(name);

	msgpack_sbuffer_clear(&b->out);
	msgpack_pack_map(&b->out_pk, b->nfields + 1);
	msgpack_pack_str(&b->out_pk, 4);
	msgpack_pack_str_body(&b->out_pk, "type", 4);
	msgpack_pack_str(&b->out_pk, nlen);
	msgpack_pack_str_body(&b->out_pk, name, nlen);
	if (b->fields.size > 0)
		msgpack_sbuffer_write(&b->out, b->fields.data, b->fields.size);
	*data = b->out.data;
	*len = b->out.size;
}

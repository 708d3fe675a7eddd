/*
 * test_ipc.c: the msgpack message codec and the stream framing (ipc/).
 *
 * Every message is built with msg_builder, framed by ipc_stream (or decoded by
 * msg_decode) and read back with the msg_get_* accessors and the typed
 * readers (ipc_read_*); bad input must give -1 with the exact cause an
 * operator would read in the log. Chat lines are split by ipc_parse_line.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "ipc/ipc.h"

/* The cause ipc.c gives for msgpack-c's NOMEM_ERROR (nesting, huge sizes). */
#define CAUSE_TOO_DEEP \
	"malformed msgpack (nested deeper than 32 levels, or too large)"

/* A growable byte buffer for hand-made and concatenated encodings. */
struct bytes {
	unsigned char	*data;
	size_t		 len;
};

static void
bytes_add(struct bytes *b, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 self = SIZE_MAX;

	/* Appending a part of the buffer to itself survives the realloc. */
	if (b->data != NULL && p >= b->data && p < b->data + b->len)
		self = (size_t)(p - b->data);
	b->data = xreallocarray(b->data, 1, b->len + len + 1);
	if (self != SIZE_MAX)
		p = b->data + self;
	memmove(b->data + b->len, p, len);
	b->len += len;
}

static void
bytes_addc(struct bytes *b, unsigned char c)
{
	bytes_add(b, &c, 1);
}

/* A msgpack string: fixstr below 32 bytes, else str8. */
static void
bytes_addstr(struct bytes *b, const char *s)
{
	size_t	len = strlen(s);

	assert_true(len < 256);
	if (len < 32)
		bytes_addc(b, 0xa0 | (unsigned char)len);
	else {
		bytes_addc(b, 0xd9);
		bytes_addc(b, (unsigned char)len);
	}
	bytes_add(b, s, len);
}

static void
bytes_free(struct bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* Finish the builder's message and append a copy of it to out. */
static size_t
build_into(struct msg_builder *mb, struct bytes *out)
{
	const char	*data;
	size_t		 len;

	msg_end(mb, &data, &len);
	bytes_add(out, data, len);
	return len;
}

static void
check_str(const struct msg *m, const char *key, const char *want)
{
	const char	*s = NULL;
	size_t		 len = 0;

	assert_int_equal(msg_get_str(m, key, &s, &len), 0);
	assert_int_equal(len, strlen(want));
	if (len > 0)
		assert_memory_equal(s, want, len);
}

static void
check_uint(const struct msg *m, const char *key, uint64_t want)
{
	uint64_t	v = 0;

	assert_int_equal(msg_get_uint(m, key, &v), 0);
	assert_true(v == want);
}

/* Decode exactly one message with a fresh stream; fails the test otherwise. */
static void
stream_one(const void *data, size_t len, struct msg *m)
{
	struct ipc_stream	*s = ipc_stream_new(IPC_MAX_MESSAGE);
	struct msg		 extra;
	char			*cause = NULL;

	assert_int_equal(ipc_stream_feed(s, data, len, &cause), 0);
	assert_int_equal(ipc_stream_pending(s), len);
	assert_int_equal(ipc_stream_next(s, m, &cause), 1);
	assert_null(cause);
	assert_int_equal(ipc_stream_next(s, &extra, &cause), 0);
	assert_null(cause);
	assert_int_equal(ipc_stream_pending(s), 0);
	/* The message keeps its own reference to the stream's buffer. */
	ipc_stream_free(s);
}

/* Feed bytes to a fresh stream with the given limit; return next's result. */
static int
stream_error(size_t limit, const void *data, size_t len, char **cause)
{
	struct ipc_stream	*s = ipc_stream_new(limit);
	struct msg		 m;
	int			 r;

	*cause = NULL;
	assert_int_equal(ipc_stream_feed(s, data, len, cause), 0);
	r = ipc_stream_next(s, &m, cause);
	if (r == 1)
		msg_release(&m);
	ipc_stream_free(s);
	return r;
}

/* Expect the stream to refuse data with exactly this cause. */
static void
expect_stream_error(size_t limit, const void *data, size_t len,
    const char *want)
{
	char	*cause = NULL;

	assert_int_equal(stream_error(limit, data, len, &cause), -1);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

/* Expect msg_decode to refuse data with exactly this cause. */
static void
expect_decode_error(const void *data, size_t len, const char *want)
{
	struct msg	 m;
	char		*cause = NULL;

	assert_int_equal(msg_decode(data, len, &m, &cause), -1);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

/* --- type names --------------------------------------------------------- */

static const char *all_names[MSG_TYPE_COUNT] = {
	"hello", "ready", "chat", "event", "reply", "say", "ping", "pong",
	"log", "shutdown",
};

static void
test_type_names(void **state)
{
	int	i;

	assert_int_equal(MSG_TYPE_COUNT, 10);
	for (i = 0; i < MSG_TYPE_COUNT; i++) {
		assert_string_equal(msg_type_name(i), all_names[i]);
		assert_int_equal(msg_type_from_name(all_names[i],
		    strlen(all_names[i])), i);
	}
	assert_int_equal(msg_type_from_name("hello", 5), MSG_HELLO);
	assert_int_equal(msg_type_from_name("shutdown", 8), MSG_SHUTDOWN);
	assert_null(msg_type_name(MSG_TYPE_COUNT));
	assert_null(msg_type_name((enum msg_type)(MSG_TYPE_COUNT + 1)));
	assert_null(msg_type_name((enum msg_type)-1));
	assert_null(msg_type_name((enum msg_type)1000000));
}

static void
test_type_from_name_bad(void **state)
{
	assert_int_equal(msg_type_from_name("", 0), -1);
	assert_int_equal(msg_type_from_name("bogus", 5), -1);
	assert_int_equal(msg_type_from_name("PING", 4), -1);
	assert_int_equal(msg_type_from_name("pin", 3), -1);
	assert_int_equal(msg_type_from_name("pingx", 5), -1);
	assert_int_equal(msg_type_from_name("ping\0", 5), -1);
	/* Only len bytes count: no NUL terminator needed. */
	assert_int_equal(msg_type_from_name("pingpong", 4), MSG_PING);
	assert_int_equal(msg_type_from_name(&"pingpong"[4], 4), MSG_PONG);
	assert_int_equal(msg_type_from_name("say it", 3), MSG_SAY);
}

/* --- every message type through builder and stream ---------------------- */

/* The config map of the hello fixture: {"exit_code": 3, "signal": "KILL"}. */
static const unsigned char hello_config[] = {
	0x82, 0xa9, 'e', 'x', 'i', 't', '_', 'c', 'o', 'd', 'e', 0x03,
	0xa6, 's', 'i', 'g', 'n', 'a', 'l', 0xa4, 'K', 'I', 'L', 'L',
};

/* Build one message of each type, as docs/protocol.md describes them. */
static void
build_protocol_messages(struct msg_builder *mb, struct bytes *out)
{
	static const char *const commands[] = { "roll", "8ball", "dice-x" };

	msg_begin(mb, MSG_HELLO);
	msg_add_uint(mb, "protocol", PROTOCOL_VERSION);
	msg_add_str(mb, "name", "dice-roller");
	msg_add_str(mb, "role", "plugin");
	msg_add_raw(mb, "config", hello_config, sizeof hello_config);
	build_into(mb, out);

	msg_begin(mb, MSG_READY);
	msg_add_uint(mb, "protocol", PROTOCOL_VERSION);
	msg_add_str(mb, "version", "1.2.3");
	msg_add_strv(mb, "commands", commands, nitems(commands));
	msg_add_bool(mb, "chat", 1);
	build_into(mb, out);

	msg_begin(mb, MSG_CHAT);
	msg_add_str(mb, "platform", "irc");
	msg_add_str(mb, "channel", "#dice");
	msg_add_str(mb, "user", "alice!al@example.org");
	msg_add_str(mb, "text", "!roll 2d6");
	build_into(mb, out);

	msg_begin(mb, MSG_EVENT);
	msg_add_uint(mb, "id", 42);
	msg_add_str(mb, "platform", "irc");
	msg_add_str(mb, "channel", "#dice");
	msg_add_str(mb, "user", "alice!al@example.org");
	msg_add_str(mb, "command", "roll");
	msg_add_str(mb, "args", "2d6");
	msg_add_str(mb, "text", "!roll 2d6");
	build_into(mb, out);

	msg_begin(mb, MSG_REPLY);
	msg_add_uint(mb, "id", 42);
	msg_add_str(mb, "text", "alice rolled 7\n(3 + 4)");
	build_into(mb, out);

	msg_begin(mb, MSG_SAY);
	msg_add_str(mb, "platform", "console");
	msg_add_str(mb, "channel", "console");
	msg_add_str(mb, "text", "tick");
	msg_add_str(mb, "user", "console");
	build_into(mb, out);

	msg_begin(mb, MSG_PING);
	msg_add_uint(mb, "seq", 7);
	build_into(mb, out);

	msg_begin(mb, MSG_PONG);
	msg_add_uint(mb, "seq", 7);
	build_into(mb, out);

	msg_begin(mb, MSG_LOG);
	msg_add_str(mb, "level", "warn");
	msg_add_str(mb, "text", "disk almost full");
	build_into(mb, out);

	msg_begin(mb, MSG_SHUTDOWN);
	build_into(mb, out);
}

/* Check one decoded message of build_protocol_messages, by its type. */
static void
check_protocol_message(const struct msg *m, enum msg_type want)
{
	const char		*strs[4];
	size_t			 lens[4];
	const msgpack_object	*o;
	int			 b = -1;

	assert_int_equal(m->type, want);
	check_str(m, "type", msg_type_name(want));
	switch (want) {
	case MSG_HELLO:
		check_uint(m, "protocol", 1);
		check_str(m, "name", "dice-roller");
		check_str(m, "role", "plugin");
		o = msg_get_object(m, "config");
		assert_non_null(o);
		assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
		assert_int_equal(o->via.map.size, 2);
		assert_int_equal(o->via.map.ptr[0].key.type, MSGPACK_OBJECT_STR);
		assert_int_equal(o->via.map.ptr[0].key.via.str.size, 9);
		assert_memory_equal(o->via.map.ptr[0].key.via.str.ptr,
		    "exit_code", 9);
		assert_int_equal(o->via.map.ptr[0].val.type,
		    MSGPACK_OBJECT_POSITIVE_INTEGER);
		assert_int_equal(o->via.map.ptr[0].val.via.u64, 3);
		assert_int_equal(o->via.map.ptr[1].val.type, MSGPACK_OBJECT_STR);
		assert_int_equal(o->via.map.ptr[1].val.via.str.size, 4);
		assert_memory_equal(o->via.map.ptr[1].val.via.str.ptr, "KILL", 4);
		break;
	case MSG_READY:
		check_uint(m, "protocol", 1);
		check_str(m, "version", "1.2.3");
		assert_int_equal(msg_get_strv(m, "commands", strs, lens, 4), 3);
		assert_int_equal(lens[0], 4);
		assert_memory_equal(strs[0], "roll", 4);
		assert_int_equal(lens[1], 5);
		assert_memory_equal(strs[1], "8ball", 5);
		assert_int_equal(lens[2], 6);
		assert_memory_equal(strs[2], "dice-x", 6);
		assert_int_equal(msg_get_bool(m, "chat", &b), 0);
		assert_int_equal(b, 1);
		break;
	case MSG_CHAT:
		check_str(m, "platform", "irc");
		check_str(m, "channel", "#dice");
		check_str(m, "user", "alice!al@example.org");
		check_str(m, "text", "!roll 2d6");
		break;
	case MSG_EVENT:
		check_uint(m, "id", 42);
		check_str(m, "platform", "irc");
		check_str(m, "channel", "#dice");
		check_str(m, "user", "alice!al@example.org");
		check_str(m, "command", "roll");
		check_str(m, "args", "2d6");
		check_str(m, "text", "!roll 2d6");
		break;
	case MSG_REPLY:
		check_uint(m, "id", 42);
		check_str(m, "text", "alice rolled 7\n(3 + 4)");
		break;
	case MSG_SAY:
		check_str(m, "platform", "console");
		check_str(m, "channel", "console");
		check_str(m, "text", "tick");
		check_str(m, "user", "console");
		break;
	case MSG_PING:
	case MSG_PONG:
		check_uint(m, "seq", 7);
		break;
	case MSG_LOG:
		check_str(m, "level", "warn");
		check_str(m, "text", "disk almost full");
		break;
	case MSG_SHUTDOWN:
		assert_int_equal(m->unpacked.data.via.map.size, 1);
		break;
	default:
		fail();
	}
}

/* The exact encoding of the simplest messages: "type" first, then fields. */
static void
test_builder_bytes(void **state)
{
	static const unsigned char shutdown[] = {
		0x81, 0xa4, 't', 'y', 'p', 'e', 0xa8,
		's', 'h', 'u', 't', 'd', 'o', 'w', 'n',
	};
	static const unsigned char ping[] = {
		0x82, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'p', 'i', 'n', 'g',
		0xa3, 's', 'e', 'q', 0xcd, 0x01, 0x2c,
	};
	struct msg_builder	*mb = msg_builder_new();
	const char		*data;
	size_t			 len;

	msg_begin(mb, MSG_SHUTDOWN);
	msg_end(mb, &data, &len);
	assert_int_equal(len, sizeof shutdown);
	assert_memory_equal(data, shutdown, len);

	/* A builder is reusable: msg_begin forgets the previous fields. */
	msg_begin(mb, MSG_LOG);
	msg_add_str(mb, "text", "forgotten");
	msg_begin(mb, MSG_PING);
	msg_add_uint(mb, "seq", 300);
	msg_end(mb, &data, &len);
	assert_int_equal(len, sizeof ping);
	assert_memory_equal(data, ping, len);

	/* msg_end twice gives the same bytes. */
	msg_end(mb, &data, &len);
	assert_int_equal(len, sizeof ping);
	assert_memory_equal(data, ping, len);
	msg_builder_free(mb);
	msg_builder_free(NULL);
}

static void
test_roundtrip_each_type(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 all = { 0 };
	struct msg		 m;
	char			*cause = NULL;
	size_t			 off = 0, len;
	int			 i;

	build_protocol_messages(mb, &all);
	/* Each message alone: through a stream and through msg_decode. */
	for (i = 0; i < MSG_TYPE_COUNT; i++) {
		struct msg	probe;

		/* Find this message's end by decoding growing prefixes. */
		for (len = 1; off + len <= all.len; len++) {
			if (msg_decode(all.data + off, len, &probe, &cause) == 0)
				break;
			free(cause);
			cause = NULL;
		}
		assert_true(off + len <= all.len);
		check_protocol_message(&probe, i);
		msg_release(&probe);

		stream_one(all.data + off, len, &m);
		check_protocol_message(&m, i);
		msg_release(&m);
		off += len;
	}
	assert_int_equal(off, all.len);
	bytes_free(&all);
	msg_builder_free(mb);
}

static void
test_roundtrip_all_in_one_feed(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct ipc_stream	*s = ipc_stream_new(IPC_MAX_MESSAGE);
	struct bytes		 all = { 0 };
	struct msg		 m[MSG_TYPE_COUNT], extra;
	char			*cause = NULL;
	int			 i;

	build_protocol_messages(mb, &all);
	assert_int_equal(ipc_stream_feed(s, all.data, all.len, &cause), 0);
	assert_int_equal(ipc_stream_pending(s), all.len);
	for (i = 0; i < MSG_TYPE_COUNT; i++)
		assert_int_equal(ipc_stream_next(s, &m[i], &cause), 1);
	assert_int_equal(ipc_stream_next(s, &extra, &cause), 0);
	assert_null(cause);
	assert_int_equal(ipc_stream_pending(s), 0);
	/* Messages outlive the stream and each other's release. */
	ipc_stream_free(s);
	for (i = MSG_TYPE_COUNT - 1; i >= 0; i--) {
		check_protocol_message(&m[i], i);
		msg_release(&m[i]);
	}
	bytes_free(&all);
	msg_builder_free(mb);
}

/* --- field types -------------------------------------------------------- */

/* A message with every kind of field the builder can add. */
static void
build_all_fields(struct msg_builder *mb, struct bytes *out,
    const msgpack_object *obj)
{
	static const char *const words[] = { "alpha", "", "gamma delta" };
	/* [1, "x", nil, -2] */
	static const unsigned char raw[] = { 0x94, 0x01, 0xa1, 'x', 0xc0, 0xfe };

	msg_begin(mb, MSG_EVENT);
	msg_add_str(mb, "str", "hello, world");
	msg_add_str(mb, "empty", "");
	msg_add_strn(mb, "strn", "a\0b\xff", 4);
	msg_add_strn(mb, "prefix", "truncated here", 9);
	msg_add_uint(mb, "u0", 0);
	msg_add_uint(mb, "u127", 127);
	msg_add_uint(mb, "u128", 128);
	msg_add_uint(mb, "u32", UINT32_MAX);
	msg_add_uint(mb, "umax", UINT64_MAX);
	msg_add_int(mb, "ineg1", -1);
	msg_add_int(mb, "ineg33", -33);
	msg_add_int(mb, "imin", INT64_MIN);
	msg_add_int(mb, "ipos", 5);
	msg_add_int(mb, "imax", INT64_MAX);
	msg_add_bool(mb, "yes", 1);
	msg_add_bool(mb, "no", 0);
	msg_add_bool(mb, "yes2", 2);
	msg_add_double(mb, "pi", 3.25);
	msg_add_double(mb, "neg", -0.5);
	msg_add_double(mb, "tiny", 1e-300);
	msg_add_double(mb, "inf", INFINITY);
	msg_add_strv(mb, "words", words, nitems(words));
	msg_add_strv(mb, "none", NULL, 0);
	msg_add_raw(mb, "raw", raw, sizeof raw);
	if (obj != NULL)
		msg_add_object(mb, "obj", obj);
	build_into(mb, out);
}

static void
check_all_fields(const struct msg *m, int with_obj)
{
	const char		*strs[3];
	size_t			 lens[3];
	const msgpack_object	*o;
	uint64_t		 u;
	int64_t			 i;
	double			 d;
	int			 b;

	assert_int_equal(m->type, MSG_EVENT);
	check_str(m, "str", "hello, world");
	check_str(m, "empty", "");
	check_str(m, "prefix", "truncated");
	{
		const char	*s;
		size_t		 len;

		assert_int_equal(msg_get_str(m, "strn", &s, &len), 0);
		assert_int_equal(len, 4);
		assert_memory_equal(s, "a\0b\xff", 4);
	}
	check_uint(m, "u0", 0);
	check_uint(m, "u127", 127);
	check_uint(m, "u128", 128);
	check_uint(m, "u32", UINT32_MAX);
	check_uint(m, "umax", UINT64_MAX);
	/* Non-negative ints are encoded as positive integers. */
	check_uint(m, "ipos", 5);
	check_uint(m, "imax", (uint64_t)INT64_MAX);

	assert_int_equal(msg_get_int(m, "ineg1", &i), 0);
	assert_true(i == -1);
	assert_int_equal(msg_get_int(m, "ineg33", &i), 0);
	assert_true(i == -33);
	assert_int_equal(msg_get_int(m, "imin", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(msg_get_int(m, "ipos", &i), 0);
	assert_true(i == 5);
	assert_int_equal(msg_get_int(m, "imax", &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(msg_get_int(m, "u32", &i), 0);
	assert_true(i == UINT32_MAX);
	assert_int_equal(msg_get_int(m, "u0", &i), 0);
	assert_true(i == 0);

	b = -1;
	assert_int_equal(msg_get_bool(m, "yes", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(msg_get_bool(m, "no", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(msg_get_bool(m, "yes2", &b), 0);
	assert_int_equal(b, 1);

	assert_int_equal(msg_get_double(m, "pi", &d), 0);
	assert_true(d == 3.25);
	assert_int_equal(msg_get_double(m, "neg", &d), 0);
	assert_true(d == -0.5);
	assert_int_equal(msg_get_double(m, "tiny", &d), 0);
	assert_true(d == 1e-300);
	assert_int_equal(msg_get_double(m, "inf", &d), 0);
	assert_true(isinf(d) && d > 0);
	/* Integers read as doubles. */
	assert_int_equal(msg_get_double(m, "u128", &d), 0);
	assert_true(d == 128.0);
	assert_int_equal(msg_get_double(m, "ineg33", &d), 0);
	assert_true(d == -33.0);
	assert_int_equal(msg_get_double(m, "umax", &d), 0);
	assert_true(d == 18446744073709551616.0);

	assert_int_equal(msg_get_strv(m, "words", strs, lens, 3), 3);
	assert_int_equal(lens[0], 5);
	assert_memory_equal(strs[0], "alpha", 5);
	assert_int_equal(lens[1], 0);
	assert_int_equal(lens[2], 11);
	assert_memory_equal(strs[2], "gamma delta", 11);
	assert_int_equal(msg_get_strv(m, "none", strs, lens, 3), 0);
	assert_int_equal(msg_get_strv(m, "none", NULL, NULL, 0), 0);

	o = msg_get_object(m, "raw");
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o->via.array.size, 4);
	assert_int_equal(o->via.array.ptr[0].type,
	    MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(o->via.array.ptr[0].via.u64, 1);
	assert_int_equal(o->via.array.ptr[1].type, MSGPACK_OBJECT_STR);
	assert_int_equal(o->via.array.ptr[1].via.str.size, 1);
	assert_memory_equal(o->via.array.ptr[1].via.str.ptr, "x", 1);
	assert_int_equal(o->via.array.ptr[2].type, MSGPACK_OBJECT_NIL);
	assert_int_equal(o->via.array.ptr[3].type,
	    MSGPACK_OBJECT_NEGATIVE_INTEGER);
	assert_true(o->via.array.ptr[3].via.i64 == -2);

	/* Every getter reads the first field "type", a string. */
	assert_true(msg_has(m, "type"));
	assert_false(msg_has(m, "missing"));
	assert_false(msg_has(m, ""));
	assert_false(msg_has(m, "Str"));
	assert_false(msg_has(m, "st"));
	assert_int_equal(msg_get_uint(m, "umax", &u), 0);

	o = msg_get_object(m, "obj");
	if (!with_obj) {
		assert_null(o);
		return;
	}
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(o->via.map.size, 2);
	assert_int_equal(o->via.map.ptr[1].val.type, MSGPACK_OBJECT_STR);
	assert_memory_equal(o->via.map.ptr[1].val.via.str.ptr, "KILL", 4);
}

static void
test_all_field_types(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 hello = { 0 }, out = { 0 }, again = { 0 };
	struct msg		 h, m, m2;
	char			*cause = NULL;

	/* The "obj" field is copied from a decoded hello's config map. */
	msg_begin(mb, MSG_HELLO);
	msg_add_raw(mb, "config", hello_config, sizeof hello_config);
	build_into(mb, &hello);
	assert_int_equal(msg_decode(hello.data, hello.len, &h, &cause), 0);
	build_all_fields(mb, &out, msg_get_object(&h, "config"));
	/* The copy owns its bytes: the source may go away. */
	msg_release(&h);
	memset(hello.data, 0xee, hello.len);
	bytes_free(&hello);

	stream_one(out.data, out.len, &m);
	check_all_fields(&m, 1);
	assert_int_equal(msg_decode(out.data, out.len, &m2, &cause), 0);
	check_all_fields(&m2, 1);
	msg_release(&m2);

	/* Without the object; and msg_add_object of a whole decoded message. */
	build_all_fields(mb, &again, NULL);
	assert_int_equal(msg_decode(again.data, again.len, &m2, &cause), 0);
	check_all_fields(&m2, 0);
	msg_release(&m2);
	bytes_free(&again);

	msg_begin(mb, MSG_LOG);
	msg_add_object(mb, "copy", &m.unpacked.data);
	build_into(mb, &again);
	msg_release(&m);
	assert_int_equal(msg_decode(again.data, again.len, &m2, &cause), 0);
	assert_int_equal(m2.type, MSG_LOG);
	{
		const msgpack_object	*o = msg_get_object(&m2, "copy");
		struct msg		 inner;

		assert_non_null(o);
		assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
		/* Read the copied map through the accessors. */
		memset(&inner, 0, sizeof inner);
		inner.type = MSG_EVENT;
		inner.unpacked.data = *o;
		check_all_fields(&inner, 1);
	}
	msg_release(&m2);

	bytes_free(&again);
	bytes_free(&out);
	msg_builder_free(mb);
}

/* Each getter on a field of every other type: -1, out-parameter untouched. */
static void
test_type_mismatch(void **state)
{
	static const char *const keys[] = {
		"str", "uint", "neg", "bool", "dbl", "arr", "map", "nil", "bin",
		"missing",
	};
	/* Which getter accepts which field (0 accepted, -1 refused). */
	static const struct {
		const char	*key;
		int		 str, uint, int_, bool_, dbl, strv;
	} want[] = {
		{ "str",	 0, -1, -1, -1, -1, -1 },
		{ "uint",	-1,  0,  0, -1,  0, -1 },
		{ "neg",	-1, -1,  0, -1,  0, -1 },
		{ "bool",	-1, -1, -1,  0, -1, -1 },
		{ "dbl",	-1, -1, -1, -1,  0, -1 },
		{ "arr",	-1, -1, -1, -1, -1,  0 },
		{ "map",	-1, -1, -1, -1, -1, -1 },
		{ "nil",	-1, -1, -1, -1, -1, -1 },
		{ "bin",	-1, -1, -1, -1, -1, -1 },
		{ "missing",	-1, -1, -1, -1, -1, -1 },
	};
	static const char *const arr[] = { "a" };
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 out = { 0 };
	struct msg		 m;
	char			*cause = NULL, buf[16], *dup;
	const char		*s, *strs[2];
	size_t			 len, lens[2];
	uint64_t		 u;
	int64_t			 i;
	double			 d;
	int			 b;
	size_t			 k;

	msg_begin(mb, MSG_CHAT);
	msg_add_str(mb, "str", "text");
	msg_add_uint(mb, "uint", 9);
	msg_add_int(mb, "neg", -9);
	msg_add_bool(mb, "bool", 1);
	msg_add_double(mb, "dbl", 1.5);
	msg_add_strv(mb, "arr", arr, 1);
	msg_add_raw(mb, "map", "\x81\xa1k\xa1v", 5);
	msg_add_raw(mb, "nil", "\xc0", 1);
	msg_add_raw(mb, "bin", "\xc4\x02xy", 4);
	build_into(mb, &out);
	assert_int_equal(msg_decode(out.data, out.len, &m, &cause), 0);

	assert_int_equal(nitems(keys), nitems(want));
	for (k = 0; k < nitems(want); k++) {
		const char	*key = want[k].key;

		s = (const char *)&s;
		len = 12345;
		assert_int_equal(msg_get_str(&m, key, &s, &len), want[k].str);
		if (want[k].str == -1) {
			assert_ptr_equal(s, (const char *)&s);
			assert_int_equal(len, 12345);
		}
		u = 12345;
		assert_int_equal(msg_get_uint(&m, key, &u), want[k].uint);
		if (want[k].uint == -1)
			assert_int_equal(u, 12345);
		i = 12345;
		assert_int_equal(msg_get_int(&m, key, &i), want[k].int_);
		if (want[k].int_ == -1)
			assert_int_equal(i, 12345);
		b = 12345;
		assert_int_equal(msg_get_bool(&m, key, &b), want[k].bool_);
		if (want[k].bool_ == -1)
			assert_int_equal(b, 12345);
		d = 12345.0;
		assert_int_equal(msg_get_double(&m, key, &d), want[k].dbl);
		if (want[k].dbl == -1)
			assert_true(d == 12345.0);
		assert_int_equal(msg_get_strv(&m, key, strs, lens, 2),
		    want[k].strv == 0 ? 1 : -1);
		memset(buf, 'z', sizeof buf);
		assert_int_equal(msg_copy_str(&m, key, buf, sizeof buf),
		    want[k].str);
		if (want[k].str == -1)
			assert_int_equal(buf[0], 'z');
		dup = msg_dup_str(&m, key, 100);
		if (want[k].str == 0) {
			assert_string_equal(dup, "text");
			free(dup);
		} else
			assert_null(dup);
		assert_int_equal(msg_has(&m, key), strcmp(key, "missing") != 0);
		if (strcmp(key, "missing") == 0)
			assert_null(msg_get_object(&m, key));
		else
			assert_non_null(msg_get_object(&m, key));
	}
	/* The values the accepting getters give. */
	assert_int_equal(msg_get_int(&m, "uint", &i), 0);
	assert_true(i == 9);
	assert_int_equal(msg_get_double(&m, "neg", &d), 0);
	assert_true(d == -9.0);
	assert_int_equal(msg_get_object(&m, "bin")->type, MSGPACK_OBJECT_BIN);
	assert_int_equal(msg_get_object(&m, "nil")->type, MSGPACK_OBJECT_NIL);
	msg_release(&m);
	bytes_free(&out);

	/* A uint above INT64_MAX is not an int64. */
	msg_begin(mb, MSG_PING);
	msg_add_uint(mb, "big", (uint64_t)INT64_MAX + 1);
	msg_add_int(mb, "neg", -1);
	build_into(mb, &out);
	assert_int_equal(msg_decode(out.data, out.len, &m, &cause), 0);
	i = 12345;
	assert_int_equal(msg_get_int(&m, "big", &i), -1);
	assert_int_equal(i, 12345);
	assert_int_equal(msg_get_uint(&m, "big", &u), 0);
	assert_true(u == 9223372036854775808ULL);
	u = 12345;
	assert_int_equal(msg_get_uint(&m, "neg", &u), -1);
	assert_int_equal(u, 12345);
	msg_release(&m);
	bytes_free(&out);
	msg_builder_free(mb);
}

/* Hand-encoded float32 reads as a double; keys that are not strings are skipped. */
static void
test_foreign_encodings(void **state)
{
	struct bytes	 b = { 0 };
	struct msg	 m;
	char		*cause = NULL;
	double		 d;
	uint64_t	 u;
	const char	*s;
	size_t		 len;

	bytes_addc(&b, 0x85);
	bytes_addstr(&b, "type");
	bytes_addstr(&b, "pong");
	bytes_addstr(&b, "f32");
	/* 1.5f */
	bytes_add(&b, "\xca\x3f\xc0\x00\x00", 5);
	/* an integer key 1 → "x", invisible to the string-keyed getters */
	bytes_add(&b, "\x01\xa1x", 3);
	/* "seq" as a uint64 with the widest encoding */
	bytes_addstr(&b, "seq");
	bytes_add(&b, "\xcf\x00\x00\x00\x00\x00\x00\x00\x05", 9);
	/* a str8-encoded short string */
	bytes_addstr(&b, "s8");
	bytes_add(&b, "\xd9\x02ok", 4);
	assert_int_equal(msg_decode(b.data, b.len, &m, &cause), 0);
	assert_int_equal(m.type, MSG_PONG);
	assert_int_equal(msg_get_double(&m, "f32", &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(msg_get_uint(&m, "seq", &u), 0);
	assert_true(u == 5);
	assert_int_equal(msg_get_str(&m, "s8", &s, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(s, "ok", 2);
	assert_false(msg_has(&m, "x"));
	assert_false(msg_has(&m, "\x01"));
	msg_release(&m);

	/* "type" need not be the first key. */
	bytes_free(&b);
	bytes_addc(&b, 0x82);
	bytes_addstr(&b, "seq");
	bytes_addc(&b, 0x09);
	bytes_addstr(&b, "type");
	bytes_addstr(&b, "ping");
	assert_int_equal(msg_decode(b.data, b.len, &m, &cause), 0);
	assert_int_equal(m.type, MSG_PING);
	check_uint(&m, "seq", 9);
	msg_release(&m);

	/* Duplicate keys: the first one wins. */
	bytes_free(&b);
	bytes_addc(&b, 0x83);
	bytes_addstr(&b, "type");
	bytes_addstr(&b, "log");
	bytes_addstr(&b, "type");
	bytes_addstr(&b, "bogus");
	bytes_addstr(&b, "text");
	bytes_addstr(&b, "a");
	assert_int_equal(msg_decode(b.data, b.len, &m, &cause), 0);
	assert_int_equal(m.type, MSG_LOG);
	msg_release(&m);
	bytes_free(&b);
}

static void
test_copy_and_dup_str(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 out = { 0 };
	struct msg		 m;
	char			*cause = NULL, buf[8], *dup;

	msg_begin(mb, MSG_SAY);
	msg_add_str(mb, "seven", "1234567");
	msg_add_str(mb, "eight", "12345678");
	msg_add_str(mb, "empty", "");
	build_into(mb, &out);
	assert_int_equal(msg_decode(out.data, out.len, &m, &cause), 0);

	/* 7 bytes + NUL fit in 8. */
	memset(buf, 'z', sizeof buf);
	assert_int_equal(msg_copy_str(&m, "seven", buf, sizeof buf), 0);
	assert_string_equal(buf, "1234567");
	/* 8 bytes + NUL do not: -1, buffer untouched. */
	memset(buf, 'z', sizeof buf);
	assert_int_equal(msg_copy_str(&m, "eight", buf, sizeof buf), -1);
	assert_memory_equal(buf, "zzzzzzzz", 8);
	assert_int_equal(msg_copy_str(&m, "seven", buf, 7), -1);
	assert_int_equal(msg_copy_str(&m, "empty", buf, 1), 0);
	assert_string_equal(buf, "");
	assert_int_equal(msg_copy_str(&m, "empty", buf, 0), -1);
	assert_int_equal(msg_copy_str(&m, "missing", buf, sizeof buf), -1);

	dup = msg_dup_str(&m, "eight", 8);
	assert_string_equal(dup, "12345678");
	free(dup);
	assert_null(msg_dup_str(&m, "eight", 7));
	dup = msg_dup_str(&m, "empty", 0);
	assert_string_equal(dup, "");
	free(dup);
	assert_null(msg_dup_str(&m, "missing", 100));

	msg_release(&m);
	bytes_free(&out);
	msg_builder_free(mb);
}

static void
test_get_strv_limits(void **state)
{
	static const char *const four[] = { "a", "bb", "ccc", "dddd" };
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 out = { 0 };
	struct msg		 m;
	char			*cause = NULL;
	const char		*strs[5] = { NULL };
	size_t			 lens[5] = { 0 };

	msg_begin(mb, MSG_READY);
	msg_add_strv(mb, "four", four, 4);
	/* ["ok", 5] and ["ok", ["nested"]] and ["ok", nil] */
	msg_add_raw(mb, "mixed", "\x92\xa2ok\x05", 5);
	msg_add_raw(mb, "nested", "\x92\xa2ok\x91\xa6nested", 12);
	msg_add_raw(mb, "nil", "\x92\xa2ok\xc0", 5);
	msg_add_raw(mb, "bin", "\x91\xc4\x02ok", 5);
	msg_add_str(mb, "notarray", "a");
	msg_add_raw(mb, "map", "\x81\xa1k\xa1v", 5);
	build_into(mb, &out);
	assert_int_equal(msg_decode(out.data, out.len, &m, &cause), 0);

	assert_int_equal(msg_get_strv(&m, "four", strs, lens, 5), 4);
	assert_int_equal(msg_get_strv(&m, "four", strs, lens, 4), 4);
	assert_int_equal(lens[3], 4);
	assert_memory_equal(strs[3], "dddd", 4);
	/* Too many entries: -1, nothing written. */
	memset(strs, 0, sizeof strs);
	assert_int_equal(msg_get_strv(&m, "four", strs, lens, 3), -1);
	assert_null(strs[0]);
	assert_int_equal(msg_get_strv(&m, "four", NULL, NULL, 0), -1);
	/* Entries that are not strings. */
	assert_int_equal(msg_get_strv(&m, "mixed", strs, lens, 5), -1);
	assert_int_equal(msg_get_strv(&m, "nested", strs, lens, 5), -1);
	assert_int_equal(msg_get_strv(&m, "nil", strs, lens, 5), -1);
	assert_int_equal(msg_get_strv(&m, "bin", strs, lens, 5), -1);
	/* Not an array at all. */
	assert_int_equal(msg_get_strv(&m, "notarray", strs, lens, 5), -1);
	assert_int_equal(msg_get_strv(&m, "map", strs, lens, 5), -1);
	assert_int_equal(msg_get_strv(&m, "missing", strs, lens, 5), -1);

	msg_release(&m);
	bytes_free(&out);
	msg_builder_free(mb);
}

/* --- stream framing ----------------------------------------------------- */

static void
test_stream_many_in_one_feed(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct ipc_stream	*s = ipc_stream_new(IPC_MAX_MESSAGE);
	struct bytes		 all = { 0 };
	struct msg		 m;
	char			*cause = NULL;
	uint64_t		 i;

	for (i = 0; i < 2000; i++) {
		msg_begin(mb, i % 2 ? MSG_PONG : MSG_PING);
		msg_add_uint(mb, "seq", i * 1000);
		build_into(mb, &all);
	}
	assert_true(all.len <= 2 * IPC_MAX_MESSAGE);
	assert_int_equal(ipc_stream_feed(s, all.data, all.len, &cause), 0);
	for (i = 0; i < 2000; i++) {
		assert_int_equal(ipc_stream_next(s, &m, &cause), 1);
		assert_int_equal(m.type, i % 2 ? MSG_PONG : MSG_PING);
		check_uint(&m, "seq", i * 1000);
		msg_release(&m);
	}
	assert_int_equal(ipc_stream_next(s, &m, &cause), 0);
	assert_int_equal(ipc_stream_pending(s), 0);
	/* The stream goes on after being drained. */
	assert_int_equal(ipc_stream_feed(s, all.data, 16, &cause), 0);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 1);
	check_uint(&m, "seq", 0);
	msg_release(&m);
	assert_null(cause);
	ipc_stream_free(s);
	ipc_stream_free(NULL);
	bytes_free(&all);
	msg_builder_free(mb);
}

static void
test_stream_byte_by_byte(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct ipc_stream	*s = ipc_stream_new(IPC_MAX_MESSAGE);
	struct bytes		 all = { 0 };
	struct msg		 m;
	char			*cause = NULL;
	size_t			 i, first;
	int			 got = 0;

	build_protocol_messages(mb, &all);
	msg_begin(mb, MSG_EVENT);
	msg_add_uint(mb, "id", 1);
	build_into(mb, &all);
	first = 0;
	for (i = 0; i < all.len; i++) {
		int	r;

		assert_int_equal(ipc_stream_feed(s, all.data + i, 1, &cause), 0);
		/* Everything fed since the last message is pending. */
		assert_int_equal(ipc_stream_pending(s), i + 1 - first);
		while ((r = ipc_stream_next(s, &m, &cause)) == 1) {
			if (got < MSG_TYPE_COUNT)
				check_protocol_message(&m, got);
			else {
				assert_int_equal(m.type, MSG_EVENT);
				check_uint(&m, "id", 1);
			}
			msg_release(&m);
			got++;
			first = i + 1;
			assert_int_equal(ipc_stream_pending(s), 0);
		}
		assert_int_equal(r, 0);
		assert_null(cause);
	}
	assert_int_equal(got, MSG_TYPE_COUNT + 1);
	ipc_stream_free(s);
	bytes_free(&all);
	msg_builder_free(mb);
}

/* Feed [from, to) and take every complete message into ms. */
static void
feed_and_drain(struct ipc_stream *s, const struct bytes *all, size_t from,
    size_t to, struct msg *ms, int *n, int max)
{
	char	*cause = NULL;
	int	 r;

	assert_int_equal(ipc_stream_feed(s, all->data + from, to - from, &cause),
	    0);
	while ((r = ipc_stream_next(s, &ms[*n], &cause)) == 1) {
		assert_true(*n < max);
		(*n)++;
	}
	assert_int_equal(r, 0);
	assert_null(cause);
}

/* Three messages split into three feeds, at every pair of offsets. */
static void
test_stream_split_everywhere(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 all = { 0 };
	struct msg		 ms[4];
	size_t			 a, b, split1, split2;
	int			 n, k, runs = 0;

	msg_begin(mb, MSG_EVENT);
	msg_add_uint(mb, "id", 300);
	msg_add_str(mb, "text", "!echo one two");
	msg_add_strn(mb, "args", "one\0two", 7);
	split1 = build_into(mb, &all);
	msg_begin(mb, MSG_REPLY);
	msg_add_uint(mb, "id", 300);
	msg_add_str(mb, "text", "one two");
	split2 = split1 + build_into(mb, &all);
	msg_begin(mb, MSG_SHUTDOWN);
	build_into(mb, &all);

	for (a = 0; a <= all.len; a++) {
		for (b = a; b <= all.len; b++) {
			struct ipc_stream	*s = ipc_stream_new(IPC_MAX_MESSAGE);
			const char		*str;
			size_t			 len;

			n = 0;
			feed_and_drain(s, &all, 0, a, ms, &n, 3);
			assert_int_equal(n, (a >= split1) + (a >= split2) +
			    (a == all.len));
			feed_and_drain(s, &all, a, b, ms, &n, 3);
			feed_and_drain(s, &all, b, all.len, ms, &n, 3);
			assert_int_equal(n, 3);
			assert_int_equal(ipc_stream_pending(s), 0);
			ipc_stream_free(s);

			assert_int_equal(ms[0].type, MSG_EVENT);
			check_uint(&ms[0], "id", 300);
			check_str(&ms[0], "text", "!echo one two");
			assert_int_equal(msg_get_str(&ms[0], "args", &str,
			    &len), 0);
			assert_int_equal(len, 7);
			assert_memory_equal(str, "one\0two", 7);
			assert_int_equal(ms[1].type, MSG_REPLY);
			check_uint(&ms[1], "id", 300);
			check_str(&ms[1], "text", "one two");
			assert_int_equal(ms[2].type, MSG_SHUTDOWN);
			for (k = 0; k < n; k++)
				msg_release(&ms[k]);
			runs++;
		}
	}
	assert_int_equal(runs, (all.len + 1) * (all.len + 2) / 2);
	bytes_free(&all);
	msg_builder_free(mb);
}

/* A message taken early stays valid while the stream's buffer is regrown. */
static void
test_stream_message_lifetime(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct ipc_stream	*s = ipc_stream_new(IPC_MAX_MESSAGE);
	struct bytes		 one = { 0 }, big = { 0 };
	struct msg		 first, m;
	char			*cause = NULL, *text;
	int			 i;

	msg_begin(mb, MSG_CHAT);
	msg_add_str(mb, "text", "the first line");
	build_into(mb, &one);
	text = xmalloc(40000);
	memset(text, 'q', 40000);
	msg_begin(mb, MSG_CHAT);
	msg_add_strn(mb, "text", text, 40000);
	build_into(mb, &big);

	assert_int_equal(ipc_stream_feed(s, one.data, one.len, &cause), 0);
	assert_int_equal(ipc_stream_next(s, &first, &cause), 1);
	for (i = 0; i < 10; i++) {
		assert_int_equal(ipc_stream_feed(s, big.data, big.len, &cause),
		    0);
		assert_int_equal(ipc_stream_next(s, &m, &cause), 1);
		check_str(&first, "text", "the first line");
		msg_release(&m);
	}
	ipc_stream_free(s);
	check_str(&first, "text", "the first line");
	msg_release(&first);
	free(text);
	bytes_free(&one);
	bytes_free(&big);
	msg_builder_free(mb);
}

/*
 * Empty strings, however the bytes were fed: msgpack-c leaves the pointer of
 * an empty string NULL when it is the first thing one unpacker call parses,
 * and the accessors must still give a pointer that memcpy and printf accept.
 */
static void
test_stream_empty_strings(void **state)
{
	/* {"type": "log", "": "", "text": "", "v": ["", "a", ""]} */
	static const unsigned char bytes[] =
	    "\x84\xa4type\xa3log\xa0\xa0\xa4text\xa0\xa1v\x93\xa0\xa1" "a\xa0";
	size_t		 chunks[] = { 1, 2, 3, sizeof bytes - 1 };
	size_t		 c, off, n;

	for (c = 0; c < nitems(chunks); c++) {
		struct ipc_stream	*s = ipc_stream_new(IPC_MAX_MESSAGE);
		struct msg		 m;
		char			*cause = NULL, buf[4], *dup;
		const char		*str, *strs[3];
		size_t			 len, lens[3];
		int			 r = 0;

		for (off = 0; off < sizeof bytes - 1 && r == 0; off += n) {
			n = sizeof bytes - 1 - off < chunks[c] ?
			    sizeof bytes - 1 - off : chunks[c];
			assert_int_equal(ipc_stream_feed(s, bytes + off, n,
			    &cause), 0);
			r = ipc_stream_next(s, &m, &cause);
		}
		assert_int_equal(r, 1);
		assert_int_equal(off, sizeof bytes - 1);
		assert_int_equal(m.type, MSG_LOG);
		assert_true(msg_has(&m, ""));
		str = NULL;
		assert_int_equal(msg_get_str(&m, "", &str, &len), 0);
		assert_non_null(str);
		assert_int_equal(len, 0);
		str = NULL;
		assert_int_equal(msg_get_str(&m, "text", &str, &len), 0);
		assert_non_null(str);
		assert_int_equal(len, 0);
		memset(buf, 'z', sizeof buf);
		assert_int_equal(msg_copy_str(&m, "text", buf, sizeof buf), 0);
		assert_string_equal(buf, "");
		dup = msg_dup_str(&m, "text", 0);
		assert_string_equal(dup, "");
		free(dup);
		assert_int_equal(msg_get_strv(&m, "v", strs, lens, 3), 3);
		assert_non_null(strs[0]);
		assert_int_equal(lens[0], 0);
		assert_int_equal(lens[1], 1);
		assert_memory_equal(strs[1], "a", 1);
		assert_non_null(strs[2]);
		assert_int_equal(lens[2], 0);
		msg_release(&m);
		ipc_stream_free(s);
	}
}

/* --- bad input ---------------------------------------------------------- */

static void
test_stream_malformed(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct ipc_stream	*s;
	struct bytes		 b = { 0 };
	struct msg		 m;
	char			*cause = NULL;

	expect_stream_error(IPC_MAX_MESSAGE, "\xc1", 1, "malformed msgpack");
	expect_stream_error(IPC_MAX_MESSAGE, "\xc1\xc1\xc1", 3,
	    "malformed msgpack");
	/* 0xc1 inside a map, after a valid key. */
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4type\xc1", 7,
	    "malformed msgpack");

	/* A good message, then garbage: the message comes out first. */
	s = ipc_stream_new(IPC_MAX_MESSAGE);
	msg_begin(mb, MSG_PING);
	msg_add_uint(mb, "seq", 1);
	build_into(mb, &b);
	bytes_addc(&b, 0xc1);
	assert_int_equal(ipc_stream_feed(s, b.data, b.len, &cause), 0);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 1);
	msg_release(&m);
	assert_int_equal(ipc_stream_next(s, &m, &cause), -1);
	assert_string_equal(cause, "malformed msgpack");
	free(cause);
	ipc_stream_free(s);
	bytes_free(&b);
	msg_builder_free(mb);
}

static void
test_stream_not_a_message(void **state)
{
	struct bytes	b = { 0 };

	/* Roots that are not maps, with msgpack-c's object type number. */
	expect_stream_error(IPC_MAX_MESSAGE, "\x91\xa4ping", 6,
	    "message is not a map (msgpack type 6)");
	expect_stream_error(IPC_MAX_MESSAGE, "\x05", 1,
	    "message is not a map (msgpack type 2)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xff", 1,
	    "message is not a map (msgpack type 3)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xc0", 1,
	    "message is not a map (msgpack type 0)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xc3", 1,
	    "message is not a map (msgpack type 1)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xa4ping", 5,
	    "message is not a map (msgpack type 5)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xcb\x3f\xf0\0\0\0\0\0\0", 9,
	    "message is not a map (msgpack type 4)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xca\x3f\x80\0\0", 5,
	    "message is not a map (msgpack type 10)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xc4\x01x", 3,
	    "message is not a map (msgpack type 8)");
	expect_stream_error(IPC_MAX_MESSAGE, "\xd4\x01x", 3,
	    "message is not a map (msgpack type 9)");

	/* Maps without a string "type". */
	expect_stream_error(IPC_MAX_MESSAGE, "\x80", 1,
	    "message has no \"type\" string");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa3seq\x01", 6,
	    "message has no \"type\" string");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4type\x01", 7,
	    "message has no \"type\" string");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4type\xc4\x04ping", 12,
	    "message has no \"type\" string");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4type\x91\xa4ping", 12,
	    "message has no \"type\" string");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4TYPE\xa4ping", 11,
	    "message has no \"type\" string");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xc4\x04type\xa4ping", 12,
	    "message has no \"type\" string");

	/* Unknown types; the name is cut at 32 bytes in the cause. */
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4type\xa5" "bogus", 12,
	    "unknown message type \"bogus\"");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4type\xa0", 7,
	    "unknown message type \"\"");
	expect_stream_error(IPC_MAX_MESSAGE, "\x81\xa4type\xa4PING", 11,
	    "unknown message type \"PING\"");
	bytes_addc(&b, 0x81);
	bytes_addstr(&b, "type");
	bytes_addstr(&b, "abcdefghijklmnopqrstuvwxyz0123456");
	expect_stream_error(IPC_MAX_MESSAGE, b.data, b.len,
	    "unknown message type \"abcdefghijklmnopqrstuvwxyz012345\"");
	bytes_free(&b);

	/* The same causes from msg_decode. */
	expect_decode_error("\x91\xa4ping", 6,
	    "message is not a map (msgpack type 6)");
	expect_decode_error("\x81\xa3seq\x01", 6,
	    "message has no \"type\" string");
	expect_decode_error("\x81\xa4type\xa5" "bogus", 12,
	    "unknown message type \"bogus\"");
}

/* A ping padded to exactly len bytes with a "pad" string. */
static void
build_padded(struct msg_builder *mb, size_t len, struct bytes *out)
{
	char		*pad;
	const char	*data;
	size_t		 n, padlen = 0;

	pad = xmalloc(len);
	memset(pad, 'p', len);
	msg_begin(mb, MSG_PING);
	msg_add_uint(mb, "seq", 1);
	msg_add_strn(mb, "pad", pad, padlen);
	msg_end(mb, &data, &n);
	assert_true(n <= len);
	padlen = len - n;
	/* A longer string needs a longer header: shrink the pad to fit. */
	for (;;) {
		msg_begin(mb, MSG_PING);
		msg_add_uint(mb, "seq", 1);
		msg_add_strn(mb, "pad", pad, padlen);
		msg_end(mb, &data, &n);
		if (n <= len)
			break;
		padlen -= n - len;
	}
	assert_int_equal(n, len);
	bytes_add(out, data, n);
	free(pad);
}

/* A ping whose "x" is an array of n uint64s: 16 + 9n bytes. */
static void
build_uints(struct bytes *b, int n)
{
	int	i;

	bytes_addc(b, 0x82);
	bytes_addstr(b, "type");
	bytes_addstr(b, "ping");
	bytes_addstr(b, "x");
	bytes_addc(b, 0xdc);
	bytes_addc(b, 0);
	bytes_addc(b, (unsigned char)n);
	for (i = 0; i < n; i++)
		bytes_add(b, "\xcf\x01\x02\x03\x04\x05\x06\x07\x08", 9);
}

static void
test_stream_oversize_one_feed(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { 0 };
	struct msg		 m;
	char			*cause = NULL;

	/* Exactly the limit is fine; one byte more is not. */
	build_padded(mb, IPC_MAX_MESSAGE, &b);
	stream_one(b.data, b.len, &m);
	assert_int_equal(m.type, MSG_PING);
	msg_release(&m);
	assert_int_equal(msg_decode(b.data, b.len, &m, &cause), 0);
	msg_release(&m);
	bytes_free(&b);

	/*
	 * One byte more: the stream refuses it at the pad's header, which
	 * announces more bytes than the limit leaves; msg_decode at its size.
	 */
	build_padded(mb, IPC_MAX_MESSAGE + 1, &b);
	expect_stream_error(IPC_MAX_MESSAGE, b.data, b.len,
	    "message exceeds the 65536-byte limit: a str header announces "
	    "65514 bytes");
	expect_decode_error(b.data, b.len,
	    "message of 65537 bytes exceeds the 65536-byte limit");
	bytes_free(&b);

	/* A small limit, for a stream that wants one. */
	build_padded(mb, 100, &b);
	assert_int_equal(stream_error(100, b.data, b.len, &cause), 1);
	assert_null(cause);
	bytes_free(&b);
	build_padded(mb, 101, &b);
	expect_stream_error(100, b.data, b.len,
	    "message exceeds the 100-byte limit: a str header announces "
	    "79 bytes");
	bytes_free(&b);

	/* Over the limit and incomplete, in one feed: refused at the header. */
	build_padded(mb, 2 * IPC_MAX_MESSAGE, &b);
	expect_stream_error(IPC_MAX_MESSAGE, b.data, 25,
	    "message exceeds the 65536-byte limit: a str header announces "
	    "131047 bytes");
	expect_stream_error(IPC_MAX_MESSAGE, b.data, IPC_MAX_MESSAGE + 1,
	    "message exceeds the 65536-byte limit: a str header announces "
	    "131047 bytes");
	bytes_free(&b);

	/*
	 * Headers that tell no lie, fixed-size items that add up past the
	 * limit: refused once the bytes are there.
	 */
	build_uints(&b, 10);
	assert_int_equal(b.len, 106);
	expect_stream_error(100, b.data, b.len,
	    "message of 106 bytes exceeds the 100-byte limit");
	expect_stream_error(100, b.data, 101,
	    "message exceeds the 100-byte limit");
	bytes_free(&b);
	build_uints(&b, 9);
	assert_int_equal(stream_error(100, b.data, b.len, &cause), 1);
	bytes_free(&b);
	msg_builder_free(mb);
}

/* Feed len bytes in chunks; return the index of the failing chunk or -1. */
static int
feed_chunks_until_error(size_t limit, const struct bytes *b, size_t chunk,
    char **cause, int *nmsgs)
{
	struct ipc_stream	*s = ipc_stream_new(limit);
	struct msg		 m;
	size_t			 off, n;
	int			 i, r;

	*cause = NULL;
	*nmsgs = 0;
	for (i = 0, off = 0; off < b->len; i++, off += n) {
		n = b->len - off < chunk ? b->len - off : chunk;
		assert_int_equal(ipc_stream_feed(s, b->data + off, n, cause), 0);
		while ((r = ipc_stream_next(s, &m, cause)) == 1) {
			msg_release(&m);
			(*nmsgs)++;
		}
		if (r == -1) {
			ipc_stream_free(s);
			return i;
		}
	}
	ipc_stream_free(s);
	return -1;
}

static void
test_stream_oversize_growing(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { 0 };
	char			*cause;
	int			 n;

	/*
	 * A 128 KiB message, in 4096-byte feeds: its pad's str 32 header
	 * (bytes 20 to 24) is in the first one, and so is the refusal.
	 */
	build_padded(mb, 2 * IPC_MAX_MESSAGE, &b);
	assert_int_equal(feed_chunks_until_error(IPC_MAX_MESSAGE, &b, 4096,
	    &cause, &n), 0);
	assert_string_equal(cause, "message exceeds the 65536-byte limit: "
	    "a str header announces 131047 bytes");
	free(cause);
	assert_int_equal(n, 0);
	/* Byte by byte: at the header's last byte (index 24), not later. */
	assert_int_equal(feed_chunks_until_error(IPC_MAX_MESSAGE, &b, 1,
	    &cause, &n), 24);
	free(cause);
	bytes_free(&b);

	/* Byte by byte: refused at the str 8 header's length (index 21). */
	build_padded(mb, 150, &b);
	assert_int_equal(feed_chunks_until_error(100, &b, 1, &cause, &n), 21);
	assert_string_equal(cause, "message exceeds the 100-byte limit: "
	    "a str header announces 128 bytes");
	free(cause);
	bytes_free(&b);

	/* Fixed-size items: refused at byte 101 (index 100), never completed. */
	build_uints(&b, 20);
	assert_int_equal(feed_chunks_until_error(100, &b, 1, &cause, &n), 100);
	assert_string_equal(cause, "message exceeds the 100-byte limit");
	free(cause);
	bytes_free(&b);

	/* 106 bytes in 53-byte feeds: the last completes it, then refused. */
	build_uints(&b, 10);
	assert_int_equal(feed_chunks_until_error(100, &b, 53, &cause, &n), 1);
	assert_string_equal(cause,
	    "message of 106 bytes exceeds the 100-byte limit");
	free(cause);
	bytes_free(&b);

	/* Exactly 100 bytes, byte by byte, five times: all accepted. */
	build_padded(mb, 100, &b);
	bytes_add(&b, b.data, 100);
	bytes_add(&b, b.data, 200);
	bytes_add(&b, b.data, 100);
	assert_int_equal(b.len, 500);
	assert_int_equal(feed_chunks_until_error(100, &b, 1, &cause, &n), -1);
	assert_null(cause);
	assert_int_equal(n, 5);
	/* And in 7-byte and 150-byte feeds. */
	assert_int_equal(feed_chunks_until_error(100, &b, 7, &cause, &n), -1);
	assert_int_equal(n, 5);
	assert_int_equal(feed_chunks_until_error(100, &b, 150, &cause, &n), -1);
	assert_int_equal(n, 5);
	bytes_free(&b);

	/* A string header announcing 4 GiB: refused as it arrives (bytes 15-19). */
	bytes_addc(&b, 0x82);
	bytes_addstr(&b, "type");
	bytes_addstr(&b, "log");
	bytes_addstr(&b, "text");
	bytes_add(&b, "\xdb\xff\xff\xff\xff", 5);
	while (b.len < 300)
		bytes_addc(&b, 'x');
	assert_int_equal(feed_chunks_until_error(100, &b, 10, &cause, &n), 1);
	assert_string_equal(cause, "message exceeds the 100-byte limit: "
	    "a str header announces 4294967295 bytes");
	free(cause);
	bytes_free(&b);
	msg_builder_free(mb);
}

static void
test_stream_feed_limit(void **state)
{
	struct ipc_stream	*s;
	struct bytes		 b = { 0 }, nils = { 0 };
	struct msg		 m;
	char			*cause = NULL;
	int			 i;

	for (i = 0; i < 300; i++)
		bytes_addc(&nils, 0xc0);

	/* 2 × limit in one feed is accepted, one byte more is not. */
	s = ipc_stream_new(100);
	assert_int_equal(ipc_stream_feed(s, nils.data, 200, &cause), 0);
	assert_int_equal(ipc_stream_pending(s), 200);
	assert_int_equal(ipc_stream_feed(s, nils.data, 1, &cause), -1);
	assert_string_equal(cause,
	    "more than 200 bytes buffered without a complete message");
	free(cause);
	cause = NULL;
	ipc_stream_free(s);

	s = ipc_stream_new(100);
	assert_int_equal(ipc_stream_feed(s, nils.data, 201, &cause), -1);
	assert_string_equal(cause,
	    "more than 200 bytes buffered without a complete message");
	free(cause);
	cause = NULL;
	assert_int_equal(ipc_stream_pending(s), 0);
	ipc_stream_free(s);

	s = ipc_stream_new(IPC_MAX_MESSAGE);
	assert_int_equal(ipc_stream_feed(s, "\xc0", 1, &cause), 0);
	for (i = 0; i < 1024; i++)
		bytes_addc(&b, 0xc0);
	for (i = 0; i < 127; i++)
		assert_int_equal(ipc_stream_feed(s, b.data, b.len, &cause), 0);
	assert_int_equal(ipc_stream_pending(s), 127 * 1024 + 1);
	assert_int_equal(ipc_stream_feed(s, b.data, 1024, &cause), -1);
	assert_string_equal(cause,
	    "more than 131072 bytes buffered without a complete message");
	free(cause);
	cause = NULL;
	ipc_stream_free(s);
	bytes_free(&b);

	/*
	 * A partly parsed message counts: 100 bytes of a message are pending
	 * (at the limit, so not refused yet); 100 more may come, 101 may not.
	 */
	build_uints(&b, 32);
	s = ipc_stream_new(100);
	assert_int_equal(ipc_stream_feed(s, b.data, 100, &cause), 0);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 0);
	assert_int_equal(ipc_stream_pending(s), 100);
	assert_int_equal(ipc_stream_feed(s, b.data + 100, 101, &cause), -1);
	assert_string_equal(cause,
	    "more than 200 bytes buffered without a complete message");
	free(cause);
	cause = NULL;
	ipc_stream_free(s);
	s = ipc_stream_new(100);
	assert_int_equal(ipc_stream_feed(s, b.data, 100, &cause), 0);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 0);
	assert_int_equal(ipc_stream_feed(s, b.data + 100, 100, &cause), 0);
	assert_int_equal(ipc_stream_pending(s), 200);
	assert_int_equal(ipc_stream_next(s, &m, &cause), -1);
	assert_string_equal(cause, "message exceeds the 100-byte limit");
	free(cause);
	ipc_stream_free(s);
	bytes_free(&b);
	bytes_free(&nils);
}

/* A ping whose field "x" is nested depth containers deep (arrays or maps). */
static void
build_nested(struct bytes *b, int depth, int maps)
{
	int	i;

	bytes_addc(b, 0x82);
	bytes_addstr(b, "type");
	bytes_addstr(b, "ping");
	bytes_addstr(b, "x");
	for (i = 0; i < depth; i++) {
		if (maps) {
			bytes_addc(b, 0x81);
			bytes_addstr(b, "k");
		} else
			bytes_addc(b, 0x91);
	}
	bytes_addc(b, 0xc0);
}

static void
test_deep_nesting(void **state)
{
	struct bytes	 b = { 0 };
	struct msg	 m;
	char		*cause = NULL;
	int		 maps;

	for (maps = 0; maps <= 1; maps++) {
		/* The root map and 31 containers: 32 levels, the most allowed. */
		build_nested(&b, 31, maps);
		assert_int_equal(stream_error(IPC_MAX_MESSAGE, b.data, b.len,
		    &cause), 1);
		assert_null(cause);
		assert_int_equal(msg_decode(b.data, b.len, &m, &cause), 0);
		msg_release(&m);
		bytes_free(&b);

		/* 33 levels. */
		build_nested(&b, 32, maps);
		expect_stream_error(IPC_MAX_MESSAGE, b.data, b.len,
		    CAUSE_TOO_DEEP);
		expect_decode_error(b.data, b.len, CAUSE_TOO_DEEP);
		bytes_free(&b);

		/* Far deeper, still within the size limit. */
		build_nested(&b, 5000, maps);
		expect_stream_error(IPC_MAX_MESSAGE, b.data, b.len,
		    CAUSE_TOO_DEEP);
		expect_decode_error(b.data, b.len, CAUSE_TOO_DEEP);
		assert_int_equal(feed_chunks_until_error(IPC_MAX_MESSAGE, &b, 1,
		    &cause, &(int){ 0 }), 13 + 31 * (maps ? 3 : 1));
		assert_string_equal(cause, CAUSE_TOO_DEEP);
		free(cause);
		cause = NULL;
		bytes_free(&b);
	}
}

/* A ping with field "x" holding the bytes given (a container header). */
static void
build_with_x(struct bytes *b, const void *x, size_t len)
{
	bytes_addc(b, 0x82);
	bytes_addstr(b, "type");
	bytes_addstr(b, "ping");
	bytes_addstr(b, "x");
	bytes_add(b, x, len);
}

/*
 * Containers announcing more elements than the limit leaves room for are
 * refused at their header, before msgpack-c allocates for them.
 */
static void
test_stream_huge_containers(void **state)
{
	static const char *const heads[] = {
		"\xdd\xff\xff\xff\xff", "\xdf\xff\xff\xff\xff",
		"\xdc\xff\xff", "\xde\xff\xff", "\xdd\x00\x01\x00\x00",
		"\x91\xdd\x7f\xff\xff\xff",
	};
	static const size_t headlen[] = { 5, 5, 3, 3, 5, 6 };
	struct msg_builder	*mb = msg_builder_new();
	struct ipc_stream	*s;
	struct bytes		 b = { 0 };
	struct msg		 m;
	char			*cause = NULL;
	size_t			 i, k;
	int			 n;

	for (i = 0; i < nitems(heads); i++) {
		build_with_x(&b, heads[i], headlen[i]);
		expect_stream_error(IPC_MAX_MESSAGE, b.data, b.len,
		    "message exceeds the 65536-byte limit");
		assert_int_equal(feed_chunks_until_error(IPC_MAX_MESSAGE, &b,
		    1, &cause, &n), b.len - 1);
		assert_string_equal(cause, "message exceeds the 65536-byte limit");
		free(cause);
		/* msg_decode: it cannot end within the buffer. */
		expect_decode_error(b.data, b.len, "truncated msgpack message");
		bytes_free(&b);
	}
	msg_begin(mb, MSG_PING);
	build_into(mb, &b);
	bytes_add(&b, "\xdf\xff\xff\xff\xff", 5);
	expect_decode_error(b.data, b.len, "trailing bytes after message");
	bytes_free(&b);

	/* 13 bytes of head, 3 of array16 and 84 nils: 100 bytes, the limit. */
	build_with_x(&b, "\xdc\x00\x54", 3);
	for (k = 0; k < 84; k++)
		bytes_addc(&b, 0xc0);
	assert_int_equal(b.len, 100);
	assert_int_equal(stream_error(100, b.data, b.len, &cause), 1);
	bytes_free(&b);
	/* 85 nils cannot fit in 100 bytes: refused at the header. */
	build_with_x(&b, "\xdc\x00\x55", 3);
	assert_int_equal(feed_chunks_until_error(100, &b, 1, &cause, &n), 15);
	assert_string_equal(cause, "message exceeds the 100-byte limit");
	free(cause);
	bytes_free(&b);
	build_with_x(&b, "\x9f", 1);
	for (k = 0; k < 15; k++)
		bytes_addc(&b, 0xc0);
	assert_int_equal(stream_error(29, b.data, b.len, &cause), 1);
	expect_stream_error(28, b.data, b.len,
	    "message exceeds the 28-byte limit");
	bytes_free(&b);

	/* Messages before the refused header come out first, in order. */
	msg_begin(mb, MSG_PONG);
	msg_add_uint(mb, "seq", 5);
	build_into(mb, &b);
	build_into(mb, &b);
	build_with_x(&b, "\xdf\xff\xff\xff\xff", 5);
	build_into(mb, &b);
	s = ipc_stream_new(IPC_MAX_MESSAGE);
	assert_int_equal(ipc_stream_feed(s, b.data, b.len, &cause), 0);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 1);
	msg_release(&m);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 1);
	msg_release(&m);
	assert_int_equal(ipc_stream_next(s, &m, &cause), -1);
	assert_string_equal(cause, "message exceeds the 65536-byte limit");
	free(cause);
	ipc_stream_free(s);
	bytes_free(&b);
	msg_builder_free(mb);
}

/*
 * A str, bin or ext header announcing more bytes than the limit leaves is
 * refused as soon as the header is in, with nothing after it: a peer that
 * then says nothing is found out at once, not at the ping timeout.
 */
static void
test_stream_huge_strings(void **state)
{
	static const struct {
		const char	*head;
		size_t		 len;
		size_t		 limit;
		const char	*cause;
	} cases[] = {
		{ "\xdb\x7f\xff\xff\xff", 5, IPC_MAX_MESSAGE,
		  "message exceeds the 65536-byte limit: a str header "
		  "announces 2147483647 bytes" },
		{ "\xc6\xff\xff\xff\xff", 5, IPC_MAX_MESSAGE,
		  "message exceeds the 65536-byte limit: a bin header "
		  "announces 4294967295 bytes" },
		{ "\xc9\x00\x01\x00\x00", 5, IPC_MAX_MESSAGE,
		  "message exceeds the 65536-byte limit: an ext header "
		  "announces 65536 bytes" },
		{ "\xda\xff\xff", 3, IPC_MAX_MESSAGE,
		  "message exceeds the 65536-byte limit: a str header "
		  "announces 65535 bytes" },
		/* In a map of 1: 1 + 3 + 3 bytes so far, 93 left. */
		{ "\x81\xa2id\xda\x00\x5e", 7, 100,
		  "message exceeds the 100-byte limit: a str header "
		  "announces 94 bytes" },
		/* In a map of 2: two more items owed, 1 byte each: 91 left. */
		{ "\x82\xa2id\xda\x00\x5c", 7, 100,
		  "message exceeds the 100-byte limit: a str header "
		  "announces 92 bytes" },
		{ "\xbf", 1, 31,
		  "message exceeds the 31-byte limit: a str header "
		  "announces 31 bytes" },
	};
	struct ipc_stream	*s;
	struct msg		 m;
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		s = ipc_stream_new(cases[i].limit);
		assert_int_equal(ipc_stream_feed(s, cases[i].head, cases[i].len,
		    &cause), 0);
		assert_int_equal(ipc_stream_next(s, &m, &cause), -1);
		assert_non_null(cause);
		assert_string_equal(cause, cases[i].cause);
		free(cause);
		cause = NULL;
		ipc_stream_free(s);
	}

	/* One byte less fits: the stream waits for the rest. */
	s = ipc_stream_new(100);
	assert_int_equal(ipc_stream_feed(s, "\x81\xa2id\xda\x00\x5d", 7,
	    &cause), 0);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 0);
	ipc_stream_free(s);
	s = ipc_stream_new(32);
	assert_int_equal(ipc_stream_feed(s, "\xbf", 1, &cause), 0);
	assert_int_equal(ipc_stream_next(s, &m, &cause), 0);
	ipc_stream_free(s);
	assert_null(cause);
}

static void
test_decode_framing(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { 0 };
	struct msg		 m;
	char			*cause = NULL;
	size_t			 len;

	msg_begin(mb, MSG_EVENT);
	msg_add_uint(mb, "id", 5);
	msg_add_str(mb, "text", "!roll");
	len = build_into(mb, &b);

	assert_int_equal(msg_decode(b.data, len, &m, &cause), 0);
	assert_null(cause);
	assert_int_equal(m.type, MSG_EVENT);
	check_uint(&m, "id", 5);
	msg_release(&m);

	/* Every truncation. */
	for (size_t n = 0; n < len; n++)
		expect_decode_error(b.data, n, "truncated msgpack message");
	/* Trailing bytes: a nil, another copy, garbage. */
	bytes_addc(&b, 0xc0);
	expect_decode_error(b.data, len + 1, "trailing bytes after message");
	bytes_add(&b, b.data, len);
	expect_decode_error(b.data, 2 * len + 1, "trailing bytes after message");
	b.data[len] = 0xc1;
	expect_decode_error(b.data, len + 1, "trailing bytes after message");
	expect_decode_error("\xc1", 1, "malformed msgpack");
	expect_decode_error("\x82\xa4type\xa4ping\xc1", 12, "malformed msgpack");

	bytes_free(&b);
	msg_builder_free(mb);
}

/* --- typed readers (proto.c) ---------------------------------------------- */

/* What a reader fills, for any message type. */
union typed {
	struct ipc_hello	hello;
	struct ipc_ready	ready;
	struct ipc_chat		chat;
	struct ipc_event	event;
	struct ipc_reply	reply;
	struct ipc_say		say;
	struct ipc_ping		ping;
	struct ipc_pong		pong;
	struct ipc_log		log;
};

/* Call the reader of type t on m. */
static int
read_typed(enum msg_type t, const struct msg *m, union typed *u, char **cause)
{
	switch (t) {
	case MSG_HELLO:
		return ipc_read_hello(m, &u->hello, cause);
	case MSG_READY:
		return ipc_read_ready(m, &u->ready, cause);
	case MSG_CHAT:
		return ipc_read_chat(m, &u->chat, cause);
	case MSG_EVENT:
		return ipc_read_event(m, &u->event, cause);
	case MSG_REPLY:
		return ipc_read_reply(m, &u->reply, cause);
	case MSG_SAY:
		return ipc_read_say(m, &u->say, cause);
	case MSG_PING:
		return ipc_read_ping(m, &u->ping, cause);
	case MSG_PONG:
		return ipc_read_pong(m, &u->pong, cause);
	case MSG_LOG:
		return ipc_read_log(m, &u->log, cause);
	case MSG_SHUTDOWN:
		return ipc_read_shutdown(m, cause);
	case MSG_TYPE_COUNT:
		break;
	}
	fail();
	return -1;
}

/* One field of a good message, and what the reader demands of it. */
enum fkind { F_UINT, F_STR, F_BOOL, F_STRV, F_MAP };

struct fspec {
	const char	*key;
	enum fkind	 kind;
	const char	*s;		/* F_STR: the good value */
	uint64_t	 u;		/* F_UINT */
	int		 optional;
	size_t		 max;		/* F_STR: bound; 0 none */
	int		 nul_ok;	/* F_STR: a NUL byte is accepted */
};

static const struct fspec hello_fields[] = {
	{ "protocol", F_UINT, NULL, 1, 0, 0, 0 },
	{ "name", F_STR, "dice-roller", 0, 0, IPC_MAX_NAME, 0 },
	{ "role", F_STR, "plugin", 0, 0, 0, 0 },
	{ "config", F_MAP, NULL, 0, 1, 0, 0 },
};
static const struct fspec ready_fields[] = {
	{ "protocol", F_UINT, NULL, 1, 0, 0, 0 },
	{ "version", F_STR, "1.2.3", 0, 1, IPC_MAX_VERSION, 0 },
	{ "commands", F_STRV, NULL, 0, 1, 0, 0 },
	{ "chat", F_BOOL, NULL, 0, 1, 0, 0 },
};
static const struct fspec chat_fields[] = {
	{ "platform", F_STR, "irc", 0, 0, IPC_MAX_PLATFORM, 0 },
	{ "channel", F_STR, "#bots", 0, 0, IPC_MAX_CHANNEL, 0 },
	{ "user", F_STR, "alice!al@example.org", 0, 0, IPC_MAX_USER, 0 },
	{ "text", F_STR, "!roll 2d6", 0, 0, IPC_MAX_TEXT, 1 },
};
static const struct fspec event_fields[] = {
	{ "id", F_UINT, NULL, 42, 0, 0, 0 },
	{ "platform", F_STR, "irc", 0, 0, IPC_MAX_PLATFORM, 0 },
	{ "channel", F_STR, "#bots", 0, 0, IPC_MAX_CHANNEL, 0 },
	{ "user", F_STR, "alice!al@example.org", 0, 0, IPC_MAX_USER, 0 },
	{ "command", F_STR, "roll", 0, 0, IPC_MAX_COMMAND, 0 },
	{ "args", F_STR, "2d6", 0, 0, IPC_MAX_TEXT, 0 },
	{ "text", F_STR, "!roll 2d6", 0, 0, IPC_MAX_TEXT, 0 },
};
static const struct fspec reply_fields[] = {
	{ "id", F_UINT, NULL, 42, 0, 0, 0 },
	/* Over IPC_MAX_TEXT is read, and cut by the router. */
	{ "text", F_STR, "[3, 4] = 7", 0, 0, IPC_MAX_LONG_TEXT, 0 },
};
static const struct fspec say_fields[] = {
	{ "platform", F_STR, "console", 0, 0, IPC_MAX_PLATFORM, 0 },
	{ "channel", F_STR, "console", 0, 0, IPC_MAX_CHANNEL, 0 },
	{ "user", F_STR, "console", 0, 1, IPC_MAX_USER, 0 },
	{ "text", F_STR, "tick", 0, 0, IPC_MAX_LONG_TEXT, 0 },
};
static const struct fspec ping_fields[] = {
	{ "seq", F_UINT, NULL, 7, 0, 0, 0 },
};
static const struct fspec log_fields[] = {
	{ "level", F_STR, "warn", 0, 1, 0, 1 },
	{ "text", F_STR, "disk almost full", 0, 0, IPC_MAX_TEXT, 1 },
};

static const struct {
	enum msg_type		 type;
	const struct fspec	*fields;
	size_t			 n;
} typed_messages[] = {
	{ MSG_HELLO, hello_fields, nitems(hello_fields) },
	{ MSG_READY, ready_fields, nitems(ready_fields) },
	{ MSG_CHAT, chat_fields, nitems(chat_fields) },
	{ MSG_EVENT, event_fields, nitems(event_fields) },
	{ MSG_REPLY, reply_fields, nitems(reply_fields) },
	{ MSG_SAY, say_fields, nitems(say_fields) },
	{ MSG_PING, ping_fields, nitems(ping_fields) },
	{ MSG_PONG, ping_fields, nitems(ping_fields) },
	{ MSG_LOG, log_fields, nitems(log_fields) },
	{ MSG_SHUTDOWN, NULL, 0 },
};

/* What to put in place of one field. */
enum fbad {
	BAD_NONE,	/* the good value */
	BAD_OMIT,	/* leave it out */
	BAD_TYPE,	/* a value of another type */
	BAD_LONG,	/* a string one byte over its bound */
	BAD_EXACT,	/* a string exactly at its bound */
	BAD_NUL,	/* a string with a NUL byte inside */
};

/* Add one field of spec f, as good or spoilt by bad. */
static void
add_field(struct msg_builder *mb, const struct fspec *f, enum fbad bad)
{
	static const char *const cmds[] = { "roll", "flip" };
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	char			*s;

	if (bad == BAD_OMIT)
		return;
	if (bad == BAD_TYPE) {
		/* A string for numbers and booleans, a boolean for the rest. */
		if (f->kind == F_UINT || f->kind == F_BOOL)
			msg_add_str(mb, f->key, "7");
		else
			msg_add_bool(mb, f->key, 1);
		return;
	}
	if (bad == BAD_LONG || bad == BAD_EXACT) {
		s = xmalloc(f->max + 2);
		memset(s, 'x', f->max + 1);
		msg_add_strn(mb, f->key, s, bad == BAD_LONG ? f->max + 1 : f->max);
		free(s);
		return;
	}
	if (bad == BAD_NUL) {
		msg_add_strn(mb, f->key, "a\0b", 3);
		return;
	}
	switch (f->kind) {
	case F_UINT:
		msg_add_uint(mb, f->key, f->u);
		break;
	case F_STR:
		msg_add_str(mb, f->key, f->s);
		break;
	case F_BOOL:
		msg_add_bool(mb, f->key, 1);
		break;
	case F_STRV:
		msg_add_strv(mb, f->key, cmds, nitems(cmds));
		break;
	case F_MAP:
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 5);
		msgpack_pack_str_body(&pk, "sides", 5);
		msgpack_pack_uint64(&pk, 6);
		msg_add_raw(mb, f->key, sb.data, sb.size);
		msgpack_sbuffer_destroy(&sb);
		break;
	}
}

/*
 * Build a message of type t from its fields, field number which spoilt by
 * bad, and decode it into m (its strings point into out).
 */
static void
build_typed(enum msg_type t, const struct fspec *fields, size_t n,
    size_t which, enum fbad bad, struct bytes *out, struct msg *m)
{
	struct msg_builder	*mb = msg_builder_new();
	char			*cause = NULL;
	size_t			 i;

	msg_begin(mb, t);
	for (i = 0; i < n; i++)
		add_field(mb, &fields[i], i == which ? bad : BAD_NONE);
	bytes_free(out);
	build_into(mb, out);
	msg_builder_free(mb);
	assert_int_equal(msg_decode(out->data, out->len, m, &cause), 0);
	assert_null(cause);
}

/* Read a message of type t spoilt as said; expect want (NULL: success). */
static void
expect_typed(enum msg_type t, const struct fspec *fields, size_t n,
    size_t which, enum fbad bad, const char *want)
{
	struct bytes	 b = { NULL, 0 };
	struct msg	 m;
	union typed	 u;
	char		*cause = NULL;
	int		 r;

	build_typed(t, fields, n, which, bad, &b, &m);
	r = read_typed(t, &m, &u, &cause);
	if (want == NULL) {
		if (r != 0)
			fail_msg("%s field %s (%d): unexpected \"%s\"",
			    msg_type_name(t), fields[which].key, (int)bad,
			    cause);
	} else {
		assert_int_equal(r, -1);
		assert_non_null(cause);
		assert_string_equal(cause, want);
	}
	free(cause);
	msg_release(&m);
	bytes_free(&b);
}

/*
 * Every reader: the good message reads; each required field missing, each
 * field of the wrong type, each bounded string one byte over its bound (and
 * exactly at it), each string with a NUL byte give -1 and a cause naming
 * the message, the field and the bound.
 */
static void
test_read_fields(void **state)
{
	char	want[256];
	size_t	i, j, n;

	for (i = 0; i < nitems(typed_messages); i++) {
		enum msg_type		 t = typed_messages[i].type;
		const struct fspec	*fs = typed_messages[i].fields;
		const char		*name = msg_type_name(t);

		n = typed_messages[i].n;
		expect_typed(t, fs, n, SIZE_MAX, BAD_NONE, NULL);
		for (j = 0; j < n; j++) {
			const struct fspec	*f = &fs[j];

			/* Missing. */
			if (f->optional)
				expect_typed(t, fs, n, j, BAD_OMIT, NULL);
			else {
				if (f->kind == F_UINT)
					snprintf(want, sizeof want, "%s needs "
					    "an integer %s", name, f->key);
				else
					snprintf(want, sizeof want, "%s needs "
					    "a %s string", name, f->key);
				expect_typed(t, fs, n, j, BAD_OMIT, want);
			}

			/* Of the wrong type; the log level is only advice. */
			if (t == MSG_LOG && strcmp(f->key, "level") == 0) {
				expect_typed(t, fs, n, j, BAD_TYPE, NULL);
				continue;
			}
			switch (f->kind) {
			case F_UINT:
				snprintf(want, sizeof want, "%s needs an "
				    "integer %s, not a string", name, f->key);
				break;
			case F_STR:
				snprintf(want, sizeof want, "%s needs a %s "
				    "string, not a boolean", name, f->key);
				break;
			case F_BOOL:
				snprintf(want, sizeof want, "%s needs a %s "
				    "boolean, not a string", name, f->key);
				break;
			case F_STRV:
				snprintf(want, sizeof want, "%s needs a %s "
				    "array, not a boolean", name, f->key);
				break;
			case F_MAP:
				snprintf(want, sizeof want, "%s needs a %s "
				    "map, not a boolean", name, f->key);
				break;
			}
			expect_typed(t, fs, n, j, BAD_TYPE, want);
			if (f->kind != F_STR)
				continue;

			/* Over the bound, and at it. */
			if (f->max > 0) {
				snprintf(want, sizeof want, "%s %s of %zu bytes "
				    "is over the %zu-byte limit", name, f->key,
				    f->max + 1, f->max);
				expect_typed(t, fs, n, j, BAD_LONG, want);
				/* A command word of x's is valid. */
				expect_typed(t, fs, n, j, BAD_EXACT, NULL);
			}

			/* A NUL byte inside. */
			if (f->nul_ok)
				expect_typed(t, fs, n, j, BAD_NUL, NULL);
			else {
				snprintf(want, sizeof want, "%s %s contains a "
				    "NUL byte", name, f->key);
				expect_typed(t, fs, n, j, BAD_NUL, want);
			}
		}
	}
}

/* Read a ready with commands roll and flip and the given usage array. */
static int
read_ready_usage(const char *const *usage, size_t n, int as_ints,
    struct ipc_ready *r, char **cause)
{
	static const char *const cmds[] = { "roll", "flip" };
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 out = { NULL, 0 };
	struct msg		 m;
	int			 rc;

	msg_begin(mb, MSG_READY);
	msg_add_uint(mb, "protocol", PROTOCOL_VERSION);
	msg_add_strv(mb, "commands", cmds, 2);
	if (as_ints)
		msg_add_uint(mb, "usage", 7);
	else if (usage != NULL)
		msg_add_strv(mb, "usage", usage, n);
	build_into(mb, &out);
	msg_builder_free(mb);
	assert_int_equal(msg_decode(out.data, out.len, &m, cause), 0);
	rc = ipc_read_ready(&m, r, cause);
	msg_release(&m);
	bytes_free(&out);
	return rc;
}

/* ready.usage: one line per command, in order, "" for none. */
static void
test_read_ready_usage(void **state)
{
	static const char *const ok[] = { "[NdM] — roll dice", "" };
	static const char *const three[] = { "a", "b", "c" };
	struct ipc_ready	 r;
	char			*cause = NULL, long_usage[IPC_MAX_USAGE + 2];
	const char		*one_long[2];

	assert_int_equal(read_ready_usage(ok, 2, 0, &r, &cause), 0);
	assert_null(cause);
	assert_string_equal(r.usage[0], "[NdM] — roll dice");
	assert_string_equal(r.usage[1], "");
	/* Absent: every usage is "". */
	assert_int_equal(read_ready_usage(NULL, 0, 0, &r, &cause), 0);
	assert_string_equal(r.usage[0], "");
	assert_int_equal(read_ready_usage(three, 3, 0, &r, &cause), -1);
	assert_string_equal(cause, "ready usage has 3 entries for 2 commands: "
	    "one per command, \"\" for none");
	free(cause);
	cause = NULL;
	assert_int_equal(read_ready_usage(NULL, 0, 1, &r, &cause), -1);
	assert_string_equal(cause, "ready needs a usage array, not an "
	    "integer");
	free(cause);
	cause = NULL;
	memset(long_usage, 'x', IPC_MAX_USAGE + 1);
	long_usage[IPC_MAX_USAGE + 1] = '\0';
	one_long[0] = "";
	one_long[1] = long_usage;
	assert_int_equal(read_ready_usage(one_long, 2, 0, &r, &cause), -1);
	assert_string_equal(cause, "ready usage of \"flip\" is 201 bytes, over "
	    "the 200-byte limit");
	free(cause);
	cause = NULL;
	/* Exactly the limit is fine. */
	long_usage[IPC_MAX_USAGE] = '\0';
	assert_int_equal(read_ready_usage(one_long, 2, 0, &r, &cause), 0);
	assert_int_equal(strlen(r.usage[1]), IPC_MAX_USAGE);
}

/* The causes an operator reads, spelt out once without the table. */
static void
test_read_causes_exact(void **state)
{
	static const struct {
		enum msg_type		 type;
		const struct fspec	*fields;
		size_t			 n, which;
		enum fbad		 bad;
		const char		*want;
	} cases[] = {
		{ MSG_REPLY, reply_fields, 2, 0, BAD_TYPE,
		    "reply needs an integer id, not a string" },
		{ MSG_REPLY, reply_fields, 2, 0, BAD_OMIT,
		    "reply needs an integer id" },
		{ MSG_REPLY, reply_fields, 2, 1, BAD_LONG,
		    "reply text of 61441 bytes is over the 61440-byte limit" },
		{ MSG_REPLY, reply_fields, 2, 1, BAD_NUL,
		    "reply text contains a NUL byte" },
		{ MSG_CHAT, chat_fields, 4, 0, BAD_OMIT,
		    "chat needs a platform string" },
		{ MSG_CHAT, chat_fields, 4, 0, BAD_LONG,
		    "chat platform of 33 bytes is over the 32-byte limit" },
		{ MSG_CHAT, chat_fields, 4, 2, BAD_LONG,
		    "chat user of 257 bytes is over the 256-byte limit" },
		{ MSG_SAY, say_fields, 4, 1, BAD_TYPE,
		    "say needs a channel string, not a boolean" },
		{ MSG_READY, ready_fields, 4, 0, BAD_OMIT,
		    "ready needs an integer protocol" },
		{ MSG_READY, ready_fields, 4, 1, BAD_LONG,
		    "ready version of 65 bytes is over the 64-byte limit" },
		{ MSG_READY, ready_fields, 4, 2, BAD_TYPE,
		    "ready needs a commands array, not a boolean" },
		{ MSG_READY, ready_fields, 4, 3, BAD_TYPE,
		    "ready needs a chat boolean, not a string" },
		{ MSG_PONG, ping_fields, 1, 0, BAD_OMIT,
		    "pong needs an integer seq" },
		{ MSG_LOG, log_fields, 2, 1, BAD_LONG,
		    "log text of 2049 bytes is over the 2048-byte limit" },
		{ MSG_HELLO, hello_fields, 4, 1, BAD_LONG,
		    "hello name of 65 bytes is over the 64-byte limit" },
		{ MSG_EVENT, event_fields, 7, 4, BAD_LONG,
		    "event command of 33 bytes is over the 32-byte limit" },
	};
	size_t	i;

	for (i = 0; i < nitems(cases); i++)
		expect_typed(cases[i].type, cases[i].fields, cases[i].n,
		    cases[i].which, cases[i].bad, cases[i].want);
}

/* A reader given another type of message says so. */
static void
test_read_wrong_message(void **state)
{
	struct bytes	 b = { NULL, 0 };
	struct msg	 m;
	union typed	 u;
	char		*cause = NULL;
	size_t		 i, j;

	for (i = 0; i < nitems(typed_messages); i++) {
		build_typed(typed_messages[i].type, typed_messages[i].fields,
		    typed_messages[i].n, SIZE_MAX, BAD_NONE, &b, &m);
		for (j = 0; j < nitems(typed_messages); j++) {
			char	want[64];

			if (i == j)
				continue;
			snprintf(want, sizeof want, "not a %s message but %s",
			    msg_type_name(typed_messages[j].type),
			    msg_type_name(typed_messages[i].type));
			assert_int_equal(read_typed(typed_messages[j].type, &m,
			    &u, &cause), -1);
			assert_string_equal(cause, want);
			free(cause);
			cause = NULL;
		}
		msg_release(&m);
	}
	bytes_free(&b);
	/* Exact text once, without the table. */
	build_typed(MSG_PING, ping_fields, 1, SIZE_MAX, BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_pong(&m, &u.pong, &cause), -1);
	assert_string_equal(cause, "not a pong message but ping");
	free(cause);
	msg_release(&m);
	bytes_free(&b);
}

/* Decode a message built by mb (finished here) into m, strings in b. */
static void
decode_built(struct msg_builder *mb, struct bytes *b, struct msg *m)
{
	char	*cause = NULL;

	bytes_free(b);
	build_into(mb, b);
	assert_int_equal(msg_decode(b->data, b->len, m, &cause), 0);
}

/* The values a good message gives, field by field. */
static void
test_read_values(void **state)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { NULL, 0 };
	struct msg		 m;
	union typed		 u;
	char			*cause = NULL;

	build_typed(MSG_HELLO, hello_fields, nitems(hello_fields), SIZE_MAX,
	    BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_hello(&m, &u.hello, &cause), 0);
	assert_true(u.hello.protocol == 1);
	assert_string_equal(u.hello.name, "dice-roller");
	assert_int_equal(u.hello.role, IPC_ROLE_PLUGIN);
	assert_non_null(u.hello.config);
	assert_int_equal(u.hello.config->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(u.hello.config->via.map.size, 1);
	msg_release(&m);

	build_typed(MSG_READY, ready_fields, nitems(ready_fields), SIZE_MAX,
	    BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_ready(&m, &u.ready, &cause), 0);
	assert_true(u.ready.protocol == 1);
	assert_string_equal(u.ready.version, "1.2.3");
	assert_int_equal(u.ready.ncommands, 2);
	assert_string_equal(u.ready.commands[0], "roll");
	assert_string_equal(u.ready.commands[1], "flip");
	assert_int_equal(u.ready.chat, 1);
	msg_release(&m);

	/* Optional fields absent: "", none, no chat. */
	msg_begin(mb, MSG_READY);
	msg_add_uint(mb, "protocol", 99);
	decode_built(mb, &b, &m);
	assert_int_equal(ipc_read_ready(&m, &u.ready, &cause), 0);
	assert_true(u.ready.protocol == 99);	/* the caller compares */
	assert_string_equal(u.ready.version, "");
	assert_int_equal(u.ready.ncommands, 0);
	assert_int_equal(u.ready.chat, 0);
	msg_release(&m);

	/* The chat text may hold any bytes: the router makes it one line. */
	msg_begin(mb, MSG_CHAT);
	msg_add_str(mb, "platform", "console");
	msg_add_str(mb, "channel", "");
	msg_add_str(mb, "user", "console");
	msg_add_strn(mb, "text", "a\0b\n", 4);
	decode_built(mb, &b, &m);
	assert_int_equal(ipc_read_chat(&m, &u.chat, &cause), 0);
	assert_string_equal(u.chat.platform, "console");
	assert_string_equal(u.chat.channel, "");
	assert_string_equal(u.chat.user, "console");
	assert_int_equal(u.chat.text_len, 4);
	assert_memory_equal(u.chat.text, "a\0b\n", 4);
	msg_release(&m);

	build_typed(MSG_EVENT, event_fields, nitems(event_fields), SIZE_MAX,
	    BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_event(&m, &u.event, &cause), 0);
	assert_true(u.event.id == 42);
	assert_string_equal(u.event.platform, "irc");
	assert_string_equal(u.event.channel, "#bots");
	assert_string_equal(u.event.user, "alice!al@example.org");
	assert_string_equal(u.event.command, "roll");
	assert_int_equal(u.event.args_len, 3);
	assert_memory_equal(u.event.args, "2d6", 3);
	assert_int_equal(u.event.text_len, 9);
	assert_memory_equal(u.event.text, "!roll 2d6", 9);
	msg_release(&m);

	/* A plain chat line's event: command "" and args "". */
	msg_begin(mb, MSG_EVENT);
	msg_add_uint(mb, "id", 0);
	msg_add_str(mb, "platform", "console");
	msg_add_str(mb, "channel", "console");
	msg_add_str(mb, "user", "console");
	msg_add_str(mb, "command", "");
	msg_add_str(mb, "args", "");
	msg_add_str(mb, "text", "hello there");
	decode_built(mb, &b, &m);
	assert_int_equal(ipc_read_event(&m, &u.event, &cause), 0);
	assert_string_equal(u.event.command, "");
	assert_int_equal(u.event.args_len, 0);
	assert_non_null(u.event.args);
	msg_release(&m);

	build_typed(MSG_REPLY, reply_fields, nitems(reply_fields), SIZE_MAX,
	    BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_reply(&m, &u.reply, &cause), 0);
	assert_true(u.reply.id == 42);
	assert_int_equal(u.reply.text_len, 10);
	assert_memory_equal(u.reply.text, "[3, 4] = 7", 10);
	msg_release(&m);

	/* say: user optional, "" when absent. */
	build_typed(MSG_SAY, say_fields, nitems(say_fields), 2, BAD_OMIT, &b,
	    &m);
	assert_int_equal(ipc_read_say(&m, &u.say, &cause), 0);
	assert_string_equal(u.say.platform, "console");
	assert_string_equal(u.say.channel, "console");
	assert_string_equal(u.say.user, "");
	assert_int_equal(u.say.text_len, 4);
	msg_release(&m);

	build_typed(MSG_PING, ping_fields, 1, SIZE_MAX, BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_ping(&m, &u.ping, &cause), 0);
	assert_true(u.ping.seq == 7);
	msg_release(&m);
	build_typed(MSG_PONG, ping_fields, 1, SIZE_MAX, BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_pong(&m, &u.pong, &cause), 0);
	assert_true(u.pong.seq == 7);
	msg_release(&m);

	build_typed(MSG_SHUTDOWN, NULL, 0, SIZE_MAX, BAD_NONE, &b, &m);
	assert_int_equal(ipc_read_shutdown(&m, &cause), 0);
	msg_release(&m);

	assert_null(cause);
	bytes_free(&b);
	msg_builder_free(mb);
}

/* Build {type: t, key: integer v (negative allowed)} and read it. */
static void
expect_int_field(enum msg_type t, const char *key, int64_t v, const char *want)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { NULL, 0 };
	struct msg		 m;
	union typed		 u;
	char			*cause = NULL;

	msg_begin(mb, t);
	msg_add_int(mb, key, v);
	msg_add_str(mb, "text", "x");
	decode_built(mb, &b, &m);
	assert_int_equal(read_typed(t, &m, &u, &cause), -1);
	assert_string_equal(cause, want);
	free(cause);
	msg_release(&m);
	bytes_free(&b);
	msg_builder_free(mb);
}

/* Log levels: debug, info, warn; anything else, or none, is info. */
static void
test_read_log_levels(void **state)
{
	static const struct {
		const char		*level;
		enum ipc_log_level	 want;
	} cases[] = {
		{ "debug", IPC_LOG_DEBUG }, { "info", IPC_LOG_INFO },
		{ "warn", IPC_LOG_WARN }, { "WARN", IPC_LOG_INFO },
		{ "error", IPC_LOG_INFO }, { "", IPC_LOG_INFO },
		{ NULL, IPC_LOG_INFO },
	};
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { NULL, 0 };
	struct msg		 m;
	struct ipc_log		 l;
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		msg_begin(mb, MSG_LOG);
		if (cases[i].level != NULL)
			msg_add_str(mb, "level", cases[i].level);
		msg_add_str(mb, "text", "line");
		decode_built(mb, &b, &m);
		assert_int_equal(ipc_read_log(&m, &l, &cause), 0);
		assert_int_equal(l.level, cases[i].want);
		assert_int_equal(l.text_len, 4);
		msg_release(&m);
	}
	/* Integers: a negative one is named as such. */
	expect_int_field(MSG_REPLY, "id", -1,
	    "reply needs an integer id, not a negative one");
	expect_int_field(MSG_PONG, "seq", -5,
	    "pong needs an integer seq, not a negative one");
	bytes_free(&b);
	msg_builder_free(mb);
}

/* Build a ready with these commands (strings) and read it. */
static int
read_ready_commands(const char *const *cmds, size_t n, struct ipc_ready *r,
    char **cause)
{
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { NULL, 0 };
	struct msg		 m;
	int			 ret;

	msg_begin(mb, MSG_READY);
	msg_add_uint(mb, "protocol", PROTOCOL_VERSION);
	msg_add_strv(mb, "commands", cmds, n);
	decode_built(mb, &b, &m);
	ret = ipc_read_ready(&m, r, cause);
	msg_release(&m);
	bytes_free(&b);
	msg_builder_free(mb);
	return ret;
}

static void
expect_ready_commands(const char *const *cmds, size_t n, const char *want)
{
	struct ipc_ready	 r;
	char			*cause = NULL;

	if (want == NULL) {
		assert_int_equal(read_ready_commands(cmds, n, &r, &cause), 0);
		assert_int_equal(r.ncommands, n);
		return;
	}
	assert_int_equal(read_ready_commands(cmds, n, &r, &cause), -1);
	assert_string_equal(cause, want);
	free(cause);
}

/* ready's command words: count, length, characters, duplicates. */
static void
test_read_ready_commands(void **state)
{
	const char	*cmds[IPC_MAX_COMMANDS + 1];
	char		 names[IPC_MAX_COMMANDS + 1][8];
	const char	*one[1], *two[2];
	size_t		 i;

	for (i = 0; i < nitems(cmds); i++) {
		snprintf(names[i], sizeof names[i], "c%zu", i);
		cmds[i] = names[i];
	}
	expect_ready_commands(cmds, IPC_MAX_COMMANDS, NULL);
	expect_ready_commands(cmds, IPC_MAX_COMMANDS + 1,
	    "ready commands has 33 entries, over the 32-entry limit");
	expect_ready_commands(cmds, 0, NULL);

	one[0] = "roll-2_d6";
	expect_ready_commands(one, 1, NULL);
	one[0] = "abcdefghijklmnopqrstuvwxyz012345";	/* 32 */
	expect_ready_commands(one, 1, NULL);
	one[0] = "abcdefghijklmnopqrstuvwxyz0123456";	/* 33 */
	expect_ready_commands(one, 1, "ready: invalid command name "
	    "\"abcdefghijklmnopqrstuvwxyz0123456\" (1-32 of a-z 0-9 - _)");
	one[0] = "";
	expect_ready_commands(one, 1,
	    "ready: invalid command name \"\" (1-32 of a-z 0-9 - _)");
	one[0] = "Roll";
	expect_ready_commands(one, 1,
	    "ready: invalid command name \"Roll\" (1-32 of a-z 0-9 - _)");
	one[0] = "ro ll";
	expect_ready_commands(one, 1,
	    "ready: invalid command name \"ro ll\" (1-32 of a-z 0-9 - _)");
	one[0] = "w\xc3\xbcrfel";
	expect_ready_commands(one, 1, "ready: invalid command name "
	    "\"w\xc3\xbcrfel\" (1-32 of a-z 0-9 - _)");
	one[0] = "a\tb\x7f";
	expect_ready_commands(one, 1,
	    "ready: invalid command name \"a?b?\" (1-32 of a-z 0-9 - _)");
	/* A long bad name is quoted to 40 bytes. */
	one[0] = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
	expect_ready_commands(one, 1, "ready: invalid command name "
	    "\"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\" (1-32 of a-z 0-9 - _)");
	two[0] = "roll";
	two[1] = "roll";
	expect_ready_commands(two, 2, "ready: command \"roll\" listed twice");

	/* An entry that is not a string. */
	{
		struct msg_builder	*mb = msg_builder_new();
		struct bytes		 b = { NULL, 0 };
		struct msg		 m;
		struct ipc_ready	 r;
		char			*cause = NULL;

		msg_begin(mb, MSG_READY);
		msg_add_uint(mb, "protocol", 1);
		msg_add_raw(mb, "commands", "\x92\xa4roll\x05", 7);
		decode_built(mb, &b, &m);
		assert_int_equal(ipc_read_ready(&m, &r, &cause), -1);
		assert_string_equal(cause, "ready commands entry 1 is an "
		    "integer, not a string");
		free(cause);
		msg_release(&m);
		bytes_free(&b);
		msg_builder_free(mb);
	}

	assert_true(ipc_command_valid("roll", 4));
	assert_false(ipc_command_valid("roll", 0));
	assert_false(ipc_command_valid("ro.l", 4));
	assert_false(ipc_command_valid("ROLL", 4));
}

/* hello: role is plugin or connector; name not empty; config a map. */
static void
test_read_hello_fields(void **state)
{
	static const struct {
		const char	*role;
		const char	*name;
		const char	*config;	/* raw msgpack, or NULL */
		size_t		 config_len;
		const char	*want;		/* NULL: reads */
	} cases[] = {
		{ "connector", "console", NULL, 0, NULL },
		{ "plugin", "a", "\x80", 1, NULL },
		{ "Plugin", "a", NULL, 0,
		    "hello role \"Plugin\" is neither plugin nor connector" },
		{ "", "a", NULL, 0,
		    "hello role \"\" is neither plugin nor connector" },
		{ "plugin", "", NULL, 0, "hello name is empty" },
		{ "plugin", "a", "\xc0", 1, "hello needs a config map, not nil" },
		{ "plugin", "a", "\x91\x01", 2,
		    "hello needs a config map, not an array" },
	};
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { NULL, 0 };
	struct msg		 m;
	struct ipc_hello	 h;
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		msg_begin(mb, MSG_HELLO);
		msg_add_uint(mb, "protocol", 1);
		msg_add_str(mb, "name", cases[i].name);
		msg_add_str(mb, "role", cases[i].role);
		if (cases[i].config != NULL)
			msg_add_raw(mb, "config", cases[i].config,
			    cases[i].config_len);
		decode_built(mb, &b, &m);
		if (cases[i].want == NULL) {
			assert_int_equal(ipc_read_hello(&m, &h, &cause), 0);
			assert_string_equal(h.name, cases[i].name);
			assert_int_equal(h.role, strcmp(cases[i].role,
			    "connector") == 0 ? IPC_ROLE_CONNECTOR :
			    IPC_ROLE_PLUGIN);
			assert_true((h.config == NULL) ==
			    (cases[i].config == NULL));
		} else {
			assert_int_equal(ipc_read_hello(&m, &h, &cause), -1);
			assert_string_equal(cause, cases[i].want);
			free(cause);
			cause = NULL;
		}
		msg_release(&m);
	}
	bytes_free(&b);
	msg_builder_free(mb);
}

/* event: the command word is "" (plain chat) or a valid command name. */
static void
test_read_event_command(void **state)
{
	static const struct {
		const char	*command;
		const char	*want;
	} cases[] = {
		{ "", NULL },
		{ "8ball", NULL },
		{ "ROLL", "event: invalid command name \"ROLL\" (1-32 of a-z "
		    "0-9 - _)" },
		{ "r oll", "event: invalid command name \"r oll\" (1-32 of "
		    "a-z 0-9 - _)" },
	};
	struct msg_builder	*mb = msg_builder_new();
	struct bytes		 b = { NULL, 0 };
	struct msg		 m;
	struct ipc_event	 ev;
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		msg_begin(mb, MSG_EVENT);
		msg_add_uint(mb, "id", 1);
		msg_add_str(mb, "platform", "console");
		msg_add_str(mb, "channel", "console");
		msg_add_str(mb, "user", "console");
		msg_add_str(mb, "command", cases[i].command);
		msg_add_str(mb, "args", "");
		msg_add_str(mb, "text", "x");
		decode_built(mb, &b, &m);
		if (cases[i].want == NULL) {
			assert_int_equal(ipc_read_event(&m, &ev, &cause), 0);
			assert_string_equal(ev.command, cases[i].command);
		} else {
			assert_int_equal(ipc_read_event(&m, &ev, &cause), -1);
			assert_string_equal(cause, cases[i].want);
			free(cause);
			cause = NULL;
		}
		msg_release(&m);
	}
	bytes_free(&b);
	msg_builder_free(mb);
}

/* --- chat lines: ipc_parse_line ------------------------------------------- */

/* Parse line with prefix; expect kind, and for a command its word and args. */
static void
expect_line(const char *line, const char *prefix, enum ipc_line_kind kind,
    const char *command, const char *args)
{
	struct ipc_command_line	cl;

	assert_int_equal(ipc_parse_line(line, strlen(line), prefix, &cl), kind);
	if (kind != IPC_LINE_COMMAND)
		return;
	assert_string_equal(cl.command, command);
	assert_int_equal(cl.command_len, strlen(command));
	assert_int_equal(cl.args_len, strlen(args));
	assert_memory_equal(cl.args, args, cl.args_len);
	/* args is a span of the line itself. */
	assert_true(cl.args >= line && cl.args + cl.args_len <= line +
	    strlen(line));
}

static void
test_parse_line(void **state)
{
	char	line[64];

	/* Plain chat: no prefix, the prefix alone, another prefix. */
	expect_line("hello there", "!", IPC_LINE_CHAT, NULL, NULL);
	expect_line("", "!", IPC_LINE_CHAT, NULL, NULL);
	expect_line("!", "!", IPC_LINE_CHAT, NULL, NULL);
	expect_line("?roll", "!", IPC_LINE_CHAT, NULL, NULL);
	expect_line(" !roll", "!", IPC_LINE_CHAT, NULL, NULL);
	expect_line("!roll", "?", IPC_LINE_CHAT, NULL, NULL);

	/* Commands. */
	expect_line("!roll", "!", IPC_LINE_COMMAND, "roll", "");
	expect_line("!roll 2d6", "!", IPC_LINE_COMMAND, "roll", "2d6");
	expect_line("!roll   2d6  +  1   ", "!", IPC_LINE_COMMAND, "roll",
	    "2d6  +  1");
	expect_line("?pick tea, coffee", "?", IPC_LINE_COMMAND, "pick",
	    "tea, coffee");
	expect_line("bot: roll d20", "bot: ", IPC_LINE_COMMAND, "roll", "d20");
	expect_line("bot:", "bot:", IPC_LINE_CHAT, NULL, NULL);
	/* Upper case is lowered, in the word only. */
	expect_line("!FLIP", "!", IPC_LINE_COMMAND, "flip", "");
	expect_line("!RoLl 2D6", "!", IPC_LINE_COMMAND, "roll", "2D6");
	/* The prefix and spaces: an empty word (an unknown command). */
	expect_line("! ", "!", IPC_LINE_COMMAND, "", "");
	expect_line("!   roll 2d6", "!", IPC_LINE_COMMAND, "", "roll 2d6");
	/* Tabs and other control bytes separate like spaces. */
	expect_line("!roll\t2d6\t", "!", IPC_LINE_COMMAND, "roll", "2d6");
	expect_line("!roll\r\n", "!", IPC_LINE_COMMAND, "roll", "");
	/* Words of 32 bytes are commands; of 33 over-long. */
	expect_line("!abcdefghijklmnopqrstuvwxyz012345 x", "!",
	    IPC_LINE_COMMAND, "abcdefghijklmnopqrstuvwxyz012345", "x");
	expect_line("!abcdefghijklmnopqrstuvwxyz0123456 x", "!",
	    IPC_LINE_OVERLONG, NULL, NULL);
	expect_line("!abcdefghijklmnopqrstuvwxyz0123456", "!",
	    IPC_LINE_OVERLONG, NULL, NULL);
	/* UTF-8 stays as it is, in the word and in the args. */
	expect_line("!w\xc3\xbcrfel \xf0\x9f\x8e\xb2 2", "!", IPC_LINE_COMMAND,
	    "w\xc3\xbcrfel", "\xf0\x9f\x8e\xb2 2");
	expect_line("!\xc3\x9c", "!", IPC_LINE_COMMAND, "\xc3\x9c", "");
	/* A multibyte prefix. */
	expect_line("\xc2\xa7roll 1", "\xc2\xa7", IPC_LINE_COMMAND, "roll",
	    "1");
	/* A 16-byte UTF-8 word of 8 two-byte letters fits, 17 bytes do not. */
	expect_line("!\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4", "!", IPC_LINE_COMMAND, "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4", "");
	expect_line("!\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
	    "\xc3\xa4x", "!", IPC_LINE_OVERLONG, NULL, NULL);

	/* The length given counts, not a NUL: the span ends where it says. */
	{
		struct ipc_command_line	cl;

		memcpy(line, "!roll 2d6 trailing", 19);
		assert_int_equal(ipc_parse_line(line, 9, "!", &cl),
		    IPC_LINE_COMMAND);
		assert_string_equal(cl.command, "roll");
		assert_int_equal(cl.args_len, 3);
		assert_memory_equal(cl.args, "2d6", 3);
		assert_int_equal(ipc_parse_line(line, 1, "!", &cl),
		    IPC_LINE_CHAT);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_type_from_name_bad),
		cmocka_unit_test(test_builder_bytes),
		cmocka_unit_test(test_roundtrip_each_type),
		cmocka_unit_test(test_roundtrip_all_in_one_feed),
		cmocka_unit_test(test_all_field_types),
		cmocka_unit_test(test_type_mismatch),
		cmocka_unit_test(test_foreign_encodings),
		cmocka_unit_test(test_copy_and_dup_str),
		cmocka_unit_test(test_get_strv_limits),
		cmocka_unit_test(test_stream_many_in_one_feed),
		cmocka_unit_test(test_stream_byte_by_byte),
		cmocka_unit_test(test_stream_split_everywhere),
		cmocka_unit_test(test_stream_message_lifetime),
		cmocka_unit_test(test_stream_empty_strings),
		cmocka_unit_test(test_stream_malformed),
		cmocka_unit_test(test_stream_not_a_message),
		cmocka_unit_test(test_stream_oversize_one_feed),
		cmocka_unit_test(test_stream_oversize_growing),
		cmocka_unit_test(test_stream_feed_limit),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_stream_huge_containers),
		cmocka_unit_test(test_stream_huge_strings),
		cmocka_unit_test(test_decode_framing),
		cmocka_unit_test(test_read_fields),
		cmocka_unit_test(test_read_causes_exact),
		cmocka_unit_test(test_read_ready_usage),
		cmocka_unit_test(test_read_wrong_message),
		cmocka_unit_test(test_read_values),
		cmocka_unit_test(test_read_log_levels),
		cmocka_unit_test(test_read_ready_commands),
		cmocka_unit_test(test_read_hello_fields),
		cmocka_unit_test(test_read_event_command),
		cmocka_unit_test(test_parse_line),
	};

	log_init("test_ipc", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

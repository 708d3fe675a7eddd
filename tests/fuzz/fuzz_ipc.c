/*
 * fuzz_ipc.c: libFuzzer target for the plugin wire protocol (ipc/).
 *
 * The input is what a hostile plugin could write on its socket. It goes
 *  1. whole through msg_decode, and every accessor reads the result;
 *  2. through ipc_stream with a limit and chunk size chosen by its first two
 *     bytes, and again one byte per feed: both must give the same messages
 *     and the same end (broken or not), and no feed may be refused, since
 *     the stream is drained after each one and a chunk is never larger than
 *     the limit;
 *  3. whole through a stream with the protocol's limit, which must agree
 *     with msg_decode about a lone message.
 * Every accepted message goes through every typed reader (only the one of
 * its type may accept it, and what it accepts must keep the protocol's
 * bounds; chat and event texts also through ipc_parse_line), and is rebuilt
 * field by field with msg_add_object and must decode again to the same
 * values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"
#include "ipc/ipc.h"

#define FUZZ_MAX_MSGS	4096

/* Abort with a line saying which property broke. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_ipc: check failed: %s (line %d)\n", \
		    #cond, __LINE__);					\
		abort();						\
	}								\
} while (0)

/* Reads of message bytes land here so they are not optimised away. */
static volatile unsigned fuzz_sink;

static void
touch(const void *p, size_t len)
{
	const unsigned char	*s = p;
	unsigned		 sum = 0;
	size_t			 i;

	for (i = 0; i < len; i++)
		sum += s[i];
	fuzz_sink += sum;
}

/* memcmp that accepts the NULL pointer msgpack-c gives some empty strings. */
static int
bytes_equal(const void *a, const void *b, size_t len)
{
	return len == 0 || memcmp(a, b, len) == 0;
}

/*
 * Copy a string key into buf as a C string: 0, or -1 if it is not a string,
 * is too long or holds a NUL.
 */
static int
key_copy(const msgpack_object *k, char *buf, size_t size)
{
	if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= size)
		return -1;
	if (k->via.str.size > 0) {
		if (memchr(k->via.str.ptr, '\0', k->via.str.size) != NULL)
			return -1;
		memcpy(buf, k->via.str.ptr, k->via.str.size);
	}
	buf[k->via.str.size] = '\0';
	return 0;
}

/* Structural equality of two msgpack objects (NaN equals NaN). */
static int
obj_equal(const msgpack_object *a, const msgpack_object *b)
{
	uint32_t	i;

	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case MSGPACK_OBJECT_NIL:
		return 1;
	case MSGPACK_OBJECT_BOOLEAN:
		return a->via.boolean == b->via.boolean;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return a->via.u64 == b->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return a->via.i64 == b->via.i64;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return a->via.f64 == b->via.f64 ||
		    (isnan(a->via.f64) && isnan(b->via.f64));
	case MSGPACK_OBJECT_STR:
		return a->via.str.size == b->via.str.size &&
		    bytes_equal(a->via.str.ptr, b->via.str.ptr, a->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return a->via.bin.size == b->via.bin.size &&
		    bytes_equal(a->via.bin.ptr, b->via.bin.ptr, a->via.bin.size);
	case MSGPACK_OBJECT_EXT:
		return a->via.ext.type == b->via.ext.type &&
		    a->via.ext.size == b->via.ext.size &&
		    bytes_equal(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size);
	case MSGPACK_OBJECT_ARRAY:
		if (a->via.array.size != b->via.array.size)
			return 0;
		for (i = 0; i < a->via.array.size; i++)
			if (!obj_equal(&a->via.array.ptr[i], &b->via.array.ptr[i]))
				return 0;
		return 1;
	case MSGPACK_OBJECT_MAP:
		if (a->via.map.size != b->via.map.size)
			return 0;
		for (i = 0; i < a->via.map.size; i++) {
			if (!obj_equal(&a->via.map.ptr[i].key,
			    &b->via.map.ptr[i].key) ||
			    !obj_equal(&a->via.map.ptr[i].val,
			    &b->via.map.ptr[i].val))
				return 0;
		}
		return 1;
	}
	return 0;
}

/* Every accessor on one key; the results must agree with the object. */
static void
exercise_key(const struct msg *m, const char *key)
{
	const msgpack_object	*o = msg_get_object(m, key);
	const char		*s, *strs[32];
	size_t			 len, lens[32];
	char			 small[16], big[4096], *dup;
	uint64_t		 u;
	int64_t			 i;
	double			 d;
	int			 b, n;

	CHECK(msg_has(m, key) == (o != NULL));
	if (msg_get_str(m, key, &s, &len) == 0) {
		CHECK(o != NULL && o->type == MSGPACK_OBJECT_STR);
		touch(s, len);
		/* Copies refuse a string too long, or holding a NUL. */
		if (msg_copy_str(m, key, small, sizeof small) == 0) {
			CHECK(len < sizeof small && strlen(small) == len);
			CHECK(memcmp(small, s, len) == 0);
		} else
			CHECK(len >= sizeof small || memchr(s, '\0', len));
		if (msg_copy_str(m, key, big, sizeof big) == 0)
			CHECK(memcmp(big, s, len) == 0 && big[len] == '\0');
		else
			CHECK(len >= sizeof big || memchr(s, '\0', len));
		if ((dup = msg_dup_str(m, key, 64)) != NULL) {
			CHECK(len <= 64 && strlen(dup) == len &&
			    memcmp(dup, s, len) == 0);
			free(dup);
		} else
			CHECK(len > 64 || memchr(s, '\0', len));
	} else {
		CHECK(o == NULL || o->type != MSGPACK_OBJECT_STR);
		CHECK(msg_copy_str(m, key, big, sizeof big) == -1);
		CHECK(msg_dup_str(m, key, SIZE_MAX) == NULL);
	}
	if (msg_get_uint(m, key, &u) == 0)
		CHECK(o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && u == o->via.u64);
	if (msg_get_int(m, key, &i) == 0)
		CHECK(o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? i < 0 : i >= 0);
	if (msg_get_bool(m, key, &b) == 0)
		CHECK(o->type == MSGPACK_OBJECT_BOOLEAN && (b == 0 || b == 1));
	if (msg_get_double(m, key, &d) == 0)
		fuzz_sink += (unsigned)isnan(d);
	n = msg_get_strv(m, key, strs, lens, 32);
	if (n >= 0) {
		CHECK(o->type == MSGPACK_OBJECT_ARRAY &&
		    (uint32_t)n == o->via.array.size);
		while (n-- > 0)
			touch(strs[n], lens[n]);
	}
	n = msg_get_strv(m, key, strs, lens, 2);
	CHECK(n <= 2);
	n = msg_get_strv(m, key, NULL, NULL, 0);
	CHECK(n == -1 || n == 0);
}

/*
 * Rebuild the message from its fields with the builder, decode the result
 * and compare. Keys that are not strings, or hold a NUL, are left out (the
 * builder takes C strings); so is "type", which the builder writes itself.
 */
static void
rebuild(const struct msg *m)
{
	static struct msg_builder	*mb;
	const msgpack_object_map	*map = &m->unpacked.data.via.map;
	struct msg			 copy;
	char				 key[256], *cause = NULL;
	const char			*data;
	size_t				 len;
	uint32_t			 i;

	if (mb == NULL)
		mb = msg_builder_new();
	msg_begin(mb, m->type);
	for (i = 0; i < map->size; i++) {
		if (key_copy(&map->ptr[i].key, key, sizeof key) != 0)
			continue;
		if (strcmp(key, "type") == 0)
			continue;
		msg_add_object(mb, key, &map->ptr[i].val);
	}
	msg_end(mb, &data, &len);
	if (len > IPC_MAX_MESSAGE)
		return;
	if (msg_decode(data, len, &copy, &cause) != 0) {
		fprintf(stderr, "fuzz_ipc: rebuilt message refused: %s\n", cause);
		abort();
	}
	CHECK(copy.type == m->type);
	for (i = 0; i < copy.unpacked.data.via.map.size; i++) {
		const msgpack_object	*a, *b;

		CHECK(key_copy(&copy.unpacked.data.via.map.ptr[i].key, key,
		    sizeof key) == 0);
		if (strcmp(key, "type") == 0)
			continue;
		a = msg_get_object(m, key);
		b = msg_get_object(&copy, key);
		CHECK(a != NULL && b != NULL && obj_equal(a, b));
	}
	msg_release(&copy);
}

/* A NUL-terminated field within its bound. */
static void
check_cstr(const char *s, size_t max)
{
	CHECK(strnlen(s, max + 1) <= max);
	touch(s, strlen(s));
}

/* A text span within its bound, NUL-free unless nul_ok. */
static void
check_span(const char *s, size_t len, size_t max, int nul_ok)
{
	CHECK(s != NULL && len <= max);
	CHECK(nul_ok || memchr(s, '\0', len) == NULL);
	touch(s, len);
}

/* The line parser on a text: spans inside it, the word within its bound. */
static void
check_parse_line(const char *text, size_t len)
{
	static const char *const prefixes[] = { "!", "?", "bot: ", "" };
	struct ipc_command_line	 cl;
	size_t			 i, plen;

	for (i = 0; i < nitems(prefixes); i++) {
		plen = strlen(prefixes[i]);
		switch (ipc_parse_line(text, len, prefixes[i], &cl)) {
		case IPC_LINE_CHAT:
			CHECK(len <= plen || memcmp(text, prefixes[i], plen) != 0);
			break;
		case IPC_LINE_OVERLONG:
			CHECK(len > plen + IPC_MAX_COMMAND);
			break;
		case IPC_LINE_COMMAND:
			CHECK(cl.command_len <= IPC_MAX_COMMAND);
			CHECK(strlen(cl.command) == cl.command_len);
			CHECK(cl.args >= text + plen + cl.command_len &&
			    cl.args + cl.args_len <= text + len);
			CHECK(cl.args_len == 0 ||
			    ((unsigned char)cl.args[0] > 0x20 &&
			    (unsigned char)cl.args[cl.args_len - 1] > 0x20));
			break;
		}
	}
}

/*
 * Every typed reader on the message: only the one of its type may accept
 * it, and what it accepts keeps every bound the protocol states.
 */
static void
exercise_typed(const struct msg *m)
{
	struct ipc_hello	 hello;
	struct ipc_ready	 ready;
	struct ipc_chat		 chat;
	struct ipc_event	 event;
	struct ipc_reply	 reply;
	struct ipc_say		 say;
	struct ipc_ping		 ping;
	struct ipc_pong		 pong;
	struct ipc_log		 log;
	char			*cause = NULL;
	size_t			 i;
	int			 r[MSG_TYPE_COUNT];

	r[MSG_HELLO] = ipc_read_hello(m, &hello, &cause);
	if (r[MSG_HELLO] == 0) {
		check_cstr(hello.name, IPC_MAX_NAME);
		CHECK(hello.name[0] != '\0');
		CHECK(hello.role == IPC_ROLE_PLUGIN ||
		    hello.role == IPC_ROLE_CONNECTOR);
		CHECK(hello.config == NULL ||
		    hello.config->type == MSGPACK_OBJECT_MAP);
	} else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_READY] = ipc_read_ready(m, &ready, &cause);
	if (r[MSG_READY] == 0) {
		check_cstr(ready.version, IPC_MAX_VERSION);
		CHECK(ready.ncommands <= IPC_MAX_COMMANDS);
		for (i = 0; i < ready.ncommands; i++)
			CHECK(ipc_command_valid(ready.commands[i],
			    strlen(ready.commands[i])));
		CHECK(ready.chat == 0 || ready.chat == 1);
	} else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_CHAT] = ipc_read_chat(m, &chat, &cause);
	if (r[MSG_CHAT] == 0) {
		check_cstr(chat.platform, IPC_MAX_PLATFORM);
		check_cstr(chat.channel, IPC_MAX_CHANNEL);
		check_cstr(chat.user, IPC_MAX_USER);
		check_span(chat.text, chat.text_len, IPC_MAX_TEXT, 1);
		check_parse_line(chat.text, chat.text_len);
	} else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_EVENT] = ipc_read_event(m, &event, &cause);
	if (r[MSG_EVENT] == 0) {
		check_cstr(event.platform, IPC_MAX_PLATFORM);
		check_cstr(event.channel, IPC_MAX_CHANNEL);
		check_cstr(event.user, IPC_MAX_USER);
		CHECK(event.command[0] == '\0' ||
		    ipc_command_valid(event.command, strlen(event.command)));
		check_span(event.args, event.args_len, IPC_MAX_TEXT, 0);
		check_span(event.text, event.text_len, IPC_MAX_TEXT, 0);
		check_parse_line(event.text, event.text_len);
	} else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_REPLY] = ipc_read_reply(m, &reply, &cause);
	if (r[MSG_REPLY] == 0)
		check_span(reply.text, reply.text_len, IPC_MAX_TEXT, 0);
	else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_SAY] = ipc_read_say(m, &say, &cause);
	if (r[MSG_SAY] == 0) {
		check_cstr(say.platform, IPC_MAX_PLATFORM);
		check_cstr(say.channel, IPC_MAX_CHANNEL);
		check_cstr(say.user, IPC_MAX_USER);
		check_span(say.text, say.text_len, IPC_MAX_TEXT, 0);
	} else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_PING] = ipc_read_ping(m, &ping, &cause);
	if (r[MSG_PING] == 0)
		fuzz_sink += (unsigned)ping.seq;
	else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_PONG] = ipc_read_pong(m, &pong, &cause);
	if (r[MSG_PONG] == 0)
		fuzz_sink += (unsigned)pong.seq;
	else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_LOG] = ipc_read_log(m, &log, &cause);
	if (r[MSG_LOG] == 0) {
		CHECK(log.level == IPC_LOG_DEBUG || log.level == IPC_LOG_INFO ||
		    log.level == IPC_LOG_WARN);
		check_span(log.text, log.text_len, IPC_MAX_TEXT, 1);
	} else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	r[MSG_SHUTDOWN] = ipc_read_shutdown(m, &cause);
	if (r[MSG_SHUTDOWN] != 0) {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}
	/* No reader takes a message of another type; shutdown always reads. */
	for (i = 0; i < MSG_TYPE_COUNT; i++)
		CHECK(r[i] == -1 || i == (size_t)m->type);
	if (m->type == MSG_SHUTDOWN)
		CHECK(r[MSG_SHUTDOWN] == 0);
}

/* Everything a handler could do with a message it was given. */
static void
exercise(const struct msg *m)
{
	static const char *const keys[] = {
		"type", "protocol", "name", "role", "config", "version",
		"commands", "chat", "platform", "channel", "user", "text", "id",
		"command", "args", "seq", "level", "",
	};
	const msgpack_object_map	*map;
	char				 key[256];
	size_t				 i;
	const char			*name;

	CHECK(m->unpacked.data.type == MSGPACK_OBJECT_MAP);
	name = msg_type_name(m->type);
	CHECK(name != NULL);
	CHECK(msg_type_from_name(name, strlen(name)) == (int)m->type);
	for (i = 0; i < nitems(keys); i++)
		exercise_key(m, keys[i]);
	map = &m->unpacked.data.via.map;
	for (i = 0; i < map->size; i++) {
		/* Keys with a NUL are looked up by their first part. */
		const msgpack_object	*k = &map->ptr[i].key;

		if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof key)
			continue;
		if (k->via.str.size > 0)
			memcpy(key, k->via.str.ptr, k->via.str.size);
		key[k->via.str.size] = '\0';
		exercise_key(m, key);
	}
	exercise_typed(m);
	rebuild(m);
}

/* What a stream made of some bytes: the message types and how it ended. */
struct outcome {
	int		 n;
	enum msg_type	 types[FUZZ_MAX_MSGS];
	int		 broken;
	size_t		 pending;
};

/* Feed data in chunks of at most chunk bytes, draining after each feed. */
static void
run_stream(const uint8_t *data, size_t size, size_t limit, size_t chunk,
    struct outcome *out, int check)
{
	struct ipc_stream	*s = ipc_stream_new(limit);
	struct msg		 m;
	char			*cause = NULL;
	size_t			 off, n;
	int			 r = 0;

	out->n = 0;
	out->broken = 0;
	for (off = 0; off < size && !out->broken; off += n) {
		n = size - off < chunk ? size - off : chunk;
		/* Drained before, and chunk <= limit: never more than 2 x limit. */
		if (ipc_stream_feed(s, data + off, n, &cause) != 0) {
			fprintf(stderr, "fuzz_ipc: feed refused: %s\n", cause);
			abort();
		}
		while ((r = ipc_stream_next(s, &m, &cause)) == 1) {
			if (check)
				exercise(&m);
			if (out->n < FUZZ_MAX_MSGS)
				out->types[out->n] = m.type;
			out->n++;
			msg_release(&m);
		}
		if (r == -1) {
			CHECK(cause != NULL && *cause != '\0');
			free(cause);
			cause = NULL;
			out->broken = 1;
		} else {
			CHECK(r == 0 && cause == NULL);
			CHECK(ipc_stream_pending(s) <= limit);
		}
	}
	out->pending = out->broken ? 0 : ipc_stream_pending(s);
	ipc_stream_free(s);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_ipc", 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 limits[] = { IPC_MAX_MESSAGE, 4096, 256, 64 };
	static struct outcome	 chunked, bytewise, whole;
	struct msg		 m;
	char			*cause = NULL;
	size_t			 limit, chunk, maxchunk;
	int			 decoded, i;

	/* 1. The whole input as one message. */
	decoded = msg_decode(data, size, &m, &cause) == 0;
	if (decoded) {
		CHECK(cause == NULL);
		exercise(&m);
		msg_release(&m);
	} else {
		CHECK(cause != NULL && *cause != '\0');
		free(cause);
		cause = NULL;
	}

	/* 3. The whole input in one feed, with the protocol's limit. */
	if (size <= 2 * IPC_MAX_MESSAGE) {
		run_stream(data, size, IPC_MAX_MESSAGE, size > 0 ? size : 1,
		    &whole, 0);
		if (decoded)
			CHECK(whole.n == 1 && !whole.broken && whole.pending == 0);
		else if (size <= IPC_MAX_MESSAGE)
			CHECK(!(whole.n == 1 && !whole.broken &&
			    whole.pending == 0));
	}

	/* 2. Chunked and byte by byte, with a limit and chunk from 2 bytes. */
	if (size < 2)
		return 0;
	limit = limits[data[0] % nitems(limits)];
	maxchunk = limit < 256 ? limit : 256;
	chunk = 1 + data[1] % maxchunk;
	data += 2;
	size -= 2;
	run_stream(data, size, limit, chunk, &chunked, 1);
	run_stream(data, size, limit, 1, &bytewise, 0);
	CHECK(chunked.n == bytewise.n);
	CHECK(chunked.broken == bytewise.broken);
	CHECK(chunked.pending == bytewise.pending);
	for (i = 0; i < chunked.n && i < FUZZ_MAX_MSGS; i++)
		CHECK(chunked.types[i] == bytewise.types[i]);
	return 0;
}

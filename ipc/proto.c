/*
 * proto.c: the typed messages of the plugin protocol.
 *
 * One reader per message type checks every field once, here, for the daemon
 * and the SDK alike: presence, msgpack type, length bound and characters.
 * The causes name the message and the field the way an operator reads them
 * in the log: "chat needs a platform string, not an integer", "reply text of
 * 4096 bytes is over the 2048-byte limit", "say channel contains a NUL byte".
 */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "ipc/ipc.h"

/* Bytes of a peer's value quoted in a cause, at most. */
#define IPC_QUOTE_MAX	40

/* What a field may hold, besides its bound. */
enum ipc_str_flags {
	IPC_STR_OPTIONAL = 0x1,	/* absent is "", not an error */
	IPC_STR_NUL = 0x2,	/* NUL bytes allowed */
};

/* "an integer", "a string", ...: a msgpack object's type, for causes. */
static const char *
ipc_type_phrase(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return "nil";
	case MSGPACK_OBJECT_BOOLEAN:
		return "a boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return "an integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return "a float";
	case MSGPACK_OBJECT_STR:
		return "a string";
	case MSGPACK_OBJECT_BIN:
		return "binary data";
	case MSGPACK_OBJECT_ARRAY:
		return "an array";
	case MSGPACK_OBJECT_MAP:
		return "a map";
	case MSGPACK_OBJECT_EXT:
		return "an extension";
	}
	return "an unknown type";
}

/* Copy up to IPC_QUOTE_MAX bytes of a peer's value, control bytes as '?'. */
static void
ipc_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t	i;

	if (len > IPC_QUOTE_MAX)
		len = IPC_QUOTE_MAX;
	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	buf[len] = '\0';
}

/* The message is of the type its reader reads. */
static int
ipc_check_type(const struct msg *m, enum msg_type type, char **cause)
{
	if (m->type == type)
		return 0;
	xasprintf(cause, "not a %s message but %s", msg_type_name(type),
	    msg_type_name(m->type) != NULL ? msg_type_name(m->type) : "?");
	return -1;
}

/* A required unsigned integer field. */
static int
ipc_need_uint(const struct msg *m, const char *field, uint64_t *v,
    char **cause)
{
	const msgpack_object	*o = msg_get_object(m, field);
	const char		*name = msg_type_name(m->type);

	if (o == NULL) {
		xasprintf(cause, "%s needs an integer %s", name, field);
		return -1;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		xasprintf(cause, "%s needs an integer %s, not %s", name, field,
		    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ?
		    "a negative one" : ipc_type_phrase(o));
		return -1;
	}
	*v = o->via.u64;
	return 0;
}

/* A string field of at most max bytes: pointer and length into m. */
static int
ipc_need_str(const struct msg *m, const char *field, size_t max, int flags,
    const char **s, size_t *len, char **cause)
{
	const msgpack_object	*o = msg_get_object(m, field);
	const char		*name = msg_type_name(m->type);

	if (o == NULL && (flags & IPC_STR_OPTIONAL)) {
		*s = "";
		*len = 0;
		return 0;
	}
	if (o == NULL) {
		xasprintf(cause, "%s needs a %s string", name, field);
		return -1;
	}
	if (o->type != MSGPACK_OBJECT_STR) {
		xasprintf(cause, "%s needs a %s string, not %s", name, field,
		    ipc_type_phrase(o));
		return -1;
	}
	/* msgpack-c may leave ptr NULL for an empty string: see msg_get_str. */
	*s = o->via.str.size > 0 ? o->via.str.ptr : "";
	*len = o->via.str.size;
	if (*len > max) {
		xasprintf(cause, "%s %s of %zu bytes is over the %zu-byte limit",
		    name, field, *len, max);
		return -1;
	}
	if (!(flags & IPC_STR_NUL) && memchr(*s, '\0', *len) != NULL) {
		xasprintf(cause, "%s %s contains a NUL byte", name, field);
		return -1;
	}
	return 0;
}

/* A string field copied NUL-terminated into buf of size bytes. */
static int
ipc_copy_str(const struct msg *m, const char *field, char *buf, size_t size,
    int flags, char **cause)
{
	const char	*s;
	size_t		 len;

	if (ipc_need_str(m, field, size - 1, flags & ~IPC_STR_NUL, &s, &len,
	    cause) != 0)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

/* An optional boolean field: 0 if absent. */
static int
ipc_opt_bool(const struct msg *m, const char *field, int *v, char **cause)
{
	const msgpack_object	*o = msg_get_object(m, field);

	*v = 0;
	if (o == NULL)
		return 0;
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		xasprintf(cause, "%s needs a %s boolean, not %s",
		    msg_type_name(m->type), field, ipc_type_phrase(o));
		return -1;
	}
	*v = o->via.boolean;
	return 0;
}

int
ipc_command_valid(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > IPC_MAX_COMMAND)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	}
	return 1;
}

/* A command word, or (allow_empty) "": copied into buf. */
static int
ipc_copy_command(const struct msg *m, const char *s, size_t len,
    int allow_empty, char *buf, char **cause)
{
	char	quoted[IPC_QUOTE_MAX + 1];

	if (!ipc_command_valid(s, len) && !(allow_empty && len == 0)) {
		ipc_quote(quoted, sizeof quoted, s, len);
		xasprintf(cause, "%s: invalid command name \"%s\" (1-%d of "
		    "a-z 0-9 - _)", msg_type_name(m->type), quoted,
		    IPC_MAX_COMMAND);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

int
ipc_read_hello(const struct msg *m, struct ipc_hello *h, char **cause)
{
	const char	*role;
	size_t		 len;
	char		 quoted[IPC_QUOTE_MAX + 1];

	memset(h, 0, sizeof *h);
	if (ipc_check_type(m, MSG_HELLO, cause) != 0 ||
	    ipc_need_uint(m, "protocol", &h->protocol, cause) != 0 ||
	    ipc_copy_str(m, "name", h->name, sizeof h->name, 0, cause) != 0 ||
	    ipc_need_str(m, "role", IPC_MAX_NAME, 0, &role, &len, cause) != 0)
		return -1;
	if (h->name[0] == '\0') {
		xasprintf(cause, "hello name is empty");
		return -1;
	}
	if (len == 6 && memcmp(role, "plugin", 6) == 0)
		h->role = IPC_ROLE_PLUGIN;
	else if (len == 9 && memcmp(role, "connector", 9) == 0)
		h->role = IPC_ROLE_CONNECTOR;
	else {
		ipc_quote(quoted, sizeof quoted, role, len);
		xasprintf(cause, "hello role \"%s\" is neither plugin nor "
		    "connector", quoted);
		return -1;
	}
	h->config = msg_get_object(m, "config");
	if (h->config != NULL && h->config->type != MSGPACK_OBJECT_MAP) {
		xasprintf(cause, "hello needs a config map, not %s",
		    ipc_type_phrase(h->config));
		return -1;
	}
	return 0;
}

int
ipc_read_ready(const struct msg *m, struct ipc_ready *r, char **cause)
{
	const msgpack_object	*o;
	const msgpack_object	*e;
	uint32_t		 i, j;

	memset(r, 0, sizeof *r);
	if (ipc_check_type(m, MSG_READY, cause) != 0 ||
	    ipc_need_uint(m, "protocol", &r->protocol, cause) != 0 ||
	    ipc_copy_str(m, "version", r->version, sizeof r->version,
	    IPC_STR_OPTIONAL, cause) != 0)
		return -1;
	if ((o = msg_get_object(m, "commands")) != NULL) {
		if (o->type != MSGPACK_OBJECT_ARRAY) {
			xasprintf(cause, "ready needs a commands array, not %s",
			    ipc_type_phrase(o));
			return -1;
		}
		if (o->via.array.size > IPC_MAX_COMMANDS) {
			xasprintf(cause, "ready commands has %u entries, over "
			    "the %d-entry limit", (unsigned)o->via.array.size,
			    IPC_MAX_COMMANDS);
			return -1;
		}
		for (i = 0; i < o->via.array.size; i++) {
			e = &o->via.array.ptr[i];
			if (e->type != MSGPACK_OBJECT_STR) {
				xasprintf(cause, "ready commands entry %u is "
				    "%s, not a string", (unsigned)i,
				    ipc_type_phrase(e));
				return -1;
			}
			if (ipc_copy_command(m, e->via.str.ptr, e->via.str.size,
			    0, r->commands[i], cause) != 0)
				return -1;
			for (j = 0; j < i; j++) {
				if (strcmp(r->commands[i], r->commands[j]) == 0) {
					xasprintf(cause, "ready: command \"%s\" "
					    "listed twice", r->commands[i]);
					return -1;
				}
			}
		}
		r->ncommands = o->via.array.size;
	}
	/* usage: one line per command, in the order of commands. */
	if ((o = msg_get_object(m, "usage")) != NULL) {
		if (o->type != MSGPACK_OBJECT_ARRAY) {
			xasprintf(cause, "ready needs a usage array, not %s",
			    ipc_type_phrase(o));
			return -1;
		}
		if (o->via.array.size != r->ncommands) {
			xasprintf(cause, "ready usage has %u entries for %zu "
			    "commands: one per command, \"\" for none",
			    (unsigned)o->via.array.size, r->ncommands);
			return -1;
		}
		for (i = 0; i < o->via.array.size; i++) {
			e = &o->via.array.ptr[i];
			if (e->type != MSGPACK_OBJECT_STR) {
				xasprintf(cause, "ready usage entry %u is %s, "
				    "not a string", (unsigned)i,
				    ipc_type_phrase(e));
				return -1;
			}
			if (e->via.str.size > IPC_MAX_USAGE) {
				xasprintf(cause, "ready usage of \"%s\" is %u "
				    "bytes, over the %d-byte limit",
				    r->commands[i], (unsigned)e->via.str.size,
				    IPC_MAX_USAGE);
				return -1;
			}
			if (e->via.str.size > 0) {
				if (memchr(e->via.str.ptr, '\0',
				    e->via.str.size) != NULL) {
					xasprintf(cause, "ready usage of \"%s\" "
					    "contains a NUL byte",
					    r->commands[i]);
					return -1;
				}
				memcpy(r->usage[i], e->via.str.ptr,
				    e->via.str.size);
			}
			r->usage[i][e->via.str.size] = '\0';
		}
	}
	return ipc_opt_bool(m, "chat", &r->chat, cause);
}

int
ipc_read_chat(const struct msg *m, struct ipc_chat *c, char **cause)
{
	memset(c, 0, sizeof *c);
	if (ipc_check_type(m, MSG_CHAT, cause) != 0 ||
	    ipc_copy_str(m, "platform", c->platform, sizeof c->platform, 0,
	    cause) != 0 ||
	    ipc_copy_str(m, "channel", c->channel, sizeof c->channel, 0,
	    cause) != 0 ||
	    ipc_copy_str(m, "user", c->user, sizeof c->user, 0, cause) != 0 ||
	    ipc_need_str(m, "text", IPC_MAX_TEXT, IPC_STR_NUL, &c->text,
	    &c->text_len, cause) != 0)
		return -1;
	return 0;
}

int
ipc_read_event(const struct msg *m, struct ipc_event *ev, char **cause)
{
	const char	*command;
	size_t		 len;

	memset(ev, 0, sizeof *ev);
	if (ipc_check_type(m, MSG_EVENT, cause) != 0 ||
	    ipc_need_uint(m, "id", &ev->id, cause) != 0 ||
	    ipc_copy_str(m, "platform", ev->platform, sizeof ev->platform, 0,
	    cause) != 0 ||
	    ipc_copy_str(m, "channel", ev->channel, sizeof ev->channel, 0,
	    cause) != 0 ||
	    ipc_copy_str(m, "user", ev->user, sizeof ev->user, 0, cause) != 0 ||
	    ipc_need_str(m, "command", IPC_MAX_COMMAND, 0, &command, &len,
	    cause) != 0 ||
	    ipc_copy_command(m, command, len, 1, ev->command, cause) != 0 ||
	    ipc_need_str(m, "args", IPC_MAX_TEXT, 0, &ev->args, &ev->args_len,
	    cause) != 0 ||
	    ipc_need_str(m, "text", IPC_MAX_TEXT, 0, &ev->text, &ev->text_len,
	    cause) != 0)
		return -1;
	return 0;
}

int
ipc_read_reply(const struct msg *m, struct ipc_reply *r, char **cause)
{
	memset(r, 0, sizeof *r);
	/* Longer than a chat line is the daemon's to cut, not to drop. */
	if (ipc_check_type(m, MSG_REPLY, cause) != 0 ||
	    ipc_need_uint(m, "id", &r->id, cause) != 0 ||
	    ipc_need_str(m, "text", IPC_MAX_LONG_TEXT, 0, &r->text, &r->text_len,
	    cause) != 0)
		return -1;
	return 0;
}

int
ipc_read_say(const struct msg *m, struct ipc_say *s, char **cause)
{
	memset(s, 0, sizeof *s);
	if (ipc_check_type(m, MSG_SAY, cause) != 0 ||
	    ipc_copy_str(m, "platform", s->platform, sizeof s->platform, 0,
	    cause) != 0 ||
	    ipc_copy_str(m, "channel", s->channel, sizeof s->channel, 0,
	    cause) != 0 ||
	    ipc_copy_str(m, "user", s->user, sizeof s->user, IPC_STR_OPTIONAL,
	    cause) != 0 ||
	    ipc_need_str(m, "text", IPC_MAX_LONG_TEXT, 0, &s->text, &s->text_len,
	    cause) != 0)
		return -1;
	return 0;
}

int
ipc_read_ping(const struct msg *m, struct ipc_ping *p, char **cause)
{
	memset(p, 0, sizeof *p);
	if (ipc_check_type(m, MSG_PING, cause) != 0 ||
	    ipc_need_uint(m, "seq", &p->seq, cause) != 0)
		return -1;
	return 0;
}

int
ipc_read_pong(const struct msg *m, struct ipc_pong *p, char **cause)
{
	memset(p, 0, sizeof *p);
	if (ipc_check_type(m, MSG_PONG, cause) != 0 ||
	    ipc_need_uint(m, "seq", &p->seq, cause) != 0)
		return -1;
	return 0;
}

/*
 * A log line. Its level is advice: absent, not a string or none of debug,
 * info and warn, the line is still worth keeping, at info.
 */
int
ipc_read_log(const struct msg *m, struct ipc_log *l, char **cause)
{
	const char	*level;
	size_t		 len;

	memset(l, 0, sizeof *l);
	if (ipc_check_type(m, MSG_LOG, cause) != 0 ||
	    ipc_need_str(m, "text", IPC_MAX_TEXT, IPC_STR_NUL, &l->text,
	    &l->text_len, cause) != 0)
		return -1;
	l->level = IPC_LOG_INFO;
	if (msg_get_str(m, "level", &level, &len) == 0) {
		if (len == 4 && memcmp(level, "warn", 4) == 0)
			l->level = IPC_LOG_WARN;
		else if (len == 5 && memcmp(level, "debug", 5) == 0)
			l->level = IPC_LOG_DEBUG;
	}
	return 0;
}

int
ipc_read_shutdown(const struct msg *m, char **cause)
{
	return ipc_check_type(m, MSG_SHUTDOWN, cause);
}

/* A byte that separates words: a space, or a control byte (tab, CR, ...). */
static int
ipc_line_space(char c)
{
	return (unsigned char)c <= 0x20;
}

enum ipc_line_kind
ipc_parse_line(const char *line, size_t len, const char *prefix,
    struct ipc_command_line *cl)
{
	size_t	plen = strlen(prefix), i, wlen, end;
	char	c;

	memset(cl, 0, sizeof *cl);
	cl->args = "";
	/* The prefix alone is plain chat, as is anything not starting with it. */
	if (len <= plen || memcmp(line, prefix, plen) != 0)
		return IPC_LINE_CHAT;
	for (wlen = 0; plen + wlen < len && !ipc_line_space(line[plen + wlen]);
	    wlen++) {
		if (wlen == IPC_MAX_COMMAND)
			return IPC_LINE_OVERLONG;
		c = line[plen + wlen];
		cl->command[wlen] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	}
	cl->command[wlen] = '\0';
	cl->command_len = wlen;
	i = plen + wlen;
	while (i < len && ipc_line_space(line[i]))
		i++;
	end = len;
	while (end > i && ipc_line_space(line[end - 1]))
		end--;
	cl->args = line + i;
	cl->args_len = end - i;
	return IPC_LINE_COMMAND;
}

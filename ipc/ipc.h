/*
 * ipc.h: the wire protocol between the daemon and its plugins.
 *
 * Every message is one msgpack map with a string key "type" naming the
 * message; the other keys are the message's fields (docs/protocol.md).
 * Messages follow each other on the socketpair with no other framing: the
 * streaming unpacker finds their ends, and refuses any message larger than
 * the stream's limit. The codec is pure C over msgpack-c, with no event loop.
 */
#ifndef IPC_H
#define IPC_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define PROTOCOL_VERSION	1

/* The plugin's end of the socketpair is this fd in the plugin process. */
#define IPC_PLUGIN_FD		3
#define IPC_PLUGIN_FD_ENV	"SUPERVISOR_FD"

/* Largest message either side accepts, in bytes. */
#define IPC_MAX_MESSAGE		(64 * 1024)

/*
 * Bounds of the messages' fields, in bytes (docs/protocol.md). The typed
 * readers below enforce them; the builders' callers keep to them.
 */
#define IPC_MAX_TEXT		2048	/* text of chat, event, reply, say, log */
/* reply and say: longer text is read, and cut to IPC_MAX_TEXT by the router. */
#define IPC_MAX_LONG_TEXT	(60 * 1024)
#define IPC_MAX_NAME		64	/* hello: the plugin's name */
#define IPC_MAX_VERSION		64	/* ready: the plugin's version */
#define IPC_MAX_COMMANDS	32	/* ready: command words per plugin */
#define IPC_MAX_COMMAND		32	/* one command word: [a-z0-9_-] */
#define IPC_MAX_USAGE		200	/* ready: one command's usage line */
#define IPC_MAX_PLATFORM	32	/* chat, event, say: "console", "irc" */
#define IPC_MAX_CHANNEL		256	/* chat, event, say */
#define IPC_MAX_USER		256	/* chat, event, say */

enum msg_type {
	MSG_HELLO,	/* daemon → plugin: name, protocol, role, config */
	MSG_READY,	/* plugin → daemon: protocol, version, commands, chat */
	MSG_CHAT,	/* connector → daemon: a chat line */
	MSG_EVENT,	/* daemon → plugin: a command or chat line routed to it */
	MSG_REPLY,	/* plugin → daemon: the answer to an event */
	MSG_SAY,	/* plugin → daemon → connector: a message to a channel */
	MSG_PING,	/* daemon → plugin: are you alive */
	MSG_PONG,	/* plugin → daemon: yes */
	MSG_LOG,	/* plugin → daemon: a log line */
	MSG_SHUTDOWN,	/* daemon → plugin: exit now, cleanly */
	MSG_TYPE_COUNT
};

/* Name of a message type for logs ("event"), or NULL if out of range. */
const char	*msg_type_name(enum msg_type);
/* Message type for a name, or -1. */
int		 msg_type_from_name(const char *, size_t);

/*
 * A received message: a decoded msgpack map that owns its memory until
 * msg_release(). Fields are read only through the msg_get_* functions.
 */
struct msg {
	enum msg_type		 type;
	msgpack_unpacked	 unpacked;
};

/*
 * Typed field readers. Each returns 0 and fills the out-parameter, or -1 if
 * the field is missing or has another type. Strings are not NUL-terminated
 * in the message: msg_get_str gives pointer and length; msg_copy_str copies
 * into a buffer (and fails if it does not fit); msg_dup_str allocates.
 */
int	 msg_has(const struct msg *, const char *key);
int	 msg_get_str(const struct msg *, const char *key, const char **, size_t *);
int	 msg_copy_str(const struct msg *, const char *key, char *, size_t);
char	*msg_dup_str(const struct msg *, const char *key, size_t maxlen);
int	 msg_get_uint(const struct msg *, const char *key, uint64_t *);
int	 msg_get_int(const struct msg *, const char *key, int64_t *);
int	 msg_get_bool(const struct msg *, const char *key, int *);
int	 msg_get_double(const struct msg *, const char *key, double *);
/* An array of strings: fills up to max entries, returns the count or -1. */
int	 msg_get_strv(const struct msg *, const char *key, const char **strs,
	     size_t *lens, size_t max);
/* Any object (map, array, ...), or NULL if missing. */
const msgpack_object *msg_get_object(const struct msg *, const char *key);

/*
 * Typed messages (proto.c): one struct and one validating reader per
 * message type. A reader checks the message's type, every field's presence,
 * type, bound and characters, and fills the struct; or returns -1 with a
 * cause naming the message, the field and the bound ("reply text of 4096
 * bytes is over the 2048-byte limit"). What to do with a bad message is the
 * caller's choice: the daemon kills a plugin for a bad ready and drops any
 * other bad message.
 *
 * Nothing is allocated. Short fields are copied NUL-terminated into the
 * struct; texts are pointer and length into the message (valid until
 * msg_release, and not NUL-terminated), the config object likewise.
 * Unknown keys are ignored.
 */
enum ipc_role {
	IPC_ROLE_PLUGIN,
	IPC_ROLE_CONNECTOR,
};

enum ipc_log_level {
	IPC_LOG_DEBUG,
	IPC_LOG_INFO,
	IPC_LOG_WARN,
};

/* daemon → plugin, first message. */
struct ipc_hello {
	uint64_t		 protocol;	/* the caller compares it */
	char			 name[IPC_MAX_NAME + 1];
	enum ipc_role		 role;
	const msgpack_object	*config;	/* a map, or NULL if absent */
};

/* plugin → daemon, answer to hello. */
struct ipc_ready {
	uint64_t	 protocol;		/* the caller compares it */
	char		 version[IPC_MAX_VERSION + 1];	/* "" if absent */
	size_t		 ncommands;
	char		 commands[IPC_MAX_COMMANDS][IPC_MAX_COMMAND + 1];
	/* usage[i]: how to use commands[i], one line; "" if not given. */
	char		 usage[IPC_MAX_COMMANDS][IPC_MAX_USAGE + 1];
	int		 chat;			/* 0 if absent */
};

/* connector → daemon: a chat line. Its text may hold any bytes. */
struct ipc_chat {
	char		 platform[IPC_MAX_PLATFORM + 1];
	char		 channel[IPC_MAX_CHANNEL + 1];
	char		 user[IPC_MAX_USER + 1];
	const char	*text;
	size_t		 text_len;
};

/* daemon → plugin: a command (or, with command "", a chat line). */
struct ipc_event {
	uint64_t	 id;
	char		 platform[IPC_MAX_PLATFORM + 1];
	char		 channel[IPC_MAX_CHANNEL + 1];
	char		 user[IPC_MAX_USER + 1];
	char		 command[IPC_MAX_COMMAND + 1];
	const char	*args;			/* no NUL inside */
	size_t		 args_len;
	const char	*text;			/* no NUL inside */
	size_t		 text_len;
};

/* plugin → daemon: the answer to an event. */
struct ipc_reply {
	uint64_t	 id;
	const char	*text;			/* no NUL inside */
	size_t		 text_len;
};

/* plugin → daemon → connector: a line for a channel. */
struct ipc_say {
	char		 platform[IPC_MAX_PLATFORM + 1];
	char		 channel[IPC_MAX_CHANNEL + 1];
	char		 user[IPC_MAX_USER + 1];	/* "" if absent */
	const char	*text;			/* no NUL inside */
	size_t		 text_len;
};

/* ping (daemon → plugin) and pong (plugin → daemon). */
struct ipc_ping {
	uint64_t	 seq;
};

struct ipc_pong {
	uint64_t	 seq;
};

/* plugin → daemon: a line for the daemon's log. */
struct ipc_log {
	enum ipc_log_level	 level;	/* absent or unknown: info */
	const char		*text;
	size_t			 text_len;
};

int	 ipc_read_hello(const struct msg *, struct ipc_hello *, char **cause);
int	 ipc_read_ready(const struct msg *, struct ipc_ready *, char **cause);
int	 ipc_read_chat(const struct msg *, struct ipc_chat *, char **cause);
int	 ipc_read_event(const struct msg *, struct ipc_event *, char **cause);
int	 ipc_read_reply(const struct msg *, struct ipc_reply *, char **cause);
int	 ipc_read_say(const struct msg *, struct ipc_say *, char **cause);
int	 ipc_read_ping(const struct msg *, struct ipc_ping *, char **cause);
int	 ipc_read_pong(const struct msg *, struct ipc_pong *, char **cause);
int	 ipc_read_log(const struct msg *, struct ipc_log *, char **cause);
/* shutdown has no fields: this only checks the type. */
int	 ipc_read_shutdown(const struct msg *, char **cause);

/* A command word: 1 to IPC_MAX_COMMAND bytes of a-z 0-9 - _. */
int	 ipc_command_valid(const char *, size_t);

/*
 * A chat line as the router reads it. A line that starts with the prefix
 * and has more after it is a command: the word up to the first space (any
 * byte below 0x20 counts as a space), ASCII letters lower-cased, and the
 * rest with spaces trimmed at both ends. The word may be empty ("! roll");
 * one longer than any command word can be is IPC_LINE_OVERLONG. Bytes of
 * 0x80 and above (UTF-8) are part of words and left as they are.
 */
enum ipc_line_kind {
	IPC_LINE_CHAT,		/* not a command: plain chat */
	IPC_LINE_COMMAND,	/* command and args are set */
	IPC_LINE_OVERLONG,	/* a command word over IPC_MAX_COMMAND bytes */
};

struct ipc_command_line {
	char		 command[IPC_MAX_COMMAND + 1];	/* lower-cased */
	size_t		 command_len;
	const char	*args;		/* into the line: not NUL-terminated */
	size_t		 args_len;
};

enum ipc_line_kind ipc_parse_line(const char *line, size_t len,
	     const char *prefix, struct ipc_command_line *);

/*
 * Streaming decoder for one connection. Feed it bytes as they arrive, then
 * take messages until it says it needs more.
 */
struct ipc_stream;

struct ipc_stream *ipc_stream_new(size_t max_message);
void	 ipc_stream_free(struct ipc_stream *);
/* Copy len bytes into the stream; -1 (with cause) if it would exceed the limit. */
int	 ipc_stream_feed(struct ipc_stream *, const void *, size_t, char **cause);
/*
 * Take the next message: 1 one was decoded into *m, 0 need more bytes,
 * -1 the stream is broken (malformed msgpack, oversize, not a map, no or
 * unknown "type"); cause says why, in words for an operator's log. After -1
 * the stream must not be used again. msg_release() the message when done.
 */
int	 ipc_stream_next(struct ipc_stream *, struct msg *, char **cause);
/* Bytes fed but not yet returned as messages. */
size_t	 ipc_stream_pending(const struct ipc_stream *);

/*
 * Decode exactly one message from a buffer (tests, fuzzing): 0 or -1. The
 * message's strings point into the buffer, which must outlive it.
 */
int	 msg_decode(const void *, size_t, struct msg *, char **cause);
void	 msg_release(struct msg *);

/*
 * Message builder: msg_begin, then msg_add_* for each field, then msg_end
 * gives the encoded bytes (valid until the next msg_begin or msg_builder_free).
 */
struct msg_builder;

struct msg_builder *msg_builder_new(void);
void	 msg_builder_free(struct msg_builder *);
void	 msg_begin(struct msg_builder *, enum msg_type);
void	 msg_add_str(struct msg_builder *, const char *key, const char *);
void	 msg_add_strn(struct msg_builder *, const char *key, const char *, size_t);
void	 msg_add_uint(struct msg_builder *, const char *key, uint64_t);
void	 msg_add_int(struct msg_builder *, const char *key, int64_t);
void	 msg_add_bool(struct msg_builder *, const char *key, int);
void	 msg_add_double(struct msg_builder *, const char *key, double);
void	 msg_add_strv(struct msg_builder *, const char *key, const char *const *, size_t);
/* A field whose value is already msgpack-encoded (one object). */
void	 msg_add_raw(struct msg_builder *, const char *key, const void *, size_t);
/* A field whose value is a decoded msgpack object (copied). */
void	 msg_add_object(struct msg_builder *, const char *key, const msgpack_object *);
void	 msg_end(struct msg_builder *, const char **, size_t *);

#endif

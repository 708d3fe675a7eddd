/*
 * lines.h: a reply cut into chat-sized lines, for connectors (part of the
 * SDK; sdk.h includes it). Pure: no I/O and no event loop, so a
 * connector's pure parts (plugins/irc/ircmsg.c) link it alone.
 */
#ifndef SDK_LINES_H
#define SDK_LINES_H

#include <stddef.h>

/* One line of a reply, without CR or LF, len bytes (not NUL-terminated). */
typedef void	(*sdk_line_cb)(const char *line, size_t len, void *arg);

size_t	 sdk_split_lines(const char *text, size_t len, size_t room,
	     sdk_line_cb, void *arg);

#endif

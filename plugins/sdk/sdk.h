/*
 * sdk.h: the C library for writing plugins and connectors.
 *
 * A plugin registers its commands, then calls sdk_run(), which performs the
 * hello/ready handshake, answers pings, stops cleanly on shutdown, and calls
 * the plugin's callbacks for events, timers and watched file descriptors.
 * The loop is poll(2)-based and single-threaded.
 *
 *	static void
 *	cmd_hello(const struct sdk_event *ev, void *arg)
 *	{
 *		sdk_reply(ev, "hello, %s", ev->user);
 *	}
 *
 *	int
 *	main(int argc, char **argv)
 *	{
 *		sdk_init("hello", "1.0.0");
 *		sdk_command("hello", cmd_hello, NULL);
 *		return sdk_run();
 *	}
 */
#ifndef SDK_H
#define SDK_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "plugins/sdk/lines.h"	/* sdk_split_lines: chat-sized lines */

/* One event: a command addressed to this plugin, or a chat line. */
struct sdk_event {
	uint64_t	 id;		/* echoed in the reply */
	const char	*platform;	/* "console", "irc" */
	const char	*channel;	/* where it was said */
	const char	*user;		/* who said it, as the platform names them */
	const char	*command;	/* "roll"; "" for a plain chat line */
	const char	*args;		/* text after the command word, trimmed */
	const char	*text;		/* the whole line */
};

typedef void	(*sdk_event_cb)(const struct sdk_event *, void *);
typedef void	(*sdk_say_cb)(const char *platform, const char *channel,
		    const char *user, const char *text, void *);
typedef void	(*sdk_fd_cb)(int fd, void *);
typedef void	(*sdk_timer_cb)(void *);
typedef void	(*sdk_shutdown_cb)(void *);

/* Name (for logs) and version (sent in ready). Call first. */
void	 sdk_init(const char *name, const char *version);
/*
 * Own a command word (without the prefix): 1 to 32 of a-z 0-9 - _, else the
 * plugin exits with the reason. At most 32 commands.
 */
void	 sdk_command(const char *name, sdk_event_cb, void *);
/*
 * How to use a command, one line that !help NAME shows after the prefix
 * and the command word (at most 200 bytes): "[NdM[+K]] — roll dice" reads
 * as "!roll [NdM[+K]] — roll dice". Call after sdk_command.
 */
void	 sdk_usage(const char *name, const char *usage);
/* Also receive every chat line that is not a command. */
void	 sdk_on_chat(sdk_event_cb, void *);
/* Connectors: receive the lines to deliver to the chat platform. */
void	 sdk_on_say(sdk_say_cb, void *);
/* Called once when the daemon asks the plugin to stop, before sdk_run returns. */
void	 sdk_on_shutdown(sdk_shutdown_cb, void *);

/* Answer an event; the daemon sends it back where the event came from. */
void	 sdk_reply(const struct sdk_event *, const char *, ...) printflike(2, 3);
/* Send an unsolicited message to a channel of a platform. */
void	 sdk_say(const char *platform, const char *channel, const char *, ...)
	     printflike(3, 4);
/* Connectors: hand a chat line to the daemon. */
void	 sdk_chat(const char *platform, const char *channel, const char *user,
	     const char *text);
/*
 * The connector that has the terminal ("terminal": true): ask the daemon to
 * stop, as the user at the terminal ended the session (Ctrl-D). From any
 * other plugin the daemon counts it as a protocol error.
 */
void	 sdk_request_shutdown(void);
/* Send a log line to the daemon's log (level "debug", "info" or "warn"). */
void	 sdk_log(const char *level, const char *, ...) printflike(2, 3);

/*
 * The plugin's "config" object from the daemon's config file, available
 * once sdk_run has received hello (in callbacks, or sdk_on_ready). A key
 * with dots reaches into nested objects: "reconnect.initial" is "initial"
 * in the "reconnect" object (a top-level key of that exact name wins).
 */
const char *sdk_config_str(const char *key, const char *def);
int64_t	 sdk_config_int(const char *key, int64_t def);
double	 sdk_config_double(const char *key, double def);
int	 sdk_config_bool(const char *key, int def);
/* An array of strings: count, and up to max pointers (valid until exit). */
size_t	 sdk_config_strv(const char *key, const char **, size_t max);

/*
 * The plugin's name in the daemon's config and its role ("plugin" or
 * "connector"), from hello; before hello, the sdk_init name and "plugin".
 */
const char *sdk_name(void);
const char *sdk_role(void);

/* Called after the handshake, before events arrive: read config here. */
void	 sdk_on_ready(void (*)(void *), void *);

/* Watch a file descriptor for reading (at most 16). */
void	 sdk_watch_fd(int fd, sdk_fd_cb, void *);
void	 sdk_unwatch_fd(int fd);
/*
 * Also watch a watched fd for writing (on) or stop (off): a non-blocking
 * connect completing, room in a full socket buffer. Its callback then runs
 * when the fd is readable or writable, so it must try both without blocking.
 */
void	 sdk_watch_fd_write(int fd, int on);
/* One-shot timer, seconds from now; returns an id for sdk_timer_cancel. */
int	 sdk_timer(double seconds, sdk_timer_cb, void *);
void	 sdk_timer_cancel(int id);

/* Handshake and loop; returns the exit status for main (0 after shutdown). */
int	 sdk_run(void);
/* Leave sdk_run at the next turn of the loop. */
void	 sdk_stop(void);

#endif

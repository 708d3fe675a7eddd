/*
 * ircmsg.h: IRC messages without I/O (RFC 1459 / RFC 2812).
 *
 * irc_parse splits one received line into its prefix (nick, user, host),
 * command and parameters; irc_build and irc_split make the lines the
 * connector sends, so that nothing it sends can be longer than the
 * protocol's 512 bytes or carry a second command.
 */
#ifndef IRCMSG_H
#define IRCMSG_H

#include <stddef.h>

/* The longest line either side may send: 510 bytes, then CR LF. */
#define IRC_MAX_LINE		512

/*
 * The longest received line accepted, without its CR LF. Servers may put
 * IRCv3 message tags (up to 8191 bytes with the '@' and the space) in front
 * of the 510 bytes of the message itself; be liberal and take both.
 */
#define IRC_MAX_INPUT		(8191 + 510)

/* At most 15 parameters: 14 middle ones, then the rest as the last. */
#define IRC_MAX_PARAMS		15

/*
 * Bytes the server's ":nick!user@host " prefix may take when it relays a
 * line of ours, if our user and host are not known yet: a user name of up
 * to 10 bytes with the '~' some servers add, and a 63-byte host name
 * (RFC 1123's longest label-limited name most servers accept).
 */
#define IRC_USER_RESERVE	11
#define IRC_HOST_RESERVE	63

/*
 * Longest target (channel or nick) accepted: RFC 1459 allows 200-byte
 * channel names (RFC 2812 only 50), and with the prefix and the command
 * that still leaves room for text in a line.
 */
#define IRC_MAX_TARGET		200

/* Shortest room for text in one line irc_split accepts to work with. */
#define IRC_MIN_TEXT		32

/* One parsed line; every pointer points into the message's own buffers. */
struct irc_msg {
	const char	*prefix;	/* without the ':', NULL if none */
	const char	*nick;		/* prefix up to '!'/'@': nick or server */
	const char	*user;		/* after '!', NULL if absent */
	const char	*host;		/* after '@', NULL if absent */
	const char	*command;	/* upper-cased word, or 3 digits */
	int		 numeric;	/* 0 to 999 for a numeric, else -1 */
	const char	*params[IRC_MAX_PARAMS];
	size_t		 nparams;
	int		 trailing;	/* the last parameter came after ':' */

	char		 buf[IRC_MAX_INPUT + 1];
	char		 mask[IRC_MAX_INPUT + 1];	/* nick, user, host */
};

/* A formatted line, CR LF included, handed out by irc_split. */
typedef void	(*irc_line_cb)(const char *line, size_t len, void *arg);

int	 irc_parse(struct irc_msg *, const char *, size_t, const char **);
int	 irc_build(char *, size_t, const char *, const char *const *, size_t,
	     const char **);
int	 irc_split(const char *, const char *, const char *, size_t, size_t,
	     irc_line_cb, void *, const char **);
size_t	 irc_prefix_len(const char *, const char *, const char *);
int	 irc_valid_target(const char *);
int	 irc_is_channel(const char *);
int	 irc_casecmp(const char *, const char *);
void	 irc_clean_text(char *);

#endif

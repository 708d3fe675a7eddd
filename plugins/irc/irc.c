/*
 * irc.c: the IRC connector. One TCP connection to an IRC server: it
 * registers, joins the configured channels, hands every PRIVMSG to the
 * daemon as a chat line from "irc:nick!user@host", and sends what the
 * daemon says back as PRIVMSGs, paced by a token bucket.
 *
 * The connection is a small state machine inside the plugin process:
 *
 *	IDLE → RESOLVING → CONNECTING → [HANDSHAKE] → REGISTERING → REGISTERED
 *	  ▲                                                            │
 *	  └──────────── failure: close, wait the backoff ◀─────────────┘
 *
 * HANDSHAKE is TLS (irctls.c), when "tls" is on. REGISTERING starts with
 * CAP LS 302 and, when SASL is configured, logs in (ircsasl.c) before
 * CAP END: a bot that must log in never joins a channel unidentified.
 *
 * Losing the server is not a crash: the plugin stays RUNNING in the daemon
 * and reconnects itself (ircrate.c has the policy), so the daemon's own
 * restart policy is left for real crashes. Everything it sends goes through
 * ircmsg.c, which makes one line of at most 512 bytes of whatever text it
 * is given, so a reply can never carry a second IRC command.
 */
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/irc/ircmsg.h"
#include "plugins/irc/ircrate.h"
#include "plugins/irc/ircsasl.h"
#include "plugins/irc/irctls.h"
#include "plugins/sdk/sdk.h"

#define IRC_VERSION		"1.0.0"

/*
 * Lines waiting for the token bucket. At 1 line/s this is a quarter of an
 * hour of output: more means the bot is answering faster than it may speak
 * for a long time, and old answers are worth less than bounded memory.
 */
#define IRC_MAX_QUEUE		1000

/*
 * Bytes accepted into the write buffer (lines already past the bucket,
 * and PONGs): far beyond what the bucket lets through, so only a server
 * that stopped reading fills it.
 */
#define IRC_MAX_WBUF		(64 * 1024)

/*
 * Lines the daemon says while the bot is not connected (before the first
 * registration, or while it reconnects) wait for the next registration:
 * the daemon's alerts about what went wrong meanwhile are what an ops
 * channel wants most. A few dozen lines, none older than ten minutes: a
 * long outage's backlog is worth less than a short one's.
 */
#define IRC_MAX_HELD		32
#define IRC_HELD_MAX_AGE	600.0

#define IRC_MAX_CHANNELS	64
#define IRC_MAX_NICKS		16
/* The nick length every server accepts (RFC 2812, 1.2.1). */
#define IRC_NICK_SAFE_LEN	9
/* Nicks tried while registering beyond the configured ones. */
#define IRC_NICK_EXTRA_TRIES	8
/* Retry a JOIN the server refused (banned, invite only, full) this late. */
#define IRC_JOIN_RETRY		60.0
/* How often to ask the resolver whether a host name is resolved. */
#define IRC_RESOLVE_POLL	0.05

enum irc_state {
	IRC_IDLE,		/* waiting to (re)connect */
	IRC_RESOLVING,
	IRC_CONNECTING,
	IRC_HANDSHAKE,		/* TLS handshake */
	IRC_REGISTERING,	/* CAP/PASS/NICK/USER sent, waiting for 001 */
	IRC_REGISTERED
};

/* A line waiting for the token bucket, with its CR LF. */
struct irc_line {
	TAILQ_ENTRY(irc_line)	 entry;
	size_t			 len;
	char			 data[];
};
TAILQ_HEAD(irc_lines, irc_line);

/* Where capability negotiation is, while registering. */
enum irc_cap_phase {
	IRC_CAPS_IDLE,		/* CAP LS not sent yet */
	IRC_CAPS_LS,		/* CAP LS 302 sent, reading the list */
	IRC_CAPS_REQ,		/* CAP REQ sent, waiting for ACK/NAK */
	IRC_CAPS_SASL,		/* AUTHENTICATE sent, waiting for 903/904 */
	IRC_CAPS_DONE		/* CAP END sent, or the server has no CAP */
};

enum irc_sasl_mech {
	IRC_MECH_NONE,
	IRC_MECH_PLAIN,
	IRC_MECH_EXTERNAL
};

struct irc_channel {
	char	*name;
	char	*key;		/* NULL if none */
	int	 joined;
	int	 timer;		/* rejoin timer, 0 if none */
};

static struct {
	/* Configuration, read once after hello. */
	const char			*platform;
	const char			*server;
	char				 port[8];
	const char			*nicks[IRC_MAX_NICKS];
	size_t				 nnicks;
	const char			*user;
	const char			*realname;
	const char			*password;
	const char			*quit_message;
	struct irc_channel		 channels[IRC_MAX_CHANNELS];
	size_t				 nchannels;
	double				 rate;
	double				 burst;
	double				 rejoin_delay;
	double				 connect_timeout;
	double				 register_timeout;
	double				 ping_interval;
	double				 regain_interval;
	struct irc_reconnect_policy	 policy;
	int				 tls;
	struct irc_tls_config		 tls_config;
	enum irc_sasl_mech		 sasl_mech;
	const char			*sasl_user;
	char				 sasl_password[IRC_SASL_MAX_PASSWORD + 1];
	int				 sasl_required;

	/* The connection. */
	enum irc_state			 state;
	int				 fd;
	struct addrinfo			*addrs;
	struct addrinfo			*addr;		/* being tried */
	struct gaicb			 gai;		/* async resolution */
	int				 gai_busy;
	char				*nick;		/* ours, as the server knows it */
	size_t				 nick_index;	/* in nicks, while registering */
	unsigned			 nick_tries;
	char				*self_user;	/* as the server shows us */
	char				*self_host;
	double				 registered_at;
	double				 last_rx;
	struct irc_reconnect		 reconnect;
	struct tbucket			 bucket;
	struct irc_tls			*tls_session;	/* NULL: plain TCP */
	enum irc_cap_phase		 cap_phase;
	struct irc_caps			 caps;
	unsigned			 caps_acked;
	struct irc_sasl_in		 sasl_in;
	int				 sasl_sent;	/* our answer went out */
	int				 sasl_ok;	/* 903 */

	char				 rbuf[IRC_MAX_INPUT + 1];
	size_t				 rlen;
	int				 discarding;	/* in an over-long line */
	char				*wbuf;
	size_t				 wlen;
	size_t				 wsize;
	int				 wwatch;	/* watching for POLLOUT */
	struct irc_lines		 queue;
	size_t				 nqueue;
	unsigned long			 dropped;	/* lines lost to a full queue */

	/* Says while not registered, a ring sent at the next welcome. */
	struct {
		char			*target;
		char			*text;
		double			 when;		/* monotonic */
	}				 held[IRC_MAX_HELD];
	size_t				 held_head;
	size_t				 held_len;
	unsigned long			 held_dropped;	/* the oldest, ring full */

	/* Timer ids, 0 when not armed. */
	int				 t_retry;
	int				 t_resolve;
	int				 t_timeout;	/* connect or register */
	int				 t_pace;
	int				 t_ping;
	int				 t_stable;
	int				 t_regain;
} irc = { .fd = -1 };

static void	irc_connect_start(void *);
static void	irc_fail(const char *, ...) printflike(1, 2);

/* Cancel a timer if it is armed. */
static void
irc_timer_clear(int *id)
{
	if (*id != 0) {
		sdk_timer_cancel(*id);
		*id = 0;
	}
}

/* (Re)arm a timer. */
static void
irc_timer_set(int *id, double seconds, sdk_timer_cb cb, void *arg)
{
	irc_timer_clear(id);
	*id = sdk_timer(seconds, cb, arg);
}

/* A uniform double in [0, 1) for the backoff's jitter. */
static double
irc_random(void)
{
	uint32_t	r;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		return 0.5;
	return r / 4294967296.0;
}

/* Seconds the current connection has been registered, 0 if it is not. */
static double
irc_uptime(void)
{
	if (irc.state != IRC_REGISTERED)
		return 0;
	return clock_mono() - irc.registered_at;
}

/* Watch the socket for writability while there is something to write. */
static void
irc_want_write(int on)
{
	if (irc.fd != -1 && irc.wwatch != on) {
		sdk_watch_fd_write(irc.fd, on);
		irc.wwatch = on;
	}
}

/* Write what the socket takes now; -1 (after irc_fail) if it broke. */
static int
irc_flush(void)
{
	ssize_t	 n;
	char	*cause = NULL;

	while (irc.wlen > 0) {
		if (irc.tls_session != NULL) {
			n = irc_tls_write(irc.tls_session, irc.wbuf, irc.wlen,
			    &cause);
			/*
			 * Waiting for the server's bytes (a TLS 1.2
			 * renegotiation): the next readable event flushes
			 * again; watching for writability would only spin.
			 */
			if (n == IRC_TLS_WANT_READ) {
				irc_want_write(0);
				return 0;
			}
			if (n == IRC_TLS_WANT_WRITE)
				break;
			if (n == -1) {
				irc_fail("%s", cause);
				free(cause);
				return -1;
			}
		} else
			n = send(irc.fd, irc.wbuf, irc.wlen, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			irc_fail("write: %s", strerror(errno));
			return -1;
		}
		memmove(irc.wbuf, irc.wbuf + n, irc.wlen - (size_t)n);
		irc.wlen -= (size_t)n;
	}
	irc_want_write(irc.wlen > 0);
	return 0;
}

/* Append a formatted line to the write buffer and flush; -1 if it broke. */
static int
irc_write(const char *line, size_t len)
{
	if (irc.fd == -1)
		return -1;
	if (irc.wlen + len > IRC_MAX_WBUF) {
		irc_fail("the server has not read %zu bytes", irc.wlen);
		return -1;
	}
	if (irc.wlen + len > irc.wsize) {
		irc.wsize = irc.wlen + len + 4096;
		irc.wbuf = xreallocarray(irc.wbuf, 1, irc.wsize);
	}
	memcpy(irc.wbuf + irc.wlen, line, len);
	irc.wlen += len;
	return irc_flush();
}

/* Build one command line; -1 (logged) if it cannot be sent. */
static int
irc_compose(char *line, size_t size, const char *command,
    const char *const *params, size_t n)
{
	const char	*cause;
	int		 len;

	if ((len = irc_build(line, size, command, params, n, &cause)) == -1)
		log_warnx("cannot send %s: %s", command, cause);
	return len;
}

/*
 * Send a command now, ahead of the paced queue: registration, PONG, QUIT.
 * They are few and the server needs them on time (a late PONG is a
 * disconnect). Returns -1 if the connection broke.
 */
static int
irc_send_now(const char *command, const char *const *params, size_t n)
{
	char	line[IRC_MAX_LINE + 1];
	int	len;

	if ((len = irc_compose(line, sizeof line, command, params, n)) == -1)
		return 0;
	return irc_write(line, (size_t)len);
}

static void	irc_pace(void);

/* The token bucket has a token again: send what waits. */
static void
irc_pace_timer(void *arg)
{
	irc.t_pace = 0;
	irc_pace();
}

/*
 * Send queued lines while the bucket has tokens; when it runs dry, wake up
 * when the next token is due.
 */
static void
irc_pace(void)
{
	struct irc_line	*l;
	double		 now = clock_mono();

	while ((l = TAILQ_FIRST(&irc.queue)) != NULL) {
		if (!tbucket_take(&irc.bucket, 1, now))
			break;
		TAILQ_REMOVE(&irc.queue, l, entry);
		irc.nqueue--;
		if (irc_write(l->data, l->len) == -1) {
			free(l);
			return;
		}
		free(l);
	}
	if (irc.dropped > 0 && irc.nqueue < IRC_MAX_QUEUE / 2) {
		log_warnx("output queue drained: %lu lines were dropped",
		    irc.dropped);
		irc.dropped = 0;
	}
	if (l != NULL && irc.t_pace == 0)
		irc.t_pace = sdk_timer(tbucket_wait(&irc.bucket, 1, now),
		    irc_pace_timer, NULL);
}

/* Queue one line for the bucket, or drop it if the queue is full. */
static void
irc_enqueue(const char *line, size_t len, void *arg)
{
	struct irc_line	*l;

	if (irc.nqueue >= IRC_MAX_QUEUE) {
		if (irc.dropped++ == 0)
			log_warnx("output queue full (%d lines): dropping "
			    "lines until it drains", IRC_MAX_QUEUE);
		return;
	}
	l = xmalloc(sizeof *l + len);
	memcpy(l->data, line, len);
	l->len = len;
	TAILQ_INSERT_TAIL(&irc.queue, l, entry);
	irc.nqueue++;
}

/* Queue a command behind the others, paced. */
static void
irc_send_paced(const char *command, const char *const *params, size_t n)
{
	char	line[IRC_MAX_LINE + 1];
	int	len;

	if ((len = irc_compose(line, sizeof line, command, params, n)) == -1)
		return;
	irc_enqueue(line, (size_t)len, NULL);
	irc_pace();
}

/* Bytes the server's prefix takes when it relays our lines. */
static size_t
irc_self_prefix_len(void)
{
	return irc_prefix_len(irc.nick != NULL ? irc.nick : irc.nicks[0],
	    irc.self_user, irc.self_host);
}

/* Send text to a channel or nick as PRIVMSG lines (or NOTICE). */
static void
irc_send_text(const char *command, const char *target, const char *text)
{
	const char	*cause;

	if (irc_split(command, target, text, strlen(text),
	    irc_self_prefix_len(), irc_enqueue, NULL, &cause) == -1) {
		log_warnx("cannot send to \"%.64s\": %s", target, cause);
		return;
	}
	irc_pace();
}

/* Close the connection and forget everything that belonged to it. */
static void
irc_disconnect(void)
{
	struct irc_line	*l;
	size_t		 i;

	irc_tls_close(irc.tls_session);
	irc.tls_session = NULL;
	if (irc.fd != -1) {
		sdk_unwatch_fd(irc.fd);
		close(irc.fd);
		irc.fd = -1;
	}
	irc.wwatch = 0;
	irc.cap_phase = IRC_CAPS_IDLE;
	memset(&irc.caps, 0, sizeof irc.caps);
	irc.caps_acked = 0;
	irc.sasl_in.len = 0;
	irc.sasl_sent = irc.sasl_ok = 0;
	if (irc.addrs != NULL) {
		freeaddrinfo(irc.addrs);
		irc.addrs = irc.addr = NULL;
	}
	while ((l = TAILQ_FIRST(&irc.queue)) != NULL) {
		TAILQ_REMOVE(&irc.queue, l, entry);
		free(l);
	}
	if (irc.nqueue > 0)
		log_warnx("%zu unsent lines dropped with the connection",
		    irc.nqueue);
	irc.nqueue = 0;
	irc.dropped = 0;
	irc.wlen = 0;
	irc.rlen = 0;
	irc.discarding = 0;
	irc_timer_clear(&irc.t_timeout);
	irc_timer_clear(&irc.t_pace);
	irc_timer_clear(&irc.t_ping);
	irc_timer_clear(&irc.t_stable);
	irc_timer_clear(&irc.t_regain);
	for (i = 0; i < irc.nchannels; i++) {
		irc.channels[i].joined = 0;
		irc_timer_clear(&irc.channels[i].timer);
	}
	free(irc.self_user);
	free(irc.self_host);
	irc.self_user = irc.self_host = NULL;
	irc.state = IRC_IDLE;
}

/*
 * The connection failed or was lost: close it, and schedule the next
 * attempt as the reconnect policy says. Every attempt is logged with its
 * number, its delay and the breaker's state.
 */
static void
irc_fail(const char *fmt, ...)
{
	va_list	 ap;
	char	*why;
	double	 delay, uptime = irc_uptime();
	int	 was_registered = irc.state == IRC_REGISTERED;

	if (irc.state == IRC_IDLE)
		return;
	va_start(ap, fmt);
	xvasprintf(&why, fmt, ap);
	va_end(ap);
	irc_disconnect();
	delay = irc_reconnect_on_failure(&irc.reconnect, &irc.policy,
	    clock_mono(), uptime, irc_random());
	if (irc.reconnect.breaker.state == BREAKER_OPEN)
		log_warnx("%s %s:%s: %s; breaker open after %u failures: "
		    "trial attempt in %.1f s", was_registered ?
		    "connection to" : "cannot connect to", irc.server, irc.port,
		    why, irc.reconnect.consecutive, delay);
	else
		log_warnx("%s %s:%s: %s; attempt %u in %.1f s (breaker %s)",
		    was_registered ? "lost connection to" :
		    "cannot connect to", irc.server, irc.port, why,
		    irc.reconnect.consecutive + 1, delay,
		    breaker_state_name(irc.reconnect.breaker.state));
	free(why);
	irc_timer_set(&irc.t_retry, delay, irc_connect_start, NULL);
}

/* Set our nick (as the server knows it). */
static void
irc_set_nick(const char *nick)
{
	free(irc.nick);
	irc.nick = xstrdup(nick);
}

static void	irc_timeout(void *);

/* Send PASS, NICK and USER: the socket is connected. */
static void
irc_register(void)
{
	const char	*params[4];

	irc.state = IRC_REGISTERING;
	irc.last_rx = clock_mono();
	tbucket_init(&irc.bucket, irc.rate, irc.burst, irc.last_rx);
	irc_timer_set(&irc.t_timeout, irc.register_timeout, irc_timeout, NULL);
	log_info("connected to %s:%s; registering as %s", irc.server, irc.port,
	    irc.nicks[0]);
	irc.nick_index = 0;
	irc.nick_tries = 0;
	irc_set_nick(irc.nicks[0]);
	/*
	 * CAP LS first: a server that knows CAP holds registration until
	 * CAP END (so SASL is done before 001), one that does not answers
	 * 421 and registers as before.
	 */
	params[0] = "LS";
	params[1] = "302";
	irc.cap_phase = IRC_CAPS_LS;
	if (irc_send_now("CAP", params, 2) == -1)
		return;
	if (irc.password != NULL) {
		params[0] = irc.password;
		if (irc_send_now("PASS", params, 1) == -1)
			return;
	}
	params[0] = irc.nick;
	if (irc_send_now("NICK", params, 1) == -1)
		return;
	params[0] = irc.user;
	params[1] = "0";
	params[2] = "*";
	params[3] = irc.realname;
	irc_send_now("USER", params, 4);
}

static void	irc_io(int, void *);
static void	irc_tls_start(void);
static void	irc_try_addr(int);
static void	irc_next_addr(int);

/* No connection or no 001 within the time allowed. */
static void
irc_timeout(void *arg)
{
	irc.t_timeout = 0;
	if (irc.state == IRC_CONNECTING)
		irc_next_addr(ETIMEDOUT);
	else if (irc.state == IRC_HANDSHAKE)
		irc_fail("TLS handshake: no answer within %.1f s",
		    irc.connect_timeout);
	else if (irc.state == IRC_REGISTERING)
		irc_fail("not registered within %.0f s", irc.register_timeout);
}

/*
 * Connect to the server's addresses from irc.addr on; when none is left,
 * the attempt has failed, with err (or the last address's error).
 */
static void
irc_try_addr(int err)
{
	int	fd;

	for (; irc.addr != NULL; irc.addr = irc.addr->ai_next) {
		fd = socket(irc.addr->ai_family, irc.addr->ai_socktype |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, irc.addr->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (connect(fd, irc.addr->ai_addr, irc.addr->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			irc.fd = fd;
			irc.state = IRC_CONNECTING;
			sdk_watch_fd(fd, irc_io, NULL);
			sdk_watch_fd_write(fd, 1);
			irc.wwatch = 1;
			irc_timer_set(&irc.t_timeout, irc.connect_timeout,
			    irc_timeout, NULL);
			return;
		}
		err = errno;
		close(fd);
	}
	if (err == 0)
		irc_fail("no address to connect to");
	else if (err == ETIMEDOUT)
		irc_fail("connect: no answer within %.1f s",
		    irc.connect_timeout);
	else
		irc_fail("connect: %s", strerror(err));
}

/*
 * The connect to irc.addr failed with err: close it, and go on with the
 * next address, if there is one.
 */
static void
irc_next_addr(int err)
{
	sdk_unwatch_fd(irc.fd);
	close(irc.fd);
	irc.fd = -1;
	irc.wwatch = 0;
	irc_timer_clear(&irc.t_timeout);
	irc.addr = irc.addr->ai_next;
	if (irc.addr != NULL)
		log_warnx("connect to %s:%s: %s; trying the next address",
		    irc.server, irc.port, strerror(err));
	irc_try_addr(err);
}

/* Resolution is over: connect to the addresses in turn. */
static void
irc_resolved(struct addrinfo *res)
{
	irc.addrs = irc.addr = res;
	irc_try_addr(0);
}

/* Poll the resolver until the server's name is resolved. */
static void
irc_resolve_poll(void *arg)
{
	int	r;

	irc.t_resolve = 0;
	if ((r = gai_error(&irc.gai)) == EAI_INPROGRESS) {
		irc.t_resolve = sdk_timer(IRC_RESOLVE_POLL, irc_resolve_poll,
		    NULL);
		return;
	}
	irc.gai_busy = 0;
	if (irc.state != IRC_RESOLVING) {
		if (r == 0)
			freeaddrinfo(irc.gai.ar_result);
		return;
	}
	if (r != 0) {
		irc_fail("cannot resolve %s: %s", irc.server, gai_strerror(r));
		return;
	}
	irc_resolved(irc.gai.ar_result);
}

/*
 * Start an attempt: resolve the server (a numeric address at once, a name
 * asynchronously, so a slow resolver never stalls the plugin's loop and its
 * answers to the daemon's pings), then connect.
 */
static void
irc_connect_start(void *arg)
{
	static struct addrinfo	 hints;
	struct gaicb		*list[1] = { &irc.gai };
	struct addrinfo		*res;
	int			 r;

	irc.t_retry = 0;
	if (irc.state != IRC_IDLE || irc.gai_busy)
		return;
	irc_reconnect_on_attempt(&irc.reconnect);
	log_info("connecting to %s:%s (attempt %u%s)", irc.server, irc.port,
	    irc.reconnect.consecutive + 1,
	    irc.reconnect.breaker.state == BREAKER_HALF_OPEN ?
	    ", trial: breaker half-open" : "");
	if (irc.tls && !irc.tls_config.verify)
		log_warnx("tls_verify is false: the certificate of %s:%s is "
		    "not checked, so anyone on the way can read and change "
		    "this connection", irc.server, irc.port);
	irc.state = IRC_RESOLVING;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(irc.server, irc.port, &hints, &res) == 0) {
		irc_resolved(res);
		return;
	}
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	memset(&irc.gai, 0, sizeof irc.gai);
	irc.gai.ar_name = irc.server;
	irc.gai.ar_service = irc.port;
	irc.gai.ar_request = &hints;
	if ((r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		irc_fail("cannot resolve %s: %s", irc.server, gai_strerror(r));
		return;
	}
	irc.gai_busy = 1;
	irc.t_resolve = sdk_timer(IRC_RESOLVE_POLL, irc_resolve_poll, NULL);
}

/* Registered for policy.stable seconds: the run of failures is over. */
static void
irc_stable(void *arg)
{
	enum breaker_state	was = irc.reconnect.breaker.state;

	irc.t_stable = 0;
	irc_reconnect_on_stable(&irc.reconnect);
	if (was != BREAKER_CLOSED)
		log_info("connection stable for %.0f s: breaker closed",
		    irc.policy.stable);
}

/*
 * Keepalive: a server that went away without closing the connection
 * (a dead route, a suspended VM) sends nothing. After ping_interval of
 * silence ask it with a PING; after twice that, give up on it.
 */
static void
irc_keepalive(void *arg)
{
	const char	*params[1] = { "keepalive" };
	double		 idle = clock_mono() - irc.last_rx;

	irc.t_ping = 0;
	if (idle >= 2 * irc.ping_interval) {
		irc_fail("no data from the server for %.0f s", idle);
		return;
	}
	if (idle >= irc.ping_interval && irc_send_now("PING", params, 1) == -1)
		return;
	irc.t_ping = sdk_timer(irc.ping_interval / 2, irc_keepalive, NULL);
}

/* Ask for the configured nick again, if another one had to do. */
static void
irc_regain(void *arg)
{
	const char	*params[1] = { irc.nicks[0] };

	irc.t_regain = 0;
	if (irc.state != IRC_REGISTERED || irc_casecmp(irc.nick,
	    irc.nicks[0]) == 0)
		return;
	irc_send_paced("NICK", params, 1);
	irc.t_regain = sdk_timer(irc.regain_interval, irc_regain, NULL);
}

/* Send JOIN for a channel. */
static void
irc_join(struct irc_channel *ch)
{
	const char	*params[2] = { ch->name, ch->key };

	irc_send_paced("JOIN", params, ch->key != NULL ? 2 : 1);
}

/* A rejoin delay is over. */
static void
irc_rejoin(void *arg)
{
	struct irc_channel	*ch = arg;

	ch->timer = 0;
	if (irc.state == IRC_REGISTERED && !ch->joined)
		irc_join(ch);
}

/* A configured channel by name, or NULL. */
static struct irc_channel *
irc_channel_find(const char *name)
{
	size_t	i;

	for (i = 0; i < irc.nchannels; i++) {
		if (irc_casecmp(irc.channels[i].name, name) == 0)
			return &irc.channels[i];
	}
	return NULL;
}

/* 1 if a message's prefix is us. */
static int
irc_from_self(const struct irc_msg *m)
{
	return m->nick != NULL && irc.nick != NULL &&
	    irc_casecmp(m->nick, irc.nick) == 0;
}

/* Remember our user and host as the server shows them, for line budgets. */
static void
irc_learn_self(const char *user, const char *host)
{
	if (user == NULL || host == NULL)
		return;
	free(irc.self_user);
	free(irc.self_host);
	irc.self_user = xstrdup(user);
	irc.self_host = xstrdup(host);
}

/* Forget the oldest held line. */
static void
irc_held_pop(void)
{
	free(irc.held[irc.held_head].target);
	free(irc.held[irc.held_head].text);
	irc.held_head = (irc.held_head + 1) % IRC_MAX_HELD;
	irc.held_len--;
}

/* A line said while not connected: kept for the next registration. */
static void
irc_hold(const char *target, const char *text)
{
	size_t	slot;

	if (irc.held_len == IRC_MAX_HELD) {
		irc_held_pop();
		irc.held_dropped++;
	}
	if (irc.held_len == 0)
		log_warnx("not connected: lines for %.64s and others wait for "
		    "the next connection (at most %d, for %.0f s)", target,
		    IRC_MAX_HELD, IRC_HELD_MAX_AGE);
	slot = (irc.held_head + irc.held_len++) % IRC_MAX_HELD;
	irc.held[slot].target = xstrdup(target);
	irc.held[slot].text = xstrdup(text);
	irc.held[slot].when = clock_mono();
}

/* Registered again, channels joined: send what waited and is not stale. */
static void
irc_send_held(void)
{
	double		now = clock_mono();
	unsigned long	sent = 0, stale = 0;

	while (irc.held_len > 0) {
		if (now - irc.held[irc.held_head].when > IRC_HELD_MAX_AGE)
			stale++;
		else {
			irc_send_text("PRIVMSG", irc.held[irc.held_head].target,
			    irc.held[irc.held_head].text);
			sent++;
		}
		irc_held_pop();
	}
	if (sent + stale + irc.held_dropped > 0)
		log_info("%lu lines said while not connected sent; %lu older "
		    "than %.0f s and %lu over %d dropped", sent, stale,
		    IRC_HELD_MAX_AGE, irc.held_dropped, IRC_MAX_HELD);
	irc.held_dropped = 0;
}

/* 001: registered. Join the channels. */
static void
irc_welcome(const struct irc_msg *m)
{
	const char	*last, *bang, *at;
	size_t		 i;

	irc.state = IRC_REGISTERED;
	irc.registered_at = clock_mono();
	irc_timer_clear(&irc.t_timeout);
	if (m->nparams >= 1)
		irc_set_nick(m->params[0]);
	/* "Welcome to the ... Network nick!user@host", by custom. */
	if (m->nparams >= 2 && (last = strrchr(m->params[1], ' ')) != NULL &&
	    (bang = strchr(last, '!')) != NULL &&
	    (at = strchr(bang, '@')) != NULL && at[1] != '\0') {
		char	*u = xstrndup(bang + 1, (size_t)(at - bang - 1));

		irc_learn_self(u, at + 1);
		free(u);
	}
	log_info("registered on %s:%s as %s", irc.server, irc.port, irc.nick);
	irc.t_stable = sdk_timer(irc.policy.stable, irc_stable, NULL);
	irc.t_ping = sdk_timer(irc.ping_interval / 2, irc_keepalive, NULL);
	if (irc.regain_interval > 0 && irc_casecmp(irc.nick, irc.nicks[0]) != 0)
		irc.t_regain = sdk_timer(irc.regain_interval, irc_regain, NULL);
	for (i = 0; i < irc.nchannels; i++)
		irc_join(&irc.channels[i]);
	/* After the JOINs: the server handles a client's lines in order. */
	irc_send_held();
}

/*
 * 432/433/436/437 while registering: try the next nick. After the
 * configured ones, append '_' while the nick is shorter than 9 bytes
 * (RFC 2812's NICKLEN, which every server allows), then try the first 7
 * bytes of the nick with two random digits; a few tries at most, then the
 * attempt fails and backs off, rather than spin against the server.
 */
static void
irc_nick_refused(const struct irc_msg *m)
{
	const char	*params[1];
	char		*next;
	size_t		 len;

	if (irc.state != IRC_REGISTERING) {
		/* Our regain attempt, most likely: the nick is still taken. */
		log_debug("nick %s refused: %s", m->nparams >= 2 ?
		    m->params[1] : "?", m->nparams >= 3 ? m->params[2] : "");
		return;
	}
	if (++irc.nick_tries > irc.nnicks + IRC_NICK_EXTRA_TRIES) {
		irc_fail("no nick accepted after %u tries", irc.nick_tries);
		return;
	}
	len = strlen(irc.nick);
	if (++irc.nick_index < irc.nnicks)
		next = xstrdup(irc.nicks[irc.nick_index]);
	else if (len < IRC_NICK_SAFE_LEN && m->numeric != 432)
		xasprintf(&next, "%s_", irc.nick);
	else {
		len = strlen(irc.nicks[0]);
		xasprintf(&next, "%.*s%02d", (int)(len < 7 ? len : 7),
		    irc.nicks[0], (int)(irc_random() * 100));
	}
	log_warnx("nick %s is not available (%s %s): trying %s", irc.nick,
	    m->command, m->nparams >= 3 ? m->params[m->nparams - 1] : "", next);
	free(irc.nick);
	irc.nick = next;
	params[0] = irc.nick;
	irc_send_now("NICK", params, 1);
}

/* A PRIVMSG: to the daemon as a chat line; CTCP VERSION answered. */
static void
irc_privmsg(const struct irc_msg *m)
{
	static const char	 version[] = "\001VERSION supervisor irc "
	    "connector " IRC_VERSION "\001";
	const char		*params[2];
	const char		*target, *channel;
	char			 text[IRC_MAX_INPUT + 1];

	if (m->nparams < 2 || m->prefix == NULL || m->user == NULL ||
	    m->host == NULL || irc_from_self(m))
		return;
	target = m->params[0];
	if (irc_is_channel(target))
		channel = target;
	else if (irc.nick != NULL && irc_casecmp(target, irc.nick) == 0)
		channel = m->nick;	/* private: answer the sender */
	else
		return;
	strlcpy_(text, m->params[1], sizeof text);
	if (text[0] == '\001') {
		if (strncmp(text + 1, "VERSION", 7) == 0 &&
		    (text[8] == '\001' || text[8] == '\0')) {
			params[0] = m->nick;
			params[1] = version;
			irc_send_paced("NOTICE", params, 2);
		}
		return;		/* ACTION and the rest: not for the bot */
	}
	irc_clean_text(text);
	if (*text == '\0')
		return;
	sdk_chat(irc.platform, channel, m->prefix, text);
}

/* Who logs in, for log lines: the SASL user, or the certificate's. */
static const char *
irc_sasl_who(void)
{
	if (irc.sasl_mech == IRC_MECH_EXTERNAL && irc.sasl_user == NULL)
		return "the certificate's account";
	return irc.sasl_user;
}

/* Negotiation is over: let the server register us. */
static void
irc_cap_end(void)
{
	const char	*params[1] = { "END" };

	irc.cap_phase = IRC_CAPS_DONE;
	irc_send_now("CAP", params, 1);
}

/*
 * SASL did not log us in. With sasl_required the attempt fails (and backs
 * off) before the server registers us, so the bot never sits in a channel
 * unidentified; otherwise it goes on without an account.
 */
static void
irc_sasl_failed(const char *fmt, ...)
{
	const char	*params[1] = { "SASL login failed" };
	va_list		 ap;
	char		*why;

	va_start(ap, fmt);
	xvasprintf(&why, fmt, ap);
	va_end(ap);
	if (irc.sasl_required) {
		irc_send_now("QUIT", params, 1);
		irc_fail("%s", why);
	} else {
		log_warnx("%s; going on without logging in (sasl_required "
		    "is false)", why);
		/* While choosing from CAP LS, the REQ without sasl comes next. */
		if (irc.cap_phase != IRC_CAPS_DONE &&
		    irc.cap_phase != IRC_CAPS_LS)
			irc_cap_end();
	}
	free(why);
}

/* The whole CAP LS list is in: request what we use and the server has. */
static void
irc_cap_choose(void)
{
	const char	*params[2];
	char		 list[128];
	unsigned	 want = IRC_CAP_MULTI_PREFIX;

	if (irc.sasl_mech != IRC_MECH_NONE) {
		const char *mech = irc.sasl_mech == IRC_MECH_PLAIN ? "PLAIN" :
		    "EXTERNAL";

		if ((irc.caps.offered & IRC_CAP_SASL) == 0) {
			irc_sasl_failed("SASL login as %s impossible: the "
			    "server does not offer SASL", irc_sasl_who());
			if (irc.fd == -1)
				return;
		} else if (!irc_sasl_mech_offered(irc.caps.sasl_mechs, mech)) {
			irc_sasl_failed("SASL login as %s impossible: the "
			    "server offers %s, not %s", irc_sasl_who(),
			    irc.caps.sasl_mechs, mech);
			if (irc.fd == -1)
				return;
		} else
			want |= IRC_CAP_SASL;
	}
	if (irc_cap_req(want & irc.caps.offered, list, sizeof list) == 0) {
		if (irc.cap_phase != IRC_CAPS_DONE)
			irc_cap_end();
		return;
	}
	params[0] = "REQ";
	params[1] = list;
	irc.cap_phase = IRC_CAPS_REQ;
	irc_send_now("CAP", params, 2);
}

/* CAP from the server: LS (the list), ACK or NAK (of our REQ). */
static void
irc_cap(const struct irc_msg *m)
{
	struct irc_cap_msg	 c;
	const char		*cause, *params[1];

	if (irc_cap_parse(m, &c, &cause) == -1) {
		log_warnx("server's CAP: %s", cause);
		return;
	}
	if (strcasecmp(c.sub, "LS") == 0 && irc.cap_phase == IRC_CAPS_LS) {
		irc_cap_ls(&irc.caps, c.list);
		if (c.more)
			return;
		irc.caps.ls_done = 1;
		log_debug("server capabilities: %s", c.list);
		irc_cap_choose();
	} else if (strcasecmp(c.sub, "ACK") == 0 &&
	    irc.cap_phase == IRC_CAPS_REQ) {
		irc.caps_acked |= irc_cap_list(c.list);
		log_info("capabilities: %s", c.list);
		if (irc.sasl_mech != IRC_MECH_NONE &&
		    (irc.caps_acked & IRC_CAP_SASL) != 0) {
			params[0] = irc.sasl_mech == IRC_MECH_PLAIN ? "PLAIN" :
			    "EXTERNAL";
			irc.cap_phase = IRC_CAPS_SASL;
			irc.sasl_in.len = 0;
			irc.sasl_sent = 0;
			irc_send_now("AUTHENTICATE", params, 1);
		} else
			irc_cap_end();
	} else if (strcasecmp(c.sub, "NAK") == 0 &&
	    irc.cap_phase == IRC_CAPS_REQ) {
		log_warnx("the server refused capabilities: %s", c.list);
		if (irc.sasl_mech != IRC_MECH_NONE &&
		    (irc_cap_list(c.list) & IRC_CAP_SASL) != 0) {
			irc_sasl_failed("SASL login as %s impossible: the "
			    "server refused the sasl capability",
			    irc_sasl_who());
			if (irc.fd == -1 || irc.cap_phase == IRC_CAPS_DONE)
				return;
		}
		irc_cap_end();
	} else
		log_debug("CAP %s %s", c.sub, c.list);
}

/* Send one chunk of our SASL message. */
static void
irc_sasl_chunk(const char *chunk, void *arg)
{
	const char	*params[1] = { chunk };

	if (irc.fd != -1)
		irc_send_now("AUTHENTICATE", params, 1);
}

/*
 * AUTHENTICATE from the server: its (empty) challenge, in chunks. PLAIN
 * answers with the user and password, EXTERNAL with "+" (the account of
 * the client certificate). The password is never logged.
 */
static void
irc_authenticate(const struct irc_msg *m)
{
	const char	*cause, *params[1] = { "*" };
	char		 out[IRC_SASL_MAX_OUT];
	int		 r;

	if (irc.cap_phase != IRC_CAPS_SASL || m->nparams < 1) {
		log_debug("AUTHENTICATE from the server ignored");
		return;
	}
	if ((r = irc_sasl_input(&irc.sasl_in, m->params[0], &cause)) == 0)
		return;
	if (r == -1 || irc.sasl_in.len != 0 || irc.sasl_sent) {
		if (r != -1)
			cause = irc.sasl_sent ? "a second challenge from "
			    "the server" : "a challenge from the server where "
			    "none is expected";
		irc.sasl_in.len = 0;
		irc_send_now("AUTHENTICATE", params, 1);	/* abort */
		irc_sasl_failed("SASL login as %s aborted: %s", irc_sasl_who(),
		    cause);
		return;
	}
	irc.sasl_sent = 1;
	if (irc.sasl_mech == IRC_MECH_EXTERNAL) {
		params[0] = "+";
		irc_send_now("AUTHENTICATE", params, 1);
		return;
	}
	if (irc_sasl_plain(irc.sasl_user, irc.sasl_password, out, sizeof out,
	    &cause) == -1) {
		irc_send_now("AUTHENTICATE", params, 1);
		irc_sasl_failed("SASL login as %s: %s", irc_sasl_who(), cause);
		return;
	}
	irc_sasl_chunks(out, irc_sasl_chunk, NULL);
	explicit_bzero(out, sizeof out);
}

/* 900-908: how the SASL login went. */
static void
irc_sasl_reply(const struct irc_msg *m)
{
	const char	*text = m->nparams >= 1 ? m->params[m->nparams - 1] :
	    "";

	switch (irc_sasl_numeric(m->numeric)) {
	case IRC_SASL_LOGGEDIN:
		log_info("logged in as %s", m->nparams >= 3 ? m->params[2] :
		    "?");
		break;
	case IRC_SASL_LOGGEDOUT:
		log_warnx("logged out: %s", text);
		break;
	case IRC_SASL_SUCCESS:
		if (irc.cap_phase != IRC_CAPS_SASL)
			break;
		irc.sasl_ok = 1;
		log_info("SASL login as %s succeeded (%s %s)", irc_sasl_who(),
		    m->command, text);
		irc_cap_end();
		break;
	case IRC_SASL_FAILURE:
		if (irc.cap_phase != IRC_CAPS_SASL)
			break;
		irc_sasl_failed("SASL login as %s failed: %s %s",
		    irc_sasl_who(), m->command, text);
		break;
	case IRC_SASL_MECHS:
		log_warnx("the server offers SASL mechanisms %s",
		    m->nparams >= 2 ? m->params[1] : "?");
		break;
	case IRC_SASL_NONE:
		break;
	}
}

/* One line from the server. */
static void
irc_handle(const struct irc_msg *m)
{
	struct irc_channel	*ch;
	const char		*params[1];

	switch (m->numeric) {
	case 1:				/* RPL_WELCOME */
		if (irc.state != IRC_REGISTERING)
			return;
		/*
		 * Registered without CAP END: the server has no CAP (or
		 * ignored it). A bot that must log in leaves unidentified.
		 */
		if (irc.sasl_mech != IRC_MECH_NONE && !irc.sasl_ok &&
		    (irc.sasl_required || irc.cap_phase != IRC_CAPS_DONE)) {
			irc_sasl_failed("SASL login as %s impossible: the "
			    "server registered us without it (no CAP "
			    "support?)", irc_sasl_who());
			if (irc.fd == -1)
				return;
		}
		irc.cap_phase = IRC_CAPS_DONE;
		irc_welcome(m);
		return;
	case 410:			/* ERR_INVALIDCAPCMD */
		log_warnx("the server refused our CAP command: %s",
		    m->nparams >= 1 ? m->params[m->nparams - 1] : "");
		if (irc.state == IRC_REGISTERING &&
		    irc.cap_phase != IRC_CAPS_DONE)
			irc_cap_end();
		return;
	case 421:			/* ERR_UNKNOWNCOMMAND */
		if (m->nparams >= 2 && strcasecmp(m->params[1], "CAP") == 0 &&
		    irc.cap_phase == IRC_CAPS_LS) {
			log_info("the server has no CAP: no capabilities");
			irc.cap_phase = IRC_CAPS_DONE;
			if (irc.sasl_mech != IRC_MECH_NONE)
				irc_sasl_failed("SASL login as %s impossible: "
				    "the server does not know CAP",
				    irc_sasl_who());
		}
		return;
	case 900: case 901: case 902: case 903: case 904:
	case 905: case 906: case 907: case 908:
		irc_sasl_reply(m);
		return;
	case 432:			/* ERR_ERRONEUSNICKNAME */
	case 433:			/* ERR_NICKNAMEINUSE */
	case 436:			/* ERR_NICKCOLLISION */
	case 437:			/* ERR_UNAVAILRESOURCE */
		irc_nick_refused(m);
		return;
	case 471:			/* ERR_CHANNELISFULL */
	case 473:			/* ERR_INVITEONLYCHAN */
	case 474:			/* ERR_BANNEDFROMCHAN */
	case 475:			/* ERR_BADCHANNELKEY */
		if (m->nparams >= 2 &&
		    (ch = irc_channel_find(m->params[1])) != NULL) {
			log_warnx("cannot join %s: %s; again in %.0f s",
			    ch->name, m->nparams >= 3 ? m->params[2] :
			    m->command, IRC_JOIN_RETRY);
			irc_timer_set(&ch->timer, IRC_JOIN_RETRY, irc_rejoin,
			    ch);
		}
		return;
	case -1:
		break;
	default:
		return;
	}

	if (strcmp(m->command, "PING") == 0) {
		params[0] = m->nparams >= 1 ? m->params[m->nparams - 1] : "";
		irc_send_now("PONG", params, m->nparams >= 1 ? 1 : 0);
	} else if (strcmp(m->command, "CAP") == 0) {
		irc_cap(m);
	} else if (strcmp(m->command, "AUTHENTICATE") == 0) {
		irc_authenticate(m);
	} else if (strcmp(m->command, "PRIVMSG") == 0) {
		if (irc.state == IRC_REGISTERED)
			irc_privmsg(m);
	} else if (strcmp(m->command, "ERROR") == 0) {
		irc_fail("server said ERROR: %s", m->nparams >= 1 ?
		    m->params[0] : "");
	} else if (strcmp(m->command, "JOIN") == 0 && irc_from_self(m) &&
	    m->nparams >= 1) {
		irc_learn_self(m->user, m->host);
		if ((ch = irc_channel_find(m->params[0])) != NULL) {
			ch->joined = 1;
			irc_timer_clear(&ch->timer);
		}
		log_info("joined %s", m->params[0]);
	} else if ((strcmp(m->command, "KICK") == 0 && m->nparams >= 2 &&
	    irc.nick != NULL && irc_casecmp(m->params[1], irc.nick) == 0) ||
	    (strcmp(m->command, "PART") == 0 && m->nparams >= 1 &&
	    irc_from_self(m))) {
		if ((ch = irc_channel_find(m->params[0])) == NULL)
			return;
		ch->joined = 0;
		log_warnx("%s from %s by %s%s%s; rejoining in %.1f s",
		    m->command[0] == 'K' ? "kicked" : "parted", ch->name,
		    m->nick != NULL ? m->nick : "?",
		    m->nparams >= 3 ? ": " : "", m->nparams >= 3 ?
		    m->params[2] : "", irc.rejoin_delay);
		irc_timer_set(&ch->timer, irc.rejoin_delay, irc_rejoin, ch);
	} else if (strcmp(m->command, "NICK") == 0 && irc_from_self(m) &&
	    m->nparams >= 1) {
		log_info("nick is now %s", m->params[0]);
		irc_set_nick(m->params[0]);
		if (irc_casecmp(irc.nick, irc.nicks[0]) == 0)
			irc_timer_clear(&irc.t_regain);
	} else if ((strcmp(m->command, "NICK") == 0 ||
	    strcmp(m->command, "QUIT") == 0) && m->nick != NULL &&
	    irc.t_regain != 0 && irc_casecmp(m->nick, irc.nicks[0]) == 0) {
		/* Whoever had our nick just left it: take it now. */
		irc_timer_clear(&irc.t_regain);
		irc_regain(NULL);
	}
	/* NOTICE and everything else: a bot never answers NOTICEs. */
}

/* One complete line, CR stripped. */
static void
irc_line(const char *line, size_t len)
{
	static struct irc_msg	 m;	/* 17 KB: not on the stack */
	const char		*cause;

	if (len == 0)
		return;
	if (irc_parse(&m, line, len, &cause) != 0) {
		log_warnx("unparsable line from the server (%s): %.80s", cause,
		    line);
		return;
	}
	irc_handle(&m);
}

/*
 * Split what was read into lines, keeping a partial line for the next read.
 * Returns -1 if a line's handling closed the connection.
 */
static int
irc_input(const char *buf, size_t n)
{
	const char	*p = buf, *nl, *end = buf + n;
	size_t		 chunk, len;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		chunk = (size_t)((nl != NULL ? nl : end) - p);
		if (!irc.discarding) {
			if (irc.rlen + chunk > IRC_MAX_INPUT + 1) {
				log_warnx("line longer than %d bytes from the "
				    "server discarded", IRC_MAX_INPUT);
				irc.discarding = 1;
				irc.rlen = 0;
			} else {
				memcpy(irc.rbuf + irc.rlen, p, chunk);
				irc.rlen += chunk;
			}
		}
		if (nl == NULL)
			break;
		if (!irc.discarding) {
			len = irc.rlen;
			if (len > 0 && irc.rbuf[len - 1] == '\r')
				len--;
			irc.rlen = 0;
			irc_line(irc.rbuf, len);
			if (irc.fd == -1)
				return -1;
		}
		irc.rlen = 0;
		irc.discarding = 0;
		p = nl + 1;
	}
	return 0;
}

/*
 * Go on with the TLS handshake; when it is done, register. A failed
 * certificate check is a failed attempt like a refused connect: it backs
 * off (the next address would show the same certificate).
 */
static void
irc_tls_step(void)
{
	char	*cause = NULL;
	int	 r;

	r = irc_tls_handshake(irc.tls_session, &cause);
	if (r == IRC_TLS_WANT_READ || r == IRC_TLS_WANT_WRITE) {
		irc_want_write(r == IRC_TLS_WANT_WRITE);
		return;
	}
	if (r == -1) {
		irc_fail("%s", cause);
		free(cause);
		return;
	}
	irc_timer_clear(&irc.t_timeout);
	irc_want_write(0);
	log_info("TLS to %s:%s: %s, certificate %s", irc.server, irc.port,
	    irc_tls_describe(irc.tls_session), irc.tls_config.verify ?
	    "checked" : "NOT checked");
	irc_register();
}

/* The TCP connection is up: start TLS on it. */
static void
irc_tls_start(void)
{
	char	*cause = NULL;

	irc.state = IRC_HANDSHAKE;
	if ((irc.tls_session = irc_tls_new(&irc.tls_config, irc.fd,
	    &cause)) == NULL) {
		irc_fail("%s", cause);
		free(cause);
		return;
	}
	irc_timer_set(&irc.t_timeout, irc.connect_timeout, irc_timeout, NULL);
	irc_tls_step();
}

/* The connect finished: 0 if it worked; else move on to the next address. */
static void
irc_connected(void)
{
	socklen_t	 slen = sizeof(int);
	int		 err = 0;

	if (getsockopt(irc.fd, SOL_SOCKET, SO_ERROR, &err, &slen) == -1)
		err = errno;
	if (err == 0) {
		struct sockaddr_storage	ss;

		slen = sizeof ss;
		if (getpeername(irc.fd, (struct sockaddr *)&ss, &slen) == -1) {
			if (errno == ENOTCONN)
				return;		/* not yet */
			err = errno;
		}
	}
	if (err != 0) {
		irc_next_addr(err);
		return;
	}
	irc_timer_clear(&irc.t_timeout);
	irc_want_write(0);
	if (irc.tls)
		irc_tls_start();
	else
		irc_register();
}

/*
 * Read what TLS has: everything it can decrypt now, since bytes it has
 * already taken from the socket wake no poll.
 */
static void
irc_tls_input(void)
{
	char	 buf[16384];
	char	*cause = NULL;
	ssize_t	 n;

	for (;;) {
		n = irc_tls_read(irc.tls_session, buf, sizeof buf, &cause);
		if (n == IRC_TLS_WANT_READ) {
			irc_want_write(irc.wlen > 0);
			return;
		}
		if (n == IRC_TLS_WANT_WRITE) {
			irc_want_write(1);
			return;
		}
		if (n == -1) {
			irc_fail("%s", cause);
			free(cause);
			return;
		}
		if (n == 0) {
			irc_fail("the server closed the connection");
			return;
		}
		irc.last_rx = clock_mono();
		if (irc_input(buf, (size_t)n) == -1)
			return;
	}
}

/* The socket is readable or writable (or broken). */
static void
irc_io(int fd, void *arg)
{
	char	buf[16384];
	ssize_t	n;

	if (irc.state == IRC_CONNECTING) {
		irc_connected();
		return;
	}
	if (irc.state == IRC_HANDSHAKE) {
		irc_tls_step();
		return;
	}
	if (irc.wlen > 0 && irc_flush() == -1)
		return;
	if (irc.tls_session != NULL) {
		irc_tls_input();
		return;
	}
	n = read(fd, buf, sizeof buf);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		irc_fail("read: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		irc_fail("the server closed the connection");
		return;
	}
	irc.last_rx = clock_mono();
	irc_input(buf, (size_t)n);
}

/*
 * The daemon says something: to a channel, or privately to the nick a
 * private line came from (the event's channel is that nick).
 */
static void
irc_say(const char *platform, const char *channel, const char *user,
    const char *text, void *arg)
{
	if (irc.state != IRC_REGISTERED) {
		irc_hold(channel, text);
		return;
	}
	irc_send_text("PRIVMSG", channel, text);
}

/* The daemon stops us: say goodbye to the server, as far as it listens. */
static void
irc_shutdown(void *arg)
{
	const char	*params[1] = { irc.quit_message };

	/*
	 * Lines past the bucket may wait in the write buffer, one perhaps
	 * half written: QUIT goes behind them, not over them.
	 */
	if (irc.state == IRC_REGISTERING || irc.state == IRC_REGISTERED) {
		if (irc_send_now("QUIT", params, 1) == 0)
			log_info("quit %s:%s", irc.server, irc.port);
	}
	irc_timer_clear(&irc.t_retry);
	if (irc.state != IRC_IDLE)
		irc_disconnect();
}

/* A number from the config within [min, max], else the default. */
static double
irc_config_num(const char *key, double def, double min, double max)
{
	double	v = sdk_config_double(key, def);

	if (!(v >= min && v <= max)) {
		log_warnx("config \"%s\": %g is not within %g to %g: using %g",
		    key, v, min, max, def);
		return def;
	}
	return v;
}

/* The tls_* keys. A client certificate's fingerprint is logged, for CertFP. */
static void
irc_configure_tls(void)
{
	struct irc_tls_config	*tc = &irc.tls_config;
	char			 fp[65], *cause;

	tc->verify = sdk_config_bool("tls_verify", 1);
	tc->ca_file = sdk_config_str("tls_ca_file", NULL);
	tc->cert_file = sdk_config_str("tls_cert_file", NULL);
	tc->key_file = sdk_config_str("tls_key_file", NULL);
	tc->server_name = sdk_config_str("tls_server_name", irc.server);
	if (!irc.tls) {
		if (tc->ca_file != NULL || tc->cert_file != NULL ||
		    tc->key_file != NULL || sdk_config_str("tls_server_name",
		    NULL) != NULL)
			log_warnx("config: tls is false: the tls_* keys are "
			    "not used");
		return;
	}
	if (tc->key_file != NULL && tc->cert_file == NULL)
		fatalx("config: \"tls_key_file\" needs \"tls_cert_file\"");
	/* A DNS name is at most 253 bytes (RFC 1035); an address is shorter. */
	if (strlen(tc->server_name) == 0 || strlen(tc->server_name) > 253 ||
	    strpbrk(tc->server_name, " \t\r\n/") != NULL)
		fatalx("config \"tls_server_name\": \"%.64s\" is not a host "
		    "name or address", tc->server_name);
	if (tc->cert_file != NULL) {
		if (irc_tls_cert_fingerprint(tc->cert_file, fp, sizeof fp,
		    &cause) == -1) {
			log_warnx("config \"tls_cert_file\": %s: %s",
			    tc->cert_file, cause);
			free(cause);
		} else
			log_info("client certificate %s, SHA-256 fingerprint "
			    "%s", tc->cert_file, fp);
	}
}

/*
 * The sasl_* keys. The mechanism is PLAIN when a password is given,
 * EXTERNAL only when asked for (it needs the client certificate). The
 * password file is read once, with bounds, and its contents never logged.
 */
static void
irc_configure_sasl(void)
{
	const char	*mech, *password, *file, *cause;
	int		 mode;

	mech = sdk_config_str("sasl_mechanism", NULL);
	password = sdk_config_str("sasl_password", NULL);
	file = sdk_config_str("sasl_password_file", NULL);
	if (password != NULL && file != NULL)
		fatalx("config: give \"sasl_password\" or "
		    "\"sasl_password_file\", not both");
	if (mech == NULL)
		irc.sasl_mech = password != NULL || file != NULL ?
		    IRC_MECH_PLAIN : IRC_MECH_NONE;
	else if (strcasecmp(mech, "PLAIN") == 0)
		irc.sasl_mech = IRC_MECH_PLAIN;
	else if (strcasecmp(mech, "EXTERNAL") == 0)
		irc.sasl_mech = IRC_MECH_EXTERNAL;
	else
		fatalx("config \"sasl_mechanism\": \"%s\" is neither "
		    "PLAIN nor EXTERNAL", mech);
	irc.sasl_user = sdk_config_str("sasl_user", irc.sasl_mech ==
	    IRC_MECH_PLAIN ? irc.nicks[0] : NULL);
	irc.sasl_required = sdk_config_bool("sasl_required",
	    irc.sasl_mech != IRC_MECH_NONE);
	if (irc.sasl_mech == IRC_MECH_NONE) {
		if (irc.sasl_user != NULL)
			log_warnx("config: \"sasl_user\" without a password "
			    "or \"sasl_mechanism\": no SASL login");
		irc.sasl_required = 0;
		return;
	}
	if (irc.sasl_user != NULL && (strlen(irc.sasl_user) == 0 ||
	    strlen(irc.sasl_user) > IRC_SASL_MAX_USER))
		fatalx("config \"sasl_user\": 1 to %d bytes",
		    IRC_SASL_MAX_USER);
	if (irc.sasl_mech == IRC_MECH_EXTERNAL) {
		if (!irc.tls || irc.tls_config.cert_file == NULL)
			fatalx("config: SASL EXTERNAL needs tls and "
			    "\"tls_cert_file\" (the certificate is the login)");
		if (password != NULL || file != NULL)
			log_warnx("config: SASL EXTERNAL uses no password: "
			    "the sasl password is not used");
		return;
	}
	if (file != NULL) {
		if (irc_secret_read(file, irc.sasl_password,
		    sizeof irc.sasl_password, &mode, &cause) == -1)
			fatalx("config \"sasl_password_file\": %s: %s", file,
			    cause);
		if (mode & 0004)
			log_warnx("config \"sasl_password_file\": %s can be "
			    "read by every user (mode %04o): chmod 600 it",
			    file, mode);
	} else if (password != NULL) {
		if (strlen(password) == 0 ||
		    strlen(password) > IRC_SASL_MAX_PASSWORD)
			fatalx("config \"sasl_password\": 1 to %d bytes",
			    IRC_SASL_MAX_PASSWORD);
		strlcpy_(irc.sasl_password, password,
		    sizeof irc.sasl_password);
	} else
		fatalx("config: SASL PLAIN needs \"sasl_password\" or "
		    "\"sasl_password_file\"");
	if (!irc.tls)
		log_warnx("config: SASL PLAIN without TLS: the password "
		    "crosses the network in the clear");
}

/* Read the config; nothing works without a nick, so its absence is fatal. */
static void
irc_configure(void *arg)
{
	const char		*chans[IRC_MAX_CHANNELS];
	struct irc_channel	*ch;
	const char		*sp;
	size_t			 n, i;
	double			 port;

	irc.platform = sdk_config_str("platform", "irc");
	irc.server = sdk_config_str("server", "127.0.0.1");
	/* TLS unless told otherwise, or given a port other than 6697. */
	port = sdk_config_double("port", NAN);
	irc.tls = sdk_config_bool("tls", isnan(port) || port == 6697);
	if (isnan(port))
		port = irc.tls ? 6697 : 6667;
	else if (!(port >= 1 && port <= 65535)) {
		log_warnx("config \"port\": %g is not within 1 to 65535: "
		    "using %d", port, irc.tls ? 6697 : 6667);
		port = irc.tls ? 6697 : 6667;
	}
	snprintf(irc.port, sizeof irc.port, "%d", (int)port);
	irc_configure_tls();
	if ((irc.nicks[0] = sdk_config_str("nick", NULL)) == NULL)
		fatalx("config: \"nick\" is required");
	n = sdk_config_strv("alt_nicks", irc.nicks + 1, IRC_MAX_NICKS - 1);
	if (n > IRC_MAX_NICKS - 1) {
		log_warnx("config \"alt_nicks\": only the first %d are used",
		    IRC_MAX_NICKS - 1);
		n = IRC_MAX_NICKS - 1;
	}
	irc.nnicks = 1 + n;
	for (i = 0; i < irc.nnicks; i++) {
		if (!irc_valid_target(irc.nicks[i]) ||
		    irc_is_channel(irc.nicks[i]))
			fatalx("config: \"%s\" is not a valid nick",
			    irc.nicks[i]);
	}
	irc.user = sdk_config_str("user", irc.nicks[0]);
	if (!irc_valid_target(irc.user))
		fatalx("config: user \"%s\" is not one word", irc.user);
	irc.realname = sdk_config_str("realname", "supervisor chat bot");
	irc.password = sdk_config_str("password", NULL);
	irc.quit_message = sdk_config_str("quit_message", "bot host stopping");

	n = sdk_config_strv("channels", chans, IRC_MAX_CHANNELS);
	if (n > IRC_MAX_CHANNELS) {
		log_warnx("config \"channels\": only the first %d are joined",
		    IRC_MAX_CHANNELS);
		n = IRC_MAX_CHANNELS;
	}
	for (i = 0; i < n; i++) {
		ch = &irc.channels[irc.nchannels];
		/* "#chan key" joins a channel with a key. */
		if ((sp = strchr(chans[i], ' ')) != NULL) {
			ch->name = xstrndup(chans[i], (size_t)(sp - chans[i]));
			ch->key = xstrdup(sp + 1);
		} else
			ch->name = xstrdup(chans[i]);
		if (!irc_is_channel(ch->name) || !irc_valid_target(ch->name) ||
		    (ch->key != NULL && !irc_valid_target(ch->key))) {
			log_warnx("config \"channels\": \"%s\" is not a "
			    "channel name: skipped", chans[i]);
			free(ch->name);
			free(ch->key);
			memset(ch, 0, sizeof *ch);
			continue;
		}
		irc.nchannels++;
	}

	irc.rate = irc_config_num("rate", 1, 0.01, 1000);
	irc.burst = irc_config_num("burst", 4, 1, 1000);
	irc.rejoin_delay = irc_config_num("rejoin_delay", 5, 0, 86400);
	irc.connect_timeout = irc_config_num("connect_timeout", 10, 0.1, 600);
	irc.register_timeout = irc_config_num("register_timeout", 60, 0.1, 600);
	irc.ping_interval = irc_config_num("ping_interval", 60, 1, 3600);
	irc.regain_interval = irc_config_num("regain_interval", 60, 0, 86400);
	irc.policy.initial = irc_config_num("reconnect.initial", 1, 0, 3600);
	irc.policy.multiplier = irc_config_num("reconnect.multiplier", 2, 1,
	    100);
	irc.policy.max = irc_config_num("reconnect.max", 120, 0, 86400);
	irc.policy.jitter = irc_config_num("reconnect.jitter", 0.2, 0, 1);
	irc.policy.max_failures = (unsigned)irc_config_num(
	    "reconnect.max_failures", 8, 1, 1000);
	irc.policy.window = irc_config_num("reconnect.window", 300, 1, 86400);
	irc.policy.cooldown = irc_config_num("reconnect.cooldown", 600, 0,
	    86400);
	irc.policy.stable = irc_config_num("reconnect.stable", 60, 0, 86400);
	irc_reconnect_init(&irc.reconnect, &irc.policy);
	irc_configure_sasl();

	log_info("server %s:%s (%s), nick %s, %zu channels, %g lines/s "
	    "burst %g%s%s", irc.server, irc.port, irc.tls ? "TLS" :
	    "plain TCP", irc.nicks[0], irc.nchannels, irc.rate, irc.burst,
	    irc.sasl_mech == IRC_MECH_NONE ? "" : irc.sasl_mech ==
	    IRC_MECH_PLAIN ? ", SASL PLAIN" : ", SASL EXTERNAL",
	    irc.sasl_mech != IRC_MECH_NONE && !irc.sasl_required ?
	    " (not required)" : "");
	/* Connect once the handshake is done: timers start only then. */
	irc.t_retry = sdk_timer(0, irc_connect_start, NULL);
}

int
main(int argc, char **argv)
{
	TAILQ_INIT(&irc.queue);
	sdk_init("irc", IRC_VERSION);
	sdk_on_ready(irc_configure, NULL);
	sdk_on_say(irc_say, NULL);
	sdk_on_shutdown(irc_shutdown, NULL);
	return sdk_run();
}

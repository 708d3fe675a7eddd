/*
 * notify.c: systemd's service notification protocol (sd_notify(3)), by hand.
 *
 * A notification is one datagram of "KEY=VALUE" lines to the Unix socket
 * named by $NOTIFY_SOCKET: a path, or "@name" for the abstract namespace.
 * That is all there is to it; linking libsystemd for it more than doubled
 * the daemon's peak RSS (1.2 -> 2.6 MB, measured for issue 14). Without
 * $NOTIFY_SOCKET (not started by systemd as Type=notify) every call returns
 * at once and nothing is allocated.
 *
 * $WATCHDOG_USEC asks for WATCHDOG=1 at least that often (WatchdogSec=);
 * $WATCHDOG_PID, if set, says which process is meant. The three variables
 * are removed from the environment once read, so plugins do not inherit
 * them (systemd would ignore their messages anyway: NotifyAccess=main).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

/* A notification is a few short lines; STATUS= is cut to fit. */
#define NOTIFY_MAX	1024

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_addr;
static socklen_t		 notify_addrlen;
static double			 notify_watchdog;	/* s between pings, 0: none */
static int			 notify_errno;		/* last send error logged */

/* An unsigned decimal number, all of s; -1 if it is not one. */
static long long
notify_number(const char *s)
{
	char		*end;
	long long	 n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return n;
}

/* The address $NOTIFY_SOCKET names; -1 if it names none. */
static int
notify_address(const char *name)
{
	size_t	len = strlen(name);

	if ((name[0] != '/' && name[0] != '@') || len < 2 ||
	    len >= sizeof notify_addr.sun_path)
		return -1;
	memset(&notify_addr, 0, sizeof notify_addr);
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, name, len);
	if (name[0] == '@') {
		/* Abstract: a leading NUL, and the length says where it ends. */
		notify_addr.sun_path[0] = '\0';
		notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + len);
	} else
		notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un,
		    sun_path) + len + 1);
	return 0;
}

/* Read (and remove) the environment systemd gave; open the socket if any. */
void
notify_init(void)
{
	const char	*sock = getenv("NOTIFY_SOCKET");
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*wpid = getenv("WATCHDOG_PID");
	long long	 n, pid;

	if (sock != NULL && notify_address(sock) == -1)
		log_warnx("NOTIFY_SOCKET=%s: not an absolute path or an @name "
		    "of at most %zu bytes; systemd will not hear from the "
		    "daemon", sock, sizeof notify_addr.sun_path - 1);
	else if (sock != NULL &&
	    (notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		log_warn("NOTIFY_SOCKET: socket");
	if (notify_fd != -1 && usec != NULL) {
		n = notify_number(usec);
		pid = wpid != NULL ? notify_number(wpid) : getpid();
		if (n <= 0)
			log_warnx("WATCHDOG_USEC=%s: not a positive number of "
			    "microseconds; no watchdog pings", usec);
		else if (pid == getpid())
			notify_watchdog = (double)n / 1e6 / 2;
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* 1 if systemd listens: notifications are worth composing. */
int
notify_enabled(void)
{
	return notify_fd != -1;
}

/* Seconds between two WATCHDOG=1 (half of WatchdogSec=), or 0 for none. */
double
notify_watchdog_interval(void)
{
	return notify_watchdog;
}

/*
 * Send one notification, "KEY=VALUE" lines. A failed send is logged once
 * until one succeeds again: systemd gone is no reason to stop the daemon,
 * nor to fill its log every watchdog period.
 */
void
notify_send(const char *fmt, ...)
{
	char	msg[NOTIFY_MAX];
	va_list	ap;
	int	len;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof msg)
		len = sizeof msg - 1;
	if (sendto(notify_fd, msg, (size_t)len, MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_addrlen) == -1) {
		if (errno != notify_errno)
			log_warn("notify: sending to NOTIFY_SOCKET");
		notify_errno = errno;
		return;
	}
	notify_errno = 0;
}

void
notify_free(void)
{
	if (notify_fd != -1)
		close(notify_fd);
	notify_fd = -1;
	notify_watchdog = 0;
}

/*
 * hostile: a test plugin that, on command, tries one escape from its
 * sandbox and replies with what happened: "NAME: ok" or "NAME: ERRNO"
 * (e.g. "config: EACCES"). Owns the command "escape":
 *
 *	!escape control		connect to the control socket and ask it to
 *				stop plugin "victim" ("closed" if refused)
 *	!escape config		open the config file for reading
 *	!escape state		list the state directory
 *	!escape write		create the file "outside"
 *	!escape ptrace-daemon	PTRACE_ATTACH to the daemon (then detach)
 *	!escape ptrace PID	PTRACE_ATTACH to PID, a sibling plugin
 *	!escape kill PID	send SIGCONT to PID, a sibling plugin
 *	!escape tcp		connect to 127.0.0.1:"tcp_port"
 *	!escape module		finit_module(-1): EPERM if refused, EBADF if
 *				the call went through to the descriptor check
 *	!escape unshare		unshare(0), a no-op unless refused
 *	!escape data		create a file in $SUPERVISOR_DATA_DIR
 *	!escape tmp		create a file in $TMPDIR
 *
 * Config: control_socket, config_file, state_dir, outside, tcp_port.
 */
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/sdk/sdk.h"

/* "EACCES", or the number if glibc has no name for it. */
static const char *
hostile_errno(int e, char *buf, size_t size)
{
	const char	*name = strerrorname_np(e);

	if (name != NULL)
		return name;
	snprintf(buf, size, "errno %d", e);
	return buf;
}

/* Reply "what: ok" for rc 0, "what: ERRNO" otherwise (errno e). */
static void
hostile_result(const struct sdk_event *ev, const char *what, int rc, int e)
{
	char	buf[32];

	if (rc == 0)
		sdk_reply(ev, "%s: ok", what);
	else
		sdk_reply(ev, "%s: %s", what, hostile_errno(e, buf, sizeof buf));
}

/* Ask the control socket to stop "victim"; "closed" if it hangs up. */
static void
hostile_control(const struct sdk_event *ev)
{
	static const char	 req[] = "{\"cmd\": \"stop\", \"plugin\": \"victim\"}\n";
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	const char		*path = sdk_config_str("control_socket", "");
	char			 reply[256];
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		hostile_result(ev, "control", -1, errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		hostile_result(ev, "control", -1, errno);
		close(fd);
		return;
	}
	/* The daemon refuses at accept: the write or the read sees it. */
	if (write(fd, req, sizeof req - 1) == -1) {
		if (errno == EPIPE || errno == ECONNRESET)
			sdk_reply(ev, "control: closed");
		else
			hostile_result(ev, "control", -1, errno);
		close(fd);
		return;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 3000) <= 0 ||
	    (n = read(fd, reply, sizeof reply - 1)) <= 0)
		sdk_reply(ev, "control: closed");
	else {
		reply[n] = '\0';
		reply[strcspn(reply, "\n")] = '\0';
		sdk_reply(ev, "control: ok %s", reply);
	}
	close(fd);
}

/* Attach to pid; if that worked, wait for its stop and let it go. */
static void
hostile_ptrace(const struct sdk_event *ev, const char *what, pid_t pid)
{
	int	status;

	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == -1) {
		hostile_result(ev, what, -1, errno);
		return;
	}
	waitpid(pid, &status, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	hostile_result(ev, what, 0, 0);
}

/* Create (and remove) a file in dir. */
static void
hostile_create(const struct sdk_event *ev, const char *what, const char *dir)
{
	char	path[PATH_MAX];
	int	fd;

	if (dir == NULL) {
		sdk_reply(ev, "%s: not set", what);
		return;
	}
	snprintf(path, sizeof path, "%s/hostile.%ld", dir, (long)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		hostile_result(ev, what, -1, errno);
		return;
	}
	close(fd);
	unlink(path);
	hostile_result(ev, what, 0, 0);
}

/* !escape WHAT [PID] */
static void
hostile_escape(const struct sdk_event *ev, void *arg)
{
	struct sockaddr_in	 sin;
	char			 what[32];
	const char		*rest;
	DIR			*d;
	long			 pid = 0;
	int			 fd, rc, e;

	if (sscanf(ev->args, "%31s", what) != 1) {
		sdk_reply(ev, "usage: escape WHAT [PID]");
		return;
	}
	if ((rest = strchr(ev->args, ' ')) != NULL)
		pid = strtol(rest + 1, NULL, 10);

	if (strcmp(what, "control") == 0)
		hostile_control(ev);
	else if (strcmp(what, "config") == 0) {
		fd = open(sdk_config_str("config_file", ""), O_RDONLY |
		    O_CLOEXEC);
		e = errno;
		if (fd != -1)
			close(fd);
		hostile_result(ev, what, fd == -1 ? -1 : 0, e);
	} else if (strcmp(what, "state") == 0) {
		d = opendir(sdk_config_str("state_dir", ""));
		e = errno;
		if (d != NULL)
			closedir(d);
		hostile_result(ev, what, d == NULL ? -1 : 0, e);
	} else if (strcmp(what, "write") == 0) {
		fd = open(sdk_config_str("outside", ""), O_WRONLY | O_CREAT |
		    O_CLOEXEC, 0600);
		e = errno;
		if (fd != -1)
			close(fd);
		hostile_result(ev, what, fd == -1 ? -1 : 0, e);
	} else if (strcmp(what, "ptrace-daemon") == 0)
		hostile_ptrace(ev, what, getppid());
	else if (strcmp(what, "ptrace") == 0 && pid > 1)
		hostile_ptrace(ev, what, (pid_t)pid);
	else if (strcmp(what, "kill") == 0 && pid > 1) {
		rc = kill((pid_t)pid, SIGCONT);
		hostile_result(ev, what, rc, errno);
	} else if (strcmp(what, "tcp") == 0) {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)sdk_config_int("tcp_port", 1));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
			hostile_result(ev, what, -1, errno);
			return;
		}
		rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
		e = errno;
		close(fd);
		hostile_result(ev, what, rc, e);
	} else if (strcmp(what, "module") == 0) {
		rc = (int)syscall(SYS_finit_module, -1, "", 0);
		hostile_result(ev, what, rc, errno);
	} else if (strcmp(what, "unshare") == 0) {
		rc = (int)syscall(SYS_unshare, 0);
		hostile_result(ev, what, rc, errno);
	} else if (strcmp(what, "data") == 0)
		hostile_create(ev, what, getenv("SUPERVISOR_DATA_DIR"));
	else if (strcmp(what, "tmp") == 0)
		hostile_create(ev, what, getenv("TMPDIR"));
	else
		sdk_reply(ev, "unknown escape %s", what);
}

int
main(int argc, char **argv)
{
	sdk_init("hostile", "1.0.0");
	sdk_command("escape", hostile_escape, NULL);
	return sdk_run();
}

/*
 * proc.c: starting plugin processes. fork + exec with the socketpair end as
 * fd 3, stdout and stderr as pipes, its own process group, and a parent-death
 * signal, so no plugin outlives the daemon.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

extern char **environ;

/* In the child: put fd at target, without close-on-exec. */
static void
proc_child_fd(int fd, int target)
{
	if (fd == target) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(126);
	} else if (dup2(fd, target) == -1)
		_exit(126);
}

/* In the child: set up descriptors, group and signals, then exec. */
static void __attribute__((noreturn))
proc_child(struct plugin *p, int sock, int out, int err, pid_t parent)
{
	struct plugin_config	*pc = p->conf;
	sigset_t		 set;
	int			 nullfd, i;

	/* Move the fds out of the way of 0-3 before placing them. */
	sock = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	if (out != -1)
		out = fcntl(out, F_DUPFD_CLOEXEC, 10);
	err = fcntl(err, F_DUPFD_CLOEXEC, 10);
	if (sock == -1 || err == -1)
		_exit(126);

	/*
	 * Its own process group, so one kill reaches everything it started;
	 * but a terminal plugin stays in the daemon's (foreground) group, or
	 * reading the terminal would stop it with SIGTTIN.
	 */
	if (!pc->terminal)
		setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);

	if (!pc->terminal) {
		if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			_exit(126);
		proc_child_fd(nullfd, STDIN_FILENO);
		proc_child_fd(out, STDOUT_FILENO);
	} else {
		/* The console's stdin and stdout are the daemon's. */
		fcntl(STDIN_FILENO, F_SETFD, 0);
		fcntl(STDOUT_FILENO, F_SETFD, 0);
	}
	proc_child_fd(err, STDERR_FILENO);
	proc_child_fd(sock, IPC_PLUGIN_FD);

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (i = 1; i < NSIG; i++) {
		if (i != SIGKILL && i != SIGSTOP)
			signal(i, SIG_DFL);
	}

	setenv(IPC_PLUGIN_FD_ENV, "3", 1);
	setenv("SUPERVISOR_PLUGIN", pc->name, 1);
	for (i = 0; i < (int)pc->nenv; i++)
		putenv(pc->env[i]);
	execv(pc->argv[0], pc->argv);
	dprintf(STDERR_FILENO, "exec %s: %s\n", pc->argv[0], strerror(errno));
	_exit(127);
}

/*
 * Fork and exec a plugin. Returns the pid and the daemon's ends of the
 * socketpair and pipes (out_fd is -1 for a terminal plugin), or -1.
 */
pid_t
proc_spawn(struct plugin *p, int *sock, int *out_fd, int *err_fd, char **cause)
{
	int	sv[2], outp[2] = { -1, -1 }, errp[2];
	pid_t	pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sv) == -1) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (!p->conf->terminal && pipe2(outp, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail_sv;
	}
	if (pipe2(errp, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail_out;
	}
	/* The child gets a blocking socket: plugins may read it plainly. */
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) & ~O_NONBLOCK);

	switch (pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		close(errp[0]);
		close(errp[1]);
		goto fail_out;
	case 0:
		close(sv[0]);
		if (outp[0] != -1)
			close(outp[0]);
		close(errp[0]);
		proc_child(p, sv[1], outp[1], errp[1], parent);
	}
	/* Also set the group from the parent: no race with a fast kill. */
	if (!p->conf->terminal)
		setpgid(pid, pid);
	close(sv[1]);
	if (outp[1] != -1)
		close(outp[1]);
	close(errp[1]);
	*sock = sv[0];
	*out_fd = outp[0];
	*err_fd = errp[0];
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	if (outp[0] != -1)
		fcntl(outp[0], F_SETFL, O_NONBLOCK);
	return pid;

fail_out:
	if (outp[0] != -1) {
		close(outp[0]);
		close(outp[1]);
	}
fail_sv:
	close(sv[0]);
	close(sv[1]);
	return -1;
}

/* Signal a plugin's whole process group (just the process, for a terminal one). */
void
proc_signal(const struct plugin *p, pid_t pid, int sig)
{
	pid_t	target = p->conf->terminal ? pid : -pid;

	if (pid > 0 && kill(target, sig) == -1 && errno != ESRCH)
		log_warn("kill(%ld, %d)", (long)target, sig);
}

/* "exit 3", "signal SIGKILL (9)", "signal SIGSEGV (11), core dumped". */
const char *
proc_describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		const char	*name = sigabbrev_np(WTERMSIG(status));

		snprintf(buf, size, "signal SIG%s (%d)%s", name ? name : "?",
		    WTERMSIG(status), WCOREDUMP(status) ? ", core dumped" : "");
	} else
		snprintf(buf, size, "status 0x%x", status);
	return buf;
}

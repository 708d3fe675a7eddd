/*
 * proc.c: starting plugin processes. fork + exec with the socketpair end as
 * fd 3, stdout and stderr as pipes, its own process group (and cgroup, see
 * contain.c), and a parent-death signal, so no plugin outlives the daemon.
 * A child that cannot exec says why through a close-on-exec pipe, so a
 * missing interpreter is a failed spawn, not a crash of the program.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

extern char **environ;

/*
 * How long the daemon waits for a child to exec (or say it could not).
 * It is microseconds to a millisecond; this bound only matters for a child
 * stopped before exec, which is then taken as started.
 */
#define PROC_EXEC_WAIT_MS	2000

/* What the child reports when it cannot exec: the step that failed, errno. */
struct proc_exec_error {
	int	step;
	int	error;
};

enum proc_step {
	PROC_STEP_FDS,
	PROC_STEP_CGROUP,
	PROC_STEP_PARENT,
	PROC_STEP_STDIN,
	PROC_STEP_IDENTITY,
	PROC_STEP_SANDBOX,
	PROC_STEP_EXEC,
};

static const char *const proc_step_names[] = {
	[PROC_STEP_FDS] = "placing its descriptors",
	[PROC_STEP_CGROUP] = "joining its cgroup",
	[PROC_STEP_PARENT] = "the daemon was gone",
	[PROC_STEP_STDIN] = "opening /dev/null",
	[PROC_STEP_IDENTITY] = "taking its directory, nice value, group or "
	    "user",
	[PROC_STEP_SANDBOX] = "entering its sandbox",
	[PROC_STEP_EXEC] = "exec",
};

/* In the child: tell the daemon which step failed, and die. */
static void __attribute__((noreturn))
proc_child_fail(int report, enum proc_step step)
{
	struct proc_exec_error	e;

	e.step = (int)step;
	e.error = errno;
	(void)write(report, &e, sizeof e);
	_exit(127);
}

/* In the child: put fd at target, without close-on-exec. */
static void
proc_child_fd(int fd, int target, int report)
{
	if (fd == target) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			proc_child_fail(report, PROC_STEP_FDS);
	} else if (dup2(fd, target) == -1)
		proc_child_fail(report, PROC_STEP_FDS);
}

/* In the child: a descriptor in 0-3 moved above them; the same otherwise. */
static int
proc_child_move(int fd)
{
	int	moved;

	if (fd > IPC_PLUGIN_FD)
		return fd;
	if ((moved = fcntl(fd, F_DUPFD_CLOEXEC, IPC_PLUGIN_FD + 1)) != -1)
		close(fd);
	return moved;
}

/*
 * In the child: join the cgroup, set up descriptors, group and signals,
 * then exec. Only async-signal-safe calls up to the exec where it matters
 * (the daemon is single-threaded); a failure goes to report.
 */
static void __attribute__((noreturn))
proc_child(struct plugin *p, int sock, int out, int err, const char *cgroup,
    int report, pid_t parent, const struct sandbox_spawn *sb)
{
	struct plugin_config	*pc = p->conf;
	sigset_t		 set;
	int			 nullfd, i, fd;

	/*
	 * First, so whatever it starts, even before exec, is a member. Opened
	 * here, not in the daemon: one descriptor fewer there per spawn.
	 */
	if (cgroup != NULL) {
		if ((fd = open(cgroup, O_WRONLY | O_CLOEXEC)) == -1 ||
		    write(fd, "0", 1) != 1)
			proc_child_fail(report, PROC_STEP_CGROUP);
		close(fd);
	}

	/*
	 * Move the fds out of the way of 0-3 before placing them; the others
	 * stay (they are close-on-exec already): at the descriptor limit, the
	 * child has only those the daemon's ends left free.
	 */
	if ((report = proc_child_move(report)) == -1)
		_exit(127);
	if ((sock = proc_child_move(sock)) == -1 ||
	    (out != -1 && (out = proc_child_move(out)) == -1) ||
	    (err = proc_child_move(err)) == -1)
		proc_child_fail(report, PROC_STEP_FDS);

	/*
	 * Its own process group, so one kill reaches everything it started;
	 * but a terminal plugin stays in the daemon's (foreground) group, or
	 * reading the terminal would stop it with SIGTTIN.
	 */
	if (!pc->terminal)
		setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) {
		errno = ESRCH;
		proc_child_fail(report, PROC_STEP_PARENT);
	}

	if (!pc->terminal) {
		if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			proc_child_fail(report, PROC_STEP_STDIN);
		proc_child_fd(nullfd, STDIN_FILENO, report);
		proc_child_fd(out, STDOUT_FILENO, report);
	} else {
		/* The console's stdin and stdout are the daemon's. */
		fcntl(STDIN_FILENO, F_SETFD, 0);
		fcntl(STDOUT_FILENO, F_SETFD, 0);
	}
	proc_child_fd(err, STDERR_FILENO, report);
	proc_child_fd(sock, IPC_PLUGIN_FD, report);

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (i = 1; i < NSIG; i++) {
		if (i != SIGKILL && i != SIGSTOP)
			signal(i, SIG_DFL);
	}

	if (identity_apply(&pc->identity) == -1)
		proc_child_fail(report, PROC_STEP_IDENTITY);

	setenv(IPC_PLUGIN_FD_ENV, "3", 1);
	setenv("SUPERVISOR_PLUGIN", pc->name, 1);
	for (i = 0; i < (int)pc->nenv; i++)
		putenv(pc->env[i]);
	putenv((char *)sb->env_data);
	putenv((char *)sb->env_tmp);
	if (sandbox_apply(sb) == -1)
		proc_child_fail(report, PROC_STEP_SANDBOX);
	execv(pc->argv[0], pc->argv);
	proc_child_fail(report, PROC_STEP_EXEC);
}

/*
 * The interpreter a script names on its "#!" line, or "" (not a script, or
 * unreadable). Read in the daemon, only after an exec failed.
 */
static void
proc_interpreter(const char *path, char *buf, size_t size)
{
	struct stat	sb;
	char		line[256];
	ssize_t		n;
	size_t		i, j;
	int		fd;

	buf[0] = '\0';
	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return;
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return;
	line[n] = '\0';
	for (i = 2; line[i] == ' ' || line[i] == '\t'; i++)
		;
	for (j = i; line[j] != '\0' && line[j] != ' ' && line[j] != '\t' &&
	    line[j] != '\n' && line[j] != '\r'; j++)
		;
	line[j] = '\0';
	if (j > i)
		snprintf(buf, size, "%s", line + i);
}

/*
 * Wait for the child to exec: end of file on the report pipe (it is
 * close-on-exec) means it did; a report means it could not, and it has
 * exited: reap it here, so SIGCHLD never sees it as a plugin's exit.
 *
 * Why block: `start` answers start-failed only if the daemon knows before
 * it replies, and a failed exec must be the spawn failure it is, not a
 * STARTING plugin that dies. The wait is the child's way to exec, which it
 * makes on the other core meanwhile. scripts/bench.py's restart gap (a
 * crashing plugin's exit to its next process running, 300 restarts, three
 * runs, 2 cores, subreaper mode so only this differs) measured median
 * 1.16-1.23 ms, p99 1.78-1.92 ms before and median 1.19-1.38 ms, p99
 * 1.65-3.35 ms with it: within the noise of the runs.
 */
static int
proc_wait_exec(struct plugin *p, pid_t pid, int fd, char **cause)
{
	struct pollfd		pfd;
	struct proc_exec_error	e;
	char			interp[256];
	const char		*path = p->conf->argv[0];
	ssize_t			n;
	int			r, status;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, PROC_EXEC_WAIT_MS)) == -1 && errno == EINTR)
		;
	if (r <= 0) {
		log_warnx("plugin %s: pid %ld has not exec'd %s after %d ms; "
		    "taken as started", p->name, (long)pid, path,
		    PROC_EXEC_WAIT_MS);
		return 0;
	}
	while ((n = read(fd, &e, sizeof e)) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof e)
		return 0;
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (e.step < 0 || e.step > PROC_STEP_EXEC)
		e.step = PROC_STEP_EXEC;
	if (e.step != PROC_STEP_EXEC) {
		xasprintf(cause, "exec %s: %s: %s", path,
		    proc_step_names[e.step], strerror(e.error));
		return -1;
	}
	interp[0] = '\0';
	if (e.error == ENOENT || e.error == ENOEXEC || e.error == EACCES)
		proc_interpreter(path, interp, sizeof interp);
	if (interp[0] != '\0')
		xasprintf(cause, "exec %s: %s (interpreter %s)", path,
		    strerror(e.error), interp);
	else
		xasprintf(cause, "exec %s: %s", path, strerror(e.error));
	return -1;
}

/*
 * Fork and exec a plugin. Returns the pid and the daemon's ends of the
 * socketpair and pipes (out_fd is -1 for a terminal plugin), or -1 with
 * *cause: the child could not be made, or could not exec (it is reaped).
 */
pid_t
proc_spawn(struct plugin *p, int *sock, int *out_fd, int *err_fd, char **cause)
{
	int	sv[2], outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int	rep[2] = { -1, -1 };
	char	cgroup[PATH_MAX];
	pid_t	pid, parent = getpid();
	struct sandbox_spawn sb;

	/*
	 * First: its ruleset holds one descriptor through the spawn, and
	 * building it one more for a moment; the pipes are not open yet.
	 */
	if (sandbox_prepare(p, &sb, cause) == -1) {
		sandbox_release(&sb);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sv) == -1) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		sandbox_release(&sb);
		return -1;
	}
	if (!p->conf->terminal && pipe2(outp, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (pipe2(errp, O_CLOEXEC) == -1 || pipe2(rep, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (contain_prepare(p, cgroup, sizeof cgroup, cause) == -1)
		goto fail;
	/* The child gets a blocking socket: plugins may read it plainly. */
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) & ~O_NONBLOCK);

	switch (pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		goto fail;
	case 0:
		close(sv[0]);
		if (outp[0] != -1)
			close(outp[0]);
		close(errp[0]);
		close(rep[0]);
		proc_child(p, sv[1], outp[1], errp[1], cgroup[0] != '\0' ?
		    cgroup : NULL, rep[1], parent, &sb);
	}
	sandbox_release(&sb);
	/* Also set the group from the parent: no race with a fast kill. */
	if (!p->conf->terminal)
		setpgid(pid, pid);
	close(sv[1]);
	if (outp[1] != -1)
		close(outp[1]);
	close(errp[1]);
	close(rep[1]);
	if (proc_wait_exec(p, pid, rep[0], cause) == -1) {
		contain_exited(p);	/* its cgroup goes now */
		close(rep[0]);
		close(sv[0]);
		if (outp[0] != -1)
			close(outp[0]);
		close(errp[0]);
		return -1;
	}
	close(rep[0]);
	*sock = sv[0];
	*out_fd = outp[0];
	*err_fd = errp[0];
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	if (outp[0] != -1)
		fcntl(outp[0], F_SETFL, O_NONBLOCK);
	return pid;

fail:
	sandbox_release(&sb);
	if (rep[0] != -1) {
		close(rep[0]);
		close(rep[1]);
	}
	if (errp[0] != -1) {
		close(errp[0]);
		close(errp[1]);
	}
	if (outp[0] != -1) {
		close(outp[0]);
		close(outp[1]);
	}
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

/*
 * proc.c: starting plugin processes. The child shares the daemon's memory
 * until it execs (clone with CLONE_VM | CLONE_VFORK, the way posix_spawn
 * works): the socketpair end as fd 3, stdout and stderr as pipes, its own
 * process group (and cgroup, see contain.c), and a parent-death signal, so
 * no plugin outlives the daemon. A child that cannot exec says why through
 * a close-on-exec pipe, so a missing interpreter is a failed spawn, not a
 * crash of the program.
 *
 * Why not fork: fork copies the page tables of a daemon that grows with
 * every plugin, and the copy is torn down again at the exec. Starting 1000
 * bench_idle plugins took 1.87 s with fork (100: 87 ms, 21 times as long
 * for 10 times the plugins; copy_page_range and unmap_page_range led the
 * profile); see docs/benchmarks.md for the figures without the copy.
 *
 * The price: between the clone and the exec the child runs in the daemon's
 * memory, on its own stack, while the daemon waits. Everything it does
 * there is an async-signal-safe system call on data the daemon prepared
 * (struct proc_child_args): no malloc, no stdio, no setenv, and nothing
 * written to the daemon's memory (errno aside, which glibc keeps per thread
 * and the child shares). Signals are blocked around the clone so no
 * handler of the daemon's runs in the child; the child puts every
 * disposition the daemon changed back to the default before it unblocks.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "supervisor/supervisor.h"

extern char **environ;

/*
 * How long the daemon waits for a child to exec (or say it could not).
 * It is microseconds to a millisecond; this bound only matters for a child
 * stopped before exec, which is then taken as started.
 */
#define PROC_EXEC_WAIT_MS	2000

/*
 * The child's stack until it execs. One is enough: the daemon is single
 * threaded and waits (CLONE_VFORK) while a child uses it. The child's
 * steps take a few hundred bytes; 64 KiB leaves room for a sanitizer's
 * redzones and for the steps other files add. It is bss: only the pages
 * a child touches are ever resident.
 */
#define PROC_STACK_SIZE		(64 * 1024)

static unsigned char proc_stack[PROC_STACK_SIZE]
    __attribute__((aligned(64)));

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
	PROC_STEP_EXEC,
};

static const char *const proc_step_names[] = {
	[PROC_STEP_FDS] = "placing its descriptors",
	[PROC_STEP_CGROUP] = "joining its cgroup",
	[PROC_STEP_PARENT] = "the daemon was gone",
	[PROC_STEP_STDIN] = "opening /dev/null",
	[PROC_STEP_EXEC] = "exec",
};

/*
 * Everything the child needs, prepared by the daemon before the clone: the
 * child only reads it.
 */
struct proc_child_args {
	int		 sock;		/* the plugin's end of the socketpair */
	int		 out;		/* stdout pipe, -1 for a terminal plugin */
	int		 err;		/* stderr pipe */
	int		 report;	/* the exec-error pipe */
	int		 theirs[4];	/* the daemon's ends, -1 if none */
	int		 terminal;
	const char	*cgroup;	/* cgroup.procs to join, or NULL */
	pid_t		 parent;
	const char	*path;
	char *const	*argv;
	char *const	*envp;
	const int	*signals;	/* dispositions to reset */
	int		 nsignals;
};

/*
 * Signals whose disposition the daemon changed (caught or ignored). The
 * child resets just these: exec resets the caught ones too, but not before
 * the child would run the daemon's handler in the daemon's memory, and it
 * keeps ignored ones ignored. Read once, at the first spawn: the daemon
 * sets its dispositions at start-up (server.c), before any plugin starts.
 * Saves the child about 60 rt_sigaction calls per spawn.
 */
static int	proc_signals[NSIG];
static int	proc_nsignals = -1;

/* Fill proc_signals from the daemon's current dispositions. */
static void
proc_scan_signals(void)
{
	struct sigaction	sa;
	int			i;

	proc_nsignals = 0;
	for (i = 1; i < NSIG; i++) {
		if (i == SIGKILL || i == SIGSTOP)
			continue;
		if (sigaction(i, NULL, &sa) == -1)
			continue;	/* not a signal (glibc's own) */
		if (sa.sa_handler != SIG_DFL)
			proc_signals[proc_nsignals++] = i;
	}
}

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
 * then exec. It runs in the daemon's memory (see the top of the file):
 * system calls on what proc_spawn prepared, nothing else; a failure goes
 * to the report pipe. Returns only to please clone's prototype.
 */
static int
proc_child(void *arg)
{
	const struct proc_child_args	*a = arg;
	struct sigaction		 sa;
	sigset_t			 set;
	int				 nullfd, i, fd, report = a->report;
	int				 sock = a->sock, out = a->out, err = a->err;

	/*
	 * The daemon's ends go first (from the child's copy of the table):
	 * at the descriptor limit they are what makes room for the cgroup
	 * file and /dev/null.
	 */
	for (i = 0; i < (int)nitems(a->theirs); i++) {
		if (a->theirs[i] != -1)
			close(a->theirs[i]);
	}

	/*
	 * First, so whatever it starts, even before exec, is a member. Opened
	 * here, not in the daemon: one descriptor fewer there per spawn.
	 */
	if (a->cgroup != NULL) {
		if ((fd = open(a->cgroup, O_WRONLY | O_CLOEXEC)) == -1 ||
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
	if (!a->terminal)
		setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent) {
		errno = ESRCH;
		proc_child_fail(report, PROC_STEP_PARENT);
	}

	if (!a->terminal) {
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

	/* Signals: defaults, then the empty mask the plugin starts with. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < a->nsignals; i++)
		sigaction(a->signals[i], &sa, NULL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	execve(a->path, a->argv, a->envp);
	proc_child_fail(report, PROC_STEP_EXEC);
}

/* The length of an environment entry's name: up to its '='. */
static size_t
proc_env_name_len(const char *entry)
{
	const char	*eq = strchr(entry, '=');

	return eq != NULL ? (size_t)(eq - entry) : strlen(entry);
}

/* Whether two environment entries name the same variable. */
static int
proc_env_same(const char *a, const char *b)
{
	size_t	n = proc_env_name_len(a);

	return n == proc_env_name_len(b) && strncmp(a, b, n) == 0;
}

/*
 * The plugin's environment, built in the daemon (the child may not call
 * setenv): the daemon's own, then SUPERVISOR_FD=3, SUPERVISOR_PLUGIN=name
 * and the plugin's "env" entries, a later one replacing an earlier one of
 * the same name, as setenv and putenv did in the child before. The array
 * and the two strings are xmalloc'd in one piece; free it with free().
 */
static char **
proc_build_env(const struct plugin_config *pc)
{
	const char	**adds;
	char		**envp, *strings;
	size_t		 nenv = 0, nadd = 0, i, j, k = 0, fixed, namelen;

	for (i = 0; environ != NULL && environ[i] != NULL; i++)
		nenv++;
	namelen = strlen(pc->name);
	fixed = sizeof IPC_PLUGIN_FD_ENV "=3" +
	    sizeof "SUPERVISOR_PLUGIN=" + namelen;
	adds = xcalloc(2 + pc->nenv, sizeof *adds);
	envp = xmalloc((nenv + 2 + pc->nenv + 1) * sizeof *envp + fixed);
	strings = (char *)(envp + nenv + 2 + pc->nenv + 1);
	memcpy(strings, IPC_PLUGIN_FD_ENV "=3", sizeof IPC_PLUGIN_FD_ENV "=3");
	adds[nadd++] = strings;
	strings += sizeof IPC_PLUGIN_FD_ENV "=3";
	memcpy(strings, "SUPERVISOR_PLUGIN=", sizeof "SUPERVISOR_PLUGIN=" - 1);
	memcpy(strings + sizeof "SUPERVISOR_PLUGIN=" - 1, pc->name,
	    namelen + 1);
	adds[nadd++] = strings;
	for (i = 0; i < pc->nenv; i++)
		adds[nadd++] = pc->env[i];

	for (i = 0; i < nenv; i++) {
		for (j = 0; j < nadd && !proc_env_same(environ[i], adds[j]);
		    j++)
			;
		if (j == nadd)
			envp[k++] = environ[i];
	}
	for (i = 0; i < nadd; i++) {
		for (j = i + 1; j < nadd && !proc_env_same(adds[i], adds[j]);
		    j++)
			;
		if (j == nadd)
			envp[k++] = (char *)adds[i];
	}
	envp[k] = NULL;
	free(adds);
	return envp;
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
 * Spawn a plugin (clone, then exec in the child). Returns the pid and the daemon's ends of the
 * socketpair and pipes (out_fd is -1 for a terminal plugin), or -1 with
 * *cause: the child could not be made, or could not exec (it is reaped).
 */
pid_t
proc_spawn(struct plugin *p, int *sock, int *out_fd, int *err_fd, char **cause)
{
	struct proc_child_args	 args;
	sigset_t		 all, old;
	char			 cgroup[PATH_MAX], **envp;
	int			 sv[2], outp[2] = { -1, -1 };
	int			 errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int			 clone_errno;
	pid_t			 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sv) == -1) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
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

	memset(&args, 0, sizeof args);
	args.sock = sv[1];
	args.out = outp[1];
	args.err = errp[1];
	args.report = rep[1];
	args.theirs[0] = sv[0];
	args.theirs[1] = outp[0];
	args.theirs[2] = errp[0];
	args.theirs[3] = rep[0];
	args.terminal = p->conf->terminal;
	args.cgroup = cgroup[0] != '\0' ? cgroup : NULL;
	args.parent = getpid();
	args.path = p->conf->argv[0];
	args.argv = p->conf->argv;
	args.envp = envp = proc_build_env(p->conf);
	if (proc_nsignals == -1)
		proc_scan_signals();
	args.signals = proc_signals;
	args.nsignals = proc_nsignals;

	/*
	 * Every signal blocked across the clone: the child shares the daemon's
	 * memory, so a handler of the daemon's must never run in it. The
	 * child resets the dispositions before it unblocks.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
#if defined(__SANITIZE_ADDRESS__)
	/* The last child left its frames' redzones poisoned on this stack. */
	ASAN_UNPOISON_MEMORY_REGION(proc_stack, sizeof proc_stack);
#endif
	/*
	 * The daemon resumes once the child exec'd or exited (CLONE_VFORK),
	 * so the group the child set is in place before anyone signals it.
	 */
	pid = clone(proc_child, proc_stack + sizeof proc_stack,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
	clone_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(envp);
	if (pid == -1) {
		xasprintf(cause, "clone: %s", strerror(clone_errno));
		goto fail;
	}
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

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
#include <linux/filter.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
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
	PROC_STEP_IDENTITY,
	PROC_STEP_SANDBOX,
	PROC_STEP_PRIORITY,
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
	[PROC_STEP_PRIORITY] = "taking the daemon's scheduling priority",
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
	const struct plugin_identity *identity;	/* identity.c */
	const struct sandbox_spawn *sandbox;	/* sandbox.c */
	int		 renice;	/* from the helper's priority to nice */
	int		 nice;
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
 *
 * A step added here reads only struct proc_child_args. With the spawn
 * helper (64 plugins or more) the child runs in the helper's memory, a
 * copy of the daemon made at start: whatever a step needs that the daemon
 * prepares per spawn travels in the helper's request (struct
 * proc_helper_req: strings, binary and descriptors), as argv, envp, the
 * identity (its groups, its directory) and the sandbox (the seccomp
 * program, the Landlock ruleset's descriptor) do; a new step's data must
 * too, or proc_helper_spawn must return -2 for the plugins that use it.
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

	/* As whom and where (directory, umask, nice, groups, user). */
	if (a->identity != NULL && identity_apply(a->identity) == -1)
		proc_child_fail(report, PROC_STEP_IDENTITY);
	/* Last before exec: no_new_privs, Landlock, seccomp. */
	if (a->sandbox != NULL && sandbox_apply(a->sandbox) == -1)
		proc_child_fail(report, PROC_STEP_SANDBOX);
	/*
	 * Made by the helper, it ran its set-up at the helper's priority
	 * (PROC_HELPER_BOOST); it execs at the daemon's, or at its own
	 * "nice", which identity_apply set. Lowering one's priority needs no
	 * privilege, and no seccomp policy denies setpriority.
	 */
	if (a->renice && !(a->identity != NULL && a->identity->set_nice) &&
	    setpriority(PRIO_PROCESS, 0, a->nice) == -1)
		proc_child_fail(report, PROC_STEP_PRIORITY);
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
 * and the plugin's "env" entries, then SUPERVISOR_DATA_DIR and TMPDIR
 * (sandbox.c), a later one replacing an earlier one of the same name, as
 * setenv and putenv did in the child before. The array
 * and the two strings are xmalloc'd in one piece; free it with free().
 */
static char **
proc_build_env(const struct plugin_config *pc, const struct sandbox_spawn *sb)
{
	const char	**adds;
	char		**envp, *strings;
	size_t		 nenv = 0, nadd = 0, i, j, k = 0, fixed, namelen;

	for (i = 0; environ != NULL && environ[i] != NULL; i++)
		nenv++;
	namelen = strlen(pc->name);
	fixed = sizeof IPC_PLUGIN_FD_ENV "=3" +
	    sizeof "SUPERVISOR_PLUGIN=" + namelen;
	adds = xcalloc(4 + pc->nenv, sizeof *adds);
	envp = xmalloc((nenv + 4 + pc->nenv + 1) * sizeof *envp + fixed);
	strings = (char *)(envp + nenv + 4 + pc->nenv + 1);
	memcpy(strings, IPC_PLUGIN_FD_ENV "=3", sizeof IPC_PLUGIN_FD_ENV "=3");
	adds[nadd++] = strings;
	strings += sizeof IPC_PLUGIN_FD_ENV "=3";
	memcpy(strings, "SUPERVISOR_PLUGIN=", sizeof "SUPERVISOR_PLUGIN=" - 1);
	memcpy(strings + sizeof "SUPERVISOR_PLUGIN=" - 1, pc->name,
	    namelen + 1);
	adds[nadd++] = strings;
	for (i = 0; i < pc->nenv; i++)
		adds[nadd++] = pc->env[i];
	/* The data directory and TMPDIR last: the plugin's env cannot move them. */
	adds[nadd++] = sb->env_data;
	adds[nadd++] = sb->env_tmp;

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
 * The spawn helper. Even without the page-table copy, a child gets a copy
 * of the descriptor table of the process that clones it, and its exec
 * closes every close-on-exec entry again: with the daemon's five per
 * plugin (socket, two pipes, the sampler's stat and statm) that is O(n)
 * per spawn and O(n^2) to start n plugins. Starting 1000 bench_idle
 * plugins spent a third of its time in dup_fd and do_close_on_exec
 * (filp_flush, dnotify_flush) after the switch to clone.
 *
 * So the daemon forks a helper at start, before it holds any plugin's
 * descriptor; the helper closes all but its socket and 0-2, and clones
 * the plugins on the daemon's behalf with CLONE_PARENT: each plugin is
 * the daemon's child all the same (SIGCHLD, waitpid, PR_SET_PDEATHSIG and
 * getppid as before), with the helper's small table to copy and close.
 * The daemon passes the child's descriptors (SCM_RIGHTS) and everything
 * proc_child needs (argv, envp, cgroup path) and waits for the pid, so a
 * spawn is still synchronous. If the helper is gone or refuses, the
 * daemon clones the child itself, as before, and says so once.
 */

/*
 * A spawn request: this header, then size bytes of NUL-ended strings
 * (argv, envp, the cgroup path, the identity's directory), then bsize
 * bytes of binary: the identity's supplementary groups, then the seccomp
 * program. A Landlock ruleset travels as one more descriptor.
 */
struct proc_helper_req {
	uint32_t	size;
	uint32_t	bsize;
	int32_t		nargv;
	int32_t		nenvp;
	int32_t		terminal;
	int32_t		has_out;
	int32_t		has_cgroup;
	int32_t		parent;
	/* identity.c: as whom and where */
	int32_t		has_identity;
	int32_t		id_has_directory;
	int32_t		id_set_uid;
	int32_t		id_set_gid;
	uint32_t	id_uid;
	uint32_t	id_gid;
	uint32_t	id_ngroups;
	int32_t		id_umask;
	int32_t		id_set_nice;
	int32_t		id_nice;
	/* sandbox.c: the confinement */
	int32_t		has_sandbox;
	int32_t		sb_drop_caps;
	int32_t		sb_has_ruleset;
	uint32_t	sb_nfilter;	/* seccomp instructions, 0: none */
};

/* The most descriptors a request carries: socket, out, err, report, ruleset. */
#define PROC_HELPER_NFDS	5

/* The answer: the pid, or -1 and the errno of the clone. */
struct proc_helper_rep {
	int32_t	pid;
	int32_t	error;
};

/*
 * The largest request the helper takes: argv and envp of any sane
 * plugin (the config allows 256 env entries) are far below it; a bigger
 * one is spawned by the daemon itself.
 */
#define PROC_HELPER_MAX		(1024 * 1024)

/*
 * How long the daemon waits on the helper (a send or the answer). It
 * answers in the time of a clone; only a helper stopped or wedged takes
 * this long, and is then replaced by spawning in the daemon.
 */
#define PROC_HELPER_WAIT_S	5

/*
 * From how many configured plugins the helper is worth a process. Below,
 * the daemon's table is small enough to copy: 100 bench_idle plugins start
 * in about 0.1 s either way, 1000 in 2.3 s from the daemon and 1.3 s
 * through the helper. (A reload that grows a smaller config past it goes
 * on without a helper: correct, only slower to start many.)
 */
#define PROC_HELPER_MIN_PLUGINS	64

static int	proc_helper_fd = -1;	/* the daemon's end */
static pid_t	proc_helper_pid = -1;

/*
 * The helper runs this much nicer than the daemon (a lower nice value),
 * and so does each child it makes until just before its exec. Starting
 * 1000 bench_idle plugins, hundreds of them are runnable at once in their
 * loaders; a child just cloned (or the helper, woken) waited behind them
 * for its turn on a core, and the daemon, whose next spawn waits for the
 * helper's answer, waited with it: 3-4.5 ms a spawn, 3-4.5 s of a 3.8-5.6 s
 * burst, against ~0.5 ms of CPU the helper and the child need. At nice
 * -10 (nine times the weight) they run as soon as they are runnable. Only
 * with the privilege to raise a priority (root, CAP_SYS_NICE or
 * RLIMIT_NICE); without it the helper runs at the daemon's priority.
 */
#define PROC_HELPER_BOOST	10

static int	proc_helper_renice;	/* in the helper: children renice */
static int	proc_helper_daemon_nice;	/* to this */

/*
 * Raise the calling process's priority by PROC_HELPER_BOOST nice levels
 * (to -20 at most): 1 with its nice value before in *was, or 0 if it
 * could not (no privilege, or at -20 already).
 */
static int
proc_boost(int *was)
{
	int	nice;

	errno = 0;
	if ((nice = getpriority(PRIO_PROCESS, 0)) == -1 && errno != 0)
		return 0;
	if (nice <= -20 || setpriority(PRIO_PROCESS, 0,
	    nice - PROC_HELPER_BOOST < -20 ? -20 : nice - PROC_HELPER_BOOST) == -1)
		return 0;
	*was = nice;
	return 1;
}

/* In the helper: read exactly n bytes; 0, or -1 on end of file or error. */
static int
proc_helper_read(int fd, void *buf, size_t n)
{
	char	*p = buf;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Write all of buf; 0, or -1 with errno. */
static int
proc_helper_write(int fd, const void *buf, size_t n)
{
	const char	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * In the helper: split a request's strings into args. Returns 0, or -1
 * if they are not what the header says (then nothing is spawned).
 */
static int
proc_helper_parse(const struct proc_helper_req *rq, char *buf,
    char ***argvp, char ***envpp, const char **cgroup, const char **directory)
{
	char	**argv, **envp, *p = buf, *end = buf + rq->size;
	int32_t	  i;

	if (rq->nargv < 1 || rq->nenvp < 0 || rq->size == 0 ||
	    end[-1] != '\0')
		return -1;
	argv = calloc((size_t)rq->nargv + 1, sizeof *argv);
	envp = calloc((size_t)rq->nenvp + 1, sizeof *envp);
	if (argv == NULL || envp == NULL)
		goto fail;
	for (i = 0; i < rq->nargv + rq->nenvp + (rq->has_cgroup ? 1 : 0) +
	    (rq->id_has_directory ? 1 : 0); i++) {
		if (p >= end)
			goto fail;
		if (i < rq->nargv)
			argv[i] = p;
		else if (i < rq->nargv + rq->nenvp)
			envp[i - rq->nargv] = p;
		else if (rq->has_cgroup && i == rq->nargv + rq->nenvp)
			*cgroup = p;
		else
			*directory = p;
		p += strlen(p) + 1;
	}
	*argvp = argv;
	*envpp = envp;
	return 0;
fail:
	free(argv);
	free(envp);
	return -1;
}

/*
 * In the helper: one request. Returns 0 when answered, -1 when the
 * daemon's end is gone (the helper then exits).
 */
static int
proc_helper_serve(int fd)
{
	struct proc_helper_req	 rq;
	struct proc_helper_rep	 rep;
	struct proc_child_args	 args;
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct iovec		 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(PROC_HELPER_NFDS * sizeof(int))];
	}			 cbuf;
	struct plugin_identity	 id;
	struct sandbox_spawn	 sb;
	struct sock_fprog	 prog;
	sigset_t		 all, old;
	char			*buf = NULL, **argv = NULL, **envp = NULL;
	void			*bin = NULL;
	const char		*cgroup = NULL, *directory = NULL;
	int			 fds[PROC_HELPER_NFDS], nfds = 0, i, want;
	ssize_t			 n;
	size_t			 groups_size;

	memset(&msg, 0, sizeof msg);
	iov.iov_base = &rq;
	iov.iov_len = sizeof rq;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	while ((n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfds > PROC_HELPER_NFDS)
				nfds = PROC_HELPER_NFDS;
			memcpy(fds, CMSG_DATA(cm), (size_t)nfds * sizeof(int));
		}
	}
	if ((size_t)n < sizeof rq && proc_helper_read(fd, (char *)&rq + n,
	    sizeof rq - (size_t)n) == -1)
		return -1;
	rep.pid = -1;
	rep.error = EINVAL;
	if (rq.size > PROC_HELPER_MAX || rq.bsize > PROC_HELPER_MAX ||
	    (buf = malloc(rq.size + 1)) == NULL ||
	    (bin = malloc(rq.bsize + 1)) == NULL) {
		free(buf);
		return -1;
	}
	if (proc_helper_read(fd, buf, rq.size) == -1 ||
	    (rq.bsize > 0 && proc_helper_read(fd, bin, rq.bsize) == -1)) {
		free(buf);
		free(bin);
		return -1;
	}
	want = (rq.has_out ? 4 : 3) + (rq.sb_has_ruleset ? 1 : 0);
	groups_size = (size_t)rq.id_ngroups * sizeof(gid_t);
	if (nfds == want && groups_size <= rq.bsize &&
	    rq.bsize - groups_size == (size_t)rq.sb_nfilter *
	    sizeof(struct sock_filter) &&
	    proc_helper_parse(&rq, buf, &argv, &envp, &cgroup,
	    &directory) == 0) {
		memset(&args, 0, sizeof args);
		i = 0;
		args.sock = fds[i++];
		args.out = rq.has_out ? fds[i++] : -1;
		args.err = fds[i++];
		args.report = fds[i++];
		args.theirs[0] = args.theirs[1] = args.theirs[2] = -1;
		args.theirs[3] = fd;	/* its own socket: room at the limit */
		args.terminal = rq.terminal;
		args.cgroup = cgroup;
		args.parent = (pid_t)rq.parent;
		args.path = argv[0];
		args.argv = argv;
		args.envp = envp;
		args.signals = proc_signals;
		args.nsignals = proc_nsignals;
		args.renice = proc_helper_renice;
		args.nice = proc_helper_daemon_nice;
		if (rq.has_identity) {
			memset(&id, 0, sizeof id);
			id.directory = (char *)directory;
			id.set_uid = rq.id_set_uid;
			id.set_gid = rq.id_set_gid;
			id.uid = (uid_t)rq.id_uid;
			id.gid = (gid_t)rq.id_gid;
			id.groups = rq.id_ngroups > 0 ? bin : NULL;
			id.ngroups = rq.id_ngroups;
			id.umask = rq.id_umask;
			id.set_nice = rq.id_set_nice;
			id.nice = rq.id_nice;
			args.identity = &id;
		}
		if (rq.has_sandbox) {
			memset(&sb, 0, sizeof sb);
			sb.enabled = 1;
			sb.drop_caps = rq.sb_drop_caps;
			sb.ruleset_fd = rq.sb_has_ruleset ? fds[i++] : -1;
			if (rq.sb_nfilter > 0) {
				prog.len = (unsigned short)rq.sb_nfilter;
				prog.filter = (struct sock_filter *)
				    ((char *)bin + groups_size);
				sb.prog = &prog;
			}
			args.sandbox = &sb;
		}
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, &old);
		rep.pid = clone(proc_child, proc_stack + sizeof proc_stack,
		    CLONE_VM | CLONE_VFORK | CLONE_PARENT, &args);
		rep.error = rep.pid == -1 ? errno : 0;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	free(argv);
	free(envp);
	free(buf);
	free(bin);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return proc_helper_write(fd, &rep, sizeof rep);
}

/* In the helper: serve requests until the daemon closes its end. */
static void __attribute__((noreturn))
proc_helper_main(int fd, pid_t daemon)
{
	struct sigaction	sa;
	sigset_t		none;
	int			i;

	/* Not the daemon's handlers (they write to its loop), nor its mask. */
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	for (i = 1; i < NSIG; i++) {
		sa.sa_handler = SIG_DFL;
		if (i == SIGINT || i == SIGTERM || i == SIGHUP ||
		    i == SIGQUIT || i == SIGPIPE)
			sa.sa_handler = SIG_IGN;	/* the daemon decides */
		if (i != SIGKILL && i != SIGSTOP)
			sigaction(i, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != daemon)
		_exit(0);
	prctl(PR_SET_NAME, "supervisor-spawn");
	proc_helper_renice = proc_boost(&proc_helper_daemon_nice);
	/* Its table is what every plugin's clone copies: keep it small. */
	if (fd > 3)
		close_range(3, (unsigned int)fd - 1, 0);
	close_range((unsigned int)fd + 1, ~0U, 0);
	proc_scan_signals();
	sandbox_helper_init();
	while (proc_helper_serve(fd) == 0)
		;
	_exit(0);
}

/*
 * Fork the spawn helper. Called at start, before any plugin exists, for a
 * config of at least PROC_HELPER_MIN_PLUGINS plugins; on failure (or for
 * fewer plugins) the daemon spawns its plugins itself.
 */
void
proc_helper_start(size_t nplugins)
{
	struct timeval	tv;
	int		sv[2];
	pid_t		pid, daemon = getpid();

	if (nplugins < PROC_HELPER_MIN_PLUGINS)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("spawn helper: socketpair");
		return;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("spawn helper: fork");
		close(sv[0]);
		close(sv[1]);
		return;
	case 0:
		close(sv[0]);
		proc_helper_main(sv[1], daemon);
	}
	close(sv[1]);
	tv.tv_sec = PROC_HELPER_WAIT_S;
	tv.tv_usec = 0;
	if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
		log_warn("spawn helper: setsockopt");
	proc_helper_fd = sv[0];
	proc_helper_pid = pid;
	log_debug("spawn helper: pid %ld", (long)pid);
}

/* Stop the helper and reap it (at shutdown, before waiting for children). */
void
proc_helper_stop(void)
{
	if (proc_helper_pid == -1)
		return;
	close(proc_helper_fd);
	proc_helper_fd = -1;
	kill(proc_helper_pid, SIGKILL);
	while (waitpid(proc_helper_pid, NULL, 0) == -1 && errno == EINTR)
		;
	proc_helper_pid = -1;
}

/*
 * Whether the helper is the daemon's last child (or there is none): at
 * shutdown it goes only then, since contain_shutdown waits for every
 * child, and a saving process or a straggler is to be waited for first.
 * From /proc/self/task/TID/children (the daemon is single-threaded); if
 * that cannot be read, the helper is taken as alone.
 */
int
proc_helper_alone(void)
{
	char	path[64], buf[256], *p, *end;
	long	pid;
	ssize_t	n;
	int	fd;

	if (proc_helper_pid == -1)
		return 1;
	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
	    (long)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return 1;
	buf[n] = '\0';
	for (p = buf; *p != '\0'; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid != (long)proc_helper_pid)
			return 0;
	}
	return 1;
}

/*
 * SIGCHLD reaped pid: if it was the helper (killed, or it failed), spawn
 * from the daemon from now on. Returns whether it was.
 */
int
proc_helper_exited(pid_t pid, int status)
{
	char	how[64];

	if (proc_helper_pid == -1 || pid != proc_helper_pid)
		return 0;
	log_warnx("spawn helper: pid %ld exited (%s); the daemon spawns "
	    "plugins itself from now on", (long)pid,
	    proc_describe_status(status, how, sizeof how));
	close(proc_helper_fd);
	proc_helper_fd = -1;
	proc_helper_pid = -1;
	return 1;
}

/* The helper failed us: stop using it, and say so once. */
static void
proc_helper_lost(const char *why, int error)
{
	log_warnx("spawn helper: %s: %s; the daemon spawns plugins itself "
	    "from now on", why, strerror(error));
	proc_helper_stop();
}

/*
 * Ask the helper to spawn: send the request. 0 once sent (read the answer
 * with proc_helper_answer), -2 if the helper could not be asked (the
 * caller then clones in the daemon).
 */
static int
proc_helper_ask(const struct proc_child_args *a)
{
	struct proc_helper_req	 rq;
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct iovec		 iov[4];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(PROC_HELPER_NFDS * sizeof(int))];
	}			 cbuf;
	const struct plugin_identity *id = a->identity;
	const struct sandbox_spawn *sb = a->sandbox;
	size_t			 size = 0, bsize = 0, gsize = 0, len, sent;
	char			*buf, *p;
	int			 fds[PROC_HELPER_NFDS], nfds = 0, i;
	ssize_t			 n;

	/* Its bounding set is empty: root's capabilities are the daemon's. */
	if (proc_helper_fd == -1 || sandbox_keeps_caps(sb))
		return -2;
	memset(&rq, 0, sizeof rq);
	for (i = 0; a->argv[i] != NULL; i++)
		size += strlen(a->argv[i]) + 1;
	rq.nargv = i;
	for (i = 0; a->envp[i] != NULL; i++)
		size += strlen(a->envp[i]) + 1;
	rq.nenvp = i;
	if (a->cgroup != NULL)
		size += strlen(a->cgroup) + 1;
	if (id != NULL) {
		rq.has_identity = 1;
		if (id->directory != NULL) {
			rq.id_has_directory = 1;
			size += strlen(id->directory) + 1;
		}
		rq.id_set_uid = id->set_uid;
		rq.id_set_gid = id->set_gid;
		rq.id_uid = (uint32_t)id->uid;
		rq.id_gid = (uint32_t)id->gid;
		rq.id_ngroups = (uint32_t)id->ngroups;
		rq.id_umask = id->umask;
		rq.id_set_nice = id->set_nice;
		rq.id_nice = id->nice;
		gsize = id->ngroups * sizeof(gid_t);
	}
	if (sb != NULL && sb->enabled) {
		rq.has_sandbox = 1;
		rq.sb_drop_caps = sb->drop_caps;
		rq.sb_has_ruleset = sb->ruleset_fd != -1;
		rq.sb_nfilter = sb->prog != NULL ? sb->prog->len : 0;
	}
	bsize = gsize + (size_t)rq.sb_nfilter * sizeof(struct sock_filter);
	if (size > PROC_HELPER_MAX || bsize > PROC_HELPER_MAX)
		return -2;
	rq.size = (uint32_t)size;
	rq.bsize = (uint32_t)bsize;
	rq.terminal = a->terminal;
	rq.has_out = a->out != -1;
	rq.has_cgroup = a->cgroup != NULL;
	rq.parent = (int32_t)a->parent;
	p = buf = xmalloc(size);
	for (i = 0; a->argv[i] != NULL; i++) {
		len = strlen(a->argv[i]) + 1;
		memcpy(p, a->argv[i], len);
		p += len;
	}
	for (i = 0; a->envp[i] != NULL; i++) {
		len = strlen(a->envp[i]) + 1;
		memcpy(p, a->envp[i], len);
		p += len;
	}
	if (a->cgroup != NULL) {
		len = strlen(a->cgroup) + 1;
		memcpy(p, a->cgroup, len);
		p += len;
	}
	if (rq.id_has_directory)
		memcpy(p, id->directory, strlen(id->directory) + 1);

	fds[nfds++] = a->sock;
	if (a->out != -1)
		fds[nfds++] = a->out;
	fds[nfds++] = a->err;
	fds[nfds++] = a->report;
	if (rq.sb_has_ruleset)
		fds[nfds++] = sb->ruleset_fd;
	/*
	 * The whole request in one sendmsg: header and descriptors, strings,
	 * groups, filter (it was four system calls, each a wake-up of the
	 * helper; the rest of a short send is written after it).
	 */
	memset(&msg, 0, sizeof msg);
	memset(&cbuf, 0, sizeof cbuf);
	iov[0].iov_base = &rq;
	iov[0].iov_len = sizeof rq;
	iov[1].iov_base = buf;
	iov[1].iov_len = size;
	iov[2].iov_base = gsize > 0 ? (void *)id->groups : NULL;
	iov[2].iov_len = gsize;
	iov[3].iov_base = rq.sb_nfilter > 0 ? (void *)sb->prog->filter : NULL;
	iov[3].iov_len = bsize - gsize;
	msg.msg_iov = iov;
	msg.msg_iovlen = nitems(iov);
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	while ((n = sendmsg(proc_helper_fd, &msg, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	for (i = 0, sent = n > 0 ? (size_t)n : 0; n > 0 && i < (int)nitems(iov);
	    i++) {
		if (sent >= iov[i].iov_len) {
			sent -= iov[i].iov_len;
			continue;
		}
		if (proc_helper_write(proc_helper_fd, (char *)iov[i].iov_base +
		    sent, iov[i].iov_len - sent) == -1) {
			n = -1;
			break;
		}
		sent = 0;
	}
	if (n <= 0) {
		free(buf);
		proc_helper_lost("cannot ask it", n == -1 || errno != 0 ?
		    errno : EPIPE);
		return -2;
	}
	free(buf);
	return 0;
}

/*
 * The helper's answer to the request sent: the pid; -1 with *error set
 * when the clone failed there; -2 if the helper failed us (the caller then
 * clones in the daemon: the request's child was never made, or the helper
 * is gone and took no child with it that the daemon would not reap).
 */
static pid_t
proc_helper_answer(int *error)
{
	struct proc_helper_rep	 rep;

	errno = 0;
	if (proc_helper_read(proc_helper_fd, &rep, sizeof rep) == -1) {
		proc_helper_lost("cannot ask it", errno != 0 ? errno : EPIPE);
		return -2;
	}
	if (rep.pid == -1 && rep.error == EINVAL) {
		/* It could not clone as asked (CLONE_PARENT refused?). */
		proc_helper_lost("clone", EINVAL);
		return -2;
	}
	if (rep.pid == -1) {
		*error = rep.error;
		return -1;
	}
	return (pid_t)rep.pid;
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
 * Whether the child exec'd: a report on the pipe means it could not, and it
 * has exited: reap it here, so SIGCHLD never sees it as a plugin's exit.
 *
 * Why the daemon knows now, without waiting: the clone (in the daemon or
 * the helper) returns only once the child has exited or its exec has gone
 * past the point of no return (CLONE_VFORK wakes the parent in exec_mmap,
 * after which an exec can only kill the process, a crash like any other),
 * and a child that fails writes its report before it exits. So a report is
 * there now or never. It used to wait for the end of file the exec's
 * close-on-exec gives, a little further in the exec: on a loaded machine
 * the child is preempted when it wakes its parent and runs again only after
 * every runnable process has had its turn, and starting 1000 bench_idle
 * plugins, with hundreds of them runnable in their loaders, the daemon
 * spent 2.5-4 s of a 3.3-5 s start in that wait and the helper's answer.
 *
 * `start` answers start-failed only if the daemon knows before it replies,
 * and a failed exec must be the spawn failure it is, not a STARTING plugin
 * that dies: both still hold.
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
	while ((r = poll(&pfd, 1, 0)) == -1 && errno == EINTR)
		;
	if (r <= 0 || (pfd.revents & POLLIN) == 0)
		return 0;	/* exec'd, or killed before (its exit says so) */
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
 * Everything the daemon makes for one spawn before the clone: the
 * sandbox (data directory, ruleset, filter), the socketpair, the pipes,
 * the cgroup and the environment. Its envp points into sb, so a prepared
 * spawn stays where it was made (one of proc_preps).
 */
struct proc_prep {
	struct plugin		*p;		/* for whom; NULL: free */
	struct sandbox_spawn	 sb;
	int			 sv[2];
	int			 outp[2];
	int			 errp[2];
	int			 rep[2];
	char			 cgroup[PATH_MAX];
	char			**envp;
};

/*
 * Pipelining a burst of spawns (the daemon's start, `start` of "all" or of
 * a list: server.c and cmd.c name each next plugin). Through the helper a
 * spawn is: the daemon
 * prepares (struct proc_prep), sends the request, and waits while the
 * helper clones and the child joins its cgroup, attaches its seccomp
 * filter, enters its Landlock domain and execs. In a burst the daemon
 * prepares the next plugin of the burst while it waits, so the two cores
 * work at once: its preparation (~0.4 ms a plugin: two ext4 mkdirs of the
 * data directory, the cgroup's mkdir, the ruleset, a socketpair and three
 * pipes) overlaps the helper's clone and the child's set-up (~0.6 ms).
 * Nothing else changes: the spawn of a plugin still completes (pid, exec
 * or its failure) before proc_spawn returns, in the order the lifecycle
 * asks, so the process group, PDEATHSIG, fd 3 and a failed exec's report
 * are as without the burst. A prepared spawn the burst did not use (its
 * plugin was not started after all) is undone at the burst's end.
 *
 * Measured with this, the held Landlock system paths (sandbox_burst), the
 * request in one sendmsg, the exec's outcome read without waiting
 * (proc_wait_exec) and the raised priority (PROC_HELPER_BOOST): launch to
 * 1000 bench_idle plugins RUNNING (scripts/bench.py's way, defaults:
 * sandbox and cgroups on), 8 runs each interleaved with the code before,
 * medians, on the shared 2-core VM under the other engineers' load: 2.58 s
 * before, 1.50 s after; the daemon's CPU for it 727 ms before, 496 ms
 * after, the helper's 130 and 116 ms, the daemon's time runnable but
 * waiting for a core 509 and 220 ms. 100 plugins (5 runs): 0.22 s both,
 * the daemon's CPU 72 and 50 ms. The rest is mostly the plugins' own: a
 * bare posix_spawn of bench_idle costs 1.25 ms of CPU until it waits for
 * hello, 1.25 s for 1000 on two cores.
 */
static struct proc_prep	 proc_preps[2];
static struct plugin	*proc_next;	/* the burst's next plugin, a hint */
static int		 proc_in_burst;
static struct {
	unsigned	 spawns;	/* in this burst */
	unsigned	 ahead;		/* of them prepared ahead */
	double		 prepare;	/* seconds preparing */
	double		 wait;		/* seconds waiting for the helper */
	double		 start;		/* monotonic, at its beginning */
} proc_burst_stats;

static void	proc_prep_free(struct proc_prep *);

/* A preparation no spawn used: free it, and undo the cgroup it made. */
static void
proc_prep_discard(struct proc_prep *pp)
{
	if (pp->p != NULL && pp->cgroup[0] != '\0')
		contain_unprepare(pp->p);
	proc_prep_free(pp);
}

/* Close what a preparation holds and free it (its cgroup, if made, stays). */
static void
proc_prep_free(struct proc_prep *pp)
{
	int	*fds[] = { pp->sv, pp->outp, pp->errp, pp->rep };
	size_t	 i;

	for (i = 0; i < nitems(fds); i++) {
		if (fds[i][0] != -1)
			close(fds[i][0]);
		if (fds[i][1] != -1)
			close(fds[i][1]);
		fds[i][0] = fds[i][1] = -1;
	}
	free(pp->envp);
	pp->envp = NULL;
	sandbox_release(&pp->sb);
	pp->p = NULL;
}

/*
 * Prepare p's spawn in pp: 0, or -1 with *cause (nothing is held then).
 * The sandbox first: its ruleset holds one descriptor through the spawn,
 * and building it one more for a moment; the pipes are not open yet.
 */
static int
proc_prepare(struct plugin *p, struct proc_prep *pp, char **cause)
{
	memset(pp, 0, sizeof *pp);
	pp->sv[0] = pp->sv[1] = pp->outp[0] = pp->outp[1] = -1;
	pp->errp[0] = pp->errp[1] = pp->rep[0] = pp->rep[1] = -1;
	if (sandbox_prepare(p, &pp->sb, cause) == -1) {
		sandbox_release(&pp->sb);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    pp->sv) == -1) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		goto fail;
	}
	if (!p->conf->terminal && pipe2(pp->outp, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (pipe2(pp->errp, O_CLOEXEC) == -1 ||
	    pipe2(pp->rep, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (contain_prepare(p, pp->cgroup, sizeof pp->cgroup, cause) == -1)
		goto fail;
	/* The child gets a blocking socket: plugins may read it plainly. */
	fcntl(pp->sv[1], F_SETFL, fcntl(pp->sv[1], F_GETFL) & ~O_NONBLOCK);
	pp->envp = proc_build_env(p->conf, &pp->sb);
	pp->p = p;
	return 0;
fail:
	proc_prep_free(pp);
	return -1;
}

static int	proc_daemon_boosted;	/* the daemon's nice lowered */
static int	proc_daemon_nice;	/* and what it was */

/*
 * Through a burst the daemon runs at the helper's priority: its half of
 * each spawn is as much on the burst's one path as the helper's, and
 * woken by the helper's answer it waited behind the plugins already
 * started (~2 ms a spawn; see PROC_HELPER_BOOST). The burst does nothing
 * but spawn, and the priority is the daemon's own again after it.
 */
static void
proc_burst_boost(int on)
{
	if (!on) {
		if (proc_daemon_boosted &&
		    setpriority(PRIO_PROCESS, 0, proc_daemon_nice) == -1)
			log_warn("setpriority(%d)", proc_daemon_nice);
		proc_daemon_boosted = 0;
		return;
	}
	if (proc_helper_pid != -1)
		proc_daemon_boosted = proc_boost(&proc_daemon_nice);
}

/*
 * A burst of spawns begins: until proc_burst_end, the caller names the
 * plugin it will start next (proc_burst_next) before starting each one.
 */
void
proc_burst_begin(void)
{
	proc_in_burst = 1;
	proc_next = NULL;
	proc_burst_boost(1);
	memset(&proc_burst_stats, 0, sizeof proc_burst_stats);
	proc_burst_stats.start = clock_mono();
	sandbox_burst(1);
}

/* In a burst: the plugin the next start will be for, or NULL. */
void
proc_burst_next(struct plugin *next)
{
	if (proc_in_burst)
		proc_next = next;
}

/* The burst is over: undo a preparation no spawn used. */
void
proc_burst_end(void)
{
	size_t	i;

	for (i = 0; i < nitems(proc_preps); i++) {
		if (proc_preps[i].p != NULL)
			proc_prep_discard(&proc_preps[i]);
	}
	if (proc_burst_stats.spawns > 0)
		log_debug("spawn: a burst of %u spawns (%u prepared ahead) in "
		    "%.1f ms: %.1f ms preparing, %.1f ms waiting for the "
		    "helper and the exec", proc_burst_stats.spawns,
		    proc_burst_stats.ahead, (clock_mono() -
		    proc_burst_stats.start) * 1e3, proc_burst_stats.prepare *
		    1e3, proc_burst_stats.wait * 1e3);
	proc_in_burst = 0;
	proc_next = NULL;
	proc_burst_boost(0);
	sandbox_burst(0);
}

/*
 * Spawn a plugin (clone, then exec in the child). Returns the pid and the
 * daemon's ends of the socketpair and pipes (out_fd is -1 for a terminal
 * plugin), or -1 with *cause: the child could not be made, or could not
 * exec (it is reaped).
 */
pid_t
proc_spawn(struct plugin *p, int *sock, int *out_fd, int *err_fd, char **cause)
{
	struct proc_child_args	 args;
	struct proc_prep	*pp, *ahead;
	struct plugin		*next = proc_next;
	sigset_t		 all, old;
	char			*why = NULL;
	double			 t0, t1;
	int			 clone_errno, w;
	pid_t			 pid;

	/* Prepared ahead in this burst, or now. */
	proc_next = NULL;
	pp = &proc_preps[0];
	ahead = &proc_preps[1];
	if (proc_preps[1].p == p) {
		pp = &proc_preps[1];
		ahead = &proc_preps[0];
	} else if (proc_preps[1].p != NULL) {
		proc_prep_discard(&proc_preps[1]);	/* not this one's */
	}
	t0 = clock_mono();
	if (pp->p != p) {
		if (pp->p != NULL)
			proc_prep_discard(pp);
		if (proc_prepare(p, pp, cause) == -1)
			return -1;
	} else
		proc_burst_stats.ahead++;
	proc_burst_stats.spawns++;
	proc_burst_stats.prepare += clock_mono() - t0;

	memset(&args, 0, sizeof args);
	args.sock = pp->sv[1];
	args.out = pp->outp[1];
	args.err = pp->errp[1];
	args.report = pp->rep[1];
	args.theirs[0] = pp->sv[0];
	args.theirs[1] = pp->outp[0];
	args.theirs[2] = pp->errp[0];
	args.theirs[3] = pp->rep[0];
	args.terminal = p->conf->terminal;
	args.cgroup = pp->cgroup[0] != '\0' ? pp->cgroup : NULL;
	args.parent = getpid();
	args.path = p->conf->argv[0];
	args.argv = p->conf->argv;
	args.envp = pp->envp;
	args.identity = &p->conf->identity;
	args.sandbox = &pp->sb;
	if (proc_nsignals == -1)
		proc_scan_signals();
	args.signals = proc_signals;
	args.nsignals = proc_nsignals;
	args.renice = proc_daemon_boosted;	/* a clone here, in a burst */
	args.nice = proc_daemon_nice;

	/*
	 * Through the helper if there is one; else here. Either way the
	 * daemon resumes once the child exec'd or exited (CLONE_VFORK), so
	 * the group the child set is in place before anyone signals it.
	 * While the helper works, the burst's next plugin is prepared.
	 */
	pid = -2;
	if (proc_helper_ask(&args) == 0) {
		t0 = clock_mono();
		if (next != NULL && next != p && ahead->p == NULL &&
		    proc_prepare(next, ahead, &why) == -1) {
			/* Its own spawn prepares again and says why. */
			free(why);
		}
		t1 = clock_mono();
		proc_burst_stats.prepare += t1 - t0;
		pid = proc_helper_answer(&clone_errno);
		proc_burst_stats.wait += clock_mono() - t1;
	}
	if (pid == -2) {
		/*
		 * Every signal blocked across the clone: the child shares the
		 * daemon's memory, so a handler of the daemon's must never
		 * run in it. The child resets the dispositions first.
		 */
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, &old);
#if defined(__SANITIZE_ADDRESS__)
		/* The last child left its frames' redzones poisoned here. */
		ASAN_UNPOISON_MEMORY_REGION(proc_stack, sizeof proc_stack);
#endif
		pid = clone(proc_child, proc_stack + sizeof proc_stack,
		    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
		clone_errno = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	free(pp->envp);
	pp->envp = NULL;
	sandbox_release(&pp->sb);
	if (pid == -1) {
		xasprintf(cause, "clone: %s", strerror(clone_errno));
		proc_prep_free(pp);
		return -1;
	}
	/* The child's ends are its own now. */
	close(pp->sv[1]);
	if (pp->outp[1] != -1)
		close(pp->outp[1]);
	close(pp->errp[1]);
	close(pp->rep[1]);
	pp->sv[1] = pp->outp[1] = pp->errp[1] = pp->rep[1] = -1;
	t0 = clock_mono();
	w = proc_wait_exec(p, pid, pp->rep[0], cause);
	proc_burst_stats.wait += clock_mono() - t0;
	if (w == -1) {
		contain_exited(p);	/* its cgroup goes now */
		proc_prep_free(pp);
		return -1;
	}
	close(pp->rep[0]);
	*sock = pp->sv[0];
	*out_fd = pp->outp[0];
	*err_fd = pp->errp[0];
	fcntl(pp->errp[0], F_SETFL, O_NONBLOCK);
	if (pp->outp[0] != -1)
		fcntl(pp->outp[0], F_SETFL, O_NONBLOCK);
	pp->p = NULL;
	return pid;
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

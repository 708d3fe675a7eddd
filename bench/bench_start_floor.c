/*
 * bench_start_floor.c: the floor for starting many plugins. The least a
 * supervisor can do to start N plugins and see each one ready, with none
 * of the daemon's code and none of its guarantees (no sandbox, no cgroup,
 * no data directory, no pipes for stdout and stderr): a spawner process
 * with a small descriptor table makes a socketpair, posix_spawns the
 * program with its end as fd 3 and hands the other end over (SCM_RIGHTS);
 * the parent sends hello and waits for the first bytes back (ready).
 * Launch to the last ready, wall time, on this machine: what the plugins'
 * own start-up (exec, loader, SDK) costs N at a time on its cores; and the
 * CPU of the parent and of the rest (spawner and plugins, to their exit).
 *
 * usage: bench_start_floor PROGRAM N; prints one JSON object.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "ipc/ipc.h"

extern char **environ;

/* CPU seconds of who (RUSAGE_SELF or RUSAGE_CHILDREN). */
static double
floor_cpu(int who)
{
	struct rusage	ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* Send one descriptor and a pid over a Unix socket. */
static void
floor_send_fd(int chan, int fd, pid_t pid)
{
	struct msghdr	 msg;
	struct iovec	 iov = { &pid, sizeof pid };
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cbuf;
	struct cmsghdr	*cm;

	memset(&msg, 0, sizeof msg);
	memset(&cbuf, 0, sizeof cbuf);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	if (sendmsg(chan, &msg, 0) != (ssize_t)sizeof pid)
		_exit(1);
}

/* Receive what floor_send_fd sent; -1 on end or error. */
static int
floor_recv_fd(int chan, pid_t *pid)
{
	struct msghdr	 msg;
	struct iovec	 iov = { pid, sizeof *pid };
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cbuf;
	struct cmsghdr	*cm;
	int		 fd;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	if (recvmsg(chan, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof *pid ||
	    (cm = CMSG_FIRSTHDR(&msg)) == NULL || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

/* The spawner: n plugins, each socket's other end sent to the parent. */
static void __attribute__((noreturn))
floor_spawner(int chan, const char *path, int n)
{
	posix_spawn_file_actions_t	 fa;
	char				 name[32], plugin[64];
	char				*argv[] = { (char *)path, NULL };
	char				*envp[] = { "SUPERVISOR_FD=3", plugin, NULL };
	pid_t				 pid;
	int				 i, sv[2];

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "p%d", i);
		snprintf(plugin, sizeof plugin, "SUPERVISOR_PLUGIN=%s", name);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
			_exit(1);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
		    0);
		if (posix_spawn(&pid, path, &fa, NULL, argv, envp) != 0)
			_exit(1);
		posix_spawn_file_actions_destroy(&fa);
		close(sv[1]);
		floor_send_fd(chan, sv[0], pid);
		close(sv[0]);
	}
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct msg_builder	*b;
	struct epoll_event	 ev, evs[64];
	const char		*data;
	char			 name[32], buf[4096];
	double			 t0, last = 0, cpu0;
	size_t			 len;
	pid_t			 spawner, *pids;
	int			*socks, n, chan[2], ep, got = 0, ready = 0, i, k;

	if (argc != 3 || (n = atoi(argv[2])) <= 0 || n > 100000) {
		fprintf(stderr, "usage: bench_start_floor PROGRAM N\n");
		return 2;
	}
	pids = calloc((size_t)n, sizeof *pids);
	socks = calloc((size_t)n, sizeof *socks);
	if (pids == NULL || socks == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) == -1)
		return 1;
	b = msg_builder_new();
	/* The plugins are the spawner's children: reaped here once it is gone,
	 * so their CPU counts in RUSAGE_CHILDREN. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	cpu0 = floor_cpu(RUSAGE_SELF);
	t0 = bench_clock(CLOCK_MONOTONIC);
	if ((spawner = fork()) == 0) {
		close(chan[0]);
		floor_spawner(chan[1], argv[1], n);
	}
	close(chan[1]);
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.u32 = UINT32_MAX;
	epoll_ctl(ep, EPOLL_CTL_ADD, chan[0], &ev);
	while (ready < n) {
		if ((k = epoll_wait(ep, evs, 64, 10000)) <= 0)
			break;
		for (i = 0; i < k; i++) {
			uint32_t	j = evs[i].data.u32;

			if (j != UINT32_MAX) {
				/* Its first bytes are its ready. */
				if (recv(socks[j], buf, sizeof buf, 0) > 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, socks[j],
					    NULL);
					ready++;
					last = bench_clock(CLOCK_MONOTONIC);
				}
				continue;
			}
			if (got == n || (socks[got] = floor_recv_fd(chan[0],
			    &pids[got])) == -1) {
				epoll_ctl(ep, EPOLL_CTL_DEL, chan[0], NULL);
				continue;
			}
			snprintf(name, sizeof name, "p%d", got);
			msg_begin(b, MSG_HELLO);
			msg_add_uint(b, "protocol", PROTOCOL_VERSION);
			msg_add_str(b, "name", name);
			msg_add_str(b, "role", "plugin");
			msg_add_raw(b, "config", "\x80", 1);
			msg_end(b, &data, &len);
			send(socks[got], data, len, MSG_NOSIGNAL);
			ev.data.u32 = (uint32_t)got;
			epoll_ctl(ep, EPOLL_CTL_ADD, socks[got], &ev);
			got++;
		}
	}
	cpu0 = floor_cpu(RUSAGE_SELF) - cpu0;
	waitpid(spawner, NULL, 0);
	/* End of file on fd 3 ends each of them. */
	for (i = 0; i < got; i++)
		close(socks[i]);
	for (i = 0; i < got; i++)
		waitpid(pids[i], NULL, 0);
	msg_builder_free(b);
	printf("{\"n\": %d, \"ready\": %d, \"start_s\": %.3f, "
	    "\"parent_cpu_s\": %.3f, \"spawner_and_plugins_cpu_s\": %.3f}\n", n, ready,
	    last - t0, cpu0, floor_cpu(RUSAGE_CHILDREN));
	return ready == n ? 0 : 1;
}

/*
 * sandbox.c: least privilege for plugins (docs/sandbox.md).
 *
 * Every plugin runs with no_new_privs, a Landlock ruleset and a seccomp
 * filter, unless its config turns the sandbox off. Everything is built in
 * the daemon before the spawn (the ruleset as a descriptor, the filter as
 * a BPF program exported once per distinct policy) and applied in the
 * child between fork and exec with three plain syscalls: nothing there
 * allocates or writes the daemon's memory, so it stays right under a
 * vfork-style spawn.
 *
 * Landlock comes through raw syscalls (glibc has no wrappers). The kernel
 * tells its ABI: 1 files, 2 refer, 3 truncate, 4 TCP bind/connect,
 * 5 device ioctl, 6 scoping of abstract Unix sockets and signals, 7
 * logging (nothing more to ask for here). Fewer rights on older ABIs; no
 * Landlock at all is a warning, or a refusal with sandbox.required.
 *
 * The daemon marks itself non-dumpable at start: a plugin of the same uid
 * cannot ptrace it or read its memory or environment through /proc.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

/*
 * The test-only switch: set to 1, the daemon acts as on a kernel without
 * Landlock. Documented in docs/sandbox.md as for tests only; it can only
 * take confinement away from plugins of the operator's own daemon, which
 * sandbox.enabled: false does as well.
 */
#define SANDBOX_TEST_NO_LANDLOCK	"SUPERVISOR_TEST_ONLY_NO_LANDLOCK"

/*
 * Debian 12's kernel headers stop at ABI 2; the kernel's ABI is stable, so
 * the later rights and the full ruleset attribute are spelt here.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#define SANDBOX_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define SANDBOX_NET_CONNECT_TCP		(1ULL << 1)
#define SANDBOX_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define SANDBOX_SCOPE_SIGNAL		(1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; its size says which fields. */
struct sandbox_ll_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* ABI 4 */
	uint64_t	scoped;			/* ABI 6 */
};

/* Access rights by ABI. */
#define SANDBOX_FS_V1	((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)
#define SANDBOX_FS_READ	(LANDLOCK_ACCESS_FS_EXECUTE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* What a right on a file (not a directory) may be. */
#define SANDBOX_FS_FILE	(LANDLOCK_ACCESS_FS_EXECUTE | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* Devices every program uses: read, write, truncate (">/dev/null"). */
#define SANDBOX_FS_DEV	(LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_IOCTL_DEV)

/*
 * What a program needs from the system, read and execute: the code, the
 * loader's cache, TLS CAs, the resolver, the time zone, users and groups,
 * Python's own config. Landlock only grants, so this lists what is needed
 * rather than all of /etc (the daemon's config may be there). Missing
 * entries are skipped. /proc: the plugin's own files (ASan reads
 * /proc/self/maps, Python /proc/self/fd); another process's private files
 * there are behind a ptrace check, which Landlock refuses across domains.
 */
static const char *const sandbox_system_read[] = {
	"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/ld.so.preload",
	"/etc/ssl", "/etc/ca-certificates", "/etc/pki",
	"/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf",
	"/etc/gai.conf", "/etc/services", "/etc/protocols",
	"/etc/localtime", "/etc/timezone",
	"/etc/passwd", "/etc/group",
	"/etc/python3", "/etc/python3.11",
	"/proc", "/sys/devices/system/cpu",
};
static const char *const sandbox_system_dev[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
};

/* One seccomp program, shared by every plugin of the same policy. */
struct sandbox_filter {
	enum sandbox_network		 network;
	char				**syscalls;	/* NULL-terminated copy */
	struct sock_fprog		 prog;
	TAILQ_ENTRY(sandbox_filter)	 entry;
};
static TAILQ_HEAD(, sandbox_filter) sandbox_filters =
    TAILQ_HEAD_INITIALIZER(sandbox_filters);

/*
 * A plugin's Landlock ruleset, kept from one spawn to the next while what
 * it was built from (key: executable, grants, network) stays the same.
 * Building one costs ~170 us of the daemon's time and makes the child's
 * exec slower still (fresh Landlock objects for every granted inode): a
 * crash loop's restart gap was 36 % longer when each spawn built its own
 * (scripts/bench.py, sandbox section). The price is one descriptor per
 * sandboxed plugin.
 */
struct sandbox_ruleset {
	char		*key;
	int		 fd;
	dev_t		 data_dev;	/* the data directory it grants: one */
	ino_t		 data_ino;	/* removed and made again is rebuilt */
};
static struct hmap	*sandbox_rulesets;	/* by plugin name */

static int	 sandbox_abi;		/* Landlock ABI, 0 without */
static int	 sandbox_cap_last = 40;	/* /proc/sys/kernel/cap_last_cap */
static int	 sandbox_simulated;	/* the test-only switch is on */
static char	 sandbox_offer[160];	/* what the kernel offers, for the log */

/* The Landlock syscalls, which glibc does not wrap. */
static int
sandbox_ll_create(const struct sandbox_ll_attr *attr, size_t size,
    unsigned flags)
{
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int
sandbox_ll_add(int fd, enum landlock_rule_type type, const void *attr)
{
	return (int)syscall(SYS_landlock_add_rule, fd, type, attr, 0);
}

/* The file system rights this kernel's ABI knows. */
static uint64_t
sandbox_fs_rights(void)
{
	uint64_t	r = SANDBOX_FS_V1;

	if (sandbox_abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (sandbox_abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (sandbox_abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/*
 * At daemon start: mark the daemon non-dumpable and learn what the kernel
 * offers (sandbox_log_offer says it).
 */
void
sandbox_init(void)
{
	const char	*sim = getenv(SANDBOX_TEST_NO_LANDLOCK);
	char		*what = sandbox_offer;
	size_t		 size = sizeof sandbox_offer;
	FILE		*f;
	int		 last;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_DUMPABLE, 0)");
	/* Capabilities this kernel has, dropped from a root plugin's set. */
	if ((f = fopen("/proc/sys/kernel/cap_last_cap", "re")) != NULL) {
		if (fscanf(f, "%d", &last) == 1 && last > 0 && last < 64)
			sandbox_cap_last = last;
		fclose(f);
	}
	sandbox_simulated = sim != NULL && strcmp(sim, "1") == 0;
	if (sandbox_simulated)
		sandbox_abi = 0;
	else if ((sandbox_abi = sandbox_ll_create(NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION)) < 0)
		sandbox_abi = 0;
	if (sandbox_abi == 0)
		snprintf(what, size, "no Landlock (%s)", sandbox_simulated ?
		    SANDBOX_TEST_NO_LANDLOCK "=1, a test-only switch" :
		    "not in this kernel, or disabled at boot");
	else
		snprintf(what, size, "Landlock ABI %d (files%s%s)",
		    sandbox_abi, sandbox_abi >= 4 ? ", TCP" : "",
		    sandbox_abi >= 6 ? ", signal and abstract socket scoping" :
		    "");
}

/* Once the daemon is the one on its socket: what the kernel offers. */
void
sandbox_log_offer(void)
{
	log_info("sandbox: kernel offers %s, seccomp filters, no_new_privs",
	    sandbox_offer);
}

static const struct sock_fprog *sandbox_filter(const struct sandbox_config *,
	     char **);
static void	 sandbox_ruleset_drop(const char *);
static void	 sandbox_ruleset_free(void *);

/* The Landlock ABI in force, 0 without. */
int
sandbox_landlock_abi(void)
{
	return sandbox_abi;
}

/*
 * Check a config against what the kernel offers: -1 with *cause if a
 * plugin requires Landlock that is not there. Plugins with the sandbox
 * off are warned about, once per load.
 */
int
sandbox_check_config(const struct config *cf, char **cause)
{
	const struct plugin_config	*pc;
	size_t				 i;
	char				*why;

	/*
	 * A reload rebuilds every kept ruleset at its plugin's next spawn:
	 * grants follow files, not names, and a granted file replaced since
	 * (a renewed certificate) is granted again that way.
	 */
	if (sandbox_rulesets != NULL) {
		hmap_free_with(sandbox_rulesets, sandbox_ruleset_free);
		sandbox_rulesets = NULL;
	}
	for (i = 0; i < cf->nplugins; i++) {
		pc = &cf->plugins[i];
		if (!pc->sandbox.enabled) {
			sandbox_ruleset_drop(pc->name);
			log_warnx("plugin %s: sandbox disabled by its config: it "
			    "runs with the daemon's rights", pc->name);
			continue;
		}
		if (pc->sandbox.required && sandbox_abi == 0) {
			xasprintf(cause, "plugin %s: sandbox.required is true "
			    "but the kernel offers no Landlock", pc->name);
			return -1;
		}
	}
	/*
	 * Each policy's filter now, once: a spawn then needs no memfd, and a
	 * failure here is retried at the spawn.
	 */
	for (i = 0; i < cf->nplugins; i++) {
		if (cf->plugins[i].sandbox.enabled &&
		    sandbox_filter(&cf->plugins[i].sandbox, &why) == NULL) {
			log_warnx("plugin %s: %s", cf->plugins[i].name, why);
			free(why);
		}
	}
	if (sandbox_abi == 0) {
		for (i = 0; i < cf->nplugins; i++) {
			if (cf->plugins[i].sandbox.enabled)
				break;
		}
		if (i < cf->nplugins)
			log_warnx("sandbox: no Landlock: plugins run with "
			    "no_new_privs and seccomp only; their file system "
			    "and network are not confined");
	}
	return 0;
}

/* Add one seccomp rule: -1 with *cause. */
static int
sandbox_rule(scmp_filter_ctx ctx, const char *name, unsigned nargs,
    const struct scmp_arg_cmp *arg, char **cause)
{
	int	nr, r;

	/* A syscall this architecture does not have needs no rule. */
	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		return 0;
	if ((r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, nargs,
	    arg)) < 0) {
		xasprintf(cause, "seccomp rule for %s: %s", name, strerror(-r));
		return -1;
	}
	return 0;
}

/* 1 if name is in the NULL-terminated list. */
static int
sandbox_listed(char *const *list, const char *name)
{
	size_t	i;

	for (i = 0; list != NULL && list[i] != NULL; i++) {
		if (strcmp(list[i], name) == 0)
			return 1;
	}
	return 0;
}

/*
 * Build the BPF program for a policy: deny (EPERM) each of
 * config_sandbox_denied the plugin does not allow and, without network,
 * IPv4 and IPv6 sockets (so on a kernel without Landlock's TCP rules the
 * plugin has no network either). libseccomp 2.5 can only export a program
 * to a descriptor: a memfd, read back.
 */
static int
sandbox_build_filter(const struct sandbox_config *sb, struct sock_fprog *prog,
    char **cause)
{
	scmp_filter_ctx		 ctx;
	struct scmp_arg_cmp	 arg;
	struct stat		 st;
	const char		*name;
	void			*buf = NULL;
	size_t			 i;
	int			 fd = -1, rc = -1;
	ssize_t			 n;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		xasprintf(cause, "seccomp_init failed");
		return -1;
	}
	/*
	 * A binary tree of syscall numbers rather than a chain: the kernel
	 * runs the filter for every syscall number when it is attached (to
	 * cache what is always allowed), and every allowed call would walk
	 * the whole chain. Older libseccomp without it: the chain.
	 */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (i = 0; (name = config_sandbox_denied[i]) != NULL; i++) {
		if (sandbox_listed(sb->syscalls, name))
			continue;
#if defined(__SANITIZE_ADDRESS__)
		/*
		 * A sanitizer build's plugins check for leaks at exit by
		 * ptracing their own threads; Landlock still refuses their
		 * ptrace of anything outside the plugin.
		 */
		if (strcmp(name, "ptrace") == 0)
			continue;
#endif
		if (strcmp(name, "personality") == 0) {
			/* Asking (0xffffffff) changes nothing: ASan does it. */
			arg = SCMP_A0(SCMP_CMP_NE, 0xffffffffu);
			if (sandbox_rule(ctx, name, 1, &arg, cause) == -1)
				goto out;
			continue;
		}
		if (sandbox_rule(ctx, name, 0, NULL, cause) == -1)
			goto out;
	}
	if (sb->network == SANDBOX_NET_NONE) {
		arg = SCMP_A0(SCMP_CMP_EQ, AF_INET);
		if (sandbox_rule(ctx, "socket", 1, &arg, cause) == -1)
			goto out;
		arg = SCMP_A0(SCMP_CMP_EQ, AF_INET6);
		if (sandbox_rule(ctx, "socket", 1, &arg, cause) == -1)
			goto out;
	}
	if ((fd = memfd_create("seccomp-bpf", MFD_CLOEXEC)) == -1) {
		xasprintf(cause, "memfd_create: %s", strerror(errno));
		goto out;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		xasprintf(cause, "seccomp_export_bpf: %s", strerror(-rc));
		rc = -1;
		goto out;
	}
	rc = -1;
	/* A BPF program is at most BPF_MAXINSNS instructions. */
	if (fstat(fd, &st) == -1 || st.st_size <= 0 || st.st_size %
	    sizeof(struct sock_filter) != 0 || (size_t)st.st_size >
	    BPF_MAXINSNS * sizeof(struct sock_filter)) {
		xasprintf(cause, "seccomp program of %lld bytes",
		    (long long)st.st_size);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size);
	if ((n = pread(fd, buf, (size_t)st.st_size, 0)) != st.st_size) {
		xasprintf(cause, "reading the seccomp program back: %s",
		    n == -1 ? strerror(errno) : "short read");
		goto out;
	}
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	prog->filter = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

/* The filter of a policy: built once, then shared. */
static const struct sock_fprog *
sandbox_filter(const struct sandbox_config *sb, char **cause)
{
	struct sandbox_filter	*f;
	size_t			 i;

	TAILQ_FOREACH(f, &sandbox_filters, entry) {
		if (f->network != sb->network)
			continue;
		for (i = 0; f->syscalls[i] != NULL && i < sb->nsyscalls; i++) {
			if (strcmp(f->syscalls[i], sb->syscalls[i]) != 0)
				break;
		}
		if (f->syscalls[i] == NULL && i == sb->nsyscalls)
			return &f->prog;
	}
	f = xcalloc(1, sizeof *f);
	if (sandbox_build_filter(sb, &f->prog, cause) == -1) {
		free(f);
		return NULL;
	}
	f->network = sb->network;
	f->syscalls = xcalloc(sb->nsyscalls + 1, sizeof *f->syscalls);
	for (i = 0; i < sb->nsyscalls; i++)
		f->syscalls[i] = xstrdup(sb->syscalls[i]);
	TAILQ_INSERT_TAIL(&sandbox_filters, f, entry);
	return &f->prog;
}

/*
 * Open path for a rule (O_PATH) and narrow access to what a file may have
 * if it is not a directory. The descriptor, or -1: with *cause, or with
 * *cause NULL for a missing path that is optional.
 */
static int
sandbox_grant_open(const char *path, uint64_t *access, int optional,
    char **cause)
{
	struct stat	st;
	int		fd;

	*cause = NULL;
	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (optional && (errno == ENOENT || errno == EACCES ||
		    errno == ENOTDIR))
			return -1;
		xasprintf(cause, "sandbox: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "sandbox: %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		*access &= SANDBOX_FS_FILE;
	return fd;
}

/* Add the rule for an open path: 0, or -1 with *cause. */
static int
sandbox_grant_fd(int ruleset, int fd, const char *path, uint64_t access,
    char **cause)
{
	struct landlock_path_beneath_attr	pb;

	pb.allowed_access = access & sandbox_fs_rights();
	pb.parent_fd = fd;
	if (sandbox_ll_add(ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb) == -1) {
		xasprintf(cause, "sandbox: landlock rule for %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Grant access below path (on path, if a file). A missing path is
 * skipped if optional, else -1 with *cause.
 */
static int
sandbox_grant(int ruleset, const char *path, uint64_t access, int optional,
    char **cause)
{
	int	fd, r;

	if ((fd = sandbox_grant_open(path, &access, optional, cause)) == -1)
		return *cause == NULL ? 0 : -1;
	r = sandbox_grant_fd(ruleset, fd, path, access, cause);
	close(fd);
	return r;
}

/*
 * The system paths, held open through a burst of spawns (sandbox_burst):
 * every ruleset built in it adds its rules for them from these
 * descriptors instead of opening, checking and closing the 34 paths again.
 * Starting 1000 bench_idle plugins, building the rulesets took ~170 us of
 * the daemon's time each, most of it in those opens, fstats and closes
 * (perf: open, close and fstatat were 0.45 of the daemon's ~0.9 s CPU for
 * the start, landlock_add_rule 0.04 s). Held only for a burst, and opened
 * afresh at its start: a system file replaced between bursts (/etc/passwd
 * rewritten by useradd, a new resolv.conf) is granted as it is now, the
 * way a ruleset built alone grants it; and the daemon keeps no descriptor
 * for them between bursts (the descriptor-limit tests count on that).
 */
struct sandbox_system_path {
	int		 fd;		/* -1: missing, skipped */
	uint64_t	 access;	/* narrowed for a file */
};
static struct sandbox_system_path sandbox_system[nitems(sandbox_system_read) +
    nitems(sandbox_system_dev)];
static int	sandbox_burst_on;	/* in a burst */
static int	sandbox_system_held;	/* sandbox_system is open */

/* A system path by index: its name and the access it is granted. */
static const char *
sandbox_system_name(size_t i, uint64_t *access)
{
	if (i < nitems(sandbox_system_read)) {
		*access = SANDBOX_FS_READ;
		return sandbox_system_read[i];
	}
	*access = SANDBOX_FS_DEV;
	return sandbox_system_dev[i - nitems(sandbox_system_read)];
}

/* Close the held system paths. */
static void
sandbox_system_close(void)
{
	size_t	i;

	for (i = 0; sandbox_system_held && i < nitems(sandbox_system); i++) {
		if (sandbox_system[i].fd != -1)
			close(sandbox_system[i].fd);
	}
	sandbox_system_held = 0;
}

/*
 * Open every system path to hold it: 0, or -1 with *cause (then none is
 * held, and the ruleset is built path by path, which fails the same way).
 */
static int
sandbox_system_open(char **cause)
{
	const char	*path;
	size_t		 i;

	for (i = 0; i < nitems(sandbox_system); i++) {
		path = sandbox_system_name(i, &sandbox_system[i].access);
		sandbox_system[i].fd = sandbox_grant_open(path,
		    &sandbox_system[i].access, 1, cause);
		if (sandbox_system[i].fd == -1 && *cause != NULL) {
			while (i-- > 0) {
				if (sandbox_system[i].fd != -1)
					close(sandbox_system[i].fd);
			}
			return -1;
		}
	}
	sandbox_system_held = 1;
	return 0;
}

/*
 * A burst of spawns begins (on: 1) or ends (0): proc.c says so around the
 * start of many plugins at once.
 */
void
sandbox_burst(int on)
{
	sandbox_burst_on = on;
	if (!on)
		sandbox_system_close();
}

/* Grant the system paths: from the held descriptors in a burst. */
static int
sandbox_grant_system(int ruleset, char **cause)
{
	const char	*path;
	uint64_t	 access;
	size_t		 i;

	if (sandbox_burst_on && !sandbox_system_held) {
		if (sandbox_system_open(cause) == -1) {
			free(*cause);
			*cause = NULL;
		}
	}
	for (i = 0; i < nitems(sandbox_system); i++) {
		path = sandbox_system_name(i, &access);
		if (!sandbox_system_held) {
			if (sandbox_grant(ruleset, path, access, 1,
			    cause) == -1)
				return -1;
		} else if (sandbox_system[i].fd != -1 &&
		    sandbox_grant_fd(ruleset, sandbox_system[i].fd, path,
		    sandbox_system[i].access, cause) == -1)
			return -1;
	}
	return 0;
}

/*
 * The directory of the plugin's program, links resolved, in exe (PATH_MAX
 * bytes). 0, or -1 with exe "" if the program cannot be resolved.
 */
static int
sandbox_exe_dir(const struct plugin *p, char *exe)
{
	char	*slash;

	if (realpath(p->conf->argv[0], exe) == NULL ||
	    (slash = strrchr(exe, '/')) == NULL) {
		exe[0] = '\0';
		return -1;
	}
	slash[slash == exe ? 1 : 0] = '\0';
	return 0;
}

/*
 * The Landlock ruleset of one plugin, as a descriptor: the system's files,
 * its executable's directory and its grants read-only, its data directory
 * and its grants read-write, the network its policy allows, scoped signals
 * and abstract sockets. -1 with *cause.
 */
static int
sandbox_ruleset(const struct plugin *p, const char *data_dir, char **cause)
{
	const struct sandbox_config	*sb = &p->conf->sandbox;
	struct sandbox_ll_attr		 attr;
	char				 exe[PATH_MAX];
	size_t				 size, i;
	int				 fd;

	memset(&attr, 0, sizeof attr);
	attr.handled_access_fs = sandbox_fs_rights();
	size = offsetof(struct sandbox_ll_attr, handled_access_net);
	if (sandbox_abi >= 4) {
		if (sb->network == SANDBOX_NET_NONE)
			attr.handled_access_net = SANDBOX_NET_BIND_TCP |
			    SANDBOX_NET_CONNECT_TCP;
		else if (sb->network == SANDBOX_NET_CONNECT)
			attr.handled_access_net = SANDBOX_NET_BIND_TCP;
		size = offsetof(struct sandbox_ll_attr, scoped);
	}
	if (sandbox_abi >= 6) {
		attr.scoped = SANDBOX_SCOPE_ABSTRACT_UNIX |
		    SANDBOX_SCOPE_SIGNAL;
		size = sizeof attr;
	}
	if ((fd = sandbox_ll_create(&attr, size, 0)) == -1) {
		xasprintf(cause, "sandbox: landlock_create_ruleset: %s",
		    strerror(errno));
		return -1;
	}
	if (sandbox_grant_system(fd, cause) == -1)
		goto fail;
	/* Its executable's directory: a script's modules sit beside it. */
	if (sandbox_exe_dir(p, exe) == 0 &&
	    sandbox_grant(fd, exe, SANDBOX_FS_READ, 1, cause) == -1)
		goto fail;
	for (i = 0; i < sb->nread; i++) {
		if (sandbox_grant(fd, sb->read[i], SANDBOX_FS_READ, 0,
		    cause) == -1)
			goto fail;
	}
	for (i = 0; i < sb->nwrite; i++) {
		if (sandbox_grant(fd, sb->write[i], sandbox_fs_rights(), 0,
		    cause) == -1)
			goto fail;
	}
	if (sandbox_grant(fd, data_dir, sandbox_fs_rights(), 0, cause) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* mkdir that is fine with what is there already. */
static int
sandbox_mkdir(const char *path, char **cause)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "data directory: mkdir %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Its data directory, STATE_DIR/plugins/NAME, and the private tmp in it;
 * made if missing (0700). The path goes to buf.
 */
static int
sandbox_data_dir(const struct plugin *p, char *buf, size_t size,
    char **cause)
{
	const char	*state = server->config->state_dir;
	struct stat	 st;
	char		 path[PATH_MAX], *slash;

	if ((size_t)snprintf(buf, size, "%s/plugins/%s", state, p->name) >=
	    size)
		goto long_path;
	/* Made already (every restart but the first): one stat, no mkdir. */
	if ((size_t)snprintf(path, sizeof path, "%s/tmp", buf) >= sizeof path)
		goto long_path;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	/* The state directory may be nested ("hist/deep") and not made yet. */
	snprintf(path, sizeof path, "%s", state);
	for (slash = path + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		if (sandbox_mkdir(path, cause) == -1)
			return -1;
		*slash = '/';
	}
	if ((size_t)snprintf(path, sizeof path, "%s/plugins", state) >=
	    sizeof path)
		goto long_path;
	if (sandbox_mkdir(state, cause) == -1 ||
	    sandbox_mkdir(path, cause) == -1 ||
	    sandbox_mkdir(buf, cause) == -1)
		return -1;
	if ((size_t)snprintf(path, sizeof path, "%s/tmp", buf) >= sizeof path)
		goto long_path;
	return sandbox_mkdir(path, cause);
long_path:
	xasprintf(cause, "data directory: path too long below %s", state);
	return -1;
}

/*
 * The identity of what path names now ("dev:ino", or "-" if nothing): a
 * Landlock rule holds the inode it was made on, so a granted file replaced
 * by a rename (a rebuilt program, a rewritten data file) needs a new rule.
 */
static void
sandbox_path_identity(const char *path, char *buf, size_t size)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%llx:%llx", (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
}

/*
 * What a plugin's ruleset is built from, as one string: the paths of its
 * config and the identities of the files they name now (a few stat calls
 * per spawn, against rebuilding the whole ruleset).
 */
static char *
sandbox_ruleset_key(const struct plugin *p, const char *data_dir)
{
	const struct sandbox_config	*sb = &p->conf->sandbox;
	char				*key, *next, id[64], exe[PATH_MAX];
	size_t				 i;

	sandbox_exe_dir(p, exe);
	sandbox_path_identity(exe, id, sizeof id);
	xasprintf(&key, "%s\n%s %s\n%s\n%d", p->conf->argv[0], exe, id,
	    data_dir, (int)sb->network);
	for (i = 0; i < sb->nread; i++) {
		sandbox_path_identity(sb->read[i], id, sizeof id);
		xasprintf(&next, "%s\nr%s %s", key, sb->read[i], id);
		free(key);
		key = next;
	}
	for (i = 0; i < sb->nwrite; i++) {
		sandbox_path_identity(sb->write[i], id, sizeof id);
		xasprintf(&next, "%s\nw%s %s", key, sb->write[i], id);
		free(key);
		key = next;
	}
	return key;
}

/* Close and free a kept ruleset. */
static void
sandbox_ruleset_free(void *arg)
{
	struct sandbox_ruleset	*r = arg;

	close(r->fd);
	free(r->key);
	free(r);
}

/* Forget a plugin's kept ruleset. */
static void
sandbox_ruleset_drop(const char *name)
{
	struct sandbox_ruleset	*r;

	if (sandbox_rulesets != NULL &&
	    (r = hmap_sdel(sandbox_rulesets, name)) != NULL)
		sandbox_ruleset_free(r);
}

/*
 * The plugin's ruleset: the kept one if it was built from the same
 * config, else a new one, kept. -1 with *cause.
 */
static int
sandbox_ruleset_get(const struct plugin *p, const char *data_dir,
    char **cause)
{
	struct sandbox_ruleset	*r;
	struct stat		 st;
	char			*key = sandbox_ruleset_key(p, data_dir);
	int			 fd;

	if (stat(data_dir, &st) == -1) {
		xasprintf(cause, "data directory: %s: %s", data_dir,
		    strerror(errno));
		free(key);
		return -1;
	}
	if (sandbox_rulesets == NULL)
		sandbox_rulesets = hmap_new();
	if ((r = hmap_sget(sandbox_rulesets, p->name)) != NULL &&
	    strcmp(r->key, key) == 0 && r->data_dev == st.st_dev &&
	    r->data_ino == st.st_ino) {
		free(key);
		return r->fd;
	}
	sandbox_ruleset_drop(p->name);
	if ((fd = sandbox_ruleset(p, data_dir, cause)) == -1) {
		free(key);
		return -1;
	}
	r = xcalloc(1, sizeof *r);
	r->key = key;
	r->fd = fd;
	r->data_dev = st.st_dev;
	r->data_ino = st.st_ino;
	hmap_sput(sandbox_rulesets, p->name, r);
	return fd;
}

/*
 * A plugin with its own user (identity.user) owns its data directory and
 * its tmp, and can reach them: the state directory and its plugins/ are
 * 0700, so a root daemon opens them to traversal (0711: no listing, and the
 * state files stay 0600). Checked at each spawn (two stat calls), so a
 * changed user gets the directories too. -1 with *cause.
 */
static int
sandbox_data_owner(const struct plugin *p, const char *dir, char **cause)
{
	const struct plugin_identity	*id = &p->conf->identity;
	const char			*state = server->config->state_dir;
	const char			*paths[2];
	struct stat			 st;
	char				 tmp[PATH_MAX], plugins[PATH_MAX];
	uid_t				 uid;
	gid_t				 gid;
	size_t				 i;

	if (!id->set_uid || geteuid() != 0)
		return 0;
	uid = id->uid;
	gid = id->set_gid ? id->gid : (gid_t)-1;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp", dir) >= sizeof tmp ||
	    (size_t)snprintf(plugins, sizeof plugins, "%s/plugins", state) >=
	    sizeof plugins) {
		xasprintf(cause, "data directory: path too long");
		return -1;
	}
	paths[0] = dir;
	paths[1] = tmp;
	for (i = 0; i < nitems(paths); i++) {
		if (lstat(paths[i], &st) == -1) {
			xasprintf(cause, "data directory: %s: %s", paths[i],
			    strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			xasprintf(cause, "data directory: %s: not a directory",
			    paths[i]);
			return -1;
		}
		if (st.st_uid == uid && (gid == (gid_t)-1 || st.st_gid == gid))
			continue;
		if (lchown(paths[i], uid, gid) == -1) {
			xasprintf(cause, "data directory: chown %s to uid %ld: "
			    "%s", paths[i], (long)uid, strerror(errno));
			return -1;
		}
		log_info("sandbox: plugin %s: data directory %s given to uid "
		    "%ld", p->name, paths[i], (long)uid);
	}
	paths[0] = state;
	paths[1] = plugins;
	for (i = 0; i < nitems(paths); i++) {
		if (stat(paths[i], &st) == -1 ||
		    (st.st_mode & 0011) == 0011)
			continue;
		if (chmod(paths[i], (st.st_mode & 07777) | 0011) == -1) {
			xasprintf(cause, "data directory: chmod %s: %s",
			    paths[i], strerror(errno));
			return -1;
		}
		log_info("sandbox: %s opened to traversal (mode %o) for plugin "
		    "%s, which runs as uid %ld; its files stay private",
		    paths[i], (st.st_mode & 07777) | 0011, p->name, (long)uid);
	}
	return 0;
}

/*
 * In the daemon, before a spawn: make the plugin's data directory and its
 * environment lines, and, with the sandbox on, its ruleset and filter.
 * sandbox_release after the spawn. -1 with *cause.
 */
int
sandbox_prepare(const struct plugin *p, struct sandbox_spawn *s, char **cause)
{
	const struct sandbox_config	*sb = &p->conf->sandbox;
	char				 dir[PATH_MAX];

	memset(s, 0, sizeof *s);
	s->ruleset_fd = -1;
	s->drop_caps = -1;
	if (sandbox_data_dir(p, dir, sizeof dir, cause) == -1 ||
	    sandbox_data_owner(p, dir, cause) == -1)
		return -1;
	/* Both fit: dir is under PATH_MAX, the buffers are larger. */
	if ((size_t)snprintf(s->env_data, sizeof s->env_data,
	    "SUPERVISOR_DATA_DIR=%s", dir) >= sizeof s->env_data ||
	    (size_t)snprintf(s->env_tmp, sizeof s->env_tmp, "TMPDIR=%s/tmp",
	    dir) >= sizeof s->env_tmp) {
		xasprintf(cause, "data directory: path too long");
		return -1;
	}
	if (!sb->enabled)
		return 0;
	s->enabled = 1;
	/*
	 * A root daemon's plugin keeps uid 0 (its own uid is the per-plugin
	 * user setting) but not root's power: with an empty bounding set its
	 * exec gives it no capability, and no_new_privs keeps it so.
	 */
	if (geteuid() == 0 && !sb->root)
		s->drop_caps = sandbox_cap_last;
	if (sandbox_abi == 0 && sb->required) {
		xasprintf(cause, "sandbox.required is true but the kernel "
		    "offers no Landlock");
		return -1;
	}
	if ((s->prog = sandbox_filter(sb, cause)) == NULL)
		return -1;
	if (sandbox_abi > 0 && (s->ruleset_fd = sandbox_ruleset_get(p, dir,
	    cause)) == -1)
		return -1;
	return 0;
}

/* In the daemon, after the spawn (the ruleset is kept, not closed). */
void
sandbox_release(struct sandbox_spawn *s)
{
	s->ruleset_fd = -1;
}

/*
 * Empty the ambient set and the bounding set up to capability last, so an
 * exec as root gains none: plain syscalls, fit for a child before exec.
 * Each PR_CAPBSET_DROP makes new credentials (and frees the old ones
 * through RCU) even for a capability already gone, so only those still in
 * the set are dropped. 0, or -1 with errno.
 */
static int
sandbox_drop_caps(int last)
{
	int	cap;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	for (cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL)
			return -1;
	}
	return 0;
}

/*
 * In the spawn helper (proc.c), once at its start: a root helper empties
 * its own bounding set, which every child it clones inherits, so a child
 * has nothing left to drop in sandbox_apply. The helper keeps its own
 * effective capabilities (a bounding set limits only what an exec gains),
 * so it still sets each child's user and group; a plugin that keeps
 * root's capabilities (`root`, or no sandbox) is spawned by the daemon
 * (sandbox_keeps_caps). Starting 1000 plugins through the helper, the
 * children's 41 drops each were a third of the helper's CPU: ~0.2 s of
 * commit_creds and the RCU callbacks that free the old credentials.
 */
void
sandbox_helper_init(void)
{
	if (geteuid() == 0 && sandbox_drop_caps(sandbox_cap_last) == -1)
		log_warn("spawn helper: dropping the capability bounding set");
}

/*
 * Whether a spawn must keep root's capability bounding set: a root
 * daemon's plugin with `root` or without a sandbox. The spawn helper's set
 * is empty (sandbox_helper_init): the daemon spawns such a plugin itself.
 */
int
sandbox_keeps_caps(const struct sandbox_spawn *s)
{
	return geteuid() == 0 && (s == NULL || !s->enabled ||
	    s->drop_caps < 0);
}

/*
 * In the child, last before exec: no_new_privs, Landlock, seccomp. Plain
 * syscalls on what the daemon prepared; 0, or -1 with errno.
 */
int
sandbox_apply(const struct sandbox_spawn *s)
{
	if (!s->enabled)
		return 0;
	/*
	 * Still root here (no per-plugin user switched it): an empty bounding
	 * set. A plugin that changed to another uid has no capability left
	 * to drop, and could not drop them (that needs CAP_SETPCAP).
	 */
	if (s->drop_caps >= 0 && geteuid() == 0 &&
	    sandbox_drop_caps(s->drop_caps) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	if (s->ruleset_fd != -1 &&
	    syscall(SYS_landlock_restrict_self, s->ruleset_fd, 0) == -1)
		return -1;
	if (s->prog != NULL &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, s->prog, 0, 0) == -1)
		return -1;
	return 0;
}

/* What confinement a plugin's processes have, for status. */
void
sandbox_status(const struct plugin *p, struct jsonw *w)
{
	const struct sandbox_config	*sb = &p->conf->sandbox;

	jw_open_object(w);
	jw_key(w, "enabled"), jw_bool(w, sb->enabled);
	if (sb->enabled) {
		jw_key(w, "no_new_privs"), jw_bool(w, 1);
		jw_key(w, "landlock_abi"), jw_int(w, sandbox_abi);
		jw_key(w, "seccomp"), jw_bool(w, 1);
		jw_key(w, "network");
		/* Without Landlock's TCP rules only "none" is enforced. */
		if (sb->network == SANDBOX_NET_CONNECT && sandbox_abi < 4)
			jw_string(w, "any");
		else
			jw_string(w, config_sandbox_network_name(sb->network));
		jw_key(w, "scoped"), jw_bool(w, sandbox_abi >= 6);
		/* Root's capabilities: dropped, kept by "root": true, or none. */
		jw_key(w, "capabilities");
		jw_string(w, geteuid() != 0 ? "none" : sb->root ? "root" :
		    "dropped");
	}
	jw_close_object(w);
}

/*
 * The plugin a process belongs to, or NULL: its own pid or process group
 * is a plugin's, or an ancestor's is (up to the daemon or init), or its
 * cgroup is a plugin's.
 */
static const struct plugin *
sandbox_owner(pid_t pid)
{
	const struct plugin	*p;
	char			 path[64], buf[512], *s;
	int			 ppid, pgrp, depth, fd;
	ssize_t			 n;
	pid_t			 self = getpid(), peer = pid;

	/* 64 generations: deeper trees than that are not a plugin's helpers. */
	for (depth = 0; depth < 64 && pid > 1 && pid != self; depth++) {
		if ((p = hmap_iget(server->by_pid, (uint64_t)pid)) != NULL)
			return p;
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			break;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			break;
		buf[n] = '\0';
		if ((s = strrchr(buf, ')')) == NULL ||
		    sscanf(s + 1, " %*c %d %d", &ppid, &pgrp) != 2)
			break;
		if ((p = hmap_iget(server->by_pid, (uint64_t)pgrp)) != NULL &&
		    !p->conf->terminal)
			return p;
		pid = (pid_t)ppid;
	}
	/* An orphan the daemon reaps: its cgroup still says whose it is. */
	return contain_cgroup_owner(peer);
}

/*
 * The sandboxed plugin a control peer belongs to, or NULL. One with
 * "sandbox": {"enabled": false} has the daemon's rights, the control
 * socket with them.
 */
const struct plugin *
sandbox_peer_plugin(pid_t pid)
{
	const struct plugin	*p = sandbox_owner(pid);

	return p != NULL && p->conf->sandbox.enabled ? p : NULL;
}

/* At exit: the shared programs go. */
void
sandbox_cleanup(void)
{
	struct sandbox_filter	*f;
	size_t			 i;

	sandbox_burst(0);
	if (sandbox_rulesets != NULL) {
		hmap_free_with(sandbox_rulesets, sandbox_ruleset_free);
		sandbox_rulesets = NULL;
	}
	while ((f = TAILQ_FIRST(&sandbox_filters)) != NULL) {
		TAILQ_REMOVE(&sandbox_filters, f, entry);
		for (i = 0; f->syscalls[i] != NULL; i++)
			free(f->syscalls[i]);
		free(f->syscalls);
		free(f->prog.filter);
		free(f);
	}
}

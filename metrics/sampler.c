/*
 * sampler.c: read CPU ticks, RSS, threads and state of processes from
 * /proc. Two ways, both here:
 *
 * - Kept-open files (sampler_files_open, sampler_read_files): the daemon
 *   opens each plugin's /proc/PID/stat and statm once, right after the
 *   spawn, and closes them when it reaps the process, so the pid cannot be
 *   reused behind them; every tick is a pread of each. It samples itself
 *   the same way (sampler_read_self).
 * - libproc2 (sampler_read): one batched procps_pids_select per 255 pids.
 *   The daemon uses it for a plugin whose files it could not open (short
 *   of descriptors at spawn); tests and tools use it for any pid.
 *
 * Why not libproc2 for every tick: selecting by pid, libproc2 4.0.2 reads
 * /proc/PID/status for every pid (listed_nextpid learns the Tgid there),
 * whatever items are asked: strace of a select with the single item
 * PIDS_TICS_ALL, or PIDS_ID_PID alone, shows the status open. And it
 * opens, reads and closes stat and statm afresh each time. bench_metrics
 * on this 2-core VM: 42 us per pid through libproc2 at 1000 pids (30 at
 * 10), 7.1 us through the kept-open files (4.7 at 10); status alone costs
 * 7-13 us per pid. With 1000 plugins every 5 s that is 8.4 ms of CPU a
 * tick against 1.4 ms, and the idle target (0.25 % of a core,
 * sampling and pings together) leaves 12.5 ms a tick for everything.
 *
 * The price is two descriptors per running plugin, on top of its socket
 * and two pipes: server.c raises RLIMIT_NOFILE to the hard limit (up to
 * 65536) at start, and at the limit a plugin is sampled by path instead.
 *
 * libproc2 is loaded (dlopen) the first time sampler_read is asked for a
 * pid, not linked: it brings libsystemd and through it libgcrypt,
 * libgpg-error, liblzma, libzstd, liblz4, libcap and libnuma, about 1060
 * KiB of the daemon's resident memory measured in /proc/PID/smaps (4188
 * KiB in all with the built-in config), for a path a daemon with its
 * kept-open files may never take. If it cannot be loaded, sampler_read
 * fails with the reason and the tick marks those plugins unsampled.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libproc2/pids.h>

#include "common/common.h"
#include "metrics/metrics.h"

/*
 * procps_pids_select copies the list into a FILL_ID_MAX + 1 array and
 * refuses more than 255 ids with EINVAL.
 */
#define SAMPLER_CHUNK	255

/* Positions in a result stack: the order of sampler_items. */
enum sampler_item {
	SAMPLER_PID,
	SAMPLER_TICKS,
	SAMPLER_RSS,
	SAMPLER_THREADS,
	SAMPLER_BEGAN,
	SAMPLER_STATE,
};

static enum pids_item sampler_items[] = {
	[SAMPLER_PID] = PIDS_ID_PID,
	[SAMPLER_TICKS] = PIDS_TICS_ALL,
	[SAMPLER_RSS] = PIDS_MEM_RES,
	[SAMPLER_THREADS] = PIDS_NLWP,
	[SAMPLER_BEGAN] = PIDS_TICS_BEGAN,
	[SAMPLER_STATE] = PIDS_STATE,
};

/* libproc2's entry points, from dlopen (see the top of the file). */
static void	*sampler_lib;
static int	(*sampler_pids_new)(struct pids_info **, enum pids_item *, int);
static int	(*sampler_pids_unref)(struct pids_info **);
static struct pids_fetch *(*sampler_pids_select)(struct pids_info *,
		    unsigned *, int, enum pids_select_type);
static char	 sampler_lib_error[256];

struct sampler {
	struct pids_info	*info;	/* NULL until libproc2 is needed */
	int			 self_stat;	/* /proc/PID/stat of the caller */
	int			 self_statm;	/* and its /proc/PID/statm */
	pid_t			 self_pid;
};

/* One requested pid of a chunk and where its reading goes. */
struct sampler_slot {
	unsigned int	pid;
	size_t		index;
};

/* Create a sampler (libproc2 is loaded at its first use). */
struct sampler *
sampler_new(void)
{
	struct sampler	*sm;

	sm = xcalloc(1, sizeof *sm);
	sm->self_stat = sm->self_statm = -1;
	return sm;
}

/*
 * Load libproc2 and start its pids interface for sm, once. 0, or -1 with
 * errno set and the reason in sampler_lib_error.
 */
static int
sampler_load(struct sampler *sm)
{
	const char	*e;
	int		 rc;

	if (sm->info != NULL)
		return 0;
	if (sampler_lib == NULL) {
		if ((sampler_lib = dlopen("libproc2.so.0", RTLD_NOW |
		    RTLD_LOCAL)) == NULL) {
			e = dlerror();
			snprintf(sampler_lib_error, sizeof sampler_lib_error,
			    "libproc2: %s", e != NULL ? e : "cannot load");
			errno = ENOENT;
			return -1;
		}
		*(void **)&sampler_pids_new = dlsym(sampler_lib,
		    "procps_pids_new");
		*(void **)&sampler_pids_unref = dlsym(sampler_lib,
		    "procps_pids_unref");
		*(void **)&sampler_pids_select = dlsym(sampler_lib,
		    "procps_pids_select");
		if (sampler_pids_new == NULL || sampler_pids_unref == NULL ||
		    sampler_pids_select == NULL) {
			snprintf(sampler_lib_error, sizeof sampler_lib_error,
			    "libproc2: a procps_pids function is missing");
			dlclose(sampler_lib);
			sampler_lib = NULL;
			errno = ENOSYS;
			return -1;
		}
	}
	rc = sampler_pids_new(&sm->info, sampler_items,
	    (int)nitems(sampler_items));
	if (rc < 0) {
		sm->info = NULL;
		snprintf(sampler_lib_error, sizeof sampler_lib_error,
		    "libproc2: procps_pids_new: %s", strerror(-rc));
		errno = -rc;
		return -1;
	}
	return 0;
}

/* Why the last sampler_read failed to load libproc2 ("" if it did not). */
const char *
sampler_error(void)
{
	return sampler_lib_error;
}

/* Free a sampler. */
void
sampler_free(struct sampler *sm)
{
	if (sm == NULL)
		return;
	if (sm->info != NULL)
		sampler_pids_unref(&sm->info);
	if (sm->self_stat != -1)
		close(sm->self_stat);
	if (sm->self_statm != -1)
		close(sm->self_statm);
	free(sm);
}

/* Copy one result stack into a reading. */
static void
sampler_fill(struct sampler *sm, struct pids_stack *stack,
    struct proc_reading *r)
{
	struct pids_info	*info = sm->info;

	/* PIDS_VAL names info but does not use it. */
	(void)info;
	r->found = 1;
	r->ticks = PIDS_VAL(SAMPLER_TICKS, ull_int, stack, info);
	r->rss_kib = PIDS_VAL(SAMPLER_RSS, ul_int, stack, info);
	r->threads = PIDS_VAL(SAMPLER_THREADS, s_int, stack, info);
	r->start_ticks = PIDS_VAL(SAMPLER_BEGAN, ull_int, stack, info);
	r->state = (char)PIDS_VAL(SAMPLER_STATE, s_ch, stack, info);
}

static int
sampler_cmp_slot(const void *a, const void *b)
{
	const struct sampler_slot *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * Read one chunk of at most SAMPLER_CHUNK pids. libproc2 walks the list in
 * order and omits vanished pids, so a cursor that skips forward finds each
 * result in O(1); should a result ever come out of order, fall back to a
 * sorted copy of the chunk and fill every slot with that pid (a pid may be
 * asked for twice).
 */
static int
sampler_read_chunk(struct sampler *sm, const struct sampler_slot *slots,
    size_t n, struct proc_reading *out)
{
	unsigned int		 ids[SAMPLER_CHUNK];
	struct sampler_slot	 sorted[SAMPLER_CHUNK], key, *hit;
	struct pids_fetch	*fetch;
	struct pids_stack	*stack;
	unsigned int		 pid;
	size_t			 i, j, cursor = 0;
	int			 k, have_sorted = 0;

	for (i = 0; i < n; i++)
		ids[i] = slots[i].pid;
	errno = 0;
	fetch = sampler_pids_select(sm->info, ids, (int)n, PIDS_SELECT_PID);
	if (fetch == NULL) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}

	for (k = 0; k < fetch->counts->total; k++) {
		stack = fetch->stacks[k];
		pid = (unsigned int)PIDS_VAL(SAMPLER_PID, s_int, stack,
		    sm->info);
		for (j = cursor; j < n && slots[j].pid != pid; j++)
			/* skip pids that vanished */;
		if (j < n) {
			sampler_fill(sm, stack, &out[slots[j].index]);
			cursor = j + 1;
			continue;
		}

		if (!have_sorted) {
			memcpy(sorted, slots, n * sizeof *slots);
			qsort(sorted, n, sizeof *sorted, sampler_cmp_slot);
			have_sorted = 1;
		}
		key.pid = pid;
		hit = bsearch(&key, sorted, n, sizeof *sorted,
		    sampler_cmp_slot);
		if (hit == NULL)
			continue;	/* not asked for: ignore */
		while (hit > sorted && hit[-1].pid == pid)
			hit--;
		for (; hit < sorted + n && hit->pid == pid; hit++)
			sampler_fill(sm, stack, &out[hit->index]);
	}
	return 0;
}

/*
 * Read n pids into out[0..n). out[i].found is 0 for a pid that does not
 * exist (or is <= 0); that is not an error. Returns 0, or -1 with errno if
 * /proc could not be read at all.
 */
int
sampler_read(struct sampler *sm, const pid_t *pids, size_t n,
    struct proc_reading *out)
{
	struct sampler_slot	slots[SAMPLER_CHUNK];
	size_t			i, nslots = 0;

	for (i = 0; i < n; i++) {
		if (pids[i] > 0 && sampler_load(sm) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].pid = pids[i];
		/* A 0 would end libproc2's list early. */
		if (pids[i] <= 0)
			continue;
		slots[nslots].pid = (unsigned int)pids[i];
		slots[nslots].index = i;
		if (++nslots == SAMPLER_CHUNK) {
			if (sampler_read_chunk(sm, slots, nslots, out) != 0)
				return -1;
			nslots = 0;
		}
	}
	if (nslots > 0 && sampler_read_chunk(sm, slots, nslots, out) != 0)
		return -1;
	return 0;
}

/* KiB per page, asked once: sysconf is not free and this is per pid. */
static unsigned long long
sampler_page_kib(void)
{
	static unsigned long long	kib;
	long				v;

	if (kib == 0) {
		v = sysconf(_SC_PAGESIZE);
		kib = v >= 1024 ? (unsigned long long)v / 1024 : 4;
	}
	return kib;
}

/*
 * Parse the fields of /proc/PID/stat that a reading holds. The command name
 * (field 2) may hold spaces and parentheses: fields start after the last ')'.
 */
int
sampler_parse_stat(const char *buf, struct proc_reading *r)
{
	const char		*p = strrchr(buf, ')');
	char			*end;
	unsigned long long	 v[22];
	char			 state;
	int			 i;

	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return -1;
	state = p[2];
	p += 3;
	/*
	 * Fields 4 to 24: v[i] is field i + 3 (utime 14, stime 15, threads
	 * 20, starttime 22, rss 24). Some fields we skip may be negative;
	 * strtoull takes those too.
	 */
	for (i = 1; i < 22; i++) {
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (end == p || errno != 0 || (*end != ' ' && *end != '\n' &&
		    *end != '\0'))
			return -1;
		p = end;
	}
	r->found = 1;
	r->state = state;
	r->ticks = v[11] + v[12];
	r->threads = (int)v[17];
	r->start_ticks = v[19];
	r->rss_kib = v[21] * sampler_page_kib();
	return 0;
}

/* One pread of a /proc file from its start, NUL-terminated; -1 on error. */
static int
sampler_pread(int fd, char *buf, size_t size)
{
	ssize_t	n;

	if ((n = pread(fd, buf, size - 1, 0)) <= 0) {
		if (n == 0)
			errno = EIO;
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* Files not open (yet): what a plugin starts with. */
void
sampler_files_init(struct proc_files *f)
{
	f->stat = f->statm = -1;
}

/*
 * Open /proc/PID/stat and statm for the ticks to come. The caller holds
 * the process unreaped for as long as they are open: a descriptor keeps
 * naming the process it was opened on, and a pid is free for reuse only
 * once reaped. Returns 0, or -1 with errno (EMFILE at the descriptor limit)
 * and both closed.
 */
int
sampler_files_open(struct proc_files *f, pid_t pid)
{
	char	path[64];

	sampler_files_init(f);
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f->stat = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
	if ((f->statm = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		sampler_files_close(f);
		return -1;
	}
	return 0;
}

/* Close what sampler_files_open opened (either may be -1). */
void
sampler_files_close(struct proc_files *f)
{
	int	saved = errno;

	if (f->stat != -1)
		close(f->stat);
	if (f->statm != -1)
		close(f->statm);
	sampler_files_init(f);
	errno = saved;
}

/*
 * Read a process through its kept-open files: a pread of stat and of statm
 * (a read from offset 0 makes /proc write the file afresh). RSS comes from
 * statm, as libproc2 takes it: stat's rss field is the kernel's per-CPU
 * estimate and runs a few hundred KiB short. A process already reaped
 * reads as not found (the kernel answers ESRCH), as sampler_read has it.
 * Returns 0, or -1 with errno when the files say something unreadable.
 */
int
sampler_read_files(const struct proc_files *f, pid_t pid,
    struct proc_reading *r)
{
	char			 buf[1024], *p, *end;
	unsigned long long	 resident;

	memset(r, 0, sizeof *r);
	r->pid = pid;
	if (sampler_pread(f->stat, buf, sizeof buf) != 0)
		return errno == ESRCH ? 0 : -1;
	if (sampler_parse_stat(buf, r) != 0)
		goto bad;
	if (sampler_pread(f->statm, buf, sizeof buf) != 0) {
		if (errno != ESRCH)
			return -1;
		r->found = 0;
		return 0;
	}
	/* "size resident shared ...": the second field, in pages. */
	errno = 0;
	strtoull(buf, &end, 10);
	if (end == buf || *end != ' ')
		goto bad;
	p = end;
	resident = strtoull(p, &end, 10);
	if (end == p || errno != 0 || (*end != ' ' && *end != '\n'))
		goto bad;
	r->rss_kib = resident * sampler_page_kib();
	return 0;

bad:
	errno = EINVAL;
	return -1;
}

/*
 * Read the calling process itself, the same way, on files opened at the
 * first call and kept for as long as the sampler lives. Same fields as
 * sampler_read. Returns 0, or -1 with errno.
 */
int
sampler_read_self(struct sampler *sm, struct proc_reading *r)
{
	struct proc_files	f;

	memset(r, 0, sizeof *r);
	if (sm->self_stat == -1 || sm->self_statm == -1) {
		sm->self_pid = getpid();
		if (sampler_files_open(&f, sm->self_pid) == -1)
			return -1;
		sm->self_stat = f.stat;
		sm->self_statm = f.statm;
	}
	f.stat = sm->self_stat;
	f.statm = sm->self_statm;
	if (sampler_read_files(&f, sm->self_pid, r) != 0)
		return -1;
	if (!r->found) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

/* Clock ticks per second, as /proc counts utime and stime. */
long
sampler_hz(void)
{
	static long	hz;
	long		v;

	if (hz == 0) {
		v = sysconf(_SC_CLK_TCK);
		hz = v > 0 ? v : 100;
	}
	return hz;
}

/*
 * CPU percent between two readings dt_seconds apart (100 = one core), or -1
 * if there is no meaningful delta: ticks went backwards (another process
 * behind the same pid) or no time passed.
 */
double
metrics_cpu_percent(uint64_t prev_ticks, uint64_t cur_ticks,
    double dt_seconds, long hz)
{
	if (cur_ticks < prev_ticks || !(dt_seconds > 0) || hz <= 0)
		return -1.0;
	return (double)(cur_ticks - prev_ticks) * 100.0 / (double)hz /
	    dt_seconds;
}

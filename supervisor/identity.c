/*
 * identity.c: where and as whom a plugin runs: its working directory,
 * umask, nice value, then its groups, group and user, as the config's
 * plugin_identity says (resolved at load in the daemon: names to ids,
 * supplementary groups, the directory made absolute).
 *
 * identity_apply runs in the child between spawn and exec, where the spawn
 * may share the daemon's memory (a vfork-style spawn): it makes system
 * calls only, allocates nothing and writes nothing but the child's own
 * process state. The user comes last: after setuid the child could no
 * longer change its groups.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

/* In the child: apply id; -1 with errno set if a step failed. */
int
identity_apply(const struct plugin_identity *id)
{
	if (id->directory != NULL && chdir(id->directory) == -1)
		return -1;
	if (id->umask != -1)
		umask((mode_t)id->umask);
	if (id->set_nice && setpriority(PRIO_PROCESS, 0, id->nice) == -1)
		return -1;
	if (id->set_gid) {
		if (setgroups(id->ngroups, id->groups) == -1 ||
		    setresgid(id->gid, id->gid, id->gid) == -1)
			return -1;
	}
	if (id->set_uid && setresuid(id->uid, id->uid, id->uid) == -1)
		return -1;
	return 0;
}

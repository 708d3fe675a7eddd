/*
 * logfile.c: a size-rotated log file (logfile.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/logfile.h"

struct logfile {
	char		*path;
	uint64_t	 max_bytes;
	int		 backups;
	int		 fd;		/* -1 while closed */
	uint64_t	 size;		/* of the open file */
};

struct logfile *
logfile_new(const char *path, uint64_t max_bytes, int backups)
{
	struct logfile	*lf = xcalloc(1, sizeof *lf);

	lf->path = xstrdup(path);
	lf->max_bytes = max_bytes;
	lf->backups = backups < 0 ? 0 : backups > LOGFILE_MAX_BACKUPS ?
	    LOGFILE_MAX_BACKUPS : backups;
	lf->fd = -1;
	return lf;
}

void
logfile_free(struct logfile *lf)
{
	if (lf == NULL)
		return;
	logfile_close(lf);
	free(lf->path);
	free(lf);
}

void
logfile_close(struct logfile *lf)
{
	if (lf->fd != -1)
		close(lf->fd);
	lf->fd = -1;
	lf->size = 0;
}

const char *
logfile_path(const struct logfile *lf)
{
	return lf->path;
}

uint64_t
logfile_size(const struct logfile *lf)
{
	return lf->size;
}

/* The name of old file number n: "PATH.n" (n >= 1). */
char *
logfile_backup_name(const char *path, int n)
{
	char	*name;

	xasprintf(&name, "%s.%d", path, n);
	return name;
}

/*
 * Open (or create) the file for appending and learn its size. O_NONBLOCK
 * only so that a FIFO put at the path cannot block the open; anything but
 * a regular file is then refused.
 */
static int
logfile_open(struct logfile *lf, char **cause)
{
	struct stat	sb;

	lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK, 0640);
	if (lf->fd == -1) {
		xasprintf(cause, "cannot open %s: %s", lf->path,
		    strerror(errno));
		return -1;
	}
	if (fstat(lf->fd, &sb) == -1) {
		xasprintf(cause, "cannot stat %s: %s", lf->path,
		    strerror(errno));
		logfile_close(lf);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		xasprintf(cause, "%s: not a regular file", lf->path);
		logfile_close(lf);
		return -1;
	}
	lf->size = (uint64_t)sb.st_size;
	return 0;
}

/*
 * Move the files one step older and start an empty one: at most backups
 * renames. A missing old file is a gap, not an error.
 */
int
logfile_rotate(struct logfile *lf, char **cause)
{
	char	*from, *to;
	int	 n;

	if (lf->backups == 0) {
		if (lf->fd == -1 && logfile_open(lf, cause) == -1)
			return -1;
		if (ftruncate(lf->fd, 0) == -1) {
			xasprintf(cause, "cannot truncate %s: %s", lf->path,
			    strerror(errno));
			logfile_close(lf);
			return -1;
		}
		lf->size = 0;
		return 0;
	}
	logfile_close(lf);
	for (n = lf->backups; n >= 1; n--) {
		from = n == 1 ? xstrdup(lf->path) :
		    logfile_backup_name(lf->path, n - 1);
		to = logfile_backup_name(lf->path, n);
		if (rename(from, to) == -1 && errno != ENOENT) {
			xasprintf(cause, "cannot rename %s to %s: %s", from,
			    to, strerror(errno));
			free(from);
			free(to);
			return -1;
		}
		free(from);
		free(to);
	}
	return logfile_open(lf, cause);
}

/* Write all of len bytes, or -1 with errno. */
static int
logfile_write_all(int fd, const char *data, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Append whole lines (data ends with a newline), opening the file if it is
 * closed and rotating before a line that would take it past max_bytes: as
 * many lines as fit go in one write. On error -1 and *cause; the file is
 * then closed and the next write opens it again.
 */
int
logfile_write(struct logfile *lf, const char *data, size_t len, char **cause)
{
	const char	*nl;
	size_t		 chunk, line;

	if (lf->fd == -1 && logfile_open(lf, cause) == -1)
		return -1;
	while (len > 0) {
		/* The whole lines that still fit; at least one. */
		chunk = 0;
		while (chunk < len) {
			nl = memchr(data + chunk, '\n', len - chunk);
			line = nl != NULL ? (size_t)(nl - (data + chunk)) + 1 :
			    len - chunk;
			if (lf->size + chunk + line > lf->max_bytes &&
			    (chunk > 0 || lf->size > 0))
				break;
			chunk += line;
		}
		if (chunk == 0) {
			if (logfile_rotate(lf, cause) == -1)
				return -1;
			continue;
		}
		if (logfile_write_all(lf->fd, data, chunk) == -1) {
			xasprintf(cause, "cannot write %s: %s", lf->path,
			    strerror(errno));
			logfile_close(lf);
			return -1;
		}
		lf->size += chunk;
		data += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * logfile.h: a log file that rotates by size and keeps a number of old
 * ones, as supervisord's stdout_logfile_maxbytes and _backups do: before a
 * write would take NAME past max_bytes, NAME.(n-1) becomes NAME.n for each
 * kept n (the oldest is overwritten), NAME becomes NAME.1, and a new NAME is
 * started; with no backups NAME is only emptied. No file passes max_bytes
 * unless a single line is longer than it.
 *
 * Plain POSIX calls and no event loop: the daemon calls it from its loop
 * (supervisor/output.c says why that is fast enough) and the unit tests call
 * it on a scratch directory.
 */
#ifndef LOGFILE_H
#define LOGFILE_H

#include <stddef.h>
#include <stdint.h>

/* Old files kept at most, so a rotation is a bounded number of renames. */
#define LOGFILE_MAX_BACKUPS	100

struct logfile;

struct logfile *logfile_new(const char *path, uint64_t max_bytes, int backups);
void	 logfile_free(struct logfile *);
int	 logfile_write(struct logfile *, const char *, size_t, char **cause);
int	 logfile_rotate(struct logfile *, char **cause);
void	 logfile_close(struct logfile *);
const char *logfile_path(const struct logfile *);
uint64_t logfile_size(const struct logfile *);
char	*logfile_backup_name(const char *path, int n);

#endif

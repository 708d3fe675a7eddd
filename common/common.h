/*
 * common.h: logging and allocation helpers shared by every module.
 *
 * Allocation wrappers die on failure, so call sites never test for NULL.
 * Logging goes to stderr with a timestamp and the program name; the daemon
 * and plugins all use it (a plugin's stderr is captured by the daemon).
 */
#ifndef COMMON_H
#define COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* glibc's sys/queue.h lacks the _SAFE variants. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define printflike(a, b) __attribute__((format(printf, a, b)))

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_FATAL };

void	 log_init(const char *progname, int debug);
void	 log_set_timestamps(int on);
int	 log_stderr_is_journal(void);
void	 log_warn(const char *, ...) printflike(1, 2);
void	 log_warnx(const char *, ...) printflike(1, 2);
void	 log_info(const char *, ...) printflike(1, 2);
void	 log_debug(const char *, ...) printflike(1, 2);
void	 log_vlog(enum log_level, const char *, va_list) printflike(2, 0);
void	 log_vlog_line(enum log_level, const char *, ...) printflike(2, 3);
int	 log_get_debug(void);
__attribute__((noreturn)) void fatal(const char *, ...) printflike(1, 2);
__attribute__((noreturn)) void fatalx(const char *, ...) printflike(1, 2);

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) printflike(2, 3);
int	 xvasprintf(char **, const char *, va_list) printflike(2, 0);
size_t	 strlcpy_(char *, const char *, size_t);
size_t	 utf8_seq(const unsigned char *, size_t);
void	 utf8_sanitize(char *);
double	 round_nearest(double);
char	*utf8_quote(const char *, char *, size_t);

/* Monotonic and wall clocks, in seconds as doubles and in milliseconds. */
double	 clock_mono(void);
double	 clock_wall(void);
uint64_t clock_mono_ms(void);
struct timeval;
struct timeval clock_timeval(double seconds);

#endif

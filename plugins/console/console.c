/*
 * console.c: the console connector. Lines typed on the terminal (or written
 * into a pipe by a test) become chat lines from user "console" on platform
 * "console"; what the daemon says to the console is printed on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/sdk/sdk.h"

#define CONSOLE_VERSION		"1.0.0"
#define CONSOLE_PLATFORM	"console"

/* Longest line accepted, in bytes without the newline: the chat text limit. */
#define CONSOLE_MAX_LINE	2048

static struct {
	char	 line[CONSOLE_MAX_LINE + 1];
	size_t	 len;
	int	 discarding;	/* inside a line that was too long */
} console;

/* Hand one complete line to the daemon, unless it is blank. */
static void
console_line(char *line, size_t len)
{
	size_t	i;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	for (i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t')
			break;
	}
	if (i == len)
		return;
	sdk_chat(CONSOLE_PLATFORM, CONSOLE_PLATFORM, CONSOLE_PLATFORM, line);
}

/* Split what was read into lines, keeping a partial line for the next read. */
static void
console_input(const char *buf, size_t n)
{
	const char	*p = buf, *nl, *end = buf + n;
	size_t		 chunk;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		chunk = (nl != NULL ? nl : end) - p;
		if (!console.discarding) {
			if (console.len + chunk > CONSOLE_MAX_LINE) {
				log_warnx("line longer than %d bytes discarded",
				    CONSOLE_MAX_LINE);
				console.discarding = 1;
				console.len = 0;
			} else {
				memcpy(console.line + console.len, p, chunk);
				console.len += chunk;
			}
		}
		if (nl == NULL)
			break;
		if (!console.discarding)
			console_line(console.line, console.len);
		console.len = 0;
		console.discarding = 0;
		p = nl + 1;
	}
}

/* Read stdin; at end of input, stop watching it but keep delivering says. */
static void
console_read(int fd, void *arg)
{
	char	buf[4096];
	ssize_t	n;

	n = read(fd, buf, sizeof buf);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		log_warn("read from stdin");
	}
	if (n > 0) {
		console_input(buf, n);
		return;
	}
	/* A last line without a newline still counts. */
	if (!console.discarding && console.len > 0)
		console_line(console.line, console.len);
	console.len = 0;
	console.discarding = 0;
	sdk_unwatch_fd(fd);
	/*
	 * Ctrl-D at a terminal ends the session, as in any REPL: the daemon
	 * stops. A pipe's end (a script, a test) only ends the input: the
	 * daemon runs on and says are still printed.
	 */
	if (isatty(fd)) {
		log_info("end of input on the terminal: stopping the daemon");
		sdk_request_shutdown();
	} else
		log_info("end of input");
}

/* Print one line; control characters (escape sequences) become '?'. */
static void
console_print(const char *s, size_t len, void *arg)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		putchar(c < 0x20 && c != '\t' ? '?' : c == 0x7f ? '?' : c);
	}
	putchar('\n');
}

/*
 * Print what the daemon says, one output line per line of text, a long
 * line cut at CONSOLE_MAX_LINE bytes (the longest line the console reads).
 */
static void
console_say(const char *platform, const char *channel, const char *user,
    const char *text, void *arg)
{
	sdk_split_lines(text, strlen(text), CONSOLE_MAX_LINE, console_print,
	    NULL);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	/*
	 * The console shares the daemon's process group, so Ctrl-C reaches
	 * both: the daemon stops, and stops us with shutdown in its turn.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sdk_init("console", CONSOLE_VERSION);
	sdk_on_say(console_say, NULL);
	sdk_watch_fd(STDIN_FILENO, console_read, NULL);
	return sdk_run();
}

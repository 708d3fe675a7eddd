/*
 * verbs-cli.c: a verb's JSON result as text for people at a terminal, for
 * supervisorctl: tables, "key: value" lines and sparklines. Each printer is
 * named in its verb's VERB_LIST entry and returns supervisorctl's exit
 * status; a verb without one prints its chat text (verb_cli). Text coming
 * from plugins is printed with control characters as '?'.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "supervisor/verbs.h"

/* Columns of the widest table (status). */
#define CLI_TABLE_COLS		9

/* The status table's heads and alignment (cli_status_header, the fast path). */
static const char *const cli_status_heads[CLI_TABLE_COLS] = { "NAME",
    "STATE", "PID", "UPTIME", "CPU%", "MEM(MB)", "EVENTS", "RESTARTS",
    "CRASHES" };
static const char cli_status_align[] = "llrlrrrrr";
/* The status fields shown in those columns (what supervisorctl asks for). */
static const char *const cli_status_fields[CLI_TABLE_COLS] = { "name",
    "state", "pid", "uptime_human", "cpu_percent", "memory_mb",
    "events.routed", "restarts", "crashes" };

/* A text table: cells added row by row, columns sized to fit, then printed. */
struct cli_table {
	size_t		 ncols;
	const char	*align;		/* 'l' or 'r' per column */
	char		**cells;
	size_t		 ncells;
	size_t		 cap;
	size_t		 width[CLI_TABLE_COLS];
};

/* Print text wrapped at 79 columns, continuation lines indented by indent. */
static void
cli_wrap(FILE *f, const char *text, size_t col, size_t indent)
{
	const char	*p = text, *sp;
	size_t		 n;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (col > indent && col + 1 + n > 79) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* One verb's line of the usage: mark, name, arguments, what it does. */
void
verb_cli_usage(FILE *f, const struct verb *ce, char mark)
{
	char	 left[128];
	int	 n;

	n = snprintf(left, sizeof left, "%c %s %s", mark,
	    verb_cli_name(ce), verb_cli_args(ce));
	if (n < 28) {
		fprintf(f, "%-28s", left);
		cli_wrap(f, ce->usage, 28, 28);
	} else {
		fprintf(f, "%s\n%28s", left, "");
		cli_wrap(f, ce->usage, 28, 28);
	}
}


/* A number with prec decimals, or "-" if it is null or missing. */
static const char *
cli_fmt_num(json_t *o, const char *key, int prec, char *buf, size_t size)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, size, "%.*f", prec, json_number_value(v));
	return buf;
}

/* Local time of a wall clock time: "2024-11-23 19:30:01", or just the time. */
static const char *
cli_fmt_time(double t, int with_date, char *buf, size_t size)
{
	struct tm	tm;
	time_t		secs = (time_t)t;

	if (!(t > 0) || localtime_r(&secs, &tm) == NULL)
		return "-";
	strftime(buf, size, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S",
	    &tm);
	return buf;
}

/* A duration: "3.2 s" under a minute, else "5m", "3h 5m", "2d 4h". */
static const char *
cli_fmt_duration(double secs, char *buf, size_t size)
{
	if (secs < 60)
		snprintf(buf, size, "%.1f s", secs < 0 ? 0 : secs);
	else
		metrics_format_uptime(secs, buf, size);
	return buf;
}

/*
 * Print text from a plugin (stderr lines, crash details) with control
 * characters shown as '?', so a plugin cannot send escape sequences to the
 * operator's terminal.
 */
void
verb_cli_put_safe(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			fputc('?', f);
		else
			fputc(*s, f);
	}
}

static void
cli_table_init(struct cli_table *t, size_t ncols, const char *align)
{
	memset(t, 0, sizeof *t);
	if (ncols > CLI_TABLE_COLS)
		fatalx("cli_table_init: %zu columns", ncols);
	t->ncols = ncols;
	t->align = align;
}

static void	cli_cell(struct cli_table *, const char *, ...) printflike(2, 3);

/* Add the next cell, left to right and row by row. */
static void
cli_cell(struct cli_table *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	if (t->ncells == t->cap) {
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->cells = xreallocarray(t->cells, t->cap, sizeof *t->cells);
	}
	t->cells[t->ncells++] = s;
}

/* Add the next cell, a plain string (cli_cell without the format). */
static void
cli_cell_str(struct cli_table *t, const char *s)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->cells = xreallocarray(t->cells, t->cap, sizeof *t->cells);
	}
	t->cells[t->ncells++] = xstrdup(s);
}

/* Display width of a UTF-8 string: its code points. */
static size_t
cli_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* Append n bytes to a line buffer, growing it. */
static void
cli_line_add(char **line, size_t *len, size_t *size, const char *s, size_t n)
{
	if (*len + n + 2 > *size) {
		*size = (*len + n + 2) * 2;
		*line = xreallocarray(*line, *size, 1);
	}
	memcpy(*line + *len, s, n);
	*len += n;
}

/* Append n spaces to a line buffer. */
static void
cli_line_pad(char **line, size_t *len, size_t *size, size_t n)
{
	static const char	spaces[] = "                                ";

	while (n > 0) {
		size_t	k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;

		cli_line_add(line, len, size, spaces, k);
		n -= k;
	}
}

/*
 * Print the table, columns two spaces apart, then free it. Each line is
 * built in a buffer and written once, control characters shown as '?'
 * as verb_cli_put_safe does: a character at a time through stdio was most
 * of `status`'s time for a thousand plugins.
 */
static void
cli_table_print(struct cli_table *t, int indent)
{
	size_t	 i, j, col, w, pad, len = 0, size = 0;
	char	*s, *line = NULL;

	for (i = 0; i < t->ncells; i++) {
		w = cli_width(t->cells[i]);
		if (w > t->width[i % t->ncols])
			t->width[i % t->ncols] = w;
	}
	for (i = 0; i < t->ncells; i++) {
		col = i % t->ncols;
		s = t->cells[i];
		pad = t->width[col] - cli_width(s);
		if (col == 0) {
			len = 0;
			cli_line_pad(&line, &len, &size, (size_t)indent);
		}
		if (t->align[col] == 'r')
			cli_line_pad(&line, &len, &size, pad);
		j = len;
		cli_line_add(&line, &len, &size, s, strlen(s));
		for (; j < len; j++) {
			if (((unsigned char)line[j] < 0x20 && line[j] != '\t') ||
			    line[j] == 0x7f)
				line[j] = '?';
		}
		if (col + 1 == t->ncols || i + 1 == t->ncells) {
			cli_line_add(&line, &len, &size, "\n", 1);
			fwrite(line, 1, len, stdout);
		} else {
			if (t->align[col] != 'r')
				cli_line_pad(&line, &len, &size, pad);
			cli_line_add(&line, &len, &size, "  ", 2);
		}
		free(s);
	}
	free(line);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

/* A sparkline of a series: ▁ to █ scaled min..max, a space for a null. */
static char *
cli_sparkline(json_t *series, double *lo, double *hi, int *have)
{
	static const char	*blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆",
				    "▇", "█" };
	json_t			*v;
	char			*out;
	size_t			 i, off = 0;
	double			 x;
	int			 level;

	*have = 0;
	*lo = *hi = 0;
	json_array_foreach(series, i, v) {
		if (!json_is_number(v))
			continue;
		x = json_number_value(v);
		if (!*have || x < *lo)
			*lo = x;
		if (!*have || x > *hi)
			*hi = x;
		*have = 1;
	}
	out = xmalloc(json_array_size(series) * 3 + 1);
	json_array_foreach(series, i, v) {
		if (!json_is_number(v)) {
			out[off++] = ' ';
			continue;
		}
		x = json_number_value(v);
		level = *hi > *lo ?
		    (int)round_nearest((x - *lo) / (*hi - *lo) * 7) : 0;
		if (level < 0)
			level = 0;
		if (level > 7)
			level = 7;
		memcpy(out + off, blocks[level], 3);
		off += 3;
	}
	out[off] = '\0';
	return out;
}

/* A state in which the plugin serves: RUNNING, or UPGRADING (still running). */
static int
cli_serving(json_t *p)
{
	const char	*s = verb_str(p, "state", "RUNNING");

	return strcmp(s, "RUNNING") == 0 || strcmp(s, "UPGRADING") == 0;
}

/*
 * The exit status of status: 1 if a plugin shown is not RUNNING (or
 * UPGRADING). Rows without a state (--fields without state) say nothing
 * either way.
 */
int
verb_cli_status_exit(json_t *res)
{
	json_t	*p;
	size_t	 i;

	if (json_object_get(res, "plugins") == NULL)
		return cli_serving(res) ? VERB_EXIT_OK : VERB_EXIT_FAILED;
	json_array_foreach(json_object_get(res, "plugins"), i, p) {
		if (!cli_serving(p))
			return VERB_EXIT_FAILED;
	}
	return VERB_EXIT_OK;
}

/* The system line under the status table, newline included; free it. */
static char *
cli_status_system_line(json_t *sys)
{
	json_t		*d = json_object_get(sys, "daemon");
	char		 b1[32], b2[32], *line;
	long long	 np = verb_int(sys, "total_plugins", 0);
	long long	 ne = verb_int(sys, "total_events", 0);

	/* No CPU figure until the first delta: "n/a", not "-%". */
	if (json_is_number(json_object_get(d, "cpu_percent")))
		snprintf(b1, sizeof b1, "%.1f%%",
		    verb_num(d, "cpu_percent", 0));
	else
		snprintf(b1, sizeof b1, "n/a");
	xasprintf(&line, "system: up %s, %lld %s (%lld running, %lld "
	    "crashed), %lld %s, plugins %.1f MB, daemon pid %lld cpu %s mem "
	    "%s MB\n",
	    verb_str(sys, "bot_uptime_human", "?"),
	    np, verb_plural(np, "plugin", "plugins"),
	    verb_int(sys, "plugins_running", 0),
	    verb_int(sys, "plugins_crashed", 0),
	    ne, verb_plural(ne, "event", "events"),
	    verb_num(sys, "total_memory_mb", 0), verb_int(d, "pid", 0),
	    b1, cli_fmt_num(d, "memory_mb", 1, b2, sizeof b2));
	return line;
}

/* Print the system line under the status table. */
static void
cli_status_system(json_t *sys)
{
	char	*line = cli_status_system_line(sys);

	fputs(line, stdout);
	free(line);
}

/* The status table and its header row. */
static void
cli_status_header(struct cli_table *t)
{
	size_t	k;

	cli_table_init(t, CLI_TABLE_COLS, cli_status_align);
	for (k = 0; k < CLI_TABLE_COLS; k++)
		cli_cell_str(t, cli_status_heads[k]);
}

/* A row's value as a number with prec decimals, or "-". */
static const char *
cli_row_num(json_t *v, int prec, char *buf, size_t size)
{
	if (!json_is_number(v))
		return "-";
	snprintf(buf, size, "%.*f", prec, json_number_value(v));
	return buf;
}

/*
 * status as rows ("columns" and "rows", what supervisorctl asks for): the
 * same table as cli_status_all, each column found by its name once.
 */
static int
cli_status_rows(json_t *res)
{
	const char *const	*names = cli_status_fields;
	struct cli_table	 t;
	json_t			*cols = json_object_get(res, "columns");
	json_t			*rows = json_object_get(res, "rows"), *r, *c;
	char			 b[32];
	int			 at[9], failed = 0;
	size_t			 i, k;
	const char		*state;

	for (k = 0; k < CLI_TABLE_COLS; k++) {
		at[k] = -1;
		json_array_foreach(cols, i, c) {
			if (json_is_string(c) &&
			    strcmp(json_string_value(c), names[k]) == 0)
				at[k] = (int)i;
		}
	}
#define ROW(k)	(at[k] >= 0 ? json_array_get(r, (size_t)at[k]) : NULL)
#define ROW_STR(k, dflt) (json_is_string(ROW(k)) ? \
	json_string_value(ROW(k)) : (dflt))
	cli_status_header(&t);
	json_array_foreach(rows, i, r) {
		state = ROW_STR(1, NULL);
		/* Serving: RUNNING, or UPGRADING (as cli_serving). */
		if (state != NULL && strcmp(state, "RUNNING") != 0 &&
		    strcmp(state, "UPGRADING") != 0)
			failed = 1;
		cli_cell_str(&t, ROW_STR(0, "?"));
		cli_cell_str(&t, state != NULL ? state : "?");
		cli_cell_str(&t, cli_row_num(ROW(2), 0, b, sizeof b));
		cli_cell_str(&t, json_is_integer(ROW(2)) ? ROW_STR(3, "-") : "-");
		cli_cell_str(&t, cli_row_num(ROW(4), 1, b, sizeof b));
		cli_cell_str(&t, cli_row_num(ROW(5), 1, b, sizeof b));
		for (k = 6; k < 9; k++) {
			snprintf(b, sizeof b, "%lld", json_is_integer(ROW(k)) ?
			    (long long)json_integer_value(ROW(k)) : 0LL);
			cli_cell_str(&t, b);
		}
	}
#undef ROW_STR
#undef ROW
	cli_table_print(&t, 0);
	cli_status_system(json_object_get(res, "system"));
	return failed ? VERB_EXIT_FAILED : VERB_EXIT_OK;
}

/*
 * status's table read straight from the reply line: what supervisorctl
 * prints for a plain `status` (verb_cli_status_line).
 *
 * Why not jansson here: for a thousand plugins, parsing the 45 KB reply
 * into a tree of 9000 jansson values and a malloc'd string per table cell
 * touched ~1.1 MB of fresh heap, and in a new process every page touched is
 * a fault the kernel zeroes: 336 page faults, a third of the time in
 * clear_page, 6-7 ms of CPU (perf record of 200 runs). Read in place (two
 * passes over the rows: widths, then text; integers formatted by hand,
 * each distinct CPU or memory figure once) and written in one write(2), it
 * takes ~103 faults and 1.4-2 ms of CPU, most of it exec and the dynamic
 * loader; in-process, the table costs ~0.33 ms against 2.5 ms through
 * jansson. `supervisorctl -s SOCK status` against daemons of idle plugins
 * (median wall / CPU of 40 runs, old and new binaries interleaved, three
 * rounds, medians; a 2-core VM shared with other benchmarks, load 4-7):
 *
 *	plugins		before			after
 *	10		2.02 ms / 1.23 ms	1.94 ms / 1.17 ms
 *	100		2.64 ms / 1.66 ms	2.50 ms / 1.27 ms
 *	1000		8.73 ms / 6.22 ms	4.02 ms / 1.89 ms
 *
 * (Again at load ~1, fresh daemons: 1000 plugins 9.95 / 6.93 ms before,
 * 4.49 / 2.29 ms after. The same reply line gives the same bytes.)
 *
 * What is left at 1000 is the daemon's ~0.5 ms to write the rows and the
 * process start, as at 10. Linked statically (no loader) it would start
 * ~0.3 ms sooner, but static glibc cannot resolve the user names a config
 * may hold (getpwnam): not done. jansson linked statically alone: no gain
 * measured.
 *
 * Strict on purpose: it reads only what the daemon writes for that request,
 * {"ok":true,"result":{"columns":[...],"rows":[[...],...],"system":{...}}}
 * (other keys are skipped through jansson, "columns" and "system" parsed by
 * it), columns before rows, each row a flat array of ASCII strings without
 * escapes, JSON numbers, true, false and null. Anything else (an error
 * reply, an escape, a non-ASCII name, a malformed or truncated line) makes
 * it return -1 having printed nothing, and the caller parses the line with
 * jansson (verb_cli_status): the same table byte for byte for the same
 * rows (test_verbs compares them), and its errors for a bad line.
 */

/* The largest table the fast path builds in memory to print in one write. */
#define CLI_FAST_MAX		(64 * 1024 * 1024)
/* Columns of a row it reads (a status row has under 30; the table uses 9). */
#define CLI_FAST_COLS		64

/* A place in the reply line. */
struct cli_scan {
	const char	*p;
	const char	*end;
};

/* One value of a row: where it is and what it is. */
struct cli_val {
	enum {
		CLI_VAL_NONE,		/* not in the row: no such column */
		CLI_VAL_STR,
		CLI_VAL_INT,
		CLI_VAL_REAL,
		CLI_VAL_OTHER,		/* true, false, null */
	}		 type;
	const char	*s;		/* a string or a number's text, in the line */
	size_t		 len;
	long long	 i;		/* an integer's value */
};

/* Skip JSON's white space: space, tab, newline, carriage return. */
static void
cli_scan_ws(struct cli_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Skip white space and the character c; -1 if c is not next. */
static int
cli_scan_char(struct cli_scan *s, char c)
{
	if (s->p < s->end && *s->p == c) {
		/* The daemon writes no white space: the usual case. */
		s->p++;
		return 0;
	}
	cli_scan_ws(s);
	if (s->p == s->end || *s->p != c)
		return -1;
	s->p++;
	return 0;
}

/* A string of printable ASCII without escapes, pointed to in the line. */
static int
cli_scan_str(struct cli_scan *s, const char **str, size_t *len)
{
	const char	*q;

	if (cli_scan_char(s, '"') == -1)
		return -1;
	for (q = s->p; q < s->end && *q != '"'; q++) {
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x80 ||
		    *q == '\\')
			return -1;
	}
	if (q == s->end)
		return -1;
	*str = s->p;
	*len = (size_t)(q - s->p);
	s->p = q + 1;
	return 0;
}

/* Digits, at least one; -1 if there is none. */
static int
cli_scan_digits(const char **q, const char *end)
{
	if (*q == end || **q < '0' || **q > '9')
		return -1;
	while (*q < end && **q >= '0' && **q <= '9')
		(*q)++;
	return 0;
}

/*
 * A JSON number, an integer if it has neither fraction nor exponent (as
 * jansson decides); -1 for one jansson refuses (out of range) or that no
 * status value is as long as. An integer's value is read here; a real is
 * kept as its text, converted only if it is shown (cli_fast_real).
 */
static int
cli_scan_num(struct cli_scan *s, struct cli_val *v)
{
	const char	*q = s->p, *digits;
	char		 tok[64];
	size_t		 n;
	int		 real = 0, exp = 0;

	if (*q == '-')
		q++;
	digits = q;
	if (q < s->end && *q == '0')
		q++;
	else if (cli_scan_digits(&q, s->end) == -1)
		return -1;
	if (q < s->end && *q == '.') {
		q++;
		real = 1;
		if (cli_scan_digits(&q, s->end) == -1)
			return -1;
	}
	if (q < s->end && (*q == 'e' || *q == 'E')) {
		q++;
		real = exp = 1;
		if (q < s->end && (*q == '+' || *q == '-'))
			q++;
		if (cli_scan_digits(&q, s->end) == -1)
			return -1;
	}
	if ((n = (size_t)(q - s->p)) >= sizeof tok)
		return -1;
	v->s = s->p;
	v->len = n;
	v->type = real ? CLI_VAL_REAL : CLI_VAL_INT;
	s->p = q;
	if (!real && q - digits <= 18) {
		/* 18 digits cannot overflow: no strtoll needed. */
		for (v->i = 0; digits < q; digits++)
			v->i = v->i * 10 + (*digits - '0');
		if (*v->s == '-')
			v->i = -v->i;
		return 0;
	}
	if (real && !exp)
		return 0;	/* under 64 characters: no overflow either */
	memcpy(tok, v->s, n);
	tok[n] = '\0';
	errno = 0;
	if (real)
		(void)strtod(tok, NULL);
	else
		v->i = strtoll(tok, NULL, 10);
	return errno != 0 ? -1 : 0;
}

/*
 * A number cell, "%.*f" of the value as cli_row_num prints it. The figures
 * of CPU and memory repeat from row to row (0.0, 1.4), and formatting a
 * double was a fifth of the table's time: each token's text is formatted
 * once and kept in a small direct-mapped table, keyed by the token's text
 * and the precision, so the output is what snprintf gives by construction.
 */
static const char *
cli_fast_num(const struct cli_val *v, int prec, char *buf, size_t size,
    size_t *len)
{
	static struct {
		char	tok[24];
		char	text[32];
		int	prec;
	}		 memo[128];
	char		 tok[64];
	size_t		 i, h = (size_t)prec;

	if (v->len >= sizeof memo[0].tok) {
		memcpy(tok, v->s, v->len);
		tok[v->len] = '\0';
		snprintf(buf, size, "%.*f", prec, v->type == CLI_VAL_INT ?
		    (double)v->i : strtod(tok, NULL));
		*len = strlen(buf);	/* cut as cli_row_num cuts it */
		return buf;
	}
	for (i = 0; i < v->len; i++)
		h = h * 31 + (unsigned char)v->s[i];
	h %= nitems(memo);
	if (memo[h].prec != prec + 1 || strlen(memo[h].tok) != v->len ||
	    memcmp(memo[h].tok, v->s, v->len) != 0) {
		memcpy(memo[h].tok, v->s, v->len);
		memo[h].tok[v->len] = '\0';
		memo[h].prec = prec + 1;
		snprintf(memo[h].text, sizeof memo[h].text, "%.*f", prec,
		    v->type == CLI_VAL_INT ? (double)v->i :
		    strtod(memo[h].tok, NULL));
	}
	/* A copy: the next cell of the row may take the same slot. */
	*len = strlcpy_(buf, memo[h].text, size);
	return buf;
}

/* An integer in decimal, as "%lld" prints it, into buf (24 bytes or more). */
static const char *
cli_fast_int(long long i, char *buf, size_t *len)
{
	unsigned long long	 u = i < 0 ? 0ULL - (unsigned long long)i :
				    (unsigned long long)i;
	char			*p = buf + 23;

	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (i < 0)
		*--p = '-';
	*len = (size_t)(buf + 23 - p);
	return p;
}

/* One scalar value of a row; -1 for anything else (an array, an object). */
static int
cli_scan_val(struct cli_scan *s, struct cli_val *v)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t			 i, n;

	cli_scan_ws(s);
	if (s->p == s->end)
		return -1;
	if (*s->p == '"') {
		v->type = CLI_VAL_STR;
		return cli_scan_str(s, &v->s, &v->len);
	}
	if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
		return cli_scan_num(s, v);
	for (i = 0; i < nitems(lits); i++) {
		n = strlen(lits[i]);
		if ((size_t)(s->end - s->p) >= n &&
		    memcmp(s->p, lits[i], n) == 0) {
			v->type = CLI_VAL_OTHER;
			s->p += n;
			return 0;
		}
	}
	return -1;
}

/* Any JSON value, parsed by jansson where it starts; NULL if it is none. */
static json_t *
cli_scan_json(struct cli_scan *s)
{
	json_error_t	 err;
	json_t		*j;

	cli_scan_ws(s);
	j = json_loadb(s->p, (size_t)(s->end - s->p), JSON_DISABLE_EOF_CHECK |
	    JSON_DECODE_ANY, &err);
	if (j != NULL)
		s->p += err.position;
	return j;
}

/* A key of an object, then its colon. */
static int
cli_scan_key(struct cli_scan *s, const char **key, size_t *len)
{
	if (cli_scan_str(s, key, len) == -1 || cli_scan_char(s, ':') == -1)
		return -1;
	return 0;
}

/* Is key (len bytes) the string name? */
static int
cli_key_is(const char *key, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(key, name, len) == 0;
}

/*
 * A row's nine cells as cli_status_rows makes them: cell[k] points into the
 * line or into buf[k]. Sets *failed for a state that is not serving.
 */
static void
cli_fast_cells(const struct cli_val *v, char buf[][32],
    const char *cell[], size_t len[], int *failed)
{
	size_t	k;

#define CLI_CELL(k, str, n) do {					\
	cell[k] = (str);						\
	len[k] = (n);							\
} while (0)
	if (v[0].type == CLI_VAL_STR)
		CLI_CELL(0, v[0].s, v[0].len);
	else
		CLI_CELL(0, "?", 1);
	if (v[1].type == CLI_VAL_STR) {
		CLI_CELL(1, v[1].s, v[1].len);
		if (!cli_key_is(v[1].s, v[1].len, "RUNNING") &&
		    !cli_key_is(v[1].s, v[1].len, "UPGRADING"))
			*failed = 1;
	} else
		CLI_CELL(1, "?", 1);
	/* PID, "%.0f" of its value: an integer a double holds, as it is. */
	if (v[2].type == CLI_VAL_INT && v[2].i < (1LL << 53) &&
	    v[2].i > -(1LL << 53))
		cell[2] = cli_fast_int(v[2].i, buf[2], &len[2]);
	else if (v[2].type == CLI_VAL_INT || v[2].type == CLI_VAL_REAL)
		cell[2] = cli_fast_num(&v[2], 0, buf[2], sizeof buf[2], &len[2]);
	else
		CLI_CELL(2, "-", 1);
	/* UPTIME: the string if the pid is an integer. */
	if (v[2].type == CLI_VAL_INT && v[3].type == CLI_VAL_STR)
		CLI_CELL(3, v[3].s, v[3].len);
	else
		CLI_CELL(3, "-", 1);
	for (k = 4; k < 6; k++) {
		if (v[k].type == CLI_VAL_INT || v[k].type == CLI_VAL_REAL)
			cell[k] = cli_fast_num(&v[k], 1, buf[k], sizeof buf[k],
			    &len[k]);
		else
			CLI_CELL(k, "-", 1);
	}
	for (k = 6; k < 9; k++)
		cell[k] = cli_fast_int(v[k].type == CLI_VAL_INT ? v[k].i : 0,
		    buf[k], &len[k]);
#undef CLI_CELL
}

/*
 * Append one table line to out (sized by the caller from the widths), as
 * cli_table_print lays it out: columns two spaces apart, padded to their
 * width, DEL shown as '?' (the scan lets no other control character by).
 */
static size_t
cli_fast_line(char *out, const char *const cell[], const size_t len[],
    const size_t width[])
{
	size_t	k, j, n = 0;

	for (k = 0; k < CLI_TABLE_COLS; k++) {
		if (cli_status_align[k] == 'r') {
			memset(out + n, ' ', width[k] - len[k]);
			n += width[k] - len[k];
		}
		for (j = 0; j < len[k]; j++)
			out[n++] = cell[k][j] == 0x7f ? '?' : cell[k][j];
		if (k + 1 == CLI_TABLE_COLS) {
			out[n++] = '\n';
			break;
		}
		if (cli_status_align[k] != 'r') {
			memset(out + n, ' ', width[k] - len[k]);
			n += width[k] - len[k];
		}
		out[n++] = ' ';
		out[n++] = ' ';
	}
	return n;
}

/*
 * Read the rows array at s: with out NULL, widen width[] to fit every cell
 * and count the rows; else append the rows' lines to out. -1 if the rows
 * are not as the fast path takes them.
 */
static int
cli_fast_rows(struct cli_scan *s, const int at[], size_t width[],
    size_t *nrows, char *out, size_t *outlen, int *failed)
{
	struct cli_val	 v[CLI_TABLE_COLS], skip, *to;
	const char	*cell[CLI_TABLE_COLS];
	char		 buf[CLI_TABLE_COLS][32];
	signed char	 slot[CLI_FAST_COLS];
	size_t		 len[CLI_TABLE_COLS], i, k;

	/* The table's column of each value of a row, by its place. */
	memset(slot, -1, sizeof slot);
	for (k = 0; k < CLI_TABLE_COLS; k++) {
		if (at[k] >= CLI_FAST_COLS)
			return -1;
		if (at[k] >= 0)
			slot[at[k]] = (signed char)k;
	}
	if (cli_scan_char(s, '[') == -1)
		return -1;
	if (cli_scan_char(s, ']') == 0)
		return 0;
	for (;;) {
		for (k = 0; k < CLI_TABLE_COLS; k++)
			v[k].type = CLI_VAL_NONE;
		if (cli_scan_char(s, '[') == -1)
			return -1;
		if (cli_scan_char(s, ']') == -1) {
			for (i = 0;; i++) {
				to = i < CLI_FAST_COLS && slot[i] >= 0 ?
				    &v[slot[i]] : &skip;
				if (cli_scan_val(s, to) == -1)
					return -1;
				if (cli_scan_char(s, ']') == 0)
					break;
				if (cli_scan_char(s, ',') == -1)
					return -1;
			}
		}
		cli_fast_cells(v, buf, cell, len, failed);
		if (out == NULL) {
			for (k = 0; k < CLI_TABLE_COLS; k++) {
				if (len[k] > width[k])
					width[k] = len[k];
			}
			(*nrows)++;
		} else
			*outlen += cli_fast_line(out + *outlen, cell, len, width);
		if (cli_scan_char(s, ']') == 0)
			return 0;
		if (cli_scan_char(s, ',') == -1)
			return -1;
	}
}

/*
 * The result object of the reply: columns (into at[]), the rows measured
 * (their place kept in *rows), system (into *sys). -1 if it is not as the
 * fast path takes it.
 */
static int
cli_fast_result(struct cli_scan *s, int at[], struct cli_scan *rows,
    size_t width[], size_t *nrows, json_t **sys, int *failed)
{
	const char *const	*names = cli_status_fields;
	json_t			*j, *c;
	const char		*key;
	size_t			 len, i, k;
	int			 have_cols = 0;

	if (cli_scan_char(s, '{') == -1)
		return -1;
	if (cli_scan_char(s, '}') == 0)
		return -1;	/* no rows */
	for (;;) {
		if (cli_scan_key(s, &key, &len) == -1)
			return -1;
		if (cli_key_is(key, len, "rows")) {
			if (!have_cols || rows->p != NULL)
				return -1;
			cli_scan_ws(s);
			*rows = *s;
			if (cli_fast_rows(s, at, width, nrows, NULL, NULL,
			    failed) == -1)
				return -1;
		} else {
			if ((j = cli_scan_json(s)) == NULL)
				return -1;
			if (cli_key_is(key, len, "columns")) {
				if (have_cols || rows->p != NULL) {
					json_decref(j);
					return -1;
				}
				have_cols = 1;
				/* As cli_status_rows: the last of a name. */
				for (k = 0; k < CLI_TABLE_COLS; k++) {
					at[k] = -1;
					json_array_foreach(j, i, c) {
						if (json_is_string(c) &&
						    strcmp(json_string_value(c),
						    names[k]) == 0)
							at[k] = (int)i;
					}
				}
				json_decref(j);
			} else if (cli_key_is(key, len, "system")) {
				if (*sys != NULL) {
					json_decref(j);
					return -1;
				}
				*sys = j;
			} else
				json_decref(j);
		}
		if (cli_scan_char(s, '}') == 0)
			return rows->p != NULL ? 0 : -1;
		if (cli_scan_char(s, ',') == -1)
			return -1;
	}
}

/*
 * Write text on stdout in one write(2) (more if the reader takes less at a
 * time), after what stdio holds: through stdio, a table past its buffer
 * went out as a write of whole blocks and a write of the rest.
 */
static int
cli_write_out(const char *text, size_t len)
{
	ssize_t	n;

	if (fflush(stdout) == EOF)
		return -1;
	while (len > 0) {
		if ((n = write(STDOUT_FILENO, text, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * status (every plugin, as rows) from the reply line itself: prints the
 * table and the system line in one write and returns the exit status (1 if
 * a plugin is not serving); -1, having printed nothing, if the line is not
 * one it takes (see above): then parse it and call verb_cli_status.
 */
int
verb_cli_status_line(const char *line, size_t linelen)
{
	struct cli_scan	 s = { line, line + linelen }, rows = { NULL, NULL };
	json_t		*sys = NULL, *j;
	const char	*key;
	char		*out = NULL, *sysline;
	size_t		 width[CLI_TABLE_COLS], headlen[CLI_TABLE_COLS], len;
	size_t		 nrows = 0, size, outlen = 0, k;
	int		 at[CLI_TABLE_COLS], failed = 0, ok = 0, result = 0;
	int		 status = -1;

	for (k = 0; k < CLI_TABLE_COLS; k++)
		width[k] = strlen(cli_status_heads[k]);
	if (cli_scan_char(&s, '{') == -1)
		return -1;
	for (;;) {
		if (cli_scan_key(&s, &key, &len) == -1)
			goto out;
		if (cli_key_is(key, len, "ok")) {
			/* An error reply is for the caller's jansson path. */
			cli_scan_ws(&s);
			if (ok || (size_t)(s.end - s.p) < 4 ||
			    memcmp(s.p, "true", 4) != 0)
				goto out;
			s.p += 4;
			ok = 1;
		} else if (cli_key_is(key, len, "result")) {
			if (result || cli_fast_result(&s, at, &rows, width,
			    &nrows, &sys, &failed) == -1)
				goto out;
			result = 1;
		} else {
			if ((j = cli_scan_json(&s)) == NULL)
				goto out;
			json_decref(j);
		}
		if (cli_scan_char(&s, '}') == 0)
			break;
		if (cli_scan_char(&s, ',') == -1)
			goto out;
	}
	cli_scan_ws(&s);
	if (!ok || !result || s.p != s.end)
		goto out;

	/* Every line is at most this long: the widths, two spaces, newline. */
	for (size = 2 * (CLI_TABLE_COLS - 1) + 1, k = 0; k < CLI_TABLE_COLS;
	    k++)
		size += width[k];
	/*
	 * A table this big is no daemon's (a thousand plugins: 71 KB): one
	 * long name in a million rows of a hostile line would be terabytes.
	 * The jansson path prints it a line at a time, as it always did.
	 */
	if (size > CLI_FAST_MAX / (nrows + 1))
		goto out;
	sysline = cli_status_system_line(sys);
	out = xmalloc(size * (nrows + 1) + strlen(sysline) + 1);
	for (k = 0; k < CLI_TABLE_COLS; k++)
		headlen[k] = strlen(cli_status_heads[k]);
	outlen = cli_fast_line(out, cli_status_heads, headlen, width);
	failed = 0;
	if (cli_fast_rows(&rows, at, width, &nrows, out, &outlen,
	    &failed) == -1)
		fatalx("verb_cli_status_line: rows changed between passes");
	len = strlen(sysline);
	memcpy(out + outlen, sysline, len);
	outlen += len;
	free(sysline);
	status = failed ? VERB_EXIT_FAILED : VERB_EXIT_OK;
	if (cli_write_out(out, outlen) == -1)
		status = VERB_EXIT_FAILED;	/* as a failed fflush would */
out:
	free(out);
	json_decref(sys);
	return status;
}

/* status: the table of every plugin and the system line; 1 if any not RUNNING. */
static int
cli_status_all(json_t *res)
{
	struct cli_table	 t;
	json_t			*plugins = json_object_get(res, "plugins"), *p;
	json_t			*sys = json_object_get(res, "system");
	char			 b1[32], b2[32];
	size_t			 i;

	cli_status_header(&t);
	json_array_foreach(plugins, i, p) {
		int	has_pid = json_is_integer(json_object_get(p, "pid"));

		cli_cell(&t, "%s", verb_str(p, "name", "?"));
		cli_cell(&t, "%s", verb_str(p, "state", "?"));
		cli_cell(&t, "%s", cli_fmt_num(p, "pid", 0, b1, sizeof b1));
		cli_cell(&t, "%s", has_pid ? verb_str(p, "uptime_human", "-") :
		    "-");
		cli_cell(&t, "%s", cli_fmt_num(p, "cpu_percent", 1, b1,
		    sizeof b1));
		cli_cell(&t, "%s", cli_fmt_num(p, "memory_mb", 1, b2,
		    sizeof b2));
		cli_cell(&t, "%lld", verb_int(json_object_get(p, "events"),
		    "routed", 0));
		cli_cell(&t, "%lld", verb_int(p, "restarts", 0));
		cli_cell(&t, "%lld", verb_int(p, "crashes", 0));
	}
	cli_table_print(&t, 0);
	cli_status_system(sys);
	return verb_cli_status_exit(res);
}

/* "3 died, 1 queue full" from events.dropped_by_reason; "-" for none. */
static void
cli_drop_reasons(json_t *by)
{
	const char	*key;
	json_t		*v;
	char		 name[64];
	int		 n = 0;
	size_t		 i;

	json_object_foreach(by, key, v) {
		if (!json_is_integer(v) || json_integer_value(v) == 0)
			continue;
		strlcpy_(name, key, sizeof name);
		for (i = 0; name[i] != '\0'; i++)
			if (name[i] == '_')
				name[i] = ' ';
		printf("%s%lld %s", n++ ? ", " : "",
		    (long long)json_integer_value(v), name);
	}
	printf("%s\n", n ? "" : "-");
}

/* status NAME: the last upgrade in one line, if there was one. */
static void
cli_status_upgrade(json_t *u)
{
	const char	*res = verb_str(u, "result", "none");

	if (!json_is_object(u))
		return;
	printf("%-17s", "upgrade:");
	if (strcmp(res, "running") == 0)
		printf("running: new pid %lld beside pid %lld",
		    verb_int(u, "new_pid", 0), verb_int(u, "old_pid", 0));
	else if (strcmp(res, "done") == 0)
		printf("done: version %s -> %s, pid %lld -> %lld",
		    verb_str(u, "from_version", "?"), verb_str(u, "to_version",
		    "?"), verb_int(u, "old_pid", 0), verb_int(u, "new_pid", 0));
	else {
		printf("%s: ", res);
		verb_cli_put_safe(stdout, verb_str(u, "reason", ""));
		if (json_is_string(json_object_get(u, "reason")))
			printf(", ");
		verb_cli_put_safe(stdout, verb_str(u, "detail", "?"));
	}
	printf(" (%lld done, %lld failed)\n", verb_int(u, "upgrades", 0),
	    verb_int(u, "failures", 0));
}

/*
 * "sandbox: Landlock ABI 7, seccomp, no_new_privs, network none, scoped,
 * capabilities dropped", or "sandbox: off".
 */
static void
cli_status_sandbox(json_t *sb)
{
	long long	abi;

	if (!json_is_object(sb))
		return;
	if (!json_is_true(json_object_get(sb, "enabled"))) {
		printf("%-17soff\n", "sandbox:");
		return;
	}
	abi = verb_int(sb, "landlock_abi", 0);
	if (abi > 0)
		printf("%-17sLandlock ABI %lld", "sandbox:", abi);
	else
		printf("%-17sno Landlock", "sandbox:");
	printf(", seccomp, no_new_privs, network %s%s, capabilities %s\n",
	    verb_str(sb, "network", "?"), json_is_true(json_object_get(sb,
	    "scoped")) ? ", scoped" : "", verb_str(sb, "capabilities", "?"));
}

/* status NAME: one plugin as "key: value" lines; 1 if it is not RUNNING. */
static int
cli_status_one(json_t *p)
{
	json_t		*v, *ev = json_object_get(p, "events");
	char		 b1[64], b2[64];
	size_t		 i;
	double		 since = verb_num(p, "state_since", 0);
	long long	 n;

	printf("%-17s%s\n", "name:", verb_str(p, "name", "?"));
	printf("%-17s%s\n", "role:", verb_str(p, "role", "?"));
	printf("%-17s%s since %s (%s ago)\n", "state:", verb_str(p, "state", "?"),
	    cli_fmt_time(since, 1, b1, sizeof b1),
	    cli_fmt_duration(clock_wall() - since, b2, sizeof b2));
	printf("%-17s%s\n", "pid:", cli_fmt_num(p, "pid", 0, b1, sizeof b1));
	if (json_is_integer(json_object_get(p, "pid")))
		printf("%-17s%s (%.1f s)\n", "uptime:",
		    verb_str(p, "uptime_human", "?"),
		    verb_num(p, "uptime_seconds", 0));
	else
		printf("%-17s-\n", "uptime:");
	printf("%-17s%s\n", "version:", verb_str(p, "version", "-"));
	cli_status_upgrade(json_object_get(p, "upgrade"));
	printf("%-17s", "commands:");
	v = json_object_get(p, "commands");
	if (json_array_size(v) == 0)
		printf("-");
	for (i = 0; i < json_array_size(v); i++)
		printf("%s%s", i ? ", " : "",
		    json_string_value(json_array_get(v, i)) ?
		    json_string_value(json_array_get(v, i)) : "?");
	putchar('\n');
	n = verb_int(p, "starts", 0);
	printf("%-17s%lld (%lld %s)\n", "restarts:", verb_int(p, "restarts", 0),
	    n, verb_plural(n, "start", "starts"));
	printf("%-17s%lld\n", "crashes:", verb_int(p, "crashes", 0));
	printf("%-17s%s\n", "breaker:", verb_str(p, "breaker", "?"));
	printf("%-17s%s%s\n", "cpu:", cli_fmt_num(p, "cpu_percent", 2, b1,
	    sizeof b1), json_is_number(json_object_get(p, "cpu_percent")) ?
	    "%" : "");
	printf("%-17s%s%s\n", "memory:", cli_fmt_num(p, "memory_mb", 2, b1,
	    sizeof b1), json_is_number(json_object_get(p, "memory_mb")) ?
	    " MB" : "");
	n = verb_int(ev, "replies", 0);
	printf("%-17s%lld routed, %lld %s, %lld dropped, %lld protocol "
	    "%s\n", "events:", verb_int(ev, "routed", 0),
	    n, verb_plural(n, "reply", "replies"), verb_int(ev, "dropped", 0),
	    verb_int(ev, "protocol_errors", 0),
	    verb_plural(verb_int(ev, "protocol_errors", 0), "error", "errors"));
	printf("%-17s%lld\n", "in flight:", verb_int(ev, "in_flight", 0));
	printf("%-17s", "dropped by:");
	cli_drop_reasons(json_object_get(ev, "dropped_by_reason"));
	printf("%-17s%lld\n", "queued:", verb_int(p, "queued", 0));
	printf("%-17s%lld lines left out of the daemon's log\n",
	    "output limited:", verb_int(p, "output_suppressed", 0));
	if (json_object_get(p, "chat_lines") != NULL)
		printf("%-17s%lld\n", "chat lines:", verb_int(p, "chat_lines", 0));
	if (json_object_get(p, "chat_lines_dropped") != NULL)
		printf("%-17s%lld\n", "chat dropped:",
		    verb_int(p, "chat_lines_dropped", 0));
	cli_status_sandbox(json_object_get(p, "sandbox"));
	return verb_cli_status_exit(p);
}

int
verb_cli_status(const struct verb *verb, json_t *res)
{
	if (json_object_get(res, "rows") != NULL)
		return cli_status_rows(res);
	if (json_object_get(res, "plugins") != NULL)
		return cli_status_all(res);
	return cli_status_one(res);
}

/* One row of the aggregates table: label, then avg min max p95. */
static void
cli_stats_row(struct cli_table *t, const char *label, json_t *stats)
{
	char	b[32];

	cli_cell(t, "%s", label);
	cli_cell(t, "%s", cli_fmt_num(stats, "avg", 2, b, sizeof b));
	cli_cell(t, "%s", cli_fmt_num(stats, "min", 2, b, sizeof b));
	cli_cell(t, "%s", cli_fmt_num(stats, "max", 2, b, sizeof b));
	cli_cell(t, "%s", cli_fmt_num(stats, "p95", 2, b, sizeof b));
}

/* "label:    ▁▂▃█  lo..hi unit" for one series. */
static void
cli_sparkline_line(const char *label, json_t *series, const char *unit)
{
	char	*line;
	double	 lo, hi;
	int	 have;

	line = cli_sparkline(series, &lo, &hi, &have);
	if (have)
		printf("%-10s%s  %.2f..%.2f %s\n", label, line, lo, hi, unit);
	else
		printf("%-10s(no data)\n", label);
	free(line);
}

/* metrics: aggregates table, counts, current sample and two sparklines. */
int
verb_cli_metrics(const struct verb *verb, json_t *res)
{
	struct cli_table	 t;
	json_t			*st = json_object_get(res, "status");
	json_t			*agg = json_object_get(res, "aggregates");
	json_t			*cur = json_object_get(res, "current");
	json_t			*series = json_object_get(res, "series");
	char			 b1[64], b2[64], b3[64], b4[64];
	double			 span;

	printf("%s: %s", verb_str(res, "plugin", "?"), verb_str(st, "state", "?"));
	if (json_is_integer(json_object_get(st, "pid")))
		printf(", pid %lld, up %s", verb_int(st, "pid", 0),
		    verb_str(st, "uptime_human", "?"));
	if (json_is_number(json_object_get(res, "window_seconds")))
		printf("; window %s\n", cli_fmt_duration(verb_num(res,
		    "window_seconds", 0), b1, sizeof b1));
	else
		printf("; window: all retained\n");

	if (!json_is_object(agg))
		printf("no samples in this window\n");
	else {
		cli_table_init(&t, 5, "lrrrr");
		cli_cell(&t, "%s", "");
		cli_cell(&t, "avg");
		cli_cell(&t, "min");
		cli_cell(&t, "max");
		cli_cell(&t, "p95");
		cli_stats_row(&t, "CPU %", json_object_get(agg, "cpu"));
		cli_stats_row(&t, "MEM MB", json_object_get(agg, "memory_mb"));
		cli_table_print(&t, 0);
		span = verb_num(agg, "time_span_seconds", 0);
		printf("%-10s%lld (%lld with CPU) over %.1f s", "samples:",
		    verb_int(agg, "sample_count", 0),
		    verb_int(agg, "cpu_samples", 0), span);
		if (span >= 60)
			printf(" (%s)", cli_fmt_duration(span, b1, sizeof b1));
		putchar('\n');
		printf("%-10s%lld in window, %.2f/min\n", "events:",
		    verb_int(agg, "events", 0),
		    verb_num(agg, "events_per_minute", 0));
		if (strcmp(verb_str(res, "source", "raw"), "rollup") == 0)
			printf("%-10s%s buckets (p95 estimated)\n", "from:",
			    cli_fmt_duration(verb_num(res,
			    "resolution_seconds", 0), b1, sizeof b1));
		else
			printf("%-10sraw samples every %s (p95 exact)\n",
			    "from:", cli_fmt_duration(verb_num(res,
			    "resolution_seconds", 0), b1, sizeof b1));
	}
	if (json_is_number(json_object_get(res, "history_since")))
		printf("%-10s%s\n", "history:", cli_fmt_time(verb_num(res,
		    "history_since", 0), 0, b1, sizeof b1));
	if (json_is_object(cur)) {
		printf("%-10s%s %s pid %s cpu %s%s mem %s%s threads %lld\n",
		    "current:", cli_fmt_time(verb_num(cur, "time", 0), 0, b1,
		    sizeof b1), verb_str(cur, "state", "?"),
		    cli_fmt_num(cur, "pid", 0, b2, sizeof b2),
		    cli_fmt_num(cur, "cpu_percent", 2, b3, sizeof b3),
		    json_is_number(json_object_get(cur, "cpu_percent")) ?
		    "%" : "",
		    cli_fmt_num(cur, "memory_mb", 2, b4, sizeof b4),
		    json_is_number(json_object_get(cur, "memory_mb")) ?
		    " MB" : "", verb_int(cur, "threads", 0));
	}
	if (json_array_size(json_object_get(series, "cpu")) > 0) {
		cli_sparkline_line("cpu:", json_object_get(series, "cpu"), "%");
		cli_sparkline_line("memory:", json_object_get(series,
		    "memory_mb"), "MB");
	}
	return VERB_EXIT_OK;
}

/* history: one line per sample, oldest first. */
int
verb_cli_history(const struct verb *verb, json_t *res)
{
	struct cli_table	 t;
	json_t			*samples = json_object_get(res, "samples"), *s;
	char			 b[64];
	size_t			 i;

	if (json_array_size(samples) == 0)
		printf("%s: no samples\n", verb_str(res, "plugin", "?"));
	else {
		cli_table_init(&t, 5, "llrrr");
		cli_cell(&t, "TIME");
		cli_cell(&t, "STATE");
		cli_cell(&t, "PID");
		cli_cell(&t, "CPU%%");
		cli_cell(&t, "MEM(MB)");
		json_array_foreach(samples, i, s) {
			cli_cell(&t, "%s", cli_fmt_time(verb_num(s, "time", 0),
			    1, b, sizeof b));
			cli_cell(&t, "%s", verb_str(s, "state", "?"));
			cli_cell(&t, "%s", verb_int(s, "pid", 0) > 0 ?
			    cli_fmt_num(s, "pid", 0, b, sizeof b) : "-");
			cli_cell(&t, "%s", cli_fmt_num(s, "cpu_percent", 2, b,
			    sizeof b));
			cli_cell(&t, "%s", cli_fmt_num(s, "memory_mb", 2, b,
			    sizeof b));
		}
		cli_table_print(&t, 0);
	}
	printf("%zu samples of %lld kept, one every %g s\n",
	    json_array_size(samples), verb_int(res, "capacity", 0),
	    verb_num(res, "poll_interval", 0));
	return VERB_EXIT_OK;
}

/* "SIGKILL (9) core" or "exit 3" for a crash record. */
static const char *
cli_fmt_exit(json_t *cr, char *buf, size_t size)
{
	const char	*core = json_is_true(json_object_get(cr, "core_dumped")) ?
			    " core" : "";

	if (json_is_integer(json_object_get(cr, "signal")))
		snprintf(buf, size, "%s (%lld)%s",
		    verb_str(cr, "signal_name", "?"), verb_int(cr, "signal", 0),
		    core);
	else if (json_is_integer(json_object_get(cr, "exit_code")))
		snprintf(buf, size, "exit %lld%s", verb_int(cr, "exit_code", 0),
		    core);
	else
		snprintf(buf, size, "-");
	return buf;
}

/* crashes: a table of the records, then the newest one's stderr lines. */
int
verb_cli_crashes(const struct verb *verb, json_t *res)
{
	struct cli_table	 t;
	json_t			*list = json_object_get(res, "crashes"), *cr;
	json_t			*lines;
	char			 b[64];
	size_t			 i, n = json_array_size(list);

	if (n == 0) {
		printf("%s: no crashes (breaker %s)\n", verb_str(res, "plugin",
		    "?"), verb_str(res, "breaker", "?"));
		return VERB_EXIT_OK;
	}
	printf("%s: %lld crash%s, %zu kept (at most %lld); breaker %s\n",
	    verb_str(res, "plugin", "?"), verb_int(res, "total", 0),
	    verb_int(res, "total", 0) == 1 ? "" : "es", n,
	    verb_int(res, "kept", 0), verb_str(res, "breaker", "?"));
	cli_table_init(&t, 6, "lrllrl");
	cli_cell(&t, "TIME");
	cli_cell(&t, "PID");
	cli_cell(&t, "REASON");
	cli_cell(&t, "EXIT/SIGNAL");
	cli_cell(&t, "UPTIME");
	cli_cell(&t, "DETAIL");
	json_array_foreach(list, i, cr) {
		cli_cell(&t, "%s", cli_fmt_time(verb_num(cr, "time", 0), 1, b,
		    sizeof b));
		cli_cell(&t, "%s", cli_fmt_num(cr, "pid", 0, b, sizeof b));
		cli_cell(&t, "%s", verb_str(cr, "reason", "?"));
		cli_cell(&t, "%s", cli_fmt_exit(cr, b, sizeof b));
		cli_cell(&t, "%s", cli_fmt_duration(verb_num(cr,
		    "uptime_seconds", 0), b, sizeof b));
		cli_cell(&t, "%s", verb_str(cr, "detail", "-"));
	}
	cli_table_print(&t, 0);

	cr = json_array_get(list, n - 1);
	lines = json_object_get(cr, "stderr");
	if (!json_is_integer(json_object_get(cr, "pid"))) {
		/* A failed spawn: there was no process to write anything. */
		printf("the newest crash started no process: %s\n",
		    verb_str(cr, "detail", "see the daemon's log"));
		return VERB_EXIT_OK;
	}
	if (json_array_size(lines) == 0) {
		printf("no stderr lines from pid %lld\n", verb_int(cr, "pid", 0));
		return VERB_EXIT_OK;
	}
	printf("last stderr lines at the crash of pid %lld:\n",
	    verb_int(cr, "pid", 0));
	json_array_foreach(lines, i, cr) {
		fputs("    ", stdout);
		verb_cli_put_safe(stdout, json_is_string(cr) ? json_string_value(cr) : "?");
		putchar('\n');
	}
	return VERB_EXIT_OK;
}

/* tail: the lines, as they were. */
int
verb_cli_tail(const struct verb *verb, json_t *res)
{
	json_t	*v;
	size_t	 i;

	/* Nothing printed would read as a hang or a broken pipe. */
	if (json_array_size(json_object_get(res, "lines")) == 0) {
		printf("(no output from %s kept yet)\n",
		    verb_str(res, "plugin", "the plugin"));
		return VERB_EXIT_OK;
	}
	json_array_foreach(json_object_get(res, "lines"), i, v) {
		verb_cli_put_safe(stdout, json_is_string(v) ? json_string_value(v) : "?");
		putchar('\n');
	}
	return VERB_EXIT_OK;
}

/* system: "key: value" lines. */
int
verb_cli_system(const struct verb *verb, json_t *res)
{
	json_t	*d = json_object_get(res, "daemon");
	json_t	*cpu = json_object_get(d, "cpu");
	json_t	*mem = json_object_get(d, "memory_mb_stats");
	char	 b1[32], b2[32];
	long long n, u;

	printf("%-17s%s (%.1f s)\n", "uptime:", verb_str(res, "bot_uptime_human",
	    "?"), verb_num(res, "bot_uptime_seconds", 0));
	printf("%-17s%lld total, %lld running, %lld crashed\n", "plugins:",
	    verb_int(res, "total_plugins", 0), verb_int(res, "plugins_running", 0),
	    verb_int(res, "plugins_crashed", 0));
	n = verb_int(res, "chat_lines", 0);
	u = verb_int(res, "unknown_commands", 0);
	printf("%-17s%lld routed, %lld %s, %lld %s\n",
	    "events:", verb_int(res, "total_events", 0),
	    n, verb_plural(n, "chat line", "chat lines"),
	    u, verb_plural(u, "unknown command", "unknown commands"));
	printf("%-17s%.2f MB\n", "plugin memory:",
	    verb_num(res, "total_memory_mb", 0));
	printf("%-17spid %lld, version %s\n", "daemon:", verb_int(d, "pid", 0),
	    verb_str(d, "version", "?"));
	printf("%-17s%s%s", "daemon cpu:", json_is_number(json_object_get(d,
	    "cpu_percent")) ? cli_fmt_num(d, "cpu_percent", 2, b1, sizeof b1) :
	    "n/a (no sample yet)", json_is_number(json_object_get(d,
	    "cpu_percent")) ? "%" : "");
	if (json_is_object(cpu))
		printf(" (avg %.2f%%, max %.2f%%, p95 %.2f%%)", verb_num(cpu, "avg",
		    0), verb_num(cpu, "max", 0), verb_num(cpu, "p95", 0));
	printf("\n%-17s%s%s", "daemon memory:", cli_fmt_num(d, "memory_mb", 2,
	    b2, sizeof b2), json_is_number(json_object_get(d, "memory_mb")) ?
	    " MB" : "");
	if (json_is_object(mem))
		printf(" (avg %.2f, max %.2f, p95 %.2f MB)", verb_num(mem, "avg",
		    0), verb_num(mem, "max", 0), verb_num(mem, "p95", 0));
	printf("\n%-17severy %g s, %s; %lld bytes of history per plugin\n",
	    "metrics:", verb_num(res, "poll_interval", 0),
	    json_is_true(json_object_get(res, "metrics_enabled")) ? "enabled" :
	    "disabled", verb_int(d, "ring_bytes_per_plugin", 0));
	if (json_is_string(json_object_get(res, "containment")))
		printf("%-17s%s\n", "containment:", verb_str(res,
		    "containment", "?"));
	return VERB_EXIT_OK;
}

int
verb_cli_version(const struct verb *verb, json_t *res)
{
	printf("supervisor %s, protocol %lld (supervisorctl %s)\n",
	    verb_str(res, "version", "?"), verb_int(res, "protocol", 0),
	    SUPERVISOR_VERSION);
	return VERB_EXIT_OK;
}

/* Print one list of names from a reload result, if it has any. */
static void
cli_names(json_t *res, const char *key, const char *label)
{
	json_t	*v;
	size_t	 i;

	if (json_array_size(json_object_get(res, key)) == 0)
		return;
	printf("%-12s ", label);
	json_array_foreach(json_object_get(res, key), i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("\n");
}

/* reload: what changed. */
int
verb_cli_reload(const struct verb *verb, json_t *res)
{
	printf("reloaded: %zu added, %zu removed, %zu changed, %lld unchanged\n",
	    json_array_size(json_object_get(res, "added")),
	    json_array_size(json_object_get(res, "removed")),
	    json_array_size(json_object_get(res, "changed")),
	    verb_int(res, "unchanged", 0));
	cli_names(res, "added", "added:");
	cli_names(res, "removed", "removed:");
	cli_names(res, "changed", "changed:");
	cli_names(res, "not_applied", "not applied (restart the daemon):");
	return VERB_EXIT_OK;
}

/* help: the daemon's verbs, with the names and arguments as typed here. */
int
verb_cli_help(const struct verb *verb, json_t *res)
{
	struct verb		 entry;
	const struct verb	*known;
	json_t			*e;
	size_t			 i;

	printf("verbs (* also in chat as !admin VERB):\n");
	json_array_foreach(json_object_get(res, "verbs"), i, e) {
		memset(&entry, 0, sizeof entry);
		entry.name = verb_str(e, "name", "?");
		entry.args = verb_str(e, "args", "");
		entry.usage = verb_str(e, "usage", "");
		/* The daemon may be newer: keep its args unless we know it. */
		if ((known = verb_find(entry.name)) != NULL) {
			entry.cli_name = known->cli_name;
			if (strcmp(known->args, entry.args) == 0)
				entry.cli_args = known->cli_args;
		}
		verb_cli_usage(stdout, &entry, json_is_true(json_object_get(e,
		    "chat")) ? '*' : ' ');
	}
	return VERB_EXIT_OK;
}

/*
 * alerts: what fires, pending rules, silences, targets, then the newest
 * lines of the history. Exit status 1 while an alert fires, as status
 * does while a plugin is not RUNNING.
 */
int
verb_cli_alerts(const struct verb *verb, json_t *res)
{
	json_t	*firing = json_object_get(res, "firing");
	json_t	*list, *e;
	char	 b1[32], b2[32], b3[32];
	size_t	 i, n;

	if (json_array_size(firing) == 0)
		printf("no alert firing\n");
	json_array_foreach(firing, i, e) {
		printf("%s %s %s since %s (%s), %lld×%s: ",
		    verb_alert_marker(verb_str(e, "severity", "")),
		    verb_str(e, "source", "?"), verb_str(e, "plugin", "?"),
		    cli_fmt_time(verb_num(e, "since", 0), 1, b1, sizeof b1),
		    cli_fmt_duration(verb_num(e, "for_seconds", 0), b2,
		    sizeof b2), verb_int(e, "count", 0),
		    json_is_true(json_object_get(e, "silenced")) ?
		    ", silenced" : "");
		verb_cli_put_safe(stdout, verb_str(e, "text", "?"));
		putchar('\n');
	}
	list = json_object_get(res, "pending");
	if (json_array_size(list) > 0)
		printf("pending:\n");
	json_array_foreach(list, i, e) {
		printf("  %s on %s: %s %s, held %s of %s\n",
		    verb_str(e, "rule", "?"), verb_str(e, "plugin", "?"),
		    verb_str(e, "metric", "?"), cli_fmt_num(e, "value", 2, b1,
		    sizeof b1), cli_fmt_duration(verb_num(e, "held_seconds", 0),
		    b2, sizeof b2), cli_fmt_duration(verb_num(e,
		    "for_seconds", 0), b3, sizeof b3));
	}
	list = json_object_get(res, "silences");
	if (json_array_size(list) > 0)
		printf("silences:\n");
	json_array_foreach(list, i, e)
		printf("  %s until %s (%s left)\n", verb_str(e, "name", "?"),
		    cli_fmt_time(verb_num(e, "until", 0), 1, b1, sizeof b1),
		    cli_fmt_duration(verb_num(e, "remaining_seconds", 0), b2,
		    sizeof b2));
	list = json_object_get(res, "targets");
	if (json_array_size(list) > 0)
		printf("targets:\n");
	json_array_foreach(list, i, e)
		printf("  %s %s: %s, %lld sent, %lld queued, %lld dropped\n",
		    verb_str(e, "connector", "?"), verb_str(e, "channel", "?"),
		    verb_str(e, "state", "?"), verb_int(e, "sent", 0),
		    verb_int(e, "queued", 0), verb_int(e, "dropped", 0));
	printf("rules: %lld\n", verb_int(res, "rules", 0));
	list = json_object_get(res, "history");
	n = json_array_size(list);
	if (n > 0)
		printf("recent alert lines (%zu kept, newest last):\n", n);
	for (i = n > 10 ? n - 10 : 0; i < n; i++) {
		e = json_array_get(list, i);
		printf("  %s ", cli_fmt_time(verb_num(e, "time", 0), 1, b1,
		    sizeof b1));
		verb_cli_put_safe(stdout, verb_str(e, "text", "?"));
		printf("%s\n", json_is_true(json_object_get(e, "silenced")) ?
		    " (silenced)" : "");
	}
	return json_array_size(firing) > 0 ? VERB_EXIT_FAILED : VERB_EXIT_OK;
}

/* One subscribe event as a human line. */
void
verb_cli_event(json_t *ev, const char *raw)
{
	json_t		*cr, *s;
	const char	*type = verb_str(ev, "event", "");
	char		 t[32], b1[64], b2[32];

	if (strcmp(type, "state") == 0) {
		printf("%s %s %s -> %s", cli_fmt_time(verb_num(ev, "time", 0), 0,
		    t, sizeof t), verb_str(ev, "plugin", "?"),
		    verb_str(ev, "from", "?"), verb_str(ev, "to", "?"));
		if (json_is_integer(json_object_get(ev, "pid")))
			printf(" pid %lld", verb_int(ev, "pid", 0));
		fputs(" (", stdout);
		verb_cli_put_safe(stdout, verb_str(ev, "reason", ""));
		puts(")");
	} else if (strcmp(type, "crash") == 0) {
		cr = json_object_get(ev, "crash");
		printf("%s %s crashed: %s", cli_fmt_time(verb_num(cr, "time", 0),
		    0, t, sizeof t), verb_str(ev, "plugin", "?"),
		    verb_str(cr, "reason", "?"));
		if (json_is_integer(json_object_get(cr, "signal")) ||
		    strcmp(verb_str(cr, "reason", ""), "exit") != 0)
			printf(" %s", cli_fmt_exit(cr, b1, sizeof b1));
		else
			printf(" code %lld%s", verb_int(cr, "exit_code", 0),
			    json_is_true(json_object_get(cr, "core_dumped")) ?
			    " core" : "");
		printf(" after %s", cli_fmt_duration(verb_num(cr,
		    "uptime_seconds", 0), b2, sizeof b2));
		if (json_is_string(json_object_get(cr, "detail"))) {
			fputs(": ", stdout);
			verb_cli_put_safe(stdout, verb_str(cr, "detail", ""));
		}
		putchar('\n');
	} else if (strcmp(type, "alert") == 0) {
		printf("%s ", cli_fmt_time(verb_num(ev, "time", 0), 0, t,
		    sizeof t));
		verb_cli_put_safe(stdout, verb_str(ev, "text", "?"));
		puts(json_is_true(json_object_get(ev, "silenced")) ?
		    " (silenced)" : "");
	} else if (strcmp(type, "sample") == 0) {
		s = json_object_get(ev, "sample");
		printf("%s %s sample", cli_fmt_time(verb_num(s, "time", 0), 0, t,
		    sizeof t), verb_str(ev, "plugin", "?"));
		if (verb_int(s, "pid", 0) == 0)
			printf(" no process (%s)\n", verb_str(s, "state", "?"));
		else
			printf(" cpu %s%s mem %s MB\n",
			    cli_fmt_num(s, "cpu_percent", 1, b1, sizeof b1),
			    json_is_number(json_object_get(s, "cpu_percent")) ?
			    "%" : "", cli_fmt_num(s, "memory_mb", 1, b2,
			    sizeof b2));
	} else if (strcmp(type, "log") == 0) {
		printf("%s %s", cli_fmt_time(verb_num(ev, "time", 0), 0, t,
		    sizeof t), verb_str(ev, "plugin", "?"));
		if (json_is_integer(json_object_get(ev, "pid")))
			printf("[%lld]", verb_int(ev, "pid", 0));
		printf(" %s: ", verb_str(ev, "stream", "?"));
		if (strcmp(verb_str(ev, "level", "info"), "info") != 0)
			printf("%s: ", verb_str(ev, "level", ""));
		verb_cli_put_safe(stdout, verb_str(ev, "line", ""));
		putchar('\n');
	} else {
		verb_cli_put_safe(stdout, raw);
		putchar('\n');
	}
}

/*
 * start, stop, restart: one line per plugin ("8ball: restart asked, now
 * STARTING", "console: skipped: console is already STOPPED"), then for all
 * or a list the counts; exit 1 if any plugin failed.
 */
int
verb_cli_action(const struct verb *verb, json_t *res)
{
	json_t		*list, *item;
	size_t		 i;
	const char	*result;
	char		 buf[1024];
	struct verb_text t;

	if ((list = json_object_get(res, "plugins")) == NULL) {
		verb_text_init(&t, buf, sizeof buf);
		verb_chat_action(verb, res, &t);
		verb_cli_put_safe(stdout, buf);
		putchar('\n');
		return VERB_EXIT_OK;
	}
	json_array_foreach(list, i, item) {
		result = verb_str(item, "result", "done");
		verb_text_init(&t, buf, sizeof buf);
		if (strcmp(result, "done") == 0)
			verb_text_add(&t, "%s: %s asked, now %s",
			    verb_str(item, "plugin", "?"), verb->name,
			    verb_str(item, "state", "?"));
		else
			verb_text_add(&t, "%s: %s: %s",
			    verb_str(item, "plugin", "?"),
			    strcmp(result, "skipped") == 0 ? "skipped" :
			    "FAILED", verb_str(item, "message", "?"));
		verb_cli_put_safe(stdout, buf);
		putchar('\n');
	}
	printf("%s: %lld done, %lld skipped, %lld failed\n", verb->name,
	    verb_int(res, "done", 0), verb_int(res, "skipped", 0),
	    verb_int(res, "failed", 0));
	return verb_int(res, "failed", 0) > 0 ? VERB_EXIT_FAILED : VERB_EXIT_OK;
}

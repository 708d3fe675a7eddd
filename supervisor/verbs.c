/*
 * verbs.c: the verb table built from VERB_LIST, finding a verb, its
 * arguments as request keys, tolerant getters for reading a result, and the
 * fallbacks that give any result text: compact "key: value" text in chat,
 * "key: value" lines on the command line. Linked by the daemon and by
 * supervisorctl alike, so it knows neither libevent nor struct plugin.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/verbs.h"

/* Depth of nested objects and arrays the generic text spells out. */
#define VERB_GENERIC_DEPTH	4

#define VERB_ENTRY(verb_name, ...)	{ .name = #verb_name, __VA_ARGS__ },
const struct verb verb_table[VERB_COUNT] = {
	VERB_LIST(VERB_ENTRY)
};
#undef VERB_ENTRY

/* The verb of the table with this name, or NULL. */
const struct verb *
verb_find(const char *name)
{
	size_t	i;

	for (i = 0; i < VERB_COUNT; i++) {
		if (strcmp(verb_table[i].name, name) == 0)
			return &verb_table[i];
	}
	return NULL;
}

/* The verb typed on the command line: its cli_name (watch), else its name. */
const struct verb *
verb_find_typed(const char *name)
{
	size_t	i;

	for (i = 0; i < VERB_COUNT; i++) {
		if (verb_table[i].cli_name != NULL &&
		    strcmp(verb_table[i].cli_name, name) == 0)
			return &verb_table[i];
	}
	return verb_find(name);
}

const char *
verb_cli_name(const struct verb *v)
{
	return v->cli_name != NULL ? v->cli_name : v->name;
}

const char *
verb_cli_args(const struct verb *v)
{
	return v->cli_args != NULL ? v->cli_args : v->args;
}

/*
 * The request key of a verb's argument number n (from 0) into key, and
 * whether it may be left out: args is a list of words, "name" or
 * "[name]". -1 if there is no such argument, or args is not that simple
 * (history's "[last N | since WINDOW]" needs its own parsing).
 */
int
verb_arg(const struct verb *v, size_t n, char *key, size_t size,
    int *optional)
{
	const char	*p = v->args, *word;
	size_t		 len, i = 0;
	int		 opt;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -1;
		if ((opt = (*p == '[')))
			p++;
		word = p;
		while (islower((unsigned char)*p) || *p == '_')
			p++;
		len = (size_t)(p - word);
		if (len == 0 || (opt && *p++ != ']') || (*p != ' ' &&
		    *p != '\0'))
			return -1;
		if (i++ == n)
			break;
	}
	if (len >= size)
		return -1;
	memcpy(key, word, len);
	key[len] = '\0';
	if (optional != NULL)
		*optional = opt;
	return 0;
}

/* one if n is 1, else many: "1 crash", "2 crashes", "0 events". */
const char *
verb_plural(long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The marker an alert line starts with, for a severity's name. */
const char *
verb_alert_marker(const char *severity)
{
	if (strcmp(severity, "critical") == 0)
		return "🔴";
	if (strcmp(severity, "info") == 0)
		return "🔵";
	return "🟠";
}

/* Helpers to read a result, tolerating missing or mistyped fields. */
const char *
verb_str(json_t *o, const char *key, const char *def)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

double
verb_num(json_t *o, const char *key, double def)
{
	json_t	*v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : def;
}

long long
verb_int(json_t *o, const char *key, long long def)
{
	json_t	*v = json_object_get(o, key);

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return def;
}

void
verb_text_init(struct verb_text *t, char *buf, size_t size)
{
	t->buf = buf;
	t->size = size;
	t->len = 0;
	if (size > 0)
		buf[0] = '\0';
}

/* Append to the text; what does not fit is cut. */
void
verb_text_add(struct verb_text *t, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		t->buf[t->len] = '\0';
	else if ((size_t)n >= t->size - t->len)
		t->len = t->size - 1;
	else
		t->len += (size_t)n;
}

/* Append a string from a result, control characters (newlines) as '?'. */
static void
verb_text_add_safe(struct verb_text *t, const char *s)
{
	size_t	start = t->len;

	verb_text_add(t, "%s", s);
	for (; start < t->len; start++) {
		if ((unsigned char)t->buf[start] < 0x20 ||
		    t->buf[start] == 0x7f)
			t->buf[start] = '?';
	}
}

/* A value as compact text: strings bare, objects as {key: value, ...}. */
static void
verb_generic_value(json_t *v, struct verb_text *t, int depth)
{
	const char	*key;
	json_t		*e;
	size_t		 i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (depth >= VERB_GENERIC_DEPTH) {
			verb_text_add(t, "{…}");
			break;
		}
		verb_text_add(t, "{");
		i = 0;
		json_object_foreach(v, key, e) {
			verb_text_add(t, "%s", i++ ? ", " : "");
			verb_text_add_safe(t, key);
			verb_text_add(t, ": ");
			verb_generic_value(e, t, depth + 1);
		}
		verb_text_add(t, "}");
		break;
	case JSON_ARRAY:
		if (depth >= VERB_GENERIC_DEPTH) {
			verb_text_add(t, "[…]");
			break;
		}
		verb_text_add(t, "[");
		json_array_foreach(v, i, e) {
			verb_text_add(t, "%s", i ? ", " : "");
			verb_generic_value(e, t, depth + 1);
		}
		verb_text_add(t, "]");
		break;
	case JSON_STRING:
		verb_text_add_safe(t, json_string_value(v));
		break;
	case JSON_INTEGER:
		verb_text_add(t, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		verb_text_add(t, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		verb_text_add(t, "yes");
		break;
	case JSON_FALSE:
		verb_text_add(t, "no");
		break;
	case JSON_NULL:
		verb_text_add(t, "-");
		break;
	}
}

/*
 * Any result in one chat line: "plugin: dice-roller · state: RUNNING"; a
 * nested value as {key: value} or [a, b]; an empty result as "VERB: done".
 */
void
verb_chat_generic(const struct verb *v, json_t *res, struct verb_text *t)
{
	const char	*key;
	json_t		*e;
	size_t		 n = 0;

	if (json_is_object(res)) {
		json_object_foreach(res, key, e) {
			verb_text_add(t, "%s", n++ ? " · " : "");
			verb_text_add_safe(t, key);
			verb_text_add(t, ": ");
			verb_generic_value(e, t, 1);
		}
	} else if (res != NULL && !json_is_null(res)) {
		verb_generic_value(res, t, 0);
		n = 1;
	}
	if (n == 0)
		verb_text_add(t, "%s: done", v->name);
}

/*
 * A result as chat text in out: the verb's formatter, or the generic one
 * if it has none or wrote nothing. A character cut at the end of the
 * buffer becomes '?', so the text stays valid UTF-8.
 */
void
verb_chat(const struct verb *v, json_t *res, char *out, size_t size)
{
	struct verb_text	t;

	verb_text_init(&t, out, size);
	if (v->chat != NULL)
		v->chat(v, res, &t);
	if (t.len == 0)
		verb_chat_generic(v, res, &t);
	utf8_sanitize(out);
}

/* Any result as "key: value" lines; nested values as compact text. */
int
verb_cli_generic(const struct verb *v, json_t *res)
{
	char			 buf[4096];
	struct verb_text	 t;
	const char		*key;
	json_t			*e;
	size_t			 n = 0;

	if (json_is_object(res)) {
		json_object_foreach(res, key, e) {
			verb_text_init(&t, buf, sizeof buf);
			verb_text_add(&t, "%s:", key);
			printf("%-17s", buf);
			verb_text_init(&t, buf, sizeof buf);
			verb_generic_value(e, &t, 1);
			verb_cli_put_safe(stdout, buf);
			putchar('\n');
			n++;
		}
	}
	if (n == 0) {
		verb_text_init(&t, buf, sizeof buf);
		verb_chat_generic(v, res, &t);
		verb_cli_put_safe(stdout, buf);
		putchar('\n');
	}
	return VERB_EXIT_OK;
}

/*
 * A result as text on stdout: the verb's printer; else its chat text, a
 * line at a time; else "key: value" lines. Returns the exit status.
 */
int
verb_cli(const struct verb *v, json_t *res)
{
	char			 buf[4096], *line, *next;
	struct verb_text	 t;

	if (v->cli != NULL)
		return v->cli(v, res);
	if (v->chat == NULL)
		return verb_cli_generic(v, res);
	verb_text_init(&t, buf, sizeof buf);
	v->chat(v, res, &t);
	if (t.len == 0)
		return verb_cli_generic(v, res);
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		verb_cli_put_safe(stdout, line);
		putchar('\n');
	}
	return VERB_EXIT_OK;
}

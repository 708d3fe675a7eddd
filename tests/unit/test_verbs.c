/*
 * test_verbs.c: the verb table and its formatters, without the daemon:
 * every verb in chat has a chat formatter that says something, the chat
 * lines are exactly what !admin answers, and the fallbacks give any result
 * readable text in chat and on the command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervisor/verbs.h"

/* The chat text of verb for a result given as JSON text. */
static char *
chat_of(const char *verb, const char *json)
{
	static char		 out[2048];
	const struct verb	*v = verb_find(verb);
	json_t			*res;

	assert_non_null(v);
	res = json_loads(json, JSON_DECODE_ANY, NULL);
	assert_non_null(res);
	verb_chat(v, res, out, sizeof out);
	json_decref(res);
	return out;
}

/* What verb_cli prints on stdout for a result, and its exit status. */
static char *
cli_of(const char *verb, const char *json, int *status)
{
	static char		 out[8192];
	const struct verb	*v = verb_find(verb);
	json_t			*res;
	FILE			*f;
	size_t			 n;
	int			 saved;

	assert_non_null(v);
	res = json_loads(json, JSON_DECODE_ANY, NULL);
	assert_non_null(res);
	f = tmpfile();
	assert_non_null(f);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fileno(f), STDOUT_FILENO) != -1);
	*status = verb_cli(v, res);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) != -1);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof out - 1, f);
	out[n] = '\0';
	fclose(f);
	json_decref(res);
	return out;
}

/* Names are unique, found by name, and the CLI's watch is subscribe. */
static void
test_table_lookup(void **state)
{
	size_t	i, j;

	for (i = 0; i < VERB_COUNT; i++) {
		assert_ptr_equal(verb_find(verb_table[i].name), &verb_table[i]);
		assert_non_null(verb_table[i].usage);
		assert_non_null(verb_table[i].args);
		for (j = i + 1; j < VERB_COUNT; j++)
			assert_string_not_equal(verb_table[i].name,
			    verb_table[j].name);
	}
	assert_ptr_equal(verb_find("status"), &verb_table[VERB_status]);
	assert_null(verb_find("frobnicate"));
	assert_null(verb_find(""));
	assert_null(verb_find("watch"));
	assert_ptr_equal(verb_find_typed("watch"), verb_find("subscribe"));
	assert_ptr_equal(verb_find_typed("subscribe"), verb_find("subscribe"));
	assert_ptr_equal(verb_find_typed("tail"), verb_find("tail"));
	assert_string_equal(verb_cli_name(verb_find("subscribe")), "watch");
	assert_string_equal(verb_cli_args(verb_find("history")),
	    "plugin [--last N | --since WINDOW]");
	assert_string_equal(verb_cli_args(verb_find("metrics")),
	    "plugin [window]");
}

/* args as request keys: names in order, brackets for optional ones. */
static void
test_arguments(void **state)
{
	char	key[32];
	int	optional;

	assert_int_equal(verb_arg(verb_find("metrics"), 0, key, sizeof key,
	    &optional), 0);
	assert_string_equal(key, "plugin");
	assert_false(optional);
	assert_int_equal(verb_arg(verb_find("metrics"), 1, key, sizeof key,
	    &optional), 0);
	assert_string_equal(key, "window");
	assert_true(optional);
	assert_int_equal(verb_arg(verb_find("metrics"), 2, key, sizeof key,
	    NULL), -1);
	assert_int_equal(verb_arg(verb_find("status"), 0, key, sizeof key,
	    &optional), 0);
	assert_string_equal(key, "plugin");
	assert_true(optional);
	assert_int_equal(verb_arg(verb_find("version"), 0, key, sizeof key,
	    NULL), -1);
	/* history's "[last N | since WINDOW]" is not plain keys. */
	assert_int_equal(verb_arg(verb_find("history"), 0, key, sizeof key,
	    NULL), 0);
	assert_int_equal(verb_arg(verb_find("history"), 1, key, sizeof key,
	    NULL), -1);
	/* A key longer than the buffer is refused, not cut. */
	assert_int_equal(verb_arg(verb_find("metrics"), 1, key, 6, NULL), -1);
}

/*
 * Every verb taking a plugin has it first and required; every verb in
 * chat has args that are plain keys (so !admin can map its words) and a
 * formatter of its own.
 */
static void
test_every_chat_verb_has_a_chat_formatter(void **state)
{
	const struct verb	*v;
	char			 key[32];
	size_t			 i, n, words;
	int			 optional;
	const char		*p;

	for (i = 0; i < VERB_COUNT; i++) {
		v = &verb_table[i];
		if (v->flags & CMD_PLUGIN) {
			assert_int_equal(verb_arg(v, 0, key, sizeof key,
			    &optional), 0);
			assert_string_equal(key, "plugin");
			assert_false(optional);
		}
		if (!(v->flags & CMD_CHAT))
			continue;
		if (v->chat == NULL)
			fail_msg("chat verb %s has no chat formatter", v->name);
		for (words = 0, p = v->args; *p != '\0'; p++) {
			if (*p != ' ' && (p == v->args || p[-1] == ' '))
				words++;
		}
		for (n = 0; verb_arg(v, n, key, sizeof key, NULL) == 0; n++)
			;
		if (n != words)
			fail_msg("chat verb %s: args \"%s\" are not plain keys",
			    v->name, v->args);
	}
}

/* Every chat verb says something for a result missing what it reads. */
static void
test_every_chat_verb_says_something(void **state)
{
	static const char	*results[] = {
		"{}", "{\"plugin\": \"p\", \"state\": \"RUNNING\"}", "null",
		"[]", "{\"plugins\": [], \"system\": {}}",
	};
	char			 out[512];
	json_t			*res;
	size_t			 i, j;

	for (i = 0; i < VERB_COUNT; i++) {
		if (!(verb_table[i].flags & CMD_CHAT))
			continue;
		for (j = 0; j < nitems(results); j++) {
			res = json_loads(results[j], JSON_DECODE_ANY, NULL);
			verb_chat(&verb_table[i], res, out, sizeof out);
			if (out[0] == '\0')
				fail_msg("%s says nothing for %s",
				    verb_table[i].name, results[j]);
			json_decref(res);
		}
	}
}

#define PLUGIN_ROW \
	"{\"name\": \"dice-roller\", \"state\": \"RUNNING\", \"pid\": 4242, " \
	"\"uptime_human\": \"3h 5m\", \"cpu_percent\": 0.42, " \
	"\"memory_mb\": 1.84, \"events\": {\"routed\": 57}, \"crashes\": 2}"
#define SYSTEM_OBJ \
	"{\"bot_uptime_human\": \"1h 2m\", \"total_plugins\": 4, " \
	"\"plugins_running\": 3, \"plugins_crashed\": 1, \"total_events\": 71, " \
	"\"total_memory_mb\": 19.15, \"daemon\": {\"cpu_percent\": 0.0, " \
	"\"memory_mb\": 4.11}}"

/* The chat lines of each verb, exactly as !admin answers. */
static void
test_chat_text(void **state)
{
	char	json[8192];
	size_t	off, i;

	assert_string_equal(chat_of("status", PLUGIN_ROW),
	    "dice-roller RUNNING pid 4242 up 3h 5m · cpu 0.4% · mem 1.8 MB · "
	    "57 events · 2 crashes");
	assert_string_equal(chat_of("status", "{\"name\": \"pick\", "
	    "\"state\": \"FATAL\", \"pid\": null, \"cpu_percent\": null, "
	    "\"memory_mb\": null, \"events\": {\"routed\": 3}, \"crashes\": 6}"),
	    "pick FATAL · 3 events · 6 crashes");
	assert_string_equal(chat_of("status", "{\"plugins\": [" PLUGIN_ROW
	    "], \"system\": " SYSTEM_OBJ "}"),
	    "up 1h 2m · 4 plugins, 3 running, 1 crashed · 71 events · plugins "
	    "19.1 MB · daemon cpu 0.00% mem 4.1 MB\n"
	    "dice-roller RUNNING pid 4242 up 3h 5m · cpu 0.4% · mem 1.8 MB · "
	    "57 events · 2 crashes");
	assert_string_equal(chat_of("system", SYSTEM_OBJ),
	    "up 1h 2m · 4 plugins, 3 running, 1 crashed · 71 events · plugins "
	    "19.1 MB · daemon cpu 0.00% mem 4.1 MB");
	/* Which containment is in force, where the daemon says. */
	off = strlen(SYSTEM_OBJ) - 1;
	snprintf(json, sizeof json, "%.*s, \"containment\": \"cgroup\"}",
	    (int)off, SYSTEM_OBJ);
	assert_string_equal(chat_of("system", json),
	    "up 1h 2m · 4 plugins, 3 running, 1 crashed · 71 events · plugins "
	    "19.1 MB · daemon cpu 0.00% mem 4.1 MB · containment cgroup");
	assert_string_equal(chat_of("metrics", "{\"status\": " PLUGIN_ROW
	    ", \"aggregates\": {\"sample_count\": 60, \"time_span_seconds\": "
	    "295.0, \"cpu\": {\"avg\": 0.12, \"min\": 0, \"max\": 0.6, \"p95\": "
	    "0.4}, \"memory_mb\": {\"avg\": 1.55, \"max\": 1.57, \"p95\": 1.57}, "
	    "\"events_per_minute\": 2.44}}"),
	    "dice-roller RUNNING pid 4242 up 3h 5m · cpu avg 0.1% p95 0.4% · "
	    "mem 1.8 MB · 57 events · 2 crashes\n"
	    "60 samples over 295 s · cpu avg 0.12% min 0.00% max 0.60% p95 "
	    "0.40% · mem avg 1.55 MB max 1.57 MB p95 1.57 MB · 2.44 events/min");
	assert_string_equal(chat_of("metrics", "{\"status\": " PLUGIN_ROW
	    ", \"aggregates\": null}"),
	    "dice-roller RUNNING pid 4242 up 3h 5m · cpu 0.4% · mem 1.8 MB · "
	    "57 events · 2 crashes\nno samples yet");
	assert_string_equal(chat_of("crashes", "{\"plugin\": \"dice-roller\", "
	    "\"total\": 2, \"breaker\": \"closed\", \"crashes\": ["
	    "{\"time_iso\": \"2026-11-23T19:42:18.123Z\", \"reason\": \"signal\", "
	    "\"signal_name\": \"SIGKILL\", \"exit_code\": null, "
	    "\"uptime_seconds\": 24.44, \"detail\": null}, "
	    "{\"time_iso\": \"2026-11-23T19:42:22.500Z\", \"reason\": \"hung\", "
	    "\"signal_name\": null, \"exit_code\": 3, \"uptime_seconds\": 4.1, "
	    "\"detail\": \"no pong within 15 s\"}]}"),
	    "dice-roller: 2 crashes (breaker closed)\n"
	    "2026-11-23T19:42:18 signal SIGKILL after 24.4 s\n"
	    "2026-11-23T19:42:22 hung code 3 after 4.1 s: no pong within 15 s");
	assert_string_equal(chat_of("crashes", "{\"plugin\": \"pick\", "
	    "\"total\": 1, \"breaker\": \"open\", \"crashes\": []}"),
	    "pick: 1 crash (breaker open)");
	assert_string_equal(chat_of("restart", "{\"plugin\": \"8ball\", "
	    "\"action\": \"restart\", \"state\": \"STOPPING\"}"),
	    "8ball: restart asked, now STOPPING");
	assert_string_equal(chat_of("stop", "{\"plugin\": \"8ball\", "
	    "\"action\": \"stop\", \"state\": \"STOPPING\"}"),
	    "8ball: stop asked, now STOPPING");
	assert_string_equal(chat_of("upgrade", "{\"plugin\": \"dice-roller\", "
	    "\"action\": \"upgrade\", \"state\": \"UPGRADING\", \"pid\": 4242, "
	    "\"upgrade\": {\"seq\": 1, \"new_pid\": 4243}}"),
	    "dice-roller: upgrading, new pid 4243 beside pid 4242; the outcome "
	    "follows here");
	assert_string_equal(chat_of("signal", "{\"plugin\": \"dice-roller\", "
	    "\"signal\": \"SIGHUP\", \"signal_number\": 1, \"pid\": 4242, "
	    "\"state\": \"RUNNING\"}"),
	    "dice-roller: SIGHUP sent to pid 4242 (RUNNING)");
	assert_string_equal(chat_of("reload", "{\"added\": [\"pick\"], "
	    "\"removed\": [], \"changed\": [\"a\", \"b\"], \"unchanged\": 2, "
	    "\"not_applied\": [\"socket\"]}"),
	    "reloaded: 1 added, 0 removed, 2 changed, 2 unchanged (socket/metrics "
	    "changes need a daemon restart)");
	assert_string_equal(chat_of("version", "{\"version\": \"0.1.0\", "
	    "\"protocol\": 1}"), "supervisor 0.1.0, protocol 1");
	assert_string_equal(chat_of("help", "{\"verbs\": ["
	    "{\"name\": \"status\", \"args\": \"[plugin]\", \"chat\": true}, "
	    "{\"name\": \"history\", \"args\": \"plugin\", \"chat\": false}, "
	    "{\"name\": \"stop\", \"args\": \"plugin\", \"chat\": true}, "
	    "{\"name\": \"version\", \"args\": \"\", \"chat\": true}]}"),
	    "!admin verbs: status stop version (a plugin name follows status, "
	    "stop)");

	/* A long status stops at VERB_CHAT_MAX_LINES lines. */
	off = (size_t)snprintf(json, sizeof json, "{\"plugins\": [");
	for (i = 0; i < 20; i++)
		off += (size_t)snprintf(json + off, sizeof json - off,
		    "%s{\"name\": \"p%zu\", \"state\": \"STOPPED\"}",
		    i ? ", " : "", i);
	snprintf(json + off, sizeof json - off, "], \"system\": {}}");
	chat_of("status", json);
	for (i = 0, off = 1; chat_of("status", json)[i] != '\0'; i++)
		off += chat_of("status", json)[i] == '\n';
	assert_int_equal(off, VERB_CHAT_MAX_LINES);
	assert_non_null(strstr(chat_of("status", json),
	    "\n… and 10 more (supervisorctl status)"));
}

/* A verb without a formatter: compact "key: value" text. */
static void
test_generic_chat(void **state)
{
	static const struct verb	 bare = { .name = "frob", .args = "" };
	struct verb_text		 t;
	char				 out[256], small[12], cut[11];
	json_t				*res;

	res = json_loads("{\"plugin\": \"x\", \"n\": 3, \"ok\": true, "
	    "\"r\": 1.5, \"list\": [1, \"a\"], \"o\": {\"k\": null}, "
	    "\"no\": false}", 0, NULL);
	verb_chat(&bare, res, out, sizeof out);
	assert_string_equal(out, "plugin: x · n: 3 · ok: yes · r: 1.5 · "
	    "list: [1, a] · o: {k: -} · no: no");
	json_decref(res);

	res = json_loads("{}", 0, NULL);
	verb_chat(&bare, res, out, sizeof out);
	assert_string_equal(out, "frob: done");
	json_decref(res);
	verb_chat(&bare, NULL, out, sizeof out);
	assert_string_equal(out, "frob: done");

	/* A plugin's text cannot start a line of its own. */
	res = json_pack("{s:s}", "detail", "one\ntwo\x1b[2J");
	verb_chat(&bare, res, out, sizeof out);
	assert_string_equal(out, "detail: one?two?[2J");
	json_decref(res);

	/* Deep nesting is cut short. */
	res = json_loads("{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": 1}}}}}", 0,
	    NULL);
	verb_chat(&bare, res, out, sizeof out);
	assert_string_equal(out, "a: {b: {c: {d: {…}}}}");
	json_decref(res);

	/* Cut at the end of the buffer, and still valid UTF-8. */
	res = json_pack("{s:s}", "k", "ééééééé");
	verb_chat(&bare, res, cut, sizeof cut);
	assert_int_equal(strlen(cut), sizeof cut - 1);
	assert_string_equal(cut, "k: ééé?");
	json_decref(res);

	verb_text_init(&t, small, sizeof small);
	verb_text_add(&t, "%s", "0123456789abcdef");
	verb_text_add(&t, "more");
	assert_string_equal(small, "0123456789a");
	assert_int_equal(t.len, sizeof small - 1);
}

/* The command line: a printer, else the chat text, else key: value lines. */
static void
test_cli_fallbacks(void **state)
{
	int	status;

	assert_string_equal(cli_of("restart", "{\"plugin\": \"8ball\", "
	    "\"action\": \"restart\", \"state\": \"STOPPING\"}", &status),
	    "8ball: restart asked, now STOPPING\n");
	assert_int_equal(status, VERB_EXIT_OK);
	assert_string_equal(cli_of("version", "{\"version\": \"0.1.0\", "
	    "\"protocol\": 1}", &status),
	    "supervisor 0.1.0, protocol 1 (supervisorctl " SUPERVISOR_VERSION
	    ")\n");
	assert_string_equal(cli_of("tail", "{\"plugin\": \"x\", \"lines\": "
	    "[\"a\\u001b[2J\", \"b\"]}", &status), "a?[2J\nb\n");
	/* status says 1 when a plugin shown is not RUNNING. */
	cli_of("status", "{\"plugins\": [{\"name\": \"a\", \"state\": "
	    "\"FATAL\"}], \"system\": {}}", &status);
	assert_int_equal(status, VERB_EXIT_FAILED);
}

static void
test_cli_generic(void **state)
{
	static const struct verb	 bare = { .name = "frob", .args = "" };
	char				 out[1024];
	json_t				*res;
	FILE				*f;
	size_t				 n;
	int				 saved;

	res = json_loads("{\"plugin\": \"x\", \"pid\": 42, \"events\": "
	    "{\"routed\": 1}, \"gone\": null}", 0, NULL);
	f = tmpfile();
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fileno(f), STDOUT_FILENO);
	assert_int_equal(verb_cli(&bare, res), VERB_EXIT_OK);
	verb_cli(&bare, json_null());
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof out - 1, f);
	out[n] = '\0';
	fclose(f);
	assert_string_equal(out,
	    "plugin:          x\n"
	    "pid:             42\n"
	    "events:          {routed: 1}\n"
	    "gone:            -\n"
	    "frob: done\n");
	json_decref(res);
}

/*
 * What status prints for a reply line: through verb_cli_status_line (fast,
 * the reader supervisorctl uses first) or through jansson and verb_cli (the
 * reference). Returns the text (malloc'd), sets *status (-1: the fast
 * reader did not take the line).
 */
static char *
status_text_of(const char *line, int fast, int *status)
{
	json_t	*reply = NULL;
	FILE	*f;
	char	*out;
	long	 n;
	int	 saved;

	if (!fast) {
		reply = json_loads(line, 0, NULL);
		assert_non_null(reply);
		assert_true(json_is_true(json_object_get(reply, "ok")));
	}
	f = tmpfile();
	assert_non_null(f);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fileno(f), STDOUT_FILENO) != -1);
	if (fast) {
		/* No NUL after it: the sanitizer build sees any read past. */
		char	*exact = malloc(strlen(line) + 1);

		assert_non_null(exact);
		memcpy(exact, line, strlen(line));
		*status = verb_cli_status_line(exact, strlen(line));
		free(exact);
	} else
		*status = verb_cli(verb_find("status"),
		    json_object_get(reply, "result"));
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) != -1);
	close(saved);
	n = ftell(f);
	assert_true(n >= 0);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	rewind(f);
	assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
	out[n] = '\0';
	fclose(f);
	json_decref(reply);
	return out;
}

/* The fast reader takes line and prints what the jansson path prints. */
static void
assert_same_table(const char *line, int want_status)
{
	char	*fast, *slow;
	int	 fs, ss;

	fast = status_text_of(line, 1, &fs);
	slow = status_text_of(line, 0, &ss);
	if (fs == -1)
		fail_msg("fast reader refused %s", line);
	assert_string_equal(fast, slow);
	assert_int_equal(fs, ss);
	assert_int_equal(fs, want_status);
	free(fast);
	free(slow);
}

/* The fast reader refuses line and prints nothing. */
static void
assert_refused(const char *line)
{
	char	*fast;
	int	 fs;

	fast = status_text_of(line, 1, &fs);
	if (fs != -1)
		fail_msg("fast reader took %s", line);
	assert_string_equal(fast, "");
	free(fast);
}

#define ROWS_COLS	"\"columns\":[\"name\",\"state\",\"uptime_human\"," \
			"\"restarts\",\"crashes\",\"pid\",\"cpu_percent\"," \
			"\"memory_mb\",\"events.routed\"]"
#define ROWS_SYS	"\"system\":{\"bot_uptime_human\":\"5m\"," \
			"\"total_plugins\":2,\"plugins_running\":1," \
			"\"plugins_crashed\":1,\"total_events\":3," \
			"\"total_memory_mb\":2.5,\"daemon\":{\"pid\":7," \
			"\"cpu_percent\":0.25,\"memory_mb\":3.14}}"

/*
 * status's table from the rows reply: the fast reader prints what the
 * jansson path prints, byte for byte, for every kind of value a row holds.
 */
static void
test_cli_status_line_same_table(void **state)
{
	char	*big, *p, *out;
	size_t	 i, size = 1000 * 80 + 1024;
	int	 status;

	out = status_text_of("{\"ok\":true,\"result\":{" ROWS_COLS
	    ",\"rows\":[[\"dice\",\"RUNNING\",\"5m\",0,0,4242,0.25,1.36,3],"
	    "[\"8ball\",\"BACKOFF\",\"-\",2,3,null,null,null,0]]," ROWS_SYS
	    "}}", 1, &status);
	assert_string_equal(out,
	    "NAME   STATE     PID  UPTIME  CPU%  MEM(MB)  EVENTS  RESTARTS  "
	    "CRASHES\n"
	    "dice   RUNNING  4242  5m       0.2      1.4       3         0  "
	    "      0\n"
	    "8ball  BACKOFF     -  -          -        -       0         2  "
	    "      3\n"
	    "system: up 5m, 2 plugins (1 running, 1 crashed), 3 events, "
	    "plugins 2.5 MB, daemon pid 7 cpu 0.2% mem 3.1 MB\n");
	assert_int_equal(status, VERB_EXIT_FAILED);
	free(out);
	assert_same_table("{\"ok\":true,\"result\":{" ROWS_COLS
	    ",\"rows\":[[\"dice\",\"RUNNING\",\"5m\",0,0,4242,0.25,1.36,3],"
	    "[\"8ball\",\"BACKOFF\",\"-\",2,3,null,null,null,0]]," ROWS_SYS
	    "}}", VERB_EXIT_FAILED);
	/* Columns in another order, white space, keys the table ignores. */
	assert_same_table(" { \"result\" : { \"extra\" : [1, {\"a\": \"\\u00e9\"}],"
	    " \"columns\" : [\"pid\", \"name\", \"state\", 5, \"memory_mb\"],"
	    " \"rows\" : [ [ 12 , \"a\" , \"UPGRADING\" , true , 1e2 ] ,"
	    " [ -0 , \"bb\" , \"RUNNING\" , false , -0.0 ] ] , " ROWS_SYS
	    " } , \"ok\" : true , \"x\" : null }\r\n", VERB_EXIT_OK);
	/* Odd values: a real pid (no uptime then), integers where reals go,
	 * reals where integers go, huge and negative numbers, rows too
	 * short or too long, DEL in a name, a state that is not a string. */
	assert_same_table("{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":["
	    "[\"a\",\"RUNNING\",\"1h\",1.5,2.0,12.5,1,2,3.5],"
	    "[\"b\x7f\",\"RUNNING\",\"1h\",9223372036854775807,"
	    "-9223372036854775808,9007199254740993,1.25,0.05,-7],"
	    "[\"c\",\"RUNNING\"],"
	    "[\"d\",7,\"1h\",0,0,1,2,3,4,5,6,7],"
	    "[],"
	    "[\"e\",\"RUNNING\",\"2d 4h\",123456789012345678,0,99,"
	    "1.2345678901234567890123456789e-3,12345678901234567890.5,0]"
	    "],\"system\":null}}", VERB_EXIT_OK);
	/* A row of 70 values, more than the fast reader places. */
	big = malloc(size);
	assert_non_null(big);
	p = big + sprintf(big, "{\"ok\":true,\"result\":{" ROWS_COLS
	    ",\"rows\":[[\"a\",\"RUNNING\",\"1s\",0,0,5,0.0,1.0,0");
	for (i = 9; i < 70; i++)
		p += sprintf(p, ",%zu", i);
	sprintf(p, "]]," ROWS_SYS "}}");
	assert_same_table(big, VERB_EXIT_OK);
	free(big);
	/* A figure wider than the cell's 31 characters: cut as it was. */
	assert_same_table("{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":["
	    "[\"a\",\"RUNNING\",\"1s\",0,0,922337203685477372036854775807e2,"
	    "1e40,123456789012345678901234567890.5,0]]}}", VERB_EXIT_OK);
	/* No rows; no system. */
	assert_same_table("{\"ok\":true,\"result\":{" ROWS_COLS
	    ",\"rows\":[]}}", VERB_EXIT_OK);
	/* A thousand plugins, as the daemon writes them. */
	big = malloc(size);
	assert_non_null(big);
	p = big + sprintf(big, "{\"ok\":true,\"result\":{" ROWS_COLS
	    ",\"rows\":[");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "%s[\"p%zu\",\"%s\",\"%zum\",%zu,0,%zu,%.2f,"
		    "%.2f,%zu]", i ? "," : "", i, i == 500 ? "FATAL" :
		    "RUNNING", i % 60, i % 3, 30000 + i, (double)(i % 7) / 4,
		    1 + (double)(i % 13) / 100, i * 17);
	sprintf(p, "]," ROWS_SYS "}}");
	assert_same_table(big, VERB_EXIT_FAILED);
	free(big);
}

/*
 * A line the fast reader does not take: it prints nothing and returns -1,
 * and supervisorctl parses it with jansson (which says what is wrong, or
 * prints the same table).
 */
static void
test_cli_status_line_refuses(void **state)
{
	static const char *const lines[] = {
		"",
		"hello",
		"{\"ok\":false,\"error\":{\"code\":\"x\",\"message\":\"y\"}}",
		"{\"ok\":true}",
		"{\"ok\":true,\"result\":{}}",
		"{\"ok\":true,\"result\":[]}",
		"{\"ok\":true,\"result\":{\"plugins\":[]}}",
		/* rows before columns, twice, or not an array of arrays */
		"{\"ok\":true,\"result\":{\"rows\":[]," ROWS_COLS "}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[],"
		    "\"rows\":[]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":{}}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[\"a\"]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[[1]]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[{}]]}}",
		/* strings it leaves to jansson: escapes, UTF-8, raw controls */
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[\"a\\n\"]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[\"\xc3\xa9\"]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[\"a\tb\"]]}}",
		/* numbers JSON or jansson refuse */
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[01]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[1.]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[.5]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[+1]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[1e]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[-]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[1e999]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":"
		    "[[9223372036854775808]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[nul]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[truex]]}}",
		/* truncated, trailing, missing commas, duplicate keys */
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[\"a\"",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[]}} x",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[]}}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[1 2]]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[[1],]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS " \"rows\":[]}}",
		"{\"ok\":false,\"ok\":true,\"result\":{" ROWS_COLS
		    ",\"rows\":[]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[]},"
		    "\"result\":{" ROWS_COLS ",\"rows\":[]}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[],"
		    "\"system\":{},\"system\":{}}}",
		"{\"ok\":true,\"result\":{" ROWS_COLS ",\"rows\":[],"
		    "\"system\":{\"a\":}}}",
	};
	size_t	i, size = 20000 * 4 + 70000 + 1024;
	char	*big, *p;

	for (i = 0; i < nitems(lines); i++)
		assert_refused(lines[i]);
	/* A column past the 64 it places. */
	big = malloc(size);
	assert_non_null(big);
	p = big + sprintf(big, "{\"ok\":true,\"result\":{\"columns\":[");
	for (i = 0; i < 70; i++)
		p += sprintf(p, "%s\"c%zu\"", i ? "," : "", i);
	sprintf(p, ",\"name\"],\"rows\":[]}}");
	assert_refused(big);
	/*
	 * A table over 64 MiB (one name 70,000 wide, 1000 rows): left to the
	 * jansson path, which prints it a line at a time.
	 */
	p = big + sprintf(big, "{\"ok\":true,\"result\":{" ROWS_COLS
	    ",\"rows\":[[\"");
	memset(p, 'x', 70000);
	p += 70000;
	p += sprintf(p, "\"]");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, ",[]");
	sprintf(p, "]}}");
	assert_refused(big);
	free(big);
}

static void
test_getters(void **state)
{
	json_t	*o = json_loads("{\"s\": \"v\", \"i\": 7, \"r\": 2.9, "
		    "\"n\": null}", 0, NULL);

	assert_string_equal(verb_str(o, "s", "d"), "v");
	assert_string_equal(verb_str(o, "i", "d"), "d");
	assert_string_equal(verb_str(NULL, "s", "d"), "d");
	assert_true(verb_num(o, "i", 0) == 7);
	assert_true(verb_num(o, "r", 0) == 2.9);
	assert_true(verb_num(o, "n", -1) == -1);
	assert_int_equal(verb_int(o, "i", 0), 7);
	assert_int_equal(verb_int(o, "r", 0), 2);
	assert_int_equal(verb_int(o, "s", -3), -3);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_lookup),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_every_chat_verb_has_a_chat_formatter),
		cmocka_unit_test(test_every_chat_verb_says_something),
		cmocka_unit_test(test_chat_text),
		cmocka_unit_test(test_generic_chat),
		cmocka_unit_test(test_cli_fallbacks),
		cmocka_unit_test(test_cli_generic),
		cmocka_unit_test(test_cli_status_line_same_table),
		cmocka_unit_test(test_cli_status_line_refuses),
		cmocka_unit_test(test_getters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * admin.c: "!admin VERB [ARGS]" in chat. The verb runs through the same
 * command table as the control socket, its words after the verb becoming
 * the request keys the verb's args name; its JSON result becomes a few
 * chat-sized lines through the verb's chat formatter (verbs-chat.c). Only
 * identities matching chat.admins may use it, each at most once per
 * chat.admin_rate seconds.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "supervisor/supervisor.h"

/* Identities remembered for the rate limit before the table is reset. */
#define ADMIN_RATE_MAX	4096

static struct hmap	*admin_last;	/* identity → double * (monotonic) */

/*
 * Glob match with '*' (any run) and '?' (one character), ignoring ASCII
 * case: IRC nicks and host names are case-insensitive.
 */
int
admin_match(const char *pattern, const char *s)
{
	const char	*star = NULL, *back = NULL;

	while (*s != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			back = s;
		} else if (*pattern == '?' || tolower((unsigned char)*pattern) ==
		    tolower((unsigned char)*s)) {
			pattern++;
			s++;
		} else if (star != NULL) {
			pattern = star + 1;
			s = ++back;
		} else
			return 0;
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

/* 1 if the identity matches one of chat.admins. */
int
admin_allowed(const char *identity)
{
	size_t	i;

	for (i = 0; i < server->config->nadmins; i++) {
		if (admin_match(server->config->admins[i], identity))
			return 1;
	}
	return 0;
}

/* 0 if the identity may run a command now, else seconds left to wait. */
static double
admin_rate_wait(const char *identity)
{
	double	*last, now = clock_mono(), rate = server->config->admin_rate;

	if (admin_last == NULL)
		admin_last = hmap_new();
	if ((last = hmap_sget(admin_last, identity)) != NULL) {
		if (now - *last < rate)
			return rate - (now - *last);
		*last = now;
		return 0;
	}
	if (hmap_count(admin_last) >= ADMIN_RATE_MAX) {
		admin_free();
		admin_last = hmap_new();
	}
	last = xmalloc(sizeof *last);
	*last = now;
	hmap_sput(admin_last, identity, last);
	return 0;
}

/* Release the rate-limit table (it owns its values). */
void
admin_free(void)
{
	hmap_free_with(admin_last, free);
	admin_last = NULL;
}

/*
 * The request of "VERB WORD ...": each word the value of the key the verb's
 * args name in turn. NULL, with the answer to give in out, if the words do
 * not fit the verb. logged gets the command as it will run.
 */
static json_t *
admin_request(char *words, const struct verb **vp, char *logged,
    size_t logsize, char *out, size_t size)
{
	const struct verb	*v;
	json_t			*req, *value, *names, *list;
	char			*verb, *word, *last, key[32], quoted[40];
	size_t			 i, off;

	if ((verb = strtok_r(words, " \t", &last)) == NULL)
		verb = "help";
	if ((v = verb_find(verb)) == NULL || !(v->flags & CMD_CHAT)) {
		snprintf(out, size, "unknown admin verb \"%s\"; try %sadmin "
		    "help", utf8_quote(verb, quoted, sizeof quoted),
		    server->config->prefix);
		return NULL;
	}
	req = json_pack("{s:s}", "cmd", v->name);
	off = (size_t)snprintf(logged, logsize, "%s", v->name);
	for (i = 0; (word = strtok_r(NULL, " \t", &last)) != NULL; i++) {
		/* restart a b: a list of plugins, as supervisorctl sends. */
		if ((v->flags & CMD_MULTI) && i > 0 && (names =
		    json_object_get(req, "plugin")) != NULL) {
			if (!json_is_array(names)) {
				list = json_array();
				json_array_append(list, names);
				json_object_set_new(req, "plugin", list);
				names = list;
			}
			if ((value = json_string(word)) == NULL) {
				snprintf(out, size, "plugin is not valid UTF-8");
				json_decref(req);
				return NULL;
			}
			json_array_append_new(names, value);
			if (off < logsize)
				off += (size_t)snprintf(logged + off,
				    logsize - off, " %s", word);
			continue;
		}
		if (verb_arg(v, i, key, sizeof key, NULL) != 0) {
			snprintf(out, size, "too many arguments; usage: "
			    "%sadmin %s%s%s", server->config->prefix, v->name,
			    *v->args != '\0' ? " " : "", v->args);
			json_decref(req);
			return NULL;
		}
		if ((value = json_string(word)) == NULL) {
			snprintf(out, size, "%s is not valid UTF-8", key);
			json_decref(req);
			return NULL;
		}
		json_object_set_new(req, key, value);
		if (off < logsize)
			off += (size_t)snprintf(logged + off, logsize - off,
			    " %s", word);
	}
	*vp = v;
	return req;
}

/* !admin upgrade: how the upgrade ends is said in the same channel. */
static void
admin_upgrade_notify(const struct verb *v, json_t *res, struct plugin *c,
    const char *platform, const char *channel, const char *user)
{
	struct plugin	*p;

	if (v != &verb_table[VERB_upgrade] ||
	    (p = server_find_plugin(verb_str(res, "plugin", ""))) == NULL ||
	    p->upgrade == NULL || p->upgrade->result != UPGRADE_RUNNING)
		return;
	plugin_upgrade_notify(p, c->name, platform, channel, user);
}

/* !admin from chat: check, rate-limit, run through the table, answer. */
void
admin_command(struct plugin *c, const char *platform, const char *channel,
    const char *user, const char *args)
{
	const struct verb	*v;
	char			 identity[300], words[IPC_MAX_TEXT];
	char			 logged[IPC_MAX_TEXT], out[IPC_MAX_TEXT];
	json_t			*req, *reply, *err;
	struct jsonw		 text;
	double			 wait;

	snprintf(identity, sizeof identity, "%s:%s", platform, user);
	if (!admin_allowed(identity)) {
		log_warnx("admin: refused \"!admin %.100s\" from %s (not in "
		    "chat.admins)", args, identity);
		router_send_say(c, platform, channel, user, "not allowed: "
		    "!admin is for the bot's admins");
		return;
	}
	if ((wait = admin_rate_wait(identity)) > 0) {
		snprintf(out, sizeof out, "slow down: one admin command every "
		    "%g s (wait %.1f s)", server->config->admin_rate, wait);
		router_send_say(c, platform, channel, user, out);
		return;
	}
	strlcpy_(words, args, sizeof words);
	if ((req = admin_request(words, &v, logged, sizeof logged, out,
	    sizeof out)) == NULL) {
		/* The audit trail has what was typed, refused or not. */
		strlcpy_(words, args, sizeof words);
		utf8_sanitize(words);
		log_info("admin: %s: refused \"%s\": %s", identity, words, out);
		router_send_say(c, platform, channel, user, out);
		return;
	}
	log_info("admin: %s runs \"%s\"", identity, logged);
	jw_init(&text);
	cmd_execute(req, NULL, identity, &text);
	/* The command table writes JSON text; chat reads it back. */
	if ((reply = json_loadb(text.buf, text.len, 0, NULL)) == NULL)
		fatalx("%s: the reply to \"%s\" is not valid JSON", __func__,
		    v->name);
	jw_free(&text);
	if (json_is_true(json_object_get(reply, "ok"))) {
		verb_chat(v, json_object_get(reply, "result"), out, sizeof out);
		admin_upgrade_notify(v, json_object_get(reply, "result"), c,
		    platform, channel, user);
	}
	else {
		err = json_object_get(reply, "error");
		snprintf(out, sizeof out, "error: %s",
		    verb_str(err, "message", "?"));
	}
	router_send_say(c, platform, channel, user, out);
	json_decref(reply);
	json_decref(req);
}

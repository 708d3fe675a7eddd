/*
 * router.c: chat lines in, events out, replies back.
 *
 * A connector's chat line that starts with the prefix is a command; its first
 * word selects the plugin that claimed it in ready (a hash lookup). The event
 * gets an id; the reply carrying that id goes back, as a say, to the
 * connector and channel the line came from. Plain lines go to plugins that
 * asked for all chat. Every step is counted per plugin.
 */
#include <stdlib.h>
#include <string.h>

#include "supervisor/supervisor.h"

/* Command words the daemon answers itself; no plugin may claim them. */
static const char *router_reserved[] = { "help", "admin" };

void
router_init(void)
{
	server->commands = hmap_new();
	server->pending = hmap_new();
	server->next_event_id = 1;
}

void
router_free(void)
{
	hmap_free(server->commands);
	hmap_free(server->pending);
}

struct plugin *
router_owner(const char *command)
{
	return hmap_sget(server->commands, command);
}

/* Claim command words for a plugin; all or none. */
int
router_claim(struct plugin *p, const char *const *cmds, size_t n, char **cause)
{
	struct plugin	*owner;
	size_t		 i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nitems(router_reserved); j++) {
			if (strcmp(cmds[i], router_reserved[j]) == 0) {
				xasprintf(cause, "command \"%s\" is reserved "
				    "by the daemon", cmds[i]);
				return -1;
			}
		}
		for (j = 0; j < i; j++) {
			if (strcmp(cmds[i], cmds[j]) == 0) {
				xasprintf(cause, "command \"%s\" listed twice",
				    cmds[i]);
				return -1;
			}
		}
		owner = hmap_sget(server->commands, cmds[i]);
		if (owner != NULL && owner != p) {
			xasprintf(cause, "command \"%s\" is already owned by "
			    "plugin %s", cmds[i], owner->name);
			return -1;
		}
	}
	for (i = 0; i < n; i++)
		hmap_sput(server->commands, cmds[i], p);
	return 0;
}

/* Give up a plugin's commands (it stopped or crashed). */
void
router_release(struct plugin *p)
{
	size_t	i;

	for (i = 0; i < p->ncommands; i++) {
		if (hmap_sget(server->commands, p->commands[i]) == p)
			hmap_sdel(server->commands, p->commands[i]);
	}
}

static void
router_pending_free(struct pending_event *pe)
{
	free(pe->connector);
	free(pe->platform);
	free(pe->channel);
	free(pe->user);
	free(pe);
}

static void
router_pending_remove(struct pending_event *pe)
{
	hmap_idel(server->pending, pe->id);
	TAILQ_REMOVE(&pe->target->pending, pe, entry);
	pe->target->npending--;
	router_pending_free(pe);
}

/* Forget events waiting for a plugin's replies (it is gone). */
void
router_forget(struct plugin *p)
{
	struct pending_event	*pe;

	while ((pe = TAILQ_FIRST(&p->pending)) != NULL)
		router_pending_remove(pe);
}

/* Forget events whose reply never came. */
void
router_expire(double now)
{
	struct plugin		*p;
	struct pending_event	*pe;

	TAILQ_FOREACH(p, &server->plugins, entry) {
		while ((pe = TAILQ_FIRST(&p->pending)) != NULL &&
		    now - pe->sent > EVENT_REPLY_TTL)
			router_pending_remove(pe);
	}
}

/* Send a say to a connector. */
void
router_send_say(struct plugin *connector, const char *platform,
    const char *channel, const char *user, const char *text)
{
	struct msg_builder	*b = server->builder;
	const char		*data;
	size_t			 len;

	msg_begin(b, MSG_SAY);
	msg_add_str(b, "platform", platform);
	msg_add_str(b, "channel", channel);
	if (user != NULL)
		msg_add_str(b, "user", user);
	msg_add_strn(b, "text", text, strnlen(text, IPC_MAX_TEXT));
	msg_end(b, &data, &len);
	plugin_deliver(connector, data, len, 0);
}

/* The daemon's own !help: every command word, sorted. */
static void
router_help(struct plugin *connector, const char *platform,
    const char *channel, const char *user)
{
	struct plugin	*p;
	char		 text[IPC_MAX_TEXT];
	const char	*words[512];
	size_t		 n = 0, i, j, off;

	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (i = 0; i < p->ncommands && n < nitems(words); i++)
			words[n++] = p->commands[i];
	}
	for (i = 1; i < n; i++) {
		const char	*w = words[i];

		for (j = i; j > 0 && strcmp(words[j - 1], w) > 0; j--)
			words[j] = words[j - 1];
		words[j] = w;
	}
	off = (size_t)snprintf(text, sizeof text, "commands:");
	for (i = 0; i < n && off < sizeof text; i++)
		off += (size_t)snprintf(text + off, sizeof text - off, " %s%s",
		    server->config->prefix, words[i]);
	router_send_say(connector, platform, channel, user, text);
}

/* Send one event to a plugin, remembering where its reply goes. */
static void
router_route(struct plugin *c, struct plugin *p, const char *command,
    const char *args, const char *line, size_t tlen, const char *platform,
    const char *channel, const char *user)
{
	struct msg_builder	*b = server->builder;
	struct pending_event	*pe;
	const char		*data;
	size_t			 len;
	uint64_t		 id = server->next_event_id++;

	msg_begin(b, MSG_EVENT);
	msg_add_uint(b, "id", id);
	msg_add_str(b, "platform", platform);
	msg_add_str(b, "channel", channel);
	msg_add_str(b, "user", user);
	msg_add_str(b, "command", command);
	msg_add_str(b, "args", args);
	msg_add_strn(b, "text", line, tlen);
	msg_end(b, &data, &len);
	p->events_routed++;
	server->total_events++;

	pe = xcalloc(1, sizeof *pe);
	pe->id = id;
	pe->sent = clock_mono();
	pe->target = p;
	pe->connector = xstrdup(c->name);
	pe->platform = xstrdup(platform);
	pe->channel = xstrdup(channel);
	pe->user = xstrdup(user);
	if (p->npending >= PLUGIN_MAX_PENDING)
		router_pending_remove(TAILQ_FIRST(&p->pending));
	TAILQ_INSERT_TAIL(&p->pending, pe, entry);
	p->npending++;
	hmap_iput(server->pending, id, pe);
	plugin_deliver(p, data, len, id);
}

/*
 * A chat line from a connector. Bad lines (missing fields, over-long text)
 * are dropped and counted against the connector; the daemon carries on.
 */
void
router_chat(struct plugin *c, const struct msg *m)
{
	struct plugin		*p;
	const char		*text;
	char			 platform[33], channel[257], user[257];
	char			 line[IPC_MAX_TEXT + 1], word[PLUGIN_COMMAND_MAX + 1];
	char			 args[IPC_MAX_TEXT + 1];
	size_t			 tlen, plen, wlen, len, i;

	if (msg_copy_str(m, "platform", platform, sizeof platform) != 0 ||
	    msg_copy_str(m, "channel", channel, sizeof channel) != 0 ||
	    msg_copy_str(m, "user", user, sizeof user) != 0 ||
	    msg_get_str(m, "text", &text, &tlen) != 0) {
		plugin_protocol_error(c, "chat needs platform (<= 32 bytes), "
		    "channel and user (<= 256 bytes) and text strings");
		return;
	}
	if (tlen > server->config->max_line) {
		c->events_dropped++;
		log_warnx("plugin %s: chat line of %zu bytes from %s:%s is over "
		    "chat.max_line (%zu); dropped", c->name, tlen, platform,
		    user, server->config->max_line);
		return;
	}
	/* One line: control characters (CR, LF, NUL, ...) become spaces. */
	for (i = 0; i < tlen; i++)
		line[i] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
	line[tlen] = '\0';
	c->chat_lines++;
	server->total_chat_lines++;
	if (c->platform == NULL || strcmp(c->platform, platform) != 0) {
		free(c->platform);
		c->platform = xstrdup(platform);
	}

	plen = strlen(server->config->prefix);
	if (tlen <= plen || strncmp(line, server->config->prefix, plen) != 0) {
		/* A plain line: to every plugin that asked for all chat. */
		TAILQ_FOREACH(p, &server->plugins, entry) {
			if (p->wants_chat && p != c)
				router_route(c, p, "", "", line, tlen, platform,
				    channel, user);
		}
		return;
	}

	/* The command word: up to the first space, lower-cased. */
	for (wlen = 0; plen + wlen < tlen && line[plen + wlen] != ' '; wlen++) {
		if (wlen == PLUGIN_COMMAND_MAX)
			break;
		word[wlen] = line[plen + wlen];
		if (word[wlen] >= 'A' && word[wlen] <= 'Z')
			word[wlen] += 'a' - 'A';
	}
	word[wlen] = '\0';
	if (plen + wlen < tlen && line[plen + wlen] != ' ') {
		/* Longer than any command can be. */
		server->unknown_commands++;
		return;
	}
	i = plen + wlen;
	while (i < tlen && line[i] == ' ')
		i++;
	len = tlen - i;
	while (len > 0 && line[i + len - 1] == ' ')
		len--;
	memcpy(args, line + i, len);
	args[len] = '\0';

	if (strcmp(word, "help") == 0) {
		router_help(c, platform, channel, user);
		return;
	}
	if (strcmp(word, "admin") == 0) {
		admin_command(c, platform, channel, user, args);
		return;
	}
	if ((p = router_owner(word)) == NULL) {
		server->unknown_commands++;
		log_debug("unknown command %s%s from %s:%s",
		    server->config->prefix, word, platform, user);
		if (server->config->unknown_command == UNKNOWN_REPLY && wlen > 0) {
			char	msg[128];

			snprintf(msg, sizeof msg, "unknown command %s%s; try "
			    "%shelp", server->config->prefix, word,
			    server->config->prefix);
			router_send_say(c, platform, channel, user, msg);
		}
		return;
	}

	router_route(c, p, word, args, line, tlen, platform, channel, user);
}

/* A reply: find the event, send the text to where it came from. */
void
router_reply(struct plugin *p, const struct msg *m)
{
	struct pending_event	*pe;
	struct plugin		*c;
	const char		*text;
	char			 buf[IPC_MAX_TEXT + 1];
	size_t			 tlen;
	uint64_t		 id;

	if (msg_get_uint(m, "id", &id) != 0 ||
	    msg_get_str(m, "text", &text, &tlen) != 0) {
		plugin_protocol_error(p, "reply needs an integer id and a text "
		    "string");
		return;
	}
	if (tlen > IPC_MAX_TEXT) {
		plugin_protocol_error(p, "reply text of %zu bytes is over the "
		    "%d-byte limit", tlen, IPC_MAX_TEXT);
		return;
	}
	if (memchr(text, '\0', tlen) != NULL) {
		plugin_protocol_error(p, "reply text contains a NUL byte");
		return;
	}
	if ((pe = hmap_iget(server->pending, id)) == NULL || pe->target != p) {
		log_debug("plugin %s: reply to unknown event %llu dropped",
		    p->name, (unsigned long long)id);
		return;
	}
	p->replies++;
	memcpy(buf, text, tlen);
	buf[tlen] = '\0';
	if ((c = server_find_plugin(pe->connector)) != NULL)
		router_send_say(c, pe->platform, pe->channel, pe->user, buf);
	router_pending_remove(pe);
}

/* An unsolicited say: to the connector of that platform. */
void
router_say(struct plugin *p, const struct msg *m)
{
	struct plugin	*c, *found = NULL;
	char		 platform[33], channel[257], buf[IPC_MAX_TEXT + 1];

	if (msg_copy_str(m, "platform", platform, sizeof platform) != 0 ||
	    msg_copy_str(m, "channel", channel, sizeof channel) != 0 ||
	    msg_copy_str(m, "text", buf, sizeof buf) != 0) {
		plugin_protocol_error(p, "say needs platform (<= 32 bytes), "
		    "channel (<= 256 bytes) and text (<= %d bytes) strings",
		    IPC_MAX_TEXT);
		return;
	}
	TAILQ_FOREACH(c, &server->plugins, entry) {
		if (c->conf->role != ROLE_CONNECTOR)
			continue;
		if ((c->platform != NULL && strcmp(c->platform, platform) == 0) ||
		    strcmp(c->name, platform) == 0) {
			found = c;
			break;
		}
	}
	if (found == NULL) {
		log_warnx("plugin %s: say to platform \"%s\": no connector for "
		    "it; dropped", p->name, platform);
		return;
	}
	router_send_say(found, platform, channel, NULL, buf);
}

/*
 * router.c: chat lines in, events out, replies back.
 *
 * A connector's chat line that starts with the prefix is a command; its first
 * word selects the plugin that claimed it in ready (a hash lookup). The event
 * gets an id; the reply carrying that id goes back, as a say, to the
 * connector and channel the line came from. Plain lines go to the plugins
 * on the chat list: those whose running process asked for all chat in its
 * ready, so a plain line costs nothing per plugin that did not. Every step
 * is counted per plugin. The messages' fields are checked by ipc/'s typed
 * readers; the line's command word is found by ipc_parse_line.
 */
#include <stdlib.h>
#include <string.h>

#include "supervisor/supervisor.h"

/* Seconds between two log lines about one connector's refused lines. */
#define ROUTER_REFUSE_LOG_INTERVAL	10.0

/* Command words the daemon answers itself; no plugin may claim them. */
static const char *router_reserved[] = { "help", "admin" };

void
router_init(void)
{
	server->commands = hmap_new();
	server->pending = hmap_new();
	server->next_event_id = 1;
	TAILQ_INIT(&server->chat_plugins);
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

/* The plugin is on the chat list. */
static int
router_chat_listed(const struct plugin *p)
{
	return p->chat_entry.tqe_prev != NULL;
}

/* Take the plugin off the chat list: no more plain lines for it. */
static void
router_chat_leave(struct plugin *p)
{
	if (router_chat_listed(p)) {
		TAILQ_REMOVE(&server->chat_plugins, p, chat_entry);
		p->chat_entry.tqe_prev = NULL;
	}
}

/*
 * Whether a plugin may claim these command words (distinct and valid:
 * ipc_read_ready checked them): none reserved by the daemon, none owned by
 * another plugin. 0, or -1 with *cause.
 */
int
router_can_claim(const struct plugin *p, const char *const *cmds, size_t n,
    char **cause)
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
		owner = hmap_sget(server->commands, cmds[i]);
		if (owner != NULL && owner != p) {
			xasprintf(cause, "command \"%s\" is already owned by "
			    "plugin %s", cmds[i], owner->name);
			return -1;
		}
	}
	return 0;
}

/*
 * Claim command words (distinct, valid: ipc_read_ready checked them) and,
 * with chat, every plain chat line for a plugin; all or none.
 */
int
router_claim(struct plugin *p, const char *const *cmds, size_t n, int chat,
    char **cause)
{
	size_t	i;

	if (router_can_claim(p, cmds, n, cause) != 0)
		return -1;
	for (i = 0; i < n; i++)
		hmap_sput(server->commands, cmds[i], p);
	if (chat && !router_chat_listed(p))
		TAILQ_INSERT_TAIL(&server->chat_plugins, p, chat_entry);
	return 0;
}

/* Give up a plugin's commands and plain chat (a new ready, removal, free). */
void
router_release(struct plugin *p)
{
	size_t	i;

	for (i = 0; i < p->ncommands; i++) {
		if (hmap_sget(server->commands, p->commands[i]) == p)
			hmap_sdel(server->commands, p->commands[i]);
	}
	router_chat_leave(p);
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

/* The names of the drop reasons, as status shows them. */
static const char *const router_drop_names[DROP_NREASONS] = {
	[DROP_QUEUE_FULL] = "queue_full",
	[DROP_PLUGIN_DOWN] = "plugin_down",
	[DROP_DIED] = "died",
	[DROP_EXPIRED] = "expired",
	[DROP_NOT_READING] = "not_reading",
};

const char *
router_drop_reason_name(enum drop_reason r)
{
	return (unsigned)r < DROP_NREASONS ? router_drop_names[r] : "?";
}

/* End a pending event as dropped: counted once, for one reason. */
static void
router_pending_drop(struct pending_event *pe, enum drop_reason r)
{
	struct plugin	*p = pe->target;

	p->dropped[r]++;
	p->events_dropped++;
	router_pending_remove(pe);
}

/*
 * Drop an event routed to p: counted if it had not ended yet (a reply, an
 * expiry or its process's end may have ended it first); -1 if it had.
 */
int
router_drop(struct plugin *p, uint64_t id, enum drop_reason r)
{
	struct pending_event	*pe;

	if (id == 0 || (pe = hmap_iget(server->pending, id)) == NULL ||
	    pe->target != p)
		return -1;
	router_pending_drop(pe, r);
	return 0;
}

/* A queued event was sent: from now on, the process's end ends it too. */
void
router_sent(struct plugin *p, uint64_t id)
{
	struct pending_event	*pe;

	if ((pe = hmap_iget(server->pending, id)) != NULL && pe->target == p) {
		pe->queued = 0;
		pe->pid = p->pid;
	}
}

/*
 * A process of the plugin is gone: the events sent to it and not answered
 * are dropped (died). Events sent to another process of the same plugin
 * (the new one of an upgrade, while an old one drains) are not its: they
 * stay. The plugin's own process gone, it gets no plain chat until a new
 * process asks again in its ready. Events still queued wait for the next
 * process, or are dropped with the queue if none comes. Its commands stay
 * claimed (plugin_exited says why).
 */
void
router_forget(struct plugin *proc)
{
	struct plugin		*p = plugin_series(proc);
	struct pending_event	*pe, *next;
	uint64_t		 n = 0;

	if (proc == p)
		router_chat_leave(p);
	TAILQ_FOREACH_SAFE(pe, &p->pending, entry, next) {
		if (!pe->queued && (proc->pid <= 0 || pe->pid == proc->pid)) {
			router_pending_drop(pe, DROP_DIED);
			n++;
		}
	}
	if (n > 0 && proc == p)
		log_warnx("plugin %s: %llu event%s in flight dropped: its "
		    "process ended before replying", p->name,
		    (unsigned long long)n, n == 1 ? "" : "s");
	else if (n > 0)
		log_warnx("plugin %s: %llu event%s in flight dropped: its "
		    "%s process %ld ended before replying", p->name,
		    (unsigned long long)n, n == 1 ? "" : "s",
		    proc == p->upgrade_new ? "new" : "old", (long)proc->pid);
}

/* Drop events whose reply never came (oldest first, so stop at a young one). */
void
router_expire(double now)
{
	struct plugin		*p;
	struct pending_event	*pe;
	uint64_t		 n;

	TAILQ_FOREACH(p, &server->plugins, entry) {
		n = 0;
		while ((pe = TAILQ_FIRST(&p->pending)) != NULL &&
		    now - pe->sent > EVENT_REPLY_TTL) {
			router_pending_drop(pe, DROP_EXPIRED);
			n++;
		}
		if (n > 0)
			log_warnx("plugin %s: %llu event%s dropped: no reply "
			    "within %g s", p->name, (unsigned long long)n,
			    n == 1 ? "" : "s", EVENT_REPLY_TTL);
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
	if (p->npending >= PLUGIN_MAX_PENDING) {
		/* Debug: at this rate a line per event would bury the log. */
		log_debug("plugin %s: %d events wait for replies; the oldest, "
		    "%llu, dropped", p->name, PLUGIN_MAX_PENDING,
		    (unsigned long long)TAILQ_FIRST(&p->pending)->id);
		router_pending_drop(TAILQ_FIRST(&p->pending), DROP_EXPIRED);
	}
	TAILQ_INSERT_TAIL(&p->pending, pe, entry);
	p->npending++;
	hmap_iput(server->pending, id, pe);
	/* Dropped, pe is gone; sent, it waits for the reply. */
	switch (plugin_deliver(p, data, len, id)) {
	case DELIVERY_QUEUED:
		pe->queued = 1;
		break;
	case DELIVERY_SENT:
		pe->pid = p->pid;
		/* The benchmark's figure: from an upgrade's switch to this. */
		if (p->switched_mono > 0) {
			p->first_event_ms = (clock_mono() - p->switched_mono) *
			    1000;
			p->switched_mono = 0;
		}
		break;
	case DELIVERY_DROPPED:
		break;
	}
}

/*
 * A chat line claiming another platform than its connector's: refused and
 * counted as a protocol error. Identities ("platform:user", what
 * chat.admins matches) belong to the connector that saw the user; a
 * connector that could name another platform could speak as anyone there,
 * "console:console" included. Logged at most every
 * ROUTER_REFUSE_LOG_INTERVAL seconds per connector, with the count since.
 */
static void
router_refuse_platform(struct plugin *c, const struct ipc_chat *chat)
{
	double	now = clock_mono();

	c->protocol_errors++;
	c->platform_refused++;
	if (c->platform_logged != 0 &&
	    now - c->platform_logged < ROUTER_REFUSE_LOG_INTERVAL)
		return;
	log_warnx("plugin %s: chat line claiming platform \"%s\" (user \"%s\") "
	    "refused: this connector's platform is \"%s\"; %llu refused so far",
	    c->name, chat->platform, chat->user, config_platform(c->conf),
	    (unsigned long long)c->platform_refused);
	c->platform_logged = now;
}

/*
 * A chat line from a connector. Bad lines (missing fields, over-long text)
 * are dropped and counted against the connector; the daemon carries on.
 */
void
router_chat(struct plugin *c, const struct msg *m)
{
	struct plugin		*p;
	struct ipc_chat		 chat;
	struct ipc_command_line	 cl;
	enum ipc_line_kind	 kind;
	char			 line[IPC_MAX_TEXT + 1], args[IPC_MAX_TEXT + 1];
	char			*cause = NULL;
	const char		*prefix = server->config->prefix;
	size_t			 i;

	if (ipc_read_chat(m, &chat, &cause) != 0) {
		plugin_protocol_error(c, "%s", cause);
		free(cause);
		return;
	}
	if (strcmp(chat.platform, config_platform(c->conf)) != 0) {
		router_refuse_platform(c, &chat);
		return;
	}
	if (chat.text_len > server->config->max_line) {
		/* Not an event: counted apart, so events always reconcile. */
		c->chat_dropped++;
		output_warn(c, WARN_CHAT_DROPPED, "plugin %s: chat line of %zu "
		    "bytes from %s:%s is over chat.max_line (%zu); dropped",
		    c->name, chat.text_len,
		    chat.platform, chat.user, server->config->max_line);
		return;
	}
	/* One line: control characters (CR, LF, NUL, ...) become spaces. */
	for (i = 0; i < chat.text_len; i++)
		line[i] = (unsigned char)chat.text[i] < 0x20 ? ' ' : chat.text[i];
	line[chat.text_len] = '\0';
	c->chat_lines++;
	server->total_chat_lines++;

	kind = ipc_parse_line(line, chat.text_len, prefix, &cl);
	if (kind == IPC_LINE_CHAT) {
		/* A plain line: to every plugin that asked for all chat. */
		TAILQ_FOREACH(p, &server->chat_plugins, chat_entry) {
			if (p != c)
				router_route(c, p, "", "", line, chat.text_len,
				    chat.platform, chat.channel, chat.user);
		}
		return;
	}
	if (kind == IPC_LINE_OVERLONG) {
		/* Longer than any command can be. */
		server->unknown_commands++;
		return;
	}
	memcpy(args, cl.args, cl.args_len);
	args[cl.args_len] = '\0';

	if (strcmp(cl.command, "help") == 0) {
		router_help(c, chat.platform, chat.channel, chat.user);
		return;
	}
	if (strcmp(cl.command, "admin") == 0) {
		admin_command(c, chat.platform, chat.channel, chat.user, args);
		return;
	}
	if ((p = router_owner(cl.command)) == NULL) {
		server->unknown_commands++;
		log_debug("unknown command %s%s from %s:%s", prefix, cl.command,
		    chat.platform, chat.user);
		if (server->config->unknown_command == UNKNOWN_REPLY &&
		    cl.command_len > 0) {
			char	msg[128];

			snprintf(msg, sizeof msg, "unknown command %s%s; try "
			    "%shelp", prefix, cl.command, prefix);
			router_send_say(c, chat.platform, chat.channel,
			    chat.user, msg);
		}
		return;
	}

	router_route(c, p, cl.command, args, line, chat.text_len,
	    chat.platform, chat.channel, chat.user);
}

/* A reply: find the event, send the text to where it came from. */
void
router_reply(struct plugin *p, const struct msg *m)
{
	struct pending_event	*pe;
	struct plugin		*c;
	struct ipc_reply	 reply;
	char			 buf[IPC_MAX_TEXT + 1], *cause = NULL;

	if (ipc_read_reply(m, &reply, &cause) != 0) {
		plugin_protocol_error(p, "%s", cause);
		free(cause);
		return;
	}
	/*
	 * Only the process the event was sent to may answer it: an old
	 * process draining during an upgrade answers what it was sent, the
	 * new one what came after the switch, and neither the other's.
	 */
	if ((pe = hmap_iget(server->pending, reply.id)) == NULL ||
	    pe->target != plugin_series(p) || pe->queued || pe->pid != p->pid) {
		log_debug("plugin %s: reply to unknown event %llu dropped",
		    p->name, (unsigned long long)reply.id);
		return;
	}
	p = plugin_series(p);
	p->replies++;
	memcpy(buf, reply.text, reply.text_len);
	buf[reply.text_len] = '\0';
	if ((c = server_find_plugin(pe->connector)) != NULL)
		router_send_say(c, pe->platform, pe->channel, pe->user, buf);
	router_pending_remove(pe);
}

/* An unsolicited say: to the connector of that platform. */
void
router_say(struct plugin *p, const struct msg *m)
{
	struct plugin	*c, *found = NULL;
	struct ipc_say	 say;
	char		 buf[IPC_MAX_TEXT + 1], *cause = NULL;

	if (ipc_read_say(m, &say, &cause) != 0) {
		plugin_protocol_error(p, "%s", cause);
		free(cause);
		return;
	}
	TAILQ_FOREACH(c, &server->plugins, entry) {
		if (c->conf->role != ROLE_CONNECTOR)
			continue;
		if (strcmp(config_platform(c->conf), say.platform) == 0) {
			found = c;
			break;
		}
	}
	if (found == NULL) {
		output_warn(p, WARN_SAY_DROPPED, "plugin %s: say to platform "
		    "\"%s\": no connector for it; dropped", p->name,
		    say.platform);
		return;
	}
	memcpy(buf, say.text, say.text_len);
	buf[say.text_len] = '\0';
	router_send_say(found, say.platform, say.channel, NULL, buf);
}

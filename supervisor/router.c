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
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/supervisor.h"

/* Seconds between two log lines about one connector's refused lines. */
#define ROUTER_REFUSE_LOG_INTERVAL	10.0
/* Seconds between two "too long" answers to one user. */
#define ROUTER_TOOLONG_INTERVAL		30.0
/* Users remembered for that; a full table starts over (as admin_rate). */
#define ROUTER_TOOLONG_MAX		4096
/* Edits a did-you-mean suggestion may be away: 1 for words of 1-4 bytes. */
#define ROUTER_SUGGEST_EDITS		2
/* The mark a cut reply ends with: "…", 3 bytes of UTF-8. */
#define ROUTER_ELLIPSIS			"\xe2\x80\xa6"

/* platform:user → when it was last told its line was too long. */
static struct hmap	*router_toolong;

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
	hmap_free_with(router_toolong, free);
	router_toolong = NULL;
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

/*
 * Edit distance of two command words (optimal string alignment: an insert,
 * a delete, a change or a swap of two neighbours is one edit). Words are at
 * most IPC_MAX_COMMAND bytes, so the table is small and on the stack.
 */
static size_t
router_distance(const char *a, const char *b)
{
	size_t	d[IPC_MAX_COMMAND + 1][IPC_MAX_COMMAND + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j, v;

	if (la > IPC_MAX_COMMAND || lb > IPC_MAX_COMMAND)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* Consider candidate for word: keep it in *best if it is closer. */
static void
router_suggest_one(const char *word, const char *candidate, const char **best,
    size_t *best_d)
{
	size_t	d, len = strlen(word);

	/* Lengths too far apart cannot be close: skip the table. */
	if (strlen(candidate) > len + ROUTER_SUGGEST_EDITS ||
	    strlen(candidate) + ROUTER_SUGGEST_EDITS < len)
		return;
	d = router_distance(word, candidate);
	if (d < *best_d || (d == *best_d && *best != NULL &&
	    strcmp(candidate, *best) < 0)) {
		*best = candidate;
		*best_d = d;
	}
}

/*
 * The known command closest to an unknown word, or NULL if none is close:
 * at most one edit away for a word of up to 4 bytes, two for a longer one,
 * and never as many edits as the word has bytes. !admin only for admins.
 */
static const char *
router_suggest(const char *word, int admin)
{
	struct plugin	*p;
	const char	*best = NULL;
	size_t		 i, best_d = SIZE_MAX, limit;

	limit = strlen(word) <= 4 ? 1 : ROUTER_SUGGEST_EDITS;
	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (i = 0; i < p->ncommands; i++) {
			if (router_owner(p->commands[i]) == p)
				router_suggest_one(word, p->commands[i], &best,
				    &best_d);
		}
	}
	router_suggest_one(word, "help", &best, &best_d);
	if (admin)
		router_suggest_one(word, "admin", &best, &best_d);
	if (best == NULL || best_d > limit || best_d >= strlen(word))
		return NULL;
	return best;
}

/* 1 if the chat user platform:user is one of chat.admins. */
static int
router_is_admin(const char *platform, const char *user)
{
	char	identity[IPC_MAX_PLATFORM + IPC_MAX_USER + 2];

	snprintf(identity, sizeof identity, "%s:%s", platform, user);
	return admin_allowed(identity);
}

/* Sort command words in place (a few hundred at most: insertion sort). */
static void
router_sort_words(const char **words, size_t n)
{
	const char	*w;
	size_t		 i, j;

	for (i = 1; i < n; i++) {
		w = words[i];
		for (j = i; j > 0 && strcmp(words[j - 1], w) > 0; j--)
			words[j] = words[j - 1];
		words[j] = w;
	}
}

/*
 * !help WORD: how to use one command, as its plugin declared in ready
 * ("!roll [NdM[+K]] — roll dice"); the daemon's own; or did you mean.
 */
static void
router_help_one(char *text, size_t size, const char *word, int admin)
{
	const char	*prefix = server->config->prefix, *near;
	struct plugin	*p;
	size_t		 i;
	char		 quoted[IPC_MAX_COMMAND * 4 + 8];

	if (strcmp(word, "help") == 0) {
		snprintf(text, size, "%shelp [COMMAND] — list the commands, or "
		    "show how to use one", prefix);
		return;
	}
	if (strcmp(word, "admin") == 0) {
		if (admin)
			snprintf(text, size, "%sadmin VERB [ARGS] — run a "
			    "supervisor verb (%sadmin help lists them)", prefix,
			    prefix);
		else
			snprintf(text, size, "%sadmin is for the bot's admins",
			    prefix);
		return;
	}
	if ((p = router_owner(word)) != NULL) {
		for (i = 0; i < p->ncommands; i++) {
			if (strcmp(p->commands[i], word) != 0)
				continue;
			if (p->usage[i] != NULL)
				snprintf(text, size, "%s%s %s", prefix, word,
				    p->usage[i]);
			else
				snprintf(text, size, "%s%s — from plugin %s, "
				    "which gives no usage", prefix, word,
				    p->name);
			return;
		}
	}
	utf8_quote(word, quoted, sizeof quoted);
	if ((near = router_suggest(word, admin)) != NULL)
		snprintf(text, size, "no command %s%s — did you mean %s%s?",
		    prefix, quoted, prefix, near);
	else
		snprintf(text, size, "no command %s%s; %shelp lists them",
		    prefix, quoted, prefix);
}

/*
 * The daemon's own !help: every command word, sorted, !help among them and
 * !admin for admins; with a word, that command's usage.
 */
static void
router_help(struct plugin *connector, const char *platform,
    const char *channel, const char *user, const char *args)
{
	struct plugin	*p;
	char		 text[IPC_MAX_TEXT], word[IPC_MAX_COMMAND + 1];
	const char	*words[512], *prefix = server->config->prefix;
	size_t		 n = 0, i, off, len, plen = strlen(prefix);
	int		 admin = router_is_admin(platform, user);

	/* "!help roll" and "!help !roll" alike; the word lower-cased. */
	if (strncmp(args, prefix, plen) == 0)
		args += plen;
	for (len = 0; args[len] != '\0' && args[len] != ' ' &&
	    len < sizeof word - 1; len++)
		word[len] = (char)tolower((unsigned char)args[len]);
	word[len] = '\0';
	if (len > 0) {
		router_help_one(text, sizeof text, word, admin);
		router_send_say(connector, platform, channel, user, text);
		return;
	}
	/* The bound leaves room for help and admin. */
	TAILQ_FOREACH(p, &server->plugins, entry) {
		for (i = 0; i < p->ncommands && n < nitems(words) - 2; i++) {
			if (router_owner(p->commands[i]) == p)
				words[n++] = p->commands[i];
		}
	}
	words[n++] = "help";
	if (admin)
		words[n++] = "admin";
	router_sort_words(words, n);
	off = (size_t)snprintf(text, sizeof text, "commands:");
	for (i = 0; i < n; i++) {
		/* Room for the word, the ending and a cut mark. */
		if (off + strlen(prefix) + strlen(words[i]) + 64 >=
		    sizeof text) {
			off += (size_t)snprintf(text + off, sizeof text - off,
			    " " ROUTER_ELLIPSIS);
			break;
		}
		off += (size_t)snprintf(text + off, sizeof text - off, " %s%s",
		    prefix, words[i]);
	}
	snprintf(text + off, sizeof text - off, " (%shelp COMMAND: how to use "
	    "one)", prefix);
	router_send_say(connector, platform, channel, user, text);
}

/*
 * A line over chat.max_line that would have been a command: tell its user,
 * at most once per ROUTER_TOOLONG_INTERVAL per user, so a flood of long
 * lines does not become a flood of answers.
 */
static void
router_too_long(struct plugin *c, const struct ipc_chat *chat)
{
	char	 identity[IPC_MAX_PLATFORM + IPC_MAX_USER + 2], msg[160];
	double	*last, now = clock_mono();

	if (router_toolong == NULL)
		router_toolong = hmap_new();
	snprintf(identity, sizeof identity, "%s:%s", chat->platform,
	    chat->user);
	if ((last = hmap_sget(router_toolong, identity)) != NULL) {
		if (now - *last < ROUTER_TOOLONG_INTERVAL)
			return;
	} else {
		if (hmap_count(router_toolong) >= ROUTER_TOOLONG_MAX) {
			hmap_free_with(router_toolong, free);
			router_toolong = hmap_new();
		}
		last = xmalloc(sizeof *last);
		hmap_sput(router_toolong, identity, last);
	}
	*last = now;
	snprintf(msg, sizeof msg, "your line was too long (%zu bytes, at most "
	    "%zu): not read", chat->text_len, server->config->max_line);
	router_send_say(c, chat->platform, chat->channel, chat->user, msg);
}

/*
 * Text for a connector from a plugin: as it is if it fits a chat message,
 * else cut at a UTF-8 character boundary with an ellipsis (the plugin's
 * protocol error, logged at most as often as output_warn allows).
 */
static void
router_fit_text(struct plugin *p, const char *what, const char *text,
    size_t len, char *buf)
{
	size_t	cut;

	if (len <= IPC_MAX_TEXT) {
		memcpy(buf, text, len);
		buf[len] = '\0';
		return;
	}
	cut = IPC_MAX_TEXT - (sizeof ROUTER_ELLIPSIS - 1);
	/* Back to the first byte of the character at the cut. */
	while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(buf, text, cut);
	memcpy(buf + cut, ROUTER_ELLIPSIS, sizeof ROUTER_ELLIPSIS);
	p->protocol_errors++;
	output_warn(p, WARN_PROTOCOL, "plugin %s: %s of %zu bytes is over the "
	    "%d-byte chat limit: sent cut, with an ellipsis", p->name, what,
	    len, IPC_MAX_TEXT);
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
		/* A command was meant for the bot: say why it is silent. */
		if (strncmp(chat.text, prefix, strlen(prefix)) == 0)
			router_too_long(c, &chat);
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
		router_help(c, chat.platform, chat.channel, chat.user, args);
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
			char		 msg[256];
			const char	*near;

			near = router_suggest(cl.command,
			    router_is_admin(chat.platform, chat.user));
			if (near != NULL)
				snprintf(msg, sizeof msg, "unknown command "
				    "%s%s — did you mean %s%s?", prefix,
				    cl.command, prefix, near);
			else
				snprintf(msg, sizeof msg, "unknown command "
				    "%s%s; try %shelp", prefix, cl.command,
				    prefix);
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
	router_fit_text(p, "reply", reply.text, reply.text_len, buf);
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
	router_fit_text(p, "say", say.text, say.text_len, buf);
	router_send_say(found, say.platform, say.channel, NULL, buf);
}

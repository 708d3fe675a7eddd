/*
 * reload.c: read the configuration again and apply the difference, the way
 * supervisord's reread + update does: new plugins are added (and started if
 * autostart), removed ones are stopped and forgotten, changed ones take their
 * new config (a running one is restarted to apply it), unchanged ones are
 * left alone. Chat settings apply at once. What cannot change in a running
 * daemon (the socket, metrics sampling) is kept and reported. A config with
 * any error changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "supervisor/supervisor.h"

static int	reload_reap_pending;

/* Free removed plugins once they have stopped. */
static void
reload_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct plugin	*p, *next;

	reload_reap_pending = 0;
	TAILQ_FOREACH_SAFE(p, &server->plugins, entry, next) {
		if (!p->removed || p->pid > 0 || p->state != PLUGIN_STOPPED)
			continue;
		log_info("plugin %s: removed", p->name);
		TAILQ_REMOVE(&server->plugins, p, entry);
		hmap_sdel(server->by_name, p->name);
		plugin_free(p);
	}
}

/* Called on each transition: a removed plugin that stopped can go. */
void
reload_check_removed(const struct plugin *p)
{
	if (!p->removed || p->state != PLUGIN_STOPPED || reload_reap_pending)
		return;
	reload_reap_pending = 1;
	event_base_once(server->base, -1, EV_TIMEOUT, reload_reap_cb, NULL, NULL);
}

/* Note a global setting that a reload cannot change. */
static void
reload_not_applied(json_t *list, const char *key, int differs)
{
	if (differs)
		json_array_append_new(list, json_string(key));
}

/* 1 if two configs' "http" differ. */
static int
reload_http_differs(const struct http_config *a, const struct http_config *b)
{
	if (a->enabled != b->enabled)
		return 1;
	if (!a->enabled)
		return 0;
	return strcmp(a->listen, b->listen) != 0 ||
	    (a->token == NULL) != (b->token == NULL) ||
	    (a->token != NULL && strcmp(a->token, b->token) != 0) ||
	    a->max_connections != b->max_connections ||
	    a->max_events_clients != b->max_events_clients ||
	    a->idle_timeout != b->idle_timeout;
}

/* Load the config the daemon started with, again. */
static int
reload_load(struct config **cf, char **cause)
{
	struct config	*old = server->config;

	if (server->builtin_config != NULL)
		return config_load_string(server->builtin_config,
		    server->builtin_config_len, old->path, old->dir,
		    server->plugin_dir, cf, cause);
	return config_load_file(old->path, server->plugin_dir, cf, cause);
}

/* Whether two configs have the same rollup tiers. */
static int
reload_same_rollups(const struct config *a, const struct config *b)
{
	size_t	i;

	if (a->nrollups != b->nrollups)
		return 0;
	for (i = 0; i < a->nrollups; i++)
		if (a->rollups[i].resolution != b->rollups[i].resolution ||
		    a->rollups[i].duration != b->rollups[i].duration)
			return 0;
	return 1;
}

json_t *
server_reload(char **cause)
{
	struct config		*old = server->config, *cf;
	struct plugin		*p;
	const struct plugin_config *pc;
	json_t			*added, *removed, *changed, *kept;
	size_t			 i, unchanged = 0;
	char			*tmp;
	int			 http_kept;

	server_notify_reloading();
	if (reload_load(&cf, cause) != 0) {
		server_notify_reloaded();
		return NULL;
	}
	if (sandbox_check_config(cf, cause) != 0) {
		config_free(cf);
		server_notify_reloaded();
		return NULL;
	}

	kept = json_array();
	reload_not_applied(kept, "socket",
	    strcmp(old->socket_path, cf->socket_path) != 0);
	reload_not_applied(kept, "metrics.enabled",
	    old->metrics_enabled != cf->metrics_enabled);
	reload_not_applied(kept, "metrics.poll_interval",
	    old->poll_interval != cf->poll_interval);
	reload_not_applied(kept, "metrics.history_duration",
	    old->history_duration != cf->history_duration);
	/* Those stay as they were; everything else global is the new file's. */
	tmp = cf->socket_path;
	cf->socket_path = old->socket_path;
	old->socket_path = tmp;
	cf->metrics_enabled = old->metrics_enabled;
	cf->poll_interval = old->poll_interval;
	cf->history_duration = old->history_duration;
	/* Every plugin's tiers have one shape; the state dir is open. */
	reload_not_applied(kept, "metrics.rollups", !reload_same_rollups(old,
	    cf));
	reload_not_applied(kept, "state", old->state_enabled !=
	    cf->state_enabled || strcmp(old->state_dir, cf->state_dir) != 0 ||
	    old->save_interval != cf->save_interval);
	memcpy(cf->rollups, old->rollups, sizeof cf->rollups);
	cf->nrollups = old->nrollups;
	tmp = cf->state_dir;
	cf->state_dir = old->state_dir;
	old->state_dir = tmp;
	cf->state_enabled = old->state_enabled;
	cf->save_interval = old->save_interval;
	/* The HTTP endpoint listens as it started (token, limits and all). */
	http_kept = reload_http_differs(&old->http, &cf->http);
	reload_not_applied(kept, "http", http_kept);
	{
		struct http_config	h = cf->http;

		cf->http = old->http;
		old->http = h;
	}

	added = json_array();
	removed = json_array();
	changed = json_array();
	TAILQ_FOREACH(p, &server->plugins, entry) {
		if (p->removed)
			continue;
		if ((pc = config_find_plugin(cf, p->name)) == NULL) {
			json_array_append_new(removed, json_string(p->name));
			plugin_event(p, PEV_REMOVE,
			    "removed from the config by a reload");
		} else if (!config_plugin_equal(p->conf, pc)) {
			plugin_reconfigure(p, pc);
			json_array_append_new(changed, json_string(p->name));
			/* "reload": "upgrade": the new beside the old. */
			if (pc->reload == RELOAD_UPGRADE && plugin_serving(p))
				plugin_event(p, PEV_UPGRADE,
				    "config changed by a reload");
			else if (plugin_serving(p) ||
			    p->state == PLUGIN_STARTING)
				plugin_event(p, PEV_RESTART,
				    "config changed by a reload");
		} else {
			/* How it reloads or what it watches: no restart. */
			if (!config_plugin_watch_equal(p->conf, pc))
				plugin_reconfigure(p, pc);
			unchanged++;
		}
	}
	for (i = 0; i < cf->nplugins; i++) {
		pc = &cf->plugins[i];
		if ((p = server_find_plugin(pc->name)) != NULL && !p->removed)
			continue;
		if (p != NULL) {
			json_array_append_new(changed, json_string(pc->name));
			/* Removed, still stopping, and back: keep it. */
			plugin_event(p, PEV_ADD, "added back by a reload");
			plugin_reconfigure(p, pc);
			if (pc->autostart)
				plugin_event(p, PEV_START, "added back by a "
				    "reload");
			continue;
		}
		p = plugin_new(pc);
		TAILQ_INSERT_TAIL(&server->plugins, p, entry);
		hmap_sput(server->by_name, p->name, p);
		/* A plugin added back after a restart finds its history. */
		state_load(p);
		state_load_done();
		json_array_append_new(added, json_string(p->name));
		if (pc->autostart)
			plugin_event(p, PEV_START, "added by a reload");
	}

	alert_configure(cf);
	server->config = cf;
	config_free(old);
	watch_configure();
	state_save_soon("reload");
	log_info("reload: %zu added, %zu removed, %zu changed, %zu unchanged%s",
	    json_array_size(added), json_array_size(removed),
	    json_array_size(changed), unchanged, json_array_size(kept) ?
	    (http_kept ? "; socket, metrics and http settings need a daemon "
	    "restart" : "; socket and metrics settings need a daemon restart") :
	    "");
	server_notify_reloaded();
	return json_pack("{s:o, s:o, s:o, s:I, s:o}", "added", added,
	    "removed", removed, "changed", changed,
	    "unchanged", (json_int_t)unchanged, "not_applied", kept);
}

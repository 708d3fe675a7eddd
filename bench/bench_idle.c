/*
 * bench_idle.c: an idle plugin for the benchmarks that run many plugins.
 * It owns one command, its own plugin name (so a thousand of them do not
 * collide), answers it with "ok", and otherwise only answers pings.
 */
#include "plugins/sdk/sdk.h"

static void
idle_command(const struct sdk_event *ev, void *arg)
{
	sdk_reply(ev, "ok");
}

static void
idle_ready(void *arg)
{
	sdk_command(sdk_name(), idle_command, NULL);
}

int
main(void)
{
	sdk_init("bench-idle", "1.0.0");
	sdk_on_ready(idle_ready, NULL);
	return sdk_run();
}

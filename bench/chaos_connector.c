/*
 * chaos_connector.c: a connector that sends chat lines at a fixed rate, for
 * make chaos (scripts/chaos.py). Config: "rate" lines a second, "seconds" to
 * send for, "lines" (chat lines, used in turn), "users" (distinct senders),
 * "out" (a file it rewrites every second: sent, received). It sends in
 * slices every 10 ms, like a busy channel, and counts the says that come
 * back; it never waits for them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/sdk/sdk.h"

/* Sending slices a second: 100 keeps a slice of 10000 lines/s at 100. */
#define CHAOS_SLICES	100
#define CHAOS_MAX_LINES	16

static struct {
	const char	*lines[CHAOS_MAX_LINES];
	size_t		 nlines;
	const char	*out;
	double		 rate, seconds, t0, written;
	long		 users;
	long		 sent, received;
} cc;

/* Rewrite the counts file (atomically: a reader never sees half of it). */
static void
chaos_write(int done)
{
	char	 tmp[4096];
	FILE	*f;

	snprintf(tmp, sizeof tmp, "%s.tmp", cc.out);
	if ((f = fopen(tmp, "w")) == NULL)
		fatal("%s", tmp);
	fprintf(f, "{\"sent\": %ld, \"received\": %ld, \"seconds\": %.3f, "
	    "\"done\": %s}\n", cc.sent, cc.received, clock_mono() - cc.t0,
	    done ? "true" : "false");
	fclose(f);
	if (rename(tmp, cc.out) == -1)
		fatal("rename %s", cc.out);
}

/* One slice: as many lines as the rate owes by now. */
static void
chaos_slice(void *arg)
{
	double	 elapsed = clock_mono() - cc.t0;
	long	 owed = (long)(elapsed * cc.rate) - cc.sent;
	char	 user[32];

	if (elapsed >= cc.seconds) {
		chaos_write(1);
		return;
	}
	while (owed-- > 0) {
		snprintf(user, sizeof user, "u%ld", cc.sent % cc.users);
		sdk_chat(sdk_name(), "#chaos", user,
		    cc.lines[cc.sent % (long)cc.nlines]);
		cc.sent++;
	}
	if (elapsed - cc.written >= 1) {
		cc.written = elapsed;
		chaos_write(0);
	}
	sdk_timer(1.0 / CHAOS_SLICES, chaos_slice, NULL);
}

/* The delay after ready is over: the clock starts with the first slice. */
static void
chaos_start(void *arg)
{
	cc.t0 = clock_mono();
	chaos_slice(NULL);
}

static void
chaos_on_say(const char *platform, const char *channel, const char *user,
    const char *text, void *arg)
{
	cc.received++;
}

static void
chaos_ready(void *arg)
{
	cc.nlines = sdk_config_strv("lines", cc.lines, CHAOS_MAX_LINES);
	if (cc.nlines > CHAOS_MAX_LINES)
		cc.nlines = CHAOS_MAX_LINES;
	if (cc.nlines == 0) {
		cc.lines[0] = "!roll 2d6";
		cc.nlines = 1;
	}
	cc.rate = sdk_config_double("rate", 10000);
	cc.seconds = sdk_config_double("seconds", 60);
	cc.users = sdk_config_int("users", 100);
	cc.out = sdk_config_str("out", "chaos-connector.json");
	if (!(cc.rate >= 1 && cc.rate <= 1e6) || !(cc.seconds > 0) ||
	    cc.users < 1)
		fatalx("chaos_connector: rate 1 to 1000000, seconds > 0, "
		    "users >= 1");
	cc.t0 = clock_mono();
	chaos_write(0);
	sdk_timer(sdk_config_double("delay", 0.5), chaos_start, NULL);
}

int
main(void)
{
	sdk_init("chaos-connector", "1.0.0");
	sdk_on_ready(chaos_ready, NULL);
	sdk_on_say(chaos_on_say, NULL);
	return sdk_run();
}

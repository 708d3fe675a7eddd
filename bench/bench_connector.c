/*
 * bench_connector.c: a connector plugin that measures the daemon's routing.
 * Started by scripts/bench with the daemon; config:
 *   "out": file for the results (JSON), "line": the chat line to send,
 *   "latency_n": round trips one at a time, "throughput_n": events sent with
 *   "window" in flight. It sends chat lines like a real connector and times
 *   the says that come back, then writes the results and idles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/sdk/sdk.h"

enum phase { PHASE_WARMUP, PHASE_LATENCY, PHASE_THROUGHPUT, PHASE_DONE };

static struct {
	enum phase	 phase;
	const char	*line;
	const char	*out;
	long		 warmup_n, latency_n, throughput_n, window;
	long		 sent, received;
	double		 sent_at;
	double		*rtt;
	double		 t0;
} bc;

static int
bench_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Write the results and stop measuring. */
static void
bench_finish(void)
{
	double	 elapsed = clock_mono() - bc.t0;
	FILE	*f;
	long	 n = bc.latency_n;

	qsort(bc.rtt, (size_t)n, sizeof *bc.rtt, bench_cmp);
	if ((f = fopen(bc.out, "w")) == NULL)
		fatal("%s", bc.out);
	fprintf(f, "{\"latency_n\": %ld, \"rtt_p50_ms\": %.4f, "
	    "\"rtt_p99_ms\": %.4f, \"rtt_max_ms\": %.4f, "
	    "\"throughput_n\": %ld, \"throughput_window\": %ld, "
	    "\"throughput_seconds\": %.4f, \"events_per_second\": %.0f}\n",
	    n, bc.rtt[n / 2] * 1000, bc.rtt[(n * 99) / 100] * 1000,
	    bc.rtt[n - 1] * 1000, bc.throughput_n, bc.window, elapsed,
	    (double)bc.throughput_n / elapsed);
	fclose(f);
	bc.phase = PHASE_DONE;
	sdk_log("info", "bench done: %ld events in %.3f s", bc.throughput_n,
	    elapsed);
}

static void
bench_send(void)
{
	bc.sent++;
	bc.sent_at = clock_mono();
	sdk_chat("bench", "bench", "bench", bc.line);
}

/* Each say is the answer to the oldest line in flight. */
static void
bench_on_say(const char *platform, const char *channel, const char *user,
    const char *text, void *arg)
{
	bc.received++;
	switch (bc.phase) {
	case PHASE_WARMUP:
		if (bc.received < bc.warmup_n) {
			bench_send();
			break;
		}
		bc.phase = PHASE_LATENCY;
		bc.sent = bc.received = 0;
		bench_send();
		break;
	case PHASE_LATENCY:
		bc.rtt[bc.received - 1] = clock_mono() - bc.sent_at;
		if (bc.received < bc.latency_n) {
			bench_send();
			break;
		}
		bc.phase = PHASE_THROUGHPUT;
		bc.sent = bc.received = 0;
		bc.t0 = clock_mono();
		while (bc.sent < bc.window && bc.sent < bc.throughput_n)
			bench_send();
		break;
	case PHASE_THROUGHPUT:
		if (bc.sent < bc.throughput_n)
			bench_send();
		if (bc.received == bc.throughput_n)
			bench_finish();
		break;
	case PHASE_DONE:
		break;
	}
}

static void
bench_start(void *arg)
{
	bench_send();
}

static void
bench_ready(void *arg)
{
	bc.out = sdk_config_str("out", "bench-results.json");
	bc.line = sdk_config_str("line", "!roll 1d6");
	bc.warmup_n = sdk_config_int("warmup_n", 1000);
	bc.latency_n = sdk_config_int("latency_n", 20000);
	bc.throughput_n = sdk_config_int("throughput_n", 200000);
	bc.window = sdk_config_int("window", 64);
	if (bc.latency_n < 1 || bc.warmup_n < 1 || bc.throughput_n < 1 ||
	    bc.window < 1)
		fatalx("bench counts must be positive");
	bc.rtt = xcalloc((size_t)bc.latency_n, sizeof *bc.rtt);
	/* Give the daemon a moment to finish starting the other plugins. */
	sdk_timer(sdk_config_double("delay", 0.5), bench_start, NULL);
}

int
main(void)
{
	sdk_init("bench-connector", "1.0.0");
	sdk_on_ready(bench_ready, NULL);
	sdk_on_say(bench_on_say, NULL);
	return sdk_run();
}

/* main.c: the dice-roller plugin: !roll NdM+K and !flip. */
#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>

#include "common/common.h"
#include "plugins/dice-roller/dice.h"
#include "plugins/sdk/sdk.h"

#define DICE_VERSION	"1.0.0"

/* What "!roll" with no arguments rolls. */
#define DICE_DEFAULT	"1d6"

/* Random 32-bit values from the kernel, fetched in batches. */
static struct {
	uint32_t	pool[64];
	size_t		left;
} dice_random;

/* One uniform 32-bit value from getrandom(2) (the kernel's CSPRNG). */
static uint32_t
dice_rng(void *arg)
{
	char	*p = (char *)dice_random.pool;
	size_t	 got = 0;
	ssize_t	 n;

	if (dice_random.left == 0) {
		while (got < sizeof dice_random.pool) {
			n = getrandom(p + got, sizeof dice_random.pool - got, 0);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				fatal("getrandom");
			}
			got += n;
		}
		dice_random.left = nitems(dice_random.pool);
	}
	return dice_random.pool[--dice_random.left];
}

/* !roll [NdM[+K]]: roll and show each die and the total. */
static void
dice_cmd_roll(const struct sdk_event *ev, void *arg)
{
	struct dice_spec	 spec;
	struct dice_result	 res;
	char			 buf[DICE_FORMAT_MAX], *cause;
	const char		*notation = *ev->args != '\0' ? ev->args : DICE_DEFAULT;

	if (dice_parse(notation, &spec, &cause) != 0) {
		sdk_reply(ev, "%s", cause);
		free(cause);
		return;
	}
	dice_roll(&spec, dice_rng, NULL, &res);
	if (dice_format(&res, buf, sizeof buf) != 0)
		fatalx("dice result does not fit in %zu bytes", sizeof buf);
	sdk_reply(ev, "%s", buf);
}

/* !flip: heads or tails. */
static void
dice_cmd_flip(const struct sdk_event *ev, void *arg)
{
	sdk_reply(ev, "🪙 %s", dice_uniform(2, dice_rng, NULL) ? "heads" : "tails");
}

int
main(int argc, char **argv)
{
	sdk_init("dice-roller", DICE_VERSION);
	sdk_command("roll", dice_cmd_roll, NULL);
	sdk_usage("roll", "[NdM[+K]] — roll N dice of M sides (1d6 if not "
	    "given; at most 20d1000, +/-100), e.g. !roll 2d6+1");
	sdk_command("flip", dice_cmd_flip, NULL);
	sdk_usage("flip", "— toss a coin: heads or tails");
	return sdk_run();
}

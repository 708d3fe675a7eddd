/*
 * 8ball.c: the Magic 8-Ball. "!8ball will it rain?" gets one of the twenty
 * classic answers. Each user may ask once per cooldown (config "cooldown",
 * seconds, default 3), so one person cannot flood a channel with it.
 */
#include <sys/queue.h>
#include <sys/random.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/hmap.h"
#include "plugins/sdk/sdk.h"

#define BALL_VERSION		"1.0.0"
#define BALL_COOLDOWN		3.0

/*
 * Users remembered for the cooldown. Past this, the user who asked least
 * recently is forgotten: by then their cooldown is long over, unless 1024
 * different users asked within one cooldown, and then forgetting one only
 * lets them ask a little early.
 */
#define BALL_MAX_USERS		1024

static const char *ball_answers[] = {
	"It is certain.",
	"It is decidedly so.",
	"Without a doubt.",
	"Yes, definitely.",
	"You may rely on it.",
	"As I see it, yes.",
	"Most likely.",
	"Outlook good.",
	"Yes.",
	"Signs point to yes.",
	"Reply hazy, try again.",
	"Ask again later.",
	"Better not tell you now.",
	"Cannot predict now.",
	"Concentrate and ask again.",
	"Don't count on it.",
	"My reply is no.",
	"My sources say no.",
	"Outlook not so good.",
	"Very doubtful.",
};

/* When a user last got an answer; in the LRU list, oldest first. */
struct ball_asker {
	char			*key;		/* "platform:user" */
	double			 asked;		/* clock_mono */
	TAILQ_ENTRY(ball_asker)	 entry;
};
TAILQ_HEAD(ball_askers, ball_asker);

static struct {
	double			 cooldown;
	struct hmap		*by_key;
	struct ball_askers	 lru;
	size_t			 count;
} ball = { .cooldown = BALL_COOLDOWN };

/* A uniform index in [0, n) from getrandom(2), without modulo bias. */
static size_t
ball_random(size_t n)
{
	uint32_t	r, threshold = (uint32_t)(0 - (uint32_t)n) % (uint32_t)n;
	ssize_t		got;

	do {
		while ((got = getrandom(&r, sizeof r, 0)) != sizeof r) {
			if (got == -1 && errno != EINTR)
				fatal("getrandom");
		}
	} while (r < threshold);
	return r % n;
}

/*
 * Check and record a user's question. Returns 0 if they may ask now, or
 * the whole seconds (at least 1) they must still wait.
 */
static int
ball_cooldown(const char *platform, const char *user)
{
	struct ball_asker	*a;
	char			*key;
	double			 now = clock_mono(), left;

	xasprintf(&key, "%s:%s", platform, user);
	if ((a = hmap_sget(ball.by_key, key)) != NULL) {
		free(key);
		left = a->asked + ball.cooldown - now;
		if (left > 0)
			return left < 1 ? 1 : (int)ceil(left);
		TAILQ_REMOVE(&ball.lru, a, entry);
	} else {
		if (ball.count == BALL_MAX_USERS) {
			a = TAILQ_FIRST(&ball.lru);
			TAILQ_REMOVE(&ball.lru, a, entry);
			hmap_sdel(ball.by_key, a->key);
			free(a->key);
			free(a);
			ball.count--;
		}
		a = xcalloc(1, sizeof *a);
		a->key = key;
		hmap_sput(ball.by_key, a->key, a);
		ball.count++;
	}
	a->asked = now;
	TAILQ_INSERT_TAIL(&ball.lru, a, entry);
	return 0;
}

/* !8ball QUESTION */
static void
ball_cmd(const struct sdk_event *ev, void *arg)
{
	int	wait;

	if (*ev->args == '\0') {
		sdk_reply(ev, "🎱 ask me a yes-or-no question, like: "
		    "!8ball will it rain tomorrow?");
		return;
	}
	if ((wait = ball_cooldown(ev->platform, ev->user)) != 0) {
		sdk_reply(ev, "🎱 patience: wait %d s before asking again",
		    wait);
		return;
	}
	sdk_reply(ev, "🎱 %s", ball_answers[ball_random(nitems(ball_answers))]);
}

/* Read the cooldown from the config. */
static void
ball_ready(void *arg)
{
	double	cooldown = sdk_config_double("cooldown", BALL_COOLDOWN);

	if (!(cooldown >= 0 && cooldown <= 86400)) {
		log_warnx("config \"cooldown\" must be 0 to 86400 seconds: "
		    "using %g", BALL_COOLDOWN);
		cooldown = BALL_COOLDOWN;
	}
	ball.cooldown = cooldown;
}

int
main(int argc, char **argv)
{
	struct ball_asker	*a;
	int			 status;

	ball.by_key = hmap_new();
	TAILQ_INIT(&ball.lru);
	sdk_init("8ball", BALL_VERSION);
	sdk_on_ready(ball_ready, NULL);
	sdk_command("8ball", ball_cmd, NULL);
	sdk_usage("8ball", "QUESTION — ask a yes-or-no question, get the "
	    "magic 8-ball's answer");
	status = sdk_run();

	while ((a = TAILQ_FIRST(&ball.lru)) != NULL) {
		TAILQ_REMOVE(&ball.lru, a, entry);
		free(a->key);
		free(a);
	}
	hmap_free(ball.by_key);
	return status;
}

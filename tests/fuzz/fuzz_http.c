/*
 * fuzz_http.c: libFuzzer target for the HTTP endpoint's own request parsing
 * (supervisor/http.c; evhttp's request-line and header parser is
 * libevent's): path routing, query strings, the request an /api path makes
 * for the command table, /events topics, the config's "ADDRESS:PORT", and
 * the token comparison.
 *
 * The first byte chooses what the rest is:
 *   0  a path, then (after the first '?') a query: routed; for /api/VERB a
 *      known verb's request is built and must be a JSON object whose cmd is
 *      the verb and whose keys are ones the verb takes
 *   1  a query string: at most HTTP_QUERY_MAX pairs, keys non-empty, no
 *      key twice, every key and value NUL-terminated within its bounds
 *   2  a topics list: accepted ones set only known topic bits
 *   3  a listen address: an accepted one has a port 1-65535 and a host
 *      that inet_pton reads back
 *   4  two tokens (split at the first NUL): equal iff memcmp says so
 */
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/fuzz/fuzz.h"
#include "config/config.h"
#include "ipc/ipc.h"
#include "metrics/metrics.h"
#include "supervisor/http.h"
#include "supervisor/supervisor.h"

#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_http: %s (check %s, line %d)\n",	\
		    what, #cond, __LINE__);				\
		abort();						\
	}								\
} while (0)

/* A path and its query, as evhttp_uri would split them. */
static void
fuzz_path(char *s)
{
	const struct verb	*ve;
	struct http_query	 q;
	enum http_route		 r;
	json_t			*req, *v;
	const char		*key;
	char			 verb[64], name[128], why[256], *qs;

	if ((qs = strchr(s, '?')) != NULL)
		*qs++ = '\0';
	r = http_route(s, verb, sizeof verb, name, sizeof name);
	CHECK(strlen(verb) < sizeof verb && strlen(name) < sizeof name,
	    "route output unbounded");
	if (r != HTTP_ROUTE_API) {
		CHECK(verb[0] == '\0' && name[0] == '\0',
		    "a verb or name outside /api");
		return;
	}
	CHECK(verb[0] != '\0', "an /api route without a verb");
	if ((ve = verb_find(verb)) == NULL ||
	    http_parse_query(qs, &q, why, sizeof why) == -1)
		return;
	if ((req = http_api_request(ve, name, &q, why, sizeof why)) == NULL) {
		CHECK(why[0] != '\0', "a refusal without a reason");
		return;
	}
	CHECK(json_is_object(req), "request not an object");
	CHECK(strcmp(json_string_value(json_object_get(req, "cmd")),
	    ve->name) == 0, "request for another verb");
	json_object_foreach(req, key, v) {
		CHECK(strcmp(key, "cmd") == 0 || http_verb_takes(ve, key),
		    "a key the verb does not take");
	}
	json_decref(req);
}

static void
fuzz_query(const char *s)
{
	struct http_query	q;
	char			why[256];
	size_t			i, j;

	if (http_parse_query(s, &q, why, sizeof why) == -1) {
		CHECK(why[0] != '\0', "a refusal without a reason");
		return;
	}
	CHECK(q.n <= HTTP_QUERY_MAX, "too many pairs");
	for (i = 0; i < q.n; i++) {
		CHECK(memchr(q.key[i], '\0', sizeof q.key[i]) != NULL &&
		    memchr(q.value[i], '\0', sizeof q.value[i]) != NULL,
		    "unterminated");
		CHECK(q.key[i][0] != '\0', "empty key");
		for (j = 0; j < i; j++)
			CHECK(strcmp(q.key[i], q.key[j]) != 0, "key twice");
		CHECK(http_query_get(&q, q.key[i]) == q.value[i],
		    "lookup finds another pair");
	}
}

static void
fuzz_topics(const char *s)
{
	char	why[256];
	int	topics;

	if (http_parse_topics(s, &topics, why, sizeof why) == 0)
		CHECK(topics != 0 && (topics & ~(TOPIC_STATE | TOPIC_CRASH |
		    TOPIC_SAMPLE)) == 0, "unknown topic bits");
	else
		CHECK(why[0] != '\0', "a refusal without a reason");
}

static void
fuzz_listen(const char *s)
{
	struct http_config	h;
	unsigned char		addr[16];
	char			why[160];

	memset(&h, 0, sizeof h);
	if (config_parse_listen(s, &h, why, sizeof why) == 0) {
		CHECK(h.port >= 1 && h.port <= 65535, "port out of range");
		CHECK(inet_pton(AF_INET, h.host, addr) == 1 ||
		    inet_pton(AF_INET6, h.host, addr) == 1, "host unreadable");
		CHECK(strcmp(h.listen, s) == 0, "listen not kept as written");
	} else
		CHECK(why[0] != '\0', "a refusal without a reason");
	free(h.listen);
	free(h.host);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, *b;
	size_t	 alen;

	if (size < 1 || size > 16384)
		return 0;
	s = xmalloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		fuzz_path(s);
		break;
	case 1:
		fuzz_query(s);
		break;
	case 2:
		fuzz_topics(s);
		break;
	case 3:
		fuzz_listen(s);
		break;
	case 4:
		alen = strlen(s);
		b = alen + 1 < size - 1 ? s + alen + 1 : s + alen;
		CHECK(http_token_equal(s, alen, b, strlen(b)) ==
		    (alen == strlen(b) && memcmp(s, b, alen) == 0),
		    "token comparison wrong");
		break;
	}
	free(s);
	return 0;
}

/*
 * test_http.c: the HTTP endpoint's own parsing (supervisor/http.c) and the
 * config's listen address, exact values: routes, query strings, the request
 * an /api path makes, topics, the token comparison. http.c belongs to the
 * daemon, so this test links the daemon's library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/http.h"
#include "supervisor/supervisor.h"

static void
test_http_routes(void **state)
{
	char	verb[64], name[128];

	assert_int_equal(http_route("/", verb, sizeof verb, name, sizeof name),
	    HTTP_ROUTE_DASHBOARD);
	assert_int_equal(http_route("/metrics", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_METRICS);
	assert_int_equal(http_route("/metrics/", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_NONE);
	assert_int_equal(http_route("/events", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_EVENTS);
	assert_int_equal(http_route("/api", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_API_INDEX);
	assert_int_equal(http_route("/api/metrics/dice%2droller", verb,
	    sizeof verb, name, sizeof name), HTTP_ROUTE_API);
	assert_string_equal(verb, "metrics");
	assert_string_equal(name, "dice-roller");
	assert_int_equal(http_route("/api/status", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_API);
	assert_string_equal(verb, "status");
	assert_string_equal(name, "");
	/* Too deep, empty, or a bad escape: nothing, and nothing kept. */
	assert_int_equal(http_route("/api/status/a/b", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_NONE);
	assert_string_equal(verb, "");
	assert_int_equal(http_route("/api/status/%zz", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_NONE);
	assert_int_equal(http_route("/api/status/", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_NONE);
	assert_int_equal(http_route("/api/%00", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_NONE);
	assert_int_equal(http_route("/apix", verb, sizeof verb, name,
	    sizeof name), HTTP_ROUTE_NONE);
}

static void
test_http_query(void **state)
{
	struct http_query	q;
	char			why[256], big[400];

	assert_int_equal(http_parse_query("window=1h&fields=a,b&x=a+b%21&&e",
	    &q, why, sizeof why), 0);
	assert_int_equal(q.n, 4);
	assert_string_equal(http_query_get(&q, "window"), "1h");
	assert_string_equal(http_query_get(&q, "fields"), "a,b");
	assert_string_equal(http_query_get(&q, "x"), "a b!");
	assert_string_equal(http_query_get(&q, "e"), "");
	assert_null(http_query_get(&q, "nope"));
	assert_int_equal(http_parse_query(NULL, &q, why, sizeof why), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(http_parse_query("a=1&a=2", &q, why, sizeof why), -1);
	assert_string_equal(why, "query parameter a given twice");
	assert_int_equal(http_parse_query("a=%4", &q, why, sizeof why), -1);
	assert_int_equal(http_parse_query("a=%00", &q, why, sizeof why), -1);
	assert_int_equal(http_parse_query("=1", &q, why, sizeof why), -1);
	assert_int_equal(http_parse_query("a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1",
	    &q, why, sizeof why), -1);
	assert_string_equal(why, "more than 8 query parameters");
	memset(big, 'v', sizeof big);
	memcpy(big, "k=", 2);
	big[258] = '\0';	/* a value of 256 bytes: the most */
	assert_int_equal(http_parse_query(big, &q, why, sizeof why), 0);
	big[258] = 'v';
	big[259] = '\0';
	assert_int_equal(http_parse_query(big, &q, why, sizeof why), -1);
}

static void
test_http_api_request(void **state)
{
	struct http_query	 q;
	json_t			*r;
	char			 why[256], *text;

	assert_true(http_verb_takes(verb_find("history"), "last"));
	assert_true(http_verb_takes(verb_find("history"), "since"));
	assert_false(http_verb_takes(verb_find("history"), "N"));
	assert_true(http_verb_takes(verb_find("status"), "fields"));
	assert_false(http_verb_takes(verb_find("tail"), "f"));
	assert_int_equal(http_parse_query("window=90&fields=x", &q, why,
	    sizeof why), 0);
	q.n = 1;
	r = http_api_request(verb_find("metrics"), "dice-roller", &q, why,
	    sizeof why);
	assert_non_null(r);
	text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"cmd\":\"metrics\",\"plugin\":"
	    "\"dice-roller\",\"window\":90}");
	free(text);
	json_decref(r);
	assert_int_equal(http_parse_query("fields=name,events.routed", &q, why,
	    sizeof why), 0);
	r = http_api_request(verb_find("status"), "", &q, why, sizeof why);
	text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"cmd\":\"status\",\"fields\":[\"name\","
	    "\"events.routed\"]}");
	free(text);
	json_decref(r);
	assert_null(http_api_request(verb_find("version"), "x", &q, why,
	    sizeof why));
	assert_string_equal(why, "version takes no plugin name");
	assert_int_equal(http_parse_query("bogus=1", &q, why, sizeof why), 0);
	assert_null(http_api_request(verb_find("tail"), "x", &q, why,
	    sizeof why));
	assert_string_equal(why, "tail takes no parameter \"bogus\" (it takes: "
	    "plugin [lines])");
}

static void
test_http_topics_and_token(void **state)
{
	char	why[256];
	int	t;

	assert_int_equal(http_parse_topics(NULL, &t, why, sizeof why), 0);
	assert_int_equal(t, TOPIC_STATE | TOPIC_CRASH | TOPIC_SAMPLE |
	    TOPIC_ALERT);
	assert_int_equal(http_parse_topics("crash", &t, why, sizeof why), 0);
	assert_int_equal(t, TOPIC_CRASH);
	assert_int_equal(http_parse_topics("state,log", &t, why, sizeof why), 0);
	assert_int_equal(t, TOPIC_STATE | TOPIC_LOG);
	assert_int_equal(http_parse_topics("state,logs", &t, why, sizeof why),
	    -1);
	assert_string_equal(why, "unknown topic \"logs\"; topics are: state, "
	    "crash, sample, alert, log");
	assert_int_equal(http_parse_topics("", &t, why, sizeof why), -1);
	assert_true(http_token_equal("abc", 3, "abc", 3));
	assert_false(http_token_equal("abd", 3, "abc", 3));
	assert_false(http_token_equal("ab", 2, "abc", 3));
	assert_false(http_token_equal("abcd", 4, "abc", 3));
	assert_false(http_token_equal("", 0, "abc", 3));
}

static void
test_http_listen(void **state)
{
	struct http_config	h;
	char			why[160];

	memset(&h, 0, sizeof h);
	assert_int_equal(config_parse_listen("127.0.0.1:8421", &h, why,
	    sizeof why), 0);
	assert_string_equal(h.host, "127.0.0.1");
	assert_int_equal(h.port, 8421);
	assert_true(h.loopback);
	assert_int_equal(config_parse_listen("127.8.0.2:1", &h, why,
	    sizeof why), 0);
	assert_true(h.loopback);
	assert_int_equal(config_parse_listen("[::1]:65535", &h, why,
	    sizeof why), 0);
	assert_string_equal(h.host, "::1");
	assert_true(h.loopback);
	assert_int_equal(config_parse_listen("10.0.0.1:80", &h, why,
	    sizeof why), 0);
	assert_false(h.loopback);
	assert_int_equal(config_parse_listen("[::]:80", &h, why, sizeof why),
	    0);
	assert_false(h.loopback);
	assert_int_equal(config_parse_listen("::1:80", &h, why, sizeof why),
	    -1);
	assert_int_equal(config_parse_listen("127.0.0.1:65536", &h, why,
	    sizeof why), -1);
	assert_int_equal(config_parse_listen("127.0.0.1:+80", &h, why,
	    sizeof why), -1);
	assert_int_equal(config_parse_listen("localhost:80", &h, why,
	    sizeof why), -1);
	assert_string_equal(why, "the part before the port is not a numeric "
	    "IPv4 address");
	free(h.listen);
	free(h.host);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_routes),
		cmocka_unit_test(test_http_query),
		cmocka_unit_test(test_http_api_request),
		cmocka_unit_test(test_http_topics_and_token),
		cmocka_unit_test(test_http_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

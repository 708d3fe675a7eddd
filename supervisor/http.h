/*
 * http.h: the HTTP endpoint's request parsing (http.c), apart from evhttp
 * so the fuzz target and the unit tests reach it, and its pages.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#include <jansson.h>

struct verb;
struct evhttp_request;
struct jsonw;

/* Query parameters: at most this many, each key and value bounded. */
#define HTTP_QUERY_MAX		8
struct http_query {
	size_t	n;
	char	key[HTTP_QUERY_MAX][33];
	char	value[HTTP_QUERY_MAX][257];
};

enum http_route {
	HTTP_ROUTE_NONE,
	HTTP_ROUTE_DASHBOARD,
	HTTP_ROUTE_METRICS,
	HTTP_ROUTE_EVENTS,
	HTTP_ROUTE_HEALTHZ,
	HTTP_ROUTE_READYZ,
	HTTP_ROUTE_API_INDEX,
	HTTP_ROUTE_API,
};

int	 http_parse_query(const char *, struct http_query *, char *, size_t);
const char *http_query_get(const struct http_query *, const char *);
enum http_route http_route(const char *path, char *verb, size_t,
	     char *name, size_t);
int	 http_verb_takes(const struct verb *, const char *key);
json_t	*http_api_request(const struct verb *, const char *name,
	     const struct http_query *, char *why, size_t);
int	 http_parse_topics(const char *, int *, char *, size_t);
int	 http_token_equal(const char *, size_t, const char *, size_t);

struct evbuffer;
void	 http_send(struct evhttp_request *, int, const char *,
	     struct evbuffer *);

/* http-metrics.c: the Prometheus exposition. */
void	 http_metrics_write(struct jsonw *);
void	 http_metrics(struct evhttp_request *);

#endif

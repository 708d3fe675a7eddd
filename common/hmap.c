/* hmap.c: chained hash map with FNV-1a hashing and doubling growth. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/hmap.h"

struct hmap_entry {
	struct hmap_entry	*next;
	uint64_t		 hash;
	size_t			 len;
	void			*value;
	unsigned char		 key[];
};

struct hmap {
	struct hmap_entry	**buckets;
	size_t			  nbuckets;	/* a power of two */
	size_t			  count;
};

static uint64_t
hmap_hash(const void *key, size_t len)
{
	const unsigned char	*p = key;
	uint64_t		 h = 0xcbf29ce484222325ULL;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct hmap *
hmap_new(void)
{
	struct hmap	*m = xcalloc(1, sizeof *m);

	m->nbuckets = 16;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	return m;
}

void
hmap_free(struct hmap *m)
{
	hmap_free_with(m, NULL);
}

void
hmap_free_with(struct hmap *m, void (*release)(void *))
{
	struct hmap_entry	*e, *next;
	size_t			 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			if (release != NULL)
				release(e->value);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

/* Double the bucket array once the load factor passes 1. */
static void
hmap_grow(struct hmap *m)
{
	struct hmap_entry	**nb, *e, *next;
	size_t			  n = m->nbuckets * 2, i;

	nb = xcalloc(n, sizeof *nb);
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

static struct hmap_entry **
hmap_find(const struct hmap *m, const void *key, size_t len, uint64_t h)
{
	struct hmap_entry	**ep = &m->buckets[h & (m->nbuckets - 1)];

	for (; *ep != NULL; ep = &(*ep)->next) {
		if ((*ep)->hash == h && (*ep)->len == len &&
		    memcmp((*ep)->key, key, len) == 0)
			break;
	}
	return ep;
}

void *
hmap_put(struct hmap *m, const void *key, size_t len, void *value)
{
	uint64_t		  h = hmap_hash(key, len);
	struct hmap_entry	**ep = hmap_find(m, key, len, h), *e;
	void			 *old;

	if (*ep != NULL) {
		old = (*ep)->value;
		(*ep)->value = value;
		return old;
	}
	if (m->count >= m->nbuckets) {
		hmap_grow(m);
		ep = hmap_find(m, key, len, h);
	}
	e = xmalloc(sizeof *e + (len == 0 ? 1 : len));
	e->next = NULL;
	e->hash = h;
	e->len = len;
	e->value = value;
	memcpy(e->key, key, len);
	*ep = e;
	m->count++;
	return NULL;
}

void *
hmap_get(const struct hmap *m, const void *key, size_t len)
{
	struct hmap_entry	**ep = hmap_find(m, key, len, hmap_hash(key, len));

	return *ep != NULL ? (*ep)->value : NULL;
}

void *
hmap_del(struct hmap *m, const void *key, size_t len)
{
	struct hmap_entry	**ep = hmap_find(m, key, len, hmap_hash(key, len));
	struct hmap_entry	 *e = *ep;
	void			 *value;

	if (e == NULL)
		return NULL;
	*ep = e->next;
	value = e->value;
	free(e);
	m->count--;
	return value;
}

size_t
hmap_count(const struct hmap *m)
{
	return m->count;
}

void *
hmap_sput(struct hmap *m, const char *key, void *value)
{
	return hmap_put(m, key, strlen(key), value);
}

void *
hmap_sget(const struct hmap *m, const char *key)
{
	return hmap_get(m, key, strlen(key));
}

void *
hmap_sdel(struct hmap *m, const char *key)
{
	return hmap_del(m, key, strlen(key));
}

void *
hmap_iput(struct hmap *m, uint64_t key, void *value)
{
	return hmap_put(m, &key, sizeof key, value);
}

void *
hmap_iget(const struct hmap *m, uint64_t key)
{
	return hmap_get(m, &key, sizeof key);
}

void *
hmap_idel(struct hmap *m, uint64_t key)
{
	return hmap_del(m, &key, sizeof key);
}

/*
 * hmap.h: a small chained hash map from byte-string keys to pointers.
 * Used for lookups by plugin name, pid, command word and event id, so no
 * hot path scans a list. Keys are copied; values are not owned.
 */
#ifndef HMAP_H
#define HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap;

struct hmap	*hmap_new(void);
void		 hmap_free(struct hmap *);
/* Free the map and pass every value to release. */
void		 hmap_free_with(struct hmap *, void (*release)(void *));
/* Insert or replace; returns the previous value or NULL. */
void		*hmap_put(struct hmap *, const void *key, size_t len, void *value);
void		*hmap_get(const struct hmap *, const void *key, size_t len);
/* Remove; returns the removed value or NULL. */
void		*hmap_del(struct hmap *, const void *key, size_t len);
size_t		 hmap_count(const struct hmap *);

/* Convenience wrappers for NUL-terminated and integer keys. */
void		*hmap_sput(struct hmap *, const char *, void *);
void		*hmap_sget(const struct hmap *, const char *);
void		*hmap_sdel(struct hmap *, const char *);
void		*hmap_iput(struct hmap *, uint64_t, void *);
void		*hmap_iget(const struct hmap *, uint64_t);
void		*hmap_idel(struct hmap *, uint64_t);

#endif

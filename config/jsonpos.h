/*
 * jsonpos.h: find where a value sits in JSON text, by path.
 *
 * jansson forgets positions once a document is parsed, but a config error
 * must name the line and column of the offending value. This is a tiny
 * tokenizer that walks the raw text again along a path of object keys and
 * array indexes. It is private to config/ and only ever runs over text that
 * jansson has already accepted; on text it does not understand it degrades
 * to the deepest position it reached, never fails.
 */
#ifndef JSONPOS_H
#define JSONPOS_H

#include <stddef.h>

/* One step of a path: an object key, or (key == NULL) an array index. */
struct jsonpos_step {
	const char	*key;
	size_t		 index;
};

/* A position: line and column both count from 1, columns in characters. */
struct jsonpos {
	size_t	line;
	size_t	column;
};

/*
 * Locate the value at path (or, with want_key, the key naming the last
 * step, which must then be an object key). An empty path is the root.
 */
void	jsonpos_find(const char *text, size_t len,
	    const struct jsonpos_step *path, size_t npath, int want_key,
	    struct jsonpos *out);

#endif

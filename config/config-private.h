/*
 * config-private.h: what the files of config/ share; private to config/
 * (config.h is the module's interface).
 *
 * A load is three steps. config.c reads the file; parse.c checks the text
 * alone (JSON, keys, types, ranges, cross checks) and touches no file
 * system; resolve.c looks at the file system: the config's directory, the
 * socket path made absolute and fitting a socket address, each plugin's
 * executable. Errors of every step read "FILE:LINE:COL: JSON.PATH: what";
 * resolution finds its positions in the text the parse kept with the
 * config (struct config_source), so it needs no JSON tree.
 */
#ifndef CONFIG_PRIVATE_H
#define CONFIG_PRIVATE_H

#include <stddef.h>

#include <jansson.h>

#include "common/common.h"
#include "config/config.h"
#include "config/jsonpos.h"

/* Deepest path an error can name: plugins[i].restart.key is four steps. */
#define CONFIG_PATH_DEPTH	8
/* Characters of a user's string quoted in an error line. */
#define CONFIG_QUOTE_CHARS	48
#define CONFIG_QUOTE_SIZE	(CONFIG_QUOTE_CHARS * 6 + 8)

/* The text a config was parsed from, kept until it is resolved. */
struct config_source {
	char		*origin;	/* names the text in errors */
	char		*text;		/* a copy, for error positions */
	size_t		 len;
	int		 socket_given;	/* the text has a "socket" key */
	char		*base_dir;	/* as written, or NULL */
	int		 from_file;	/* a file's: base_dir applies */
};

/* What a parse reads: the whole document, or only what names the socket. */
enum config_part { CONFIG_PART_ALL, CONFIG_PART_SOCKET };

/* Where an error points: the value at the path, its key, or its parent. */
enum config_where { AT_VALUE, AT_KEY, AT_PARENT };

/* State of one parse or resolution: the text and the current JSON path. */
struct config_ctx {
	const char		*origin;
	const char		*text;
	size_t			 len;
	struct config		*cf;
	struct jsonpos_step	 path[CONFIG_PATH_DEPTH];
	size_t			 depth;
	char			*cause;
};

/* parse.c: the text alone, no file system. */
int	 config_parse_text(const char *, size_t, const char *, enum config_part,
	     struct config **, char **);
int	 config_error(struct config_ctx *, enum config_where, const char *,
	     ...) printflike(3, 4);
void	 config_push_key(struct config_ctx *, const char *);
void	 config_push_index(struct config_ctx *, size_t);
void	 config_pop(struct config_ctx *);
void	 config_append(char *, size_t, size_t *, const char *, ...)
	     printflike(4, 5);
void	 config_quote(const char *, char *, size_t);

/* resolve.c: the file system. */
char	*config_base_dir(const char *, const char *, char **);
int	 config_resolve_paths(struct config *, char *, char **);
int	 config_resolve_execs(struct config *, const char *, char **);

/* config.c */
void	 config_free_vector(char **);

#endif

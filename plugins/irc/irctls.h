/*
 * irctls.h: TLS for the IRC connector (OpenSSL's libssl), on a
 * non-blocking socket the connector's poll loop watches.
 *
 * Every call returns at once: IRC_TLS_WANT_READ or IRC_TLS_WANT_WRITE say
 * what the socket must become before the same call is made again.
 */
#ifndef IRCTLS_H
#define IRCTLS_H

#include <sys/types.h>

#include <stddef.h>

#define IRC_TLS_WANT_READ	(-2)
#define IRC_TLS_WANT_WRITE	(-3)

/* The connector's tls_* configuration. */
struct irc_tls_config {
	int		 verify;	/* check chain and name */
	const char	*ca_file;	/* NULL: the system store */
	const char	*cert_file;	/* client certificate, or NULL */
	const char	*key_file;	/* its key (NULL: in cert_file) */
	const char	*server_name;	/* the name the certificate must have */
};

struct irc_tls;

struct irc_tls	*irc_tls_new(const struct irc_tls_config *, int, char **);
int		 irc_tls_handshake(struct irc_tls *, char **);
ssize_t		 irc_tls_read(struct irc_tls *, void *, size_t, char **);
ssize_t		 irc_tls_write(struct irc_tls *, const void *, size_t, char **);
int		 irc_tls_pending(struct irc_tls *);
const char	*irc_tls_describe(struct irc_tls *);
void		 irc_tls_close(struct irc_tls *);
int		 irc_tls_cert_fingerprint(const char *, char *, size_t, char **);

#endif

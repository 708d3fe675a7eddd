/*
 * ircsasl.h: IRCv3 capability negotiation and SASL, without network I/O
 * (IRCv3 "capability-negotiation" 302 and "sasl-3.1"/"sasl-3.2").
 *
 * irc_cap_* read the server's CAP replies and choose what to request;
 * irc_sasl_* make the AUTHENTICATE payloads (PLAIN, EXTERNAL), cut them
 * into 400-byte chunks, put the server's chunks back together and sort its
 * 900-908 numerics. irc_secret_read reads a password file with bounds.
 */
#ifndef IRCSASL_H
#define IRCSASL_H

#include <stddef.h>

struct irc_msg;

/* The capabilities the connector knows, as bits. */
#define IRC_CAP_SASL		0x01
#define IRC_CAP_MULTI_PREFIX	0x02
#define IRC_CAP_MESSAGE_TAGS	0x04
#define IRC_CAP_SERVER_TIME	0x08

/*
 * The value of "sasl=" kept from CAP LS: the mechanisms the server offers.
 * Real servers list a handful (Libera: PLAIN,ECDSA-NIST256P-CHALLENGE,
 * EXTERNAL,SCRAM-SHA-512); 256 bytes is room for 20 such names.
 */
#define IRC_SASL_MECHS_MAX	256

/* One AUTHENTICATE parameter carries at most this many bytes (sasl-3.1). */
#define IRC_SASL_CHUNK		400

/*
 * The longest SASL message accepted from the server, decoded. PLAIN and
 * EXTERNAL need an empty one; 4 KB leaves room for a challenge of the
 * mechanisms real servers offer, and bounds what a server can make us keep.
 */
#define IRC_SASL_MAX_IN		4096

/* PLAIN's user and password: bounds on what is put into one payload. */
#define IRC_SASL_MAX_USER	255
#define IRC_SASL_MAX_PASSWORD	510

/* Base64 of the longest PLAIN payload (user, user, password, 2 NULs). */
#define IRC_SASL_MAX_OUT	(4 * ((2 * IRC_SASL_MAX_USER + \
				    IRC_SASL_MAX_PASSWORD + 2 + 2) / 3) + 1)

/* A password file larger than this is not a password file. */
#define IRC_SECRET_MAX_FILE	4096

/* What the server offered in CAP LS (one or several lines). */
struct irc_caps {
	unsigned	offered;		/* IRC_CAP_* */
	char		sasl_mechs[IRC_SASL_MECHS_MAX]; /* "" if not said */
	int		ls_done;		/* the last LS line came */
};

/* A CAP message's parts. */
struct irc_cap_msg {
	const char	*sub;		/* LS, ACK, NAK, NEW, DEL, LIST */
	const char	*list;		/* the space-separated capabilities */
	int		 more;		/* "*" before the list: more lines */
};

/* The server's chunked AUTHENTICATE data being put back together. */
struct irc_sasl_in {
	char		b64[4 * (IRC_SASL_MAX_IN / 3) + 4 + 1];
	size_t		len;
};

/* A SASL numeric's meaning. */
enum irc_sasl_reply {
	IRC_SASL_NONE,		/* not a SASL numeric */
	IRC_SASL_LOGGEDIN,	/* 900: an account is set (info) */
	IRC_SASL_LOGGEDOUT,	/* 901 (info) */
	IRC_SASL_SUCCESS,	/* 903, and 907 (already logged in) */
	IRC_SASL_FAILURE,	/* 902, 904, 905, 906 */
	IRC_SASL_MECHS		/* 908: the mechanisms, a failure follows */
};

int	 irc_cap_parse(const struct irc_msg *, struct irc_cap_msg *,
	     const char **);
unsigned irc_cap_bit(const char *, size_t);
unsigned irc_cap_ls(struct irc_caps *, const char *);
unsigned irc_cap_list(const char *);
size_t	 irc_cap_req(unsigned, char *, size_t);
int	 irc_sasl_mech_offered(const char *, const char *);
int	 irc_base64_encode(const void *, size_t, char *, size_t);
int	 irc_base64_decode(const char *, size_t, void *, size_t);
int	 irc_sasl_plain(const char *, const char *, char *, size_t,
	     const char **);
typedef void	(*irc_chunk_cb)(const char *chunk, void *arg);
int	 irc_sasl_chunks(const char *, irc_chunk_cb, void *);
int	 irc_sasl_input(struct irc_sasl_in *, const char *, const char **);
enum irc_sasl_reply irc_sasl_numeric(int);
int	 irc_secret_read(const char *, char *, size_t, int *, const char **);

#endif

/* proto.h: the protocol hooks. Each protocol knows how a reply ends and validates its grammar;
   parsers are pure (no sockets) so fuzz targets and unit tests drive them directly. */
#ifndef MH_PROTO_H
#define MH_PROTO_H

#include "reply.h"

/* Caps on what a server may send; exceeding one is an ERROR (harness protection), not a FAIL. */
struct mh_limits {
	size_t max_line;  /* longest line, CRLF excluded (default 65536) */
	size_t max_reply; /* whole reply including literals and bodies (default 16 MiB) */
	size_t max_lines; /* lines (SMTP, POP3 body) or responses (IMAP) per reply (default 200000) */
};
void mh_limits_default(struct mh_limits *lim);

enum mh_expect_kind {
	MH_EXPECT_GREETING, /* the first reply of a connection */
	MH_EXPECT_REPLY,    /* the reply to a command */
	MH_EXPECT_ONE,      /* IMAP: exactly one response of any kind (untagged, tagged or "+"), e.g. IDLE */
};

/* What the engine expects next; set before each reply. */
struct mh_expect {
	enum mh_expect_kind kind;
	char tag[64];   /* IMAP: the tag whose tagged response completes the reply; "" = any tag */
	bool multiline; /* POP3: a +OK status line opens a dot-terminated multi-line body */
	bool sasl;      /* POP3: a "+ ..." continuation (RFC 5034 SASL challenge) is a valid reply */
};

/* Resumable parser state: feed it the growing buffer of unconsumed bytes; it scans only what is new. */
struct mh_parser {
	enum mh_proto_id proto;
	struct mh_limits lim;
	struct mh_expect expect;
	/* private to proto_*.c */
	size_t pos;            /* next byte to scan, relative to the reply start */
	size_t line_start;     /* start of the line / response being scanned */
	int st;                /* protocol-specific sub-state */
	uint64_t literal_left; /* IMAP: literal bytes still to skip */
	int first_code;        /* SMTP: code of the first line */
	bool seen_status;      /* POP3: status line done, now in the body */
};

/* Prepares p for a protocol with the given limits (NULL = defaults). */
void mh_parser_init(struct mh_parser *p, enum mh_proto_id proto, const struct mh_limits *lim);
/* Sets what the next reply is and resets the scan state. */
void mh_parser_expect(struct mh_parser *p, const struct mh_expect *e);
/*
 * Scans buf[0..len), which starts at the first byte of the current reply and holds every byte
 * received since (the same prefix as the previous call, plus more). Returns:
 *   1  a complete reply: r is filled (raw = buf[0..*consumed_r)), *consumed_r its length;
 *   0  more bytes are needed;
 *  -1  a cap was exceeded or the bytes cannot be framed at all; err says why.
 * Grammar violations that still let the reply be framed are recorded in r->syntax, not errors.
 * r is reset at the start of each reply by the caller (mh_reply_reset) and only written on 1.
 */
int mh_parser_feed(struct mh_parser *p, const unsigned char *buf, size_t len, struct mh_reply *r,
		   size_t *consumed_r, struct mh_error *err);

/* Per-protocol implementations behind mh_parser_feed (proto_smtp.c, proto_imap.c, proto_pop3.c). */
int mh_proto_smtp_feed(struct mh_parser *p, const unsigned char *buf, size_t len, struct mh_reply *r,
		       size_t *consumed_r, struct mh_error *err);
int mh_proto_imap_feed(struct mh_parser *p, const unsigned char *buf, size_t len, struct mh_reply *r,
		       size_t *consumed_r, struct mh_error *err);
int mh_proto_pop3_feed(struct mh_parser *p, const unsigned char *buf, size_t len, struct mh_reply *r,
		       size_t *consumed_r, struct mh_error *err);

/* Capabilities parsed out of replies (EHLO lines, IMAP CAPABILITY / [CAPABILITY ...], POP3 CAPA). */
#define MH_CAPS_MAX 128
struct mh_caps {
	size_t n;
	char *name[MH_CAPS_MAX];  /* upper-cased keyword: "SIZE", "AUTH", "IMAP4REV1", "AUTH=PLAIN", "SASL" */
	char *value[MH_CAPS_MAX]; /* the rest of the line after the keyword ("1048576", "PLAIN LOGIN"), or "" */
};
void mh_caps_init(struct mh_caps *c);
void mh_caps_deinit(struct mh_caps *c);
void mh_caps_clear(struct mh_caps *c);
/* Replaces c with the capabilities announced in r, if r announces any (SMTP EHLO 250 reply, IMAP
   untagged CAPABILITY or a [CAPABILITY ...] response code, POP3 CAPA +OK body). Returns 1 if it did, else 0. */
int mh_caps_from_reply(struct mh_caps *c, const struct mh_reply *r);
/* Returns the value of capability name (case-insensitive), or NULL if absent. */
const char *mh_caps_get(const struct mh_caps *c, const char *name);
bool mh_caps_has(const struct mh_caps *c, const char *name);

#endif

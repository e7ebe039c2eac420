/* proto.h: the protocol hooks. Each protocol knows how a reply ends and validates its grammar;
   parsers are pure (no sockets) so fuzz targets and unit tests drive them directly. */
#ifndef MH_PROTO_H
#define MH_PROTO_H

#include "reply.h"

/* Caps on what a server may send; exceeding one is an ERROR (harness protection), not a FAIL. */
struct mh_limits {
	size_t max_line;  /* longest line, CRLF excluded (default 65536) */
	size_t max_reply; /* whole reply including literals and bodies (default 16 MiB) */
	size_t
	    max_lines; /* lines (SMTP, POP3 body) or responses (IMAP) per reply (default 200000) */
};
void mh_limits_default(struct mh_limits *lim);

enum mh_expect_kind {
	MH_EXPECT_GREETING, /* the first reply of a connection */
	MH_EXPECT_REPLY,    /* the reply to a command */
	MH_EXPECT_ONE, /* IMAP: exactly one response of any kind (untagged, tagged or "+"), e.g.
	                  IDLE */
};

/* What the engine expects next; set before each reply. */
struct mh_expect {
	enum mh_expect_kind kind;
	char tag[64];   /* IMAP: the tag whose tagged response completes the reply; "" = any tag */
	bool multiline; /* POP3: a +OK status line opens a dot-terminated multi-line body */
	bool sasl; /* POP3: a "+ ..." continuation (RFC 5034 SASL challenge) is a valid reply */
};

/* Resumable parser state: feed it the growing buffer of unconsumed bytes; it scans only what is
 * new. */
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
	size_t resp_start;     /* IMAP: start of the response being scanned */
	size_t count;          /* lines (SMTP, POP3 body) or responses (IMAP) completed so far */
};

/* Prepares p for a protocol with the given limits (NULL = defaults; a zero field = its default).
   The first reply expected is MH_EXPECT_GREETING. */
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
 * After 1 the scan state is rewound (same expect): the caller drops *consumed_r bytes, feeds on.
 *
 * What lands in r, per protocol:
 *  SMTP  lines = every line whole (code and separator included, CRLF excluded); code/status
 *        from the first line; text = the last line after "250 " / "250-"; enhanced = an X.Y.Z at
 *        the start of that text (parsed loosely, judged by mh_smtp_enhanced_valid). A line
 *        without a 3-digit code ends the reply (syntax error; as the first line: code 0,
 *        status "", PERMFAIL). Codes outside Reply-code are syntax errors; first digit not 2-5
 *        gives class PERMFAIL.
 *  IMAP  lines = each response whole, literals included. REPLY ends at a "+" or at any tagged
 *        response: one whose tag differs from expect.tag still ends it, with a syntax error (a
 *        server that answers with the wrong tag is judged, not waited on until timeout). Untagged
 *        BYE does not end a REPLY. ONE: an untagged response is cls UNTAGGED / status "*", except
 *        untagged BYE, which is cls BYE / status "BYE". An unrecognized status atom gives
 *        cls BAD / status "". resp_code is truncated to fit.
 *  POP3  lines = the status line only; body = the un-byte-stuffed body lines, each followed by
 *        CRLF (bare LF normalized), the "." terminator excluded. A lower-case "+ok"/"-err" is a
 *        syntax error but classified (and opens a body) as if upper-case. A status line that is
 *        neither +OK, -ERR nor (with expect.sasl) "+ ..." is one line, cls PERMFAIL, status "".
 *        Only MH_EXPECT_REPLY / MH_EXPECT_ONE with expect.multiline read a body.
 * max_lines counts SMTP lines, IMAP responses and POP3 body lines (status line, "." excluded).
 */
int mh_parser_feed(struct mh_parser *p, const unsigned char *buf, size_t len, struct mh_reply *r,
                   size_t *consumed_r, struct mh_error *err);

/* Per-protocol implementations behind mh_parser_feed (proto_smtp.c, proto_imap.c, proto_pop3.c). */
int mh_proto_smtp_feed(struct mh_parser *p, const unsigned char *buf, size_t len,
                       struct mh_reply *r, size_t *consumed_r, struct mh_error *err);
int mh_proto_imap_feed(struct mh_parser *p, const unsigned char *buf, size_t len,
                       struct mh_reply *r, size_t *consumed_r, struct mh_error *err);
int mh_proto_pop3_feed(struct mh_parser *p, const unsigned char *buf, size_t len,
                       struct mh_reply *r, size_t *consumed_r, struct mh_error *err);

/* Shared by proto_*.c only. Finds the LF ending the line that starts at p->line_start, scanning
   from p->pos and enforcing lim.max_line / lim.max_reply. Returns 1 (*lf_r set; the caller moves
   p->pos), 0 (need more; p->pos advanced) or -1 (a cap was exceeded; err). */
int mh_proto_next_line(struct mh_parser *p, const unsigned char *buf, size_t len, size_t *lf_r,
                       struct mh_error *err);
/* Shared by proto_*.c only. Counts one completed line / response against lim.max_lines: 0 / -1. */
int mh_proto_count_line(struct mh_parser *p, struct mh_error *err);
/* Shared by proto_*.c only. Resets r for proto and copies the reply's n bytes into r->raw. */
void mh_proto_reply_begin(struct mh_reply *r, enum mh_proto_id proto, const unsigned char *buf,
                          size_t n);

/* True if enh is what RFC 2034 sec 4 requires on a reply with this code once ENHANCEDSTATUSCODES
   is advertised: a status-code (RFC 3463 sec 2: class 2/4/5, 1-3 digit subject and detail, no
   leading zeros) whose class equals the code's first digit. 3xx replies need none: "" is valid,
   and a present one must only be well-formed. The caller exempts the greeting and HELO/EHLO
   replies. */
bool mh_smtp_enhanced_valid(const char *enh, int code);

/* Capabilities parsed out of replies (EHLO lines, IMAP CAPABILITY / [CAPABILITY ...], POP3 CAPA).
 */
#define MH_CAPS_MAX 128
struct mh_caps {
	size_t n;
	char *name[MH_CAPS_MAX];  /* upper-cased keyword: "SIZE", "AUTH", "IMAP4REV1", "AUTH=PLAIN",
	                             "SASL" */
	char *value[MH_CAPS_MAX]; /* the rest of the line after the keyword ("1048576", "PLAIN
	                             LOGIN"), or "" */
};
void mh_caps_init(struct mh_caps *c);
void mh_caps_deinit(struct mh_caps *c);
void mh_caps_clear(struct mh_caps *c);
/* Replaces c with the capabilities announced in r, if r announces any (SMTP EHLO 250 reply, IMAP
   untagged CAPABILITY or a [CAPABILITY ...] response code, POP3 CAPA +OK body). Returns 1 if it
   did, else 0. SMTP takes any multi-line 250 reply and POP3 any +OK multi-line body, so the
   caller passes only EHLO / CAPA replies (a one-line EHLO reply announces nothing: the caller
   clears c itself). IMAP announcements are recognized in any reply; the last one in r wins.
   Names are upper-cased. */
int mh_caps_from_reply(struct mh_caps *c, const struct mh_reply *r);
/* Returns the value of capability name (case-insensitive), or NULL if absent. */
const char *mh_caps_get(const struct mh_caps *c, const char *name);
bool mh_caps_has(const struct mh_caps *c, const char *name);

#endif

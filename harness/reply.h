/* reply.h: one parsed server reply, the shape every protocol hook produces and everything
   downstream (spec engine, Lua, reports) reads. */
#ifndef MH_REPLY_H
#define MH_REPLY_H

#include "util.h"

enum mh_proto_id { MH_PROTO_SMTP, MH_PROTO_IMAP, MH_PROTO_POP3, MH_PROTO_COUNT };

/* Reply classes, protocol-neutral (OpenSMTPD judges classes, not codes). */
enum mh_reply_class {
	MH_RC_NONE,     /* nothing parsed */
	MH_RC_OK,       /* SMTP 2xx, IMAP tagged OK / greeting OK, POP3 +OK */
	MH_RC_CONTINUE, /* SMTP 3xx, IMAP "+", POP3 SASL "+ " */
	MH_RC_TEMPFAIL, /* SMTP 4xx */
	MH_RC_PERMFAIL, /* SMTP 5xx, POP3 -ERR */
	MH_RC_NO,       /* IMAP NO */
	MH_RC_BAD,      /* IMAP BAD */
	MH_RC_BYE,      /* IMAP untagged BYE that ends the reply (greeting BYE, server shutdown) */
	MH_RC_PREAUTH,  /* IMAP greeting PREAUTH */
	MH_RC_UNTAGGED, /* IMAP: a single untagged response read on its own (IDLE) */
	MH_RC_COUNT
};

/* A syntax problem in a reply: a FAIL citing the grammar's section, never a crash. */
struct mh_syntax_error {
	char msg[200];
	char rfc[48]; /* e.g. "RFC 5321 4.2" */
	int level;    /* enum mh_level (spec.h): MH_LEVEL_MUST unless mh_reply_syntax_level said */
};
#define MH_REPLY_MAX_SYNTAX 8

/* One line (SMTP), one whole response including its literals (IMAP), or the status line (POP3).
   off/len index into reply.raw; text excludes the trailing CRLF. */
struct mh_reply_line {
	size_t off;
	size_t len;
};

struct mh_reply {
	enum mh_proto_id proto;
	enum mh_reply_class cls;
	/* The token the spec tables match against: "250", "OK", "NO", "BAD", "BYE", "PREAUTH", "+",
	   "+OK", "-ERR", "*" (a lone untagged response). */
	char status[12];
	int code;            /* SMTP reply code, else 0 */
	char enhanced[16];   /* SMTP enhanced status "X.Y.Z" of the last line, if present */
	char tag[64];        /* IMAP tag of the tagged completion ("" otherwise) */
	char resp_code[256]; /* IMAP response code inside [...] of the final line, without brackets;
	                        POP3 extended response code (RFC 2449) likewise */
	struct mh_buf raw;   /* the reply's bytes exactly as received */
	struct mh_reply_line *lines; /* SMTP: each line; IMAP: each response (untagged ones first,
	                                then the tagged/continuation one); POP3: the status line */
	size_t nlines;
	size_t lines_cap;
	struct mh_buf
	    text; /* human text of the final line (after code / tag / status / resp code) */
	struct mh_buf body; /* POP3 multi-line: the un-byte-stuffed body without the final ".";
	                       IMAP: unused */
	bool multiline;     /* POP3: the reply was read as a multi-line reply */
	struct mh_syntax_error syntax[MH_REPLY_MAX_SYNTAX];
	size_t nsyntax;
};

void mh_reply_init(struct mh_reply *r, enum mh_proto_id proto);
void mh_reply_deinit(struct mh_reply *r);
/* Empties r for reuse, keeping its allocations. */
void mh_reply_reset(struct mh_reply *r);
void mh_reply_add_line(struct mh_reply *r, size_t off, size_t len);
/* Records a grammar violation (first MH_REPLY_MAX_SYNTAX kept), at level MUST. */
void mh_reply_syntax(struct mh_reply *r, const char *rfc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same at another level (an enum mh_level), for limits the RFC states without MUST. */
void mh_reply_syntax_level(struct mh_reply *r, int level, const char *rfc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Line i's bytes and length (text without CRLF). */
const unsigned char *mh_reply_line_data(const struct mh_reply *r, size_t i, size_t *len_r);
const char *mh_reply_class_name(enum mh_reply_class c);
const char *mh_proto_name(enum mh_proto_id p);
int mh_proto_from_name(const char *name); /* -1 if unknown */

#endif

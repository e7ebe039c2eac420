/* mutate_int.h: internals shared by the mutator's files (mutate*.c); not a public interface. */
#ifndef MH_MUTATE_INT_H
#define MH_MUTATE_INT_H

#include "mutate.h"

/* SENDs a mutation may grow a dialogue to: leaves room for one REPLY record after each. */
#define MUT_MAX_SENDS   (MH_DLG_MAX_MSGS / 2)
#define MUT_MAX_STACK   16u
#define MUT_DESC_MAX    512
#define MUT_KEEP_BUFFER (64u << 10) /* buffers above this are freed between mutations */
#define MUT_KEEP_SLOTS  256         /* and so are those of slots past this one */

/* ---- the working copy ---- */

/* One SEND of the working copy, with what followed it in the source dialogue. */
struct mut_send {
	unsigned char *data; /* owned; cap bytes allocated */
	size_t len, cap;
	uint32_t st_off, st_n; /* statuses of the REPLY records that followed it (pool slice) */
	bool tls_after;        /* a "tls" record followed it */
};

/* What a mutation edits: the SENDs only. REPLY and TLS records are derived from the bytes when
   the result is written out (mut_emit), by the rules at the top of mutate_scan.c. Slots n..cap-1
   keep their buffers for reuse, so a mutator in steady state does not allocate. */
struct mut_work {
	enum mh_proto_id proto;
	struct mut_send *s;
	size_t n, cap;
	size_t hw;      /* slots 0..hw-1 may hold buffers */
	size_t bytes;   /* total SEND bytes */
	char (*st)[12]; /* status pool */
	size_t nst, stcap;
};

void mut_work_init(struct mut_work *w, enum mh_proto_id proto);
void mut_work_deinit(struct mut_work *w);
void mut_work_clear(struct mut_work *w);
/* Copies the SENDs of d (with the statuses and TLS records that follow each). */
void mut_work_load(struct mut_work *w, const struct mh_dialogue *d);
/* Splits raw client bytes into SENDs at the scanner's events (line ends, payload ends). Bytes
   past max_sends SENDs go into the last one. */
void mut_work_from_stream(struct mut_work *w, const unsigned char *buf, size_t len,
                          size_t max_sends);
/* Inserts a SEND at i (0..n) with a copy of data. 0, or -1 when n is at MUT_MAX_SENDS. */
int mut_work_insert(struct mut_work *w, size_t i, const void *data, size_t len);
void mut_work_remove(struct mut_work *w, size_t i);
/* Inserts times copies of SEND i right after it. 0, or -1 past MUT_MAX_SENDS. */
int mut_work_repeat(struct mut_work *w, size_t i, size_t times);
/* Replaces del bytes at off of SEND i with ins (ins must not point into SEND i). */
void mut_work_edit(struct mut_work *w, size_t i, size_t off, size_t del, const void *ins,
                   size_t inslen);
/* Writes the dialogue form with consistent REPLY and TLS records into out (cleared first); dry
   (out NULL) only computes. Returns the record index (in the emitted numbering) of the first
   SEND after which replies may be out of step, or SIZE_MAX. */
size_t mut_emit(const struct mut_work *w, struct mh_dialogue *out);

/* ---- the reply rules (mutate_scan.c) ---- */

enum mut_ev {
	MUT_EV_NONE,  /* the bytes ran out inside a line or payload */
	MUT_EV_LINE,  /* a command line (or BDAT payload) ended; no reply is due */
	MUT_EV_REPLY, /* a reply is due here */
};

#define MUT_SCAN_HEAD 64
#define MUT_SCAN_TAIL 32

/* Follows the client byte stream and says where replies are due. */
struct mut_scan {
	enum mh_proto_id proto;
	int mode;
	unsigned char seg[MUT_SCAN_HEAD];  /* first bytes of the current line segment */
	unsigned char cmd[MUT_SCAN_HEAD];  /* first bytes of the current command (IMAP literals) */
	unsigned char tail[MUT_SCAN_TAIL]; /* last bytes of the current segment */
	size_t seglen, cmdlen, taillen;
	bool seg_b64;   /* the segment so far could be a SASL response */
	size_t seg_cr;  /* CR bytes in the segment (one before the LF ends the line) */
	bool cont;      /* IMAP: the segment continues a command after a literal */
	bool prev_crlf; /* SMTP data: the previous line ended in CRLF */
	uint64_t payload;
	bool payload_bdat, payload_reply;
	bool sasl;      /* maybe inside a SASL exchange */
	bool hold;      /* the line just ended is AUTH / AUTHENTICATE or a SASL response: bytes sent
	                   behind it before its reply are read by a mode only that reply decides */
	bool ambiguous; /* replies after this point may be out of step */
};

void mut_scan_init(struct mut_scan *s, enum mh_proto_id proto);
/* Consumes bytes up to and including the next event (or all of them). *starttls_r says the
   event ends a STARTTLS / STLS command that may switch to TLS. Returns bytes consumed. */
size_t mut_scan_feed(struct mut_scan *s, const unsigned char *p, size_t n, enum mut_ev *ev_r,
                     bool *starttls_r);
/* Whether status (of a recorded reply) is a positive completion for proto. */
bool mut_status_positive(enum mh_proto_id proto, const char *status);

/* ---- the mutator ---- */

struct mut_token {
	unsigned char *data;
	size_t len;
};

struct mh_mutator {
	enum mh_proto_id proto;
	const struct mh_spec *spec;
	/* spec guidance: for each state with commands, the command indexes allowed there */
	int *guide_state;  /* state index per guide entry */
	size_t *guide_off; /* offset into guide_cmd */
	size_t *guide_n;   /* commands per entry */
	int *guide_cmd;
	size_t nguide;
	struct mut_token *dict; /* built-in tokens first, then the user's dictionary */
	size_t ndict, dictcap, nbuiltin;
	unsigned level_weight[MH_MUT_LEVEL_COUNT];
	unsigned max_stack;
	uint64_t enabled; /* bit per operator */
	struct mut_work w, w2;
	struct mh_buf scratch, scratch2;
	char desc[MUT_DESC_MAX];
};

/* What an operator works with. */
struct mut_ctx {
	struct mh_mutator *m;
	struct mut_work *w;
	struct mh_rng *rng;
	size_t cap; /* byte cap of the result */
	/* the splice partner, loaded on first use */
	const struct mh_dialogue *splice_dlg;
	const unsigned char *splice_buf;
	size_t splice_len;
	bool splice_loaded;
};

/* An operator: 0 applied, -1 not applicable here (the caller picks another). */
typedef int (*mut_op_fn)(struct mut_ctx *c);

/* The splice partner as a working copy, or NULL when there is none (or it has no SEND). */
struct mut_work *mut_ctx_splice(struct mut_ctx *c);

static inline size_t mut_room(const struct mut_ctx *c)
{
	return c->w->bytes < c->cap ? c->cap - c->w->bytes : 0;
}

/* Uniform pick in [lo, hi]. */
static inline uint64_t mut_range(struct mh_rng *r, uint64_t lo, uint64_t hi)
{
	return lo + mh_rng_below(r, hi - lo + 1);
}

/* Appends n bytes repeating pattern (plen > 0). */
void mut_fill(struct mh_buf *b, const void *pattern, size_t plen, size_t n);
/* Appends n random bytes. */
void mut_random_bytes(struct mh_rng *r, struct mh_buf *b, size_t n);

/* A value in [1, max] skewed towards small ones (uniform below a random power of two). */
uint64_t mut_skew(struct mh_rng *r, uint64_t max);

/* ---- lines and tokens (mutate_token.c) ---- */

/* A line inside SEND rec: off/len the content without the line end, eol its length (0..2). */
struct mut_line {
	size_t rec, off, len, eol;
};
struct mut_tok {
	size_t off, len; /* relative to the line */
};
#define MUT_MAX_TOKS 64

/* A random line of a random non-empty SEND. -1 if there is none. */
int mut_pick_line(struct mut_ctx *c, struct mut_line *l);
/* A random line among those whose verb is in verbs (NULL-terminated, case-insensitive; IMAP
   skips the tag). -1 if none. */
int mut_find_verb(struct mut_ctx *c, const char *const *verbs, struct mut_line *l);
/* Splits a line at spaces. Returns the token count (at most max). */
size_t mut_split(const unsigned char *p, size_t n, struct mut_tok *t, size_t max);
/* Index of the first argument token: IMAP 2 (tag, verb), else 1. */
size_t mut_first_arg(const struct mut_ctx *c);
/* Replaces token k of line l (or appends a new " token" when k == ntoks) with s. 0 / -1 (room). */
int mut_set_token(struct mut_ctx *c, const struct mut_line *l, const struct mut_tok *t, size_t ntok,
                  size_t k, const void *s, size_t n);
/* Inserts the lines of text (parts separated by '\x1f', each gets CRLF; IMAP: a fresh tag before
   the first) as SENDs at index at. Returns how many, or -1 (caps; nothing inserted). */
int mut_insert_text(struct mut_ctx *c, size_t at, const char *text, bool tagged);
/* Inserts one line (p, n, then CRLF; IMAP: a fresh tag first when tagged) as a SEND at index at.
   p must not point into scratch2. 0 / -1 (caps). */
int mut_insert_line(struct mut_ctx *c, size_t at, const void *p, size_t n, bool tagged);
/* Appends a fresh IMAP tag ("m" and 4 hex digits) to b. */
void mut_tag(struct mh_rng *r, struct mh_buf *b);
/* An insertion point for a new command (0..n, skewed away from the very start). */
size_t mut_pick_slot(struct mut_ctx *c);

/* ---- templates and tokens (mutate_dict.c) ---- */

/* A command of the spec (or of the built-in table without one) rendered with plausible
   arguments, as insert text (see mut_insert_text). *cmd_r gets the command name. */
const char *mut_template_pick(struct mh_mutator *m, struct mh_rng *r, const char **cmd_r);
/* The template text for a command name, or NULL. */
const char *mut_template_for(enum mh_proto_id proto, const char *cmd, struct mh_rng *r);
/* Adds the protocol's built-in tokens (and the spec's command and capability names). */
void mut_dict_builtin(struct mh_mutator *m);
/* Parses AFL dictionary text and adds its tokens. 0 / -1 with err ("NAME:LINE: ..."). */
int mut_dict_parse(struct mh_mutator *m, const char *text, size_t len, const char *name,
                   struct mh_error *err);
void mut_dict_free(struct mh_mutator *m);

/* ---- the operators ---- */

int mut_op_insert_cmd(struct mut_ctx *c);
int mut_op_drop(struct mut_ctx *c);
int mut_op_dup(struct mut_ctx *c);
int mut_op_repeat(struct mut_ctx *c);
int mut_op_swap(struct mut_ctx *c);
int mut_op_truncate(struct mut_ctx *c);
int mut_op_splice(struct mut_ctx *c);

int mut_op_arg_len(struct mut_ctx *c);
int mut_op_arg_count(struct mut_ctx *c);
int mut_op_number(struct mut_ctx *c);
int mut_op_ctl(struct mut_ctx *c);
int mut_op_utf8(struct mut_ctx *c);
int mut_op_quoted(struct mut_ctx *c);
int mut_op_base64(struct mut_ctx *c);
int mut_op_dict(struct mut_ctx *c);

int mut_op_literal(struct mut_ctx *c);
int mut_op_bdat(struct mut_ctx *c);
int mut_op_seqset(struct mut_ctx *c);
int mut_op_esmtp(struct mut_ctx *c);
int mut_op_sasl(struct mut_ctx *c);
int mut_op_eod(struct mut_ctx *c);
int mut_op_starttls(struct mut_ctx *c);

int mut_op_split(struct mut_ctx *c);
int mut_op_merge(struct mut_ctx *c);
int mut_op_flip(struct mut_ctx *c);
int mut_op_insert_bytes(struct mut_ctx *c);
int mut_op_erase(struct mut_ctx *c);

#endif

/* mutate.c: the mutation engine: RNG, operator table, stacking and the public entry points; and
   the reply rules that keep a mutated dialogue saying where the server owes a reply. The
   working copy is in mutate_work.c, the operators in mutate_dlg.c (dialogue level),
   mutate_token.c and mutate_proto.c (token level) and mutate_byte.c (byte level).

   Where a reply is due (mutate_scan.c applies these to the concatenated SEND bytes after every
   mutation; the REPLY records are then rewritten to match, one per due reply, placed after the
   SEND holding the byte that completes the line, so a write with several commands is followed
   by as many REPLY records):
   - Every command line ending in CRLF gets one reply. A line ending in a bare LF is treated as
     a line (most servers accept it) but gets none: strict servers would still be reading it.
     An empty command line gets none (servers either ignore it or answer).
   - SMTP: "DATA" (whatever follows the verb) switches to message data: no reply until a "."
     line that has CRLF on both sides, which gets one. The variants <LF>.<LF>, <CR>.<CR>,
     <LF>.<CR><LF>, <CR><LF>.<LF> and a NUL before the dot do not end the data. We assume DATA
     is accepted: if it is not, the body lines get replies we do not wait for, which is safe.
   - SMTP "BDAT n" (n = 1*DIGIT): no reply after the line; exactly n payload bytes follow, then
     one reply (n = 0: right after the line). A size that does not fit, or a payload the
     dialogue never completes, makes everything after it payload: nothing more is due. A size
     that is not 1*DIGIT ("-1", "abc") makes it an ordinary command (RFC 3030: 501 at once).
     A line that is not strictly "BDAT" SP 1*DIGIT [SP "LAST"] CRLF in printable ASCII (a CR or
     NUL in it, a parameter, two spaces, an overlong line) is ambiguous: a server may refuse it
     at once and read the payload as commands; its digits still size the payload.
   - IMAP literals: a line ending in "{n}" (or "~{n}") gets one reply ("+", or the tagged
     refusal), then n bytes are taken as the literal whatever they contain (a lying size simply
     eats into or leaves over the bytes that follow), then the command goes on to its final
     CRLF, which gets the tagged reply. "{n+}" (LITERAL+) gets no reply after its line.
   - IMAP "IDLE" gets one reply ("+" or a refusal); then only "DONE" CRLF gets one (the tagged
     completion). Other lines during IDLE get none and are ambiguous.
   - SASL: after AUTH (with a mechanism) / AUTHENTICATE every line gets one reply (the next
     challenge or the final one), so the count holds whether the exchange is over or not.
     While an exchange may go on, a base64-looking line is a response, not a command: it can
     start TLS for nobody ("STARTTLS" is valid base64). Bytes written behind an AUTH /
     AUTHENTICATE line or a SASL response, before its reply, are ambiguous: the exchange may
     end at the first failure and the server then reads them as commands. POP3 "AUTH" alone is
     ambiguous (-ERR, or a +OK listing the mechanisms after which the state is unknown).
   - IMAP: a command line without a tag and SP (RFC 3501 9) is ambiguous: its untagged BAD
     completes no command.
   - TLS: a STARTTLS / STLS line without arguments (trailing spaces allowed: servers that split
     at spaces take it) that gets a reply is followed by a "tls" record (after its REPLY) when
     more client bytes follow, or when the source dialogue had one, unless the source recorded
     a refusal for it. Bytes after it in the same write (the STARTTLS injection test) get no
     reply: a correct server discards them, a vulnerable one answers inside TLS; they are
     ambiguous, also behind a refused STARTTLS. At most one "tls" record; the scanner starts
     afresh after it.
   - Ambiguity: wherever the rules above cannot know (a bare LF, an end-of-data variant, a line
     during IDLE, injected bytes after STARTTLS, pipelining behind SASL, a malformed BDAT line,
     an IMAP line without a tag), replies may be out of step; where the count is unknown nothing
     is marked due. The executor then reads nothing there, so it never waits in vain (no false
     hang); a reply that does come is read by the next REPLY record.
     mh_mutate_first_ambiguous() says where that may start. */
#include "mutate_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RNG: xoshiro256** seeded by splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void mh_rng_seed(struct mh_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (size_t i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t mh_rng_next(struct mh_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t mh_rng_below(struct mh_rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* Lemire's multiply-shift with rejection: unbiased */
	__uint128_t m = (__uint128_t)mh_rng_next(r) * n;
	uint64_t lo = (uint64_t)m;
	if (lo < n) {
		uint64_t t = -n % n;
		while (lo < t) {
			m = (__uint128_t)mh_rng_next(r) * n;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

uint64_t mut_skew(struct mh_rng *r, uint64_t max)
{
	if (max <= 1)
		return 1;
	unsigned bits = 0;
	while (bits < 63 && (1ULL << bits) < max)
		bits++;
	uint64_t lim = 1ULL << mh_rng_below(r, bits + 1);
	if (lim > max)
		lim = max;
	return 1 + mh_rng_below(r, lim);
}

/* ---- public: streams and reply records ---- */

int mh_dialogue_from_stream(const unsigned char *buf, size_t len, enum mh_proto_id proto,
                            struct mh_dialogue *d)
{
	if (len > MH_DLG_MAX_BYTES)
		return -1;
	struct mut_work w;
	mut_work_init(&w, proto);
	mut_work_from_stream(&w, buf, len, MUT_MAX_SENDS);
	mut_emit(&w, d);
	mut_work_deinit(&w);
	return 0;
}

void mh_dialogue_to_stream(const struct mh_dialogue *d, struct mh_buf *out)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->msgs[i].op == MH_DLG_SEND && d->msgs[i].len > 0)
			mh_buf_append(out, d->msgs[i].data, d->msgs[i].len);
}

void mh_mutate_fix_replies(struct mh_dialogue *d)
{
	struct mut_work w;
	mut_work_init(&w, d->proto);
	mut_work_load(&w, d);
	mut_emit(&w, d);
	mut_work_deinit(&w);
}

bool mh_mutate_first_ambiguous(const struct mh_dialogue *d, size_t *rec_r)
{
	struct mut_work w;
	mut_work_init(&w, d->proto);
	mut_work_load(&w, d);
	size_t amb = mut_emit(&w, NULL);
	mut_work_deinit(&w);
	if (rec_r != NULL)
		*rec_r = amb;
	return amb != SIZE_MAX;
}

/* ---- the operators ---- */

#define P_ALL  7u
#define P_SMTP (1u << MH_PROTO_SMTP)
#define P_IMAP (1u << MH_PROTO_IMAP)

struct mut_op_def {
	const char *name;
	enum mh_mut_level level;
	unsigned protos; /* bit per enum mh_proto_id */
	unsigned weight;
	mut_op_fn fn;
};

enum {
	OP_INSERT_CMD,
	OP_DROP,
	OP_DUP,
	OP_REPEAT,
	OP_SWAP,
	OP_TRUNCATE,
	OP_SPLICE,
	OP_ARG_LEN,
	OP_ARG_COUNT,
	OP_NUMBER,
	OP_CTL,
	OP_UTF8,
	OP_QUOTED,
	OP_BASE64,
	OP_DICT,
	OP_LITERAL,
	OP_BDAT,
	OP_SEQSET,
	OP_ESMTP,
	OP_SASL,
	OP_EOD,
	OP_STARTTLS,
	OP_SPLIT,
	OP_MERGE,
	OP_FLIP,
	OP_INSERT_BYTES,
	OP_ERASE,
	OP_COUNT
};

static const struct mut_op_def ops[] = {
    [OP_INSERT_CMD] = {"dlg-insert-cmd", MH_MUT_DIALOGUE, P_ALL, 6, mut_op_insert_cmd},
    [OP_DROP] = {"dlg-drop", MH_MUT_DIALOGUE, P_ALL, 4, mut_op_drop},
    [OP_DUP] = {"dlg-dup", MH_MUT_DIALOGUE, P_ALL, 3, mut_op_dup},
    [OP_REPEAT] = {"dlg-repeat", MH_MUT_DIALOGUE, P_ALL, 2, mut_op_repeat},
    [OP_SWAP] = {"dlg-swap", MH_MUT_DIALOGUE, P_ALL, 3, mut_op_swap},
    [OP_TRUNCATE] = {"dlg-truncate", MH_MUT_DIALOGUE, P_ALL, 1, mut_op_truncate},
    [OP_SPLICE] = {"dlg-splice", MH_MUT_DIALOGUE, P_ALL, 2, mut_op_splice},
    [OP_ARG_LEN] = {"tok-arg-len", MH_MUT_TOKEN, P_ALL, 4, mut_op_arg_len},
    [OP_ARG_COUNT] = {"tok-arg-count", MH_MUT_TOKEN, P_ALL, 2, mut_op_arg_count},
    [OP_NUMBER] = {"tok-number", MH_MUT_TOKEN, P_ALL, 4, mut_op_number},
    [OP_CTL] = {"tok-ctl-char", MH_MUT_TOKEN, P_ALL, 3, mut_op_ctl},
    [OP_UTF8] = {"tok-utf8", MH_MUT_TOKEN, P_ALL, 2, mut_op_utf8},
    [OP_QUOTED] = {"tok-quoted", MH_MUT_TOKEN, P_ALL, 2, mut_op_quoted},
    [OP_BASE64] = {"tok-base64", MH_MUT_TOKEN, P_ALL, 2, mut_op_base64},
    [OP_DICT] = {"tok-dict", MH_MUT_TOKEN, P_ALL, 4, mut_op_dict},
    [OP_LITERAL] = {"tok-literal-lie", MH_MUT_TOKEN, P_IMAP, 4, mut_op_literal},
    [OP_BDAT] = {"tok-bdat-lie", MH_MUT_TOKEN, P_SMTP, 3, mut_op_bdat},
    [OP_SEQSET] = {"tok-seqset", MH_MUT_TOKEN, P_IMAP, 3, mut_op_seqset},
    [OP_ESMTP] = {"tok-esmtp-param", MH_MUT_TOKEN, P_SMTP, 3, mut_op_esmtp},
    [OP_SASL] = {"tok-sasl", MH_MUT_TOKEN, P_ALL, 2, mut_op_sasl},
    [OP_EOD] = {"tok-eod", MH_MUT_TOKEN, P_SMTP, 3, mut_op_eod},
    [OP_STARTTLS] = {"tok-starttls-inject", MH_MUT_TOKEN, P_ALL, 1, mut_op_starttls},
    [OP_SPLIT] = {"byte-split", MH_MUT_BYTE, P_ALL, 4, mut_op_split},
    [OP_MERGE] = {"byte-merge", MH_MUT_BYTE, P_ALL, 4, mut_op_merge},
    [OP_FLIP] = {"byte-flip", MH_MUT_BYTE, P_ALL, 3, mut_op_flip},
    [OP_INSERT_BYTES] = {"byte-insert", MH_MUT_BYTE, P_ALL, 2, mut_op_insert_bytes},
    [OP_ERASE] = {"byte-erase", MH_MUT_BYTE, P_ALL, 2, mut_op_erase},
};
static_assert(MH_ARRAY_SIZE(ops) == OP_COUNT, "operator table out of sync");
static_assert(OP_COUNT <= 64, "enabled is a 64-bit mask");

size_t mh_mutate_op_count(void)
{
	return OP_COUNT;
}

const char *mh_mutate_op_name(size_t i)
{
	return i < OP_COUNT ? ops[i].name : NULL;
}

enum mh_mut_level mh_mutate_op_level(size_t i)
{
	return i < OP_COUNT ? ops[i].level : MH_MUT_LEVEL_COUNT;
}

bool mh_mutate_op_applies(size_t i, enum mh_proto_id proto)
{
	return i < OP_COUNT && (ops[i].protos & (1u << proto)) != 0;
}

/* ---- the mutator ---- */

static void guide_build(struct mh_mutator *m)
{
	const struct mh_spec *s = m->spec;
	if (s == NULL || s->proto != m->proto || s->nstates == 0)
		return;
	m->guide_state = mh_calloc(s->nstates, sizeof(int));
	m->guide_off = mh_calloc(s->nstates, sizeof(size_t));
	m->guide_n = mh_calloc(s->nstates, sizeof(size_t));
	m->guide_cmd = mh_calloc(s->nstates * (s->ncommands + 1), sizeof(int));
	size_t used = 0;
	for (size_t st = 0; st < s->nstates; st++) {
		size_t start = used;
		for (size_t c = 0; c < s->ncommands; c++) {
			if (s->commands[c].pseudo)
				continue;
			if (mh_spec_rule_for(s, (int)c, (int)st) != NULL)
				m->guide_cmd[used++] = (int)c;
		}
		if (used > start) {
			m->guide_state[m->nguide] = (int)st;
			m->guide_off[m->nguide] = start;
			m->guide_n[m->nguide] = used - start;
			m->nguide++;
		}
	}
}

struct mh_mutator *mh_mutator_new(enum mh_proto_id proto, const struct mh_spec *spec,
                                  const char *dict_path, struct mh_error *err)
{
	if ((unsigned)proto >= MH_PROTO_COUNT) {
		mh_error_set(err, "mutator: unknown protocol %d", (int)proto);
		return NULL;
	}
	struct mh_mutator *m = mh_calloc(1, sizeof(*m));
	m->proto = proto;
	m->spec = spec;
	m->level_weight[MH_MUT_DIALOGUE] = 3;
	m->level_weight[MH_MUT_TOKEN] = 5;
	m->level_weight[MH_MUT_BYTE] = 2;
	m->max_stack = 8;
	m->enabled = (OP_COUNT == 64) ? ~0ULL : (1ULL << OP_COUNT) - 1;
	mut_work_init(&m->w, proto);
	mut_work_init(&m->w2, proto);
	mh_buf_init(&m->scratch);
	mh_buf_init(&m->scratch2);
	guide_build(m);
	mut_dict_builtin(m);
	if (dict_path != NULL) {
		size_t len = 0;
		char *text = mh_read_file(dict_path, 64u << 20, &len, err);
		int rc = text == NULL ? -1 : mut_dict_parse(m, text, len, dict_path, err);
		free(text);
		if (rc != 0) {
			mh_mutator_free(&m);
			return NULL;
		}
	}
	return m;
}

void mh_mutator_free(struct mh_mutator **mp)
{
	struct mh_mutator *m = *mp;
	if (m == NULL)
		return;
	mut_work_deinit(&m->w);
	mut_work_deinit(&m->w2);
	mh_buf_deinit(&m->scratch);
	mh_buf_deinit(&m->scratch2);
	mut_dict_free(m);
	free(m->guide_state);
	free(m->guide_off);
	free(m->guide_n);
	free(m->guide_cmd);
	free(m);
	*mp = NULL;
}

int mh_mutator_add_dict(struct mh_mutator *m, const char *text, size_t len, const char *name,
                        struct mh_error *err)
{
	return mut_dict_parse(m, text, len, name != NULL ? name : "dictionary", err);
}

void mh_mutator_set_weights(struct mh_mutator *m, const unsigned weights[MH_MUT_LEVEL_COUNT])
{
	for (size_t l = 0; l < MH_MUT_LEVEL_COUNT; l++)
		m->level_weight[l] = weights[l];
}

void mh_mutator_set_max_stack(struct mh_mutator *m, unsigned n)
{
	m->max_stack = n < 1 ? 1 : n > MUT_MAX_STACK ? MUT_MAX_STACK : n;
}

int mh_mutator_restrict(struct mh_mutator *m, const char *names, struct mh_error *err)
{
	uint64_t all = (1ULL << OP_COUNT) - 1;
	if (names == NULL || names[0] == '\0') {
		m->enabled = all;
		return 0;
	}
	uint64_t en = 0;
	const char *p = names;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		size_t i = 0;
		while (i < OP_COUNT &&
		       !(strlen(ops[i].name) == n && memcmp(ops[i].name, p, n) == 0))
			i++;
		if (i == OP_COUNT) {
			mh_error_set(err, "mutator: unknown operator \"%.*s\"", (int)n, p);
			return -1;
		}
		en |= 1ULL << i;
		p += n;
		if (*p == ',')
			p++;
	}
	m->enabled = en;
	return 0;
}

/* ---- one mutation ---- */

struct mut_work *mut_ctx_splice(struct mut_ctx *c)
{
	struct mut_work *w2 = &c->m->w2;
	if (!c->splice_loaded) {
		c->splice_loaded = true;
		mut_work_clear(w2);
		w2->proto = c->w->proto;
		if (c->splice_dlg != NULL)
			mut_work_load(w2, c->splice_dlg);
		else if (c->splice_buf != NULL)
			mut_work_from_stream(w2, c->splice_buf,
			                     c->splice_len < MH_DLG_MAX_BYTES ? c->splice_len
			                                                      : MH_DLG_MAX_BYTES,
			                     MUT_MAX_SENDS);
	}
	return w2->n > 0 ? w2 : NULL;
}

static bool op_usable(const struct mh_mutator *m, size_t i)
{
	return (m->enabled >> i & 1) && (ops[i].protos & (1u << m->proto)) && ops[i].weight > 0;
}

/* Picks an operator: a level by its weight, then an operator of that level by its weight. */
static int pick_op(struct mut_ctx *c)
{
	const struct mh_mutator *m = c->m;
	unsigned lw[MH_MUT_LEVEL_COUNT] = {0}, ow[MH_MUT_LEVEL_COUNT] = {0}, total = 0;
	for (size_t i = 0; i < OP_COUNT; i++)
		if (op_usable(m, i))
			ow[ops[i].level] += ops[i].weight;
	for (size_t l = 0; l < MH_MUT_LEVEL_COUNT; l++) {
		lw[l] = ow[l] > 0 ? m->level_weight[l] : 0;
		total += lw[l];
	}
	if (total == 0) { /* every level weighted 0: fall back to the operators' own weights */
		for (size_t l = 0; l < MH_MUT_LEVEL_COUNT; l++)
			total += lw[l] = ow[l] > 0;
		if (total == 0)
			return -1;
	}
	uint64_t r = mh_rng_below(c->rng, total);
	size_t level = 0;
	while (r >= lw[level])
		r -= lw[level++];
	r = mh_rng_below(c->rng, ow[level]);
	for (size_t i = 0; i < OP_COUNT; i++) {
		if (!op_usable(m, i) || ops[i].level != level)
			continue;
		if (r < ops[i].weight)
			return (int)i;
		r -= ops[i].weight;
	}
	return -1;
}

static void desc_add(struct mh_mutator *m, const char *name)
{
	size_t l = strlen(m->desc), n = strlen(name);
	if (l + n + 2 > sizeof(m->desc))
		return;
	if (l > 0)
		m->desc[l++] = ',';
	memcpy(m->desc + l, name, n + 1);
}

/* Frees scratch buffers a big mutation left large. */
static void scratch_trim(struct mh_buf *b)
{
	if (b->cap > 4 * MUT_KEEP_BUFFER) {
		mh_buf_deinit(b);
		mh_buf_init(b);
	}
}

static int run_stack(struct mut_ctx *c)
{
	struct mh_mutator *m = c->m;
	scratch_trim(&m->scratch);
	scratch_trim(&m->scratch2);
	m->desc[0] = '\0';
	unsigned nstack = (unsigned)mut_skew(c->rng, m->max_stack);
	int applied = 0;
	for (unsigned s = 0; s < nstack; s++) {
		int op = -1;
		for (int attempt = 0; attempt < 6 && op < 0; attempt++) {
			int cand = pick_op(c);
			if (cand < 0)
				break;
			if (ops[cand].fn(c) == 0)
				op = cand;
		}
		if (op < 0 && op_usable(m, OP_FLIP) && ops[OP_FLIP].fn(c) == 0)
			op = OP_FLIP;
		if (op < 0)
			continue;
		applied++;
		desc_add(m, ops[op].name);
	}
	return applied;
}

/* Cuts the tail of the dialogue until its bytes fit cap. */
static void clamp(struct mut_work *w, size_t cap)
{
	while (w->bytes > cap && w->n > 0) {
		struct mut_send *x = &w->s[w->n - 1];
		size_t over = w->bytes - cap;
		if (x->len <= over)
			mut_work_remove(w, w->n - 1);
		else
			mut_work_edit(w, w->n - 1, x->len - over, over, NULL, 0);
	}
}

static size_t byte_cap(size_t max_bytes)
{
	return max_bytes == 0 || max_bytes > MH_DLG_MAX_BYTES ? MH_DLG_MAX_BYTES : max_bytes;
}

int mh_mutate(struct mh_mutator *m, const struct mh_dialogue *in, const struct mh_dialogue *splice,
              struct mh_dialogue *out, struct mh_rng *rng, size_t max_bytes)
{
	struct mut_ctx c = {
	    .m = m, .w = &m->w, .rng = rng, .cap = byte_cap(max_bytes), .splice_dlg = splice};
	mut_work_load(&m->w, in);
	m->w.proto = m->proto;
	int k = run_stack(&c);
	clamp(&m->w, c.cap);
	mut_emit(&m->w, out);
	return k;
}

int mh_mutate_stream(struct mh_mutator *m, const unsigned char *in, size_t inlen,
                     const unsigned char *splice, size_t splicelen, struct mh_buf *out,
                     struct mh_rng *rng, size_t max_bytes)
{
	struct mut_ctx c = {.m = m,
	                    .w = &m->w,
	                    .rng = rng,
	                    .cap = byte_cap(max_bytes),
	                    .splice_buf = splice,
	                    .splice_len = splicelen};
	m->w.proto = m->proto;
	mut_work_from_stream(&m->w, in, inlen < MH_DLG_MAX_BYTES ? inlen : MH_DLG_MAX_BYTES,
	                     MUT_MAX_SENDS);
	int k = run_stack(&c);
	clamp(&m->w, c.cap);
	mh_buf_reset(out);
	for (size_t i = 0; i < m->w.n; i++)
		if (m->w.s[i].len > 0)
			mh_buf_append(out, m->w.s[i].data, m->w.s[i].len);
	return k;
}

const char *mh_mutate_describe(const struct mh_mutator *m)
{
	return m->desc;
}

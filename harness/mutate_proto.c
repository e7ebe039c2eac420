/* mutate_proto.c: the protocol-aware token operators: IMAP literal and SMTP BDAT sizes that lie,
   IMAP sequence sets, ESMTP parameters, SASL switches and cancels, SMTP end-of-data variants and
   STARTTLS followed by plaintext in the same write. */
#include "mutate_int.h"

#include <stdio.h>
#include <string.h>

/* Appends a size for a payload of n bytes: the truth a quarter of the time, else a lie. */
static void lie_size(struct mut_ctx *c, struct mh_buf *b, uint64_t n, bool digits_only)
{
	static const char *const big[] = {"4294967295",
	                                  "4294967296",
	                                  "2147483647",
	                                  "2147483648",
	                                  "18446744073709551615",
	                                  "18446744073709551616",
	                                  "99999999999999999999999"};
	static const char *const odd[] = {"-1", "", "0x10", "+5", " 5", "5 ", "1e3", "00"};
	uint64_t r = mh_rng_below(c->rng, 12);
	uint64_t v = n;
	if (r < 3)
		v = n;
	else if (r == 3)
		v = n + 1;
	else if (r == 4)
		v = n > 0 ? n - 1 : 1;
	else if (r == 5)
		v = 0;
	else if (r == 6)
		v = n * 2 + 1;
	else if (r == 7)
		v = n + 1 + mh_rng_below(c->rng, 1000);
	if (r < 8) {
		mh_buf_printf(b, "%llu", (unsigned long long)v);
		return;
	}
	if (r < 11 || digits_only)
		mh_buf_append_str(b, big[mh_rng_below(c->rng, MH_ARRAY_SIZE(big))]);
	else
		mh_buf_append_str(b, odd[mh_rng_below(c->rng, MH_ARRAY_SIZE(odd))]);
}

/* ---- IMAP literals ---- */

/* Finds a literal marker "{digits[+]}" right before a line end; its offset and length. */
static int find_literal(struct mut_ctx *c, size_t *rec_r, size_t *off_r, size_t *len_r,
                        uint64_t *n_r)
{
	uint64_t seen = 0;
	for (size_t rec = 0; rec < c->w->n; rec++) {
		const unsigned char *p = c->w->s[rec].data;
		size_t n = c->w->s[rec].len;
		for (size_t i = 0; i < n; i++) {
			if (p[i] != '\n' || i == 0)
				continue;
			size_t e = p[i - 1] == '\r' ? i - 1 : i;
			if (e == 0 || p[e - 1] != '}')
				continue;
			size_t s = e - 1;
			if (s > 0 && p[s - 1] == '+')
				s--;
			size_t d = s;
			while (s > 0 && p[s - 1] >= '0' && p[s - 1] <= '9' && d - s < 20)
				s--;
			if (s == d || s == 0 || p[s - 1] != '{')
				continue;
			if (mh_rng_below(c->rng, ++seen) != 0)
				continue;
			uint64_t v = 0;
			for (size_t k = s; k < d; k++)
				v = v * 10 + (uint64_t)(p[k] - '0');
			*rec_r = rec;
			*off_r = s - 1;
			*len_r = e - (s - 1);
			*n_r = v;
		}
	}
	return seen > 0 ? 0 : -1;
}

int mut_op_literal(struct mut_ctx *c)
{
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	size_t rec, off, len;
	uint64_t n;
	if (find_literal(c, &rec, &off, &len, &n) == 0 && mh_rng_below(c->rng, 3) != 0) {
		if (mh_rng_below(c->rng, 8) == 0)
			mh_buf_append(b, "~", 1);
		mh_buf_append(b, "{", 1);
		lie_size(c, b, n, false);
		mh_buf_append_str(b, mh_rng_below(c->rng, 3) == 0 ? "+}" : "}");
		if (b->len > len && b->len - len > mut_room(c))
			return -1;
		mut_work_edit(c->w, rec, off, len, b->data, b->len);
		return 0;
	}
	/* an argument of a command becomes a literal */
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	if (mut_pick_line(c, &l) != 0)
		goto fresh;
	const unsigned char *line = c->w->s[l.rec].data + l.off;
	size_t ntok = mut_split(line, l.len, t, MUT_MAX_TOKS);
	if (ntok < 3)
		goto fresh;
	size_t k = 2 + mh_rng_below(c->rng, ntok - 2);
	bool nonsync = mh_rng_below(c->rng, 3) == 0;
	mh_buf_append(b, "{", 1);
	lie_size(c, b, t[k].len, false);
	mh_buf_append_str(b, nonsync ? "+}\r\n" : "}\r\n");
	size_t head = b->len;
	/* the payload, the rest of the command and (sync) everything after it in the write */
	const struct mut_send *x = &c->w->s[l.rec];
	size_t from = l.off + t[k].off;
	size_t to = nonsync ? l.off + t[k].off + t[k].len : x->len;
	mh_buf_append(b, x->data + from, to - from);
	if (b->len > mut_room(c) + (to - from) || (!nonsync && c->w->n >= MUT_MAX_SENDS))
		return -1;
	if (nonsync) {
		mut_work_edit(c->w, l.rec, from, to - from, b->data, b->len);
		return 0;
	}
	mut_work_edit(c->w, l.rec, from, to - from, b->data, head);
	return mut_work_insert(c->w, l.rec + 1, b->data + head, b->len - head);
fresh:
	mh_buf_reset(b);
	mh_buf_append_str(b, "APPEND INBOX {");
	lie_size(c, b, 23, false);
	mh_buf_append_str(b, "}\x1fSubject: fuzz\r\n\r\nbody\r\n");
	return mut_insert_text(c, mut_pick_slot(c), (const char *)b->data, true) > 0 ? 0 : -1;
}

/* ---- SMTP BDAT ---- */

int mut_op_bdat(struct mut_ctx *c)
{
	static const char *const verbs[] = {"BDAT", NULL};
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	if (mut_find_verb(c, verbs, &l) == 0 && mh_rng_below(c->rng, 4) != 0) {
		const unsigned char *line = c->w->s[l.rec].data + l.off;
		size_t ntok = mut_split(line, l.len, t, MUT_MAX_TOKS);
		uint64_t n = 0;
		for (size_t i = 0; ntok > 1 && i < t[1].len && i < 19; i++)
			if (line[t[1].off + i] >= '0' && line[t[1].off + i] <= '9')
				n = n * 10 + (uint64_t)(line[t[1].off + i] - '0');
		if (mh_rng_below(c->rng, 5) == 0) { /* the end marker instead */
			static const char *const last[] = {"LAST", "last", "LAST LAST", "LASTX",
			                                   ""};
			const char *v = last[mh_rng_below(c->rng, MH_ARRAY_SIZE(last))];
			return mut_set_token(c, &l, t, ntok, ntok > 2 ? 2 : ntok, v, strlen(v));
		}
		lie_size(c, b, n, false);
		return mut_set_token(c, &l, t, ntok, 1, b->data, b->len);
	}
	/* a new chunk: the command line and its payload in one write */
	static const char payload[] = "Subject: fuzz\r\n\r\nbody\r\n";
	mh_buf_append_str(b, "BDAT ");
	lie_size(c, b, sizeof(payload) - 1, false);
	mh_buf_append_str(b, mh_rng_below(c->rng, 2) == 0 ? " LAST\r\n" : "\r\n");
	mh_buf_append(b, payload, sizeof(payload) - 1);
	if (b->len > mut_room(c))
		return -1;
	return mut_work_insert(c->w, mut_pick_slot(c), b->data, b->len);
}

/* ---- IMAP sequence sets ---- */

static void put_seqset(struct mut_ctx *c, struct mh_buf *b, size_t room)
{
	static const char *const sets[] = {
	    "*:1",   "4294967295",   "4294967296", "1:*", "0",   "0:0",
	    "*",     "1:4294967295", "2147483648", "-1",  "1:",  ":1",
	    "1::2",  "1,,2",         "$",          "*:*", "1:0", "4294967295:1",
	    "1,*",   "1.5",          "",           ",",   "1,",  "18446744073709551616",
	    "1:2:3", "1:*,*:1",
	};
	uint64_t r = mh_rng_below(c->rng, 4);
	if (r > 0 || room < 16) {
		mh_buf_append_str(b, sets[mh_rng_below(c->rng, MH_ARRAY_SIZE(sets))]);
		return;
	}
	/* a long list: 1,2,3,...  or 1:2,3:4,... or 1,1,1,... */
	size_t target = mut_skew(c->rng, room < 200000 ? room : 200000);
	unsigned kind = (unsigned)mh_rng_below(c->rng, 3);
	for (uint64_t i = 1; b->len + 24 < target; i++) {
		if (i > 1)
			mh_buf_append(b, ",", 1);
		if (kind == 0)
			mh_buf_printf(b, "%llu", (unsigned long long)i);
		else if (kind == 1)
			mh_buf_printf(b, "%llu:%llu", (unsigned long long)(2 * i - 1),
			              (unsigned long long)(2 * i));
		else
			mh_buf_append(b, "1", 1);
	}
}

int mut_op_seqset(struct mut_ctx *c)
{
	static const char *const verbs[] = {"FETCH",  "STORE", "COPY", "MOVE",
	                                    "SEARCH", "UID",   NULL};
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	if (mut_find_verb(c, verbs, &l) == 0) {
		const unsigned char *line = c->w->s[l.rec].data + l.off;
		size_t ntok = mut_split(line, l.len, t, MUT_MAX_TOKS);
		size_t k = ntok > 1 && t[1].len == 3 &&
		                   mh_strncaseeq((const char *)line + t[1].off, "UID", 3)
		               ? 3
		               : 2;
		put_seqset(c, b, mut_room(c) + (k < ntok ? t[k].len : 0));
		return mut_set_token(c, &l, t, ntok, k < ntok ? k : ntok, b->data, b->len);
	}
	static const char *const heads[] = {"FETCH ", "UID FETCH ",      "STORE ",
	                                    "COPY ",  "UID SEARCH UID ", "SEARCH "};
	static const char *const tails[] = {" (FLAGS)", " (UID)", " +FLAGS (\\Seen)",
	                                    " INBOX",   "",       ""};
	size_t h = mh_rng_below(c->rng, MH_ARRAY_SIZE(heads));
	mh_buf_append_str(b, heads[h]);
	put_seqset(c, b, mut_room(c) / 2);
	mh_buf_append_str(b, tails[h]);
	return mut_insert_line(c, mut_pick_slot(c), b->data, b->len, true);
}

/* ---- ESMTP parameters ---- */

static const char *const esmtp_params[] = {
    "SIZE=0",
    "SIZE=99999999999999999999",
    "SIZE=-1",
    "SIZE=",
    "SIZE=4294967296",
    "BODY=8BITMIME",
    "BODY=BINARYMIME",
    "BODY=7BIT",
    "BODY=junk",
    "BODY=",
    "SMTPUTF8",
    "SMTPUTF8=1",
    "AUTH=<>",
    "AUTH=a+2Bb+3D",
    "AUTH=+",
    "RET=FULL",
    "RET=HDRS",
    "RET=junk",
    "ENVID=fuzz",
    "ENVID=a+2",
    "ENVID=",
    "NOTIFY=SUCCESS,FAILURE",
    "NOTIFY=NEVER,SUCCESS",
    "NOTIFY=",
    "ORCPT=rfc822;a@b",
    "ORCPT=rfc822;",
    "ORCPT=x;+ZZ",
    "X-UNKNOWN=1",
    "XFUZZ",
    "=",
    "SIZE=1 SIZE=2",
    "MT-PRIORITY=9",
    "REQUIRETLS",
    "HOLDFOR=1",
    "BY=1;R",
    "size=10",
};

int mut_op_esmtp(struct mut_ctx *c)
{
	static const char *const verbs[] = {"MAIL", "RCPT", NULL};
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	size_t np = mut_skew(c->rng, 3);
	for (size_t i = 0; i < np; i++) {
		mh_buf_append(b, " ", 1);
		mh_buf_append_str(b,
		                  esmtp_params[mh_rng_below(c->rng, MH_ARRAY_SIZE(esmtp_params))]);
	}
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	if (mut_find_verb(c, verbs, &l) == 0) {
		const unsigned char *line = c->w->s[l.rec].data + l.off;
		size_t ntok = mut_split(line, l.len, t, MUT_MAX_TOKS);
		/* append, or replace the parameters after the path */
		size_t at = l.len;
		if (mh_rng_below(c->rng, 2) == 0 && ntok > 2)
			at = t[2].off - 1;
		if (b->len > mut_room(c) + (l.len - at))
			return -1;
		mut_work_edit(c->w, l.rec, l.off + at, l.len - at, b->data, b->len);
		return 0;
	}
	struct mh_buf *line = &c->m->scratch2;
	mh_buf_reset(line);
	mh_buf_append_str(line, mh_rng_below(c->rng, 2) == 0 ? "MAIL FROM:<a@b>" : "RCPT TO:<a@b>");
	mh_buf_append(line, b->data, b->len);
	mh_buf_reset(b);
	mh_buf_append(b, line->data, line->len);
	return mut_insert_line(c, mut_pick_slot(c), b->data, b->len, false);
}

/* ---- SASL ---- */

static const char *const mechs[] = {
    "PLAIN",   "LOGIN",       "CRAM-MD5", "DIGEST-MD5",     "SCRAM-SHA-1", "SCRAM-SHA-256",
    "XOAUTH2", "OAUTHBEARER", "GSSAPI",   "NTLM",           "ANONYMOUS",   "EXTERNAL",
    "X-FUZZ",  "plain",       "PLAIN =",  "LOGIN ZnV6eg==", "PLAIN PLAIN",
};

int mut_op_sasl(struct mut_ctx *c)
{
	static const char *const verbs[] = {"AUTH", "AUTHENTICATE", NULL};
	const char *authv = c->w->proto == MH_PROTO_IMAP ? "AUTHENTICATE " : "AUTH ";
	const char *mech = mechs[mh_rng_below(c->rng, MH_ARRAY_SIZE(mechs))];
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	if (mut_find_verb(c, verbs, &l) == 0) {
		const unsigned char *line = c->w->s[l.rec].data + l.off;
		size_t ntok = mut_split(line, l.len, t, MUT_MAX_TOKS);
		switch (mh_rng_below(c->rng, 4)) {
		case 0: /* another mechanism */
			return mut_set_token(c, &l, t, ntok, mut_first_arg(c), mech, strlen(mech));
		case 1: /* a cancel right after the AUTH write */
			return mut_insert_line(c, l.rec + 1, "*", 1, false);
		case 2: /* a mechanism switch in the middle of the exchange */
			mh_buf_append_str(b, authv);
			mh_buf_append_str(b, mech);
			return mut_insert_line(c, l.rec + 1 + mh_rng_below(c->rng, 2), b->data,
			                       b->len, true);
		default: { /* the cancel pipelined in the same write */
			static const char *const ends[] = {"\r\n*", "\r\n", "\r\n=", "\r\n*\r\n*"};
			const char *e = ends[mh_rng_below(c->rng, MH_ARRAY_SIZE(ends))];
			size_t at = l.off + l.len;
			if (strlen(e) > mut_room(c))
				return -1;
			mut_work_edit(c->w, l.rec, at, 0, e, strlen(e));
			return 0;
		}
		}
	}
	/* no exchange yet: a new one, answered, cancelled or switched */
	static const char *const follow[] = {"*", "=", "AGZ1enoAZnV6eg==", ""};
	mh_buf_append_str(b, authv);
	mh_buf_append_str(b, mech);
	mh_buf_append(b, "\x1f", 1);
	if (mh_rng_below(c->rng, 3) == 0) {
		mh_buf_append_str(b, authv);
		mh_buf_append_str(b, mechs[mh_rng_below(c->rng, MH_ARRAY_SIZE(mechs))]);
	} else {
		mh_buf_append_str(b, follow[mh_rng_below(c->rng, MH_ARRAY_SIZE(follow))]);
	}
	/* the switch line of IMAP needs a tag too: give it one by hand */
	if (c->w->proto == MH_PROTO_IMAP && strstr((const char *)b->data, "\x1f"
	                                                                  "AUTH") != NULL) {
		struct mh_buf *t2 = &c->m->scratch2;
		mh_buf_reset(t2);
		const char *sep = strchr((const char *)b->data, '\x1f');
		mh_buf_append(t2, b->data, (size_t)(sep - (const char *)b->data) + 1);
		mut_tag(c->rng, t2);
		mh_buf_append_str(t2, sep + 1);
		mh_buf_reset(b);
		mh_buf_append(b, t2->data, t2->len);
	}
	return mut_insert_text(c, mut_pick_slot(c), (const char *)b->data, true) > 0 ? 0 : -1;
}

/* ---- SMTP end of data ---- */

static const struct {
	const char *p;
	size_t n;
} eods[] = {
#define V(s)                                                                                       \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}
    V("\n.\n"),      V("\r.\r"),         V("\n.\r\n"),   V("\r\n.\n"),    V("\r\n\0.\r\n"),
    V("\r\n.\r"),    V("\r\n.\r\r\n"),   V("\n.\r"),     V("\r\n. \r\n"), V("\r\n.\0\r\n"),
    V("\r\n..\r\n"), V("\r\r\n.\r\r\n"), V("\r\n.\r\n"),
#undef V
};

static const char smuggle[] = "MAIL FROM:<smuggled@fuzz.example>\r\nRCPT TO:<postmaster>\r\n"
                              "DATA\r\nSubject: smuggled\r\n\r\nsmuggled";

/* Appends an end-of-data variant, maybe smuggled commands, maybe the real end. */
static void put_eod(struct mut_ctx *c, struct mh_buf *b)
{
	size_t v = mh_rng_below(c->rng, MH_ARRAY_SIZE(eods));
	mh_buf_append(b, eods[v].p, eods[v].n);
	uint64_t r = mh_rng_below(c->rng, 3);
	if (r == 0)
		mh_buf_append(b, smuggle, sizeof(smuggle) - 1);
	if (r <= 1)
		mh_buf_append(b, "\r\n.\r\n", 5);
}

int mut_op_eod(struct mut_ctx *c)
{
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	uint64_t seen = 0;
	size_t rec = 0, off = 0;
	for (size_t i = 0; i < c->w->n; i++) {
		const unsigned char *p = c->w->s[i].data;
		size_t n = c->w->s[i].len;
		for (size_t k = 0; k + 5 <= n; k++) {
			if (p[k] == '\r' && memcmp(p + k, "\r\n.\r\n", 5) == 0 &&
			    mh_rng_below(c->rng, ++seen) == 0) {
				rec = i;
				off = k;
			}
		}
	}
	if (seen > 0) {
		put_eod(c, b);
		if (b->len > 5 && b->len - 5 > mut_room(c))
			return -1;
		mut_work_edit(c->w, rec, off, 5, b->data, b->len);
		return 0;
	}
	/* no message yet: DATA and a body ending in a variant */
	mh_buf_append_str(b, "Subject: fuzz\r\n\r\nbody");
	put_eod(c, b);
	size_t at = mut_pick_slot(c);
	if (b->len + 6 > mut_room(c) || c->w->n + 2 > MUT_MAX_SENDS)
		return -1;
	(void)mut_work_insert(c->w, at, "DATA\r\n", 6);
	return mut_work_insert(c->w, at + 1, b->data, b->len);
}

/* ---- STARTTLS injection ---- */

int mut_op_starttls(struct mut_ctx *c)
{
	static const char *const smtp_inj[] = {"NOOP", "RSET", "MAIL FROM:<injected@fuzz.example>",
	                                       "EHLO injected.example", "HELP"};
	static const char *const imap_inj[] = {"NOOP", "CAPABILITY", "LOGIN injected injected",
	                                       "SELECT INBOX"};
	static const char *const pop3_inj[] = {"CAPA", "USER injected", "NOOP"};
	static const char *const tls_verb[] = {"STARTTLS", "STLS", NULL};
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	size_t ninj = 1 + mh_rng_below(c->rng, 3);
	for (size_t i = 0; i < ninj; i++) {
		if (c->w->proto == MH_PROTO_IMAP) {
			mut_tag(c->rng, b);
			mh_buf_append_str(b,
			                  imap_inj[mh_rng_below(c->rng, MH_ARRAY_SIZE(imap_inj))]);
		} else if (c->w->proto == MH_PROTO_SMTP) {
			mh_buf_append_str(b,
			                  smtp_inj[mh_rng_below(c->rng, MH_ARRAY_SIZE(smtp_inj))]);
		} else {
			mh_buf_append_str(b,
			                  pop3_inj[mh_rng_below(c->rng, MH_ARRAY_SIZE(pop3_inj))]);
		}
		mh_buf_append(b, "\r\n", 2);
	}
	struct mut_line l;
	if (mut_find_verb(c, tls_verb, &l) == 0) {
		size_t at = l.off + l.len + l.eol;
		if (l.eol == 0) {
			struct mh_buf *t = &c->m->scratch2;
			mh_buf_reset(t);
			mh_buf_append(t, "\r\n", 2);
			mh_buf_append(t, b->data, b->len);
			mh_buf_reset(b);
			mh_buf_append(b, t->data, t->len);
		}
		if (b->len > mut_room(c))
			return -1;
		mut_work_edit(c->w, l.rec, at, 0, b->data, b->len);
		return 0;
	}
	struct mh_buf *t = &c->m->scratch2;
	mh_buf_reset(t);
	if (c->w->proto == MH_PROTO_IMAP)
		mut_tag(c->rng, t);
	mh_buf_append_str(t, c->w->proto == MH_PROTO_POP3 ? "STLS\r\n" : "STARTTLS\r\n");
	mh_buf_append(t, b->data, b->len);
	if (t->len > mut_room(c))
		return -1;
	return mut_work_insert(c->w, mut_pick_slot(c), t->data, t->len);
}

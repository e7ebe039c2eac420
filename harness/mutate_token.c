/* mutate_token.c: line and token helpers, and the protocol-neutral token operators (argument
   lengths and counts, numbers, control bytes, UTF-8, quoted strings, base64, dictionary). */
#include "mutate_int.h"

#include <stdio.h>
#include <string.h>

void mut_fill(struct mh_buf *b, const void *pattern, size_t plen, size_t n)
{
	unsigned char chunk[4096];
	size_t cl = 0;
	while (cl + plen <= sizeof(chunk) && cl < n) {
		memcpy(chunk + cl, pattern, plen);
		cl += plen;
	}
	if (cl == 0) {
		for (size_t i = 0; i < n; i++)
			mh_buf_append(b, (const unsigned char *)pattern + i % plen, 1);
		return;
	}
	while (n >= cl) {
		mh_buf_append(b, chunk, cl);
		n -= cl;
	}
	mh_buf_append(b, chunk, n);
}

void mut_random_bytes(struct mh_rng *r, struct mh_buf *b, size_t n)
{
	unsigned char chunk[256];
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		for (size_t i = 0; i < k; i += 8) {
			uint64_t v = mh_rng_next(r);
			memcpy(chunk + i, &v, k - i < 8 ? k - i : 8);
		}
		mh_buf_append(b, chunk, k);
		n -= k;
	}
}

/* ---- lines ---- */

/* The line of SEND rec around byte at. */
static void line_at(const struct mut_send *x, size_t rec, size_t at, struct mut_line *l)
{
	size_t s = at;
	while (s > 0 && x->data[s - 1] != '\n')
		s--;
	const unsigned char *nl = memchr(x->data + s, '\n', x->len - s);
	size_t e = nl != NULL ? (size_t)(nl - x->data) : x->len;
	l->rec = rec;
	l->off = s;
	l->eol = nl != NULL ? 1 : 0;
	if (nl != NULL && e > s && x->data[e - 1] == '\r') {
		e--;
		l->eol = 2;
	}
	l->len = e - s;
}

int mut_pick_line(struct mut_ctx *c, struct mut_line *l)
{
	const struct mut_work *w = c->w;
	size_t nonempty = 0;
	for (size_t i = 0; i < w->n; i++)
		nonempty += w->s[i].len > 0;
	if (nonempty == 0)
		return -1;
	size_t k = mh_rng_below(c->rng, nonempty), rec = 0;
	for (;; rec++)
		if (w->s[rec].len > 0 && k-- == 0)
			break;
	const struct mut_send *x = &w->s[rec];
	/* commands usually start their write: prefer the first line */
	size_t at = mh_rng_below(c->rng, 2) == 0 ? 0 : mh_rng_below(c->rng, x->len);
	line_at(x, rec, at, l);
	return 0;
}

/* The verb of a line (IMAP: after the tag) matches one of verbs. */
static bool verb_is(const struct mut_ctx *c, const unsigned char *p, size_t n,
                    const char *const *verbs)
{
	size_t i = 0;
	if (c->w->proto == MH_PROTO_IMAP) {
		while (i < n && p[i] != ' ')
			i++;
		i++;
	}
	size_t e = i;
	while (e < n && p[e] != ' ' && p[e] != '\r' && p[e] != '\n')
		e++;
	for (size_t v = 0; verbs[v] != NULL && i < n; v++)
		if (strlen(verbs[v]) == e - i &&
		    mh_strncaseeq((const char *)p + i, verbs[v], e - i))
			return true;
	return false;
}

int mut_find_verb(struct mut_ctx *c, const char *const *verbs, struct mut_line *l)
{
	const struct mut_work *w = c->w;
	uint64_t seen = 0;
	for (size_t rec = 0; rec < w->n; rec++) {
		const struct mut_send *x = &w->s[rec];
		size_t s = 0;
		while (s < x->len) {
			const unsigned char *nl = memchr(x->data + s, '\n', x->len - s);
			size_t e = nl != NULL ? (size_t)(nl - x->data) : x->len;
			if (verb_is(c, x->data + s, e - s, verbs) &&
			    mh_rng_below(c->rng, ++seen) == 0)
				line_at(x, rec, s, l);
			s = e + 1;
		}
	}
	return seen > 0 ? 0 : -1;
}

size_t mut_split(const unsigned char *p, size_t n, struct mut_tok *t, size_t max)
{
	size_t k = 0, s = 0;
	if (n == 0 || max == 0)
		return 0;
	for (size_t i = 0; i <= n && k < max; i++) {
		if (i == n || p[i] == ' ') {
			t[k].off = s;
			t[k].len = i - s;
			k++;
			s = i + 1;
		}
	}
	if (k == max && s <= n) /* the rest stays in the last token */
		t[k - 1].len = n - t[k - 1].off;
	return k;
}

size_t mut_first_arg(const struct mut_ctx *c)
{
	return c->w->proto == MH_PROTO_IMAP ? 2 : 1;
}

/* Replaces del bytes at off of SEND rec with ins, within the byte cap. 0 / -1. */
static int replace(struct mut_ctx *c, size_t rec, size_t off, size_t del, const void *ins, size_t n)
{
	if (n > del && n - del > mut_room(c))
		return -1;
	mut_work_edit(c->w, rec, off, del, ins, n);
	return 0;
}

int mut_set_token(struct mut_ctx *c, const struct mut_line *l, const struct mut_tok *t, size_t ntok,
                  size_t k, const void *s, size_t n)
{
	if (k < ntok)
		return replace(c, l->rec, l->off + t[k].off, t[k].len, s, n);
	struct mh_buf *b = &c->m->scratch2;
	mh_buf_reset(b);
	mh_buf_append(b, " ", 1);
	mh_buf_append(b, s, n);
	return replace(c, l->rec, l->off + l->len, 0, b->data, b->len);
}

void mut_tag(struct mh_rng *r, struct mh_buf *b)
{
	mh_buf_printf(b, "m%04x ", (unsigned)mh_rng_below(r, 0x10000));
}

int mut_insert_text(struct mut_ctx *c, size_t at, const char *text, bool tagged)
{
	size_t parts = 1, total = strlen(text) + 8;
	for (const char *p = text; *p; p++)
		parts += *p == '\x1f';
	total += 2 * parts;
	if (c->w->n + parts > MUT_MAX_SENDS || total > mut_room(c) || at > c->w->n)
		return -1;
	struct mh_buf *b = &c->m->scratch2;
	const char *p = text;
	for (size_t i = 0; i < parts; i++) {
		size_t n = strcspn(p, "\x1f");
		mh_buf_reset(b);
		if (i == 0 && tagged && c->w->proto == MH_PROTO_IMAP)
			mut_tag(c->rng, b);
		mh_buf_append(b, p, n);
		mh_buf_append(b, "\r\n", 2);
		(void)mut_work_insert(c->w, at + i, b->data, b->len);
		p += n + (p[n] != '\0');
	}
	return (int)parts;
}

int mut_insert_line(struct mut_ctx *c, size_t at, const void *p, size_t n, bool tagged)
{
	struct mh_buf *b = &c->m->scratch2;
	mh_buf_reset(b);
	if (tagged && c->w->proto == MH_PROTO_IMAP)
		mut_tag(c->rng, b);
	mh_buf_append(b, p, n);
	mh_buf_append(b, "\r\n", 2);
	if (b->len > mut_room(c) || at > c->w->n)
		return -1;
	return mut_work_insert(c->w, at, b->data, b->len);
}

size_t mut_pick_slot(struct mut_ctx *c)
{
	return mh_rng_below(c->rng, c->w->n + 1);
}

/* A random line and its tokens; -1 if there is no line. */
static int pick_tokens(struct mut_ctx *c, struct mut_line *l, struct mut_tok *t, size_t *ntok)
{
	if (mut_pick_line(c, l) != 0)
		return -1;
	*ntok = mut_split(c->w->s[l->rec].data + l->off, l->len, t, MUT_MAX_TOKS);
	return 0;
}

/* An argument index: an existing argument, or ntok (a new one) when there is none or by chance. */
static size_t pick_arg(struct mut_ctx *c, size_t ntok)
{
	size_t first = mut_first_arg(c);
	if (ntok <= first || mh_rng_below(c->rng, 8) == 0)
		return ntok;
	return first + mh_rng_below(c->rng, ntok - first);
}

/* ---- argument lengths and counts ---- */

static const size_t lengths[] = {
    0,    1,    2,    3,    4,    7,    8,    15,   16,   31,   32,    63,    64,    65,    127,
    128,  129,  255,  256,  257,  511,  512,  513,  997,  998,  999,   1000,  1001,  1023,  1024,
    1025, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193, 16384, 32768, 65535, 65536, 65537,
};

int mut_op_arg_len(struct mut_ctx *c)
{
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	size_t ntok;
	if (pick_tokens(c, &l, t, &ntok) != 0)
		return -1;
	size_t k = pick_arg(c, ntok);
	size_t old = k < ntok ? t[k].len : 0;
	size_t max = mut_room(c) + old;
	if (max > (1u << 20))
		max = 1u << 20;
	size_t len;
	/* mostly the boundaries of the table; now and then any size, rarely up to 1 MB (those cost
	   the fuzz loop most: a megabyte is copied a few times per mutation) */
	uint64_t r = mh_rng_below(c->rng, 50);
	if (r < 40)
		len = lengths[mh_rng_below(c->rng, MH_ARRAY_SIZE(lengths))];
	else if (r < 49)
		len = mh_rng_below(c->rng, r < 45 ? 8193 : 70000);
	else
		len = mh_rng_below(c->rng, 3) == 0 ? (1u << 20)
		                                   : mh_rng_below(c->rng, (1u << 20) + 1);
	if (len > max)
		len = max;
	const unsigned char *line = c->w->s[l.rec].data + l.off;
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	/* keep an SMTP path's brackets: the length goes inside <...> */
	size_t pre = 0, post = 0;
	if (k < ntok) {
		const unsigned char *tk = line + t[k].off;
		const unsigned char *lt = memchr(tk, '<', t[k].len);
		if (lt != NULL && t[k].len > 0 && tk[t[k].len - 1] == '>') {
			pre = (size_t)(lt - tk) + 1;
			post = 1;
		}
	}
	if (pre + post > len)
		pre = post = 0;
	mh_buf_append(b, line + (k < ntok ? t[k].off : 0), pre);
	size_t fill = len - pre - post;
	uint64_t how = mh_rng_below(c->rng, 3);
	const unsigned char *src = line + (k < ntok ? t[k].off + pre : 0);
	size_t srclen = k < ntok && t[k].len > pre + post ? t[k].len - pre - post : 0;
	if (how == 0 || srclen == 0)
		mut_fill(b, "A", 1, fill);
	else if (how == 1)
		mut_fill(b, src, srclen, fill);
	else
		mut_fill(b, "abcdefghijklmnopqrstuvwxyz", 26, fill);
	mh_buf_append(b, ">", post);
	if (k < ntok && len == 0 && pre == 0) /* an empty argument: drop it with its space */
		return replace(c, l.rec, l.off + t[k].off - (t[k].off > 0),
		               t[k].len + (t[k].off > 0), NULL, 0);
	return mut_set_token(c, &l, t, ntok, k, b->data, b->len);
}

int mut_op_arg_count(struct mut_ctx *c)
{
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	size_t ntok;
	if (pick_tokens(c, &l, t, &ntok) != 0 || ntok == 0)
		return -1;
	const unsigned char *line = c->w->s[l.rec].data + l.off;
	size_t first = mut_first_arg(c);
	size_t keep = ntok < first ? ntok : first;
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	mh_buf_append(b, line, keep > 0 ? t[keep - 1].off + t[keep - 1].len : 0);
	uint64_t how = mh_rng_below(c->rng, 3);
	if (how == 0) /* no arguments at all */
		return replace(c, l.rec, l.off, l.len, b->data, b->len);
	/* the arguments (or one of them) repeated up to 1000 times */
	size_t from = ntok > first ? first + mh_rng_below(c->rng, ntok - first) : 0;
	const unsigned char *unit = ntok > first ? line + t[from].off : (const unsigned char *)"A";
	size_t unitlen = ntok > first ? (how == 1 ? l.len - t[from].off : t[from].len) : 1;
	if (ntok > first)
		mh_buf_append(b, line + b->len, t[from].off - b->len);
	else
		mh_buf_append(b, " ", 1);
	size_t times = mut_skew(c->rng, 1000);
	size_t room = mut_room(c) + l.len;
	for (size_t i = 0; i < times && b->len + unitlen + 1 <= room; i++) {
		if (i > 0)
			mh_buf_append(b, " ", 1);
		mh_buf_append(b, unit, unitlen);
	}
	return replace(c, l.rec, l.off, l.len, b->data, b->len);
}

/* ---- numbers ---- */

static const char *const numbers[] = {
    "0",
    "-1",
    "1",
    "-0",
    "+1",
    "00",
    "01",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "0x7fffffff",
    "1e9",
    "1.5",
    "65535",
    "65536",
    "1000000",
    " 1",
    "1 ",
};

/* Appends an interesting number to b (sometimes a huge digit string within room). */
static void put_number(struct mut_ctx *c, struct mh_buf *b, size_t room)
{
	if (mh_rng_below(c->rng, 8) == 0 && room > 20) {
		size_t n = 20 + mh_rng_below(c->rng, (room < 4000 ? room : 4000) - 19);
		mh_buf_append(b, "1", 1);
		mut_fill(b, "9", 1, n - 1);
		return;
	}
	mh_buf_append_str(b, numbers[mh_rng_below(c->rng, MH_ARRAY_SIZE(numbers))]);
}

int mut_op_number(struct mut_ctx *c)
{
	struct mut_line l;
	if (mut_pick_line(c, &l) != 0)
		return -1;
	const unsigned char *line = c->w->s[l.rec].data + l.off;
	/* a random run of digits in the line, else a new argument */
	size_t runs = 0, pick_s = 0, pick_e = 0;
	for (size_t i = 0; i < l.len;) {
		if (line[i] < '0' || line[i] > '9') {
			i++;
			continue;
		}
		size_t s = i;
		while (i < l.len && line[i] >= '0' && line[i] <= '9')
			i++;
		if (mh_rng_below(c->rng, ++runs) == 0) {
			pick_s = s;
			pick_e = i;
		}
	}
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	if (runs == 0) {
		mh_buf_append(b, " ", 1);
		put_number(c, b, mut_room(c));
		return replace(c, l.rec, l.off + l.len, 0, b->data, b->len);
	}
	put_number(c, b, mut_room(c) + (pick_e - pick_s));
	return replace(c, l.rec, l.off + pick_s, pick_e - pick_s, b->data, b->len);
}

/* ---- control bytes, UTF-8, quoted strings ---- */

struct bytes {
	const char *p;
	size_t n;
};
#define B(s)                                                                                       \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}

static const struct bytes ctls[] = {
    B("\0"),   B("\r"), B("\n"),   B("\r\0"), B("\0\r\n"), B("\n\r"), B("\r\r\n"),
    B("\x7f"), B("\t"), B("\x1b"), B("\x08"), B("\xff"),   B(" "),    B("  "),
};
static const struct bytes utf8s[] = {
    B("\xc0\xaf"),
    B("\xe0\x80\xaf"),
    B("\xf0\x80\x80\xaf"),
    B("\xc0\x80"),
    B("\xe2\x82"),
    B("\xf0\x9f\x98"),
    B("\xc3"),
    B("\xed\xa0\x80"),
    B("\xf4\x90\x80\x80"),
    B("\xff\xfe"),
    B("\xef\xbb\xbf"),
    B("\xf8\x88\x80\x80\x80"),
    B("\xc3\xa9"),
    B("\xe2\x80\xae"),
    B("\xce\xb4\xce\xbf\xce\xba"),
    B("\xf0\x9f\x98\x80"),
    B("\x80"),
    B("\xbf\xbf"),
};

/* Inserts (or with replace_tok, puts in place of a token) one of set into a random line. */
static int put_bytes(struct mut_ctx *c, const struct bytes *set, size_t nset, bool whole_tok)
{
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	size_t ntok;
	if (pick_tokens(c, &l, t, &ntok) != 0)
		return -1;
	const struct bytes *v = &set[mh_rng_below(c->rng, nset)];
	size_t first = mut_first_arg(c);
	if (whole_tok && ntok > first)
		return mut_set_token(c, &l, t, ntok, pick_arg(c, ntok), v->p, v->n);
	/* a point inside the arguments when there are some, else anywhere in the line */
	size_t lo = ntok > first ? t[first].off : 0;
	size_t at = lo + mh_rng_below(c->rng, l.len - lo + 1);
	if (mh_rng_below(c->rng, 4) == 0 && at < l.len)
		return replace(c, l.rec, l.off + at, 1, v->p, v->n);
	return replace(c, l.rec, l.off + at, 0, v->p, v->n);
}

int mut_op_ctl(struct mut_ctx *c)
{
	return put_bytes(c, ctls, MH_ARRAY_SIZE(ctls), false);
}

int mut_op_utf8(struct mut_ctx *c)
{
	static const char *const path_verbs[] = {"MAIL", "RCPT", NULL};
	struct mut_line l;
	if (c->w->proto == MH_PROTO_SMTP && mh_rng_below(c->rng, 4) == 0 &&
	    mut_find_verb(c, path_verbs, &l) == 0) {
		/* an internationalized address (RFC 6531), valid UTF-8 or not */
		static const char *const addrs[] = {
		    "<\xce\xb4\xce\xbf\xce\xba\xce\xb9\xce\xbc\xce\xae@\xcf\x80\xce\xb1\xcf\x81"
		    "\xce\xac\xce\xb4\xce\xb5\xce\xb9\xce\xb3\xce\xbc\xce\xb1.\xce\xb4\xce\xbf>",
		    "<\xc0\xaf@x>",
		    "<a@\xe2\x82>",
		    "<\xed\xa0\x80@x>",
		    "<\xef\xbb\xbf"
		    "a@b>",
		};
		const unsigned char *line = c->w->s[l.rec].data + l.off;
		const unsigned char *lt = memchr(line, '<', l.len);
		const unsigned char *gt =
		    lt != NULL ? memchr(lt, '>', l.len - (size_t)(lt - line)) : NULL;
		if (lt != NULL && gt != NULL) {
			const char *a = addrs[mh_rng_below(c->rng, MH_ARRAY_SIZE(addrs))];
			return replace(c, l.rec, l.off + (size_t)(lt - line), (size_t)(gt - lt) + 1,
			               a, strlen(a));
		}
	}
	return put_bytes(c, utf8s, MH_ARRAY_SIZE(utf8s), mh_rng_below(c->rng, 4) == 0);
}

int mut_op_quoted(struct mut_ctx *c)
{
	static const struct bytes quoted[] = {
	    B("\"\""),      B("\"\\\"\""), B("\"\\\\\""),     B("\"unterminated"),
	    B("\"a\\"),     B("\"\\x\""),  B("\"a\"b\""),     B("\"\\"),
	    B("\""),        B("\"\r\n\""), B("\"a\0b\""),     B("\"\\\"\\\"\\\"\""),
	    B("\"INBOX\""), B("\"a b\""),  B("\"\xc3\xa9\""),
	};
	static const char *const path_verbs[] = {"MAIL", "RCPT", NULL};
	struct mut_line l;
	if (c->w->proto == MH_PROTO_SMTP && mh_rng_below(c->rng, 2) == 0 &&
	    mut_find_verb(c, path_verbs, &l) == 0) {
		/* a quoted local part: <"a\"b"@x> */
		const unsigned char *line = c->w->s[l.rec].data + l.off;
		const unsigned char *lt = memchr(line, '<', l.len);
		if (lt != NULL) {
			const struct bytes *q =
			    &quoted[mh_rng_below(c->rng, MH_ARRAY_SIZE(quoted))];
			struct mh_buf *b = &c->m->scratch;
			mh_buf_reset(b);
			mh_buf_append(b, q->p, q->n);
			mh_buf_append_str(b, "@fuzz.example>");
			size_t at = (size_t)(lt - line) + 1;
			return replace(c, l.rec, l.off + at, l.len - at, b->data, b->len);
		}
	}
	return put_bytes(c, quoted, MH_ARRAY_SIZE(quoted), true);
}

/* ---- base64 ---- */

static void b64(struct mh_buf *b, const unsigned char *p, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		char o[4] = {al[v >> 18 & 63], al[v >> 12 & 63], i + 1 < n ? al[v >> 6 & 63] : '=',
		             i + 2 < n ? al[v & 63] : '='};
		mh_buf_append(b, o, 4);
	}
}

/* Appends a broken (or valid but hostile) base64 string built from tok. */
static void bad_b64(struct mut_ctx *c, struct mh_buf *b, const unsigned char *tok, size_t n,
                    size_t room)
{
	static const struct bytes junk[] = {B("!"),  B("-"),        B("_"), B("."),  B(" "),
	                                    B("\0"), B("\xc3\xa9"), B("*"), B("\t"), B("=")};
	static const struct bytes fixed[] = {B("="),        B(""),    B("*"),    B("===="),
	                                     B("A"),        B("AA"),  B("AAA="), B("A==="),
	                                     B("AGZvbw=="), B("AAAA")};
	static const struct bytes plains[] = {B("\0\0\0"), B("user\0"), B("\0u\0p\0x"),
	                                      B("\0\0password"), B("a\0b\0c\0d")};
	size_t strip = n;
	while (strip > 0 && tok[strip - 1] == '=')
		strip--;
	switch (mh_rng_below(c->rng, 7)) {
	case 0: /* padding removed, or too much of it */
		mh_buf_append(b, tok, strip);
		mh_buf_append(b, "===", mh_rng_below(c->rng, 4));
		break;
	case 1: { /* a junk character somewhere */
		size_t at = mh_rng_below(c->rng, n + 1);
		const struct bytes *j = &junk[mh_rng_below(c->rng, MH_ARRAY_SIZE(junk))];
		mh_buf_append(b, tok, at);
		mh_buf_append(b, j->p, j->n);
		mh_buf_append(b, tok + at, n - at);
		break;
	}
	case 2: /* truncated to a length that is not a multiple of 4 */
		mh_buf_append(b, tok,
		              strip > 0 ? strip - 1 - mh_rng_below(c->rng, strip < 3 ? strip : 3)
		                        : 0);
		break;
	case 3: {
		const struct bytes *f = &fixed[mh_rng_below(c->rng, MH_ARRAY_SIZE(fixed))];
		mh_buf_append(b, f->p, f->n);
		break;
	}
	case 4: { /* valid base64 of a malformed SASL PLAIN message */
		const struct bytes *p = &plains[mh_rng_below(c->rng, MH_ARRAY_SIZE(plains))];
		b64(b, (const unsigned char *)p->p, p->n);
		break;
	}
	case 5: { /* long, valid */
		size_t len = mut_skew(c->rng, room / 2 < 65536 ? room / 2 + 1 : 65536);
		struct mh_buf *raw = &c->m->scratch2;
		mh_buf_reset(raw);
		mut_random_bytes(c->rng, raw, len);
		b64(b, raw->data, raw->len);
		break;
	}
	default: /* padding in the middle */
		mh_buf_append(b, tok, strip / 2);
		mh_buf_append(b, "=", 1);
		mh_buf_append(b, tok + strip / 2, n - strip / 2);
		break;
	}
}

int mut_op_base64(struct mut_ctx *c)
{
	static const char *const auth_verbs[] = {"AUTH", "AUTHENTICATE", NULL};
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	if (mut_find_verb(c, auth_verbs, &l) == 0) {
		const unsigned char *line = c->w->s[l.rec].data + l.off;
		size_t ntok = mut_split(line, l.len, t, MUT_MAX_TOKS);
		size_t k = mut_first_arg(c) + 1; /* the initial response after the mechanism */
		if (ntok > k) {
			bad_b64(c, b, line + t[k].off, t[k].len, mut_room(c));
			return mut_set_token(c, &l, t, ntok, k, b->data, b->len);
		}
		/* a response line right after the AUTH line's write */
		bad_b64(c, b, (const unsigned char *)"AGZ1enoAZnV6eg==", 16, mut_room(c));
		mh_buf_append(b, "\r\n", 2);
		if (b->len > mut_room(c) || mut_work_insert(c->w, l.rec + 1, b->data, b->len) != 0)
			return -1;
		return 0;
	}
	/* no AUTH yet: a new one with a broken initial response */
	mh_buf_append_str(b, c->w->proto == MH_PROTO_IMAP ? "AUTHENTICATE PLAIN " : "AUTH PLAIN ");
	bad_b64(c, b, (const unsigned char *)"AGZ1enoAZnV6eg==", 16, mut_room(c) / 2);
	return mut_insert_line(c, mut_pick_slot(c), b->data, b->len, true);
}

/* ---- dictionary ---- */

int mut_op_dict(struct mut_ctx *c)
{
	struct mh_mutator *m = c->m;
	if (m->ndict == 0)
		return -1;
	/* the user's tokens are picked half of the time when there are some */
	size_t user = m->ndict - m->nbuiltin;
	const struct mut_token *tk = user > 0 && mh_rng_below(c->rng, 2) == 0
	                                 ? &m->dict[m->nbuiltin + mh_rng_below(c->rng, user)]
	                                 : &m->dict[mh_rng_below(c->rng, m->ndict)];
	struct mut_line l;
	struct mut_tok t[MUT_MAX_TOKS];
	size_t ntok;
	if (pick_tokens(c, &l, t, &ntok) != 0)
		return -1;
	switch (mh_rng_below(c->rng, 3)) {
	case 0: /* in place of an argument, or as a new one */
		return mut_set_token(c, &l, t, ntok, pick_arg(c, ntok), tk->data, tk->len);
	case 1: { /* in place of the verb */
		size_t v = mut_first_arg(c) - 1;
		if (v < ntok)
			return mut_set_token(c, &l, t, ntok, v, tk->data, tk->len);
		return mut_set_token(c, &l, t, ntok, ntok, tk->data, tk->len);
	}
	default: /* anywhere in the line */
		return replace(c, l.rec, l.off + mh_rng_below(c->rng, l.len + 1), 0, tk->data,
		               tk->len);
	}
}

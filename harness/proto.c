/* proto.c: parser setup and dispatch, the line framing shared by the protocol parsers, and
 * capabilities. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

void mh_limits_default(struct mh_limits *lim)
{
	lim->max_line = 65536;
	lim->max_reply = 16u * 1024 * 1024;
	lim->max_lines = 200000;
}

static void parser_rewind(struct mh_parser *p)
{
	p->pos = 0;
	p->line_start = 0;
	p->st = 0;
	p->literal_left = 0;
	p->first_code = 0;
	p->seen_status = false;
	p->resp_start = 0;
	p->count = 0;
}

void mh_parser_init(struct mh_parser *p, enum mh_proto_id proto, const struct mh_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->proto = proto;
	mh_limits_default(&p->lim);
	if (lim != NULL) {
		if (lim->max_line > 0)
			p->lim.max_line = lim->max_line;
		if (lim->max_reply > 0)
			p->lim.max_reply = lim->max_reply;
		if (lim->max_lines > 0)
			p->lim.max_lines = lim->max_lines;
	}
	p->expect.kind = MH_EXPECT_GREETING;
	parser_rewind(p);
}

void mh_parser_expect(struct mh_parser *p, const struct mh_expect *e)
{
	p->expect = *e;
	p->expect.tag[sizeof(p->expect.tag) - 1] = '\0';
	parser_rewind(p);
}

typedef int (*proto_feed_fn)(struct mh_parser *p, const unsigned char *buf, size_t len,
                             struct mh_reply *r, size_t *consumed_r, struct mh_error *err);

static const proto_feed_fn proto_feeds[] = {
    [MH_PROTO_SMTP] = mh_proto_smtp_feed,
    [MH_PROTO_IMAP] = mh_proto_imap_feed,
    [MH_PROTO_POP3] = mh_proto_pop3_feed,
};
_Static_assert(MH_ARRAY_SIZE(proto_feeds) == MH_PROTO_COUNT, "proto_feeds out of sync");

int mh_parser_feed(struct mh_parser *p, const unsigned char *buf, size_t len, struct mh_reply *r,
                   size_t *consumed_r, struct mh_error *err)
{
	if ((unsigned)p->proto >= MH_PROTO_COUNT) {
		mh_error_set(err, "parser has no protocol (%d)", (int)p->proto);
		return -1;
	}
	if (len < p->pos) {
		mh_error_set(err, "parser fed %zu bytes, fewer than the %zu already scanned", len,
		             p->pos);
		return -1;
	}
	size_t consumed = 0;
	int rc = proto_feeds[p->proto](p, buf, len, r, &consumed, err);
	if (rc == 1) {
		*consumed_r = consumed;
		parser_rewind(p);
	}
	return rc;
}

int mh_proto_next_line(struct mh_parser *p, const unsigned char *buf, size_t len, size_t *lf_r,
                       struct mh_error *err)
{
	/* Bytes at index >= max_reply cannot belong to the reply; scanning stops there, so a cap is
	   hit at the same byte however the input was split across feeds. */
	size_t end = len < p->lim.max_reply ? len : p->lim.max_reply;
	size_t max_line = p->lim.max_line;
	if (p->pos < end) {
		const unsigned char *lf = memchr(buf + p->pos, '\n', end - p->pos);
		if (lf != NULL) {
			size_t i = (size_t)(lf - buf);
			size_t n = i - p->line_start;
			if (n > 0 && buf[i - 1] == '\r')
				n--;
			if (n > max_line) {
				mh_error_set(err, "line exceeds %zu bytes without CRLF", max_line);
				return -1;
			}
			*lf_r = i;
			return 1;
		}
		p->pos = end;
	}
	/* n bytes without LF: the line's text is at least n - 1 bytes (a CR may still end it). */
	size_t n = end - p->line_start;
	if (n > max_line && n - max_line > 1) {
		mh_error_set(err, "line exceeds %zu bytes without CRLF", max_line);
		return -1;
	}
	if (len > end) {
		mh_error_set(err, "reply exceeds %zu bytes", p->lim.max_reply);
		return -1;
	}
	return 0;
}

int mh_proto_count_line(struct mh_parser *p, struct mh_error *err)
{
	if (++p->count > p->lim.max_lines) {
		mh_error_set(err, "reply exceeds %zu lines", p->lim.max_lines);
		return -1;
	}
	return 0;
}

void mh_proto_reply_begin(struct mh_reply *r, enum mh_proto_id proto, const unsigned char *buf,
                          size_t n)
{
	mh_reply_reset(r);
	r->proto = proto;
	mh_buf_append(&r->raw, buf, n);
}

/* ---- capabilities ---- */

void mh_caps_init(struct mh_caps *c)
{
	memset(c, 0, sizeof(*c));
}

void mh_caps_clear(struct mh_caps *c)
{
	for (size_t i = 0; i < c->n && i < MH_CAPS_MAX; i++) {
		free(c->name[i]);
		free(c->value[i]);
		c->name[i] = NULL;
		c->value[i] = NULL;
	}
	c->n = 0;
}

void mh_caps_deinit(struct mh_caps *c)
{
	mh_caps_clear(c);
}

/* Adds name (upper-cased) and value; silently drops entries past MH_CAPS_MAX. */
static void caps_add(struct mh_caps *c, const unsigned char *name, size_t nlen,
                     const unsigned char *value, size_t vlen)
{
	if (c->n >= MH_CAPS_MAX || nlen == 0)
		return;
	char *n = mh_strndup((const char *)name, nlen);
	for (size_t i = 0; i < nlen; i++)
		if (n[i] >= 'a' && n[i] <= 'z')
			n[i] = (char)(n[i] - 32);
	c->name[c->n] = n;
	c->value[c->n] = mh_strndup((const char *)value, vlen);
	c->n++;
}

/* Splits one "KEYWORD rest" line (EHLO line text, CAPA line) into a capability. */
static void caps_add_line(struct mh_caps *c, const unsigned char *s, size_t n)
{
	size_t k = 0;
	while (k < n && s[k] != ' ')
		k++;
	size_t v = k;
	while (v < n && s[v] == ' ')
		v++;
	caps_add(c, s, k, s + v, n - v);
}

static int caps_from_smtp(struct mh_caps *c, const struct mh_reply *r)
{
	if (r->code != 250 || r->nlines < 2)
		return 0;
	mh_caps_clear(c);
	for (size_t i = 1; i < r->nlines; i++) {
		size_t n;
		const unsigned char *s = mh_reply_line_data(r, i, &n);
		if (n >= 4)
			caps_add_line(c, s + 4, n - 4);
	}
	return 1;
}

static bool is_space(unsigned char ch)
{
	return ch <= ' ';
}

/* Length of the token at s[0..n) up to the first space / control byte. */
static size_t token_len(const unsigned char *s, size_t n)
{
	size_t k = 0;
	while (k < n && !is_space(s[k]))
		k++;
	return k;
}

static bool token_is(const unsigned char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n == w && mh_strncaseeq((const char *)s, word, w);
}

/* Finds a capability list in one IMAP response: "* CAPABILITY ..." or "<tag|*> <status> [CAPABILITY
 * ...]". */
static bool imap_caps_list(const unsigned char *s, size_t n, size_t *from_r, size_t *to_r)
{
	size_t t = token_len(s, n);
	if (t == 0 || t >= n || s[t] != ' ')
		return false;
	size_t a = t + 1;
	size_t alen = token_len(s + a, n - a);
	if (token_is(s, t, "*") && token_is(s + a, alen, "CAPABILITY")) {
		*from_r = a + alen;
		*to_r = n;
		return true;
	}
	if (!token_is(s + a, alen, "OK") && !token_is(s + a, alen, "NO") &&
	    !token_is(s + a, alen, "BAD") && !token_is(s + a, alen, "PREAUTH") &&
	    !token_is(s + a, alen, "BYE"))
		return false;
	size_t b = a + alen;
	static const char open[] = " [CAPABILITY";
	size_t olen = sizeof(open) - 1;
	if (n - b < olen || !mh_strncaseeq((const char *)s + b, open, olen))
		return false;
	b += olen;
	if (b < n && s[b] != ' ' && s[b] != ']')
		return false;
	const unsigned char *close = memchr(s + b, ']', n - b);
	*from_r = b;
	*to_r = close != NULL ? (size_t)(close - s) : n;
	return true;
}

static int caps_from_imap(struct mh_caps *c, const struct mh_reply *r)
{
	const unsigned char *best = NULL;
	size_t from = 0, to = 0;
	for (size_t i = 0; i < r->nlines; i++) {
		size_t n, f, t;
		const unsigned char *s = mh_reply_line_data(r, i, &n);
		if (imap_caps_list(s, n, &f, &t)) {
			best = s;
			from = f;
			to = t;
		}
	}
	if (best == NULL)
		return 0;
	mh_caps_clear(c);
	size_t k = from;
	while (k < to) {
		while (k < to && is_space(best[k]))
			k++;
		size_t len = token_len(best + k, to - k);
		caps_add(c, best + k, len, (const unsigned char *)"", 0);
		k += len;
	}
	return 1;
}

static int caps_from_pop3(struct mh_caps *c, const struct mh_reply *r)
{
	if (r->cls != MH_RC_OK || !r->multiline)
		return 0;
	mh_caps_clear(c);
	const unsigned char *s = r->body.data;
	size_t n = r->body.len, k = 0;
	while (s != NULL && k < n) {
		const unsigned char *lf = memchr(s + k, '\n', n - k);
		size_t e = lf != NULL ? (size_t)(lf - s) : n;
		size_t le = (e > k && s[e - 1] == '\r') ? e - 1 : e;
		caps_add_line(c, s + k, le - k);
		k = e + 1;
	}
	return 1;
}

typedef int (*caps_fn)(struct mh_caps *c, const struct mh_reply *r);
static const caps_fn caps_parsers[] = {
    [MH_PROTO_SMTP] = caps_from_smtp,
    [MH_PROTO_IMAP] = caps_from_imap,
    [MH_PROTO_POP3] = caps_from_pop3,
};
_Static_assert(MH_ARRAY_SIZE(caps_parsers) == MH_PROTO_COUNT, "caps_parsers out of sync");

int mh_caps_from_reply(struct mh_caps *c, const struct mh_reply *r)
{
	if ((unsigned)r->proto >= MH_PROTO_COUNT)
		return 0;
	return caps_parsers[r->proto](c, r);
}

const char *mh_caps_get(const struct mh_caps *c, const char *name)
{
	for (size_t i = 0; i < c->n && i < MH_CAPS_MAX; i++)
		if (mh_strcaseeq(c->name[i], name))
			return c->value[i];
	return NULL;
}

bool mh_caps_has(const struct mh_caps *c, const char *name)
{
	return mh_caps_get(c, name) != NULL;
}

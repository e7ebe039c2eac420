/* proto_imap.c: IMAP response framing with literals, and grammar checks (RFC 3501 7 and 9). */
#include "proto.h"

#include <stdio.h>
#include <string.h>

/* Status atoms, indexed by enum imap_status; the class each one gives. */
enum imap_status { ST_OK, ST_NO, ST_BAD, ST_BYE, ST_PREAUTH, ST_COUNT };
static const char *const status_words[] = {
    [ST_OK] = "OK", [ST_NO] = "NO", [ST_BAD] = "BAD", [ST_BYE] = "BYE", [ST_PREAUTH] = "PREAUTH",
};
static const enum mh_reply_class status_classes[] = {
    [ST_OK] = MH_RC_OK,   [ST_NO] = MH_RC_NO,           [ST_BAD] = MH_RC_BAD,
    [ST_BYE] = MH_RC_BYE, [ST_PREAUTH] = MH_RC_PREAUTH,
};
_Static_assert(MH_ARRAY_SIZE(status_words) == ST_COUNT, "status_words out of sync");
_Static_assert(MH_ARRAY_SIZE(status_classes) == ST_COUNT, "status_classes out of sync");

/* A "{n}" / "{n+}" literal header at the end of a line. */
struct literal {
	uint64_t n; /* saturates at UINT64_MAX */
	bool plus;
	size_t digits; /* offset of the digits in the buffer */
	size_t ndigits;
};

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* True if the line text d[s..e) ends with a literal header; fills *lit. */
static bool literal_at_end(const unsigned char *d, size_t s, size_t e, struct literal *lit)
{
	if (e - s < 3 || d[e - 1] != '}')
		return false;
	size_t j = e - 1;
	lit->plus = d[j - 1] == '+';
	if (lit->plus)
		j--;
	size_t k = j;
	while (k > s && is_digit(d[k - 1]))
		k--;
	if (k == j || k == s || d[k - 1] != '{')
		return false;
	uint64_t v = 0;
	for (size_t i = k; i < j; i++) {
		unsigned dig = (unsigned)(d[i] - '0');
		if (v > (UINT64_MAX - dig) / 10) {
			v = UINT64_MAX;
			break;
		}
		v = v * 10 + dig;
	}
	lit->n = v;
	lit->digits = k;
	lit->ndigits = j - k;
	return true;
}

static size_t text_end(const unsigned char *d, size_t s, size_t lf)
{
	return (lf > s && d[lf - 1] == '\r') ? lf - 1 : lf;
}

/* Violations recorded once per reply. */
enum imap_seen {
	SEEN_BARE_LF = 1 << 0,
	SEEN_NUL = 1 << 1,
	SEEN_PLUS = 1 << 2,
	SEEN_STAR_SP = 1 << 3,
};

/* Index of the status atom s[0..n) (any case), or -1. */
static int status_lookup(const unsigned char *s, size_t n)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (strlen(status_words[i]) == n &&
		    mh_strncaseeq((const char *)s, status_words[i], n))
			return i;
	return -1;
}

/* tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 9): CHAR minus CTL, SP, ( ) { % * " \ and "+". */
static bool tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

/* Copies s[0..n) escaped (for syntax messages) into out. */
static void escape_into(char *out, size_t outlen, const unsigned char *s, size_t n)
{
	struct mh_buf b;
	mh_buf_init(&b);
	mh_buf_append_escaped(&b, s, n, 40);
	snprintf(out, outlen, "%s", mh_buf_cstr(&b));
	mh_buf_deinit(&b);
}

/* resp-text = ["[" resp-text-code "]" SP] text: fills resp_code and text. */
static void resp_text(struct mh_reply *r, const unsigned char *t, size_t n)
{
	if (n > 0 && t[0] == '[') {
		const unsigned char *close = memchr(t, ']', n);
		if (close == NULL) {
			mh_reply_syntax(r, "RFC 3501 9",
			                "response code is not closed by \"]\" (resp-text)");
		} else {
			size_t clen = (size_t)(close - t) - 1;
			if (clen >= sizeof(r->resp_code))
				clen = sizeof(r->resp_code) - 1;
			memcpy(r->resp_code, t + 1, clen);
			r->resp_code[clen] = '\0';
			size_t k = (size_t)(close - t) + 1;
			if (k < n && t[k] == ' ')
				k++;
			else
				mh_reply_syntax(
				    r, "RFC 3501 9",
				    "response code \"]\" is not followed by SP (resp-text)");
			t += k;
			n -= k;
		}
	}
	mh_buf_append(&r->text, t, n);
}

static void set_status(struct mh_reply *r, enum mh_reply_class cls, const char *status)
{
	r->cls = cls;
	snprintf(r->status, sizeof(r->status), "%s", status);
}

/* Tagged final response t[0..n): tag, tag match, status atom. Returns the index after the tag's SP.
 */
static size_t tagged_head(const struct mh_parser *p, struct mh_reply *r, const unsigned char *t,
                          size_t n)
{
	size_t tl = 0;
	while (tl < n && t[tl] != ' ')
		tl++;
	size_t cl = tl < sizeof(r->tag) ? tl : sizeof(r->tag) - 1;
	memcpy(r->tag, t, cl);
	r->tag[cl] = '\0';
	char shown[200];
	escape_into(shown, sizeof(shown), t, tl);
	if (tl == 0) {
		mh_reply_syntax(r, "RFC 3501 9", "response begins with an empty tag");
	} else {
		for (size_t i = 0; i < tl; i++) {
			if (!tag_char(t[i])) {
				mh_reply_syntax(
				    r, "RFC 3501 9",
				    "tag \"%s\" has byte 0x%02x; tag = 1*<any ASTRING-CHAR "
				    "except \"+\">",
				    shown, t[i]);
				break;
			}
		}
	}
	const char *want = p->expect.tag;
	size_t wl = strlen(want);
	/* a tag longer than the expectation holds is kept cut short: its first bytes must match */
	bool cut = wl == sizeof(p->expect.tag) - 1;
	bool differs = (cut ? tl < wl : tl != wl) || memcmp(t, want, wl) != 0;
	if (want[0] != '\0' && differs)
		mh_reply_syntax(r, "RFC 3501 2.2.2",
		                "tagged response has tag \"%s\", not the command's tag \"%s\"",
		                shown, want);
	return tl < n ? tl + 1 : tl;
}

/* Fills cls, status, tag, resp_code and text from the reply's final response t[0..n). */
static void final_response(const struct mh_parser *p, struct mh_reply *r, const unsigned char *t,
                           size_t n)
{
	bool greeting = p->expect.kind == MH_EXPECT_GREETING;
	bool untagged = n > 0 && t[0] == '*', cont = n > 0 && t[0] == '+';
	if (greeting && !untagged)
		mh_reply_syntax(
		    r, "RFC 3501 9",
		    "the greeting is not untagged; greeting = \"*\" SP (resp-cond-auth / "
		    "resp-cond-bye) CRLF");
	size_t k;
	if (untagged || cont) {
		k = 1;
		if (n > 1 && t[1] == ' ')
			k = 2;
		else
			mh_reply_syntax(r, "RFC 3501 9", "\"%c\" is not followed by SP", t[0]);
		if (cont) {
			set_status(r, MH_RC_CONTINUE, "+");
			resp_text(r, t + k, n - k);
			return;
		}
	} else {
		k = tagged_head(p, r, t, n);
	}
	size_t al = 0;
	while (k + al < n && t[k + al] != ' ')
		al++;
	int st = status_lookup(t + k, al);
	size_t after = k + al;
	if (after < n)
		after++;
	else if (st >= 0)
		mh_reply_syntax(r, "RFC 3501 9", "status %s is not followed by SP and text",
		                status_words[st]);
	char shown[200];
	escape_into(shown, sizeof(shown), t + k, al);
	if (untagged && greeting) {
		if (st != ST_OK && st != ST_PREAUTH && st != ST_BYE)
			mh_reply_syntax(
			    r, "RFC 3501 7.1",
			    "greeting status is \"%s\", not one of the three greetings OK, "
			    "PREAUTH or BYE (7.1.1, 7.1.4, 7.1.5; greeting ABNF in 9)",
			    shown);
	} else if (untagged) {
		if (st != ST_BYE) {
			set_status(r, MH_RC_UNTAGGED, "*");
			if (st >= 0)
				resp_text(r, t + after, n - after);
			else
				mh_buf_append(&r->text, t + k, n - k);
			return;
		}
	} else if (st == ST_BYE || st == ST_PREAUTH) {
		mh_reply_syntax(r, "RFC 3501 7.1", "%s is always untagged", status_words[st]);
	} else if (st < 0) {
		mh_reply_syntax(r, "RFC 3501 9", "tagged status is \"%s\", not OK, NO or BAD",
		                shown);
	}
	if (st < 0) {
		set_status(r, MH_RC_BAD, "");
		mh_buf_append(&r->text, t + k, n - k);
		return;
	}
	set_status(r, status_classes[st], status_words[st]);
	resp_text(r, t + after, n - after);
}

/* Per-response checks on a response that is not the final one (untagged data). */
static void check_untagged(struct mh_reply *r, const unsigned char *t, size_t n, unsigned *seen)
{
	if ((n < 2 || t[1] != ' ') && !(*seen & SEEN_STAR_SP)) {
		*seen |= SEEN_STAR_SP;
		mh_reply_syntax(r, "RFC 3501 9", "response %zu: \"*\" is not followed by SP",
		                r->nlines);
	}
}

/* Fills r from the complete reply buf[0..n), walking responses and literals as the framer did. */
static void imap_finish(const struct mh_parser *p, struct mh_reply *r, const unsigned char *buf,
                        size_t n)
{
	mh_proto_reply_begin(r, MH_PROTO_IMAP, buf, n);
	const unsigned char *d = r->raw.data;
	unsigned seen = 0;
	size_t off = 0, rs = 0;
	while (off < n) {
		const unsigned char *lfp = memchr(d + off, '\n', n - off);
		if (lfp == NULL)
			break; /* cannot happen: the framer ended the reply on an LF */
		size_t lf = (size_t)(lfp - d);
		size_t e = text_end(d, off, lf);
		if (e == lf && !(seen & SEEN_BARE_LF)) {
			seen |= SEEN_BARE_LF;
			mh_reply_syntax(r, "RFC 3501 9", "line ends in a bare LF, not CRLF");
		}
		struct literal lit;
		if (d[rs] == '*' && literal_at_end(d, off, e, &lit)) {
			if (lit.plus && !(seen & SEEN_PLUS)) {
				seen |= SEEN_PLUS;
				mh_reply_syntax(
				    r, "RFC 7888 3",
				    "non-synchronizing literal {n+} sent by the server");
			}
			if (lit.n > n - (lf + 1))
				break; /* cannot happen: the framer saw the whole literal */
			off = lf + 1 + (size_t)lit.n;
			continue;
		}
		mh_reply_add_line(r, rs, e - rs);
		if (!(seen & SEEN_NUL) && memchr(d + rs, '\0', e - rs) != NULL) {
			seen |= SEEN_NUL;
			mh_reply_syntax(
			    r, "RFC 3501 9",
			    "response %zu contains a NUL byte, which MUST NOT be used at any time",
			    r->nlines);
		}
		if (lf + 1 == n)
			final_response(p, r, d + rs, e - rs);
		else
			check_untagged(r, d + rs, e - rs, &seen);
		off = rs = lf + 1;
	}
}

int mh_proto_imap_feed(struct mh_parser *p, const unsigned char *buf, size_t len,
                       struct mh_reply *r, size_t *consumed_r, struct mh_error *err)
{
	/* One pass per line or literal: bounded by len, lim.max_reply and lim.max_lines. */
	for (;;) {
		if (p->literal_left > 0) {
			size_t avail = len - p->pos;
			if (avail < p->literal_left) {
				p->literal_left -= avail;
				p->pos = len;
				return 0;
			}
			p->pos += (size_t)p->literal_left;
			p->literal_left = 0;
			p->line_start = p->pos;
		}
		size_t lf;
		int rc = mh_proto_next_line(p, buf, len, &lf, err);
		if (rc != 1)
			return rc;
		size_t e = text_end(buf, p->line_start, lf);
		struct literal lit;
		if (buf[p->resp_start] == '*' && literal_at_end(buf, p->line_start, e, &lit)) {
			/* lf < max_reply, so the subtraction cannot wrap */
			if (lit.n > p->lim.max_reply - (lf + 1)) {
				int shown = lit.ndigits > 30 ? 30 : (int)lit.ndigits;
				mh_error_set(
				    err, "literal of %.*s%s bytes exceeds the %zu-byte reply cap",
				    shown, (const char *)buf + lit.digits,
				    lit.ndigits > 30 ? "..." : "", p->lim.max_reply);
				return -1;
			}
			p->pos = p->line_start = lf + 1;
			p->literal_left = lit.n;
			continue;
		}
		if (mh_proto_count_line(p, err) < 0)
			return -1;
		p->pos = p->line_start = lf + 1;
		if (p->expect.kind != MH_EXPECT_REPLY || buf[p->resp_start] != '*') {
			*consumed_r = lf + 1;
			imap_finish(p, r, buf, lf + 1);
			return 1;
		}
		p->resp_start = lf + 1;
	}
}

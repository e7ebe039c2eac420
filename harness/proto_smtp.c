/* proto_smtp.c: SMTP reply framing and grammar checks (RFC 5321 4.2), enhanced status codes (RFC
 * 2034, RFC 3463). */
#include "proto.h"

#include <stdio.h>
#include <string.h>

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* True if s[0..n) starts with three digits. */
static bool has_code(const unsigned char *s, size_t n)
{
	return n >= 3 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]);
}

/* Violations recorded once per reply, however many lines repeat them. */
enum smtp_seen {
	SEEN_BARE_LF = 1 << 0,
	SEEN_NUL = 1 << 1,
	SEEN_TEXT = 1 << 2,
	SEEN_MISMATCH = 1 << 3,
	SEEN_SEP = 1 << 4,
};

/* Parses a loose "D.D{1,3}.D{1,3}" at the start of t, followed by SP, HT or the end; writes it to
   out (at least 16 bytes) or leaves out empty. mh_smtp_enhanced_valid judges it. */
static void enhanced_parse(const unsigned char *t, size_t n, char *out)
{
	out[0] = '\0';
	size_t i = 0;
	if (n < 5 || !is_digit(t[0]) || t[1] != '.')
		return;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (i < n && d < 4 && is_digit(t[i])) {
			i++;
			d++;
		}
		if (d == 0 || d > 3)
			return;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return;
			i++;
		}
	}
	if (i < n && t[i] != ' ' && t[i] != '\t')
		return;
	memcpy(out, t, i);
	out[i] = '\0';
}

/* Records the per-line checks: bare LF, NUL, and bytes outside textstring (HT / SP..~). */
static void check_line(struct mh_reply *r, const unsigned char *d, size_t s, size_t e, size_t lf,
                       size_t ts, unsigned *seen)
{
	if ((e == lf) && !(*seen & SEEN_BARE_LF)) {
		*seen |= SEEN_BARE_LF;
		mh_reply_syntax(r, "RFC 5321 2.3.8", "line %zu ends in a bare LF, not CRLF",
		                r->nlines);
	}
	if (!(*seen & SEEN_NUL) && memchr(d + s, '\0', e - s) != NULL) {
		*seen |= SEEN_NUL;
		mh_reply_syntax(r, "RFC 5321 4.2", "line %zu contains a NUL byte", r->nlines);
	}
	if (*seen & SEEN_TEXT)
		return;
	for (size_t i = ts; i < e; i++) {
		unsigned char c = d[i];
		if (c != '\0' && c != '\t' && (c < 32 || c > 126)) {
			*seen |= SEEN_TEXT;
			mh_reply_syntax(r, "RFC 5321 4.2",
			                "line %zu has byte 0x%02x in its text; textstring = "
			                "1*(%%d09 / %%d32-126)",
			                r->nlines, c);
			return;
		}
	}
}

static const enum mh_reply_class smtp_classes[10] = {
    MH_RC_PERMFAIL, MH_RC_PERMFAIL, MH_RC_OK,       MH_RC_CONTINUE, MH_RC_TEMPFAIL,
    MH_RC_PERMFAIL, MH_RC_PERMFAIL, MH_RC_PERMFAIL, MH_RC_PERMFAIL, MH_RC_PERMFAIL,
};

/* Fills r from the complete reply buf[0..n): every line ends in LF, the last ends the reply. */
static void smtp_finish(struct mh_reply *r, const unsigned char *buf, size_t n)
{
	mh_proto_reply_begin(r, MH_PROTO_SMTP, buf, n);
	const unsigned char *d = r->raw.data;
	unsigned seen = 0;
	size_t s = 0, ts = 0, te = 0;
	bool first = true, last_coded = false;
	while (s < n) {
		const unsigned char *lfp = memchr(d + s, '\n', n - s);
		size_t lf = lfp != NULL ? (size_t)(lfp - d) : n;
		size_t e = (lf > s && d[lf - 1] == '\r') ? lf - 1 : lf;
		bool coded = has_code(d + s, e - s);
		mh_reply_add_line(r, s, e - s);
		ts = s;
		if (coded) {
			ts = s + 3;
			if (e - s > 3) {
				if (d[s + 3] == ' ' || d[s + 3] == '-') {
					ts = s + 4;
				} else if (!(seen & SEEN_SEP)) {
					seen |= SEEN_SEP;
					mh_reply_syntax(
					    r, "RFC 5321 4.2",
					    "line %zu: reply code %.3s is followed by byte "
					    "0x%02x, not SP or \"-\"",
					    r->nlines, (const char *)d + s, d[s + 3]);
				}
			}
			if (first) {
				memcpy(r->status, d + s, 3);
				r->status[3] = '\0';
				r->code =
				    (d[s] - '0') * 100 + (d[s + 1] - '0') * 10 + (d[s + 2] - '0');
				r->cls = smtp_classes[d[s] - '0'];
				if (d[s] < '2' || d[s] > '5' || d[s + 1] > '5')
					mh_reply_syntax(r, "RFC 5321 4.2",
					                "reply code %.3s is outside Reply-code = "
					                "%%x32-35 %%x30-35 %%x30-39",
					                r->status);
			} else if (memcmp(d + s, r->status, 3) != 0 && !(seen & SEEN_MISMATCH)) {
				seen |= SEEN_MISMATCH;
				mh_reply_syntax(
				    r, "RFC 5321 4.2.1",
				    "line %zu has reply code %.3s but line 1 has %s; the "
				    "code on each line of a multiline reply MUST be the same",
				    r->nlines, (const char *)d + s, r->status);
			}
		} else {
			if (first)
				r->cls = MH_RC_PERMFAIL;
			mh_reply_syntax(r, "RFC 5321 4.2",
			                "line %zu does not begin with a 3-digit reply code",
			                r->nlines);
		}
		check_line(r, d, s, e, lf, ts, &seen);
		first = false;
		last_coded = coded;
		te = e;
		s = lf + 1;
	}
	if (ts < te)
		mh_buf_append(&r->text, d + ts, te - ts);
	if (last_coded && r->code != 0)
		enhanced_parse(d + ts, te - ts, r->enhanced);
}

int mh_proto_smtp_feed(struct mh_parser *p, const unsigned char *buf, size_t len,
                       struct mh_reply *r, size_t *consumed_r, struct mh_error *err)
{
	/* One pass per line: bounded by len and by lim.max_lines (mh_proto_count_line). */
	for (;;) {
		size_t lf;
		int rc = mh_proto_next_line(p, buf, len, &lf, err);
		if (rc != 1)
			return rc;
		if (mh_proto_count_line(p, err) < 0)
			return -1;
		size_t s = p->line_start;
		bool more = lf - s >= 4 && has_code(buf + s, lf - s) && buf[s + 3] == '-';
		if (p->count == 1 && has_code(buf + s, lf - s))
			p->first_code =
			    (buf[s] - '0') * 100 + (buf[s + 1] - '0') * 10 + (buf[s + 2] - '0');
		p->pos = p->line_start = lf + 1;
		if (!more) {
			*consumed_r = lf + 1;
			smtp_finish(r, buf, lf + 1);
			return 1;
		}
	}
}

/* Checks "D.D{1,3}.D{1,3}" exactly, with class 2/4/5 and no leading zeros (RFC 3463 sec 2). */
static bool enhanced_wellformed(const char *enh)
{
	if ((enh[0] != '2' && enh[0] != '4' && enh[0] != '5') || enh[1] != '.')
		return false;
	const char *q = enh + 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (is_digit((unsigned char)q[d]) && d < 4)
			d++;
		if (d == 0 || d > 3 || (d > 1 && q[0] == '0'))
			return false;
		q += d;
		if (part == 0) {
			if (*q != '.')
				return false;
			q++;
		}
	}
	return *q == '\0';
}

bool mh_smtp_enhanced_valid(const char *enh, int code)
{
	if (enh == NULL)
		enh = "";
	int cls = code / 100;
	if (cls == 3)
		return enh[0] == '\0' || enhanced_wellformed(enh);
	return enhanced_wellformed(enh) && enh[0] - '0' == cls;
}

/* proto_pop3.c: POP3 status lines and dot-terminated multi-line bodies (RFC 1939 3, RFC 2449, RFC
 * 5034). */
#include "proto.h"
#include "spec.h"

#include <stdio.h>
#include <string.h>

#define POP3_MAX_RESPONSE                                                                          \
	512 /* RFC 2449 4: "unchanged at 512 octets (including the terminating CRLF)" */

/* True if s[0..n) starts with word (any case) followed by SP or the end of the line. */
static bool status_is(const unsigned char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n >= w && mh_strncaseeq((const char *)s, word, w) && (n == w || s[w] == ' ');
}

/* Text of the line (CR excluded) ending at the LF at index lf. */
static size_t text_end(const unsigned char *d, size_t s, size_t lf)
{
	return (lf > s && d[lf - 1] == '\r') ? lf - 1 : lf;
}

/* True if a +OK status line (or "+ok") at s opens a body under this expectation. */
static bool opens_body(const struct mh_expect *e, const unsigned char *s, size_t n)
{
	return e->multiline && e->kind != MH_EXPECT_GREETING && status_is(s, n, "+OK");
}

static bool is_base64(const unsigned char *s, size_t n)
{
	size_t pad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		bool alnum =
		    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (c == '=') {
			pad++;
		} else if (pad > 0 || !(alnum || c == '+' || c == '/')) {
			return false;
		}
	}
	return n % 4 == 0 && pad <= 2;
}

/* Splits "[CODE] text" off the status line's text (RFC 2449 8). Whether a "[" must open a
   well-formed code depends on RESP-CODES being advertised (RFC 2449 6.4), which only the engine
   knows: here an unclosed "[" is left in the text and judged there. */
static void set_text(struct mh_reply *r, const unsigned char *t, size_t n)
{
	if (n > 0 && t[0] == '[') {
		const unsigned char *close = memchr(t, ']', n);
		if (close != NULL) {
			size_t clen = (size_t)(close - t) - 1;
			if (clen >= sizeof(r->resp_code))
				clen = sizeof(r->resp_code) - 1;
			memcpy(r->resp_code, t + 1, clen);
			r->resp_code[clen] = '\0';
			size_t k = (size_t)(close - t) + 1;
			if (k < n && t[k] == ' ')
				k++;
			t += k;
			n -= k;
		}
	}
	mh_buf_append(&r->text, t, n);
}

/* Classifies the status line d[0..e) and fills cls, status, resp_code and text. */
static void pop3_status(const struct mh_parser *p, struct mh_reply *r, const unsigned char *d,
                        size_t e)
{
	size_t skip = 0;
	if (status_is(d, e, "+OK") || status_is(d, e, "-ERR")) {
		bool ok = d[0] == '+';
		const char *word = ok ? "+OK" : "-ERR";
		r->cls = ok ? MH_RC_OK : MH_RC_PERMFAIL;
		snprintf(r->status, sizeof(r->status), "%s", word);
		skip = strlen(word);
		if (memcmp(d, word, skip) != 0)
			mh_reply_syntax(
			    r, "RFC 1939 3",
			    "status indicator \"%.*s\": servers MUST send \"+OK\" and \"-ERR\" "
			    "in upper case",
			    (int)skip, (const char *)d);
		if (skip < e)
			skip++;
		set_text(r, d + skip, e - skip);
		return;
	}
	if (p->expect.sasl && e >= 1 && d[0] == '+' && (e == 1 || d[1] == ' ')) {
		r->cls = MH_RC_CONTINUE;
		snprintf(r->status, sizeof(r->status), "+");
		if (e == 1)
			mh_reply_syntax(r, "RFC 5034 5",
			                "continuation \"+\" is not followed by SP");
		skip = e == 1 ? 1 : 2;
		if (!is_base64(d + skip, e - skip))
			mh_reply_syntax(
			    r, "RFC 5034 4",
			    "a server challenge MUST NOT contain any text other than the "
			    "BASE64-encoded challenge");
		mh_buf_append(&r->text, d + skip, e - skip);
		return;
	}
	r->cls = MH_RC_PERMFAIL;
	mh_reply_syntax(r, "RFC 1939 3", "status line does not begin with \"+OK\" or \"-ERR\"%s",
	                p->expect.sasl ? " or \"+ \"" : "");
	mh_buf_append(&r->text, d, e);
}

/* Fills r from the complete reply buf[0..n): the status line, then (if it opened one) the body. */
static void pop3_finish(const struct mh_parser *p, struct mh_reply *r, const unsigned char *buf,
                        size_t n)
{
	mh_proto_reply_begin(r, MH_PROTO_POP3, buf, n);
	const unsigned char *d = r->raw.data;
	const unsigned char *lfp = memchr(d, '\n', n);
	size_t lf = lfp != NULL ? (size_t)(lfp - d) : n;
	size_t e = text_end(d, 0, lf);
	mh_reply_add_line(r, 0, e);
	bool bare_lf = e == lf, nul = memchr(d, '\0', e) != NULL;
	if (bare_lf)
		mh_reply_syntax(r, "RFC 1939 3", "status line ends in a bare LF, not CRLF");
	if (nul)
		mh_reply_syntax(r, "RFC 2449 3", "status line contains a NUL byte");
	if (lf + 1 > POP3_MAX_RESPONSE) /* no MUST in either RFC: a SHOULD-level finding */
		mh_reply_syntax_level(
		    r, MH_LEVEL_SHOULD, "RFC 2449 4",
		    "status line is %zu octets; \"The maximum length of the first "
		    "line of a command response (including the initial greeting) "
		    "is unchanged at 512 octets (including the terminating CRLF).\"",
		    lf + 1);
	pop3_status(p, r, d, e);
	if (!opens_body(&p->expect, d, e))
		return;
	r->multiline = true;
	size_t s = lf + 1;
	while (s < n) {
		lfp = memchr(d + s, '\n', n - s);
		lf = lfp != NULL ? (size_t)(lfp - d) : n;
		e = text_end(d, s, lf);
		if (e == lf && !bare_lf) {
			bare_lf = true;
			mh_reply_syntax(r, "RFC 1939 3", "body line ends in a bare LF, not CRLF");
		}
		if (e - s == 1 && d[s] == '.')
			break;
		if (!nul && memchr(d + s, '\0', e - s) != NULL) {
			nul = true;
			mh_reply_syntax(r, "RFC 2449 3", "body line contains a NUL byte");
		}
		size_t from = (e > s && d[s] == '.') ? s + 1 : s;
		mh_buf_append(&r->body, d + from, e - from);
		mh_buf_append(&r->body, "\r\n", 2);
		s = lf + 1;
	}
}

int mh_proto_pop3_feed(struct mh_parser *p, const unsigned char *buf, size_t len,
                       struct mh_reply *r, size_t *consumed_r, struct mh_error *err)
{
	/* One pass per line: bounded by len and by lim.max_lines (mh_proto_count_line). */
	for (;;) {
		size_t lf;
		int rc = mh_proto_next_line(p, buf, len, &lf, err);
		if (rc != 1)
			return rc;
		size_t s = p->line_start;
		size_t e = text_end(buf, s, lf);
		p->pos = p->line_start = lf + 1;
		bool done;
		if (!p->seen_status) {
			p->seen_status = true;
			done = !opens_body(&p->expect, buf + s, e - s);
		} else {
			done = e - s == 1 && buf[s] == '.';
			if (!done && mh_proto_count_line(p, err) < 0)
				return -1;
		}
		if (done) {
			*consumed_r = lf + 1;
			pop3_finish(p, r, buf, lf + 1);
			return 1;
		}
	}
}

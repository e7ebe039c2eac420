/* tap.h: tiny TAP-style assertions for the unit tests, plus a reply-row runner when proto.h is
 * included first. */
#ifndef MH_TAP_H
#define MH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

/* Prints "ok N - what" or "not ok N - what"; returns cond. */
static inline int tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

/* Prints a "# ..." diagnostic line. */
static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Compares two strings (NULL = ""), printing both on a mismatch. */
static inline int tap_streq(const char *got, const char *want, const char *what)
{
	got = got ? got : "";
	want = want ? want : "";
	int ok = strcmp(got, want) == 0;
	if (!ok)
		tap_diag("%s: got \"%s\", want \"%s\"", what, got, want);
	return ok;
}

/* Prints the plan; returns the exit status for main (nonzero if anything failed). */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed > 0)
		printf("# %d of %d failed\n", tap_failed, tap_count);
	return tap_failed > 0 ? 1 : 0;
}

#ifdef MH_PROTO_H
/* ---- table-driven reply parsing: one row = one input and what the parser must make of it ---- */

#define TAP_IN(s) (s), (sizeof(s) - 1)

struct tap_row {
	const char *in;
	size_t inlen;
	struct mh_expect ex;
	struct mh_limits lim; /* zero fields = defaults */
	const char *fail;     /* expect -1 and this substring in the error */
	bool more;            /* expect 0 (incomplete) */
	size_t consumed;      /* 0 = all of the input */
	enum mh_reply_class cls;
	const char *status;
	int code;
	const char *enhanced;
	const char *text;
	const char *resp_code;
	const char *tag;
	const char *body;
	bool multiline;
	size_t nlines;     /* 0 = not checked */
	const char *line0; /* first line's bytes, NULL = not checked */
	size_t nsyntax;    /* syntax errors expected (checked always) */
	const char *rfc;   /* a substring of the first syntax error's RFC reference */
};

/* Renders everything the parser produced, so two runs compare as strings. */
static inline void tap_snapshot(struct mh_buf *s, int rc, size_t consumed, const struct mh_reply *r,
                                const struct mh_error *err)
{
	mh_buf_printf(s, "rc=%d", rc);
	if (rc == -1)
		mh_buf_printf(s, " err=%s", err->msg);
	if (rc != 1)
		return;
	mh_buf_printf(s, " consumed=%zu cls=%s status=%s code=%d enh=%s tag=%s resp=%s ml=%d text=",
	              consumed, mh_reply_class_name(r->cls), r->status, r->code, r->enhanced,
	              r->tag, r->resp_code, (int)r->multiline);
	mh_buf_append_escaped(s, r->text.data ? r->text.data : (const unsigned char *)"",
	                      r->text.len, 80);
	mh_buf_printf(s, " body=");
	mh_buf_append_escaped(s, r->body.data ? r->body.data : (const unsigned char *)"",
	                      r->body.len, 80);
	mh_buf_printf(s, " lines=%zu[", r->nlines);
	for (size_t i = 0; i < r->nlines && i < 8; i++)
		mh_buf_printf(s, "%zu:%zu,", r->lines[i].off, r->lines[i].len);
	mh_buf_printf(s, "] syntax=%zu[", r->nsyntax);
	for (size_t i = 0; i < r->nsyntax; i++)
		mh_buf_printf(s, "%s: %s|", r->syntax[i].rfc, r->syntax[i].msg);
	mh_buf_printf(s, "]");
}

/* Feeds buf[0..len) growing by step bytes per call (step 0 = all at once, or split once at split).
   Returns rc; r, consumed and err are filled as by mh_parser_feed. */
static inline int tap_feed(enum mh_proto_id proto, const struct tap_row *row, size_t step,
                           size_t split, struct mh_reply *r, size_t *consumed, struct mh_error *err)
{
	struct mh_parser p;
	mh_parser_init(&p, proto, &row->lim);
	mh_parser_expect(&p, &row->ex);
	mh_reply_reset(r);
	mh_error_init(err);
	const unsigned char *buf = (const unsigned char *)row->in;
	size_t have =
	    step == 0 ? (split > 0 ? split : row->inlen) : (step < row->inlen ? step : row->inlen);
	for (;;) {
		int rc = mh_parser_feed(&p, buf, have, r, consumed, err);
		if (rc != 0 || have >= row->inlen)
			return rc;
		have =
		    step == 0 ? row->inlen : (have + step < row->inlen ? have + step : row->inlen);
	}
}

/* Checks r's structural invariants: raw is the consumed prefix, lines lie inside raw. */
static inline int tap_invariants(const struct tap_row *row, const struct mh_reply *r,
                                 size_t consumed)
{
	if (consumed == 0 || consumed > row->inlen || r->raw.len != consumed ||
	    memcmp(r->raw.data, row->in, consumed) != 0)
		return 0;
	for (size_t i = 0; i < r->nlines; i++)
		if (r->lines[i].off > r->raw.len || r->lines[i].len > r->raw.len - r->lines[i].off)
			return 0;
	return r->nsyntax <= MH_REPLY_MAX_SYNTAX;
}

/* Runs one row: whole, byte by byte, and (short rows) split at every point; all must agree and
   match the row. Returns 1 if the row passed. */
static inline int tap_run_row(enum mh_proto_id proto, const struct tap_row *row, size_t idx)
{
	struct mh_reply r;
	struct mh_error err;
	struct mh_buf want, got;
	size_t consumed = 0;
	int ok = 1;
	mh_reply_init(&r, proto);
	mh_buf_init(&want);
	mh_buf_init(&got);
	int rc = tap_feed(proto, row, 0, 0, &r, &consumed, &err);
	tap_snapshot(&want, rc, consumed, &r, &err);
	int erc = row->fail ? -1 : row->more ? 0 : 1;
	if (rc != erc) {
		tap_diag("row %zu: rc %d, want %d (%s)", idx, rc, erc, err.msg);
		ok = 0;
	}
	if (ok && rc == -1 && strstr(err.msg, row->fail) == NULL) {
		tap_diag("row %zu: error \"%s\" lacks \"%s\"", idx, err.msg, row->fail);
		ok = 0;
	}
	if (ok && rc == 1) {
		char what[64];
		snprintf(what, sizeof(what), "row %zu consumed", idx);
		size_t wc = row->consumed ? row->consumed : row->inlen;
		if (consumed != wc) {
			tap_diag("%s: %zu, want %zu", what, consumed, wc);
			ok = 0;
		}
		if (!tap_invariants(row, &r, consumed)) {
			tap_diag("row %zu: raw/lines invariants broken", idx);
			ok = 0;
		}
		if (r.cls != row->cls) {
			tap_diag("row %zu: cls %s, want %s", idx, mh_reply_class_name(r.cls),
			         mh_reply_class_name(row->cls));
			ok = 0;
		}
		if (r.code != row->code) {
			tap_diag("row %zu: code %d, want %d", idx, r.code, row->code);
			ok = 0;
		}
		snprintf(what, sizeof(what), "row %zu status", idx);
		ok &= tap_streq(r.status, row->status, what);
		snprintf(what, sizeof(what), "row %zu enhanced", idx);
		ok &= tap_streq(r.enhanced, row->enhanced, what);
		snprintf(what, sizeof(what), "row %zu tag", idx);
		ok &= tap_streq(r.tag, row->tag, what);
		snprintf(what, sizeof(what), "row %zu resp_code", idx);
		ok &= tap_streq(r.resp_code, row->resp_code, what);
		if (row->text != NULL) {
			snprintf(what, sizeof(what), "row %zu text", idx);
			ok &= tap_streq(mh_buf_cstr(&r.text), row->text, what);
		}
		if (row->body != NULL) {
			snprintf(what, sizeof(what), "row %zu body", idx);
			ok &= tap_streq(mh_buf_cstr(&r.body), row->body, what);
		}
		if (r.multiline != row->multiline) {
			tap_diag("row %zu: multiline %d, want %d", idx, r.multiline,
			         row->multiline);
			ok = 0;
		}
		if (row->nlines && r.nlines != row->nlines) {
			tap_diag("row %zu: %zu lines, want %zu", idx, r.nlines, row->nlines);
			ok = 0;
		}
		if (row->line0 != NULL) {
			size_t n;
			const unsigned char *l = mh_reply_line_data(&r, 0, &n);
			if (n != strlen(row->line0) || memcmp(l, row->line0, n) != 0) {
				tap_diag("row %zu: line 0 is \"%.*s\", want \"%s\"", idx, (int)n,
				         (const char *)l, row->line0);
				ok = 0;
			}
		}
		if (r.nsyntax != row->nsyntax) {
			tap_diag("row %zu: %zu syntax errors, want %zu", idx, r.nsyntax,
			         row->nsyntax);
			ok = 0;
		}
		if (row->rfc != NULL &&
		    (r.nsyntax == 0 || strstr(r.syntax[0].rfc, row->rfc) == NULL)) {
			tap_diag("row %zu: first syntax error cites \"%s\", want \"%s\"", idx,
			         r.nsyntax ? r.syntax[0].rfc : "(none)", row->rfc);
			ok = 0;
		}
	}
	if (!ok)
		tap_diag("row %zu got: %s", idx, mh_buf_cstr(&want));
	/* the same bytes fed one at a time, and split once at every point, must give the same
	 * result */
	size_t splits = row->inlen <= 400 ? row->inlen : 0;
	for (size_t sp = 0; sp <= splits && ok; sp++) {
		mh_buf_reset(&got);
		rc = tap_feed(proto, row, sp == 0 ? 1 : 0, sp, &r, &consumed, &err);
		tap_snapshot(&got, rc, consumed, &r, &err);
		if (strcmp(mh_buf_cstr(&got), mh_buf_cstr(&want)) != 0) {
			tap_diag("row %zu: %s differs from feeding it whole:", idx,
			         sp == 0 ? "byte-by-byte" : "split feed");
			if (sp > 0)
				tap_diag("  split at %zu", sp);
			tap_diag("  whole: %s", mh_buf_cstr(&want));
			tap_diag("  piece: %s", mh_buf_cstr(&got));
			ok = 0;
		}
	}
	mh_buf_deinit(&want);
	mh_buf_deinit(&got);
	mh_reply_deinit(&r);
	return ok;
}

/* Runs a table of rows, one TAP line each. */
static inline void tap_run_rows(enum mh_proto_id proto, const struct tap_row *rows, size_t n,
                                const char *name)
{
	for (size_t i = 0; i < n; i++) {
		int ok = tap_run_row(proto, &rows[i], i);
		tap_ok(ok, "%s row %zu", name, i);
	}
}
#endif /* MH_PROTO_H */

#endif

/* reply.c: the parsed reply object and protocol / class names. */
#include "reply.h"
#include "spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const class_names[] = {
    [MH_RC_NONE] = "none",         [MH_RC_OK] = "ok",
    [MH_RC_CONTINUE] = "continue", [MH_RC_TEMPFAIL] = "tempfail",
    [MH_RC_PERMFAIL] = "permfail", [MH_RC_NO] = "no",
    [MH_RC_BAD] = "bad",           [MH_RC_BYE] = "bye",
    [MH_RC_PREAUTH] = "preauth",   [MH_RC_UNTAGGED] = "untagged",
};
_Static_assert(MH_ARRAY_SIZE(class_names) == MH_RC_COUNT, "class_names out of sync");

static const char *const proto_names[] = {
    [MH_PROTO_SMTP] = "smtp",
    [MH_PROTO_IMAP] = "imap",
    [MH_PROTO_POP3] = "pop3",
};
_Static_assert(MH_ARRAY_SIZE(proto_names) == MH_PROTO_COUNT, "proto_names out of sync");

void mh_reply_init(struct mh_reply *r, enum mh_proto_id proto)
{
	memset(r, 0, sizeof(*r));
	r->proto = proto;
	mh_buf_init(&r->raw);
	mh_buf_init(&r->text);
	mh_buf_init(&r->body);
}

void mh_reply_deinit(struct mh_reply *r)
{
	mh_buf_deinit(&r->raw);
	mh_buf_deinit(&r->text);
	mh_buf_deinit(&r->body);
	free(r->lines);
	r->lines = NULL;
	r->nlines = r->lines_cap = 0;
}

void mh_reply_reset(struct mh_reply *r)
{
	r->cls = MH_RC_NONE;
	r->status[0] = '\0';
	r->code = 0;
	r->enhanced[0] = '\0';
	r->tag[0] = '\0';
	r->resp_code[0] = '\0';
	mh_buf_reset(&r->raw);
	mh_buf_reset(&r->text);
	mh_buf_reset(&r->body);
	r->nlines = 0;
	r->multiline = false;
	r->nsyntax = 0;
}

void mh_reply_add_line(struct mh_reply *r, size_t off, size_t len)
{
	if (r->nlines == r->lines_cap) {
		r->lines_cap = r->lines_cap ? r->lines_cap * 2 : 8;
		r->lines = mh_realloc(r->lines, r->lines_cap * sizeof(*r->lines));
	}
	r->lines[r->nlines].off = off;
	r->lines[r->nlines].len = len;
	r->nlines++;
}

static void syntax_add(struct mh_reply *r, int level, const char *rfc, const char *fmt, va_list ap)
{
	if (r->nsyntax >= MH_REPLY_MAX_SYNTAX)
		return;
	struct mh_syntax_error *e = &r->syntax[r->nsyntax++];
	snprintf(e->rfc, sizeof(e->rfc), "%s", rfc);
	e->level = level;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void mh_reply_syntax(struct mh_reply *r, const char *rfc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	syntax_add(r, MH_LEVEL_MUST, rfc, fmt, ap);
	va_end(ap);
}

void mh_reply_syntax_level(struct mh_reply *r, int level, const char *rfc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	syntax_add(r, level, rfc, fmt, ap);
	va_end(ap);
}

const unsigned char *mh_reply_line_data(const struct mh_reply *r, size_t i, size_t *len_r)
{
	if (i >= r->nlines || r->raw.data == NULL) {
		*len_r = 0;
		return (const unsigned char *)"";
	}
	*len_r = r->lines[i].len;
	return r->raw.data + r->lines[i].off;
}

const char *mh_reply_class_name(enum mh_reply_class c)
{
	return (unsigned)c < MH_RC_COUNT ? class_names[c] : "?";
}

const char *mh_proto_name(enum mh_proto_id p)
{
	return (unsigned)p < MH_PROTO_COUNT ? proto_names[p] : "?";
}

int mh_proto_from_name(const char *name)
{
	for (int i = 0; i < MH_PROTO_COUNT; i++)
		if (strcmp(name, proto_names[i]) == 0)
			return i;
	return -1;
}

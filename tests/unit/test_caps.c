/* test_caps.c: table-driven tests of capability extraction (EHLO, IMAP CAPABILITY, POP3 CAPA). */
#include "proto.h"
#include "tap.h"

#include <stdlib.h>

struct caps_row {
	enum mh_proto_id proto;
	struct mh_expect ex;
	const char *in;
	int rc;           /* mh_caps_from_reply's return */
	const char *want; /* "NAME=value;NAME=;..." after the call (the caps start as "OLD=1") */
};

#define R MH_EXPECT_REPLY

static const struct caps_row rows[] = {
    /* 0: SMTP EHLO */
    {MH_PROTO_SMTP,
     {.kind = R},
     "250-mx.example.org Hello [192.0.2.1]\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-auth "
     "PLAIN LOGIN\r\n"
     "250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n",
     1,
     "PIPELINING=;SIZE=10240000;AUTH=PLAIN LOGIN;AUTH=PLAIN=LOGIN;ENHANCEDSTATUSCODES=;8BITMIME=;"},
    {MH_PROTO_SMTP, {.kind = R}, "250 mx.example.org\r\n", 0, "OLD=1;"},
    {MH_PROTO_SMTP, {.kind = R}, "550-a\r\n550 b\r\n", 0, "OLD=1;"},
    {MH_PROTO_SMTP, {.kind = R}, "250-x\r\n250 SIZE   100  \r\n", 1, "SIZE=100  ;"},
    {MH_PROTO_SMTP, {.kind = R}, "250-x\r\n250-\r\n250 \r\n", 1, ""},
    /* 5: IMAP greeting with [CAPABILITY] */
    {MH_PROTO_IMAP,
     {.kind = MH_EXPECT_GREETING},
     "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
     "AUTH=PLAIN] ready\r\n",
     1,
     "IMAP4REV1=;SASL-IR=;LOGIN-REFERRALS=;ID=;ENABLE=;IDLE=;LITERAL+=;STARTTLS=;AUTH=PLAIN=;"},
    {MH_PROTO_IMAP,
     {.kind = R, .tag = "a1"},
     "* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\na1 OK CAPABILITY completed\r\n",
     1,
     "IMAP4REV1=;STARTTLS=;AUTH=GSSAPI=;LOGINDISABLED=;"},
    {MH_PROTO_IMAP,
     {.kind = R, .tag = "a2"},
     "a2 OK [CAPABILITY IMAP4rev1 SORT THREAD=REFERENCES MOVE] Logged in\r\n",
     1,
     "IMAP4REV1=;SORT=;THREAD=REFERENCES=;MOVE=;"},
    /* the last announcement wins */
    {MH_PROTO_IMAP,
     {.kind = R, .tag = "a3"},
     "* CAPABILITY IMAP4rev1 X\r\na3 OK [CAPABILITY IMAP4rev1 Y] done\r\n",
     1,
     "IMAP4REV1=;Y=;"},
    {MH_PROTO_IMAP, {.kind = R, .tag = "a4"}, "a4 OK [READ-WRITE] done\r\n", 0, "OLD=1;"},
    /* 10: capability-looking text inside a literal or after other data is ignored */
    {MH_PROTO_IMAP,
     {.kind = R, .tag = "a5"},
     "* 1 FETCH (BODY[] {24}\r\n* CAPABILITY EVIL HACK\r\n)\r\na5 OK done [CAPABILITY NO]\r\n",
     0,
     "OLD=1;"},
    {MH_PROTO_IMAP,
     {.kind = R, .tag = "a6"},
     "a6 ok [capability imap4rev1 idle]\r\n",
     1,
     "IMAP4REV1=;IDLE=;"},
    {MH_PROTO_IMAP,
     {.kind = R, .tag = "a7"},
     "a7 OK [CAPABILITY IMAP4rev1 unclosed\r\n",
     1,
     "IMAP4REV1=;UNCLOSED=;"},
    {MH_PROTO_IMAP, {.kind = R, .tag = "a8"}, "a8 OK [CAPABILITYX] no\r\n", 0, "OLD=1;"},
    /* POP3 CAPA */
    {MH_PROTO_POP3,
     {.kind = R, .multiline = true},
     "+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN\r\nRESP-CODES\r\nLOGIN-DELAY "
     "900\r\n"
     "PIPELINING\r\nexpire 60\r\nUIDL\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n",
     1,
     "TOP=;USER=;SASL=PLAIN LOGIN;RESP-CODES=;LOGIN-DELAY=900;PIPELINING=;EXPIRE=60;UIDL=;"
     "IMPLEMENTATION=Shlemazle-Plotz-v302;"},
    /* 15 */
    {MH_PROTO_POP3, {.kind = R, .multiline = true}, "+OK\r\n.\r\n", 1, ""},
    {MH_PROTO_POP3, {.kind = R, .multiline = true}, "-ERR no CAPA\r\n", 0, "OLD=1;"},
    {MH_PROTO_POP3, {.kind = R}, "+OK one line\r\n", 0, "OLD=1;"},
};

static void render(struct mh_buf *b, const struct mh_caps *c)
{
	for (size_t i = 0; i < c->n; i++)
		mh_buf_printf(b, "%s=%s;", c->name[i], c->value[i]);
}

static int parse(enum mh_proto_id proto, const struct mh_expect *ex, const char *in, size_t len,
                 struct mh_reply *r)
{
	struct mh_parser p;
	struct mh_error err;
	size_t consumed;
	mh_parser_init(&p, proto, NULL);
	mh_parser_expect(&p, ex);
	mh_error_init(&err);
	mh_reply_reset(r);
	return mh_parser_feed(&p, (const unsigned char *)in, len, r, &consumed, &err);
}

static void test_rows(void)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		const struct caps_row *row = &rows[i];
		struct mh_reply r;
		struct mh_caps c;
		struct mh_buf got;
		mh_reply_init(&r, row->proto);
		mh_caps_init(&c);
		mh_buf_init(&got);
		c.name[0] = mh_strdup("OLD");
		c.value[0] = mh_strdup("1");
		c.n = 1;
		int prc = parse(row->proto, &row->ex, row->in, strlen(row->in), &r);
		int rc = prc == 1 ? mh_caps_from_reply(&c, &r) : -2;
		render(&got, &c);
		int ok = rc == row->rc && strcmp(mh_buf_cstr(&got), row->want) == 0;
		if (!ok)
			tap_diag("caps row %zu: rc %d (want %d), caps \"%s\" (want \"%s\")", i, rc,
			         row->rc, mh_buf_cstr(&got), row->want);
		tap_ok(ok, "caps row %zu", i);
		mh_buf_deinit(&got);
		mh_caps_deinit(&c);
		mh_reply_deinit(&r);
	}
}

/* Lookups are case-insensitive; the table stops at MH_CAPS_MAX entries. */
static void test_lookup_and_cap(void)
{
	struct mh_buf in;
	struct mh_reply r;
	struct mh_caps c;
	mh_buf_init(&in);
	mh_reply_init(&r, MH_PROTO_SMTP);
	mh_caps_init(&c);
	mh_buf_append_str(&in, "250-host\r\n");
	for (int i = 0; i < 300; i++)
		mh_buf_printf(&in, "250-X-EXT%d value%d\r\n", i, i);
	mh_buf_append_str(&in, "250 LAST\r\n");
	struct mh_expect ex = {.kind = R};
	int prc = parse(MH_PROTO_SMTP, &ex, (const char *)in.data, in.len, &r);
	int rc = mh_caps_from_reply(&c, &r);
	tap_ok(prc == 1 && rc == 1 && c.n == MH_CAPS_MAX, "caps stop at MH_CAPS_MAX (%zu)", c.n);
	const char *v = mh_caps_get(&c, "x-ext7");
	tap_ok(v != NULL && strcmp(v, "value7") == 0, "mh_caps_get is case-insensitive");
	tap_ok(!mh_caps_has(&c, "LAST") && mh_caps_has(&c, "X-EXT127") &&
	           !mh_caps_has(&c, "X-EXT128"),
	       "entries past the cap are dropped");
	mh_caps_clear(&c);
	tap_ok(c.n == 0 && mh_caps_get(&c, "X-EXT7") == NULL, "mh_caps_clear empties");
	mh_caps_deinit(&c);
	mh_caps_deinit(&c);
	mh_reply_deinit(&r);
	mh_buf_deinit(&in);
}

int main(void)
{
	test_rows();
	test_lookup_and_cap();
	return tap_done();
}

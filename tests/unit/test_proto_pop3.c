/* test_proto_pop3.c: table-driven tests of the POP3 status-line and multi-line body parser. */
#include "proto.h"
#include "spec.h"
#include "tap.h"

#include <stdlib.h>

#define G MH_EXPECT_GREETING
#define R MH_EXPECT_REPLY

static const struct tap_row rows[] = {
    /* 0: greetings and one-line replies */
    {TAP_IN("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"), .ex = {.kind = G},
     .cls = MH_RC_OK, .status = "+OK",
     .text = "POP3 server ready <1896.697170952@dbc.mtview.ca.us>", .nlines = 1},
    {TAP_IN("+OK\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "+OK", .text = ""},
    {TAP_IN("-ERR no such message\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "-ERR",
     .text = "no such message"},
    {TAP_IN("-ERR [IN-USE] Do you have another POP session running?\r\n"), .ex = {.kind = R},
     .cls = MH_RC_PERMFAIL, .status = "-ERR", .resp_code = "IN-USE",
     .text = "Do you have another POP session running?"},
    {TAP_IN("-ERR [SYS/TEMP] try later\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL,
     .status = "-ERR", .resp_code = "SYS/TEMP", .text = "try later"},
    /* 5: multi-line bodies */
    {TAP_IN("+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"),
     .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK, .status = "+OK",
     .text = "2 messages (320 octets)", .multiline = true, .body = "1 120\r\n2 200\r\n",
     .nlines = 1, .line0 = "+OK 2 messages (320 octets)"},
    {TAP_IN("+OK 120 octets\r\nSubject: x\r\n\r\n..leading dot\r\n...\r\n.x\r\nend\r\n.\r\n"),
     .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK, .status = "+OK", .multiline = true,
     .body = "Subject: x\r\n\r\n.leading dot\r\n..\r\nx\r\nend\r\n"},
    {TAP_IN("+OK\r\n.\r\n"), .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK, .status = "+OK",
     .multiline = true, .body = ""},
    /* -ERR never opens a body */
    {TAP_IN("-ERR no such message\r\n1 120\r\n.\r\n"), .ex = {.kind = R, .multiline = true},
     .consumed = 22, .cls = MH_RC_PERMFAIL, .status = "-ERR"},
    /* a greeting never has a body */
    {TAP_IN("+OK hi\r\nmore\r\n"), .ex = {.kind = G, .multiline = true}, .consumed = 8,
     .cls = MH_RC_OK, .status = "+OK", .text = "hi"},
    /* 10: pipelined: the next reply is left alone */
    {TAP_IN("+OK\r\na\r\n.\r\n+OK next\r\n"), .ex = {.kind = R, .multiline = true}, .consumed = 11,
     .cls = MH_RC_OK, .status = "+OK", .multiline = true, .body = "a\r\n"},
    /* CAPA */
    {TAP_IN("+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN\r\nRESP-CODES\r\n"
            "PIPELINING\r\nUIDL\r\nIMPLEMENTATION Dovecot\r\n.\r\n"),
     .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK, .status = "+OK", .multiline = true},
    /* SASL continuations */
    {TAP_IN("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
     .ex = {.kind = R, .sasl = true}, .cls = MH_RC_CONTINUE, .status = "+",
     .text = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"},
    {TAP_IN("+ \r\n"), .ex = {.kind = R, .sasl = true}, .cls = MH_RC_CONTINUE, .status = "+",
     .text = ""},
    {TAP_IN("+\r\n"), .ex = {.kind = R, .sasl = true}, .cls = MH_RC_CONTINUE, .status = "+",
     .text = "", .nsyntax = 1, .rfc = "RFC 5034 5"},
    /* 15 */
    {TAP_IN("+ not base64!\r\n"), .ex = {.kind = R, .sasl = true}, .cls = MH_RC_CONTINUE,
     .status = "+", .nsyntax = 1, .rfc = "RFC 5034 4"},
    {TAP_IN("+ abc=\r\n"), .ex = {.kind = R, .sasl = true}, .cls = MH_RC_CONTINUE, .status = "+"},
    {TAP_IN("+ ab=c\r\n"), .ex = {.kind = R, .sasl = true}, .cls = MH_RC_CONTINUE, .status = "+",
     .nsyntax = 1},
    {TAP_IN("-ERR cancelled\r\n"), .ex = {.kind = R, .sasl = true}, .cls = MH_RC_PERMFAIL,
     .status = "-ERR"},
    /* "+ x" without sasl expected is not a status line */
    {TAP_IN("+ abcd\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "", .text = "+ abcd",
     .nsyntax = 1, .rfc = "RFC 1939 3"},
    /* 20: case: MUST be upper case, still classified */
    {TAP_IN("+ok fine\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "+OK", .text = "fine",
     .nsyntax = 1, .rfc = "RFC 1939 3"},
    {TAP_IN("-err bad\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "-ERR",
     .nsyntax = 1},
    {TAP_IN("+ok\r\nx\r\n.\r\n"), .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK,
     .status = "+OK", .multiline = true, .body = "x\r\n", .nsyntax = 1},
    /* garbage status lines: one line, PERMFAIL */
    {TAP_IN("+OKAY\r\nbody\r\n.\r\n"), .ex = {.kind = R, .multiline = true}, .consumed = 7,
     .cls = MH_RC_PERMFAIL, .status = "", .text = "+OKAY", .nsyntax = 1},
    {TAP_IN("hello\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "", .nsyntax = 1},
    /* 25 */
    {TAP_IN("\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "", .nsyntax = 1},
    /* bare LF: still framed, body normalized */
    {TAP_IN("+OK\na\nb\n.\n"), .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK,
     .status = "+OK", .multiline = true, .body = "a\r\nb\r\n", .nsyntax = 1, .rfc = "RFC 1939 3"},
    {TAP_IN("+OK\r\na\nb\r\n.\r\n"), .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK,
     .status = "+OK", .multiline = true, .body = "a\r\nb\r\n", .nsyntax = 1},
    /* NUL */
    {TAP_IN("+OK a\0b\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "+OK", .nsyntax = 1,
     .rfc = "RFC 2449 3"},
    {TAP_IN("+OK\r\na\0b\r\n.\r\n"), .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK,
     .status = "+OK", .multiline = true, .nsyntax = 1},
    /* 30: 8-bit bytes pass */
    {TAP_IN("+OK \xe4\xf6\xfc\r\n\xff\xfe\r\n.\r\n"), .ex = {.kind = R, .multiline = true},
     .cls = MH_RC_OK, .status = "+OK", .multiline = true, .body = "\xff\xfe\r\n"},
    /* unclosed response code: plain text unless RESP-CODES is advertised (the engine judges) */
    {TAP_IN("-ERR [SYS/TEMP no close\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL,
     .status = "-ERR", .resp_code = "", .text = "[SYS/TEMP no close", .nsyntax = 0},
    {TAP_IN("-ERR []\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "-ERR",
     .nsyntax = 0},
    /* incomplete */
    {TAP_IN("+OK\r\na\r\n"), .ex = {.kind = R, .multiline = true}, .more = true},
    {TAP_IN("+OK\r\na\r\n.\r"), .ex = {.kind = R, .multiline = true}, .more = true},
    /* 35: "." followed by more is not the end */
    {TAP_IN("+OK\r\n. \r\n.\r\n"), .ex = {.kind = R, .multiline = true}, .cls = MH_RC_OK,
     .status = "+OK", .multiline = true, .body = " \r\n"},
    /* caps */
    {TAP_IN("+OK\r\n1\r\n2\r\n3\r\n4\r\n.\r\n"), .ex = {.kind = R, .multiline = true},
     .lim = {.max_lines = 3}, .fail = "reply exceeds 3 lines"},
    {TAP_IN("+OK\r\n1\r\n2\r\n3\r\n.\r\n"), .ex = {.kind = R, .multiline = true},
     .lim = {.max_lines = 3}, .cls = MH_RC_OK, .status = "+OK", .multiline = true,
     .body = "1\r\n2\r\n3\r\n"},
    {TAP_IN("+OK\r\n0123456789012345678901234567890123456789\r\n.\r\n"),
     .ex = {.kind = R, .multiline = true}, .lim = {.max_line = 16},
     .fail = "line exceeds 16 bytes"},
    {TAP_IN("+OK\r\n0123456789\r\n0123456789\r\n.\r\n"), .ex = {.kind = R, .multiline = true},
     .lim = {.max_reply = 24}, .fail = "reply exceeds 24 bytes"},
};

/* Status lines over 512 octets are a syntax error, but still parsed. Neither RFC 1939 3 ("may be
   up to 512 characters long") nor RFC 2449 4 ("is unchanged at 512 octets") says MUST: the
   error is at level SHOULD, citing RFC 2449 4. */
static void test_long_status(void)
{
	char line[600];
	memset(line, 'x', sizeof(line));
	memcpy(line, "+OK ", 4);
	memcpy(line + 510, "\r\n", 2); /* 512 octets with CRLF: fine */
	struct tap_row row = {
	    .in = line, .inlen = 512, .ex = {.kind = R}, .cls = MH_RC_OK, .status = "+OK"};
	tap_ok(tap_run_row(MH_PROTO_POP3, &row, 0), "512-octet status line is fine");
	line[510] = 'x';
	memcpy(line + 511, "\r\n", 2);
	struct tap_row row2 = {.in = line,
	                       .inlen = 513,
	                       .ex = {.kind = R},
	                       .cls = MH_RC_OK,
	                       .status = "+OK",
	                       .nsyntax = 1,
	                       .rfc = "RFC 2449 4"};
	tap_ok(tap_run_row(MH_PROTO_POP3, &row2, 1), "513-octet status line is a syntax error");
	struct mh_reply r;
	struct mh_error err;
	size_t consumed = 0;
	mh_reply_init(&r, MH_PROTO_POP3);
	int rc = tap_feed(MH_PROTO_POP3, &row2, 0, 0, &r, &consumed, &err);
	tap_ok(rc == 1 && r.nsyntax == 1 && r.syntax[0].level == MH_LEVEL_SHOULD,
	       "513-octet status line is a SHOULD-level syntax error");
	mh_reply_deinit(&r);
	/* the other syntax errors stay MUST */
	struct tap_row row3 = {TAP_IN("+OK\n"), .ex = {.kind = R}, .cls = MH_RC_OK,
	                       .status = "+OK", .nsyntax = 1,      .rfc = "RFC 1939 3"};
	mh_reply_init(&r, MH_PROTO_POP3);
	rc = tap_feed(MH_PROTO_POP3, &row3, 0, 0, &r, &consumed, &err);
	tap_ok(rc == 1 && r.nsyntax == 1 && r.syntax[0].level == MH_LEVEL_MUST,
	       "a bare LF after the status line is a MUST-level syntax error");
	mh_reply_deinit(&r);
}

/* A body that never ends, at small caps; a huge body line count at the default cap. */
static void test_hostile(void)
{
	size_t n = 4 + 200001 * 3 + 2;
	char *b = malloc(n);
	memcpy(b, "+OK\n", 4);
	for (size_t i = 0; i < 200001; i++)
		memcpy(b + 4 + i * 3, "x\r\n", 3);
	memcpy(b + n - 2, ".\n", 2);
	struct tap_row row = {.in = b,
	                      .inlen = n,
	                      .ex = {.kind = R, .multiline = true},
	                      .fail = "reply exceeds 200000 lines"};
	tap_ok(tap_run_row(MH_PROTO_POP3, &row, 0), "200001 body lines hit the default cap");
	free(b);
}

int main(void)
{
	tap_run_rows(MH_PROTO_POP3, rows, MH_ARRAY_SIZE(rows), "pop3");
	test_long_status();
	test_hostile();
	return tap_done();
}

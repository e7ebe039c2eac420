/* test_proto_smtp.c: table-driven tests of the SMTP reply parser and mh_smtp_enhanced_valid. */
#include "proto.h"
#include "tap.h"

#include <stdlib.h>

#define R MH_EXPECT_REPLY

static const struct tap_row rows[] = {
    /* 0: plain one-line replies */
    {TAP_IN("250 OK\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = "OK", .nlines = 1, .line0 = "250 OK"},
    {TAP_IN("220 mx.example.org ESMTP Postfix\r\n"), .ex = {.kind = MH_EXPECT_GREETING},
     .cls = MH_RC_OK, .status = "220", .code = 220, .text = "mx.example.org ESMTP Postfix"},
    {TAP_IN("354 End data with <CR><LF>.<CR><LF>\r\n"), .ex = {.kind = R}, .cls = MH_RC_CONTINUE,
     .status = "354", .code = 354, .text = "End data with <CR><LF>.<CR><LF>"},
    {TAP_IN("421 4.3.2 Service shutting down\r\n"), .ex = {.kind = R}, .cls = MH_RC_TEMPFAIL,
     .status = "421", .code = 421, .enhanced = "4.3.2", .text = "4.3.2 Service shutting down"},
    {TAP_IN("550 5.1.1 <nobody@example.org>: Recipient address rejected\r\n"), .ex = {.kind = R},
     .cls = MH_RC_PERMFAIL, .status = "550", .code = 550, .enhanced = "5.1.1",
     .text = "5.1.1 <nobody@example.org>: Recipient address rejected"},
    /* 5: multi-line EHLO */
    {TAP_IN("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"),
     .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250, .text = "8BITMIME",
     .nlines = 6, .line0 = "250-mx.example.org"},
    /* code alone, with and without SP (RFC 5321 4.2: clients MUST accept both) */
    {TAP_IN("250\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = ""},
    {TAP_IN("250 \r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = ""},
    {TAP_IN("250-\r\n250-\r\n250 done\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250",
     .code = 250, .text = "done", .nlines = 3},
    /* pipelined: only the first reply is consumed */
    {TAP_IN("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"), .ex = {.kind = R}, .consumed = 14,
     .cls = MH_RC_OK, .status = "250", .code = 250, .enhanced = "2.1.0", .text = "2.1.0 Ok"},
    /* 10: enhanced code only on the last line matters; a code-like text without SP is not one */
    {TAP_IN("250-2.0.0 first\r\n250 last\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250",
     .code = 250, .enhanced = "", .text = "last"},
    {TAP_IN("250 2.0.0\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .enhanced = "2.0.0", .text = "2.0.0"},
    {TAP_IN("250 2.0.0x ok\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .enhanced = "", .text = "2.0.0x ok"},
    {TAP_IN("250 2.1234.0 ok\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250",
     .code = 250, .enhanced = ""},
    {TAP_IN("550 2.1.1 mismatched class is parsed, judged later\r\n"), .ex = {.kind = R},
     .cls = MH_RC_PERMFAIL, .status = "550", .code = 550, .enhanced = "2.1.1"},
    /* 15: mixed codes */
    {TAP_IN("250-first\r\n251-second\r\n252 third\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK,
     .status = "250", .code = 250, .text = "third", .nlines = 3, .nsyntax = 1,
     .rfc = "RFC 5321 4.2.1"},
    /* bare LF: still framed */
    {TAP_IN("250-a\n250 b\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = "b", .nlines = 2, .line0 = "250-a", .nsyntax = 1, .rfc = "RFC 5321 2.3.8"},
    /* missing separator: the line ends the reply */
    {TAP_IN("250OK\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = "OK", .nsyntax = 1, .rfc = "RFC 5321 4.2"},
    {TAP_IN("250-a\r\n2500 b\r\nrest"), .ex = {.kind = R}, .consumed = 15, .cls = MH_RC_OK,
     .status = "250", .code = 250, .text = "0 b", .nsyntax = 1, .rfc = "RFC 5321 4.2"},
    /* a line without a code ends the reply */
    {TAP_IN("hello world\r\n250 ok\r\n"), .ex = {.kind = R}, .consumed = 13, .cls = MH_RC_PERMFAIL,
     .status = "", .code = 0, .text = "hello world", .nsyntax = 1, .rfc = "RFC 5321 4.2"},
    /* 20 */
    {TAP_IN("250-a\r\n\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = "", .nlines = 2, .nsyntax = 1},
    {TAP_IN("25\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "", .text = "25",
     .nsyntax = 1},
    /* out-of-range codes */
    {TAP_IN("199 what\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "199", .code = 199,
     .text = "what", .nsyntax = 1, .rfc = "RFC 5321 4.2"},
    {TAP_IN("600 x\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "600", .code = 600,
     .nsyntax = 1},
    {TAP_IN("270 x\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "270", .code = 270,
     .nsyntax = 1},
    /* 25: NUL inside a line: syntax error, framed normally */
    {TAP_IN("250 a\0b\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .nlines = 1, .nsyntax = 1, .rfc = "RFC 5321 4.2"},
    /* 8-bit and control bytes in the text */
    {TAP_IN("250 caf\xc3\xa9\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250",
     .code = 250, .text = "caf\xc3\xa9", .nsyntax = 1, .rfc = "RFC 5321 4.2"},
    {TAP_IN("250 a\rb\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = "a\rb", .nsyntax = 1},
    {TAP_IN("250 tab\there\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250", .code = 250,
     .text = "tab\there"},
    /* several distinct problems are each reported once */
    {TAP_IN("250-a\n251-\x01\n252-b\n250 c\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "250",
     .code = 250, .nlines = 4, .nsyntax = 3},
    /* 30: incomplete */
    {TAP_IN("250-a\r\n250 b"), .ex = {.kind = R}, .more = true},
    {TAP_IN("250-a\r\n"), .ex = {.kind = R}, .more = true},
    {TAP_IN(""), .ex = {.kind = R}, .more = true},
    /* caps */
    {TAP_IN("250 0123456789012345678901234567890123456789\r\n"), .ex = {.kind = R},
     .lim = {.max_line = 32}, .fail = "line exceeds 32 bytes without CRLF"},
    {TAP_IN("250 0123456789012345678901234567\r\n"), .ex = {.kind = R}, .lim = {.max_line = 32},
     .cls = MH_RC_OK, .status = "250", .code = 250},
    /* 35 */
    {TAP_IN("250 01234567890123456789012345678\r\n"), .ex = {.kind = R}, .lim = {.max_line = 32},
     .fail = "line exceeds 32 bytes"},
    {TAP_IN("250-a\r\n250-b\r\n250-c\r\n250 d\r\n"), .ex = {.kind = R}, .lim = {.max_lines = 3},
     .fail = "reply exceeds 3 lines"},
    {TAP_IN("250-a\r\n250-b\r\n250 c\r\n"), .ex = {.kind = R}, .lim = {.max_lines = 3},
     .cls = MH_RC_OK, .status = "250", .code = 250},
    {TAP_IN("250-aaaaaaa\r\n250-bbbbbbb\r\n250 c\r\n"), .ex = {.kind = R}, .lim = {.max_reply = 20},
     .fail = "reply exceeds 20 bytes"},
    {TAP_IN("250-aaaaaaa\r\n250 b\r\n"), .ex = {.kind = R}, .lim = {.max_reply = 20},
     .cls = MH_RC_OK, .status = "250", .code = 250},
    /* 40: line cap bigger than the reply cap: the reply cap is hit first */
    {TAP_IN("250 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"), .ex = {.kind = R},
     .lim = {.max_line = 40, .max_reply = 20}, .fail = "reply exceeds 20 bytes"},
    /* LF at the very end of the reply cap */
    {TAP_IN("250 aaaaaaaaaaaaaa\r\n"), .ex = {.kind = R}, .lim = {.max_reply = 20}, .cls = MH_RC_OK,
     .status = "250", .code = 250},
    {TAP_IN("\xff\xfe\xfd\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "",
     .nsyntax = 2},
    {TAP_IN("\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "", .text = "",
     .nsyntax = 2},
    {TAP_IN("\r\n"), .ex = {.kind = R}, .cls = MH_RC_PERMFAIL, .status = "", .text = "",
     .nsyntax = 1},
};

struct enh_row {
	const char *enh;
	int code;
	bool valid;
};

static const struct enh_row enh_rows[] = {
    {"2.0.0", 250, true},   {"2.1.5", 250, true},    {"5.7.1", 550, true},
    {"4.2.2", 452, true},   {"5.1.10", 550, true},   {"2.123.999", 250, true},
    {"", 250, false},       {"5.1.1", 250, false},   {"2.1.1", 550, false},
    {"3.0.0", 354, false},  {"", 354, true},         {"2.0.0", 354, true},
    {"2.01.0", 250, false}, {"2.0.00", 250, false},  {"2.1000.0", 250, false},
    {"2.0", 250, false},    {"2.0.0.0", 250, false}, {"x.0.0", 250, false},
    {"7.0.0", 750, false},  {"2.10.0", 250, true},
};

/* Feeds two pipelined replies through one parser, dropping consumed bytes between them. */
static void test_pipelined(void)
{
	static const char in[] = "250-a\r\n250 b\r\n550 5.1.1 no\r\n";
	struct mh_parser p;
	struct mh_reply r;
	struct mh_error err;
	size_t used = 0, consumed = 0;
	mh_parser_init(&p, MH_PROTO_SMTP, NULL);
	struct mh_expect ex = {.kind = MH_EXPECT_REPLY};
	mh_parser_expect(&p, &ex);
	mh_reply_init(&r, MH_PROTO_SMTP);
	mh_error_init(&err);
	int rc1 =
	    mh_parser_feed(&p, (const unsigned char *)in, sizeof(in) - 1, &r, &consumed, &err);
	used = consumed;
	int ok1 = rc1 == 1 && consumed == 14 && r.code == 250 && r.nlines == 2;
	mh_reply_reset(&r);
	int rc2 = mh_parser_feed(&p, (const unsigned char *)in + used, sizeof(in) - 1 - used, &r,
	                         &consumed, &err);
	tap_ok(ok1 && rc2 == 1 && r.code == 550 && consumed == sizeof(in) - 1 - used &&
	           strcmp(r.enhanced, "5.1.1") == 0,
	       "pipelined replies parse one after another");
	mh_reply_deinit(&r);
}

/* Hostile inputs built at run time: an endless line and a huge line count at the default caps. */
static void test_hostile(void)
{
	size_t n = 200001 * 7 + 8;
	char *many = malloc(n);
	size_t k = 0;
	for (size_t i = 0; i < 200001; i++) {
		memcpy(many + k, "250-xx\n", 7);
		k += 7;
	}
	memcpy(many + k, "250 end\n", 8);
	k += 8;
	struct tap_row row = {
	    .in = many, .inlen = k, .ex = {.kind = R}, .fail = "reply exceeds 200000 lines"};
	tap_ok(tap_run_row(MH_PROTO_SMTP, &row, 0), "200001 lines hit the default line cap");
	free(many);

	size_t big = 70000;
	char *line = malloc(big);
	memset(line, 'A', big);
	memcpy(line, "250 ", 4);
	struct tap_row row2 = {.in = line,
	                       .inlen = big,
	                       .ex = {.kind = R},
	                       .fail = "line exceeds 65536 bytes without CRLF"};
	tap_ok(tap_run_row(MH_PROTO_SMTP, &row2, 1), "an endless line hits the default line cap");
	free(line);
}

int main(void)
{
	tap_run_rows(MH_PROTO_SMTP, rows, MH_ARRAY_SIZE(rows), "smtp");
	for (size_t i = 0; i < MH_ARRAY_SIZE(enh_rows); i++) {
		bool v = mh_smtp_enhanced_valid(enh_rows[i].enh, enh_rows[i].code);
		tap_ok(v == enh_rows[i].valid, "enhanced row %zu: \"%s\" on %d is %s", i,
		       enh_rows[i].enh, enh_rows[i].code, v ? "valid" : "invalid");
	}
	tap_ok(mh_smtp_enhanced_valid(NULL, 354) && !mh_smtp_enhanced_valid(NULL, 250),
	       "NULL enhanced");
	test_pipelined();
	test_hostile();
	return tap_done();
}

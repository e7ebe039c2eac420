/* test_proto_imap.c: table-driven tests of the IMAP response parser (tags, literals, greetings). */
#include "proto.h"
#include "tap.h"

#include <stdlib.h>

#define G   MH_EXPECT_GREETING
#define R   MH_EXPECT_REPLY
#define ONE MH_EXPECT_ONE

static const struct tap_row rows[] = {
    /* 0: greetings */
    {TAP_IN("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
            "AUTH=PLAIN] Dovecot ready.\r\n"),
     .ex = {.kind = G}, .cls = MH_RC_OK, .status = "OK",
     .resp_code =
         "CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN",
     .text = "Dovecot ready.", .nlines = 1},
    {TAP_IN("* PREAUTH IMAP4rev1 server logged in as Smith\r\n"), .ex = {.kind = G},
     .cls = MH_RC_PREAUTH, .status = "PREAUTH", .text = "IMAP4rev1 server logged in as Smith"},
    {TAP_IN("* BYE Autologout; idle for too long\r\n"), .ex = {.kind = G}, .cls = MH_RC_BYE,
     .status = "BYE", .text = "Autologout; idle for too long"},
    {TAP_IN("* ok lower case works\r\n"), .ex = {.kind = G}, .cls = MH_RC_OK, .status = "OK",
     .text = "lower case works"},
    {TAP_IN("* NO go away\r\n"), .ex = {.kind = G}, .cls = MH_RC_NO, .status = "NO", .nsyntax = 1,
     .rfc = "RFC 3501 7.1"},
    /* 5 */
    {TAP_IN("A1 OK hello\r\n"), .ex = {.kind = G}, .cls = MH_RC_OK, .status = "OK", .tag = "A1",
     .text = "hello", .nsyntax = 1, .rfc = "RFC 3501 9"},
    {TAP_IN("* 3 EXISTS\r\n"), .ex = {.kind = G}, .cls = MH_RC_BAD, .status = "",
     .text = "3 EXISTS", .nsyntax = 1, .rfc = "RFC 3501 7.1"},
    {TAP_IN("+ go ahead\r\n"), .ex = {.kind = G}, .cls = MH_RC_CONTINUE, .status = "+",
     .nsyntax = 1},
    {TAP_IN("* OK\r\n"), .ex = {.kind = G}, .cls = MH_RC_OK, .status = "OK", .text = "",
     .nsyntax = 1},
    /* tagged replies with untagged data */
    {TAP_IN("* 172 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 12] Message 12 is first unseen\r\n"
            "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 4392] Predicted next UID\r\n"
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
            "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
            "A142 OK [READ-WRITE] SELECT completed\r\n"),
     .ex = {.kind = R, .tag = "A142"}, .cls = MH_RC_OK, .status = "OK", .tag = "A142",
     .resp_code = "READ-WRITE", .text = "SELECT completed", .nlines = 8, .line0 = "* 172 EXISTS"},
    /* 10: FETCH with a literal containing CRLFs, "*" lines and a fake tagged line */
    {TAP_IN("* 12 FETCH (BODY[] {39}\r\nSubject: hi\r\n\r\nA7 OK fake\r\n* BYE nope\r\n)\r\n"
            "A7 OK FETCH completed\r\n"),
     .ex = {.kind = R, .tag = "A7"}, .cls = MH_RC_OK, .status = "OK", .tag = "A7",
     .text = "FETCH completed", .nlines = 2,
     .line0 = "* 12 FETCH (BODY[] {39}\r\nSubject: hi\r\n\r\nA7 OK fake\r\n* BYE nope\r\n)"},
    /* several literals in one response, one of them empty */
    {TAP_IN("* 1 FETCH (BODY[HEADER] {3}\r\nabc BODY[TEXT] {0}\r\n FLAGS ())\r\nt OK done\r\n"),
     .ex = {.kind = R, .tag = "t"}, .cls = MH_RC_OK, .status = "OK", .tag = "t", .text = "done",
     .nlines = 2},
    {TAP_IN("a NO [TRYCREATE] no such mailbox\r\n"), .ex = {.kind = R, .tag = "a"}, .cls = MH_RC_NO,
     .status = "NO", .tag = "a", .resp_code = "TRYCREATE", .text = "no such mailbox"},
    {TAP_IN("a bad Command unknown\r\n"), .ex = {.kind = R, .tag = "a"}, .cls = MH_RC_BAD,
     .status = "BAD", .tag = "a", .text = "Command unknown"},
    /* LOGOUT: untagged BYE does not end the reply */
    {TAP_IN("* BYE IMAP4rev1 Server logging out\r\nA023 OK LOGOUT completed\r\n"),
     .ex = {.kind = R, .tag = "A023"}, .cls = MH_RC_OK, .status = "OK", .tag = "A023", .nlines = 2},
    /* 15: continuation ends a reply */
    {TAP_IN("+ Ready for additional command text\r\n"), .ex = {.kind = R, .tag = "A1"},
     .cls = MH_RC_CONTINUE, .status = "+", .text = "Ready for additional command text"},
    {TAP_IN("+ \r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_CONTINUE, .status = "+",
     .text = ""},
    {TAP_IN("+\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_CONTINUE, .status = "+",
     .nsyntax = 1},
    {TAP_IN("* 1 EXISTS\r\n+ idling\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_CONTINUE,
     .status = "+", .text = "idling", .nlines = 2},
    /* any tag */
    {TAP_IN("zz9 OK whatever\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "OK",
     .tag = "zz9"},
    /* 20: tag mismatch ends the reply with a syntax error */
    {TAP_IN("* 1 EXISTS\r\nA2 OK done\r\nA1 OK done\r\n"), .ex = {.kind = R, .tag = "A1"},
     .consumed = 24, .cls = MH_RC_OK, .status = "OK", .tag = "A2", .nlines = 2, .nsyntax = 1,
     .rfc = "RFC 3501 2.2.2"},
    {TAP_IN("A10 OK prefix is not a match\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK,
     .status = "OK", .tag = "A10", .nsyntax = 1},
    /* bad tag characters, bad status atoms */
    {TAP_IN("A(1 OK x\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "OK", .tag = "A(1",
     .nsyntax = 1, .rfc = "RFC 3501 9"},
    {TAP_IN("A1 PREAUTH x\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_PREAUTH,
     .status = "PREAUTH", .tag = "A1", .nsyntax = 1, .rfc = "RFC 3501 7.1"},
    {TAP_IN("A1 FINE x\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_BAD, .status = "",
     .tag = "A1", .text = "FINE x", .nsyntax = 1},
    /* 25 */
    {TAP_IN("A1 OK\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK, .status = "OK",
     .tag = "A1", .nsyntax = 1},
    {TAP_IN("garbage\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_BAD, .status = "",
     .tag = "garbage", .nsyntax = 2},
    {TAP_IN("\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_BAD, .status = "", .nsyntax = 3},
    {TAP_IN("]x OK fine\r\n"), .ex = {.kind = R}, .cls = MH_RC_OK, .status = "OK", .tag = "]x"},
    /* response code checks */
    {TAP_IN("A1 OK [READ-WRITE SELECT done\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK,
     .status = "OK", .tag = "A1", .resp_code = "", .text = "[READ-WRITE SELECT done", .nsyntax = 1},
    /* 30 */
    {TAP_IN("A1 OK [ALERT]\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK, .status = "OK",
     .tag = "A1", .resp_code = "ALERT", .text = "", .nsyntax = 1},
    {TAP_IN("A1 OK [ALERT]text\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK,
     .status = "OK", .tag = "A1", .resp_code = "ALERT", .text = "text", .nsyntax = 1},
    /* bare LF, NUL, 8-bit */
    {TAP_IN("* 1 EXISTS\nA1 OK done\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK,
     .status = "OK", .tag = "A1", .nlines = 2, .line0 = "* 1 EXISTS", .nsyntax = 1,
     .rfc = "RFC 3501 9"},
    {TAP_IN("* 1 FETCH (BODY[] {3}\r\na\0b)\r\nA1 OK x\r\n"), .ex = {.kind = R, .tag = "A1"},
     .cls = MH_RC_OK, .status = "OK", .tag = "A1", .nlines = 2, .nsyntax = 1},
    {TAP_IN("A1 OK caf\xc3\xa9 \xff\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK,
     .status = "OK", .tag = "A1", .text = "caf\xc3\xa9 \xff"},
    /* 35: tagged and "+" lines never carry literals */
    {TAP_IN("A1 OK {5}\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK, .status = "OK",
     .tag = "A1", .text = "{5}"},
    {TAP_IN("+ {5}\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_CONTINUE, .status = "+",
     .text = "{5}"},
    /* non-synchronizing literal from the server: framed, flagged */
    {TAP_IN("* 1 FETCH (BODY[] {2+}\r\nhi)\r\nA1 OK x\r\n"), .ex = {.kind = R, .tag = "A1"},
     .cls = MH_RC_OK, .status = "OK", .tag = "A1", .nlines = 2, .nsyntax = 1, .rfc = "RFC 7888 3"},
    /* not literals */
    {TAP_IN("* OK {}\r\n* OK {x}\r\n* OK 5}\r\nA1 OK y\r\n"), .ex = {.kind = R, .tag = "A1"},
     .cls = MH_RC_OK, .status = "OK", .tag = "A1", .nlines = 4},
    /* literal split anywhere: the splitting test covers it; a literal containing "{9}\r\n" */
    {TAP_IN("* 1 FETCH (BODY[] {7}\r\nx {9}\r\n)\r\nA1 OK y\r\n"), .ex = {.kind = R, .tag = "A1"},
     .cls = MH_RC_OK, .status = "OK", .tag = "A1", .nlines = 2},
    /* 40: hostile literal sizes */
    {TAP_IN("* 1 FETCH (BODY[] {4294967295}\r\n"), .ex = {.kind = R, .tag = "A1"},
     .fail = "literal of 4294967295 bytes exceeds the 16777216-byte reply cap"},
    {TAP_IN("* 1 FETCH (BODY[] {99999999999999999999999999999999999999999}\r\n"),
     .ex = {.kind = R, .tag = "A1"}, .fail = "bytes exceeds the 16777216-byte reply cap"},
    {TAP_IN("* 1 FETCH (BODY[] {10}\r\n"), .ex = {.kind = R, .tag = "A1"}, .lim = {.max_reply = 30},
     .fail = "literal of 10 bytes exceeds the 30-byte reply cap"},
    {TAP_IN("* 1 FETCH (BODY[] {6}\r\n"), .ex = {.kind = R, .tag = "A1"}, .lim = {.max_reply = 30},
     .more = true},
    {TAP_IN("* 1 FETCH (BODY[] {100}\r\nabc"), .ex = {.kind = R, .tag = "A1"}, .more = true},
    /* 45: ONE mode (IDLE) */
    {TAP_IN("* 4 EXISTS\r\n* 1 RECENT\r\n"), .ex = {.kind = ONE, .tag = "A1"}, .consumed = 12,
     .cls = MH_RC_UNTAGGED, .status = "*", .text = "4 EXISTS"},
    {TAP_IN("* BYE shutting down\r\n"), .ex = {.kind = ONE, .tag = "A1"}, .cls = MH_RC_BYE,
     .status = "BYE", .text = "shutting down"},
    {TAP_IN("* OK [ALERT] disk full\r\n"), .ex = {.kind = ONE}, .cls = MH_RC_UNTAGGED,
     .status = "*", .resp_code = "ALERT", .text = "disk full"},
    {TAP_IN("A1 OK IDLE terminated\r\n"), .ex = {.kind = ONE, .tag = "A1"}, .cls = MH_RC_OK,
     .status = "OK", .tag = "A1"},
    {TAP_IN("+ idling\r\n"), .ex = {.kind = ONE, .tag = "A1"}, .cls = MH_RC_CONTINUE,
     .status = "+"},
    /* 50 */
    {TAP_IN("* 1 FETCH (BODY[] {5}\r\nhello)\r\n"), .ex = {.kind = ONE}, .cls = MH_RC_UNTAGGED,
     .status = "*", .text = "1 FETCH (BODY[] {5}\r\nhello)"},
    {TAP_IN("*x\r\n"), .ex = {.kind = ONE}, .cls = MH_RC_UNTAGGED, .status = "*", .nsyntax = 1},
    {TAP_IN("*x\r\nA1 OK y\r\n"), .ex = {.kind = R, .tag = "A1"}, .cls = MH_RC_OK, .status = "OK",
     .tag = "A1", .nsyntax = 1},
    /* caps */
    {TAP_IN("* 1 EXISTS\r\n* 2 EXISTS\r\n* 3 EXISTS\r\nA1 OK\r\n"), .ex = {.kind = R, .tag = "A1"},
     .lim = {.max_lines = 3}, .fail = "reply exceeds 3 lines"},
    {TAP_IN("* 1 FETCH (BODY[] {40}\r\n0123456789012345678901234567890123456789)\r\nA1 OK x\r\n"),
     .ex = {.kind = R, .tag = "A1"}, .lim = {.max_line = 24}, .cls = MH_RC_OK, .status = "OK",
     .tag = "A1", .nlines = 2},
    /* 55 */
    {TAP_IN(
         "* 1 FETCH (BODY[] {4}\r\nabcd 0123456789012345678901234567890123456789)\r\nA1 OK x\r\n"),
     .ex = {.kind = R, .tag = "A1"}, .lim = {.max_line = 24}, .fail = "line exceeds 24 bytes"},
    {TAP_IN("A1 OK 0123456789012345678901234567890123456789"), .ex = {.kind = R, .tag = "A1"},
     .lim = {.max_line = 24}, .fail = "line exceeds 24 bytes without CRLF"},
    /* pipelined: the next reply stays */
    {TAP_IN("A1 OK x\r\n* 1 EXISTS\r\nA2 OK y\r\n"), .ex = {.kind = R, .tag = "A1"}, .consumed = 9,
     .cls = MH_RC_OK, .status = "OK", .tag = "A1", .text = "x"},
    /* a tag longer than the expectation holds: the command's tag was cut short the same way,
       so the response's tag matches when it begins with it */
    {TAP_IN("A123456789012345678901234567890123456789012345678901234567890123456789 OK x\r\n"),
     .ex = {.kind = R, .tag = "A12345678901234567890123456789012345678901234567890123456789012"},
     .cls = MH_RC_OK, .status = "OK",
     .tag = "A12345678901234567890123456789012345678901234567890123456789012", .nsyntax = 0},
    /* ... and does not when it begins otherwise */
    {TAP_IN("B123456789012345678901234567890123456789012345678901234567890123456789 OK x\r\n"),
     .ex = {.kind = R, .tag = "A12345678901234567890123456789012345678901234567890123456789012"},
     .cls = MH_RC_OK, .status = "OK",
     .tag = "B12345678901234567890123456789012345678901234567890123456789012", .nsyntax = 1},
    /* a cut expectation never matches a shorter tag */
    {TAP_IN("A1234 OK x\r\n"),
     .ex = {.kind = R, .tag = "A12345678901234567890123456789012345678901234567890123456789012"},
     .cls = MH_RC_OK, .status = "OK", .tag = "A1234", .nsyntax = 1},
};

/* A literal of a million bytes split at odd places, and a huge response count. */
static void test_hostile(void)
{
	size_t lit = 1000000;
	const char *head = "* 1 FETCH (BODY[] {1000000}\r\n", *tail = ")\r\nA1 OK done\r\n";
	size_t n = strlen(head) + lit + strlen(tail);
	char *b = malloc(n);
	memcpy(b, head, strlen(head));
	for (size_t i = 0; i < lit; i++)
		b[strlen(head) + i] = (i % 64 == 63) ? '\n' : (i % 64 == 62 ? '\r' : 'x');
	memcpy(b + strlen(head) + lit, tail, strlen(tail));
	struct tap_row row = {.in = b,
	                      .inlen = n,
	                      .ex = {.kind = R, .tag = "A1"},
	                      .cls = MH_RC_OK,
	                      .status = "OK",
	                      .tag = "A1",
	                      .text = "done",
	                      .nlines = 2,
	                      .lim = {.max_line = 100}};
	tap_ok(tap_run_row(MH_PROTO_IMAP, &row, 0),
	       "a 1 MB literal with CRLFs inside is skipped unscanned");
	free(b);

	size_t cnt = 200001;
	n = cnt * 4 + 9;
	b = malloc(n);
	for (size_t i = 0; i < cnt; i++)
		memcpy(b + i * 4, "* x\n", 4);
	memcpy(b + cnt * 4, "A1 OK x\r\n", 9);
	struct tap_row row2 = {.in = b,
	                       .inlen = n,
	                       .ex = {.kind = R, .tag = "A1"},
	                       .fail = "reply exceeds 200000 lines"};
	tap_ok(tap_run_row(MH_PROTO_IMAP, &row2, 1),
	       "200001 untagged responses hit the default cap");
	free(b);
}

int main(void)
{
	tap_run_rows(MH_PROTO_IMAP, rows, MH_ARRAY_SIZE(rows), "imap");
	test_hostile();
	return tap_done();
}

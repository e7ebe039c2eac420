/* test_mutate.c: table-driven tests of the mutator: the reply rules (stream splitting and
   mh_mutate_fix_replies), stream round trips, determinism, operator reachability and names,
   caps over 100000 mutations, reply consistency against an independent checker, spec-guided
   insertion and the AFL dictionary loader. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dialogue.h"
#include "mutate.h"
#include "spec.h"
#include "tap.h"

#ifndef MH_TEST_SPECS
#error "MH_TEST_SPECS must name the specs directory"
#endif

#define S(s) (const unsigned char *)(s), (sizeof(s) - 1)

/* The record layout of d: "S:<escaped bytes>" / "R" / "T", joined by '|'. */
static void layout(const struct mh_dialogue *d, struct mh_buf *out)
{
	mh_buf_reset(out);
	for (size_t i = 0; i < d->n; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		if (i > 0)
			mh_buf_append(out, "|", 1);
		if (m->op == MH_DLG_SEND) {
			mh_buf_append(out, "S:", 2);
			mh_buf_append_escaped(out, m->data ? m->data : (const unsigned char *)"",
			                      m->len, 200);
		} else {
			mh_buf_append(out, m->op == MH_DLG_REPLY ? "R" : "T", 1);
		}
	}
}

static bool contains(const unsigned char *h, size_t hn, const char *needle, size_t nn)
{
	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp(h + i, needle, nn) == 0)
			return true;
	return false;
}

/* ---- the reply rules, through mh_dialogue_from_stream ---- */

struct stream_row {
	enum mh_proto_id proto;
	const char *in;
	size_t len;
	const char *want;
};
#define ROW(p, s, w)                                                                               \
	{                                                                                          \
		p, s, sizeof(s) - 1, w                                                             \
	}

static const struct stream_row stream_rows[] = {
    ROW(MH_PROTO_SMTP, "EHLO x\r\nMAIL FROM:<a@b>\r\n",
        "S:EHLO x\\r\\n|R|S:MAIL FROM:<a@b>\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
        "S:DATA\\r\\n|R|S:Subject: x\\r\\n\\r\\nbody\\r\\n.\\r\\n|R|S:QUIT\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "DATA\r\n.\r\n", "S:DATA\\r\\n|R|S:.\\r\\n|R"),
    /* end-of-data variants end nothing: one reply, at the real end */
    ROW(MH_PROTO_SMTP, "DATA\r\nx\n.\nMAIL FROM:<s>\r\n.\r\n",
        "S:DATA\\r\\n|R|S:x\\n.\\nMAIL FROM:<s>\\r\\n.\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "DATA\r\nx\r\n.\nNOOP\r\n", "S:DATA\\r\\n|R|S:x\\r\\n.\\nNOOP\\r\\n"),
    ROW(MH_PROTO_SMTP, "DATA\r\nx\n.\r\nNOOP\r\n", "S:DATA\\r\\n|R|S:x\\n.\\r\\nNOOP\\r\\n"),
    ROW(MH_PROTO_SMTP, "DATA\r\nx\r.\rNOOP\r\n", "S:DATA\\r\\n|R|S:x\\r.\\rNOOP\\r\\n"),
    ROW(MH_PROTO_SMTP, "DATA\r\nx\r\n\0.\r\nNOOP\r\n",
        "S:DATA\\r\\n|R|S:x\\r\\n\\0.\\r\\nNOOP\\r\\n"),
    /* BDAT: the payload is counted, whatever it holds */
    ROW(MH_PROTO_SMTP, "BDAT 5 LAST\r\nhelloQUIT\r\n",
        "S:BDAT 5 LAST\\r\\n|S:hello|R|S:QUIT\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "BDAT 7\r\nQUIT\r\n\r\nNOOP\r\n",
        "S:BDAT 7\\r\\n|S:QUIT\\r\\n\\r|R|S:\\n|S:NOOP\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "BDAT 100\r\nhello\r\nQUIT\r\n", "S:BDAT 100\\r\\n|S:hello\\r\\nQUIT\\r\\n"),
    ROW(MH_PROTO_SMTP, "BDAT 0 LAST\r\nQUIT\r\n", "S:BDAT 0 LAST\\r\\n|R|S:QUIT\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "BDAT 99999999999999999999999\r\nQUIT\r\n",
        "S:BDAT 99999999999999999999999\\r\\n|S:QUIT\\r\\n"),
    ROW(MH_PROTO_SMTP, "BDAT -1\r\nQUIT\r\n", "S:BDAT -1\\r\\n|R|S:QUIT\\r\\n|R"),
    /* bare LF and empty lines: nothing due */
    ROW(MH_PROTO_SMTP, "NOOP\nQUIT\r\n", "S:NOOP\\n|S:QUIT\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "\r\nNOOP\r\n", "S:\\r\\n|S:NOOP\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "NOOP", "S:NOOP"),
    /* SASL: one reply per line, DATA still starts data */
    ROW(MH_PROTO_SMTP, "AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n",
        "S:AUTH LOGIN\\r\\n|R|S:dXNlcg==\\r\\n|R|S:cGFzcw==\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "AUTH PLAIN\r\nDATA\r\nbody\r\n.\r\n",
        "S:AUTH PLAIN\\r\\n|R|S:DATA\\r\\n|R|S:body\\r\\n.\\r\\n|R"),
    /* TLS after STARTTLS when more follows; not inside a SASL exchange */
    ROW(MH_PROTO_SMTP, "EHLO x\r\nSTARTTLS\r\nEHLO y\r\n",
        "S:EHLO x\\r\\n|R|S:STARTTLS\\r\\n|R|T|S:EHLO y\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "STARTTLS\r\n", "S:STARTTLS\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "AUTH LOGIN\r\nSTARTTLS\r\nEHLO y\r\n",
        "S:AUTH LOGIN\\r\\n|R|S:STARTTLS\\r\\n|R|S:EHLO y\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "AUTH PLAIN AGFAYg==\r\nSTARTTLS\r\nEHLO y\r\n",
        "S:AUTH PLAIN AGFAYg==\\r\\n|R|S:STARTTLS\\r\\n|R|T|S:EHLO y\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "AUTH SCRAM-SHA-1 biwsbj1h\r\nSTARTTLS\r\nEHLO y\r\n",
        "S:AUTH SCRAM-SHA-1 biwsbj1h\\r\\n|R|S:STARTTLS\\r\\n|R|S:EHLO y\\r\\n|R"),
    ROW(MH_PROTO_SMTP, "STARTTLS\r\nSTARTTLS\r\nQUIT\r\n",
        "S:STARTTLS\\r\\n|R|T|S:STARTTLS\\r\\n|R|S:QUIT\\r\\n|R"),
    /* IMAP */
    ROW(MH_PROTO_IMAP, "a LOGIN u p\r\nb SELECT INBOX\r\n",
        "S:a LOGIN u p\\r\\n|R|S:b SELECT INBOX\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a APPEND INBOX {5}\r\nhello\r\nb NOOP\r\n",
        "S:a APPEND INBOX {5}\\r\\n|R|S:hello\\r\\n|R|S:b NOOP\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a APPEND INBOX {5+}\r\nhello\r\n",
        "S:a APPEND INBOX {5+}\\r\\n|S:hello\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a LOGIN {1}\r\nu {1}\r\np\r\n",
        "S:a LOGIN {1}\\r\\n|R|S:u {1}\\r\\n|R|S:p\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a LOGIN {10}\r\nab\r\nb NOOP\r\n",
        "S:a LOGIN {10}\\r\\n|R|S:ab\\r\\nb NOOP\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a LOGIN {100}\r\nab\r\n", "S:a LOGIN {100}\\r\\n|R|S:ab\\r\\n"),
    ROW(MH_PROTO_IMAP, "a LOGIN {0}\r\n\r\n", "S:a LOGIN {0}\\r\\n|R|S:\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a X ~{2}\r\nzz\r\n", "S:a X ~{2}\\r\\n|R|S:zz\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a IDLE\r\nDONE\r\nb NOOP\r\n",
        "S:a IDLE\\r\\n|R|S:DONE\\r\\n|R|S:b NOOP\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a IDLE\r\nb NOOP\r\nDONE\r\n",
        "S:a IDLE\\r\\n|R|S:b NOOP\\r\\n|S:DONE\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a AUTHENTICATE PLAIN\r\nAGFAYg==\r\nb NOOP\r\n",
        "S:a AUTHENTICATE PLAIN\\r\\n|R|S:AGFAYg==\\r\\n|R|S:b NOOP\\r\\n|R"),
    ROW(MH_PROTO_IMAP, "a AUTHENTICATE PLAIN\r\n*\r\nb STARTTLS\r\nc NOOP\r\n",
        "S:a AUTHENTICATE PLAIN\\r\\n|R|S:*\\r\\n|R|S:b STARTTLS\\r\\n|R|T|S:c NOOP\\r\\n|R"),
    /* POP3 */
    ROW(MH_PROTO_POP3, "USER a\r\nPASS b\r\nLIST\r\nRETR 1\r\n",
        "S:USER a\\r\\n|R|S:PASS b\\r\\n|R|S:LIST\\r\\n|R|S:RETR 1\\r\\n|R"),
    ROW(MH_PROTO_POP3, "STLS\r\nCAPA\r\n", "S:STLS\\r\\n|R|T|S:CAPA\\r\\n|R"),
    ROW(MH_PROTO_POP3, "AUTH PLAIN\r\nAGFAYg==\r\nSTLS\r\nQUIT\r\n",
        "S:AUTH PLAIN\\r\\n|R|S:AGFAYg==\\r\\n|R|S:STLS\\r\\n|R|S:QUIT\\r\\n|R"),
};

static void test_stream_rows(void)
{
	struct mh_dialogue d;
	struct mh_buf got;
	mh_buf_init(&got);
	for (size_t i = 0; i < MH_ARRAY_SIZE(stream_rows); i++) {
		const struct stream_row *r = &stream_rows[i];
		mh_dialogue_init(&d, r->proto);
		int rc =
		    mh_dialogue_from_stream((const unsigned char *)r->in, r->len, r->proto, &d);
		layout(&d, &got);
		int ok = rc == 0 && strcmp(mh_buf_cstr(&got), r->want) == 0;
		if (!ok)
			tap_diag("row %zu: got  %s\n#          want %s", i, mh_buf_cstr(&got),
			         r->want);
		tap_ok(ok, "stream row %zu (%s)", i, mh_proto_name(r->proto));
		mh_dialogue_deinit(&d);
	}
	mh_buf_deinit(&got);
}

/* ---- mh_mutate_fix_replies on dialogue files ---- */

#define A10  "AAAAAAAAAA"
#define A100 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10

struct fix_row {
	const char *text; /* dialogue text form (header added) */
	const char *want; /* layout after the fix (NULL = not checked) */
	const char
	    *statuses;    /* the REPLY statuses after the fix, joined by ',' ("" = not checked) */
	int ambiguous_at; /* record index mh_mutate_first_ambiguous must give, -1 = none */
};

static const struct fix_row fix_rows[] = {
    /* pipelining: one write, three replies after it */
    {"proto smtp\nsend EHLO x\\r\\nMAIL FROM:<a>\\r\\nRCPT TO:<b>\\r\\n\n",
     "S:EHLO x\\r\\nMAIL FROM:<a>\\r\\nRCPT TO:<b>\\r\\n|R|R|R", "", -1},
    /* a split write: nothing between the halves */
    {"proto smtp\nsend EHL\nreply 250\nsend O x\\r\\n\n", "S:EHL|S:O x\\r\\n|R", "", -1},
    /* statuses survive where the count did not change */
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend QUIT\\r\\n\nreply 221\n",
     "S:EHLO x\\r\\n|R|S:QUIT\\r\\n|R", "250,221", -1},
    /* SMTP data written line by line: no reply inside */
    {"proto smtp\nsend DATA\\r\\n\nreply 354\nsend a\\r\\n\nreply\nsend b\\r\\n\nreply\nsend "
     ".\\r\\n\nreply 250\n",
     "S:DATA\\r\\n|R|S:a\\r\\n|S:b\\r\\n|S:.\\r\\n|R", "354,250", -1},
    /* a refused STARTTLS keeps the session in plaintext */
    {"proto smtp\nsend STARTTLS\\r\\n\nreply 454\nsend EHLO x\\r\\n\nreply 250\n",
     "S:STARTTLS\\r\\n|R|S:EHLO x\\r\\n|R", "454,250", -1},
    /* a TLS record without STARTTLS goes; one after the last STARTTLS stays */
    {"proto smtp\nsend EHLO x\\r\\n\nreply\ntls\nsend QUIT\\r\\n\n",
     "S:EHLO x\\r\\n|R|S:QUIT\\r\\n|R", "", -1},
    {"proto smtp\nsend STARTTLS\\r\\n\nreply 220\ntls\n", "S:STARTTLS\\r\\n|R|T", "220", -1},
    /* STARTTLS with plaintext in the same write: one reply, TLS, the injected part ambiguous */
    {"proto imap\nsend a STARTTLS\\r\\nb NOOP\\r\\n\nsend c NOOP\\r\\n\n",
     "S:a STARTTLS\\r\\nb NOOP\\r\\n|R|T|S:c NOOP\\r\\n|R", "", 0},
    /* IMAP literal written without waiting: two replies after the write */
    {"proto imap\nsend a APPEND INBOX {3}\\r\\nabc\\r\\n\n",
     "S:a APPEND INBOX {3}\\r\\nabc\\r\\n|R|R", "", -1},
    /* a bare LF makes what follows ambiguous from that record on */
    {"proto pop3\nsend USER a\\r\\n\nsend PASS b\\n\nsend QUIT\\r\\n\n",
     "S:USER a\\r\\n|R|S:PASS b\\n|S:QUIT\\r\\n|R", "", 2},
    /* 10: a BDAT line that is not strictly "BDAT" SP 1*DIGIT [SP "LAST"] CRLF (RFC 3030 2):
       whether the server takes the chunk or refuses the line at once is its choice; the digits
       still size the payload */
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend BDAT 3\\r\\r\\n\nsend abc\nreply 250\n",
     "S:EHLO x\\r\\n|R|S:BDAT 3\\r\\r\\n|S:abc|R", "250,250", 2},
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend BDAT 3\\0\\r\\n\nsend abc\nreply 250\n",
     "S:EHLO x\\r\\n|R|S:BDAT 3\\0\\r\\n|S:abc|R", "250,250", 2},
    {"proto smtp\nsend BDAT\\r 3\\r\\n\nsend abc\nreply 250\n", "S:BDAT\\r 3\\r\\n|S:abc|R", "250",
     0},
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend BDAT 6" A100 A100 A100 A100 A100
     "\\r\\n\nsend abcdef\nreply\n",
     NULL, "", 2},
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend BDAT 3 AUTH=a\\xf4\\r\\nabc\nreply 500\n",
     "S:EHLO x\\r\\n|R|S:BDAT 3 AUTH=a\\xf4\\r\\nabc|R", "250,500", 2},
    /* 15 */
    {"proto smtp\nsend BDAT abc\\r\\n\nreply 501\n", "S:BDAT abc\\r\\n|R", "501", 0},
    {"proto smtp\nsend BDAT  3\\r\\n\nsend abc\nreply 250\n", "S:BDAT  3\\r\\n|S:abc|R", "250", 0},
    /* valid BDAT lines (any case) are not ambiguous */
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend BDAT 23 LAST\\r\\n\n"
     "send Subject: x\\r\\n\\r\\nbody!!!\\r\\n\nreply 250\n",
     "S:EHLO x\\r\\n|R|S:BDAT 23 LAST\\r\\n|S:Subject: x\\r\\n\\r\\nbody!!!\\r\\n|R", "250,250",
     -1},
    {"proto smtp\nsend bdat 3 last\\r\\nabc\nreply 250\nsend BDAT 0\\r\\n\nreply 250\n",
     "S:bdat 3 last\\r\\nabc|R|S:BDAT 0\\r\\n|R", "250,250", -1},
    /* IMAP lines without a valid tag get an untagged BAD (RFC 3501 7.1.3) that completes
       nothing */
    {"proto imap\nsend \"\"\"A0001 LITERAL+\\r\\n\nreply BAD\nsend A0002 NOOP\\r\\n\nreply OK\n",
     "S:\"\"\"A0001 LITERAL+\\r\\n|R|S:A0002 NOOP\\r\\n|R", "BAD,OK", 0},
    /* 20 */
    {"proto imap\nsend a1 NOOP\\r\\n\nreply OK\nsend A0002\\r\\n\nreply BAD\n",
     "S:a1 NOOP\\r\\n|R|S:A0002\\r\\n|R", "OK,BAD", 2},
    {"proto imap\nsend a1 NOOP\\r\\n\nreply OK\nsend * NOOP\\r\\n\nreply BAD\n",
     "S:a1 NOOP\\r\\n|R|S:* NOOP\\r\\n|R", "OK,BAD", 2},
    {"proto imap\nsend a(1 APPEND INBOX {3}\\r\\n\nreply +\nsend abc\\r\\n\nreply OK\n",
     "S:a(1 APPEND INBOX {3}\\r\\n|R|S:abc\\r\\n|R", "+,OK", 0},
    /* valid tags ("]" is an ASTRING-CHAR), literal data, SASL responses and DONE are no lines
       that need one */
    {"proto imap\nsend a]1 NOOP\\r\\n\nreply OK\nsend a2 APPEND INBOX {4}\\r\\n\nreply +\n"
     "send (*\"%\\r\\n\nreply OK\nsend a3 IDLE\\r\\n\nreply +\nsend DONE\\r\\n\nreply OK\n"
     "send a4 AUTHENTICATE PLAIN\\r\\n\nreply +\nsend AGFAYg==\\r\\n\nreply OK\n",
     "S:a]1 NOOP\\r\\n|R|S:a2 APPEND INBOX {4}\\r\\n|R|S:(*\"%\\r\\n|R|S:a3 IDLE\\r\\n|R|"
     "S:DONE\\r\\n|R|S:a4 AUTHENTICATE PLAIN\\r\\n|R|S:AGFAYg==\\r\\n|R",
     "OK,+,OK,+,OK,+,OK", -1},
    /* bytes behind AUTH / AUTHENTICATE or a SASL response, before its reply: the exchange
       may be over at the first failure, the rest then read as commands */
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend AUTH LOGIN\\r\\n=\\r\\nQUIT\\r\\n\n",
     "S:EHLO x\\r\\n|R|S:AUTH LOGIN\\r\\n=\\r\\nQUIT\\r\\n|R|R|R", "", 2},
    /* 25 */
    {"proto pop3\nsend AUTH PLAIN\\r\\nAGFAYg==\\r\\n\n", "S:AUTH PLAIN\\r\\nAGFAYg==\\r\\n|R|R",
     "", 0},
    {"proto imap\nsend a AUTHENTICATE LOGIN\\r\\n\nreply +\nsend dXNlcg==\\r\\nb NOOP\\r\\n\n",
     "S:a AUTHENTICATE LOGIN\\r\\n|R|S:dXNlcg==\\r\\nb NOOP\\r\\n|R|R", "", 2},
    {"proto smtp\nsend AUTH PLAIN AGFAYg==\\r\\nMAIL FROM:<a>\\r\\n\n",
     "S:AUTH PLAIN AGFAYg==\\r\\nMAIL FROM:<a>\\r\\n|R|R", "", 0},
    {"proto smtp\nsend AUTH LOG\nsend IN\\r\nsend \\n=\\r\\n\n",
     "S:AUTH LOG|S:IN\\r|S:\\n=\\r\\n|R|R", "", 2},
    /* an initial response with its reply, or each SASL line with its own: not ambiguous */
    {"proto smtp\nsend AUTH PLAIN AGFAYg==\\r\\n\nreply 235\nsend MAIL FROM:<a>\\r\\n\nreply 250\n",
     "S:AUTH PLAIN AGFAYg==\\r\\n|R|S:MAIL FROM:<a>\\r\\n|R", "235,250", -1},
    /* 30 */
    {"proto pop3\nsend AUTH LOGIN\\r\\n\nreply +\nsend dXNlcg==\\r\\n\nreply +\n"
     "send cGFzcw==\\r\\n\nreply +OK\n",
     "S:AUTH LOGIN\\r\\n|R|S:dXNlcg==\\r\\n|R|S:cGFzcw==\\r\\n|R", "+,+,+OK", -1},
    /* POP3 AUTH alone: -ERR, or a multi-line +OK listing (Dovecot); the state after it is
       the server's choice */
    {"proto pop3\nsend AUTH\\r\\n\nreply +OK\nsend USER a\\r\\n\nreply +OK\n",
     "S:AUTH\\r\\n|R|S:USER a\\r\\n|R", "+OK,+OK", 0},
    /* STARTTLS / STLS with trailing spaces is STARTTLS; plaintext behind it in the same
       write is ambiguous, also when it was refused */
    {"proto pop3\nsend STLS \\r\\n\nreply +OK\ntls\nsend CAPA\\r\\n\nreply +OK\n",
     "S:STLS \\r\\n|R|T|S:CAPA\\r\\n|R", "+OK,+OK", -1},
    {"proto pop3\nsend STLS  \\r\\nCAPA\\r\\n\nreply +OK\n", "S:STLS  \\r\\nCAPA\\r\\n|R|T", "", 0},
    {"proto imap\nsend a STARTTLS \\r\\n\nreply OK\ntls\nsend b NOOP\\r\\n\nreply OK\n",
     "S:a STARTTLS \\r\\n|R|T|S:b NOOP\\r\\n|R", "OK,OK", -1},
    /* 35 */
    {"proto smtp\nsend STARTTLS\\r\\nEHLO x\\r\\n\nreply 454\nreply 250\n",
     "S:STARTTLS\\r\\nEHLO x\\r\\n|R|R", "454,250", 0},
    {"proto smtp\nsend STARTTLS\\r\\n\nreply 220\ntls\nsend EHLO x\\r\\n\nreply 250\n",
     "S:STARTTLS\\r\\n|R|T|S:EHLO x\\r\\n|R", "220,250", -1},
    /* a bare CR inside a command line: Dovecot reads "STL\rS" as STLS */
    {"proto pop3\nsend STL\\rS\\r\\n\nreply +OK\nsend CAPA\\r\\n\nreply +OK\n", NULL, "", 0},
    {"proto smtp\nsend EHLO x\\r\\n\nreply 250\nsend NO\\rOP\\r\\n\nreply 250\n", NULL, "", 2},
    /* an argument is not trailing space: no TLS record, but ambiguous (Postfix refuses it
       with 501, Dovecot starts TLS all the same) */
    {"proto smtp\nsend STARTTLS x\\r\\n\nreply 501\nsend EHLO x\\r\\n\nreply 250\n",
     "S:STARTTLS x\\r\\n|R|S:EHLO x\\r\\n|R", "501,250", 0},
};

static void test_fix_rows(void)
{
	struct mh_dialogue d;
	struct mh_buf text, got, st;
	struct mh_error err;
	mh_buf_init(&text);
	mh_buf_init(&got);
	mh_buf_init(&st);
	for (size_t i = 0; i < MH_ARRAY_SIZE(fix_rows); i++) {
		const struct fix_row *r = &fix_rows[i];
		mh_buf_reset(&text);
		mh_buf_printf(&text, "# mailharness dialogue 1\n%s", r->text);
		mh_dialogue_init(&d, MH_PROTO_SMTP);
		mh_error_init(&err);
		if (!tap_ok(mh_dialogue_parse((const char *)text.data, text.len, &d, &err) == 0,
		            "fix row %zu parses (%s)", i, err.msg)) {
			mh_dialogue_deinit(&d);
			continue;
		}
		mh_mutate_fix_replies(&d);
		layout(&d, &got);
		int ok = r->want == NULL || strcmp(mh_buf_cstr(&got), r->want) == 0;
		if (!ok)
			tap_diag("row %zu: got  %s\n#          want %s", i, mh_buf_cstr(&got),
			         r->want);
		if (r->statuses[0] != '\0') {
			mh_buf_reset(&st);
			bool first = true;
			for (size_t k = 0; k < d.n; k++)
				if (d.msgs[k].op == MH_DLG_REPLY) {
					mh_buf_printf(&st, "%s%s", first ? "" : ",",
					              d.msgs[k].status);
					first = false;
				}
			ok &= tap_streq(mh_buf_cstr(&st), r->statuses, "statuses");
		}
		size_t at = 0;
		bool amb = mh_mutate_first_ambiguous(&d, &at);
		if (amb != (r->ambiguous_at >= 0) || (amb && (int)at != r->ambiguous_at)) {
			tap_diag("row %zu: ambiguous %d at %zu, want %d", i, amb, at,
			         r->ambiguous_at);
			ok = 0;
		}
		/* idempotent */
		struct mh_dialogue again;
		mh_dialogue_init(&again, d.proto);
		mh_dialogue_copy(&again, &d);
		mh_mutate_fix_replies(&again);
		ok &= mh_dialogue_equal(&again, &d);
		mh_dialogue_deinit(&again);
		tap_ok(ok, "fix row %zu", i);
		mh_dialogue_deinit(&d);
	}
	mh_buf_deinit(&text);
	mh_buf_deinit(&got);
	mh_buf_deinit(&st);
}

/* ---- seeds ---- */

static const char *const seeds[MH_PROTO_COUNT][2] = {
    [MH_PROTO_SMTP] =
        {
            "proto smtp\nsend EHLO fuzz.example\\r\\n\nreply 250\nsend MAIL FROM:<a@b> "
            "SIZE=10\\r\\n\nreply 250\n"
            "send RCPT TO:<postmaster>\\r\\n\nreply 250\nsend DATA\\r\\n\nreply 354\n"
            "send Subject: x\\r\\n\\r\\nbody\\r\\n.\\r\\n\nreply 250\nsend QUIT\\r\\n\nreply 221\n",
            "proto smtp\nsend EHLO a\\r\\n\nreply 250\nsend STARTTLS\\r\\n\nreply 220\ntls\n"
            "send EHLO a\\r\\n\nreply 250\nsend AUTH PLAIN\\r\\n\nreply 334\nsend "
            "AGFAYg==\\r\\n\nreply 235\n"
            "send MAIL FROM:<a@b>\\r\\n\nreply 250\nsend RCPT TO:<c@d>\\r\\n\nreply 250\n"
            "send BDAT 5 LAST\\r\\n\nsend hello\nreply 250\n",
        },
    [MH_PROTO_IMAP] =
        {
            "proto imap\nsend a1 LOGIN user pass\\r\\n\nreply OK\nsend a2 SELECT "
            "INBOX\\r\\n\nreply OK\n"
            "send a3 FETCH 1:* (FLAGS)\\r\\n\nreply OK\nsend a4 APPEND INBOX {5}\\r\\n\nreply +\n"
            "send hello\\r\\n\nreply OK\nsend a5 IDLE\\r\\n\nreply +\nsend DONE\\r\\n\nreply OK\n"
            "send a6 LOGOUT\\r\\n\nreply OK\n",
            "proto imap\nsend a1 CAPABILITY\\r\\n\nreply OK\nsend a2 STARTTLS\\r\\n\nreply "
            "OK\ntls\n"
            "send a3 AUTHENTICATE PLAIN\\r\\n\nreply +\nsend AGFAYg==\\r\\n\nreply OK\n"
            "send a4 UID STORE 1 +FLAGS (\\\\Seen)\\r\\n\nreply OK\n",
        },
    [MH_PROTO_POP3] =
        {
            "proto pop3\nsend USER a\\r\\n\nreply +OK\nsend PASS b\\r\\n\nreply +OK\nsend "
            "STAT\\r\\n\nreply +OK\n"
            "send LIST\\r\\n\nreply +OK\nsend RETR 1\\r\\n\nreply +OK\nsend TOP 1 0\\r\\n\nreply "
            "+OK\n"
            "send QUIT\\r\\n\nreply +OK\n",
            "proto pop3\nsend CAPA\\r\\n\nreply +OK\nsend STLS\\r\\n\nreply +OK\ntls\n"
            "send AUTH PLAIN\\r\\n\nreply +\nsend AGFAYg==\\r\\n\nreply +OK\nsend UIDL "
            "1\\r\\n\nreply +OK\n",
        },
};

static void load_seed(enum mh_proto_id p, int k, struct mh_dialogue *d)
{
	struct mh_buf text;
	struct mh_error err;
	mh_buf_init(&text);
	mh_error_init(&err);
	mh_buf_printf(&text, "# mailharness dialogue 1\n%s", seeds[p][k]);
	mh_dialogue_init(d, p);
	if (mh_dialogue_parse((const char *)text.data, text.len, d, &err) != 0) {
		fprintf(stderr, "seed %d/%d: %s\n", (int)p, k, err.msg);
		abort();
	}
	mh_buf_deinit(&text);
}

/* ---- round trips ---- */

static void test_round_trip(void)
{
	struct mh_rng rng;
	mh_rng_seed(&rng, 7);
	struct mh_buf in, out;
	mh_buf_init(&in);
	mh_buf_init(&out);
	static const char *const pieces[] = {"EHLO x",     "\r\n",      "\n",     "\r",
	                                     "DATA",       ".",         "BDAT 3", "a1 APPEND x {4}",
	                                     "{2+}",       "IDLE",      "DONE",   "STARTTLS",
	                                     "AUTH PLAIN", "*",         " ",      "\0",
	                                     "QUIT",       "BDAT 99999"};
	int bad = 0;
	for (int iter = 0; iter < 3000; iter++) {
		enum mh_proto_id p = (enum mh_proto_id)(iter % MH_PROTO_COUNT);
		mh_buf_reset(&in);
		size_t n = mh_rng_below(&rng, iter % 100 == 0 ? 20000 : 60);
		for (size_t k = 0; k < n; k++) {
			const char *pc = pieces[mh_rng_below(&rng, MH_ARRAY_SIZE(pieces))];
			mh_buf_append(&in, pc, pc[0] == '\0' ? 1 : strlen(pc));
		}
		struct mh_dialogue d;
		mh_dialogue_init(&d, p);
		mh_dialogue_from_stream(in.data, in.len, p, &d);
		mh_buf_reset(&out);
		mh_dialogue_to_stream(&d, &out);
		if (out.len != in.len || (in.len > 0 && memcmp(out.data, in.data, in.len) != 0) ||
		    d.n > MH_DLG_MAX_MSGS) {
			if (bad++ < 3)
				tap_diag("round trip %d (%s, %zu bytes) differs", iter,
				         mh_proto_name(p), in.len);
		}
		mh_dialogue_deinit(&d);
	}
	tap_ok(bad == 0, "to_stream(from_stream(x)) == x for 3000 streams (%d differ)", bad);
	/* the recorded seeds too */
	bad = 0;
	for (int p = 0; p < MH_PROTO_COUNT; p++)
		for (int k = 0; k < 2; k++) {
			struct mh_dialogue d, e;
			load_seed((enum mh_proto_id)p, k, &d);
			mh_buf_reset(&in);
			mh_dialogue_to_stream(&d, &in);
			mh_dialogue_init(&e, (enum mh_proto_id)p);
			mh_dialogue_from_stream(in.data, in.len, (enum mh_proto_id)p, &e);
			mh_buf_reset(&out);
			mh_dialogue_to_stream(&e, &out);
			bad += out.len != in.len || memcmp(out.data, in.data, in.len) != 0;
			mh_dialogue_deinit(&d);
			mh_dialogue_deinit(&e);
		}
	tap_ok(bad == 0, "seed streams round trip");
	tap_ok(mh_dialogue_from_stream(in.data, (size_t)MH_DLG_MAX_BYTES + 1, MH_PROTO_SMTP,
	                               NULL) == -1,
	       "from_stream refuses more than MH_DLG_MAX_BYTES");
	mh_buf_deinit(&in);
	mh_buf_deinit(&out);
}

/* ---- determinism, names, reachability ---- */

static bool known_op(const char *name, size_t n)
{
	for (size_t i = 0; i < mh_mutate_op_count(); i++)
		if (strlen(mh_mutate_op_name(i)) == n && memcmp(mh_mutate_op_name(i), name, n) == 0)
			return true;
	return false;
}

static void test_determinism(void)
{
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		struct mh_error err;
		mh_error_init(&err);
		struct mh_mutator *m1 = mh_mutator_new((enum mh_proto_id)p, NULL, NULL, &err);
		struct mh_mutator *m2 = mh_mutator_new((enum mh_proto_id)p, NULL, NULL, &err);
		struct mh_dialogue in, sp, o1, o2;
		load_seed((enum mh_proto_id)p, 0, &in);
		load_seed((enum mh_proto_id)p, 1, &sp);
		mh_dialogue_init(&o1, (enum mh_proto_id)p);
		mh_dialogue_init(&o2, (enum mh_proto_id)p);
		int same = 0, differ = 0;
		for (uint64_t seed = 1; seed <= 300; seed++) {
			struct mh_rng r1, r2;
			mh_rng_seed(&r1, seed);
			mh_rng_seed(&r2, seed);
			/* m2 first runs something else: its history must not matter */
			mh_mutate(m2, &sp, &in, &o2, &r2, 0);
			mh_rng_seed(&r2, seed);
			mh_mutate(m1, &in, &sp, &o1, &r1, 0);
			mh_mutate(m2, &in, &sp, &o2, &r2, 0);
			same += mh_dialogue_equal(&o1, &o2) &&
			        strcmp(mh_mutate_describe(m1), mh_mutate_describe(m2)) == 0;
			differ += !mh_dialogue_equal(&o1, &in);
		}
		tap_ok(same == 300, "%s: same seed, same output (%d/300)", mh_proto_name(p), same);
		tap_ok(differ > 250, "%s: mutations change the dialogue (%d/300)", mh_proto_name(p),
		       differ);
		mh_dialogue_deinit(&in);
		mh_dialogue_deinit(&sp);
		mh_dialogue_deinit(&o1);
		mh_dialogue_deinit(&o2);
		mh_mutator_free(&m1);
		mh_mutator_free(&m2);
	}
	struct mh_rng a, b;
	mh_rng_seed(&a, 42);
	mh_rng_seed(&b, 42);
	int eq = 1, inrange = 1;
	for (int i = 0; i < 1000; i++) {
		eq &= mh_rng_next(&a) == mh_rng_next(&b);
		inrange &= mh_rng_below(&a, 7) < 7;
		(void)mh_rng_below(&b, 7);
	}
	tap_ok(eq && inrange && mh_rng_below(&a, 0) == 0,
	       "rng: seeded sequence repeats, below() in range");
}

static void test_reachability(void)
{
	size_t nops = mh_mutate_op_count();
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		struct mh_error err;
		mh_error_init(&err);
		struct mh_mutator *m = mh_mutator_new((enum mh_proto_id)p, NULL, NULL, &err);
		struct mh_dialogue in, sp, out;
		load_seed((enum mh_proto_id)p, 0, &in);
		load_seed((enum mh_proto_id)p, 1, &sp);
		mh_dialogue_init(&out, (enum mh_proto_id)p);
		/* the whole stack: every applicable operator shows up in describe, nothing else */
		bool seen[64] = {false};
		int unknown = 0;
		for (uint64_t seed = 0; seed < 20000; seed++) {
			struct mh_rng r;
			mh_rng_seed(&r, seed * 7919 + (uint64_t)p);
			mh_mutate(m, seed % 2 ? &in : &sp, seed % 3 ? &sp : NULL, &out, &r,
			          1u << 16);
			const char *d = mh_mutate_describe(m);
			while (*d) {
				size_t n = strcspn(d, ",");
				if (!known_op(d, n))
					unknown++;
				for (size_t i = 0; i < nops; i++)
					if (strlen(mh_mutate_op_name(i)) == n &&
					    memcmp(mh_mutate_op_name(i), d, n) == 0)
						seen[i] = true;
				d += n + (d[n] == ',');
			}
		}
		for (size_t i = 0; i < nops; i++)
			if (mh_mutate_op_applies(i, (enum mh_proto_id)p))
				tap_ok(seen[i], "%s: %s reached", mh_proto_name(p),
				       mh_mutate_op_name(i));
			else
				tap_ok(!seen[i], "%s: %s never used", mh_proto_name(p),
				       mh_mutate_op_name(i));
		tap_ok(unknown == 0, "%s: describe names only known operators", mh_proto_name(p));
		/* each operator alone changes the dialogue, also from an empty one */
		struct mh_dialogue empty;
		mh_dialogue_init(&empty, (enum mh_proto_id)p);
		for (size_t i = 0; i < nops; i++) {
			if (!mh_mutate_op_applies(i, (enum mh_proto_id)p))
				continue;
			mh_mutator_restrict(m, mh_mutate_op_name(i), &err);
			int changed = 0, named = 1;
			for (uint64_t seed = 0; seed < 200; seed++) {
				struct mh_rng r;
				mh_rng_seed(&r, seed);
				int k = mh_mutate(m, &in, &sp, &out, &r, 0);
				changed += k > 0 && !mh_dialogue_equal(&out, &in);
				named &=
				    k == 0 || strncmp(mh_mutate_describe(m), mh_mutate_op_name(i),
				                      strlen(mh_mutate_op_name(i))) == 0;
			}
			tap_ok(changed > 20 && named, "%s: %s alone changes the seed (%d/200)",
			       mh_proto_name(p), mh_mutate_op_name(i), changed);
		}
		mh_mutator_restrict(m, NULL, &err);
		tap_ok(mh_mutator_restrict(m, "dlg-drop,no-such-op", &err) == -1 &&
		           strstr(err.msg, "no-such-op") != NULL,
		       "%s: unknown operator names are refused", mh_proto_name(p));
		mh_dialogue_deinit(&empty);
		mh_dialogue_deinit(&in);
		mh_dialogue_deinit(&sp);
		mh_dialogue_deinit(&out);
		mh_mutator_free(&m);
	}
}

/* ---- caps and the independent reply checker ---- */

/* Independent model for clean SMTP / IMAP / POP3 streams (CRLF line ends only; no SASL, TLS,
   IDLE or bare CR/LF/NUL): the byte offsets after which a reply is due. Returns false when
   the stream is not clean enough for it to judge. */
static bool model_due(enum mh_proto_id p, const unsigned char *s, size_t n, size_t *due,
                      size_t *ndue, size_t max)
{
	*ndue = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n')) ||
		    (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')))
			return false;
	}
	size_t i = 0;
	bool data = false;
	while (i < n) {
		const unsigned char *e = memchr(s + i, '\n', n - i);
		if (e == NULL)
			return true;
		size_t end = (size_t)(e - s) + 1, len = end - i - 2;
		const unsigned char *l = s + i;
		if (data) {
			if (len == 1 && l[0] == '.') {
				data = false;
				if (*ndue < max)
					due[(*ndue)++] = end;
			}
			i = end;
			continue;
		}
		if (len == 0)
			return false;
		char line[64] = {0};
		memcpy(line, l, len < 63 ? len : 63);
		for (char *c = line; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c -= 32;
		const char *verb = line;
		if (p == MH_PROTO_IMAP) {
			char *sp = strchr(line, ' ');
			verb = sp ? sp + 1 : "";
		}
		if (strstr(line, "AUTH") || strstr(line, "STARTTLS") || strstr(line, "STLS") ||
		    strstr(line, "IDLE") || strstr(line, "BDAT") || memchr(l, '{', len) != NULL)
			return false;
		if (p == MH_PROTO_SMTP && strncmp(verb, "DATA", 4) == 0 &&
		    (verb[4] == '\0' || verb[4] == ' '))
			data = true;
		if (*ndue < max)
			due[(*ndue)++] = end;
		i = end;
	}
	return true;
}

static void test_caps_and_consistency(void)
{
	static const size_t caps[] = {0, 16, 200, 4096, 65536, 1u << 20};
	struct mh_buf stream;
	mh_buf_init(&stream);
	size_t *due = malloc(MH_DLG_MAX_MSGS * sizeof(*due));
	long over = 0, judged = 0, wrong = 0, unfixed = 0, late_reply = 0, mutations = 0;
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		struct mh_error err;
		mh_error_init(&err);
		struct mh_mutator *m = mh_mutator_new((enum mh_proto_id)p, NULL, NULL, &err);
		struct mh_dialogue seed0, seed1, cur, out;
		load_seed((enum mh_proto_id)p, 0, &seed0);
		load_seed((enum mh_proto_id)p, 1, &seed1);
		mh_dialogue_init(&cur, (enum mh_proto_id)p);
		mh_dialogue_init(&out, (enum mh_proto_id)p);
		mh_dialogue_copy(&cur, &seed0);
		for (long it = 0; it < 34000; it++) {
			struct mh_rng r;
			mh_rng_seed(&r, (uint64_t)it * 31 + (uint64_t)p);
			size_t cap = caps[it % MH_ARRAY_SIZE(caps)];
			mh_mutate(m, &cur, it % 2 ? &seed1 : &cur, &out, &r, cap);
			mutations++;
			size_t lim = cap == 0 ? MH_DLG_MAX_BYTES : cap;
			if (mh_dialogue_bytes(&out) > lim || out.n > MH_DLG_MAX_MSGS)
				over++;
			/* already consistent: the fix changes nothing */
			if (it % 16 == 0) {
				struct mh_dialogue again;
				mh_dialogue_init(&again, out.proto);
				mh_dialogue_copy(&again, &out);
				mh_mutate_fix_replies(&again);
				unfixed += !mh_dialogue_equal(&again, &out);
				mh_dialogue_deinit(&again);
			}
			/* IMAP/POP3: replies are due at line ends only: never more REPLY records
			   after a SEND than it has LFs */
			for (size_t k = 0; k < out.n && p != MH_PROTO_SMTP; k++) {
				if (out.msgs[k].op != MH_DLG_SEND)
					continue;
				size_t lfs = 0, reps = 0;
				for (size_t b = 0; b < out.msgs[k].len; b++)
					lfs += out.msgs[k].data[b] == '\n';
				for (size_t j = k + 1; j < out.n && out.msgs[j].op == MH_DLG_REPLY;
				     j++)
					reps++;
				late_reply += reps > lfs;
			}
			/* the independent model agrees on clean dialogues */
			mh_buf_reset(&stream);
			mh_dialogue_to_stream(&out, &stream);
			size_t ndue;
			if (model_due((enum mh_proto_id)p, stream.data, stream.len, due, &ndue,
			              MH_DLG_MAX_MSGS)) {
				judged++;
				size_t pos = 0, di = 0, pending = 0;
				bool ok = true;
				for (size_t k = 0; k < out.n && ok; k++) {
					if (out.msgs[k].op == MH_DLG_SEND) {
						ok = pending == 0;
						pos += out.msgs[k].len;
						while (di < ndue && due[di] <= pos) {
							di++;
							pending++;
						}
					} else if (out.msgs[k].op == MH_DLG_REPLY) {
						ok = pending > 0;
						pending--;
					}
				}
				ok &= pending == 0 && di == ndue;
				if (!ok && wrong++ < 3) {
					struct mh_buf lay;
					mh_buf_init(&lay);
					layout(&out, &lay);
					tap_diag("model disagrees: %.600s", mh_buf_cstr(&lay));
					mh_buf_deinit(&lay);
				}
			}
			/* walk: keep the mutant now and then, back to a seed when it grows */
			if (it % 5 == 0 && mh_dialogue_bytes(&out) < 4096 && out.n < 200)
				mh_dialogue_copy(&cur, &out);
			else if (it % 7 == 0)
				mh_dialogue_copy(&cur, it % 2 ? &seed0 : &seed1);
		}
		mh_dialogue_deinit(&seed0);
		mh_dialogue_deinit(&seed1);
		mh_dialogue_deinit(&cur);
		mh_dialogue_deinit(&out);
		mh_mutator_free(&m);
	}
	tap_ok(over == 0, "%ld mutations: none over max_bytes or MH_DLG_MAX_MSGS (%ld over)",
	       mutations, over);
	tap_ok(unfixed == 0, "mutated dialogues are already reply-consistent (%ld not)", unfixed);
	tap_ok(late_reply == 0,
	       "IMAP/POP3: no more replies after a write than its line ends (%ld more)",
	       late_reply);
	tap_ok(wrong == 0 && judged > 10000,
	       "independent reply model agrees on %ld clean mutants (%ld disagree)", judged, wrong);
	free(due);
	mh_buf_deinit(&stream);
}

static void test_stream_api(void)
{
	struct mh_error err;
	mh_error_init(&err);
	struct mh_mutator *m = mh_mutator_new(MH_PROTO_SMTP, NULL, NULL, &err);
	struct mh_buf a, b;
	mh_buf_init(&a);
	mh_buf_init(&b);
	static const char in[] =
	    "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\n";
	int same = 1, small = 1;
	for (uint64_t s = 0; s < 2000; s++) {
		struct mh_rng r1, r2;
		mh_rng_seed(&r1, s);
		mh_rng_seed(&r2, s);
		size_t max = 1 + s % 300;
		mh_mutate_stream(m, S(in), S("QUIT\r\n"), &a, &r1, max);
		mh_mutate_stream(m, S(in), S("QUIT\r\n"), &b, &r2, max);
		same &= a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
		small &= a.len <= max;
	}
	tap_ok(same, "mh_mutate_stream is deterministic");
	tap_ok(small, "mh_mutate_stream keeps to max_bytes");
	mh_buf_deinit(&a);
	mh_buf_deinit(&b);
	mh_mutator_free(&m);
}

/* ---- spec-guided insertion ---- */

static void test_spec_insert(void)
{
	static const char *const files[MH_PROTO_COUNT] = {"smtp.json", "imap.json", "pop3.json"};
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", MH_TEST_SPECS, files[p]);
		struct mh_error err;
		mh_error_init(&err);
		struct mh_spec *spec = mh_spec_load(path, &err);
		if (!tap_ok(spec != NULL, "%s loads (%s)", path, err.msg))
			continue;
		struct mh_mutator *m = mh_mutator_new((enum mh_proto_id)p, spec, NULL, &err);
		mh_mutator_restrict(m, "dlg-insert-cmd", &err);
		mh_mutator_set_max_stack(m, 1);
		struct mh_dialogue empty, out;
		mh_dialogue_init(&empty, (enum mh_proto_id)p);
		mh_dialogue_init(&out, (enum mh_proto_id)p);
		int bad = 0;
		size_t distinct = 0;
		bool used[256] = {false};
		for (uint64_t s = 0; s < 1000; s++) {
			struct mh_rng r;
			mh_rng_seed(&r, s);
			mh_mutate(m, &empty, NULL, &out, &r, 0);
			if (out.n == 0 || out.msgs[0].op != MH_DLG_SEND) {
				bad++;
				continue;
			}
			char verb[64] = {0};
			const unsigned char *d = out.msgs[0].data;
			size_t n = out.msgs[0].len, i = 0, o = 0;
			if (p == MH_PROTO_IMAP) {
				while (i < n && d[i] != ' ')
					i++;
				i++;
			}
			while (i < n && d[i] != ' ' && d[i] != '\r' && o < 63)
				verb[o++] = (char)d[i++];
			int c = mh_spec_command_find(spec, verb);
			bool some_state = false;
			for (size_t st = 0; c >= 0 && st < spec->nstates; st++)
				some_state |= mh_spec_rule_for(spec, c, (int)st) != NULL;
			if (c < 0 || spec->commands[c].pseudo || !some_state) {
				if (bad++ < 3)
					tap_diag(
					    "inserted \"%s\" is not a spec command valid somewhere",
					    verb);
				continue;
			}
			if (c < 256 && !used[c]) {
				used[c] = true;
				distinct++;
			}
		}
		size_t real = 0;
		for (size_t c = 0; c < spec->ncommands; c++)
			real += !spec->commands[c].pseudo;
		tap_ok(bad == 0, "%s: inserted commands are spec commands valid in some state",
		       mh_proto_name(p));
		tap_ok(distinct == real, "%s: every spec command gets inserted (%zu of %zu)",
		       mh_proto_name(p), distinct, real);
		mh_dialogue_deinit(&empty);
		mh_dialogue_deinit(&out);
		mh_mutator_free(&m);
		mh_spec_free(&spec);
	}
}

/* ---- dictionaries ---- */

struct dict_row {
	const char *text;
	const char *error; /* NULL = loads */
};

static const struct dict_row dict_rows[] = {
    {"# comment\n\nkw1=\"ZQXJ\"\n", NULL},
    {"\"plain\"\n  kw_2@3=\"a\\x00b\\\\c\\\"d\"  \r\n", NULL},
    {"kw=\"ok\"\nbad line\n", "t:2: "},
    {"kw=\"ok\"\n\nkw2=\"unterminated\n", "t:3: missing closing quote"},
    {"kw=\"\\q\"\n", "t:1: bad escape"},
    {"kw=\"\\x4\"\n", "t:1: bad escape"},
    {"kw=\"\"\n", "t:1: empty value"},
    {"kw=\"a\" trailing\n", "t:1: text after the closing quote"},
    {"kw=\"\x01\"\n", "t:1: non-printable"},
    {"k w=\"a\"\n", "t:1: bad character in the name"},
};

static void test_dict(void)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(dict_rows); i++) {
		const struct dict_row *r = &dict_rows[i];
		struct mh_error err;
		mh_error_init(&err);
		struct mh_mutator *m = mh_mutator_new(MH_PROTO_SMTP, NULL, NULL, &err);
		int rc = mh_mutator_add_dict(m, r->text, strlen(r->text), "t", &err);
		int ok =
		    r->error == NULL ? rc == 0 : rc == -1 && strstr(err.msg, r->error) == err.msg;
		if (!ok)
			tap_diag("dict row %zu: rc %d, error \"%s\"", i, rc, err.msg);
		tap_ok(ok, "dictionary row %zu", i);
		mh_mutator_free(&m);
	}
	/* a file: its tokens get used; a bad file fails mh_mutator_new with the line */
	char path[] = "/tmp/mh_test_dictXXXXXX";
	int fd = mkstemp(path);
	static const char good[] = "# test\nx=\"ZQXJ\\x7eQ\"\n";
	tap_ok(fd >= 0 && write(fd, good, sizeof(good) - 1) == (ssize_t)(sizeof(good) - 1),
	       "write a dictionary");
	close(fd);
	struct mh_error err;
	mh_error_init(&err);
	struct mh_mutator *m = mh_mutator_new(MH_PROTO_SMTP, NULL, path, &err);
	tap_ok(m != NULL, "mh_mutator_new loads %s (%s)", path, err.msg);
	if (m != NULL) {
		mh_mutator_restrict(m, "tok-dict", &err);
		struct mh_dialogue in, out;
		load_seed(MH_PROTO_SMTP, 0, &in);
		mh_dialogue_init(&out, MH_PROTO_SMTP);
		int found = 0;
		struct mh_buf s;
		mh_buf_init(&s);
		for (uint64_t k = 0; k < 200; k++) {
			struct mh_rng r;
			mh_rng_seed(&r, k);
			mh_mutate(m, &in, NULL, &out, &r, 0);
			mh_buf_reset(&s);
			mh_dialogue_to_stream(&out, &s);
			found += contains(s.data, s.len, "ZQXJ~Q", 6);
		}
		tap_ok(found > 10, "the dictionary's token is used (%d/200)", found);
		mh_buf_deinit(&s);
		mh_dialogue_deinit(&in);
		mh_dialogue_deinit(&out);
		mh_mutator_free(&m);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	static const char bad[] = "x=\"a\"\ny=\"b\"\nz=b\n";
	tap_ok(fd >= 0 && write(fd, bad, sizeof(bad) - 1) == (ssize_t)(sizeof(bad) - 1),
	       "write a bad dictionary");
	close(fd);
	mh_error_init(&err);
	m = mh_mutator_new(MH_PROTO_SMTP, NULL, path, &err);
	char want[600];
	snprintf(want, sizeof(want), "%s:3: ", path);
	tap_ok(m == NULL && strstr(err.msg, want) != NULL, "a bad dictionary names its line (%s)",
	       err.msg);
	mh_mutator_free(&m);
	mh_error_init(&err);
	tap_ok(mh_mutator_new(MH_PROTO_SMTP, NULL, "/nonexistent/dict", &err) == NULL && err.set,
	       "a missing dictionary is an error");
	unlink(path);
}

int main(void)
{
	test_stream_rows();
	test_fix_rows();
	test_round_trip();
	test_determinism();
	test_stream_api();
	test_spec_insert();
	test_dict();
	test_reachability();
	test_caps_and_consistency();
	return tap_done();
}

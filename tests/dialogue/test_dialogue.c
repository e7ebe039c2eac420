/* test_dialogue.c: the dialogue text form (round trips of every byte value, canonical output,
   malformed inputs with line numbers, caps), the record API, secret placeholders and the
   recorder behind `run --record`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dialogue.h"
#include "dlgrecord.h"
#include "tap.h"

#define H "# mailharness dialogue 1\n"

/* Parses text; returns the canonical form (static buffer) or "ERR: <message>". */
static const char *canon(const char *text, size_t len)
{
	static struct mh_buf out;
	struct mh_dialogue d;
	mh_dialogue_init(&d, MH_PROTO_SMTP);
	struct mh_error err;
	mh_error_init(&err);
	mh_buf_reset(&out);
	if (mh_dialogue_parse(text, len, &d, &err) != 0)
		mh_buf_printf(&out, "ERR: %s", err.msg);
	else
		mh_dialogue_format(&d, &out);
	mh_dialogue_deinit(&d);
	return mh_buf_cstr(&out);
}

struct row {
	const char *in;
	const char *want; /* canonical text, or a substring of the error after "ERR: " */
	bool error;
};

static const struct row rows[] = {
    {H "proto smtp\nsend EHLO x\\r\\n\nreply 250\n", H "proto smtp\nsend EHLO x\\r\\n\nreply 250\n",
     false},
    /* CRLF line ends, comments, blank lines, a missing final newline */
    {H "proto imap\r\n# a comment\r\n\r\nsend A1 NOOP\\r\\n\r\nreply OK",
     H "proto imap\nsend A1 NOOP\\r\\n\nreply OK\n", false},
    /* comments before the header (finding files) */
    {"# finding: hang\n" H "proto pop3\ntls\n", H "proto pop3\ntls\n", false},
    /* empty sends, statusless replies */
    {H "proto smtp\nsend\nsend \nreply\n", H "proto smtp\nsend\nsend\nreply\n", false},
    /* escapes are canonicalised: upper-case hex, \x for named bytes, printable via \x */
    {H "proto smtp\nsend \\x0D\\x0a\\x41\\X41\\x09\\x00\\x5c\\xFF\n", NULL, true},
    {H "proto smtp\nsend \\x0D\\x0a\\x41\\x09\\x00\\x5c\\xFF\n",
     H "proto smtp\nsend \\r\\nA\\t\\0\\\\\\xff\n", false},
    /* spaces are data, also at the ends */
    {H "proto smtp\nsend  a  \n", H "proto smtp\nsend  a  \n", false},
    {H "proto smtp\nreply +OK\nreply *\nreply 12345678901\n",
     H "proto smtp\nreply +OK\nreply *\nreply 12345678901\n", false},
    /* malformed inputs name the line (and column) */
    {"", "line 1: no '# mailharness dialogue 1' header", true},
    {"proto smtp\n", "line 1: a dialogue starts with '# mailharness dialogue 1'", true},
    {"# mailharness dialogue 2\nproto smtp\n", "line 1: unsupported dialogue version '2'", true},
    {"# mailharness dialogue\nproto smtp\n", "line 1: unsupported dialogue version", true},
    {H H "proto smtp\n", "line 2: a second", true},
    {H, "line 1: no 'proto' line", true},
    {H "send x\n", "line 2: 'proto smtp|imap|pop3' must come before the records", true},
    {H "proto smtpx\n", "line 2: unknown protocol", true},
    {H "proto\n", "line 2: unknown protocol", true},
    {H "proto smtp\nproto imap\n", "line 3: 'proto' must appear once", true},
    {H "proto smtp\nsned x\n", "line 3: unknown record 'sned'", true},
    {H "proto smtp\n send x\n", "line 3: unknown record ''", true},
    {H "proto smtp\nsend ab\\q\n", "line 3, column 8: unknown escape '\\q'", true},
    {H "proto smtp\nsend ab\\\n", "line 3, column 8: a lone backslash", true},
    {H "proto smtp\nsend \\x4\n", "line 3, column 6: \\x needs two hex digits", true},
    {H "proto smtp\nsend \\xg0\n", "line 3, column 6: \\x needs two hex digits", true},
    {H "proto smtp\nsend a\tb\n", "line 3, column 7: raw byte 0x09", true},
    {H "proto smtp\nsend a\xc3\xa9\n", "line 3, column 7: raw byte 0xc3", true},
    {H "proto smtp\nsend a\rb\n", "line 3, column 7: raw byte 0x0d", true},
    {H "proto smtp\nreply 123456789012\n", "line 3: 'reply' takes one status of 1 to 11", true},
    {H "proto smtp\nreply 250 ok\n", "line 3: 'reply' takes one status", true},
    {H "proto smtp\nreply \n", "line 3: 'reply' takes one status", true},
    {H "proto smtp\nreply 2\x01\n", "line 3, column 8: status characters", true},
    {H "proto smtp\ntls now\n", "line 3: 'tls' takes nothing", true},
    {H "proto smtp\n\n\n# c\nsend ok\nbogus\n", "line 7: unknown record 'bogus'", true},
};

static void test_rows(void)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		const char *got = canon(r->in, strlen(r->in));
		bool ok;
		if (r->error)
			ok = r->want == NULL
			         ? strncmp(got, "ERR: ", 5) == 0
			         : strncmp(got, "ERR: ", 5) == 0 && strstr(got, r->want) != NULL;
		else
			ok = strcmp(got, r->want) == 0;
		if (!tap_ok(ok, "row %zu", i))
			tap_diag("row %zu: got \"%s\", want %s\"%s\"", i, got,
			         r->error ? "error " : "", r->want ? r->want : "(any)");
	}
}

/* Round trip: parse(format(d)) == d and the format is canonical and printable. */
static bool round_trip(const struct mh_dialogue *d, const char *what)
{
	struct mh_buf t1, t2;
	mh_buf_init(&t1);
	mh_buf_init(&t2);
	mh_dialogue_format(d, &t1);
	bool ok = true;
	for (size_t i = 0; i < t1.len; i++)
		if (t1.data[i] != '\n' && (t1.data[i] < 0x20 || t1.data[i] >= 0x7f))
			ok = false;
	struct mh_dialogue back;
	mh_dialogue_init(&back, MH_PROTO_POP3);
	struct mh_error err;
	mh_error_init(&err);
	if (mh_dialogue_parse((const char *)t1.data, t1.len, &back, &err) != 0) {
		tap_diag("%s: reparse failed: %s", what, err.msg);
		ok = false;
	} else {
		ok = ok && mh_dialogue_equal(d, &back);
		mh_dialogue_format(&back, &t2);
		ok = ok && t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0;
	}
	mh_dialogue_deinit(&back);
	mh_buf_deinit(&t1);
	mh_buf_deinit(&t2);
	return ok;
}

static void test_every_byte(void)
{
	struct mh_dialogue d;
	mh_dialogue_init(&d, MH_PROTO_IMAP);
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	tap_ok(mh_dialogue_add(&d, MH_DLG_SEND, all, 256, NULL) == 0, "add 256 bytes");
	for (int i = 0; i < 256; i++) {
		unsigned char two[2] = {(unsigned char)i, (unsigned char)(255 - i)};
		mh_dialogue_add(&d, MH_DLG_SEND, two, 2, NULL);
		mh_dialogue_add(&d, MH_DLG_REPLY, NULL, 0,
		                i % 3 == 0   ? "OK"
		                : i % 3 == 1 ? ""
		                             : "+");
	}
	mh_dialogue_add(&d, MH_DLG_TLS, NULL, 0, NULL);
	mh_dialogue_add(&d, MH_DLG_SEND, "", 0, NULL);
	tap_ok(round_trip(&d, "every byte"), "every byte value round-trips byte-exactly");
	tap_ok(mh_dialogue_bytes(&d) == 256 + 512, "bytes counts SEND data");

	/* pseudo-random dialogues */
	uint64_t s = 0x9e3779b97f4a7c15ull;
	bool all_ok = true;
	for (int k = 0; k < 300 && all_ok; k++) {
		struct mh_dialogue r;
		mh_dialogue_init(&r, (enum mh_proto_id)(k % MH_PROTO_COUNT));
		int n = (int)(s % 20);
		for (int i = 0; i < n; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			int op = (int)((s >> 33) % 3);
			unsigned char buf[64];
			size_t len = (size_t)((s >> 40) % sizeof(buf));
			for (size_t j = 0; j < len; j++) {
				s = s * 6364136223846793005ull + 1442695040888963407ull;
				buf[j] = (unsigned char)(s >> 56);
			}
			static const char *const st[] = {"",  "250", "+OK", "-ERR",
			                                 "*", "BYE", "x y", "\x7f"};
			mh_dialogue_add(&r, (enum mh_dlg_op)op, buf, len, st[(s >> 20) % 8]);
		}
		all_ok = round_trip(&r, "random");
		mh_dialogue_deinit(&r);
	}
	tap_ok(all_ok, "300 random dialogues round-trip");
	mh_dialogue_deinit(&d);
}

static void test_api(void)
{
	struct mh_dialogue d, c;
	mh_dialogue_init(&d, MH_PROTO_SMTP);
	mh_dialogue_init(&c, MH_PROTO_SMTP);
	mh_dialogue_add(&d, MH_DLG_SEND, "A\r\n", 3, NULL);
	mh_dialogue_add(&d, MH_DLG_REPLY, NULL, 0, "250");
	tap_ok(mh_dialogue_insert(&d, 0, MH_DLG_SEND, "B\r\n", 3, "ignored") == 0, "insert at 0");
	tap_ok(d.n == 3 && d.msgs[0].len == 3 && d.msgs[0].data[0] == 'B' &&
	           d.msgs[0].status[0] == 0,
	       "insert puts the record first, SEND has no status");
	tap_ok(mh_dialogue_insert(&d, 9, MH_DLG_TLS, NULL, 0, NULL) == -1,
	       "insert past the end fails");
	tap_ok(mh_dialogue_add(&d, MH_DLG_REPLY, NULL, 0, "has space") == 0 &&
	           d.msgs[3].status[0] == 0,
	       "a status the text form cannot carry is dropped");
	mh_dialogue_copy(&c, &d);
	tap_ok(mh_dialogue_equal(&c, &d) && c.msgs[0].data != d.msgs[0].data,
	       "copy is deep and equal");
	mh_dialogue_remove(&c, 0);
	tap_ok(c.n == 3 && !mh_dialogue_equal(&c, &d) && c.msgs[0].data[0] == 'A', "remove");
	mh_dialogue_remove(&c, 99);
	tap_ok(c.n == 3, "remove out of range is a no-op");
	c.proto = MH_PROTO_IMAP;
	mh_dialogue_copy(&c, &d);
	tap_ok(c.proto == MH_PROTO_SMTP && mh_dialogue_equal(&c, &d),
	       "copy replaces proto and records");

	/* caps */
	mh_dialogue_clear(&c);
	bool ok = true;
	for (int i = 0; i < MH_DLG_MAX_MSGS && ok; i++)
		ok = mh_dialogue_add(&c, MH_DLG_REPLY, NULL, 0, NULL) == 0;
	tap_ok(ok && mh_dialogue_add(&c, MH_DLG_REPLY, NULL, 0, NULL) == -1,
	       "at most MH_DLG_MAX_MSGS records");
	mh_dialogue_clear(&c);
	unsigned char *big = calloc(1, MH_DLG_MAX_BYTES + 1);
	tap_ok(mh_dialogue_add(&c, MH_DLG_SEND, big, MH_DLG_MAX_BYTES, NULL) == 0 &&
	           mh_dialogue_add(&c, MH_DLG_SEND, big, 1, NULL) == -1,
	       "at most MH_DLG_MAX_BYTES bytes");
	tap_ok(mh_dialogue_add(&c, MH_DLG_SEND, big, 0, NULL) == 0, "an empty SEND still fits");
	free(big);
	mh_dialogue_deinit(&c);
	mh_dialogue_deinit(&d);
}

static void test_parse_caps(void)
{
	struct mh_buf t;
	mh_buf_init(&t);
	mh_buf_append_str(&t, H "proto smtp\n");
	for (int i = 0; i < MH_DLG_MAX_MSGS; i++)
		mh_buf_append_str(&t, "reply\n");
	tap_ok(strncmp(canon((const char *)t.data, t.len), "ERR", 3) != 0, "4096 records parse");
	mh_buf_append_str(&t, "tls\n");
	tap_ok(strstr(canon((const char *)t.data, t.len), "line 4099: more than 4096 records") !=
	           NULL,
	       "record 4097 is refused with its line number");

	mh_buf_reset(&t);
	mh_buf_append_str(&t, H "proto smtp\nsend ");
	for (size_t i = 0; i < MH_DLG_MAX_BYTES / 4; i++)
		mh_buf_append(&t, "\\x00", 4);
	mh_buf_append_str(&t, "\nsend ");
	for (size_t i = 0; i < MH_DLG_MAX_BYTES / 4 * 3; i++)
		mh_buf_append(&t, "a", 1);
	mh_buf_append_str(&t, "\n");
	tap_ok(strncmp(canon((const char *)t.data, t.len), "ERR", 3) != 0,
	       "8 MiB of client data parse");
	mh_buf_append_str(&t, "send x\n");
	tap_ok(strstr(canon((const char *)t.data, t.len), "line 5: more than") != NULL,
	       "one byte more is refused");
	char *huge = calloc(1, MH_DLG_MAX_TEXT + 2);
	tap_ok(strstr(canon(huge, MH_DLG_MAX_TEXT + 1), "larger than") != NULL, "text size cap");
	free(huge);
	mh_buf_deinit(&t);
}

static void test_files(void)
{
	char dir[] = "/tmp/test_dialogue.XXXXXX";
	tap_ok(mkdtemp(dir) != NULL, "temp dir");
	char path[256];
	snprintf(path, sizeof(path), "%s/x.dlg", dir);
	struct mh_dialogue d, e;
	mh_dialogue_init(&d, MH_PROTO_POP3);
	mh_dialogue_init(&e, MH_PROTO_SMTP);
	mh_dialogue_add(&d, MH_DLG_SEND, "RETR 1\r\n", 8, NULL);
	mh_dialogue_add(&d, MH_DLG_REPLY, NULL, 0, "+OK");
	struct mh_error err;
	mh_error_init(&err);
	tap_ok(mh_dialogue_save(path, &d, &err) == 0, "save");
	tap_ok(mh_dialogue_load(path, &e, &err) == 0 && mh_dialogue_equal(&d, &e),
	       "load gives it back");
	FILE *f = fopen(path, "w");
	fputs(H "proto pop3\nsend \\z\n", f);
	fclose(f);
	mh_error_init(&err);
	tap_ok(mh_dialogue_load(path, &e, &err) == -1 &&
	           strstr(err.msg, "x.dlg: line 3, column 6") != NULL && e.n == 0,
	       "a load error names file, line and column and leaves the dialogue empty");
	mh_error_init(&err);
	snprintf(path, sizeof(path), "%s/none.dlg", dir);
	tap_ok(mh_dialogue_load(path, &e, &err) == -1 && strstr(err.msg, "none.dlg") != NULL,
	       "missing file");
	snprintf(path, sizeof(path), "%s/x.dlg", dir);
	unlink(path);
	rmdir(dir);
	mh_dialogue_deinit(&d);
	mh_dialogue_deinit(&e);
}

/* ---- placeholders ---- */

struct srow {
	const char *in;
	const char *user, *pw;
	const char *want;
	int rc;
};

static const struct srow srows[] = {
    {"PASS s3cr3t!\r\n", "alice", "s3cr3t!", "PASS ${PASSWORD}\r\n", 0},
    {"A1 LOGIN \"alice\" \"s3cr3t!\"\r\n", "alice", "s3cr3t!",
     "A1 LOGIN \"alice\" \"${PASSWORD}\"\r\n", 0},
    /* base64("\0alice\0s3cr3t!") and base64("s3cr3t!") */
    {"AUTH PLAIN AGFsaWNlAHMzY3IzdCE=\r\n", "alice", "s3cr3t!", "AUTH PLAIN ${SASL_PLAIN}\r\n", 0},
    {"AGFsaWNlAHMzY3IzdCE=\r\n", "alice", "s3cr3t!", "${SASL_PLAIN}\r\n", 0},
    {"czNjcjN0IQ==\r\n", "alice", "s3cr3t!", "${PASSWORD_B64}\r\n", 0},
    /* SASL PLAIN without the user to check against, or with an authzid: unrecognised */
    {"AGFsaWNlAHMzY3IzdCE=\r\n", NULL, "s3cr3t!", "AGFsaWNlAHMzY3IzdCE=\r\n", -1},
    {"AUTH PLAIN YWxpY2UAYWxpY2UAczNjcjN0IQ==\r\n", "alice", "s3cr3t!",
     "AUTH PLAIN YWxpY2UAYWxpY2UAczNjcjN0IQ==\r\n", -1},
    /* unpadded base64 of the password is not the canonical form: refused, not rewritten */
    {"czNjcjN0IQ\r\n", "alice", "s3cr3t!", "czNjcjN0IQ\r\n", -1},
    /* a wrong password is no secret */
    {"AUTH PLAIN AGFsaWNlAHdyb25n\r\n", "alice", "s3cr3t!", "AUTH PLAIN AGFsaWNlAHdyb25n\r\n", 0},
    /* IMAP quoted string with escapes */
    {"A1 LOGIN alice \"a\\\"b\"\r\n", "alice", "a\"b", "A1 LOGIN alice \"a\\\"b\"\r\n", -1},
    {"x s3cr3t!s3cr3t!", "alice", "s3cr3t!", "x ${PASSWORD}${PASSWORD}", 0},
    {"no secret here", "alice", NULL, "no secret here", 0},
    {"no secret here", "alice", "", "no secret here", 0},
};

static void test_scrub(void)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(srows); i++) {
		const struct srow *r = &srows[i];
		struct mh_buf out, back;
		mh_buf_init(&out);
		mh_buf_init(&back);
		int rc = mh_dialogue_scrub((const unsigned char *)r->in, strlen(r->in), r->user,
		                           r->pw, &out);
		bool ok = rc == r->rc && strcmp(mh_buf_cstr(&out), r->want) == 0;
		size_t left = mh_dialogue_expand(out.data, out.len, r->user, r->pw, &back);
		if (rc == 0)
			ok = ok && left == 0 && strcmp(mh_buf_cstr(&back), r->in) == 0;
		if (!tap_ok(ok, "scrub row %zu", i))
			tap_diag("rc %d, out \"%s\", back \"%s\"", rc, mh_buf_cstr(&out),
			         mh_buf_cstr(&back));
		mh_buf_deinit(&out);
		mh_buf_deinit(&back);
	}
	const char *t = "${USER}:${PASSWORD}:${SASL_PLAIN}:${PASSWORD_B64}:${OTHER}";
	struct mh_buf out;
	mh_buf_init(&out);
	size_t left = mh_dialogue_expand((const unsigned char *)t, strlen(t), "alice", NULL, &out);
	tap_ok(left == 3 && strcmp(mh_buf_cstr(&out),
	                           "alice:${PASSWORD}:${SASL_PLAIN}:${PASSWORD_B64}:${OTHER}") == 0,
	       "placeholders without a value stay");
	mh_buf_reset(&out);
	left = mh_dialogue_expand((const unsigned char *)t, strlen(t), "alice", "s3cr3t!", &out);
	tap_ok(left == 0 && strcmp(mh_buf_cstr(&out),
	                           "alice:s3cr3t!:AGFsaWNlAHMzY3IzdCE=:czNjcjN0IQ==:${OTHER}") == 0,
	       "every placeholder expands");
	mh_buf_deinit(&out);

	struct mh_dialogue d;
	mh_dialogue_init(&d, MH_PROTO_SMTP);
	bool u, p;
	mh_dialogue_add(&d, MH_DLG_SEND, "PASS ${PASSWORD}\r\n", 18, NULL);
	mh_dialogue_needs(&d, &u, &p);
	tap_ok(!u && p, "needs: password");
	mh_dialogue_add(&d, MH_DLG_SEND, "${SASL_PLAIN}", 13, NULL);
	mh_dialogue_needs(&d, &u, &p);
	tap_ok(u && p, "needs: user and password");
	mh_dialogue_deinit(&d);
}

static void test_recorder(void)
{
	char dir[] = "/tmp/test_dialogue_rec.XXXXXX";
	mkdtemp(dir);
	struct mh_dlg_recorder *r = malloc(sizeof(*r));
	mh_dlg_recorder_init(r, MH_PROTO_POP3, "alice", "s3cr3t!");
	mh_dlg_recorder_hook(r, 1, MH_DLG_SEND, "USER alice\r\n", 12, NULL);
	mh_dlg_recorder_hook(r, 1, MH_DLG_REPLY, NULL, 0, "+OK");
	mh_dlg_recorder_hook(r, 1, MH_DLG_SEND, "PASS s3cr3t!\r\n", 14, NULL);
	mh_dlg_recorder_hook(r, 1, MH_DLG_REPLY, NULL, 0, "+OK");
	mh_dlg_recorder_hook(r, 2, MH_DLG_SEND, "PASS s3c", 8, NULL); /* split write */
	mh_dlg_recorder_hook(r, 2, MH_DLG_SEND, "r3t!\r\n", 6, NULL);
	mh_dlg_recorder_hook(r, 3, MH_DLG_SEND, "STLS\r\n", 6, NULL);
	mh_dlg_recorder_hook(r, 3, MH_DLG_REPLY, NULL, 0, "+OK");
	mh_dlg_recorder_hook(r, 3, MH_DLG_TLS, NULL, 0, NULL);
	mh_dlg_recorder_hook(r, 0, MH_DLG_TLS, NULL, 0, NULL);   /* ignored */
	mh_dlg_recorder_hook(r, 999, MH_DLG_TLS, NULL, 0, NULL); /* ignored */
	size_t saved = 0, unsafe = 0;
	struct mh_error err;
	mh_error_init(&err);
	tap_ok(mh_dlg_recorder_save(r, dir, "pop3.login/good x", &saved, &unsafe, &err) == 0 &&
	           saved == 2 && unsafe == 1,
	       "saves connections 1 and 3, withholds the split password");
	char path[256];
	snprintf(path, sizeof(path), "%s/pop3.login_good_x.1.dlg", dir);
	struct mh_dialogue d;
	mh_dialogue_init(&d, MH_PROTO_SMTP);
	tap_ok(mh_dialogue_load(path, &d, &err) == 0, "file named <case>.<conn>.dlg");
	struct mh_buf t;
	mh_buf_init(&t);
	mh_dialogue_format(&d, &t);
	tap_ok(tap_streq(mh_buf_cstr(&t),
	                 H "proto pop3\nsend USER alice\\r\\n\nreply +OK\nsend PASS "
	                   "${PASSWORD}\\r\\n\nreply +OK\n",
	                 "recorded text"),
	       "the password is a placeholder");
	unlink(path);
	snprintf(path, sizeof(path), "%s/pop3.login_good_x.3.dlg", dir);
	tap_ok(access(path, F_OK) == 0, "connection 3 saved");
	unlink(path);
	snprintf(path, sizeof(path), "%s/pop3.login_good_x.2.dlg", dir);
	tap_ok(access(path, F_OK) != 0, "connection 2 not saved");
	snprintf(path, sizeof(path), "%s/nonexistent-dir", dir);
	mh_error_init(&err);
	tap_ok(mh_dlg_recorder_save(r, path, "x", NULL, NULL, &err) == -1 && err.set,
	       "write error reported");
	rmdir(dir);
	mh_buf_deinit(&t);
	mh_dialogue_deinit(&d);
	mh_dlg_recorder_deinit(r);
	free(r);
}

int main(void)
{
	test_rows();
	test_every_byte();
	test_api();
	test_parse_caps();
	test_files();
	test_scrub();
	test_recorder();
	return tap_done();
}

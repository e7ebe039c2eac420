/* test_report.c: report writers (JSON, JUnit, console), coverage and baseline on synthetic runs. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "console.h"
#include "report.h"
#include "result.h"
#include "spec.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* ---- a hand-made spec, so coverage is tested whatever specs/ holds ----
   states: initial(none) greeted(command) mail(command) data(data) closed(none)
   commands: @greeting EHLO MAIL RCPT @end-of-data
   allowed: EHLO in greeted+mail, MAIL in greeted, RCPT in mail, @greeting in initial */

enum { S_INITIAL, S_GREETED, S_MAIL, S_DATA, S_CLOSED, S_COUNT };

static int st_initial[] = {S_INITIAL}, st_ehlo[] = {S_GREETED, S_MAIL}, st_mail[] = {S_GREETED},
           st_rcpt[] = {S_MAIL}, st_eod[] = {S_DATA};
static struct mh_spec_rule r_greeting = {.states = st_initial,
                                         .nstates = 1,
                                         .rfc = "RFC 5321 4.3.1"},
                           r_ehlo = {.states = st_ehlo, .nstates = 2, .rfc = "RFC 5321 4.1.1.1"},
                           r_mail = {.states = st_mail, .nstates = 1, .rfc = "RFC 5321 4.1.1.2"},
                           r_rcpt = {.states = st_rcpt, .nstates = 1, .rfc = "RFC 5321 4.1.1.3"},
                           r_eod = {.states = st_eod, .nstates = 1, .rfc = "RFC 5321 4.1.1.4"};

static struct mh_spec_state spec_states[S_COUNT] = {
    [S_INITIAL] = {.name = "initial", .input = MH_INPUT_NONE},
    [S_GREETED] = {.name = "greeted", .input = MH_INPUT_COMMAND},
    [S_MAIL] = {.name = "mail", .input = MH_INPUT_COMMAND},
    [S_DATA] = {.name = "data", .input = MH_INPUT_DATA},
    [S_CLOSED] = {.name = "closed", .input = MH_INPUT_NONE, .final = true},
};
enum { C_GREETING, C_EHLO, C_MAIL, C_RCPT, C_EOD, C_COUNT };
static struct mh_spec_command spec_cmds[C_COUNT] = {
    [C_GREETING] = {.name = "@greeting", .pseudo = true, .rules = &r_greeting, .nrules = 1},
    [C_EHLO] = {.name = "EHLO", .rules = &r_ehlo, .nrules = 1},
    [C_MAIL] = {.name = "MAIL", .rules = &r_mail, .nrules = 1},
    [C_RCPT] = {.name = "RCPT", .rules = &r_rcpt, .nrules = 1},
    [C_EOD] = {.name = "@end-of-data", .pseudo = true, .rules = &r_eod, .nrules = 1},
};
static struct mh_spec spec1 = {
    .proto = MH_PROTO_SMTP,
    .version = 1,
    .title = "test smtp",
    .path = "test/smtp.json",
    .states = spec_states,
    .nstates = S_COUNT,
    .initial = S_INITIAL,
    .closed = S_CLOSED,
    .commands = spec_cmds,
    .ncommands = C_COUNT,
};

/* The same table with commands in another order: cells of a target using it are mapped by name. */
static int st2_ehlo[] = {S_GREETED, S_MAIL}, st2_rcpt[] = {S_MAIL};
static struct mh_spec_rule r2_ehlo = {.states = st2_ehlo, .nstates = 2},
                           r2_rcpt = {.states = st2_rcpt, .nstates = 1};
static struct mh_spec_command spec2_cmds[] = {
    {.name = "RCPT", .rules = &r2_rcpt, .nrules = 1},
    {.name = "EHLO", .rules = &r2_ehlo, .nrules = 1},
    {.name = "NOOP"}, /* unknown to spec1: its cells are dropped */
};
static struct mh_spec spec2 = {
    .proto = MH_PROTO_SMTP,
    .version = 1,
    .title = "test smtp 2",
    .path = "test/smtp2.json",
    .states = spec_states,
    .nstates = S_COUNT,
    .initial = S_INITIAL,
    .closed = S_CLOSED,
    .commands = spec2_cmds,
    .ncommands = MH_ARRAY_SIZE(spec2_cmds),
};

/* ---- building a run ---- */

static struct mh_target_info *add_target(struct mh_run *run, const char *url, const char *proto,
                                         const char *host, int port, const struct mh_spec *spec)
{
	run->targets = mh_realloc(run->targets, (run->ntargets + 1) * sizeof(*run->targets));
	struct mh_target_info *t = &run->targets[run->ntargets++];
	memset(t, 0, sizeof(*t));
	t->url = mh_strdup(url);
	t->proto = mh_strdup(proto);
	t->host = mh_strdup(host);
	t->port = port;
	t->tls = mh_strdup("none");
	t->spec = spec;
	return t;
}

static struct mh_case_result *add_case(struct mh_run *run, const char *id, const char *proto,
                                       int target, enum mh_verdict v, const char *reason)
{
	run->cases = mh_realloc(run->cases, (run->ncases + 1) * sizeof(*run->cases));
	struct mh_case_result *c = &run->cases[run->ncases++];
	memset(c, 0, sizeof(*c));
	c->id = mh_strdup(id);
	c->title = mh_strdup(id);
	c->rfc = mh_strdup(proto != NULL && strcmp(proto, "imap") == 0 ? "RFC 9051 6.2.3"
	                                                               : "RFC 5321 4.1.1.3");
	c->proto = mh_strdup(proto);
	c->file = mh_strdup("scripts/test.lua");
	c->target = target;
	c->verdict = v;
	c->reason = mh_strdup(reason);
	c->start_wall_ms = 1795000000000LL + (int64_t)run->ncases * 10;
	c->duration_ms = 12;
	return c;
}

static char *long_string(size_t n, char fill)
{
	char *s = mh_malloc(n + 1);
	memset(s, fill, n);
	s[n] = '\0';
	return s;
}

/* Hostile text: quotes, markup, a CDATA terminator, C0 controls, an escape sequence, DEL,
   invalid UTF-8 (0xff, a truncated sequence, an overlong '/', a surrogate) and valid UTF-8. */
static const char hostile[] =
    "it said \"no\" <b>&amp;</b> ]]> '\x01\x02\x1b[31mred\x7f"
    " \xff \xc3\x28 \xc0\xaf \xed\xa0\x80 caf\xc3\xa9 \xe2\x82\xac \t\r\n end";

static unsigned char all_bytes[256];
static unsigned char *big_blob;
static const size_t big_blob_len = 300000;

static void build_run(struct mh_run *run)
{
	mh_run_init(run);
	run->tool_version = mh_strdup("0.1.0-test");
	run->start_wall_ms = 1795000000000LL;
	run->end_wall_ms = 1795000004321LL;
	run->suites = mh_calloc(2, sizeof(char *));
	run->suites[0] = mh_strdup("scripts/smtp");
	run->suites[1] = mh_strdup("scripts/imap");
	run->nsuites = 2;
	run->filter = mh_strdup("smtp.*");
	run->baseline_path = mh_strdup("baseline.json");

	struct mh_target_info *t =
	    add_target(run, "smtp://mx.example:25", "smtp", "mx.example", 25, &spec1);
	t->greeting = mh_strdup(hostile);
	t->caps_before = mh_calloc(2, sizeof(char *));
	t->caps_before[0] = mh_strdup("PIPELINING");
	t->caps_before[1] = mh_strdup("STARTTLS");
	t->ncaps_before = 2;
	t->caps_after = mh_calloc(1, sizeof(char *));
	t->caps_after[0] = mh_strdup("AUTH PLAIN");
	t->ncaps_after = 1;
	t->tls_version = mh_strdup("TLSv1.3");
	t->tls_cipher = mh_strdup("TLS_AES_256_GCM_SHA384");
	free(t->tls);
	t->tls = mh_strdup("starttls");
	add_target(run, "smtp://mx2.example:2525/?x=*", "smtp", "mx2.example", 2525, &spec2);
	t = add_target(run, "imap://imap.example:143", "imap", "imap.example", 143, NULL);
	t->probe_error = mh_strdup("connection refused \x01\xfe");

	/* 0: PASS with a normal transcript and cells */
	struct mh_case_result *c = add_case(run, "smtp.ehlo.basic", "smtp", 0, MH_V_PASS, NULL);
	struct mh_check *k = mh_case_add_check(c, MH_CHECK_SPEC, MH_V_PASS, "EHLO accepted",
	                                       "EHLO client.example", "250-mx.example\\r\\n250 OK",
	                                       "250 | 5xx", "RFC 5321 4.1.1.1", MH_LEVEL_MUST);
	k->state = mh_strdup("greeted");
	k->next_state = mh_strdup("greeted");
	k->conn = 1;
	mh_case_add_transcript(c, 0, '*', "connect 127.0.0.1:25", 20, 0);
	mh_case_add_transcript(c, 1, 'S', "220 mx.example ESMTP\r\n", 22, 1);
	mh_case_add_transcript(c, 1, 'C', "EHLO client.example\r\n", 21, 2);
	mh_case_add_transcript(c, 1, 'S', "250-mx.example\r\n250 OK\r\npartial", 31, 3);
	mh_case_add_cell(c, S_INITIAL, C_GREETING);
	mh_case_add_cell(c, S_GREETED, C_EHLO);

	/* 1: FAIL with hostile bytes everywhere and a binary transcript */
	c = add_case(run, "smtp.rcpt.hostile", "smtp", 0, MH_V_FAIL, hostile);
	mh_case_add_check(c, MH_CHECK_SPEC, MH_V_PASS, "MAIL accepted", "MAIL FROM:<a@b>", "250 OK",
	                  "250", "RFC 5321 4.1.1.2", MH_LEVEL_MUST);
	char *lng = long_string(100000, 'A');
	k = mh_case_add_check(c, MH_CHECK_SPEC, MH_V_FAIL, hostile, "RCPT TO:<\"x\"@y>", lng,
	                      "250 | 251 | 5xx", "RFC 5321 4.1.1.3", MH_LEVEL_MUST);
	k->state = mh_strdup("mail");
	k->next_state = mh_strdup("mail\x1b]0;title\x07");
	k->conn = 2;
	free(lng);
	mh_case_add_check(c, MH_CHECK_SYNTAX, MH_V_FAIL, "bad reply syntax", NULL, "25O OK", NULL,
	                  "RFC 5321 4.2", MH_LEVEL_SHOULD);
	mh_case_add_transcript(c, 2, 'C', "RCPT TO:<x@y>\r\n", 15, 5);
	mh_case_add_transcript(c, 2, 'S', all_bytes, sizeof(all_bytes), 6);
	mh_case_add_transcript(c, 2, 'C', "\0\r\n", 3, 100);
	mh_case_add_transcript(c, 2, 'S', big_blob, big_blob_len, 200);
	mh_case_add_transcript(c, 2, 'S', "", 0, 300);
	mh_case_add_cell(c, S_MAIL, C_RCPT);
	mh_case_add_cell(c, S_GREETED, C_RCPT); /* in the matrix, not allowed */

	/* 2: SKIP */
	c = add_case(run, "smtp.size.limit", "smtp", 0, MH_V_SKIP,
	             "capability SIZE not advertised");
	c->capability = mh_strdup("SIZE");
	c->level = MH_LEVEL_SHOULD;

	/* 3: FAIL listed in the baseline -> XFAIL */
	c = add_case(run, "smtp.vrfy.reply", "smtp", 0, MH_V_FAIL, "VRFY got 500");
	mh_case_add_check(c, MH_CHECK_ASSERT, MH_V_FAIL, "VRFY got 500", "VRFY x", "500 no",
	                  "250 | 252 | 502", "RFC 5321 3.5.3", MH_LEVEL_MAY);
	c->level = MH_LEVEL_MAY;
	free(c->rfc);
	c->rfc = mh_strdup("RFC 5321 3.5.3");

	/* 4: PASS listed in the baseline -> fixed */
	c = add_case(run, "smtp.expn.reply", "smtp", 0, MH_V_PASS, NULL);

	/* 5: ERROR */
	c = add_case(run, "smtp.slow.greeting", "smtp", 0, MH_V_ERROR, "timeout after 30000 ms");

	/* 6: the same case on target 1 whose spec orders commands differently */
	c = add_case(run, "smtp.ehlo.basic", "smtp", 1, MH_V_PASS, NULL);
	mh_case_add_cell(c, S_GREETED, 1); /* EHLO in spec2 */
	mh_case_add_cell(c, S_MAIL, 0);    /* RCPT in spec2 */
	mh_case_add_cell(c, S_GREETED, 2); /* NOOP: not in spec1, dropped */
	mh_case_add_cell(c, 99, 99);       /* out of range: dropped */

	/* 7: IMAP, no spec loaded: no coverage for imap */
	c = add_case(run, "imap.login.plain", "imap", 2, MH_V_PASS, NULL);
	mh_case_add_cell(c, 1, 1);

	/* 8: a case with almost nothing set */
	run->cases = mh_realloc(run->cases, (run->ncases + 1) * sizeof(*run->cases));
	c = &run->cases[run->ncases++];
	memset(c, 0, sizeof(*c));
	c->id = mh_strdup("broken.script");
	c->target = -1;
	c->verdict = MH_V_ERROR;
	c->reason = mh_strdup("script error: attempt to index a nil value");
}

#define N_CASES 9

static const char baseline_text[] =
    "{\"baseline_version\": 1, \"entries\": [\n"
    " {\"id\": \"smtp.vrfy.*\", \"target\": \"smtp://mx.example:*\", \"reason\": \"VRFY disabled "
    "by policy\","
    "  \"rfc\": \"RFC 5321 3.5.3\"},\n"
    " {\"id\": \"smtp.expn.reply\", \"reason\": \"EXPN used to fail\", \"rfc\": \"RFC 5321 "
    "3.5.3\"},\n"
    " {\"id\": \"smtp.slow.*\", \"reason\": \"errors are never baselined\", \"rfc\": \"RFC 5321 "
    "4.5.3.2\"}\n"
    "]}\n";

/* ---- helpers ---- */

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void write_file(const char *path, const void *data, size_t n)
{
	struct mh_error err;
	mh_error_init(&err);
	if (mh_write_file_atomic(path, data, n, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
}

/* Decodes a transcript "data" string (ISO 8859-1 code points as UTF-8) back into bytes. */
static bool decode_latin1(const char *s, size_t n, struct mh_buf *out)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = mh_report_utf8_next((const unsigned char *)s + i, n - i, &cp);
		if (l == 0 || cp > 0xff)
			return false;
		unsigned char byte = (unsigned char)cp;
		mh_buf_append(out, &byte, 1);
		i += l;
	}
	return true;
}

static long long jint_at(json_t *o, const char *path)
{
	/* path: dot-separated keys */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *cur = o;
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok != NULL && cur != NULL;
	     tok = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, tok);
	return json_is_integer(cur) ? json_integer_value(cur) : -1;
}

/* ---- tests ---- */

static void test_json(const struct mh_run *run, const char *outdir)
{
	struct mh_error err;
	mh_error_init(&err);
	char *text = mh_report_json_string(run, 2, &err);
	CHECK(text != NULL, "%s", err.msg);
	if (text == NULL)
		return;
	size_t n = strlen(text);
	bool ascii = true;
	for (size_t i = 0; i < n; i++)
		ascii = ascii && (unsigned char)text[i] < 0x80;
	CHECK(ascii, "report is not pure ASCII");
	CHECK(n > 0 && text[n - 1] == '\n', "no final newline");

	char path[4096];
	snprintf(path, sizeof(path), "%s/report.json", outdir);
	CHECK(mh_report_json_write(run, path, 2, &err) == 0, "%s", err.msg);

	json_error_t jerr;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	CHECK(doc != NULL, "report does not parse: %s line %d", jerr.text, jerr.line);
	free(text);
	if (doc == NULL)
		return;
	CHECK(jint_at(doc, "report_version") == 1, "report_version");
	CHECK(jint_at(doc, "exit_status") == 2, "exit_status");
	CHECK(jint_at(doc, "duration_ms") == 4321, "duration_ms");
	CHECK(jint_at(doc, "summary.total") == N_CASES, "summary.total");
	CHECK(jint_at(doc, "summary.by_verdict.PASS") == 4, "PASS count %lld",
	      jint_at(doc, "summary.by_verdict.PASS"));
	CHECK(jint_at(doc, "summary.by_verdict.FAIL") == 1, "FAIL count");
	CHECK(jint_at(doc, "summary.by_verdict.XFAIL") == 1, "XFAIL count");
	CHECK(jint_at(doc, "summary.by_verdict.SKIP") == 1, "SKIP count");
	CHECK(jint_at(doc, "summary.by_verdict.ERROR") == 2, "ERROR count");
	CHECK(jint_at(doc, "summary.by_protocol.smtp.PASS") == 3, "smtp PASS");
	CHECK(jint_at(doc, "summary.by_protocol.imap.PASS") == 1, "imap PASS");
	CHECK(jint_at(doc, "summary.by_protocol.unknown.ERROR") == 1, "unknown ERROR");
	CHECK(jint_at(doc, "summary.by_level.MAY.XFAIL") == 1, "MAY XFAIL");
	CHECK(jint_at(doc, "summary.by_level.SHOULD.SKIP") == 1, "SHOULD SKIP");
	json_t *by_rfc = json_object_get(json_object_get(doc, "summary"), "by_rfc");
	CHECK(jint_at(by_rfc, "RFC 5321.FAIL") == 1, "by_rfc RFC 5321 FAIL");
	CHECK(jint_at(by_rfc, "RFC 9051.PASS") == 1, "by_rfc RFC 9051");
	CHECK(jint_at(by_rfc, "none.ERROR") == 1, "by_rfc none");

	/* coverage: spec1 matrix = 2 command states x 3 commands; allowed = 4 */
	json_t *cov = json_object_get(doc, "coverage");
	CHECK(json_object_get(cov, "imap") == NULL, "imap has no spec, so no coverage");
	CHECK(jint_at(cov, "smtp.total") == 6, "total %lld", jint_at(cov, "smtp.total"));
	CHECK(jint_at(cov, "smtp.exercised") == 3, "exercised %lld",
	      jint_at(cov, "smtp.exercised"));
	CHECK(jint_at(cov, "smtp.allowed_total") == 4, "allowed_total");
	CHECK(jint_at(cov, "smtp.allowed_exercised") == 2, "allowed_exercised");
	json_t *smtp = json_object_get(cov, "smtp");
	CHECK(json_real_value(json_object_get(smtp, "percent")) == 50.0, "percent");
	json_t *cells = json_object_get(smtp, "cells");
	CHECK(json_array_size(cells) == 4, "cells %zu", json_array_size(cells));
	/* sorted: (initial,@greeting) (greeted,EHLO) (greeted,RCPT) (mail,RCPT) */
	static const struct {
		const char *state, *cmd;
		bool in_matrix, allowed;
		size_t ncases;
		const char *first_case;
	} want[] = {
	    {"initial", "@greeting", false, true, 1, "smtp.ehlo.basic"},
	    {"greeted", "EHLO", true, true, 1, "smtp.ehlo.basic"}, /* two cases, one id */
	    {"greeted", "RCPT", true, false, 1, "smtp.rcpt.hostile"},
	    {"mail", "RCPT", true, true, 2, "smtp.rcpt.hostile"},
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(want) && i < json_array_size(cells); i++) {
		json_t *cell = json_array_get(cells, i);
		json_t *cases = json_object_get(cell, "cases");
		CHECK(strcmp(json_string_value(json_object_get(cell, "state")), want[i].state) == 0,
		      "cell %zu state", i);
		CHECK(strcmp(json_string_value(json_object_get(cell, "command")), want[i].cmd) == 0,
		      "cell %zu cmd", i);
		CHECK(json_is_true(json_object_get(cell, "in_matrix")) == want[i].in_matrix,
		      "cell %zu in_matrix", i);
		CHECK(json_is_true(json_object_get(cell, "allowed")) == want[i].allowed,
		      "cell %zu allowed", i);
		CHECK(json_array_size(cases) == want[i].ncases, "cell %zu cases %zu", i,
		      json_array_size(cases));
		CHECK(strcmp(json_string_value(json_array_get(cases, 0)), want[i].first_case) == 0,
		      "cell %zu id", i);
	}

	json_t *cases = json_object_get(doc, "cases");
	CHECK(json_array_size(cases) == N_CASES, "cases");
	/* free text: invalid UTF-8 becomes \xNN, valid UTF-8 and controls are kept (JSON escapes
	 * them) */
	const char *reason = json_string_value(json_object_get(json_array_get(cases, 1), "reason"));
	CHECK(reason != NULL &&
	          strstr(reason,
	                 " \\xff \\xc3( \\xc0\\xaf \\xed\\xa0\\x80 caf\xc3\xa9 \xe2\x82\xac") !=
	              NULL,
	      "reason sanitized: %s", reason);
	CHECK(reason != NULL && strstr(reason, "\x1b[31m") != NULL, "control chars kept in JSON");
	json_t *c3 = json_array_get(cases, 3);
	CHECK(strcmp(json_string_value(json_object_get(c3, "verdict")), "XFAIL") == 0,
	      "case 3 XFAIL");
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(c3, "baseline"), "reason")),
	             "VRFY disabled by policy") == 0,
	      "case 3 baseline reason");
	json_t *c4 = json_array_get(cases, 4);
	CHECK(json_is_true(json_object_get(json_object_get(c4, "baseline"), "fixed")),
	      "case 4 fixed");
	CHECK(json_is_null(json_object_get(json_array_get(cases, 0), "baseline")),
	      "case 0 baseline null");
	CHECK(json_is_null(json_object_get(json_array_get(cases, 8), "target")),
	      "case 8 target null");
	CHECK(json_is_null(json_object_get(json_array_get(cases, 8), "started")),
	      "case 8 started null");

	/* transcripts decode to the exact bytes; also written out for the Python round trip */
	char txdir[4096];
	snprintf(txdir, sizeof(txdir), "%s/transcripts", outdir);
	mkdir_p(txdir);
	size_t compared = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		json_t *tr = json_object_get(json_array_get(cases, i), "transcript");
		const struct mh_case_result *c = &run->cases[i];
		CHECK(json_array_size(tr) == c->ntranscript, "case %zu transcript length", i);
		for (size_t j = 0; j < c->ntranscript && j < json_array_size(tr); j++) {
			json_t *data = json_object_get(json_array_get(tr, j), "data");
			struct mh_buf got;
			mh_buf_init(&got);
			bool ok =
			    decode_latin1(json_string_value(data), json_string_length(data), &got);
			CHECK(ok && got.len == c->transcript[j].data.len &&
			          (got.len == 0 ||
			           memcmp(got.data, c->transcript[j].data.data, got.len) == 0),
			      "case %zu entry %zu does not round-trip", i, j);
			mh_buf_deinit(&got);
			char f[4200];
			snprintf(f, sizeof(f), "%s/%zu_%zu.bin", txdir, i, j);
			write_file(f,
			           c->transcript[j].data.data != NULL ? c->transcript[j].data.data
			                                              : (unsigned char *)"",
			           c->transcript[j].data.len);
			compared++;
		}
	}
	CHECK(compared >= 8, "compared %zu transcript entries", compared);
	json_decref(doc);
}

static void test_junit(const struct mh_run *run, const char *outdir)
{
	struct mh_buf b;
	mh_buf_init(&b);
	mh_report_junit_build(run, &b);
	const char *x = mh_buf_cstr(&b);
	bool clean = true;
	for (size_t i = 0; i < b.len; i++) {
		unsigned char ch = b.data[i];
		clean = clean && (ch >= 0x20 || ch == '\n' || ch == '\t');
	}
	CHECK(clean, "JUnit holds raw control characters");
	CHECK(strstr(x, "]]>") == NULL, "raw CDATA terminator");
	CHECK(strstr(x, "]]&gt;") != NULL, "escaped ]]>");
	CHECK(strstr(x, "\\x1b[31mred\\x7f") != NULL, "escape sequence rendered as text");
	CHECK(strstr(x, "\\xff \\xc3( \\xc0\\xaf \\xed\\xa0\\x80 caf\xc3\xa9 \xe2\x82\xac") != NULL,
	      "invalid UTF-8 rendered");
	CHECK(strstr(x, "<testsuites name=\"mailharness\" tests=\"9\" failures=\"1\" errors=\"2\" "
	                "skipped=\"2\"") != NULL,
	      "testsuites counts");
	CHECK(strstr(x, "message=\"expected failure (baseline): VRFY disabled by policy\"") != NULL,
	      "XFAIL message");
	CHECK(strstr(x, "classname=\"mailharness.smtp\" time=\"0.012\"") != NULL, "classname/time");
	CHECK(strstr(x, "<failure message=\"it said &quot;no&quot; &lt;b&gt;&amp;amp;&lt;/b&gt; "
	                "]]&gt; &apos;\\x01") != NULL,
	      "failure message escaped");
	CHECK(strstr(x, "<testsuite name=\"smtp smtp://mx2.example:2525/?x=*\"") != NULL,
	      "suite per target");
	CHECK(strstr(x, "#2 S: \\0\\x01") != NULL, "binary transcript in system-out");
	CHECK(strstr(x, "250 OK\n") != NULL && strstr(x, "partial [no line end]") != NULL,
	      "line split");
	char path[4096];
	snprintf(path, sizeof(path), "%s/junit.xml", outdir);
	struct mh_error err;
	mh_error_init(&err);
	CHECK(mh_report_junit_write(run, path, &err) == 0, "%s", err.msg);
	mh_buf_deinit(&b);
}

/* Runs f on a memory stream and returns what it printed. */
static char *capture_console(const struct mh_run *run, bool color, bool verbose, bool tty,
                             bool summary)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		perror("open_memstream");
		exit(1);
	}
	struct mh_console con;
	mh_console_init(&con, f, color, verbose, tty);
	for (size_t i = 0; i < run->ncases; i++) {
		mh_console_progress(&con, i, run->ncases, run->cases[i].id);
		mh_console_case(&con, run, &run->cases[i], i + 1, run->ncases);
	}
	if (summary)
		mh_console_summary(&con, run);
	fclose(f);
	return text;
}

static bool only_printable(const char *s, bool allow_esc, bool allow_cr)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == 0x1b && allow_esc)
			continue;
		if (*p == '\r' && allow_cr)
			continue;
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			return false;
	}
	return true;
}

static void test_console(const struct mh_run *run, const char *outdir)
{
	char *plain = capture_console(run, false, false, false, true);
	CHECK(only_printable(plain, false, false), "plain console output holds control bytes");
	CHECK(strstr(plain, "[1/9] PASS  smtp.ehlo.basic (12 ms) @smtp://mx.example:25\n") != NULL,
	      "PASS line:\n%s", plain);
	CHECK(
	    strstr(plain,
	           "[2/9] FAIL  smtp.rcpt.hostile (12 ms) @smtp://mx.example:25: it said \"no\"") !=
	        NULL,
	    "FAIL line");
	CHECK(strstr(plain, "(RFC 5321 4.1.1.3, MUST)\n") != NULL,
	      "RFC and level on the FAIL line");
	CHECK(strstr(plain, "\n            sent: RCPT TO:<\"x\"@y> | received: AAAA") != NULL,
	      "second line");
	CHECK(strstr(plain, "AAA... | expected: 250 | 251 | 5xx\n") != NULL, "received truncated");
	CHECK(strstr(plain, "SKIP  smtp.size.limit (12 ms) @smtp://mx.example:25: capability SIZE "
	                    "not advertised") != NULL,
	      "SKIP reason");
	CHECK(strstr(plain, "XFAIL smtp.vrfy.reply (12 ms) @smtp://mx.example:25: VRFY got 500 "
	                    "(baseline: VRFY disabled by policy)") != NULL,
	      "XFAIL line");
	CHECK(strstr(plain, "ERROR smtp.slow.greeting") != NULL &&
	          strstr(plain, "timeout after 30000 ms") != NULL,
	      "ERROR");
	CHECK(strstr(plain, "(listed in the baseline, passes now)") != NULL, "fixed PASS");
	CHECK(strstr(plain, "Protocol     PASS   FAIL   SKIP  XFAIL  ERROR  TOTAL\n"
	                    "smtp            3      1      1      1      1      7\n"
	                    "imap            1      0      0      0      0      1\n"
	                    "unknown         0      0      0      0      1      1\n"
	                    "TOTAL           4      1      1      1      2      9\n") != NULL,
	      "protocol table:\n%s", plain);
	CHECK(strstr(plain, "MUST            4      1      0      0      2      7\n") != NULL,
	      "level table");
	CHECK(strstr(plain, "RFC 5321        3      1      1      1      1      7\n") != NULL,
	      "rfc table");
	CHECK(strstr(plain, "baseline: 1 listed case now pass (remove them): smtp.expn.reply\n") !=
	          NULL,
	      "baseline line");
	CHECK(
	    strstr(plain,
	           "coverage: smtp core 50.0% (3/6 state x command cells; allowed cells 2/4)\n") !=
	        NULL,
	    "coverage");
	CHECK(strstr(plain, "coverage: imap n/a (no spec loaded)\n") != NULL, "coverage n/a");
	CHECK(strstr(plain, "running") == NULL, "no progress without a tty");
	char path[4096];
	snprintf(path, sizeof(path), "%s/console.txt", outdir);
	write_file(path, plain, strlen(plain));
	free(plain);

	char *tty = capture_console(run, true, true, true, false);
	CHECK(only_printable(tty, true, true), "tty output holds control bytes other than ESC/CR");
	CHECK(strstr(tty, "\r[1/9] running smtp.rcpt.hostile") != NULL, "progress line");
	CHECK(strstr(tty, "\033[1;31mFAIL \033[0m") != NULL, "colored FAIL");
	CHECK(strstr(tty, "\033[31m") == NULL, "server escape sequence passed through");
	CHECK(strstr(tty, "     1 ms #1 S: 220 mx.example ESMTP\n") != NULL,
	      "verbose transcript S:");
	CHECK(strstr(tty, "     2 ms #1 C: EHLO client.example\n") != NULL,
	      "verbose transcript C:");
	CHECK(strstr(tty, "     0 ms #0 * connect 127.0.0.1:25\n") != NULL, "event line");
	CHECK(strstr(tty, "[FAIL] syntax SHOULD RFC 5321 4.2: bad reply syntax") != NULL,
	      "verbose checks");
	CHECK(strstr(tty, "state mail -> mail\\x1b]0;title\\x07") != NULL, "state escaped");
	free(tty);

	FILE *f = tmpfile();
	CHECK(f != NULL && !mh_console_want_color(f), "no color on a regular file");
	if (f != NULL)
		fclose(f);
}

/* The real spec, when specs/smtp.json exists and loads. Returns 77 (skipped) otherwise. */
static int test_real_spec(const char *spec_path, const char *outdir)
{
	struct mh_error err;
	mh_error_init(&err);
	char path[4096];
	snprintf(path, sizeof(path), "%s/report-realspec.json", outdir);
	unlink(path); /* never validate a stale one */
	struct stat st;
	if (stat(spec_path, &st) != 0) {
		printf("SKIP: %s does not exist yet; coverage was tested with a hand-made spec\n",
		       spec_path);
		return 77;
	}
	struct mh_spec *spec = mh_spec_load(spec_path, &err);
	if (spec == NULL) {
		printf("SKIP: %s does not load (%s); coverage was tested with a hand-made spec\n",
		       spec_path, err.msg);
		return 77;
	}
	struct mh_run run;
	mh_run_init(&run);
	run.start_wall_ms = 1795000000000LL;
	run.end_wall_ms = run.start_wall_ms + 5;
	add_target(&run, "smtp://127.0.0.1:25", "smtp", "127.0.0.1", 25, spec);
	struct mh_case_result *c = add_case(&run, "smtp.every.cell", "smtp", 0, MH_V_PASS, NULL);
	size_t ncmd_states = 0, ncmds = 0, allowed = 0;
	/* matrix rows: command states not marked "matrix": false (SMTP rejected) */
	for (size_t s = 0; s < spec->nstates; s++)
		ncmd_states +=
		    spec->states[s].input == MH_INPUT_COMMAND && !spec->states[s].matrix_excluded;
	for (size_t k = 0; k < spec->ncommands; k++)
		ncmds += !spec->commands[k].pseudo;
	/* hit every allowed cell and every pseudo command cell */
	for (size_t s = 0; s < spec->nstates; s++)
		for (size_t k = 0; k < spec->ncommands; k++)
			if (mh_spec_rule_for(spec, (int)k, (int)s) != NULL) {
				mh_case_add_cell(c, (int)s, (int)k);
				allowed += spec->states[s].input == MH_INPUT_COMMAND &&
				           !spec->states[s].matrix_excluded &&
				           !spec->commands[k].pseudo;
			}
	struct mh_report_coverage cov;
	CHECK(mh_report_coverage(&run, "smtp", &cov) == 0, "coverage with the real spec");
	CHECK(cov.total == ncmd_states * ncmds, "total %zu != %zu x %zu", cov.total, ncmd_states,
	      ncmds);
	CHECK(cov.total > 0, "the real spec has an empty matrix");
	CHECK(cov.allowed_total == allowed && cov.allowed_exercised == allowed &&
	          cov.exercised == allowed,
	      "allowed %zu/%zu exercised %zu, expected %zu", cov.allowed_exercised,
	      cov.allowed_total, cov.exercised, allowed);
	mh_report_coverage_deinit(&cov);
	CHECK(mh_report_json_write(&run, path, 0, &err) == 0, "%s", err.msg);
	printf("real spec %s: %zu/%zu cells allowed of the matrix\n", spec_path, allowed,
	       ncmd_states * ncmds);
	mh_run_deinit(&run);
	mh_spec_free(&spec);
	return failures ? 1 : 0;
}

/* ---- baseline ---- */

static const struct {
	const char *json;
	const char *error; /* substring of the error, NULL = loads */
	size_t nentries;
} load_rows[] = {
    {"{\"baseline_version\":1,\"entries\":[]}", NULL, 0},
    {baseline_text, NULL, 3},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\",\"target\":\"smtp://"
     "*\",\"reason\":\"r\",\"rfc\":\"RFC 1\"}]}",
     NULL, 1},
    {"", "baseline.json:", 0},
    {"{\"baseline_version\":1,\"entries\":[]", "baseline.json:", 0},
    {"[]", "must be an object", 0},
    {"{\"entries\":[]}", "\"baseline_version\" must be 1", 0},
    {"{\"baseline_version\":2,\"entries\":[]}", "\"baseline_version\" must be 1", 0},
    {"{\"baseline_version\":\"1\",\"entries\":[]}", "\"baseline_version\" must be 1", 0},
    {"{\"baseline_version\":1}", "\"entries\" must be an array", 0},
    {"{\"baseline_version\":1,\"entries\":{}}", "\"entries\" must be an array", 0},
    {"{\"baseline_version\":1,\"entries\":[],\"extra\":1}", "unknown key \"extra\"", 0},
    {"{\"baseline_version\":1,\"baseline_version\":1,\"entries\":[]}", "duplicate", 0},
    {"{\"baseline_version\":1,\"entries\":[7]}", "entries[0]: must be an object", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\",\"reason\":\"r\",\"rfc\":\"x\"},{\"id\":"
     "\"b\",\"rfc\":\"x\"}]}",
     "entries[1]: missing \"reason\"", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"reason\":\"r\",\"rfc\":\"x\"}]}",
     "entries[0]: missing \"id\"", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\",\"reason\":\"r\"}]}",
     "entries[0]: missing \"rfc\"", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\",\"reason\":\"r\",\"rfc\":\"x\",\"note\":"
     "\"\"}]}",
     "entries[0]: unknown key \"note\"", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":5,\"reason\":\"r\",\"rfc\":\"x\"}]}",
     "entries[0]: \"id\" must be a string", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\",\"reason\":\"\",\"rfc\":\"x\"}]}",
     "entries[0]: \"reason\" must not be empty", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\",\"target\":null,\"reason\":\"r\",\"rfc\":"
     "\"x\"}]}",
     "entries[0]: \"target\" must be a string", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\",\"target\":\"\",\"reason\":\"r\",\"rfc\":"
     "\"x\"}]}",
     "entries[0]: \"target\" must not be empty", 0},
    {"{\"baseline_version\":1,\"entries\":[{\"id\":\"a\\u0000b\",\"reason\":\"r\",\"rfc\":\"x\"}]}",
     "baseline.json:", 0},
};

/* One case per row, all in one run; the baseline below is applied once. */
static const struct {
	const char *id;
	int target;
	enum mh_verdict before, after;
	bool fixed;
	const char *reason; /* baseline_reason afterwards, NULL = none */
} apply_rows[] = {
    {"smtp.exact", 0, MH_V_FAIL, MH_V_XFAIL, false, "exact"},
    {"smtp.rcpt.glob1", 0, MH_V_FAIL, MH_V_XFAIL, false, "star"},
    {"smtp.q1", 0, MH_V_FAIL, MH_V_XFAIL, false, "question"},
    {"smtp.q12", 0, MH_V_FAIL, MH_V_FAIL, false, NULL},      /* '?' is one character */
    {"smtp.only.mx2", 0, MH_V_FAIL, MH_V_FAIL, false, NULL}, /* target glob does not match */
    {"smtp.only.mx2", 1, MH_V_FAIL, MH_V_XFAIL, false, "mx2 only"},
    {"smtp.exact.fixed", 0, MH_V_PASS, MH_V_PASS, true, "fixed now"},
    {"smtp.err.x", 0, MH_V_ERROR, MH_V_ERROR, false, NULL},
    {"smtp.skip.x", 0, MH_V_SKIP, MH_V_SKIP, false, NULL},
    {"smtp.unlisted", 0, MH_V_FAIL, MH_V_FAIL, false, NULL},
    {"smtp.first.wins", 1, MH_V_FAIL, MH_V_XFAIL, false, "first"},
    {"smtp.notarget", -1, MH_V_FAIL, MH_V_XFAIL, false, "no target"},
};

static const char apply_baseline[] =
    "{\"baseline_version\":1,\"entries\":[\n"
    "{\"id\":\"smtp.exact\",\"reason\":\"exact\",\"rfc\":\"RFC 5321 1\"},\n"
    "{\"id\":\"smtp.rcpt.*\",\"reason\":\"star\",\"rfc\":\"RFC 5321 2\"},\n"
    "{\"id\":\"smtp.q?\",\"reason\":\"question\",\"rfc\":\"RFC 5321 3\"},\n"
    "{\"id\":\"smtp.only.mx2\",\"target\":\"smtp://mx2.*\",\"reason\":\"mx2 only\",\"rfc\":\"RFC "
    "5321 4\"},\n"
    "{\"id\":\"smtp.exact.fixed\",\"reason\":\"fixed now\",\"rfc\":\"RFC 5321 5\"},\n"
    "{\"id\":\"smtp.err.*\",\"reason\":\"never\",\"rfc\":\"RFC 5321 6\"},\n"
    "{\"id\":\"smtp.skip.*\",\"reason\":\"never\",\"rfc\":\"RFC 5321 7\"},\n"
    "{\"id\":\"smtp.first.*\",\"target\":\"smtp://"
    "mx2.example:25\",\"reason\":\"first\",\"rfc\":\"RFC 5321 8\"},\n"
    "{\"id\":\"smtp.first.wins\",\"reason\":\"second\",\"rfc\":\"RFC 5321 9\"},\n"
    "{\"id\":\"smtp.notarget\",\"reason\":\"no target\",\"rfc\":\"RFC 5321 10\"}\n"
    "]}";

static void build_apply_run(struct mh_run *run)
{
	mh_run_init(run);
	add_target(run, "smtp://mx.example:25", "smtp", "mx.example", 25, NULL);
	add_target(run, "smtp://mx2.example:25", "smtp", "mx2.example", 25, NULL);
	for (size_t i = 0; i < MH_ARRAY_SIZE(apply_rows); i++) {
		struct mh_case_result *c = add_case(
		    run, apply_rows[i].id, "smtp", apply_rows[i].target, apply_rows[i].before,
		    apply_rows[i].before == MH_V_PASS ? NULL : "failed \xff reason");
		if (apply_rows[i].before == MH_V_FAIL && i % 2 == 0) {
			/* no case rfc: --write-baseline falls back to the failed check's */
			free(c->rfc);
			c->rfc = NULL;
			mh_case_add_check(c, MH_CHECK_SPEC, MH_V_FAIL, "m", NULL, NULL, NULL,
			                  "RFC 5321 9.9", MH_LEVEL_MUST);
		}
	}
}

static int test_baseline(const char *tmpdir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/baseline.json", tmpdir);
	for (size_t i = 0; i < MH_ARRAY_SIZE(load_rows); i++) {
		write_file(path, load_rows[i].json, strlen(load_rows[i].json));
		struct mh_error err;
		mh_error_init(&err);
		struct mh_baseline *b = mh_baseline_load(path, &err);
		if (load_rows[i].error == NULL) {
			CHECK(b != NULL, "load row %zu: %s", i, err.msg);
			CHECK(b == NULL || b->nentries == load_rows[i].nentries,
			      "load row %zu: entries", i);
		} else {
			CHECK(b == NULL, "load row %zu: loaded, expected error %s", i,
			      load_rows[i].error);
			CHECK(err.set && strstr(err.msg, load_rows[i].error) != NULL,
			      "load row %zu: error \"%s\", expected \"%s\"", i, err.msg,
			      load_rows[i].error);
		}
		mh_baseline_free(&b);
		CHECK(b == NULL, "free clears the pointer");
	}
	struct mh_error err;
	mh_error_init(&err);
	char missing[4200];
	snprintf(missing, sizeof(missing), "%s/does-not-exist.json", tmpdir);
	CHECK(mh_baseline_load(missing, &err) == NULL && strstr(err.msg, "does-not-exist") != NULL,
	      "missing file");
	mh_baseline_free(NULL);

	/* apply */
	struct mh_run run;
	build_apply_run(&run);
	mh_error_init(&err);
	struct mh_baseline *b =
	    mh_baseline_load_buf(apply_baseline, strlen(apply_baseline), "apply", &err);
	CHECK(b != NULL, "%s", err.msg);
	if (b == NULL) {
		mh_run_deinit(&run);
		return 1;
	}
	mh_baseline_apply(b, &run);
	for (size_t i = 0; i < MH_ARRAY_SIZE(apply_rows); i++) {
		const struct mh_case_result *c = &run.cases[i];
		CHECK(c->verdict == apply_rows[i].after, "apply row %zu (%s): verdict %s", i,
		      apply_rows[i].id, mh_verdict_name(c->verdict));
		CHECK(c->baseline_fixed == apply_rows[i].fixed, "apply row %zu: fixed", i);
		CHECK((c->baseline_reason == NULL && apply_rows[i].reason == NULL) ||
		          (c->baseline_reason != NULL && apply_rows[i].reason != NULL &&
		           strcmp(c->baseline_reason, apply_rows[i].reason) == 0),
		      "apply row %zu: baseline reason %s", i,
		      c->baseline_reason ? c->baseline_reason : "(null)");
	}
	/* applying twice changes nothing */
	mh_baseline_apply(b, &run);
	CHECK(run.cases[0].verdict == MH_V_XFAIL, "re-apply");
	mh_baseline_free(&b);

	/* --write-baseline lists FAIL and XFAIL; loading it back and applying it to a fresh run
	   turns every FAIL into XFAIL */
	snprintf(path, sizeof(path), "%s/written-baseline.json", tmpdir);
	CHECK(mh_baseline_write(&run, path, &err) == 0, "%s", err.msg);
	b = mh_baseline_load(path, &err);
	CHECK(b != NULL, "written baseline does not load: %s", err.msg);
	size_t nfail = 0;
	for (size_t i = 0; i < MH_ARRAY_SIZE(apply_rows); i++)
		nfail += apply_rows[i].before == MH_V_FAIL;
	CHECK(b != NULL && b->nentries == nfail, "written entries %zu, expected %zu",
	      b ? b->nentries : 0, nfail);
	for (size_t i = 0; b != NULL && i < b->nentries; i++) {
		CHECK(strcmp(b->entries[i].reason, "failed \\xff reason") == 0,
		      "entry %zu reason %s", i, b->entries[i].reason);
		CHECK(strncmp(b->entries[i].rfc, "RFC 5321", 8) == 0, "entry %zu rfc %s", i,
		      b->entries[i].rfc);
	}
	CHECK(b != NULL && b->nentries > 0 &&
	          strcmp(b->entries[0].target, "smtp://mx.example:25") == 0,
	      "target url");
	CHECK(b != NULL && b->nentries > 0 && strcmp(b->entries[0].rfc, "RFC 5321 9.9") == 0,
	      "rfc fallback");
	struct mh_run fresh;
	build_apply_run(&fresh);
	if (b != NULL)
		mh_baseline_apply(b, &fresh);
	for (size_t i = 0; i < fresh.ncases; i++)
		CHECK(fresh.cases[i].verdict != MH_V_FAIL, "fresh case %zu still FAIL", i);
	CHECK(mh_run_count(&fresh, NULL, -1, MH_V_XFAIL) == nfail, "fresh XFAIL count");
	mh_baseline_free(&b);
	mh_run_deinit(&fresh);
	mh_run_deinit(&run);

	/* an empty run writes an empty, loadable baseline */
	mh_run_init(&run);
	CHECK(mh_baseline_write(&run, path, &err) == 0, "%s", err.msg);
	b = mh_baseline_load(path, &err);
	CHECK(b != NULL && b->nentries == 0, "empty baseline");
	mh_baseline_free(&b);
	mh_run_deinit(&run);
	return failures ? 1 : 0;
}

/* A run with nothing in it still produces valid documents. */
static void test_empty(const char *outdir)
{
	struct mh_run run;
	mh_run_init(&run);
	char path[4096];
	struct mh_error err;
	mh_error_init(&err);
	snprintf(path, sizeof(path), "%s/report-empty.json", outdir);
	CHECK(mh_report_json_write(&run, path, 0, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/junit-empty.xml", outdir);
	CHECK(mh_report_junit_write(&run, path, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/no-such-dir/report.json", outdir);
	CHECK(mh_report_json_write(&run, path, 0, &err) == -1 && err.set,
	      "write into a missing directory");
	mh_run_deinit(&run);
}

static void test_helpers(void)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
	    {"RFC 5321 4.1.1.3", "RFC 5321"},
	    {"rfc3501", "RFC 3501"},
	    {"RFC-9051 6.2", "RFC 9051"},
	    {NULL, "none"},
	    {"", "none"},
	    {"  ", "none"},
	    {"draft-ietf-x 3", "draft-ietf-x"},
	    {"RFC", "RFC"},
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		char out[80];
		mh_report_rfc_document(rows[i].in, out, sizeof(out));
		CHECK(strcmp(out, rows[i].out) == 0, "rfc row %zu: %s", i, out);
	}
	static const struct {
		const char *in, *out;
	} utf[] = {
	    {"plain", "plain"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"\xff", "\\xff"},
	    {"\xc3", "\\xc3"},
	    {"\xe2\x82", "\\xe2\\x82"},
	    {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
	    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
	    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},
	    {"\xc1\xbf", "\\xc1\\xbf"},
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(utf); i++) {
		char *o = mh_report_json_utf8(utf[i].in);
		CHECK(strcmp(o, utf[i].out) == 0, "utf8 row %zu: %s", i, o);
		free(o);
	}
	CHECK(mh_report_json_utf8(NULL) == NULL, "utf8 NULL");
	CHECK(mh_report_coverage_percent(1, 3) == 33.3, "percent 1/3");
	CHECK(mh_report_coverage_percent(2, 3) == 66.7, "percent 2/3");
	CHECK(mh_report_coverage_percent(0, 0) == 0.0, "percent 0/0");
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "realspec") == 0) {
		mkdir_p(argv[3]);
		return test_real_spec(argv[2], argv[3]);
	}
	if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "baseline") != 0)) {
		fprintf(
		    stderr,
		    "usage: test_report write OUTDIR | baseline TMPDIR | realspec SPEC OUTDIR\n");
		return 2;
	}
	mkdir_p(argv[2]);
	if (strcmp(argv[1], "baseline") == 0)
		return test_baseline(argv[2]);
	char stale[4096];
	snprintf(stale, sizeof(stale), "%s/report-realspec.json", argv[2]);
	unlink(stale); /* rewritten by the realspec test, which runs after this one */

	for (size_t i = 0; i < sizeof(all_bytes); i++)
		all_bytes[i] = (unsigned char)i;
	big_blob = mh_malloc(big_blob_len);
	for (size_t i = 0; i < big_blob_len; i++)
		big_blob[i] = (unsigned char)((i * 7919u) >> 3);

	test_helpers();
	struct mh_run run;
	build_run(&run);
	struct mh_error err;
	mh_error_init(&err);
	struct mh_baseline *b =
	    mh_baseline_load_buf(baseline_text, strlen(baseline_text), "inline", &err);
	CHECK(b != NULL, "%s", err.msg);
	mh_baseline_apply(b, &run);
	mh_baseline_free(&b);

	test_json(&run, argv[2]);
	test_junit(&run, argv[2]);
	test_console(&run, argv[2]);
	test_empty(argv[2]);
	mh_run_deinit(&run);
	free(big_blob);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}

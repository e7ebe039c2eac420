/* test_matrix.c: the coverage matrix definition (rows, core and extension cells) on the shipped
   specs with a synthetic run, the `spec --matrix` view and `compare` on synthetic reports (exact
   text and Markdown), the report reader, and the profile rules.

   test_matrix definition SPECDIR OUTDIR   shipped specs; writes OUTDIR/matrix-smtp.json
   test_matrix view                        the view of a hand-made spec, exact output
   test_matrix compare OUTDIR              compare of two synthetic reports, exact output;
                                           writes OUTDIR/postfix.json and OUTDIR/exim.json
   test_matrix profile                     profile names, --profile checks, case selection
   test_matrix reader                      the report reader's errors */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "matrix.h"
#include "profile.h"
#include "report.h"
#include "report_read.h"
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

/* Prints both texts when they differ, with the first differing line. */
static void check_text(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	failures++;
	size_t line = 1, i = 0;
	while (got[i] != '\0' && got[i] == want[i]) {
		line += got[i] == '\n';
		i++;
	}
	fprintf(stderr, "%s: output differs at line %zu\n--- got:\n%s--- want:\n%s---\n", what,
	        line, got, want);
}

static struct mh_target_info *add_target(struct mh_run *run, const char *url, const char *proto,
                                         const char *greeting, const struct mh_spec *spec)
{
	run->targets = mh_realloc(run->targets, (run->ntargets + 1) * sizeof(*run->targets));
	struct mh_target_info *t = &run->targets[run->ntargets++];
	memset(t, 0, sizeof(*t));
	t->url = mh_strdup(url);
	t->proto = mh_strdup(proto);
	t->host = mh_strdup("127.0.0.1");
	t->port = 25;
	t->tls = mh_strdup("none");
	t->greeting = mh_strdup(greeting);
	t->spec = spec;
	return t;
}

static struct mh_case_result *add_case(struct mh_run *run, const char *id, const char *proto,
                                       int target, enum mh_verdict v, const char *rfc,
                                       enum mh_level level)
{
	run->cases = mh_realloc(run->cases, (run->ncases + 1) * sizeof(*run->cases));
	struct mh_case_result *c = &run->cases[run->ncases++];
	memset(c, 0, sizeof(*c));
	c->id = mh_strdup(id);
	c->title = mh_strdup(id);
	c->rfc = mh_strdup(rfc);
	c->level = level;
	c->proto = mh_strdup(proto);
	c->file = mh_strdup("scripts/test.lua");
	c->target = target;
	c->verdict = v;
	c->reason = v == MH_V_PASS ? NULL : mh_strdup("reason");
	if (v == MH_V_XFAIL)
		c->baseline_reason = mh_strdup("known deviation");
	c->start_wall_ms = 1795000000000LL;
	c->duration_ms = 3;
	return c;
}

static void init_run(struct mh_run *run, const char *profile)
{
	mh_run_init(run);
	run->tool_version = mh_strdup("0.1.0");
	run->start_wall_ms = 1795000000000LL;
	run->end_wall_ms = run->start_wall_ms + 10;
	run->profile = mh_strdup(profile);
}

/* ---- definition: the shipped specs ---- */

static const char *excluded_want(enum mh_proto_id p)
{
	return p == MH_PROTO_SMTP ? "rejected" : "";
}

static void in_part(const struct mh_spec *s, const char *cmd, enum mh_matrix_part want)
{
	int k = mh_spec_command_find(s, cmd);
	CHECK(k >= 0 && mh_matrix_column(s, k) == want, "%s %s: part %d, want %d",
	      mh_proto_name(s->proto), cmd, k >= 0 ? (int)mh_matrix_column(s, k) : -1, (int)want);
}

static int test_definition(const char *specdir, const char *outdir)
{
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.json", specdir,
		         mh_proto_name((enum mh_proto_id)p));
		struct mh_error err;
		mh_error_init(&err);
		struct mh_spec *s = mh_spec_load(path, &err);
		CHECK(s != NULL, "%s", err.msg);
		if (s == NULL)
			continue;

		/* rows: command states minus the excluded ones; which are excluded is pinned */
		struct mh_buf excl;
		mh_buf_init(&excl);
		size_t rows = 0, core_cols = 0, ext_cols = 0, core_allowed = 0, ext_allowed = 0;
		for (size_t st = 0; st < s->nstates; st++) {
			bool cmd_state = s->states[st].input == MH_INPUT_COMMAND;
			CHECK(mh_matrix_is_row(s, (int)st) ==
			          (cmd_state && !s->states[st].matrix_excluded),
			      "row %s", s->states[st].name);
			if (cmd_state && s->states[st].matrix_excluded)
				mh_buf_printf(&excl, "%s%s", excl.len ? "," : "",
				              s->states[st].name);
			rows += mh_matrix_is_row(s, (int)st);
		}
		check_text("excluded states", mh_buf_cstr(&excl), excluded_want(s->proto));
		mh_buf_deinit(&excl);
		for (size_t k = 0; k < s->ncommands; k++) {
			const struct mh_spec_command *c = &s->commands[k];
			if (c->pseudo)
				continue;
			if (c->capability != NULL)
				ext_cols++;
			else
				core_cols++;
			for (size_t st = 0; st < s->nstates; st++)
				if (mh_matrix_is_row(s, (int)st) &&
				    mh_spec_rule_for(s, (int)k, (int)st) != NULL)
					*(c->capability != NULL ? &ext_allowed : &core_allowed) +=
					    1;
		}
		struct mh_matrix_totals t;
		mh_matrix_totals(s, &t);
		CHECK(t.rows == rows && t.core_columns == core_cols &&
		          t.extension_columns == ext_cols,
		      "%s: rows %zu/%zu core %zu/%zu ext %zu/%zu", path, t.rows, rows,
		      t.core_columns, core_cols, t.extension_columns, ext_cols);
		CHECK(t.core.total == rows * core_cols && t.extension.total == rows * ext_cols,
		      "%s totals", path);
		CHECK(t.core.allowed_total == core_allowed &&
		          t.extension.allowed_total == ext_allowed,
		      "%s allowed", path);
		CHECK(t.core.total > 0 && t.extension.total > 0, "%s: empty part", path);
		printf("%s: rows %zu; core %zu commands, %zu cells (%zu allowed); extensions %zu "
		       "commands, %zu cells (%zu allowed)\n",
		       mh_proto_name(s->proto), rows, core_cols, t.core.total, core_allowed,
		       ext_cols, t.extension.total, ext_allowed);

		/* commands whose part is stable whatever the suites add */
		if (s->proto == MH_PROTO_SMTP) {
			in_part(s, "EHLO", MH_MATRIX_CORE);
			in_part(s, "RCPT", MH_MATRIX_CORE);
			in_part(s, "STARTTLS", MH_MATRIX_EXTENSION);
			in_part(s, "AUTH", MH_MATRIX_EXTENSION);
			in_part(s, "BDAT", MH_MATRIX_EXTENSION);
			in_part(s, "@greeting", MH_MATRIX_OUT);
			CHECK(mh_matrix_is_row(s, mh_spec_state_find(s, "bdat")),
			      "bdat stays a row");
		} else if (s->proto == MH_PROTO_IMAP) {
			in_part(s, "NOOP", MH_MATRIX_CORE);
			in_part(s, "UID", MH_MATRIX_CORE);
			in_part(s, "IDLE", MH_MATRIX_EXTENSION);
			in_part(s, "@continuation", MH_MATRIX_OUT);
		} else {
			in_part(s, "STAT", MH_MATRIX_CORE);
			in_part(s, "UIDL", MH_MATRIX_EXTENSION);
			in_part(s, "@unknown", MH_MATRIX_OUT);
		}

		/* a synthetic run: case "all" hits every cell of every command state (also the
		   excluded ones) and every pseudo cell; case "allowed" only the allowed matrix
		   cells */
		struct mh_run run;
		init_run(&run, NULL);
		add_target(&run, "x://127.0.0.1:1", mh_proto_name(s->proto), NULL, s);
		add_case(&run, "all", mh_proto_name(s->proto), 0, MH_V_PASS, "RFC 1 1",
		         MH_LEVEL_MUST);
		add_case(&run, "allowed", mh_proto_name(s->proto), 0, MH_V_PASS, "RFC 1 1",
		         MH_LEVEL_MUST);
		struct mh_case_result *all = &run.cases[0], *allowed = &run.cases[1];
		for (size_t st = 0; st < s->nstates; st++)
			for (size_t k = 0; k < s->ncommands; k++)
				if (s->states[st].input == MH_INPUT_COMMAND ||
				    mh_spec_rule_for(s, (int)k, (int)st) != NULL)
					mh_case_add_cell(all, (int)st, (int)k);
		for (size_t st = 0; st < s->nstates; st++)
			for (size_t k = 0; k < s->ncommands; k++)
				if (mh_matrix_cell(s, (int)st, (int)k) != MH_MATRIX_OUT &&
				    mh_spec_rule_for(s, (int)k, (int)st) != NULL)
					mh_case_add_cell(allowed, (int)st, (int)k);
		struct mh_report_coverage cov;
		CHECK(mh_report_coverage(&run, mh_proto_name(s->proto), &cov) == 0, "coverage");
		CHECK(cov.matrix.core.exercised == t.core.total &&
		          cov.matrix.extension.exercised == t.extension.total,
		      "every cell exercised: core %zu/%zu ext %zu/%zu", cov.matrix.core.exercised,
		      t.core.total, cov.matrix.extension.exercised, t.extension.total);
		CHECK(cov.total == t.core.total + t.extension.total && cov.exercised == cov.total &&
		          cov.allowed_total == core_allowed + ext_allowed &&
		          cov.allowed_exercised == cov.allowed_total,
		      "top-level counts are core + extension");
		size_t out_cells = 0;
		for (size_t i = 0; i < cov.ncells; i++) {
			const struct mh_report_cell *c = &cov.cells[i];
			CHECK(c->part == mh_matrix_cell(s, c->state, c->cmd) &&
			          c->in_matrix == (c->part != MH_MATRIX_OUT),
			      "cell part");
			out_cells += c->part == MH_MATRIX_OUT;
			if (s->states[c->state].matrix_excluded)
				CHECK(!c->in_matrix,
				      "a cell of an excluded state is outside the matrix");
			CHECK(c->ncases == (c->part != MH_MATRIX_OUT && c->allowed ? 2u : 1u),
			      "cell %s/%s: %zu cases", s->states[c->state].name,
			      s->commands[c->cmd].name, c->ncases);
		}
		CHECK(out_cells > 0, "pseudo and excluded cells are listed");
		mh_report_coverage_deinit(&cov);

		/* the JSON: core/extensions objects, excluded_states, cell "matrix" */
		char *text = mh_report_json_string(&run, 0, &err);
		CHECK(text != NULL, "%s", err.msg);
		json_error_t je;
		json_t *doc = text != NULL ? json_loads(text, 0, &je) : NULL;
		json_t *pc =
		    json_object_get(json_object_get(doc, "coverage"), mh_proto_name(s->proto));
		json_t *core = json_object_get(pc, "core"),
		       *ext = json_object_get(pc, "extensions");
		CHECK((size_t)json_integer_value(json_object_get(core, "total")) == t.core.total &&
		          (size_t)json_integer_value(json_object_get(ext, "total")) ==
		              t.extension.total &&
		          json_array_size(json_object_get(core, "commands")) == core_cols &&
		          json_array_size(json_object_get(ext, "commands")) == ext_cols &&
		          json_real_value(json_object_get(core, "percent")) == 100.0 &&
		          json_array_size(json_object_get(pc, "states")) == rows,
		      "JSON coverage of %s", path);
		json_t *ex = json_object_get(pc, "excluded_states");
		CHECK(json_array_size(ex) == (s->proto == MH_PROTO_SMTP ? 1u : 0u) &&
		          (s->proto != MH_PROTO_SMTP ||
		           strcmp(json_string_value(json_array_get(ex, 0)), "rejected") == 0),
		      "excluded_states");
		size_t i;
		json_t *cell;
		json_array_foreach(json_object_get(pc, "cells"), i, cell)
		{
			json_t *m = json_object_get(cell, "matrix");
			CHECK(json_is_true(json_object_get(cell, "in_matrix")) ? json_is_string(m)
			                                                       : json_is_null(m),
			      "cell %zu: matrix and in_matrix disagree", i);
		}
		json_decref(doc);
		free(text);

		/* the SMTP report is the input of the CLI test (spec smtp --matrix --report) */
		if (s->proto == MH_PROTO_SMTP) {
			struct mh_run r2;
			init_run(&r2, "mx");
			add_target(&r2, "smtp://127.0.0.1:25", "smtp", "220 mx ESMTP Postfix", s);
			add_case(&r2, "smtp.ehlo.basic", "smtp", 0, MH_V_PASS, "RFC 5321 4.1.1.1",
			         MH_LEVEL_MUST);
			add_case(&r2, "smtp.rcpt.before-mail", "smtp", 0, MH_V_PASS, "RFC 5321 3.3",
			         MH_LEVEL_MUST);
			struct mh_case_result *a = &r2.cases[0], *b = &r2.cases[1];
			/* a check and a transcript: check_report.py mutates them */
			mh_case_add_check(a, MH_CHECK_SPEC, MH_V_PASS, "EHLO gets 250", "EHLO x",
			                  "250 mx", "250", "RFC 5321 4.1.1.1", MH_LEVEL_MUST);
			mh_case_add_transcript(a, 1, 'C', "EHLO x\r\n", 8, 1);
			mh_case_add_transcript(a, 1, 'S', "250 \0x\r\n", 8,
			                       2); /* \u0000 in the JSON */
			int init = mh_spec_state_find(s, "initial"),
			    ready = mh_spec_state_find(s, "ready");
			int rej = mh_spec_state_find(s, "rejected");
			mh_case_add_cell(a, init, mh_spec_command_find(s, "EHLO"));
			mh_case_add_cell(b, init, mh_spec_command_find(s, "EHLO"));
			mh_case_add_cell(b, ready, mh_spec_command_find(s, "RCPT"));
			mh_case_add_cell(b, ready, mh_spec_command_find(s, "STARTTLS"));
			mh_case_add_cell(b, rej, mh_spec_command_find(s, "QUIT"));
			snprintf(path, sizeof(path), "%s/matrix-smtp.json", outdir);
			CHECK(mh_report_json_write(&r2, path, 0, &err) == 0, "%s", err.msg);
			mh_run_deinit(&r2);
		}
		mh_run_deinit(&run);
		mh_spec_free(&s);
	}
	return failures ? 1 : 0;
}

/* ---- the view on a hand-made spec ----
   states: connected(none) greeted(command) mail(command) refused(command, matrix false)
   commands: @greeting, HELO (greeted, mail), MAIL (greeted), STARTTLS [STARTTLS] (greeted) */

enum { S_CONN, S_GREETED, S_MAIL, S_REFUSED, S_COUNT };
static int st_greet[] = {S_CONN}, st_helo[] = {S_GREETED, S_MAIL}, st_mail[] = {S_GREETED},
           st_tls[] = {S_GREETED};
static struct mh_spec_rule r_greet = {.states = st_greet, .nstates = 1},
                           r_helo = {.states = st_helo, .nstates = 2},
                           r_mail = {.states = st_mail, .nstates = 1},
                           r_tls = {.states = st_tls, .nstates = 1};
static struct mh_spec_state v_states[S_COUNT] = {
    [S_CONN] = {.name = "connected", .input = MH_INPUT_NONE},
    [S_GREETED] = {.name = "greeted", .input = MH_INPUT_COMMAND},
    [S_MAIL] = {.name = "mail", .input = MH_INPUT_COMMAND},
    [S_REFUSED] = {.name = "refused", .input = MH_INPUT_COMMAND, .matrix_excluded = true},
};
static struct mh_spec_command v_cmds[] = {
    {.name = "@greeting", .pseudo = true, .rules = &r_greet, .nrules = 1},
    {.name = "HELO", .rules = &r_helo, .nrules = 1},
    {.name = "MAIL", .rules = &r_mail, .nrules = 1},
    {.name = "STARTTLS", .capability = "STARTTLS", .rules = &r_tls, .nrules = 1},
};
static struct mh_spec v_spec = {
    .proto = MH_PROTO_SMTP,
    .version = 1,
    .title = "view test",
    .path = "test/smtp.json",
    .states = v_states,
    .nstates = S_COUNT,
    .initial = S_CONN,
    .closed = S_CONN,
    .commands = v_cmds,
    .ncommands = MH_ARRAY_SIZE(v_cmds),
};

static const char view_plain[] =
    "smtp state x command matrix: test/smtp.json\n"
    "rows: commands; columns: the states that read commands (not in the matrix: refused)\n"
    "A = allowed there (its permitted replies are checked), R = refused there (must get the\n"
    "error the RFC names)\n"
    "\n"
    "core commands          greeted  mail\n"
    "  HELO                 A        A\n"
    "  MAIL                 A        R\n"
    "\n"
    "extension commands     greeted  mail\n"
    "  STARTTLS (STARTTLS)  A        R\n"
    "\n"
    "core:       4 cells (2 commands x 2 states): 3 allowed, 1 refused\n"
    "extensions: 2 cells (1 command x 2 states): 1 allowed, 1 refused\n";

static const char view_cov[] =
    "smtp state x command matrix: test/smtp.json\n"
    "rows: commands; columns: the states that read commands (not in the matrix: refused)\n"
    "A = allowed there (its permitted replies are checked), R = refused there (must get the\n"
    "error the RFC names); the number counts the cases that covered the cell, '.' = not "
    "covered\n"
    "coverage from: a.json, b.json\n"
    "\n"
    "core commands          greeted  mail\n"
    "  HELO                 A 2      A .\n"
    "  MAIL                 A .      R 1\n"
    "\n"
    "extension commands     greeted  mail\n"
    "  STARTTLS (STARTTLS)  A .      R .\n"
    "\n"
    "part       state    command   allowed  cases\n"
    "core       greeted  HELO      yes      c.one, c.two\n"
    "core       greeted  MAIL      yes      -\n"
    "core       mail     HELO      yes      -\n"
    "core       mail     MAIL      no       c.\\x1b\n"
    "extension  greeted  STARTTLS  yes      -\n"
    "extension  mail     STARTTLS  no       -\n"
    "\n"
    "core:       2/4 cells covered (50.0%); allowed 1/3, refused 1/1\n"
    "extensions: 0/2 cells covered (0.0%); allowed 0/1, refused 0/1\n"
    "note: 2 covered cell(s) of the reports name a state or command this spec lacks "
    "(ignored)\n";

static const char view_md[] =
    "## smtp state x command matrix\n"
    "\n"
    "Spec `test/smtp.json`. Rows are commands, columns the states that read commands (not in "
    "the matrix: `refused`). *allowed*: the command is permitted there and its replies are "
    "checked; *refused*: it must get the error the RFC names. Coverage from `a.json`, "
    "`b.json`.\n"
    "\n"
    "### Core commands: 2/4 cells covered (50.0%); allowed 1/3, refused 1/1\n"
    "\n"
    "| command | `greeted` | `mail` |\n"
    "|---|---|---|\n"
    "| `HELO` | allowed: `c.one`, `c.two` | allowed: **not covered** |\n"
    "| `MAIL` | allowed: **not covered** | refused: `c.\\x1b` |\n"
    "\n"
    "### Extension commands: 0/2 cells covered (0.0%); allowed 0/1, refused 0/1\n"
    "\n"
    "| command | `greeted` | `mail` |\n"
    "|---|---|---|\n"
    "| `STARTTLS` (STARTTLS) | allowed: **not covered** | refused: **not covered** |\n"
    "\n"
    "2 covered cell(s) of the reports name a state or command this spec lacks (ignored).\n";

static int test_view(void)
{
	struct mh_matrix_view v;
	struct mh_buf out;
	mh_buf_init(&out);
	mh_matrix_view_init(&v, &v_spec);
	mh_matrix_view_render(&v, false, &out);
	check_text("view without reports", mh_buf_cstr(&out), view_plain);

	const char *one[] = {"c.one"}, *two[] = {"c.two", "c.one"}, *esc[] = {"c.\x1b"};
	mh_matrix_view_add_source(&v, "a.json");
	mh_matrix_view_add_source(&v, "b.json");
	CHECK(mh_matrix_view_add(&v, "greeted", "HELO", one, 1) == 0, "add");
	CHECK(mh_matrix_view_add(&v, "greeted", "helo", two, 2) == 0, "add, merged, any case");
	CHECK(mh_matrix_view_add(&v, "mail", "MAIL", esc, 1) == 0, "add negative cell");
	CHECK(mh_matrix_view_add(&v, "refused", "HELO", one, 1) == 0, "excluded state");
	CHECK(mh_matrix_view_add(&v, "connected", "@greeting", one, 1) == 0, "pseudo");
	CHECK(mh_matrix_view_add(&v, "nowhere", "HELO", one, 1) == -1, "unknown state");
	CHECK(mh_matrix_view_add(&v, "greeted", "XYZZY", one, 1) == -1, "unknown command");
	mh_buf_reset(&out);
	mh_matrix_view_render(&v, false, &out);
	check_text("view with reports", mh_buf_cstr(&out), view_cov);
	mh_buf_reset(&out);
	mh_matrix_view_render(&v, true, &out);
	check_text("view markdown", mh_buf_cstr(&out), view_md);
	struct mh_matrix_totals t;
	mh_matrix_view_totals(&v, &t);
	CHECK(t.core.exercised == 2 && t.core.allowed_exercised == 1 && t.extension.exercised == 0,
	      "view totals");
	mh_matrix_view_deinit(&v);
	mh_buf_deinit(&out);
	return failures ? 1 : 0;
}

/* ---- compare ---- */

static char *write_report(struct mh_run *run, const char *outdir, const char *name)
{
	struct mh_error err;
	mh_error_init(&err);
	char *text = mh_report_json_string(run, 0, &err);
	CHECK(text != NULL, "%s", err.msg);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if (text != NULL)
		CHECK(mh_write_file_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
	return text;
}

static const char cmp_text[] =
    "SMTP: 4 cases x 2 servers\n"
    "case               Postfix  Exim   level   RFC\n"
    "smtp.auth.plain    SKIP     -      MAY     RFC 4954 4\n"
    "smtp.data.no-rcpt  -        ERROR  MUST    RFC 5321 3.3\n"
    "smtp.ehlo.basic    PASS     PASS   MUST    RFC 5321 4.1.1.1\n"
    "smtp.vrfy.reply    FAIL     PASS   SHOULD  RFC 5321 3.5.3\n"
    "PASS               1        2\n"
    "FAIL               1        0\n"
    "SKIP               1        0\n"
    "XFAIL              0        0\n"
    "ERROR              0        1\n"
    "cases              3        3\n"
    "\n"
    "columns:\n"
    "  Postfix  smtp://127.0.0.1:10025?starttls in postfix.json, profile mx,rev1\n"
    "  Exim     smtp://mx2.example:25 in exim.json, profile mx\n"
    "\n"
    "IMAP: 1 case x 1 server\n"
    "case       Dovecot  level  RFC\n"
    "imap.noop  XFAIL    MUST   RFC 3501 6.1.2\n"
    "PASS       0\n"
    "FAIL       0\n"
    "SKIP       0\n"
    "XFAIL      1\n"
    "ERROR      0\n"
    "cases      1\n"
    "\n"
    "columns:\n"
    "  Dovecot  imap://127.0.0.1:10143 in postfix.json, profile mx,rev1\n";

static const char cmp_md_diff[] =
    "## SMTP: 4 cases x 2 servers, 3 differ\n"
    "\n"
    "| case | Postfix | Exim | level | RFC |\n"
    "|---|:---:|:---:|---|---|\n"
    "| `smtp.auth.plain` | SKIP | - | MAY | RFC 4954 4 |\n"
    "| `smtp.data.no-rcpt` | - | ERROR | MUST | RFC 5321 3.3 |\n"
    "| `smtp.vrfy.reply` | FAIL | PASS | SHOULD | RFC 5321 3.5.3 |\n"
    "| **PASS** | 1 | 2 | | |\n"
    "| **FAIL** | 1 | 0 | | |\n"
    "| **SKIP** | 1 | 0 | | |\n"
    "| **XFAIL** | 0 | 0 | | |\n"
    "| **ERROR** | 0 | 1 | | |\n"
    "| **cases** | 3 | 3 | | |\n"
    "\n"
    "Columns:\n"
    "\n"
    "- **Postfix**: `smtp://127.0.0.1:10025?starttls` in `postfix.json`, profile mx,rev1\n"
    "- **Exim**: `smtp://mx2.example:25` in `exim.json`, profile mx\n"
    "\n"
    "## IMAP: 1 case x 1 server, 0 differ\n"
    "\n"
    "| case | Dovecot | level | RFC |\n"
    "|---|:---:|---|---|\n"
    "| **PASS** | 0 | | |\n"
    "| **FAIL** | 0 | | |\n"
    "| **SKIP** | 0 | | |\n"
    "| **XFAIL** | 1 | | |\n"
    "| **ERROR** | 0 | | |\n"
    "| **cases** | 1 | | |\n"
    "\n"
    "Columns:\n"
    "\n"
    "- **Dovecot**: `imap://127.0.0.1:10143` in `postfix.json`, profile mx,rev1\n";

/* Two runs of one server: the columns get the report's file name. */
static const char cmp_same[] =
    "SMTP: 1 case x 2 servers\n"
    "case             Exim [exim.json]  Exim [exim2.json]  level  RFC\n"
    "smtp.ehlo.basic  PASS              PASS               MUST   RFC 5321 4.1.1.1\n";

static int test_compare(const char *outdir)
{
	struct mh_run a, b;
	init_run(&a, "mx,rev1");
	add_target(&a, "smtp://127.0.0.1:10025?starttls", "smtp",
	           "220 mx.example ESMTP Postfix (Debian/GNU)\\r\\n", NULL);
	add_target(&a, "imap://127.0.0.1:10143", "imap",
	           "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot (Debian) ready.\\r\\n", NULL);
	add_case(&a, "smtp.vrfy.reply", "smtp", 0, MH_V_FAIL, "RFC 5321 3.5.3", MH_LEVEL_SHOULD);
	add_case(&a, "smtp.ehlo.basic", "smtp", 0, MH_V_PASS, "RFC 5321 4.1.1.1", MH_LEVEL_MUST);
	add_case(&a, "smtp.auth.plain", "smtp", 0, MH_V_SKIP, "RFC 4954 4", MH_LEVEL_MAY);
	add_case(&a, "imap.noop", "imap", 1, MH_V_XFAIL, "RFC 3501 6.1.2", MH_LEVEL_MUST);
	init_run(&b, "mx");
	add_target(&b, "smtp://mx2.example:25", "smtp",
	           "220 mx2.example ESMTP Exim 4.96 Mon, 01 Jan 2024\\r\\n", NULL);
	add_case(&b, "smtp.ehlo.basic", "smtp", 0, MH_V_PASS, "RFC 5321 4.1.1.1", MH_LEVEL_MUST);
	add_case(&b, "smtp.vrfy.reply", "smtp", 0, MH_V_PASS, "RFC 5321 3.5.3", MH_LEVEL_SHOULD);
	add_case(&b, "smtp.data.no-rcpt", "smtp", 0, MH_V_ERROR, "RFC 5321 3.3", MH_LEVEL_MUST);
	char *ta = write_report(&a, outdir, "postfix.json");
	char *tb = write_report(&b, outdir, "exim.json");

	struct mh_report_read r[3];
	struct mh_error err;
	mh_error_init(&err);
	CHECK(ta != NULL && mh_report_read_buf(ta, strlen(ta), "postfix.json", &r[0], &err) == 0,
	      "%s", err.msg);
	CHECK(tb != NULL && mh_report_read_buf(tb, strlen(tb), "exim.json", &r[1], &err) == 0, "%s",
	      err.msg);
	CHECK(r[0].ntargets == 2 && r[0].ncases == 4 && r[0].cases[3].target == 1 &&
	          strcmp(r[0].profile, "mx,rev1") == 0,
	      "reader");

	struct mh_buf out;
	mh_buf_init(&out);
	struct mh_compare_opts o = {false, false};
	mh_compare_render(r, 2, &o, &out);
	check_text("compare text", mh_buf_cstr(&out), cmp_text);
	mh_buf_reset(&out);
	o = (struct mh_compare_opts){true, true};
	mh_compare_render(r, 2, &o, &out);
	check_text("compare markdown --only-differences", mh_buf_cstr(&out), cmp_md_diff);

	/* the same server twice: names made unique with the file name */
	CHECK(mh_report_read_buf(tb, strlen(tb), "dir/exim2.json", &r[2], &err) == 0, "%s",
	      err.msg);
	mh_buf_reset(&out);
	o = (struct mh_compare_opts){false, false};
	struct mh_report_read two[2] = {r[1], r[2]};
	/* keep only smtp.ehlo.basic, so the expected text stays short */
	two[0].ncases = two[1].ncases = 1;
	mh_compare_render(two, 2, &o, &out);
	const char *cut = strstr(mh_buf_cstr(&out), "\nPASS ");
	size_t keep = cut != NULL ? (size_t)(cut - mh_buf_cstr(&out)) + 1 : out.len;
	char *head = mh_strndup(mh_buf_cstr(&out), keep);
	check_text("compare, one server twice", head, cmp_same);
	free(head);

	CHECK(strcmp(mh_compare_product("+OK Dovecot (Debian) ready."), "Dovecot") == 0, "dovecot");
	CHECK(mh_compare_product("220 host ESMTP OpenSMTPD") != NULL &&
	          strcmp(mh_compare_product("220 host ESMTP OpenSMTPD"), "OpenSMTPD") == 0,
	      "opensmtpd");
	CHECK(mh_compare_product("220 postfixed.example ESMTP") == NULL, "whole words only");
	CHECK(mh_compare_product(NULL) == NULL, "no greeting");

	mh_buf_deinit(&out);
	for (int i = 0; i < 3; i++)
		mh_report_read_deinit(&r[i]);
	free(ta);
	free(tb);
	mh_run_deinit(&a);
	mh_run_deinit(&b);
	return failures ? 1 : 0;
}

/* ---- the report reader's errors ---- */

static int test_reader(void)
{
	static const struct {
		const char *json, *err;
	} rows[] = {
	    {"{", "bad.json:1:"},
	    {"[]", "report_version: missing"},
	    {"{\"report_version\": 2}", "report_version: not 1"},
	    {"{\"report_version\": 1, \"report_version\": 1}", "duplicate"},
	    {"{\"report_version\": 1, \"profile\": null}", "targets: not an array"},
	    {"{\"report_version\": 1, \"targets\": [{\"url\": \"x\"}], \"cases\": []}",
	     "targets[0].protocol: missing"},
	    {"{\"report_version\": 1, \"targets\": [], \"cases\": [{\"id\": \"a\", \"verdict\": "
	     "\"OK\"}]}",
	     "cases[0]: verdict is not"},
	    {"{\"report_version\": 1, \"targets\": [], \"cases\": [{\"id\": \"a\", \"verdict\": "
	     "\"PASS\", \"target\": 3}]}",
	     "cases[0]: target is not an index"},
	    {"{\"report_version\": 1, \"targets\": [], \"cases\": [], \"coverage\": {\"smtp\": "
	     "{\"cells\": [{\"state\": \"a\", \"command\": \"B\", \"cases\": [1]}]}}}",
	     "coverage.smtp.cells[0]: cases holds a non-string"},
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		struct mh_report_read r;
		struct mh_error err;
		mh_error_init(&err);
		int rc =
		    mh_report_read_buf(rows[i].json, strlen(rows[i].json), "bad.json", &r, &err);
		CHECK(rc == -1 && strstr(err.msg, rows[i].err) != NULL, "row %zu: %s", i, err.msg);
		mh_report_read_deinit(&r);
	}
	struct mh_report_read r;
	struct mh_error err;
	mh_error_init(&err);
	CHECK(mh_report_read_file("/nonexistent/x.json", &r, &err) == -1 &&
	          strstr(err.msg, "/nonexistent/x.json") != NULL,
	      "missing file: %s", err.msg);
	mh_report_read_deinit(&r);
	return failures ? 1 : 0;
}

/* ---- profiles ---- */

static int test_profile(void)
{
	bool smtp_only[MH_PROTO_COUNT] = {true, false, false};
	bool all[MH_PROTO_COUNT] = {true, true, true};
	bool pop_only[MH_PROTO_COUNT] = {false, false, true};
	const struct {
		const char *opt;
		const bool *protos;
		const char *err; /* NULL = valid */
	} rows[] = {
	    {NULL, smtp_only, NULL},
	    {"mx", smtp_only, NULL},
	    {"submission", smtp_only, NULL},
	    {"submission,rev2", all, NULL},
	    {"rev2", smtp_only,
	     "profile 'rev2' is for imap, but no target speaks imap (smtp: mx, "
	     "submission)"},
	    {"bogus", all,
	     "unknown profile 'bogus' (smtp: mx, submission; imap: rev1, rev2; pop3: "
	     "none)"},
	    {"mx,submission", smtp_only, "two smtp profiles"},
	    {"", smtp_only, "unknown profile ''"},
	    {"mx,", smtp_only, "unknown profile ''"},
	    {"mx", pop_only, "profile 'mx' is for smtp, but no target speaks smtp (pop3: none)"},
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		struct mh_error err;
		mh_error_init(&err);
		int rc = mh_profile_check(rows[i].opt, rows[i].protos, &err);
		if (rows[i].err == NULL)
			CHECK(rc == 0, "row %zu: %s", i, err.msg);
		else
			CHECK(rc == -1 && strstr(err.msg, rows[i].err) != NULL, "row %zu: %s", i,
			      err.msg);
	}
	struct mh_error err;
	struct mh_target t;
	mh_error_init(&err);
	CHECK(mh_url_parse("smtp://127.0.0.1:25", &t, &err) == 0, "%s", err.msg);
	CHECK(strcmp(mh_profile_effective(NULL, &t), "mx") == 0, "smtp default mx");
	CHECK(strcmp(mh_profile_effective("rev2,submission", &t), "submission") == 0, "given");
	CHECK(strcmp(mh_profile_effective("rev2", &t), "mx") == 0, "other protocol's profile");
	CHECK(mh_url_parse("submission://127.0.0.1", &t, &err) == 0, "%s", err.msg);
	CHECK(strcmp(mh_profile_effective(NULL, &t), "submission") == 0, "submission scheme");
	CHECK(strcmp(mh_profile_effective("mx", &t), "mx") == 0, "--profile wins over the scheme");
	CHECK(mh_url_parse("imaps://127.0.0.1", &t, &err) == 0, "%s", err.msg);
	CHECK(strcmp(mh_profile_effective(NULL, &t), "rev1") == 0, "imap default rev1");
	CHECK(mh_url_parse("pop3://127.0.0.1", &t, &err) == 0, "%s", err.msg);
	CHECK(mh_profile_effective("mx", &t) == NULL, "pop3 has none");

	CHECK(mh_profile_case_runs(NULL, "mx") && mh_profile_case_runs(NULL, NULL), "no list");
	CHECK(mh_profile_case_runs("mx,submission", "submission"), "in list");
	CHECK(!mh_profile_case_runs("submission", "mx"), "not in list");
	CHECK(!mh_profile_case_runs("submission", NULL), "protocol without profiles");
	CHECK(mh_profile_check_case("mx,submission", MH_PROTO_SMTP, &err) == 0, "%s", err.msg);
	mh_error_init(&err);
	CHECK(mh_profile_check_case("rev2", MH_PROTO_SMTP, &err) == -1 &&
	          strcmp(err.msg, "unknown profile 'rev2' for smtp (mx, submission)") == 0,
	      "%s", err.msg);
	mh_error_init(&err);
	CHECK(mh_profile_check_case("mx", MH_PROTO_POP3, &err) == -1 &&
	          strcmp(err.msg, "unknown profile 'mx' for pop3 (none)") == 0,
	      "%s", err.msg);
	CHECK(mh_profile_proto("rev1") == MH_PROTO_IMAP && mh_profile_proto("x") == -1, "proto");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "definition") == 0)
		return test_definition(argv[2], argv[3]);
	if (argc >= 2 && strcmp(argv[1], "view") == 0)
		return test_view();
	if (argc >= 3 && strcmp(argv[1], "compare") == 0)
		return test_compare(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "profile") == 0)
		return test_profile();
	if (argc >= 2 && strcmp(argv[1], "reader") == 0)
		return test_reader();
	fprintf(stderr, "usage: test_matrix definition SPECDIR OUTDIR | view | compare OUTDIR | "
	                "profile | reader\n");
	return 2;
}

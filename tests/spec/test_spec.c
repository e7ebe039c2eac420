/* test_spec.c: unit tests of the spec loader, lookups, reply matching, lint and formatting, on the
   shipped specs/<proto>.json and on small broken specs. Table-driven; failing rows print their
   index. */
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tap.h"

#ifndef MH_SPECS_DIR
#error "MH_SPECS_DIR must point at specs/"
#endif

static struct mh_spec *specs[MH_PROTO_COUNT];

static void load_shipped(void)
{
	static const char *const files[MH_PROTO_COUNT] = {"smtp.json", "imap.json", "pop3.json"};
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		char path[1024];
		struct mh_error err;
		mh_error_init(&err);
		snprintf(path, sizeof(path), "%s/%s", MH_SPECS_DIR, files[p]);
		specs[p] = mh_spec_load(path, &err);
		if (!tap_ok(specs[p] != NULL, "load %s", path))
			tap_diag("%s", err.msg);
		else
			tap_ok(specs[p]->proto == (enum mh_proto_id)p, "%s declares protocol %s",
			       files[p], mh_proto_name((enum mh_proto_id)p));
	}
}

/* ---- command lookup: names, aliases (the product's old wrong names), case ---- */

struct find_row {
	enum mh_proto_id proto;
	const char *verb;
	const char *want; /* command name, or NULL = not found */
};

static const struct find_row find_rows[] = {
    {MH_PROTO_SMTP, "HELO", "HELO"},
    {MH_PROTO_SMTP, "helo", "HELO"},
    {MH_PROTO_SMTP, "HELLO", "HELO"},
    {MH_PROTO_SMTP, "hello", "HELO"},
    {MH_PROTO_SMTP, "EHELLO", "EHLO"},
    {MH_PROTO_SMTP, "VERFY", "VRFY"},
    {MH_PROTO_SMTP, "vrfy", "VRFY"},
    {MH_PROTO_SMTP, "SIZE", NULL}, /* an EHLO keyword and MAIL parameter, not a command */
    {MH_PROTO_SMTP, "@greeting", "@greeting"},
    {MH_PROTO_SMTP, "greeting", NULL},
    {MH_PROTO_SMTP, "@end-of-data", "@end-of-data"},
    {MH_PROTO_SMTP, "", NULL},
    {MH_PROTO_SMTP, "HEL", NULL},
    {MH_PROTO_SMTP, "HELOX", NULL},
    {MH_PROTO_IMAP, "IMAP_LOGIN", "LOGIN"},
    {MH_PROTO_IMAP, "login", "LOGIN"},
    {MH_PROTO_IMAP, "uid", "UID"},
    {MH_PROTO_IMAP, "@unknown", "@unknown"},
    {MH_PROTO_POP3, "LOGIN", "USER"},
    {MH_PROTO_POP3, "retr", "RETR"},
    {MH_PROTO_POP3, "SIZE", NULL},
};

static void test_find(void)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(find_rows); i++) {
		const struct find_row *r = &find_rows[i];
		int c = mh_spec_command_find(specs[r->proto], r->verb);
		const char *got = c >= 0 ? specs[r->proto]->commands[c].name : NULL;
		int ok = (got == NULL) == (r->want == NULL) &&
		         (got == NULL || strcmp(got, r->want) == 0);
		if (!tap_ok(ok, "find row %zu: %s %s", i, mh_proto_name(r->proto), r->verb))
			tap_diag("got %s, want %s", got ? got : "(none)",
			         r->want ? r->want : "(none)");
	}
	tap_ok(mh_spec_command_find(specs[MH_PROTO_SMTP], NULL) == -1, "find NULL verb");
}

/* ---- rule_for and outcome matching ---- */

enum via { VIA_RULE, VIA_DISALLOWED, VIA_ALWAYS, VIA_NONE };

struct judge_row {
	enum mh_proto_id proto;
	const char *cmd;
	const char *state;
	const char *status;  /* reply.status */
	enum via via;        /* which table must permit it (VIA_NONE = nothing does) */
	const char *next;    /* "same", "return" or a state name */
	const char *require; /* first require_untagged, or NULL */
};

static const struct judge_row judge_rows[] = {
    /* SMTP */
    {MH_PROTO_SMTP, "@greeting", "connected", "220", VIA_RULE, "initial", NULL},
    {MH_PROTO_SMTP, "@greeting", "connected", "554", VIA_RULE, "rejected", NULL},
    {MH_PROTO_SMTP, "@greeting", "connected", "421", VIA_ALWAYS, "closed", NULL},
    {MH_PROTO_SMTP, "@greeting", "connected", "250", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "EHLO", "initial", "250", VIA_RULE, "ready", NULL},
    {MH_PROTO_SMTP, "EHLO", "rcpt", "250", VIA_RULE, "ready", NULL}, /* resets the transaction */
    {MH_PROTO_SMTP, "EHLO", "ready", "502", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "EHLO", "ready", "503", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "EHLO", "rejected", "503", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "EHLO", "rejected", "250", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "HELO", "initial", "502", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "MAIL", "ready", "250", VIA_RULE, "mail", NULL},
    {MH_PROTO_SMTP, "MAIL", "ready", "555", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "MAIL", "mail", "503", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "RCPT", "ready", "503", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_SMTP, "RCPT", "ready", "250", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "RCPT", "ready", "550", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "RCPT", "initial", "503", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_SMTP, "RCPT", "mail", "250", VIA_RULE, "rcpt", NULL},
    {MH_PROTO_SMTP, "RCPT", "mail", "251", VIA_RULE, "rcpt", NULL},
    {MH_PROTO_SMTP, "RCPT", "rcpt", "550", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "RCPT", "rcpt", "354", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "RCPT", "mail", "421", VIA_ALWAYS, "closed", NULL},
    {MH_PROTO_SMTP, "DATA", "rcpt", "354", VIA_RULE, "data", NULL},
    {MH_PROTO_SMTP, "DATA", "rcpt", "552", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "DATA", "mail", "554", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_SMTP, "DATA", "mail", "503", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_SMTP, "DATA", "ready", "550", VIA_DISALLOWED, "same", NULL}, /* any 5yz, 3.3 */
    {MH_PROTO_SMTP, "DATA", "mail", "354", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "@end-of-data", "data", "250", VIA_RULE, "ready", NULL},
    {MH_PROTO_SMTP, "@end-of-data", "data", "451", VIA_RULE, "ready", NULL},
    {MH_PROTO_SMTP, "@end-of-data", "data", "354", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "BDAT", "rcpt", "250", VIA_RULE, "bdat", NULL},
    {MH_PROTO_SMTP, "BDAT", "bdat", "452", VIA_RULE, "same", NULL}, /* class 4xx */
    {MH_PROTO_SMTP, "RSET", "initial", "250", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "RSET", "rcpt", "250", VIA_RULE, "ready", NULL},
    {MH_PROTO_SMTP, "RSET", "rcpt", "550", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "VERFY", "initial", "252", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "VRFY", "initial", "503", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "NOOP", "mail", "250", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "QUIT", "rcpt", "221", VIA_RULE, "closed", NULL},
    {MH_PROTO_SMTP, "QUIT", "rejected", "221", VIA_RULE, "closed", NULL},
    {MH_PROTO_SMTP, "STARTTLS", "ready", "220", VIA_RULE, "initial", NULL},
    {MH_PROTO_SMTP, "STARTTLS", "ready", "454", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "AUTH", "ready", "334", VIA_RULE, "auth", NULL},
    {MH_PROTO_SMTP, "AUTH", "ready", "235", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "AUTH", "mail", "503", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_SMTP, "AUTH", "mail", "334", VIA_NONE, NULL, NULL},
    {MH_PROTO_SMTP, "@continuation", "auth", "334", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "@continuation", "auth", "235", VIA_RULE, "return", NULL},
    {MH_PROTO_SMTP, "@continuation", "auth", "501", VIA_RULE, "return", NULL},
    {MH_PROTO_SMTP, "@unknown", "ready", "500", VIA_RULE, "same", NULL},
    {MH_PROTO_SMTP, "@unknown", "ready", "250", VIA_NONE, NULL, NULL},
    /* IMAP */
    {MH_PROTO_IMAP, "@greeting", "connected", "OK", VIA_RULE, "not_authenticated", NULL},
    {MH_PROTO_IMAP, "@greeting", "connected", "PREAUTH", VIA_RULE, "authenticated", NULL},
    {MH_PROTO_IMAP, "@greeting", "connected", "BYE", VIA_RULE, "logout", NULL},
    {MH_PROTO_IMAP, "@greeting", "connected", "NO", VIA_NONE, NULL, NULL},
    {MH_PROTO_IMAP, "CAPABILITY", "selected", "OK", VIA_RULE, "same", "CAPABILITY"},
    {MH_PROTO_IMAP, "CAPABILITY", "selected", "NO", VIA_NONE, NULL, NULL},
    {MH_PROTO_IMAP, "LOGOUT", "selected", "OK", VIA_RULE, "logout", "BYE"},
    {MH_PROTO_IMAP, "IMAP_LOGIN", "not_authenticated", "OK", VIA_RULE, "authenticated", NULL},
    {MH_PROTO_IMAP, "LOGIN", "authenticated", "BAD", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_IMAP, "LOGIN", "authenticated", "OK", VIA_NONE, NULL, NULL},
    {MH_PROTO_IMAP, "AUTHENTICATE", "not_authenticated", "+", VIA_RULE, "authenticating", NULL},
    {MH_PROTO_IMAP, "@continuation", "authenticating", "OK", VIA_RULE, "authenticated", NULL},
    {MH_PROTO_IMAP, "@continuation", "authenticating", "BAD", VIA_RULE, "return", NULL},
    {MH_PROTO_IMAP, "SELECT", "authenticated", "OK", VIA_RULE, "selected", "FLAGS"},
    {MH_PROTO_IMAP, "SELECT", "selected", "NO", VIA_RULE, "authenticated", NULL},
    {MH_PROTO_IMAP, "SELECT", "selected", "BAD", VIA_RULE, "same", NULL},
    {MH_PROTO_IMAP, "SELECT", "not_authenticated", "NO", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_IMAP, "FETCH", "authenticated", "BAD", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_IMAP, "FETCH", "authenticated", "OK", VIA_NONE, NULL, NULL},
    {MH_PROTO_IMAP, "CLOSE", "selected", "OK", VIA_RULE, "authenticated", NULL},
    {MH_PROTO_IMAP, "CLOSE", "selected", "NO", VIA_NONE, NULL, NULL},
    {MH_PROTO_IMAP, "APPEND", "selected", "+", VIA_RULE, "same", NULL},
    {MH_PROTO_IMAP, "IDLE", "selected", "+", VIA_RULE, "idling", NULL},
    {MH_PROTO_IMAP, "@continuation", "idling", "OK", VIA_RULE, "return", NULL},
    {MH_PROTO_IMAP, "ENABLE", "authenticated", "OK", VIA_RULE, "same", "ENABLED"},
    /* RFC 5161's prose and ABNF disagree on ENABLE before login: both readings are accepted */
    {MH_PROTO_IMAP, "ENABLE", "not_authenticated", "OK", VIA_RULE, "same", "ENABLED"},
    {MH_PROTO_IMAP, "ENABLE", "not_authenticated", "BAD", VIA_RULE, "same", NULL},
    {MH_PROTO_IMAP, "@unknown", "selected", "BAD", VIA_RULE, "same", NULL},
    {MH_PROTO_IMAP, "@unknown", "selected", "OK", VIA_NONE, NULL, NULL},
    /* POP3 */
    {MH_PROTO_POP3, "@greeting", "connected", "+OK", VIA_RULE, "authorization", NULL},
    {MH_PROTO_POP3, "@greeting", "connected", "-ERR", VIA_NONE, NULL, NULL},
    {MH_PROTO_POP3, "LOGIN", "authorization", "+OK", VIA_RULE, "authorization_user", NULL},
    {MH_PROTO_POP3, "PASS", "authorization", "-ERR", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_POP3, "PASS", "authorization", "+OK", VIA_NONE, NULL, NULL},
    {MH_PROTO_POP3, "PASS", "authorization_user", "+OK", VIA_RULE, "transaction", NULL},
    {MH_PROTO_POP3, "PASS", "authorization_user", "-ERR", VIA_RULE, "authorization", NULL},
    {MH_PROTO_POP3, "APOP", "authorization", "+OK", VIA_RULE, "transaction", NULL},
    {MH_PROTO_POP3, "AUTH", "authorization", "+", VIA_RULE, "auth_exchange", NULL},
    {MH_PROTO_POP3, "AUTH", "transaction", "-ERR", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_POP3, "@continuation", "auth_exchange", "-ERR", VIA_RULE, "return", NULL},
    {MH_PROTO_POP3, "STAT", "authorization", "-ERR", VIA_DISALLOWED, "same", NULL},
    {MH_PROTO_POP3, "STAT", "authorization", "+OK", VIA_NONE, NULL, NULL},
    {MH_PROTO_POP3, "RETR", "transaction", "+OK", VIA_RULE, "same", NULL},
    {MH_PROTO_POP3, "STLS", "transaction", "+OK", VIA_NONE, NULL, NULL},
    {MH_PROTO_POP3, "CAPA", "transaction", "+OK", VIA_RULE, "same", NULL},
    {MH_PROTO_POP3, "QUIT", "authorization", "+OK", VIA_RULE, "closed", NULL},
    {MH_PROTO_POP3, "QUIT", "transaction", "+OK", VIA_RULE, "update", NULL},
    {MH_PROTO_POP3, "QUIT", "transaction", "-ERR", VIA_RULE, "update", NULL},
    {MH_PROTO_POP3, "@unknown", "transaction", "-ERR", VIA_RULE, "same", NULL},
};

static const char *next_label(const struct mh_spec *s, int next)
{
	if (next == MH_STATE_SAME)
		return "same";
	if (next == MH_STATE_RETURN)
		return "return";
	return next >= 0 && (size_t)next < s->nstates ? s->states[next].name : "?";
}

static void test_judge(void)
{
	static const char *const via_names[] = {"rule", "disallowed", "always", "none"};
	for (size_t i = 0; i < MH_ARRAY_SIZE(judge_rows); i++) {
		const struct judge_row *row = &judge_rows[i];
		const struct mh_spec *s = specs[row->proto];
		int cmd = mh_spec_command_find(s, row->cmd);
		int st = mh_spec_state_find(s, row->state);
		if (!tap_ok(cmd >= 0 && st >= 0, "judge row %zu: %s in %s exists", i, row->cmd,
		            row->state))
			continue;
		struct mh_reply r;
		mh_reply_init(&r, row->proto);
		snprintf(r.status, sizeof(r.status), "%s", row->status);
		const struct mh_spec_rule *rule = mh_spec_rule_for(s, cmd, st);
		const struct mh_spec_rule *table =
		    rule != NULL ? rule : mh_spec_disallowed_for(s, cmd);
		const struct mh_spec_outcome *o = mh_spec_outcome_match(table, &r);
		enum via via = o == NULL ? VIA_NONE : rule != NULL ? VIA_RULE : VIA_DISALLOWED;
		if (o == NULL && (o = mh_spec_outcome_match(&s->always, &r)) != NULL)
			via = VIA_ALWAYS;
		int ok = via == row->via;
		if (ok && o != NULL)
			ok = strcmp(next_label(s, o->next), row->next) == 0;
		if (ok && row->require != NULL)
			ok = o != NULL && o->nrequire > 0 &&
			     strcmp(o->require_untagged[0], row->require) == 0;
		if (!tap_ok(ok, "judge row %zu: %s %s in %s -> %s %s", i, mh_proto_name(row->proto),
		            row->cmd, row->state, row->status,
		            row->next ? row->next : "(not permitted)"))
			tap_diag("got via %s next %s", via_names[via],
			         o ? next_label(s, o->next) : "-");
		mh_reply_deinit(&r);
	}
}

static void test_multiline_and_caps(void)
{
	const struct mh_spec *p = specs[MH_PROTO_POP3];
	struct {
		const char *cmd;
		enum mh_multiline ml;
		const char *cap;
	} rows[] = {
	    {"RETR", MH_ML_ALWAYS, NULL},    {"LIST", MH_ML_NO_ARGS, NULL},
	    {"UIDL", MH_ML_NO_ARGS, "UIDL"}, {"TOP", MH_ML_ALWAYS, "TOP"},
	    {"CAPA", MH_ML_ALWAYS, NULL},    {"STAT", MH_ML_NEVER, NULL},
	    {"STLS", MH_ML_NEVER, "STLS"},   {"AUTH", MH_ML_NO_ARGS, "SASL"},
	    {"USER", MH_ML_NEVER, "USER"},
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		int c = mh_spec_command_find(p, rows[i].cmd);
		int ok =
		    c >= 0 && p->commands[c].multiline == rows[i].ml &&
		    (rows[i].cap == NULL ? p->commands[c].capability == NULL
		                         : p->commands[c].capability != NULL &&
		                               strcmp(p->commands[c].capability, rows[i].cap) == 0);
		tap_ok(ok, "pop3 row %zu: %s multiline and capability", i, rows[i].cmd);
	}
	int uid = mh_spec_command_find(specs[MH_PROTO_IMAP], "UID");
	tap_ok(uid >= 0 && specs[MH_PROTO_IMAP]->commands[uid].nsubcommands == 6,
	       "imap UID has 6 subcommands");
	int st = mh_spec_command_find(specs[MH_PROTO_SMTP], "STARTTLS");
	tap_ok(st >= 0 && strcmp(specs[MH_PROTO_SMTP]->commands[st].capability, "STARTTLS") == 0,
	       "smtp STARTTLS gated on STARTTLS");
}

static void test_expected_and_format(void)
{
	const struct mh_spec *s = specs[MH_PROTO_SMTP];
	struct mh_buf b;
	mh_buf_init(&b);
	mh_spec_rule_expected(mh_spec_disallowed_for(s, mh_spec_command_find(s, "RCPT")), &b);
	tap_ok(strncmp(mh_buf_cstr(&b), "503 | 500 | 501", 15) == 0,
	       "expected for RCPT outside: %s", mh_buf_cstr(&b));
	mh_buf_reset(&b);
	mh_spec_rule_expected(NULL, &b);
	tap_ok(strcmp(mh_buf_cstr(&b), "(no reply defined)") == 0, "expected for no rule");
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		mh_buf_reset(&b);
		mh_spec_format(specs[p], &b);
		const char *t = mh_buf_cstr(&b);
		tap_ok(strstr(t, "STATES\n") != NULL && strstr(t, "COMMANDS\n") != NULL &&
		           strstr(t, "@greeting") != NULL,
		       "format %s (%zu bytes)", mh_proto_name((enum mh_proto_id)p), b.len);
		mh_buf_reset(&b);
		int n = mh_spec_lint(specs[p], &b);
		if (!tap_ok(n == 0, "shipped %s spec lints clean",
		            mh_proto_name((enum mh_proto_id)p)))
			tap_diag("%s", mh_buf_cstr(&b));
	}
	mh_buf_deinit(&b);
	tap_ok(strcmp(mh_level_name(MH_LEVEL_SHOULD), "SHOULD") == 0 &&
	           mh_level_from_name("MAY") == MH_LEVEL_MAY && mh_level_from_name("must") == -1 &&
	           mh_level_from_name(NULL) == -1,
	       "level names");
}

/* ---- small specs: written with ' for ", swapped before loading ---- */

static const char mini[] =
    "{'protocol':'smtp','spec_version':1,'title':'t','references':['RFC 5321'],"
    "'initial_state':'connected','closed_state':'closed',"
    "'states':{"
    "'connected':{'description':'d','rfc':'RFC 5321 3.1','input':'none'},"
    "'ready':{'description':'d','rfc':'RFC 5321 3.1','input':'command'},"
    "'closed':{'description':'d','rfc':'RFC 5321 3.8','input':'none','final':true}},"
    "'always':{'replies':{'421':'closed'},'rfc':'RFC 5321 3.8','level':'MUST'},"
    "'disallowed':{'replies':{'503':'same'},'rfc':'RFC 5321 4.1.4','level':'MUST'},"
    "'not_advertised':{'replies':{'5xx':'same'},'rfc':'RFC 5321 4.2.4','level':'SHOULD'},"
    "'commands':{"
    "'@greeting':{'pseudo':true,'summary':'s','syntax':'x','rfc':'RFC 5321 4.3.1','level':'MUST',"
    "'rules':[{'in':['connected'],'replies':{'220':'ready'},'rfc':'RFC 5321 "
    "4.3.2','level':'SHOULD'}]},"
    "'NOOP':{'aliases':['NOP'],'summary':'s','syntax':'x','rfc':'RFC 5321 4.1.1.9','level':'MUST',"
    "'rules':[{'in':['ready'],'replies':{'5xx':'same','550':'closed','250':'same'},"
    "'rfc':'RFC 5321 4.3.2','level':'SHOULD'}]},"
    "'QUIT':{'summary':'s','syntax':'x','rfc':'RFC 5321 4.1.1.10','level':'MUST',"
    "'rules':[{'in':['ready'],'replies':{'221':'closed'},'rfc':'RFC 5321 "
    "4.1.1.10','level':'MUST'}]}}}";

/* mini with the first occurrence of from replaced by to (both in ' notation), ' swapped for ". */
static char *mini_variant(const char *from, const char *to)
{
	struct mh_buf b;
	mh_buf_init(&b);
	const char *at = from != NULL ? strstr(mini, from) : NULL;
	if (at == NULL) {
		mh_buf_append_str(&b, mini);
	} else {
		mh_buf_append(&b, mini, (size_t)(at - mini));
		mh_buf_append_str(&b, to);
		mh_buf_append_str(&b, at + strlen(from));
	}
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\'')
			b.data[i] = '"';
	return (char *)b.data;
}

struct broken_row {
	const char *from, *to; /* edit applied to mini; from == NULL: mini itself */
	const char *error;     /* substring of the error, or NULL = must load */
};

static const struct broken_row broken_rows[] = {
    {NULL, NULL, NULL},
    {"'title':'t',", "'title':'t','title':'u',", "duplicate"},
    {"'in':['ready'],'replies':{'5xx'", "'in':['nowhere'],'replies':{'5xx'",
     "commands.NOOP.rules[0].in: unknown state \"nowhere\""},
    {"'221':'closed'", "'221':'closd'",
     "commands.QUIT.rules[0].replies.221: unknown state \"closd\""},
    {"'closed_state':'closed'", "'closed_state':'gone'", "closed_state: unknown state \"gone\""},
    {"'level':'SHOULD'}]},'NOOP'", "'level':'MUSTNT'}]},'NOOP'", "level: not one of MUST"},
    {"'220':'ready'", "'2x0':'ready'", "\"2x0\" is not a smtp reply pattern"},
    {"'220':'ready'", "'OK':'ready'", "\"OK\" is not a smtp reply pattern"},
    {"'220':'ready'", "'220':{'next':'ready','rfcc':'RFC 5321 3.1'}", "unknown key \"rfcc\""},
    {"'summary':'s','syntax':'x','rfc':'RFC 5321 4.1.1.10'",
     "'summry':'s','syntax':'x','rfc':'RFC 5321 4.1.1.10'",
     "commands.QUIT: unknown key \"summry\""},
    {"'rfc':'RFC 5321 4.1.1.10','level':'MUST'}]}}}", "'rfc':'RFC5321','level':'MUST'}]}}}",
     "is not \"RFC <number> <section>\""},
    {"'aliases':['NOP']", "'aliases':['QUIT']", "alias \"QUIT\""},
    {"'aliases':['NOP']", "'aliases':['nop']", "aliases[0]: not a valid name"},
    {"'pseudo':true,", "", "pseudo: must be true"},
    {"'@greeting'", "'@hello'", "is not an upper-case verb"},
    {"'spec_version':1", "'spec_version':2", "spec_version"},
    {"'protocol':'smtp'", "'protocol':'ftp'", "protocol"},
    {"'input':'command'", "'input':'commands'", "input: not one of"},
    {"'replies':{'221':'closed'}", "'replies':{}", "replies: 0 entries"},
    {"'in':['ready'],'replies':{'221'", "'in':['ready','ready'],'replies':{'221'", "listed twice"},
    {"'rfc':'RFC 5321 4.1.1.10','level':'MUST'}]}}}",
     "'rfc':'RFC 5321 4.1.1.10','level':'MUST'},{'in':['ready'],'replies':{'250':'same'},"
     "'rfc':'RFC 5321 4.1.1.10','level':'MUST'}]}}}",
     "state \"ready\" is in rules[0] and rules[1]"},
    {"'disallowed':{'replies':{'503':'same'},'rfc':'RFC 5321 4.1.4','level':'MUST'}",
     "'disallowed':{'replies':{'503':'same'}}", "disallowed: missing \"rfc\""},
    {"'always':{'replies':{'421':'closed'},'rfc':'RFC 5321 3.8','level':'MUST'}",
     "'always':{'replies':{}}", NULL},
    {"{'protocol'", "['protocol'", "line 1"},
    {"'commands':{", "'commands':{'SIZE':5,", "commands.SIZE: not an object"},
};

static void test_broken(void)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(broken_rows); i++) {
		const struct broken_row *row = &broken_rows[i];
		char *json = mini_variant(row->from, row->to);
		if (row->from != NULL && strstr(mini, row->from) == NULL)
			tap_diag("broken row %zu: edit does not apply", i);
		struct mh_error err;
		mh_error_init(&err);
		struct mh_spec *s = mh_spec_load_buf(json, strlen(json), "mini.json", &err);
		int ok = row->error == NULL ? s != NULL
		                            : s == NULL && strstr(err.msg, row->error) != NULL &&
		                                  strncmp(err.msg, "mini.json: ", 11) == 0;
		if (!tap_ok(ok, "broken row %zu: %s", i, row->error ? row->error : "loads"))
			tap_diag("got %s: %s", s ? "loaded" : "error", err.msg);
		mh_spec_free(&s);
		tap_ok(s == NULL, "broken row %zu: free clears the pointer", i);
		free(json);
	}
	/* size cap */
	size_t big = 1024 * 1024 + 1;
	char *huge = mh_malloc(big);
	memset(huge, ' ', big);
	struct mh_error err;
	mh_error_init(&err);
	tap_ok(mh_spec_load_buf(huge, big, "huge.json", &err) == NULL &&
	           strstr(err.msg, "larger") != NULL,
	       "a spec over 1 MiB is refused");
	free(huge);
	mh_error_init(&err);
	tap_ok(mh_spec_load("/nonexistent/spec.json", &err) == NULL && err.set, "missing file");
	mh_spec_free(NULL);
}

/* Exact patterns win over classes; lint catches what only a hand-edited table could hold. */
static void test_mini_semantics(void)
{
	char *json = mini_variant(NULL, NULL);
	struct mh_error err;
	mh_error_init(&err);
	struct mh_spec *s = mh_spec_load_buf(json, strlen(json), "mini.json", &err);
	free(json);
	if (!tap_ok(s != NULL, "mini loads"))
		return;
	int noop = mh_spec_command_find(s, "nop");
	int ready = mh_spec_state_find(s, "ready");
	const struct mh_spec_rule *r = mh_spec_rule_for(s, noop, ready);
	struct mh_reply rep;
	mh_reply_init(&rep, MH_PROTO_SMTP);
	struct {
		const char *status;
		const char *match;
	} rows[] = {{"550", "550"}, {"551", "5xx"}, {"250", "250"}, {"251", NULL},
	            {"5", NULL},    {"5000", NULL}, {"", NULL},     {"5x0", NULL}};
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		snprintf(rep.status, sizeof(rep.status), "%s", rows[i].status);
		const struct mh_spec_outcome *o = mh_spec_outcome_match(r, &rep);
		int ok = rows[i].match == NULL ? o == NULL
		                               : o != NULL && strcmp(o->match, rows[i].match) == 0;
		tap_ok(ok, "precedence row %zu: %s -> %s", i, rows[i].status,
		       rows[i].match ? rows[i].match : "none");
	}
	mh_reply_deinit(&rep);
	tap_ok(mh_spec_rule_for(s, noop, 99) == NULL && mh_spec_rule_for(s, 99, ready) == NULL &&
	           mh_spec_rule_for(s, -1, ready) == NULL,
	       "rule_for out of range");
	tap_ok(mh_spec_disallowed_for(s, noop) == &s->disallowed, "default disallowed");

	struct mh_buf b;
	mh_buf_init(&b);
	tap_ok(mh_spec_lint(s, &b) == 0, "mini lints clean: %s", mh_buf_cstr(&b));
	/* a duplicate after case folding, and an RFC outside the references */
	free(r->outcomes[2].match);
	r->outcomes[2].match = mh_strdup("5XX");
	free(s->commands[noop].rfc);
	s->commands[noop].rfc = mh_strdup("RFC 1939 3");
	mh_buf_reset(&b);
	int n = mh_spec_lint(s, &b);
	tap_ok(n == 2 && strstr(mh_buf_cstr(&b), "\"5XX\" appears twice") != NULL &&
	           strstr(mh_buf_cstr(&b), "RFC 1939 3") != NULL,
	       "lint finds the duplicate and the reference (%d)", n);
	mh_buf_deinit(&b);
	mh_spec_free(&s);

	/* unreachable state, a state nobody serves, a command allowed nowhere reachable */
	json = mini_variant("'closed':{'description':'d'",
	                    "'island':{'description':'d','rfc':'RFC 5321 3.1','input':'command'},"
	                    "'closed':{'description':'d'");
	char *json2 = json;
	mh_error_init(&err);
	s = mh_spec_load_buf(json2, strlen(json2), "mini.json", &err);
	free(json2);
	if (tap_ok(s != NULL, "mini with island loads")) {
		mh_buf_init(&b);
		n = mh_spec_lint(s, &b);
		tap_ok(
		    n == 2 &&
		        strstr(mh_buf_cstr(&b), "state island: no outcome leads to it") != NULL &&
		        strstr(mh_buf_cstr(&b), "state island (input command): no command") != NULL,
		    "lint finds the island (%d): %s", n, mh_buf_cstr(&b));
		mh_buf_deinit(&b);
		mh_spec_free(&s);
	}
}

int main(void)
{
	load_shipped();
	for (int p = 0; p < MH_PROTO_COUNT; p++)
		if (specs[p] == NULL)
			return tap_done();
	test_find();
	test_judge();
	test_multiline_and_caps();
	test_expected_and_format();
	test_broken();
	test_mini_semantics();
	for (int p = 0; p < MH_PROTO_COUNT; p++)
		mh_spec_free(&specs[p]);
	return tap_done();
}

/* fuzz_oracle.c: the oracles applied after each fuzzed dialogue (crash from the supervisor, hang,
   disconnect without a final reply, spec violation), deduplication (sanitizer stack hash, else
   signal + last command + state), saving each new finding at once and minimizing it against the
   supervised server with the same oracle, then rewriting the saved file. */
#include "fuzz_int.h"
#include "minimize.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_TRIES_VIOLATION 1000
#define MIN_TRIES_CRASH     300 /* a crash may cost a sanitizer report (symbolized) or a restart */
#define MIN_TRIES_HANG      40  /* each failing try costs the reply budget */
#define MIN_BUDGET_MS       60000 /* wall time per finding (symbolized sanitizer reports...) */

struct min_oracle {
	struct fuzz_ctx *ctx;
	int64_t deadline_ms; /* after it, candidates are refused without running */
	enum mh_find_class cls;
	bool disconnect;
	int sig;
	char kind[16];
	char hash[17];
	char violation[256];
	bool confirm; /* hang: run with the confirmation budget (hang_budget) */
};

/* The reply budget that confirms a hang: four times --timeout, at least 2 s. A server's
   deliberate delays (Postfix smtpd_error_sleep_time, Dovecot auth_failure_delay) add up and
   can pass a budget set just above one of them; a hang outlasts this one. */
static int64_t hang_budget(const struct fuzz_ctx *ctx)
{
	int64_t t = ctx->o->timeout_ms > 0 ? ctx->o->timeout_ms : 1000;
	return t * 4 > 2000 ? t * 4 : 2000;
}

/* Runs d with the reply budget ms (fuzz_exec); the budget goes back after. */
static void exec_with_budget(struct fuzz_ctx *ctx, const struct mh_dialogue *d, int64_t ms)
{
	int64_t saved = ctx->xo.reply_timeout_ms;
	ctx->xo.reply_timeout_ms = ms;
	fuzz_exec(ctx, d, false);
	ctx->xo.reply_timeout_ms = saved;
}

/* The client bytes sent before record `at` (the first SENT_MAX of them), and from them the verb
   of the last command line (IMAP: after the tag), [A-Z0-9-] only; past SENT_MAX that is the
   verb of a line in the middle (a key that is then only approximate). */
#define SENT_MAX (1u << 20)

/* At most SENT_MAX bytes (the first ones); *cut_r set if there were more. */
static void sent_before(const struct mh_dialogue *d, size_t at, struct mh_buf *out, bool *cut_r)
{
	mh_buf_reset(out);
	*cut_r = false;
	size_t end = at == MH_DLG_AT_GREETING ? 0 : at < d->n ? at : d->n;
	for (size_t i = 0; i < end; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		if (m->op != MH_DLG_SEND)
			continue;
		size_t n = m->len;
		if (out->len + n > SENT_MAX) {
			n = SENT_MAX - out->len;
			*cut_r = true;
		}
		mh_buf_append(out, m->data, n);
		if (*cut_r)
			break;
	}
}

static void last_verb(const struct mh_dialogue *d, enum mh_proto_id proto, size_t at,
                      struct mh_buf *scratch, char *verb, size_t len)
{
	bool cut;
	sent_before(d, at, scratch, &cut);
	const unsigned char *b = scratch->data;
	size_t n = scratch->len;
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		n--;
	size_t p = n;
	while (p > 0 && b[p - 1] != '\n')
		p--;
	if (proto == MH_PROTO_IMAP) {
		while (p < n && b[p] != ' ')
			p++;
		while (p < n && b[p] == ' ')
			p++;
	}
	size_t k = 0;
	for (; p < n && k + 1 < len && k < 12; p++) {
		unsigned char c = b[p];
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 32);
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			break;
		verb[k++] = (char)c;
	}
	verb[k] = '\0';
	if (k == 0)
		snprintf(verb, len, "-");
}

/* True if a command line that ends the session (QUIT, LOGOUT) was sent before record `at`: the
   server may close after answering it. */
static bool ended_before(const struct mh_dialogue *d, size_t at)
{
	static const char *const enders[] = {"QUIT", "LOGOUT"};
	/* line by line over the records (no copy: dialogues may be megabytes); a line's first
	   bytes are collected across record boundaries */
	char head[64];
	size_t hl = 0;
	bool at_start = true;
	size_t end = at == MH_DLG_AT_GREETING ? 0 : at < d->n ? at : d->n;
	for (size_t i = 0; i < end; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		for (size_t p = 0; m->op == MH_DLG_SEND && p < m->len; p++) {
			unsigned char c = m->data[p];
			if (at_start && c != '\n' && hl < sizeof(head) - 1) {
				head[hl++] = (char)c;
				continue;
			}
			if (c != '\n') {
				at_start = false;
				continue;
			}
			head[hl] = '\0';
			const char *v = head;
			if (d->proto == MH_PROTO_IMAP) { /* after the tag */
				const char *sp = strchr(head, ' ');
				v = sp != NULL ? sp + 1 : head + hl;
			}
			for (size_t k = 0; k < MH_ARRAY_SIZE(enders); k++) {
				size_t l = strlen(enders[k]);
				if (mh_strncaseeq(v, enders[k], l) &&
				    (v[l] == '\0' || v[l] == '\r' || v[l] == ' '))
					return true;
			}
			hl = 0;
			at_start = true;
		}
	}
	return false;
}

/* The session state at the end: after the last judged exchange, or the one the server's close
   left (the state a crash happened in). */
static void last_state(const struct fuzz_ctx *ctx, const struct mh_dlg_result *res, char *state,
                       size_t len)
{
	snprintf(state, len, "%s", "start");
	for (size_t i = res->checks.nchecks; i-- > 0;) {
		const struct mh_check *k = &res->checks.checks[i];
		const char *s = k->next_state != NULL ? k->next_state : k->state;
		int st = s != NULL ? mh_spec_state_find(ctx->spec, s) : -1;
		if (st >= 0 && ctx->spec->states[st].final && k->state != NULL)
			s = k->state;
		if (s != NULL) {
			snprintf(state, len, "%s", s);
			return;
		}
	}
}

/* The verb of the command whose reply record `at` never came: the client bytes before it are
   cut into lines, the protocol's reply rules (mh_mutate_fix_replies) say which lines owe a
   reply, and the one owing the first missing reply is it. Falls back to the last line. */
static void failing_verb(struct fuzz_ctx *ctx, const struct mh_dialogue *d, size_t at, char *verb,
                         size_t len, struct mh_buf *line_r)
{
	if (line_r != NULL)
		mh_buf_reset(line_r);
	size_t answered = 0, end = at == MH_DLG_AT_GREETING ? 0 : at < d->n ? at : d->n;
	for (size_t i = 0; i < end; i++)
		answered += d->msgs[i].op == MH_DLG_REPLY;
	bool cut;
	sent_before(d, at, &ctx->scratch, &cut);
	if (ctx->scratch.len > 0 && !cut) {
		struct mh_dialogue *lines = &ctx->fix;
		mh_dialogue_clear(lines);
		lines->proto = d->proto;
		const unsigned char *b = ctx->scratch.data;
		for (size_t p = 0, q = 0; p < ctx->scratch.len; p = q) {
			while (q < ctx->scratch.len && b[q] != '\n')
				q++;
			if (q < ctx->scratch.len)
				q++;
			mh_dialogue_add(lines, MH_DLG_SEND, b + p, q - p, NULL);
		}
		mh_mutate_fix_replies(lines);
		size_t seen = 0;
		for (size_t i = 0; i < lines->n; i++) {
			if (lines->msgs[i].op != MH_DLG_REPLY || seen++ != answered)
				continue;
			for (size_t k = i; line_r != NULL && k-- > 0;) {
				if (lines->msgs[k].op == MH_DLG_SEND) {
					mh_buf_append(line_r, lines->msgs[k].data,
					              lines->msgs[k].len);
					break;
				}
			}
			/* that line, or the last command line before it (the server may have
			   refused DATA and read the message lines as commands) */
			struct mh_dialogue one;
			mh_dialogue_init(&one, d->proto);
			bool found = false;
			for (size_t k = i; !found && k-- > 0;) {
				if (lines->msgs[k].op != MH_DLG_SEND)
					continue;
				mh_dialogue_clear(&one);
				mh_dialogue_add(&one, MH_DLG_SEND, lines->msgs[k].data,
				                lines->msgs[k].len, NULL);
				last_verb(&one, d->proto, 1, &ctx->scratch, verb, len);
				int cmd = mh_spec_command_find(ctx->spec, verb);
				found = cmd >= 0 && !ctx->spec->commands[cmd].pseudo;
			}
			mh_dialogue_deinit(&one);
			if (found)
				return;
			break;
		}
	}
	last_verb(d, d->proto, at, &ctx->scratch, verb, len);
}

enum evidence { EV_VIOLATION, EV_HANG, EV_DISCONNECT };

/* SMTP: client bytes sent behind a DATA line before its reply was read (in the same write, or
   a write that follows without a reply record between). RFC 2920 makes DATA the last command of
   a group; the engine reads the bytes as commands queued behind DATA, so its verdicts after
   that point are about a misaligned conversation. */
static bool data_pipelined(const struct mh_dialogue *d)
{
	if (d->proto != MH_PROTO_SMTP)
		return false;
	/* the line start state carries over record boundaries: "DATA" and its CRLF may be in
	   different writes */
	bool bol = true;  /* at the beginning of a line */
	size_t match = 0; /* bytes of "DATA" matched at the start of this line */
	bool in_data_line = false;
	for (size_t i = 0; i < d->n; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		if (m->op != MH_DLG_SEND)
			continue;
		for (size_t p = 0; p < m->len; p++) {
			unsigned char c = m->data[p];
			if (c == '\n') {
				if (in_data_line &&
				    (p + 1 < m->len ||
				     (i + 1 < d->n && d->msgs[i + 1].op == MH_DLG_SEND)))
					return true;
				bol = true;
				match = 0;
				in_data_line = false;
				continue;
			}
			if (bol && match < 4 && (c | 0x20) == (unsigned char)"data"[match]) {
				if (++match == 4)
					in_data_line = true;
				continue;
			}
			bol = false;
		}
	}
	return false;
}

/* Whether a hang or disconnect at record `at`, or a violation, is evidence: not past a point
   where the dialogue's reply records may be out of step (a bare LF, an end-of-data variant...;
   a violation: nowhere in the dialogue), and for a hang not while the session reads message
   data (no reply is due there: the dialogue's "reply" records disagree with the protocol). */
/* IMAP: whether a command line starts with a tag a server can answer (RFC 3501 9: tag is
   1*<ASTRING-CHAR except "+">, so no "*", "%", quotes, parentheses, braces, controls). A line
   without one gets an untagged BAD, which completes nothing: waiting for it is no hang. */
static bool imap_tagged(const struct mh_buf *line)
{
	size_t n = 0;
	for (; n < line->len && line->data[n] != ' '; n++) {
		unsigned char c = line->data[n];
		if (c <= 0x20 || c >= 0x7f || strchr("+*%(){\"\\", c) != NULL)
			return false;
	}
	return n > 0 && n < line->len;
}

/* The verb of a check's command text (after the IMAP tag), upper case, into v. */
static void check_verb(const char *sent, bool tagged, char *v, size_t n)
{
	const char *p = sent != NULL ? sent : "";
	if (tagged) {
		const char *sp = strchr(p, ' ');
		p = sp != NULL ? sp + 1 : p + strlen(p);
	}
	size_t k = 0;
	for (; p[k] != '\0' && p[k] != ' ' && p[k] != '\\' && k + 1 < n; k++)
		v[k] = (char)(p[k] >= 'a' && p[k] <= 'z' ? p[k] - 32 : p[k]);
	v[k] = '\0';
}

/* Where the run went where the dialogue's records cannot follow: a reply that switches the
   input mode (354 to DATA, 334 or "+" to a SASL step, a continuation) judged a failure, so the
   records after it assume the other mode; or STARTTLS / STLS accepted more often than the
   dialogue has "tls" records (the server then reads the plaintext that follows as a TLS
   handshake).
   Returns the index of that check, or SIZE_MAX. */
static size_t mode_went_astray(const struct fuzz_ctx *ctx, const struct mh_dialogue *d)
{
	bool tagged = d->proto == MH_PROTO_IMAP;
	size_t ntls = 0, accepted = 0; /* tls records; STARTTLS / STLS accepted so far */
	for (size_t i = 0; i < d->n; i++)
		ntls += d->msgs[i].op == MH_DLG_TLS;
	const struct mh_case_result *c = &ctx->res.checks;
	for (size_t i = 0; i < c->nchecks; i++) {
		const struct mh_check *k = &c->checks[i];
		const char *rx = k->received != NULL ? k->received : "";
		if (tagged) { /* the status after the tag */
			const char *sp = strchr(rx, ' ');
			rx = rx[0] == '+' ? rx : sp != NULL ? sp + 1 : "";
		}
		if (k->verdict == MH_V_FAIL && k->kind == MH_CHECK_SPEC &&
		    (strncmp(rx, "354", 3) == 0 || strncmp(rx, "334", 3) == 0 || rx[0] == '+'))
			return i;
		char v[16];
		check_verb(k->sent, tagged, v, sizeof(v));
		if ((strcmp(v, "STARTTLS") == 0 || strcmp(v, "STLS") == 0) &&
		    (strncmp(rx, "220", 3) == 0 || strncmp(rx, "+OK", 3) == 0 ||
		     mh_strncaseeq(rx, "OK", 2)) &&
		    ++accepted > ntls)
			return i;
	}
	return SIZE_MAX;
}

/* The index of the first failed spec or syntax check (the run's first violation), or
   SIZE_MAX. */
static size_t first_violation(const struct fuzz_ctx *ctx)
{
	const struct mh_case_result *c = &ctx->res.checks;
	for (size_t i = 0; i < c->nchecks; i++)
		if (c->checks[i].verdict == MH_V_FAIL &&
		    (c->checks[i].kind == MH_CHECK_SPEC || c->checks[i].kind == MH_CHECK_SYNTAX))
			return i;
	return SIZE_MAX;
}

/* A client line before record `at` longer than the protocol lets a server refuse (and close
   on): SMTP 1000 octets (RFC 5321 4.5.3.1.6, text lines; command lines 512), POP3 255 (RFC 2449
   4), IMAP 8192 (RFC 7162 4 recommends servers accept at least that). */
static bool overlong_line(const struct mh_dialogue *d, size_t at)
{
	size_t limit = d->proto == MH_PROTO_SMTP ? 1000 : d->proto == MH_PROTO_POP3 ? 255 : 8192;
	size_t end = at == MH_DLG_AT_GREETING ? 0 : at < d->n ? at : d->n, run = 0;
	for (size_t i = 0; i < end; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		for (size_t p = 0; m->op == MH_DLG_SEND && p < m->len; p++) {
			run = m->data[p] == '\n' ? 0 : run + 1;
			if (run + 1 > limit) /* with the LF */
				return true;
		}
	}
	return false;
}

static bool reliable(struct fuzz_ctx *ctx, const struct mh_dialogue *d, size_t at, enum evidence ev)
{
	if (ev == EV_VIOLATION && ctx->res.unread > 0)
		return false; /* more replies than the engine owed: the framing went astray */
	if (ev == EV_DISCONNECT && overlong_line(d, at))
		return false;
	if (ev == EV_HANG && ctx->res.partial > 0)
		return false; /* the reply had begun: slow (a tarpit), not hung */
	size_t astray = mode_went_astray(ctx, d);
	if (astray != SIZE_MAX &&
	    (ev != EV_VIOLATION || first_violation(ctx) > astray)) /* the violation: before it */
		return false;
	if (ev == EV_DISCONNECT && ended_before(d, at))
		return false;
	size_t amb;
	if (mh_mutate_first_ambiguous(d, &amb) &&
	    (ev == EV_VIOLATION || (at != MH_DLG_AT_GREETING && at > amb)))
		return false;
	if (ev == EV_VIOLATION && data_pipelined(d))
		return false;
	if (ev == EV_VIOLATION) {
		/* the engine must have framed the exchange as the dialogue's reply records do (one
		   reply read per record, plus the greeting), else its verdicts are about a
		   misaligned conversation (e.g. message data pipelined behind DATA) */
		size_t due = 1;
		for (size_t i = 0; i < d->n; i++)
			due += d->msgs[i].op == MH_DLG_REPLY;
		if (ctx->res.outcome != MH_DLG_OK || ctx->res.replies != due)
			return false;
	}
	/* nothing after a refused DATA: the dialogue's records assume it was accepted, the server
	   then reads the message lines as commands (a violation judged on a misaligned exchange,
	   a "hang" waiting for a reply the server never owed) */
	bool refused = false;
	for (size_t i = 0; i < ctx->res.checks.nchecks; i++) {
		const struct mh_check *k = &ctx->res.checks.checks[i];
		if (refused && (ev != EV_VIOLATION || k->verdict == MH_V_FAIL))
			return false;
		if (k->sent != NULL && mh_strncaseeq(k->sent, "DATA", 4) && k->received != NULL &&
		    k->received[0] != '3')
			refused = true;
	}
	if (refused && ev != EV_VIOLATION)
		return false;
	if (ev == EV_HANG && d->proto == MH_PROTO_IMAP && at != MH_DLG_AT_GREETING) {
		char verb[16];
		struct mh_buf line;
		mh_buf_init(&line);
		failing_verb(ctx, d, at, verb, sizeof(verb), &line);
		bool tagged = line.len == 0 || imap_tagged(&line);
		mh_buf_deinit(&line);
		if (!tagged)
			return false;
	}
	if (ev == EV_HANG) {
		char state[48];
		last_state(ctx, &ctx->res, state, sizeof(state));
		int st = mh_spec_state_find(ctx->spec, state);
		if (st >= 0 && ctx->spec->states[st].input == MH_INPUT_DATA)
			return false;
	}
	return true;
}

static bool still_fails(void *ud, const struct mh_dialogue *cand)
{
	struct min_oracle *mo = ud;
	struct fuzz_ctx *ctx = mo->ctx;
	if (ctx->fatal || (ctx->o->stop != NULL && *ctx->o->stop) ||
	    (mo->deadline_ms > 0 && mh_now_ms() > mo->deadline_ms))
		return false;
	/* only candidates whose reply records still follow the protocol's rules: removing records
	   can leave a "reply" where none is due (a false hang, a misread reply) */
	mh_dialogue_copy(&ctx->fix, cand);
	mh_mutate_fix_replies(&ctx->fix);
	if (!mh_dialogue_equal(&ctx->fix, cand))
		return false;
	ctx->min_runs++;
	mh_sup_settle(ctx->sup, true); /* a candidate's crash must be seen in its own run */
	if (mo->confirm)
		exec_with_budget(ctx, cand, hang_budget(ctx));
	else
		fuzz_exec(ctx, cand, false);
	mh_sup_settle(ctx->sup, false);
	const struct mh_sup_crash *c = &ctx->crash;
	const struct mh_dlg_result *r = &ctx->res;
	switch (mo->cls) {
	case MH_FC_CRASH:
		if (!c->crashed)
			return false;
		if (c->previous)
			return false;
		if (mo->hash[0] != '\0')
			return strcmp(c->stack_hash, mo->hash) == 0;
		return c->sig == mo->sig && strcmp(c->kind, mo->kind) == 0;
	case MH_FC_HANG:
		return !c->crashed && r->outcome == MH_DLG_HANG &&
		       reliable(ctx, cand, r->failed_at, EV_HANG);
	case MH_FC_VIOLATION:
		if (c->crashed)
			return false;
		if (mo->disconnect)
			return r->outcome == MH_DLG_DISCONNECT &&
			       reliable(ctx, cand, r->failed_at, EV_DISCONNECT);
		if (!reliable(ctx, cand, 0, EV_VIOLATION))
			return false;
		for (size_t i = 0; i < r->nviolations && i < MH_ARRAY_SIZE(r->violation); i++)
			if (strcmp(r->violation[i], mo->violation) == 0)
				return true;
		return false;
	default: return false;
	}
}

/* A violation text without the details that vary between instances of one behaviour: byte
   values ("0xf0" -> "0x..") and sizes ("672 octets" -> "N octets", also bytes). */
static void normalize_violation(const char *v, char *out, size_t len)
{
	size_t k = 0;
	for (const char *p = v; *p != '\0' && k + 4 < len;) {
		if (p[0] == '0' && p[1] == 'x' && isxdigit((unsigned char)p[2])) {
			memcpy(out + k, "0x..", 4);
			k += 4;
			for (p += 2; isxdigit((unsigned char)*p); p++)
				;
			continue;
		}
		if (isdigit((unsigned char)*p) && (p == v || !isalnum((unsigned char)p[-1]))) {
			const char *e = p;
			while (isdigit((unsigned char)*e))
				e++;
			if (strncmp(e, " octets", 7) == 0 || strncmp(e, " bytes", 6) == 0) {
				out[k++] = 'N';
				p = e;
				continue;
			}
		}
		out[k++] = *p++;
	}
	out[k] = '\0';
}

/* The deduplication key of the last run (ctx->res, ctx->crash) of d as a finding of class cls:
   the sanitizer stack hash, else (kind, signal, command, state) for crashes; (command) for
   hangs and disconnects; the violation text for spec violations. */
static void finding_key(struct fuzz_ctx *ctx, const struct mh_dialogue *d, enum mh_find_class cls,
                        bool disconnect, const char *violation, char *key, size_t len)
{
	const struct mh_dlg_result *r = &ctx->res;
	const struct mh_sup_crash *c = &ctx->crash;
	char verb[32], state[48];
	/* the command the engine saw unanswered when replies stopped (it followed the server's
	   replies); else the dialogue's own reply records say which one it was */
	bool engine = r->pending_cmd[0] != '\0';
	if (engine) {
		snprintf(verb, sizeof(verb), "%s", r->pending_cmd);
		snprintf(state, sizeof(state), "%s", r->pending_state);
	}
	if (cls == MH_FC_CRASH && c->stack_hash[0] != '\0') {
		snprintf(key, len, "crash:stack:%s", c->stack_hash);
	} else if (cls == MH_FC_CRASH) {
		if (!engine) {
			failing_verb(ctx, d, r->outcome == MH_DLG_OK ? d->n : r->failed_at, verb,
			             sizeof(verb), NULL);
			last_state(ctx, r, state, sizeof(state));
		}
		snprintf(key, len, "crash:%s:%d:%s:%s", c->kind, c->sig, verb, state);
	} else if (cls == MH_FC_HANG || disconnect) {
		/* one finding per command that hangs / loses the connection, whatever the state */
		if (!engine)
			failing_verb(ctx, d, r->failed_at, verb, sizeof(verb), NULL);
		snprintf(key, len, "%s:%s", cls == MH_FC_HANG ? "hang" : "disconnect", verb);
	} else {
		char norm[400];
		normalize_violation(violation != NULL ? violation : "", norm, sizeof(norm));
		snprintf(key, len, "violation:%.380s", norm);
	}
}

static void count_finding(struct fuzz_ctx *ctx, const struct mh_finding_meta *m, int delta)
{
	ctx->new_count[m->cls] += (size_t)delta;
	if (m->kind != NULL && strcmp(m->kind, "disconnect") == 0)
		ctx->new_disconnects += (size_t)delta;
}

/* Saves d as a finding, then minimizes it and rewrites the file. The minimized dialogue is run
   once more: its key is the precise one (a long dialogue's failing command is a guess); when an
   earlier finding has it, this one is a duplicate and goes. m's strings must not point into
   ctx->res / ctx->crash (minimization runs overwrite them). */
static void keep_finding(struct fuzz_ctx *ctx, const struct mh_dialogue *d,
                         struct mh_finding_meta *m, struct min_oracle *mo)
{
	const struct mh_fuzz_opts *o = ctx->o;
	m->execs = ctx->execs_total;
	m->time_ms = mh_now_ms() - ctx->t0_ms + ctx->run_time_prev_s * 1000;
	m->target = o->target.url;
	m->worker = o->worker;
	char name[512];
	struct mh_error err;
	mh_error_init(&err);
	if (mh_findings_save(ctx->fnd, m, d, name, sizeof(name), NULL, &err) != 0) {
		fuzz_note(ctx, "error: cannot save a finding: %s", err.msg);
		return;
	}
	count_finding(ctx, m, 1);
	bool disc = mo->disconnect;
	const char *what = m->cls == MH_FC_CRASH  ? "crash"
	                   : m->cls == MH_FC_HANG ? "hang"
	                   : disc                 ? "disconnect"
	                                          : "violation";
	const char *why = m->summary != NULL ? m->summary : m->violation;
	fuzz_note(ctx, "%s: %s/%s%s%s", what, mh_findings_class_dir(m->cls), name,
	          why != NULL ? ": " : "", why != NULL ? why : "");
	if (o->minimize) {
		mh_dialogue_copy(&ctx->min, d);
		mo->deadline_ms = mh_now_ms() + MIN_BUDGET_MS;
		struct mh_minimize_stats st;
		memset(&st, 0, sizeof(st));
		mh_minimize(&ctx->min, still_fails, mo,
		            m->cls == MH_FC_HANG    ? MIN_TRIES_HANG
		            : m->cls == MH_FC_CRASH ? MIN_TRIES_CRASH
		            : disc                  ? MIN_TRIES_CRASH
		                                    : MIN_TRIES_VIOLATION,
		            &st);
		char line[200], key[400];
		snprintf(line, sizeof(line), "%zu -> %zu records, %zu -> %zu bytes in %zu runs",
		         st.msgs_before, st.msgs_after, st.bytes_before, st.bytes_after, st.tries);
		/* the precise key, from a run of the minimized dialogue */
		mh_dialogue_copy(&ctx->out_min, &ctx->min);
		mo->deadline_ms = 0;
		bool confirmed = true;
		if (m->cls != MH_FC_VIOLATION || disc) {
			mo->confirm = m->cls == MH_FC_HANG;
			confirmed = still_fails(mo, &ctx->out_min);
			mo->confirm = false;
			if (confirmed) {
				finding_key(ctx, &ctx->out_min, m->cls, disc, NULL, key,
				            sizeof(key));
				if (strcmp(key, m->dedupe) != 0 &&
				    mh_findings_known(ctx->fnd, key)) {
					mh_findings_forget(ctx->fnd, m->cls, name, m->kind);
					count_finding(ctx, m, -1);
					fuzz_note(ctx,
					          "dropped %s: minimized, it is a duplicate (%s)",
					          name, key);
					mh_sup_request_restart(ctx->sup);
					return;
				}
				mh_findings_remember(ctx->fnd, key);
				m->dedupe = key;
			}
		}
		m->minimized = line;
		m->report = NULL; /* the .txt written with the first save stays */
		if (!confirmed && m->cls == MH_FC_HANG)
			fuzz_note(ctx,
			          "%s: the minimized dialogue does not hang within %lld ms; the "
			          "original is kept",
			          name, (long long)hang_budget(ctx));
		else if (mh_findings_rewrite(ctx->fnd, name, m, &ctx->min, &err) != 0)
			fuzz_note(ctx, "error: cannot rewrite %s: %s", name, err.msg);
		else
			fuzz_note(ctx, "minimized %s: %s", name, line);
		/* the server went through many runs: the next dialogue gets a fresh one */
		mh_sup_request_restart(ctx->sup);
	}
	int64_t now_s = mh_wall_ms() / 1000;
	if (m->cls == MH_FC_CRASH) {
		ctx->last_crash = now_s;
		ctx->since_crash = 0;
	} else if (m->cls == MH_FC_HANG) {
		ctx->last_hang = now_s;
	}
	snprintf(ctx->last_finding, sizeof(ctx->last_finding), "%s %s/%.180s", what,
	         mh_findings_class_dir(m->cls), name);
	ctx->last_finding_ms = mh_now_ms();
}

static void on_crash(struct fuzz_ctx *ctx, const struct mh_dialogue *d, long src, const char *op)
{
	const struct mh_sup_crash *c = &ctx->crash;
	char key[400];
	finding_key(ctx, d, MH_FC_CRASH, false, NULL, key, sizeof(key));
	if (mh_findings_known(ctx->fnd, key))
		return;
	struct min_oracle mo = {.ctx = ctx, .cls = MH_FC_CRASH, .sig = c->sig};
	snprintf(mo.kind, sizeof(mo.kind), "%s", c->kind);
	snprintf(mo.hash, sizeof(mo.hash), "%s", c->stack_hash);
	char *summary = mh_strdup(c->summary), *frames = mh_strdup(c->frames);
	char *report = c->report.len > 0 ? mh_strdup(mh_buf_cstr(&c->report)) : NULL;
	char outcome[320];
	snprintf(outcome, sizeof(outcome), "%s: %s", mh_dlg_outcome_name(ctx->res.outcome),
	         ctx->res.detail);
	struct mh_finding_meta m = {
	    .cls = MH_FC_CRASH,
	    .kind = mo.kind,
	    .sig = c->sig,
	    .src = src,
	    .op = op,
	    .summary = summary,
	    .stack_hash = mo.hash[0] ? mo.hash : NULL,
	    .frames = frames,
	    .outcome = outcome,
	    .dedupe = key,
	    .report = report,
	};
	keep_finding(ctx, d, &m, &mo);
	free(summary);
	free(frames);
	free(report);
}

void fuzz_oracles(struct fuzz_ctx *ctx, const struct mh_dialogue *d, long src, const char *op)
{
	const struct mh_dlg_result *r = &ctx->res;
	if (ctx->crash.crashed) {
		/* refused, or a process of the dialogue before died late: that one is the finding
		 */
		if ((r->outcome == MH_DLG_REFUSED || ctx->crash.previous) && ctx->have_prev) {
			mh_dialogue_copy(&ctx->in, &ctx->prev);
			on_crash(ctx, &ctx->in, -1, "previous-dialogue");
		} else {
			on_crash(ctx, d, src, op);
		}
		return;
	}
	/* taken now: minimizing a hang or disconnect overwrites ctx->res */
	char violation[256] = "", voutcome[320] = "", key[400];
	if (r->nviolations > 0 && reliable(ctx, d, 0, EV_VIOLATION)) {
		snprintf(violation, sizeof(violation), "%s", r->violation[0]);
		snprintf(voutcome, sizeof(voutcome), "%s: %s", mh_dlg_outcome_name(r->outcome),
		         r->detail);
	}
	bool hang = r->outcome == MH_DLG_HANG;
	if ((hang || r->outcome == MH_DLG_DISCONNECT) &&
	    reliable(ctx, d, r->failed_at, hang ? EV_HANG : EV_DISCONNECT)) {
		enum mh_find_class cls = hang ? MH_FC_HANG : MH_FC_VIOLATION;
		finding_key(ctx, d, cls, !hang, NULL, key, sizeof(key));
		bool isnew = !mh_findings_known(ctx->fnd, key);
		if (isnew && hang) {
			/* a new hang is run again with the longer budget: a reply that comes
			   then was a deliberate delay, not a hang */
			exec_with_budget(ctx, d, hang_budget(ctx));
			if (ctx->crash.crashed && !ctx->crash.previous) {
				on_crash(ctx, d, src,
				         op); /* it crashed this time: that is the finding */
				return;
			}
			isnew = !ctx->crash.crashed && r->outcome == MH_DLG_HANG &&
			        reliable(ctx, d, r->failed_at, EV_HANG);
			if (!isnew)
				fuzz_note(ctx,
				          "not kept: a hang at %s did not repeat with %lld ms (%s)",
				          key + 5, (long long)hang_budget(ctx),
				          mh_dlg_outcome_name(r->outcome));
			else
				finding_key(ctx, d, cls, false, NULL, key, sizeof(key));
		} else if (isnew) {
			/* a new disconnect is run again, waiting for the processes the server
			   forked for it: a process that takes its time to die (Dovecot writes a
			   panic and a backtrace first) makes it a crash */
			mh_sup_settle(ctx->sup, true);
			fuzz_exec(ctx, d, false);
			mh_sup_settle(ctx->sup, false);
			if (ctx->crash.crashed && !ctx->crash.previous) {
				on_crash(ctx, d, src, op);
				return;
			}
			isnew = !ctx->crash.crashed && r->outcome == MH_DLG_DISCONNECT &&
			        reliable(ctx, d, r->failed_at, EV_DISCONNECT);
			if (isnew)
				finding_key(ctx, d, cls, true, NULL, key, sizeof(key));
		}
		if (isnew && !mh_findings_known(ctx->fnd, key)) {
			struct min_oracle mo = {.ctx = ctx, .cls = cls, .disconnect = !hang};
			char outcome[320];
			snprintf(outcome, sizeof(outcome), "%s: %s",
			         mh_dlg_outcome_name(r->outcome), r->detail);
			struct mh_finding_meta m = {
			    .cls = cls,
			    .kind = hang ? NULL : "disconnect",
			    .src = src,
			    .op = op,
			    .outcome = outcome,
			    .dedupe = key,
			};
			keep_finding(ctx, d, &m, &mo);
		}
	}
	if (violation[0] != '\0') {
		struct min_oracle mo = {.ctx = ctx, .cls = MH_FC_VIOLATION};
		snprintf(mo.violation, sizeof(mo.violation), "%s", violation);
		finding_key(ctx, d, MH_FC_VIOLATION, false, violation, key, sizeof(key));
		if (mh_findings_known(ctx->fnd, key))
			return;
		struct mh_finding_meta m = {
		    .cls = MH_FC_VIOLATION,
		    .kind = "spec",
		    .src = src,
		    .op = op,
		    .violation = violation,
		    .outcome = voutcome,
		    .dedupe = key,
		};
		keep_finding(ctx, d, &m, &mo);
	}
}

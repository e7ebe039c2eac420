/* dlgexec.c: runs one dialogue against a target through the full engine (parsers, spec session)
   and classifies what happened: ok, refused, hang, disconnect, bad reply, TLS failure, plus the
   spec violations and the (state, reply status) feedback pairs. Never sleeps: each SEND goes out
   as soon as the records before it are done. */
#include "dlgexec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[] = {
    [MH_DLG_OK] = "ok",
    [MH_DLG_REFUSED] = "refused",
    [MH_DLG_HANG] = "hang",
    [MH_DLG_DISCONNECT] = "disconnect",
    [MH_DLG_BAD_REPLY] = "bad-reply",
    [MH_DLG_TLS_FAILED] = "tls-failed",
};
_Static_assert(MH_ARRAY_SIZE(outcome_names) == MH_DLG_OUTCOME_COUNT, "outcome_names out of sync");

const char *mh_dlg_outcome_name(enum mh_dlg_outcome o)
{
	return (unsigned)o < MH_DLG_OUTCOME_COUNT ? outcome_names[o] : "?";
}

void mh_dlg_result_init(struct mh_dlg_result *r)
{
	memset(r, 0, sizeof(*r));
}

void mh_dlg_result_deinit(struct mh_dlg_result *r)
{
	free(r->pairs);
	mh_case_result_deinit(&r->checks);
	memset(r, 0, sizeof(*r));
}

/* Empties r for a new run, keeping the pairs allocation. */
static void result_reset(struct mh_dlg_result *r)
{
	uint32_t *pairs = r->pairs;
	size_t cap = r->pairs_cap;
	mh_case_result_deinit(&r->checks);
	memset(r, 0, sizeof(*r));
	r->pairs = pairs;
	r->pairs_cap = cap;
}

uint32_t mh_dlg_pair_hash(const char *state, const char *status)
{
	uint32_t h = 2166136261u;
	for (const char *p = state ? state : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0u) * 16777619u;
	for (const char *p = status ? status : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static void add_pair(struct mh_dlg_result *r, const struct mh_conn *c, const char *status)
{
	const char *state =
	    c != NULL && c->session != NULL ? mh_session_state_name(c->session) : "";
	uint32_t h = mh_dlg_pair_hash(state, status);
	for (size_t i = 0; i < r->npairs; i++)
		if (r->pairs[i] == h)
			return;
	if (r->npairs >= MH_DLG_MAX_PAIRS)
		return;
	if (r->npairs == r->pairs_cap) {
		r->pairs_cap = r->pairs_cap ? r->pairs_cap * 2 : 32;
		r->pairs = mh_realloc(r->pairs, r->pairs_cap * sizeof(*r->pairs));
	}
	r->pairs[r->npairs++] = h;
}

static void set_outcome(struct mh_dlg_result *r, const struct mh_conn *c, enum mh_dlg_outcome o,
                        size_t at, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void set_outcome(struct mh_dlg_result *r, const struct mh_conn *c, enum mh_dlg_outcome o,
                        size_t at, const char *fmt, ...)
{
	r->outcome = o;
	r->failed_at = at;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	if (o != MH_DLG_OK)
		add_pair(r, c, outcome_names[o]);
}

/* A failed read (-1): what the server did. Timeouts are hangs; a close or reset in the middle is
   a disconnect; anything else is a reply the parsers could not frame within the caps. */
static enum mh_dlg_outcome read_failure(const struct mh_error *err)
{
	if (strstr(err->msg, "timeout") != NULL)
		return MH_DLG_HANG;
	if (strstr(err->msg, "closed") != NULL || strncmp(err->msg, "read:", 5) == 0 ||
	    strncmp(err->msg, "TLS", 3) == 0)
		return MH_DLG_DISCONNECT;
	return MH_DLG_BAD_REPLY;
}

/* The session reached a state where the connection is over (after 221, BYE, POP3 QUIT): the
   server may close and owes no further reply. */
static bool session_over(const struct mh_conn *c, const struct mh_spec *spec)
{
	if (c->session == NULL || spec == NULL)
		return false;
	int st = mh_session_state(c->session);
	return st >= 0 && (size_t)st < spec->nstates && spec->states[st].final;
}

static void conn_opts(const struct mh_dlg_exec_opts *o, struct mh_dlg_result *res, int64_t t0,
                      struct mh_conn_opts *co)
{
	memset(co, 0, sizeof(*co));
	co->timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
	co->insecure = o->insecure;
	co->limits = o->limits;
	co->spec = o->spec;
	co->result = res != NULL ? &res->checks : NULL;
	co->case_start_ms = t0;
	co->secret = o->password;
}

/* The server announced that it may close (mh_session_close_announced): a close then is no
   disconnect finding. */
static bool close_announced(const struct mh_conn *c)
{
	return c->session != NULL && mh_session_close_announced(c->session);
}

/* Adds an event line ("*  ...") to the run's transcript. */
static void note(struct mh_dlg_result *res, const struct mh_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct mh_dlg_result *res, const struct mh_conn *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	mh_case_add_transcript(&res->checks, c->id, '*', line, len,
	                       mh_now_ms() - c->opts.case_start_ms);
}

/* Notes the oldest command still owed a reply (see pending_cmd in dlgexec.h). */
static void note_pending(const struct mh_conn *c, const struct mh_spec *spec,
                         struct mh_dlg_result *res)
{
	int cmd = c->session != NULL ? mh_session_pending_cmd(c->session) : -1;
	if (cmd < 0 || spec == NULL || (size_t)cmd >= spec->ncommands) {
		res->pending_cmd[0] = res->pending_state[0] = '\0';
		return;
	}
	snprintf(res->pending_cmd, sizeof(res->pending_cmd), "%s", spec->commands[cmd].name);
	snprintf(res->pending_state, sizeof(res->pending_state), "%s",
	         mh_session_state_name(c->session));
}

/* Reads the reply due at record i (status: the recorded one). 1 go on, 0 stop (outcome set). */
static int await_reply(struct mh_conn *c, const struct mh_dlg_exec_opts *o, const char *status,
                       size_t i, struct mh_reply *r, struct mh_dlg_result *res)
{
	if (mh_conn_is_closed(c) && c->in.len == 0) {
		set_outcome(
		    res, c, MH_DLG_OK, i,
		    "the server had closed the connection; record %zu and later not awaited", i);
		return 0;
	}
	struct mh_expect e;
	memset(&e, 0, sizeof(e));
	if (c->session != NULL && !mh_session_expect(c->session, &e)) {
		/* the engine has no command waiting for a reply (a partial line, a BDAT chunk or
		   literal still short of its size, IDLE updates): nothing is owed, so nothing to
		   wait for and no hang to report */
		note(res, c, "record %zu: no reply is due; not awaited", i);
		return 1;
	}
	bool over = session_over(c, o->spec);
	note_pending(c, o->spec, res);
	struct mh_error err;
	mh_error_init(&err);
	int rc;
	if (c->target.proto == MH_PROTO_IMAP && strcmp(status, "*") == 0) {
		e.kind = MH_EXPECT_ONE; /* one response at a time, as conn:read{one = true} */
		rc = mh_conn_read_reply_as(c, &e, r, &err);
	} else {
		rc = mh_conn_read_reply(c, r, &err);
	}
	if (rc == 1) {
		res->replies++;
		add_pair(res, c, r->status);
		return 1;
	}
	if (over) {
		set_outcome(res, c, MH_DLG_OK, i,
		            "the session was over; no reply was due at record %zu", i);
		return 0;
	}
	enum mh_dlg_outcome oc = rc == 0 ? MH_DLG_DISCONNECT : read_failure(&err);
	if (oc == MH_DLG_DISCONNECT && close_announced(c)) {
		set_outcome(res, c, MH_DLG_OK, i,
		            "the server closed the connection after announcing it (%s); record %zu "
		            "and later not awaited",
		            c->target.proto == MH_PROTO_IMAP   ? "BYE"
		            : c->target.proto == MH_PROTO_SMTP ? "221/421"
		                                               : "-ERR",
		            i);
		return 0;
	}
	if (rc == 0) {
		set_outcome(res, c, MH_DLG_DISCONNECT, i,
		            "the server closed the connection before the reply due at record %zu",
		            i);
		return 0;
	}
	if (oc == MH_DLG_HANG) {
		res->partial = c->in.len;
		set_outcome(res, c, oc, i, "no reply due at record %zu within %lld ms (%s)", i,
		            (long long)o->reply_timeout_ms, err.msg);
	} else
		set_outcome(res, c, oc, i, "record %zu: %s", i, err.msg);
	return 0;
}

/* After the last record (drain_ms > 0): reads the replies the engine still counts as owed, so
   that a server that crashes or hangs up on a command the dialogue did not wait for shows it. */
static void drain(struct mh_conn *c, const struct mh_dlg_exec_opts *o, size_t at,
                  struct mh_reply *r, struct mh_dlg_result *res)
{
	c->opts.timeout_ms = o->drain_ms;
	/* bounded in time (four reply budgets in all) and in reads (one per owed reply, plus
	   some): replies that settle nothing (an IMAP "+" to a literal, unsolicited lines) or a
	   server answering just inside the budget must not keep a hostile server's drain going */
	c->opts.deadline_ms = mh_now_ms() + 4 * o->drain_ms;
	size_t reads_left = c->session != NULL ? mh_session_pending(c->session) + 16 : 0;
	while (c->session != NULL && mh_session_pending(c->session) > 0 &&
	       !session_over(c, o->spec)) {
		size_t owed = mh_session_pending(c->session);
		if (reads_left-- == 0) {
			note(res, c, "after the last record: %zu replies still owed; drain stopped",
			     owed);
			return;
		}
		note_pending(c, o->spec, res);
		struct mh_error err;
		mh_error_init(&err);
		int rc = mh_conn_read_reply(c, r, &err);
		if (rc == 1) {
			res->replies++;
			add_pair(res, c, r->status);
			continue;
		}
		enum mh_dlg_outcome oc = rc == 0 ? MH_DLG_DISCONNECT : read_failure(&err);
		if (oc == MH_DLG_DISCONNECT && close_announced(c))
			return;
		if (oc == MH_DLG_DISCONNECT)
			set_outcome(res, c, MH_DLG_DISCONNECT, at,
			            "after the last record: the server closed the connection owing "
			            "%zu replies (%s)",
			            owed, rc == 0 ? "closed" : err.msg);
		else if (oc == MH_DLG_HANG)
			note(res, c,
			     "after the last record: %zu replies owed did not come within %lld ms "
			     "(the dialogue did not wait for them: no hang)",
			     owed, (long long)o->drain_ms);
		else
			set_outcome(res, c, MH_DLG_BAD_REPLY, at, "after the last record: %s",
			            err.msg);
		return;
	}
}

/* Describes the failed spec and syntax checks as violations. */
static void collect_violations(struct mh_dlg_result *res)
{
	for (size_t i = 0; i < res->checks.nchecks; i++) {
		const struct mh_check *k = &res->checks.checks[i];
		if (k->verdict != MH_V_FAIL ||
		    (k->kind != MH_CHECK_SPEC && k->kind != MH_CHECK_SYNTAX))
			continue;
		if (res->nviolations < MH_ARRAY_SIZE(res->violation))
			snprintf(res->violation[res->nviolations], sizeof(res->violation[0]),
			         "%s (%s %s)", k->message ? k->message : "?",
			         k->rfc ? k->rfc : "no RFC", mh_level_name(k->level));
		res->nviolations++;
	}
}

void mh_dlg_exec(const struct mh_dialogue *d, const struct mh_target *t,
                 const struct mh_dlg_exec_opts *o, struct mh_dlg_result *res)
{
	result_reset(res);
	int64_t t0 = mh_now_ms();
	struct mh_conn_opts co;
	conn_opts(o, res, t0, &co);
	struct mh_target tt = *t;
	if (tt.tls == MH_TLS_STARTTLS)
		tt.tls = MH_TLS_NONE; /* the dialogue carries its own STARTTLS and "tls" record */
	struct mh_error err;
	mh_error_init(&err);
	struct mh_conn *c = mh_conn_open(&tt, &co, 1, &err);
	if (c == NULL) {
		bool tls = strstr(err.msg, "TLS") != NULL;
		set_outcome(res, NULL, tls ? MH_DLG_TLS_FAILED : MH_DLG_REFUSED, MH_DLG_AT_GREETING,
		            "%s", err.msg);
		res->elapsed_ms = mh_now_ms() - t0;
		return;
	}
	c->opts.timeout_ms = o->reply_timeout_ms > 0 ? o->reply_timeout_ms : 10000;
	int rc = mh_conn_read_greeting(c, &err);
	if (rc == 1) {
		res->replies++;
		add_pair(res, c, c->greeting.status);
	} else if (rc == 0) {
		set_outcome(res, c, MH_DLG_DISCONNECT, MH_DLG_AT_GREETING,
		            "the server closed the connection without a greeting");
	} else {
		set_outcome(res, c, read_failure(&err), MH_DLG_AT_GREETING, "greeting: %s",
		            err.msg);
	}
	struct mh_reply r;
	mh_reply_init(&r, t->proto);
	struct mh_buf out;
	mh_buf_init(&out);
	bool expand = o->user != NULL || o->password != NULL;
	bool completed = rc == 1; /* every record went through (the loop did not break) */
	for (size_t i = 0; rc == 1 && i < d->n; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		if (m->op == MH_DLG_REPLY) {
			if (await_reply(c, o, m->status, i, &r, res) == 0) {
				completed = false;
				break;
			}
			continue;
		}
		if (mh_conn_is_closed(c)) {
			set_outcome(res, c, MH_DLG_OK, i,
			            "the server had closed the connection; record "
			            "%zu and later not sent",
			            i);
			completed = false;
			break;
		}
		mh_error_init(&err);
		if (m->op == MH_DLG_TLS) {
			if (mh_conn_start_tls(c, &err) != 0) {
				set_outcome(res, c, MH_DLG_TLS_FAILED, i, "record %zu: %s", i,
				            err.msg);
				completed = false;
				break;
			}
			continue;
		}
		const unsigned char *p = m->data;
		size_t n = m->len;
		if (expand) {
			mh_buf_reset(&out);
			mh_dialogue_expand(m->data, m->len, o->user, o->password, &out);
			p = out.data != NULL ? out.data : (const unsigned char *)"";
			n = out.len;
		}
		/* replies owed before this write: a close while nothing was owed is no finding */
		size_t owed = c->session != NULL ? mh_session_pending(c->session) : 1;
		note_pending(c, o->spec, res);
		bool over = session_over(c, o->spec);
		if (mh_conn_send(c, p, n, &err) != 0) {
			if (strstr(err.msg, "timeout") != NULL)
				set_outcome(res, c, MH_DLG_HANG, i, "record %zu: %s", i, err.msg);
			else if (over || owed == 0 || close_announced(c))
				set_outcome(
				    res, c, MH_DLG_OK, i,
				    "record %zu not sent: the server had closed the connection "
				    "owing no reply (%s)",
				    i, err.msg);
			else
				set_outcome(res, c, MH_DLG_DISCONNECT, i,
				            "record %zu: %s (%zu replies owed)", i, err.msg, owed);
			completed = false;
			break;
		}
	}
	if (c != NULL && completed && res->outcome == MH_DLG_OK) {
		note_pending(c, o->spec, res);
		if (o->drain_ms > 0) {
			drain(c, o, d->n, &r, res);
		} else if (t->proto != MH_PROTO_IMAP && c->session != NULL &&
		           mh_session_pending(c->session) == 0) {
			mh_error_init(&err);
			mh_conn_poll(c, 0, &err);
			res->unread = c->in.len;
		}
	}
	mh_buf_deinit(&out);
	mh_reply_deinit(&r);
	mh_conn_free(&c);
	collect_violations(res);
	res->elapsed_ms = mh_now_ms() - t0;
}

bool mh_dlg_alive(const struct mh_target *t, const struct mh_dlg_exec_opts *o, char *why,
                  size_t whylen)
{
	struct mh_dlg_exec_opts lo = *o;
	lo.spec = NULL;
	struct mh_conn_opts co;
	conn_opts(&lo, NULL, mh_now_ms(), &co);
	struct mh_target tt = *t;
	if (tt.tls == MH_TLS_STARTTLS)
		tt.tls = MH_TLS_NONE;
	struct mh_error err;
	mh_error_init(&err);
	struct mh_conn *c = mh_conn_open(&tt, &co, 1, &err);
	int rc = c != NULL ? mh_conn_read_greeting(c, &err) : -1;
	if (rc != 1 && why != NULL)
		snprintf(why, whylen, "%s", rc == 0 ? "closed without a greeting" : err.msg);
	mh_conn_free(&c);
	return rc == 1;
}

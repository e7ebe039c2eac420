/* session.c: the spec engine. Splits what the client sends into commands by the state's input
   mode, pairs replies with pending commands, judges each against the spec table, and moves the
   state in exactly one place (session_enter). */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PENDING   4096 /* commands awaiting a reply; beyond this, tracking stops */
#define MAX_LINE_KEEP 1024 /* bytes of a command line kept for verb parsing and reports */
#define MAX_SECRETS   4

/* Per-protocol facts that are about framing and secrets, not about states (those are in specs). */
struct redact_rule {
	const char *verb; /* command verb (after the IMAP tag) */
	int from_word;    /* words from this index on (verb = 0) are secret */
};
struct proto_hooks {
	bool tagged;                      /* IMAP: commands carry tags, replies pair by tag */
	const char *caps_cmds[3];         /* commands whose reply announces capabilities */
	bool caps_any_reply;              /* IMAP: any reply may carry CAPABILITY data */
	const char *enhanced_cap;         /* capability that obliges enhanced status codes */
	const char *enhanced_exempt[3];   /* commands whose replies are exempt (RFC 2034 3 (4)) */
	const struct redact_rule *redact; /* terminated by {NULL, 0} */
	/* when the server closes on its own: the rule it breaks, and whether that needs commands
	   left unanswered (SMTP) or any close without an untagged BYE (IMAP); NULL = none */
	const char *close_rfc;
	const char *close_rule;
	bool close_needs_pending;
	bool close_needs_no_bye;
	/* capability after which a reply text starting with "[" must be a well-formed code */
	const char *resp_codes_cap;
};

static const struct redact_rule smtp_redact[] = {{"AUTH", 2}, {NULL, 0}};
static const struct redact_rule imap_redact[] = {{"LOGIN", 2}, {"AUTHENTICATE", 2}, {NULL, 0}};
static const struct redact_rule pop3_redact[] = {{"PASS", 1}, {"APOP", 2}, {"AUTH", 2}, {NULL, 0}};

static const struct proto_hooks hooks[] = {
    [MH_PROTO_SMTP] =
        {
            .caps_cmds = {"EHLO"},
            .enhanced_cap = "ENHANCEDSTATUSCODES",
            .enhanced_exempt = {"@greeting", "HELO", "EHLO"},
            .redact = smtp_redact,
            .close_rfc = "RFC 5321 3.8",
            .close_rule = "the server closed the connection without replying (it may close "
                          "only after 221 to QUIT, after 421, or after a timeout)",
            .close_needs_pending = true,
        },
    [MH_PROTO_IMAP] =
        {
            .tagged = true,
            .caps_cmds = {"CAPABILITY"},
            .caps_any_reply = true,
            .redact = imap_redact,
            .close_rfc = "RFC 3501 3.4",
            .close_rule = "the server closed the connection without an untagged BYE",
            .close_needs_no_bye = true,
        },
    [MH_PROTO_POP3] =
        {
            .caps_cmds = {"CAPA"},
            .redact = pop3_redact,
            .resp_codes_cap = "RESP-CODES",
        },
};
_Static_assert(MH_ARRAY_SIZE(hooks) == MH_PROTO_COUNT, "hooks out of sync");

struct pending {
	int cmd;            /* spec command index */
	char tag[64];       /* IMAP tag, else "" */
	bool has_args;      /* POP3 multi-line rule "no-args" */
	int return_state;   /* the state the owning command was sent in */
	bool awaiting_cont; /* IMAP: a synchronizing literal waits for "+" */
	char *sent;         /* escaped, redacted command text for checks */
};

struct mh_session {
	const struct mh_spec *spec;
	const struct proto_hooks *hooks;
	struct mh_case_result *result;
	int conn;
	int state;
	bool greeted;
	struct pending *pending;
	size_t npending, pending_cap;
	bool overflow;
	struct mh_caps caps;
	bool caps_known;
	/* client-side input splitting */
	struct mh_buf line; /* the command line being assembled (first MAX_LINE_KEEP bytes) */
	size_t line_len;    /* its true length */
	int data_st; /* MH_INPUT_DATA scanner: 0 mid-line, 1 CR, 2 line start, 3 ".", 4 ".CR" */
	uint64_t literal_left; /* IMAP literal or BDAT chunk bytes still to pass over */
	bool in_literal_cmd;   /* IMAP: the current command was already queued (sync literal) */
	char owner_tag[64];    /* tag and return state for "@continuation" lines */
	int owner_return;
	bool owner_secret; /* the lines answer a SASL exchange (AUTH), not e.g. IDLE's DONE */
	char *secrets[MAX_SECRETS];
	size_t nsecrets;
	int64_t t0;    /* case start, for transcript event times */
	bool bye_seen; /* IMAP: an untagged BYE arrived */
	/* the last reply announced that the server may close: SMTP 221 or 421 (to any command:
	   RFC 5321 7.8 lets a server under attack defend itself), an IMAP BYE, a POP3 -ERR (RFC
	   1939 has no rule against closing) */
	bool close_announced;
};

struct mh_session *mh_session_new(const struct mh_spec *spec, struct mh_case_result *c, int conn)
{
	struct mh_session *s = mh_calloc(1, sizeof(*s));
	s->spec = spec;
	s->hooks = &hooks[spec->proto];
	s->result = c;
	s->conn = conn;
	s->state = spec->initial;
	s->owner_return = spec->initial;
	s->data_st = 2;
	s->t0 = mh_now_ms();
	mh_caps_init(&s->caps);
	mh_buf_init(&s->line);
	return s;
}

static void pending_drop(struct mh_session *s, size_t i)
{
	free(s->pending[i].sent);
	memmove(&s->pending[i], &s->pending[i + 1], (s->npending - i - 1) * sizeof(*s->pending));
	s->npending--;
}

void mh_session_free(struct mh_session **sp)
{
	struct mh_session *s = *sp;
	if (s == NULL)
		return;
	while (s->npending > 0)
		pending_drop(s, s->npending - 1);
	free(s->pending);
	mh_caps_deinit(&s->caps);
	mh_buf_deinit(&s->line);
	for (size_t i = 0; i < s->nsecrets; i++)
		free(s->secrets[i]);
	free(s);
	*sp = NULL;
}

static const char *state_name(const struct mh_session *s, int st)
{
	return st >= 0 && (size_t)st < s->spec->nstates ? s->spec->states[st].name : "?";
}

/* The input mode for the next client bytes; after the end-of-data terminator they are commands
   again even before its reply arrives (pipelining). */
static enum mh_input input_mode(const struct mh_session *s)
{
	enum mh_input m = s->spec->states[s->state].input;
	return m == MH_INPUT_DATA && s->data_st == 5 ? MH_INPUT_COMMAND : m;
}

/* The only place the state changes. */
static void session_enter(struct mh_session *s, int next, int return_state, const char *why)
{
	if (next == MH_STATE_SAME || next == s->state)
		return;
	if (next == MH_STATE_RETURN)
		next = return_state;
	if (next < 0 || (size_t)next >= s->spec->nstates)
		return;
	if (s->result != NULL) {
		char ev[256];
		snprintf(ev, sizeof(ev), "state %s -> %s (%s)", state_name(s, s->state),
		         state_name(s, next), why);
		mh_case_add_transcript(s->result, s->conn, '*', ev, strlen(ev),
		                       mh_now_ms() - s->t0);
	}
	s->state = next;
	s->data_st = 2;
}

/* ---- client side: splitting sent bytes into commands ---- */

/* Finds word number idx (0-based) of line; returns its start and sets *len_r. */
static const char *word_at(const char *line, size_t len, int idx, size_t *len_r)
{
	size_t i = 0;
	for (int w = 0;; w++) {
		while (i < len && line[i] == ' ')
			i++;
		if (i >= len)
			return NULL;
		size_t start = i;
		while (i < len && line[i] != ' ')
			i++;
		if (w == idx) {
			*len_r = i - start;
			return line + start;
		}
	}
}

/* Extracts the verb (SMTP "MAIL FROM:<x>" -> MAIL; IMAP after the tag) and the tag. */
static void parse_verb(const struct mh_session *s, const char *line, size_t len, char *verb,
                       size_t vlen, char *tag, size_t tlen, bool *has_args)
{
	int vi = s->hooks->tagged ? 1 : 0;
	size_t wl = 0;
	const char *w;
	tag[0] = '\0';
	verb[0] = '\0';
	if (s->hooks->tagged && (w = word_at(line, len, 0, &wl)) != NULL)
		snprintf(tag, tlen, "%.*s", (int)(wl < tlen ? wl : tlen - 1), w);
	w = word_at(line, len, vi, &wl);
	*has_args = w != NULL && word_at(line, len, vi + 1, &(size_t){0}) != NULL;
	if (w == NULL)
		return;
	size_t n = 0;
	while (n < wl && n + 1 < vlen && w[n] != ':') {
		char ch = w[n];
		verb[n++] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
	}
	verb[n] = '\0';
	if (n < wl && w[n] == ':')
		*has_args = true; /* "MAIL FROM:<>" has its argument in the same word */
}

static void push_pending(struct mh_session *s, int cmd, const char *tag, bool has_args,
                         const char *sent, bool awaiting)
{
	if (s->npending >= MAX_PENDING) {
		s->overflow = true;
		return;
	}
	if (s->npending == s->pending_cap) {
		s->pending_cap = s->pending_cap ? s->pending_cap * 2 : 16;
		s->pending = mh_realloc(s->pending, s->pending_cap * sizeof(*s->pending));
	}
	struct pending *p = &s->pending[s->npending++];
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	snprintf(p->tag, sizeof(p->tag), "%s", tag);
	p->has_args = has_args;
	p->return_state = s->state;
	p->awaiting_cont = awaiting;
	p->sent = mh_strdup(sent);
}

static void redact_line(const struct mh_session *s, const char *line, size_t len,
                        struct mh_buf *out);

/* A complete command line (without its line end) in the current input mode. */
static void line_done(struct mh_session *s, bool literal_pending)
{
	const char *line = mh_buf_cstr(&s->line);
	size_t len = s->line.len;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	struct mh_buf shown;
	mh_buf_init(&shown);
	redact_line(s, line, len, &shown);
	if (s->line_len > MAX_LINE_KEEP)
		mh_buf_printf(&shown, "...(%zu bytes)", s->line_len);
	enum mh_input mode = input_mode(s);
	if (mode == MH_INPUT_LINE) {
		int cmd = mh_spec_command_find(s->spec, "@continuation");
		if (cmd >= 0) {
			push_pending(s, cmd, s->owner_tag, false,
			             s->owner_secret ? "[redacted continuation line]"
			                             : mh_buf_cstr(&shown),
			             false);
			s->pending[s->npending - 1].return_state = s->owner_return;
		}
	} else if (mode == MH_INPUT_COMMAND && !s->in_literal_cmd) {
		char verb[64], tag[64];
		bool has_args;
		parse_verb(s, line, len, verb, sizeof(verb), tag, sizeof(tag), &has_args);
		int cmd = verb[0] ? mh_spec_command_find(s->spec, verb) : -1;
		if (cmd >= 0 && s->spec->commands[cmd].pseudo)
			cmd = -1;
		if (cmd < 0)
			cmd = mh_spec_command_find(s->spec, "@unknown");
		if (cmd >= 0)
			push_pending(s, cmd, tag, has_args, mh_buf_cstr(&shown), literal_pending);
		if (cmd >= 0 && s->spec->commands[cmd].payload_first_arg) {
			/* BDAT <size>: the next <size> octets are message data, not commands */
			size_t wl = 0;
			const char *w = word_at(line, len, s->hooks->tagged ? 2 : 1, &wl);
			char num[24];
			unsigned long long v;
			if (w != NULL && wl < sizeof(num)) {
				memcpy(num, w, wl);
				num[wl] = '\0';
				if (mh_parse_uint(num, 0, UINT64_MAX, &v) == 0)
					s->literal_left = v;
			}
		}
		if (literal_pending)
			s->in_literal_cmd = true;
	} else if (s->in_literal_cmd && s->npending > 0) {
		/* the rest of a command that carried a literal: extend its shown text */
		struct pending *p = &s->pending[s->npending - 1];
		if (!literal_pending)
			p->awaiting_cont = false;
		else
			p->awaiting_cont = true;
	}
	if (!literal_pending)
		s->in_literal_cmd = false;
	mh_buf_deinit(&shown);
	mh_buf_reset(&s->line);
	s->line_len = 0;
}

/* IMAP: does the line end with a literal announcement "{n}" or "{n+}"? Sets size and sync. */
static bool line_literal(const char *line, size_t len, uint64_t *n_r, bool *sync_r)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len < 3 || line[len - 1] != '}')
		return false;
	size_t i = len - 1;
	bool plus = false;
	if (line[i - 1] == '+') {
		plus = true;
		i--;
	}
	uint64_t v = 0, mul = 1;
	size_t digits = 0;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9' && digits < 19) {
		v += (uint64_t)(line[i - 1] - '0') * mul;
		mul *= 10;
		i--;
		digits++;
	}
	if (digits == 0 || i == 0 || line[i - 1] != '{')
		return false;
	*n_r = v;
	*sync_r = !plus;
	return true;
}

static void line_append(struct mh_session *s, const unsigned char *p, size_t n)
{
	if (s->line.len < MAX_LINE_KEEP) {
		size_t room = MAX_LINE_KEEP - s->line.len;
		mh_buf_append(&s->line, p, n < room ? n : room);
	}
	s->line_len += n;
}

void mh_session_sent(struct mh_session *s, const unsigned char *data, size_t n)
{
	size_t i = 0;
	while (i < n) {
		enum mh_input mode = input_mode(s);
		if (mode == MH_INPUT_NONE)
			return;
		if (s->literal_left > 0) {
			size_t take = n - i < s->literal_left ? n - i : (size_t)s->literal_left;
			s->literal_left -= take;
			i += take;
			continue;
		}
		if (mode == MH_INPUT_DATA) {
			/* message data ends at <CRLF>.<CRLF>; only CRLF counts as a line end (RFC
			 * 5321 4.1.1.4) */
			unsigned char ch = data[i++];
			switch (s->data_st) {
			case 0: s->data_st = ch == '\r' ? 1 : 0; break;
			case 1: s->data_st = ch == '\n' ? 2 : (ch == '\r' ? 1 : 0); break;
			case 2: s->data_st = ch == '.' ? 3 : (ch == '\r' ? 1 : 0); break;
			case 3: s->data_st = ch == '\r' ? 4 : 0; break;
			case 4:
				if (ch == '\n') {
					int cmd = mh_spec_command_find(s->spec, "@end-of-data");
					if (cmd >= 0)
						push_pending(s, cmd, "", false, "<CRLF>.<CRLF>",
						             false);
					s->data_st =
					    5; /* terminator seen: what follows is commands */
				} else {
					s->data_st = ch == '\r' ? 1 : 0;
				}
				break;
			}
			continue;
		}
		const unsigned char *nl = memchr(data + i, '\n', n - i);
		size_t end = nl != NULL ? (size_t)(nl - data) + 1 : n;
		line_append(s, data + i, end - i);
		i = end;
		if (nl == NULL)
			break;
		uint64_t lit = 0;
		bool sync = false;
		bool has_lit = s->hooks->tagged && mode == MH_INPUT_COMMAND &&
		               line_literal(mh_buf_cstr(&s->line), s->line.len, &lit, &sync);
		if (has_lit) {
			/* the command continues after the literal; a synchronizing one is queued
			   now so the "+" pairs with it */
			if (!s->in_literal_cmd)
				line_done(s, sync);
			else {
				s->pending[s->npending > 0 ? s->npending - 1 : 0].awaiting_cont =
				    sync;
				mh_buf_reset(&s->line);
				s->line_len = 0;
			}
			s->in_literal_cmd = true;
			s->literal_left = lit;
		} else {
			line_done(s, false);
		}
	}
}

/* ---- redaction ---- */

static void scrub_secrets(const struct mh_session *s, struct mh_buf *b)
{
	for (size_t k = 0; k < s->nsecrets; k++) {
		size_t sl = strlen(s->secrets[k]);
		if (sl < 3 || b->len < sl)
			continue;
		for (size_t i = 0; i + sl <= b->len; i++) {
			if (memcmp(b->data + i, s->secrets[k], sl) == 0) {
				struct mh_buf out;
				mh_buf_init(&out);
				mh_buf_append(&out, b->data, i);
				mh_buf_append_str(&out, "[redacted]");
				mh_buf_append(&out, b->data + i + sl, b->len - i - sl);
				mh_buf_deinit(b);
				*b = out;
				i += strlen("[redacted]") - 1;
			}
		}
	}
}

static void redact_line(const struct mh_session *s, const char *line, size_t len,
                        struct mh_buf *out)
{
	size_t start = out->len;
	int vi = s->hooks->tagged ? 1 : 0;
	size_t wl = 0;
	const char *verb = word_at(line, len, vi, &wl);
	int from = -1;
	for (const struct redact_rule *r = s->hooks->redact; verb != NULL && r->verb != NULL; r++)
		if (strlen(r->verb) == wl && mh_strncaseeq(verb, r->verb, wl))
			from = r->from_word + vi;
	const char *secret = from >= 0 ? word_at(line, len, from, &wl) : NULL;
	if (secret != NULL) {
		mh_buf_append_escaped(out, (const unsigned char *)line, (size_t)(secret - line),
		                      SIZE_MAX);
		mh_buf_append_str(out, "[redacted]");
	} else {
		mh_buf_append_escaped(out, (const unsigned char *)line, len, SIZE_MAX);
	}
	struct mh_buf tmp;
	mh_buf_init(&tmp);
	mh_buf_append(&tmp, out->data + start, out->len - start);
	scrub_secrets(s, &tmp);
	out->len = start;
	mh_buf_append(out, tmp.data, tmp.len);
	mh_buf_deinit(&tmp);
}

void mh_session_redact(const struct mh_session *s, const unsigned char *data, size_t n,
                       struct mh_buf *out)
{
	enum mh_input mode = input_mode(s);
	if (mode == MH_INPUT_LINE && s->owner_secret) {
		/* SASL responses: never recorded */
		size_t i = 0;
		while (i < n) {
			const unsigned char *nl = memchr(data + i, '\n', n - i);
			size_t end = nl ? (size_t)(nl - data) + 1 : n;
			mh_buf_printf(out, "[redacted %zu bytes]%s", end - i, nl ? "\r\n" : "");
			i = end;
		}
		return;
	}
	if (mode == MH_INPUT_DATA || s->literal_left > 0) {
		size_t start = out->len;
		mh_buf_append(out, data, n);
		struct mh_buf tmp;
		mh_buf_init(&tmp);
		mh_buf_append(&tmp, out->data + start, n);
		scrub_secrets(s, &tmp);
		out->len = start;
		mh_buf_append(out, tmp.data, tmp.len);
		mh_buf_deinit(&tmp);
		return;
	}
	/* command lines: redact by verb; keep the bytes exact otherwise */
	size_t i = 0;
	while (i < n) {
		const unsigned char *nl = memchr(data + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - data) + 1 : n;
		size_t l = end - i;
		size_t wl = 0;
		int vi = s->hooks->tagged ? 1 : 0;
		const char *line = (const char *)data + i;
		const char *verb = word_at(line, l, vi, &wl);
		int from = -1;
		for (const struct redact_rule *r = s->hooks->redact;
		     verb != NULL && r->verb != NULL; r++)
			if (strlen(r->verb) == wl && mh_strncaseeq(verb, r->verb, wl))
				from = r->from_word + vi;
		const char *secret = from >= 0 ? word_at(line, l, from, &wl) : NULL;
		struct mh_buf tmp;
		mh_buf_init(&tmp);
		if (secret != NULL) {
			mh_buf_append(&tmp, line, (size_t)(secret - line));
			mh_buf_append_str(&tmp, "[redacted]");
			size_t eol = l;
			while (eol > 0 && (line[eol - 1] == '\r' || line[eol - 1] == '\n'))
				eol--;
			mh_buf_append(&tmp, line + eol, l - eol);
		} else {
			mh_buf_append(&tmp, line, l);
		}
		scrub_secrets(s, &tmp);
		mh_buf_append(out, tmp.data, tmp.len);
		mh_buf_deinit(&tmp);
		i = end;
	}
}

/* ---- server side: judging replies ---- */

bool mh_session_expect(const struct mh_session *s, struct mh_expect *e)
{
	memset(e, 0, sizeof(*e));
	e->kind = MH_EXPECT_REPLY;
	if (!s->greeted && s->state == s->spec->initial) {
		e->kind = MH_EXPECT_GREETING;
		return true;
	}
	if (s->npending == 0)
		return false;
	const struct pending *p = &s->pending[0];
	const struct mh_spec_command *c = &s->spec->commands[p->cmd];
	if (s->hooks->tagged) {
		/* any tag: replies may complete out of order; the judge pairs them */
		if (s->npending == 1)
			snprintf(e->tag, sizeof(e->tag), "%s", p->tag);
	}
	e->multiline =
	    c->multiline == MH_ML_ALWAYS || (c->multiline == MH_ML_NO_ARGS && !p->has_args);
	e->sasl =
	    true; /* a "+" continuation is framed; whether it is permitted is the table's call */
	return true;
}

static void add_check(struct mh_session *s, enum mh_check_kind kind, bool ok, const char *msg,
                      const char *sent, const struct mh_reply *r, const char *expected,
                      const char *rfc, enum mh_level level, int before, int after)
{
	if (s->result == NULL)
		return;
	struct mh_buf recv;
	mh_buf_init(&recv);
	if (r != NULL)
		mh_buf_append_escaped(&recv, r->raw.data ? r->raw.data : (const unsigned char *)"",
		                      r->raw.len, 2048);
	struct mh_check *k =
	    mh_case_add_check(s->result, kind, ok ? MH_V_PASS : MH_V_FAIL, msg, sent,
	                      r != NULL ? mh_buf_cstr(&recv) : NULL, expected, rfc, level);
	k->state = mh_strdup(state_name(s, before));
	k->next_state = mh_strdup(state_name(s, after));
	k->conn = s->conn;
	mh_buf_deinit(&recv);
}

/* Does an IMAP reply carry an untagged response named name ("* BYE", "* 3 EXISTS")? */
static bool has_untagged(const struct mh_reply *r, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < r->nlines; i++) {
		size_t len;
		const char *l = (const char *)mh_reply_line_data(r, i, &len);
		if (len < 2 || l[0] != '*' || l[1] != ' ')
			continue;
		size_t wl = 0;
		const char *w = word_at(l, len, 1, &wl);
		if (w != NULL && w[0] >= '0' && w[0] <= '9')
			w = word_at(l, len, 2, &wl);
		if (w != NULL && wl == nl && mh_strncaseeq(w, name, nl))
			return true;
	}
	return false;
}

static void check_syntax(struct mh_session *s, const struct pending *p, const struct mh_reply *r,
                         const char *cmdname)
{
	for (size_t i = 0; i < r->nsyntax; i++)
		add_check(s, MH_CHECK_SYNTAX, false, r->syntax[i].msg, p ? p->sent : NULL, r,
		          "a reply that follows the grammar", r->syntax[i].rfc,
		          (enum mh_level)r->syntax[i].level, s->state, s->state);
	const struct proto_hooks *h = s->hooks;
	if (h->resp_codes_cap != NULL && s->caps_known &&
	    mh_caps_has(&s->caps, h->resp_codes_cap)) {
		/* the parser leaves an unclosed "[" in the text */
		if (mh_buf_cstr(&r->text)[0] == '[')
			add_check(s, MH_CHECK_SYNTAX, false,
			          "RESP-CODES advertised, but a response text starting with \"[\" "
			          "is not a "
			          "well-formed extended response code",
			          p ? p->sent : NULL, r, "\"[\" resp-code \"]\"", "RFC 2449 6.4",
			          MH_LEVEL_MUST, s->state, s->state);
	}
	if (h->enhanced_cap == NULL || !s->caps_known || !mh_caps_has(&s->caps, h->enhanced_cap))
		return;
	if (r->code < 200 || (r->code >= 300 && r->code < 400))
		return;
	for (size_t i = 0; i < MH_ARRAY_SIZE(h->enhanced_exempt) && h->enhanced_exempt[i]; i++)
		if (strcmp(cmdname, h->enhanced_exempt[i]) == 0)
			return;
	/* RFC 2034 4: "the same status code must appear at the beginning of the text in each line"
	 */
	bool every_line = true;
	for (size_t i = 0; i + 1 < r->nlines && every_line; i++) {
		size_t len;
		const char *l = (const char *)mh_reply_line_data(r, i, &len);
		size_t el = strlen(r->enhanced);
		every_line = len >= 4 + el && memcmp(l + 4, r->enhanced, el) == 0 &&
		             (len == 4 + el || l[4 + el] == ' ');
	}
	if (r->enhanced[0] != '\0' && mh_smtp_enhanced_valid(r->enhanced, r->code) && !every_line) {
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "%s advertised, but not every line of the %d reply starts with "
		         "the status code %s",
		         h->enhanced_cap, r->code, r->enhanced);
		add_check(s, MH_CHECK_SYNTAX, false, msg, p ? p->sent : NULL, r,
		          "the same X.Y.Z at the start of each line", "RFC 2034 4", MH_LEVEL_MUST,
		          s->state, s->state);
	}
	if (!mh_smtp_enhanced_valid(r->enhanced, r->code)) {
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "%s advertised, but reply %d %s an enhanced status code of "
		         "class %d",
		         h->enhanced_cap, r->code, r->enhanced[0] ? "carries the wrong" : "lacks",
		         r->code / 100);
		add_check(s, MH_CHECK_SYNTAX, false, msg, p ? p->sent : NULL, r,
		          "X.Y.Z with X = first digit of the code", "RFC 2034 4", MH_LEVEL_MUST,
		          s->state, s->state);
	}
}

/* Picks the pending command a reply belongs to. Returns its index or -1. */
static long find_pending(const struct mh_session *s, const struct mh_reply *r)
{
	if (s->npending == 0)
		return -1;
	if (!s->hooks->tagged)
		return 0;
	if (r->cls == MH_RC_CONTINUE) {
		for (size_t i = s->npending; i-- > 0;)
			if (s->pending[i].awaiting_cont)
				return (long)i;
		return 0;
	}
	for (size_t i = 0; i < s->npending; i++)
		if (r->tag[0] != '\0' && strcmp(s->pending[i].tag, r->tag) == 0)
			return (long)i;
	return r->tag[0] == '\0' ? -1 : 0;
}

static void update_caps(struct mh_session *s, const struct mh_reply *r, const char *cmdname)
{
	bool announces = s->hooks->caps_any_reply;
	for (size_t i = 0; i < MH_ARRAY_SIZE(s->hooks->caps_cmds) && s->hooks->caps_cmds[i]; i++)
		if (strcmp(cmdname, s->hooks->caps_cmds[i]) == 0)
			announces = true;
	if (!announces || r->cls != MH_RC_OK)
		return;
	if (mh_caps_from_reply(&s->caps, r) == 1) {
		s->caps_known = true;
	} else if (!s->hooks->caps_any_reply) {
		/* a one-line EHLO reply or an empty CAPA list: no extensions at all */
		mh_caps_clear(&s->caps);
		s->caps_known = true;
	}
}

static void judge(struct mh_session *s, struct pending *p, const struct mh_reply *r)
{
	const struct mh_spec *spec = s->spec;
	const struct mh_spec_command *c = &spec->commands[p->cmd];
	int before = s->state;
	if (s->result != NULL)
		mh_case_add_cell(s->result, before, p->cmd);

	const struct mh_spec_rule *rule = mh_spec_rule_for(spec, p->cmd, before);
	bool gated_off =
	    c->capability != NULL && s->caps_known && !mh_caps_has(&s->caps, c->capability);
	const struct mh_spec_outcome *o = NULL;
	const struct mh_spec_rule *used = rule;
	char msg[512];

	if (rule == NULL) {
		used = mh_spec_disallowed_for(spec, p->cmd);
	} else if (gated_off && mh_spec_outcome_match(&spec->not_advertised, r) != NULL) {
		used = &spec->not_advertised;
	}
	if (used != NULL)
		o = mh_spec_outcome_match(used, r);
	if (o == NULL && spec->always.noutcomes > 0) {
		const struct mh_spec_outcome *a = mh_spec_outcome_match(&spec->always, r);
		if (a != NULL) {
			o = a;
			used = &spec->always;
		}
	}
	struct mh_buf exp;
	mh_buf_init(&exp);
	if (used != NULL)
		mh_spec_rule_expected(used, &exp);

	if (o != NULL) {
		int after = o->next == MH_STATE_SAME     ? before
		            : o->next == MH_STATE_RETURN ? p->return_state
		                                         : o->next;
		snprintf(msg, sizeof(msg), "%s in state %s: %s %s", c->name, state_name(s, before),
		         r->status,
		         rule == NULL ? "(command not allowed in this state)" : "permitted");
		add_check(s, MH_CHECK_SPEC, true, msg, p->sent, r, mh_buf_cstr(&exp), used->rfc,
		          used->level, before, after);
		for (size_t i = 0; i < o->nrequire; i++) {
			if (has_untagged(r, o->require_untagged[i]))
				continue;
			snprintf(msg, sizeof(msg),
			         "%s %s without the required untagged %s response", c->name,
			         r->status, o->require_untagged[i]);
			add_check(s, MH_CHECK_SPEC, false, msg, p->sent, r, o->require_untagged[i],
			          o->rfc ? o->rfc : used->rfc, o->rfc ? o->level : used->level,
			          before, before);
		}
		session_enter(s, o->next, p->return_state, c->name);
	} else if (gated_off || (strcmp(c->name, "@unknown") == 0 &&
	                         (r->cls == MH_RC_OK || r->cls == MH_RC_CONTINUE))) {
		/* an unadvertised extension that works anyway breaks no requirement; nor does
		   success for a verb the table does not know: the server implements a command we
		   don't model */
		if (gated_off)
			snprintf(msg, sizeof(msg), "%s answered %s although %s is not advertised",
			         c->name, r->status, c->capability);
		else
			snprintf(msg, sizeof(msg),
			         "a command the table does not know was answered %s: an "
			         "extension of the server's",
			         r->status);
		add_check(s, MH_CHECK_SPEC, true, msg, p->sent, r, mh_buf_cstr(&exp), c->rfc,
		          MH_LEVEL_MAY, before, before);
	} else {
		if (rule == NULL)
			snprintf(msg, sizeof(msg),
			         "%s is not allowed in state %s; the server answered %s", c->name,
			         state_name(s, before), r->status);
		else
			snprintf(msg, sizeof(msg),
			         "%s in state %s: reply %s is not one the RFC permits", c->name,
			         state_name(s, before), r->status[0] ? r->status : "(none)");
		add_check(s, MH_CHECK_SPEC, false, msg, p->sent, r, mh_buf_cstr(&exp),
		          used ? used->rfc : c->rfc, used ? used->level : c->level, before, before);
	}
	mh_buf_deinit(&exp);
}

void mh_session_reply(struct mh_session *s, const struct mh_reply *r)
{
	const struct mh_spec *spec = s->spec;
	if (!s->greeted && s->state == spec->initial) {
		s->greeted = true;
		int g = mh_spec_command_find(spec, "@greeting");
		struct pending gp = {.cmd = g, .return_state = s->state, .sent = NULL};
		check_syntax(s, NULL, r, "@greeting");
		if (g >= 0)
			judge(s, &gp, r);
		update_caps(s, r, "@greeting");
		if (r->cls == MH_RC_BYE)
			s->bye_seen = true;
		return;
	}
	switch (spec->proto) {
	case MH_PROTO_SMTP: s->close_announced = r->code == 221 || r->code == 421; break;
	case MH_PROTO_POP3: s->close_announced = r->cls == MH_RC_PERMFAIL; break;
	default: break; /* IMAP: bye_seen */
	}
	long idx = find_pending(s, r);
	if (idx < 0) {
		if (s->result != NULL) {
			const char *ev = "reply without a pending command (unsolicited)";
			mh_case_add_transcript(s->result, s->conn, '*', ev, strlen(ev),
			                       mh_now_ms() - s->t0);
		}
		/* RFC 5321 3.8 / RFC 3501 7.1.5: a server shutting down may speak unasked */
		if (r->cls == MH_RC_BYE)
			s->bye_seen = true;
		if (r->code == 421 || r->cls == MH_RC_BYE)
			session_enter(s, spec->closed, s->state, "unsolicited shutdown reply");
		return;
	}
	struct pending *p = &s->pending[idx];
	const char *name = spec->commands[p->cmd].name;
	if (p->awaiting_cont && r->cls != MH_RC_CONTINUE) {
		/* a synchronizing literal refused before its "+": the client will not send it, so
		   the bytes that follow are commands again (RFC 3501 7.5) */
		s->literal_left = 0;
		s->in_literal_cmd = false;
		mh_buf_reset(&s->line);
		s->line_len = 0;
	}
	check_syntax(s, p, r, name);
	update_caps(s, r, name);
	judge(s, p, r);
	if (r->cls == MH_RC_CONTINUE && input_mode(s) == MH_INPUT_LINE) {
		/* the exchange goes on as "@continuation" lines that inherit tag and return state
		 */
		snprintf(s->owner_tag, sizeof(s->owner_tag), "%s", p->tag);
		s->owner_return = p->return_state;
		if (strcmp(name, "@continuation") != 0) {
			s->owner_secret = false;
			for (const struct redact_rule *rr = s->hooks->redact; rr->verb != NULL;
			     rr++)
				if (mh_strcaseeq(rr->verb, name))
					s->owner_secret = true;
		}
		pending_drop(s, (size_t)idx);
	} else if (r->cls == MH_RC_CONTINUE && s->hooks->tagged &&
	           spec->states[s->state].input != MH_INPUT_DATA) {
		p->awaiting_cont = false; /* literal accepted; the tagged reply is still to come */
		if (strcmp(name, "@continuation") == 0)
			pending_drop(s, (size_t)idx);
	} else {
		pending_drop(s, (size_t)idx);
	}
	if (s->hooks->tagged && (r->cls == MH_RC_BYE || has_untagged(r, "BYE")))
		s->bye_seen = true;
	if (s->hooks->tagged && r->cls != MH_RC_CONTINUE && has_untagged(r, "BYE") &&
	    s->state != spec->closed)
		session_enter(s, spec->closed, s->state, "untagged BYE");
	if (input_mode(s) != MH_INPUT_DATA)
		s->data_st = 2;
}

void mh_session_closed(struct mh_session *s, bool by_server)
{
	const struct proto_hooks *h = s->hooks;
	bool final = s->spec->states[s->state].final;
	if (by_server && !final && h->close_rfc != NULL && !s->close_announced &&
	    ((h->close_needs_pending && s->npending > 0) ||
	     (h->close_needs_no_bye && !s->bye_seen))) {
		const struct pending *p = s->npending > 0 ? &s->pending[0] : NULL;
		add_check(s, MH_CHECK_SPEC, false, h->close_rule, p ? p->sent : NULL, NULL,
		          "a reply, or a shutdown notice before the close", h->close_rfc,
		          MH_LEVEL_MUST, s->state, s->spec->closed);
	}
	while (s->npending > 0)
		pending_drop(s, s->npending - 1);
	session_enter(s, s->spec->closed, s->state, by_server ? "server closed" : "client closed");
}

void mh_session_tls_started(struct mh_session *s)
{
	/* commands sent before the handshake were plaintext; their replies must never come */
	while (s->npending > 0)
		pending_drop(s, s->npending - 1);
	mh_caps_clear(&s->caps);
	s->caps_known = false;
	mh_buf_reset(&s->line);
	s->line_len = 0;
	s->literal_left = 0;
	s->in_literal_cmd = false;
}

int mh_session_state(const struct mh_session *s)
{
	return s->state;
}

const char *mh_session_state_name(const struct mh_session *s)
{
	return state_name(s, s->state);
}

const struct mh_caps *mh_session_caps(const struct mh_session *s)
{
	return s->caps_known ? &s->caps : NULL;
}

size_t mh_session_pending(const struct mh_session *s)
{
	return s->npending;
}

bool mh_session_close_announced(const struct mh_session *s)
{
	return s->close_announced || s->bye_seen;
}

int mh_session_pending_cmd(const struct mh_session *s)
{
	return s->npending > 0 ? s->pending[0].cmd : -1;
}

void mh_session_set_caps(struct mh_session *s, const struct mh_caps *caps)
{
	mh_caps_clear(&s->caps);
	for (size_t i = 0; i < caps->n && i < MH_CAPS_MAX; i++) {
		s->caps.name[i] = mh_strdup(caps->name[i]);
		s->caps.value[i] = mh_strdup(caps->value[i]);
	}
	s->caps.n = caps->n;
	s->caps_known = true;
}

void mh_session_set_clock(struct mh_session *s, int64_t case_start_ms)
{
	s->t0 = case_start_ms;
}

void mh_session_add_secret(struct mh_session *s, const char *secret)
{
	if (secret != NULL && *secret != '\0' && s->nsecrets < MAX_SECRETS)
		s->secrets[s->nsecrets++] = mh_strdup(secret);
}

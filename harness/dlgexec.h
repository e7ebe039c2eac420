/* dlgexec.h: running one dialogue against a target with the full engine (parsers, spec session),
   and classifying what happened for the fuzzer's oracles. */
#ifndef MH_DLGEXEC_H
#define MH_DLGEXEC_H

#include "conn.h"
#include "dialogue.h"
#include "spec.h"
#include "url.h"

enum mh_dlg_outcome {
	MH_DLG_OK,         /* every due reply came */
	MH_DLG_REFUSED,    /* could not connect at all (server down?) */
	MH_DLG_HANG,       /* a due reply did not come within the budget, connection still open */
	MH_DLG_DISCONNECT, /* the server closed (or reset) before a due reply */
	MH_DLG_BAD_REPLY,  /* a reply could not be framed within the caps (ERROR-class trouble) */
	MH_DLG_TLS_FAILED, /* the handshake at a "tls" record failed */
	MH_DLG_OUTCOME_COUNT
};
const char *mh_dlg_outcome_name(enum mh_dlg_outcome o); /* "ok", "refused", "hang", ... */

struct mh_dlg_exec_opts {
	int64_t reply_timeout_ms; /* budget per due reply (the hang oracle) */
	int64_t connect_timeout_ms;
	bool insecure;
	const struct mh_spec *spec; /* judge every exchange; NULL = no spec oracle */
	struct mh_limits limits;
	const char *user;     /* values for the placeholders ${USER}, ${SASL_PLAIN} (may be NULL) */
	const char *password; /* ${PASSWORD}, ${PASSWORD_B64}, ${SASL_PLAIN}; also redacted from
	                         the transcript (may be NULL: placeholders go out as written) */
	int64_t drain_ms;     /* > 0: after the last record, read the replies the engine still
	                         counts as owed (commands sent without waiting), each within this
	                         budget; a close then is a DISCONNECT, a timeout only a note (the
	                         dialogue did not wait, so it is no hang). 0: do not (the fuzzer) */
};

/* What one execution produced. */
struct mh_dlg_result {
	enum mh_dlg_outcome outcome;
	size_t failed_at; /* index of the record where a HANG/DISCONNECT/BAD_REPLY happened;
	                     MH_DLG_AT_GREETING when the greeting did not come */
	char detail[256]; /* human-readable reason */
	/* spec violations: failed checks of kind spec or syntax (the first few, described) */
	size_t nviolations;
	char violation[4][256]; /* "RCPT in state ready: reply 250 is not one the RFC permits (RFC
	                           5321 3.3 MUST)" */
	/* black-box feedback: the (state, reply status) pairs seen, as small hashes
	   (mh_dlg_pair_hash(state after the reply, status); deduplicated, at most
	   MH_DLG_MAX_PAIRS; an outcome other than ok adds (state, outcome name)) */
	uint32_t *pairs;
	size_t npairs, pairs_cap;
	size_t replies; /* replies read */
	/* the oldest command the engine counted as unanswered when replies stopped coming (the
	   failing read, or the end of the dialogue): spec command name ("RCPT", "@end-of-data")
	   and the state it was sent in; "" if every command was answered. The command a crash,
	   hang or close happened on, as the server saw the exchange. */
	char pending_cmd[32];
	char pending_state[48];
	/* SMTP, POP3: server bytes already there at the end although the engine counted every
	   command answered: more replies than commands, so the exchange was framed differently
	   from how the server saw it (the fuzzer then trusts no violation of the run) */
	size_t unread;
	/* HANG: bytes of the due reply that had arrived when the budget ran out (a reply still
	   coming, e.g. Postfix sending each line of a reply a second apart once a client has
	   sent too many junk commands: slow, not hung) */
	size_t partial;
	int64_t elapsed_ms;
	struct mh_case_result checks; /* every check and the transcript of the run (for saving a
	                                 finding with its evidence); owned, freed by deinit */
};

#define MH_DLG_AT_GREETING ((size_t)-1)
#define MH_DLG_MAX_PAIRS   1024

void mh_dlg_result_init(struct mh_dlg_result *r);
void mh_dlg_result_deinit(struct mh_dlg_result *r);

/* Runs d against t. Always returns a classified result (never fails itself); the connection is
   closed at the end. A dialogue's REPLY records that come after a server close are not awaited,
   nor those where the spec session has no complete command waiting for a reply (noted in the
   transcript), so a server that rightly waits for more input is no hang. A "tls" record starts
   TLS; a ?starttls target is connected in plain text (the dialogue carries its STARTTLS). */
void mh_dlg_exec(const struct mh_dialogue *d, const struct mh_target *t,
                 const struct mh_dlg_exec_opts *o, struct mh_dlg_result *res);

/* FNV-1a of state, a NUL and status: the feedback pair hash. */
uint32_t mh_dlg_pair_hash(const char *state, const char *status);
/* True if the target accepts a new connection and sends a greeting within
   o->connect_timeout_ms (the liveness probe behind the "crash" oracle without a supervisor).
   On false, why (may be NULL) says what failed. */
bool mh_dlg_alive(const struct mh_target *t, const struct mh_dlg_exec_opts *o, char *why,
                  size_t whylen);

#endif

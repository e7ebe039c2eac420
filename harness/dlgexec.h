/* dlgexec.h: running one dialogue against a target with the full engine (parsers, spec session),
   and classifying what happened for the fuzzer's oracles. */
#ifndef MH_DLGEXEC_H
#define MH_DLGEXEC_H

#include "conn.h"
#include "dialogue.h"
#include "spec.h"
#include "url.h"

enum mh_dlg_outcome {
	MH_DLG_OK,          /* every due reply came */
	MH_DLG_REFUSED,     /* could not connect at all (server down?) */
	MH_DLG_HANG,        /* a due reply did not come within the budget, connection still open */
	MH_DLG_DISCONNECT,  /* the server closed (or reset) before a due reply */
	MH_DLG_BAD_REPLY,   /* a reply could not be framed within the caps (ERROR-class trouble) */
	MH_DLG_TLS_FAILED,  /* the handshake at a "tls" record failed */
	MH_DLG_OUTCOME_COUNT
};
const char *mh_dlg_outcome_name(enum mh_dlg_outcome o); /* "ok", "refused", "hang", ... */

struct mh_dlg_exec_opts {
	int64_t reply_timeout_ms; /* budget per due reply (the hang oracle) */
	int64_t connect_timeout_ms;
	bool insecure;
	const struct mh_spec *spec; /* judge every exchange; NULL = no spec oracle */
	struct mh_limits limits;
};

/* What one execution produced. */
struct mh_dlg_result {
	enum mh_dlg_outcome outcome;
	size_t failed_at;        /* index of the record where a HANG/DISCONNECT/BAD_REPLY happened */
	char detail[256];        /* human-readable reason */
	/* spec violations: failed checks of kind spec or syntax (the first few, described) */
	size_t nviolations;
	char violation[4][256];  /* "RCPT in state ready: reply 250 is not one the RFC permits (RFC 5321 3.3 MUST)" */
	/* black-box feedback: the (state, reply status) pairs seen, as small hashes */
	uint32_t *pairs;
	size_t npairs, pairs_cap;
	size_t replies;          /* replies read */
	int64_t elapsed_ms;
	struct mh_case_result checks; /* every check and the transcript of the run (for saving a
					 finding with its evidence); owned, freed by deinit */
};

void mh_dlg_result_init(struct mh_dlg_result *r);
void mh_dlg_result_deinit(struct mh_dlg_result *r);

/* Runs d against t. Always returns a classified result (never fails itself); the connection is
   closed at the end. A dialogue's REPLY records that come after a server close are not awaited. */
void mh_dlg_exec(const struct mh_dialogue *d, const struct mh_target *t,
		 const struct mh_dlg_exec_opts *o, struct mh_dlg_result *res);

#endif

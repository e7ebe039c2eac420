/* result.h: what a run produced: targets, cases, checks, transcripts, coverage. Filled by the
   runner and the engine, read by the report writers (JSON, JUnit, console). */
#ifndef MH_RESULT_H
#define MH_RESULT_H

#include <pthread.h>

#include "spec.h"
#include "util.h"

enum mh_verdict { MH_V_PASS, MH_V_FAIL, MH_V_SKIP, MH_V_XFAIL, MH_V_ERROR, MH_V_COUNT };
const char *mh_verdict_name(enum mh_verdict v); /* "PASS", "FAIL", "SKIP", "XFAIL", "ERROR" */

/* Where a check comes from. */
enum mh_check_kind {
	MH_CHECK_SPEC,   /* the state table: a reply the spec does not permit in this state */
	MH_CHECK_SYNTAX, /* the reply grammar (ABNF) */
	MH_CHECK_ASSERT, /* an expectation written in the script */
	MH_CHECK_COUNT
};
const char *mh_check_kind_name(enum mh_check_kind k); /* "spec", "syntax", "assert" */

/* One judged exchange or assertion. Strings are owned (heap) and already redacted/escaped. */
struct mh_check {
	enum mh_check_kind kind;
	enum mh_verdict verdict; /* PASS or FAIL */
	char *message;           /* what was checked / what went wrong */
	char *sent;              /* the command as sent (escaped, redacted), or NULL */
	char *received;          /* the reply as received (escaped), or NULL */
	char *expected;          /* e.g. "503 | 5xx", or the script's expectation */
	char *rfc;               /* "RFC 5321 4.3.2" */
	enum mh_level level;
	char *state; /* state before the exchange (spec checks) */
	char *next_state;
	int conn; /* connection number within the case, from 1; 0 = none */
};

/* One connection's byte-exact record (redacted), for the report and the console in -v. */
struct mh_transcript_entry {
	int64_t t_ms; /* ms since the case started */
	char dir;     /* 'C' client->server, 'S' server->client, '*' event (connect, TLS, close) */
	int conn;
	struct mh_buf data; /* raw bytes; events hold text */
};

struct mh_case_result {
	/* metadata from the script */
	char *id;
	char *title;
	char *rfc;
	enum mh_level level;
	char *proto;      /* "smtp" | "imap" | "pop3" */
	char *file;       /* script path */
	char *capability; /* required capability, or NULL */
	int target;       /* index in run->targets */
	/* outcome */
	enum mh_verdict verdict;
	char *reason;          /* for FAIL/SKIP/ERROR/XFAIL: one line; NULL for PASS */
	char *baseline_reason; /* when XFAIL or fixed: the baseline entry's reason */
	bool baseline_fixed;   /* listed in the baseline but passed now */
	int64_t start_wall_ms;
	int64_t duration_ms;
	struct mh_check *checks;
	size_t nchecks, checks_cap;
	struct mh_transcript_entry *transcript;
	size_t ntranscript, transcript_cap;
	size_t transcript_bytes; /* capped; beyond the cap entries are dropped and counted */
	size_t transcript_dropped;
	/* state x command cells exercised: pairs (state index, command index) into the protocol's
	 * spec */
	int *cells;
	size_t ncells, cells_cap;
};

struct mh_target_info {
	char *url;
	char *proto;
	char *host;
	int port;
	char *tls;          /* "none", "implicit", "starttls" */
	char *greeting;     /* escaped text of the greeting reply, NULL if never connected */
	char **caps_before; /* capability lines before TLS upgrade */
	size_t ncaps_before;
	char **caps_after; /* after STARTTLS, if it was done */
	size_t ncaps_after;
	char *tls_version; /* e.g. "TLSv1.3" when TLS was used */
	char *tls_cipher;
	char *probe_error;          /* why probing the target failed, or NULL */
	const struct mh_spec *spec; /* the spec used (not owned) */
};

struct mh_run {
	char *tool_version;
	int64_t start_wall_ms, end_wall_ms;
	char **suites;
	size_t nsuites;
	char *filter;
	char *profile;
	char *baseline_path;
	struct mh_target_info *targets;
	size_t ntargets;
	struct mh_case_result *cases;
	size_t ncases;
	pthread_mutex_t lock; /* guards nothing in the writers; used by the runner when jobs > 1 */
	struct mh_spec *owned_specs[4]; /* specs the run frees (referenced by targets[].spec) */
	size_t nowned_specs;
};

/* Appends a check to c (takes copies of the strings, NULL allowed). Returns the new check. */
struct mh_check *mh_case_add_check(struct mh_case_result *c, enum mh_check_kind kind,
                                   enum mh_verdict verdict, const char *message, const char *sent,
                                   const char *received, const char *expected, const char *rfc,
                                   enum mh_level level);
/* Appends a transcript entry (copies data), subject to the per-case byte cap. */
void mh_case_add_transcript(struct mh_case_result *c, int conn, char dir, const void *data,
                            size_t n, int64_t t_ms);
/* Records a state x command cell (deduplicated). */
void mh_case_add_cell(struct mh_case_result *c, int state, int cmd);
/* Computes the case verdict from its checks when the script ended normally: FAIL if any check
   failed, else PASS. Leaves SKIP / ERROR already set alone. */
void mh_case_finish(struct mh_case_result *c);
void mh_case_result_deinit(struct mh_case_result *c);
void mh_target_info_deinit(struct mh_target_info *t);
void mh_run_init(struct mh_run *run);
void mh_run_deinit(struct mh_run *run);
/* Hands a loaded spec to the run, which frees it in mh_run_deinit. */
void mh_run_own_spec(struct mh_run *run, struct mh_spec *spec);

/* Counts, for summaries: cases of verdict v, optionally restricted to proto (NULL = all) and
   level (-1 = all). */
size_t mh_run_count(const struct mh_run *run, const char *proto, int level, enum mh_verdict v);
/* The exit status the CLI documents: 0 all required (MUST) checks pass, 1 conformance failures
   (a FAIL at MUST level, or at any level with strict), 2 when any case ended in ERROR. */
int mh_run_exit_status(const struct mh_run *run, bool strict);

#endif

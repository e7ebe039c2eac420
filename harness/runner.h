/* runner.h: a run: resolve targets and suites, list cases, probe targets, run the cases on N
   worker threads, collect results. Prints nothing; progress goes through callbacks. */
#ifndef MH_RUNNER_H
#define MH_RUNNER_H

#include <signal.h>

#include "baseline.h"
#include "lua_rt.h"
#include "result.h"

/* What --record did, filled under the run lock. */
struct mh_record_stats {
	size_t saved;  /* dialogue files written */
	size_t unsafe; /* connections not saved: the password in a form no placeholder expresses */
	size_t failed; /* cases whose dialogues could not all be written */
	char error[512]; /* the first write error */
};

struct mh_run_opts {
	const char **targets; /* URLs */
	size_t ntargets;
	const char **suites; /* files or directories; none = <datadir>/scripts/<proto> per target */
	size_t nsuites;
	const char *datadir; /* where scripts/, specs/ live */
	const char *user;
	const char *password; /* never printed */
	const char *filter;   /* glob over case ids, or NULL */
	const char *profile;  /* --profile: names, comma-separated, at most one per protocol
	                         (profile.h); NULL = each target's default */
	const char **params;  /* "k=v", NULL-terminated */
	int jobs;
	int64_t timeout_ms;      /* per network operation */
	int64_t case_timeout_ms; /* per case */
	bool insecure;
	bool verify_loopback; /* --tls-verify */
	const char *ca_file;
	bool allow_destructive;
	bool verbose;
	const char
	    *record_dir; /* save each connection of each case as DIR/<case>.<conn>.dlg, or NULL */
	struct mh_record_stats *record_stats; /* may be NULL */
	/* called under the run lock when a case starts / ends (may be NULL) */
	void (*on_case_start)(void *ud, const struct mh_case_result *c, size_t started,
	                      size_t total);
	void (*on_case_done)(void *ud, const struct mh_run *run, const struct mh_case_result *c,
	                     size_t done, size_t total);
	void *ud;
	volatile sig_atomic_t *stop;        /* set by a signal handler: start no further cases */
	const struct mh_baseline *baseline; /* applied to each case as it ends, or NULL */
};

/* Lists the cases of the suites (for `list`): files in order, cases in file order. Load errors are
   returned as -1 with err. */
int mh_runner_list(const struct mh_run_opts *o, const char *proto, struct mh_case_meta **cases_r,
                   size_t *n_r, struct mh_error *err);
/* Runs everything into run (initialised by the caller). Returns 0 when the run happened (whatever
   the verdicts), -1 on a setup error (bad URL, unreadable spec or suite) with err. */
int mh_runner_run(const struct mh_run_opts *o, struct mh_run *run, struct mh_error *err);
/* Path of the spec for a protocol under datadir, into out. */
void mh_runner_spec_path(const char *datadir, enum mh_proto_id p, char *out, size_t outlen);

#endif

/* baseline.h: the user's list of known failures (JSON, reports/README.md): FAILs listed there
   become XFAIL, listed cases that pass are reported as fixed, --write-baseline writes one. */
#ifndef MH_BASELINE_H
#define MH_BASELINE_H

#include <stddef.h>

#include "result.h"
#include "util.h"

#define MH_BASELINE_VERSION 1

struct mh_baseline_entry {
	char *id;     /* case id or glob ('*', '?') */
	char *target; /* glob over the target URL, NULL = any target */
	char *reason; /* why the failure is accepted */
	char *rfc;    /* the requirement the server does not meet */
};

struct mh_baseline {
	char *path;
	struct mh_baseline_entry *entries;
	size_t nentries;
};

/* Loads a baseline file. Strict: duplicate or unknown keys, a wrong baseline_version, a missing
   or empty "id", "reason" or "rfc", or a non-string value are errors naming the entry index.
   Returns a new baseline the caller frees with mh_baseline_free, or NULL with err set. */
struct mh_baseline *mh_baseline_load(const char *path, struct mh_error *err);
/* Same from a string; name is used in messages. */
struct mh_baseline *mh_baseline_load_buf(const char *json, size_t len, const char *name,
                                         struct mh_error *err);

/* The first entry matching case c of run (id glob, and target glob over the target URL), or NULL.
 */
const struct mh_baseline_entry *mh_baseline_match(const struct mh_baseline *b,
                                                  const struct mh_run *run,
                                                  const struct mh_case_result *c);

/* Applies b to every case of run: a matching FAIL becomes XFAIL, a matching PASS gets
   baseline_fixed; both get baseline_reason (a copy of the entry's reason). ERROR, SKIP and
   cases already XFAIL are left alone. */
/* The same for one case (the runner applies it as each case ends, so the console shows XFAIL). */
void mh_baseline_apply_case(const struct mh_baseline *b, const struct mh_run *run,
                            struct mh_case_result *c);
void mh_baseline_apply(const struct mh_baseline *b, struct mh_run *run);

/* Builds a baseline listing every FAIL and XFAIL case of run (a baselined case still fails, so
   it stays listed): id, target URL, reason (the case's reason) and rfc (the case's, else the
   first failed check's). Returns a malloc'd JSON text the caller frees, or NULL with err. */
char *mh_baseline_string(const struct mh_run *run, struct mh_error *err);
/* Writes mh_baseline_string's text to path atomically. Returns 0 or -1 with err. */
int mh_baseline_write(const struct mh_run *run, const char *path, struct mh_error *err);

/* Frees *b and sets it to NULL; accepts NULL and a pointer to NULL. */
void mh_baseline_free(struct mh_baseline **b);

#endif

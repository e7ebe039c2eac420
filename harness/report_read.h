/* report_read.h: reads back a JSON run report (reports/schema.json, report_version 1) for the
   commands that combine reports: `mailharness compare` and `mailharness spec PROTO --matrix`.
   Only the parts they need are kept. */
#ifndef MH_REPORT_READ_H
#define MH_REPORT_READ_H

#include <stddef.h>

#include "util.h"

struct mh_report_read_target {
	char *url;      /* "smtp://127.0.0.1:25?starttls" */
	char *protocol; /* "smtp" */
	char *greeting; /* escaped greeting text, or NULL */
};

struct mh_report_read_case {
	char *id, *title, *rfc, *level, *protocol;
	char *verdict; /* PASS, FAIL, SKIP, XFAIL, ERROR */
	int target;    /* index into targets, or -1 */
};

/* One covered cell of a protocol's coverage section. */
struct mh_report_read_cell {
	char *protocol, *state, *command;
	char **cases; /* ids */
	size_t ncases;
};

struct mh_report_read {
	char *path;    /* as given */
	char *profile; /* run profile, or NULL */
	struct mh_report_read_target *targets;
	size_t ntargets;
	struct mh_report_read_case *cases;
	size_t ncases;
	struct mh_report_read_cell *cells;
	size_t ncells;
};

/* Loads the report at path (at most 1 GiB; duplicate keys, a report_version other than 1 or a
   missing or mistyped member the commands need are errors naming the file and member). Returns 0,
   or -1 with err; *r_out is then empty but safe to deinit. */
int mh_report_read_file(const char *path, struct mh_report_read *r_out, struct mh_error *err);
/* Same from memory; name is used in messages and as path. */
int mh_report_read_buf(const char *json, size_t len, const char *name, struct mh_report_read *r_out,
                       struct mh_error *err);
/* Frees what the loader allocated; safe on a zeroed struct. */
void mh_report_read_deinit(struct mh_report_read *r);

#endif

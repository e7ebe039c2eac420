/* report.h: machine-readable run reports (JSON per reports/schema.json, JUnit XML) and the
   state x command coverage both they and the console summary print. */
#ifndef MH_REPORT_H
#define MH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "matrix.h"
#include "result.h"
#include "util.h"

/* Version of the JSON document ("report_version") and of reports/schema.json ($id .../v1). Any
   change to the document's shape bumps it. */
#define MH_REPORT_VERSION 1

/* One exercised (state, command) cell of a protocol's spec. */
struct mh_report_cell {
	int state; /* index into spec->states */
	int cmd;   /* index into spec->commands */
	bool
	    in_matrix; /* a cell of the coverage matrix (harness/matrix.h): part != MH_MATRIX_OUT */
	enum mh_matrix_part part; /* core (no capability gate), extension, or out of the matrix */
	bool allowed;             /* the spec has a rule for cmd in state (mh_spec_rule_for) */
	size_t *cases;            /* indexes into run->cases, ascending, one per distinct case id */
	size_t ncases;
};

/* Coverage of one protocol over the matrix of harness/matrix.h: rows are the states that read
   commands and are not marked "matrix": false, columns the non-pseudo commands, split into core
   (no capability gate) and extension cells. Cells outside it (pseudo commands such as "@greeting",
   excluded states) are listed but not counted. */
struct mh_report_coverage {
	const struct mh_spec *spec; /* the spec of the first target of the protocol that has one */
	struct mh_report_cell *cells; /* sorted by state, then command */
	size_t ncells;
	size_t exercised, total; /* matrix cells hit / matrix size (core + extension) */
	size_t allowed_exercised, allowed_total; /* the same, restricted to allowed cells */
	struct mh_matrix_totals matrix;          /* the same per part: core, extension */
};

/* Computes the coverage of protocol proto ("smtp") over every case of that protocol. Cells of a
   target whose spec differs from cov_r->spec are mapped by state and command name. Returns 0, or
   -1 when no target of proto has a spec (cov_r is then empty but safe to deinit). */
int mh_report_coverage(const struct mh_run *run, const char *proto,
                       struct mh_report_coverage *cov_r);
/* Frees what mh_report_coverage allocated; safe on a zeroed struct. */
void mh_report_coverage_deinit(struct mh_report_coverage *cov);
/* exercised / total as a percentage rounded to one decimal; 0 when total is 0. */
double mh_report_coverage_percent(size_t exercised, size_t total);

/* Decodes one UTF-8 sequence at s (n bytes available). Returns its length (1-4) and the code
   point in *cp_r, or 0 when the bytes there are not valid UTF-8 (overlong forms, surrogates and
   values above U+10FFFF are invalid). */
size_t mh_report_utf8_next(const unsigned char *s, size_t n, uint32_t *cp_r);

/* Lists the distinct protocol names of run ("smtp", ...), targets first then cases, in order of
   first appearance; at most max. Returns the count; the strings belong to run. */
size_t mh_report_protocols(const struct mh_run *run, const char **names_r, size_t max);

/* The document part of an RFC reference, the key of the per-RFC summaries: "RFC 5321 4.1.1.3" ->
   "RFC 5321", "rfc3501" -> "RFC 3501", NULL or "" -> "none", anything else -> its first word. */
void mh_report_rfc_document(const char *rfc, char *out, size_t outlen);

/* Returns a new NUL-terminated copy of s that is valid UTF-8: valid sequences are kept, every
   byte that is not part of one becomes the four characters "\xNN". NULL in, NULL out. Caller
   frees. Used for every free-text string the JSON writers emit. */
char *mh_report_json_utf8(const char *s);

/* Builds the JSON report (reports/schema.json, version MH_REPORT_VERSION) of run with the given
   process exit status, indented, pure ASCII, ending in a newline. Returns a malloc'd string the
   caller frees with free(), or NULL with err set. */
char *mh_report_json_string(const struct mh_run *run, int exit_status, struct mh_error *err);
/* Writes the JSON report to path atomically (mh_write_file_atomic). Returns 0 or -1 with err. */
int mh_report_json_write(const struct mh_run *run, const char *path, int exit_status,
                         struct mh_error *err);

/* Appends the JUnit XML report of run to out: one <testsuite> per (target, protocol), one
   <testcase> per case; FAIL -> <failure>, ERROR -> <error>, SKIP/XFAIL -> <skipped>, the
   transcript in <system-out>. Always well-formed XML 1.0 in UTF-8. */
void mh_report_junit_build(const struct mh_run *run, struct mh_buf *out);
/* Writes the JUnit XML report to path atomically. Returns 0 or -1 with err. */
int mh_report_junit_write(const struct mh_run *run, const char *path, struct mh_error *err);

#endif

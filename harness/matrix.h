/* matrix.h: the state x command coverage matrix of a spec, defined once for the JSON report, the
   console summary and `mailharness spec PROTO --matrix`.

   Rows: the states whose input is "command" and that a client reaches against a conforming
   server: states marked "matrix": false in the spec (SMTP "rejected", reached only after a 554
   greeting) are not rows. Columns: the commands that are not pseudo commands ("@greeting", ...).
   A cell is CORE when its command has no capability gate, EXTENSION when it has one (STARTTLS,
   AUTH, IDLE, UIDL, ...). Issue 3's goal is 100% of the core cells; extension cells are counted
   separately. A cell is covered when some case exercised it: the engine records (state, command)
   for each judged exchange (mh_case_add_cell). */
#ifndef MH_MATRIX_H
#define MH_MATRIX_H

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"
#include "util.h"

enum mh_matrix_part {
	MH_MATRIX_OUT,       /* not a cell of the matrix (pseudo command, or not a row) */
	MH_MATRIX_CORE,      /* command without a capability gate */
	MH_MATRIX_EXTENSION, /* capability-gated command */
};

/* "core", "extension"; NULL for MH_MATRIX_OUT. */
const char *mh_matrix_part_name(enum mh_matrix_part p);
/* True when state is a row: it reads commands and is not marked "matrix": false. */
bool mh_matrix_is_row(const struct mh_spec *s, int state);
/* The column a command belongs to: OUT for pseudo commands and bad indexes. */
enum mh_matrix_part mh_matrix_column(const struct mh_spec *s, int cmd);
/* The part of cell (state, cmd): OUT unless state is a row and cmd a column. */
enum mh_matrix_part mh_matrix_cell(const struct mh_spec *s, int state, int cmd);

/* Counts of one part. "allowed" cells are those where the spec permits the command
   (mh_spec_rule_for); the others are negative cells: the command must be refused there. */
struct mh_matrix_count {
	size_t exercised, total;
	size_t allowed_exercised, allowed_total;
};

struct mh_matrix_totals {
	struct mh_matrix_count core, extension;
	size_t rows, core_columns, extension_columns;
};

/* Sets the sizes of spec's matrix into *t_r (exercised counts 0). */
void mh_matrix_totals(const struct mh_spec *s, struct mh_matrix_totals *t_r);
/* Adds a covered cell to the exercised counts of its part; cells outside the matrix are ignored.
   Call once per distinct cell. Returns the cell's part. */
enum mh_matrix_part mh_matrix_count_hit(const struct mh_spec *s, int state, int cmd,
                                        struct mh_matrix_totals *t);

/* The `spec --matrix` view: every cell of one spec with the ids of the cases that covered it,
   merged from any number of sources (the coverage sections of JSON reports). */
struct mh_matrix_view {
	const struct mh_spec *spec; /* not owned */
	struct mh_matrix_ids *ids;  /* nstates * ncommands, indexed [state * ncommands + cmd] */
	struct mh_matrix_sources *sources; /* names of the merged sources, for the header */
	bool with_coverage;                /* at least one source was added: print the case ids */
	size_t unknown_cells; /* cells of the sources whose state or command spec lacks */
};

void mh_matrix_view_init(struct mh_matrix_view *v, const struct mh_spec *spec);
void mh_matrix_view_deinit(struct mh_matrix_view *v);
/* Records that a source named name (a report's path) is merged, even one that covered nothing:
   from then on the view prints case ids and coverage totals. */
void mh_matrix_view_add_source(struct mh_matrix_view *v, const char *name);
/* Merges the case ids that covered (state, command), by name; duplicates are dropped. Returns 0,
   or -1 when spec has no such state or command (counted in unknown_cells). */
int mh_matrix_view_add(struct mh_matrix_view *v, const char *state, const char *command,
                       const char *const *case_ids, size_t n);
/* Appends the view as text, or as Markdown when markdown: the grid (rows commands, columns
   states: allowed / refused and how many cases covered each cell), every cell with its case ids
   (text) and the totals per part. */
void mh_matrix_view_render(const struct mh_matrix_view *v, bool markdown, struct mh_buf *out);
/* The totals of the view (exercised = cells with at least one case). */
void mh_matrix_view_totals(const struct mh_matrix_view *v, struct mh_matrix_totals *t_r);

#endif

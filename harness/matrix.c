/* matrix.c: the state x command coverage matrix (rows, core and extension columns, totals) and
   the `spec --matrix` view that merges the coverage of reports and renders it as text or
   Markdown. Prints nothing: the view is rendered into an mh_buf. */
#include "matrix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mh_matrix_ids {
	char **ids;
	size_t n;
};

struct mh_matrix_sources {
	char **names;
	size_t n;
};

const char *mh_matrix_part_name(enum mh_matrix_part p)
{
	switch (p) {
	case MH_MATRIX_CORE: return "core";
	case MH_MATRIX_EXTENSION: return "extension";
	default: return NULL;
	}
}

bool mh_matrix_is_row(const struct mh_spec *s, int state)
{
	if (s == NULL || state < 0 || (size_t)state >= s->nstates)
		return false;
	return s->states[state].input == MH_INPUT_COMMAND && !s->states[state].matrix_excluded;
}

enum mh_matrix_part mh_matrix_column(const struct mh_spec *s, int cmd)
{
	if (s == NULL || cmd < 0 || (size_t)cmd >= s->ncommands || s->commands[cmd].pseudo)
		return MH_MATRIX_OUT;
	return s->commands[cmd].capability != NULL ? MH_MATRIX_EXTENSION : MH_MATRIX_CORE;
}

enum mh_matrix_part mh_matrix_cell(const struct mh_spec *s, int state, int cmd)
{
	return mh_matrix_is_row(s, state) ? mh_matrix_column(s, cmd) : MH_MATRIX_OUT;
}

static struct mh_matrix_count *part_count(struct mh_matrix_totals *t, enum mh_matrix_part p)
{
	return p == MH_MATRIX_CORE ? &t->core : p == MH_MATRIX_EXTENSION ? &t->extension : NULL;
}

void mh_matrix_totals(const struct mh_spec *s, struct mh_matrix_totals *t_r)
{
	memset(t_r, 0, sizeof(*t_r));
	if (s == NULL)
		return;
	for (size_t st = 0; st < s->nstates; st++)
		t_r->rows += mh_matrix_is_row(s, (int)st);
	for (size_t k = 0; k < s->ncommands; k++) {
		enum mh_matrix_part p = mh_matrix_column(s, (int)k);
		t_r->core_columns += p == MH_MATRIX_CORE;
		t_r->extension_columns += p == MH_MATRIX_EXTENSION;
	}
	for (size_t st = 0; st < s->nstates; st++)
		for (size_t k = 0; k < s->ncommands; k++) {
			struct mh_matrix_count *c =
			    part_count(t_r, mh_matrix_cell(s, (int)st, (int)k));
			if (c == NULL)
				continue;
			c->total++;
			c->allowed_total += mh_spec_rule_for(s, (int)k, (int)st) != NULL;
		}
}

enum mh_matrix_part mh_matrix_count_hit(const struct mh_spec *s, int state, int cmd,
                                        struct mh_matrix_totals *t)
{
	enum mh_matrix_part p = mh_matrix_cell(s, state, cmd);
	struct mh_matrix_count *c = part_count(t, p);
	if (c != NULL) {
		c->exercised++;
		c->allowed_exercised += mh_spec_rule_for(s, cmd, state) != NULL;
	}
	return p;
}

/* ---- the view ---- */

void mh_matrix_view_init(struct mh_matrix_view *v, const struct mh_spec *spec)
{
	memset(v, 0, sizeof(*v));
	v->spec = spec;
	v->ids = mh_calloc(spec->nstates * spec->ncommands + 1, sizeof(*v->ids));
	v->sources = mh_calloc(1, sizeof(*v->sources));
}

void mh_matrix_view_deinit(struct mh_matrix_view *v)
{
	if (v->ids != NULL)
		for (size_t i = 0; i < v->spec->nstates * v->spec->ncommands; i++) {
			for (size_t j = 0; j < v->ids[i].n; j++)
				free(v->ids[i].ids[j]);
			free(v->ids[i].ids);
		}
	free(v->ids);
	if (v->sources != NULL)
		for (size_t i = 0; i < v->sources->n; i++)
			free(v->sources->names[i]);
	free(v->sources != NULL ? v->sources->names : NULL);
	free(v->sources);
	memset(v, 0, sizeof(*v));
}

void mh_matrix_view_add_source(struct mh_matrix_view *v, const char *name)
{
	v->with_coverage = true;
	struct mh_matrix_sources *s = v->sources;
	s->names = mh_realloc(s->names, (s->n + 1) * sizeof(char *));
	s->names[s->n++] = mh_strdup(name != NULL ? name : "");
}

int mh_matrix_view_add(struct mh_matrix_view *v, const char *state, const char *command,
                       const char *const *case_ids, size_t n)
{
	int st = mh_spec_state_find(v->spec, state);
	int k = mh_spec_command_find(v->spec, command);
	if (st < 0 || k < 0) {
		v->unknown_cells++;
		return -1;
	}
	struct mh_matrix_ids *cell = &v->ids[(size_t)st * v->spec->ncommands + (size_t)k];
	for (size_t i = 0; i < n; i++) {
		if (case_ids[i] == NULL)
			continue;
		bool dup = false;
		for (size_t j = 0; j < cell->n && !dup; j++)
			dup = strcmp(cell->ids[j], case_ids[i]) == 0;
		if (dup)
			continue;
		cell->ids = mh_realloc(cell->ids, (cell->n + 1) * sizeof(char *));
		cell->ids[cell->n++] = mh_strdup(case_ids[i]);
	}
	return 0;
}

static const struct mh_matrix_ids *view_cell(const struct mh_matrix_view *v, size_t st, size_t k)
{
	return &v->ids[st * v->spec->ncommands + k];
}

void mh_matrix_view_totals(const struct mh_matrix_view *v, struct mh_matrix_totals *t_r)
{
	mh_matrix_totals(v->spec, t_r);
	for (size_t st = 0; st < v->spec->nstates; st++)
		for (size_t k = 0; k < v->spec->ncommands; k++)
			if (view_cell(v, st, k)->n > 0)
				mh_matrix_count_hit(v->spec, (int)st, (int)k, t_r);
}

/* ---- rendering ---- */

/* Names from a report may hold anything: control bytes become \xNN, as in the console. */
static void put_clean(struct mh_buf *b, const char *s)
{
	mh_buf_append_escaped(b, (const unsigned char *)s, strlen(s), 200);
}

static size_t clean_len(const char *s)
{
	struct mh_buf b;
	mh_buf_init(&b);
	put_clean(&b, s);
	size_t n = b.len;
	mh_buf_deinit(&b);
	return n;
}

static void put_padded(struct mh_buf *b, const char *s, size_t width)
{
	size_t n = clean_len(s);
	put_clean(b, s);
	for (; n < width; n++)
		mh_buf_append(b, " ", 1);
}

/* Markdown: a code span, with '|' escaped so the table holds; plain text when s has a '`'. */
static void put_md_code(struct mh_buf *b, const char *s)
{
	bool tick = strchr(s, '`') != NULL;
	if (!tick)
		mh_buf_append_str(b, "`");
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '|')
			mh_buf_append_str(b, "\\|");
		else if (ch < 0x20 || ch == 0x7f)
			mh_buf_printf(b, "\\x%02x", ch);
		else
			mh_buf_append(b, p, 1);
	}
	if (!tick)
		mh_buf_append_str(b, "`");
}

static void percent_str(char *out, size_t n, size_t part, size_t whole)
{
	unsigned long long permille =
	    whole == 0 ? 0 : ((unsigned long long)part * 1000 + whole / 2) / whole;
	snprintf(out, n, "%llu.%llu%%", permille / 10, permille % 10);
}

/* "33/55 cells covered (60.0%); allowed 20/40, refused 13/15" or, without coverage,
   "55 cells (11 commands x 5 states): 40 allowed, 15 refused". */
static void put_count(struct mh_buf *b, const struct mh_matrix_count *c, size_t columns,
                      size_t rows, bool with_coverage)
{
	if (with_coverage) {
		char pct[32];
		percent_str(pct, sizeof(pct), c->exercised, c->total);
		mh_buf_printf(b, "%zu/%zu cells covered (%s); allowed %zu/%zu, refused %zu/%zu",
		              c->exercised, c->total, pct, c->allowed_exercised, c->allowed_total,
		              c->exercised - c->allowed_exercised, c->total - c->allowed_total);
	} else {
		mh_buf_printf(b,
		              "%zu cells (%zu command%s x %zu state%s): %zu allowed, %zu refused",
		              c->total, columns, columns == 1 ? "" : "s", rows,
		              rows == 1 ? "" : "s", c->allowed_total, c->total - c->allowed_total);
	}
}

static void excluded_states(const struct mh_spec *s, struct mh_buf *b, bool markdown)
{
	bool any = false;
	for (size_t st = 0; st < s->nstates; st++) {
		if (s->states[st].input != MH_INPUT_COMMAND || !s->states[st].matrix_excluded)
			continue;
		mh_buf_append_str(b, any ? ", " : "");
		if (markdown)
			put_md_code(b, s->states[st].name);
		else
			put_clean(b, s->states[st].name);
		any = true;
	}
	if (!any)
		mh_buf_append_str(b, "none");
}

static void command_label(const struct mh_spec_command *c, struct mh_buf *b)
{
	mh_buf_append_str(b, c->name);
	if (c->capability != NULL)
		mh_buf_printf(b, " (%s)", c->capability);
}

/* Text grid of one part: a header of state names, one line per command of the part. */
static void text_grid(const struct mh_matrix_view *v, enum mh_matrix_part part, struct mh_buf *out)
{
	const struct mh_spec *s = v->spec;
	const char *title = part == MH_MATRIX_CORE ? "core commands" : "extension commands";
	size_t lw = strlen("extension commands");
	for (size_t k = 0; k < s->ncommands; k++) {
		if (mh_matrix_column(s, (int)k) == MH_MATRIX_OUT)
			continue; /* both grids share the label width, so their columns line up */
		struct mh_buf l;
		mh_buf_init(&l);
		command_label(&s->commands[k], &l);
		lw = l.len + 2 > lw ? l.len + 2 : lw;
		mh_buf_deinit(&l);
	}
	size_t *cw = mh_calloc(s->nstates + 1, sizeof(size_t));
	for (size_t st = 0; st < s->nstates; st++) {
		if (!mh_matrix_is_row(s, (int)st))
			continue;
		cw[st] = clean_len(s->states[st].name);
		if (v->with_coverage)
			for (size_t k = 0; k < s->ncommands; k++) {
				char cell[32];
				snprintf(cell, sizeof(cell), "A %zu", view_cell(v, st, k)->n);
				cw[st] = strlen(cell) > cw[st] ? strlen(cell) : cw[st];
			}
	}
	put_padded(out, title, lw);
	for (size_t st = 0; st < s->nstates; st++)
		if (mh_matrix_is_row(s, (int)st)) {
			mh_buf_append_str(out, "  ");
			put_padded(out, s->states[st].name, cw[st]);
		}
	mh_buf_append_str(out, "\n");
	for (size_t k = 0; k < s->ncommands; k++) {
		if (mh_matrix_column(s, (int)k) != part)
			continue;
		struct mh_buf l;
		mh_buf_init(&l);
		mh_buf_append_str(&l, "  ");
		command_label(&s->commands[k], &l);
		put_padded(out, mh_buf_cstr(&l), lw);
		mh_buf_deinit(&l);
		for (size_t st = 0; st < s->nstates; st++) {
			if (!mh_matrix_is_row(s, (int)st))
				continue;
			char cell[32];
			const char *ar = mh_spec_rule_for(s, (int)k, (int)st) != NULL ? "A" : "R";
			size_t n = view_cell(v, st, k)->n;
			if (!v->with_coverage)
				snprintf(cell, sizeof(cell), "%s", ar);
			else if (n == 0)
				snprintf(cell, sizeof(cell), "%s .", ar);
			else
				snprintf(cell, sizeof(cell), "%s %zu", ar, n);
			mh_buf_append_str(out, "  ");
			put_padded(out, cell, cw[st]);
		}
		/* no trailing blanks */
		while (out->len > 0 && out->data[out->len - 1] == ' ')
			out->len--;
		out->data[out->len] = '\0';
		mh_buf_append_str(out, "\n");
	}
	free(cw);
}

/* Text: one line per cell with its case ids. */
static void text_cells(const struct mh_matrix_view *v, struct mh_buf *out)
{
	const struct mh_spec *s = v->spec;
	size_t sw = strlen("state"), kw = strlen("command");
	for (size_t st = 0; st < s->nstates; st++)
		if (mh_matrix_is_row(s, (int)st) && clean_len(s->states[st].name) > sw)
			sw = clean_len(s->states[st].name);
	for (size_t k = 0; k < s->ncommands; k++)
		if (mh_matrix_column(s, (int)k) != MH_MATRIX_OUT &&
		    strlen(s->commands[k].name) > kw)
			kw = strlen(s->commands[k].name);
	mh_buf_append_str(out, "part       ");
	put_padded(out, "state", sw);
	mh_buf_append_str(out, "  ");
	put_padded(out, "command", kw);
	mh_buf_append_str(out, "  allowed  cases\n");
	for (int part = MH_MATRIX_CORE; part <= MH_MATRIX_EXTENSION; part++)
		for (size_t st = 0; st < s->nstates; st++)
			for (size_t k = 0; k < s->ncommands; k++) {
				if (mh_matrix_cell(s, (int)st, (int)k) != (enum mh_matrix_part)part)
					continue;
				const struct mh_matrix_ids *c = view_cell(v, st, k);
				put_padded(out, mh_matrix_part_name((enum mh_matrix_part)part), 9);
				mh_buf_append_str(out, "  ");
				put_padded(out, s->states[st].name, sw);
				mh_buf_append_str(out, "  ");
				put_padded(out, s->commands[k].name, kw);
				mh_buf_append_str(out, mh_spec_rule_for(s, (int)k, (int)st) != NULL
				                           ? "  yes      "
				                           : "  no       ");
				if (c->n == 0)
					mh_buf_append_str(out, "-");
				for (size_t i = 0; i < c->n; i++) {
					mh_buf_append_str(out, i ? ", " : "");
					put_clean(out, c->ids[i]);
				}
				mh_buf_append_str(out, "\n");
			}
}

static void text_render(const struct mh_matrix_view *v, struct mh_buf *out)
{
	const struct mh_spec *s = v->spec;
	struct mh_matrix_totals t;
	mh_matrix_view_totals(v, &t);
	mh_buf_printf(out, "%s state x command matrix: ", mh_proto_name(s->proto));
	put_clean(out, s->path != NULL ? s->path : "(spec)");
	mh_buf_append_str(out,
	                  "\nrows: commands; columns: the states that read commands (not in the "
	                  "matrix: ");
	excluded_states(s, out, false);
	mh_buf_append_str(out,
	                  ")\nA = allowed there (its permitted replies are checked), R = refused "
	                  "there (must get the\nerror the RFC names)");
	if (v->with_coverage) {
		mh_buf_append_str(out, "; the number counts the cases that covered the cell, "
		                       "'.' = not covered\ncoverage from: ");
		for (size_t i = 0; i < v->sources->n; i++) {
			mh_buf_append_str(out, i ? ", " : "");
			put_clean(out, v->sources->names[i]);
		}
	}
	mh_buf_append_str(out, "\n\n");
	text_grid(v, MH_MATRIX_CORE, out);
	if (t.extension_columns > 0) {
		mh_buf_append_str(out, "\n");
		text_grid(v, MH_MATRIX_EXTENSION, out);
	}
	if (v->with_coverage) {
		mh_buf_append_str(out, "\n");
		text_cells(v, out);
	}
	mh_buf_append_str(out, "\ncore:       ");
	put_count(out, &t.core, t.core_columns, t.rows, v->with_coverage);
	mh_buf_append_str(out, "\nextensions: ");
	put_count(out, &t.extension, t.extension_columns, t.rows, v->with_coverage);
	mh_buf_append_str(out, "\n");
	if (v->unknown_cells > 0)
		mh_buf_printf(
		    out,
		    "note: %zu covered cell(s) of the reports name a state or command this "
		    "spec lacks (ignored)\n",
		    v->unknown_cells);
}

static void md_grid(const struct mh_matrix_view *v, enum mh_matrix_part part, struct mh_buf *out)
{
	const struct mh_spec *s = v->spec;
	mh_buf_append_str(out, "| command |");
	for (size_t st = 0; st < s->nstates; st++)
		if (mh_matrix_is_row(s, (int)st)) {
			mh_buf_append_str(out, " ");
			put_md_code(out, s->states[st].name);
			mh_buf_append_str(out, " |");
		}
	mh_buf_append_str(out, "\n|---|");
	for (size_t st = 0; st < s->nstates; st++)
		if (mh_matrix_is_row(s, (int)st))
			mh_buf_append_str(out, "---|");
	mh_buf_append_str(out, "\n");
	for (size_t k = 0; k < s->ncommands; k++) {
		if (mh_matrix_column(s, (int)k) != part)
			continue;
		mh_buf_append_str(out, "| ");
		put_md_code(out, s->commands[k].name);
		if (s->commands[k].capability != NULL)
			mh_buf_printf(out, " (%s)", s->commands[k].capability);
		mh_buf_append_str(out, " |");
		for (size_t st = 0; st < s->nstates; st++) {
			if (!mh_matrix_is_row(s, (int)st))
				continue;
			const struct mh_matrix_ids *c = view_cell(v, st, k);
			mh_buf_append_str(out, mh_spec_rule_for(s, (int)k, (int)st) != NULL
			                           ? " allowed"
			                           : " refused");
			if (v->with_coverage) {
				mh_buf_append_str(out, c->n == 0 ? ": **not covered**" : ":");
				for (size_t i = 0; i < c->n; i++) {
					mh_buf_append_str(out, i ? ", " : " ");
					put_md_code(out, c->ids[i]);
				}
			}
			mh_buf_append_str(out, " |");
		}
		mh_buf_append_str(out, "\n");
	}
}

static void md_render(const struct mh_matrix_view *v, struct mh_buf *out)
{
	const struct mh_spec *s = v->spec;
	struct mh_matrix_totals t;
	mh_matrix_view_totals(v, &t);
	mh_buf_printf(out, "## %s state x command matrix\n\nSpec ", mh_proto_name(s->proto));
	put_md_code(out, s->path != NULL ? s->path : "(spec)");
	mh_buf_append_str(out, ". Rows are commands, columns the states that read commands (not in "
	                       "the matrix: ");
	excluded_states(s, out, true);
	mh_buf_append_str(out, "). *allowed*: the command is permitted there and its replies are "
	                       "checked; *refused*: it must get the error the RFC names.");
	if (v->with_coverage) {
		mh_buf_append_str(out, " Coverage from ");
		for (size_t i = 0; i < v->sources->n; i++) {
			mh_buf_append_str(out, i ? ", " : "");
			put_md_code(out, v->sources->names[i]);
		}
		mh_buf_append_str(out, ".");
	}
	mh_buf_append_str(out, "\n\n### Core commands: ");
	put_count(out, &t.core, t.core_columns, t.rows, v->with_coverage);
	mh_buf_append_str(out, "\n\n");
	md_grid(v, MH_MATRIX_CORE, out);
	if (t.extension_columns > 0) {
		mh_buf_append_str(out, "\n### Extension commands: ");
		put_count(out, &t.extension, t.extension_columns, t.rows, v->with_coverage);
		mh_buf_append_str(out, "\n\n");
		md_grid(v, MH_MATRIX_EXTENSION, out);
	}
	if (v->unknown_cells > 0)
		mh_buf_printf(
		    out,
		    "\n%zu covered cell(s) of the reports name a state or command this spec "
		    "lacks (ignored).\n",
		    v->unknown_cells);
}

void mh_matrix_view_render(const struct mh_matrix_view *v, bool markdown, struct mh_buf *out)
{
	if (markdown)
		md_render(v, out);
	else
		text_render(v, out);
}

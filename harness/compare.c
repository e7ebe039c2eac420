/* compare.c: the case x server verdict matrix of several reports (`mailharness compare`), as
   aligned text or a Markdown table, rendered into an mh_buf. */
#include "compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const verdict_names[] = {"PASS", "FAIL", "SKIP", "XFAIL", "ERROR"};
#define NVERDICTS MH_ARRAY_SIZE(verdict_names)

/* Known servers, matched as whole words (case-insensitive) in the greeting; first match wins. */
static const struct {
	const char *word, *product;
} products[] = {
    {"Dovecot", "Dovecot"},
    {"Postfix", "Postfix"},
    {"Exim", "Exim"},
    {"Sendmail", "Sendmail"},
    {"OpenSMTPD", "OpenSMTPD"},
    {"Courier", "Courier"},
    {"Cyrus", "Cyrus"},
    {"Stalwart", "Stalwart"},
    {"Haraka", "Haraka"},
    {"maddy", "Maddy"},
    {"qmail", "qmail"},
    {"netqmail", "qmail"},
    {"hMailServer", "hMailServer"},
    {"MDaemon", "MDaemon"},
    {"Zimbra", "Zimbra"},
    {"Kerio", "Kerio Connect"},
    {"IceWarp", "IceWarp"},
    {"Citadel", "Citadel"},
    {"James", "Apache James"},
    {"Mercury", "Mercury"},
    {"Gimap", "Gmail"},
    {"gsmtp", "Gmail"},
    {"Microsoft", "Microsoft Exchange"},
    {"Greenmail", "GreenMail"},
    {"Dovecot-pop3d", "Dovecot"},
    {"popa3d", "popa3d"},
    {"Qpopper", "Qpopper"},
    {"UW", "UW IMAP"},
    {"Archiveopteryx", "Archiveopteryx"},
};

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

const char *mh_compare_product(const char *greeting)
{
	if (greeting == NULL)
		return NULL;
	for (size_t i = 0; i < MH_ARRAY_SIZE(products); i++) {
		size_t wl = strlen(products[i].word);
		for (const char *p = greeting; *p != '\0'; p++) {
			if ((p > greeting && is_word_char(p[-1])) ||
			    !mh_strncaseeq(p, products[i].word, wl))
				continue;
			if (strlen(p) >= wl && !is_word_char(p[wl]))
				return products[i].product;
		}
	}
	return NULL;
}

/* ---- building one protocol's table ---- */

struct column {
	const struct mh_report_read *r;
	size_t target;
	char *label;
	size_t counts[NVERDICTS + 1]; /* per verdict, then the number of cases present */
};

struct entry {
	const char *id;
	size_t column;
	const char *verdict, *rfc, *level;
	size_t order; /* report order, for "the first report that has the case" */
};

struct row {
	const char *id, *rfc, *level;
	const char **verdicts; /* per column, NULL = absent */
};

struct table {
	struct column *cols;
	size_t ncols;
	struct row *rows;
	size_t nrows;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s != NULL ? s + 1 : path;
}

static void label_columns(struct table *t)
{
	for (size_t i = 0; i < t->ncols; i++) {
		struct column *c = &t->cols[i];
		const struct mh_report_read_target *tg = &c->r->targets[c->target];
		const char *prod = mh_compare_product(tg->greeting);
		c->label = mh_strdup(prod != NULL ? prod : tg->url);
	}
	/* Columns sharing a name get the report's file name, then their column number. */
	bool *dup = mh_calloc(t->ncols + 1, sizeof(bool));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->ncols; i++) {
			dup[i] = false;
			for (size_t j = 0; j < t->ncols && !dup[i]; j++)
				dup[i] = j != i && strcmp(t->cols[i].label, t->cols[j].label) == 0;
		}
		for (size_t i = 0; i < t->ncols; i++) {
			if (!dup[i])
				continue;
			struct mh_buf b;
			mh_buf_init(&b);
			if (pass == 0)
				mh_buf_printf(&b, "%s [%s]", t->cols[i].label,
				              base_name(t->cols[i].r->path));
			else
				mh_buf_printf(&b, "%s #%zu", t->cols[i].label, i + 1);
			free(t->cols[i].label);
			t->cols[i].label = (char *)b.data;
		}
	}
	free(dup);
}

static void table_build(const struct mh_report_read *reports, size_t n, const char *proto,
                        struct table *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < reports[i].ntargets; j++) {
			if (strcmp(reports[i].targets[j].protocol, proto) != 0)
				continue;
			t->cols = mh_realloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
			memset(&t->cols[t->ncols], 0, sizeof(*t->cols));
			t->cols[t->ncols].r = &reports[i];
			t->cols[t->ncols].target = j;
			t->ncols++;
		}
	label_columns(t);

	struct entry *e = NULL;
	size_t ne = 0, cap = 0;
	for (size_t c = 0; c < t->ncols; c++) {
		const struct mh_report_read *r = t->cols[c].r;
		for (size_t k = 0; k < r->ncases; k++) {
			const struct mh_report_read_case *x = &r->cases[k];
			if (x->target < 0 || (size_t)x->target != t->cols[c].target)
				continue;
			if (ne == cap) {
				cap = cap ? cap * 2 : 64;
				e = mh_realloc(e, cap * sizeof(*e));
			}
			e[ne++] =
			    (struct entry){x->id, c, x->verdict, x->rfc, x->level, c * 1000000 + k};
		}
	}
	if (ne > 0)
		qsort(e, ne, sizeof(*e), entry_cmp);
	for (size_t i = 0; i < ne;) {
		size_t j = i;
		while (j < ne && strcmp(e[j].id, e[i].id) == 0)
			j++;
		t->rows = mh_realloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
		struct row *row = &t->rows[t->nrows++];
		row->id = e[i].id;
		row->rfc = e[i].rfc;
		row->level = e[i].level;
		row->verdicts = mh_calloc(t->ncols + 1, sizeof(char *));
		for (size_t k = i; k < j; k++) {
			if (row->verdicts[e[k].column] != NULL)
				continue; /* the same id twice for one target: the first counts */
			row->verdicts[e[k].column] = e[k].verdict;
			struct column *col = &t->cols[e[k].column];
			for (size_t v = 0; v < NVERDICTS; v++)
				col->counts[v] += strcmp(e[k].verdict, verdict_names[v]) == 0;
			col->counts[NVERDICTS]++;
		}
		i = j;
	}
	free(e);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		free(t->cols[i].label);
	for (size_t i = 0; i < t->nrows; i++)
		free(t->rows[i].verdicts);
	free(t->cols);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

static bool row_differs(const struct table *t, const struct row *r)
{
	for (size_t c = 1; c < t->ncols; c++) {
		const char *a = r->verdicts[0], *b = r->verdicts[c];
		if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
			return true;
	}
	return false;
}

/* ---- rendering ---- */

/* Text from a report: control bytes and non-ASCII become \xNN so the columns stay aligned. */
static char *clean(const char *s)
{
	struct mh_buf b;
	mh_buf_init(&b);
	mh_buf_append(&b, "", 0);
	for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			mh_buf_printf(&b, "\\x%02x", *p);
		else
			mh_buf_append(&b, p, 1);
	}
	return (char *)b.data;
}

static void put_pad(struct mh_buf *out, const char *s, size_t w)
{
	char *c = clean(s);
	size_t l = strlen(c);
	mh_buf_append_str(out, c);
	for (; l < w; l++)
		mh_buf_append(out, " ", 1);
	free(c);
}

static size_t clean_len(const char *s)
{
	char *c = clean(s);
	size_t l = strlen(c);
	free(c);
	return l;
}

static void trim_line(struct mh_buf *out)
{
	while (out->len > 0 && out->data[out->len - 1] == ' ')
		out->len--;
	if (out->data != NULL)
		out->data[out->len] = '\0';
	mh_buf_append_str(out, "\n");
}

/* Markdown cell text: '|' escaped, controls as \xNN; code span when code. */
static void put_md(struct mh_buf *out, const char *s, bool code)
{
	char *c = clean(s);
	bool tick = strchr(c, '`') != NULL;
	if (code && !tick)
		mh_buf_append_str(out, "`");
	for (const char *p = c; *p; p++) {
		if (*p == '|')
			mh_buf_append_str(out, "\\|");
		else
			mh_buf_append(out, p, 1);
	}
	if (code && !tick)
		mh_buf_append_str(out, "`");
	free(c);
}

static void upper(char *dst, size_t n, const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0' && i + 1 < n; i++)
		dst[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	dst[i] = '\0';
}

static void heading(const struct table *t, const char *proto, size_t shown,
                    const struct mh_compare_opts *o, struct mh_buf *out)
{
	char up[32];
	upper(up, sizeof(up), proto);
	mh_buf_printf(out, "%s%s: %zu case%s x %zu server%s", o->markdown ? "## " : "", up,
	              t->nrows, t->nrows == 1 ? "" : "s", t->ncols, t->ncols == 1 ? "" : "s");
	if (o->only_differences)
		mh_buf_printf(out, ", %zu differ%s", shown, shown == 1 ? "s" : "");
	mh_buf_append_str(out, o->markdown ? "\n\n" : "\n");
}

static void legend(const struct table *t, const struct mh_compare_opts *o, struct mh_buf *out)
{
	mh_buf_append_str(out, o->markdown ? "\nColumns:\n\n" : "\ncolumns:\n");
	size_t lw = 0;
	for (size_t c = 0; c < t->ncols; c++)
		lw = clean_len(t->cols[c].label) > lw ? clean_len(t->cols[c].label) : lw;
	for (size_t c = 0; c < t->ncols; c++) {
		const struct column *col = &t->cols[c];
		const char *url = col->r->targets[col->target].url;
		if (o->markdown) {
			mh_buf_append_str(out, "- **");
			put_md(out, col->label, false);
			mh_buf_append_str(out, "**: ");
			put_md(out, url, true);
			mh_buf_append_str(out, " in ");
			put_md(out, col->r->path, true);
			if (col->r->profile != NULL) {
				mh_buf_append_str(out, ", profile ");
				put_md(out, col->r->profile, false);
			}
		} else {
			mh_buf_append_str(out, "  ");
			put_pad(out, col->label, lw);
			mh_buf_append_str(out, "  ");
			put_pad(out, url, 0);
			mh_buf_append_str(out, " in ");
			put_pad(out, col->r->path, 0);
			if (col->r->profile != NULL) {
				mh_buf_append_str(out, ", profile ");
				put_pad(out, col->r->profile, 0);
			}
		}
		mh_buf_append_str(out, "\n");
	}
}

static void render_text(const struct table *t, const char *proto, const struct mh_compare_opts *o,
                        struct mh_buf *out)
{
	size_t shown = 0;
	for (size_t i = 0; i < t->nrows; i++)
		shown += !o->only_differences || row_differs(t, &t->rows[i]);
	heading(t, proto, shown, o, out);
	size_t idw = strlen("case"), lvw = strlen("level");
	for (size_t i = 0; i < t->nrows; i++) {
		idw = clean_len(t->rows[i].id) > idw ? clean_len(t->rows[i].id) : idw;
		lvw = clean_len(t->rows[i].level) > lvw ? clean_len(t->rows[i].level) : lvw;
	}
	size_t *cw = mh_calloc(t->ncols + 1, sizeof(size_t));
	for (size_t c = 0; c < t->ncols; c++) {
		cw[c] = clean_len(t->cols[c].label);
		cw[c] = cw[c] < 5 ? 5 : cw[c];
	}
	put_pad(out, "case", idw);
	for (size_t c = 0; c < t->ncols; c++) {
		mh_buf_append_str(out, "  ");
		put_pad(out, t->cols[c].label, cw[c]);
	}
	mh_buf_append_str(out, "  ");
	put_pad(out, "level", lvw);
	mh_buf_append_str(out, "  RFC");
	trim_line(out);
	for (size_t i = 0; i < t->nrows; i++) {
		const struct row *r = &t->rows[i];
		if (o->only_differences && !row_differs(t, r))
			continue;
		put_pad(out, r->id, idw);
		for (size_t c = 0; c < t->ncols; c++) {
			mh_buf_append_str(out, "  ");
			put_pad(out, r->verdicts[c] != NULL ? r->verdicts[c] : "-", cw[c]);
		}
		mh_buf_append_str(out, "  ");
		put_pad(out, r->level != NULL ? r->level : "", lvw);
		mh_buf_append_str(out, "  ");
		put_pad(out, r->rfc != NULL ? r->rfc : "", 0);
		trim_line(out);
	}
	for (size_t v = 0; v <= NVERDICTS; v++) {
		put_pad(out, v < NVERDICTS ? verdict_names[v] : "cases", idw);
		for (size_t c = 0; c < t->ncols; c++) {
			char num[32];
			snprintf(num, sizeof(num), "%zu", t->cols[c].counts[v]);
			mh_buf_append_str(out, "  ");
			put_pad(out, num, cw[c]);
		}
		trim_line(out);
	}
	free(cw);
	legend(t, o, out);
}

static void render_md(const struct table *t, const char *proto, const struct mh_compare_opts *o,
                      struct mh_buf *out)
{
	size_t shown = 0;
	for (size_t i = 0; i < t->nrows; i++)
		shown += !o->only_differences || row_differs(t, &t->rows[i]);
	heading(t, proto, shown, o, out);
	mh_buf_append_str(out, "| case |");
	for (size_t c = 0; c < t->ncols; c++) {
		mh_buf_append_str(out, " ");
		put_md(out, t->cols[c].label, false);
		mh_buf_append_str(out, " |");
	}
	mh_buf_append_str(out, " level | RFC |\n|---|");
	for (size_t c = 0; c < t->ncols; c++)
		mh_buf_append_str(out, ":---:|");
	mh_buf_append_str(out, "---|---|\n");
	for (size_t i = 0; i < t->nrows; i++) {
		const struct row *r = &t->rows[i];
		if (o->only_differences && !row_differs(t, r))
			continue;
		mh_buf_append_str(out, "| ");
		put_md(out, r->id, true);
		mh_buf_append_str(out, " |");
		for (size_t c = 0; c < t->ncols; c++) {
			mh_buf_append_str(out, " ");
			put_md(out, r->verdicts[c] != NULL ? r->verdicts[c] : "-", false);
			mh_buf_append_str(out, " |");
		}
		mh_buf_append_str(out, " ");
		put_md(out, r->level != NULL ? r->level : "", false);
		mh_buf_append_str(out, " | ");
		put_md(out, r->rfc != NULL ? r->rfc : "", false);
		mh_buf_append_str(out, " |\n");
	}
	for (size_t v = 0; v <= NVERDICTS; v++) {
		mh_buf_printf(out, "| **%s** |", v < NVERDICTS ? verdict_names[v] : "cases");
		for (size_t c = 0; c < t->ncols; c++)
			mh_buf_printf(out, " %zu |", t->cols[c].counts[v]);
		mh_buf_append_str(out, " | |\n");
	}
	legend(t, o, out);
}

static int proto_rank(const char *p)
{
	static const char *const known[] = {"smtp", "imap", "pop3"};
	for (size_t i = 0; i < MH_ARRAY_SIZE(known); i++)
		if (strcmp(p, known[i]) == 0)
			return (int)i;
	return (int)MH_ARRAY_SIZE(known);
}

static int proto_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int rx = proto_rank(x), ry = proto_rank(y);
	return rx != ry ? (rx < ry ? -1 : 1) : strcmp(x, y);
}

void mh_compare_render(const struct mh_report_read *reports, size_t n,
                       const struct mh_compare_opts *o, struct mh_buf *out)
{
	const char **protos = NULL;
	size_t np = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < reports[i].ntargets; j++) {
			const char *p = reports[i].targets[j].protocol;
			bool seen = false;
			for (size_t k = 0; k < np && !seen; k++)
				seen = strcmp(protos[k], p) == 0;
			if (!seen) {
				protos = mh_realloc(protos, (np + 1) * sizeof(char *));
				protos[np++] = p;
			}
		}
	if (np > 1)
		qsort(protos, np, sizeof(char *), proto_cmp);
	if (np == 0)
		mh_buf_append_str(out, "no targets in the reports\n");
	for (size_t k = 0; k < np; k++) {
		struct table t;
		table_build(reports, n, protos[k], &t);
		if (k > 0)
			mh_buf_append_str(out, "\n");
		if (o->markdown)
			render_md(&t, protos[k], o, out);
		else
			render_text(&t, protos[k], o, out);
		table_free(&t);
	}
	free(protos);
}

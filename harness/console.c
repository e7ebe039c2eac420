/* console.c: per-case lines, the TTY progress line and the summary tables for the terminal. */
#include "console.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

#define FIELD_MAX     200 /* bytes of sent/received/expected shown on a case's second line */
#define MESSAGE_MAX   300 /* bytes of a message or reason on a case line */
#define PROGRESS_COLS 79  /* the progress line never wraps on an 80-column terminal */
#define LABEL_MIN     10
#define LABEL_MAX     40
#define MAX_PROTOCOLS 16

static const char *const verdict_colors[] = {
    [MH_V_PASS] = "\033[32m",  [MH_V_FAIL] = "\033[1;31m",  [MH_V_SKIP] = "\033[33m",
    [MH_V_XFAIL] = "\033[36m", [MH_V_ERROR] = "\033[1;35m",
};
_Static_assert(MH_ARRAY_SIZE(verdict_colors) == MH_V_COUNT, "verdict_colors out of sync");
#define COLOR_RESET "\033[0m"

bool mh_console_want_color(FILE *f)
{
	int fd = f != NULL ? fileno(f) : -1;
	if (fd < 0 || !isatty(fd))
		return false;
	const char *no = getenv("NO_COLOR");
	if (no != NULL && no[0] != '\0')
		return false;
	const char *term = getenv("TERM");
	return term == NULL || strcmp(term, "dumb") != 0;
}

void mh_console_init(struct mh_console *con, FILE *out, bool color, bool verbose, bool tty)
{
	memset(con, 0, sizeof(*con));
	con->out = out;
	con->color = color;
	con->verbose = verbose;
	con->tty = tty;
}

/* Terminal-safe rendering of free text (server text can hold escape sequences): printable ASCII
   and valid UTF-8 outside the C1 and bidi control ranges pass, \r \n \t are shown as escapes,
   every other byte as \xNN. At most max input bytes, then "...". */
static void append_safe(struct mh_buf *b, const char *s, size_t max)
{
	if (s == NULL)
		return;
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	size_t lim = n < max ? n : max;
	for (size_t i = 0; i < lim;) {
		uint32_t cp;
		size_t l = mh_report_utf8_next(p + i, n - i, &cp);
		if (l > 0 && i + l > lim)
			break; /* a character cut by the limit: drop it whole */
		bool ok =
		    l > 0 && ((cp >= 0x20 && cp < 0x7f) ||
		              (cp >= 0xa0 && !(cp >= 0x200b && cp <= 0x200f) &&
		               !(cp >= 0x202a && cp <= 0x202e) && !(cp >= 0x2066 && cp <= 0x2069)));
		if (ok) {
			mh_buf_append(b, p + i, l);
			i += l;
		} else {
			mh_buf_append_escaped(b, p + i, 1, 1);
			i++;
		}
	}
	if (lim < n)
		mh_buf_append_str(b, "...");
}

static void put_verdict(struct mh_console *con, struct mh_buf *b, enum mh_verdict v)
{
	if (con->color && (unsigned)v < MH_V_COUNT)
		mh_buf_printf(b, "%s%-5s%s", verdict_colors[v], mh_verdict_name(v), COLOR_RESET);
	else
		mh_buf_printf(b, "%-5s", mh_verdict_name(v));
}

static void flush_buf(struct mh_console *con, struct mh_buf *b)
{
	if (b->len > 0)
		fwrite(b->data, 1, b->len, con->out);
	fflush(con->out);
}

void mh_console_clear_progress(struct mh_console *con)
{
	if (con->progress_width == 0)
		return;
	fprintf(con->out, "\r%*s\r", (int)con->progress_width, "");
	fflush(con->out);
	con->progress_width = 0;
}

void mh_console_progress(struct mh_console *con, size_t done, size_t total, const char *id)
{
	if (!con->tty)
		return;
	struct mh_buf b;
	mh_buf_init(&b);
	mh_buf_printf(&b, "[%zu/%zu] running ", done, total);
	size_t room = b.len < PROGRESS_COLS ? PROGRESS_COLS - b.len : 0;
	struct mh_buf name;
	mh_buf_init(&name);
	append_safe(&name, id != NULL ? id : "", room);
	if (name.len > room) {
		/* escapes grew it: keep the head; escaped text is ASCII, so any cut is safe */
		name.len = room > 3 ? room - 3 : 0;
		mh_buf_append_str(&name, room > 3 ? "..." : "");
	}
	mh_buf_append(&b, name.data != NULL ? name.data : (unsigned char *)"", name.len);
	mh_buf_deinit(&name);
	size_t width = b.len;
	fputc('\r', con->out);
	fwrite(b.data, 1, b.len, con->out);
	if (con->progress_width > width)
		fprintf(con->out, "%*s", (int)(con->progress_width - width), "");
	fflush(con->out);
	con->progress_width = width > con->progress_width ? width : con->progress_width;
	mh_buf_deinit(&b);
}

static const struct mh_check *first_failed(const struct mh_case_result *c)
{
	for (size_t i = 0; i < c->nchecks; i++)
		if (c->checks[i].verdict == MH_V_FAIL)
			return &c->checks[i];
	return NULL;
}

/* " sent: X | received: Y | expected: Z" for the fields that are set. */
static void append_exchange(struct mh_buf *b, const struct mh_check *k, size_t max)
{
	const char *names[] = {"sent", "received", "expected"};
	const char *vals[] = {k->sent, k->received, k->expected};
	bool first = true;
	for (size_t i = 0; i < MH_ARRAY_SIZE(names); i++) {
		if (vals[i] == NULL)
			continue;
		mh_buf_printf(b, "%s%s: ", first ? "" : " | ", names[i]);
		append_safe(b, vals[i], max);
		first = false;
	}
}

static void append_check_verbose(struct mh_buf *b, const struct mh_check *k, const char *indent)
{
	mh_buf_printf(b, "%s[%s] %s %s ", indent, mh_verdict_name(k->verdict),
	              mh_check_kind_name(k->kind), mh_level_name(k->level));
	if (k->rfc != NULL) {
		append_safe(b, k->rfc, 64);
		mh_buf_append_str(b, ": ");
	}
	append_safe(b, k->message != NULL ? k->message : "", SIZE_MAX);
	mh_buf_append_str(b, "\n");
	if (k->state != NULL || k->conn > 0) {
		mh_buf_printf(b, "%s    ", indent);
		if (k->conn > 0)
			mh_buf_printf(b, "conn #%d ", k->conn);
		if (k->state != NULL) {
			mh_buf_append_str(b, "state ");
			append_safe(b, k->state, 64);
			if (k->next_state != NULL) {
				mh_buf_append_str(b, " -> ");
				append_safe(b, k->next_state, 64);
			}
		}
		mh_buf_append_str(b, "\n");
	}
	if (k->sent != NULL || k->received != NULL || k->expected != NULL) {
		mh_buf_printf(b, "%s    ", indent);
		append_exchange(b, k, SIZE_MAX);
		mh_buf_append_str(b, "\n");
	}
}

void mh_console_format_transcript(struct mh_buf *out, const struct mh_case_result *c,
                                  const char *indent)
{
	for (size_t i = 0; i < c->ntranscript; i++) {
		const struct mh_transcript_entry *e = &c->transcript[i];
		const unsigned char *d = e->data.data;
		size_t n = e->data.len, pos = 0;
		char dir = e->dir == 'C' || e->dir == 'S' ? e->dir : '*';
		do {
			size_t end = pos;
			while (end < n && d[end] != '\n')
				end++;
			bool lf = end < n;
			size_t next = lf ? end + 1 : end;
			mh_buf_printf(out, "%s%6lld ms #%d %c%s", indent, (long long)e->t_ms,
			              e->conn, dir, dir == '*' ? " " : ": ");
			if (lf && end > pos && d[end - 1] == '\r')
				mh_buf_append_escaped(out, d + pos, end - 1 - pos, SIZE_MAX);
			else if (lf)
				mh_buf_append_escaped(out, d + pos, next - pos, SIZE_MAX);
			else {
				mh_buf_append_escaped(out, d + pos, end - pos, SIZE_MAX);
				if (dir != '*')
					mh_buf_append_str(out, " [no line end]");
			}
			mh_buf_append_str(out, "\n");
			pos = next;
		} while (pos < n);
	}
	if (c->transcript_dropped > 0)
		mh_buf_printf(out, "%s(transcript cap reached: %zu bytes not recorded)\n", indent,
		              c->transcript_dropped);
}

void mh_console_case(struct mh_console *con, const struct mh_run *run,
                     const struct mh_case_result *c, size_t done, size_t total)
{
	mh_console_clear_progress(con);
	struct mh_buf b;
	mh_buf_init(&b);
	if (total > 0) {
		int w = snprintf(NULL, 0, "%zu", total);
		mh_buf_printf(&b, "[%*zu/%zu] ", w, done, total);
	}
	size_t indent = b.len + 6;
	put_verdict(con, &b, c->verdict);
	mh_buf_append_str(&b, " ");
	append_safe(&b, c->id != NULL ? c->id : "(no id)", 200);
	mh_buf_printf(&b, " (%lld ms)", (long long)c->duration_ms);
	if (run->ntargets > 1 && c->target >= 0 && (size_t)c->target < run->ntargets) {
		mh_buf_append_str(&b, " @");
		append_safe(&b, run->targets[c->target].url, 200);
	}
	const struct mh_check *k = first_failed(c);
	switch (c->verdict) {
	case MH_V_FAIL:
		mh_buf_append_str(&b, ": ");
		append_safe(&b, k != NULL && k->message != NULL ? k->message : c->reason,
		            MESSAGE_MAX);
		if (k != NULL) {
			mh_buf_append_str(&b, " (");
			append_safe(&b, k->rfc != NULL ? k->rfc : c->rfc, 64);
			mh_buf_printf(&b, "%s%s)", k->rfc != NULL || c->rfc != NULL ? ", " : "",
			              mh_level_name(k->level));
		}
		if (k != NULL && (k->sent != NULL || k->received != NULL || k->expected != NULL)) {
			mh_buf_printf(&b, "\n%*s", (int)indent, "");
			append_exchange(&b, k, FIELD_MAX);
		}
		break;
	case MH_V_XFAIL:
		mh_buf_append_str(&b, ": ");
		append_safe(&b, c->reason != NULL ? c->reason : "", MESSAGE_MAX);
		mh_buf_append_str(&b, " (baseline: ");
		append_safe(&b, c->baseline_reason != NULL ? c->baseline_reason : "", MESSAGE_MAX);
		mh_buf_append_str(&b, ")");
		break;
	case MH_V_SKIP:
	case MH_V_ERROR:
		mh_buf_append_str(&b, ": ");
		append_safe(&b, c->reason != NULL ? c->reason : "(no reason given)", MESSAGE_MAX);
		break;
	default:
		if (c->baseline_fixed)
			mh_buf_append_str(&b, " (listed in the baseline, passes now)");
		break;
	}
	mh_buf_append_str(&b, "\n");
	if (con->verbose) {
		for (size_t i = 0; i < c->nchecks; i++)
			append_check_verbose(&b, &c->checks[i], "    ");
		if (c->ntranscript > 0) {
			mh_buf_append_str(&b, "    transcript:\n");
			mh_console_format_transcript(&b, c, "    ");
		}
	}
	flush_buf(con, &b);
	mh_buf_deinit(&b);
}

/* ---- summary ---- */

struct row {
	char label[80];
	size_t n[MH_V_COUNT];
};

struct table {
	struct row *rows;
	size_t nrows, cap;
};

static struct row *table_row(struct table *t, const char *label)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (strcmp(t->rows[i].label, label) == 0)
			return &t->rows[i];
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->rows = mh_realloc(t->rows, t->cap * sizeof(*t->rows));
	}
	struct row *r = &t->rows[t->nrows++];
	memset(r, 0, sizeof(*r));
	struct mh_buf b;
	mh_buf_init(&b);
	append_safe(&b, label, 60);
	snprintf(r->label, sizeof(r->label), "%s", mh_buf_cstr(&b));
	mh_buf_deinit(&b);
	return r;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->label, ((const struct row *)b)->label);
}

static void print_row(struct mh_buf *b, int lw, const char *label, const size_t *n)
{
	size_t total = 0;
	mh_buf_printf(b, "%-*.*s", lw, lw, label);
	for (int v = 0; v < MH_V_COUNT; v++) {
		mh_buf_printf(b, " %6zu", n[v]);
		total += n[v];
	}
	mh_buf_printf(b, " %6zu\n", total);
}

/* A table with a header row and, when with_total, a TOTAL row. */
static void print_table(struct mh_buf *b, const char *title, const struct table *t, bool with_total)
{
	int lw = LABEL_MIN;
	for (size_t i = 0; i < t->nrows; i++) {
		int l = (int)strlen(t->rows[i].label);
		lw = l > lw ? l : lw;
	}
	lw = lw > LABEL_MAX ? LABEL_MAX : lw;
	mh_buf_printf(b, "%-*s", lw, title);
	for (int v = 0; v < MH_V_COUNT; v++)
		mh_buf_printf(b, " %6s", mh_verdict_name((enum mh_verdict)v));
	mh_buf_printf(b, " %6s\n", "TOTAL");
	size_t sum[MH_V_COUNT] = {0};
	for (size_t i = 0; i < t->nrows; i++) {
		print_row(b, lw, t->rows[i].label, t->rows[i].n);
		for (int v = 0; v < MH_V_COUNT; v++)
			sum[v] += t->rows[i].n[v];
	}
	if (with_total)
		print_row(b, lw, "TOTAL", sum);
	mh_buf_append_str(b, "\n");
}

void mh_console_summary(struct mh_console *con, const struct mh_run *run)
{
	mh_console_clear_progress(con);
	struct table by_proto = {0}, by_level = {0}, by_rfc = {0};
	const char *protos[MAX_PROTOCOLS];
	size_t nprotos = mh_report_protocols(run, protos, MAX_PROTOCOLS);
	for (size_t p = 0; p < nprotos; p++)
		table_row(&by_proto, protos[p]);
	for (int l = 0; l < MH_LEVEL_COUNT; l++)
		table_row(&by_level, mh_level_name((enum mh_level)l));
	size_t nfixed = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		if ((unsigned)c->verdict >= MH_V_COUNT)
			continue;
		char doc[80];
		mh_report_rfc_document(c->rfc, doc, sizeof(doc));
		table_row(&by_proto, c->proto != NULL ? c->proto : "unknown")->n[c->verdict]++;
		table_row(&by_level, mh_level_name(c->level))->n[c->verdict]++;
		table_row(&by_rfc, doc)->n[c->verdict]++;
		nfixed += c->baseline_fixed;
	}
	if (by_rfc.nrows > 1)
		qsort(by_rfc.rows, by_rfc.nrows, sizeof(*by_rfc.rows), row_cmp);

	struct mh_buf b;
	mh_buf_init(&b);
	mh_buf_append_str(&b, "\n");
	if (run->profile != NULL) {
		mh_buf_append_str(&b, "Profile: ");
		append_safe(&b, run->profile, 80);
		mh_buf_append_str(&b, "\n\n");
	}
	print_table(&b, "Protocol", &by_proto, true);
	print_table(&b, "Level", &by_level, false);
	print_table(&b, "RFC", &by_rfc, false);
	if (nfixed > 0) {
		mh_buf_printf(&b, "baseline: %zu listed case%s now pass (remove them): ", nfixed,
		              nfixed == 1 ? "" : "s");
		bool first = true;
		for (size_t i = 0; i < run->ncases; i++) {
			if (!run->cases[i].baseline_fixed)
				continue;
			mh_buf_append_str(&b, first ? "" : ", ");
			append_safe(&b, run->cases[i].id != NULL ? run->cases[i].id : "(no id)",
			            200);
			first = false;
		}
		mh_buf_append_str(&b, "\n");
	}
	for (size_t p = 0; p < nprotos; p++) {
		struct mh_report_coverage cov;
		mh_buf_append_str(&b, "coverage: ");
		append_safe(&b, protos[p], 32);
		if (mh_report_coverage(run, protos[p], &cov) == 0) {
			const struct mh_matrix_count *core = &cov.matrix.core,
			                             *ext = &cov.matrix.extension;
			mh_buf_printf(&b,
			              " core %.1f%% (%zu/%zu state x command cells; allowed cells "
			              "%zu/%zu)",
			              mh_report_coverage_percent(core->exercised, core->total),
			              core->exercised, core->total, core->allowed_exercised,
			              core->allowed_total);
			if (ext->total > 0)
				mh_buf_printf(
				    &b, ", extensions %.1f%% (%zu/%zu; allowed %zu/%zu)",
				    mh_report_coverage_percent(ext->exercised, ext->total),
				    ext->exercised, ext->total, ext->allowed_exercised,
				    ext->allowed_total);
			mh_buf_append_str(&b, "\n");
		} else
			mh_buf_append_str(&b, " n/a (no spec loaded)\n");
		mh_report_coverage_deinit(&cov);
	}
	flush_buf(con, &b);
	mh_buf_deinit(&b);
	free(by_proto.rows);
	free(by_level.rows);
	free(by_rfc.rows);
}

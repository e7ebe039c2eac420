/* report_json.c: the JSON run report (reports/schema.json), coverage and shared report helpers. */
#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROTOCOLS 16

/* ---- text helpers shared by the report writers ---- */

size_t mh_report_utf8_next(const unsigned char *s, size_t n, uint32_t *cp_r)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80) {
		*cp_r = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

char *mh_report_json_utf8(const char *s)
{
	if (s == NULL)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	struct mh_buf b;
	mh_buf_init(&b);
	mh_buf_append(&b, "", 0);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = mh_report_utf8_next(p + i, n - i, &cp);
		if (l == 0) {
			mh_buf_printf(&b, "\\x%02x", p[i]);
			i++;
		} else {
			mh_buf_append(&b, p + i, l);
			i += l;
		}
	}
	return (char *)b.data;
}

size_t mh_report_protocols(const struct mh_run *run, const char **names_r, size_t max)
{
	size_t n = 0;
	size_t total = run->ntargets + run->ncases;
	for (size_t i = 0; i < total; i++) {
		const char *p =
		    i < run->ntargets ? run->targets[i].proto : run->cases[i - run->ntargets].proto;
		if (p == NULL)
			continue;
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = strcmp(names_r[j], p) == 0;
		if (!seen && n < max)
			names_r[n++] = p;
	}
	return n;
}

void mh_report_rfc_document(const char *rfc, char *out, size_t outlen)
{
	while (rfc != NULL && *rfc == ' ')
		rfc++;
	if (rfc == NULL || *rfc == '\0') {
		snprintf(out, outlen, "none");
		return;
	}
	if (mh_strncaseeq(rfc, "rfc", 3)) {
		const char *d = rfc + 3;
		while (*d == ' ' || *d == '-')
			d++;
		size_t nd = strspn(d, "0123456789");
		if (nd > 0 && nd < 8) {
			snprintf(out, outlen, "RFC %.*s", (int)nd, d);
			return;
		}
	}
	size_t w = strcspn(rfc, " \t\r\n");
	snprintf(out, outlen, "%.*s", (int)(w < 64 ? w : 64), rfc);
}

/* ---- coverage ---- */

struct triple {
	int state, cmd;
	size_t case_idx;
};

static int triple_cmp(const void *a, const void *b)
{
	const struct triple *x = a, *y = b;
	if (x->state != y->state)
		return x->state < y->state ? -1 : 1;
	if (x->cmd != y->cmd)
		return x->cmd < y->cmd ? -1 : 1;
	return x->case_idx < y->case_idx ? -1 : x->case_idx > y->case_idx;
}

static const struct mh_spec *case_spec(const struct mh_run *run, const struct mh_case_result *c)
{
	if (c->target < 0 || (size_t)c->target >= run->ntargets)
		return NULL;
	return run->targets[c->target].spec;
}

/* Maps cell (s, k) of spec from into spec to; false when either name is unknown there. */
static bool map_cell(const struct mh_spec *from, const struct mh_spec *to, int *s, int *k)
{
	if (*s < 0 || (size_t)*s >= from->nstates || *k < 0 || (size_t)*k >= from->ncommands)
		return false;
	if (from == to)
		return true;
	*s = mh_spec_state_find(to, from->states[*s].name);
	*k = mh_spec_command_find(to, from->commands[*k].name);
	return *s >= 0 && *k >= 0;
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

int mh_report_coverage(const struct mh_run *run, const char *proto,
                       struct mh_report_coverage *cov_r)
{
	memset(cov_r, 0, sizeof(*cov_r));
	for (size_t i = 0; i < run->ntargets && cov_r->spec == NULL; i++)
		if (run->targets[i].proto != NULL && strcmp(run->targets[i].proto, proto) == 0)
			cov_r->spec = run->targets[i].spec;
	const struct mh_spec *spec = cov_r->spec;
	if (spec == NULL)
		return -1;

	mh_matrix_totals(spec, &cov_r->matrix);
	cov_r->total = cov_r->matrix.core.total + cov_r->matrix.extension.total;
	cov_r->allowed_total =
	    cov_r->matrix.core.allowed_total + cov_r->matrix.extension.allowed_total;

	struct triple *t = NULL;
	size_t nt = 0, tcap = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		const struct mh_spec *from = case_spec(run, c);
		if (from == NULL || c->proto == NULL || strcmp(c->proto, proto) != 0)
			continue;
		for (size_t j = 0; j < c->ncells; j++) {
			int s = c->cells[2 * j], k = c->cells[2 * j + 1];
			if (!map_cell(from, spec, &s, &k))
				continue;
			if (nt == tcap) {
				tcap = tcap ? tcap * 2 : 64;
				t = mh_realloc(t, tcap * sizeof(*t));
			}
			t[nt++] = (struct triple){s, k, i};
		}
	}
	if (nt > 0)
		qsort(t, nt, sizeof(*t), triple_cmp);

	size_t cells_cap = 0;
	for (size_t i = 0; i < nt;) {
		size_t j = i;
		while (j < nt && t[j].state == t[i].state && t[j].cmd == t[i].cmd)
			j++;
		if (cov_r->ncells == cells_cap) {
			cells_cap = cells_cap ? cells_cap * 2 : 32;
			cov_r->cells = mh_realloc(cov_r->cells, cells_cap * sizeof(*cov_r->cells));
		}
		struct mh_report_cell *cell = &cov_r->cells[cov_r->ncells++];
		cell->state = t[i].state;
		cell->cmd = t[i].cmd;
		cell->part = mh_matrix_count_hit(spec, cell->state, cell->cmd, &cov_r->matrix);
		cell->in_matrix = cell->part != MH_MATRIX_OUT;
		cell->allowed = mh_spec_rule_for(spec, cell->cmd, cell->state) != NULL;
		cell->cases = mh_malloc((j - i) * sizeof(*cell->cases));
		cell->ncases = 0;
		for (size_t m = i; m < j; m++) {
			const char *id = str_or_empty(run->cases[t[m].case_idx].id);
			bool dup = false;
			for (size_t q = 0; q < cell->ncases && !dup; q++)
				dup = strcmp(str_or_empty(run->cases[cell->cases[q]].id), id) == 0;
			if (!dup)
				cell->cases[cell->ncases++] = t[m].case_idx;
		}
		if (cell->in_matrix) {
			cov_r->exercised++;
			cov_r->allowed_exercised += cell->allowed;
		}
		i = j;
	}
	free(t);
	return 0;
}

void mh_report_coverage_deinit(struct mh_report_coverage *cov)
{
	for (size_t i = 0; i < cov->ncells; i++)
		free(cov->cells[i].cases);
	free(cov->cells);
	memset(cov, 0, sizeof(*cov));
}

double mh_report_coverage_percent(size_t exercised, size_t total)
{
	if (total == 0)
		return 0.0;
	unsigned long long permille = ((unsigned long long)exercised * 1000 + total / 2) / total;
	return (double)permille / 10.0;
}

/* ---- JSON building ---- */

/* Free text: NULL -> null, otherwise a valid UTF-8 string (see mh_report_json_utf8). */
static json_t *jstr(const char *s)
{
	if (s == NULL)
		return json_null();
	char *u = mh_report_json_utf8(s);
	json_t *j = json_string(u);
	free(u);
	return j != NULL ? j : json_null();
}

/* Raw bytes, byte-exact: byte b becomes code point U+00bb (ISO 8859-1 decoding), so a reader
   gets the bytes back with data.encode("latin-1"). */
static json_t *jbytes(const unsigned char *d, size_t n)
{
	struct mh_buf b;
	mh_buf_init(&b);
	mh_buf_append(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (d[i] < 0x80) {
			mh_buf_append(&b, &d[i], 1);
		} else {
			unsigned char two[2] = {(unsigned char)(0xc0 | (d[i] >> 6)),
			                        (unsigned char)(0x80 | (d[i] & 0x3f))};
			mh_buf_append(&b, two, 2);
		}
	}
	json_t *j = json_stringn_nocheck((const char *)b.data, b.len);
	mh_buf_deinit(&b);
	return j;
}

static json_t *jtime(int64_t wall_ms)
{
	if (wall_ms <= 0)
		return json_null();
	char ts[64];
	mh_time_rfc3339(ts, sizeof(ts), wall_ms);
	return json_string(ts);
}

/* Run times are always present: an unset clock writes the epoch rather than null. */
static json_t *jtime_required(int64_t wall_ms)
{
	char ts[64];
	mh_time_rfc3339(ts, sizeof(ts), wall_ms > 0 ? wall_ms : 0);
	return json_string(ts);
}

static json_t *jint(long long v)
{
	return json_integer(v);
}

static json_t *jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, jstr(str_or_empty(v[i])));
	return a;
}

static json_t *counts_new(void)
{
	json_t *o = json_object();
	for (int v = 0; v < MH_V_COUNT; v++)
		json_object_set_new(o, mh_verdict_name((enum mh_verdict)v), json_integer(0));
	return o;
}

static void counts_inc(json_t *counts, enum mh_verdict v)
{
	json_t *n = json_object_get(counts, mh_verdict_name(v));
	if (n != NULL)
		json_integer_set(n, json_integer_value(n) + 1);
}

/* counts object under key in map, created on first use; key is made valid UTF-8. */
static json_t *counts_at(json_t *map, const char *key)
{
	char *k = mh_report_json_utf8(key);
	json_t *c = json_object_get(map, k);
	if (c == NULL) {
		c = counts_new();
		json_object_set_new(map, k, c);
	}
	free(k);
	return c;
}

static json_t *target_json(const struct mh_target_info *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "url", jstr(str_or_empty(t->url)));
	json_object_set_new(o, "protocol", jstr(t->proto));
	json_object_set_new(o, "host", jstr(t->host));
	json_object_set_new(o, "port", jint(t->port));
	json_object_set_new(o, "tls", jstr(t->tls));
	json_object_set_new(o, "greeting", jstr(t->greeting));
	json_object_set_new(o, "capabilities_before", jstrv(t->caps_before, t->ncaps_before));
	json_object_set_new(o, "capabilities_after", jstrv(t->caps_after, t->ncaps_after));
	json_object_set_new(o, "tls_version", jstr(t->tls_version));
	json_object_set_new(o, "tls_cipher", jstr(t->tls_cipher));
	json_object_set_new(o, "probe_error", jstr(t->probe_error));
	return o;
}

static json_t *check_json(const struct mh_check *k)
{
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(mh_check_kind_name(k->kind)));
	json_object_set_new(o, "verdict", json_string(mh_verdict_name(k->verdict)));
	json_object_set_new(o, "message", jstr(k->message));
	json_object_set_new(o, "sent", jstr(k->sent));
	json_object_set_new(o, "received", jstr(k->received));
	json_object_set_new(o, "expected", jstr(k->expected));
	json_object_set_new(o, "rfc", jstr(k->rfc));
	json_object_set_new(o, "level", json_string(mh_level_name(k->level)));
	json_object_set_new(o, "state", jstr(k->state));
	json_object_set_new(o, "next_state", jstr(k->next_state));
	json_object_set_new(o, "conn", jint(k->conn));
	return o;
}

static json_t *case_json(const struct mh_run *run, const struct mh_case_result *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", jstr(str_or_empty(c->id)));
	json_object_set_new(o, "title", jstr(c->title));
	json_object_set_new(o, "rfc", jstr(c->rfc));
	json_object_set_new(o, "level", json_string(mh_level_name(c->level)));
	json_object_set_new(o, "protocol", jstr(c->proto));
	json_object_set_new(o, "file", jstr(c->file));
	json_object_set_new(o, "capability", jstr(c->capability));
	bool target_ok = c->target >= 0 && (size_t)c->target < run->ntargets;
	json_object_set_new(o, "target", target_ok ? jint(c->target) : json_null());
	json_object_set_new(o, "verdict", json_string(mh_verdict_name(c->verdict)));
	json_object_set_new(o, "reason", jstr(c->reason));
	if (c->baseline_reason != NULL || c->baseline_fixed) {
		json_t *b = json_object();
		json_object_set_new(b, "reason", jstr(str_or_empty(c->baseline_reason)));
		json_object_set_new(b, "fixed", json_boolean(c->baseline_fixed));
		json_object_set_new(o, "baseline", b);
	} else {
		json_object_set_new(o, "baseline", json_null());
	}
	json_object_set_new(o, "started", jtime(c->start_wall_ms));
	json_object_set_new(o, "duration_ms", jint(c->duration_ms > 0 ? c->duration_ms : 0));
	json_t *checks = json_array();
	for (size_t i = 0; i < c->nchecks; i++)
		json_array_append_new(checks, check_json(&c->checks[i]));
	json_object_set_new(o, "checks", checks);
	json_t *tr = json_array();
	for (size_t i = 0; i < c->ntranscript; i++) {
		const struct mh_transcript_entry *e = &c->transcript[i];
		char dir[2] = {e->dir == 'C' || e->dir == 'S' ? e->dir : '*', '\0'};
		json_t *x = json_object();
		json_object_set_new(x, "t_ms", jint(e->t_ms > 0 ? e->t_ms : 0));
		json_object_set_new(x, "dir", json_string(dir));
		json_object_set_new(x, "conn", jint(e->conn));
		json_object_set_new(x, "data", jbytes(e->data.data, e->data.len));
		json_array_append_new(tr, x);
	}
	json_object_set_new(o, "transcript", tr);
	json_object_set_new(o, "transcript_dropped_bytes", jint((long long)c->transcript_dropped));
	return o;
}

/* {"commands", "exercised", "total", "percent", "allowed_exercised", "allowed_total"} of one part
   of the matrix (core or extensions). */
static json_t *matrix_part_json(const struct mh_spec *spec, enum mh_matrix_part part,
                                const struct mh_matrix_count *c)
{
	json_t *o = json_object(), *cmds = json_array();
	for (size_t k = 0; k < spec->ncommands; k++)
		if (mh_matrix_column(spec, (int)k) == part)
			json_array_append_new(cmds, jstr(str_or_empty(spec->commands[k].name)));
	json_object_set_new(o, "commands", cmds);
	json_object_set_new(o, "exercised", jint((long long)c->exercised));
	json_object_set_new(o, "total", jint((long long)c->total));
	json_object_set_new(o, "percent",
	                    json_real(mh_report_coverage_percent(c->exercised, c->total)));
	json_object_set_new(o, "allowed_exercised", jint((long long)c->allowed_exercised));
	json_object_set_new(o, "allowed_total", jint((long long)c->allowed_total));
	return o;
}

static json_t *coverage_json(const struct mh_run *run, const char *const *protos, size_t nprotos)
{
	json_t *all = json_object();
	for (size_t p = 0; p < nprotos; p++) {
		struct mh_report_coverage cov;
		if (mh_report_coverage(run, protos[p], &cov) != 0) {
			mh_report_coverage_deinit(&cov);
			continue;
		}
		const struct mh_spec *spec = cov.spec;
		json_t *o = json_object();
		json_object_set_new(o, "spec", jstr(spec->path));
		json_t *states = json_array(), *excluded = json_array(), *cmds = json_array();
		for (size_t s = 0; s < spec->nstates; s++) {
			json_t *name = jstr(str_or_empty(spec->states[s].name));
			if (mh_matrix_is_row(spec, (int)s))
				json_array_append_new(states, name);
			else if (spec->states[s].input == MH_INPUT_COMMAND)
				json_array_append_new(excluded, name);
			else
				json_decref(name);
		}
		for (size_t k = 0; k < spec->ncommands; k++)
			if (!spec->commands[k].pseudo)
				json_array_append_new(cmds,
				                      jstr(str_or_empty(spec->commands[k].name)));
		json_object_set_new(o, "states", states);
		json_object_set_new(o, "excluded_states", excluded);
		json_object_set_new(o, "commands", cmds);
		json_t *cells = json_array();
		for (size_t i = 0; i < cov.ncells; i++) {
			const struct mh_report_cell *cell = &cov.cells[i];
			json_t *x = json_object();
			json_object_set_new(x, "state",
			                    jstr(str_or_empty(spec->states[cell->state].name)));
			json_object_set_new(x, "command",
			                    jstr(str_or_empty(spec->commands[cell->cmd].name)));
			json_object_set_new(x, "in_matrix", json_boolean(cell->in_matrix));
			json_object_set_new(x, "matrix", jstr(mh_matrix_part_name(cell->part)));
			json_object_set_new(x, "allowed", json_boolean(cell->allowed));
			json_t *ids = json_array();
			for (size_t q = 0; q < cell->ncases; q++)
				json_array_append_new(
				    ids, jstr(str_or_empty(run->cases[cell->cases[q]].id)));
			json_object_set_new(x, "cases", ids);
			json_array_append_new(cells, x);
		}
		json_object_set_new(o, "cells", cells);
		json_object_set_new(o, "exercised", jint((long long)cov.exercised));
		json_object_set_new(o, "total", jint((long long)cov.total));
		json_object_set_new(
		    o, "percent", json_real(mh_report_coverage_percent(cov.exercised, cov.total)));
		json_object_set_new(o, "allowed_exercised", jint((long long)cov.allowed_exercised));
		json_object_set_new(o, "allowed_total", jint((long long)cov.allowed_total));
		json_object_set_new(o, "core",
		                    matrix_part_json(spec, MH_MATRIX_CORE, &cov.matrix.core));
		json_object_set_new(
		    o, "extensions",
		    matrix_part_json(spec, MH_MATRIX_EXTENSION, &cov.matrix.extension));
		json_object_set_new(all, protos[p], o);
		mh_report_coverage_deinit(&cov);
	}
	return all;
}

static json_t *summary_json(const struct mh_run *run)
{
	json_t *o = json_object();
	json_t *by_verdict = counts_new(), *by_proto = json_object(), *by_level = json_object(),
	       *by_rfc = json_object();
	for (int l = 0; l < MH_LEVEL_COUNT; l++)
		json_object_set_new(by_level, mh_level_name((enum mh_level)l), counts_new());
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		char doc[80];
		mh_report_rfc_document(c->rfc, doc, sizeof(doc));
		counts_inc(by_verdict, c->verdict);
		counts_inc(counts_at(by_proto, c->proto != NULL ? c->proto : "unknown"),
		           c->verdict);
		counts_inc(counts_at(by_level, mh_level_name(c->level)), c->verdict);
		counts_inc(counts_at(by_rfc, doc), c->verdict);
	}
	json_object_set_new(o, "total", jint((long long)run->ncases));
	json_object_set_new(o, "by_verdict", by_verdict);
	json_object_set_new(o, "by_protocol", by_proto);
	json_object_set_new(o, "by_level", by_level);
	json_object_set_new(o, "by_rfc", by_rfc);
	return o;
}

static json_t *report_json(const struct mh_run *run, int exit_status)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "report_version", jint(MH_REPORT_VERSION));
	json_t *tool = json_object();
	json_object_set_new(tool, "name", json_string("mailharness"));
	json_object_set_new(tool, "version",
	                    jstr(run->tool_version != NULL ? run->tool_version : "unknown"));
	json_object_set_new(doc, "tool", tool);
	int64_t start = run->start_wall_ms,
	        end = run->end_wall_ms > start ? run->end_wall_ms : start;
	json_object_set_new(doc, "started", jtime_required(start));
	json_object_set_new(doc, "finished", jtime_required(end));
	json_object_set_new(doc, "duration_ms", jint(end - start));
	json_object_set_new(doc, "suites", jstrv(run->suites, run->nsuites));
	json_object_set_new(doc, "filter", jstr(run->filter));
	json_object_set_new(doc, "profile", jstr(run->profile));
	json_object_set_new(doc, "baseline", jstr(run->baseline_path));
	json_t *targets = json_array();
	for (size_t i = 0; i < run->ntargets; i++)
		json_array_append_new(targets, target_json(&run->targets[i]));
	json_object_set_new(doc, "targets", targets);
	json_t *cases = json_array();
	for (size_t i = 0; i < run->ncases; i++)
		json_array_append_new(cases, case_json(run, &run->cases[i]));
	json_object_set_new(doc, "cases", cases);
	const char *protos[MAX_PROTOCOLS];
	size_t nprotos = mh_report_protocols(run, protos, MAX_PROTOCOLS);
	json_object_set_new(doc, "coverage", coverage_json(run, protos, nprotos));
	json_object_set_new(doc, "summary", summary_json(run));
	json_object_set_new(doc, "exit_status", jint(exit_status));
	return doc;
}

char *mh_report_json_string(const struct mh_run *run, int exit_status, struct mh_error *err)
{
	json_t *doc = report_json(run, exit_status);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
	                                 JSON_REAL_PRECISION(6));
	json_decref(doc);
	if (text == NULL) {
		mh_error_set(err, "JSON report: serialization failed");
		return NULL;
	}
	size_t n = strlen(text);
	char *out = mh_malloc(n + 2);
	memcpy(out, text, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(text);
	return out;
}

int mh_report_json_write(const struct mh_run *run, const char *path, int exit_status,
                         struct mh_error *err)
{
	char *text = mh_report_json_string(run, exit_status, err);
	if (text == NULL)
		return -1;
	int rc = mh_write_file_atomic(path, text, strlen(text), err);
	free(text);
	return rc;
}

/* report_junit.c: the JUnit XML report, written by hand (no XML library), always well-formed. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "console.h"

/* Appends s as XML 1.0 character data (attr: attribute value in double quotes). Valid UTF-8
   passes except markup characters (entities) and characters XML forbids or discourages: C0
   controls other than TAB/LF/CR, DEL, C1 controls, U+FFFE/U+FFFF and invalid bytes become the
   text "\xNN", one per byte. CR (and in attributes TAB and LF) become character references so a
   parser gives them back instead of normalizing them. */
static void xml_append(struct mh_buf *b, const char *str, size_t n, bool attr)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = mh_report_utf8_next(s + i, n - i, &cp);
		if (l == 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
		    (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff) {
			size_t m = l == 0 ? 1 : l;
			for (size_t j = 0; j < m; j++)
				mh_buf_printf(b, "\\x%02x", s[i + j]);
			i += m;
			continue;
		}
		switch (cp) {
		case '&': mh_buf_append_str(b, "&amp;"); break;
		case '<': mh_buf_append_str(b, "&lt;"); break;
		case '>': mh_buf_append_str(b, "&gt;"); break;
		case '"': mh_buf_append_str(b, attr ? "&quot;" : "\""); break;
		case '\'': mh_buf_append_str(b, attr ? "&apos;" : "'"); break;
		case '\r': mh_buf_append_str(b, "&#13;"); break;
		case '\n': mh_buf_append_str(b, attr ? "&#10;" : "\n"); break;
		case '\t': mh_buf_append_str(b, attr ? "&#9;" : "\t"); break;
		default: mh_buf_append(b, s + i, l); break;
		}
		i += l;
	}
}

static void xml_str(struct mh_buf *b, const char *s, bool attr)
{
	if (s != NULL)
		xml_append(b, s, strlen(s), attr);
}

/* name="value" with a leading space; NULL values are left out. */
static void xml_attr(struct mh_buf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	mh_buf_printf(b, " %s=\"", name);
	xml_str(b, value, true);
	mh_buf_append_str(b, "\"");
}

/* Seconds with millisecond precision, without locale-dependent printf of doubles. */
static void xml_time_attr(struct mh_buf *b, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	mh_buf_printf(b, " time=\"%lld.%03lld\"", (long long)(ms / 1000), (long long)(ms % 1000));
}

static void xml_count_attrs(struct mh_buf *b, const size_t *n)
{
	mh_buf_printf(b, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"",
	              n[MH_V_PASS] + n[MH_V_FAIL] + n[MH_V_SKIP] + n[MH_V_XFAIL] + n[MH_V_ERROR],
	              n[MH_V_FAIL], n[MH_V_ERROR], n[MH_V_SKIP] + n[MH_V_XFAIL]);
}

static void xml_property(struct mh_buf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	mh_buf_printf(b, "      <property name=\"%s\"", name);
	xml_attr(b, "value", value);
	mh_buf_append_str(b, "/>\n");
}

/* The failed checks of c as element text: level, RFC, message, then the exchange. */
static void failed_checks_text(struct mh_buf *b, const struct mh_case_result *c)
{
	struct mh_buf t;
	mh_buf_init(&t);
	for (size_t i = 0; i < c->nchecks; i++) {
		const struct mh_check *k = &c->checks[i];
		if (k->verdict != MH_V_FAIL)
			continue;
		mh_buf_printf(&t, "[%s] %s%s(%s): %s\n", mh_level_name(k->level),
		              k->rfc != NULL ? k->rfc : "", k->rfc != NULL ? " " : "",
		              mh_check_kind_name(k->kind), k->message != NULL ? k->message : "");
		if (k->state != NULL)
			mh_buf_printf(&t, "  state: %s -> %s\n", k->state,
			              k->next_state != NULL ? k->next_state : "?");
		if (k->conn > 0)
			mh_buf_printf(&t, "  conn: %d\n", k->conn);
		if (k->sent != NULL)
			mh_buf_printf(&t, "  sent: %s\n", k->sent);
		if (k->received != NULL)
			mh_buf_printf(&t, "  received: %s\n", k->received);
		if (k->expected != NULL)
			mh_buf_printf(&t, "  expected: %s\n", k->expected);
	}
	xml_append(b, (const char *)t.data, t.len, false);
	mh_buf_deinit(&t);
}

static void testcase_xml(struct mh_buf *b, const struct mh_case_result *c)
{
	mh_buf_append_str(b, "    <testcase");
	xml_attr(b, "name", c->id != NULL ? c->id : "");
	mh_buf_append_str(b, " classname=\"mailharness.");
	xml_str(b, c->proto != NULL ? c->proto : "unknown", true);
	mh_buf_append_str(b, "\"");
	xml_time_attr(b, c->duration_ms);
	xml_attr(b, "file", c->file);
	mh_buf_append_str(b, ">\n");

	const char *reason = c->reason != NULL ? c->reason : "";
	switch (c->verdict) {
	case MH_V_FAIL: {
		const char *type = "FAIL";
		for (size_t i = 0; i < c->nchecks; i++)
			if (c->checks[i].verdict == MH_V_FAIL) {
				type = mh_level_name(c->checks[i].level);
				break;
			}
		mh_buf_append_str(b, "      <failure");
		xml_attr(b, "message", reason);
		xml_attr(b, "type", type);
		mh_buf_append_str(b, ">");
		failed_checks_text(b, c);
		mh_buf_append_str(b, "</failure>\n");
		break;
	}
	case MH_V_ERROR:
		mh_buf_append_str(b, "      <error");
		xml_attr(b, "message", reason);
		xml_attr(b, "type", "ERROR");
		mh_buf_append_str(b, ">");
		xml_str(b, reason, false);
		mh_buf_append_str(b, "\n");
		failed_checks_text(b, c);
		mh_buf_append_str(b, "</error>\n");
		break;
	case MH_V_XFAIL: {
		struct mh_buf m;
		mh_buf_init(&m);
		mh_buf_printf(&m, "expected failure (baseline): %s",
		              c->baseline_reason != NULL ? c->baseline_reason : "");
		mh_buf_append_str(b, "      <skipped");
		xml_attr(b, "message", mh_buf_cstr(&m));
		mh_buf_append_str(b, ">");
		xml_str(b, reason, false);
		mh_buf_append_str(b, "\n");
		failed_checks_text(b, c);
		mh_buf_append_str(b, "</skipped>\n");
		mh_buf_deinit(&m);
		break;
	}
	case MH_V_SKIP:
		mh_buf_append_str(b, "      <skipped");
		xml_attr(b, "message", reason);
		mh_buf_append_str(b, "/>\n");
		break;
	default: break;
	}

	struct mh_buf out;
	mh_buf_init(&out);
	if (c->baseline_fixed)
		mh_buf_printf(&out,
		              "listed in the baseline but passes now, remove the entry (%s)\n",
		              c->baseline_reason != NULL ? c->baseline_reason : "");
	mh_console_format_transcript(&out, c, "");
	if (out.len > 0) {
		mh_buf_append_str(b, "      <system-out>");
		xml_append(b, (const char *)out.data, out.len, false);
		mh_buf_append_str(b, "</system-out>\n");
	}
	mh_buf_deinit(&out);
	mh_buf_append_str(b, "    </testcase>\n");
}

struct group {
	int target;
	const char *proto;
};

static bool in_group(const struct mh_case_result *c, const struct group *g)
{
	const char *p = c->proto != NULL ? c->proto : "unknown";
	return c->target == g->target && strcmp(p, g->proto) == 0;
}

static void testsuite_xml(struct mh_buf *b, const struct mh_run *run, const struct group *g)
{
	size_t n[MH_V_COUNT] = {0};
	int64_t ms = 0, first_start = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		if (!in_group(c, g) || (unsigned)c->verdict >= MH_V_COUNT)
			continue;
		n[c->verdict]++;
		ms += c->duration_ms > 0 ? c->duration_ms : 0;
		if (c->start_wall_ms > 0 && (first_start == 0 || c->start_wall_ms < first_start))
			first_start = c->start_wall_ms;
	}
	const struct mh_target_info *t =
	    g->target >= 0 && (size_t)g->target < run->ntargets ? &run->targets[g->target] : NULL;
	struct mh_buf name;
	mh_buf_init(&name);
	mh_buf_printf(&name, "%s %s", g->proto,
	              t != NULL && t->url != NULL ? t->url : "(no target)");
	mh_buf_append_str(b, "  <testsuite");
	xml_attr(b, "name", mh_buf_cstr(&name));
	xml_count_attrs(b, n);
	xml_time_attr(b, ms);
	if (first_start > 0) {
		char ts[64];
		mh_time_rfc3339(ts, sizeof(ts), first_start);
		xml_attr(b, "timestamp", ts);
	}
	if (t != NULL)
		xml_attr(b, "hostname", t->host);
	mh_buf_append_str(b, ">\n    <properties>\n");
	if (t != NULL) {
		xml_property(b, "target", t->url);
		xml_property(b, "tls", t->tls);
		xml_property(b, "tls_version", t->tls_version);
		xml_property(b, "tls_cipher", t->tls_cipher);
		xml_property(b, "probe_error", t->probe_error);
	}
	xml_property(b, "protocol", g->proto);
	xml_property(b, "profile", run->profile);
	xml_property(b, "baseline", run->baseline_path);
	xml_property(b, "mailharness_version", run->tool_version);
	mh_buf_append_str(b, "    </properties>\n");
	for (size_t i = 0; i < run->ncases; i++)
		if (in_group(&run->cases[i], g))
			testcase_xml(b, &run->cases[i]);
	mh_buf_append_str(b, "  </testsuite>\n");
	mh_buf_deinit(&name);
}

void mh_report_junit_build(const struct mh_run *run, struct mh_buf *out)
{
	size_t n[MH_V_COUNT] = {0};
	struct group *groups = mh_calloc(run->ncases + 1, sizeof(*groups));
	size_t ngroups = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		if ((unsigned)c->verdict < MH_V_COUNT)
			n[c->verdict]++;
		struct group g = {c->target, c->proto != NULL ? c->proto : "unknown"};
		bool seen = false;
		for (size_t j = 0; j < ngroups && !seen; j++)
			seen =
			    groups[j].target == g.target && strcmp(groups[j].proto, g.proto) == 0;
		if (!seen)
			groups[ngroups++] = g;
	}
	mh_buf_append_str(
	    out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mailharness\"");
	xml_count_attrs(out, n);
	int64_t end = run->end_wall_ms > run->start_wall_ms ? run->end_wall_ms : run->start_wall_ms;
	xml_time_attr(out, end - run->start_wall_ms);
	if (run->start_wall_ms > 0) {
		char ts[64];
		mh_time_rfc3339(ts, sizeof(ts), run->start_wall_ms);
		xml_attr(out, "timestamp", ts);
	}
	mh_buf_append_str(out, ">\n");
	for (size_t i = 0; i < ngroups; i++)
		testsuite_xml(out, run, &groups[i]);
	mh_buf_append_str(out, "</testsuites>\n");
	free(groups);
}

int mh_report_junit_write(const struct mh_run *run, const char *path, struct mh_error *err)
{
	struct mh_buf b;
	mh_buf_init(&b);
	mh_report_junit_build(run, &b);
	int rc = mh_write_file_atomic(path, b.data, b.len, err);
	mh_buf_deinit(&b);
	return rc;
}

/* suites_doc.c: renders the list of cases as the Markdown of docs/SUITES.md. */
#include "suites_doc.h"

#include <string.h>

#include "reply.h"
#include "spec.h"

/* A Markdown table cell: '|' escaped, line breaks dropped, controls as \xNN. */
static void md_cell(struct mh_buf *out, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '|')
			mh_buf_append_str(out, "\\|");
		else if (ch == '\n' || ch == '\r')
			mh_buf_append_str(out, " ");
		else if (ch < 0x20 || ch == 0x7f)
			mh_buf_printf(out, "\\x%02x", ch);
		else
			mh_buf_append(out, s, 1);
	}
}

static bool selected(const struct mh_case_meta *m, const char *proto, const char *filter)
{
	return (proto == NULL || strcmp(m->proto, proto) == 0) &&
	       (filter == NULL || mh_glob_match(filter, m->id));
}

static void upper(char *dst, size_t n, const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0' && i + 1 < n; i++)
		dst[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	dst[i] = '\0';
}

void mh_suites_doc_markdown(const struct mh_case_meta *cases, size_t n, const char *proto,
                            const char *filter, struct mh_buf *out)
{
	size_t count[MH_PROTO_COUNT][MH_LEVEL_COUNT + 1];
	memset(count, 0, sizeof(count));
	for (size_t i = 0; i < n; i++) {
		int p = mh_proto_from_name(cases[i].proto);
		if (p < 0 || !selected(&cases[i], proto, filter))
			continue;
		count[p][cases[i].level]++;
		count[p][MH_LEVEL_COUNT]++;
	}
	mh_buf_append_str(
	    out, "# Test suites\n\n"
	         "Generated from the cases in `scripts/` by `mailharness list --markdown`; "
	         "do not edit, run\n`ci/gen-docs.sh`. How to write a case: "
	         "[SCRIPTING.md](SCRIPTING.md).\n\n"
	         "| protocol | cases | MUST | SHOULD | MAY |\n|---|---:|---:|---:|---:|\n");
	size_t total[MH_LEVEL_COUNT + 1] = {0};
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		if (count[p][MH_LEVEL_COUNT] == 0)
			continue;
		char up[16];
		upper(up, sizeof(up), mh_proto_name((enum mh_proto_id)p));
		mh_buf_printf(out, "| [%s](#%s) | %zu | %zu | %zu | %zu |\n", up,
		              mh_proto_name((enum mh_proto_id)p), count[p][MH_LEVEL_COUNT],
		              count[p][MH_LEVEL_MUST], count[p][MH_LEVEL_SHOULD],
		              count[p][MH_LEVEL_MAY]);
		for (int l = 0; l <= MH_LEVEL_COUNT; l++)
			total[l] += count[p][l];
	}
	mh_buf_printf(out, "| total | %zu | %zu | %zu | %zu |\n", total[MH_LEVEL_COUNT],
	              total[MH_LEVEL_MUST], total[MH_LEVEL_SHOULD], total[MH_LEVEL_MAY]);
	mh_buf_append_str(out,
	                  "\n*requires*: the capability the server must advertise (else SKIP), "
	                  "the profiles the case\nis limited to (`--profile`), and "
	                  "*destructive* for cases that run only with\n"
	                  "`--allow-destructive`.\n");
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		if (count[p][MH_LEVEL_COUNT] == 0)
			continue;
		const char *pn = mh_proto_name((enum mh_proto_id)p);
		char up[16];
		upper(up, sizeof(up), pn);
		mh_buf_printf(out,
		              "\n<a id=\"%s\"></a>\n## %s: %zu cases\n\n"
		              "| id | title | RFC | level | requires |\n|---|---|---|---|---|\n",
		              pn, up, count[p][MH_LEVEL_COUNT]);
		for (size_t i = 0; i < n; i++) {
			const struct mh_case_meta *m = &cases[i];
			if (strcmp(m->proto, pn) != 0 || !selected(m, proto, filter))
				continue;
			mh_buf_append_str(out, "| `");
			md_cell(out, m->id);
			mh_buf_append_str(out, "` | ");
			md_cell(out, m->title);
			mh_buf_append_str(out, " | ");
			md_cell(out, m->rfc);
			mh_buf_printf(out, " | %s |", mh_level_name(m->level));
			const char *sep = " ";
			if (m->capability != NULL) {
				mh_buf_append_str(out, sep);
				md_cell(out, m->capability);
				sep = "; ";
			}
			if (m->profile != NULL) {
				mh_buf_printf(out, "%sprofile ", sep);
				md_cell(out, m->profile);
				sep = "; ";
			}
			if (m->destructive)
				mh_buf_printf(out, "%sdestructive", sep);
			mh_buf_append_str(out, " |\n");
		}
	}
}

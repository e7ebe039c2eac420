/* report_read.c: reads JSON run reports back (for compare and spec --matrix). STYLE rule 9 keeps
   JSON *writing* in report_json.c; this module only reads, with jansson, like the spec loader. */
#include "report_read.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX_BYTES (1024u * 1024 * 1024)

struct ctx {
	const char *name;
	struct mh_error *err;
};

static int fail(struct ctx *c, const char *member, const char *what)
{
	mh_error_set(c->err, "%s: %s: %s", c->name, member, what);
	return -1;
}

/* member of obj as a new string: required strings must be present and strings; optional ones
   may be null or absent (NULL). */
static int get_str(struct ctx *c, json_t *obj, const char *key, const char *where, bool required,
                   char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		char m[160];
		snprintf(m, sizeof(m), "%s.%s", where, key);
		return fail(c, m, "missing");
	}
	if (!json_is_string(v)) {
		char m[160];
		snprintf(m, sizeof(m), "%s.%s", where, key);
		return fail(c, m, "not a string");
	}
	*out = mh_strdup(json_string_value(v));
	return 0;
}

static int read_targets(struct ctx *c, json_t *doc, struct mh_report_read *r)
{
	json_t *a = json_object_get(doc, "targets");
	if (!json_is_array(a))
		return fail(c, "targets", "not an array");
	r->targets = mh_calloc(json_array_size(a) + 1, sizeof(*r->targets));
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *t = json_array_get(a, i);
		char where[64];
		snprintf(where, sizeof(where), "targets[%zu]", i);
		if (!json_is_object(t))
			return fail(c, where, "not an object");
		struct mh_report_read_target *x = &r->targets[r->ntargets++];
		if (get_str(c, t, "url", where, true, &x->url) != 0 ||
		    get_str(c, t, "protocol", where, true, &x->protocol) != 0 ||
		    get_str(c, t, "greeting", where, false, &x->greeting) != 0)
			return -1;
	}
	return 0;
}

static int read_cases(struct ctx *c, json_t *doc, struct mh_report_read *r)
{
	json_t *a = json_object_get(doc, "cases");
	if (!json_is_array(a))
		return fail(c, "cases", "not an array");
	r->cases = mh_calloc(json_array_size(a) + 1, sizeof(*r->cases));
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		char where[64];
		snprintf(where, sizeof(where), "cases[%zu]", i);
		if (!json_is_object(o))
			return fail(c, where, "not an object");
		struct mh_report_read_case *x = &r->cases[r->ncases++];
		x->target = -1;
		if (get_str(c, o, "id", where, true, &x->id) != 0 ||
		    get_str(c, o, "verdict", where, true, &x->verdict) != 0 ||
		    get_str(c, o, "title", where, false, &x->title) != 0 ||
		    get_str(c, o, "rfc", where, false, &x->rfc) != 0 ||
		    get_str(c, o, "level", where, false, &x->level) != 0 ||
		    get_str(c, o, "protocol", where, false, &x->protocol) != 0)
			return -1;
		static const char *const verdicts[] = {"PASS", "FAIL", "SKIP", "XFAIL", "ERROR"};
		bool known = false;
		for (size_t v = 0; v < MH_ARRAY_SIZE(verdicts); v++)
			known = known || strcmp(x->verdict, verdicts[v]) == 0;
		if (!known)
			return fail(c, where, "verdict is not PASS, FAIL, SKIP, XFAIL or ERROR");
		json_t *t = json_object_get(o, "target");
		if (json_is_integer(t) && json_integer_value(t) >= 0 &&
		    (size_t)json_integer_value(t) < r->ntargets)
			x->target = (int)json_integer_value(t);
		else if (t != NULL && !json_is_null(t))
			return fail(c, where, "target is not an index into targets");
	}
	return 0;
}

static int read_coverage(struct ctx *c, json_t *doc, struct mh_report_read *r)
{
	json_t *cov = json_object_get(doc, "coverage");
	if (cov == NULL || json_is_null(cov))
		return 0;
	if (!json_is_object(cov))
		return fail(c, "coverage", "not an object");
	const char *proto;
	json_t *p;
	json_object_foreach(cov, proto, p)
	{
		json_t *cells = json_object_get(p, "cells");
		char where[96];
		snprintf(where, sizeof(where), "coverage.%.40s.cells", proto);
		if (!json_is_array(cells))
			return fail(c, where, "not an array");
		r->cells = mh_realloc(r->cells,
		                      (r->ncells + json_array_size(cells) + 1) * sizeof(*r->cells));
		for (size_t i = 0; i < json_array_size(cells); i++) {
			json_t *o = json_array_get(cells, i);
			char w[128];
			snprintf(w, sizeof(w), "%s[%zu]", where, i);
			if (!json_is_object(o))
				return fail(c, w, "not an object");
			struct mh_report_read_cell *x = &r->cells[r->ncells++];
			memset(x, 0, sizeof(*x));
			x->protocol = mh_strdup(proto);
			if (get_str(c, o, "state", w, true, &x->state) != 0 ||
			    get_str(c, o, "command", w, true, &x->command) != 0)
				return -1;
			json_t *ids = json_object_get(o, "cases");
			if (!json_is_array(ids))
				return fail(c, w, "cases is not an array");
			x->cases = mh_calloc(json_array_size(ids) + 1, sizeof(char *));
			for (size_t k = 0; k < json_array_size(ids); k++) {
				json_t *id = json_array_get(ids, k);
				if (!json_is_string(id))
					return fail(c, w, "cases holds a non-string");
				x->cases[x->ncases++] = mh_strdup(json_string_value(id));
			}
		}
	}
	return 0;
}

int mh_report_read_buf(const char *json, size_t len, const char *name, struct mh_report_read *r_out,
                       struct mh_error *err)
{
	memset(r_out, 0, sizeof(*r_out));
	r_out->path = mh_strdup(name);
	struct ctx c = {name, err};
	json_error_t je;
	/* transcripts hold \u0000 (a server's NUL bytes): allowed; the members read here are text
	 */
	json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (doc == NULL) {
		mh_error_set(err, "%s:%d: %s", name, je.line, je.text);
		return -1;
	}
	int rc = -1;
	json_t *ver = json_object_get(doc, "report_version");
	if (!json_is_object(doc) || ver == NULL)
		fail(&c, "report_version", "missing: not a mailharness report");
	else if (!json_is_integer(ver) || json_integer_value(ver) != 1)
		fail(&c, "report_version", "not 1 (this mailharness reads version 1)");
	else if (get_str(&c, doc, "profile", "report", false, &r_out->profile) == 0 &&
	         read_targets(&c, doc, r_out) == 0 && read_cases(&c, doc, r_out) == 0 &&
	         read_coverage(&c, doc, r_out) == 0)
		rc = 0;
	json_decref(doc);
	return rc;
}

int mh_report_read_file(const char *path, struct mh_report_read *r_out, struct mh_error *err)
{
	size_t len = 0;
	char *text = mh_read_file(path, REPORT_MAX_BYTES, &len, err);
	if (text == NULL) {
		memset(r_out, 0, sizeof(*r_out));
		return -1;
	}
	int rc = mh_report_read_buf(text, len, path, r_out, err);
	free(text);
	return rc;
}

void mh_report_read_deinit(struct mh_report_read *r)
{
	for (size_t i = 0; i < r->ntargets; i++) {
		free(r->targets[i].url);
		free(r->targets[i].protocol);
		free(r->targets[i].greeting);
	}
	for (size_t i = 0; i < r->ncases; i++) {
		struct mh_report_read_case *x = &r->cases[i];
		free(x->id);
		free(x->title);
		free(x->rfc);
		free(x->level);
		free(x->protocol);
		free(x->verdict);
	}
	for (size_t i = 0; i < r->ncells; i++) {
		for (size_t k = 0; k < r->cells[i].ncases; k++)
			free(r->cells[i].cases[k]);
		free(r->cells[i].cases);
		free(r->cells[i].protocol);
		free(r->cells[i].state);
		free(r->cells[i].command);
	}
	free(r->targets);
	free(r->cases);
	free(r->cells);
	free(r->path);
	free(r->profile);
	memset(r, 0, sizeof(*r));
}

/* baseline.c: loading, applying and writing the known-failures baseline file. */
#include "baseline.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define BASELINE_MAX_BYTES   (16u * 1024 * 1024)
#define BASELINE_MAX_ENTRIES 100000

static void entry_deinit(struct mh_baseline_entry *e)
{
	free(e->id);
	free(e->target);
	free(e->reason);
	free(e->rfc);
	memset(e, 0, sizeof(*e));
}

void mh_baseline_free(struct mh_baseline **bp)
{
	if (bp == NULL || *bp == NULL)
		return;
	struct mh_baseline *b = *bp;
	for (size_t i = 0; i < b->nentries; i++)
		entry_deinit(&b->entries[i]);
	free(b->entries);
	free(b->path);
	free(b);
	*bp = NULL;
}

/* Copies the string member key of entry i into *out_r. required: absence is an error. */
static int get_string(json_t *obj, const char *key, bool required, const char *name, size_t i,
                      char **out_r, struct mh_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL) {
		if (!required)
			return 0;
		mh_error_set(err, "%s: entries[%zu]: missing \"%s\"", name, i, key);
		return -1;
	}
	if (!json_is_string(v)) {
		mh_error_set(err, "%s: entries[%zu]: \"%s\" must be a string", name, i, key);
		return -1;
	}
	if (json_string_length(v) == 0) {
		mh_error_set(err, "%s: entries[%zu]: \"%s\" must not be empty", name, i, key);
		return -1;
	}
	*out_r = mh_strdup(json_string_value(v));
	return 0;
}

static int load_entry(json_t *e, const char *name, size_t i, struct mh_baseline_entry *out,
                      struct mh_error *err)
{
	static const char *const keys[] = {"id", "target", "reason", "rfc"};
	if (!json_is_object(e)) {
		mh_error_set(err, "%s: entries[%zu]: must be an object", name, i);
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach(e, key, v)
	{
		bool known = false;
		for (size_t k = 0; k < MH_ARRAY_SIZE(keys) && !known; k++)
			known = strcmp(key, keys[k]) == 0;
		if (!known) {
			mh_error_set(err, "%s: entries[%zu]: unknown key \"%s\"", name, i, key);
			return -1;
		}
	}
	if (get_string(e, "id", true, name, i, &out->id, err) != 0 ||
	    get_string(e, "target", false, name, i, &out->target, err) != 0 ||
	    get_string(e, "reason", true, name, i, &out->reason, err) != 0 ||
	    get_string(e, "rfc", true, name, i, &out->rfc, err) != 0)
		return -1;
	return 0;
}

struct mh_baseline *mh_baseline_load_buf(const char *json, size_t len, const char *name,
                                         struct mh_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		mh_error_set(err, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	struct mh_baseline *b = mh_calloc(1, sizeof(*b));
	b->path = mh_strdup(name);
	const char *key;
	json_t *v;
	if (!json_is_object(root)) {
		mh_error_set(err, "%s: the document must be an object", name);
		goto fail;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "baseline_version") != 0 && strcmp(key, "entries") != 0) {
			mh_error_set(err, "%s: unknown key \"%s\"", name, key);
			goto fail;
		}
	}
	v = json_object_get(root, "baseline_version");
	if (!json_is_integer(v) || json_integer_value(v) != MH_BASELINE_VERSION) {
		mh_error_set(err, "%s: \"baseline_version\" must be %d", name, MH_BASELINE_VERSION);
		goto fail;
	}
	json_t *entries = json_object_get(root, "entries");
	if (!json_is_array(entries)) {
		mh_error_set(err, "%s: \"entries\" must be an array", name);
		goto fail;
	}
	size_t n = json_array_size(entries);
	if (n > BASELINE_MAX_ENTRIES) {
		mh_error_set(err, "%s: more than %d entries", name, BASELINE_MAX_ENTRIES);
		goto fail;
	}
	b->entries = mh_calloc(n, sizeof(*b->entries));
	for (size_t i = 0; i < n; i++) {
		b->nentries = i + 1; /* so a half-filled entry is freed */
		if (load_entry(json_array_get(entries, i), name, i, &b->entries[i], err) != 0)
			goto fail;
	}
	b->nentries = n;
	json_decref(root);
	return b;
fail:
	json_decref(root);
	mh_baseline_free(&b);
	return NULL;
}

struct mh_baseline *mh_baseline_load(const char *path, struct mh_error *err)
{
	size_t len;
	char *text = mh_read_file(path, BASELINE_MAX_BYTES, &len, err);
	if (text == NULL)
		return NULL;
	struct mh_baseline *b = mh_baseline_load_buf(text, len, path, err);
	free(text);
	return b;
}

static const char *case_url(const struct mh_run *run, const struct mh_case_result *c)
{
	if (c->target < 0 || (size_t)c->target >= run->ntargets ||
	    run->targets[c->target].url == NULL)
		return "";
	return run->targets[c->target].url;
}

const struct mh_baseline_entry *mh_baseline_match(const struct mh_baseline *b,
                                                  const struct mh_run *run,
                                                  const struct mh_case_result *c)
{
	if (b == NULL || c->id == NULL)
		return NULL;
	const char *url = case_url(run, c);
	for (size_t i = 0; i < b->nentries; i++) {
		const struct mh_baseline_entry *e = &b->entries[i];
		if (mh_glob_match(e->id, c->id) &&
		    (e->target == NULL || mh_glob_match(e->target, url)))
			return e;
	}
	return NULL;
}

void mh_baseline_apply_case(const struct mh_baseline *b, const struct mh_run *run,
                            struct mh_case_result *c)
{
	if (c->verdict != MH_V_FAIL && c->verdict != MH_V_PASS)
		return;
	const struct mh_baseline_entry *e = mh_baseline_match(b, run, c);
	if (e == NULL)
		return;
	free(c->baseline_reason);
	c->baseline_reason = mh_strdup(e->reason);
	if (c->verdict == MH_V_FAIL)
		c->verdict = MH_V_XFAIL;
	else
		c->baseline_fixed = true;
}

void mh_baseline_apply(const struct mh_baseline *b, struct mh_run *run)
{
	for (size_t i = 0; i < run->ncases; i++)
		mh_baseline_apply_case(b, run, &run->cases[i]);
}

static const struct mh_check *first_failed(const struct mh_case_result *c)
{
	for (size_t i = 0; i < c->nchecks; i++)
		if (c->checks[i].verdict == MH_V_FAIL)
			return &c->checks[i];
	return NULL;
}

static void set_text(json_t *obj, const char *key, const char *s)
{
	char *u = mh_report_json_utf8(s);
	json_object_set_new(obj, key, json_string(u));
	free(u);
}

char *mh_baseline_string(const struct mh_run *run, struct mh_error *err)
{
	json_t *root = json_object();
	json_t *entries = json_array();
	json_object_set_new(root, "baseline_version", json_integer(MH_BASELINE_VERSION));
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		if ((c->verdict != MH_V_FAIL && c->verdict != MH_V_XFAIL) || c->id == NULL ||
		    c->id[0] == '\0')
			continue;
		const char *url = case_url(run, c);
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++) {
			const struct mh_case_result *o = &run->cases[j];
			dup = (o->verdict == MH_V_FAIL || o->verdict == MH_V_XFAIL) &&
			      o->id != NULL && strcmp(o->id, c->id) == 0 &&
			      strcmp(case_url(run, o), url) == 0;
		}
		if (dup)
			continue;
		const struct mh_check *k = first_failed(c);
		const char *reason = c->reason != NULL && c->reason[0] != '\0' ? c->reason
		                     : k != NULL && k->message != NULL && k->message[0] != '\0'
		                         ? k->message
		                         : "no reason recorded";
		const char *rfc = c->rfc != NULL && c->rfc[0] != '\0'                ? c->rfc
		                  : k != NULL && k->rfc != NULL && k->rfc[0] != '\0' ? k->rfc
		                                                                     : "unknown";
		json_t *e = json_object();
		set_text(e, "id", c->id);
		if (url[0] != '\0')
			set_text(e, "target", url);
		set_text(e, "reason", reason);
		set_text(e, "rfc", rfc);
		json_array_append_new(entries, e);
	}
	json_object_set_new(root, "entries", entries);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL) {
		mh_error_set(err, "baseline: serialization failed");
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

int mh_baseline_write(const struct mh_run *run, const char *path, struct mh_error *err)
{
	char *text = mh_baseline_string(run, err);
	if (text == NULL)
		return -1;
	int rc = mh_write_file_atomic(path, text, strlen(text), err);
	free(text);
	return rc;
}

/* result.c: building case results (checks, transcript, coverage cells) and run-level counts. */
#include "result.h"

#include <stdlib.h>
#include <string.h>

/* bytes of transcript kept per case; the rest is counted as dropped */
#define TRANSCRIPT_CAP (4u * 1024 * 1024)

static const char *const verdict_names[] = {
    [MH_V_PASS] = "PASS",   [MH_V_FAIL] = "FAIL",   [MH_V_SKIP] = "SKIP",
    [MH_V_XFAIL] = "XFAIL", [MH_V_ERROR] = "ERROR",
};
_Static_assert(MH_ARRAY_SIZE(verdict_names) == MH_V_COUNT, "verdict_names out of sync");

static const char *const kind_names[] = {
    [MH_CHECK_SPEC] = "spec",
    [MH_CHECK_SYNTAX] = "syntax",
    [MH_CHECK_ASSERT] = "assert",
};
_Static_assert(MH_ARRAY_SIZE(kind_names) == MH_CHECK_COUNT, "kind_names out of sync");

const char *mh_verdict_name(enum mh_verdict v)
{
	return (unsigned)v < MH_V_COUNT ? verdict_names[v] : "?";
}

const char *mh_check_kind_name(enum mh_check_kind k)
{
	return (unsigned)k < MH_CHECK_COUNT ? kind_names[k] : "?";
}

struct mh_check *mh_case_add_check(struct mh_case_result *c, enum mh_check_kind kind,
                                   enum mh_verdict verdict, const char *message, const char *sent,
                                   const char *received, const char *expected, const char *rfc,
                                   enum mh_level level)
{
	if (c->nchecks == c->checks_cap) {
		c->checks_cap = c->checks_cap ? c->checks_cap * 2 : 16;
		c->checks = mh_realloc(c->checks, c->checks_cap * sizeof(*c->checks));
	}
	struct mh_check *k = &c->checks[c->nchecks++];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->verdict = verdict;
	k->message = mh_strdup(message);
	k->sent = mh_strdup(sent);
	k->received = mh_strdup(received);
	k->expected = mh_strdup(expected);
	k->rfc = mh_strdup(rfc);
	k->level = level;
	return k;
}

void mh_case_add_transcript(struct mh_case_result *c, int conn, char dir, const void *data,
                            size_t n, int64_t t_ms)
{
	if (c->transcript_bytes + n > TRANSCRIPT_CAP) {
		c->transcript_dropped += n;
		return;
	}
	/* merge consecutive chunks of the same direction and connection: one entry per burst */
	if (c->ntranscript > 0) {
		struct mh_transcript_entry *last = &c->transcript[c->ntranscript - 1];
		if (last->dir == dir && last->conn == conn && dir != '*' &&
		    t_ms - last->t_ms < 50) {
			mh_buf_append(&last->data, data, n);
			c->transcript_bytes += n;
			return;
		}
	}
	if (c->ntranscript == c->transcript_cap) {
		c->transcript_cap = c->transcript_cap ? c->transcript_cap * 2 : 32;
		c->transcript =
		    mh_realloc(c->transcript, c->transcript_cap * sizeof(*c->transcript));
	}
	struct mh_transcript_entry *e = &c->transcript[c->ntranscript++];
	e->t_ms = t_ms;
	e->dir = dir;
	e->conn = conn;
	mh_buf_init(&e->data);
	mh_buf_append(&e->data, data, n);
	c->transcript_bytes += n;
}

void mh_case_add_cell(struct mh_case_result *c, int state, int cmd)
{
	for (size_t i = 0; i < c->ncells; i++)
		if (c->cells[2 * i] == state && c->cells[2 * i + 1] == cmd)
			return;
	if (c->ncells == c->cells_cap) {
		c->cells_cap = c->cells_cap ? c->cells_cap * 2 : 16;
		c->cells = mh_realloc(c->cells, 2 * c->cells_cap * sizeof(*c->cells));
	}
	c->cells[2 * c->ncells] = state;
	c->cells[2 * c->ncells + 1] = cmd;
	c->ncells++;
}

void mh_case_finish(struct mh_case_result *c)
{
	if (c->verdict == MH_V_SKIP || c->verdict == MH_V_ERROR)
		return;
	c->verdict = MH_V_PASS;
	for (size_t i = 0; i < c->nchecks; i++) {
		if (c->checks[i].verdict == MH_V_FAIL) {
			c->verdict = MH_V_FAIL;
			if (c->reason == NULL)
				c->reason = mh_strdup(c->checks[i].message);
		}
	}
}

void mh_case_result_deinit(struct mh_case_result *c)
{
	free(c->id);
	free(c->title);
	free(c->rfc);
	free(c->proto);
	free(c->file);
	free(c->capability);
	free(c->reason);
	free(c->baseline_reason);
	for (size_t i = 0; i < c->nchecks; i++) {
		struct mh_check *k = &c->checks[i];
		free(k->message);
		free(k->sent);
		free(k->received);
		free(k->expected);
		free(k->rfc);
		free(k->state);
		free(k->next_state);
	}
	free(c->checks);
	for (size_t i = 0; i < c->ntranscript; i++)
		mh_buf_deinit(&c->transcript[i].data);
	free(c->transcript);
	free(c->cells);
	memset(c, 0, sizeof(*c));
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void mh_target_info_deinit(struct mh_target_info *t)
{
	free(t->url);
	free(t->proto);
	free(t->host);
	free(t->tls);
	free(t->greeting);
	free_strv(t->caps_before, t->ncaps_before);
	free_strv(t->caps_after, t->ncaps_after);
	free(t->tls_version);
	free(t->tls_cipher);
	free(t->probe_error);
	memset(t, 0, sizeof(*t));
}

void mh_run_init(struct mh_run *run)
{
	memset(run, 0, sizeof(*run));
	pthread_mutex_init(&run->lock, NULL);
}

void mh_run_deinit(struct mh_run *run)
{
	free(run->tool_version);
	free_strv(run->suites, run->nsuites);
	free(run->filter);
	free(run->profile);
	free(run->baseline_path);
	for (size_t i = 0; i < run->ntargets; i++)
		mh_target_info_deinit(&run->targets[i]);
	free(run->targets);
	for (size_t i = 0; i < run->ncases; i++)
		mh_case_result_deinit(&run->cases[i]);
	free(run->cases);
	for (size_t i = 0; i < run->nowned_specs; i++)
		mh_spec_free(&run->owned_specs[i]);
	pthread_mutex_destroy(&run->lock);
	memset(run, 0, sizeof(*run));
}

size_t mh_run_count(const struct mh_run *run, const char *proto, int level, enum mh_verdict v)
{
	size_t n = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		if (c->verdict != v)
			continue;
		if (proto != NULL && (c->proto == NULL || strcmp(proto, c->proto) != 0))
			continue;
		if (level >= 0 && (int)c->level != level)
			continue;
		n++;
	}
	return n;
}

/* A FAIL counts as required when one of its failed checks is at MUST level (script assertions
   carry the case's level unless they name their own). */
static bool case_required_fail(const struct mh_case_result *c)
{
	for (size_t i = 0; i < c->nchecks; i++)
		if (c->checks[i].verdict == MH_V_FAIL && c->checks[i].level == MH_LEVEL_MUST)
			return true;
	return false;
}

int mh_run_exit_status(const struct mh_run *run, bool strict)
{
	int status = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		const struct mh_case_result *c = &run->cases[i];
		if (c->verdict == MH_V_ERROR)
			return 2;
		if (c->verdict == MH_V_FAIL && (strict || case_required_fail(c)))
			status = 1;
	}
	return status;
}

void mh_run_own_spec(struct mh_run *run, struct mh_spec *spec)
{
	if (run->nowned_specs < MH_ARRAY_SIZE(run->owned_specs))
		run->owned_specs[run->nowned_specs++] = spec;
	else
		mh_spec_free(&spec);
}

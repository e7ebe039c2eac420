/* fuzz_corpus.c: the queue of a worker: seeds (a directory of .dlg files, or the dialogues of a
   Lua suite recorded first), the queue/ directory of a resumed campaign, new inputs, and the
   import of the other workers' queue/ entries (AFL++'s -M/-S sync: each worker has its own
   directory under the campaign directory; rsync between machines copies them). Dialogues stay on
   disk; a bounded cache keeps the recently used ones parsed. */
#include "fuzz_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner.h"

#define SEEDS_MAX        10000
#define SYNC_PER_ROUND   200
#define SYNC_WORKERS_MAX 256

/* A seed when the seed directory has none for the protocol. */
static const char *const builtin_seed[MH_PROTO_COUNT] = {
    [MH_PROTO_SMTP] = "# mailharness dialogue 1\nproto smtp\nsend EHLO fuzz.example\\r\\n\n"
                      "reply 250\nsend MAIL FROM:<a@fuzz.example>\\r\\n\nreply 250\n"
                      "send RCPT TO:<postmaster>\\r\\n\nreply 250\nsend DATA\\r\\n\nreply 354\n"
                      "send Subject: x\\r\\n\\r\\nbody\\r\\n.\\r\\n\nreply 250\n"
                      "send QUIT\\r\\n\nreply 221\n",
    [MH_PROTO_IMAP] = "# mailharness dialogue 1\nproto imap\nsend a1 CAPABILITY\\r\\n\n"
                      "reply OK\nsend a2 NOOP\\r\\n\nreply OK\nsend a3 LOGOUT\\r\\n\nreply OK\n",
    [MH_PROTO_POP3] = "# mailharness dialogue 1\nproto pop3\nsend CAPA\\r\\n\nreply +OK\n"
                      "send USER ${USER}\\r\\n\nreply +OK\nsend QUIT\\r\\n\nreply +OK\n",
};

static void cache_evict(struct fuzz_ctx *ctx, size_t keep)
{
	for (int tries = 0; tries < 64 && (ctx->cache_bytes > FUZZ_CACHE_BYTES ||
	                                   ctx->cached > FUZZ_CACHE_ENTRIES);
	     tries++) {
		size_t j = (size_t)mh_rng_below(&ctx->rng, ctx->nq);
		if (j == keep || ctx->q[j].d == NULL)
			continue;
		mh_dialogue_deinit(ctx->q[j].d);
		free(ctx->q[j].d);
		ctx->q[j].d = NULL;
		ctx->cached--;
		ctx->cache_bytes -=
		    ctx->q[j].bytes < ctx->cache_bytes ? ctx->q[j].bytes : ctx->cache_bytes;
	}
}

static void cache_put(struct fuzz_ctx *ctx, size_t i, const struct mh_dialogue *d)
{
	struct mh_dialogue *c = mh_malloc(sizeof(*c));
	mh_dialogue_init(c, d->proto);
	mh_dialogue_copy(c, d);
	ctx->q[i].d = c;
	ctx->q[i].bytes = mh_dialogue_bytes(d) + d->n * sizeof(struct mh_dlg_msg);
	ctx->cached++;
	ctx->cache_bytes += ctx->q[i].bytes;
	cache_evict(ctx, i);
}

static size_t push_entry(struct fuzz_ctx *ctx, long id, const char *name)
{
	if (ctx->nq == ctx->capq) {
		ctx->capq = ctx->capq ? ctx->capq * 2 : 64;
		ctx->q = mh_realloc(ctx->q, ctx->capq * sizeof(*ctx->q));
	}
	struct fuzz_entry *e = &ctx->q[ctx->nq];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->name = mh_strdup(name);
	return ctx->nq++;
}

static int save_entry(struct fuzz_ctx *ctx, const struct mh_dialogue *d, struct mh_finding_meta *m,
                      struct mh_error *err)
{
	if (ctx->nq >= FUZZ_QUEUE_MAX)
		return 0; /* full: keep fuzzing what we have */
	m->cls = MH_FC_QUEUE;
	m->execs = ctx->execs_total;
	m->time_ms = mh_now_ms() - ctx->t0_ms + ctx->run_time_prev_s * 1000;
	m->target = ctx->o->target.url;
	m->worker = ctx->o->worker;
	char name[512];
	long id;
	if (mh_findings_save(ctx->fnd, m, d, name, sizeof(name), &id, err) != 0)
		return -1;
	size_t i = push_entry(ctx, id, name);
	cache_put(ctx, i, d);
	snprintf(ctx->last_new, sizeof(ctx->last_new), "%.120s", name);
	return 0;
}

int fuzz_corpus_add(struct fuzz_ctx *ctx, const struct mh_dialogue *d, long src, const char *op,
                    const char *sync, bool new_cov, struct mh_error *err)
{
	struct mh_finding_meta m;
	memset(&m, 0, sizeof(m));
	m.src = src;
	m.op = op;
	m.sync = sync;
	m.new_cov = new_cov;
	size_t before = ctx->nq;
	if (save_entry(ctx, d, &m, err) != 0)
		return -1;
	if (ctx->nq > before) {
		ctx->q[ctx->nq - 1].favored = true;
		if (sync == NULL)
			ctx->found_inputs++;
		ctx->last_find = mh_wall_ms() / 1000;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .dlg files of dir, sorted. */
static size_t list_seeds(const char *dir, char ***names_r)
{
	*names_r = NULL;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < SEEDS_MAX) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 5 || strcmp(e->d_name + l - 4, ".dlg") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = mh_realloc(names, cap * sizeof(*names));
		}
		names[n++] = mh_strdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	*names_r = names;
	return n;
}

/* Runs the suite once against the target, recording its dialogues into dir. */
static int record_suite(struct fuzz_ctx *ctx, const char *dir, struct mh_error *err)
{
	const struct mh_fuzz_opts *o = ctx->o;
	const char *targets[1] = {o->target.url};
	const char *suites[1] = {o->suite};
	struct mh_record_stats rs;
	memset(&rs, 0, sizeof(rs));
	struct mh_run_opts ro;
	memset(&ro, 0, sizeof(ro));
	ro.targets = targets;
	ro.ntargets = 1;
	ro.suites = suites;
	ro.nsuites = 1;
	ro.datadir = o->datadir;
	ro.user = o->user;
	ro.password = o->password;
	ro.jobs = 1;
	ro.timeout_ms = 5000;
	ro.case_timeout_ms = 60000;
	ro.insecure = true;
	ro.record_dir = dir;
	ro.record_stats = &rs;
	ro.stop = o->stop;
	struct mh_run run;
	mh_run_init(&run);
	int rc = mh_runner_run(&ro, &run, err);
	size_t ncases = run.ncases;
	mh_run_deinit(&run);
	if (rc == 0)
		fuzz_note(ctx, "recorded %zu dialogues from %zu cases of %s", rs.saved, ncases,
		          o->suite);
	return rc;
}

static int load_seeds(struct fuzz_ctx *ctx, struct mh_error *err)
{
	const struct mh_fuzz_opts *o = ctx->o;
	char dir[4096];
	if (o->suite != NULL) {
		snprintf(dir, sizeof(dir), "%s/.recorded", mh_findings_dir(ctx->fnd));
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			mh_error_set(err, "mkdir %s: %s", dir, strerror(errno));
			return -1;
		}
		if (record_suite(ctx, dir, err) != 0)
			return -1;
	} else if (o->seeds_dir != NULL) {
		snprintf(dir, sizeof(dir), "%s", o->seeds_dir);
	} else {
		snprintf(dir, sizeof(dir), "%s/corpus/%s", o->datadir,
		         mh_proto_name(o->target.proto));
	}
	char **names = NULL;
	size_t n = list_seeds(dir, &names);
	if (n == 0 && o->seeds_dir != NULL) {
		mh_error_set(err, "%s: no .dlg seeds", dir);
		return -1;
	}
	struct mh_dialogue d;
	mh_dialogue_init(&d, o->target.proto);
	size_t bad = 0, other = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		struct mh_error e;
		mh_error_init(&e);
		if (mh_dialogue_load(path, &d, &e) != 0) {
			if (bad++ == 0)
				fuzz_note(ctx, "skipping seed: %s", e.msg);
			continue;
		}
		if (d.proto != o->target.proto) {
			other++;
			continue;
		}
		struct mh_finding_meta m;
		memset(&m, 0, sizeof(m));
		m.src = -1;
		m.orig = names[i];
		rc = save_entry(ctx, &d, &m, err);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0 && ctx->nq == 0) {
		fuzz_note(ctx, "no %s seeds in %s: starting from a built-in dialogue",
		          mh_proto_name(o->target.proto), dir);
		struct mh_error e;
		mh_error_init(&e);
		const char *text = builtin_seed[o->target.proto];
		if (mh_dialogue_parse(text, strlen(text), &d, &e) != 0) {
			mh_error_set(err, "built-in seed: %s", e.msg);
			rc = -1;
		} else {
			struct mh_finding_meta m;
			memset(&m, 0, sizeof(m));
			m.src = -1;
			m.orig = "builtin";
			rc = save_entry(ctx, &d, &m, err);
		}
	}
	mh_dialogue_deinit(&d);
	if (rc == 0)
		fuzz_note(ctx, "%zu seeds from %s%s", ctx->nq, dir,
		          bad + other > 0 ? " (some skipped: unreadable or another protocol)" : "");
	return rc;
}

int fuzz_corpus_init(struct fuzz_ctx *ctx, struct mh_error *err)
{
	char dir[2300];
	snprintf(dir, sizeof(dir), "%s/queue", mh_findings_dir(ctx->fnd));
	char **names = NULL;
	long n = mh_findings_list(dir, FUZZ_QUEUE_MAX, &names);
	for (long i = 0; i < n; i++) {
		push_entry(ctx, mh_findings_name_id(names[i]), names[i]);
		free(names[i]);
	}
	free(names);
	if (ctx->nq > 0) {
		fuzz_note(ctx,
		          "resuming %s: %zu queue entries, %zu crashes, %zu hangs, %zu "
		          "violations saved before",
		          mh_findings_dir(ctx->fnd), ctx->nq,
		          mh_findings_count(ctx->fnd, MH_FC_CRASH),
		          mh_findings_count(ctx->fnd, MH_FC_HANG),
		          mh_findings_count(ctx->fnd, MH_FC_VIOLATION));
		return 0;
	}
	return load_seeds(ctx, err);
}

void fuzz_corpus_deinit(struct fuzz_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nq; i++) {
		if (ctx->q[i].d != NULL) {
			mh_dialogue_deinit(ctx->q[i].d);
			free(ctx->q[i].d);
		}
		free(ctx->q[i].name);
	}
	free(ctx->q);
	ctx->q = NULL;
	ctx->nq = ctx->capq = 0;
}

const struct mh_dialogue *fuzz_corpus_get(struct fuzz_ctx *ctx, size_t i)
{
	if (i >= ctx->nq)
		return NULL;
	if (ctx->q[i].d != NULL)
		return ctx->q[i].d;
	char path[4400];
	snprintf(path, sizeof(path), "%s/queue/%s", mh_findings_dir(ctx->fnd), ctx->q[i].name);
	struct mh_dialogue d;
	mh_dialogue_init(&d, ctx->o->target.proto);
	struct mh_error err;
	mh_error_init(&err);
	const struct mh_dialogue *r = NULL;
	if (mh_dialogue_load(path, &d, &err) == 0 && d.proto == ctx->o->target.proto) {
		cache_put(ctx, i, &d);
		r = ctx->q[i].d;
	}
	mh_dialogue_deinit(&d);
	return r;
}

size_t fuzz_corpus_pick(struct fuzz_ctx *ctx)
{
	/* tournament of three: favoured, productive, rarely picked and short entries win (a
	   dialogue of a thousand repeated commands costs a thousand round trips; AFL++ likewise
	   favours fast, small inputs) */
	size_t best = (size_t)mh_rng_below(&ctx->rng, ctx->nq);
	double best_score = -1.0;
	for (int k = 0; k < 3; k++) {
		size_t j = k == 0 ? best : (size_t)mh_rng_below(&ctx->rng, ctx->nq);
		const struct fuzz_entry *e = &ctx->q[j];
		double score = (e->favored ? 2.0 : 1.0) * (1.0 + e->finds) /
		               (1.0 + e->picks / 8.0) / (1.0 + (double)e->bytes / 4096.0);
		if (score > best_score) {
			best_score = score;
			best = j;
		}
	}
	return best;
}

/* ---- import from the other workers ---- */

static long *sync_slot(struct fuzz_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->nsync; i++)
		if (strcmp(ctx->sync_names[i], name) == 0)
			return &ctx->sync_last[i];
	if (ctx->nsync >= SYNC_WORKERS_MAX)
		return NULL;
	ctx->sync_names = mh_realloc(ctx->sync_names, (ctx->nsync + 1) * sizeof(char *));
	ctx->sync_last = mh_realloc(ctx->sync_last, (ctx->nsync + 1) * sizeof(long));
	ctx->sync_names[ctx->nsync] = mh_strdup(name);
	/* where an earlier session stopped */
	long last = -1;
	char path[4400];
	snprintf(path, sizeof(path), "%s/.synced/%s", mh_findings_dir(ctx->fnd), name);
	struct mh_error err;
	mh_error_init(&err);
	char *txt = mh_read_file(path, 64, NULL, &err);
	if (txt != NULL) {
		unsigned long long v;
		txt[strcspn(txt, "\r\n")] = '\0';
		if (mh_parse_uint(txt, 0, 999999999, &v) == 0)
			last = (long)v;
		free(txt);
	}
	ctx->sync_last[ctx->nsync] = last;
	return &ctx->sync_last[ctx->nsync++];
}

static void sync_worker(struct fuzz_ctx *ctx, const char *name, long *last)
{
	char dir[4400];
	snprintf(dir, sizeof(dir), "%s/%s/queue", mh_findings_campaign_dir(ctx->fnd), name);
	char **names = NULL;
	long n = mh_findings_list(dir, FUZZ_QUEUE_MAX, &names);
	struct mh_dialogue d;
	mh_dialogue_init(&d, ctx->o->target.proto);
	long newest = *last;
	size_t done = 0;
	for (long i = 0; i < n; i++) {
		long id = mh_findings_name_id(names[i]);
		bool take = id > *last && done < SYNC_PER_ROUND && !ctx->fatal &&
		            !(ctx->o->stop != NULL && *ctx->o->stop);
		if (take && strstr(names[i], ",sync:") == NULL) { /* not re-imports */
			char path[4800];
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			struct mh_error err;
			mh_error_init(&err);
			if (mh_dialogue_load(path, &d, &err) == 0 &&
			    d.proto == ctx->o->target.proto) {
				fuzz_exec(ctx, &d, true);
				bool new_cov;
				bool news = fuzz_feedback(ctx, &new_cov);
				fuzz_oracles(ctx, &d, id, "sync");
				if (news &&
				    fuzz_corpus_add(ctx, &d, id, NULL, name, new_cov, &err) == 0)
					ctx->imported++;
			}
			done++;
		}
		if (take && id > newest)
			newest = id;
		free(names[i]);
	}
	free(names);
	mh_dialogue_deinit(&d);
	if (newest > *last) {
		*last = newest;
		char sdir[2400], num[32];
		snprintf(sdir, sizeof(sdir), "%s/.synced", mh_findings_dir(ctx->fnd));
		mkdir(sdir, 0755);
		int k = snprintf(num, sizeof(num), "%ld\n", newest);
		struct mh_error err;
		mh_error_init(&err);
		mh_findings_write(sdir, name, num, (size_t)k, true, &err);
	}
}

void fuzz_corpus_sync(struct fuzz_ctx *ctx)
{
	const char *campaign = mh_findings_campaign_dir(ctx->fnd);
	DIR *d = opendir(campaign);
	if (d == NULL)
		return;
	char *names[SYNC_WORKERS_MAX];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < SYNC_WORKERS_MAX) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, ctx->o->worker) == 0)
			continue;
		char q[4400];
		struct stat st;
		snprintf(q, sizeof(q), "%s/%s/queue", campaign, e->d_name);
		if (stat(q, &st) == 0 && S_ISDIR(st.st_mode))
			names[n++] = mh_strdup(e->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		long *last = sync_slot(ctx, names[i]);
		if (last != NULL)
			sync_worker(ctx, names[i], last);
		free(names[i]);
	}
}

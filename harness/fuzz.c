/* fuzz.c: the campaign loop of one worker: set up (spec, mutator, findings directory, coverage
   map, supervisor, corpus), run the seeds once, then pick, mutate, execute, judge and keep until
   the run count, the time limit or a stop signal; stats and status along the way. */
#include "fuzz_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define STATS_EVERY_MS 1000
#define PLOT_EVERY_MS  5000
#define SEED_RUNS_MAX  2000 /* queue entries run once at the start */

void fuzz_note(struct fuzz_ctx *ctx, const char *fmt, ...)
{
	if (ctx->o->on_event == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	char line[768];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctx->o->on_event(ctx->o->ud, line);
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void fuzz_exec(struct fuzz_ctx *ctx, const struct mh_dialogue *d, bool coverage)
{
	struct mh_error err;
	mh_error_init(&err);
	if (mh_sup_begin(ctx->sup, &err) != 0) {
		ctx->fatal = true;
		snprintf(ctx->fatal_msg, sizeof(ctx->fatal_msg), "%s", err.msg);
		mh_dlg_result_deinit(&ctx->res);
		mh_dlg_result_init(&ctx->res);
		ctx->res.outcome = MH_DLG_REFUSED;
		ctx->crash.crashed = false;
		return;
	}
	if (ctx->cov != NULL && coverage)
		mh_aflcov_clear(ctx->cov);
	mh_dlg_exec(d, &ctx->o->target, &ctx->xo, &ctx->res);
	if ((uint64_t)ctx->res.elapsed_ms > ctx->slowest_ms)
		ctx->slowest_ms = (uint64_t)ctx->res.elapsed_ms;
	mh_sup_end(ctx->sup, ctx->res.outcome, &ctx->crash);
	ctx->execs_total++;
}

static bool pair_insert(struct fuzz_ctx *ctx, uint32_t h)
{
	if (h == 0)
		h = 1;
	if (ctx->npairs >= FUZZ_PAIRS_CAP * 3 / 4)
		return false;
	size_t i = h % FUZZ_PAIRS_CAP;
	while (ctx->pairs[i] != 0) {
		if (ctx->pairs[i] == h)
			return false;
		i = (i + 1) % FUZZ_PAIRS_CAP;
	}
	ctx->pairs[i] = h;
	ctx->npairs++;
	return true;
}

static void state_seen(struct fuzz_ctx *ctx, const char *name)
{
	if (name == NULL || *name == '\0')
		return;
	for (size_t i = 0; i < ctx->nstates; i++)
		if (strcmp(ctx->states[i], name) == 0)
			return;
	if (ctx->nstates < MH_ARRAY_SIZE(ctx->states))
		snprintf(ctx->states[ctx->nstates++], sizeof(ctx->states[0]), "%s", name);
}

bool fuzz_feedback(struct fuzz_ctx *ctx, bool *new_cov_r)
{
	bool news = false;
	*new_cov_r = false;
	if (ctx->cov != NULL) {
		int r = mh_aflcov_update(ctx->cov, NULL);
		news = r > 0;
		*new_cov_r = r == 2;
	}
	for (size_t i = 0; i < ctx->res.npairs; i++)
		news |= pair_insert(ctx, ctx->res.pairs[i]);
	const struct mh_case_result *c = &ctx->res.checks;
	for (size_t i = 0; i < c->nchecks; i++) {
		state_seen(ctx, c->checks[i].state);
		state_seen(ctx, c->checks[i].next_state);
	}
	size_t ncmd = ctx->spec->ncommands;
	for (size_t i = 0; i < c->ncells; i++) {
		int st = c->cells[2 * i], cmd = c->cells[2 * i + 1];
		if (st < 0 || cmd < 0 || (size_t)st >= ctx->spec->nstates || (size_t)cmd >= ncmd)
			continue;
		size_t bit = (size_t)st * ncmd + (size_t)cmd;
		if (!(ctx->cells[bit / 8] & (1u << (bit % 8)))) {
			ctx->cells[bit / 8] |= (unsigned char)(1u << (bit % 8));
			ctx->ncells++;
		}
	}
	return news;
}

static void update_rate(struct fuzz_ctx *ctx, int64_t now)
{
	if (now - ctx->rate_t_ms < 1000)
		return;
	double r = (double)(ctx->execs - ctx->rate_execs) * 1000.0 / (double)(now - ctx->rate_t_ms);
	ctx->rate = ctx->rate == 0.0 ? r : 0.7 * r + 0.3 * ctx->rate;
	ctx->rate_t_ms = now;
	ctx->rate_execs = ctx->execs;
}

static void write_stats(struct fuzz_ctx *ctx, bool durable)
{
	struct mh_findings_stats fs;
	fuzz_stats_fill(ctx, &fs);
	struct mh_error err;
	mh_error_init(&err);
	if (mh_findings_write_stats(ctx->fnd, &fs, durable, &err) != 0)
		fuzz_note(ctx, "warning: %s", err.msg);
	if (ctx->cov != NULL && durable) {
		char path[2200];
		snprintf(path, sizeof(path), "%s/fuzz_bitmap", mh_findings_dir(ctx->fnd));
		mh_aflcov_save(ctx->cov, path, &err);
	}
}

static void write_plot(struct fuzz_ctx *ctx)
{
	struct mh_findings_stats fs;
	fuzz_stats_fill(ctx, &fs);
	struct mh_error err;
	mh_error_init(&err);
	if (mh_findings_append_plot(ctx->fnd, &fs, &err) != 0)
		fuzz_note(ctx, "warning: %s", err.msg);
}

static void report_status(struct fuzz_ctx *ctx, bool done)
{
	if (ctx->o->on_status == NULL)
		return;
	struct mh_fuzz_status st;
	fuzz_status_fill(ctx, &st);
	st.done = done;
	ctx->o->on_status(ctx->o->ud, &st);
}

static int setup(struct fuzz_ctx *ctx, struct mh_error *err)
{
	const struct mh_fuzz_opts *o = ctx->o;
	char path[4096];
	mh_runner_spec_path(o->datadir, o->target.proto, path, sizeof(path));
	ctx->spec = mh_spec_load(path, err);
	if (ctx->spec == NULL)
		return -1;
	ctx->mut = mh_mutator_new(o->target.proto, ctx->spec, o->dict, err);
	if (ctx->mut == NULL)
		return -1;
	/* MH_FUZZ_OPS=op,op...: only these operators (benchmarks, focused campaigns) */
	const char *ops = getenv("MH_FUZZ_OPS");
	if (ops != NULL && *ops != '\0' && mh_mutator_restrict(ctx->mut, ops, err) != 0)
		return -1;
	ctx->fnd = mh_findings_open(o->out_dir, o->worker, err);
	if (ctx->fnd == NULL)
		return -1;
	struct mh_findings_stats prev;
	if (mh_findings_resumed(ctx->fnd, &prev)) {
		ctx->execs_total = prev.execs_done;
		ctx->run_time_prev_s = prev.run_time_s;
		ctx->start_time_s = prev.start_time;
		ctx->last_find = prev.last_find;
		ctx->last_crash = prev.last_crash;
		ctx->last_hang = prev.last_hang;
	}
	if (ctx->start_time_s == 0)
		ctx->start_time_s = mh_wall_ms() / 1000;
	mh_rng_seed(&ctx->rng,
	            o->seed ^ str_hash(o->worker) ^ (ctx->execs_total * 0x9e3779b97f4a7c15ull));
	ctx->cells_total = ctx->spec->nstates * ctx->spec->ncommands;
	ctx->cells = mh_calloc(ctx->cells_total / 8 + 1, 1);
	ctx->pairs = mh_calloc(FUZZ_PAIRS_CAP, sizeof(*ctx->pairs));
	char *const *env = NULL;
	if (o->coverage_afl) {
		size_t size = 0;
		if (o->exec_cmd == NULL) {
			mh_error_set(err, "--coverage afl needs --exec (the server must be started "
			                  "with the map's __AFL_SHM_ID)");
			return -1;
		}
		if (mh_aflcov_probe_map_size(o->exec_cmd, 10000, &size, err) != 0)
			return -1;
		ctx->cov = mh_aflcov_new(size, err);
		if (ctx->cov == NULL)
			return -1;
		snprintf(path, sizeof(path), "%s/fuzz_bitmap", mh_findings_dir(ctx->fnd));
		mh_aflcov_load(ctx->cov, path);
		env = mh_aflcov_env(ctx->cov);
	}
	char logp[2300];
	snprintf(logp, sizeof(logp), "%s/server.log", mh_findings_dir(ctx->fnd));
	struct mh_sup_opts so = {
	    .exec_cmd = o->exec_cmd,
	    .target = &o->target,
	    .log_path = logp,
	    .sanitizer_dir = mh_findings_sanitizer_dir(ctx->fnd),
	    .extra_env = env,
	    .forkserver = o->forkserver,
	    .restart_every = o->restart_every,
	};
	ctx->sup = mh_sup_new(&so, err);
	if (ctx->sup == NULL || mh_sup_start(ctx->sup, err) != 0)
		return -1;
	if (o->exec_cmd != NULL && !mh_sup_proc_events(ctx->sup))
		fuzz_note(ctx,
		          "note: kernel process events unavailable (not root?): crashes of "
		          "per-connection children are seen only when orphaned or reported by a "
		          "sanitizer");
	if (o->forkserver)
		fuzz_note(ctx, "forkserver: %s", mh_sup_forkserver_desc(ctx->sup));
	ctx->xo.reply_timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1000;
	ctx->xo.connect_timeout_ms =
	    ctx->xo.reply_timeout_ms > 2000 ? ctx->xo.reply_timeout_ms : 2000;
	ctx->xo.insecure = true;
	ctx->xo.spec = ctx->spec;
	mh_limits_default(&ctx->xo.limits);
	ctx->xo.limits.max_reply = 1u << 20;
	ctx->xo.user = o->user;
	ctx->xo.password = o->password;
	return fuzz_corpus_init(ctx, err);
}

static void teardown(struct fuzz_ctx *ctx)
{
	fuzz_corpus_deinit(ctx);
	mh_sup_free(&ctx->sup);
	mh_aflcov_free(&ctx->cov);
	mh_findings_free(&ctx->fnd);
	mh_mutator_free(&ctx->mut);
	mh_spec_free(&ctx->spec);
	mh_dialogue_deinit(&ctx->in);
	mh_dialogue_deinit(&ctx->out);
	mh_dialogue_deinit(&ctx->prev);
	mh_dialogue_deinit(&ctx->min);
	mh_dialogue_deinit(&ctx->fix);
	mh_dialogue_deinit(&ctx->out_min);
	mh_dlg_result_deinit(&ctx->res);
	mh_sup_crash_deinit(&ctx->crash);
	mh_buf_deinit(&ctx->scratch);
	mh_buf_deinit(&ctx->note);
	free(ctx->pairs);
	free(ctx->cells);
	for (size_t i = 0; i < ctx->nsync; i++)
		free(ctx->sync_names[i]);
	free(ctx->sync_names);
	free(ctx->sync_last);
}

static bool should_stop(const struct fuzz_ctx *ctx, int64_t now)
{
	const struct mh_fuzz_opts *o = ctx->o;
	return ctx->fatal || (o->stop != NULL && *o->stop) ||
	       (o->runs > 0 && ctx->execs >= o->runs) ||
	       (o->time_s > 0 && now - ctx->t0_ms >= o->time_s * 1000);
}

/* Runs every queue entry once (AFL's dry run): feedback, and seeds that already crash. */
static void run_seeds(struct fuzz_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nq && i < SEED_RUNS_MAX; i++) {
		if (should_stop(ctx, mh_now_ms()))
			return;
		const struct mh_dialogue *d = fuzz_corpus_get(ctx, i);
		if (d == NULL)
			continue;
		mh_dialogue_copy(&ctx->in, d);
		fuzz_exec(ctx, &ctx->in, true);
		bool new_cov;
		fuzz_feedback(ctx, &new_cov);
		fuzz_oracles(ctx, &ctx->in, ctx->q[i].id, "seed");
		mh_dialogue_copy(&ctx->prev, &ctx->in);
		ctx->have_prev = true;
	}
}

static void fuzz_one(struct fuzz_ctx *ctx)
{
	size_t i = fuzz_corpus_pick(ctx);
	const struct mh_dialogue *d = fuzz_corpus_get(ctx, i);
	if (d == NULL)
		return;
	mh_dialogue_copy(&ctx->in, d);
	const struct mh_dialogue *splice = NULL;
	if (ctx->nq > 1) {
		size_t j = (size_t)mh_rng_below(&ctx->rng, ctx->nq);
		if (j != i)
			splice = fuzz_corpus_get(ctx, j);
	}
	ctx->cur = i;
	ctx->q[i].picks++;
	mh_mutate(ctx->mut, &ctx->in, splice, &ctx->out, &ctx->rng, FUZZ_MAX_BYTES);
	char op[256];
	snprintf(op, sizeof(op), "%s", mh_mutate_describe(ctx->mut));
	long src = ctx->q[i].id;
	fuzz_exec(ctx, &ctx->out, true);
	if (ctx->fatal)
		return;
	ctx->execs++;
	ctx->since_crash++;
	ctx->outcomes[ctx->res.outcome]++;
	ctx->exec_ms += (uint64_t)ctx->res.elapsed_ms;
	ctx->replies += ctx->res.replies;
	bool new_cov = false;
	bool news = fuzz_feedback(ctx, &new_cov);
	/* like afl-fuzz: inputs that hang or crash stay out of the queue (their mutations would
	   mostly hang or crash again, each costing a timeout or a restart) */
	bool keep = news && !ctx->crash.crashed && ctx->res.outcome != MH_DLG_HANG;
	fuzz_oracles(ctx, &ctx->out, src, op);
	if (keep) {
		struct mh_error err;
		mh_error_init(&err);
		if (fuzz_corpus_add(ctx, &ctx->out, src, op, NULL, new_cov, &err) != 0)
			fuzz_note(ctx, "warning: %s", err.msg);
		else if (i < ctx->nq)
			ctx->q[i].finds++;
	}
	/* the previous dialogue, for a crash seen only when the next one is refused */
	struct mh_dialogue t = ctx->prev;
	ctx->prev = ctx->out;
	ctx->out = t;
	ctx->have_prev = true;
}

int mh_fuzz_run(const struct mh_fuzz_opts *o, struct mh_fuzz_status *final_r, struct mh_error *err)
{
	struct fuzz_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.o = o;
	mh_dialogue_init(&ctx.in, o->target.proto);
	mh_dialogue_init(&ctx.out, o->target.proto);
	mh_dialogue_init(&ctx.prev, o->target.proto);
	mh_dialogue_init(&ctx.min, o->target.proto);
	mh_dialogue_init(&ctx.fix, o->target.proto);
	mh_dialogue_init(&ctx.out_min, o->target.proto);
	mh_dlg_result_init(&ctx.res);
	mh_sup_crash_init(&ctx.crash);
	mh_buf_init(&ctx.scratch);
	mh_buf_init(&ctx.note);
	ctx.t0_ms = ctx.rate_t_ms = mh_now_ms();
	ctx.t0_wall_ms = mh_wall_ms();
	ctx.last_finding_ms = -1;
	int rc = setup(&ctx, err);
	if (rc == 0) {
		run_seeds(&ctx);
		int64_t next_status = 0, next_stats = 0, next_plot = 0;
		unsigned status_every = o->status_every_ms > 0 ? o->status_every_ms : 10000;
		unsigned sync_every = o->sync_every_s > 0 ? o->sync_every_s : 30;
		ctx.next_sync_ms = mh_now_ms() + 1000;
		for (;;) {
			int64_t now = mh_now_ms();
			if (should_stop(&ctx, now))
				break;
			fuzz_one(&ctx);
			now = mh_now_ms();
			update_rate(&ctx, now);
			if (now >= next_status) {
				report_status(&ctx, false);
				next_status = now + status_every;
			}
			if (now >= next_stats && ctx.execs > 0) {
				write_stats(&ctx, false);
				next_stats = now + STATS_EVERY_MS;
			}
			if (now >= next_plot && ctx.execs > 0) {
				write_plot(&ctx);
				next_plot = now + PLOT_EVERY_MS;
			}
			if (now >= ctx.next_sync_ms) {
				fuzz_corpus_sync(&ctx);
				ctx.next_sync_ms = mh_now_ms() + (int64_t)sync_every * 1000;
			}
		}
		update_rate(&ctx, mh_now_ms() + 1000);
		write_stats(&ctx, true);
		write_plot(&ctx);
		report_status(&ctx, true);
		if (final_r != NULL) {
			fuzz_status_fill(&ctx, final_r);
			final_r->done = true;
		}
		if (ctx.fatal) {
			mh_error_set(err, "%s", ctx.fatal_msg);
			rc = -1;
		}
	}
	teardown(&ctx);
	return rc;
}

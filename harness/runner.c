/* runner.c: resolving suites, probing targets and running cases on worker threads. */
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlgrecord.h"
#include "probe.h"
#include "profile.h"

void mh_runner_spec_path(const char *datadir, enum mh_proto_id p, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/specs/%s.json", datadir, mh_proto_name(p));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the .lua files of path (a file, or a directory's files sorted by name). */
static int collect_files(const char *path, char ***files, size_t *n, struct mh_error *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		mh_error_set(err, "suite %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*files = mh_realloc(*files, (*n + 1) * sizeof(char *));
		(*files)[(*n)++] = mh_strdup(path);
		return 0;
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		mh_error_set(err, "suite %s: %s", path, strerror(errno));
		return -1;
	}
	size_t first = *n;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".lua") != 0 || de->d_name[0] == '.')
			continue;
		struct mh_buf p;
		mh_buf_init(&p);
		mh_buf_printf(&p, "%s/%s", path, de->d_name);
		*files = mh_realloc(*files, (*n + 1) * sizeof(char *));
		(*files)[(*n)++] = (char *)p.data;
	}
	closedir(d);
	qsort(*files + first, *n - first, sizeof(char *), cmp_str);
	return 0;
}

static void free_files(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

static void lua_env(const struct mh_run_opts *o, struct mh_lua_env *env, char *libdir, size_t len)
{
	snprintf(libdir, len, "%s/scripts/lib", o->datadir);
	env->libdir = libdir;
	env->mem_limit = 64u * 1024 * 1024;
	env->time_limit_ms = o->case_timeout_ms > 0 ? o->case_timeout_ms : 60000;
}

/* Suite files for the given protocols (or the explicit --suite list). */
static int suite_files(const struct mh_run_opts *o, const bool protos[MH_PROTO_COUNT],
                       char ***files, size_t *n, struct mh_error *err)
{
	if (o->nsuites > 0) {
		for (size_t i = 0; i < o->nsuites; i++)
			if (collect_files(o->suites[i], files, n, err) != 0)
				return -1;
		return 0;
	}
	for (int p = 0; p < MH_PROTO_COUNT; p++) {
		if (!protos[p])
			continue;
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s/scripts/%s", o->datadir, mh_proto_name(p));
		if (collect_files(dir, files, n, err) != 0)
			return -1;
	}
	return 0;
}

static int check_duplicates(const struct mh_case_meta *m, size_t n, struct mh_error *err)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(m[i].id, m[j].id) == 0) {
				mh_error_set(err, "case id '%s' is declared twice: %s and %s",
				             m[i].id, m[i].file, m[j].file);
				return -1;
			}
	return 0;
}

int mh_runner_list(const struct mh_run_opts *o, const char *proto, struct mh_case_meta **cases_r,
                   size_t *n_r, struct mh_error *err)
{
	bool protos[MH_PROTO_COUNT] = {false};
	for (int p = 0; p < MH_PROTO_COUNT; p++)
		protos[p] = proto == NULL || strcmp(proto, mh_proto_name(p)) == 0;
	char **files = NULL;
	size_t nfiles = 0;
	int rc = suite_files(o, protos, &files, &nfiles, err);
	char libdir[4096];
	struct mh_lua_env env;
	lua_env(o, &env, libdir, sizeof(libdir));
	for (size_t i = 0; rc == 0 && i < nfiles; i++)
		rc = mh_lua_list(&env, files[i], cases_r, n_r, err);
	free_files(files, nfiles);
	if (rc == 0)
		rc = check_duplicates(*cases_r, *n_r, err);
	return rc;
}

/* ---- running ---- */

struct job {
	const struct mh_case_meta *meta;
	size_t target;
	size_t result; /* index into run->cases */
};

struct shared {
	const struct mh_run_opts *o;
	struct mh_run *run;
	struct job *jobs;
	size_t njobs;
	size_t next, done;
	size_t limit; /* workers take jobs below this index (the parallel phase stops before the
	                 destructive jobs, which run one at a time afterwards) */
	struct mh_target *targets;
	struct mh_caps *caps;
	bool *probed_ok;
	const struct mh_spec **specs;
	struct mh_lua_env env;
};

/* Whether case m runs against target t under --profile (profile.h: the profile in effect for t). */
static bool profile_ok(const struct mh_run_opts *o, const struct mh_target *t,
                       const struct mh_case_meta *m)
{
	return mh_profile_case_runs(m->profile, mh_profile_effective(o->profile, t));
}

/* run->profile: the distinct profiles in effect for the targets, in target order ("mx,rev1"),
   NULL when no target's protocol has profiles. */
static char *run_profiles(const struct mh_run_opts *o, const struct mh_target *targets, size_t n)
{
	struct mh_buf b;
	mh_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		const char *p = mh_profile_effective(o->profile, &targets[i]);
		bool dup = false;
		for (size_t j = 0; j < i && !dup && p != NULL; j++) {
			const char *q = mh_profile_effective(o->profile, &targets[j]);
			dup = q != NULL && strcmp(p, q) == 0;
		}
		if (p != NULL && !dup)
			mh_buf_printf(&b, "%s%s", b.len ? "," : "", p);
	}
	if (b.len == 0) {
		mh_buf_deinit(&b);
		return NULL;
	}
	return (char *)b.data;
}

static void run_job(struct shared *sh, const struct job *j)
{
	const struct mh_run_opts *o = sh->o;
	struct mh_case_result *res = &sh->run->cases[j->result];
	struct mh_case_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.target = &sh->targets[j->target];
	ctx.info = &sh->run->targets[j->target];
	ctx.caps = &sh->caps[j->target];
	ctx.spec = sh->specs[j->target];
	ctx.user = o->user;
	ctx.password = o->password;
	ctx.params = o->params;
	ctx.result = res;
	ctx.profile = mh_profile_effective(o->profile, ctx.target);
	ctx.allow_destructive = o->allow_destructive;
	ctx.verbose = o->verbose;
	ctx.conn_opts.timeout_ms = o->timeout_ms;
	ctx.conn_opts.insecure = o->insecure;
	ctx.conn_opts.verify_loopback = o->verify_loopback;
	ctx.conn_opts.ca_file = o->ca_file;
	ctx.conn_opts.spec = ctx.spec;
	ctx.conn_opts.result = res;
	ctx.conn_opts.secret = o->password;
	mh_limits_default(&ctx.conn_opts.limits);
	struct mh_dlg_recorder *rec = NULL;
	if (o->record_dir != NULL) {
		rec = mh_malloc(sizeof(*rec));
		mh_dlg_recorder_init(rec, ctx.target->proto, o->user, o->password);
		ctx.conn_opts.record = mh_dlg_recorder_hook;
		ctx.conn_opts.record_ud = rec;
	}
	int64_t t0 = mh_now_ms();
	ctx.conn_opts.case_start_ms = t0;
	res->start_wall_ms = mh_wall_ms();
	if (!sh->probed_ok[j->target]) {
		res->verdict = MH_V_ERROR;
		res->reason =
		    mh_strdup(ctx.info->probe_error ? ctx.info->probe_error : "target unreachable");
	} else {
		mh_lua_run_case(&sh->env, j->meta, &ctx);
	}
	res->duration_ms = mh_now_ms() - t0;
	if (rec != NULL) {
		struct mh_record_stats st = {0};
		struct mh_error err;
		mh_error_init(&err);
		if (mh_dlg_recorder_save(rec, o->record_dir, res->id, &st.saved, &st.unsafe,
		                         &err) != 0)
			st.failed = 1;
		mh_dlg_recorder_deinit(rec);
		free(rec);
		pthread_mutex_lock(&sh->run->lock);
		if (o->record_stats != NULL) {
			o->record_stats->saved += st.saved;
			o->record_stats->unsafe += st.unsafe;
			o->record_stats->failed += st.failed;
			if (st.failed && o->record_stats->error[0] == '\0')
				snprintf(o->record_stats->error, sizeof(o->record_stats->error),
				         "%s", err.msg);
		}
		pthread_mutex_unlock(&sh->run->lock);
	}
}

static void *worker(void *arg)
{
	struct shared *sh = arg;
	const struct mh_run_opts *o = sh->o;
	for (;;) {
		pthread_mutex_lock(&sh->run->lock);
		if (sh->next >= sh->limit || (o->stop != NULL && *o->stop)) {
			pthread_mutex_unlock(&sh->run->lock);
			return NULL;
		}
		struct job *j = &sh->jobs[sh->next++];
		if (o->on_case_start != NULL)
			o->on_case_start(o->ud, &sh->run->cases[j->result], sh->next, sh->njobs);
		pthread_mutex_unlock(&sh->run->lock);

		run_job(sh, j);

		pthread_mutex_lock(&sh->run->lock);
		sh->done++;
		if (o->baseline != NULL)
			mh_baseline_apply_case(o->baseline, sh->run, &sh->run->cases[j->result]);
		if (o->on_case_done != NULL)
			o->on_case_done(o->ud, sh->run, &sh->run->cases[j->result], sh->done,
			                sh->njobs);
		pthread_mutex_unlock(&sh->run->lock);
	}
}

static void fill_meta(struct mh_case_result *c, const struct mh_case_meta *m, size_t target)
{
	c->id = mh_strdup(m->id);
	c->title = mh_strdup(m->title);
	c->rfc = mh_strdup(m->rfc);
	c->level = m->level;
	c->proto = mh_strdup(m->proto);
	c->file = mh_strdup(m->file);
	c->capability = mh_strdup(m->capability);
	c->target = (int)target;
}

int mh_runner_run(const struct mh_run_opts *o, struct mh_run *run, struct mh_error *err)
{
	struct shared sh;
	memset(&sh, 0, sizeof(sh));
	sh.o = o;
	sh.run = run;
	int rc = -1;
	struct mh_spec *specs[MH_PROTO_COUNT] = {NULL};
	struct mh_case_meta *metas = NULL;
	size_t nmetas = 0;
	char **files = NULL;
	size_t nfiles = 0;
	char libdir[4096];
	lua_env(o, &sh.env, libdir, sizeof(libdir));

	if (o->ntargets == 0) {
		mh_error_set(err, "no --target given");
		return -1;
	}
	sh.targets = mh_calloc(o->ntargets, sizeof(*sh.targets));
	sh.caps = mh_calloc(o->ntargets, sizeof(*sh.caps));
	sh.probed_ok = mh_calloc(o->ntargets, sizeof(bool));
	sh.specs = mh_calloc(o->ntargets, sizeof(*sh.specs));
	run->targets = mh_calloc(o->ntargets, sizeof(*run->targets));
	run->ntargets = o->ntargets;
	bool protos[MH_PROTO_COUNT] = {false};
	for (size_t i = 0; i < o->ntargets; i++) {
		mh_caps_init(&sh.caps[i]);
		if (mh_url_parse(o->targets[i], &sh.targets[i], err) != 0)
			goto out;
		enum mh_proto_id p = sh.targets[i].proto;
		protos[p] = true;
		if (specs[p] == NULL) {
			char path[4096];
			mh_runner_spec_path(o->datadir, p, path, sizeof(path));
			specs[p] = mh_spec_load(path, err);
			if (specs[p] == NULL)
				goto out;
		}
		sh.specs[i] = specs[p];
		run->targets[i].spec = specs[p];
	}
	for (size_t i = 0; i < o->nsuites; i++) {
		run->suites = mh_realloc(run->suites, (run->nsuites + 1) * sizeof(char *));
		run->suites[run->nsuites++] = mh_strdup(o->suites[i]);
	}
	if (o->nsuites == 0) {
		for (int p = 0; p < MH_PROTO_COUNT; p++) {
			if (!protos[p])
				continue;
			struct mh_buf b;
			mh_buf_init(&b);
			mh_buf_printf(&b, "%s/scripts/%s", o->datadir, mh_proto_name(p));
			run->suites = mh_realloc(run->suites, (run->nsuites + 1) * sizeof(char *));
			run->suites[run->nsuites++] = (char *)b.data;
		}
	}
	run->filter = mh_strdup(o->filter);
	if (mh_profile_check(o->profile, protos, err) != 0)
		goto out;
	run->profile = run_profiles(o, sh.targets, o->ntargets);

	if (suite_files(o, protos, &files, &nfiles, err) != 0)
		goto out;
	for (size_t i = 0; i < nfiles; i++)
		if (mh_lua_list(&sh.env, files[i], &metas, &nmetas, err) != 0)
			goto out;
	if (check_duplicates(metas, nmetas, err) != 0)
		goto out;

	/* one job per (target, matching case) */
	sh.jobs = mh_calloc(nmetas * o->ntargets + 1, sizeof(*sh.jobs));
	run->cases = mh_calloc(nmetas * o->ntargets + 1, sizeof(*run->cases));
	for (size_t t = 0; t < o->ntargets; t++) {
		const char *pname = mh_proto_name(sh.targets[t].proto);
		for (size_t m = 0; m < nmetas; m++) {
			if (strcmp(metas[m].proto, pname) != 0 ||
			    !profile_ok(o, &sh.targets[t], &metas[m]))
				continue;
			if (o->filter != NULL && !mh_glob_match(o->filter, metas[m].id))
				continue;
			struct job *j = &sh.jobs[sh.njobs++];
			j->meta = &metas[m];
			j->target = t;
			j->result = run->ncases++;
			fill_meta(&run->cases[j->result], &metas[m], t);
		}
	}

	/* probe each target once: greeting, capabilities, TLS */
	for (size_t t = 0; t < o->ntargets; t++) {
		struct mh_conn_opts co;
		memset(&co, 0, sizeof(co));
		co.timeout_ms = o->timeout_ms;
		co.insecure = o->insecure;
		co.verify_loopback = o->verify_loopback;
		co.ca_file = o->ca_file;
		co.spec = sh.specs[t];
		mh_limits_default(&co.limits);
		struct mh_error perr;
		mh_error_init(&perr);
		sh.probed_ok[t] = mh_probe_target(&sh.targets[t], &co, o->user, o->password,
		                                  &run->targets[t], &sh.caps[t], &perr) == 0;
	}

	/* Destructive cases change what other cases see (a DELE committed under a parallel case),
	   so they go last and run one at a time: a stable partition of the job list. */
	struct job *sorted = mh_calloc(sh.njobs + 1, sizeof(*sorted));
	size_t nsorted = 0;
	for (size_t i = 0; i < sh.njobs; i++)
		if (!sh.jobs[i].meta->destructive)
			sorted[nsorted++] = sh.jobs[i];
	size_t nparallel = nsorted;
	for (size_t i = 0; i < sh.njobs; i++)
		if (sh.jobs[i].meta->destructive)
			sorted[nsorted++] = sh.jobs[i];
	free(sh.jobs);
	sh.jobs = sorted;

	int jobs = o->jobs > 0 ? o->jobs : 1;
	if ((size_t)jobs > nparallel)
		jobs = nparallel > 0 ? (int)nparallel : 1;
	pthread_t *th = mh_calloc((size_t)jobs, sizeof(pthread_t));
	sh.limit = nparallel;
	for (int i = 1; i < jobs; i++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 8u * 1024 * 1024);
		if (pthread_create(&th[i], &attr, worker, &sh) != 0)
			th[i] = 0;
		pthread_attr_destroy(&attr);
	}
	worker(&sh);
	for (int i = 1; i < jobs; i++)
		if (th[i] != 0)
			pthread_join(th[i], NULL);
	free(th);
	sh.limit = sh.njobs; /* the destructive jobs, on this thread alone */
	worker(&sh);
	/* cases never started (interrupted) leave the report */
	bool *ran = mh_calloc(run->ncases + 1, sizeof(bool));
	for (size_t i = 0; i < sh.next; i++)
		ran[sh.jobs[i].result] = true;
	size_t keep = 0;
	for (size_t i = 0; i < run->ncases; i++) {
		if (ran[i])
			run->cases[keep++] = run->cases[i];
		else
			mh_case_result_deinit(&run->cases[i]);
	}
	free(ran);
	run->ncases = keep;
	rc = 0;
out:
	for (size_t i = 0; i < nmetas; i++)
		mh_case_meta_deinit(&metas[i]);
	free(metas);
	free_files(files, nfiles);
	free(sh.jobs);
	for (size_t i = 0; i < o->ntargets; i++)
		mh_caps_deinit(&sh.caps[i]);
	free(sh.caps);
	free(sh.targets);
	free(sh.probed_ok);
	free(sh.specs);
	/* specs stay referenced by run->targets[].spec for the writers: owned by the run now */
	for (int p = 0; p < MH_PROTO_COUNT; p++)
		if (specs[p] != NULL)
			mh_run_own_spec(run, specs[p]);
	return rc;
}

/* fuzz_status.c: what the campaign shows and writes: the live status (one screen on a terminal,
   a plain line otherwise), the fuzzer_stats / plot_data figures, the combined view of --jobs N
   workers read back from their fuzzer_stats. Renders into buffers; the CLI prints. */
#include "fuzz_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long proc_status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return 0;
	char line[256];
	long kb = 0;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, kl) == 0) {
			kb = strtol(line + kl, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

long fuzz_rss_mb(void)
{
	return (proc_status_kb("VmRSS:") + 1023) / 1024;
}

static const char *mode_of(const struct mh_fuzz_opts *o)
{
	if (o->forkserver)
		return o->coverage_afl ? "forkserver+afl-coverage" : "forkserver";
	if (o->coverage_afl)
		return "afl-coverage";
	return o->exec_cmd != NULL ? "black-box" : "black-box, attached";
}

void fuzz_status_fill(struct fuzz_ctx *ctx, struct mh_fuzz_status *st)
{
	memset(st, 0, sizeof(*st));
	int64_t now = mh_now_ms();
	st->worker = ctx->o->worker;
	st->target = ctx->o->target.url;
	st->mode = mode_of(ctx->o);
	st->uptime_ms = now - ctx->t0_ms;
	st->execs = ctx->execs;
	st->execs_total = ctx->execs_total;
	st->rate = ctx->rate;
	st->rate_avg = st->uptime_ms > 0 ? (double)ctx->execs * 1000.0 / (double)st->uptime_ms : 0;
	if (ctx->fnd != NULL) {
		st->crashes = mh_findings_count(ctx->fnd, MH_FC_CRASH);
		st->hangs = mh_findings_count(ctx->fnd, MH_FC_HANG);
		st->disconnects = mh_findings_disconnects(ctx->fnd);
		st->violations = mh_findings_count(ctx->fnd, MH_FC_VIOLATION) - st->disconnects;
		st->resumed = mh_findings_resumed(ctx->fnd, NULL);
	}
	st->new_crashes = ctx->new_count[MH_FC_CRASH];
	st->new_hangs = ctx->new_count[MH_FC_HANG];
	st->new_disconnects = ctx->new_disconnects;
	st->new_violations = ctx->new_count[MH_FC_VIOLATION] - ctx->new_disconnects;
	st->corpus = ctx->nq;
	st->cur_item = ctx->cur;
	st->imported = ctx->imported;
	if (ctx->cov != NULL) {
		st->edges = mh_aflcov_edges(ctx->cov);
		st->map_size = mh_aflcov_map_size(ctx->cov);
	}
	st->pairs = ctx->npairs;
	st->states = ctx->nstates;
	st->cells = ctx->ncells;
	st->cells_total = ctx->cells_total;
	st->restarts = ctx->sup != NULL ? mh_sup_restarts(ctx->sup) : 0;
	st->minimize_runs = ctx->min_runs;
	st->rss_mb = fuzz_rss_mb();
	st->proc_events = ctx->sup != NULL && mh_sup_proc_events(ctx->sup);
	st->forkserver = ctx->sup != NULL ? mh_sup_forkserver_desc(ctx->sup) : "";
	snprintf(st->last_finding, sizeof(st->last_finding), "%s", ctx->last_finding);
	st->last_finding_ago_ms = ctx->last_finding_ms >= 0 ? now - ctx->last_finding_ms : -1;
	snprintf(st->last_new, sizeof(st->last_new), "%s", ctx->last_new);
}

/* Keeps only characters a shell reads safely inside double quotes (afl-whatsup sources the
   stats file). */
static void shell_safe(char *dst, size_t len, const char *src)
{
	size_t k = 0;
	for (size_t i = 0; src != NULL && src[i] != '\0' && k + 1 < len; i++) {
		char c = src[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || strchr("._-:/@+,=?[] ", c) != NULL;
		dst[k++] = ok ? c : '_';
	}
	dst[k] = '\0';
}

void fuzz_stats_fill(struct fuzz_ctx *ctx, struct mh_findings_stats *fs)
{
	memset(fs, 0, sizeof(*fs));
	int64_t now = mh_now_ms();
	fs->start_time = ctx->start_time_s;
	fs->run_time_s = ctx->run_time_prev_s + (now - ctx->t0_ms) / 1000;
	fs->execs_done = ctx->execs_total;
	fs->execs_since_crash = ctx->since_crash;
	int64_t up = now - ctx->t0_ms;
	fs->execs_per_sec = up > 0 ? (double)ctx->execs * 1000.0 / (double)up : 0.0;
	fs->execs_ps_last_min = ctx->rate;
	fs->corpus_count = ctx->nq;
	fs->corpus_found = ctx->found_inputs;
	fs->corpus_imported = ctx->imported;
	for (size_t i = 0; i < ctx->nq; i++)
		fs->corpus_favored += ctx->q[i].favored;
	fs->cur_item = ctx->cur;
	fs->max_depth = 1;
	fs->saved_crashes = mh_findings_count(ctx->fnd, MH_FC_CRASH);
	fs->saved_hangs = mh_findings_count(ctx->fnd, MH_FC_HANG);
	fs->saved_disconnects = mh_findings_disconnects(ctx->fnd);
	fs->saved_violations = mh_findings_count(ctx->fnd, MH_FC_VIOLATION) - fs->saved_disconnects;
	fs->last_find = ctx->last_find;
	fs->last_crash = ctx->last_crash;
	fs->last_hang = ctx->last_hang;
	fs->exec_timeout_ms = (unsigned)ctx->xo.reply_timeout_ms;
	fs->slowest_exec_ms = ctx->slowest_ms;
	fs->peak_rss_mb = (proc_status_kb("VmHWM:") + 1023) / 1024;
	if (ctx->cov != NULL) {
		fs->edges_found = mh_aflcov_edges(ctx->cov);
		fs->map_size = mh_aflcov_map_size(ctx->cov);
	}
	fs->pairs_seen = ctx->npairs;
	fs->states_seen = ctx->nstates;
	fs->cells_seen = ctx->ncells;
	fs->cells_total = ctx->cells_total;
	fs->restarts = ctx->sup != NULL ? mh_sup_restarts(ctx->sup) : 0;
	fs->timeouts = ctx->outcomes[MH_DLG_HANG];
	fs->lost = ctx->outcomes[MH_DLG_DISCONNECT] + ctx->outcomes[MH_DLG_REFUSED];
	fs->exec_ms = ctx->exec_ms;
	fs->replies = ctx->replies;
	shell_safe(fs->banner, sizeof(fs->banner), ctx->o->worker);
	shell_safe(fs->target, sizeof(fs->target), ctx->o->target.url);
	shell_safe(fs->mode, sizeof(fs->mode), mode_of(ctx->o));
	shell_safe(fs->command_line, sizeof(fs->command_line), ctx->o->command_line);
}

static void duration(char *out, size_t len, int64_t ms)
{
	int64_t s = ms / 1000;
	snprintf(out, len, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
	         (long long)(s % 60));
}

#define ROW(b, ...)                                                                                \
	do {                                                                                       \
		mh_buf_printf(b, __VA_ARGS__);                                                     \
		mh_buf_append_str(b, "\033[K\n");                                                  \
	} while (0)

void mh_fuzz_status_screen(const struct mh_fuzz_status *st, struct mh_buf *b)
{
	char up[32];
	duration(up, sizeof(up), st->uptime_ms);
	mh_buf_append_str(b, "\033[H");
	ROW(b, " mailharness fuzz  %s -> %s  (%s)%s", st->worker ? st->worker : "",
	    st->target ? st->target : "", st->mode ? st->mode : "", st->done ? "  [stopped]" : "");
	ROW(b, " -----------------------------------------------------------------------------");
	ROW(b, "  uptime       %s%s", up, st->resumed ? "   (resumed campaign)" : "");
	ROW(b, "  dialogues    %llu this run, %llu in all (incl. seeds, minimization, imports)",
	    (unsigned long long)st->execs, (unsigned long long)st->execs_total);
	ROW(b, "  speed        %.1f dialogues/s now, %.1f/s average", st->rate, st->rate_avg);
	ROW(b, "  crashes      %-6zu (+%zu this run)     hangs       %-6zu (+%zu)", st->crashes,
	    st->new_crashes, st->hangs, st->new_hangs);
	ROW(b, "  violations   %-6zu (+%zu this run)     disconnects %-6zu (+%zu)", st->violations,
	    st->new_violations, st->disconnects, st->new_disconnects);
	if (st->map_size > 0)
		ROW(b, "  coverage     %zu edges of %zu (%.2f%% of the map)", st->edges,
		    st->map_size, 100.0 * (double)st->edges / (double)st->map_size);
	else
		ROW(b, "  coverage     black-box: state x command cells %zu of %zu (%.1f%%)",
		    st->cells, st->cells_total,
		    st->cells_total ? 100.0 * (double)st->cells / (double)st->cells_total : 0.0);
	ROW(b, "  states seen  %zu states, %zu (state, reply) pairs", st->states, st->pairs);
	ROW(b, "  corpus       %zu entries (fuzzing #%zu, %zu imported)", st->corpus, st->cur_item,
	    st->imported);
	ROW(b, "  server       %zu restarts, %s%s%s", st->restarts,
	    st->proc_events ? "process events on" : "subreaper only",
	    st->forkserver && *st->forkserver ? ", forkserver: " : "",
	    st->forkserver ? st->forkserver : "");
	ROW(b, "  minimizing   %zu runs", st->minimize_runs);
	if (st->last_finding_ago_ms >= 0) {
		char ago[32];
		duration(ago, sizeof(ago), st->last_finding_ago_ms);
		ROW(b, "  last finding %s ago: %.60s", ago, st->last_finding);
	} else {
		ROW(b, "  last finding none yet");
	}
	ROW(b, "  last input   %.64s", st->last_new[0] ? st->last_new : "-");
	ROW(b, "  memory       %ld MB RSS", st->rss_mb);
	mh_buf_append_str(b, "\033[J");
}

void mh_fuzz_status_line(const struct mh_fuzz_status *st, struct mh_buf *b)
{
	char up[32];
	duration(up, sizeof(up), st->uptime_ms);
	mh_buf_printf(b,
	              "[%s] %s dialogues %llu (%.1f/s) crashes %zu hangs %zu violations %zu "
	              "disconnects %zu corpus %zu",
	              st->worker ? st->worker : "", up, (unsigned long long)st->execs, st->rate,
	              st->crashes, st->hangs, st->violations, st->disconnects, st->corpus);
	if (st->map_size > 0)
		mh_buf_printf(b, " edges %zu/%zu", st->edges, st->map_size);
	else
		mh_buf_printf(b, " pairs %zu cells %zu/%zu", st->pairs, st->cells, st->cells_total);
	mh_buf_printf(b, " restarts %zu rss %ldMB%s\n", st->restarts, st->rss_mb,
	              st->done ? " (stopped)" : "");
}

size_t mh_fuzz_status_from_stats(const char *out_dir, struct mh_fuzz_status *st)
{
	DIR *d = opendir(out_dir);
	if (d == NULL)
		return 0;
	size_t n = 0;
	struct dirent *e;
	int64_t longest = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s/fuzzer_stats", out_dir, e->d_name);
		struct mh_findings_stats fs;
		if (mh_findings_read_stats(path, &fs) != 0)
			continue;
		n++;
		st->execs_total += fs.execs_done;
		st->rate += fs.execs_per_sec;
		st->crashes += fs.saved_crashes;
		st->hangs += fs.saved_hangs;
		st->violations += fs.saved_violations;
		st->disconnects += fs.saved_disconnects;
		st->corpus += fs.corpus_count;
		st->imported += fs.corpus_imported;
		st->pairs = fs.pairs_seen > st->pairs ? fs.pairs_seen : st->pairs;
		st->states = fs.states_seen > st->states ? fs.states_seen : st->states;
		st->edges = fs.edges_found > st->edges ? fs.edges_found : st->edges;
		st->map_size = fs.map_size;
		st->restarts += fs.restarts;
		st->rss_mb += fs.peak_rss_mb;
		if (fs.run_time_s * 1000 > longest)
			longest = fs.run_time_s * 1000;
	}
	closedir(d);
	st->rate_avg = st->rate;
	if (st->uptime_ms == 0)
		st->uptime_ms = longest;
	return n;
}

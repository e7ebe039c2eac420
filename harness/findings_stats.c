/* findings_stats.c: fuzzer_stats and plot_data in the format of AFL++ 4.x, so that afl-whatsup
   (which sources the key : value lines as shell variables) and afl-plot read a worker's
   directory; and reading them back (resume, the combined view of --jobs N workers). */
#include "findings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mh_findings_write_stats(struct mh_findings *f, const struct mh_findings_stats *s, bool durable,
                            struct mh_error *err)
{
	int64_t now = mh_wall_ms() / 1000;
	double cvg = s->map_size > 0      ? 100.0 * (double)s->edges_found / (double)s->map_size
	             : s->cells_total > 0 ? 100.0 * (double)s->cells_seen / (double)s->cells_total
	                                  : 0.0;
	struct mh_buf b;
	mh_buf_init(&b);
	mh_buf_printf(
	    &b,
	    "start_time        : %lld\n"
	    "last_update       : %lld\n"
	    "run_time          : %lld\n"
	    "fuzzer_pid        : %ld\n"
	    "cycles_done       : %llu\n"
	    "cycles_wo_finds   : %llu\n"
	    "execs_done        : %llu\n"
	    "execs_per_sec     : %.2f\n"
	    "execs_ps_last_min : %.2f\n"
	    "corpus_count      : %zu\n"
	    "corpus_favored    : %zu\n"
	    "corpus_found      : %zu\n"
	    "corpus_imported   : %zu\n"
	    "corpus_variable   : 0\n"
	    "max_depth         : %zu\n"
	    "cur_item          : %zu\n"
	    "pending_favs      : %zu\n"
	    "pending_total     : %zu\n"
	    "stability         : 100.00%%\n"
	    "bitmap_cvg        : %.2f%%\n"
	    "saved_crashes     : %zu\n"
	    "saved_hangs       : %zu\n"
	    "unique_crashes    : %zu\n"
	    "unique_hangs      : %zu\n"
	    "paths_total       : %zu\n"
	    "paths_found       : %zu\n"
	    "last_find         : %lld\n"
	    "last_crash        : %lld\n"
	    "last_hang         : %lld\n"
	    "last_path         : %lld\n"
	    "execs_since_crash : %llu\n"
	    "exec_timeout      : %u\n"
	    "slowest_exec_ms   : %llu\n"
	    "peak_rss_mb       : %ld\n"
	    "cpu_affinity      : -1\n"
	    "edges_found       : %zu\n"
	    "total_edges       : %zu\n"
	    "var_byte_count    : 0\n"
	    "havoc_expansion   : 0\n"
	    "auto_dict_entries : 0\n"
	    "testcache_size    : 0\n"
	    "testcache_count   : 0\n"
	    "testcache_evict   : 0\n"
	    "mh_violations     : %zu\n"
	    "mh_disconnects    : %zu\n"
	    "mh_pairs_seen     : %zu\n"
	    "mh_states_seen    : %zu\n"
	    "mh_cells_seen     : %zu\n"
	    "mh_restarts       : %zu\n"
	    "mh_timeouts       : %llu\n"
	    "mh_lost_conns     : %llu\n"
	    "mh_exec_ms        : %llu\n"
	    "mh_replies        : %llu\n"
	    "afl_banner        : %s\n"
	    "afl_version       : mailharness-fuzz\n"
	    "target_mode       : %s\n"
	    "mh_target         : %s\n"
	    "command_line      : %s\n",
	    (long long)s->start_time, (long long)now, (long long)s->run_time_s, (long)getpid(),
	    (unsigned long long)s->cycles_done, (unsigned long long)s->cycles_wo_finds,
	    (unsigned long long)s->execs_done, s->execs_per_sec, s->execs_ps_last_min,
	    s->corpus_count, s->corpus_favored, s->corpus_found, s->corpus_imported, s->max_depth,
	    s->cur_item, s->pending_favs, s->pending_total, cvg, s->saved_crashes, s->saved_hangs,
	    s->saved_crashes, s->saved_hangs, s->corpus_count, s->corpus_found,
	    (long long)s->last_find, (long long)s->last_crash, (long long)s->last_hang,
	    (long long)s->last_find, (unsigned long long)s->execs_since_crash, s->exec_timeout_ms,
	    (unsigned long long)s->slowest_exec_ms, s->peak_rss_mb, s->edges_found, s->map_size,
	    s->saved_violations, s->saved_disconnects, s->pairs_seen, s->states_seen, s->cells_seen,
	    s->restarts, (unsigned long long)s->timeouts, (unsigned long long)s->lost,
	    (unsigned long long)s->exec_ms, (unsigned long long)s->replies, s->banner, s->mode,
	    s->target, s->command_line);
	int rc = mh_findings_write(mh_findings_dir(f), "fuzzer_stats", b.data, b.len, durable, err);
	mh_buf_deinit(&b);
	return rc;
}

int mh_findings_append_plot(struct mh_findings *f, const struct mh_findings_stats *s,
                            struct mh_error *err)
{
	char path[2200];
	snprintf(path, sizeof(path), "%s/plot_data", mh_findings_dir(f));
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		mh_error_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	char line[512];
	int n = 0;
	if (fstat(fd, &st) == 0 && st.st_size == 0)
		n = snprintf(line, sizeof(line),
		             "# relative_time, cycles_done, cur_item, corpus_count, pending_total, "
		             "pending_favs, map_size, saved_crashes, saved_hangs, max_depth, "
		             "execs_per_sec, total_execs, edges_found\n");
	double cvg = s->map_size > 0 ? 100.0 * (double)s->edges_found / (double)s->map_size : 0.0;
	n += snprintf(line + n, sizeof(line) - (size_t)n,
	              "%lld, %llu, %zu, %zu, %zu, %zu, %.2f%%, %zu, %zu, %zu, %.2f, %llu, %zu\n",
	              (long long)s->run_time_s, (unsigned long long)s->cycles_done, s->cur_item,
	              s->corpus_count, s->pending_total, s->pending_favs, cvg, s->saved_crashes,
	              s->saved_hangs, s->max_depth, s->execs_per_sec,
	              (unsigned long long)s->execs_done,
	              s->map_size > 0 ? s->edges_found : s->pairs_seen);
	ssize_t w = write(fd, line, (size_t)n);
	close(fd);
	if (w != n) {
		mh_error_set(err, "%s: short write", path);
		return -1;
	}
	return 0;
}

static bool stat_num(const char *line, const char *key, unsigned long long *v)
{
	size_t kl = strlen(key);
	if (strncmp(line, key, kl) != 0 || (line[kl] != ' ' && line[kl] != ':'))
		return false;
	const char *p = strchr(line, ':');
	if (p == NULL)
		return false;
	p++;
	while (*p == ' ')
		p++;
	char *end = NULL;
	errno = 0;
	*v = strtoull(p, &end, 10);
	return errno == 0 && end != p;
}

int mh_findings_read_stats(const char *path, struct mh_findings_stats *s)
{
	memset(s, 0, sizeof(*s));
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	char line[1024];
	unsigned long long v;
	int lines = 0;
	while (fgets(line, sizeof(line), fp) != NULL && lines++ < 200) {
		if (stat_num(line, "start_time", &v))
			s->start_time = (int64_t)v;
		else if (stat_num(line, "run_time", &v))
			s->run_time_s = (int64_t)v;
		else if (stat_num(line, "execs_done", &v))
			s->execs_done = v;
		else if (stat_num(line, "cycles_done", &v))
			s->cycles_done = v;
		else if (strncmp(line, "execs_per_sec ", 14) == 0)
			s->execs_per_sec = strtod(line + strcspn(line, ":") + 1, NULL);
		else if (stat_num(line, "corpus_count", &v))
			s->corpus_count = (size_t)v;
		else if (stat_num(line, "corpus_found", &v))
			s->corpus_found = (size_t)v;
		else if (stat_num(line, "corpus_imported", &v))
			s->corpus_imported = (size_t)v;
		else if (stat_num(line, "saved_crashes", &v))
			s->saved_crashes = (size_t)v;
		else if (stat_num(line, "saved_hangs", &v))
			s->saved_hangs = (size_t)v;
		else if (stat_num(line, "last_find", &v))
			s->last_find = (int64_t)v;
		else if (stat_num(line, "last_crash", &v))
			s->last_crash = (int64_t)v;
		else if (stat_num(line, "last_hang", &v))
			s->last_hang = (int64_t)v;
		else if (stat_num(line, "edges_found", &v))
			s->edges_found = (size_t)v;
		else if (stat_num(line, "total_edges", &v))
			s->map_size = (size_t)v;
		else if (stat_num(line, "peak_rss_mb", &v))
			s->peak_rss_mb = (long)v;
		else if (stat_num(line, "mh_violations", &v))
			s->saved_violations = (size_t)v;
		else if (stat_num(line, "mh_disconnects", &v))
			s->saved_disconnects = (size_t)v;
		else if (stat_num(line, "mh_pairs_seen", &v))
			s->pairs_seen = (size_t)v;
		else if (stat_num(line, "mh_states_seen", &v))
			s->states_seen = (size_t)v;
		else if (stat_num(line, "mh_restarts", &v))
			s->restarts = (size_t)v;
		else if (strncmp(line, "afl_banner", 10) == 0) {
			const char *p = strchr(line, ':');
			if (p != NULL) {
				p++;
				p += strspn(p, " ");
				snprintf(s->banner, sizeof(s->banner), "%.*s",
				         (int)strcspn(p, "\r\n"), p);
			}
		}
	}
	fclose(fp);
	return 0;
}

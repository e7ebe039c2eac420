/* findings.h: one fuzz worker's directory in the AFL++ layout: queue/, crashes/, hangs/,
   violations/ with id:NNNNNN,... files written the moment they are found (temp file, fsync,
   rename, fsync of the directory), deduplication keys, fuzzer_stats and plot_data in the format
   of AFL++ 4.x (afl-whatsup, afl-plot), and what a resumed campaign needs back. */
#ifndef MH_FINDINGS_H
#define MH_FINDINGS_H

#include <sys/types.h>

#include "dialogue.h"

enum mh_find_class {
	MH_FC_QUEUE,     /* queue/: inputs that gave new coverage or new (state, reply) pairs */
	MH_FC_CRASH,     /* crashes/: a signal, abnormal exit or sanitizer report in the server */
	MH_FC_HANG,      /* hangs/: a due reply never came, the connection still open */
	MH_FC_VIOLATION, /* violations/: kind "spec" (a reply the RFC forbids) or "disconnect" (the
	                    server closed before a due reply without crashing) */
	MH_FC_COUNT
};
/* "queue", "crashes", "hangs", "violations". */
const char *mh_findings_class_dir(enum mh_find_class c);

/* What a saved file says about itself: the file name fields and the header comments. Strings are
   borrowed; NULL or "" leaves a field out. */
struct mh_finding_meta {
	enum mh_find_class cls;
	const char *kind;      /* violations: "spec" | "disconnect"; crashes: "signal" | "exit" |
	                          "sanitizer" | "port-dead"; queue: NULL */
	int sig;               /* crashes: the signal (0: none, e.g. an exit status or dead port) */
	long src;              /* queue id the input was mutated from, -1 none */
	const char *sync;      /* queue: imported from this worker */
	const char *op;        /* mutation operators (commas are turned into '+') */
	const char *orig;      /* seeds: the original file name */
	bool new_cov;          /* queue: ",+cov" (new edges) */
	uint64_t execs;        /* dialogues run when found */
	int64_t time_ms;       /* ms since the campaign started */
	const char *summary;   /* one line: "killed by signal 11 (SIGSEGV)", sanitizer SUMMARY */
	const char *violation; /* spec violation text */
	const char *outcome;   /* dialogue outcome and detail */
	const char *stack_hash; /* 16 hex digits, or NULL */
	const char *frames;     /* top frames, "fn file:line | ..." */
	const char *target;     /* URL */
	const char *worker;
	const char *dedupe;    /* deduplication key (reloaded on resume) */
	const char *minimized; /* "8 -> 3 records, 400 -> 250 bytes in 57 runs" */
	const char *report;    /* full sanitizer report: written as <name>.txt next to the file */
};

/* Counters and figures of fuzzer_stats / plot_data. */
struct mh_findings_stats {
	int64_t start_time; /* unix seconds */
	int64_t run_time_s; /* including earlier sessions of a resumed campaign */
	uint64_t cycles_done, cycles_wo_finds, execs_done, execs_since_crash;
	double execs_per_sec, execs_ps_last_min;
	size_t corpus_count, corpus_found, corpus_imported, corpus_favored, cur_item;
	size_t pending_total, pending_favs, max_depth;
	size_t saved_crashes, saved_hangs, saved_violations, saved_disconnects;
	int64_t last_find, last_crash, last_hang; /* unix seconds, 0 never */
	unsigned exec_timeout_ms;
	uint64_t slowest_exec_ms;
	long peak_rss_mb;
	size_t edges_found, map_size; /* coverage mode; map_size 0 = black-box */
	size_t pairs_seen, states_seen, cells_seen, cells_total;
	size_t restarts;
	uint64_t timeouts, lost; /* fuzzed dialogues that ended in a hang / a lost connection */
	uint64_t replies;        /* replies read by this session's fuzzed dialogues */
	uint64_t exec_ms;        /* time spent running dialogues (the rest: mutation, oracles,
	                            minimization, restarts) */
	char banner[64];         /* worker name, [A-Za-z0-9._-] only */
	char target[128]; /* URL (shell-safe characters only: afl-whatsup sources the file) */
	char mode[48];    /* "black-box", "afl-coverage", "forkserver" */
	char command_line[512];
};

struct mh_findings;

/* Opens (creating as needed) out/worker/ with its class directories and .sanitizer/, removes
   temp files a killed run left behind, finds the next id of each class, reloads the dedupe keys
   of earlier findings and the counters of an earlier fuzzer_stats (resumed is then true).
   NULL + err. */
struct mh_findings *mh_findings_open(const char *out, const char *worker, struct mh_error *err);
void mh_findings_free(struct mh_findings **f);

/* out/worker, out/worker/.sanitizer, out (the campaign directory). Owned by f. */
const char *mh_findings_dir(const struct mh_findings *f);
const char *mh_findings_sanitizer_dir(const struct mh_findings *f);
const char *mh_findings_campaign_dir(const struct mh_findings *f);
/* True when the directory held an earlier session's files; the stats of that session (counters,
   run time) are copied into *st_r when not NULL. */
bool mh_findings_resumed(const struct mh_findings *f, struct mh_findings_stats *st_r);
/* Number of files of a class (including earlier sessions), and of violations of kind
   "disconnect" (counted apart from the spec ones). */
size_t mh_findings_count(const struct mh_findings *f, enum mh_find_class c);
size_t mh_findings_disconnects(const struct mh_findings *f);

/* True if a finding with this dedupe key was saved already (this or an earlier session), or if
   the key table is full (12288 distinct findings: nothing new is saved after that). */
bool mh_findings_known(const struct mh_findings *f, const char *dedupe);

/* Saves d as the next id of m->cls: header comments, then the dialogue text; the sanitizer
   report (m->report) as <name>.txt first. Durable when it returns 0 (fsync of file and
   directory). Remembers m->dedupe. The file name goes to name_r (may be NULL) and its id to
   *id_r (may be NULL). -1 + err. */
int mh_findings_save(struct mh_findings *f, const struct mh_finding_meta *m,
                     const struct mh_dialogue *d, char *name_r, size_t namelen, long *id_r,
                     struct mh_error *err);
/* Remembers another dedupe key for an existing finding. */
void mh_findings_remember(struct mh_findings *f, const char *dedupe);
/* Removes a saved finding (and its .txt report) that turned out to be a duplicate. */
void mh_findings_forget(struct mh_findings *f, enum mh_find_class c, const char *name,
                        const char *kind);
/* Replaces the dialogue of an existing file (same name, atomically; e.g. after minimization). */
int mh_findings_rewrite(struct mh_findings *f, const char *name, const struct mh_finding_meta *m,
                        const struct mh_dialogue *d, struct mh_error *err);

/* ---- findings_stats.c ---- */
/* Writes fuzzer_stats atomically (temp + rename; fsync too when durable). -1 + err. */
int mh_findings_write_stats(struct mh_findings *f, const struct mh_findings_stats *s, bool durable,
                            struct mh_error *err);
/* Appends one plot_data line (the header first when the file is new). -1 + err. */
int mh_findings_append_plot(struct mh_findings *f, const struct mh_findings_stats *s,
                            struct mh_error *err);
/* Reads the counters of a fuzzer_stats file (ours or AFL++'s) into *s (zeroed first). 0 / -1. */
int mh_findings_read_stats(const char *path, struct mh_findings_stats *s);

/* Lists the id:* file names of dir (no temp files, no .txt reports), sorted by name, at most max.
   The array and names are new (free both). Returns the count, -1 on error. */
long mh_findings_list(const char *dir, size_t max, char ***names_r);
/* Parses the id of an "id:NNNNNN,..." name; -1 if it is not one. */
long mh_findings_name_id(const char *name);

/* "SIGSEGV" etc., "signal" for others. */
const char *mh_findings_signal_name(int sig);

/* Writes data to dir/name atomically (mh_write_file_atomic_opts): dir/.tmp.name, then rename;
   durable: fsync of the file before and of the directory after. -1 + err. */
int mh_findings_write(const char *dir, const char *name, const void *data, size_t n, bool durable,
                      struct mh_error *err);

#endif

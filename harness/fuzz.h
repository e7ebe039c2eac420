/* fuzz.h: one fuzz worker's campaign: load seeds (or resume the queue), pick, mutate, run the
   dialogue through the engine, apply the oracles (crash via the supervisor, hang, disconnect,
   spec violation), save and minimize each new finding, keep inputs that add coverage (AFL++ map)
   or new (state, reply) pairs (black-box), import the other workers' queues, write fuzzer_stats
   and plot_data. Prints nothing: status goes through a callback (fuzz_status.c renders it). */
#ifndef MH_FUZZ_H
#define MH_FUZZ_H

#include <signal.h>

#include "url.h"

struct mh_fuzz_status;

struct mh_fuzz_opts {
	struct mh_target target;
	const char *out_dir;   /* the campaign directory */
	const char *worker;    /* this worker's subdirectory name ("w0") */
	const char *exec_cmd;  /* server command ({port} already replaced), NULL = attach */
	const char *seeds_dir; /* .dlg seeds; NULL = <datadir>/corpus/<proto> */
	const char *suite;     /* record this Lua suite's dialogues as seeds first (or NULL) */
	const char *datadir;
	int64_t time_s;    /* stop after this long (0 = no limit) */
	uint64_t runs;     /* stop after this many fuzzed dialogues (0 = no limit) */
	uint64_t seed;     /* PRNG seed */
	bool coverage_afl; /* --coverage afl */
	bool forkserver;
	const char *dict;            /* AFL dictionary (or NULL) */
	int64_t timeout_ms;          /* budget per due reply: the hang oracle (default 1000) */
	unsigned restart_every;      /* restart the server every N dialogues (0 = never) */
	const char *user, *password; /* placeholder values (may be NULL) */
	unsigned sync_every_s;       /* import other workers' queues this often (0 = 30) */
	bool minimize;               /* minimize new findings (default on in the CLI) */
	unsigned status_every_ms;    /* on_status period (0 = 10000) */
	void (*on_status)(void *ud, const struct mh_fuzz_status *st);
	void (*on_event)(void *ud, const char *line); /* one-line notes: findings, restarts */
	void *ud;
	volatile sig_atomic_t *stop; /* set by a signal handler: finish cleanly */
	const char *command_line;    /* for fuzzer_stats */
};

/* A live view for the status screen and the final summary. */
struct mh_fuzz_status {
	const char *worker, *target, *mode;
	int64_t uptime_ms;
	uint64_t execs;       /* this session's fuzzed dialogues */
	uint64_t execs_total; /* including earlier sessions and minimization / import runs */
	double rate;          /* dialogues/s over the last seconds */
	double rate_avg;      /* dialogues/s since this session started */
	size_t crashes, hangs, violations, disconnects;                 /* saved, all sessions */
	size_t new_crashes, new_hangs, new_violations, new_disconnects; /* this session */
	size_t corpus, cur_item, imported;
	size_t edges, map_size;                   /* coverage mode */
	size_t pairs, states, cells, cells_total; /* black-box feedback */
	size_t restarts, minimize_runs;
	long rss_mb;
	bool resumed, proc_events;
	const char *forkserver; /* handshake description or "" */
	char last_finding[256];
	int64_t last_finding_ago_ms; /* -1 none */
	char last_new[128];          /* last queue entry */
	bool done;
};

/* Runs the campaign until opts->runs / time_s / *stop. Returns 0 when it ran (findings or not:
   see *final_r), -1 + err on an infrastructure failure (the server cannot be started, the out
   directory cannot be written). final_r (may be NULL) gets the last status. */
int mh_fuzz_run(const struct mh_fuzz_opts *o, struct mh_fuzz_status *final_r, struct mh_error *err);

/* Renders the one-screen status (ANSI: home, clear to end) / one plain line into out. */
void mh_fuzz_status_screen(const struct mh_fuzz_status *st, struct mh_buf *out);
void mh_fuzz_status_line(const struct mh_fuzz_status *st, struct mh_buf *out);
/* A status made from the fuzzer_stats files of every worker under out_dir (for the parent of
   --jobs N workers). Returns the number of workers read. */
size_t mh_fuzz_status_from_stats(const char *out_dir, struct mh_fuzz_status *st);

#endif

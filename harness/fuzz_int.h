/* fuzz_int.h: the campaign state shared by fuzz.c (the loop), fuzz_corpus.c (queue, seeds,
   import from other workers), fuzz_oracle.c (findings, minimization) and fuzz_status.c. Not a
   public API. */
#ifndef MH_FUZZ_INT_H
#define MH_FUZZ_INT_H

#include "aflcov.h"
#include "dlgexec.h"
#include "findings.h"
#include "fuzz.h"
#include "mutate.h"
#include "supervise.h"

#define FUZZ_QUEUE_MAX     50000      /* queue entries kept (metadata; dialogues stay on disk) */
#define FUZZ_CACHE_BYTES   (8u << 20) /* parsed dialogues kept in memory */
#define FUZZ_CACHE_ENTRIES 256
#define FUZZ_PAIRS_CAP     65536         /* (state, reply) pair hashes remembered */
#define FUZZ_MAX_BYTES     (1536u << 10) /* SEND bytes of a mutated dialogue */

struct fuzz_entry {
	long id;               /* our queue id */
	char *name;            /* file name in queue/ */
	struct mh_dialogue *d; /* cached, or NULL (load from disk) */
	size_t bytes;          /* SEND bytes */
	uint32_t picks;
	uint32_t finds; /* new inputs mutated from it */
	bool favored;   /* added for new coverage / pairs */
};

struct fuzz_ctx {
	const struct mh_fuzz_opts *o;
	struct mh_spec *spec;
	struct mh_mutator *mut;
	struct mh_findings *fnd;
	struct mh_supervisor *sup;
	struct mh_aflcov *cov;
	struct mh_rng rng;
	struct mh_dlg_exec_opts xo;
	/* queue */
	struct fuzz_entry *q;
	size_t nq, capq, cached, cache_bytes;
	size_t cur; /* index of the entry being fuzzed */
	/* feedback */
	uint32_t *pairs; /* open addressing, 0 empty */
	size_t npairs;
	char states[64][48];
	size_t nstates;
	unsigned char *cells; /* nstates x ncommands bitmap of the spec */
	size_t ncells, cells_total;
	/* work buffers, reused */
	struct mh_dialogue in, out, prev, min, fix, out_min;
	bool have_prev;
	struct mh_dlg_result res;
	struct mh_sup_crash crash;
	struct mh_buf scratch;
	/* counters */
	int64_t t0_ms, t0_wall_ms;
	uint64_t execs, execs_total, min_runs, since_crash, slowest_ms;
	uint64_t outcomes[MH_DLG_OUTCOME_COUNT]; /* fuzzed dialogues by outcome */
	uint64_t exec_ms;                        /* time spent in mh_dlg_exec */
	uint64_t replies;                        /* replies read by fuzzed dialogues */
	size_t imported, found_inputs, new_count[MH_FC_COUNT], new_disconnects;
	int64_t last_find, last_crash, last_hang; /* unix seconds */
	char last_finding[256];
	int64_t last_finding_ms;
	char last_new[128];
	int64_t run_time_prev_s;
	int64_t start_time_s;
	/* rate */
	int64_t rate_t_ms;
	uint64_t rate_execs;
	double rate;
	/* sync */
	int64_t next_sync_ms;
	char **sync_names; /* other workers seen, with the last id imported */
	long *sync_last;
	size_t nsync;
	/* the supervisor could not bring the server (back) up */
	bool fatal;
	char fatal_msg[600];
	/* events */
	struct mh_buf note;
};

/* ---- fuzz_corpus.c ---- */
/* Loads seeds (fresh campaign) or the queue (resume) into ctx. 0 / -1 + err. */
int fuzz_corpus_init(struct fuzz_ctx *ctx, struct mh_error *err);
void fuzz_corpus_deinit(struct fuzz_ctx *ctx);
/* The dialogue of entry i (loaded from disk when not cached), or NULL if unreadable. */
const struct mh_dialogue *fuzz_corpus_get(struct fuzz_ctx *ctx, size_t i);
/* Chooses the next entry to fuzz (favoured and rarely picked ones more often). */
size_t fuzz_corpus_pick(struct fuzz_ctx *ctx);
/* Saves d to queue/ and adds it. src -1 none. 0 / -1 + err. */
int fuzz_corpus_add(struct fuzz_ctx *ctx, const struct mh_dialogue *d, long src, const char *op,
                    const char *sync, bool new_cov, struct mh_error *err);
/* Imports new queue entries of the other workers under the campaign directory (runs them,
   keeps the interesting ones). */
void fuzz_corpus_sync(struct fuzz_ctx *ctx);

/* ---- fuzz.c ---- */
/* Runs d once with the supervisor around it: ctx->res and ctx->crash are filled. counts: add to
   the fuzzed dialogues. */
void fuzz_exec(struct fuzz_ctx *ctx, const struct mh_dialogue *d, bool coverage);
/* Feedback of the last run: true if it showed something new (coverage or pairs); *new_cov_r
   set when the AFL map had new edges. */
bool fuzz_feedback(struct fuzz_ctx *ctx, bool *new_cov_r);
void fuzz_note(struct fuzz_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- fuzz_oracle.c ---- */
/* Applies the oracles to the last run of d (mutated from queue entry src with op): saves and
   minimizes new findings. */
void fuzz_oracles(struct fuzz_ctx *ctx, const struct mh_dialogue *d, long src, const char *op);

/* ---- fuzz_status.c ---- */
void fuzz_status_fill(struct fuzz_ctx *ctx, struct mh_fuzz_status *st);
void fuzz_stats_fill(struct fuzz_ctx *ctx, struct mh_findings_stats *fs);
long fuzz_rss_mb(void);

#endif

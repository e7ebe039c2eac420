/* aflcov.h: AFL++ edge coverage of an instrumented server (afl-clang-fast): a System V shared
   memory map the server finds through __AFL_SHM_ID / AFL_MAP_SIZE, cleared before each dialogue,
   its counts bucketed the AFL way afterwards and compared with the map of everything seen
   (new edges or new bucket counts keep the input). Forked children write into the same map. */
#ifndef MH_AFLCOV_H
#define MH_AFLCOV_H

#include "util.h"

#define MH_AFLCOV_DEFAULT_MAP 65536u       /* AFL's MAP_SIZE, when the target does not say */
#define MH_AFLCOV_MAX_MAP     (256u << 20) /* refuse larger maps */

struct mh_aflcov;

/* Runs cmd through /bin/sh -c with AFL_DUMP_MAP_SIZE=1 (an afl-clang-fast binary then prints its
   map size and exits) and reads the number it prints within timeout_ms; the command's process
   group is killed afterwards. 0 with *size_r, or -1 + err (no number: not instrumented?). */
int mh_aflcov_probe_map_size(const char *cmd, int64_t timeout_ms, size_t *size_r,
                             struct mh_error *err);

/* Creates and attaches an IPC_PRIVATE map of map_size bytes (marked for removal at once, so
   nothing is left behind even after kill -9; Linux lets the server attach it still). NULL + err. */
struct mh_aflcov *mh_aflcov_new(size_t map_size, struct mh_error *err);
void mh_aflcov_free(struct mh_aflcov **c);

/* "__AFL_SHM_ID=<id>" and "AFL_MAP_SIZE=<size>": environment entries for the server (owned by c,
   NULL-terminated array of two). */
char *const *mh_aflcov_env(const struct mh_aflcov *c);
size_t mh_aflcov_map_size(const struct mh_aflcov *c);

/* Zeroes the map (before a dialogue). */
void mh_aflcov_clear(struct mh_aflcov *c);
/* After a dialogue: buckets the counts (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+) and merges them
   into the map of all seen. Returns 2 when an edge was hit for the first time, 1 when an edge
   reached a new bucket, 0 otherwise; *hit_r (may be NULL) = edges hit by this dialogue. */
int mh_aflcov_update(struct mh_aflcov *c, size_t *hit_r);
/* Edges seen at least once so far. */
size_t mh_aflcov_edges(const struct mh_aflcov *c);

/* The map of all seen as AFL's fuzz_bitmap (virgin bits: 0xff = never seen), for resuming. */
int mh_aflcov_save(const struct mh_aflcov *c, const char *path, struct mh_error *err);
/* Loads it back if the file exists and has the map's size; 1 loaded, 0 absent or other size. */
int mh_aflcov_load(struct mh_aflcov *c, const char *path);

#endif

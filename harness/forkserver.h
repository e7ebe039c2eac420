/* forkserver.h: the AFL++ forkserver protocol, driven from the fuzzer's side, for a server built
   with afl-clang-fast that calls __AFL_INIT() after listen(): one fresh fork of the listening
   server per dialogue and its exact wait status. Speaks both handshakes:
   - AFL++ up to 4.1x: the server sends a 4-byte hello, optionally FS_OPT_ENABLED (0x80000001)
     with FS_OPT_MAPSIZE (0x40000000, size in bits 1..23), FS_OPT_AUTODICT (0x10000000: we ask for
     the dictionary and discard it), FS_OPT_SHDMEM_FUZZ (0x01000000: refused, a server reads the
     network, not shared memory); FS_OPT_ERROR (0xf800008f) reports a setup error.
   - AFL++ 4.20 and later: the server sends "AFL" + version (0x41464c00 + v, v = 1), we reply its
     bitwise NOT, then it sends the option word (FS_NEW_OPT_MAPSIZE 1, FS_NEW_OPT_SHDMEM_FUZZ 2,
     FS_NEW_OPT_AUTODICT 0x800), their parameters in option order (map size; dictionary length and
     bytes), and the version word again. Errors: 0xeffe0000 | code.
   Then, per dialogue: we write 4 bytes (1 if we killed the previous child), it forks and writes
   the child's pid (4 bytes), and when the child ends its wait status (4 bytes). All in the host's
   byte order, on fds 198 (control, to the server) and 199 (status, from it). */
#ifndef MH_FORKSERVER_H
#define MH_FORKSERVER_H

#include <sys/types.h>

#include "util.h"

#define MH_FORKSRV_FD 198 /* FORKSRV_FD: control; FORKSRV_FD + 1: status */

struct mh_forkserver;

/* What the handshake said. */
struct mh_forkserver_info {
	unsigned version;  /* 0 = the hello of AFL++ <= 4.1x, else the new protocol's version */
	uint32_t hello;    /* the first word received */
	uint32_t options;  /* option word (new protocol) or the old hello's FS_OPT_* bits */
	size_t map_size;   /* announced by the server, 0 if not */
	size_t dict_bytes; /* autodictionary bytes received and discarded */
};

/* Creates the two pipes. NULL + err. */
struct mh_forkserver *mh_forkserver_new(struct mh_error *err);
/* In the forked server process before exec: installs the pipe ends at fds 198 / 199 and closes
   the others. Async-signal-safe. */
void mh_forkserver_child_setup(const struct mh_forkserver *fs);
/* In the fuzzer after the fork: closes the server's ends. */
void mh_forkserver_parent_setup(struct mh_forkserver *fs);
/* Reads and answers the handshake within timeout_ms. 0, or -1 + err (no hello: the server is not
   built with afl-clang-fast, does not call __AFL_INIT(), or died; an error the server reports). */
int mh_forkserver_handshake(struct mh_forkserver *fs, int64_t timeout_ms, struct mh_error *err);
const struct mh_forkserver_info *mh_forkserver_info(const struct mh_forkserver *fs);
/* Asks for a fresh child; its pid goes to *pid_r. 0, or -1 + err (forkserver gone: restart). */
int mh_forkserver_fork(struct mh_forkserver *fs, int64_t timeout_ms, pid_t *pid_r,
                       struct mh_error *err);
/* Waits for the child's wait status. 1 with *status_r, 0 on timeout (kill the child and call
   again), -1 + err (forkserver gone). */
int mh_forkserver_wait(struct mh_forkserver *fs, int64_t timeout_ms, int *status_r,
                       struct mh_error *err);
/* Tells the next fork request that we killed the previous child (AFL's was_killed). */
void mh_forkserver_killed(struct mh_forkserver *fs);
/* Closes the pipes; NULL-safe; clears the pointer. */
void mh_forkserver_free(struct mh_forkserver **fs);

#endif

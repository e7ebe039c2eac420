/* forkserver.c: the fuzzer's side of AFL++'s forkserver protocol (see forkserver.h for the
   words and both handshakes). Every read has a deadline; nothing here forks or waits for
   processes: the supervisor starts the server with mh_forkserver_child_setup(). */
#include "forkserver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FS_OPT_ENABLED              0x80000001u
#define FS_OPT_MAPSIZE              0x40000000u
#define FS_OPT_SNAPSHOT             0x20000000u
#define FS_OPT_AUTODICT             0x10000000u
#define FS_OPT_SHDMEM_FUZZ          0x01000000u
#define FS_OPT_OLD_AFLPP_WORKAROUND 0x0f000000u
#define FS_OPT_ERROR                0xf800008fu
#define FS_OPT_GET_ERROR(x)         (((x)&0x00ffff00u) >> 8)
#define FS_OPT_GET_MAPSIZE(x)       ((((x)&0x00fffffeu) >> 1) + 1)

#define FS_NEW_VERSION_MIN     1u
#define FS_NEW_VERSION_MAX     1u
#define FS_NEW_MAGIC           0x41464c00u /* "AFL\0" + version */
#define FS_NEW_ERROR           0xeffe0000u
#define FS_NEW_OPT_MAPSIZE     0x00000001u
#define FS_NEW_OPT_SHDMEM_FUZZ 0x00000002u
#define FS_NEW_OPT_AUTODICT    0x00000800u

#define DICT_MAX 0xffffffu

struct mh_forkserver {
	int ctl[2]; /* we write ctl[1]; the server reads ctl[0] as fd 198 */
	int st[2];  /* the server writes st[1] as fd 199; we read st[0] */
	uint32_t was_killed;
	struct mh_forkserver_info info;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct mh_forkserver *mh_forkserver_new(struct mh_error *err)
{
	struct mh_forkserver *fs = mh_calloc(1, sizeof(*fs));
	fs->ctl[0] = fs->ctl[1] = fs->st[0] = fs->st[1] = -1;
	if (pipe(fs->ctl) != 0 || pipe(fs->st) != 0) {
		mh_error_set(err, "pipe: %s", strerror(errno));
		mh_forkserver_free(&fs);
		return NULL;
	}
	/* our ends never leak into other children */
	fcntl(fs->ctl[1], F_SETFD, FD_CLOEXEC);
	fcntl(fs->st[0], F_SETFD, FD_CLOEXEC);
	return fs;
}

void mh_forkserver_child_setup(const struct mh_forkserver *fs)
{
	/* st[1] or ctl[0] may already sit on 198/199: move them out of the way first */
	int c = fcntl(fs->ctl[0], F_DUPFD, 300);
	int s = fcntl(fs->st[1], F_DUPFD, 300);
	dup2(c, MH_FORKSRV_FD);
	dup2(s, MH_FORKSRV_FD + 1);
	close(c);
	close(s);
	if (fs->ctl[0] != MH_FORKSRV_FD && fs->ctl[0] != MH_FORKSRV_FD + 1)
		close(fs->ctl[0]);
	if (fs->st[1] != MH_FORKSRV_FD && fs->st[1] != MH_FORKSRV_FD + 1)
		close(fs->st[1]);
	close(fs->ctl[1]);
	close(fs->st[0]);
}

void mh_forkserver_parent_setup(struct mh_forkserver *fs)
{
	close_fd(&fs->ctl[0]);
	close_fd(&fs->st[1]);
}

void mh_forkserver_free(struct mh_forkserver **fs)
{
	if (fs == NULL || *fs == NULL)
		return;
	close_fd(&(*fs)->ctl[0]);
	close_fd(&(*fs)->ctl[1]);
	close_fd(&(*fs)->st[0]);
	close_fd(&(*fs)->st[1]);
	free(*fs);
	*fs = NULL;
}

const struct mh_forkserver_info *mh_forkserver_info(const struct mh_forkserver *fs)
{
	return &fs->info;
}

void mh_forkserver_killed(struct mh_forkserver *fs)
{
	fs->was_killed = 1;
}

/* Reads exactly n bytes before the deadline. 1 done, 0 timeout, -1 EOF or error. */
static int read_full(int fd, void *buf, size_t n, int64_t deadline)
{
	unsigned char *p = buf;
	size_t got = 0;
	while (got < n) {
		int64_t left = deadline - mh_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int r = poll(&pf, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 1;
}

static int read_u32(struct mh_forkserver *fs, uint32_t *v, int64_t deadline, const char *what,
                    struct mh_error *err)
{
	int r = read_full(fs->st[0], v, 4, deadline);
	if (r == 1)
		return 0;
	mh_error_set(err, "forkserver: %s: %s", what,
	             r == 0 ? "timed out" : "the server closed the status pipe (did it exit?)");
	return -1;
}

static int write_u32(struct mh_forkserver *fs, uint32_t v, struct mh_error *err)
{
	for (;;) {
		ssize_t w = write(fs->ctl[1], &v, 4);
		if (w == 4)
			return 0;
		if (w < 0 && errno == EINTR)
			continue;
		mh_error_set(err, "forkserver: write to the control pipe: %s",
		             w < 0 ? strerror(errno) : "short write");
		return -1;
	}
}

/* Reads and discards an autodictionary of len bytes. */
static int skip_dict(struct mh_forkserver *fs, uint32_t len, int64_t deadline, struct mh_error *err)
{
	if (len < 2 || len > DICT_MAX) {
		mh_error_set(err, "forkserver: autodictionary of illegal size %u", len);
		return -1;
	}
	unsigned char buf[4096];
	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		if (read_full(fs->st[0], buf, n, deadline) != 1) {
			mh_error_set(err, "forkserver: autodictionary cut short");
			return -1;
		}
		len -= (uint32_t)n;
		fs->info.dict_bytes += n;
	}
	return 0;
}

static int handshake_new(struct mh_forkserver *fs, uint32_t hello, int64_t deadline,
                         struct mh_error *err)
{
	unsigned v = hello - FS_NEW_MAGIC;
	if (v < FS_NEW_VERSION_MIN || v > FS_NEW_VERSION_MAX) {
		mh_error_set(err, "forkserver: protocol version %u not supported (%u..%u)", v,
		             FS_NEW_VERSION_MIN, FS_NEW_VERSION_MAX);
		return -1;
	}
	fs->info.version = v;
	uint32_t opts, word;
	if (write_u32(fs, hello ^ 0xffffffffu, err) != 0 ||
	    read_u32(fs, &opts, deadline, "option word", err) != 0)
		return -1;
	fs->info.options = opts;
	if ((opts & FS_NEW_ERROR) == FS_NEW_ERROR) {
		mh_error_set(err, "forkserver: the server reports error 0x%04x", opts & 0xffffu);
		return -1;
	}
	if (opts & FS_NEW_OPT_MAPSIZE) {
		if (read_u32(fs, &word, deadline, "map size", err) != 0)
			return -1;
		fs->info.map_size = word;
	}
	if (opts & FS_NEW_OPT_SHDMEM_FUZZ) {
		mh_error_set(err, "forkserver: the server wants shared-memory test cases "
		                  "(__AFL_FUZZ_TESTCASE_BUF); a network server reads its socket");
		return -1;
	}
	if (opts & FS_NEW_OPT_AUTODICT) {
		if (read_u32(fs, &word, deadline, "dictionary size", err) != 0 ||
		    skip_dict(fs, word, deadline, err) != 0)
			return -1;
	}
	if (read_u32(fs, &word, deadline, "final hello", err) != 0)
		return -1;
	if (word != hello) {
		mh_error_set(err, "forkserver: handshake ended with 0x%08x, expected 0x%08x", word,
		             hello);
		return -1;
	}
	return 0;
}

static int handshake_old(struct mh_forkserver *fs, uint32_t hello, int64_t deadline,
                         struct mh_error *err)
{
	fs->info.version = 0;
	if ((hello & FS_OPT_ERROR) == FS_OPT_ERROR) {
		mh_error_set(err,
		             "forkserver: the server reports error %u (1 map size, 2 map "
		             "address, 4 shm_open, 8 shmat, 16 mmap)",
		             FS_OPT_GET_ERROR(hello));
		return -1;
	}
	if ((hello & FS_OPT_ENABLED) != FS_OPT_ENABLED)
		return 0; /* a plain AFL hello: no options */
	uint32_t opts = hello;
	if ((opts & FS_OPT_OLD_AFLPP_WORKAROUND) == FS_OPT_OLD_AFLPP_WORKAROUND)
		opts &= 0xf0ffffffu;
	fs->info.options = opts;
	if ((opts & FS_OPT_MAPSIZE) == FS_OPT_MAPSIZE)
		fs->info.map_size = FS_OPT_GET_MAPSIZE(opts);
	if ((opts & FS_OPT_SHDMEM_FUZZ) == FS_OPT_SHDMEM_FUZZ) {
		mh_error_set(err, "forkserver: the server wants shared-memory test cases "
		                  "(__AFL_FUZZ_TESTCASE_BUF); a network server reads its socket");
		return -1;
	}
	if ((opts & FS_OPT_AUTODICT) == FS_OPT_AUTODICT) {
		/* Accept the dictionary: declining would make the server take our reply as the
		   first fork request. */
		uint32_t len;
		if (write_u32(fs, FS_OPT_ENABLED | FS_OPT_AUTODICT, err) != 0 ||
		    read_u32(fs, &len, deadline, "dictionary size", err) != 0 ||
		    skip_dict(fs, len, deadline, err) != 0)
			return -1;
	}
	return 0;
}

int mh_forkserver_handshake(struct mh_forkserver *fs, int64_t timeout_ms, struct mh_error *err)
{
	int64_t deadline = mh_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	uint32_t hello;
	int r = read_full(fs->st[0], &hello, 4, deadline);
	if (r != 1) {
		mh_error_set(err,
		             "forkserver: no hello from the server %s (build it with "
		             "afl-clang-fast and call __AFL_INIT() after listen())",
		             r == 0 ? "in time" : "before it closed the pipe");
		return -1;
	}
	fs->info.hello = hello;
	if ((hello & FS_NEW_ERROR) == FS_NEW_ERROR && hello != FS_OPT_ERROR &&
	    (hello & 0xffff0000u) == FS_NEW_ERROR) {
		mh_error_set(err, "forkserver: the server reports error 0x%04x", hello & 0xffffu);
		return -1;
	}
	if (hello >= FS_NEW_MAGIC && hello <= FS_NEW_MAGIC + 0xffu)
		return handshake_new(fs, hello, deadline, err);
	return handshake_old(fs, hello, deadline, err);
}

int mh_forkserver_fork(struct mh_forkserver *fs, int64_t timeout_ms, pid_t *pid_r,
                       struct mh_error *err)
{
	int64_t deadline = mh_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	uint32_t killed = fs->was_killed;
	fs->was_killed = 0;
	int32_t pid;
	if (write_u32(fs, killed, err) != 0 ||
	    read_u32(fs, (uint32_t *)&pid, deadline, "child pid", err) != 0)
		return -1;
	if (pid <= 0) {
		mh_error_set(err, "forkserver: fork failed in the server (pid %d)", (int)pid);
		return -1;
	}
	*pid_r = (pid_t)pid;
	return 0;
}

int mh_forkserver_wait(struct mh_forkserver *fs, int64_t timeout_ms, int *status_r,
                       struct mh_error *err)
{
	int64_t deadline = mh_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	int32_t status;
	int r = read_full(fs->st[0], &status, 4, deadline);
	if (r == 0)
		return 0;
	if (r < 0) {
		mh_error_set(err, "forkserver: the server closed the status pipe");
		return -1;
	}
	*status_r = (int)status;
	return 1;
}

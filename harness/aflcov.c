/* aflcov.c: the AFL++ coverage map: System V shared memory, AFL's bucketing and virgin-map
   comparison (the semantics of afl-fuzz's classify_counts and has_new_bits). */
#include "aflcov.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

struct mh_aflcov {
	int shm_id;
	unsigned char *map; /* the shared map the server writes */
	unsigned char
	    *virgin; /* AFL's virgin bits: 0xff never seen, bucket bits cleared once seen */
	size_t size;
	size_t edges;
	char env_id[48], env_size[48];
	char *env[3];
};

static unsigned char bucket_of[256];

static void init_buckets(void)
{
	if (bucket_of[1] != 0)
		return;
	for (int i = 1; i < 256; i++)
		bucket_of[i] = i == 1    ? 1
		               : i == 2  ? 2
		               : i == 3  ? 4
		               : i < 8   ? 8
		               : i < 16  ? 16
		               : i < 32  ? 32
		               : i < 128 ? 64
		                         : 128;
}

int mh_aflcov_probe_map_size(const char *cmd, int64_t timeout_ms, size_t *size_r,
                             struct mh_error *err)
{
	int pfd[2];
	if (pipe(pfd) != 0) {
		mh_error_set(err, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		mh_error_set(err, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		close(pfd[0]);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		dup2(pfd[1], 1);
		close(pfd[1]);
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		setenv("AFL_DUMP_MAP_SIZE", "1", 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	char buf[256];
	size_t len = 0;
	int64_t deadline = mh_now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
	for (;;) {
		int64_t left = deadline - mh_now_ms();
		if (left <= 0 || len >= sizeof(buf) - 1 || memchr(buf, '\n', len) != NULL)
			break;
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	buf[len] = '\0';
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	if (end == buf || errno != 0 || v == 0 || v > MH_AFLCOV_MAX_MAP) {
		mh_error_set(err, "the target printed no map size with AFL_DUMP_MAP_SIZE=1 (is it "
		                  "built with afl-clang-fast?)");
		return -1;
	}
	/* afl-fuzz rounds up to 64 bytes */
	*size_r = (size_t)((v + 63) & ~63ul);
	return 0;
}

struct mh_aflcov *mh_aflcov_new(size_t map_size, struct mh_error *err)
{
	init_buckets();
	if (map_size == 0 || map_size > MH_AFLCOV_MAX_MAP) {
		mh_error_set(err, "coverage map size %zu out of range", map_size);
		return NULL;
	}
	struct mh_aflcov *c = mh_calloc(1, sizeof(*c));
	c->size = map_size;
	c->shm_id = shmget(IPC_PRIVATE, map_size, IPC_CREAT | IPC_EXCL | 0600);
	if (c->shm_id < 0) {
		mh_error_set(err, "shmget(%zu bytes): %s", map_size, strerror(errno));
		free(c);
		return NULL;
	}
	void *p = shmat(c->shm_id, NULL, 0);
	/* Marked for removal now: gone with the last detach, whatever happens to us. */
	shmctl(c->shm_id, IPC_RMID, NULL);
	if (p == (void *)-1) {
		mh_error_set(err, "shmat: %s", strerror(errno));
		free(c);
		return NULL;
	}
	c->map = p;
	c->virgin = mh_malloc(map_size);
	memset(c->virgin, 0xff, map_size);
	snprintf(c->env_id, sizeof(c->env_id), "__AFL_SHM_ID=%d", c->shm_id);
	snprintf(c->env_size, sizeof(c->env_size), "AFL_MAP_SIZE=%zu", map_size);
	c->env[0] = c->env_id;
	c->env[1] = c->env_size;
	c->env[2] = NULL;
	return c;
}

void mh_aflcov_free(struct mh_aflcov **c)
{
	if (c == NULL || *c == NULL)
		return;
	if ((*c)->map != NULL)
		shmdt((*c)->map);
	free((*c)->virgin);
	free(*c);
	*c = NULL;
}

char *const *mh_aflcov_env(const struct mh_aflcov *c)
{
	return c->env;
}

size_t mh_aflcov_map_size(const struct mh_aflcov *c)
{
	return c->size;
}

void mh_aflcov_clear(struct mh_aflcov *c)
{
	memset(c->map, 0, c->size);
}

int mh_aflcov_update(struct mh_aflcov *c, size_t *hit_r)
{
	int ret = 0;
	size_t hit = 0;
	size_t words = c->size / sizeof(uint64_t);
	const uint64_t *w = (const uint64_t *)c->map;
	for (size_t wi = 0; wi <= words; wi++) {
		size_t lo = wi * sizeof(uint64_t);
		if (lo >= c->size)
			break;
		if (wi < words && w[wi] == 0)
			continue;
		size_t hi = lo + sizeof(uint64_t) <= c->size ? lo + sizeof(uint64_t) : c->size;
		for (size_t i = lo; i < hi; i++) {
			unsigned char v = c->map[i];
			if (v == 0)
				continue;
			hit++;
			unsigned char b = bucket_of[v];
			if ((b & c->virgin[i]) == 0)
				continue;
			if (c->virgin[i] == 0xff) {
				ret = 2;
				c->edges++;
			} else if (ret == 0) {
				ret = 1;
			}
			c->virgin[i] &= (unsigned char)~b;
		}
	}
	if (hit_r != NULL)
		*hit_r = hit;
	return ret;
}

size_t mh_aflcov_edges(const struct mh_aflcov *c)
{
	return c->edges;
}

int mh_aflcov_save(const struct mh_aflcov *c, const char *path, struct mh_error *err)
{
	return mh_write_file_atomic(path, c->virgin, c->size, err);
}

int mh_aflcov_load(struct mh_aflcov *c, const char *path)
{
	struct mh_error err;
	mh_error_init(&err);
	size_t len = 0;
	char *data = mh_read_file(path, c->size + 1, &len, &err);
	if (data == NULL)
		return 0;
	int rc = 0;
	if (len == c->size) {
		memcpy(c->virgin, data, len);
		c->edges = 0;
		for (size_t i = 0; i < len; i++)
			c->edges += c->virgin[i] != 0xff;
		rc = 1;
	}
	free(data);
	return rc;
}

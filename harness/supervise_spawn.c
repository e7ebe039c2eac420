/* supervise_spawn.c: starting and stopping the server of --exec: its environment (sanitizer
   options, coverage map, forkserver), /bin/sh -c CMD in its own process group with the output in
   a log, waiting until the port accepts (or the forkserver greets), and stopping every process
   it left (SIGTERM, then SIGKILL, by process group and by pid from /proc, never by name). */
#include "supervise_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The server's environment: ours without the variables we set, then ours. */
char **mh_sup_build_env(const struct mh_sup_opts *o, struct mh_buf *scratch)
{
	static const char *const drop[] = {
	    "ASAN_OPTIONS=",        "UBSAN_OPTIONS=", "__AFL_SHM_ID=",      "AFL_MAP_SIZE=",
	    "__AFL_DEFER_FORKSRV=", "MH_FUZZ_PORT=",  "LIBC_FATAL_STDERR_="};
	size_t n = 0, cap = 16;
	char **env = mh_malloc(cap * sizeof(*env));
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		bool skip = false;
		for (size_t i = 0; i < MH_ARRAY_SIZE(drop); i++)
			skip = skip || strncmp(*e, drop[i], strlen(drop[i])) == 0;
		if (skip)
			continue;
		if (n + 8 >= cap) {
			cap *= 2;
			env = mh_realloc(env, cap * sizeof(*env));
		}
		env[n++] = mh_strdup(*e);
	}
	for (size_t i = 0; o->extra_env != NULL && o->extra_env[i] != NULL; i++) {
		if (n + 8 >= cap) {
			cap *= 2;
			env = mh_realloc(env, cap * sizeof(*env));
		}
		env[n++] = mh_strdup(o->extra_env[i]);
	}
	mh_buf_reset(scratch);
	mh_buf_append_str(scratch, "ASAN_OPTIONS=");
	struct mh_buf v;
	mh_buf_init(&v);
	mh_sup_san_options(getenv("ASAN_OPTIONS"), o->sanitizer_dir, true, o->detect_leaks, &v);
	mh_buf_append_str(scratch, mh_buf_cstr(&v));
	env[n++] = mh_strdup(mh_buf_cstr(scratch));
	mh_buf_reset(scratch);
	mh_buf_append_str(scratch, "UBSAN_OPTIONS=");
	mh_sup_san_options(getenv("UBSAN_OPTIONS"), o->sanitizer_dir, false, false, &v);
	mh_buf_append_str(scratch, mh_buf_cstr(&v));
	env[n++] = mh_strdup(mh_buf_cstr(scratch));
	mh_buf_deinit(&v);
	char port[32];
	snprintf(port, sizeof(port), "MH_FUZZ_PORT=%d", o->target->port);
	env[n++] = mh_strdup(port);
	if (o->forkserver)
		env[n++] = mh_strdup("__AFL_DEFER_FORKSRV=1");
	/* glibc's fatal messages ("stack smashing detected") to stderr (the log), not the tty */
	env[n++] = mh_strdup("LIBC_FATAL_STDERR_=1");
	env[n] = NULL;
	return env;
}

void mh_sup_free_env(char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

int mh_sup_resolve(struct mh_supervisor *s, struct mh_error *err)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", s->o.target->port);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int rc = getaddrinfo(s->o.target->host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		mh_error_set(err, "%s: %s", s->o.target->host, gai_strerror(rc));
		return -1;
	}
	memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
	s->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* One TCP connect to the target within timeout_ms: 1 accepted, 0 refused or timed out. */
int mh_sup_port_accepts(const struct mh_supervisor *s, int timeout_ms)
{
	int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	int ok = 0;
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) == 0) {
		ok = 1;
	} else if (errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, timeout_ms) == 1) {
			int e = 0;
			socklen_t el = sizeof(e);
			ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0;
		}
	}
	close(fd);
	return ok;
}

/* Kills root's process group and every descendant with sig. */
static void signal_tree(pid_t root, int sig)
{
	pid_t pids[4096];
	size_t n = mh_sup_descendants(getpid(), pids, MH_ARRAY_SIZE(pids));
	if (root > 0)
		kill(-root, sig);
	for (size_t i = 0; i < n; i++)
		kill(pids[i], sig);
}

void mh_sup_stop(struct mh_supervisor *s)
{
	if (s->o.exec_cmd == NULL)
		return;
	mh_forkserver_free(&s->fs);
	s->child = 0;
	pid_t pids[8];
	if (s->main_pid > 0 || mh_sup_descendants(getpid(), pids, 1) > 0) {
		signal_tree(s->main_pid, SIGTERM);
		int64_t deadline = mh_now_ms() + STOP_TERM_MS;
		while (mh_now_ms() < deadline) {
			mh_sup_collect_deaths(s);
			if (mh_sup_descendants(getpid(), pids, 1) == 0)
				break;
			struct pollfd p = {.fd = s->sigfd, .events = POLLIN};
			poll(&p, s->sigfd >= 0 ? 1 : 0, 20);
		}
		signal_tree(s->main_pid, SIGKILL);
		deadline = mh_now_ms() + STOP_TERM_MS;
		while (mh_now_ms() < deadline) {
			mh_sup_collect_deaths(s);
			if (mh_sup_descendants(getpid(), pids, 1) == 0)
				break;
			struct pollfd p = {.fd = s->sigfd, .events = POLLIN};
			poll(&p, s->sigfd >= 0 ? 1 : 0, 20);
		}
	}
	mh_sup_collect_deaths(s);
	s->ndeaths = 0; /* what we killed is no finding */
	mh_sup_proc_reset(s->proc);
	s->main_pid = 0;
	s->running = false;
	/* reports of processes we killed (leak checks at exit...) are not findings either: all of
	   them, a batch at a time (bounded) */
	for (int i = 0; i < 64 && mh_sup_san_collect(s->o.sanitizer_dir, s->reports, MAX_REPORTS) ==
	                              MAX_REPORTS;
	     i++)
		;
}

static int open_log(const struct mh_sup_opts *o)
{
	const char *path = o->log_path != NULL ? o->log_path : "/dev/null";
	struct stat st;
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	if (o->log_path != NULL && stat(path, &st) == 0 && st.st_size > LOG_ROTATE_BYTES)
		flags |= O_TRUNC;
	return open(path, flags, 0644);
}

static int spawn(struct mh_supervisor *s, struct mh_error *err)
{
	if (s->o.forkserver) {
		s->fs = mh_forkserver_new(err);
		if (s->fs == NULL)
			return -1;
	}
	int logfd = open_log(&s->o);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid < 0) {
		mh_error_set(err, "fork: %s", strerror(errno));
		if (logfd >= 0)
			close(logfd);
		if (devnull >= 0)
			close(devnull);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		if (s->fs != NULL)
			mh_forkserver_child_setup(s->fs);
		char *argv[] = {"sh", "-c", (char *)s->o.exec_cmd, NULL};
		execve("/bin/sh", argv, s->envp);
		_exit(127);
	}
	setpgid(pid, pid);
	if (logfd >= 0)
		close(logfd);
	if (devnull >= 0)
		close(devnull);
	s->main_pid = pid;
	s->running = true;
	s->since_start = 0;
	s->ndeaths = 0;
	mh_sup_proc_track(s->proc, pid);
	return 0;
}

/* Waits until the port accepts (or the forkserver greets), watching the server die. */
static int wait_ready(struct mh_supervisor *s, struct mh_error *err)
{
	if (s->fs != NULL) {
		mh_forkserver_parent_setup(s->fs);
		if (mh_forkserver_handshake(s->fs, s->o.start_timeout_ms, err) != 0)
			return -1;
		const struct mh_forkserver_info *fi = mh_forkserver_info(s->fs);
		if (fi->version == 0)
			snprintf(s->fs_desc, sizeof(s->fs_desc),
			         "AFL++ <= 4.1x handshake (hello 0x%08x), map size %zu", fi->hello,
			         fi->map_size);
		else
			snprintf(s->fs_desc, sizeof(s->fs_desc),
			         "AFL++ 4.20+ handshake v%u (options 0x%08x), map size %zu",
			         fi->version, fi->options, fi->map_size);
		return 0; /* the listening socket exists; a probe would be taken by the first child
		           */
	}
	int64_t deadline = mh_now_ms() + s->o.start_timeout_ms;
	int pause_ms = 2;
	while (mh_now_ms() < deadline) {
		if (mh_sup_port_accepts(s, 200))
			return 0;
		mh_sup_collect_deaths(s);
		for (size_t i = 0; i < s->ndeaths; i++) {
			int st = s->deaths[i].status;
			if (s->deaths[i].main && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
				mh_error_set(err,
				             "the server exited while starting (%s %d); see %s",
				             WIFSIGNALED(st) ? "signal" : "status",
				             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
				             s->o.log_path ? s->o.log_path : "its output");
				return -1;
			}
		}
		s->ndeaths = 0;
		struct pollfd p = {.fd = s->sigfd, .events = POLLIN};
		poll(&p, s->sigfd >= 0 ? 1 : 0, pause_ms);
		pause_ms = pause_ms < 50 ? pause_ms * 2 : 50;
	}
	mh_error_set(err, "%.200s:%d did not accept connections within %lld ms (see %s)",
	             s->o.target->host, s->o.target->port, (long long)s->o.start_timeout_ms,
	             s->o.log_path ? s->o.log_path : "the server's output");
	return -1;
}

int mh_sup_start(struct mh_supervisor *s, struct mh_error *err)
{
	if (s->o.exec_cmd == NULL) {
		if (!mh_sup_port_accepts(s, 2000)) {
			mh_error_set(err,
			             "%s:%d does not accept connections (start the server or "
			             "use --exec)",
			             s->o.target->host, s->o.target->port);
			return -1;
		}
		s->running = true;
		return 0;
	}
	mh_sup_stop(s); /* a leftover of an earlier start */
	if (spawn(s, err) != 0)
		return -1;
	if (wait_ready(s, err) != 0) {
		mh_sup_stop(s);
		return -1;
	}
	s->ndeaths = 0;
	s->need_restart = false;
	return 0;
}

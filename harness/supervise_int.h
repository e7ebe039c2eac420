/* supervise_int.h: the supervisor's internals shared by supervise.c (dialogue hooks, crash
   oracle), supervise_spawn.c (environment, start, stop), supervise_proc.c (kernel process events,
   the process tree) and supervise_san.c (sanitizer reports). Not a public API. */
#ifndef MH_SUPERVISE_INT_H
#define MH_SUPERVISE_INT_H

#include <sys/socket.h>

#include "supervise.h"

#include "forkserver.h"

/* A finished report found in the sanitizer directory. */
struct mh_sup_report {
	pid_t pid;
	struct mh_buf text;
};

#define MAX_DEATHS       64
#define MAX_REPORTS      4
#define LOG_ROTATE_BYTES (16 << 20)
#define STOP_TERM_MS     2000
/* a sanitizer report is being written: wait this long for its process to end */
#define REPORT_WAIT_MS 10000

struct death {
	pid_t pid;
	int status;
	bool main;
};

struct mh_supervisor {
	struct mh_sup_opts o;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct mh_sup_proc *proc;
	int sigfd;
	pid_t main_pid; /* our direct child: /bin/sh -c CMD (or what it exec'd) */
	bool running;   /* exec: started and not known dead; attach: port alive */
	bool need_restart;
	unsigned since_start;
	size_t restarts;
	struct mh_forkserver *fs;
	pid_t child; /* forkserver: the dialogue's process */
	char fs_desc[160];
	struct death deaths[MAX_DEATHS];
	size_t ndeaths;
	pid_t forked[64]; /* processes the server forked during the current dialogue */
	size_t nforked;
	bool forked_overflow;
	pid_t forked_prev[64]; /* ... and during the one before */
	size_t nforked_prev;
	bool settle;
	pid_t recent[64]; /* deaths already reported (waitpid and process events both see some) */
	size_t nrecent;
	struct mh_sup_report reports[MAX_REPORTS];
	char **envp;
	struct mh_buf scratch;
};

/* ---- supervise.c ---- */
/* Reaps dead children (subreaper), reads process events; records deaths (and this dialogue's
   forks). */
void mh_sup_collect_deaths(struct mh_supervisor *s);

/* ---- supervise_spawn.c ---- */
/* The server's environment (ours, minus the variables we set, plus ours); NULL-terminated. */
char **mh_sup_build_env(const struct mh_sup_opts *o, struct mh_buf *scratch);
void mh_sup_free_env(char **env);
/* Resolves the target's address into s. 0 / -1 + err. */
int mh_sup_resolve(struct mh_supervisor *s, struct mh_error *err);
/* One TCP connect within timeout_ms: 1 accepted, 0 refused or timed out. */
int mh_sup_port_accepts(const struct mh_supervisor *s, int timeout_ms);

/* ---- supervise_proc.c ---- */
struct mh_sup_proc;
/* Subscribes to the kernel's process events (netlink proc connector; needs root). NULL when not
   available: then only the subreaper's waitpid sees deaths (of orphaned descendants). */
struct mh_sup_proc *mh_sup_proc_open(void);
void mh_sup_proc_close(struct mh_sup_proc **p);
int mh_sup_proc_fd(const struct mh_sup_proc *p);
/* Follows pid and, from now on, every process it or its descendants fork. */
void mh_sup_proc_track(struct mh_sup_proc *p, pid_t pid);
/* Forgets every tracked process. */
void mh_sup_proc_reset(struct mh_sup_proc *p);
/* Reads pending events; calls on_exit(ud, pid, wait status) for each tracked process that ended.
   Returns the number of events read (0 none), -1 if events were lost (buffer overrun). */
typedef void (*mh_sup_exit_fn)(void *ud, pid_t pid, int status);
/* on_fork (may be NULL) is called for each new tracked process. */
typedef void (*mh_sup_fork_fn)(void *ud, pid_t pid);
int mh_sup_proc_drain(struct mh_sup_proc *p, mh_sup_exit_fn on_exit, mh_sup_fork_fn on_fork,
                      void *ud);
/* The descendants of root (children, their children, ...) from /proc, at most max, into out.
   Returns the count. */
size_t mh_sup_descendants(pid_t root, pid_t *out, size_t max);

/* ---- supervise_san.c ---- */
/* Reads reports in dir (files log.<pid>) whose process has ended or that are complete
   ("ABORTING"), at most max, deleting each file read. Returns the count (reports[i].text must be
   initialised by the caller; they are reset first). */
size_t mh_sup_san_collect(const char *dir, struct mh_sup_report *reports, size_t max);
/* True if dir holds a report file not yet collected. */
bool mh_sup_san_pending(const char *dir);
/* Builds ASAN_OPTIONS / UBSAN_OPTIONS values: the inherited value (if any) then ours. */
void mh_sup_san_options(const char *inherited, const char *dir, bool asan, bool detect_leaks,
                        struct mh_buf *out);

#endif

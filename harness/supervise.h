/* supervise.h: the target supervisor of `mailharness fuzz`. With --exec it starts the server
   (/bin/sh -c CMD in its own process group, sanitizer options exported, output to a log), waits
   for its port, watches every descendant die (child subreaper + waitpid, and the kernel's process
   events where available, so per-connection children reaped by their own parent are seen too),
   reads new AddressSanitizer / UBSan reports, and restarts it after a crash, a hang or every N
   dialogues. With --forkserver it gets a fresh server process per dialogue from an AFL++
   forkserver. Without --exec it attaches to a running server: a crash is the port going dead. */
#ifndef MH_SUPERVISE_H
#define MH_SUPERVISE_H

#include <sys/types.h>

#include "dlgexec.h"

#define MH_SUP_SAN_EXITCODE 86 /* exitcode= in the sanitizer options: an abnormal exit */

struct mh_sup_opts {
	const char *exec_cmd; /* shell command; NULL = attach mode */
	const struct mh_target *target;
	const char *log_path;      /* server stdout+stderr (appended; NULL = /dev/null) */
	const char *sanitizer_dir; /* ASAN_OPTIONS / UBSAN_OPTIONS log_path=<dir>/log */
	char *const *extra_env;    /* "NAME=value" entries for the server (NULL-terminated; may be
	                              NULL), e.g. the coverage map's */
	bool forkserver;           /* drive an AFL++ forkserver (needs exec_cmd) */
	bool detect_leaks;         /* LeakSanitizer on (default off: leaks are not crashes) */
	int64_t start_timeout_ms;  /* for the port / the forkserver handshake (default 15000) */
	int64_t grace_ms;          /* after a dialogue that lost its connection: how long to wait
	                              for a death or a sanitizer report (default 100) */
	int64_t reattach_ms;       /* attach mode: how long to wait for a dead port to return
	                              (default 30000) */
	unsigned restart_every;    /* restart after this many dialogues (0 = never) */
	unsigned stack_frames;     /* frames hashed for deduplication (default 3) */
};

/* A crash seen after a dialogue. */
struct mh_sup_crash {
	bool crashed;
	const char *kind;     /* "signal", "exit", "sanitizer", "port-dead" (static strings) */
	pid_t pid;            /* the process that died or reported (0 unknown) */
	bool main;            /* the server's main process (or the forkserver child) */
	bool previous;        /* a process forked during the dialogue before this one (it died
	                         late, e.g. after its last reply): that dialogue is the finding */
	int sig;              /* terminating signal, 0 if none */
	int exit_status;      /* exit status when it exited, else -1 */
	char summary[256];    /* "killed by signal 11 (SIGSEGV)", a sanitizer SUMMARY line ... */
	char stack_hash[17];  /* 16 hex digits of the top frames in the project's code, or "" */
	char frames[512];     /* those frames, "func file:line | ..." */
	struct mh_buf report; /* the whole sanitizer report (empty if none); owned by the
	                         supervisor, valid until its next call */
};

struct mh_supervisor;

/* Sets everything up (child subreaper, process events, signal fd); starts nothing. NULL + err. */
struct mh_supervisor *mh_sup_new(const struct mh_sup_opts *o, struct mh_error *err);
/* Starts the server and waits until its port accepts (exec), or checks that it does (attach).
   0 / -1 + err. */
int mh_sup_start(struct mh_supervisor *s, struct mh_error *err);
/* Before each dialogue: restarts when due (after a crash, a hang, a dead server, every N);
   forkserver: asks for the dialogue's process. 0, or -1 + err when the server cannot be brought
   (back) up. */
int mh_sup_begin(struct mh_supervisor *s, struct mh_error *err);
/* After each dialogue with its outcome: reaps dead descendants, reads process events and new
   sanitizer reports, probes the port in attach mode; fills *c (crashed false if nothing). A
   REFUSED outcome's crash belongs to the dialogue before (the caller knows which). */
void mh_sup_end(struct mh_supervisor *s, enum mh_dlg_outcome outcome, struct mh_sup_crash *c);
/* With settle on, mh_sup_end waits (up to the grace time) until the processes the server forked
   for the dialogue have ended, so that a late crash is the dialogue's own (for minimization; off
   by default: a server that keeps its processes would cost the grace time per dialogue). */
void mh_sup_settle(struct mh_supervisor *s, bool on);
/* Restart before the next dialogue (e.g. after minimization played with the server). */
void mh_sup_request_restart(struct mh_supervisor *s);
/* Stops the server: SIGTERM, then SIGKILL, to its process group and every descendant (found
   through /proc by parent pid, never by name); reaps them. Attach mode: nothing. */
void mh_sup_stop(struct mh_supervisor *s);
void mh_sup_free(struct mh_supervisor **s);

/* Restarts so far; whether the kernel's process events are in use; the forkserver's handshake
   ("AFL++ <= 4.1x hello 0xc23fffff, map 2097152" / "AFL++ 4.20+ v1, map 276"), or "". */
size_t mh_sup_restarts(const struct mh_supervisor *s);
bool mh_sup_proc_events(const struct mh_supervisor *s);
const char *mh_sup_forkserver_desc(const struct mh_supervisor *s);

void mh_sup_crash_init(struct mh_sup_crash *c);
void mh_sup_crash_deinit(struct mh_sup_crash *c);

/* Sanitizer report parsing (supervise_san.c), public for tests: the summary line, the hash of
   the top nframes frames in the project's code (not the sanitizer runtime, libc or /usr) and
   those frames. Returns true if the text is a sanitizer report. */
bool mh_sup_san_parse(const char *text, size_t len, unsigned nframes, char *summary,
                      size_t summarylen, char hash[17], char *frames, size_t frameslen);

#endif

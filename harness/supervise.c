/* supervise.c: the supervisor's life cycle (start, restart, stop a server started with --exec;
   attach to a running one) and the crash oracle after each dialogue: deaths of any descendant
   (subreaper waitpid, kernel process events), sanitizer reports, forkserver wait statuses, and
   in attach mode a liveness probe of the port. Every wait is bounded; processes are killed by
   pid and process group, never by name. */
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
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "findings.h"

static bool crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGABRT || sig == SIGSYS || sig == SIGTRAP;
}

void mh_sup_crash_init(struct mh_sup_crash *c)
{
	memset(c, 0, sizeof(*c));
	mh_buf_init(&c->report);
	c->exit_status = -1;
}

void mh_sup_crash_deinit(struct mh_sup_crash *c)
{
	mh_buf_deinit(&c->report);
}

static void crash_reset(struct mh_sup_crash *c)
{
	struct mh_buf keep = c->report;
	memset(c, 0, sizeof(*c));
	c->report = keep;
	mh_buf_reset(&c->report);
	c->exit_status = -1;
}

struct mh_supervisor *mh_sup_new(const struct mh_sup_opts *o, struct mh_error *err)
{
	if (o->forkserver && o->exec_cmd == NULL) {
		mh_error_set(err, "--forkserver needs --exec");
		return NULL;
	}
	struct mh_supervisor *s = mh_calloc(1, sizeof(*s));
	s->o = *o;
	/* own copies: the caller's strings may be short-lived */
	s->o.exec_cmd = mh_strdup(o->exec_cmd);
	s->o.log_path = mh_strdup(o->log_path);
	s->o.sanitizer_dir = mh_strdup(o->sanitizer_dir != NULL ? o->sanitizer_dir : "/tmp");
	if (s->o.start_timeout_ms <= 0)
		s->o.start_timeout_ms = 15000;
	if (s->o.grace_ms <= 0)
		s->o.grace_ms = 100;
	if (s->o.reattach_ms <= 0)
		s->o.reattach_ms = 30000;
	if (s->o.stack_frames == 0)
		s->o.stack_frames = 3;
	s->sigfd = -1;
	mh_buf_init(&s->scratch);
	for (size_t i = 0; i < MAX_REPORTS; i++)
		mh_buf_init(&s->reports[i].text);
	if (mh_sup_resolve(s, err) != 0) {
		mh_sup_free(&s);
		return NULL;
	}
	if (o->exec_cmd != NULL) {
		/* orphaned descendants become our children: their deaths reach waitpid */
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigprocmask(SIG_BLOCK, &set, NULL);
		s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
		/* MH_FUZZ_NO_PROC_EVENTS=1: subreaper only (tests that path; non-root behaviour) */
		const char *np = getenv("MH_FUZZ_NO_PROC_EVENTS");
		s->proc = np != NULL && strcmp(np, "1") == 0 ? NULL : mh_sup_proc_open();
		s->envp = mh_sup_build_env(&s->o, &s->scratch);
	}
	return s;
}

static bool recently_reported(struct mh_supervisor *s, pid_t pid)
{
	for (size_t i = 0; i < s->nrecent && i < MH_ARRAY_SIZE(s->recent); i++)
		if (s->recent[i] == pid)
			return true;
	s->recent[s->nrecent++ % MH_ARRAY_SIZE(s->recent)] = pid;
	return false;
}

static void on_death(void *ud, pid_t pid, int status)
{
	struct mh_supervisor *s = ud;
	bool is_main = pid == s->main_pid && s->main_pid > 0;
	if (is_main)
		s->running = false;
	if (recently_reported(s, pid))
		return;
	if (s->ndeaths < MAX_DEATHS)
		s->deaths[s->ndeaths++] = (struct death){pid, status, is_main};
}

static bool pid_in(const pid_t *list, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == pid)
			return true;
	return false;
}

static void on_fork(void *ud, pid_t pid)
{
	struct mh_supervisor *s = ud;
	if (s->nforked < MH_ARRAY_SIZE(s->forked))
		s->forked[s->nforked++] = pid;
	else
		s->forked_overflow = true;
}

/* Reaps dead children (subreaper) and reads process events; records deaths. */
void mh_sup_collect_deaths(struct mh_supervisor *s)
{
	if (s->sigfd >= 0) {
		struct signalfd_siginfo si;
		while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
	}
	for (int i = 0; i < 4096; i++) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		on_death(s, pid, status);
	}
	mh_sup_proc_drain(s->proc, on_death, on_fork, s);
}

int mh_sup_begin(struct mh_supervisor *s, struct mh_error *err)
{
	if (s->o.exec_cmd == NULL) {
		if (s->running)
			return 0;
		int64_t deadline = mh_now_ms() + s->o.reattach_ms;
		while (mh_now_ms() < deadline) {
			if (mh_sup_port_accepts(s, 500)) {
				s->running = true;
				return 0;
			}
			struct pollfd p = {.fd = -1};
			poll(&p, 0, 100);
		}
		mh_error_set(err, "%s:%d has not accepted connections again within %lld ms",
		             s->o.target->host, s->o.target->port, (long long)s->o.reattach_ms);
		return -1;
	}
	if (s->need_restart || !s->running ||
	    (s->o.restart_every > 0 && s->since_start >= s->o.restart_every)) {
		s->restarts++;
		if (mh_sup_start(s, err) != 0)
			return -1;
	}
	mh_sup_collect_deaths(s); /* forks and deaths until now belong to the dialogue before */
	memcpy(s->forked_prev, s->forked, s->nforked * sizeof(pid_t));
	s->nforked_prev = s->nforked;
	s->nforked = 0;
	s->forked_overflow = false;
	if (s->fs != NULL) {
		if (mh_forkserver_fork(s->fs, s->o.start_timeout_ms, &s->child, err) != 0) {
			s->need_restart = true;
			return -1;
		}
		mh_sup_proc_track(s->proc, s->child);
	}
	return 0;
}

void mh_sup_settle(struct mh_supervisor *s, bool on)
{
	s->settle = on;
}

/* Waits up to grace until every process forked for this dialogue has died (settle mode). */
static void settle(struct mh_supervisor *s)
{
	int64_t deadline = mh_now_ms() + s->o.grace_ms;
	bool dead[64] = {false};
	for (;;) {
		mh_sup_collect_deaths(s);
		size_t alive = 0;
		for (size_t i = 0; i < s->nforked; i++) {
			for (size_t k = 0; !dead[i] && k < s->ndeaths; k++)
				dead[i] = s->deaths[k].pid == s->forked[i];
			alive += !dead[i];
		}
		if (alive == 0 || mh_now_ms() >= deadline)
			return;
		struct pollfd p[2] = {{.fd = s->sigfd, .events = POLLIN},
		                      {.fd = mh_sup_proc_fd(s->proc), .events = POLLIN}};
		poll(p, 2, 10);
	}
}

void mh_sup_request_restart(struct mh_supervisor *s)
{
	s->need_restart = true;
}

/* The forkserver child's wait status after the dialogue (killing it after a hang). */
static void forkserver_end(struct mh_supervisor *s, enum mh_dlg_outcome outcome)
{
	bool killed = false;
	int status = 0;
	struct mh_error err;
	mh_error_init(&err);
	if (outcome == MH_DLG_HANG) {
		kill(s->child, SIGKILL);
		killed = true;
	}
	int r = mh_forkserver_wait(s->fs, s->o.grace_ms + 1000, &status, &err);
	if (r == 0) {
		kill(s->child, SIGKILL);
		killed = true;
		r = mh_forkserver_wait(s->fs, 5000, &status, &err);
	}
	if (killed)
		mh_forkserver_killed(s->fs);
	if (r <= 0) {
		/* no status in time: a late one would be read as the next child's pid */
		s->need_restart = true;
	} else if (r == 1 && !(killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
		if (s->ndeaths < MAX_DEATHS && !recently_reported(s, s->child))
			s->deaths[s->ndeaths++] = (struct death){s->child, status, true};
	}
	s->child = 0;
}

/* True if a recorded death is a crash. */
static bool death_is_crash(const struct death *d)
{
	if (WIFSIGNALED(d->status))
		return crash_signal(WTERMSIG(d->status));
	if (!WIFEXITED(d->status))
		return false;
	int x = WEXITSTATUS(d->status);
	return x == MH_SUP_SAN_EXITCODE || (d->main && x >= 128);
}

static bool have_crash(const struct mh_supervisor *s)
{
	for (size_t i = 0; i < s->ndeaths; i++)
		if (death_is_crash(&s->deaths[i]))
			return true;
	return false;
}

/* After a lost connection: waits up to grace for a death or a report (longer while a report is
   being written). A process of the server ending normally meanwhile (the connection's handler,
   most likely) ends the wait early. */
static void wait_for_evidence(struct mh_supervisor *s)
{
	int64_t start = mh_now_ms(), deadline = start + s->o.grace_ms;
	bool report_seen = false;
	for (;;) {
		mh_sup_collect_deaths(s);
		bool pending = mh_sup_san_pending(s->o.sanitizer_dir);
		if (pending && !report_seen) {
			report_seen = true;
			deadline = start + REPORT_WAIT_MS;
		}
		if (have_crash(s) && !pending)
			return;
		for (size_t i = 0; !report_seen && i < s->ndeaths; i++)
			if (pid_in(s->forked, s->nforked, s->deaths[i].pid))
				return; /* this dialogue's process ended without crashing */
		if (mh_now_ms() >= deadline)
			return;
		struct pollfd p[2] = {{.fd = s->sigfd, .events = POLLIN},
		                      {.fd = mh_sup_proc_fd(s->proc), .events = POLLIN}};
		poll(p, 2, 20);
	}
}

static void describe_death(const struct mh_supervisor *s, const struct death *d,
                           struct mh_sup_crash *c)
{
	c->crashed = true;
	c->previous = !d->main && pid_in(s->forked_prev, s->nforked_prev, d->pid) &&
	              !pid_in(s->forked, s->nforked, d->pid);
	c->pid = d->pid;
	c->main = d->main;
	if (WIFSIGNALED(d->status)) {
		c->kind = "signal";
		c->sig = WTERMSIG(d->status);
		snprintf(c->summary, sizeof(c->summary), "%s %ld killed by signal %d (%s)",
		         d->main ? "the server process" : "server process", (long)d->pid, c->sig,
		         mh_findings_signal_name(c->sig));
	} else {
		c->kind = "exit";
		c->exit_status = WEXITSTATUS(d->status);
		snprintf(c->summary, sizeof(c->summary), "%s %ld exited with status %d",
		         d->main ? "the server process" : "server process", (long)d->pid,
		         c->exit_status);
	}
}

static void attach_report(struct mh_supervisor *s, const struct mh_sup_report *r,
                          struct mh_sup_crash *c)
{
	char summary[256];
	mh_sup_san_parse((const char *)r->text.data, r->text.len, s->o.stack_frames, summary,
	                 sizeof(summary), c->stack_hash, c->frames, sizeof(c->frames));
	if (summary[0] != '\0')
		snprintf(c->summary, sizeof(c->summary), "%s", summary);
	mh_buf_reset(&c->report);
	mh_buf_append(&c->report, r->text.data, r->text.len);
	c->kind = "sanitizer";
	if (!c->crashed) {
		c->crashed = true;
		c->pid = r->pid;
	}
}

/* After a hang: the processes the server forked for this dialogue and still alive are the hung
   ones: kill them (and what they started). Without process events (or when the server hands
   connections to processes it forked earlier), restart the server instead. */
static void end_hang(struct mh_supervisor *s)
{
	if (s->proc == NULL || s->nforked == 0 || s->forked_overflow) {
		s->need_restart = true;
		return;
	}
	for (size_t i = 0; i < s->nforked; i++) {
		pid_t sub[256];
		size_t n = mh_sup_descendants(s->forked[i], sub, MH_ARRAY_SIZE(sub));
		for (size_t k = 0; k < n; k++)
			kill(sub[k], SIGKILL);
		kill(s->forked[i], SIGKILL);
	}
	s->nforked = 0;
}

void mh_sup_end(struct mh_supervisor *s, enum mh_dlg_outcome outcome, struct mh_sup_crash *c)
{
	crash_reset(c);
	if (s->o.exec_cmd == NULL) {
		if (!mh_sup_port_accepts(s, 1000)) {
			c->crashed = true;
			c->kind = "port-dead";
			snprintf(c->summary, sizeof(c->summary),
			         "%.200s:%d stopped accepting connections", s->o.target->host,
			         s->o.target->port);
			s->running = false;
		}
		return;
	}
	s->since_start++;
	if (s->fs != NULL && s->child > 0)
		forkserver_end(s, outcome);
	mh_sup_collect_deaths(s);
	bool lost = outcome == MH_DLG_DISCONNECT || outcome == MH_DLG_REFUSED ||
	            outcome == MH_DLG_BAD_REPLY || outcome == MH_DLG_TLS_FAILED;
	if (lost || mh_sup_san_pending(s->o.sanitizer_dir))
		wait_for_evidence(s);
	if (s->settle && s->proc != NULL && !have_crash(s))
		settle(s);
	size_t nrep = mh_sup_san_collect(s->o.sanitizer_dir, s->reports, MAX_REPORTS);
	for (size_t i = 0; i < s->ndeaths && !c->crashed; i++)
		if (death_is_crash(&s->deaths[i]))
			describe_death(s, &s->deaths[i], c);
	for (size_t i = 0; i < nrep; i++) {
		if (!c->crashed || c->pid == s->reports[i].pid || c->report.len == 0) {
			attach_report(s, &s->reports[i], c);
			break;
		}
	}
	s->ndeaths = 0;
	if (outcome == MH_DLG_HANG && s->fs == NULL)
		end_hang(s);
	if (!s->running)
		s->need_restart = true;
}

void mh_sup_free(struct mh_supervisor **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	struct mh_supervisor *s = *sp;
	mh_sup_stop(s);
	mh_forkserver_free(&s->fs);
	mh_sup_proc_close(&s->proc);
	if (s->sigfd >= 0)
		close(s->sigfd);
	mh_sup_free_env(s->envp);
	free((char *)s->o.exec_cmd);
	free((char *)s->o.log_path);
	free((char *)s->o.sanitizer_dir);
	for (size_t i = 0; i < MAX_REPORTS; i++)
		mh_buf_deinit(&s->reports[i].text);
	mh_buf_deinit(&s->scratch);
	free(s);
	*sp = NULL;
}

size_t mh_sup_restarts(const struct mh_supervisor *s)
{
	return s->restarts;
}

bool mh_sup_proc_events(const struct mh_supervisor *s)
{
	return s->proc != NULL;
}

const char *mh_sup_forkserver_desc(const struct mh_supervisor *s)
{
	return s->fs_desc;
}

/* cli_replay.c: CLI front-ends `mailharness replay` and `mailharness minimize` (they print to
   stdout and stderr, unlike the rest of mh_core): run a dialogue or a fuzz finding against a
   target and say whether it reproduces, turn it into a Lua case, shrink it by delta debugging. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dlgexec.h"
#include "dlglua.h"
#include "minimize.h"
#include "runner.h"
#include "supervise.h"

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_FINDING = 3 };

static const char usage_replay[] =
    "Usage: mailharness replay FILE --target URL [OPTIONS]\n"
    "       mailharness replay FILE --to-lua\n"
    "\n"
    "Runs a dialogue file (docs/FUZZING.md), e.g. a fuzz finding, against the target: connects\n"
    "(implicit TLS for smtps/imaps/pop3s; the dialogue carries any STARTTLS itself), reads the\n"
    "greeting, sends each record and waits where a reply is due; after the last record it reads\n"
    "the replies still owed to commands the dialogue did not wait for. Prints every exchange,\n"
    "the outcome and the spec violations, then (without --exec) checks that the server still\n"
    "accepts a connection. With --exec it starts the server itself and watches it as `fuzz`\n"
    "does, so a crash of a per-connection child process (a signal, a sanitizer report) is seen\n"
    "too.\n"
    "\n"
    "Options:\n"
    "  -t, --target URL        the server (smtp://127.0.0.1:25, imaps://..., pop3://...)\n"
    "  -x, --exec \"CMD\"        start the server with /bin/sh -c CMD (in the foreground; {port}\n"
    "                          becomes the target's port), supervised; stopped at the end\n"
    "      --server-log FILE   with --exec: append the server's output here (default: dropped)\n"
    "  -u, --user NAME         value of ${USER} and ${SASL_PLAIN}\n"
    "      --password-file F   value of ${PASSWORD}, ${PASSWORD_B64}, ${SASL_PLAIN} (first line);\n"
    "                          or set MAILHARNESS_PASSWORD\n"
    "      --timeout MS        budget per due reply (also those read after the last record)\n"
    "                          and for connecting (default 5000)\n"
    "  -k, --insecure          do not verify TLS certificates (loopback is never verified)\n"
    "      --to-lua            print a Lua case replaying the dialogue instead (no network)\n"
    "  -v, --verbose           also print every check the engine made\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 the dialogue ran without a finding, 3 it reproduces one (a hang, a\n"
    "disconnect before a due reply, a spec violation, the server refusing connections\n"
    "afterwards, with --exec a crash of any server process), 2 usage or infrastructure error\n"
    "(unreadable file, cannot connect or start the server, a TLS failure, a reply beyond the\n"
    "size caps).\n";

static const char usage_minimize[] =
    "Usage: mailharness minimize FILE --target URL --oracle ORACLE [OPTIONS]\n"
    "\n"
    "Shrinks a dialogue that shows a finding by delta debugging: records first (a send and the\n"
    "replies after it go together), then the space-separated arguments of each send, then bytes,\n"
    "running every candidate against the target and keeping it only if the finding remains.\n"
    "\n"
    "Oracles:\n"
    "  hang        a due reply does not come within --timeout\n"
    "  disconnect  the server closes before a due reply\n"
    "  violation   the engine reports the same spec or syntax violation as the original\n"
    "  crash       with --exec: a server process dies of the same signal (or sanitizer report,\n"
    "              same stack hash); without: the server refuses connections right after the\n"
    "              candidate (needs a server restarted after a crash; minimize waits up to\n"
    "              --restart-wait for it)\n"
    "\n"
    "Options:\n"
    "  -t, --target URL        the server\n"
    "      --oracle ORACLE     what must still happen (above)\n"
    "  -x, --exec \"CMD\"        start and watch the server, as for replay (restarted after a "
    "crash)\n"
    "      --server-log FILE   with --exec: append the server's output here\n"
    "  -o, --output FILE       write the result here (default: print it)\n"
    "  -u, --user NAME / --password-file F   placeholder values, as for replay\n"
    "      --timeout MS        budget per due reply (also those read after the last record)\n"
    "                          and for connecting (default 5000)\n"
    "      --max-tries N       candidate runs at most (default 1000)\n"
    "      --restart-wait MS   crash oracle: how long to wait for the server to return (10000)\n"
    "  -k, --insecure          do not verify TLS certificates\n"
    "  -v, --verbose           print each candidate's outcome\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 minimized (written), 2 usage or infrastructure error, or the dialogue\n"
    "does not show the finding in the first place.\n";

/* Options both commands share. */
struct common {
	const char *file, *url, *user, *pwfile, *exec, *server_log;
	char *password;
	long timeout;
	bool insecure, verbose;
	struct mh_target target;
	struct mh_dialogue d;
	struct mh_spec *spec;
	struct mh_dlg_exec_opts xo;
};

static int parse_ms(const char *opt, const char *s, long max, long *out)
{
	unsigned long long v;
	if (mh_parse_uint(s, 1, (unsigned long long)max, &v) != 0) {
		fprintf(stderr, "mailharness: %s expects a number from 1 to %ld, got '%s'\n", opt,
		        max, s);
		return -1;
	}
	*out = (long)v;
	return 0;
}

/* Loads the dialogue, the target, the spec and the credentials. 0 or -1 (message printed). */
static int common_setup(struct common *c, bool need_target)
{
	struct mh_error err;
	mh_error_init(&err);
	mh_dialogue_init(&c->d, MH_PROTO_SMTP);
	if (mh_dialogue_load(c->file, &c->d, &err) != 0) {
		fprintf(stderr, "mailharness: %s\n", err.msg);
		return -1;
	}
	if (!need_target)
		return 0;
	if (c->url == NULL) {
		fprintf(stderr, "mailharness: --target URL is required\n");
		return -1;
	}
	if (mh_url_parse(c->url, &c->target, &err) != 0) {
		fprintf(stderr, "mailharness: --target: %s\n", err.msg);
		return -1;
	}
	if (c->target.proto != c->d.proto) {
		fprintf(stderr, "mailharness: %s is a %s dialogue, the target speaks %s\n", c->file,
		        mh_proto_name(c->d.proto), mh_proto_name(c->target.proto));
		return -1;
	}
	bool failed, need_user, need_pw;
	if (c->pwfile != NULL || getenv("MAILHARNESS_PASSWORD") != NULL) {
		c->password = mh_cli_read_password(c->pwfile, &failed);
		if (failed)
			return -1;
	}
	mh_dialogue_needs(&c->d, &need_user, &need_pw);
	if ((need_user && c->user == NULL) || (need_pw && c->password == NULL)) {
		fprintf(stderr, "mailharness: %s uses %s placeholders: give %s\n", c->file,
		        need_pw ? "password" : "user",
		        need_pw && need_user ? "--user and --password-file"
		        : need_pw            ? "--password-file (or MAILHARNESS_PASSWORD)"
		                             : "--user");
		return -1;
	}
	char path[PATH_MAX];
	mh_runner_spec_path(mh_cli_datadir(), c->target.proto, path, sizeof(path));
	c->spec = mh_spec_load(path, &err);
	if (c->spec == NULL) {
		fprintf(stderr, "mailharness: %s\n", err.msg);
		return -1;
	}
	c->xo.reply_timeout_ms = c->timeout;
	c->xo.connect_timeout_ms = c->timeout;
	c->xo.insecure = c->insecure;
	c->xo.spec = c->spec;
	mh_limits_default(&c->xo.limits);
	c->xo.user = c->user;
	c->xo.password = c->password;
	c->xo.drain_ms = c->timeout;
	if (c->exec != NULL && !mh_url_is_loopback(c->target.host)) {
		fprintf(stderr,
		        "mailharness: --exec starts the server here: the target must be a "
		        "loopback address, not %s\n",
		        c->target.host);
		return -1;
	}
	return 0;
}

/* ---- --exec: the server started and watched as by `fuzz` (supervise.h) ---- */

struct watched {
	struct mh_supervisor *sup;
	char *cmd;
	char sandir[PATH_MAX]; /* sanitizer logs (a temporary directory) */
	struct mh_sup_crash crash;
};

static void rm_dir(const char *dir)
{
	DIR *dh = opendir(dir);
	if (dh == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(dh)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(dh);
	rmdir(dir);
}

/* Starts the server (c->exec). grace_ms: how long each run waits for the processes the server
   forked for it to end, so that a late crash counts. 0 or -1 (message printed). */
static int watch_start(struct common *c, int64_t grace_ms, struct watched *w)
{
	memset(w, 0, sizeof(*w));
	mh_sup_crash_init(&w->crash);
	const char *tmp = getenv("TMPDIR");
	snprintf(w->sandir, sizeof(w->sandir), "%s/mailharness-replay.XXXXXX",
	         tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(w->sandir) == NULL) {
		fprintf(stderr, "mailharness: cannot create %s: %s\n", w->sandir, strerror(errno));
		w->sandir[0] = '\0';
		return -1;
	}
	w->cmd = mh_cli_port_subst(c->exec, c->target.port);
	struct mh_sup_opts so = {
	    .exec_cmd = w->cmd,
	    .target = &c->target,
	    .log_path = c->server_log,
	    .sanitizer_dir = w->sandir,
	    .grace_ms = grace_ms,
	    .start_timeout_ms = c->timeout > 15000 ? c->timeout : 15000,
	};
	struct mh_error err;
	mh_error_init(&err);
	w->sup = mh_sup_new(&so, &err);
	if (w->sup == NULL || mh_sup_start(w->sup, &err) != 0) {
		fprintf(stderr, "mailharness: --exec: %s%s\n", err.msg,
		        c->server_log == NULL ? " (--server-log FILE keeps it)" : "");
		return -1;
	}
	mh_sup_settle(w->sup, true);
	return 0;
}

/* One supervised run of d: w->crash says whether a server process crashed. 0, or -1 when the
   server cannot be brought (back) up (message printed). */
static int watch_run(struct watched *w, struct common *c, const struct mh_dialogue *d,
                     struct mh_dlg_result *res)
{
	struct mh_error err;
	mh_error_init(&err);
	if (mh_sup_begin(w->sup, &err) != 0) {
		fprintf(stderr, "mailharness: --exec: %s\n", err.msg);
		return -1;
	}
	mh_dlg_exec(d, &c->target, &c->xo, res);
	mh_sup_end(w->sup, res->outcome, &w->crash);
	return 0;
}

static void watch_stop(struct watched *w)
{
	mh_sup_free(&w->sup); /* stops the server and every descendant */
	if (w->sandir[0] != '\0')
		rm_dir(w->sandir);
	mh_sup_crash_deinit(&w->crash);
	free(w->cmd);
	w->cmd = NULL;
}

/* Prints a crash seen by the supervisor: summary, frames, the sanitizer report (its first 40
   lines unless verbose). */
static void print_crash(const struct mh_sup_crash *k, bool verbose)
{
	printf("crash: %s\n", k->summary);
	if (k->stack_hash[0] != '\0')
		printf("stack-hash: %s\n", k->stack_hash);
	if (k->frames[0] != '\0')
		printf("frames: %s\n", k->frames);
	const char *p = k->report.len > 0 ? mh_buf_cstr(&k->report) : NULL;
	for (int n = 0; p != NULL && *p != '\0'; n++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (!verbose && n == 40) {
			printf("|  ... (-v shows the whole report)\n");
			break;
		}
		printf("|  %.*s\n", (int)len, p);
		p = nl != NULL ? nl + 1 : p + len;
	}
}

static void common_deinit(struct common *c)
{
	mh_dialogue_deinit(&c->d);
	mh_spec_free(&c->spec);
	free(c->password);
}

/* ---- replay ---- */

/* Prints the transcript: "C: ", "S: " per line (escaped), "*  " events. */
static void print_transcript(const struct mh_case_result *cr, bool verbose)
{
	struct mh_buf line;
	mh_buf_init(&line);
	for (size_t i = 0; i < cr->ntranscript; i++) {
		const struct mh_transcript_entry *e = &cr->transcript[i];
		const unsigned char *p = e->data.data ? e->data.data : (const unsigned char *)"";
		size_t n = e->data.len;
		if (e->dir == '*') {
			printf("*  %.*s\n", (int)(n < 2000 ? n : 2000), (const char *)p);
			continue;
		}
		for (size_t off = 0; off < n;) {
			const unsigned char *nl = memchr(p + off, '\n', n - off);
			size_t end = nl ? (size_t)(nl - p) + 1 : n;
			mh_buf_reset(&line);
			mh_buf_append_escaped(&line, p + off, end - off, verbose ? SIZE_MAX : 512);
			printf("%c: %s\n", e->dir, mh_buf_cstr(&line));
			off = end;
		}
	}
	if (cr->transcript_dropped > 0)
		printf("*  (%zu transcript bytes beyond the cap not shown)\n",
		       cr->transcript_dropped);
	mh_buf_deinit(&line);
}

int mh_cli_replay(int argc, char **argv)
{
	enum { O_PWFILE = 256, O_TIMEOUT, O_TOLUA, O_SLOG };
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"exec", required_argument, NULL, 'x'},
	    {"server-log", required_argument, NULL, O_SLOG},
	    {"user", required_argument, NULL, 'u'},
	    {"password-file", required_argument, NULL, O_PWFILE},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"insecure", no_argument, NULL, 'k'},
	    {"to-lua", no_argument, NULL, O_TOLUA},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct common c;
	memset(&c, 0, sizeof(c));
	c.timeout = 5000;
	bool lua = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "t:x:u:kvh", opts, NULL)) != -1) {
		switch (ch) {
		case 't': c.url = optarg; break;
		case 'x': c.exec = optarg; break;
		case O_SLOG: c.server_log = optarg; break;
		case 'u': c.user = optarg; break;
		case O_PWFILE: c.pwfile = optarg; break;
		case O_TIMEOUT:
			if (parse_ms("--timeout", optarg, 3600000, &c.timeout) != 0)
				return EXIT_USAGE;
			break;
		case 'k': c.insecure = true; break;
		case O_TOLUA: lua = true; break;
		case 'v': c.verbose = true; break;
		case 'h': fputs(usage_replay, stdout); return EXIT_OK;
		default: fputs(usage_replay, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "mailharness replay: one dialogue FILE is required\n\n%s",
		        usage_replay);
		return EXIT_USAGE;
	}
	c.file = argv[optind];
	int status = EXIT_USAGE;
	if (common_setup(&c, !lua) != 0)
		goto out;
	if (lua) {
		struct mh_buf b;
		mh_buf_init(&b);
		mh_dlglua_case(&c.d, c.file, &b);
		fwrite(b.data, 1, b.len, stdout);
		mh_buf_deinit(&b);
		status = EXIT_OK;
		goto out;
	}
	struct watched w;
	memset(&w, 0, sizeof(w));
	if (c.exec != NULL && watch_start(&c, 1000, &w) != 0) {
		watch_stop(&w);
		goto out;
	}
	printf("replay %s (%s, %zu records, %zu bytes) against %s%s\n", c.file,
	       mh_proto_name(c.d.proto), c.d.n, mh_dialogue_bytes(&c.d), c.target.url,
	       c.exec != NULL ? " (started and watched: --exec)" : "");
	struct mh_dlg_result res;
	mh_dlg_result_init(&res);
	if (c.exec != NULL) {
		if (watch_run(&w, &c, &c.d, &res) != 0) {
			mh_dlg_result_deinit(&res);
			watch_stop(&w);
			goto out;
		}
	} else {
		mh_dlg_exec(&c.d, &c.target, &c.xo, &res);
	}
	print_transcript(&res.checks, c.verbose);
	for (size_t i = 0; c.verbose && i < res.checks.nchecks; i++) {
		const struct mh_check *k = &res.checks.checks[i];
		printf("check %s %-6s %s (%s %s)\n", mh_verdict_name(k->verdict),
		       mh_check_kind_name(k->kind), k->message ? k->message : "",
		       k->rfc ? k->rfc : "", mh_level_name(k->level));
	}
	printf("outcome: %s", mh_dlg_outcome_name(res.outcome));
	if (res.outcome != MH_DLG_OK)
		printf(" (%s)", res.detail);
	printf(", %zu replies, %lld ms\n", res.replies, (long long)res.elapsed_ms);
	for (size_t i = 0; i < res.nviolations && i < MH_ARRAY_SIZE(res.violation); i++)
		printf("violation: %s\n", res.violation[i]);
	if (res.nviolations > MH_ARRAY_SIZE(res.violation))
		printf("violation: ... %zu in all\n", res.nviolations);
	bool finding =
	    res.outcome == MH_DLG_HANG || res.outcome == MH_DLG_DISCONNECT || res.nviolations > 0;
	bool infra = res.outcome == MH_DLG_REFUSED || res.outcome == MH_DLG_TLS_FAILED ||
	             res.outcome == MH_DLG_BAD_REPLY;
	if (c.exec != NULL) {
		if (w.crash.crashed) {
			print_crash(&w.crash, c.verbose);
			finding = true;
		} else {
			printf("watched: no server process crashed\n");
		}
	} else if (res.outcome != MH_DLG_REFUSED) {
		char why[256];
		if (mh_dlg_alive(&c.target, &c.xo, why, sizeof(why))) {
			printf("alive: the server still accepts connections\n");
		} else {
			printf("crash: the server no longer accepts connections (%s)\n", why);
			finding = true;
		}
	}
	status = finding ? EXIT_FINDING : infra ? EXIT_USAGE : EXIT_OK;
	printf("%s\n", status == EXIT_FINDING ? "result: the finding reproduces"
	               : status == EXIT_OK    ? "result: no finding"
	                                      : "result: could not run the dialogue");
	mh_dlg_result_deinit(&res);
	watch_stop(&w);
out:
	common_deinit(&c);
	return status;
}

/* ---- minimize ---- */

enum oracle { OR_HANG, OR_DISCONNECT, OR_VIOLATION, OR_CRASH, OR_COUNT };
static const char *const oracle_names[] = {"hang", "disconnect", "violation", "crash"};
_Static_assert(MH_ARRAY_SIZE(oracle_names) == OR_COUNT, "oracle_names out of sync");

struct mini {
	struct common *c;
	enum oracle oracle;
	char signature[256]; /* violation oracle: the original's first violation */
	long restart_wait;
	bool verbose, server_gone;
	struct mh_dlg_result res;
	struct watched w; /* --exec */
	bool watching;
	int sig; /* crash oracle with --exec: the original's signal, kind, stack hash */
	char kind[16];
	char hash[17];
};

/* Waits (polling every 100 ms) until the server accepts connections again. */
static bool wait_alive(struct mini *m)
{
	int64_t end = mh_now_ms() + m->restart_wait;
	for (;;) {
		if (mh_dlg_alive(&m->c->target, &m->c->xo, NULL, 0))
			return true;
		if (mh_now_ms() >= end)
			return false;
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static bool shows(struct mini *m)
{
	const struct mh_dlg_result *r = &m->res;
	switch (m->oracle) {
	case OR_HANG: return r->outcome == MH_DLG_HANG;
	case OR_DISCONNECT: return r->outcome == MH_DLG_DISCONNECT;
	case OR_VIOLATION:
		for (size_t i = 0; i < r->nviolations && i < MH_ARRAY_SIZE(r->violation); i++)
			if (m->signature[0] == '\0' || strcmp(r->violation[i], m->signature) == 0)
				return true;
		return false;
	case OR_CRASH:
	default:
		if (m->watching) {
			const struct mh_sup_crash *k = &m->w.crash;
			if (!k->crashed || k->previous)
				return false;
			if (m->kind[0] == '\0')
				return true; /* the original run: take its signature */
			if (m->hash[0] != '\0')
				return strcmp(k->stack_hash, m->hash) == 0;
			return k->sig == m->sig && strcmp(k->kind, m->kind) == 0;
		}
		return r->outcome != MH_DLG_REFUSED &&
		       !mh_dlg_alive(&m->c->target, &m->c->xo, NULL, 0);
	}
}

static bool mini_oracle(void *ud, const struct mh_dialogue *cand)
{
	struct mini *m = ud;
	if (m->server_gone)
		return false;
	if (m->watching) {
		if (watch_run(&m->w, m->c, cand, &m->res) != 0) {
			m->server_gone = true;
			return false;
		}
		/* a crash is a finding of its own: a candidate that crashes shows no hang */
		if (m->oracle != OR_CRASH && m->w.crash.crashed)
			return false;
	} else {
		if (m->oracle == OR_CRASH && !wait_alive(m)) {
			m->server_gone = true;
			return false;
		}
		mh_dlg_exec(cand, &m->c->target, &m->c->xo, &m->res);
	}
	bool yes = shows(m);
	if (m->verbose)
		fprintf(stderr, "minimize: %zu records, %zu bytes: %s%s\n", cand->n,
		        mh_dialogue_bytes(cand), mh_dlg_outcome_name(m->res.outcome),
		        yes ? " (still shows it)" : "");
	return yes;
}

int mh_cli_minimize(int argc, char **argv)
{
	enum { O_PWFILE = 256, O_TIMEOUT, O_ORACLE, O_TRIES, O_WAIT, O_SLOG };
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"exec", required_argument, NULL, 'x'},
	    {"server-log", required_argument, NULL, O_SLOG},
	    {"user", required_argument, NULL, 'u'},
	    {"password-file", required_argument, NULL, O_PWFILE},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"oracle", required_argument, NULL, O_ORACLE},
	    {"output", required_argument, NULL, 'o'},
	    {"max-tries", required_argument, NULL, O_TRIES},
	    {"restart-wait", required_argument, NULL, O_WAIT},
	    {"insecure", no_argument, NULL, 'k'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct common c;
	memset(&c, 0, sizeof(c));
	c.timeout = 5000;
	struct mini m;
	memset(&m, 0, sizeof(m));
	m.c = &c;
	m.oracle = OR_COUNT;
	m.restart_wait = 10000;
	long tries = 1000;
	const char *output = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "t:x:u:o:kvh", opts, NULL)) != -1) {
		switch (ch) {
		case 't': c.url = optarg; break;
		case 'x': c.exec = optarg; break;
		case O_SLOG: c.server_log = optarg; break;
		case 'u': c.user = optarg; break;
		case O_PWFILE: c.pwfile = optarg; break;
		case 'o': output = optarg; break;
		case O_TIMEOUT:
			if (parse_ms("--timeout", optarg, 3600000, &c.timeout) != 0)
				return EXIT_USAGE;
			break;
		case O_TRIES:
			if (parse_ms("--max-tries", optarg, 10000000, &tries) != 0)
				return EXIT_USAGE;
			break;
		case O_WAIT:
			if (parse_ms("--restart-wait", optarg, 3600000, &m.restart_wait) != 0)
				return EXIT_USAGE;
			break;
		case O_ORACLE:
			for (int i = 0; i < OR_COUNT; i++)
				if (strcmp(optarg, oracle_names[i]) == 0)
					m.oracle = (enum oracle)i;
			if (m.oracle == OR_COUNT) {
				fprintf(
				    stderr,
				    "mailharness minimize: unknown oracle '%s' (hang, disconnect, "
				    "violation, crash)\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'k': c.insecure = true; break;
		case 'v': m.verbose = true; break;
		case 'h': fputs(usage_minimize, stdout); return EXIT_OK;
		default: fputs(usage_minimize, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || m.oracle == OR_COUNT) {
		fprintf(stderr, "mailharness minimize: FILE and --oracle are required\n\n%s",
		        usage_minimize);
		return EXIT_USAGE;
	}
	c.file = argv[optind];
	int status = EXIT_USAGE;
	mh_dlg_result_init(&m.res);
	if (common_setup(&c, true) != 0)
		goto out;
	if (c.exec != NULL) {
		m.watching = true;
		if (watch_start(&c, 200, &m.w) != 0)
			goto out;
	}
	bool orig = mini_oracle(&m, &c.d);
	if (!orig) {
		fprintf(stderr, "mailharness minimize: %s does not show a %s (outcome %s%s%s)\n",
		        c.file, oracle_names[m.oracle], mh_dlg_outcome_name(m.res.outcome),
		        m.res.nviolations ? ", violation: " : "",
		        m.res.nviolations ? m.res.violation[0] : "");
		goto out;
	}
	if (m.oracle == OR_VIOLATION)
		snprintf(m.signature, sizeof(m.signature), "%s", m.res.violation[0]);
	if (m.oracle == OR_CRASH && m.watching) {
		m.sig = m.w.crash.sig;
		snprintf(m.kind, sizeof(m.kind), "%s", m.w.crash.kind);
		snprintf(m.hash, sizeof(m.hash), "%s", m.w.crash.stack_hash);
		fprintf(stderr, "minimize: the original run: %s\n", m.w.crash.summary);
	}
	struct mh_minimize_stats st;
	mh_minimize(&c.d, mini_oracle, &m, (size_t)tries, &st);
	if (m.server_gone) {
		if (!m.watching)
			fprintf(stderr,
			        "mailharness minimize: the server did not come back within %ld ms "
			        "after a crash; the crash oracle needs a server that is restarted "
			        "(--exec, or a supervisor of your own)\n",
			        m.restart_wait);
		goto out;
	}
	fprintf(stderr, "minimized: %zu -> %zu records, %zu -> %zu bytes in %zu runs\n",
	        st.msgs_before, st.msgs_after, st.bytes_before, st.bytes_after, st.tries);
	struct mh_error err;
	mh_error_init(&err);
	if (output != NULL) {
		if (mh_dialogue_save(output, &c.d, &err) != 0) {
			fprintf(stderr, "mailharness minimize: %s\n", err.msg);
			goto out;
		}
	} else {
		struct mh_buf b;
		mh_buf_init(&b);
		mh_dialogue_format(&c.d, &b);
		fwrite(b.data, 1, b.len, stdout);
		mh_buf_deinit(&b);
	}
	status = EXIT_OK;
out:
	if (m.watching)
		watch_stop(&m.w);
	mh_dlg_result_deinit(&m.res);
	common_deinit(&c);
	return status;
}

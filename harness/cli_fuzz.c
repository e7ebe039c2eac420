/* cli_fuzz.c: `mailharness fuzz`: options, the loopback guard (checked before anything touches
   the network), one worker in this process or --jobs N forked workers sharing the campaign
   directory, the status screen or status lines, SIGINT/SIGTERM, the exit status. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_FOUND = 3 };
#define JOBS_MAX     64
#define EVENTS_SHOWN 5

static const char usage_fuzz[] =
    "Usage: mailharness fuzz --target URL --out DIR [OPTIONS]\n"
    "\n"
    "Mutates dialogues (seeds: corpus/<proto>/, --seeds DIR or a recorded --suite) and runs\n"
    "them against the server, which it starts with --exec and watches (crashes of any of its\n"
    "processes, sanitizer reports) or, without --exec, attaches to (a crash is the port going\n"
    "dead). Keeps crashes, hangs, disconnects and spec violations, minimized, in the AFL++\n"
    "layout DIR/<worker>/{queue,crashes,hangs,violations}/ with fuzzer_stats and plot_data.\n"
    "The same --out resumes the campaign. docs/FUZZING.md explains everything.\n"
    "\n"
    "Options:\n"
    "  -t, --target URL        the server (smtp://127.0.0.1:10025, imap://..., pop3://...);\n"
    "                          loopback only unless --allow-remote\n"
    "  -o, --out DIR           campaign directory (created; resumed if it exists)\n"
    "  -x, --exec CMD          start the server with /bin/sh -c CMD (in the foreground), restart\n"
    "                          it after crashes and hangs; {port} in CMD is replaced by the\n"
    "                          worker's port (needed with --jobs > 1)\n"
    "      --suite DIR|FILE    record this Lua suite's dialogues as seeds first\n"
    "      --seeds DIR         seed dialogues (*.dlg); default: corpus/<proto>/\n"
    "      --time S            stop after S seconds\n"
    "      --runs N            stop after N fuzzed dialogues (per worker)\n"
    "  -j, --jobs N            N workers w0..wN-1 sharing DIR (each its own server and port)\n"
    "      --name PREFIX       worker names PREFIX-w0...: unique names per machine when several\n"
    "                          machines sync one campaign (docs/FUZZING.md)\n"
    "      --seed N            PRNG seed (default: time); the same seed makes the same first\n"
    "                          choices; server timing (hangs, restarts) can vary the run\n"
    "      --coverage afl      read AFL++ edge coverage of a server built with afl-clang-fast\n"
    "      --forkserver        a fresh server process per dialogue through the AFL++ forkserver\n"
    "                          (afl-clang-fast build calling __AFL_INIT() after listen())\n"
    "      --dict FILE         AFL dictionary: tokens used as arguments\n"
    "      --timeout MS        budget per due reply: the hang oracle (default 1000); a new\n"
    "                          hang is kept only if it hangs again with 4x (at least 2 s)\n"
    "      --restart-every N   restart the server every N dialogues (default never)\n"
    "  -u, --user NAME         value of ${USER} / ${SASL_PLAIN} placeholders in seeds\n"
    "      --password-file F   value of ${PASSWORD}... (or MAILHARNESS_PASSWORD)\n"
    "      --allow-remote      allow a target outside loopback (only fuzz servers you own)\n"
    "      --no-minimize       save findings as found, without minimizing them\n"
    "      --sync-every S      import the other workers' queues every S seconds (default 30)\n"
    "  -h, --help              this help\n"
    "\n"
    "Each finding runs again with `mailharness replay FILE --target URL --exec CMD` (the same\n"
    "CMD: a crash of a per-connection process is seen only by a supervisor).\n"
    "\n"
    "Exit status: 0 no new crash or hang, 3 a new crash or hang was found and saved, 2 usage\n"
    "or infrastructure error (the server cannot be started or reached, DIR not writable).\n";

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t got_signal;

static void on_stop(int sig)
{
	stop_flag = 1;
	got_signal = sig;
}

struct ui {
	bool tty;
	bool screen_started;
	int64_t last_line_ms;
	char events[EVENTS_SHOWN][200];
	size_t nevents;
	const char *prefix;
	struct mh_buf buf;
};

static void ui_status(void *ud, const struct mh_fuzz_status *st)
{
	struct ui *u = ud;
	mh_buf_reset(&u->buf);
	if (u->tty) {
		if (!u->screen_started) {
			fputs("\033[?25l\033[2J", stdout);
			u->screen_started = true;
		}
		mh_fuzz_status_screen(st, &u->buf);
		/* the last events below the screen (the screen repaints from the top) */
		if (u->nevents > 0) {
			size_t at =
			    u->buf.len >= 3 ? u->buf.len - 3 : u->buf.len; /* before \033[J */
			struct mh_buf tail;
			mh_buf_init(&tail);
			mh_buf_append_str(&tail, "  events:\033[K\n");
			for (size_t i = 0; i < u->nevents; i++)
				mh_buf_printf(&tail, "    %.90s\033[K\n", u->events[i]);
			u->buf.len = at;
			mh_buf_append(&u->buf, tail.data, tail.len);
			mh_buf_append_str(&u->buf, "\033[J");
			mh_buf_deinit(&tail);
		}
		fwrite(u->buf.data, 1, u->buf.len, stdout);
		fflush(stdout);
	} else {
		mh_fuzz_status_line(st, &u->buf);
		fwrite(u->buf.data, 1, u->buf.len, stderr);
	}
}

static void ui_event(void *ud, const char *line)
{
	struct ui *u = ud;
	if (u->tty) {
		if (u->nevents == EVENTS_SHOWN) {
			memmove(u->events[0], u->events[1],
			        sizeof(u->events[0]) * (EVENTS_SHOWN - 1));
			u->nevents--;
		}
		snprintf(u->events[u->nevents++], sizeof(u->events[0]), "%s", line);
	} else {
		fprintf(stderr, "%s%s\n", u->prefix ? u->prefix : "", line);
	}
}

static void ui_end(struct ui *u)
{
	if (u->tty && u->screen_started) {
		fputs("\033[?25h\n", stdout);
		fflush(stdout);
	}
	mh_buf_deinit(&u->buf);
}

static int parse_num(const char *opt, const char *s, unsigned long long min, unsigned long long max,
                     unsigned long long *v)
{
	if (mh_parse_uint(s, min, max, v) != 0) {
		fprintf(stderr,
		        "mailharness fuzz: %s expects a number from %llu to %llu, got '%s'\n", opt,
		        min, max, s);
		return -1;
	}
	return 0;
}

/* cmd with every "{port}" replaced by port (a new string). */
static void summary(const char *who, const struct mh_fuzz_status *st, const char *out)
{
	char up[32];
	int64_t s = st->uptime_ms / 1000;
	snprintf(up, sizeof(up), "%lld:%02lld:%02lld", (long long)(s / 3600),
	         (long long)(s / 60 % 60), (long long)(s % 60));
	fprintf(stderr,
	        "mailharness fuzz: %s%s%llu dialogues in %s (%.1f/s); new: %zu crashes, %zu hangs, "
	        "%zu violations, %zu disconnects (saved in all: %zu, %zu, %zu, %zu); %s\n",
	        who ? who : "", who ? ": " : "", (unsigned long long)st->execs, up, st->rate_avg,
	        st->new_crashes, st->new_hangs, st->new_violations, st->new_disconnects,
	        st->crashes, st->hangs, st->violations, st->disconnects, out);
}

/* One worker in this process. Returns the exit status. */
static int run_worker(struct mh_fuzz_opts *o, bool tty, const char *prefix)
{
	struct ui u;
	memset(&u, 0, sizeof(u));
	u.tty = tty;
	u.prefix = prefix;
	mh_buf_init(&u.buf);
	o->on_status = ui_status;
	o->on_event = ui_event;
	o->ud = &u;
	o->status_every_ms = tty ? 250 : 10000;
	struct mh_fuzz_status st;
	memset(&st, 0, sizeof(st));
	struct mh_error err;
	mh_error_init(&err);
	int rc = mh_fuzz_run(o, &st, &err);
	ui_end(&u);
	for (size_t i = 0; tty && i < u.nevents; i++)
		fprintf(stderr, "%s\n", u.events[i]);
	if (st.done)
		summary(o->worker, &st, o->out_dir);
	if (rc != 0) {
		fprintf(stderr, "mailharness fuzz: %s%s%s\n", prefix ? prefix : "", err.msg,
		        st.new_crashes + st.new_hangs > 0 ? " (after saving new findings)" : "");
		return st.new_crashes + st.new_hangs > 0 ? EXIT_FOUND : EXIT_USAGE;
	}
	return st.new_crashes + st.new_hangs > 0 ? EXIT_FOUND : EXIT_OK;
}

/* --jobs N: N forked workers, the parent shows the combined status and forwards signals. */
static int run_jobs(struct mh_fuzz_opts *base, unsigned jobs, const char *exec_tmpl,
                    const char *name, bool tty)
{
	pid_t pids[JOBS_MAX];
	char names[JOBS_MAX][96];
	for (unsigned i = 0; i < jobs; i++) {
		snprintf(names[i], sizeof(names[i]), "%s%sw%u", name ? name : "", name ? "-" : "",
		         i);
		pids[i] = fork();
		if (pids[i] < 0) {
			fprintf(stderr, "mailharness fuzz: fork: %s\n", strerror(errno));
			for (unsigned k = 0; k < i; k++)
				kill(pids[k], SIGTERM);
			return EXIT_USAGE;
		}
		if (pids[i] == 0) {
			struct mh_fuzz_opts o = *base;
			o.worker = names[i];
			/* own servers on their own ports; attached workers share the one server */
			mh_url_set_port(&o.target,
			                base->target.port + (exec_tmpl != NULL ? (int)i : 0));
			char *cmd = exec_tmpl ? mh_cli_port_subst(exec_tmpl, o.target.port) : NULL;
			o.exec_cmd = cmd;
			char prefix[120];
			snprintf(prefix, sizeof(prefix), "[%.90s] ", names[i]);
			int rc = run_worker(&o, false, prefix);
			free(cmd);
			_exit(rc);
		}
	}
	struct ui u;
	memset(&u, 0, sizeof(u));
	u.tty = tty;
	mh_buf_init(&u.buf);
	int codes[JOBS_MAX];
	unsigned left = jobs;
	int64_t next = 0;
	bool forwarded = false;
	while (left > 0) {
		if (stop_flag && !forwarded) {
			for (unsigned i = 0; i < jobs; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			forwarded = true;
		}
		int status;
		pid_t p = waitpid(-1, &status, WNOHANG);
		for (unsigned i = 0; p > 0 && i < jobs; i++) {
			if (pids[i] != p)
				continue;
			codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_USAGE;
			pids[i] = 0;
			left--;
		}
		if (p > 0)
			continue;
		int64_t now = mh_now_ms();
		if (now >= next) {
			struct mh_fuzz_status st;
			memset(&st, 0, sizeof(st));
			size_t n = mh_fuzz_status_from_stats(base->out_dir, &st);
			char who[64];
			snprintf(who, sizeof(who), "%zu workers", n);
			st.worker = who;
			st.target = base->target.url;
			st.mode = "jobs";
			st.last_finding_ago_ms = -1;
			ui_status(&u, &st);
			next = now + (tty ? 250 : 10000);
		}
		struct timespec ts = {0, 50 * 1000000};
		nanosleep(&ts, NULL);
	}
	ui_end(&u);
	int rc = EXIT_OK;
	for (unsigned i = 0; i < jobs; i++) {
		if (codes[i] == EXIT_FOUND)
			rc = EXIT_FOUND;
		else if (codes[i] != EXIT_OK && rc == EXIT_OK)
			rc = EXIT_USAGE;
	}
	return rc;
}

int mh_cli_fuzz(int argc, char **argv)
{
	enum {
		O_SUITE = 256,
		O_SEEDS,
		O_TIME,
		O_RUNS,
		O_SEED,
		O_COVERAGE,
		O_FORKSERVER,
		O_DICT,
		O_REMOTE,
		O_TIMEOUT,
		O_RESTART,
		O_PWFILE,
		O_NAME,
		O_NOMIN,
		O_SYNC
	};
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'},
	    {"exec", required_argument, NULL, 'x'},
	    {"suite", required_argument, NULL, O_SUITE},
	    {"seeds", required_argument, NULL, O_SEEDS},
	    {"time", required_argument, NULL, O_TIME},
	    {"runs", required_argument, NULL, O_RUNS},
	    {"jobs", required_argument, NULL, 'j'},
	    {"name", required_argument, NULL, O_NAME},
	    {"seed", required_argument, NULL, O_SEED},
	    {"coverage", required_argument, NULL, O_COVERAGE},
	    {"forkserver", no_argument, NULL, O_FORKSERVER},
	    {"dict", required_argument, NULL, O_DICT},
	    {"allow-remote", no_argument, NULL, O_REMOTE},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"restart-every", required_argument, NULL, O_RESTART},
	    {"user", required_argument, NULL, 'u'},
	    {"password-file", required_argument, NULL, O_PWFILE},
	    {"no-minimize", no_argument, NULL, O_NOMIN},
	    {"sync-every", required_argument, NULL, O_SYNC},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *out = NULL, *exec_cmd = NULL, *suite = NULL, *seeds = NULL;
	const char *dict = NULL, *user = NULL, *pwfile = NULL, *name = NULL;
	unsigned long long time_s = 0, runs = 0, jobs = 1, seed = 0, timeout = 1000, restart = 0,
	                   sync_s = 30;
	bool have_seed = false, coverage = false, forkserver = false, remote = false,
	     minimize = true;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:o:x:j:u:h", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 't': url = optarg; break;
		case 'o': out = optarg; break;
		case 'x': exec_cmd = optarg; break;
		case O_SUITE: suite = optarg; break;
		case O_SEEDS: seeds = optarg; break;
		case O_TIME: bad = parse_num("--time", optarg, 1, 100000000, &time_s); break;
		case O_RUNS: bad = parse_num("--runs", optarg, 1, 1000000000000ull, &runs); break;
		case 'j': bad = parse_num("--jobs", optarg, 1, JOBS_MAX, &jobs); break;
		case O_NAME: name = optarg; break;
		case O_SEED:
			bad = parse_num("--seed", optarg, 0, UINT64_MAX, &seed);
			have_seed = true;
			break;
		case O_COVERAGE:
			if (strcmp(optarg, "afl") != 0) {
				fprintf(stderr,
				        "mailharness fuzz: --coverage: only 'afl' is known\n");
				bad = -1;
			}
			coverage = true;
			break;
		case O_FORKSERVER: forkserver = true; break;
		case O_DICT: dict = optarg; break;
		case O_REMOTE: remote = true; break;
		case O_TIMEOUT: bad = parse_num("--timeout", optarg, 10, 600000, &timeout); break;
		case O_RESTART:
			bad = parse_num("--restart-every", optarg, 1, 1u << 30, &restart);
			break;
		case 'u': user = optarg; break;
		case O_PWFILE: pwfile = optarg; break;
		case O_NOMIN: minimize = false; break;
		case O_SYNC: bad = parse_num("--sync-every", optarg, 1, 86400, &sync_s); break;
		case 'h': fputs(usage_fuzz, stdout); return EXIT_OK;
		default: fputs(usage_fuzz, stderr); return EXIT_USAGE;
		}
		if (bad != 0)
			return EXIT_USAGE;
	}
	if (optind != argc || url == NULL || out == NULL) {
		fprintf(stderr, "mailharness fuzz: %s\n\n%s",
		        optind != argc ? "unexpected argument" : "--target and --out are required",
		        usage_fuzz);
		return EXIT_USAGE;
	}
	struct mh_target target;
	struct mh_error err;
	mh_error_init(&err);
	if (mh_url_parse(url, &target, &err) != 0) {
		fprintf(stderr, "mailharness fuzz: --target: %s\n", err.msg);
		return EXIT_USAGE;
	}
	/* the guard comes before anything that could open a connection */
	if (!mh_url_is_loopback(target.host) && !remote) {
		fprintf(stderr,
		        "mailharness fuzz: refusing to fuzz %s: not a loopback address "
		        "(fuzz only servers you run; --allow-remote overrides)\n",
		        target.host);
		return EXIT_USAGE;
	}
	const char *conflict = suite && seeds            ? "--suite and --seeds"
	                       : time_s && runs          ? "--time and --runs"
	                       : forkserver && !exec_cmd ? "--forkserver without --exec"
	                       : coverage && !exec_cmd   ? "--coverage afl without --exec"
	                       : exec_cmd && !mh_url_is_loopback(target.host)
	                           ? "--exec with a remote target"
	                       : jobs > 1 && exec_cmd && !strstr(exec_cmd, "{port}")
	                           ? "--jobs N with an --exec command without {port}"
	                           : NULL;
	if (conflict != NULL) {
		fprintf(stderr, "mailharness fuzz: cannot combine %s\n", conflict);
		return EXIT_USAGE;
	}
	if (mkdir(out, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "mailharness fuzz: --out %s: %s\n", out, strerror(errno));
		return EXIT_USAGE;
	}
	bool pw_failed = false;
	char *password = mh_cli_read_password(pwfile, &pw_failed);
	if (pw_failed)
		return EXIT_USAGE;
	struct mh_buf cmdline;
	mh_buf_init(&cmdline);
	for (int i = 0; i < argc; i++)
		mh_buf_printf(&cmdline, "%s%s", i ? " " : "mailharness ", argv[i]);
	struct mh_fuzz_opts o;
	memset(&o, 0, sizeof(o));
	o.target = target;
	o.out_dir = out;
	o.seeds_dir = seeds;
	o.suite = suite;
	o.datadir = mh_cli_datadir();
	o.time_s = (int64_t)time_s;
	o.runs = runs;
	o.seed = have_seed ? seed : (uint64_t)mh_wall_ms() ^ ((uint64_t)getpid() << 32);
	o.coverage_afl = coverage;
	o.forkserver = forkserver;
	o.dict = dict;
	o.timeout_ms = (int64_t)timeout;
	o.restart_every = (unsigned)restart;
	o.user = user;
	o.password = password;
	o.sync_every_s = (unsigned)sync_s;
	o.minimize = minimize;
	o.stop = &stop_flag;
	o.command_line = mh_buf_cstr(&cmdline);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bool tty =
	    isatty(STDOUT_FILENO) && getenv("TERM") != NULL && strcmp(getenv("TERM"), "dumb");
	int rc;
	if (jobs == 1) {
		char wname[96];
		snprintf(wname, sizeof(wname), "%s%sw0", name ? name : "", name ? "-" : "");
		o.worker = wname;
		char *cmd = exec_cmd ? mh_cli_port_subst(exec_cmd, target.port) : NULL;
		o.exec_cmd = cmd;
		rc = run_worker(&o, tty, NULL);
		free(cmd);
	} else {
		rc = run_jobs(&o, (unsigned)jobs, exec_cmd, name, tty);
	}
	if (got_signal != 0)
		fprintf(stderr, "mailharness fuzz: stopped by signal %d; stats written\n",
		        (int)got_signal);
	free(password);
	mh_buf_deinit(&cmdline);
	return rc;
}

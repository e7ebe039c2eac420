/* main.c: the command line: run, list, spec, help and version. The only module besides the
   report writers that talks to the user. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "cli.h"
#include "console.h"
#include "report.h"
#include "runner.h"
#include "spec.h"
#include "suites_doc.h"

#ifndef MH_VERSION
#define MH_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const char usage_main[] =
    "Usage: mailharness COMMAND [OPTIONS]\n"
    "\n"
    "Conformance test harness for SMTP, IMAP and POP3 servers.\n"
    "\n"
    "Commands:\n"
    "  run     run conformance suites against one or more servers\n"
    "  list    list the cases of the suites\n"
    "  spec    print a protocol's command table (states, commands, permitted replies)\n"
    "  compare print a case x server verdict matrix of several JSON reports\n"
    "  replay  run a recorded dialogue or fuzz finding again; --to-lua makes it a test case\n"
    "  minimize  shrink a dialogue that shows a finding (hang, disconnect, violation, crash)\n"
    "  fuzz    mutate dialogues against a supervised server; keep crashes, hangs, violations\n"
    "\n"
    "Options:\n"
    "  -h, --help     show help (also: mailharness COMMAND --help)\n"
    "  -V, --version  show the version\n"
    "\n"
    "Exit status: 0 all required checks passed, 1 conformance failures, 2 usage or\n"
    "infrastructure error (bad option, unreachable server, a case ended in ERROR).\n";

static const char usage_run[] =
    "Usage: mailharness run --target URL [--target URL ...] [OPTIONS]\n"
    "\n"
    "Runs the suites against each target and judges every reply against the RFC tables.\n"
    "URL schemes: smtp, submission, smtps, submissions, imap, imaps, pop3, pop3s;\n"
    "append ?starttls to upgrade with STARTTLS/STLS before the suite, e.g.\n"
    "imap://127.0.0.1:143?starttls.\n"
    "\n"
    "Options:\n"
    "  -t, --target URL        server to test (repeatable)\n"
    "  -s, --suite DIR|FILE    Lua suite directory or file (repeatable; default: the shipped\n"
    "                          suite of each target's protocol)\n"
    "  -u, --user NAME         login name for cases that authenticate\n"
    "      --password-file F   read the password from F (first line); or set\n"
    "                          MAILHARNESS_PASSWORD. Passwords never appear in output.\n"
    "  -r, --report FILE.json  write the JSON report (schema: reports/schema.json)\n"
    "  -j, --junit FILE.xml    write a JUnit XML report\n"
    "  -b, --baseline FILE     known failures: listed FAILs become XFAIL\n"
    "      --write-baseline F  write a baseline listing this run's FAILs\n"
    "  -f, --filter GLOB       only cases whose id matches (e.g. 'smtp.rcpt.*')\n"
    "      --profile NAME      server role: smtp mx (default; submission:// targets:\n"
    "                          submission) or submission, imap rev1 (default) or rev2;\n"
    "                          NAME,NAME for SMTP and IMAP targets. Selects the cases of\n"
    "                          that role; scripts see it as t.profile\n"
    "  -p, --param KEY=VALUE   parameter for the scripts (repeatable), e.g. "
    "rcpt=alice@example.test\n"
    "  -J, --jobs N            run N cases in parallel (default 1)\n"
    "      --timeout MS        per network operation (default 10000)\n"
    "      --case-timeout MS   per case (default 60000)\n"
    "  -k, --insecure          do not verify TLS certificates\n"
    "      --tls-verify        verify certificates on loopback hosts too (by default only\n"
    "                          non-loopback hosts are verified)\n"
    "      --ca-file FILE      trust the CA certificates in FILE\n"
    "      --allow-destructive run cases that delete data (e.g. POP3 DELE then QUIT)\n"
    "      --strict            SHOULD-level failures also give exit status 1\n"
    "  -v, --verbose           print every check and the transcript of each case\n"
    "      --no-color          no colours (also when NO_COLOR is set or not a terminal)\n"
    "      --record DIR        save every connection of every case as a dialogue file\n"
    "                          DIR/<case>.<conn>.dlg (fuzz seeds; docs/FUZZING.md)\n"
    "  -h, --help              this help\n";

static const char usage_list[] =
    "Usage: mailharness list [--suite DIR|FILE ...] [--proto smtp|imap|pop3] [--filter GLOB]\n"
    "                        [--markdown]\n"
    "\n"
    "Lists the cases of the suites: id, protocol, level, RFC section and title.\n"
    "  --markdown   Markdown: counts, then a table per protocol (docs/SUITES.md is made\n"
    "               with it: ci/gen-docs.sh)\n";

static const char usage_spec[] =
    "Usage: mailharness spec smtp|imap|pop3 [--file SPEC.json]\n"
    "       mailharness spec smtp|imap|pop3 --matrix [--report R.json ...] [--markdown]\n"
    "\n"
    "Prints the command table: states, the commands allowed in each, the replies the RFC\n"
    "permits and the next state, with the RFC section and requirement level.\n"
    "\n"
    "  --matrix         the state x command coverage matrix instead: rows are the states that\n"
    "                   read commands (without those marked \"matrix\": false), columns the\n"
    "                   commands; core cells (commands without a capability gate) and\n"
    "                   extension cells are counted apart. Each cell: allowed or refused there\n"
    "  --report R.json  with --matrix: the cases of this report's coverage that covered each\n"
    "                   cell (repeatable; the reports are merged), and the totals\n"
    "  --markdown       with --matrix: Markdown tables\n"
    "  --file SPEC.json another spec file than the shipped one\n";

struct cli_console {
	struct mh_console con;
};

static void on_start(void *ud, const struct mh_case_result *c, size_t started, size_t total)
{
	struct cli_console *cc = ud;
	mh_console_progress(&cc->con, started, total, c->id);
}

static void on_done(void *ud, const struct mh_run *run, const struct mh_case_result *c, size_t done,
                    size_t total)
{
	struct cli_console *cc = ud;
	mh_console_case(&cc->con, run, c, done, total);
}

static int parse_long(const char *opt, const char *s, long min, long max, long *out)
{
	unsigned long long v;
	if (mh_parse_uint(s, (unsigned long long)min, (unsigned long long)max, &v) != 0) {
		fprintf(stderr, "mailharness: %s expects a number from %ld to %ld, got '%s'\n", opt,
		        min, max, s);
		return -1;
	}
	*out = (long)v;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	enum {
		O_PWFILE = 256,
		O_WRITE_BASELINE,
		O_PROFILE,
		O_TIMEOUT,
		O_CASE_TIMEOUT,
		O_CA,
		O_DESTRUCTIVE,
		O_STRICT,
		O_NOCOLOR,
		O_TLS_VERIFY,
		O_RECORD
	};
	static const struct option opts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"suite", required_argument, NULL, 's'},
	    {"user", required_argument, NULL, 'u'},
	    {"password-file", required_argument, NULL, O_PWFILE},
	    {"report", required_argument, NULL, 'r'},
	    {"junit", required_argument, NULL, 'j'},
	    {"baseline", required_argument, NULL, 'b'},
	    {"write-baseline", required_argument, NULL, O_WRITE_BASELINE},
	    {"filter", required_argument, NULL, 'f'},
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"param", required_argument, NULL, 'p'},
	    {"jobs", required_argument, NULL, 'J'},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"case-timeout", required_argument, NULL, O_CASE_TIMEOUT},
	    {"insecure", no_argument, NULL, 'k'},
	    {"ca-file", required_argument, NULL, O_CA},
	    {"tls-verify", no_argument, NULL, O_TLS_VERIFY},
	    {"allow-destructive", no_argument, NULL, O_DESTRUCTIVE},
	    {"strict", no_argument, NULL, O_STRICT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"no-color", no_argument, NULL, O_NOCOLOR},
	    {"record", required_argument, NULL, O_RECORD},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct mh_run_opts o;
	memset(&o, 0, sizeof(o));
	struct mh_record_stats rec_stats;
	memset(&rec_stats, 0, sizeof(rec_stats));
	o.jobs = 1;
	o.timeout_ms = 10000;
	o.case_timeout_ms = 60000;
	const char **targets = mh_calloc((size_t)argc + 1, sizeof(char *));
	const char **suites = mh_calloc((size_t)argc + 1, sizeof(char *));
	const char **params = mh_calloc((size_t)argc + 1, sizeof(char *));
	size_t nparams = 0;
	const char *pwfile = NULL, *report = NULL, *junit = NULL, *baseline = NULL,
	           *write_bl = NULL;
	bool strict = false, nocolor = false;
	int status = EXIT_USAGE;
	char *password = NULL;
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "t:s:u:r:j:b:f:p:J:kvh", opts, NULL)) != -1) {
		switch (c) {
		case 't': targets[o.ntargets++] = optarg; break;
		case 's': suites[o.nsuites++] = optarg; break;
		case 'u': o.user = optarg; break;
		case O_PWFILE: pwfile = optarg; break;
		case 'r': report = optarg; break;
		case 'j': junit = optarg; break;
		case 'b': baseline = optarg; break;
		case O_WRITE_BASELINE: write_bl = optarg; break;
		case 'f': o.filter = optarg; break;
		case O_PROFILE: o.profile = optarg; break;
		case 'p':
			if (strchr(optarg, '=') == NULL) {
				fprintf(stderr,
				        "mailharness: --param expects KEY=VALUE, got '%s'\n",
				        optarg);
				goto out;
			}
			params[nparams++] = optarg;
			break;
		case 'J':
			if (parse_long("--jobs", optarg, 1, 64, &v) != 0)
				goto out;
			o.jobs = (int)v;
			break;
		case O_TIMEOUT:
			if (parse_long("--timeout", optarg, 1, 3600000, &v) != 0)
				goto out;
			o.timeout_ms = v;
			break;
		case O_CASE_TIMEOUT:
			if (parse_long("--case-timeout", optarg, 1, 86400000, &v) != 0)
				goto out;
			o.case_timeout_ms = v;
			break;
		case 'k': o.insecure = true; break;
		case O_CA: o.ca_file = optarg; break;
		case O_TLS_VERIFY: o.verify_loopback = true; break;
		case O_DESTRUCTIVE: o.allow_destructive = true; break;
		case O_STRICT: strict = true; break;
		case 'v': o.verbose = true; break;
		case O_NOCOLOR: nocolor = true; break;
		case O_RECORD:
			if (mkdir(optarg, 0755) != 0 && errno != EEXIST) {
				fprintf(stderr, "mailharness: --record %s: %s\n", optarg,
				        strerror(errno));
				goto out;
			}
			o.record_dir = optarg;
			o.record_stats = &rec_stats;
			break;
		case 'h':
			fputs(usage_run, stdout);
			status = EXIT_OK;
			goto out;
		default: fputs(usage_run, stderr); goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mailharness run: unexpected argument '%s'\n%s", argv[optind],
		        usage_run);
		goto out;
	}
	if (o.ntargets == 0) {
		fprintf(stderr, "mailharness run: at least one --target URL is required\n\n%s",
		        usage_run);
		goto out;
	}
	if (pwfile != NULL || getenv("MAILHARNESS_PASSWORD") != NULL) {
		bool failed = false;
		password = mh_cli_read_password(pwfile, &failed);
		if (failed)
			goto out;
	}
	struct mh_baseline *bl = NULL;
	struct mh_error err;
	mh_error_init(&err);
	if (baseline != NULL && (bl = mh_baseline_load(baseline, &err)) == NULL) {
		fprintf(stderr, "mailharness: baseline: %s\n", err.msg);
		goto out;
	}
	o.targets = targets;
	o.suites = suites;
	o.params = params;
	o.password = password;
	o.datadir = mh_cli_datadir();
	o.stop = &stop_flag;
	o.baseline = bl;

	struct cli_console cc;
	bool tty = isatty(fileno(stdout));
	mh_console_init(&cc.con, stdout, !nocolor && mh_console_want_color(stdout), o.verbose, tty);
	o.on_case_start = on_start;
	o.on_case_done = on_done;
	o.ud = &cc;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct mh_run run;
	mh_run_init(&run);
	run.tool_version = mh_strdup(MH_VERSION);
	run.baseline_path = mh_strdup(baseline);
	run.start_wall_ms = mh_wall_ms();
	if (mh_runner_run(&o, &run, &err) != 0) {
		fprintf(stderr, "mailharness: %s\n", err.msg);
		mh_run_deinit(&run);
		mh_baseline_free(&bl);
		goto out;
	}
	run.end_wall_ms = mh_wall_ms();
	mh_console_clear_progress(&cc.con);
	for (size_t i = 0; i < run.ntargets; i++)
		if (run.targets[i].probe_error != NULL)
			fprintf(stderr, "mailharness: %s: %s\n", run.targets[i].url,
			        run.targets[i].probe_error);
	if (bl != NULL)
		mh_baseline_apply(bl, &run);
	status = mh_run_exit_status(&run, strict);
	if (stop_flag)
		status = EXIT_USAGE;
	mh_console_summary(&cc.con, &run);
	if (report != NULL && mh_report_json_write(&run, report, status, &err) != 0) {
		fprintf(stderr, "mailharness: report: %s\n", err.msg);
		status = EXIT_USAGE;
	}
	mh_error_init(&err);
	if (junit != NULL && mh_report_junit_write(&run, junit, &err) != 0) {
		fprintf(stderr, "mailharness: junit: %s\n", err.msg);
		status = EXIT_USAGE;
	}
	mh_error_init(&err);
	if (write_bl != NULL && mh_baseline_write(&run, write_bl, &err) != 0) {
		fprintf(stderr, "mailharness: write-baseline: %s\n", err.msg);
		status = EXIT_USAGE;
	}
	if (o.record_dir != NULL)
		fprintf(stderr, "mailharness: recorded %zu dialogue(s) into %s%s\n",
		        rec_stats.saved, o.record_dir,
		        rec_stats.unsafe ? " (connections carrying the password in a form "
		                           "without a placeholder were not saved)"
		                         : "");
	if (rec_stats.failed) {
		fprintf(stderr, "mailharness: --record: %s\n", rec_stats.error);
		status = EXIT_USAGE;
	}
	if (stop_flag)
		fprintf(stderr, "mailharness: interrupted; %zu case(s) ran\n", run.ncases);
	mh_run_deinit(&run);
	mh_baseline_free(&bl);
out:
	free(targets);
	free(suites);
	free(params);
	free(password);
	return status;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"suite", required_argument, NULL, 's'},  {"proto", required_argument, NULL, 'P'},
	    {"filter", required_argument, NULL, 'f'}, {"markdown", no_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct mh_run_opts o;
	memset(&o, 0, sizeof(o));
	const char **suites = mh_calloc((size_t)argc + 1, sizeof(char *));
	const char *proto = NULL;
	bool markdown = false;
	int status = EXIT_USAGE, c;
	while ((c = getopt_long(argc, argv, "s:P:f:mh", opts, NULL)) != -1) {
		switch (c) {
		case 's': suites[o.nsuites++] = optarg; break;
		case 'P': proto = optarg; break;
		case 'f': o.filter = optarg; break;
		case 'm': markdown = true; break;
		case 'h':
			fputs(usage_list, stdout);
			free(suites);
			return EXIT_OK;
		default:
			fputs(usage_list, stderr);
			free(suites);
			return EXIT_USAGE;
		}
	}
	if (proto != NULL && mh_proto_from_name(proto) < 0) {
		fprintf(stderr, "mailharness list: unknown protocol '%s' (smtp, imap, pop3)\n",
		        proto);
		free(suites);
		return EXIT_USAGE;
	}
	o.suites = suites;
	o.datadir = mh_cli_datadir();
	struct mh_case_meta *cases = NULL;
	size_t n = 0;
	struct mh_error err;
	mh_error_init(&err);
	if (mh_runner_list(&o, proto, &cases, &n, &err) != 0) {
		fprintf(stderr, "mailharness list: %s\n", err.msg);
	} else {
		size_t shown = 0;
		for (size_t i = 0; i < n && !markdown; i++) {
			const struct mh_case_meta *m = &cases[i];
			if (proto != NULL && strcmp(m->proto, proto) != 0)
				continue;
			if (o.filter != NULL && !mh_glob_match(o.filter, m->id))
				continue;
			shown++;
			printf("%-40s %-5s %-6s %-22s %s%s%s%s%s%s%s\n", m->id, m->proto,
			       mh_level_name(m->level), m->rfc, m->title,
			       m->capability ? "  [requires " : "",
			       m->capability ? m->capability : "", m->capability ? "]" : "",
			       m->profile ? "  [profile " : "", m->profile ? m->profile : "",
			       m->profile ? "]" : "");
		}
		if (markdown) {
			struct mh_buf md;
			mh_buf_init(&md);
			mh_suites_doc_markdown(cases, n, proto, o.filter, &md);
			fwrite(md.data, 1, md.len, stdout);
			mh_buf_deinit(&md);
		} else {
			printf("%zu case(s)\n", shown);
		}
		status = EXIT_OK;
	}
	for (size_t i = 0; i < n; i++)
		mh_case_meta_deinit(&cases[i]);
	free(cases);
	free(suites);
	return status;
}

static int cmd_spec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'F'},   {"matrix", no_argument, NULL, 'M'},
	    {"report", required_argument, NULL, 'r'}, {"markdown", no_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	bool matrix = false, markdown = false;
	const char **reports = mh_calloc((size_t)argc + 1, sizeof(char *));
	size_t nreports = 0;
	int c;
	while ((c = getopt_long(argc, argv, "F:h", opts, NULL)) != -1) {
		switch (c) {
		case 'F': file = optarg; break;
		case 'M': matrix = true; break;
		case 'r': reports[nreports++] = optarg; break;
		case 'm': markdown = true; break;
		case 'h':
			free(reports);
			fputs(usage_spec, stdout);
			return EXIT_OK;
		default:
			free(reports);
			fputs(usage_spec, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (!matrix && (nreports > 0 || markdown))) {
		if (optind == argc - 1)
			fputs("mailharness spec: --report and --markdown go with --matrix\n",
			      stderr);
		free(reports);
		fputs(usage_spec, stderr);
		return EXIT_USAGE;
	}
	int p = mh_proto_from_name(argv[optind]);
	if (p < 0) {
		fprintf(stderr, "mailharness spec: unknown protocol '%s' (smtp, imap, pop3)\n",
		        argv[optind]);
		free(reports);
		return EXIT_USAGE;
	}
	char path[PATH_MAX];
	if (file != NULL)
		snprintf(path, sizeof(path), "%s", file);
	else
		mh_runner_spec_path(mh_cli_datadir(), p, path, sizeof(path));
	struct mh_error err;
	mh_error_init(&err);
	struct mh_spec *spec = mh_spec_load(path, &err);
	if (spec == NULL) {
		fprintf(stderr, "mailharness spec: %s\n", err.msg);
		free(reports);
		return EXIT_USAGE;
	}
	int status = EXIT_OK;
	if (matrix) {
		status = mh_cli_spec_matrix(spec, reports, nreports, markdown);
	} else {
		struct mh_buf out;
		mh_buf_init(&out);
		mh_spec_format(spec, &out);
		fwrite(out.data, 1, out.len, stdout);
		mh_buf_deinit(&out);
	}
	free(reports);
	mh_spec_free(&spec);
	return status;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("mailharness %s\ndata: %s\n", MH_VERSION, mh_cli_datadir());
		return EXIT_OK;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {{"run", cmd_run},          {"list", cmd_list},
	            {"spec", cmd_spec},        {"compare", mh_cli_compare},
	            {"replay", mh_cli_replay}, {"minimize", mh_cli_minimize},
	            {"fuzz", mh_cli_fuzz}};
	for (size_t i = 0; i < MH_ARRAY_SIZE(cmds); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mailharness: unknown command '%s'\n\n%s", cmd, usage_main);
	return EXIT_USAGE;
}

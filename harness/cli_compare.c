/* cli_compare.c: `mailharness compare A.json B.json ...`: the case x server verdict matrix of
   several JSON reports (compare.c renders it; this file reads the arguments and prints). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "compare.h"

static const char usage_compare[] =
    "Usage: mailharness compare [--markdown] [--only-differences] A.json [B.json ...]\n"
    "\n"
    "Prints a case x server matrix of the verdicts in JSON reports (mailharness run --report),\n"
    "one table per protocol: a row per case id (sorted), a column per target of the reports,\n"
    "named after the product its greeting names (Dovecot, Postfix, ...) or else its URL; each\n"
    "cell PASS, FAIL, SKIP, XFAIL or ERROR, '-' when that run had no such case. Each row ends\n"
    "with the case's level and RFC section; per-column counts of each verdict follow.\n"
    "\n"
    "Options:\n"
    "      --markdown          a Markdown table (like the published imaptest compliance tables)\n"
    "      --only-differences  only the cases whose verdicts differ between the columns (the\n"
    "                          counts still cover every case)\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0, or 2 for a usage error or a report that cannot be read.\n";

int mh_cli_compare(int argc, char **argv)
{
	enum { O_MARKDOWN = 256, O_ONLY_DIFF };
	static const struct option opts[] = {
	    {"markdown", no_argument, NULL, O_MARKDOWN},
	    {"only-differences", no_argument, NULL, O_ONLY_DIFF},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct mh_compare_opts co = {false, false};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_MARKDOWN: co.markdown = true; break;
		case O_ONLY_DIFF: co.only_differences = true; break;
		case 'h': fputs(usage_compare, stdout); return 0;
		default: fputs(usage_compare, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "mailharness compare: give at least one report\n\n%s",
		        usage_compare);
		return 2;
	}
	size_t n = (size_t)(argc - optind);
	struct mh_report_read *reports = mh_calloc(n, sizeof(*reports));
	int status = 0;
	for (size_t i = 0; i < n && status == 0; i++) {
		struct mh_error err;
		mh_error_init(&err);
		if (mh_report_read_file(argv[optind + (int)i], &reports[i], &err) != 0) {
			fprintf(stderr, "mailharness compare: %s\n", err.msg);
			status = 2;
		}
	}
	if (status == 0) {
		struct mh_buf out;
		mh_buf_init(&out);
		mh_compare_render(reports, n, &co, &out);
		fwrite(out.data, 1, out.len, stdout);
		mh_buf_deinit(&out);
	}
	for (size_t i = 0; i < n; i++)
		mh_report_read_deinit(&reports[i]);
	free(reports);
	return status;
}

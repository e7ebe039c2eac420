/* compare.h: `mailharness compare`: a case x server matrix of the verdicts of several JSON
   reports, one table per protocol, rendered as text or Markdown into a buffer (prints nothing). */
#ifndef MH_COMPARE_H
#define MH_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "report_read.h"
#include "util.h"

struct mh_compare_opts {
	bool markdown;         /* a Markdown table instead of aligned text */
	bool only_differences; /* only the rows whose verdicts are not all the same */
};

/* The product a greeting names ("Dovecot", "Postfix", "Exim", ...), matched as a whole word
   against a list of known servers; NULL when none. Static storage. */
const char *mh_compare_product(const char *greeting);

/* Renders the comparison of reports[0..n) into out. Per protocol (smtp, imap, pop3, then others
   by name): rows are the case ids of that protocol sorted by id, columns every target of that
   protocol in report order, named by the greeting's product or else the URL (a report's file
   name is added when two columns would share a name). Each cell holds the verdict, '-' when the
   column has no such case. Below: per-column counts of each verdict (over every row, also those
   only_differences hides), and a legend naming each column's URL, report and profile. Each row
   ends with the level and RFC section of the first report that has the case. */
void mh_compare_render(const struct mh_report_read *reports, size_t n,
                       const struct mh_compare_opts *o, struct mh_buf *out);

#endif

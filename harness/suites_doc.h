/* suites_doc.h: the Markdown listing of the suites' cases (`mailharness list --markdown`, which
   makes docs/SUITES.md): a count table, then one table per protocol. Prints nothing. */
#ifndef MH_SUITES_DOC_H
#define MH_SUITES_DOC_H

#include <stddef.h>

#include "lua_rt.h"
#include "util.h"

/* Appends the Markdown document for cases[0..n) to out, keeping only the cases of proto (NULL =
   all) whose id matches the glob filter (NULL = all). Protocols in the order smtp, imap, pop3;
   cases in the order given (suite files by name, cases in file order). Columns: id, title, RFC,
   level, requires (the capability, the profiles the case is limited to, "destructive"). */
void mh_suites_doc_markdown(const struct mh_case_meta *cases, size_t n, const char *proto,
                            const char *filter, struct mh_buf *out);

#endif

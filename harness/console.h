/* console.h: terminal output of a run: one line per case, a progress line on TTYs, the summary
   tables. Everything is written to the FILE* the caller hands in; server bytes are escaped. */
#ifndef MH_CONSOLE_H
#define MH_CONSOLE_H

#include <stdbool.h>
#include <stdio.h>

#include "result.h"
#include "util.h"

struct mh_console {
	FILE *out;
	bool color;            /* ANSI colors on verdicts */
	bool verbose;          /* every check and the transcript after each case */
	bool tty;              /* out is a terminal: the progress line is shown */
	size_t progress_width; /* characters of the progress line on screen, 0 if none */
};

/* True when colors suit f: f is a terminal, NO_COLOR is unset or empty and TERM is not "dumb". */
bool mh_console_want_color(FILE *f);

/* Sets con up to write to out (not owned). color should come from mh_console_want_color() unless
   the user forced it; tty says whether out is a terminal (progress lines are drawn only then). */
void mh_console_init(struct mh_console *con, FILE *out, bool color, bool verbose, bool tty);

/* Prints the result line of case c (done of total finished, total 0 = no counter): verdict, id,
   time; for FAIL the first failed check (message, RFC, level) and an indented sent/received/
   expected line; for ERROR, SKIP and XFAIL the reason. In verbose mode also every check and the
   transcript. Clears a progress line first. */
void mh_console_case(struct mh_console *con, const struct mh_run *run,
                     const struct mh_case_result *c, size_t done, size_t total);

/* On a TTY, replaces the progress line with "[done/total] running id"; does nothing otherwise. */
void mh_console_progress(struct mh_console *con, size_t done, size_t total, const char *id);

/* Erases the progress line, if one is shown. */
void mh_console_clear_progress(struct mh_console *con);

/* Prints the summary: verdicts per protocol with a TOTAL row, per level, per RFC, the baseline
   entries that pass now, and the state x command coverage per protocol. */
void mh_console_summary(struct mh_console *con, const struct mh_run *run);

/* Appends the transcript of c as text: one line per line of data, "  <t> ms #<conn> C: " /
   "S: " / "* " then the bytes escaped (mh_buf_append_escaped); a CRLF line end is implied, any
   other end is shown escaped, a missing one is marked "[no line end]". Each line is prefixed
   with indent. Output is printable ASCII plus '\n'. Used by the console and the JUnit writer. */
void mh_console_format_transcript(struct mh_buf *out, const struct mh_case_result *c,
                                  const char *indent);

#endif

/* minimize.h: delta debugging of a dialogue that triggers an oracle: first over messages, then
   over the arguments of each command, then over bytes, re-checking the oracle at every step. */
#ifndef MH_MINIMIZE_H
#define MH_MINIMIZE_H

#include "dialogue.h"

/* Returns true when candidate still shows the finding (the caller runs it and applies its
   oracle: same crash signature, hang, violation...). */
typedef bool (*mh_still_fails_fn)(void *ud, const struct mh_dialogue *candidate);

struct mh_minimize_stats {
	size_t tries; /* oracle calls */
	size_t msgs_before, msgs_after;
	size_t bytes_before, bytes_after;
};

/* Minimizes d in place with at most max_tries oracle calls (0 = 1000). The result always still
   fails (d is only replaced by candidates the oracle confirmed). */
void mh_minimize(struct mh_dialogue *d, mh_still_fails_fn still_fails, void *ud, size_t max_tries,
                 struct mh_minimize_stats *st);

#endif

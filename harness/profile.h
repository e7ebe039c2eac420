/* profile.h: server-role profiles. A profile says which role a target plays, so the runner
   selects the cases of that role and scripts adjust their expectations (t.profile):
     smtp: "mx" (default: receives mail for its domains, RFC 5321) or "submission" (RFC 6409
           message submission: authentication before mail is accepted); a submission:// or
           submissions:// target defaults to "submission";
     imap: "rev1" (default: IMAP4rev1, RFC 3501) or "rev2" (IMAP4rev2, RFC 9051);
     pop3: no profiles. */
#ifndef MH_PROFILE_H
#define MH_PROFILE_H

#include <stdbool.h>

#include "url.h"
#include "util.h"

/* The profile names of protocol p, NULL-terminated (only the NULL for pop3); the first is the
   default. Static storage. */
const char *const *mh_profile_names(enum mh_proto_id p);
/* The protocol the profile name belongs to, or -1 when no protocol has it. */
int mh_profile_proto(const char *name);
/* Checks a --profile value: one name or a comma-separated list ("submission,rev2"), every name
   known, belonging to a protocol for which protos[p] is true, at most one per protocol. NULL is
   valid. Returns 0, or -1 with a message naming the valid profiles in err. */
int mh_profile_check(const char *opt, const bool protos[MH_PROTO_COUNT], struct mh_error *err);
/* The profile in effect for target t: the name of opt (already checked) that belongs to t's
   protocol, else the one its URL scheme implies (submission, submissions -> "submission"), else
   the protocol's default. NULL when the protocol has no profiles. Static storage. */
const char *mh_profile_effective(const char *opt, const struct mh_target *t);
/* Checks the profile list a case declares (comma-separated names, NULL = every profile) against
   protocol p. Returns 0, or -1 with err ("unknown profile 'x' for smtp (mx, submission)"). */
int mh_profile_check_case(const char *list, enum mh_proto_id p, struct mh_error *err);
/* Whether a case declaring list (comma-separated, NULL = every profile) runs under profile (NULL
   when the protocol has none: then only cases without a list run). */
bool mh_profile_case_runs(const char *list, const char *profile);

#endif

/* spec.h: the command tables of specs/<proto>.json, loaded once, read-only afterwards.
   Which command is legal in which state and which replies the RFC permits live here, not in C. */
#ifndef MH_SPEC_H
#define MH_SPEC_H

#include "reply.h"

#define MH_STATE_SAME (-1) /* outcome "next": "same"   - stay in the current state */
#define MH_STATE_RETURN                                                                            \
	(-2) /* outcome "next": "return" - back to the state the command was sent in */

enum mh_level { MH_LEVEL_MUST, MH_LEVEL_SHOULD, MH_LEVEL_MAY, MH_LEVEL_COUNT };
const char *mh_level_name(enum mh_level l); /* "MUST", "SHOULD", "MAY" */
int mh_level_from_name(const char *s);      /* -1 if unknown */

/* How the session reads what the client sends in a state. */
enum mh_input {
	MH_INPUT_NONE,    /* nothing expected from the client (before the greeting, after close) */
	MH_INPUT_COMMAND, /* each line (IMAP: with its literals) is a command */
	MH_INPUT_DATA, /* SMTP message data: lines up to <CRLF>.<CRLF>, which is "@end-of-data" */
	MH_INPUT_LINE, /* each line is the pseudo command "@continuation" (SASL responses, IDLE
	                  DONE) */
	MH_INPUT_COUNT
};

enum mh_multiline { MH_ML_NEVER, MH_ML_ALWAYS, MH_ML_NO_ARGS, MH_ML_COUNT }; /* POP3 +OK bodies */

struct mh_spec_outcome {
	char *match;             /* "250", "2xx", "OK", "NO", "BAD", "BYE", "+", "+OK", "-ERR" */
	int next;                /* state index, MH_STATE_SAME or MH_STATE_RETURN */
	char **require_untagged; /* IMAP: untagged response names the reply must contain ("BYE",
	                            "FLAGS") */
	size_t nrequire;
	char *rfc;           /* requirement for require_untagged; NULL = the rule's */
	enum mh_level level; /* the rule's level unless the outcome sets its own */
	char *note;          /* optional: why this reply is permitted */
};

struct mh_spec_rule {
	int *states; /* state indexes the rule applies in (empty for the disallowed rules) */
	size_t nstates;
	struct mh_spec_outcome *outcomes;
	size_t noutcomes;
	char *rfc; /* e.g. "RFC 5321 4.3.2" */
	enum mh_level level;
	char *note; /* optional */
};

struct mh_spec_command {
	char *name;     /* RFC name, upper case: "HELO"; pseudo commands start with '@' */
	char **aliases; /* other names the product documents use ("HELLO"); matched like the name */
	size_t naliases;
	bool pseudo;  /* "@greeting", "@end-of-data", "@continuation", "@unknown" */
	char *syntax; /* ABNF or usage text */
	char *summary;
	char *rfc;
	enum mh_level level;
	char *capability; /* gating capability (EHLO keyword, IMAP capability, POP3 CAPA tag) or
	                     NULL */
	enum mh_multiline multiline;
	char **subcommands; /* IMAP UID: FETCH, STORE, ... */
	size_t nsubcommands;
	struct mh_spec_rule *rules;
	size_t nrules;
	struct mh_spec_rule
	    *disallowed;        /* replies outside the rules' states; NULL = spec default */
	bool payload_first_arg; /* "payload": "first-arg-octets": the command line is followed by as
	                           many octets of data as its first argument says (SMTP BDAT) */
};

struct mh_spec_state {
	char *name;
	char *description;
	char *rfc;
	enum mh_input input;
	bool final;           /* the connection is over */
	bool matrix_excluded; /* "matrix": false: reached only after an exceptional reply (SMTP 554
	                         greeting); not a row of the coverage matrix (harness/matrix.h) */
};

struct mh_spec {
	enum mh_proto_id proto;
	int version;
	char *title;
	char *path;
	char **references; /* "RFC 5321", ...: every rfc field must name one of these (lint) */
	size_t nreferences;
	struct mh_spec_state *states;
	size_t nstates;
	int initial; /* state index before the greeting */
	int closed;  /* state index after the server closed or the session ended */
	struct mh_spec_command *commands;
	size_t ncommands;
	struct mh_spec_rule disallowed; /* replies a command must get outside its states */
	struct mh_spec_rule
	    not_advertised;         /* replies a gated command may get when not advertised */
	struct mh_spec_rule always; /* replies permitted to any command (SMTP 421), with next */
};

/* Loads and validates (structure, references, duplicates) a spec file; NULL with err on failure. */
struct mh_spec *mh_spec_load(const char *path, struct mh_error *err);
/* Same from memory; name is used in messages. Used by the fuzz target. */
struct mh_spec *mh_spec_load_buf(const char *json, size_t len, const char *name,
                                 struct mh_error *err);
void mh_spec_free(struct mh_spec **s);

int mh_spec_state_find(const struct mh_spec *s, const char *name); /* index or -1 */
/* Command by name or alias, case-insensitive; pseudo commands by their '@' name. Index or -1. */
int mh_spec_command_find(const struct mh_spec *s, const char *verb);
/* The rule for command cmd in state, or NULL when the command is not allowed there. */
const struct mh_spec_rule *mh_spec_rule_for(const struct mh_spec *s, int cmd, int state);
/* The rule that applies when cmd is sent outside its states (command's own or the default). */
const struct mh_spec_rule *mh_spec_disallowed_for(const struct mh_spec *s, int cmd);
/* True if the reply's status matches a pattern: exact ("250", "OK", "+OK"), or a class "2xx". */
bool mh_spec_pattern_matches(const char *pattern, const struct mh_reply *r);
/* The outcome of rule that matches r (exact patterns win over classes), or NULL. */
const struct mh_spec_outcome *mh_spec_outcome_match(const struct mh_spec_rule *rule,
                                                    const struct mh_reply *r);
/* Appends the permitted replies of rule, e.g. "250 | 251 | 5xx". */
void mh_spec_rule_expected(const struct mh_spec_rule *rule, struct mh_buf *out);
/* Appends the table as text (`mailharness spec PROTO`). */
void mh_spec_format(const struct mh_spec *s, struct mh_buf *out);
/* Structural lint: unknown or unreachable states, commands never allowed anywhere, missing RFC
   references, duplicate reply patterns in one rule. One line per problem; returns the count. */
int mh_spec_lint(const struct mh_spec *s, struct mh_buf *problems);

#endif

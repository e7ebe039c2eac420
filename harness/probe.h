/* probe.h: the few protocol dialogues the harness itself performs: query capabilities, upgrade
   with STARTTLS / STLS, say goodbye; and probing a target before a run. */
#ifndef MH_PROBE_H
#define MH_PROBE_H

#include "conn.h"
#include "result.h"

/* Per-protocol command texts (IMAP ones without the tag). */
struct mh_proto_dialogue {
	const char *caps_cmd;     /* "EHLO mailharness.invalid", "CAPABILITY", "CAPA" */
	const char *starttls_cmd; /* "STARTTLS", "STARTTLS", "STLS" */
	const char
	    *starttls_cap;    /* capability that advertises it: "STARTTLS", "STARTTLS", "STLS" */
	const char *quit_cmd; /* "QUIT", "LOGOUT", "QUIT" */
	bool tagged;
};
const struct mh_proto_dialogue *mh_proto_dialogue(enum mh_proto_id p);

/* Sends line (adding a fresh tag for IMAP, then CRLF) and reads its reply into r. 1 / 0 / -1 as
   mh_conn_read_reply. */
int mh_probe_command(struct mh_conn *c, const char *line, struct mh_reply *r, struct mh_error *err);
/* Queries capabilities; on success c->caps holds them. 0 / -1. */
int mh_probe_caps(struct mh_conn *c, struct mh_reply *r, struct mh_error *err);
/* Sends the STARTTLS command, requires the go-ahead and does the handshake. 0 / -1. */
int mh_probe_starttls(struct mh_conn *c, struct mh_reply *r, struct mh_error *err);
/* Says goodbye (QUIT / LOGOUT) and reads the reply, ignoring failures. */
void mh_probe_quit(struct mh_conn *c);

/* Connects to t, records greeting, capabilities (before and after STARTTLS when t asks for it)
   and TLS facts into info; caps_r receives the capabilities the suite should gate on: with user and
   password (may be NULL) also those announced after logging in (IMAP and POP3 servers often add
   extensions then). 0 / -1 with err (and info->probe_error). */
int mh_probe_target(const struct mh_target *t, const struct mh_conn_opts *o, const char *user,
                    const char *password, struct mh_target_info *info, struct mh_caps *caps_r,
                    struct mh_error *err);

#endif

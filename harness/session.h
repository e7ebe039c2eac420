/* session.h: the spec engine. Follows one connection's state from the client side, judges every
   exchange against the spec table, records checks and state x command cells into the case. */
#ifndef MH_SESSION_H
#define MH_SESSION_H

#include "proto.h"
#include "result.h"
#include "spec.h"

struct mh_session;

/* A new session in spec->initial. Checks and cells go to c (may be NULL: nothing recorded);
   conn is the connection number used in checks. */
struct mh_session *mh_session_new(const struct mh_spec *spec, struct mh_case_result *c, int conn);
void mh_session_free(struct mh_session **s);

/* The client sent these bytes (exactly as written). Splits them into commands by the current
   input mode and queues the ones that await a reply. */
void mh_session_sent(struct mh_session *s, const unsigned char *data, size_t n);
/* Renders data for the transcript with secrets replaced (PASS, LOGIN password, AUTH initial
   responses, SASL lines); appends to out. Call before mh_session_sent for the same bytes. */
void mh_session_redact(const struct mh_session *s, const unsigned char *data, size_t n,
                       struct mh_buf *out);
/* Fills e with what the next reply is (greeting, IMAP tag, POP3 multi-line, SASL). Returns true
   if a reply is due (a command is pending, or the greeting), false if none is awaited. */
bool mh_session_expect(const struct mh_session *s, struct mh_expect *e);
/* Judges reply r against the table for the oldest pending command, records checks (spec and
   syntax), moves the state. */
void mh_session_reply(struct mh_session *s, const struct mh_reply *r);
/* The server closed the connection (by_server) or the client did; moves to the closed state and
   drops pending commands. A close by the server that the protocol forbids is a failed check: SMTP
   with commands unanswered (RFC 5321 3.8), IMAP without an untagged BYE (RFC 3501 3.4). */
void mh_session_closed(struct mh_session *s, bool by_server);
/* The TLS layer started: IMAP/POP3/SMTP discard what they knew (RFC 3207 4.2, RFC 3501 6.2.1). */
void mh_session_tls_started(struct mh_session *s);

/* Current state index and name; whether the capability set (from the last EHLO / CAPABILITY /
   CAPA / greeting) is known and has name. */
int mh_session_state(const struct mh_session *s);
const char *mh_session_state_name(const struct mh_session *s);
const struct mh_caps *mh_session_caps(const struct mh_session *s);
/* Number of commands still waiting for a reply. */
size_t mh_session_pending(const struct mh_session *s);
/* True if the server announced that it may close: an IMAP untagged BYE, or as the last reply
   an SMTP 221 or 421 (RFC 5321 3.8 names 221 after QUIT and 421; 7.8 lets a server that sees
   an attack, e.g. a non-SMTP command, end the session, and Postfix does so with 221) or a POP3
   -ERR. A close then is no violation and no disconnect finding. */
bool mh_session_close_announced(const struct mh_session *s);
/* The spec command index of the oldest command still waiting for a reply, or -1 if none. */
int mh_session_pending_cmd(const struct mh_session *s);
/* Sets the capability names the session uses for gating (copied). */
void mh_session_set_caps(struct mh_session *s, const struct mh_caps *caps);
/* Transcript events are timed relative to case_start_ms (mh_now_ms clock). */
void mh_session_set_clock(struct mh_session *s, int64_t case_start_ms);
/* Words the session redacts from anything recorded (the password in use); copied. */
void mh_session_add_secret(struct mh_session *s, const char *secret);

#endif

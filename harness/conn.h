/* conn.h: one connection to a target: transport, read buffer, protocol parser, spec session and
   transcript. Everything the Lua runtime does on the network goes through here. */
#ifndef MH_CONN_H
#define MH_CONN_H

#include "dialogue.h"
#include "proto.h"
#include "result.h"
#include "session.h"
#include "transport.h"
#include "url.h"

struct mh_conn_opts {
	int64_t timeout_ms;   /* per operation: connect, each reply, each write (default 10000) */
	int64_t deadline_ms;  /* absolute cap (mh_now_ms clock) for everything, e.g. the case's end;
	                         0 = none */
	bool insecure;        /* skip certificate verification */
	bool verify_loopback; /* verify certificates on loopback hosts too (default: not) */
	const char *ca_file;
	struct mh_limits limits;
	const struct mh_spec *spec;    /* the protocol's table (may be NULL: no judging) */
	struct mh_case_result *result; /* where checks, transcript and cells go (may be NULL) */
	int64_t case_start_ms;         /* transcript times are relative to this */
	const char *secret;            /* password to scrub from anything recorded, or NULL */
	/* Dialogue recording (run --record), or NULL: called with MH_DLG_SEND and the bytes of each
	   write as given (before it is attempted), MH_DLG_REPLY and the status of each reply read
	   (never the greeting), MH_DLG_TLS once mh_conn_start_tls succeeded; conn = mh_conn.id. */
	void (*record)(void *ud, int conn, enum mh_dlg_op op, const void *data, size_t n,
	               const char *status);
	void *record_ud;
};

struct mh_conn {
	int id; /* 1, 2, ... within the case */
	struct mh_target target;
	struct mh_conn_opts opts;
	struct mh_sock *sock;
	struct mh_parser parser;
	struct mh_session *session;
	struct mh_buf in; /* received, not yet consumed */
	struct mh_reply greeting;
	bool got_greeting;
	bool closed;         /* EOF seen or closed by us */
	struct mh_caps caps; /* last capabilities seen */
	char last_error[256];
	enum mh_io last_io; /* class of the last failed operation: MH_IO_EOF means the server
	                       closed (or reset) the connection, whatever the layer reported */
};

/* Connects (and for implicit TLS, handshakes). Does not read the greeting. NULL + err. */
struct mh_conn *mh_conn_open(const struct mh_target *t, const struct mh_conn_opts *o, int id,
                             struct mh_error *err);
/* Sends bytes exactly as given; the session splits them into commands. 0 / -1 (err). */
int mh_conn_send(struct mh_conn *c, const void *data, size_t n, struct mh_error *err);
/* Sends in pieces with a pause between them (split writes). pieces are lengths summing to n. */
int mh_conn_send_split(struct mh_conn *c, const void *data, size_t n, const size_t *pieces,
                       size_t npieces, int pause_ms, struct mh_error *err);
/* Reads one whole reply into r (reset first) and has the session judge it. Returns 1 on a reply,
   0 if the connection closed before any byte of a reply (clean EOF), -1 on error (timeout, cap,
   TLS, reset) with err. */
int mh_conn_read_reply(struct mh_conn *c, struct mh_reply *r, struct mh_error *err);
/* Like mh_conn_read_reply but with an explicit expectation (IMAP IDLE: one response at a time);
   the session judges only tagged / final replies. */
int mh_conn_read_reply_as(struct mh_conn *c, const struct mh_expect *e, struct mh_reply *r,
                          struct mh_error *err);
/* Reads the greeting (once) into c->greeting. 1 / 0 / -1 as mh_conn_read_reply. */
int mh_conn_read_greeting(struct mh_conn *c, struct mh_error *err);
/* Waits up to wait_ms for any bytes; returns the number of bytes buffered (0 if none). -1 on error.
 */
long mh_conn_poll(struct mh_conn *c, int wait_ms, struct mh_error *err);
/* Takes up to max raw bytes from the receive buffer (for raw tests); recorded in the transcript
   when first received. */
size_t mh_conn_take_raw(struct mh_conn *c, struct mh_buf *out, size_t max);
/* Starts TLS now (after the server said go ahead): handshake, session reset. 0 / -1. */
int mh_conn_start_tls(struct mh_conn *c, struct mh_error *err);
/* True if the server closed the connection (EOF seen). */
bool mh_conn_is_closed(const struct mh_conn *c);
/* Closes (if open) and frees; NULL-safe; clears the pointer. */
void mh_conn_free(struct mh_conn **c);

#endif

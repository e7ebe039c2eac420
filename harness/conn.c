/* conn.c: one connection: bounded reads into a buffer, whole replies through the protocol parser,
   every exchange through the spec session, every byte into the (redacted) transcript. */
#include "conn.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_CHUNK 16384

static int64_t op_deadline(const struct mh_conn *c)
{
	int64_t d = mh_now_ms() + (c->opts.timeout_ms > 0 ? c->opts.timeout_ms : 10000);
	if (c->opts.deadline_ms > 0 && c->opts.deadline_ms < d)
		d = c->opts.deadline_ms;
	return d;
}

static void record(struct mh_conn *c, char dir, const void *data, size_t n)
{
	if (c->opts.result != NULL)
		mh_case_add_transcript(c->opts.result, c->id, dir, data, n,
		                       mh_now_ms() - c->opts.case_start_ms);
}

static void event(struct mh_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(struct mh_conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	record(c, '*', msg, strlen(msg));
}

static int tls_handshake(struct mh_conn *c, struct mh_error *err)
{
	bool loop = mh_url_is_loopback(c->target.host);
	struct mh_tls_opts o = {
	    .verify = !c->opts.insecure && (!loop || c->opts.verify_loopback),
	    .sni = c->target.host,
	    .ca_file = c->opts.ca_file,
	};
	if (mh_sock_start_tls(c->sock, &o, op_deadline(c), err) != 0) {
		event(c, "TLS handshake failed: %s", err->msg);
		return -1;
	}
	event(c, "TLS established: %s %s%s", mh_sock_tls_version(c->sock),
	      mh_sock_tls_cipher(c->sock),
	      o.verify ? " (certificate verified)" : " (certificate not verified)");
	return 0;
}

struct mh_conn *mh_conn_open(const struct mh_target *t, const struct mh_conn_opts *o, int id,
                             struct mh_error *err)
{
	struct mh_conn *c = mh_calloc(1, sizeof(*c));
	c->id = id;
	c->target = *t;
	c->opts = *o;
	if (c->opts.limits.max_line == 0)
		mh_limits_default(&c->opts.limits);
	mh_buf_init(&c->in);
	mh_reply_init(&c->greeting, t->proto);
	mh_caps_init(&c->caps);
	mh_parser_init(&c->parser, t->proto, &c->opts.limits);
	if (o->spec != NULL) {
		c->session = mh_session_new(o->spec, o->result, id);
		mh_session_set_clock(c->session, o->case_start_ms);
		mh_session_add_secret(c->session, o->secret);
	}
	event(c, "connect %s:%d (%s, TLS %s)", t->host, t->port, mh_proto_name(t->proto),
	      mh_tls_mode_name(t->tls));
	c->sock = mh_sock_connect(t->host, t->port, op_deadline(c), err);
	if (c->sock == NULL) {
		event(c, "connect failed: %s", err->msg);
		mh_conn_free(&c);
		return NULL;
	}
	if (t->tls == MH_TLS_IMPLICIT && tls_handshake(c, err) != 0) {
		mh_conn_free(&c);
		return NULL;
	}
	return c;
}

static int send_bytes(struct mh_conn *c, const void *data, size_t n, struct mh_error *err)
{
	if (c->sock == NULL) {
		mh_error_set(err, "connection is closed");
		return -1;
	}
	if (c->opts.record != NULL)
		c->opts.record(c->opts.record_ud, c->id, MH_DLG_SEND, data, n, NULL);
	struct mh_buf shown;
	mh_buf_init(&shown);
	if (c->session != NULL) {
		mh_session_redact(c->session, data, n, &shown);
		record(c, 'C', shown.data ? shown.data : (const unsigned char *)"", shown.len);
		mh_session_sent(c->session, data, n);
	} else {
		record(c, 'C', data, n);
	}
	mh_buf_deinit(&shown);
	enum mh_io io = mh_sock_write(c->sock, data, n, op_deadline(c), err);
	if (io != MH_IO_OK) {
		c->last_io = io;
		if (io == MH_IO_EOF) {
			/* EPIPE, a reset or a TLS close: all mean the server hung up */
			err->set = false;
			mh_error_set(err, "the server closed the connection");
			c->closed = true;
			/* not judged here: a 421 or BYE may sit unread in the socket buffer */
			if (c->session != NULL)
				mh_session_closed(c->session, false);
		}
		event(c, "write failed: %s", err->msg);
		return -1;
	}
	return 0;
}

int mh_conn_send(struct mh_conn *c, const void *data, size_t n, struct mh_error *err)
{
	return send_bytes(c, data, n, err);
}

int mh_conn_send_split(struct mh_conn *c, const void *data, size_t n, const size_t *pieces,
                       size_t npieces, int pause_ms, struct mh_error *err)
{
	const unsigned char *p = data;
	size_t off = 0;
	for (size_t i = 0; i < npieces && off < n; i++) {
		size_t len = pieces[i] < n - off ? pieces[i] : n - off;
		if (send_bytes(c, p + off, len, err) != 0)
			return -1;
		off += len;
		if (pause_ms > 0 && off < n) {
			struct timespec ts = {pause_ms / 1000, (long)(pause_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	if (off < n)
		return send_bytes(c, p + off, n - off, err);
	return 0;
}

/* Reads once from the socket into c->in. 1 got bytes, 0 EOF, -1 error/timeout. */
static int fill(struct mh_conn *c, int64_t deadline, struct mh_error *err)
{
	unsigned char chunk[READ_CHUNK];
	size_t got = 0;
	enum mh_io io = mh_sock_read(c->sock, chunk, sizeof(chunk), &got, deadline, err);
	if (io == MH_IO_OK) {
		record(c, 'S', chunk, got);
		mh_buf_append(&c->in, chunk, got);
		return 1;
	}
	if (io == MH_IO_EOF) {
		c->closed = true;
		c->last_io = MH_IO_EOF;
		event(c, "server closed the connection");
		return 0;
	}
	c->last_io = io;
	event(c, "%s", err->msg);
	return -1;
}

static void sync_caps(struct mh_conn *c)
{
	const struct mh_caps *caps = c->session ? mh_session_caps(c->session) : NULL;
	if (caps == NULL || caps == &c->caps)
		return;
	mh_caps_clear(&c->caps);
	for (size_t i = 0; i < caps->n; i++) {
		c->caps.name[i] = mh_strdup(caps->name[i]);
		c->caps.value[i] = mh_strdup(caps->value[i]);
	}
	c->caps.n = caps->n;
}

/* IMAP: the server sent complete untagged responses ending in BYE and closed (RFC 3501 7.1.5)
   while a tagged reply was awaited. Delivers the BYE as the reply; 1 if it did, else 0. */
static int bye_before_close(struct mh_conn *c, struct mh_reply *r, bool judge)
{
	if (c->target.proto != MH_PROTO_IMAP)
		return 0;
	struct mh_parser p;
	mh_parser_init(&p, MH_PROTO_IMAP, &c->opts.limits);
	struct mh_expect one = {.kind = MH_EXPECT_ONE};
	size_t off = 0;
	while (off < c->in.len) {
		mh_parser_expect(&p, &one);
		mh_reply_reset(r);
		size_t used = 0;
		struct mh_error e;
		mh_error_init(&e);
		if (mh_parser_feed(&p, c->in.data + off, c->in.len - off, r, &used, &e) != 1)
			return 0;
		off += used;
		if (r->cls == MH_RC_BYE && off == c->in.len) {
			mh_buf_reset(&c->in);
			if (judge && c->session != NULL)
				mh_session_reply(c->session, r);
			return 1;
		}
	}
	return 0;
}

static int read_reply(struct mh_conn *c, const struct mh_expect *e, struct mh_reply *r, bool judge,
                      struct mh_error *err)
{
	mh_reply_reset(r);
	r->proto = c->target.proto;
	if (c->sock == NULL) {
		mh_error_set(err, "connection is closed");
		return -1;
	}
	mh_parser_expect(&c->parser, e);
	int64_t deadline = op_deadline(c);
	for (;;) {
		size_t used = 0;
		int rc = c->in.len > 0
		             ? mh_parser_feed(&c->parser, c->in.data, c->in.len, r, &used, err)
		             : 0;
		if (rc == 1) {
			mh_buf_consume(&c->in, used);
			if (judge && c->session != NULL) {
				mh_session_reply(c->session, r);
				sync_caps(c);
			}
			return 1;
		}
		if (rc < 0) {
			event(c, "unusable reply: %s", err->msg);
			mh_sock_free(&c->sock);
			c->closed = true;
			if (c->session != NULL)
				mh_session_closed(c->session, false);
			return -1;
		}
		if (c->closed) {
			mh_error_set(err, "the server closed the connection");
			return -1;
		}
		int f = fill(c, deadline, err);
		if (f == 1)
			continue;
		if (f == 0) {
			if (c->in.len > 0 && bye_before_close(c, r, judge) == 1)
				return 1;
			if (c->session != NULL)
				mh_session_closed(c->session, true);
			if (c->in.len == 0)
				return 0;
			mh_error_set(err,
			             "the server closed the connection in the middle of a reply "
			             "(%zu bytes unparsed)",
			             c->in.len);
			return -1;
		}
		if (f < 0 && c->last_io == MH_IO_ERROR && c->in.len > 0) {
			/* a reset (the server closed with our bytes unread) right after a BYE: the
			   BYE counts as for an orderly close */
			if (bye_before_close(c, r, judge) == 1) {
				c->closed = true; /* as after an orderly close (fill) */
				c->last_io = MH_IO_EOF;
				return 1;
			}
		}
		if (err->set && strstr(err->msg, "timeout") != NULL) {
			err->set = false;
			mh_error_set(
			    err, "timeout: no complete reply within %lld ms (%zu bytes received)",
			    (long long)c->opts.timeout_ms, c->in.len);
		}
		if (c->in.len > 0) {
			/* half a reply: whatever comes next cannot be framed reliably */
			event(c, "closing: the stream is out of step after a partial reply");
			mh_sock_free(&c->sock);
			c->closed = true;
			if (c->session != NULL)
				mh_session_closed(c->session, false);
		}
		return -1;
	}
}

int mh_conn_read_reply(struct mh_conn *c, struct mh_reply *r, struct mh_error *err)
{
	struct mh_expect e;
	if (c->session != NULL) {
		mh_session_expect(c->session, &e);
	} else {
		memset(&e, 0, sizeof(e));
		e.kind = c->got_greeting ? MH_EXPECT_REPLY : MH_EXPECT_GREETING;
	}
	bool greeting = e.kind == MH_EXPECT_GREETING;
	if (greeting)
		c->got_greeting = true;
	int rc = read_reply(c, &e, r, true, err);
	if (rc == 1 && !greeting && c->opts.record != NULL)
		c->opts.record(c->opts.record_ud, c->id, MH_DLG_REPLY, NULL, 0, r->status);
	return rc;
}

int mh_conn_read_reply_as(struct mh_conn *c, const struct mh_expect *e, struct mh_reply *r,
                          struct mh_error *err)
{
	/* single untagged responses (IDLE) are information, not replies to judge */
	int rc = read_reply(c, e, r, false, err);
	if (rc == 1 && c->session != NULL && r->cls != MH_RC_UNTAGGED) {
		mh_session_reply(c->session, r);
		sync_caps(c);
	}
	if (rc == 1 && e->kind != MH_EXPECT_GREETING && c->opts.record != NULL)
		c->opts.record(c->opts.record_ud, c->id, MH_DLG_REPLY, NULL, 0, r->status);
	return rc;
}

int mh_conn_read_greeting(struct mh_conn *c, struct mh_error *err)
{
	if (c->got_greeting) {
		mh_error_set(err, "the greeting was already read");
		return -1;
	}
	struct mh_expect e = {.kind = MH_EXPECT_GREETING};
	c->got_greeting = true;
	return read_reply(c, &e, &c->greeting, true, err);
}

long mh_conn_poll(struct mh_conn *c, int wait_ms, struct mh_error *err)
{
	if (c->in.len > 0 || c->sock == NULL || c->closed)
		return (long)c->in.len;
	int64_t deadline = mh_now_ms() + (wait_ms > 0 ? wait_ms : 0);
	if (c->opts.deadline_ms > 0 && c->opts.deadline_ms < deadline)
		deadline = c->opts.deadline_ms;
	/* one bounded read: a timeout only means nothing arrived (a readable socket may carry TLS
	   records without application data, such as TLS 1.3 session tickets) */
	struct mh_error e2;
	mh_error_init(&e2);
	unsigned char chunk[READ_CHUNK];
	size_t got = 0;
	enum mh_io io = mh_sock_read(c->sock, chunk, sizeof(chunk), &got, deadline, &e2);
	if (io == MH_IO_OK) {
		record(c, 'S', chunk, got);
		mh_buf_append(&c->in, chunk, got);
	} else if (io == MH_IO_EOF) {
		c->closed = true;
		event(c, "server closed the connection");
		if (c->session != NULL)
			mh_session_closed(c->session, true);
	} else if (io == MH_IO_ERROR) {
		/* a reset: the connection is gone either way */
		mh_error_set(err, "%s", e2.msg);
		event(c, "%s", e2.msg);
		c->last_io = MH_IO_EOF;
		c->closed = true;
		if (c->session != NULL)
			mh_session_closed(c->session, true);
		return -1;
	}
	return (long)c->in.len;
}

size_t mh_conn_take_raw(struct mh_conn *c, struct mh_buf *out, size_t max)
{
	size_t n = c->in.len < max ? c->in.len : max;
	mh_buf_append(out, c->in.data, n);
	mh_buf_consume(&c->in, n);
	return n;
}

int mh_conn_start_tls(struct mh_conn *c, struct mh_error *err)
{
	if (c->sock == NULL) {
		mh_error_set(err, "connection is closed");
		return -1;
	}
	if (c->in.len > 0) {
		/* bytes after the go-ahead were sent in plaintext: never let them count as TLS data
		 */
		event(c, "discarding %zu plaintext bytes the server sent after the TLS go-ahead",
		      c->in.len);
		mh_buf_reset(&c->in);
	}
	if (tls_handshake(c, err) != 0) {
		/* the connection is unusable; what the server does with it now is not judged (RFC
		   9051 6.2.1 lets it treat injected plaintext as a broken handshake and just close)
		 */
		mh_sock_free(&c->sock);
		c->closed = true;
		if (c->session != NULL)
			mh_session_closed(c->session, false);
		return -1;
	}
	if (c->session != NULL)
		mh_session_tls_started(c->session);
	mh_caps_clear(&c->caps);
	if (c->opts.record != NULL)
		c->opts.record(c->opts.record_ud, c->id, MH_DLG_TLS, NULL, 0, NULL);
	return 0;
}

bool mh_conn_is_closed(const struct mh_conn *c)
{
	return c->closed || c->sock == NULL;
}

void mh_conn_free(struct mh_conn **cp)
{
	struct mh_conn *c = *cp;
	if (c == NULL)
		return;
	if (c->sock != NULL) {
		event(c, "close");
		mh_sock_free(&c->sock);
	}
	if (c->session != NULL && !c->closed)
		mh_session_closed(c->session, false);
	mh_session_free(&c->session);
	mh_buf_deinit(&c->in);
	mh_reply_deinit(&c->greeting);
	mh_caps_deinit(&c->caps);
	free(c);
	*cp = NULL;
}

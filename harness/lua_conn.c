/* lua_conn.c: connection userdata ("mailharness.conn") for Lua scripts: t:connect, sending raw
   bytes and commands, reading judged replies, STARTTLS, pipelining, raw reads. Every byte goes
   through conn.c, so the spec engine sees and judges every exchange. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_case.h"

#define DEFAULT_HELO    "mailharness.example" /* RFC 2606 name; override with --param helo=... */
#define MAX_PIECES      4096                  /* send_split pieces */
#define MAX_PIPELINE    1024                  /* commands in one pipeline */
#define RAW_DEFAULT_MAX 65536

struct mh_lua_conn {
	struct mh_conn *c; /* NULL once closed by the script or the runtime */
	struct mh_lua_case *lc;
	int id;
	enum mh_proto_id proto;
	unsigned tag_seq;
	/* every read lands in scratch; __gc frees it, so a Lua error cannot leak it */
	struct mh_reply scratch;
	struct mh_buf out;      /* bytes being sent */
	struct mh_buf redacted; /* what was sent, with secrets replaced by the session */
	struct mh_buf sent;     /* redacted, scrubbed copy of the last send: reply.sent */
	struct mh_buf raw;      /* recv_raw */
	char tag[16];           /* last IMAP tag generated */
	char helo[256];         /* SMTP EHLO argument for capability queries */
};

static struct mh_lua_conn *check_conn(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, MH_LUA_CONN_MT);
}

/* A connection the script may still use; using one it closed is a script error. */
static struct mh_lua_conn *check_open(lua_State *L, int idx)
{
	struct mh_lua_conn *k = check_conn(L, idx);
	if (k->c == NULL)
		luaL_error(L, "connection %d is closed", k->id);
	return k;
}

static void track(struct mh_lua_case *lc, struct mh_lua_conn *k)
{
	if (lc->nconns == lc->conns_cap) {
		lc->conns_cap = lc->conns_cap ? lc->conns_cap * 2 : 8;
		lc->conns = mh_realloc(lc->conns, lc->conns_cap * sizeof(*lc->conns));
	}
	lc->conns[lc->nconns++] = k;
}

static void untrack(struct mh_lua_case *lc, struct mh_lua_conn *k)
{
	for (size_t i = 0; i < lc->nconns; i++) {
		if (lc->conns[i] == k) {
			lc->conns[i] = lc->conns[--lc->nconns];
			return;
		}
	}
}

void mh_lua_conn_close_all(struct mh_lua_case *lc)
{
	for (size_t i = 0; i < lc->nconns; i++)
		mh_conn_free(&lc->conns[i]->c);
}

/* A network failure: remembered for t:expect(nil, ...), returned as nil, msg. Past the case's
   deadline it is the time limit instead (an ERROR, not the server's fault). */
static int net_fail(lua_State *L, struct mh_lua_conn *k, const char *msg)
{
	struct mh_lua_case *lc = k->lc;
	/* a close reported by any layer (EPIPE on write, TLS close, reset) reads the same */
	if (k->c != NULL && k->c->last_io == MH_IO_EOF)
		msg = "closed";
	snprintf(lc->last_error, sizeof(lc->last_error), "%s", msg);
	if (mh_now_ms() >= lc->deadline_ms)
		return mh_lua_case_time_error(L, lc);
	lua_pushnil(L);
	lua_pushstring(L, msg);
	return 2;
}

/* Renders bytes about to be sent into k->sent (reply.sent): redacted by the session, scrubbed of
   the password, without the final line end; checks escape it when they record it. */
static void render_sent(struct mh_lua_conn *k, const void *data, size_t n)
{
	mh_buf_reset(&k->redacted);
	mh_buf_reset(&k->sent);
	if (k->c->session != NULL)
		mh_session_redact(k->c->session, data, n, &k->redacted);
	else
		mh_buf_append(&k->redacted, data, n);
	size_t len = k->redacted.len;
	if (len >= 2 && memcmp(k->redacted.data + len - 2, "\r\n", 2) == 0)
		len -= 2;
	mh_lua_case_scrub(&k->sent, (const char *)k->redacted.data, len, k->lc->ctx->password);
}

static int send_bytes(struct mh_lua_conn *k, const void *data, size_t n, struct mh_error *err)
{
	render_sent(k, data, n);
	return mh_conn_send(k->c, data, n, err);
}

static const char *next_tag(struct mh_lua_conn *k)
{
	snprintf(k->tag, sizeof(k->tag), "A%04u", ++k->tag_seq);
	return k->tag;
}

/* Reads one reply into k->scratch with an optional timeout override (0 = the connection's). */
static int read_into(struct mh_lua_conn *k, const struct mh_expect *e, int64_t timeout_ms,
                     struct mh_error *err)
{
	if (mh_conn_is_closed(k->c) && k->c->in.len == 0)
		return 0; /* EOF already seen and nothing left to parse: "closed" */
	int64_t saved = k->c->opts.timeout_ms;
	if (timeout_ms > 0)
		k->c->opts.timeout_ms = timeout_ms;
	int rc = e != NULL ? mh_conn_read_reply_as(k->c, e, &k->scratch, err)
	                   : mh_conn_read_reply(k->c, &k->scratch, err);
	k->c->opts.timeout_ms = saved;
	return rc;
}

/* Sends line + CRLF (IMAP: prefixed with a fresh tag when tagged) and reads the reply. 1/0/-1. */
static int exchange(struct mh_lua_conn *k, const char *line, size_t n, bool tagged,
                    int64_t timeout_ms, struct mh_error *err)
{
	mh_buf_reset(&k->out);
	if (tagged)
		mh_buf_printf(&k->out, "%s ", next_tag(k));
	mh_buf_append(&k->out, line, n);
	mh_buf_append(&k->out, "\r\n", 2);
	if (send_bytes(k, k->out.data, k->out.len, err) < 0)
		return -1;
	return read_into(k, NULL, timeout_ms, err);
}

/* The protocol's capability query: EHLO (SMTP), CAPABILITY (IMAP), CAPA (POP3). */
static int caps_query(struct mh_lua_conn *k, struct mh_error *err)
{
	char line[300];
	switch (k->proto) {
	case MH_PROTO_SMTP: snprintf(line, sizeof(line), "EHLO %s", k->helo); break;
	case MH_PROTO_IMAP: snprintf(line, sizeof(line), "CAPABILITY"); break;
	default: snprintf(line, sizeof(line), "CAPA"); break;
	}
	return exchange(k, line, strlen(line), k->proto == MH_PROTO_IMAP, 0, err);
}

static void push_caps(lua_State *L, const struct mh_caps *caps)
{
	lua_createtable(L, 0, (int)caps->n);
	for (size_t i = 0; i < caps->n; i++) {
		lua_pushstring(L, caps->value[i] != NULL ? caps->value[i] : "");
		lua_setfield(L, -2, caps->name[i]);
	}
}

static void set_nonempty(lua_State *L, const char *k, const char *v)
{
	if (v != NULL && v[0] != '\0') {
		lua_pushstring(L, v);
		lua_setfield(L, -2, k);
	}
}

/* Pushes reply r as the table documented in docs/SCRIPTING.md. with_sent adds reply.sent. */
static void push_reply(lua_State *L, struct mh_lua_conn *k, const struct mh_reply *r,
                       bool with_sent)
{
	lua_createtable(L, 0, 14);
	lua_pushstring(L, r->status);
	lua_setfield(L, -2, "status");
	if (r->proto == MH_PROTO_SMTP) {
		lua_pushinteger(L, r->code);
		lua_setfield(L, -2, "code");
	}
	lua_pushstring(L, mh_reply_class_name(r->cls));
	lua_setfield(L, -2, "class");
	lua_pushlstring(L, (const char *)r->text.data, r->text.len);
	lua_setfield(L, -2, "text");
	set_nonempty(L, "enhanced", r->enhanced);
	set_nonempty(L, "tag", r->tag);
	set_nonempty(L, "resp_code", r->resp_code);
	lua_createtable(L, (int)r->nlines, 0);
	for (size_t i = 0; i < r->nlines; i++) {
		size_t n;
		const unsigned char *d = mh_reply_line_data(r, i, &n);
		lua_pushlstring(L, (const char *)d, n);
		lua_seti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "lines");
	lua_pushlstring(L, (const char *)r->raw.data, r->raw.len);
	lua_setfield(L, -2, "raw");
	if (r->multiline) {
		lua_pushlstring(L, (const char *)r->body.data, r->body.len);
		lua_setfield(L, -2, "body");
	}
	lua_createtable(L, (int)r->nsyntax, 0);
	for (size_t i = 0; i < r->nsyntax; i++) {
		lua_createtable(L, 0, 2);
		lua_pushstring(L, r->syntax[i].msg);
		lua_setfield(L, -2, "msg");
		lua_pushstring(L, r->syntax[i].rfc);
		lua_setfield(L, -2, "rfc");
		lua_seti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "syntax");
	if (with_sent && k->sent.len > 0) {
		lua_pushlstring(L, (const char *)k->sent.data, k->sent.len);
		lua_setfield(L, -2, "sent");
	}
	lua_pushinteger(L, k->id);
	lua_setfield(L, -2, "conn");
}

/* Pushes the result of a read: the reply, or nil + "closed" / the error. */
static int push_read(lua_State *L, struct mh_lua_conn *k, int rc, const struct mh_error *err)
{
	if (rc == 1) {
		push_reply(L, k, &k->scratch, true);
		return 1;
	}
	return net_fail(L, k, rc == 0 ? "closed" : err->msg);
}

static int64_t opt_timeout(lua_State *L, int idx)
{
	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	int t = lua_getfield(L, idx, "timeout");
	int64_t ms = 0;
	if (t != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
			luaL_error(L, "option 'timeout' must be a positive integer (ms)");
		ms = lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	return ms;
}

/* conn:send(bytes) -> true | nil, err. Sends bytes exactly (no CRLF added). */
static int l_conn_send(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	struct mh_error err;
	mh_error_init(&err);
	if (send_bytes(k, data, n, &err) < 0)
		return net_fail(L, k, err.msg);
	lua_pushboolean(L, 1);
	return 1;
}

/* conn:send_split(bytes, {n1, n2, ...} [, pause_ms]) -> true | nil, err. Writes bytes in pieces
   of the given sizes (a remainder goes last), pausing pause_ms (default 50) between them. */
static int l_conn_send_split(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	luaL_checktype(L, 3, LUA_TTABLE);
	lua_Integer pause = luaL_optinteger(L, 4, 50);
	luaL_argcheck(L, pause >= 0 && pause <= 60000, 4, "pause must be 0..60000 ms");
	lua_Integer np = luaL_len(L, 3);
	luaL_argcheck(L, np >= 1 && np < MAX_PIECES, 3, "1 to 4095 piece sizes");
	size_t *pieces = lua_newuserdatauv(L, ((size_t)np + 1) * sizeof(size_t), 0);
	size_t sum = 0, count = 0;
	for (lua_Integer i = 1; i <= np; i++) {
		lua_geti(L, 3, i);
		lua_Integer v = lua_tointeger(L, -1);
		lua_pop(L, 1);
		luaL_argcheck(L, v > 0, 3, "piece sizes must be positive integers");
		luaL_argcheck(L, (size_t)v <= n - sum, 3, "piece sizes add up to more than #bytes");
		pieces[count++] = (size_t)v;
		sum += (size_t)v;
	}
	if (sum < n)
		pieces[count++] = n - sum;
	struct mh_error err;
	mh_error_init(&err);
	render_sent(k, data, n);
	if (mh_conn_send_split(k->c, data, n, pieces, count, (int)pause, &err) < 0)
		return net_fail(L, k, err.msg);
	lua_pushboolean(L, 1);
	return 1;
}

/* conn:cmd(line [, {timeout=ms}]) -> reply | nil, err. Sends line + CRLF, reads the reply.
   On IMAP the line is sent as is (include a tag, or use conn:imap). */
static int l_conn_cmd(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	size_t n;
	const char *line = luaL_checklstring(L, 2, &n);
	int64_t timeout = opt_timeout(L, 3);
	struct mh_error err;
	mh_error_init(&err);
	int rc = exchange(k, line, n, false, timeout, &err);
	return push_read(L, k, rc, &err);
}

/* conn:imap(command [, {timeout=ms}]) -> reply | nil, err. IMAP only: sends "<tag> command"
   with a fresh tag (A0001, A0002, ...) and reads up to the tagged completion. */
static int l_conn_imap(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	if (k->proto != MH_PROTO_IMAP)
		return luaL_error(L, "conn:imap is for IMAP connections (this is %s)",
		                  mh_proto_name(k->proto));
	size_t n;
	const char *line = luaL_checklstring(L, 2, &n);
	int64_t timeout = opt_timeout(L, 3);
	struct mh_error err;
	mh_error_init(&err);
	int rc = exchange(k, line, n, true, timeout, &err);
	return push_read(L, k, rc, &err);
}

/* conn:tag() -> string: a fresh IMAP tag for commands the script sends itself (literals). */
static int l_conn_tag(lua_State *L)
{
	struct mh_lua_conn *k = check_conn(L, 1);
	lua_pushstring(L, next_tag(k));
	return 1;
}

/* conn:read([{one=true, timeout=ms}]) -> reply | nil, err. Reads the next reply the engine
   expects; one=true reads a single IMAP response of any kind (IDLE updates, "+"). */
static int l_conn_read(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	int64_t timeout = opt_timeout(L, 2);
	bool one = false;
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "one");
		one = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	struct mh_expect e;
	memset(&e, 0, sizeof(e));
	if (one) {
		if (k->c->session != NULL)
			mh_session_expect(k->c->session, &e);
		e.kind = MH_EXPECT_ONE;
	}
	struct mh_error err;
	mh_error_init(&err);
	int rc = read_into(k, one ? &e : NULL, timeout, &err);
	return push_read(L, k, rc, &err);
}

/* conn:pipeline({line1, line2, ...}) -> {reply1, reply2, ...} | nil, err, partial. Sends all
   lines (each + CRLF) in one write, then reads one reply per line. */
static int l_conn_pipeline(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_Integer n = luaL_len(L, 2);
	luaL_argcheck(L, n >= 1 && n <= MAX_PIPELINE, 2, "1 to 1024 command lines");
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_geti(L, 2, i) != LUA_TSTRING)
			return luaL_argerror(L, 2, "command lines must be strings");
		lua_pop(L, 1);
	}
	mh_buf_reset(&k->out);
	for (lua_Integer i = 1; i <= n; i++) {
		size_t len;
		lua_geti(L, 2, i);
		const char *s = lua_tolstring(L, -1, &len);
		mh_buf_append(&k->out, s, len);
		mh_buf_append(&k->out, "\r\n", 2);
		lua_pop(L, 1);
	}
	struct mh_error err;
	mh_error_init(&err);
	if (send_bytes(k, k->out.data, k->out.len, &err) < 0)
		return net_fail(L, k, err.msg);
	lua_createtable(L, (int)n, 0);
	int list = lua_gettop(L);
	for (lua_Integer i = 1; i <= n; i++) {
		int rc = read_into(k, NULL, 0, &err);
		if (rc != 1) {
			net_fail(L, k, rc == 0 ? "closed" : err.msg);
			lua_pushvalue(L, list);
			return 3;
		}
		push_reply(L, k, &k->scratch, true);
		lua_seti(L, list, i);
	}
	return 1;
}

/* conn:starttls() -> true | nil, err. Only the TLS handshake, after the script itself got the
   server's go-ahead to STARTTLS / STLS. */
static int l_conn_starttls(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	struct mh_error err;
	mh_error_init(&err);
	if (mh_conn_start_tls(k->c, &err) < 0)
		return net_fail(L, k, err.msg);
	lua_pushboolean(L, 1);
	return 1;
}

/* STARTTLS / STLS, the handshake, the capability query again. Pushes the go-ahead reply and
   the capability reply (2), or nil, err [, refusal reply]. */
static int upgrade(lua_State *L, struct mh_lua_conn *k)
{
	struct mh_error err;
	mh_error_init(&err);
	const char *verb = k->proto == MH_PROTO_POP3 ? "STLS" : "STARTTLS";
	int rc = exchange(k, verb, strlen(verb), k->proto == MH_PROTO_IMAP, 0, &err);
	if (rc != 1)
		return net_fail(L, k, rc == 0 ? "closed" : err.msg);
	if (k->scratch.cls != MH_RC_OK) {
		char msg[300];
		snprintf(msg, sizeof(msg), "%s refused: %s %s", verb, k->scratch.status,
		         mh_buf_cstr(&k->scratch.text));
		net_fail(L, k, msg);
		push_reply(L, k, &k->scratch, true);
		return 3;
	}
	push_reply(L, k, &k->scratch, true);
	if (mh_conn_start_tls(k->c, &err) < 0) {
		char msg[600];
		snprintf(msg, sizeof(msg), "TLS handshake failed: %s", err.msg);
		return net_fail(L, k, msg);
	}
	rc = caps_query(k, &err);
	if (rc != 1)
		return net_fail(L, k, rc == 0 ? "closed" : err.msg);
	push_reply(L, k, &k->scratch, true);
	return 2;
}

/* conn:tls_upgrade() -> starttls_reply, caps_reply | nil, err [, refusal]. Sends STARTTLS (IMAP
   tagged) or STLS, checks the go-ahead, handshakes, then queries the capabilities again (EHLO /
   CAPABILITY / CAPA), as RFC 3207 4.2, RFC 3501 6.2.1 and RFC 2595 4 tell the client to. */
static int l_conn_tls_upgrade(lua_State *L)
{
	return upgrade(L, check_open(L, 1));
}

/* conn:capabilities() -> reply | nil, err. Sends the capability query (EHLO <helo> / CAPABILITY
   / CAPA); conn.caps is refreshed from the reply by the engine. */
static int l_conn_capabilities(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	struct mh_error err;
	mh_error_init(&err);
	int rc = caps_query(k, &err);
	return push_read(L, k, rc, &err);
}

/* conn:close() -> nothing. Closes the connection (idempotent); no QUIT / LOGOUT is sent. */
static int l_conn_close(lua_State *L)
{
	struct mh_lua_conn *k = check_conn(L, 1);
	mh_conn_free(&k->c);
	return 0;
}

/* conn:closed() -> bool: closed by the script, or EOF seen from the server. */
static int l_conn_closed(lua_State *L)
{
	struct mh_lua_conn *k = check_conn(L, 1);
	lua_pushboolean(L, k->c == NULL || mh_conn_is_closed(k->c));
	return 1;
}

static int64_t bounded_wait(struct mh_lua_case *lc, lua_Integer ms)
{
	int64_t left = lc->deadline_ms - mh_now_ms();
	if (left < 0)
		left = 0;
	return ms < left ? ms : left;
}

/* conn:poll([ms]) -> number of bytes waiting | nil, err. Waits up to ms (default 0) for data. */
static int l_conn_poll(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	lua_Integer ms = luaL_optinteger(L, 2, 0);
	luaL_argcheck(L, ms >= 0, 2, "must be >= 0");
	struct mh_error err;
	mh_error_init(&err);
	long n = mh_conn_poll(k->c, (int)bounded_wait(k->lc, ms), &err);
	if (n < 0)
		return net_fail(L, k, err.msg);
	lua_pushinteger(L, n);
	return 1;
}

/* conn:recv_raw([max [, wait_ms]]) -> string | nil, err. Takes up to max (default 65536) raw,
   unparsed bytes; when none are buffered waits up to wait_ms (default: the connection timeout).
   err is "timeout" or "closed". The engine does not judge bytes taken this way. */
static int l_conn_recv_raw(lua_State *L)
{
	struct mh_lua_conn *k = check_open(L, 1);
	lua_Integer max = luaL_optinteger(L, 2, RAW_DEFAULT_MAX);
	luaL_argcheck(L, max >= 1 && max <= 16 * 1024 * 1024, 2, "must be 1..16777216");
	lua_Integer wait = luaL_optinteger(L, 3, k->c->opts.timeout_ms);
	luaL_argcheck(L, wait >= 0, 3, "must be >= 0");
	struct mh_error err;
	mh_error_init(&err);
	if (k->c->in.len == 0 && !mh_conn_is_closed(k->c)) {
		if (mh_conn_poll(k->c, (int)bounded_wait(k->lc, wait), &err) < 0)
			return net_fail(L, k, err.msg);
	}
	mh_buf_reset(&k->raw);
	size_t got = mh_conn_take_raw(k->c, &k->raw, (size_t)max);
	if (got == 0)
		return net_fail(L, k, mh_conn_is_closed(k->c) ? "closed" : "timeout");
	lua_pushlstring(L, (const char *)k->raw.data, k->raw.len);
	return 1;
}

/* conn.id, conn.proto, conn.state, conn.caps, conn.greeting, conn.tls, conn.tls_version,
   conn.helo; methods otherwise (upvalue 1). */
static int l_conn_index(lua_State *L)
{
	struct mh_lua_conn *k = check_conn(L, 1);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
		return 1;
	const char *key = lua_tostring(L, 2);
	if (key == NULL)
		return 0;
	if (strcmp(key, "id") == 0) {
		lua_pushinteger(L, k->id);
	} else if (strcmp(key, "proto") == 0) {
		lua_pushstring(L, mh_proto_name(k->proto));
	} else if (strcmp(key, "helo") == 0) {
		lua_pushstring(L, k->helo);
	} else if (k->c == NULL) {
		if (strcmp(key, "state") == 0)
			lua_pushliteral(L, "closed");
		else
			return 0;
	} else if (strcmp(key, "state") == 0) {
		if (k->c->session != NULL)
			lua_pushstring(L, mh_session_state_name(k->c->session));
		else
			return 0;
	} else if (strcmp(key, "caps") == 0) {
		push_caps(L, &k->c->caps);
	} else if (strcmp(key, "greeting") == 0) {
		if (!k->c->got_greeting)
			return 0;
		push_reply(L, k, &k->c->greeting, false);
	} else if (strcmp(key, "tls") == 0) {
		lua_pushboolean(L, k->c->sock != NULL && mh_sock_is_tls(k->c->sock));
	} else if (strcmp(key, "tls_version") == 0) {
		const char *v = k->c->sock != NULL ? mh_sock_tls_version(k->c->sock) : NULL;
		if (v == NULL)
			return 0;
		lua_pushstring(L, v);
	} else {
		return 0;
	}
	return 1;
}

/* __close: closes the connection (local c <close> = t:connect()). */
static int l_conn_close_mm(lua_State *L)
{
	struct mh_lua_conn *k = check_conn(L, 1);
	mh_conn_free(&k->c);
	return 0;
}

/* __gc: closes and releases the scratch buffers. */
static int l_conn_gc(lua_State *L)
{
	struct mh_lua_conn *k = check_conn(L, 1);
	mh_conn_free(&k->c);
	if (k->lc != NULL)
		untrack(k->lc, k);
	k->lc = NULL;
	mh_reply_deinit(&k->scratch);
	mh_buf_deinit(&k->out);
	mh_buf_deinit(&k->redacted);
	mh_buf_deinit(&k->sent);
	mh_buf_deinit(&k->raw);
	return 0;
}

/* tostring(conn) -> "mailharness.conn 1 (imap, authenticated)" */
static int l_conn_tostring(lua_State *L)
{
	struct mh_lua_conn *k = check_conn(L, 1);
	const char *state = k->c == NULL            ? "closed"
	                    : k->c->session != NULL ? mh_session_state_name(k->c->session)
	                                            : "?";
	lua_pushfstring(L, "mailharness.conn %d (%s, %s)", k->id, mh_proto_name(k->proto), state);
	return 1;
}

struct connect_opts {
	struct mh_target target;
	enum mh_tls_mode tls;
	bool greeting;
	int64_t timeout_ms;
	const char *helo;
};

static void read_connect_opts(lua_State *L, int idx, struct mh_lua_case *lc, struct connect_opts *o)
{
	o->target = *lc->ctx->target;
	o->tls = o->target.tls;
	o->greeting = true;
	o->timeout_ms = 0;
	o->helo = NULL;
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	if (lua_getfield(L, idx, "host") != LUA_TNIL) {
		size_t n;
		const char *h = lua_tolstring(L, -1, &n);
		if (h == NULL || n == 0 || n >= sizeof(o->target.host))
			luaL_error(L, "option 'host' must be a host name or address");
		snprintf(o->target.host, sizeof(o->target.host), "%s", h);
	}
	if (lua_getfield(L, idx, "port") != LUA_TNIL) {
		lua_Integer p = lua_tointeger(L, -1);
		if (!lua_isinteger(L, -1) || p < 1 || p > 65535)
			luaL_error(L, "option 'port' must be an integer 1..65535");
		o->target.port = (int)p;
	}
	if (lua_getfield(L, idx, "tls") != LUA_TNIL) {
		const char *s = lua_tostring(L, -1);
		int found = -1;
		for (int m = 0; s != NULL && m < MH_TLS_COUNT; m++)
			if (strcmp(s, mh_tls_mode_name((enum mh_tls_mode)m)) == 0)
				found = m;
		if (found < 0)
			luaL_error(L,
			           "option 'tls' must be \"none\", \"implicit\" or \"starttls\"");
		o->tls = (enum mh_tls_mode)found;
	}
	if (lua_getfield(L, idx, "greeting") != LUA_TNIL)
		o->greeting = lua_toboolean(L, -1);
	if (lua_getfield(L, idx, "timeout") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
			luaL_error(L, "option 'timeout' must be a positive integer (ms)");
		o->timeout_ms = lua_tointeger(L, -1);
	}
	if (lua_getfield(L, idx, "helo") != LUA_TNIL) {
		o->helo = lua_tostring(L, -1);
		if (o->helo == NULL || strlen(o->helo) >= 256)
			luaL_error(L, "option 'helo' must be a string");
	}
	lua_pop(L, 6); /* the strings stay referenced by the options table */
	if (o->tls == MH_TLS_STARTTLS && !o->greeting)
		luaL_error(L, "tls = \"starttls\" needs the greeting (greeting = false given)");
}

/* The work of t:connect / t:try_connect. Leaves the connection on the stack and returns 1, or
   returns 0 with the reason in msg (the userdata, if created, is closed). */
static int do_connect(lua_State *L, struct mh_lua_case *lc, int opts_idx, char *msg, size_t msglen)
{
	const struct mh_case_ctx *ctx = lc->ctx;
	struct connect_opts o;
	read_connect_opts(L, opts_idx, lc, &o);

	struct mh_lua_conn *k = lua_newuserdatauv(L, sizeof(*k), 0);
	memset(k, 0, sizeof(*k));
	mh_reply_init(&k->scratch, o.target.proto);
	mh_buf_init(&k->out);
	mh_buf_init(&k->redacted);
	mh_buf_init(&k->sent);
	mh_buf_init(&k->raw);
	k->lc = lc;
	k->id = ++lc->next_conn_id;
	k->proto = o.target.proto;
	luaL_setmetatable(L, MH_LUA_CONN_MT);
	track(lc, k);

	const char *helo = o.helo;
	for (const char **p = ctx->params; helo == NULL && p != NULL && *p != NULL; p++)
		if (strncmp(*p, "helo=", 5) == 0)
			helo = *p + 5;
	snprintf(k->helo, sizeof(k->helo), "%s", helo != NULL ? helo : DEFAULT_HELO);

	struct mh_conn_opts co = ctx->conn_opts;
	co.spec = ctx->spec;
	co.result = ctx->result;
	co.case_start_ms = lc->start_ms;
	co.secret = ctx->password;
	if (co.deadline_ms == 0 || co.deadline_ms > lc->deadline_ms)
		co.deadline_ms = lc->deadline_ms;
	if (o.timeout_ms > 0)
		co.timeout_ms = o.timeout_ms;
	struct mh_target open_target = o.target;
	open_target.tls =
	    o.tls; /* conn.c handshakes for implicit TLS only; STARTTLS is ours below */

	struct mh_error err;
	mh_error_init(&err);
	k->c = mh_conn_open(&open_target, &co, k->id, &err);
	if (k->c == NULL) {
		snprintf(msg, msglen, "%s", err.msg);
		return 0;
	}
	if (o.greeting) {
		int rc = mh_conn_read_greeting(k->c, &err);
		if (rc != 1) {
			snprintf(msg, msglen, "no greeting: %s", rc == 0 ? "closed" : err.msg);
			mh_conn_free(&k->c);
			return 0;
		}
	}
	if (o.tls == MH_TLS_STARTTLS) {
		int rc = caps_query(k, &err);
		if (rc != 1) {
			snprintf(msg, msglen, "capability query: %s", rc == 0 ? "closed" : err.msg);
			mh_conn_free(&k->c);
			return 0;
		}
		int top = lua_gettop(L);
		int n = upgrade(L, k);
		if (n != 2) {
			snprintf(msg, msglen, "%s", lua_tostring(L, top + 2));
			lua_settop(L, top);
			mh_conn_free(&k->c);
			return 0;
		}
		lua_settop(L, top);
	}
	return 1;
}

/* t:connect([opts]) -> conn. opts: host, port, tls ("none" | "implicit" | "starttls"),
   greeting (false: don't read it), timeout (ms per operation), helo (SMTP EHLO name used by
   tls_upgrade / capabilities). Raises "connect failed: ..." when it cannot connect. */
static int l_test_connect(lua_State *L)
{
	struct mh_lua_case *lc = mh_lua_case_get(L);
	luaL_checkudata(L, 1, MH_LUA_TEST_MT);
	char msg[600];
	if (do_connect(L, lc, 2, msg, sizeof(msg)) == 1)
		return 1;
	if (mh_now_ms() >= lc->deadline_ms)
		return mh_lua_case_time_error(L, lc);
	return luaL_error(L, "connect failed: %s", msg);
}

/* t:try_connect([opts]) -> conn | nil, err. Like t:connect, but a failure is returned. */
static int l_test_try_connect(lua_State *L)
{
	struct mh_lua_case *lc = mh_lua_case_get(L);
	luaL_checkudata(L, 1, MH_LUA_TEST_MT);
	char msg[600];
	if (do_connect(L, lc, 2, msg, sizeof(msg)) == 1)
		return 1;
	snprintf(lc->last_error, sizeof(lc->last_error), "%s", msg);
	if (mh_now_ms() >= lc->deadline_ms)
		return mh_lua_case_time_error(L, lc);
	lua_pushnil(L);
	lua_pushstring(L, msg);
	return 2;
}

static const luaL_Reg conn_methods[] = {
    {"send", l_conn_send},
    {"send_split", l_conn_send_split},
    {"cmd", l_conn_cmd},
    {"imap", l_conn_imap},
    {"tag", l_conn_tag},
    {"read", l_conn_read},
    {"pipeline", l_conn_pipeline},
    {"starttls", l_conn_starttls},
    {"tls_upgrade", l_conn_tls_upgrade},
    {"capabilities", l_conn_capabilities},
    {"close", l_conn_close},
    {"closed", l_conn_closed},
    {"poll", l_conn_poll},
    {"recv_raw", l_conn_recv_raw},
    {NULL, NULL},
};

static const luaL_Reg conn_meta[] = {
    {"__gc", l_conn_gc},
    {"__close", l_conn_close_mm},
    {"__tostring", l_conn_tostring},
    {NULL, NULL},
};

static const luaL_Reg test_connect_methods[] = {
    {"connect", l_test_connect},
    {"try_connect", l_test_try_connect},
    {NULL, NULL},
};

void mh_lua_conn_openlib(lua_State *L)
{
	luaL_newmetatable(L, MH_LUA_CONN_MT);
	luaL_setfuncs(L, conn_meta, 0);
	luaL_newlib(L, conn_methods);
	lua_pushcclosure(L, l_conn_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);

	luaL_getmetatable(L, MH_LUA_TEST_MT);
	lua_getfield(L, -1, "methods");
	luaL_setfuncs(L, test_connect_methods, 0);
	lua_pop(L, 2);
}

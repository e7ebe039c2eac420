/* lua_test.c: the `t` object a case's run function receives: target facts, parameters,
   assertions that become MH_CHECK_ASSERT checks, skip/fail, logging, sleeping, random markers,
   and base64 (also as require "mh.base64"). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_case.h"

#define ESCAPE_MAX 4096 /* bytes of a reply or string rendered into a check */
#define WANT_MAX   32   /* alternatives in one t:expect */

struct mh_lua_test {
	struct mh_lua_case *lc;
};

static struct mh_lua_case *check_test(lua_State *L, int idx)
{
	struct mh_lua_test *t = luaL_checkudata(L, idx, MH_LUA_TEST_MT);
	return t->lc;
}

/* Optional fields of an assertion's last argument. Strings point into Lua values on the stack. */
struct assert_opts {
	const char *rfc;
	enum mh_level level;
	const char *sent, *received, *expected;
	size_t sent_len, received_len, expected_len;
	int conn;
};

static const char *opt_field(lua_State *L, int idx, const char *name, size_t *len_r)
{
	int t = lua_getfield(L, idx, name);
	const char *s = NULL;
	if (t == LUA_TSTRING)
		s = lua_tolstring(L, -1, len_r);
	else if (t != LUA_TNIL)
		luaL_error(L, "option '%s' must be a string", name);
	lua_pop(L, 1); /* the string stays referenced by the options table */
	return s;
}

static void read_opts(lua_State *L, int idx, struct mh_lua_case *lc, struct assert_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rfc = lc->meta->rfc;
	o->level = lc->meta->level;
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	size_t n;
	const char *rfc = opt_field(L, idx, "rfc", &n);
	if (rfc != NULL)
		o->rfc = rfc;
	const char *level = opt_field(L, idx, "level", &n);
	if (level != NULL) {
		int l = mh_level_from_name(level);
		if (l < 0)
			luaL_error(
			    L, "option 'level' must be \"MUST\", \"SHOULD\" or \"MAY\", not \"%s\"",
			    level);
		o->level = (enum mh_level)l;
	}
	o->sent = opt_field(L, idx, "sent", &o->sent_len);
	o->received = opt_field(L, idx, "received", &o->received_len);
	o->expected = opt_field(L, idx, "expected", &o->expected_len);
}

static void escape_into(struct mh_buf *out, const char *s, size_t n)
{
	if (s != NULL)
		mh_buf_append_escaped(out, (const unsigned char *)s, n, ESCAPE_MAX);
}

/* Appends a check to the case. Pure C: callers read every Lua value before calling. Strings are
   rendered escaped and scrubbed of the password. Returns ok. */
static bool record(struct mh_lua_case *lc, bool ok, const char *msg, const struct assert_opts *o)
{
	const char *secret = lc->ctx->password;
	struct mh_buf parts[4], clean[4];
	const char *src[4] = {msg, o->sent, o->received, o->expected};
	size_t len[4] = {msg != NULL ? strlen(msg) : 0, o->sent_len, o->received_len,
	                 o->expected_len};
	for (int i = 0; i < 4; i++) {
		mh_buf_init(&parts[i]);
		mh_buf_init(&clean[i]);
		if (src[i] == NULL)
			continue;
		if (i == 0)
			mh_buf_append(&parts[i], src[i], len[i]);
		else
			escape_into(&parts[i], src[i], len[i]);
		mh_lua_case_scrub(&clean[i], (const char *)parts[i].data, parts[i].len, secret);
	}
	struct mh_check *k = mh_case_add_check(
	    lc->ctx->result, MH_CHECK_ASSERT, ok ? MH_V_PASS : MH_V_FAIL, mh_buf_cstr(&clean[0]),
	    src[1] != NULL ? mh_buf_cstr(&clean[1]) : NULL,
	    src[2] != NULL ? mh_buf_cstr(&clean[2]) : NULL,
	    src[3] != NULL ? mh_buf_cstr(&clean[3]) : NULL, o->rfc, o->level);
	k->conn = o->conn;
	for (int i = 0; i < 4; i++) {
		mh_buf_deinit(&parts[i]);
		mh_buf_deinit(&clean[i]);
	}
	return ok;
}

static const char *const statuses[] = {"OK", "NO",  "BAD",  "BYE", "PREAUTH",
                                       "+",  "+OK", "-ERR", "*"};

static bool is_class_name(const char *w)
{
	for (int c = MH_RC_NONE + 1; c < MH_RC_COUNT; c++)
		if (strcmp(w, mh_reply_class_name((enum mh_reply_class)c)) == 0)
			return true;
	return false;
}

static bool is_class_pattern(const char *w)
{
	return strlen(w) == 3 && w[0] >= '1' && w[0] <= '5' && (w[1] == 'x' || w[1] == 'X') &&
	       (w[2] == 'x' || w[2] == 'X');
}

static bool is_code(const char *s)
{
	return s != NULL && strlen(s) == 3 && isdigit((unsigned char)s[0]) &&
	       isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]);
}

static bool want_valid(const char *w)
{
	if (is_class_name(w) || is_class_pattern(w) || is_code(w))
		return true;
	for (size_t i = 0; i < MH_ARRAY_SIZE(statuses); i++)
		if (mh_strcaseeq(w, statuses[i]))
			return true;
	return false;
}

/* A reply status/class against one wanted form: class name, "2xx" pattern or exact status. */
static bool want_matches(const char *w, const char *status, const char *cls)
{
	if (is_class_name(w))
		return cls != NULL && strcmp(cls, w) == 0;
	if (is_class_pattern(w))
		return is_code(status) && status[0] == w[0];
	return status != NULL && mh_strcaseeq(status, w);
}

/*
 * t:expect(reply, want [, msg [, opts]]) -> reply, ok
 * reply: a reply table or nil. nil after the server closed the connection is a FAIL; nil after a
 * timeout, a size cap, a reset or a TLS error raises (the case ends in ERROR).
 * want: "250", "OK", "+OK", "2xx", a class name ("ok", "permfail", "no", ...) or a list of
 * these, any of which may match. Records an assertion check; never raises on a mismatch.
 */
static int l_test_expect(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	int rt = lua_type(L, 2);
	if (rt != LUA_TNIL && rt != LUA_TTABLE && rt != LUA_TNONE)
		return luaL_typeerror(L, 2, "reply table or nil");
	const char *wants[WANT_MAX];
	size_t nwants = 0;
	if (lua_type(L, 3) == LUA_TSTRING) {
		wants[nwants++] = lua_tostring(L, 3);
	} else if (lua_type(L, 3) == LUA_TTABLE) {
		lua_Integer n = luaL_len(L, 3);
		if (n < 1 || n > WANT_MAX)
			return luaL_argerror(L, 3, "list of 1 to 32 wanted replies");
		for (lua_Integer i = 1; i <= n; i++) {
			if (lua_geti(L, 3, i) != LUA_TSTRING)
				return luaL_argerror(L, 3, "wanted replies must be strings");
			wants[nwants++] = lua_tostring(L, -1);
			lua_pop(L, 1); /* referenced by the table */
		}
	} else {
		return luaL_typeerror(L, 3, "string or list of strings");
	}
	for (size_t i = 0; i < nwants; i++)
		if (!want_valid(wants[i]))
			return luaL_error(
			    L,
			    "t:expect: '%s' is not a status, class pattern (2xx) or "
			    "class name (ok, continue, tempfail, permfail, no, bad, bye, "
			    "preauth, untagged)",
			    wants[i]);
	const char *msg = luaL_optstring(L, 4, NULL);
	struct assert_opts o;
	read_opts(L, 5, lc, &o);

	luaL_Buffer eb;
	luaL_buffinit(L, &eb);
	for (size_t i = 0; i < nwants; i++) {
		if (i > 0)
			luaL_addstring(&eb, " | ");
		luaL_addstring(&eb, wants[i]);
	}
	luaL_pushresult(&eb);
	int expected_idx = lua_gettop(L);

	bool ok = false;
	const char *status = NULL, *cls = NULL;
	if (rt == LUA_TTABLE) {
		lua_getfield(L, 2, "status");
		status = lua_tostring(L, -1);
		lua_getfield(L, 2, "class");
		cls = lua_tostring(L, -1);
		if (o.received == NULL) {
			lua_getfield(L, 2, "raw");
			o.received = lua_tolstring(L, -1, &o.received_len);
		}
		if (o.sent == NULL) {
			lua_getfield(L, 2, "sent");
			o.sent = lua_tolstring(L, -1, &o.sent_len);
		}
		lua_getfield(L, 2, "conn");
		o.conn = (int)lua_tointeger(L, -1);
		for (size_t i = 0; i < nwants && !ok; i++)
			ok = want_matches(wants[i], status, cls);
	} else {
		if (mh_now_ms() >= lc->deadline_ms)
			return mh_lua_case_time_error(L, lc);
		/* a clean close instead of a reply is the server's doing (a FAIL); a timeout, a
		   cap, a reset or a TLS failure is not something the RFC judges: the case ends in
		   ERROR */
		if (lc->last_error[0] != '\0' && strcmp(lc->last_error, "closed") != 0)
			return luaL_error(L, "no reply: %s", lc->last_error);
		if (o.received == NULL) {
			o.received = lc->last_error[0] != '\0'
			                 ? lua_pushfstring(L, "(no reply: %s)", lc->last_error)
			                 : "(no reply)";
			o.received_len = strlen(o.received);
		}
	}
	if (msg == NULL)
		msg = lua_pushfstring(L, "reply is %s", lua_tostring(L, expected_idx));
	if (o.expected == NULL)
		o.expected = lua_tolstring(L, expected_idx, &o.expected_len);
	record(lc, ok, msg, &o);
	lua_pushvalue(L, 2);
	lua_pushboolean(L, ok);
	return 2;
}

/*
 * t:expect_match(str, pattern [, msg [, opts]]) -> captures... | nil
 * Checks that string.match(str, pattern) finds something (str may be nil: a FAIL). Returns the
 * match's captures (or the whole match) on success, nil on failure.
 */
static int l_test_expect_match(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	int st = lua_type(L, 2);
	if (st != LUA_TSTRING && st != LUA_TNIL && st != LUA_TNONE)
		return luaL_typeerror(L, 2, "string or nil");
	const char *pattern = luaL_checkstring(L, 3);
	const char *msg = luaL_optstring(L, 4, NULL);
	struct assert_opts o;
	read_opts(L, 5, lc, &o);
	lua_settop(L, 5);
	if (msg == NULL)
		msg = lua_pushfstring(L, "text matches %s", pattern);
	if (o.expected == NULL) {
		o.expected = lua_pushfstring(L, "matches the Lua pattern %s", pattern);
		o.expected_len = strlen(o.expected);
	}
	if (o.received == NULL) {
		o.received = st == LUA_TSTRING ? lua_tolstring(L, 2, &o.received_len) : "(nil)";
		o.received_len = st == LUA_TSTRING ? o.received_len : 5;
	}
	int base = lua_gettop(L);
	bool ok = false;
	if (st == LUA_TSTRING) {
		lua_pushvalue(L, lua_upvalueindex(1)); /* string.match */
		lua_pushvalue(L, 2);
		lua_pushvalue(L, 3);
		lua_call(L, 2, LUA_MULTRET);
		ok = lua_gettop(L) > base && !lua_isnil(L, base + 1);
	}
	record(lc, ok, msg, &o);
	if (!ok) {
		lua_pushnil(L);
		return 1;
	}
	return lua_gettop(L) - base;
}

/* t:check(cond, msg [, opts]) -> bool. Records a check that passes when cond is truthy. */
static int l_test_check(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	luaL_checkany(L, 2);
	bool ok = lua_toboolean(L, 2);
	const char *msg = luaL_checkstring(L, 3);
	struct assert_opts o;
	read_opts(L, 4, lc, &o);
	record(lc, ok, msg, &o);
	lua_pushboolean(L, ok);
	return 1;
}

int mh_lua_test_raise_stop(lua_State *L, enum mh_lua_stop kind, const char *reason)
{
	lua_createtable(L, 0, 2);
	lua_pushstring(L, kind == MH_LUA_STOP_SKIP ? "skip" : "fail");
	lua_setfield(L, -2, "kind");
	lua_pushstring(L, reason);
	lua_setfield(L, -2, "reason");
	luaL_setmetatable(L, MH_LUA_STOP_MT);
	return lua_error(L);
}

enum mh_lua_stop mh_lua_test_stop_kind(lua_State *L, int idx, const char **reason_r)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return MH_LUA_STOP_NONE;
	luaL_getmetatable(L, MH_LUA_STOP_MT);
	bool is_stop = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	if (!is_stop)
		return MH_LUA_STOP_NONE;
	lua_getfield(L, idx, "kind");
	bool skip = strcmp(lua_tostring(L, -1), "skip") == 0;
	lua_pop(L, 1);
	if (reason_r != NULL) {
		lua_getfield(L, idx, "reason");
		*reason_r = lua_tostring(L, -1);
		lua_pop(L, 1); /* referenced by the sentinel table */
	}
	return skip ? MH_LUA_STOP_SKIP : MH_LUA_STOP_FAIL;
}

/* t:fail(msg [, opts]) -> never returns. Records a failed check and ends the case (FAIL). */
static int l_test_fail(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	const char *msg = luaL_checkstring(L, 2);
	struct assert_opts o;
	read_opts(L, 3, lc, &o);
	record(lc, false, msg, &o);
	return mh_lua_test_raise_stop(L, MH_LUA_STOP_FAIL, msg);
}

/* t:skip(reason) -> never returns. Ends the case as SKIP with reason (unless a check already
   failed: a finding is never hidden by a later skip). */
static int l_test_skip(lua_State *L)
{
	check_test(L, 1);
	const char *reason = luaL_checkstring(L, 2);
	return mh_lua_test_raise_stop(L, MH_LUA_STOP_SKIP, reason);
}

void mh_lua_test_log(struct mh_lua_case *lc, const char *msg, size_t n)
{
	if (lc == NULL || lc->ctx->result == NULL)
		return;
	struct mh_buf b;
	mh_buf_init(&b);
	mh_lua_case_scrub(&b, msg, n, lc->ctx->password);
	mh_case_add_transcript(lc->ctx->result, 0, '*', b.data, b.len, mh_now_ms() - lc->start_ms);
	mh_buf_deinit(&b);
}

/* t:log(...) -> nothing. Writes the arguments (tostring'ed, space separated) into the transcript
   as an event. */
static int l_test_log(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 2; i <= n; i++) {
		if (i > 2)
			luaL_addchar(&b, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	mh_lua_test_log(lc, s, len);
	return 0;
}

/* t:sleep(ms) -> nothing. Sleeps, but never past the case's deadline (then: time limit error). */
static int l_test_sleep(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	lua_Integer ms = luaL_checkinteger(L, 2);
	luaL_argcheck(L, ms >= 0, 2, "must be >= 0");
	int64_t until = mh_now_ms() + (ms < lc->time_limit_ms ? ms : lc->time_limit_ms);
	if (until > lc->deadline_ms)
		until = lc->deadline_ms;
	for (int64_t left; (left = until - mh_now_ms()) > 0;) {
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (mh_now_ms() >= lc->deadline_ms)
		return mh_lua_case_time_error(L, lc);
	return 0;
}

/* t:random_hex([nbytes]) -> string of 2*nbytes hex digits (default 8 bytes) from getrandom(2),
   for unique markers and mailbox names. */
static int l_test_random_hex(lua_State *L)
{
	check_test(L, 1);
	lua_Integer n = luaL_optinteger(L, 2, 8);
	luaL_argcheck(L, n >= 1 && n <= 64, 2, "must be 1..64");
	unsigned char raw[64];
	size_t got = 0;
	while (got < (size_t)n) {
		ssize_t r = getrandom(raw + got, (size_t)n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return luaL_error(L, "getrandom: %s", strerror(errno));
		got += (size_t)r;
	}
	char hex[129];
	for (size_t i = 0; i < got; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	lua_pushlstring(L, hex, 2 * got);
	return 1;
}

/* t:param(name [, default]) -> the value of --param name=value, else default (or nil). */
static int l_test_param(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	size_t n;
	const char *name = luaL_checklstring(L, 2, &n);
	for (const char **p = lc->ctx->params; p != NULL && *p != NULL; p++) {
		if (strncmp(*p, name, n) == 0 && (*p)[n] == '=') {
			lua_pushstring(L, *p + n + 1);
			return 1;
		}
	}
	lua_settop(L, 3);
	return 1;
}

/* t:has_cap(name) -> bool: whether the target's probed capabilities include name
   (case-insensitive; "AUTH=PLAIN" style names for IMAP). */
static int l_test_has_cap(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	const char *name = luaL_checkstring(L, 2);
	lua_pushboolean(L, lc->ctx->caps != NULL && mh_caps_has(lc->ctx->caps, name));
	return 1;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Skips a leading `t` so both t.base64(s) and t:base64(s) work. */
static int data_arg(lua_State *L)
{
	return luaL_testudata(L, 1, MH_LUA_TEST_MT) != NULL ? 2 : 1;
}

/* base64(s) -> string: RFC 4648 base64 with padding. */
static int l_base64_encode(lua_State *L)
{
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, data_arg(L), &n);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		char out[4] = {b64chars[(v >> 18) & 63], b64chars[(v >> 12) & 63],
		               i + 1 < n ? b64chars[(v >> 6) & 63] : '=',
		               i + 2 < n ? b64chars[v & 63] : '='};
		luaL_addlstring(&b, out, 4);
	}
	luaL_pushresult(&b);
	return 1;
}

static int b64val(unsigned char c)
{
	const char *p = c != 0 ? strchr(b64chars, c) : NULL;
	return p != NULL ? (int)(p - b64chars) : -1;
}

/* unbase64(s) -> string | nil, "invalid base64". Padding may be omitted; nothing else is
   tolerated (no whitespace, no characters outside the alphabet). */
static int l_base64_decode(lua_State *L)
{
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, data_arg(L), &n);
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1) {
		lua_pushnil(L);
		lua_pushliteral(L, "invalid base64");
		return 2;
	}
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);
		if (v < 0) {
			lua_pushnil(L);
			lua_pushliteral(L, "invalid base64");
			return 2;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			luaL_addchar(&b, (char)((acc >> bits) & 0xff));
		}
	}
	luaL_pushresult(&b);
	return 1;
}

static const luaL_Reg test_methods[] = {
    {"expect", l_test_expect},
    {"check", l_test_check},
    {"fail", l_test_fail},
    {"skip", l_test_skip},
    {"log", l_test_log},
    {"sleep", l_test_sleep},
    {"random_hex", l_test_random_hex},
    {"param", l_test_param},
    {"has_cap", l_test_has_cap},
    {"base64", l_base64_encode},
    {"unbase64", l_base64_decode},
    {NULL, NULL},
};

static const luaL_Reg base64_funcs[] = {
    {"encode", l_base64_encode},
    {"decode", l_base64_decode},
    {NULL, NULL},
};

/* require "mh.base64" -> {encode = base64, decode = unbase64} */
static int open_base64(lua_State *L)
{
	luaL_newlib(L, base64_funcs);
	return 1;
}

/* t[k] -> method, else a field of the test object (user, password, caps, ...). */
static int l_test_index(lua_State *L)
{
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
		return 1;
	lua_getiuservalue(L, 1, 1);
	lua_pushvalue(L, 2);
	lua_rawget(L, -2);
	return 1;
}

/* t[k] = v: scripts may keep their own fields on t. */
static int l_test_newindex(lua_State *L)
{
	lua_getiuservalue(L, 1, 1);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	lua_rawset(L, -3);
	return 0;
}

/* tostring(t) -> "mailharness.test <id>" */
static int l_test_tostring(lua_State *L)
{
	struct mh_lua_case *lc = check_test(L, 1);
	lua_pushfstring(L, "mailharness.test %s", lc->meta->id);
	return 1;
}

void mh_lua_test_openlib(lua_State *L)
{
	luaL_newmetatable(L, MH_LUA_STOP_MT);
	lua_pop(L, 1);

	luaL_newmetatable(L, MH_LUA_TEST_MT);
	lua_newtable(L); /* methods */
	luaL_setfuncs(L, test_methods, 0);
	lua_getglobal(L, "string");
	lua_getfield(L, -1, "match");
	lua_remove(L, -2);
	lua_pushcclosure(L, l_test_expect_match, 1);
	lua_setfield(L, -2, "expect_match");
	lua_pushvalue(L, -1);
	lua_pushcclosure(L, l_test_index, 1);
	lua_setfield(L, -3, "__index");
	lua_setfield(L, -2, "methods"); /* lua_conn.c adds connect / try_connect here */
	lua_pushcfunction(L, l_test_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, l_test_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);

	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, open_base64);
	lua_setfield(L, -2, "mh.base64");
	lua_pop(L, 1);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
	if (v == NULL)
		return;
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

void mh_lua_test_push(lua_State *L, struct mh_lua_case *lc)
{
	const struct mh_case_ctx *ctx = lc->ctx;
	struct mh_lua_test *t = lua_newuserdatauv(L, sizeof(*t), 1);
	t->lc = lc;
	lua_newtable(L);
	set_str(L, "user", ctx->user);
	set_str(L, "password", ctx->password);
	if (ctx->target != NULL) {
		set_str(L, "proto", mh_proto_name(ctx->target->proto));
		set_str(L, "url", ctx->target->url);
		set_str(L, "host", ctx->target->host);
		lua_pushinteger(L, ctx->target->port);
		lua_setfield(L, -2, "port");
		set_str(L, "tls", mh_tls_mode_name(ctx->target->tls));
		if (ctx->profile != NULL)
			set_str(L, "profile", ctx->profile);
	}
	set_str(L, "id", lc->meta->id);
	set_str(L, "title", lc->meta->title);
	set_str(L, "rfc", lc->meta->rfc);
	set_str(L, "level", mh_level_name(lc->meta->level));
	lua_newtable(L);
	for (size_t i = 0; ctx->caps != NULL && i < ctx->caps->n; i++) {
		lua_pushstring(L, ctx->caps->value[i] != NULL ? ctx->caps->value[i] : "");
		lua_setfield(L, -2, ctx->caps->name[i]);
	}
	lua_setfield(L, -2, "caps");
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, MH_LUA_TEST_MT);
}

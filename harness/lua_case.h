/* lua_case.h: private interface of the Lua runtime's three files: lua_rt.c (states, limits,
   case{} declarations, verdicts), lua_test.c (the `t` object: assertions, params, helpers) and
   lua_conn.c (connection userdata). Not used outside them. */
#ifndef MH_LUA_CASE_H
#define MH_LUA_CASE_H

#include <lua.h>

#include "lua_rt.h"

#define MH_LUA_CONN_MT  "mailharness.conn"
#define MH_LUA_TEST_MT  "mailharness.test"
#define MH_LUA_STOP_MT  "mailharness.stop" /* t:skip / t:fail sentinel error objects */
#define MH_LUA_CASE_KEY "mailharness.case" /* registry: light userdata, the running case */

struct mh_lua_conn;

/* One running case: what every t method and connection needs. Lives on mh_lua_run_case's stack
   and outlives the lua_State (lua_close runs the finalizers that still refer to it). */
struct mh_lua_case {
	const struct mh_lua_env *env;
	const struct mh_case_meta *meta;
	struct mh_case_ctx *ctx;
	int64_t start_ms;    /* mh_now_ms() when the case started */
	int64_t deadline_ms; /* start + time limit */
	int64_t time_limit_ms;
	int next_conn_id;
	char last_error[640]; /* last network error of any connection, for t:expect(nil, ...) */
	struct mh_lua_conn **conns; /* open connection objects (weak: __gc removes itself) */
	size_t nconns, conns_cap;
};

/* Why a script stopped early without an error. */
enum mh_lua_stop { MH_LUA_STOP_NONE, MH_LUA_STOP_SKIP, MH_LUA_STOP_FAIL };

/* The running case of L, or NULL (list mode). */
struct mh_lua_case *mh_lua_case_get(lua_State *L);
/* Raises "time limit of N ms exceeded" and makes the hook fire on every instruction from now on,
   so a script cannot swallow the error with pcall and go on. Never returns. */
int mh_lua_case_time_error(lua_State *L, struct mh_lua_case *lc);
/* Appends s[0..n) with every occurrence of secret (may be NULL or "") replaced by "[redacted]". */
void mh_lua_case_scrub(struct mh_buf *out, const char *s, size_t n, const char *secret);

/* lua_test.c: creates the test object's and the stop sentinel's metatables and the preloaded
   module "mh.base64". Call once per state. */
void mh_lua_test_openlib(lua_State *L);
/* Pushes the `t` object of case lc. */
void mh_lua_test_push(lua_State *L, struct mh_lua_case *lc);
/* If the value at idx is a t:skip / t:fail sentinel returns its kind and points *reason_r (may be
   NULL) at its reason, valid while the value stays on the stack; else MH_LUA_STOP_NONE. */
enum mh_lua_stop mh_lua_test_stop_kind(lua_State *L, int idx, const char **reason_r);
/* Raises the t:skip / t:fail sentinel with reason (never returns). */
int mh_lua_test_raise_stop(lua_State *L, enum mh_lua_stop kind, const char *reason);
/* Records a transcript event (dir '*', connection 0), scrubbed of the password. */
void mh_lua_test_log(struct mh_lua_case *lc, const char *msg, size_t n);

/* lua_conn.c: creates the connection metatable and adds t:connect / t:try_connect to the
   method table at the top of the stack. */
void mh_lua_conn_openlib(lua_State *L);
/* Closes every connection the case still has open (the userdata stay valid, marked closed). */
void mh_lua_conn_close_all(struct mh_lua_case *lc);

#endif

/* lua_rt.c: the Lua 5.4 runtime: one fresh, sandboxed state per listed file and per run case,
   with a memory cap (counting allocator), a time limit (count hook) and protected calls with a
   traceback. Collects case{} declarations and turns the script's end into a verdict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_case.h"
#include "lua_rt.h"
#include "profile.h"

#define RT_DEFAULT_MEM     (64u * 1024 * 1024)
#define RT_DEFAULT_TIME_MS 60000
#define RT_HOOK_COUNT      1000  /* instructions between deadline checks */
#define RT_LIST_TIME_MS    10000 /* loading a file to list its cases: top-level code only */
#define RT_CASES_KEY       "mailharness.cases" /* registry: id -> case table */
#define RT_REASON_FRAMES   3                   /* traceback frames kept in a one-line reason */

/* Per-state bookkeeping; also the allocator's ud, so the hook finds it with lua_getallocf. */
struct rt_state {
	size_t used, limit;
	bool limit_hit;
	int64_t deadline_ms;
	int64_t time_limit_ms;
	const char *file;
	char dir_proto[8]; /* "smtp" / "imap" / "pop3" from the file's directory, or "" */
	char libdir[4096];
	int ncalls;                 /* case{} calls so far, for "case #N" in messages */
	struct mh_case_meta *metas; /* declared cases (C copies), owned until handed out */
	size_t nmetas, metas_cap;
	struct mh_lua_case *lc; /* run mode */
	enum { RT_PHASE_SETUP, RT_PHASE_LOAD, RT_PHASE_RUN } phase;
	char skip_reason[512]; /* run mode: set when a precondition skips the case */
};

static struct rt_state *rt_of(lua_State *L)
{
	void *ud = NULL;
	lua_getallocf(L, &ud);
	return ud;
}

/* The counting allocator: refuses growth past the limit, so Lua raises a memory error. */
static void *rt_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct rt_state *rt = ud;
	size_t old = ptr != NULL ? osize : 0;

	if (nsize == 0) {
		free(ptr);
		rt->used -= old;
		return NULL;
	}
	if (nsize > old && rt->used - old + nsize > rt->limit) {
		rt->limit_hit = true;
		return NULL;
	}
	void *p = realloc(ptr, nsize);
	if (p == NULL)
		return NULL;
	rt->used = rt->used - old + nsize;
	return p;
}

/* Count hook: raises the time-limit error once the deadline has passed. */
static void rt_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct rt_state *rt = rt_of(L);
	if (mh_now_ms() < rt->deadline_ms)
		return;
	lua_sethook(L, rt_hook, LUA_MASKCOUNT, 1);
	luaL_error(L, "time limit of %d ms exceeded", (int)rt->time_limit_ms);
}

struct mh_lua_case *mh_lua_case_get(lua_State *L)
{
	return rt_of(L)->lc;
}

int mh_lua_case_time_error(lua_State *L, struct mh_lua_case *lc)
{
	(void)lc;
	struct rt_state *rt = rt_of(L);
	lua_sethook(L, rt_hook, LUA_MASKCOUNT, 1);
	return luaL_error(L, "time limit of %d ms exceeded", (int)rt->time_limit_ms);
}

void mh_lua_case_scrub(struct mh_buf *out, const char *s, size_t n, const char *secret)
{
	if (s == NULL)
		return;
	size_t sl = secret != NULL ? strlen(secret) : 0;
	size_t i = 0;
	while (i < n) {
		if (sl > 0 && n - i >= sl && memcmp(s + i, secret, sl) == 0) {
			mh_buf_append_str(out, "[redacted]");
			i += sl;
		} else {
			mh_buf_append(out, s + i, 1);
			i++;
		}
	}
}

/* Message handler: t:skip / t:fail sentinels pass through, anything else gets a traceback. */
static int rt_msgh(lua_State *L)
{
	if (mh_lua_test_stop_kind(L, 1, NULL) != MH_LUA_STOP_NONE)
		return 1;
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg =
			    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* print(...) -> nothing. Scripts must not write to the runner's stdout: in a running case the
   text becomes a transcript event, in list mode it is dropped. */
static int l_print(lua_State *L)
{
	struct mh_lua_case *lc = mh_lua_case_get(L);
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	if (lc != NULL) {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);
		mh_lua_test_log(lc, s, len);
	}
	return 0;
}

/* load(chunk [, chunkname [, mode [, env]]]) -> function | nil, err. The base library's load
   (upvalue 1) with the mode forced to text: binary chunks can crash the interpreter. */
static int l_load_text(lua_State *L)
{
	lua_settop(L, 4);
	lua_pushstring(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 4, LUA_MULTRET);
	return lua_gettop(L);
}

/* loadfile([filename [, mode [, env]]]) -> function | nil, err. Text chunks only. */
static int l_loadfile_text(lua_State *L)
{
	const char *fname = luaL_optstring(L, 1, NULL);
	int env = !lua_isnone(L, 3) ? 3 : 0;
	if (luaL_loadfilex(L, fname, "t") != LUA_OK) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	if (env != 0) {
		lua_pushvalue(L, env);
		if (!lua_setupvalue(L, -2, 1))
			lua_pop(L, 1);
	}
	return 1;
}

/* dofile([filename]) -> the chunk's results. Text chunks only; errors propagate. */
static int l_dofile_text(lua_State *L)
{
	const char *fname = luaL_optstring(L, 1, NULL);
	lua_settop(L, 1);
	if (luaL_loadfilex(L, fname, "t") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, LUA_MULTRET);
	return lua_gettop(L) - 1;
}

static const char *const known_fields[] = {
    "id", "title", "rfc", "level", "run", "requires", "proto", "destructive", "profile", "profiles",
};

/* Field name of case table idx as an optional string; raises a "case #N" error on a wrong type. */
static const char *case_string(lua_State *L, int idx, const char *field, bool required,
                               const char *where)
{
	int t = lua_getfield(L, idx, field);
	if (t == LUA_TNIL && !required) {
		lua_pop(L, 1);
		return NULL;
	}
	if (t != LUA_TSTRING || lua_rawlen(L, -1) == 0)
		luaL_error(L, "%s: %s field '%s' (a non-empty string)", where,
		           t == LUA_TNIL ? "missing" : "wrong type or empty", field);
	const char *s = lua_tostring(L, -1);
	lua_pop(L, 1); /* still referenced by the case table */
	return s;
}

static bool id_valid(const char *id)
{
	for (const char *p = id; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch >= 0x7f)
			return false;
	}
	return true;
}

/*
 * case{id=, title=, rfc=, level=, run=, [requires=, proto=, destructive=, profile= | profiles=]}
 * -> nothing. profile is one name, profiles a list of names (profile.h); stored comma-joined.
 * Validates the declaration (wrong or missing fields, unknown fields, duplicate ids raise
 * "case #N (id): ...") and records it in the registry and in the C list of the state.
 */
static int l_case(lua_State *L)
{
	struct rt_state *rt = rt_of(L);
	int index = ++rt->ncalls;
	char where[160];
	snprintf(where, sizeof(where), "case #%d", index);
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);

	const char *id = case_string(L, 1, "id", true, where);
	snprintf(where, sizeof(where), "case #%d (%.100s)", index, id);
	if (!id_valid(id))
		return luaL_error(L, "%s: id must not contain spaces or control characters", where);
	const char *title = case_string(L, 1, "title", true, where);
	const char *rfc = case_string(L, 1, "rfc", true, where);
	const char *level_s = case_string(L, 1, "level", true, where);
	int level = mh_level_from_name(level_s);
	if (level < 0 || strcmp(level_s, mh_level_name((enum mh_level)level)) != 0)
		return luaL_error(L,
		                  "%s: level must be \"MUST\", \"SHOULD\" or \"MAY\", not \"%s\"",
		                  where, level_s);
	if (lua_getfield(L, 1, "run") != LUA_TFUNCTION)
		return luaL_error(L, "%s: %s field 'run' (a function)", where,
		                  lua_isnil(L, -1) ? "missing" : "wrong type for");
	lua_pop(L, 1);
	const char *requires = case_string(L, 1, "requires", false, where);
	const char *proto = case_string(L, 1, "proto", false, where);
	const char *profile = case_string(L, 1, "profile", false, where);
	char plist[8 * 64 + 1]; /* at most 8 names of at most 63 bytes, comma-separated */
	int pidx = lua_gettop(L) + 1;
	int pt = lua_getfield(L, 1, "profiles");
	if (pt != LUA_TNIL) {
		if (profile != NULL)
			return luaL_error(L, "%s: give 'profile' or 'profiles', not both", where);
		lua_Integer np = pt == LUA_TTABLE ? luaL_len(L, pidx) : 0;
		if (np < 1 || np > 8)
			return luaL_error(
			    L, "%s: field 'profiles' must be a list of 1 to 8 profile names",
			    where);
		size_t used = 0;
		for (lua_Integer i = 1; i <= np; i++) {
			size_t l = 0;
			const char *nm =
			    lua_geti(L, pidx, i) == LUA_TSTRING ? lua_tolstring(L, -1, &l) : NULL;
			if (nm == NULL || l == 0 || l > 63 || strchr(nm, ',') != NULL)
				return luaL_error(L, "%s: profiles[%d] is not a profile name",
				                  where, (int)i);
			used += (size_t)snprintf(plist + used, sizeof(plist) - used, "%s%s",
			                         i > 1 ? "," : "", nm);
			lua_pop(L, 1);
		}
		profile = plist;
	}
	lua_pop(L, 1);
	int dt = lua_getfield(L, 1, "destructive");
	if (dt != LUA_TNIL && dt != LUA_TBOOLEAN)
		return luaL_error(L, "%s: field 'destructive' must be a boolean", where);
	bool destructive = lua_toboolean(L, -1);
	lua_pop(L, 1);

	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		bool known = false;
		if (lua_type(L, -2) == LUA_TSTRING) {
			const char *k = lua_tostring(L, -2);
			for (size_t i = 0; i < MH_ARRAY_SIZE(known_fields); i++)
				known = known || strcmp(k, known_fields[i]) == 0;
		}
		if (!known) {
			lua_pop(L, 1);
			return luaL_error(L, "%s: unknown field '%s'", where,
			                  luaL_tolstring(L, -1, NULL));
		}
		lua_pop(L, 1);
	}

	if (proto == NULL)
		proto = rt->dir_proto[0] != '\0' ? rt->dir_proto : NULL;
	if (proto == NULL)
		return luaL_error(L,
		                  "%s: no proto: declare proto = \"smtp\" | \"imap\" | \"pop3\" or "
		                  "put the file in a directory of that name",
		                  where);
	if (mh_proto_from_name(proto) < 0)
		return luaL_error(L, "%s: proto must be \"smtp\", \"imap\" or \"pop3\", not \"%s\"",
		                  where, proto);
	struct mh_error perr;
	mh_error_init(&perr);
	if (mh_profile_check_case(profile, (enum mh_proto_id)mh_proto_from_name(proto), &perr) != 0)
		return luaL_error(L, "%s: %s", where, perr.msg);

	lua_getfield(L, LUA_REGISTRYINDEX, RT_CASES_KEY);
	if (lua_getfield(L, -1, id) != LUA_TNIL)
		return luaL_error(L, "%s: duplicate case id '%s' in this file", where, id);
	lua_pop(L, 1);
	lua_pushvalue(L, 1);
	lua_setfield(L, -2, id);
	lua_pop(L, 1);

	/* No Lua calls from here on: the C copies cannot leak through a Lua error. */
	if (rt->nmetas == rt->metas_cap) {
		rt->metas_cap = rt->metas_cap ? rt->metas_cap * 2 : 16;
		rt->metas = mh_realloc(rt->metas, rt->metas_cap * sizeof(*rt->metas));
	}
	struct mh_case_meta *m = &rt->metas[rt->nmetas++];
	memset(m, 0, sizeof(*m));
	m->id = mh_strdup(id);
	m->title = mh_strdup(title);
	m->rfc = mh_strdup(rfc);
	m->level = (enum mh_level)level;
	m->proto = mh_strdup(proto);
	m->capability = mh_strdup(requires);
	m->file = mh_strdup(rt->file);
	m->destructive = destructive;
	m->profile = mh_strdup(profile);
	return 0;
}

void mh_case_meta_deinit(struct mh_case_meta *m)
{
	free(m->id);
	free(m->title);
	free(m->rfc);
	free(m->proto);
	free(m->capability);
	free(m->file);
	free(m->profile);
	memset(m, 0, sizeof(*m));
}

static void rt_init(struct rt_state *rt, const struct mh_lua_env *env, const char *file)
{
	memset(rt, 0, sizeof(*rt));
	rt->limit = env->mem_limit > 0 ? env->mem_limit : RT_DEFAULT_MEM;
	rt->time_limit_ms = env->time_limit_ms > 0 ? env->time_limit_ms : RT_DEFAULT_TIME_MS;
	rt->deadline_ms = mh_now_ms() + rt->time_limit_ms;
	rt->file = file;

	/* The directory holding the file names its protocol: scripts/smtp/x.lua -> "smtp". */
	const char *slash = strrchr(file, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - file) : 0;
	const char *dir = file;
	for (size_t i = 0; i < dlen; i++)
		if (file[i] == '/')
			dir = file + i + 1;
	size_t blen = slash != NULL ? (size_t)(slash - dir) : 0;
	static const char *const protos[] = {"smtp", "imap", "pop3"};
	for (size_t i = 0; i < MH_ARRAY_SIZE(protos); i++)
		if (blen == strlen(protos[i]) && strncmp(dir, protos[i], blen) == 0)
			snprintf(rt->dir_proto, sizeof(rt->dir_proto), "%s", protos[i]);

	/* Library directory: the runner's, else the suite's sibling "lib" (scripts/smtp ->
	 * scripts/lib). */
	if (env->libdir != NULL)
		snprintf(rt->libdir, sizeof(rt->libdir), "%s", env->libdir);
	else if (slash != NULL && dir > file)
		snprintf(rt->libdir, sizeof(rt->libdir), "%.*slib", (int)(dir - file), file);
	else
		snprintf(rt->libdir, sizeof(rt->libdir), "%s", "../lib");
}

static void rt_deinit(struct rt_state *rt)
{
	for (size_t i = 0; i < rt->nmetas; i++)
		mh_case_meta_deinit(&rt->metas[i]);
	free(rt->metas);
	rt->metas = NULL;
	rt->nmetas = 0;
}

/* Sets a field of the table at the top of the stack to nil. */
static void unset(lua_State *L, const char *lib, const char *name)
{
	if (lua_getglobal(L, lib) == LUA_TTABLE) {
		lua_pushnil(L);
		lua_setfield(L, -2, name);
	}
	lua_pop(L, 1);
}

/* Opens the standard libraries and removes what a test script must not do: run programs, end
   the process, touch files by name, load C code or binary chunks, print to stdout. */
static void rt_sandbox(lua_State *L, struct rt_state *rt)
{
	luaL_openlibs(L);
	unset(L, "os", "execute");
	unset(L, "os", "exit");
	unset(L, "os", "remove");
	unset(L, "os", "rename");
	unset(L, "os", "tmpname");
	unset(L, "os", "setlocale");
	unset(L, "io", "popen");
	unset(L, "package", "loadlib");

	lua_getglobal(L, "package");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", rt->libdir, rt->libdir);
	lua_setfield(L, -2, "path");
	lua_pushliteral(L, "");
	lua_setfield(L, -2, "cpath");
	/* keep the preload and Lua searchers only */
	lua_getfield(L, -1, "searchers");
	for (lua_Integer i = luaL_len(L, -1); i > 2; i--) {
		lua_pushnil(L);
		lua_seti(L, -2, i);
	}
	lua_pop(L, 2);

	lua_getglobal(L, "load");
	lua_pushcclosure(L, l_load_text, 1);
	lua_setglobal(L, "load");
	lua_register(L, "loadfile", l_loadfile_text);
	lua_register(L, "dofile", l_dofile_text);
	lua_register(L, "print", l_print);
	lua_register(L, "case", l_case);

	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, RT_CASES_KEY);
	mh_lua_test_openlib(L);
	mh_lua_conn_openlib(L);
}

/* Protected body of mh_lua_list: sandbox, load and run the file (its case{} calls declare). */
static int rt_list_main(lua_State *L)
{
	struct rt_state *rt = lua_touserdata(L, 1);
	rt_sandbox(L, rt);
	rt->phase = RT_PHASE_LOAD;
	if (luaL_loadfilex(L, rt->file, "t") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

/* Turns an error value into one line: its first line plus up to RT_REASON_FRAMES Lua frames. */
static void one_line_reason(struct mh_buf *out, const char *msg)
{
	const char *nl = strchr(msg, '\n');
	mh_buf_append(out, msg, nl != NULL ? (size_t)(nl - msg) : strlen(msg));
	const char *tb = strstr(msg, "\nstack traceback:\n");
	if (tb == NULL)
		return;
	int frames = 0;
	for (const char *p = tb + 18; *p != '\0' && frames < RT_REASON_FRAMES;) {
		while (*p == '\t' || *p == ' ')
			p++;
		const char *e = strchr(p, '\n');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n > 0 && strncmp(p, "[C]", 3) != 0) {
			mh_buf_append_str(out, frames == 0 ? " [at " : "; ");
			mh_buf_append(out, p, n);
			frames++;
		}
		p += n + (e != NULL);
	}
	if (frames > 0)
		mh_buf_append_str(out, "]");
}

static void error_message(lua_State *L, struct rt_state *rt, int status, struct mh_buf *out)
{
	if (status == LUA_ERRMEM) {
		if (rt->limit_hit)
			mh_buf_printf(out, "memory limit of %zu bytes exceeded", rt->limit);
		else
			mh_buf_append_str(out, "out of memory");
		return;
	}
	const char *msg = lua_tostring(L, -1);
	mh_buf_append_str(out, msg != NULL ? msg : "(error object is not a string)");
}

int mh_lua_list(const struct mh_lua_env *env, const char *file, struct mh_case_meta **cases_r,
                size_t *n_r, struct mh_error *err)
{
	struct rt_state rt;
	rt_init(&rt, env, file);
	if (rt.time_limit_ms > RT_LIST_TIME_MS) {
		rt.time_limit_ms = RT_LIST_TIME_MS;
		rt.deadline_ms = mh_now_ms() + rt.time_limit_ms;
	}
	lua_State *L = lua_newstate(rt_alloc, &rt);
	if (L == NULL) {
		mh_error_set(err, "%s: cannot create a Lua state (memory limit %zu bytes)", file,
		             rt.limit);
		return -1;
	}
	lua_sethook(L, rt_hook, LUA_MASKCOUNT, RT_HOOK_COUNT);
	lua_pushcfunction(L, rt_msgh);
	lua_pushcfunction(L, rt_list_main);
	lua_pushlightuserdata(L, &rt);
	int status = lua_pcall(L, 1, 0, 1);
	if (status != LUA_OK) {
		struct mh_buf msg;
		mh_buf_init(&msg);
		error_message(L, &rt, status, &msg);
		struct mh_buf line;
		mh_buf_init(&line);
		/* Lua's messages already start with "file:line:"; others get the file name and
		   where the file was when it failed (time and memory limits). */
		const char *m = mh_buf_cstr(&msg);
		if (strncmp(m, file, strlen(file)) == 0) {
			const char *nl = strchr(m, '\n');
			mh_buf_append(&line, m, nl != NULL ? (size_t)(nl - m) : strlen(m));
			mh_error_set(err, "%s", mh_buf_cstr(&line));
		} else {
			one_line_reason(&line, m);
			mh_error_set(err, "%s: %s", file, mh_buf_cstr(&line));
		}
		mh_buf_deinit(&line);
		mh_buf_deinit(&msg);
		lua_close(L);
		rt_deinit(&rt);
		return -1;
	}
	lua_close(L);

	for (size_t i = 0; i < rt.nmetas; i++) {
		for (size_t j = 0; j < *n_r; j++) {
			if (strcmp((*cases_r)[j].id, rt.metas[i].id) == 0) {
				mh_error_set(err,
				             "%s: duplicate case id '%s' (already declared in %s)",
				             file, rt.metas[i].id, (*cases_r)[j].file);
				rt_deinit(&rt);
				return -1;
			}
		}
	}
	if (rt.nmetas > 0) {
		*cases_r = mh_realloc(*cases_r, (*n_r + rt.nmetas) * sizeof(**cases_r));
		memcpy(*cases_r + *n_r, rt.metas, rt.nmetas * sizeof(*rt.metas));
		*n_r += rt.nmetas;
	}
	free(rt.metas);
	return 0;
}

/* Whether the target advertises capability name: the probed set, or the set seen before a
   STARTTLS upgrade (a case that upgrades itself needs "STARTTLS" from the plain session). */
static bool target_has_cap(const struct mh_case_ctx *ctx, const char *name)
{
	if (ctx->caps != NULL && mh_caps_has(ctx->caps, name))
		return true;
	if (ctx->info == NULL)
		return false;
	size_t n = strlen(name);
	for (size_t i = 0; i < ctx->info->ncaps_before; i++) {
		const char *line = ctx->info->caps_before[i];
		if (line != NULL && mh_strncaseeq(line, name, n) &&
		    (line[n] == '\0' || line[n] == ' '))
			return true;
	}
	return false;
}

/* Protected body of mh_lua_run_case: sandbox, load the file, check the preconditions, run(t). */
static int rt_run_main(lua_State *L)
{
	struct rt_state *rt = lua_touserdata(L, 1);
	struct mh_lua_case *lc = rt->lc;
	const struct mh_case_meta *meta = lc->meta;
	const struct mh_case_ctx *ctx = lc->ctx;

	rt_sandbox(L, rt);
	rt->phase = RT_PHASE_LOAD;
	if (luaL_loadfilex(L, rt->file, "t") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	lua_getfield(L, LUA_REGISTRYINDEX, RT_CASES_KEY);
	if (lua_getfield(L, -1, meta->id) != LUA_TTABLE)
		return luaL_error(L, "case '%s' is not declared in %s", meta->id, rt->file);
	rt->phase = RT_PHASE_RUN;

	const char *target_proto = ctx->target != NULL ? mh_proto_name(ctx->target->proto) : "?";
	char why[300];
	if (meta->proto != NULL && strcmp(meta->proto, target_proto) != 0) {
		snprintf(why, sizeof(why), "case is for %s, the target speaks %s", meta->proto,
		         target_proto);
		return mh_lua_test_raise_stop(L, MH_LUA_STOP_SKIP, why);
	}
	if (meta->destructive && !ctx->allow_destructive)
		return mh_lua_test_raise_stop(L, MH_LUA_STOP_SKIP,
		                              "destructive; run with --allow-destructive");
	if (meta->capability != NULL && !target_has_cap(ctx, meta->capability)) {
		snprintf(why, sizeof(why), "server does not advertise %s", meta->capability);
		return mh_lua_test_raise_stop(L, MH_LUA_STOP_SKIP, why);
	}

	lua_getfield(L, -1, "run");
	mh_lua_test_push(L, lc);
	lua_call(L, 1, 0);
	return 0;
}

static bool any_failed(const struct mh_case_result *c)
{
	for (size_t i = 0; i < c->nchecks; i++)
		if (c->checks[i].verdict == MH_V_FAIL)
			return true;
	return false;
}

static void set_outcome(struct mh_case_result *c, enum mh_verdict v, const char *reason)
{
	c->verdict = v;
	free(c->reason);
	c->reason = mh_strdup(reason);
}

/* Copies the case's metadata into the result if the runner has not. */
static void fill_result_meta(struct mh_case_result *c, const struct mh_case_meta *m)
{
	if (c->id != NULL)
		return;
	c->id = mh_strdup(m->id);
	c->title = mh_strdup(m->title);
	c->rfc = mh_strdup(m->rfc);
	c->level = m->level;
	c->proto = mh_strdup(m->proto);
	c->file = mh_strdup(m->file);
	c->capability = mh_strdup(m->capability);
}

void mh_lua_run_case(const struct mh_lua_env *env, const struct mh_case_meta *meta,
                     struct mh_case_ctx *ctx)
{
	struct mh_case_result *res = ctx->result;
	struct rt_state rt;
	rt_init(&rt, env, meta->file);
	struct mh_lua_case lc;
	memset(&lc, 0, sizeof(lc));
	lc.env = env;
	lc.meta = meta;
	lc.ctx = ctx;
	lc.start_ms = ctx->conn_opts.case_start_ms > 0 ? ctx->conn_opts.case_start_ms : mh_now_ms();
	lc.time_limit_ms = rt.time_limit_ms;
	lc.deadline_ms = rt.deadline_ms;
	rt.lc = &lc;
	fill_result_meta(res, meta);
	if (res->start_wall_ms == 0)
		res->start_wall_ms = mh_wall_ms();

	lua_State *L = lua_newstate(rt_alloc, &rt);
	if (L == NULL) {
		set_outcome(res, MH_V_ERROR, "cannot create a Lua state (memory limit too small?)");
		rt_deinit(&rt);
		return;
	}
	lua_sethook(L, rt_hook, LUA_MASKCOUNT, RT_HOOK_COUNT);
	lua_pushcfunction(L, rt_msgh);
	lua_pushcfunction(L, rt_run_main);
	lua_pushlightuserdata(L, &rt);
	int status = lua_pcall(L, 1, 0, 1);

	/* Connections close before the verdict: a close can still record checks. */
	mh_lua_conn_close_all(&lc);
	const char *stop_reason = NULL;
	enum mh_lua_stop stop =
	    status == LUA_ERRRUN ? mh_lua_test_stop_kind(L, -1, &stop_reason) : MH_LUA_STOP_NONE;
	if (status == LUA_OK || stop == MH_LUA_STOP_FAIL) {
		mh_case_finish(res);
	} else if (stop == MH_LUA_STOP_SKIP) {
		/* a failure recorded before the skip is still a finding */
		if (any_failed(res))
			mh_case_finish(res);
		else
			set_outcome(res, MH_V_SKIP, stop_reason != NULL ? stop_reason : "skipped");
	} else {
		struct mh_buf msg, line;
		mh_buf_init(&msg);
		mh_buf_init(&line);
		error_message(L, &rt, status, &msg);
		if (rt.phase != RT_PHASE_RUN)
			mh_buf_printf(&line, "error loading %s: ", meta->file);
		one_line_reason(&line, mh_buf_cstr(&msg));
		struct mh_buf ev;
		mh_buf_init(&ev);
		mh_buf_append_str(&ev, "script error: ");
		mh_buf_append(&ev, msg.data, msg.len);
		mh_lua_test_log(&lc, (const char *)ev.data, ev.len);
		struct mh_buf scrubbed;
		mh_buf_init(&scrubbed);
		mh_lua_case_scrub(&scrubbed, (const char *)line.data, line.len, ctx->password);
		set_outcome(res, MH_V_ERROR, mh_buf_cstr(&scrubbed));
		mh_buf_deinit(&scrubbed);
		mh_buf_deinit(&ev);
		mh_buf_deinit(&line);
		mh_buf_deinit(&msg);
	}
	lua_close(L);
	free(lc.conns);
	rt_deinit(&rt);
	if (res->duration_ms == 0)
		res->duration_ms = mh_now_ms() - lc.start_ms;
}

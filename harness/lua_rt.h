/* lua_rt.h: the Lua 5.4 runtime: loading suite files, listing their cases, running one case
   protected (traceback, time limit, memory limit). */
#ifndef MH_LUA_RT_H
#define MH_LUA_RT_H

#include "conn.h"
#include "result.h"
#include "spec.h"
#include "url.h"

struct mh_lua_env {
	const char *libdir;    /* directory of the Lua library (scripts/lib): package.path root */
	size_t mem_limit;      /* bytes per Lua state (default 64 MiB) */
	int64_t time_limit_ms; /* per case (default 60000) */
};

/* A case as declared by case{...} in a suite file. */
struct mh_case_meta {
	char *id;
	char *title;
	char *rfc;
	enum mh_level level;
	char *proto;      /* declared, or derived from the file's directory (smtp/imap/pop3) */
	char *capability; /* requires = "STARTTLS": SKIP when the target does not advertise it */
	char *file;
	bool destructive; /* runs only with --allow-destructive */
	char *profile;    /* profiles the case runs under, comma-separated ("mx,submission"), from
	                     case{profile=} or case{profiles={}}; NULL = under every profile */
};
void mh_case_meta_deinit(struct mh_case_meta *m);

/* Loads file in a fresh state and appends the metadata of the cases it declares to *cases_r
   (growing the array; *n_r updated). 0 / -1 with err (syntax error, duplicate id, missing field).
 */
int mh_lua_list(const struct mh_lua_env *env, const char *file, struct mh_case_meta **cases_r,
                size_t *n_r, struct mh_error *err);

/* Everything a running case gets from the runner. */
struct mh_case_ctx {
	const struct mh_target *target;
	struct mh_target_info *info; /* probed greeting/capabilities */
	const struct mh_caps
	    *caps; /* target capabilities (after STARTTLS when ?starttls), or NULL */
	const struct mh_spec *spec;    /* the table for target->proto */
	const char *user;              /* NULL if none given */
	const char *password;          /* NULL if none given; never printed */
	const char **params;           /* "key=value" strings from --param, NULL-terminated */
	struct mh_conn_opts conn_opts; /* base options for every connection of the case */
	struct mh_case_result *result; /* filled by the case: checks, transcript, cells, verdict */
	const char *profile; /* the profile in effect for the target (profile.h), or NULL */
	bool allow_destructive;
	bool verbose;
};

/* Runs case meta->id of meta->file with ctx. Always leaves a verdict in ctx->result: PASS/FAIL from
   the checks, SKIP (t:skip or missing capability), ERROR (script error with traceback, timeout,
   memory limit, network trouble the script did not handle) with reason. */
void mh_lua_run_case(const struct mh_lua_env *env, const struct mh_case_meta *meta,
                     struct mh_case_ctx *ctx);

#endif

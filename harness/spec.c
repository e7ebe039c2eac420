/* spec.c: loads and validates specs/<proto>.json (the command tables), looks up states, commands
   and rules, and matches replies against patterns. Formatting and lint live in spec_format.c. */
#include "spec.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX_BYTES       (1024 * 1024)
#define SPEC_MAX_STATES      64
#define SPEC_MAX_COMMANDS    256
#define SPEC_MAX_RULES       64
#define SPEC_MAX_OUTCOMES    64
#define SPEC_MAX_REFERENCES  64
#define SPEC_MAX_ALIASES     16
#define SPEC_MAX_SUBCOMMANDS 32
#define SPEC_MAX_REQUIRE     16
#define SPEC_MAX_TEXT        8192
#define SPEC_MAX_NAME        32

static const char *const level_names[] = {"MUST", "SHOULD", "MAY"};
static_assert(MH_ARRAY_SIZE(level_names) == MH_LEVEL_COUNT, "level_names out of sync");

static const char *const input_names[] = {"none", "command", "data", "line"};
static_assert(MH_ARRAY_SIZE(input_names) == MH_INPUT_COUNT, "input_names out of sync");

static const char *const multiline_names[] = {"never", "always", "no-args"};
static_assert(MH_ARRAY_SIZE(multiline_names) == MH_ML_COUNT, "multiline_names out of sync");

/* The pseudo commands the engine generates; no other '@' name is accepted. */
static const char *const pseudo_names[] = {"@greeting", "@end-of-data", "@continuation",
                                           "@unknown"};

/* Reply status tokens an IMAP or POP3 pattern may name (SMTP codes are checked apart). */
static const char *const imap_patterns[] = {"OK", "NO", "BAD", "PREAUTH", "BYE", "+"};
static const char *const pop3_patterns[] = {"+OK", "-ERR", "+"};

/* Allowed keys of each JSON object kind: anything else is an error (typos must not pass). */
static const char *const keys_root[] = {"$schema",    "protocol",       "spec_version", "title",
                                        "references", "initial_state",  "closed_state", "states",
                                        "disallowed", "not_advertised", "always",       "commands"};
static const char *const keys_state[] = {"description", "rfc", "input", "final", "matrix"};
static const char *const keys_ruleset[] = {"replies", "rfc", "level", "note"};
static const char *const keys_rule[] = {"in", "replies", "rfc", "level", "note"};
static const char *const keys_outcome[] = {"next", "require_untagged", "rfc", "level", "note"};
static const char *const keys_command[] = {"aliases",     "pseudo", "summary",    "syntax",
                                           "rfc",         "level",  "capability", "multiline",
                                           "subcommands", "rules",  "disallowed", "payload"};

const char *mh_level_name(enum mh_level l)
{
	return (unsigned)l < MH_LEVEL_COUNT ? level_names[l] : "?";
}

int mh_level_from_name(const char *s)
{
	for (size_t i = 0; s != NULL && i < MH_ARRAY_SIZE(level_names); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- loader ---- */

struct loader {
	const char *name; /* file name used in messages */
	struct mh_error *err;
	struct mh_spec *spec;
};

static int fail(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct loader *ld, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mh_error_set(ld->err, "%s: %s", ld->name, msg);
	return -1;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static int check_keys(struct loader *ld, json_t *obj, const char *where, const char *const *allowed,
                      size_t n)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (!in_list(key, allowed, n))
			return fail(ld, "%s: unknown key \"%.40s\"", where, key);
	}
	return 0;
}

static bool is_lower_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SPEC_MAX_NAME || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool is_verb(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SPEC_MAX_NAME || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* IMAP untagged response names and capability keywords: upper case and a few punctuation marks. */
static bool is_keyword(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr(extra, s[i]) != NULL))
			return false;
	return true;
}

/* Counts 1..max decimal digits at *p and advances; returns the count or 0. */
static size_t digits(const char **p, size_t max)
{
	size_t n = 0;
	while (**p >= '0' && **p <= '9' && n <= max) {
		(*p)++;
		n++;
	}
	return n <= max ? n : 0;
}

/* "RFC 5321 4.3.2": RFC number and a section of up to six numeric parts. */
static bool is_rfc(const char *s)
{
	if (strncmp(s, "RFC ", 4) != 0 || s[4] == '0')
		return false;
	const char *p = s + 4;
	if (digits(&p, 5) == 0 || *p++ != ' ')
		return false;
	for (int part = 0; part < 6; part++) {
		if (digits(&p, 2) == 0)
			return false;
		if (*p == '\0')
			return true;
		if (*p++ != '.')
			return false;
	}
	return false;
}

/* "RFC 5321" */
static bool is_reference(const char *s)
{
	if (strncmp(s, "RFC ", 4) != 0 || s[4] == '0')
		return false;
	const char *p = s + 4;
	return digits(&p, 5) > 0 && *p == '\0';
}

static bool smtp_pattern(const char *s)
{
	if (strlen(s) != 3 || s[0] < '2' || s[0] > '5')
		return false;
	if (s[1] == 'x' && s[2] == 'x')
		return true;
	return s[1] >= '0' && s[1] <= '5' && s[2] >= '0' && s[2] <= '9';
}

static bool pattern_valid(enum mh_proto_id proto, const char *s)
{
	switch (proto) {
	case MH_PROTO_SMTP: return smtp_pattern(s);
	case MH_PROTO_IMAP: return in_list(s, imap_patterns, MH_ARRAY_SIZE(imap_patterns));
	case MH_PROTO_POP3: return in_list(s, pop3_patterns, MH_ARRAY_SIZE(pop3_patterns));
	default: return false;
	}
}

/* Reads an optional string member into a new copy (*out stays NULL if absent). */
static int get_text(struct loader *ld, json_t *obj, const char *key, const char *where,
                    bool required, char **out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL) {
		if (required)
			return fail(ld, "%s: missing \"%s\"", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(ld, "%s.%s: not a string", where, key);
	size_t n = json_string_length(v);
	if (n == 0 || n > SPEC_MAX_TEXT || strlen(json_string_value(v)) != n)
		return fail(ld, "%s.%s: empty, NUL or longer than %d bytes", where, key,
		            SPEC_MAX_TEXT);
	*out = mh_strdup(json_string_value(v));
	return 0;
}

static int get_rfc(struct loader *ld, json_t *obj, const char *where, bool required, char **out)
{
	if (get_text(ld, obj, "rfc", where, required, out) != 0)
		return -1;
	if (*out != NULL && !is_rfc(*out))
		return fail(ld, "%s.rfc: \"%.40s\" is not \"RFC <number> <section>\"", where, *out);
	return 0;
}

static int get_level(struct loader *ld, json_t *obj, const char *where, bool required,
                     enum mh_level dflt, enum mh_level *out)
{
	json_t *v = json_object_get(obj, "level");
	*out = dflt;
	if (v == NULL)
		return required ? fail(ld, "%s: missing \"level\"", where) : 0;
	int l = json_is_string(v) ? mh_level_from_name(json_string_value(v)) : -1;
	if (l < 0)
		return fail(ld, "%s.level: not one of MUST, SHOULD, MAY", where);
	*out = (enum mh_level)l;
	return 0;
}

/* Reads an array of names checked by valid(); duplicates are errors. */
static int get_names(struct loader *ld, json_t *obj, const char *key, const char *where, size_t max,
                     bool (*valid)(const char *), char ***out, size_t *n_r)
{
	json_t *arr = json_object_get(obj, key);
	*out = NULL;
	*n_r = 0;
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > max)
		return fail(ld, "%s.%s: not an array of at most %zu names", where, key, max);
	size_t n = json_array_size(arr);
	*out = mh_calloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		if (s == NULL || strlen(s) != json_string_length(v) || !valid(s))
			return fail(ld, "%s.%s[%zu]: not a valid name", where, key, i);
		for (size_t j = 0; j < i; j++)
			if (strcmp((*out)[j], s) == 0)
				return fail(ld, "%s.%s: \"%s\" listed twice", where, key, s);
		(*out)[i] = mh_strdup(s);
		(*n_r)++;
	}
	return 0;
}

static bool valid_untagged(const char *s)
{
	return is_keyword(s, ".-", SPEC_MAX_NAME);
}

/* Resolves an outcome's "next": a state name, "same" or "return". */
static int resolve_next(struct loader *ld, json_t *v, const char *where, int *out)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	if (s == NULL)
		return fail(ld, "%s: next state is not a string", where);
	if (strcmp(s, "same") == 0) {
		*out = MH_STATE_SAME;
		return 0;
	}
	if (strcmp(s, "return") == 0) {
		*out = MH_STATE_RETURN;
		return 0;
	}
	int st = mh_spec_state_find(ld->spec, s);
	if (st < 0)
		return fail(ld, "%s: unknown state \"%.40s\"", where, s);
	*out = st;
	return 0;
}

static int parse_outcome(struct loader *ld, const char *pattern, json_t *v, const char *where,
                         const struct mh_spec_rule *rule, struct mh_spec_outcome *o)
{
	o->match = mh_strdup(pattern);
	o->level = rule->level;
	if (json_is_string(v))
		return resolve_next(ld, v, where, &o->next);
	if (!json_is_object(v))
		return fail(ld, "%s: an outcome is a state name or an object", where);
	if (check_keys(ld, v, where, keys_outcome, MH_ARRAY_SIZE(keys_outcome)) != 0)
		return -1;
	json_t *next = json_object_get(v, "next");
	if (next == NULL)
		return fail(ld, "%s: missing \"next\"", where);
	if (resolve_next(ld, next, where, &o->next) != 0 ||
	    get_names(ld, v, "require_untagged", where, SPEC_MAX_REQUIRE, valid_untagged,
	              &o->require_untagged, &o->nrequire) != 0 ||
	    get_rfc(ld, v, where, false, &o->rfc) != 0 ||
	    get_level(ld, v, where, false, rule->level, &o->level) != 0 ||
	    get_text(ld, v, "note", where, false, &o->note) != 0)
		return -1;
	if (json_object_get(v, "require_untagged") != NULL && o->nrequire == 0)
		return fail(ld, "%s.require_untagged: empty", where);
	return 0;
}

/* Parses "replies" into rule->outcomes. rfc and level must already be set on rule. */
static int parse_replies(struct loader *ld, json_t *obj, const char *where, bool nonempty,
                         struct mh_spec_rule *rule)
{
	json_t *replies = json_object_get(obj, "replies");
	if (replies == NULL)
		return fail(ld, "%s: missing \"replies\"", where);
	if (!json_is_object(replies))
		return fail(ld, "%s.replies: not an object", where);
	size_t n = json_object_size(replies);
	if (n > SPEC_MAX_OUTCOMES || (nonempty && n == 0))
		return fail(ld, "%s.replies: %zu entries (allowed %d..%d)", where, n,
		            nonempty ? 1 : 0, SPEC_MAX_OUTCOMES);
	rule->outcomes = mh_calloc(n ? n : 1, sizeof(*rule->outcomes));
	const char *pattern;
	json_t *v;
	json_object_foreach(replies, pattern, v)
	{
		char w[200];
		if (!pattern_valid(ld->spec->proto, pattern))
			return fail(ld, "%s.replies: \"%.20s\" is not a %s reply pattern", where,
			            pattern, mh_proto_name(ld->spec->proto));
		snprintf(w, sizeof(w), "%s.replies.%s", where, pattern);
		int rc = parse_outcome(ld, pattern, v, w, rule, &rule->outcomes[rule->noutcomes]);
		rule->noutcomes++;
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* A rule without states: disallowed, not_advertised, always, a command's own disallowed. */
static int parse_ruleset(struct loader *ld, json_t *obj, const char *where,
                         struct mh_spec_rule *rule)
{
	if (!json_is_object(obj))
		return fail(ld, "%s: not an object", where);
	if (check_keys(ld, obj, where, keys_ruleset, MH_ARRAY_SIZE(keys_ruleset)) != 0)
		return -1;
	json_t *replies = json_object_get(obj, "replies");
	bool any = json_is_object(replies) && json_object_size(replies) > 0;
	if (get_rfc(ld, obj, where, any, &rule->rfc) != 0 ||
	    get_level(ld, obj, where, any, MH_LEVEL_MUST, &rule->level) != 0 ||
	    get_text(ld, obj, "note", where, false, &rule->note) != 0)
		return -1;
	return parse_replies(ld, obj, where, false, rule);
}

static int parse_rule(struct loader *ld, json_t *obj, const char *where, struct mh_spec_rule *rule)
{
	if (!json_is_object(obj))
		return fail(ld, "%s: not an object", where);
	if (check_keys(ld, obj, where, keys_rule, MH_ARRAY_SIZE(keys_rule)) != 0)
		return -1;
	json_t *in = json_object_get(obj, "in");
	if (!json_is_array(in) || json_array_size(in) == 0 || json_array_size(in) > SPEC_MAX_STATES)
		return fail(ld, "%s.in: not a non-empty array of state names", where);
	rule->states = mh_calloc(json_array_size(in), sizeof(int));
	for (size_t i = 0; i < json_array_size(in); i++) {
		json_t *v = json_array_get(in, i);
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		int st = s != NULL ? mh_spec_state_find(ld->spec, s) : -1;
		if (s == NULL)
			return fail(ld, "%s.in[%zu]: not a string", where, i);
		if (st < 0)
			return fail(ld, "%s.in: unknown state \"%.40s\"", where, s);
		for (size_t j = 0; j < rule->nstates; j++)
			if (rule->states[j] == st)
				return fail(ld, "%s.in: state \"%s\" listed twice", where, s);
		rule->states[rule->nstates++] = st;
	}
	if (get_rfc(ld, obj, where, true, &rule->rfc) != 0 ||
	    get_level(ld, obj, where, true, MH_LEVEL_MUST, &rule->level) != 0 ||
	    get_text(ld, obj, "note", where, false, &rule->note) != 0)
		return -1;
	return parse_replies(ld, obj, where, true, rule);
}

static int parse_state(struct loader *ld, const char *name, json_t *obj, struct mh_spec_state *st)
{
	char where[80];
	snprintf(where, sizeof(where), "states.%s", name);
	if (!is_lower_name(name) || strcmp(name, "same") == 0 || strcmp(name, "return") == 0)
		return fail(ld, "states: \"%.40s\" is not a valid state name", name);
	st->name = mh_strdup(name);
	if (!json_is_object(obj))
		return fail(ld, "%s: not an object", where);
	if (check_keys(ld, obj, where, keys_state, MH_ARRAY_SIZE(keys_state)) != 0 ||
	    get_text(ld, obj, "description", where, true, &st->description) != 0 ||
	    get_rfc(ld, obj, where, true, &st->rfc) != 0)
		return -1;
	json_t *input = json_object_get(obj, "input");
	const char *in = json_is_string(input) ? json_string_value(input) : "";
	size_t i = 0;
	while (i < MH_ARRAY_SIZE(input_names) && strcmp(in, input_names[i]) != 0)
		i++;
	if (i == MH_ARRAY_SIZE(input_names))
		return fail(ld, "%s.input: not one of none, command, data, line", where);
	st->input = (enum mh_input)i;
	json_t *fin = json_object_get(obj, "final");
	if (fin != NULL && !json_is_boolean(fin))
		return fail(ld, "%s.final: not a boolean", where);
	st->final = fin != NULL && json_is_true(fin);
	json_t *mx = json_object_get(obj, "matrix");
	if (mx != NULL && !json_is_boolean(mx))
		return fail(ld, "%s.matrix: not a boolean", where);
	st->matrix_excluded = mx != NULL && json_is_false(mx);
	return 0;
}

static bool valid_verb(const char *s)
{
	return is_verb(s);
}

static int parse_command(struct loader *ld, const char *name, json_t *obj,
                         struct mh_spec_command *c)
{
	char where[80];
	snprintf(where, sizeof(where), "commands.%.40s", name);
	bool pseudo = name[0] == '@';
	if (pseudo ? !in_list(name, pseudo_names, MH_ARRAY_SIZE(pseudo_names)) : !is_verb(name))
		return fail(ld,
		            "commands: \"%.40s\" is not an upper-case verb or one of @greeting, "
		            "@end-of-data, @continuation, @unknown",
		            name);
	c->name = mh_strdup(name);
	c->pseudo = pseudo;
	if (!json_is_object(obj))
		return fail(ld, "%s: not an object", where);
	if (check_keys(ld, obj, where, keys_command, MH_ARRAY_SIZE(keys_command)) != 0)
		return -1;
	json_t *ps = json_object_get(obj, "pseudo");
	if (ps != NULL && !json_is_boolean(ps))
		return fail(ld, "%s.pseudo: not a boolean", where);
	if ((ps != NULL && json_is_true(ps) != pseudo) || (pseudo && ps == NULL))
		return fail(ld, "%s.pseudo: must be true exactly for names starting with '@'",
		            where);
	if (get_text(ld, obj, "summary", where, true, &c->summary) != 0 ||
	    get_text(ld, obj, "syntax", where, true, &c->syntax) != 0 ||
	    get_rfc(ld, obj, where, true, &c->rfc) != 0 ||
	    get_level(ld, obj, where, true, MH_LEVEL_MUST, &c->level) != 0 ||
	    get_text(ld, obj, "capability", where, false, &c->capability) != 0 ||
	    get_names(ld, obj, "aliases", where, SPEC_MAX_ALIASES, valid_verb, &c->aliases,
	              &c->naliases) != 0 ||
	    get_names(ld, obj, "subcommands", where, SPEC_MAX_SUBCOMMANDS, valid_verb,
	              &c->subcommands, &c->nsubcommands) != 0)
		return -1;
	if (c->capability != NULL && !is_keyword(c->capability, "_=.+-", 64))
		return fail(ld, "%s.capability: \"%.40s\" is not a capability keyword", where,
		            c->capability);
	if (json_object_get(obj, "subcommands") != NULL && c->nsubcommands == 0)
		return fail(ld, "%s.subcommands: empty", where);
	json_t *ml = json_object_get(obj, "multiline");
	c->multiline = MH_ML_NEVER;
	if (ml != NULL) {
		const char *m = json_is_string(ml) ? json_string_value(ml) : "";
		size_t i = 0;
		while (i < MH_ARRAY_SIZE(multiline_names) && strcmp(m, multiline_names[i]) != 0)
			i++;
		if (i == MH_ARRAY_SIZE(multiline_names))
			return fail(ld, "%s.multiline: not one of never, always, no-args", where);
		c->multiline = (enum mh_multiline)i;
	}
	json_t *pl = json_object_get(obj, "payload");
	if (pl != NULL) {
		if (!json_is_string(pl) || strcmp(json_string_value(pl), "first-arg-octets") != 0)
			return fail(ld, "%s.payload: only \"first-arg-octets\" is known", where);
		c->payload_first_arg = true;
	}
	json_t *rules = json_object_get(obj, "rules");
	if (!json_is_array(rules) || json_array_size(rules) == 0 ||
	    json_array_size(rules) > SPEC_MAX_RULES)
		return fail(ld, "%s.rules: not an array of 1..%d rules", where, SPEC_MAX_RULES);
	c->rules = mh_calloc(json_array_size(rules), sizeof(*c->rules));
	/* one rule per state: otherwise the verdict would depend on the rule order */
	int owner[SPEC_MAX_STATES];
	for (size_t st = 0; st < SPEC_MAX_STATES; st++)
		owner[st] = -1;
	for (size_t i = 0; i < json_array_size(rules); i++) {
		char w[120];
		snprintf(w, sizeof(w), "%s.rules[%zu]", where, i);
		int rc = parse_rule(ld, json_array_get(rules, i), w, &c->rules[c->nrules]);
		c->nrules++;
		if (rc != 0)
			return -1;
		const struct mh_spec_rule *r = &c->rules[i];
		for (size_t a = 0; a < r->nstates; a++) {
			int st = r->states[a];
			if (owner[st] >= 0)
				return fail(ld, "%s: state \"%s\" is in rules[%d] and rules[%zu]",
				            where, ld->spec->states[st].name, owner[st], i);
			owner[st] = (int)i;
		}
	}
	json_t *dis = json_object_get(obj, "disallowed");
	if (dis != NULL) {
		char w[120];
		snprintf(w, sizeof(w), "%s.disallowed", where);
		c->disallowed = mh_calloc(1, sizeof(*c->disallowed));
		if (parse_ruleset(ld, dis, w, c->disallowed) != 0)
			return -1;
	}
	return 0;
}

/* Names and aliases must be unique, case-insensitively, across all commands. */
static int check_unique_names(struct loader *ld)
{
	const struct mh_spec *s = ld->spec;
	for (size_t i = 0; i < s->ncommands; i++) {
		const struct mh_spec_command *c = &s->commands[i];
		for (size_t a = 0; a <= c->naliases; a++) {
			const char *n = a == 0 ? c->name : c->aliases[a - 1];
			for (size_t j = 0; j <= i; j++) {
				const struct mh_spec_command *d = &s->commands[j];
				for (size_t b = 0; b <= d->naliases; b++) {
					const char *m = b == 0 ? d->name : d->aliases[b - 1];
					if ((j == i && b >= a) || !mh_strcaseeq(n, m))
						continue;
					return fail(
					    ld,
					    "commands.%s: name or alias \"%s\" is also used by %s",
					    c->name, n, d->name);
				}
			}
		}
	}
	return 0;
}

static int find_state_member(struct loader *ld, json_t *root, const char *key, int *out)
{
	json_t *v = json_object_get(root, key);
	if (!json_is_string(v))
		return fail(ld, "missing or non-string \"%s\"", key);
	*out = mh_spec_state_find(ld->spec, json_string_value(v));
	if (*out < 0)
		return fail(ld, "%s: unknown state \"%.40s\"", key, json_string_value(v));
	return 0;
}

static int parse_root(struct loader *ld, json_t *root)
{
	struct mh_spec *s = ld->spec;
	if (!json_is_object(root))
		return fail(ld, "the top level is not an object");
	if (check_keys(ld, root, "top level", keys_root, MH_ARRAY_SIZE(keys_root)) != 0)
		return -1;
	json_t *v = json_object_get(root, "$schema");
	if (v != NULL && !json_is_string(v))
		return fail(ld, "$schema: not a string");
	v = json_object_get(root, "protocol");
	int proto = json_is_string(v) ? mh_proto_from_name(json_string_value(v)) : -1;
	if (proto < 0)
		return fail(ld, "protocol: not one of smtp, imap, pop3");
	s->proto = (enum mh_proto_id)proto;
	v = json_object_get(root, "spec_version");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return fail(ld, "spec_version: must be the integer 1");
	s->version = 1;
	if (get_text(ld, root, "title", "top level", true, &s->title) != 0)
		return -1;
	json_t *refs = json_object_get(root, "references");
	if (refs == NULL || json_array_size(refs) == 0)
		return fail(ld, "references: missing or empty");
	if (get_names(ld, root, "references", "top level", SPEC_MAX_REFERENCES, is_reference,
	              &s->references, &s->nreferences) != 0)
		return -1;

	json_t *states = json_object_get(root, "states");
	if (!json_is_object(states) || json_object_size(states) == 0 ||
	    json_object_size(states) > SPEC_MAX_STATES)
		return fail(ld, "states: not an object with 1..%d states", SPEC_MAX_STATES);
	s->states = mh_calloc(json_object_size(states), sizeof(*s->states));
	const char *key;
	json_object_foreach(states, key, v)
	{
		int rc = parse_state(ld, key, v, &s->states[s->nstates]);
		s->nstates++;
		if (rc != 0)
			return -1;
	}
	if (find_state_member(ld, root, "initial_state", &s->initial) != 0 ||
	    find_state_member(ld, root, "closed_state", &s->closed) != 0)
		return -1;

	static const char *const sets[] = {"always", "disallowed", "not_advertised"};
	struct mh_spec_rule *dest[] = {&s->always, &s->disallowed, &s->not_advertised};
	for (size_t i = 0; i < MH_ARRAY_SIZE(sets); i++) {
		v = json_object_get(root, sets[i]);
		if (v == NULL)
			return fail(ld, "missing \"%s\"", sets[i]);
		if (parse_ruleset(ld, v, sets[i], dest[i]) != 0)
			return -1;
	}

	json_t *cmds = json_object_get(root, "commands");
	if (!json_is_object(cmds) || json_object_size(cmds) == 0 ||
	    json_object_size(cmds) > SPEC_MAX_COMMANDS)
		return fail(ld, "commands: not an object with 1..%d commands", SPEC_MAX_COMMANDS);
	s->commands = mh_calloc(json_object_size(cmds), sizeof(*s->commands));
	json_object_foreach(cmds, key, v)
	{
		int rc = parse_command(ld, key, v, &s->commands[s->ncommands]);
		s->ncommands++;
		if (rc != 0)
			return -1;
	}
	return check_unique_names(ld);
}

struct mh_spec *mh_spec_load_buf(const char *json, size_t len, const char *name,
                                 struct mh_error *err)
{
	struct loader ld = {.name = name != NULL ? name : "(spec)", .err = err, .spec = NULL};
	if (json == NULL || len > SPEC_MAX_BYTES) {
		fail(&ld, "larger than %d bytes", SPEC_MAX_BYTES);
		return NULL;
	}
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fail(&ld, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	ld.spec = mh_calloc(1, sizeof(*ld.spec));
	ld.spec->path = mh_strdup(ld.name);
	int rc = parse_root(&ld, root);
	json_decref(root);
	if (rc != 0) {
		mh_spec_free(&ld.spec);
		return NULL;
	}
	return ld.spec;
}

struct mh_spec *mh_spec_load(const char *path, struct mh_error *err)
{
	size_t len = 0;
	char *text = mh_read_file(path, SPEC_MAX_BYTES, &len, err);
	if (text == NULL)
		return NULL;
	struct mh_spec *s = mh_spec_load_buf(text, len, path, err);
	free(text);
	return s;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void rule_deinit(struct mh_spec_rule *r)
{
	for (size_t i = 0; i < r->noutcomes; i++) {
		struct mh_spec_outcome *o = &r->outcomes[i];
		free(o->match);
		free_names(o->require_untagged, o->nrequire);
		free(o->rfc);
		free(o->note);
	}
	free(r->outcomes);
	free(r->states);
	free(r->rfc);
	free(r->note);
}

void mh_spec_free(struct mh_spec **sp)
{
	struct mh_spec *s = sp != NULL ? *sp : NULL;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ncommands; i++) {
		struct mh_spec_command *c = &s->commands[i];
		free(c->name);
		free_names(c->aliases, c->naliases);
		free(c->syntax);
		free(c->summary);
		free(c->rfc);
		free(c->capability);
		free_names(c->subcommands, c->nsubcommands);
		for (size_t j = 0; j < c->nrules; j++)
			rule_deinit(&c->rules[j]);
		free(c->rules);
		if (c->disallowed != NULL)
			rule_deinit(c->disallowed);
		free(c->disallowed);
	}
	free(s->commands);
	for (size_t i = 0; i < s->nstates; i++) {
		free(s->states[i].name);
		free(s->states[i].description);
		free(s->states[i].rfc);
	}
	free(s->states);
	rule_deinit(&s->disallowed);
	rule_deinit(&s->not_advertised);
	rule_deinit(&s->always);
	free_names(s->references, s->nreferences);
	free(s->title);
	free(s->path);
	free(s);
	*sp = NULL;
}

/* ---- lookups ---- */

int mh_spec_state_find(const struct mh_spec *s, const char *name)
{
	for (size_t i = 0; s != NULL && name != NULL && i < s->nstates; i++)
		if (strcmp(s->states[i].name, name) == 0)
			return (int)i;
	return -1;
}

int mh_spec_command_find(const struct mh_spec *s, const char *verb)
{
	for (size_t i = 0; s != NULL && verb != NULL && i < s->ncommands; i++) {
		const struct mh_spec_command *c = &s->commands[i];
		if (mh_strcaseeq(c->name, verb))
			return (int)i;
		for (size_t a = 0; a < c->naliases; a++)
			if (mh_strcaseeq(c->aliases[a], verb))
				return (int)i;
	}
	return -1;
}

const struct mh_spec_rule *mh_spec_rule_for(const struct mh_spec *s, int cmd, int state)
{
	if (s == NULL || cmd < 0 || (size_t)cmd >= s->ncommands || state < 0 ||
	    (size_t)state >= s->nstates)
		return NULL;
	const struct mh_spec_command *c = &s->commands[cmd];
	for (size_t i = 0; i < c->nrules; i++)
		for (size_t j = 0; j < c->rules[i].nstates; j++)
			if (c->rules[i].states[j] == state)
				return &c->rules[i];
	return NULL;
}

const struct mh_spec_rule *mh_spec_disallowed_for(const struct mh_spec *s, int cmd)
{
	if (s == NULL)
		return NULL;
	if (cmd >= 0 && (size_t)cmd < s->ncommands && s->commands[cmd].disallowed != NULL)
		return s->commands[cmd].disallowed;
	return &s->disallowed;
}

/* ---- matching ---- */

static bool is_class(const char *p)
{
	return p[0] >= '2' && p[0] <= '5' && p[1] == 'x' && p[2] == 'x' && p[3] == '\0';
}

bool mh_spec_pattern_matches(const char *pattern, const struct mh_reply *r)
{
	if (pattern == NULL || r == NULL || pattern[0] == '\0' || r->status[0] == '\0')
		return false;
	if (is_class(pattern)) {
		const char *st = r->status;
		return st[0] == pattern[0] && st[1] >= '0' && st[1] <= '9' && st[2] >= '0' &&
		       st[2] <= '9' && st[3] == '\0';
	}
	return mh_strcaseeq(pattern, r->status);
}

const struct mh_spec_outcome *mh_spec_outcome_match(const struct mh_spec_rule *rule,
                                                    const struct mh_reply *r)
{
	if (rule == NULL || r == NULL)
		return NULL;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < rule->noutcomes; i++) {
			const struct mh_spec_outcome *o = &rule->outcomes[i];
			if (is_class(o->match) == (pass == 1) &&
			    mh_spec_pattern_matches(o->match, r))
				return o;
		}
	return NULL;
}

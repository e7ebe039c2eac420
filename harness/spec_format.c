/* spec_format.c: renders a command table as text (`mailharness spec PROTO`), lists the replies a
   rule permits, and lints a table's structure (reachability, RFC references, patterns). */
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const input_label[] = {"none", "command", "data", "line"};
_Static_assert(MH_ARRAY_SIZE(input_label) == MH_INPUT_COUNT, "input_label out of sync");

static const char *const multiline_label[] = {"never", "always", "no-args"};
_Static_assert(MH_ARRAY_SIZE(multiline_label) == MH_ML_COUNT, "multiline_label out of sync");

static const char *next_name(const struct mh_spec *s, int next)
{
	if (next == MH_STATE_SAME)
		return "same";
	if (next == MH_STATE_RETURN)
		return "return";
	return next >= 0 && (size_t)next < s->nstates ? s->states[next].name : "?";
}

void mh_spec_rule_expected(const struct mh_spec_rule *rule, struct mh_buf *out)
{
	if (rule == NULL || rule->noutcomes == 0) {
		mh_buf_append_str(out, "(no reply defined)");
		return;
	}
	for (size_t i = 0; i < rule->noutcomes; i++)
		mh_buf_printf(out, "%s%s", i ? " | " : "", rule->outcomes[i].match);
}

/* "250 -> ready; 500 501 -> same; OK (untagged BYE) -> logout": outcomes grouped by next state in
   order of first appearance; outcomes with required untagged responses stand alone. */
static void format_outcomes(const struct mh_spec *s, const struct mh_spec_rule *rule,
                            struct mh_buf *out)
{
	bool *done = mh_calloc(rule->noutcomes ? rule->noutcomes : 1, sizeof(bool));
	bool first = true;
	for (size_t i = 0; i < rule->noutcomes; i++) {
		if (done[i])
			continue;
		const struct mh_spec_outcome *o = &rule->outcomes[i];
		mh_buf_printf(out, "%s%s", first ? "" : "; ", o->match);
		first = false;
		done[i] = true;
		if (o->nrequire > 0) {
			mh_buf_append_str(out, " (untagged");
			for (size_t k = 0; k < o->nrequire; k++)
				mh_buf_printf(out, " %s", o->require_untagged[k]);
			mh_buf_append_str(out, ")");
		} else {
			for (size_t j = i + 1; j < rule->noutcomes; j++) {
				const struct mh_spec_outcome *p = &rule->outcomes[j];
				if (!done[j] && p->nrequire == 0 && p->next == o->next) {
					mh_buf_printf(out, " %s", p->match);
					done[j] = true;
				}
			}
		}
		mh_buf_printf(out, " -> %s", next_name(s, o->next));
	}
	if (first)
		mh_buf_append_str(out, "(none)");
	free(done);
}

static void format_ruleset(const struct mh_spec *s, const char *title, const struct mh_spec_rule *r,
                           struct mh_buf *out)
{
	mh_buf_printf(out, "  %-28s ", title);
	format_outcomes(s, r, out);
	if (r->rfc != NULL)
		mh_buf_printf(out, "   [%s %s]", r->rfc, mh_level_name(r->level));
	mh_buf_append_str(out, "\n");
}

static bool cmd_allowed(const struct mh_spec *s, size_t c, size_t st)
{
	return mh_spec_rule_for(s, (int)c, (int)st) != NULL;
}

void mh_spec_format(const struct mh_spec *s, struct mh_buf *out)
{
	if (s == NULL)
		return;
	mh_buf_printf(out, "%s command table (spec_version %d): %s\n", mh_proto_name(s->proto),
	              s->version, s->title);
	mh_buf_printf(out, "file: %s\nreferences:", s->path);
	for (size_t i = 0; i < s->nreferences; i++)
		mh_buf_printf(out, "%s %s", i ? "," : "", s->references[i]);
	mh_buf_printf(out, "\ninitial state: %s   closed state: %s\n\nSTATES\n",
	              s->states[s->initial].name, s->states[s->closed].name);
	for (size_t i = 0; i < s->nstates; i++) {
		const struct mh_spec_state *st = &s->states[i];
		mh_buf_printf(out, "  %-20s input %-8s %-16s %s%s%s\n", st->name,
		              input_label[st->input], st->rfc, st->final ? "(final) " : "",
		              st->matrix_excluded ? "(not in the coverage matrix) " : "",
		              st->description);
	}
	mh_buf_append_str(out, "\nREPLIES OUTSIDE THE STATE TABLE\n");
	format_ruleset(s, "any command, any state", &s->always, out);
	format_ruleset(s, "command outside its states", &s->disallowed, out);
	format_ruleset(s, "capability not advertised", &s->not_advertised, out);

	for (size_t st = 0; st < s->nstates; st++) {
		const struct mh_spec_state *state = &s->states[st];
		mh_buf_printf(out, "\nSTATE %s (input %s%s)\n", state->name,
		              input_label[state->input], state->final ? ", final" : "");
		size_t shown = 0;
		for (size_t c = 0; c < s->ncommands; c++) {
			const struct mh_spec_rule *r = mh_spec_rule_for(s, (int)c, (int)st);
			if (r == NULL)
				continue;
			mh_buf_printf(out, "  %-14s ", s->commands[c].name);
			format_outcomes(s, r, out);
			mh_buf_printf(out, "   [%s %s]\n", r->rfc, mh_level_name(r->level));
			shown++;
		}
		if (shown == 0)
			mh_buf_append_str(out, "  (no commands)\n");
		if (state->input != MH_INPUT_COMMAND)
			continue;
		bool any = false, own = false;
		for (size_t c = 0; c < s->ncommands; c++) {
			if (s->commands[c].pseudo || cmd_allowed(s, c, st))
				continue;
			bool mine = mh_spec_disallowed_for(s, (int)c) != &s->disallowed;
			mh_buf_printf(out, "%s%s%s",
			              any ? ", " : "  not allowed: ", s->commands[c].name,
			              mine ? "*" : "");
			any = true;
			own |= mine;
		}
		if (any)
			mh_buf_append_str(out, own ? "   (* = own replies, see COMMANDS)\n" : "\n");
	}

	mh_buf_append_str(out, "\nCOMMANDS\n");
	for (size_t c = 0; c < s->ncommands; c++) {
		const struct mh_spec_command *cmd = &s->commands[c];
		mh_buf_printf(out, "  %s", cmd->name);
		for (size_t a = 0; a < cmd->naliases; a++)
			mh_buf_printf(out, "%s%s", a ? ", " : " (alias ", cmd->aliases[a]);
		mh_buf_printf(out, "%s   [%s %s]\n", cmd->naliases ? ")" : "", cmd->rfc,
		              mh_level_name(cmd->level));
		mh_buf_printf(out, "      %s\n      syntax: %s\n", cmd->summary, cmd->syntax);
		if (cmd->capability != NULL)
			mh_buf_printf(out, "      capability: %s\n", cmd->capability);
		if (cmd->multiline != MH_ML_NEVER)
			mh_buf_printf(out, "      multi-line +OK body: %s\n",
			              multiline_label[cmd->multiline]);
		for (size_t i = 0; i < cmd->nsubcommands; i++)
			mh_buf_printf(out, "%s%s",
			              i ? " " : "      subcommands: ", cmd->subcommands[i]);
		if (cmd->nsubcommands > 0)
			mh_buf_append_str(out, "\n");
		if (cmd->disallowed != NULL) {
			mh_buf_append_str(out, "      outside its states: ");
			format_outcomes(s, cmd->disallowed, out);
			mh_buf_printf(out, "   [%s %s]\n", cmd->disallowed->rfc,
			              mh_level_name(cmd->disallowed->level));
		}
	}
}

/* ---- lint ---- */

static void problem(struct mh_buf *out, int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct mh_buf *out, int *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (out != NULL)
		mh_buf_printf(out, "%s\n", msg);
	(*n)++;
}

/* Does rfc ("RFC 5321 4.3.2") name one of the spec's references ("RFC 5321")? */
static bool rfc_referenced(const struct mh_spec *s, const char *rfc)
{
	for (size_t i = 0; rfc != NULL && i < s->nreferences; i++) {
		size_t n = strlen(s->references[i]);
		if (strncmp(rfc, s->references[i], n) == 0 && rfc[n] == ' ')
			return true;
	}
	return false;
}

static void lint_rfc(const struct mh_spec *s, const char *where, const char *rfc, bool required,
                     struct mh_buf *out, int *n)
{
	if (rfc == NULL) {
		if (required)
			problem(out, n, "%s: no rfc", where);
		return;
	}
	if (!rfc_referenced(s, rfc))
		problem(out, n, "%s: rfc \"%s\" names an RFC missing from \"references\"", where,
		        rfc);
}

static bool is_class(const char *p)
{
	return strlen(p) == 3 && p[1] == 'x' && p[2] == 'x';
}

/* Patterns, next states and RFC references of one rule (or ruleset). */
static void lint_rule(const struct mh_spec *s, const char *where, const struct mh_spec_rule *r,
                      bool is_ruleset, struct mh_buf *out, int *n)
{
	lint_rfc(s, where, r->rfc, !is_ruleset || r->noutcomes > 0, out, n);
	for (size_t i = 0; i < r->noutcomes; i++) {
		const struct mh_spec_outcome *o = &r->outcomes[i];
		for (size_t j = 0; j < i; j++)
			if (mh_strcaseeq(o->match, r->outcomes[j].match))
				problem(out, n, "%s: reply pattern \"%s\" appears twice", where,
				        o->match);
		char w[200];
		snprintf(w, sizeof(w), "%s reply %s", where, o->match);
		lint_rfc(s, w, o->rfc, false, out, n);
		if (o->nrequire > 0 && s->proto != MH_PROTO_IMAP)
			problem(out, n, "%s: require_untagged is for IMAP only", w);
		if (is_class(o->match) && s->proto != MH_PROTO_SMTP)
			problem(out, n, "%s: reply classes are for SMTP only", w);
		if (o->next == MH_STATE_RETURN && is_ruleset)
			problem(out, n, "%s: \"return\" outside a state table rule", w);
		for (size_t k = 0; o->next == MH_STATE_RETURN && k < r->nstates; k++) {
			enum mh_input in = s->states[r->states[k]].input;
			if (in != MH_INPUT_LINE && in != MH_INPUT_DATA)
				problem(
				    out, n,
				    "%s: \"return\" in state %s, which no command hands over to", w,
				    s->states[r->states[k]].name);
		}
	}
}

static void add_target(const struct mh_spec *s, int next, bool *targeted, bool *reach, int *queue,
                       size_t *qlen)
{
	if (next < 0 || (size_t)next >= s->nstates)
		return;
	targeted[next] = true;
	if (!reach[next]) {
		reach[next] = true;
		queue[(*qlen)++] = next;
	}
}

static void add_targets(const struct mh_spec *s, const struct mh_spec_rule *r, bool *targeted,
                        bool *reach, int *queue, size_t *qlen)
{
	for (size_t i = 0; r != NULL && i < r->noutcomes; i++)
		add_target(s, r->outcomes[i].next, targeted, reach, queue, qlen);
}

/* Which states a pseudo command (or a verb) may have rules in. */
static bool input_fits(const struct mh_spec *s, const struct mh_spec_command *c, int st)
{
	enum mh_input in = s->states[st].input;
	if (strcmp(c->name, "@greeting") == 0)
		return st == s->initial;
	if (strcmp(c->name, "@end-of-data") == 0)
		return in == MH_INPUT_DATA;
	if (strcmp(c->name, "@continuation") == 0)
		return in == MH_INPUT_LINE;
	return in == MH_INPUT_COMMAND;
}

int mh_spec_lint(const struct mh_spec *s, struct mh_buf *problems)
{
	int n = 0;
	if (s == NULL)
		return 0;
	size_t ns = s->nstates;
	bool *targeted = mh_calloc(ns, sizeof(bool));
	bool *reach = mh_calloc(ns, sizeof(bool));
	int *queue = mh_calloc(ns, sizeof(int));
	size_t qlen = 0;

	/* (a) reachability: breadth-first from the initial state over every outcome that can
	   happen in a reached state; "same"/"return" go nowhere new */
	reach[s->initial] = true;
	queue[qlen++] = s->initial;
	for (size_t q = 0; q < qlen; q++) {
		int st = queue[q];
		add_targets(s, &s->always, targeted, reach, queue, &qlen);
		if (s->states[st].input != MH_INPUT_COMMAND && st != s->initial) {
			for (size_t c = 0; c < s->ncommands; c++)
				add_targets(s, mh_spec_rule_for(s, (int)c, st), targeted, reach,
				            queue, &qlen);
			continue;
		}
		add_targets(s, &s->disallowed, targeted, reach, queue, &qlen);
		add_targets(s, &s->not_advertised, targeted, reach, queue, &qlen);
		for (size_t c = 0; c < s->ncommands; c++) {
			const struct mh_spec_rule *r = mh_spec_rule_for(s, (int)c, st);
			add_targets(s, r != NULL ? r : mh_spec_disallowed_for(s, (int)c), targeted,
			            reach, queue, &qlen);
		}
	}
	for (size_t st = 0; st < ns; st++) {
		const struct mh_spec_state *state = &s->states[st];
		if ((int)st != s->initial && !targeted[st])
			problem(problems, &n, "state %s: no outcome leads to it", state->name);
		else if (!reach[st])
			problem(problems, &n, "state %s: not reachable from %s", state->name,
			        s->states[s->initial].name);
		char where[80];
		snprintf(where, sizeof(where), "state %s", state->name);
		lint_rfc(s, where, state->rfc, true, problems, &n);
		if (state->final) {
			if (state->input != MH_INPUT_NONE)
				problem(problems, &n, "state %s: final but input is %s",
				        state->name, input_label[state->input]);
			continue;
		}
		if (state->input == MH_INPUT_NONE && (int)st != s->initial) {
			problem(problems, &n, "state %s: input none but not final", state->name);
			continue;
		}
		bool served = false;
		for (size_t c = 0; c < s->ncommands && !served; c++) {
			const struct mh_spec_command *cmd = &s->commands[c];
			bool verb_ok = !cmd->pseudo || strcmp(cmd->name, "@unknown") == 0;
			if (cmd_allowed(s, c, st) &&
			    (state->input == MH_INPUT_COMMAND ? verb_ok : cmd->pseudo))
				served = true;
		}
		if (!served)
			problem(problems, &n, "state %s (input %s): no command has a rule here",
			        state->name, input_label[state->input]);
	}
	if (!s->states[s->closed].final)
		problem(problems, &n, "closed_state %s is not final", s->states[s->closed].name);

	/* (b), (c), (d), (e) per command */
	int greeting = mh_spec_command_find(s, "@greeting");
	if (greeting < 0 || !cmd_allowed(s, (size_t)greeting, (size_t)s->initial))
		problem(problems, &n,
		        "@greeting: missing or without a rule in the initial state %s",
		        s->states[s->initial].name);
	for (size_t c = 0; c < s->ncommands; c++) {
		const struct mh_spec_command *cmd = &s->commands[c];
		char where[160];
		snprintf(where, sizeof(where), "command %s", cmd->name);
		lint_rfc(s, where, cmd->rfc, true, problems, &n);
		bool reachable = false;
		for (size_t i = 0; i < cmd->nrules; i++) {
			const struct mh_spec_rule *r = &cmd->rules[i];
			snprintf(where, sizeof(where), "command %s rule %zu", cmd->name, i);
			lint_rule(s, where, r, false, problems, &n);
			for (size_t k = 0; k < r->nstates; k++) {
				reachable |= reach[r->states[k]];
				if (!input_fits(s, cmd, r->states[k]))
					problem(problems, &n,
					        "%s: state %s (input %s) cannot receive %s", where,
					        s->states[r->states[k]].name,
					        input_label[s->states[r->states[k]].input],
					        cmd->name);
			}
		}
		if (!reachable)
			problem(problems, &n,
			        "command %s: not allowed in any state reachable from %s", cmd->name,
			        s->states[s->initial].name);
		if (cmd->disallowed != NULL) {
			snprintf(where, sizeof(where), "command %s disallowed", cmd->name);
			lint_rule(s, where, cmd->disallowed, true, problems, &n);
		}
		if (cmd->multiline != MH_ML_NEVER && s->proto != MH_PROTO_POP3)
			problem(problems, &n, "command %s: multiline is for POP3 only", cmd->name);
		if (cmd->pseudo &&
		    (cmd->naliases > 0 || cmd->capability != NULL || cmd->nsubcommands > 0))
			problem(problems, &n,
			        "command %s: pseudo commands take no aliases, capability or "
			        "subcommands",
			        cmd->name);
	}
	lint_rule(s, "always", &s->always, true, problems, &n);
	lint_rule(s, "disallowed", &s->disallowed, true, problems, &n);
	lint_rule(s, "not_advertised", &s->not_advertised, true, problems, &n);
	free(targeted);
	free(reach);
	free(queue);
	return n;
}

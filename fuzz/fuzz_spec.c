/* fuzz_spec.c: fuzz target for the spec loader (specs/<proto>.json, harness/spec.c). The input is
   the JSON text. A spec that loads is also formatted, linted and queried, and its indexes checked:
   every state, command and next-state index the loader produced must be in range. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "spec.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_spec: invariant broken: %s\n", what);
		abort();
	}
}

static void check_rule(const struct mh_spec *s, const struct mh_spec_rule *r)
{
	for (size_t i = 0; i < r->nstates; i++)
		check(r->states[i] >= 0 && (size_t)r->states[i] < s->nstates,
		      "rule state in range");
	for (size_t i = 0; i < r->noutcomes; i++) {
		int next = r->outcomes[i].next;
		check(next == MH_STATE_SAME || next == MH_STATE_RETURN ||
		          (next >= 0 && (size_t)next < s->nstates),
		      "next state in range");
		check(r->outcomes[i].match != NULL, "pattern present");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mh_error err;
	mh_error_init(&err);
	struct mh_spec *s = mh_spec_load_buf((const char *)data, size, "fuzz.json", &err);
	if (s == NULL) {
		check(err.set, "a refused spec has an error message");
		return 0;
	}
	check(s->initial >= 0 && (size_t)s->initial < s->nstates, "initial state in range");
	check(s->closed >= 0 && (size_t)s->closed < s->nstates, "closed state in range");
	check_rule(s, &s->always);
	check_rule(s, &s->disallowed);
	check_rule(s, &s->not_advertised);

	static const char *const statuses[] = {"250", "221", "503",  "354",     "OK",  "NO", "BAD",
	                                       "+",   "+OK", "-ERR", "PREAUTH", "BYE", ""};
	struct mh_reply r;
	mh_reply_init(&r, s->proto);
	for (size_t c = 0; c < s->ncommands; c++) {
		const struct mh_spec_command *cmd = &s->commands[c];
		check(mh_spec_command_find(s, cmd->name) == (int)c, "a command finds itself");
		for (size_t i = 0; i < cmd->nrules; i++)
			check_rule(s, &cmd->rules[i]);
		if (cmd->disallowed != NULL)
			check_rule(s, cmd->disallowed);
		for (size_t st = 0; st < s->nstates; st++) {
			const struct mh_spec_rule *rule = mh_spec_rule_for(s, (int)c, (int)st);
			if (rule == NULL)
				rule = mh_spec_disallowed_for(s, (int)c);
			for (size_t k = 0; k < MH_ARRAY_SIZE(statuses); k++) {
				snprintf(r.status, sizeof(r.status), "%s", statuses[k]);
				(void)mh_spec_outcome_match(rule, &r);
			}
		}
	}
	mh_reply_deinit(&r);

	struct mh_buf out;
	mh_buf_init(&out);
	mh_spec_format(s, &out);
	check(out.len > 0, "format writes something");
	mh_buf_reset(&out);
	int n = mh_spec_lint(s, &out);
	check((n == 0) == (out.len == 0), "one lint line per problem");
	mh_buf_deinit(&out);
	mh_spec_free(&s);
	return 0;
}

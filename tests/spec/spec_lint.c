/* spec_lint.c: loads each spec named on the command line, runs mh_spec_lint on it and applies the
   project's naming rules; prints every problem and exits 1 if there was any (2 on usage errors). */
#include "spec.h"

#include <stdio.h>
#include <string.h>

/* Names the product's old documents used; they may only appear as aliases of the RFC name. */
struct old_name {
	enum mh_proto_id proto;
	const char *old;
	const char
	    *rfc_name; /* the command the alias must resolve to, or NULL = no command at all */
};

static const struct old_name old_names[] = {
    {MH_PROTO_SMTP, "SIZE", NULL}, /* EHLO keyword and MAIL parameter (RFC 1870 3), not a verb */
    {MH_PROTO_SMTP, "HELLO", "HELO"}, {MH_PROTO_SMTP, "EHELLO", "EHLO"},
    {MH_PROTO_SMTP, "VERFY", "VRFY"}, {MH_PROTO_IMAP, "IMAP_LOGIN", "LOGIN"},
    {MH_PROTO_POP3, "LOGIN", "USER"},
};

static int check_names(const struct mh_spec *s, const char *path)
{
	int n = 0;
	for (size_t i = 0; i < MH_ARRAY_SIZE(old_names); i++) {
		const struct old_name *o = &old_names[i];
		if (o->proto != s->proto)
			continue;
		int c = mh_spec_command_find(s, o->old);
		if (o->rfc_name == NULL && c >= 0) {
			printf("%s: %s must not be a command (found %s)\n", path, o->old,
			       s->commands[c].name);
			n++;
		} else if (o->rfc_name != NULL &&
		           (c < 0 || strcmp(s->commands[c].name, o->rfc_name) != 0)) {
			printf("%s: %s must be an alias of %s (found %s)\n", path, o->old,
			       o->rfc_name, c >= 0 ? s->commands[c].name : "nothing");
			n++;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: spec_lint SPEC.json...\n");
		return 2;
	}
	int total = 0;
	for (int i = 1; i < argc; i++) {
		struct mh_error err;
		mh_error_init(&err);
		struct mh_spec *s = mh_spec_load(argv[i], &err);
		if (s == NULL) {
			printf("%s\n", err.msg);
			total++;
			continue;
		}
		struct mh_buf out;
		mh_buf_init(&out);
		int n = mh_spec_lint(s, &out);
		if (n > 0)
			printf("%s: %d lint problem(s):\n%s", argv[i], n, mh_buf_cstr(&out));
		n += check_names(s, argv[i]);
		printf("%s: %s, %zu states, %zu commands, %d problem(s)\n", argv[i],
		       mh_proto_name(s->proto), s->nstates, s->ncommands, n);
		total += n;
		mh_buf_deinit(&out);
		mh_spec_free(&s);
	}
	return total > 0 ? 1 : 0;
}

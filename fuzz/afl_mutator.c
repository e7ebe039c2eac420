/* afl_mutator.c: the AFL++ custom mutator library (libmailharness_mutator.so): mailharness's
   protocol- and state-aware dialogue mutations for afl-fuzz runs on desocketed mail servers,
   whose input is the raw client byte stream. API of AFL++ 4.x docs/custom_mutators.md.

   Environment: MAILHARNESS_PROTO=smtp|imap|pop3 (default smtp), MAILHARNESS_SPEC=path to
   specs/<proto>.json (spec-guided command insertion), MAILHARNESS_DICT=path to an AFL-format
   dictionary, MAILHARNESS_OPS=comma-separated operator names (default all),
   MAILHARNESS_MAX_STACK=1..16 (operators stacked per mutation, default 8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutate.h"
#include "spec.h"

typedef struct afl_state afl_state_t; /* opaque: the mutator never looks inside */

struct afl_mh {
	struct mh_mutator *m;
	struct mh_spec *spec;
	struct mh_rng rng;
	struct mh_buf out; /* the mutated input handed to afl-fuzz, reused by every call */
	char desc[512];
};

static void afl_mh_free(struct afl_mh *d)
{
	if (d == NULL)
		return;
	mh_mutator_free(&d->m);
	mh_spec_free(&d->spec);
	mh_buf_deinit(&d->out);
	free(d);
}

/* Called once by afl-fuzz; returns the state every other call gets, or NULL (afl-fuzz stops). */
void *afl_custom_init(afl_state_t *afl, unsigned int seed)
{
	(void)afl;
	struct afl_mh *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	mh_buf_init(&d->out);
	mh_buf_append(&d->out, "", 1); /* out.data is never NULL: afl-fuzz rejects a NULL buffer */
	mh_buf_reset(&d->out);
	struct mh_error err;
	mh_error_init(&err);
	const char *pn = getenv("MAILHARNESS_PROTO");
	int proto = pn != NULL && pn[0] != '\0' ? mh_proto_from_name(pn) : MH_PROTO_SMTP;
	if (proto < 0) {
		fprintf(stderr,
		        "mailharness_mutator: MAILHARNESS_PROTO=%s: want smtp, imap or pop3\n", pn);
		goto fail;
	}
	const char *sp = getenv("MAILHARNESS_SPEC");
	if (sp != NULL && sp[0] != '\0') {
		d->spec = mh_spec_load(sp, &err);
		if (d->spec == NULL)
			goto fail_err;
		if ((int)d->spec->proto != proto) {
			fprintf(stderr,
			        "mailharness_mutator: %s is a %s spec, MAILHARNESS_PROTO is %s\n",
			        sp, mh_proto_name(d->spec->proto), mh_proto_name(proto));
			goto fail;
		}
	}
	const char *dict = getenv("MAILHARNESS_DICT");
	d->m = mh_mutator_new((enum mh_proto_id)proto, d->spec,
	                      dict != NULL && dict[0] != '\0' ? dict : NULL, &err);
	if (d->m == NULL)
		goto fail_err;
	if (mh_mutator_restrict(d->m, getenv("MAILHARNESS_OPS"), &err) != 0)
		goto fail_err;
	const char *ms = getenv("MAILHARNESS_MAX_STACK");
	unsigned long long stack;
	if (ms != NULL && ms[0] != '\0') {
		if (mh_parse_uint(ms, 1, 16, &stack) != 0) {
			fprintf(stderr,
			        "mailharness_mutator: MAILHARNESS_MAX_STACK=%s: want 1..16\n", ms);
			goto fail;
		}
		mh_mutator_set_max_stack(d->m, (unsigned)stack);
	}
	mh_rng_seed(&d->rng, 0x6d61696c68726e73ULL ^ seed);
	return d;
fail_err:
	fprintf(stderr, "mailharness_mutator: %s\n", err.msg);
fail:
	afl_mh_free(d);
	return NULL;
}

/* One mutation of buf (add_buf, may be NULL, is the splice partner) into a buffer the library
   owns and reuses; at most max_size bytes. Returns the size (0 = nothing to try). */
size_t afl_custom_fuzz(void *data, unsigned char *buf, size_t buf_size, unsigned char **out_buf,
                       unsigned char *add_buf, size_t add_buf_size, size_t max_size)
{
	struct afl_mh *d = data;
	/* an empty result (everything dropped) is worth nothing: try again a few times */
	for (int attempt = 0; attempt < 4; attempt++) {
		mh_mutate_stream(d->m, buf, buf_size, add_buf, add_buf != NULL ? add_buf_size : 0,
		                 &d->out, &d->rng, max_size);
		if (d->out.len > 0)
			break;
	}
	*out_buf = d->out.data;
	return d->out.len;
}

/* The operators of the last mutation, for afl-fuzz's queue file names: "mh:dlg-drop+byte-split"
   (AFL++ separates name fields with ','), cut at an operator boundary to fit. */
const char *afl_custom_describe(void *data, size_t max_description_len)
{
	struct afl_mh *d = data;
	const char *ops = mh_mutate_describe(d->m);
	size_t lim =
	    max_description_len < sizeof(d->desc) ? max_description_len : sizeof(d->desc) - 1;
	size_t n = 0;
	if (lim < 4)
		return "";
	memcpy(d->desc, "mh:", 3);
	n = 3;
	while (*ops != '\0') {
		size_t k = strcspn(ops, ",");
		if (n + k + (n > 3) > lim)
			break;
		if (n > 3)
			d->desc[n++] = '+';
		memcpy(d->desc + n, ops, k);
		n += k;
		ops += k + (ops[k] == ',');
	}
	d->desc[n] = '\0';
	return d->desc;
}

/* Frees everything afl_custom_init made. */
void afl_custom_deinit(void *data)
{
	afl_mh_free(data);
}

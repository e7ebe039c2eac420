/* profile.c: the server-role profiles of each protocol, --profile validation and case selection. */
#include "profile.h"

#include <stdio.h>
#include <string.h>

static const char *const smtp_names[] = {"mx", "submission", NULL};
static const char *const imap_names[] = {"rev1", "rev2", NULL};
static const char *const no_names[] = {NULL};

const char *const *mh_profile_names(enum mh_proto_id p)
{
	switch (p) {
	case MH_PROTO_SMTP: return smtp_names;
	case MH_PROTO_IMAP: return imap_names;
	default: return no_names;
	}
}

int mh_profile_proto(const char *name)
{
	for (int p = 0; name != NULL && p < MH_PROTO_COUNT; p++)
		for (const char *const *n = mh_profile_names((enum mh_proto_id)p); *n != NULL; n++)
			if (strcmp(*n, name) == 0)
				return p;
	return -1;
}

/* Splits a comma-separated list; every item counts, also an empty one ("a,," has three). */
struct items {
	const char *p;
	bool done;
};

static struct items items_of(const char *list)
{
	return (struct items){list, list == NULL};
}

/* The next item into item; one too long to be a name becomes "" (reported as unknown). */
static bool next_item(struct items *it, char *item, size_t itemlen)
{
	if (it->done)
		return false;
	size_t n = strcspn(it->p, ",");
	if (n < itemlen) {
		memcpy(item, it->p, n);
		item[n] = '\0';
	} else {
		item[0] = '\0';
	}
	if (it->p[n] == ',')
		it->p += n + 1;
	else
		it->done = true;
	return true;
}

/* "mx, submission" for smtp; "none" for pop3. */
static void names_list(enum mh_proto_id p, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (const char *const *n = mh_profile_names(p); *n != NULL; n++)
		used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, "%s%s",
		                         used ? ", " : "", *n);
	if (used == 0)
		snprintf(out, outlen, "none");
}

int mh_profile_check(const char *opt, const bool protos[MH_PROTO_COUNT], struct mh_error *err)
{
	if (opt == NULL)
		return 0;
	bool seen[MH_PROTO_COUNT] = {false};
	char item[64], known[256];
	struct items it = items_of(opt);
	while (next_item(&it, item, sizeof(item))) {
		int p = mh_profile_proto(item);
		if (p < 0 || !protos[p]) {
			struct mh_buf b;
			mh_buf_init(&b);
			for (int q = 0; q < MH_PROTO_COUNT; q++) {
				if (!protos[q])
					continue;
				names_list((enum mh_proto_id)q, known, sizeof(known));
				mh_buf_printf(&b, "%s%s: %s", b.len ? "; " : "",
				              mh_proto_name((enum mh_proto_id)q), known);
			}
			if (p < 0)
				mh_error_set(err, "--profile: unknown profile '%.60s' (%s)", item,
				             mh_buf_cstr(&b));
			else
				mh_error_set(
				    err,
				    "--profile: profile '%s' is for %s, but no target speaks %s "
				    "(%s)",
				    item, mh_proto_name((enum mh_proto_id)p),
				    mh_proto_name((enum mh_proto_id)p), mh_buf_cstr(&b));
			mh_buf_deinit(&b);
			return -1;
		}
		if (seen[p]) {
			mh_error_set(
			    err, "--profile: two %s profiles in '%.100s' (give one per protocol)",
			    mh_proto_name((enum mh_proto_id)p), opt);
			return -1;
		}
		seen[p] = true;
	}
	return 0;
}

const char *mh_profile_effective(const char *opt, const struct mh_target *t)
{
	const char *const *names = mh_profile_names(t->proto);
	if (names[0] == NULL)
		return NULL;
	char item[64];
	struct items it = items_of(opt);
	while (next_item(&it, item, sizeof(item)))
		for (const char *const *n = names; *n != NULL; n++)
			if (strcmp(*n, item) == 0)
				return *n;
	if (t->proto == MH_PROTO_SMTP &&
	    (strcmp(t->scheme, "submission") == 0 || strcmp(t->scheme, "submissions") == 0))
		return "submission";
	return names[0];
}

int mh_profile_check_case(const char *list, enum mh_proto_id p, struct mh_error *err)
{
	if (list == NULL)
		return 0;
	char item[64], known[256];
	struct items it = items_of(list);
	while (next_item(&it, item, sizeof(item))) {
		bool ok = false;
		for (const char *const *n = mh_profile_names(p); *n != NULL && !ok; n++)
			ok = strcmp(*n, item) == 0;
		if (!ok) {
			names_list(p, known, sizeof(known));
			mh_error_set(err, "unknown profile '%.60s' for %s (%s)", item,
			             mh_proto_name(p), known);
			return -1;
		}
	}
	return 0;
}

bool mh_profile_case_runs(const char *list, const char *profile)
{
	if (list == NULL)
		return true;
	if (profile == NULL)
		return false;
	char item[64];
	struct items it = items_of(list);
	while (next_item(&it, item, sizeof(item)))
		if (strcmp(item, profile) == 0)
			return true;
	return false;
}

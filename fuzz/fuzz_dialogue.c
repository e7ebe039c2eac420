/* fuzz_dialogue.c: fuzz target for the dialogue text form (harness/dialogue.c). A text that
   parses is formatted and parsed again: the two dialogues must be equal and the second format
   identical to the first (the format is canonical). Every SEND also goes through the secret
   scrubber and back: expand(scrub(x)) == x when scrubbing succeeds and x holds no placeholder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialogue.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dialogue: invariant broken: %s\n", what);
		abort();
	}
}

static bool contains(const unsigned char *h, size_t n, const char *needle)
{
	size_t l = strlen(needle);
	for (size_t i = 0; l <= n && i <= n - l; i++)
		if (memcmp(h + i, needle, l) == 0)
			return true;
	return false;
}

static void scrub_round_trip(const struct mh_dlg_msg *m)
{
	static const char user[] = "alice", pw[] = "s3cr3t";
	if (contains(m->data, m->len, "${"))
		return;
	struct mh_buf s, back;
	mh_buf_init(&s);
	mh_buf_init(&back);
	if (mh_dialogue_scrub(m->data, m->len, user, pw, &s) == 0) {
		check(!contains(s.data, s.len, pw), "no password after scrubbing");
		check(mh_dialogue_expand(s.data, s.len, user, pw, &back) == 0,
		      "every placeholder expands");
		check(back.len == m->len &&
		          (m->len == 0 || memcmp(back.data, m->data, m->len) == 0),
		      "expand(scrub(x)) == x");
	}
	mh_buf_deinit(&s);
	mh_buf_deinit(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mh_dialogue d, again;
	mh_dialogue_init(&d, MH_PROTO_SMTP);
	mh_dialogue_init(&again, MH_PROTO_SMTP);
	struct mh_error err;
	mh_error_init(&err);
	if (mh_dialogue_parse((const char *)data, size, &d, &err) != 0) {
		check(err.set && strncmp(err.msg, "line ", 5) == 0,
		      "a refused text names the line");
		check(d.n == 0, "a refused text leaves no records");
	} else {
		check(d.n <= MH_DLG_MAX_MSGS && mh_dialogue_bytes(&d) <= MH_DLG_MAX_BYTES,
		      "caps hold");
		struct mh_buf t1, t2;
		mh_buf_init(&t1);
		mh_buf_init(&t2);
		mh_dialogue_format(&d, &t1);
		check(mh_dialogue_parse((const char *)t1.data, t1.len, &again, &err) == 0,
		      "the formatted text parses");
		check(mh_dialogue_equal(&d, &again), "parse(format(d)) == d");
		mh_dialogue_format(&again, &t2);
		check(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0,
		      "the format is canonical");
		for (size_t i = 0; i < d.n; i++)
			if (d.msgs[i].op == MH_DLG_SEND)
				scrub_round_trip(&d.msgs[i]);
		mh_buf_deinit(&t1);
		mh_buf_deinit(&t2);
	}
	mh_dialogue_deinit(&d);
	mh_dialogue_deinit(&again);
	return 0;
}

/* bench_mutate.c: mutations per second of the dialogue API (mh_mutate) and of the byte-stream
   fast path the AFL++ custom mutator uses (mh_mutate_stream), on a recorded SMTP seed.
   Usage: bench_mutate [N] (default 100000). Not a test: numbers for the fuzzing notes. */
#include <stdio.h>
#include <stdlib.h>

#include "dialogue.h"
#include "mutate.h"

static const char seed[] = "# mailharness dialogue 1\nproto smtp\n"
                           "send EHLO fuzz.example\\r\\n\nreply 250\n"
                           "send MAIL FROM:<a@b> SIZE=100\\r\\n\nreply 250\n"
                           "send RCPT TO:<postmaster>\\r\\n\nreply 250\n"
                           "send DATA\\r\\n\nreply 354\n"
                           "send Subject: x\\r\\n\\r\\nbody\\r\\n.\\r\\n\nreply 250\n"
                           "send QUIT\\r\\n\nreply 221\n";

int main(int argc, char **argv)
{
	unsigned long long n = 100000;
	if (argc > 1 && mh_parse_uint(argv[1], 1, 100000000, &n) != 0) {
		fprintf(stderr, "usage: bench_mutate [N]\n");
		return 2;
	}
	struct mh_error err;
	mh_error_init(&err);
	struct mh_dialogue in, out;
	mh_dialogue_init(&in, MH_PROTO_SMTP);
	mh_dialogue_init(&out, MH_PROTO_SMTP);
	if (mh_dialogue_parse(seed, sizeof(seed) - 1, &in, &err) != 0) {
		fprintf(stderr, "seed: %s\n", err.msg);
		return 1;
	}
	struct mh_mutator *m = mh_mutator_new(MH_PROTO_SMTP, NULL, NULL, &err);
	struct mh_rng r;
	mh_rng_seed(&r, 1);
	struct mh_buf stream, res;
	mh_buf_init(&stream);
	mh_buf_init(&res);
	mh_dialogue_to_stream(&in, &stream);
	size_t bytes = 0;
	int64_t t0 = mh_now_ms();
	for (unsigned long long i = 0; i < n; i++) {
		mh_mutate(m, &in, &in, &out, &r, 1u << 20);
		bytes += mh_dialogue_bytes(&out);
	}
	int64_t t1 = mh_now_ms();
	for (unsigned long long i = 0; i < n; i++) {
		mh_mutate_stream(m, stream.data, stream.len, stream.data, stream.len, &res, &r,
		                 1u << 20);
		bytes += res.len;
	}
	int64_t t2 = mh_now_ms();
	double d1 = (double)(t1 - t0) / 1000.0, d2 = (double)(t2 - t1) / 1000.0;
	printf("mh_mutate:        %llu mutations in %.2f s = %.0f/s\n", n, d1,
	       (double)n / (d1 > 0 ? d1 : 1e-3));
	printf("mh_mutate_stream: %llu mutations in %.2f s = %.0f/s\n", n, d2,
	       (double)n / (d2 > 0 ? d2 : 1e-3));
	printf("mean output %.0f bytes\n", (double)bytes / (double)(2 * n));
	mh_buf_deinit(&stream);
	mh_buf_deinit(&res);
	mh_dialogue_deinit(&in);
	mh_dialogue_deinit(&out);
	mh_mutator_free(&m);
	return 0;
}

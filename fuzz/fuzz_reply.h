/* fuzz_reply.h: the body shared by the reply-parser fuzz targets: chunked vs whole feeding must
 * agree.
 *
 * Input format (every seed in corpus/reply_<proto>/ starts with these 5 bytes):
 *   byte 0     mode: bits 0-1 expect kind (0 GREETING, 1 REPLY, 2 ONE, 3 REPLY)
 *                    bit 2 POP3 multiline, bit 3 POP3 sasl, bit 4 IMAP tag "" (any) instead of
 * "A1", bit 5 tiny limits (line 64, reply 1024, 16 lines) instead of (4096, 65536, 1000) bytes 1-4
 * chunk sizes, cycled: each feed call adds that many bytes (0 = all that is left) rest       the
 * server's bytes; replies are parsed one after another (pipelining) until the input ends, an error,
 * or 64 replies. Each reply is parsed twice, fed in chunks and fed whole by a fresh parser; any
 * difference, or a broken invariant (raw is the consumed prefix, lines inside raw), aborts.
 */
#ifndef MH_FUZZ_REPLY_H
#define MH_FUZZ_REPLY_H

#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void fuzz_same_reply(const struct mh_reply *a, const struct mh_reply *b)
{
	FUZZ_CHECK(a->cls == b->cls && a->code == b->code && a->multiline == b->multiline);
	FUZZ_CHECK(strcmp(a->status, b->status) == 0 && strcmp(a->enhanced, b->enhanced) == 0);
	FUZZ_CHECK(strcmp(a->tag, b->tag) == 0 && strcmp(a->resp_code, b->resp_code) == 0);
	FUZZ_CHECK(a->raw.len == b->raw.len && memcmp(a->raw.data, b->raw.data, a->raw.len) == 0);
	FUZZ_CHECK(a->text.len == b->text.len &&
	           (a->text.len == 0 || memcmp(a->text.data, b->text.data, a->text.len) == 0));
	FUZZ_CHECK(a->body.len == b->body.len &&
	           (a->body.len == 0 || memcmp(a->body.data, b->body.data, a->body.len) == 0));
	FUZZ_CHECK(a->nlines == b->nlines && a->nsyntax == b->nsyntax);
	for (size_t i = 0; i < a->nlines; i++)
		FUZZ_CHECK(a->lines[i].off == b->lines[i].off &&
		           a->lines[i].len == b->lines[i].len);
	for (size_t i = 0; i < a->nsyntax; i++)
		FUZZ_CHECK(strcmp(a->syntax[i].msg, b->syntax[i].msg) == 0 &&
		           strcmp(a->syntax[i].rfc, b->syntax[i].rfc) == 0);
}

static void fuzz_invariants(const struct mh_reply *r, const unsigned char *in, size_t consumed)
{
	FUZZ_CHECK(r->raw.len == consumed && memcmp(r->raw.data, in, consumed) == 0);
	FUZZ_CHECK(r->nlines >= 1 && r->nsyntax <= MH_REPLY_MAX_SYNTAX);
	for (size_t i = 0; i < r->nlines; i++)
		FUZZ_CHECK(r->lines[i].off <= consumed &&
		           r->lines[i].len <= consumed - r->lines[i].off);
	FUZZ_CHECK(r->text.len <= consumed && r->body.len <= 2 * consumed);
	FUZZ_CHECK((unsigned)r->cls < MH_RC_COUNT &&
	           memchr(r->status, '\0', sizeof(r->status)) != NULL);
}

/* Exercises what the engine does with a reply next: capabilities, enhanced-code judgement. */
static void fuzz_consume_reply(const struct mh_reply *r, struct mh_caps *caps)
{
	if (mh_caps_from_reply(caps, r) == 1) {
		FUZZ_CHECK(caps->n <= MH_CAPS_MAX);
		for (size_t i = 0; i < caps->n; i++)
			FUZZ_CHECK(mh_caps_get(caps, caps->name[i]) != NULL);
	}
	(void)mh_smtp_enhanced_valid(r->enhanced, r->code);
}

static int fuzz_reply_run(enum mh_proto_id proto, const uint8_t *data, size_t size)
{
	static const enum mh_expect_kind kinds[4] = {MH_EXPECT_GREETING, MH_EXPECT_REPLY,
	                                             MH_EXPECT_ONE, MH_EXPECT_REPLY};
	if (size < 5)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *chunks = data + 1;
	const unsigned char *in = data + 5;
	size_t n = size - 5;
	struct mh_limits lim = {4096, 65536, 1000};
	if (mode & 0x20)
		lim = (struct mh_limits){64, 1024, 16};
	struct mh_expect ex;
	memset(&ex, 0, sizeof(ex));
	ex.kind = kinds[mode & 3];
	ex.multiline = (mode & 0x04) != 0;
	ex.sasl = (mode & 0x08) != 0;
	if (!(mode & 0x10))
		memcpy(ex.tag, "A1", 3);

	struct mh_parser p, whole;
	struct mh_reply r, r2;
	struct mh_error err, err2;
	struct mh_caps caps;
	mh_parser_init(&p, proto, &lim);
	mh_reply_init(&r, proto);
	mh_reply_init(&r2, proto);
	mh_caps_init(&caps);
	size_t off = 0, ci = 0;
	for (int replies = 0; replies < 64 && off < n; replies++) {
		size_t left = n - off, have = 0, consumed = 0, consumed2 = 0;
		int rc = 0;
		mh_parser_expect(&p, &ex);
		mh_reply_reset(&r);
		mh_error_init(&err);
		while (have < left) {
			size_t step = chunks[ci++ % 4];
			have = (step == 0 || step >= left - have) ? left : have + step;
			rc = mh_parser_feed(&p, in + off, have, &r, &consumed, &err);
			if (rc != 0)
				break;
		}
		mh_parser_init(&whole, proto, &lim);
		mh_parser_expect(&whole, &ex);
		mh_reply_reset(&r2);
		mh_error_init(&err2);
		int rc2 = mh_parser_feed(&whole, in + off, left, &r2, &consumed2, &err2);
		FUZZ_CHECK(rc == rc2);
		if (rc == -1)
			FUZZ_CHECK(err.set && strcmp(err.msg, err2.msg) == 0);
		if (rc != 1)
			break;
		FUZZ_CHECK(consumed == consumed2 && consumed > 0 && consumed <= left);
		fuzz_invariants(&r, in + off, consumed);
		fuzz_same_reply(&r, &r2);
		fuzz_consume_reply(&r, &caps);
		off += consumed;
	}
	mh_caps_deinit(&caps);
	mh_reply_deinit(&r);
	mh_reply_deinit(&r2);
	return 0;
}

#endif

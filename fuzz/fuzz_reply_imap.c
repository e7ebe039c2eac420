/* fuzz_reply_imap.c: fuzz target for the IMAP responses with literals (RFC 3501 7, 9) parser. */
/* Input: byte 0 = mode (bits 0-1 expect kind GREETING/REPLY/ONE/REPLY, bit 2 multiline, bit 3 sasl,
   bit 4 any IMAP tag instead of "A1", bit 5 tiny limits); bytes 1-4 = chunk sizes fed per call,
   cycled (0 = the rest); then the server's bytes, parsed as pipelined replies. Chunked and whole
   feeding must give identical results (see fuzz_reply.h). */
#include "fuzz_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_reply_run(MH_PROTO_IMAP, data, size);
}

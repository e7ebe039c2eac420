/* mutate.h: protocol- and state-aware mutation of dialogues, guided by the spec tables. One
   engine serves `mailharness fuzz` and the AFL++ custom mutator library. */
#ifndef MH_MUTATE_H
#define MH_MUTATE_H

#include "dialogue.h"
#include "spec.h"

/* A small, fast, seedable PRNG (xoshiro256** or splitmix64); no global state. */
struct mh_rng {
	uint64_t s[4];
};
void mh_rng_seed(struct mh_rng *r, uint64_t seed);
uint64_t mh_rng_next(struct mh_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t mh_rng_below(struct mh_rng *r, uint64_t n);

enum mh_mut_level { MH_MUT_DIALOGUE, MH_MUT_TOKEN, MH_MUT_BYTE, MH_MUT_LEVEL_COUNT };

struct mh_mutator;

/* A mutator for proto; spec (may be NULL) supplies command names, the states they are valid in
   and reply patterns; dict_path (may be NULL) is an AFL-style dictionary (name="value" lines)
   whose tokens are used as arguments. NULL + err on a bad dictionary. */
struct mh_mutator *mh_mutator_new(enum mh_proto_id proto, const struct mh_spec *spec,
				  const char *dict_path, struct mh_error *err);
void mh_mutator_free(struct mh_mutator **m);

/* Writes a mutation of in into out (out is cleared first). splice (may be NULL) is a second
   dialogue for splicing. Applies 1..stack operators chosen by rng across the three levels; keeps
   out within MH_DLG_MAX_MSGS / max_bytes. Keeps "reply" records consistent with the protocol:
   e.g. SMTP DATA body lines get none, IMAP synchronizing literals wait for "+", a "tls" record
   only after a STARTTLS/STLS command. Returns the number of operators applied. */
int mh_mutate(struct mh_mutator *m, const struct mh_dialogue *in, const struct mh_dialogue *splice,
	      struct mh_dialogue *out, struct mh_rng *rng, size_t max_bytes);
/* Names of the operators the last mh_mutate applied ("dlg-insert-cmd,tok-bdat-lie,byte-split"). */
const char *mh_mutate_describe(const struct mh_mutator *m);

/* Byte-stream form for desocketed servers (AFL++ custom mutator): splits raw client bytes into
   messages at line ends (and literal / BDAT payloads), with a reply due after each command.
   0 / -1 (input too large). */
int mh_dialogue_from_stream(const unsigned char *buf, size_t len, enum mh_proto_id proto,
			    struct mh_dialogue *d);
/* Concatenates the SEND records into out (REPLY and TLS records dropped). */
void mh_dialogue_to_stream(const struct mh_dialogue *d, struct mh_buf *out);

#endif

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

/* Rewrites d's REPLY and TLS records from its SEND bytes by the rules at the top of mutate.c (one
   REPLY per reply due, after the SEND that completes the command; none inside SMTP message data
   or BDAT payloads; "+" due after an IMAP synchronizing literal's line; a TLS record after a
   STARTTLS / STLS reply when more follows). Statuses are kept where a SEND is followed by as many
   replies as before. mh_mutate applies the same rules to its output. */
void mh_mutate_fix_replies(struct mh_dialogue *d);
/* Where the rules could not know whether a reply is due (a bare LF line end, an end-of-data
   variant, bytes injected after STARTTLS...): true and *rec_r = the index of the first SEND
   record after which replies may be out of step, in d as mh_mutate_fix_replies leaves it
   (an executor may stop judging replies against the spec from there). false if none. */
bool mh_mutate_first_ambiguous(const struct mh_dialogue *d, size_t *rec_r);

/* The same as mh_mutate on the byte-stream form, without dialogue records (the AFL++ custom
   mutator's fast path): in (and splice, may be NULL) are raw client bytes; out is reset and gets
   the mutated bytes, at most max_bytes (0 = MH_DLG_MAX_BYTES). Returns the operators applied. */
int mh_mutate_stream(struct mh_mutator *m, const unsigned char *in, size_t inlen,
                     const unsigned char *splice, size_t splicelen, struct mh_buf *out,
                     struct mh_rng *rng, size_t max_bytes);

/* ---- tuning and introspection ---- */

/* Adds the tokens of AFL dictionary text (name="value" lines, "value" alone, # comments,
   \\ \" and \xNN escapes) to m's dictionary. 0 / -1 with err "NAME:LINE: reason". */
int mh_mutator_add_dict(struct mh_mutator *m, const char *text, size_t len, const char *name,
                        struct mh_error *err);
/* Relative weights of the three levels (default dialogue 3, token 5, byte 2); 0 disables one. */
void mh_mutator_set_weights(struct mh_mutator *m, const unsigned weights[MH_MUT_LEVEL_COUNT]);
/* The most operators one mh_mutate stacks (1..16, default 8; the count is skewed small). */
void mh_mutator_set_max_stack(struct mh_mutator *m, unsigned n);
/* Limits m to the named operators ("dlg-drop,byte-split"); NULL or "" = all. 0 / -1 (unknown
   name, err). */
int mh_mutator_restrict(struct mh_mutator *m, const char *names, struct mh_error *err);
/* The operator table: count, name ("tok-bdat-lie"), level, and whether it applies to proto. */
size_t mh_mutate_op_count(void);
const char *mh_mutate_op_name(size_t i);
enum mh_mut_level mh_mutate_op_level(size_t i);
bool mh_mutate_op_applies(size_t i, enum mh_proto_id proto);

#endif

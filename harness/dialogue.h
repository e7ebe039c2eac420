/* dialogue.h: a recorded client dialogue: what the client sends, where a reply is due and where
   TLS starts. The unit the fuzzer mutates, saves and replays. Text form (docs/FUZZING.md):

     # mailharness dialogue 1
     proto smtp
     send EHLO fuzz.example\r\n
     reply 250
     send DATA\r\n
     reply 354
     send Subject: x\r\n\r\nbody\r\n.\r\n
     reply 250
     tls
     send \x00\xff...

   "send" carries one client message byte-exactly (escapes \r \n \t \0 \\ \xNN; everything else
   printable ASCII as is, including spaces); "reply [STATUS]" says one whole reply is due here
   (STATUS, if present, is what the recording saw: informational); "tls" starts TLS (after the
   STARTTLS / STLS go-ahead was read). The greeting is implicit: it is read before the first record.
 */
#ifndef MH_DIALOGUE_H
#define MH_DIALOGUE_H

#include "reply.h"
#include "util.h"

enum mh_dlg_op { MH_DLG_SEND, MH_DLG_REPLY, MH_DLG_TLS, MH_DLG_COUNT };

struct mh_dlg_msg {
	enum mh_dlg_op op;
	unsigned char *data; /* SEND: the bytes (owned); NULL otherwise */
	size_t len;
	char status[12]; /* REPLY: status seen when recorded ("250", "OK", "+OK"), or "" */
};

#define MH_DLG_MAX_MSGS  4096       /* records per dialogue */
#define MH_DLG_MAX_BYTES (8u << 20) /* total SEND bytes per dialogue */

struct mh_dialogue {
	enum mh_proto_id proto;
	struct mh_dlg_msg *msgs;
	size_t n, cap;
};

/* Sets up an empty dialogue (an all-zero struct is an empty SMTP dialogue too) / frees its
   records and array / drops the records, keeping the array. parse, load and copy need an
   initialised destination and replace its contents. */
void mh_dialogue_init(struct mh_dialogue *d, enum mh_proto_id proto);
void mh_dialogue_deinit(struct mh_dialogue *d);
void mh_dialogue_clear(struct mh_dialogue *d);
/* Deep copy of src into dst (dst initialised; its old records are freed by the callee). */
void mh_dialogue_copy(struct mh_dialogue *dst, const struct mh_dialogue *src);
/* Appends a record (data copied). Returns 0, or -1 when the caps above would be exceeded. */
int mh_dialogue_add(struct mh_dialogue *d, enum mh_dlg_op op, const void *data, size_t len,
                    const char *status);
/* Inserts at index i (0..n) / removes record i. 0 / -1. */
int mh_dialogue_insert(struct mh_dialogue *d, size_t i, enum mh_dlg_op op, const void *data,
                       size_t len, const char *status);
void mh_dialogue_remove(struct mh_dialogue *d, size_t i);
/* Total SEND bytes. */
size_t mh_dialogue_bytes(const struct mh_dialogue *d);

/* Parses the text form. 0 / -1 with err naming the line (d is then empty). Bounded by the caps
   above and MH_DLG_MAX_TEXT. */
int mh_dialogue_parse(const char *text, size_t len, struct mh_dialogue *d, struct mh_error *err);
/* Appends the text form. */
void mh_dialogue_format(const struct mh_dialogue *d, struct mh_buf *out);
/* File helpers; save is atomic (temp file, fsync, rename). */
int mh_dialogue_load(const char *path, struct mh_dialogue *d, struct mh_error *err);
int mh_dialogue_save(const char *path, const struct mh_dialogue *d, struct mh_error *err);

/* Deep equality: same protocol and the same records (op, bytes, status). */
bool mh_dialogue_equal(const struct mh_dialogue *a, const struct mh_dialogue *b);

/* ---- secrets: placeholders (docs/FUZZING.md, "Placeholders") ----
   A recorded dialogue never carries the password. SEND bytes hold these literal placeholders
   instead, which execution substitutes (mh_dialogue_expand):
     ${PASSWORD}      the password as is (POP3 PASS, IMAP LOGIN, anything that echoes it)
     ${PASSWORD_B64}  base64 of the password (SASL LOGIN's second response)
     ${SASL_PLAIN}    base64 of NUL user NUL password (SASL PLAIN, empty authzid)
     ${USER}          the user name (never written by the recorder; for hand-written seeds) */
#define MH_DLG_MAX_TEXT ((size_t)MH_DLG_MAX_BYTES * 4 + (size_t)MH_DLG_MAX_MSGS * 32 + 65536)

/* Appends data with every occurrence of password (and of the base64 forms above) replaced by its
   placeholder. Returns 0, or -1 when the password also occurs in a form no placeholder expresses
   (an escaped IMAP quoted string, base64 of something else that contains it): the caller must
   then not store out. user (may be NULL) is only used to recognise the SASL PLAIN form. */
int mh_dialogue_scrub(const unsigned char *data, size_t n, const char *user, const char *password,
                      struct mh_buf *out);
/* Appends data with the placeholders replaced by user / password. A placeholder whose value is
   NULL stays as written. Returns the number of placeholders left unexpanded. */
size_t mh_dialogue_expand(const unsigned char *data, size_t n, const char *user,
                          const char *password, struct mh_buf *out);
/* Whether any SEND of d holds a placeholder that needs the user name / the password. */
void mh_dialogue_needs(const struct mh_dialogue *d, bool *user_r, bool *password_r);

#endif

/* dlgrecord.h: recording the connections of a case as dialogue files (mailharness run --record):
   the hook for mh_conn_opts.record, secrets replaced by placeholders (dialogue.h). */
#ifndef MH_DLGRECORD_H
#define MH_DLGRECORD_H

#include "dialogue.h"

#define MH_DLG_REC_MAX_CONNS 64 /* connections recorded per case; later ones are ignored */

/* The connections of one case as they happen; a mh_conn_opts.record hook (mh_dlg_recorder_hook
   with the recorder as ud). user and password are borrowed and must outlive the recorder. */
struct mh_dlg_recorder {
	enum mh_proto_id proto;
	const char *user, *password;
	struct mh_dialogue conns[MH_DLG_REC_MAX_CONNS]; /* conns[i]: connection i + 1 */
	bool used[MH_DLG_REC_MAX_CONNS];
	bool unsafe[MH_DLG_REC_MAX_CONNS]; /* a secret could not be scrubbed: never saved */
};
/* Sets up r (embedded; MH_DLG_REC_MAX_CONNS empty dialogues) / frees what it recorded. */
void mh_dlg_recorder_init(struct mh_dlg_recorder *r, enum mh_proto_id proto, const char *user,
                          const char *password);
void mh_dlg_recorder_deinit(struct mh_dlg_recorder *r);
/* The hook: SEND bytes (scrubbed), REPLY with its status, TLS. Records past the caps are dropped
   (the dialogue is kept, truncated). */
void mh_dlg_recorder_hook(void *ud, int conn, enum mh_dlg_op op, const void *data, size_t n,
                          const char *status);
/* Saves every recorded connection as dir/<case_id>.<conn>.dlg (case_id with characters outside
   [A-Za-z0-9._-] made '_'), atomically. Counts saved files and connections withheld because of a
   secret into *saved_r / *unsafe_r (each may be NULL). 0, or -1 with err on the first write error.
 */
int mh_dlg_recorder_save(const struct mh_dlg_recorder *r, const char *dir, const char *case_id,
                         size_t *saved_r, size_t *unsafe_r, struct mh_error *err);

#endif

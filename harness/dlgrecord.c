/* dlgrecord.c: the recorder behind `mailharness run --record`: one dialogue per connection of a
   case, SEND bytes scrubbed of the password (placeholders, dialogue.c), saved atomically at the
   end of the case unless a secret could not be replaced. */
#include "dlgrecord.h"

#include <stdio.h>
#include <string.h>

void mh_dlg_recorder_init(struct mh_dlg_recorder *r, enum mh_proto_id proto, const char *user,
                          const char *password)
{
	memset(r, 0, sizeof(*r));
	r->proto = proto;
	r->user = user;
	r->password = password;
	for (size_t i = 0; i < MH_DLG_REC_MAX_CONNS; i++)
		mh_dialogue_init(&r->conns[i], proto);
}

void mh_dlg_recorder_deinit(struct mh_dlg_recorder *r)
{
	for (size_t i = 0; i < MH_DLG_REC_MAX_CONNS; i++)
		mh_dialogue_deinit(&r->conns[i]);
}

void mh_dlg_recorder_hook(void *ud, int conn, enum mh_dlg_op op, const void *data, size_t n,
                          const char *status)
{
	struct mh_dlg_recorder *r = ud;
	if (conn < 1 || conn > MH_DLG_REC_MAX_CONNS)
		return;
	size_t i = (size_t)conn - 1;
	r->used[i] = true;
	if (op != MH_DLG_SEND) {
		(void)mh_dialogue_add(&r->conns[i], op, NULL, 0, status);
		return;
	}
	struct mh_buf s;
	mh_buf_init(&s);
	if (mh_dialogue_scrub(data, n, r->user, r->password, &s) != 0)
		r->unsafe[i] = true;
	(void)mh_dialogue_add(&r->conns[i], MH_DLG_SEND, s.data, s.len, NULL);
	mh_buf_deinit(&s);
}

/* A password split across two writes survives per-record scrubbing: check the whole stream. */
static bool stream_clean(const struct mh_dialogue *d, const char *user, const char *password)
{
	struct mh_buf all, out;
	mh_buf_init(&all);
	mh_buf_init(&out);
	for (size_t i = 0; i < d->n; i++)
		if (d->msgs[i].op == MH_DLG_SEND)
			mh_buf_append(&all, d->msgs[i].data, d->msgs[i].len);
	bool ok = mh_dialogue_scrub(all.data, all.len, user, password, &out) == 0 &&
	          out.len == all.len && (all.len == 0 || memcmp(out.data, all.data, all.len) == 0);
	mh_buf_deinit(&all);
	mh_buf_deinit(&out);
	return ok;
}

int mh_dlg_recorder_save(const struct mh_dlg_recorder *r, const char *dir, const char *case_id,
                         size_t *saved_r, size_t *unsafe_r, struct mh_error *err)
{
	char id[256];
	size_t k = 0;
	for (const char *p = case_id; p != NULL && *p != '\0' && k + 1 < sizeof(id); p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		          (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		          (*p == '.' && k > 0);
		id[k] = ok ? *p : '_';
		k++;
	}
	id[k] = '\0';
	for (size_t i = 0; i < MH_DLG_REC_MAX_CONNS; i++) {
		if (!r->used[i])
			continue;
		if (r->unsafe[i] || !stream_clean(&r->conns[i], r->user, r->password)) {
			if (unsafe_r != NULL)
				(*unsafe_r)++;
			continue;
		}
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s.%zu.dlg", dir, id[0] ? id : "case",
		             i + 1) >= (int)sizeof(path)) {
			mh_error_set(err, "%s: path too long", dir);
			return -1;
		}
		if (mh_dialogue_save(path, &r->conns[i], err) != 0)
			return -1;
		if (saved_r != NULL)
			(*saved_r)++;
	}
	return 0;
}

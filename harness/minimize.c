/* minimize.c: delta debugging (ddmin with complements) of a dialogue that shows a finding: over
   messages (a SEND with the REPLY records after it is one unit, a "tls" record another), then over
   the space-separated arguments of each SEND, then over its bytes in halving chunks. Every
   candidate is checked by the caller's oracle; only confirmed candidates replace the dialogue. */
#include "minimize.h"

#include <stdlib.h>
#include <string.h>

struct mctx {
	mh_still_fails_fn fn;
	void *ud;
	size_t max, tries;
	bool exhausted;
};

static bool still_fails(struct mctx *m, const struct mh_dialogue *cand)
{
	if (m->tries >= m->max) {
		m->exhausted = true;
		return false;
	}
	m->tries++;
	return m->fn(m->ud, cand);
}

/* Builds the candidate keeping the items with keep[i]. */
typedef void (*build_fn)(void *bctx, const bool *keep, struct mh_dialogue *out);

/* ddmin over n items; keep[] starts all true and ends with a 1-minimal set the oracle confirmed
   (as far as the budget went). Returns true if anything was removed. */
static bool ddmin(struct mctx *m, size_t n, bool *keep, build_fn build, void *bctx)
{
	size_t *idx = mh_calloc(n + 1, sizeof(*idx));
	struct mh_dialogue cand;
	mh_dialogue_init(&cand, MH_PROTO_SMTP);
	bool removed = false;
	size_t parts = 2;
	while (!m->exhausted) {
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			if (keep[i])
				idx[len++] = i;
		if (len == 0)
			break;
		if (parts > len)
			parts = len;
		bool reduced = false;
		for (size_t c = 0; c < parts && !reduced && !m->exhausted; c++) {
			size_t from = c * len / parts, to = (c + 1) * len / parts;
			for (size_t k = from; k < to; k++)
				keep[idx[k]] = false;
			build(bctx, keep, &cand);
			if (still_fails(m, &cand)) {
				reduced = removed = true;
			} else {
				for (size_t k = from; k < to; k++)
					keep[idx[k]] = true;
			}
		}
		if (reduced) {
			if (parts > 2)
				parts--;
			continue;
		}
		if (parts >= len)
			break;
		parts = parts * 2 < len ? parts * 2 : len;
	}
	mh_dialogue_deinit(&cand);
	free(idx);
	return removed;
}

/* ---- records ---- */

struct units {
	const struct mh_dialogue *d;
	size_t *start; /* unit k = records [start[k], start[k + 1]) */
	size_t n;
};

static void build_units(void *bctx, const bool *keep, struct mh_dialogue *out)
{
	const struct units *u = bctx;
	mh_dialogue_clear(out);
	out->proto = u->d->proto;
	for (size_t k = 0; k < u->n; k++) {
		if (!keep[k])
			continue;
		for (size_t i = u->start[k]; i < u->start[k + 1]; i++) {
			const struct mh_dlg_msg *m = &u->d->msgs[i];
			(void)mh_dialogue_add(out, m->op, m->data, m->len, m->status);
		}
	}
}

static void min_records(struct mctx *m, struct mh_dialogue *d)
{
	struct units u = {.d = d, .start = mh_calloc(d->n + 2, sizeof(size_t))};
	for (size_t i = 0; i < d->n; i++)
		if (i == 0 || d->msgs[i].op != MH_DLG_REPLY)
			u.start[u.n++] = i;
	u.start[u.n] = d->n;
	bool *keep = mh_calloc(u.n + 1, sizeof(bool));
	for (size_t k = 0; k < u.n; k++)
		keep[k] = true;
	if (ddmin(m, u.n, keep, build_units, &u)) {
		struct mh_dialogue best;
		mh_dialogue_init(&best, d->proto);
		build_units(&u, keep, &best);
		mh_dialogue_copy(d, &best);
		mh_dialogue_deinit(&best);
	}
	free(keep);
	free(u.start);
}

/* ---- arguments and bytes of one SEND ---- */

struct pieces {
	const struct mh_dialogue *d;
	size_t rec;
	size_t *off, *len; /* piece i = data[off[i], off[i] + len[i]) */
	size_t n;
};

/* Replaces record rec of a copy of d with data. */
static void with_data(const struct mh_dialogue *d, size_t rec, const unsigned char *data,
                      size_t len, struct mh_dialogue *out)
{
	mh_dialogue_copy(out, d);
	struct mh_dlg_msg *m = &out->msgs[rec];
	free(m->data);
	m->data = mh_malloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(m->data, data, len);
	m->len = len;
}

static void build_pieces(void *bctx, const bool *keep, struct mh_dialogue *out)
{
	const struct pieces *p = bctx;
	const struct mh_dlg_msg *m = &p->d->msgs[p->rec];
	struct mh_buf b;
	mh_buf_init(&b);
	for (size_t i = 0; i < p->n; i++)
		if (keep[i])
			mh_buf_append(&b, m->data + p->off[i], p->len[i]);
	with_data(p->d, p->rec, b.data, b.len, out);
	mh_buf_deinit(&b);
}

/* Pieces of a SEND: each word with the spaces after it, and each line end on its own, so the
   last argument can go while the CRLF stays. */
static void split_pieces(const struct mh_dlg_msg *m, struct pieces *p)
{
	p->off = mh_calloc(m->len + 1, sizeof(size_t));
	p->len = mh_calloc(m->len + 1, sizeof(size_t));
	p->n = 0;
	size_t i = 0;
	while (i < m->len) {
		size_t s = i;
		if (m->data[i] == '\r' || m->data[i] == '\n') {
			while (i < m->len && m->data[i] == '\r')
				i++;
			if (i < m->len && m->data[i] == '\n')
				i++;
			if (i == s)
				i++;
		} else {
			while (i < m->len && m->data[i] != ' ' && m->data[i] != '\r' &&
			       m->data[i] != '\n')
				i++;
			while (i < m->len && m->data[i] == ' ')
				i++;
		}
		p->off[p->n] = s;
		p->len[p->n++] = i - s;
	}
}

static void min_args(struct mctx *m, struct mh_dialogue *d)
{
	for (size_t r = 0; r < d->n && !m->exhausted; r++) {
		if (d->msgs[r].op != MH_DLG_SEND || d->msgs[r].len == 0)
			continue;
		struct pieces p = {.d = d, .rec = r};
		split_pieces(&d->msgs[r], &p);
		bool *keep = mh_calloc(p.n + 1, sizeof(bool));
		for (size_t i = 0; i < p.n; i++)
			keep[i] = true;
		if (p.n > 1 && ddmin(m, p.n, keep, build_pieces, &p)) {
			struct mh_dialogue best;
			mh_dialogue_init(&best, d->proto);
			build_pieces(&p, keep, &best);
			mh_dialogue_copy(d, &best);
			mh_dialogue_deinit(&best);
		}
		free(keep);
		free(p.off);
		free(p.len);
	}
}

/* Chunked halving over the bytes of every SEND: chunk sizes from half the longest SEND down to
   one byte, each size across all records before the next, so a small budget is spread evenly. */
static void min_bytes(struct mctx *m, struct mh_dialogue *d)
{
	size_t longest = 0;
	for (size_t r = 0; r < d->n; r++)
		if (d->msgs[r].op == MH_DLG_SEND && d->msgs[r].len > longest)
			longest = d->msgs[r].len;
	struct mh_dialogue cand;
	mh_dialogue_init(&cand, d->proto);
	struct mh_buf b;
	mh_buf_init(&b);
	for (size_t chunk = longest / 2; chunk >= 1 && !m->exhausted; chunk /= 2) {
		for (size_t r = 0; r < d->n && !m->exhausted; r++) {
			size_t off = 0;
			while (d->msgs[r].op == MH_DLG_SEND && off < d->msgs[r].len &&
			       !m->exhausted) {
				const struct mh_dlg_msg *msg = &d->msgs[r];
				size_t cut = chunk < msg->len - off ? chunk : msg->len - off;
				mh_buf_reset(&b);
				mh_buf_append(&b, msg->data, off);
				mh_buf_append(&b, msg->data + off + cut, msg->len - off - cut);
				with_data(d, r, b.data, b.len, &cand);
				if (still_fails(m, &cand))
					mh_dialogue_copy(d, &cand);
				else
					off += cut;
			}
		}
	}
	mh_buf_deinit(&b);
	mh_dialogue_deinit(&cand);
}

void mh_minimize(struct mh_dialogue *d, mh_still_fails_fn still, void *ud, size_t max_tries,
                 struct mh_minimize_stats *st)
{
	struct mctx m = {.fn = still, .ud = ud, .max = max_tries > 0 ? max_tries : 1000};
	size_t msgs = d->n, bytes = mh_dialogue_bytes(d);
	min_records(&m, d);
	min_args(&m, d);
	min_bytes(&m, d);
	if (st != NULL) {
		st->tries = m.tries;
		st->msgs_before = msgs;
		st->msgs_after = d->n;
		st->bytes_before = bytes;
		st->bytes_after = mh_dialogue_bytes(d);
	}
}

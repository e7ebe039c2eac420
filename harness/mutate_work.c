/* mutate_work.c: the mutator's working copy of a dialogue (its SENDs, with buffers reused across
   mutations), its loading from a dialogue or a byte stream, and its emission with the REPLY and
   TLS records the rules at the top of mutate.c give. */
#include "mutate_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mut_work_init(struct mut_work *w, enum mh_proto_id proto)
{
	memset(w, 0, sizeof(*w));
	w->proto = proto;
}

void mut_work_deinit(struct mut_work *w)
{
	for (size_t i = 0; i < w->cap; i++)
		free(w->s[i].data);
	free(w->s);
	free(w->st);
	memset(w, 0, sizeof(*w));
}

void mut_work_clear(struct mut_work *w)
{
	/* small buffers of the first slots are kept for reuse, big ones and those of far slots go:
	   memory stays flat over a campaign, and so does the time this loop takes */
	for (size_t i = 0; i < w->hw; i++) {
		w->s[i].len = 0;
		if (w->s[i].cap > MUT_KEEP_BUFFER || i >= MUT_KEEP_SLOTS) {
			free(w->s[i].data);
			w->s[i].data = NULL;
			w->s[i].cap = 0;
		}
	}
	if (w->hw > MUT_KEEP_SLOTS)
		w->hw = MUT_KEEP_SLOTS;
	w->n = 0;
	w->bytes = 0;
	w->nst = 0;
}

/* Opens slot i (0..n), reusing a spare buffer. */
static struct mut_send *slot_open(struct mut_work *w, size_t i)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;
		w->s = mh_realloc(w->s, cap * sizeof(*w->s));
		memset(w->s + w->cap, 0, (cap - w->cap) * sizeof(*w->s));
		w->cap = cap;
	}
	struct mut_send spare = w->s[w->n];
	memmove(w->s + i + 1, w->s + i, (w->n - i) * sizeof(*w->s));
	spare.len = 0;
	spare.st_off = (uint32_t)w->nst;
	spare.st_n = 0;
	spare.tls_after = false;
	w->s[i] = spare;
	w->n++;
	if (w->n > w->hw)
		w->hw = w->n;
	return &w->s[i];
}

static void send_reserve(struct mut_send *x, size_t need)
{
	if (x->data != NULL && need <= x->cap)
		return;
	size_t cap = x->cap < 64 ? 64 : x->cap;
	while (cap < need)
		cap *= 2;
	x->data = mh_realloc(x->data, cap);
	x->cap = cap;
}

static void insert_nocap(struct mut_work *w, size_t i, const void *data, size_t len)
{
	struct mut_send *x = slot_open(w, i);
	send_reserve(x, len);
	if (len > 0)
		memcpy(x->data, data, len);
	x->len = len;
	w->bytes += len;
}

int mut_work_insert(struct mut_work *w, size_t i, const void *data, size_t len)
{
	if (w->n >= MUT_MAX_SENDS || i > w->n)
		return -1;
	insert_nocap(w, i, data, len);
	return 0;
}

void mut_work_remove(struct mut_work *w, size_t i)
{
	if (i >= w->n)
		return;
	struct mut_send x = w->s[i];
	w->bytes -= x.len;
	memmove(w->s + i, w->s + i + 1, (w->n - i - 1) * sizeof(*w->s));
	x.len = 0;
	w->s[w->n - 1] = x;
	w->n--;
}

int mut_work_repeat(struct mut_work *w, size_t i, size_t times)
{
	if (i >= w->n || times == 0 || w->n + times > MUT_MAX_SENDS)
		return -1;
	if (w->n + times > w->cap) {
		size_t cap = w->cap ? w->cap : 32;
		while (cap < w->n + times)
			cap *= 2;
		w->s = mh_realloc(w->s, cap * sizeof(*w->s));
		memset(w->s + w->cap, 0, (cap - w->cap) * sizeof(*w->s));
		w->cap = cap;
	}
	/* the spare slots past n move to i+1.., the tail moves up */
	struct mut_send *spare = mh_malloc(times * sizeof(*spare));
	memcpy(spare, w->s + w->n, times * sizeof(*spare));
	memmove(w->s + i + 1 + times, w->s + i + 1, (w->n - i - 1) * sizeof(*w->s));
	memcpy(w->s + i + 1, spare, times * sizeof(*spare));
	free(spare);
	const struct mut_send *src = &w->s[i];
	for (size_t k = 0; k < times; k++) {
		struct mut_send *x = &w->s[i + 1 + k];
		send_reserve(x, src->len);
		if (src->len > 0)
			memcpy(x->data, src->data, src->len);
		x->len = src->len;
		x->st_off = src->st_off;
		x->st_n = src->st_n;
		x->tls_after = false;
		w->bytes += src->len;
	}
	w->n += times;
	if (w->n > w->hw)
		w->hw = w->n;
	return 0;
}

void mut_work_edit(struct mut_work *w, size_t i, size_t off, size_t del, const void *ins,
                   size_t inslen)
{
	struct mut_send *x = &w->s[i];
	if (off > x->len)
		off = x->len;
	if (del > x->len - off)
		del = x->len - off;
	size_t nl = x->len - del + inslen;
	send_reserve(x, nl);
	memmove(x->data + off + inslen, x->data + off + del, x->len - off - del);
	if (inslen > 0)
		memcpy(x->data + off, ins, inslen);
	w->bytes = w->bytes - x->len + nl;
	x->len = nl;
}

static void status_add(struct mut_work *w, const char *status)
{
	if (w->nst == w->stcap) {
		w->stcap = w->stcap ? w->stcap * 2 : 64;
		w->st = mh_realloc(w->st, w->stcap * sizeof(*w->st));
	}
	snprintf(w->st[w->nst++], sizeof(w->st[0]), "%s", status);
}

void mut_work_load(struct mut_work *w, const struct mh_dialogue *d)
{
	mut_work_clear(w);
	w->proto = d->proto;
	for (size_t i = 0; i < d->n; i++) {
		const struct mh_dlg_msg *r = &d->msgs[i];
		if (r->op == MH_DLG_SEND) {
			insert_nocap(w, w->n, r->data, r->len);
		} else if (w->n > 0 && r->op == MH_DLG_REPLY) {
			status_add(w, r->status);
			w->s[w->n - 1].st_n++;
		} else if (w->n > 0 && r->op == MH_DLG_TLS) {
			w->s[w->n - 1].tls_after = true;
		}
	}
}

void mut_work_from_stream(struct mut_work *w, const unsigned char *buf, size_t len,
                          size_t max_sends)
{
	struct mut_scan sc;
	mut_scan_init(&sc, w->proto);
	mut_work_clear(w);
	size_t start = 0, p = 0;
	while (p < len) {
		enum mut_ev ev;
		bool st;
		p += mut_scan_feed(&sc, buf + p, len - p, &ev, &st);
		if (ev != MUT_EV_NONE && w->n + 1 < max_sends) {
			insert_nocap(w, w->n, buf + start, p - start);
			start = p;
		}
	}
	if (start < len)
		insert_nocap(w, w->n, buf + start, len - start);
}

size_t mut_emit(const struct mut_work *w, struct mh_dialogue *out)
{
	struct mut_scan sc;
	mut_scan_init(&sc, w->proto);
	bool tls_done = false;
	size_t amb = SIZE_MAX, nrec = 0;
	if (out != NULL) {
		mh_dialogue_clear(out);
		out->proto = w->proto;
	}
	for (size_t i = 0; i < w->n && nrec < MH_DLG_MAX_MSGS; i++) {
		const struct mut_send *x = &w->s[i];
		size_t p = 0, due = 0;
		bool sink = false, tls = false;
		while (p < x->len) {
			enum mut_ev ev;
			bool st;
			p += mut_scan_feed(&sc, x->data + p, x->len - p, &ev, &st);
			if (ev != MUT_EV_REPLY || sink)
				continue;
			due++;
			if (!st || tls_done)
				continue;
			const char *hint = due - 1 < x->st_n ? w->st[x->st_off + due - 1] : "";
			bool refused = hint[0] != '\0' && !mut_status_positive(w->proto, hint);
			if (!refused && (x->tls_after || i + 1 < w->n || p < x->len)) {
				tls = tls_done = true;
				if (p < x->len) {
					sink = true;
					sc.ambiguous = true;
				}
			}
		}
		if (sc.ambiguous && amb == SIZE_MAX)
			amb = nrec;
		if (out != NULL)
			(void)mh_dialogue_add(out, MH_DLG_SEND, x->data, x->len, NULL);
		nrec++;
		/* room for the SENDs still to come and a TLS record: replies past it are dropped */
		size_t reserve = (w->n - i - 1) + (tls_done && !tls ? 0 : 1);
		for (size_t k = 0; k < due && nrec + 1 + reserve <= MH_DLG_MAX_MSGS; k++) {
			if (out != NULL)
				(void)mh_dialogue_add(out, MH_DLG_REPLY, NULL, 0,
				                      due == x->st_n ? w->st[x->st_off + k] : "");
			nrec++;
		}
		if (tls) {
			if (out != NULL)
				(void)mh_dialogue_add(out, MH_DLG_TLS, NULL, 0, NULL);
			nrec++;
			bool was = sc.ambiguous;
			mut_scan_init(&sc, w->proto);
			sc.ambiguous = was;
		}
	}
	return amb;
}

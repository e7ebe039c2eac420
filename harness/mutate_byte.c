/* mutate_byte.c: the byte-level operators: split a write, merge writes (pipelining), bit flips
   and byte replacements, random insertions and erasures. */
#include "mutate_int.h"

#include <string.h>

static const unsigned char interesting[] = {
    0x00, 0xff, '\r', '\n', ' ', ':', '<', '>', '{', '}',  '"',  '\\', '.', '*', 0x80, '%',
    '(',  ')',  '[',  ']',  '@', ',', '=', '+', '~', 0x7f, '\t', 0x1f, '0', '9', '-',  '/',
};

/* A random SEND of at least minlen bytes; -1 if none. */
static int pick_send(struct mut_ctx *c, size_t minlen, size_t *i_r)
{
	size_t count = 0;
	for (size_t i = 0; i < c->w->n; i++)
		count += c->w->s[i].len >= minlen;
	if (count == 0)
		return -1;
	size_t k = mh_rng_below(c->rng, count);
	for (size_t i = 0; i < c->w->n; i++)
		if (c->w->s[i].len >= minlen && k-- == 0) {
			*i_r = i;
			return 0;
		}
	return -1;
}

int mut_op_split(struct mut_ctx *c)
{
	size_t i;
	if (c->w->n >= MUT_MAX_SENDS || pick_send(c, 2, &i) != 0)
		return -1;
	struct mut_send *x = &c->w->s[i];
	size_t p = 1 + mh_rng_below(c->rng, x->len - 1);
	if (mh_rng_below(c->rng, 2) == 0) {
		/* a structural point: before a CR or LF, after a space, between CR and LF */
		size_t start = mh_rng_below(c->rng, x->len - 1) + 1;
		for (size_t k = start; k < x->len; k++)
			if (x->data[k] == '\r' || x->data[k] == '\n' || x->data[k - 1] == ' ') {
				p = k;
				break;
			}
	}
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	mh_buf_append(b, x->data + p, x->len - p);
	uint32_t st_off = x->st_off, st_n = x->st_n;
	bool tls = x->tls_after;
	mut_work_edit(c->w, i, p, x->len - p, NULL, 0);
	c->w->s[i].st_n = 0;
	c->w->s[i].tls_after = false;
	(void)mut_work_insert(c->w, i + 1, b->data, b->len);
	/* the replies the write was followed by now follow its second half */
	c->w->s[i + 1].st_off = st_off;
	c->w->s[i + 1].st_n = st_n;
	c->w->s[i + 1].tls_after = tls;
	return 0;
}

int mut_op_merge(struct mut_ctx *c)
{
	struct mut_work *w = c->w;
	if (w->n < 2)
		return -1;
	size_t i = mh_rng_below(c->rng, w->n - 1);
	size_t avail = w->n - i - 1;
	size_t k = mh_rng_below(c->rng, 8) == 0 ? avail : mut_skew(c->rng, avail < 8 ? avail : 8);
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	bool tls = false;
	for (size_t j = i + 1; j <= i + k; j++) {
		mh_buf_append(b, w->s[j].data, w->s[j].len);
		tls |= w->s[j].tls_after;
	}
	for (size_t j = 0; j < k; j++)
		mut_work_remove(w, i + 1);
	mut_work_edit(w, i, w->s[i].len, 0, b->data, b->len);
	w->s[i].st_n = 0; /* a different number of replies now follows it */
	w->s[i].tls_after |= tls;
	return 0;
}

int mut_op_flip(struct mut_ctx *c)
{
	size_t i;
	if (pick_send(c, 1, &i) != 0)
		return -1;
	struct mut_send *x = &c->w->s[i];
	size_t times = mut_skew(c->rng, 8);
	for (size_t t = 0; t < times; t++) {
		size_t at = mh_rng_below(c->rng, x->len);
		switch (mh_rng_below(c->rng, 3)) {
		case 0: x->data[at] ^= (unsigned char)(1u << mh_rng_below(c->rng, 8)); break;
		case 1: x->data[at] = interesting[mh_rng_below(c->rng, sizeof(interesting))]; break;
		default: x->data[at] = (unsigned char)mh_rng_below(c->rng, 256); break;
		}
	}
	return 0;
}

int mut_op_insert_bytes(struct mut_ctx *c)
{
	size_t i;
	if (pick_send(c, 0, &i) != 0)
		return -1;
	size_t n = mut_skew(c->rng, 64);
	if (n > mut_room(c))
		return -1;
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	uint64_t how = mh_rng_below(c->rng, 3);
	unsigned char same = interesting[mh_rng_below(c->rng, sizeof(interesting))];
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = how == 0 ? (unsigned char)mh_rng_below(c->rng, 256)
		                   : how == 1
		                       ? interesting[mh_rng_below(c->rng, sizeof(interesting))]
		                       : same;
		mh_buf_append(b, &ch, 1);
	}
	mut_work_edit(c->w, i, mh_rng_below(c->rng, c->w->s[i].len + 1), 0, b->data, b->len);
	return 0;
}

int mut_op_erase(struct mut_ctx *c)
{
	size_t i;
	if (pick_send(c, 1, &i) != 0)
		return -1;
	size_t len = c->w->s[i].len;
	size_t at = mh_rng_below(c->rng, len);
	size_t max = len - at;
	size_t n = mh_rng_below(c->rng, 8) == 0 ? max : mut_skew(c->rng, max < 64 ? max : 64);
	mut_work_edit(c->w, i, at, n, NULL, 0);
	return 0;
}

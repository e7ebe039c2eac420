/* mutate_dlg.c: the dialogue-level operators: insert a command valid in another state (guided by
   the spec), drop, duplicate, repeat, swap, truncate, splice. They move whole SENDs; the REPLY
   records follow from the bytes afterwards. */
#include "mutate_int.h"

#include <string.h>

int mut_op_insert_cmd(struct mut_ctx *c)
{
	const char *name = NULL;
	const char *text = mut_template_pick(c->m, c->rng, &name);
	return mut_insert_text(c, mut_pick_slot(c), text, true) > 0 ? 0 : -1;
}

int mut_op_drop(struct mut_ctx *c)
{
	struct mut_work *w = c->w;
	if (w->n == 0)
		return -1;
	size_t i = mh_rng_below(c->rng, w->n);
	size_t k = mh_rng_below(c->rng, 4) == 0 ? mut_skew(c->rng, w->n - i) : 1;
	while (k-- > 0)
		mut_work_remove(w, i);
	return 0;
}

int mut_op_dup(struct mut_ctx *c)
{
	struct mut_work *w = c->w;
	if (w->n == 0 || w->n >= MUT_MAX_SENDS)
		return -1;
	size_t i = mh_rng_below(c->rng, w->n);
	size_t j = mh_rng_below(c->rng, w->n + 1);
	if (w->s[i].len > mut_room(c))
		return -1;
	struct mh_buf *b = &c->m->scratch;
	mh_buf_reset(b);
	mh_buf_append(b, w->s[i].data, w->s[i].len);
	uint32_t st_off = w->s[i].st_off, st_n = w->s[i].st_n;
	if (mut_work_insert(w, j, b->data, b->len) != 0)
		return -1;
	w->s[j].st_off = st_off;
	w->s[j].st_n = st_n;
	return 0;
}

int mut_op_repeat(struct mut_ctx *c)
{
	struct mut_work *w = c->w;
	if (w->n == 0 || w->n >= MUT_MAX_SENDS)
		return -1;
	size_t i = mh_rng_below(c->rng, w->n);
	size_t max = MUT_MAX_SENDS - w->n;
	if (max > 1000)
		max = 1000;
	if (w->s[i].len > 0 && mut_room(c) / w->s[i].len < max)
		max = mut_room(c) / w->s[i].len;
	if (max == 0)
		return -1;
	return mut_work_repeat(w, i, mut_skew(c->rng, max));
}

int mut_op_swap(struct mut_ctx *c)
{
	struct mut_work *w = c->w;
	if (w->n < 2)
		return -1;
	size_t i = mh_rng_below(c->rng, w->n), j;
	if (mh_rng_below(c->rng, 2) == 0) { /* neighbours, or any two */
		j = (i + 1) % w->n;
	} else {
		j = mh_rng_below(c->rng, w->n - 1);
		if (j >= i)
			j++;
	}
	struct mut_send t = w->s[i];
	w->s[i] = w->s[j];
	w->s[j] = t;
	return 0;
}

int mut_op_truncate(struct mut_ctx *c)
{
	struct mut_work *w = c->w;
	if (w->n == 0)
		return -1;
	size_t k = mh_rng_below(c->rng, w->n);
	while (w->n > k + 1)
		mut_work_remove(w, w->n - 1);
	/* sometimes the last write is cut short too */
	struct mut_send *x = &w->s[w->n - 1];
	if ((w->n == 1 || mh_rng_below(c->rng, 3) == 0) && x->len > 1) {
		size_t keep = mh_rng_below(c->rng, x->len);
		mut_work_edit(w, w->n - 1, keep, x->len - keep, NULL, 0);
	}
	return 0;
}

int mut_op_splice(struct mut_ctx *c)
{
	struct mut_work *w = c->w;
	struct mut_work *s = mut_ctx_splice(c);
	if (s == NULL)
		return -1;
	size_t b = mh_rng_below(c->rng, s->n);
	size_t a, end;
	if (mh_rng_below(c->rng, 2) == 0) {
		/* our head, their tail */
		a = mh_rng_below(c->rng, w->n + 1);
		while (w->n > a)
			mut_work_remove(w, w->n - 1);
		end = s->n;
	} else {
		/* a run of theirs inserted here */
		a = mh_rng_below(c->rng, w->n + 1);
		end = b + mut_skew(c->rng, s->n - b);
	}
	for (size_t k = b; k < end; k++) {
		const struct mut_send *x = &s->s[k];
		if (x->len > mut_room(c) || mut_work_insert(w, a, x->data, x->len) != 0)
			break;
		w->s[a].tls_after = x->tls_after;
		a++;
	}
	return 0;
}

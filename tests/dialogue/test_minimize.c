/* test_minimize.c: delta debugging of dialogues with synthetic oracles: the result still fails,
   is 1-minimal (no single record unit or byte can go), respects the budget and never separates a
   REPLY from the SEND before it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minimize.h"
#include "tap.h"

struct oracle {
	size_t calls;
	size_t orphans;      /* candidates where a REPLY lost its SEND */
	size_t lead_replies; /* REPLY records the original has before its first SEND */
};

static bool starts_with(const struct mh_dlg_msg *m, const char *p)
{
	size_t l = strlen(p);
	return m->op == MH_DLG_SEND && m->len >= l && memcmp(m->data, p, l) == 0;
}

static bool has_byte(const struct mh_dlg_msg *m, unsigned char b)
{
	return m->op == MH_DLG_SEND && m->len > 0 && memchr(m->data, b, m->len) != NULL;
}

static void check_shape(struct oracle *o, const struct mh_dialogue *d)
{
	size_t lead = 0;
	while (lead < d->n && d->msgs[lead].op == MH_DLG_REPLY)
		lead++;
	if (lead > o->lead_replies)
		o->orphans++;
}

/* Fails iff some SEND contains 0xff and some SEND starts with "MAIL". */
static bool oracle_a(void *ud, const struct mh_dialogue *d)
{
	struct oracle *o = ud;
	o->calls++;
	check_shape(o, d);
	bool ff = false, mail = false;
	for (size_t i = 0; i < d->n; i++) {
		ff |= has_byte(&d->msgs[i], 0xff);
		mail |= starts_with(&d->msgs[i], "MAIL");
	}
	return ff && mail;
}

/* Fails iff a SEND starts with EHLO, contains "BAD=1" and ends in CRLF. */
static bool oracle_b(void *ud, const struct mh_dialogue *d)
{
	struct oracle *o = ud;
	o->calls++;
	check_shape(o, d);
	for (size_t i = 0; i < d->n; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		if (!starts_with(m, "EHLO") || m->len < 2 ||
		    memcmp(m->data + m->len - 2, "\r\n", 2) != 0)
			continue;
		for (size_t k = 0; k + 5 <= m->len; k++)
			if (memcmp(m->data + k, "BAD=1", 5) == 0)
				return true;
	}
	return false;
}

static void add(struct mh_dialogue *d, const char *s, const char *reply)
{
	mh_dialogue_add(d, MH_DLG_SEND, s, strlen(s), NULL);
	if (reply != NULL)
		mh_dialogue_add(d, MH_DLG_REPLY, NULL, 0, reply);
}

static void noisy(struct mh_dialogue *d)
{
	mh_dialogue_init(d, MH_PROTO_SMTP);
	add(d, "EHLO client.example\r\n", "250");
	add(d, "NOOP\r\n", "250");
	add(d, "RSET\r\n", NULL);
	add(d, "HELP\r\n", "214");
	add(d, "MAIL FROM:<a@example.test> SIZE=100 BODY=8BITMIME\r\n", "250");
	add(d, "RCPT TO:<b@example.test>\r\n", "250");
	mh_dialogue_add(d, MH_DLG_TLS, NULL, 0, NULL);
	add(d, "DATA\r\n", "354");
	add(d, "Subject: x\r\n\r\nbody \xff body\r\n.\r\n", "250");
	add(d, "VRFY x\r\n", "252");
	add(d, "QUIT\r\n", "221");
}

/* 1-minimality: removing any one record unit, or any one byte of a SEND, passes the oracle. */
static bool one_minimal(const struct mh_dialogue *d, mh_still_fails_fn fn, void *ud)
{
	struct mh_dialogue c;
	mh_dialogue_init(&c, d->proto);
	bool minimal = true;
	for (size_t i = 0; i < d->n && minimal; i++) {
		if (d->msgs[i].op == MH_DLG_REPLY)
			continue;
		size_t end = i + 1;
		while (end < d->n && d->msgs[end].op == MH_DLG_REPLY)
			end++;
		mh_dialogue_copy(&c, d);
		for (size_t k = i; k < end; k++)
			mh_dialogue_remove(&c, i);
		minimal = !fn(ud, &c);
		for (size_t b = 0; minimal && d->msgs[i].op == MH_DLG_SEND && b < d->msgs[i].len;
		     b++) {
			mh_dialogue_copy(&c, d);
			struct mh_dlg_msg *m = &c.msgs[i];
			memmove(m->data + b, m->data + b + 1, m->len - b - 1);
			m->len--;
			minimal = !fn(ud, &c);
		}
	}
	mh_dialogue_deinit(&c);
	return minimal;
}

static void test_records_and_bytes(void)
{
	struct mh_dialogue d;
	noisy(&d);
	struct oracle o = {0};
	tap_ok(oracle_a(&o, &d), "the noisy dialogue fails oracle A");
	struct mh_minimize_stats st;
	mh_minimize(&d, oracle_a, &o, 5000, &st);
	tap_ok(oracle_a(&o, &d), "the result still fails");
	struct mh_buf t;
	mh_buf_init(&t);
	mh_dialogue_format(&d, &t);
	tap_ok(tap_streq(mh_buf_cstr(&t),
	                 "# mailharness dialogue 1\nproto smtp\nsend MAIL\nreply 250\nsend "
	                 "\\xff\nreply 250\n",
	                 "minimized"),
	       "records, arguments and bytes reduced to MAIL and \\xff with their replies");
	tap_ok(one_minimal(&d, oracle_a, &o), "the result is 1-minimal");
	tap_ok(o.orphans == 0, "no candidate separated a REPLY from its SEND");
	tap_ok(st.msgs_before == 20 && st.msgs_after == 4 && st.bytes_after == 5 && st.tries > 0 &&
	           st.tries <= 5000,
	       "stats: %zu -> %zu records, %zu -> %zu bytes, %zu tries", st.msgs_before,
	       st.msgs_after, st.bytes_before, st.bytes_after, st.tries);
	mh_buf_deinit(&t);
	mh_dialogue_deinit(&d);
}

static void test_arguments(void)
{
	struct mh_dialogue d;
	mh_dialogue_init(&d, MH_PROTO_SMTP);
	mh_dialogue_add(&d, MH_DLG_REPLY, NULL, 0, "220"); /* a leading reply stays legal */
	add(&d, "NOOP\r\n", "250");
	add(&d, "EHLO a.example b c BAD=1 d e f\r\n", "250");
	add(&d, "QUIT\r\n", "221");
	struct oracle o = {.lead_replies = 1};
	struct mh_minimize_stats st;
	mh_minimize(&d, oracle_b, &o, 0, &st);
	bool ok = d.n >= 1 && oracle_b(&o, &d);
	const struct mh_dlg_msg *m = NULL;
	for (size_t i = 0; i < d.n; i++)
		if (d.msgs[i].op == MH_DLG_SEND)
			m = &d.msgs[i];
	tap_ok(ok && m != NULL && m->len == 11 && memcmp(m->data, "EHLOBAD=1\r\n", 11) == 0,
	       "arguments then bytes: EHLOBAD=1\\r\\n");
	tap_ok(one_minimal(&d, oracle_b, &o), "1-minimal");
	tap_ok(o.orphans == 0, "no orphaned replies");
	mh_dialogue_deinit(&d);
}

/* Budget: never more oracle calls than allowed, and the dialogue still fails. */
static void test_budget(void)
{
	for (size_t budget = 1; budget <= 40; budget += 13) {
		struct mh_dialogue d;
		noisy(&d);
		struct oracle o = {0};
		struct mh_minimize_stats st;
		mh_minimize(&d, oracle_a, &o, budget, &st);
		tap_ok(o.calls == st.tries && st.tries <= budget && oracle_a(&o, &d),
		       "budget %zu: %zu calls, result still fails", budget, st.tries);
		mh_dialogue_deinit(&d);
	}
}

/* An oracle that accepts everything reduces to the empty dialogue; one that accepts nothing
   keeps the input unchanged. */
static bool always(void *ud, const struct mh_dialogue *d)
{
	(void)ud;
	(void)d;
	return true;
}

static bool never(void *ud, const struct mh_dialogue *d)
{
	(void)d;
	++*(size_t *)ud;
	return false;
}

static void test_extremes(void)
{
	struct mh_dialogue d, orig;
	noisy(&d);
	noisy(&orig);
	mh_minimize(&d, always, NULL, 0, NULL);
	tap_ok(d.n == 0, "an always-failing oracle leaves nothing");
	mh_dialogue_copy(&d, &orig);
	size_t calls = 0;
	struct mh_minimize_stats st;
	mh_minimize(&d, never, &calls, 0, &st);
	tap_ok(mh_dialogue_equal(&d, &orig) && calls == st.tries && calls > 0,
	       "an oracle that never confirms keeps the input (%zu calls)", calls);
	mh_dialogue_clear(&d);
	mh_minimize(&d, never, &calls, 0, NULL);
	tap_ok(d.n == 0, "empty input");
	mh_dialogue_deinit(&d);
	mh_dialogue_deinit(&orig);
}

int main(void)
{
	test_records_and_bytes();
	test_arguments();
	test_budget();
	test_extremes();
	return tap_done();
}

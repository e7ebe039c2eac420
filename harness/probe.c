/* probe.c: capability queries, STARTTLS upgrades and target probing, shared by the runner and
   the Lua runtime. */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mh_proto_dialogue dialogues[] = {
    [MH_PROTO_SMTP] = {"EHLO mailharness.invalid", "STARTTLS", "STARTTLS", "QUIT", false},
    [MH_PROTO_IMAP] = {"CAPABILITY", "STARTTLS", "STARTTLS", "LOGOUT", true},
    [MH_PROTO_POP3] = {"CAPA", "STLS", "STLS", "QUIT", false},
};

/* How the probe logs in to learn the capabilities announced after authentication. SMTP servers
   rarely change their EHLO keywords after AUTH, so SMTP is not logged in. */
enum login_style { LOGIN_NONE, LOGIN_IMAP, LOGIN_POP3_USER };
static const enum login_style login_styles[] = {
    [MH_PROTO_SMTP] = LOGIN_NONE,
    [MH_PROTO_IMAP] = LOGIN_IMAP,
    [MH_PROTO_POP3] = LOGIN_POP3_USER,
};
_Static_assert(MH_ARRAY_SIZE(login_styles) == MH_PROTO_COUNT, "login_styles out of sync");
_Static_assert(MH_ARRAY_SIZE(dialogues) == MH_PROTO_COUNT, "dialogues out of sync");

const struct mh_proto_dialogue *mh_proto_dialogue(enum mh_proto_id p)
{
	return &dialogues[p];
}

int mh_probe_command(struct mh_conn *c, const char *line, struct mh_reply *r, struct mh_error *err)
{
	static unsigned long counter; /* tags only need to be unique per connection */
	struct mh_buf b;
	mh_buf_init(&b);
	if (dialogues[c->target.proto].tagged)
		mh_buf_printf(&b, "P%04lu ",
		              __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) % 10000);
	mh_buf_printf(&b, "%s\r\n", line);
	int rc = mh_conn_send(c, b.data, b.len, err);
	mh_buf_deinit(&b);
	if (rc != 0)
		return -1;
	return mh_conn_read_reply(c, r, err);
}

int mh_probe_caps(struct mh_conn *c, struct mh_reply *r, struct mh_error *err)
{
	const struct mh_proto_dialogue *d = &dialogues[c->target.proto];
	int rc = mh_probe_command(c, d->caps_cmd, r, err);
	if (rc != 1) {
		if (rc == 0)
			mh_error_set(err, "the server closed the connection after %s", d->caps_cmd);
		return -1;
	}
	if (r->cls != MH_RC_OK) {
		mh_error_set(err, "%s was refused: %s", d->caps_cmd, r->status);
		return -1;
	}
	if (c->session == NULL)
		mh_caps_from_reply(&c->caps, r);
	return 0;
}

int mh_probe_starttls(struct mh_conn *c, struct mh_reply *r, struct mh_error *err)
{
	const struct mh_proto_dialogue *d = &dialogues[c->target.proto];
	int rc = mh_probe_command(c, d->starttls_cmd, r, err);
	if (rc != 1) {
		if (rc == 0)
			mh_error_set(err, "the server closed the connection after %s",
			             d->starttls_cmd);
		return -1;
	}
	if (r->cls != MH_RC_OK) {
		struct mh_buf t;
		mh_buf_init(&t);
		mh_buf_append_escaped(&t, r->raw.data, r->raw.len, 200);
		mh_error_set(err, "%s refused: %s", d->starttls_cmd, mh_buf_cstr(&t));
		mh_buf_deinit(&t);
		return -1;
	}
	return mh_conn_start_tls(c, err);
}

void mh_probe_quit(struct mh_conn *c)
{
	if (mh_conn_is_closed(c))
		return;
	struct mh_reply r;
	mh_reply_init(&r, c->target.proto);
	struct mh_error err;
	mh_error_init(&err);
	mh_probe_command(c, dialogues[c->target.proto].quit_cmd, &r, &err);
	mh_reply_deinit(&r);
}

static void caps_to_strv(const struct mh_caps *caps, char ***v_r, size_t *n_r)
{
	*v_r = mh_calloc(caps->n + 1, sizeof(char *));
	for (size_t i = 0; i < caps->n; i++) {
		struct mh_buf b;
		mh_buf_init(&b);
		mh_buf_append_str(&b, caps->name[i]);
		if (caps->value[i] != NULL && caps->value[i][0] != '\0')
			mh_buf_printf(&b, " %s", caps->value[i]);
		(*v_r)[i] = (char *)b.data;
	}
	*n_r = caps->n;
}

/* IMAP quoted string (RFC 3501 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE, with \\ and \"). */
static void imap_quote(struct mh_buf *b, const char *s)
{
	mh_buf_append(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			mh_buf_append(b, "\\", 1);
		mh_buf_append(b, s, 1);
	}
	mh_buf_append(b, "\"", 1);
}

/* Adds the capabilities of src missing from dst. */
static void merge_caps(struct mh_caps *dst, const struct mh_caps *src)
{
	for (size_t i = 0; i < src->n && dst->n < MH_CAPS_MAX; i++) {
		if (mh_caps_has(dst, src->name[i]))
			continue;
		dst->name[dst->n] = mh_strdup(src->name[i]);
		dst->value[dst->n] = mh_strdup(src->value[i]);
		dst->n++;
	}
}

/* Logs in and adds the capabilities announced afterwards to caps_r. Failures are not errors:
   the cases that need credentials find out themselves. */
static void probe_login(struct mh_conn *c, const char *user, const char *password,
                        struct mh_reply *r, struct mh_caps *caps_r)
{
	enum login_style st = login_styles[c->target.proto];
	if (st == LOGIN_NONE || user == NULL || password == NULL || mh_conn_is_closed(c))
		return;
	if (strpbrk(user, "\r\n") != NULL || strpbrk(password, "\r\n") != NULL)
		return;
	struct mh_error e;
	mh_error_init(&e);
	struct mh_buf line;
	mh_buf_init(&line);
	bool ok;
	if (st == LOGIN_IMAP) {
		if (mh_caps_has(&c->caps, "LOGINDISABLED")) {
			mh_buf_deinit(&line);
			return;
		}
		mh_buf_append_str(&line, "LOGIN ");
		imap_quote(&line, user);
		mh_buf_append_str(&line, " ");
		imap_quote(&line, password);
		ok = mh_probe_command(c, mh_buf_cstr(&line), r, &e) == 1 && r->cls == MH_RC_OK;
	} else {
		mh_buf_printf(&line, "USER %s", user);
		ok = mh_probe_command(c, mh_buf_cstr(&line), r, &e) == 1 && r->cls == MH_RC_OK;
		mh_buf_reset(&line);
		mh_buf_printf(&line, "PASS %s", password);
		ok =
		    ok && mh_probe_command(c, mh_buf_cstr(&line), r, &e) == 1 && r->cls == MH_RC_OK;
	}
	mh_buf_deinit(&line);
	if (ok && mh_probe_caps(c, r, &e) == 0)
		merge_caps(caps_r, &c->caps);
}

static void copy_caps(struct mh_caps *dst, const struct mh_caps *src)
{
	mh_caps_clear(dst);
	for (size_t i = 0; i < src->n; i++) {
		dst->name[i] = mh_strdup(src->name[i]);
		dst->value[i] = mh_strdup(src->value[i]);
	}
	dst->n = src->n;
}

int mh_probe_target(const struct mh_target *t, const struct mh_conn_opts *o, const char *user,
                    const char *password, struct mh_target_info *info, struct mh_caps *caps_r,
                    struct mh_error *err)
{
	info->url = mh_strdup(t->url);
	info->proto = mh_strdup(mh_proto_name(t->proto));
	info->host = mh_strdup(t->host);
	info->port = t->port;
	info->tls = mh_strdup(mh_tls_mode_name(t->tls));
	struct mh_conn_opts po = *o;
	po.result = NULL;
	struct mh_conn *c = mh_conn_open(t, &po, 0, err);
	if (c == NULL)
		goto fail;
	int rc = mh_conn_read_greeting(c, err);
	if (rc != 1) {
		if (rc == 0)
			mh_error_set(err, "the server closed the connection without a greeting");
		goto fail;
	}
	struct mh_buf g;
	mh_buf_init(&g);
	mh_buf_append_escaped(&g, c->greeting.raw.data, c->greeting.raw.len, 1024);
	info->greeting = mh_strdup(mh_buf_cstr(&g));
	mh_buf_deinit(&g);
	struct mh_reply r;
	mh_reply_init(&r, t->proto);
	/* A refusing or malformed greeting is for the cases to judge, not a reason to stop: only a
	   dead connection or a STARTTLS upgrade that the target URL asks for and that fails is. */
	struct mh_error cerr;
	mh_error_init(&cerr);
	if (c->greeting.cls == MH_RC_OK || c->greeting.cls == MH_RC_PREAUTH) {
		if (mh_probe_caps(c, &r, &cerr) == 0) {
			caps_to_strv(&c->caps, &info->caps_before, &info->ncaps_before);
			copy_caps(caps_r, &c->caps);
		} else if (mh_conn_is_closed(c)) {
			mh_error_set(err, "capability query: %s", cerr.msg);
		}
		if (t->tls == MH_TLS_STARTTLS && !err->set) {
			if (mh_probe_starttls(c, &r, err) == 0) {
				mh_error_init(&cerr);
				if (mh_probe_caps(c, &r, &cerr) == 0) {
					caps_to_strv(&c->caps, &info->caps_after,
					             &info->ncaps_after);
					copy_caps(caps_r, &c->caps);
				} else if (mh_conn_is_closed(c)) {
					mh_error_set(err, "capability query after STARTTLS: %s",
					             cerr.msg);
				}
			}
		}
	} else if (t->tls == MH_TLS_STARTTLS) {
		mh_error_set(err,
		             "the greeting refuses service, so the STARTTLS upgrade the URL asks "
		             "for cannot be done");
	}
	if (!err->set)
		probe_login(c, user, password, &r, caps_r);
	mh_reply_deinit(&r);
	if (c->sock != NULL && mh_sock_is_tls(c->sock)) {
		info->tls_version = mh_strdup(mh_sock_tls_version(c->sock));
		info->tls_cipher = mh_strdup(mh_sock_tls_cipher(c->sock));
	}
	if (err->set)
		goto fail;
	mh_probe_quit(c);
	mh_conn_free(&c);
	return 0;
fail:
	info->probe_error = mh_strdup(err->msg);
	mh_conn_free(&c);
	return -1;
}

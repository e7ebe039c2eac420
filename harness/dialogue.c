/* dialogue.c: recorded client dialogues: records, the text form (strict, byte-exact escapes),
   files, and the placeholders that stand in for secrets. */
#include "dialogue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER  "# mailharness dialogue"
#define VERSION "1"

static const char *const op_names[] = {
    [MH_DLG_SEND] = "send", [MH_DLG_REPLY] = "reply", [MH_DLG_TLS] = "tls"};
_Static_assert(MH_ARRAY_SIZE(op_names) == MH_DLG_COUNT, "op_names out of sync");

/* ---- records ---- */

void mh_dialogue_init(struct mh_dialogue *d, enum mh_proto_id proto)
{
	memset(d, 0, sizeof(*d));
	d->proto = proto;
}

void mh_dialogue_clear(struct mh_dialogue *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i].data);
	d->n = 0;
}

void mh_dialogue_deinit(struct mh_dialogue *d)
{
	mh_dialogue_clear(d);
	free(d->msgs);
	memset(d, 0, sizeof(*d));
}

/* A status is kept only if the text form can carry it: 1..11 printable non-space characters. */
static void set_status(struct mh_dlg_msg *m, const char *status)
{
	m->status[0] = '\0';
	if (m->op != MH_DLG_REPLY || status == NULL)
		return;
	size_t l = strlen(status);
	if (l >= sizeof(m->status))
		return;
	for (size_t i = 0; i < l; i++)
		if (status[i] <= ' ' || status[i] > '~')
			return;
	memcpy(m->status, status, l + 1);
}

/* Inserts without the byte cap (the caller checked it). */
static int insert_at(struct mh_dialogue *d, size_t i, enum mh_dlg_op op, const void *data,
                     size_t len, const char *status)
{
	if ((unsigned)op >= MH_DLG_COUNT || i > d->n || d->n >= MH_DLG_MAX_MSGS)
		return -1;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		if (cap > MH_DLG_MAX_MSGS)
			cap = MH_DLG_MAX_MSGS;
		d->msgs = mh_realloc(d->msgs, cap * sizeof(*d->msgs));
		d->cap = cap;
	}
	memmove(d->msgs + i + 1, d->msgs + i, (d->n - i) * sizeof(*d->msgs));
	struct mh_dlg_msg *m = &d->msgs[i];
	memset(m, 0, sizeof(*m));
	m->op = op;
	if (op == MH_DLG_SEND) {
		m->data = mh_malloc(len > 0 ? len : 1);
		if (len > 0)
			memcpy(m->data, data, len);
		m->len = len;
	}
	set_status(m, status);
	d->n++;
	return 0;
}

int mh_dialogue_insert(struct mh_dialogue *d, size_t i, enum mh_dlg_op op, const void *data,
                       size_t len, const char *status)
{
	if (op == MH_DLG_SEND &&
	    (len > MH_DLG_MAX_BYTES || mh_dialogue_bytes(d) > MH_DLG_MAX_BYTES - len))
		return -1;
	return insert_at(d, i, op, data, len, status);
}

int mh_dialogue_add(struct mh_dialogue *d, enum mh_dlg_op op, const void *data, size_t len,
                    const char *status)
{
	return mh_dialogue_insert(d, d->n, op, data, len, status);
}

void mh_dialogue_remove(struct mh_dialogue *d, size_t i)
{
	if (i >= d->n)
		return;
	free(d->msgs[i].data);
	memmove(d->msgs + i, d->msgs + i + 1, (d->n - i - 1) * sizeof(*d->msgs));
	d->n--;
}

size_t mh_dialogue_bytes(const struct mh_dialogue *d)
{
	size_t t = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->msgs[i].op == MH_DLG_SEND)
			t += d->msgs[i].len;
	return t;
}

void mh_dialogue_copy(struct mh_dialogue *dst, const struct mh_dialogue *src)
{
	if (dst == src)
		return;
	mh_dialogue_clear(dst);
	dst->proto = src->proto;
	for (size_t i = 0; i < src->n; i++) {
		const struct mh_dlg_msg *m = &src->msgs[i];
		(void)insert_at(dst, dst->n, m->op, m->data, m->len, m->status);
	}
}

bool mh_dialogue_equal(const struct mh_dialogue *a, const struct mh_dialogue *b)
{
	if (a->proto != b->proto || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct mh_dlg_msg *x = &a->msgs[i], *y = &b->msgs[i];
		if (x->op != y->op || x->len != y->len || strcmp(x->status, y->status) != 0)
			return false;
		if (x->len > 0 && memcmp(x->data, y->data, x->len) != 0)
			return false;
	}
	return true;
}

/* ---- text form ---- */

static void escape(struct mh_buf *out, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		char e = c == '\r'   ? 'r'
		         : c == '\n' ? 'n'
		         : c == '\t' ? 't'
		         : c == '\0' ? '0'
		         : c == '\\' ? '\\'
		                     : 0;
		if (e != 0) {
			char two[2] = {'\\', e};
			mh_buf_append(out, two, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char four[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			mh_buf_append(out, four, 4);
		} else {
			mh_buf_append(out, &c, 1);
		}
	}
}

void mh_dialogue_format(const struct mh_dialogue *d, struct mh_buf *out)
{
	mh_buf_printf(out, "%s %s\nproto %s\n", HEADER, VERSION, mh_proto_name(d->proto));
	for (size_t i = 0; i < d->n; i++) {
		const struct mh_dlg_msg *m = &d->msgs[i];
		mh_buf_append_str(out, op_names[m->op]);
		if (m->op == MH_DLG_SEND && m->len > 0) {
			mh_buf_append(out, " ", 1);
			escape(out, m->data, m->len);
		} else if (m->op == MH_DLG_REPLY && m->status[0] != '\0') {
			mh_buf_printf(out, " %s", m->status);
		}
		mh_buf_append(out, "\n", 1);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the escaped text of a send line into out. 0 / -1 (err names line and column). */
static int unescape(const char *s, size_t n, size_t col0, size_t lineno, struct mh_buf *out,
                    struct mh_error *err)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t col = col0 + i;
		if (c < 0x20 || c >= 0x7f) {
			mh_error_set(err,
			             "line %zu, column %zu: raw byte 0x%02x (write it as \\x%02x)",
			             lineno, col, c, c);
			return -1;
		}
		if (c != '\\') {
			mh_buf_append(out, &c, 1);
			continue;
		}
		if (i + 1 >= n) {
			mh_error_set(
			    err,
			    "line %zu, column %zu: a lone backslash ends the line (write \\\\)",
			    lineno, col);
			return -1;
		}
		char e = s[++i];
		unsigned char b;
		switch (e) {
		case 'r': b = '\r'; break;
		case 'n': b = '\n'; break;
		case 't': b = '\t'; break;
		case '0': b = '\0'; break;
		case '\\': b = '\\'; break;
		case 'x': {
			int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				mh_error_set(err, "line %zu, column %zu: \\x needs two hex digits",
				             lineno, col);
				return -1;
			}
			b = (unsigned char)(hi << 4 | lo);
			i += 2;
			break;
		}
		default:
			mh_error_set(err,
			             "line %zu, column %zu: unknown escape '\\%c' (\\r \\n \\t \\0 "
			             "\\\\ \\xNN)",
			             lineno, col, (e > ' ' && e <= '~') ? e : '?');
			return -1;
		}
		mh_buf_append(out, &b, 1);
	}
	return 0;
}

/* Parses one record line (no line end) into d. total tracks the SEND bytes. 0 / -1. */
static int parse_record(const char *l, size_t n, size_t lineno, struct mh_dialogue *d,
                        size_t *total, struct mh_buf *scratch, struct mh_error *err)
{
	size_t kl = 0;
	while (kl < n && l[kl] != ' ')
		kl++;
	int op = -1;
	for (int i = 0; i < MH_DLG_COUNT; i++)
		if (strlen(op_names[i]) == kl && memcmp(l, op_names[i], kl) == 0)
			op = i;
	if (op < 0) {
		mh_error_set(err, "line %zu: unknown record '%.*s' (send, reply, tls)", lineno,
		             (int)(kl < 40 ? kl : 40), l);
		return -1;
	}
	if (d->n >= MH_DLG_MAX_MSGS) {
		mh_error_set(err, "line %zu: more than %d records", lineno, MH_DLG_MAX_MSGS);
		return -1;
	}
	const char *arg = kl < n ? l + kl + 1 : NULL;
	size_t alen = kl < n ? n - kl - 1 : 0;
	if (op == MH_DLG_TLS && arg != NULL) {
		mh_error_set(err, "line %zu: 'tls' takes nothing after it", lineno);
		return -1;
	}
	if (op == MH_DLG_REPLY) {
		char st[sizeof(((struct mh_dlg_msg *)0)->status)];
		if (arg != NULL &&
		    (alen == 0 || alen >= sizeof(st) || memchr(arg, ' ', alen) != NULL)) {
			mh_error_set(err,
			             "line %zu: 'reply' takes one status of 1 to %zu characters",
			             lineno, sizeof(st) - 1);
			return -1;
		}
		for (size_t i = 0; i < alen; i++)
			if (arg[i] <= ' ' || arg[i] > '~') {
				mh_error_set(
				    err,
				    "line %zu, column %zu: status characters must be printable "
				    "ASCII",
				    lineno, kl + 2 + i);
				return -1;
			}
		memcpy(st, arg ? arg : "", alen);
		st[alen] = '\0';
		return insert_at(d, d->n, MH_DLG_REPLY, NULL, 0, st);
	}
	if (op == MH_DLG_TLS)
		return insert_at(d, d->n, MH_DLG_TLS, NULL, 0, NULL);
	mh_buf_reset(scratch);
	if (arg != NULL && unescape(arg, alen, kl + 2, lineno, scratch, err) != 0)
		return -1;
	if (scratch->len > MH_DLG_MAX_BYTES - *total) {
		mh_error_set(err, "line %zu: more than %u bytes of client data", lineno,
		             (unsigned)MH_DLG_MAX_BYTES);
		return -1;
	}
	*total += scratch->len;
	return insert_at(d, d->n, MH_DLG_SEND, scratch->data, scratch->len, NULL);
}

int mh_dialogue_parse(const char *text, size_t len, struct mh_dialogue *d, struct mh_error *err)
{
	mh_dialogue_clear(d);
	if (len > MH_DLG_MAX_TEXT) {
		mh_error_set(err, "dialogue text larger than %zu bytes", MH_DLG_MAX_TEXT);
		return -1;
	}
	bool header = false, proto = false;
	size_t pos = 0, lineno = 0, total = 0;
	struct mh_buf scratch;
	mh_buf_init(&scratch);
	int rc = 0;
	while (pos < len && rc == 0) {
		lineno++;
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - l) : len - pos;
		pos += n + (nl != NULL);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		size_t hl = strlen(HEADER);
		if (l[0] == '#') {
			if (n < hl || memcmp(l, HEADER, hl) != 0 || (n > hl && l[hl] != ' '))
				continue; /* a comment */
			if (header) {
				mh_error_set(err, "line %zu: a second '%s' header", lineno, HEADER);
				rc = -1;
			} else if (n != hl + 1 + strlen(VERSION) ||
			           memcmp(l + hl + 1, VERSION, strlen(VERSION)) != 0) {
				mh_error_set(err,
				             "line %zu: unsupported dialogue version '%.*s' (this "
				             "mailharness reads version %s)",
				             lineno,
				             (int)(n > hl + 1 && n - hl - 1 < 20 ? n - hl - 1 : 0),
				             l + hl + 1, VERSION);
				rc = -1;
			}
			header = true;
			continue;
		}
		if (!header) {
			mh_error_set(err, "line %zu: a dialogue starts with '%s %s'", lineno,
			             HEADER, VERSION);
			rc = -1;
		} else if (n >= 5 && memcmp(l, "proto", 5) == 0 && (n == 5 || l[5] == ' ')) {
			char name[16];
			int p = -1;
			if (n > 6 && n - 6 < sizeof(name)) {
				memcpy(name, l + 6, n - 6);
				name[n - 6] = '\0';
				p = mh_proto_from_name(name);
			}
			if (proto || d->n > 0) {
				mh_error_set(
				    err, "line %zu: 'proto' must appear once, before the records",
				    lineno);
				rc = -1;
			} else if (p < 0) {
				mh_error_set(err, "line %zu: unknown protocol (smtp, imap, pop3)",
				             lineno);
				rc = -1;
			} else {
				d->proto = (enum mh_proto_id)p;
				proto = true;
			}
		} else if (!proto) {
			mh_error_set(
			    err, "line %zu: 'proto smtp|imap|pop3' must come before the records",
			    lineno);
			rc = -1;
		} else {
			rc = parse_record(l, n, lineno, d, &total, &scratch, err);
		}
	}
	if (rc == 0 && !proto) {
		mh_error_set(err, "line %zu: no %s", lineno > 0 ? lineno : 1,
		             header ? "'proto' line" : "'" HEADER " " VERSION "' header");
		rc = -1;
	}
	mh_buf_deinit(&scratch);
	if (rc != 0)
		mh_dialogue_clear(d);
	return rc;
}

int mh_dialogue_load(const char *path, struct mh_dialogue *d, struct mh_error *err)
{
	size_t len = 0;
	char *text = mh_read_file(path, MH_DLG_MAX_TEXT, &len, err);
	if (text == NULL)
		return -1;
	struct mh_error e;
	mh_error_init(&e);
	int rc = mh_dialogue_parse(text, len, d, &e);
	if (rc != 0)
		mh_error_set(err, "%s: %s", path, e.msg);
	free(text);
	return rc;
}

int mh_dialogue_save(const char *path, const struct mh_dialogue *d, struct mh_error *err)
{
	struct mh_buf b;
	mh_buf_init(&b);
	mh_dialogue_format(d, &b);
	int rc = mh_write_file_atomic(path, b.data, b.len, err);
	mh_buf_deinit(&b);
	return rc;
}

/* ---- placeholders ---- */

enum ph { PH_PASSWORD, PH_PASSWORD_B64, PH_SASL_PLAIN, PH_USER, PH_COUNT };
static const char *const ph_names[] = {[PH_PASSWORD] = "${PASSWORD}",
                                       [PH_PASSWORD_B64] = "${PASSWORD_B64}",
                                       [PH_SASL_PLAIN] = "${SASL_PLAIN}",
                                       [PH_USER] = "${USER}"};
_Static_assert(MH_ARRAY_SIZE(ph_names) == PH_COUNT, "ph_names out of sync");

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(struct mh_buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		char q[4] = {b64chars[v >> 18], b64chars[(v >> 12) & 63],
		             i + 1 < n ? b64chars[(v >> 6) & 63] : '=',
		             i + 2 < n ? b64chars[v & 63] : '='};
		mh_buf_append(out, q, 4);
	}
}

/* Lenient decode (padding optional). 0, or -1 if tok is not base64 at all. */
static int b64_decode(const unsigned char *tok, size_t n, struct mh_buf *out)
{
	while (n > 0 && tok[n - 1] == '=')
		n--;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *c = tok[i] != 0 ? strchr(b64chars, tok[i]) : NULL;
		if (c == NULL)
			return -1;
		v = (v << 6 | (unsigned)(c - b64chars)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			unsigned char b = (unsigned char)(v >> bits);
			mh_buf_append(out, &b, 1);
		}
	}
	return n % 4 == 1 ? -1 : 0;
}

static bool has_bytes(const unsigned char *h, size_t hn, const void *needle, size_t nn)
{
	for (size_t i = 0; nn > 0 && i + nn <= hn; i++)
		if (memcmp(h + i, needle, nn) == 0)
			return true;
	return false;
}

/* The plaintext behind a base64 placeholder, into out. */
static void ph_plain(enum ph k, const char *user, const char *password, struct mh_buf *out)
{
	if (k == PH_SASL_PLAIN) {
		mh_buf_append(out, "", 1);
		mh_buf_append_str(out, user);
		mh_buf_append(out, "", 1);
	}
	mh_buf_append_str(out, password);
}

/* Token tok (a whitespace-delimited word): 1 + *ph_r if it is a recognised base64 form of the
   secret, 0 if it does not carry the password, -1 if it carries it unrecognisably. */
static int b64_secret(const unsigned char *tok, size_t n, const char *user, const char *password,
                      enum ph *ph_r)
{
	if (n < 4)
		return 0;
	struct mh_buf dec, want;
	mh_buf_init(&dec);
	mh_buf_init(&want);
	int rc = 0;
	if (b64_decode(tok, n, &dec) == 0 &&
	    has_bytes(dec.data, dec.len, password, strlen(password))) {
		rc = -1;
		for (enum ph k = PH_PASSWORD_B64; k <= PH_SASL_PLAIN && rc < 0; k++) {
			if (k == PH_SASL_PLAIN && user == NULL)
				continue;
			mh_buf_reset(&want);
			ph_plain(k, user, password, &want);
			struct mh_buf enc;
			mh_buf_init(&enc);
			b64_encode(&enc, want.data, want.len);
			if (enc.len == n && memcmp(enc.data, tok, n) == 0) {
				*ph_r = k;
				rc = 1;
			}
			mh_buf_deinit(&enc);
		}
	}
	mh_buf_deinit(&dec);
	mh_buf_deinit(&want);
	return rc;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int mh_dialogue_scrub(const unsigned char *data, size_t n, const char *user, const char *password,
                      struct mh_buf *out)
{
	if (password == NULL || *password == '\0') {
		if (n > 0)
			mh_buf_append(out, data, n);
		return 0;
	}
	size_t pl = strlen(password);
	int rc = 0;
	for (size_t i = 0; i < n;) {
		if (i == 0 || is_space(data[i - 1])) {
			size_t e = i;
			while (e < n && !is_space(data[e]))
				e++;
			enum ph k = PH_PASSWORD;
			int b = b64_secret(data + i, e - i, user, password, &k);
			if (b > 0) {
				mh_buf_append_str(out, ph_names[k]);
				i = e;
				continue;
			}
			if (b < 0)
				rc = -1;
		}
		if (pl <= n - i && memcmp(data + i, password, pl) == 0) {
			mh_buf_append_str(out, ph_names[PH_PASSWORD]);
			i += pl;
			continue;
		}
		mh_buf_append(out, data + i, 1);
		i++;
	}
	if (strpbrk(password, "\"\\") != NULL) {
		/* the IMAP quoted-string form with backslash escapes (RFC 3501 4.3) */
		struct mh_buf q;
		mh_buf_init(&q);
		for (const char *p = password; *p; p++) {
			if (*p == '"' || *p == '\\')
				mh_buf_append(&q, "\\", 1);
			mh_buf_append(&q, p, 1);
		}
		if (has_bytes(data, n, q.data, q.len))
			rc = -1;
		mh_buf_deinit(&q);
	}
	return rc;
}

/* The placeholder at data[i..n), or -1. */
static int ph_at(const unsigned char *data, size_t n, size_t i)
{
	if (n - i < 3 || data[i] != '$' || data[i + 1] != '{')
		return -1;
	for (int k = 0; k < PH_COUNT; k++) {
		size_t l = strlen(ph_names[k]);
		if (l <= n - i && memcmp(data + i, ph_names[k], l) == 0)
			return k;
	}
	return -1;
}

size_t mh_dialogue_expand(const unsigned char *data, size_t n, const char *user,
                          const char *password, struct mh_buf *out)
{
	size_t left = 0, from = 0;
	for (size_t i = 0; i < n; i++) {
		int k = ph_at(data, n, i);
		if (k < 0)
			continue;
		bool ok = (k == PH_USER || password != NULL) &&
		          (k == PH_PASSWORD || k == PH_PASSWORD_B64 || user != NULL);
		if (!ok) {
			left++;
			continue;
		}
		mh_buf_append(out, data + from, i - from);
		if (k == PH_PASSWORD) {
			mh_buf_append_str(out, password);
		} else if (k == PH_USER) {
			mh_buf_append_str(out, user);
		} else {
			struct mh_buf plain;
			mh_buf_init(&plain);
			ph_plain((enum ph)k, user, password, &plain);
			b64_encode(out, plain.data, plain.len);
			mh_buf_deinit(&plain);
		}
		i += strlen(ph_names[k]) - 1;
		from = i + 1;
	}
	if (n > from)
		mh_buf_append(out, data + from, n - from);
	return left;
}

void mh_dialogue_needs(const struct mh_dialogue *d, bool *user_r, bool *password_r)
{
	*user_r = *password_r = false;
	for (size_t m = 0; m < d->n; m++) {
		const struct mh_dlg_msg *r = &d->msgs[m];
		for (size_t i = 0; r->op == MH_DLG_SEND && i < r->len; i++) {
			int k = ph_at(r->data, r->len, i);
			if (k == PH_USER || k == PH_SASL_PLAIN)
				*user_r = true;
			if (k >= 0 && k != PH_USER)
				*password_r = true;
		}
	}
}

/* mutate_scan.c: follows a client byte stream and says where a reply is due, by the rules at the
   top of mutate.c (SMTP data and BDAT payloads, IMAP literals and IDLE, SASL exchanges). */
#include "mutate_int.h"

#include <string.h>

enum scan_mode { SCAN_CMD, SCAN_DATA, SCAN_PAYLOAD, SCAN_IDLE };

/* Bytes a SASL response line may hold: base64, "=" and the dialogue placeholders ${...}. */
static bool b64ish(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=' || c == '$' || c == '{' || c == '}' || c == '_';
}

void mut_scan_init(struct mut_scan *s, enum mh_proto_id proto)
{
	memset(s, 0, sizeof(*s));
	s->proto = proto;
	s->mode = SCAN_CMD;
	s->seg_b64 = true;
}

bool mut_status_positive(enum mh_proto_id proto, const char *status)
{
	switch (proto) {
	case MH_PROTO_SMTP: return status[0] == '2';
	case MH_PROTO_IMAP: return strcmp(status, "OK") == 0;
	default: return strcmp(status, "+OK") == 0;
	}
}

/* Adds k bytes to the current segment's head, tail and SASL check. */
static void seg_append(struct mut_scan *s, const unsigned char *p, size_t k)
{
	if (s->seglen < MUT_SCAN_HEAD) {
		size_t h = MUT_SCAN_HEAD - s->seglen < k ? MUT_SCAN_HEAD - s->seglen : k;
		memcpy(s->seg + s->seglen, p, h);
	}
	if (k >= MUT_SCAN_TAIL) {
		memcpy(s->tail, p + k - MUT_SCAN_TAIL, MUT_SCAN_TAIL);
		s->taillen = MUT_SCAN_TAIL;
	} else {
		size_t keep = s->taillen + k > MUT_SCAN_TAIL ? MUT_SCAN_TAIL - k : s->taillen;
		memmove(s->tail, s->tail + s->taillen - keep, keep);
		memcpy(s->tail + keep, p, k);
		s->taillen = keep + k;
	}
	if (s->sasl && s->mode == SCAN_CMD)
		for (size_t i = 0; i < k && s->seg_b64; i++)
			s->seg_b64 = b64ish(p[i]) || (p[i] == '\r' && i + 1 == k);
	s->seglen += k;
}

static void seg_reset(struct mut_scan *s)
{
	s->seglen = 0;
	s->taillen = 0;
	s->seg_b64 = true;
}

/* The verb of a command head (IMAP: after the tag) as a NUL-terminated upper-case word. */
static void head_verb(const struct mut_scan *s, const unsigned char *h, size_t n, char *out,
                      size_t outlen)
{
	size_t i = 0;
	if (s->proto == MH_PROTO_IMAP) {
		while (i < n && h[i] != ' ')
			i++;
		i++;
	}
	size_t o = 0;
	for (; i < n && h[i] != ' ' && h[i] != '\r' && o + 1 < outlen; i++) {
		unsigned char c = h[i];
		out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	out[o] = '\0';
}

/* The argument after the verb (SMTP BDAT's chunk size), as a NUL-terminated string. */
static void head_arg(const unsigned char *h, size_t n, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	while (i < n && h[i] != ' ')
		i++;
	while (i < n && h[i] == ' ')
		i++;
	for (; i < n && h[i] != ' ' && h[i] != '\r' && o + 1 < outlen; i++)
		out[o++] = (char)h[i];
	out[o] = '\0';
}

/* IMAP: does the content (without the line end) end in a literal "{n}", "{n+}" or "~{n}"?
   Sizes past 2^64-1 read as UINT64_MAX (a payload that never ends). */
static bool tail_literal(const struct mut_scan *s, size_t crlf, uint64_t *n_r, bool *nonsync_r)
{
	size_t e = s->taillen - crlf; /* tail bytes of the content */
	if (e < 3 || s->tail[e - 1] != '}')
		return false;
	size_t i = e - 1;
	*nonsync_r = false;
	if (s->tail[i - 1] == '+') {
		*nonsync_r = true;
		i--;
	}
	size_t d_end = i;
	while (i > 0 && s->tail[i - 1] >= '0' && s->tail[i - 1] <= '9')
		i--;
	if (i == d_end || i == 0 || s->tail[i - 1] != '{')
		return false;
	uint64_t n = 0;
	for (size_t k = i; k < d_end; k++) {
		unsigned d = (unsigned)(s->tail[k] - '0');
		if (n > (UINT64_MAX - d) / 10) {
			n = UINT64_MAX;
			break;
		}
		n = n * 10 + d;
	}
	*n_r = n;
	return true;
}

/* Parses a BDAT chunk size: 1*DIGIT (RFC 3030). 1 ok, 0 not a size; huge ones give UINT64_MAX. */
static int bdat_size(const char *a, uint64_t *n_r)
{
	if (a[0] == '\0')
		return 0;
	uint64_t n = 0;
	for (const char *p = a; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		unsigned d = (unsigned)(*p - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
	}
	*n_r = n;
	return 1;
}

/* Whether an AUTH / AUTHENTICATE line starts an exchange that may go on with more client lines:
   a mechanism without an initial response, or one whose mechanism takes more than one step
   (PLAIN with an initial response is over after its reply). */
static bool sasl_starts(const struct mut_scan *s, const unsigned char *h, size_t hn)
{
	size_t i = 0, words = 0, mech = 0, mechlen = 0;
	while (i < hn) {
		while (i < hn && h[i] == ' ')
			i++;
		size_t st = i;
		while (i < hn && h[i] != ' ' && h[i] != '\r')
			i++;
		if (i == st)
			break;
		if (words == (s->proto == MH_PROTO_IMAP ? 2u : 1u)) {
			mech = st;
			mechlen = i - st;
		}
		words++;
	}
	size_t need = s->proto == MH_PROTO_IMAP ? 3 : 2; /* [tag] verb mechanism */
	if (words < need)
		return false;
	if (words == need)
		return true;
	return !(mechlen == 5 && mh_strncaseeq((const char *)h + mech, "PLAIN", 5));
}

/* A reply due at a line end, unless the line ended in a bare LF (ambiguous). */
static enum mut_ev due(struct mut_scan *s, bool crlf)
{
	if (crlf)
		return MUT_EV_REPLY;
	s->ambiguous = true;
	return MUT_EV_LINE;
}

/* A whole command line (after any literals) in command mode. */
static enum mut_ev command_done(struct mut_scan *s, const unsigned char *h, size_t hn, size_t L,
                                bool crlf, bool *starttls_r)
{
	char verb[16], arg[32];
	head_verb(s, h, hn, verb, sizeof(verb));
	if (s->sasl) {
		if (L == 1 && h[0] == '*') {
			s->sasl = false;
			return due(s, crlf);
		}
		if (s->seg_b64 && h == s->seg) {
			/* a SASL response; "DATA" may also be the command, and data mode is the
			   side that cannot make the executor wait in vain */
			if (s->proto == MH_PROTO_SMTP && strcmp(verb, "DATA") == 0) {
				s->mode = SCAN_DATA;
				s->prev_crlf = crlf;
				s->sasl = false;
			}
			return due(s, crlf);
		}
		s->sasl = false;
	}
	if (L == 0) { /* an empty line: servers differ (ignore, or 500 / BAD) */
		s->ambiguous = true;
		return MUT_EV_LINE;
	}
	bool has_arg = memchr(h, ' ', hn) != NULL;
	if (s->proto == MH_PROTO_IMAP) {
		const unsigned char *sp = memchr(h, ' ', hn);
		has_arg = sp != NULL && memchr(sp + 1, ' ', hn - (size_t)(sp + 1 - h)) != NULL;
	}
	switch (s->proto) {
	case MH_PROTO_SMTP:
		if (strcmp(verb, "DATA") == 0) {
			s->mode = SCAN_DATA;
			s->prev_crlf = crlf;
			return due(s, crlf);
		}
		if (strcmp(verb, "BDAT") == 0) {
			head_arg(h, hn, arg, sizeof(arg));
			uint64_t n;
			if (bdat_size(arg, &n)) {
				if (n == 0)
					return due(s, crlf);
				s->mode = SCAN_PAYLOAD;
				s->payload = n;
				s->payload_bdat = true;
				s->payload_reply = crlf;
				if (!crlf)
					s->ambiguous = true;
				return MUT_EV_LINE;
			}
		}
		if (strcmp(verb, "STARTTLS") == 0 && !has_arg && crlf)
			*starttls_r = true;
		if (strcmp(verb, "AUTH") == 0)
			s->sasl = sasl_starts(s, h, hn);
		return due(s, crlf);
	case MH_PROTO_IMAP:
		if (strcmp(verb, "IDLE") == 0)
			s->mode = SCAN_IDLE;
		else if (strcmp(verb, "AUTHENTICATE") == 0)
			s->sasl = sasl_starts(s, h, hn);
		else if (strcmp(verb, "STARTTLS") == 0 && !has_arg && crlf)
			*starttls_r = true;
		return due(s, crlf);
	default:
		if (strcmp(verb, "STLS") == 0 && !has_arg && crlf)
			*starttls_r = true;
		if (strcmp(verb, "AUTH") == 0)
			s->sasl = sasl_starts(s, h, hn);
		return due(s, crlf);
	}
}

/* A line (segment) ended with LF. */
static enum mut_ev line_done(struct mut_scan *s, bool *starttls_r)
{
	bool crlf = s->taillen > 0 && s->tail[s->taillen - 1] == '\r';
	size_t L = s->seglen - (crlf ? 1 : 0);
	enum mut_ev ev = MUT_EV_NONE;

	if (s->mode == SCAN_DATA) {
		if (L == 1 && s->seg[0] == '.') {
			if (s->prev_crlf && crlf) {
				s->mode = SCAN_CMD;
				ev = MUT_EV_REPLY;
			} else {
				s->ambiguous =
				    true; /* a smuggling variant: some servers end here */
			}
		}
		s->prev_crlf = crlf;
		seg_reset(s);
		return ev;
	}
	if (s->mode == SCAN_IDLE) {
		if (L == 4 && mh_strncaseeq((const char *)s->seg, "DONE", 4) && crlf) {
			s->mode = SCAN_CMD;
			ev = MUT_EV_REPLY;
		} else {
			s->ambiguous =
			    true; /* some servers end IDLE with BAD, some ignore the line */
			ev = MUT_EV_LINE;
		}
		seg_reset(s);
		return ev;
	}

	/* command mode */
	uint64_t n;
	bool nonsync;
	bool sasl_line = s->sasl && s->seg_b64 && !s->cont;
	if (s->proto == MH_PROTO_IMAP && !sasl_line && tail_literal(s, crlf, &n, &nonsync)) {
		if (!s->cont) {
			memcpy(s->cmd, s->seg, MUT_SCAN_HEAD);
			s->cmdlen = s->seglen < MUT_SCAN_HEAD ? s->seglen : MUT_SCAN_HEAD;
		}
		s->cont = true;
		s->sasl = false; /* a literal makes it a command, not a SASL response */
		s->mode = SCAN_PAYLOAD;
		s->payload = n;
		s->payload_bdat = false;
		ev = nonsync ? MUT_EV_LINE : due(s, crlf);
		seg_reset(s);
		return ev;
	}
	if (s->cont) {
		s->cont = false;
		ev = command_done(s, s->cmd, s->cmdlen, s->cmdlen + L, crlf, starttls_r);
	} else {
		size_t hn = s->seglen < MUT_SCAN_HEAD ? s->seglen : MUT_SCAN_HEAD;
		if (crlf && hn == s->seglen)
			hn--;
		ev = command_done(s, s->seg, hn, L, crlf, starttls_r);
	}
	seg_reset(s);
	return ev;
}

size_t mut_scan_feed(struct mut_scan *s, const unsigned char *p, size_t n, enum mut_ev *ev_r,
                     bool *starttls_r)
{
	size_t i = 0;
	*ev_r = MUT_EV_NONE;
	*starttls_r = false;
	while (i < n) {
		if (s->mode == SCAN_PAYLOAD) {
			uint64_t take = s->payload < n - i ? s->payload : n - i;
			i += (size_t)take;
			s->payload -= take;
			if (s->payload > 0)
				break;
			s->mode = SCAN_CMD;
			if (s->payload_bdat) {
				*ev_r = s->payload_reply ? MUT_EV_REPLY : MUT_EV_LINE;
				return i;
			}
			continue; /* IMAP: the command goes on after its literal */
		}
		const unsigned char *lf = memchr(p + i, '\n', n - i);
		size_t end = lf != NULL ? (size_t)(lf - p) : n;
		seg_append(s, p + i, end - i);
		if (lf == NULL)
			return n;
		i = end + 1;
		enum mut_ev ev = line_done(s, starttls_r);
		if (ev != MUT_EV_NONE) {
			*ev_r = ev;
			return i;
		}
	}
	return i;
}

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
	if (s->mode == SCAN_CMD)
		for (const unsigned char *q = p, *e = p + k;
		     (q = memchr(q, '\r', (size_t)(e - q))) != NULL; q++)
			s->seg_cr++;
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
	s->seg_cr = 0;
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

/* Whether a BDAT line is strictly "BDAT" SP chunk-size [SP "LAST"] CRLF (RFC 3030 2; the verb
   and LAST in any case), printable ASCII within the 512-octet command line of RFC 5321 4.5.3.1.4.
   h[0..L) is the content without CRLF, hn the bytes of it the head holds. A line longer than the
   head is not checked and counts as not strict: its size has 58 digits or more, which servers
   take or refuse as they like. Any other line (a CR or NUL in it, a second SP, a parameter, no
   size) may be refused at once, its payload then read as commands, or taken as a chunk: which
   one is the server's choice. */
static bool bdat_strict(const unsigned char *h, size_t hn, size_t L, bool crlf)
{
	if (!crlf || L > hn || L + 2 > 512 || L < 6 || !mh_strncaseeq((const char *)h, "BDAT ", 5))
		return false;
	size_t i = 5;
	while (i < L && h[i] >= '0' && h[i] <= '9')
		i++;
	if (i == 5)
		return false;
	return i == L || (L - i == 5 && mh_strncaseeq((const char *)h + i, " LAST", 5));
}

/* IMAP: whether a command line begins with a tag and SP (RFC 3501 9: tag = 1*<any ASTRING-CHAR
   except "+">: no controls, SP, 8-bit bytes, "(", ")", "{", "%", "*", DQUOTE, "\"; "]" is
   allowed). A line without one gets an untagged "* BAD" (RFC 3501 7.1.3) that completes no
   command, so the replies after it no longer pair with the lines. */
static bool imap_tag_ok(const unsigned char *h, size_t hn)
{
	size_t i = 0;
	for (; i < hn && h[i] != ' '; i++)
		if (h[i] <= 0x20 || h[i] >= 0x7f || strchr("(){%*\"\\+", h[i]) != NULL)
			return false;
	return i > 0 && i < hn;
}

/* Whether the line (content h[0..L), of which the head holds hn bytes) is its verb alone, maybe
   followed by spaces (IMAP: after the tag): 1 yes, 0 no, -1 only spaces as far as the head goes
   but the line is longer. */
static int only_verb(const struct mut_scan *s, const unsigned char *h, size_t hn, size_t L)
{
	size_t i = 0;
	if (s->proto == MH_PROTO_IMAP) {
		while (i < hn && h[i] != ' ')
			i++;
		i++;
	}
	while (i < hn && h[i] != ' ' && h[i] != '\r')
		i++;
	size_t end = L < hn ? L : hn;
	for (; i < end; i++)
		if (h[i] != ' ')
			return 0;
	return L <= hn ? 1 : -1;
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
			s->hold = true;
			return due(s, crlf);
		}
		if (s->seg_b64 && h == s->seg) {
			s->hold = true; /* the reply may end the exchange or ask for more */
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
	/* STARTTLS / STLS: trailing spaces are no argument to servers that split at spaces
	   (Dovecot starts TLS for "STLS "); a line too long to tell is ambiguous */
	int bare = only_verb(s, h, hn, L);
	bool tls_verb = strcmp(verb, s->proto == MH_PROTO_POP3 ? "STLS" : "STARTTLS") == 0;
	/* with an argument: Postfix refuses it (501), Dovecot starts TLS all the same */
	if (tls_verb && bare <= 0)
		s->ambiguous = true;
	if (tls_verb && bare > 0 && crlf)
		*starttls_r = true;
	switch (s->proto) {
	case MH_PROTO_SMTP:
		if (strcmp(verb, "DATA") == 0) {
			s->mode = SCAN_DATA;
			s->prev_crlf = crlf;
			return due(s, crlf);
		}
		if (strcmp(verb, "BDAT") == 0) {
			if (!bdat_strict(h, hn, L, crlf))
				s->ambiguous = true;
			/* the digits size the payload, even of a malformed line */
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
		if (strcmp(verb, "AUTH") == 0) {
			s->sasl = sasl_starts(s, h, hn);
			s->hold = true;
		}
		return due(s, crlf);
	case MH_PROTO_IMAP:
		if (!imap_tag_ok(h, hn))
			s->ambiguous = true;
		if (strcmp(verb, "IDLE") == 0) {
			s->mode = SCAN_IDLE;
		} else if (strcmp(verb, "AUTHENTICATE") == 0) {
			s->sasl = sasl_starts(s, h, hn);
			s->hold = true;
		}
		return due(s, crlf);
	default:
		if (strcmp(verb, "AUTH") == 0) {
			s->sasl = sasl_starts(s, h, hn);
			s->hold = true;
			/* AUTH alone is not RFC 5034 syntax: -ERR, or (Dovecot, before RFC 5034) a
			   +OK listing the mechanisms, after which the spec's AUTH rule would move
			   the engine to TRANSACTION: the state after it is the server's choice */
			if (bare != 0)
				s->ambiguous = true;
		}
		return due(s, crlf);
	}
}

/* A line (segment) ended with LF. */
static enum mut_ev line_done(struct mut_scan *s, bool *starttls_r)
{
	bool crlf = s->taillen > 0 && s->tail[s->taillen - 1] == '\r';
	size_t L = s->seglen - (crlf ? 1 : 0);
	enum mut_ev ev = MUT_EV_NONE;
	s->hold = false;

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

	/* command mode; a bare CR inside a command line: servers differ (Dovecot drops it and
	   reads "STL\rS" as STLS, others end the line there or refuse it) */
	if (s->seg_cr > (crlf ? 1u : 0u))
		s->ambiguous = true;
	uint64_t n;
	bool nonsync;
	bool sasl_line = s->sasl && s->seg_b64 && !s->cont;
	if (s->proto == MH_PROTO_IMAP && !sasl_line && tail_literal(s, crlf, &n, &nonsync)) {
		if (!s->cont) {
			if (!imap_tag_ok(s->seg,
			                 s->seglen < MUT_SCAN_HEAD ? s->seglen : MUT_SCAN_HEAD))
				s->ambiguous = true;
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
			/* bytes in the same write behind a line whose reply decides how they are
			   read: after STARTTLS / STLS they may be plaintext the server drops; after
			   AUTH or a SASL response the exchange may go on (a response) or be over at
			   the first failure (a command) */
			if ((s->hold || *starttls_r) && i < n)
				s->ambiguous = true;
			*ev_r = ev;
			return i;
		}
	}
	return i;
}

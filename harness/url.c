/* url.c: parsing target URLs into protocol, host, port and TLS mode. */
#include "url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char *const tls_names[] = {
    [MH_TLS_NONE] = "none",
    [MH_TLS_IMPLICIT] = "implicit",
    [MH_TLS_STARTTLS] = "starttls",
};
_Static_assert(MH_ARRAY_SIZE(tls_names) == MH_TLS_COUNT, "tls_names out of sync");

static const struct scheme {
	const char *name;
	enum mh_proto_id proto;
	int port;
	enum mh_tls_mode tls;
} schemes[] = {
    {"smtp", MH_PROTO_SMTP, 25, MH_TLS_NONE},
    {"submission", MH_PROTO_SMTP, 587, MH_TLS_NONE},
    {"smtps", MH_PROTO_SMTP, 465, MH_TLS_IMPLICIT},
    {"submissions", MH_PROTO_SMTP, 465, MH_TLS_IMPLICIT},
    {"imap", MH_PROTO_IMAP, 143, MH_TLS_NONE},
    {"imaps", MH_PROTO_IMAP, 993, MH_TLS_IMPLICIT},
    {"pop3", MH_PROTO_POP3, 110, MH_TLS_NONE},
    {"pop3s", MH_PROTO_POP3, 995, MH_TLS_IMPLICIT},
};

const char *mh_tls_mode_name(enum mh_tls_mode m)
{
	return (unsigned)m < MH_TLS_COUNT ? tls_names[m] : "?";
}

int mh_url_parse(const char *url, struct mh_target *t, struct mh_error *err)
{
	memset(t, 0, sizeof(*t));
	const char *sep = strstr(url, "://");
	if (sep == NULL) {
		mh_error_set(
		    err, "target '%s': expected scheme://host[:port], e.g. imap://127.0.0.1:143",
		    url);
		return -1;
	}
	const struct scheme *sc = NULL;
	for (size_t i = 0; i < MH_ARRAY_SIZE(schemes); i++) {
		size_t n = strlen(schemes[i].name);
		if ((size_t)(sep - url) == n && mh_strncaseeq(url, schemes[i].name, n))
			sc = &schemes[i];
	}
	if (sc == NULL) {
		mh_error_set(
		    err,
		    "target '%s': unknown scheme (use smtp, smtps, submission, submissions, "
		    "imap, imaps, pop3 or pop3s)",
		    url);
		return -1;
	}
	t->proto = sc->proto;
	t->port = sc->port;
	t->tls = sc->tls;
	snprintf(t->scheme, sizeof(t->scheme), "%s", sc->name);

	const char *p = sep + 3;
	const char *end = p + strcspn(p, "/?");
	const char *hend;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL) {
			mh_error_set(err, "target '%s': unterminated IPv6 literal", url);
			return -1;
		}
		if ((size_t)(rb - p - 1) >= sizeof(t->host)) {
			mh_error_set(err, "target '%s': host too long", url);
			return -1;
		}
		memcpy(t->host, p + 1, (size_t)(rb - p - 1));
		hend = rb + 1;
		if (hend < end && *hend != ':') {
			mh_error_set(err, "target '%s': junk after IPv6 literal", url);
			return -1;
		}
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (hend == NULL)
			hend = end;
		if ((size_t)(hend - p) >= sizeof(t->host)) {
			mh_error_set(err, "target '%s': host too long", url);
			return -1;
		}
		memcpy(t->host, p, (size_t)(hend - p));
	}
	if (t->host[0] == '\0') {
		mh_error_set(err, "target '%s': missing host", url);
		return -1;
	}
	if (hend < end && *hend == ':') {
		char portbuf[8];
		size_t n = (size_t)(end - hend - 1);
		unsigned long long port;
		if (n == 0 || n >= sizeof(portbuf)) {
			mh_error_set(err, "target '%s': bad port", url);
			return -1;
		}
		memcpy(portbuf, hend + 1, n);
		portbuf[n] = '\0';
		if (mh_parse_uint(portbuf, 1, 65535, &port) != 0) {
			mh_error_set(err, "target '%s': port must be 1-65535", url);
			return -1;
		}
		t->port = (int)port;
	}
	const char *rest = end;
	if (*rest == '/')
		rest++;
	if (*rest == '?') {
		if (strcmp(rest + 1, "starttls") != 0) {
			mh_error_set(err, "target '%s': unknown option '%s' (only ?starttls)", url,
			             rest + 1);
			return -1;
		}
		if (t->tls == MH_TLS_IMPLICIT) {
			mh_error_set(err, "target '%s': ?starttls makes no sense with implicit TLS",
			             url);
			return -1;
		}
		t->tls = MH_TLS_STARTTLS;
	} else if (*rest != '\0') {
		mh_error_set(err, "target '%s': unexpected '%s' after host and port", url, rest);
		return -1;
	}
	mh_url_set_port(t, t->port);
	return 0;
}

void mh_url_set_port(struct mh_target *t, int port)
{
	bool v6 = strchr(t->host, ':') != NULL;
	t->port = port;
	snprintf(t->url, sizeof(t->url), "%s://%s%s%s:%d%s", t->scheme, v6 ? "[" : "", t->host,
	         v6 ? "]" : "", t->port, t->tls == MH_TLS_STARTTLS ? "?starttls" : "");
}

bool mh_url_is_loopback(const char *host)
{
	if (mh_strcaseeq(host, "localhost") || mh_strcaseeq(host, "localhost."))
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			return a6.s6_addr[12] == 127;
	}
	return false;
}

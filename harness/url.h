/* url.h: target URLs: smtp, smtps, submission, submissions, imap, imaps, pop3, pop3s;
   "?starttls" upgrades before the suite runs. */
#ifndef MH_URL_H
#define MH_URL_H

#include "reply.h"

enum mh_tls_mode { MH_TLS_NONE, MH_TLS_IMPLICIT, MH_TLS_STARTTLS, MH_TLS_COUNT };
const char *mh_tls_mode_name(enum mh_tls_mode m); /* "none", "implicit", "starttls" */

struct mh_target {
	enum mh_proto_id proto;
	char scheme[16];
	char host[256]; /* without brackets for IPv6 literals */
	int port;
	enum mh_tls_mode tls;
	char url[512]; /* normalized form: scheme://host:port[?starttls] */
};

/* Parses "imap://127.0.0.1:10143?starttls"; default ports per scheme (smtp 25, submission 587,
   smtps/submissions 465, imap 143, imaps 993, pop3 110, pop3s 995). 0 / -1 with err. */
int mh_url_parse(const char *url, struct mh_target *t, struct mh_error *err);
/* True if host is a loopback name or address (localhost, 127.0.0.0/8, ::1). */
bool mh_url_is_loopback(const char *host);
/* Sets the port and rewrites t->url to match (IPv6 hosts in brackets). */
void mh_url_set_port(struct mh_target *t, int port);

#endif

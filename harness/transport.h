/* transport.h: plain TCP and TLS behind one small table (wrk's struct sock). Non-blocking sockets,
   every operation bounded by an absolute deadline. STARTTLS swaps the table mid-session. */
#ifndef MH_TRANSPORT_H
#define MH_TRANSPORT_H

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

enum mh_io { MH_IO_OK, MH_IO_EOF, MH_IO_TIMEOUT, MH_IO_ERROR };

struct mh_tls_opts {
	bool verify;         /* verify the certificate chain and the host name */
	const char *sni;     /* server name to send and verify; NULL = none (IP literals) */
	const char *ca_file; /* extra CA bundle, or NULL for the system default */
};

struct mh_sock;

/* Connects to host:port (numeric or name), bounded by deadline_ms (mh_now_ms based). NULL + err. */
struct mh_sock *mh_sock_connect(const char *host, int port, int64_t deadline_ms,
                                struct mh_error *err);
/* Starts TLS on an open socket (implicit TLS or after STARTTLS). 0 / -1 with err. */
int mh_sock_start_tls(struct mh_sock *s, const struct mh_tls_opts *o, int64_t deadline_ms,
                      struct mh_error *err);
/* Reads at most n bytes, waiting until deadline_ms for the first. MH_IO_OK sets *got_r > 0. */
enum mh_io mh_sock_read(struct mh_sock *s, void *buf, size_t n, size_t *got_r, int64_t deadline_ms,
                        struct mh_error *err);
/* Writes all n bytes before deadline_ms. */
enum mh_io mh_sock_write(struct mh_sock *s, const void *buf, size_t n, int64_t deadline_ms,
                         struct mh_error *err);
/* True if bytes can be read without waiting (TLS records already decrypted, or socket readable). */
bool mh_sock_readable(struct mh_sock *s);
bool mh_sock_is_tls(const struct mh_sock *s);
/* Negotiated TLS version and cipher names (static strings), or NULL. */
const char *mh_sock_tls_version(const struct mh_sock *s);
const char *mh_sock_tls_cipher(const struct mh_sock *s);
/* Half-close for writing (shutdown(SHUT_WR)); 0 / -1. */
int mh_sock_shutdown_write(struct mh_sock *s);
/* Closes and frees; accepts NULL and clears the pointer. */
void mh_sock_free(struct mh_sock **s);

#endif

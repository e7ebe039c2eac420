/* transport.c: non-blocking TCP and OpenSSL TLS behind one operations table, every call bounded
   by an absolute deadline. */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct sock_ops {
	const char *name;
	enum mh_io (*read)(struct mh_sock *s, void *buf, size_t n, size_t *got_r, int64_t deadline,
	                   struct mh_error *err);
	enum mh_io (*write)(struct mh_sock *s, const void *buf, size_t n, int64_t deadline,
	                    struct mh_error *err);
};

struct mh_sock {
	int fd;
	SSL *ssl;
	SSL_CTX *own_ctx; /* only when a custom CA file was given */
	const struct sock_ops *ops;
};

/* Waits for events on fd until deadline. 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mh_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue; /* re-check the deadline */
		return 1;
	}
}

static enum mh_io tcp_read(struct mh_sock *s, void *buf, size_t n, size_t *got_r, int64_t deadline,
                           struct mh_error *err)
{
	for (;;) {
		ssize_t r = recv(s->fd, buf, n, 0);
		if (r > 0) {
			*got_r = (size_t)r;
			return MH_IO_OK;
		}
		if (r == 0)
			return MH_IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			mh_error_set(err, "read: %s", strerror(errno));
			return MH_IO_ERROR;
		}
		int w = wait_fd(s->fd, POLLIN, deadline);
		if (w == 0) {
			mh_error_set(err, "timeout waiting for the server");
			return MH_IO_TIMEOUT;
		}
		if (w < 0) {
			mh_error_set(err, "poll: %s", strerror(errno));
			return MH_IO_ERROR;
		}
	}
}

static enum mh_io tcp_write(struct mh_sock *s, const void *buf, size_t n, int64_t deadline,
                            struct mh_error *err)
{
	const unsigned char *p = buf;
	while (n > 0) {
		ssize_t r = send(s->fd, p, n, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			mh_error_set(err, "write: %s", strerror(errno));
			return errno == EPIPE || errno == ECONNRESET ? MH_IO_EOF : MH_IO_ERROR;
		}
		int w = wait_fd(s->fd, POLLOUT, deadline);
		if (w == 0) {
			mh_error_set(err, "timeout writing to the server (it stopped reading)");
			return MH_IO_TIMEOUT;
		}
		if (w < 0) {
			mh_error_set(err, "poll: %s", strerror(errno));
			return MH_IO_ERROR;
		}
	}
	return MH_IO_OK;
}

static void tls_error(struct mh_error *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%s", errno ? strerror(errno) : "connection closed");
	mh_error_set(err, "TLS %s: %s", what, buf);
	ERR_clear_error();
}

/* Runs one SSL operation's wait step. Returns 1 to retry, or an mh_io to return. */
static int tls_wait(struct mh_sock *s, int rc, int64_t deadline, enum mh_io *io_r,
                    struct mh_error *err, const char *what)
{
	int e = SSL_get_error(s->ssl, rc);
	short ev;
	switch (e) {
	case SSL_ERROR_WANT_READ: ev = POLLIN; break;
	case SSL_ERROR_WANT_WRITE: ev = POLLOUT; break;
	case SSL_ERROR_ZERO_RETURN: *io_r = MH_IO_EOF; return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 &&
		    (errno == 0 || errno == ECONNRESET || errno == EPIPE)) {
			*io_r = MH_IO_EOF;
			ERR_clear_error();
			return 0;
		}
		/* fallthrough */
	default:
		tls_error(err, what);
		*io_r = MH_IO_ERROR;
		return 0;
	}
	int w = wait_fd(s->fd, ev, deadline);
	if (w == 0) {
		mh_error_set(err, "timeout during TLS %s", what);
		*io_r = MH_IO_TIMEOUT;
		return 0;
	}
	if (w < 0) {
		mh_error_set(err, "poll: %s", strerror(errno));
		*io_r = MH_IO_ERROR;
		return 0;
	}
	return 1;
}

static enum mh_io tls_read(struct mh_sock *s, void *buf, size_t n, size_t *got_r, int64_t deadline,
                           struct mh_error *err)
{
	for (;;) {
		errno = 0;
		size_t got = 0;
		int rc = SSL_read_ex(s->ssl, buf, n, &got);
		if (rc == 1) {
			*got_r = got;
			return MH_IO_OK;
		}
		enum mh_io io;
		if (!tls_wait(s, rc, deadline, &io, err, "read"))
			return io;
	}
}

static enum mh_io tls_write(struct mh_sock *s, const void *buf, size_t n, int64_t deadline,
                            struct mh_error *err)
{
	const unsigned char *p = buf;
	while (n > 0) {
		errno = 0;
		size_t put = 0;
		int rc = SSL_write_ex(s->ssl, p, n, &put);
		if (rc == 1) {
			p += put;
			n -= put;
			continue;
		}
		enum mh_io io;
		if (!tls_wait(s, rc, deadline, &io, err, "write"))
			return io;
	}
	return MH_IO_OK;
}

static const struct sock_ops tcp_ops = {"tcp", tcp_read, tcp_write};
static const struct sock_ops tls_ops = {"tls", tls_read, tls_write};

struct mh_sock *mh_sock_connect(const char *host, int port, int64_t deadline_ms,
                                struct mh_error *err)
{
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%d", port);
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		mh_error_set(err, "cannot resolve %s: %s", host, gai_strerror(gai));
		return NULL;
	}
	int fd = -1;
	char last[200] = "no address";
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			snprintf(last, sizeof(last), "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline_ms);
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				break;
			snprintf(last, sizeof(last), "%s",
			         w == 0 ? "connect timed out" : strerror(soerr ? soerr : errno));
		} else {
			snprintf(last, sizeof(last), "%s", strerror(errno));
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		mh_error_set(err, "cannot connect to %s port %d: %s", host, port, last);
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct mh_sock *s = mh_calloc(1, sizeof(*s));
	s->fd = fd;
	s->ops = &tcp_ops;
	return s;
}

static SSL_CTX *shared_ctx[2];
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static SSL_CTX *ctx_new(bool verify, const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (ca_file != NULL)
			SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
		else
			SSL_CTX_set_default_verify_paths(ctx);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
}

static void ctx_init(void)
{
	shared_ctx[0] = ctx_new(false, NULL);
	shared_ctx[1] = ctx_new(true, NULL);
}

int mh_sock_start_tls(struct mh_sock *s, const struct mh_tls_opts *o, int64_t deadline_ms,
                      struct mh_error *err)
{
	if (s->ssl != NULL) {
		mh_error_set(err, "TLS is already active on this connection");
		return -1;
	}
	SSL_CTX *ctx;
	if (o->verify && o->ca_file != NULL) {
		s->own_ctx = ctx_new(true, o->ca_file);
		ctx = s->own_ctx;
	} else {
		pthread_once(&ctx_once, ctx_init);
		ctx = shared_ctx[o->verify ? 1 : 0];
	}
	if (ctx == NULL || (s->ssl = SSL_new(ctx)) == NULL) {
		tls_error(err, "setup");
		return -1;
	}
	SSL_set_fd(s->ssl, s->fd);
	if (o->sni != NULL) {
		struct in6_addr a;
		bool is_ip =
		    inet_pton(AF_INET, o->sni, &a) == 1 || inet_pton(AF_INET6, o->sni, &a) == 1;
		if (!is_ip)
			SSL_set_tlsext_host_name(s->ssl, o->sni);
		if (o->verify) {
			if (is_ip)
				X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), o->sni);
			else
				SSL_set1_host(s->ssl, o->sni);
		}
	}
	for (;;) {
		errno = 0;
		int rc = SSL_connect(s->ssl);
		if (rc == 1)
			break;
		enum mh_io io;
		if (!tls_wait(s, rc, deadline_ms, &io, err, "handshake")) {
			long vr = SSL_get_verify_result(s->ssl);
			if (vr != X509_V_OK) {
				err->set = false;
				mh_error_set(err,
				             "TLS handshake: certificate verification failed: %s "
				             "(use --insecure to skip verification)",
				             X509_verify_cert_error_string(vr));
			} else if (io == MH_IO_EOF) {
				err->set = false;
				mh_error_set(err,
				             "TLS handshake: the server closed the connection");
			}
			SSL_free(s->ssl);
			s->ssl = NULL;
			return -1;
		}
	}
	s->ops = &tls_ops;
	return 0;
}

enum mh_io mh_sock_read(struct mh_sock *s, void *buf, size_t n, size_t *got_r, int64_t deadline_ms,
                        struct mh_error *err)
{
	*got_r = 0;
	return s->ops->read(s, buf, n, got_r, deadline_ms, err);
}

enum mh_io mh_sock_write(struct mh_sock *s, const void *buf, size_t n, int64_t deadline_ms,
                         struct mh_error *err)
{
	return s->ops->write(s, buf, n, deadline_ms, err);
}

bool mh_sock_readable(struct mh_sock *s)
{
	if (s->ssl != NULL && SSL_pending(s->ssl) > 0)
		return true;
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 1;
}

bool mh_sock_is_tls(const struct mh_sock *s)
{
	return s->ssl != NULL;
}

const char *mh_sock_tls_version(const struct mh_sock *s)
{
	return s->ssl != NULL ? SSL_get_version(s->ssl) : NULL;
}

const char *mh_sock_tls_cipher(const struct mh_sock *s)
{
	return s->ssl != NULL ? SSL_get_cipher_name(s->ssl) : NULL;
}

int mh_sock_shutdown_write(struct mh_sock *s)
{
	return shutdown(s->fd, SHUT_WR);
}

void mh_sock_free(struct mh_sock **sp)
{
	struct mh_sock *s = *sp;
	if (s == NULL)
		return;
	if (s->ssl != NULL) {
		SSL_set_quiet_shutdown(s->ssl, 1);
		SSL_free(s->ssl);
	}
	if (s->own_ctx != NULL)
		SSL_CTX_free(s->own_ctx);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	*sp = NULL;
}

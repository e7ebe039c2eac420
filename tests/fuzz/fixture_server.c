/* fixture_server.c: a small loopback SMTP-like server with three planted bugs, the target of the
   fuzz tests and the benchmark. One fork()ed child per connection (or, under an AFL++ forkserver
   with the deferred __AFL_INIT() after listen(), one connection per forked process).

   The bugs:
   (a) memory: after HELO/EHLO and MAIL FROM, a RCPT TO argument of 201..1000 bytes is copied into
       a 200-byte stack buffer (the length check uses the wrong constant). ASan reports a
       stack-buffer-overflow; built with -fstack-protector-all it aborts (SIGABRT).
   (b) hang: VRFY with an argument containing a NUL byte makes the child sleep forever without a
       reply, the connection left open.
   (c) state violation: RCPT before MAIL is answered 250 instead of 503 (RFC 5321 3.3).

   Usage: fixture_server --port N [--host ADDR] [--pidfile F] [--detach] [--idle-timeout S]
                         [--no-bugs]
   --no-bugs: the three bugs fixed (the benchmark's baseline server).
   --detach: each connection is handled by a grandchild that is orphaned at once (the double-fork
   pattern of inetd-like daemons), so only a child subreaper sees it die. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define RCPT_BUF       200
#define RCPT_CHECK     1000 /* the bug: should be RCPT_BUF - 1 */

static bool no_bugs; /* --no-bugs */

enum state { ST_INITIAL, ST_READY, ST_MAIL, ST_RCPT, ST_BDAT };

#define BDAT_MAX 10000000

struct session {
	int fd;
	enum state st;
	unsigned char in[LINE_MAX_BYTES * 2];
	size_t inlen;
	unsigned idle_s;
	bool sasl_seen; /* AUTH with a mechanism was sent: empty lines may be SASL responses */
};

static void out(struct session *s, const char *text)
{
	size_t n = strlen(text), off = 0;
	while (off < n) {
		ssize_t w = write(s->fd, text + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(0);
		off += (size_t)w;
	}
}

/* Reads one line into line (without CR LF). Returns its length, -1 on EOF, -2 if too long (the
   rest of that line is discarded). */
static long read_line(struct session *s, unsigned char *line)
{
	bool overlong = false;
	for (;;) {
		unsigned char *lf = memchr(s->in, '\n', s->inlen);
		if (lf != NULL) {
			size_t n = (size_t)(lf - s->in);
			size_t keep = n;
			if (keep > 0 && s->in[keep - 1] == '\r')
				keep--;
			if (keep > LINE_MAX_BYTES && !overlong) {
				overlong = true;
				memcpy(line, s->in, 16); /* the verb, for AUTH */
			}
			if (!overlong)
				memcpy(line, s->in, keep);
			memmove(s->in, lf + 1, s->inlen - n - 1);
			s->inlen -= n + 1;
			return overlong ? -2 : (long)keep;
		}
		if (s->inlen >= LINE_MAX_BYTES) {
			if (!overlong)
				memcpy(line, s->in, 16); /* the verb, for AUTH */
			overlong = true;
			s->inlen = 0;
		}
		alarm(s->idle_s);
		ssize_t r = read(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		s->inlen += (size_t)r;
	}
}

static bool has_prefix(const unsigned char *arg, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && strncasecmp((const char *)arg, p, n) == 0;
}

/* Bug (a): the length check compares with the wrong constant. Returns the reply to send. */
__attribute__((noinline)) static const char *accept_rcpt(const unsigned char *arg, size_t len)
{
	char addr[RCPT_BUF];
	if (len > (no_bugs ? RCPT_BUF - 1 : RCPT_CHECK))
		return "501 5.1.3 address too long\r\n";
	memcpy(addr, arg, len);
	addr[len < RCPT_BUF ? len : RCPT_BUF - 1] = '\0';
	return strchr(addr, '@') != NULL ? "250 2.1.5 recipient ok\r\n"
	                                 : "250 2.1.5 local recipient ok\r\n";
}

static void read_data(struct session *s, unsigned char *line)
{
	for (;;) {
		long n = read_line(s, line);
		if (n == -1)
			_exit(0);
		if (n == 1 && line[0] == '.')
			break;
	}
	out(s, "250 2.0.0 message accepted\r\n");
	s->st = ST_READY;
}

/* BDAT: takes exactly n payload bytes (from what is buffered, then the socket). */
static void read_payload(struct session *s, unsigned long n)
{
	while (n > 0) {
		if (s->inlen == 0) {
			alarm(s->idle_s);
			ssize_t r = read(s->fd, s->in, sizeof(s->in));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				_exit(0);
			s->inlen = (size_t)r;
		}
		size_t k = s->inlen < n ? s->inlen : n;
		memmove(s->in, s->in + k, s->inlen - k);
		s->inlen -= k;
		n -= k;
	}
}

/* BDAT <size> [LAST]: size is the first word, all digits (RFC 3030); exactly size payload bytes
   follow the line. */
static void bdat(struct session *s, const unsigned char *arg, size_t alen)
{
	unsigned long n = 0;
	size_t i = 0;
	for (; i < alen && arg[i] >= '0' && arg[i] <= '9' && n <= BDAT_MAX; i++)
		n = n * 10 + (unsigned long)(arg[i] - '0');
	bool last = false;
	for (size_t k = i; k + 4 <= alen; k++)
		last = last || strncasecmp((const char *)arg + k, "LAST", 4) == 0;
	if (i == 0 || n > BDAT_MAX || (i < alen && arg[i] != ' ')) {
		out(s, "501 5.5.4 syntax: BDAT <size> [LAST]\r\n");
		return;
	}
	read_payload(s, n);
	if (s->st != ST_RCPT && s->st != ST_BDAT) {
		out(s, "503 5.5.1 need RCPT first\r\n");
		return;
	}
	out(s, last ? "250 2.0.0 message accepted\r\n" : "250 2.0.0 chunk received\r\n");
	s->st = last ? ST_READY : ST_BDAT;
}

/* AUTH: no mechanism is supported (none is advertised), one reply. A client that sent AUTH with
   a mechanism may go on with SASL responses, empty ones too: from then on empty lines are
   answered like any other line. */
static void auth(struct session *s, size_t alen)
{
	if (s->st == ST_MAIL || s->st == ST_RCPT || s->st == ST_BDAT)
		out(s, "503 5.5.1 not during a mail transaction\r\n");
	else if (alen == 0)
		out(s, "501 5.5.4 syntax: AUTH mechanism\r\n");
	else
		out(s, "504 5.5.4 mechanism not supported\r\n");
	if (alen > 0)
		s->sasl_seen = true;
}

static void hang_forever(void)
{
	alarm(0);
	for (;;)
		pause();
}

static void serve(int fd, unsigned idle_s)
{
	static struct session s;
	static unsigned char line[LINE_MAX_BYTES + 1];
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* replies go out at once */
	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.idle_s = idle_s;
	s.st = ST_INITIAL;
	out(&s, "220 fixture.example ESMTP mailharness fuzz fixture\r\n");
	for (;;) {
		long n = read_line(&s, line);
		if (n == -1)
			return;
		if (n == -2) {
			/* an overlong BDAT line: its payload follows all the same */
			if (strncasecmp((const char *)line, "BDAT ", 5) == 0) {
				unsigned long sz = 0;
				for (size_t i = 5; i < 16 && line[i] >= '0' && line[i] <= '9'; i++)
					sz = sz * 10 + (unsigned long)(line[i] - '0');
				if (sz <= BDAT_MAX)
					read_payload(&s, sz);
			}
			out(&s, "500 5.5.2 line too long\r\n");
			s.sasl_seen =
			    s.sasl_seen || strncasecmp((const char *)line, "AUTH ", 5) == 0;
			continue;
		}
		if (n == 0 && !s.sasl_seen)
			continue; /* an empty command line is ignored (no reply) */
		size_t len = (size_t)n, vl = 0;
		while (vl < len && line[vl] != ' ')
			vl++;
		const unsigned char *arg = line + vl;
		size_t alen = len - vl;
		while (alen > 0 && *arg == ' ') {
			arg++;
			alen--;
		}
		char verb[16] = "";
		if (vl > 0 && vl < sizeof(verb) && memchr(line, '\0', vl) == NULL) {
			memcpy(verb, line, vl);
			verb[vl] = '\0';
		}
		if (strcasecmp(verb, "HELO") == 0 || strcasecmp(verb, "EHLO") == 0) {
			if (alen == 0) {
				out(&s, "501 5.5.4 domain required\r\n");
				continue;
			}
			out(&s, verb[0] == 'E' || verb[0] == 'e'
			            ? "250-fixture.example greets you\r\n250-CHUNKING\r\n"
			              "250 HELP\r\n"
			            : "250 fixture.example\r\n");
			s.st = ST_READY;
		} else if (strcasecmp(verb, "MAIL") == 0) {
			if (s.st == ST_INITIAL)
				out(&s, "503 5.5.1 say HELO first\r\n");
			else if (s.st == ST_MAIL || s.st == ST_RCPT)
				out(&s, "503 5.5.1 nested MAIL\r\n");
			else if (!has_prefix(arg, alen, "FROM:"))
				out(&s, "501 5.5.4 syntax: MAIL FROM:<address>\r\n");
			else {
				out(&s, "250 2.1.0 sender ok\r\n");
				s.st = ST_MAIL;
			}
		} else if (strcasecmp(verb, "RCPT") == 0) {
			if ((s.st == ST_INITIAL || s.st == ST_READY) && no_bugs) {
				out(&s, "503 5.5.1 need MAIL first\r\n");
			} else if (s.st == ST_INITIAL || s.st == ST_READY) {
				/* Bug (c): should be "503 5.5.1 need MAIL first". */
				out(&s, "250 2.1.5 ok\r\n");
			} else if (s.st == ST_BDAT) {
				out(&s, "503 5.5.1 BDAT transaction in progress\r\n");
			} else if (!has_prefix(arg, alen, "TO:")) {
				out(&s, "501 5.5.4 syntax: RCPT TO:<address>\r\n");
			} else {
				const char *reply = accept_rcpt(arg + 3, alen - 3);
				out(&s, reply);
				if (reply[0] == '2')
					s.st = ST_RCPT;
			}
		} else if (strcasecmp(verb, "DATA") == 0) {
			if (s.st != ST_RCPT) {
				out(&s, "503 5.5.1 need RCPT first\r\n");
				continue;
			}
			out(&s, "354 end data with <CR><LF>.<CR><LF>\r\n");
			read_data(&s, line);
		} else if (strcasecmp(verb, "RSET") == 0) {
			out(&s, "250 2.0.0 ok\r\n");
			if (s.st != ST_INITIAL)
				s.st = ST_READY;
		} else if (strcasecmp(verb, "NOOP") == 0) {
			out(&s, "250 2.0.0 ok\r\n");
		} else if (strcasecmp(verb, "VRFY") == 0) {
			if (alen == 0)
				out(&s, "501 5.5.4 argument required\r\n");
			else if (!no_bugs && memchr(arg, '\0', alen) != NULL)
				hang_forever(); /* Bug (b) */
			else
				out(&s, "252 2.5.0 cannot verify, will accept\r\n");
		} else if (strcasecmp(verb, "EXPN") == 0) {
			out(&s, "502 5.5.1 EXPN not implemented\r\n");
		} else if (strcasecmp(verb, "HELP") == 0) {
			out(&s, "214 2.0.0 see RFC 5321\r\n");
		} else if (strcasecmp(verb, "QUIT") == 0) {
			out(&s, "221 2.0.0 bye\r\n");
			return;
		} else if (strcasecmp(verb, "BDAT") == 0) {
			bdat(&s, arg, alen);
		} else if (strcasecmp(verb, "AUTH") == 0) {
			auth(&s, alen);
		} else if (strcasecmp(verb, "STARTTLS") == 0) {
			out(&s, "454 4.7.0 TLS not available\r\n");
		} else {
			out(&s, "500 5.5.2 command unrecognized\r\n");
		}
	}
}

#ifdef MH_FAKE_AFL_FORKSERVER
/* Built without afl-clang-fast: the server side of the AFL++ 4.20+ forkserver handshake (version
   word, XOR reply, options with a map size and an autodictionary, version again), so that the
   fuzzer's support for the new protocol is tested without an AFL++ 4.20 install. */
#define __AFL_HAVE_MANUAL_CONTROL 1
#define __AFL_INIT()              fake_afl_init()
static int rd4(uint32_t *v)
{
	return read(198, v, 4) == 4 ? 0 : -1;
}
static void wr4(uint32_t v)
{
	if (write(199, &v, 4) != 4)
		_exit(1);
}
static void fake_afl_init(void)
{
	const uint32_t version = 0x41464c00u + 1u;
	static const unsigned char dict[] = {4, 'Q', 'U', 'I', 'T', 4, 'R', 'C', 'P', 'T'};
	uint32_t reply;
	if (write(199, &version, 4) != 4)
		return; /* no forkserver: run as usual */
	if (rd4(&reply) != 0 || reply != (version ^ 0xffffffffu))
		_exit(1);
	wr4(0x00000001u | 0x00000800u); /* FS_NEW_OPT_MAPSIZE | FS_NEW_OPT_AUTODICT */
	wr4(65536);                     /* map size */
	wr4((uint32_t)sizeof(dict));    /* dictionary */
	if (write(199, dict, sizeof(dict)) != (ssize_t)sizeof(dict))
		_exit(1);
	wr4(version);
	for (;;) {
		uint32_t was_killed;
		if (rd4(&was_killed) != 0)
			_exit(0);
		pid_t child = fork();
		if (child < 0)
			_exit(1);
		if (child == 0) {
			close(198);
			close(199);
			return;
		}
		wr4((uint32_t)child);
		int status;
		if (waitpid(child, &status, 0) < 0)
			_exit(1);
		wr4((uint32_t)status);
	}
}
#endif

static void on_chld(int sig)
{
	(void)sig;
	int saved = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static int parse_num(const char *s, long min, long max, long *out_r)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out_r = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *pidfile = NULL;
	long port = -1, idle = 30;
	bool detach = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if (parse_num(argv[++i], 1, 65535, &port) != 0)
				port = -1;
		} else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
			host = argv[++i];
		} else if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc) {
			pidfile = argv[++i];
		} else if (strcmp(argv[i], "--idle-timeout") == 0 && i + 1 < argc) {
			if (parse_num(argv[++i], 1, 3600, &idle) != 0)
				idle = 30;
		} else if (strcmp(argv[i], "--no-bugs") == 0) {
			no_bugs = true;
		} else if (strcmp(argv[i], "--detach") == 0) {
			detach = true;
		} else {
			fprintf(stderr,
			        "usage: fixture_server --port N [--host ADDR] [--pidfile F] "
			        "[--detach] [--idle-timeout S] [--no-bugs]\n");
			return 2;
		}
	}
	if (port < 0) {
		fprintf(stderr, "fixture_server: --port N required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "fixture_server: bad --host %s\n", host);
		return 2;
	}
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 64) != 0) {
		fprintf(stderr, "fixture_server: %s:%ld: %s\n", host, port, strerror(errno));
		return 1;
	}
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f != NULL) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
#ifdef __AFL_HAVE_MANUAL_CONTROL
	/* Under an AFL++ forkserver (fd 198 open), every forked process takes one connection. */
	bool forkserver = fcntl(198, F_GETFD) != -1;
	__AFL_INIT();
	if (forkserver) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			_exit(1);
		close(ls);
		serve(c, (unsigned)idle);
		_exit(0);
	}
#endif
	struct sigaction act;
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_chld;
	act.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &act, NULL);
	pid_t parent = getpid();
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(ls);
			signal(SIGCHLD, SIG_DFL);
			if (detach) {
				pid_t g = fork();
				if (g != 0)
					_exit(g < 0 ? 1 : 0);
			} else {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != parent)
					_exit(0);
			}
			serve(c, (unsigned)idle);
			_exit(0);
		}
		close(c);
	}
}

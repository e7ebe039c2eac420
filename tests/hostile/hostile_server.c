/* hostile_server.c: a loopback TCP server that misbehaves on purpose (endless lines, slow
   greetings, huge or lying IMAP literals, NUL bytes, resets, binary garbage, bare LF, mixed reply
   codes) so the hostile tests can show the harness stays bounded. Test helper, never installed.

   Usage: hostile_server --mode MODE [--port N] [--port-file FILE] [--lifetime SEC]
                         [--normal-first N] [--rate BYTES_PER_SEC]
   Prints the bound port on stdout (and into --port-file, written atomically). Each connection is
   served by a forked child. Connection k (from 0) gets the mode's normal dialogue when
   k < --normal-first (the harness probes each target on a connection of its own before the
   cases run), the hostile behaviour otherwise. Lifetime is bounded: the server and every child
   exit after --lifetime seconds, when the parent that started the server goes away, or on
   SIGTERM / SIGINT. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define MAX_CHILDREN   64
#define LINE_MAX_BYTES 4096
#define IDLE_READ_MS   30000 /* a child waits at most this long for one client line */

/* ---- time, pacing, I/O ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Writes all of buf; waits for the socket at most 10 s per chunk. 0 / -1 (peer gone, stuck). */
static int send_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	while (n > 0) {
		struct pollfd pfd = {fd, POLLOUT, 0};
		int pr = poll(&pfd, 1, 10000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Per-connection state of a child. */
struct conn {
	int fd;
	unsigned long index; /* accept order, from 0 */
	long rate;           /* bytes per second for the endless modes */
	unsigned char in[LINE_MAX_BYTES];
	size_t inlen;
	uint64_t rng;
};

/* Reads one client line (LF-terminated; CR and LF stripped) into line. Returns its length, or -1
   on EOF, error or IDLE_READ_MS without a complete line. Overlong lines are cut. */
static long read_line(struct conn *c, char *line, size_t cap)
{
	int64_t deadline = now_ms() + IDLE_READ_MS;
	for (;;) {
		unsigned char *lf = memchr(c->in, '\n', c->inlen);
		if (lf != NULL || c->inlen == sizeof(c->in)) {
			size_t n = lf != NULL ? (size_t)(lf - c->in) : c->inlen;
			size_t take = lf != NULL ? n + 1 : n;
			size_t keep = n;
			if (keep > 0 && c->in[keep - 1] == '\r')
				keep--;
			if (keep >= cap)
				keep = cap - 1;
			memcpy(line, c->in, keep);
			line[keep] = '\0';
			memmove(c->in, c->in + take, c->inlen - take);
			c->inlen -= take;
			return (long)keep;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {c->fd, POLLIN, 0};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->inlen += (size_t)r;
	}
}

/* Discards client bytes until EOF or IDLE_READ_MS of silence. */
static void drain_until_eof(struct conn *c)
{
	unsigned char buf[4096];
	for (;;) {
		struct pollfd pfd = {c->fd, POLLIN, 0};
		int pr = poll(&pfd, 1, IDLE_READ_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return;
		if (recv(c->fd, buf, sizeof(buf), 0) <= 0)
			return;
	}
}

/* Client bytes are read and dropped while the endless modes write, so a client that keeps
   sending never fills its socket buffer. */
static void discard_pending_input(struct conn *c)
{
	unsigned char buf[4096];
	while (recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Sends bytes from fill() forever at c->rate bytes per second; returns when the peer is gone. */
static void send_paced(struct conn *c, void (*fill)(struct conn *c, unsigned char *buf, size_t n))
{
	unsigned char buf[4096];
	size_t chunk = c->rate < (long)sizeof(buf) ? (size_t)c->rate : sizeof(buf);
	if (chunk == 0)
		chunk = 1;
	int64_t start = now_ms();
	uint64_t sent = 0;
	for (;;) {
		fill(c, buf, chunk);
		if (send_all(c->fd, buf, chunk) != 0)
			return;
		sent += chunk;
		discard_pending_input(c);
		/* sleep until the average rate is back at c->rate */
		int64_t due = start + (int64_t)(sent * 1000 / (uint64_t)c->rate);
		sleep_ms(due - now_ms());
	}
}

static void fill_a(struct conn *c, unsigned char *buf, size_t n)
{
	(void)c;
	memset(buf, 'a', n);
}

static const char multiline_unit[] = "250-xxx\r\n";

static void fill_multiline(struct conn *c, unsigned char *buf, size_t n)
{
	/* continues the "250-xxx\r\n" pattern across chunks */
	size_t ulen = sizeof(multiline_unit) - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)multiline_unit[(c->rng + i) % ulen];
	c->rng = (c->rng + n) % ulen;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Random bytes without LF: no line ever ends. */
static void fill_binary(struct conn *c, unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)xorshift(&c->rng);
		buf[i] = b == '\n' ? 0xff : b;
	}
}

/* Random bytes, LF included (about one line per 256 bytes). */
static void fill_binary_lines(struct conn *c, unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)xorshift(&c->rng);
}

/* ---- dialogues ---- */

struct bytes {
	const char *p;
	size_t n;
};
#define B(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

/* The canned replies of an SMTP dialogue; every mode that is well-framed uses one. */
struct smtp_style {
	struct bytes greeting, ehlo, other, quit;
};

static const struct smtp_style smtp_normal = {
    B("220 hostile.example ESMTP ready\r\n"),
    B("250-hostile.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
    B("250 ok\r\n"),
    B("221 bye\r\n"),
};
static const struct smtp_style smtp_bare_lf = {
    B("220 bare.example ESMTP\n"),
    B("250-bare.example\n250 PIPELINING\n"),
    B("250 ok\n"),
    B("221 bye\n"),
};
static const struct smtp_style smtp_nul = {
    B("220 a\0b\r\n"),
    B("250-nul\0.example\r\n250 PIPELINING\r\n"),
    B("250 o\0k\r\n"),
    B("221 b\0ye\r\n"),
};
static const struct smtp_style smtp_mixed = {
    B("220 mixed.example ESMTP\r\n"),
    B("250-a\r\n251 b\r\n"),
    B("250-a\r\n251 b\r\n"),
    B("221 bye\r\n"),
};

static bool verb_is(const char *line, const char *verb)
{
	size_t n = strlen(verb);
	if (strncasecmp(line, verb, n) != 0)
		return false;
	return line[n] == '\0' || line[n] == ' ' || line[n] == ':';
}

/* Answers SMTP commands with style until QUIT or EOF. The greeting must have been sent. */
static void smtp_commands(struct conn *c, const struct smtp_style *st)
{
	char line[LINE_MAX_BYTES];
	bool in_data = false;
	while (read_line(c, line, sizeof(line)) >= 0) {
		if (in_data) {
			if (strcmp(line, ".") == 0) {
				in_data = false;
				if (send_all(c->fd, st->other.p, st->other.n) != 0)
					return;
			}
			continue;
		}
		const struct bytes *b = &st->other;
		if (verb_is(line, "EHLO"))
			b = &st->ehlo;
		else if (verb_is(line, "QUIT"))
			b = &st->quit;
		else if (verb_is(line, "DATA")) {
			static const struct bytes go = B("354 go ahead\r\n");
			b = &go;
			in_data = true;
		}
		if (send_all(c->fd, b->p, b->n) != 0)
			return;
		if (b == &st->quit)
			return;
	}
}

static void smtp_dialogue(struct conn *c, const struct smtp_style *st)
{
	if (send_all(c->fd, st->greeting.p, st->greeting.n) != 0)
		return;
	smtp_commands(c, st);
}

/* A minimal IMAP server: CAPABILITY, LOGOUT (with BYE), everything else tagged OK. */
static void imap_dialogue(struct conn *c)
{
	static const char greet[] = "* OK [CAPABILITY IMAP4rev1] hostile ready\r\n";
	if (send_all(c->fd, greet, sizeof(greet) - 1) != 0)
		return;
	char line[LINE_MAX_BYTES], out[LINE_MAX_BYTES + 128];
	while (read_line(c, line, sizeof(line)) >= 0) {
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		const char *cmd = sp + 1;
		const char *untagged = "";
		bool bye = false;
		if (verb_is(cmd, "CAPABILITY"))
			untagged = "* CAPABILITY IMAP4rev1\r\n";
		else if (verb_is(cmd, "LOGOUT")) {
			untagged = "* BYE logging out\r\n";
			bye = true;
		}
		int n = snprintf(out, sizeof(out), "%s%s OK done\r\n", untagged, line);
		if (n < 0 || (size_t)n >= sizeof(out) || send_all(c->fd, out, (size_t)n) != 0)
			return;
		if (bye)
			return;
	}
}

/* ---- modes ---- */

static void mode_normal(struct conn *c)
{
	smtp_dialogue(c, &smtp_normal);
}

static void mode_endless_line(struct conn *c)
{
	if (send_all(c->fd, "220 ", 4) == 0)
		send_paced(c, fill_a);
}

static void mode_endless_multiline(struct conn *c)
{
	static const char greet[] = "220 endless.example ESMTP\r\n";
	char line[LINE_MAX_BYTES];
	if (send_all(c->fd, greet, sizeof(greet) - 1) != 0 || read_line(c, line, sizeof(line)) < 0)
		return;
	c->rng = 0;
	send_paced(c, fill_multiline);
}

static void mode_slow(struct conn *c)
{
	static const char greet[] = "220 slow.example ESMTP\r\n";
	for (size_t i = 0; i < sizeof(greet) - 1; i++) {
		if (send_all(c->fd, greet + i, 1) != 0)
			return;
		discard_pending_input(c);
		sleep_ms(1000);
	}
	smtp_commands(c, &smtp_normal);
}

/* IMAP greeting, then the hostile bytes as the reply to the first command. */
static bool imap_first_command(struct conn *c)
{
	static const char greet[] = "* OK hi\r\n";
	char line[LINE_MAX_BYTES];
	return send_all(c->fd, greet, sizeof(greet) - 1) == 0 &&
	       read_line(c, line, sizeof(line)) >= 0;
}

static void mode_huge_literal(struct conn *c)
{
	static const char head[] = "* 1 FETCH (BODY[] {4294967295}\r\n";
	if (!imap_first_command(c) || send_all(c->fd, head, sizeof(head) - 1) != 0)
		return;
	send_paced(c, fill_a);
}

static void mode_lying_literal_small(struct conn *c)
{
	static const char lie[] = "* 1 FETCH (BODY[] {10}\r\nabc";
	if (!imap_first_command(c) || send_all(c->fd, lie, sizeof(lie) - 1) != 0)
		return;
	drain_until_eof(c); /* silence: the 7 missing bytes never come */
}

static void mode_nul(struct conn *c)
{
	smtp_dialogue(c, &smtp_nul);
}

static void mode_reset(struct conn *c)
{
	static const char greet[] = "220 reset.example ESMTP\r\n";
	static const char half[] = "250-ok\r\n250-mo";
	char line[LINE_MAX_BYTES];
	if (send_all(c->fd, greet, sizeof(greet) - 1) != 0 || read_line(c, line, sizeof(line)) < 0)
		return;
	if (send_all(c->fd, half, sizeof(half) - 1) != 0)
		return;
	sleep_ms(200); /* let the half reply arrive before the reset */
	struct linger lg = {1, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd); /* linger 0: RST */
	c->fd = -1;
}

static void mode_binary(struct conn *c)
{
	c->rng = 0x9e3779b97f4a7c15ull;
	send_paced(c, fill_binary);
}

static void mode_binary_lines(struct conn *c)
{
	c->rng = 0x2545f4914f6cdd1dull;
	send_paced(c, fill_binary_lines);
}

static void mode_bare_lf(struct conn *c)
{
	smtp_dialogue(c, &smtp_bare_lf);
}

static void mode_mixed_codes(struct conn *c)
{
	smtp_dialogue(c, &smtp_mixed);
}

/* Hostile only on its first hostile connection; well-behaved afterwards. */
static void mode_first_conn_endless(struct conn *c);

enum proto { P_SMTP, P_IMAP };

struct mode {
	const char *name;
	enum proto proto; /* picks the normal dialogue for --normal-first connections */
	void (*run)(struct conn *c);
	const char *help;
};

static const struct mode modes[] = {
    {"normal", P_SMTP, mode_normal, "a well-behaved SMTP dialogue"},
    {"endless-line", P_SMTP, mode_endless_line, "\"220 \" then bytes forever, no CRLF"},
    {"endless-multiline", P_SMTP, mode_endless_multiline,
     "greeting, then \"250-xxx\\r\\n\" lines forever to the first command"},
    {"slow", P_SMTP, mode_slow, "the greeting at one byte per second"},
    {"huge-literal", P_IMAP, mode_huge_literal,
     "IMAP: a {4294967295} literal in the reply to the first command"},
    {"lying-literal-small", P_IMAP, mode_lying_literal_small,
     "IMAP: a {10} literal followed by 3 bytes, then silence"},
    {"nul", P_SMTP, mode_nul, "SMTP replies with NUL bytes inside"},
    {"reset", P_SMTP, mode_reset, "half a reply to the first command, then RST"},
    {"binary", P_SMTP, mode_binary, "random bytes forever, never an LF"},
    {"binary-lines", P_SMTP, mode_binary_lines, "random bytes forever, LF included"},
    {"bare-lf", P_SMTP, mode_bare_lf, "SMTP replies ending in bare LF"},
    {"mixed-codes", P_SMTP, mode_mixed_codes, "EHLO answered \"250-a\\r\\n251 b\\r\\n\""},
    {"first-conn-endless", P_SMTP, mode_first_conn_endless,
     "endless-line on the first hostile connection, normal on later ones"},
};

static unsigned long first_hostile_index;

static void mode_first_conn_endless(struct conn *c)
{
	if (c->index == first_hostile_index)
		mode_endless_line(c);
	else
		mode_normal(c);
}

/* ---- the server ---- */

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fputs("usage: hostile_server --mode MODE [--port N] [--port-file FILE] [--lifetime SEC]\n"
	      "                      [--normal-first N] [--rate BYTES_PER_SEC]\nmodes:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		fprintf(f, "  %-20s %s\n", modes[i].name, modes[i].help);
}

static int parse_num(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "hostile_server: %s expects %ld..%ld, got '%s'\n", opt, min, max,
		        s);
		return -1;
	}
	*out = v;
	return 0;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void serve_child(const struct mode *m, int fd, unsigned long index, long rate,
                        long normal_first, pid_t server, int lifetime_left_s)
{
	/* die with the server, and never outlive the lifetime */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != server)
		_exit(0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	alarm((unsigned)(lifetime_left_s > 0 ? lifetime_left_s : 1));
	struct conn c;
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.index = index;
	c.rate = rate;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((long)index < normal_first) {
		if (m->proto == P_IMAP)
			imap_dialogue(&c);
		else
			mode_normal(&c);
	} else {
		m->run(&c);
	}
	if (c.fd >= 0) {
		shutdown(c.fd, SHUT_WR);
		drain_until_eof(&c);
		close(c.fd);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *mode_name = NULL, *port_file = NULL;
	long port = 0, lifetime = 60, normal_first = 0, rate = 1000000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--mode") == 0)
			mode_name = v;
		else if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--port") == 0) {
			if (parse_num(a, v, 0, 65535, &port) != 0)
				return 2;
		} else if (strcmp(a, "--lifetime") == 0) {
			if (parse_num(a, v, 1, 3600, &lifetime) != 0)
				return 2;
		} else if (strcmp(a, "--normal-first") == 0) {
			if (parse_num(a, v, 0, 1000, &normal_first) != 0)
				return 2;
		} else if (strcmp(a, "--rate") == 0) {
			if (parse_num(a, v, 1, 100000000, &rate) != 0)
				return 2;
		} else {
			usage(stderr);
			return 2;
		}
	}
	const struct mode *m = NULL;
	for (size_t i = 0; mode_name != NULL && i < ARRAY_SIZE(modes); i++)
		if (strcmp(modes[i].name, mode_name) == 0)
			m = &modes[i];
	if (m == NULL) {
		fprintf(stderr, "hostile_server: unknown or missing --mode\n");
		usage(stderr);
		return 2;
	}
	first_hostile_index = (unsigned long)normal_first;

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("hostile_server: socket");
		return 2;
	}
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	socklen_t slen = sizeof(sin);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) != 0) {
		perror("hostile_server: bind/listen");
		return 2;
	}
	int bound = ntohs(sin.sin_port);
	printf("%d\n", bound);
	fflush(stdout);
	if (port_file != NULL && write_port_file(port_file, bound) != 0) {
		perror("hostile_server: port file");
		return 2;
	}

	pid_t self = getpid(), parent = getppid();
	pid_t children[MAX_CHILDREN];
	size_t nchildren = 0;
	unsigned long accepted = 0;
	int64_t end = now_ms() + lifetime * 1000;
	while (!stop_flag && now_ms() < end && getppid() == parent) {
		for (size_t i = 0; i < nchildren;) {
			if (waitpid(children[i], NULL, WNOHANG) == children[i])
				children[i] = children[--nchildren];
			else
				i++;
		}
		struct pollfd pfd = {lfd, POLLIN, 0};
		int64_t left = end - now_ms();
		int pr = poll(&pfd, 1, left < 250 ? (int)left : 250);
		if (pr <= 0)
			continue;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		unsigned long index = accepted++;
		if (nchildren == MAX_CHILDREN) {
			close(fd);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			serve_child(m, fd, index, rate, normal_first, self,
			            (int)((end - now_ms()) / 1000) + 1);
		}
		if (pid > 0)
			children[nchildren++] = pid;
		close(fd);
	}
	close(lfd);
	for (size_t i = 0; i < nchildren; i++)
		kill(children[i], SIGKILL);
	for (size_t i = 0; i < nchildren; i++)
		waitpid(children[i], NULL, 0);
	if (port_file != NULL)
		unlink(port_file);
	return 0;
}

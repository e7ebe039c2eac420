/* canned_server.c: plays a golden case's server.txt (format: tests/golden/README.md) to the
   connections the harness makes on loopback, one scripted block per connection in accept order,
   and reports whether every block was played as written. Test helper, never installed.

   Usage: canned_server --script server.txt [--port-file FILE] [--log FILE] [--timeout MS]
                        [--lifetime SEC]
   Prints the bound port on stdout (and into --port-file, written atomically). Runs until SIGTERM
   / SIGINT or --lifetime, then exits 0 if every block ran to its end with every client line
   matching, no block was left unplayed and no extra connection came; 1 otherwise; 2 on usage or
   script errors. Each block is served by a forked child; every wait is bounded by --timeout. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_BLOCKS 32
#define MAX_STEPS  256
#define MAX_SCRIPT (1024 * 1024)
#define LINE_CAP   65536

enum step_kind {
	STEP_SEND,   /* S: bytes */
	STEP_EXPECT, /* C: regex over one client line */
	STEP_SLEEP,  /* SLEEP ms */
	STEP_CLOSE,  /* CLOSE: FIN first; what the client sends afterwards is discarded */
	STEP_RST,    /* RST: close with SO_LINGER 0 */
	STEP_IGNORE, /* IGNORE: discard client bytes until it closes */
	STEP_COUNT
};

struct step {
	enum step_kind kind;
	int src_line; /* line in server.txt, for messages */
	char *data;   /* SEND: unescaped bytes; EXPECT: the regex as written */
	size_t len;
	long ms;
	regex_t re;
};

struct block {
	char label[128];
	int src_line;
	struct step steps[MAX_STEPS];
	size_t nsteps;
};

static struct block blocks[MAX_BLOCKS];
static size_t nblocks;
static long timeout_ms = 10000;
static int log_fd = -1;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line to stderr and the log (single write: O_APPEND keeps children's lines whole). */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(msg) - 2 ? (size_t)n : sizeof(msg) - 2;
	msg[len++] = '\n';
	if (write(STDERR_FILENO, msg, len) < 0) {
		/* nothing to do */
	}
	if (log_fd >= 0 && write(log_fd, msg, len) < 0) {
		/* nothing to do */
	}
}

/* ---- script parsing ---- */

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

/* Unescapes s[0..n) (\r \n \t \0 \\ \xNN) into a new buffer. -1 on a bad escape. */
static int unescape(const char *s, size_t n, char **out, size_t *outlen)
{
	char *b = malloc(n + 1);
	if (b == NULL)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			b[o++] = s[i];
			continue;
		}
		if (++i >= n)
			goto bad;
		switch (s[i]) {
		case 'r': b[o++] = '\r'; break;
		case 'n': b[o++] = '\n'; break;
		case 't': b[o++] = '\t'; break;
		case '0': b[o++] = '\0'; break;
		case '\\': b[o++] = '\\'; break;
		case 'x': {
			int h = i + 2 < n ? hexval(s[i + 1]) : -1,
			    l = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (h < 0 || l < 0)
				goto bad;
			b[o++] = (char)(h * 16 + l);
			i += 2;
			break;
		}
		default: goto bad;
		}
	}
	b[o] = '\0';
	*out = b;
	*outlen = o;
	return 0;
bad:
	free(b);
	return -1;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int load_script(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		logf_("canned_server: %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = malloc(LINE_CAP);
	int lineno = 0, rc = 0;
	size_t total = 0;
	while (rc == 0 && line != NULL && fgets(line, LINE_CAP, f) != NULL) {
		lineno++;
		size_t n = strlen(line);
		total += n;
		if (total > MAX_SCRIPT) {
			logf_("%s: script larger than %d bytes", path, MAX_SCRIPT);
			rc = -1;
			break;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f)) {
			logf_("%s:%d: line longer than %d bytes", path, lineno, LINE_CAP - 2);
			rc = -1;
			break;
		}
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strncmp(line, "==", 2) == 0) {
			if (nblocks == MAX_BLOCKS) {
				logf_("%s:%d: more than %d connections", path, lineno, MAX_BLOCKS);
				rc = -1;
				break;
			}
			struct block *b = &blocks[nblocks++];
			const char *label = line + 2;
			while (*label == ' ' || *label == '=')
				label++;
			snprintf(b->label, sizeof(b->label), "%s", *label ? label : "(unnamed)");
			b->src_line = lineno;
			continue;
		}
		if (nblocks == 0) {
			logf_("%s:%d: a step before the first '== connection' line", path, lineno);
			rc = -1;
			break;
		}
		struct block *b = &blocks[nblocks - 1];
		if (b->nsteps == MAX_STEPS) {
			logf_("%s:%d: more than %d steps in one connection", path, lineno,
			      MAX_STEPS);
			rc = -1;
			break;
		}
		struct step *st = &b->steps[b->nsteps];
		memset(st, 0, sizeof(*st));
		st->src_line = lineno;
		if (strncmp(line, "S: ", 3) == 0 || strcmp(line, "S:") == 0) {
			st->kind = STEP_SEND;
			const char *t = n > 3 ? line + 3 : "";
			if (unescape(t, strlen(t), &st->data, &st->len) != 0) {
				logf_("%s:%d: bad escape (use \\r \\n \\t \\0 \\\\ \\xNN)", path,
				      lineno);
				rc = -1;
				break;
			}
		} else if (strncmp(line, "C: ", 3) == 0) {
			st->kind = STEP_EXPECT;
			size_t rl = strlen(line + 3);
			st->data = malloc(rl + 5);
			if (st->data == NULL) {
				rc = -1;
				break;
			}
			snprintf(st->data, rl + 5, "^(%s)$", line + 3);
			int e = regcomp(&st->re, st->data, REG_EXTENDED | REG_NOSUB);
			if (e != 0) {
				char m[256];
				regerror(e, &st->re, m, sizeof(m));
				logf_("%s:%d: bad regex: %s", path, lineno, m);
				rc = -1;
				break;
			}
			snprintf(st->data, rl + 5, "%s", line + 3);
		} else if (strncmp(line, "SLEEP ", 6) == 0) {
			st->kind = STEP_SLEEP;
			if (parse_long(line + 6, 0, 60000, &st->ms) != 0) {
				logf_("%s:%d: SLEEP expects 0..60000 ms", path, lineno);
				rc = -1;
				break;
			}
		} else if (strcmp(line, "CLOSE") == 0) {
			st->kind = STEP_CLOSE;
		} else if (strcmp(line, "RST") == 0) {
			st->kind = STEP_RST;
		} else if (strcmp(line, "IGNORE") == 0) {
			st->kind = STEP_IGNORE;
		} else {
			logf_("%s:%d: unknown line (S:, C:, SLEEP, CLOSE, RST, IGNORE, ==)", path,
			      lineno);
			rc = -1;
			break;
		}
		b->nsteps++;
	}
	free(line);
	fclose(f);
	if (rc == 0 && nblocks == 0) {
		logf_("%s: no '== connection' block", path);
		rc = -1;
	}
	return rc;
}

/* ---- playing one block ---- */

struct peer {
	int fd;
	unsigned char in[LINE_CAP];
	size_t inlen;
	bool eof;
};

static void escape_for_log(const unsigned char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = s[i];
		if (c >= 32 && c < 127 && c != '\\') {
			out[o++] = (char)c;
		} else {
			int w = snprintf(out + o, cap - o, "\\x%02x", c);
			if (w < 0)
				break;
			o += (size_t)w;
		}
	}
	out[o < cap ? o : cap - 1] = '\0';
}

/* Waits up to timeout_ms for bytes. 1 got some, 0 EOF, -1 timeout or error. */
static int fill(struct peer *p)
{
	if (p->inlen == sizeof(p->in))
		return -1;
	struct pollfd pfd = {p->fd, POLLIN, 0};
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -1;
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t r = recv(p->fd, p->in + p->inlen, sizeof(p->in) - p->inlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			p->eof = true;
			return 0;
		}
		p->inlen += (size_t)r;
		return 1;
	}
}

static int send_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = {fd, POLLOUT, 0};
		int pr = poll(&pfd, 1, (int)timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Waits for the client to close; bytes that come first are an error (unless ignore). 0 / -1. */
static int await_eof(struct peer *p, const char *who, bool ignore)
{
	for (;;) {
		if (p->inlen > 0 && !ignore) {
			char shown[512];
			escape_for_log(p->in, p->inlen < 120 ? p->inlen : 120, shown,
			               sizeof(shown));
			logf_("%s: the client sent %zu byte(s) after the script's end: \"%s\"", who,
			      p->inlen, shown);
			return -1;
		}
		p->inlen = 0;
		if (p->eof)
			return 0;
		int f = fill(p);
		if (f < 0) {
			logf_("%s: the client did not close the connection within %ld ms", who,
			      timeout_ms);
			return -1;
		}
	}
}

/* Plays block b on fd. Returns 0 when it ran as written. */
static int play(const struct block *b, size_t index, int fd)
{
	char who[200];
	snprintf(who, sizeof(who), "connection %zu (%s)", index + 1, b->label);
	struct peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	p->fd = fd;
	int rc = 0;
	bool closed = false;
	for (size_t i = 0; i < b->nsteps && rc == 0 && !closed; i++) {
		const struct step *st = &b->steps[i];
		switch (st->kind) {
		case STEP_SEND:
			if (send_all(fd, st->data, st->len) != 0) {
				logf_("%s: line %d: could not send (client gone?)", who,
				      st->src_line);
				rc = -1;
			}
			break;
		case STEP_EXPECT: {
			unsigned char *lf;
			while ((lf = memchr(p->in, '\n', p->inlen)) == NULL) {
				int f = fill(p);
				if (f <= 0) {
					logf_("%s: line %d: expected a client line matching /%s/, "
					      "got %s",
					      who, st->src_line, st->data,
					      f == 0 ? "EOF"
					             : "nothing (timeout or line too long)");
					rc = -1;
					break;
				}
			}
			if (rc != 0)
				break;
			size_t take = (size_t)(lf - p->in) + 1, n = take - 1;
			if (n > 0 && p->in[n - 1] == '\r')
				n--;
			char *text = malloc(n + 1);
			if (text == NULL) {
				rc = -1;
				break;
			}
			memcpy(text, p->in, n);
			text[n] = '\0';
			bool nul = memchr(p->in, '\0', n) != NULL;
			memmove(p->in, p->in + take, p->inlen - take);
			p->inlen -= take;
			if (nul || regexec(&st->re, text, 0, NULL, 0) != 0) {
				char shown[1024];
				escape_for_log((const unsigned char *)text, n < 200 ? n : 200,
				               shown, sizeof(shown));
				logf_(
				    "%s: line %d: expected a client line matching /%s/, got \"%s\"",
				    who, st->src_line, st->data, shown);
				rc = -1;
			}
			free(text);
			break;
		}
		case STEP_SLEEP: {
			struct timespec ts = {(time_t)(st->ms / 1000), (st->ms % 1000) * 1000000L};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
			break;
		}
		case STEP_CLOSE:
			shutdown(fd, SHUT_WR);
			rc = await_eof(p, who, true);
			closed = true;
			break;
		case STEP_RST: {
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			closed = true;
			break;
		}
		case STEP_IGNORE:
			rc = await_eof(p, who, true);
			closed = true;
			break;
		case STEP_COUNT: break;
		}
	}
	if (rc == 0 && !closed)
		rc = await_eof(p, who, false);
	close(fd);
	free(p);
	if (rc == 0)
		logf_("%s: played to the end", who);
	return rc;
}

/* ---- the server ---- */

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
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

static const char usage_text[] =
    "usage: canned_server --script server.txt [--port-file FILE] [--log FILE] [--timeout MS]\n"
    "                     [--lifetime SEC]\n";

int main(int argc, char **argv)
{
	const char *script = NULL, *port_file = NULL, *log_path = NULL;
	long lifetime = 120;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (v == NULL) {
			fputs(usage_text, stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--script") == 0)
			script = v;
		else if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--log") == 0)
			log_path = v;
		else if (strcmp(a, "--timeout") == 0) {
			if (parse_long(v, 1, 600000, &timeout_ms) != 0) {
				fputs("canned_server: --timeout expects 1..600000\n", stderr);
				return 2;
			}
		} else if (strcmp(a, "--lifetime") == 0) {
			if (parse_long(v, 1, 3600, &lifetime) != 0) {
				fputs("canned_server: --lifetime expects 1..3600\n", stderr);
				return 2;
			}
		} else {
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (script == NULL) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (log_path != NULL) {
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			fprintf(stderr, "canned_server: %s: %s\n", log_path, strerror(errno));
			return 2;
		}
	}
	if (load_script(script) != 0)
		return 2;

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t slen = sizeof(sin);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) != 0) {
		logf_("canned_server: listen: %s", strerror(errno));
		return 2;
	}
	int port = ntohs(sin.sin_port);
	printf("%d\n", port);
	fflush(stdout);
	if (port_file != NULL && write_port_file(port_file, port) != 0) {
		logf_("canned_server: %s: %s", port_file, strerror(errno));
		return 2;
	}

	pid_t self = getpid(), parent = getppid();
	pid_t pids[MAX_BLOCKS];
	size_t started = 0;
	bool failed = false;
	int64_t end = now_ms() + lifetime * 1000;
	while (!stop_flag && now_ms() < end && getppid() == parent) {
		struct pollfd pfd = {lfd, POLLIN, 0};
		int64_t left = end - now_ms();
		if (poll(&pfd, 1, left < 250 ? (int)left : 250) <= 0)
			continue;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (started == nblocks) {
			logf_("connection %zu: unexpected (server.txt scripts %zu connection(s)); "
			      "closed",
			      started + 1, nblocks);
			failed = true;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		size_t idx = started++;
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(1);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			alarm((unsigned)((end - now_ms()) / 1000 + 1));
			_exit(play(&blocks[idx], idx, fd) == 0 ? 0 : 1);
		}
		pids[idx] = pid;
		close(fd);
		if (pid < 0) {
			logf_("connection %zu: fork failed", idx + 1);
			failed = true;
		}
	}
	close(lfd);
	/* children see EOF once the harness is gone; give them a bounded grace period */
	int64_t grace_end = now_ms() + 5000;
	for (size_t i = 0; i < started; i++) {
		if (pids[i] <= 0)
			continue;
		int st = 0;
		while (waitpid(pids[i], &st, WNOHANG) == 0) {
			if (now_ms() >= grace_end) {
				logf_("connection %zu (%s): still playing at shutdown; killed",
				      i + 1, blocks[i].label);
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &st, 0);
				st = -1;
				break;
			}
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, NULL);
		}
		if (st != 0)
			failed = true;
	}
	for (size_t i = started; i < nblocks; i++) {
		logf_("connection %zu (%s, server.txt line %d): never made", i + 1, blocks[i].label,
		      blocks[i].src_line);
		failed = true;
	}
	if (port_file != NULL)
		unlink(port_file);
	logf_("canned_server: %s", failed ? "FAILED" : "all connections played as scripted");
	return failed ? 1 : 0;
}

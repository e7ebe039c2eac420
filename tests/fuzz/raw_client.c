/* raw_client.c: the benchmark's baseline: a minimal SMTP client that replays one dialogue file
   (send / reply records, the escapes of docs/FUZZING.md) in a loop as fast as it can: connect,
   read the greeting, send each record, read a whole reply (lines up to "NNN ") where one is due,
   close. No engine, no judging, no mutation: what `mailharness fuzz` is compared with.

   Usage: raw_client --port N [--host ADDR] --dialogue FILE|DIR [--dialogue ...]
                     (--count N | --time S)
   Several dialogues (or directories of them: every regular file) are replayed in turn;
   dialogues with a "tls" record are skipped. Prints dialogues/s and replies/s. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_RECS 4096
#define MAX_DLGS 4096

struct rec {
	bool send;
	unsigned char *data;
	size_t len;
};

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

static size_t load(const char *path, struct rec *r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return 0;
	}
	static char line[1 << 20];
	size_t n = 0;
	while (n < MAX_RECS && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, "tls") == 0) {
			fclose(f);
			return 0;
		}
		if (strncmp(line, "reply", 5) == 0) {
			r[n++] = (struct rec){false, NULL, 0};
		} else if (strncmp(line, "send", 4) == 0) {
			const char *s = line[4] == ' ' ? line + 5 : line + 4;
			unsigned char *d = malloc(strlen(s) + 1);
			size_t k = 0;
			for (size_t i = 0; s[i] != '\0'; i++) {
				if (s[i] != '\\' || s[i + 1] == '\0') {
					d[k++] = (unsigned char)s[i];
					continue;
				}
				char e = s[++i];
				if (e == 'x' && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
					d[k++] = (unsigned char)(hexval(s[i + 1]) * 16 +
					                         hexval(s[i + 2]));
					i += 2;
				} else {
					d[k++] = e == 'r'   ? '\r'
					         : e == 'n' ? '\n'
					         : e == 't' ? '\t'
					         : e == '0' ? '\0'
					                    : (unsigned char)e;
				}
			}
			r[n++] = (struct rec){true, d, k};
		}
	}
	fclose(f);
	return n;
}

/* Reads one whole SMTP reply (the last line is "NNN " or "NNN\r\n"). 0 / -1. */
static int read_reply(int fd, char *buf, size_t cap, size_t *have)
{
	for (;;) {
		char *p = buf;
		while (p < buf + *have) {
			char *lf = memchr(p, '\n', (size_t)(buf + *have - p));
			if (lf == NULL)
				break;
			bool last = lf - p >= 3 && (lf - p == 3 || p[3] == ' ' || p[3] == '\r');
			p = lf + 1;
			if (last) {
				memmove(buf, p, (size_t)(buf + *have - p));
				*have -= (size_t)(p - buf);
				return 0;
			}
		}
		if (*have == cap)
			*have = 0;
		ssize_t r = read(fd, buf + *have, cap - *have);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct dlg {
	struct rec *recs;
	size_t n;
};

static void add_path(const char *path, struct dlg *d, size_t *nd)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *e;
		while (dir != NULL && (e = readdir(dir)) != NULL && *nd < MAX_DLGS) {
			char p[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			add_path(p, d, nd);
		}
		if (dir != NULL)
			closedir(dir);
		return;
	}
	struct rec *r = calloc(MAX_RECS, sizeof(*r));
	size_t n = load(path, r);
	if (n == 0) {
		free(r);
		return;
	}
	d[*nd].recs = r;
	d[*nd].n = n;
	(*nd)++;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	long port = 0, count = 0;
	double secs = 0;
	static struct dlg dl[MAX_DLGS];
	size_t nd = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--host") == 0)
			host = argv[i + 1];
		else if (strcmp(argv[i], "--dialogue") == 0)
			add_path(argv[i + 1], dl, &nd);
		else if (strcmp(argv[i], "--count") == 0)
			count = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--time") == 0)
			secs = strtod(argv[i + 1], NULL);
	}
	if (port <= 0 || nd == 0 || (count <= 0 && secs <= 0)) {
		fprintf(stderr, "usage: raw_client --port N [--host ADDR] --dialogue FILE|DIR ... "
		                "(--count N | --time S)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &sa.sin_addr);
	static char buf[65536];
	double t0 = now_s();
	long done = 0, failed = 0, replies = 0;
	while ((count > 0 && done < count) || (secs > 0 && now_s() - t0 < secs)) {
		const struct dlg *d = &dl[(size_t)done % nd];
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct timeval tv = {1,
		                     0}; /* a reply that does not come: give up on the dialogue */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		size_t have = 0;
		bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		          read_reply(fd, buf, sizeof(buf), &have) == 0;
		replies += ok;
		for (size_t i = 0; ok && i < d->n; i++) {
			if (d->recs[i].send) {
				ok = write(fd, d->recs[i].data, d->recs[i].len) ==
				     (ssize_t)d->recs[i].len;
			} else {
				ok = read_reply(fd, buf, sizeof(buf), &have) == 0;
				replies += ok;
			}
		}
		close(fd);
		done++;
		failed += !ok;
	}
	double el = now_s() - t0;
	printf("raw_client: %ld dialogues in %.2f s: %.1f dialogues/s, %.1f replies/s "
	       "(%zu distinct, %ld cut short)\n",
	       done, el, el > 0 ? (double)done / el : 0.0, el > 0 ? (double)replies / el : 0.0, nd,
	       failed);
	return 0;
}

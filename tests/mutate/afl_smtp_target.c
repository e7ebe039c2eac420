/* afl_smtp_target.c: a tiny desocketed SMTP server for the custom mutator's afl-fuzz test. It
   reads the client's byte stream from a file (argv[1]) or stdin, runs it through a small SMTP
   state machine (EHLO, MAIL, RCPT, DATA, BDAT, AUTH, STARTTLS, RSET, NOOP, VRFY, QUIT) and
   writes its replies to /dev/null. Built with afl-clang-fast, in persistent mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TARGET_MAX (1u << 20)

enum state { ST_INIT, ST_READY, ST_MAIL, ST_RCPT, ST_DATA, ST_AUTH, ST_QUIT };

static FILE *out;

static void reply(const char *s)
{
	fputs(s, out);
}

/* Whether line starts with the word w (case-insensitive) followed by the end or a space. */
static int verb(const char *line, const char *w)
{
	size_t n = strlen(w);
	return strncasecmp(line, w, n) == 0 && (line[n] == '\0' || line[n] == ' ');
}

/* Handles one command line (without its line end); a BDAT skips its payload (*i up to n). */
static enum state command(enum state st, const char *line, size_t n, size_t *i, int *rcpts,
                          int *tls)
{
	if (verb(line, "EHLO") || verb(line, "HELO")) {
		reply(line[4] == ' ' ? "250-target\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
		                     : "501 domain\r\n");
		return line[4] == ' ' ? ST_READY : st;
	}
	if (verb(line, "MAIL")) {
		if (st == ST_INIT)
			return reply("503 EHLO first\r\n"), st;
		const char *lt = strchr(line, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		if (strncasecmp(line + 5, "FROM:", 5) != 0 || gt == NULL)
			return reply("501 syntax\r\n"), st;
		const char *size = strstr(gt, "SIZE=");
		if (size != NULL && strtoul(size + 5, NULL, 10) > 10000000)
			return reply("552 too big\r\n"), st;
		*rcpts = 0;
		return reply("250 ok\r\n"), ST_MAIL;
	}
	if (verb(line, "RCPT")) {
		if (st != ST_MAIL && st != ST_RCPT)
			return reply("503 MAIL first\r\n"), st;
		if (strncasecmp(line + 5, "TO:<", 4) != 0)
			return reply("501 syntax\r\n"), st;
		if (++*rcpts > 50)
			return reply("452 too many\r\n"), st;
		return reply("250 ok\r\n"), ST_RCPT;
	}
	if (verb(line, "DATA")) {
		if (st != ST_RCPT)
			return reply("503 RCPT first\r\n"), st;
		return reply("354 go\r\n"), ST_DATA;
	}
	if (verb(line, "BDAT")) {
		char *end;
		unsigned long size = strtoul(line + 4, &end, 10);
		if (end == line + 4 || st < ST_MAIL)
			return reply("503 or 501\r\n"), st;
		*i += size < n - *i ? size : n - *i;
		if (strstr(end, "LAST") != NULL)
			return reply("250 queued\r\n"), ST_READY;
		return reply("250 chunk\r\n"), st;
	}
	if (verb(line, "AUTH")) {
		if (strchr(line + 5, ' ') != NULL)
			return reply("235 ok\r\n"), st;
		return reply("334 \r\n"), ST_AUTH;
	}
	if (verb(line, "STARTTLS")) {
		if (*tls)
			return reply("503 already\r\n"), st;
		*tls = 1;
		return reply("220 go ahead\r\n"), ST_INIT;
	}
	if (verb(line, "RSET"))
		return reply("250 ok\r\n"), st == ST_INIT ? ST_INIT : ST_READY;
	if (verb(line, "NOOP"))
		return reply("250 ok\r\n"), st;
	if (verb(line, "VRFY"))
		return reply("252 maybe\r\n"), st;
	if (verb(line, "QUIT"))
		return reply("221 bye\r\n"), ST_QUIT;
	reply("500 unknown\r\n");
	return st;
}

static void session(const unsigned char *p, size_t n)
{
	enum state st = ST_INIT;
	int rcpts = 0, tls = 0;
	char line[1024];
	size_t i = 0;
	reply("220 target ESMTP\r\n");
	while (i < n && st != ST_QUIT) {
		const unsigned char *lf = memchr(p + i, '\n', n - i);
		size_t end = lf != NULL ? (size_t)(lf - p) : n;
		size_t len = end - i;
		if (len > 0 && p[i + len - 1] == '\r')
			len--;
		if (len >= sizeof(line)) {
			reply("500 line too long\r\n");
			i = end + 1;
			continue;
		}
		memcpy(line, p + i, len);
		line[len] = '\0';
		i = lf != NULL ? end + 1 : n;
		if (st == ST_DATA) {
			if (strcmp(line, ".") == 0) {
				reply("250 queued\r\n");
				st = ST_READY;
			}
			continue;
		}
		if (st == ST_AUTH) {
			reply(strcmp(line, "*") == 0 ? "501 cancelled\r\n" : "235 ok\r\n");
			st = ST_READY;
			continue;
		}
		st = command(st, line, n, &i, &rcpts, &tls);
	}
}

static size_t read_input(const char *path, unsigned char *buf)
{
	FILE *f = path != NULL ? fopen(path, "rb") : stdin;
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, TARGET_MAX, f);
	if (f != stdin)
		fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	static unsigned char buf[TARGET_MAX];
	out = fopen("/dev/null", "w");
	if (out == NULL)
		return 1;
#ifdef __AFL_HAVE_MANUAL_CONTROL
	__AFL_INIT();
	while (__AFL_LOOP(10000)) {
		session(buf, read_input(argc > 1 ? argv[1] : NULL, buf));
		fflush(out);
	}
#else
	session(buf, read_input(argc > 1 ? argv[1] : NULL, buf));
#endif
	fclose(out);
	return 0;
}

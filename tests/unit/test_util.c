/* test_util.c: table-driven tests of util.c (buffers, errors, numbers, strings, escaping, files,
 * time). */
#include "util.h"
#include "tap.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct uint_row {
	const char *s;
	unsigned long long min, max;
	int rc;
	unsigned long long v;
};

static const struct uint_row uint_rows[] = {
    {"0", 0, 10, 0, 0},
    {"10", 0, 10, 0, 10},
    {"11", 0, 10, -1, 0},
    {"5", 6, 10, -1, 0},
    {"", 0, 10, -1, 0},
    {"-1", 0, 10, -1, 0},
    {" 1", 0, 10, -1, 0},
    {"1 ", 0, 10, -1, 0},
    {"+1", 0, 10, -1, 0},
    {"1x", 0, 10, -1, 0},
    {"18446744073709551615", 0, ~0ULL, 0, ~0ULL},
    {"18446744073709551616", 0, ~0ULL, -1, 0},
    {"007", 0, 10, 0, 7},
    {NULL, 0, 10, -1, 0},
};

struct glob_row {
	const char *pattern, *s;
	bool match;
};

static const struct glob_row glob_rows[] = {
    {"*", "", true},
    {"*", "smtp.ehlo", true},
    {"smtp.*", "smtp.ehlo", true},
    {"smtp.*", "imap.login", false},
    {"s?tp.*", "smtp.x", true},
    {"*.ehlo", "smtp.ehlo", true},
    {"*.ehlo", "smtp.ehlox", false},
    {"a*b*c", "aXXbYYc", true},
    {"a*b*c", "aXXbYY", false},
    {"", "", true},
    {"", "a", false},
    {"abc", "abc", true},
    {"a**", "a", true},
    {"?", "", false},
    {"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaa", false},
};

struct case_row {
	const char *a, *b;
	bool eq;
};

static const struct case_row case_rows[] = {
    {"EHLO", "ehlo", true}, {"EHLO", "ehl", false}, {"", "", true},
    {"a", "", false},       {"[", "{", false},      {"@", "`", false},
    {"Z", "z", true},       {NULL, NULL, true},     {NULL, "a", false},
};

struct esc_row {
	const char *in;
	size_t len, max;
	const char *want;
};

static const struct esc_row esc_rows[] = {
    {"abc", 3, 100, "abc"},
    {"a\r\nb", 4, 100, "a\\r\\nb"},
    {"\t\\", 2, 100, "\\t\\\\"},
    {"\0\x01\x7f\xff", 4, 100, "\\0\\x01\\x7f\\xff"},
    {"abcdef", 6, 3, "abc...(3 more bytes)"},
    {"", 0, 10, ""},
};

static void test_buf(void)
{
	struct mh_buf b;
	mh_buf_init(&b);
	tap_ok(strcmp(mh_buf_cstr(&b), "") == 0 && b.len == 0, "empty buffer reads as \"\"");
	mh_buf_append(&b, "hello", 5);
	mh_buf_append_str(&b, " world");
	mh_buf_printf(&b, " %d-%s", 42, "x");
	tap_ok(tap_streq(mh_buf_cstr(&b), "hello world 42-x", "buf"), "append/printf");
	tap_ok(b.data[b.len] == '\0', "NUL-terminated after len");
	mh_buf_consume(&b, 6);
	tap_ok(tap_streq(mh_buf_cstr(&b), "world 42-x", "consume"), "consume drops a prefix");
	mh_buf_consume(&b, 1000);
	tap_ok(b.len == 0 && mh_buf_cstr(&b)[0] == '\0', "consume past the end empties");
	for (int i = 0; i < 10000; i++)
		mh_buf_append(&b, "0123456789", 10);
	tap_ok(b.len == 100000 && b.cap > b.len, "grows to 100000 bytes");
	mh_buf_reset(&b);
	tap_ok(b.len == 0 && b.cap > 0 && b.data[0] == '\0', "reset keeps the allocation");
	mh_buf_printf(&b, "%s", "");
	tap_ok(b.len == 0, "empty printf appends nothing");
	mh_buf_deinit(&b);
	tap_ok(b.data == NULL && b.len == 0 && b.cap == 0, "deinit clears");
}

static void test_error(void)
{
	struct mh_error e;
	mh_error_init(&e);
	tap_ok(!e.set && e.msg[0] == '\0', "fresh error is unset");
	mh_error_set(&e, "first %d", 1);
	mh_error_set(&e, "second %d", 2);
	tap_ok(e.set && tap_streq(e.msg, "first 1", "error"), "the first error wins");
	mh_error_set(NULL, "ignored");
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mh_error_init(&e);
	mh_error_set(&e, "%s", big);
	tap_ok(strlen(e.msg) == sizeof(e.msg) - 1, "long messages are truncated");
}

static void test_tables(void)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(uint_rows); i++) {
		const struct uint_row *u = &uint_rows[i];
		unsigned long long v = 12345;
		int rc = mh_parse_uint(u->s, u->min, u->max, &v);
		tap_ok(rc == u->rc && (rc != 0 || v == u->v),
		       "parse_uint row %zu (\"%s\"): rc %d v %llu", i, u->s ? u->s : "(null)", rc,
		       v);
	}
	for (size_t i = 0; i < MH_ARRAY_SIZE(glob_rows); i++) {
		const struct glob_row *g = &glob_rows[i];
		bool m = mh_glob_match(g->pattern, g->s);
		tap_ok(m == g->match, "glob row %zu: \"%s\" vs \"%s\" -> %d", i, g->pattern, g->s,
		       m);
	}
	for (size_t i = 0; i < MH_ARRAY_SIZE(case_rows); i++) {
		const struct case_row *c = &case_rows[i];
		bool eq = mh_strcaseeq(c->a, c->b);
		tap_ok(eq == c->eq, "strcaseeq row %zu -> %d", i, eq);
	}
	tap_ok(mh_strncaseeq("HELLO world", "hello WORLD!", 11) && !mh_strncaseeq("ab", "ac", 2) &&
	           mh_strncaseeq("ab", "ab", 5),
	       "strncaseeq");
	for (size_t i = 0; i < MH_ARRAY_SIZE(esc_rows); i++) {
		const struct esc_row *e = &esc_rows[i];
		struct mh_buf b;
		mh_buf_init(&b);
		mh_buf_append_escaped(&b, (const unsigned char *)e->in, e->len, e->max);
		char what[32];
		snprintf(what, sizeof(what), "escape row %zu", i);
		tap_ok(tap_streq(mh_buf_cstr(&b), e->want, what), "%s", what);
		mh_buf_deinit(&b);
	}
}

static void test_strings_and_time(void)
{
	char *s = mh_strndup("abcdef", 3);
	tap_ok(tap_streq(s, "abc", "strndup"), "strndup copies n bytes");
	free(s);
	tap_ok(mh_strdup(NULL) == NULL, "strdup(NULL) is NULL");
	char t[40];
	mh_time_rfc3339(t, sizeof(t), 1795245480123LL);
	tap_ok(tap_streq(t, "2026-11-21T07:18:00.123Z", "rfc3339"), "rfc3339 formatting");
	mh_time_rfc3339(t, sizeof(t), 0);
	tap_ok(tap_streq(t, "1970-01-01T00:00:00.000Z", "rfc3339 epoch"), "rfc3339 epoch");
	int64_t a = mh_now_ms(), b = mh_now_ms();
	tap_ok(b >= a && mh_wall_ms() > 1600000000000LL, "clocks move forward");
	void *p = mh_calloc(0, 0);
	p = mh_realloc(p, 10);
	free(mh_malloc(0));
	free(p);
	tap_ok(1, "zero-size allocations succeed");
}

static void test_files(void)
{
	char dir[] = "/tmp/mh_test_util_XXXXXX";
	if (mkdtemp(dir) == NULL) {
		tap_ok(0, "mkdtemp");
		return;
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	struct mh_error err;
	mh_error_init(&err);
	static const char data[] = "line1\r\nline2\0binary";
	int rc = mh_write_file_atomic(path, data, sizeof(data) - 1, &err);
	tap_ok(rc == 0, "atomic write (%s)", err.msg);
	size_t len = 0;
	char *back = mh_read_file(path, 1000, &len, &err);
	tap_ok(back != NULL && len == sizeof(data) - 1 && memcmp(back, data, len) == 0 &&
	           back[len] == '\0',
	       "read back the same bytes");
	free(back);
	mh_error_init(&err);
	back = mh_read_file(path, 5, &len, &err);
	tap_ok(back == NULL && err.set && strstr(err.msg, "larger than 5 bytes") != NULL,
	       "read cap: %s", err.msg);
	mh_error_init(&err);
	tap_ok(mh_write_file_atomic(path, "", 0, &err) == 0, "empty write");
	back = mh_read_file(path, 10, &len, &err);
	tap_ok(back != NULL && len == 0 && back[0] == '\0', "empty file reads as \"\"");
	free(back);
	unlink(path);
	mh_error_init(&err);
	back = mh_read_file(path, 10, &len, &err);
	tap_ok(back == NULL && err.set, "missing file is an error: %s", err.msg);
	mh_error_init(&err);
	snprintf(path, sizeof(path), "%s/no/such/dir/x", dir);
	tap_ok(mh_write_file_atomic(path, "x", 1, &err) == -1 && err.set,
	       "write into a missing dir fails");
	rmdir(dir);
}

/* Lists the names in dir other than "." and "..", comma-separated, in readdir order. */
static void dir_entries(const char *dir, char *out, size_t outlen)
{
	out[0] = '\0';
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	size_t used = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int k = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", e->d_name);
		if (k < 0 || (size_t)k >= outlen - used)
			break;
		used += (size_t)k;
	}
	closedir(d);
}

/* Whether the file at path holds exactly the n bytes of want. */
static bool file_is(const char *path, const void *want, size_t n)
{
	struct mh_error err;
	mh_error_init(&err);
	size_t len = 0;
	char *back = mh_read_file(path, 1 << 20, &len, &err);
	bool ok = back != NULL && len == n && memcmp(back, want, n) == 0 && back[len] == '\0';
	free(back);
	return ok;
}

struct atomic_row {
	const char *tmp_prefix;
	bool no_sync;
	const char *data;
};

static const struct atomic_row atomic_rows[] = {
    {NULL, false, "default: <path>.tmp.<pid>, fsynced"},
    {".tmp.", false, "findings: <dir>/.tmp.<name>, fsynced"},
    {".tmp.", true, "findings queue/stats: <dir>/.tmp.<name>, no fsync"},
    {NULL, true, ""},
};

/* Writes into a directory the process cannot write to; returns whether it failed as it must
   (-1, the target path in the message). Run as root, the check happens in a child that drops
   to nobody (root writes anywhere); *skipped_r is set if that is impossible. */
static bool unwritable_dir_fails(const char *dir, char *msg, size_t msglen, bool *skipped_r)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	*skipped_r = false;
	msg[0] = '\0';
	if (chmod(dir, 0555) != 0)
		return false;
	int pfd[2];
	if (pipe(pfd) != 0)
		return false;
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		close(pfd[0]);
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		struct mh_error err;
		mh_error_init(&err);
		int rc = mh_write_file_atomic(path, "x", 1, &err);
		ssize_t w = write(pfd[1], err.msg, strlen(err.msg));
		(void)w;
		_exit(rc == -1 && err.set && strstr(err.msg, path) != NULL ? 0 : 1);
	}
	close(pfd[1]);
	ssize_t r = read(pfd[0], msg, msglen - 1);
	msg[r > 0 ? r : 0] = '\0';
	close(pfd[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	chmod(dir, 0700);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
		*skipped_r = true;
		return true;
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_atomic_write(void)
{
	char dir[] = "/tmp/mh_test_atomic_XXXXXX";
	if (mkdtemp(dir) == NULL) {
		tap_ok(0, "mkdtemp");
		return;
	}
	char path[128], names[512];
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	for (size_t i = 0; i < MH_ARRAY_SIZE(atomic_rows); i++) {
		const struct atomic_row *r = &atomic_rows[i];
		const struct mh_write_opts o = {.tmp_prefix = r->tmp_prefix, .no_sync = r->no_sync};
		struct mh_error err;
		mh_error_init(&err);
		int rc = mh_write_file_atomic_opts(path, r->data, strlen(r->data), &o, &err);
		tap_ok(rc == 0 && file_is(path, r->data, strlen(r->data)),
		       "atomic row %zu: content (%s)", i, err.msg);
		dir_entries(dir, names, sizeof(names));
		tap_ok(tap_streq(names, "out.bin", "entries"), "atomic row %zu: no temp file left",
		       i);
	}
	/* a failed rename (the target is a directory) leaves no temp file either */
	char sub[160];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	mkdir(sub, 0755);
	for (int prefixed = 0; prefixed < 2; prefixed++) {
		const struct mh_write_opts o = {.tmp_prefix = prefixed ? ".tmp." : NULL};
		struct mh_error err;
		mh_error_init(&err);
		int rc = mh_write_file_atomic_opts(sub, "x", 1, &o, &err);
		dir_entries(dir, names, sizeof(names));
		tap_ok(rc == -1 && strstr(err.msg, sub) != NULL &&
		           (strcmp(names, "out.bin,sub") == 0 || strcmp(names, "sub,out.bin") == 0),
		       "rename onto a directory fails cleanly (prefix %d): %s; left %s", prefixed,
		       err.msg, names);
	}
	rmdir(sub);
	unlink(path);
	char msg[600];
	bool skipped;
	bool ok = unwritable_dir_fails(dir, msg, sizeof(msg), &skipped);
	if (skipped)
		tap_diag("root and cannot drop to nobody: unwritable directory not checked");
	tap_ok(ok, "unwritable directory: -1 naming the path: %s", msg);
	dir_entries(dir, names, sizeof(names));
	tap_ok(tap_streq(names, "", "entries"), "unwritable directory: nothing left behind");
	tap_ok(mh_fsync_dir(dir) == 0, "fsync of a directory");
	tap_ok(mh_fsync_dir("/nonexistent/mh") == -1, "fsync of a missing directory fails");
	rmdir(dir);
}

int main(void)
{
	test_buf();
	test_error();
	test_tables();
	test_strings_and_time();
	test_files();
	test_atomic_write();
	return tap_done();
}

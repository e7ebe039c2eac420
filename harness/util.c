/* util.c: buffers, errors, time, number parsing, escaping and atomic file writes. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t n)
{
	fprintf(stderr, "mailharness: out of memory allocating %zu bytes\n", n);
	abort();
}

void *mh_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *mh_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *mh_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *mh_strndup(const char *s, size_t n)
{
	char *p = mh_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *mh_strdup(const char *s)
{
	return s == NULL ? NULL : mh_strndup(s, strlen(s));
}

void mh_buf_init(struct mh_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void mh_buf_deinit(struct mh_buf *b)
{
	free(b->data);
	mh_buf_init(b);
}

static void buf_reserve(struct mh_buf *b, size_t extra)
{
	if (extra > SIZE_MAX / 2 - b->len)
		oom(extra);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = mh_realloc(b->data, cap);
	b->cap = cap;
}

void mh_buf_append(struct mh_buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void mh_buf_append_str(struct mh_buf *b, const char *s)
{
	mh_buf_append(b, s, strlen(s));
}

void mh_buf_printf(struct mh_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0) {
		buf_reserve(b, (size_t)n);
		vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
		b->len += (size_t)n;
	}
	va_end(ap2);
}

void mh_buf_consume(struct mh_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

void mh_buf_reset(struct mh_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

const char *mh_buf_cstr(const struct mh_buf *b)
{
	return b->data != NULL ? (const char *)b->data : "";
}

void mh_error_init(struct mh_error *e)
{
	e->set = false;
	e->msg[0] = '\0';
}

void mh_error_vset(struct mh_error *e, const char *fmt, va_list ap)
{
	if (e == NULL || e->set)
		return;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->set = true;
}

void mh_error_set(struct mh_error *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mh_error_vset(e, fmt, ap);
	va_end(ap);
}

int64_t mh_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mh_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mh_time_rfc3339(char *out, size_t outlen, int64_t wall_ms)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03dZ", base, (int)(wall_ms % 1000));
}

int mh_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *out_r)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out_r = v;
	return 0;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool mh_strncaseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
		if (a[i] == '\0')
			return true;
	}
	return true;
}

bool mh_strcaseeq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	size_t la = strlen(a);
	return la == strlen(b) && mh_strncaseeq(a, b, la);
}

void mh_buf_append_escaped(struct mh_buf *b, const unsigned char *data, size_t n, size_t max)
{
	size_t lim = n < max ? n : max;
	for (size_t i = 0; i < lim; i++) {
		unsigned char c = data[i];
		switch (c) {
		case '\r': mh_buf_append(b, "\\r", 2); break;
		case '\n': mh_buf_append(b, "\\n", 2); break;
		case '\t': mh_buf_append(b, "\\t", 2); break;
		case '\\': mh_buf_append(b, "\\\\", 2); break;
		case '\0': mh_buf_append(b, "\\0", 2); break;
		default:
			if (c < 0x20 || c >= 0x7f)
				mh_buf_printf(b, "\\x%02x", c);
			else
				mh_buf_append(b, &c, 1);
		}
	}
	if (lim < n)
		mh_buf_printf(b, "...(%zu more bytes)", n - lim);
}

bool mh_glob_match(const char *p, const char *s)
{
	/* iterative matcher with single backtrack point: linear in practice, no recursion */
	const char *star = NULL, *ss = NULL;
	while (*s != '\0') {
		if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (*p == '*') {
			star = p++;
			ss = s;
		} else if (star != NULL) {
			p = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int mh_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	if (rc != 0 && saved == EINVAL)
		return 0; /* the file system cannot sync a directory: nothing more to do */
	errno = saved;
	return rc;
}

/* Writes all n bytes to fd. 0 / -1 (errno). */
static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int mh_write_file_atomic_opts(const char *path, const void *data, size_t n,
                              const struct mh_write_opts *o, struct mh_error *err)
{
	static const struct mh_write_opts defaults;
	if (o == NULL)
		o = &defaults;
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash != NULL ? (size_t)(slash - path) : 0; /* "/x": dir "/" */
	const char *base = slash != NULL ? slash + 1 : path;
	char tmp[4096], dir[4096];
	int k = o->tmp_prefix == NULL
	            ? snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid())
	            : snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(base - path), path,
	                       o->tmp_prefix, base);
	if (*base == '\0' || k < 0 || k >= (int)sizeof(tmp)) {
		mh_error_set(err, "%s: %s", path, *base == '\0' ? "no file name" : "path too long");
		return -1;
	}
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", dirlen > 0 ? (int)dirlen : 1, path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		mh_error_set(err, "%s: cannot create %s: %s", path, tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, data, n) != 0) {
		mh_error_set(err, "%s: write %s: %s", path, tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (!o->no_sync && fsync(fd) != 0) {
		mh_error_set(err, "%s: fsync %s: %s", path, tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0) {
		mh_error_set(err, "%s: close %s: %s", path, tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		mh_error_set(err, "rename %s -> %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (!o->no_sync && mh_fsync_dir(dir) != 0) {
		mh_error_set(err, "%s: fsync of directory %s: %s", path, dir, strerror(errno));
		return -1;
	}
	return 0;
}

int mh_write_file_atomic(const char *path, const void *data, size_t n, struct mh_error *err)
{
	return mh_write_file_atomic_opts(path, data, n, NULL, err);
}

char *mh_read_file(const char *path, size_t max, size_t *len_r, struct mh_error *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		mh_error_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct mh_buf b;
	mh_buf_init(&b);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > max) {
			mh_error_set(err, "%s: larger than %zu bytes", path, max);
			fclose(f);
			mh_buf_deinit(&b);
			return NULL;
		}
		mh_buf_append(&b, chunk, n);
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		mh_error_set(err, "%s: read error", path);
		mh_buf_deinit(&b);
		return NULL;
	}
	if (b.data == NULL)
		mh_buf_append(&b, "", 0);
	if (len_r != NULL)
		*len_r = b.len;
	return (char *)b.data;
}

/* util.h: length-carrying buffers, the error struct, monotonic time and small string helpers. */
#ifndef MH_UTIL_H
#define MH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer. Always NUL-terminated after len (data[len] == 0) once allocated. */
struct mh_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

/* Error detail filled by callees; the first error wins (later mh_error_set calls are ignored). */
struct mh_error {
	bool set;
	char msg[512];
};

void mh_buf_init(struct mh_buf *b);
void mh_buf_deinit(struct mh_buf *b);
/* Appends n bytes. Aborts on out-of-memory (the harness cannot go on without memory). */
void mh_buf_append(struct mh_buf *b, const void *data, size_t n);
void mh_buf_append_str(struct mh_buf *b, const char *s);
void mh_buf_printf(struct mh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len). */
void mh_buf_consume(struct mh_buf *b, size_t n);
void mh_buf_reset(struct mh_buf *b);
/* Returns the contents as a NUL-terminated string owned by the buffer (empty string if
 * unallocated). */
const char *mh_buf_cstr(const struct mh_buf *b);

void mh_error_init(struct mh_error *e);
void mh_error_set(struct mh_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mh_error_vset(struct mh_error *e, const char *fmt, va_list ap);

/* Allocation wrappers that abort with a message on out-of-memory. */
void *mh_malloc(size_t n);
void *mh_calloc(size_t n, size_t size);
void *mh_realloc(void *p, size_t n);
char *mh_strdup(const char *s);
char *mh_strndup(const char *s, size_t n);

/* Monotonic milliseconds, and wall-clock time as RFC 3339 UTC ("2026-11-21T07:18:00.123Z"). */
int64_t mh_now_ms(void);
void mh_time_rfc3339(char *out, size_t outlen, int64_t wall_ms);
int64_t mh_wall_ms(void);

/* Parses a decimal unsigned integer of the whole string within [min,max]. Returns 0 or -1. */
int mh_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *out_r);
/* Case-insensitive ASCII compare of n bytes / whole strings. */
bool mh_strcaseeq(const char *a, const char *b);
bool mh_strncaseeq(const char *a, const char *b, size_t n);
/* Appends a printable, escaped rendering of bytes (\r \n \t \0 \xNN) to b; at most max input bytes,
   then "...(N more bytes)". */
void mh_buf_append_escaped(struct mh_buf *b, const unsigned char *data, size_t n, size_t max);
/* fnmatch-style glob over ids ('*', '?'); returns true on match. */
bool mh_glob_match(const char *pattern, const char *s);
/* How mh_write_file_atomic_opts writes; all zero (or a NULL pointer) = mh_write_file_atomic. */
struct mh_write_opts {
	/* NULL: the temp file is "<path>.tmp.<pid>"; else "<dir of path>/<tmp_prefix><file name>"
	   (findings.c uses ".tmp." and removes such leftovers when a campaign resumes). */
	const char *tmp_prefix;
	/* Neither fsync: still atomic for readers and against kill -9, not against power loss. */
	bool no_sync;
};

/* Writes data to path atomically: a temp file in the same directory (mode 0644), fsync of it,
   rename over path, fsync of the directory. 0 / -1 (err, naming path). On -1 the temp file is
   gone; path is either untouched or, when only the directory fsync failed, already replaced (a
   file system that cannot sync directories, EINVAL, is not a failure). */
int mh_write_file_atomic(const char *path, const void *data, size_t n, struct mh_error *err);
/* The same with options (o may be NULL). */
int mh_write_file_atomic_opts(const char *path, const void *data, size_t n,
                              const struct mh_write_opts *o, struct mh_error *err);
/* fsyncs a directory (after a rename or unlink in it). 0, also when the file system answers
   EINVAL (it cannot sync directories); -1 (errno) otherwise. */
int mh_fsync_dir(const char *dir);
/* Reads a whole file up to max bytes into a new NUL-terminated buffer. Returns NULL on error (err).
 */
char *mh_read_file(const char *path, size_t max, size_t *len_r, struct mh_error *err);

#endif

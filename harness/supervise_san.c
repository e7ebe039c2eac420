/* supervise_san.c: AddressSanitizer / UndefinedBehaviorSanitizer reports written by the server
   through log_path=<dir>/log (one file log.<pid> per reporting process): collecting finished
   ones, their SUMMARY line, and a hash of the top frames in the project's own code so that the
   same bug reached by different dialogues is one finding. */
#include "supervise_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPORT_MAX (1u << 20) /* bytes read of one report */

void mh_sup_san_options(const char *inherited, const char *dir, bool asan, bool detect_leaks,
                        struct mh_buf *out)
{
	mh_buf_reset(out);
	if (inherited != NULL && *inherited != '\0') {
		mh_buf_append_str(out, inherited);
		mh_buf_append_str(out, ":");
	}
	mh_buf_printf(out,
	              "log_path=%s/log:abort_on_error=1:halt_on_error=1:exitcode=%d:symbolize=1",
	              dir, MH_SUP_SAN_EXITCODE);
	if (asan)
		mh_buf_printf(out, ":detect_leaks=%d:handle_abort=1:allocator_may_return_null=1",
		              detect_leaks ? 1 : 0);
	else
		mh_buf_append_str(out, ":print_stacktrace=1");
}

/* dir/log.<pid> -> pid if it is a regular file, else 0. The server can write into dir: a FIFO
   there would block the read, a directory would look pending for ever. */
static pid_t report_pid(const char *dir, const char *name)
{
	unsigned long long v;
	if (strncmp(name, "log.", 4) != 0 || mh_parse_uint(name + 4, 1, INT_MAX, &v) != 0)
		return 0;
	char path[4096];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return (pid_t)v;
}

bool mh_sup_san_pending(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return false;
	bool any = false;
	struct dirent *e;
	while (!any && (e = readdir(d)) != NULL)
		any = report_pid(dir, e->d_name) > 0;
	closedir(d);
	return any;
}

static bool process_gone(pid_t pid)
{
	if (kill(pid, 0) != 0)
		return errno == ESRCH;
	/* a zombie counts as gone */
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return rp != NULL && (rp[2] == 'Z' || rp[2] == 'X');
}

size_t mh_sup_san_collect(const char *dir, struct mh_sup_report *reports, size_t max)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while (n < max && (e = readdir(d)) != NULL) {
		pid_t pid = report_pid(dir, e->d_name);
		if (pid <= 0)
			continue;
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		struct mh_error err;
		mh_error_init(&err);
		size_t len = 0;
		char *text = mh_read_file(path, REPORT_MAX, &len, &err);
		if (text == NULL) {
			unlink(path); /* larger than the cap or unreadable: not ours to keep */
			continue;
		}
		bool done = strstr(text, "ABORTING") != NULL || process_gone(pid);
		if (done) {
			mh_buf_reset(&reports[n].text);
			mh_buf_append(&reports[n].text, text, len);
			reports[n].pid = pid;
			n++;
			unlink(path);
		}
		free(text);
	}
	closedir(d);
	return n;
}

/* A frame line "    #3 0x55d1c2 in func /path/file.c:12:5" or "#3 0x55 (/bin/x+0x1234)". */
static bool parse_frame(const char *l, size_t n, char *fn, size_t fnlen, char *loc, size_t loclen)
{
	size_t i = 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i >= n || l[i] != '#')
		return false;
	i++;
	if (i >= n || l[i] < '0' || l[i] > '9')
		return false;
	while (i < n && l[i] != ' ')
		i++;
	while (i < n && l[i] == ' ')
		i++;
	while (i < n && l[i] != ' ') /* the address */
		i++;
	while (i < n && l[i] == ' ')
		i++;
	fn[0] = loc[0] = '\0';
	if (n - i > 3 && strncmp(l + i, "in ", 3) == 0) {
		i += 3;
		size_t s = i;
		while (i < n && l[i] != ' ')
			i++;
		snprintf(fn, fnlen, "%.*s", (int)(i - s), l + s);
		while (i < n && l[i] == ' ')
			i++;
	}
	snprintf(loc, loclen, "%.*s", (int)(n - i), l + i);
	return true;
}

static bool runtime_frame(const char *fn, const char *loc)
{
	static const char *const fn_prefixes[] = {
	    "__interceptor_", "___interceptor_", "__asan",  "__sanitizer",
	    "__ubsan",        "__interception",  "__lsan",  "__libc_",
	    "__GI_",          "_start",          "__wrap_", "__stack_chk_fail",
	    "__fortify_fail", "raise",           "abort",   "__pthread_kill",
	};
	static const char *const loc_parts[] = {
	    "libsanitizer",  "compiler-rt", "/libc.so",
	    "/libasan",      "/libubsan",   "libc-start",
	    "/usr/include/", "/usr/lib/",   "/lib/x86_64-linux-gnu/",
	    "/lib64/",       "sysdeps/",
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(fn_prefixes); i++)
		if (strncmp(fn, fn_prefixes[i], strlen(fn_prefixes[i])) == 0)
			return true;
	for (size_t i = 0; i < MH_ARRAY_SIZE(loc_parts); i++)
		if (strstr(loc, loc_parts[i]) != NULL)
			return true;
	return false;
}

/* n bytes at l contain needle. */
static bool has(const char *l, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(l + i, needle, k) == 0)
			return true;
	return false;
}

bool mh_sup_san_parse(const char *text, size_t len, unsigned nframes, char *summary,
                      size_t summarylen, char hash[17], char *frames, size_t frameslen)
{
	summary[0] = hash[0] = frames[0] = '\0';
	if (nframes == 0)
		nframes = 3;
	bool is_report = false, in_stack = false, stack_done = false;
	unsigned used = 0;
	uint64_t h = 1469598103934665603ull;
	size_t fl = 0;
	char first_error[256] = "";
	for (size_t pos = 0; pos < len;) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - l) : len - pos;
		pos += n + (nl != NULL);
		if (has(l, n, "ERROR: AddressSanitizer") || has(l, n, "ERROR: LeakSanitizer"))
			is_report = true;
		if (has(l, n, "runtime error:")) {
			is_report = true;
			if (first_error[0] == '\0')
				snprintf(first_error, sizeof(first_error), "%.*s", (int)n, l);
		}
		if (n > 8 && strncmp(l, "SUMMARY:", 8) == 0) {
			is_report = true;
			snprintf(summary, summarylen, "%.*s", (int)n, l);
			continue;
		}
		if (first_error[0] == '\0' && n > 7 && has(l, n, "ERROR: "))
			snprintf(first_error, sizeof(first_error), "%.*s", (int)n, l);
		char fn[256], loc[512];
		if (!stack_done && parse_frame(l, n, fn, sizeof(fn), loc, sizeof(loc))) {
			in_stack = true;
			if (used >= nframes || runtime_frame(fn, loc))
				continue;
			/* hash the function and the file's base name, not addresses or lines */
			const char *file = loc;
			const char *colon = strchr(file, ':');
			size_t filelen = colon != NULL ? (size_t)(colon - file) : strlen(file);
			const char *slash = NULL;
			for (size_t i = 0; i < filelen; i++)
				if (file[i] == '/')
					slash = file + i;
			if (slash != NULL) {
				filelen -= (size_t)(slash + 1 - file);
				file = slash + 1;
			}
			if (fn[0] != '\0') {
				for (const char *p = fn; *p; p++)
					h = (h ^ (unsigned char)*p) * 1099511628211ull;
			} else {
				/* unsymbolized: module+offset */
				for (const char *p = loc; *p; p++)
					h = (h ^ (unsigned char)*p) * 1099511628211ull;
			}
			h = (h ^ '|') * 1099511628211ull;
			for (size_t i = 0; i < filelen && fn[0] != '\0'; i++)
				h = (h ^ (unsigned char)file[i]) * 1099511628211ull;
			if (fl + 4 < frameslen) {
				int w = snprintf(frames + fl, frameslen - fl, "%s%s %s",
				                 used > 0 ? " | " : "", fn[0] ? fn : "?", loc);
				fl = w > 0 && (size_t)w < frameslen - fl ? fl + (size_t)w
				                                         : frameslen - 1;
			}
			used++;
		} else if (in_stack && n == 0) {
			stack_done = true; /* only the first stack: where it happened */
		}
	}
	if (summary[0] == '\0' && first_error[0] != '\0')
		snprintf(summary, summarylen, "%s", first_error);
	if (used > 0)
		snprintf(hash, 17, "%016llx", (unsigned long long)h);
	return is_report;
}

/* test_afl_api.c: the AFL++ custom mutator library's contract, without afl-fuzz: dlopen()s it
   as afl-fuzz does (RTLD_NOW), checks init's refusals of bad settings, that afl_custom_fuzz
   always hands back a valid buffer within max_size, reuses it, is deterministic per seed, and
   that describe fits the room afl-fuzz gives it. Usage: test_afl_api LIBRARY SPECS_DIR */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

typedef void *(*init_fn)(void *afl, unsigned int seed);
typedef size_t (*fuzz_fn)(void *data, unsigned char *buf, size_t buf_size, unsigned char **out_buf,
                          unsigned char *add_buf, size_t add_buf_size, size_t max_size);
typedef const char *(*describe_fn)(void *data, size_t max_description_len);
typedef void (*deinit_fn)(void *data);

static init_fn init;
static fuzz_fn fuzz;
static describe_fn describe;
static deinit_fn deinit;

static void setenv_or_unset(const char *k, const char *v)
{
	if (v != NULL)
		setenv(k, v, 1);
	else
		unsetenv(k);
}

struct env_row {
	const char *proto, *spec, *dict, *ops, *stack;
	bool ok;
};

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_afl_api LIBRARY SPECS_DIR\n");
		return 2;
	}
	if (argv[1][0] == '\0') {
		tap_ok(0, "the custom mutator library was not built (MH_BUILD_AFL_MUTATOR=OFF)");
		return tap_done();
	}
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!tap_ok(h != NULL, "dlopen(RTLD_NOW) %s: %s", argv[1], h ? "" : dlerror()))
		return tap_done();
	init = (init_fn)dlsym(h, "afl_custom_init");
	fuzz = (fuzz_fn)dlsym(h, "afl_custom_fuzz");
	describe = (describe_fn)dlsym(h, "afl_custom_describe");
	deinit = (deinit_fn)dlsym(h, "afl_custom_deinit");
	if (!tap_ok(init && fuzz && describe && deinit, "the four entry points are exported"))
		return tap_done();

	char smtp_spec[512], imap_spec[512], dict[] = "/tmp/mh_afl_dictXXXXXX";
	snprintf(smtp_spec, sizeof(smtp_spec), "%s/smtp.json", argv[2]);
	snprintf(imap_spec, sizeof(imap_spec), "%s/imap.json", argv[2]);
	FILE *f = fdopen(mkstemp(dict), "w");
	fputs("a=\"ZQXJ\"\n", f);
	fclose(f);
	const struct env_row rows[] = {
	    {NULL, NULL, NULL, NULL, NULL, true},
	    {"imap", imap_spec, dict, "dlg-drop,tok-literal-lie", "3", true},
	    {"pop3", NULL, NULL, NULL, "16", true},
	    {"smtp", smtp_spec, NULL, "", NULL, true},
	    {"lmtp", NULL, NULL, NULL, NULL, false},
	    {"smtp", imap_spec, NULL, NULL, NULL, false},
	    {"smtp", "/nonexistent.json", NULL, NULL, NULL, false},
	    {"smtp", NULL, "/nonexistent.dict", NULL, NULL, false},
	    {"smtp", NULL, NULL, "dlg-drop,bogus", NULL, false},
	    {"smtp", NULL, NULL, NULL, "17", false},
	};
	for (size_t i = 0; i < MH_ARRAY_SIZE(rows); i++) {
		setenv_or_unset("MAILHARNESS_PROTO", rows[i].proto);
		setenv_or_unset("MAILHARNESS_SPEC", rows[i].spec);
		setenv_or_unset("MAILHARNESS_DICT", rows[i].dict);
		setenv_or_unset("MAILHARNESS_OPS", rows[i].ops);
		setenv_or_unset("MAILHARNESS_MAX_STACK", rows[i].stack);
		void *d = init(NULL, 1);
		tap_ok((d != NULL) == rows[i].ok, "init row %zu %s", i,
		       rows[i].ok ? "works" : "refuses");
		if (d != NULL)
			deinit(d);
	}
	unlink(dict);

	setenv("MAILHARNESS_PROTO", "smtp", 1);
	setenv("MAILHARNESS_SPEC", smtp_spec, 1);
	unsetenv("MAILHARNESS_DICT");
	unsetenv("MAILHARNESS_OPS");
	unsetenv("MAILHARNESS_MAX_STACK");
	void *a = init(NULL, 7), *b = init(NULL, 7);
	unsigned char in[] =
	    "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n";
	unsigned char add[] = "EHLO y\r\nBDAT 3 LAST\r\nabcRSET\r\n";
	int valid = 1, within = 1, same = 1, described = 1, moves = 0;
	unsigned char *prev = NULL;
	for (int k = 0; k < 20000; k++) {
		size_t max = k % 3 == 0 ? 1u << 20 : 1 + (size_t)k % 500;
		unsigned char *o1 = NULL, *o2 = NULL;
		size_t n1 =
		    fuzz(a, in, sizeof(in) - 1, &o1, k % 2 ? add : NULL, sizeof(add) - 1, max);
		size_t n2 =
		    fuzz(b, in, sizeof(in) - 1, &o2, k % 2 ? add : NULL, sizeof(add) - 1, max);
		valid &= o1 != NULL && o2 != NULL;
		within &= n1 <= max;
		same &= n1 == n2 && o1 != NULL && o2 != NULL && memcmp(o1, o2, n1) == 0;
		moves += prev != NULL && o1 != prev; /* the library's buffer, moved only to grow */
		prev = o1;
		size_t room = (size_t)k % 64;
		const char *ds = describe(a, room);
		described &= ds != NULL && strlen(ds) <= room &&
		             (ds[0] == '\0' || strncmp(ds, "mh:", 3) == 0) &&
		             strchr(ds, ',') == NULL && strchr(ds, '/') == NULL;
	}
	tap_ok(valid, "afl_custom_fuzz always hands back a buffer");
	tap_ok(within, "afl_custom_fuzz keeps to max_size");
	tap_ok(same, "the same seed gives the same mutations");
	tap_ok(moves < 40, "the output buffer is reused (moved %d times in 20000 calls)", moves);
	tap_ok(described, "describe: \"mh:op+op\" within the room, no ',' or '/'");
	const char *full = describe(a, 400);
	tap_ok(strncmp(full, "mh:", 3) == 0 && strlen(full) > 3, "describe names operators (%s)",
	       full);
	deinit(a);
	deinit(b);
	dlclose(h);
	return tap_done();
}

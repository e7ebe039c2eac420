/* cli.c: helpers every command-line front-end (cli_*.c, main.c) shares: where the data files are
   and where the password comes from. Front-ends may print; these report on stderr like them. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

const char *mh_cli_datadir(void)
{
	static char buf[PATH_MAX + 64];
	const char *env = getenv("MAILHARNESS_DATADIR");
	if (env != NULL && *env != '\0')
		return env;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(buf, sizeof(buf), "%.4000s/../share/mailharness", exe);
			char probe[PATH_MAX + 32];
			snprintf(probe, sizeof(probe), "%.4000s/specs/smtp.json", buf);
			if (stat(probe, &st) == 0)
				return buf;
		}
	}
#ifdef MH_SOURCE_DIR
	if (stat(MH_SOURCE_DIR "/specs/smtp.json", &st) == 0)
		return MH_SOURCE_DIR;
#endif
#ifdef MH_DATADIR
	return MH_DATADIR;
#else
	return ".";
#endif
}

char *mh_cli_read_password(const char *file, bool *failed_r)
{
	*failed_r = false;
	if (file == NULL) {
		const char *env = getenv("MAILHARNESS_PASSWORD");
		return env != NULL ? mh_strdup(env) : NULL;
	}
	struct mh_error err;
	mh_error_init(&err);
	char *s = mh_read_file(file, 4096, NULL, &err);
	if (s == NULL) {
		fprintf(stderr, "mailharness: --password-file: %s\n", err.msg);
		*failed_r = true;
		return NULL;
	}
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

char *mh_cli_port_subst(const char *cmd, int port)
{
	struct mh_buf b;
	mh_buf_init(&b);
	for (const char *p = cmd; *p;) {
		if (strncmp(p, "{port}", 6) == 0) {
			mh_buf_printf(&b, "%d", port);
			p += 6;
		} else {
			mh_buf_append(&b, p, 1);
			p++;
		}
	}
	char *s = mh_strdup(mh_buf_cstr(&b));
	mh_buf_deinit(&b);
	return s;
}

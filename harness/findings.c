/* findings.c: a fuzz worker's directory in the AFL++ layout, written so that a kill -9 at any
   moment loses no saved finding: every file goes to a temp name, is fsynced, renamed and the
   directory fsynced. Also fuzzer_stats / plot_data and the state a resumed campaign needs. */
#include "findings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEDUPE_CAP                                                                                 \
	16384 /* keys remembered (open addressing); when 3/4 full, no new finding is saved */
#define RESUME_MAX_FILES  20000
#define HEADER_SCAN_BYTES 8192

static const char *const class_dirs[] = {
    [MH_FC_QUEUE] = "queue",
    [MH_FC_CRASH] = "crashes",
    [MH_FC_HANG] = "hangs",
    [MH_FC_VIOLATION] = "violations",
};
_Static_assert(MH_ARRAY_SIZE(class_dirs) == MH_FC_COUNT, "class_dirs out of sync");

struct mh_findings {
	char dir[2048];
	char san_dir[2100];
	char campaign[2048];
	long next_id[MH_FC_COUNT];
	size_t count[MH_FC_COUNT];
	size_t disconnects;
	uint64_t *dedupe; /* FNV-1a 64 of keys, 0 = empty */
	size_t ndedupe;
	bool resumed;
	struct mh_findings_stats prev;
	int lock_fd;
};

const char *mh_findings_class_dir(enum mh_find_class c)
{
	return (unsigned)c < MH_FC_COUNT ? class_dirs[c] : "?";
}

static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h != 0 ? h : 1;
}

static bool dedupe_has(const struct mh_findings *f, uint64_t h)
{
	for (size_t i = h % DEDUPE_CAP, n = 0; n < DEDUPE_CAP; i = (i + 1) % DEDUPE_CAP, n++) {
		if (f->dedupe[i] == 0)
			return false;
		if (f->dedupe[i] == h)
			return true;
	}
	return false;
}

static void dedupe_add(struct mh_findings *f, const char *key)
{
	if (key == NULL || *key == '\0' || f->ndedupe >= DEDUPE_CAP * 3 / 4)
		return;
	uint64_t h = key_hash(key);
	size_t i = h % DEDUPE_CAP;
	while (f->dedupe[i] != 0) {
		if (f->dedupe[i] == h)
			return;
		i = (i + 1) % DEDUPE_CAP;
	}
	f->dedupe[i] = h;
	f->ndedupe++;
}

bool mh_findings_known(const struct mh_findings *f, const char *dedupe)
{
	/* a full table counts every key as known: past DEDUPE_CAP * 3 / 4 distinct findings a
	   runaway server would otherwise get one saved file per dialogue */
	return dedupe != NULL && *dedupe != '\0' &&
	       (f->ndedupe >= DEDUPE_CAP * 3 / 4 || dedupe_has(f, key_hash(dedupe)));
}

static int mkdir_p(const char *path, struct mh_error *err)
{
	char tmp[2048];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		mh_error_set(err, "%s: path too long", path);
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
			mh_error_set(err, "mkdir %s: %s", tmp, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
		mh_error_set(err, "mkdir %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

long mh_findings_name_id(const char *name)
{
	if (strncmp(name, "id:", 3) != 0)
		return -1;
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(name + 3, &end, 10);
	if (errno != 0 || end == name + 3 || (*end != ',' && *end != '\0') || v > 999999999ul)
		return -1;
	return (long)v;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_entry_name(const char *name)
{
	size_t n = strlen(name);
	return mh_findings_name_id(name) >= 0 && !(n > 4 && strcmp(name + n - 4, ".txt") == 0);
}

long mh_findings_list(const char *dir, size_t max, char ***names_r)
{
	*names_r = NULL;
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		if (!is_entry_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = mh_realloc(names, cap * sizeof(*names));
		}
		names[n++] = mh_strdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*names_r = names;
	return (long)n;
}

int mh_findings_write(const char *dir, const char *name, const void *data, size_t n, bool durable,
                      struct mh_error *err)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		mh_error_set(err, "%s/%s: path too long", dir, name);
		return -1;
	}
	/* the ".tmp." prefix is what remove_temps() cleans up on resume */
	const struct mh_write_opts o = {.tmp_prefix = ".tmp.", .no_sync = !durable};
	return mh_write_file_atomic_opts(path, data, n, &o, err);
}

/* Removes .tmp.* files (a write interrupted by kill -9) from dir. */
static void remove_temps(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, ".tmp.", 5) != 0)
			continue;
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
}

/* Reads the "# dedupe: KEY" comment of an earlier finding. */
static void reload_dedupe(struct mh_findings *f, const char *dir, const char *name)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return;
	char buf[HEADER_SCAN_BYTES + 1];
	size_t n = fread(buf, 1, HEADER_SCAN_BYTES, fp);
	fclose(fp);
	buf[n] = '\0';
	const char *k = strstr(buf, "\n# dedupe: ");
	if (k == NULL)
		return;
	k += strlen("\n# dedupe: ");
	char key[512];
	size_t kl = strcspn(k, "\r\n");
	if (kl >= sizeof(key))
		kl = sizeof(key) - 1;
	memcpy(key, k, kl);
	key[kl] = '\0';
	dedupe_add(f, key);
}

static int scan_class(struct mh_findings *f, enum mh_find_class c, struct mh_error *err)
{
	char dir[2200];
	snprintf(dir, sizeof(dir), "%s/%s", f->dir, class_dirs[c]);
	if (mkdir_p(dir, err) != 0)
		return -1;
	remove_temps(dir);
	char **names = NULL;
	long n = mh_findings_list(dir, RESUME_MAX_FILES, &names);
	if (n < 0) {
		mh_error_set(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (long i = 0; i < n; i++) {
		long id = mh_findings_name_id(names[i]);
		if (id >= f->next_id[c])
			f->next_id[c] = id + 1;
		f->count[c]++;
		if (c == MH_FC_VIOLATION && strstr(names[i], ",kind:disconnect") != NULL)
			f->disconnects++;
		if (c != MH_FC_QUEUE)
			reload_dedupe(f, dir, names[i]);
		free(names[i]);
	}
	free(names);
	if (n > 0)
		f->resumed = true;
	return 0;
}

struct mh_findings *mh_findings_open(const char *out, const char *worker, struct mh_error *err)
{
	struct mh_findings *f = mh_calloc(1, sizeof(*f));
	f->dedupe = mh_calloc(DEDUPE_CAP, sizeof(*f->dedupe));
	if (snprintf(f->dir, sizeof(f->dir), "%s/%s", out, worker) >= (int)sizeof(f->dir) ||
	    snprintf(f->campaign, sizeof(f->campaign), "%s", out) >= (int)sizeof(f->campaign)) {
		mh_error_set(err, "%s: path too long", out);
		mh_findings_free(&f);
		return NULL;
	}
	f->lock_fd = -1;
	snprintf(f->san_dir, sizeof(f->san_dir), "%s/.sanitizer", f->dir);
	if (mkdir_p(f->dir, err) != 0 || mkdir_p(f->san_dir, err) != 0) {
		mh_findings_free(&f);
		return NULL;
	}
	/* one fuzzer per worker directory (the lock goes with the process, also on kill -9) */
	char lock[2200];
	snprintf(lock, sizeof(lock), "%s/.lock", f->dir);
	f->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f->lock_fd < 0 || flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		mh_error_set(err,
		             "%s is in use by another mailharness fuzz (or cannot be locked: %s)",
		             f->dir, strerror(errno));
		mh_findings_free(&f);
		return NULL;
	}
	remove_temps(f->dir);
	for (int c = 0; c < MH_FC_COUNT; c++) {
		if (scan_class(f, (enum mh_find_class)c, err) != 0) {
			mh_findings_free(&f);
			return NULL;
		}
	}
	char path[2200];
	snprintf(path, sizeof(path), "%s/fuzzer_stats", f->dir);
	if (mh_findings_read_stats(path, &f->prev) == 0)
		f->resumed = true;
	return f;
}

void mh_findings_free(struct mh_findings **f)
{
	if (f == NULL || *f == NULL)
		return;
	if ((*f)->lock_fd >= 0)
		close((*f)->lock_fd);
	free((*f)->dedupe);
	free(*f);
	*f = NULL;
}

const char *mh_findings_dir(const struct mh_findings *f)
{
	return f->dir;
}

const char *mh_findings_sanitizer_dir(const struct mh_findings *f)
{
	return f->san_dir;
}

const char *mh_findings_campaign_dir(const struct mh_findings *f)
{
	return f->campaign;
}

bool mh_findings_resumed(const struct mh_findings *f, struct mh_findings_stats *st_r)
{
	if (st_r != NULL)
		*st_r = f->prev;
	return f->resumed;
}

size_t mh_findings_count(const struct mh_findings *f, enum mh_find_class c)
{
	return (unsigned)c < MH_FC_COUNT ? f->count[c] : 0;
}

size_t mh_findings_disconnects(const struct mh_findings *f)
{
	return f->disconnects;
}

static const struct {
	int sig;
	const char *name;
} signal_names[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGSYS, "SIGSYS"},
    {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
};

const char *mh_findings_signal_name(int sig)
{
	for (size_t i = 0; i < MH_ARRAY_SIZE(signal_names); i++)
		if (signal_names[i].sig == sig)
			return signal_names[i].name;
	return "signal";
}

/* Appends s for a file name field: no ',' (AFL++'s separator: made '+'), no '/', printable. */
static void name_field(struct mh_buf *b, const char *s, size_t max)
{
	for (size_t i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == ',')
			ch = '+';
		else if (ch == '/' || ch <= 0x20 || ch >= 0x7f || ch == ':')
			ch = '_';
		mh_buf_append(b, &ch, 1);
	}
}

static void make_name(const struct mh_finding_meta *m, long id, struct mh_buf *b)
{
	mh_buf_printf(b, "id:%06ld", id);
	if (m->cls == MH_FC_CRASH && m->sig > 0)
		mh_buf_printf(b, ",sig:%02d", m->sig);
	if (m->cls == MH_FC_VIOLATION && m->kind != NULL) {
		mh_buf_append_str(b, ",kind:");
		name_field(b, m->kind, 16);
	}
	if (m->sync != NULL && *m->sync) {
		mh_buf_append_str(b, ",sync:");
		name_field(b, m->sync, 32);
	}
	if (m->src >= 0)
		mh_buf_printf(b, ",src:%06ld", m->src);
	mh_buf_printf(b, ",time:%lld,execs:%llu", (long long)(m->time_ms > 0 ? m->time_ms : 0),
	              (unsigned long long)m->execs);
	if (m->orig != NULL && *m->orig) {
		mh_buf_append_str(b, ",orig:");
		name_field(b, m->orig, 80);
	} else if (m->op != NULL && *m->op) {
		mh_buf_append_str(b, ",op:");
		name_field(b, m->op, 96);
	}
	if (m->new_cov)
		mh_buf_append_str(b, ",+cov");
}

/* One "# key: value" line, value flattened to one printable line of at most 400 bytes. */
static void header_line(struct mh_buf *b, const char *key, const char *v)
{
	if (v == NULL || *v == '\0')
		return;
	mh_buf_printf(b, "# %s: ", key);
	size_t i = 0;
	for (; v[i] != '\0' && i < 400; i++) {
		unsigned char ch = (unsigned char)v[i];
		mh_buf_append(b, (ch < 0x20 || ch >= 0x7f) ? (const unsigned char *)" " : &ch, 1);
	}
	if (v[i] != '\0')
		mh_buf_append_str(b, "...");
	mh_buf_append_str(b, "\n");
}

static void format_file(const struct mh_finding_meta *m, const char *name,
                        const struct mh_dialogue *d, struct mh_buf *b)
{
	static const char *const oracle[] = {"new coverage", "crash", "hang", "violation"};
	mh_buf_printf(b, "# mailharness fuzz finding: %s\n", name);
	header_line(b, "oracle",
	            m->cls == MH_FC_VIOLATION && m->kind != NULL &&
	                    strcmp(m->kind, "disconnect") == 0
	                ? "disconnect"
	                : oracle[m->cls]);
	header_line(b, "kind", m->kind);
	if (m->sig > 0) {
		char s[48];
		snprintf(s, sizeof(s), "%d (%s)", m->sig, mh_findings_signal_name(m->sig));
		header_line(b, "signal", s);
	}
	header_line(b, "summary", m->summary);
	header_line(b, "stack-hash", m->stack_hash);
	header_line(b, "frames", m->frames);
	header_line(b, "violation", m->violation);
	header_line(b, "outcome", m->outcome);
	header_line(b, "target", m->target);
	char when[64], line[160];
	mh_time_rfc3339(when, sizeof(when), mh_wall_ms());
	snprintf(line, sizeof(line), "%s (after %llu dialogues, %lld ms into the campaign)", when,
	         (unsigned long long)m->execs, (long long)m->time_ms);
	header_line(b, "found", line);
	header_line(b, "worker", m->worker);
	header_line(b, "mutations", m->op);
	header_line(b, "minimized", m->minimized);
	header_line(b, "dedupe", m->dedupe);
	if (m->report != NULL && *m->report) {
		snprintf(line, sizeof(line), "%s.txt", name);
		header_line(b, "report", line);
	}
	mh_dialogue_format(d, b);
}

int mh_findings_save(struct mh_findings *f, const struct mh_finding_meta *m,
                     const struct mh_dialogue *d, char *name_r, size_t namelen, long *id_r,
                     struct mh_error *err)
{
	long id = f->next_id[m->cls];
	struct mh_buf name, body;
	mh_buf_init(&name);
	mh_buf_init(&body);
	make_name(m, id, &name);
	char dir[2200];
	snprintf(dir, sizeof(dir), "%s/%s", f->dir, class_dirs[m->cls]);
	int rc = 0;
	if (m->report != NULL && *m->report) {
		mh_buf_reset(&body);
		mh_buf_printf(&body, "%s.txt", mh_buf_cstr(&name));
		char rname[512];
		snprintf(rname, sizeof(rname), "%s", mh_buf_cstr(&body));
		rc = mh_findings_write(dir, rname, m->report, strlen(m->report), true, err);
	}
	if (rc == 0) {
		mh_buf_reset(&body);
		format_file(m, mh_buf_cstr(&name), d, &body);
		/* findings are fsynced; queue entries only renamed into place (atomic, and a kill
		   -9 keeps them: only a power loss could, and they are inputs, not findings) */
		rc = mh_findings_write(dir, mh_buf_cstr(&name), body.data, body.len,
		                       m->cls != MH_FC_QUEUE, err);
	}
	if (rc == 0) {
		f->next_id[m->cls] = id + 1;
		f->count[m->cls]++;
		if (m->cls == MH_FC_VIOLATION && m->kind != NULL &&
		    strcmp(m->kind, "disconnect") == 0)
			f->disconnects++;
		dedupe_add(f, m->dedupe);
		if (name_r != NULL)
			snprintf(name_r, namelen, "%s", mh_buf_cstr(&name));
		if (id_r != NULL)
			*id_r = id;
	}
	mh_buf_deinit(&name);
	mh_buf_deinit(&body);
	return rc;
}

void mh_findings_remember(struct mh_findings *f, const char *dedupe)
{
	dedupe_add(f, dedupe);
}

void mh_findings_forget(struct mh_findings *f, enum mh_find_class c, const char *name,
                        const char *kind)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/%s/%s.txt", f->dir, class_dirs[c], name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s/%s", f->dir, class_dirs[c], name);
	if (unlink(path) != 0)
		return;
	char dir[2200];
	snprintf(dir, sizeof(dir), "%s/%s", f->dir, class_dirs[c]);
	mh_fsync_dir(dir);
	if (f->count[c] > 0)
		f->count[c]--;
	if (c == MH_FC_VIOLATION && kind != NULL && strcmp(kind, "disconnect") == 0 &&
	    f->disconnects > 0)
		f->disconnects--;
}

int mh_findings_rewrite(struct mh_findings *f, const char *name, const struct mh_finding_meta *m,
                        const struct mh_dialogue *d, struct mh_error *err)
{
	char dir[2200];
	snprintf(dir, sizeof(dir), "%s/%s", f->dir, class_dirs[m->cls]);
	struct mh_buf body;
	mh_buf_init(&body);
	format_file(m, name, d, &body);
	int rc = mh_findings_write(dir, name, body.data, body.len, true, err);
	mh_buf_deinit(&body);
	return rc;
}

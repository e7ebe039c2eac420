/* supervise_proc.c: watching the server's processes. The kernel's process events (netlink proc
   connector) report every fork and exit with its wait status, so a per-connection child that
   crashes is seen even when its own parent reaps it (Postfix's master, Dovecot's). Also the
   /proc walk that finds every descendant for killing them by pid. */
#include "supervise_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TRACK_CAP     8192 /* processes followed at once (open addressing) */
#define PROC_SCAN_MAX 65536

struct mh_sup_proc {
	int fd;
	pid_t *set; /* tracked tgids, 0 = empty, -1 = deleted */
	size_t n;
};

static size_t slot_of(pid_t pid)
{
	return ((size_t)pid * 2654435761u) % TRACK_CAP;
}

static bool set_has(const struct mh_sup_proc *p, pid_t pid)
{
	for (size_t i = slot_of(pid), k = 0; k < TRACK_CAP; i = (i + 1) % TRACK_CAP, k++) {
		if (p->set[i] == 0)
			return false;
		if (p->set[i] == pid)
			return true;
	}
	return false;
}

static void set_del(struct mh_sup_proc *p, pid_t pid)
{
	for (size_t i = slot_of(pid), k = 0; k < TRACK_CAP; i = (i + 1) % TRACK_CAP, k++) {
		if (p->set[i] == 0)
			return;
		if (p->set[i] == pid) {
			p->set[i] = -1;
			p->n--;
			return;
		}
	}
}

void mh_sup_proc_track(struct mh_sup_proc *p, pid_t pid)
{
	if (p == NULL || pid <= 0 || set_has(p, pid) || p->n >= TRACK_CAP / 2)
		return;
	size_t i = slot_of(pid);
	while (p->set[i] > 0)
		i = (i + 1) % TRACK_CAP;
	p->set[i] = pid;
	p->n++;
}

void mh_sup_proc_reset(struct mh_sup_proc *p)
{
	if (p == NULL)
		return;
	memset(p->set, 0, TRACK_CAP * sizeof(*p->set));
	p->n = 0;
}

struct mh_sup_proc *mh_sup_proc_open(void)
{
	int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (fd < 0)
		return NULL;
	struct sockaddr_nl sa;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = CN_IDX_PROC;
	sa.nl_pid = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return NULL;
	}
	/* every process on the machine is reported: a big buffer keeps bursts from overrunning */
	int sz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	union {
		struct nlmsghdr h;
		unsigned char
		    raw[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op))];
	} msg;
	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_len = sizeof(msg.raw);
	msg.h.nlmsg_type = NLMSG_DONE;
	msg.h.nlmsg_pid = (unsigned)getpid();
	struct cn_msg *cm = NLMSG_DATA(&msg.h);
	cm->id.idx = CN_IDX_PROC;
	cm->id.val = CN_VAL_PROC;
	cm->len = sizeof(enum proc_cn_mcast_op);
	enum proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
	memcpy(cm->data, &op, sizeof(op));
	if (send(fd, msg.raw, sizeof(msg.raw), 0) < 0) {
		close(fd);
		return NULL;
	}
	struct mh_sup_proc *p = mh_calloc(1, sizeof(*p));
	p->fd = fd;
	p->set = mh_calloc(TRACK_CAP, sizeof(*p->set));
	return p;
}

void mh_sup_proc_close(struct mh_sup_proc **p)
{
	if (p == NULL || *p == NULL)
		return;
	close((*p)->fd);
	free((*p)->set);
	free(*p);
	*p = NULL;
}

int mh_sup_proc_fd(const struct mh_sup_proc *p)
{
	return p != NULL ? p->fd : -1;
}

int mh_sup_proc_drain(struct mh_sup_proc *p, mh_sup_exit_fn on_exit, mh_sup_fork_fn on_fork,
                      void *ud)
{
	if (p == NULL)
		return 0;
	int events = 0;
	bool lost = false;
	union {
		struct nlmsghdr h;
		unsigned char raw[16384];
	} buf;
	for (int rounds = 0; rounds < 4096; rounds++) {
		ssize_t n = recv(p->fd, buf.raw, sizeof(buf.raw), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == ENOBUFS) {
				lost = true;
				continue;
			}
			break;
		}
		size_t len = (size_t)n;
		for (struct nlmsghdr *h = &buf.h; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type != NLMSG_DONE)
				continue;
			struct cn_msg *cm = NLMSG_DATA(h);
			if (cm->id.idx != CN_IDX_PROC || cm->id.val != CN_VAL_PROC)
				continue;
			/* cn_msg leaves the event 4-byte aligned: copy it out */
			struct proc_event evbuf;
			size_t evlen = cm->len < sizeof(evbuf) ? cm->len : sizeof(evbuf);
			memset(&evbuf, 0, sizeof(evbuf));
			memcpy(&evbuf, cm->data, evlen);
			const struct proc_event *ev = &evbuf;
			events++;
			if (ev->what == PROC_EVENT_FORK) {
				pid_t parent = ev->event_data.fork.parent_tgid;
				pid_t child = ev->event_data.fork.child_pid;
				if (child == ev->event_data.fork.child_tgid && set_has(p, parent)) {
					mh_sup_proc_track(p, child);
					if (on_fork != NULL)
						on_fork(ud, child);
				}
			} else if (ev->what == PROC_EVENT_EXIT) {
				pid_t pid = ev->event_data.exit.process_pid;
				if (pid != ev->event_data.exit.process_tgid || !set_has(p, pid))
					continue;
				set_del(p, pid);
				on_exit(ud, pid, (int)ev->event_data.exit.exit_code);
			}
		}
	}
	return lost ? -1 : events;
}

/* Reads the parent pid from /proc/<pid>/stat (the field after the parenthesised name). */
static pid_t parent_of(long pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	if (rp == NULL || rp[1] == '\0' || rp[2] == '\0')
		return -1;
	char *end = NULL;
	long pp = strtol(rp + 4, &end, 10); /* ") S 1234" */
	return end != rp + 4 ? (pid_t)pp : -1;
}

size_t mh_sup_descendants(pid_t root, pid_t *out, size_t max)
{
	/* one pass over /proc: (pid, ppid) pairs, then a breadth-first walk from root */
	size_t cap = 1024, n = 0;
	pid_t(*pairs)[2] = mh_malloc(cap * sizeof(*pairs));
	DIR *d = opendir("/proc");
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL && n < PROC_SCAN_MAX) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			char *end = NULL;
			long pid = strtol(e->d_name, &end, 10);
			if (*end != '\0')
				continue;
			pid_t pp = parent_of(pid);
			if (pp <= 0)
				continue;
			if (n == cap) {
				cap *= 2;
				pairs = mh_realloc(pairs, cap * sizeof(*pairs));
			}
			pairs[n][0] = (pid_t)pid;
			pairs[n][1] = pp;
			n++;
		}
		closedir(d);
	}
	size_t found = 0;
	pid_t queue[4096];
	size_t qh = 0, qt = 0;
	queue[qt++] = root;
	while (qh < qt && found < max) {
		pid_t parent = queue[qh++];
		for (size_t i = 0; i < n && found < max; i++) {
			if (pairs[i][1] != parent)
				continue;
			out[found++] = pairs[i][0];
			if (qt < MH_ARRAY_SIZE(queue))
				queue[qt++] = pairs[i][0];
		}
	}
	free(pairs);
	return found;
}

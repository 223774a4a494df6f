/*
 * record.c: guardlock's holder record, written into the lock file by the
 * holder and read by contenders, and the words that name a holder. See
 * record.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "locks.h"
#include "record.h"
#include "util.h"

/* What /proc/locks says about the flock(2) locks on one file. */
struct holders {
	int n;			/* granted locks */
	int shared;		/* they are shared (READ) locks */
	long long pid;		/* a live holder's pid, 0 if none can be seen */
	long long taker;	/* the pid that took the first lock, as /proc/locks says */
};

/*
 * Start time of a process (field 22 of /proc/PID/stat, clock ticks after
 * boot), or -1 if there is no such process or it is a zombie, which no
 * longer holds any descriptor.  The command name (field 2) may hold
 * spaces and parentheses, so fields are counted after the last ')'.
 */
static long long
proc_start(long long pid)
{
	char path[64], buf[1024], *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	if (slurp(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return -1;
	p++;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ') {
			field++;
			if (field == 3 && p[1] == 'Z')
				return -1;
		}
	return field == 22 ? strtoll(p, NULL, 10) : -1;
}

/* Copy s into out as printable ASCII, quoting an argument that needs it. */
static void
putarg(char *out, size_t size, size_t *len, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int quote = n == 0 || strcspn(s, " \t'\"\\$`;&|<>()*?[]#~!{}") < n;
	char tmp[8];
	size_t i;

#define PUT(str) do { \
		size_t l_ = strlen(str); \
		if (*len + l_ < size) { memcpy(out + *len, str, l_); *len += l_; out[*len] = '\0'; } \
	} while (0)
	if (quote)
		PUT("'");
	for (i = 0; i < n; i++) {
		if (p[i] == '\'')
			snprintf(tmp, sizeof(tmp), "'\\''");
		else if (p[i] < 0x20 || p[i] > 0x7e)
			snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
		else
			snprintf(tmp, sizeof(tmp), "%c", p[i]);
		PUT(tmp);
	}
	if (quote)
		PUT("'");
#undef PUT
}

/*
 * A program's name for people to read, cut at CMD_MAX with "...": a name,
 * never a command line, since arguments carry passwords (--password=secret)
 * and a busy line goes to cron's mail and the system log.
 */
static void
progname(char *out, size_t size, const char *name)
{
	char big[CMD_MAX * 2];
	size_t len = 0;

	big[0] = '\0';
	putarg(big, sizeof(big), &len, name, strlen(name));
	if (len > CMD_MAX || len >= size) {
		len = (CMD_MAX < size ? CMD_MAX : size) - 4;
		memcpy(big + len, "...", 4);
	}
	snprintf(out, size, "%s", big);
}

/*
 * A live process's program, as the kernel names it (/proc/PID/comm: the
 * file it executed, at most 15 bytes), not its command line: a process
 * may rewrite its argv, and setproctitle(3) puts anything there.
 */
static void
proc_name(long long pid, char *out, size_t size)
{
	char path[64], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%lld/comm", pid);
	out[0] = '\0';
	if ((n = slurp(path, buf, sizeof(buf))) <= 0)
		return;
	buf[strcspn(buf, "\n")] = '\0';
	if (buf[0])
		progname(out, size, buf);
}

/*
 * When a live process started, in seconds since the epoch; -1 if unknown.
 * /proc/stat is read line by line: btime follows a line per CPU and the
 * interrupt counts, tens of kilobytes on a large host.
 */
static long long
proc_started(long long pid)
{
	long long ticks = proc_start(pid), btime = -1;
	long hz = sysconf(_SC_CLK_TCK);
	char *line = NULL;
	size_t cap = 0;
	FILE *fp;

	if (ticks < 0 || hz <= 0 || !(fp = fopen("/proc/stat", "re")))
		return -1;
	while (btime < 0 && getline(&line, &cap, fp) > 0)
		if (strncmp(line, "btime ", 6) == 0)
			btime = strtoll(line + 6, NULL, 10);
	free(line);
	fclose(fp);
	return btime > 0 ? btime + ticks / hz : -1;
}

/*
 * Parse a holder record: the first bytes of a lock file.  Anyone who
 * could write the file chose these bytes, so nothing is trusted: after
 * the magic line every line is "key value" in printable ASCII up to a
 * line "end", numbers are strict, strings bounded, unknown keys skipped
 * (a later version may add some).  0 and *r filled for a complete record
 * (pid, since, host and cmd present), -1 otherwise.
 */
int
record_parse(const char *buf, size_t len, struct record *r)
{
	size_t mlen = sizeof(RECORD_MAGIC) - 1, i, j, n, klen, vlen;
	const char *line, *nl, *val;
	enum { PID = 1, START = 2, SINCE = 4, HOST = 8, CMD = 16, BOOT = 32 };
	int seen = 0, key;
	char num[24], *dst;
	size_t dstsize;
	long long v;

	memset(r, 0, sizeof(*r));
	if (!buf || len < mlen || memcmp(buf, RECORD_MAGIC, mlen) != 0)
		return -1;
	for (i = mlen; i < len; i += n + 1) {
		line = buf + i;
		if (!(nl = memchr(line, '\n', len - i)))
			return -1;
		n = nl - line;
		for (j = 0; j < n; j++)
			if ((unsigned char)line[j] < 0x20 || (unsigned char)line[j] > 0x7e)
				return -1;
		if (n == 3 && memcmp(line, "end", 3) == 0)
			return (seen & (PID | SINCE | HOST | CMD)) == (PID | SINCE | HOST | CMD) ? 0 : -1;
		if (!(val = memchr(line, ' ', n)))
			return -1;
		klen = val - line;
		val++;
		vlen = n - klen - 1;
		key = klen == 3 && !memcmp(line, "pid", 3) ? PID :
		    klen == 5 && !memcmp(line, "start", 5) ? START :
		    klen == 5 && !memcmp(line, "since", 5) ? SINCE :
		    klen == 4 && !memcmp(line, "host", 4) ? HOST :
		    klen == 3 && !memcmp(line, "cmd", 3) ? CMD :
		    klen == 4 && !memcmp(line, "boot", 4) ? BOOT : 0;
		if (!key)
			continue;
		if (seen & key)
			return -1;
		seen |= key;
		if (key & (PID | START | SINCE)) {
			if (vlen >= sizeof(num))
				return -1;
			memcpy(num, val, vlen);
			num[vlen] = '\0';
			if (parsenum(num, key == PID ? 1 : 0,
			    key == PID ? INT_MAX : LLONG_MAX, &v) < 0)
				return -1;
			if (key == PID)
				r->pid = v;
			else if (key == START)
				r->start = v;
			else
				r->since = v;
			continue;
		}
		dst = key == HOST ? r->host : key == CMD ? r->cmd : r->boot;
		dstsize = key == HOST ? sizeof(r->host) : key == CMD ? sizeof(r->cmd) : sizeof(r->boot);
		if (vlen == 0 || vlen >= dstsize)
			return -1;
		memcpy(dst, val, vlen);
		dst[vlen] = '\0';
	}
	return -1;	/* no "end": cut short, or being written right now */
}

/* This host's name and boot id, as a record spells them. */
static void
thishost(char *host, size_t hsize, char *boot, size_t bsize)
{
	char buf[64];
	size_t i;

	if (gethostname(host, hsize) < 0 || !host[0])
		snprintf(host, hsize, "localhost");
	host[hsize - 1] = '\0';
	for (i = 0; host[i]; i++)
		if ((unsigned char)host[i] <= 0x20 || (unsigned char)host[i] > 0x7e)
			host[i] = '?';
	boot[0] = '\0';
	if (slurp("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		for (i = 0; buf[i]; i++)
			if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] > 0x7e)
				return;
		if (i < bsize)
			memcpy(boot, buf, i + 1);
	}
}

/*
 * The flock(2) locks on the file st describes. /proc/locks names the
 * process that took each lock, which may be gone while a descendant holds
 * it on, and whose pid may since belong to any process at all: a pid is
 * believed only if that process holds a lock on the file now (where its
 * /proc may be read), else the holders are looked for. Of several shared
 * holders the one that started first is named: it has held the lock
 * longest at most.
 */
static void
proc_locks(const struct stat *st, struct holders *h)
{
	struct flockholder fh[64];
	long long start, best = -1;
	int i, n;

	memset(h, 0, sizeof(*h));
	n = flock_holders(st, fh, 64);
	h->n = n;
	for (i = 0; i < n && i < 64; i++) {
		h->shared = fh[i].shared;
		if (i == 0)
			h->taker = fh[i].pid;
		start = fh[i].pid > 0 && flock_heldby(fh[i].pid, st) != 0 ?
		    proc_start(fh[i].pid) : -1;
		if (start >= 0 && (best < 0 || start < best)) {
			h->pid = fh[i].pid;
			best = start;
		}
	}
	if (n > 0 && !h->pid)
		h->pid = flock_scan(st);
}

/* Is the recorded process still the one that took the lock? */
static int
alive(const struct record *r)
{
	if (r->start > 0)
		return proc_start(r->pid) == r->start;
	/* No start time recorded (no /proc then): the pid alone must do. */
	return kill((pid_t)r->pid, 0) == 0 || errno == EPERM;
}

/* "2026-03-06 00:00:01 (3s ago)" */
static void
fmtsince(char *out, size_t size, long long when)
{
	time_t t = (time_t)when;
	long long ago = (long long)time(NULL) - when;
	char date[40], rel[40];
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(date, sizeof(date), "@%lld", when);
	if (ago < 0)
		snprintf(rel, sizeof(rel), "in the future: clocks differ");
	else if (ago < 60)
		snprintf(rel, sizeof(rel), "%llds ago", ago);
	else if (ago < 3600)
		snprintf(rel, sizeof(rel), "%lldm%02llds ago", ago / 60, ago % 60);
	else if (ago < 86400)
		snprintf(rel, sizeof(rel), "%lldh%02lldm ago", ago / 3600, ago % 3600 / 60);
	else
		snprintf(rel, sizeof(rel), "%lldd%02lldh ago", ago / 86400, ago % 86400 / 3600);
	snprintf(out, size, "%s (%s)", date, rel);
}

/*
 * A holder that wrote no record (a shared holder, flock(1), a record that
 * another user may not read): named from the kernel's view, and aged by
 * its process, which started before it took the lock, so that a hung
 * holder of any kind shows how long it has held the lock at most.
 */
static void
describe_kernel(const struct holders *h, const char *norecord, char *out, size_t size)
{
	char cmd[CMD_MAX + 8], when[96], others[40];
	long long pid = h->pid, started;

	cmd[0] = '\0';
	if (pid)
		proc_name(pid, cmd, sizeof(cmd));
	others[0] = '\0';
	if (h->shared && h->n > 1)
		snprintf(others, sizeof(others), " and %d other%s", h->n - 1, h->n > 2 ? "s" : "");
	if (!pid || !cmd[0]) {
		if (h->shared)
			snprintf(out, size, "held shared by %d process%s", h->n, h->n > 1 ? "es" : "");
		else
			snprintf(out, size, "held by another process, %s", norecord);
		return;
	}
	started = proc_started(pid);
	when[0] = '\0';
	if (started >= 0)
		fmtsince(when, sizeof(when), started);
	if (h->shared)
		snprintf(out, size, "held shared by pid %lld (%s)%s%s%s", pid, cmd, others,
		    started >= 0 ? ", running since " : "", when);
	else
		snprintf(out, size, "held by pid %lld (%s), %s%s%s", pid, cmd, norecord,
		    started >= 0 ? ", running since " : "", when);
}

/*
 * Who holds the lock on st, in words: its record (fd >= 0), checked
 * against what the kernel says (/proc/locks) and against the process
 * table. A record that /proc/locks contradicts is stale (flock(1) or a
 * shared holder took the lock since, and they write none) and is not
 * believed. A holder is named by its program alone, never its arguments.
 */
void
record_describe(int fd, const struct stat *st, char *out, size_t size)
{
	char buf[RECORD_SIZE], host[128], boot[40], when[96];
	struct record r;
	struct holders h;
	ssize_t n = -1;
	int rec = 0, local;

	memset(&r, 0, sizeof(r));
	if (fd >= 0 && S_ISREG(st->st_mode))
		n = pread(fd, buf, sizeof(buf), 0);
	if (n > 0)
		rec = record_parse(buf, n, &r) == 0;
	proc_locks(st, &h);
	thishost(host, sizeof(host), boot, sizeof(boot));
	local = rec && strcmp(r.host, host) == 0;
	/* A record from an earlier boot of this host describes nobody now. */
	if (local && r.boot[0] && boot[0] && strcmp(r.boot, boot) != 0)
		rec = local = 0;
	/*
	 * The kernel names the process that took the lock here: a record from
	 * elsewhere, or naming another pid, is stale (flock(1) or a shared
	 * holder took the lock since, and they write none).
	 */
	if (rec && h.n > 0 && (h.shared || !local || h.taker != r.pid))
		rec = 0;
	if (!rec) {
		describe_kernel(&h, fd >= 0 ? "no holder record" :
		    "its holder record not readable here", out, size);
		return;
	}
	fmtsince(when, sizeof(when), r.since);
	if (local && !alive(&r)) {
		snprintf(out, size, "held by a descendant that inherited it from pid %lld "
		    "(%s, now gone) on %s since %s", r.pid, r.cmd, r.host, when);
		return;
	}
	snprintf(out, size, "held by pid %lld (%s) on %s since %s",
	    r.pid, r.cmd, r.host, when);
}

/*
 * Write our record into the lock file, in place at offset 0, while we
 * hold the exclusive lock and before the exec, so that the pid is the
 * command's own. Only into a file with one name that is empty or already
 * holds a record: a file that holds anything else (a script locking
 * itself, as flock(1) users do) is locked but left as it is, and a second
 * name may be a link to a file that is not a lock at all.
 *
 * The record names the program, the last component of cmd, not its
 * arguments: it outlives the job, and arguments carry passwords that the
 * command itself may hide from ps(1) once it runs.
 *
 * The record goes through a second descriptor on the same inode, open for
 * reading and writing and closed before the exec: the lock's own is
 * read-only (see lock_open), or the caller's write-only one (lock_fd).
 */
const char *
record_write(int fd, const char *path, const struct stat *st, long long pid, const char *cmd)
{
	char buf[RECORD_SIZE + 1], boot[40], host[128], line[CMD_MAX + 8], self[64];
	size_t mlen = sizeof(RECORD_MAGIC) - 1;
	struct sigaction ign, oldxfsz;
	struct stat ws;
	long long start;
	ssize_t n;
	int len, wfd;

	if (!S_ISREG(st->st_mode) || st->st_nlink != 1) {
		return S_ISREG(st->st_mode) ? "more than one name" : "not a regular file";
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	wfd = open(self, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (wfd < 0 || fstat(wfd, &ws) < 0 || !sameinode(&ws, st)) {
		if (wfd >= 0)
			close(wfd);
		return "not writable here";
	}
	n = pread(wfd, buf, mlen, 0);
	if (n < 0) {
		weprintf("%s: holder record: read:", path);
		close(wfd);
		return NULL;
	}
	if (n > 0 && ((size_t)n < mlen || memcmp(buf, RECORD_MAGIC, mlen) != 0)) {
		close(wfd);
		return "holds other data";
	}
	thishost(host, sizeof(host), boot, sizeof(boot));
	progname(line, sizeof(line), lastpart(cmd));
	start = proc_start(pid);
	len = snprintf(buf, sizeof(buf), RECORD_MAGIC "pid %lld\nstart %lld\nboot %s\n"
	    "host %s\nsince %lld\ncmd %s\nend\n", pid,
	    start < 0 ? 0 : start, boot[0] ? boot : "-", host,
	    (long long)time(NULL), line);
	if (len < 0 || len >= RECORD_SIZE) {
		close(wfd);
		return "too long";
	}
	memset(buf + len, ' ', RECORD_SIZE - len - 1);
	buf[RECORD_SIZE - 1] = '\n';
	/*
	 * Under a file size limit (ulimit -f) the record may not fit: that is
	 * worth a warning, not our death by SIGXFSZ before the command runs.
	 */
	sigemptyset(&ign.sa_mask);
	ign.sa_flags = 0;
	ign.sa_handler = SIG_IGN;
	sigaction(SIGXFSZ, &ign, &oldxfsz);
	for (len = 0; len < RECORD_SIZE; len += n) {
		n = pwrite(wfd, buf + len, RECORD_SIZE - len, len);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			weprintf("%s: holder record: write:", path);
			break;
		}
	}
	sigaction(SIGXFSZ, &oldxfsz, NULL);
	close(wfd);
	return NULL;
}


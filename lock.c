/*
 * guardlock: take a flock(2) lock on a file, then exec a command that
 * inherits the locked descriptor.  See man/guardlock.1.
 *
 * No fork and no supervising parent: the lock lives exactly as long as
 * the command and every descendant that keeps the descriptor open.
 * A contender that finds the lock busy names the holder from a small
 * text record that the holder wrote into the lock file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "locks.h"
#include "proc.h"
#include "util.h"

#ifndef VERSION
#define VERSION "unknown"	/* the Makefile defines it; a fuzz harness may not */
#endif

/*
 * The holder record is always exactly RECORD_SIZE bytes, padded with
 * spaces: rewriting it never leaves a tail of an older, longer record, so
 * guardlock never has to truncate a lock file.
 */
#define RECORD_SIZE	1024
#define RECORD_MAGIC	"guardlock holder record 1\n"
#define CMD_MAX		640	/* room for the command line in a record */
#define DESC_MAX	(CMD_MAX + 512)

struct record {
	long long pid;		/* the holder, which is the command after exec */
	long long start;	/* its start: clock ticks after boot, /proc/PID/stat field 22 */
	long long since;	/* when it took the lock, seconds since the epoch */
	char boot[40];		/* /proc/sys/kernel/random/boot_id: what start counts from */
	char host[128];
	char cmd[CMD_MAX + 8];
};

/* What /proc/locks says about the flock(2) locks on one file. */
struct holders {
	int n;			/* granted locks */
	int shared;		/* they are shared (READ) locks */
	long long pid;		/* a live holder's pid, 0 if none can be seen */
	long long taker;	/* the pid that took the first lock, as /proc/locks says */
};

static int verbose;
static struct timespec t0;

/* The -w deadline: see timer_arm(). */
static volatile sig_atomic_t expired;
static struct sigaction oldalarm;
static sigset_t oldmask;
static struct itimerval oldtimer;	/* the caller's alarm, if any */
static struct timespec armedat;
static int armed, callers;		/* callers: the caller's alarm is our deadline */

static const char usagetext[] =
	"usage: guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] [--public] lockfile command [arg ...]\n"
	"       guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] [--public] lockfile -c shell-command\n"
	"       guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] [--public] fd\n"
	"       guardlock -u fd\n"
	"       guardlock --status lockfile\n";

static _Noreturn void
usage(int status)
{
	fputs(usagetext, status ? stderr : stdout);
	if (status == 0 && fshut(stdout, "<stdout>") < 0)
		exit(EXIT_TOOL);
	exit(status);
}

/* -v: one timestamped line on stderr. */
static void __attribute__((format(printf, 1, 2)))
vlog(const char *fmt, ...)
{
	char stamp[40], msg[DESC_MAX + 256];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (!verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	weprintf("%s.%03ld: %s", stamp, now.tv_nsec / 1000000, msg);
}

/* Read a small file whole (procfs and friends); -1 if it cannot be read. */
static ssize_t
slurp(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	n = readall(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

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

/* A command line for people to read, cut at CMD_MAX with "...". */
static void
cmdline(char *out, size_t size, char *const argv[])
{
	char big[CMD_MAX * 2];
	size_t len = 0;
	int i;

	big[0] = '\0';
	for (i = 0; argv[i]; i++) {
		if (i > 0 && len + 1 < sizeof(big)) {
			big[len++] = ' ';
			big[len] = '\0';
		}
		putarg(big, sizeof(big), &len, argv[i], strlen(argv[i]));
	}
	if (len > CMD_MAX || len >= size) {
		len = (CMD_MAX < size ? CMD_MAX : size) - 4;
		memcpy(big + len, "...", 4);
	}
	snprintf(out, size, "%s", big);
}

/* The command line of a live process, from /proc/PID/cmdline. */
static void
proc_cmdline(long long pid, char *out, size_t size)
{
	char path[64], buf[4096], *argv[256];
	ssize_t n;
	int i = 0;
	char *p;

	snprintf(path, sizeof(path), "/proc/%lld/cmdline", pid);
	out[0] = '\0';
	if ((n = slurp(path, buf, sizeof(buf))) <= 0)
		return;
	for (p = buf; p < buf + n && i < 255; p += strlen(p) + 1)
		argv[i++] = p;
	argv[i] = NULL;
	cmdline(out, size, argv);
}

/* When a live process started, in seconds since the epoch; -1 if unknown. */
static long long
proc_started(long long pid)
{
	char buf[8192], *p;
	long long ticks = proc_start(pid), btime = -1;
	long hz = sysconf(_SC_CLK_TCK);

	if (ticks < 0 || hz <= 0 || slurp("/proc/stat", buf, sizeof(buf)) < 0)
		return -1;
	if ((p = strstr(buf, "\nbtime ")))
		btime = strtoll(p + 7, NULL, 10);
	return btime > 0 ? btime + ticks / hz : -1;
}

/*
 * Parse a holder record: the first bytes of a lock file.  Anyone who
 * could write the file chose these bytes, so nothing is trusted: after
 * the magic line every line is "key value" in printable ASCII up to a
 * line "end", numbers are strict, strings bounded, unknown keys skipped
 * (a later version may add some).  0 and *r filled for a complete record
 * (pid, since, host and cmd present), -1 otherwise.  A fuzz harness
 * reaches this function by including lock.c.
 */
static int
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
			if (strtonum_(num, key == PID ? 1 : 0,
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
		proc_cmdline(pid, cmd, sizeof(cmd));
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
 * believed. The record names a command only; a live local holder's
 * command line comes from /proc, as ps(1) would show it to the caller.
 */
static void
describe(int fd, const struct stat *st, char *out, size_t size)
{
	char buf[RECORD_SIZE], host[128], boot[40], when[96], cmd[CMD_MAX + 8];
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
	cmd[0] = '\0';
	if (local)
		proc_cmdline(r.pid, cmd, sizeof(cmd));
	snprintf(out, size, "held by pid %lld (%s) on %s since %s",
	    r.pid, cmd[0] ? cmd : r.cmd, r.host, when);
}

/*
 * Write our record into the lock file, in place at offset 0, while we
 * hold the exclusive lock and before the exec, so that the pid is the
 * command's own. Only into a file with one name that is empty or already
 * holds a record: a file that holds anything else (a script locking
 * itself, as flock(1) users do) is locked but left as it is, and a second
 * name may be a link to a file that is not a lock at all.
 *
 * The record names the command, not its arguments: it outlives the job,
 * and arguments carry passwords that the command itself may hide from
 * ps(1) once it runs. The live command line comes from /proc when asked.
 *
 * The record goes through a second descriptor on the same inode, open for
 * reading and writing and closed before the exec: the lock's own is
 * read-only (see lock_open), or the caller's write-only one (lock_fd).
 */
static void
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
		vlog("%s: %s: no holder record", path, S_ISREG(st->st_mode) ?
		    "more than one name" : "not a regular file");
		return;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	wfd = open(self, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (wfd < 0 || fstat(wfd, &ws) < 0 || ws.st_dev != st->st_dev ||
	    ws.st_ino != st->st_ino) {
		vlog("%s: not writable here: no holder record", path);
		if (wfd >= 0)
			close(wfd);
		return;
	}
	n = pread(wfd, buf, mlen, 0);
	if (n < 0) {
		weprintf("%s: holder record: read:", path);
		close(wfd);
		return;
	}
	if (n > 0 && ((size_t)n < mlen || memcmp(buf, RECORD_MAGIC, mlen) != 0)) {
		vlog("%s: holds other data: no holder record", path);
		close(wfd);
		return;
	}
	thishost(host, sizeof(host), boot, sizeof(boot));
	cmdline(line, sizeof(line), (char *const[]){ (char *)cmd, NULL });
	start = proc_start(pid);
	len = snprintf(buf, sizeof(buf), RECORD_MAGIC "pid %lld\nstart %lld\nboot %s\n"
	    "host %s\nsince %lld\ncmd %s\nend\n", pid,
	    start < 0 ? 0 : start, boot[0] ? boot : "-", host,
	    (long long)time(NULL), line);
	if (len < 0 || len >= RECORD_SIZE) {
		close(wfd);
		return;
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
}

static void
onalarm(int sig)
{
	(void)sig;
	expired = 1;
}

/*
 * The -w deadline: SIGALRM without SA_RESTART interrupts the blocking
 * flock(2).  The timer keeps firing every 10 ms after the deadline: an
 * alarm that lands between the test of expired and the flock(2) call
 * would otherwise be lost and the wait would never end.
 */
static double
tv2s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void
s2tv(double s, struct timeval *tv)
{
	tv->tv_sec = (time_t)s;
	tv->tv_usec = (suseconds_t)((s - (double)tv->tv_sec) * 1e6);
	if (tv->tv_sec == 0 && tv->tv_usec == 0)
		tv->tv_usec = 1;
}

static void
timer_arm(double secs)
{
	struct sigaction sa;
	struct itimerval it;
	sigset_t set;

	/*
	 * An alarm the caller set (alarm(2) before exec) is theirs: if it is
	 * due before our deadline it ends the wait, and goes off as it would
	 * have (timer_disarm); if later, it is set again for what is left.
	 */
	getitimer(ITIMER_REAL, &oldtimer);
	clock_gettime(CLOCK_MONOTONIC, &armedat);
	callers = timerisset(&oldtimer.it_value) && tv2s(&oldtimer.it_value) < secs;
	if (callers)
		secs = tv2s(&oldtimer.it_value);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onalarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &oldalarm);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, &oldmask);
	memset(&it, 0, sizeof(it));
	s2tv(secs, &it.it_value);
	it.it_interval.tv_usec = 10000;
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		eprintf(EXIT_TOOL, "setitimer:");
	armed = 1;
}

/* Back to what we were given, so that the command inherits it unchanged. */
static void
timer_disarm(void)
{
	struct itimerval it;
	double left;

	if (!armed)
		return;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sigaction(SIGALRM, &oldalarm, NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	armed = 0;
	if (!timerisset(&oldtimer.it_value))
		return;
	left = tv2s(&oldtimer.it_value) - elapsed(&armedat);
	if (left <= 0 || (callers && expired)) {
		raise(SIGALRM);		/* the caller's alarm went off while we waited */
		return;
	}
	it.it_interval = oldtimer.it_interval;
	s2tv(left, &it.it_value);
	setitimer(ITIMER_REAL, &it, NULL);
}

static const char *
kind(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a fifo" :
	    S_ISSOCK(m) ? "a socket" : S_ISCHR(m) || S_ISBLK(m) ? "a device" :
	    "not a regular file";
}

/* A lock file is a regular file or a directory; 0 or -1 with a message. */
static int
checktype(const char *path, mode_t m)
{
	if (S_ISREG(m) || S_ISDIR(m))
		return 0;
	weprintf("%s: is %s: refusing to lock it", path, kind(m));
	return -1;
}

/*
 * Whoever can open the lock file can hold it for as long as they like:
 * flock(2) asks for no more than a read-only descriptor. Whoever can write
 * its directory can swap it for another file while we hold it, and a
 * second name may be a link to a file that is nobody's lock. So the lock
 * file must be ours or root's, private, in a directory that only we or
 * root can change, or a sticky one (/run/lock, /tmp) where nobody else
 * may remove or rename a file of ours. --public lets other users take
 * part (and so delay or refuse us) but still refuses a planted file.
 */
/* The directory's part of the rules: whoever may change it, and how. */
static int
dirshared(const char *path, struct stat *ds, char **dir)
{
	*dir = parentdir(path);
	if (stat(*dir, ds) < 0)
		eprintf(EXIT_TOOL, "%s: stat:", *dir);
	return othersmaywrite(ds);
}

static void
checkdir(const char *path, int public)
{
	struct stat ds;
	char *dir;

	if (dirshared(path, &ds, &dir) && !(ds.st_mode & S_ISVTX) && !public)
		eprintf(EXIT_TOOL, "%s: others can write its directory %s and so swap the "
		    "lock file: use a directory only you can write, or --public", path, dir);
	free(dir);
}

static void
checktrust(const char *path, const struct stat *st, int public)
{
	int foreign = st->st_uid != 0 && st->st_uid != geteuid();
	struct stat ds;
	char *dir;
	int shared = dirshared(path, &ds, &dir);

	if (shared && foreign)
		eprintf(EXIT_TOOL, "%s: owned by uid %u in %s, a directory others can write: "
		    "refusing it, its owner could hold it forever or swap it",
		    path, (unsigned)st->st_uid, dir);
	if (shared && S_ISREG(st->st_mode) && st->st_nlink != 1)
		eprintf(EXIT_TOOL, "%s: has %lu names in %s, a directory others can write: "
		    "refusing it, it may be a link to a file that is not a lock",
		    path, (unsigned long)st->st_nlink, dir);
	free(dir);
	checkdir(path, public);
	if (public)
		return;
	if (foreign)
		eprintf(EXIT_TOOL, "%s: owned by uid %u, who could hold it forever: "
		    "use a lock file of your own, or --public", path, (unsigned)st->st_uid);
	/*
	 * chmod would not take back a descriptor someone opened already:
	 * only a new inode is safe, and guardlock makes it private.
	 */
	if (st->st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))
		eprintf(EXIT_TOOL, "%s: other users may open it (mode %04o) and so hold it "
		    "forever: remove it while no job holds it (guardlock then creates it "
		    "private), or --public", path, (unsigned)(st->st_mode & 07777));
}

/*
 * Open (creating if need be) the lock file without following a symlink
 * and without blocking on a fifo or device: the type is checked before
 * the open and again on the descriptor, since the name may change in
 * between. Read-only is all flock(2) needs, and a command may be the lock
 * file itself (a script that locks itself, as with flock(1)): the kernel
 * will not execute a file that is open for writing. A new lock file is
 * private (0600) unless --public.
 */
static int
lock_open(const char *path, struct stat *st, int public)
{
	const int common = O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
	const mode_t mode = public ? 0644 : 0600;
	struct stat ls;
	int fd = -1, tries;

	for (tries = 0; tries < 100 && fd < 0; tries++) {
		if (lstat(path, &ls) < 0) {
			if (errno != ENOENT)
				eprintf(EXIT_TOOL, "%s: stat:", path);
			/* Refuse before creating: nothing is left behind. */
			checkdir(path, public);
			fd = open(path, O_RDONLY | O_CREAT | O_EXCL | common, mode);
			if (fd < 0 && errno == EEXIST)
				continue;	/* someone else created it: look again */
			if (fd < 0)
				eprintf(EXIT_TOOL, "%s: create:", path);
			/* The mode says who may take part, whatever the umask. */
			if (fchmod(fd, mode) < 0)
				eprintf(EXIT_TOOL, "%s: chmod:", path);
			break;
		}
		if (checktype(path, ls.st_mode) < 0)
			exit(EXIT_TOOL);
		fd = open(path, O_RDONLY | O_NONBLOCK | common |
		    (S_ISDIR(ls.st_mode) ? O_DIRECTORY : 0));
		if (fd < 0 && errno == ENOENT)
			continue;	/* removed since the lstat: look again */
		if (fd < 0 && errno == ELOOP) {
			weprintf("%s: is a symbolic link: refusing to lock it", path);
			exit(EXIT_TOOL);
		}
		if (fd < 0)
			eprintf(EXIT_TOOL, "%s: open:", path);
	}
	if (fd < 0)
		eprintf(EXIT_TOOL, "%s: keeps changing: giving up", path);
	if (fstat(fd, st) < 0)
		eprintf(EXIT_TOOL, "%s: fstat:", path);
	if (checktype(path, st->st_mode) < 0)
		exit(EXIT_TOOL);
	checktrust(path, st, public);
	return fd;
}

/*
 * flock(2) over NFS is a byte-range lock underneath, and an exclusive one
 * needs a descriptor open for writing: there, and only there, the lock
 * descriptor is reopened read-write.
 */
static int
lock_try(int *fd, int op, const char *path, int mayreopen)
{
	char self[64];
	int wfd;

	if (flock(*fd, op | LOCK_NB) == 0)
		return 0;
	if (errno != EBADF || op != LOCK_EX || !mayreopen)
		return -1;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", *fd);
	if ((wfd = open(self, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		errno = EBADF;
		return -1;
	}
	close(*fd);
	*fd = wfd;
	vlog("%s: locked through a read-write descriptor (NFS)", path);
	return flock(*fd, op | LOCK_NB);
}

/* Take the lock: 0, or 1 if busy (-n, or the -w deadline passed). */
static int
lock_take(int *fd, int op, int nonblock, const char *path, const struct stat *st, int mayreopen)
{
	char desc[DESC_MAX];

	if (lock_try(fd, op, path, mayreopen) == 0)
		return 0;
	if (errno != EWOULDBLOCK && errno != EINTR)
		eprintf(EXIT_TOOL, "%s: flock:", path);
	if (nonblock || expired)
		return 1;
	if (verbose) {
		describe(*fd, st, desc, sizeof(desc));
		vlog("%s: waiting: %s", path, desc);
	}
	while (flock(*fd, op) < 0) {
		if (errno != EINTR)
			eprintf(EXIT_TOOL, "%s: flock:", path);
		if (expired)
			return 1;
	}
	return 0;
}

/* Is the locked file still the one that path names? */
static int
still_named(const char *path, const struct stat *st)
{
	struct stat now;

	if (lstat(path, &now) < 0) {
		if (errno == ENOENT)
			return 0;
		eprintf(EXIT_TOOL, "%s: stat:", path);
	}
	return now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

/*
 * Does this process already hold a flock(2) lock on st, through a
 * descriptor it inherited (guardlock under guardlock, a script under
 * flock(1) taking the same lock again)? Then waiting would wait for
 * ourselves. The kernel lists the locks held through each descriptor in
 * /proc/self/fdinfo: "lock:\t1: FLOCK  ADVISORY  WRITE ...". Returns that
 * descriptor, with *shared set for a shared lock, or -1.
 */
static int
held_here(const struct stat *st, int *shared)
{
	char path[64], buf[4096], kind[16], mode[16], *p;
	int fds[256], n, i;
	struct stat fs;

	n = proc_inherited(fds, 256);
	for (i = 0; i < n; i++) {
		if (fstat(fds[i], &fs) < 0 || fs.st_dev != st->st_dev || fs.st_ino != st->st_ino)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fds[i]);
		if (slurp(path, buf, sizeof(buf)) <= 0)
			continue;
		for (p = buf; (p = strstr(p, "lock:")); p++)
			if (sscanf(p, "lock: %*s %15s %*s %15s", kind, mode) == 2 &&
			    strcmp(kind, "FLOCK") == 0) {
				*shared = strcmp(mode, "READ") == 0;
				return fds[i];
			}
	}
	return -1;
}

/*
 * The exec: the lock descriptor is the only one we leave open across it
 * (all others are close-on-exec), and its number goes into GUARDLOCK_FD
 * for a command that must close it before starting a daemon.
 */
static _Noreturn void
run(int fd, const char *file, char *const argv[])
{
	char num[16];

	if (fcntl(fd, F_SETFD, 0) < 0)
		eprintf(EXIT_TOOL, "fcntl:");
	snprintf(num, sizeof(num), "%d", fd);
	if (setenv("GUARDLOCK_FD", num, 1) < 0)
		eprintf(EXIT_TOOL, "setenv:");
	execvp(file, argv);
	execfailed(argv[0]);
}

struct lockopts {
	int op;			/* LOCK_EX or LOCK_SH */
	int nonblock;
	double wait;		/* -w seconds, or < 0 */
	int busy;		/* exit status when busy */
	int quiet;
	int public;
};

static int
lock_run(const char *path, const struct lockopts *o, const char *file, char *const argv[])
{
	char desc[DESC_MAX];
	struct stat st;
	int fd, tries, mine, shared;

	for (tries = 0;; tries++) {
		fd = lock_open(path, &st, o->public);
		if ((mine = held_here(&st, &shared)) >= 0) {
			close(fd);
			if (shared && o->op == LOCK_EX)
				eprintf(EXIT_TOOL, "%s: this process already holds it shared "
				    "(descriptor %d): an exclusive lock would wait for itself",
				    path, mine);
			vlog("%s: already held by this process (descriptor %d)", path, mine);
			run(mine, file, argv);
		}
		if (tries == 0 && !o->nonblock && o->wait > 0)
			timer_arm(o->wait);
		if (lock_take(&fd, o->op, o->nonblock, path, &st, 1)) {
			timer_disarm();
			if (!o->quiet) {
				describe(fd, &st, desc, sizeof(desc));
				weprintf("%s: busy: %s", path, desc);
			}
			vlog("%s: gave up after %.3f s", path, elapsed(&t0));
			return o->busy;
		}
		/*
		 * Someone may have removed or replaced the file while we
		 * waited: then we hold a lock that nobody else will ever ask
		 * for, and must lock what the name means now.
		 */
		if (still_named(path, &st))
			break;
		close(fd);
		if (tries >= 100)
			eprintf(EXIT_TOOL, "%s: replaced again and again: giving up", path);
		vlog("%s: removed or replaced while we waited: locking it again", path);
	}
	timer_disarm();
	vlog("%s: acquired %s lock after %.3f s", path,
	    o->op == LOCK_SH ? "a shared" : "an exclusive", elapsed(&t0));
	if (o->op == LOCK_EX)
		record_write(fd, path, &st, (long long)getpid(), argv[0]);
	run(fd, file, argv);
}

/*
 * flock(1)'s descriptor form, `exec 9>LOCK; guardlock -n 9`: the lock goes
 * on the caller's own open file description, so it stays with the calling
 * shell after we exit (and `-u 9` releases it). The holder is that shell:
 * the record names our parent. The file behind the descriptor answers to
 * the same rules as a named lock file.
 */
static int
lock_fd(const char *num, const struct lockopts *o, int unlock)
{
	char self[64], path[PATH_MAX], desc[DESC_MAX], pcmd[CMD_MAX + 8], *sp;
	long long n;
	struct stat st;
	ssize_t len;
	int fd;

	if (strtonum_(num, 0, INT_MAX, &n) < 0)
		usage(EXIT_TOOL);
	fd = (int)n;
	if (fstat(fd, &st) < 0)
		eprintf(EXIT_TOOL, "descriptor %d:", fd);
	if (unlock) {
		if (flock(fd, LOCK_UN) < 0)
			eprintf(EXIT_TOOL, "descriptor %d: flock:", fd);
		return 0;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	len = readlink(self, path, sizeof(path) - 1);
	if (len < 0)
		eprintf(EXIT_TOOL, "descriptor %d: which file:", fd);
	path[len > 0 ? len : 0] = '\0';
	if (checktype(path, st.st_mode) < 0)
		exit(EXIT_TOOL);
	checktrust(path, &st, o->public);
	if (!o->nonblock && o->wait > 0)
		timer_arm(o->wait);
	if (lock_take(&fd, o->op, o->nonblock, path, &st, 0)) {
		timer_disarm();
		if (!o->quiet) {
			describe(fd, &st, desc, sizeof(desc));
			weprintf("%s: busy: %s", path, desc);
		}
		return o->busy;
	}
	timer_disarm();
	vlog("%s: acquired %s lock on descriptor %d after %.3f s", path,
	    o->op == LOCK_SH ? "a shared" : "an exclusive", fd, elapsed(&t0));
	if (o->op == LOCK_EX) {
		proc_cmdline(getppid(), pcmd, sizeof(pcmd));
		if ((sp = strchr(pcmd, ' ')))
			*sp = '\0';
		record_write(fd, path, &st, (long long)getppid(), pcmd[0] ? pcmd : "?");
	}
	return 0;
}

/*
 * --status: answer without running anything or creating anything. On a
 * local filesystem /proc/locks sees every holder, so nothing is taken: a
 * probe could make a backup starting in the same instant find the lock
 * busy. Over NFS a holder on another client shows only to a probe, which
 * takes the lock for an instant when it is free, as `flock -n LOCK true`
 * would. A lock file we may not open (another user's, private) is
 * described from /proc alone.
 */
static int
status(const char *path)
{
	char desc[DESC_MAX];
	struct holders h;
	struct statfs fs;
	struct stat st;
	int fd, held;

	if (lstat(path, &st) < 0) {
		weprintf("%s: stat:", path);
		return EXIT_UNSURE;
	}
	if (checktype(path, st.st_mode) < 0)
		return EXIT_UNSURE;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno != EACCES) {
		weprintf("%s: open:", path);
		return EXIT_UNSURE;
	}
	if (fd >= 0 && (fstat(fd, &st) < 0 || checktype(path, st.st_mode) < 0)) {
		close(fd);
		return EXIT_UNSURE;
	}
	proc_locks(&st, &h);
	held = h.n > 0;
	if (!held && fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type == NFS_SUPER_MAGIC) {
		if (lock_try(&fd, LOCK_EX, path, 1) == 0) {
			close(fd);
			fd = -1;
		} else if (errno == EWOULDBLOCK) {
			held = 1;
		} else {
			weprintf("%s: flock:", path);
			close(fd);
			return EXIT_UNSURE;
		}
	}
	if (held)
		describe(fd, &st, desc, sizeof(desc));
	if (fd >= 0)
		close(fd);
	puts(held ? desc : "free");
	return fshut(stdout, "<stdout>") < 0 ? EXIT_UNSURE : held ? EXIT_NO : 0;
}

static _Noreturn void
badarg(const char *opt, const char *arg, const char *want)
{
	weprintf("%s: %s: %s", opt, arg, want);
	usage(EXIT_TOOL);
}

int
main(int argc, char *argv[])
{
	enum { OPT_PUBLIC = CHAR_MAX + 1, OPT_STATUS, OPT_VERSION };
	static const struct option longopts[] = {
		{ "conflict-exit-code",	required_argument, NULL, 'E' },
		{ "exclusive",		no_argument,	   NULL, 'x' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "nb",			no_argument,	   NULL, 'n' },
		{ "no-fork",		no_argument,	   NULL, 'F' },
		{ "nonblock",		no_argument,	   NULL, 'n' },
		{ "nonblocking",	no_argument,	   NULL, 'n' },
		{ "public",		no_argument,	   NULL, OPT_PUBLIC },
		{ "quiet",		no_argument,	   NULL, 'q' },
		{ "shared",		no_argument,	   NULL, 's' },
		{ "status",		no_argument,	   NULL, OPT_STATUS },
		{ "timeout",		required_argument, NULL, 'w' },
		{ "unlock",		no_argument,	   NULL, 'u' },
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "version",		no_argument,	   NULL, OPT_VERSION },
		{ "wait",		required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	static char *shargv[4] = { "sh", "-c", NULL, NULL };
	struct lockopts o = { .op = LOCK_EX, .wait = -1, .busy = EXIT_BUSY };
	const char *file;
	char **cmd;
	int c, statusmode = 0, opts = 0, unlock = 0;
	long long busy;

	proc_init();
	setprogname_(argv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	opterr = 0;
	/* "+": options end at LOCKFILE, as in flock(1); the rest is the command's. */
	while ((c = getopt_long(argc, argv, "+E:eFhnqsuvw:x", longopts, NULL)) != -1) {
		opts += c != OPT_STATUS;
		switch (c) {
		case 'E':
			if (strtonum_(optarg, 0, 255, &busy) < 0)
				badarg("-E", optarg, "not a number in 0..255");
			o.busy = (int)busy;
			break;
		case 'F':	/* flock(1)'s "do not fork": guardlock never does */
			break;
		case 'h':
			usage(0);
		case 'n':
			o.nonblock = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 's':
			o.op = LOCK_SH;
			break;
		case 'u':
			unlock = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			if (strtosecs(optarg, &o.wait) < 0)
				badarg("-w", optarg, "not a number of seconds");
			break;
		case 'e':	/* flock(1)'s other name for -x */
		case 'x':
			o.op = LOCK_EX;
			break;
		case OPT_PUBLIC:
			o.public = 1;
			break;
		case OPT_STATUS:
			statusmode = 1;
			break;
		case OPT_VERSION:
			puts("guardlock " VERSION);
			return fshut(stdout, "<stdout>") < 0 ? EXIT_TOOL : 0;
		default:
			badoption(argv);
			usage(EXIT_TOOL);
		}
	}
	argc -= optind;
	argv += optind;

	if (statusmode) {
		/* A checker: bad usage is "could not tell". */
		if (opts > 0 || argc != 1)
			usage(EXIT_UNSURE);
		return status(argv[0]);
	}
	/* -w 0 is -n; -n wins over -w, as in flock(1). */
	if (o.wait == 0)
		o.nonblock = 1;
	if (argc == 1 && argv[0][0] && strspn(argv[0], "0123456789") == strlen(argv[0]))
		return lock_fd(argv[0], &o, unlock);
	if (unlock) {
		weprintf("-u: only with a descriptor number: guardlock -u FD");
		usage(EXIT_TOOL);
	}
	if (argc < 2)
		usage(EXIT_TOOL);
	if (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--command") == 0) {
		if (argc != 3) {
			weprintf("%s: takes exactly one shell command", argv[1]);
			usage(EXIT_TOOL);
		}
		shargv[2] = argv[2];
		file = "/bin/sh";
		cmd = shargv;
	} else {
		file = argv[1];
		cmd = argv + 1;
	}
	return lock_run(argv[0], &o, file, cmd);
}

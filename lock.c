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
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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
	long long pid;		/* the first holder's pid, 0 if not visible */
};

static int verbose;
static struct timespec t0;

/* The -w deadline: see timer_arm(). */
static volatile sig_atomic_t expired;
static struct sigaction oldalarm;
static sigset_t oldmask;
static int armed;

static const char usagetext[] =
	"usage: guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] lockfile command [arg ...]\n"
	"       guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] lockfile -c shell-command\n"
	"       guardlock --status lockfile\n";

static _Noreturn void
usage(int status)
{
	fputs(usagetext, status ? stderr : stdout);
	if (status == 0 && fshut(stdout, "<stdout>") < 0)
		exit(EXIT_TOOL);
	exit(status);
}

static double
elapsed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
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
 * The flock(2) locks that /proc/locks lists on the file st describes:
 * "1: FLOCK  ADVISORY  WRITE 6212 fe:00:10952720 0 EOF", the device as
 * hex major:minor.  Waiters ("1: -> FLOCK ...") are not holders.
 */
static void
proc_locks(const struct stat *st, struct holders *h)
{
	char *line = NULL, *tok[8], *save, *p;
	unsigned int maj, min;
	unsigned long long ino;
	size_t cap = 0;
	FILE *fp;
	int n;

	memset(h, 0, sizeof(*h));
	if (!(fp = fopen("/proc/locks", "re")))
		return;
	while (getline(&line, &cap, fp) > 0) {
		for (n = 0, p = strtok_r(line, " \t\n", &save); p && n < 8;
		    p = strtok_r(NULL, " \t\n", &save))
			tok[n++] = p;
		if (n < 6 || strcmp(tok[1], "FLOCK") != 0)
			continue;
		if (sscanf(tok[5], "%x:%x:%llu", &maj, &min, &ino) != 3 ||
		    maj != major(st->st_dev) || min != minor(st->st_dev) ||
		    ino != (unsigned long long)st->st_ino)
			continue;
		if (h->n++ == 0) {
			h->shared = strcmp(tok[3], "READ") == 0;
			h->pid = strtoll(tok[4], NULL, 10);
			if (h->pid < 0)
				h->pid = 0;
		}
	}
	free(line);
	fclose(fp);
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
since(char *out, size_t size, long long when)
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
 * Who holds the lock on fd, in words: its record, checked against what
 * the kernel says (/proc/locks) and against the process table.  A record
 * that /proc/locks contradicts is stale (flock(1) or a shared holder
 * took the lock since, and they write none) and is not believed.
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
	if (S_ISREG(st->st_mode))
		n = pread(fd, buf, sizeof(buf), 0);
	if (n > 0)
		rec = record_parse(buf, n, &r) == 0;
	proc_locks(st, &h);
	thishost(host, sizeof(host), boot, sizeof(boot));
	local = rec && strcmp(r.host, host) == 0;
	/* A record from an earlier boot of this host describes nobody now. */
	if (local && r.boot[0] && boot[0] && strcmp(r.boot, boot) != 0)
		rec = local = 0;
	if (h.n > 0 && h.shared) {
		proc_cmdline(h.pid, cmd, sizeof(cmd));
		if (h.pid > 0 && cmd[0])
			snprintf(out, size, "held shared by pid %lld (%s)%s", h.pid, cmd,
			    h.n > 1 ? " and others" : "");
		else
			snprintf(out, size, "held shared by %d process%s", h.n, h.n > 1 ? "es" : "");
		return;
	}
	/* The kernel names a holder here: a record from elsewhere, or naming another pid, is stale. */
	if (rec && h.n > 0 && (!local || (h.pid > 0 && h.pid != r.pid)))
		rec = 0;
	if (!rec) {
		cmd[0] = '\0';
		if (h.n > 0 && h.pid > 0)
			proc_cmdline(h.pid, cmd, sizeof(cmd));
		if (cmd[0])
			snprintf(out, size, "held by pid %lld (%s), no holder record", h.pid, cmd);
		else
			snprintf(out, size, "held by another process, no holder record");
		return;
	}
	since(when, sizeof(when), r.since);
	if (local && !alive(&r))
		snprintf(out, size, "held by a descendant that inherited it from pid %lld "
		    "(%s, now gone) on %s since %s", r.pid, r.cmd, r.host, when);
	else
		snprintf(out, size, "held by pid %lld (%s) on %s since %s",
		    r.pid, r.cmd, r.host, when);
}

/*
 * Write our record into the lock file, in place at offset 0, while we
 * hold the exclusive lock and before the exec, so that the pid is the
 * command's own.  Only into a file that is empty or already holds a
 * record: a file that holds anything else (a script locking itself, as
 * flock(1) users do) is locked but left as it is.
 */
static void
record_write(int fd, const char *path, char *const cmd[])
{
	char buf[RECORD_SIZE + 1], boot[40], host[128], line[CMD_MAX + 8];
	size_t mlen = sizeof(RECORD_MAGIC) - 1;
	long long start;
	ssize_t n;
	int len, fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR) {
		vlog("%s: not writable: no holder record", path);
		return;
	}
	n = pread(fd, buf, mlen, 0);
	if (n < 0) {
		weprintf("%s: holder record: read:", path);
		return;
	}
	if (n > 0 && ((size_t)n < mlen || memcmp(buf, RECORD_MAGIC, mlen) != 0)) {
		vlog("%s: holds other data: no holder record", path);
		return;
	}
	thishost(host, sizeof(host), boot, sizeof(boot));
	cmdline(line, sizeof(line), cmd);
	start = proc_start(getpid());
	len = snprintf(buf, sizeof(buf), RECORD_MAGIC "pid %lld\nstart %lld\nboot %s\n"
	    "host %s\nsince %lld\ncmd %s\nend\n", (long long)getpid(),
	    start < 0 ? 0 : start, boot[0] ? boot : "-", host,
	    (long long)time(NULL), line);
	if (len < 0 || len >= RECORD_SIZE)
		return;
	memset(buf + len, ' ', RECORD_SIZE - len - 1);
	buf[RECORD_SIZE - 1] = '\n';
	for (len = 0; len < RECORD_SIZE; len += n) {
		n = pwrite(fd, buf + len, RECORD_SIZE - len, len);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			weprintf("%s: holder record: write:", path);
			return;
		}
	}
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
static void
timer_arm(double secs)
{
	struct sigaction sa;
	struct itimerval it;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onalarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &oldalarm);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, &oldmask);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = (time_t)secs;
	it.it_value.tv_usec = (suseconds_t)((secs - (double)it.it_value.tv_sec) * 1e6);
	if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
		it.it_value.tv_usec = 1;
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

	if (!armed)
		return;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sigaction(SIGALRM, &oldalarm, NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	armed = 0;
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
 * In a world-writable directory (/tmp) another user can plant the lock
 * file before us and then hold it forever, or swap it at will.  One
 * owned by us or by root is fine.
 */
static void
checkowner(const char *path, const struct stat *st)
{
	struct stat ds;
	char *copy, *dir;

	if (st->st_uid == 0 || st->st_uid == geteuid())
		return;
	copy = estrdup(path);
	dir = dirname(copy);
	if (stat(dir, &ds) < 0)
		eprintf(EXIT_TOOL, "%s: stat:", dir);
	if (ds.st_mode & S_IWOTH)
		eprintf(EXIT_TOOL, "%s: owned by uid %u in world-writable directory %s: refusing it, "
		    "its owner could hold it forever or swap it (use /run/lock)",
		    path, (unsigned)st->st_uid, dir);
	free(copy);
}

/*
 * Open (creating if need be) the lock file without following a symlink
 * and without blocking on a fifo or device: the type is checked before
 * the open and again on the descriptor, since the name may change in
 * between.  Regular files open read-write, which flock(2) over NFS needs
 * (read-only if we may not write: the lock works, without a record);
 * directories read-only.
 */
static int
lock_open(const char *path, struct stat *st)
{
	const int common = O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
	struct stat ls;
	int fd = -1, tries;

	for (tries = 0; tries < 100 && fd < 0; tries++) {
		if (lstat(path, &ls) < 0) {
			if (errno != ENOENT)
				eprintf(EXIT_TOOL, "%s: stat:", path);
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | common, 0644);
			if (fd < 0 && errno == EEXIST)
				continue;	/* someone else created it: look again */
			if (fd < 0)
				eprintf(EXIT_TOOL, "%s: create:", path);
			/* Readable by all whatever the umask: the record is for everyone. */
			if (fchmod(fd, 0644) < 0)
				eprintf(EXIT_TOOL, "%s: chmod:", path);
			break;
		}
		if (checktype(path, ls.st_mode) < 0)
			exit(EXIT_TOOL);
		if (S_ISDIR(ls.st_mode)) {
			fd = open(path, O_RDONLY | O_DIRECTORY | common);
		} else {
			fd = open(path, O_RDWR | O_NONBLOCK | common);
			if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
				fd = open(path, O_RDONLY | O_NONBLOCK | common);
		}
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
	checkowner(path, st);
	return fd;
}

/* Take the lock: 0, or 1 if busy (-n, or the -w deadline passed). */
static int
lock_take(int fd, int op, int nonblock, const char *path, const struct stat *st)
{
	char desc[DESC_MAX];

	if (flock(fd, op | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK && errno != EINTR)
		eprintf(EXIT_TOOL, "%s: flock:", path);
	if (nonblock || expired)
		return 1;
	if (verbose) {
		describe(fd, st, desc, sizeof(desc));
		vlog("%s: waiting: %s", path, desc);
	}
	while (flock(fd, op) < 0) {
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
 * Descriptors 0, 1 and 2 open (on /dev/null if we were given them
 * closed), so that the lock descriptor cannot become the command's
 * standard input or our stderr.
 */
static void
stdfds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
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

static int
lock_run(const char *path, int op, int nonblock, double wait, int busy, int quiet,
    const char *file, char *const argv[])
{
	char desc[DESC_MAX];
	struct stat st;
	int fd, tries;

	stdfds();
	if (!nonblock && wait > 0)
		timer_arm(wait);
	for (tries = 0;; tries++) {
		fd = lock_open(path, &st);
		if (lock_take(fd, op, nonblock, path, &st)) {
			timer_disarm();
			if (!quiet) {
				describe(fd, &st, desc, sizeof(desc));
				weprintf("%s: busy: %s", path, desc);
			}
			vlog("%s: gave up after %.3f s", path, elapsed());
			return busy;
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
	    op == LOCK_SH ? "a shared" : "an exclusive", elapsed());
	if (op == LOCK_EX && S_ISREG(st.st_mode))
		record_write(fd, path, argv);
	run(fd, file, argv);
}

/*
 * --status: answer without running anything or creating anything.  The
 * probe takes the lock for an instant when it is free, as `flock -n
 * LOCK true` would: that is the only way to see a holder on another
 * NFS client.
 */
static int
status(const char *path)
{
	char desc[DESC_MAX];
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0) {
		weprintf("%s: stat:", path);
		return EXIT_UNSURE;
	}
	if (checktype(path, st.st_mode) < 0)
		return EXIT_UNSURE;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		weprintf("%s: open:", path);
		return EXIT_UNSURE;
	}
	if (fstat(fd, &st) < 0 || checktype(path, st.st_mode) < 0) {
		close(fd);
		return EXIT_UNSURE;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		close(fd);
		puts("free");
		return fshut(stdout, "<stdout>") < 0 ? EXIT_UNSURE : 0;
	}
	if (errno != EWOULDBLOCK) {
		weprintf("%s: flock:", path);
		close(fd);
		return EXIT_UNSURE;
	}
	describe(fd, &st, desc, sizeof(desc));
	close(fd);
	puts(desc);
	return fshut(stdout, "<stdout>") < 0 ? EXIT_UNSURE : EXIT_NO;
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
	static const struct option longopts[] = {
		{ "conflict-exit-code",	required_argument, NULL, 'E' },
		{ "exclusive",		no_argument,	   NULL, 'x' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "nb",			no_argument,	   NULL, 'n' },
		{ "no-fork",		no_argument,	   NULL, 'F' },
		{ "nonblock",		no_argument,	   NULL, 'n' },
		{ "nonblocking",	no_argument,	   NULL, 'n' },
		{ "quiet",		no_argument,	   NULL, 'q' },
		{ "shared",		no_argument,	   NULL, 's' },
		{ "status",		no_argument,	   NULL, 'S' },
		{ "timeout",		required_argument, NULL, 'w' },
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ "wait",		required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	static char *shargv[4] = { "sh", "-c", NULL, NULL };
	const char *file;
	char **cmd;
	int c, op = LOCK_EX, nonblock = 0, quiet = 0, statusmode = 0, opts = 0;
	long long busy = EXIT_BUSY;
	double wait = -1;

	setprogname_(argv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	opterr = 0;
	/* "+": options end at LOCKFILE, as in flock(1); the rest is the command's. */
	while ((c = getopt_long(argc, argv, "+E:Fhnqsvw:xV", longopts, NULL)) != -1) {
		opts += c != 'S';
		switch (c) {
		case 'E':
			if (strtonum_(optarg, 0, 255, &busy) < 0)
				badarg("-E", optarg, "not a number in 0..255");
			break;
		case 'F':	/* flock(1)'s "do not fork": guardlock never does */
			break;
		case 'h':
			usage(0);
		case 'n':
			nonblock = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			op = LOCK_SH;
			break;
		case 'S':
			statusmode = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			puts("guardlock " VERSION);
			return fshut(stdout, "<stdout>") < 0 ? EXIT_TOOL : 0;
		case 'w':
			if (strtosecs(optarg, &wait) < 0)
				badarg("-w", optarg, "not a number of seconds");
			break;
		case 'x':
			op = LOCK_EX;
			break;
		default:
			if (optopt)
				weprintf("-%c: unknown option or missing argument", optopt);
			else
				weprintf("%s: unknown option or missing argument", argv[optind - 1]);
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
	if (argc < 2)
		usage(EXIT_TOOL);
	/* -w 0 is -n; -n wins over -w, as in flock(1). */
	if (wait == 0)
		nonblock = 1;
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
	return lock_run(argv[0], op, nonblock, wait, (int)busy, quiet, file, cmd);
}

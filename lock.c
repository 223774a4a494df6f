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
#include "record.h"
#include "util.h"

static int verbose;
static struct timespec t0;

/* The -w deadline: see timer_arm(). */
static volatile sig_atomic_t expired;
static struct sigaction oldalarm;
static sigset_t oldmask;
static struct itimerval oldtimer;	/* the caller's alarm, if any */
static struct timespec armedat;
static int armed, callers;		/* callers: the caller's alarm is our deadline */
static int handback;			/* a SIGALRM was pending for the caller */
static volatile sig_atomic_t sent;	/* a SIGALRM of the caller's while we waited */
static int fatalalarm;			/* SIGALRM would kill the caller: default, unblocked */
static struct timespec deadline;	/* CLOCK_MONOTONIC */

static const char usage_guardlock[] =
	"usage: guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] [--public] lockfile command [arg ...]\n"
	"       guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] [--public] lockfile -c shell-command\n"
	"       guardlock [-n | -w seconds] [-s | -x] [-E code] [-q] [-v] [--public] fd\n"
	"       guardlock -u fd\n"
	"       guardlock --status lockfile\n";

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

/* Has the -w deadline passed, by the clock? */
static int
pastdeadline(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

/*
 * Our timer's SIGALRM once the deadline has passed ends the wait; the
 * clock decides, not the signal alone. Any other SIGALRM (another
 * process's kill, a tick of the caller's timer) is the caller's: where
 * it would have killed us (fatalalarm) it does so now, as it would have
 * without -w; otherwise it is handed on when the wait ends (timer_disarm).
 */
static void
onalarm(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl;

	(void)uc;
	if (si && si->si_code == SI_KERNEL && pastdeadline()) {
		expired = 1;
	} else if (fatalalarm) {
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
		raise(sig);		/* blocked in this handler: on its return */
	} else {
		sent = 1;
	}
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

/*
 * Take a pending SIGALRM (blocked in set): 1 if there was one. *bysender
 * is set if one came from a process (kill, sigqueue), not from a timer.
 */
static int
takealarm(const sigset_t *set, int *bysender)
{
	struct timespec none = { 0, 0 };
	siginfo_t si;
	int took = 0;

	while (sigtimedwait(set, &si, &none) == SIGALRM) {
		took = 1;
		if (bysender && si.si_code != SI_KERNEL)
			*bysender = 1;
	}
	return took;
}

static void
timer_arm(double secs)
{
	struct sigaction sa;
	struct itimerval it;
	sigset_t set;

	/*
	 * Set up with SIGALRM blocked, so that no tick of the caller's timer
	 * reaches our handler before our timer has taken its place.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	sigaction(SIGALRM, NULL, &oldalarm);
	fatalalarm = oldalarm.sa_handler == SIG_DFL && !sigismember(&oldmask, SIGALRM);
	/*
	 * A SIGALRM pending now is the caller's: blocked by them, it is taken
	 * aside and handed back, still pending, to the command (timer_disarm);
	 * not blocked, it is their timer going off this instant, and it acts
	 * as it would have, under their own disposition.
	 */
	if (sigismember(&oldmask, SIGALRM)) {
		handback = takealarm(&set, NULL);
	} else {
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = onalarm;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	/*
	 * An alarm the caller set (alarm(2) before exec) is theirs. If it
	 * would kill us and is due before our deadline, it is the deadline,
	 * and goes off as it would have; otherwise it is set again for what
	 * is left (timer_disarm).
	 */
	getitimer(ITIMER_REAL, &oldtimer);
	clock_gettime(CLOCK_MONOTONIC, &armedat);
	callers = timerisset(&oldtimer.it_value) && tv2s(&oldtimer.it_value) < secs && fatalalarm;
	if (callers)
		secs = tv2s(&oldtimer.it_value);
	memset(&it, 0, sizeof(it));
	s2tv(secs, &it.it_value);
	/* The deadline is what the timer was set to, to the microsecond. */
	deadline = armedat;
	deadline.tv_sec += it.it_value.tv_sec;
	deadline.tv_nsec += (long)it.it_value.tv_usec * 1000;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	it.it_interval.tv_usec = 10000;
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		eprintf(EXIT_TOOL, "setitimer:");
	armed = 1;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Back to what we were given, so that the command inherits it unchanged. */
static void
timer_disarm(void)
{
	struct itimerval it;
	sigset_t set;
	double left;
	int late = 0;

	if (!armed)
		return;
	/*
	 * Our timer stopped with SIGALRM blocked, and a tick of it that was
	 * generated but not yet delivered taken here: restoring the old
	 * action first would let that tick kill us (valgrind, for one,
	 * delivers signals late).
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	/* A sent one caught here is the caller's, as in onalarm. */
	takealarm(&set, &late);
	if (late)
		sent = 1;
	sigaction(SIGALRM, &oldalarm, NULL);
	/*
	 * What was the caller's goes back to the process, not this thread:
	 * pending as it came, or delivered now as it would have been.
	 */
	if (handback || sent)
		kill(getpid(), SIGALRM);
	armed = 0;
	if (timerisset(&oldtimer.it_value)) {
		left = tv2s(&oldtimer.it_value) - elapsed(&armedat);
		if (left <= 0 || (callers && expired)) {
			kill(getpid(), SIGALRM);	/* it went off while we waited */
			left = tv2s(&oldtimer.it_interval);
		}
		if (left > 0) {
			it.it_interval = oldtimer.it_interval;
			s2tv(left, &it.it_value);
			setitimer(ITIMER_REAL, &it, NULL);
		}
	}
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
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
/* The directory's part of the rules: who may change it, or those above it. */
static int
dirclass(const char *path, char **dir)
{
	struct stat ds;
	int r;

	*dir = parentdir(path);
	if ((r = dirtrust(*dir, &ds)) < 0)
		eprintf(EXIT_TOOL, "%s:", *dir);
	return r;
}

static void
checkdir(const char *path, int public)
{
	char *dir;

	if (dirclass(path, &dir) == DIR_SHARED && !public)
		eprintf(EXIT_TOOL, "%s: others can change its directory %s, or one above it, "
		    "and so swap the lock file: use a directory only you can write, or --public",
		    path, dir);
	free(dir);
}

static void
checktrust(const char *path, const struct stat *st, int public)
{
	int foreign = st->st_uid != 0 && st->st_uid != geteuid();
	char *dir;
	int shared = dirclass(path, &dir) != DIR_PRIVATE;

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
	if (S_ISDIR(st->st_mode) && (st->st_mode & (S_IRGRP | S_IROTH)))
		eprintf(EXIT_TOOL, "%s: other users may open this directory (mode %04o) and so "
		    "hold it forever: lock a directory of mode 0700, or --public", path,
		    (unsigned)(st->st_mode & 07777));
	if (S_ISREG(st->st_mode) && (st->st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)))
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
		record_describe(*fd, st, desc, sizeof(desc));
		vlog("%s: waiting: %s", path, desc);
	}
	while (flock(*fd, op) < 0) {
		if (errno != EINTR)
			eprintf(EXIT_TOOL, "%s: flock:", path);
		if (expired || (armed && pastdeadline()))
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
	return sameinode(&now, st);
}

/*
 * The exec: the lock descriptor is the only one we leave open across it
 * (all others are close-on-exec), and its number goes into GUARDLOCK_FD
 * for a command that must close it before starting a daemon.
 */
static _Noreturn void
execute(int fd, const char *file, char *const argv[])
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

/* Gave up: say who holds the lock, unless -q; the status for busy. */
static int
busy(int fd, const struct stat *st, const char *path, const struct lockopts *o)
{
	char desc[DESC_MAX];

	timer_disarm();
	if (!o->quiet) {
		record_describe(fd, st, desc, sizeof(desc));
		weprintf("%s: busy: %s", path, desc);
	}
	vlog("%s: gave up after %.3f s", path, elapsed(&t0));
	return o->busy;
}

static int
lock_run(const char *path, const struct lockopts *o, const char *file, char *const argv[])
{
	struct stat st;
	const char *why;
	int fd, tries, mine, shared;

	for (tries = 0;; tries++) {
		fd = lock_open(path, &st, o->public);
		if ((mine = flock_inherited(&st, &shared)) >= 0) {
			close(fd);
			if (shared && o->op == LOCK_EX)
				eprintf(EXIT_TOOL, "%s: this process already holds it shared "
				    "(descriptor %d): an exclusive lock would wait for itself",
				    path, mine);
			vlog("%s: already held by this process (descriptor %d)", path, mine);
			timer_disarm();
			execute(mine, file, argv);
		}
		if (tries == 0 && !o->nonblock && o->wait > 0)
			timer_arm(o->wait);
		if (lock_take(&fd, o->op, o->nonblock, path, &st, 1))
			return busy(fd, &st, path, o);
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
	if (o->op == LOCK_EX && (why = record_write(fd, path, &st, (long long)getpid(), argv[0])))
		vlog("%s: %s: no holder record", path, why);
	execute(fd, file, argv);
}

/*
 * flock(1)'s descriptor form, `exec 9>LOCK; guardlock -n 9`: the lock goes
 * on the caller's own open file description, so it stays with the calling
 * shell after we exit (and `-u 9` releases it). The file behind the
 * descriptor answers to the same rules as a named lock file, but it is the
 * caller's: no record goes into it, since the caller may write its own
 * there (`echo $$ >&9`, the pidfile idiom), and a waiter learns the
 * holder from /proc.
 */
static int
lock_fd(const char *num, const struct lockopts *o, int unlock)
{
	char self[64], path[PATH_MAX];
	long long n;
	struct stat st;
	ssize_t len;
	int fd;

	if (parsenum(num, 0, INT_MAX, &n) < 0)
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
	if (lock_take(&fd, o->op, o->nonblock, path, &st, 0))
		return busy(fd, &st, path, o);
	timer_disarm();
	vlog("%s: acquired %s lock on descriptor %d after %.3f s", path,
	    o->op == LOCK_SH ? "a shared" : "an exclusive", fd, elapsed(&t0));
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
	held = flock_holders(&st, NULL, 0) > 0;
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
		record_describe(fd, &st, desc, sizeof(desc));
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
	setargv0(argv[0]);
	usagetext = usage_guardlock;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	opterr = 0;
	/* "+": options end at LOCKFILE, as in flock(1); the rest is the command's. */
	while ((c = getopt_long(argc, argv, "+E:eFhnqsuvw:x", longopts, NULL)) != -1) {
		opts += c != OPT_STATUS;
		switch (c) {
		case 'E':
			if (parsenum(optarg, 0, 255, &busy) < 0)
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
			return version();
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

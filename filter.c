/*
 * gzsafe: compress a stream into a staged file beside OUTPUT and rename it
 * onto OUTPUT only when everything went well. See man/gzsafe.1.
 *
 * The stream is cut into blocks that worker threads deflate in parallel,
 * each primed with the 32 KiB before it, so that the joined blocks are one
 * ordinary gzip member whose bytes do not depend on the thread count. A
 * writer thread puts the blocks out in order, hashing what it writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "digest.h"
#include "gzcheck.h"
#include "gzpool.h"
#include "proc.h"
#include "sidecar.h"
#include "util.h"

#define WHY 512		/* room for the reason nothing was committed */

enum { LEVEL_MAX = 12 };	/* libdeflate's levels: 0 stores, 10 to 12 are its slowest */
/*
 * The default block: what bench/gzsafe.sh measured as the fastest size
 * whose output stays within 1% of pigz -6 on database-like data (blocks are
 * compressed apart, so smaller ones lose matches across their edges).
 */
#define BLOCK_DEFAULT (1024 * 1024)

struct opts {
	int level;
	int threads;
	size_t block;		/* bytes per block */
	int mode;		/* -m, or -1 */
	int noreplace;		/* -N */
	int digest;
	int verify;
	int nosync;
	int verbose;
	int quiet;		/* -t -q: failures only */
	int tar;
	const char *status;	/* --status-file */
	int statusfd;		/* --status-fd, or -1 */
};

static struct atomic data, side;
static volatile pid_t child = -1;

static const char usage_gzsafe[] =
	"usage: gzsafe [-0..-12 | --fast | --best] [-p threads] [-b kib] [-m mode] [-N]\n"
	"              [--digest] [--verify] [--no-sync] [--status-file path | --status-fd n]\n"
	"              [-v] output [command [arg ...]]\n"
	"       gzsafe -t [-q | -v] [--tar] [file | - ...]\n";

/*
 * The producer's end: 0 and *wst, or -1 if how it ended cannot be known
 * (waitpid failed: with SIGCHLD ignored the kernel would have reaped it,
 * and a status we never saw is not a success).
 */
static int
reap(int *wst)
{
	sigset_t all, old;
	siginfo_t si;
	pid_t r;

	/*
	 * Wait without reaping first: while the producer is a zombie its pid
	 * cannot be reused, so a signal handler that forwards to child never
	 * hits a stranger. Then, with signals held, forget the pid and reap.
	 */
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	r = child;
	child = -1;
	sigprocmask(SIG_SETMASK, &old, NULL);
	while ((r = waitpid(r, wst, 0)) < 0 && errno == EINTR)
		;
	return r < 0 ? -1 : 0;
}

/*
 * Start COMMAND with its stdout on a pipe; the pipe's read end, or -1 with
 * errno set and *execerr saying whether it was the exec that failed.
 */
static int
spawn(char **argv, int *execerr)
{
	int fds[2], ep[2], e, e2;
	ssize_t n;

	*execerr = 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		e = errno;
		close(fds[0]);
		close(fds[1]);
		errno = e;
		return -1;
	}
	switch ((child = proc_fork())) {
	case -1:
		e = errno;
		close(fds[0]);
		close(fds[1]);
		close(ep[0]);
		close(ep[1]);
		errno = e;
		return -1;
	case 0:
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(EXIT_TOOL);
		execvp(argv[0], argv);
		/* Tell the parent why, through a pipe that exec would have closed. */
		e = errno;
		writeall(ep[1], &e, sizeof(e));
		_exit(e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
	}
	close(fds[1]);
	close(ep[1]);
	n = readall(ep[0], &e, sizeof(e));
	close(ep[0]);
	if (n == sizeof(e)) {
		reap(&e2);
		close(fds[0]);
		*execerr = 1;
		errno = e;
		return -1;
	}
	return fds[0];
}

/*
 * The producer's status in pipe mode, read after the producer's side has
 * closed the pipe. --status-fd N: from a descriptor the caller opened for
 * us, no name involved. --status-file PATH: a FIFO is opened at start (so
 * the writer's open never blocks) and holds only what this run wrote; a
 * regular file must have been written since gzsafe started, and is removed
 * once read so that it can never count twice.
 *
 * A status decides whether a backup is committed, so whoever could write
 * or swap the file could commit a failed run. The file must be ours, not a
 * link, writable by nobody else, one name; its directory must be one that
 * nobody else may change, or sticky with the file already ours at start.
 * Otherwise a link planted there would also turn the shell's own
 * `echo $? > PATH` against whatever file it names. Checked at start,
 * before a producer runs for hours, and again on the descriptor we read.
 */
struct status {
	int fd;			/* --status-fd, or the FIFO opened at start; -1 */
	int isfd;		/* from --status-fd */
	int existed;		/* the regular file was there, non-empty, at start */
	struct stat st;		/* and looked like this */
};

/* Is st a status file we may believe? NULL, or why not. */
static const char *
statusbad(const struct stat *st)
{
	if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode))
		return S_ISLNK(st->st_mode) ? "a symbolic link" : "not a regular file or FIFO";
	if (st->st_uid != geteuid())
		return "owned by another user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by others";
	if (S_ISREG(st->st_mode) && st->st_nlink != 1)
		return "a file with more than one name";
	return NULL;
}

static int
statusopen(const struct opts *o, struct status *s, char *why)
{
	const char *bad;
	struct stat st, ds;
	char *dir;
	int cls;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (o->statusfd >= 0) {
		if (fstat(o->statusfd, &st) < 0) {
			snprintf(why, WHY, "--status-fd %d: %s", o->statusfd, strerror(errno));
			return -1;
		}
		s->fd = o->statusfd;
		s->isfd = 1;
		fcntl(s->fd, F_SETFD, FD_CLOEXEC);	/* the producer needs none of it */
		return 0;
	}
	dir = parentdir(o->status);
	if ((cls = dirtrust(dir, &ds)) < 0)
		snprintf(why, WHY, "%s: %s", dir, strerror(errno));
	free(dir);
	if (cls < 0)
		return -1;
	if (lstat(o->status, &st) < 0) {
		if (errno != ENOENT) {
			snprintf(why, WHY, "%s: %s", o->status, strerror(errno));
			return -1;
		}
		if (cls != DIR_PRIVATE) {
			snprintf(why, WHY, "status file %s: not there yet, in a directory others "
			    "can write: create a FIFO there first (mkfifo) or use a private directory",
			    o->status);
			return -1;
		}
		return 0;
	}
	if ((bad = statusbad(&st))) {
		snprintf(why, WHY, "status file %s: %s; refusing it", o->status, bad);
		return -1;
	}
	if (cls == DIR_SHARED) {
		snprintf(why, WHY, "status file %s: others can change its directory, or one "
		    "above it, and swap it; use a private directory", o->status);
		return -1;
	}
	if (S_ISFIFO(st.st_mode)) {
		s->fd = open(o->status, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (s->fd < 0 || fstat(s->fd, &s->st) < 0 || !sameinode(&s->st, &st)) {
			snprintf(why, WHY, "status file %s: changed while opened", o->status);
			return -1;
		}
		return 0;
	}
	if (st.st_size > 0) {
		s->existed = 1;
		s->st = st;
	}
	return 0;
}

static int
samefile(const struct stat *a, const struct stat *b)
{
	return sameinode(a, b) && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * A line with one number: "0", "0\n". At most a few bytes are read, and
 * only digits are ever repeated in a message: a status file is not a way
 * to print someone's secret.
 */
static int
statusparse(const char *buf, ssize_t n, const char *what, char *why, size_t whysize)
{
	char num[8];
	ssize_t i;
	long long v;

	for (i = 0; i < n && buf[i] != '\n'; i++)
		if (buf[i] < '0' || buf[i] > '9' || i >= (ssize_t)sizeof(num) - 1) {
			snprintf(why, whysize, "%s: not a status", what);
			return -1;
		}
	if (i == 0 || (i < n && i + 1 != n)) {
		snprintf(why, whysize, i == 0 ? "no status in %s" : "%s: not a status", what);
		return -1;
	}
	memcpy(num, buf, (size_t)i);
	num[i] = '\0';
	if (parsenum(num, 0, 255, &v) < 0) {
		snprintf(why, whysize, "%s: not a status", what);
		return -1;
	}
	if (v != 0) {
		snprintf(why, whysize, "producer reported status %lld", v);
		return -1;
	}
	return 0;
}

/*
 * A descriptor's status is a line, or what came before the producer's side
 * closed it; one that stays open and silent (the caller kept a copy of the
 * write end) must not hang us forever: after STATUSWAIT seconds what was
 * read is all there is.
 */
#define STATUSWAIT 60

static ssize_t
readwithin(int fd, char *buf, size_t size, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec t0;
	size_t got = 0;
	ssize_t r;
	int left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (got < size) {
		left = (int)((secs - elapsed(&t0)) * 1000);
		if (left <= 0)
			break;
		if ((r = poll(&pfd, 1, left)) < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		r = read(fd, buf + got, size - got);
		if (r == 0)
			break;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		if (r > 0)
			got += (size_t)r;
		if (memchr(buf, '\n', got))
			break;	/* the status line is whole */
	}
	return (ssize_t)got;
}

/* 0 if the producer reported 0; else a reason in why. */
static int
statusread(const struct opts *o, struct status *s, char *why, size_t whysize)
{
	char buf[16], what[WHY / 2];
	const char *bad = NULL;
	struct stat st;
	ssize_t n;
	int fd = s->fd;

	if (s->isfd)
		snprintf(what, sizeof(what), "status descriptor %d", o->statusfd);
	else
		snprintf(what, sizeof(what), "status file %s", o->status);
	if (fd < 0 && (fd = open(o->status,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
		snprintf(why, whysize, "no status in %s: %s", o->status, strerror(errno));
		return -1;
	}
	if (!s->isfd && (fstat(fd, &st) < 0 || (bad = statusbad(&st)) ||
	    (s->existed && samefile(&st, &s->st)))) {
		close(fd);
		snprintf(why, whysize, "%s: %s", what, bad ? bad :
		    "not written by this run (stale?)");
		return -1;
	}
	n = s->isfd ? readwithin(fd, buf, sizeof(buf), STATUSWAIT) : readall(fd, buf, sizeof(buf));
	if (!s->isfd)
		close(fd);
	if (!s->isfd && s->fd < 0)
		unlink(o->status);
	if (n < 0) {
		snprintf(why, whysize, "%s: %s", what, strerror(errno));
		return -1;
	}
	return statusparse(buf, n, what, why, whysize);
}

/* Refuse what rename(2) would not treat as replacing a file's contents. */
static int
checkoutput(const char *path, struct stat *st, char *why)
{
	const char *what;
	int r = atomic_target(path, st, &what);

	if (r < 0)
		snprintf(why, WHY, "%s: %s", path, what);
	return r;
}

/*
 * Stage OUTPUT's replacement and give it, before any data, the access the
 * old file had: owner and group, mode, POSIX ACL and user.* extended
 * attributes, as `gzip > F` keeps F's inode (atomic_like: only from a file
 * of ours or root's). -m sets the mode and leaves any ACL behind: it says
 * exactly who may read. The old file is judged and read through one
 * descriptor, so that a name swapped in between gives nothing.
 */
static int
stage(struct atomic *a, const char *path, int exists, int forced, char *why)
{
	int what = ATOMIC_OWNER | ATOMIC_XATTR | (forced < 0 ? ATOMIC_MODE | ATOMIC_ACL : 0);
	const char *step;
	int old = -1, r = -1;

	if (atomic_open(a, path, 0600) < 0) {
		snprintf(why, WHY, "%s: cannot stage a temporary file: %s", path, strerror(errno));
		return -1;
	}
	if (exists)
		old = openat(a->dirfd, a->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (atomic_like(a, old, NULL, what, &step) < 0)
		snprintf(why, WHY, "%s: cannot carry over its %s: %s", path, step, strerror(errno));
	else if (forced >= 0 && atomic_dropacl(a) < 0)
		snprintf(why, WHY, "%s: cannot drop the directory's default ACL: %s", path,
		    strerror(errno));
	else if (forced >= 0 && fchmod(a->fd, (mode_t)forced) < 0)
		snprintf(why, WHY, "%s: chmod: %s", path, strerror(errno));
	else
		r = 0;
	if (old >= 0)
		close(old);
	return r;
}

/* The sidecar is readable and writable by exactly those who have the archive. */
static int
stagesidecar(struct atomic *a, const char *scpath, char *why)
{
	const char *step;
	struct stat st;

	if (atomic_open(a, scpath, 0600) < 0) {
		snprintf(why, WHY, "%s: cannot stage a temporary file: %s", scpath, strerror(errno));
		return -1;
	}
	if (fstat(data.fd, &st) < 0 || atomic_copyattrs(a, data.fd, &st,
	    ATOMIC_OWNER | ATOMIC_MODE | ATOMIC_ACL, &step) < 0) {
		snprintf(why, WHY, "%s: cannot give it the archive's %s: %s", scpath, step,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Stage OUTPUT.b2 beside OUTPUT, written and synced: it is published after OUTPUT. */
static int
stagedigest(struct gzpool *pool, const char *path, const char *scpath, const struct opts *o,
    char *why)
{
	unsigned char md[DIGEST_MAX];
	struct stat st;
	char *line;
	size_t n;
	int r = 0;

	/* Checked at start too; again now, since hours may have passed. */
	if (checkoutput(scpath, &st, why) < 0 || stagesidecar(&side, scpath, why) < 0)
		return -1;
	gzpool_digest(pool, md);
	line = sidecar_line(md, DIGEST_MAX, lastpart(path), 0, &n);
	if (writeall(side.fd, line, n) < 0 ||
	    (!o->nosync && atomic_sync(&side) < 0)) {
		snprintf(why, WHY, "%s: write: %s", scpath, strerror(errno));
		r = -1;
	} else if (atomic_flush(&side) < 0) {
		snprintf(why, WHY, "%s: close: %s", scpath, strerror(errno));
		r = -1;
	}
	free(line);
	return r;
}

static int
unchanged(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one line that says why nothing was committed. */
static int
unchanged(const char *path, const char *fmt, ...)
{
	char why[WHY + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	weprintf("%s; %s left unchanged", why, path);
	return 0;
}

/*
 * Data first, then its sidecar: a crash between the two renames leaves
 * the new archive beside the old digest, a mismatch that sumcheck
 * reports, never an old archive vouched for by a new digest.
 */
static int
commit(const char *path, const char *scpath, const struct opts *o, char *why)
{
	int locked, old, r;

	locked = atomic_lockdir(&data, ATOMIC_LOCKWAIT);
	/*
	 * Hold the archive being replaced open across both renames, so that
	 * the first one only drops a name: freeing a big file's blocks takes
	 * milliseconds, and waits for our close, after the sidecar followed.
	 * That keeps the window between the renames to a few microseconds.
	 */
	old = o->digest ? openat(data.dirfd, data.name, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1;
	if (atomic_publish(&data, o->noreplace ? ATOMIC_NOREPLACE : 0) < 0) {
		snprintf(why, WHY, "%s: %s", path, strerror(errno));
		atomic_unlockdir(&data, locked);
		if (old >= 0)
			close(old);
		return -1;
	}
	r = o->digest ? atomic_publish(&side, 0) : 0;
	atomic_unlockdir(&data, locked);
	if (old >= 0)
		close(old);
	if (r < 0) {
		weprintf("%s: %s committed, but its sidecar could not be:", scpath, path);
		return EXIT_TOOL;
	}
	if (!o->nosync && atomic_syncdir(&data) < 0) {
		weprintf("%s: committed, but fsync of its directory failed:", path);
		return EXIT_TOOL;
	}
	return 0;
}

/* What became of the producer: 0 if it exited 0, else its status after saying so. */
static int
producer(const char *path, char **cmd, int wst)
{
	if (WIFEXITED(wst) && WEXITSTATUS(wst) == 0)
		return 0;
	if (WIFSIGNALED(wst))
		unchanged(path, "%s killed by signal %d", cmd[0], WTERMSIG(wst));
	else
		unchanged(path, "%s exited with status %d", cmd[0], exitcode(wst));
	return exitcode(wst);
}

/* Everything that can be refused is refused before a producer runs for hours. */
static int
prepare(const char *path, const char *scpath, struct stat *st, int *exists,
    const struct opts *o, char *why)
{
	struct stat sst;

	if ((*exists = checkoutput(path, st, why)) < 0)
		return -1;
	if (*exists && o->noreplace) {
		snprintf(why, WHY, "%s: exists; not replaced (-N)", path);
		return -1;
	}
	if (scpath && checkoutput(scpath, &sst, why) < 0)
		return -1;
	return 0;
}

static int
gzcompress(const char *path, char **cmd, int stdinclosed, const struct opts *o)
{
	struct gzpool_opts po = {
		.level = o->level, .threads = o->threads, .block = o->block,
		.digest = o->digest, .verify = o->verify, .nosync = o->nosync,
		.verbose = o->verbose, .label = path
	};
	struct gzpool *pool = NULL;
	struct status status;
	struct stat st, now;
	char why[WHY], *scpath = o->digest ? sidecar_path(path) : NULL;
	int exists, in = STDIN_FILENO, wst = 0, r = EXIT_TOOL, execerr;

	if (prepare(path, scpath, &st, &exists, o, why) < 0) {
		weprintf("%s", why);
		free(scpath);
		return EXIT_TOOL;
	}
	if (!cmd && stdinclosed) {
		free(scpath);
		weprintf("standard input: closed: nothing to compress; %s left unchanged", path);
		return EXIT_TOOL;
	}
	if ((o->status || o->statusfd >= 0) && statusopen(o, &status, why) < 0) {
		unchanged(path, "%s", why);
		free(scpath);
		return EXIT_TOOL;
	}
	proc_catchfatal(atomic_cleanup, &child);
	/*
	 * Only our messages could meet a closed pipe, and a log reader gone
	 * away is no reason to lose a backup, or to die after committing one
	 * with a status that says nothing was: write errors on stderr are
	 * ignored instead. The producer gets SIGPIPE back (proc_fork).
	 */
	if (!proc_ignored(SIGPIPE))
		signal(SIGPIPE, SIG_IGN);
	if (stage(&data, path, exists, o->mode, why) < 0 ||
	    !(pool = gzpool_start(data.fd, &po, why, WHY)))
		goto failed;
	if (cmd && (in = spawn(cmd, &execerr)) < 0) {
		snprintf(why, WHY, "%s: %s%s", cmd[0], execerr ? "" : "cannot start it: ",
		    strerror(errno));
		if (execerr)
			r = errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
		goto failed;
	}
	if (gzpool_feed(pool, in, why, WHY) < 0) {
		/* Our own failure: the producer need not go on for nothing. */
		if (cmd && child > 0)
			kill(child, SIGTERM);
		if (cmd) {
			close(in);
			reap(&wst);
		}
		goto failed;
	}
	if (cmd) {
		close(in);
		if (reap(&wst) < 0) {
			snprintf(why, WHY, "%s: cannot tell how it ended: waitpid: %s",
			    cmd[0], strerror(errno));
			goto failed;
		}
		if ((r = producer(path, cmd, wst)) != 0)
			goto out;
	}
	r = EXIT_TOOL;
	if ((o->status || o->statusfd >= 0) && statusread(o, &status, why, sizeof(why)) < 0) {
		r = EXIT_NO;
		goto failed;
	}
	if (!o->nosync && atomic_sync(&data) < 0) {
		snprintf(why, WHY, "%s: fsync: %s", path, strerror(errno));
		goto failed;
	}
	if (atomic_flush(&data) < 0) {
		snprintf(why, WHY, "%s: close: %s", path, strerror(errno));
		goto failed;
	}
	if (o->verify && gzpool_verified(pool, why, WHY) < 0)
		goto failed;
	if (o->digest && stagedigest(pool, path, scpath, o, why) < 0)
		goto failed;
	/* A file planted since the start would fail the rename: say why. */
	if (checkoutput(path, &now, why) < 0)
		goto failed;
	if ((r = commit(path, scpath, o, why)) < 0) {
		r = EXIT_TOOL;
		goto failed;
	}
	if (r == 0 && o->verbose)
		gzpool_progress(pool, ", committed");
	goto out;
failed:
	unchanged(path, "%s", why);
out:
	gzpool_free(pool);
	atomic_abort(&data);	/* after a commit: only releases, nothing is staged */
	if (o->digest)
		atomic_abort(&side);
	free(scpath);
	return r;
}

/*
 * An operand of -t, open for reading: "-" is standard input, and the
 * caller's own descriptors (/dev/stdin, <(...)) are read as they come,
 * pipes included. Any other name must be a regular file and no symbolic
 * link: a glob over a directory others write may bring a planted FIFO
 * that would stall the check, or a link to a file they may not read.
 */
static int
testopen(const char *name, int stdinclosed)
{
	struct stat st;

	if (strcmp(name, "-") == 0 || strcmp(name, "/dev/stdin") == 0 ||
	    strcmp(name, "/dev/fd/0") == 0 || strcmp(name, "/proc/self/fd/0") == 0) {
		if (stdinclosed) {
			errno = EBADF;
			return -1;
		}
		return STDIN_FILENO;
	}
	return openoperand(name, &st);
}

/* -t: each file OK, or its first fault with where it is. */
static char outbuf[4 * PATH_MAX + 1024];

static int
test(char **files, int stdinclosed, const struct opts *o)
{
	struct gzcheck g;
	int fd, r, status = 0, unreadable = 0;
	char *name;

	/* One write(2) a verdict, the longest too: parallel runs never splice lines. */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));	/* glibc ignores the size of NULL */
	for (; *files; files++) {
		/* A glob may bring names that others chose: none reaches a terminal raw. */
		name = printname(*files, NULL);
		if ((fd = testopen(*files, stdinclosed)) < 0) {
			operandfailed(name);
			unreadable = 1;
			free(name);
			continue;
		}
		r = gzcheck_fd(fd, o->tar, &g);
		if (fd != STDIN_FILENO)
			close(fd);
		if (r == GZ_IOERR) {
			errno = g.err;
			weprintf("%s:", name);
			unreadable = 1;
		} else if (r == GZ_BAD) {
			printf("%s: FAILED: %s at byte %llu (member %lu)\n", name, g.msg,
			    (unsigned long long)g.offset, g.member);
			status = EXIT_NO;
		} else if (o->quiet) {
			;
		} else if (o->verbose) {
			printf("%s: OK (%lu member%s, %llu -> %llu bytes)\n", name, g.member,
			    g.member == 1 ? "" : "s", (unsigned long long)g.in,
			    (unsigned long long)g.out);
		} else {
			printf("%s: OK\n", name);
		}
		fflush(stdout);
		free(name);
	}
	if (fshut(stdout, "<stdout>") < 0)
		return EXIT_UNSURE;
	return status ? status : unreadable ? EXIT_UNSURE : 0;
}

static int
number(const char *s, long long min, long long max, const char *what, int bad)
{
	long long v;

	if (parsenum(s, min, max, &v) < 0) {
		weprintf("%s: invalid %s (%lld..%lld)", s, what, min, max);
		usage(bad);
	}
	return v;
}

enum {
	OPT_BEST = CHAR_MAX + 1, OPT_DIGEST, OPT_FAST, OPT_NOSYNC, OPT_STATUSFD, OPT_STATUSFILE, OPT_TAR,
	OPT_VERIFY, OPT_VERSION
};

static const struct option longopts[] = {
	{ "best", no_argument, NULL, OPT_BEST },
	{ "digest", no_argument, NULL, OPT_DIGEST },
	{ "fast", no_argument, NULL, OPT_FAST },
	{ "help", no_argument, NULL, 'h' },
	{ "no-sync", no_argument, NULL, OPT_NOSYNC },
	{ "quiet", no_argument, NULL, 'q' },
	{ "status-fd", required_argument, NULL, OPT_STATUSFD },
	{ "status-file", required_argument, NULL, OPT_STATUSFILE },
	{ "tar", no_argument, NULL, OPT_TAR },
	{ "test", no_argument, NULL, 't' },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};
/* '+': options end at OUTPUT, so COMMAND's own flags pass through. */
static const char shortopts[] = "+0123456789b:hm:Np:qtv";

/*
 * -t makes gzsafe a checker, whose usage errors are "could not tell" (2)
 * wherever -t stands among the options: look for it before parsing.
 */
static int
testmode(int argc, char *argv[])
{
	int c, t = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		t |= c == 't';
	optind = 0;	/* glibc: start again from scratch */
	return t;
}

int
main(int argc, char *argv[])
{
	static char dash[] = "-";
	static char *stdinonly[] = { dash, NULL };
	struct opts o = { .level = 6, .block = BLOCK_DEFAULT, .mode = -1, .statusfd = -1 };
	int c, before, closed, checker, compressonly = 0, testonly = 0, digits = 0;
	char *end;
	long m;

	setargv0(argv[0]);
	usagetext = usage_gzsafe;
	checker = testmode(argc, argv);
	opterr = 0;
	failstatus = checker ? EXIT_UNSURE : EXIT_TOOL;
	closed = proc_init();
	for (;;) {
		before = optind ? optind : 1;	/* glibc: 0 starts afresh at 1 */
		if ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) == -1)
			break;
		switch (c) {
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			/*
			 * Digits in one word make one level: "-12" is 12, and
			 * "-1 -2" is 2. glibc keeps optind on a word until its
			 * last letter is taken.
			 */
			o.level = digits ? o.level * 10 + (c - '0') : c - '0';
			if (o.level > LEVEL_MAX) {
				weprintf("-%d: no such level (0 to %d)", o.level, LEVEL_MAX);
				usage(failstatus);
			}
			digits = optind == before;
			compressonly = 1;
			continue;
		case OPT_FAST: o.level = 1; compressonly = 1; break;
		case OPT_BEST: o.level = 9; compressonly = 1; break;
		case 'b':
			o.block = (size_t)number(optarg, 32, 1024 * 1024, "block size in KiB",
			    failstatus) * 1024;
			compressonly = 1;
			break;
		case 'm':
			errno = 0;
			m = strtol(optarg, &end, 8);
			if (!*optarg || *end || errno || m < 0 || m > 07777) {
				weprintf("%s: invalid mode (octal, 0..7777)", optarg);
				usage(failstatus);
			}
			o.mode = m;
			compressonly = 1;
			break;
		case 'N': o.noreplace = compressonly = 1; break;
		case 'p':
			o.threads = number(optarg, 1, 256, "thread count", failstatus);
			compressonly = 1;
			break;
		case 't': break;
		case 'q': o.quiet = testonly = 1; break;
		case 'v': o.verbose = 1; break;
		case OPT_DIGEST: o.digest = compressonly = 1; break;
		case OPT_VERIFY: o.verify = compressonly = 1; break;
		case OPT_NOSYNC: o.nosync = compressonly = 1; break;
		case OPT_STATUSFILE: o.status = optarg; compressonly = 1; break;
		case OPT_STATUSFD:
			o.statusfd = number(optarg, 3, INT_MAX, "status descriptor", failstatus);
			compressonly = 1;
			break;
		case OPT_TAR: o.tar = testonly = 1; break;
		case 'h': usage(0);
		case OPT_VERSION:
			return version();
		default:
			badoption(argv);
			usage(failstatus);
		}
		digits = 0;
	}
	argc -= optind;
	argv += optind;

	if (checker) {
		if (compressonly) {
			weprintf("-t checks files: compression options do not go with it");
			usage(EXIT_UNSURE);
		}
		if (argc < 1 && isatty(STDIN_FILENO)) {
			weprintf("-t: standard input is a terminal: name a file, or redirect it");
			usage(EXIT_UNSURE);
		}
		return test(argc < 1 ? stdinonly : argv, closed & 1, &o);
	}
	if (testonly) {
		weprintf("-q and --tar go with -t");
		usage(EXIT_TOOL);
	}
	if (argc < 1)
		usage(EXIT_TOOL);
	if (!*argv[0]) {
		weprintf("OUTPUT is an empty name");
		usage(EXIT_TOOL);
	}
	if (argc > 1 && (o.status || o.statusfd >= 0)) {
		weprintf("--status-file and --status-fd are for pipe mode; a COMMAND's status is seen directly");
		usage(EXIT_TOOL);
	}
	if (o.status && o.statusfd >= 0) {
		weprintf("--status-file and --status-fd: choose one");
		usage(EXIT_TOOL);
	}
	if (!o.threads)
		o.threads = nprocs();
	atexit(atomic_cleanup);
	return gzcompress(argv[0], argc > 1 ? argv + 1 : NULL, closed & 1, &o);
}

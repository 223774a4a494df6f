/*
 * verify.c: sumcheck, BLAKE2b sidecars in GNU b2sum's format, written
 * atomically and checked strictly (exit 1 corrupt, 2 could not tell).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "atomic.h"
#include "digest.h"
#include "proc.h"
#include "sidecar.h"
#include "util.h"

/*
 * 128 KiB reads: the kernel's readahead (doubled by POSIX_FADV_SEQUENTIAL)
 * keeps the disk streaming, and the buffer stays in the core's L2 cache
 * between read's copy and the hash. With 1 MiB the data went out to L3 and
 * back, measurably slower from the page cache (doc/bench.md).
 */
#define BUFSZ (128 * 1024)
static char outbuf[4 * SIDECAR_LINEMAX + 1024];

enum { WRITE, PRINT, CHECK };
enum { H_OK, H_OPEN, H_READ, H_NOTREG, H_CHANGED, H_LINK, H_FOREIGN };

/*
 * How a name is opened. A name listed in a digest file was written by the
 * digest file's owner, who may be anyone: it is opened beneath the digest
 * file's directory and through no symbolic link at all. A name on the
 * command line may come from a glob over a directory others can write: its
 * last component is not followed. The caller's own descriptors
 * (/dev/stdin, /dev/fd/N) are links by nature, and may be pipes.
 */
enum { BY_LISTED, BY_OPERAND, BY_OWNFD };

struct job {
	int dirfd;		/* name is relative to it; -1: standard input */
	int by;			/* BY_*: how name is opened */
	uid_t owner;		/* BY_LISTED: who wrote the digest file */
	char *name;		/* to open */
	char *show;		/* for output and messages, control characters escaped */
	int escaped;		/* show has escapes: b2sum marks such a line with a '\\' */
	size_t len;		/* digest bytes */
	unsigned char want[DIGEST_MAX];	/* CHECK: from the digest line */
	unsigned char got[DIGEST_MAX];
	int skip;		/* decided before hashing: nothing to read */
	int res, err;		/* R_*, errno for H_OPEN and H_READ */
	int done;		/* guarded by pool.mu */
	struct stat hashed;	/* H_OK: the inode that was hashed */
};

/* One digest file of a check, and what became of its lines. */
struct group {
	char *path;
	int dirfd;
	uid_t owner;		/* the digest file's: its names are opened for them */
	size_t first, njobs;
	int failed;		/* could not be read, or not a digest file */
	int nbad, nok, nmismatch, nunread;
};

/*
 * The workers take jobs in argument order; main() reports them in the same
 * order as each completes. mu guards next and every job's done flag; the
 * rest of a job belongs to its hasher until done is set, then to main().
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a job became done */
	struct job *jobs;
	size_t njobs, cap, next;
	pthread_t *threads;
	int nthreads;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static struct {
	int mode, force, form, jobs, quiet, status, strict, warn, ignoremissing;
	int lenset;		/* -l given: with -c, only lines of that length count */
	size_t len;
} opt = { .mode = WRITE, .len = DIGEST_MAX };

static const char usage_sumcheck[] =
	"usage: sumcheck [-f] [-l BITS] [--tag] [-b | -t] [-j JOBS] FILE...\n"
	"       sumcheck -p [-l BITS] [--tag] [-b | -t] [-z] [FILE | -]...\n"
	"       sumcheck -c [-j JOBS] [-l BITS] [-q | --status] [--strict] [-w] [--ignore-missing] [FILE | -]...\n";

/* A name as it is shown: see printname(). */
static struct job *
newjob(int dirfd, int by, const char *name, const char *show, size_t len)
{
	struct job *j;

	if (pool.njobs == pool.cap) {
		pool.cap = pool.cap ? 2 * pool.cap : 16;
		pool.jobs = erealloc(pool.jobs, pool.cap * sizeof(*pool.jobs));
	}
	j = &pool.jobs[pool.njobs++];
	memset(j, 0, sizeof(*j));
	j->dirfd = dirfd;
	j->by = by;
	j->owner = geteuid();
	j->name = estrdup(name);
	j->show = printname(show, &j->escaped);
	j->len = len;
	return j;
}

/*
 * Open a listed name beneath dirfd, through no symbolic link: openat2(2)
 * where the kernel has it (5.6), else one component at a time, each
 * opened without following. ".." never gets here: the parser refuses it.
 */
static int
openbeneath(int dirfd, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
	};
	char *copy, *comp, *next;
	int fd, cur, e;

	fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	copy = estrdup(name);
	cur = dirfd;
	for (comp = copy; ; comp = next) {
		while (*comp == '/')
			comp++;
		if ((next = strchr(comp, '/')))
			*next++ = '\0';
		while (next && *next == '/')
			next++;
		if (next && !*next)
			next = NULL;
		fd = openat(cur, *comp ? comp : ".", next ?
		    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC :
		    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		e = errno;
		if (cur != dirfd)
			close(cur);
		if (fd < 0 || !next)
			break;
		cur = fd;
	}
	free(copy);
	/* O_PATH | O_NOFOLLOW on a link opens the link itself: ENOTDIR then. */
	if (fd < 0)
		errno = e == ENOTDIR ? ELOOP : e;
	return fd;
}

static int
openjob(const struct job *j)
{
	int fl = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;

	switch (j->by) {
	case BY_LISTED:
		return openbeneath(j->dirfd, j->name);
	case BY_OPERAND:
		return openat(j->dirfd, j->name, fl | O_NOFOLLOW);
	default:
		return openat(j->dirfd, j->name, fl);
	}
}

/*
 * The file may not move under us: same inode, size and mtime throughout,
 * and as many bytes read as it says it has, except where sizes are not
 * bytes: /proc and /sys files say 0 or 4096 whatever they hold.
 */
static int
changed(int fd, const struct stat *a, const struct stat *b, off_t nread)
{
	struct statfs fs;

	if (nread != b->st_size && fstatfs(fd, &fs) == 0 &&
	    (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC))
		nread = b->st_size;
	return !sameinode(a, b) || a->st_size != b->st_size || nread != b->st_size ||
	    a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

static void
hash(struct job *j, unsigned char *buf)
{
	struct stat before, after;
	struct digest d;
	off_t total = 0;
	ssize_t r;
	int fd = 0, reg;

	/* O_NONBLOCK: a FIFO planted under a listed name must not hang us. */
	if (j->dirfd != -1 && (fd = openjob(j)) < 0) {
		j->res = errno == ELOOP ? H_LINK : H_OPEN;
		j->err = errno;
		return;
	}
	if (fstat(fd, &before) < 0) {
		j->res = H_READ;
		j->err = errno;
		goto out;
	}
	reg = S_ISREG(before.st_mode);
	if (!reg && !(opt.mode == PRINT && (j->dirfd == -1 || j->by == BY_OWNFD))) {
		j->res = H_NOTREG;
		j->err = S_ISDIR(before.st_mode) ? EISDIR : 0;
		goto out;
	}
	/*
	 * Root checking another user's digest file does not read, on that
	 * user's behalf, what that user could not read (a hard link to a
	 * private file in their directory would make the verdict an oracle).
	 */
	if (j->by == BY_LISTED && j->owner != 0 && j->owner != geteuid() &&
	    before.st_uid != j->owner && !(before.st_mode & S_IROTH)) {
		j->res = H_FOREIGN;
		goto out;
	}
	if (fd != 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	digest_init(&d, j->len);
	for (;;) {
		r = readsome(fd, buf, BUFSZ);
		if (r < 0) {
			j->res = H_READ;
			j->err = errno;
			goto out;
		}
		if (r == 0)
			break;
		digest_update(&d, buf, (size_t)r);
		total += r;
	}
	if (reg && (fstat(fd, &after) < 0 || changed(fd, &before, &after, total))) {
		j->res = H_CHANGED;
		goto out;
	}
	/* The digest speaks for the name: it must still be this inode. */
	if (reg && j->dirfd != -1 && (fstatat(j->dirfd, j->name, &after,
	    j->by == BY_OWNFD ? 0 : AT_SYMLINK_NOFOLLOW) < 0 ||
	    !sameinode(&after, &before))) {
		j->res = H_CHANGED;
		goto out;
	}
	digest_final(&d, j->got);
	j->hashed = before;
	j->res = H_OK;
out:
	if (fd != 0)
		close(fd);
}

static void *
hasher(void *arg)
{
	unsigned char *buf = emalloc(BUFSZ);
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&pool.mu);
		j = pool.next < pool.njobs ? &pool.jobs[pool.next++] : NULL;
		pthread_mutex_unlock(&pool.mu);
		if (!j)
			break;
		if (!j->skip)
			hash(j, buf);
		pthread_mutex_lock(&pool.mu);
		j->done = 1;
		pthread_cond_broadcast(&pool.cv);
		pthread_mutex_unlock(&pool.mu);
	}
	free(buf);
	return arg;
}

static void
startpool(void)
{
	int n = opt.jobs;

	if ((size_t)n > pool.njobs)
		n = (int)pool.njobs;
	pool.threads = ecalloc((size_t)n + 1, sizeof(*pool.threads));
	for (pool.nthreads = 0; pool.nthreads < n; pool.nthreads++) {
		errno = pthread_create(&pool.threads[pool.nthreads], NULL, hasher, NULL);
		if (errno)
			eprintf(EXIT_UNSURE, "pthread_create:");
	}
}

/* Every job has been reported: the workers are leaving, or gone. */
static void
stoppool(void)
{
	size_t i;

	while (pool.nthreads > 0)
		pthread_join(pool.threads[--pool.nthreads], NULL);
	free(pool.threads);
	for (i = 0; i < pool.njobs; i++) {
		free(pool.jobs[i].name);
		free(pool.jobs[i].show);
	}
	free(pool.jobs);
}

static struct job *
waitjob(size_t i)
{
	pthread_mutex_lock(&pool.mu);
	while (!pool.jobs[i].done)
		pthread_cond_wait(&pool.cv, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
	return &pool.jobs[i];
}

/* The reason a job could not be hashed, as one message. */
static void
whyfailed(const struct job *j)
{
	switch (j->res) {
	case H_OPEN:
		/* b2sum's words, so that scripts that match them still do. */
		errno = j->err;
		weprintf("%s:", j->show);
		break;
	case H_READ:
		errno = j->err;
		weprintf("%s:", j->show);
		break;
	case H_NOTREG:
		if (j->err == EISDIR)
			weprintf("%s: Is a directory", j->show);	/* as b2sum says it */
		else
			weprintf("%s: not a regular file", j->show);
		break;
	case H_CHANGED:
		weprintf("%s: changed while reading", j->show);
		break;
	case H_LINK:
		weprintf("%s: is or passes through a symbolic link: not followed", j->show);
		break;
	case H_FOREIGN:
		weprintf("%s: uid %u, who wrote the digest file, may not read it: not checked "
		    "on their behalf", j->show, (unsigned)j->owner);
		break;
	}
}

static char *
catstr(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	char *s = emalloc(n + m + 1);

	memcpy(s, a, n);
	memcpy(s + n, b, m + 1);
	return s;
}

/*
 * Under the directory's commit lock, which gzsafe takes too, the file must
 * still be the inode that was hashed: otherwise a writer replaced it since,
 * and this digest would vouch for the wrong bytes.
 */
static int
publish(struct atomic *a, const struct job *j, const char *sc)
{
	struct stat st;
	int locked, r = -1;

	locked = atomic_lockdir(a, ATOMIC_LOCKWAIT);
	if (fstatat(j->dirfd, j->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !sameinode(&st, &j->hashed))
		weprintf("%s: changed while reading; %s not written", j->show, sc);
	else if (atomic_publish(a, opt.force ? 0 : ATOMIC_NOREPLACE) < 0)
		weprintf(errno == EEXIST ? "%s: exists; not replaced (use -f)" :
		    "%s: commit:", sc);
	else
		r = 0;
	atomic_unlockdir(a, locked);
	if (r == 0 && atomic_syncdir(a) < 0) {
		weprintf("%s: fsync of its directory:", sc);
		r = -1;
	}
	return r;
}

/*
 * The sidecar's access is the data file's: its owner and group (we are
 * root), mode and ACL, so that whoever may not read the data may not read
 * its digest either, and whoever may not change the data may not change
 * what vouches for it. Only from a file that is ours or root's; another
 * user's data gets a sidecar of ours, 0666 & ~umask.
 */
static int
likedata(struct atomic *a, const struct job *j, const char *sc)
{
	const char *step;
	int fd, r;

	/* Judged and read through one descriptor: the name may be swapped meanwhile. */
	fd = openat(j->dirfd, j->name, O_PATH | O_CLOEXEC | (j->by == BY_OWNFD ? 0 : O_NOFOLLOW));
	if ((r = atomic_like(a, fd, &j->hashed, ATOMIC_OWNER | ATOMIC_MODE | ATOMIC_ACL,
	    &step)) < 0)
		weprintf("%s: cannot give it %s's %s:", sc, j->show, step);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Publish the sidecar in one step; 0, or -1 after saying why. */
static int
writesidecar(const struct job *j, const char *sc)
{
	struct atomic a;
	char *line;
	size_t n;
	int r = -1;

	if (atomic_open(&a, sc, 0600) < 0) {
		weprintf("%s: create:", sc);
		return -1;
	}
	line = sidecar_line(j->got, j->len, lastpart(j->name), opt.form, &n);
	if (likedata(&a, j, sc) < 0)
		;
	else if (writeall(a.fd, line, n) < 0)
		weprintf("%s: write:", sc);
	else if (atomic_sync(&a) < 0)
		weprintf("%s: fsync:", sc);
	else if (atomic_flush(&a) < 0)
		weprintf("%s: close:", sc);
	else
		r = publish(&a, j, sc);
	atomic_abort(&a);
	free(line);
	return r;
}

static int
writemode(int argc, char **argv)
{
	struct stat st;
	struct job *j;
	size_t i;
	int bad = 0;
	char *sc;

	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			weprintf("-: standard input has no sidecar (use -p)");
			usage(EXIT_UNSURE);
		}
		j = newjob(AT_FDCWD, BY_OPERAND, argv[i], argv[i], opt.len);
		sc = sidecar_path(argv[i]);
		/* Refuse early, and again at publication, which is atomic. */
		if (!opt.force && lstat(sc, &st) == 0)
			j->skip = 1;
		free(sc);
	}
	startpool();
	for (i = 0; i < pool.njobs; i++) {
		j = waitjob(i);
		sc = sidecar_path(j->name);
		if (j->skip) {
			weprintf("%s: exists; not replaced (use -f)", sc);
			bad = 1;
		} else if (j->res != H_OK) {
			if (j->res == H_CHANGED)
				weprintf("%s: changed while reading; %s not written",
				    j->show, sc);
			else
				whyfailed(j);
			bad = 1;
		} else if (writesidecar(j, sc) < 0) {
			bad = 1;
		}
		free(sc);
	}
	stoppool();
	return bad ? EXIT_UNSURE : 0;
}

/* No FILE for -p or -c: standard input, as b2sum. */
static char dash[] = "-";
static char *stdinonly[] = { dash, NULL };

static int
printmode(int argc, char **argv, int stdinclosed)
{
	char *line;
	struct job *j;
	size_t i, n;
	int bad = 0;

	if (argc == 0) {
		argc = 1;
		argv = stdinonly;
	}
	for (i = 0; i < (size_t)argc; i++) {
		j = newjob(strcmp(argv[i], "-") ? AT_FDCWD : -1,
		    ownfd(argv[i]) ? BY_OWNFD : BY_OPERAND, argv[i],
		    strcmp(argv[i], "-") ? argv[i] : "standard input", opt.len);
		/* A closed stdin reopened on /dev/null would hash as empty. */
		if (j->dirfd == -1 && stdinclosed) {
			j->skip = 1;
			j->res = H_READ;
			j->err = EBADF;
		}
	}
	startpool();
	for (i = 0; i < pool.njobs; i++) {
		j = waitjob(i);
		if (j->res != H_OK) {
			whyfailed(j);
			bad = 1;
			continue;
		}
		line = sidecar_line(j->got, j->len, j->name, opt.form, &n);
		fwrite(line, 1, n, stdout);
		fflush(stdout);
		free(line);
	}
	stoppool();
	if (fshut(stdout, "<stdout>") < 0)
		bad = 1;
	return bad ? EXIT_UNSURE : 0;
}

/* As b2sum -c shows a name: a line with escapes starts with a backslash. */
static void
putname(const struct job *j)
{
	if (j->escaped)
		putchar('\\');
	fputs(j->show, stdout);
}

static void
badline(const struct group *g, unsigned long lineno, const char *why)
{
	if (!opt.status)
		weprintf("%s: %lu: improperly formatted BLAKE2b checksum line: %s",
		    g->path, lineno, why);
}

static int
endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * What an operand of -c is. "-": a digest list on standard input, its
 * names relative to the current directory. A name ending in ".b2": a
 * digest file, whose lines name the files to check. FILE with a FILE.b2
 * beside it: a data file, checked against its sidecar, whatever name the
 * sidecar gives it (renamed and dated copies keep their sidecar's text):
 * the verdict is about FILE's bytes and names FILE. Anything else: a
 * manifest (B2SUMS), unless its first line is not a digest line, when it
 * is a data file whose sidecar is missing.
 */
enum { OP_LIST, OP_DATA, OP_GUESS, OP_STDIN };

static char *
digestpath(const char *operand, int *kind)
{
	struct stat st;
	char *sc;

	if (strcmp(operand, "-") == 0) {
		*kind = OP_STDIN;
		return estrdup("standard input");
	}
	*kind = OP_LIST;
	/* A pipe of the caller's (<(b2sum ...)) can only be a digest list. */
	if (endswith(operand, ".b2") || ownfd(operand))
		return estrdup(operand);
	sc = sidecar_path(operand);
	if (lstat(sc, &st) == 0 || errno != ENOENT) {
		*kind = OP_DATA;
		return sc;
	}
	free(sc);
	*kind = OP_GUESS;
	return estrdup(operand);
}

/* The directory names in a digest file are relative to, and the prefix they are shown with. */
static int
namesdir(const char *path, int kind, char **prefix)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	/* Standard input and the caller's pipes: names are the current directory's. */
	if (!slash || kind == OP_STDIN || ownfd(path)) {
		*prefix = estrdup("");
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	dir = estrdup(path);
	dir[slash - path + 1] = '\0';
	*prefix = estrdup(dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return fd;
}

/* A digest file, read in large blocks and handed out a line at a time. */
struct reader {
	int fd;
	int cut;		/* return a too long line at once, the rest unread */
	size_t off, len;
	char buf[65536];
};

/*
 * The next line, without its '\n', into line[SIDECAR_LINEMAX + 1]. A longer
 * line is cut at SIDECAR_LINEMAX + 1 bytes, which the parser refuses as too
 * long, and the rest is skipped: garbage costs no memory. 1 a line, 0 the
 * end, -1 a read error.
 */
static int
nextline(struct reader *rd, char *line, size_t *n)
{
	ssize_t got;
	int any = 0;
	char c;

	*n = 0;
	for (;;) {
		if (rd->off == rd->len) {
			got = readsome(rd->fd, rd->buf, sizeof(rd->buf));
			if (got <= 0)
				return got < 0 ? -1 : any;
			rd->off = 0;
			rd->len = (size_t)got;
		}
		any = 1;
		c = rd->buf[rd->off++];
		if (c == '\n')
			return 1;
		if (*n <= SIDECAR_LINEMAX)
			line[(*n)++] = c;
		else if (rd->cut)
			return 1;
	}
}

/*
 * The one line of a sidecar that speaks for data file `file`: its only
 * digest line, or the one among several that names file's last component.
 * 0, or -1 after saying why (as "could not tell").
 */
static int
pickline(struct group *g, const char *file, struct sidecar_entry *lines, size_t n,
    size_t *pick)
{
	const char *base = lastpart(file);
	size_t i, found = n;

	if (n == 1) {
		*pick = 0;
		return 0;
	}
	for (i = 0; i < n; i++)
		if (strcmp(lines[i].name, base) == 0)
			found = found == n ? i : n + 1;
	if (found < n) {
		*pick = found;
		return 0;
	}
	if (!opt.status)
		weprintf("%s: lists %zu files, %s for %s", g->path, n,
		    found == n ? "none" : "more than one", file);
	return -1;
}

/*
 * Read one digest file into jobs; its lines are vouched for by group g.
 * For a data-file operand its lines are kept aside, and the one that
 * speaks for the operand becomes a job for the operand itself.
 */
static void
readgroup(struct group *g, const char *operand, int stdinclosed)
{
	static struct reader rd;
	struct sidecar_entry e, *kept = NULL;
	char *line, *prefix = NULL, *show;
	struct stat st;
	struct job *j;
	size_t n, nkept = 0, pick, i;
	unsigned long lineno = 0, firstbad = 0;
	const char *firstwhy = NULL;
	int kind, seen = 0, r, got;

	g->path = digestpath(operand, &kind);
	g->first = pool.njobs;
	g->dirfd = namesdir(g->path, kind, &prefix);
	rd.fd = -1;
	rd.off = rd.len = 0;
	/* What may be a data file is judged by its first line: no reading on through GiBs. */
	rd.cut = kind == OP_GUESS;
	g->owner = geteuid();
	if (kind == OP_STDIN && stdinclosed) {
		errno = EBADF;
	} else if (g->dirfd >= 0 && kind == OP_STDIN) {
		rd.fd = STDIN_FILENO;
		/*
		 * A file on standard input (-c <LIST) was written by its owner,
		 * as a LIST given by name: its names are opened for them. So
		 * is a FIFO (-c <FIFO): another user's mkfifo is theirs to
		 * feed. A pipe is its maker's, the caller's shell for
		 * `cat LIST | sumcheck -c`, and so the caller's.
		 */
		if (fstat(STDIN_FILENO, &st) == 0 &&
		    (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)))
			g->owner = st.st_uid;
	} else if (g->dirfd >= 0 && (rd.fd = openoperand(g->path, &st)) >= 0)
		g->owner = st.st_uid;
	if (rd.fd < 0) {
		if (!opt.status)
			operandfailed(g->path);
		g->failed = 1;
		free(prefix);
		return;
	}
	line = emalloc(SIDECAR_LINEMAX + 1);
	e.name = emalloc(SIDECAR_LINEMAX + 2);
	e.onespace = -1;
	while ((got = nextline(&rd, line, &n)) > 0) {
		lineno++;
		r = sidecar_parse(line, n, &e);
		if (r == 0)
			continue;
		if (r < 0 && kind == OP_GUESS && !seen) {
			/* Most likely a data file: do not read on through it. */
			if (!opt.status) {
				show = sidecar_path(operand);
				weprintf("%s: no sidecar %s, and not a digest file (line %lu: %s)",
				    operand, show, lineno, e.why);
				free(show);
			}
			g->failed = 1;
			break;
		}
		seen = 1;
		rd.cut = 0;
		if (r > 0 && e.unsafe && kind != OP_DATA)
			r = -1;	/* e.why says why */
		if (r > 0 && opt.lenset && e.len != opt.len) {
			r = -1;
			e.why = "not of the length -l asks for";
		}
		if (r < 0) {
			g->nbad++;
			if (!firstbad) {
				firstbad = lineno;
				firstwhy = e.why;
			}
			if (opt.warn)
				badline(g, lineno, e.why);
			continue;
		}
		if (kind == OP_DATA) {
			kept = erealloc(kept, (nkept + 1) * sizeof(*kept));
			kept[nkept] = e;
			kept[nkept++].name = estrdup(e.name);
			continue;
		}
		show = catstr(prefix, e.name);
		j = newjob(g->dirfd, BY_LISTED, e.name, show, e.len);
		free(show);
		j->owner = g->owner;
		memcpy(j->want, e.digest, e.len);
	}
	if (got < 0) {
		if (!opt.status)
			weprintf("%s: read:", g->path);
		g->failed = 1;
	}
	if (kind == OP_DATA && nkept > 0 && !g->failed) {
		if (pickline(g, operand, kept, nkept, &pick) < 0)
			g->failed = 1;
		else
			memcpy(newjob(AT_FDCWD, BY_OPERAND, operand, operand,
			    kept[pick].len)->want, kept[pick].digest, kept[pick].len);
	}
	for (i = 0; i < nkept; i++)
		free(kept[i].name);
	free(kept);
	if (rd.fd != STDIN_FILENO)
		close(rd.fd);
	free(line);
	free(e.name);
	free(prefix);
	g->njobs = pool.njobs - g->first;
	if (!g->failed && g->njobs == 0) {
		/* Say why at least once, even without --warn. */
		if (firstbad && !opt.warn)
			badline(g, firstbad, firstwhy);
		if (!opt.status)
			weprintf("%s: no properly formatted checksum lines found", g->path);
		g->failed = 1;
	}
}

static const char *
plural(int n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Report a group's jobs in order, then its summary; 0, EXIT_NO or EXIT_UNSURE. */
static int
report(struct group *g)
{
	struct job *j;
	size_t i;
	int say = !opt.status;

	for (i = g->first; i < g->first + g->njobs; i++) {
		j = waitjob(i);
		if (j->res == H_OK && memcmp(j->got, j->want, j->len) == 0) {
			g->nok++;
			if (say && !opt.quiet) {
				putname(j);
				fputs(": OK\n", stdout);
				fflush(stdout);	/* one write(2) a line (main) */
			}
			continue;
		}
		if (j->res == H_OPEN && j->err == ENOENT && opt.ignoremissing)
			continue;
		if (j->res == H_OK)
			g->nmismatch++;
		else
			g->nunread++;
		if (!say)
			continue;
		if (j->res != H_OK)
			whyfailed(j);
		/* stdout is buffered, stderr is not: keep them in order on a tty. */
		putname(j);
		fputs(j->res == H_OK ? ": FAILED\n" :
		    j->res == H_CHANGED ? ": FAILED changed while reading\n" :
		    ": FAILED open or read\n", stdout);
		fflush(stdout);
	}
	if (g->failed)
		return g->nmismatch ? EXIT_NO : EXIT_UNSURE;
	fflush(stdout);
	if (say && g->nbad)
		weprintf("WARNING: %d %s improperly formatted", g->nbad,
		    plural(g->nbad, "line is", "lines are"));
	if (say && g->nunread)
		weprintf("WARNING: %d listed %s could not be read", g->nunread,
		    plural(g->nunread, "file", "files"));
	if (say && g->nmismatch)
		weprintf("WARNING: %d computed %s did NOT match", g->nmismatch,
		    plural(g->nmismatch, "checksum", "checksums"));
	if (g->nmismatch)
		return EXIT_NO;
	if (g->nok + g->nunread == 0) {
		if (say)
			weprintf("%s: no file was verified", g->path);
		return EXIT_UNSURE;
	}
	if (g->nunread || (opt.strict && g->nbad))
		return EXIT_UNSURE;
	return 0;
}

static int
checkmode(int argc, char **argv, int stdinclosed)
{
	struct group *g;
	int i, r, worst = 0;

	if (argc == 0) {
		argc = 1;
		argv = stdinonly;
	}
	g = ecalloc((size_t)argc, sizeof(*g));
	for (i = 0; i < argc; i++)
		readgroup(&g[i], argv[i], stdinclosed);
	startpool();
	for (i = 0; i < argc; i++) {
		r = report(&g[i]);
		/* A mismatch outranks "could not tell": corruption is news. */
		if (r == EXIT_NO || (r == EXIT_UNSURE && worst == 0))
			worst = r;
	}
	stoppool();
	for (i = 0; i < argc; i++) {
		if (g[i].dirfd >= 0)
			close(g[i].dirfd);
		free(g[i].path);
	}
	free(g);
	if (fshut(stdout, "<stdout>") < 0 && worst == 0)
		worst = EXIT_UNSURE;
	return worst;
}

/* Options that belong to one mode only, and which mode that is. */
static int
misfit(const char *what, const char *mode)
{
	weprintf("%s: only with %s", what, mode);
	return 1;
}

static int
badcombination(int argc, const char *onlycheck, const char *onlywrite, int jflag)
{
	if (opt.mode < 0) {
		weprintf("-c and -p: choose one");
		return 1;
	}
	if (onlycheck && opt.mode != CHECK)
		return misfit(onlycheck, "-c");
	if (onlywrite && opt.mode == CHECK)
		return misfit(onlywrite, "writing or printing digests, not with -c");
	if (opt.mode == PRINT && opt.force)
		return misfit("-f", "writing sidecars, not with -p");
	if (opt.mode == PRINT && jflag)
		return misfit("-j", "-c or writing sidecars, not with -p");
	if (opt.mode == WRITE && argc == 0) {
		weprintf("no FILE given");
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	enum {
		OPT_IGNOREMISSING = CHAR_MAX + 1, OPT_STATUS, OPT_STRICT, OPT_TAG,
		OPT_VERSION
	};
	static const struct option longopts[] = {
		{ "binary", no_argument, NULL, 'b' },
		{ "check", no_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "ignore-missing", no_argument, NULL, OPT_IGNOREMISSING },
		{ "jobs", required_argument, NULL, 'j' },
		{ "length", required_argument, NULL, 'l' },
		{ "print", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "tag", no_argument, NULL, OPT_TAG },
		{ "text", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "warn", no_argument, NULL, 'w' },
		{ "zero", no_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 }
	};
	const char *onlycheck = NULL, *onlywrite = NULL, *onlyprint = NULL, *lenarg = NULL;
	long long n = 0;
	int c, closed, jflag = 0;

	setargv0(argv[0]);
	usagetext = usage_sumcheck;
	failstatus = EXIT_UNSURE;
	closed = proc_init();
	/*
	 * One write(2) a line, as b2sum's line-buffered output, for the
	 * longest line too (a name of SIDECAR_LINEMAX bytes, each escaped
	 * as \xHH): runs in parallel into one file (xargs -P) never splice
	 * two lines. Each line is flushed as it ends.
	 */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));	/* glibc ignores the size of NULL */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "bcfhj:l:pqtwz", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.mode = opt.mode == PRINT ? -1 : CHECK; break;
		case 'p': opt.mode = opt.mode == CHECK ? -1 : PRINT; break;
		case 'f': opt.force = 1; break;
		case OPT_TAG: opt.form |= SIDECAR_TAG; onlywrite = "--tag"; break;
		case 'b': opt.form |= SIDECAR_BINARY; onlywrite = "-b"; break;
		case 't': opt.form &= ~SIDECAR_BINARY; onlywrite = "-t"; break;
		case 'z': opt.form |= SIDECAR_ZERO; onlyprint = "-z"; break;
		case 'l':
			lenarg = optarg;	/* as b2sum 9.4: only the last -l counts */
			break;
		case 'j':
			if (parsenum(optarg, 1, 1024, &n) < 0) {
				weprintf("-j %s: JOBS must be a number from 1 to 1024", optarg);
				usage(EXIT_UNSURE);
			}
			opt.jobs = (int)n;
			jflag = 1;
			break;
		/* As b2sum: of -q, --status and -w, the last counts. */
		case 'q':
			opt.quiet = 1, opt.status = opt.warn = 0;
			onlycheck = "-q";
			break;
		case OPT_STATUS:
			opt.status = 1, opt.quiet = opt.warn = 0;
			onlycheck = "--status";
			break;
		case OPT_STRICT: opt.strict = 1; onlycheck = "--strict"; break;
		case 'w':
			opt.warn = 1, opt.quiet = opt.status = 0;
			onlycheck = "--warn";
			break;
		case OPT_IGNOREMISSING: opt.ignoremissing = 1; onlycheck = "--ignore-missing"; break;
		case 'h': usage(0);
		case OPT_VERSION:
			return version();
		default:
			badoption(argv);
			usage(EXIT_UNSURE);
		}
	}
	argc -= optind;
	argv += optind;

	/* -l 0, as b2sum takes it: the default length, and no filter with -c. */
	if (lenarg && (parsenum(lenarg, 0, 512, &n) < 0 || n % 8 || (n > 0 && n < 8))) {
		weprintf("-l %s: BITS must be a multiple of 8 from 8 to 512, or 0", lenarg);
		usage(EXIT_UNSURE);
	}
	if (lenarg && n > 0) {
		opt.len = (size_t)n / 8;
		opt.lenset = 1;
	}
	if (opt.force && opt.mode == CHECK)
		onlywrite = "-f";
	if (onlyprint && opt.mode != PRINT) {
		weprintf("%s: only with -p, as b2sum takes it only when printing", onlyprint);
		usage(EXIT_UNSURE);
	}
	if (badcombination(argc, onlycheck, onlywrite, jflag))
		usage(EXIT_UNSURE);
	if (!opt.jobs)
		opt.jobs = nprocs();

	proc_catchfatal(atomic_cleanup, NULL);
	atexit(atomic_cleanup);
	switch (opt.mode) {
	case PRINT: return printmode(argc, argv, closed & 1);
	case CHECK: return checkmode(argc, argv, closed & 1);
	default: return writemode(argc, argv);
	}
}

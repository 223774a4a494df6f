/*
 * tests/shim.c: an LD_PRELOAD shim for the test suite, never installed.
 * Faults on cue, with no hook in the programs themselves.
 *
 * SHIM_PAUSE_FILE, SHIM_PAUSE_FIFO: after the first successful read(2) from
 * a file whose name ends in "/$SHIM_PAUSE_FILE", the reading thread opens
 * the FIFO and reads it to its end before returning.  A test holds the
 * program there, changes the file, then closes its end of the FIFO: a file
 * changed mid-read at a known moment, without sleeping.  Each file (by
 * device and inode) pauses once.
 *
 * SHIM_FLIP_PREAD=OFFSET: pread(2) returns the byte at that file offset with
 * its low bit flipped, as a device that lost a bit would (gzsafe --verify
 * reads back with pread).
 *
 * SHIM_B2_SLOW=ref|dispatch, SHIM_B2_LOG=FILE: digest.c times libb2's
 * portable BLAKE2b (blake2b_update_ref) against its dispatched one
 * (blake2b_update), four updates each, and keeps the faster.  The shim makes
 * the named one spin, in those four calls, 20 times their own CPU time plus
 * 2 ms, so the other one must win, whatever this machine (or valgrind)
 * prefers; and it appends to FILE the name of each function when it is
 * first called for real work (its fifth call).  So a test can run every
 * implementation and see which ran.
 *
 * SHIM_NO_DIRSYNC=1: fsync(2) and fdatasync(2) of a directory do nothing
 * and succeed, as a commit protocol that forgot to persist the rename.
 *
 * SHIM_FSYNC_AFTER_RENAME=1: fsync(2) and fdatasync(2) of a regular file
 * succeed at once and are done for real only after the next successful
 * rename (rename, renameat, renameat2), as a protocol that renames the
 * file into place before its data is durable. The descriptor must still be
 * open then; both programs keep it open until the commit is over.
 *
 * Both are the deliberately broken protocols that the power-cut test
 * (t2130, tests/crashfs) must catch.
 *
 * SHIM_EIO_WRITE=1: write(2) to a regular file other than standard output
 * and standard error fails with EIO, as a dying disk would: the exit-status
 * test provokes the programs' I/O failures with it.
 *
 * SHIM_EIO_CLOSE=all|MAXBYTES: close(2) of a regular file open for writing
 * (of at most MAXBYTES: a sidecar, not its archive) closes it and fails
 * with EIO, as NFS reports a write-back that failed late.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

ssize_t read(int, void *, size_t);
ssize_t write(int, const void *, size_t);
ssize_t pread(int, void *, size_t, off_t);
int blake2b_update(void *, const void *, size_t);
int blake2b_update_ref(void *, const void *, size_t);

static ssize_t (*realread)(int, void *, size_t);
static ssize_t (*realpread)(int, void *, size_t, off_t);
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { dev_t dev; ino_t ino; } seen[64];
static int nseen;

/* Is fd the file to pause on, and not paused on yet? Claims it if so. */
static int
claim(int fd)
{
	const char *want = getenv("SHIM_PAUSE_FILE");
	char proc[64], path[PATH_MAX];
	struct stat st;
	size_t n, w;
	ssize_t len;
	int i, r = 0;

	if (!want || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((len = readlink(proc, path, sizeof(path) - 1)) < 0)
		return 0;
	path[len] = '\0';
	n = (size_t)len;
	w = strlen(want);
	if (n <= w || path[n - w - 1] != '/' || strcmp(path + n - w, want) != 0)
		return 0;
	pthread_mutex_lock(&mu);
	for (i = 0; i < nseen; i++)
		if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino)
			break;
	if (i == nseen && nseen < 64) {
		seen[nseen].dev = st.st_dev;
		seen[nseen].ino = st.st_ino;
		nseen++;
		r = 1;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

static void
hold(void)
{
	const char *fifo = getenv("SHIM_PAUSE_FIFO");
	char c;
	int fd;

	if (!fifo || (fd = open(fifo, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (realread(fd, &c, 1) > 0)
		;
	close(fd);
}

ssize_t
read(int fd, void *buf, size_t n)
{
	ssize_t r;

	if (!realread)
		realread = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	r = realread(fd, buf, n);
	if (r > 0 && claim(fd))
		hold();
	return r;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	struct stat st;

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (fd > 2 && getenv("SHIM_EIO_WRITE") && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n);
}

int
close(int fd)
{
	static int (*real)(int);
	const char *max = getenv("SHIM_EIO_CLOSE");
	struct stat st;
	int fl, r;

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "close");
	fl = max && fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (strcmp(max, "all") == 0 || st.st_size <= atoll(max)) ? fcntl(fd, F_GETFL) : -1;
	r = real(fd);
	if (r == 0 && fl >= 0 && (fl & O_ACCMODE) != O_RDONLY) {
		errno = EIO;
		return -1;
	}
	return r;
}

ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	const char *flip = getenv("SHIM_FLIP_PREAD");
	long long at;
	ssize_t r;

	if (!realpread)
		realpread = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
	r = realpread(fd, buf, n, off);
	if (r > 0 && flip && (at = atoll(flip)) >= off && at < off + r)
		((unsigned char *)buf)[at - off] ^= 1;
	return r;
}

static long long
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
b2(int i, void *st, const void *in, size_t n)
{
	static const char *const name[2] = { "blake2b_update", "blake2b_update_ref" };
	static const char *const slowname[2] = { "dispatch", "ref" };
	static int (*real[2])(void *, const void *, size_t);
	static int calls[2];
	const char *slow = getenv("SHIM_B2_SLOW"), *log = getenv("SHIM_B2_LOG");
	long long t, t0;
	FILE *f;
	int call, r;

	pthread_mutex_lock(&mu);
	if (!real[i])
		real[i] = (int (*)(void *, const void *, size_t))dlsym(RTLD_NEXT, name[i]);
	call = ++calls[i];
	pthread_mutex_unlock(&mu);
	if (call == 5 && log && (f = fopen(log, "a")) != NULL) {
		fprintf(f, "%s\n", name[i]);
		fclose(f);
	}
	if (call > 4 || !slow || strcmp(slow, slowname[i]) != 0)
		return real[i](st, in, n);
	/*
	 * Slow by 20 times the call's own cost plus 2 ms: the other code wins
	 * however the two compare, natively or under valgrind.
	 */
	t = cpu_ns();
	r = real[i](st, in, n);
	t = cpu_ns() - t;
	for (t = 20 * t + 2000000, t0 = cpu_ns(); cpu_ns() - t0 < t;)
		;
	return r;
}

int
blake2b_update(void *st, const void *in, size_t n)
{
	return b2(0, st, in, n);
}

int
blake2b_update_ref(void *st, const void *in, size_t n)
{
	return b2(1, st, in, n);
}

/* Deferred syncs of SHIM_FSYNC_AFTER_RENAME; mu guards both. */
#define NDEFER 16
static struct { int fd, data; } defer[NDEFER];
static int ndefer;

static int
realsync(int fd, int data)
{
	static int (*real[2])(int);

	if (!real[data])
		real[data] = (int (*)(int))dlsym(RTLD_NEXT, data ? "fdatasync" : "fsync");
	return real[data](fd);
}

static int
sync1(int fd, int data)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && getenv("SHIM_NO_DIRSYNC"))
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    getenv("SHIM_FSYNC_AFTER_RENAME")) {
		pthread_mutex_lock(&mu);
		if (ndefer < NDEFER) {
			defer[ndefer].fd = fd;
			defer[ndefer].data = data;
			ndefer++;
			pthread_mutex_unlock(&mu);
			return 0;
		}
		pthread_mutex_unlock(&mu);
	}
	return realsync(fd, data);
}

int
fsync(int fd)
{
	return sync1(fd, 0);
}

int
fdatasync(int fd)
{
	return sync1(fd, 1);
}

/* After a rename that succeeded: the syncs that should have come before it. */
static int
renamed(int r)
{
	int e = errno, i;

	if (r == 0) {
		pthread_mutex_lock(&mu);
		for (i = 0; i < ndefer; i++)
			realsync(defer[i].fd, defer[i].data);
		ndefer = 0;
		pthread_mutex_unlock(&mu);
	}
	errno = e;
	return r;
}

int
rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);

	if (!real)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	return renamed(real(from, to));
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	static int (*real)(int, const char *, int, const char *);

	if (!real)
		real = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
	return renamed(real(fromfd, from, tofd, to));
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
	static int (*real)(int, const char *, int, const char *, unsigned int);

	if (!real)
		real = (int (*)(int, const char *, int, const char *, unsigned int))
		    dlsym(RTLD_NEXT, "renameat2");
	return renamed(real(fromfd, from, tofd, to, flags));
}

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
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t read(int, void *, size_t);
ssize_t pread(int, void *, size_t, off_t);

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

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
#include <pthread.h>
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
#include <zlib.h>

#include "atomic.h"
#include "digest.h"
#include "gzcheck.h"
#include "sidecar.h"
#include "util.h"

#define DICT (32 * 1024)	/* deflate's window: what a block may refer back to */
#define VSTRIDE (8 << 20)	/* --verify flushes and rereads in stretches this long */
#define WHY 512		/* room for the reason nothing was committed */

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
	int tar;
	const char *status;	/* --status-file */
};

enum { FREE, FILLED, BUSY, DONE };

struct job {
	int state;
	uint64_t seq;
	int last;		/* the empty final block that ends the stream */
	unsigned char *in, *dict, *out;
	size_t inlen, dictlen, outlen, outcap;
	uLong crc;		/* CRC-32 of in */
};

/*
 * Everything the threads share. lock guards every field below it; jobs
 * move FREE -> FILLED (reader) -> BUSY -> DONE (a worker) -> FREE (writer).
 */
struct pool {
	pthread_mutex_t lock;
	pthread_cond_t filled;	/* a job is FILLED, or stop */
	pthread_cond_t done;	/* a job is DONE, or stop */
	pthread_cond_t freed;	/* a job is FREE, or stop */
	struct job *jobs;
	int njobs;
	uint64_t nextwrite;	/* seq the writer waits for */
	int finished;		/* the writer has written the last block */
	int stop;		/* give up: an error somewhere */
	int err;		/* errno of the first write error */
	const char *errwhat;	/* what failed */
	int level;
	/* The writer's alone, read by main after join: */
	int fd;
	uLong crc;
	uint64_t in, out;
	struct digest dg;
	int digest;
	int verbose;
	struct timespec start, lastshow;
	/*
	 * --verify follows the writer through the file. vlock guards written
	 * and wdone; the rest belongs to the verifier, then to main after join.
	 */
	int verify, nosync;
	pthread_mutex_t vlock;
	pthread_cond_t vmore;	/* written grew, or wdone was set */
	uint64_t written;	/* bytes of the file that are written */
	int wdone;		/* the writer has stopped, for good or ill */
	uint64_t voff, vsynced;
	int vr;			/* gzcheck's verdict */
	struct gzcheck vg;
};

static struct atomic data, side;
static volatile pid_t child = -1;

static const char usagetext[] =
	"usage: gzsafe [-1..-9] [-p threads] [-b kib] [-m mode] [-N] [--digest] [--verify]\n"
	"              [--no-sync] [--status-file path] [-v] output [command [arg ...]]\n"
	"       gzsafe -t [-v] [--tar] file ...\n";

static _Noreturn void
usage(int status)
{
	fputs(usagetext, status ? stderr : stdout);
	if (status == 0 && fshut(stdout, "<stdout>") < 0)
		exit(EXIT_TOOL);
	exit(status);
}

/*
 * A fatal signal: remove what is staged (an O_TMPFILE needs nothing, a
 * named temp is unlinked), pass the signal to the producer, and die of it
 * so that the caller sees what happened.
 */
static void
onsignal(int sig)
{
	atomic_cleanup();
	if (child > 0)
		kill(child, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
catchsignals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsignal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
progress(struct pool *p, const char *what)
{
	double s = since(&p->start);

	weprintf("%s: %llu bytes in, %llu out (%.1f%%), %.1f MB/s%s", data.path,
	    (unsigned long long)p->in, (unsigned long long)p->out,
	    p->in ? 100.0 * p->out / p->in : 0.0, s > 0 ? p->in / s / 1e6 : 0.0, what);
}

static void
fail(struct pool *p, int err, const char *what)
{
	pthread_mutex_lock(&p->lock);
	if (!p->stop) {
		p->stop = 1;
		p->err = err;
		p->errwhat = what;
	}
	pthread_cond_broadcast(&p->filled);
	pthread_cond_broadcast(&p->done);
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/*
 * gcc's -fanalyzer reports a leak when a second realloc fails after a first
 * one moved the buffer: a false positive, since j->out still holds the
 * block and is freed with the job. Suppressed for this function and its
 * one caller, worker(), where the same report resurfaces.
 */
#if defined(__GNUC__) && __GNUC__ >= 10 && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static int
deflateblock(z_stream *z, struct job *j)
{
	int r;

	if (deflateReset(z) != Z_OK)
		return -1;
	if (j->dictlen && deflateSetDictionary(z, j->dict, j->dictlen) != Z_OK)
		return -1;
	z->next_in = j->in;
	z->avail_in = j->inlen;
	j->outlen = 0;
	/*
	 * A sync flush ends each block on a byte boundary, so that blocks
	 * compressed apart can simply be laid end to end.
	 */
	for (;;) {
		if (j->outlen == j->outcap) {
			unsigned char *bigger = realloc(j->out, 2 * j->outcap);

			if (!bigger)
				return -1;	/* j->out is still the job's, freed with it */
			j->out = bigger;
			j->outcap *= 2;
		}
		z->next_out = j->out + j->outlen;
		z->avail_out = j->outcap - j->outlen;
		r = deflate(z, j->last ? Z_FINISH : Z_SYNC_FLUSH);
		j->outlen = j->outcap - z->avail_out;
		if (r == Z_STREAM_END || (r == Z_OK && z->avail_out > 0 && !j->last))
			break;
		if (r != Z_OK && r != Z_BUF_ERROR)
			return -1;
	}
	j->crc = crc32(crc32(0, NULL, 0), j->in, j->inlen);
	return 0;
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	struct job *j;
	z_stream z;
	int i;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, p->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		fail(p, ENOMEM, "deflate");
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		/* The oldest filled block first, so the writer is never starved. */
		j = NULL;
		for (i = 0; i < p->njobs; i++)
			if (p->jobs[i].state == FILLED && (!j || p->jobs[i].seq < j->seq))
				j = &p->jobs[i];
		if (p->stop || p->finished)
			break;
		if (!j) {
			pthread_cond_wait(&p->filled, &p->lock);
			continue;
		}
		j->state = BUSY;
		pthread_mutex_unlock(&p->lock);
		if (deflateblock(&z, j) < 0) {
			fail(p, ENOMEM, "deflate");
			pthread_mutex_lock(&p->lock);
			break;
		}
		pthread_mutex_lock(&p->lock);
		j->state = DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	deflateEnd(&z);
	return NULL;
}
#if defined(__GNUC__) && __GNUC__ >= 10 && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static int
put(struct pool *p, const void *buf, size_t n)
{
	if (writeall(p->fd, buf, n) < 0)
		return -1;
	if (p->digest)
		digest_update(&p->dg, buf, n);
	p->out += n;
	if (p->verify) {
		/* The verifier decides whether a stretch is long enough. */
		pthread_mutex_lock(&p->vlock);
		p->written = p->out;
		pthread_cond_signal(&p->vmore);
		pthread_mutex_unlock(&p->vlock);
	}
	return 0;
}

/*
 * gzcheck's input for --verify: the file as the writer extends it. Each
 * stretch is flushed to the device and dropped from the page cache before
 * it is read, so what is checked is what the device holds, not what the
 * cache remembers; and checking runs beside compressing, not after it.
 */
static ssize_t
vread(void *arg, void *buf, size_t n)
{
	struct pool *p = arg;
	uint64_t upto;
	ssize_t r;

	if (p->voff == p->vsynced) {
		pthread_mutex_lock(&p->vlock);
		while (!p->wdone && p->written - p->vsynced < VSTRIDE)
			pthread_cond_wait(&p->vmore, &p->vlock);
		upto = p->written;
		pthread_mutex_unlock(&p->vlock);
		if (upto == p->vsynced)
			return 0;
		/* Only a real I/O error matters: elsewhere, read the cache. */
		if (!p->nosync && sync_file_range(p->fd, (off_t)p->vsynced,
		    (off_t)(upto - p->vsynced), SYNC_FILE_RANGE_WAIT_BEFORE |
		    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) < 0 &&
		    errno == EIO)
			return -1;
		posix_fadvise(p->fd, (off_t)p->vsynced, (off_t)(upto - p->vsynced),
		    POSIX_FADV_DONTNEED);
		p->vsynced = upto;
	}
	if (n > p->vsynced - p->voff)
		n = p->vsynced - p->voff;
	if ((r = pread(p->fd, buf, n, (off_t)p->voff)) > 0)
		p->voff += (uint64_t)r;
	return r;
}

static void *
verifier(void *arg)
{
	struct pool *p = arg;

	p->vr = gzcheck_read(vread, p, 0, &p->vg);
	return NULL;
}

static void *
writer(void *arg)
{
	static const unsigned char header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	struct pool *p = arg;
	unsigned char hdr[10], trailer[8];
	struct job *j;
	int i, last = 0;

	memcpy(hdr, header, sizeof(hdr));
	hdr[8] = p->level == 9 ? 2 : p->level == 1 ? 4 : 0;	/* XFL, as gzip sets it */
	if (put(p, hdr, sizeof(hdr)) < 0) {
		fail(p, errno, "write");
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		j = NULL;
		for (i = 0; i < p->njobs; i++)
			if (p->jobs[i].state == DONE && p->jobs[i].seq == p->nextwrite)
				j = &p->jobs[i];
		if (p->stop)
			break;
		if (!j) {
			pthread_cond_wait(&p->done, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		if (put(p, j->out, j->outlen) < 0) {
			fail(p, errno, "write");
			pthread_mutex_lock(&p->lock);
			break;
		}
		p->crc = crc32_combine(p->crc, j->crc, j->inlen);
		p->in += j->inlen;
		last = j->last;
		if (p->verbose && since(&p->lastshow) >= 1.0) {
			clock_gettime(CLOCK_MONOTONIC, &p->lastshow);
			progress(p, "");
		}
		pthread_mutex_lock(&p->lock);
		j->state = FREE;
		p->nextwrite++;
		pthread_cond_broadcast(&p->freed);
		if (last) {
			p->finished = 1;
			pthread_cond_broadcast(&p->filled);
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (!last)
		return NULL;
	for (i = 0; i < 4; i++) {
		trailer[i] = p->crc >> (8 * i);
		trailer[4 + i] = (p->in & 0xffffffffu) >> (8 * i);
	}
	if (put(p, trailer, sizeof(trailer)) < 0)
		fail(p, errno, "write");
	return NULL;
}

/* The next free job, or NULL once the pool is stopping. */
static struct job *
getfree(struct pool *p)
{
	struct job *j = NULL;
	int i;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		for (i = 0; i < p->njobs && !j; i++)
			if (p->jobs[i].state == FREE)
				j = &p->jobs[i];
		if (j)
			break;
		pthread_cond_wait(&p->freed, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return j;
}

static void
submit(struct pool *p, struct job *j)
{
	pthread_mutex_lock(&p->lock);
	j->state = FILLED;
	pthread_cond_broadcast(&p->filled);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Read in to EOF, compress into fd. 0 when the whole stream is written; -1
 * with a message already given otherwise.
 */
static int
gzstream(int in, int fd, const struct opts *o, struct pool *p, char *why)
{
	unsigned char *tail = emalloc(DICT);
	size_t taillen = 0;
	pthread_t *tids, wtid, vtid;
	uint64_t seq = 0;
	ssize_t n;
	struct job *j;
	int i, rerr = 0, r = 0;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->freed, NULL);
	p->fd = fd;
	p->level = o->level;
	p->crc = crc32(0, NULL, 0);
	p->digest = o->digest;
	p->verbose = o->verbose;
	p->verify = o->verify;
	p->nosync = o->nosync;
	pthread_mutex_init(&p->vlock, NULL);
	pthread_cond_init(&p->vmore, NULL);
	if (o->digest)
		digest_init(&p->dg, DIGEST_MAX);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->lastshow = p->start;
	/* Two blocks per thread in flight keep every worker busy, and bound memory. */
	p->njobs = 2 * o->threads + 2;
	p->jobs = ecalloc(p->njobs, sizeof(*p->jobs));
	for (i = 0; i < p->njobs; i++) {
		p->jobs[i].in = emalloc(o->block);
		p->jobs[i].dict = emalloc(DICT);
		p->jobs[i].outcap = compressBound(o->block) + 64;
		p->jobs[i].out = emalloc(p->jobs[i].outcap);
	}
	tids = ecalloc(o->threads, sizeof(*tids));
	for (i = 0; i < o->threads; i++)
		if (pthread_create(&tids[i], NULL, worker, p) != 0)
			eprintf(EXIT_TOOL, "pthread_create:");
	if (pthread_create(&wtid, NULL, writer, p) != 0)
		eprintf(EXIT_TOOL, "pthread_create:");
	if (o->verify && pthread_create(&vtid, NULL, verifier, p) != 0)
		eprintf(EXIT_TOOL, "pthread_create:");

	for (;;) {
		if (!(j = getfree(p)))
			break;
		n = readall(in, j->in, o->block);
		if (n < 0) {
			rerr = errno;
			fail(p, rerr, "read");
			break;
		}
		j->seq = seq++;
		j->inlen = n;
		j->last = n == 0;
		memcpy(j->dict, tail, taillen);
		j->dictlen = taillen;
		/* Keep the last 32 KiB of input for the next block's dictionary. */
		if ((size_t)n >= DICT) {
			memcpy(tail, j->in + n - DICT, DICT);
			taillen = DICT;
		} else if (n > 0) {
			size_t keep = taillen + n > DICT ? DICT - (size_t)n : taillen;

			memmove(tail, tail + taillen - keep, keep);
			memcpy(tail + keep, j->in, n);
			taillen = keep + n;
		}
		submit(p, j);
		if (n == 0)
			break;
	}
	pthread_join(wtid, NULL);
	fail(p, 0, NULL);	/* wake the workers to leave: nothing left */
	for (i = 0; i < o->threads; i++)
		pthread_join(tids[i], NULL);
	if (o->verify) {
		pthread_mutex_lock(&p->vlock);
		p->wdone = 1;
		pthread_cond_signal(&p->vmore);
		pthread_mutex_unlock(&p->vlock);
		pthread_join(vtid, NULL);
	}
	if (p->err) {
		if (rerr)
			snprintf(why, WHY, "input: read error: %s", strerror(rerr));
		else
			snprintf(why, WHY, "%s: %s: %s", data.path, p->errwhat, strerror(p->err));
		r = -1;
	}
	for (i = 0; i < p->njobs; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].dict);
		free(p->jobs[i].out);
	}
	free(p->jobs);
	free(tids);
	free(tail);
	return r;
}

/* Start COMMAND with its stdout on a pipe; the pipe's read end, or -1. */
static int
spawn(char **argv)
{
	int fds[2], ep[2], e;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0)
		eprintf(EXIT_TOOL, "pipe:");
	switch ((child = fork())) {
	case -1:
		eprintf(EXIT_TOOL, "fork:");
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
		waitpid(child, NULL, 0);
		child = -1;
		close(fds[0]);
		errno = e;
		return -1;
	}
	return fds[0];
}

/*
 * --status-file, read after the producer's side has closed the pipe: a
 * FIFO was opened at start (so the writer's open never blocks) and holds
 * only what this run wrote; a regular file must have been written since
 * gzsafe started, and is removed once read so it can never count twice.
 */
struct status {
	int fifo;		/* fd of the FIFO, or -1 */
	int existed;		/* the regular file was there, non-empty, at start */
	struct stat st;		/* and looked like this */
};

static void
statusopen(const char *path, struct status *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fifo = -1;
	if (stat(path, &st) < 0)
		return;
	if (S_ISFIFO(st.st_mode)) {
		if ((s->fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
			eprintf(EXIT_TOOL, "%s:", path);
		return;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		s->existed = 1;
		s->st = st;
	}
}

static int
samefile(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* 0 if the producer reported 0; else a reason in why. */
static int
statusread(const char *path, struct status *s, char *why, size_t whysize)
{
	char buf[64], *p;
	struct stat st;
	ssize_t n;
	long long v;
	int fd;

	if (s->fifo >= 0) {
		fd = s->fifo;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		snprintf(why, whysize, "no status in %s: %s", path, strerror(errno));
		return -1;
	} else if (fstat(fd, &st) == 0 && s->existed && samefile(&st, &s->st)) {
		close(fd);
		snprintf(why, whysize, "status file %s was not written by this run (stale?)", path);
		return -1;
	}
	n = readall(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (s->fifo < 0)
		unlink(path);
	if (n < 0) {
		snprintf(why, whysize, "status file %s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if ((p = strchr(buf, '\n')))
		*p = '\0';
	if (n == 0 || !*buf) {
		snprintf(why, whysize, "no status in %s", path);
		return -1;
	}
	if (strtonum_(buf, 0, 255, &v) < 0) {
		snprintf(why, whysize, "status file %s: not a status: %.20s", path, buf);
		return -1;
	}
	if (v != 0) {
		snprintf(why, whysize, "producer reported status %lld", v);
		return -1;
	}
	return 0;
}

/* Refuse what rename(2) would not treat as replacing a file's contents. */
static int
checkoutput(const char *path, struct stat *st, char *why)
{
	if (lstat(path, st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, WHY, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st->st_mode))
		snprintf(why, WHY, "%s: is a symbolic link; refusing to replace it", path);
	else if (S_ISDIR(st->st_mode))
		snprintf(why, WHY, "%s: is a directory", path);
	else if (!S_ISREG(st->st_mode))
		snprintf(why, WHY, "%s: not a regular file", path);
	else
		return 1;
	return -1;
}

/* The mode a replacement keeps: the old file's, -m's, or 0666 & ~umask. */
static mode_t
newmode(int exists, const struct stat *st, int forced)
{
	mode_t um;

	if (forced >= 0)
		return forced;
	if (exists)
		return st->st_mode & 07777;
	um = umask(0);
	umask(um);
	return 0666 & ~um;
}

static int
stage(struct atomic *a, const char *path, int exists, const struct stat *st, int forced,
    char *why)
{
	mode_t m = newmode(exists, st, forced);

	if (atomic_open(a, path, 0600) < 0) {
		snprintf(why, WHY, "%s: cannot stage a temporary file: %s", path, strerror(errno));
		return -1;
	}
	/* Permissions go on before any data, owner too when we may. */
	if (exists && forced < 0 && geteuid() == 0 && fchown(a->fd, st->st_uid, st->st_gid) < 0) {
		snprintf(why, WHY, "%s: chown: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(a->fd, m) < 0) {
		snprintf(why, WHY, "%s: chmod: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
verify(struct pool *p, char *why)
{
	const struct gzcheck *g = &p->vg;

	if (p->vr == GZ_IOERR) {
		snprintf(why, WHY, "%s: verify: read: %s", data.path, strerror(g->err));
		return -1;
	}
	if (p->vr == GZ_BAD || g->member != 1 || g->out != p->in || g->in != p->out) {
		snprintf(why, WHY, "%s: verify failed: %s at byte %llu", data.path,
		    p->vr == GZ_BAD ? g->msg : "size differs from what was written",
		    (unsigned long long)g->offset);
		return -1;
	}
	return 0;
}

static int
writesidecar(struct pool *p, const char *path, const struct opts *o, char *why)
{
	unsigned char md[DIGEST_MAX];
	const char *base = strrchr(path, '/');
	char *scpath, *line;
	struct stat st;
	int exists, r = 0;

	scpath = emalloc(strlen(path) + 4);
	sprintf(scpath, "%s.b2", path);
	if ((exists = checkoutput(scpath, &st, why)) < 0 ||
	    stage(&side, scpath, exists, &st, -1, why) < 0) {
		free(scpath);
		return -1;
	}
	digest_final(&p->dg, md);
	line = sidecar_line(md, DIGEST_MAX, base ? base + 1 : path, 0);
	if (writeall(side.fd, line, strlen(line)) < 0 ||
	    (!o->nosync && atomic_sync(&side) < 0)) {
		snprintf(why, WHY, "%s: write: %s", scpath, strerror(errno));
		r = -1;
	}
	free(line);
	free(scpath);
	return r;
}

static int
left(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one line that says why nothing was committed. */
static int
left(const char *path, const char *fmt, ...)
{
	char why[WHY + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	weprintf("%s; %s left unchanged", why, path);
	return 0;
}

static int
run(const char *path, char **cmd, const struct opts *o)
{
	struct status status;
	struct stat st;
	struct pool pool;
	char why[WHY];
	int exists, in = STDIN_FILENO, wst = 0, r, locked, old;

	if ((exists = checkoutput(path, &st, why)) < 0) {
		weprintf("%s", why);
		return EXIT_TOOL;
	}
	if (exists && o->noreplace) {
		weprintf("%s: exists; not replaced (-N)", path);
		return EXIT_TOOL;
	}
	if (o->status)
		statusopen(o->status, &status);
	if (stage(&data, path, exists, &st, o->mode, why) < 0) {
		atomic_abort(&data);
		return left(path, "%s", why), EXIT_TOOL;
	}
	catchsignals();
	if (cmd && (in = spawn(cmd)) < 0) {
		int e = errno;

		atomic_abort(&data);
		left(path, "%s: %s", cmd[0], strerror(e));
		return e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
	}

	r = gzstream(in, data.fd, o, &pool, why);
	if (cmd) {
		/* Our own failure: the producer need not go on for nothing. */
		if (r < 0 && child > 0)
			kill(child, SIGTERM);
		close(in);
		while (waitpid(child, &wst, 0) < 0 && errno == EINTR)
			;
		child = -1;
	}
	if (r < 0)
		goto failed;
	if (cmd && !(WIFEXITED(wst) && WEXITSTATUS(wst) == 0)) {
		atomic_abort(&data);
		if (WIFSIGNALED(wst))
			left(path, "%s killed by signal %d", cmd[0], WTERMSIG(wst));
		else
			left(path, "%s exited with status %d", cmd[0], exitcode(wst));
		return exitcode(wst);
	}
	if (o->status && statusread(o->status, &status, why, sizeof(why)) < 0) {
		atomic_abort(&data);
		left(path, "%s", why);
		return EXIT_NO;
	}
	if (!o->nosync && atomic_sync(&data) < 0) {
		snprintf(why, WHY, "%s: fsync: %s", path, strerror(errno));
		goto failed;
	}
	if (o->verify && verify(&pool, why) < 0)
		goto failed;
	if (o->digest && writesidecar(&pool, path, o, why) < 0)
		goto failed;

	/*
	 * Data first, then its sidecar: a crash between the two renames
	 * leaves the new archive beside the old digest, a mismatch that
	 * sumcheck reports, never an old archive vouched for by a new digest.
	 */
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
		goto failed;
	}
	r = o->digest ? atomic_publish(&side, 0) : 0;
	atomic_unlockdir(&data, locked);
	if (old >= 0)
		close(old);
	if (r < 0) {
		weprintf("%s.b2: %s committed, but its sidecar could not be:", path, path);
		atomic_abort(&side);
		atomic_abort(&data);
		return EXIT_TOOL;
	}
	if (!o->nosync && atomic_syncdir(&data) < 0) {
		weprintf("%s: committed, but fsync of its directory failed:", path);
		return EXIT_TOOL;
	}
	if (o->verbose)
		progress(&pool, ", committed");
	atomic_abort(&data);	/* releases: nothing is staged any more */
	if (o->digest)
		atomic_abort(&side);
	return 0;
failed:
	atomic_abort(&data);
	if (o->digest)
		atomic_abort(&side);
	left(path, "%s", why);
	return EXIT_TOOL;
}

/* -t: each file OK, or its first fault with where it is. */
static int
test(char **files, const struct opts *o)
{
	struct gzcheck g;
	int fd, r, status = 0, unreadable = 0;

	for (; *files; files++) {
		if ((fd = open(*files, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
			weprintf("%s:", *files);
			unreadable = 1;
			continue;
		}
		r = gzcheck_fd(fd, o->tar, &g);
		close(fd);
		if (r == GZ_IOERR) {
			errno = g.err;
			weprintf("%s:", *files);
			unreadable = 1;
		} else if (r == GZ_BAD) {
			printf("%s: FAILED: %s at byte %llu (member %lu)\n", *files, g.msg,
			    (unsigned long long)g.offset, g.member);
			status = EXIT_NO;
		} else if (o->verbose) {
			printf("%s: OK (%lu member%s, %llu -> %llu bytes)\n", *files, g.member,
			    g.member == 1 ? "" : "s", (unsigned long long)g.in,
			    (unsigned long long)g.out);
		} else {
			printf("%s: OK\n", *files);
		}
	}
	if (fshut(stdout, "<stdout>") < 0)
		return EXIT_UNSURE;
	return status ? status : unreadable ? EXIT_UNSURE : 0;
}

static int
number(const char *s, long long min, long long max, const char *what)
{
	long long v;

	if (strtonum_(s, min, max, &v) < 0) {
		weprintf("%s: invalid %s (%lld..%lld)", s, what, min, max);
		usage(EXIT_TOOL);
	}
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "digest", no_argument, NULL, 'D' },
		{ "verify", no_argument, NULL, 'V' },
		{ "no-sync", no_argument, NULL, 'S' },
		{ "status-file", required_argument, NULL, 'F' },
		{ "tar", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { 6, 0, 128 * 1024, -1, 0, 0, 0, 0, 0, 0, NULL };
	int c, testmode = 0, compressonly = 0;
	char *end;
	long m;

	setprogname_(argv[0]);
	/* '+': options end at OUTPUT, so COMMAND's own flags pass through. */
	while ((c = getopt_long(argc, argv, "+123456789b:hm:Np:tv", longopts, NULL)) != -1) {
		switch (c) {
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			o.level = c - '0';
			compressonly = 1;
			break;
		case 'b':
			o.block = (size_t)number(optarg, 32, 1024 * 1024, "block size in KiB") * 1024;
			compressonly = 1;
			break;
		case 'm':
			errno = 0;
			m = strtol(optarg, &end, 8);
			if (!*optarg || *end || errno || m < 0 || m > 07777) {
				weprintf("%s: invalid mode (octal, 0..7777)", optarg);
				usage(EXIT_TOOL);
			}
			o.mode = m;
			compressonly = 1;
			break;
		case 'N': o.noreplace = compressonly = 1; break;
		case 'p':
			o.threads = number(optarg, 1, 256, "thread count");
			compressonly = 1;
			break;
		case 't': testmode = 1; break;
		case 'v': o.verbose = 1; break;
		case 'D': o.digest = compressonly = 1; break;
		case 'V': o.verify = compressonly = 1; break;
		case 'S': o.nosync = compressonly = 1; break;
		case 'F': o.status = optarg; compressonly = 1; break;
		case 'T': o.tar = 1; break;
		case 'h': usage(0);
		case 'R':
			puts("gzsafe " VERSION);
			return fshut(stdout, "<stdout>") < 0 ? EXIT_TOOL : 0;
		default: usage(testmode ? EXIT_UNSURE : EXIT_TOOL);
		}
	}
	argc -= optind;
	argv += optind;

	if (testmode) {
		if (compressonly || argc < 1)
			usage(EXIT_UNSURE);
		return test(argv, &o);
	}
	if (o.tar || argc < 1)
		usage(EXIT_TOOL);
	if (argc > 1 && o.status) {
		weprintf("--status-file is for pipe mode; a COMMAND's status is seen directly");
		usage(EXIT_TOOL);
	}
	if (!o.threads)
		o.threads = nprocs();
	return run(argv[0], argc > 1 ? argv + 1 : NULL, &o);
}

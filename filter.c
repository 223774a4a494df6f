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
#include "proc.h"
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
	int quiet;		/* -t -q: failures only */
	int tar;
	const char *status;	/* --status-file */
	int statusfd;		/* --status-fd, or -1 */
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
 * Everything the threads share. lock guards the fields from jobs to level; jobs
 * move FREE -> FILLED (reader) -> BUSY -> DONE (a worker) -> FREE (writer).
 */
struct pool {
	unsigned char *tail;	/* the reader's alone: the last DICT bytes of input */
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
	"              [--no-sync] [--status-file path | --status-fd n] [-v] output\n"
	"              [command [arg ...]]\n"
	"       gzsafe -t [-q | -v] [--tar] file | - ...\n";

static _Noreturn void
usage(int status)
{
	fputs(usagetext, status ? stderr : stdout);
	if (status == 0 && fshut(stdout, "<stdout>") < 0)
		exit(EXIT_TOOL);
	exit(status);
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

/* The threads that are running, and what they share. */
struct threads {
	pthread_t *workers, writer, verifier;
	int nworkers, haswriter, hasverifier;
};

/*
 * Join whatever threads run, whatever state they are in, and free the
 * blocks: after an error as after the last block.
 */
static void
pool_stop(struct pool *p, struct threads *t)
{
	int i;

	fail(p, 0, NULL);	/* wake every thread to leave: nothing left */
	if (t->haswriter)
		pthread_join(t->writer, NULL);
	for (i = 0; i < t->nworkers; i++)
		pthread_join(t->workers[i], NULL);
	if (t->hasverifier) {
		pthread_mutex_lock(&p->vlock);
		p->wdone = 1;
		pthread_cond_signal(&p->vmore);
		pthread_mutex_unlock(&p->vlock);
		pthread_join(t->verifier, NULL);
	}
	for (i = 0; i < p->njobs; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].dict);
		free(p->jobs[i].out);
	}
	free(p->jobs);
	free(t->workers);
	free(p->tail);
	memset(t, 0, sizeof(*t));
}

/*
 * Allocate every block and start every thread before the producer runs:
 * what can fail for want of memory or threads then fails before anything
 * was started or read. 0, or -1 with the reason in why.
 */
static int
pool_start(struct pool *p, struct threads *t, int fd, const struct opts *o, char *why)
{
	int i, e = 0;

	memset(p, 0, sizeof(*p));
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->freed, NULL);
	pthread_mutex_init(&p->vlock, NULL);
	pthread_cond_init(&p->vmore, NULL);
	p->fd = fd;
	p->level = o->level;
	p->crc = crc32(0, NULL, 0);
	p->digest = o->digest;
	p->verbose = o->verbose;
	p->verify = o->verify;
	p->nosync = o->nosync;
	if (o->digest)
		digest_init(&p->dg, DIGEST_MAX);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->lastshow = p->start;
	/* Two blocks per thread in flight keep every worker busy, and bound memory. */
	p->njobs = 2 * o->threads + 2;
	if (!(p->jobs = calloc(p->njobs, sizeof(*p->jobs))) ||
	    !(t->workers = calloc(o->threads, sizeof(*t->workers))) ||
	    !(p->tail = malloc(DICT))) {
		p->njobs = p->jobs ? p->njobs : 0;
		e = errno;
		goto fail;
	}
	for (i = 0; i < p->njobs; i++) {
		p->jobs[i].outcap = compressBound(o->block) + 64;
		if (!(p->jobs[i].in = malloc(o->block)) || !(p->jobs[i].dict = malloc(DICT)) ||
		    !(p->jobs[i].out = malloc(p->jobs[i].outcap))) {
			e = errno;
			goto fail;
		}
	}
	/* pthread functions return their error; errno is not theirs. */
	for (i = 0; i < o->threads; i++, t->nworkers++)
		if ((e = pthread_create(&t->workers[i], NULL, worker, p)) != 0)
			goto threadfail;
	if ((e = pthread_create(&t->writer, NULL, writer, p)) != 0)
		goto threadfail;
	t->haswriter = 1;
	if (o->verify) {
		if ((e = pthread_create(&t->verifier, NULL, verifier, p)) != 0)
			goto threadfail;
		t->hasverifier = 1;
	}
	return 0;
threadfail:
	snprintf(why, WHY, "cannot start a thread: %s", strerror(e));
	fail(p, e, "thread");
	pool_stop(p, t);
	return -1;
fail:
	snprintf(why, WHY, "cannot allocate %d blocks of %zu KiB: %s", p->njobs,
	    o->block / 1024, strerror(e));
	pool_stop(p, t);
	return -1;
}

/*
 * Read in to EOF and hand it to the pool; wait for the last block to be
 * written. 0 when the whole stream is written; -1 with a reason in why.
 */
static int
pool_feed(struct pool *p, struct threads *t, int in, const struct opts *o, char *why)
{
	size_t taillen = 0;
	uint64_t seq = 0;
	ssize_t n;
	struct job *j;
	int rerr = 0, r = 0;

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
		memcpy(j->dict, p->tail, taillen);
		j->dictlen = taillen;
		/* Keep the last 32 KiB of input for the next block's dictionary. */
		if ((size_t)n >= DICT) {
			memcpy(p->tail, j->in + n - DICT, DICT);
			taillen = DICT;
		} else if (n > 0) {
			size_t keep = taillen + n > DICT ? DICT - (size_t)n : taillen;

			memmove(p->tail, p->tail + taillen - keep, keep);
			memcpy(p->tail + keep, j->in, n);
			taillen = keep + n;
		}
		submit(p, j);
		if (n == 0)
			break;
	}
	pthread_join(t->writer, NULL);
	t->haswriter = 0;
	if (p->err) {
		if (rerr)
			snprintf(why, WHY, "input: read error: %s", strerror(rerr));
		else
			snprintf(why, WHY, "%s: %s: %s", data.path, p->errwhat, strerror(p->err));
		r = -1;
	}
	pool_stop(p, t);
	return r;
}

/*
 * Start COMMAND with its stdout on a pipe; the pipe's read end, or -1 with
 * errno set and *execerr saying whether it was the exec that failed.
 */
static int
spawn(char **argv, int *execerr)
{
	int fds[2], ep[2], e;
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
		waitpid(child, NULL, 0);
		child = -1;
		close(fds[0]);
		*execerr = 1;
		errno = e;
		return -1;
	}
	return fds[0];
}

/*
 * The producer's end: 0 and *wst, or -1 if how it ended cannot be known
 * (waitpid failed: with SIGCHLD ignored the kernel would have reaped it,
 * and a status we never saw is not a success).
 */
static int
reap(int *wst)
{
	pid_t r;

	while ((r = waitpid(child, wst, 0)) < 0 && errno == EINTR)
		;
	child = -1;
	return r < 0 ? -1 : 0;
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
	int r;

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
	r = stat(dir, &ds);
	if (r < 0)
		snprintf(why, WHY, "%s: %s", dir, strerror(errno));
	free(dir);
	if (r < 0)
		return -1;
	if (lstat(o->status, &st) < 0) {
		if (errno != ENOENT) {
			snprintf(why, WHY, "%s: %s", o->status, strerror(errno));
			return -1;
		}
		if (othersmaywrite(&ds)) {
			snprintf(why, WHY, "status file %s: not there yet, in a directory others "
			    "can write: create it first (mktemp, mkfifo) or use a private directory",
			    o->status);
			return -1;
		}
		return 0;
	}
	if ((bad = statusbad(&st))) {
		snprintf(why, WHY, "status file %s: %s; refusing it", o->status, bad);
		return -1;
	}
	if (othersmaywrite(&ds) && !(ds.st_mode & S_ISVTX)) {
		snprintf(why, WHY, "status file %s: others can write its directory and swap "
		    "it; use a private directory", o->status);
		return -1;
	}
	if (S_ISFIFO(st.st_mode)) {
		s->fd = open(o->status, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (s->fd < 0 || fstat(s->fd, &s->st) < 0 || s->st.st_ino != st.st_ino ||
		    s->st.st_dev != st.st_dev) {
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
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
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
	if (strtonum_(num, 0, 255, &v) < 0) {
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
		left = (int)((secs - since(&t0)) * 1000);
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

static mode_t
defaultmode(void)
{
	mode_t um = umask(0);

	umask(um);
	return 0666 & ~um;
}

/*
 * Stage OUTPUT's replacement and give it, before any data, the access the
 * old file had: owner and group, mode, POSIX ACL and user.* extended
 * attributes, as `gzip > F` keeps F's inode. Only from a file that is ours
 * or root's: another user's file may have been planted in a directory
 * they can write, to make root's archive theirs. Otherwise, and for a new
 * file, it is ours, 0666 & ~umask. -m sets the mode and leaves the ACL
 * behind: it says exactly who may read.
 */
static int
stage(struct atomic *a, const char *path, int exists, const struct stat *st, int forced,
    char *why)
{
	int trusted = exists && (st->st_uid == 0 || st->st_uid == geteuid());
	int what = ATOMIC_OWNER | ATOMIC_XATTR | (forced < 0 ? ATOMIC_MODE | ATOMIC_ACL : 0);
	const char *step;

	if (atomic_open(a, path, 0600) < 0) {
		snprintf(why, WHY, "%s: cannot stage a temporary file: %s", path, strerror(errno));
		return -1;
	}
	if (trusted && atomic_copyattrs(a, -1, path, st, what, &step) < 0) {
		snprintf(why, WHY, "%s: cannot carry over its %s: %s", path, step, strerror(errno));
		return -1;
	}
	if ((!trusted || forced >= 0) && fchmod(a->fd, forced >= 0 ? (mode_t)forced :
	    defaultmode()) < 0) {
		snprintf(why, WHY, "%s: chmod: %s", path, strerror(errno));
		return -1;
	}
	return 0;
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
	if (fstat(data.fd, &st) < 0 || atomic_copyattrs(a, data.fd, NULL, &st,
	    ATOMIC_OWNER | ATOMIC_MODE | ATOMIC_ACL, &step) < 0) {
		snprintf(why, WHY, "%s: cannot give it the archive's %s: %s", scpath, step,
		    strerror(errno));
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

/* Stage OUTPUT.b2 beside OUTPUT, written and synced: it is published after OUTPUT. */
static int
writesidecar(struct pool *p, const char *path, const char *scpath, const struct opts *o,
    char *why)
{
	unsigned char md[DIGEST_MAX];
	const char *base = strrchr(path, '/');
	struct stat st;
	char *line;
	size_t n;
	int r = 0;

	/* Checked at start too; again now, since hours may have passed. */
	if (checkoutput(scpath, &st, why) < 0 || stagesidecar(&side, scpath, why) < 0)
		return -1;
	digest_final(&p->dg, md);
	line = sidecar_line(md, DIGEST_MAX, base ? base + 1 : path, 0, &n);
	if (writeall(side.fd, line, n) < 0 ||
	    (!o->nosync && atomic_sync(&side) < 0)) {
		snprintf(why, WHY, "%s: write: %s", scpath, strerror(errno));
		r = -1;
	}
	free(line);
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

/*
 * Data first, then its sidecar: a crash between the two renames leaves
 * the new archive beside the old digest, a mismatch that sumcheck
 * reports, never an old archive vouched for by a new digest.
 */
static int
commit(const char *path, const struct opts *o, char *why)
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
		weprintf("%s.b2: %s committed, but its sidecar could not be:", path, path);
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
		left(path, "%s killed by signal %d", cmd[0], WTERMSIG(wst));
	else
		left(path, "%s exited with status %d", cmd[0], exitcode(wst));
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
	struct status status;
	struct threads threads;
	struct stat st;
	struct pool pool;
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
		left(path, "%s", why);
		free(scpath);
		return EXIT_TOOL;
	}
	proc_catchfatal(atomic_cleanup, &child);
	if (stage(&data, path, exists, &st, o->mode, why) < 0 ||
	    pool_start(&pool, &threads, data.fd, o, why) < 0)
		goto failed;
	if (cmd && (in = spawn(cmd, &execerr)) < 0) {
		snprintf(why, WHY, "%s: %s%s", cmd[0], execerr ? "" : "cannot start it: ",
		    strerror(errno));
		if (execerr)
			r = errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
		pool_stop(&pool, &threads);
		goto failed;
	}
	if (pool_feed(&pool, &threads, in, o, why) < 0) {
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
	if (o->verify && verify(&pool, why) < 0)
		goto failed;
	if (o->digest && writesidecar(&pool, path, scpath, o, why) < 0)
		goto failed;
	if ((r = commit(path, o, why)) < 0) {
		r = EXIT_TOOL;
		goto failed;
	}
	if (r == 0 && o->verbose)
		progress(&pool, ", committed");
	goto out;
failed:
	left(path, "%s", why);
out:
	atomic_abort(&data);	/* after a commit: only releases, nothing is staged */
	if (o->digest)
		atomic_abort(&side);
	free(scpath);
	return r;
}

/*
 * An operand of -t, open for reading: "-" is standard input, and a FIFO
 * or a pipe (/dev/stdin, <(...)) is read as it comes, as gzip -t reads it.
 * The open never blocks: a FIFO with no writer reads as empty.
 */
static int
testopen(const char *name, int stdinclosed)
{
	int fd;

	if (strcmp(name, "-") == 0) {
		if (stdinclosed) {
			errno = EBADF;
			return -1;
		}
		return STDIN_FILENO;
	}
	if ((fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
		return -1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* -t: each file OK, or its first fault with where it is. */
static int
test(char **files, int stdinclosed, const struct opts *o)
{
	struct gzcheck g;
	int fd, r, status = 0, unreadable = 0;
	char *name;

	for (; *files; files++) {
		/* A glob may bring names that others chose: none reaches a terminal raw. */
		name = printname(*files, NULL);
		if ((fd = testopen(*files, stdinclosed)) < 0) {
			weprintf("%s:", name);
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

	if (strtonum_(s, min, max, &v) < 0) {
		weprintf("%s: invalid %s (%lld..%lld)", s, what, min, max);
		usage(bad);
	}
	return v;
}

enum {
	OPT_DIGEST = CHAR_MAX + 1, OPT_NOSYNC, OPT_STATUSFD, OPT_STATUSFILE, OPT_TAR,
	OPT_VERIFY, OPT_VERSION
};

static const struct option longopts[] = {
	{ "digest", no_argument, NULL, OPT_DIGEST },
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
static const char shortopts[] = "+123456789b:hm:Np:qtv";

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
	struct opts o = { .level = 6, .block = 128 * 1024, .mode = -1, .statusfd = -1 };
	int c, closed, checker, compressonly = 0, testonly = 0;
	char *end;
	long m;

	closed = proc_init();
	setprogname_(argv[0]);
	checker = testmode(argc, argv);
	opterr = 0;
	failstatus = checker ? EXIT_UNSURE : EXIT_TOOL;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			o.level = c - '0';
			compressonly = 1;
			break;
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
			puts("gzsafe " VERSION);
			return fshut(stdout, "<stdout>") < 0 ? failstatus : 0;
		default:
			badoption(argv);
			usage(failstatus);
		}
	}
	argc -= optind;
	argv += optind;

	if (checker) {
		if (compressonly) {
			weprintf("-t checks files: compression options do not go with it");
			usage(EXIT_UNSURE);
		}
		if (argc < 1) {
			weprintf("-t: no file to check (- for standard input)");
			usage(EXIT_UNSURE);
		}
		return test(argv, closed & 1, &o);
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

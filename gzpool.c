/* gzpool.c: see gzpool.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>

#include "digest.h"
#include "gzcheck.h"
#include "gzpool.h"
#include "join.h"
#include "util.h"

/*
 * --verify flushes and rereads in stretches of VSTRIDE bytes of the file,
 * or fewer where they hold VINSTRIDE bytes of input: a stretch of output
 * that compresses well (a run of zeros) would otherwise be checked only
 * after it is all written, and inflating it takes far longer than
 * compressing it did.
 */
#define VSTRIDE (8 << 20)
#define VINSTRIDE (16 << 20)

/* The fixed gzip header (RFC 1952): no name, no time, OS unknown. */
enum { ID1 = 0x1f, ID2 = 0x8b, CM_DEFLATE = 8, OS_UNIX = 3 };
enum { XFL_BEST = 2, XFL_FAST = 4 };	/* XFL: gzip's for -9 and -1 */
#define HEADER_SIZE 10
#define TRAILER_SIZE 8

enum { FREE, FILLED, BUSY, DONE };

struct block {
	int state;		/* FREE -> FILLED (reader) -> BUSY -> DONE (a worker) -> FREE (writer) */
	uint64_t seq;
	int last;		/* the empty final block that ends the stream */
	unsigned char *in, *out;
	size_t inlen, outlen, outcap;
	uLong crc;		/* CRC-32 of in */
};

/*
 * Who owns what:
 * - lock guards the blocks' states and the fields under "shared";
 * - the writer alone has the fields under "writer", which the caller
 *   reads once the writer has been joined;
 * - vlock guards written, writtenin and wdone, which the writer sets and the
 *   verifier waits on; the verifier alone has the rest under "verify",
 *   which the caller reads once it has been joined.
 */
struct gzpool {
	struct gzpool_opts o;
	int fd;

	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t filled;	/* a block is FILLED, or stop */
	pthread_cond_t done;	/* a block is DONE, or stop */
	pthread_cond_t freed;	/* a block is FREE, or stop */
	struct block *blocks;
	unsigned char *arena;	/* every block's buffers */
	int nblocks;
	uint64_t nextwrite;	/* seq the writer waits for */
	int finished;		/* the writer has written the last block */
	int stop;		/* give up: an error somewhere, or the end */
	int err;		/* errno of the first failure */
	const char *errwhat;	/* what failed */

	/* the writer's */
	uLong crc;
	uint64_t in, out;
	struct digest dg;
	struct timespec start, lastshow;

	/* verify */
	pthread_mutex_t vlock;
	pthread_cond_t vmore;	/* written grew, or wdone was set */
	uint64_t written;	/* bytes of the file that are written */
	uint64_t writtenin;	/* bytes of input they hold */
	int wdone;		/* the writer has stopped, for good or ill */
	uint64_t voff, vsynced, vsyncedin;
	uint64_t pagesize;
	int vr;			/* gzcheck's verdict */
	struct gzcheck vg;

	/* the threads, the caller's; each worker's engine is had before it starts */
	pthread_t *workers, writer, verifier;
	struct engine *engines;
	int nworkers, nengines, haswriter, hasverifier;
	int vready;		/* under vlock: the verifier has all it needs (1), or failed (-1) */
	pthread_cond_t vreadycv;
};

/* What one worker owns: its compressor, and the joiner that proves its blocks. */
struct engine {
	struct gzpool *p;
	struct libdeflate_compressor *c;
	struct joiner j;
};

void
gzpool_progress(struct gzpool *p, const char *what)
{
	double s = elapsed(&p->start);

	weprintf("%s: %llu bytes in, %llu out (%.1f%%), %.1f MB/s%s", p->o.label,
	    (unsigned long long)p->in, (unsigned long long)p->out,
	    p->in ? 100.0 * p->out / p->in : 0.0, s > 0 ? p->in / s / 1e6 : 0.0, what);
}

/* Stop every thread at its next look: with err set, as a failure. */
static void
stop(struct gzpool *p, int err, const char *what)
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
 * Deflate one block into b->out with libdeflate, which makes a whole raw
 * stream of it; then join it (join.h): inflated back to prove it, and,
 * unless it is the last, made to end on a byte boundary and not final, so
 * that blocks compressed apart lay end to end as one stream. b->out holds
 * libdeflate's bound for a block and JOIN_PAD more.
 */
static int
deflateblock(struct engine *e, struct block *b)
{
	b->outlen = libdeflate_deflate_compress(e->c, b->in, b->inlen, b->out,
	    b->outcap - JOIN_PAD);
	if (!b->outlen || joiner_join(&e->j, b->in, b->inlen, b->out, &b->outlen, b->last) < 0)
		return -1;
	b->crc = libdeflate_crc32(0, b->in, b->inlen);
	return 0;
}

static void *
worker(void *arg)
{
	struct engine *e = arg;
	struct gzpool *p = e->p;
	struct block *b;
	int i;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		/* The oldest filled block first, so the writer is never starved. */
		b = NULL;
		for (i = 0; i < p->nblocks; i++)
			if (p->blocks[i].state == FILLED && (!b || p->blocks[i].seq < b->seq))
				b = &p->blocks[i];
		if (p->stop || p->finished)
			break;
		if (!b) {
			pthread_cond_wait(&p->filled, &p->lock);
			continue;
		}
		b->state = BUSY;
		pthread_mutex_unlock(&p->lock);
		if (deflateblock(e, b) < 0) {
			stop(p, EIO, "deflate");
			pthread_mutex_lock(&p->lock);
			break;
		}
		pthread_mutex_lock(&p->lock);
		b->state = DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/*
 * The writer's output, which holds in bytes of input: into the file, the
 * digest and the verifier's view.
 */
static int
emit(struct gzpool *p, const void *buf, size_t n, size_t in)
{
	if (writeall(p->fd, buf, n) < 0)
		return -1;
	if (p->o.digest)
		digest_update(&p->dg, buf, n);
	p->out += n;
	if (p->o.verify) {
		/* The verifier decides whether a stretch is long enough. */
		pthread_mutex_lock(&p->vlock);
		p->written = p->out;
		p->writtenin += in;
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
static void
vreadyset(struct gzpool *p, int v)
{
	pthread_mutex_lock(&p->vlock);
	if (!p->vready)
		p->vready = v;
	pthread_cond_broadcast(&p->vreadycv);
	pthread_mutex_unlock(&p->vlock);
}

/*
 * Under vlock: is the next stretch ready, or the writer gone, and where
 * does it end? A stretch ends on a page boundary, but for the last: the
 * page cache drops whole pages only, and the page a stretch ended in would
 * be reread from the cache.
 */
static int
stretchready(const struct gzpool *p, uint64_t *end)
{
	uint64_t e = p->written - p->written % p->pagesize;

	if (p->wdone) {
		*end = p->written;
		return 1;
	}
	if (e <= p->vsynced ||
	    (e - p->vsynced < VSTRIDE && p->writtenin - p->vsyncedin < VINSTRIDE))
		return 0;
	*end = e;
	return 1;
}

static ssize_t
vread(void *arg, void *buf, size_t n)
{
	struct gzpool *p = arg;
	uint64_t upto;
	ssize_t r;

	vreadyset(p, 1);	/* gzcheck has all its memory by its first read */
	if (p->voff == p->vsynced) {
		pthread_mutex_lock(&p->vlock);
		while (!stretchready(p, &upto))
			pthread_cond_wait(&p->vmore, &p->vlock);
		p->vsyncedin = p->writtenin;
		pthread_mutex_unlock(&p->vlock);
		if (upto == p->vsynced)
			return 0;
		/* Only a real I/O error matters: elsewhere, read the cache. */
		if (!p->o.nosync && sync_file_range(p->fd, (off_t)p->vsynced,
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
	struct gzpool *p = arg;

	p->vr = gzcheck_read(vread, p, 0, &p->vg);
	vreadyset(p, -1);	/* no effect once it was ready */
	return NULL;
}

/* The next block in order, DONE, or NULL once the pool stops. */
static struct block *
nextdone(struct gzpool *p)
{
	struct block *b = NULL;
	int i;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		for (i = 0; i < p->nblocks && !b; i++)
			if (p->blocks[i].state == DONE && p->blocks[i].seq == p->nextwrite)
				b = &p->blocks[i];
		if (b)
			break;
		pthread_cond_wait(&p->done, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return b;
}

static void *
writer(void *arg)
{
	struct gzpool *p = arg;
	unsigned char hdr[HEADER_SIZE] = { ID1, ID2, CM_DEFLATE, 0, 0, 0, 0, 0, 0, OS_UNIX };
	unsigned char trailer[TRAILER_SIZE];
	struct block *b;
	int i, last = 0;

	hdr[8] = p->o.level >= 9 ? XFL_BEST : p->o.level <= 1 ? XFL_FAST : 0;
	if (emit(p, hdr, sizeof(hdr), 0) < 0) {
		stop(p, errno, "write");
		return NULL;
	}
	while (!last && (b = nextdone(p))) {
		if (emit(p, b->out, b->outlen, b->inlen) < 0) {
			stop(p, errno, "write");
			return NULL;
		}
		p->crc = crc32_combine(p->crc, b->crc, b->inlen);
		p->in += b->inlen;
		last = b->last;
		if (p->o.verbose && elapsed(&p->lastshow) >= 1.0) {
			clock_gettime(CLOCK_MONOTONIC, &p->lastshow);
			gzpool_progress(p, "");
		}
		pthread_mutex_lock(&p->lock);
		b->state = FREE;
		p->nextwrite++;
		p->finished = last;
		pthread_cond_broadcast(&p->freed);
		pthread_cond_broadcast(&p->filled);	/* workers leave after the last */
		pthread_mutex_unlock(&p->lock);
	}
	if (!last)
		return NULL;
	for (i = 0; i < 4; i++) {
		trailer[i] = p->crc >> (8 * i);
		trailer[4 + i] = (p->in & 0xffffffffu) >> (8 * i);
	}
	if (emit(p, trailer, sizeof(trailer), 0) < 0)
		stop(p, errno, "write");
	return NULL;
}

/* Stop every thread, wait for each, and free the blocks; the rest stays. */
static void
quiesce(struct gzpool *p)
{
	int i;

	stop(p, 0, NULL);	/* wake every thread to leave: nothing left */
	if (p->haswriter)
		pthread_join(p->writer, NULL);
	for (i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	if (p->hasverifier) {
		pthread_mutex_lock(&p->vlock);
		p->wdone = 1;
		pthread_cond_signal(&p->vmore);
		pthread_mutex_unlock(&p->vlock);
		pthread_join(p->verifier, NULL);
	}
	p->haswriter = p->nworkers = p->hasverifier = 0;
	for (i = 0; i < p->nengines; i++) {
		libdeflate_free_compressor(p->engines[i].c);
		joiner_end(&p->engines[i].j);
	}
	free(p->engines);
	p->engines = NULL;
	p->nengines = 0;
	free(p->arena);
	p->arena = NULL;
	free(p->blocks);
	free(p->workers);
	p->blocks = NULL;
	p->workers = NULL;
	p->nblocks = 0;
}

void
gzpool_free(struct gzpool *p)
{
	if (!p)
		return;
	quiesce(p);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->vlock);
	pthread_cond_destroy(&p->vmore);
	pthread_cond_destroy(&p->vreadycv);
	free(p);
}

struct gzpool *
gzpool_start(int fd, const struct gzpool_opts *o, char *why, size_t whysize)
{
	struct gzpool *p = calloc(1, sizeof(*p));
	size_t outcap, per;
	long pagesize;
	int i, e = 0;

	if (!p) {
		snprintf(why, whysize, "cannot allocate: %s", strerror(errno));
		return NULL;
	}
	p->o = *o;
	p->fd = fd;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->freed, NULL);
	pthread_mutex_init(&p->vlock, NULL);
	pthread_cond_init(&p->vmore, NULL);
	pthread_cond_init(&p->vreadycv, NULL);
	p->crc = crc32(0, NULL, 0);
	if (o->digest)
		digest_init(&p->dg, DIGEST_MAX);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->lastshow = p->start;
	/* Two blocks per thread in flight keep every worker busy, and bound memory. */
	p->nblocks = 2 * o->threads + 2;
	if (!(p->blocks = calloc(p->nblocks, sizeof(*p->blocks))) ||
	    !(p->workers = calloc(o->threads, sizeof(*p->workers)))) {
		p->nblocks = p->blocks ? p->nblocks : 0;
		e = errno;
		goto nomem;
	}
	/* One allocation holds every block's input and output. */
	outcap = libdeflate_deflate_compress_bound(NULL, o->block) + JOIN_PAD;
	per = o->block + outcap;
	if (!(p->arena = malloc((size_t)p->nblocks * per))) {
		e = errno;
		goto nomem;
	}
	for (i = 0; i < p->nblocks; i++) {
		p->blocks[i].in = p->arena + (size_t)i * per;
		p->blocks[i].out = p->blocks[i].in + o->block;
		p->blocks[i].outcap = outcap;
	}
	if (!(p->engines = calloc(o->threads, sizeof(*p->engines)))) {
		e = errno;
		goto nomem;
	}
	for (; p->nengines < o->threads; p->nengines++) {
		struct engine *en = &p->engines[p->nengines];

		en->p = p;
		if (!(en->c = libdeflate_alloc_compressor(o->level)) || joiner_init(&en->j) < 0) {
			e = ENOMEM;
			p->nengines++;	/* what it has is freed with the rest */
			goto nomem;
		}
	}
	/* pthread functions return their error; errno is not theirs. */
	for (i = 0; i < o->threads; i++, p->nworkers++) {
		if ((e = pthread_create(&p->workers[i], NULL, worker, &p->engines[i])) != 0)
			goto nothread;
	}
	if ((e = pthread_create(&p->writer, NULL, writer, p)) != 0)
		goto nothread;
	p->haswriter = 1;
	if (o->verify) {
		pagesize = sysconf(_SC_PAGESIZE);
		p->pagesize = pagesize > 0 ? (uint64_t)pagesize : 4096;
		if ((e = pthread_create(&p->verifier, NULL, verifier, p)) != 0)
			goto nothread;
		p->hasverifier = 1;
		/* Its memory too is had before anything is read. */
		pthread_mutex_lock(&p->vlock);
		while (!p->vready)
			pthread_cond_wait(&p->vreadycv, &p->vlock);
		pthread_mutex_unlock(&p->vlock);
		if (p->vready < 0) {
			e = p->vg.err ? p->vg.err : ENOMEM;
			goto nomem;
		}
	}
	return p;
nothread:
	snprintf(why, whysize, "cannot start a thread: %s", strerror(e));
	gzpool_free(p);
	return NULL;
nomem:
	snprintf(why, whysize, "cannot allocate memory for %d threads and %d blocks of %zu KiB: %s",
	    o->threads, p->nblocks, o->block / 1024, strerror(e));
	gzpool_free(p);
	return NULL;
}

/* The next free block, or NULL once the pool is stopping. */
static struct block *
nextfree(struct gzpool *p)
{
	struct block *b = NULL;
	int i;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		for (i = 0; i < p->nblocks && !b; i++)
			if (p->blocks[i].state == FREE)
				b = &p->blocks[i];
		if (b)
			break;
		pthread_cond_wait(&p->freed, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return b;
}

/* Hand b to the workers. */
static void
submit(struct gzpool *p, struct block *b)
{
	pthread_mutex_lock(&p->lock);
	b->state = FILLED;
	pthread_cond_broadcast(&p->filled);
	pthread_mutex_unlock(&p->lock);
}

int
gzpool_feed(struct gzpool *p, int in, char *why, size_t whysize)
{
	uint64_t seq = 0;
	struct block *b;
	ssize_t n;
	int rerr = 0;

	while ((b = nextfree(p))) {
		n = readall(in, b->in, p->o.block);
		if (n < 0) {
			rerr = errno;
			stop(p, rerr, "read");
			break;
		}
		b->seq = seq++;
		b->inlen = (size_t)n;
		b->last = n == 0;
		submit(p, b);
		if (n == 0)
			break;
	}
	pthread_join(p->writer, NULL);
	p->haswriter = 0;
	quiesce(p);
	if (!p->err)
		return 0;
	if (rerr)
		snprintf(why, whysize, "input: read error: %s", strerror(rerr));
	else
		snprintf(why, whysize, "%s: %s: %s", p->o.label, p->errwhat, strerror(p->err));
	return -1;
}

int
gzpool_verified(struct gzpool *p, char *why, size_t whysize)
{
	const struct gzcheck *g = &p->vg;

	if (p->vr == GZ_IOERR) {
		snprintf(why, whysize, "%s: verify: read: %s", p->o.label, strerror(g->err));
		return -1;
	}
	if (p->vr == GZ_BAD || g->member != 1 || g->out != p->in || g->in != p->out) {
		snprintf(why, whysize, "%s: verify failed: %s at byte %llu", p->o.label,
		    p->vr == GZ_BAD ? g->msg : "size differs from what was written",
		    (unsigned long long)g->offset);
		return -1;
	}
	return 0;
}

void
gzpool_digest(struct gzpool *p, unsigned char *md)
{
	digest_final(&p->dg, md);
}

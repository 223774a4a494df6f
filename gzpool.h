/*
 * gzpool.h: a stream deflated in parallel into one ordinary gzip member.
 *
 * The stream is cut into blocks that worker threads deflate apart with
 * libdeflate and join (join.h), so that the blocks laid end to end are one
 * gzip member whose bytes do not depend on the thread count. A writer
 * thread puts the blocks out in order, hashing what it writes (--digest);
 * a verifier thread may read the file back beside it (--verify).
 *
 * Memory: 2 * threads + 2 blocks in flight, each holding its input and
 * libdeflate's bound for its output (a little over twice the block size),
 * and per thread a compressor (libdeflate's; the most for -10 to -12) and
 * an inflater with 64 KiB of scratch; --verify adds gzcheck's inflater.
 */
#ifndef SAFEPIPE_GZPOOL_H
#define SAFEPIPE_GZPOOL_H

#include <stddef.h>
#include <stdint.h>

struct gzpool_opts {
	int level;		/* 0 (stored) .. 12, libdeflate's */
	int threads;		/* workers */
	size_t block;		/* bytes a block */
	int digest;		/* BLAKE2b-512 of the bytes written */
	int verify;		/* reread and inflate the file beside the writer */
	int nosync;		/* --verify reads the page cache, not the device */
	int verbose;		/* progress on stderr about once a second */
	const char *label;	/* the output, for messages */
};

struct gzpool;

/*
 * Allocate every block and start every thread, writing into fd: before a
 * producer runs, so that what can fail for want of memory or threads fails
 * before anything was started or read. NULL with the reason in why.
 */
struct gzpool *gzpool_start(int fd, const struct gzpool_opts *, char *why, size_t whysize);

/*
 * Read in to its end and compress it; wait for the last byte to be
 * written. 0 when the member is whole; -1 with the reason in why. The
 * threads are stopped either way.
 */
int gzpool_feed(struct gzpool *, int in, char *why, size_t whysize);

/* After gzpool_feed: did the file read back inflate to what was written? */
int gzpool_verified(struct gzpool *, char *why, size_t whysize);

/* After gzpool_feed: the BLAKE2b-512 (DIGEST_MAX bytes) of every byte written. */
void gzpool_digest(struct gzpool *, unsigned char *md);

/* One progress line on stderr: bytes in and out, ratio, speed, and what. */
void gzpool_progress(struct gzpool *, const char *what);

/* Stop whatever threads run and free everything; any time, NULL too. */
void gzpool_free(struct gzpool *);

#endif

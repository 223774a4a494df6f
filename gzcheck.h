/* gzcheck.h: walk a gzip file member by member and say where it first goes wrong. */
#ifndef SAFEPIPE_GZCHECK_H
#define SAFEPIPE_GZCHECK_H

#include <stdint.h>
#include <sys/types.h>

enum {
	GZ_OK = 0,	/* every member good (and, with tar, the tar ends properly) */
	GZ_BAD = 1,	/* corrupt: see msg, offset, member */
	GZ_IOERR = 2	/* could not read: errno is in err */
};

struct gzcheck {
	uint64_t offset;	/* compressed byte offset where the fault was seen */
	unsigned long member;	/* 1-based member number */
	uint64_t in, out;	/* totals read and inflated */
	int err;		/* errno for GZ_IOERR */
	char msg[160];		/* "bad header", "corrupt data", "crc mismatch", ... */
};

/*
 * Test all of fd from its current position to EOF. With tar, also require
 * the decompressed data to end with a tar end-of-archive (two zero blocks).
 */
int gzcheck_fd(int fd, int tar, struct gzcheck *);

/*
 * The same over whatever rd returns: like read(2), up to n bytes into buf,
 * 0 at the end, -1 with errno set on error. (gzsafe --verify follows its
 * own writer with it.) All memory is had before rd is first called; none
 * to be had is GZ_IOERR with ENOMEM.
 */
typedef ssize_t gzcheck_reader(void *ctx, void *buf, size_t n);
int gzcheck_read(gzcheck_reader *rd, void *ctx, int tar, struct gzcheck *g);

/* The same over a buffer in memory (for fuzzing). */
int gzcheck_mem(const void *, uint64_t, int tar, struct gzcheck *);

#endif

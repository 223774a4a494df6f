/*
 * join.h: deflate streams compressed apart, laid end to end as one.
 *
 * libdeflate compresses a whole buffer into a raw deflate stream whose last
 * block is marked final (BFINAL), with no way to ask otherwise. To join such
 * streams into one, each but the last is inflated again with zlib, which
 * stops at every block boundary when asked (Z_BLOCK) and says where it is
 * to the bit: the final block's BFINAL bit is cleared, and the stream is
 * brought to a byte boundary by an empty stored block, as a sync flush
 * would have ended it. The same pass proves that the stream inflates to
 * exactly the input it came from: a fault in the compressor, or in memory,
 * is caught before the bytes are written.
 */
#ifndef SAFEPIPE_JOIN_H
#define SAFEPIPE_JOIN_H

#include <stddef.h>
#include <zlib.h>

#define JOIN_PAD 5	/* what joining adds at most: a byte, then LEN and NLEN of a stored block */

struct joiner {
	z_stream z;
	unsigned char *scratch;	/* what the stream inflates to, a stretch at a time */
	int ready;
};

/* 0, or -1 with errno ENOMEM. */
int joiner_init(struct joiner *);
void joiner_end(struct joiner *);

/*
 * out[0 .. *outlen) must be one whole raw deflate stream that inflates to
 * in[0 .. inlen) and nothing else, else -1. Unless last, it is then made
 * the non-final piece of a longer stream ending on a byte boundary, which
 * the next piece may follow directly: *outlen grows by at most JOIN_PAD,
 * for which out must have room.
 */
int joiner_join(struct joiner *, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t *outlen, int last);

#endif

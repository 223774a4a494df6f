/* join.c: see join.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "join.h"

#define SCRATCH (64 * 1024)

/* inflate's data_type after a return (zlib.h, "inflate"). */
#define DT_UNUSED 7	/* bits of the last byte taken that were not used */
#define DT_LAST 64	/* the final block's header has been read */
#define DT_BOUNDARY 128	/* stopped at the end of a block */

int
joiner_init(struct joiner *j)
{
	memset(j, 0, sizeof(*j));
	if (!(j->scratch = malloc(SCRATCH)))
		return -1;
	if (inflateInit2(&j->z, -15) != Z_OK) {
		free(j->scratch);
		j->scratch = NULL;
		errno = ENOMEM;
		return -1;
	}
	j->ready = 1;
	return 0;
}

void
joiner_end(struct joiner *j)
{
	if (j->ready)
		inflateEnd(&j->z);
	free(j->scratch);
	memset(j, 0, sizeof(*j));
}

/*
 * Inflate out against in; on success *header is the bit offset of the
 * final block's header, and *end that of the bit after its end of block.
 */
static int
prove(struct joiner *j, const unsigned char *in, size_t inlen,
    const unsigned char *out, size_t outlen, uint64_t *header, uint64_t *end)
{
	z_stream *z = &j->z;
	size_t done = 0, got;
	uint64_t at;
	int r, ended = 0;

	if (inflateReset(z) != Z_OK)
		return -1;
	z->next_in = (unsigned char *)out;	/* zlib's next_in is not const */
	z->avail_in = 0;
	*header = 0;	/* a raw stream's first block header is its first bit */
	*end = 0;
	for (;;) {
		/* avail_in is 32 bits: feed a huge stream a piece at a time. */
		if (!z->avail_in) {
			size_t left = outlen - (size_t)(z->next_in - out);

			z->avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
		}
		z->next_out = j->scratch;
		z->avail_out = SCRATCH;
		r = inflate(z, Z_BLOCK);
		got = SCRATCH - z->avail_out;
		if (got > inlen - done || memcmp(j->scratch, in + done, got) != 0)
			return -1;
		done += got;
		if (r == Z_STREAM_END)
			break;
		if (r != Z_OK)
			return -1;	/* bad data, or no progress: cut short */
		if (z->data_type & DT_BOUNDARY) {
			at = 8 * (uint64_t)(z->next_in - out) - (z->data_type & DT_UNUSED);
			if (z->data_type & DT_LAST) {
				*end = at;
				ended = 1;
			} else
				*header = at;
		}
	}
	/* Whole, to its last byte, and nothing else: in and out both used up. */
	if (!ended || done != inlen || (size_t)(z->next_in - out) != outlen ||
	    (*end + 7) / 8 != outlen)
		return -1;
	return 0;
}

int
joiner_join(struct joiner *j, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t *outlen, int last)
{
	uint64_t header, end;
	unsigned unused;
	size_t n = *outlen;

	if (prove(j, in, inlen, out, n, &header, &end) < 0)
		return -1;
	if (last)
		return 0;
	out[header / 8] &= (unsigned char)~(1u << (header % 8));	/* BFINAL */
	/*
	 * An empty stored block: header bits 0 (not final) and 00 (stored),
	 * zeros to the byte boundary, then LEN 0 and NLEN 0xffff. Its header
	 * goes into the last byte's unused bits, cleared, when three are free.
	 */
	unused = (unsigned)(8 * (uint64_t)n - end);
	out[n - 1] &= (unsigned char)(0xff >> unused);
	if (unused < 3)
		out[n++] = 0;
	out[n++] = 0;
	out[n++] = 0;
	out[n++] = 0xff;
	out[n++] = 0xff;
	*outlen = n;
	return 0;
}

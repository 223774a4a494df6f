/*
 * libFuzzer harness: the join step behind gzsafe's parallel deflate.
 * The input picks a level and a block size and gives the data; the data is
 * cut into blocks, each compressed apart by libdeflate and joined, and the
 * pieces laid end to end must inflate, through zlib, to the data and end
 * exactly where they end. Then the joiner is fed the data itself as if it
 * were compressed: whatever it accepts must inflate to what it was told.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>

#include "../../join.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Inflate a whole raw stream; 0 if it ends at its last byte and gives want. */
static int
inflatesto(const unsigned char *s, size_t n, const uint8_t *want, size_t wantlen)
{
	unsigned char out[16384];
	size_t done = 0, got;
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		abort();
	z.next_in = (unsigned char *)s;
	z.avail_in = n;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		r = inflate(&z, Z_NO_FLUSH);
		got = sizeof(out) - z.avail_out;
		if (got > wantlen - done || memcmp(out, want + done, got) != 0)
			r = Z_DATA_ERROR;
		done += got;
	} while (r == Z_OK);
	inflateEnd(&z);
	return r == Z_STREAM_END && z.avail_in == 0 && done == wantlen ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct libdeflate_compressor *cs[13];	/* one per level, kept: they are slow to make */
	static struct joiner j;
	static int ready;
	struct libdeflate_compressor *c;
	unsigned char *all, *piece;
	size_t block, cap, off, n, len, alllen = 0;
	int level, last;

	if (size < 3)
		return 0;
	level = data[0] % 13;
	block = 1 + ((size_t)data[1] << 8 | data[2]) % 8192;
	data += 3;
	size -= 3;
	if ((!ready && joiner_init(&j) < 0) ||
	    (!cs[level] && !(cs[level] = libdeflate_alloc_compressor(level))))
		abort();
	ready = 1;
	c = cs[level];
	cap = libdeflate_deflate_compress_bound(c, block) + JOIN_PAD;
	if (!(piece = malloc(cap)) ||
	    !(all = malloc((size / block + 2) * cap)))
		abort();
	/* The blocks, then an empty last one, as gzsafe ends its stream. */
	for (off = 0, last = 0; !last; off += n) {
		n = size - off < block ? size - off : block;
		last = n == 0;
		len = libdeflate_deflate_compress(c, data + off, n, piece, cap - JOIN_PAD);
		if (!len || joiner_join(&j, data + off, n, piece, &len, last) < 0)
			abort();	/* libdeflate's own output must join */
		memcpy(all + alllen, piece, len);
		alllen += len;
	}
	if (inflatesto(all, alllen, data, size) < 0)
		abort();

	/* Arbitrary bytes as a stream: accepted only if they are one. */
	if (size > 0 && size <= cap - JOIN_PAD) {
		size_t half = size / 2;

		memcpy(piece, data, size);
		len = size;
		if (joiner_join(&j, data + half, size - half, piece, &len, 1) == 0 &&
		    inflatesto(piece, len, data + half, size - half) < 0)
			abort();
	}
	free(all);
	free(piece);
	return 0;
}

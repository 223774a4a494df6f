/*
 * libFuzzer harness: the gzip validator behind gzsafe -t and --verify.
 * Beyond "no crash": whatever it calls good, zlib's own gzip decoder must
 * read to the end, member after member, with no error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../gzcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
zlibagrees(const uint8_t *data, size_t size)
{
	unsigned char out[65536];
	z_stream z;
	int r = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return 1;
	z.next_in = (unsigned char *)data;
	z.avail_in = size;
	while (z.avail_in > 0) {
		z.next_out = out;
		z.avail_out = sizeof(out);
		r = inflate(&z, Z_NO_FLUSH);
		if (r == Z_STREAM_END) {
			if (inflateReset(&z) != Z_OK)
				break;
			r = Z_OK;
			continue;
		}
		if (r != Z_OK)
			break;
	}
	inflateEnd(&z);
	return r == Z_OK && z.avail_in == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gzcheck g;

	if (gzcheck_mem(data, size, 0, &g) == GZ_OK && !zlibagrees(data, size))
		abort();
	gzcheck_mem(data, size, 1, &g);
	return 0;
}

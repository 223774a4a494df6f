/* digest.c: see digest.h. */
#include "digest.h"

/*
 * libb2 exports each implementation under its own suffix besides the
 * dispatched names. Its dispatcher picks the SSE4.1/AVX code on this
 * suite's x86-64 machines, and that code measured slower than libb2's own
 * portable C (1 MiB updates, one core, Xeon with AVX-512: dispatched 850,
 * avx 863, sse41 871, ssse3 860, sse2 637, ref 1062 MB/s; see
 * notes/sumcheck.md). The reference code is plain C: safe on every CPU,
 * so no feature check is needed, and it is the fastest we measured.
 * It is a separate, exported symbol of the same library version, with the
 * same blake2b_state, so the switch is only these three calls.
 */
int blake2b_init_ref(blake2b_state *, size_t);
int blake2b_update_ref(blake2b_state *, const uint8_t *, size_t);
int blake2b_final_ref(blake2b_state *, uint8_t *, size_t);

int
digest_init(struct digest *d, size_t len)
{
	d->len = len;
	return blake2b_init_ref(&d->s, len);
}

int
digest_update(struct digest *d, const void *p, size_t n)
{
	return blake2b_update_ref(&d->s, p, n);
}

int
digest_final(struct digest *d, unsigned char *out)
{
	return blake2b_final_ref(&d->s, out, d->len);
}

void
digest_hex(const unsigned char *p, size_t len, char *hex)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = x[p[i] >> 4];
		hex[2 * i + 1] = x[p[i] & 15];
	}
	hex[2 * len] = '\0';
}

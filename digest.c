/* digest.c: see digest.h. */
#include "digest.h"

int
digest_init(struct digest *d, size_t len)
{
	d->len = len;
	return blake2b_init(&d->s, len);
}

int
digest_update(struct digest *d, const void *p, size_t n)
{
	return blake2b_update(&d->s, p, n);
}

int
digest_final(struct digest *d, unsigned char *out)
{
	return blake2b_final(&d->s, out, d->len);
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

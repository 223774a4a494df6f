/* digest.h: BLAKE2b through whichever libb2 implementation runs fastest here. */
#ifndef SAFEPIPE_DIGEST_H
#define SAFEPIPE_DIGEST_H

#include <stddef.h>
#include <blake2.h>

#define DIGEST_MAX 64	/* BLAKE2b-512, in bytes */

struct digest {
	blake2b_state s;
	size_t len;	/* output length in bytes, 1..DIGEST_MAX */
};

int digest_init(struct digest *, size_t len);
int digest_update(struct digest *, const void *, size_t);
int digest_final(struct digest *, unsigned char *out);	/* writes len bytes */

/* Lower-case hex of len bytes into hex[2*len+1]. */
void digest_hex(const unsigned char *, size_t len, char *hex);

#endif

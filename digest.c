/* digest.c: see digest.h. */
#include <pthread.h>
#include <time.h>

#include "digest.h"

/*
 * libb2 exports each of its BLAKE2b implementations under its own suffix
 * beside the dispatched names, which pick SSE2, SSSE3, SSE4.1, AVX or XOP
 * code by CPU feature. That pick is not the fastest everywhere: on some
 * CPUs libb2's portable C (_ref) is faster, on others slower (bench/b2impl.c
 * measures every implementation, and doc/bench.md keeps its table).
 * Neither fixed choice is right, and guessing from CPU flags would be a
 * model of the machines we happened to see. So the first digest of a
 * process times both candidates, the portable code and the dispatcher's
 * pick, on the same 64 KiB in this thread's CPU time (best of three after
 * a warm-up: about a millisecond, and descheduling does not count), and
 * keeps the faster. Both compute the same function: the choice changes
 * speed, never a digest. Both are exported symbols of the same library
 * version with the same blake2b_state, and the pthread_once also settles
 * libb2's dispatcher before any worker thread
 * can race to initialise it.
 *
 * The portable functions exist only in libb2's "fat" build (--enable-fat,
 * as Debian builds it on x86); a plain build, and every other architecture,
 * exports the dispatched names alone. So they are weak references: where
 * the library lacks them they are NULL, and the dispatched code is the one
 * candidate. `make B2REF=0` leaves them out, to test that build anywhere.
 */
#ifndef SAFEPIPE_NO_B2REF
int blake2b_init_ref(blake2b_state *, size_t) __attribute__((weak));
int blake2b_update_ref(blake2b_state *, const uint8_t *, size_t) __attribute__((weak));
int blake2b_final_ref(blake2b_state *, uint8_t *, size_t) __attribute__((weak));
#define REF_INIT blake2b_init_ref
#define REF_UPDATE blake2b_update_ref
#define REF_FINAL blake2b_final_ref
#else
#define REF_INIT NULL
#define REF_UPDATE NULL
#define REF_FINAL NULL
#endif

struct impl {
	int (*init)(blake2b_state *, size_t);
	int (*update)(blake2b_state *, const uint8_t *, size_t);
	int (*final)(blake2b_state *, uint8_t *, size_t);
};

/* The dispatcher's pick first: it is always there. */
static const struct impl impls[] = {
	{ blake2b_init, blake2b_update, blake2b_final },
	{ REF_INIT, REF_UPDATE, REF_FINAL },
};
static const struct impl *impl = &impls[0];

static pthread_once_t picked = PTHREAD_ONCE_INIT;

static long long
cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
pick(void)
{
	static const uint8_t buf[64 * 1024];	/* speed does not depend on the bytes */
	uint8_t out[BLAKE2B_OUTBYTES];
	long long best[2] = { -1, -1 }, t;
	blake2b_state s;
	int round, i;

	if (!impls[1].init || !impls[1].update || !impls[1].final)
		return;
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 2; i++) {
			t = cpu_ns();
			impls[i].init(&s, sizeof(out));
			impls[i].update(&s, buf, sizeof(buf));
			impls[i].final(&s, out, sizeof(out));
			t = cpu_ns() - t;
			if (round > 0 && (best[i] < 0 || t < best[i]))
				best[i] = t;
		}
	}
	if (best[1] < best[0])
		impl = &impls[1];
}

int
digest_init(struct digest *d, size_t len)
{
	pthread_once(&picked, pick);
	d->len = len;
	return impl->init(&d->s, len);
}

int
digest_update(struct digest *d, const void *p, size_t n)
{
	return impl->update(&d->s, p, n);
}

int
digest_final(struct digest *d, unsigned char *out)
{
	return impl->final(&d->s, out, d->len);
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

/*
 * bench/b2impl.c: which of libb2's BLAKE2b implementations is fastest on
 * this machine?  libb2 exports each one under its own suffix beside the
 * dispatched names.  digest.c times two of them at a program's first
 * digest, the portable C code (_ref) and the dispatcher's pick, and keeps
 * the faster.  This program shows why: it hashes the same buffer through every
 * implementation the CPU can run, in 128 KiB updates as sumcheck does,
 * checks that all of them give the same digest as the dispatched one, and
 * prints a markdown table, best of three rounds with the implementations
 * alternating.  Not part of make check.
 */
#include <blake2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK	(128 * 1024)
#define TOTAL	(256 * 1024 * 1024)
#define ROUNDS	3

#define IMPL(sfx) \
	int blake2b_init_##sfx(blake2b_state *, size_t); \
	int blake2b_update_##sfx(blake2b_state *, const uint8_t *, size_t); \
	int blake2b_final_##sfx(blake2b_state *, uint8_t *, size_t);
IMPL(ref)
#if defined(__x86_64__) || defined(__i386__)
IMPL(sse2)
IMPL(ssse3)
IMPL(sse41)
IMPL(avx)
IMPL(xop)
#endif

struct impl {
	const char *name;
	const char *cpu;	/* feature needed, for __builtin_cpu_supports */
	int (*init)(blake2b_state *, size_t);
	int (*update)(blake2b_state *, const uint8_t *, size_t);
	int (*final)(blake2b_state *, uint8_t *, size_t);
	double best;
};

static struct impl impls[] = {
	{ "blake2b (dispatched)", NULL, blake2b_init, blake2b_update, blake2b_final, 0 },
	{ "blake2b_ref (portable C)", NULL, blake2b_init_ref, blake2b_update_ref, blake2b_final_ref, 0 },
#if defined(__x86_64__) || defined(__i386__)
	{ "blake2b_sse2", "sse2", blake2b_init_sse2, blake2b_update_sse2, blake2b_final_sse2, 0 },
	{ "blake2b_ssse3", "ssse3", blake2b_init_ssse3, blake2b_update_ssse3, blake2b_final_ssse3, 0 },
	{ "blake2b_sse41", "sse4.1", blake2b_init_sse41, blake2b_update_sse41, blake2b_final_sse41, 0 },
	{ "blake2b_avx", "avx", blake2b_init_avx, blake2b_update_avx, blake2b_final_avx, 0 },
	{ "blake2b_xop", "xop", blake2b_init_xop, blake2b_update_xop, blake2b_final_xop, 0 },
#endif
};
#define NIMPL (sizeof(impls) / sizeof(impls[0]))

static int
supported(const char *cpu)
{
#if defined(__x86_64__) || defined(__i386__)
	if (cpu == NULL)
		return 1;
	if (strcmp(cpu, "sse2") == 0)
		return __builtin_cpu_supports("sse2");
	if (strcmp(cpu, "ssse3") == 0)
		return __builtin_cpu_supports("ssse3");
	if (strcmp(cpu, "sse4.1") == 0)
		return __builtin_cpu_supports("sse4.1");
	if (strcmp(cpu, "avx") == 0)
		return __builtin_cpu_supports("avx");
	if (strcmp(cpu, "xop") == 0)
		return __builtin_cpu_supports("xop");
	return 0;
#else
	return cpu == NULL;
#endif
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(void)
{
	unsigned char *buf, want[BLAKE2B_OUTBYTES], got[BLAKE2B_OUTBYTES];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t i, off;
	int r, bad = 0;

	if ((buf = malloc(TOTAL)) == NULL) {
		perror("b2impl: malloc");
		return 1;
	}
	for (i = 0; i < TOTAL; i++) {	/* xorshift: incompressible, repeatable */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < NIMPL; i++) {
			struct impl *im = &impls[i];
			blake2b_state s;
			double t;

			if (!supported(im->cpu))
				continue;
			t = now();
			im->init(&s, BLAKE2B_OUTBYTES);
			for (off = 0; off < TOTAL; off += CHUNK)
				im->update(&s, buf + off, CHUNK);
			im->final(&s, i == 0 ? want : got, BLAKE2B_OUTBYTES);
			t = now() - t;
			if (im->best == 0 || t < im->best)
				im->best = t;
			if (i > 0 && memcmp(want, got, sizeof(want)) != 0) {
				fprintf(stderr, "b2impl: %s: digest differs from blake2b's\n", im->name);
				bad = 1;
			}
		}
	}
	printf("\n### libb2's BLAKE2b implementations (256 MiB in 128 KiB updates, one core, best of %d)\n\n", ROUNDS);
	printf("| implementation | MB/s | vs dispatched |\n| --- | ---: | ---: |\n");
	for (i = 0; i < NIMPL; i++) {
		if (!supported(impls[i].cpu)) {
			printf("| %s | (CPU lacks %s) | |\n", impls[i].name, impls[i].cpu);
			continue;
		}
		printf("| %s | %.0f | %.2fx |\n", impls[i].name,
		    TOTAL / impls[i].best / 1e6, impls[0].best / impls[i].best);
	}
	free(buf);
	return bad;
}

/*
 * libFuzzer harness: the strict number parsers behind -w, -E, -p, -b, -l and
 * -m. Beyond "no crash", it checks the contract: whatever is accepted is in
 * range and is exactly what the text says.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	long long v;
	double d;
	char back[64];

	memcpy(s, data, size);
	s[size] = '\0';
	if (parsenum(s, 0, 255, &v) == 0) {
		if (v < 0 || v > 255)
			abort();
		snprintf(back, sizeof(back), "%lld", v);
		/* Accepted text is canonical but for leading zeros. */
		if (strtoll(s, NULL, 10) != v)
			abort();
	}
	if (parsenum(s, 1, 1024, &v) == 0 && (v < 1 || v > 1024))
		abort();
	if (strtosecs(s, &d) == 0 && !(d >= 0 && d <= 1e9))
		abort();
	free(s);
	return 0;
}

/* sidecar.c: see sidecar.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "sidecar.h"
#include "util.h"

/* b2sum escapes only these three, and marks the line with a leading '\'. */
static int
needsescape(const char *name)
{
	return strpbrk(name, "\\\n\r") != NULL;
}

static char *
escapename(const char *name)
{
	char *out = emalloc(2 * strlen(name) + 1), *o = out;

	for (; *name; name++) {
		switch (*name) {
		case '\\': *o++ = '\\'; *o++ = '\\'; break;
		case '\n': *o++ = '\\'; *o++ = 'n'; break;
		case '\r': *o++ = '\\'; *o++ = 'r'; break;
		default: *o++ = *name;
		}
	}
	*o = '\0';
	return out;
}

char *
sidecar_line(const unsigned char *digest, size_t len, const char *name, int tagged)
{
	char hex[2 * DIGEST_MAX + 1], alg[32], *esc, *line;
	int esc_p = needsescape(name);
	size_t n;

	digest_hex(digest, len, hex);
	esc = esc_p ? escapename(name) : estrdup(name);
	n = strlen(esc) + sizeof(hex) + 64;
	line = emalloc(n);
	if (tagged) {
		if (len == DIGEST_MAX)
			snprintf(alg, sizeof(alg), "BLAKE2b");
		else
			snprintf(alg, sizeof(alg), "BLAKE2b-%zu", len * 8);
		snprintf(line, n, "%s%s (%s) = %s\n", esc_p ? "\\" : "", alg, esc, hex);
	} else {
		snprintf(line, n, "%s%s  %s\n", esc_p ? "\\" : "", hex, esc);
	}
	free(esc);
	return line;
}

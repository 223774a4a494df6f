/*
 * libFuzzer harness: the digest-line parser that reads sidecars and
 * manifests written by anyone. Beyond "no crash": every line sidecar_line()
 * writes must parse back to the same digest, length, name and form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../digest.h"
#include "../../sidecar.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
roundtrip(const uint8_t *data, size_t size)
{
	struct sidecar_entry e;
	unsigned char md[DIGEST_MAX];
	size_t len, i, n;
	char *name, *line;
	int tagged, form;

	if (size < 2)
		return;
	len = 1 + data[0] % DIGEST_MAX;
	tagged = data[1] & 1;
	form = (tagged ? SIDECAR_TAG : 0) | (data[1] & 2 ? SIDECAR_BINARY : 0);
	data += 2;
	size -= 2;
	for (i = 0; i < DIGEST_MAX; i++)
		md[i] = i < size ? data[i] : (unsigned char)i;
	/* A name the parser must accept: no NUL, not absolute, no ".." part. */
	name = malloc(size + 2);
	for (i = n = 0; i < size && n < 200; i++)
		if (data[i] && data[i] != '/' && data[i] != '.')
			name[n++] = data[i];
	if (n == 0)
		name[n++] = 'x';
	name[n] = '\0';
	line = sidecar_line(md, len, name, form, &n);
	e.name = malloc(n + 1);
	e.onespace = -1;
	if (sidecar_parse(line, n - 1, &e) != 1 || e.len != len ||
	    memcmp(e.digest, md, len) != 0 || strcmp(e.name, name) != 0 ||
	    e.tagged != tagged || e.unsafe)
		abort();
	free(e.name);
	free(line);
	free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sidecar_entry e;
	int r;

	e.name = malloc(size + 1);
	e.onespace = -1;
	r = sidecar_parse((const char *)data, size, &e);
	if (r == 1 && (e.len < 1 || e.len > DIGEST_MAX || e.name[0] == '\0' ||
	    (e.name[0] == '/' && !e.unsafe) || (e.unsafe && !e.why)))
		abort();
	if (r == -1 && !e.why)
		abort();
	free(e.name);
	roundtrip(data, size);
	return 0;
}

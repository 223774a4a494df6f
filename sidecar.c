/* sidecar.c: see sidecar.h. */
#include <ctype.h>
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
sidecar_line(const unsigned char *digest, size_t len, const char *name, int form, size_t *n)
{
	char hex[2 * DIGEST_MAX + 1], alg[32], *esc, *line;
	int esc_p = !(form & SIDECAR_ZERO) && needsescape(name);
	char end = form & SIDECAR_ZERO ? '\0' : '\n';
	size_t size;
	int w;

	digest_hex(digest, len, hex);
	esc = esc_p ? escapename(name) : estrdup(name);
	size = strlen(esc) + sizeof(hex) + 64;
	line = emalloc(size);
	if (form & SIDECAR_TAG) {
		if (len == DIGEST_MAX)
			snprintf(alg, sizeof(alg), "BLAKE2b");
		else
			snprintf(alg, sizeof(alg), "BLAKE2b-%zu", len * 8);
		w = snprintf(line, size, "%s%s (%s) = %s%c", esc_p ? "\\" : "", alg, esc, hex, end);
	} else {
		w = snprintf(line, size, "%s%s %c%s%c", esc_p ? "\\" : "", hex,
		    form & SIDECAR_BINARY ? '*' : ' ', esc, end);
	}
	free(esc);
	*n = (size_t)w;
	return line;
}

char *
sidecar_path(const char *file)
{
	size_t n = strlen(file);
	char *p = emalloc(n + sizeof(".b2"));

	memcpy(p, file, n);
	memcpy(p + n, ".b2", sizeof(".b2"));
	return p;
}

static int
bad(struct sidecar_entry *e, const char *why)
{
	e->why = why;
	return -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
parsehex(const char *p, size_t n, struct sidecar_entry *e)
{
	size_t i;
	int hi, lo;

	if (n == 0)
		return bad(e, "no digest");
	for (i = 0; i < n; i++)
		if (hexval((unsigned char)p[i]) < 0)
			return bad(e, "digest is not hexadecimal");
	if (n % 2)
		return bad(e, "odd number of hex digits");
	if (n > 2 * DIGEST_MAX)
		return bad(e, "digest longer than 512 bits");
	for (i = 0; i < n; i += 2) {
		hi = hexval((unsigned char)p[i]);
		lo = hexval((unsigned char)p[i + 1]);
		e->digest[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	e->len = n / 2;
	return 0;
}

/*
 * A digest file vouches only for its own directory tree: the name must be
 * relative and must not climb out through "..".
 */
static int
parsename(const char *p, size_t n, int escaped, struct sidecar_entry *e)
{
	const char *end = p + n, *c, *slash;
	char *o = e->name;

	if (n == 0)
		return bad(e, "no file name");
	for (; p < end; p++) {
		if (!escaped || *p != '\\') {
			*o++ = *p;
			continue;
		}
		if (++p == end)
			return bad(e, "bad escape in file name");
		switch (*p) {
		case '\\': *o++ = '\\'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		default: return bad(e, "bad escape in file name");
		}
	}
	*o = '\0';
	if (e->name[0] == '/') {
		e->unsafe = 1;
		e->why = "absolute file name";
		return 0;
	}
	for (c = e->name;; c = slash + 1) {
		slash = strchr(c, '/');
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0')) {
			e->unsafe = 1;
			e->why = "file name with a '..' component";
			return 0;
		}
		if (!slash)
			break;
	}
	return 0;
}

/*
 * "BLAKE2b[-BITS] (NAME) = HEX", or OpenSSL's "BLAKE2b[-BITS](NAME)= HEX"
 * that b2sum reads too; p just after "BLAKE2b".
 */
static int
parsetagged(const char *p, const char *end, int escaped, struct sidecar_entry *e)
{
	size_t bits = 512, hexlen, seplen;
	const char *name, *q, *sep = NULL, *want;
	int openssl;

	if (*p == '-') {
		bits = 0;
		for (p++; p < end && *p >= '0' && *p <= '9' && bits < 1000; p++)
			bits = bits * 10 + (size_t)(*p - '0');
		if (bits < 8 || bits > 512 || bits % 8)
			return bad(e, "bad BLAKE2b digest length");
	}
	openssl = end - p >= 1 && p[0] == '(';
	if (!openssl && (end - p < 2 || p[0] != ' ' || p[1] != '('))
		return bad(e, "not a BLAKE2b line");
	name = p + (openssl ? 1 : 2);
	want = openssl ? ")= " : ") = ";
	seplen = strlen(want);
	for (q = name; (size_t)(end - q) >= seplen; q++)
		if (memcmp(q, want, seplen) == 0)
			sep = q;
	if (!sep)
		return bad(e, "truncated line");
	hexlen = (size_t)(end - (sep + seplen));
	if (parsehex(sep + seplen, hexlen, e) < 0)
		return -1;
	if (hexlen != bits / 4)
		return bad(e, "digest length does not match its tag");
	e->tagged = 1;
	return parsename(name, (size_t)(sep - name), escaped, e);
}

/*
 * "HEX  NAME" or b2sum's binary-mode "HEX *NAME"; or the one-space BSD
 * "HEX NAME". As b2sum, the first such line of a file decides which form
 * the file is in (e->onespace), so that " b" and "*c" stay names there.
 */
static int
parseplain(const char *p, const char *end, int escaped, struct sidecar_entry *e)
{
	const char *q = memchr(p, ' ', (size_t)(end - p)), *name;

	if (!q || end - q < 2) {
		if (parsehex(p, (size_t)((q ? q : end) - p), e) < 0)
			return -1;
		return bad(e, "truncated line");
	}
	if (parsehex(p, (size_t)(q - p), e) < 0)
		return -1;
	if (e->onespace < 0)
		e->onespace = q[1] != ' ' && q[1] != '*';
	if (e->onespace)
		name = q + 1;
	else if (q[1] == ' ' || q[1] == '*')
		name = q + 2;
	else
		return bad(e, "one space after the digest in a file of two");
	return parsename(name, (size_t)(end - name), escaped, e);
}

/* "SHA256 (x) = ..." and friends: some other tool's tagged line. */
static int
othertag(const char *p, const char *end)
{
	while (p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
		p++;
	return end - p >= 2 && p[0] == ' ' && p[1] == '(';
}

int
sidecar_parse(const char *line, size_t n, struct sidecar_entry *e)
{
	const char *p = line, *end;
	int escaped = 0;

	e->len = 0;
	e->tagged = 0;
	e->unsafe = 0;
	e->why = NULL;
	e->name[0] = '\0';
	if (n > SIDECAR_LINEMAX)
		return bad(e, "line too long");
	if (memchr(line, '\0', n))
		return bad(e, "NUL byte in line");
	if (n && line[n - 1] == '\r')
		n--;
	end = line + n;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return 0;
	if (*p == '\\') {
		escaped = 1;
		p++;
	}
	if (end - p >= 8 && memcmp(p, "BLAKE2b", 7) == 0 &&
	    (p[7] == ' ' || p[7] == '-' || p[7] == '('))
		return parsetagged(p + 7, end, escaped, e) < 0 ? -1 : 1;
	if (othertag(p, end))
		return bad(e, "not a BLAKE2b line (other algorithm)");
	return parseplain(p, end, escaped, e) < 0 ? -1 : 1;
}

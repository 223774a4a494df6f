/* sidecar.h: GNU b2sum's line format, written and read in one place. */
#ifndef SAFEPIPE_SIDECAR_H
#define SAFEPIPE_SIDECAR_H

#include <stddef.h>

/*
 * One digest line for name (a basename or relative path), its end included,
 * in a malloc'd string: "HEX  NAME\n"; with SIDECAR_TAG "BLAKE2b (NAME) =
 * HEX\n" ("BLAKE2b-256 (...)" for 32-byte digests); with SIDECAR_BINARY
 * b2sum's binary-mode "HEX *NAME\n". A name with a backslash, newline or
 * carriage return is escaped and the line starts with '\\', as b2sum does;
 * with SIDECAR_ZERO the line ends with a NUL instead and nothing is
 * escaped, as b2sum -z. *n gets the length.
 */
enum { SIDECAR_TAG = 1 << 0, SIDECAR_BINARY = 1 << 1, SIDECAR_ZERO = 1 << 2 };
char *sidecar_line(const unsigned char *digest, size_t len, const char *name, int form,
    size_t *n);

/* FILE's sidecar name, FILE.b2, in a malloc'd string. */
char *sidecar_path(const char *file);

/*
 * Reading: one line of a digest file (without its '\n'; a trailing '\r' is
 * dropped) into e. A pure function over the buffer, so that it can be fuzzed.
 * e->name must point to at least n + 1 bytes; it receives the unescaped name.
 * Returns 1 for a digest line, 0 for a blank or '#' comment line, -1 for a
 * malformed one with e->why saying why (a static string).
 * Accepted: both of b2sum's forms, "HEX *NAME", and the one-space BSD
 * "HEX NAME" that b2sum reads too; set e->onespace to -1 before a file's
 * first line, and keep it for the rest, as the first plain line decides.
 * Refused: other algorithms, bad hex or length, NUL bytes, lines longer than
 * SIDECAR_LINEMAX, bad escapes, empty names. An absolute name or one with a
 * ".." component is a digest line with unsafe set and why saying which: a
 * digest file vouches only for its own tree, so a list of names must refuse
 * it, while a sidecar checked against its data file does not use the name.
 */
#define SIDECAR_LINEMAX 8192

struct sidecar_entry {
	unsigned char digest[64];	/* DIGEST_MAX */
	size_t len;			/* digest bytes, 1..64 */
	char *name;			/* caller's buffer, unescaped, NUL-terminated */
	int tagged;			/* "BLAKE2b (NAME) = HEX" form */
	int unsafe;			/* absolute, or with a ".." component */
	int onespace;			/* in-out: -1 unknown yet for this file, 0 "HEX  NAME", 1 "HEX NAME" */
	const char *why;		/* reason when malformed */
};

int sidecar_parse(const char *line, size_t n, struct sidecar_entry *e);

#endif

/* sidecar.h: GNU b2sum's line format, written and read in one place. */
#ifndef SAFEPIPE_SIDECAR_H
#define SAFEPIPE_SIDECAR_H

#include <stddef.h>

/*
 * One digest line for name (a basename or relative path), newline included,
 * in a malloc'd string: "HEX  NAME\n", or with tagged "BLAKE2b (NAME) = HEX\n"
 * ("BLAKE2b-256 (...)" for 32-byte digests). A name with a backslash, newline
 * or carriage return is escaped and the line starts with '\', as b2sum does.
 */
char *sidecar_line(const unsigned char *digest, size_t len, const char *name, int tagged);

#endif

/*
 * libFuzzer harness: guardlock's holder-record reader. A lock file is
 * readable and may have been written by anyone, so whatever it holds the
 * reader must neither crash nor accept a record missing what it prints.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../record.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record r;

	if (record_parse((const char *)data, size, &r) == 0 &&
	    (r.pid <= 0 || !memchr(r.host, '\0', sizeof(r.host)) ||
	    !memchr(r.cmd, '\0', sizeof(r.cmd))))
		abort();
	return 0;
}

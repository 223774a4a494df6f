#!/bin/sh
# bench/b2impl.sh: build and run bench/b2impl.c, which times every BLAKE2b
# implementation that libb2 exports and this CPU can run: the numbers behind
# digest.c's choice, made at each program's first digest, between libb2's
# portable C code and its dispatcher's pick.  Honours CC, CFLAGS and LDFLAGS
# as the Makefile does.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2046,SC2086 # flags and pkg-config output are word lists
${CC:-cc} ${CFLAGS:--O2} $(pkg-config --cflags libb2) -o "$work/b2impl" \
	"$top/bench/b2impl.c" ${LDFLAGS:-} $(pkg-config --libs libb2)
"$work/b2impl"

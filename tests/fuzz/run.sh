#!/bin/sh
# tests/fuzz/run.sh [-r] [-t SECONDS] [NAME...]
# Build each libFuzzer harness (clang, ASan+UBSan) and fuzz it for SECONDS
# (default $FUZZTIME or 60), starting from tests/fuzz/corpus/NAME. New inputs
# go to a scratch copy; crashes are kept in tests/fuzz/crashes/ to be fixed
# and then added to the corpus. -r: regression only, run the corpus once.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
fz=$top/tests/fuzz
secs=${FUZZTIME:-60}
regress=0
while getopts rt: o; do
	case $o in
	r) regress=1 ;;
	t) secs=$OPTARG ;;
	*) echo "usage: run.sh [-r] [-t seconds] [name...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
	for h in "$fz"/*.c; do
		h=${h##*/}
		set -- "$@" "${h%.c}"
	done
fi

CC=${FUZZCC:-clang}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -I$top"
b2="$(pkg-config --cflags --libs libb2)"
work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-fuzz.XXXXXX")
batch=
# shellcheck disable=SC2086 # a list of pids
trap 'if [ -n "$batch" ]; then kill $batch 2>/dev/null; fi; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fuzz NAME: the harness's bounded run, or its corpus once with -r; the
# verdict line into $work/NAME.out, and status 1 on a crash or a failure.
fuzz()
{
	if [ "$regress" = 1 ]; then
		"$work/$1" -runs=0 "$fz/corpus/$1" >"$work/$1.log" 2>&1 ||
			{ cat "$work/$1.log" >&2; echo "fuzz: $1: regression input failed" >&2; return 1; }
		echo "fuzz: $1: corpus of $(find "$fz/corpus/$1" -type f | wc -l) inputs passes" >"$work/$1.out"
	else
		mkdir -p "$work/$1.new"
		"$work/$1" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
			-artifact_prefix="$fz/crashes/$1-" -print_final_stats=1 \
			"$work/$1.new" "$fz/corpus/$1" >"$work/$1.log" 2>&1 ||
			{ tail -50 "$work/$1.log" >&2; echo "fuzz: $1: FAILED (see tests/fuzz/crashes)" >&2; return 1; }
		echo "fuzz: $1: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$1.log" | grep -o '[0-9]*$') runs in ${secs}s, no crash" >"$work/$1.out"
	fi
}

for name; do
	# Each harness with the sources it exercises.
	case $name in
	numbers)    src="$top/util.c" libs= ;;
	gzcheck)    src="$top/gzcheck.c $top/util.c" libs=-lz ;;
	join)       src="$top/join.c" libs="-lz $(pkg-config --libs libdeflate)" ;;
	sidecar)    src="$top/sidecar.c $top/digest.c $top/util.c" libs=$b2 ;;
	lockrecord) src="$top/record.c $top/locks.c $top/proc.c $top/util.c" libs= ;;
	*)          src="$top/util.c" libs= ;;
	esac
	# shellcheck disable=SC2086  # flag lists
	$CC $flags -o "$work/$name" "$fz/$name.c" $src $libs
	mkdir -p "$fz/corpus/$name" "$fz/crashes"
done

# One harness per CPU at a time: each still has a whole core for its
# SECONDS, and CI waits half as long on two cores.
ncpu=$(nproc 2>/dev/null || echo 1)
failed=0
names="$*"
while [ $# -gt 0 ]; do
	batch=
	n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$ncpu" ]; do
		fuzz "$1" &
		batch="$batch $!"
		n=$((n + 1))
		shift
	done
	for pid in $batch; do
		wait "$pid" || failed=1
	done
	batch=
done
for name in $names; do
	if [ -f "$work/$name.out" ]; then
		cat "$work/$name.out"
	fi
done
exit "$failed"

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
trap 'rm -rf "$work"' EXIT

for name; do
	# Each harness with the sources it exercises.
	case $name in
	numbers)    src="$top/util.c" libs= ;;
	gzcheck)    src="$top/gzcheck.c $top/util.c" libs=-lz ;;
	sidecar)    src="$top/sidecar.c $top/digest.c $top/util.c" libs=$b2 ;;
	lockrecord) src="$top/util.c" libs= ;;
	*)          src="$top/util.c" libs= ;;
	esac
	# shellcheck disable=SC2086  # flag lists
	$CC $flags -o "$work/$name" "$fz/$name.c" $src $libs
	mkdir -p "$fz/corpus/$name" "$fz/crashes"
	if [ "$regress" = 1 ]; then
		"$work/$name" -runs=0 "$fz/corpus/$name" >"$work/$name.log" 2>&1 ||
			{ cat "$work/$name.log" >&2; echo "fuzz: $name: regression input failed" >&2; exit 1; }
		echo "fuzz: $name: corpus of $(find "$fz/corpus/$name" -type f | wc -l) inputs passes"
	else
		mkdir -p "$work/$name.new"
		"$work/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
			-artifact_prefix="$fz/crashes/$name-" -print_final_stats=1 \
			"$work/$name.new" "$fz/corpus/$name" >"$work/$name.log" 2>&1 ||
			{ tail -50 "$work/$name.log" >&2; echo "fuzz: $name: FAILED (see tests/fuzz/crashes)" >&2; exit 1; }
		echo "fuzz: $name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') runs in ${secs}s, no crash"
	fi
done

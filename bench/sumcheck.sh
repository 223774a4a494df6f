#!/bin/sh
# bench/sumcheck.sh: `sumcheck -c` against GNU `b2sum -c` in the same run on
# this machine: one 1 GiB file, and eight 128 MiB files (sumcheck -c -j 2
# against b2sum -c, which hashes one file after another).  The files are
# written once and stay in the page cache, so this measures hashing, not the
# disk.  Rounds alternate the tools, best of three kept, so that a burst of
# other load does not land on one tool only.  Peak RSS by /usr/bin/time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sc=$top/sumcheck
[ -x "$sc" ] || { echo "bench/sumcheck.sh: build sumcheck first (make)" >&2; exit 1; }
command -v b2sum >/dev/null || { echo "bench/sumcheck.sh: b2sum missing, skipped" >&2; exit 0; }
b2=$(command -v b2sum)
work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
MiB=1048576

head -c $((1024 * MiB)) /dev/urandom >"$work/one"
i=0
while [ "$i" -lt 8 ]; do
	head -c $((128 * MiB)) /dev/urandom >"$work/f$i"
	i=$((i + 1))
done
(cd "$work" && "$b2" one >one.b2 && "$b2" f0 f1 f2 f3 f4 f5 f6 f7 >EIGHT)

now() { date +%s%N; }

# run OUT CMD...: time one run in the work directory; "ns rss" into OUT.
run()
{
	_out=$1
	shift
	_t0=$(now)
	(cd "$work" && /usr/bin/time -f %M -o "$work/.rss" "$@" >/dev/null)
	_t1=$(now)
	echo "$((_t1 - _t0)) $(tail -1 "$work/.rss")" >"$_out"
}

# best NAME: keep the fastest run of NAME (in $work/NAME.best).
best()
{
	if [ ! -f "$work/$1.best" ] || [ "$(cut -d' ' -f1 "$work/$1.new")" -lt "$(cut -d' ' -f1 "$work/$1.best")" ]; then
		mv "$work/$1.new" "$work/$1.best"
	fi
}

for _round in 1 2 3; do
	run "$work/s1.new" "$sc" -c one.b2 && best s1
	run "$work/b1.new" "$b2" -c one.b2 && best b1
	run "$work/s8.new" "$sc" -c -j 2 EIGHT && best s8
	run "$work/b8.new" "$b2" -c EIGHT && best b8
done

# row LABEL NAME PEER BYTES
row()
{
	awk -v label="$1" -v bytes="$4" -v me="$(cat "$work/$2.best")" -v peer="$(cat "$work/$3.best")" 'BEGIN {
		split(me, m, " "); split(peer, p, " ")
		printf "| %s | %.0f | %.2fx | %s |\n", label, bytes / (m[1] / 1e9) / 1e6, p[1] / m[1], m[2]
	}'
}

echo
echo "## sumcheck: \`sumcheck -c\` vs \`b2sum -c\` (page-cached data, best of 3)"
echo
echo "| run | MB/s | vs b2sum -c | peak RSS (KiB) |"
echo "| --- | ---: | ---: | ---: |"
row "sumcheck -c, 1 GiB file" s1 b1 $((1024 * MiB))
row "b2sum -c, 1 GiB file" b1 b1 $((1024 * MiB))
row "sumcheck -c -j 2, 8 x 128 MiB" s8 b8 $((1024 * MiB))
row "b2sum -c, 8 x 128 MiB" b8 b8 $((1024 * MiB))

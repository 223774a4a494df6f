#!/bin/sh
# bench/guardlock.sh [N]: invocations per second of `guardlock LOCK true`
# against util-linux `flock LOCK true`, in the same run on this machine,
# plus peak RSS.  Both loops are the same shell loop, so the fork+exec the
# shell pays per invocation is common to both; a loop running /bin/true
# alone shows that floor.  The rounds alternate, best of three kept, so
# that a burst of other load does not land on one tool only.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
gl=$top/guardlock
n=${1:-2000}
[ -x "$gl" ] || { echo "bench/guardlock.sh: build guardlock first (make)" >&2; exit 1; }
command -v flock >/dev/null || { echo "bench/guardlock.sh: flock(1) missing, skipped" >&2; exit 0; }
fl=$(command -v flock)
work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
lock=$work/bench.lock

now() { date +%s%N; }

# loop TOOL...: run "TOOL... /bin/true" n times; print the rate per second.
loop()
{
	_t0=$(now)
	_i=0
	while [ "$_i" -lt "$n" ]; do
		"$@" /bin/true
		_i=$((_i + 1))
	done
	_t1=$(now)
	echo $((n * 1000000000 / (_t1 - _t0)))
}

best() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }

g=0 f=0 b=0
for _round in 1 2 3; do
	g=$(best "$g" "$(loop "$gl" "$lock")")
	f=$(best "$f" "$(loop "$fl" "$lock")")
	b=$(best "$b" "$(loop env)")
done

rss()
{
	/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}
grss=- frss=-
if [ -x /usr/bin/time ]; then
	grss=$(rss "$gl" "$lock" /bin/true)
	frss=$(rss "$fl" "$lock" /bin/true)
fi

ratio=$(awk -v g="$g" -v f="$f" 'BEGIN { printf "%.2f", g / f }')
echo
echo "## guardlock: \`guardlock LOCK true\` vs \`flock LOCK true\` ($n runs, best of 3)"
echo
echo "| tool | invocations/s | vs flock(1) | peak RSS (KiB) |"
echo "| --- | ---: | ---: | ---: |"
echo "| guardlock | $g | ${ratio}x | $grss |"
echo "| flock(1) | $f | 1.00x | $frss |"
echo "| \`env true\` (shell loop floor) | $b | | |"

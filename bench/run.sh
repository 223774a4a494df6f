#!/bin/sh
# bench/run.sh: every benchmark, one after another, on this machine, now.
# Each prints a markdown table of ratios against the peer tools measured in
# the same run; together they become doc/bench.md, the one place where the
# figures live (prose and comments point to it, never copy it). Not part of
# make check: speed is shown here, not asserted.
set -eu
cd "$(dirname "$0")/.."
out=doc/bench.md
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
{
	echo "# safepipe benchmarks"
	echo
	echo "Written by \`make bench\` on $(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -m)${cpu:+ ($cpu)}."
	echo "Each program against its peer tools on the same input in the same run,"
	echo "alternating the tools, best of three, peak memory from /usr/bin/time."
	echo "\"vs\" is the peer's time divided by ours: above 1, we are faster."
	echo "Ratios move with the machine, which is why no test asserts them."
	echo
	for b in bench/guardlock.sh bench/gzsafe.sh bench/sumcheck.sh bench/b2impl.sh; do
		[ -f "$b" ] && sh "$b"
	done
} | tee "$out.new"
mv -f "$out.new" "$out"

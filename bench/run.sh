#!/bin/sh
# bench/run.sh: every benchmark, one after another, on this machine, now.
# Each prints a markdown table of ratios against the peer tools measured
# in the same run. Not part of make check: speed is shown here, not asserted.
set -eu
cd "$(dirname "$0")/.."
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "# safepipe benchmarks, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -m)${cpu:+ ($cpu)}"
for b in bench/guardlock.sh bench/gzsafe.sh bench/sumcheck.sh bench/b2impl.sh; do
	[ -f "$b" ] && sh "$b"
done
exit 0

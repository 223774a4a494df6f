#!/bin/sh
# bench/gzsafe.sh: gzsafe against gzip(1) and pigz(1) in the same run on this
# machine, on the same 256 MiB of database-like input (text rows, numbers,
# runs of zeros and incompressible blobs; a 32 MiB seeded sample repeated,
# which deflate, with its 32 KiB window, cannot tell from fresh data).
#
#   gzsafe -p 1  vs  gzip -6             one core each
#   gzsafe -p 2  vs  pigz -6 -p 2 -b 128 both cores, same block size
#   the price of --digest, of the default fsync, of --verify
#   gzsafe -t    vs  gzip -t, pigz -t
#
# Input and output live under TMPDIR; the input stays in the page cache.
# Rounds alternate the tools, best of three kept, so that a burst of other
# load does not land on one tool only.  Peak RSS by /usr/bin/time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
gs=$top/gzsafe
[ -x "$gs" ] || { echo "bench/gzsafe.sh: build gzsafe first (make)" >&2; exit 1; }
for t in gzip pigz python3; do
	command -v $t >/dev/null || { echo "bench/gzsafe.sh: $t missing, skipped" >&2; exit 0; }
done
[ -x /usr/bin/time ] || { echo "bench/gzsafe.sh: /usr/bin/time missing, skipped" >&2; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
MiB=1048576
size=$((256 * MiB))

python3 - $((32 * MiB)) >"$work/sample" <<'PY'
import random, sys
n = int(sys.argv[1])
r = random.Random(20261125)
out = sys.stdout.buffer
names = [b"customer", b"order", b"invoice", b"backup", b"innodb", b"page"]
left = n
while left > 0:
    x = r.random()
    if x < 0.10:        # compressed or encrypted blob
        chunk = r.randbytes(r.randint(512, 16384))
    elif x < 0.20:      # free space in a page
        chunk = bytes(r.randint(256, 16384))
    else:               # INSERT-like rows
        rows = []
        for _ in range(r.randint(10, 200)):
            rows.append(b"(%d,'%s-%05d','2026-%02d-%02d',%d.%02d)" % (
                r.randint(1, 10**7), r.choice(names), r.randint(0, 99999),
                r.randint(1, 12), r.randint(1, 28), r.randint(0, 99999), r.randint(0, 99)))
        chunk = b",".join(rows) + b";\n"
    chunk = chunk[:left]
    out.write(chunk)
    left -= len(chunk)
PY
i=0
while [ $i -lt 8 ]; do cat "$work/sample"; i=$((i + 1)); done >"$work/in"
rm -f "$work/sample"

now() { date +%s%N; }

# keep NAME: NAME.new ("ns rss size") becomes NAME.best if it is the fastest.
keep()
{
	if [ ! -f "$work/$1.best" ] || [ "$(cut -d' ' -f1 "$work/$1.new")" -lt "$(cut -d' ' -f1 "$work/$1.best")" ]; then
		mv "$work/$1.new" "$work/$1.best"
	fi
}

# run NAME OUTFILE CMD...: time one run, stdin the input, stdout to OUTFILE
# (or /dev/null); keep the fastest, and apart the least CPU time (user +
# system) in NAME.cpu: on a shared machine CPU time shows a feature's cost
# better than the wall clock.
run()
{
	_name=$1
	_outf=$2
	shift 2
	rm -f "$work/out.gz" "$work/out.gz.b2"
	_t0=$(now)
	(cd "$work" && /usr/bin/time -f '%M %U %S' -o "$work/.rss" "$@" <in >"$_outf")
	_t1=$(now)
	_res=$(tail -1 "$work/.rss")
	_cpu=$(echo "$_res" | awk '{ printf "%.2f", $2 + $3 }')
	echo "$((_t1 - _t0)) ${_res%% *} $(wc -c <"$work/out.gz" 2>/dev/null || echo -)" >"$work/$_name.new"
	keep "$_name"
	if [ ! -f "$work/$_name.cpu" ] || awk -v a="$_cpu" -v b="$(cat "$work/$_name.cpu")" 'BEGIN { exit !(a < b) }'; then
		echo "$_cpu" >"$work/$_name.cpu"
	fi
}

# check NAME: what the last run left in out.gz must decompress to the input.
check()
{
	gzip -dc "$work/out.gz" | cmp -s - "$work/in" || {
		echo "bench/gzsafe.sh: $1 did not round-trip" >&2
		exit 1
	}
}

for _round in 1 2 3; do
	run gzip out.gz gzip -6 -c && check gzip
	run g1 /dev/null "$gs" -p 1 --no-sync out.gz && check "gzsafe -p 1"
	run pigz out.gz pigz -6 -p 2 -b 128 -c && check pigz
	run g2 /dev/null "$gs" -p 2 --no-sync out.gz && check "gzsafe -p 2"
	run g2d /dev/null "$gs" -p 2 --no-sync --digest out.gz && check "gzsafe --digest"
	run g2s /dev/null "$gs" -p 2 --digest out.gz && check "gzsafe --digest (fsync)"
	run g2v /dev/null "$gs" -p 2 --digest --verify out.gz && check "gzsafe --verify"
done

# The -t rows read one archive: pigz's, since it is the reference.
pigz -6 -p 2 -b 128 -c <"$work/in" >"$work/test.gz"
ttest()
{
	_name=$1
	shift
	_t0=$(now)
	(cd "$work" && /usr/bin/time -f %M -o "$work/.rss" "$@" test.gz </dev/null >/dev/null)
	_t1=$(now)
	echo "$((_t1 - _t0)) $(tail -1 "$work/.rss") -" >"$work/$_name.new"
	keep "$_name"
}
for _round in 1 2 3; do
	ttest tg gzip -t
	ttest tp pigz -t
	ttest ts "$gs" -t
done

# row LABEL NAME PEER PEERLABEL
row()
{
	awk -v label="$1" -v peerlabel="$4" -v bytes="$size" \
	    -v me="$(cat "$work/$2.best")" -v peer="$(cat "$work/$3.best")" \
	    -v cpu="$(cat "$work/$2.cpu" 2>/dev/null || echo -)" 'BEGIN {
		split(me, m, " "); split(peer, p, " ")
		sz = m[3] == "-" ? "-" : sprintf("%d", m[3])
		printf "| %s | %.0f | %.2fx %s | %s | %s | %s |\n", label,
		    bytes / (m[1] / 1e9) / 1e6, p[1] / m[1], peerlabel, cpu, sz, m[2]
	}'
}

echo
echo "## gzsafe: vs \`gzip\` and \`pigz\` (256 MiB database-like input, best of 3)"
echo
echo "| run | MB/s in | speed vs peer | CPU s | output bytes | peak RSS (KiB) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row "gzip -6" gzip gzip "gzip"
row "gzsafe -p 1 --no-sync" g1 gzip "gzip"
row "pigz -6 -p 2 -b 128" pigz pigz "pigz"
row "gzsafe -p 2 --no-sync" g2 pigz "pigz"
row "gzsafe -p 2 --no-sync --digest" g2d pigz "pigz"
row "gzsafe -p 2 --digest (fsync)" g2s pigz "pigz"
row "gzsafe -p 2 --digest --verify" g2v pigz "pigz"
row "gzip -t" tg tg "gzip -t"
row "pigz -t" tp tg "gzip -t"
row "gzsafe -t" ts tg "gzip -t"
row "gzsafe -t" ts tp "pigz -t"

#!/bin/sh
# tools/torture.sh [ci | full] [SEED]: kill, fill and race the programs.
#
# Each section prints one summary line; any violation is printed and makes
# the exit status 1. Where a run is killed at a "random" moment the moment
# comes from SEED (printed, so a failure can be replayed), and the verdict
# does not depend on it: whatever the moment, the target and its sidecar
# must be the previous version or the new complete one, and the directory
# must hold nothing else.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top:$PATH
mode=${1:-ci}
seed=${2:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
case $mode in
ci)   kills=60 skills=30 fills=12 storm=200 queue=50 rounds=3 pcsamples=64 ;;
full) kills=400 skills=200 fills=60 storm=200 queue=50 rounds=20 pcsamples=512 ;;
*)    echo "usage: torture.sh [ci | full] [seed]" >&2; exit 2 ;;
esac
echo "torture: mode $mode, seed $seed"

work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-torture.XXXXXX")
mnt=
cleanup()
{
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	# A power-cut run's FUSE mount, should its own cleanup not have run.
	awk -v d="$work/" 'index($2, d) == 1 { print $2 }' /proc/mounts |
	while read -r m; do
		timeout 10 fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bad=0
violation()
{
	echo "torture: VIOLATION: $*" >&2
	bad=$((bad + 1))
}

# A tiny deterministic generator: next value of the LCG in $rnd.
rnd=$seed
next()
{
	rnd=$(( (rnd * 1103515245 + 12345) % 2147483648 ))
}

# Exactly the expected names in a directory, nothing more.
listing()
{
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' '
}

# 1. SIGKILL gzsafe --digest at seeded moments.
d=$work/kill
mkdir "$d"
# Compressible enough to be slow, so that most kills land mid-stream.
seq 1 3000000 >"$work/new.raw"
seq 1 300000 >"$work/old.raw"
gzsafe --digest "$d/db.gz" <"$work/old.raw" || violation "cannot make the first backup"
cp "$d/db.gz" "$work/old.gz"
cp "$d/db.gz.b2" "$work/old.b2"
want=$(listing "$d")
committed=0
between=0
i=0
while [ $i -lt "$kills" ]; do
	i=$((i + 1))
	next
	delay=$(printf '0.%03d' $((rnd % 700)))
	gzsafe -p 2 --digest "$d/db.gz" cat "$work/new.raw" 2>/dev/null &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$(listing "$d")" = "$want" ] || violation "gzsafe kill $i (${delay}s): left $(listing "$d")"
	if cmp -s "$d/db.gz" "$work/old.gz"; then
		cmp -s "$d/db.gz.b2" "$work/old.b2" || violation "gzsafe kill $i: old archive, new sidecar"
	else
		committed=$((committed + 1))
		gzip -dc "$d/db.gz" | cmp -s - "$work/new.raw" || violation "gzsafe kill $i: archive neither old nor new"
		# A kill that lands between the two renames (data, then sidecar)
		# leaves the new archive beside the old, untouched sidecar: no
		# rename can move two names at once. The order makes that state
		# loud (sumcheck -c reports a mismatch), never an old archive
		# vouched for by a new digest; it is counted, not hidden.
		if ! sumcheck -c --status "$d/db.gz"; then
			if cmp -s "$d/db.gz.b2" "$work/old.b2"; then
				between=$((between + 1))
			else
				violation "gzsafe kill $i: new archive, sidecar neither old nor its own"
			fi
		fi
		# Start over from the old version for the next kill.
		cp "$work/old.gz" "$d/db.gz"
		cp "$work/old.b2" "$d/db.gz.b2"
	fi
	gzip -t "$d/db.gz" || violation "gzsafe kill $i: gzip -t fails"
done
echo "torture: gzsafe SIGKILLed $kills times ($committed had committed first, $between of them between the two renames): ok unless said"

# 2. SIGKILL sumcheck while it writes a sidecar.
d=$work/skill
mkdir "$d"
head -c 64000000 /dev/zero >"$d/big"
i=0
while [ $i -lt "$skills" ]; do
	i=$((i + 1))
	next
	delay=$(printf '0.%03d' $((rnd % 80)))
	rm -f "$d/big.b2"
	sumcheck "$d/big" &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	case $(listing "$d") in
	"big ") ;;
	"big big.b2 ") (cd "$d" && b2sum -c --status big.b2) || violation "sumcheck kill $i: partial sidecar" ;;
	*) violation "sumcheck kill $i (${delay}s): left $(listing "$d")" ;;
	esac
done
echo "torture: sumcheck SIGKILLed $skills times: ok unless said"

# 3. ENOSPC at many fill levels of a small tmpfs.
mnt=$work/full
mkdir "$mnt"
if mount -t tmpfs -o size=2m tmpfs "$mnt" 2>/dev/null; then
	seq 1 20000 | gzsafe --digest "$mnt/db.gz" || violation "cannot make the first backup on tmpfs"
	cp "$mnt/db.gz" "$work/tmpfs-old.gz"
	cp "$mnt/db.gz.b2" "$work/tmpfs-old.b2"
	head -c 3000000 /dev/urandom >"$work/big.raw"
	i=0
	while [ $i -lt "$fills" ]; do
		i=$((i + 1))
		next
		kib=$((rnd % 1800))
		head -c $((kib * 1024)) /dev/zero >"$mnt/fill" 2>/dev/null
		gzsafe --digest "$mnt/db.gz" <"$work/big.raw" 2>"$work/err"
		st=$?
		[ $st -eq 125 ] || violation "ENOSPC at ${kib} KiB filled: exit $st, not 125"
		grep -q 'left unchanged' "$work/err" || violation "ENOSPC at ${kib} KiB: no 'left unchanged' line"
		if ! cmp -s "$mnt/db.gz" "$work/tmpfs-old.gz" || ! cmp -s "$mnt/db.gz.b2" "$work/tmpfs-old.b2"; then
			violation "ENOSPC at ${kib} KiB: previous backup damaged"
		fi
		rm -f "$mnt/fill"
		[ "$(listing "$mnt")" = "db.gz db.gz.b2 " ] || violation "ENOSPC at ${kib} KiB: left $(listing "$mnt")"
	done
	umount "$mnt" && mnt=
	echo "torture: ENOSPC at $fills fill levels: ok unless said"
else
	mnt=
	echo "torture: ENOSPC skipped: cannot mount a tmpfs here"
fi

# 4. A lock storm: never two inside. A queue: no lost update.
d=$work/lock
mkdir "$d"
: >"$d/overlap"
i=0
while [ $i -lt "$storm" ]; do
	i=$((i + 1))
	guardlock -n -q "$d/lock" sh -c 'mkdir "$1/inside" 2>/dev/null || echo x >>"$1/overlap"; rmdir "$1/inside"' sh "$d" &
done
wait
[ -s "$d/overlap" ] && violation "lock storm: two contenders inside at once"
echo 0 >"$d/counter"
i=0
while [ $i -lt "$queue" ]; do
	i=$((i + 1))
	guardlock -w 120 "$d/lock" sh -c 'n=$(cat "$1/counter"); echo $((n + 1)) >"$1/counter"' sh "$d" &
done
wait
[ "$(cat "$d/counter")" = "$queue" ] || violation "lock queue: counter $(cat "$d/counter"), want $queue"
echo "torture: lock storm of $storm and queue of $queue: ok unless said"

# 5. Concurrent gzsafe and sumcheck writers on the same names.
d=$work/race
mkdir "$d"
r=0
while [ $r -lt "$rounds" ]; do
	r=$((r + 1))
	for w in 1 2 3 4 5 6 7 8; do
		seq "$w" 8 400000 >"$work/in.$w"
	done
	for w in 1 2 3 4 5 6 7 8; do
		gzsafe -p 1 --digest "$d/db.gz" <"$work/in.$w" &
		[ $((w % 2)) -eq 0 ] && sumcheck -f "$d/db.gz" 2>/dev/null &
	done
	wait
	[ "$(listing "$d")" = "db.gz db.gz.b2 " ] || violation "race round $r: left $(listing "$d")"
	gzip -dc "$d/db.gz" >"$work/out" || violation "race round $r: archive not whole"
	found=0
	for w in 1 2 3 4 5 6 7 8; do
		cmp -s "$work/out" "$work/in.$w" && found=1
	done
	[ $found = 1 ] || violation "race round $r: archive is no single writer's input"
	# The sidecar is one whole line, and vouches for the archive beside it:
	# commits into the directory are serialised, and a sumcheck whose
	# file was replaced under it writes nothing.
	if [ "$(wc -l <"$d/db.gz.b2")" -ne 1 ] || ! grep -Eq '^[0-9a-f]{128}  db\.gz$' "$d/db.gz.b2"; then
		violation "race round $r: sidecar not one whole line"
	fi
	(cd "$d" && b2sum --quiet -c db.gz.b2 >/dev/null 2>&1) ||
		violation "race round $r: sidecar is for another archive"
	rm -f "$d/db.gz" "$d/db.gz.b2"
done
echo "torture: $rounds rounds of 8 gzsafe + 4 sumcheck writers on one name: ok unless said"

# 6. Producers that misbehave.
d=$work/prod
mkdir "$d"
seq 1 1000 | gzsafe "$d/db.gz"
cp "$d/db.gz" "$work/prod-old.gz"
# It closes its stdout early and keeps running: gzsafe waits for its status.
gzsafe "$d/db.gz" sh -c 'echo partial; exec >&-; sleep 0.3; exit 3' 2>/dev/null
st=$?
[ $st -eq 3 ] || violation "early close: exit $st, want 3 (gzsafe did not wait for the status)"
cmp -s "$d/db.gz" "$work/prod-old.gz" || violation "early close: previous archive damaged"
# It stalls: a TERM to gzsafe ends both, and nothing is committed.
mkfifo "$work/stalled"
gzsafe "$d/db.gz" sh -c 'echo $$ >"$2"; echo started >"$1"; exec sleep 600' sh \
    "$work/stalled" "$work/stalled.pid" 2>/dev/null &
pid=$!
read -r _ <"$work/stalled"
prod=$(cat "$work/stalled.pid")
kill -TERM "$pid"
wait "$pid" 2>/dev/null
st=$?
[ $st -eq 143 ] || violation "stall: gzsafe exit $st, want 143"
# The producer got the TERM too; it may take a moment to die on a busy
# host, and only this producer counts, not any sleep on the machine.
n=0
while kill -0 "$prod" 2>/dev/null && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
kill -0 "$prod" 2>/dev/null && { violation "stall: producer still running"; kill -9 "$prod"; }
cmp -s "$d/db.gz" "$work/prod-old.gz" || violation "stall: previous archive damaged"
# It exits 0 after writing garbage: committed, and -t --tar says so.
gzsafe "$d/junk.tar.gz" head -c 100000 /dev/urandom || violation "garbage producer: not committed"
gzsafe -t --tar "$d/junk.tar.gz" >/dev/null
[ $? -eq 1 ] || violation "garbage producer: gzsafe -t --tar did not report it"
[ "$(listing "$d")" = "db.gz junk.tar.gz " ] || violation "producers: left $(listing "$d")"
echo "torture: producers that close early, stall, or send garbage: ok unless said"

# 7. Power cuts: every crash point of one recorded run, under every model
# of what a power cut keeps (tests/crashfs), with many more random states
# per point than make check draws. The broken protocols must be caught.
pcrun()
{
	_l=$1 _want=$2 _base=$3
	shift 3
	pcn=$((pcn + 1))
	_d=$work/pc.$pcn
	if ! { mkdir "$_d" && cp -a "$_base" "$_d/back"; }; then
		violation "power cut: cannot set up"
		return
	fi
	sh "$top/tests/crashfs/powercut.sh" -n "$pcsamples" -s "$seed" -l "$_l" "$_d" "$@" \
	    >"$_d/out" 2>&1
	_st=$?
	grep '^crashcheck: .*: all models: ' "$_d/out" | sed 's/^crashcheck: /torture: power cut: /'
	if [ $_st -ne "$_want" ]; then
		violation "power cut, $_l: status $_st, want $_want"
		sed 's/^/torture:   /' "$_d/out" >&2
	fi
}
pcn=0
why=
if ! [ -x "$top/tests/crashfs/crashfs" ]; then
	why="tests/crashfs/crashfs not built (no libfuse3-dev)"
elif ! [ -c /dev/fuse ] || ! [ -w /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	why="no usable /dev/fuse or no fusermount3"
fi
if [ -z "$why" ]; then
	shim="env LD_PRELOAD=$top/tests/shim.so"
	mkdir "$work/pcbase" "$work/pcsum"
	seq 1 20000 | gzsafe --digest "$work/pcbase/db.gz" || violation "power cut: no first backup"
	cp "$work/pcbase/db.gz" "$work/pcsum/"
	(cd "$work/pcsum" && b2sum --tag db.gz >db.gz.b2)
	seq 1 300000 >"$work/pc.raw"
	pcrun "gzsafe" 0 "$work/pcbase" gzsafe --digest db.gz cat "$work/pc.raw"
	pcrun "gzsafe --verify" 0 "$work/pcbase" gzsafe --verify --digest db.gz cat "$work/pc.raw"
	pcrun "gzsafe -p 1 -b 64 (many writes)" 0 "$work/pcbase" gzsafe -p 1 -b 64 --digest db.gz cat "$work/pc.raw"
	pcrun "sumcheck -f" 0 "$work/pcsum" sumcheck -f db.gz
	pcrun "gzsafe --no-sync (broken)" 1 "$work/pcbase" gzsafe --no-sync --digest db.gz cat "$work/pc.raw"
	# shellcheck disable=SC2086  # $shim is words on purpose
	{
	pcrun "gzsafe, no directory fsync (broken)" 1 "$work/pcbase" $shim SHIM_NO_DIRSYNC=1 gzsafe --digest db.gz cat "$work/pc.raw"
	pcrun "gzsafe, fsync after rename (broken)" 1 "$work/pcbase" $shim SHIM_FSYNC_AFTER_RENAME=1 gzsafe --digest db.gz cat "$work/pc.raw"
	pcrun "sumcheck -f, no directory fsync (broken)" 1 "$work/pcsum" $shim SHIM_NO_DIRSYNC=1 sumcheck -f db.gz
	pcrun "sumcheck -f, fsync after rename (broken)" 1 "$work/pcsum" $shim SHIM_FSYNC_AFTER_RENAME=1 sumcheck -f db.gz
	}
	echo "torture: power cuts at every operation of $pcn recorded runs, $pcsamples random states per point and model: ok unless said"
else
	echo "torture: power cut skipped: $why"
fi

# 8. Past 4 GiB: ISIZE wraps, the CRC combines over thousands of blocks, and
# the member stays one. Zeros, so that it costs seconds and little disk.
d=$work/big
mkdir "$d"
big=$((4 * 1073741824 + 12345))
if head -c $big /dev/zero | gzsafe -p 2 --digest "$d/zero.gz"; then
	# gzip checks the CRC and ISIZE; python counts the bytes and the members.
	gzip -t "$d/zero.gz" || violation "over 4 GiB: gzip -t fails"
	python3 - "$d/zero.gz" $big <<-\PY || violation "over 4 GiB: not one member of zeros (python zlib)"
	import sys, zlib
	d, n, f = zlib.decompressobj(31), 0, open(sys.argv[1], "rb")
	while not d.eof:
	    c = f.read(1 << 20)
	    if not c:
	        break
	    while c:
	        out = d.decompress(c, 1 << 24)
	        if out.count(0) != len(out):
	            sys.exit("not zeros")
	        n += len(out)
	        c = d.unconsumed_tail
	sys.exit(0 if d.eof and not d.unused_data and not f.read() and n == int(sys.argv[2]) else 1)
	PY
	(cd "$d" && b2sum -c --status zero.gz.b2) || violation "over 4 GiB: sidecar does not match"
	echo "torture: $big bytes of zeros: one member, whole (gzip, python zlib, b2sum): ok unless said"
else
	violation "over 4 GiB: gzsafe failed"
fi

if [ $bad -gt 0 ]; then
	echo "torture: $bad violations (mode $mode, seed $seed)" >&2
	exit 1
fi
echo "torture: no violation (mode $mode, seed $seed)"

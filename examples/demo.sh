#!/bin/sh
# examples/demo.sh: the midnight incident, and the same night with safepipe.
#
#   sh examples/demo.sh              (or: make demo)
#   PRODUCER='tar -cf - /etc' sh examples/demo.sh
#
# No database needed: a synthetic producer streams a tar archive of "table
# dumps" whose contents differ from run to run, as a real backup's do.
# PRODUCER= puts a real command in its place (run by sh -c, with
# SAFEPIPE_DEMO_RUN=a, b or c in its environment). Each run is paused after its
# first MiB and released by this script, so that the two naive runs overlap
# the same way every time instead of by luck.
#
# One line per step, each with a verdict; exit 0 only when every verdict is
# the expected one.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$top/guardlock" ] && PATH=$top:$PATH
export PATH
LC_ALL=C
export LC_ALL

for c in guardlock gzsafe sumcheck gzip tar python3; do
	command -v "$c" >/dev/null 2>&1 || {
		echo "demo: $c: not found (run make, or sh tools/deps.sh && make demo)" >&2
		exit 2
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-demo.XXXXXX") || exit 2
bgpids=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup()
{
	for p in $bgpids; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work" || exit 2
mkdir backups

failed=0
verdict()
{
	# $1 = 0 as expected, else not; the rest is the line.
	_v=$1
	shift
	if [ "$_v" -eq 0 ]; then
		echo "[ok] $*"
	else
		echo "[FAIL] $*"
		failed=$((failed + 1))
	fi
}

# Bounded wait for a marker file: 30 s is far beyond what any step needs.
wait_for()
{
	_i=0
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 600 ] && { echo "demo: $1 never appeared" >&2; return 1; }
		sleep 0.05
	done
}

# The producer: a tar stream written in two parts. After the first MiB it
# drops the marker paused.RUN (holding its pid) and waits for go.RUN before
# sending the rest; a second argument "nopause" sends it all at once.
cat > producer.py <<'EOF'
import io, os, random, subprocess, sys, tarfile, time

run, gate = sys.argv[1], 1 << 20

def synthetic(run):
    r = random.Random(run)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for table in ("customers", "orders", "invoices", "stock"):
            rows = "".join("%d\t%s-%d\t%d.%02d\t2026-03-0%d %02d:%02d\n" % (
                i, table, r.randrange(10**6), r.randrange(10**5), r.randrange(100),
                r.randrange(1, 9), r.randrange(24), r.randrange(60))
                for i in range(30000)).encode()
            info = tarfile.TarInfo("dump-%s/%s.tsv" % (run, table))
            info.size, info.mtime = len(rows), 1772755201
            t.addfile(info, io.BytesIO(rows))
    return buf.getvalue()

def stream():
    cmd = os.environ.get("PRODUCER", "")
    if not cmd:
        data = synthetic(run)
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]
        return
    os.environ["SAFEPIPE_DEMO_RUN"] = run
    p = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE)
    while True:
        b = p.stdout.read(65536)
        if not b:
            break
        yield b
    if p.wait() != 0:
        sys.exit(p.returncode if p.returncode > 0 else 128 - p.returncode)

out, sent, paused = sys.stdout.buffer, 0, sys.argv[2:] == ["nopause"]
for chunk in stream():
    if not paused and sent + len(chunk) >= gate:
        out.write(chunk[:gate - sent])
        out.flush()
        chunk, sent, paused = chunk[gate - sent:], gate, True
        with open("paused." + run, "w") as f:
            f.write("%d\n" % os.getpid())
        for _ in range(600):
            if os.path.exists("go." + run):
                break
            time.sleep(0.05)
        else:
            sys.exit("producer: go.%s never appeared" % run)
    out.write(chunk)
    sent += len(chunk)
out.flush()
EOF

producer()
{
	python3 "$work/producer.py" "$@"
}

# Wait until the file $1 holds at least $2 bytes (a run's first output).
wait_size()
{
	_i=0
	while [ "$(wc -c < "$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 600 ] && { echo "demo: $1 never reached $2 bytes" >&2; return 1; }
		sleep 0.05
	done
}

F=backups/db.tar.gz
echo "safepipe demo: one night, twice (scratch $work)"

# 1. The incident. Two crond daemons both start `producer | gzip > F`.
# Run A sends its first MiB, which gzip compresses and writes to F; then run
# B starts, truncates F (the shell's O_TRUNC) and writes a whole archive from
# offset 0; then A finishes, writing its tail at its own file offset, in the
# middle of B's deflate data.
( producer a | gzip > "$F" ) &
bgpids="$bgpids $!"
apid=$!
wait_for paused.a && wait_size "$F" 65536
( producer b nopause | gzip > "$F" )
: > go.a
wait "$apid"
gzip -t "$F" 2> gzip.err
st=$?
msg=$(grep . gzip.err | head -n 1)
case $st:$msg in
0:*)	if [ -n "${PRODUCER:-}" ]; then
		# Equal bytes over equal bytes: a real backup differs run to run.
		verdict 1 "1. two naive runs overlapped but gzip -t passed: PRODUCER sent the same bytes twice"
	else
		verdict 1 "1. two naive runs overlapped and gzip -t passed"
	fi ;;
*"invalid compressed data--format violated"*)
	verdict 0 "1. two naive runs overlapped: $msg" ;;
*)	if [ -n "${PRODUCER:-}" ]; then
		verdict 0 "1. two naive runs overlapped: $msg"
	else
		verdict 1 "1. two naive runs overlapped: unexpected: $msg"
	fi ;;
esac
rm -f "$F" paused.* go.*

# 2. The same night with safepipe: guardlock refuses the second run and names
# the holder; gzsafe stages the archive and commits it with its digest only
# when the producer exited 0.
LOCK=backup.lock
guardlock -n "$LOCK" gzsafe --digest "$F" python3 producer.py a 2> a.err &
bgpids="$bgpids $!"
apid=$!
wait_for paused.a
guardlock -n "$LOCK" gzsafe --digest "$F" python3 producer.py b 2> b.err
bst=$?
bmsg=$(head -n 1 b.err)
: > go.a
wait "$apid"
ast=$?
if [ "$bst" -eq 75 ] && case $bmsg in *"busy: held by pid $apid ("*) true ;; *) false ;; esac; then
	verdict 0 "2. second run refused (exit 75): $bmsg"
else
	verdict 1 "2. second run not refused as expected (exit $bst): $bmsg"
fi
chk=$(sumcheck -c "$F" 2>&1)
cst=$?
if [ "$ast" -eq 0 ] && [ -f "$F" ] && [ -f "$F.b2" ] && [ "$cst" -eq 0 ] &&
    gzip -t "$F" 2>/dev/null; then
	verdict 0 "2. first run committed $(basename "$F") and $(basename "$F").b2; sumcheck -c: $chk"
else
	verdict 1 "2. first run: gzsafe exit $ast, sumcheck -c exit $cst: $chk $(head -n 1 a.err)"
fi
cp "$F" last-night.gz
cp "$F.b2" last-night.b2

# 3. The producer dies mid-stream (OOM killer, kill -9, lost connection).
# Naively, gzip sees a clean end of input and writes a well-formed archive of
# half a backup, which gzip -t passes.
( producer c | gzip > naive.tar.gz ) 2> /dev/null &
bgpids="$bgpids $!"
npid=$!
wait_for paused.c
kill -9 "$(cat paused.c)"
wait "$npid"
if gzip -t naive.tar.gz 2>/dev/null; then
	terr=$(gzip -dc naive.tar.gz | tar -tf - 2>&1 >/dev/null | head -n 1)
	verdict 0 "3. naive: producer killed, gzip -t passes the truncated archive${terr:+ ($terr)}"
else
	verdict 1 "3. naive: producer killed, gzip -t did not pass the truncated archive"
fi
rm -f paused.* go.*

# With gzsafe, the producer's status decides: nothing is committed, and last
# night's archive and digest stay exactly as they were.
guardlock -n "$LOCK" gzsafe --digest "$F" python3 producer.py c 2> c.err &
bgpids="$bgpids $!"
gpid=$!
wait_for paused.c
kill -9 "$(cat paused.c)"
wait "$gpid"
gst=$?
gmsg=$(head -n 1 c.err)
chk=$(sumcheck -c "$F" 2>&1)
cst=$?
left=$(find backups -mindepth 1 | wc -l)
if [ "$gst" -eq 137 ] && cmp -s "$F" last-night.gz && cmp -s "$F.b2" last-night.b2 &&
    [ "$cst" -eq 0 ] && [ "$left" -eq 2 ]; then
	verdict 0 "3. gzsafe: exit $gst, $gmsg; sumcheck -c: $chk"
else
	verdict 1 "3. gzsafe: exit $gst (want 137), $gmsg; sumcheck -c exit $cst; $left files in backups/"
fi

if [ "$failed" -eq 0 ]; then
	echo "demo: every verdict as expected"
	exit 0
fi
echo "demo: $failed verdict(s) not as expected" >&2
exit 1

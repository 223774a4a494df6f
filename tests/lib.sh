# shellcheck shell=sh
# tests/lib.sh: sourced by every tests/tNNNN-prog-topic.t; speaks TAP.
#
#   test_expect_success 'what' 'commands chained with &&'
#   test_expect_code N cmd...      run cmd, succeed iff it exits N
#   test_must_fail cmd...          exit 1..125, not a signal, not 126/127 usage
#   test_cmp expected actual       byte compare, diff on failure
#   test_skip 'what' 'why'         a TAP skip
#   skip_all 'why'                 skip the whole script
#   need CMD...                    false (and a note) if a tool is missing
#   wait_for PATH [SECONDS]        bounded wait for a marker file (default 60 s)
#   wait_grep PATTERN FILE         bounded wait for a line in a file
#   hold NAME TOOL [ARGS...]       TOOL ... holding (a lock) until release NAME
#   at_exit 'shell code'           run when the script ends, whatever happens
#   stop_pid PID [SECONDS]         TERM, then KILL after SECONDS (default 15)
#   with_shim [SHIM_X=V]... CMD... CMD under tests/shim.so (fault injection)
#   as_nobody CMD...               CMD as user nobody, the programs on its PATH
#   nobody_ok                      true if as_nobody can work here (root, a
#                                  nobody user, $SCRATCH reachable by it)
#   instrumented                   the programs run under ASan or valgrind
#   wrapped                        the programs are valgrind's wrapper scripts
#   traced ARGS...                 strace ARGS, LeakSanitizer off
#   prom_name check|backup PATH... the metrics file an example script writes
#
# Each script runs in its own scratch directory ($SCRATCH, the cwd), removed
# at exit. A test body runs in a subshell: its variables do not leak.
# The programs under test come first on PATH (SAFEPIPE_BINDIR, or the top).

set -u
TESTS=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$TESTS")
BIN=${SAFEPIPE_BINDIR:-$TOP}
PATH=$BIN:$PATH
export PATH TESTS TOP BIN
LC_ALL=C
# The example scripts' failure lines stay out of the host's system log;
# the tests of that log set SAFEPIPE_SYSLOG=1 themselves.
SAFEPIPE_SYSLOG=0
export LC_ALL SAFEPIPE_SYSLOG
unset CDPATH

test_count=0
test_failed=0
_at_exit=

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-test.XXXXXX") || exit 1
export SCRATCH

at_exit()
{
	_at_exit="$1
$_at_exit"
}

_cleanup()
{
	_status=$?
	trap - EXIT INT TERM
	cd / && eval "$_at_exit"
	rm -rf "$SCRATCH"
	exit "$_status"
}
trap _cleanup EXIT
# Whatever a failed test left holding (hold lists it): killed at the end.
at_exit '_unhold'
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$SCRATCH" || exit 1

_report()
{
	# $1 = 0 ok, else not ok; $2 = description; output of the body in .log
	test_count=$((test_count + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $test_count - $2"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $2"
		# The body's output goes to stderr, which prove shows without
		# -v: a failure in CI explains itself in CI's log.
		cat "$SCRATCH/.log" "$SCRATCH/.diag" 2>/dev/null |
		    sed "s/^/# $(basename "$0") $test_count: /" >&2
	fi
	rm -f "$SCRATCH/.diag"
}

# A checker's complaint: into the test's log even when the checked command's
# stderr was sent elsewhere (test_expect_code 75 guardlock ... 2>err).
_diag()
{
	echo "$*" >>"$SCRATCH/.diag"
}

test_expect_success()
{
	( eval "$2" ) >"$SCRATCH/.log" 2>&1 </dev/null
	_report $? "$1"
	_unhold
}

# Holders that a failed test did not release: killed, with any child (a
# flock(1) holder's command), so that the next test finds its lock free.
# .holders has a line "PID START" each: a pid whose process started at
# another time is another process now, and is left alone.
_unhold()
{
	[ -s "$SCRATCH/.holders" ] || return 0
	while read -r _p _s; do
		[ "$(_started "$_p")" = "$_s" ] || continue
		pkill -KILL -P "$_p" 2>/dev/null
		kill -KILL "$_p" 2>/dev/null
	done <"$SCRATCH/.holders"
	: >"$SCRATCH/.holders"
}

# _started PID: when PID started (field 22 of /proc/PID/stat), or nothing.
_started()
{
	sed -n 's/.*) [^ ]* //p' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f19
}

# _holding PID: list PID in .holders, for _unhold.
_holding()
{
	echo "$1 $(_started "$1")" >>"$SCRATCH/.holders"
}

# For bodies that must read a real stdin or keep a variable: run in this shell.
test_expect_success_here()
{
	eval "$2" >"$SCRATCH/.log" 2>&1
	_report $? "$1"
	_unhold
}

# Skips are counted by make check (SAFEPIPE_SKIPLOG), never hidden in an ok.
test_skip()
{
	test_count=$((test_count + 1))
	echo "ok $test_count # skip $1: $2"
	[ -n "${SAFEPIPE_SKIPLOG:-}" ] && echo "$(basename "$0"): $1: $2" >>"$SAFEPIPE_SKIPLOG"
	return 0
}

skip_all()
{
	echo "1..0 # SKIP $1"
	[ -n "${SAFEPIPE_SKIPLOG:-}" ] && echo "$(basename "$0"): all: $1" >>"$SAFEPIPE_SKIPLOG"
	exit 0
}

# Can this run mount a tmpfs (to make a disk full)? Probed once, cleaned up.
have_tmpfs()
{
	mkdir "$SCRATCH/.probe" 2>/dev/null || return 1
	if mount -t tmpfs -o size=64k tmpfs "$SCRATCH/.probe" 2>/dev/null; then
		umount "$SCRATCH/.probe" && rmdir "$SCRATCH/.probe"
		return 0
	fi
	rmdir "$SCRATCH/.probe"
	return 1
}

test_expect_code()
{
	_want=$1
	shift
	"$@"
	_got=$?
	if [ "$_got" -ne "$_want" ]; then
		_diag "test_expect_code: want exit $_want, got $_got: $*"
		return 1
	fi
	return 0
}

test_must_fail()
{
	"$@"
	_got=$?
	if [ "$_got" -eq 0 ] || [ "$_got" -gt 125 ]; then
		_diag "test_must_fail: got exit $_got: $*"
		return 1
	fi
	return 0
}

test_cmp()
{
	cmp "$1" "$2" || { diff -u "$1" "$2" | head -40 >&2; return 1; }
}

# Succeed iff file $2 holds a line matching the extended regex $1.
test_grep()
{
	grep -E -q -- "$1" "$2" || {
		echo "test_grep: no line matches '$1' in $2:" >&2
		head -20 "$2" >&2
		return 1
	}
}

need()
{
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || {
			echo "# missing tool: $_c"
			return 1
		}
	done
	return 0
}

# with_shim [SHIM_X=V]... CMD...: run CMD with tests/shim.so preloaded, the
# SHIM_* settings saying which fault to inject. ASan objects to a library
# loaded before its own; the shim is not instrumented, so that is safe here.
with_shim()
{
	env LD_PRELOAD="$TESTS/shim.so" \
	    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}

# Another user: nobody, in group nogroup and no other. It cannot run the
# programs from a checkout in a private directory (a clone under /root, a
# mktemp -d), so they are copied once into a directory it may enter.
_nobody_bin=
nobody_ok()
{
	[ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && need setpriv || return 1
	head -c 4 "$BIN/gzsafe" 2>/dev/null | grep -q ELF || {
		echo "# the programs are wrapper scripts here: not for another user"
		return 1
	}
	if ! chmod 755 "$SCRATCH" ||
	    ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$SCRATCH"; then
		echo "# $SCRATCH: nobody cannot reach it (set TMPDIR to a public place)"
		return 1
	fi
	[ -n "$_nobody_bin" ] && return 0
	_nobody_bin=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-nobody.XXXXXX") &&
	at_exit "rm -rf '$_nobody_bin'" &&
	chmod 755 "$_nobody_bin" &&
	for _p in guardlock gzsafe sumcheck; do
		cp "$(command -v $_p)" "$_nobody_bin/" || return 1
	done
}

as_nobody()
{
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env PATH="$_nobody_bin:$PATH" "$@"
}

# Do the programs run instrumented: built with SANITIZE=1, or through
# tools/valgrind.sh's wrapper scripts? Both need far more address space
# than a test that limits it (ulimit -v) leaves them, and the wrappers log
# where another user may not write.
instrumented()
{
	wrapped || nm "$BIN/gzsafe" 2>/dev/null | grep -q __asan_init
}

# Do the programs run through wrapper scripts (valgrind)? The wrapper's
# valgrind has descriptors and limits of its own: a test of closed
# standard descriptors, of ulimit -n or -f, sees valgrind, not the program.
wrapped()
{
	! head -c 4 "$BIN/gzsafe" 2>/dev/null | grep -q ELF
}

# Bounds on waits (timeout, wait_for, wait_grep) are met within a second
# or two on an idle host, and are ten times that for a loaded one. Under
# valgrind a program's start alone costs a second of CPU, and a lock storm
# in the test running beside this one can take the CPUs for half a minute:
# there every bound is SLOW times as long (SAFEPIPE_SLOW sets it).
case ${SAFEPIPE_SLOW:-} in
'') SLOW= ;;
0* | *[!0-9]*) echo "SAFEPIPE_SLOW=$SAFEPIPE_SLOW: a whole number from 1 is wanted" >&2; exit 1 ;;
*) SLOW=$SAFEPIPE_SLOW ;;
esac
if [ -n "$SLOW" ]; then
	:
elif wrapped; then
	SLOW=5
elif instrumented; then	# wrapped was the case above: here, ASan
	SLOW=2
else
	SLOW=1
fi

# timeout SECONDS CMD...: timeout(1), the bound SLOW times as long. A test
# whose point is the bound itself names /usr/bin/timeout or runs only
# where SLOW is 1.
timeout()
{
	case $1 in
	*[!0-9]* | '') command timeout "$@" ;;
	*)
		_secs=$(($1 * SLOW))
		shift
		command timeout "$_secs" "$@"
		;;
	esac
}

# strace CMD: as strace, with LeakSanitizer off, which cannot run under ptrace.
traced()
{
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace "$@"
}

# hold NAME TOOL [ARGS...]: TOOL ARGS... sh -c ..., holding (a lock) until
# release NAME. NAME.pid is the holder's pid, and NAME.held exists before
# hold returns; a holder a failed test left is killed when the script ends.
hold()
{
	_n=$1
	shift
	rm -f "$_n.held" "$_n.fifo"
	mkfifo "$_n.fifo" || return 1
	"$@" sh -c "touch $_n.held; read _ <$_n.fifo" </dev/null >/dev/null 2>"$_n.err" &
	echo $! >"$_n.pid"
	_holding $!
	wait_for "$_n.held" 20
}

release()
{
	timeout 20 sh -c "echo >$1.fifo" && wait "$(cat "$1.pid")" || return 1
	grep -v "^$(cat "$1.pid") " "$SCRATCH/.holders" >"$SCRATCH/.holders.new"
	mv "$SCRATCH/.holders.new" "$SCRATCH/.holders"
}

# wait_grep PATTERN FILE: bounded wait until FILE has a matching line.
wait_grep()
{
	_i=0
	while ! grep -Eq -- "$1" "$2" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt $((400 * SLOW)) ] && { echo "wait_grep: '$1' never in $2" >&2; return 1; }
		sleep 0.05
	done
}

# Marker-file synchronisation: poll, but never longer than the bound.
wait_for()
{
	_f=$1
	_limit=$(( ${2:-60} * 20 * SLOW ))
	_i=0
	while [ ! -e "$_f" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt "$_limit" ] && { echo "wait_for: $_f never appeared" >&2; return 1; }
		sleep 0.05
	done
	return 0
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL if PID still runs after
# SECONDS (default 15): a server the test started never outlives it.
stop_pid()
{
	kill "$1" 2>/dev/null
	_i=0
	while kill -0 "$1" 2>/dev/null && [ "$_i" -lt $(( ${2:-15} * 20 )) ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	kill -9 "$1" 2>/dev/null
	return 0
}

# Deterministic bytes: $1 bytes of mixed text and binary from seed $2.
gen_data()
{
	python3 - "$1" "${2:-1}" <<'PY'
import random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(seed)
out = sys.stdout.buffer
words = [b"backup", b"innodb", b"page", b"row", b"customer", b"order", b"0000", b"\x00\x00\x00\x01"]
left = n
while left > 0:
    if r.random() < 0.2:
        chunk = r.randbytes(min(left, r.randint(1, 8192)))
    else:
        chunk = b" ".join(r.choice(words) + str(r.randint(0, 99999)).encode() for _ in range(r.randint(1, 400)))[:left]
    out.write(chunk)
    left -= len(chunk)
PY
}

# prom_name check DIR, prom_name backup DIR NAME: the name of the metrics
# file check-backups.sh or backup.sh writes (doc/monitoring.md): the path
# made a file name, then the first 4 bytes of the BLAKE2b of the exact
# operands, NUL between them, from python3's hashlib, not b2sum.
prom_name()
{
	python3 -c '
import hashlib, os, re, sys
kind, parts = sys.argv[1], [os.fsencode(a) for a in sys.argv[2:]]
shown = re.sub(rb"[^A-Za-z0-9._-]", b"_", b"/".join(parts).lstrip(b"/"))
h = hashlib.blake2b(b"\0".join(parts), digest_size=4).hexdigest()
sys.stdout.buffer.write(b"safepipe-%s-%s-%s.prom\n" % (kind.encode(), shown, h.encode()))
' "$@"
}

test_done()
{
	echo "1..$test_count"
	[ "$test_failed" -eq 0 ]
}

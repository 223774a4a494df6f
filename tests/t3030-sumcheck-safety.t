#!/bin/sh
# sumcheck under stress: SIGKILL at many points never leaves a partial
# sidecar or a temp; a file that changes while it is hashed gets no sidecar
# and fails the check (made deterministic by the tests/shim.so shim).
. "$(dirname "$0")/lib.sh"

test -f "$TESTS/shim.so" || skip_all "tests/shim.so not built (make check builds it)"

# paused NAME FIFO CMD...: exec CMD held after its first read of the file
# NAME until the FIFO is opened and closed (tests/shim.c). ASan would
# object to a library loaded before it; the shim is not instrumented.
paused()
{
	SHIM_PAUSE_FILE=$1 SHIM_PAUSE_FIFO=$2 LD_PRELOAD=$TESTS/shim.so
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	export SHIM_PAUSE_FILE SHIM_PAUSE_FIFO LD_PRELOAD ASAN_OPTIONS
	shift 2
	exec "$@"
}

# Nothing but these names may be in the directory: no temp left behind.
only()
{
	ls -A >"$SCRATCH/list" && printf "%s\n" "$@" >"$SCRATCH/want" &&
	test_cmp "$SCRATCH/want" "$SCRATCH/list"
}

test_expect_success 'setup: 48 MiB of data and its digests' '
	mkdir k && gen_data 1000000 1 >k/one && for i in 1 2 3 4 5 6 7 8; do cat k/one k/one k/one k/one k/one k/one; done >k/big &&
	rm k/one && (cd k && b2sum big >../new && b2sum --tag big >../old)
'

test_expect_success 'SIGKILL while hashing (deterministic): no sidecar, no temp' '
	mkfifo k/pause && cd k &&
	{ paused big pause sumcheck big & pid=$!; } &&
	timeout 20 sh -c "exec 3>pause; kill -KILL $pid" &&
	{ wait $pid; test $? -eq 137; } &&
	rm pause && only big
'

test_expect_success 'SIGKILL at 30 points from start to end: sidecar absent or complete' '
	cd k && i=0 && seen= &&
	while [ $i -lt 30 ]; do
		rm -f big.b2
		sumcheck big & pid=$!
		# Spread the kills over the run (~0.07 s on a quiet machine):
		# any outcome is legal, only a partial sidecar or a temp is not.
		sleep "$(awk -v i=$i "BEGIN { print i * 0.004 }")"
		kill -KILL $pid 2>/dev/null
		wait $pid
		if [ -e big.b2 ]; then
			test_cmp ../new big.b2 || return 1
			seen="${seen}c"
		else
			seen="${seen}a"
		fi
		ls -A >../list && { [ "$(cat ../list)" = big ] || [ "$(cat ../list)" = "big
big.b2" ]; } || { cat ../list; return 1; }
		i=$((i + 1))
	done &&
	echo "# outcomes (a absent, c complete): $seen"
'

test_expect_success 'SIGKILL during -f replacement: the old sidecar or the new one, whole' '
	cd k && i=0 &&
	while [ $i -lt 20 ]; do
		cp ../old big.b2
		sumcheck -f big & pid=$!
		sleep "$(awk -v i=$i "BEGIN { print i * 0.006 }")"
		kill -KILL $pid 2>/dev/null
		wait $pid
		cmp -s ../old big.b2 || test_cmp ../new big.b2 || return 1
		b2sum -c --strict big.b2 >/dev/null || return 1
		only big big.b2 || return 1
		i=$((i + 1))
	done
'

test_expect_success 'SIGTERM and SIGINT while hashing: no sidecar, no temp' '
	mkfifo k/pause && cd k && rm -f big.b2 &&
	for sig in TERM INT HUP; do
		# A background job starts with SIGINT ignored, and keeps it ignored.
		{ paused big pause env --default-signal=$sig sumcheck big & pid=$!; } &&
		timeout 20 sh -c "exec 3>pause; kill -$sig $pid" && wait $pid
		test $? -gt 128 || return 1
	done &&
	rm pause && only big
'

test_expect_success 'a file appended to while hashed: no sidecar, exit 2' '
	mkdir c && gen_data 3000000 2 >c/f && mkfifo c/pause || exit 1
	(cd c && (paused f pause sumcheck f) 2>../err; echo $? >../rc) & bg=$! &&
	timeout 20 sh -c "exec 3>c/pause; echo more >>c/f" &&
	wait $bg && echo 2 >want && test_cmp want rc &&
	test_grep "^sumcheck: f: changed while reading; f\.b2 not written$" err &&
	test ! -e c/f.b2
'

test_expect_success 'a file whose mtime moves while hashed (same size): no sidecar' '
	gen_data 3000000 3 >c/g || exit 1
	(cd c && (paused g pause sumcheck g) 2>../err; echo $? >../rc) & bg=$! &&
	timeout 20 sh -c "exec 3>c/pause; touch -d 2001-01-01 c/g" &&
	wait $bg && echo 2 >want && test_cmp want rc && test ! -e c/g.b2
'

test_expect_success 'a file replaced while hashed: no sidecar' '
	gen_data 3000000 4 >c/h && cp c/h c/h2 || exit 1
	(cd c && (paused h pause sumcheck h) 2>../err; echo $? >../rc) & bg=$! &&
	timeout 20 sh -c "exec 3>c/pause; mv c/h2 c/h" &&
	wait $bg && echo 2 >want && test_cmp want rc && test ! -e c/h.b2
'

test_expect_success 'check: a file that changes while checked: FAILED changed while reading, 2' '
	gen_data 3000000 5 >c/i && (cd c && b2sum i >i.b2) || exit 1
	( (paused i c/pause sumcheck -c c/i) >out 2>err; echo $? >rc) & bg=$! &&
	timeout 20 sh -c "exec 3>c/pause; echo more >>c/i" &&
	wait $bg && echo 2 >want && test_cmp want rc &&
	echo "c/i: FAILED changed while reading" >want && test_cmp want out &&
	test_grep "^sumcheck: WARNING: 1 listed file could not be read$" err
'

if have_tmpfs; then
test_expect_success 'a full disk: no sidecar, no temp, exit 2' '
	mkdir t && mount -t tmpfs -o size=64k tmpfs t || exit 1
	head -c 40000 /dev/zero >t/f && head -c 20000 /dev/zero >t/fill
	head -c 100000 /dev/zero >t/fill2 2>/dev/null
	test_expect_code 2 sumcheck t/f 2>err; r=$?
	ls -A t >list; umount t
	test $r = 0 && test_grep "t/f\.b2: " err && printf "f\nfill\nfill2\n" >want && test_cmp want list
'
else
	test_skip 'a full disk' 'cannot mount a tmpfs here (not root?)'
fi

test_done

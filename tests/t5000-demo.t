#!/bin/sh
# examples/demo.sh: the incident and its prevention, every verdict as expected.
. "$(dirname "$0")/lib.sh"

if ! need gzsafe sumcheck guardlock gzip tar python3; then
	skip_all 'the demo needs gzsafe, sumcheck, guardlock, gzip, tar and python3'
fi

test_expect_success 'the demo runs and exits 0' '
	TMPDIR=$SCRATCH timeout 120 sh "$TOP/examples/demo.sh" > "$SCRATCH/out" 2> "$SCRATCH/err" ||
	{ cat "$SCRATCH/out" "$SCRATCH/err"; false; }
'

test_expect_success 'no verdict failed, and it says so' '
	! grep -q "^\[FAIL\]" out &&
	test_grep "^demo: every verdict as expected$" out
'

test_expect_success 'step 1: overlapping naive runs give the incident message' '
	test_grep "^\[ok\] 1\. .*invalid compressed data--format violated$" out
'

test_expect_success 'step 2: the second run is refused with 75, naming the holder' '
	test_grep "^\[ok\] 2\. second run refused \(exit 75\): guardlock: .*: busy: held by pid [0-9]+ \(gzsafe\) on " out
'

test_expect_success 'step 2: one run committed the archive and its digest, which verifies' '
	test_grep "^\[ok\] 2\. first run committed db\.tar\.gz and db\.tar\.gz\.b2; sumcheck -c: .*db\.tar\.gz: OK$" out
'

test_expect_success 'step 3: the naive truncated archive passes gzip -t' '
	test_grep "^\[ok\] 3\. naive: producer killed, gzip -t passes the truncated archive" out
'

test_expect_success 'step 3: gzsafe commits nothing, last night still verifies' '
	test_grep "^\[ok\] 3\. gzsafe: exit 137, .*sumcheck -c: .*db\.tar\.gz: OK$" out
'

test_expect_success 'exactly five verdict lines, nothing on stderr' '
	test "$(grep -c "^\[ok\] " out)" -eq 5 &&
	test ! -s err
'

test_expect_success 'the demo left nothing behind in its TMPDIR' '
	test -z "$(find "$SCRATCH" -maxdepth 1 -name "safepipe-demo.*")"
'

test_done

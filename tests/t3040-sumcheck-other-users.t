#!/bin/sh
# sumcheck run by root on names another user chose: a digest file in that
# user's directory, a glob over it. Nothing it prints or writes may tell
# that user about a file they cannot read, and nothing planted may hang it.
# The attacker is user nobody (setpriv), in a directory it owns.
. "$(dirname "$0")/lib.sh"
need b2sum timeout || skip_all 'b2sum and timeout needed'
nobody_ok || skip_all 'needs root, user nobody and setpriv'

# Root's secret, and the attacker's directory.
mkdir secret && chmod 700 secret && echo "root only" >secret/pin && chmod 600 secret/pin
pinhash=$(b2sum secret/pin | cut -c1-128)
export pinhash
mkdir att && chown nobody:nogroup att && chmod 755 att

test_expect_success 'a directory link in a listed name is not followed: no verdict, no existence oracle' '
	as_nobody ln -s "$SCRATCH/secret" att/r &&
	as_nobody sh -c "printf \"%s  r/pin\n%s  r/nothere\n\" $pinhash $pinhash >att/SUMS" &&
	test_expect_code 2 sumcheck -c att/SUMS >out 2>err &&
	printf "att/r/pin: FAILED open or read\natt/r/nothere: FAILED open or read\n" >want &&
	test_cmp want out &&
	test_grep "^sumcheck: att/r/pin: is or passes through a symbolic link: not followed$" err &&
	test_grep "^sumcheck: att/r/nothere: is or passes through a symbolic link: not followed$" err
'

test_expect_success 'a link as the listed file itself: not followed either' '
	as_nobody ln -s "$SCRATCH/secret/pin" att/pin2 &&
	as_nobody sh -c "printf \"%s  pin2\n\" $pinhash >att/S2" &&
	test_expect_code 2 sumcheck -c att/S2 >out 2>err &&
	echo "att/pin2: FAILED open or read" >want && test_cmp want out
'

test_expect_success 'a hard link to a file its owner cannot read: not checked on their behalf' '
	ln secret/pin att/hard &&
	as_nobody sh -c "printf \"%s  hard\n\" $pinhash >att/S3" &&
	test_expect_code 2 sumcheck -c att/S3 >out 2>err &&
	echo "att/hard: FAILED open or read" >want && test_cmp want out &&
	test_grep "^sumcheck: att/hard: uid $(id -u nobody), who wrote the digest file, may not read it: not checked on their behalf$" err &&
	rm att/hard
'

test_expect_success 'that digest file on standard input: the same verdict and message as by name' '
	ln secret/pin att/hard &&
	as_nobody sh -c "printf \"%s  hard\n\" $pinhash >att/S6" &&
	test_expect_code 2 sumcheck -c att/S6 >out 2>err &&
	sed "s|att/||" out >want && sed "s|att/||" err >want.err &&
	test_grep "^sumcheck: hard: uid $(id -u nobody), who wrote the digest file, may not read it: not checked on their behalf$" want.err &&
	for op in "" - /dev/stdin; do
		echo "sumcheck -c $op <S6:" &&
		(cd att && test_expect_code 2 sumcheck -c $op <S6 >../out 2>../err) ||
		    { cat err; exit 1; }
		test_cmp want out && test_cmp want.err err || exit 1
	done &&
	rm att/hard
'

test_expect_success 'their FIFO on standard input is theirs, not a pipe of the caller'"'"'s' '
	ln -f secret/pin att/hard &&
	as_nobody mkfifo att/S6.fifo &&
	{ as_nobody sh -c "cat att/S6 >att/S6.fifo" & } &&
	(cd att && test_expect_code 2 sumcheck -c <S6.fifo >../out 2>../err) &&
	wait &&
	test_cmp want out && test_cmp want.err err &&
	rm att/hard
'

test_expect_success 'on a pipe it is the caller'"'"'s: read as the caller may' '
	ln -f secret/pin att/hard &&
	(cd att && cat S6 | sumcheck -c >../out) &&
	echo "hard: OK" >want && test_cmp want out &&
	rm att/hard
'

test_expect_success 'the owner'"'"'s own files, and files all may read, are checked as usual' '
	as_nobody sh -c "echo mine >att/mine && cd att && b2sum mine >S4" &&
	echo public >att/pub && chmod 644 att/pub && (cd att && b2sum pub >>S4) &&
	sumcheck -c att/S4 >out && printf "att/mine: OK\natt/pub: OK\n" >want && test_cmp want out
'

test_expect_success 'a glob over the directory: a planted link is never hashed, so never published' '
	as_nobody ln -s "$SCRATCH/secret/pin" att/pin.gz &&
	as_nobody ln -s /dev/zero att/zero.gz &&
	as_nobody sh -c "echo real >att/real.gz" &&
	(cd att && test_expect_code 2 timeout 20 sumcheck -p *.gz >../out 2>../err) &&
	(cd att && b2sum real.gz) >want && test_cmp want out &&
	! grep -q "$pinhash" out &&
	test_grep "^sumcheck: pin\.gz: is or passes through a symbolic link: not followed$" err &&
	test_grep "^sumcheck: zero\.gz: is or passes through a symbolic link: not followed$" err
'

test_expect_success 'a FIFO or device in the glob: refused at once, no hang' '
	as_nobody mkfifo att/fifo.gz &&
	(cd att && test_expect_code 2 timeout 20 sumcheck -p fifo.gz real.gz >../out 2>../err) &&
	test_grep "^sumcheck: fifo\.gz: not a regular file$" err &&
	test_expect_code 2 timeout 20 sumcheck -p /dev/null 2>err &&
	test_grep "not a regular file" err
'

test_expect_success 'the caller'"'"'s own descriptors are still read: -, /dev/stdin, <(...)' '
	echo data >d && b2sum d | cut -c1-128 >h &&
	sumcheck -p - <d | cut -c1-128 >got && test_cmp h got &&
	sumcheck -p /dev/stdin <d | cut -c1-128 >got && test_cmp h got &&
	cat d | sumcheck -p /dev/fd/0 | cut -c1-128 >got && test_cmp h got
'

test_expect_success 'writing a sidecar for a planted link: refused, nothing written' '
	test_expect_code 2 sumcheck att/pin.gz 2>err &&
	test ! -e att/pin.gz.b2 &&
	test_grep "^sumcheck: att/pin\.gz: is or passes through a symbolic link: not followed$" err
'

test_expect_success 'a sidecar for a hard link to root'"'"'s file: as private as that file' '
	ln secret/pin att/hard2 &&
	sumcheck att/hard2 &&
	test "$(stat -c %U:%a att/hard2.b2)" = root:600 &&
	test_must_fail as_nobody cat att/hard2.b2 2>/dev/null
'

test_expect_success 'escape sequences in names never reach the terminal raw' '
	esc=$(printf "\033]0;owned\007x") &&
	as_nobody sh -c "echo e >\"att/$esc\" && cd att && b2sum \"$esc\" >S5 && printf \"%s  nope$esc\\n\" $pinhash >>S5" &&
	test_expect_code 2 sumcheck -c att/S5 >out 2>err &&
	! grep -q "$(printf "\033")" out err &&
	test_grep "^\\\\att/\\\\x1b\\]0;owned\\\\x07x: OK$" out &&
	test_grep "nope\\\\x1b\\]0;owned\\\\x07x: No such file" err
'

test_expect_success 'a sidecar that is a link to a device, or a device: refused at once, no spin' '
	echo x >dv && ln -s /dev/zero dv.b2 &&
	test_expect_code 2 timeout 20 sumcheck -c dv 2>err &&
	test_grep "dv\.b2: is a symbolic link: not followed" err &&
	rm dv.b2 && mknod dv.b2 c 1 5 &&
	test_expect_code 2 timeout 20 sumcheck -c dv 2>err &&
	test_grep "dv\.b2: not a regular file" err
'

test_done

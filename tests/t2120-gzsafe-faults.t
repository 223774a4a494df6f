#!/bin/sh
# Faults from outside: gzsafe killed, signalled, out of space, or racing
# seven others for the same name. OUTPUT is always whole.
. "$(dirname "$0")/lib.sh"

mkdir d
seq 1 20000 >old
gzsafe --digest d/out.gz <old || exit 1
cp d/out.gz good.gz
cp d/out.gz.b2 good.b2
gen_data 65536 7 >chunk

test_expect_success 'SIGKILL after k chunks, k = 1..20: OUTPUT and sidecar untouched, nothing left' '
	k=1
	while [ $k -le 20 ]; do
		rm -f feed got && mkfifo feed got || exit 1
		gzsafe -p 2 --digest d/out.gz <feed &
		pid=$!
		# Our writer knows exactly how much gzsafe has taken: the fifo
		# holds no more than one pipe buffer beyond what was read.
		{
			i=0
			while [ $i -lt $k ]; do cat chunk; i=$((i + 1)); done
			echo written >got
			exec sleep 600
		} >feed 2>/dev/null &
		wpid=$!
		read -r _ <got || exit 1
		kill -9 $pid
		wait $pid
		test $? -eq 137 || exit 1
		kill $wpid 2>/dev/null
		wait $wpid 2>/dev/null
		cmp d/out.gz good.gz && cmp d/out.gz.b2 good.b2 &&
		test "$(ls -A d | tr "\n" " ")" = "out.gz out.gz.b2 " || exit 1
		k=$((k + 1))
	done
'

test_expect_success 'SIGTERM in wrap mode: gzsafe dies of it, the producer gets it too, nothing left' '
	mkfifo started || exit 1
	gzsafe --digest d/out.gz sh -c "trap \"echo term >got-term; exit 1\" TERM; cat chunk; echo go >started; while :; do sleep 1; done" &
	pid=$!
	read -r _ <started &&
	kill -TERM $pid &&
	{ wait $pid; st=$?; } &&
	test $st -eq 143 &&
	wait_for got-term 30 &&
	cmp d/out.gz good.gz && cmp d/out.gz.b2 good.b2 &&
	test "$(ls -A d | tr "\n" " ")" = "out.gz out.gz.b2 "
'

if have_tmpfs; then
test_expect_success 'ENOSPC on a 1 MiB tmpfs: 125, one line, OUTPUT intact, nothing left' '
	mkdir mnt && mount -t tmpfs -o size=1m tmpfs mnt &&
	trap "umount \"$SCRATCH/mnt\"" EXIT
	cp good.gz mnt/out.gz && cp good.b2 mnt/out.gz.b2 &&
	head -c 3000000 /dev/urandom >noise &&
	test_expect_code 125 gzsafe --digest mnt/out.gz <noise 2>err &&
	test "$(wc -l <err)" -eq 1 &&
	test_grep "No space left on device; mnt/out.gz left unchanged" err &&
	cmp mnt/out.gz good.gz && cmp mnt/out.gz.b2 good.b2 &&
	test "$(ls -A mnt | tr "\n" " ")" = "out.gz out.gz.b2 "
'
else
	test_skip 'ENOSPC on a tmpfs' 'cannot mount a tmpfs here (not root?)'
fi

test_expect_success 'eight concurrent writers to one OUTPUT: the result is exactly one input' '
	mkdir race &&
	for w in 1 2 3 4 5 6 7 8; do
		gen_data 300000 $w >in.$w
	done &&
	# All eight wait at one marker, so that they really start together.
	for w in 1 2 3 4 5 6 7 8; do
		{ wait_for go 60 && gzsafe -p 1 --digest race/out.gz <in.$w; echo $? >st.$w; } &
	done &&
	touch go &&
	wait &&
	for w in 1 2 3 4 5 6 7 8; do test "$(cat st.$w)" = 0 || { echo "writer $w: status $(cat st.$w)"; exit 1; }; done &&
	gzip -dc race/out.gz >result &&
	n=0 && for w in 1 2 3 4 5 6 7 8; do if cmp -s result in.$w; then n=$((n + 1)); fi; done &&
	{ test $n -eq 1 || { echo "result matches $n inputs"; false; }; } &&
	test "$(ls -A race | tr "\n" " ")" = "out.gz out.gz.b2 " &&
	# The sidecar is the one written for that data, not that of a losing writer.
	(cd race && b2sum --quiet -c out.gz.b2)
'

# Each round: eight small writers released at once through a fifo barrier.
# Without the commit lock about a third of the rounds ended with one
# writer's archive beside another's sidecar; the rounds make a miss
# vanishingly unlikely. (tools/valgrind.sh asks for fewer.)
test_expect_success 'racing writers: OUTPUT and OUTPUT.b2 always from the same writer' '
	for w in 1 2 3 4 5 6 7 8; do seq $w $((w * 1000)) >small.$w; done &&
	r=0
	while [ $r -lt "${SAFEPIPE_TEST_ROUNDS:-40}" ]; do
		rm -rf rd gate ready.* && mkdir rd && mkfifo gate || exit 1
		for w in 1 2 3 4 5 6 7 8; do
			{ touch ready.$w; : <gate; gzsafe -p 1 --no-sync --digest rd/out.gz <small.$w; } &
		done
		for w in 1 2 3 4 5 6 7 8; do wait_for ready.$w 60 || exit 1; done
		exec 3>gate
		wait
		exec 3>&-
		(cd rd && b2sum --quiet -c out.gz.b2) || { echo "round $r: sidecar of another writer"; exit 1; }
		test "$(ls -A rd | tr "\n" " ")" = "out.gz out.gz.b2 " || exit 1
		r=$((r + 1))
	done
'

test_expect_success 'sumcheck -f racing gzsafe: a sidecar only ever vouches for the bytes under its name' '
	seq 1 5000 | gzsafe --digest sd.gz &&
	r=0
	while [ $r -lt "${SAFEPIPE_TEST_ROUNDS:-40}" ]; do
		rm -f gate ready.* && mkfifo gate || exit 1
		{ touch ready.1; : <gate; gzsafe -p 1 --no-sync --digest sd.gz <small.$((r % 8 + 1)); } &
		{ touch ready.2; : <gate; sumcheck -f sd.gz 2>>sc.err; } &
		wait_for ready.1 60 && wait_for ready.2 60 || exit 1
		exec 3>gate
		wait
		exec 3>&-
		b2sum --quiet -c sd.gz.b2 || { echo "round $r: sidecar does not match"; cat sc.err; exit 1; }
		r=$((r + 1))
	done &&
	# When sumcheck lost the race it said so; nothing else is ever said.
	if test -s sc.err; then
		! grep -v "sd.gz: changed while reading; sd.gz.b2 not written" sc.err
	fi
'

# Mistaking the caller's lock for another commit would stall for the full
# ten seconds of patience before going ahead: 8 s is the bound.
test_expect_success 'a lock on the directory itself, held by the caller: no wait for ourselves' '
	mkdir ld && chmod 700 ld &&
	command timeout 8 guardlock -n ld gzsafe --digest ld/out.gz cat small.1 &&
	gzip -dc ld/out.gz | cmp - small.1 &&
	(cd ld && b2sum --quiet -c out.gz.b2)
'

if need flock; then
	test_expect_success 'the same lock held through flock(1): no wait for ourselves either' '
		command timeout 8 flock ld gzsafe --digest ld/out.gz cat small.2 &&
		gzip -dc ld/out.gz | cmp - small.2 &&
		command timeout 8 flock ld sumcheck -f ld/out.gz &&
		(cd ld && b2sum --quiet -c out.gz.b2)
	'
else
	test_skip 'the caller'"'"'s lock through flock(1)' 'flock(1) needed'
fi

# A descriptor for the directory that holds no lock is no lock: a commit
# of ours holding it is waited for (10 s), so timeout 3 ends the run first,
# and nothing of it is left behind.
test_expect_success 'an inherited descriptor for the directory without a lock: the lock is still taken' '
	rm -f ld/held && mkfifo ld/go || exit 1
	guardlock ld sh -c "touch ld/held; read _ <ld/go" &
	wait_for ld/held 20 &&
	cp ld/out.gz keep.gz &&
	test_expect_code 124 timeout 3 gzsafe --digest ld/out.gz cat small.1 3<ld &&
	cmp keep.gz ld/out.gz && (cd ld && b2sum --quiet -c out.gz.b2) &&
	test "$(ls -A ld | sort | tr "\n" " ")" = "go held out.gz out.gz.b2 " &&
	echo >ld/go && wait
'

test_done

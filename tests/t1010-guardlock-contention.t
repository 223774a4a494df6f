#!/bin/sh
# guardlock against other holders: busy, the holder's name, -w, signals,
# util-linux flock(1) both ways, shared locks, SIGKILL, a lock storm, a
# queue, the replaced-lock-file race.  Every wait is on a fifo or marker
# and bounded; nothing sleeps in the hope that another process is ready.
. "$(dirname "$0")/lib.sh"
need flock timeout || skip_all 'flock(1) and timeout(1) needed'


test_expect_success 'busy: 75 at once with -n, the command not run' '
	hold h guardlock l &&
	test_expect_code 75 timeout 20 guardlock -n l touch ran 2>err &&
	test ! -e ran &&
	release h
'

test_expect_success 'busy: -E CODE replaces 75, -E 0 too' '
	hold h guardlock l &&
	test_expect_code 3 timeout 20 guardlock -n -E 3 l touch ran 2>err &&
	test_expect_code 0 timeout 20 guardlock -E 0 -n l touch ran 2>err &&
	test ! -e ran &&
	test_expect_code 3 timeout 20 guardlock -E 3 -w 0.1 l touch ran 2>err &&
	release h
'

test_expect_success 'busy: one line names the holder pid, command, host and time' '
	hold h guardlock l &&
	pid=$(cat h.pid) &&
	test_expect_code 75 timeout 20 guardlock -n l true 2>err &&
	test "$(wc -l <err)" -eq 1 &&
	test_grep "^guardlock: l: busy: held by pid $pid \(sh\) on $(hostname) since [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \([0-9]+s ago\)\$" err &&
	release h
'

# secret NAME TOOL [ARGS...]: as hold, but the holder is /bin/sh with a
# password among its arguments, as a dump tool's command line may have.
secret()
{
	_n=$1
	shift
	rm -f "$_n.held" "$_n.fifo"
	mkfifo "$_n.fifo" || return 1
	"$@" /bin/sh -c "touch $_n.held; read _ <$_n.fifo" sh --password=hunter2 \
	    </dev/null >/dev/null 2>"$_n.err" &
	echo $! >"$_n.pid"
	_holding $!
	wait_for "$_n.held" 20
}

test_expect_success 'a holder'"'"'s arguments are never shown nor written: its program alone' '
	secret s guardlock s.lock &&
	pid=$(cat s.pid) &&
	grep -q hunter2 /proc/$pid/cmdline &&
	test_expect_code 75 timeout 20 guardlock -n s.lock true 2>err &&
	test_grep "^guardlock: s.lock: busy: held by pid $pid \(sh\) on $(hostname) since " err &&
	test_expect_code 75 timeout 20 guardlock -v -w 0.1 s.lock true 2>verr &&
	test_grep ": s.lock: waiting: held by pid $pid \(sh\) on " verr &&
	test_expect_code 1 guardlock --status s.lock >out &&
	test_grep "^held by pid $pid \(sh\) on " out &&
	test_grep "^cmd sh$" s.lock &&
	! grep hunter2 err verr out s.lock &&
	release s
'

# Twice in CI, under valgrind with t1000 running beside it, /proc/locks
# showed a second shared lock on sh.lock that this test never took (not
# reproduced here in 15 runs). What is checked is the holder's name
# without its arguments, so the count of others is let be.
test_expect_success 'a holder with no record (flock(1), shared): its program alone too' '
	: >k.lock && chmod 600 k.lock &&
	secret f flock k.lock &&
	test_expect_code 75 timeout 20 guardlock -n k.lock true 2>err &&
	test_grep "^guardlock: k.lock: busy: held by pid $(cat f.pid) \(flock\), no holder record, running since " err &&
	test_expect_code 1 guardlock --status k.lock >out &&
	test_grep "^held by pid $(cat f.pid) \(flock\), no holder record, running since " out &&
	release f &&
	secret sh guardlock -s sh.lock &&
	test_expect_code 75 timeout 20 guardlock -n sh.lock true 2>err2 &&
	test_grep "^guardlock: sh.lock: busy: held shared by pid $(cat sh.pid) \(sh\)( and [0-9]+ others?)?, running since " err2 &&
	! grep hunter2 err out err2 k.lock sh.lock &&
	release sh
'

# A big host's /proc/stat: a line per CPU and the interrupt counts come
# before btime, tens of kilobytes of them. Stood in by a bind mount in a
# mount namespace of the test's own, with this host's true btime last.
if [ "$(id -u)" = 0 ] && need unshare awk && unshare -m true 2>/dev/null; then
test_expect_success 'a big host: a holder with no record still shows since when it runs' '
	{
		grep -v "^btime " /proc/stat &&
		awk "BEGIN { for (c = 0; c < 512; c++) print \"cpu\" c, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0
			printf \"intr 1\"; for (i = 0; i < 16384; i++) printf \" %d\", i; print \"\" }" &&
		grep "^btime " /proc/stat
	} >stat &&
	test "$(wc -c <stat)" -gt 65536 &&
	: >k.lock && chmod 600 k.lock &&
	hold f flock k.lock &&
	test_expect_code 75 unshare -m sh -c "mount --bind stat /proc/stat && exec guardlock -n k.lock true" 2>err &&
	test_grep "^guardlock: k.lock: busy: held by pid $(cat f.pid) \(flock\), no holder record, running since [0-9-]+ [0-9:]+ \(([0-9]+s ago|in the future: clocks differ)\)\$" err &&
	release f
'
else
	test_skip 'a big host' 'needs root and unshare -m'
fi

test_expect_success 'busy: -q silences the line, not the status' '
	hold h guardlock l &&
	test_expect_code 75 timeout 20 guardlock -q -n l true >out 2>err &&
	test ! -s err && test ! -s out &&
	release h
'

test_expect_success '--status of a held lock: the holder on stdout, 1' '
	hold h guardlock l &&
	test_expect_code 1 guardlock --status l >out 2>err &&
	test ! -s err &&
	test_grep "^held by pid $(cat h.pid) \(sh\) on $(hostname) since " out &&
	release h &&
	guardlock --status l >out && echo free >want && test_cmp want out
'

test_expect_success 'a lock inherited by a descendant: named as such once the pid is gone' '
	mkfifo kid.fifo &&
	timeout 20 guardlock l sh -c "(read _ <kid.fifo) & echo \$! >kid.pid; echo \$\$ >parent" &&
	pid=$(cat parent) &&
	test_expect_code 75 timeout 20 guardlock -n l true 2>err &&
	test_grep "^guardlock: l: busy: held by a descendant that inherited it from pid $pid \(sh, now gone\) on $(hostname) since " err &&
	test_expect_code 1 guardlock --status l >out &&
	test_grep "inherited it from pid $pid " out &&
	timeout 20 sh -c "echo >kid.fifo" &&
	timeout 20 guardlock l true
'

test_expect_success 'a stale record is not believed: flock(1) holds it now' '
	guardlock l true &&
	test_grep "^cmd true\$" l &&
	hold f flock l &&
	test_expect_code 75 timeout 20 guardlock -n l true 2>err &&
	test_grep "^guardlock: l: busy: held by pid $(cat f.pid) \(flock\), no holder record, running since [0-9-]+ [0-9:]+ \([0-9]+s ago\)\$" err &&
	release f
'

test_expect_success 'a forged or garbled record is not believed either' '
	for rec in "guardlock holder record 1\npid 1\nstart 1\nhost elsewhere\nsince 0\ncmd rm -rf /\nend\n" \
	    "guardlock holder record 1\npid 99999999999\nhost h\nsince 1\ncmd x\nend\n" \
	    "guardlock holder record 1\npid 1\nhost h\033[2J\nsince 1\ncmd x\nend\n" \
	    "guardlock holder record 1\npid 1\nhost h\nsince 1\ncmd x\n"; do
		printf "$rec" >forged.lock && chmod 600 forged.lock &&
		hold f flock forged.lock &&
		test_expect_code 75 timeout 20 guardlock -n forged.lock true 2>err &&
		test_grep "^guardlock: forged.lock: busy: held by pid $(cat f.pid) \(flock\), no holder record, running since .* ago\)\$" err &&
		release f || exit 1
	done
'

test_expect_success '-w gives up after about that long' '
	hold h guardlock l &&
	t0=$(date +%s%N) &&
	test_expect_code 75 timeout 30 guardlock -w 0.5 l touch ran 2>err &&
	t1=$(date +%s%N) &&
	test ! -e ran &&
	ms=$(( (t1 - t0) / 1000000 )) && echo "gave up after $ms ms" &&
	test "$ms" -ge 450 &&
	test_grep "busy: held by pid $(cat h.pid) " err &&
	release h
'

test_expect_success '-w 0 is -n' '
	hold h guardlock l &&
	test_expect_code 75 timeout 20 guardlock -w 0 l touch ran 2>err &&
	test ! -e ran &&
	release h
'

test_expect_success '-w succeeds when the holder leaves in time' '
	rm -f w.err ran &&
	hold h guardlock l || exit 1
	guardlock -v -w 60 l touch ran 2>w.err &
	w=$! &&
	wait_grep ": l: waiting: held by pid " w.err &&
	test ! -e ran &&
	release h &&
	wait $w &&
	test -e ran &&
	test_grep ": l: acquired an exclusive lock after [0-9.]+ s$" w.err
'

test_expect_success 'by default it waits as long as it takes' '
	rm -f w.err ran &&
	hold h guardlock l || exit 1
	guardlock -v l touch ran 2>w.err &
	w=$! &&
	wait_grep ": l: waiting" w.err &&
	release h &&
	wait $w && test -e ran
'

test_expect_success 'SIGTERM while waiting ends guardlock, the command not run' '
	rm -f w.err ran &&
	hold h guardlock l || exit 1
	guardlock -v l touch ran 2>w.err &
	w=$! && echo $w >w.pid &&
	wait_grep ": l: waiting" w.err &&
	kill -TERM $w &&
	{ wait $w; st=$?; } &&
	test $st -eq 143 && test ! -e ran &&
	release h && test ! -e ran
'

test_expect_success 'SIGINT while waiting ends guardlock, the command not run' '
	rm -f w.err ran &&
	hold h guardlock l || exit 1
	env --default-signal=INT guardlock -v l touch ran 2>w.err &
	w=$! && echo $w >w.pid &&
	wait_grep ": l: waiting" w.err &&
	kill -INT $w &&
	{ wait $w; st=$?; } &&
	test $st -eq 130 && test ! -e ran &&
	release h && test ! -e ran
'

test_expect_success 'flock(1) holds: guardlock is busy, then gets it when flock(1) leaves' '
	rm -f w.err ran &&
	hold f flock l &&
	test_expect_code 75 timeout 20 guardlock -n l true 2>err || exit 1
	guardlock -v -w 60 l touch ran 2>w.err &
	w=$! &&
	wait_grep ": l: waiting" w.err &&
	release f && wait $w && test -e ran
'

test_expect_success 'guardlock holds: flock(1) is busy, then gets it when guardlock leaves' '
	rm -f w.err ran &&
	hold h guardlock l &&
	test_expect_code 1 timeout 20 flock -n l true &&
	test_expect_code 1 timeout 20 flock -w 0.2 l true || exit 1
	flock -w 60 l touch ran &
	w=$! &&
	release h && wait $w && test -e ran
'

test_expect_success 'the same on a directory, both ways' '
	mkdir d && chmod 700 d &&
	hold h guardlock d &&
	test_expect_code 1 timeout 20 flock -n d true &&
	release h &&
	hold f flock d &&
	test_expect_code 75 timeout 20 guardlock -n d true &&
	release f &&
	test -z "$(ls -A d)"
'

test_expect_success 'shared locks run side by side, with flock -s too, and block an exclusive one' '
	hold s1 guardlock -s l &&
	hold s2 guardlock -s -n l &&
	timeout 20 flock -s -n l true &&
	test_expect_code 75 timeout 20 guardlock -n l true 2>err &&
	test_grep "^guardlock: l: busy: held shared by pid ($(cat s1.pid)|$(cat s2.pid)) \(sh\) and 1 other, running since .* \([0-9]+s ago\)\$" err &&
	test_expect_code 75 timeout 20 guardlock -x -n l true 2>err &&
	test_expect_code 1 guardlock --status l >out &&
	test_grep "^held shared by " out &&
	release s1 && release s2 &&
	timeout 20 guardlock -n l true
'

test_expect_success 'an exclusive holder blocks shared contenders, guardlock and flock -s' '
	hold h guardlock l &&
	test_expect_code 75 timeout 20 guardlock -s -n l true 2>err &&
	test_expect_code 1 timeout 20 flock -s -n l true &&
	release h
'

test_expect_success 'a holder killed with SIGKILL frees the lock at once' '
	rm -f w.err ran &&
	hold h guardlock l || exit 1
	guardlock -v -w 60 l touch ran 2>w.err &
	w=$! &&
	wait_grep ": l: waiting" w.err &&
	kill -KILL "$(cat h.pid)" &&
	wait $w && test -e ran &&
	timeout 20 guardlock -n l true
'

test_expect_success 'a lock this process tree already holds: the nested run goes ahead' '
	timeout 20 guardlock l sh -c "exec guardlock -n l echo nested" >out 2>err &&
	echo nested >want && test_cmp want out && test ! -s err &&
	timeout 20 guardlock l guardlock l true &&
	timeout 20 guardlock l guardlock -s -n l true &&
	timeout 20 guardlock -s l guardlock -s -n l true &&
	timeout 20 flock l guardlock -n l true &&
	timeout 20 guardlock -v l guardlock -v -n l true 2>err &&
	test_grep ": l: already held by this process \(descriptor [0-9]+\)$" err
'

test_expect_success 'held shared, asked exclusive by the same process tree: refused, not a deadlock' '
	rm -f ran &&
	test_expect_code 125 timeout 20 guardlock -s l guardlock l touch ran 2>err &&
	test ! -e ran &&
	test_grep "^guardlock: l: this process already holds it shared \(descriptor [0-9]+\): an exclusive lock would wait for itself$" err
'

test_expect_success 'only a held descriptor on this file counts, not GUARDLOCK_FD or another lock' '
	test_expect_code 75 timeout 20 guardlock l sh -c "eval \"guardlock -n -q l true \$GUARDLOCK_FD>&-\"" &&
	hold h guardlock l &&
	test_expect_code 75 timeout 20 guardlock other.lock guardlock -n -q l true &&
	test_expect_code 75 timeout 20 env GUARDLOCK_FD=0 guardlock -n -q l true &&
	release h
'

# Under valgrind fewer: each contender costs a second of CPU there.
storm=50
wrapped && storm=12
test_expect_success "lock storm: $storm concurrent -n contenders on a new file, never two inside" '
	mkdir ready &&
	i=0 &&
	while [ $i -lt $storm ]; do
		sh -c "touch ready/$i; while [ ! -e go ]; do sleep 0.01; done
			guardlock -n storm.lock sh -c \"mkdir inside || echo \\\$\\\$ >>overlap
				echo x >>entered; sleep 0.02; rmdir inside\"
			echo \$? >st.$i" &
		i=$((i + 1))
	done &&
	n=0 && while [ "$(ls ready | wc -l)" -lt $storm ] && [ $n -lt $((1000 * SLOW)) ]; do sleep 0.02; n=$((n + 1)); done &&
	touch go && wait &&
	test ! -e overlap && test ! -e inside &&
	cat st.* | sort | uniq -c &&
	test "$(cat st.* | grep -c -v -e "^0\$" -e "^75\$")" -eq 0 &&
	test "$(grep -l "^0\$" st.* | wc -l)" -eq "$(wc -l <entered)" &&
	test "$(wc -l <entered)" -ge 1 &&
	test "$(cat st.* | wc -l)" -eq $storm &&
	test "$(stat -c %a storm.lock)" = 600
'

test_expect_success 'a queue of 20 waiting contenders: no lost update' '
	echo 0 >counter &&
	hold h guardlock q.lock &&
	i=0 &&
	while [ $i -lt 20 ]; do
		guardlock -v q.lock sh -c "mkdir inside || echo \$\$ >>overlap
			n=\$(cat counter); echo \$((n + 1)) >counter.tmp; mv counter.tmp counter
			rmdir inside" 2>w.$i &
		i=$((i + 1))
	done &&
	i=0 &&
	while [ $i -lt 20 ]; do wait_grep ": q.lock: waiting" w.$i || exit 1; i=$((i + 1)); done &&
	echo 0 >want && test_cmp want counter &&
	release h &&
	wait &&
	echo 20 >want && test_cmp want counter &&
	test ! -e overlap
'

test_expect_success 'the lock file replaced while a contender waits: it locks the new file' '
	rm -f w.err &&
	hold h guardlock r.lock &&
	old=$(stat -c %i r.lock) || exit 1
	guardlock -v -w 60 r.lock sh -c "stat -L -c %i /proc/\$\$/fd/\$GUARDLOCK_FD >got
		flock -n r.lock true; echo \$? >newcomer" 2>w.err &
	w=$! &&
	wait_grep ": r.lock: waiting" w.err &&
	: >r.new && chmod 600 r.new && mv r.new r.lock &&
	new=$(stat -c %i r.lock) && test "$new" != "$old" &&
	release h &&
	wait $w &&
	echo "$new" >want && test_cmp want got &&
	echo 1 >want && test_cmp want newcomer &&
	test_grep ": r.lock: removed or replaced while we waited: locking it again$" w.err
'

test_expect_success 'the lock file removed while a contender waits: it creates and locks a new one' '
	rm -f w.err &&
	hold h guardlock r2.lock || exit 1
	guardlock -v -w 60 r2.lock sh -c "stat -L -c %i /proc/\$\$/fd/\$GUARDLOCK_FD >got" 2>w.err &
	w=$! &&
	wait_grep ": r2.lock: waiting" w.err &&
	rm r2.lock &&
	release h &&
	wait $w &&
	stat -c %i r2.lock >want && test_cmp want got &&
	test_grep "^cmd sh$" r2.lock
'

if wrapped; then
	test_skip 'a held descriptor above the limit' 'valgrind needs descriptors of its own'
else
test_expect_success 'a held descriptor above the open-file limit, or at 5000, still counts' '
	: >hi.lock && chmod 600 hi.lock &&
	timeout 20 sh -c "exec 7<hi.lock; flock -n 7 && ulimit -n 5 && exec guardlock hi.lock true" &&
	timeout 20 bash -c "ulimit -n 8192; exec 5000<hi.lock; flock -n 5000 && exec guardlock -n hi.lock true"
'
fi

test_expect_success 'flock(1) killed, its command holding on: that command is named, not an old record' '
	: >old.lock && chmod 600 old.lock && guardlock old.lock true &&
	test_grep "^cmd true$" old.lock && rm -f k.held && mkfifo k.go || exit 1
	flock old.lock sh -c "touch k.held; read _ <k.go" &
	f=$! && echo $f >k.pid &&
	wait_for k.held 20 &&
	kill -9 $f && wait $f 2>/dev/null
	test_expect_code 1 guardlock --status old.lock >out &&
	test_grep "^held by pid [0-9]+ \(sh\), no holder record, running since " out &&
	echo >k.go
'

test_done

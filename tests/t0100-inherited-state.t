#!/bin/sh
# Whatever state the programs inherit, they keep their promise: closed
# standard descriptors, an ignored SIGCHLD, signals ignored (nohup) or
# blocked by the caller, odd umasks, tight limits.
. "$(dirname "$0")/lib.sh"
need perl timeout gzip b2sum || skip_all 'perl, timeout, gzip and b2sum needed'

gen_data 300000 7 >data
echo "last night" | gzip >keep.gz

# sigcall 'PERL' CMD...: run CMD after PERL has set up the signal state;
# exec(2) keeps ignored signals and the mask, as a job runner's fork does.
# A script, not a function: in the background, $! is then CMD's own pid.
cat >sigcall <<'EOF'
#!/bin/sh
code=$1
shift
exec perl -MPOSIX -e "$code; exec { \$ARGV[0] } @ARGV or exit 127" "$@"
EOF
chmod +x sigcall
PATH=$SCRATCH:$PATH

unchanged()
{
	cmp keep.gz "$1"
}

test_expect_success 'SIGCHLD ignored by the caller: a failed producer is still a failure' '
	cp keep.gz out.gz &&
	test_expect_code 1 sigcall "\$SIG{CHLD} = q(IGNORE)" \
	    gzsafe --digest out.gz sh -c "echo half; exit 1" 2>err &&
	test_grep "^gzsafe: sh exited with status 1; out.gz left unchanged$" err &&
	unchanged out.gz && test ! -e out.gz.b2 &&
	test_expect_code 137 sigcall "\$SIG{CHLD} = q(IGNORE)" \
	    gzsafe --digest out.gz sh -c "echo half; kill -9 \$\$" 2>err &&
	test_grep "killed by signal 9; out.gz left unchanged$" err &&
	unchanged out.gz &&
	sigcall "\$SIG{CHLD} = q(IGNORE)" gzsafe --digest out.gz cat data &&
	gzip -dc out.gz | cmp - data
'

test_expect_success 'the producer gets SIGCHLD at its default, not ignored' '
	sigcall "\$SIG{CHLD} = q(IGNORE)" gzsafe out.gz sh -c "grep ^SigIgn /proc/self/status" &&
	gzip -dc out.gz >ign &&
	mask=$(sed "s/SigIgn:[[:space:]]*//" ign) &&
	test $(( 0x$mask & (1 << 16) )) -eq 0
'

if wrapped; then
	test_skip 'stdout and stderr closed' 'valgrind, not the program, would see the closed descriptors'
else
test_expect_success 'stdout and stderr closed: -v progress never lands in the archive' '
	gzsafe -v --digest -p 1 out.gz cat data >&- 2>&- &&
	gzip -t out.gz && gzip -dc out.gz | cmp - data &&
	b2sum out.gz | sed "s/ .*//" >want && cut -c1-128 out.gz.b2 >got && test_cmp want got &&
	cat data | gzsafe -v --digest -p 1 out2.gz >&- 2>&- &&
	gzip -dc out2.gz | cmp - data && gzip -t out2.gz
'
fi

if wrapped; then
	test_skip 'sumcheck with stdout and stderr closed' 'valgrind, not the program, would see the closed descriptors'
else
test_expect_success 'sumcheck with stdout and stderr closed: the sidecar is whole, nothing else written' '
	cp data d1 && sumcheck d1 >&- 2>&- &&
	b2sum d1 >want && test_cmp want d1.b2 &&
	sumcheck -c d1 >&- 2>&-
'
fi

if wrapped; then
	test_skip 'guardlock with 0, 1, 2 closed' 'valgrind, not the program, would see the closed descriptors'
else
test_expect_success 'guardlock with 0, 1, 2 closed: the lock descriptor is never one of them' '
	guardlock l sh -c "echo \$GUARDLOCK_FD >fd; readlink /proc/\$\$/fd/\$GUARDLOCK_FD >which" <&- >&- 2>&- &&
	test "$(cat fd)" -ge 3 && echo "$PWD/l" >want && test_cmp want which
'
fi

if wrapped; then
	test_skip 'stdin closed' 'valgrind, not the program, would see the closed descriptors'
else
test_expect_success 'stdin closed: pipe mode refuses, never commits an empty archive' '
	cp keep.gz out.gz && rm -f out.gz.b2 &&
	test_expect_code 125 gzsafe --digest out.gz <&- 2>err &&
	test_grep "^gzsafe: standard input: closed: nothing to compress; out.gz left unchanged$" err &&
	unchanged out.gz && test ! -e out.gz.b2 &&
	test_expect_code 2 sumcheck -p <&- >out 2>err && test ! -s out &&
	test_grep "^sumcheck: standard input: Bad file descriptor$" err &&
	test_expect_code 2 gzsafe -t - <&- >out 2>err && test ! -s out &&
	test_expect_code 2 sumcheck -c - <&- 2>err
'
fi

if wrapped; then
	test_skip 'wrap mode with stdin closed' 'valgrind, not the program, would see the closed descriptors'
else
test_expect_success 'wrap mode with stdin closed: the producer gets /dev/null' '
	gzsafe out.gz sh -c "cat; echo end" <&- && echo end >want &&
	gzip -dc out.gz >got && test_cmp want got
'
fi

# The producer tells it is running, then waits for the test.
cat >slow <<'EOF'
#!/bin/sh
cat data
touch started
read _ <gate
echo tail
EOF
chmod +x slow

test_expect_success 'nohup: SIGHUP ignored at start stays ignored, for gzsafe and its producer' '
	rm -f started && mkfifo gate &&
	{ nohup gzsafe --digest out.gz ./slow >/dev/null 2>err & pid=$!; } &&
	wait_for started 20 &&
	kill -HUP $pid && pkill -HUP -P $pid &&
	echo >gate && wait $pid &&
	{ cat data; echo tail; } >want && gzip -dc out.gz | cmp - want &&
	rm gate
'

test_expect_success 'without nohup SIGHUP ends gzsafe and the producer: 129, nothing committed' '
	cp keep.gz out.gz && rm -f out.gz.b2 started && mkfifo gate &&
	{ env --default-signal=HUP gzsafe --digest out.gz ./slow 2>err & pid=$!; } &&
	wait_for started 20 &&
	kill -HUP $pid &&
	{ wait $pid; st=$?; } && test $st -eq 129 &&
	unchanged out.gz && test ! -e out.gz.b2 &&
	timeout 5 sh -c "echo >gate" 2>/dev/null; rm -f gate; :
'

test_expect_success 'nohup sumcheck: SIGHUP does not stop it' '
	cp data big && mkfifo pause &&
	# Not with_shim: a function in the background is a subshell, and $! its pid.
	{ env LD_PRELOAD="$TESTS/shim.so" SHIM_PAUSE_FILE=big SHIM_PAUSE_FIFO=pause \
	    ASAN_OPTIONS=verify_asan_link_order=0 nohup sumcheck big >/dev/null 2>&1 & pid=$!; } &&
	timeout 20 sh -c "exec 3>pause; kill -HUP $pid" &&
	wait $pid && b2sum big >want && test_cmp want big.b2
'

if wrapped; then
	test_skip 'SIGTERM blocked by the caller' 'valgrind, not the program, gets the signal'
else
test_expect_success 'SIGTERM blocked by the caller: gzsafe still dies of it cleanly; the producer keeps the mask' '
	cp keep.gz out.gz && rm -f out.gz.b2 started && mkfifo gate2 &&
	cat >slow2 <<-EOF &&
	#!/bin/sh
	grep ^SigBlk /proc/self/status >blk
	touch started
	read _ <gate2
	EOF
	chmod +x slow2 &&
	{ sigcall "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTERM))" \
	    gzsafe --digest out.gz ./slow2 2>err & pid=$!; } &&
	wait_for started 20 &&
	test "$(cat /proc/$pid/comm)" = gzsafe &&
	kill -TERM $pid &&
	{ wait $pid; st=$?; } && test $st -eq 143 &&
	unchanged out.gz && test ! -e out.gz.b2 &&
	mask=$(sed "s/SigBlk:[[:space:]]*//" blk) &&
	test $(( 0x$mask & (1 << 14) )) -ne 0 &&
	timeout 5 sh -c "echo >gate2" 2>/dev/null; ls -A | grep -v "^\." >/dev/null
'
fi

test_expect_success 'umask 077 and 0: new files as the umask says; lock files private either way' '
	rm -f n1.gz n2.gz &&
	(umask 077 && cat data | gzsafe --digest n1.gz && guardlock u1.lock true) &&
	test "$(stat -c %a n1.gz):$(stat -c %a n1.gz.b2):$(stat -c %a u1.lock)" = 600:600:600 &&
	(umask 0 && cat data | gzsafe --digest n2.gz && guardlock u2.lock true) &&
	test "$(stat -c %a n2.gz):$(stat -c %a n2.gz.b2):$(stat -c %a u2.lock)" = 666:666:600
'

if instrumented; then
	test_skip 'too little memory for the threads' 'ASan and valgrind need the address space ulimit -v takes'
else
test_expect_success 'too little memory for the threads: a clear line, the producer never started' '
	cp keep.gz out.gz && rm -f ran &&
	test_expect_code 125 sh -c "ulimit -v 60000; exec gzsafe -p 64 -b 1024 --digest out.gz touch ran" 2>err &&
	test_grep "^gzsafe: cannot (allocate|start a thread).*; out.gz left unchanged$" err &&
	test ! -e ran && unchanged out.gz && test ! -e out.gz.b2
'
fi

if wrapped; then
	test_skip 'too few descriptors' 'valgrind needs descriptors of its own'
else
test_expect_success 'too few descriptors: refused with a reason, nothing committed' '
	cp keep.gz out.gz &&
	test_expect_code 125 sh -c "ulimit -n 6; exec gzsafe --digest out.gz cat data" 2>err &&
	test_grep "left unchanged$" err && unchanged out.gz && test ! -e out.gz.b2 &&
	ls -A | grep "^\.out" >leftover; test ! -s leftover
'
fi

if instrumented; then
	test_skip 'memory for --verify' 'ASan and valgrind need the address space ulimit -v takes'
else
test_expect_success 'memory for --verify too is had before the producer starts' '
	for v in 60000 80000 100000 120000; do
		cp keep.gz out.gz &&
		(ulimit -v $v; exec gzsafe -p 8 -b 1024 --verify --digest out.gz \
		    sh -c "echo STARTED >&2; seq 300000") 2>err
		if grep -q STARTED err; then
			test_grep "^STARTED$" err && test "$(wc -l <err)" -eq 1 || exit 1
		else
			cmp keep.gz out.gz || exit 1
		fi
	done
'
fi

test_expect_success 'stderr a pipe whose reader left: -v never kills gzsafe, nor makes a commit look failed' '
	rm -f out.gz go9 && mkfifo ep go9 &&
	{ gzsafe -v out.gz sh -c "read _ <go9 && cat data" 2>ep & pid=$!; } &&
	exec 8<ep && exec 8<&- &&
	timeout 20 sh -c "echo >go9" &&
	wait $pid && gzip -dc out.gz | cmp - data
'

if wrapped; then
	test_skip 'a file size limit' 'valgrind writes its log under the limit too'
else
test_expect_success 'a file size limit: guardlock warns that its record did not fit, and runs the command' '
	rm -f fs.lock &&
	{ (ulimit -f 0; exec guardlock fs.lock echo ran) 2>&1; } | cat >out &&
	printf "guardlock: fs.lock: holder record: write: File too large\nran\n" >want &&
	test_cmp want out
'
fi

test_expect_success 'an inherited non-blocking stdin is waited on, not an error' '
	python3 -c "import os,fcntl,subprocess,sys
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
p = subprocess.Popen([\"gzsafe\", \"out.gz\"], stdin=r)
os.close(r)
os.write(w, open(\"data\", \"rb\").read())
os.close(w)
sys.exit(p.wait())" &&
	gzip -dc out.gz | cmp - data &&
	gzip -c data | python3 -c "import os,fcntl,subprocess,sys
fcntl.fcntl(0, fcntl.F_SETFL, os.O_NONBLOCK)
sys.exit(subprocess.call([\"gzsafe\", \"-t\", \"-q\", \"-\"]))"
'

test_expect_success 'a name with a newline cannot forge a second line of a message' '
	test_expect_code 125 gzsafe "$(printf "nodir/x\ngzsafe: forged: OK")" true 2>err &&
	test "$(wc -l <err)" -eq 1 && ! grep -q "^gzsafe: forged" err
'

test_expect_success 'the caller'"'"'s alarm: guardlock -w does not swallow it' '
	: >al.lock && chmod 600 al.lock &&
	test_expect_code 142 perl -e "alarm 1; exec @ARGV" guardlock -w 30 al.lock sleep 5 &&
	perl -e "alarm 30; exec @ARGV" guardlock -w 5 al.lock true
'

# guardlock hands its command the signal state it was given, but for
# SIGCHLD; sumcheck unblocks what it catches, like gzsafe.
if wrapped; then
	test_skip 'guardlock and sumcheck: inherited signal state' 'valgrind, not the program, would be looked at'
else
test_expect_success 'guardlock: SIGCHLD ignored is reset for the command; SIGHUP ignored and SIGTERM blocked pass on' '
	: >g.lock && chmod 600 g.lock &&
	sigcall "\$SIG{CHLD} = q(IGNORE); \$SIG{HUP} = q(IGNORE); sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTERM))" \
	    guardlock g.lock grep -E "^Sig(Ign|Blk):" /proc/self/status >st &&
	ign=$(sed -n "s/^SigIgn:[[:space:]]*//p" st) && blk=$(sed -n "s/^SigBlk:[[:space:]]*//p" st) &&
	test $(( 0x$ign & (1 << 16) )) -eq 0 &&
	test $(( 0x$ign & 1 )) -ne 0 &&
	test $(( 0x$blk & (1 << 14) )) -ne 0
'

test_expect_success 'sumcheck with SIGTERM blocked by the caller: SIGTERM still ends it, 143' '
	rm -f sf && mkfifo sf &&
	{ sigcall "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTERM))" sumcheck -p - <sf >sout 2>serr & pid=$!; } &&
	exec 7>sf && echo some >&7 &&
	n=0 && while [ "$(cat /proc/$pid/comm 2>/dev/null)" != sumcheck ] && [ $n -lt $((400 * SLOW)) ]; do
		sleep 0.05; n=$((n + 1))
	done &&
	kill -TERM $pid &&
	exec 7>&- &&
	{ wait $pid; st=$?; } && test $st -eq 143 &&
	test ! -s sout
'
fi

# A SIGALRM the caller blocked and left pending is theirs: it neither ends
# -w's wait at once nor is lost; the command gets it as it came.
if wrapped; then
	test_skip 'a SIGALRM pending for the caller' 'the wrapper shell, not the program, would get it'
else
test_expect_success 'a SIGALRM pending and blocked: not the -w deadline, and handed on to the command' '
	: >pa.lock && chmod 600 pa.lock &&
	pend="sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGALRM)); kill q(ALRM), \$\$" &&
	sigcall "$pend" guardlock -w 5 pa.lock grep -E "^(SigBlk|SigPnd|ShdPnd):" /proc/self/status >st &&
	cat st &&
	blk=$(sed -n "s/^SigBlk:[[:space:]]*//p" st) && test $(( 0x$blk & (1 << 13) )) -ne 0 &&
	shd=$(sed -n "s/^ShdPnd:[[:space:]]*//p" st) && test $(( 0x$shd & (1 << 13) )) -ne 0 &&
	hold h guardlock pa.lock &&
	test_expect_code 75 sigcall "$pend" guardlock -v -w 1 pa.lock true 2>err &&
	test_grep ": pa.lock: gave up after [1-9][0-9]*\.[0-9]+ s$" err &&
	release h
'

test_expect_success 'the caller'"'"'s alarm ignored or blocked: it does not cut -w short' '
	: >ab.lock && chmod 600 ab.lock &&
	hold h guardlock ab.lock &&
	for how in "\$SIG{ALRM} = q(IGNORE)" "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGALRM))"; do
		test_expect_code 75 sigcall "$how; alarm 1" guardlock -v -w 2 ab.lock true 2>err &&
		test_grep ": ab.lock: gave up after [2-9]\.[0-9]+ s$" err || exit 1
	done &&
	release h
'

test_expect_success 'a SIGALRM another process sends while -w waits is no deadline: handed on to the command' '
	: >sa.lock && chmod 600 sa.lock &&
	hold h guardlock sa.lock &&
	{ sigcall "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGALRM))" \
	    guardlock -v -w 60 sa.lock grep ^ShdPnd: /proc/self/status >st 2>w.err & w=$!; } &&
	wait_grep ": sa.lock: waiting" w.err &&
	kill -ALRM $w &&
	release h &&
	wait $w &&
	test_grep ": sa.lock: acquired an exclusive lock" w.err &&
	shd=$(sed -n "s/^ShdPnd:[[:space:]]*//p" st) && test $(( 0x$shd & (1 << 13) )) -ne 0
'

test_expect_success 'a SIGALRM sent while -w waits, at its default: guardlock dies of it at once, as without -w' '
	: >sd.lock && chmod 600 sd.lock && rm -f ran &&
	hold h guardlock sd.lock &&
	{ guardlock -v -w 600 sd.lock touch ran 2>w.err & w=$!; } &&
	wait_grep ": sd.lock: waiting" w.err &&
	kill -ALRM $w &&
	n=0 && while kill -0 $w 2>/dev/null && [ $n -lt $((200 * SLOW)) ]; do sleep 0.05; n=$((n + 1)); done &&
	{ ! kill -0 $w 2>/dev/null || { kill -9 $w; echo "still waiting"; exit 1; }; } &&
	{ wait $w; st=$?; } && test $st -eq 142 && test ! -e ran &&
	release h
'

# -w waits on R; R is replaced by a file this process already holds (fd 3):
# the nested-lock path runs the command, which must not inherit our timer.
if need python3 flock; then
test_expect_success 'the lock file replaced, while -w waits, by one the caller holds: no timer of ours is left' '
	: >R && : >B && chmod 600 R B &&
	hold h guardlock R &&
	{ sh -c "exec 3<B && flock 3 && exec guardlock -v -w 60 R python3 -c \"import signal; print(signal.getitimer(signal.ITIMER_REAL))\"" >it 2>w.err & w=$!; } &&
	wait_grep ": R: waiting" w.err &&
	mv B R &&
	release h &&
	wait $w &&
	test_grep ": R: already held by this process" w.err &&
	echo "(0.0, 0.0)" >want && test_cmp want it
'
else
	test_skip 'the lock file replaced by one the caller holds' 'python3 and flock(1) needed'
fi
fi

if need unshare && unshare -m true 2>/dev/null; then
	test_expect_success 'no /dev/null to fill a closed descriptor: nothing runs' '
		rm -f ran &&
		test_expect_code 125 unshare -m sh -c "mount -t tmpfs none /dev &&
		    exec guardlock $SCRATCH/nd.lock touch $SCRATCH/ran <&- >&- 2>&-" &&
		test ! -e ran
	'
else
	test_skip 'no /dev/null' 'unshare -m cannot run here'
fi

test_done

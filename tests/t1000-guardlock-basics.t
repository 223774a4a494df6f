#!/bin/sh
# guardlock without contention: exit statuses, usage, the descriptor the
# command inherits, the holder record, -c, -v, directories, file modes.
. "$(dirname "$0")/lib.sh"

# Under tools/valgrind.sh guardlock is a wrapper whose valgrind keeps a log
# descriptor of its own: descriptor numbers hold only for the real binary.
real=
[ "$(command -v guardlock)" = "$TOP/guardlock" ] && real=1

test_expect_success 'the command runs and its own status passes through' '
	guardlock l sh -c "echo ran >out; exit 7"
	test $? -eq 7 &&
	echo ran >want && test_cmp want out &&
	guardlock l true &&
	test_expect_code 1 guardlock l false
'

test_expect_success 'a command killed by a signal: the shell sees 128+N' '
	guardlock l sh -c "kill -TERM \$\$"
	test $? -eq 143
'

test_expect_success 'a command that is not found: 127' '
	test_expect_code 127 guardlock l no-such-command-here 2>err &&
	test_grep "^guardlock: no-such-command-here: No such file or directory$" err
'

test_expect_success 'a command that cannot be executed: 126' '
	printf "#!/bin/sh\necho no\n" >script && chmod 644 script &&
	test_expect_code 126 guardlock l ./script 2>err &&
	test_grep "^guardlock: ./script: Permission denied$" err &&
	test_expect_code 126 guardlock l . 2>err
'

test_expect_success 'guardlock execs: the command has guardlock'"'"'s pid' '
	sh -c "echo \$\$ >outer; exec guardlock l sh -c \"echo \\\$\\\$ >inner\"" &&
	test_cmp outer inner
'

if [ -n "$real" ]; then
test_expect_success 'the lock descriptor is the only one added, fd 3, named in GUARDLOCK_FD' '
	sh -c "ls /proc/\$\$/fd" | sort >without &&
	guardlock l sh -c "ls /proc/\$\$/fd" | sort >with &&
	comm -13 without with >added &&
	echo 3 >want && test_cmp want added &&
	guardlock l sh -c "echo \$GUARDLOCK_FD; readlink /proc/\$\$/fd/3" >out &&
	printf "3\n%s/l\n" "$PWD" >want && test_cmp want out
'

test_expect_success 'with stdin closed the lock still lands above 2' '
	guardlock l sh -c "echo \$GUARDLOCK_FD; readlink /proc/\$\$/fd/0" <&- >out &&
	printf "3\n/dev/null\n" >want && test_cmp want out
'
else
	test_skip "descriptor numbers" "guardlock is a wrapper here"
fi

test_expect_success 'the command holds the lock: flock(1) cannot take it meanwhile' '
	guardlock l sh -c "flock -n l true; echo \$? >st" &&
	echo 1 >want && test_cmp want st &&
	flock -n l true
'

test_expect_success 'a new lock file is private (0600) whatever the umask; 0644 with --public' '
	(umask 077 && guardlock new.lock true) &&
	test "$(stat -c %a new.lock)" = 600 &&
	(umask 0 && guardlock new2.lock true) &&
	test "$(stat -c %a new2.lock)" = 600 &&
	(umask 077 && guardlock --public new3.lock true) &&
	test "$(stat -c %a new3.lock)" = 644
'

test_expect_success 'the holder record: pid, start time, host, the command name alone' '
	guardlock rec.lock sh -c "echo \$\$ >pid; cat rec.lock >during" &&
	pid=$(cat pid) &&
	test "$(head -1 during)" = "guardlock holder record 1" &&
	test_grep "^pid $pid\$" during &&
	test_grep "^start [1-9][0-9]*\$" during &&
	test_grep "^host $(hostname)\$" during &&
	test_grep "^since [1-9][0-9]*\$" during &&
	test_grep "^cmd sh\$" during &&
	! grep -q "echo" during &&
	test "$(stat -c %s rec.lock)" = 1024
'

test_expect_success 'the record'"'"'s start is field 22 of /proc/PID/stat' '
	guardlock rec.lock sh -c "sed \"s/.*) //\" /proc/\$\$/stat | cut -d\" \" -f20 >want; cat rec.lock >during" &&
	echo "start $(cat want)" >want2 &&
	grep "^start " during >got && test_cmp want2 got
'

test_expect_success 'a shorter record replaces a longer one without a stale tail' '
	guardlock rec2.lock sh -c ": $(printf "%0300d" 0)" &&
	guardlock rec2.lock true &&
	test "$(stat -c %s rec2.lock)" = 1024 &&
	test_grep "^cmd true\$" rec2.lock &&
	! grep -q 00000000 rec2.lock
'

test_expect_success 'a long or binary program name is cut and escaped in the record, no directory' '
	seg=$(printf "%0200d" 1) && mkdir -p "bin/$seg" &&
	long=bin/$seg/$(printf "\001%.0s" $(seq 200)) && cp /bin/true "$long" &&
	guardlock rec3.lock "$long" "$(printf "a\tb\033c")" &&
	test "$(stat -c %s rec3.lock)" = 1024 &&
	test_grep "^cmd [\\\\x01]{636}\.\.\.\$" rec3.lock &&
	odd=bin/$(printf "a\tb\033c") && cp /bin/true "$odd" &&
	guardlock rec3.lock "$odd" &&
	test_grep "^cmd '"'"'a\\\\x09b\\\\x1bc'"'"'\$" rec3.lock
'

test_expect_success 'a lock file holding other data is locked but never written' '
	printf "#!/bin/sh\necho my script\n" >self.sh && chmod 600 self.sh && cp self.sh keep &&
	guardlock self.sh sh -c "flock -n self.sh true; echo \$? >st" &&
	echo 1 >want && test_cmp want st &&
	test_cmp keep self.sh
'

test_expect_success 'shared locks write no record' '
	guardlock -s sh.lock true &&
	test -f sh.lock && test ! -s sh.lock
'

test_expect_success 'a directory as LOCKFILE: locked read-only, nothing written into it' '
	mkdir d && chmod 700 d &&
	guardlock d sh -c "flock -n d true; echo \$? >st; readlink /proc/\$\$/fd/\$GUARDLOCK_FD >which" &&
	echo 1 >want && test_cmp want st &&
	echo "$PWD/d" >want && test_cmp want which &&
	test -z "$(ls -A d)" &&
	guardlock -s d true &&
	test -z "$(ls -A d)"
'

test_expect_success '-c runs /bin/sh -c SHELL-COMMAND' '
	guardlock l -c "echo \$0 a b | tr a-z A-Z; exit 3" >out
	test $? -eq 3 &&
	echo "SH A B" >want && test_cmp want out &&
	guardlock l --command "echo ok" >out &&
	echo ok >want && test_cmp want out &&
	guardlock -n -w 1 -E 9 -x l -c "readlink /proc/\$\$/fd/\$GUARDLOCK_FD" >out &&
	echo "$PWD/l" >want && test_cmp want out
'

test_expect_success '-c takes exactly one shell command' '
	test_expect_code 125 guardlock l -c "echo a" extra >out 2>err &&
	test ! -s out && test_grep "^usage: guardlock " err &&
	test_expect_code 125 guardlock l -c 2>err &&
	test_grep "^usage: guardlock " err
'

test_expect_success 'options after LOCKFILE belong to the command, as in flock(1)' '
	guardlock l echo -n x >out &&
	printf x >want && test_cmp want out
'

for bad in "-E 256" "-E -1" "-E x" "-w abc" "-w -1" "-w 1e10" "-w inf" "-w nan" "-w 5s" "-w ''" "-E"; do
	test_expect_success "bad option '$bad': 125 with usage, the command not run" "
		test_expect_code 125 guardlock $bad l touch ran >out 2>err &&
		test ! -e ran && test ! -s out &&
		test_grep '^usage: guardlock ' err
	"
done

test_expect_success 'a bad option value is named' '
	test_expect_code 125 guardlock -E 256 l true 2>err &&
	test_grep "^guardlock: -E: 256: not a number in 0\.\.255$" err &&
	test_expect_code 125 guardlock -w abc l true 2>err &&
	test_grep "^guardlock: -w: abc: not a number of seconds$" err
'

test_expect_success 'missing operands: 125 with usage (2 with --status, a checker)' '
	test_expect_code 125 guardlock 2>err && test_grep "^usage: guardlock " err &&
	test_expect_code 125 guardlock l 2>err && test_grep "^usage: guardlock " err &&
	test_expect_code 2 guardlock --status 2>err && test_grep "^usage: guardlock " err &&
	test_expect_code 2 guardlock --status a b 2>err &&
	test_expect_code 2 guardlock --status -n l 2>err &&
	test_expect_code 2 guardlock -q --status l 2>err
'

test_expect_success 'flock(1)'"'"'s spellings: -e for -x; -w as strtod(3) reads it' '
	guardlock -e l true && guardlock -s -e -n l true &&
	for w in " 5" 1e3 0x10 .5 5.; do guardlock -w "$w" l true || exit 1; done
'

test_expect_success 'a script may lock itself and run: the lock file is opened read-only' '
	printf "#!/bin/sh\necho ran \$1\n" >self.sh && chmod 700 self.sh &&
	guardlock -s self.sh ./self.sh a >out && echo "ran a" >want && test_cmp want out &&
	guardlock self.sh ./self.sh b >out && echo "ran b" >want && test_cmp want out
'

test_expect_success 'flock(1)'"'"'s boilerplate for a script that locks itself' '
	cat >boiler.sh <<-\EOF &&
	#!/bin/sh
	[ "${FLOCKER}" != "$0" ] && exec env FLOCKER="$0" guardlock -en "$0" "$0" "$@" || :
	flock -n "$0" true && echo unlocked || echo locked
	EOF
	chmod 700 boiler.sh && ./boiler.sh >out &&
	echo locked >want && test_cmp want out
'

test_expect_success 'descriptor form: lock the caller'"'"'s descriptor, exit 0; -u releases it' '
	(umask 077 && exec 9>fd.lock && guardlock -n 9 &&
	    test_expect_code 1 flock -n fd.lock true 9>&- &&
	    test_expect_code 75 sh -c "guardlock -n fd.lock true" 9>&- &&
	    guardlock -u 9 && flock -n fd.lock true 9>&-) &&
	flock -n fd.lock true
'

# flock(1)'s pidfile idiom: the file behind the descriptor is the caller's,
# and what it writes there is all it holds. A waiter still learns the
# holder, from /proc.
test_expect_success 'descriptor form: no record in the caller'"'"'s file; busy names the holding shell' '
	rm -f held && mkfifo go2 || exit 1
	sh -c "umask 077 && exec 9>fd2.lock && guardlock 9 && echo \$\$ >&9 && echo \$\$ >shellpid && touch held && read _ <go2" &
	wait_for held 20 &&
	echo "$(cat shellpid)" >want && test_cmp want fd2.lock &&
	test_expect_code 75 guardlock -n fd2.lock true 2>err &&
	test_grep "^guardlock: fd2\.lock: busy: held by pid $(cat shellpid) " err &&
	test_expect_code 1 guardlock --status fd2.lock >out &&
	test_grep "^held by pid $(cat shellpid) \(sh\), no holder record, running since " out &&
	echo >go2 && wait &&
	guardlock --status fd2.lock >out && echo free >want && test_cmp want out
'

test_expect_success 'descriptor form: busy is 75 (or -E), a bad descriptor 125, a 0644 file refused' '
	rm -f held && mkfifo go || exit 1
	guardlock fd3.lock sh -c "touch held; read _ <go" &
	wait_for held 20 &&
	(exec 9<fd3.lock && test_expect_code 75 guardlock -n 9 2>err &&
	    test_grep "^guardlock: .*fd3\\.lock: busy: held by pid " err &&
	    test_expect_code 7 guardlock -n -E 7 9 2>/dev/null) &&
	echo >go && wait &&
	test_expect_code 125 guardlock 9 9>&- 2>err &&
	test_grep "^guardlock: descriptor 9: Bad file descriptor$" err &&
	(umask 022 && exec 9>pub.lock && test_expect_code 125 guardlock -n 9 2>err &&
	    test_grep "other users may open it \\(mode 0644\\)" err) &&
	test_expect_code 125 guardlock -u 2>err && test_grep "^usage: guardlock" err
'

test_expect_success 'flock(1) long options are accepted' '
	guardlock --exclusive --nonblock --conflict-exit-code 3 --timeout 1 l true &&
	guardlock --shared --nb --wait 0.5 l true &&
	guardlock --nonblocking -F --no-fork l true &&
	guardlock --quiet --verbose l true 2>err &&
	test_grep "acquired" err
'

test_expect_success '-v: timestamped lines on stderr' '
	guardlock -v l true 2>err &&
	test_grep "^guardlock: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}: l: acquired an exclusive lock after [0-9]+\.[0-9]{3} s$" err &&
	guardlock -v -s l true 2>err &&
	test_grep ": l: acquired a shared lock after " err
'

test_expect_success 'silent on success' '
	guardlock l true >out 2>err &&
	test ! -s out && test ! -s err
'

test_expect_success '--status on a free lock: free, 0, the file untouched' '
	guardlock st.lock true &&
	cp st.lock keep &&
	guardlock --status st.lock >out 2>err &&
	echo free >want && test_cmp want out && test ! -s err &&
	test_cmp keep st.lock
'

test_expect_success '--status never creates the file: 2 when it is missing' '
	test_expect_code 2 guardlock --status nothere >out 2>err &&
	test ! -e nothere && test ! -s out &&
	test_grep "^guardlock: nothere: stat: No such file or directory$" err
'

test_expect_success '--status of a directory' '
	mkdir sd && guardlock --status sd >out &&
	echo free >want && test_cmp want out
'

test_done

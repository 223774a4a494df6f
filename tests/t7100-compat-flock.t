#!/bin/sh
# guardlock as a drop-in for util-linux flock(1): the cases of util-linux's
# own suite (tests/ts/flock/flock, close, unlock) and the examples of the
# flock(1) man page (sys-utils/flock.1.adoc), run with guardlock. Inputs,
# command lines and verdicts are theirs; the scripts are ours. Where
# guardlock differs on purpose, the case asserts guardlock's documented
# behaviour and says why:
#   - busy is 75, not 1 (the suite's exit table keeps "no" apart from a
#     command's own 1); -E changes it as in flock(1);
#   - lock files are private: created 0600, and one that others may open is
#     refused (125) unless --public, since whoever can open it can hold the
#     lock forever; the ported cases make their files with umask 077;
#   - guardlock never forks, so -o (--close) is bad usage (125);
#   - a guardlock under a lock its own process tree holds runs at once.
# Not ported: the --fcntl, --start and --length cases (flock's fcntl-*
# subtests and ts/flock/range-lock): guardlock takes flock(2) locks on whole
# files only, and says so by refusing the options.
. "$(dirname "$0")/lib.sh"
need timeout || skip_all 'timeout(1) needed'

# Kill whatever a failed test left holding a lock.
at_exit 'for f in "$SCRATCH"/*.pid; do [ -f "$f" ] && kill -9 $(cat "$f") 2>/dev/null; done; :'

umask 077

# hold NAME CMD...: run CMD... sh -c ... in the background, holding what
# CMD takes until release NAME; NAME.held exists before hold returns.
# The holder gives up by itself after 60 s, so a failed test leaves no lock.
hold()
{
	_n=$1
	shift
	rm -f "$_n.held" "$_n.fifo"
	mkfifo "$_n.fifo" || return 1
	"$@" timeout 60 sh -c "touch $_n.held; read _ <$_n.fifo" \
	    </dev/null >/dev/null 2>"$_n.err" &
	echo $! >"$_n.pid"
	wait_for "$_n.held" 20
}

release()
{
	timeout 20 sh -c "echo >$1.fifo" && wait "$(cat "$1.pid")"
}

# wait_grep PATTERN FILE: bounded wait until FILE has a line matching.
wait_grep()
{
	_i=0
	while ! grep -Eq -- "$1" "$2" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt 400 ] && { echo "wait_grep: '$1' never in $2" >&2; return 1; }
		sleep 0.05
	done
}

# ---------------------------------------------------------------------------
# util-linux tests/ts/flock/flock: a shared "general lock" held in the
# background while the subtests contend for the same file.

# tests/ts/flock/flock, the general lock: --shared, prints two lines, holds.
test_expect_success 'ts/flock/flock: general lock: --shared held in the background' '
	mkfifo gen.fifo &&
	{ guardlock --shared lockfile timeout 60 sh -c \
	    "echo \"API: flock(2)\"; echo Locking; touch gen.held; read _ <gen.fifo; echo Unlocking" \
	    >>gen.out 2>&1 </dev/null & echo $! >gen.pid; } &&
	wait_for gen.held 20
'

# tests/ts/flock/flock, subtest non-block
test_expect_success 'ts/flock/flock non-block: --nonblocking --conflict-exit-code 123 -> 123' '
	test_expect_code 123 timeout 20 guardlock --nonblocking --conflict-exit-code 123 \
	    lockfile echo "You will never see this!" >out 2>err &&
	test ! -s out
'

# tests/ts/flock/flock, subtest non-block, with the other spellings of -n
test_expect_success 'ts/flock/flock non-block: -n, --nonblock and --nb the same' '
	test_expect_code 123 timeout 20 guardlock -n -E 123 lockfile echo never >out 2>err &&
	test_expect_code 123 timeout 20 guardlock --nonblock -E 123 lockfile echo never >>out 2>err &&
	test_expect_code 123 timeout 20 guardlock --nb -E 123 lockfile echo never >>out 2>err &&
	test ! -s out
'

# tests/ts/flock/flock, subtest non-block, without -E: guardlock says 75
# where flock says 1, so that a caller tells busy from the command's own 1.
test_expect_success 'ts/flock/flock non-block without -E: busy is 75 (flock: 1), on purpose' '
	test_expect_code 75 timeout 20 guardlock -n lockfile echo never >out 2>err &&
	test ! -s out && test_grep "^guardlock: lockfile: busy" err
'

# tests/ts/flock/flock, subtest no-fork
test_expect_success 'ts/flock/flock no-fork: --no-fork --nonblocking --conflict-exit-code 123 -> 123' '
	test_expect_code 123 timeout 20 guardlock --no-fork --nonblocking --conflict-exit-code 123 \
	    lockfile echo "You will never see this!" >out 2>err &&
	test_expect_code 123 timeout 20 guardlock -F -n -E 123 lockfile echo never >>out 2>err &&
	test ! -s out
'

# tests/ts/flock/flock, subtest shared
test_expect_success 'ts/flock/flock shared: --shared beside the shared holder runs' '
	timeout 20 guardlock --shared lockfile echo "Have shared lock" >out &&
	echo "Have shared lock" >want && test_cmp want out
'

# tests/ts/flock/flock, subtest exclusive
test_expect_success 'ts/flock/flock exclusive: --nb --exclusive --conflict-exit-code 123 -> 123' '
	test_expect_code 123 timeout 20 guardlock --nb --exclusive --conflict-exit-code 123 \
	    lockfile echo "You will never see this!" >out 2>err &&
	test ! -s out
'

# tests/ts/flock/flock, subtest exclusive, with flock(1)'s other letters
test_expect_success 'ts/flock/flock exclusive: -x and -e are --exclusive' '
	test_expect_code 123 timeout 20 guardlock -n -x -E 123 lockfile echo never >out 2>err &&
	test_expect_code 123 timeout 20 guardlock -n -e -E 123 lockfile echo never >>out 2>err &&
	test ! -s out
'

# tests/ts/flock/flock, subtest fd: "flock --nonblocking --exclusive
# --conflict-exit-code 123 4" on a descriptor the shell opened; no file
# named 4 may appear. (The descriptor form, being implemented.)
test_expect_success 'ts/flock/flock fd: guardlock -n -x -E 123 4 on an inherited descriptor -> 123' '
	exec 4<>lockfile &&
	test_expect_code 123 timeout 20 guardlock --nonblocking --exclusive --conflict-exit-code 123 4 \
	    >out 2>err &&
	test ! -e 4 && test ! -s out
'

# tests/ts/flock/flock, subtests timeout and time-check: a waiter with
# --timeout gets the lock once the holder lets go, exit 0, after the holder
# said Unlocking. Upstream times it against "sleep 3"; here the waiter is
# seen waiting (-v) before the holder is released, and order is the proof.
test_expect_success 'ts/flock/flock timeout: --timeout --conflict-exit-code 5 waits, then runs: 0' '
	{ timeout 60 guardlock --verbose --timeout 30 --conflict-exit-code 5 lockfile \
	    echo "After timeout." >>gen.out 2>wait.err </dev/null; echo $? >wait.rc; } &
	wait_grep "lockfile: waiting" wait.err &&
	test ! -e wait.rc &&
	timeout 20 sh -c "echo >gen.fifo" &&
	wait &&
	echo 0 >want && test_cmp want wait.rc &&
	test_grep "lockfile: acquired an exclusive lock after [0-9.]+ s" wait.err
'

# tests/ts/flock/flock, expected output "flock": the general lock's lines,
# the waiter's after Unlocking, then the script's own "Unlocked".
test_expect_success 'ts/flock/flock time-check: output in order: Locking, Unlocking, After timeout.' '
	echo Unlocked >>gen.out &&
	printf "API: flock(2)\nLocking\nUnlocking\nAfter timeout.\nUnlocked\n" >want &&
	test_cmp want gen.out &&
	rm gen.pid
'

# ---------------------------------------------------------------------------
# util-linux tests/ts/flock/close

# tests/ts/flock/close, first case: --close before exec; guardlock never
# forks, so there is nothing left to hold the lock: bad usage, nothing runs.
test_expect_success 'ts/flock/close: -o / --close refused as bad usage (125), on purpose' '
	test_expect_code 125 guardlock -o lk touch ran 2>err &&
	test_expect_code 125 guardlock --close lk touch ran 2>>err &&
	test ! -e ran && test_grep "^guardlock: -o: " err
'

# tests/ts/flock/close, second case: the command takes the same lock again
# through the descriptor it inherited: exit 0. (Descriptor form.)
test_expect_success 'ts/flock/close: the command locks its inherited descriptor again: 0' '
	timeout 20 guardlock --exclusive lk --command \
	    "guardlock --exclusive --nonblock \"\$GUARDLOCK_FD\"; echo \$? >rc" &&
	echo 0 >want && test_cmp want rc
'

# tests/ts/flock/close, second case, by name: flock(1) would take a second
# open file description and find it busy; guardlock sees that its own
# process tree holds the lock and runs at once (documented).
test_expect_success 'ts/flock/close: a nested guardlock on the same file runs at once (flock: busy)' '
	timeout 20 guardlock -x lk -c "guardlock -x -n lk echo nested" >out &&
	echo nested >want && test_cmp want out
'

# ---------------------------------------------------------------------------
# util-linux tests/ts/flock/unlock: lock a descriptor, unlock it, then a
# --wait 0 run takes the file. (Descriptor form and -u, being implemented.)

# tests/ts/flock/unlock, line 1: flock --exclusive --nonblock --verbose FD
test_expect_success 'ts/flock/unlock: --exclusive --nonblock --verbose FD: 0, and the lock stays' '
	exec 9<>lock &&
	timeout 20 guardlock --exclusive --nonblock --verbose 9 2>err &&
	test_expect_code 75 timeout 20 guardlock -n lock true 9>&- 2>err2
'

# tests/ts/flock/unlock, lines 2-3: flock --unlock FD, then --wait 0 takes it
test_expect_success 'ts/flock/unlock: --unlock FD releases it; --wait 0 then takes the file' '
	exec 9<>lock &&
	timeout 20 guardlock -x -n 9 &&
	test_expect_code 75 timeout 20 guardlock -w 0 lock true 9>&- 2>err &&
	timeout 20 guardlock --unlock 9 &&
	timeout 20 guardlock --exclusive --wait 0 --verbose lock true 9>&- 2>err &&
	test_grep "lock: acquired an exclusive lock after [0-9.]+ s" err
'

# tests/ts/flock/unlock, -u as the short option
test_expect_success 'ts/flock/unlock: -u FD is --unlock' '
	exec 9<>lock &&
	timeout 20 guardlock -n 9 &&
	timeout 20 guardlock -u 9 &&
	timeout 20 guardlock -n lock true 9>&-
'

# tests/ts/flock/unlock, last line: "A timeout of 0 should be interpreted
# as --nonblock": against a holder, -w 0 gives up at once.
test_expect_success 'ts/flock/unlock: -w 0 is --nonblock: busy at once' '
	hold h guardlock lock &&
	test_expect_code 75 timeout 20 guardlock --wait 0 lock true 2>err &&
	test_expect_code 7 timeout 20 guardlock -E 7 --timeout 0 lock true 2>err &&
	release h
'

# ---------------------------------------------------------------------------
# flock(1) man page, EXAMPLES

# flock.1: shell1> flock /tmp -c cat; shell2> flock -w .007 /tmp -c echo;
# /bin/echo $?  -- the second fails. (A private directory: see below.)
test_expect_success 'flock.1: exclusive lock on a directory; -w .007 -c echo fails: 75' '
	mkdir -m 700 dir &&
	hold h guardlock dir &&
	timeout 20 guardlock -w .007 dir -c echo >out 2>err; echo $? >rc &&
	echo 75 >want && test_cmp want rc && test ! -s out &&
	release h
'

# flock.1: shell1> flock -s /tmp -c cat; shell2> flock -s -w .007 /tmp -c
# echo -- does not fail; "attempting to get exclusive lock ... would fail".
test_expect_success 'flock.1: shared lock on a directory; -s -w .007 runs, -x -w .007 fails' '
	mkdir -m 700 sdir &&
	hold h guardlock -s sdir &&
	timeout 20 guardlock -s -w .007 sdir -c echo >out &&
	echo >want && test_cmp want out &&
	test_expect_code 75 timeout 20 guardlock -x -w .007 sdir -c echo 2>err &&
	release h
'

# flock.1 locks /tmp itself. A directory others may open is refused without
# --public: any user could take that lock and hold it forever.
test_expect_success 'flock.1 on a world-writable sticky directory: refused (125) unless --public' '
	mkdir pubtmp && chmod 1777 pubtmp &&
	test_expect_code 125 guardlock pubtmp -c "echo never" >out 2>err &&
	test ! -s out &&
	test_grep "^guardlock: pubtmp: other users may open it" err &&
	guardlock --public pubtmp -c "echo ok" >out &&
	echo ok >want && test_cmp want out
'

# flock.1: shell> flock -x local-lock-file echo 'a b c'
test_expect_success 'flock.1: -x local-lock-file echo "a b c"' '
	guardlock -x local-lock-file echo "a b c" >out &&
	echo "a b c" >want && test_cmp want out
'

# flock.1: (; flock -n 9 || exit 1; # ... commands executed under lock ...; )
# 9>/var/lock/mylockfile -- with umask 077, the descriptor form.
test_expect_success 'flock.1: ( umask 077; exec 9>lock; guardlock -n 9 || exit 1; ... ) runs' '
	( umask 077; exec 9>mylockfile; guardlock -n 9 || exit 1; echo critical >out ) &&
	echo critical >want && test_cmp want out
'

# flock.1, the same idiom while another holds the file: the "|| exit 1" fires.
test_expect_success 'flock.1: the idiom while another holds the lock: 75, so exit 1, nothing runs' '
	hold h guardlock mylockfile &&
	( umask 077; exec 9>mylockfile; guardlock -n 9 || { echo $? >st; exit 1; }; touch ran ); echo $? >rc &&
	echo 1 >want && test_cmp want rc && test ! -e ran &&
	echo 75 >want && test_cmp want st &&
	release h
'

# flock.1: "Using < requires that the file already exists but only read
# permission is required".
test_expect_success 'flock.1: the idiom with 9<lockfile (read-only descriptor)' '
	: >rolock &&
	( exec 9<rolock; guardlock -n 9 || exit 1; echo critical >out ) &&
	echo critical >want && test_cmp want out
'

# flock.1's idiom as written, under the usual umask 022: the file is 0644,
# so any local user could open it and hold the lock forever, and every run
# would be refused. guardlock refuses such a file instead (125), saying why.
test_expect_success 'flock.1 idiom under umask 022 (mode 0644): refused (125), on purpose' '
	( umask 022; exec 9>lock644; guardlock -n 9; echo $? >rc ) 2>err &&
	echo 125 >want && test_cmp want rc &&
	test_grep "other users may open it" err &&
	test_expect_code 125 guardlock lock644 true 2>err &&
	test_grep "remove it while no job holds it \(guardlock then creates it private\), or --public$" err &&
	guardlock --public lock644 true
'

# flock.1: [ "${FLOCKER}" != "$0" ] && exec env FLOCKER="$0" flock -en "$0"
# "$0" "$@" || :  -- a script that locks itself, mode 0700.
test_expect_success 'flock.1 FLOCKER boilerplate: the script locks itself; a second run is busy (75)' '
	cat >self.sh <<-\EOF &&
	#!/bin/sh
	[ "${FLOCKER}" != "$0" ] && exec env FLOCKER="$0" guardlock -en "$0" "$0" "$@" || :
	echo "running $*" >>self.out
	if [ -p self.fifo ]; then touch self.held; timeout 60 sh -c "read _ <self.fifo"; fi
	EOF
	chmod 700 self.sh && mkfifo self.fifo &&
	{ ./self.sh one </dev/null >/dev/null 2>&1 & echo $! >self.pid; } &&
	wait_for self.held 20 &&
	test_expect_code 75 timeout 20 ./self.sh two 2>err &&
	test_grep "busy" err &&
	timeout 20 sh -c "echo >self.fifo" && wait "$(cat self.pid)" &&
	rm self.fifo && timeout 20 ./self.sh three &&
	printf "running one\nrunning three\n" >want && test_cmp want self.out
'

# flock.1 FLOCKER boilerplate in a script of mode 0755: anyone may open it,
# so anyone could lock the script out; refused unless the script says
# --public (documented).
test_expect_success 'flock.1 FLOCKER boilerplate, script mode 0755: 125; with --public it runs' '
	printf "%s\n" "#!/bin/sh" \
	    "[ \"\${FLOCKER}\" != \"\$0\" ] && exec env FLOCKER=\"\$0\" guardlock -en \"\$0\" \"\$0\" \"\$@\" || :" \
	    "echo ran" >pub.sh &&
	chmod 755 pub.sh &&
	test_expect_code 125 timeout 20 ./pub.sh >out 2>err && test ! -s out &&
	sed "s/guardlock -en/guardlock --public -en/" pub.sh >pub2.sh && chmod 755 pub2.sh &&
	timeout 20 ./pub2.sh >out && echo ran >want && test_cmp want out
'

# flock.1's self-locking script without the boilerplate: the lock file is
# the command itself; guardlock opens it read-only, so it can be run.
test_expect_success 'flock.1: guardlock -s self.sh ./self.sh runs a script that is its own lock' '
	printf "#!/bin/sh\necho \"self \$*\"\n" >s.sh && chmod 700 s.sh &&
	timeout 20 guardlock -s s.sh ./s.sh x >out &&
	timeout 20 guardlock -x s.sh ./s.sh y >>out &&
	printf "self x\nself y\n" >want && test_cmp want out &&
	printf "#!/bin/sh\necho \"self \$*\"\n" >want && test_cmp want s.sh
'

# flock.1: shell> exec 4<>/var/lock/mylockfile; shell> flock -n 4
test_expect_success 'flock.1: exec 4<>mylockfile; guardlock -n 4: 0, held by the shell after' '
	exec 4<>mylockfile &&
	timeout 20 guardlock -n 4 &&
	test_expect_code 75 timeout 20 guardlock -n mylockfile true 4>&- 2>err &&
	exec 4>&- &&
	timeout 20 guardlock -n mylockfile true
'

# flock.1: shell> exec 10<>/var/lock/mylockfile; shell> flock -n --fd 10
# echo '1 2 3' -- guardlock has no --fd; an unknown option is bad usage,
# never taken for a lock file name or a command.
test_expect_success 'flock.1: --fd N command is not guardlock'"'"'s: refused as bad usage (125)' '
	exec 5<>mylockfile &&
	test_expect_code 125 guardlock -n --fd 5 echo "1 2 3" >out 2>err &&
	test ! -s out && test ! -e 5 &&
	test_grep "^guardlock: --fd: " err
'

# ---------------------------------------------------------------------------
# flock(1) man page, OPTIONS and EXIT STATUS, as the issue lists them

# flock.1 -w: "Decimal fractional values are allowed"; guardlock reads the
# number with strtod(3) whole, as flock does (1e3, 0x10, " 5").
test_expect_success 'flock.1 -w: strtod forms 1e3, 0x10, " 5", .007 are accepted' '
	guardlock -w 1e3 lk echo a >out &&
	guardlock -w 0x10 lk echo b >>out &&
	guardlock -w " 5" lk echo c >>out &&
	guardlock --wait .007 lk echo d >>out &&
	guardlock --timeout 2.5 lk echo e >>out &&
	printf "a\nb\nc\nd\ne\n" >want && test_cmp want out
'

test_expect_success 'flock.1 -w: not a number of seconds is bad usage (125; flock: 64)' '
	test_expect_code 125 guardlock -w abc lk true 2>err &&
	test_expect_code 125 guardlock -w -1 lk true 2>>err &&
	test_grep "^guardlock: -w: abc: " err
'

# flock.1 -n and -w: -n wins (guardlock.1 says so, as flock(1) does).
test_expect_success 'flock.1: -n wins over -w: busy at once, not after 30 s' '
	hold h guardlock lk &&
	test_expect_code 75 timeout 20 guardlock -n -w 30 lk true 2>err &&
	test_expect_code 75 timeout 20 guardlock -w 30 -n lk true 2>err &&
	release h
'

# flock.1 -E: "The number has to be in the range of 0 to 255."
test_expect_success 'flock.1 -E: 0 and 255 work; 256 is bad usage (125)' '
	hold h guardlock lk &&
	test_expect_code 255 timeout 20 guardlock -n -E 255 lk true 2>err &&
	test_expect_code 0 timeout 20 guardlock -n -E 0 lk touch ran 2>err &&
	test ! -e ran &&
	test_expect_code 125 guardlock -n -E 256 lk true 2>err &&
	release h
'

# flock.1 -c: "Pass a single command, without arguments, to the shell".
test_expect_success 'flock.1 -c / --command: one shell command; a second argument is bad usage' '
	guardlock lk -c "echo a; echo b" >out &&
	guardlock lk --command "echo c" >>out &&
	printf "a\nb\nc\n" >want && test_cmp want out &&
	test_expect_code 125 guardlock lk -c "echo a" extra 2>err && test_grep "exactly one" err
'

# flock.1 ENVIRONMENT: SHELL is used for -c. guardlock always runs /bin/sh:
# a login shell or a SHELL from the environment is no part of a cron job.
test_expect_success 'flock.1 SHELL: guardlock -c runs /bin/sh whatever SHELL says, on purpose' '
	SHELL=/bin/false guardlock lk -c "echo ran" >out &&
	echo ran >want && test_cmp want out
'

# flock.1 EXIT STATUS: "the exit status is that of the child command".
test_expect_success 'flock.1 EXIT STATUS: the command'"'"'s status passes through' '
	test_expect_code 42 guardlock lk sh -c "exit 42" &&
	test_expect_code 1 guardlock lk false
'

# flock.1 --verbose: "Report how long it took to acquire the lock".
test_expect_success 'flock.1 --verbose: says how long it took (in its own words)' '
	guardlock --verbose lk true 2>err &&
	test_grep "lk: acquired an exclusive lock after [0-9.]+ s" err
'

# flock.1 DESCRIPTION: the lock file "is created ... if it does not
# already exist". guardlock makes it 0600 whatever the umask.
test_expect_success 'flock.1: the lock file is created; 0600 whatever the umask, on purpose' '
	( umask 022; guardlock newlock true ) &&
	test "$(stat -c %a newlock)" = 600
'

# A lock file that another user owns: they could hold it forever. Refused
# unless --public (documented); flock(1) takes it.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
test_expect_success 'a lock file owned by another user: refused (125) unless --public' '
	: >theirs && chmod 600 theirs && chown nobody theirs &&
	test_expect_code 125 guardlock theirs true 2>err &&
	test_grep "theirs" err &&
	guardlock --public theirs true
'
else
	test_skip 'a lock file owned by another user' 'needs root and a nobody user'
fi

# flock.1: "This utility manages flock(2) locks": flock(1) and guardlock on
# the same file exclude each other, both ways.
if need flock; then
test_expect_success 'flock(1) and guardlock exclude each other on one file' '
	hold f flock lk &&
	test_expect_code 75 timeout 20 guardlock -n lk true 2>err &&
	test_expect_code 1 timeout 20 flock -n lk true &&
	release f &&
	hold g guardlock lk &&
	test_expect_code 1 timeout 20 flock -n lk true &&
	test_expect_code 9 timeout 20 flock -n -E 9 lk true &&
	test_expect_code 1 timeout 20 flock -s -n lk true &&
	release g
'
test_expect_success 'flock(1) shared holder: guardlock -s runs beside it, -x is busy' '
	hold f flock -s lk &&
	timeout 20 guardlock -s -n lk true &&
	test_expect_code 75 timeout 20 guardlock -x -n lk true 2>err &&
	release f
'
else
	test_skip 'flock(1) and guardlock exclude each other' 'no flock(1)'
	test_skip 'flock(1) shared holder' 'no flock(1)'
fi

test_done

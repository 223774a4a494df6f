#!/bin/sh
# The exit-status table is the suite's API for scripts. Each program's
# man page lists its codes under EXIT STATUS; here every kind of failure is
# provoked (usage errors in every position, missing operands, refusals,
# I/O errors through tests/shim.so) and each status must be the expected
# one, and one that the man page lists.
. "$(dirname "$0")/lib.sh"
need mandoc || skip_all 'mandoc needed to read the EXIT STATUS sections'
test -f "$TESTS/shim.so" || skip_all "tests/shim.so not built (make check builds it)"

# The codes a man page lists: ".It 0", ".It 128+N" in its EXIT STATUS list.
for p in guardlock gzsafe sumcheck; do
	sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /p' "$TOP/man/$p.1" |
	    sed -n 's/^\.It \([0-9][0-9+N]*\)$/\1/p' >"codes.$p"
done

# run PROG WANT CMD...: CMD exits WANT, and the man page of PROG lists WANT
# (a status of 129 and up counts as 128+N, a command's own 3 as "any other").
run()
{
	_p=$1 _w=$2
	shift 2
	"$@" >/dev/null 2>"err.last"
	_got=$?
	if [ "$_got" -ne "$_w" ]; then
		echo "want $_w, got $_got: $*" >&2
		cat err.last >&2
		return 1
	fi
	case $_got in
	129|13[0-9]|1[4-9][0-9]|2[0-5][0-9]) _as=128+N ;;
	*) _as=$_got ;;
	esac
	grep -qx "$_as" "codes.$_p" || [ "$_w" -eq 3 ] || {
		echo "$_p: $_got is not in its man page's EXIT STATUS" >&2
		return 1
	}
}

test_expect_success 'the man pages list codes' '
	for p in guardlock gzsafe sumcheck; do test -s codes.$p || exit 1; done &&
	grep -qx 125 codes.guardlock && grep -qx 125 codes.gzsafe && ! grep -qx 125 codes.sumcheck
'

test_expect_success 'guardlock: usage errors anywhere are 125, with --status 2' '
	run guardlock 125 guardlock --bogus l true &&
	run guardlock 125 guardlock -n --bogus l true &&
	run guardlock 125 guardlock -E 300 l true &&
	run guardlock 125 guardlock -w x l true &&
	run guardlock 125 guardlock -w &&
	run guardlock 125 guardlock &&
	run guardlock 125 guardlock l &&
	run guardlock 125 guardlock -u &&
	run guardlock 125 guardlock l -c &&
	run guardlock 2 guardlock --status &&
	run guardlock 2 guardlock --status -n l &&
	run guardlock 2 guardlock -q --status l
'

test_expect_success 'guardlock: refusals 125, busy 75, the command'"'"'s own status, 126, 127, 128+N' '
	ln -s x sl && mkfifo ff && : >open.lock && chmod 644 open.lock &&
	printf "#!/bin/sh\n" >noexec && chmod 644 noexec &&
	run guardlock 125 timeout 20 guardlock sl true &&
	run guardlock 125 timeout 20 guardlock ff true &&
	run guardlock 125 guardlock open.lock true &&
	run guardlock 125 guardlock 9 9>&- &&
	run guardlock 125 guardlock -s l guardlock -n l true &&
	rm -f held && mkfifo go && { guardlock l sh -c "touch held; read _ <go" & } &&
	wait_for held 20 &&
	run guardlock 75 guardlock -n l true &&
	test_expect_code 9 guardlock -n -E 9 l true 2>/dev/null &&
	run guardlock 1 guardlock --status l &&
	echo >go && wait &&
	run guardlock 0 guardlock --status l &&
	run guardlock 2 guardlock --status nothere &&
	run guardlock 3 guardlock l sh -c "exit 3" &&
	run guardlock 126 guardlock l ./noexec &&
	run guardlock 127 guardlock l no-such-command &&
	run guardlock 137 guardlock l sh -c "kill -9 \$\$"
'

test_expect_success 'gzsafe: usage errors anywhere are 125; with -t wherever it stands, 2' '
	run gzsafe 125 gzsafe --bogus o.gz true &&
	run gzsafe 125 gzsafe -9 --bogus o.gz true &&
	run gzsafe 125 gzsafe -p 0 o.gz true &&
	run gzsafe 125 gzsafe -b 1 o.gz true &&
	run gzsafe 125 gzsafe -m 99999 o.gz true &&
	run gzsafe 125 gzsafe &&
	run gzsafe 125 gzsafe "" true &&
	run gzsafe 125 gzsafe --tar o.gz &&
	run gzsafe 125 gzsafe --status-file s o.gz true &&
	run gzsafe 2 gzsafe --bogus -t x.gz &&
	run gzsafe 2 gzsafe -t --bogus x.gz &&
	run gzsafe 2 gzsafe -p 0 -t x.gz &&
	run gzsafe 2 gzsafe -t --digest x.gz &&
	run gzsafe 2 gzsafe -t /nonexistent
'

test_expect_success 'gzsafe: the producer'"'"'s own status, 126, 127, 128+N; refusals and I/O errors 125; pipe-mode status 1' '
	echo x | gzip >good.gz && cp good.gz keep.gz &&
	run gzsafe 3 gzsafe good.gz sh -c "exit 3" &&
	run gzsafe 126 gzsafe good.gz ./noexec &&
	run gzsafe 127 gzsafe good.gz no-such-command &&
	run gzsafe 137 gzsafe good.gz sh -c "kill -9 \$\$" &&
	mkdir d && run gzsafe 125 gzsafe d true &&
	run gzsafe 125 gzsafe nodir/o.gz true &&
	run gzsafe 125 gzsafe -N good.gz true &&
	run gzsafe 125 with_shim SHIM_EIO_WRITE=1 gzsafe --digest good.gz echo data &&
	run gzsafe 125 with_shim SHIM_EIO_CLOSE=all gzsafe --no-sync --digest good.gz echo data &&
	run gzsafe 125 gzsafe good.gz <&- &&
	mkdir -m 700 p && st=p/st && echo 4 >$st &&
	run gzsafe 1 sh -c "echo data | gzsafe --status-file $st good.gz" &&
	cmp good.gz keep.gz
'

test_expect_success 'gzsafe -t: 0 good, 1 corrupt, 2 unreadable' '
	run gzsafe 0 gzsafe -t good.gz &&
	head -c 10 good.gz >cut.gz && run gzsafe 1 gzsafe -t cut.gz &&
	run gzsafe 1 gzsafe -t cut.gz nothere.gz &&
	run gzsafe 2 gzsafe -t nothere.gz &&
	run gzsafe 2 gzsafe -t d
'

test_expect_success 'sumcheck: usage errors anywhere are 2, never 125' '
	echo data >f &&
	run sumcheck 2 sumcheck --bogus f &&
	run sumcheck 2 sumcheck -c --bogus f &&
	run sumcheck 2 sumcheck -c -p f &&
	run sumcheck 2 sumcheck -q f &&
	run sumcheck 2 sumcheck -c --tag f &&
	run sumcheck 2 sumcheck -z f &&
	run sumcheck 2 sumcheck -l 7 f &&
	run sumcheck 2 sumcheck -j 0 f &&
	run sumcheck 2 sumcheck &&
	run sumcheck 2 sumcheck -c &&
	run sumcheck 2 sumcheck -
'

test_expect_success 'sumcheck: 0 written or verified, 1 mismatch, 2 could not, I/O errors 2' '
	run sumcheck 0 sumcheck f &&
	run sumcheck 2 sumcheck f &&
	run sumcheck 0 sumcheck -c f &&
	cp f g && cp f.b2 g.b2 && echo more >>g &&
	run sumcheck 1 sumcheck -c g &&
	run sumcheck 2 sumcheck -c nothere &&
	run sumcheck 2 sumcheck nothere &&
	run sumcheck 2 with_shim SHIM_EIO_WRITE=1 sumcheck -f f &&
	run sumcheck 2 with_shim SHIM_EIO_CLOSE=all sumcheck -f f &&
	run sumcheck 2 sumcheck -p <&- &&
	run sumcheck 0 sumcheck -p f
'

# Out of memory: the address space capped, 1024 readers asked for.
if instrumented; then
	test_skip 'sumcheck out of memory' 'valgrind and ASan need more address space than the cap'
else
	test_expect_success 'sumcheck out of memory: 2, not 125' '
		run sumcheck 2 sh -c "ulimit -v 20000; exec sumcheck -j 1024 -p f f f"
	'
fi

test_done

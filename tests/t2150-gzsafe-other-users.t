#!/bin/sh
# gzsafe run by root in a directory another user can write: no planted
# name makes it commit a failed run, print someone's secret, hand the
# archive to that user, or wait on their lock. The attacker is user nobody
# (setpriv), in a directory it owns.
. "$(dirname "$0")/lib.sh"
need gzip python3 timeout || skip_all 'gzip, python3 and timeout needed'
nobody_ok || skip_all 'needs root, user nobody and setpriv'

gen_data 200000 9 >data
echo "last night" | gzip >keep.gz
mkdir att && chown nobody:nogroup att && chmod 755 att

unchanged() { cmp keep.gz "$1"; }

test_expect_success 'a status file not yet there, in a directory others can write: refused at start' '
	cp keep.gz out.gz &&
	{ cat data; echo 0 >att/st1; } 2>/dev/null |
	    test_expect_code 125 gzsafe --status-file att/st1 out.gz 2>err &&
	test_grep "^gzsafe: status file att/st1: not there yet, in a directory others can write: create a FIFO there first \(mkfifo\) or use a private directory; out.gz left unchanged$" err &&
	unchanged out.gz
'

test_expect_success 'a status link planted to /sys or /proc: refused, never read, never printed' '
	cp keep.gz out.gz && mkdir priv && chmod 700 priv &&
	ln -s /proc/self/status priv/st2 &&
	cat data | test_expect_code 125 gzsafe --status-file priv/st2 out.gz 2>err &&
	test_grep "^gzsafe: status file priv/st2: a symbolic link; refusing it; out.gz left unchanged$" err &&
	! grep -q "Name:" err && unchanged out.gz
'

test_expect_success 'a status file owned by another user, or writable by others: refused' '
	cp keep.gz out.gz &&
	echo 0 >priv/st3 && chown nobody priv/st3 &&
	cat data | test_expect_code 125 gzsafe --status-file priv/st3 out.gz 2>err &&
	test_grep "status file priv/st3: owned by another user; refusing it" err &&
	echo 0 >priv/st4 && chmod 622 priv/st4 &&
	cat data | test_expect_code 125 gzsafe --status-file priv/st4 out.gz 2>err &&
	test_grep "status file priv/st4: writable by others; refusing it" err &&
	unchanged out.gz
'

test_expect_success 'a status file of ours in a directory others can write, not sticky: refused' '
	cp keep.gz out.gz && st=$(mktemp att/st.XXXXXX) &&
	cat data | test_expect_code 125 gzsafe --status-file "$st" out.gz 2>err &&
	test_grep "others can change its directory, or one above it, and swap it; use a private directory" err &&
	unchanged out.gz
'

test_expect_success 'in a sticky world-writable directory, a mktemp status file is safe and works' '
	mkdir tmp && chmod 1777 tmp && st=$(mktemp tmp/st.XXXXXX) &&
	{ cat data; echo 0 >"$st"; } | gzsafe --status-file "$st" out.gz &&
	gzip -dc out.gz | cmp - data && test ! -e "$st" &&
	cp keep.gz out.gz && st=$(mktemp tmp/st.XXXXXX) &&
	{ cat data; echo 3 >"$st"; } | test_expect_code 1 gzsafe --status-file "$st" out.gz 2>err &&
	test_grep "producer reported status 3; out.gz left unchanged" err && unchanged out.gz
'

test_expect_success 'whatever the status file holds, only digits are ever repeated' '
	cp keep.gz out.gz && st=$(mktemp tmp/st.XXXXXX) &&
	{ cat data; echo "ffffffff81000000 T secret" >"$st"; } |
	    test_expect_code 1 gzsafe --status-file "$st" out.gz 2>err &&
	test_grep "^gzsafe: status file $st: not a status; out.gz left unchanged$" err &&
	! grep -q "secret\|ffff" err && unchanged out.gz
'

test_expect_success '--status-fd: the status on a descriptor, no name involved (a program calling gzsafe)' '
	cat >call.py <<-\EOF &&
	import os, subprocess, sys
	r, w = os.pipe()
	prod = subprocess.Popen(["cat", "data"], stdout=subprocess.PIPE)
	gz = subprocess.Popen(["gzsafe", "--status-fd", str(r), "out.gz"],
	                      stdin=prod.stdout, pass_fds=(r,))
	os.close(r)
	prod.stdout.close()
	st = prod.wait()
	os.write(w, b"%d\n" % int(sys.argv[1]))
	os.close(w)
	sys.exit(gz.wait())
	EOF
	cp keep.gz out.gz &&
	python3 call.py 0 && gzip -dc out.gz | cmp - data &&
	cp keep.gz out.gz &&
	test_expect_code 1 python3 call.py 5 2>err &&
	test_grep "^gzsafe: producer reported status 5; out.gz left unchanged$" err && unchanged out.gz
'

test_expect_success '--status-fd from the shell, through a FIFO it opened' '
	mkfifo priv/f && cp keep.gz out.gz &&
	{ cat data; echo 0 >priv/f; } | gzsafe --status-fd 3 out.gz 3<>priv/f &&
	gzip -dc out.gz | cmp - data
'

test_expect_success 'an archive and a sidecar planted by another user: replaced by root'"'"'s, private as the umask says' '
	as_nobody sh -c "umask 0; echo forged | gzip >att/db.gz; echo forged >att/db.gz.b2" &&
	(umask 077 && gzsafe --digest att/db.gz cat data) &&
	test "$(stat -c %U:%a att/db.gz):$(stat -c %U:%a att/db.gz.b2)" = root:600:root:600 &&
	test_must_fail as_nobody sh -c "cat att/db.gz.b2" 2>/dev/null &&
	gzip -dc att/db.gz | cmp - data && (cd att && b2sum --quiet -c db.gz.b2)
'

test_expect_success 'the commit lock held by another user: no wait, the commit goes ahead' '
	rm -f att/held && mkfifo att/go && chown nobody att/go || exit 1
	as_nobody flock att sh -c "touch att/held; read _ <att/go" &
	wait_for att/held 20 &&
	# A holder of ours would be waited for 10 s: timeout 9 fails then.
	command timeout 9 gzsafe --digest att/lk.gz cat data &&
	gzip -dc att/lk.gz | cmp - data &&
	echo >att/go && wait
'

# flock(1) takes the lock on the shell's descriptor and exits: /proc/locks
# names a process that is gone, and the shell holds the lock.
test_expect_success 'the commit lock held by another user whose taker exited: no wait either' '
	rm -f att/held && mkfifo att/go2 && chown nobody att/go2 || exit 1
	as_nobody sh -c "exec 9<att && flock -x 9 && touch att/held && read _ <att/go2" &
	wait_for att/held 20 &&
	command timeout 9 gzsafe --digest att/lk2.gz cat data &&
	gzip -dc att/lk2.gz | cmp - data &&
	echo >att/go2 && wait
'

# Here the caller is not root: user daemon, in a sticky directory it does
# not own, where another user (nobody) planted the archive's or the
# sidecar's name. rename(2) would refuse to replace either at the commit,
# after the producer's hours; gzsafe says so before reading anything.
if id -u daemon >/dev/null 2>&1; then
test_expect_success 'a sticky directory: another user'"'"'s archive or sidecar at the name: refused at start, theirs untouched' '
	mkdir sticky && chmod 1777 sticky &&
	as_nobody sh -c "echo planted >sticky/p.gz && echo planted >sticky/q.gz.b2" &&
	cp sticky/p.gz want && cp sticky/q.gz.b2 wantb2 &&
	for f in p q; do
		test_expect_code 125 setpriv --reuid=daemon --regid=daemon --clear-groups \
		    env PATH="$_nobody_bin:$PATH" gzsafe --digest sticky/$f.gz \
		    sh -c "echo producer ran >&2; cat data" 2>err &&
		! grep -q "producer ran" err || exit 1
	done &&
	test_grep "^gzsafe: sticky/q.gz.b2: another user.s file in a sticky directory: only they, the directory.s owner or root \(CAP_FOWNER\) may replace it$" err &&
	cmp want sticky/p.gz && cmp wantb2 sticky/q.gz.b2 &&
	test "$(ls -A sticky | tr "\n" " ")" = "p.gz q.gz.b2 " &&
	# Its own file there it replaces, as ever.
	setpriv --reuid=daemon --regid=daemon --clear-groups env PATH="$_nobody_bin:$PATH" \
	    gzsafe --digest sticky/d.gz cat data &&
	setpriv --reuid=daemon --regid=daemon --clear-groups env PATH="$_nobody_bin:$PATH" \
	    gzsafe --digest sticky/d.gz cat data &&
	gzip -dc sticky/d.gz | cmp - data && (cd sticky && b2sum -c --status d.gz.b2)
'

test_expect_success 'a sticky directory: a name planted while the producer runs is refused at the commit, and says why' '
	rm -f gate && mkfifo -m 666 gate &&
	setpriv --reuid=daemon --regid=daemon --clear-groups env PATH="$_nobody_bin:$PATH" \
	    gzsafe sticky/late.gz sh -c "echo started >&2; read _ <gate; cat data" 2>err &
	pid=$! &&
	wait_grep "^started$" err && as_nobody sh -c "echo planted >sticky/late.gz"; r=$?
	# The producer goes on whatever happened, so that nothing is left.
	timeout 20 sh -c "echo >gate"; wait $pid; rc=$?
	test $r -eq 0 && test $rc -eq 125 &&
	test_grep "^gzsafe: sticky/late.gz: another user.s file in a sticky directory" err &&
	test "$(cat sticky/late.gz)" = planted
'

if need setpriv >/dev/null && setpriv --bounding-set=-fowner true 2>/dev/null; then
test_expect_success 'a sticky directory: root without CAP_FOWNER is refused at start as well' '
	mkdir sticky2 && chmod 1777 sticky2 && chown nobody sticky2 &&
	setpriv --reuid=daemon --regid=daemon --clear-groups sh -c "echo planted >sticky2/p.gz" &&
	test_expect_code 125 setpriv --bounding-set=-fowner \
	    gzsafe sticky2/p.gz sh -c "echo producer ran >&2; cat data" 2>err &&
	! grep -q "producer ran" err && test "$(cat sticky2/p.gz)" = planted &&
	# With it, root replaces the file, as rename(2) lets it.
	gzsafe sticky2/p.gz cat data && gzip -dc sticky2/p.gz | cmp - data
'
else
	test_skip 'a sticky directory: root without CAP_FOWNER' 'setpriv cannot drop a capability here'
fi
else
	test_skip 'a sticky directory: planted names refused at start' 'no user daemon'
fi

test_done

#!/bin/sh
# examples/backup.sh and restore-drill.sh without a database: a fake backup
# tool streams fixed bytes, so that the scripts' own logic (the lock, what
# they commit) is tested in seconds. The real server is t5100's.
. "$(dirname "$0")/lib.sh"
need flock timeout gzip || skip_all 'flock(1), timeout(1) and gzip needed'

EX=$TOP/examples
gen_data 200000 5 >data

# The fake tool ignores its options and streams data; with FAKE_PROBE set it
# first records whether anyone but its own process tree could take that lock.
cat >fakebackup <<'EOF'
#!/bin/sh
if [ -n "${FAKE_PROBE:-}" ]; then
	flock -n -x "$FAKE_PROBE" true 2>/dev/null && echo free >"$FAKE_OUT" || echo held >"$FAKE_OUT"
fi
cat "$FAKE_DATA"
EOF
chmod +x fakebackup

# backup: examples/backup.sh on the fake tool, into $SCRATCH/b.
mkdir logs && chmod 700 logs
cat >backup <<EOF
#!/bin/sh
exec env BACKUP_DIR="$SCRATCH/b" BACKUP_TOOL="$SCRATCH/fakebackup" BACKUP_DEFAULTS= \\
    BACKUP_SOCKET= FAKE_DATA="$SCRATCH/data" BACKUP_LOG="\${BACKUP_LOG:-$SCRATCH/logs/db.log}" \\
    sh "$EX/backup.sh" "\$@"
EOF
chmod +x backup
PATH=$SCRATCH:$PATH

test_expect_success 'a backup: one archive and its sidecar, silently' '
	mkdir b && timeout 60 backup >out 2>err &&
	test ! -s out && test ! -s err &&
	set -- b/db-*.xbs.gz && test -f "$1" && test -f "$1.b2" &&
	gzip -dc "$1" | cmp - data &&
	(cd b && b2sum --quiet -c "${1#b/}.b2")
'

test_expect_success 'BACKUP_LOCK is taken, and held while the tool runs' '
	rm -rf b && mkdir b &&
	BACKUP_LOCK=$SCRATCH/bk.lock FAKE_PROBE=$SCRATCH/bk.lock FAKE_OUT=$SCRATCH/probe \
	    timeout 60 backup &&
	echo held >want && test_cmp want probe &&
	flock -n bk.lock true
'

test_expect_success 'under another guardlock, BACKUP_LOCK is still taken: a second run is refused' '
	rm -rf b && mkdir b &&
	hold first guardlock bk.lock &&
	test_expect_code 75 timeout 20 guardlock other.lock \
	    env BACKUP_LOCK="$SCRATCH/bk.lock" backup 2>err &&
	test_grep "^guardlock: .*bk.lock: busy: held by pid " err &&
	test -z "$(ls b)" &&
	echo >first.fifo && wait
'

test_expect_success 'GUARDLOCK_FD naming a closed descriptor does not count either' '
	rm -rf b first.fifo && mkdir b &&
	hold first guardlock bk.lock &&
	test_expect_code 75 timeout 20 env BACKUP_LOCK="$SCRATCH/bk.lock" GUARDLOCK_FD=3 \
	    backup 3>&- 2>err &&
	test_grep "busy: held by pid " err &&
	test -z "$(ls b)" &&
	echo >first.fifo && wait
'

test_expect_success 'under cron'"'"'s guardlock on the same lock, BACKUP_LOCK goes straight on' '
	rm -rf b && mkdir b &&
	timeout 60 guardlock -n bk.lock env BACKUP_LOCK="$SCRATCH/bk.lock" \
	    FAKE_PROBE="$SCRATCH/bk.lock" FAKE_OUT="$SCRATCH/probe" backup &&
	echo held >want && test_cmp want probe &&
	set -- b/db-*.xbs.gz && test -f "$1.b2"
'

test_expect_success 'restore-drill.sh: DRILL_LOCK is taken shared even under another guardlock' '
	rm -rf b && mkdir b && : >b/db-20260101-000000.xbs.gz && : >b/db-20260101-000000.xbs.gz.b2 &&
	mkdir fakebin && cat >fakebin/sumcheck <<-EOF &&
	#!/bin/sh
	flock -n -s "$SCRATCH/bk.lock" true && s=shared-ok || s=shared-refused
	flock -n -x "$SCRATCH/bk.lock" true && x=free || x=held
	echo "\$s \$x" >"$SCRATCH/probe"
	exit 1
	EOF
	chmod +x fakebin/sumcheck &&
	test_expect_code 1 timeout 60 guardlock other.lock env PATH="$SCRATCH/fakebin:$PATH" \
	    BACKUP_DIR="$SCRATCH/b" DRILL_LOCK="$SCRATCH/bk.lock" \
	    sh "$EX/restore-drill.sh" 2>err &&
	echo "shared-ok held" >want && test_cmp want probe &&
	test_grep "^restore-drill.sh: .*: sumcheck -c failed" err
'

# A backup directory that another user owns and writes (the DBA's, say):
# the attacker is user nobody.
if nobody_ok; then
	test_expect_success 'planted generations in BACKUP_DIR never push a real one out' '
		rm -rf b && mkdir b && chown nobody:nogroup b &&
		for i in 1 2 3; do timeout 60 env BACKUP_KEEP=1 backup || exit 1; sleep 1; done &&
		ls b/db-*.xbs.gz >real && test "$(wc -l <real)" -eq 2 &&
		as_nobody sh -c "for i in 1 2 3 4 5 6 7; do : >b/db-99999999-00000\$i.xbs.gz; : >b/db-99999999-00000\$i.xbs.gz.b2; done" &&
		timeout 60 env BACKUP_KEEP=1 backup &&
		ls b/db-*.xbs.gz >after &&
		test "$(grep -c 99999999 after)" -eq 7 &&
		test "$(grep -v 99999999 after | wc -l)" -eq 2 &&
		newest=$(grep -v 99999999 after | tail -n 1) &&
		gzip -dc "$newest" | cmp - data
	'
	test_expect_success 'restore-drill.sh drills the newest archive of ours, never a planted one' '
		rm -rf fakebin && mkdir fakebin &&
		printf "#!/bin/sh\necho \"\$3\" >\"%s/drilled\"\nexit 1\n" "$SCRATCH" >fakebin/sumcheck &&
		chmod +x fakebin/sumcheck &&
		test_expect_code 1 env PATH="$SCRATCH/fakebin:$PATH" BACKUP_DIR="$SCRATCH/b" \
		    sh "$EX/restore-drill.sh" 2>err &&
		echo "$SCRATCH/$(grep -v 99999999 after | tail -n 1)" >want && test_cmp want drilled &&
		test_expect_code 1 sh "$EX/restore-drill.sh" b/db-99999999-000007.xbs.gz 2>err &&
		test_grep "^restore-drill.sh: b/db-99999999-000007.xbs.gz: not a plain file of root.s: not drilled$" err
	'
	test_expect_success 'check-backups.sh reports the planted files as foreign, checks ours' '
		test_expect_code 2 sh "$EX/check-backups.sh" b >out &&
		test "$(grep -c ": foreign: not a plain file of root.s: not checked$" out)" -eq 7 &&
		test "$(wc -l <out)" -eq 7
	'
	test_expect_success 'a log link planted by the user who owns BACKUP_DIR: refused, the victim intact' '
		echo precious >victim && cp victim keep &&
		as_nobody ln -s "$SCRATCH/victim" b/db.log &&
		test_expect_code 2 timeout 60 env BACKUP_LOG="$SCRATCH/b/db.log" backup 2>err &&
		test_grep "^backup.sh: .*b: others may write it: keep BACKUP_LOG where only backup.sh.s user can write$" err &&
		test_cmp keep victim
	'
	test_expect_success 'in a private log directory, a planted link or FIFO is refused, without hanging' '
		ln -s "$SCRATCH/victim" logs/l.log && mkfifo logs/f.log &&
		test_expect_code 2 timeout 60 env BACKUP_LOG="$SCRATCH/logs/l.log" backup 2>err &&
		test_grep "l.log: not a plain file of ours: refusing to write the log there$" err &&
		test_expect_code 2 timeout 60 env BACKUP_LOG="$SCRATCH/logs/f.log" backup 2>err &&
		test_grep "f.log: not a plain file of ours" err && test_cmp keep victim
	'
else
	test_skip 'a backup directory others write' 'needs root, user nobody and setpriv'
fi

test_expect_success 'check-backups.sh removes an old temporary whose writer is gone, and says so' '
	rm -rf c && mkdir c && (cd c && seq 1000 | gzsafe --digest a.gz) &&
	: >c/.a.gz.999999999.5f.tmp && touch -d "2 hours ago" c/.a.gz.999999999.5f.tmp &&
	: >c/.a.gz.$$.5f.tmp && touch -d "2 hours ago" c/.a.gz.$$.5f.tmp &&
	: >c/.a.gz.999999998.6f.tmp &&
	sh "$EX/check-backups.sh" c >out &&
	echo "c/.a.gz.999999999.5f.tmp: removed: left by a commit that a crash cut short" >want &&
	test_cmp want out &&
	test -e c/.a.gz.$$.5f.tmp && test -e c/.a.gz.999999998.6f.tmp && test ! -e c/.a.gz.999999999.5f.tmp
'

test_expect_success 'restore-drill.sh: the server does not get the lock, whatever its descriptor number' '
	rm -rf b && mkdir b && mkdir tree && seq 1000 >tree/f &&
	tar -C tree -cf - f | gzsafe --digest b/db-20260101-000000.tar.gz &&
	mkdir fakebin2 && cat >fakebin2/mariadbd <<-EOF && chmod +x fakebin2/mariadbd &&
	#!/bin/sh
	ls -l /proc/\$\$/fd >"$SCRATCH/serverfds"
	exit 1
	EOF
	test_expect_code 1 env PATH="$SCRATCH/fakebin2:$PATH" MARIADBD="$SCRATCH/fakebin2/mariadbd" \
	    BACKUP_DIR="$SCRATCH/b" DRILL_STAGING="$SCRATCH" DRILL_TOOL=true \
	    DRILL_LOCK="$SCRATCH/dl.lock" \
	    guardlock other.lock sh "$EX/restore-drill.sh" 2>err 4>/dev/null &&
	test -s serverfds && ! grep -q "dl\.lock" serverfds &&
	test_grep "restored server did not start" err
'

test_done

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
cat >backup <<EOF
#!/bin/sh
exec env BACKUP_DIR="$SCRATCH/b" BACKUP_TOOL="$SCRATCH/fakebackup" BACKUP_DEFAULTS= \\
    BACKUP_SOCKET= FAKE_DATA="$SCRATCH/data" sh "$EX/backup.sh" "\$@"
EOF
chmod +x backup
PATH=$SCRATCH:$PATH

# hold NAME CMD...: CMD ... sh -c ..., holding until NAME.fifo is written.
hold()
{
	rm -f "$1.held"
	mkfifo "$1.fifo" || return 1
	_n=$1
	shift
	"$@" sh -c "touch $_n.held; read _ <$_n.fifo" </dev/null >/dev/null 2>&1 &
	wait_for "$_n.held" 20
}

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
	rm -rf b && mkdir b && : >b/db-20260101-000000.xbs.gz &&
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

test_done

#!/bin/sh
# examples/backup.sh and restore-drill.sh without a database: a fake backup
# tool streams fixed bytes, so that the scripts' own logic (the lock, what
# they commit) is tested in seconds. The real server is t5100's.
. "$(dirname "$0")/lib.sh"
need flock timeout gzip || skip_all 'flock(1), timeout(1) and gzip needed'
# The system log is tested below with a logger of our own, never the host's.

EX=$TOP/examples
gen_data 200000 5 >data

# The fake tool ignores its options and streams data; with FAKE_PROBE set it
# first records whether anyone but its own process tree could take that lock;
# with FAKE_WAIT=NAME it creates NAME.held and waits until NAME.fifo is
# written; it exits FAKE_EXIT.
cat >fakebackup <<'EOF'
#!/bin/sh
if [ -n "${FAKE_PROBE:-}" ]; then
	flock -n -x "$FAKE_PROBE" true 2>/dev/null && echo free >"$FAKE_OUT" || echo held >"$FAKE_OUT"
fi
if [ -n "${FAKE_WAIT:-}" ]; then
	touch "$FAKE_WAIT.held"
	read -r _ <"$FAKE_WAIT.fifo"
fi
cat "$FAKE_DATA"
exit "${FAKE_EXIT:-0}"
EOF
chmod +x fakebackup

# backup: examples/backup.sh on the fake tool, into $SCRATCH/b.
mkdir logs && chmod 700 logs
cat >backup <<EOF
#!/bin/sh
exec env BACKUP_DIR="\${BACKUP_DIR:-$SCRATCH/b}" BACKUP_TOOL="$SCRATCH/fakebackup" BACKUP_DEFAULTS= \\
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

test_expect_success 'the archive and its sidecar are private whatever the umask (022, 0)' '
	mkdir u22 u0 && chmod 755 u22 u0 &&
	(umask 022 && BACKUP_DIR=$SCRATCH/u22 timeout 60 backup) &&
	(umask 000 && BACKUP_DIR=$SCRATCH/u0 timeout 60 backup) &&
	set -- u22/db-*.xbs.gz u0/db-*.xbs.gz && test -f "$1" && test -f "$2" &&
	for f in "$1" "$1.b2" "$2" "$2.b2"; do
		test "$(stat -c %a "$f")" = 600 || { ls -l "$f"; exit 1; }
	done &&
	sh "$EX/check-backups.sh" u22 && sh "$EX/check-backups.sh" u0
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
	echo "00  db-20260101-000000.xbs.gz" >b/db-20260101-000000.xbs.gz.b2 &&
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
	test_grep "^restore-drill.sh: .*: sumcheck failed \(status 1\)$" err
'

# The drill checks the archive and its sidecar, then reads them only through
# the descriptors it checked: a name swapped in between (here by a sumcheck
# wrapper that runs once the checks are done) is never read. DRILL_TOOL=false
# stops the drill after the unpack, so reaching it proves steps 1 to 3 passed
# on the original.
test_expect_success 'restore-drill.sh: an archive swapped after its checks is never read' '
	rm -rf b sw fakebin && mkdir b sw fakebin &&
	seq 1 20000 >sw/rows && tar -cf - -C sw rows | gzsafe --digest b/db-20260101-000000.tar.gz &&
	echo forged | gzip >forged.gz && b2sum forged.gz | sed "s/forged.gz/db-20260101-000000.tar.gz/" >forged.b2 &&
	cat >fakebin/sumcheck <<-EOF &&
	#!/bin/sh
	mv -f "$SCRATCH/forged.gz" "$SCRATCH/b/db-20260101-000000.tar.gz" &&
	mv -f "$SCRATCH/forged.b2" "$SCRATCH/b/db-20260101-000000.tar.gz.b2" &&
	touch "$SCRATCH/swapped" &&
	exec "$BIN/sumcheck" "\$@"
	EOF
	chmod +x fakebin/sumcheck &&
	test_expect_code 1 env PATH="$SCRATCH/fakebin:$PATH" BACKUP_DIR="$SCRATCH/b" DRILL_TOOL=false \
	    DRILL_STAGING="$SCRATCH" sh "$EX/restore-drill.sh" 2>err &&
	test -e swapped &&
	test_grep "^restore-drill.sh: false --prepare failed" err &&
	test "$(ls -d restore-drill.* 2>/dev/null | wc -l)" -eq 0
'

# What stands at the archive's or the sidecar's name in a directory others
# may write is theirs to choose: a link to where root may create a file, a
# FIFO, nothing at all. None of it may be opened, created or waited on.
test_expect_success 'restore-drill.sh: a link, a FIFO or nothing at the sidecar'"'"'s name: one line, nothing created' '
	rm -rf b priv && mkdir b priv && chmod 700 priv &&
	A=$SCRATCH/b/db-20260101-000000.tar.gz &&
	seq 1 1000 | gzsafe --digest "$A" && rm "$A.b2" &&
	ln -s "$SCRATCH/priv/made" "$A.b2" &&
	test_expect_code 1 timeout 20 env BACKUP_DIR="$SCRATCH/b" sh "$EX/restore-drill.sh" 2>err &&
	echo "restore-drill.sh: $A.b2: not a plain file of $(id -un)'"'"'s that only they may write: not drilled" >want &&
	test_cmp want err && test ! -e priv/made &&
	rm "$A.b2" && mkfifo "$A.b2" &&
	test_expect_code 1 timeout 20 env BACKUP_DIR="$SCRATCH/b" sh "$EX/restore-drill.sh" 2>err &&
	test_cmp want err &&
	rm "$A.b2" &&
	test_expect_code 1 timeout 20 env BACKUP_DIR="$SCRATCH/b" sh "$EX/restore-drill.sh" 2>err &&
	echo "restore-drill.sh: $A.b2: no such file: not drilled" >want &&
	test_cmp want err && test ! -e "$A.b2" && test ! -L "$A.b2"
'

# The shell opens through links: the name must be refused before any open,
# not after an open for writing (which changes no byte, so strace tells).
if need strace; then
	test_expect_success 'restore-drill.sh: a link at the archive'"'"'s name to a file of root'"'"'s: refused, never opened' '
		rm -rf b && mkdir b &&
		echo precious >victim && touch -d "2020-01-01 00:00:00" victim && cp -p victim keep &&
		ln -s "$SCRATCH/victim" b/db-20260101-000000.tar.gz &&
		echo "00  db-20260101-000000.tar.gz" >b/db-20260101-000000.tar.gz.b2 &&
		test_expect_code 1 traced -f -qq -e trace=open,openat,creat -e signal=none -o trace \
		    sh "$EX/restore-drill.sh" b/db-20260101-000000.tar.gz 2>err &&
		echo "restore-drill.sh: b/db-20260101-000000.tar.gz: not a plain file of $(id -un)'"'"'s that only they may write: not drilled" >want &&
		test_cmp want err &&
		test_grep "openat\(" trace &&
		! grep -E "(victim|db-20260101-000000\.tar\.gz)\"" trace &&
		test_cmp keep victim &&
		test "$(stat -c %Y victim)" = "$(stat -c %Y keep)"
	'
else
	test_skip 'restore-drill.sh: a link at the archive'"'"'s name, never opened' 'strace not installed'
fi

# Between the test of the name and the open, another user may swap the name
# (here a stat wrapper does it once the open is done, the original kept
# alive elsewhere): the descriptor is then a fine file of ours, but not the
# one the name leads to, and the drill must stop.
test_expect_success 'restore-drill.sh: a descriptor that is not the file its name leads to: refused' '
	rm -rf b sw fakebin renamed && mkdir b sw fakebin &&
	A=$SCRATCH/b/db-20260101-000000.tar.gz &&
	seq 1 20000 >sw/rows && tar -cf - -C sw rows | gzsafe --digest "$A" &&
	cp -p "$A" other.gz &&
	cat >fakebin/stat <<-EOF &&
	#!/bin/sh
	if [ ! -e "$SCRATCH/renamed" ]; then
		mv -f "$A" "$SCRATCH/moved.gz" && mv -f "$SCRATCH/other.gz" "$A" &&
		touch "$SCRATCH/renamed" || exit 1
	fi
	exec $(command -v stat) "\$@"
	EOF
	chmod +x fakebin/stat &&
	test_expect_code 1 env PATH="$SCRATCH/fakebin:$PATH" BACKUP_DIR="$SCRATCH/b" DRILL_TOOL=false \
	    DRILL_STAGING="$SCRATCH" sh "$EX/restore-drill.sh" 2>err &&
	test -e renamed &&
	echo "restore-drill.sh: $A: not the file its name leads to (swapped as it was opened): not drilled" >want &&
	test_cmp want err
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
		printf "#!/bin/sh\nreadlink -f \"\$4\" >\"%s/drilled\"\nexit 1\n" "$SCRATCH" >fakebin/sumcheck &&
		chmod +x fakebin/sumcheck &&
		test_expect_code 1 env PATH="$SCRATCH/fakebin:$PATH" BACKUP_DIR="$SCRATCH/b" \
		    sh "$EX/restore-drill.sh" 2>err &&
		echo "$SCRATCH/$(grep -v 99999999 after | tail -n 1)" >want && test_cmp want drilled &&
		test_expect_code 1 sh "$EX/restore-drill.sh" b/db-99999999-000007.xbs.gz 2>err &&
		test_grep "^restore-drill.sh: b/db-99999999-000007.xbs.gz: not a plain file of root.s that only they may write: not drilled$" err
	'
	test_expect_success 'check-backups.sh reports the planted files as foreign, checks ours' '
		test_expect_code 2 sh "$EX/check-backups.sh" b >out &&
		test "$(grep -c ": foreign: not a plain file of root.s that only they may write: not checked$" out)" -eq 7 &&
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
	test_expect_success 'a private log directory inside one others may change: refused' '
		mkdir -p openlog/logs && chown nobody openlog && chmod 700 openlog/logs &&
		test_expect_code 2 timeout 60 env BACKUP_LOG="$SCRATCH/openlog/logs/db.log" backup 2>err &&
		test_grep "^backup.sh: $SCRATCH/openlog: others may change it, above the log directory $SCRATCH/openlog/logs: " err &&
		test ! -e openlog/logs/db.log
	'
else
	test_skip 'a backup directory others write' 'needs root, user nobody and setpriv'
fi

test_expect_success 'retention removes only names it gives: a copy kept by hand stays' '
	rm -rf b && mkdir b && echo kept | gzip >b/db-before-upgrade.xbs.gz &&
	for i in 1 2 3; do timeout 60 env BACKUP_KEEP=0 backup || exit 1; sleep 1; done &&
	test "$(ls b/db-2*.xbs.gz | wc -l)" -eq 1 &&
	echo kept >want && gzip -dc b/db-before-upgrade.xbs.gz | cmp - want
'

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

test_expect_success 'restore-drill.sh: the server does not get the lock, and the drill keeps it, whatever its descriptor number' '
	rm -rf b && mkdir b && mkdir tree && seq 1000 >tree/f &&
	tar -C tree -cf - f | gzsafe --digest b/db-20260101-000000.tar.gz &&
	mkdir fakebin2 && cat >fakebin2/mariadbd <<-EOF && chmod +x fakebin2/mariadbd &&
	#!/bin/sh
	ls -l /proc/\$\$/fd >"$SCRATCH/serverfds"
	flock -n -x "$SCRATCH/dl.lock" true && echo free >"$SCRATCH/lockstate" || echo held >"$SCRATCH/lockstate"
	exit 1
	EOF
	test_expect_code 1 env PATH="$SCRATCH/fakebin2:$PATH" MARIADBD="$SCRATCH/fakebin2/mariadbd" \
	    BACKUP_DIR="$SCRATCH/b" DRILL_STAGING="$SCRATCH" DRILL_TOOL=true \
	    DRILL_LOCK="$SCRATCH/dl.lock" \
	    guardlock other.lock sh "$EX/restore-drill.sh" 2>err 4>/dev/null &&
	test -s serverfds && ! grep -q "dl\.lock" serverfds &&
	echo held >want && test_cmp want lockstate &&
	test_grep "restored server did not start" err
'


# Metrics. value FILE SERIES: the value of one series, its name and labels
# exactly as written (through the environment: awk -v would undo escapes).
value()
{
	S=$2 awk 'index($0, ENVIRON["S"] " ") == 1 { print substr($0, length(ENVIRON["S"]) + 2) }' "$1"
}
mkdir m && chmod 755 m
M=$SCRATCH/m
P=$M/$(prom_name backup "$SCRATCH/b" db)
# shellcheck disable=SC2089,SC2090 # the quotes are the text format's
L="{dir=\"$SCRATCH/b\",name=\"db\""
# shellcheck disable=SC2090
R="$L,lock=\"$SCRATCH/bk.lock\"}"
# shellcheck disable=SC2090
export M P L R

test_expect_success 'SAFEPIPE_METRICS_DIR: a run: start, end, status 0, bytes in and out, the last success' '
	rm -rf b bk.lock && mkdir b &&
	before=$(date +%s) &&
	SAFEPIPE_METRICS_DIR=$M BACKUP_LOCK=$SCRATCH/bk.lock timeout 60 backup &&
	after=$(date +%s) &&
	set -- b/db-*.xbs.gz &&
	start=$(value "$P" "safepipe_backup_last_start_timestamp_seconds$L}") &&
	end=$(value "$P" "safepipe_backup_last_end_timestamp_seconds$L}") &&
	test "$before" -le "$start" && test "$start" -le "$end" && test "$end" -le "$after" &&
	test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 0 &&
	test "$(value "$P" "safepipe_backup_last_input_bytes$L}")" = "$(wc -c <data)" &&
	test "$(value "$P" "safepipe_backup_last_output_bytes$L}")" = "$(stat -c %s "$1")" &&
	test "$(value "$P" "safepipe_backup_last_success_timestamp_seconds$L}")" = "$end" &&
	test "$(value "$P" "safepipe_backup_refused_total$R")" = 0 &&
	test "$(value "$P" "safepipe_backup_last_refused_timestamp_seconds$R")" = 0 &&
	test "$(stat -c %a "$P")" = 644 &&
	test "$(grep -c "^# TYPE " "$P")" -eq 8 && test "$(grep -c "^# HELP " "$P")" -eq 8 &&
	test "$(grep -c "^# TYPE safepipe_backup_refused_total counter$" "$P")" -eq 1 &&
	test -z "$(find m -name ".*.prom.*" ! -name "*.lock")" &&
	cp "$P" good.prom
'

# (M/. names M, as M/ would.)
test_expect_success 'a failed run: its status, 0 bytes out, the last success kept' '
	rm -rf b && mkdir b &&
	test_expect_code 3 env SAFEPIPE_METRICS_DIR=$M/. FAKE_EXIT=3 timeout 60 backup 2>err &&
	test_grep "^backup.sh: gzsafe: .* exited with status 3" err &&
	! grep "metrics" err &&
	test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 3 &&
	test "$(value "$P" "safepipe_backup_last_output_bytes$L}")" = 0 &&
	test "$(value "$P" "safepipe_backup_last_success_timestamp_seconds$L}")" = \
	    "$(value good.prom "safepipe_backup_last_success_timestamp_seconds$L}")" &&
	end=$(value "$P" "safepipe_backup_last_end_timestamp_seconds$L}") &&
	test "$end" -ge "$(value good.prom "safepipe_backup_last_end_timestamp_seconds$L}")" &&
	test_expect_code 2 env SAFEPIPE_METRICS_DIR=$M BACKUP_STREAM=zip timeout 60 backup 2>err &&
	test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 2 &&
	test "$(value "$P" "safepipe_backup_last_success_timestamp_seconds$L}")" = \
	    "$(value good.prom "safepipe_backup_last_success_timestamp_seconds$L}")"
'

# The incident: a second start while the first runs. The first waits in the
# fake tool until released; the refused one must be counted, and the first
# one's end must not lose that count.
test_expect_success 'a refused start: counted, time-stamped, and kept by the run that held the lock' '
	rm -rf b first.* && mkdir b && mkfifo first.fifo &&
	n0=$(value "$P" "safepipe_backup_refused_total$R") &&
	end0=$(value "$P" "safepipe_backup_last_end_timestamp_seconds$L}") &&
	t0=$(date +%s) &&
	{ SAFEPIPE_METRICS_DIR=$M BACKUP_LOCK=$SCRATCH/bk.lock FAKE_WAIT=$SCRATCH/first \
	    timeout 60 backup >first.out 2>&1 & } &&
	wait_for first.held 30 || exit 1
	{
		# running: its start is there; the last end and status are
		# still those of the run before
		test "$(value "$P" "safepipe_backup_last_start_timestamp_seconds$L}")" -ge "$t0" &&
		test "$(value "$P" "safepipe_backup_last_end_timestamp_seconds$L}")" = "$end0" &&
		test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 2 &&
		before=$(date +%s) &&
		test_expect_code 75 env SAFEPIPE_METRICS_DIR=$M BACKUP_LOCK=$SCRATCH/bk.lock \
		    timeout 20 backup 2>err &&
		test "$(wc -l <err)" -eq 1 &&
		test_grep "^guardlock: $SCRATCH/bk.lock: busy: held by pid [0-9]+ \(sh\) on " err &&
		test_expect_code 75 env SAFEPIPE_METRICS_DIR=$M BACKUP_LOCK=$SCRATCH/bk.lock \
		    timeout 20 backup 2>err &&
		test "$(value "$P" "safepipe_backup_refused_total$R")" -eq $((n0 + 2)) &&
		test "$(value "$P" "safepipe_backup_last_refused_timestamp_seconds$R")" -ge "$before"
	}
	r=$?
	echo >first.fifo && wait && test "$r" -eq 0 &&
	test ! -s first.out &&
	test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 0 &&
	test "$(value "$P" "safepipe_backup_refused_total$R")" -eq $((n0 + 2)) &&
	test -z "$(find logs -name ".backup.sh.*")"
'

# The second pass killed by SIGKILL (by its producer here, as an admin or
# a watchdog might) records nothing itself: the first pass does. gzsafe,
# orphaned, still holds the lock: taking it waits for gzsafe's end.
test_expect_success 'the second pass killed by SIGKILL: its status recorded by the first' '
	rm -rf b && mkdir b &&
	printf "#!/bin/sh\nkill -KILL \$(ps -o ppid= -p \$PPID)\nexit 3\n" >killer && chmod +x killer &&
	before=$(date +%s) &&
	test_expect_code 137 env SAFEPIPE_METRICS_DIR=$M BACKUP_LOCK=$SCRATCH/bk.lock \
	    BACKUP_DIR="$SCRATCH/b" BACKUP_TOOL="$SCRATCH/killer" BACKUP_DEFAULTS= BACKUP_SOCKET= \
	    BACKUP_LOG="$SCRATCH/logs/db.log" timeout 60 sh "$EX/backup.sh" 2>err &&
	timeout 60 guardlock "$SCRATCH/bk.lock" true &&
	test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 137 &&
	test "$(value "$P" "safepipe_backup_last_end_timestamp_seconds$L}")" -ge "$before" &&
	test -z "$(ls b)" &&
	SAFEPIPE_METRICS_DIR=$M BACKUP_LOCK=$SCRATCH/bk.lock timeout 60 backup &&
	test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 0
'

test_expect_success 'a lock file guardlock refuses (not busy): a failed run, recorded' '
	rm -rf b && mkdir b && chmod 644 bk.lock &&
	n0=$(value "$P" "safepipe_backup_refused_total$R") &&
	test_expect_code 125 env SAFEPIPE_METRICS_DIR=$M BACKUP_LOCK=$SCRATCH/bk.lock \
	    timeout 20 backup 2>err &&
	test_grep "^guardlock: $SCRATCH/bk.lock: " err &&
	test "$(value "$P" "safepipe_backup_last_exit_status$L}")" = 125 &&
	test "$(value "$P" "safepipe_backup_refused_total$R")" = "$n0" &&
	chmod 600 bk.lock
'

if need promtool; then
	test_expect_success 'promtool check metrics: the file is clean' '
		promtool check metrics <"$P" >lint 2>&1 || { cat lint; exit 1; }
		test ! -s lint || { cat lint; exit 1; }
	'
else
	test_skip 'promtool check metrics' 'promtool not installed (Debian: prometheus)'
fi

test_expect_success 'a metrics directory missing or others may write: the backup runs, one line, 0' '
	rm -rf b && mkdir b open && chmod 1777 open &&
	timeout 60 env SAFEPIPE_METRICS_DIR=$SCRATCH/open backup 2>err &&
	echo "backup.sh: $SCRATCH/open: others may write it: metrics not written (SAFEPIPE_METRICS_DIR)" >want &&
	test_cmp want err && test -z "$(ls -A open)" &&
	set -- b/db-*.xbs.gz && gzip -dc "$1" | cmp - data &&
	rm -rf b && mkdir b &&
	test_expect_code 3 env SAFEPIPE_METRICS_DIR=$SCRATCH/nonesuch FAKE_EXIT=3 timeout 60 backup 2>err &&
	test "$(wc -l <err)" -eq 2 &&
	test_grep "^backup.sh: $SCRATCH/nonesuch: no such directory: metrics not written \(SAFEPIPE_METRICS_DIR\)$" err &&
	test_grep "^backup.sh: gzsafe: .* exited with status 3" err
'

test_expect_success 'a link in the metrics directory'"'"'s place: not followed, nothing written there' '
	rm -rf b elsewhere mlink && mkdir b elsewhere && chmod 755 elsewhere &&
	ln -s elsewhere mlink &&
	timeout 60 env SAFEPIPE_METRICS_DIR=$SCRATCH/mlink backup 2>err &&
	test_grep "^backup.sh: $SCRATCH/mlink: not the directory its name leads to \(a link to another, or moved away\): metrics not written" err &&
	test -z "$(ls -A elsewhere)"
'

test_expect_success 'metrics file names are one to one: s/db and s_db, name db, get a file each' '
	rm -rf s s_db && mkdir -p s/db s_db mm && chmod 755 mm &&
	SAFEPIPE_METRICS_DIR=$SCRATCH/mm BACKUP_DIR=$SCRATCH/s/db timeout 60 backup &&
	SAFEPIPE_METRICS_DIR=$SCRATCH/mm BACKUP_DIR=$SCRATCH/s_db timeout 60 backup &&
	{ prom_name backup "$SCRATCH/s/db" db && prom_name backup "$SCRATCH/s_db" db; } | sort >want &&
	ls mm >got && test_cmp want got &&
	test_grep "^safepipe_backup_last_exit_status\{dir=\"$SCRATCH/s/db\",name=\"db\"\} 0$" "mm/$(prom_name backup "$SCRATCH/s/db" db)" &&
	test_grep "^safepipe_backup_last_exit_status\{dir=\"$SCRATCH/s_db\",name=\"db\"\} 0$" "mm/$(prom_name backup "$SCRATCH/s_db" db)"
'

# Debian's layout: /var/lib/prometheus (user prometheus's) holds
# node-exporter (root's, 0755). Here the parent is nobody's.
if nobody_ok; then
	test_expect_success 'a metrics directory of root'"'"'s under a parent of another user'"'"'s: metrics written' '
		rm -rf b prom && mkdir b prom && mkdir -m 755 prom/ne && chown nobody prom &&
		Q=$SCRATCH/prom/ne/$(prom_name backup "$SCRATCH/b" db) &&
		SAFEPIPE_METRICS_DIR=$SCRATCH/prom/ne BACKUP_LOCK=$SCRATCH/bk.lock timeout 60 backup 2>err &&
		test ! -s err &&
		test "$(value "$Q" "safepipe_backup_last_exit_status$L}")" = 0 &&
		test "$(value "$Q" "safepipe_backup_refused_total$R")" = 0 &&
		test "$(value "$Q" "safepipe_backup_last_success_timestamp_seconds$L}")" -gt 0 &&
		test "$(stat -c %a "$Q")" = 644
	'
	if need promtool; then
		test_expect_success 'those metrics: promtool check metrics is clean' '
			promtool check metrics <"prom/ne/$(prom_name backup "$SCRATCH/b" db)" >lint 2>&1 &&
			test ! -s lint || { cat lint; exit 1; }
		'
	else
		test_skip 'promtool check metrics' 'promtool needed'
	fi

	# The parent'"'"'s owner swaps the directory while the backup runs (the
	# fake tool waits) and plants a link to a file of root'"'"'s to be under the
	# lock'"'"'s name, and a FIFO under the file'"'"'s: neither is followed or opened.
	test_expect_success 'the metrics directory swapped mid-run by its parent'"'"'s owner: nothing planted is used' '
		rm -rf b first.* && mkdir b && mkfifo first.fifo &&
		{ SAFEPIPE_METRICS_DIR=$SCRATCH/prom/ne FAKE_WAIT=$SCRATCH/first \
		    timeout 60 backup >first.out 2>&1; echo $? >first.status; } &
		wait_for first.held 30 &&
		n=$(prom_name backup "$SCRATCH/b" db) &&
		as_nobody sh -c "mv prom/ne prom/old && mkdir -m 755 prom/ne &&
		    ln -s $SCRATCH/nologin prom/ne/.$n.lock && mkfifo prom/ne/$n && ln -s $SCRATCH/nologin prom/ne/.$n.tmp" &&
		echo >first.fifo && wait &&
		test "$(cat first.status)" = 0 &&
		test ! -e nologin &&
		echo "backup.sh: $SCRATCH/prom/ne: others may write it: metrics not written (SAFEPIPE_METRICS_DIR)" >want &&
		test_cmp want first.out &&
		test "$(ls -A prom/ne | wc -l)" -eq 3 && test -p "prom/ne/$n"
	'
else
	test_skip 'a metrics directory under a parent of another user'"'"'s' 'needs root, user nobody and setpriv'
fi

test_expect_success 'unset, no metrics' '
	rm -rf b && mkdir b && cp -p "$P" before.prom &&
	timeout 60 backup && rm -rf b && mkdir b &&
	env SAFEPIPE_METRICS_DIR= timeout 60 backup &&
	test_cmp before.prom "$P"
'

# The system log: a logger of our own, first on PATH, records its arguments.
mkdir logbin
cat >logbin/logger <<EOF
#!/bin/sh
printf '%s|' "\$@" >>"$SCRATCH/logged"
echo >>"$SCRATCH/logged"
EOF
chmod +x logbin/logger

test_expect_success 'failure lines reach the system log: tag safepipe-backup, user.err' '
	rm -rf b logged && mkdir b &&
	test_expect_code 3 env PATH="$SCRATCH/logbin:$PATH" SAFEPIPE_SYSLOG=1 FAKE_EXIT=3 \
	    timeout 60 backup 2>err &&
	echo "-t|safepipe-backup|-p|user.err|--|$(cat err)|" >want &&
	test_cmp want logged &&
	rm -rf logged b && mkdir b && mkfifo second.fifo &&
	{ BACKUP_LOCK=$SCRATCH/bk.lock FAKE_WAIT=$SCRATCH/second timeout 60 backup & } &&
	wait_for second.held 30 || exit 1
	test_expect_code 75 env PATH="$SCRATCH/logbin:$PATH" SAFEPIPE_SYSLOG=1 \
	    BACKUP_LOCK=$SCRATCH/bk.lock timeout 20 backup 2>err
	r=$?
	echo >second.fifo && wait && test "$r" -eq 0 &&
	echo "-t|safepipe-backup|-p|user.err|--|$(cat err)|" >want &&
	test_cmp want logged &&
	rm -rf logged b && mkdir b &&
	test_expect_code 1 env PATH="$SCRATCH/logbin:$PATH" SAFEPIPE_SYSLOG=1 BACKUP_DIR="$SCRATCH/b" \
	    sh "$EX/restore-drill.sh" 2>err &&
	test_grep "^restore-drill.sh: .*: no db-\*.gz backup of root.s to drill$" err &&
	echo "-t|safepipe-backup|-p|user.err|--|$(cat err)|" >want &&
	test_cmp want logged &&
	rm -f logged && rm -rf b && mkdir b &&
	env PATH="$SCRATCH/logbin:$PATH" SAFEPIPE_SYSLOG=1 timeout 60 backup &&
	rm -rf b && mkdir b &&
	test_expect_code 3 env PATH="$SCRATCH/logbin:$PATH" SAFEPIPE_SYSLOG=0 FAKE_EXIT=3 \
	    timeout 60 backup 2>err &&
	test ! -e logged
'

test_expect_success 'restore-drill.sh: DRILL_LOCK still busy after its wait: guardlock'"'"'s line logged too' '
	rm -f logged third.fifo && mkfifo third.fifo &&
	{ guardlock bk.lock sh -c "touch third.held; read _ <third.fifo" & } &&
	wait_for third.held 30 || exit 1
	test_expect_code 75 env PATH="$SCRATCH/logbin:$PATH" SAFEPIPE_SYSLOG=1 BACKUP_DIR="$SCRATCH/b" \
	    DRILL_LOCK=$SCRATCH/bk.lock DRILL_WAIT=0 sh "$EX/restore-drill.sh" 2>err
	r=$?
	echo >third.fifo && wait && test "$r" -eq 0 &&
	test_grep "^guardlock: $SCRATCH/bk.lock: busy: " err &&
	echo "-t|safepipe-backup|-p|user.err|--|$(cat err)|" >want &&
	test_cmp want logged
'

# The real logger(1), onto a datagram socket of our own, as /dev/log would
# receive it: priority user.err is <11>, and the tag precedes the line.
if need logger python3; then
	test_expect_success 'through the real logger(1): <11>, the tag, the line' '
		real=$(command -v logger) &&
		mkdir reallog && printf "#!/bin/sh\nexec \"%s\" -u \"%s\" --socket-errors=on \"\$@\"\n" \
		    "$real" "$SCRATCH/log.sock" >reallog/logger && chmod +x reallog/logger &&
		{ timeout 30 python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + \".ready\", \"w\").close()
open(sys.argv[2], \"wb\").write(s.recv(65536) + b\"\\n\")
" "$SCRATCH/log.sock" "$SCRATCH/received" & } &&
		wait_for received.ready 20 &&
		rm -rf b && mkdir b &&
		test_expect_code 3 env PATH="$SCRATCH/reallog:$PATH" SAFEPIPE_SYSLOG=1 FAKE_EXIT=3 \
		    timeout 60 backup 2>err &&
		wait &&
		test_grep "^<11>.* safepipe-backup(\[[0-9]+\])?: backup.sh: gzsafe: .* exited with status 3" received
	'
else
	test_skip 'through the real logger(1)' 'logger or python3 missing'
fi

test_done

#!/bin/sh
# make install: the programs and man pages, the example scripts where the
# cron and systemd examples call them, the examples and the alert rules in
# share/safepipe; then from that install to a monitored nightly backup by
# the installed cron file alone; make uninstall takes it all away. make runs
# in a copy of the tree, so that the build under test is never touched.
. "$(dirname "$0")/lib.sh"
need make tar || skip_all 'make and tar needed'


mkdir src && tar -C "$TOP" --exclude=./.git -cf - . | tar -C src -xf - || exit 1
ROOT=$SCRATCH/root
S=$ROOT/usr/local/share/safepipe
export ROOT S

test_expect_success 'make install DESTDIR: programs, scripts, examples, rules' '
	make -s -C src install DESTDIR="$ROOT" >out 2>&1 || { cat out; exit 1; }
	(cd "$ROOT" && find . -type f -printf "%m %P\n" | sort) >got &&
	cat >want <<-\EOF &&
	644 usr/local/share/man/man1/guardlock.1
	644 usr/local/share/man/man1/gzsafe.1
	644 usr/local/share/man/man1/sumcheck.1
	644 usr/local/share/safepipe/backup.cron
	644 usr/local/share/safepipe/backup.service
	644 usr/local/share/safepipe/backup.timer
	644 usr/local/share/safepipe/check-backups.service
	644 usr/local/share/safepipe/check-backups.timer
	644 usr/local/share/safepipe/prometheus/safepipe.rules.yml
	644 usr/local/share/safepipe/prometheus/safepipe.tests.yml
	644 usr/local/share/safepipe/safepipe-failure@.service
	755 usr/local/bin/guardlock
	755 usr/local/bin/gzsafe
	755 usr/local/bin/sumcheck
	755 usr/local/sbin/backup.sh
	755 usr/local/sbin/check-backups.sh
	755 usr/local/sbin/restore-drill.sh
	EOF
	test_cmp want got &&
	for f in backup.sh restore-drill.sh check-backups.sh; do
		cmp "$TOP/examples/$f" "$ROOT/usr/local/sbin/$f" || exit 1
	done &&
	cmp "$TOP/examples/backup.cron" "$S/backup.cron" &&
	cmp "$TOP/examples/prometheus/safepipe.rules.yml" "$S/prometheus/safepipe.rules.yml"
'

# root's umask is often 077: what make install creates must still be for
# everyone to run and read.
test_expect_success 'make install under umask 077: directories 755, files 755 or 644' '
	(umask 077 && make -s -C src install DESTDIR="$SCRATCH/u077") >out 2>&1 ||
	    { cat out; exit 1; }
	(cd "$SCRATCH/u077" && find . -mindepth 1 -type d | sort | xargs stat -c "%a %n") >got &&
	cat >want <<-\EOF &&
	755 ./usr
	755 ./usr/local
	755 ./usr/local/bin
	755 ./usr/local/sbin
	755 ./usr/local/share
	755 ./usr/local/share/man
	755 ./usr/local/share/man/man1
	755 ./usr/local/share/safepipe
	755 ./usr/local/share/safepipe/prometheus
	EOF
	test_cmp want got &&
	test "$(stat -c %a "$SCRATCH/u077")" = 755 &&
	(cd "$SCRATCH/u077" && find . -type f | sort | xargs stat -c "%a %n") >got &&
	(cd "$ROOT" && find . -type f | sort | xargs stat -c "%a %n") >want &&
	test_cmp want got
'

test_expect_success 'make install: a directory that is there already keeps its mode' '
	mkdir -p "$SCRATCH/pre/usr/local/bin" && chmod 2775 "$SCRATCH/pre/usr/local/bin" &&
	make -s -C src install DESTDIR="$SCRATCH/pre" >out 2>&1 || { cat out; exit 1; }
	test "$(stat -c %a "$SCRATCH/pre/usr/local/bin")" = 2775 &&
	test "$(stat -c %a "$SCRATCH/pre/usr/local/bin/gzsafe")" = 755
'

if nobody_ok; then
	test_expect_success 'installed under umask 077: another user runs the tools, reads the pages' '
		b=$SCRATCH/u077/usr/local &&
		as_nobody "$b/bin/gzsafe" --version >out &&
		test_grep "^gzsafe " out &&
		as_nobody "$b/bin/guardlock" --version &&
		as_nobody "$b/bin/sumcheck" --version &&
		as_nobody cat "$b/share/man/man1/gzsafe.1" >page &&
		cmp page "$TOP/man/gzsafe.1" &&
		as_nobody sh -n "$b/sbin/backup.sh"
	'
else
	test_skip 'installed under umask 077: another user runs them' 'needs root, user nobody and setpriv'
fi

test_expect_success 'every script the cron and systemd examples call is installed there' '
	grep -ho "/usr/local/[a-z]*bin/[a-z.-]*" "$S"/backup.cron "$S"/*.service |
	    sort -u >called &&
	cat >want <<-\EOF &&
	/usr/local/sbin/backup.sh
	/usr/local/sbin/check-backups.sh
	/usr/local/sbin/restore-drill.sh
	EOF
	test_cmp want called &&
	while read -r p; do
		test -x "$ROOT$p" || { echo "$p: not installed"; exit 1; }
	done <called
'

test_expect_success 'PREFIX: the examples name the installed paths' '
	make -s -C src install DESTDIR="$SCRATCH/opt" PREFIX=/opt/sp >out 2>&1 || { cat out; exit 1; }
	s=$SCRATCH/opt/opt/sp/share/safepipe &&
	test_grep "^PATH=/opt/sp/bin:/opt/sp/sbin:" "$s/backup.cron" &&
	test_grep " sh /opt/sp/sbin/backup.sh$" "$s/backup.cron" &&
	test_grep "^ExecStart=/bin/sh /opt/sp/sbin/backup.sh$" "$s/backup.service" &&
	test_grep "^Environment=PATH=/opt/sp/bin:" "$s/check-backups.service" &&
	! grep -r /usr/local "$s" &&
	test -x "$SCRATCH/opt/opt/sp/sbin/check-backups.sh"
'

# The installed cron file, run as cron would run it (its variables, then
# each command line with sh -c), with /run, /backups and the textfile
# directory moved into the scratch directory and /usr/local into the
# install. The backup tool is a fake that streams fixed bytes.
gen_data 100000 3 >data
printf '#!/bin/sh\ncat "%s/data"\n' "$SCRATCH" >fakebackup && chmod +x fakebackup
mkdir run backups textfile && chmod 755 textfile && mkdir -m 700 logs
sed -e "s|/usr/local|$ROOT/usr/local|g" -e "s|/run/|$SCRATCH/run/|g" \
    -e "s|/var/lib/prometheus/node-exporter|$SCRATCH/textfile|g" \
    -e "s| /backups | $SCRATCH/backups |g" "$S/backup.cron" >cron
# cronjob MINUTE HOUR: run the line with that schedule.
cronjob()
{
	awk '/^[A-Z_]+=/ { print "export " $0 }' cron >cron.env &&
	cmd=$(awk -v m="$1" -v h="$2" '$1 == m && $2 == h { $1 = $2 = $3 = $4 = $5 = $6 = ""; print }' cron) &&
	test -n "$cmd" &&
	env BACKUP_DIR="$SCRATCH/backups" BACKUP_TOOL="$SCRATCH/fakebackup" BACKUP_DEFAULTS= \
	    BACKUP_SOCKET= BACKUP_LOG="$SCRATCH/logs/db.log" \
	    sh -c ". ./cron.env && $cmd"
}

test_expect_success 'the installed cron file: a nightly backup, an hourly check, both with metrics' '
	test "$(awk "/^[0-9*]/" cron | wc -l)" -eq 3 &&
	cronjob 0 0 >out 2>&1 && test ! -s out &&
	set -- backups/db-*.xbs.gz && test -f "$1" && test -f "$1.b2" &&
	gzip -dc "$1" | cmp - data &&
	cronjob 15 "*" >out 2>&1 && test ! -s out &&
	test -f "textfile/$(prom_name backup "$SCRATCH/backups" db)" &&
	test -f "textfile/$(prom_name check "$SCRATCH/backups")" &&
	grep -q "^safepipe_check_archives{.*verdict=\"ok\"} 1$" textfile/safepipe-check-*.prom &&
	grep -q "^safepipe_check_lock_held_seconds{dir=\"$SCRATCH/backups\",lock=\"$SCRATCH/run/backup.lock\",mode=\"exclusive\"} 0$" \
	    textfile/safepipe-check-*.prom &&
	grep -q "^safepipe_backup_last_exit_status{.*} 0$" textfile/safepipe-backup-*.prom
'

if need promtool; then
	# (the same bytes as examples/prometheus, which t5400 tests)
	test_expect_success 'the installed rules load: promtool check rules' '
		promtool check rules "$S/prometheus/safepipe.rules.yml" >out 2>&1 || { cat out; exit 1; }
	'
else
	test_skip 'the installed rules load' 'promtool not installed (Debian: prometheus)'
fi

if need systemd-analyze; then
	test_expect_success 'systemd-analyze verify: the installed units load, OnFailure= found' '
		for u in backup.service backup.timer check-backups.service check-backups.timer; do
			systemd-analyze verify "$S/$u" >out 2>&1 && test ! -s out ||
			    { echo "$u:"; cat out; exit 1; }
		done &&
		test_grep "^OnFailure=safepipe-failure@%n.service$" "$S/backup.service"
	'
else
	test_skip 'systemd-analyze verify' 'systemd-analyze not installed'
fi

test_expect_success 'make uninstall: nothing left' '
	make -s -C src uninstall DESTDIR="$ROOT" >out 2>&1 || { cat out; exit 1; }
	test -z "$(find "$ROOT" -type f)" && test ! -e "$S"
'

test_done

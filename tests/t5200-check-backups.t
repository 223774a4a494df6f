#!/bin/sh
# examples/check-backups.sh without a database: each verdict and its exit
# status, worst first, on archives written by gzsafe and a lock held by
# guardlock. (t5100 runs it against real mariabackup archives.)
. "$(dirname "$0")/lib.sh"

CHECK=$TOP/examples/check-backups.sh
# The system log is tested below with a logger of our own, never the host's.
export CHECK

mkdir backups &&
seq 1 1000 | gzsafe --digest backups/a.gz &&
seq 1 2000 | gzsafe --digest backups/b.gz || exit 1
cp backups/a.gz good.gz

# Wait, bounded, until guardlock itself reports an age of a second or more
# for the holder of LOCK: then "more than 0 seconds" is a fact, not a guess.
age_at_least_1s()
{
	_i=0
	until guardlock --status "$1" | grep -q "([1-9][0-9dhms]* ago)$"; do
		_i=$((_i + 1))
		if [ "$_i" -gt 600 ]; then
			echo "age never reached 1s"
			return 1
		fi
		sleep 0.05
	done
}

test_expect_success 'every archive verifies: silent, 0; a lock file not there (after a reboot): no holder, 0' '
	sh "$CHECK" backups >out 2>err &&
	test ! -s out && test ! -s err &&
	sh "$CHECK" backups lk >out 2>err &&
	test ! -s out && test ! -s err &&
	mkfifo lkf && test_expect_code 2 sh "$CHECK" backups lkf >out &&
	test_grep "^lkf: unverifiable: guardlock --status could not tell" out && rm lkf
'

# The holder sits in cat until the test opens and closes the FIFO.
test_expect_success 'a lock held past MAX_SECONDS: 3, the holder named; briefly held: 0' '
	mkfifo hold || exit 1
	guardlock lk sh -c "touch held; exec cat hold >/dev/null" &
	pid=$!
	wait_for held 60 &&
	sh "$CHECK" backups lk >out && test ! -s out &&
	age_at_least_1s lk &&
	test_expect_code 3 sh "$CHECK" backups lk 0 >out &&
	test "$(wc -l <out)" -eq 1 &&
	test_grep "^lk: held for more than 0s: held by pid $pid \\(sh\\) on $(hostname) since " out &&
	: >hold && wait $pid &&
	sh "$CHECK" backups lk 0 >out && test ! -s out
'

# A holder that writes no record (shared, flock(1)) is aged by its process.
for kind in "guardlock -s" "flock -s" "flock"; do
	test_expect_success "a $kind holder held past MAX_SECONDS: 3 as well" '
		rm -f held hold && mkfifo hold && chmod 600 lk || exit 1
		'"$kind"' lk sh -c "touch held; exec cat hold >/dev/null" &
		pid=$!
		wait_for held 60 &&
		age_at_least_1s lk &&
		test_expect_code 3 sh "$CHECK" backups lk 0 >out &&
		test "$(wc -l <out)" -eq 1 &&
		test_grep "^lk: held for more than 0s: held (shared )?by pid [0-9]+ \\(.*\\), .*running since .* ago\\)$" out &&
		: >hold && wait $pid &&
		sh "$CHECK" backups lk 0 >out && test ! -s out
	'
done

test_expect_success 'no sidecar: 2, unverifiable' '
	mv backups/b.gz.b2 b.b2 &&
	test_expect_code 2 sh "$CHECK" backups >out &&
	echo "backups/b.gz: unverifiable: no sidecar backups/b.gz.b2" >want &&
	test_cmp want out &&
	mv b.b2 backups/b.gz.b2
'

test_expect_success 'a flipped byte: 1, corrupt, and corrupt outranks unverifiable' '
	printf "\\377" | dd of=backups/a.gz bs=1 seek=100 conv=notrunc 2>/dev/null &&
	! cmp -s backups/a.gz good.gz &&
	test_expect_code 1 sh "$CHECK" backups >out &&
	echo "backups/a.gz: corrupt: does not match its digest" >want &&
	test_cmp want out &&
	mv backups/b.gz.b2 b.b2 &&
	test_expect_code 1 sh "$CHECK" backups >out &&
	test "$(wc -l <out)" -eq 2 &&
	mv b.b2 backups/b.gz.b2 && cp good.gz backups/a.gz &&
	sh "$CHECK" backups
'

test_expect_success 'an empty directory is a missing backup: 2' '
	mkdir empty &&
	test_expect_code 2 sh "$CHECK" empty >out &&
	test_grep "^empty: missing: no backup" out
'

test_expect_success 'bad usage: 2 and a usage line' '
	test_expect_code 2 sh "$CHECK" 2>err &&
	test_grep "^usage: check-backups.sh" err &&
	test_expect_code 2 sh "$CHECK" -x backups 2>err &&
	test_grep "^usage: check-backups.sh \[-a max-age\] \[-m metrics-dir\] dir" err &&
	test_expect_code 2 sh "$CHECK" -a 1h backups 2>err &&
	echo "check-backups.sh: 1h: not a number of seconds" >want && test_cmp want err
'

# Freshness. An archive's age is its mtime: ago SECONDS FILE... sets it.
ago() { _t=$(($(date +%s) - $1)); shift; touch -d "@$_t" "$@"; }

test_expect_success 'the newest archive that verifies is older than -a: 4, one line naming it and its age' '
	ago 180000 backups/a.gz && ago 90000 backups/b.gz &&
	test_expect_code 4 sh "$CHECK" -a 3600 backups >out &&
	echo "backups/b.gz: too old: the newest archive that verifies was written 1d01h ago (limit 1h00m)" >want &&
	test_cmp want out &&
	test_expect_code 4 env CHECK_MAX_AGE=3600 sh "$CHECK" backups >out &&
	test_cmp want out &&
	sh "$CHECK" -a 100000 backups >out && test ! -s out
'

test_expect_success 'the default limit is 26 hours; -a goes before the operands of the old form' '
	ago $((25 * 3600)) backups/a.gz backups/b.gz &&
	sh "$CHECK" backups >out && test ! -s out &&
	ago $((27 * 3600)) backups/b.gz &&
	sh "$CHECK" backups >out && test ! -s out &&
	ago $((27 * 3600)) backups/a.gz &&
	test_expect_code 4 sh "$CHECK" backups >out &&
	test_grep "^backups/[ab].gz: too old: .* 1d03h ago \(limit 1d02h\)$" out &&
	guardlock -n lk true &&
	test_expect_code 4 sh "$CHECK" -a 93600 backups lk 21600 >out &&
	test "$(wc -l <out)" -eq 1
'

test_expect_success 'newest corrupt, an older one verifies: both facts, and corrupt wins (1)' '
	ago 180000 backups/a.gz && touch backups/b.gz && cp -p backups/b.gz b.good &&
	printf "\\377" | dd of=backups/b.gz bs=1 seek=100 conv=notrunc 2>/dev/null &&
	test_expect_code 1 sh "$CHECK" backups >out &&
	cat >want <<-\EOF &&
	backups/b.gz: corrupt: does not match its digest
	backups/a.gz: too old: the newest archive that verifies was written 2d02h ago (limit 1d02h)
	EOF
	test_cmp want out &&
	cp b.good backups/b.gz && sh "$CHECK" backups
'

test_expect_success 'worst first: unverifiable (2) before too old (4) before a long-held lock (3)' '
	ago 180000 backups/a.gz backups/b.gz &&
	rm -f held hold && mkfifo hold || exit 1
	guardlock lk sh -c "touch held; exec cat hold >/dev/null" &
	pid=$!
	wait_for held 60 &&
	age_at_least_1s lk &&
	test_expect_code 4 sh "$CHECK" backups lk 0 >out &&
	test "$(wc -l <out)" -eq 2 &&
	test_grep "^backups/[ab].gz: too old: " out && test_grep "^lk: held for more than 0s: " out &&
	mv backups/a.gz.b2 a.b2 &&
	test_expect_code 2 sh "$CHECK" backups lk 0 >out &&
	test "$(wc -l <out)" -eq 3 &&
	mv a.b2 backups/a.gz.b2 &&
	: >hold && wait $pid &&
	test_expect_code 4 sh "$CHECK" backups lk 0 >out &&
	touch backups/a.gz backups/b.gz &&
	sh "$CHECK" backups lk 0
'

# Metrics for node_exporter's textfile collector. value FILE SERIES: the
# value of one series, its name and labels exactly as written (through the
# environment: awk -v would undo the escapes).
value()
{
	S=$2 awk 'index($0, ENVIRON["S"] " ") == 1 { print substr($0, length(ENVIRON["S"]) + 2) }' "$1"
}

F=m/$(prom_name check backups)
export F

test_expect_success '-m: safepipe-check-DIR-HASH.prom, atomically, readable by node_exporter' '
	mkdir m && chmod 755 m &&
	ago 7200 backups/a.gz && touch backups/b.gz &&
	before=$(date +%s) &&
	sh "$CHECK" -m m backups lk >out && test ! -s out &&
	after=$(date +%s) &&
	prom_name check backups >want && ls -A m >got && test_cmp want got &&
	f=$F &&
	test "$(stat -c %a $f)" = 644 &&
	d="{dir=\"backups\"" &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"ok\"}")" = 2 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"corrupt\"}")" = 0 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"unverifiable\"}")" = 0 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"foreign\"}")" = 0 &&
	test "$(value $f "safepipe_check_newest_verified_timestamp_seconds$d}")" = "$(stat -c %Y backups/b.gz)" &&
	test "$(value $f "safepipe_check_newest_verified_size_bytes$d}")" = "$(stat -c %s backups/b.gz)" &&
	test "$(value $f "safepipe_check_max_age_seconds$d}")" = 93600 &&
	test "$(value $f "safepipe_check_exit_status$d}")" = 0 &&
	t=$(value $f "safepipe_check_last_run_timestamp_seconds$d}") &&
	test "$t" -ge "$before" && test "$t" -le "$after" &&
	value $f "safepipe_check_duration_seconds$d}" | grep -Eq "^[0-9]+\.[0-9]{3}$" &&
	test "$(value $f "safepipe_check_lock_held_seconds$d,lock=\"lk\",mode=\"exclusive\"}")" = 0 &&
	test "$(value $f "safepipe_check_lock_held_seconds$d,lock=\"lk\",mode=\"shared\"}")" = 0 &&
	test "$(value $f "safepipe_check_lock_max_seconds$d,lock=\"lk\"}")" = 21600 &&
	test "$(grep -c "^# HELP " $f)" -eq 9 && test "$(grep -c "^# TYPE " $f)" -eq 9
'

test_expect_success 'the metrics follow the verdicts: corrupt, unverifiable, foreign, none verified' '
	cp -p backups/a.gz a.good &&
	printf "\\377" | dd of=backups/a.gz bs=1 seek=100 conv=notrunc 2>/dev/null &&
	mv backups/b.gz.b2 b.b2 && ln -s a.gz backups/c.gz &&
	test_expect_code 1 env SAFEPIPE_METRICS_DIR=m sh "$CHECK" -a 60 backups >out &&
	f=$F && d="{dir=\"backups\"" &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"ok\"}")" = 0 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"corrupt\"}")" = 1 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"unverifiable\"}")" = 1 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"foreign\"}")" = 1 &&
	test "$(value $f "safepipe_check_newest_verified_timestamp_seconds$d}")" = 0 &&
	test "$(value $f "safepipe_check_newest_verified_size_bytes$d}")" = 0 &&
	test "$(value $f "safepipe_check_max_age_seconds$d}")" = 60 &&
	test "$(value $f "safepipe_check_exit_status$d}")" = 1 &&
	! grep -q "^safepipe_check_lock" $f &&
	rm backups/c.gz && mv b.b2 backups/b.gz.b2 && cp -p a.good backups/a.gz &&
	sh "$CHECK" -m m backups
'

# Whoever may write an archive and its sidecar can rewrite both to match:
# a file of ours that group or others may write proves nothing, as in
# restore-drill.sh. Here nobody forges them: the mode alone must decide.
# With no archive of ours left, the directory has no backup at all either.
test_expect_success 'an archive and sidecar group or others may write: foreign (2), never ok' '
	mkdir loose && seq 1 3000 | gzsafe -m 666 --digest loose/c.gz &&
	test "$(stat -c %a loose/c.gz loose/c.gz.b2 | sort -u)" = 666 &&
	f=m/$(prom_name check loose) && d="{dir=\"loose\"" &&
	test_expect_code 2 sh "$CHECK" -m m loose >out &&
	{ echo "loose/c.gz: foreign: not a plain file of $(id -un)'"'"'s that only they may write: not checked" &&
	  echo "loose: missing: no backup (*.gz) at all"; } >want &&
	test_cmp want out &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"foreign\"}")" = 1 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"ok\"}")" = 0 &&
	test "$(value $f "safepipe_check_exit_status$d}")" = 2 &&
	chmod 664 loose/c.gz loose/c.gz.b2 &&
	test_expect_code 2 sh "$CHECK" loose >out && test_cmp want out &&
	chmod 644 loose/c.gz && chmod 602 loose/c.gz.b2 &&
	test_expect_code 2 sh "$CHECK" loose >out &&
	echo "loose/c.gz: unverifiable: its sidecar is not a plain file of $(id -un)'"'"'s that only they may write" >want &&
	test_cmp want out &&
	chmod 644 loose/c.gz.b2 &&
	sh "$CHECK" -m m loose >out && test ! -s out &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"ok\"}")" = 1 &&
	test "$(value $f "safepipe_check_archives$d,verdict=\"foreign\"}")" = 0
'

test_expect_success 'the lock in the metrics: its age by mode, exclusive or shared' '
	for kind in "guardlock" "guardlock -s"; do
		rm -f held hold && mkfifo hold || exit 1
		$kind lk sh -c "touch held; exec cat hold >/dev/null" &
		pid=$!
		wait_for held 60 &&
		age_at_least_1s lk &&
		sh "$CHECK" -m m backups lk >out &&
		: >hold && wait $pid || exit 1
		f=$F &&
		l="{dir=\"backups\",lock=\"lk\",mode=" &&
		x=$(value $f "safepipe_check_lock_held_seconds$l\"exclusive\"}") &&
		s=$(value $f "safepipe_check_lock_held_seconds$l\"shared\"}") &&
		case $kind in
		*-s) test "$x" -eq 0 && test "$s" -ge 1 ;;
		*) test "$x" -ge 1 && test "$s" -eq 0 ;;
		esac || { echo "$kind: exclusive $x shared $s"; exit 1; }
	done
'

test_expect_success 'a lock file not there (after a reboot): free in the metrics' '
	sh "$CHECK" -m m backups nolock >out && test ! -s out &&
	f=$F &&
	l="{dir=\"backups\",lock=\"nolock\",mode=" &&
	test "$(value $f "safepipe_check_lock_held_seconds$l\"exclusive\"}")" = 0 &&
	test "$(value $f "safepipe_check_lock_held_seconds$l\"shared\"}")" = 0
'

test_expect_success 'label values escaped: backslash, double quote, newline' '
	d=$(printf "we\"ird\\\\dir\\nx") && mkdir "$d" &&
	seq 1 10 | gzsafe --digest "$d/a.gz" &&
	sh "$CHECK" -m m "$d" >out && test ! -s out &&
	f=m/$(prom_name check "$d") &&
	test "${f#m/safepipe-check-we_ird_dir_x-}" != "$f" &&
	test "$(value $f "safepipe_check_archives{dir=\"we\\\"ird\\\\dir\\nx\",verdict=\"ok\"}")" = 1
'

if need promtool; then
	test_expect_success 'promtool check metrics: every file written is clean' '
		for f in m/*.prom; do
			promtool check metrics <"$f" >lint 2>&1 || { cat lint; exit 1; }
			test ! -s lint || { cat lint; exit 1; }
		done
	'
else
	test_skip 'promtool check metrics' 'promtool not installed (Debian: prometheus)'
fi

test_expect_success 'a metrics directory others may write is refused: 2, one line, nothing checked' '
	mkdir open && chmod 777 open &&
	test_expect_code 2 sh "$CHECK" -m open backups >out 2>err &&
	test ! -s out && test -z "$(ls -A open)" &&
	echo "check-backups.sh: open: others may write it: refusing to write metrics there (SAFEPIPE_METRICS_DIR, -m)" >want &&
	test_cmp want err &&
	chmod 1777 open &&
	test_expect_code 2 sh "$CHECK" -m open backups 2>err && test_cmp want err &&
	test_expect_code 2 sh "$CHECK" -m nonesuch backups 2>err &&
	test_grep "^check-backups.sh: nonesuch: no such directory" err
'

test_expect_success '-m ., DIR/ and DIR/. name the directory; a name ending in .. is refused' '
	rm -rf m2 && mkdir m2 && chmod 755 m2 &&
	(cd m2 && sh "$CHECK" -m . ../backups) &&
	prom_name check ../backups >want && ls -A m2 >got && test_cmp want got &&
	rm -f m2/* &&
	sh "$CHECK" -m m2/ backups && sh "$CHECK" -m m2/./ backups &&
	prom_name check backups >want && ls -A m2 >got && test_cmp want got &&
	mkdir m2/sub &&
	test_expect_code 2 sh "$CHECK" -m m2/sub/.. backups >out 2>err &&
	test ! -s out &&
	echo "check-backups.sh: m2/sub/..: a name ending in ..: name the directory itself: refusing to write metrics there (SAFEPIPE_METRICS_DIR, -m)" >want &&
	test_cmp want err
'

test_expect_success 'a link at the final name is replaced, never written through' '
	echo precious >victim && cp victim keep &&
	rm -f "$F" &&
	ln -s "$SCRATCH/victim" "$F" &&
	sh "$CHECK" -m m backups &&
	test_cmp keep victim &&
	test -f "$F" && test ! -L "$F" &&
	test -z "$(find m -name ".*")"
'

test_expect_success 'unset, nothing is written' '
	rm -rf m && mkdir m &&
	sh "$CHECK" backups && env SAFEPIPE_METRICS_DIR= sh "$CHECK" backups &&
	test -z "$(ls -A m)"
'

# The system log: a logger of our own, first on PATH, records its arguments.
mkdir fakebin
cat >fakebin/logger <<EOF
#!/bin/sh
printf '%s|' "\$@" >>"$SCRATCH/logged"
echo >>"$SCRATCH/logged"
EOF
chmod +x fakebin/logger

test_expect_success 'every problem line goes to the system log too: tag safepipe-backup, user.err' '
	printf "\\377" | dd of=backups/a.gz bs=1 seek=100 conv=notrunc 2>/dev/null &&
	rm -f logged &&
	test_expect_code 1 env PATH="$SCRATCH/fakebin:$PATH" SAFEPIPE_SYSLOG=1 \
	    sh "$CHECK" backups >out &&
	echo "-t|safepipe-backup|-p|user.err|--|check-backups.sh: backups/a.gz: corrupt: does not match its digest|" >want &&
	test_cmp want logged &&
	rm -f logged &&
	test_expect_code 1 env PATH="$SCRATCH/fakebin:$PATH" SAFEPIPE_SYSLOG=0 \
	    sh "$CHECK" backups >out &&
	test ! -e logged &&
	cp -p a.good backups/a.gz &&
	env PATH="$SCRATCH/fakebin:$PATH" SAFEPIPE_SYSLOG=1 sh "$CHECK" backups &&
	test ! -e logged
'

test_done

#!/bin/sh
# End to end against a real MariaDB server: examples/backup.sh (wrap mode),
# the pipe-mode idiom, the lock, verification, examples/restore-drill.sh with
# CHECKSUM TABLE compared, and a failing producer.
. "$(dirname "$0")/lib.sh"

if ! need mariadbd mariabackup mariadb-install-db mariadb mariadb-admin mbstream; then
	skip_all 'mariadb-server and mariadb-backup are not installed (tools/deps.sh --test)'
fi
if ! need gzsafe sumcheck guardlock b2sum; then
	skip_all 'gzsafe, sumcheck, guardlock and b2sum are needed'
fi

D=$SCRATCH
EX=$TOP/examples
TABLES='shop.customers, shop.orders, shop.notes'
USER_OPT=
[ "$(id -u)" -eq 0 ] && USER_OPT=--user=root
export D EX TABLES USER_OPT

sql()
{
	mariadb --no-defaults --socket="$D/sock" -uroot "$@"
}

# Stop the server started below, bounded, whatever state the test is in.
stop_server()
{
	[ -f "$D/server.pid" ] || return 0
	stop_pid "$(cat "$D/server.pid")" 30
	rm -f "$D/server.pid"
}
at_exit stop_server

# Backups as the examples are configured in production, pointed at the scratch
# server; a credentials file with a password, as a DBA would have one.
backup_env()
{
	BACKUP_DIR=$D/backups BACKUP_DEFAULTS=$D/bk.cnf BACKUP_SOCKET=$D/sock
	BACKUP_LOG=$D/logs/db.log
	export BACKUP_DIR BACKUP_DEFAULTS BACKUP_SOCKET BACKUP_LOG
}

test_expect_success 'start a throwaway mariadbd on a private socket' '
	mariadb-install-db --no-defaults --datadir="$D/data" $USER_OPT \
	    --auth-root-authentication-method=normal --skip-test-db > install.log 2>&1 &&
	{ mariadbd --no-defaults --datadir="$D/data" --socket="$D/sock" \
	    --skip-networking --pid-file="$D/mariadbd.pid" --log-error="$D/mariadbd.err" \
	    --innodb-buffer-pool-size=64M $USER_OPT > /dev/null 2>&1 &
	  echo $! > "$D/server.pid"; } &&
	i=0 &&
	until mariadb-admin --no-defaults --socket="$D/sock" -uroot ping > /dev/null 2>&1; do
		kill -0 "$(cat "$D/server.pid")" || { tail "$D/mariadbd.err"; exit 1; }
		i=$((i + 1)) && test "$i" -lt 600 && sleep 0.1 || exit 1
	done
'

test_expect_success 'a backup user with a password, and a dataset' '
	sql -e "CREATE USER bk@localhost IDENTIFIED BY '\''s3cret'\'';
		GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO bk@localhost" &&
	printf "[client]\nuser=bk\npassword=s3cret\n" > bk.cnf &&
	printf "[client]\nuser=bk\npassword=wrong\n" > bad.cnf &&
	chmod 600 bk.cnf bad.cnf &&
	sql -e "CREATE DATABASE shop; USE shop;
		CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(60), city VARCHAR(40)) ENGINE=InnoDB;
		INSERT INTO customers SELECT seq, CONCAT(\"customer \", seq), ELT(1 + seq % 4, \"Oslo\", \"Lyon\", \"Porto\", \"Graz\") FROM seq_1_to_3000;
		CREATE TABLE orders (id INT PRIMARY KEY, customer INT, total DECIMAL(10,2), at DATETIME) ENGINE=InnoDB;
		INSERT INTO orders SELECT seq, 1 + seq % 3000, (seq * 37 % 100000) / 100, \"2026-03-06\" + INTERVAL seq MINUTE FROM seq_1_to_8000;
		CREATE TABLE notes (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB;
		INSERT INTO notes SELECT seq, REPEAT(MD5(seq), 1 + seq % 20) FROM seq_1_to_2000;" &&
	test "$(sql -N -e "SELECT COUNT(*) FROM shop.orders")" -eq 8000 &&
	sql -N -e "CHECKSUM TABLE $TABLES" > checksums.orig &&
	test "$(wc -l < checksums.orig)" -eq 3 &&
	mkdir backups && mkdir -m 700 logs
'

test_expect_success 'examples/backup.sh commits an archive and its digest, silently' '
	backup_env &&
	sh "$EX/backup.sh" > out 2> err &&
	test ! -s out && test ! -s err &&
	set -- backups/db-*.xbs.gz && test $# -eq 1 && test -f "$1" &&
	test -f "$1.b2" &&
	echo "$1" > newest
'

test_expect_success 'the archive verifies: sumcheck -c, gzsafe -t, b2sum -c, gzip -t' '
	f=$(cat newest) &&
	sumcheck -c "$f" &&
	gzsafe -t "$f" &&
	(cd backups && b2sum -c --status "$(basename "$f").b2") &&
	gzip -t "$f"
'

test_expect_success 'the archive is a real mariabackup stream' '
	mkdir x &&
	gzip -dc "$(cat newest)" | mbstream -x -C x &&
	test -f x/shop/orders.frm && test -f x/xtrabackup_checkpoints &&
	rm -rf x
'

test_expect_success 'pipe mode with --status-file commits a good stream' '
	st=$D/pipe.status &&
	{ mariabackup --defaults-extra-file="$D/bk.cnf" --backup --stream=xbstream \
	    --socket="$D/sock" 2> pipe.log; echo $? > "$st"; } |
	    gzsafe --digest --status-file "$st" backups/pipe.xbs.gz &&
	sumcheck -c backups/pipe.xbs.gz &&
	mkdir y && gzip -dc backups/pipe.xbs.gz | mbstream -x -C y &&
	test -f y/shop/customers.frm && rm -rf y
'

test_expect_success 'pipe mode: a failed producer commits nothing' '
	st=$D/pipe.status &&
	{ mariabackup --defaults-extra-file="$D/bad.cnf" --backup --stream=xbstream \
	    --socket="$D/sock" 2> pipe.log; echo $? > "$st"; } |
	    test_expect_code 1 gzsafe --digest --status-file "$st" backups/pipe-bad.xbs.gz &&
	test ! -e backups/pipe-bad.xbs.gz && test ! -e backups/pipe-bad.xbs.gz.b2
'

# The first run holds the lock until we say so: its "tool" waits on a marker
# before it becomes mariabackup.
cat > "$D/slowtool" <<'EOF'
#!/bin/sh
: > "$D/holding"
i=0
while [ ! -e "$D/release" ]; do
	i=$((i + 1))
	[ "$i" -gt 1200 ] && exit 99
	sleep 0.05
done
exec mariabackup "$@"
EOF
chmod +x "$D/slowtool"

test_expect_success 'a second run while the first holds the lock: 75, naming the holder' '
	backup_env
	BACKUP_NAME=locked BACKUP_TOOL=$D/slowtool \
	    guardlock -n "$D/backup.lock" sh "$EX/backup.sh" 2> first.err &
	first=$!
	wait_for holding 60 || { : > release; exit 1; }
	guardlock -n "$D/backup.lock" sh "$EX/backup.sh" 2> second.err
	r=$?
	BACKUP_LOCK=$D/backup.lock sh "$EX/backup.sh" 2> third.err
	s=$?
	: > release
	wait "$first"
	w=$?
	test "$r" -eq 75 && test "$s" -eq 75 && test "$w" -eq 0 &&
	test "$(wc -l < second.err)" -eq 1 &&
	test_grep "^guardlock: $D/backup.lock: busy: held by pid $first \(sh\) on " second.err &&
	test_grep "busy: held by pid $first " third.err &&
	test ! -s first.err &&
	set -- backups/locked-*.xbs.gz && test $# -eq 1 && sumcheck -c "$1"
'

test_expect_success 'restore drill under a shared lock: CHECKSUM TABLE matches the original' '
	backup_env &&
	DRILL_STAGING=$D DRILL_HOOK="mariadb --no-defaults --socket=\"\$DRILL_SOCKET\" -uroot -N -e \"CHECKSUM TABLE $TABLES\" > \"$D/checksums.restored\"" \
	    guardlock -s "$D/backup.lock" sh "$EX/restore-drill.sh" "$(cat newest)" > out 2> err &&
	test ! -s out && test ! -s err &&
	test_cmp checksums.orig checksums.restored &&
	test -z "$(find "$D" -maxdepth 1 -name "restore-drill.*")"
'

test_expect_success 'restore drill picks the newest backup by itself' '
	backup_env &&
	BACKUP_NAME=locked DRILL_STAGING=$D DRILL_LOCK=$D/backup.lock \
	    sh "$EX/restore-drill.sh" &&
	test -z "$(find "$D" -maxdepth 1 -name "restore-drill.*")"
'

test_expect_success 'wrong password: nothing committed, exit status is mariabackup'\''s' '
	mariabackup --defaults-extra-file="$D/bad.cnf" --backup --stream=xbstream \
	    --socket="$D/sock" > /dev/null 2>&1
	want=$? &&
	test "$want" -ne 0 &&
	f=$(cat newest) && cp "$f" good.copy && cp "$f.b2" good.b2 &&
	ls -A backups > before &&
	gzsafe --digest "$f" mariabackup --defaults-extra-file="$D/bad.cnf" --backup \
	    --stream=xbstream --socket="$D/sock" 2> gz.err
	got=$? &&
	test "$got" -eq "$want" &&
	test_grep "^gzsafe: .*$f" gz.err &&
	cmp "$f" good.copy && cmp "$f.b2" good.b2 &&
	ls -A backups > after && test_cmp before after
'

test_expect_success 'wrong password through backup.sh: one line, the same status' '
	backup_env &&
	mariabackup --defaults-extra-file="$D/bad.cnf" --backup --stream=xbstream \
	    --socket="$D/sock" > /dev/null 2>&1
	want=$? &&
	BACKUP_NAME=bad BACKUP_DEFAULTS=$D/bad.cnf sh "$EX/backup.sh" > out 2> err
	got=$? &&
	test "$got" -eq "$want" &&
	test "$(wc -l < err)" -eq 1 &&
	test_grep "^backup.sh: gzsafe: " err &&
	! ls backups/bad-* 2> /dev/null &&
	sumcheck -c "$(cat newest)"
'

test_expect_success 'retention: old generations go only after a good commit' '
	backup_env &&
	for d in 20200101 20200102 20200103; do
		cp "$(cat newest)" "backups/db-$d-000000.xbs.gz" &&
		sumcheck "backups/db-$d-000000.xbs.gz" || exit 1
	done &&
	ls backups/db-*.xbs.gz > before &&
	test "$(wc -l < before)" -eq 4 &&
	test_must_fail env BACKUP_KEEP=1 BACKUP_DEFAULTS=$D/bad.cnf sh "$EX/backup.sh" 2> /dev/null &&
	ls backups/db-*.xbs.gz > after && test_cmp before after &&
	BACKUP_KEEP=1 sh "$EX/backup.sh" &&
	ls backups/db-*.xbs.gz > after &&
	test "$(wc -l < after)" -eq 2 &&
	test "$(sed -n 1p after)" = "$(cat newest)" &&
	! ls backups/db-2020* 2> /dev/null &&
	sumcheck -c "$(sed -n 2p after)"
'

test_expect_success 'the monitoring snippet: all good, then a corrupt archive' '
	cp -p backups/pipe.xbs.gz pipe.save &&
	sh "$EX/check-backups.sh" backups "$D/backup.lock" > out &&
	test ! -s out &&
	python3 -c "import sys; f = open(sys.argv[1], \"r+b\"); f.seek(1000); b = f.read(1)[0]; f.seek(1000); f.write(bytes([b ^ 1]))" backups/pipe.xbs.gz &&
	test_expect_code 1 sh "$EX/check-backups.sh" backups > out &&
	test_grep "pipe.xbs.gz: corrupt" out &&
	cp -p pipe.save backups/pipe.xbs.gz &&
	mv backups/pipe.xbs.gz.b2 pipe.b2 &&
	test_expect_code 2 sh "$EX/check-backups.sh" backups > out &&
	test_grep "pipe.xbs.gz: unverifiable: no sidecar" out &&
	mv pipe.b2 backups/pipe.xbs.gz.b2 &&
	sh "$EX/check-backups.sh" backups
'

test_expect_success 'stop the server' '
	mariadb-admin --no-defaults --socket="$D/sock" -uroot shutdown &&
	p=$(cat "$D/server.pid") && i=0 &&
	while kill -0 "$p" 2> /dev/null; do
		i=$((i + 1)) && test "$i" -lt 600 && sleep 0.1 || exit 1
	done &&
	rm -f "$D/server.pid"
'

test_done

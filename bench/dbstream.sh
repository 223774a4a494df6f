#!/bin/sh
# bench/dbstream.sh DIR MIB: a real backup stream, what gzsafe compresses
# in production: a throwaway MariaDB server on a private socket, a shop
# schema (customers, orders, documents with secondary indexes; text, dates,
# decimals, and some incompressible blobs) filled by the server itself until
# the shop's tables hold MIB MiB, shut down cleanly (so the backup copies
# data files rather than a full redo log), started again, and streamed by
# `mariabackup --backup --stream=xbstream` into DIR/in. The values come from
# seeded RAND(): the same rows on every run. Exit 1, saying why, when the
# MariaDB tools are not installed; the server is stopped whatever happens.
set -eu
D=$1
want=$2
for t in mariadbd mariadb-install-db mariadb mariadb-admin mariabackup; do
	command -v $t >/dev/null || { echo "bench/dbstream.sh: $t missing" >&2; exit 1; }
done
U=
[ "$(id -u)" -eq 0 ] && U=--user=root
spid=
stop()
{
	if [ -n "$spid" ]; then
		mariadb-admin --no-defaults --socket="$D/sock" -uroot shutdown 2>/dev/null ||
			kill "$spid" 2>/dev/null || :
		wait "$spid" 2>/dev/null || :
		spid=
	fi
}
trap stop EXIT
trap 'exit 130' INT TERM
start()
{
	mariadbd --no-defaults --datadir="$D/data" --socket="$D/sock" --skip-networking \
		--pid-file="$D/pid" --log-error="$D/err" --innodb-buffer-pool-size=256M \
		--innodb-log-file-size=256M $U >/dev/null 2>&1 &
	spid=$!
	i=0
	until mariadb-admin --no-defaults --socket="$D/sock" -uroot ping >/dev/null 2>&1; do
		if ! kill -0 "$spid" 2>/dev/null || [ $i -ge 600 ]; then
			echo "bench/dbstream.sh: mariadbd did not start (see $D/err)" >&2
			exit 1
		fi
		i=$((i + 1))
		sleep 0.1
	done
}
sql()
{
	mariadb --no-defaults --socket="$D/sock" -uroot "$@"
}

mkdir -p "$D"
mariadb-install-db --no-defaults --datadir="$D/data" $U \
	--auth-root-authentication-method=normal --skip-test-db >"$D/install.log" 2>&1
start
sql -e "CREATE DATABASE shop; USE shop;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(60), email VARCHAR(80),
	city VARCHAR(40), created DATETIME, KEY (city), KEY (email)) ENGINE=InnoDB;
CREATE TABLE orders (id BIGINT PRIMARY KEY, customer INT, total DECIMAL(10,2),
	status ENUM('new','paid','shipped','returned'), at DATETIME, note VARCHAR(200),
	KEY (customer), KEY (at)) ENGINE=InnoDB;
CREATE TABLE documents (id INT PRIMARY KEY, kind VARCHAR(20), body BLOB) ENGINE=InnoDB;"
# One round: 100,000 customers, 800,000 orders, 20,000 documents (a third of
# them 1 KiB of random bytes, as compressed attachments are).
n=0
while [ "$(du -sm "$D/data/shop" | cut -f1)" -lt "$want" ]; do
	c0=$((n * 100000)) o0=$((n * 800000)) d0=$((n * 20000))
	sql shop -e "
INSERT INTO customers SELECT seq,
	CONCAT(ELT(1 + FLOOR(RAND(seq) * 8), 'Anna', 'Bjorn', 'Carla', 'Dmitri', 'Elif', 'Farid', 'Greta', 'Hugo'), ' ',
	    ELT(1 + FLOOR(RAND(seq + 1) * 6), 'Berg', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia'), ' ', seq),
	CONCAT('user', seq, '@', ELT(1 + seq % 4, 'example.com', 'mail.org', 'corp.net', 'shop.io')),
	ELT(1 + seq % 7, 'Oslo', 'Lyon', 'Porto', 'Graz', 'Turku', 'Gent', 'Brno'),
	'2020-01-01' + INTERVAL FLOOR(RAND(seq) * 200000000) SECOND
	FROM seq_$((c0 + 1))_to_$((c0 + 100000));
INSERT INTO orders SELECT seq, 1 + FLOOR(RAND(seq) * $((c0 + 100000))), ROUND(RAND(seq + 7) * 999, 2),
	ELT(1 + FLOOR(RAND(seq + 3) * 4), 'new', 'paid', 'shipped', 'returned'),
	'2024-01-01' + INTERVAL seq * 13 SECOND,
	IF(RAND(seq + 5) < 0.3, CONCAT('deliver to door ', FLOOR(RAND(seq) * 100), ', call ahead'), NULL)
	FROM seq_$((o0 + 1))_to_$((o0 + 800000));
INSERT INTO documents SELECT seq, ELT(1 + seq % 3, 'invoice', 'photo', 'contract'),
	IF(seq % 3 = 1, RANDOM_BYTES(1024), REPEAT(CONCAT('clause ', seq, ' of the agreement; '), 1 + seq % 40))
	FROM seq_$((d0 + 1))_to_$((d0 + 20000));"
	n=$((n + 1))
done
# A clean shutdown checkpoints; the backup then copies data files, as a
# nightly backup of a quiet server does.
stop
start
mariabackup --backup --stream=xbstream --target-dir="$D/bk" --socket="$D/sock" \
	-uroot >"$D/in" 2>"$D/backup.log" ||
	{ echo "bench/dbstream.sh: mariabackup failed (see $D/backup.log)" >&2; exit 1; }

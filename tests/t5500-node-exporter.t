#!/bin/sh
# A real node_exporter reads what the scripts write: prometheus-node-exporter
# on 127.0.0.1 (a free port, the textfile collector alone) over a scratch
# textfile directory; backup.sh (on a fake backup tool) and check-backups.sh
# write there; /metrics, scraped with curl, must show their figures, and the
# change when an archive is corrupted. The exporter is stopped on every way
# out.
. "$(dirname "$0")/lib.sh"
need prometheus-node-exporter curl python3 ||
    skip_all 'prometheus-node-exporter, curl and python3 needed (tools/deps.sh --test)'

EX=$TOP/examples
export EX

mkdir textfile backups logs && chmod 755 textfile && chmod 700 logs || exit 1
gen_data 300000 7 >data
cat >fakebackup <<'EOF'
#!/bin/sh
cat "$FAKE_DATA"
EOF
chmod +x fakebackup

# backup and check, as cron would run them, into the scratch directories.
backup()
{
	env BACKUP_DIR="$SCRATCH/backups" BACKUP_TOOL="$SCRATCH/fakebackup" \
	    BACKUP_DEFAULTS= BACKUP_SOCKET= FAKE_DATA="$SCRATCH/data" \
	    BACKUP_LOG="$SCRATCH/logs/db.log" BACKUP_LOCK="$SCRATCH/backup.lock" \
	    SAFEPIPE_METRICS_DIR="$SCRATCH/textfile" timeout 60 sh "$EX/backup.sh"
}
check()
{
	SAFEPIPE_METRICS_DIR="$SCRATCH/textfile" timeout 60 \
	    sh "$EX/check-backups.sh" "$SCRATCH/backups" "$SCRATCH/backup.lock"
}

# Start the exporter on a port the kernel says is free. Another process may
# take it in between: then the exporter exits at once, and we try another.
exporter=
stop_exporter()
{
	[ -n "$exporter" ] || return 0
	stop_pid "$exporter" 5
	exporter=
}
at_exit stop_exporter

start_exporter()
{
	for _try in 1 2 3 4 5; do
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
		    return 1
		prometheus-node-exporter --web.listen-address="127.0.0.1:$port" \
		    --collector.disable-defaults --collector.textfile \
		    --collector.textfile.directory="$SCRATCH/textfile" >exporter.log 2>&1 &
		exporter=$!
		_i=0
		while [ "$_i" -lt 200 ]; do
			curl -sf "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 && return 0
			kill -0 "$exporter" 2>/dev/null || break
			sleep 0.05
			_i=$((_i + 1))
		done
		stop_exporter
	done
	cat exporter.log
	return 1
}

# scrape: /metrics into the file scraped.
scrape() { curl -sf "http://127.0.0.1:$port/metrics" >scraped; }

# sample NAME [LABEL=VALUE...]: the value of the one series of NAME in
# scraped with those labels (others may be there too), as an integer; no
# output if there is none. The exporter writes large values as 1.7e+09.
sample()
{
	python3 - scraped "$@" <<'PY'
import re, sys
path, name, want = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
label = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
unescape = lambda v: re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)
found = []
for line in open(path):
    m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line.rstrip("\n"))
    if not m or m.group(1) != name:
        continue
    labels = {k: unescape(v) for k, v in label.findall(m.group(2) or "")}
    if all(labels.get(k) == v for k, v in want.items()):
        found.append(float(m.group(3)))
if len(found) == 1:
    print("%d" % found[0])
elif found:
    sys.exit("%s: %d series match" % (name, len(found)))
PY
}

D=$SCRATCH/backups
export D

# In this shell, not a subshell: the exporter's pid and port are kept.
test_expect_success_here 'start prometheus-node-exporter on 127.0.0.1, the textfile collector alone' '
	start_exporter && scrape &&
	test "$(sample node_textfile_scrape_error)" = 0 &&
	! grep -q "^node_cpu" scraped &&
	! grep -q "^safepipe_" scraped
'
[ -n "$exporter" ] || { echo "Bail out! prometheus-node-exporter did not start"; exit 1; }

test_expect_success 'a backup and a check: their figures in /metrics' '
	before=$(date +%s) &&
	backup && check >out && test ! -s out &&
	after=$(date +%s) &&
	scrape &&
	test "$(sample node_textfile_scrape_error)" = 0 &&
	set -- backups/db-*.xbs.gz && test $# -eq 1 &&
	test "$(sample safepipe_backup_last_exit_status dir="$D" name=db)" = 0 &&
	test "$(sample safepipe_backup_last_input_bytes dir="$D" name=db)" = "$(wc -c <data)" &&
	test "$(sample safepipe_backup_last_output_bytes dir="$D" name=db)" = "$(stat -c %s "$1")" &&
	t=$(sample safepipe_backup_last_success_timestamp_seconds dir="$D" name=db) &&
	test "$t" -ge "$before" && test "$t" -le "$after" &&
	test "$(sample safepipe_backup_refused_total dir="$D" name=db lock="$SCRATCH/backup.lock")" = 0 &&
	test "$(sample safepipe_check_archives dir="$D" verdict=ok)" = 1 &&
	test "$(sample safepipe_check_archives dir="$D" verdict=corrupt)" = 0 &&
	test "$(sample safepipe_check_newest_verified_timestamp_seconds dir="$D")" = "$(stat -c %Y "$1")" &&
	test "$(sample safepipe_check_newest_verified_size_bytes dir="$D")" = "$(stat -c %s "$1")" &&
	test "$(sample safepipe_check_exit_status dir="$D")" = 0 &&
	test "$(sample safepipe_check_lock_held_seconds dir="$D" mode=exclusive)" = 0 &&
	test "$(sample safepipe_check_lock_held_seconds dir="$D" mode=shared)" = 0 &&
	t=$(sample safepipe_check_last_run_timestamp_seconds dir="$D") &&
	test "$t" -ge "$before" && test "$t" -le "$after" &&
	grep -q "^# TYPE safepipe_backup_refused_total counter$" scraped &&
	grep -q "^# HELP safepipe_check_archives " scraped
'

test_expect_success 'corrupt the archive, check again: /metrics shows it' '
	set -- backups/db-*.xbs.gz &&
	python3 -c "import sys; f = open(sys.argv[1], \"r+b\"); f.seek(1000); b = f.read(1)[0]; f.seek(1000); f.write(bytes([b ^ 1]))" "$1" &&
	test_expect_code 1 check >out &&
	test_grep "db-.*: corrupt: does not match its digest" out &&
	scrape &&
	test "$(sample node_textfile_scrape_error)" = 0 &&
	test "$(sample safepipe_check_archives dir="$D" verdict=ok)" = 0 &&
	test "$(sample safepipe_check_archives dir="$D" verdict=corrupt)" = 1 &&
	test "$(sample safepipe_check_newest_verified_timestamp_seconds dir="$D")" = 0 &&
	test "$(sample safepipe_check_exit_status dir="$D")" = 1
'

test_expect_success 'a refused start, and a backup that holds the lock, in /metrics' '
	rm -f held hold && mkfifo hold &&
	{ guardlock backup.lock sh -c "touch held; exec cat hold >/dev/null" & } &&
	wait_for held 30 || exit 1
	{
		test_expect_code 75 backup 2>err &&
		i=0 &&
		until guardlock --status backup.lock | grep -q "([1-9][0-9dhms]* ago)$"; do
			i=$((i + 1)) && test $i -le 600 || { echo "age never reached 1s"; exit 1; }
			sleep 0.05
		done &&
		test_expect_code 1 check >out &&
		scrape &&
		test "$(sample safepipe_backup_refused_total dir="$D" name=db)" = 1 &&
		test "$(sample safepipe_backup_last_refused_timestamp_seconds dir="$D" name=db)" -gt 0 &&
		test "$(sample safepipe_check_lock_held_seconds dir="$D" mode=exclusive)" -ge 1
	}
	r=$?
	: >hold && wait && test "$r" -eq 0
'

if need promtool; then
	test_expect_success 'promtool check metrics: the safepipe families as served, and each file' '
		awk "/^# (HELP|TYPE) safepipe_/ || /^safepipe_/" scraped >ours &&
		test -s ours &&
		for f in ours textfile/*.prom; do
			promtool check metrics <"$f" >lint 2>&1 && test ! -s lint ||
			    { echo "$f:"; cat lint; exit 1; }
		done
	'
else
	test_skip 'promtool check metrics' 'promtool not installed (Debian: prometheus)'
fi

test_expect_success_here 'the exporter stops, and its port is closed' '
	stop_exporter && ! curl -sf "http://127.0.0.1:$port/metrics" >/dev/null 2>&1
'

test_done

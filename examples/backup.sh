#!/bin/sh
# backup.sh: the nightly MariaDB/MySQL backup, edited the safepipe way.
#
# The script of the incident was one line, run by cron:
#
#	mariabackup --backup --stream=xbstream | gzip > /backups/db.xbs.gz
#
# Two crond daemons started it at the same second: both wrote the same file,
# and the archive was garbage that nobody noticed until a restore. The same
# line also turns a producer that dies half way (OOM killer, lost connection,
# kill -9) into a well-formed gzip file of half a backup, and a full disk into
# half a file written over the last good backup.
#
# Run it from cron with BACKUP_LOCK set, and it takes the lock itself (see
# backup.cron):
#
#	0 0 * * * root BACKUP_LOCK=/run/backup.lock sh /usr/local/sbin/backup.sh
#
# Under cron's own guardlock line (guardlock -n LOCK sh backup.sh) it works
# as well, but a refused start is then guardlock's alone: nothing of this
# script runs to record it.
#
# Every variable below may be set in the environment. Silent on success; on
# any failure one line on stderr (cron mails it), the same line in the
# system log (tag safepipe-backup, priority user.err; SAFEPIPE_SYSLOG=0 turns
# that off) and a non-zero exit: the producer's own status when it failed,
# 75 when another run holds the lock. With SAFEPIPE_METRICS_DIR set, every
# run, and every start refused, is recorded there for node_exporter's
# textfile collector (doc/monitoring.md); a metrics directory that is missing
# or refused costs one line on stderr and in the system log, never the
# backup, and the exit status stays the backup's own.
set -eu
# The archive holds the whole database (password hashes included), and
# gzsafe gives a new one 0666 less the umask: under cron's 022 anyone could
# read it, under 0 rewrite it and its sidecar. Ours alone, whatever the
# caller's umask (GZSAFE_OPTS='-m 0640' to let root's group read).
umask 077

BACKUP_DIR=${BACKUP_DIR:-/backups}
# File names are $BACKUP_NAME-YYYYmmdd-HHMMSS.xbs.gz (or .tar.gz).
BACKUP_NAME=${BACKUP_NAME:-db}
# Previous generations kept besides the newest; older ones are removed only
# after tonight's backup is committed and re-verified.
BACKUP_KEEP=${BACKUP_KEEP:-6}
# mariabackup (xbstream only) or xtrabackup (xbstream, or tar up to 2.4).
BACKUP_TOOL=${BACKUP_TOOL:-mariabackup}
BACKUP_STREAM=${BACKUP_STREAM:-xbstream}
# A [client] section with user= and password=, mode 0600: keeps the password
# out of ps(1) and of this script. Empty: the tool's own defaults.
BACKUP_DEFAULTS=${BACKUP_DEFAULTS:-/etc/mysql/backup.cnf}
BACKUP_SOCKET=${BACKUP_SOCKET:-/run/mysqld/mysqld.sock}
# Further options for the tool, split on blanks (e.g. --parallel=2).
BACKUP_OPTS=${BACKUP_OPTS:-}
# gzsafe options (level, threads).
GZSAFE_OPTS=${GZSAFE_OPTS:-}
# The tool's chatter goes here, not to cron's mail: a file in a directory
# that only this user (or root) may write. Not in BACKUP_DIR, which others
# may write: a link planted there would make root's shell overwrite any
# file, and a FIFO would hang the backup while it holds the lock.
BACKUP_LOG=${BACKUP_LOG:-/var/log/safepipe/$BACKUP_NAME.log}
# Set to take the lock here rather than in the crontab.
BACKUP_LOCK=${BACKUP_LOCK:-}
# node_exporter's textfile directory (Debian's: /var/lib/prometheus/node-exporter).
# Empty: no metrics.
SAFEPIPE_METRICS_DIR=${SAFEPIPE_METRICS_DIR:-}
SAFEPIPE_SYSLOG=${SAFEPIPE_SYSLOG:-1}

prog=backup.sh
started=$(date +%s)
said=

syslog()
{
	[ "$SAFEPIPE_SYSLOG" = 0 ] ||
	    logger -t safepipe-backup -p user.err -- "$1" 2>/dev/null || :
}

die()
{
	# $1 = exit status, $2 = the one line
	said=1
	echo "$prog: $2" >&2
	syslog "$prog: $2"
	exit "$1"
}

me=$(id -u)

# The metrics file: the backup's directory and name made a file name ('/'
# and anything outside A-Za-z0-9._- become '_'), which is not one to one
# (/srv/db and /srv_db), so a short hash of the exact pair follows.
prom=safepipe-backup-$(printf '%s/%s' "$BACKUP_DIR" "$BACKUP_NAME" |
    sed -e 's|^/*||' | tr -c 'A-Za-z0-9._-' _)-$(printf '%s\0%s' "$BACKUP_DIR" "$BACKUP_NAME" |
    b2sum -l 32 | cut -c 1-8).prom

# A label value in the text format: backslash, double quote and newline
# escaped.
label()
{
	printf '%s\n' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' |
	    sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g'
}

# sample TYPE NAME VALUE LABELS HELP: one family, if it has a value.
sample()
{
	[ -n "$3" ] || return 0
	printf '# HELP safepipe_backup_%s %s\n# TYPE safepipe_backup_%s %s\nsafepipe_backup_%s{%s} %s\n' \
	    "$2" "$5" "$2" "$1" "$2" "$4" "$3"
}

metrics_text()
{
	l="dir=\"$(label "$BACKUP_DIR")\",name=\"$(label "$BACKUP_NAME")\""
	r="$l,lock=\"$(label "$BACKUP_LOCK")\""
	sample gauge last_start_timestamp_seconds "$v_last_start_timestamp_seconds" "$l" \
	    "When the last backup run started (after taking the lock)."
	sample gauge last_end_timestamp_seconds "$v_last_end_timestamp_seconds" "$l" \
	    "When the last backup run ended; before the start while a run is going on."
	sample gauge last_exit_status "$v_last_exit_status" "$l" \
	    "Exit status of the last backup run: 0 success, else the producer's or backup.sh's."
	sample gauge last_input_bytes "$v_last_input_bytes" "$l" \
	    "Bytes the backup tool streamed in the last run, as far as gzsafe reported them."
	sample gauge last_output_bytes "$v_last_output_bytes" "$l" \
	    "Size of the archive the last run committed; 0 if it committed none."
	sample gauge last_success_timestamp_seconds "$v_last_success_timestamp_seconds" "$l" \
	    "When the last successful backup run ended; 0 if none has yet."
	sample counter refused_total "$v_refused_total" "$r" \
	    "Starts refused because another run held the lock."
	sample gauge last_refused_timestamp_seconds "$v_last_refused_timestamp_seconds" "$r" \
	    "When a start was last refused because another run held the lock; 0 if never."
}

# The previous figures, from the file itself: a failed run keeps the last
# success, and the counter goes on from where it was.
metrics_load()
{
	v_last_start_timestamp_seconds='' v_last_end_timestamp_seconds=''
	v_last_exit_status='' v_last_input_bytes='' v_last_output_bytes=''
	v_last_success_timestamp_seconds=0 v_refused_total=0 v_last_refused_timestamp_seconds=0
	if [ -f "$prom" ] && [ ! -L "$prom" ]; then
		eval "$(awk '$1 ~ /^safepipe_backup_[a-z_]+(\{|$)/ && $NF ~ /^[0-9]+$/ {
			n = $1; sub(/\{.*/, "", n); sub(/^safepipe_backup_/, "", n)
			if (!(n in seen)) print "v_" n "=" $NF; seen[n]
		}' "$prom")"
	fi
}

# Atomic: a temporary beside the target (node_exporter reads *.prom only),
# flushed, made readable, renamed over the target (which replaces a link
# rather than following it), the directory flushed. A scrape sees the old
# file or the new one, never half of one. In the metrics directory, which
# is the current one (metrics_here).
metrics_write()
{
	t=$(mktemp ".$prom.XXXXXX") || return 1
	if metrics_text >"$t" && chmod 644 "$t" && sync -- "$t" && mv -fT -- "$t" "$prom"; then
		sync -- .
		return
	fi
	rm -f -- "$t"
	return 1
}

# metrics_here DIR: into the metrics directory, and check the directory we are in, not its
# name. Whoever owns a directory above it (Debian's /var/lib/prometheus is
# user prometheus's) may rename it away and put one of their own, or a link,
# in its place at any moment, but cannot change the directory that is now
# our working directory. It must be root's or ours, written by nobody else,
# and the one its name leads to now (not a link to elsewhere, not moved
# away): then only root and we can have made any name in it, and from here
# on every name is relative. On failure, the reason on stdout.
# "dir/" and "dir/." name dir; "." (the directory we were started in) and
# "/" have no last name that anyone could swap; a name ending in ".." has
# one, the component before it, that this check cannot see: refused.
metrics_here()
{
	mdir=$1
	while :; do
		case $mdir in
		/.) mdir=/ ;;
		*?/) mdir=${mdir%/} ;;
		*?/.) mdir=${mdir%/.} ;;
		*) break ;;
		esac
	done
	case $mdir in
	.. | */..) echo "a name ending in ..: name the directory itself"; return 1 ;;
	esac
	up=$(cd -P -- "$(dirname -- "$mdir")" 2>/dev/null && pwd -P) || up=
	cd -P -- "$mdir" 2>/dev/null || { echo "no such directory"; return 1; }
	case $(stat -c %u:%A -- . 2>/dev/null) in
	"$me":d????-??-? | 0:d????-??-?) ;;
	*) echo "others may write it"; return 1 ;;
	esac
	case $mdir in
	. | /) return 0 ;;
	esac
	if [ -z "$up" ] || [ "$(pwd -P)" != "${up%/}/$(basename -- "$mdir")" ]; then
		echo "not the directory its name leads to (a link to another, or moved away)"
		return 1
	fi
}

# metrics_update 'v_NAME=VALUE ...', in a subshell: read, change, write,
# under flock(1) on .NAME.prom.lock in the pinned directory, so that a
# refused start and the run that holds the backup lock never lose each
# other's update. (Not guardlock: it refuses, rightly for a lock by name, a
# lock file whose directory has a parent others may change; opened relative
# to the pinned directory, that parent no longer matters.)
metrics_update()
{
	metrics_here "$SAFEPIPE_METRICS_DIR" || return 1
	umask 077
	{ command exec 8>>".$prom.lock"; } 2>/dev/null || { echo "cannot open .$prom.lock"; return 1; }
	flock -w 10 8 || { echo ".$prom.lock: still held after 10 s"; return 1; }
	if ! { metrics_load && eval "$1" && metrics_write; }; then
		echo "$prom: cannot write it"
		return 1
	fi
}

# metrics 'v_NAME=VALUE ...': a failure costs a line (once a run), never
# the backup: a metrics directory missing or refused still lets it run, and
# the exit status stays the backup's.
metrics_said=
metrics()
{
	[ -n "$SAFEPIPE_METRICS_DIR" ] || return 0
	why=$(metrics_update "$1" 2>&1) && return 0
	[ -z "$metrics_said" ] || return 0
	metrics_said=1
	why=$(printf '%s\n' "$why" | tail -n 1)
	echo "$prog: $SAFEPIPE_METRICS_DIR: ${why:-failed}: metrics not written (SAFEPIPE_METRICS_DIR)" >&2
	syslog "$prog: $SAFEPIPE_METRICS_DIR: ${why:-failed}: metrics not written (SAFEPIPE_METRICS_DIR)"
}

# Every way out records the run, unless the second pass did (below), and
# gives the system log a line for a failure that had none.
recorded='' err='' in_bytes='' out_bytes=0
# shellcheck disable=SC2317 # called from the traps
finish()
{
	status=$?
	set +e
	trap - EXIT
	[ -z "$err" ] || rm -f -- "$err"
	if [ -z "$recorded" ]; then
		[ "$status" -eq 0 ] || [ -n "$said" ] || syslog "$prog: failed with status $status"
		end=$(date +%s)
		ok=
		[ "$status" -ne 0 ] || ok="v_last_success_timestamp_seconds=$end"
		metrics "v_last_start_timestamp_seconds=$started v_last_end_timestamp_seconds=$end
		    v_last_exit_status=$status v_last_input_bytes=${in_bytes:-0}
		    v_last_output_bytes=$out_bytes $ok"
	fi
	exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A directory nobody but us and root may change, and in it a log that is a
# plain file of ours (or none yet): the shell's > follows links and opens
# FIFOs, so nothing planted may stand there.
logdir=$(dirname -- "$BACKUP_LOG")
[ -d "$logdir" ] || mkdir -m 0750 -- "$logdir" ||
    die 2 "$logdir: cannot create the log directory (set BACKUP_LOG)"
case $(stat -L -c %u:%A -- "$logdir") in
"$me":d????-??-? | 0:d????-??-?) ;;
*) die 2 "$logdir: others may write it: keep BACKUP_LOG where only $prog's user can write" ;;
esac
# Nor any directory above it: whoever may rename one swaps the whole path.
# A sticky one of ours or root's (/tmp) lets others add names, not move ours.
d=$(cd -P -- "$logdir" && pwd) || die 2 "$logdir: cannot resolve it"
while [ "$d" != / ]; do
	d=$(dirname -- "$d")
	case $(stat -c %u:%A -- "$d") in
	"$me":d????-??-? | 0:d????-??-? | "$me":d????????[tT] | 0:d????????[tT]) ;;
	*) die 2 "$d: others may change it, above the log directory $logdir: keep BACKUP_LOG where only $prog's user can write" ;;
	esac
done
if [ -e "$BACKUP_LOG" ] || [ -L "$BACKUP_LOG" ]; then
	if [ ! -f "$BACKUP_LOG" ] || [ -L "$BACKUP_LOG" ] ||
	    [ "$(stat -c %u:%h -- "$BACKUP_LOG")" != "$me:1" ]; then
		die 2 "$BACKUP_LOG: not a plain file of ours: refusing to write the log there"
	fi
fi

# guardlock holds an exclusive flock(2) on the lock file for as long as the
# second pass of this script and everything it starts run: a second run (a
# second crond, a manual run, a slow night overlapping the next) is refused
# with 75 and a line naming this run's pid, host and start time.
# GUARDLOCK_FD proves nothing (any guardlock above us sets it, and it may be
# closed): this script always goes through guardlock once, which goes
# straight on when this process already holds that very lock (cron's
# guardlock line) and takes it otherwise.
#
# The first pass waits for the second rather than exec'ing it, so that a
# refused start is recorded where monitoring looks (the metrics, the system
# log) and not only in cron's mail. It tells the refusal from a run that
# ended with 75 by guardlock's own line, which comes before the second pass
# could write anything, and it passes the second pass's stderr on.
# BACKUP_LOCKED_BY=$$ marks the second pass, whose parent we are (env,
# guardlock and sh keep the pid across their execs).
if [ -n "$BACKUP_LOCK" ] && [ "${BACKUP_LOCKED_BY:-}" != "$PPID" ]; then
	err=$(mktemp "$logdir/.$prog.XXXXXX") ||
	    die 2 "$logdir: cannot create a temporary file"
	recorded=1
	status=0
	env BACKUP_LOCKED_BY=$$ guardlock -n "$BACKUP_LOCK" sh "$0" "$@" 2>"$err" ||
	    status=$?
	cat -- "$err" >&2
	line=$(head -n 1 -- "$err")
	case $status:$line in
	75:"guardlock: $BACKUP_LOCK: busy: "*)
		syslog "$line"
		metrics "v_refused_total=\$((v_refused_total + 1))
		    v_last_refused_timestamp_seconds=$started" ;;
	*:"guardlock: $BACKUP_LOCK: "*)
		# guardlock could not take it: a failed run, that finish records
		syslog "$line"
		said=1 recorded='' ;;
	*)	# The second pass records its end on every way out but one: a
		# signal it does not trap (SIGKILL, say) kills it unrecorded,
		# leaving this run's start without an end and the last status
		# that of a run before, which no alert sees. Such a death says
		# no line of its own (die always does): recorded here. (A
		# metrics line of its own was said already.)
		case $status in
		129 | 130 | 143) ;;	# trapped: finish recorded it
		*)	if [ "$status" -ge 128 ] && ! grep -q "^$prog: " -- "$err"; then
				syslog "$prog: killed by signal $((status - 128)) before it could record its end"
				metrics_said=1
				metrics "v_last_end_timestamp_seconds=\$(date +%s) v_last_exit_status=$status"
			fi ;;
		esac ;;
	esac
	exit "$status"
fi

case $BACKUP_STREAM in
xbstream) ext=xbs ;;
tar) ext=tar ;;
*) die 2 "BACKUP_STREAM: $BACKUP_STREAM: not xbstream or tar" ;;
esac
[ -d "$BACKUP_DIR" ] || die 2 "$BACKUP_DIR: not a directory"
case $BACKUP_KEEP in
'' | *[!0-9]*) die 2 "BACKUP_KEEP: $BACKUP_KEEP: not a number" ;;
esac

set --
[ -n "$BACKUP_DEFAULTS" ] && set -- "--defaults-extra-file=$BACKUP_DEFAULTS"
set -- "$@" --backup "--stream=$BACKUP_STREAM"
[ -n "$BACKUP_SOCKET" ] && set -- "$@" "--socket=$BACKUP_SOCKET"
# shellcheck disable=SC2086 # word splitting of the option lists is intended
set -- "$@" $BACKUP_OPTS

target=$BACKUP_DIR/$BACKUP_NAME-$(date +%Y%m%d-%H%M%S).$ext.gz
# The names this script gives, as find(1) matches them.
stamp='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]'

# gzsafe runs the tool with its stdout piped into the compressor and stages
# the archive in a temporary file in $BACKUP_DIR. It commits (rename onto
# $target, fsync of the directory) only if the tool exited 0, every write
# and the fsync succeeded, --verify re-read and inflated the whole staged
# file, and --digest staged $target.b2 beside it. Otherwise nothing appears,
# and the exit status is the tool's own. -N: never replace an existing file.
# -v: its progress goes to the log once a second (where a hung run stopped),
# and its last line says how many bytes came in, for the metrics.
metrics "v_last_start_timestamp_seconds=$started"
status=0
# shellcheck disable=SC2086
gzsafe -N --digest --verify -v $GZSAFE_OPTS "$target" "$BACKUP_TOOL" "$@" \
    2> "$BACKUP_LOG" || status=$?
in_bytes=$(sed -n 's/^gzsafe: .*: \([0-9][0-9]*\) bytes in, [0-9][0-9]* out (.*/\1/p' \
    "$BACKUP_LOG" | tail -n 1)
if [ "$status" -ne 0 ]; then
	why=$(grep -E '^(gzsafe|guardlock): ' "$BACKUP_LOG" |
	    grep -v ': [0-9]* bytes in, [0-9]* out (' | tail -n 1) || :
	die "$status" "${why:-gzsafe exited with status $status}; log: $BACKUP_LOG"
fi
out_bytes=$(stat -c %s -- "$target")

# Read tonight's archive back against its digest before anything old goes:
# the newest good backup is never the one deleted.
sumcheck -c --status "$target" ||
    die 1 "$target: sumcheck -c failed right after the commit; nothing rotated"

# Retention: keep the newest BACKUP_KEEP + 1 archives (names sort by date).
# Only generations this script made count, and only they are removed: plain
# files of ours with one name, named exactly as it names them (a copy kept
# by hand as db-before-upgrade.xbs.gz is never touched). Files that others planted in BACKUP_DIR
# under the same pattern are never counted, so they can push no real
# generation out (check-backups.sh reports them).
find "$BACKUP_DIR" -maxdepth 1 -name "$BACKUP_NAME-$stamp.$ext.gz" -type f -user "$me" \
    -links 1 | sort >"$BACKUP_LOG.gens"
n=$(wc -l <"$BACKUP_LOG.gens")
while IFS= read -r f; do
	[ "$n" -gt $((BACKUP_KEEP + 1)) ] || break
	[ "$f" = "$target" ] && continue
	if [ -f "$f.b2" ] && [ ! -L "$f.b2" ] && [ "$(stat -c %u -- "$f.b2")" = "$me" ]; then
		rm -f -- "$f.b2" || die 1 "$f.b2: cannot remove an old generation's sidecar"
	fi
	rm -f -- "$f" || die 1 "$f: cannot remove an old generation"
	n=$((n - 1))
done <"$BACKUP_LOG.gens"
rm -f -- "$BACKUP_LOG.gens"
exit 0

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
# Run it under guardlock from cron (see backup.cron), or set BACKUP_LOCK and
# it takes the lock itself:
#
#	0 0 * * * root guardlock -n /run/backup.lock sh /usr/local/sbin/backup.sh
#
# Every variable below may be set in the environment. Silent on success; on
# any failure one line on stderr (cron mails it) and a non-zero exit: the
# producer's own status when it failed, 75 when another run holds the lock.
set -eu

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

prog=backup.sh
die()
{
	# $1 = exit status, $2 = the one line
	echo "$prog: $2" >&2
	exit "$1"
}

# guardlock holds an exclusive flock(2) on the lock file for as long as this
# script and everything it starts run: a second run (a second crond, a
# manual run, a slow night overlapping the next) is refused with 75 and a
# line naming this run's pid, host and start time. GUARDLOCK_FD proves
# nothing (any guardlock above us sets it, and it may be closed): this
# script always goes through guardlock once, which goes straight on when
# this process already holds that very lock (cron's guardlock line) and
# takes it otherwise. BACKUP_LOCKED_BY=$$ marks the second pass: guardlock
# and sh keep the pid across their execs.
if [ -n "$BACKUP_LOCK" ] && [ "${BACKUP_LOCKED_BY:-}" != "$$" ]; then
	exec env BACKUP_LOCKED_BY=$$ guardlock -n "$BACKUP_LOCK" sh "$0" "$@"
fi

# A directory nobody but us and root may change, and in it a log that is a
# plain file of ours (or none yet): the shell's > follows links and opens
# FIFOs, so nothing planted may stand there.
me=$(id -u)
logdir=$(dirname -- "$BACKUP_LOG")
[ -d "$logdir" ] || mkdir -m 0750 -- "$logdir" ||
    die 2 "$logdir: cannot create the log directory (set BACKUP_LOG)"
case $(stat -L -c %u:%A -- "$logdir") in
"$me":d????-??-? | 0:d????-??-?) ;;
*) die 2 "$logdir: others may write it: keep BACKUP_LOG where only $prog's user can write" ;;
esac
if [ -e "$BACKUP_LOG" ] || [ -L "$BACKUP_LOG" ]; then
	if [ ! -f "$BACKUP_LOG" ] || [ -L "$BACKUP_LOG" ] ||
	    [ "$(stat -c %u:%h -- "$BACKUP_LOG")" != "$me:1" ]; then
		die 2 "$BACKUP_LOG: not a plain file of ours: refusing to write the log there"
	fi
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

# gzsafe runs the tool with its stdout piped into the compressor and stages
# the archive in a temporary file in $BACKUP_DIR. It commits (rename onto
# $target, fsync of the directory) only if the tool exited 0, every write
# and the fsync succeeded, --verify re-read and inflated the whole staged
# file, and --digest staged $target.b2 beside it. Otherwise nothing appears,
# and the exit status is the tool's own. -N: never replace an existing file.
status=0
# shellcheck disable=SC2086
gzsafe -N --digest --verify $GZSAFE_OPTS "$target" "$BACKUP_TOOL" "$@" \
    2> "$BACKUP_LOG" || status=$?
if [ "$status" -ne 0 ]; then
	why=$(grep -E '^(gzsafe|guardlock): ' "$BACKUP_LOG" | tail -n 1) || :
	die "$status" "${why:-gzsafe exited with status $status}; log: $BACKUP_LOG"
fi

# Read tonight's archive back against its digest before anything old goes:
# the newest good backup is never the one deleted.
sumcheck -c --status "$target" ||
    die 1 "$target: sumcheck -c failed right after the commit; nothing rotated"

# Retention: keep the newest BACKUP_KEEP + 1 archives (names sort by date).
# Only generations this script made count, and only they are removed: plain
# files of ours with one name. Files that others planted in BACKUP_DIR
# under the same pattern are never counted, so they can push no real
# generation out (check-backups.sh reports them).
find "$BACKUP_DIR" -maxdepth 1 -name "$BACKUP_NAME-*.$ext.gz" -type f -user "$me" \
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

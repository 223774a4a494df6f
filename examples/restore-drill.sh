#!/bin/sh
# restore-drill.sh: prove that the newest backup restores, end to end.
#
#	guardlock -s -w 3600 /run/backup.lock sh restore-drill.sh [ARCHIVE]
#
# A backup nobody has restored is a hope. This checks the newest archive in
# BACKUP_DIR (or ARCHIVE) the whole way: its digest (sumcheck -c), its gzip
# structure (gzsafe -t), unpacking, mariabackup --prepare, and a throwaway
# server started on the prepared copy, which must answer a query. The staging
# copy and the server go away on every way out. Exit 0 only if all passed;
# otherwise one line on stderr naming the step that failed, and the same
# line in the system log (tag safepipe-backup, priority user.err) unless
# SAFEPIPE_SYSLOG=0.
#
# The lock is shared (-s): drills and checks may run side by side, never
# beside the backup, which takes it exclusively. Set DRILL_LOCK and the
# script takes it itself (see backup.cron), and then guardlock's own line
# (still busy after an hour) reaches the system log too.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/backups}
BACKUP_NAME=${BACKUP_NAME:-db}
# The staging copy needs about the unpacked size of the backup.
DRILL_STAGING=${DRILL_STAGING:-/var/tmp}
DRILL_LOCK=${DRILL_LOCK:-}
# How long to wait for DRILL_LOCK (a backup still running), in seconds.
DRILL_WAIT=${DRILL_WAIT:-3600}
# The sanity query; the drill fails if it fails or prints nothing.
DRILL_QUERY=${DRILL_QUERY:-"SELECT COUNT(*) FROM information_schema.TABLES WHERE ENGINE = 'InnoDB'"}
# Shell code run while the restored server is up, with DRILL_SOCKET set
# (for example a CHECKSUM TABLE comparison); its failure fails the drill.
DRILL_HOOK=${DRILL_HOOK:-}
# The tool that made the backup prepares it: mariabackup or xtrabackup.
DRILL_TOOL=${DRILL_TOOL:-mariabackup}
# Whose archives are drilled: only files this user owns are trusted (the
# user that runs backup.sh). Anything else in BACKUP_DIR may have been
# planted by whoever else can write there.
BACKUP_OWNER=${BACKUP_OWNER:-$(id -un)}
MARIADBD=${MARIADBD:-$(command -v mariadbd || echo /usr/sbin/mariadbd)}
SAFEPIPE_SYSLOG=${SAFEPIPE_SYSLOG:-1}

prog=restore-drill.sh
syslog()
{
	[ "$SAFEPIPE_SYSLOG" = 0 ] ||
	    logger -t safepipe-backup -p user.err -- "$1" 2>/dev/null || :
}

say()
{
	echo "$prog: $*" >&2
	syslog "$prog: $*"
}

said=
die()
{
	said=1
	say "$@"
	exit 1
}

# As in backup.sh: guardlock proves the lock is ours (it goes straight on
# when this process holds it already), DRILL_LOCKED_BY=$$ marks the second
# pass, whose parent we are. The first pass waits for it, rather than
# exec'ing it, only to pass guardlock's own line on to the system log.
if [ -n "$DRILL_LOCK" ] && [ "${DRILL_LOCKED_BY:-}" != "$PPID" ]; then
	err=$(mktemp) || die "cannot create a temporary file"
	trap 'rm -f -- "$err"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	status=0
	env DRILL_LOCKED_BY=$$ guardlock -s -w "$DRILL_WAIT" "$DRILL_LOCK" sh "$0" "$@" 2>"$err" ||
	    status=$?
	cat -- "$err" >&2
	line=$(head -n 1 -- "$err")
	case $line in "guardlock: $DRILL_LOCK: "*) syslog "$line" ;; esac
	exit "$status"
fi

owner=$(id -u -- "$BACKUP_OWNER") || die "BACKUP_OWNER: $BACKUP_OWNER: no such user"
if [ $# -gt 0 ]; then
	archive=$1
else
	# names carry the date: the last in sorted order is the newest of ours
	stamp='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]'
	archive=$(find "$BACKUP_DIR" -maxdepth 1 \( -name "$BACKUP_NAME-$stamp.xbs.gz" -o \
	    -name "$BACKUP_NAME-$stamp.tar.gz" \) -type f -user "$owner" -links 1 |
	    sort | tail -n 1)
	[ -n "$archive" ] || die "$BACKUP_DIR: no $BACKUP_NAME-*.gz backup of $BACKUP_OWNER's to drill"
fi
# The archive and its sidecar must be plain files of the backup's owner,
# with one name, that no one else may write. Each is opened once, read-only,
# on descriptors 5 and 6, checked on the descriptor, and read only through it
# from then on: a name swapped after the check (in a directory others may
# write) changes nothing.
#
# The shell's open follows a link, waits for a writer on a FIFO, and with <>
# creates a missing name: so the name is tested first, and nothing but a
# plain file that is no link is opened. Whoever may write the directory can
# still swap the name between that test and the open; whatever got opened
# then is refused on the descriptor, which must be the very file (device
# and inode) the name leads to. The shell has no O_NOFOLLOW or O_NONBLOCK,
# so such a swap still gets one read-only open, by us, of what it puts
# there: a device's open does what a read-only open does, and a FIFO's
# waits for a writer. That wait, which would hold the lock shared and keep
# every backup out, is bounded: a watchdog ends the drill (status 137, one
# line) if the open has not returned within a minute. It waits on a pipe
# whose only writer is the descriptor being opened: the shell opens the
# file first and only then puts it in the pipe's place, so the pipe closes
# once the open has returned, or at our exit, however it comes. The
# watchdog never outlives us to kill whoever gets our pid, and takes no
# descriptor of its own (it could be guardlock's: GUARDLOCK_FD).
pin()
{
	# $1 name, $2 descriptor
	[ -e "$1" ] || [ -L "$1" ] || die "$1: no such file: not drilled"
	if [ ! -f "$1" ] || [ -L "$1" ]; then
		die "$1: not a plain file of $BACKUP_OWNER's that only they may write: not drilled"
	fi
	dog=$(mktemp -d) || die "cannot create a temporary directory"
	mkfifo -- "$dog/fifo" || { rmdir -- "$dog"; die "$dog/fifo: cannot create it"; }
	{ timeout 60 cat > /dev/null 2>&1 || {
		say "$1: still not open after 60 s (a FIFO put in its place?): not drilled"
		kill -KILL $$
	}; } < "$dog/fifo" &
	eval "exec $2> \"\$dog/fifo\""
	rm -rf -- "$dog"
	# command: in sh, a failed exec redirection would end the shell unheard
	eval "command exec $2< \"\$1\"" 2>/dev/null || die "$1: cannot open it: not drilled"
	fd=$(stat -L -c '%u:%h %a %d:%i' -- "/dev/fd/$2" 2>/dev/null) || fd=
	at=$(stat -c %d:%i -- "$1" 2>/dev/null) || at=
	read -r who mode ino <<-EOF
	$fd
	EOF
	if [ ! -f "/dev/fd/$2" ] || [ "$who" != "$owner:1" ] || [ $((0$mode & 022)) -ne 0 ]; then
		die "$1: not a plain file of $BACKUP_OWNER's that only they may write: not drilled"
	fi
	[ "$ino" = "$at" ] || die "$1: not the file its name leads to (swapped as it was opened): not drilled"
}
# Descriptors 5 and 6, or 7 and 8 when guardlock's lock is on 5 or 6 (it
# takes the lowest free one above 2): reusing its number would drop the lock.
lockfd=${GUARDLOCK_FD:-}
case $lockfd in '' | *[!0-9]*) lockfd= ;; esac
fa=5 fs=6
case $lockfd in 5 | 6) fa=7 fs=8 ;; esac
pin "$archive" $fa
pin "$archive.b2" $fs

stage=
pid=
# shellcheck disable=SC2317 # called from the traps
cleanup()
{
	status=$?
	# a failure that said nothing (set -e) still leaves a line in the log
	[ "$status" -eq 0 ] || [ -n "$said" ] || syslog "$prog: failed with status $status"
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null || :
	fi
	[ -n "$stage" ] && rm -rf "$stage"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# 1. The digest written at commit time still matches: not bit rot, not a
# truncation, not someone else's file. The sidecar's one line is gzsafe's
# "HEX  NAME", NAME the archive's own; its length sets the digest's.
IFS= read -r line <&"$fs" || :
want=${line%%  *}
case $want in
''|*[!0-9a-f]*) want= ;;
esac
if [ -z "$want" ] || [ "${line#*  }" != "${archive##*/}" ] || [ $((${#want} % 2)) -ne 0 ] ||
    [ ${#want} -gt 128 ]; then
	die "$archive.b2: not gzsafe's sidecar for it (HEX  NAME): not drilled"
fi
got=$(sumcheck -p -l $((${#want} * 4)) "/dev/fd/$fa") || die "$archive: sumcheck failed (status $?)"
[ "${got%%  *}" = "$want" ] || die "$archive: does not match its digest (sumcheck)"

# 2. Every gzip member inflates with the right CRC and length.
gzsafe -t "/dev/fd/$fa" > /dev/null || die "$archive: gzsafe -t failed (status $?)"

# 3. Unpack. A failed gunzip inside the pipe is caught through a marker.
stage=$(mktemp -d "$DRILL_STAGING/restore-drill.XXXXXX")
mkdir "$stage/data"
case $archive in
*.xbs.gz) unpack='mbstream -x -C' ;;
*.tar.gz) unpack='tar -xf - -C' ;;
*) die "$archive: neither .xbs.gz nor .tar.gz" ;;
esac
{ gzip -dc "/dev/fd/$fa" || : > "$stage/gunzip-failed"; } |
    $unpack "$stage/data" 2> "$stage/unpack.log" ||
    die "$archive: unpack failed: $(tail -n 1 "$stage/unpack.log")"
[ ! -e "$stage/gunzip-failed" ] || die "$archive: gzip -dc failed"
eval "exec $fa<&- $fs<&-"

# 4. Apply the redo log: the copy becomes a consistent data directory.
"$DRILL_TOOL" --prepare --target-dir="$stage/data" > "$stage/prepare.log" 2>&1 ||
    die "$DRILL_TOOL --prepare failed: $(tail -n 1 "$stage/prepare.log")"

# 5. A throwaway server on the copy: no TCP, a socket in the 0700 staging
# directory, no grant tables (nobody else can reach it), not /etc/mysql's
# configuration. The descriptor holding the lock ($GUARDLOCK_FD: 3, or
# another number when guardlock ran with more descriptors open) is closed
# for it, or the server would hold the backup's lock for as long as it runs.
set -- --no-defaults --datadir="$stage/data" --socket="$stage/sock" \
    --pid-file="$stage/mariadbd.pid" --log-error="$stage/mariadbd.err" \
    --skip-networking --skip-grant-tables --innodb-buffer-pool-size=64M
[ "$(id -u)" -eq 0 ] && set -- "$@" --user=root
if [ -n "$lockfd" ]; then
	eval '"$MARIADBD" "$@" > /dev/null 2>&1 '"$lockfd"'>&- &'
else
	"$MARIADBD" "$@" > /dev/null 2>&1 &
fi
pid=$!
i=0
until mariadb-admin --no-defaults --socket="$stage/sock" ping > /dev/null 2>&1; do
	kill -0 "$pid" 2>/dev/null ||
	    die "restored server did not start: $(tail -n 1 "$stage/mariadbd.err")"
	i=$((i + 1))
	[ "$i" -lt 600 ] || die "restored server not answering after 60 s"
	sleep 0.1
done

# 6. The sanity query, and the caller's own checks.
out=$(mariadb --no-defaults --socket="$stage/sock" -N -e "$DRILL_QUERY") ||
    die "sanity query failed on the restored server"
[ -n "$out" ] || die "sanity query returned nothing"
if [ -n "$DRILL_HOOK" ]; then
	DRILL_SOCKET=$stage/sock
	export DRILL_SOCKET
	sh -c "$DRILL_HOOK" || die "DRILL_HOOK failed (status $?)"
fi

# 7. Stop the server cleanly; the trap removes the staging copy.
mariadb-admin --no-defaults --socket="$stage/sock" shutdown > /dev/null 2>&1 ||
    die "restored server did not shut down"
i=0
while kill -0 "$pid" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || die "restored server still running 60 s after shutdown"
	sleep 0.1
done
wait "$pid" || :
pid=
exit 0

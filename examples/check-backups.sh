#!/bin/sh
# check-backups.sh: monitoring for a backup directory, for cron or an agent.
#
#	sh check-backups.sh DIR [LOCKFILE [MAX_SECONDS]]
#
# Checks every DIR/*.gz against its sidecar digest (DIR/NAME.gz.b2, written
# by gzsafe --digest or sumcheck) and, given LOCKFILE, whether a backup has
# held the lock for more than MAX_SECONDS (default 21600, six hours): a hung
# backup is a missing backup tomorrow. Silent when everything is fine;
# otherwise one line per problem on stdout, and the exit status says what
# kind, worst first:
#
#	0  every backup verified, lock free or held briefly
#	1  corrupt: at least one backup does not match its digest
#	2  missing or unverifiable: no backup at all, no sidecar, unreadable
#	3  the lock has been held longer than MAX_SECONDS
#
# Only archives and sidecars owned by BACKUP_OWNER (default: the user that
# runs this) are checked: anything else under a backup's name in DIR is
# reported as foreign (2), never trusted.
set -u

BACKUP_OWNER=${BACKUP_OWNER:-$(id -un)}

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "usage: check-backups.sh dir [lockfile [max-seconds]]" >&2
	exit 2
fi
dir=$1
lock=${2:-}
max=${3:-21600}

# Names in DIR may have been chosen by anyone who can write there: shown
# with control characters as '?', so that none reaches a terminal raw.
shown() { printf '%s' "$1" | LC_ALL=C tr '\000-\037\177' '?'; }

# Only plain files of the backup's owner (one name) are checked or counted:
# anything else in DIR under a backup's name was put there by someone else.
ours() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %u:%h -- "$1")" = "$owner:1" ]; }

owner=$(id -u -- "$BACKUP_OWNER") || { echo "BACKUP_OWNER: $BACKUP_OWNER: no such user" >&2; exit 2; }
corrupt=0 unsure=0 stuck=0 n=0
for f in "$dir"/*.gz; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	if ! ours "$f"; then
		echo "$(shown "$f"): foreign: not a plain file of $BACKUP_OWNER's: not checked"
		unsure=1
		continue
	fi
	n=$((n + 1))
	if [ ! -e "$f.b2" ] && [ ! -L "$f.b2" ]; then
		echo "$(shown "$f"): unverifiable: no sidecar $(shown "$f.b2")"
		unsure=1
		continue
	fi
	if ! ours "$f.b2"; then
		echo "$(shown "$f"): unverifiable: its sidecar is not a plain file of $BACKUP_OWNER's"
		unsure=1
		continue
	fi
	# sumcheck keeps b2sum's format but not its single exit status:
	# 1 is a mismatch (corruption), 2 could not verify (missing, unreadable,
	# malformed sidecar).
	sumcheck -c --status "$f"
	case $? in
	0) ;;
	1) echo "$(shown "$f"): corrupt: does not match its digest"; corrupt=1 ;;
	*) echo "$(shown "$f"): unverifiable: sumcheck could not read it or its sidecar"; unsure=1 ;;
	esac
done
[ "$n" -gt 0 ] || { echo "$(shown "$dir"): missing: no backup (*.gz) at all"; unsure=1; }

# A commit cut short by a crash where the filesystem has no O_TMPFILE leaves
# its hidden temporary, .NAME.PID.HEX.tmp (gzsafe(1)). One of ours whose
# writer is gone and that is over an hour old is removed, and said so: a
# crash happened.
find "$dir" -maxdepth 1 -name '.*.*.*.tmp' -type f -user "$owner" -mmin +60 |
while IFS= read -r t; do
	pid=$(basename -- "$t" | awk -F. '{ print $(NF - 2) }')
	case $pid in '' | *[!0-9]*) continue ;; esac
	kill -0 "$pid" 2>/dev/null && continue
	rm -f -- "$t" && echo "$(shown "$t"): removed: left by a commit that a crash cut short"
done

# No lock file is no holder: /run is emptied at boot, and the lock file
# comes back with the first backup.
if [ -n "$lock" ] && { [ -e "$lock" ] || [ -L "$lock" ]; }; then
	holder=$(guardlock --status "$lock")
	case $? in
	0) ;;
	1)	# "... since 2026-03-06 00:00:01 (2h13m ago)": the age to seconds
		age=$(printf '%s\n' "$holder" | sed -n 's/.*(\([0-9dhms]*\) ago)$/\1/p' |
		    awk '{ t = 0; s = $0
			while (match(s, /^[0-9]+[dhms]/)) {
				u = substr(s, RLENGTH, 1)
				t += substr(s, 1, RLENGTH - 1) * \
				    (u == "d" ? 86400 : u == "h" ? 3600 : u == "m" ? 60 : 1)
				s = substr(s, RLENGTH + 1)
			}
			print t }')
		if [ -n "$age" ] && [ "$age" -gt "$max" ]; then
			echo "$lock: held for more than ${max}s: $holder"
			stuck=1
		fi ;;
	*) echo "$lock: unverifiable: guardlock --status could not tell"; unsure=1 ;;
	esac
fi

[ "$corrupt" -eq 0 ] || exit 1
[ "$unsure" -eq 0 ] || exit 2
[ "$stuck" -eq 0 ] || exit 3
exit 0

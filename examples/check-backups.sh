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
set -u

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "usage: check-backups.sh dir [lockfile [max-seconds]]" >&2
	exit 2
fi
dir=$1
lock=${2:-}
max=${3:-21600}

corrupt=0 unsure=0 stuck=0 n=0
for f in "$dir"/*.gz; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	if [ ! -e "$f.b2" ]; then
		echo "$f: unverifiable: no sidecar $f.b2"
		unsure=1
		continue
	fi
	# sumcheck keeps b2sum's format but not its single exit status:
	# 1 is a mismatch (corruption), 2 could not verify (missing, unreadable,
	# malformed sidecar).
	sumcheck -c --status "$f"
	case $? in
	0) ;;
	1) echo "$f: corrupt: does not match its digest"; corrupt=1 ;;
	*) echo "$f: unverifiable: sumcheck could not read it or its sidecar"; unsure=1 ;;
	esac
done
[ "$n" -gt 0 ] || { echo "$dir: missing: no backup (*.gz) at all"; unsure=1; }

if [ -n "$lock" ]; then
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

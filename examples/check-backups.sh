#!/bin/sh
# check-backups.sh: monitoring for a backup directory, for cron or an agent.
#
#	sh check-backups.sh [-a max-age] [-m metrics-dir] DIR [LOCKFILE [MAX_SECONDS]]
#
# Checks every DIR/*.gz against its sidecar digest (DIR/NAME.gz.b2, written
# by gzsafe --digest or sumcheck); that the newest archive that verifies was
# written less than max-age seconds ago (-a, or CHECK_MAX_AGE; default
# 93600, 26 hours: a nightly backup with two hours to spare); and, given
# LOCKFILE, whether a backup has held the lock for more than MAX_SECONDS
# (default 21600, six hours): a hung backup is a missing backup tomorrow.
# An archive's age is its modification time: gzsafe commits by rename, so
# that is when it was written. Silent when everything is fine; otherwise one
# line per problem on stdout, and the exit status says what kind:
#
#	0  every backup verified, the newest is fresh, lock free or held briefly
#	1  corrupt: at least one backup does not match its digest
#	2  missing or unverifiable: no backup at all, no sidecar, unreadable
#	3  the lock has been held longer than MAX_SECONDS
#	4  too old: no archive written in the last max-age seconds verifies
#
# When several apply, the first of 1, 2, 4, 3 wins, worst first: a stale
# backup (4) is what a restore would suffer, and a hung backup (3) is its
# usual cause. A directory whose newest archives are corrupt and whose
# older ones verify gets both lines: the corrupt ones, and how old the
# newest good one is, when that is too old.
#
# Only archives and sidecars owned by BACKUP_OWNER (default: the user that
# runs this), with one name, that group and others may not write, are
# checked: anything else under a backup's name in DIR is reported as
# foreign (2), never trusted, and an archive whose sidecar is not such a
# file as unverifiable (2).
#
# With -m, or SAFEPIPE_METRICS_DIR, the verdicts also go to
# METRICS-DIR/safepipe-check-DIR.prom for node_exporter's textfile
# collector (doc/monitoring.md). Every line also goes to the system log,
# tag safepipe-backup, priority user.err, unless SAFEPIPE_SYSLOG=0.
set -u

BACKUP_OWNER=${BACKUP_OWNER:-$(id -un)}
CHECK_MAX_AGE=${CHECK_MAX_AGE:-93600}
SAFEPIPE_METRICS_DIR=${SAFEPIPE_METRICS_DIR:-}
SAFEPIPE_SYSLOG=${SAFEPIPE_SYSLOG:-1}

prog=check-backups.sh
t0=$(date +%s.%N)

syslog()
{
	[ "$SAFEPIPE_SYSLOG" = 0 ] ||
	    logger -t safepipe-backup -p "user.${2:-err}" -- "$prog: $1" 2>/dev/null || :
}

# A problem: one line on stdout, and the same in the system log.
problem()
{
	printf '%s\n' "$1"
	syslog "$1" "${2:-err}"
}

usage()
{
	echo "usage: $prog [-a max-age] [-m metrics-dir] dir [lockfile [max-seconds]]" >&2
	syslog "bad usage"
	exit 2
}

# A setting that cannot work: one line on stderr, exit 2, nothing checked.
refuse()
{
	echo "$prog: $1" >&2
	syslog "$1"
	exit 2
}

max_age=$CHECK_MAX_AGE
metrics=$SAFEPIPE_METRICS_DIR
while getopts a:m: opt; do
	case $opt in
	a) max_age=$OPTARG ;;
	m) metrics=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage; fi
dir=$1
lock=${2:-}
max=${3:-21600}
for n in "$max_age" "$max"; do
	case $n in '' | *[!0-9]*) refuse "$n: not a number of seconds" ;; esac
done

# Names in DIR may have been chosen by anyone who can write there: shown
# with control characters as '?', so that none reaches a terminal raw.
shown() { printf '%s' "$1" | LC_ALL=C tr '\000-\037\177' '?'; }

# Only plain files of the backup's owner (one name) that group and others
# may not write are checked or counted: anything else in DIR under a
# backup's name was put there by someone else, and whoever may write an
# archive and its sidecar can rewrite both to match (restore-drill.sh's rule).
ours()
{
	[ -f "$1" ] && [ ! -L "$1" ] || return 1
	set -- "$(stat -c '%u:%h %a' -- "$1")"
	[ "${1% *}" = "$owner:1" ] && [ $((0${1#* } & 022)) -eq 0 ]
}

# 93600 -> "1d02h", as guardlock shows a holder's age.
age()
{
	if [ "$1" -lt 60 ]; then
		echo "${1}s"
	elif [ "$1" -lt 3600 ]; then
		printf '%dm%02ds\n' $(($1 / 60)) $(($1 % 60))
	elif [ "$1" -lt 86400 ]; then
		printf '%dh%02dm\n' $(($1 / 3600)) $(($1 % 3600 / 60))
	else
		printf '%dd%02dh\n' $(($1 / 86400)) $(($1 % 86400 / 3600))
	fi
}

# metrics_here DIR: into the metrics directory, and check the directory we
# are in, not its name. Whoever owns a directory above it (Debian's
# /var/lib/prometheus is user prometheus's) may rename it away and put one
# of their own, or a link, in its place at any moment, but cannot change the
# directory that is now our working directory. It must be root's or ours,
# written by nobody else, and the one its name leads to now (not a link to
# elsewhere, not moved away): then only root and we can have made any name
# in it, and from here on every name is relative. On failure, the reason
# on stdout. Checked before anything else, and again where the file is
# written, in the subshell that writes it.
# "dir/" and "dir/." name dir; "." (the directory we were started in) and
# "/" have no last name that anyone could swap; a name ending in ".." has
# one, the component before it, that this check cannot see: refused.
me=$(id -u)
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
if [ -n "$metrics" ]; then
	why=$(metrics_here "$metrics") ||
	    refuse "$metrics: $why: refusing to write metrics there (SAFEPIPE_METRICS_DIR, -m)"
fi

owner=$(id -u -- "$BACKUP_OWNER") || refuse "BACKUP_OWNER: $BACKUP_OWNER: no such user"
corrupt=0 unsure=0 stuck=0 stale=0 n=0
ok=0 bad=0 unverifiable=0 foreign=0
newest='' newest_t=0 newest_size=0
for f in "$dir"/*.gz; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	if ! ours "$f"; then
		problem "$(shown "$f"): foreign: not a plain file of $BACKUP_OWNER's that only they may write: not checked"
		unsure=1 foreign=$((foreign + 1))
		continue
	fi
	n=$((n + 1))
	if [ ! -e "$f.b2" ] && [ ! -L "$f.b2" ]; then
		problem "$(shown "$f"): unverifiable: no sidecar $(shown "$f.b2")"
		unsure=1 unverifiable=$((unverifiable + 1))
		continue
	fi
	if ! ours "$f.b2"; then
		problem "$(shown "$f"): unverifiable: its sidecar is not a plain file of $BACKUP_OWNER's that only they may write"
		unsure=1 unverifiable=$((unverifiable + 1))
		continue
	fi
	# sumcheck keeps b2sum's format but not its single exit status:
	# 1 is a mismatch (corruption), 2 could not verify (missing, unreadable,
	# malformed sidecar).
	sumcheck -c --status "$f"
	case $? in
	0)	ok=$((ok + 1))
		# shellcheck disable=SC2046 # two numbers
		set -- $(stat -c '%Y %s' -- "$f")
		if [ -z "$newest" ] || [ "$1" -gt "$newest_t" ]; then
			newest=$f newest_t=$1 newest_size=$2
		fi ;;
	1)	problem "$(shown "$f"): corrupt: does not match its digest"
		corrupt=1 bad=$((bad + 1)) ;;
	*)	problem "$(shown "$f"): unverifiable: sumcheck could not read it or its sidecar"
		unsure=1 unverifiable=$((unverifiable + 1)) ;;
	esac
done
# Freshness. When no archive verifies, each has had its line already, and
# 1 or 2 outranks 4.
now=$(date +%s)
if [ "$n" -eq 0 ]; then
	problem "$(shown "$dir"): missing: no backup (*.gz) at all"
	unsure=1
elif [ -n "$newest" ] && [ $((now - newest_t)) -gt "$max_age" ]; then
	problem "$(shown "$newest"): too old: the newest archive that verifies was written $(age $((now - newest_t))) ago (limit $(age "$max_age"))"
	stale=1
fi

# A commit cut short by a crash where the filesystem has no O_TMPFILE leaves
# its hidden temporary, .NAME.PID.HEX.tmp (gzsafe(1)). One of ours whose
# writer is gone and that is over an hour old is removed, and said so: a
# crash happened.
find "$dir" -maxdepth 1 -name '.*.*.*.tmp' -type f -user "$owner" -mmin +60 |
while IFS= read -r t; do
	pid=$(basename -- "$t" | awk -F. '{ print $(NF - 2) }')
	case $pid in '' | *[!0-9]*) continue ;; esac
	kill -0 "$pid" 2>/dev/null && continue
	rm -f -- "$t" && problem "$(shown "$t"): removed: left by a commit that a crash cut short" warning
done

# No lock file is no holder: /run is emptied at boot, and the lock file
# comes back with the first backup.
held='' mode=''
[ -z "$lock" ] || held=0
if [ -n "$lock" ] && { [ -e "$lock" ] || [ -L "$lock" ]; }; then
	holder=$(guardlock --status "$lock")
	case $? in
	0) ;;
	1)	# "... since 2026-03-06 00:00:01 (2h13m ago)": the age to seconds
		held=$(printf '%s\n' "$holder" | sed -n 's/.*(\([0-9dhms]*\) ago)$/\1/p' |
		    awk '{ t = 0; s = $0
			while (match(s, /^[0-9]+[dhms]/)) {
				u = substr(s, RLENGTH, 1)
				t += substr(s, 1, RLENGTH - 1) * \
				    (u == "d" ? 86400 : u == "h" ? 3600 : u == "m" ? 60 : 1)
				s = substr(s, RLENGTH + 1)
			}
			print t }')
		case $holder in "held shared "*) mode=shared ;; *) mode=exclusive ;; esac
		if [ -n "$held" ] && [ "$held" -gt "$max" ]; then
			problem "$lock: held for more than ${max}s: $holder"
			stuck=1
		fi ;;
	*) problem "$lock: unverifiable: guardlock --status could not tell"; unsure=1 held='' ;;
	esac
fi

status=0
if [ "$corrupt" -ne 0 ]; then status=1
elif [ "$unsure" -ne 0 ]; then status=2
elif [ "$stale" -ne 0 ]; then status=4
elif [ "$stuck" -ne 0 ]; then status=3
fi

# A label value in the text format: backslash, double quote and newline
# escaped.
label()
{
	printf '%s\n' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g'
}

# The file node_exporter reads, for the textfile collector: base units,
# HELP and TYPE for every family, one series per directory (and lock).
metrics_text()
{
	d="dir=\"$(label "$dir")\""
	cat <<-EOF
	# HELP safepipe_check_last_run_timestamp_seconds When check-backups.sh last finished a check of this directory.
	# TYPE safepipe_check_last_run_timestamp_seconds gauge
	safepipe_check_last_run_timestamp_seconds{$d} $(date +%s)
	# HELP safepipe_check_duration_seconds How long that check took.
	# TYPE safepipe_check_duration_seconds gauge
	safepipe_check_duration_seconds{$d} $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }')
	# HELP safepipe_check_exit_status Its exit status: 0 good, 1 corrupt, 2 missing or unverifiable, 3 lock held too long, 4 too old.
	# TYPE safepipe_check_exit_status gauge
	safepipe_check_exit_status{$d} $status
	# HELP safepipe_check_archives Archives by verdict: ok (matches its digest), corrupt, unverifiable (no or unreadable sidecar), foreign (not a plain file of the backup owner's that only they may write).
	# TYPE safepipe_check_archives gauge
	safepipe_check_archives{$d,verdict="ok"} $ok
	safepipe_check_archives{$d,verdict="corrupt"} $bad
	safepipe_check_archives{$d,verdict="unverifiable"} $unverifiable
	safepipe_check_archives{$d,verdict="foreign"} $foreign
	# HELP safepipe_check_newest_verified_timestamp_seconds When the newest archive that verifies was written; 0 if none does.
	# TYPE safepipe_check_newest_verified_timestamp_seconds gauge
	safepipe_check_newest_verified_timestamp_seconds{$d} $newest_t
	# HELP safepipe_check_newest_verified_size_bytes Size of the newest archive that verifies; 0 if none does.
	# TYPE safepipe_check_newest_verified_size_bytes gauge
	safepipe_check_newest_verified_size_bytes{$d} $newest_size
	# HELP safepipe_check_max_age_seconds Age past which the check calls the newest verified archive too old (-a).
	# TYPE safepipe_check_max_age_seconds gauge
	safepipe_check_max_age_seconds{$d} $max_age
	EOF
	[ -n "$held" ] || return 0
	l="$d,lock=\"$(label "$lock")\""
	x=0 s=0
	if [ "$mode" = shared ]; then s=$held; else x=$held; fi
	cat <<-EOF
	# HELP safepipe_check_lock_held_seconds How long the backup lock has been held, by mode; 0 when free.
	# TYPE safepipe_check_lock_held_seconds gauge
	safepipe_check_lock_held_seconds{$l,mode="exclusive"} $x
	safepipe_check_lock_held_seconds{$l,mode="shared"} $s
	# HELP safepipe_check_lock_max_seconds How long the check lets the lock be held (MAX_SECONDS).
	# TYPE safepipe_check_lock_max_seconds gauge
	safepipe_check_lock_max_seconds{$l} $max
	EOF
}

# Atomic: a temporary beside the target (never read by node_exporter,
# which reads *.prom only), flushed, made readable, renamed over the target
# (which replaces a link rather than following it), then the directory
# flushed. A scrape sees the old file or the new one, never half of one.
# In a subshell whose working directory is the metrics directory, checked
# (metrics_here), and through relative names only.
metrics_write()
{
	metrics_here "$metrics" || return 1
	tmp=$(mktemp ".$prom.XXXXXX") || return 1
	if metrics_text >"$tmp" && chmod 644 "$tmp" && sync -- "$tmp" && mv -fT -- "$tmp" "$prom"; then
		sync -- .
		return
	fi
	rm -f -- "$tmp"
	echo "$prom: cannot write it"
	return 1
}

# The file's name: the directory made a file name ('/' and anything outside
# A-Za-z0-9._- become '_'), which is not one to one (/srv/db and /srv_db),
# so a short hash of the exact name follows; the dir label is exact.
if [ -n "$metrics" ]; then
	prom=safepipe-check-$(printf '%s' "$dir" | sed -e 's|^/*||' | tr -c 'A-Za-z0-9._-' _)-$(
	    printf '%s' "$dir" | b2sum -l 32 | cut -c 1-8).prom
	if ! why=$(metrics_write 2>&1); then
		why=$(printf '%s\n' "$why" | tail -n 1)
		echo "$prog: $metrics: ${why:-failed}: metrics not written" >&2
		syslog "$metrics: ${why:-failed}: metrics not written"
		[ "$status" -ne 0 ] || status=2
	fi
fi
exit "$status"

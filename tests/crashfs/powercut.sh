#!/bin/sh
# tests/crashfs/powercut.sh [-n SAMPLES] [-s SEED] [-l LABEL] [-N NAME] DIR CMD [ARG...]
#
# Record one run of CMD on crashfs and check every state a power cut during
# it could leave. DIR/back holds the tree before the run (NAME, default
# db.gz, and NAME.b2); CMD runs in the mounted tree, DIR/mnt. Afterwards
# DIR/init is that tree as it was, DIR/back as CMD left it, DIR/ops the
# log; crashcheck.py prints what it explored and what it found.
#
# Exit status: crashcheck's (0 no violation, 1 violations, 2 could not
# check), or 2 if CMD did not exit 0. The mount is gone on every way out.
set -u
here=$(cd "$(dirname "$0")" && pwd)
samples=8 seed=1 label='' name=db.gz
while getopts n:s:l:N: opt; do
	case $opt in
	n) samples=$OPTARG ;;
	s) seed=$OPTARG ;;
	l) label=$OPTARG ;;
	N) name=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: powercut.sh [-n samples] [-s seed] [-l label] [-N name] dir cmd [arg ...]" >&2; exit 2; }
dir=$(cd "$1" && pwd) || exit 2
shift
: "${label:=$1}"
# A program that hangs on the mount must not hang us: bounded everywhere.
BOUND=60

pid=
mounted=
cleanup()
{
	[ -n "$mounted" ] && { timeout 10 fusermount3 -u -z "$dir/mnt" 2>/dev/null || umount -l "$dir/mnt"; }
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	mounted='' pid=''
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The daemon ends once the mount is gone. Its parent has exited, so it may
# stay a zombie until init reaps it: that is gone enough.
gone()
{
	_i=0
	while [ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt 200 ] && { echo "powercut: crashfs $1 did not end" >&2; return 1; }
		sleep 0.05
	done
}

rm -rf "${dir:?}/init" "${dir:?}/mnt" "${dir:?}/ops" "${dir:?}/ops.data"
cp -a "$dir/back" "$dir/init" && mkdir "$dir/mnt" || exit 2
pid=$("$here/crashfs" "$dir/back" "$dir/mnt" "$dir/ops" 2>"$dir/crashfs.err") || {
	echo "powercut: cannot mount crashfs:" >&2
	cat "$dir/crashfs.err" >&2
	exit 2
}
mounted=1
(cd "$dir/mnt" && exec timeout "$BOUND" "$@")
st=$?
lines=$(wc -l <"$dir/ops")
timeout 10 fusermount3 -u "$dir/mnt" && mounted=
gone "$pid" && pid=
[ -z "$mounted$pid" ] || exit 2
[ -s "$dir/crashfs.err" ] && { echo "powercut: crashfs said:" >&2; cat "$dir/crashfs.err" >&2; exit 2; }
if [ $st -ne 0 ]; then
	echo "powercut: $label: exit $st, nothing to check" >&2
	exit 2
fi
exec python3 "$here/crashcheck.py" --initial "$dir/init" --final "$dir/back" \
    --log "$dir/ops" --name "$name" --exited "$lines" --samples "$samples" \
    --seed "$seed" --label "$label"

#!/bin/sh
# tools/valgrind.sh [TEST...]: run tests with every program under valgrind
# memcheck. Wrapper scripts named like the programs go first on PATH
# (SAFEPIPE_BINDIR), each logging to its own file; afterwards any error or
# leak in any log fails the run. Errors are read from the logs rather than
# from an exit code, since a test expecting failure would accept one.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/safepipe-vg.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin" "$work/log"
for p in guardlock gzsafe sumcheck; do
	cat >"$work/bin/$p" <<WRAP
#!/bin/sh
exec valgrind -q --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \\
	--show-leak-kinds=definite --track-fds=no --log-file="$work/log/$p.%p" \\
	"$top/$p" "\$@"
WRAP
	chmod +x "$work/bin/$p"
done
if [ $# -eq 0 ]; then
	# The programs' own tests; the pipeline tests add only time, and so do
	# t2120's kills at timed points (its ENOSPC and race paths run under
	# the sanitizers in CI, LeakSanitizer included).
	for t in "$top"/tests/t[0-3]*.t; do
		case $t in */t2120-*) continue ;; esac
		[ -f "$t" ] && set -- "$@" "$t"
	done
fi
# Race rounds prove the lock, not memory safety: a few are enough here.
# memcheck runs a program's threads one at a time: a test per CPU.
jobs=$(nproc 2>/dev/null || echo 1)
# shellcheck disable=SC2086  # PROVEFLAGS: words
SAFEPIPE_TEST_ROUNDS=3 SAFEPIPE_BINDIR=$work/bin prove -j "$jobs" ${PROVEFLAGS:-} "$@"
# valgrind 3.19 does not know openat2(2) (437): it answers ENOSYS, which
# sumcheck meets with its own component-by-component walk, and says so in
# a five-line note that is no error of ours.
for f in "$work"/log/*; do
	[ -f "$f" ] || continue
	grep -v -e 'unhandled amd64-linux syscall: 437$' -e 'write your own handler\.$' \
	    -e 'README_MISSING_SYSCALL_OR_IOCTL\.$' -e 'Nevertheless we consider this a bug' \
	    -e 'valgrind\.org/support/bug_reports\.html\.$' "$f" >"$f.kept" || :
	mv "$f.kept" "$f"
done
bad=$(find "$work/log" -type f -size +0 | head -20)
if [ -n "$bad" ]; then
	for f in $bad; do
		echo "== $f" >&2
		head -40 "$f" >&2
	done
	echo "valgrind: errors in $(echo "$bad" | wc -l) program runs" >&2
	exit 1
fi
echo "valgrind: $(find "$work/log" -type f | wc -l) program runs, no error, no leak"

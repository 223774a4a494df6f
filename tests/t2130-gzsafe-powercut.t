#!/bin/sh
# Power cuts: every state a crash could leave during gzsafe --digest and
# sumcheck -f, built from a log of their operations on crashfs (a FUSE
# filesystem that records what a power cut would keep) and checked under
# four models of what survives (tests/crashfs/crashcheck.py says which
# guarantees of ext4, xfs and btrfs each stands for). SIGKILL cannot test
# this: a killed process leaves the page cache, so a missing fsync passes.
# And the proof that it can fail: the broken protocols are caught.
#
# Through FUSE, O_TMPFILE fails (libfuse 3.14 has no tmpfile operation), so
# these runs take atomic.c's named-temporary path; see doc/robustness.md
# for how the O_TMPFILE path is covered.
. "$(dirname "$0")/lib.sh"

# Seeded: a failure here is the same failure on the next run. make torture
# draws many more samples per crash point, with a seed of its own.
SAMPLES=${POWERCUT_SAMPLES:-8}
SEED=${POWERCUT_SEED:-1}
CF=$TESTS/crashfs

# Whatever happens, no mount is left behind: powercut.sh unmounts its own,
# and this catches one whose script was killed.
unmount_all()
{
	awk -v d="$SCRATCH/" 'index($2, d) == 1 { print $2 }' /proc/mounts |
	while read -r m; do
		timeout 10 fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"
	done
}
at_exit unmount_all

need python3 fusermount3 b2sum gzip || skip_all "python3, fusermount3, b2sum or gzip missing"
[ -x "$CF/crashfs" ] || skip_all "tests/crashfs/crashfs not built (no libfuse3-dev)"
if ! [ -c /dev/fuse ] || ! [ -r /dev/fuse ] || ! [ -w /dev/fuse ]; then
	skip_all "no usable /dev/fuse"
fi
mkdir -p probe/back probe/mnt
probe=$("$CF/crashfs" probe/back probe/mnt probe/ops 2>probe/err) ||
	skip_all "cannot mount a FUSE filesystem here: $(head -1 probe/err)"
timeout 10 fusermount3 -u probe/mnt || { kill "$probe"; exit 1; }

seq 1 20000 >old.raw
gen_data 300000 11 >new.raw
mkdir base
gzsafe --digest base/db.gz <old.raw || exit 1

# powercut DIR LABEL CMD...: the old backup in DIR/back, one run of CMD in
# it on crashfs, every crash state checked; the summary in DIR/out.
powercut()
{
	_d=$1 _l=$2
	shift 2
	rm -rf "$_d" && mkdir "$_d" && cp -a base "$_d/back" &&
	sh "$CF/powercut.sh" -n "$SAMPLES" -s "$SEED" -l "$_l" "$_d" "$@" >"$_d/out"
}

# Zero violations, and states explored in every model.
clean()
{
	cat "$1/out" &&
	test_grep "^crashcheck: .*: all models: .*: [0-9]+ states, 0 violations" "$1/out" &&
	for m in strict optimistic ordered btrfs; do
		test_grep "^crashcheck: .*: $m: [0-9]+ crash points, [1-9][0-9]* states" "$1/out" || return 1
	done
}

# Violations found, in model $2 at least.
caught()
{
	cat "$1/out" &&
	test_grep "^crashcheck: .*: all models: .*: [0-9]+ states, [1-9][0-9]* violations" "$1/out" &&
	test_grep "^crashcheck: .*: $2: .*, [1-9][0-9]* violations" "$1/out"
}

# The numbers, for make check's verbose output and doc/robustness.md.
summary()
{
	[ -f "$1/out" ] && grep '^crashcheck: .*: [a-z]*: ' "$1/out" | sed 's/^/# /'
}

# with_shim as a command: powercut.sh runs programs, not shell functions.
cat >shimrun <<EOF
#!/bin/sh
exec env LD_PRELOAD="$TESTS/shim.so" \\
    ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0" "\$@"
EOF
chmod +x shimrun

test_expect_success 'gzsafe --digest replacing an archive: no violation in any crash state' '
	powercut g gzsafe gzsafe --digest db.gz cat "$SCRATCH/new.raw" &&
	clean g &&
	gzip -dc g/back/db.gz | cmp - new.raw &&
	(cd g/back && b2sum --quiet -c db.gz.b2)
'
summary g

test_expect_success 'the run took the named-temporary path, fsynced data, renamed, fsynced the directory' '
	test_grep "^create #[0-9]+ /\.db\.gz\.[0-9]+\.[0-9a-f]+\.tmp " g/ops &&
	test_grep "^create #[0-9]+ /\.db\.gz\.b2\.[0-9]+\.[0-9a-f]+\.tmp " g/ops &&
	sed -n "s/^\(fsync\|fsyncdir\|rename\) .*/\1/p" g/ops | tr "\n" " " >order &&
	test "$(cat order)" = "fsync fsync rename rename fsyncdir "
'

test_expect_success 'crash states laid out as trees: old pair at the start, new pair at the end (cmp)' '
	n=$(grep -c -v "^\(open\|release\|opendir\|releasedir\) " g/ops) &&
	for m in strict ordered btrfs; do
		rm -rf first last &&
		python3 "$CF/crashcheck.py" --initial g/init --final g/back --log g/ops \
		    --name db.gz --layout $m:0:0 --out first &&
		python3 "$CF/crashcheck.py" --initial g/init --final g/back --log g/ops \
		    --name db.gz --layout $m:$n:1 --out last &&
		cmp first/db.gz base/db.gz && cmp first/db.gz.b2 base/db.gz.b2 &&
		cmp last/db.gz g/back/db.gz && cmp last/db.gz.b2 g/back/db.gz.b2 &&
		test "$(ls -A last | tr "\n" " ")" = "db.gz db.gz.b2 " || exit 1
	done
'

test_expect_success 'a log that misses an operation does not replay to the tree: the checker refuses' '
	mkdir bad && cp -a g/init g/back bad/ &&
	awk "/^write / && !done { done = 1; next } { print }" g/ops >bad/ops &&
	cp g/ops.data bad/ops.data &&
	test_expect_code 2 python3 "$CF/crashcheck.py" --initial bad/init --final bad/back \
	    --log bad/ops --name db.gz 2>err &&
	test_grep "not the tree it was recorded on" err
'

test_expect_success 'gzsafe --verify --digest: no violation in any crash state' '
	powercut v "gzsafe --verify" gzsafe --verify --digest db.gz cat "$SCRATCH/new.raw" &&
	clean v
'
summary v

test_expect_success 'pipe mode, producer | gzsafe --digest: no violation in any crash state' '
	powercut p "gzsafe (pipe)" sh -c "gzsafe --digest db.gz <\"\$1\"" sh "$SCRATCH/new.raw" &&
	clean p
'
summary p

test_expect_success 'sumcheck -f replacing a sidecar: no violation in any crash state' '
	rm -rf s && mkdir s && cp -a base s/back &&
	(cd s/back && b2sum --tag db.gz >db.gz.b2) &&
	sh "$CF/powercut.sh" -n "$SAMPLES" -s "$SEED" -l "sumcheck -f" s sumcheck -f db.gz >s/out &&
	clean s &&
	test_grep "^[0-9a-f]{128}  db\.gz$" s/back/db.gz.b2
'
summary s

test_expect_success 'a crash can leave a named temporary; the next run is not disturbed, and leaves it' '
	test_grep "[1-9][0-9]* leave a temporary" g/out &&
	n=$(grep -c -v "^\(open\|release\|opendir\|releasedir\) " g/ops) &&
	# After the staged archive is fsynced, before it is renamed: sample 0
	# keeps every metadata change, so the temporary is there, whole.
	k=$(grep -v "^\(open\|release\|opendir\|releasedir\) " g/ops | grep -n -m 1 "^fsync " | cut -d: -f1) &&
	python3 "$CF/crashcheck.py" --initial g/init --final g/back --log g/ops \
	    --name db.gz --layout ordered:$k:0 --out t &&
	ls -A t >names &&
	test_grep "^\.db\.gz\.[0-9]+\.[0-9a-f]+\.tmp$" names &&
	cmp t/db.gz base/db.gz &&
	gzsafe --digest t/db.gz <new.raw &&
	gzip -dc t/db.gz | cmp - new.raw &&
	ls -A t >after &&
	test_grep "^\.db\.gz\.[0-9]+\.[0-9a-f]+\.tmp$" after
'

test_expect_success 'broken: gzsafe --no-sync loses the committed archive (strict) and tears it (ordered, btrfs)' '
	powercut ns "gzsafe --no-sync" gzsafe --no-sync --digest db.gz cat "$SCRATCH/new.raw"
	test $? -eq 1 &&
	caught ns strict && caught ns ordered && caught ns btrfs &&
	test_grep "VIOLATION at strict:.*after exit 0: old archive" ns/out
'
summary ns

test_expect_success 'broken: no fsync of the directory (shim) loses the committed archive' '
	powercut nd "gzsafe, no dir fsync" "$SCRATCH/shimrun" SHIM_NO_DIRSYNC=1 \
	    gzsafe --digest db.gz cat "$SCRATCH/new.raw"
	test $? -eq 1 &&
	caught nd strict && caught nd ordered &&
	! test_grep "^fsyncdir " nd/ops
'
summary nd

test_expect_success 'broken: rename before the fsync of the data (shim) exposes an empty archive' '
	powercut lf "gzsafe, fsync after rename" "$SCRATCH/shimrun" SHIM_FSYNC_AFTER_RENAME=1 \
	    gzsafe --digest db.gz cat "$SCRATCH/new.raw"
	test $? -eq 1 &&
	caught lf ordered && caught lf btrfs &&
	test_grep "VIOLATION at ordered:.*db\.gz empty" lf/out
'
summary lf

test_expect_success 'broken: sumcheck -f without the directory fsync, or renaming first, is caught' '
	for v in SHIM_NO_DIRSYNC SHIM_FSYNC_AFTER_RENAME; do
		rm -rf s$v && mkdir s$v && cp -a base s$v/back &&
		(cd s$v/back && b2sum --tag db.gz >db.gz.b2) || exit 1
		sh "$CF/powercut.sh" -n "$SAMPLES" -s "$SEED" -l "sumcheck -f, $v" s$v \
		    "$SCRATCH/shimrun" $v=1 sumcheck -f db.gz >s$v/out
		test $? -eq 1 && caught s$v ordered || exit 1
	done
'
summary sSHIM_NO_DIRSYNC
summary sSHIM_FSYNC_AFTER_RENAME

test_done

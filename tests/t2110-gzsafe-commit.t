#!/bin/sh
# The commit rule: OUTPUT changes only when the input, the producer and the
# disk all said yes; otherwise it stays byte for byte, with one line saying why.
. "$(dirname "$0")/lib.sh"

seq 1 20000 >old
seq 5 70000 >new
gzsafe --digest out.gz <old || exit 1
cp out.gz good.gz
cp out.gz.b2 good.b2

# OUTPUT and its sidecar as they were, and no hidden temp beside them
# (.log is lib.sh's).
unchanged()
{
	cmp out.gz good.gz && cmp out.gz.b2 good.b2 || return 1
	for f in .[!.]* ..?*; do
		test -e "$f" || continue
		test "$f" = .log && continue
		echo "left behind: $f" >&2
		return 1
	done
}

test_expect_success 'wrap mode: a producer that succeeds commits' '
	gzsafe w.gz cat new && gzip -dc w.gz | cmp - new
'

test_expect_success 'wrap mode: producer exits 3 mid-stream: exit 3, one line, OUTPUT unchanged' '
	test_expect_code 3 gzsafe --digest out.gz sh -c "cat new; exit 3" 2>err &&
	echo "gzsafe: sh exited with status 3; out.gz left unchanged" >want &&
	test_cmp want err &&
	unchanged
'

test_expect_success 'wrap mode: producer killed by a signal: 128+N' '
	test_expect_code 137 gzsafe --digest out.gz sh -c "head -c 100000 new; kill -9 \$\$" 2>err &&
	test_grep "killed by signal 9; out.gz left unchanged" err &&
	unchanged
'

test_expect_success 'wrap mode: not found 127, not executable 126' '
	test_expect_code 127 gzsafe out.gz no-such-command-here 2>err &&
	test_grep "no-such-command-here: No such file or directory; out.gz left unchanged" err &&
	printf "#!/bin/sh\n" >noexec && chmod 644 noexec &&
	test_expect_code 126 gzsafe out.gz ./noexec &&
	unchanged
'

test_expect_success 'wrap mode: the command keeps its own options and our stdin' '
	printf "%s\n" -n -x >want &&
	echo piped | gzsafe o.gz sh -c "printf \"%s\n\" -n -x; cat" &&
	echo piped >>want && gzip -dc o.gz | cmp - want
'

test_expect_success 'pipe mode: clean EOF commits' '
	gzsafe p.gz <new && gzip -dc p.gz | cmp - new
'

test_expect_success 'pipe mode: a status 0 written after the last byte commits, and is consumed' '
	st=$(mktemp) &&
	{ cat new; echo 0 >"$st"; } | gzsafe --status-file "$st" p2.gz &&
	gzip -dc p2.gz | cmp - new && test ! -e "$st"
'

test_expect_success 'pipe mode: non-zero, missing, empty, non-numeric status: exit 1, unchanged' '
	st=$PWD/st &&
	{ cat new; echo 4 >"$st"; } | test_expect_code 1 gzsafe --digest --status-file "$st" out.gz 2>err &&
	test_grep "producer reported status 4; out.gz left unchanged" err && unchanged &&
	rm -f "$st" && cat new | test_expect_code 1 gzsafe --status-file "$st" out.gz && unchanged &&
	cat new | { : >"$st"; cat; } | test_expect_code 1 gzsafe --status-file "$st" out.gz && unchanged &&
	{ cat new; echo zero >"$st"; } | test_expect_code 1 gzsafe --status-file "$st" out.gz && unchanged
'

test_expect_success 'pipe mode: a status left from an earlier run never counts' '
	echo 0 >stale &&
	cat new | test_expect_code 1 gzsafe --status-file "$PWD/stale" out.gz 2>err &&
	test_grep "not written by this run" err && unchanged
'

test_expect_success 'pipe mode: a FIFO status: 0 commits; never written: 1, no hang' '
	mkfifo fifo &&
	{ cat new; echo 0 >fifo; } | timeout 60 gzsafe --status-file fifo f.gz &&
	gzip -dc f.gz | cmp - new &&
	cat new | test_expect_code 1 timeout 60 gzsafe --status-file fifo out.gz && unchanged
'

# The documented idioms write the status with 1<> (read-write): a FIFO's
# open for writing alone waits for a reader, which never comes once gzsafe
# has given up, and the pipeline (and the lock it runs under) hangs for good.
test_expect_success 'pipe mode: the documented FIFO idioms never wait for a gzsafe that gave up' '
	for f in "$TOP/man/gzsafe.1" "$TOP/examples/README.md"; do
		grep -n "echo \$? *> *\"\$d/" "$f" && { echo "$f: a FIFO status written with >"; exit 1; }
		grep -q "echo \$? 1<> " "$f" || { echo "$f: no 1<> idiom"; exit 1; }
	done &&
	mkfifo sfifo && mkdir refused.gz &&
	seq 1 200000 >big &&
	timeout 60 sh -c "{ cat big; echo \$? 1<> sfifo; } | gzsafe --status-file sfifo refused.gz; echo \$? >rc" 2>err &&
	test "$(cat rc)" = 125 && test_grep "refused.gz: is a directory" err &&
	{ cat new; echo $? 1<> sfifo; } | timeout 60 gzsafe --status-file sfifo g.gz &&
	gzip -dc g.gz | cmp - new &&
	{ cat new; echo 3 1<> sfifo; } | test_expect_code 1 timeout 60 gzsafe --status-file sfifo out.gz &&
	unchanged
'

# The status recipes of gzsafe(1), as the page prints them (the literal
# display that starts with line $1): "producer" is ./producer, "output" r.gz,
# the temporaries go to a directory of the test's own, and the recipe's
# status is gzsafe's (a function of that name notes it on the way).
recipe()
{
	awk -v first="$1" '$0 == first { on = 1 } on && /^\.Ed$/ { exit } on' \
	    "$TOP/man/gzsafe.1" >recipe.sh || return 1
	if ! test -s recipe.sh; then
		echo "gzsafe(1) has no display that starts: $1"
		return 1
	fi
	cat recipe.sh &&
	sed -i -e 's/\<producer\>/sh .\/producer/' -e 's/\<output\>/r.gz/' recipe.sh &&
	mkdir -p tmp && rm -f gzsafe.rc &&
	{ echo "gzsafe() { command gzsafe \"\$@\"; echo \$? >'$PWD/gzsafe.rc'; }"; cat recipe.sh; } >run.sh &&
	env TMPDIR="$PWD/tmp" timeout 60 sh run.sh &&
	read -r rc <gzsafe.rc && return "$rc"
}
# shellcheck disable=SC2034  # the first lines, read in the test bodies
FIFO_RECIPE='d=$(mktemp -d); mkfifo "$d/st"' FILE_RECIPE='st=$(mktemp)'
# A producer quicker than gzsafe: its output fits the pipe buffer, and its
# status may be written before gzsafe has started. A FIFO keeps no status
# that nobody reads (1<>, the echo alone has it open): the FIFO recipe's
# producer writes more than a pipe holds, as any backup does.
gen_data 3000 7 >small
gen_data 1000000 8 >medium

test_expect_success 'pipe mode: the recipes of gzsafe(1), as printed, commit a good producer' '
	for first in "$FIFO_RECIPE:medium" "$FILE_RECIPE:small"; do
		in=${first##*:} &&
		echo "cat $in" >producer &&
		rm -f r.gz &&
		recipe "${first%:*}" &&
		gzip -dc r.gz >got && cmp got $in &&
		test -z "$(ls tmp)" || exit 1
	done
'

test_expect_success 'pipe mode: those recipes with a failing producer: exit 1, nothing committed' '
	echo "cat medium; exit 3" >producer &&
	for first in "$FIFO_RECIPE" "$FILE_RECIPE"; do
		rm -f r.gz &&
		test_expect_code 1 recipe "$first" 2>err &&
		test_grep "^gzsafe: producer reported status 3; r.gz left unchanged$" err &&
		test ! -e r.gz && test -z "$(ls tmp)" || exit 1
	done
'

# The --status-fd FIFO recipe: the FIFO is open before the pipeline starts,
# so a producer quicker than gzsafe cannot write its status into a FIFO
# that nobody holds (it was lost, and gzsafe waited 60 s and failed).
test_expect_success 'pipe mode: the --status-fd FIFO recipe of gzsafe(1) commits a quick producer' '
	mkdir -p sfd && d=$PWD/sfd && export d && rm -f sfd/st && mkfifo sfd/st &&
	echo "cat small" >producer && rm -f r.gz &&
	recipe "{ { producer; echo \$? 1<> \"\$d/st\"; } | gzsafe --status-fd 3 output; } 3<>\"\$d/st\"" &&
	gzip -dc r.gz >got && cmp got small
'

# What gzsafe(1) says of a regular file through --status-file: a status
# written before gzsafe started is taken as stale, fresh file or not. The
# reader side waits (bounded) until the status is there before it runs gzsafe.
test_expect_success 'pipe mode: a fresh mktemp file written before gzsafe started: taken as stale, exit 1' '
	mkdir -p tmp && st=$(TMPDIR=$PWD/tmp mktemp) && rm -f r.gz &&
	{ cat small; echo 0 >"$st"; } |
	    { i=0; while ! test -s "$st" && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
	      test_expect_code 1 gzsafe --status-file "$st" r.gz 2>err; } &&
	test_grep "^gzsafe: status file $st: not written by this run \(stale\?\); r.gz left unchanged$" err &&
	test ! -e r.gz && rm -f "$st"
'

test_expect_success '--status-file with a COMMAND is bad usage' '
	test_expect_code 125 gzsafe --status-file st out.gz cat new 2>err &&
	test_grep "^usage: gzsafe" err
'

test_expect_success 'modes: a replaced file keeps its mode; a new one gets 0666 & ~umask; -m overrides' '
	gzsafe m.gz <new && chmod 640 m.gz && gzsafe m.gz <old &&
	test "$(stat -c %a m.gz)" = 640 &&
	(umask 027 && gzsafe n.gz <old) && test "$(stat -c %a n.gz)" = 640 &&
	(umask 022 && gzsafe n2.gz <old) && test "$(stat -c %a n2.gz)" = 644 &&
	gzsafe -m 600 m.gz <new && test "$(stat -c %a m.gz)" = 600
'

test_expect_success '-N: an existing OUTPUT is refused, a new one committed' '
	test_expect_code 125 gzsafe -N out.gz <new 2>err && test_grep "exists" err && unchanged &&
	gzsafe -N fresh.gz <new && gzip -dc fresh.gz | cmp - new
'

test_expect_success 'OUTPUT a directory, a symlink, a FIFO, a device: refused; the link target untouched' '
	mkdir dir && test_expect_code 125 gzsafe dir <new &&
	cp good.gz target && ln -s target link &&
	test_expect_code 125 gzsafe link <new 2>err && test_grep "symbolic link" err &&
	cmp target good.gz && test -L link &&
	mkfifo ofifo && test_expect_code 125 timeout 30 gzsafe ofifo <new &&
	test_expect_code 125 gzsafe /dev/null <new 2>err &&
	test_grep "^gzsafe: /dev/null: not a regular file" err && test -c /dev/null
'

test_expect_success 'a missing output directory: 125 and a message' '
	test_expect_code 125 gzsafe no/such/dir/x.gz <new 2>err &&
	test_grep "no/such/dir/x.gz" err
'

test_expect_success 'bad flags: 125 with usage; with -t: 2' '
	for a in "-p 0" "-b 0" "-m 999" "-m abc" "-p x" "--no-such"; do
		# shellcheck disable=SC2086
		test_expect_code 125 gzsafe $a x.gz <new 2>err &&
		test_grep "usage: gzsafe" err || exit 1
	done &&
	test_expect_code 125 gzsafe </dev/null &&
	test_expect_code 2 gzsafe -t -p 2 x.gz &&
	test ! -e x.gz && unchanged
'

# The shim flips one bit of what pread returns: a device that lost it.
test_expect_success '--verify rereads the file: a bit lost on the way is caught, OUTPUT unchanged' '
	test -f "$TESTS/shim.so" || { echo "tests/shim.so not built"; exit 1; }
	gzsafe --no-sync ref.gz <new && size=$(wc -c <ref.gz) &&
	for at in 10 5000 $((size / 2)) $((size - 6)); do
		test_expect_code 125 with_shim SHIM_FLIP_PREAD=$at \
		    gzsafe --digest --verify out.gz <new 2>err &&
		test "$(wc -l <err)" -eq 1 &&
		test_grep "^gzsafe: out.gz: verify failed: .+ at byte [0-9]+; out.gz left unchanged$" err &&
		unchanged || exit 1
	done &&
	test_grep "crc mismatch" err &&
	# Nothing else rereads: without --verify the same fault is not seen.
	with_shim SHIM_FLIP_PREAD=5000 gzsafe nv.gz <new &&
	gzip -dc nv.gz | cmp - new
'

# NFS reports a write-back that failed late only at close(2), which the
# shim fails as NFS would: the archive, then the sidecar, with and
# without --no-sync (where that close is the only check).
test_expect_success 'a write-back failure reported at close: 125, one line, OUTPUT unchanged' '
	for sync in "" --no-sync; do
		test_expect_code 125 with_shim SHIM_EIO_CLOSE=all gzsafe $sync --digest out.gz <new 2>err &&
		test "$(wc -l <err)" -eq 1 &&
		test_grep "^gzsafe: out.gz: close: Input/output error; out.gz left unchanged$" err &&
		unchanged &&
		test_expect_code 125 with_shim SHIM_EIO_CLOSE=300 gzsafe $sync --digest out.gz <new 2>err &&
		test_grep "^gzsafe: out.gz.b2: close: Input/output error; out.gz left unchanged$" err &&
		unchanged || exit 1
	done
'

test_expect_success 'silent on success; -v reports progress and a summary on stderr' '
	gzsafe s.gz <new >out 2>err && test ! -s out && test ! -s err &&
	gzsafe -v s.gz <new 2>err && test_grep "committed" err
'

test_done

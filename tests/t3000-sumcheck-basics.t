#!/bin/sh
# sumcheck: usage, known answers against python3's hashlib, writing
# sidecars (refusal without -f, modes), -p and standard input, exit statuses,
# checking from another working directory.
. "$(dirname "$0")/lib.sh"

test_expect_success '--help and -h print the usage on stdout, exit 0' '
	sumcheck --help >out && sumcheck -h >out2 && test_cmp out out2 &&
	test_grep "^usage: sumcheck \[-f\] \[-l BITS\] \[--tag\] \[-b \| -t\] \[-j JOBS\] FILE\.\.\.$" out &&
	test_grep "^       sumcheck -c " out
'

test_expect_success '--version' '
	sumcheck --version >out && test_grep "^sumcheck [0-9]+\.[0-9]+\.[0-9]+$" out
'

test_expect_success 'bad usage: usage on stderr, exit 2' '
	test_expect_code 2 sumcheck 2>err && test_grep "^usage:" err &&
	test_expect_code 2 sumcheck -c 2>err &&
	test_expect_code 2 sumcheck -x f 2>err &&
	test_expect_code 2 sumcheck -l 12 f 2>err && test_grep "multiple of 8" err &&
	test_expect_code 2 sumcheck -l 520 f 2>err &&
	test_expect_code 2 sumcheck -l 0 f 2>err &&
	test_expect_code 2 sumcheck -j 0 f 2>err &&
	test_expect_code 2 sumcheck -c -p f 2>err &&
	test_expect_code 2 sumcheck -c --tag f 2>err &&
	test_expect_code 2 sumcheck -c -f f 2>err &&
	test_expect_code 2 sumcheck -q f 2>err &&
	test_expect_code 2 sumcheck -c -q --status f 2>err &&
	test_expect_code 2 sumcheck - 2>err && test_grep "use -p" err &&
	test ! -e f.b2
'

test_expect_success 'known answers: python3 hashlib.blake2b, every length, sizes 0..5 MiB' '
	sizes="0 1 127 128 129 1000 131071 131072 131073 1048575 1048576 1048577 5242880" &&
	for n in $sizes; do
		gen_data $n $n >f$n || return 1
	done &&
	files=$(for n in $sizes; do echo f$n; done) &&
	for bits in 8 128 256 384 504 512; do
		sumcheck -p -l $bits $files >got &&
		python3 -c "import hashlib,sys
for f in sys.argv[2:]:
    print(hashlib.blake2b(open(f, \"rb\").read(), digest_size=int(sys.argv[1])//8).hexdigest() + \"  \" + f)" $bits $files >want &&
		test_cmp want got || { echo "bits $bits"; return 1; }
	done
'

# digest.c times libb2's portable BLAKE2b against its dispatched pick and
# keeps the faster; the shim slows one down so that each must run here. A
# build without the portable code (make B2REF=0, a libb2 built without
# --enable-fat) has only the dispatched one.
if ! need nm || ! nm -D "$(command -v sumcheck)" 2>/dev/null | grep -q " blake2b_update_ref$"; then
	test_skip "known answers with libb2's portable code forced" \
	    'this build has no portable BLAKE2b (B2REF=0, or libb2 without --enable-fat)'
	test_expect_success "known answers with the dispatched code alone" '
		gen_data 131073 3 >g && python3 -c "import hashlib,sys
print(hashlib.blake2b(open(\"g\",\"rb\").read()).hexdigest() + \"  g\")" >want &&
		sumcheck -p g >out && test_cmp want out
	'
else
for slow in dispatch ref; do
	case $slow in
	dispatch) used=blake2b_update_ref ;;
	ref) used=blake2b_update ;;
	esac
test_expect_success "known answers with libb2's other implementation forced ($used)" '
	set -- 1 127 128 129 1000 131071 131072 131073 1048577 &&
	for n; do gen_data $n $n >g$n || return 1; done &&
	files=$(for n; do echo g$n; done) &&
	python3 -c "import hashlib,sys
for bits in (128, 512):
    for f in sys.argv[1:]:
        print(hashlib.blake2b(open(f,\"rb\").read(), digest_size=bits//8).hexdigest() + \"  \" + f)" \
	    $files >want &&
	rm -f log &&
	for bits in 128 512; do
		with_shim SHIM_B2_SLOW='"$slow"' SHIM_B2_LOG=log sumcheck -p -l $bits \
		    $files || return 1
	done >out &&
	test_cmp want out &&
	printf "%s\n" '"$used"' '"$used"' >want && test_cmp want log
'
done
fi

test_expect_success 'writing: FILE.b2 beside FILE holds the basename, and FILE'"'"'s mode' '
	mkdir d && gen_data 100000 1 >d/db.gz && chmod 640 d/db.gz &&
	(umask 077 && sumcheck d/db.gz) &&
	b2sum d/db.gz | sed "s|d/db.gz|db.gz|" >want && test_cmp want d/db.gz.b2 &&
	test "$(stat -c %a d/db.gz.b2)" = 640 &&
	(cd d && b2sum -c --strict db.gz.b2) &&
	ls -a d >list && printf ".\n..\ndb.gz\ndb.gz.b2\n" >want && test_cmp want list
'

test_expect_success 'an existing sidecar is not replaced without -f, even a wrong one' '
	echo data >f && echo "not a digest" >f.b2 && cp f.b2 old &&
	test_expect_code 2 sumcheck f 2>err &&
	test_grep "^sumcheck: f\.b2: exists; not replaced \(use -f\)$" err &&
	test_cmp old f.b2 &&
	ln -s nowhere g.b2 && echo g >g &&
	test_expect_code 2 sumcheck g 2>err && test -L g.b2
'

test_expect_success '-f replaces; the sidecar takes the data file'"'"'s mode, not the old sidecar'"'"'s' '
	echo data >f && chmod 600 f && echo old >f.b2 && chmod 666 f.b2 &&
	sumcheck -f --tag -l 256 f &&
	b2sum --tag -l 256 f >want && test_cmp want f.b2 &&
	test "$(stat -c %a f.b2)" = 600
'

test_expect_success 'several files: one refused, the others written, exit 2' '
	echo 1 >a && echo 2 >b && echo 3 >c && echo x >b.b2 &&
	test_expect_code 2 sumcheck -j 2 a b c 2>err &&
	test_grep "b\.b2: exists" err &&
	b2sum -c a.b2 c.b2 && echo x >want && test_cmp want b.b2
'

test_expect_success 'a missing file, a directory: no sidecar, exit 2' '
	test_expect_code 2 sumcheck nothere 2>err &&
	test_grep "^sumcheck: nothere: No such file or directory$" err &&
	mkdir dir && test_expect_code 2 sumcheck dir 2>err &&
	test_grep "^sumcheck: dir: Is a directory$" err &&
	test ! -e nothere.b2 && test ! -e dir.b2 &&
	printf "%s  dir\n" "$(b2sum </dev/null | cut -c1-128)" >dir.list &&
	test_expect_code 2 sumcheck -c dir.list >out 2>err &&
	test_expect_code 1 b2sum -c dir.list >want 2>werr &&
	test_cmp want out && test_grep "^b2sum: dir: Is a directory$" werr &&
	test_grep "^sumcheck: dir: Is a directory$" err
'

test_expect_success '-p: lines on stdout, - and no operand read stdin' '
	gen_data 300000 2 >p &&
	sumcheck -p p >out && b2sum p >want && test_cmp want out &&
	sumcheck -p - <p >out && b2sum - <p >want && test_cmp want out &&
	sumcheck -p <p >out && test_cmp want out &&
	gen_data 300000 3 | sumcheck -p --tag -l 128 >out &&
	gen_data 300000 3 | b2sum --tag -l 128 >want && test_cmp want out &&
	test ! -e p.b2
'

# /proc and /sys say 0 or 4096 bytes whatever they hold: no "changed".
test_expect_success '-p of /proc and /sys files: as b2sum, not "changed while reading"' '
	sumcheck -p /proc/version /proc/sys/kernel/ostype >out &&
	b2sum /proc/version /proc/sys/kernel/ostype >want && test_cmp want out &&
	if test -r /sys/kernel/mm/transparent_hugepage/enabled; then
		sumcheck -p /sys/kernel/mm/transparent_hugepage/enabled >out &&
		b2sum /sys/kernel/mm/transparent_hugepage/enabled >want && test_cmp want out
	fi
'

test_expect_success '-p with an unreadable operand: the rest printed, exit 2' '
	echo a >a &&
	test_expect_code 2 sumcheck -p a nothere >out 2>err &&
	b2sum a >want && test_cmp want out && test_grep "^sumcheck: nothere: No such file or directory$" err
'

test_expect_success 'check: exit 0 verified, 1 mismatch, 2 missing file or sidecar' '
	gen_data 200000 4 >db && sumcheck db &&
	sumcheck -c db >out && echo "db: OK" >want && test_cmp want out &&
	sumcheck -c db.b2 >out && test_cmp want out &&
	printf X | dd of=db bs=1 seek=1000 conv=notrunc 2>/dev/null &&
	test_expect_code 1 sumcheck -c db >out 2>err &&
	echo "db: FAILED" >want && test_cmp want out &&
	echo "sumcheck: WARNING: 1 computed checksum did NOT match" >want && test_cmp want err &&
	rm db && test_expect_code 2 sumcheck -c db.b2 >out 2>err &&
	echo "db: FAILED open or read" >want && test_cmp want out &&
	test_grep "^sumcheck: WARNING: 1 listed file could not be read$" err &&
	test_expect_code 2 sumcheck -c nosuch.b2 2>err &&
	test_grep "nosuch\.b2: No such file" err
'

test_expect_success 'a data file without a sidecar is told apart from a manifest' '
	gen_data 5000 5 >data &&
	test_expect_code 2 sumcheck -c data 2>err &&
	test_grep "^sumcheck: data: no sidecar data\.b2, and not a digest file" err
'

# A terabyte of holes after a long first line: read on through, this would
# take minutes; judged by its first line, it is refused at once.
test_expect_success 'a data file without a sidecar is judged by its first line, not read through' '
	{ gen_data 5000 7 | tr -d "\n"; } >huge && truncate -s 1T huge &&
	test_expect_code 2 timeout 120 sumcheck -c huge 2>err &&
	test_grep "^sumcheck: huge: no sidecar huge\.b2, and not a digest file \(line 1: line too long\)$" err &&
	rm -f huge
'

# A name of 3 KiB, each byte a control character: -p writes it as b2sum
# does, raw, and -c and gzsafe -t escaped, 12 KiB, three times stdio's
# usual buffer. Each line must still leave in one write(2).
if need strace; then
	test_expect_success 'one write(2) a line, the longest too: -p, -c, gzsafe -t' '
		c=$(printf "\001%.0s" $(seq 200)) && d=. &&
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do d=$d/$c; done &&
		mkdir -p "$d" && echo x | gzip >"$d/f.gz" &&
		traced -e trace=write -o trace sumcheck -p "$d/f.gz" >out &&
		test "$(grep -c "^write(1," trace)" -eq 1 && test "$(wc -l <out)" -eq 1 &&
		b2sum "$d/f.gz" | cmp - out &&
		traced -e trace=write -o trace sumcheck -c out >out2 &&
		test "$(grep -c "^write(1," trace)" -eq 1 && test "$(wc -c <out2)" -gt 12000 &&
		traced -e trace=write -o trace gzsafe -t "$d/f.gz" "$d/f.gz" >out3 &&
		test "$(grep -c "^write(1," trace)" -eq 2 && test "$(wc -l <out3)" -eq 2 &&
		rm -rf "./$c"
	'
else
	test_skip 'one write(2) a line' 'strace needed'
fi

test_expect_success 'checking from another working directory: names are relative to the digest file' '
	mkdir -p backups/sub elsewhere && gen_data 10000 6 >backups/db.gz &&
	echo sub >backups/sub/x && (cd backups && b2sum db.gz sub/x >B2SUMS) &&
	sumcheck backups/db.gz &&
	(cd elsewhere && sumcheck -c ../backups/db.gz >../out) &&
	echo "../backups/db.gz: OK" >want && test_cmp want out &&
	(cd / && sumcheck -c "$SCRATCH/backups/B2SUMS" >"$SCRATCH/out") &&
	printf "%s\n" "$SCRATCH/backups/db.gz: OK" "$SCRATCH/backups/sub/x: OK" >want &&
	test_cmp want out &&
	cp backups/db.gz db.gz && echo x >>db.gz &&
	sumcheck -c backups/db.gz.b2 >/dev/null
'

test_done

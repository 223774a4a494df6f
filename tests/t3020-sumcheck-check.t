#!/bin/sh
# sumcheck -c: every malformed input is refused with a reason and no crash;
# manifests with good, missing and corrupt files; --ignore-missing, --strict,
# --warn, --quiet, --status; summaries in b2sum's words; -j keeps the order.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
	echo hello >a && h=$(b2sum a | cut -d" " -f1) && echo "$h" >hex
'

# malformed NAME REASON LINE-PRINTF-FORMAT [ARGS]: a digest file with only
# that line: exit 2, the reason on stderr, no properly formatted lines.
malformed()
{
	_name=$1 _why=$2
	shift 2
	# shellcheck disable=SC2059
	printf "$@" >"$_name.b2" &&
	test_expect_code 2 sumcheck -c "$_name.b2" >out 2>err &&
	test_grep "^sumcheck: $_name\.b2: 1: improperly formatted BLAKE2b checksum line: $_why$" err &&
	test_grep "^sumcheck: $_name\.b2: no properly formatted checksum lines found$" err &&
	test ! -s out
}

test_expect_success 'malformed: truncated hex, odd length, not hex, too long a digest' '
	h=$(cat hex) &&
	malformed trunc "truncated line" "%s\n" "${h%??????}" &&
	malformed odd "odd number of hex digits" "%s0  a\n" "$h" &&
	malformed nonhex "digest is not hexadecimal" "%sg  a\n" "${h%?}" &&
	malformed toolong "digest longer than 512 bits" "%s00  a\n" "$h" &&
	malformed nohex "not a BLAKE2b line \\(other algorithm\\)" "SHA256 (a)\n" &&
	malformed noname "no file name" "%s  \n" "$h"
'

test_expect_success 'malformed: other algorithms and bad tags' '
	h=$(cat hex) &&
	malformed sha "not a BLAKE2b line \\(other algorithm\\)" "SHA256 (a) = %s\n" "$h" &&
	malformed b2s "not a BLAKE2b line \\(other algorithm\\)" "BLAKE2s (a) = %s\n" "$h" &&
	malformed b2bp "not a BLAKE2b line \\(other algorithm\\)" "BLAKE2bp (a) = %s\n" "$h" &&
	malformed len "bad BLAKE2b digest length" "BLAKE2b-12 (a) = %s\n" "$h" &&
	malformed len2 "bad BLAKE2b digest length" "BLAKE2b-1024 (a) = %s\n" "$h" &&
	malformed mism "digest length does not match its tag" "BLAKE2b-256 (a) = %s\n" "$h" &&
	malformed notag "truncated line" "BLAKE2b (a) %s\n" "$h"
'

test_expect_success 'malformed: absolute names, .. components, bad escapes, empty names' '
	h=$(cat hex) &&
	malformed abs "absolute file name" "%s  /etc/passwd\n" "$h" &&
	malformed up "file name with a '"'..'"' component" "%s  ../a\n" "$h" &&
	malformed up2 "file name with a '"'..'"' component" "%s  x/../../a\n" "$h" &&
	malformed up3 "file name with a '"'..'"' component" "BLAKE2b (sub/..) = %s\n" "$h" &&
	malformed esc "bad escape in file name" "\\\\%s  a\\\\t\n" "$h" &&
	malformed empty "no file name" "BLAKE2b () = %s\n" "$h"
'

test_expect_success 'malformed: NUL bytes, overlong line, binary garbage' '
	h=$(cat hex) &&
	malformed nul "NUL byte in line" "%s  a\0b\n" "$h" &&
	python3 -c "print(\"a\" * 100000)" >long.b2 &&
	test_expect_code 2 sumcheck -c long.b2 2>err &&
	test_grep "long\.b2: 1: improperly formatted BLAKE2b checksum line: line too long$" err &&
	gen_data 3000000 9 >garbage.b2 &&
	test_expect_code 2 sumcheck -c --warn garbage.b2 >out 2>err &&
	test_grep "garbage\.b2: no properly formatted checksum lines found$" err &&
	head -c 1000000 /dev/zero >zeros.b2 && test_expect_code 2 sumcheck -c zeros.b2 2>err &&
	test_grep "zeros\.b2: 1: improperly formatted BLAKE2b checksum line: line too long$" err
'

test_expect_success 'an empty digest file, only comments: nothing verified, exit 2' '
	: >empty.b2 && test_expect_code 2 sumcheck -c empty.b2 >out 2>err &&
	echo "sumcheck: empty.b2: no properly formatted checksum lines found" >want &&
	test_cmp want err && test ! -s out &&
	printf "# nothing\n\n" >c.b2 && test_expect_code 2 sumcheck -c c.b2 2>err
'

test_expect_success 'a digest file that is a directory or cannot be read: exit 2' '
	mkdir dir.b2 && test_expect_code 2 sumcheck -c dir.b2 2>err &&
	test_grep "^sumcheck: dir\.b2: Is a directory$" err
'

test_expect_success 'setup: a manifest of four, one missing, one corrupt' '
	mkdir m && for f in one two three four; do gen_data 50000 ${#f}$f >m/$f 2>/dev/null || echo $f >m/$f; done &&
	(cd m && b2sum one two three four >SUMS) &&
	rm m/two && echo corrupt >>m/three
'

test_expect_success 'manifest: OK, FAILED open or read, FAILED; exit 1; b2sum words' '
	test_expect_code 1 sumcheck -c m/SUMS >out 2>err &&
	printf "%s\n" "m/one: OK" "m/two: FAILED open or read" "m/three: FAILED" "m/four: OK" >want &&
	test_cmp want out &&
	printf "%s\n" "sumcheck: m/two: No such file or directory" \
		"sumcheck: WARNING: 1 listed file could not be read" \
		"sumcheck: WARNING: 1 computed checksum did NOT match" >want &&
	test_cmp want err
'

test_expect_success 'plurals as b2sum says them' '
	mkdir p && echo 1 >p/a && echo 2 >p/b && (cd p && b2sum a b >S && printf "x\ny\n" >>S) &&
	echo 3 >p/a && echo 4 >p/b &&
	(cd p && test_expect_code 1 b2sum -c S >/dev/null 2>../berr) &&
	test_expect_code 1 sumcheck -c p/S >/dev/null 2>serr &&
	sed s/^b2sum/sumcheck/ berr >want && test_cmp want serr &&
	rm p/a p/b && (cd p && test_expect_code 1 b2sum -c S >/dev/null 2>../berr) &&
	test_expect_code 2 sumcheck -c p/S >/dev/null 2>serr &&
	grep WARNING berr | sed s/^b2sum/sumcheck/ >want && grep WARNING serr >got && test_cmp want got
'

test_expect_success '--quiet drops OK lines; --status prints nothing; exit codes stay' '
	test_expect_code 1 sumcheck -c -q m/SUMS >out 2>err &&
	printf "%s\n" "m/two: FAILED open or read" "m/three: FAILED" >want && test_cmp want out &&
	test_expect_code 1 sumcheck -c --quiet m/SUMS >out 2>err && test_cmp want out &&
	test_expect_code 1 sumcheck -c --status m/SUMS >out 2>err &&
	test ! -s out && test ! -s err &&
	test_expect_code 2 sumcheck --check --status empty.b2 >out 2>err &&
	test ! -s out && test ! -s err
'

test_expect_success '--ignore-missing skips missing files; all missing: nothing verified, 2' '
	(cd m && b2sum one four >OK2 && echo "$(cat ../hex)  gone" >>OK2) &&
	sumcheck -c --ignore-missing m/OK2 >out &&
	printf "%s\n" "m/one: OK" "m/four: OK" >want && test_cmp want out &&
	test_expect_code 2 sumcheck -c m/OK2 >out 2>err &&
	echo "$(cat hex)  gone" >m/GONE &&
	test_expect_code 2 sumcheck -c --ignore-missing m/GONE >out 2>err &&
	test ! -s out && test_grep "^sumcheck: m/GONE: no file was verified$" err
'

test_expect_success 'bad lines: ignored by default, --warn names them, --strict fails' '
	(cd m && b2sum one >BAD && echo "junk" >>BAD && echo "$(cat ../hex)  /etc/passwd" >>BAD) &&
	sumcheck -c m/BAD >out 2>err && echo "m/one: OK" >want && test_cmp want out &&
	echo "sumcheck: WARNING: 2 lines are improperly formatted" >want && test_cmp want err &&
	sumcheck -c --warn m/BAD >out 2>err &&
	test_grep "^sumcheck: m/BAD: 2: improperly formatted BLAKE2b checksum line: " err &&
	test_grep "^sumcheck: m/BAD: 3: improperly formatted BLAKE2b checksum line: absolute file name$" err &&
	test_expect_code 2 sumcheck -c --strict m/BAD >out 2>err &&
	echo "m/one: OK" >want && test_cmp want out
'

test_expect_success 'several operands: the worst answer wins, mismatch over missing' '
	echo x >ok && sumcheck ok &&
	sumcheck -c ok a.b2 2>/dev/null; test $? -eq 2 &&
	test_expect_code 1 sumcheck -c ok m/SUMS nothere.b2 >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck -c ok nothere.b2 >/dev/null 2>&1 &&
	sumcheck -c ok ok.b2 >/dev/null
'

test_expect_success '-j: output in line order whatever finishes first' '
	mkdir j && gen_data 8000000 1 >j/f0 &&
	for i in 1 2 3 4 5 6 7; do echo $i >j/f$i; done &&
	(cd j && b2sum f0 f1 f2 f3 f4 f5 f6 f7 >SUMS && b2sum -c SUMS >../want) &&
	for n in 1 2 4 8; do
		sumcheck -c -j $n j/SUMS >out && sed "s|^|j/|" want >w && test_cmp w out || return 1
		(cd j && sumcheck -p -j $n f0 f1 f2 f3 f4 f5 f6 f7 >../out) 2>/dev/null
		(cd j && sumcheck -j $n f0 f1 f2 f3 f4 f5 f6 f7) && (cd j && b2sum -c f?.b2 >/dev/null) &&
		rm j/*.b2 || return 1
	done
'

test_expect_success 'a FIFO or a directory listed in a manifest: FAILED open or read, no hang' '
	mkdir f && mkfifo f/pipe && mkdir f/sub && h=$(cat hex) &&
	printf "%s  pipe\n%s  sub\n" "$h" "$h" >f/S &&
	test_expect_code 2 timeout 20 sumcheck -c f/S >out 2>err &&
	printf "%s\n" "f/pipe: FAILED open or read" "f/sub: FAILED open or read" >want && test_cmp want out
'

test_expect_success 'a renamed copy: the verdict is about the operand'"'"'s bytes, and names it' '
	mkdir r && gen_data 50000 4 >r/db.gz && (cd r && sumcheck db.gz) &&
	cp r/db.gz r/db.gz.keep && cp r/db.gz.b2 r/db.gz.keep.b2 &&
	sumcheck -c r/db.gz.keep >out &&
	echo "r/db.gz.keep: OK" >want && test_cmp want out &&
	head -c 20000 r/db.gz >r/db.gz.keep &&
	test_expect_code 1 sumcheck -c r/db.gz.keep >out 2>err &&
	echo "r/db.gz.keep: FAILED" >want && test_cmp want out &&
	sumcheck -c r/db.gz >out && echo "r/db.gz: OK" >want && test_cmp want out
'

test_expect_success 'the renamed copy with the original gone: still its own bytes, not a missing file' '
	mkdir r2 && gen_data 50000 5 >r2/a && (cd r2 && sumcheck a) &&
	mv r2/a r2/a.2026 && mv r2/a.b2 r2/a.2026.b2 &&
	sumcheck -c r2/a.2026 >out && echo "r2/a.2026: OK" >want && test_cmp want out
'

test_expect_success 'a sidecar that lists several files: the line naming the operand, else 2' '
	mkdir r3 && echo 1 >r3/x && echo 2 >r3/y && (cd r3 && b2sum x y >x.b2) &&
	sumcheck -c r3/x >out && echo "r3/x: OK" >want && test_cmp want out &&
	cp r3/x r3/z && cp r3/x.b2 r3/z.b2 &&
	test_expect_code 2 sumcheck -c r3/z >out 2>err && test ! -s out &&
	test_grep "^sumcheck: r3/z\.b2: lists 2 files, none for r3/z$" err
'

test_expect_success 'a digest file operand still checks the files it names (as b2sum -c)' '
	sumcheck -c r/db.gz.keep.b2 >out &&
	echo "r/db.gz: OK" >want && test_cmp want out
'

test_expect_success '-c -: the digest list on standard input, names from the current directory' '
	(cd r && b2sum db.gz | sumcheck -c - >../out) &&
	echo "db.gz: OK" >want && test_cmp want out &&
	(cd r && b2sum db.gz) | (cd r && b2sum -c -) &&
	(cd r && printf "%s  ../r/db.gz\n" "$(b2sum db.gz | cut -c1-128)" | test_expect_code 2 sumcheck -c --warn - 2>../err) &&
	test_grep "standard input: 1: improperly formatted BLAKE2b checksum line: file name with a '"'"'\.\.'"'"' component" err &&
	echo "0000  db.gz" | (cd r && test_expect_code 1 sumcheck -c - >../out 2>/dev/null)
'

test_expect_success 'usage mistakes say what is wrong before the usage' '
	test_expect_code 2 sumcheck -q x 2>err && test_grep "^sumcheck: -q: only with -c$" err &&
	test_expect_code 2 sumcheck -c --tag x 2>err &&
	test_grep "^sumcheck: --tag: only with writing or printing digests, not with -c$" err &&
	test_expect_code 2 sumcheck -c -p x 2>err && test_grep "^sumcheck: -c and -p: choose one$" err &&
	test_expect_code 2 sumcheck 2>err && test_grep "^sumcheck: no FILE given$" err &&
	test_expect_code 2 sumcheck -f 2>err && test_grep "^sumcheck: no FILE given$" err &&
	test_expect_code 2 sumcheck --bogus x 2>err &&
	test_grep "^sumcheck: --bogus: unknown option or missing argument$" err
'

test_expect_success 'no FILE with -c: the digest lines from standard input, as b2sum -c' '
	echo data >nf && b2sum nf >nf.list &&
	sumcheck -c <nf.list >out && b2sum -c <nf.list >want && test_cmp want out &&
	echo more >>nf &&
	test_expect_code 1 sumcheck -c <nf.list >out 2>/dev/null &&
	echo "nf: FAILED" >want && test_cmp want out &&
	test_expect_code 1 b2sum -c <nf.list >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck -c </dev/null 2>err &&
	test_grep "^sumcheck: standard input: no properly formatted checksum lines found$" err
'

test_expect_success '-l with -c: only digest lines of that length count' '
	echo one >l1 && echo two >l2 && b2sum -l 256 l1 >L && b2sum l2 >>L &&
	sumcheck -c -l 256 L >out 2>err && echo "l1: OK" >want && test_cmp want out &&
	sumcheck -c -l 8 -l 512 L >out && echo "l2: OK" >want && test_cmp want out
'

test_done

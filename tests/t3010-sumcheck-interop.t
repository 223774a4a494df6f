#!/bin/sh
# sumcheck and GNU b2sum read each other's files: untagged and --tag,
# -l 128/256/512, names with spaces, backslashes and newlines; CRLF, comments.
. "$(dirname "$0")/lib.sh"

need b2sum || skip_all 'no b2sum'

# shellcheck disable=SC2034 # used inside the test bodies
nl='
'
test_expect_success 'setup: files with awkward names' '
	mkdir d && gen_data 70000 1 >"d/with space" && gen_data 1 2 >"d/back\\slash" &&
	gen_data 0 3 >"d/new${nl}line" && gen_data 2000000 4 >d/big &&
	printf "cr\r" >"d/cr" && mv d/cr "d/$(printf "car\rret")" &&
	ls -q d | wc -l >n && echo 5 >want && test_cmp want n
'

for bits in 128 256 512; do
	for tag in "" --tag; do
test_expect_success "-p $tag -l $bits prints exactly what b2sum prints" '
	(cd d && b2sum '"$tag"' -l '"$bits"' * >../want) &&
	(cd d && sumcheck -p '"$tag"' -l '"$bits"' * >../out) &&
	test_cmp want out
'
test_expect_success "b2sum $tag -l $bits checks our manifest, and we check its" '
	(cd d && sumcheck -p '"$tag"' -l '"$bits"' * >../ours) &&
	(cd d && b2sum -c --strict ../ours >../bout) &&
	(cd d && b2sum '"$tag"' -l '"$bits"' * >../theirs) &&
	cp theirs d/THEIRS && { sumcheck -c --strict d/THEIRS >sout; r=$?; rm d/THEIRS; test $r = 0; } &&
	test "$(grep -c ": OK$" sout)" -eq 5 && test "$(grep -c ": OK$" bout)" -eq 5
'
	done
done

test_expect_success 'sidecars: b2sum -c accepts ours; sumcheck -c accepts b2sum > FILE.b2' '
	(cd d && for f in *; do sumcheck --tag -l 256 "$f" || exit 1; done) &&
	(cd d && for f in *.b2; do b2sum -c --strict "$f" || exit 1; done) >bout &&
	test "$(grep -c ": OK$" bout)" -eq 5 &&
	rm d/*.b2 &&
	(cd d && for f in *; do b2sum -l 128 "$f" >"$f.b2" || exit 1; done) &&
	for f in d/*; do case $f in *.b2) continue;; esac; sumcheck -c --strict "$f" || exit 1; done >sout &&
	test "$(grep -c ": OK$" sout)" -eq 5 &&
	rm d/*.b2
'

# One difference on purpose: b2sum -c prints a carriage return raw, which
# lets a name overwrite its own line on a terminal ("evil\rgood: OK"); we
# escape every control character, and so that name too.
test_expect_success 'check output names are escaped as b2sum escapes them, and \r too' '
	(cd d && b2sum * >../B2SUMS) && cp B2SUMS d/ &&
	(cd d && b2sum -c B2SUMS >../bout) && (cd d && sumcheck -c B2SUMS >../sout) &&
	rm d/B2SUMS &&
	python3 -c "import sys; d = open(\"bout\", \"rb\").read()
assert b\"car\\rret: OK\" in d
open(\"want\", \"wb\").write(d.replace(b\"car\\rret: OK\", b\"\\\\car\\\\rret: OK\"))" &&
	test_cmp want sout
'

test_expect_success 'a corrupt file: both say FAILED with the same words' '
	mkdir e && echo one >e/a && echo two >e/b && (cd e && b2sum a b >SUMS) &&
	echo three >e/b && (cd e && test_expect_code 1 b2sum -c SUMS >../bout 2>../berr) &&
	(cd e && test_expect_code 1 sumcheck -c SUMS >../sout 2>../serr) &&
	test_cmp bout sout && sed s/^b2sum/sumcheck/ berr >want && test_cmp want serr
'

test_expect_success 'CRLF line ends, # comments, blank lines, leading blanks, binary-mode *' '
	echo data >c && h=$(b2sum c | cut -d" " -f1) &&
	printf "# made on windows\r\n\r\n\n  %s  c\r\n%s *c\n" "$h" "$h" >c.b2 &&
	sumcheck -c --strict c.b2 >out && printf "c: OK\nc: OK\n" >want && test_cmp want out
'

test_expect_success 'upper-case hex and any -l length from the hex' '
	echo data >u && b2sum -l 8 u | tr a-f A-F >u.b2 && sumcheck -c --strict u >out &&
	echo "u: OK" >want && test_cmp want out
'

test_done

#!/bin/sh
# sumcheck -p / -c as a drop-in for GNU b2sum: the cases of coreutils'
# tests/cksum/b2sum.sh, cksum-c.sh, md5sum.pl, md5sum-newline.pl,
# md5sum-bsd.sh and md5sum-parallel.sh, the MD5 and multi-algorithm ones
# carried over to BLAKE2b, each checked against the real b2sum where the
# output is meant to be the same. Inputs and verdicts are theirs; the
# scripts are ours. Differences on purpose (sumcheck.1), asserted as ours
# where they show:
#   - exit 1 means a digest mismatched, 2 that something could not be
#     checked (b2sum: 1 for both), usage errors included;
#   - names are opened relative to the digest file's directory, never
#     through a symbolic link; absolute and ".." names are malformed, so
#     /dev/null is never read (a regular empty file stands in for it);
#   - an operand not ending in .b2 whose first line is no digest line is
#     taken for a data file without its sidecar, not for an empty list;
#   - every control character in a name shown is escaped;
#   - --warn (and a list with no valid line) say why a line is malformed;
#   - -l with -c checks only lines of that length;
#   - without -c or -p, sumcheck writes sidecars: b2sum's printing is -p.
#
# Not ported (they test cksum(1), not b2sum): cksum-c.sh's -a sha2/sm3/crc
# cases beyond the BLAKE2b lengths that stand in for them, base64 digests
# ("tag-prefix"), --untagged; md5sum-bsd.sh's --tag --text refusal (--text
# is a no-op here, and whether it may join --tag is not specified).
. "$(dirname "$0")/lib.sh"
need b2sum || skip_all 'no b2sum(1) to compare with'

# BLAKE2b-512 and -128 of nothing: the "degenerate" digests the MD5 cases use.
deg=786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce
deg128=cae66941d9efbd404e4d88758ea67670
# cksum-c.sh's wrong digest, 64 hex digits.
inv=aaaaaaaaaaaaaaaaaaaaaaaaaaaaafdb57c725157cb40b5aee8d937b8351477e
export deg deg128 inv
# shellcheck disable=SC2034 # used inside the test bodies
nl='
'
# shellcheck disable=SC2034 # used inside the test bodies
tab='	'

# same_as_b2sum ARGS...: sumcheck -p ARGS prints exactly b2sum ARGS.
same_as_b2sum()
{
	b2sum "$@" >b2.out &&
	sumcheck -p "$@" >sc.out &&
	test_cmp b2.out sc.out
}

# ===========================================================================
# coreutils tests/cksum/b2sum.sh

# b2sum.sh: for i in 'a' ' b' '*c' '44' ' ', -l 128 --tag
test_expect_success "b2sum.sh: --tag -l 128 for a, ' b', '*c', '44', ' ': b2sum's lines" '
	mkdir b1 && cd b1 &&
	for i in a " b" "*c" 44 " "; do echo "$i" >"$i"; done &&
	for i in a " b" "*c" 44 " "; do same_as_b2sum -l 128 --tag "$i" || exit 1; done
'

# b2sum.sh: the same with -l 0, b2sum's "default length" (512).
test_expect_success "b2sum.sh: --tag -l 0 (the default length) for the same names: b2sum's lines" '
	mkdir b2 && cd b2 &&
	for i in a " b" "*c" 44 " "; do echo "$i" >"$i"; done &&
	for i in a " b" "*c" 44 " "; do same_as_b2sum -l 0 --tag "$i" || exit 1; done
'

# b2sum.sh: "-l is inferred from the tags in the mixed format file"
test_expect_success 'b2sum.sh: --strict -c of the mixed -l 0 / -l 128 tagged file: all OK' '
	mkdir b3 && cd b3 &&
	for i in a " b" "*c" 44 " "; do
		echo "$i" >"$i" && b2sum -l 0 --tag "$i" >>check.b2sum &&
		b2sum -l 128 --tag "$i" >>check.b2sum || exit 1
	done &&
	b2sum --strict -c check.b2sum >want &&
	sumcheck --strict -c check.b2sum >out &&
	test_cmp want out && test "$(grep -c ": OK$" out)" -eq 10
'

# b2sum.sh: "Also ensure the openssl tagged variant works" (BLAKE2b(a)= ...)
test_expect_success 'b2sum.sh: the openssl variant BLAKE2b(NAME)= HEX: --strict -c, all OK' '
	mkdir b4 && cd b4 &&
	for i in a " b" "*c" 44 " "; do
		echo "$i" >"$i" && b2sum -l 0 --tag "$i" >>check.b2sum &&
		b2sum -l 128 --tag "$i" >>check.b2sum || exit 1
	done &&
	sed "s/ //; s/ =/=/" check.b2sum >openssl.b2sum &&
	b2sum --strict -c openssl.b2sum >want &&
	sumcheck --strict -c openssl.b2sum >out &&
	test_cmp want out
'

# b2sum.sh: "Ensure we can check non tagged format", -l 128 --text. The
# file is an empty regular file: sumcheck never reads /dev/null (see below).
test_expect_success 'b2sum.sh: untagged -l 128 line: -l 128 --strict -c and --strict -c pass' '
	mkdir b5 && cd b5 && : >null &&
	b2sum --text -l 128 null >check.b2sum &&
	sumcheck -l 128 --strict -c check.b2sum >out &&
	sumcheck --strict -c check.b2sum >>out &&
	printf "null: OK\nnull: OK\n" >want && test_cmp want out
'

# b2sum.sh: the same, -l 0.
test_expect_success 'b2sum.sh: untagged -l 0 line: -l 0 --strict -c and --strict -c pass' '
	mkdir b6 && cd b6 && : >null &&
	b2sum --text -l 0 null >check.b2sum &&
	sumcheck --strict -c check.b2sum >out &&
	sumcheck -l 0 --strict -c check.b2sum >>out &&
	printf "null: OK\nnull: OK\n" >want && test_cmp want out
'

# b2sum.sh: "$prog $tag_opt --text -l $l /dev/null": --text prints the same.
test_expect_success 'b2sum.sh: -p --text -l 128 and -t: b2sum'"'"'s line' '
	mkdir b7 && cd b7 && : >null &&
	same_as_b2sum --text -l 128 null &&
	same_as_b2sum -t null
'

# b2sum.sh uses /dev/null. sumcheck prints only regular files and its
# caller's own descriptors, and a listed name that is absolute is
# malformed: a digest list vouches only for files beneath it (sumcheck.1).
test_expect_success 'b2sum.sh with /dev/null: -p refuses a device, -c an absolute name (on purpose)' '
	mkdir b8 && cd b8 &&
	test_expect_code 2 sumcheck -p /dev/null >out 2>err &&
	test ! -s out && test_grep "/dev/null: not a regular file" err &&
	sumcheck -p - </dev/null >out && echo "$deg  -" >want && test_cmp want out &&
	echo "$deg  /dev/null" >dn.b2 && b2sum --strict -c dn.b2 &&
	test_expect_code 2 sumcheck --strict -c dn.b2 >out 2>err &&
	test ! -s out && test_grep "no properly formatted checksum lines found" err
'

# b2sum.sh: "Ensure the checksum values are correct": the 128-bit digest
# of check.vals (the two /dev/null lines) is 796485dd32fe9b754ea5fd6c721271d9.
test_expect_success 'b2sum.sh: --length=128 of check.vals is 796485dd32fe9b754ea5fd6c721271d9' '
	mkdir b9 && cd b9 &&
	printf "%s  /dev/null\n" "$deg" "$deg128" >check.vals &&
	sumcheck -p --length=128 check.vals >out &&
	echo "796485dd32fe9b754ea5fd6c721271d9  check.vals" >want && test_cmp want out &&
	same_as_b2sum --length=128 check.vals
'

# b2sum.sh: "This would segfault from coreutils-8.26 to coreutils-8.28":
# BLAKE2 prefixes that are no lines at all. No crash; nothing verified.
# The upstream name crash.check, not ending in .b2, whose first line is no
# digest line, is taken for a data file without a sidecar (sumcheck.1).
test_expect_success 'b2sum.sh crash.check: BLAKE2 prefixes: no crash, exit 2 (b2sum: 1)' '
	mkdir b10 && cd b10 &&
	printf "%s\n" BLAKE2 BLAKE2b BLAKE2- "BLAKE2(" "BLAKE2 (" >crash.check &&
	test_expect_code 1 b2sum -c crash.check 2>/dev/null &&
	test_expect_code 2 sumcheck -c crash.check >out 2>err && test ! -s out &&
	test_grep "^sumcheck: crash.check: no sidecar crash.check.b2, and not a digest file" err &&
	cp crash.check crash.b2 &&
	test_expect_code 2 sumcheck -c crash.b2 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: crash.b2: no properly formatted checksum lines found$" err
'

# b2sum.sh: "This would read unallocated memory from coreutils-9.2 to 9.3"
test_expect_success 'b2sum.sh overflow.check: 0A0BA0 without a newline: exit 2 (b2sum: 1)' '
	mkdir b11 && cd b11 &&
	printf 0A0BA0 >overflow.b2 &&
	test_expect_code 1 b2sum -c overflow.b2 2>/dev/null &&
	test_expect_code 2 sumcheck -c overflow.b2 >out 2>err && test ! -s out &&
	test_grep "no properly formatted checksum lines found" err
'

# b2sum.sh: "This would fail before coreutils-9.4 / Only validate the last
# specified, used length": -l 123 -l 128 succeeds. (sumcheck.1: "Given more
# than once, the last counts, as in b2sum(1) 9.4.")
test_expect_success 'b2sum.sh: -l 123 -l 128: only the last -l counts, so it succeeds' '
	mkdir b12 && cd b12 && : >null &&
	sumcheck -p -l 123 -l 128 null >out &&
	echo "$deg128  null" >want && test_cmp want out
'

# b2sum.sh: "This would not flag an error in coreutils 9.6 and 9.7": -l
# 513, 1024 and UINTMAX+1 are errors. For sumcheck bad usage is exit 2,
# with one line naming the value.
for len in 513 1024 18446744073709551616; do
test_expect_success "b2sum.sh: -l $len is an error (2; b2sum: 1), nothing printed" "
	mkdir b13.$len && cd b13.$len && : >null &&
	test_expect_code 1 b2sum -l $len null >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck -p -l $len null >out 2>err &&
	test ! -s out && test_grep '^sumcheck: -l $len: ' err
"
done

# ===========================================================================
# coreutils tests/cksum/cksum-c.sh, its algorithms (sha2-384, blake2b,
# blake2b -l 384, sm3) carried over to BLAKE2b lengths 512, 384, 128, 256.

test_expect_success 'cksum-c.sh setup: input (shuf -i 1-10) and CHECKSUMS of four kinds' '
	mkdir c && cd c &&
	shuf -i 1-10 --random-source=/dev/zero >input &&
	b2sum input >CHECKSUMS &&
	b2sum --tag -l 384 input >>CHECKSUMS &&
	b2sum -l 128 input >>CHECKSUMS &&
	b2sum --tag -l 256 input >>CHECKSUMS &&
	test "$(wc -l <CHECKSUMS)" -eq 4
'

# cksum-c.sh: cksum --strict --check CHECKSUMS
test_expect_success 'cksum-c.sh: --strict --check of a mixed file: all OK' '
	cd c &&
	sumcheck --strict --check CHECKSUMS >out &&
	b2sum --strict --check CHECKSUMS >want && test_cmp want out
'

# cksum-c.sh: "Ensure invalid length is handled appropriately" (SHA2-128):
# here a tag length BLAKE2b does not have, 520 and 129.
test_expect_success 'cksum-c.sh: a tag with a length BLAKE2b does not have: no properly formatted lines' '
	cd c &&
	echo "BLAKE2b-520 (input) = ${deg}00" >bad-length.b2 &&
	echo "BLAKE2b-129 (input) = ${deg128}0" >bad-length2.b2 &&
	test_expect_code 1 b2sum --check bad-length.b2 2>berr &&
	test_expect_code 2 sumcheck --check bad-length.b2 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: bad-length.b2: no properly formatted checksum lines found$" err &&
	test_expect_code 2 sumcheck --check bad-length2.b2 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: bad-length2.b2: no properly formatted checksum lines found$" err
'

# cksum-c.sh: "Ensure leading whitespace and \ ignored", from a pipe.
test_expect_success 'cksum-c.sh: leading blank and backslash on every line, -c -: all OK' '
	cd c &&
	sed "s/^/ \\\\/" CHECKSUMS >lead && test_grep "^ \\\\" lead &&
	sumcheck --strict -c - <lead >out &&
	printf "input: OK\ninput: OK\ninput: OK\ninput: OK\n" >want && test_cmp want out
'

# cksum-c.sh: "Ensure file names with " (=" supported."
test_expect_success 'cksum-c.sh: a file named "abc (f) = abc", --tag: printed as b2sum, checked OK' '
	cd c &&
	touch "abc (f) = abc" &&
	same_as_b2sum --tag "abc (f) = abc" &&
	mv sc.out tag-awkward.b2 &&
	sumcheck --check tag-awkward.b2 >out &&
	echo "abc (f) = abc: OK" >want && test_cmp want out
'

# cksum-c.sh: "Check common signed checksums format works in non strict mode"
signed_list()
{
	printf "%s\n" "-----BEGIN PGP SIGNED MESSAGE-----" "Hash: SHA384" "" "# ignored comment" &&
	cat CHECKSUMS &&
	printf "%s\n" "-----BEGIN PGP SIGNATURE-----" "" \
	    "# Note base64 doesn't have ambiguous delimiters in its charset" \
	    "SHA384+BCAAdFiEEjFummQvbJuGfKhqAEWGuaUVxmjkFAmCDId0ACgkQEWGuaUVx" \
	    "BLAKE2b/00001EuON62pTEnqrJ5lav61QxRByiuDp/6VODrRL2JWM6Stxu1Myws=" \
	    "=AWU7" "-----END PGP SIGNATURE-----"
}

test_expect_success 'cksum-c.sh: a PGP-signed list (as signed.b2): all OK, the armour counted as bad lines' '
	cd c &&
	signed_list >signed.b2 &&
	b2sum --check signed.b2 >want 2>berr &&
	sumcheck --check signed.b2 >out 2>err &&
	test_cmp want out &&
	sed "s/^b2sum:/sumcheck:/" berr >want && test_cmp want err
'

# cksum-c.sh: the same under its upstream name. The first line that is not
# blank or a comment is no digest line, so the operand is taken for a data
# file whose sidecar is missing (sumcheck.1): a signed list is named .b2.
test_expect_success 'cksum-c.sh: the same list as signed_CHECKSUMS: not a digest file, 2 (on purpose)' '
	cd c &&
	signed_list >signed_CHECKSUMS &&
	b2sum --check signed_CHECKSUMS >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck --check signed_CHECKSUMS >out 2>err && test ! -s out &&
	test_grep "^sumcheck: signed_CHECKSUMS: no sidecar signed_CHECKSUMS.b2, and not a digest file" err
'

# cksum-c.sh: "Can check individual digests in a mixed file" (-a sm3):
# with -l, sumcheck checks the lines of that length, the rest are malformed.
test_expect_success 'cksum-c.sh: -l 384 --check of the mixed file: the 384-bit line only' '
	cd c &&
	sumcheck -l 384 --check CHECKSUMS >out 2>err &&
	echo "input: OK" >want && test_cmp want out &&
	echo "sumcheck: WARNING: 3 lines are improperly formatted" >want && test_cmp want err
'

# cksum-c.sh: "Test --status"
test_expect_success 'cksum-c.sh: --status: nothing at all, 0' '
	cd c &&
	sumcheck --status --check CHECKSUMS >out 2>&1 &&
	test ! -s out
'

# cksum-c.sh: "Add a comment. No errors"
test_expect_success 'cksum-c.sh: a # comment added: --status still 0 and silent' '
	cd c && cp CHECKSUMS C2 &&
	echo "# Very important comment" >>C2 &&
	sumcheck --status --check C2 >out 2>&1 && test ! -s out
'

# cksum-c.sh: "Check for the error mgmt": one invalid line, exit 0.
test_expect_success 'cksum-c.sh: one invalid line: exit 0, "1 line is improperly formatted"' '
	cd c && cp CHECKSUMS C3 &&
	echo "# Very important comment" >>C3 && echo "invalid line" >>C3 &&
	sumcheck --check C3 >out 2>&1 &&
	test_grep "^sumcheck: WARNING: 1 line is improperly formatted$" out
'

# cksum-c.sh: "But not with --strict" (exit 2 here, 1 for b2sum)
test_expect_success 'cksum-c.sh: one invalid line with --strict: fails (2; b2sum: 1)' '
	cd c && cp CHECKSUMS C3 && echo "invalid line" >>C3 &&
	test_expect_code 1 b2sum --strict --check C3 >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck --strict --check C3 >out 2>&1 &&
	test_grep "1 line is improperly formatted" out
'

# cksum-c.sh: "plurality checks"
test_expect_success 'cksum-c.sh: two invalid lines, --strict: "2 lines are improperly formatted"' '
	cd c && cp CHECKSUMS C4 && echo "invalid line" >>C4 && echo "invalid line" >>C4 &&
	test_expect_code 2 sumcheck --strict --check C4 >out 2>&1 &&
	test_grep "^sumcheck: WARNING: 2 lines are improperly formatted$" out
'

# cksum-c.sh: "Inject an incorrect checksum", with and without --strict.
test_expect_success 'cksum-c.sh: an incorrect checksum: exit 1, "input: FAILED", with --strict too' '
	cd c && cp CHECKSUMS C5 && echo "invalid line" >>C5 && echo "invalid line" >>C5 &&
	echo "BLAKE2b-256 (input) = $inv" >>C5 &&
	test_expect_code 1 sumcheck --check C5 >out 2>&1 &&
	test_grep "^sumcheck: WARNING: 1 computed checksum did NOT match$" out &&
	test_grep "^input: FAILED$" out &&
	test_expect_code 1 sumcheck --check --strict C5 >out 2>&1
'

# cksum-c.sh: "With a non existing file" (exit 2 here: could not check)
test_expect_success 'cksum-c.sh: a listed file that does not exist: FAILED open or read, 2' '
	cd c &&
	echo "BLAKE2b-256 (input2) = $inv" >CHECKSUMS2 &&
	test_expect_code 2 sumcheck --check CHECKSUMS2 >out 2>&1 &&
	test_grep "^input2: FAILED open or read$" out &&
	test_grep "^sumcheck: WARNING: 1 listed file could not be read$" out &&
	test_expect_code 2 sumcheck --check --strict CHECKSUMS2 >out 2>&1
'

# cksum-c.sh: "With errors" and --status: silent, not 0.
test_expect_success 'cksum-c.sh: --status with a mismatch: silent, 1' '
	cd c && cp CHECKSUMS C6 && echo "BLAKE2b-256 (input) = $inv" >>C6 &&
	test_expect_code 1 sumcheck --status --check C6 >out 2>&1 &&
	test ! -s out
'

# The list the --warn and --status cases share, as cksum-c.sh has built
# it by then: 4 good lines, a comment, 2 invalid lines, a mismatch, and a
# BLAKE2b (512-bit) tag on a 64-digit digest (line 9).
warn_list()
{
	cat CHECKSUMS &&
	echo "# Very important comment" && echo "invalid line" && echo "invalid line" &&
	echo "BLAKE2b-256 (input) = $inv" &&
	echo "BLAKE2b (missing-file) = $inv"
}

# cksum-c.sh: "Test --warn": each malformed line with its number.
test_expect_success 'cksum-c.sh: --warn: "CHECKSUMS: 9: improperly formatted BLAKE2b checksum line"' '
	cd c && warn_list >W && mv W CHECKSUMS.w &&
	test_expect_code 1 sumcheck --warn --check CHECKSUMS.w >out 2>&1 &&
	test_grep "^sumcheck: CHECKSUMS.w: 6: improperly formatted BLAKE2b checksum line" out &&
	test_grep "^sumcheck: CHECKSUMS.w: 7: improperly formatted BLAKE2b checksum line" out &&
	test_grep "^sumcheck: CHECKSUMS.w: 9: improperly formatted BLAKE2b checksum line" out
'

# cksum-c.sh "Test --warn", with b2sum's short option -w.
test_expect_success 'cksum-c.sh: -w is --warn' '
	cd c && warn_list >CHECKSUMS.w &&
	test_expect_code 1 sumcheck -w -c CHECKSUMS.w >out 2>&1 &&
	test_grep "^sumcheck: CHECKSUMS.w: 9: improperly formatted BLAKE2b checksum line" out
'

# cksum-c.sh: "Test --ignore-missing", without it first: a line on stdout,
# the reason and the count on stderr.
test_expect_success 'cksum-c.sh: CHECKSUMS-missing: FAILED open or read, 1 listed file could not be read' '
	cd c &&
	echo "BLAKE2b-256 (nonexistent) = $inv" >CHECKSUMS-missing &&
	test_expect_code 2 sumcheck --check CHECKSUMS-missing >stdout 2>stderr &&
	echo "nonexistent: FAILED open or read" >want && test_cmp want stdout &&
	test_grep "^sumcheck: WARNING: 1 listed file could not be read$" stderr
'

# cksum-c.sh: the same, the reason in b2sum's words.
test_expect_success 'cksum-c.sh: CHECKSUMS-missing: "sumcheck: nonexistent: No such file or directory"' '
	cd c &&
	echo "BLAKE2b-256 (nonexistent) = $inv" >CHECKSUMS-missing &&
	test_expect_code 1 b2sum --check CHECKSUMS-missing >/dev/null 2>berr &&
	test_expect_code 2 sumcheck --check CHECKSUMS-missing >stdout 2>stderr &&
	sed "s/^b2sum:/sumcheck:/" berr >want && test_cmp want stderr
'

# cksum-c.sh: --ignore-missing: nothing left to verify is a failure.
test_expect_success 'cksum-c.sh: --ignore-missing: nothing on stdout, "no file was verified", 2' '
	cd c &&
	echo "BLAKE2b-256 (nonexistent) = $inv" >CHECKSUMS-missing &&
	test_expect_code 2 sumcheck --ignore-missing --check CHECKSUMS-missing >stdout 2>stderr &&
	test ! -s stdout &&
	echo "sumcheck: CHECKSUMS-missing: no file was verified" >want && test_cmp want stderr
'

# cksum-c.sh: "Combination of --status and --warn": as in b2sum, the later
# of --status, --warn and --quiet counts, so --warn speaks here.
test_expect_success 'cksum-c.sh: --status --warn: the later --warn counts: warnings shown' '
	cd c && warn_list >CHECKSUMS.w &&
	test_expect_code 1 sumcheck --status --warn --check CHECKSUMS.w >out 2>&1 &&
	test_grep "^sumcheck: CHECKSUMS.w: 9: improperly formatted BLAKE2b checksum line" out &&
	test_grep "^sumcheck: WARNING: 3 lines are improperly formatted$" out &&
	test_grep "^sumcheck: WARNING: 1 computed checksum did NOT match$" out
'

# cksum-c.sh: "The order matters. --status will hide the results"
test_expect_success 'cksum-c.sh: --warn --status: the later --status counts: silent, 1' '
	cd c && warn_list >CHECKSUMS.w &&
	test_expect_code 1 sumcheck --warn --status --check CHECKSUMS.w >out 2>&1 &&
	test ! -s out
'

# cksum-c.sh: "Combination of --status and --ignore-missing"
test_expect_success 'cksum-c.sh: --status --ignore-missing: silent, not 0' '
	cd c && warn_list >CHECKSUMS.w &&
	test_expect_code 1 sumcheck --status --ignore-missing --check CHECKSUMS.w >out 2>&1 &&
	test ! -s out
'

# cksum-c.sh: "Combination of all three" (--warn last, so it speaks)
test_expect_success 'cksum-c.sh: --status --warn --ignore-missing: "no file was verified" shown' '
	cd c &&
	echo "BLAKE2b-256 (nonexistent) = $inv" >CHECKSUMS-missing &&
	test_expect_code 2 sumcheck --status --warn --ignore-missing --check CHECKSUMS-missing >out 2>&1 &&
	test_grep "^sumcheck: CHECKSUMS-missing: no file was verified$" out &&
	! grep "No such file" out
'

# cksum-c.sh: "Check with several files / When the files don't exist"
test_expect_success 'cksum-c.sh: two missing operands: "NAME: No such file or directory" for each' '
	cd c &&
	test_expect_code 2 sumcheck --check non-existing-1 non-existing-2 >out 2>&1 &&
	test_grep "^sumcheck: non-existing-1: No such file or directory$" out &&
	test_grep "^sumcheck: non-existing-2: No such file or directory$" out
'

# cksum-c.sh: "When the files are empty"
test_expect_success 'cksum-c.sh: two empty operands: "no properly formatted checksum lines found" each' '
	cd c && touch empty-1 empty-2 &&
	test_expect_code 2 sumcheck --check empty-1 empty-2 >out 2>&1 &&
	test_grep "^sumcheck: empty-1: no properly formatted checksum lines found$" out &&
	test_grep "^sumcheck: empty-2: no properly formatted checksum lines found$" out
'

# cksum-c.sh and md5sum-bsd.sh: "Disallow --tag --check" (2 here: usage)
test_expect_success 'cksum-c.sh, md5sum-bsd.sh: --tag --check is refused (2; b2sum: 1)' '
	cd c &&
	test_expect_code 1 b2sum --tag --check CHECKSUMS >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck --tag --check CHECKSUMS >out 2>err &&
	test ! -s out && test_grep "^sumcheck: --tag: " err
'

# cksum-c.sh: "Ensure I/O errors handled appropriately": EIO on reading
# one listed file, injected with strace; the error as cat(1) words it.
if strace -o /dev/null -P _ -e trace=read -e fault=read:error=EIO true 2>/dev/null; then
test_expect_success 'cksum-c.sh: EIO on one listed file: "eio: FAILED open or read", "ok: OK", 2' '
	mkdir eio.d && cd eio.d && touch ok eio &&
	b2sum eio ok >check.b2 &&
	test_expect_code 2 strace -f -o /dev/null -P eio -e trace=read,pread64,readv,preadv,splice \
	    -e fault=all:error=EIO sumcheck --check check.b2 >out 2>err &&
	printf "eio: FAILED open or read\nok: OK\n" >want && test_cmp want out &&
	{ strace -o /dev/null -P eio -e trace=read -e fault=all:error=EIO cat eio 2>exp.t || :; } &&
	grep -v "^strace: " exp.t | sed "s/^cat:/sumcheck:/" >want &&
	echo "sumcheck: WARNING: 1 listed file could not be read" >>want &&
	grep -v "^strace: " err >got && test_cmp want got
'
else
	test_skip 'cksum-c.sh: EIO on one listed file' 'strace cannot inject faults here'
fi

# cksum-c.sh: "A tagged line with a valid algorithm but a digest of the
# wrong (truncated) length must be flagged as improperly formatted".
test_expect_success 'cksum-c.sh: tagged digests cut by one digit: malformed, not FAILED' '
	mkdir t && cd t && touch ff1 ff2 ff3 &&
	b2sum --tag ff1 ff2 ff3 >trunc.b2 &&
	sed "2,3 s/.\$//" trunc.b2 >trunc-bad.b2 &&
	sumcheck --check trunc-bad.b2 >out 2>err &&
	echo "ff1: OK" >want && test_cmp want out &&
	echo "sumcheck: WARNING: 2 lines are improperly formatted" >want && test_cmp want err
'

test_expect_success 'cksum-c.sh: the same with --warn: lines 2 and 3 named' '
	cd t &&
	sumcheck --warn --check trunc-bad.b2 >out 2>err &&
	test_grep "^sumcheck: trunc-bad.b2: 2: improperly formatted BLAKE2b checksum line" err &&
	test_grep "^sumcheck: trunc-bad.b2: 3: improperly formatted BLAKE2b checksum line" err
'

test_expect_success 'cksum-c.sh: the same with --strict: fails (2; b2sum: 1)' '
	cd t &&
	test_expect_code 1 b2sum --strict --check trunc-bad.b2 >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck --strict --check trunc-bad.b2 >out 2>err
'

# ===========================================================================
# coreutils tests/cksum/md5sum.pl, MD5 carried over to BLAKE2b-512. The
# digests are b2sum's and python3's hashlib's (two tools, not ours);
# RFC 7693 gives BLAKE2b-512("abc").
kat=0
for input in '' a abc 'message digest' abcdefghijklmnopqrstuvwxyz \
    ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 \
    12345678901234567890123456789012345678901234567890123456789012345678901234567890; do
	kat=$((kat + 1))
test_expect_success "md5sum.pl $kat: '$input': the line b2sum and hashlib give" "
	mkdir m$kat && cd m$kat &&
	printf %s '$input' >f &&
	same_as_b2sum f &&
	python3 -c 'import hashlib, sys
sys.stdout.write(hashlib.blake2b(open(\"f\", \"rb\").read()).hexdigest() + \"  f\\n\")' >want &&
	test_cmp want sc.out
"
done

test_expect_success 'md5sum.pl: the known answers for "" and "abc" (RFC 7693)' '
	mkdir kat && cd kat && : >e && printf abc >abc &&
	sumcheck -p e abc >out &&
	printf "%s  e\n%s  abc\n" "$deg" \
	    ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923 \
	    >want && test_cmp want out
'

# md5sum.pl backslash-1: a name ".\nfoo": "\\HEX  .\\nfoo"
test_expect_success 'md5sum.pl backslash-1: name with a newline: escaped, as b2sum' '
	mkdir bs1 && cd bs1 && : >".${nl}foo" &&
	sumcheck -p ".${nl}foo" >out &&
	printf "\\\\%s  .\\\\nfoo\n" "$deg" >want && test_cmp want out &&
	same_as_b2sum ".${nl}foo"
'

# md5sum.pl backslash-2: a name ".\foo": "\\HEX  .\\\\foo"
test_expect_success 'md5sum.pl backslash-2: name with a backslash: escaped, as b2sum' '
	mkdir bs2 && cd bs2 && : >".\\foo" &&
	sumcheck -p ".\\foo" >out &&
	printf "\\\\%s  .\\\\\\\\foo\n" "$deg" >want && test_cmp want out &&
	same_as_b2sum ".\\foo"
'

# md5sum.pl backslash-3: a name ".\rfoo": "\\HEX  .\\rfoo"
test_expect_success 'md5sum.pl backslash-3: name with a carriage return: escaped, as b2sum' '
	mkdir bs3 && cd bs3 && : >".$(printf "\r")foo" &&
	sumcheck -p ".$(printf "\r")foo" >out &&
	printf "\\\\%s  .\\\\rfoo\n" "$deg" >want && test_cmp want out &&
	same_as_b2sum ".$(printf "\r")foo"
'

# md5sum.pl check-1
test_expect_success 'md5sum.pl check-1: --check: "f: OK"' '
	mkdir k1 && cd k1 && : >f && echo "$deg  f" >f.b2 &&
	sumcheck --check f.b2 >out && echo "f: OK" >want && test_cmp want out
'

# md5sum.pl check-windows: CRLF
test_expect_success 'md5sum.pl check-windows: a CRLF line: "f: OK"' '
	mkdir k2 && cd k2 && : >f && printf "%s  f\r\n" "$deg" >f.b2 &&
	sumcheck --check f.b2 >out && echo "f: OK" >want && test_cmp want out
'

# md5sum.pl ck-strict-1: an empty line after, --strict
test_expect_success 'md5sum.pl ck-strict-1: an empty line is no bad line under --strict' '
	mkdir k3 && cd k3 && : >f && printf "%s  f\n\n" "$deg" >f.b2 &&
	sumcheck --check --strict f.b2 >out 2>err &&
	echo "f: OK" >want && test_cmp want out && test ! -s err
'

# md5sum.pl ck-strict-2: ERR first, --strict: the lines after are still
# checked; exactly the one summary line on stderr; fails (2; md5sum: 1).
test_expect_success 'md5sum.pl ck-strict-2: "ERR" then a good line, --strict: f: OK, one WARNING, 2' '
	mkdir k4 && cd k4 && : >f && printf "ERR\n%s  f\n" "$deg" >in.b2 &&
	test_expect_code 2 sumcheck --check --strict in.b2 >out 2>err &&
	echo "f: OK" >want && test_cmp want out &&
	echo "sumcheck: WARNING: 1 line is improperly formatted" >want && test_cmp want err
'

# md5sum.pl check-2: --status and a mismatch
test_expect_success 'md5sum.pl check-2: --check --status, f changed: 1, silent' '
	mkdir k5 && cd k5 && printf foo >f && echo "$deg  f" >f.b2 &&
	test_expect_code 1 sumcheck --check --status f.b2 >out 2>&1 && test ! -s out
'

# md5sum.pl check-quiet1
test_expect_success 'md5sum.pl check-quiet1: --quiet, all good: no output' '
	mkdir k6 && cd k6 && : >f && echo "$deg  f" >f.b2 &&
	sumcheck --check --quiet f.b2 >out 2>&1 && test ! -s out
'

# md5sum.pl check-quiet2
test_expect_success 'md5sum.pl check-quiet2: --quiet, a mismatch: "f: FAILED" and the count, 1' '
	mkdir k7 && cd k7 && printf foo >f && echo "$deg  f" >f.b2 &&
	test_expect_code 1 sumcheck --check --quiet f.b2 >out 2>err &&
	echo "f: FAILED" >want && test_cmp want out &&
	echo "sumcheck: WARNING: 1 computed checksum did NOT match" >want && test_cmp want err
'

# md5sum.pl check-multifail
test_expect_success 'md5sum.pl check-multifail: two mismatches and an invalid line: exact stderr' '
	mkdir k8 && cd k8 && printf foo >f &&
	printf "%s  f\n%s  f\ninvalid\n" "$deg" "$deg" >f.b2 &&
	test_expect_code 1 sumcheck --check f.b2 >out 2>err &&
	printf "f: FAILED\nf: FAILED\n" >want && test_cmp want out &&
	printf "%s\n" "sumcheck: WARNING: 1 line is improperly formatted" \
	    "sumcheck: WARNING: 2 computed checksums did NOT match" >want && test_cmp want err
'

# md5sum.pl check-multifail-warn: "f.md5: 3: improperly formatted MD5
# checksum line"; sumcheck adds the reason (sumcheck.1, --warn).
test_expect_success 'md5sum.pl check-multifail-warn: --warn names line 3, then the two counts' '
	mkdir k9 && cd k9 && printf foo >f &&
	printf "%s  f\n%s  f\ninvalid\n" "$deg" "$deg" >f.b2 &&
	test_expect_code 1 sumcheck --check --warn f.b2 >out 2>err &&
	printf "f: FAILED\nf: FAILED\n" >want && test_cmp want out &&
	test "$(wc -l <err)" -eq 3 &&
	head -1 err | grep -E -q "^sumcheck: f.b2: 3: improperly formatted BLAKE2b checksum line(: .*)?$" &&
	tail -2 err >got &&
	printf "%s\n" "sumcheck: WARNING: 1 line is improperly formatted" \
	    "sumcheck: WARNING: 2 computed checksums did NOT match" >want && test_cmp want got
'

# md5sum.pl check-multifail-state: OK, FAILED, OK in order; one mismatch.
test_expect_success 'md5sum.pl check-multifail-state: f OK, g FAILED, f OK; one mismatch; 1' '
	mkdir k10 && cd k10 && : >f && printf a >g &&
	printf "%s  f\n%s  g\n%s  f\n" "$deg" "$deg" "$deg" >f.b2 &&
	test_expect_code 1 sumcheck --check --warn f.b2 >out 2>err &&
	printf "f: OK\ng: FAILED\nf: OK\n" >want && test_cmp want out &&
	echo "sumcheck: WARNING: 1 computed checksum did NOT match" >want && test_cmp want err
'

# md5sum.pl check-bsd: another algorithm's BSD line is no BLAKE2b line.
# (The upstream name f.sha1 is not .b2: a data file without its sidecar.)
test_expect_success 'md5sum.pl check-bsd: "SHA1 (f) = ..." is no line of ours: 2' '
	mkdir k11 && cd k11 && : >f && echo "SHA1 (f) = $deg" >f.sha1 &&
	test_expect_code 2 sumcheck --check f.sha1 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: f.sha1: no sidecar f.sha1.b2, and not a digest file" err &&
	cp f.sha1 sha1.b2 &&
	test_expect_code 2 sumcheck --check sha1.b2 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: sha1.b2: no properly formatted checksum lines found$" err
'

# md5sum.pl check-bsd2: "MD5 (f) = ..." -> "BLAKE2b (f) = ..."
test_expect_success 'md5sum.pl check-bsd2: "BLAKE2b (f) = HEX": f: OK' '
	mkdir k12 && cd k12 && : >f && echo "BLAKE2b (f) = $deg" >f.b2 &&
	sumcheck --check f.b2 >out && echo "f: OK" >want && test_cmp want out
'

# md5sum.pl check-bsd3
test_expect_success 'md5sum.pl check-bsd3: "BLAKE2b (f) = HEX", f changed, --status: 1' '
	mkdir k13 && cd k13 && printf bar >f && echo "BLAKE2b (f) = $deg" >f.b2 &&
	test_expect_code 1 sumcheck --check --status f.b2 >out 2>&1 && test ! -s out
'

# md5sum.pl check-openssl: "SHA1(f)= ..." is no line of ours.
test_expect_success 'md5sum.pl check-openssl: "SHA1(f)= HEX": no properly formatted lines, 2' '
	mkdir k14 && cd k14 && : >f && echo "SHA1(f)= $deg" >f.b2 &&
	test_expect_code 2 sumcheck --check f.b2 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: f.b2: no properly formatted checksum lines found$" err
'

# md5sum.pl check-openssl2: "MD5(f)= ..." -> "BLAKE2b(f)= ..."
test_expect_success 'md5sum.pl check-openssl2: "BLAKE2b(f)= HEX": f: OK' '
	mkdir k15 && cd k15 && : >f && echo "BLAKE2b(f)= $deg" >f.b2 &&
	b2sum --check f.b2 >want &&
	sumcheck --check f.b2 >out && echo "f: OK" >want && test_cmp want out
'

# md5sum.pl check-openssl3
test_expect_success 'md5sum.pl check-openssl3: "BLAKE2b(f)= HEX", f changed, --status: 1' '
	mkdir k16 && cd k16 && printf bar >f && echo "BLAKE2b(f)= $deg" >f.b2 &&
	test_expect_code 1 b2sum --check --status f.b2 &&
	test_expect_code 1 sumcheck --check --status f.b2 >out 2>&1 && test ! -s out
'

# md5sum.pl check-ignore-missing-1 and -2 (the same case twice upstream)
test_expect_success 'md5sum.pl check-ignore-missing-1, -2: the missing one skipped: f: OK, 0' '
	mkdir k17 && cd k17 && : >f && printf "%s  f\n%s  f.missing\n" "$deg" "$deg" >f.b2 &&
	sumcheck --check --ignore-missing f.b2 >out 2>err &&
	echo "f: OK" >want && test_cmp want out && test ! -s err
'

# md5sum.pl check-ignore-missing-3: a missing directory, --quiet
test_expect_success 'md5sum.pl check-ignore-missing-3: missing/f skipped, --quiet: silent, 0' '
	mkdir k18 && cd k18 && : >f && printf "%s  missing/f\n%s  f\n" "$deg" "$deg" >f.b2 &&
	sumcheck --check --quiet --ignore-missing f.b2 >out 2>&1 && test ! -s out
'

# md5sum.pl check-ignore-missing-4: --ignore-missing without --check
test_expect_success 'md5sum.pl check-ignore-missing-4: --ignore-missing without -c: usage, 2' '
	mkdir k19 && cd k19 && : >f &&
	test_expect_code 1 b2sum --ignore-missing f >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck -p --ignore-missing f >out 2>err &&
	test ! -s out && test_grep "^sumcheck: --ignore-missing: " err
'

# md5sum.pl check-ignore-missing-5: only missing files: "no file was verified"
test_expect_success 'md5sum.pl check-ignore-missing-5: only a missing file: "f.b2: no file was verified", 2' '
	mkdir k20 && cd k20 && : >f && echo "$deg  missing" >f.b2 &&
	test_expect_code 2 sumcheck --check --ignore-missing f.b2 >out 2>err && test ! -s out &&
	echo "sumcheck: f.b2: no file was verified" >want && test_cmp want err
'

# md5sum.pl check-ignore-missing-6: a digest starting with 00 (coreutils
# 8.25 took such a file for missing). BLAKE2b("218t") starts with 00.
test_expect_success 'md5sum.pl check-ignore-missing-6: a digest that starts 00: f: OK' '
	mkdir k21 && cd k21 && printf 218t >f &&
	echo "00d0d787b7ae03762152b89e33cd8698ce687c4b76a42bcaa036c7a951563ab90c43874fecbeab2f02a1917f89e3be9b39ee9cf462efbef72b883ae2e0cda593  f" >f.b2 &&
	b2sum --check --ignore-missing f.b2 &&
	sumcheck --check --ignore-missing f.b2 >out && echo "f: OK" >want && test_cmp want out
'

# md5sum.pl bsd-segv: "MD5 (" alone in a file z.
test_expect_success 'md5sum.pl bsd-segv: "BLAKE2b (" alone: no crash, nothing verified, 2' '
	mkdir k22 && cd k22 && printf "BLAKE2b (" >z &&
	test_expect_code 2 sumcheck --check z >out 2>err && test ! -s out &&
	test_grep "^sumcheck: z: no sidecar z.b2" err &&
	mv z z.b2 && test_expect_code 2 sumcheck --check z.b2 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: z.b2: no properly formatted checksum lines found$" err
'

# md5sum.pl nul-in-cksum: NULs where the hex digits should be: the line is
# malformed and the file it names never opened.
test_expect_success 'md5sum.pl nul-in-cksum: 128 NULs then "  h": malformed, h not judged, 2' '
	mkdir k23 && cd k23 &&
	{ head -c 128 /dev/zero; printf "  h\n"; } >h.b2 && : >h &&
	test_expect_code 2 sumcheck --check h.b2 >out 2>err && test ! -s out &&
	test_grep "^sumcheck: h.b2: no properly formatted checksum lines found$" err
'

# ===========================================================================
# coreutils tests/cksum/md5sum-newline.pl

# md5sum-newline.pl newline: a name "a\nb" (upstream with --text, which
# changes nothing and is covered by b2sum.sh's case above)
test_expect_success 'md5sum-newline.pl newline: a name with a newline, escaped as b2sum escapes it' '
	mkdir n1 && cd n1 && : >"a${nl}b" &&
	sumcheck -p "a${nl}b" >out &&
	printf "\\\\%s  a\\\\nb\n" "$deg" >want && test_cmp want out &&
	same_as_b2sum "a${nl}b"
'

# md5sum-newline.pl zero: --zero: NUL-terminated, the name raw
test_expect_success 'md5sum-newline.pl zero: --text --zero: "HEX  a<newline>b<NUL>", as b2sum -z' '
	mkdir n2 && cd n2 && : >"a${nl}b" &&
	sumcheck -p --text --zero "a${nl}b" >out &&
	printf "%s  a\nb\0" "$deg" >want && test_cmp want out &&
	same_as_b2sum -z "a${nl}b"
'

# ===========================================================================
# coreutils tests/cksum/md5sum-bsd.sh

# md5sum-bsd.sh: "Ensure we can --check BSD alternate format", first the
# two-space lines the names a, ' b', '*c', 'dd', ' ' get.
test_expect_success 'md5sum-bsd.sh: two-space lines for a, " b", "*c", dd, " ": --strict -c, all OK' '
	mkdir d1 && cd d1 &&
	for i in a " b" "*c" dd " "; do echo "$i" >"$i" && sumcheck -p "$i" >>check.b2 || exit 1; done &&
	b2sum --strict -c check.b2 >want &&
	sumcheck --strict -c check.b2 >out && test_cmp want out &&
	test "$(grep -c ": OK$" out)" -eq 5
'

# md5sum-bsd.sh: the one-space BSD form "HEX NAME" (sed 's/  / /'): the
# first line fixes the form for the file, so " b" stays " b".
test_expect_success 'md5sum-bsd.sh: one-space lines "HEX NAME": --strict -c, all OK' '
	mkdir d2 && cd d2 &&
	for i in a " b" "*c" dd " "; do echo "$i" >"$i" && sumcheck -p "$i" >>check.b2sum || exit 1; done &&
	sed "s/  / /" check.b2sum >check.b2 &&
	b2sum --strict -c check.b2 >want &&
	sumcheck --strict -c check.b2 >out && test_cmp want out &&
	printf "a: OK\n b: OK\n*c: OK\ndd: OK\n : OK\n" >want && test_cmp want out
'

# md5sum-bsd.sh: "Ensure we don't trigger BSD reversed format with GPG
# headers etc.": a first line that is not all hex is one bad line.
test_expect_success 'md5sum-bsd.sh: a non-hex first line: one bad line, the rest OK, 0' '
	mkdir d3 && cd d3 &&
	for i in a " b" "*c" dd " "; do echo "$i" >"$i" && sumcheck -p "$i" >>check.b2sum || exit 1; done &&
	{ echo "____not_all_hex_so_no_match_____ blah"; cat check.b2sum; } >check2.b2 &&
	sumcheck -c check2.b2 >out 2>err &&
	test "$(grep -c ": OK$" out)" -eq 5 &&
	echo "sumcheck: WARNING: 1 line is improperly formatted" >want && test_cmp want err
'

# md5sum-bsd.sh: the same list under its upstream name check2.md5sum: its
# first line is no digest line, so it is taken for a data file (sumcheck.1).
test_expect_success 'md5sum-bsd.sh: the same as check2.md5sum: not a digest file, 2 (on purpose)' '
	mkdir d4 && cd d4 && echo a >a && sumcheck -p a >check.b2sum &&
	{ echo "____not_all_hex_so_no_match_____ blah"; cat check.b2sum; } >check2.md5sum &&
	test_expect_code 2 sumcheck -c check2.md5sum >out 2>err && test ! -s out &&
	test_grep "^sumcheck: check2.md5sum: no sidecar check2.md5sum.b2, and not a digest file" err
'

# md5sum-bsd.sh: "If we skip the first entry in the BSD format checksums
# then it'll be detected as standard format and error."
test_expect_success 'md5sum-bsd.sh: one-space list without its first line, from stdin: fails (2)' '
	mkdir d5 && cd d5 &&
	for i in a " b" "*c" dd " "; do echo "$i" >"$i" && sumcheck -p "$i" >>check.b2sum || exit 1; done &&
	sed "s/  / /" check.b2sum | tail -n +2 >rest &&
	test_expect_code 1 b2sum --strict -c - <rest >/dev/null 2>&1 &&
	test_expect_code 2 sumcheck --strict -c - <rest >out 2>err &&
	! grep -q ": OK$" out
'

# md5sum-bsd.sh: "Ensure we can --check BSD traditional format we produce"
test_expect_success 'md5sum-bsd.sh: --tag lines for the five names: b2sum'"'"'s, and --strict -c OK' '
	mkdir d6 && cd d6 &&
	for i in a " b" "*c" dd " "; do echo "$i" >"$i" || exit 1; done &&
	for i in a " b" "*c" dd " "; do same_as_b2sum --tag "$i" && cat sc.out >>check.b2 || exit 1; done &&
	sumcheck --strict -c check.b2 >out &&
	printf "a: OK\n b: OK\n*c: OK\ndd: OK\n : OK\n" >want && test_cmp want out
'

# md5sum-bsd.sh: "with the GNU extension of escaped newlines": names
# a\b, a\, \a, a<newline>b, a<tab>b. The check lines are b2sum's, except
# that the tab is shown escaped, as every control character (sumcheck.1).
test_expect_success 'md5sum-bsd.sh: --tag with backslashes, a newline, a tab: checked, names as b2sum (tab escaped)' '
	mkdir d7 && cd d7 &&
	for i in "a\\b" "a\\" "\\a" "a${nl}b" "a${tab}b"; do
		: >"$i" && same_as_b2sum --tag "$i" && cat sc.out >>check.b2 || exit 1
	done &&
	b2sum --strict -c check.b2 >bout &&
	sumcheck --strict -c check.b2 >out &&
	sed "s/^a${tab}b: OK\$/\\\\a\\\\x09b: OK/" bout >want && test_cmp want out
'

# md5sum-bsd.sh: ex_output '\MD5 (test\n\\\\file) = d41d8cd98f00b204e9800998ecf8427e'
test_expect_success 'md5sum-bsd.sh ex_output: --tag of test, a newline and two backslashes: escaped as b2sum' '
	mkdir d8 && cd d8 &&
	: >"test${nl}\\\\file" &&
	sumcheck -p --tag "test${nl}\\\\file" >out &&
	printf "\\\\BLAKE2b (test\\\\n\\\\\\\\\\\\\\\\file) = %s\n" "$deg" >want && test_cmp want out &&
	same_as_b2sum --tag "test${nl}\\\\file"
'

# ===========================================================================
# coreutils tests/cksum/md5sum-parallel.sh: three runs over 500 files, two
# at a time, into one pipe: every line whole. Upstream runs it once and
# relies on it failing often enough; here it runs 100 times, and then the
# writes themselves are checked.

test_expect_success 'md5sum-parallel.sh setup: 500 empty files' '
	mkdir tmp && (cd tmp && seq 500 | xargs touch) &&
	test "$(ls tmp | wc -l)" -eq 500
'

test_expect_success 'md5sum-parallel.sh: xargs -n500 -P2 sumcheck -p into one pipe, 100 tries: no line spliced' '
	t=0 &&
	while [ "$t" -lt 100 ]; do
		t=$((t + 1))
		(find tmp tmp tmp -type f | xargs -n500 -P2 sumcheck -p 2>err) >all.pipe &&
		test ! -s err || { cat err >&2; exit 1; }
		test "$(wc -l <all.pipe)" -eq 1500 || { echo "try $t: not 1500 lines" >&2; exit 1; }
		! grep -Ev "^[0-9a-f]{128}  tmp/[0-9]+\$" all.pipe >bad ||
		{ echo "try $t: lines spliced:" >&2; head -3 bad >&2; exit 1; }
	done
'

test_expect_success 'md5sum-parallel.sh: the same into one file opened for appending, 100 tries' '
	t=0 &&
	while [ "$t" -lt 100 ]; do
		t=$((t + 1))
		: >all &&
		find tmp tmp tmp -type f | xargs -n500 -P2 sumcheck -p >>all 2>err || exit 1
		test "$(wc -l <all)" -eq 1500 || { echo "try $t: not 1500 lines" >&2; exit 1; }
		! grep -Ev "^[0-9a-f]{128}  tmp/[0-9]+\$" all >bad ||
		{ echo "try $t: lines spliced:" >&2; head -3 bad >&2; exit 1; }
	done
'

# The direct check, under strace: each write(2) to standard output ends at
# a line end, so no other writer can land inside a line; and a write to a
# pipe is atomic only up to PIPE_BUF (4096 bytes), so a longer one may hold
# a single line only.
# writes_whole FORMAT-ARGS...: run sumcheck -p ARGS under strace, check.
writes_whole()
{
	rm -f st.* &&
	strace -ff -qq -e trace=write -e signal=none -s 1000000 -xx -o st \
	    sumcheck -p "$@" >out &&
	python3 - st.* <<-\EOF
	import re, sys
	pat = re.compile(r'^write\(1, "((?:\\x[0-9a-f]{2})*)"(\.\.\.)?, (\d+)\) = (\d+)$')
	writes = 0
	for name in sys.argv[1:]:
	    for line in open(name):
	        if not line.startswith("write(1,"):
	            continue
	        m = pat.match(line.rstrip("\n"))
	        assert m and not m.group(2), "cannot read: " + line[:80]
	        data = bytes.fromhex(m.group(1).replace("\\x", ""))
	        assert int(m.group(4)) == len(data), "short write: " + line[:80]
	        writes += 1
	        if not data.endswith(b"\n"):
	            sys.exit("a write ends inside a line: ...%r" % data[-40:])
	        if len(data) > 4096 and data.count(b"\n") > 1:
	            sys.exit("a write of %d bytes (more than PIPE_BUF) holds %d lines"
	                     % (len(data), data.count(b"\n")))
	assert writes > 0, "no write to stdout seen"
	print(writes, "writes")
	EOF
}

if need strace; then
test_expect_success 'md5sum-parallel.sh, directly: every write of -p over 1500 names ends at a line end' '
	writes_whole tmp/* tmp/* tmp/* &&
	test "$(wc -l <out)" -eq 1500
'

test_expect_success 'md5sum-parallel.sh, directly: the same for --tag -l 256' '
	writes_whole --tag -l 256 tmp/* &&
	test "$(wc -l <out)" -eq 500
'
else
	test_skip 'md5sum-parallel.sh, directly: every write ends at a line end' 'no strace'
	test_skip 'md5sum-parallel.sh, directly: the same for --tag' 'no strace'
fi

# ===========================================================================
# b2sum(1)'s options (coreutils' b2sum --help), as the scripts use them

# b2sum -b / --binary: "HEX *NAME"
test_expect_success 'b2sum(1) -b, --binary: "HEX *NAME", as b2sum' '
	mkdir o1 && cd o1 && echo x >f &&
	same_as_b2sum -b f && same_as_b2sum --binary f &&
	printf "%s *f\n" "$(b2sum f | cut -d" " -f1)" >want && test_cmp want sc.out
'

# b2sum FILE prints; sumcheck FILE writes FILE.b2 (sumcheck.1), whose line
# is what b2sum prints for the base name.
test_expect_success 'b2sum(1) FILE prints; sumcheck FILE writes FILE.b2 with that line (on purpose)' '
	mkdir o2 && cd o2 && echo x >f &&
	sumcheck f >out && test ! -s out &&
	b2sum f >want && test_cmp want f.b2
'

# b2sum -c resolves names against the working directory; sumcheck against
# the list's own directory (sumcheck.1), and shows them with its path.
test_expect_success 'b2sum(1) -c from another directory: sumcheck finds the names beside the list (on purpose)' '
	mkdir o3 o3/sub && echo x >o3/sub/f && (cd o3/sub && b2sum f >SUMS.b2) &&
	cd o3 &&
	test_expect_code 1 b2sum -c sub/SUMS.b2 >/dev/null 2>&1 &&
	sumcheck -c sub/SUMS.b2 >out && echo "sub/f: OK" >want && test_cmp want out
'

# b2sum -c opens whatever a list names. A list vouches only for files
# beneath its own directory, through no symbolic link (sumcheck.1): an
# absolute or ".." name is a malformed line, a link is not followed.
test_expect_success 'b2sum(1) -c of absolute and ".." names: malformed lines here (on purpose)' '
	mkdir o4 o4/d && echo x >o4/x && cd o4/d &&
	h=$(b2sum ../x | cut -d" " -f1) &&
	printf "%s  ../x\n%s  %s/../x\n" "$h" "$h" "$PWD" >list.b2 &&
	b2sum --strict -c list.b2 >/dev/null &&
	test_expect_code 2 sumcheck --strict -c list.b2 >out 2>err && test ! -s out &&
	test_grep "no properly formatted checksum lines found" err
'

test_expect_success 'b2sum(1) -c of a name that is a symbolic link: not followed here (on purpose)' '
	mkdir o5 && cd o5 && echo x >real && ln -s real link &&
	b2sum link >list.b2 && b2sum --strict -c list.b2 >/dev/null &&
	test_expect_code 2 sumcheck -c list.b2 >out 2>err &&
	echo "link: FAILED open or read" >want && test_cmp want out &&
	test_grep "link: is or passes through a symbolic link: not followed" err
'

test_done

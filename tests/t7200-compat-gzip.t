#!/bin/sh
# gzsafe -t as a drop-in for gzip -t: the cases of GNU gzip's tests/, of
# libdeflate's scripts/gzip_tests.sh and the gzip-level vectors of zlib's
# test/infcover.c, each judged by gzsafe -t and, where the verdict is
# meant to agree, by the real gzip -t on the same bytes. Inputs and
# verdicts are theirs; the scripts are ours. Differences on purpose
# (gzsafe.1), asserted as ours where they show:
#   - anything after the last member, zero padding included, is corruption
#     (gzip -t warns about trailing garbage with exit 2, accepts zeros);
#   - an empty file is corrupt; a missing or unreadable one is "could not
#     tell", exit 2 (gzip -t: 1);
#   - only gzip members are judged: compress(1), pack and zip data, which
#     gzip -t also accepts, are "bad header: not in gzip format";
#   - verdicts are lines on stdout, "FILE: OK" unless -q;
#   - an operand is required (- for standard input); FIFOs are read.
#
# Not ported, GNU gzip: help-version, keep, null-suffix-clobber,
# reproducible, synchronous, write-error, gzip-env, zdiff, zdiff-abuse,
# zgrep-*, znew-k (compressing, decompressing to files, suffixes and
# options of gzip itself, and other programs: no -t verdict in them).
# libdeflate: the compression, suffix, overwrite, symlink-to-output, mode
# and timestamp cases (no -t verdict), and "Incorrect usage"/"Help"/
# "Version" beyond the usage exit below. zlib: the zlib-wrapped (78 9c)
# and inflateBack-only vectors, except one zlib stream that is not gzip.
. "$(dirname "$0")/lib.sh"
need gzip || skip_all 'no gzip(1) to compare with'

# unhex "1f 8b 8 0": the bytes, written as zlib's infcover.c writes them.
unhex()
{
	for _h in $1; do
		# shellcheck disable=SC2059 # the format is the escape
		printf "\\$(printf %03o "0x$_h")"
	done
}

# gzt FILE...: gzip -t's exit status, its words thrown away.
gzt()
{
	gzip -t "$@" >/dev/null 2>&1
}

# fails_both FILE REGEX: gzsafe -t says FILE is corrupt (exit 1) for the
# reason REGEX (after "FAILED: "), and gzip -t fails on it too.
fails_both()
{
	test_expect_code 1 gzsafe -t "$1" >out 2>err &&
	test_grep "^$1: FAILED: $2" out &&
	test_must_fail gzt "$1"
}

# ok_both FILE: both say the file is intact.
ok_both()
{
	gzsafe -t "$1" >out &&
	echo "$1: OK" >want && test_cmp want out &&
	gzt "$1"
}

# ===========================================================================
# GNU gzip, tests/

# gzip tests/helin-segv: a compress(1) (.Z) file, which gzip -d reads.
test_expect_success 'gzip helin-segv: .Z data: gzip -t accepts, gzsafe -t: not gzip (on purpose)' '
	printf "\037\235\220\0\0\0\304" >helin.gz &&
	gzt helin.gz &&
	test_expect_code 1 gzsafe -t helin.gz >out &&
	echo "helin.gz: FAILED: bad header: not in gzip format at byte 0 (member 1)" >want &&
	test_cmp want out
'

# gzip tests/hufts, first case: hufts-segv.gz (425 bytes), "invalid
# compressed data--format violated".
test_expect_success 'gzip hufts: hufts-segv.gz is corrupt data for both' '
	base64 -d >hufts-segv.gz <<-\EOF &&
	H4sICGeGQUoCQyZ6a/GQrf97QFzVBzBOnR0IgAocNBH8QahDSYiBAYlK7figB0Oz1qw0FLkoCUQw
	420xEgOUg7gQN2U3s5vb7eoBTakqqN0QjLy0uZneW8DyiHf51lp/nGWYtOPxeu/3vf567WGfvdqa
	I6+d9pp7r3x567gwjD1az9Nw6j8t94CHs7VdHDA3JPDD1m4VgQ1hI+B/86Ya5Qdw3hePY7UJKxTQ
	Shiw4vnBj5cVqBRsaBP2cNTqqPMIOc7zv6dMeM1Hrk3IcTpXPuTVq1fAddPehD87suzgFnybfFol
	V38lXy4FW1zXKsyt9aqe7/rrodSPh1qvZ8SNKUWRBXw/9685BJ93LW2xfUsMacKjCr0lVLM9Kvn9
	sP/9F8rnPRnp0+8ZfE9GS2BGaqZlXu28pbVBnnd4YH7SgElEO0SQ3aixE9vAQ00frkq+DpAJ9GoJ
	0GujM1B56og+f/gNKXlf/vXwg4bfAKUtAAQaS+V+t+pztwd+f/DNwqqj7IY4OoQy7EC+QQpCd6wd
	/LfKUfM/oPgR4fvYtVOWQ5RQujIK9OsmyCc=
	EOF
	test "$(wc -c <hufts-segv.gz)" -eq 425 &&
	fails_both hufts-segv.gz "corrupt data: .* at byte [0-9]+ \(member 1\)$"
'

# gzip tests/hufts, second case (bug 33501): a header, then 4 bytes of a
# dynamic block that go nowhere. gzip says "format violated"; zlib, whose
# inflate gzsafe uses, wants more input: truncated. Corrupt either way.
test_expect_success 'gzip hufts bug33501: 14 bytes: corrupt for both' '
	printf "\037\213\010\000\060\060\060\060\060\060\144\000\000\000" >bug33501 &&
	fails_both bug33501 "(truncated|corrupt data): .* at byte [0-9]+ \(member 1\)$"
'

# gzip tests/memcpy-abuse: more than 32 KiB, "slightly less uniform than
# all zeros".
test_expect_success 'gzip memcpy-abuse: wxy%032767d compressed: OK' '
	printf wxy%032767d 0 | gzip >in.gz &&
	ok_both in.gz
'

# gzip tests/mixed: (echo xxx; echo yyy), not compressed at all.
test_expect_success 'gzip mixed: uncompressed input: not in gzip format for both' '
	printf "xxx\nyyy\n" >plain &&
	fails_both plain "bad header: not in gzip format at byte 0 \(member 1\)$"
'

# gzip tests/mixed: compressed input followed by regular data. gzip -cdf
# passes it through, gzip -t warns (exit 2); for a backup it is corruption.
test_expect_success 'gzip mixed: a member then plain data: gzip -t warns (2), gzsafe -t: corrupt (on purpose)' '
	{ echo xxx | gzip; echo yyy; } >mixed.gz &&
	n=$(echo xxx | gzip | wc -c) &&
	test_expect_code 2 gzt mixed.gz &&
	test_expect_code 1 gzsafe -t mixed.gz >out &&
	echo "mixed.gz: FAILED: trailing garbage after the last member at byte $n (member 2)" >want &&
	test_cmp want out
'

# gzip tests/mixed: two members.
test_expect_success 'gzip mixed: two members: OK' '
	{ echo xxx | gzip; echo yyy | gzip; } >two.gz &&
	ok_both two.gz &&
	gzip -dc two.gz >out && printf "xxx\nyyy\n" >want && test_cmp want out
'

# gzip tests/mixed, the size loop: inputs of 0..64 bytes, gzip's buffer
# size (32 KiB + 64) +/- 1 and 128 KiB +/- 1, taken from the same
# repeated alphabet. Each size: plain (not gzip), compressed (OK), and
# compressed with the plain bytes after it (corrupt for us; gzip -t fails
# or warns, never says 0).
test_expect_success 'gzip mixed sizes: the repeated alphabet' '
	python3 -c "import sys
s = b\"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-+=%\"
sys.stdout.buffer.write((s * 2048)[:131073])" >alphabet &&
	test "$(wc -c <alphabet)" -eq 131073
'

# mixed_size N: the three verdicts for an input of N bytes.
mixed_size()
{
	head -c "$1" alphabet >"in.$1" &&
	gzip -c "in.$1" >"z.$1" &&
	m=$(wc -c <"z.$1") &&
	cat "z.$1" "in.$1" >"zp.$1" &&
	if [ "$1" -eq 0 ]; then
		test_expect_code 1 gzsafe -t in.0 >out &&
		test_grep "^in.0: FAILED: truncated: empty file at byte 0" out &&
		test_must_fail gzt in.0 &&
		ok_both z.0 && ok_both zp.0
	else
		fails_both "in.$1" "bad header: not in gzip format at byte 0 \(member 1\)$" &&
		ok_both "z.$1" &&
		test_expect_code 1 gzsafe -t "zp.$1" >out &&
		echo "zp.$1: FAILED: trailing garbage after the last member at byte $m (member 2)" >want &&
		test_cmp want out &&
		test_must_fail gzt "zp.$1"
	fi
}

test_expect_success 'gzip mixed sizes 0..64: plain, compressed, compressed+plain' '
	i=0 &&
	while [ "$i" -le 64 ]; do
		mixed_size "$i" || { echo "size $i" >&2; exit 1; }
		i=$((i + 1))
	done
'

for n in 32831 32832 32833 131071 131072 131073; do
test_expect_success "gzip mixed size $n: plain, compressed, compressed+plain" "
	mixed_size $n
"
done

# gzip tests/stdin: gzip -dc in - in <in, the same member three times.
test_expect_success 'gzip stdin: gzsafe -t in - in <in: three verdicts, in order' '
	printf a | gzip >in &&
	gzsafe -t in - in <in >out 2>err &&
	printf "in: OK\n-: OK\nin: OK\n" >want && test_cmp want out &&
	test ! -s err &&
	gzip -t in - in <in
'

# gzip tests/trailing-nul: one NUL after the member: gzip accepts zero
# padding (exit 0); a backup has no business carrying any (gzsafe.1).
test_expect_success 'gzip trailing-nul 0.gz: gzip -t 0, gzsafe -t corrupt (on purpose)' '
	{ echo 0 | gzip; printf "\0"; } >0.gz &&
	n=$(echo 0 | gzip | wc -c) &&
	gzt 0.gz &&
	test_expect_code 1 gzsafe -t 0.gz >out &&
	echo "0.gz: FAILED: trailing garbage after the last member at byte $n (member 2)" >want &&
	test_cmp want out
'

# gzip tests/trailing-nul: two NULs.
test_expect_success 'gzip trailing-nul 00.gz: gzip -t 0, gzsafe -t corrupt (on purpose)' '
	{ echo 00 | gzip; printf "\0\0"; } >00.gz &&
	n=$(echo 00 | gzip | wc -c) &&
	gzt 00.gz &&
	test_expect_code 1 gzsafe -t 00.gz >out &&
	echo "00.gz: FAILED: trailing garbage after the last member at byte $n (member 2)" >want &&
	test_cmp want out
'

# gzip tests/trailing-nul: one byte \1: gzip exits 1.
test_expect_success 'gzip trailing-nul 1.gz: a byte 1 after the member: corrupt for both' '
	{ echo 1 | gzip; printf "\1"; } >1.gz &&
	n=$(echo 1 | gzip | wc -c) &&
	fails_both 1.gz "trailing garbage after the last member at byte $n \(member 2\)$"
'

# gzip tests/two-files: gzip -1 a b, 5000 random bytes each.
test_expect_success 'gzip two-files: gzip -1 a b; both members OK in one call' '
	head -c 5000 /dev/urandom >a && head -c 5000 /dev/urandom >b &&
	gzip -1 a b &&
	gzsafe -t a.gz b.gz >out &&
	printf "a.gz: OK\nb.gz: OK\n" >want && test_cmp want out &&
	gzt a.gz b.gz
'

# gzip tests/unpack-invalid: three inputs gzip -d must refuse (exit 1).
# The first is a member whose distances reach before its start: gzip 1.12
# and older read zeros there and pass it (fixed in gzip 1.13); zlib refuses.
test_expect_success 'gzip unpack-invalid #1: a distance too far back: corrupt' '
	base64 -d >ui1 <<-\EOF &&
	H4sIAAAAAAAAA3OKyjA0dIxUC468KXEpiIFB4f//HwwTGEIEGBgXK1xhaWhgaHBkOMCq0MDIwODAwNjg6MCx
	gCEk2U2BIYVx4auMbytMTdlXmDDILXzFwK5y4Yv/78q2JE4ORTaGFIb15hKr2kwzbPbcXV2kvWxN7UmhO//j
	eBMWTTnYqv2xXCW4lZN3Yq+qAsIF3v+FwhgYGKMkHzAwMDEwMjE0CDCwMDAycC5gMGR2uCA1b/krN5/2JVdM
	pllNWpz3Rk6/e6fSHA0P1f+d2hB/AABAE2EDzQAAAA==
	EOF
	test "$(wc -c <ui1)" -eq 220 &&
	test_expect_code 1 gzsafe -t ui1 >out &&
	test_grep "^ui1: FAILED: corrupt data: invalid distance too far back at byte [0-9]+ \(member 1\)$" out
'

# gzip tests/unpack-invalid #2: pack(1) magic, then gzip fragments.
test_expect_success 'gzip unpack-invalid #2: pack magic and fragments: corrupt for both' '
	echo "Hx4AAB+LCAAAAAAAAgMeAAAAAgMfiwgAAAAAAAID7cEBDQAAAMKgHwDCoB+LCAAAAAAAAgPtwQ==" |
	base64 -d >ui2 &&
	fails_both ui2 "bad header: not in gzip format at byte 0 \(member 1\)$"
'

# gzip tests/unpack-invalid #3: a good empty member, then bytes that are
# not a member.
test_expect_success 'gzip unpack-invalid #3: a member, then junk: corrupt for both' '
	echo "H4sIAAAAAAACA+3BAQ0AAADCoD72D/geDhgAAAAAAAAAAAAcCEVgRBUQJwAAHx4OGAAAAA==" |
	base64 -d >ui3 &&
	fails_both ui3 "trailing garbage after the last member at byte 45 \(member 2\)$"
'

# gzip tests/unpack-valid: pack(1) data ("banana"), which gzip reads.
test_expect_success 'gzip unpack-valid: pack data: gzip -t accepts, gzsafe -t: not gzip (on purpose)' '
	echo Hx4AAAAGAwEBAGFuYhbI | base64 -d >test.z &&
	gzt test.z &&
	test_expect_code 1 gzsafe -t test.z >out &&
	echo "test.z: FAILED: bad header: not in gzip format at byte 0 (member 1)" >want &&
	test_cmp want out
'

# gzip tests/unzip-valid: a one-entry zip with a data descriptor, which
# newer gzip reads (gzip 1.12 does not: no comparison here).
test_expect_success 'gzip unzip-valid: zip data: gzsafe -t: not gzip (on purpose)' '
	base64 -d >test.gz <<-\EOF &&
	UEsDBC0ACAAIAG5jz1oAAAAA//////////8FAB0AbG9yZW0BABAAAAAAAAAAAAAAAAAAAAAAAFVU
	BQABoB5PaE2PTWrFQAyD9z2FDhByhy4L7aL0BO6MyDPM34vt+9cJb9HFgBlL1qfPebJDl0VHnW2e
	MHVIp28ocxiL0+OEVF1qRccBNvUd36H2DMLZ1+WKXK60PkP6jncOygDN0a6EDS2Kh+XN3med6GIm
	KVbbwCN1Yuiz5aDEUGs7voSFI/+lgKf4K2pLb+pCqryII1mj+alFaah6AfyELY6qZrzuZ6U44jUO
	XuD/2y22xuG8Gxnr/W7EHR8DjyR4yK8mZJ5bTZyZrVmom+9vf1BLBwge8LxYyQAAAAAAAABEAQAA
	AAAAAFBLAQIt/y0ACAAIAG5jz1oe8LxYyQAAAEQBAAAFAAkAAAAAAAAAAAAAAAAAAABsb3JlbVVU
	BQABoB5PaFBLBQYAAAAAAQABADwAAAAhAQAAAAA=
	EOF
	test "$(wc -c <test.gz)" -eq 371 &&
	test_expect_code 1 gzsafe -t test.gz >out &&
	echo "test.gz: FAILED: bad header: not in gzip format at byte 0 (member 1)" >want &&
	test_cmp want out
'

# gzip tests/list: echo zoology zucchini, gzip -9.
test_expect_success 'gzip list: gzip -9 of a line: OK' '
	echo zoology zucchini >in9 && gzip -9 in9 &&
	ok_both in9.gz
'

# gzip tests/list: gzip of an empty file.
test_expect_success 'gzip list: the gzip of an empty file: OK (a member, not an empty file)' '
	: >empty && gzip empty &&
	ok_both empty.gz
'

# gzip tests/list: cat small.gz small.gz, two members.
test_expect_success 'gzip list: small.gz twice: two members, OK' '
	echo "" >small && gzip small && cat small.gz small.gz >smallx2.gz &&
	ok_both smallx2.gz &&
	gzsafe -v -t smallx2.gz >out &&
	test_grep "^smallx2.gz: OK \(2 members, " out
'

# gzip tests/list-big: 4 GiB of zeros; the trailer's length is the size
# modulo 2^32 (here 0). Inflating 4 GiB takes about 9 s per tool: only
# when SAFEPIPE_EXPENSIVE is set.
if [ -n "${SAFEPIPE_EXPENSIVE:-}" ]; then
test_expect_success 'gzip list-big: 4 GiB of zeros, length field 0 (mod 2^32): OK' '
	python3 - <<-\EOF &&
	import struct, zlib
	c = zlib.compressobj(9, zlib.DEFLATED, -15)
	mib = bytes(1 << 20)
	# After a full flush a MiB of zeros compresses to the same bytes again.
	block = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
	again = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
	assert block == again
	crc, sixteen = 0, bytes(1 << 24)
	for _ in range(256):
	    crc = zlib.crc32(sixteen, crc)
	with open("big.gz", "wb") as f:
	    f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")
	    for _ in range(4096):
	        f.write(block)
	    f.write(c.flush(zlib.Z_FINISH))
	    f.write(struct.pack("<II", crc, 0))
	EOF
	ok_both big.gz
'
else
	test_skip 'gzip list-big: 4 GiB of zeros' 'takes 20 s; set SAFEPIPE_EXPENSIVE=1'
fi

# gzip tests/timestamp: y2106.gz, MTIME 0xffffffff, OS 255, an empty
# fixed block: a valid member whatever its timestamp.
test_expect_success 'gzip timestamp: y2106.gz (MTIME 0xffffffff): OK' '
	printf "\037\213\10\0\377\377\377\377\0\377\3\0\0\0\0\0\0\0\0\0" >y2106.gz &&
	ok_both y2106.gz
'

# gzip tests/timestamp: ": | gzip --no-name".
test_expect_success 'gzip timestamp: an empty input, gzip --no-name: OK' '
	: | gzip --no-name >k.gz &&
	ok_both k.gz
'

# gzip tests/z-suffix and upper-suffix: members named Fz and kT. gzsafe -t
# judges the bytes whatever the name.
test_expect_success 'gzip z-suffix, upper-suffix: files named Fz and kT: OK' '
	printf anything | gzip >Fz && : | gzip >kT &&
	gzsafe -t Fz kT >out &&
	printf "Fz: OK\nkT: OK\n" >want && test_cmp want out &&
	gzt Fz kT
'

# gzip tests/pipe-output: with its output a broken pipe, gzip behaves as
# cat does: killed by SIGPIPE, or, with SIGPIPE ignored, a failure. The
# pipe here is closed before the program starts: no sleep, no race.
broken_pipe() # IGN|DFL CMD...: run CMD with stdout on a pipe nobody reads
{
	python3 -c '
import os, signal, subprocess, sys
r, w = os.pipe()
os.close(r)
how = signal.SIG_IGN if sys.argv[1] == "IGN" else signal.SIG_DFL
p = subprocess.run(sys.argv[2:], stdout=w, stderr=subprocess.DEVNULL,
                   preexec_fn=lambda: signal.signal(signal.SIGPIPE, how))
print(p.returncode)' "$@"
}

test_expect_success 'gzip pipe-output: stdout a broken pipe, SIGPIPE default: dies of it, as cat' '
	echo a | gzip >a.gz &&
	broken_pipe DFL cat a.gz >want && echo -13 >expect && test_cmp expect want &&
	broken_pipe DFL gzsafe -t a.gz >got && test_cmp want got
'

# gzip 1.13 NEWS: with SIGPIPE ignored gzip exits 2 on a broken pipe; a
# verdict that could not be delivered is "could not tell", 2, for gzsafe.
test_expect_success 'gzip pipe-output: stdout a broken pipe, SIGPIPE ignored: 2, never 0' '
	echo a | gzip >a.gz &&
	broken_pipe IGN cat a.gz >got && echo 1 >want && test_cmp want got &&
	broken_pipe IGN gzsafe -t a.gz >got && echo 2 >want && test_cmp want got
'

# ===========================================================================
# libdeflate, scripts/gzip_tests.sh

# gzip_tests.sh 'Compressing empty file'
test_expect_success 'libdeflate: compressing an empty file: the member is OK' '
	: >e && gzip -c e >e.gz &&
	ok_both e.gz
'

# gzip_tests.sh 'Decompressing malformed file': an empty foo.gz. gzip says
# "unexpected end of file" (1); for gzsafe an empty file is corrupt too.
test_expect_success 'libdeflate malformed: empty file: corrupt for both' '
	: >foo.gz &&
	fails_both foo.gz "truncated: empty file at byte 0"
'

# gzip_tests.sh 'Decompressing malformed file': echo 1 > foo.gz
test_expect_success 'libdeflate malformed: a file holding 1 and a newline: not in gzip format for both' '
	echo 1 >foo.gz &&
	fails_both foo.gz "bad header: not in gzip format at byte 0 \(member 1\)$"
'

# gzip_tests.sh 'Decompressing malformed file': echo abcdefgh > foo.gz
test_expect_success 'libdeflate malformed: a file holding abcdefgh and a newline: not in gzip format for both' '
	echo abcdefgh >foo.gz &&
	fails_both foo.gz "bad header: not in gzip format at byte 0 \(member 1\)$"
'

# gzip_tests.sh 'Decompressing malformed file': 28 bytes, "crc error"
test_expect_success 'libdeflate malformed: 28 bytes whose CRC is wrong: crc mismatch' '
	unhex "1f 8b 08 00 00 00 00 00 00 ff 4b 4c 4a 4e 49 24 16 73 01 00 6c 5b a2 62 2e 00 00 00" >foo.gz &&
	fails_both foo.gz "crc mismatch at byte 20 \(member 1\)$"
'

# gzip_tests.sh '-t (test) option works': good_files and bad_files.
i=0
for c in 'H4sIAAAAAAAAA3PMSVTITVTIzi9JVABTIJ5jzpGZelwAX+86ehsAAAA=' \
    'H4sIAAAAAAAAAwvJSFUoLM1MzlZIKsovz1NIy69QyCrNLShWyC9LLVIoAUrnJFZVKqTkp+txAQBqzFDrLQAAAA=='; do
	i=$((i + 1))
test_expect_success "libdeflate -t: good file $i: OK" "
	echo '$c' | base64 -d >good$i.gz &&
	ok_both good$i.gz
"
done

i=0
for c in 'H4sIAO1YYmAAA3PMSVTITVTIzi9JVABTIJ5jzpGZelwAX+46ehsAAAA=|crc mismatch at byte 33' \
    'H4sIAO1YYmAAA3PMSVTITVTIzi85VABTIJ5jzpGZelwAX+86ehsAAAA=|corrupt data: invalid distance too far back at byte 25' \
    'H4sIAAAAAAAAA3PMSVTITVTIzi9JVABTIJ5jzpGZelwAX+86ehsBAAA=|length mismatch at byte 37' \
    'H4sIAAAAAAAAAwvJSFUoLM1MzlZIKsovz1NIy69QyCrNLShWyC9LLVIogUrnJFZVKqTkp+txAQBqzFDrLQAAAA==|crc mismatch at byte 56' \
    'H4sIAAAAAAAAAwvJSFUoLM1MzlZIKsovz1NIy69QyCrNLShWyC9L|truncated: unexpected end of file in compressed data at byte 39'; do
	i=$((i + 1))
	b64=${c%%|*} why=${c#*|}
test_expect_success "libdeflate -t: bad file $i: $why" "
	echo '$b64' | base64 -d >bad$i.gz &&
	fails_both bad$i.gz '$why \\(member 1\\)\$'
"
done

# gzip_tests.sh 'Decompressing multi-member gzip file'
test_expect_success 'libdeflate: a multi-member file: OK' '
	gen_data 50000 3 >file &&
	{ gzip -c file; gzip -c file; } >mm.gz &&
	ok_both mm.gz
'

# gzip_tests.sh 'Decompressing multi-member gzip file (final member smaller)'
test_expect_success 'libdeflate: multi-member, final member smaller: OK' '
	gen_data 50000 3 >file && echo "hello world" >hello &&
	{ gzip -c file; gzip -c hello; } >mm2.gz &&
	ok_both mm2.gz
'

# gzip_tests.sh 'Reading from stdin works': < file, - < file, cat | , cat | -
test_expect_success 'libdeflate stdin: gzsafe -t - from a file and from a pipe' '
	gen_data 50000 4 | gzip >s.gz &&
	gzsafe -t - <s.gz >out && echo "-: OK" >want && test_cmp want out &&
	{ cat s.gz; true; } | gzsafe -t - >out && test_cmp want out &&
	gzip -t - <s.gz && { cat s.gz; true; } | gzip -t -
'

# gzip_tests.sh 'Reading from stdin works', "gunzip < 1.gz" with no
# operand: gzip reads stdin; gzsafe -t wants an operand ("-"), so that a
# forgotten file name is never a silent test of a terminal (gzsafe.1).
test_expect_success 'libdeflate stdin: no operand: gzip -t reads stdin, gzsafe -t is usage (2)' '
	gen_data 5000 4 | gzip >s.gz &&
	gzip -t <s.gz &&
	test_expect_code 2 gzsafe -t <s.gz >out 2>err &&
	test ! -s out && test_grep "^gzsafe: -t: no file to check" err
'

# gzip_tests.sh 'Nonexistent input file fails, even with -f': gzip 1;
# gzsafe 2, "could not tell".
test_expect_success 'libdeflate: nonexistent input: No such file or directory (gzip 1, gzsafe 2)' '
	test_expect_code 1 gzt NONEXISTENT &&
	test_expect_code 2 gzsafe -t NONEXISTENT >out 2>err &&
	test ! -s out &&
	echo "gzsafe: NONEXISTENT: No such file or directory" >want && test_cmp want err
'

# gzip_tests.sh 'Directory is skipped, even with -f': gzip warns, 2.
test_expect_success 'libdeflate: a directory: skipped with exit 2 by both' '
	mkdir dir dir.gz &&
	test_expect_code 2 gzt dir.gz &&
	test_expect_code 2 gzsafe -t dir.gz >out 2>err &&
	test ! -s out && test_grep "^gzsafe: dir.gz: Is a directory$" err
'

# gzip_tests.sh 'FIFO is skipped, even with -f': gunzip skips a FIFO, but
# with -t gzip reads it, and so does gzsafe -t (gzsafe.1). The test holds
# the FIFO open for reading first (that open returns once the writer is
# there), so neither tool ever finds it without a writer.
test_expect_success 'libdeflate: a FIFO with a writer: read and judged by both' '
	mkfifo fifo.gz && echo data | gzip >d.gz &&
	{ timeout 20 sh -c "cat d.gz >fifo.gz" & } &&
	exec 3<fifo.gz &&
	timeout 20 gzsafe -t fifo.gz >out &&
	exec 3<&- && wait &&
	echo "fifo.gz: OK" >want && test_cmp want out &&
	{ timeout 20 sh -c "cat d.gz >fifo.gz" & } &&
	exec 3<fifo.gz &&
	timeout 20 gzip -t fifo.gz &&
	exec 3<&- && wait
'

# gzip_tests.sh '(gunzip) symlink is rejected without -f or -c': -t writes
# to no file, so gzip -t follows the link; so does gzsafe -t.
test_expect_success 'libdeflate: a symbolic link to a member: both follow it for -t' '
	echo data | gzip >target.gz && ln -s target.gz symlink1.gz &&
	ok_both symlink1.gz
'

# gzip_tests.sh '(gunzip) hard linked file skipped without -f or -c': -t
# writes nothing, so a second name changes nothing.
test_expect_success 'libdeflate: a hard-linked member: OK for both' '
	echo data | gzip >hl.gz && ln hl.gz link.gz &&
	ok_both link.gz
'

# gzip_tests.sh 'Multiple files, continue on warning': a directory, then a
# good file: the good one is still judged; exit 2 (gzip: 2 as well).
test_expect_success 'libdeflate: multiple files, continue after a directory: exit 2' '
	mkdir 1 && echo data | gzip >2.gz &&
	test_expect_code 2 gzt 1 2.gz &&
	test_expect_code 2 gzsafe -t 1 2.gz >out 2>err &&
	echo "2.gz: OK" >want && test_cmp want out &&
	test_grep "^gzsafe: 1: Is a directory$" err
'

# gzip_tests.sh 'Multiple files, continue on error': an unreadable file,
# then a good one, as a user who may not read the first (the upstream case
# runs only as non-root for the same reason).
if nobody_ok; then
test_expect_success 'libdeflate: multiple files, continue after an unreadable one: exit 2' '
	echo data | gzip >ok2.gz && cp ok2.gz unread.gz &&
	chmod 644 ok2.gz && chmod 000 unread.gz &&
	test_expect_code 1 as_nobody gzip -t unread.gz ok2.gz 2>gerr &&
	test_grep "Permission denied" gerr &&
	test_expect_code 2 as_nobody gzsafe -t unread.gz ok2.gz >out 2>err &&
	echo "ok2.gz: OK" >want && test_cmp want out &&
	test_grep "^gzsafe: unread.gz: Permission denied$" err
'
else
	test_skip 'libdeflate: continue after an unreadable file' 'needs root, user nobody and a reachable scratch directory'
fi

# gzip_tests.sh '-q (quiet) option works'; gzip -t says nothing on
# success, and gzsafe -t -q neither; failures are still shown.
test_expect_success 'libdeflate -q: gzsafe -t -q is silent on success, shows failures' '
	echo data | gzip >q.gz && echo junk >notgz &&
	gzsafe -t -q q.gz >out 2>err &&
	test ! -s out && test ! -s err &&
	gzip -t q.gz >gout 2>&1 && test ! -s gout &&
	test_expect_code 1 gzsafe -q -t q.gz notgz q.gz >out &&
	echo "notgz: FAILED: bad header: not in gzip format at byte 0 (member 1)" >want &&
	test_cmp want out
'

# gzip_tests.sh 'Incorrect usage': an unknown option fails; for a checker
# bad usage is "could not tell", 2 (gzip: 1).
test_expect_success 'libdeflate incorrect usage: --invalid-option and -0 are usage errors' '
	echo data | gzip >u.gz &&
	test_expect_code 1 gzt --invalid-option u.gz &&
	test_expect_code 2 gzsafe -t --invalid-option u.gz >out 2>err &&
	test ! -s out && test_grep "invalid-option" err &&
	test_expect_code 2 gzsafe -t -0 u.gz >out 2>err && test ! -s out
'

# ===========================================================================
# zlib, test/infcover.c: the vectors a gzip -t judges. Raw deflate vectors
# (cover_support, cover_inflate, cover_fast) are put in a gzip member:
# a complete stream gets its true CRC-32 and length, a stream that is not
# complete gets nothing after it (a member cut short), a corrupt one eight
# zero bytes. The gzip-wrapped vectors (cover_wrap, the trailer cases of
# cover_inflate) are taken byte for byte. Verdicts: OK, truncated, or the
# reason zlib's inflate gives (infcover.c asserts it for try() vectors).
# Table: verdict; infcover.c function: vector name; hex
zvectors='OK;cover_support: use fixed blocks;3 0
truncated;cover_support: force window allocation;63 0
truncated;cover_support: force window replacement;63 18 5
OK;cover_support: force split window update;63 18 68 30 d0 0 0
corrupt data: invalid stored block lengths;cover_inflate: invalid stored block lengths;0 0 0 0 0
OK;cover_inflate: fixed;3 0
corrupt data: invalid block type;cover_inflate: invalid block type;6
OK;cover_inflate: stored;1 1 0 fe ff 0
corrupt data: too many length or distance symbols;cover_inflate: too many length or distance symbols;fc 0 0
corrupt data: invalid code lengths set;cover_inflate: invalid code lengths set;4 0 fe ff
corrupt data: invalid bit length repeat;cover_inflate: invalid bit length repeat (1);4 0 24 49 0
corrupt data: invalid bit length repeat;cover_inflate: invalid bit length repeat (2);4 0 24 e9 ff ff
corrupt data: invalid code -- missing end-of-block;cover_inflate: invalid code -- missing end-of-block;4 0 24 e9 ff 6d
corrupt data: invalid literal/lengths set;cover_inflate: invalid literal/lengths set;4 80 49 92 24 49 92 24 71 ff ff 93 11 0
corrupt data: invalid distances set;cover_inflate: invalid distances set;4 80 49 92 24 49 92 24 f b4 ff ff c3 84
corrupt data: invalid literal/length code;cover_inflate: invalid literal/length code;4 c0 81 8 0 0 0 0 20 7f eb b 0 0
corrupt data: invalid distance code;cover_inflate: invalid distance code;2 7e ff ff
corrupt data: invalid distance too far back;cover_inflate: invalid distance too far back;c c0 81 0 0 0 0 0 90 ff 6b 4 0
OK;cover_inflate: pull 17;5 c0 21 d 0 0 0 80 b0 fe 6d 2f 91 6c
OK;cover_inflate: long code;5 e0 81 91 24 cb b2 2c 49 e2 f 2e 8b 9a 47 56 9f fb fe ec d2 ff 1f
OK;cover_inflate: length extra;ed c0 1 1 0 0 0 40 20 ff 57 1b 42 2c 4f
OK;cover_inflate: long distance and extra;ed cf c1 b1 2c 47 10 c4 30 fa 6f 35 1d 1 82 59 3d fb be 2e 2a fc f c
OK;cover_inflate: window end;ed c0 81 0 0 0 0 80 a0 fd a9 17 a9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 6
OK;cover_inflate: inflate_fast TYPE return;2 8 20 80 0 3 0
OK;cover_inflate: window wrap;63 18 5 40 c 0
corrupt data: .*;cover_fast: fast length extra bits;e5 e0 81 ad 6d cb b2 2c c9 01 1e 59 63 ae 7d ee fb 4d fd b5 35 41 68 ff 7f 0f 0 0 0
corrupt data: .*;cover_fast: fast distance extra bits;25 fd 81 b5 6d 59 b6 6a 49 ea af 35 6 34 eb 8c b9 f6 b9 1e ef 67 49 50 fe ff ff 3f 0 0
corrupt data: invalid distance code;cover_fast: fast invalid distance code;3 7e 0 0 0 0 0
corrupt data: invalid literal/length code;cover_fast: fast invalid literal/length code;1b 7 0 0 0 0 0
corrupt data: .*too far back;cover_fast: fast 2nd level codes and too far back;d c7 1 ae eb 38 c 4 41 a0 87 72 de df fb 1f b8 36 b1 38 5d ff ff 0
OK;cover_fast: very common case;63 18 5 8c 10 8 0 0 0 0
OK;cover_fast: contiguous and wrap around window;63 60 60 18 c9 0 8 18 18 18 26 c0 28 0 29 0 0 0
OK;cover_fast: copy direct from output;63 0 3 0 0 0 0 0
bad header: unknown compression method at byte 2;cover_wrap: bad gzip method;1f 8b 0 0
bad header: unknown header flags set at byte 3;cover_wrap: bad gzip flags;1f 8b 8 80
bad header: header crc mismatch at byte 15;cover_wrap: bad header crc;1f 8b 8 1e 0 0 0 0 0 0 1 0 0 0 0 0 0
OK;cover_wrap: check gzip length;1f 8b 8 2 0 0 0 0 0 0 1d 26 3 0 0 0 0 0 0 0 0 0
bad header: not in gzip format at byte 0;cover_wrap: check adler32 (a zlib stream, not gzip);78 9c 63 0 0 0 1 0 1
(crc mismatch at byte 12|truncated: unexpected end of file in trailer at byte 16);cover_inflate: incorrect data check (trailer cut after the CRC);1f 8b 8 0 0 0 0 0 0 0 3 0 0 0 0 1
crc mismatch at byte 12;cover_inflate: incorrect data check (whole trailer);1f 8b 8 0 0 0 0 0 0 0 3 0 0 0 0 1 0 0 0 0
length mismatch at byte 16;cover_inflate: incorrect length check;1f 8b 8 0 0 0 0 0 0 0 3 0 0 0 0 0 0 0 0 1'

test_expect_success 'zlib infcover: the vectors, as gzip files' '
	printf "%s\n" "$zvectors" | python3 -c "
import struct, sys, zlib
for n, line in enumerate(sys.stdin, 1):
    raw = bytes(int(h, 16) for h in line.rstrip(\"\\n\").split(\";\")[2].split())
    if raw[:2] in (b\"\\x1f\\x8b\", b\"\\x78\\x9c\"):
        out = raw
    else:
        hdr = b\"\\x1f\\x8b\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x03\"
        d = zlib.decompressobj(-15)
        try:
            data = d.decompress(raw)
        except zlib.error:
            out = hdr + raw + bytes(8)
        else:
            if d.eof:
                used = raw[:len(raw) - len(d.unused_data)]
                out = hdr + used + struct.pack(\"<II\", zlib.crc32(data), len(data))
            else:
                out = hdr + raw
    open(\"z%02d.gz\" % n, \"wb\").write(out)
" &&
	test -s z01.gz
'

n=0
while IFS=';' read -r verdict name _; do
	n=$((n + 1))
	f=$(printf z%02d.gz "$n")
	case $verdict in
	OK)
test_expect_success "zlib infcover $name: OK" "
	ok_both $f
"
		;;
	truncated)
test_expect_success "zlib infcover $name: truncated" "
	fails_both $f 'truncated: unexpected end of file in compressed data at byte [0-9]+ \\(member 1\\)\$'
"
		;;
	corrupt*)
test_expect_success "zlib infcover $name: $verdict" "
	fails_both $f '$verdict at byte [0-9]+ \\(member 1\\)\$'
"
		;;
	*)
test_expect_success "zlib infcover $name: $verdict" "
	fails_both $f '$verdict \\(member 1\\)\$'
"
		;;
	esac
done <<EOF
$zvectors
EOF

# zlib inflate.c's wording for a reserved FLG bit (cover_wrap: bad gzip
# flags), each of the three reserved bits alone, in a whole member.
for bit in 20 40 80; do
test_expect_success "zlib inflate: reserved FLG bit 0x$bit: unknown header flags set" "
	unhex '1f 8b 8 $bit 0 0 0 0 0 3 3 0 0 0 0 0 0 0 0 0' >flg$bit.gz &&
	fails_both flg$bit.gz 'bad header: unknown header flags set at byte 3 \\(member 1\\)\$'
"
done

# zlib cover_wrap: check gzip length with a good header CRC over FEXTRA,
# FNAME and FCOMMENT (the bad header crc vector with the CRC fixed).
test_expect_success 'zlib infcover: bad header crc vector with its CRC right: OK' '
	python3 -c "import sys, zlib
h = bytes([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
c = zlib.crc32(h) & 0xffff
sys.stdout.buffer.write(h + bytes([c & 255, c >> 8, 3, 0]) + bytes(8))" >hcrc.gz &&
	ok_both hcrc.gz
'

test_done

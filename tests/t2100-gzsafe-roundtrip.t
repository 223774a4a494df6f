#!/bin/sh
# gzsafe's output is one ordinary gzip member: independent decoders read it
# back, a reader that stops after the first member gets every byte, its bytes
# do not depend on the thread count, and it is about as small as pigz's.
. "$(dirname "$0")/lib.sh"

# Decode with gzip, pigz and python3, and compare with the input.
roundtrip()
{
	gzip -dc "$1.gz" | cmp - "$1" &&
	{ ! need pigz >/dev/null || pigz -dc "$1.gz" | cmp - "$1"; } &&
	python3 -c 'import gzip,sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())' "$1.gz" | cmp - "$1"
}

test_expect_success 'empty input' '
	: >empty && gzsafe empty.gz <empty && roundtrip empty && gzip -t empty.gz
'

test_expect_success 'one byte' '
	printf x >one && gzsafe one.gz <one && roundtrip one
'

# One member, whole: python's zlib stops at the end of the first member and
# keeps what follows in unused_data, as Rust's flate2 GzDecoder and some Java
# readers stop there.
one_member()
{
	python3 - "$1.gz" "$1" <<-\PY
	import sys, zlib
	d = zlib.decompressobj(31)
	out = d.decompress(open(sys.argv[1], "rb").read())
	assert d.eof, "the member does not end"
	assert d.unused_data == b"", "%d bytes after the first member" % len(d.unused_data)
	assert out == open(sys.argv[2], "rb").read(), "the first member is not the input"
	PY
}

# Under valgrind (tools/valgrind.sh), where each run costs a second or two,
# the loops take fewer and smaller inputs over the same paths (still several
# blocks each), and the big inputs further down are skipped.
# shellcheck disable=SC2034  # read in the test bodies
sizes="32767 32768 32769 65536 98304 1048575 1048576 1048577 2097152 3145728"
# shellcheck disable=SC2034
lvsize=700000 psize=3000001 pvals="2 3 5"
# shellcheck disable=SC2034
if wrapped; then
	sizes="32767 32768 32769 1048575 1048576 1048577"
	lvsize=150000 psize=300001 pvals=3
fi

test_expect_success 'exact multiples of the block size, and one byte either side (-b 32, default)' '
	for n in $sizes; do
		gen_data $n $n >b$n &&
		gzsafe -b 32 -p 2 b$n.gz <b$n && roundtrip b$n && one_member b$n &&
		gzsafe -p 2 b$n.gz <b$n && roundtrip b$n && one_member b$n || exit 1
	done
'


test_expect_success 'every level, 0 to 12, is one member that gzip, pigz and python read' '
	gen_data $lvsize 3 >lv &&
	for l in 0 1 2 3 4 5 6 7 8 9 10 11 12; do
		gzsafe -$l -b 64 -p 2 lv.gz <lv && roundtrip lv && one_member lv &&
		gzip -t lv.gz && wc -c <lv.gz >size.$l || exit 1
	done &&
	# 0 stores: a little more than the input; 12 is smaller than 6, and 6 than 1.
	test "$(cat size.0)" -gt $lvsize &&
	test "$(cat size.12)" -lt "$(cat size.6)" &&
	test "$(cat size.6)" -lt "$(cat size.1)"
'

test_expect_success 'levels: "-12" is one level, the last wins, --fast and --best are -1 and -9' '
	gen_data 200000 5 >al &&
	gzsafe -12 a12.gz <al && gzsafe -1 -2 a2.gz <al && gzsafe -2 b2.gz <al &&
	gzsafe --fast f.gz <al && gzsafe -1 one.gz <al &&
	gzsafe --best b.gz <al && gzsafe -9 nine.gz <al &&
	gzsafe -0 zero.gz <al && gzsafe -6 six.gz <al && gzsafe dflt.gz <al &&
	cmp a2.gz b2.gz && cmp f.gz one.gz && cmp b.gz nine.gz && cmp six.gz dflt.gz &&
	! cmp -s a12.gz one.gz && ! cmp -s a12.gz b2.gz &&
	# XFL (byte 8) as gzip and libdeflate set it: 4 fastest, 2 slowest.
	for f in zero:4 one:4 a2:0 six:0 nine:2 a12:2; do
		test "$(od -An -tu1 -j8 -N1 ${f%:*}.gz | tr -d " ")" = "${f#*:}" || exit 1
	done
'

test_expect_success 'a level past 12 is a usage error, and nothing is written' '
	test_expect_code 125 gzsafe -13 x.gz </dev/null 2>err &&
	grep -q "^gzsafe: -13: no such level (0 to 12)" err &&
	test_expect_code 125 gzsafe -99 x.gz </dev/null 2>err &&
	test ! -e x.gz
'

test_expect_success 'random input: the output stays within the stored bound, at -0, -1 and -6' '
	head -c 3000000 /dev/urandom >rnd &&
	for l in 0 1 6; do
		gzsafe -$l -p 2 rnd.gz <rnd && roundtrip rnd && one_member rnd &&
		test "$(wc -c <rnd.gz)" -le $((3000000 + 3000000 / 1000 + 64)) || exit 1
	done
'

if wrapped; then
	test_skip 'zeros: 64 MiB' 'under valgrind: the small inputs take the same paths'
else
test_expect_success 'zeros: 64 MiB shrink near the format limit (1032 to 1)' '
	head -c 67108864 /dev/zero >zero &&
	gzsafe -p 2 zero.gz <zero && roundtrip zero && one_member zero &&
	test "$(wc -c <zero.gz)" -lt $((67108864 / 950)) &&
	gzsafe -0 -p 2 zero.gz <zero && roundtrip zero
'
fi

if wrapped; then
	test_skip '--verify: a run of zeros reread as it comes' 'under valgrind: 64 MiB take minutes'
elif ! need strace >/dev/null; then
	test_skip '--verify: a run of zeros reread as it comes' 'strace not installed'
else
test_expect_success '--verify rereads a run of zeros as it comes: a stretch by 16 MiB of input, whole pages' '
	rm -f fa gate && mkfifo gate &&
	traced -f -qq -e trace=/fadvise -o fa gzsafe -p 2 --verify zv.gz \
	    sh -c "head -c 41943040 /dev/zero; read _ <gate; head -c 25165824 /dev/zero" &
	pid=$! &&
	# The producer stops after 40 MiB, some 40 KiB of output: far from a
	# stretch by its size, and its input has not ended, yet one is reread.
	wait_grep "fadvise64.*DONTNEED" fa; r=$?
	timeout 20 sh -c "echo >gate"; wait $pid && test $r -eq 0 &&
	head -c 67108864 /dev/zero >zv && roundtrip zv && one_member zv &&
	# Each stretch but the last ends on a page boundary, or the page cache
	# would keep the page it ends in, to be reread from there.
	sed -n "s/.*fadvise64[_64]*([0-9]*, \([0-9]*\), \([0-9]*\), POSIX_FADV_DONTNEED.*/\1 \2/p" fa >dropped &&
	test "$(wc -l <dropped)" -ge 2 &&
	page=$(getconf PAGESIZE) &&
	sed "\$d" dropped | while read -r off len; do
		test $(((off + len) % page)) -eq 0 || exit 1
	done
'
fi

test_expect_success 'header: no name, MTIME 0, one member' '
	gen_data 1000 4 >h && gzsafe h.gz <h &&
	python3 - h.gz <<-\PY
	import sys
	b = open(sys.argv[1], "rb").read()
	assert b[:3] == b"\x1f\x8b\x08", b[:3]
	assert b[3] == 0, "flags %d" % b[3]
	assert b[4:8] == b"\0\0\0\0", "mtime"
	PY
'

test_expect_success "-p 1 and $pvals give identical bytes, at several sizes, levels and blocks" '
	for n in 1 100000 $psize; do
		gen_data $n $n >p$n &&
		for a in "-b 32" "-1 -b 96" "-b 1024" "-9 -b 2048" "-0 -b 64"; do
			gzsafe $a -p 1 p1.gz <p$n || exit 1
			for p in $pvals; do
				gzsafe $a -p $p pp.gz <p$n && cmp p1.gz pp.gz || exit 1
			done
		done
	done
'

if wrapped; then
	test_skip '100 MB, and its size against pigz' 'under valgrind: the small inputs take the same paths'
else
test_expect_success '100 MB of mixed text and binary, -p 2, checked by gzip, pigz and python3' '
	gen_data 100000000 42 >big &&
	gzsafe -p 2 big.gz <big &&
	roundtrip big && one_member big &&
	echo ok >big.done
'

if need pigz >/dev/null; then
test_expect_success 'compressed size at most 1% over pigz -6 on the same input' '
	test -f big.done &&
	pigz -6 -p 2 -c big >big.pigz.gz &&
	ours=$(wc -c <big.gz) && theirs=$(wc -c <big.pigz.gz) &&
	echo "gzsafe $ours pigz $theirs" &&
	test $((ours * 1000)) -le $((theirs * 1010))
'
else
	test_skip 'compressed size against pigz' 'no pigz'
fi
fi

test_expect_success 'gzsafe -t passes its own output, and --digest matches b2sum and hashlib' '
	gen_data 500000 9 >d &&
	gzsafe --digest --verify d.gz <d &&
	gzsafe -t d.gz >out && echo "d.gz: OK" >want && test_cmp want out &&
	b2sum -c --status d.gz.b2 &&
	python3 -c "import hashlib,sys; print(hashlib.blake2b(open(\"d.gz\",\"rb\").read()).hexdigest() + \"  d.gz\")" >want &&
	test_cmp want d.gz.b2
'

test_done

#!/bin/sh
# gzsafe's output is ordinary gzip: independent decoders read it back, its
# bytes do not depend on the thread count, and it is as small as pigz's.
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

test_expect_success 'block size -1, 0, +1 at -b 32 and at the default 128' '
	for n in 32767 32768 32769 131071 131072 131073 262145; do
		gen_data $n $n >b$n &&
		gzsafe -b 32 -p 2 b$n.gz <b$n && roundtrip b$n &&
		gzsafe -p 2 b$n.gz <b$n && roundtrip b$n || exit 1
	done
'

test_expect_success 'levels 1 and 9' '
	gen_data 300000 3 >lv &&
	gzsafe -1 lv.gz <lv && roundtrip lv &&
	gzsafe -9 lv.gz <lv && roundtrip lv
'

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

test_expect_success '-p 1 and -p 2 give identical bytes, at several sizes' '
	for n in 1 100000 1000000 3000001; do
		gen_data $n $n >p$n &&
		gzsafe -p 1 p1.gz <p$n && gzsafe -p 2 p2.gz <p$n && gzsafe -p 5 p5.gz <p$n &&
		cmp p1.gz p2.gz && cmp p1.gz p5.gz || exit 1
	done
'

test_expect_success '100 MB of mixed text and binary, -p 2, checked by gzip, pigz and python3' '
	gen_data 100000000 42 >big &&
	gzsafe -p 2 big.gz <big &&
	roundtrip big &&
	echo ok >big.done
'

if need pigz >/dev/null; then
test_expect_success 'compressed size within 0.5% of pigz -6 -b 128 on the same input' '
	test -f big.done &&
	pigz -6 -b 128 -p 2 -c big >big.pigz.gz &&
	ours=$(wc -c <big.gz) && theirs=$(wc -c <big.pigz.gz) &&
	echo "gzsafe $ours pigz $theirs" &&
	test $((ours * 1000)) -le $((theirs * 1005)) &&
	test $((ours * 1000)) -ge $((theirs * 995))
'
else
	test_skip 'compressed size against pigz' 'no pigz'
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

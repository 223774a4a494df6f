#!/bin/sh
# gzsafe -t / --tar: verdicts of the gzip validator, checked against gzip -t.
. "$(dirname "$0")/lib.sh"

patch_byte() { # FILE OFFSET BYTE(decimal): overwrite one byte with python3
	python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(bytes([int(sys.argv[3])]))' "$@"
}

test_expect_success 'setup' '
	gen_data 300000 1 >data &&
	gzip -c data >good.gz &&
	gzip -t good.gz &&
	size=$(wc -c <good.gz) && echo "$size" >size
'

test_expect_success 'good files from gzip, pigz and python3 pass' '
	pigz -c data >pigz.gz &&
	python3 -c "import gzip,sys; sys.stdout.buffer.write(gzip.compress(open(\"data\",\"rb\").read()))" >py.gz &&
	gzsafe -t good.gz pigz.gz py.gz >out &&
	printf "good.gz: OK\npigz.gz: OK\npy.gz: OK\n" >expect &&
	test_cmp expect out
'

test_expect_success 'multi-member file passes, like gzip -t' '
	cat good.gz good.gz >multi.gz &&
	gzip -t multi.gz &&
	gzsafe -t multi.gz >out &&
	echo "multi.gz: OK" >expect && test_cmp expect out
'

test_expect_success 'flipped byte in the deflate data fails with offset and member' '
	cp good.gz flip.gz && patch_byte flip.gz 5000 255 &&
	! gzip -t flip.gz 2>/dev/null &&
	test_expect_code 1 gzsafe -t flip.gz >out &&
	grep -E "^flip.gz: FAILED: (corrupt data|crc mismatch).* at byte [0-9]+ \(member 1\)$" out
'

test_expect_success 'truncated mid-data and inside the trailer' '
	head -c 3000 good.gz >cut1.gz &&
	size=$(cat size) && head -c $((size - 3)) good.gz >cut2.gz &&
	test_expect_code 1 gzsafe -t cut1.gz cut2.gz >out &&
	grep "^cut1.gz: FAILED: truncated.* at byte 3000 (member 1)$" out &&
	grep "^cut2.gz: FAILED: truncated.*trailer at byte $((size - 3)) (member 1)$" out &&
	! gzip -t cut1.gz 2>/dev/null && ! gzip -t cut2.gz 2>/dev/null
'

test_expect_success 'bad crc and bad length in the trailer' '
	size=$(cat size) &&
	cp good.gz crc.gz && patch_byte crc.gz $((size - 8)) 0 &&
	patch_byte crc.gz $((size - 7)) 0 &&
	cp good.gz len.gz && patch_byte len.gz $((size - 4)) 1 &&
	! gzip -t crc.gz 2>/dev/null && ! gzip -t len.gz 2>/dev/null &&
	test_expect_code 1 gzsafe -t crc.gz len.gz >out &&
	grep "^crc.gz: FAILED: crc mismatch at byte $((size - 8)) (member 1)$" out &&
	grep "^len.gz: FAILED: length mismatch at byte $((size - 4)) (member 1)$" out
'

test_expect_success 'trailing garbage and trailing zeros fail' '
	{ cat good.gz && echo junk; } >junk.gz &&
	{ cat good.gz && head -c 100 /dev/zero; } >zeros.gz &&
	test_expect_code 1 gzsafe -t junk.gz zeros.gz >out &&
	size=$(cat size) &&
	grep "^junk.gz: FAILED: trailing garbage.* at byte $size (member 2)$" out &&
	grep "^zeros.gz: FAILED: trailing garbage.* at byte $size (member 2)$" out
'

test_expect_success 'bad header and empty file fail' '
	cp good.gz hdr.gz && patch_byte hdr.gz 2 7 &&
	cp data plain.gz && : >empty.gz &&
	! gzip -t hdr.gz 2>/dev/null && ! gzip -t empty.gz 2>/dev/null &&
	test_expect_code 1 gzsafe -t hdr.gz plain.gz empty.gz >out &&
	grep "^hdr.gz: FAILED: bad header.* at byte 2 (member 1)$" out &&
	grep "^plain.gz: FAILED: bad header.* at byte 0 (member 1)$" out &&
	grep "^empty.gz: FAILED: truncated.* at byte 0" out
'

test_expect_success 'mixed results in one call: per-file lines, in order, exit 1' '
	test_expect_code 1 gzsafe -t good.gz cut1.gz multi.gz crc.gz >out &&
	sed "s/: FAILED.*/: FAILED/" out >got &&
	printf "good.gz: OK\ncut1.gz: FAILED\nmulti.gz: OK\ncrc.gz: FAILED\n" >expect &&
	test_cmp expect got
'

test_expect_success 'missing file: exit 2 and a message on stderr' '
	test_expect_code 2 gzsafe -t nosuch.gz >out 2>err &&
	grep "^gzsafe: nosuch.gz: No such file or directory$" err
'

test_expect_success '--tar: a good tar.gz passes' '
	mkdir dir && cp data dir/one && gen_data 5000 2 >dir/two &&
	tar czf good.tgz dir &&
	gzsafe -t --tar good.tgz >out &&
	echo "good.tgz: OK" >expect && test_cmp expect out
'

test_expect_success '--tar: the incident, a tar cut at a clean gzip boundary' '
	tar cf whole.tar dir &&
	head -c 10240 whole.tar | gzip -c >cut.tgz &&
	gzip -t cut.tgz &&
	gzsafe -t cut.tgz >out && echo "cut.tgz: OK" >expect && test_cmp expect out &&
	test_expect_code 1 gzsafe -t --tar cut.tgz >out &&
	grep "^cut.tgz: FAILED: tar archive has no end-of-archive blocks" out
'

test_expect_success '--tar: a gzip of something that is not tar fails' '
	test_expect_code 1 gzsafe -t --tar good.gz >out &&
	grep "^good.gz: FAILED: not a tar archive" out
'

test_expect_success '--tar: a header summed with signed bytes (old tars), which GNU tar accepts' '
	mkdir sdir && printf "x" >"sdir/$(printf "\303\251t\303\251")" &&
	tar cf signed.tar sdir &&
	python3 - signed.tar <<-\EOF &&
	import sys
	f = open(sys.argv[1], "r+b"); data = bytearray(f.read())
	off, fixed = 0, 0
	while off + 512 <= len(data) and any(data[off:off + 512]):
	    h = data[off:off + 512]
	    h[148:156] = b" " * 8
	    s = sum(b - 256 if b > 127 else b for b in h)
	    if s != sum(h):
	        fixed += 1
	    h[148:156] = b"%06o\0 " % s
	    data[off:off + 512] = h
	    size = int(h[124:136].rstrip(b"\0 ") or b"0", 8)
	    off += 512 + (size + 511) // 512 * 512
	assert fixed, "no header with a high byte"
	f.seek(0); f.write(data)
	EOF
	tar tf signed.tar >/dev/null &&
	gzip -c signed.tar >signed.tgz &&
	gzsafe -t --tar signed.tgz >out &&
	echo "signed.tgz: OK" >expect && test_cmp expect out
'

test_expect_success 'a pipe: /dev/stdin, -, a process substitution, a slow writer' '
	gzip -c data >p.gz &&
	gzsafe -t /dev/stdin <p.gz >out && echo "/dev/stdin: OK" >expect && test_cmp expect out &&
	cat p.gz | gzsafe -t - >out && echo "-: OK" >expect && test_cmp expect out &&
	cat p.gz | gzsafe -t /dev/stdin >out && echo "/dev/stdin: OK" >expect && test_cmp expect out &&
	{ head -c 1000 p.gz; sleep 0.3; tail -c +1001 p.gz; } | gzsafe -t - >out &&
	echo "-: OK" >expect && test_cmp expect out &&
	head -c 5000 p.gz | test_expect_code 1 gzsafe -t - >out &&
	test_grep "^-: FAILED: " out
'

test_expect_success 'a named FIFO, a device, a symbolic link: refused (2) at once, as planted files may be' '
	mkfifo nofifo &&
	test_expect_code 2 timeout 20 gzsafe -t nofifo >out 2>err &&
	test ! -s out && test_grep "^gzsafe: nofifo: not a regular file$" err &&
	ln -s good.gz link.gz &&
	test_expect_code 2 gzsafe -t link.gz >out 2>err &&
	test ! -s out && test_grep "^gzsafe: link.gz: is a symbolic link: not followed$" err &&
	ln -s /dev/zero zero.gz &&
	test_expect_code 2 timeout 20 gzsafe -t zero.gz 2>err &&
	test_grep "^gzsafe: zero.gz: is a symbolic link: not followed$" err &&
	test_expect_code 2 gzsafe -t /dev/null 2>err &&
	test_grep "^gzsafe: /dev/null: not a regular file$" err &&
	test_expect_code 2 gzsafe -t . 2>err &&
	test_grep "^gzsafe: \.: Is a directory$" err &&
	{ cat good.gz >nofifo & } &&
	gzsafe -t /dev/fd/5 5<nofifo >out && wait &&
	echo "/dev/fd/5: OK" >want && test_cmp want out
'

test_expect_success 'a refused file among good ones: the good ones are still judged' '
	test_expect_code 2 gzsafe -t good.gz nofifo good.gz >out 2>err &&
	printf "good.gz: OK\ngood.gz: OK\n" >want && test_cmp want out
'

test_expect_success 'no file: standard input, as gzip -t; a terminal is refused (2)' '
	gzsafe -t <good.gz >out && echo "-: OK" >want && test_cmp want out &&
	test_expect_code 1 gzsafe -t </dev/null >out &&
	test_grep "^-: FAILED: " out &&
	if command -v script >/dev/null; then
		test_expect_code 2 script -qec "gzsafe -t" /dev/null </dev/null >out 2>&1 &&
		test_grep "standard input is a terminal" out
	fi
'

test_expect_success 'names with control characters are shown escaped' '
	cp good.gz "$(printf "a\033[2Jb.gz")" &&
	gzsafe -t a*b.gz >out && ! grep -q "$(printf "\033")" out &&
	test_grep "^a\\\\x1b\\[2Jb\\.gz: OK$" out
'

# U+009B is CSI to a UTF-8 terminal that obeys C1; a name with it is no
# less dangerous than one with ESC. Other UTF-8 passes as it is.
test_expect_success 'C1 controls in UTF-8 are escaped too, in verdicts and messages; other UTF-8 is not' '
	cp good.gz "$(printf "c\302\2332Jd\303\251.gz")" &&
	gzsafe -t c*d*.gz >out &&
	test_grep "^c\\\\xc2\\\\x9b2Jd$(printf "\303\251")\\.gz: OK$" out &&
	test_expect_code 2 gzsafe -t "$(printf "e\302\233f.gz")" 2>err &&
	! grep -q "$(printf "\302\233")" err && test_grep "^gzsafe: e\\\\xc2\\\\x9bf.gz: No such file" err
'

test_expect_success 'usage errors are 2 (could not tell) wherever -t stands' '
	test_expect_code 2 gzsafe --bogus -t good.gz 2>err &&
	test_grep "^gzsafe: --bogus: unknown option or missing argument$" err &&
	test_expect_code 2 gzsafe -t --bogus good.gz &&
	test_expect_code 2 gzsafe -p 0 -t good.gz &&
	test_expect_code 2 gzsafe -t --digest good.gz 2>err &&
	test_grep "^gzsafe: -t checks files: compression options do not go with it$" err &&
	test_expect_code 2 gzsafe -t -z good.gz 2>err && test_grep "^gzsafe: -z: unknown option" err
'

test_done

#!/bin/sh
# The conventions every program shares: --help, --version, bad usage,
# man pages that lint clean and agree with usage(), install and uninstall.
. "$(dirname "$0")/lib.sh"

for p in guardlock gzsafe sumcheck; do
	test_expect_success "$p --help prints usage on stdout, nothing on stderr" "
		$p --help >out 2>err &&
		grep -q '^usage: $p ' out &&
		test ! -s err
	"
	test_expect_success "$p -h is --help" "
		$p -h >out 2>err && $p --help >want &&
		test_cmp want out
	"
	test_expect_success "$p --version prints name and version" "
		$p --version >out 2>err &&
		grep -Eq '^$p [0-9]+\.[0-9]+\.[0-9]+\$' out &&
		test ! -s err
	"
	test_expect_success "$p rejects an unknown option: usage on stderr, nothing on stdout" "
		$p --no-such-option >out 2>err
		st=\$? &&
		test \$st -ne 0 && test \$st -ne 1 &&
		test ! -s out &&
		grep -q '^usage: $p ' err
	"
	if ! need mandoc >/dev/null; then
		test_skip "man/$p.1 lint and SYNOPSIS" "no mandoc"
		continue
	fi
	test_expect_success "man/$p.1 is mandoc -Tlint clean" "
		mandoc -Tlint -Wwarning \"$TOP/man/$p.1\"
	"
	# Every option letter in usage() appears in the man page SYNOPSIS and the
	# other way round, so that the two cannot drift apart silently.
	test_expect_success "usage() and the man page SYNOPSIS name the same options" "
		$p --help | grep -oE '(^|[[ |])--?[A-Za-z0-9][-A-Za-z0-9]*' |
			sed 's/^[[ |]//' | sort -u >from-usage &&
		mandoc -Tascii \"$TOP/man/$p.1\" | sed \"s/.$(printf '\b')//g\" |
			sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | tr -s ' \n' ' ' |
			grep -oE '(^|[[ |])--?[A-Za-z0-9][-A-Za-z0-9]*' |
			sed 's/^[[ |]//' | sort -u >from-man &&
		test_cmp from-usage from-man
	"
done

test_expect_success 'make install and uninstall honour DESTDIR and PREFIX' '
	make -s -C "$TOP" install DESTDIR="$SCRATCH/root" PREFIX=/opt/sp >/dev/null &&
	for p in guardlock gzsafe sumcheck; do
		test -x "root/opt/sp/bin/$p" &&
		test -f "root/opt/sp/share/man/man1/$p.1" || exit 1
	done &&
	"root/opt/sp/bin/gzsafe" --version >/dev/null &&
	make -s -C "$TOP" uninstall DESTDIR="$SCRATCH/root" PREFIX=/opt/sp >/dev/null &&
	test -z "$(find root -type f)"
'

test_done

#!/bin/sh
# examples/check-backups.sh without a database: each verdict and its exit
# status, worst first, on archives written by gzsafe and a lock held by
# guardlock. (t5100 runs it against real mariabackup archives.)
. "$(dirname "$0")/lib.sh"

CHECK=$TOP/examples/check-backups.sh
export CHECK

mkdir backups &&
seq 1 1000 | gzsafe --digest backups/a.gz &&
seq 1 2000 | gzsafe --digest backups/b.gz || exit 1
cp backups/a.gz good.gz

# Wait, bounded, until guardlock itself reports an age of a second or more
# for the holder of LOCK: then "more than 0 seconds" is a fact, not a guess.
age_at_least_1s()
{
	_i=0
	until guardlock --status "$1" | grep -q "([1-9][0-9dhms]* ago)$"; do
		_i=$((_i + 1))
		if [ "$_i" -gt 600 ]; then
			echo "age never reached 1s"
			return 1
		fi
		sleep 0.05
	done
}

test_expect_success 'every archive verifies: silent, 0; a lock file not there (after a reboot): no holder, 0' '
	sh "$CHECK" backups >out 2>err &&
	test ! -s out && test ! -s err &&
	sh "$CHECK" backups lk >out 2>err &&
	test ! -s out && test ! -s err &&
	mkfifo lkf && test_expect_code 2 sh "$CHECK" backups lkf >out &&
	test_grep "^lkf: unverifiable: guardlock --status could not tell" out && rm lkf
'

# The holder sits in cat until the test opens and closes the FIFO.
test_expect_success 'a lock held past MAX_SECONDS: 3, the holder named; briefly held: 0' '
	mkfifo hold || exit 1
	guardlock lk sh -c "touch held; exec cat hold >/dev/null" &
	pid=$!
	wait_for held 60 &&
	sh "$CHECK" backups lk >out && test ! -s out &&
	age_at_least_1s lk &&
	test_expect_code 3 sh "$CHECK" backups lk 0 >out &&
	test "$(wc -l <out)" -eq 1 &&
	test_grep "^lk: held for more than 0s: held by pid $pid \\(cat hold\\) on $(hostname) since " out &&
	: >hold && wait $pid &&
	sh "$CHECK" backups lk 0 >out && test ! -s out
'

# A holder that writes no record (shared, flock(1)) is aged by its process.
for kind in "guardlock -s" "flock -s" "flock"; do
	test_expect_success "a $kind holder held past MAX_SECONDS: 3 as well" '
		rm -f held hold && mkfifo hold && chmod 600 lk || exit 1
		'"$kind"' lk sh -c "touch held; exec cat hold >/dev/null" &
		pid=$!
		wait_for held 60 &&
		age_at_least_1s lk &&
		test_expect_code 3 sh "$CHECK" backups lk 0 >out &&
		test "$(wc -l <out)" -eq 1 &&
		test_grep "^lk: held for more than 0s: held (shared )?by pid [0-9]+ \\(.*\\), .*running since .* ago\\)$" out &&
		: >hold && wait $pid &&
		sh "$CHECK" backups lk 0 >out && test ! -s out
	'
done

test_expect_success 'no sidecar: 2, unverifiable' '
	mv backups/b.gz.b2 b.b2 &&
	test_expect_code 2 sh "$CHECK" backups >out &&
	echo "backups/b.gz: unverifiable: no sidecar backups/b.gz.b2" >want &&
	test_cmp want out &&
	mv b.b2 backups/b.gz.b2
'

test_expect_success 'a flipped byte: 1, corrupt, and corrupt outranks unverifiable' '
	printf "\\377" | dd of=backups/a.gz bs=1 seek=100 conv=notrunc 2>/dev/null &&
	! cmp -s backups/a.gz good.gz &&
	test_expect_code 1 sh "$CHECK" backups >out &&
	echo "backups/a.gz: corrupt: does not match its digest" >want &&
	test_cmp want out &&
	mv backups/b.gz.b2 b.b2 &&
	test_expect_code 1 sh "$CHECK" backups >out &&
	test "$(wc -l <out)" -eq 2 &&
	mv b.b2 backups/b.gz.b2 && cp good.gz backups/a.gz &&
	sh "$CHECK" backups
'

test_expect_success 'an empty directory is a missing backup: 2' '
	mkdir empty &&
	test_expect_code 2 sh "$CHECK" empty >out &&
	test_grep "^empty: missing: no backup" out
'

test_expect_success 'bad usage: 2 and a usage line' '
	test_expect_code 2 sh "$CHECK" 2>err &&
	test_grep "^usage: check-backups.sh" err
'

test_done

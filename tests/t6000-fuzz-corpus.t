#!/bin/sh
# Every fuzz harness replays its corpus, regression inputs included, under
# ASan and UBSan: a parser that once crashed stays fixed.
. "$(dirname "$0")/lib.sh"

if ! need clang || ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
	clang -fsanitize=fuzzer -x c -o "$SCRATCH/probe" - 2>/dev/null; then
	skip_all 'no clang with libFuzzer'
fi

for h in "$TESTS"/fuzz/*.c; do
	name=${h##*/}
	name=${name%.c}
	test_expect_success "fuzz corpus replays clean: $name" "
		sh \"$TESTS/fuzz/run.sh\" -r $name
	"
done

test_done

#!/bin/sh
# examples/prometheus: the alert rules load (promtool check rules), every
# alert has unit tests that fire it and keep it silent, and they pass
# (promtool test rules). The metrics the rules read are checked against the
# scripts in t5200, t5300 and t5500.
. "$(dirname "$0")/lib.sh"
need promtool || skip_all 'promtool not installed (Debian: prometheus; tools/deps.sh --test)'

R=$TOP/examples/prometheus
export R

test_expect_success 'promtool check rules: valid, seven alerts' '
	promtool check rules "$R/safepipe.rules.yml" >out 2>&1 || { cat out; exit 1; }
	test_grep "SUCCESS: 7 rules found" out
'

# From the tests file: which alerts some test expects to fire, which some
# test expects to be silent.
test_expect_success 'every alert is tested firing and silent' '
	sed -n "s/^ *- alert: *//p" "$R/safepipe.rules.yml" | sort >alerts &&
	test "$(wc -l <alerts)" -eq 7 &&
	awk "
		/alertname:/ { a = \$0; sub(/.*alertname: */, \"\", a); sub(/[,} ].*/, \"\", a)
			if (\$0 ~ /exp_alerts: \\[\\]/) print a, \"silent\" }
		/^ *exp_alerts: \\[\\]/ { print a, \"silent\" }
		/^ *- exp_labels:/ { print a, \"fires\" }
	" "$R/safepipe.tests.yml" | sort -u >tested &&
	while read -r a; do
		grep -qx "$a fires" tested && grep -qx "$a silent" tested ||
		    { echo "$a: not tested both ways"; exit 1; }
	done <alerts
'

test_expect_success 'promtool test rules: every scenario passes, from any directory' '
	promtool test rules "$R/safepipe.tests.yml" >out 2>&1 || { cat out; exit 1; }
	test_grep "SUCCESS" out
'

# The tests have teeth: a rule that forgets the absent metric, or a limit
# that never trips, fails them.
test_expect_success 'a broken rule fails the tests' '
	cp "$R/safepipe.tests.yml" . &&
	sed "/or absent(safepipe_check_newest_verified_timestamp_seconds)/d" \
	    "$R/safepipe.rules.yml" >safepipe.rules.yml &&
	! cmp -s safepipe.rules.yml "$R/safepipe.rules.yml" &&
	test_must_fail promtool test rules safepipe.tests.yml >out 2>&1 &&
	test_grep "SafepipeBackupTooOld" out
'

test_done

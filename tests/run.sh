#!/bin/sh
# Runs every suite given on the command line (binaries built with the harness,
# or scripts using tests/tap.sh), passes their TAP through, and prints the
# grand total as the last line: "N passed, N failed, N skipped".
# A suite that ends without a totals line counts as one failure.
set -u
pass=0 fail=0 skip=0 suites=$#
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for suite in "$@"; do
	echo "# suite: $suite"
	"$suite" >"$out" 2>&1
	rc=$?
	cat "$out"
	totals=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$out" | tail -n 1)
	if [ -z "$totals" ]; then
		echo "# suite $suite ended (exit $rc) without a totals line: counted as 1 failed"
		fail=$((fail + 1))
		continue
	fi
	set -- $totals
	pass=$((pass + $1)); fail=$((fail + $3))
	[ $# -ge 6 ] && skip=$((skip + $5))
	if [ "$rc" != 0 ] && [ "$3" = 0 ]; then
		echo "# suite $suite exited $rc with no failed test: counted as 1 failed"
		fail=$((fail + 1))
	fi
done
echo "# TOTAL over $suites suites"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]

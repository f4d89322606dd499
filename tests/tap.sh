# Shell suites: source this, call tap_ok/tap_fail/tap_skip, then tap_done.
# Prints TAP 13 lines and the harness's totals line; exit status 1 if failed.
tap_n=0 tap_pass=0 tap_failn=0 tap_skipn=0
echo "TAP version 13"
tap_ok()   { tap_n=$((tap_n + 1)); tap_pass=$((tap_pass + 1)); echo "ok $tap_n $1"; }
tap_fail() { tap_n=$((tap_n + 1)); tap_failn=$((tap_failn + 1)); echo "not ok $tap_n $1 # FAIL${2:+: $2}"; }
tap_skip() { tap_n=$((tap_n + 1)); tap_skipn=$((tap_skipn + 1)); echo "ok $tap_n $1 # SKIP $2"; }
# tap_check NAME COMMAND...: ok if the command succeeds.
tap_check() { n=$1; shift; if "$@"; then tap_ok "$n"; else tap_fail "$n"; fi; }
tap_done() {
	echo "1..$tap_n"
	echo "$tap_pass passed, $tap_failn failed, $tap_skipn skipped"
	[ "$tap_failn" = 0 ]
}

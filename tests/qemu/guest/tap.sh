# SPDX-License-Identifier: MIT
# Guest side of the qemu rig: sourced by /test/run.sh. Results go to the
# console as "GUEST-TAP ok NAME", "GUEST-TAP not ok NAME # why" and
# "GUEST-TAP skip NAME # why"; tests/qemu/rig.sh turns them into the host
# suite's TAP lines (tests/tap.sh). Figures: "GUEST-FIGURE name value unit".
g_ok()   { echo "GUEST-TAP ok $1"; }
g_fail() { echo "GUEST-TAP not ok $1 # ${2:-failed}"; }
g_skip() { echo "GUEST-TAP skip $1 # $2"; }
g_check() { n=$1; shift; if "$@"; then g_ok "$n"; else g_fail "$n"; fi; }
g_figure() { echo "GUEST-FIGURE $1 $2 $3"; }

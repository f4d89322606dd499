# shellcheck shell=bash
# tests/sys_suite.sh: the head of a TAP script suite that drives the whole
# system (mk/system.sh). Sourced from the top of the tree, after the suite
# sets SYS_GUARD; the suite then sets CASES and calls
# `sys_suite_begin PROG... || exit 0`.
. tests/tap.sh
BUILD=${BUILD:-build}
export BUILD
. mk/system.sh

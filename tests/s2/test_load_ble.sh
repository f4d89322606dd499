#!/bin/bash
# iomt-load's BLE transport (userspace/load/ble.c) on the host: the errors
# that need no radio. On a host without Bluetooth, `iomt-load data --ble`
# is a clear usage error (exit 2: "BLE not available on this host: ...");
# a malformed --ble (address, PSM, separators) is refused before any socket
# (exit 2), as are --ble with a mode other than data and --ble with
# --target. The channels themselves (against iomt-gwd over emulated LE
# controllers: every frame acknowledged) run in the qemu guest,
# tests/qemu/test_ble.sh (ble_load_acked).
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh
BUILD=${BUILD:-build}
LOAD=$BUILD/bin/iomt-load
A=00:AA:01:00:00:01 B=00:AA:01:00:00:02
CASES="no_bluetooth_clear_error bad_address_refused bad_psm_refused only_data_mode
not_with_target help_tells_ble"
if [ ! -x "$LOAD" ]; then
	for c in $CASES; do tap_fail "$c" "$LOAD is not built"; done
	tap_done
	exit
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# run NAME ARGS...: iomt-load ARGS under a timeout; rc, stdout+stderr in $tmp/NAME.
run() { n=$1; shift; timeout 20 "$LOAD" "$@" >"$tmp/$n" 2>&1; echo $? >"$tmp/$n.rc"; }
# refused NAME WANT: exit 2, WANT on stderr, nothing on stdout's result line.
refused() {
	rc=$(cat "$tmp/$1.rc")
	[ "$rc" = 2 ] && grep -qF -- "$2" "$tmp/$1" && ! grep -q '^mode=' "$tmp/$1"
}
why() { echo "exit $(cat "$tmp/$1.rc"): $(tr '\n' ' ' <"$tmp/$1")"; }

if [ -d /sys/class/bluetooth ] && [ -n "$(ls /sys/class/bluetooth 2>/dev/null)" ]; then
	tap_skip no_bluetooth_clear_error "this host has Bluetooth adapters (the qemu guest covers the channels)"
else
	run nobt data --ble "$A,$B,128" --sensors 2 --seconds 1
	if refused nobt "iomt-load: BLE not available on this host: "; then tap_ok no_bluetooth_clear_error
	else tap_fail no_bluetooth_clear_error "$(why nobt)"; fi
fi

ok=1 detail=
for spec in "$A,00:AA:01:00:00,128" "$A;$B;128" "$A,$B" "$A,$B," "zz:AA:01:00:00:01,$B,128" \
	"$A,$B:00,128" ",$B,128" "$A,$B,128,1" "$A,$B,0x80x"; do
	run bad data --ble "$spec"
	refused bad "--ble $spec: expected SRC,DST,PSM" || { ok=0 detail="$detail [$spec: $(why bad)]"; }
done
if [ $ok = 1 ]; then tap_ok bad_address_refused; else tap_fail bad_address_refused "$detail"; fi

ok=1 detail=
for psm in 0 256 300 -1 x; do
	run psm data --ble "$A,$B,$psm"
	refused psm "PSM 1..255" || { ok=0 detail="$detail [$psm: $(why psm)]"; }
done
if [ $ok = 1 ]; then tap_ok bad_psm_refused; else tap_fail bad_psm_refused "$detail"; fi

run ap ap --ble "$A,$B,128"
run junk junk --ble "$A,$B,128"
if refused ap "only the data mode runs over BLE" && refused junk "only the data mode runs over BLE"; then
	tap_ok only_data_mode
else
	tap_fail only_data_mode "$(why ap) / $(why junk)"
fi
run both data --ble "$A,$B,128" --target 127.0.0.1:9
if refused both "--ble: not with --target"; then tap_ok not_with_target; else tap_fail not_with_target "$(why both)"; fi
run help --help
if [ "$(cat "$tmp/help.rc")" = 0 ] && grep -q -- '--ble SRC,DST,PSM' "$tmp/help" &&
	grep -q 'no Bluetooth on this host' "$tmp/help"; then
	tap_ok help_tells_ble
else
	tap_fail help_tells_ble "$(why help)"
fi
tap_done

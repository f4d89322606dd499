#!/bin/bash
# SPDX-License-Identifier: MIT
# BLE ingress end to end in a qemu guest (tests/qemu/rig.sh: Debian's stock
# kernel, TCG): BlueZ's btvirt gives BLE_LINKS + 1 LE controllers; iomt-gwd
# (relay role) listens on L2CAP LE CoC PSM 0x80 of the last;
# tests/qemu/ble_client opens BLE_CHANNELS channels at once over BLE_LINKS
# LE links (default 1), sends real REC_PUT batches and malformed frames on
# each, and plays the store; BLE_CLOSERS (default 2) more channels send a
# few frames and close mid-stream. Checked: every valid frame answered on
# its channel and delivered to the store once; each malformed kind dropped
# by the kernel's socket filter or, where the kernel does not run socket
# filters on LE channels (Linux's l2cap_sock_recv_cb, Debian 12's 6.1
# included), by the daemon's same checks (its metrics say which); the
# closing channels counted and freed; every SDU taken from io_uring
# completions (the default path: multishot accept and recv on the ring);
# a clean stop. Then the same traffic twice more, each path checked the
# same way: io_uring with single-shot accept and recv re-armed per
# completion (the fallback for kernels refusing multishot, forced by a test
# hook), and --baseline (BLE on epoll and recv(2)). Skips only when qemu
# cannot run. Prints ble_ingest_frames_per_s (io_uring multishot) and the
# single-shot and epoll rates (qemu TCG: report only), kept in
# $BUILD/qemu/ble_ingest.tsv for make bench. Last, iomt-load data --ble
# (BLE_LOAD_CHANNELS sensors, default 8, at BLE_LOAD_RATE frames/s for
# BLE_LOAD_SECONDS) through the gateway into a real iomt-store: every frame
# acknowledged, errors=0, the gateway's and the store's counts agree; a
# PSM nobody listens on: the refused channel named, exit 1; the gateway
# stopped mid-run: every channel counted closed, the run ends, exit 0.
. tests/tap.sh
. tests/qemu/rig.sh
BUILD=${BUILD:-build}
# One LE link carries all channels: with more (BLE_LINKS=2..), the second
# sensor adapter's connect times out (EINPROGRESS): the gateway's emulated
# controller stops advertising once connected and does not resume.
LINKS=${BLE_LINKS:-1}
CHANNELS=${BLE_CHANNELS:-24}
FRAMES=${BLE_FRAMES:-40}
CLOSERS=${BLE_CLOSERS:-2}
# iomt-load data --ble: LOAD_CHANNELS sensors, LOAD_RATE frames/s for LOAD_SECONDS.
LOAD_CHANNELS=${BLE_LOAD_CHANNELS:-8}
LOAD_RATE=${BLE_LOAD_RATE:-40}
LOAD_SECONDS=${BLE_LOAD_SECONDS:-4}
CASES="ble_adapters gwd_ble_listening ble_frames_relayed ble_channels_accepted
ble_answers_sent ble_filter_pass ble_filter_drop_short ble_filter_drop_version
ble_filter_drop_length ble_filter_drop_type ble_filter_drop_size ble_frames_read
ble_filter_path_consistent ble_channels_closed ble_on_uring ble_uring_all_sdus
ble_channel_closed_midstream guest_filter_suite gwd_stops_cleanly
ble_single_shot_relayed ble_single_shot_path gwd_single_shot_stops_cleanly
ble_epoll_relayed ble_epoll_path gwd_epoll_stops_cleanly
ble_load_acked ble_load_counted ble_load_connect_refused gwd_load_stops_cleanly
ble_load_gateway_closes"

# On the host first (no qemu needed): a bad ble_psm is a configuration
# error; on a kernel without Bluetooth, ble_psm is a clear start-up error.
GWD="$BUILD/bin/iomt-gwd"
if [ -x "$GWD" ]; then
	out=$("$GWD" --config /dev/null --mec=no --relay --ble_psm 300 2>&1)
	rc=$?
	case "$rc:$out" in
	2:*"ble_psm: 300 is out of range 0..255"*) tap_ok ble_psm_out_of_range_refused ;;
	*) tap_fail ble_psm_out_of_range_refused "exit $rc: $out" ;;
	esac
	if [ -d /sys/class/bluetooth ]; then
		tap_skip host_without_bluetooth_is_a_clear_error "the host has Bluetooth (the guest covers it)"
	else
		out=$(timeout 20 "$GWD" --config /dev/null --mec=no --relay --ble_psm 128 \
			--listen 127.0.0.1:0 --metrics_listen 127.0.0.1:0 2>&1)
		rc=$?
		case "$rc:$out" in
		1:*"BLE PSM 0x80: socket (no Bluetooth in this kernel?)"*)
			tap_ok host_without_bluetooth_is_a_clear_error ;;
		*) tap_fail host_without_bluetooth_is_a_clear_error "exit $rc: $out" ;;
		esac
	fi
else
	tap_fail ble_psm_out_of_range_refused "$GWD is not built"
	tap_fail host_without_bluetooth_is_a_clear_error "$GWD is not built"
fi

rig_need_qemu "guest_boot $CASES"
BINS="$BUILD/bin/iomt-gwd $BUILD/tests/qemu/ble_client $BUILD/tests/rt/test_ble
$BUILD/bin/iomt-load $BUILD/bin/iomt-store"
for f in $BINS; do
	[ -x "$f" ] || rig_fail_all "guest_boot $CASES" "$f is not built"
done
BT=
for p in btvirt btmgmt; do
	b=$(command -v $p) || rig_fail_all "guest_boot $CASES" "$p missing (make deps: bluez-test-tools)"
	BT="$BT $b"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'LINKS=%s\nCHANNELS=%s\nFRAMES=%s\nCLOSERS=%s\n' "$LINKS" "$CHANNELS" "$FRAMES" "$CLOSERS" \
	>"$tmp/params"
printf 'LOAD_CHANNELS=%s\nLOAD_RATE=%s\nLOAD_SECONDS=%s\n' "$LOAD_CHANNELS" "$LOAD_RATE" \
	"$LOAD_SECONDS" >>"$tmp/params"
if PRELOAD="ctr sha512_generic jitterentropy_rng drbg" \
	MODS="ecdh_generic hci_vhci algif_skcipher algif_hash ecb cmac" \
	rig_boot tests/qemu/guest/ble.sh $BINS $BT "$tmp/params"; then
	tap_ok guest_boot
else
	tap_fail guest_boot "the guest did not run to the end (console log: $RIG_LOG)"
fi
grep -a '^guest: ' "$RIG_LOG" | sed 's/^/# /'
rig_report "$CASES"
rate=$(rig_figure ble_ingest_frames_per_s)
erate=$(rig_figure ble_ingest_epoll_frames_per_s)
srate=$(rig_figure ble_ingest_single_shot_frames_per_s)
echo "# ble_ingest_frames_per_s ${rate:-none} io_uring multishot, ${srate:-none} single-shot, ${erate:-none} epoll (--baseline) ($LINKS links, $CHANNELS channels x $FRAMES frames; qemu TCG, report only)"
for v in multishot single_shot epoll; do
	echo "# ble_gwd_cpu_ms_per_ksdu_$v $(rig_figure ble_gwd_cpu_ms_per_ksdu_$v), ble_gwd_waits_per_ksdu_$v $(rig_figure ble_gwd_waits_per_ksdu_$v) (iomt-gwd CPU ms and waits per 1000 SDUs; qemu TCG, report only)"
done
echo "# ble_load_frames_per_s $(rig_figure ble_load_frames_per_s) (iomt-load data --ble: $LOAD_CHANNELS channels at $LOAD_RATE frames/s paced; qemu TCG, report only)"
mkdir -p "$RIG_CACHE"
rm -f "$RIG_CACHE/ble_ingest.tsv"
[ -n "$rate" ] && printf 'ble_ingest_frames_per_s\t%s\tframes/s\tqemu_TCG_report_only\t-\t-\n' \
	"$rate" >>"$RIG_CACHE/ble_ingest.tsv"
[ -n "$srate" ] && printf 'ble_ingest_single_shot_frames_per_s\t%s\tframes/s\tqemu_TCG_report_only\t-\t-\n' \
	"$srate" >>"$RIG_CACHE/ble_ingest.tsv"
[ -n "$erate" ] && printf 'ble_ingest_epoll_frames_per_s\t%s\tframes/s\tqemu_TCG_report_only\t-\t-\n' \
	"$erate" >>"$RIG_CACHE/ble_ingest.tsv"
tap_done

#!/bin/sh
# SPDX-License-Identifier: MIT
# BLE ingest rate, report only: tests/qemu/test_ble.sh with more traffic
# (BLE_CHANNELS channels x BLE_FRAMES REC_PUT batches through iomt-gwd's
# relay role in a qemu TCG guest, btvirt's emulated controllers): the
# io_uring path (ble_ingest_frames_per_s) and --baseline's epoll path
# (ble_ingest_epoll_frames_per_s) in the same guest. Emulated CPU and radio:
# no ratio; the rows say so. Prints nothing (a note on stderr) when the
# guest did not run.
BUILD=${BUILD:-build}
cache=${RIG_CACHE:-$BUILD/qemu}
rm -f "$cache/ble_ingest.tsv"
BLE_CHANNELS=${BLE_CHANNELS:-32} BLE_FRAMES=${BLE_FRAMES:-100} BUILD=$BUILD \
	tests/qemu/test_ble.sh >&2 || echo "# bench_ble: the BLE suite failed" >&2
if [ -s "$cache/ble_ingest.tsv" ]; then
	cat "$cache/ble_ingest.tsv"
else
	echo "# bench_ble: no ble_ingest_frames_per_s (qemu did not run)" >&2
fi
exit 0

# SPDX-License-Identifier: MIT
# Guest side of tests/qemu/test_ble.sh (/test/run.sh in the guest): LINKS + 1
# emulated LE controllers (btvirt; no bluetoothd), iomt-gwd
# with the relay role listening on L2CAP LE CoC PSM 128 (0x80) of every
# adapter, and ble_client as the sensors (CHANNELS channels over LINKS LE
# links, one per sensor adapter) and the store. Every
# process runs under timeout.
. ./tap.sh
. ./params
PSM=128
STORE=7410
METRICS=9401

# LINKS sensor adapters (hci0..) and the gateway's (the last one).
GW=$LINKS
./btvirt -l$((LINKS + 1)) >/tmp/btvirt.log 2>&1 &
BTV=$!
for i in $(seq 100); do [ -e /sys/class/bluetooth/hci$GW ] && break; sleep 0.1; done
for h in $(seq 0 $GW); do
	for c in "power off" "le on" "bredr off"; do timeout 10 ./btmgmt --index $h $c >/dev/null; done
done
timeout 10 ./btmgmt --index $GW connectable on >/dev/null
timeout 10 ./btmgmt --index $GW advertising on >/dev/null
for h in $(seq 0 $GW); do timeout 10 ./btmgmt --index $h power on >/dev/null; done
addr() { cut -d' ' -f1 /sys/kernel/debug/bluetooth/hci$1/identity 2>/dev/null; }
SRC=
for h in $(seq 0 $((GW - 1))); do SRC="$SRC${SRC:+,}$(addr $h)"; done
DST=$(addr $GW)
echo "guest: sensors' adapters $SRC, gateway's $DST"
case "$SRC,$DST" in
*,,*|,*|*,) g_fail ble_adapters "btvirt: $(cat /tmp/btvirt.log)" ;;
*) g_ok ble_adapters ;;
esac

timeout 200 ./iomt-gwd --config /dev/null --mec=no --relay --store 127.0.0.1:$STORE \
	--store_reconnect_max 100ms --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:$METRICS \
	--port_file /tmp/gwd.ports --ble_psm $PSM --log_file /tmp/gwd.log &
GWD=$!
for i in $(seq 100); do [ -s /tmp/gwd.ports ] && break; sleep 0.1; done
if [ -s /tmp/gwd.ports ] && grep -q 'BLE: L2CAP LE CoC on PSM 0x80' /tmp/gwd.log; then
	g_ok gwd_ble_listening
else
	g_fail gwd_ble_listening "$(tail -n 3 /tmp/gwd.log | tr '\n' ' ')"
fi

timeout 180 ./ble_client "$SRC" "$DST" $PSM "$CHANNELS" "$FRAMES" $STORE >/tmp/client.out 2>&1
rc=$?
echo "guest: ble_client (rc $rc): $(cat /tmp/client.out)"
if [ $rc = 0 ]; then g_ok ble_frames_relayed; else g_fail ble_frames_relayed "$(tr '\n' ' ' </tmp/client.out)"; fi
rate=$(sed -n 's/.* rate \([0-9]*\)$/\1/p' /tmp/client.out)
[ -n "$rate" ] && g_figure ble_ingest_frames_per_s "$rate" frames/s

# The daemon's view: every channel accepted, every valid frame read, and
# each malformed kind dropped by the kernel's socket filter, once per channel.
sleep 1
wget -q -O /tmp/metrics "http://127.0.0.1:$METRICS/metrics"
grep '^iomt_gwd_ble' /tmp/metrics | sed 's/^/guest: metric /'
metric() { grep -F "$1 " /tmp/metrics | grep -v '^#' | awk '{ print $2 }'; }
expect() {
	v=$(metric "$2")
	if [ "$v" = "$3" ]; then g_ok "$1"; else g_fail "$1" "$2 is '${v}', want $3"; fi
}
VALID=$((CHANNELS * FRAMES))
expect ble_channels_accepted iomt_gwd_ble_channels_total "$CHANNELS"
expect ble_answers_sent iomt_gwd_ble_frames_out_total "$VALID"
expect ble_filter_pass 'iomt_gwd_ble_filter_frames_total{verdict="pass",where="daemon"}' "$VALID"
# Each malformed kind once per channel: dropped by the kernel's socket
# filter, or (a kernel that does not run it on LE channels) by the daemon's
# same checks; never both, never answered (ble_client counts answers).
dropped=0
for v in short version length type size; do
	k=$(metric "iomt_gwd_ble_filter_frames_total{verdict=\"$v\",where=\"kernel\"}")
	d=$(metric "iomt_gwd_ble_filter_frames_total{verdict=\"$v\",where=\"daemon\"}")
	dropped=$((dropped + ${d:-0}))
	if [ "$((${k:-0} + ${d:-0}))" = "$CHANNELS" ]; then g_ok ble_filter_drop_$v
	else g_fail ble_filter_drop_$v "kernel ${k:-none} + daemon ${d:-none}, want $CHANNELS"; fi
done
expect ble_frames_read iomt_gwd_ble_frames_in_total "$((VALID + dropped))"
kin=$(metric iomt_gwd_ble_filter_in_kernel)
kpass=$(metric 'iomt_gwd_ble_filter_frames_total{verdict="pass",where="kernel"}')
if [ "$kin" = 0 ] && [ "$kpass" = 0 ] && [ "$dropped" = $((5 * CHANNELS)) ]; then
	echo "guest: this kernel does not run socket filters on LE CoC channels: the daemon's checks dropped the malformed frames"
	g_ok ble_filter_path_consistent
elif [ "$kin" = 1 ] && [ "$kpass" = "$VALID" ]; then
	echo "guest: the kernel's socket filter judged every SDU"
	g_ok ble_filter_path_consistent
else
	g_fail ble_filter_path_consistent "in_kernel ${kin:-none}, kernel pass ${kpass:-none}, daemon drops $dropped"
fi
expect ble_channels_closed iomt_gwd_ble_channels_open 0
# The filter program and the channel table on this kernel (AF_UNIX SOCK_SEQPACKET runs it).
last=$(timeout 60 ./test_ble 2>&1 | tail -n 1)
case "$last" in
*" passed, 0 failed"*) g_ok guest_filter_suite ;;
*) g_fail guest_filter_suite "test_ble: $last" ;;
esac
echo "guest: test_ble: $last"

kill -TERM $GWD
wait $GWD
rc=$?
if [ $rc = 0 ]; then g_ok gwd_stops_cleanly; else g_fail gwd_stops_cleanly "exit $rc: $(tail -n 3 /tmp/gwd.log | tr '\n' ' ')"; fi
kill $BTV 2>/dev/null
echo "guest: gwd log:"; tail -n 20 /tmp/gwd.log

# SPDX-License-Identifier: MIT
# Guest side of tests/qemu/test_ble.sh (/test/run.sh in the guest): LINKS + 1
# emulated LE controllers (btvirt; no bluetoothd), iomt-gwd
# with the relay role listening on L2CAP LE CoC PSM 128 (0x80) of every
# adapter, and ble_client as the sensors (CHANNELS channels over LINKS LE
# links, one per sensor adapter, and CLOSERS channels that close
# mid-stream) and the store. Three times, the same traffic: on io_uring
# (the default: BLE channels are multishot ops on the ring), with the
# single-shot fallback (test hook), and with --baseline (BLE on epoll and
# recv(2)). Then iomt-load's BLE transport (data mode) against the gateway
# and a real iomt-store. Every process runs under timeout.
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

CLOSERS=${CLOSERS:-2}
CLOSER_FRAMES=3		# ble_client.c
VALID=$((CHANNELS * FRAMES))
CLOSED=$((CLOSERS * CLOSER_FRAMES))	# the closers' frames
# gwd_start LOG [ARGS...]: iomt-gwd in the background (GWD its pid).
gwd_start() {
	log=$1
	shift
	rm -f /tmp/gwd.ports
	IOMT_GWD_TEST_HOOK=${HOOK:-} timeout 200 ./iomt-gwd --config /dev/null --mec=no --relay --store 127.0.0.1:$STORE \
		--store_reconnect_max 100ms --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:$METRICS \
		--port_file /tmp/gwd.ports --ble_psm $PSM --log_file "$log" "$@" &
	GWD=$!
	for i in $(seq 100); do [ -s /tmp/gwd.ports ] && break; sleep 0.1; done
	[ -s /tmp/gwd.ports ] && grep -q 'BLE: L2CAP LE CoC on PSM 0x80' "$log"
}
# client OUT: the sensors and the store; its exit status.
client() {
	TICKS0=$(ticks)
	SLEEPS0=$(sleeps)
	timeout 180 ./ble_client "$SRC" "$DST" $PSM "$CHANNELS" "$FRAMES" $STORE "$CLOSERS" >"$1" 2>&1
	rc=$?
	echo "guest: ble_client (rc $rc): $(cat "$1")"
	return $rc
}
# ticks: iomt-gwd's CPU time so far (user + system, 100 Hz ticks).
ticks() {
	set -- $(cut -d' ' -f14,15 "/proc/$(pidof iomt-gwd)/stat" 2>/dev/null)
	echo $((${1:-0} + ${2:-0}))
}
# sleeps: how often iomt-gwd has waited (voluntary context switches).
sleeps() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$(pidof iomt-gwd)/status"; }
# cpu NAME: its CPU time and its waits since the client started (TICKS0,
# SLEEPS0), per 1000 SDUs of the run: figures (report only: emulated CPU;
# the waits say how well SDUs are batched, less at the mercy of the host).
cpu() {
	g_figure "ble_gwd_waits_per_ksdu_$1" \
		"$(( ($(sleeps) - SLEEPS0) * 1000 / (VALID + CLOSED + 5 * CHANNELS) ))" waits
	g_figure "ble_gwd_cpu_ms_per_ksdu_$1" \
		"$(( ($(ticks) - TICKS0) * 10 * 1000 / (VALID + CLOSED + 5 * CHANNELS) ))" ms
}
metric() { grep -F "$1 " /tmp/metrics | grep -v '^#' | awk '{ print $2 }'; }
expect() {
	v=$(metric "$2")
	if [ "$v" = "$3" ]; then g_ok "$1"; else g_fail "$1" "$2 is '${v}', want $3"; fi
}
metrics() {
	sleep 1
	wget -q -O /tmp/metrics "http://127.0.0.1:$METRICS/metrics"
	grep '^iomt_gwd_ble' /tmp/metrics | sed "s/^/guest: $1 metric /"
}
# The answers: sent, or refused as the closers' channels closed (or failed
# on a channel the sensor had just left); never short of credits.
answers() {
	out=$(metric iomt_gwd_ble_frames_out_total)
	cl=$(metric 'iomt_gwd_ble_send_errors_total{reason="closed"}')
	er=$(metric 'iomt_gwd_ble_send_errors_total{reason="error"}')
	cr=$(metric 'iomt_gwd_ble_send_errors_total{reason="credits"}')
	[ "$((${out:-0} + ${cl:-0} + ${er:-0}))" = "$1" ] && [ "${cr:-x}" = 0 ] &&
		[ "${out:-0}" -ge "$2" ]
}

if gwd_start /tmp/gwd.log; then
	g_ok gwd_ble_listening
else
	g_fail gwd_ble_listening "$(tail -n 3 /tmp/gwd.log | tr '\n' ' ')"
fi
if client /tmp/client.out; then g_ok ble_frames_relayed; else g_fail ble_frames_relayed "$(tr '\n' ' ' </tmp/client.out)"; fi
rate=$(sed -n 's/.* rate \([0-9]*\)$/\1/p' /tmp/client.out)
[ -n "$rate" ] && g_figure ble_ingest_frames_per_s "$rate" frames/s

# The daemon's view: every channel accepted, every valid frame read, and
# each malformed kind dropped by the kernel's socket filter, once per channel.
cpu multishot
metrics uring
expect ble_channels_accepted iomt_gwd_ble_channels_total "$((CHANNELS + CLOSERS))"
if answers $((VALID + CLOSED)) $VALID; then g_ok ble_answers_sent
else g_fail ble_answers_sent "out $out + closed $cl + error $er, want $((VALID + CLOSED)); credits $cr"; fi
expect ble_filter_pass 'iomt_gwd_ble_filter_frames_total{verdict="pass",where="daemon"}' "$((VALID + CLOSED))"
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
expect ble_frames_read iomt_gwd_ble_frames_in_total "$((VALID + CLOSED + dropped))"
kin=$(metric iomt_gwd_ble_filter_in_kernel)
kpass=$(metric 'iomt_gwd_ble_filter_frames_total{verdict="pass",where="kernel"}')
if [ "$kin" = 0 ] && [ "$kpass" = 0 ] && [ "$dropped" = $((5 * CHANNELS)) ]; then
	echo "guest: this kernel does not run socket filters on LE CoC channels: the daemon's checks dropped the malformed frames"
	g_ok ble_filter_path_consistent
elif [ "$kin" = 1 ] && [ "$kpass" = "$((VALID + CLOSED))" ]; then
	echo "guest: the kernel's socket filter judged every SDU"
	g_ok ble_filter_path_consistent
else
	g_fail ble_filter_path_consistent "in_kernel ${kin:-none}, kernel pass ${kpass:-none}, daemon drops $dropped"
fi
expect ble_channels_closed iomt_gwd_ble_channels_open 0
# The ring served it all: every SDU read came out of an io_uring receive
# completion (multishot, or single-shot re-armed where the kernel refuses).
mode=$(metric iomt_gwd_ble_uring)
if grep -q 'BLE: on io_uring (multishot accept, multishot recv' /tmp/gwd.log &&
	{ [ "$mode" = 2 ] || { [ "$mode" = 1 ] && grep -q 'refused a multishot recv' /tmp/gwd.log; }; }; then
	echo "guest: BLE on io_uring, $([ "$mode" = 2 ] && echo multishot || echo single-shot) recv"
	g_ok ble_on_uring
else
	g_fail ble_on_uring "iomt_gwd_ble_uring ${mode:-none}: $(grep 'BLE: on' /tmp/gwd.log)"
fi
expect ble_uring_all_sdus iomt_gwd_ble_uring_sdus_total "$(metric iomt_gwd_ble_frames_in_total)"
# The closers: accepted, their frames read and relayed (ble_client counted
# them at the store), closed mid-stream by the sensor and freed (open 0).
if [ "$CLOSERS" -gt 0 ] && [ "$(metric iomt_gwd_ble_channels_total)" = $((CHANNELS + CLOSERS)) ] &&
	[ "$(metric iomt_gwd_ble_channels_open)" = 0 ] && grep -q " closers $CLOSERS .* store $((VALID + CLOSED)) " /tmp/client.out; then
	g_ok ble_channel_closed_midstream
else
	g_fail ble_channel_closed_midstream "closers $CLOSERS: $(cat /tmp/client.out)"
fi
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
echo "guest: gwd log:"; tail -n 20 /tmp/gwd.log

# variant NAME LOG 'LOG LINE' GAUGE RING_SDUS [gwd args]: the same traffic
# through another path: relayed, the path's log line and gauge, where the
# SDUs came from (RING_SDUS: "all" or 0), the malformed dropped, the
# channels closed, the answers accounted; a clean stop.
variant() {
	name=$1 log=$2 line=$3 gauge=$4 ring=$5
	shift 5
	gwd_start "$log" "$@" && client "/tmp/client-$name.out"
	rc=$?
	if [ $rc = 0 ]; then g_ok "ble_${name}_relayed"
	else g_fail "ble_${name}_relayed" "$(tail -n 3 "$log" | tr '\n' ' ') $(cat "/tmp/client-$name.out")"; fi
	rate=$(sed -n 's/.* rate \([0-9]*\)$/\1/p' "/tmp/client-$name.out")
	[ -n "$rate" ] && g_figure "ble_ingest_${name}_frames_per_s" "$rate" frames/s
	cpu "$name"
	metrics "$name"
	dropped=0 ddropped=0	# by the kernel or the daemon; by the daemon
	for v in short version length type size; do
		k=$(metric "iomt_gwd_ble_filter_frames_total{verdict=\"$v\",where=\"kernel\"}")
		d=$(metric "iomt_gwd_ble_filter_frames_total{verdict=\"$v\",where=\"daemon\"}")
		dropped=$((dropped + ${k:-0} + ${d:-0}))
		ddropped=$((ddropped + ${d:-0}))
	done
	in=$(metric iomt_gwd_ble_frames_in_total)
	[ "$ring" = all ] && ring=$in
	if grep -q "$line" "$log" && [ "$(metric iomt_gwd_ble_uring)" = "$gauge" ] &&
		[ "$(metric iomt_gwd_ble_uring_sdus_total)" = "$ring" ] &&
		[ "$dropped" = $((5 * CHANNELS)) ] && [ "$in" = $((VALID + CLOSED + ddropped)) ] &&
		[ "$(metric iomt_gwd_ble_channels_total)" = $((CHANNELS + CLOSERS)) ] &&
		[ "$(metric iomt_gwd_ble_channels_open)" = 0 ] && answers $((VALID + CLOSED)) $VALID; then
		g_ok "ble_${name}_path"
	else
		g_fail "ble_${name}_path" "$(grep 'BLE: on' "$log"); uring $(metric iomt_gwd_ble_uring), ring SDUs $(metric iomt_gwd_ble_uring_sdus_total), in $in, dropped $dropped, channels $(metric iomt_gwd_ble_channels_total)/$(metric iomt_gwd_ble_channels_open) open"
	fi
	kill -TERM $GWD
	wait $GWD
	rc=$?
	if [ $rc = 0 ]; then g_ok "gwd_${name}_stops_cleanly"
	else g_fail "gwd_${name}_stops_cleanly" "exit $rc: $(tail -n 3 "$log" | tr '\n' ' ')"; fi
}

# The single-shot fallback (a kernel refusing multishot), forced by the
# test hook: accepts and receives re-armed after each completion.
HOOK=ble_single_shot
variant single_shot /tmp/gwd-single.log \
	'BLE: on io_uring (single-shot accept, single-shot recv' 1 all
HOOK=
# --baseline: BLE on the epoll set and recv(2), as before io_uring took it.
variant epoll /tmp/gwd-base.log 'BLE: on epoll' 0 0 --baseline

# iomt-load over BLE (userspace/load/ble.c): LOAD_CHANNELS simulated sensors,
# one L2CAP LE CoC channel each from the first sensor adapter, REC_PUT
# batches of LOAD_RECORDS records paced at LOAD_RATE for LOAD_SECONDS,
# through the relay role into a real iomt-store: every frame sent answered
# REC_ACK OK on its channel (ok = sent, no error, timeout, refusal, closed
# channel), and the gateway's and the store's counts agree with it.
LOAD_RECORDS=4
timeout 150 ./iomt-store serve --config /dev/null --db /tmp/store.db \
	--listen 127.0.0.1:$STORE --metrics_listen 127.0.0.1:9410 --log_file /tmp/store.log &
STP=$!
for i in $(seq 100); do wget -q -O /dev/null http://127.0.0.1:9410/metrics && break; sleep 0.1; done
gwd_start /tmp/gwd-load.log
for i in $(seq 100); do
	wget -q -O /tmp/metrics "http://127.0.0.1:$METRICS/metrics"
	[ "$(metric iomt_gwd_store_link_up)" = 1 ] && break
	sleep 0.1
done
timeout 120 ./iomt-load data --ble "${SRC%%,*},$DST,$PSM" --sensors "$LOAD_CHANNELS" \
	--rate "$LOAD_RATE" --seconds "$LOAD_SECONDS" --records $LOAD_RECORDS --timeout 10 \
	--quiet >/tmp/load.out 2>/tmp/load.err
rc=$?
echo "guest: iomt-load (rc $rc): $(cat /tmp/load.out) $(tail -n 3 /tmp/load.err | tr '\n' ' ')"
lf() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" /tmp/load.out; }
ok=$(lf ok) sent=$(lf sent)
if [ $rc = 0 ] && [ "$(lf transport)" = ble ] && [ "$(lf sensors)" = "$LOAD_CHANNELS" ] &&
	[ -n "$ok" ] && [ "$ok" = "$sent" ] && [ "$ok" -ge $((LOAD_RATE * LOAD_SECONDS * 3 / 4)) ] &&
	[ "$(lf errors)" = 0 ] && [ "$(lf timeouts)" = 0 ] && [ "$(lf refused)" = 0 ] &&
	[ "$(lf closed)" = 0 ] && [ "$(lf send_errors)" = 0 ] && [ -n "$(lf p99_us)" ]; then
	g_ok ble_load_acked
else
	g_fail ble_load_acked "rc $rc: $(cat /tmp/load.out) $(tail -n 3 /tmp/load.err | tr '\n' ' ')"
fi
[ -n "$(lf rate)" ] && g_figure ble_load_frames_per_s "$(lf rate | cut -d. -f1)" frames/s
metrics load
wget -q -O /tmp/store.metrics http://127.0.0.1:9410/metrics
srec=$(awk '$1 ~ /^iomt_store_records_total/ && $1 ~ /stored/ { s += $2 } END { print s + 0 }' /tmp/store.metrics)
echo "guest: load: store records $srec"
if [ "$(metric iomt_gwd_ble_channels_total)" = "$LOAD_CHANNELS" ] &&
	[ "$(metric iomt_gwd_ble_frames_in_total)" = "$sent" ] &&
	[ "$(metric 'iomt_gwd_rec_acks_total{status="ok"}')" = "$ok" ] &&
	[ "$(metric iomt_gwd_ble_channels_open)" = 0 ] && [ "$srec" = $((ok * LOAD_RECORDS)) ]; then
	g_ok ble_load_counted
else
	g_fail ble_load_counted "channels $(metric iomt_gwd_ble_channels_total)/$(metric iomt_gwd_ble_channels_open) open, frames in $(metric iomt_gwd_ble_frames_in_total), acks ok $(metric 'iomt_gwd_rec_acks_total{status="ok"}'), store records $srec; want $LOAD_CHANNELS, $sent, $ok, $((ok * LOAD_RECORDS))"
fi
# A PSM nobody listens on: the channel is refused, named, exit 1 (set-up).
timeout 60 ./iomt-load data --ble "${SRC%%,*},$DST,$((PSM + 1))" --sensors 2 --seconds 1 \
	--quiet >/tmp/load-refused.out 2>&1
rc=$?
echo "guest: iomt-load on PSM $((PSM + 1)) (rc $rc): $(tr '\n' ' ' </tmp/load-refused.out)"
if [ $rc = 1 ] && grep -q "BLE channel 0 from .* PSM 0x81: connect: " /tmp/load-refused.out &&
	! grep -q '^mode=' /tmp/load-refused.out; then
	g_ok ble_load_connect_refused
else
	g_fail ble_load_connect_refused "rc $rc: $(tr '\n' ' ' </tmp/load-refused.out)"
fi
# The gateway stops (SIGTERM) in the middle of a run: every sensor's channel
# is closed by the peer (closed= all of them), the run still ends at its
# time with its result line, exit 0; every exchange accounted for.
timeout 60 ./iomt-load data --ble "${SRC%%,*},$DST,$PSM" --sensors "$LOAD_CHANNELS" \
	--rate "$LOAD_RATE" --seconds 6 --records $LOAD_RECORDS --timeout 10 \
	--quiet >/tmp/load-closed.out 2>/tmp/load-closed.err &
LDP=$!
sleep 3
kill -TERM $GWD
wait $GWD
rc=$?
if [ $rc = 0 ]; then g_ok gwd_load_stops_cleanly
else g_fail gwd_load_stops_cleanly "exit $rc: $(tail -n 3 /tmp/gwd-load.log | tr '\n' ' ')"; fi
wait $LDP
rc=$?
echo "guest: iomt-load, gateway stopped (rc $rc): $(cat /tmp/load-closed.out) $(tail -n 2 /tmp/load-closed.err | tr '\n' ' ')"
cf() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" /tmp/load-closed.out; }
if [ $rc = 0 ] && [ "$(cf closed)" = "$LOAD_CHANNELS" ] && [ "$(cf ok)" -ge "$LOAD_RATE" ] &&
	[ $(($(cf ok) + $(cf errors) + $(cf timeouts) + $(cf refused))) = "$(cf sent)" ] &&
	grep -q "ble: sensor [0-9]*: closed by the peer" /tmp/load-closed.err; then
	g_ok ble_load_gateway_closes
else
	g_fail ble_load_gateway_closes "rc $rc: $(cat /tmp/load-closed.out) $(tail -n 2 /tmp/load-closed.err | tr '\n' ' ')"
fi
kill -TERM $STP 2>/dev/null
wait $STP
kill $BTV 2>/dev/null

#!/bin/bash
# iomt-load (userspace/load/) against the real daemons on loopback: a short
# run of each mode, its reported counts checked against the daemons' own
# metrics.
#   junk   every datagram sent is dropped by iomt-gwd and counted by reason
#   data   REC_PUT streams through the relay role into iomt-store: every
#          "ok" is a batch the relay acknowledged OK and the store holds
#   ap     tickets from iomt-kdc, then AP exchanges with the gateway role:
#          "ok" = the gateway's established count
#   flood  well-sized AP_REQs of random content: each one refused by the
#          gateway role (bad MAC), none established
#   agree  seed-002 agreements with the MEC role (a TTP, a pool, an
#          analysis's devices): "ok" = the gateway's M4s; a second run from
#          the rotated identities (--prov-out) agrees again; iomtctl
#          sessions/stats agree with the gateway's metrics
#   usage  bad options exit 2, --help exits 0
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-400}
. tests/sys_suite.sh
LOAD=$SYS_BIN/iomt-load

CASES="junk data ap flood agree agree_again ctl_sessions usage"
sys_suite_begin "$LOAD" || exit 0
D=$SYS_DIR
check() { local _case=$1; shift; if "$@"; then tap_ok "$_case"; else tap_fail "$_case" "${DETAIL:-}"; fi; DETAIL=; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p;s/^$2=\([^ ]*\).*/\1/p" "$1" | head -n 1; }
# msum HOST:PORT NAME: the sum of every sample of a metric family.
msum() { sys_metrics "$1" | awk -v n="$2" 'index($1, n) == 1 && substr($1, length(n) + 1, 1) ~ /^[{]?$/ { s += $2 } END { print s + 0 }'; }
NSENS=${IOMT_LOAD_TEST_SENSORS:-300}

# ---- the world: a KDC (10 sensor principals, the gateway), a store, a
# gateway with the gateway and relay roles ----
setup() {
	sys_kdc_init kdc || return 1
	for i in $(seq 0 9); do sys_kdc_register kdc "s$i" sensor pat-a || return 1; done
	sys_kdc_register kdc gw-a gateway pat-a && sys_kdc_start kdc &&
		sys_store_start store &&
		sys_gwd_gateway_start gw "$D/kdc/keys/gw-a.key" --set relay=yes \
			--store "${SYS_ADDR[store.addr]}" --set replay_capacity=1000000
}
if ! setup; then
	sys_suite_abort "set-up failed (see above)"
fi
GW=${SYS_ADDR[gw.udp]} GM=${SYS_ADDR[gw.metrics]}
sys_wait_metric "$GM" iomt_gwd_store_link_up 1 10

# ---- junk ----
d0=$(msum "$GM" iomt_gwd_dropped_total); r0=$(msum "$GM" iomt_gwd_rec_dropped_total)
"$LOAD" junk --target "$GW" --sensors 50 --rate 400 --seconds 1 >"$D/junk.out" 2>"$D/junk.err"; rc=$?
sent=$(field "$D/junk.out" sent); serr=$(field "$D/junk.out" send_errors)
sleep 0.3
d1=$(msum "$GM" iomt_gwd_dropped_total); r1=$(msum "$GM" iomt_gwd_rec_dropped_total)
kd=$(sys_metric "$GM" iomt_gwd_udp_kernel_drops_total)
DETAIL="rc=$rc sent=$sent send_errors=$serr dropped=$((d1 - d0)) rec_dropped=$((r1 - r0)) kernel=$kd out: $(cat "$D/junk.out") err: $(tail -n 2 "$D/junk.err")"
check junk eval '[ $rc = 0 ] && [ "$sent" -ge 300 ] && [ "$serr" = 0 ] &&
	[ $((d1 - d0 + r1 - r0 + ${kd:-0})) = "$sent" ] && grep -q "iomt-load: junk 1s" "$D/junk.err"'

# ---- data ----
"$LOAD" data --target "$GW" --sensors "$NSENS" --rate 300 --seconds 2 --records 4 \
	>"$D/data.out" 2>"$D/data.err"; rc=$?
ok=$(field "$D/data.out" ok); err=$(field "$D/data.out" errors); to=$(field "$D/data.out" timeouts)
ref=$(field "$D/data.out" refused); rate=$(field "$D/data.out" rate)
gok=$(sys_metric "$GM" 'iomt_gwd_rec_acks_total{status="ok"}')
srec=$(sys_metrics "${SYS_ADDR[store.metrics]}" | awk '$1 ~ /^iomt_store_records_total/ && $1 ~ /stored/ { s += $2 } END { print s + 0 }')
DETAIL="rc=$rc ok=$ok errors=$err timeouts=$to refused=$ref rate=$rate gwd_ok=$gok store_records=$srec $(tail -n 2 "$D/data.err")"
check data eval '[ $rc = 0 ] && [ "$ok" -ge 500 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
	[ "$gok" = "$ok" ] && [ "$srec" = $((ok * 4)) ] &&
	[ -n "$(field "$D/data.out" p99_us)" ]'
echo "# data: $(cat "$D/data.out")"

# ---- ap ----
e0=$(sys_metric "$GM" 'iomt_gwd_ap_requests_total{result="established"}')
"$LOAD" ap --target "$GW" --kdc "${SYS_ADDR[kdc.addr]}" --keydir "$D/kdc/keys" --prefix s \
	--clients 10 --service gw-a --sensors "$NSENS" --rate 300 --seconds 2 \
	>"$D/ap.out" 2>"$D/ap.err"; rc=$?
ok=$(field "$D/ap.out" ok); err=$(field "$D/ap.out" errors); to=$(field "$D/ap.out" timeouts)
sok=$(field "$D/ap.out" setup_ok)
e1=$(sys_metric "$GM" 'iomt_gwd_ap_requests_total{result="established"}')
DETAIL="rc=$rc ok=$ok errors=$err timeouts=$to setup_ok=$sok established=$((e1 - ${e0:-0})) $(tail -n 2 "$D/ap.err")"
echo "# ap: $(cat "$D/ap.out")"
check ap eval '[ $rc = 0 ] && [ "$ok" -ge 500 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
	[ "$sok" = $((2 * NSENS)) ] && [ $((e1 - ${e0:-0})) = "$ok" ]'

# ---- flood ----
b0=$(msum "$GM" iomt_gwd_ap_requests_total); e0=$e1
"$LOAD" --flood --target "$GW" --sensors 20 --rate 300 --seconds 1 >"$D/flood.out" 2>"$D/flood.err"; rc=$?
sent=$(field "$D/flood.out" sent)
sleep 0.3
b1=$(msum "$GM" iomt_gwd_ap_requests_total)
e1=$(sys_metric "$GM" 'iomt_gwd_ap_requests_total{result="established"}')
DETAIL="rc=$rc sent=$sent ap_requests=$((b1 - b0)) established=$((e1 - e0)) out: $(cat "$D/flood.out") err: $(tail -n 2 "$D/flood.err")"
check flood eval '[ $rc = 0 ] && [ "$sent" -ge 200 ] && [ $((b1 - b0)) = "$sent" ] && [ "$e1" = "$e0" ]'

# ---- agree: the seed-002 world ----
NDEV=192	# three analyses of 64 devices (create-analysis takes at most 64)
mec_world() {
	sys_ttp_init ttp && sys_user ttp alice patient hospital=H1 && sys_user ttp mecop mec &&
		pool=$(sys_mec_register ttp mec-1 256 mecop) && sys_ttp_start ttp &&
		for a in 1 2 3; do sys_analysis ttp alice 64 "$D/a$a" || return 1; done &&
		cat "$D/a1/devices.prov" "$D/a2/devices.prov" "$D/a3/devices.prov" >"$D/devs" &&
		chmod 600 "$D/devs" &&
		sys_gwd_provision mec "$pool" &&
		sys_gwd_start mec ttp --control-socket "$D/mec/ctl.sock"
}
if mec_world; then
	MM=${SYS_ADDR[mec.metrics]}
	"$LOAD" agree --target "${SYS_ADDR[mec.udp]}" --prov "$D/devs" \
		--prov-out "$D/a1/devices.2" --sensors "$NDEV" --rate 200 --seconds 2 \
		>"$D/agree.out" 2>"$D/agree.err"; rc=$?
	ok=$(field "$D/agree.out" ok); err=$(field "$D/agree.out" errors)
	to=$(field "$D/agree.out" timeouts); ref=$(field "$D/agree.out" refused)
	m4=$(sys_metric "$MM" iomt_gwd_m4_sent_total)
	echo "# agree: $(cat "$D/agree.out")"
	DETAIL="rc=$rc ok=$ok errors=$err timeouts=$to refused=$ref m4=$m4 $(tail -n 2 "$D/agree.err")"
	check agree eval '[ $rc = 0 ] && [ "$ok" -ge 300 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
		[ "$m4" = $((ok + ref * 0)) ] && [ "$(stat -c %a "$D/a1/devices.2")" = 600 ]'
	"$LOAD" agree --target "${SYS_ADDR[mec.udp]}" --prov "$D/a1/devices.2" \
		--sensors "$NDEV" --rate 200 --seconds 1 >"$D/agree2.out" 2>"$D/agree2.err"; rc=$?
	ok2=$(field "$D/agree2.out" ok); err2=$(field "$D/agree2.out" errors)
	m4b=$(sys_metric "$MM" iomt_gwd_m4_sent_total)
	DETAIL="rc=$rc ok=$ok2 errors=$err2 m4=$m4b $(tail -n 2 "$D/agree2.err")"
	check agree_again eval '[ $rc = 0 ] && [ "$ok2" -ge 100 ] && [ "$err2" = 0 ] &&
		[ "$m4b" = $((m4 + ok2)) ]'
	se=$("$SYS_BIN/iomtctl" -s "$D/mec/ctl.sock" sessions)
	gs=$(sys_metric "$MM" iomt_gwd_sessions)
	st=$("$SYS_BIN/iomtctl" -s "$D/mec/ctl.sock" stats | awk '$1 == "iomt_gwd_m4_sent_total" { print $2 }')
	lines=$(echo "$se" | grep -Ec '^session [0-9]+ ida_fp=[0-9a-f]{16} age=[0-9]+s$')
	DETAIL="sessions='$(echo "$se" | head -n 1)' gauge=$gs lines=$lines stats_m4=$st"
	check ctl_sessions eval '[ "$(echo "$se" | head -n 1)" = "sessions: $gs" ] && [ "$gs" = "$m4b" ] &&
		[ "$lines" = $((gs < 1000 ? gs : 1000)) ] && [ "$st" = "$m4b" ] &&
		! echo "$se" | grep -qi "sk\|key"'
else
	for c in agree agree_again ctl_sessions; do tap_fail "$c" "seed-002 set-up failed (see above)"; done
fi

# ---- usage ----
"$LOAD" --help >/dev/null; h=$?
"$LOAD" data >/dev/null 2>&1; u1=$?
"$LOAD" bogus --target 127.0.0.1:1 >/dev/null 2>&1; u2=$?
"$LOAD" data --target 127.0.0.1:1 --rate x >/dev/null 2>&1; u3=$?
"$LOAD" ap --target 127.0.0.1:1 >/dev/null 2>&1; u4=$?
DETAIL="help=$h no-target=$u1 bad-mode=$u2 bad-rate=$u3 ap-without-kdc=$u4"
check usage eval '[ $h = 0 ] && [ $u1 = 2 ] && [ $u2 = 2 ] && [ $u3 = 2 ] && [ $u4 = 1 ]'
tap_done

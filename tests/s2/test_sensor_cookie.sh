#!/bin/bash
# sensors/core under load (PROTOCOL.md §10.6): iomt-sensor against the real
# iomt-ttp and iomt-gwd on loopback (mk/system.sh), the gateway forced into
# its under-load mode (under_load_threshold 0: every plain S2_M1 gets
# COOKIE_REPLY and only a COOKIE_WRAP with a valid cookie goes on; the
# userspace filter, no xdp_interface):
#   a  iomt-sensor run, 8 devices x 3 agreements: every agreement completes
#      through a wrapped M1 (the tool's "cookies" >= agreements, the
#      gateway's COOKIE_REPLY and wrapped-ok counters moved as much), no
#      device out of step with the TTP, the debug log names the rounds
#   b  iomt-sensor stream with --rekey-frames: every agreement (the first and
#      each rekey) completes wrapped, every frame verified at the MEC
# A gateway that never admits the wrapped M1 (the device's bound on cookie
# rounds, the retry budget) is covered by tests/sensor_core/test_core.c.
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-120}
. tests/sys_suite.sh

CASES="a_run_under_load b_stream_under_load"
sys_suite_begin --sqlite iomt-ttp iomt-gwd iomt-sensor iomt-user || exit 0
D=$SYS_DIR

note() { echo "# $*"; }
check() { sys_check "$@"; }
eq() { [ "$1" = "$2" ]; }
ge() { [ "${1:-0}" -ge "$2" ]; }
json() { local v; v=$(sys_json "$1" "$2"); echo "${v:-0}"; }
gm() { local v; v=$(sys_metric "${SYS_ADDR[gwd.metrics]}" "$1"); echo "${v%.*}"; }
replies() { local v; v=$(gm iomt_gwd_cookie_replies_total); echo "${v:-0}"; }
wrapped() { local v; v=$(gm 'iomt_gwd_cookie_wrapped_total{result="ok"}'); echo "${v:-0}"; }

setup_ok=1
{
	sys_ttp_init ttp &&
	sys_user ttp pat patient hospital=H0001 &&
	sys_user ttp mecop mec site=mec-1 &&
	POOL=$(sys_mec_register ttp mec-1 64 mecop) &&
	sys_ttp_start ttp &&
	sys_gwd_provision gwd "$POOL" &&
	sys_gwd_start gwd ttp --mec-key "$D/ttp/users/mecop.key" --mec-store "$D/gwd/mec.db" \
		--set under_load_threshold=0 &&
	sys_analysis ttp pat 8 "$D/an-a" study=cookie-a &&
	sys_sensor_provision "$D/an-a/devices.prov" "$D/a.state" &&
	sys_analysis ttp pat 1 "$D/an-b" study=cookie-b &&
	sys_sensor_provision "$D/an-b/devices.prov" "$D/b.state"
} || setup_ok=0
[ $setup_ok = 1 ] || sys_suite_abort "system set-up failed (see above)"
# The gateway must be in its under-load mode, else nothing here is tested.
i=0
until [ "$(gm iomt_gwd_under_load)" = 1 ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
[ "$(gm iomt_gwd_under_load)" = 1 ] || sys_suite_abort "iomt-gwd not under load (iomt_gwd_under_load $(gm iomt_gwd_under_load))"

# ---- a: iomt-sensor run -----------------------------------------------------
case_a() {
	local r0 w0 r1 w1 rc ok ck n
	r0=$(replies) w0=$(wrapped)
	sys_sensor_run "$D/ra" "$D/a.state" gwd --agreements 3 --concurrency 8 --log-level debug
	rc=$?
	r1=$(replies) w1=$(wrapped)
	ok=$(json "$D/ra.json" agreements_ok) ck=$(json "$D/ra.json" cookies)
	n=$(sys_desync_devices --current ttp "$D/a.state")
	check a_run_under_load eval '[ $rc = 0 ] && [ "$ok" = 24 ] && ge "$ck" 24 &&
		ge $((r1 - r0)) 24 && ge $((w1 - w0)) 24 && [ "$n" = 0 ] &&
		grep -q "COOKIE_REPLY (round 1): M1 again in COOKIE_WRAP" "$D/ra.log"' \
		-- "exit $rc, ok $ok, cookies $ck, gateway replies +$((r1 - r0)), wrapped ok +$((w1 - w0)), $n out of step: $(tail -n 2 "$D/ra.log")"
	note "run: $ok agreements, $ck cookie rounds; gateway: $((r1 - r0)) COOKIE_REPLY, $((w1 - w0)) wrapped ok"
}

# ---- b: iomt-sensor stream ----------------------------------------------------
case_b() {
	local r0 w0 f0 r1 w1 f1 rc ag fr
	r0=$(replies) w0=$(wrapped) f0=$(gm 'iomt_gwd_data_frames_total{result="ok"}')
	sys_guard "$SYS_BIN/iomt-sensor" stream --state "$D/b.state" --mec "${SYS_ADDR[gwd.udp]}" \
		--synthetic af-fast --duration 40s --batch 50 --rekey-frames 3 --rate 0 --json \
		--progress 0 >"$D/sb.json" 2>"$D/sb.log"
	rc=$?
	ag=$(json "$D/sb.json" agreements) fr=$(json "$D/sb.json" frames)
	sys_wait_metric "${SYS_ADDR[gwd.metrics]}" 'iomt_gwd_data_frames_total{result="ok"}' \
		$((${f0:-0} + ${fr:-0})) 5
	r1=$(replies) w1=$(wrapped) f1=$(gm 'iomt_gwd_data_frames_total{result="ok"}')
	check b_stream_under_load eval '[ $rc = 0 ] && ge "$ag" 2 && ge "$fr" 4 &&
		ge $((r1 - r0)) "$ag" && ge $((w1 - w0)) "$ag" && [ $((${f1:-0} - ${f0:-0})) = "$fr" ]' \
		-- "exit $rc, agreements $ag, frames $fr (verified $((${f1:-0} - ${f0:-0}))), gateway replies +$((r1 - r0)), wrapped ok +$((w1 - w0)): $(tail -n 2 "$D/sb.log")"
	note "stream: $fr frames, $ag agreements, each through COOKIE_WRAP"
}

case_a
case_b
tap_done

#!/bin/bash
# Seed 002 phase 4 end to end with the real daemons on loopback (mk/system.sh):
# iomt-ttp, iomt-gwd in the MEC role with phase 4 on ('mec_key', 'mec_store'),
# devices (the device tool of tests/s2/test_mecdata.c) that run a real
# seed-002 agreement through both daemons and then send S2_DATA.
#   a  devices -> MEC: frames verified, samples stored under ID_a (bounded,
#      oldest evicted), AF and ODI results, EMERGENCY verdicts logged; a
#      replayed, a forged and an unknown-session frame are counted and dropped;
#      a device that rekeys mid-run (two agreements) keeps one analysis state
#   b  every stored result carries its window and verifies under the MEC's
#      certified key (ECQV from its certificate and CA.pem)
#   c  SIGTERM, restart on the same store: the results are all still there;
#      a session from before the restart is gone (its next frame: unknown_session);
#      a new device session continues the same analysis state (4 more AF
#      windows for 256 intervals, where a fresh state would give 3)
#   e  a phase-4 transaction that fails (test hook fail_data_store) refuses
#      its frames, counted and logged, and leaves no sample, result or state
#      behind and the replay windows unchanged; no EMERGENCY of it reaches
#      phase 6; the daemon goes on
#   d  the MEC's log and its store (database, WAL) hold no DID, DK or patient
#      subject of any device, hex or raw, nor a patient's name
# Needs the programs (make), the suite binary build/tests/s2/test_mecdata and sqlite3.
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-150}
. tests/sys_suite.sh

CASES="a_data_to_analyses b_signed_results c_restart_keeps_results e_store_failure d_no_identifiers"
TOOL=$SYS_ROOT/$BUILD/tests/s2/test_mecdata
case $BUILD in /*) TOOL=$BUILD/tests/s2/test_mecdata ;; esac

sys_suite_begin --sqlite iomt-ttp iomt-gwd iomt-user "$TOOL" || exit 0
D=$SYS_DIR
G=$D/gwd
DB=$G/mec.db
IDS=$D/ids

note() { echo "# $*"; }
gm() { local v; v=$(sys_metric "${SYS_ADDR[gwd.metrics]}" "$1"); echo "${v:-0}"; }
frames() { gm "iomt_gwd_data_frames_total{result=\"$1\"}"; }
# Replayed and unknown-session frames: the ingress filter drops them before
# phase 4 sees them (userspace/gwd/filter.h); either count is the frame's.
fv() { gm "iomt_gwd_filter_total{verdict=\"$1\"}"; }
dropped() { echo $(( $(frames "$1") + $(fv "$2") )); }
samples() { gm "iomt_gwd_data_samples_total{result=\"$1\"}"; }
sql() { sqlite3 -batch -noheader "$DB" "$1"; }
# dev LINE-FILE LINE OUT [OPTIONS...]: the device tool in the foreground.
dev() {
	local prov=$1 line=$2 out=$3
	shift 3
	IOMT_MECDATA_TOOL=device sys_guard "$TOOL" --mec "${SYS_ADDR[gwd.udp]}" --prov "$prov" \
		--line "$line" --ids "$IDS" "$@" >"$out" 2>&1
}
gwd_up() {
	sys_gwd_start gwd ttp "$@" --log-level debug --mec-key "$D/ttp/users/mecop.key" \
		--mec-store "$DB" --mec-samples-max 1200
}

setup_ok=1
{
	sys_ttp_init ttp &&
	sys_user ttp alicepat patient hospital=H0001 &&
	sys_user ttp bobpat patient hospital=H0001 &&
	sys_user ttp mecop mec site=mec-rome-1 &&
	POOL=$(sys_mec_register ttp mec-rome-1 16 mecop) &&
	sys_ttp_start ttp --log-level debug &&
	sys_gwd_provision gwd "$POOL" &&
	gwd_up &&
	sys_analysis ttp alicepat 6 "$D/a1" "study=p4-a1" &&
	sys_analysis ttp bobpat 1 "$D/b1" "study=p4-b1"
} || setup_ok=0
if [ $setup_ok = 0 ]; then
	sys_suite_abort "system set-up failed (see above)"
fi
note "MEC udp ${SYS_ADDR[gwd.udp]}, store $DB (in $D)"

# ---- a: devices -> MEC -> analyses ----------------------------------------------
case_a() {
	local s ok want r e
	# a1 line 0: 1000 regular RR intervals over two sessions (rekey);
	# line 1: 200 s of SpO2, 97 % then 80 %; line 2: 10 samples of a kind
	# no analysis takes, then the last frame replayed and one forged;
	# b1 line 0: 256 fast irregular RR intervals.
	dev "$D/a1/devices.prov" 0 "$D/d0.out" --kind 1 --count 1000 --agreements 2; s=$?
	dev "$D/a1/devices.prov" 1 "$D/d1.out" --kind 2 --count 200; s=$s$?
	dev "$D/a1/devices.prov" 2 "$D/d2.out" --kind 3 --count 10 --replay --forge; s=$s$?
	dev "$D/b1/devices.prov" 0 "$D/d3.out" --kind 0x81 --count 256; s=$s$?
	# a frame for no session: a 39-byte payload under a made-up handle
	printf '\x01\x40\x00\x27\xde\xad\xbe\xef\xde\xad\xbe\xef\x00\x00\x00\x00\x00\x00\x00\x01%023d' 0 \
		>"/dev/udp/${SYS_ADDR[gwd.udp]%:*}/${SYS_ADDR[gwd.udp]##*:}"
	if [ "$s" != 0000 ]; then
		tap_fail a_data_to_analyses "device tool exit $s: $(cat "$D"/d?.out | tr '\n' ' ')"
		return
	fi
	sys_wait_metric "${SYS_ADDR[gwd.metrics]}" 'iomt_gwd_filter_total{verdict="drop_no_session"}' 1 5
	# frames: 3+3 (two sessions of 500) + 1 + 1 + 2 = 10
	ok=$(frames ok)/$(dropped replayed drop_replay)/$(frames bad)/$(dropped unknown_session drop_no_session)/$(frames size)
	want=10/1/1/1/0
	[ "$ok" = "$want" ] || { tap_fail a_data_to_analyses "frames ok/replayed/bad/unknown/size $ok, want $want"; return; }
	ok=$(samples stored)/$(samples evicted)/$(samples no_analysis)/$(samples refused)
	want=1466/10/10/0
	[ "$ok" = "$want" ] || { tap_fail a_data_to_analyses "samples stored/evicted/no_analysis/refused $ok, want $want"; return; }
	r=$(sql "SELECT count(*) FROM (SELECT id_a, count(*) c FROM samples GROUP BY id_a) WHERE c > 1200")
	[ "$r" = 0 ] || { tap_fail a_data_to_analyses "an ID_a holds more than mec_samples_max samples"; return; }
	r=$(sql "SELECT count(DISTINCT id_a) FROM samples")
	[ "$r" = 2 ] || { tap_fail a_data_to_analyses "samples under $r ID_a, want 2"; return; }
	# AF on a1: windows at 128, 192, ..., 960: 14 NORMAL; ODI on a1: one
	# EMERGENCY (30 s below 85 %); AF on b1: 3 windows, fast and irregular.
	r=$(sql "SELECT analysis || ':' || verdict || ':' || count(*) FROM results GROUP BY analysis, verdict, id_a ORDER BY 1" | tr '\n' ' ')
	note "results (analysis:verdict:count): $r"
	case " $r" in
	*" 1:0:14 "*) ;;
	*) tap_fail a_data_to_analyses "want 14 normal AF results for a1: $r"; return ;;
	esac
	case " $r" in
	*" 2:2:1 "*) ;;
	*) tap_fail a_data_to_analyses "want 1 ODI EMERGENCY: $r"; return ;;
	esac
	case " $r" in
	*" 1:2:3 "*) ;;
	*) tap_fail a_data_to_analyses "want 3 AF EMERGENCY for b1: $r"; return ;;
	esac
	e=$(grep -c 'EMERGENCY: session' "$G/gwd.log")
	[ "$e" = 4 ] || { tap_fail a_data_to_analyses "$e EMERGENCY log lines, want 4"; return; }
	[ "$(gm 'iomt_gwd_results_total{verdict="emergency"}')" = 4 ] ||
		{ tap_fail a_data_to_analyses "results_total{emergency} is not 4"; return; }
	tap_ok a_data_to_analyses
}

# ---- b: signatures -----------------------------------------------------------------
case_b() {
	local out
	out=$(IOMT_MECDATA_TOOL=verify "$TOOL" --db "$DB" --cert "$D/ttp/users/mecop.key" \
		--ca-pub "$D/ttp/ca.pem" 2>&1)
	note "verify: $out"
	case $out in
	"results 18 verified 18") tap_ok b_signed_results ;;
	*) tap_fail b_signed_results "$out (want 18 of 18)" ;;
	esac
}

# ---- c: restart ----------------------------------------------------------------------
case_c() {
	local before after rc st
	# a1 line 5 holds a session across the restart
	rm -f "$D/go"
	IOMT_MECDATA_TOOL=device _sys_spawn d6 "$D/d6.out" "$TOOL" --mec "${SYS_ADDR[gwd.udp]}" \
		--prov "$D/a1/devices.prov" --line 5 --ids "$IDS" --kind 3 --count 3 --then-wait "$D/go"
	sys_wait_metric "${SYS_ADDR[gwd.metrics]}" 'iomt_gwd_data_frames_total{result="ok"}' 11 10 ||
		{ tap_fail c_restart_keeps_results "the holding device's frame did not arrive"; return; }
	before=$(sql "SELECT count(*) || '/' || max(seq) FROM results")
	sys_stop gwd; rc=$?
	[ $rc = 0 ] || { tap_fail c_restart_keeps_results "iomt-gwd exit $rc after SIGTERM"; return; }
	gwd_up --same-ports || { tap_fail c_restart_keeps_results "restart failed"; return; }
	after=$(sql "SELECT count(*) || '/' || max(seq) FROM results")
	[ "$before" = "$after" ] || { tap_fail c_restart_keeps_results "results $before before, $after after"; return; }
	# sessions are RAM only: the held session's next frame names no session
	touch "$D/go"
	sys_wait d6 20; st=$?
	[ $st = 0 ] || { tap_fail c_restart_keeps_results "holding device exit $st: $(cat "$D/d6.out")"; return; }
	sys_wait_metric "${SYS_ADDR[gwd.metrics]}" 'iomt_gwd_filter_total{verdict="drop_no_session"}' 1 5 ||
		{ tap_fail c_restart_keeps_results "a frame of a session from before the restart was not refused"; return; }
	# a1 line 3: 256 more regular intervals, later than line 0's
	dev "$D/a1/devices.prov" 3 "$D/d4.out" --kind 1 --count 256 --t0 1800000; st=$?
	[ $st = 0 ] || { tap_fail c_restart_keeps_results "device exit $st: $(cat "$D/d4.out")"; return; }
	sys_wait_metric "${SYS_ADDR[gwd.metrics]}" 'iomt_gwd_data_frames_total{result="ok"}' 2 5
	after=$(sql "SELECT count(*) FROM results WHERE analysis = 1 AND verdict = 0")
	[ "$after" = 18 ] || { tap_fail c_restart_keeps_results "$after normal AF results, want 14 + 4"; return; }
	out=$(IOMT_MECDATA_TOOL=verify "$TOOL" --db "$DB" --cert "$D/ttp/users/mecop.key" \
		--ca-pub "$D/ttp/ca.pem" 2>&1)
	[ "$out" = "results 22 verified 22" ] || { tap_fail c_restart_keeps_results "verify: $out"; return; }
	tap_ok c_restart_keeps_results
}

# ---- e: a failed store transaction ---------------------------------------------------
case_e() {
	local before after rc st e0
	sys_stop gwd >/dev/null 2>&1
	IOMT_GWD_TEST_HOOK=fail_data_store gwd_up --same-ports ||
		{ tap_fail e_store_failure "restart with the hook failed"; return; }
	before=$(sql "SELECT (SELECT count(*) FROM samples) || '/' || (SELECT count(*) FROM results) || '/' || (SELECT hex(state) FROM an_state WHERE analysis = 2)")
	e0=$(grep -c 'EMERGENCY: session' "$G/gwd.log")
	# a1 line 4: SpO2 past the hour of line 1's window, with a low spell:
	# committed, it would close that window and raise an EMERGENCY
	dev "$D/a1/devices.prov" 4 "$D/d5.out" --kind 2 --count 200 --t0 5000000; st=$?
	[ $st = 0 ] || { tap_fail e_store_failure "device exit $st: $(cat "$D/d5.out")"; return; }
	sys_wait_metric "${SYS_ADDR[gwd.metrics]}" 'iomt_gwd_data_frames_total{result="store_error"}' 1 5
	after=$(sql "SELECT (SELECT count(*) FROM samples) || '/' || (SELECT count(*) FROM results) || '/' || (SELECT hex(state) FROM an_state WHERE analysis = 2)")
	if [ "$(frames store_error)/$(gm iomt_gwd_data_store_errors_total)/$(frames ok)" != 1/1/0 ]; then
		tap_fail e_store_failure "store_error frames/errors/ok: $(frames store_error)/$(gm iomt_gwd_data_store_errors_total)/$(frames ok)"
	elif [ "$before" != "$after" ]; then
		tap_fail e_store_failure "the store changed: ${before:0:40}... -> ${after:0:40}..."
	elif [ "$(grep -c 'EMERGENCY: session' "$G/gwd.log")" != "$e0" ]; then
		tap_fail e_store_failure "an EMERGENCY of a rolled-back batch was logged"
	elif ! grep -q 'phase-4 store: .*1 verified frames (200 samples) refused, replay windows unchanged' "$G/gwd.log"; then
		tap_fail e_store_failure "no error line for the refused frames"
	else
		sys_stop gwd; rc=$?
		if [ $rc = 0 ]; then tap_ok e_store_failure; else tap_fail e_store_failure "exit $rc after SIGTERM"; fi
	fi
	sys_alive gwd && sys_stop gwd >/dev/null 2>&1
	gwd_up --same-ports >/dev/null 2>&1
}

# ---- d: no identifiers at the MEC -------------------------------------------------------
# scan FILE...: "ID-in-FILE" for each identifier of scan.ids found (hex in
# any case, or raw), and "name-in-FILE" for a patient's name. Raw bytes are
# looked for in a one-line hex dump of the file: grep matches within a line,
# and an identifier may contain a newline byte.
scan() {
	local f id
	for f in "$@"; do
		od -An -tx1 -v "$f" | tr -d ' \n' >"$f.hexscan"
	done
	while read -r id; do
		for f in "$@"; do
			if LC_ALL=C grep -qaiF "$id" "$f" || grep -qF "$id" "$f.hexscan"; then
				echo "$id-in-${f##*/}"
			fi
		done
	done <"$D/scan.ids"
	for f in "$@"; do rm -f "$f.hexscan"; done
	for f in "$@"; do
		LC_ALL=C grep -qaE "alicepat|bobpat" "$f" && echo "name-in-${f##*/}"
	done
}
case_d() {
	local f hit n ctl files
	{
		cat "$IDS"
		sed 's/did=\([0-9a-f]*\) dk=\([0-9a-f]*\)/\1\n\2/' "$D/a1/devices.prov" "$D/b1/devices.prov"
		# the patients' certificate subjects (KEYFILE offset 4 + 26)
		for u in alicepat bobpat; do
			od -An -tx1 -j30 -N16 "$D/ttp/users/$u.key" | tr -d ' \n'
			echo
		done
	} | grep -E '^[0-9a-f]{32}$' | sort -u >"$D/scan.ids"
	sys_stop gwd >/dev/null 2>&1
	files="$G/gwd.log $DB"
	for f in "$DB-wal" "$DB-shm"; do [ -f "$f" ] && files="$files $f"; done
	n=$(wc -l <"$D/scan.ids")
	hit=$(scan $files)
	# The scan itself finds what is there: the TTP's database holds the
	# devices' current and previous DIDs and DKs, raw.
	ctl=$(scan "$D"/ttp/ttp.db* | wc -w)
	note "scanned $n identifiers in: $(echo "$files" | sed "s|$D/||g"); control hits in the TTP's files: $ctl"
	if [ "$n" -lt 20 ] || [ "$ctl" -lt 10 ]; then
		tap_fail d_no_identifiers "the scan is not working: $n identifiers, $ctl control hits"
	elif [ -n "$hit" ]; then
		tap_fail d_no_identifiers "found: $(echo $hit)"
	else
		tap_ok d_no_identifiers
	fi
}

case_a
case_b
case_c
case_e
case_d
tap_done

#!/bin/bash
# Seed 002 end to end with the real daemons on loopback (mk/system.sh):
# iomt-ttp with its SQLite store, iomt-gwd in the MEC role, iomt-sensor
# devices, iomt-user for phases 1 and 2.
#   a  phases 1-3 with a few devices; the SK fingerprints of device, MEC and
#      TTP are equal for every agreement; identities rotated and in step
#   b  1000 consecutive agreements (50 devices x 20): no DID ever repeated
#   c  kill -9 of iomt-ttp twice during 1000 agreements, restarted on the
#      same ports and database: every device completes, then agrees once
#      more; no device or MEC slot desynchronised
#   d  the same with kill -9 of iomt-gwd (same UDP port and state file)
#   e  SIGTERM of both daemons during a run: exit 0; restarted, the run
#      completes; SIGTERM at the end: exit 0
# Needs the programs (make) and sqlite3 (mk/debian-packages.txt).
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-150}
. tests/sys_suite.sh

CASES="a_full_flow b_no_did_repeated c_ttp_kill9 d_gwd_kill9 e_sigterm"

# Without the programs (or sqlite3) there is nothing to run: skip, saying why.
sys_suite_begin --sqlite iomt-ttp iomt-gwd iomt-sensor iomt-user || exit 0
D=$SYS_DIR
T0=$(date +%s)

note() { echo "# $*"; }
# check NAME CONDITION-COMMAND... [-- DETAIL]: one TAP line.
check() { sys_check "$@"; }
eq() { [ "$1" = "$2" ]; }
json() { local v; v=$(sys_json "$1.json" "$2"); echo "${v:-0}"; }
ttp_m() { sys_metric "${SYS_ADDR[ttp.metrics]}" "$1"; }
gwd_m() { sys_metric "${SYS_ADDR[gwd.metrics]}" "$1"; }
# Counters that must stay 0 in a run without faults: prints the non-zero ones.
gwd_faults() {
	sys_metrics "${SYS_ADDR[gwd.metrics]}" | awk '
		/^iomt_gwd_(busy_total|dropped_total|agreements_failed_total|ttp_errors_total|udp_send_errors_total|ttp_stream_errors_total)/ && $2 != 0 { printf "%s=%s ", $1, $2 }'
}
ttp_faults() {
	sys_metrics "${SYS_ADDR[ttp.metrics]}" | awk '
		/^iomt_ttp_agreements_total/ && $1 !~ /"ok"/ && $2 != 0 { printf "%s=%s ", $1, $2 }
		/^iomt_ttp_commits_total\{result="failed"\}/ && $2 != 0 { printf "%s=%s ", $1, $2 }'
}
# summary FILE: the sensor's counters, for failure messages.
summary() { echo "ok $(json "$1" agreements_ok) failed $(json "$1" agreements_failed) retries $(json "$1" retries) devices_failed $(json "$1" devices_failed)"; }

# ---- set-up: phase 1 (users, MEC pool), the daemons ---------------------------
setup_ok=1
{
	sys_ttp_init ttp &&
	sys_user ttp alice patient hospital=H0001 &&
	sys_user ttp bob patient hospital=H0001 &&
	sys_user ttp carol doctor hospital=H0001 &&
	sys_user ttp mecop mec site=mec-rome-1 &&
	POOL=$(sys_mec_register ttp mec-rome-1 256 mecop) &&
	sys_ttp_start ttp --log-level debug &&
	sys_gwd_provision gwd "$POOL" &&
	sys_gwd_start gwd ttp --log-level debug
} || setup_ok=0
if [ $setup_ok = 0 ]; then
	sys_suite_abort "system set-up failed (see above)"
fi
note "TTP link ${SYS_ADDR[ttp.link]}, users ${SYS_ADDR[ttp.user]}; MEC udp ${SYS_ADDR[gwd.udp]} (in $D)"

# new_devices NAME PATIENT N: phase 2 for N devices, provisioned into
# $D/NAME.state (devices.prov in $D/NAME/).
new_devices() {
	sys_analysis ttp "$2" "$3" "$D/$1" "study=e2e-$1" &&
	sys_sensor_provision "$D/$1/devices.prov" "$D/$1.state"
}

# ---- a: phases 1-3, fingerprints ---------------------------------------------
case_a() {
	local ok=1 n tot s g t f k
	for k in alice bob carol mecop; do
		sys_guard "$SYS_BIN/iomt-user" show --key "$D/ttp/users/$k.key" --ca-pub "$D/ttp/ca.pem" \
			>/dev/null 2>&1 || ok=0
	done
	check a_phase1_keys_verify_under_ca eq $ok 1 -- "iomt-user show --ca-pub refused a key file"

	new_devices a1 alice 3 && new_devices a2 bob 2 || { tap_fail a_phase2 "create-analysis failed"; return; }
	n=$(cat "$D/a1/devices.prov" "$D/a2/devices.prov" | wc -l)
	check a_phase2_analyses eq "$n/$(cat "$D/a1/analysis.id" "$D/a2/analysis.id" | sort -u | wc -l)" 5/2 \
		-- "devices/distinct analyses = $n/..."

	local g0 t0
	g0=$(sys_lines "$D/gwd/gwd.log") t0=$(sys_lines "$D/ttp/ttp.log")
	# Both analyses at once, 3 agreements per device.
	sys_sensor_start sa1 "$D/ra1" "$D/a1.state" gwd --agreements 3 --log-level debug
	sys_sensor_start sa2 "$D/ra2" "$D/a2.state" gwd --agreements 3 --log-level debug
	sys_wait sa1 60; s=$?
	sys_wait sa2 60; s=$s$?
	tot=$(($(json "$D/ra1" agreements_ok) + $(json "$D/ra2" agreements_ok)))
	check a_phase3_all_agreements eq "$s/$tot" 00/15 -- "exit $s, $tot of 15 agreements: $(summary "$D/ra1"); $(summary "$D/ra2")"

	sys_fp_sensor "$D/ra1.log" | sed 's/^/S a1:/' >"$D/fp.a"
	sys_fp_sensor "$D/ra2.log" | sed 's/^/S a2:/' >>"$D/fp.a"
	tail -n +$((g0 + 1)) "$D/gwd/gwd.log" | sys_fp_gwd | sed 's/^/G /' >>"$D/fp.a"
	tail -n +$((t0 + 1)) "$D/ttp/ttp.log" | sys_fp_ttp | sed 's/^/T /' >>"$D/fp.a"
	# S dev agr fp / G slot session fp / T device mec fp. Each device's
	# fingerprint is found exactly once at the MEC and once at the TTP; the
	# TTP attributes all of one device's agreements to one party and no other
	# device's; the MEC's slot numbers and the TTP's slot rows correspond 1:1.
	f=$(awk '
		$1 == "S" { ns++; if ($4 in s) dup++; s[$4] = $2 }
		$1 == "G" { ng++; g[$4]++; gs[$4] = $2 }
		$1 == "T" { nt++; t[$4]++; td[$4] = $2; tm[$4] = $3 }
		END {
			for (fp in s) {
				if (g[fp] != 1) mg++
				if (t[fp] != 1) mt++
				d = s[fp]
				if ((d in dm) && dm[d] != td[fp]) bad++
				if ((td[fp] in rd) && rd[td[fp]] != d) bad++
				dm[d] = td[fp]; rd[td[fp]] = d
				sl = gs[fp]
				if ((sl in sm) && sm[sl] != tm[fp]) bad++
				if ((tm[fp] in rs) && rs[tm[fp]] != sl) bad++
				sm[sl] = tm[fp]; rs[tm[fp]] = sl
			}
			printf "sensor %d mec %d ttp %d dup %d missing_at_mec %d missing_at_ttp %d inconsistent %d\n",
				ns, ng, nt, dup + 0, mg + 0, mt + 0, bad + 0
		}' "$D/fp.a")
	note "fingerprints: $f"
	# A retried run (an M4 later than the device's timeout) leaves a key at
	# the MEC and the TTP that the device never took: then only the device's
	# keys must all be found.
	k=$(($(json "$D/ra1" retries) + $(json "$D/ra2" retries)))
	[ "$k" = 0 ] || { note "$k retries: extra MEC/TTP keys allowed"; f=$(echo "$f" | sed 's/ mec [0-9]* ttp [0-9]*/ mec 15 ttp 15/'); }
	check a_sk_fingerprints_equal_device_mec_ttp \
		eq "$f" "sensor 15 mec 15 ttp 15 dup 0 missing_at_mec 0 missing_at_ttp 0 inconsistent 0" -- "$f"
	# The same, shown for one agreement.
	k=$(awk '$1 == "S" { print $4; exit }' "$D/fp.a")
	note "sample: $(awk -v k="$k" '
		$4 == k && $1 == "S" { s = "device " $2 " agreement " $3 " sk_fp " k }
		$4 == k && $1 == "G" { g = "MEC slot " $2 " sk_fp " k }
		$4 == k && $1 == "T" { t = "TTP device #" $2 " slot #" $3 " sk_fp " k }
		END { print s "; " g "; " t }' "$D/fp.a")"

	# Every identity rotated, device and TTP in step.
	n=$( { cut -c5-36 "$D/a1/devices.prov" "$D/a2/devices.prov"; sys_sensor_dids "$D/a1.state" | cut -d' ' -f2;
	       sys_sensor_dids "$D/a2.state" | cut -d' ' -f2; } | sort | uniq -d | wc -l)
	check a_every_did_rotated eq "$n" 0 -- "$n devices still hold their provisioned DID"
	n=$(sys_desync_devices --current ttp "$D/a1.state" "$D/a2.state")
	check a_devices_hold_ttp_current_identity eq "$n" 0 -- "$n devices out of step"
	f="$(gwd_faults)$(ttp_faults)"
	check a_no_errors_counted eq "$f" "" -- "$f"
	f=$(grep -hE ' (error|warn) ' "$D/gwd/gwd.log" "$D/ttp/ttp.log" | grep -v 'running as root' | head -n 2)
	check a_no_warnings_logged eq "$f" "" -- "$f"
}

# ---- b: 1000 consecutive agreements, no DID repeated ----------------------------
case_b() {
	local r bad=0 retr=0 okn=0 n
	new_devices b alice 50 || { tap_fail b_no_did_repeated "create-analysis failed"; return; }
	# The DIDs the MEC sees are the ones the devices send in M1: their stored
	# identity at the start of each agreement. One agreement per device per
	# round, the state file read between rounds.
	cut -c5-36 "$D/b/devices.prov" | awk '{ print "0", NR - 1, $1 }' >"$D/b.dids"
	for r in $(seq 1 20); do
		if ! sys_sensor_run "$D/rb" "$D/b.state" gwd --agreements 1 --concurrency 50; then
			bad=$((bad + 1))
			note "round $r: $(summary "$D/rb")"
		fi
		okn=$((okn + $(json "$D/rb" agreements_ok)))
		retr=$((retr + $(json "$D/rb" retries)))
		sys_sensor_dids "$D/b.state" | awk -v r="$r" '{ print r, $1, $2 }' >>"$D/b.dids"
	done
	check b_1000_agreements eq "$bad/$okn" 0/1000 -- "$bad failed rounds, $okn agreements"
	note "retries over the 20 rounds: $retr (a retry resends the same M1 identity; 0 expected on loopback)"
	n=$(cut -d' ' -f3 "$D/b.dids" | sort | uniq -d | wc -l)
	r=$(wc -l <"$D/b.dids")
	check b_no_did_ever_repeated eq "$n/$r" 0/1050 -- "$n DIDs seen twice among $r"
	n=$(sys_desync_devices --current ttp "$D/b.state")
	check b_devices_hold_ttp_current_identity eq "$n" 0 -- "$n devices out of step"
}

# crash_run NAME DAEMON PATIENT: 50 devices x 20 agreements while DAEMON is
# killed with SIGKILL twice and restarted on the same ports and files.
crash_run() {
	local c=$1 victim=$2 p=$3 base k rc n cm
	new_devices "$c" "$p" 50 || { tap_fail "${c}_setup" "create-analysis failed"; return 1; }
	# The counter of the daemon that keeps running tells how far the run is.
	if [ "$victim" = ttp ]; then cm=(gwd iomt_gwd_m4_sent_total); else cm=(ttp 'iomt_ttp_agreements_total{result="ok"}'); fi
	base=$(sys_metric "${SYS_ADDR[${cm[0]}.metrics]}" "${cm[1]}")
	sys_sensor_start "s$c" "$D/r$c" "$D/$c.state" gwd --agreements 20 --concurrency 50 \
		--rate 400 --timeout 300ms --retries 30
	rc=0
	for k in 250 600; do
		if ! sys_wait_metric "${SYS_ADDR[${cm[0]}.metrics]}" "${cm[1]}" $((base + k)) 20; then
			rc=1
			note "the run did not reach $k agreements"
			break
		fi
		sys_kill9 "$victim"
		note "$victim killed (SIGKILL) after $(($(sys_metric "${SYS_ADDR[${cm[0]}.metrics]}" "${cm[1]}") - base)) agreements"
		sleep 0.2
		if [ "$victim" = ttp ]; then
			sys_ttp_start ttp --same-ports --log-level debug || rc=1
		else
			sys_gwd_start gwd ttp --same-ports --log-level debug || rc=1
		fi
	done
	check "${c}_${victim}_restarted_on_same_ports" eq $rc 0 -- "restart failed"
	sys_wait "s$c" 90
	rc=$?
	check "${c}_every_device_completed" eq "$rc/$(json "$D/r$c" agreements_ok)/$(json "$D/r$c" devices_failed)" 0/1000/0 \
		-- "exit $rc: $(summary "$D/r$c")"
	note "retries during the crashes: $(json "$D/r$c" retries), p99 $(json "$D/r$c" p99_ms) ms"
	sys_sensor_run "$D/r$c.after" "$D/$c.state" gwd --agreements 1 --concurrency 50
	rc=$?
	check "${c}_one_more_agreement_per_device" eq "$rc/$(json "$D/r$c.after" agreements_ok)" 0/50 \
		-- "exit $rc: $(summary "$D/r$c.after")"
	n=$(sys_desync_devices --current ttp "$D/$c.state")
	k=$(sys_desync_slots ttp gwd)
	check "${c}_none_desynchronised" eq "$n/$k" 0/0 -- "$n devices, $k MEC slots out of step"
}

case_e() {
	local base rc1 rc2 t n k
	new_devices e bob 50 || { tap_fail e_setup "create-analysis failed"; return; }
	base=$(gwd_m iomt_gwd_m4_sent_total)
	sys_sensor_start se "$D/re" "$D/e.state" gwd --agreements 20 --concurrency 50 \
		--rate 400 --timeout 300ms --retries 30
	sys_wait_metric "${SYS_ADDR[gwd.metrics]}" iomt_gwd_m4_sent_total $((base + 300)) 20 ||
		note "the run did not reach 300 agreements"
	t=$(date +%s%N)
	kill -TERM "$(sys_pid gwd)" "$(sys_pid ttp)"
	sys_wait gwd; rc1=$?
	sys_wait ttp; rc2=$?
	t=$((($(date +%s%N) - t) / 1000000))
	check e_sigterm_under_load_exit_0 eq "$rc1/$rc2" 0/0 -- "iomt-gwd exit $rc1, iomt-ttp exit $rc2"
	note "both daemons stopped ${t} ms after SIGTERM, with agreements in flight"
	sys_ttp_start ttp --same-ports --log-level debug && sys_gwd_start gwd ttp --same-ports --log-level debug
	check e_restarted eq $? 0
	sys_wait se 90
	rc1=$?
	check e_run_completes_after_restart eq "$rc1/$(json "$D/re" agreements_ok)" 0/1000 -- "exit $rc1: $(summary "$D/re")"
	sys_sensor_run "$D/re.after" "$D/e.state" gwd --agreements 1 --concurrency 50
	rc1=$?
	n=$(sys_desync_devices --current ttp "$D/e.state")
	check e_one_more_agreement_none_desynchronised eq "$rc1/$(json "$D/re.after" agreements_ok)/$n" 0/50/0 \
		-- "exit $rc1, $(summary "$D/re.after"), $n devices out of step"
	# Idle: the gateway first, then the TTP.
	sys_stop gwd; rc1=$?
	sys_stop ttp; rc2=$?
	check e_sigterm_idle_exit_0 eq "$rc1/$rc2" 0/0 -- "iomt-gwd exit $rc1, iomt-ttp exit $rc2"
	k=$(sys_desync_slots ttp gwd)
	check e_mec_slots_in_step_after_stop eq "$k" 0 -- "$k MEC slots out of step"
	k=$(grep -hE ' error ' "$D/gwd/gwd.log" "$D/ttp/ttp.log" | head -n 2)
	check e_no_errors_logged eq "$k" "" -- "$k"
}

for c in a b c d e; do
	t=$(date +%s%N)
	case $c in
	a) case_a ;;
	b) case_b ;;
	c) crash_run c ttp alice ;;
	d) crash_run d gwd bob ;;
	e) case_e ;;
	esac
	note "case $c: $((($(date +%s%N) - t) / 1000000)) ms"
done
note "total $(($(date +%s) - T0)) s"
tap_done

#!/bin/bash
# sensors/core on the host (iomt-sensor), power cuts against the real
# daemons on loopback (mk/system.sh): iomt-ttp with its SQLite store and
# iomt-gwd in the MEC role. The POSIX driver's test hook
# IOMT_SENSOR_TEST_WRITE=MODE:N (sensors/posix/store.h) kills the sensor at
# its N-th state write: before it (exit), half-way through it (torn) or
# right after it (after) -- a power loss at every step of an agreement.
#   a  4 devices x 2 agreements, cut at every write 1..8 in each mode; after
#      each cut a new run (one agreement per device) succeeds: no device
#      desynchronised from the TTP, no DID ever comes back, no SK twice
#   b  a state write that fails (fail:1): a clear error, exit 1, that
#      device's session key never used (no "done" line for it), the others
#      go on; the next run succeeds
#   c  a cut while provisioning the state file: no state file is left (all
#      or nothing); provisioning again succeeds and the devices agree
# (The data path's cuts, at every write of a key refresh and of the data
# key's provisioning through the real KDC and PPD, are in tests/data/.)
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-150}
. tests/sys_suite.sh

CASES="a_cut_at_every_write b_failed_write c_cut_while_provisioning"
sys_suite_begin --sqlite iomt-ttp iomt-gwd iomt-sensor iomt-user || exit 0
D=$SYS_DIR

note() { echo "# $*"; }
check() { sys_check "$@"; }
eq() { [ "$1" = "$2" ]; }
json() { local v; v=$(sys_json "$1.json" "$2"); echo "${v:-0}"; }
# cut_run OUT STATE HOOK [OPTIONS]: iomt-sensor run with the hook set.
cut_run() {
	local out=$1 st=$2 hook=$3
	shift 3
	IOMT_SENSOR_TEST_WRITE=$hook sys_guard "$SYS_BIN/iomt-sensor" run --state "$st" \
		--mec "${SYS_ADDR[gwd.udp]}" --json "$@" >"$out.json" 2>"$out.log"
}

setup_ok=1
{
	sys_ttp_init ttp &&
	sys_user ttp alice patient hospital=H0001 &&
	sys_user ttp mecop mec site=mec-rome-1 &&
	POOL=$(sys_mec_register ttp mec-rome-1 64 mecop) &&
	sys_ttp_start ttp &&
	sys_gwd_provision gwd "$POOL" &&
	sys_gwd_start gwd ttp
} || setup_ok=0
if [ $setup_ok = 0 ]; then
	sys_suite_abort "system set-up failed (see above)"
fi

new_devices() {
	sys_analysis ttp alice "$2" "$D/$1" "study=powercut-$1" &&
	sys_sensor_provision "$D/$1/devices.prov" "$D/$1.state"
}

# ---- a: a cut at every write of an agreement, in each mode ----------------------
case_a() {
	local mode k rc bad=0 after=0 n
	new_devices a 4 || { tap_fail a_setup "create-analysis failed"; return; }
	sys_sensor_dids "$D/a.state" >"$D/a.dids"
	: >"$D/a.fp"
	for mode in exit torn after; do
		for k in 1 2 3 4 5 6 7 8; do
			cut_run "$D/ca" "$D/a.state" "$mode:$k" --agreements 2 --concurrency 4 \
				--log-level debug
			rc=$?
			[ $rc = 137 ] || { bad=$((bad + 1)); note "$mode:$k: the sensor exited $rc, not 137"; }
			sys_fp_sensor "$D/ca.log" >>"$D/a.fp"
			sys_sensor_run "$D/ra" "$D/a.state" gwd --agreements 1 --concurrency 4 --log-level debug
			rc=$?
			if [ $rc != 0 ] || [ "$(json "$D/ra" agreements_ok)" != 4 ]; then
				bad=$((bad + 1))
				note "$mode:$k: the next run exited $rc, $(json "$D/ra" agreements_ok) agreements"
			fi
			sys_fp_sensor "$D/ra.log" >>"$D/a.fp"
			n=$(sys_desync_devices --current ttp "$D/a.state")
			[ "$n" = 0 ] || { bad=$((bad + 1)); note "$mode:$k: $n devices out of step"; }
			sys_sensor_dids "$D/a.state" >>"$D/a.dids"
			after=$((after + 1))
		done
	done
	check a_every_cut_then_the_next_agreement_succeeds eq "$bad/$after" 0/24 -- "$bad problems in $after cuts"
	n=$(awk '{ print $2 }' "$D/a.dids" | sort | uniq -d | wc -l)
	check a_no_did_ever_comes_back eq "$n/$(wc -l <"$D/a.dids")" 0/100 -- "$n DIDs seen twice"
	n=$(awk '{ print $3 }' "$D/a.fp" | sort | uniq -d | wc -l)
	k=$(wc -l <"$D/a.fp")
	check a_no_session_key_twice eq "$n" 0 -- "$n of $k SK fingerprints repeated"
	note "$k agreements completed around 24 power cuts"
	[ "$k" -ge 96 ]
	check a_agreements_counted eq $? 0 -- "only $k agreements"
}

# ---- b: a failing state write ------------------------------------------------
case_b() {
	local rc dev
	new_devices b 4 || { tap_fail b_setup "create-analysis failed"; return; }
	cut_run "$D/cb" "$D/b.state" fail:1 --agreements 2 --concurrency 4 --log-level debug
	rc=$?
	dev=$(sed -n 's/.*: device \([0-9]*\): cannot persist the new identity: Input\/output error$/\1/p' "$D/cb.log")
	check b_exit_1_and_a_clear_error eq "$rc/${dev:+named}" 1/named -- "exit $rc; $(tail -n 2 "$D/cb.log")"
	check b_key_discarded_unused eq "$(grep -c "device $dev: session key discarded unused" "$D/cb.log")/$(grep -c "device $dev: agreement [0-9]* done" "$D/cb.log")" 1/0 \
		-- "device $dev: $(grep "device $dev:" "$D/cb.log" | tail -n 2)"
	check b_others_went_on eq "$(json "$D/cb" agreements_ok)/$(json "$D/cb" devices_failed)" 6/1 \
		-- "$(cat "$D/cb.json")"
	grep -q '"error":"state_write"' "$D/cb.json"
	check b_json_names_state_write eq $? 0 -- "$(cat "$D/cb.json")"
	sys_sensor_run "$D/rb" "$D/b.state" gwd --agreements 1 --concurrency 4
	rc=$?
	check b_next_run_succeeds eq "$rc/$(json "$D/rb" agreements_ok)/$(sys_desync_devices --current ttp "$D/b.state")" 0/4/0 \
		-- "exit $rc: $(tail -n 2 "$D/rb.log")"
}

# ---- c: a cut while provisioning ----------------------------------------------
case_c() {
	local rc
	sys_analysis ttp alice 3 "$D/c" study=powercut-c || { tap_fail c_setup "create-analysis failed"; return; }
	IOMT_SENSOR_TEST_WRITE=exit:2 sys_guard "$SYS_BIN/iomt-sensor" provision \
		--prov "$D/c/devices.prov" --state "$D/c.state" >/dev/null 2>&1
	rc=$?
	check c_cut_leaves_no_state_file eq "$rc/$([ -e "$D/c.state" ] && echo present)" 137/ -- "exit $rc"
	sys_sensor_provision "$D/c/devices.prov" "$D/c.state" &&
		sys_sensor_run "$D/rc" "$D/c.state" gwd --agreements 2
	rc=$?
	check c_provision_again_and_agree eq "$rc/$(json "$D/rc" agreements_ok)" 0/6 -- "exit $rc: $(tail -n 2 "$D/rc.log")"
}

case_a
case_b
case_c
tap_done

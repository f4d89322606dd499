#!/bin/bash
# sensors/core on the host (iomt-sensor data), power cuts against the real
# daemons on loopback (mk/system.sh): iomt-kdc, iomt-ppd, iomt-store and
# iomt-gwd relaying. The POSIX driver's test hook IOMT_SENSOR_TEST_WRITE=
# MODE:N (sensors/posix/store.h) kills the sensor at its N-th state write:
# before it (exit), half-way through it (torn) or right after it (after).
#   a  a cut at the data key's write on the first run (KDC ticket, PPD
#      PROVISION): nothing sealed; the next run succeeds (provisioning
#      again, or resuming with the stored key)
#   b  a cut at every write of a run that crosses a seq block and a key
#      refresh (hh:59 to hh+1:01, 500 ms apart): after each, the sensor
#      restarts in the leaf its state is in and succeeds
#   c  the store: no record name came twice (the store counts a name it
#      already holds as a duplicate: none in any run), and the treatment
#      query decrypts every record it holds
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-150}
. tests/sys_suite.sh

CASES="a_cut_at_the_key_write b_cut_at_every_refresh_write c_no_name_twice_all_decrypt"
sys_suite_begin iomt-kdc iomt-ppd iomt-store iomt-gwd iomt-sensor || exit 0
D=$SYS_DIR K=$D/kdc S=$D/store
note() { echo "# $*"; }
check() { local _case=$1; shift; if "$@"; then tap_ok "$_case"; else tap_fail "$_case" "${DETAIL:-}"; fi; DETAIL=; }

setup() {
	sys_kdc_init kdc &&
		sys_kdc_register kdc a-hr sensor pat-a && sys_kdc_register kdc gw-a gateway pat-a &&
		sys_kdc_register kdc ppd-a ppd pat-a && sys_kdc_register kdc store cloud &&
		sys_kdc_start kdc &&
		sys_ppd_init ppd-a kdc ppd-a "allow requester=store purpose=treatment
deny requester=* purpose=*" &&
		mkdir -p "$S" &&
		sys_guard "$SYS_BIN/iomt-store" keygen --out "$S/app.pem" --pub "$S/app.pub.pem" >/dev/null 2>&1 &&
		sys_ppd_trust ppd-a store "$S/app.pub.pem" &&
		sys_store_start store && sys_ppd_start ppd-a &&
		sys_gwd_gateway_start gw-a "$K/keys/gw-a.key" --set relay=yes --store "${SYS_ADDR[store.addr]}"
}
if ! setup; then
	sys_suite_abort "set-up failed (see above)"
fi
DAY=$(( $(date -u +%s) / 86400 * 86400 - 2 * 86400 ))   # two days ago, 00:00 UTC
ST=$D/a-hr.state
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# sensor HOOK N START [more options]: iomt-sensor data, records 500 ms apart.
sensor() {
	local hook=$1 n=$2 start=$3
	shift 3
	IOMT_SENSOR_TEST_WRITE=$hook sys_guard "$SYS_BIN/iomt-sensor" data --state "$ST" \
		--gateway "${SYS_ADDR[gw-a.udp]}" --key "$K/keys/a-hr.key" --kdc "${SYS_ADDR[kdc.addr]}" \
		--ppd "ppd-a=${SYS_ADDR[ppd-a.addr]}" --conf "leaf=60s,arity=24x60,refresh=1h,start=$DAY" \
		--records "$n" --interval 500ms --clock-start "$start" --batch 4 "$@"
}
# The start of the leaf the state is in (the sensor's core reads it); empty without a key.
leaf_start() {
	"$SYS_BIN/iomt-sensor" state --state "$ST" 2>/dev/null |
		sed -n "s/.* leaf=\([0-9]*\) .*/\1/p" | awk -v d="$DAY" '{ print d + $1 * 60 }'
}
: >"$D/all.out"

# ---- a ------------------------------------------------------------------------
bad=
for mode in exit torn after; do
	[ "$mode" = after ] || rm -f "$ST"
	sensor "$mode:1" 4 $((DAY + 3600)) >"$D/a.cut" 2>&1
	rc=$?
	grep -q "records: sealed" "$D/a.cut" && bad="$bad $mode:sealed"
	[ $rc = 137 ] || bad="$bad $mode:exit=$rc"
	sensor "" 4 $((DAY + 3600)) >"$D/a.out" 2>&1 || bad="$bad $mode:rerun=$?"
	grep -q "acked 4 (stored 4, duplicates 0)" "$D/a.out" || bad="$bad $mode:$(tail -n 1 "$D/a.out")"
	cat "$D/a.out" >>"$D/all.out"
done
DETAIL="problems:$bad"
check a_cut_at_the_key_write [ -z "$bad" ]

# ---- b ------------------------------------------------------------------------
bad= i=0
for mode in exit torn after; do
	for k in 1 2 3; do
		i=$((i + 1))
		t=$((DAY + 3600 * (i + 1) + 3540))
		sensor "$mode:$k" 140 "$t" >"$D/b.cut" 2>&1
		rc=$?
		[ $rc = 137 ] || bad="$bad $mode:$k:exit=$rc"
		cat "$D/b.cut" >>"$D/all.out"
		l=$(leaf_start)
		[ -n "$l" ] || { bad="$bad $mode:$k:no-leaf"; continue; }
		sensor "" 20 "$l" >"$D/b.out" 2>&1 || bad="$bad $mode:$k:rerun=$?"
		grep -q "resuming at seq" "$D/b.out" && grep -q "acked 20 (stored 20, duplicates 0)" "$D/b.out" ||
			bad="$bad $mode:$k:$(tail -n 1 "$D/b.out")"
		cat "$D/b.out" >>"$D/all.out"
	done
done
DETAIL="problems:$bad"
check b_cut_at_every_refresh_write [ -z "$bad" ]

# ---- c ------------------------------------------------------------------------
dups=$(grep -c "duplicates [1-9]" "$D/all.out")
n=$(sys_guard "$SYS_BIN/iomt-store" query --db "$S/store.db" 2>/dev/null | grep -cE '^[0-9a-f]{32} ')
sys_guard "$SYS_BIN/iomt-store" decrypt --db "$S/store.db" --kdc "${SYS_ADDR[kdc.addr]}" \
	--key "$K/keys/store.key" --app-key "$S/app.pem" --ppd "ppd-a=${SYS_ADDR[ppd-a.addr]}" \
	--from "$(iso "$DAY")" --to "$(iso $((DAY + 86399)))" --purpose treatment --decrypt-for 1h \
	--out "$D/c.txt" >"$D/c.out" 2>&1
rc=$?
note "the store holds $n records; $(grep -m 1 'records decrypted' "$D/c.out")"
DETAIL="runs with duplicates: $dups; decrypt exit $rc: $(tail -n 2 "$D/c.out" | paste -sd' ')"
check c_no_name_twice_all_decrypt eval '[ "$dups" = 0 ] && [ $rc = 0 ] && [ "$n" -gt 200 ] &&
	grep -q "^$n records decrypted, 0 failed" "$D/c.out"'
tap_done

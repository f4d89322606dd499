#!/bin/bash
# The first paper end to end with the real daemons on loopback
# (mk/system.sh): iomt-kdc, iomt-ppd, iomt-store, iomt-gwd (gateway and
# relay roles) and iomt-sensor data.
#   a  a sensor gets its data key from its PPD over the KDC channel and
#      sends 90 sealed readings through the gateway to the store: all acked,
#      all held, none readable without a key
#   b  the store's decrypt of a treatment query: one signed consent
#      request, approved by the patient's policy, every record decrypted and
#      equal to what the sensor measured
#   c  a research query: refused by the policy, nothing decrypted, the
#      refusal in the evidence log
#   d  the PPD restarted (SIGTERM, then kill -9): nothing lost, the same
#      records decrypt again, the sensor continues with its provisioned key
#   e  another patient's sensor gets no ticket for this PPD or gateway
#   f  the evidence log verifies offline; a copy with one byte changed, or
#      cut short, does not
#   g  every daemon stops with exit 0 on SIGTERM; no key in any log
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-150}
. tests/sys_suite.sh

CASES="a_sensor_to_store b_consent_approved c_consent_refused d_ppd_restart e_other_patient f_evidence_log g_shutdown"
sys_suite_begin iomt-kdc iomt-ppd iomt-store iomt-gwd iomt-sensor iomt-kclient || exit 0
D=$SYS_DIR K=$D/kdc P=$D/ppd-a S=$D/store
note() { echo "# $*"; }
check() { local _case=$1; shift; if "$@"; then tap_ok "$_case"; else tap_fail "$_case" "${DETAIL:-}"; fi; DETAIL=; }

# ---- the world ----------------------------------------------------------------
setup() {
	sys_kdc_init kdc &&
		sys_kdc_register kdc a-hr sensor pat-a && sys_kdc_register kdc gw-a gateway pat-a &&
		sys_kdc_register kdc ppd-a ppd pat-a && sys_kdc_register kdc b-hr sensor pat-b &&
		sys_kdc_register kdc store cloud &&
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
T0=$(( $(date -u +%s) / 86400 * 86400 - 86400 + 6 * 3600 ))   # yesterday 06:00 UTC
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
sensor() {  # sensor STATE KEY N START [more options]: iomt-sensor data
	local st=$1 key=$2 n=$3 start=$4
	shift 4
	sys_guard "$SYS_BIN/iomt-sensor" data --state "$st" --gateway "${SYS_ADDR[gw-a.udp]}" \
		--key "$key" --kdc "${SYS_ADDR[kdc.addr]}" --ppd "ppd-a=${SYS_ADDR[ppd-a.addr]}" \
		--conf leaf=60s,arity=24x60,refresh=1h --records "$n" --interval 60s \
		--clock-start "$start" --batch 16 "$@"
}
decrypt() {  # decrypt PURPOSE FROM TO OUT
	sys_guard "$SYS_BIN/iomt-store" decrypt --db "$S/store.db" --kdc "${SYS_ADDR[kdc.addr]}" \
		--key "$K/keys/store.key" --app-key "$S/app.pem" --ppd "ppd-a=${SYS_ADDR[ppd-a.addr]}" \
		--from "$(iso "$2")" --to "$(iso "$3")" --purpose "$1" --decrypt-for 1h --out "$4"
}
held() { sys_guard "$SYS_BIN/iomt-store" query --db "$S/store.db" 2>/dev/null | grep -cE '^[0-9a-f]{32} '; }

# ---- a ------------------------------------------------------------------------
sensor "$D/a-hr.state" "$K/keys/a-hr.key" 90 "$T0" >"$D/a1.out" 2>&1
rc=$?
note "$(grep -m 1 'records:' "$D/a1.out")"
n=$(held)
plain=$(sqlite3 "$S/store.db" "SELECT count(*) FROM records WHERE instr(CAST(record AS TEXT), 'hr=') > 0" 2>/dev/null)
DETAIL="sensor exit $rc, store holds $n, plaintext hits ${plain:-?}: $(tail -n 1 "$D/a1.out")"
check a_sensor_to_store eval '[ $rc = 0 ] && grep -q "acked 90 (stored 90, duplicates 0)" "$D/a1.out" && [ "$n" = 90 ] && [ "$plain" = 0 ]'

# ---- b ------------------------------------------------------------------------
decrypt treatment "$T0" $((T0 + 5399)) "$D/b.txt" >"$D/b.out" 2>&1
rc=$?
note "$(grep -m 1 'request ' "$D/b.out")"
# What the sensor measured: record i at T0 + 60 i, "t=<ms>" in its text.
want=$(for i in $(seq 0 89); do echo "t=$(((T0 + 60 * i) * 1000))"; done | sort)
got=$(grep -o 't=[0-9]*' "$D/b.txt" 2>/dev/null | sort)
DETAIL="exit $rc: $(tail -n 2 "$D/b.out" | paste -sd' ')"
check b_consent_approved eval '[ $rc = 0 ] && grep -q "90 records decrypted, 0 failed" "$D/b.out" && [ "$want" = "$got" ] && grep -q "released" "$D/b.out"'

# ---- c ------------------------------------------------------------------------
decrypt research "$T0" $((T0 + 5399)) "$D/c.txt" >"$D/c.out" 2>&1
rc=$?
sys_guard "$SYS_BIN/iomt-ppd" log show --log "$P/evidence.log" --pub "$P/evlog.pub" >"$D/c.log" 2>&1
DETAIL="exit $rc: $(tail -n 1 "$D/c.out")"
check c_consent_refused eval '[ $rc = 3 ] && [ ! -e "$D/c.txt" ] && grep -q "reason: policy" "$D/c.out" &&
	grep "decision" "$D/c.log" | grep -q "research"'

# ---- d ------------------------------------------------------------------------
rc1=0; sys_stop ppd-a || rc1=$?
sys_ppd_start ppd-a || rc1=99
sys_kill9 ppd-a
sys_ppd_start ppd-a || rc1=98
decrypt treatment "$T0" $((T0 + 5399)) "$D/d.txt" >"$D/d.out" 2>&1
rc=$?
sensor "$D/a-hr.state" "$K/keys/a-hr.key" 10 $((T0 + 5400)) >"$D/d2.out" 2>&1
rc2=$?
n=$(held)
DETAIL="stop/start $rc1, decrypt $rc ($(tail -n 1 "$D/d.out")), sensor $rc2, held $n"
check d_ppd_restart eval '[ $rc1 = 0 ] && [ $rc = 0 ] && cmp -s "$D/b.txt" "$D/d.txt" && [ $rc2 = 0 ] &&
	! grep -q "provisioned" "$D/d2.out" && [ "$n" = 100 ]'

# ---- e ------------------------------------------------------------------------
out1=$(sys_guard "$SYS_BIN/iomt-kclient" ticket --key "$K/keys/b-hr.key" --kdc "${SYS_ADDR[kdc.addr]}" --target ppd-a 2>&1)
r1=$?
sensor "$D/b-hr.state" "$K/keys/b-hr.key" 5 "$T0" --retries 0 >"$D/e.out" 2>&1
r2=$?
DETAIL="ticket exit $r1 ($out1), sensor exit $r2"
check e_other_patient eval '[ $r1 = 1 ] && printf "%s" "$out1" | grep -qi policy && [ $r2 != 0 ] &&
	grep -qi "same-patient policy" "$D/e.out" && ! grep -q "sealed [1-9]" "$D/e.out" && [ "$(held)" = 100 ]'

# ---- f ------------------------------------------------------------------------
v() { sys_guard "$SYS_BIN/iomt-ppd" log verify --log "$1" --pub "$P/evlog.pub" >"$D/v.out" 2>&1; }
v "$P/evidence.log"; r1=$?
cp "$P/evidence.log" "$D/ev.flip"
sz=$(stat -c %s "$D/ev.flip")
printf 'Z' | dd of="$D/ev.flip" bs=1 seek=$((sz / 3)) conv=notrunc 2>/dev/null
v "$D/ev.flip"; r2=$?
head -c $((sz / 2)) "$P/evidence.log" >"$D/ev.cut"
v "$D/ev.cut"; r3=$?
DETAIL="sound $r1, flipped $r2, cut $r3"
check f_evidence_log eval '[ $r1 = 0 ] && [ $r2 = 1 ] && [ $r3 = 1 ]'

# ---- g ------------------------------------------------------------------------
st=
for n in gw-a ppd-a store kdc; do
	rc=0; sys_stop "$n" || rc=$?
	st="$st$n=$rc "
done
keys=$(grep -lE '"key":|k_master|K_master=|session=[0-9a-f]{32}' "$D"/*/*.log 2>/dev/null)
DETAIL="exit status: $st; logs naming a key: ${keys:-none}"
check g_shutdown eval '[ "$st" = "gw-a=0 ppd-a=0 store=0 kdc=0 " ] && [ -z "$keys" ]'

tap_done

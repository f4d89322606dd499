#!/bin/bash
# Seed 002 phases 4, 5 and 6 together, on loopback with the real daemons
# (mk/system.sh): iomt-gwd in the MEC role with phase 4 ('mec_key',
# 'mec_store') and phases 5 and 6 ('users yes'), a device (the device tool of
# tests/s2/test_mecdata.c) that agrees a key and sends fast irregular RR
# intervals, so the AF analysis raises EMERGENCY results; no test hook.
#   a  each EMERGENCY goes to the TTP (audited), which names the patient and
#      the doctor on duty; both receive every alert once; the off-duty
#      doctor none
#   b  the doctor retrieves the analysis's results, every one signed by the
#      MEC, EMERGENCY verdicts among them
#   c  the patient retrieves its own results
#   d  the MEC's log, store and alerts file (also a copy taken while every
#      alert was pending) hold no patient or doctor identifier: no subject
#      (text or hex), no certificate (raw or hex), no attribute text, no
#      device DID or DK; the same scan of the TTP's files finds each kind
#      (the scan works)
# Users: patpamela (patient), docdorothea (doctor H0001 on duty), docotto
# (doctor H0001 off duty): long names, so a hit is no accident.
# Needs the programs (make) and the suite binary build/tests/s2/test_mecdata.
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-150}
. tests/sys_suite.sh

CASES="a_emergencies_alerted b_doctor_reads_signed_results c_patient_reads_own_results
d_no_identifiers_at_the_mec"
TOOL=$SYS_ROOT/$BUILD/tests/s2/test_mecdata
case $BUILD in /*) TOOL=$BUILD/tests/s2/test_mecdata ;; esac

sys_suite_begin iomt-ttp iomt-gwd iomt-user "$TOOL" || exit 0
D=$SYS_DIR
T=$D/ttp
G=$D/gwd
U="$SYS_BIN/iomt-user"
POLICY="read: role=doctor hospital=H0001; alert: role=doctor hospital=H0001 duty=yes"
note() { echo "# $*"; }
alerts() {
	sys_guard "$U" alerts --mec "$MEC" --key "$T/users/$1.key" --ca-pub "$T/ca.pem" \
		--timeout 5 >"$D/$1.out" 2>"$D/$1.err"
}

setup_ok=1
{
	sys_ttp_init ttp &&
	sys_user ttp patpamela patient hospital=H0001,ward=W7 &&
	sys_user ttp docdorothea doctor hospital=H0001,duty=yes &&
	sys_user ttp docotto doctor hospital=H0001,duty=no &&
	sys_user ttp mecop mec site=mec-1 &&
	POOL=$(sys_mec_register ttp mec-1 16 mecop) &&
	sys_ttp_start ttp --grant-key "$T/ca.key" --log-level debug &&
	sys_gwd_provision gwd "$POOL" &&
	sys_gwd_start gwd ttp --log-level debug --mec-key "$T/users/mecop.key" \
		--mec-store "$G/mec.db" --users --user-listen 127.0.0.1:0 --ca-pub "$T/ca.pem" \
		--alerts-file "$G/alerts" &&
	MEC=$(grep 'users: listening on' "$G/gwd.log" | tail -n 1 | sed 's/.*listening on //') &&
	[ -n "$MEC" ] &&
	sys_analysis ttp patpamela 1 "$D/an" "$POLICY" &&
	IDA=$(cat "$D/an/analysis.id")
} || setup_ok=0
if [ $setup_ok = 0 ]; then
	sys_suite_abort "set-up failed (see above)"
fi

# 256 fast irregular RR intervals: 3 AF windows, each EMERGENCY (test_mecdata_e2e.sh).
IOMT_MECDATA_TOOL=device sys_guard "$TOOL" --mec "${SYS_ADDR[gwd.udp]}" \
	--prov "$D/an/devices.prov" --line 0 --ids "$D/ids" --kind 0x81 --count 256 \
	>"$D/dev.out" 2>&1
dev=$?
i=0
while [ "$(grep -c 'parties to alert' "$G/gwd.log")" -lt 3 ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
# Every alert is pending now: keep a copy of the alerts file for case d.
cp "$G/alerts" "$D/alerts.pending" 2>/dev/null
alerts patpamela
rp=$?
alerts docdorothea
rd=$?
alerts docotto
ro=$?
note "device $dev; $(grep -c 'EMERGENCY: session' "$G/gwd.log") emergencies at the MEC; patient: $(tail -n 1 "$D/patpamela.out"); doctor on duty: $(tail -n 1 "$D/docdorothea.out"); off duty: $(tail -n 1 "$D/docotto.out")"
if [ $dev = 0 ] && [ $rp = 0 ] && [ $rd = 0 ] && [ $ro = 0 ] &&
	[ "$(grep -c '"event":"p6_emergency"' "$T/audit.log")" = 3 ] &&
	[ "$(grep -c '^ALERT.*af verdict 2' "$D/patpamela.out")" = 3 ] &&
	[ "$(grep -c '^ALERT.*af verdict 2' "$D/docdorothea.out")" = 3 ] &&
	[ "$(cat "$D/docotto.out")" = "0 alerts received, 0 new" ]; then
	tap_ok a_emergencies_alerted
else
	tap_fail a_emergencies_alerted "$(cat "$D/dev.out" "$D/patpamela.err" "$D/docdorothea.err" 2>/dev/null | tail -n 3 | tr '\n' ' ')"
fi

request() {
	sys_guard "$U" request --mec "$MEC" --key "$T/users/$1.key" --ca-pub "$T/ca.pem" \
		--ttp-pub "$T/ca.pem" --analysis "$IDA" >"$D/req-$1.out" 2>"$D/req-$1.err"
}
request docdorothea
rc=$?
note "$(head -n 1 "$D/req-docdorothea.out")"
if [ $rc = 0 ] && grep -q '^analysis .*: 3 results from MEC mecop' "$D/req-docdorothea.out" &&
	[ "$(grep -c 'af EMERGENCY.*signature ok' "$D/req-docdorothea.out")" = 3 ]; then
	tap_ok b_doctor_reads_signed_results
else
	tap_fail b_doctor_reads_signed_results "rc $rc: $(tail -n 2 "$D/req-docdorothea.err" "$D/req-docdorothea.out" | tr '\n' ' ')"
fi

request patpamela
rc=$?
if [ $rc = 0 ] && [ "$(grep -c 'af EMERGENCY.*signature ok' "$D/req-patpamela.out")" = 3 ] &&
	grep '"event":"p5_granted"' "$T/audit.log" | grep -q '"user":"patpamela".*"reason":"owner"'; then
	tap_ok c_patient_reads_own_results
else
	tap_fail c_patient_reads_own_results "rc $rc: $(tail -n 2 "$D/req-patpamela.err" "$D/req-patpamela.out" | tr '\n' ' ')"
fi

# ---- d: no identifiers at the MEC ------------------------------------------------
# Every identifier as a grep -F text (kind:text), or as hex (kind:hex),
# matched as text (any case) and as raw bytes, searched in a hex dump of
# each file (grep matches within lines, and an identifier may hold a
# newline byte).
ids() {
	local u
	for u in patpamela docdorothea docotto; do
		echo "name:$u"
		echo "subject:$(od -An -tx1 -v -j30 -N16 "$T/users/$u.key" | tr -d ' \n')"
		echo "cert:$(od -An -tx1 -v -j4 -N125 "$T/users/$u.key" | tr -d ' \n')"
	done
	echo "attr:hospital=H0001,ward=W7"
	echo "attr:hospital=H0001,duty=yes"
	echo "attr:hospital=H0001,duty=no"
	{
		cat "$D/ids" 2>/dev/null
		sed 's/did=\([0-9a-f]*\) dk=\([0-9a-f]*\)/\1\n\2/' "$D/an/devices.prov"
	} | grep -E '^[0-9a-f]{32}$' | sort -u | sed 's/^/device:/'
}
# scan FILE...: one "kind:text-in-FILE" word per identifier found.
scan() {
	local f kind v
	for f in "$@"; do
		[ -f "$f" ] && od -An -tx1 -v "$f" | tr -d ' \n' >"$f.hexscan"
	done
	while IFS=: read -r kind v; do
		for f in "$@"; do
			[ -f "$f" ] || continue
			case $kind in
			name | attr) LC_ALL=C grep -qaF "$v" "$f" && echo "$kind:$v-in-${f##*/}" ;;
			*) { LC_ALL=C grep -qaiF "$v" "$f" || grep -qF "$v" "$f.hexscan"; } &&
				echo "$kind:${v:0:16}-in-${f##*/}" ;;
			esac
		done
	done <"$D/scan.ids"
	for f in "$@"; do rm -f "$f.hexscan"; done
}
ids >"$D/scan.ids"
sys_stop gwd >/dev/null 2>&1
files="$G/gwd.log $G/gwd.out $G/mec.db $G/mec.db-wal $G/mec.db-shm $G/alerts $D/alerts.pending"
hit=$(scan $files)
ctl=$(scan "$T"/ttp.db* "$T/audit.log")
nd=$(grep -c '^device:' "$D/scan.ids")
pend=$(wc -c <"$D/alerts.pending" 2>/dev/null || echo 0)
note "scanned $(wc -l <"$D/scan.ids") identifiers ($nd of devices) in the MEC's log, store, alerts file ($pend bytes while pending); control hits in the TTP's files: $(echo "$ctl" | wc -w)"
ok_ctl=1
for k in name subject cert device; do
	echo "$ctl" | grep -q "^$k:" || { ok_ctl=0; note "control: no $k found in the TTP's files"; }
done
if [ "$nd" -lt 4 ] || [ "$pend" -lt 1000 ] || [ $ok_ctl = 0 ]; then
	tap_fail d_no_identifiers_at_the_mec "the scan is not working: $nd device ids, alerts file $pend bytes, control $ok_ctl"
elif [ -n "$hit" ]; then
	tap_fail d_no_identifiers_at_the_mec "found: $(echo $hit)"
else
	tap_ok d_no_identifiers_at_the_mec
fi
tap_done

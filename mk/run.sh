#!/bin/bash
# `make run`: the seed-002 system on loopback, step by step.
#
#   part 1  one key agreement computed in one process (build/bin/iomt-demo):
#           every message and value of the published scheme
#   part 2  the real system: iomt-ttp (SQLite store), iomt-gwd (MEC role) and
#           IOMT_RUN_DEVICES (300) simulated devices (iomt-sensor) on
#           127.0.0.1: phase 1 registration, phase 2 analyses, then
#           IOMT_RUN_ROUNDS (5) rounds of key agreement by every device
#           (starts paced at IOMT_RUN_RATE, 3000/s; 0 = one burst), a
#           load run (4 agreements per device, 200 in flight), the
#           metrics, the SK fingerprints of one agreement at device, MEC and
#           TTP, and a graceful stop; then (step 9b, mk/run_xdp.sh, as
#           root) traffic through XDP + io_uring: two network namespaces
#           and a veth pair (198.18.2.0/30), iomt-gwd with xdp_interface,
#           agreements and junk from iomt-load, iomtctl status/filter/stats
#           (the userspace fallback when XDP cannot attach).
#   part 3  platform key management (first paper, section III): iomt-kdc,
#           registrations and exported keys, iomt-gwd's gateway role, sensors
#           authenticating (AS -> TGS -> AP) with equal session fingerprints
#           at both ends, the same-patient policy, revocation, key update,
#           the KDC's audit log.
#   part 4  data key management (section IV): iomt-ppd (K_master, policy,
#           evidence log), iomt-store, iomt-gwd relaying, iomt-sensor data:
#           a data key provisioned over the KDC channel, readings sealed at
#           the sensor, stored as ciphertext, a treatment query approved by
#           the patient's policy and decrypted, a research query refused,
#           the evidence log verified and a tampered copy caught.
#   part 5  seed-002 phases 4-6 at the MEC: a TTP with a grant key, iomt-gwd
#           with phase 4 (mec_key, mec_store) and users on, a patient's
#           analysis whose policy lets the doctor on duty read and be
#           alerted; iomt-sensor stream sends synthetic fast AF as S2_DATA,
#           the MEC's AF analysis signs EMERGENCY results, the patient and
#           the doctor on duty receive the alerts (the off-duty doctor none),
#           the doctor requests the results and verifies every signature.
#
# Exit status 0 only if every step succeeded. Everything runs in a temporary
# directory that is removed at the end (IOMT_RUN_KEEP=1 keeps it); every
# process runs under a timeout.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export BUILD
NDEV=${IOMT_RUN_DEVICES:-300}
ROUNDS=${IOMT_RUN_ROUNDS:-5}
RATE=${IOMT_RUN_RATE:-3000}    # new agreements per second (0: all devices in one burst)
LOAD=4                         # agreements per device in the load run
INFLIGHT=200                   # devices in flight then (< what the MEC's UDP socket queues)
PER=60                         # devices per analysis (phase 2 allows 1..64)
SLOTS=512                      # MEC identity pool: > devices in flight at once
SYS_KEEP=${IOMT_RUN_KEEP:-0}
SYS_GUARD=120
. mk/system.sh

failures=()
fail() { failures+=("$*"); printf '    FAILED: %s\n' "$*"; }
step() { printf '\n[%s] %s\n' "$1" "$2"; }
say() { printf '    %s\n' "$*"; }
die() {
	fail "$*"
	printf '\nRESULT: FAILED (%d problem(s))%s\n' "${#failures[@]}" "${SYS_DIR:+; logs kept in $SYS_DIR}"
	SYS_KEEP=1
	exit 1
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# The kernel's count of UDP datagrams dropped because a socket's receive
# buffer was full (system-wide, /proc/net/snmp): M1s lost before iomt-gwd
# could count them.
udp_rcvbuf_errors() {
	awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1; next }
	     $1 == "Udp:" && h { print $c + 0; exit }' /proc/net/snmp 2>/dev/null
}
T_START=$(date +%s%N)

# ---- part 1 -------------------------------------------------------------------
printf '=== Part 1: one 5G MEC key agreement (seed 002), computed in one process ===\n\n'
"$BUILD/bin/iomt-demo" 2>&1 | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || fail "iomt-demo (part 1) failed"

# ---- part 2 -------------------------------------------------------------------
printf '\n=== Part 2: the system on loopback: iomt-ttp, iomt-gwd (MEC) and %d devices ===\n' "$NDEV"
printf '(real daemons and tools from %s/bin, 127.0.0.1 only, ports chosen by the OS)\n' "$BUILD"
sys_init || die "cannot set up (build first: make)"
D=$SYS_DIR
say "working directory $D ($([ "$SYS_KEEP" = 1 ] && echo kept || echo removed at the end))"

step 1 "The TTP: database and CA key"
sys_ttp_init ttp || die "iomt-ttp admin init"
say "iomt-ttp admin init: $D/ttp/ttp.db (SQLite), CA key pair (P-256): ca.key (0600), ca.pem (public, for users)"

step 2 "Phase 1: registering users (iomt-user keygen -> iomt-ttp admin register-user -> iomt-user finish)"
npat=$(((NDEV + PER - 1) / PER))
t=$(date +%s%N)
for i in $(seq 1 "$npat"); do
	sys_user ttp "$(printf 'patient-%02d' "$i")" patient hospital=H0001 || die "registering patient $i"
done
sys_user ttp doctor-01 doctor hospital=H0001 || die "registering the doctor"
sys_user ttp mec-op-1 mec site=rome-1 || die "registering the MEC operator"
say "$npat patients (patient-01..$(printf '%02d' "$npat")), 1 doctor (doctor-01), 1 MEC operator (mec-op-1), in $(ms_since "$t") ms"
say "each: ECQV implicit certificate issued by the TTP, key file checked against ca.pem (d_U*G == Q_U)"
say "$(sys_guard "$SYS_BIN/iomt-user" show --key "$D/ttp/users/patient-01.key" --ca-pub "$D/ttp/ca.pem" 2>&1 | grep -E '^(subject|role|valid)' | tr -s ' ' | paste -sd';' | sed 's/;/; /g')"
POOL=$(sys_mec_register ttp mec-rome-1 "$SLOTS" mec-op-1) || die "registering the MEC pool"
say "MEC 'mec-rome-1': $SLOTS identity slots (iomt-ttp admin register-mec), sealed to mec-op-1's certificate,"
say "opened by the operator (iomt-user unseal), imported by the MEC (iomt-gwd provision):"
sys_gwd_provision gwd "$POOL" || die "iomt-gwd provision"
rm -f "$POOL"
say "  $D/gwd/gwd.state (crash-safe record file; the plaintext pool file deleted)"

step 3 "Starting the daemons"
sys_ttp_start ttp --log-level debug || die "iomt-ttp did not start"
say "iomt-ttp  pid $(sys_pid ttp)  MEC links ${SYS_ADDR[ttp.link]}  phase-2 users ${SYS_ADDR[ttp.user]}  metrics http://${SYS_ADDR[ttp.metrics]}/metrics"
sys_gwd_start gwd ttp --log-level debug || die "iomt-gwd did not start"
say "iomt-gwd  pid $(sys_pid gwd)  devices udp ${SYS_ADDR[gwd.udp]}  metrics http://${SYS_ADDR[gwd.metrics]}/metrics  TTP link up"

step 4 "Phase 2: analyses (iomt-user create-analysis: signed request, answer sealed to the patient)"
t=$(date +%s%N)
left=$NDEV
: >"$D/fleet.prov"
for i in $(seq 1 "$npat"); do
	n=$((left < PER ? left : PER))
	p=$(printf 'patient-%02d' "$i")
	sys_analysis ttp "$p" "$n" "$D/an-$i" "study=rpm-demo; retain=30d" || die "create-analysis for $p"
	say "$p: analysis $(cat "$D/an-$i/analysis.id"), $n devices (DID, DK each)"
	cat "$D/an-$i/devices.prov" >>"$D/fleet.prov"
	left=$((left - n))
done
sys_sensor_provision "$D/fleet.prov" "$D/fleet.state" || die "iomt-sensor provision"
say "$NDEV devices provisioned into one sensor state file (iomt-sensor provision), in $(ms_since "$t") ms"
say "the TTP's register (iomt-ttp admin list; never keys or DIDs):"
sys_guard "$SYS_BIN/iomt-ttp" admin list --db "$D/ttp/ttp.db" 2>/dev/null |
	awk '/^(users|analyses|MECs):/ { sec = $1; print; n = 0; next }
	     sec == "analyses:" && n++ >= 2 { if (n == 3) print "      ..."; next } { print }' |
	sed 's/^/      /'

if [ "$RATE" = 0 ]; then
	step 5 "Phase 3: key agreement, $ROUNDS rounds, all $NDEV devices at once in each round"
else
	step 5 "Phase 3: key agreement, $ROUNDS rounds of one agreement per device ($NDEV devices, starts paced at $RATE/s)"
fi
cut -c5-36 "$D/fleet.prov" >"$D/dids.0"
gl0=$(sys_lines "$D/gwd/gwd.log") tl0=$(sys_lines "$D/ttp/ttp.log")
udp0=$(udp_rcvbuf_errors)
t=$(date +%s%N)
tot_ok=0 tot_fail=0 tot_retry=0 rot_bad=0 p50s=() p99s=() prev=0
# round NAME LABEL OPTIONS...: one iomt-sensor run over the whole fleet.
round() {
	local r=$1 label=$2 j=$D/round-$1 ok bad ret same
	shift 2
	local rc=0
	sys_sensor_run "$j" "$D/fleet.state" gwd --log-level debug "$@" || rc=$?
	ok=$(sys_json "$j.json" agreements_ok) bad=$(sys_json "$j.json" agreements_failed)
	ret=$(sys_json "$j.json" retries)
	tot_ok=$((tot_ok + ${ok:-0})) tot_fail=$((tot_fail + ${bad:-0})) tot_retry=$((tot_retry + ${ret:-0}))
	p50s+=("$(sys_json "$j.json" p50_ms)") p99s+=("$(sys_json "$j.json" p99_ms)")
	sys_sensor_dids "$D/fleet.state" | cut -d' ' -f2 >"$D/dids.$r"
	# Every device's DID must differ from the one it had before this run.
	same=$(paste -d' ' "$D/dids.$prev" "$D/dids.$r" | awk '$1 == $2' | wc -l)
	rot_bad=$((rot_bad + same)) prev=$r
	printf '    %-8s %4s agreements ok, %s failed, %s retries; latency p50 %6.2f ms, p99 %6.2f ms; %4d ms; DIDs changed: %d/%d\n' \
		"$label:" "${ok:-?}" "${bad:-?}" "${ret:-?}" "${p50s[-1]:-0}" "${p99s[-1]:-0}" \
		"$(printf '%.0f' "$(sys_json "$j.json" elapsed_ms)")" "$((NDEV - same))" "$NDEV"
	[ $rc = 0 ] || fail "$label: iomt-sensor exited $rc: $(grep -m 1 -E ' (error|warn) ' "$j.log" | cut -c1-160)"
	return $rc
}
for r in $(seq 1 "$ROUNDS"); do
	round "$r" "round $r" --agreements 1 --concurrency "$NDEV" --rate "$RATE" || break
done
el=$(ms_since "$t")
want=$((NDEV * ROUNDS))
say "total: $tot_ok of $want agreements in $el ms (with process start-up per round)"
lat=$(printf '%s\n' "${p50s[@]}" | sort -g | sed -n '1p;$p' | paste -sd' ')
lat99=$(printf '%s\n' "${p99s[@]}" | sort -g | sed -n '1p;$p' | paste -sd' ')
say "latency per round (device: first M1 to the new identity on disk): p50 ${lat% *}..${lat#* } ms, p99 ${lat99% *}..${lat99#* } ms"
say "then under load: $LOAD agreements per device back to back, $INFLIGHT devices in flight, no pacing:"
if [ ${#failures[@]} = 0 ]; then
	b0=$(sys_metric "${SYS_ADDR[ttp.metrics]}" iomt_ttp_batches_total)
	r0=$(sys_metric "${SYS_ADDR[ttp.metrics]}" iomt_ttp_batch_requests_total)
	round load "load" --agreements "$LOAD" --concurrency "$INFLIGHT"
	b1=$(sys_metric "${SYS_ADDR[ttp.metrics]}" iomt_ttp_batches_total)
	r1=$(sys_metric "${SYS_ADDR[ttp.metrics]}" iomt_ttp_batch_requests_total)
	n=$(sys_json "$D/round-load.json" agreements_ok) el=$(sys_json "$D/round-load.json" elapsed_ms)
	say "$(awk -v n="${n:-0}" -v ms="${el:-1}" 'BEGIN { printf "%.0f", n * 1000 / ms }') agreements/s; the TTP answered them in $((${b1:-0} - ${b0:-0})) batches of $(awk -v a="$((${r1:-0} - ${r0:-0}))" -v b="$((${b1:-0} - ${b0:-0}))" 'BEGIN { printf "%.1f", b ? a / b : 0 }') M2s on average, one group commit each"
else
	say "(skipped: a round failed)"
fi
want=$((want + NDEV * LOAD))
[ "$tot_ok" = "$want" ] && [ "$tot_fail" = 0 ] || fail "$tot_ok of $want agreements completed, $tot_fail failed"

step 6 "Identities rotated"
n=$(cat "$D"/dids.* | sort | uniq -d | wc -l)
all=$(cat "$D"/dids.* | wc -l)
say "every device's DID changed in every round: $([ "$rot_bad" = 0 ] && echo yes || echo "NO ($rot_bad unchanged)")"
[ "$rot_bad" = 0 ] || fail "$rot_bad device DIDs did not change in a round"
say "DIDs seen over the run: $all, all distinct: $([ "$n" = 0 ] && echo yes || echo "NO ($n repeated)")"
[ "$n" = 0 ] || fail "$n DIDs repeated"
n=$(sys_desync_devices --current ttp "$D/fleet.state")
say "devices whose stored identity is the TTP's current one: $((NDEV - n))/$NDEV"
[ "$n" = 0 ] || fail "$n devices out of step with the TTP"
tm() { sys_metric "${SYS_ADDR[ttp.metrics]}" "$1"; }
gm() { sys_metric "${SYS_ADDR[gwd.metrics]}" "$1"; }
b=$(tm iomt_ttp_batches_total) br=$(tm iomt_ttp_batch_requests_total)
cu=$(tm iomt_ttp_commit_microseconds_total) co=$(tm 'iomt_ttp_commits_total{result="ok"}')
say "TTP metrics: agreements ok $(tm 'iomt_ttp_agreements_total{result="ok"}'), batches $b (mean $(awk -v a="$br" -v b="$b" 'BEGIN { printf "%.1f", b ? a / b : 0 }') M2s each),"
say "             group commits $co (mean $(awk -v a="$cu" -v b="$co" 'BEGIN { printf "%.2f", b ? a / b / 1000 : 0 }') ms), parties: $(tm 'iomt_ttp_parties{kind="device"}') devices, $(tm 'iomt_ttp_parties{kind="mec"}') MEC slots"
say "MEC metrics: M1 received $(gm iomt_gwd_m1_received_total), M2 sent $(gm iomt_gwd_m2_sent_total), M3 ok $(gm iomt_gwd_m3_ok_total), M4 sent $(gm iomt_gwd_m4_sent_total), sessions $(gm iomt_gwd_sessions), slots free $(gm 'iomt_gwd_slots{state="free"}')/$SLOTS"
# A device that resends its M1 after 500 ms (a loaded machine) may get two
# M4s, one per copy the MEC could answer; the device takes the first and
# ignores the other (the key checks below still compare every key). So:
# one M4 per agreement, at most one more per retry.
m4=$(gm iomt_gwd_m4_sent_total)
[ "${m4:-0}" -ge "$want" ] && [ "${m4:-0}" -le $((want + tot_retry)) ] ||
	fail "the MEC sent ${m4:-0} M4s, expected $want (at most $((want + tot_retry)) with $tot_retry device retries)"

step 7 "Errors"
errs=$(sys_metrics "${SYS_ADDR[gwd.metrics]}" | awk '
	/^iomt_gwd_(busy_total|dropped_total|agreements_failed_total|ttp_errors_total|udp_send_errors_total|ttp_stream_errors_total)/ && $2 != 0 { printf "%s=%s ", $1, $2 }')
errs=$errs$(sys_metrics "${SYS_ADDR[ttp.metrics]}" | awk '
	/^iomt_ttp_agreements_total/ && $1 !~ /"ok"/ && $2 != 0 { printf "%s=%s ", $1, $2 }
	/^iomt_ttp_(commits_total\{result="failed"\}|link_closed_total\{reason="(error|corrupt)"\})/ && $2 != 0 { printf "%s=%s ", $1, $2 }')
logerr=$(grep -hE ' (error|warn) ' "$D/gwd/gwd.log" "$D/ttp/ttp.log" "$D"/round-*.log 2>/dev/null | grep -vc 'running as root')
say "device side: $tot_fail failed agreements, $tot_retry retries (a device retries after 500 ms without M4)"
udp=$(( $(udp_rcvbuf_errors) - ${udp0:-0} ))
if [ "$udp" -gt 0 ]; then
	say "kernel: $udp UDP datagrams dropped on a full socket receive buffer during the rounds (system-wide"
	say "  RcvbufErrors): M1s of a $NDEV-device burst lost before iomt-gwd read them; those devices retried"
else
	say "kernel: no UDP datagram dropped on a full receive buffer (RcvbufErrors unchanged)"
fi
say "MEC and TTP error counters (BUSY, drops, failures, refusals, failed commits): ${errs:-all 0}"
say "warnings or errors in the logs (besides 'running as root'): $logerr"
if [ "$tot_fail" = 0 ] && [ -z "$errs" ] && [ "$logerr" = 0 ]; then
	say "no errors"
else
	fail "errors: $tot_fail failed agreements; counters: ${errs:-none}; $logerr log lines"
fi

step 8 "One agreement's session key, as device, MEC and TTP see it (debug logs: fingerprints, never keys)"
say "sk_fp = first 8 bytes of KMAC128(SK, \"\", 64, \"iomt/s2/sk-fingerprint\")"
sys_fp_sensor "$D/round-$ROUNDS.log" >"$D/fp.dev"
tail -n +$((gl0 + 1)) "$D/gwd/gwd.log" | sys_fp_gwd >"$D/fp.mec"
tail -n +$((tl0 + 1)) "$D/ttp/ttp.log" | sys_fp_ttp >"$D/fp.ttp"
read -r sd sa sfp < <(sed -n "$(((NDEV + 1) / 2))p" "$D/fp.dev")
read -r gs gh gfp < <(awk -v k="${sfp:-x}" '$3 == k' "$D/fp.mec")
read -r td tmc tfp < <(awk -v k="${sfp:-x}" '$3 == k' "$D/fp.ttp")
say "device  $(printf '%-38s' "device $sd, agreement $sa of round $ROUNDS") sk_fp ${sfp:-?}"
say "MEC     $(printf '%-38s' "slot $gs, session $gh") sk_fp ${gfp:-(none)}"
say "TTP     $(printf '%-38s' "device row #$td, MEC slot row #$tmc") sk_fp ${tfp:-(none)}"
if [ -n "${sfp:-}" ] && [ "$sfp" = "${gfp:-}" ] && [ "$sfp" = "${tfp:-}" ]; then
	say "equal: device, MEC and TTP hold the same SK"
else
	fail "the sample agreement's fingerprints differ"
fi
# All of them: each device fingerprint found once at the MEC and once at the TTP.
n=$(cat "$D"/round-*.log | sys_fp_sensor | awk '{ print $3 }' | sort -u >"$D/fp.all"; wc -l <"$D/fp.all")
m=$(awk '{ print $3 }' "$D/fp.mec" | sort | uniq -u | comm -12 - "$D/fp.all" | wc -l)
k=$(awk '{ print $3 }' "$D/fp.ttp" | sort | uniq -u | comm -12 - "$D/fp.all" | wc -l)
say "all agreements: $n device fingerprints, $m found at the MEC, $k at the TTP (each exactly once)"
[ "$n" = "$want" ] && [ "$m" = "$want" ] && [ "$k" = "$want" ] || fail "fingerprints: $n/$m/$k of $want"

step 9 "Graceful shutdown (SIGTERM)"
t=$(date +%s%N)
sys_stop gwd
rc=$?
say "iomt-gwd: exit $rc after $(ms_since "$t") ms$( [ $rc = 0 ] && echo ' (clean)')"
[ $rc = 0 ] || fail "iomt-gwd exited $rc"
t=$(date +%s%N)
sys_stop ttp
rc=$?
say "iomt-ttp: exit $rc after $(ms_since "$t") ms$( [ $rc = 0 ] && echo ' (clean)')"
[ $rc = 0 ] || fail "iomt-ttp exited $rc"
n=$(sys_desync_slots ttp gwd)
say "MEC slots whose stored identity the TTP holds (current or previous): $((SLOTS - n))/$SLOTS"
[ "$n" = 0 ] || fail "$n MEC slots out of step"
say "TTP audit log: $(sed -n 's/.*"event":"\([a-z_]*\)".*/\1/p' "$D/ttp/audit.log" | sort | uniq -c |
	awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"

step 9b "Traffic through XDP + io_uring, with iomtctl stats (netns + veth, 198.18.2.0/30)"
BUILD=$BUILD bash mk/run_xdp.sh || fail "the XDP ingress step"

# ---- part 3 -------------------------------------------------------------------
printf '\n=== Part 3: platform key management (first paper, section III): KDC, gateway, sensors ===\n'
printf '(iomt-kdc, iomt-gwd in its gateway role, iomt-kclient as sensors and services, 127.0.0.1 only)\n'
kc() { sys_guard "$SYS_BIN/iomt-kclient" "$@" --kdc "${SYS_ADDR[kdc.addr]}"; }
K=$D/kdc

step 10 "The KDC: master key, registrations (iomt-kdc admin)"
sys_kdc_init kdc || die "iomt-kdc admin init"
say "iomt-kdc admin init: $K/kdc.db (SQLite), K_KDC in master.key (0600); device keys are never stored:"
say "K_D = KMAC128(K_KDC, name || salt), recomputed on demand"
for p in alice:patient-a bob:patient-b; do
	n=${p%%:*} pat=${p#*:}
	sys_kdc_register kdc "$n-hr" sensor "$pat" && sys_kdc_register kdc "$n-spo2" sensor "$pat" &&
		sys_kdc_register kdc "gw-$n" gateway "$pat" && sys_kdc_register kdc "ppd-$n" ppd "$pat" ||
		die "registering $n's devices"
done
sys_kdc_register kdc store-1 cloud || die "registering the cloud store"
sys_guard "$SYS_BIN/iomt-kdc" admin list --db "$K/kdc.db" 2>/dev/null | sed 's/^/      /'
say "each key exported for bootstrapping (iomt-kdc admin export-key, 0600 key files)"

step 11 "Starting the KDC and alice's gateway (iomt-gwd, gateway role: batched AP validation)"
sys_kdc_start kdc --log-level info || die "iomt-kdc did not start"
say "iomt-kdc  pid $(sys_pid kdc)  UDP+TCP ${SYS_ADDR[kdc.addr]}  metrics http://${SYS_ADDR[kdc.metrics]}/metrics"
sys_gwd_gateway_start gw-alice "$K/keys/gw-alice.key" --log-level debug ||
	die "iomt-gwd (gateway role) did not start"
say "iomt-gwd  pid $(sys_pid gw-alice)  sensors udp ${SYS_ADDR[gw-alice.udp]}  replay cache $D/gw-alice/replay"

step 12 "Sensors authenticate to the gateway: AS (pre-authenticated) -> TGS -> AP"
for s in alice-hr alice-spo2; do
	out=$(kc ap --key "$K/keys/$s.key" --target gw-alice --service "${SYS_ADDR[gw-alice.udp]}" 2>&1)
	rc=$?
	fp=$(printf '%s\n' "$out" | sed -n 's/.*fp=\([0-9a-f]*\).*/\1/p' | tail -n 1)
	gfp=$(grep "client=$s " "$D/gw-alice/gw-alice.log" | sed -n 's/.*fp=\([0-9a-f]*\).*/\1/p' | tail -n 1)
	say "$s: $(printf '%s\n' "$out" | grep -m 1 -E '^(ticket|session)' | cut -c1-110)"
	if [ $rc = 0 ] && [ -n "$fp" ] && [ "$fp" = "$gfp" ]; then
		say "  session fingerprint $fp at the sensor and at the gateway: equal"
	else
		fail "$s: AP exchange (exit $rc, fp '${fp:-}' vs gateway '${gfp:-}'): $(printf '%s' "$out" | tail -n 1)"
	fi
done

step 13 "The same-patient policy"
out=$(kc ticket --key "$K/keys/bob-hr.key" --target gw-alice 2>&1)
rc=$?
say "bob-hr asks for a ticket to alice's gateway: exit $rc: $(printf '%s\n' "$out" | tail -n 1)"
[ $rc = 1 ] && printf '%s' "$out" | grep -qi polic || fail "cross-patient ticket was not refused by policy"
out=$(kc ticket --key "$K/keys/bob-hr.key" --target store-1 2>&1)
rc=$?
say "bob-hr asks for a ticket to the cloud store: exit $rc: $(printf '%s\n' "$out" | tail -n 1 | cut -c1-110)"
[ $rc = 0 ] || fail "cloud pairing was refused"
out=$(kc ticket --key "$K/keys/alice-hr.key" --target ppd-alice 2>&1)
rc=$?
say "alice-hr asks for a ticket to alice's PPD: exit $rc"
[ $rc = 0 ] || fail "same-patient pairing was refused"

step 14 "Revocation and key update take effect at once"
sys_guard "$SYS_BIN/iomt-kdc" admin revoke alice-spo2 --db "$K/kdc.db" --audit-log "$K/audit.log" >/dev/null 2>&1 ||
	fail "admin revoke"
sys_guard "$SYS_BIN/iomt-kdc" admin rotate alice-hr --db "$K/kdc.db" --audit-log "$K/audit.log" >/dev/null 2>&1 ||
	fail "admin rotate"
sleep 0.3  # the KDC reloads its table within reload_interval (100 ms)
out=$(kc ticket --key "$K/keys/alice-spo2.key" --target gw-alice 2>&1)
say "revoked alice-spo2: exit $?: $(printf '%s\n' "$out" | tail -n 1)"
printf '%s' "$out" | grep -qi revoked || fail "a revoked sensor got a ticket"
out=$(kc ticket --key "$K/keys/alice-hr.key" --target gw-alice 2>&1)
say "alice-hr with its old key after rotate: exit $?: $(printf '%s\n' "$out" | tail -n 1)"
printf '%s' "$out" | grep -qiE 'stale|version' || fail "an old key still worked after rotate"

step 15 "What the KDC and the gateway recorded"
say "KDC audit log ($K/audit.log, JSON lines, synced before each reply): $(sed -n 's/.*"event":"\([a-z_]*\)".*/\1/p' "$K/audit.log" | sort | uniq -c |
	awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
say "  e.g. $(grep -m 1 '"tgs_deny"' "$K/audit.log" | cut -c1-150)"
km() { sys_metric "${SYS_ADDR[kdc.metrics]}" "$1"; }
say "gateway: $(sys_metrics "${SYS_ADDR[gw-alice.metrics]}" | awk '/^iomt_gwd_ap_requests_total/ && $2 != 0 { printf "%s=%s ", $1, $2 }')"
if grep -qiE '"key"|k_kdc|master' "$D/gw-alice/gw-alice.log" "$K/kdc.log" 2>/dev/null; then
	fail "a log mentions a key"
else
	say "no key in any log (fingerprints only)"
fi
rc=0; sys_stop gw-alice || rc=$?
say "iomt-gwd stopped (SIGTERM): exit $rc (the KDC stays up for part 4)"
[ $rc = 0 ] || fail "iomt-gwd (gateway) exited $rc"

# ---- part 4 -------------------------------------------------------------------
printf '\n=== Part 4: data key management (first paper, section IV): PPD, sensor, gateway, cloud store ===\n'
printf '(iomt-ppd, iomt-sensor data, iomt-gwd relaying, iomt-store; every transfer over KDC-established keys)\n'
P=$D/ppd-alice S=$D/store-1

step 16 "The patient's PPD and the cloud application's signing key"
sys_ppd_init ppd-alice kdc ppd-alice "# alice's consent policy: first match wins, no match = ask (refused: no prompt here)
allow requester=store-1 purpose=treatment max_range=24h
allow requester=store-1 purpose=emergency
deny requester=* purpose=research" || die "iomt-ppd init"
say "iomt-ppd init: K_master (32 random bytes) wrapped under alice's passphrase (Argon2id + AES-128-CCM),"
say "evidence-log signing key (P-256) $P/evlog.key; the PPD's KDC key ppd-alice"
mkdir -p "$S" && chmod 0700 "$S"
sys_guard "$SYS_BIN/iomt-store" keygen --out "$S/app.pem" --pub "$S/app.pub.pem" >/dev/null 2>&1 ||
	die "iomt-store keygen"
sys_ppd_trust ppd-alice store-1 "$S/app.pub.pem"
say "iomt-store keygen: the processing application's P-256 key; alice's PPD trusts store-1 with its public half"
say "alice's policy: $(grep -v '^#' "$P/policy" | paste -sd';' | sed 's/;/; /g')"
# alice-hr's key was rotated in part 3: export its current key (bootstrapping again).
sys_guard "$SYS_BIN/iomt-kdc" admin export-key alice-hr --db "$K/kdc.db" --master "$K/master.key" \
	--out "$K/keys/alice-hr.v2.key" --audit-log "$K/audit.log" >/dev/null 2>&1 || die "export-key alice-hr"
say "alice-hr's new key (version 2 after part 3's rotate) exported again for the sensor"

step 17 "Starting the store, the PPD and alice's gateway (gateway + relay roles)"
sys_store_start store-1 || die "iomt-store did not start"
say "iomt-store  pid $(sys_pid store-1)  gateways tcp ${SYS_ADDR[store-1.addr]}  database $S/store.db"
sys_ppd_start ppd-alice || die "iomt-ppd did not start"
say "iomt-ppd    pid $(sys_pid ppd-alice)  tcp ${SYS_ADDR[ppd-alice.addr]}  consent: policy  evidence log $P/evidence.log"
sys_gwd_gateway_start gw-alice "$K/keys/gw-alice.key" --set relay=yes --store "${SYS_ADDR[store-1.addr]}" ||
	die "iomt-gwd (relay) did not start"
say "iomt-gwd    pid $(sys_pid gw-alice)  sensors udp ${SYS_ADDR[gw-alice.udp]}  -> store ${SYS_ADDR[store-1.addr]} (holds no data key)"

step 18 "alice-hr: data key from the PPD (KDC ticket, PROVISION), 120 readings sealed and sent"
T0=$(date -u -d 'yesterday 08:00' +%s)
out=$(sys_guard "$SYS_BIN/iomt-sensor" data --state "$D/alice-hr.data" --gateway "${SYS_ADDR[gw-alice.udp]}" \
	--key "$K/keys/alice-hr.v2.key" --kdc "${SYS_ADDR[kdc.addr]}" --ppd "ppd-alice=${SYS_ADDR[ppd-alice.addr]}" \
	--conf leaf=60s,arity=24x60,refresh=1h --records 120 --interval 60s --clock-start "$T0" --batch 16 2>&1)
rc=$?
printf '%s\n' "$out" | grep -iE 'provision|sent|acked|summary|records' | head -n 4 | sed 's/^/    /'
[ $rc = 0 ] || fail "iomt-sensor data exited $rc: $(printf '%s\n' "$out" | tail -n 1)"
say "key tree: leaves of 60 s, 24 h x 60 min, K_data refreshed every hour (old keys erased at the sensor)"
say "gateway relay: $(sys_metrics "${SYS_ADDR[gw-alice.metrics]}" | awk '/^iomt_gwd_rec_[a-z_]*total/ && $2 != 0 { printf "%s=%s ", $1, $2 }')"

step 19 "The cloud store holds ciphertext only (iomt-store query: metadata)"
sys_guard "$SYS_BIN/iomt-store" query --db "$S/store.db" >"$S/query.txt" 2>&1
n=$(grep -cE '^[0-9a-f]{32} ' "$S/query.txt")
say "records held: $n; each a sealed AES-128-CCM record, listed by name only:"
grep -vE '^[0-9a-f]{32} ' "$S/query.txt" | head -n 1 | cut -c1-120 | sed 's/^/      /'
grep -E '^[0-9a-f]{32} ' "$S/query.txt" | head -n 2 | cut -c1-120 | sed 's/^/      /'
[ "$n" = 120 ] || fail "the store holds $n records, expected 120"
F=$(date -u -d "@$T0" +%Y-%m-%dT%H:%M:%SZ) TO=$(date -u -d "@$((T0 + 7199))" +%Y-%m-%dT%H:%M:%SZ)
dec() {
	sys_guard "$SYS_BIN/iomt-store" decrypt --db "$S/store.db" --kdc "${SYS_ADDR[kdc.addr]}" \
		--key "$K/keys/store-1.key" --app-key "$S/app.pem" --ppd "ppd-alice=${SYS_ADDR[ppd-alice.addr]}" \
		--from "$F" --to "$TO" --decrypt-for 1h "$@"
}

step 20 "A doctor's treatment query: signed consent request -> alice's policy approves -> decrypted"
say "records $F .. $TO (two hours: two epochs of the key tree)"
out=$(dec --purpose treatment --note "Cardiology follow-up" --out "$S/treatment.txt" 2>&1)
rc=$?
printf '%s\n' "$out" | head -n 8 | sed 's/^/    /'
nd=$(grep -c . "$S/treatment.txt" 2>/dev/null)
say "decrypted lines: ${nd:-0}; e.g. $(head -n 1 "$S/treatment.txt" 2>/dev/null | cut -c1-120)"
[ $rc = 0 ] && [ "${nd:-0}" = 120 ] || fail "treatment decrypt: exit $rc, ${nd:-0} of 120 records"

step 21 "A research query: alice's policy refuses; nothing is decrypted"
out=$(dec --purpose research --out "$S/research.txt" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -iE 'denied|refused|reason' | head -n 2 | sed 's/^/    /'
say "exit $rc; output file: $([ -e "$S/research.txt" ] && echo written || echo none)"
[ $rc = 3 ] && [ ! -e "$S/research.txt" ] || fail "research request: exit $rc (want 3, nothing written)"

step 22 "alice's evidence log: every request, decision and release, signed and hash-chained"
sys_guard "$SYS_BIN/iomt-ppd" log show --log "$P/evidence.log" --pub "$P/evlog.pub" 2>&1 | cut -c1-160 |
	grep -vE '^ *$| head ' | head -n 12 | sed 's/^/    /'
say "(each entry is followed by a signed head; 'iomt-ppd log show' prints them)"
out=$(sys_guard "$SYS_BIN/iomt-ppd" log verify --log "$P/evidence.log" --pub "$P/evlog.pub" 2>&1)
rc=$?
say "log verify: exit $rc: $(printf '%s\n' "$out" | tail -n 1)"
[ $rc = 0 ] || fail "the evidence log does not verify"
cp "$P/evidence.log" "$D/evidence.tampered"
sz=$(stat -c %s "$D/evidence.tampered")
printf 'X' | dd of="$D/evidence.tampered" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
out=$(sys_guard "$SYS_BIN/iomt-ppd" log verify --log "$D/evidence.tampered" --pub "$P/evlog.pub" 2>&1)
rc=$?
say "a copy with one byte changed: exit $rc: $(printf '%s\n' "$out" | tail -n 1 | cut -c1-120)"
[ $rc = 1 ] || fail "a tampered evidence log verified"

step 23 "Stopping (SIGTERM)"
st=
for n in gw-alice ppd-alice store-1 kdc; do
	rc=0; sys_stop "$n" || rc=$?
	[ $rc = 0 ] || fail "$n exited $rc"
	st="$st $n=$rc"
done
say "exit status:$st"

# ---- part 5 -------------------------------------------------------------------
printf '\n=== Part 5: Phases 4-6 at the MEC: device data, analyses, alerts, signed results ===\n'
printf '(iomt-ttp with a grant key, iomt-gwd with phase 4 and users on, iomt-sensor stream, iomt-user alerts / request)\n'
T5=$D/ttp5 G5=$D/mec5
POLICY5="read: role=doctor hospital=H0001; alert: role=doctor hospital=H0001 duty=yes; study=p456-demo"
u5() { sys_guard "$SYS_BIN/iomt-user" "$@" --ca-pub "$T5/ca.pem" --mec "$MEC5"; }

T5_START=$(date +%s%N)
step 24 "Phase 1: a TTP, a patient, two doctors (one on duty), a MEC operator"
{
	sys_ttp_init ttp5 &&
	sys_user ttp5 anna patient hospital=H0001 &&
	sys_user ttp5 dr-rossi doctor hospital=H0001,duty=yes &&
	sys_user ttp5 dr-verdi doctor hospital=H0001,duty=no &&
	sys_user ttp5 mec-op-5 mec site=milan-1 &&
	POOL5=$(sys_mec_register ttp5 mec-milan-1 16 mec-op-5)
} || die "part 5: phase-1 registrations"
say "anna (patient), dr-rossi (doctor, duty=yes), dr-verdi (doctor, duty=no), mec-op-5 (MEC operator): ECQV key files"

step 25 "The TTP (grant key on: phases 5 and 6) and the MEC (phase 4 store, users' port, alerts file)"
sys_ttp_start ttp5 --grant-key "$T5/ca.key" || die "iomt-ttp (part 5) did not start"
sys_gwd_provision mec5 "$POOL5" && rm -f "$POOL5" || die "iomt-gwd provision (part 5)"
sys_gwd_start mec5 ttp5 --log-level debug --mec-key "$T5/users/mec-op-5.key" --mec-store "$G5/mec.db" \
	--users --user-listen 127.0.0.1:0 --ca-pub "$T5/ca.pem" --alerts-file "$G5/alerts" ||
	die "iomt-gwd (part 5) did not start"
MEC5=$(grep 'users: listening on' "$G5/mec5.log" | tail -n 1 | sed 's/.*listening on //')
[ -n "$MEC5" ] || die "iomt-gwd (part 5): no users' address in its log"
say "iomt-ttp pid $(sys_pid ttp5) (grants and alert parties signed with the grant key)"
say "iomt-gwd pid $(sys_pid mec5): devices udp ${SYS_ADDR[mec5.udp]}, users tcp $MEC5, store $G5/mec.db"

step 26 "Phase 2: anna's analysis and its policy; the device provisioned"
sys_analysis ttp5 anna 1 "$D/an5" "$POLICY5" || die "create-analysis (part 5)"
IDA5=$(cat "$D/an5/analysis.id")
sys_sensor_provision "$D/an5/devices.prov" "$D/an5.state" || die "iomt-sensor provision (part 5)"
say "analysis $IDA5, policy: $POLICY5"

step 27 "Phase 3 + 4: the device agrees a key, then streams RR intervals (synthetic AF, fast) as S2_DATA"
gm5() { local v; v=$(sys_metric "${SYS_ADDR[mec5.metrics]}" "$1"); echo "${v:-0}"; }
out=$(sys_guard "$SYS_BIN/iomt-sensor" stream --state "$D/an5.state" --mec "${SYS_ADDR[mec5.udp]}" \
	--synthetic af-fast --seed 5 --duration 100s --t0 1700000000000 --rate 0 2>"$D/stream5.log")
rc=$?
say "iomt-sensor stream: $out"
[ $rc = 0 ] || fail "iomt-sensor stream exited $rc: $(tail -n 1 "$D/stream5.log")"
nf=$(printf '%s' "$out" | sed -n 's/^frames \([0-9]*\),.*/\1/p')
ns=$(printf '%s' "$out" | sed -n 's/.*samples \([0-9]*\),.*/\1/p')
sys_wait_metric "${SYS_ADDR[mec5.metrics]}" 'iomt_gwd_data_frames_total{result="ok"}' "${nf:-1}" 5
ne=$(gm5 'iomt_gwd_results_total{verdict="emergency"}')
say "MEC: frames verified $(gm5 'iomt_gwd_data_frames_total{result="ok"}')/${nf:-?}, samples stored $(gm5 'iomt_gwd_data_samples_total{result="stored"}')/${ns:-?}, AF results signed and stored: $ne EMERGENCY, $(gm5 'iomt_gwd_results_total{verdict="suspect"}') suspect, $(gm5 'iomt_gwd_results_total{verdict="normal"}') normal"
[ "$(gm5 'iomt_gwd_data_frames_total{result="ok"}')" = "${nf:-x}" ] &&
	[ "$(gm5 'iomt_gwd_data_samples_total{result="stored"}')" = "${ns:-x}" ] && [ "$ne" -ge 1 ] ||
	fail "phase 4: frames, samples or EMERGENCY results missing at the MEC"

step 28 "Phase 6: each EMERGENCY to the TTP, which names the parties; alerts fetched by each user"
i=0
while [ "$(grep -c 'parties to alert' "$G5/mec5.log")" -lt "$ne" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
for w in anna dr-rossi dr-verdi; do
	u5 alerts --key "$T5/users/$w.key" --timeout 5 >"$D/alerts-$w.out" 2>"$D/alerts-$w.err"
	rc=$?
	n=$(grep -c '^ALERT.*af verdict 2' "$D/alerts-$w.out")
	say "$(printf '%-9s' "$w:") exit $rc, $(tail -n 1 "$D/alerts-$w.out")"
	[ "$w" = dr-verdi ] && want5=0 || want5=$ne
	[ $rc = 0 ] && [ "$n" = "$want5" ] || fail "$w: $n AF EMERGENCY alerts, want $want5 (exit $rc: $(tail -n 1 "$D/alerts-$w.err"))"
done
say "e.g. $(grep -m 1 '^ALERT' "$D/alerts-dr-rossi.out" | cut -c1-150)"
say "TTP audit: $(grep -c '"event":"p6_emergency"' "$T5/audit.log") p6_emergency events"

step 29 "Phase 5: dr-rossi requests the analysis's results (TTP grant, key agreement with the MEC)"
u5 request --key "$T5/users/dr-rossi.key" --analysis "$IDA5" >"$D/request5.out" 2>"$D/request5.err"
rc=$?
say "$(head -n 1 "$D/request5.out")"
sed -n '2,3p' "$D/request5.out" | cut -c1-150 | sed 's/^/    /'
nr=$(grep -c 'signature ok' "$D/request5.out")
say "exit $rc; $nr results, every MEC signature verified ($(grep -c 'af EMERGENCY.*signature ok' "$D/request5.out") EMERGENCY)"
[ $rc = 0 ] && [ "$nr" -ge "$ne" ] && [ "$(grep -c 'af EMERGENCY.*signature ok' "$D/request5.out")" = "$ne" ] ||
	fail "phase 5 request: exit $rc, $nr results ($(tail -n 1 "$D/request5.err"))"

step 30 "Stopping (SIGTERM)"
st=
for n in mec5 ttp5; do
	rc=0; sys_stop "$n" || rc=$?
	[ $rc = 0 ] || fail "$n exited $rc"
	st="$st $n=$rc"
done
say "exit status:$st (part 5: $(ms_since "$T5_START") ms)"

printf '\n'
if [ ${#failures[@]} = 0 ]; then
	printf 'RESULT: OK: %d devices, %d agreements, keys equal at device, MEC and TTP, every identity rotated; KDC tickets, policy and AP sessions as expected; records sealed at the sensor, decrypted only after consent, evidence log verified; device data analysed at the MEC, alerts to the entitled parties only, signed results read by the doctor; no errors, clean shutdown (%d s)\n' \
		"$NDEV" "$want" "$(($(ms_since "$T_START") / 1000))"
	exit 0
fi
printf 'RESULT: FAILED (%d problem(s)):\n' "${#failures[@]}"
printf '  - %s\n' "${failures[@]}"
SYS_KEEP=1
printf 'logs kept in %s\n' "$D"
exit 1

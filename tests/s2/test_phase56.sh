#!/bin/bash
# Seed 002 phases 5 and 6 with the real daemons on loopback (mk/system.sh):
# iomt-ttp (grant_key = its CA key), iomt-gwd with 'users yes' and the MEC's
# phase-1 key, iomt-user request / alerts. Phase 4's data path is stood in
# for by the MEC's test hook (test_hook_dir): ID_a.results (54-byte
# results, signed by the MEC when served) and ID_a.emerg (one result,
# signed and raised as an emergency).
# Users: alice (patient, owner), dora (doctor H0001 on duty), otto (doctor
# H0001 off duty), wendy (doctor H0002), rick (doctor H0001 on duty, revoked).
# Policy: read: role=doctor hospital=H0001; alert: role=doctor hospital=H0001 duty=yes
cd "$(dirname "$0")/../.." || exit 1
MULT=${IOMT_TEST_TIMEOUT_MULT:-1}  # make check runs sanitized daemons: slower
SYS_GUARD=${SYS_GUARD:-150}
. tests/sys_suite.sh

CASES="a_doctor_reads b_owner_reads c_other_hospital d_revoked e_tampered f_replay
g_alert_parties h_alert_retry_dedup i_not_entitled_no_alert j_alert_survives_restart
k_delivered_audited l_audit_every_step m_bad_policy_refused n_no_analysis o_wrong_frame
p_ttp_down_busy_then_retried q_metrics r_ttp_without_grant_key s_mec_key_not_a_mec
t_sealed_to_another_key u_mec_holds_no_certificate v_alerts_file_v1_converted"

sys_suite_begin iomt-ttp iomt-gwd iomt-user || exit 0
D=$SYS_DIR
T=$D/ttp
G=$D/gwd
HOOK=$D/hook
U="$SYS_BIN/iomt-user"
POLICY="read: role=doctor hospital=H0001; alert: role=doctor hospital=H0001 duty=yes; study=p56"

note() { echo "# $*"; }
check() {
	local name=$1
	shift
	if "$@"; then tap_ok "$name"; else tap_fail "$name" "$(tail -n 3 "$D/last.err" 2>/dev/null | tr '\n' ' ')"; fi
}
audit_has() { grep -q "$1" "$T/audit.log"; }
audit_count() { grep -c "$1" "$T/audit.log"; }

gwd_start() {
	rm -f "$G/ports"
	_sys_spawn gwd "$G/gwd.out" "$SYS_BIN/iomt-gwd" \
		--mec=no --users --user-listen "127.0.0.1:${1:-0}" --listen 127.0.0.1:0 \
		--ttp "${SYS_ADDR[ttp.link]}" --mec-key "$T/users/mecop.key" \
		--mec-store "$G/mec.db" --ca-pub "$T/ca.pem" --alerts-file "$G/alerts" \
		--test-hook-dir "$HOOK" --user-timeout $((10 * MULT))s --metrics-listen 127.0.0.1:0 \
		--port-file "$G/ports" --log-file "$G/gwd.log" --log-level debug
	local i=0
	until grep -q 'users: listening on' "$G/gwd.log" 2>/dev/null && [ -s "$G/ports" ]; do
		[ $i -ge $((200 * MULT)) ] && { sys_err "iomt-gwd did not start: $(tail -n 3 "$G/gwd.out" "$G/gwd.log" 2>/dev/null)"; return 1; }
		sys_alive gwd || { sys_err "iomt-gwd exited: $(tail -n 3 "$G/gwd.out" "$G/gwd.log" 2>/dev/null)"; return 1; }
		sleep 0.05
		i=$((i + 1))
	done
	MEC=$(grep 'users: listening on' "$G/gwd.log" | tail -n 1 | sed 's/.*listening on //')
}

# request USER [ARGS...]: iomt-user request for the analysis; status, output in $D/last.{out,err}
request() {
	local who=$1
	shift
	sys_guard "$U" request --mec "$MEC" --key "$T/users/$who.key" --ca-pub "$T/ca.pem" \
		--analysis "$IDA" --timeout $((5 * MULT)) "$@" >"$D/last.out" 2>"$D/last.err"
}
alerts() {
	local who=$1
	shift
	sys_guard "$U" alerts --mec "$MEC" --key "$T/users/$who.key" --ca-pub "$T/ca.pem" \
		--timeout $((5 * MULT)) "$@" >"$D/last.out" 2>"$D/last.err"
}
# send_frame FILE: one frame to the MEC's user port; prints the reply's type
# and first payload byte as hex ("12 0b" = USER_ERR REPLAY).
send_frame() {
	local port=${MEC##*:}
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	cat "$1" >&3
	timeout 10 head -c 5 <&3 | od -An -tx1 | awk '{ print $2, $5 }'
	exec 3<&- 3>&-
}
# bytes N...: the bytes of these decimal values.
bytes() { local b; for b; do printf "\\$(printf %03o "$b")"; done; }
# result VERDICT END_MS: a 54-byte an_result (analysis 1 = af, window 0..END_MS,
# 60 samples, metrics 0), as an_result_encode writes it.
result() {
	local v=$1 e=$2
	bytes 1 "$v" 0 0 0 0 0 0 0 0 0 0 0 0 $((e >> 24 & 255)) $((e >> 16 & 255)) \
		$((e >> 8 & 255)) $((e & 255)) 0 0 0 60
	head -c 32 /dev/zero
}
wait_log() { # PATTERN [COUNT]: waits up to 10 s for COUNT lines matching in the gwd log
	local i=0 n=${2:-1}
	while [ "$(grep -c "$1" "$G/gwd.log" 2>/dev/null)" -lt "$n" ]; do
		[ $i -ge $((200 * MULT)) ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
}
wait_audit() {
	local i=0 n=${2:-1}
	while [ "$(grep -c "$1" "$T/audit.log" 2>/dev/null)" -lt "$n" ]; do
		[ $i -ge $((200 * MULT)) ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
}

setup_ok=1
{
	mkdir -p "$G" "$HOOK" && chmod 0700 "$G" &&
	sys_ttp_init ttp &&
	sys_user ttp alice patient hospital=H0001 &&
	sys_user ttp dora doctor hospital=H0001,duty=yes &&
	sys_user ttp otto doctor hospital=H0001,duty=no &&
	sys_user ttp wendy doctor hospital=H0002,duty=yes &&
	sys_user ttp rick doctor hospital=H0001,duty=yes &&
	sys_user ttp mecop mec site=mec-1 &&
	sys_ttp_start ttp --grant-key "$T/ca.key" --log-level debug &&
	sys_analysis ttp alice 1 "$D/an" "$POLICY" &&
	sys_guard "$SYS_BIN/iomt-ttp" admin revoke-user --db "$T/ttp.db" --audit-log "$T/audit.log" \
		--id rick >/dev/null 2>"$D/revoke.err" &&
	IDA=$(cat "$D/an/analysis.id") &&
	{ result 0 60000; result 1 120000; } >"$HOOK/$IDA.results" &&
	gwd_start
} || setup_ok=0
if [ $setup_ok = 0 ]; then
	sys_suite_abort "set-up failed (see above)"
fi
note "MEC users on $MEC, analysis $IDA"

# ---- phase 5 -------------------------------------------------------------------
request dora --save-request "$D/dora.req"
rc=$?
check a_doctor_reads eval '[ $rc = 0 ] && grep -q "2 results from MEC mecop" "$D/last.out" &&
	[ "$(grep -c "signature ok" "$D/last.out")" = 2 ] && grep -q "af suspect window 0..120000" "$D/last.out"'

request alice --out "$D/alice.results"
rc=$?
check b_owner_reads eval '[ $rc = 0 ] && [ "$(grep -c "signature ok" "$D/last.out")" = 2 ] && [ -s "$D/alice.results" ]'

request wendy
rc=$?
check c_other_hospital eval '[ $rc = 1 ] && grep -q "NOT_ENTITLED" "$D/last.err" &&
	grep "p5_denied" "$T/audit.log" | grep -q "\"user\":\"wendy\""'

request rick
rc=$?
check d_revoked eval '[ $rc = 1 ] && grep -q "REVOKED" "$D/last.err" &&
	grep "p5_denied" "$T/audit.log" | grep -q "\"user\":\"rick\""'

# A tampered certificate: iomt-user refuses to use it; a request whose
# sealed part (the certificate, attribute byte H0001 -> H0002) was changed in
# a saved frame is forwarded unread by the MEC and refused by the TTP, which
# alone opens it (DENIED, audited). P5_REQ payload: ID_a || E_U || nonce (65)
# || box: E (33) || N (13) || ciphertext of cert (attributes at 44) || ...
cp "$T/users/wendy.key" "$D/tamper.key"
printf 'hospital=H0001,duty=yes' | dd of="$D/tamper.key" bs=1 seek=$((4 + 44)) conv=notrunc status=none
request_tampered() {
	sys_guard "$U" request --mec "$MEC" --key "$D/tamper.key" --ca-pub "$T/ca.pem" \
		--analysis "$IDA" >"$D/last.out" 2>"$D/last.err"
}
request_tampered
rc=$?
cp "$D/dora.req" "$D/tampered.req"
printf '\x32' | dd of="$D/tampered.req" bs=1 seek=$((4 + 65 + 46 + 44 + 13)) conv=notrunc status=none
reply=$(send_frame "$D/tampered.req")
check e_tampered eval '[ $rc = 1 ] && [ "$reply" = "12 08" ] &&
	grep "p5_denied" "$T/audit.log" | grep -q "sealed part does not open"'
note "tampered: client rc $rc ($(tail -n 1 "$D/last.err")), MEC reply $reply"

reply=$(send_frame "$D/dora.req")
check f_replay eval '[ "$reply" = "12 0b" ] && grep "p5_denied" "$T/audit.log" | grep -q "replay"'
note "replayed request: reply $reply"

# The request sealed to a key that is not the TTP's grant key (--ttp-pub):
# the TTP cannot open it: DENIED.
if openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout \
	>"$D/other.pem" 2>/dev/null && [ -s "$D/other.pem" ]; then
	request dora --ttp-pub "$D/other.pem"
	rc=$?
	check t_sealed_to_another_key eval '[ $rc = 1 ] && grep -q DENIED "$D/last.err" &&
		grep "p5_denied" "$T/audit.log" | tail -n 1 | grep -q "sealed part does not open"'
else
	tap_skip t_sealed_to_another_key "no openssl command to make another P-256 key"
fi

# ---- phase 6 -------------------------------------------------------------------
result 2 180000 >"$HOOK/$IDA.emerg"
wait_log "2 parties to alert"
cp "$G/alerts" "$D/alerts.pending"
alerts alice
rc_a=$?
grep -c '^ALERT' "$D/last.out" >"$D/alice.count"
alerts otto
rc_o=$?
out_o=$(cat "$D/last.out")
alerts wendy
rc_w=$?
out_w=$(cat "$D/last.out")
check g_alert_parties eval '[ $rc_a = 0 ] && [ "$(cat "$D/alice.count")" = 1 ] &&
	grep "p6_party" "$T/audit.log" | grep -q "\"user\":\"alice\"" &&
	grep "p6_party" "$T/audit.log" | grep -q "\"user\":\"dora\"" &&
	! grep "p6_party" "$T/audit.log" | grep -q "\"user\":\"otto\""'

# dora: the connection drops after the alert arrives, before its ack; the
# MEC keeps it; the next fetch delivers it again; iomt-user prints it once.
alerts dora --drop-after 1
rc1=$?
n1=$(grep -c '^ALERT' "$D/last.out")
wait_log "not acknowledged: kept for a retry"
alerts dora
rc2=$?
n2=$(grep -c '^ALERT' "$D/last.out")
l2=$(grep 'alerts received' "$D/last.out")
alerts dora
n3=$(grep 'alerts received' "$D/last.out")
check h_alert_retry_dedup eval '[ $rc1 = 0 ] && [ $n1 = 1 ] && [ $rc2 = 0 ] && [ $n2 = 0 ] &&
	[ "$l2" = "1 alerts received, 0 new" ] && [ "$n3" = "0 alerts received, 0 new" ]'
note "dora: first $n1 printed (dropped), then '$l2', then '$n3'"

check i_not_entitled_no_alert eval '[ $rc_o = 0 ] && [ "$out_o" = "0 alerts received, 0 new" ] &&
	[ $rc_w = 0 ] && [ "$out_w" = "0 alerts received, 0 new" ]'

# A second emergency, then the MEC restarts before anyone fetches it.
result 2 240000 >"$HOOK/$IDA.emerg"
wait_log "2 parties to alert" 2
sys_stop gwd >/dev/null
gwd_start "${MEC##*:}"
alerts alice
rc=$?
check j_alert_survives_restart eval '[ $rc = 0 ] && [ "$(grep -c "^ALERT" "$D/last.out")" = 1 ] &&
	grep -q "alerts loaded from" "$G/gwd.log"'
alerts dora >/dev/null

wait_audit '"event":"p6_delivered"' 4
check k_delivered_audited eval '[ "$(grep "p6_delivered\"" "$T/audit.log" | grep -c "\"user\":\"alice\"")" = 2 ] &&
	[ "$(grep "p6_delivered\"" "$T/audit.log" | grep -c "\"user\":\"dora\"")" = 2 ]'

check l_audit_every_step eval 'audit_has "\"event\":\"p5_granted\".*\"user\":\"dora\"" &&
	audit_has "\"event\":\"p5_granted\".*\"user\":\"alice\"" &&
	[ "$(audit_count "\"event\":\"p6_emergency\"")" = 2 ] && [ "$(audit_count "\"event\":\"p6_party\"")" = 4 ]'

# Phase 2 now refuses a policy that does not parse.
sys_guard "$U" create-analysis --key "$T/users/alice.key" --ca-pub "$T/ca.pem" \
	--ttp "${SYS_ADDR[ttp.user]}" --devices 1 --policy "read role=doctor" \
	--out-dir "$D/bad" >"$D/last.out" 2>"$D/last.err"
rc=$?
check m_bad_policy_refused eval '[ $rc = 1 ] && grep -q MALFORMED "$D/last.err"'

IDA_SAVED=$IDA
IDA=00112233445566778899aabbccddeeff
request dora
rc=$?
IDA=$IDA_SAVED
check n_no_analysis eval '[ $rc = 1 ] && grep -q NO_ANALYSIS "$D/last.err"'

# A frame of another type on the user port, and a P5_REQ too short to hold
# the sealed part: MALFORMED, refused by the MEC without asking the TTP.
bytes 1 $((0x10)) 0 1 0 >"$D/wrong.frame"
reply=$(send_frame "$D/wrong.frame")
{ bytes 1 $((0x48)) 0 100; head -c 100 /dev/zero; } >"$D/short.frame"
reply2=$(send_frame "$D/short.frame")
check o_wrong_frame eval '[ "$reply" = "12 05" ] && [ "$reply2" = "12 05" ] &&
	grep -q "request refused here" "$G/gwd.log"'

# The TTP down: a request gets BUSY; an emergency raised meanwhile waits in
# the MEC and reaches its parties once the TTP is back.
sys_stop ttp >/dev/null
request dora
rc=$?
busy=$(grep -c BUSY "$D/last.err")
result 2 300000 >"$HOOK/$IDA.emerg"
wait_log "TTP unreachable"
sys_ttp_start ttp --same-ports --grant-key "$T/ca.key" --log-level debug
wait_log "2 parties to alert" 3
alerts alice
rc_a=$?
check p_ttp_down_busy_then_retried eval '[ $rc = 1 ] && [ "$busy" = 1 ] && [ $rc_a = 0 ] && [ "$(grep -c "^ALERT" "$D/last.out")" = 1 ] &&
	[ "$(audit_count "\"event\":\"p6_emergency\"")" = 3 ]'

# Since the restart (j): 2 + 1 acknowledged, 1 refused by the TTP (n), 1 with
# the TTP down (p), 1 emergency raised for 2 parties, dora's still pending.
gm() { local v; v=$(sys_metric "$(sed -n 's/^metrics_listen //p' "$G/ports")" "$1"); echo "${v:-0}"; }
m="$(gm 'iomt_gwd_alerts_total{event="acknowledged"}')/$(gm 'iomt_gwd_user_requests_total{result="refused_ttp"}')"
m="$m/$(gm 'iomt_gwd_user_requests_total{result="ttp_unreachable"}')/$(gm 'iomt_gwd_alerts_total{event="raised"}')"
m="$m/$(gm 'iomt_gwd_alerts_total{event="party_alert_sealed"}')/$(gm iomt_gwd_alerts_pending)"
# The TTP, since its restart (p): one party list, one delivery noted.
wait_audit '"event":"p6_noted"' 5
tm() { local v; v=$(sys_metric "${SYS_ADDR[ttp.metrics]}" "$1"); echo "${v:-0}"; }
m="$m $(tm 'iomt_ttp_p56_requests_total{result="parties"}')/$(tm 'iomt_ttp_p56_requests_total{result="delivery_noted"}')"
check q_metrics eval '[ "$m" = "3/1/1/1/2/1 1/1" ]'
note "gwd acknowledged/refused_ttp/ttp_unreachable/raised/sealed/pending, ttp parties/noted: $m"

# A TTP with no grant key (ca_pub set, no grant_key): INTERNAL, said so in its log.
sys_stop ttp >/dev/null
sys_ttp_start ttp --same-ports --log-level debug
request dora
rc=$?
check r_ttp_without_grant_key eval '[ $rc = 1 ] && grep -q INTERNAL "$D/last.err" &&
	grep -q "phases 5 and 6 off" "$T/ttp.log"'

# The MEC's key must be a MEC's: iomt-gwd refuses a doctor's.
"$SYS_BIN/iomt-gwd" --mec=no --users --user-listen 127.0.0.1:0 --listen 127.0.0.1:0 \
	--metrics-listen 127.0.0.1:0 --mec-key "$T/users/dora.key" --ca-pub "$T/ca.pem" \
	>"$D/last.out" 2>&1 &
gp=$!
i=0
while kill -0 $gp 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -0 $gp 2>/dev/null && kill $gp
wait $gp
rc=$?
check s_mec_key_not_a_mec eval '[ $rc = 1 ] && grep -q "not a MEC certificate" "$D/last.out"'

# The MEC's log, store and alerts file (and its copy while alerts were
# pending) name no user: no certificate (raw or hex), no subject; the same
# scan finds the 5 certificates in the TTP's database and its WAL (the scan
# works).
# Raw bytes are searched in a hex dump of each file: grep matches within
# lines, and a certificate may hold a newline byte.
hexdump1() { od -An -tx1 -v "$1" | tr -d ' \n'; }
scan() {
	local u f c
	for f in "$@"; do
		[ -f "$f" ] && hexdump1 "$f" >"$f.hexscan"
	done
	for u in alice dora otto wendy rick; do
		c=$(od -An -tx1 -v -j4 -N125 "$T/users/$u.key" | tr -d ' \n')
		for f in "$@"; do
			[ -f "$f" ] || continue
			LC_ALL=C grep -qaiF "$c" "$f" && echo "cert-$u-hex-in-${f##*/}"
			grep -qF "$c" "$f.hexscan" && echo "cert-$u-in-${f##*/}"
			LC_ALL=C grep -qawF "$u" "$f" && echo "name-$u-in-${f##*/}"
		done
	done
	for f in "$@"; do rm -f "$f.hexscan"; done
}
sys_stop gwd >/dev/null 2>&1
hit=$(scan "$G/gwd.log" "$G/gwd.out" "$G/mec.db" "$G/alerts" "$D/alerts.pending")
ctl=$(scan "$T"/ttp.db* | grep '^cert-[a-z]*-in-' | sed 's/-in-.*//' | sort -u | wc -l)
pend=$(wc -c <"$D/alerts.pending")
check u_mec_holds_no_certificate eval '[ -z "$hit" ] && [ "$ctl" = 5 ] && [ "$pend" -gt 500 ]'
note "MEC files: ${hit:-nothing found}; control: $ctl certificates in the TTP database; alerts file while pending: $pend bytes"

# An alerts file of the earlier format (IAL1: the party's certificate in
# each record) is converted on loading: alice's record now goes to alice's
# Q_U (its box, random bytes here, is delivered to her and does not open),
# the record whose certificate gives no key is dropped, and the file is
# rewritten as IAL2 without the certificate (by the users thread, after the
# daemon dropped privileges).
be64() { local v=$1; bytes $((v >> 56 & 255)) $((v >> 48 & 255)) $((v >> 40 & 255)) \
	$((v >> 32 & 255)) $((v >> 24 & 255)) $((v >> 16 & 255)) $((v >> 8 & 255)) $((v & 255)); }
v1rec() { # ALERT_ID_BYTE CERT_FILE
	head -c 16 /dev/zero | tr '\0' "\\$(printf %03o "$1")"
	cat "$2"
	be64 $(($(date +%s) + 3600))
	bytes 0
	head -c 16 /dev/zero
	bytes 0 200
	head -c 200 /dev/urandom
}
dd if="$T/users/alice.key" of="$D/alice.cert" bs=1 skip=4 count=125 status=none
head -c 125 /dev/zero >"$D/zero.cert"
{ printf 'IAL1'; v1rec 17 "$D/alice.cert"; v1rec 34 "$D/zero.cert"; } >"$G/alerts"
chmod 600 "$G/alerts"
ac=$(od -An -tx1 -v "$D/alice.cert" | tr -d ' \n')
if gwd_start && wait_log "rewritten in format 2"; then
	alerts alice
	rc=$?
	check v_alerts_file_v1_converted eval '[ $rc = 1 ] && grep -q "does not open" "$D/last.err" &&
		grep -q "converted from format 1 (1 alerts" "$G/gwd.log" &&
		[ "$(head -c 4 "$G/alerts")" = IAL2 ] &&
		! od -An -tx1 -v "$G/alerts" | tr -d " \n" | grep -q "$ac"'
	sys_stop gwd >/dev/null 2>&1
else
	tap_fail v_alerts_file_v1_converted "iomt-gwd did not start on the IAL1 file, or did not rewrite it"
fi

tap_done

#!/bin/bash
# `iomt-sensor stream` (phase 4 from the device tool) against the real
# iomt-ttp and iomt-gwd in the MEC role with phase 4 on ('mec_key',
# 'mec_store'), on loopback (mk/system.sh):
#   a  --synthetic af-fast: one agreement, every frame verified at the MEC
#      (iomt_gwd_data_frames_total{ok}), every sample stored
#      ({stored}), AF EMERGENCY results stored; same seed, same summary;
#      --synthetic af: SUSPECT results
#   b  --samples FILE: exactly the file's samples stored, in frames of at
#      most --batch samples and --span of device time (counted)
#   c  bad sample files refused with FILE:LINE before any agreement (the
#      MEC sees no M1): CR, kind, range, time going back, extra text, empty
#   d  rekeying: --rekey-frames 3 gives a new agreement (new SK, handle,
#      counter from 1) every 3 frames; all frames verify (an old session's
#      counters would not), M4 count = agreements
#   e  usage errors exit 2 (no source, two sources, unknown profile, bad
#      --rate); a MEC that does not answer: exit 1, "no answer", no frame;
#      no such device or state file: exit 1; SIGTERM: summary, exit 1
#   f  iomt-load s2data: 8 devices agree (set-up), then stream S2_DATA at
#      --rate; every frame it sent verified at the MEC, one agreement each
# The core's own session limits (2^24 frames, 50 min) are covered by
# tests/sensor_core/test_s2data.c; --rekey-frames drives the same path here.
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh
BUILD=${BUILD:-build}
export BUILD
SYS_GUARD=${SYS_GUARD:-120}
. mk/system.sh

CASES="a_synthetic_af_fast_emergency b_sample_file_stored c_bad_sample_files_refused d_rekey_every_n_frames f_load_s2data e_usage_and_no_mec"
why=
for b in iomt-ttp iomt-gwd iomt-user iomt-sensor; do
	[ -x "$SYS_BIN/$b" ] || why="$SYS_BIN/$b not built (make)"
done
if [ -n "$why" ] || ! sys_init; then
	for c in $CASES; do tap_skip "$c" "${why:-cannot create a temporary directory}"; done
	tap_done
	exit
fi
D=$SYS_DIR
note() { echo "# $*"; }
gm() { local v; v=$(sys_metric "${SYS_ADDR[gwd.metrics]}" "$1"); echo "${v:-0}"; }
frames_ok() { gm 'iomt_gwd_data_frames_total{result="ok"}'; }
stored() { gm 'iomt_gwd_data_samples_total{result="stored"}'; }
# stream OUT STATE [OPTIONS...]: iomt-sensor stream to the MEC, summary in OUT.
stream() {
	local out=$1 state=$2
	shift 2
	sys_guard "$SYS_BIN/iomt-sensor" stream --state "$state" --mec "${SYS_ADDR[gwd.udp]}" \
		"$@" >"$out" 2>"$out.err"
}
# settle WANT: waits until the MEC has verified WANT frames.
settle() { sys_wait_metric "${SYS_ADDR[gwd.metrics]}" 'iomt_gwd_data_frames_total{result="ok"}' "$1" 5; }
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"; }

setup_ok=1
{
	sys_ttp_init ttp &&
	sys_user ttp pat patient hospital=H0001 &&
	sys_user ttp mecop mec site=mec-1 &&
	POOL=$(sys_mec_register ttp mec-1 16 mecop) &&
	sys_ttp_start ttp &&
	sys_gwd_provision gwd "$POOL" &&
	sys_gwd_start gwd ttp --log-level debug --mec-key "$D/ttp/users/mecop.key" \
		--mec-store "$D/gwd/mec.db"
} || setup_ok=0
for a in a b c d; do
	[ $setup_ok = 1 ] && sys_analysis ttp pat 1 "$D/an-$a" "study=stream-$a" &&
		sys_sensor_provision "$D/an-$a/devices.prov" "$D/$a.state" || setup_ok=0
done
[ $setup_ok = 1 ] && sys_analysis ttp pat 8 "$D/an-f" "study=stream-f" || setup_ok=0
if [ $setup_ok = 0 ]; then
	for c in $CASES; do tap_fail "$c" "system set-up failed (see above)"; done
	tap_done
	exit
fi

# ---- a ----
case_a() {
	local f0 s0 e0 f s e rc
	f0=$(frames_ok) s0=$(stored) e0=$(gm 'iomt_gwd_results_total{verdict="emergency"}')
	stream "$D/a.out" "$D/a.state" --synthetic af-fast --seed 3 --duration 2m \
		--t0 1700000000000 --rate 0 --json
	rc=$?
	note "af-fast: $(cat "$D/a.out")"
	[ $rc = 0 ] || { tap_fail a_synthetic_af_fast_emergency "exit $rc: $(tail -n 2 "$D/a.out.err")"; return; }
	f=$(field "$D/a.out" frames) s=$(field "$D/a.out" samples)
	[ "$(field "$D/a.out" agreements)" = 1 ] && [ "${s:-0}" -gt 300 ] ||
		{ tap_fail a_synthetic_af_fast_emergency "summary: $(cat "$D/a.out")"; return; }
	settle $((f0 + f))
	[ "$(frames_ok)" = $((f0 + f)) ] && [ "$(stored)" = $((s0 + s)) ] ||
		{ tap_fail a_synthetic_af_fast_emergency "MEC: frames ok $(frames_ok) (want $((f0 + f))), samples stored $(stored) (want $((s0 + s)))"; return; }
	e=$(gm 'iomt_gwd_results_total{verdict="emergency"}')
	# 2 min of 220..519 ms intervals: > 300 beats, windows at 128, 192, 256 ...
	[ $((e - e0)) -ge 3 ] || { tap_fail a_synthetic_af_fast_emergency "$((e - e0)) EMERGENCY results"; return; }
	grep -q 'EMERGENCY: session' "$D/gwd/gwd.log" ||
		{ tap_fail a_synthetic_af_fast_emergency "no EMERGENCY in the MEC's log"; return; }
	# the same seed gives the same samples: same counts (a new device session)
	stream "$D/a2.out" "$D/a.state" --synthetic af-fast --seed 3 --duration 2m \
		--t0 1700000200000 --rate 0 --json
	[ "$(field "$D/a2.out" samples)" = "$s" ] && [ "$(field "$D/a2.out" frames)" = "$f" ] ||
		{ tap_fail a_synthetic_af_fast_emergency "same seed, other counts: $(cat "$D/a2.out")"; return; }
	# irregular at a normal rate (after a gap of 80 s: a fresh window): SUSPECT
	local u0
	u0=$(gm 'iomt_gwd_results_total{verdict="suspect"}')
	f0=$(frames_ok)
	stream "$D/a3.out" "$D/a.state" --synthetic af --seed 4 --duration 4m \
		--t0 1700000400000 --rate 0 --json
	settle $((f0 + $(field "$D/a3.out" frames)))
	[ $(($(gm 'iomt_gwd_results_total{verdict="suspect"}') - u0)) -ge 2 ] ||
		{ tap_fail a_synthetic_af_fast_emergency "af: $(($(gm 'iomt_gwd_results_total{verdict="suspect"}') - u0)) SUSPECT results: $(cat "$D/a3.out")"; return; }
	note "MEC: $((e - e0)) EMERGENCY results from $s samples in $f frames; af: $(($(gm 'iomt_gwd_results_total{verdict="suspect"}') - u0)) SUSPECT"
	tap_ok a_synthetic_af_fast_emergency
}

# ---- b ----
case_b() {
	local f0 s0 rc i t=1000
	{
		echo "# t_ms kind value: 300 RR intervals then 20 SpO2 samples"
		for i in $(seq 1 300); do echo "$t rr $((790 + i % 21))"; t=$((t + 800)); done
		for i in $(seq 1 20); do printf '%s\tspo2\t%s\n' "$t" 970; t=$((t + 1000)); done
		echo
	} >"$D/b.samples"
	f0=$(frames_ok) s0=$(stored)
	stream "$D/b.out" "$D/b.state" --samples "$D/b.samples" --batch 50 --span 30s
	rc=$?
	note "file: $(cat "$D/b.out")"
	# 300 RR over 240 s in spans of 30 s (38 each: 8 frames), the rest of
	# 20 SpO2 over 20 s: 1 + 1 frames (the 30 s span crosses the kinds)
	case $(cat "$D/b.out") in
	"frames "*", samples 320, agreements 1 (rekeys 0), send errors 0;"*) ;;
	*) tap_fail b_sample_file_stored "exit $rc: $(cat "$D/b.out" "$D/b.out.err" | tail -n 3)"; return ;;
	esac
	local f
	f=$(sed -n 's/^frames \([0-9]*\),.*/\1/p' "$D/b.out")
	[ $rc = 0 ] && [ "$f" -ge 9 ] && [ "$f" -le 12 ] ||
		{ tap_fail b_sample_file_stored "exit $rc, $f frames (want 9..12: batch 50, span 30 s)"; return; }
	settle $((f0 + f))
	[ "$(stored)" = $((s0 + 320)) ] && [ "$(frames_ok)" = $((f0 + f)) ] ||
		{ tap_fail b_sample_file_stored "stored $(($(stored) - s0)) of 320 samples, $(($(frames_ok) - f0)) of $f frames"; return; }
	tap_ok b_sample_file_stored
}

# ---- c ----
bad() {   # bad NAME CONTENT WANT-IN-STDERR
	printf -- "$2" >"$D/bad-$1"
	stream "$D/bad-$1.out" "$D/c.state" --samples "$D/bad-$1"
	local rc=$?
	if [ $rc != 1 ] || ! grep -qF "$3" "$D/bad-$1.out.err"; then
		echo "$1: exit $rc, stderr '$(tail -n 1 "$D/bad-$1.out.err")', want '$3'"
		return 1
	fi
}
case_c() {
	local m0 msg=
	m0=$(gm iomt_gwd_m1_received_total)
	bad cr '1 rr 800\n2 rr 800\r\n' "bad-cr:2: carriage return" || msg=$msg.
	bad kind '# x\n\n1 hr 800\n' "bad-kind:3: kind: expected rr or spo2" || msg=$msg.
	bad rrlow '1 rr 800\n2 rr 199\n' "bad-rrlow:2: rr: expected an RR interval of 200..3000 ms" || msg=$msg.
	bad spo2 '1 spo2 1001\n' "bad-spo2:1: spo2: expected 0..1000" || msg=$msg.
	bad back '5 rr 800\n4 rr 800\n' "bad-back:2: t_ms earlier than the previous sample's" || msg=$msg.
	bad extra '1 rr 800 x\n' "bad-extra:1: extra text after the value" || msg=$msg.
	bad short '1 rr\n' "bad-short:1: expected 't_ms kind value'" || msg=$msg.
	bad sign '-1 rr 800\n' "bad-sign:1: t_ms: expected a decimal number" || msg=$msg.
	bad empty '# nothing\n\n' "bad-empty: no samples" || msg=$msg.
	bad long "1 rr 800\n# $(printf '%0300d' 0)\n" "bad-long:2: line longer than 256 characters" || msg=$msg.
	bad big '18446744073709551615 rr 800\n' "bad-big:1: t_ms: expected a decimal number" || msg=$msg.
	stream "$D/bad-none.out" "$D/c.state" --samples "$D/does-not-exist"
	[ $? = 1 ] && grep -q 'does-not-exist: No such file' "$D/bad-none.out.err" || msg="${msg}missing-file."
	[ "$(gm iomt_gwd_m1_received_total)" = "$m0" ] || msg="${msg}an M1 reached the MEC."
	if [ -z "$msg" ]; then
		note "e.g. $(tail -n 1 "$D/bad-back.out.err")"
		tap_ok c_bad_sample_files_refused
	else
		tap_fail c_bad_sample_files_refused "$msg $(bad_report)"
	fi
}
bad_report() { for f in "$D"/bad-*.out.err; do printf '%s: %s; ' "${f##*/}" "$(tail -n 1 "$f")"; done; }

# ---- d ----
case_d() {
	local f0 m0 rc f a
	f0=$(frames_ok) m0=$(gm iomt_gwd_m4_sent_total)
	stream "$D/d.out" "$D/d.state" --synthetic sinus --duration 3m --batch 20 --rekey-frames 3 \
		--rate 0 --json --log-level debug
	rc=$?
	note "rekey: $(cat "$D/d.out")"
	f=$(field "$D/d.out" frames) a=$(field "$D/d.out" agreements)
	[ $rc = 0 ] && [ "${f:-0}" -ge 10 ] && [ "$a" = $(((f + 2) / 3)) ] ||
		{ tap_fail d_rekey_every_n_frames "exit $rc, $f frames, $a agreements: $(tail -n 2 "$D/d.out.err")"; return; }
	settle $((f0 + f))
	[ "$(frames_ok)" = $((f0 + f)) ] && [ "$(gm iomt_gwd_m4_sent_total)" = $((m0 + a)) ] ||
		{ tap_fail d_rekey_every_n_frames "MEC: $(($(frames_ok) - f0)) of $f frames ok, $(($(gm iomt_gwd_m4_sent_total) - m0)) M4 for $a agreements"; return; }
	# a fresh data session (handle) per agreement, never one twice
	local h
	h=$(sed -n 's/.*data session \([0-9a-f]*\)$/\1/p' "$D/d.out.err" | sort | uniq | wc -l)
	[ "$h" = "$a" ] && [ "$(grep -c 'new agreement' "$D/d.out.err")" = $((a - 1)) ] ||
		{ tap_fail d_rekey_every_n_frames "$h distinct session handles for $a agreements"; return; }
	tap_ok d_rekey_every_n_frames
}

# ---- e ----
# streaming LOG: waits (5 s at most) until the stream's agreement is done.
streaming() {
	local i=0
	until grep -q 'agreement 1 done' "$1" 2>/dev/null || [ $i -ge 250 ]; do
		sleep 0.02
		i=$((i + 1))
	done
}
case_e() {
	local msg= rc pid
	usage() {
		sys_guard "$SYS_BIN/iomt-sensor" stream "$@" >/dev/null 2>"$D/usage.err"
		rc=$?
		[ $rc = 2 ] || msg="$msg [$* -> $rc]"
	}
	usage --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}"
	usage --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}" --synthetic af --samples "$D/b.samples"
	usage --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}" --synthetic vfib
	grep -q "expected one of sinus, af, af-fast, apnoea, desat" "$D/usage.err" || msg="$msg [profile message]"
	usage --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}" --synthetic af --rate fast
	usage --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}" --synthetic af --batch 201
	usage --mec "${SYS_ADDR[gwd.udp]}" --synthetic af
	sys_guard "$SYS_BIN/iomt-sensor" stream --help >"$D/help.out" 2>&1 && grep -q 'rekey_frames' "$D/help.out" ||
		msg="$msg [--help]"
	# nobody on this port: the agreement gives up, nothing is streamed
	sys_guard "$SYS_BIN/iomt-sensor" stream --state "$D/c.state" --mec 127.0.0.1:9 --synthetic af \
		--timeout 100ms --retries 1 >"$D/nomec.out" 2>"$D/nomec.err"
	rc=$?
	[ $rc = 1 ] && grep -q 'no answer from the MEC after 2 attempts' "$D/nomec.err" &&
		grep -q '^frames 0, samples 0, agreements 0' "$D/nomec.out" || msg="$msg [no MEC: exit $rc: $(cat "$D/nomec.out" "$D/nomec.err" | tail -n 2)]"
	# SIGTERM while waiting for M4 (nobody on the port)
	"$SYS_BIN/iomt-sensor" stream --state "$D/c.state" --mec 127.0.0.1:9 --synthetic af \
		--timeout 10s >"$D/term3.out" 2>"$D/term3.err" &
	pid=$!
	sleep 0.3
	kill -TERM $pid
	wait $pid
	rc=$?
	[ $rc = 1 ] && grep -q 'interrupted during an agreement' "$D/term3.err" &&
		grep -q '^frames 0, samples 0, agreements 0' "$D/term3.out" ||
		msg="$msg [SIGTERM in an agreement: exit $rc: $(tail -n 1 "$D/term3.err")]"
	# a device the file does not hold; a state file that does not exist
	sys_guard "$SYS_BIN/iomt-sensor" stream --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}" \
		--synthetic af --device 1 >/dev/null 2>"$D/dev1.err"
	rc=$?
	[ $rc = 1 ] && grep -q 'holds 1 devices; there is no device 1' "$D/dev1.err" || msg="$msg [--device 1: exit $rc]"
	sys_guard "$SYS_BIN/iomt-sensor" stream --state "$D/none.state" --mec "${SYS_ADDR[gwd.udp]}" \
		--synthetic af >/dev/null 2>"$D/none.err"
	rc=$?
	[ $rc = 1 ] && grep -q 'none.state' "$D/none.err" || msg="$msg [no state file: exit $rc]"
	# SIGTERM mid-stream: the summary is printed, exit 1
	"$SYS_BIN/iomt-sensor" stream --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}" \
		--synthetic sinus --duration 1h --batch 1 --rate 20 >"$D/term.out" 2>"$D/term.err" &
	pid=$!
	streaming "$D/term.err"
	sleep 0.2
	kill -TERM $pid
	wait $pid
	rc=$?
	[ $rc = 1 ] && grep -q 'interrupted' "$D/term.err" && grep -q '^frames [1-9][0-9]*, .*; FAILED$' "$D/term.out" ||
		msg="$msg [SIGTERM: exit $rc: $(cat "$D/term.out") $(tail -n 1 "$D/term.err")]"
	# and as fast as possible (no pacing wait): a year of samples, stopped
	"$SYS_BIN/iomt-sensor" stream --state "$D/c.state" --mec "${SYS_ADDR[gwd.udp]}" \
		--synthetic sinus --duration 8000h --rate 0 >"$D/term2.out" 2>"$D/term2.err" &
	pid=$!
	streaming "$D/term2.err"
	kill -TERM $pid
	wait $pid
	rc=$?
	[ $rc = 1 ] && grep -q '^frames [1-9][0-9]*, .*; FAILED$' "$D/term2.out" ||
		msg="$msg [SIGTERM at --rate 0: exit $rc: $(cat "$D/term2.out") $(tail -n 1 "$D/term2.err")]"
	if [ -z "$msg" ]; then tap_ok e_usage_and_no_mec; else tap_fail e_usage_and_no_mec "$msg"; fi
}

# ---- f ----
case_f() {
	local f0 m0 rc ok sent setup
	[ -x "$SYS_BIN/iomt-load" ] || { tap_skip f_load_s2data "$SYS_BIN/iomt-load not built"; return; }
	f0=$(frames_ok) m0=$(gm iomt_gwd_m4_sent_total)
	sys_guard "$SYS_BIN/iomt-load" s2data --target "${SYS_ADDR[gwd.udp]}" --prov "$D/an-f/devices.prov" \
		--sensors 8 --rate 400 --seconds 1 --samples 20 --quiet >"$D/f.out" 2>"$D/f.err"
	rc=$?
	note "iomt-load: $(cat "$D/f.out")"
	ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' "$D/f.out")
	sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' "$D/f.out")
	setup=$(sed -n 's/.* setup_ok=\([0-9]*\).*/\1/p' "$D/f.out")
	[ $rc = 0 ] && [ "${ok:-0}" -ge 300 ] && [ "$ok" = "$sent" ] && [ "$setup" = 8 ] ||
		{ tap_fail f_load_s2data "exit $rc: $(cat "$D/f.out" "$D/f.err" | tail -n 2)"; return; }
	settle $((f0 + ok))
	[ "$(frames_ok)" = $((f0 + ok)) ] && [ "$(gm iomt_gwd_m4_sent_total)" = $((m0 + 8)) ] ||
		{ tap_fail f_load_s2data "MEC: $(($(frames_ok) - f0)) of $ok frames verified, $(($(gm iomt_gwd_m4_sent_total) - m0)) M4 for 8"; return; }
	tap_ok f_load_s2data
}

case_a
case_b
case_c
case_d
case_f
case_e	# last: its full-speed stream floods the MEC for a moment
rc=0; sys_stop gwd || rc=$?
[ $rc = 0 ] || note "iomt-gwd exit $rc"
tap_done

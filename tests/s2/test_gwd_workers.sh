#!/bin/bash
# iomt-gwd's ingress workers ('workers', userspace/gwd/engine.h, worker.h):
# extra threads with their own io_uring and SO_REUSEPORT socket on the
# same port, handing checked frames to worker 0. Driven by iomt-load from
# many UDP source ports (one socket per simulated sensor), so the kernel's
# 4-tuple hash spreads them over the sockets.
#   bad_workers   65, -1 and 'x' are refused (exit 2) saying why
#   agree_w2      seed-002 agreements with 'workers 2': all complete, no
#                 error; BOTH workers received frames (SO_REUSEPORT spread
#                 them), worker 1 handed its frames over, none dropped;
#                 the start-up log line; iomtctl status shows the count
#   agree_w0      'workers 0' = one per online CPU: the gauge says so, and
#                 agreements (from the rotated identities) complete
#   ipv6_w2       the same on [::1] with 'workers 2'
#   cookies_w2    always under load ('under_load_threshold 0'): each worker
#                 answers plain M1s with COOKIE_REPLY from its own socket and
#                 opens COOKIE_WRAP; the agreements complete
#   relay_w2      the relay role with 'workers 2': every REC_PUT acknowledged
#                 OK and stored, none lost; both workers got frames
#   dual_stack    a relay on [::] with 'workers 2' serves IPv4 (127.0.0.1)
#                 and IPv6 ([::1]) devices
#   sigterm_w2    SIGTERM while loaded: exit 0, "stopped", and every batch
#                 a device saw acknowledged is in the store
#   handoff_full  a hand-off ring of 16 slots under a closed-loop burst:
#                 frames are dropped, counted and logged, never silently (every
#                 unanswered batch is a counted drop), the rest acknowledged
#   baseline_one  'baseline' with 'workers 2' runs one worker (logged)
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-400}
. tests/sys_suite.sh
LOAD=$SYS_BIN/iomt-load
GWD=$SYS_BIN/iomt-gwd

CASES="bad_workers agree_w2 agree_w0 ipv6_w2 cookies_w2 relay_w2 dual_stack sigterm_w2 handoff_full baseline_one"
sys_suite_begin "$LOAD" || exit 0
D=$SYS_DIR
check() { local _case=$1; shift; if "$@"; then tap_ok "$_case"; else tap_fail "$_case" "${DETAIL:-}"; fi; DETAIL=; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p;s/^$2=\([^ ]*\).*/\1/p" "$1" | head -n 1; }
# wrx HOST:PORT W: datagrams worker W received; whand: frames it handed off.
wrx() { sys_metric "$1" "iomt_gwd_worker_frames_total{worker=\"$2\",stage=\"received\"}"; }
whand() { sys_metric "$1" "iomt_gwd_worker_frames_total{worker=\"$2\",stage=\"handed_off\"}"; }
wdrop() { sys_metric "$1" "iomt_gwd_handoff_drops_total{worker=\"$2\"}"; }
store_records() {
	sys_metrics "${SYS_ADDR[store.metrics]}" |
		awk '$1 ~ /^iomt_store_records_total/ && $1 ~ /stored/ { s += $2 } END { print s + 0 }'
}
NCPU=$(getconf _NPROCESSORS_ONLN)
[ "$NCPU" -gt 64 ] && NCPU=64

# ---- bad_workers ----
bad=0 msgs=
for v in 65 -1 x; do
	"$GWD" --set mec=no --set relay=yes --workers "$v" --listen 127.0.0.1:0 \
		--metrics-listen 127.0.0.1:0 >"$D/bad.out" 2>&1
	rc=$?
	msgs="$msgs [$v: rc=$rc $(head -n 1 "$D/bad.out")]"
	[ $rc = 2 ] && grep -Eq "workers: ('x' is not an integer|$v is out of range 0\.\.64)" "$D/bad.out" ||
		bad=1
done
DETAIL=$msgs
check bad_workers [ $bad = 0 ]

# ---- the seed-002 world: a TTP, a MEC pool, three analyses of 64 devices ----
NDEV=192
mec_world() {
	sys_ttp_init ttp && sys_user ttp alice patient hospital=H1 && sys_user ttp mecop mec &&
		pool=$(sys_mec_register ttp mec-1 256 mecop) && sys_ttp_start ttp &&
		for a in 1 2 3; do sys_analysis ttp alice 64 "$D/a$a" || return 1; done &&
		cat "$D/a1/devices.prov" "$D/a2/devices.prov" "$D/a3/devices.prov" >"$D/devs1" &&
		chmod 600 "$D/devs1" && sys_gwd_provision mec "$pool"
}
# agree N SECS: an agreement run from devsN, its rotated identities to
# devs(N+1); sets ok, err, to, rc.
agree() {
	local n=$1 secs=$2
	"$LOAD" agree --target "${SYS_ADDR[mec.udp]}" --prov "$D/devs$n" --prov-out "$D/devs$((n + 1))" \
		--sensors "$NDEV" --rate 200 --seconds "$secs" >"$D/agree$n.out" 2>"$D/agree$n.err"
	rc=$?
	ok=$(field "$D/agree$n.out" ok); err=$(field "$D/agree$n.out" errors)
	to=$(field "$D/agree$n.out" timeouts)
	echo "# agree$n: $(cat "$D/agree$n.out")"
}

if mec_world && sys_gwd_start mec ttp --workers 2 --control-socket "$D/mec/ctl.sock"; then
	MM=${SYS_ADDR[mec.metrics]}
	agree 1 2
	m4=$(sys_metric "$MM" iomt_gwd_m4_sent_total)
	r0=$(wrx "$MM" 0) r1=$(wrx "$MM" 1) h1=$(whand "$MM" 1) d1=$(wdrop "$MM" 1)
	st=$("$SYS_BIN/iomtctl" -s "$D/mec/ctl.sock" status)
	DETAIL="rc=$rc ok=$ok errors=$err timeouts=$to m4=$m4 rx0=$r0 rx1=$r1 handed1=$h1 drops1=$d1 status: $(echo "$st" | tr '\n' ' ') $(tail -n 2 "$D/agree1.err")"
	check agree_w2 eval '[ $rc = 0 ] && [ "$ok" -ge 200 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
		[ "$m4" = "$ok" ] && [ "${r0:-0}" -gt 0 ] && [ "${r1:-0}" -gt 0 ] &&
		[ "$h1" = "$r1" ] && [ "$d1" = 0 ] &&
		grep -q "ingress: io_uring, 2 workers (SO_REUSEPORT)" "$D/mec/mec.log" &&
		echo "$st" | grep -qx "workers: 2"'

	# ---- agree_w0: restarted on the same port, one worker per CPU ----
	sys_stop mec; src=$?
	if [ $src = 0 ] && sys_gwd_start mec ttp --same-ports --workers 0; then
		MM=${SYS_ADDR[mec.metrics]}
		agree 2 1
		nw=$(sys_metric "$MM" iomt_gwd_ingress_workers)
		DETAIL="rc=$rc ok=$ok errors=$err timeouts=$to workers=$nw (cpus $NCPU) $(tail -n 2 "$D/agree2.err")"
		check agree_w0 eval '[ $rc = 0 ] && [ "$ok" -ge 100 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
			[ "$nw" = "$NCPU" ]'
	else
		tap_fail agree_w0 "restart failed (stop rc=$src)"
	fi

	# ---- ipv6_w2: the MEC on [::1] ----
	sys_stop mec; src=$?
	if [ $src = 0 ] && sys_gwd_start mec ttp --workers 2 --listen '[::1]:0'; then
		MM=${SYS_ADDR[mec.metrics]}
		agree 3 1
		r0=$(wrx "$MM" 0) r1=$(wrx "$MM" 1) d1=$(wdrop "$MM" 1)
		DETAIL="udp=${SYS_ADDR[mec.udp]} rc=$rc ok=$ok errors=$err timeouts=$to rx0=$r0 rx1=$r1 drops1=$d1 $(tail -n 2 "$D/agree3.err")"
		check ipv6_w2 eval '[[ ${SYS_ADDR[mec.udp]} == "[::1]:"* ]] && [ $rc = 0 ] &&
			[ "$ok" -ge 100 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
			[ "${r0:-0}" -gt 0 ] && [ "${r1:-0}" -gt 0 ] && [ "$d1" = 0 ]'
	else
		tap_fail ipv6_w2 "start on [::1] failed (stop rc=$src)"
	fi

	# ---- cookies_w2 ----
	sys_stop mec; src=$?
	if [ $src = 0 ] && sys_gwd_start mec ttp --workers 2 --under-load-threshold 0; then
		MM=${SYS_ADDR[mec.metrics]}
		agree 4 1
		ck=$(field "$D/agree4.out" cookies)
		cr=$(sys_metric "$MM" iomt_gwd_cookie_replies_total)
		wok=$(sys_metric "$MM" 'iomt_gwd_cookie_wrapped_total{result="ok"}')
		r0=$(wrx "$MM" 0) r1=$(wrx "$MM" 1)
		DETAIL="rc=$rc ok=$ok errors=$err timeouts=$to cookies=$ck replies=$cr wrapped_ok=$wok rx0=$r0 rx1=$r1 $(tail -n 2 "$D/agree4.err")"
		check cookies_w2 eval '[ $rc = 0 ] && [ "$ok" -ge 100 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
			[ "${ck:-0}" -gt 0 ] && [ "${cr:-0}" -ge "$ok" ] && [ "${wok:-0}" -ge "$ok" ] &&
			[ "${r0:-0}" -gt 0 ] && [ "${r1:-0}" -gt 0 ]'
	else
		tap_fail cookies_w2 "restart failed (stop rc=$src)"
	fi
	sys_stop mec >/dev/null
else
	for c in agree_w2 agree_w0 ipv6_w2 cookies_w2; do tap_fail "$c" "seed-002 set-up failed (see above)"; done
fi

# ---- the relay: a store, a relay-only gateway ----
# relay_start NAME LISTEN [FLAGS...]: sets SYS_ADDR[NAME.udp], [NAME.metrics].
relay_start() {
	local g=$1 l=$2 d=$D/$1
	shift 2
	mkdir -p "$d" && rm -f "$d/ports"
	_sys_spawn "$g" "$d/$g.out" "$GWD" --set mec=no --set relay=yes \
		--store "${SYS_ADDR[store.addr]}" --listen "$l" --metrics-listen 127.0.0.1:0 \
		--port-file "$d/ports" --log-file "$d/$g.log" --store-reconnect-max 200ms "$@"
	_sys_wait_file "$d/ports" "$g" '^metrics_listen ' ||
		{ sys_err "relay $g did not start: $(tail -n 2 "$d/$g.out" "$d/$g.log")"; return 1; }
	SYS_ADDR[$g.udp]=$(sed -n 's/^listen //p' "$d/ports")
	SYS_ADDR[$g.metrics]=$(sed -n 's/^metrics_listen //p' "$d/ports")
	sys_wait_metric "${SYS_ADDR[$g.metrics]}" iomt_gwd_store_link_up 1 10
}
# data NAME TARGET SECS RATE: a REC_PUT run (4 records a batch); sets ok, err, to, rc.
data() {
	"$LOAD" data --target "$2" --sensors 300 --rate "$4" --seconds "$3" --records 4 \
		>"$D/$1.out" 2>"$D/$1.err"
	rc=$?
	ok=$(field "$D/$1.out" ok); err=$(field "$D/$1.out" errors); to=$(field "$D/$1.out" timeouts)
	echo "# $1: $(cat "$D/$1.out")"
}

if sys_store_start store && relay_start rl 127.0.0.1:0 --workers 2; then
	RM=${SYS_ADDR[rl.metrics]}
	s0=$(store_records)
	data relay "${SYS_ADDR[rl.udp]}" 2 500
	sleep 0.2
	gok=$(sys_metric "$RM" 'iomt_gwd_rec_acks_total{status="ok"}')
	s1=$(store_records)
	r0=$(wrx "$RM" 0) r1=$(wrx "$RM" 1) h1=$(whand "$RM" 1) d1=$(wdrop "$RM" 1)
	DETAIL="rc=$rc ok=$ok errors=$err timeouts=$to gwd_ok=$gok store=$((s1 - s0)) rx0=$r0 rx1=$r1 handed1=$h1 drops1=$d1 $(tail -n 2 "$D/relay.err")"
	check relay_w2 eval '[ $rc = 0 ] && [ "$ok" -ge 800 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
		[ "$gok" = "$ok" ] && [ $((s1 - s0)) = $((ok * 4)) ] &&
		[ "${r0:-0}" -gt 0 ] && [ "${r1:-0}" -gt 0 ] && [ "$h1" = "$r1" ] && [ "$d1" = 0 ]'
	sys_stop rl >/dev/null

	# ---- dual_stack ----
	if relay_start ds '[::]:0' --workers 2; then
		port=${SYS_ADDR[ds.udp]##*:}
		data ds4 "127.0.0.1:$port" 1 300; rc4=$rc ok4=$ok e4=$err t4=$to
		data ds6 "[::1]:$port" 1 300
		gok=$(sys_metric "${SYS_ADDR[ds.metrics]}" 'iomt_gwd_rec_acks_total{status="ok"}')
		DETAIL="udp=${SYS_ADDR[ds.udp]} v4: rc=$rc4 ok=$ok4 errors=$e4 timeouts=$t4; v6: rc=$rc ok=$ok errors=$err timeouts=$to; gwd_ok=$gok"
		check dual_stack eval '[ $rc4 = 0 ] && [ "$ok4" -ge 200 ] && [ "$e4" = 0 ] && [ "$t4" = 0 ] &&
			[ $rc = 0 ] && [ "$ok" -ge 200 ] && [ "$err" = 0 ] && [ "$to" = 0 ] &&
			[ "$gok" = $((ok4 + ok)) ]'
		sys_stop ds >/dev/null
	else
		tap_fail dual_stack "relay on [::] did not start"
	fi

	# ---- sigterm_w2: stopped while loaded ----
	if relay_start st 127.0.0.1:0 --workers 2; then
		s0=$(store_records)
		"$LOAD" data --target "${SYS_ADDR[st.udp]}" --sensors 300 --rate 1500 --seconds 3 \
			--records 4 --timeout 1 >"$D/st.out" 2>"$D/st.err" &
		lp=$!
		sleep 1.2
		r1=$(wrx "${SYS_ADDR[st.metrics]}" 1)
		sys_stop st; src=$?
		wait $lp; rc=$?
		sleep 0.2
		ok=$(field "$D/st.out" ok); s1=$(store_records)
		echo "# sigterm: $(cat "$D/st.out")"
		DETAIL="stop rc=$src load rc=$rc acked=$ok store=$((s1 - s0)) rx1_before=$r1 log: $(tail -n 3 "$D/st/st.log" | tr '\n' ' ')"
		check sigterm_w2 eval '[ $src = 0 ] && [ $rc = 0 ] && [ "${r1:-0}" -gt 0 ] &&
			[ "$ok" -ge 300 ] && [ $((s1 - s0)) -ge $((ok * 4)) ] &&
			tail -n 1 "$D/st/st.log" | grep -q " stopped$"'
	else
		tap_fail sigterm_w2 "relay did not start"
	fi

	# ---- handoff_full ----
	if relay_start hf 127.0.0.1:0 --workers 2 --handoff-slots 16; then
		HM=${SYS_ADDR[hf.metrics]}
		"$LOAD" data --target "${SYS_ADDR[hf.udp]}" --sensors 1000 --rate 0 --seconds 2 \
			--records 4 --timeout 0.5 >"$D/hf.out" 2>"$D/hf.err"
		rc=$?
		sleep 0.6
		ok=$(field "$D/hf.out" ok); to=$(field "$D/hf.out" timeouts)
		late=$(field "$D/hf.out" answers)
		gok=$(sys_metric "$HM" 'iomt_gwd_rec_acks_total{status="ok"}')
		d1=$(wdrop "$HM" 1) kd=$(sys_metric "$HM" iomt_gwd_udp_kernel_drops_total)
		echo "# handoff_full: $(cat "$D/hf.out")"
		DETAIL="rc=$rc ok=$ok gwd_ok=$gok timeouts=$to late=$late drops1=$d1 kernel=$kd log: $(grep -c 'hand-off ring to worker 0 full (16 slots)' "$D/hf/hf.log")"
		check handoff_full eval '[ $rc = 0 ] && [ "${d1:-0}" -gt 0 ] && [ "$ok" -gt 0 ] &&
			[ "$gok" -ge "$ok" ] && [ "$to" -le $((d1 + ${kd:-0} + ${late:-0})) ] &&
			grep -q "worker 1: hand-off ring to worker 0 full (16 slots): [0-9]* frame(s) dropped" "$D/hf/hf.log"'
		sys_stop hf >/dev/null
	else
		tap_fail handoff_full "relay did not start"
	fi
else
	for c in relay_w2 dual_stack sigterm_w2 handoff_full; do tap_fail "$c" "store or relay set-up failed (see above)"; done
fi

# ---- baseline_one ----
if relay_start bl 127.0.0.1:0 --workers 2 --baseline; then
	nw=$(sys_metric "${SYS_ADDR[bl.metrics]}" iomt_gwd_ingress_workers)
	sys_stop bl; src=$?
	DETAIL="workers=$nw stop rc=$src log: $(grep -i worker "$D/bl/bl.log" | tr '\n' ' ')"
	check baseline_one eval '[ "$nw" = 1 ] && [ $src = 0 ] &&
		grep -q "baseline mode: one worker" "$D/bl/bl.log" &&
		! grep -q "workers (SO_REUSEPORT)" "$D/bl/bl.log"'
else
	tap_fail baseline_one "relay with baseline did not start"
fi
tap_done

#!/bin/bash
# SPDX-License-Identifier: MIT
# iomt-gwd's ingress filter end to end (userspace/gwd/filter.h): two network
# namespaces joined by a veth pair (198.18.0.0/30); a TTP and iomt-gwd with
# 'xdp_interface vg' in one, the devices (iomt-load) in the other.
#   filter_mode      the XDP program attached (native or generic), or the
#                    daemon said why not and runs the same checks in userspace
#   agreements       seed-002 agreements through the filter: ok = M4s
#   junk_counted     junk dropped by the filter, counted by verdict, and
#                    iomtctl filter agrees with /metrics
#   xdp_metric       iomt_gwd_xdp_attached says which mode runs
#   under_load       under_load_threshold 0: a plain M1 gets COOKIE_REPLY,
#                    iomt-load resends it wrapped and the agreement completes;
#                    iomtctl status and filter say under load
#   bad_cookie       a COOKIE_WRAP with a forged cookie: dropped, counted
#   link_down_up     the interface's link changes are logged
#   detach_on_stop   SIGTERM: exit 0, no XDP program left on vg
#   detach_as_user   'user nobody' (privileges dropped after set-up): XDP
#                    held by a bpf_link, no "cannot detach" warning; SIGTERM:
#                    exit 0, no XDP program left on vg
#   kill9_detaches   the same daemon killed with SIGKILL: the link goes with
#                    the process, no XDP program left on vg
#   fallback_under_load  no xdp_interface: the userspace checks, under load
#                    the same COOKIE_REPLY / COOKIE_WRAP exchange
#   fallback_lo      no xdp_interface, on loopback: junk counted by verdict
# The test runs itself again inside the gateway's namespace (--inner), so
# the daemons' loopback ports are its own; namespaces are always removed.
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
CASES="filter_mode agreements junk_counted xdp_metric under_load bad_cookie link_down_up
detach_on_stop detach_as_user kill9_detaches fallback_under_load fallback_lo"

skip_all() {
	[ -n "${tap_n+x}" ] || . tests/tap.sh
	for c in $CASES; do tap_skip "$c" "$1"; done
	tap_done
	exit $?
}

if [ "${1:-}" != --inner ]; then
	NS_G=iomt-gwdx-g-$$
	NS_S=iomt-gwdx-s-$$
	cleanup() {
		ip netns pids "$NS_G" 2>/dev/null | xargs -r kill -TERM 2>/dev/null
		ip netns pids "$NS_S" 2>/dev/null | xargs -r kill -TERM 2>/dev/null
		sleep 0.2
		ip netns del "$NS_G" 2>/dev/null
		ip netns del "$NS_S" 2>/dev/null
	}
	[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, XDP)"
	for b in iomt-gwd iomt-load iomtctl iomt-ttp iomt-user; do
		[ -x "$BUILD/bin/$b" ] || skip_all "$BUILD/bin/$b not built"
	done
	trap cleanup EXIT INT TERM
	ip netns add "$NS_G" 2>/dev/null && ip netns add "$NS_S" 2>/dev/null ||
		skip_all "cannot create network namespaces"
	ip link add vg netns "$NS_G" type veth peer name vs netns "$NS_S" ||
		skip_all "cannot create a veth pair"
	ip -n "$NS_G" addr add 198.18.0.1/30 dev vg
	ip -n "$NS_S" addr add 198.18.0.2/30 dev vs
	for l in "$NS_G vg" "$NS_G lo" "$NS_S vs" "$NS_S lo"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip netns exec "$NS_S" ping -c 1 -W 2 198.18.0.1 >/dev/null 2>&1   # ARP first
	ip netns exec "$NS_G" bash "$0" --inner "$NS_S"
	exit $?
fi

# ---- inside the gateway's namespace ----
. tests/tap.sh
NS_S=$2
SYS_GUARD=${SYS_GUARD:-200}
. mk/system.sh
LOAD=$SYS_BIN/iomt-load
CTL=$SYS_BIN/iomtctl
sys_init || skip_all "cannot set up (see above)"
D=$SYS_DIR
check() { local _case=$1; shift; if "$@"; then tap_ok "$_case"; else tap_fail "$_case" "${DETAIL:-}"; fi; DETAIL=; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p;s/^$2=\([^ ]*\).*/\1/p" "$1" | head -n 1; }
gm() { local v; v=$(sys_metric "$1" "$2"); echo "${v:-0}"; }
fv() { gm "$1" "iomt_gwd_filter_total{verdict=\"$2\"}"; }
fdrops() { sys_metrics "$1" | awk '/^iomt_gwd_filter_total\{verdict="drop_/ { s += $2 } END { print s + 0 }'; }
# in_s CMD...: in the devices' namespace.
in_s() { ip netns exec "$NS_S" "$@"; }
# send_s HEX PORT: one datagram from the devices' namespace.
send_s() {
	local fmt
	fmt=$(echo "$1" | sed 's/../\\x&/g')
	in_s bash -c "printf '$fmt' > /dev/udp/198.18.0.1/$2"
}
zeros() { printf '%*s' $(($1 * 2)) '' | tr ' ' 0; }

gwd_up() {
	# all addresses (the veth and loopback); a restart keeps the port
	sys_gwd_start gwd ttp --set xdp_interface=vg "$@" --set listen=0.0.0.0:${PORT:-0} \
		--control-socket "$D/gwd/ctl.sock" --log-level debug
}
world() {
	sys_ttp_init ttp && sys_user ttp alice patient hospital=H1 && sys_user ttp mecop mec &&
		pool=$(sys_mec_register ttp mec-x 64 mecop) && sys_ttp_start ttp &&
		sys_analysis ttp alice 32 "$D/a1" && sys_gwd_provision gwd "$pool" && gwd_up
}
if ! world; then
	sys_suite_abort "set-up failed (see above)"
fi
GM=${SYS_ADDR[gwd.metrics]}
PORT=${SYS_ADDR[gwd.udp]##*:}
T=198.18.0.1:$PORT
LOG=$D/gwd/gwd.log

# ---- filter_mode ----
fi_=$("$CTL" -s "$D/gwd/ctl.sock" filter)
mode=$(echo "$fi_" | sed -n 's/^mode: //p')
why=$(grep -o 'XDP not available: .*' "$LOG" | head -n 1)
echo "# filter: $mode on $(echo "$fi_" | sed -n 's/^interface: //p')${why:+ ($why)}"
XDP=0
case $mode in xdp*) XDP=1 ;; esac
DETAIL="mode='$mode' log: $(grep -i 'xdp\|filter' "$LOG" | head -n 3)"
check filter_mode eval '{ [ $XDP = 1 ] && grep -q "XDP filter attached to vg" "$LOG"; } ||
	{ [ "$mode" = userspace ] && [ -n "$why" ]; }'

# ---- agreements through the filter ----
in_s "$LOAD" agree --target "$T" --prov "$D/a1/devices.prov" --prov-out "$D/a1/devices.2" \
	--sensors 32 --rate 100 --seconds 1 >"$D/agree.out" 2>"$D/agree.err"; rc=$?
echo "# agree: $(cat "$D/agree.out")"
ok=$(field "$D/agree.out" ok); er=$(field "$D/agree.out" errors); m4=$(gm "$GM" iomt_gwd_m4_sent_total)
DETAIL="rc=$rc ok=$ok errors=$er m4=$m4 $(tail -n 2 "$D/agree.err")"
check agreements eval '[ $rc = 0 ] && [ "${ok:-0}" -ge 50 ] && [ "$er" = 0 ] && [ "$m4" = "$ok" ]'

# ---- junk ----
d0=$(fdrops "$GM")
in_s "$LOAD" junk --target "$T" --sensors 10 --rate 300 --seconds 1 >"$D/junk.out" 2>"$D/junk.err"
sent=$(field "$D/junk.out" sent)
sleep 0.6	# XDP's counters reach the metrics every 250 ms
d1=$(fdrops "$GM")
fi_=$("$CTL" -s "$D/gwd/ctl.sock" filter)
cdrop=$(echo "$fi_" | awk '/^drop_/ { s += $2 } END { print s + 0 }')
echo "# junk: sent $sent, filter drops +$((d1 - d0)); iomtctl filter:" $fi_
DETAIL="sent=$sent drops=$((d1 - d0)) iomtctl=$cdrop metrics=$d1"
check junk_counted eval '[ "${sent:-0}" -ge 200 ] && [ $((d1 - d0)) = "$sent" ] && [ "$cdrop" = "$d1" ]'

# ---- xdp_metric ----
xa=$(gm "$GM" iomt_gwd_xdp_attached)
DETAIL="iomt_gwd_xdp_attached=$xa, mode $mode"
check xdp_metric [ "$xa" = $XDP ]

# ---- under load: threshold 0 ----
sys_stop gwd >/dev/null
gwd_up --set under_load_threshold=0
GM=${SYS_ADDR[gwd.metrics]}
st=$("$CTL" -s "$D/gwd/ctl.sock" status)
in_s "$LOAD" agree --target "$T" --prov "$D/a1/devices.2" --prov-out "$D/a1/devices.3" \
	--sensors 16 --rate 50 --seconds 1 >"$D/agree2.out" 2>"$D/agree2.err"; rc=$?
echo "# under load: $(cat "$D/agree2.out")"
ok=$(field "$D/agree2.out" ok); ck=$(field "$D/agree2.out" cookies)
cr=$(gm "$GM" iomt_gwd_cookie_replies_total)
wo=$(gm "$GM" 'iomt_gwd_cookie_wrapped_total{result="ok"}')
m4=$(gm "$GM" iomt_gwd_m4_sent_total)
fl=$("$CTL" -s "$D/gwd/ctl.sock" filter | sed -n 's/^under_load: //p')
DETAIL="rc=$rc ok=$ok cookies=$ck replies=$cr wrapped_ok=$wo m4=$m4 filter under_load=$fl status: $(echo $st)"
check under_load eval '[ $rc = 0 ] && [ "${ok:-0}" -ge 10 ] && [ "$ck" -ge "$ok" ] &&
	[ "$cr" -ge "$ok" ] && [ "$wo" = "$m4" ] && [ "$m4" = "$ok" ] && [ "$fl" = yes ] &&
	echo "$st" | grep -qx "under_load: yes" && grep -q "under load: plain requests get COOKIE_REPLY" "$LOG"'

# ---- a forged cookie ----
b0=$(fv "$GM" drop_bad_cookie); w0=$(gm "$GM" 'iomt_gwd_cookie_wrapped_total{result="bad"}')
send_s "01610054$(zeros 16)01010040$(zeros 64)" "$PORT"
sleep 0.6
b1=$(fv "$GM" drop_bad_cookie); w1=$(gm "$GM" 'iomt_gwd_cookie_wrapped_total{result="bad"}')
DETAIL="drop_bad_cookie $b0 -> $b1, wrapped bad $w0 -> $w1"
check bad_cookie [ $((b1 - b0 + w1 - w0)) = 1 ]

# ---- link down / up ----
ip link set vg down; sleep 0.3; ip link set vg up
i=0
until grep -q "vg (ifindex [0-9]*): link up" "$LOG" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
DETAIL="log: $(grep 'link \(up\|down\)' "$LOG" | tail -n 2)"
check link_down_up eval 'grep -q "vg (ifindex [0-9]*): link down" "$LOG" &&
	grep -q "vg (ifindex [0-9]*): link up" "$LOG"'
in_s ping -c 1 -W 2 198.18.0.1 >/dev/null 2>&1

# ---- stop ----
sys_stop gwd; rc=$?
DETAIL="exit $rc, $(ip link show vg | grep -o 'prog/xdp.*')"
check detach_on_stop eval '[ $rc = 0 ] && ! ip link show vg | grep -q "prog/xdp"'

# ---- privileges dropped: the bpf_link still detaches, and dies with us ----
# xdp_on_vg: a program on vg's XDP hook (ip -d shows "prog/xdp id N").
xdp_on_vg() { ip -d link show vg | grep -q 'prog/xdp'; }
chown -R nobody "$D/gwd"
: >"$LOG"
if [ $XDP = 1 ] && gwd_up --set user=nobody; then
	up=$(xdp_on_vg && echo yes); u=$(ps -o user= -p "$(sys_pid gwd)")
	sys_stop gwd; rc=$?
	DETAIL="exit $rc, user '$u', on vg while up: '$up', now: $(ip -d link show vg | grep -o 'prog/xdp.*'), log: $(grep -i 'xdp' "$LOG" | head -n 3)"
	check detach_as_user eval '[ $rc = 0 ] && [ "$u" = nobody ] && [ "$up" = yes ] &&
		grep -q "XDP filter attached to vg (.*bpf_link)" "$LOG" &&
		! grep -q "cannot detach" "$LOG" && ! xdp_on_vg'
	: >"$LOG"
	if gwd_up --set user=nobody; then
		up=$(xdp_on_vg && echo yes)
		sys_kill9 gwd
		i=0   # the kernel releases the link as the process's files close
		while xdp_on_vg && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		DETAIL="on vg while up: '$up', after SIGKILL: $(ip -d link show vg | grep -o 'prog/xdp.*')"
		check kill9_detaches eval '[ "$up" = yes ] && ! xdp_on_vg'
	else
		tap_fail kill9_detaches "iomt-gwd as nobody did not start: $(tail -n 3 "$LOG")"
	fi
elif [ $XDP = 1 ]; then
	tap_fail detach_as_user "iomt-gwd as nobody did not start: $(tail -n 3 "$LOG")"
	tap_fail kill9_detaches "iomt-gwd as nobody did not start"
else
	tap_skip detach_as_user "XDP not attached here (mode $mode)"
	tap_skip kill9_detaches "XDP not attached here (mode $mode)"
fi

# ---- the userspace checks under load (no xdp_interface) ----
gwd_up --set xdp_interface= --set under_load_threshold=0
GM=${SYS_ADDR[gwd.metrics]}
in_s "$LOAD" agree --target "$T" --prov "$D/a1/devices.3" --sensors 16 --rate 50 --seconds 1 \
	>"$D/agree3.out" 2>"$D/agree3.err"; rc=$?
echo "# userspace, under load: $(cat "$D/agree3.out")"
ok=$(field "$D/agree3.out" ok); ck=$(field "$D/agree3.out" cookies)
m4=$(gm "$GM" iomt_gwd_m4_sent_total); wo=$(gm "$GM" 'iomt_gwd_cookie_wrapped_total{result="ok"}')
p=$(fv "$GM" pass); mode=$("$CTL" -s "$D/gwd/ctl.sock" filter | sed -n 's/^mode: //p')
DETAIL="rc=$rc ok=$ok cookies=$ck m4=$m4 wrapped_ok=$wo pass=$p mode=$mode"
check fallback_under_load eval '[ $rc = 0 ] && [ "${ok:-0}" -ge 10 ] && [ "$ck" -ge "$ok" ] &&
	[ "$m4" = "$ok" ] && [ "$wo" = "$m4" ] && [ "$p" -ge $((2 * ok)) ] && [ "$mode" = userspace ]'
sys_stop gwd >/dev/null

# ---- the userspace fallback on loopback ----
sys_gwd_provision lo "$pool" && sys_gwd_start lo ttp
LM=${SYS_ADDR[lo.metrics]}
"$LOAD" junk --target "${SYS_ADDR[lo.udp]}" --sensors 5 --rate 200 --seconds 1 >"$D/junk2.out" 2>&1
sent=$(field "$D/junk2.out" sent)
sleep 0.3
m=$(fv "$LM" drop_malformed); s=$(fv "$LM" drop_size); xa=$(gm "$LM" iomt_gwd_xdp_attached)
DETAIL="sent=$sent drop_malformed=$m drop_size=$s xdp_attached=$xa"
check fallback_lo eval '[ "${sent:-0}" -ge 100 ] && [ $((m + s)) = "$sent" ] && [ "$m" -gt 0 ] &&
	[ "$xa" = 0 ] && grep -q "XDP not available: no interface configured" "$D/lo/lo.log"'
tap_done

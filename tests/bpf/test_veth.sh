#!/bin/bash
# SPDX-License-Identifier: MIT
# The XDP filter end to end: two network namespaces joined by a veth pair
# (198.18.0.0/30), the filter attached to the gateway's end by
# tests/bpf/xdpctl (rt_nl + rt_xdp), valid and junk UDP sent from the other
# end. The verdict counters must match what was sent, and the gateway's UDP
# stack must see only what the filter passed (Udp NoPorts in its
# /proc/net/snmp: nothing listens on the port).
. tests/tap.sh
BUILD=${BUILD:-build}
XDPCTL=$BUILD/tests/bpf/xdpctl
PORT=5683
NS_G=iomt-xdp-g-$$
NS_S=iomt-xdp-s-$$
CASES="attach valid_pass junk_malformed wrong_size_dropped other_port_passes
no_session_then_session stack_saw_only_passed link_down_up detach"
tmp=$(mktemp -d)

cleanup() {
	[ -n "${XDP_PID:-}" ] && kill "$XDP_PID" 2>/dev/null && wait "$XDP_PID" 2>/dev/null
	ip netns del "$NS_G" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

skip_all() {
	for c in $CASES; do tap_skip "$c" "$1"; done
	tap_done
	exit $?
}

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, XDP)"
[ -x "$XDPCTL" ] || skip_all "$XDPCTL not built"
ip netns add "$NS_G" 2>/dev/null && ip netns add "$NS_S" 2>/dev/null ||
	skip_all "cannot create network namespaces"
ip link add vg netns "$NS_G" type veth peer name vs netns "$NS_S" ||
	skip_all "cannot create a veth pair"
ip -n "$NS_G" addr add 198.18.0.1/30 dev vg
ip -n "$NS_S" addr add 198.18.0.2/30 dev vs
ip -n "$NS_G" link set vg up
ip -n "$NS_S" link set vs up
ip -n "$NS_G" link set lo up

# xdpctl as a coprocess: commands in, one answer line each.
coproc XDP { exec ip netns exec "$NS_G" "$XDPCTL" vg "$PORT" 2>"$tmp/err"; }
XDP_PID=$XDP_PID
ask() { echo "$1" >&"${XDP[1]}"; read -r -t 10 -u "${XDP[0]}" reply || reply="(no answer)"; }
read -r -t 10 -u "${XDP[0]}" link || link=""
read -r -t 10 -u "${XDP[0]}" attached || attached=""
echo "# $link"
echo "# $attached"
case "$attached" in
attached*) tap_ok attach ;;
*)
	why=$(cat "$tmp/err")
	echo "# $why"
	# The kernel refusing XDP is a skip, not a failure: the daemon falls back.
	case "$why" in
	*"XDP not available"*) XDP_PID=; skip_all "$why" ;;
	*) tap_fail attach "$why" ;;
	esac
	;;
esac

# send N HEXPAYLOAD [PORT]: N datagrams from the sender's namespace.
send() {
	local n=$1 hex=$2 port=${3:-$PORT} fmt
	fmt=$(echo "$hex" | sed 's/../\\x&/g')
	ip netns exec "$NS_S" bash -c "for i in \$(seq $n); do printf '$fmt' > /dev/udp/198.18.0.1/$port; done"
}
zeros() { printf '%*s' $(($1 * 2)) '' | tr ' ' 0; }
counter() { echo "$reply" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
noports() { ip netns exec "$NS_G" awk '/^Udp:/ { if (h) print $3; h = 1 }' /proc/net/snmp; }

ip netns exec "$NS_S" ping -c 1 -W 2 198.18.0.1 >/dev/null 2>&1   # ARP first
np0=$(noports)
ask counters
nn0=$(counter PASS_NOT_OURS)

send 5 "01040030$(zeros 48)"                 # M4, 48 bytes: valid
send 20 "ee000004deadbeef"                  # unknown type
send 10 "0101003f$(zeros 63)"                # M1 one byte short
send 3 "ee000004deadbeef" 5684              # not the service port
# S2_DATA (39 bytes): handle 0102030405060708, counter 1
data="01400027 0102030405060708 0000000000000001 $(zeros 23)"
data=${data// /}
send 1 "$data"
ask "session 0102030405060708 0 0"
send 1 "$data"
sleep 0.5
ask counters
echo "# $reply"
[ "$(counter PASS)" = 6 ] && tap_ok valid_pass || tap_fail valid_pass "PASS=$(counter PASS), want 6"
[ "$(counter DROP_MALFORMED)" = 20 ] && tap_ok junk_malformed ||
	tap_fail junk_malformed "DROP_MALFORMED=$(counter DROP_MALFORMED), want 20"
[ "$(counter DROP_SIZE)" = 10 ] && tap_ok wrong_size_dropped ||
	tap_fail wrong_size_dropped "DROP_SIZE=$(counter DROP_SIZE), want 10"
nn=$(( $(counter PASS_NOT_OURS) - nn0 ))
[ "$nn" -ge 3 ] && tap_ok other_port_passes || tap_fail other_port_passes "PASS_NOT_OURS +$nn, want >= 3"
[ "$(counter DROP_NO_SESSION)" = 1 ] && tap_ok no_session_then_session ||
	tap_fail no_session_then_session "DROP_NO_SESSION=$(counter DROP_NO_SESSION), want 1"
np=$(( $(noports) - np0 ))
# 6 passed + 3 to the other port reached the stack (nothing listens): 9.
[ "$np" = 9 ] && tap_ok stack_saw_only_passed || tap_fail stack_saw_only_passed "Udp NoPorts +$np, want 9"
# rt_nl's watch sees the link go down and up; the program stays attached.
ip -n "$NS_G" link set vg down
ask "linkwait down"
down=$reply
ip -n "$NS_G" link set vg up
ask "linkwait up"
echo "# $down, then $reply"
if [ "$down" = "link down" ] && [ "$reply" = "link up" ] &&
	ip -n "$NS_G" link show vg | grep -q "prog/xdp"; then
	tap_ok link_down_up
else
	tap_fail link_down_up "$down, then $reply"
fi
ask quit
[ "$reply" = detached ] && tap_ok detach || tap_fail detach "$reply"
wait "$XDP_PID" 2>/dev/null
XDP_PID=
if ip -n "$NS_G" link show vg | grep -q "prog/xdp"; then
	cat "$tmp/err"; tap_fail detach "program still attached"
fi
tap_done

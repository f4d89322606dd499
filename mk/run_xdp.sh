#!/bin/bash
# SPDX-License-Identifier: MIT
# make run's ingress step (called by mk/run.sh): traffic through XDP +
# io_uring. Two network namespaces joined by a veth pair (198.18.2.0/30): a
# TTP and iomt-gwd with 'xdp_interface vg' and two ingress workers (two
# rings, SO_REUSEPORT) in one, devices (iomt-load) in the
# other; a burst of agreements and of junk, then what iomtctl says. If XDP
# cannot attach, the daemon says why and the same checks run in userspace.
# The namespaces are always removed. Usage: BUILD=... mk/run_xdp.sh
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export BUILD
say() { printf '    %s\n' "$*"; }

if [ "${1:-}" != --inner ]; then
	NS_G=iomt-run-g-$$
	NS_S=iomt-run-s-$$
	cleanup() {
		ip netns pids "$NS_G" 2>/dev/null | xargs -r kill -TERM 2>/dev/null
		ip netns pids "$NS_S" 2>/dev/null | xargs -r kill -TERM 2>/dev/null
		sleep 0.2
		ip netns del "$NS_G" 2>/dev/null
		ip netns del "$NS_S" 2>/dev/null
	}
	if [ "$(id -u)" != 0 ]; then
		say "skipped: needs root (network namespaces, XDP)"
		exit 0
	fi
	trap cleanup EXIT INT TERM
	if ! { ip netns add "$NS_G" && ip netns add "$NS_S" &&
		ip link add vg netns "$NS_G" type veth peer name vs netns "$NS_S"; } 2>/dev/null; then
		say "skipped: cannot create network namespaces and a veth pair here"
		exit 0
	fi
	ip -n "$NS_G" addr add 198.18.2.1/30 dev vg
	ip -n "$NS_S" addr add 198.18.2.2/30 dev vs
	for l in "$NS_G vg" "$NS_G lo" "$NS_S vs" "$NS_S lo"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip netns exec "$NS_S" ping -c 1 -W 2 198.18.2.1 >/dev/null 2>&1
	say "namespaces $NS_G (gateway: vg 198.18.2.1) and $NS_S (devices: vs 198.18.2.2), one veth pair"
	ip netns exec "$NS_G" bash "$0" --inner "$NS_S"
	exit $?
fi

NS_S=$2
. mk/system.sh
SYS_GUARD=120
sys_init || exit 1
D=$SYS_DIR
CTL=$SYS_BIN/iomtctl
fail() { say "FAILED: $*"; exit 1; }
sys_ttp_init ttp && sys_user ttp pat patient hospital=H1 && sys_user ttp op mec &&
	pool=$(sys_mec_register ttp mec-edge 64 op) && sys_ttp_start ttp &&
	sys_analysis ttp pat 48 "$D/a" && sys_gwd_provision gwd "$pool" &&
	sys_gwd_start gwd ttp --set listen=0.0.0.0:0 --set xdp_interface=vg --set workers=2 \
		--control-socket "$D/gwd/ctl.sock" || fail "set-up (see above)"
PORT=${SYS_ADDR[gwd.udp]##*:}
grep -hE 'ingress: io_uring|workers|XDP filter attached|XDP not available|ingress filter:' "$D/gwd/gwd.log" |
	sed 's/.*iomt-gwd: //' | while read -r l; do say "iomt-gwd: $l"; done
ip netns exec "$NS_S" "$SYS_BIN/iomt-load" agree --target "198.18.2.1:$PORT" \
	--prov "$D/a/devices.prov" --sensors 48 --rate 200 --seconds 2 >"$D/agree.out" 2>/dev/null
say "from $NS_S, iomt-load agree (48 devices, 200/s, 2 s): $(grep -o 'sent=[0-9]* ok=[0-9]* refused=[0-9]* errors=[0-9]* timeouts=[0-9]*' "$D/agree.out")"
ip netns exec "$NS_S" "$SYS_BIN/iomt-load" junk --target "198.18.2.1:$PORT" \
	--sensors 20 --rate 2000 --seconds 1 >"$D/junk.out" 2>/dev/null
say "from $NS_S, iomt-load junk (2000/s, 1 s): $(grep -o 'sent=[0-9]*' "$D/junk.out")"
sleep 0.5
say "\$ iomtctl status"
"$CTL" -s "$D/gwd/ctl.sock" status | sed 's/^/      /'
say "\$ iomtctl filter"
"$CTL" -s "$D/gwd/ctl.sock" filter | sed 's/^/      /'
say "\$ iomtctl stats | grep -E 'filter_total|xdp_attached|ingress_uring|worker_frames|handoff_drops|m4_sent|under_load '"
"$CTL" -s "$D/gwd/ctl.sock" stats |
	grep -E 'filter_total|xdp_attached|ingress_uring|worker_frames|handoff_drops|m4_sent|under_load ' | sed 's/^/      /'
sys_stop gwd || fail "iomt-gwd did not stop cleanly"
if ip link show vg | grep -q prog/xdp; then
	fail "an XDP program is still attached to vg"
fi
say "iomt-gwd stopped (exit 0); vg has no XDP program left"

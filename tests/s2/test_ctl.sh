#!/bin/bash
# iomtctl and iomt-gwd's control socket (userspace/gwd/control.h) against a
# real relay-only daemon on loopback (its store is not there: the link
# stays down, which status must say).
#   status, stats, sessions, filter: the answers, checked against /metrics
#   bad commands: iomtctl refuses them (exit 2), the daemon answers
#   "error: ..." to a raw one; no daemon: exit 1
#   the socket: mode 0600 (0660 on request), a bad mode or a relative path
#   refused, a live socket not taken over, a stale one replaced
#   SIGTERM: exit 0 and the socket removed
cd "$(dirname "$0")/../.." || exit 1
SYS_GUARD=${SYS_GUARD:-120}
. tests/sys_suite.sh
CTL=$SYS_BIN/iomtctl

CASES="status stats sessions filter bad_command no_daemon mode_0600 mode_0660 bad_config live_socket stale_socket sigterm"
sys_suite_begin "$CTL" || exit 0
D=$SYS_DIR
check() { local _case=$1; shift; if "$@"; then tap_ok "$_case"; else tap_fail "$_case" "${DETAIL:-}"; fi; DETAIL=; }

# gwd_start NAME [--KEY VALUE...]: a relay-only iomt-gwd whose store is away.
gwd_start() {
	local g=$1 d=$D/$1
	shift
	mkdir -p "$d" && chmod 0700 "$d"
	rm -f "$d/ports"
	_sys_spawn "$g" "$d/$g.out" "$SYS_BIN/iomt-gwd" --set mec=no --set relay=yes \
		--store 127.0.0.1:9 --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
		--port-file "$d/ports" --log-file "$d/$g.log" "$@"
	_sys_wait_file "$d/ports" "$g" '^metrics_listen ' || return 1
	SYS_ADDR[$g.udp]=$(sed -n 's/^listen //p' "$d/ports")
	SYS_ADDR[$g.metrics]=$(sed -n 's/^metrics_listen //p' "$d/ports")
}

SOCK=$D/g1/ctl.sock
if ! gwd_start g1 --control-socket "$SOCK" --spool-dir "$D/g1/spool"; then
	sys_suite_abort "iomt-gwd did not start: $(tail -n 3 "$D/g1/g1.out" "$D/g1/g1.log" 2>/dev/null)"
fi

# Some traffic the counters must show: 5 datagrams that are no frame.
for i in 1 2 3 4 5; do
	printf 'junk' >"/dev/udp/127.0.0.1/${SYS_ADDR[g1.udp]##*:}"
done
sys_wait_metric "${SYS_ADDR[g1.metrics]}" 'iomt_gwd_dropped_total{reason="size"}' 5 5
# And sealed batches the spool keeps (the store is away): iomt-load data.
"$SYS_BIN/iomt-load" data --target "${SYS_ADDR[g1.udp]}" --sensors 4 --seconds 0.3 \
	--timeout 0.05 --quiet >"$D/load.out" 2>&1
nspool=$(sed -n 's/.* sent=\([0-9]*\) .*/\1/p' "$D/load.out")
sys_wait_metric "${SYS_ADDR[g1.metrics]}" iomt_gwd_rec_spooled_total "${nspool:-1}" 5
bspool=$(sys_metric "${SYS_ADDR[g1.metrics]}" iomt_gwd_rec_spool_bytes)

# ---- status -------------------------------------------------------------------
st=$("$CTL" -s "$SOCK" status)
DETAIL="got: $(echo "$st" | tr '\n' '|')"
check status eval 'echo "$st" | grep -qx "roles: relay" &&
	echo "$st" | grep -qx "listen: ${SYS_ADDR[g1.udp]}" &&
	echo "$st" | grep -qx "metrics: ${SYS_ADDR[g1.metrics]}" &&
	echo "$st" | grep -qx "store_link: down" &&
	[ "${nspool:-0}" -gt 0 ] && echo "$st" | grep -qx "spool: $nspool batches, $bspool bytes" &&
	echo "$st" | grep -qx "under_load: no" &&
	echo "$st" | grep -Eq "^uptime: [0-9]+\.[0-9]{3}s$" && ! echo "$st" | grep -q ttp_link'

# ---- stats: every /metrics sample, same values for the settled ones -----------
stats=$("$CTL" --socket "$SOCK" stats)
met=$(sys_metrics "${SYS_ADDR[g1.metrics]}")
v=$(echo "$stats" | awk '$1 == "iomt_gwd_dropped_total{reason=\"size\"}" { print $2 }')
n_ctl=$(echo "$stats" | wc -l)
n_met=$(echo "$met" | grep -vc '^#')
DETAIL="size drops $v, lines $n_ctl vs $n_met"
check stats eval '[ "$v" = 5 ] && [ "$n_ctl" = "$n_met" ] &&
	[ "$(echo "$stats" | cut -d" " -f1)" = "$(echo "$met" | grep -v "^#" | cut -d" " -f1)" ]'

# ---- sessions (relay: none; the gauge agrees) ---------------------------------
se=$("$CTL" -s "$SOCK" sessions)
DETAIL="got: $se"
check sessions eval '[ "$se" = "sessions: 0" ] &&
	[ "$(sys_metric "${SYS_ADDR[g1.metrics]}" iomt_gwd_sessions)" = 0 ]'

# No xdp_interface: the same checks in userspace; the 5 short datagrams
# above were dropped by the filter too, and its counts are the metrics'.
fi_=$("$CTL" -s "$SOCK" filter)
fdrop=$(echo "$fi_" | awk '/^drop_(malformed|size):/ { s += $2 } END { print s + 0 }')
mdrop=$(sys_metrics "${SYS_ADDR[g1.metrics]}" |
	awk '/^iomt_gwd_filter_total\{verdict="drop_(malformed|size)"\}/ { s += $2 } END { print s + 0 }')
DETAIL="got: $fi_ (metrics: $mdrop)"
check filter eval 'echo "$fi_" | grep -qx "mode: userspace" &&
	echo "$fi_" | grep -qx "interface: (none)" && [ "$fdrop" -ge 5 ] && [ "$fdrop" = "$mdrop" ]'

# ---- bad commands --------------------------------------------------------------
raw_reply() {
	python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
}
"$CTL" -s "$SOCK" reboot >/dev/null 2>"$D/bad.err"; rc=$?
if command -v python3 >/dev/null; then
	r1=$(raw_reply $'reboot\n'); r2=$(raw_reply "$(head -c 200 /dev/zero | tr '\0' a)")
	r3=$(raw_reply $'status\n')
	DETAIL="rc=$rc raw: '$r1' '$r2'"
	check bad_command eval '[ $rc = 2 ] && grep -q "unknown command" "$D/bad.err" &&
		[ "${r1%% (*}" = "error: unknown command" ] && [ "$r2" = "error: request too long" ] &&
		[ "${r3%%$'"'"'\n'"'"'*}" = ok ]'
else
	tap_skip bad_command "python3 not found: no raw client for the daemon's error reply"
fi
"$CTL" -s "$D/nowhere.sock" status >/dev/null 2>"$D/nd.err"; rc=$?
DETAIL="rc=$rc $(cat "$D/nd.err")"
check no_daemon eval '[ $rc = 1 ] && grep -q "nowhere.sock" "$D/nd.err"'

# ---- the socket's mode and ownership of the path -------------------------------
DETAIL="mode $(stat -c %a "$SOCK")"
check mode_0600 eval '[ "$(stat -c %a "$SOCK")" = 600 ] && [ -S "$SOCK" ]'
gwd_start g2 --control-socket "$D/g2/ctl.sock" --control-mode 0660
DETAIL="mode $(stat -c %a "$D/g2/ctl.sock" 2>&1)"
check mode_0660 eval '[ "$(stat -c %a "$D/g2/ctl.sock")" = 660 ] &&
	"$CTL" -s "$D/g2/ctl.sock" status | grep -q "roles: relay"'
sys_stop g2 >/dev/null

bad_start() {	# bad_start NAME EXPECT ARGS...: fails to start, says EXPECT
	local n=$1 e=$2
	shift 2
	mkdir -p "$D/$n"
	timeout 10 "$SYS_BIN/iomt-gwd" --set mec=no --set relay=yes --store 127.0.0.1:9 \
		--listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 "$@" >"$D/$n.err" 2>&1 && return 1
	grep -q -- "$e" "$D/$n.err" || { echo "# $n: $(cat "$D/$n.err")"; return 1; }
}
check bad_config eval 'bad_start b1 "0600 or 0660" --control-socket "$D/b1.sock" --control-mode 0644 &&
	bad_start b2 "absolute" --control-socket @abstract &&
	bad_start b3 "not a socket" --control-socket "$D/b3.err"'
check live_socket eval 'bad_start b4 "another daemon answers" --control-socket "$SOCK" &&
	"$CTL" -s "$SOCK" status >/dev/null'

# ---- crash leaves a stale socket: the next start replaces it -------------------
gwd_start g3 --control-socket "$D/g3/ctl.sock"
sys_kill9 g3
stale=no; [ -S "$D/g3/ctl.sock" ] && stale=yes
gwd_start g3 --control-socket "$D/g3/ctl.sock"
DETAIL="stale left: $stale"
check stale_socket eval '[ $stale = yes ] && "$CTL" -s "$D/g3/ctl.sock" status | grep -q "roles: relay"'
sys_stop g3 >/dev/null

# ---- a graceful stop removes the socket ----------------------------------------
sys_stop g1; rc=$?
DETAIL="exit $rc, socket left: $(ls "$SOCK" 2>&1)"
check sigterm eval '[ $rc = 0 ] && [ ! -e "$SOCK" ]'
tap_done

# shellcheck shell=bash
# mk/system.sh — set up and drive the whole seed-002 system on loopback.
#
# A bash library, sourced by mk/run.sh, the script suites (through
# tests/sys_suite.sh: sys_suite_begin, sys_suite_abort, sys_check) and
# tests/bench/bench_*.sh. It runs the real programs of build/bin in a
# temporary directory, on 127.0.0.1 only, with ports chosen by the OS:
#
#   . mk/system.sh
#   sys_init                                # temp dir, cleanup trap
#   sys_ttp_init ttp                        # database + CA key   (TTP "ttp")
#   sys_user ttp alice patient hospital=H1  # phase 1: keygen -> register-user -> finish
#   sys_user ttp mecop mec
#   pool=$(sys_mec_register ttp mec-1 256 mecop)   # sealed pool, unsealed by the operator
#   sys_ttp_start ttp --log-level debug
#   sys_analysis ttp alice 64 "$SYS_DIR/a1"        # phase 2: a1/analysis.id, a1/devices.prov
#   sys_gwd_provision gwd "$pool"
#   sys_gwd_start gwd ttp --log-level debug        # waits for the TTP link
#   sys_sensor_provision "$SYS_DIR/a1/devices.prov" "$SYS_DIR/a1.state"
#   sys_sensor_run out "$SYS_DIR/a1.state" gwd --agreements 3   # out.json, out.log
#   sys_metric "${SYS_ADDR[gwd.metrics]}" iomt_gwd_m4_sent_total
#   sys_stop gwd; sys_stop ttp              # SIGTERM; returns the exit status
#
# Names: every TTP, gateway and background sensor has a name; its files live
# in $SYS_DIR/NAME/ (the TTP: ttp.db, ca.key, ca.pem, audit.log, NAME.log;
# the gateway: gwd.state, NAME.log). Bound addresses are in SYS_ADDR:
# NAME.link, NAME.user, NAME.metrics (TTP); NAME.udp, NAME.metrics (gwd).
#
# Every process started runs under timeout(1) (SYS_GUARD seconds for
# daemons and background runs, SYS_RUN_GUARD for foreground commands), so
# nothing outlives a hung script; sys_cleanup (the EXIT trap set by
# sys_init) stops every daemon and background run this library started,
# by process id, and removes the temporary directory (SYS_KEEP=1 keeps it).
# Diagnostics go to stderr; functions return non-zero on failure.

SYS_ROOT=${SYS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
case ${BUILD:-build} in
/*) SYS_BIN=${SYS_BIN:-${BUILD}/bin} ;;
*) SYS_BIN=${SYS_BIN:-$SYS_ROOT/${BUILD:-build}/bin} ;;
esac
SYS_GUARD=${SYS_GUARD:-300}        # seconds: longest life of a daemon / background run
SYS_RUN_GUARD=${SYS_RUN_GUARD:-120} # seconds: longest foreground command
SYS_START_WAIT=${SYS_START_WAIT:-10} # seconds to wait for a daemon's port file / link
SYS_STOP_WAIT=${SYS_STOP_WAIT:-15}   # seconds to wait for an exit after SIGTERM
SYS_DIR=
declare -gA SYS_ADDR=() SYS_WRAP=()
declare -ga SYS_ORDER=()

sys_err() { printf '%s\n' "system: $*" >&2; }

# sys_init [DIR]: creates the working directory (a fresh mktemp one unless
# DIR is given) and installs the cleanup trap.
sys_init() {
	local b
	for b in iomt-ttp iomt-gwd iomt-sensor iomt-user iomt-kdc iomt-kclient iomt-ppd iomt-store; do
		[ -x "$SYS_BIN/$b" ] || { sys_err "$SYS_BIN/$b missing: build first (make)"; return 1; }
	done
	if [ -n "${1:-}" ]; then
		SYS_DIR=$1
		mkdir -p "$SYS_DIR" || return 1
	else
		SYS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/iomt-system.XXXXXX") || return 1
	fi
	SYS_DIR=$(cd "$SYS_DIR" && pwd)
	trap 'sys_cleanup' EXIT
	trap 'sys_cleanup; trap - INT; kill -INT $$' INT
	trap 'sys_cleanup; trap - TERM; kill -TERM $$' TERM
	trap 'sys_cleanup; trap - HUP; kill -HUP $$' HUP
}

# sys_suite_begin [--sqlite] PROG...: the prologue of a TAP script suite
# (tests/tap.sh sourced, its case names in $CASES). Each PROG is a program
# of $SYS_BIN or, with a slash, a path that must be executable; --sqlite
# also needs sqlite3. All there: sys_init, returns 0. Otherwise (or if
# sys_init fails) every case of $CASES is skipped, saying why, the TAP
# totals are printed and it returns 1: `sys_suite_begin ... || exit 0`.
sys_suite_begin() {
	local why= sq= b p c
	[ "${1:-}" = --sqlite ] && { sq=1; shift; }
	for b in "$@"; do
		case $b in */*) p=$b ;; *) p=$SYS_BIN/$b ;; esac
		[ -x "$p" ] || why="$p not built (make)"
	done
	[ -n "$sq" ] && ! command -v sqlite3 >/dev/null && why="sqlite3 missing (make deps)"
	[ -z "$why" ] && sys_init && return 0
	for c in $CASES; do tap_skip "$c" "${why:-cannot set up (see above)}"; done
	tap_done
	return 1
}

# sys_suite_abort REASON: a suite's set-up failed: every case of $CASES
# fails with REASON, the TAP totals are printed and the suite exits (1).
sys_suite_abort() {
	local c
	for c in $CASES; do tap_fail "$c" "$1"; done
	tap_done
	exit
}

# sys_check NAME COMMAND... [-- DETAIL]: one TAP line (tests/tap.sh):
# ok if COMMAND succeeds, else a failure saying DETAIL.
sys_check() {
	local name=$1 detail=
	local -a cmd=()
	shift
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then detail=$2; break; fi
		cmd+=("$1")
		shift
	done
	if "${cmd[@]}"; then tap_ok "$name"; else tap_fail "$name" "$detail"; fi
}

# sys_guard CMD...: a foreground command under timeout (SYS_RUN_GUARD s).
sys_guard() {
	timeout --foreground -k 5 "$SYS_RUN_GUARD" "$@"
}

# ---- processes ---------------------------------------------------------------

# _sys_spawn NAME LOG CMD...: starts CMD in the background under timeout;
# stdout and stderr go to LOG (appended).
_sys_spawn() {
	local name=$1 log=$2
	shift 2
	timeout -k 5 "$SYS_GUARD" "$@" >>"$log" 2>&1 &
	SYS_WRAP[$name]=$!
	local n
	for n in "${SYS_ORDER[@]}"; do [ "$n" = "$name" ] && return 0; done
	SYS_ORDER+=("$name")
}

# sys_alive NAME: the process is still running.
sys_alive() {
	local w=${SYS_WRAP[$1]:-}
	[ -n "$w" ] && kill -0 "$w" 2>/dev/null
}

# sys_pid NAME: the pid of the program itself: the child of its timeout
# wrapper (the daemons run in the foreground; their pidfiles are only
# exercised, never trusted: a stale one could name another process).
sys_pid() {
	local w=${SYS_WRAP[$1]:-} p
	[ -n "$w" ] || return 1
	p=$(ps -o pid= --ppid "$w" 2>/dev/null | head -n 1 | tr -d ' ')
	[ -n "$p" ] && echo "$p"
}

# _sys_reap NAME: waits for the wrapper; prints nothing, returns its status.
_sys_reap() {
	local w=${SYS_WRAP[$1]} rc=0
	# (the braces keep bash's "Killed" job notice off stderr)
	{ wait "$w"; } 2>/dev/null || rc=$?
	unset "SYS_WRAP[$1]"
	return $rc
}

# sys_wait NAME [SECS]: waits up to SECS (default SYS_STOP_WAIT) for the
# process to end and returns its exit status; 124 if it is still running.
sys_wait() {
	local name=$1 secs=${2:-$SYS_STOP_WAIT} i=0
	[ -n "${SYS_WRAP[$name]:-}" ] || { sys_err "$name: not started"; return 127; }
	while sys_alive "$name"; do
		[ $i -ge $((secs * 20)) ] && return 124
		sleep 0.05
		i=$((i + 1))
	done
	_sys_reap "$name"
}

# sys_stop NAME [SECS]: SIGTERM, then waits up to SECS for the exit; returns
# the exit status (0 = clean). Still running then: SIGKILL, status 124.
sys_stop() {
	local name=$1 secs=${2:-$SYS_STOP_WAIT} p rc
	[ -n "${SYS_WRAP[$name]:-}" ] || { sys_err "$name: not running"; return 127; }
	p=$(sys_pid "$name")
	if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null; else kill -TERM "${SYS_WRAP[$name]}" 2>/dev/null; fi
	sys_wait "$name" "$secs"
	rc=$?
	if [ $rc = 124 ]; then
		sys_err "$name: still running ${secs}s after SIGTERM: killed"
		_sys_kill_tree "$name"
		_sys_reap "$name"
		return 124
	fi
	return $rc
}

# sys_kill9 NAME: SIGKILL to the process itself (a crash), and reaps it.
sys_kill9() {
	local name=$1 p
	p=$(sys_pid "$name") || { sys_err "$name: no pid"; return 1; }
	# (the braces keep bash's "Killed" job notice off stderr)
	{ kill -KILL "$p"; sys_wait "$name" 10; } >/dev/null 2>&1
	return 0
}

_sys_kill_tree() {
	local name=$1 w=${SYS_WRAP[$1]:-} p
	[ -n "$w" ] || return 0
	p=$(sys_pid "$name")
	[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	for p in $(ps -o pid= --ppid "$w" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	kill -KILL "$w" 2>/dev/null
}

# sys_cleanup: stops everything this library started (SIGTERM, then SIGKILL
# after 3 s), removes the working directory unless SYS_KEEP=1.
sys_cleanup() {
	local name i any
	trap - EXIT
	for name in "${SYS_ORDER[@]}"; do
		sys_alive "$name" || continue
		local p
		p=$(sys_pid "$name")
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
		kill -TERM "${SYS_WRAP[$name]}" 2>/dev/null
	done
	for i in $(seq 60); do
		any=
		for name in "${SYS_ORDER[@]}"; do sys_alive "$name" && any=1; done
		[ -z "$any" ] && break
		sleep 0.05
	done
	for name in "${SYS_ORDER[@]}"; do
		sys_alive "$name" && _sys_kill_tree "$name"
		[ -n "${SYS_WRAP[$name]:-}" ] && { wait "${SYS_WRAP[$name]}"; } 2>/dev/null
		unset "SYS_WRAP[$name]"
	done
	if [ -n "$SYS_DIR" ] && [ -d "$SYS_DIR" ]; then
		if [ "${SYS_KEEP:-0}" = 1 ]; then
			sys_err "kept $SYS_DIR"
		else
			rm -rf "$SYS_DIR"
		fi
	fi
	SYS_DIR=
}

# _sys_wait_file FILE NAME PATTERN: waits until FILE has a line matching
# PATTERN (ERE) while NAME runs.
_sys_wait_file() {
	local f=$1 name=$2 pat=$3 i=0
	while ! { [ -f "$f" ] && grep -Eq "$pat" "$f"; }; do
		sys_alive "$name" || return 1
		[ $i -ge $((SYS_START_WAIT * 50)) ] && return 1
		sleep 0.02
		i=$((i + 1))
	done
}

# ---- TTP and phase 1 ---------------------------------------------------------

# sys_ttp_init TTP: database and CA key pair of a new TTP in $SYS_DIR/TTP/.
sys_ttp_init() {
	local d=$SYS_DIR/$1
	mkdir -p "$d/users" && chmod 0700 "$d" || return 1
	sys_guard "$SYS_BIN/iomt-ttp" admin init --db "$d/ttp.db" --ca-key "$d/ca.key" \
		--ca-pub "$d/ca.pem" --audit-log "$d/audit.log" >/dev/null 2>"$d/admin.err" ||
		{ sys_err "iomt-ttp admin init: $(tail -n 1 "$d/admin.err")"; return 1; }
}

# sys_user TTP NAME ROLE [ATTR]: phase 1 as the docs describe it. The user
# makes a request (iomt-user keygen), the TTP operator issues the ECQV
# certificate (iomt-ttp admin register-user), the user turns the answer
# into a key file (iomt-user finish, checked against the CA key):
# $SYS_DIR/TTP/users/NAME.key (and NAME.issued, the certificate).
sys_user() {
	local t=$1 name=$2 role=$3 attr=${4:-} d=$SYS_DIR/$1 u=$SYS_DIR/$1/users/$2
	local err=$d/users/$name.err
	sys_guard "$SYS_BIN/iomt-user" keygen --out "$u.req" >/dev/null 2>"$err" &&
	sys_guard "$SYS_BIN/iomt-ttp" admin register-user --db "$d/ttp.db" --ca-key "$d/ca.key" \
		--audit-log "$d/audit.log" --role "$role" --id "$name" ${attr:+--attr "$attr"} \
		--request "$u.req" --out "$u.issued" >/dev/null 2>"$err" &&
	sys_guard "$SYS_BIN/iomt-user" finish --request "$u.req" --issued "$u.issued" \
		--ca-pub "$d/ca.pem" --out "$u.key" >/dev/null 2>"$err" ||
		{ sys_err "registering $role $name: $(grep -v ' info ' "$err" | tail -n 1)"; return 1; }
}

# sys_mec_register TTP MEC SLOTS OPERATOR: a pool of SLOTS identities for MEC,
# sealed by the TTP to the operator's certificate and opened by the operator
# (iomt-user unseal). Prints the path of the plaintext pool file.
sys_mec_register() {
	local t=$1 mec=$2 slots=$3 op=$4 d=$SYS_DIR/$1
	local u=$d/users/$op err=$d/mec-$mec.err
	sys_guard "$SYS_BIN/iomt-ttp" admin register-mec --db "$d/ttp.db" --audit-log "$d/audit.log" \
		--name "$mec" --slots "$slots" --out "$d/$mec.sealed" --to-cert "$u.issued" \
		--ca-pub "$d/ca.pem" >/dev/null 2>"$err" &&
	sys_guard "$SYS_BIN/iomt-user" unseal --key "$u.key" --in "$d/$mec.sealed" \
		--out "$d/$mec.pool" >/dev/null 2>"$err" ||
		{ sys_err "registering MEC $mec: $(grep -v ' info ' "$err" | tail -n 1)"; return 1; }
	rm -f "$d/$mec.sealed"
	echo "$d/$mec.pool"
}

# sys_ttp_start TTP [--same-ports] [--KEY VALUE...]: starts iomt-ttp on
# 127.0.0.1 (ports 0, or with --same-ports the link and user ports it had
# before: a restart) and waits for its port file. Sets SYS_ADDR[TTP.link],
# [TTP.user], [TTP.metrics].
sys_ttp_start() {
	local t=$1 d=$SYS_DIR/$1 link=0 user=0
	shift
	if [ "${1:-}" = --same-ports ]; then
		shift
		link=${SYS_ADDR[$t.link]##*:} user=${SYS_ADDR[$t.user]##*:}
	fi
	rm -f "$d/ports"
	_sys_spawn "$t" "$d/$t.out" "$SYS_BIN/iomt-ttp" \
		--db "$d/ttp.db" --ca-pub "$d/ca.pem" --audit-log "$d/audit.log" \
		--listen "127.0.0.1:$link" --user-listen "127.0.0.1:$user" \
		--metrics-listen 127.0.0.1:0 --port-file "$d/ports" --pidfile "$d/ttp.pid" \
		--log-file "$d/$t.log" "$@"
	if ! _sys_wait_file "$d/ports" "$t" '^metrics='; then
		sys_err "iomt-ttp $t did not start: $(tail -n 2 "$d/$t.out" "$d/$t.log" 2>/dev/null | grep -v '^==' | tail -n 2)"
		return 1
	fi
	SYS_ADDR[$t.link]=127.0.0.1:$(sed -n 's/^link=//p' "$d/ports")
	SYS_ADDR[$t.user]=127.0.0.1:$(sed -n 's/^user=//p' "$d/ports")
	SYS_ADDR[$t.metrics]=127.0.0.1:$(sed -n 's/^metrics=//p' "$d/ports")
}

# sys_analysis TTP PATIENT N DIR [POLICY]: phase 2, iomt-user create-analysis:
# DIR/analysis.id and DIR/devices.prov (N <= 64 devices).
sys_analysis() {
	local t=$1 p=$2 n=$3 dir=$4 pol=${5:-study=e2e}
	sys_guard "$SYS_BIN/iomt-user" create-analysis --key "$SYS_DIR/$t/users/$p.key" \
		--ca-pub "$SYS_DIR/$t/ca.pem" --ttp "${SYS_ADDR[$t.user]}" --devices "$n" \
		--policy "$pol" --out-dir "$dir" --timeout 10 >/dev/null 2>"$dir.err" ||
		{ sys_err "create-analysis for $p: $(tail -n 1 "$dir.err")"; return 1; }
	rm -f "$dir.err"
}

# ---- gateway (MEC role) ------------------------------------------------------

# sys_gwd_provision GWD POOLFILE: the MEC's state file $SYS_DIR/GWD/gwd.state.
sys_gwd_provision() {
	local g=$1 d=$SYS_DIR/$1
	mkdir -p "$d" && chmod 0700 "$d" || return 1
	sys_guard "$SYS_BIN/iomt-gwd" provision --pool "$2" --state "$d/gwd.state" \
		>/dev/null 2>"$d/provision.err" ||
		{ sys_err "iomt-gwd provision: $(tail -n 1 "$d/provision.err")"; return 1; }
}

# sys_gwd_start GWD TTP [--same-ports] [--KEY VALUE...]: starts iomt-gwd
# (devices on 127.0.0.1 UDP, port 0 or the one it had), linked to TTP's
# link address; waits until the TTP link is up. Sets SYS_ADDR[GWD.udp],
# [GWD.metrics].
sys_gwd_start() {
	local g=$1 t=$2 d=$SYS_DIR/$1 udp=0 i=0
	shift 2
	if [ "${1:-}" = --same-ports ]; then
		shift
		udp=${SYS_ADDR[$g.udp]##*:}
	fi
	rm -f "$d/ports"
	_sys_spawn "$g" "$d/$g.out" "$SYS_BIN/iomt-gwd" \
		--listen "127.0.0.1:$udp" --ttp "${SYS_ADDR[$t.link]}" --state "$d/gwd.state" \
		--metrics-listen 127.0.0.1:0 --port-file "$d/ports" --pidfile "$d/gwd.pid" \
		--log-file "$d/$g.log" --ttp-reconnect-max 200ms "$@"
	if ! _sys_wait_file "$d/ports" "$g" '^metrics_listen '; then
		sys_err "iomt-gwd $g did not start: $(tail -n 2 "$d/$g.out" "$d/$g.log" 2>/dev/null | grep -v '^==' | tail -n 2)"
		return 1
	fi
	SYS_ADDR[$g.udp]=$(sed -n 's/^listen //p' "$d/ports")
	SYS_ADDR[$g.metrics]=$(sed -n 's/^metrics_listen //p' "$d/ports")
	until [ "$(sys_metric "${SYS_ADDR[$g.metrics]}" iomt_gwd_ttp_link_up)" = 1 ]; do
		[ $i -ge $((SYS_START_WAIT * 20)) ] && { sys_err "iomt-gwd $g: no TTP link"; return 1; }
		sleep 0.05
		i=$((i + 1))
	done
}

# ---- sensors -------------------------------------------------------------------

# sys_sensor_provision PROV STATE: iomt-sensor provision.
sys_sensor_provision() {
	sys_guard "$SYS_BIN/iomt-sensor" provision --prov "$1" --state "$2" >/dev/null 2>"$2.err" ||
		{ sys_err "iomt-sensor provision $1: $(tail -n 1 "$2.err")"; return 1; }
	rm -f "$2.err"
}

# sys_sensor_run OUT STATE GWD [OPTIONS...]: iomt-sensor run against GWD in
# the foreground, JSON summary in OUT.json, log in OUT.log; its exit status.
sys_sensor_run() {
	local out=$1 state=$2 g=$3
	shift 3
	sys_guard "$SYS_BIN/iomt-sensor" run --state "$state" --mec "${SYS_ADDR[$g.udp]}" --json \
		"$@" >"$out.json" 2>"$out.log"
}

# sys_sensor_start NAME OUT STATE GWD [OPTIONS...]: the same in the
# background (sys_wait NAME returns its exit status).
sys_sensor_start() {
	local name=$1 out=$2 state=$3 g=$4
	shift 4
	_sys_spawn "$name" "$out.log" bash -c 'exec "$@" >"$0.json"' "$out" \
		"$SYS_BIN/iomt-sensor" run --state "$state" --mec "${SYS_ADDR[$g.udp]}" --json "$@"
}

# sys_json FILE KEY: a number or string field of a flat JSON summary.
sys_json() {
	sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1" | head -n 1
}

# ---- metrics -------------------------------------------------------------------

# sys_metrics HOST:PORT: the body of GET /metrics (bash /dev/tcp, 5 s guard).
sys_metrics() {
	local host=${1%:*} port=${1##*:}
	timeout 5 bash -c '
		exec 3<>"/dev/tcp/$0/$1" || exit 1
		printf "GET /metrics HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" "$0:$1" >&3
		sed "1,/^\r\{0,1\}$/d" <&3' "$host" "$port" 2>/dev/null
}

# sys_metric HOST:PORT 'NAME{LABELS}': one sample's value (empty if absent).
sys_metric() {
	sys_metrics "$1" | awk -v k="$2" '$1 == k { print $2; exit }'
}

# sys_wait_metric HOST:PORT 'NAME{LABELS}' MIN SECS: waits until the sample
# is >= MIN.
sys_wait_metric() {
	local i=0 v
	while :; do
		v=$(sys_metric "$1" "$2")
		[ -n "$v" ] && [ "${v%.*}" -ge "$3" ] && return 0
		[ $i -ge $(($4 * 50)) ] && return 1
		sleep 0.02
		i=$((i + 1))
	done
}

# ---- state files ---------------------------------------------------------------

# sys_recfile_field FILE OFF LEN: for each record of an rt_recfile
# (userspace/lib/rt_recfile.h; OFF + LEN <= 24), "INDEX HEX" of payload
# bytes OFF..OFF+LEN of its newest copy. Read it when no writer is running.
sys_recfile_field() {
	od -A d -t x1 -w32 "$1" | awk -v off="$2" -v len="$3" '
		$1 ~ /^[0-9]+$/ && NF == 33 && $1 % 4096 == 0 && $1 > 0 {
			b = $1 / 4096; i = int((b - 1) / 2); seq = "x"
			for (k = 2; k <= 9; k++) seq = seq $k
			if (seq == "x0000000000000000") next
			v = ""
			for (k = 10 + off; k < 10 + off + len; k++) v = v $k
			if (!(i in best) || seq > best[i]) { best[i] = seq; val[i] = v }
		}
		END { for (i in val) print i, val[i] }' | sort -n
}

# sys_sensor_dids STATE: "INDEX DID" of every device of a sensor state file
# (read by sensors/core itself: iomt-sensor state --dids).
sys_sensor_dids() {
	"$SYS_BIN/iomt-sensor" state --state "$1" --dids 2>/dev/null |
		sed -n 's/^\([0-9]*\) gen=[0-9]* did=\([0-9a-f]*\) .*/\1 \2/p'
}

# sys_gwd_dids GWD: "SLOT DID" of every slot of the gateway's state file
# (record 0 is the header, slot i is record 1 + i: DID (16) || DK (16)).
sys_gwd_dids() {
	sys_recfile_field "$SYS_DIR/$1/gwd.state" 0 16 | awk '$1 > 0 { print $1 - 1, $2 }'
}

# sys_ttp_dids TTP KIND: "DID_CUR DID_PREV" of every party of KIND (1 devices,
# 2 MEC slots) in the TTP's database (sqlite3 reads beside the daemon).
sys_ttp_dids() {
	sqlite3 -readonly "$SYS_DIR/$1/ttp.db" \
		"SELECT lower(hex(did_cur)), coalesce(lower(hex(did_prev)), '-') FROM parties WHERE kind = $2" |
		tr '|' ' '
}

# sys_desync_devices TTP STATE...: devices whose stored DID is neither the
# TTP's current nor its previous identity of any device (printed: count).
# With --current, only the current identity counts (a device that finished
# its last agreement must hold the TTP's current one).
sys_desync_devices() {
	local cur_only=0
	[ "$1" = --current ] && { cur_only=1; shift; }
	local t=$1
	shift
	{
		sys_ttp_dids "$t" 1 | awk -v c="$cur_only" '{ print "T", $1; if (!c) print "T", $2 }'
		for s in "$@"; do sys_sensor_dids "$s" | awk '{ print "D", $2 }'; done
	} | awk '$1 == "T" { t[$2] = 1; next } !($2 in t) { n++ } END { print n + 0 }'
}

# sys_desync_slots TTP GWD: MEC slots whose stored DID the TTP does not hold
# (as current or previous) for any slot: count.
sys_desync_slots() {
	{
		sys_ttp_dids "$1" 2 | awk '{ print "T", $1; print "T", $2 }'
		sys_gwd_dids "$2" | awk '{ print "G", $2 }'
	} | awk '$1 == "T" { t[$2] = 1; next } !($2 in t) { n++ } END { print n + 0 }'
}

# SK fingerprints from the debug logs, one agreement a line (each read from
# stdin or the files given):
#   sys_fp_sensor: "DEVICE AGREEMENT FP"  (iomt-sensor: "device 7: agreement 2
#                                           done, sk fingerprint FP")
#   sys_fp_gwd:    "SLOT SESSION FP"       (iomt-gwd: "agreement slot=S
#                                           session=H sk_fp=FP")
#   sys_fp_ttp:    "DEVICE MEC FP"         (iomt-ttp: "agreement link=L req=R
#                                           device=D mec=M sk_fp=FP"; the
#                                           parties' database row ids)
sys_fp_sensor() {
	sed -n 's/.* device \([0-9]*\): agreement \([0-9]*\) done, sk fingerprint \([0-9a-f]\{16\}\)$/\1 \2 \3/p' "$@"
}
sys_fp_gwd() {
	sed -n 's/.* agreement slot=\([0-9]*\) session=\([0-9]*\) sk_fp=\([0-9a-f]\{16\}\)$/\1 \2 \3/p' "$@"
}
sys_fp_ttp() {
	sed -n 's/.* agreement link=[0-9]* req=[0-9a-f]* device=\([0-9]*\) mec=\([0-9]*\) sk_fp=\([0-9a-f]\{16\}\)$/\1 \2 \3/p' "$@"
}

# sys_lines FILE: its number of lines (0 if missing), to read only what a
# later step appends: tail -n +$((n + 1)) FILE.
sys_lines() {
	if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# ---- KDC (platform key management) ---------------------------------------------

# sys_kdc_init KDC: database and master key of a new KDC in $SYS_DIR/KDC/.
sys_kdc_init() {
	local d=$SYS_DIR/$1
	mkdir -p "$d" && chmod 0700 "$d" || return 1
	sys_guard "$SYS_BIN/iomt-kdc" admin init --db "$d/kdc.db" --master "$d/master.key" \
		--audit-log "$d/audit.log" >/dev/null 2>"$d/init.err" ||
		{ sys_err "iomt-kdc admin init: $(tail -n 1 "$d/init.err")"; return 1; }
}

# sys_kdc_register KDC NAME KIND [PATIENT]: registers NAME and exports its
# key to $SYS_DIR/KDC/keys/NAME.key (plain, 0600).
sys_kdc_register() {
	local k=$1 d=$SYS_DIR/$1 name=$2 kind=$3 pat=${4:-}
	mkdir -p "$d/keys" || return 1
	sys_guard "$SYS_BIN/iomt-kdc" admin register "$name" --kind "$kind" ${pat:+--patient "$pat"} \
		--db "$d/kdc.db" --audit-log "$d/audit.log" >/dev/null 2>"$d/reg.err" &&
		sys_guard "$SYS_BIN/iomt-kdc" admin export-key "$name" --db "$d/kdc.db" \
			--master "$d/master.key" --out "$d/keys/$name.key" --audit-log "$d/audit.log" \
			>/dev/null 2>>"$d/reg.err" ||
		{ sys_err "registering $name: $(tail -n 1 "$d/reg.err")"; return 1; }
}

# sys_kdc_start KDC [--KEY VALUE...]: starts iomt-kdc on 127.0.0.1 (UDP and
# TCP, port 0). Sets SYS_ADDR[KDC.addr], [KDC.metrics].
sys_kdc_start() {
	local k=$1 d=$SYS_DIR/$1
	shift
	rm -f "$d/ports"
	_sys_spawn "$k" "$d/$k.out" "$SYS_BIN/iomt-kdc" --db "$d/kdc.db" --master "$d/master.key" \
		--audit-log "$d/audit.log" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
		--port-file "$d/ports" --pidfile "$d/kdc.pid" --log-file "$d/$k.log" "$@"
	if ! _sys_wait_file "$d/ports" "$k" '^metrics='; then
		sys_err "iomt-kdc $k did not start: $(tail -n 2 "$d/$k.out" "$d/$k.log" 2>/dev/null | grep -v '^==' | tail -n 2)"
		return 1
	fi
	SYS_ADDR[$k.addr]=127.0.0.1:$(sed -n 's/^udp=//p' "$d/ports")
	SYS_ADDR[$k.metrics]=127.0.0.1:$(sed -n 's/^metrics=//p' "$d/ports")
}

# sys_gwd_gateway_start GWD KEYFILE [--KEY VALUE...]: iomt-gwd with the
# gateway role alone (no MEC role, no TTP link): sensors' AP requests on
# 127.0.0.1 UDP. Sets SYS_ADDR[GWD.udp], [GWD.metrics].
sys_gwd_gateway_start() {
	local g=$1 d=$SYS_DIR/$1 key=$2
	shift 2
	mkdir -p "$d" && chmod 0700 "$d" || return 1
	rm -f "$d/ports"
	_sys_spawn "$g" "$d/$g.out" "$SYS_BIN/iomt-gwd" --set mec=no --gateway-key "$key" \
		--replay-cache "$d/replay" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
		--port-file "$d/ports" --pidfile "$d/gwd.pid" --log-file "$d/$g.log" "$@"
	if ! _sys_wait_file "$d/ports" "$g" '^metrics_listen '; then
		sys_err "iomt-gwd $g did not start: $(tail -n 2 "$d/$g.out" "$d/$g.log" 2>/dev/null | grep -v '^==' | tail -n 2)"
		return 1
	fi
	SYS_ADDR[$g.udp]=$(sed -n 's/^listen //p' "$d/ports")
	SYS_ADDR[$g.metrics]=$(sed -n 's/^metrics_listen //p' "$d/ports")
}

# ---- data key management: PPD, cloud store, relay -------------------------------

# sys_ppd_init PPD KDC NAME POLICY: a PPD in $SYS_DIR/PPD: iomt-ppd init
# (K_master wrapped under a random passphrase, evidence-log key), its KDC
# key (principal NAME of KDC), the policy text POLICY; requesters are added
# with sys_ppd_trust.
sys_ppd_init() {
	local p=$1 d=$SYS_DIR/$1 k=$2 name=$3
	mkdir -p "$d" && chmod 0700 "$d" || return 1
	head -c 24 /dev/urandom | od -A n -t x1 | tr -d ' \n' >"$d/passphrase" && chmod 0600 "$d/passphrase"
	sys_guard "$SYS_BIN/iomt-ppd" init --dir "$d" --passphrase-file "$d/passphrase" \
		>/dev/null 2>"$d/init.err" ||
		{ sys_err "iomt-ppd init: $(tail -n 1 "$d/init.err")"; return 1; }
	cp "$SYS_DIR/$k/keys/$name.key" "$d/ppd.key" && chmod 0600 "$d/ppd.key" || return 1
	printf '%s\n' "$4" >"$d/policy"
	: >"$d/requesters"
}

# sys_ppd_trust PPD NAME PUBPEM: the PPD trusts requester NAME's signing key.
sys_ppd_trust() {
	printf '%s %s\n' "$2" "$3" >>"$SYS_DIR/$1/requesters"
}

# sys_ppd_start PPD [--KEY VALUE...]: iomt-ppd serve on 127.0.0.1 (port 0),
# deciding by policy. Sets SYS_ADDR[PPD.addr], [PPD.metrics].
sys_ppd_start() {
	local p=$1 d=$SYS_DIR/$1
	shift
	rm -f "$d/ports"
	_sys_spawn "$p" "$d/$p.out" "$SYS_BIN/iomt-ppd" serve --dir "$d" \
		--passphrase-file "$d/passphrase" --consent policy --listen 127.0.0.1:0 \
		--metrics-listen 127.0.0.1:0 --port-file "$d/ports" --pidfile "$d/ppd.pid" \
		--log-file "$d/$p.log" "$@"
	if ! _sys_wait_file "$d/ports" "$p" '^metrics_listen '; then
		sys_err "iomt-ppd $p did not start: $(tail -n 2 "$d/$p.out" "$d/$p.log" 2>/dev/null | grep -v '^==' | tail -n 2)"
		return 1
	fi
	SYS_ADDR[$p.addr]=$(sed -n 's/^listen //p' "$d/ports")
	SYS_ADDR[$p.metrics]=$(sed -n 's/^metrics_listen //p' "$d/ports")
}

# sys_store_start STORE [--KEY VALUE...]: iomt-store serve on 127.0.0.1
# with $SYS_DIR/STORE/store.db. Sets SYS_ADDR[STORE.addr], [STORE.metrics].
sys_store_start() {
	local s=$1 d=$SYS_DIR/$1
	shift
	mkdir -p "$d" && chmod 0700 "$d" || return 1
	rm -f "$d/ports"
	_sys_spawn "$s" "$d/$s.out" "$SYS_BIN/iomt-store" serve --db "$d/store.db" \
		--listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --port-file "$d/ports" \
		--pidfile "$d/store.pid" --log-file "$d/$s.log" "$@"
	if ! _sys_wait_file "$d/ports" "$s" '^metrics='; then
		sys_err "iomt-store $s did not start: $(tail -n 2 "$d/$s.out" "$d/$s.log" 2>/dev/null | grep -v '^==' | tail -n 2)"
		return 1
	fi
	SYS_ADDR[$s.addr]=127.0.0.1:$(sed -n 's/^listen=//p' "$d/ports")
	SYS_ADDR[$s.metrics]=127.0.0.1:$(sed -n 's/^metrics=//p' "$d/ports")
}

#!/bin/bash
# KDC throughput on loopback: completed AS and TGS exchanges per second of
# our iomt-kdc, against MIT Kerberos' krb5kdc measured in the same run.
#
# Both KDCs run side by side on 127.0.0.1, each pinned to core 0 with all
# its processes (taskset -c 0; MIT: one krb5kdc process, no -w workers);
# the load generator, build/bench/kdc_load, runs on core 1 and is the same
# program for both: non-blocking UDP, the same window of requests in flight
# (IOMT_BENCH_KDC_WINDOW), one socket per request in flight, every reply
# verified by the client library (lib/kdc.h for ours; libkrb5's
# krb5_init_creds_step / krb5_tkt_creds_step for MIT, with the packets and
# the sockets handled by kdc_load itself).
#
# Baseline: MIT krb5kdc (Debian's krb5-kdc, mk/bench-packages.txt) in a
# fresh realm IOMT.BENCH with the default db2 database, default enctypes
# (aes256-cts-hmac-sha1-96 keys, sessions and tickets), default ticket
# options (PACs included, 1.20's default), per-request log lines to a file
# as kdc.conf's documentation configures them. MIT's AS exchanges are
# without pre-authentication (principals created without requires_preauth,
# MIT's default): its cheapest AS path, one round trip. Ours always checks
# the pre-authentication timestamp in the AS_REQ, and runs with its
# defaults (keeper and network processes, batches of up to batch_max, the
# audit log synced per batch) but for its files, in the same temporary
# directory (TMPDIR) as MIT's.
#
# N client principals (sensors of one patient) and one service (their
# gateway) are registered in both KDCs. AS: a new TGT per exchange,
# principals round-robin. TGS: a service ticket for the gateway per
# exchange, reusing one TGT per principal (MIT: MEMORY ccaches, tickets not
# stored, so every exchange goes to the KDC).
#
# After one unmeasured warm-up round per KDC and exchange, rounds alternate
# ours, MIT, ours, MIT...; each figure is the median over rounds. Progress
# on stderr says, per round, the KDC's CPU use (its processes' CPU seconds
# per second: below 1 when it waits, e.g. for fsync, or shares its core with
# other work on the machine) and CPU time per exchange, the latencies, and
# the load generator's own CPU use (a warning if it may be the limit).
# Rows on stdout (tests/bench/bench.h format).
# Without the MIT packages: a SKIP line on stderr, no rows, exit status 0.
#
#   IOMT_BENCH_KDC_ROUNDS (7)     rounds per KDC and exchange
#   IOMT_BENCH_KDC_SECONDS (1.5)  measured seconds per round (after 0.5 s warm-up)
#   IOMT_BENCH_KDC_WINDOW (64)    requests in flight
#   IOMT_BENCH_KDC_CLIENTS (64)   client principals
#
# The window stays below what krb5kdc's single UDP socket can queue with the
# kernel's default receive buffer (rmem_default 212992): at 128 in flight
# its TGS requests (about 1 KB each with the TGT and its PAC) overflow it,
# the kernel drops some, and kdc_load reports timeouts instead of a rate.
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
ROUNDS=${IOMT_BENCH_KDC_ROUNDS:-7}
SECS=${IOMT_BENCH_KDC_SECONDS:-1.5}
WINDOW=${IOMT_BENCH_KDC_WINDOW:-64}
NCLI=${IOMT_BENCH_KDC_CLIENTS:-64}
WARMUP=0.5
GUARD=600                     # seconds: longest life of a daemon
REALM=IOMT.BENCH
KDC_CORE=0 LOAD_CORE=1
LOAD=$BUILD/bench/kdc_load
IKDC=$BUILD/bin/iomt-kdc

log() { echo "bench_kdc: $*" >&2; }
fail() { log "$*"; exit 1; }

# ---- prerequisites ---------------------------------------------------------
for b in krb5kdc kdb5_util kadmin.local; do
	if ! command -v "$b" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$b" ]; then
		log "SKIP: MIT Kerberos ($b) is not installed: no kdc_*_per_s rows" \
			"(install mk/bench-packages.txt: mk/deps.sh mk/bench-packages.txt)"
		exit 0
	fi
done
PATH=$PATH:/usr/sbin
[ -x "$LOAD" ] || fail "$LOAD missing: build it first (make $LOAD)"
[ -x "$IKDC" ] || fail "$IKDC missing: build it first (make)"
command -v taskset >/dev/null || fail "taskset (util-linux) missing"
[ "$(nproc --all)" -ge 2 ] || log "warning: fewer than 2 cores: KDC and load generator share a core"
taskset -c "$KDC_CORE,$LOAD_CORE" true 2>/dev/null || fail "cannot pin to cores $KDC_CORE and $LOAD_CORE"

# ---- temp dir, processes, cleanup -------------------------------------------
D=$(mktemp -d "${TMPDIR:-/tmp}/iomt-bench-kdc.XXXXXX") || exit 1
declare -A WRAP=()
stop() { # stop NAME: SIGTERM to the daemon (then its timeout wrapper), wait
	local w=${WRAP[$1]:-} p i rc=0
	[ -n "$w" ] || return 0
	p=$(ps -o pid= --ppid "$w" 2>/dev/null | tr -d ' ' | head -n 1)
	[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	for i in $(seq 100); do kill -0 "$w" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$w" 2>/dev/null; then
		log "$1: still running 5 s after SIGTERM: killed"
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
		kill -KILL "$w" 2>/dev/null
	fi
	{ wait "$w"; } 2>/dev/null || rc=$?
	unset "WRAP[$1]"
	return $rc
}
cleanup() {
	trap - EXIT
	stop iomt
	stop mit
	if [ "${IOMT_BENCH_KEEP:-0}" = 1 ]; then log "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'cleanup; trap - INT; kill -INT $$' INT
trap 'cleanup; trap - TERM; kill -TERM $$' TERM
trap 'cleanup; trap - HUP; kill -HUP $$' HUP

# udp_bound PORT: something is bound to 127.0.0.1:PORT or *:PORT (UDP).
udp_bound() {
	local h
	h=$(printf '%04X' "$1")
	awk -v h=":$h" 'NR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
		/proc/net/udp /proc/net/udp6 2>/dev/null
}
# free_port FIRST: the first UDP port from FIRST up that nothing is bound to.
free_port() {
	local p=$1
	while udp_bound "$p"; do p=$((p + 1)); done
	echo "$p"
}
# spawn NAME LOG CMD...: CMD on core KDC_CORE (itself and every process or
# thread it starts), under timeout, in the background.
spawn() {
	local name=$1 out=$2
	shift 2
	taskset -c "$KDC_CORE" timeout -k 5 "$GUARD" "$@" >>"$out" 2>&1 &
	WRAP[$name]=$!
}
# kdc_pid NAME: the daemon's pid (the child of its timeout wrapper).
kdc_pid() { ps -o pid= --ppid "${WRAP[$1]}" 2>/dev/null | tr -d ' ' | head -n 1; }
# kdc_pids NAME: the daemon and every process below it (iomt-kdc: its keeper).
kdc_pids() {
	local p
	p=$(kdc_pid "$1") || return 1
	[ -n "$p" ] || return 1
	ps -e -o pid=,ppid= | awk -v root="$p" '
		{ kids[$2] = kids[$2] " " $1 }
		END { q[1] = root; n = 1
		      for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " ")
		                                 for (j = 1; j <= m; j++) q[++n] = k[j] } }'
}
# wait_port NAME PORT: waits up to 10 s for the daemon to bind PORT.
wait_port() {
	local i
	for i in $(seq 200); do
		udp_bound "$2" && return 0
		kill -0 "${WRAP[$1]}" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
# check_pinned NAME: every thread of every process of the daemon is allowed
# on KDC_CORE only.
check_pinned() {
	local p t l n=0
	for p in $(kdc_pids "$1"); do
		for t in /proc/"$p"/task/*; do
			l=$(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status" 2>/dev/null)
			[ "$l" = "$KDC_CORE" ] || { log "$1: thread ${t##*/} runs on cores $l"; return 1; }
			n=$((n + 1))
		done
	done
	[ $n -gt 0 ] || { log "$1: no process found"; return 1; }
	log "$1: $(kdc_pids "$1" | wc -l) process(es), $n thread(s), all on core $KDC_CORE"
}
# ---- MIT Kerberos realm -----------------------------------------------------
M=$D/mit
mkdir -p "$M"
MPORT=$(free_port 17588)
cat >"$M/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$MPORT
	kdc_tcp_listen = ""
[realms]
	$REALM = {
		database_name = $M/principal
		key_stash_file = $M/stash
		acl_file = $M/kadm5.acl
		kdc_listen = 127.0.0.1:$MPORT
		kdc_tcp_listen = ""
	}
[logging]
	kdc = FILE:$M/kdc.log
	admin_server = FILE:$M/kadmin.log
	default = FILE:$M/krb5.log
EOF
# The client side (kdc_load): this realm only, no DNS, UDP always.
cat >"$M/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 65535
[realms]
	$REALM = {
		kdc = 127.0.0.1:$MPORT
	}
EOF
export KRB5_CONFIG=$M/krb5.conf KRB5_KDC_PROFILE=$M/kdc.conf
CLIENTS=$(for i in $(seq 0 $((NCLI - 1))); do printf 'c%d ' "$i"; done)
log "MIT realm $REALM: $NCLI clients and the service gw1, in $M"
kdb5_util create -s -P "bench-$$-$RANDOM" -r "$REALM" -d "$M/principal" >"$M/kdb5_util.out" 2>&1 ||
	fail "kdb5_util create: $(tail -n 1 "$M/kdb5_util.out")"
{
	for c in $CLIENTS; do echo "addprinc -randkey $c"; done
	echo "addprinc -randkey gw1"
	echo "ktadd -k $M/clients.keytab -norandkey $CLIENTS"
} | kadmin.local -r "$REALM" >"$M/kadmin.out" 2>&1 || fail "kadmin.local: $(tail -n 1 "$M/kadmin.out")"
[ "$(klist -k "$M/clients.keytab" 2>/dev/null | grep -c "@$REALM")" -ge "$NCLI" ] ||
	fail "kadmin.local: keytab incomplete: $(grep -i error "$M/kadmin.out" | head -n 1)"

# ---- our KDC ----------------------------------------------------------------
I=$D/iomt
mkdir -p "$I/keys" && chmod 0700 "$I"
log "iomt-kdc: the same $NCLI clients (sensors of patient p1) and gw1 (their gateway), in $I"
iadm() { timeout -k 5 60 "$IKDC" admin "$@" --audit-log "$I/audit.log" >>"$I/admin.out" 2>&1; }
iadm init --db "$I/kdc.db" --master "$I/master.key" || fail "iomt-kdc admin init: $(tail -n 1 "$I/admin.out")"
for c in $CLIENTS; do
	iadm register "$c" --patient p1 --kind sensor --db "$I/kdc.db" ||
		fail "iomt-kdc admin register $c: $(tail -n 1 "$I/admin.out")"
	iadm export-key "$c" --db "$I/kdc.db" --master "$I/master.key" --out "$I/keys/$c.key" ||
		fail "iomt-kdc admin export-key $c: $(tail -n 1 "$I/admin.out")"
done
iadm register gw1 --patient p1 --kind gateway --db "$I/kdc.db" ||
	fail "iomt-kdc admin register gw1: $(tail -n 1 "$I/admin.out")"

# ---- start both -------------------------------------------------------------
spawn mit "$M/krb5kdc.out" krb5kdc -n -r "$REALM" -P "$M/krb5kdc.pid"
wait_port mit "$MPORT" || fail "krb5kdc did not start: $(tail -n 2 "$M/krb5kdc.out" "$M/kdc.log" 2>/dev/null)"
# Our defaults but for the files and ports: any free port (port_file).
spawn iomt "$I/kdc.out" "$IKDC" --db "$I/kdc.db" --master "$I/master.key" \
	--listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --port-file "$I/ports" \
	--audit-log "$I/audit.log" --pidfile "$I/kdc.pid"
for i in $(seq 200); do
	IPORT=$(sed -n 's/^udp=//p' "$I/ports" 2>/dev/null)
	[ -n "$IPORT" ] && break
	kill -0 "${WRAP[iomt]}" 2>/dev/null || break
	sleep 0.05
done
[ -n "$IPORT" ] || fail "iomt-kdc did not start: $(tail -n 2 "$I/kdc.out")"
{ check_pinned mit && check_pinned iomt; } || fail "a KDC is not pinned to core $KDC_CORE"
log "krb5kdc on 127.0.0.1:$MPORT, iomt-kdc on 127.0.0.1:$IPORT, both on core $KDC_CORE;" \
	"kdc_load on core $LOAD_CORE, $WINDOW requests in flight, ${SECS}s per round"

# ---- rounds -------------------------------------------------------------------
# run KDC OP [SECS]: one kdc_load round; appends the rate to RATE[KDC.OP]
# and the KDC's CPU use to BUSY and US (with SECS: a warm-up round, not
# recorded).
declare -A RATE=() BUSY=() US=() PAIR=()
LAST=
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
run() {
	local k=$1 op=$2 secs=${3:-$SECS} line rate busy us
	local args=(--op "$op" --window "$WINDOW" --clients "$NCLI" --seconds "$secs"
		--warmup "$WARMUP" --service gw1 --kdc-pids "$(kdc_pids "$k" | paste -sd,)")
	if [ "$k" = mit ]; then
		args+=(--mode mit --port "$MPORT" --keytab "$M/clients.keytab")
	else
		args+=(--mode iomt --port "$IPORT" --keydir "$I/keys")
	fi
	if ! taskset -c "$LOAD_CORE" timeout -k 5 120 "$LOAD" "${args[@]}" >"$D/load.out" 2>"$D/load.err"; then
		log "$k $op: kdc_load failed: $(grep -v 'cheapest AS path' "$D/load.err" | head -n 3)"
		return 1
	fi
	line=" $(tail -n 1 "$D/load.out")"
	rate=$(field rate "$line") busy=$(field kdc_cpu "$line") us=$(field kdc_cpu_us_per_op "$line")
	{ [ -n "$rate" ] && [ -n "$busy" ]; } || { log "$k $op: no rate in: $line"; return 1; }
	if [ -n "${3:-}" ]; then
		log "warm-up $op $k: $rate/s"
		return 0
	fi
	[ "$k" = mit ] && PAIR[$op]="${PAIR[$op]} $(awk -v a="$LAST" -v b="$rate" 'BEGIN { print a / b }')"
	LAST=$rate
	RATE[$k.$op]="${RATE[$k.$op]} $rate" BUSY[$k.$op]="${BUSY[$k.$op]} $busy" US[$k.$op]="${US[$k.$op]} $us"
	log "round $r $op $k: $rate/s, KDC CPU $busy s/s, $us us/exchange;" \
		"latency p50 $(field p50_us "$line") us, p99 $(field p99_us "$line") us;" \
		"kdc_load CPU $(field client_cpu "$line") s/s"
	[ "$(field extra_rtt "$line")" = 0 ] || log "  note: $(field extra_rtt "$line") exchanges needed 2 round trips"
	# The load generator near 100% of its core: it may be what limits the rate.
	if awk -v c="$(field client_cpu "$line")" 'BEGIN { exit !(c > 0.9) }'; then
		log "  warning: kdc_load was busy most of the time: the client may be the limit"
	fi
	return 0
}
# A warm-up round per KDC and exchange: MIT's krb5kdc slows down over its
# first tens of thousands of requests (malloc, as its heap fragments), so
# both are measured in their steady state, as a long-running KDC is.
for op in as tgs; do
	for k in iomt mit; do
		run "$k" "$op" 2 || exit 1
	done
done
for r in $(seq 1 "$ROUNDS"); do
	for op in as tgs; do
		for k in iomt mit; do
			run "$k" "$op" || exit 1
		done
	done
done
log "MIT AS exchanges are without pre-authentication (MIT's default principals): its cheapest AS path"

# (word splitting of the lists of figures is intended)
# shellcheck disable=SC2086
median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# shellcheck disable=SC2086
spread() { printf '%s\n' $1 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }
for op in as tgs; do
	for k in iomt mit; do
		log "$op $k: median $(median "${RATE[$k.$op]}")/s, range $(spread "${RATE[$k.$op]}");" \
			"KDC CPU s/s:${BUSY[$k.$op]}; median $(median "${US[$k.$op]}") us CPU/exchange"
	done
	log "$op: ours/MIT per round (ours, then MIT just after):${PAIR[$op]}; median $(median "${PAIR[$op]}")"
done
# Every request krb5kdc logged was answered with a ticket (kdc_load
# counted no error either).
bad=$(grep -E '(AS|TGS)_REQ' "$M/kdc.log" | grep -vc ': ISSUE: ')
[ "$bad" = 0 ] || log "warning: krb5kdc refused $bad requests: $(grep -E '(AS|TGS)_REQ' "$M/kdc.log" |
	grep -v ': ISSUE: ' | head -n 1)"
stop iomt || log "iomt-kdc: exit status $?"
stop mit

row() { # row NAME BASELINE OP
	local a b
	a=$(median "${RATE[iomt.$3]}") b=$(median "${RATE[mit.$3]}")
	printf '%s\t%.0f\texchanges/s\t%s\t%.0f\t%.2f\n' "$1" "$a" "$2" "$b" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')"
}
row kdc_as_per_s mit_krb5_as_per_s as
row kdc_tgs_per_s mit_krb5_tgs_per_s tgs

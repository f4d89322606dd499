#!/bin/bash
# End-to-end seed-002 throughput and latency on loopback: complete key
# agreements per second through iomt-gwd (MEC role) and iomt-ttp (durable
# SQLite store, synchronous=FULL group commits), driven by many simulated
# devices (iomt-sensor, one UDP socket each, all in flight at once).
#
# Baseline, measured in the same run: the same system with batching off
# (batch_max 1 at the TTP and at the gateway: one M2 per engine call and
# per commit, one frame per receive pass). Two systems are set up side by
# side (own database, MEC pool and devices) and driven in alternating
# rounds; each figure is the median over rounds. Rows on stdout
# (tests/bench/bench.h format), progress on stderr.
#
#   IOMT_BENCH_E2E_ROUNDS (7)    rounds per configuration
#   IOMT_BENCH_E2E_DEVICES (192) devices (concurrency: all of them)
#   IOMT_BENCH_E2E_AGREEMENTS (16) agreements per device per round
#
# The devices in flight are kept below what the gateway's UDP socket can
# queue with the kernel's default receive buffer (about 250 M1 datagrams
# with rmem_default 212992): a larger burst loses M1s in the kernel and
# measures the devices' 500 ms retry timer instead of the system.
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
ROUNDS=${IOMT_BENCH_E2E_ROUNDS:-7}
NDEV=${IOMT_BENCH_E2E_DEVICES:-192}
K=${IOMT_BENCH_E2E_AGREEMENTS:-16}
SYS_GUARD=600
. mk/system.sh

log() { echo "bench_e2e: $*" >&2; }
sys_init || exit 1
D=$SYS_DIR

# setup NAME BATCH_TTP BATCH_GWD: a TTP, a MEC and NDEV devices.
setup() {
	local s=$1 bt=$2 bg=$3 i n left=$NDEV pool
	sys_ttp_init "$s" && sys_user "$s" mecop mec || return 1
	pool=$(sys_mec_register "$s" "mec-$s" $((NDEV + 64)) mecop) || return 1
	sys_ttp_start "$s" --batch-max "$bt" || return 1
	: >"$D/$s.prov"
	i=0
	while [ "$left" -gt 0 ]; do
		i=$((i + 1))
		n=$((left < 64 ? left : 64))
		sys_user "$s" "p$i" patient && sys_analysis "$s" "p$i" "$n" "$D/$s-a$i" || return 1
		cat "$D/$s-a$i/devices.prov" >>"$D/$s.prov"
		left=$((left - n))
	done
	sys_sensor_provision "$D/$s.prov" "$D/$s.state" &&
	sys_gwd_provision "g$s" "$pool" &&
	sys_gwd_start "g$s" "$s" --batch-max "$bg"
}

log "setting up two systems ($NDEV devices each) in $D"
setup batched 256 64 || { log "set-up failed"; exit 1; }
setup unbatched 1 1 || { log "set-up failed"; exit 1; }
# One warm-up round each (page cache, SQLite pages, the sensors' files).
for s in batched unbatched; do
	sys_sensor_run "$D/warm" "$D/$s.state" "g$s" --concurrency "$NDEV" --agreements 1 ||
		{ log "$s: warm-up failed: $(cat "$D/warm.json")"; exit 1; }
done

declare -A RATE P99
for r in $(seq 1 "$ROUNDS"); do
	for s in batched unbatched; do
		if ! sys_sensor_run "$D/r" "$D/$s.state" "g$s" --concurrency "$NDEV" --agreements "$K"; then
			log "$s round $r failed: $(cat "$D/r.json")"
			exit 1
		fi
		ok=$(sys_json "$D/r.json" agreements_ok) el=$(sys_json "$D/r.json" elapsed_ms)
		p99=$(sys_json "$D/r.json" p99_ms) ret=$(sys_json "$D/r.json" retries)
		rate=$(awk -v n="$ok" -v ms="$el" 'BEGIN { printf "%.1f", n * 1000 / ms }')
		RATE[$s]="${RATE[$s]} $rate" P99[$s]="${P99[$s]} $p99"
		log "round $r $s: $ok agreements in $el ms = $rate/s, p99 $p99 ms, retries $ret"
		[ "$ret" = 0 ] || log "  (retries: a device waited 500 ms for an M4; see the gateway's UDP drops)"
	done
done

median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rb=$(median "${RATE[batched]}") ru=$(median "${RATE[unbatched]}")
pb=$(median "${P99[batched]}") pu=$(median "${P99[unbatched]}")
for s in batched unbatched; do
	b=$(sys_metric "${SYS_ADDR[$s.metrics]}" iomt_ttp_batches_total)
	n=$(sys_metric "${SYS_ADDR[$s.metrics]}" iomt_ttp_batch_requests_total)
	log "$s: TTP mean batch $(awk -v n="$n" -v b="$b" 'BEGIN { printf "%.1f", b ? n / b : 0 }') M2s over $b batches"
done
for s in gbatched gunbatched batched unbatched; do
	sys_stop "$s" || log "$s: exit status $?"
done

printf 'mec_e2e_agreements_per_s\t%.0f\tagreements/s\tmec_e2e_unbatched_agreements_per_s\t%.0f\t%.2f\n' \
	"$rb" "$ru" "$(awk -v a="$rb" -v b="$ru" 'BEGIN { print a / b }')"
printf 'mec_e2e_p99_ms\t%.2f\tms\tmec_e2e_unbatched_p99_ms\t%.2f\t%.2f\n' \
	"$pb" "$pu" "$(awk -v a="$pb" -v b="$pu" 'BEGIN { print b / a }')"

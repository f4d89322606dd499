#!/bin/bash
# iomt-gwd's ingress engine: its io_uring path (the default) against
# --baseline (the same binary with recvmmsg/sendmmsg, one worker, and every
# hash the gateway computes - SHAKE128, KMAC128 - one OpenSSL EVP call per
# message instead of lib's multi-lane batches: userspace/gwd/baseline.h),
# measured in the same run.
#
# Agreements: complete seed-002 agreements per second on loopback through
# iomt-gwd (MEC role) and iomt-ttp, driven by many simulated devices
# (iomt-sensor, one UDP socket each, all in flight). Two systems are set up
# side by side (own TTP, database, MEC pool and devices), identical but for
# --baseline on the gateway, both with batching on (TTP batch 256, gateway
# 64), and driven in alternating rounds; the figure is the median over
# rounds. The TTP (its durable SQLite commits) is part of every agreement
# and bounds both systems alike, so this ratio shows what the gateway's
# ingress changes end to end, not the gateway's own ceiling: the systems
# live on tmpfs (IOMT_BENCH_GWD_TMPDIR) so fsync does not hide the rest,
# and each daemon's CPU time per agreement (/proc, over the rounds) is
# reported too: 1e6 / gwd_agreement_cpu_us is what one core of gateway
# could sustain, whatever the TTP and the simulated devices cost.
#
# Data frames: REC_PUT frames relayed per second by the relay role to a
# store that acknowledges at once, so the gateway is the bottleneck:
# build/bench/gwd_load starts the gateway (each mode in turn, same rounds),
# plays the store, and keeps a window of frames in flight over many
# sockets (tests/bench/gwd_load.c). The machine's load moves the rate
# with the share of the cores the gateway gets, and the load generator
# needs more CPU per frame than the gateway (about 11 vs 6 us), so on a
# small machine the rate is bound by the generator and the scheduler: the
# gateway's own CPU time per frame (its /proc times) is the figure that
# measures the gateway (1e6 / it: one core's ceiling). Each mode runs at
# two windows: WINDOW (throughput) and 64 frames (latency-bound: the rate
# is window / round trip, so any wait the gateway adds shows there). The
# ratios are medians of per-round ratios (each pair of rounds back to
# back), which cancels the machine's drift better than a ratio of medians.
#
#   IOMT_BENCH_GWD_ROUNDS (5)      rounds per configuration
#   IOMT_BENCH_GWD_DEVICES (192)   devices (agreements)
#   IOMT_BENCH_GWD_AGREEMENTS (16) agreements per device per round
#   IOMT_BENCH_GWD_SECONDS (2)     seconds per data round
#   IOMT_BENCH_GWD_WINDOW (512)    data frames in flight
#   IOMT_BENCH_GWD_TMPDIR (/dev/shm when writable) where the systems live
#
# Rows on stdout (tests/bench/bench.h format), progress on stderr.
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
ROUNDS=${IOMT_BENCH_GWD_ROUNDS:-5}
NDEV=${IOMT_BENCH_GWD_DEVICES:-192}
K=${IOMT_BENCH_GWD_AGREEMENTS:-16}
SECS=${IOMT_BENCH_GWD_SECONDS:-2}
WINDOW=${IOMT_BENCH_GWD_WINDOW:-512}
SYS_GUARD=900
if [ -n "${IOMT_BENCH_GWD_TMPDIR:-}" ]; then
	export TMPDIR=$IOMT_BENCH_GWD_TMPDIR
elif [ -d /dev/shm ] && [ -w /dev/shm ]; then
	export TMPDIR=/dev/shm
fi
. mk/system.sh

log() { echo "bench_gwd: $*" >&2; }
LOAD=$BUILD/bench/gwd_load
[ -x "$LOAD" ] || { log "SKIP: $LOAD not built"; exit 0; }
sys_init || exit 1
D=$SYS_DIR

# setup NAME [gwd flags...]: a TTP, a MEC and NDEV devices.
setup() {
	local s=$1 i n left=$NDEV pool
	shift
	sys_ttp_init "$s" && sys_user "$s" mecop mec || return 1
	pool=$(sys_mec_register "$s" "mec-$s" $((NDEV + 64)) mecop) || return 1
	sys_ttp_start "$s" --batch-max 256 || return 1
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
	sys_gwd_start "g$s" "$s" --batch-max 64 "$@"
}

median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
# cpu_ticks PIDFILE: the process's user + system time so far, in clock ticks.
cpu_ticks() {
	local p
	p=$(cat "$1" 2>/dev/null) && [ -r "/proc/$p/stat" ] || { echo 0; return; }
	sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }'
}
HZ=$(getconf CLK_TCK)

log "setting up two systems ($NDEV devices each) in $D"
setup ring || { log "set-up failed"; exit 1; }
setup base --baseline || { log "set-up failed"; exit 1; }
grep -q "ingress: io_uring" "$D/gring/gring.log" || { log "gring is not on io_uring"; exit 1; }
grep -q "baseline mode" "$D/gbase/gbase.log" || { log "gbase is not in baseline mode"; exit 1; }
for s in ring base; do
	sys_sensor_run "$D/warm" "$D/$s.state" "g$s" --concurrency "$NDEV" --agreements 1 ||
		{ log "$s: warm-up failed: $(cat "$D/warm.json")"; exit 1; }
done

declare -A RATE GCPU TCPU NOK
for r in $(seq 1 "$ROUNDS"); do
	for s in ring base; do
		g0=$(cpu_ticks "$D/g$s/gwd.pid") t0=$(cpu_ticks "$D/$s/ttp.pid")
		if ! sys_sensor_run "$D/r" "$D/$s.state" "g$s" --concurrency "$NDEV" --agreements "$K"; then
			log "$s round $r failed: $(cat "$D/r.json")"
			exit 1
		fi
		ok=$(sys_json "$D/r.json" agreements_ok) el=$(sys_json "$D/r.json" elapsed_ms)
		ret=$(sys_json "$D/r.json" retries)
		GCPU[$s]=$((${GCPU[$s]:-0} + $(cpu_ticks "$D/g$s/gwd.pid") - g0))
		TCPU[$s]=$((${TCPU[$s]:-0} + $(cpu_ticks "$D/$s/ttp.pid") - t0))
		NOK[$s]=$((${NOK[$s]:-0} + ok))
		rate=$(awk -v n="$ok" -v ms="$el" 'BEGIN { printf "%.1f", n * 1000 / ms }')
		RATE[$s]="${RATE[$s]} $rate"
		log "agreements round $r $s: $ok in $el ms = $rate/s, retries $ret"
	done
done
for s in gring gbase ring base; do
	sys_stop "$s" || log "$s: exit status $?"
done
ar=$(median "${RATE[ring]}") ab=$(median "${RATE[base]}")
per_ag() { awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }'; }
agr=$(per_ag "${GCPU[ring]}" "${NOK[ring]}") agb=$(per_ag "${GCPU[base]}" "${NOK[base]}")
atr=$(per_ag "${TCPU[ring]}" "${NOK[ring]}") atb=$(per_ag "${TCPU[base]}" "${NOK[base]}")
log "CPU per agreement: gateway $agr us (ring) / $agb us (base); TTP $atr / $atb us"

declare -A DATA CPU
for r in $(seq 1 "$ROUNDS"); do
	for w in "$WINDOW" 64; do
		for s in ring base; do
			flag=
			[ $s = base ] && flag=--baseline
			v=$(timeout 120 "$LOAD" "$BUILD/bin/iomt-gwd" "$SECS" "$w" $flag) ||
				{ log "data round $r $s failed"; exit 1; }
			DATA[$s$w]="${DATA[$s$w]} ${v% *}" CPU[$s$w]="${CPU[$s$w]} ${v#* }"
			log "data round $r $s window $w: ${v% *} frames/s, gateway CPU ${v#* } us/frame"
		done
		# this pair's ratios (ring's last round against base's, just run)
		DATA[q$w]="${DATA[q$w]} $(ratio "${DATA[ring$w]##* }" "${v% *}")"
		CPU[q$w]="${CPU[q$w]} $(ratio "${v#* }" "${CPU[ring$w]##* }")"
	done
done
dr=$(median "${DATA[ring$WINDOW]}") db=$(median "${DATA[base$WINDOW]}") dq=$(median "${DATA[q$WINDOW]}")
lr=$(median "${DATA[ring64]}") lb=$(median "${DATA[base64]}") lq=$(median "${DATA[q64]}")
cr=$(median "${CPU[ring$WINDOW]}") cb=$(median "${CPU[base$WINDOW]}") cq=$(median "${CPU[q$WINDOW]}")

printf 'gwd_agreements_per_s\t%.0f\tagreements/s\tgwd_baseline_agreements_per_s\t%.0f\t%s\n' \
	"$ar" "$ab" "$(ratio "$ar" "$ab")"
printf 'gwd_agreement_cpu_us\t%.1f\tus/agreement\tgwd_baseline_agreement_cpu_us\t%.1f\t%s\n' \
	"$agr" "$agb" "$(ratio "$agb" "$agr")"
printf 'gwd_data_frames_per_s\t%.0f\tframes/s\tgwd_baseline_data_frames_per_s\t%.0f\t%s\n' \
	"$dr" "$db" "$dq"
printf 'gwd_data_frames_per_s_window64\t%.0f\tframes/s\tgwd_baseline_data_frames_per_s_window64\t%.0f\t%s\n' \
	"$lr" "$lb" "$lq"
printf 'gwd_data_cpu_us_per_frame\t%.2f\tus/frame\tgwd_baseline_data_cpu_us_per_frame\t%.2f\t%s\n' \
	"$cr" "$cb" "$cq"

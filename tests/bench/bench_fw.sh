#!/bin/sh
# Device-side figures of lib/ on Cortex-M3 (issue 8), from the images of
# `make m3-image` (tests/m3/README.md). There is no same-run baseline for a
# firmware budget: each row's baseline is the issue's goal, and its ratio is
# goal / value (> 1: within the goal).
#
#   fw_core_flash_bytes   .text + .data of a "core only" link, --gc-sections:
#                         $BUILD/m3/sc.elf (tests/m3/m3_sc.c: startup, every
#                         device entry point of sensors/core/sc.h, lib/, newlib
#                         memcpy/memset, a driver that stores nothing) when
#                         sensors/core exists, else core.elf; less the
#                         harness's own code and data (main, into which
#                         provision_data_key is inlined, and the pointer
#                         tables m3_sc_io, m3_core_io; sizes by nm -S).
#                         stderr also shows it with them. Goal 16 KB.
#   fw_core_ram_bytes     the core's RAM: .data + .bss of that link (core
#                         state, provisioning state, frame buffer) less the
#                         harness's data (those tables and the fixtures,
#                         m3_sc_fixture) + worst-case stack
#                         from m3_reset down the deepest call chain of GCC's
#                         call graphs (-fcallgraph-info=su, tests/m3/stack.awk;
#                         the harness's own frames, main and
#                         provision_data_key, charged 0; callees without a
#                         graph, newlib's mem*, charged 32 bytes; a driver
#                         hook: the deepest stub hook). stderr also shows it
#                         with the fixtures and frames. Goal 2 KB.
#   fw_lib_device_flash_bytes, fw_lib_device_ram_bytes  the same for
#                         core.elf (tests/m3/m3_core.c): lib/'s seed-002 device
#                         init/start/finish alone.
#   fw_agreement_instructions  instructions the emulated M3 executes for one
#                         device side of seed-002 vector 0
#                         (iomt_s2_device_init + _start + _finish). Goal 30 000.
#   fw_keccak_instructions one Keccak-f[1600] permutation (iomt_keccak_f1600).
#                         Baseline: the agreement goal / the number of
#                         permutations one agreement does (2), i.e. the
#                         most a permutation may cost if it were all of it.
#
# Instruction counts are exact: $BUILD/m3/main.elf runs under QEMU with one
# instruction per translation block (-singlestep; -accel
# tcg,one-insn-per-tb=on on QEMU >= 8.1) and -d exec,nochain, so that every
# executed instruction is one "Trace" line naming its function; the lines
# between m3_mark_begin and m3_mark_end are counted, less the count of an
# empty pair of markers. No TCG plugin is needed (Debian 12's QEMU ships none).
# Without the tools: a SKIP line on stderr, no rows, exit status 0.
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
M3=$BUILD/m3
log() { echo "bench_fw: $*" >&2; }

for t in qemu-system-arm arm-none-eabi-size; do
	if ! command -v $t >/dev/null 2>&1; then
		log "SKIP: $t not installed (mk/debian-packages.txt): no fw_* rows"
		exit 0
	fi
done
for f in "$M3/core.elf" "$M3/main.elf"; do
	[ -f "$f" ] || { log "$f missing: run make m3-image BUILD=$BUILD"; exit 1; }
done

# row NAME VALUE UNIT BASELINE BASELINE_VALUE: lower is better.
row() { awk -v n="$1" -v v="$2" -v u="$3" -v b="$4" -v bv="$5" \
	'BEGIN { printf "%s\t%d\t%s\t%s\t%d\t%.2f\n", n, v, u, b, bv, bv / v }'; }

# ---- flash and RAM ----------------------------------------------------------
# sizes ELF ROOT_CI INDIRECT: "flash ram" of a core-only link, details on stderr.
# The harness is not the core, in either figure. Its own code and data, the
# symbols in $hdata and $hcode (main, with provision_data_key inlined into it
# or not; the fixtures m3_sc_fixture; the pointer tables m3_sc_io,
# m3_core_io that hide the fixtures from the optimiser), are left out of
# flash (their .text, .rodata and .data) and of RAM (.data and .bss), and its
# own frames (main, provision_data_key) out of the stack: the stack counted
# is the startup's plus the deepest chain below the core entry points the
# harness calls. The driver's stub hooks and tables stay in (a firmware has a
# driver). stderr shows both figures, the old ones with the harness counted.
hcode="main provision_data_key"
hdata="m3_sc_fixture m3_sc_io m3_core_io"
harness="main tests/m3/m3_sc.c:provision_data_key"
sizes() {
	# "flash ram" bytes of the harness's symbols in this link (nm -S:
	# address size type name; code and read-only data count as flash,
	# initialised data as both, zeroed data as RAM).
	set -- "$1" "$2" "$3" $(arm-none-eabi-nm -S "$1" | awk -v c="$hcode" -v d="$hdata" '
		BEGIN { n = split(c " " d, s, " "); for (i = 1; i <= n; i++) h[s[i]] = 1 }
		NF == 4 && ($4 in h) { z = 0; for (i = 1; i <= length($2); i++)
				z = z * 16 + index("0123456789abcdef", tolower(substr($2, i, 1))) - 1
			if ($3 ~ /^[tTrR]$/) f += z; else if ($3 ~ /^[dD]$/) { f += z; r += z }
			else if ($3 ~ /^[bB]$/) r += z }
		END { print f + 0, r + 0 }')
	hflash=$4 hram=$5
	set -- "$1" "$2" "$3" $(arm-none-eabi-size "$1" | awk 'NR == 2 { print $1, $2, $3 }')
	ci="$2 $M3/tests/m3/m3_start.ci $(ls "$M3"/lib/*.ci "$M3"/sensors/core/*.ci 2>/dev/null)"
	stack=$(awk -v root=m3_reset -v ext=32 -v indirect="$3" -v harness="$harness" \
		-f tests/m3/stack.awk $ci) ||
		{ log "$1: no static stack bound: $stack"; return 1; }
	all=$(awk -v root=m3_reset -v ext=32 -v indirect="$3" -f tests/m3/stack.awk $ci) ||
		{ log "$1: no static stack bound: $all"; return 1; }
	log "$1: text $4, data $5, bss $6 bytes; worst-case stack ${stack%% *} bytes" \
		"below the harness (${all%% *} with its frames):"
	log "    ${stack#* }"
	flash=$(($4 + $5 - hflash))
	ram=$(($5 + $6 - hram + ${stack%% *}))
	log "    flash $flash: text + data less the harness's code and data ($hcode $hdata:" \
		"$hflash bytes); with the harness: $(($4 + $5))"
	log "    RAM $ram: data + bss less the harness's data ($hram bytes) + that stack;" \
		"with the harness's data and frames: $(($5 + $6 + ${all%% *}))"
	echo "$flash $ram"
}
lib=$(sizes "$M3/core.elf" "$M3/tests/m3/m3_core.ci" "") || exit 1
if [ -f "$M3/sc.elf" ]; then
	hooks="m3_sc_rng m3_sc_read m3_sc_write m3_sc_now"
	core=$(sizes "$M3/sc.elf" "$M3/tests/m3/m3_sc.ci" \
		"$(for h in $hooks; do printf 'tests/m3/m3_sc.c:%s ' $h; done)") || exit 1
	log "fw_core_*: sensors/core + lib/ (sc.elf); fw_lib_device_*: lib/ alone (core.elf)"
else
	core=$lib
	log "fw_core_*: lib/ alone (core.elf): sensors/core/sc.h absent"
fi

# ---- instructions -------------------------------------------------------------
if qemu-system-arm -help | grep -q -- '^-singlestep'; then one="-singlestep"
else one="-accel tcg,one-insn-per-tb=on"; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/trace"
# The trace (~500 000 lines) streams through awk instead of to disk.
awk '
$NF == "m3_mark_begin" { on = 1; p++; n[p] = 0; perm[p] = 0; prev = ""; next }
$NF == "m3_mark_end" { on = 0; next }
on { n[p]++; if ($NF == "keccak_perm" && prev != "keccak_perm") perm[p]++; prev = $NF }
END { print n[1], n[2], n[3], perm[3], p }' "$dir/trace" >"$dir/counts" &
timeout 120 qemu-system-arm -M lm3s6965evb -nographic -monitor none $one -d exec,nochain \
	-D "$dir/trace" -chardev file,id=semi,path="$dir/semi.out" \
	-semihosting-config enable=on,target=native,chardev=semi -kernel "$M3/main.elf" \
	</dev/null >"$dir/qemu.log" 2>&1
rc=$?
# If QEMU never opened the trace, awk still waits for a writer: give it one
# (read-write open of a FIFO never blocks) that closes at once.
exec 3<>"$dir/trace"
exec 3>&-
wait
set -- $(cat "$dir/counts")
if [ "$rc" != 0 ] || [ "${5:-0}" != 3 ]; then
	log "the image failed (qemu exit $rc, ${5:-0} marker pairs of 3):"
	cat "$dir/semi.out" "$dir/qemu.log" >&2
	exit 1
fi
cal=$1 keccak=$(($2 - $1)) agree=$(($3 - $1)) perms=$4
log "markers $cal, one permutation $keccak, agreement $agree instructions" \
	"($perms permutations: $((perms * keccak)), the rest $((agree - perms * keccak)))"

row fw_core_flash_bytes "${core% *}" bytes goal_16KB 16384
row fw_core_ram_bytes "${core#* }" bytes goal_2KB 2048
row fw_lib_device_flash_bytes "${lib% *}" bytes goal_16KB 16384
row fw_lib_device_ram_bytes "${lib#* }" bytes goal_2KB 2048
row fw_agreement_instructions "$agree" insns goal_30000 30000
row fw_keccak_instructions "$keccak" insns_per_perm goal_30000_over_${perms}_perms "$((30000 / perms))"

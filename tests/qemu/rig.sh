# SPDX-License-Identifier: MIT
# The qemu rig: boots Debian's stock kernel (tests/qemu/kernel.sh) on a
# busybox initramfs (tests/qemu/mkinitramfs.sh) under TCG and brings the
# guest's results back as this suite's TAP lines. Sourced by the script
# suites tests/qemu/test_*.sh, after tests/tap.sh:
#
#   . tests/tap.sh; . tests/qemu/rig.sh
#   rig_need_qemu "case1 case2 ..."     skips every case (saying why) and
#                                       exits if qemu cannot run at all
#   MODS="..." rig_boot GUEST_SCRIPT FILE...   kernel, initramfs, one boot
#   rig_report "case1 case2 ..."        the guest's GUEST-TAP lines as TAP;
#                                       a case it did not report fails
#
# Only a missing qemu is a skip: no kernel package, a guest that does not
# boot or a timeout are failures. Cache: $RIG_CACHE (default $BUILD/qemu):
# the unpacked kernel stays there between runs. The console log of the last
# boot: $RIG_LOG ($RIG_CACHE/<suite>.console.log). Every guest process runs under timeout (guest/init and the
# guest scripts); the whole boot is bounded by RIG_TIMEOUT seconds (default
# 600, times IOMT_TEST_TIMEOUT_MULT).
# Guest: qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2: /dev/kvm on
# these machines is a nested PVM device on which stock kernels hang.
RIG_DIR=$(cd "$(dirname "${BASH_SOURCE:-$0}")" 2>/dev/null && pwd)
[ -f "$RIG_DIR/kernel.sh" ] || RIG_DIR=tests/qemu
RIG_CACHE=${RIG_CACHE:-${BUILD:-build}/qemu}
RIG_NAME=${RIG_NAME:-$(basename "$0" .sh)}
RIG_LOG=$RIG_CACHE/$RIG_NAME.console.log
RIG_TIMEOUT=$(( ${RIG_TIMEOUT:-600} * ${IOMT_TEST_TIMEOUT_MULT:-1} ))

rig_log() { echo "# rig: $*"; }

rig_skip_all() {
	for c in $1; do tap_skip "$c" "$2"; done
	tap_done
	exit $?
}

rig_fail_all() {
	for c in $1; do tap_fail "$c" "$2"; done
	tap_done
	exit $?
}

rig_need_qemu() {
	command -v qemu-system-x86_64 >/dev/null 2>&1 ||
		rig_skip_all "$1" "qemu-system-x86_64 is not installed (make deps: qemu-system-x86)"
	qemu-system-x86_64 -accel tcg -machine none -display none -S -nodefaults \
		-monitor none -serial none </dev/null >/dev/null 2>&1 &
	p=$!
	sleep 1
	if ! kill -0 "$p" 2>/dev/null; then
		wait "$p"
		rig_skip_all "$1" "qemu-system-x86_64 cannot start a TCG machine here"
	fi
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# rig_kernel: RIG_KVER and RIG_KROOT (lib/modules/RIG_KVER, boot/vmlinuz-...)
# of the guest kernel, fetched on a cold cache; for suites that build
# against it before booting (rig_boot calls it).
rig_kernel() {
	[ -n "${RIG_KROOT:-}" ] && return 0
	mkdir -p "$RIG_CACHE"
	kk=$("$RIG_DIR/kernel.sh" "$RIG_CACHE") || { rig_log "no guest kernel"; return 1; }
	RIG_KVER=${kk% *} RIG_KROOT=${kk#* }
}

# rig_boot GUEST_SCRIPT FILE...: 0 if the guest ran its script to the end.
# env: PRELOAD, MODS (mkinitramfs.sh).
rig_boot() {
	t0=$(date +%s)
	rig_kernel || return 1
	t1=$(date +%s)
	KVER=$RIG_KVER KROOT=$RIG_KROOT "$RIG_DIR/mkinitramfs.sh" "$RIG_CACHE/$RIG_NAME.cpio" "$@" ||
		{ rig_log "initramfs failed"; return 1; }
	t2=$(date +%s)
	timeout "$RIG_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2 \
		-nographic -no-reboot -kernel "$RIG_KROOT/boot/vmlinuz-$RIG_KVER" \
		-initrd "$RIG_CACHE/$RIG_NAME.cpio" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 iomt_timeout=$((RIG_TIMEOUT - 30))" \
		</dev/null 2>&1 | tr -d '\r' >"$RIG_LOG"
	t3=$(date +%s)
	rig_log "kernel $RIG_KVER ready in $((t1 - t0)) s, initramfs $((t2 - t1)) s" \
		"($(du -h "$RIG_CACHE/$RIG_NAME.cpio" | cut -f1)), guest $((t3 - t2)) s"
	grep -q '^guest: rc=' "$RIG_LOG"
}

# rig_report "case...": the guest's results, in the guest's order; a case
# the guest never reported fails (a guest that died says so here).
rig_report() {
	cases=$1 reported=" "
	while IFS= read -r line; do
		set -- $line
		case "$2" in
		ok) tap_ok "$3"; reported="$reported$3 " ;;
		not) tap_fail "$4" "${line#*# }"; reported="$reported$4 " ;;
		skip) tap_skip "$3" "${line#*# }"; reported="$reported$3 " ;;
		esac
	done <<EOI
$(grep -a '^GUEST-TAP ' "$RIG_LOG")
EOI
	why="not reported by the guest (console log: $RIG_LOG)"
	grep -q '^guest: rc=' "$RIG_LOG" || why="the guest did not finish (console log: $RIG_LOG)"
	for c in $cases; do
		case "$reported" in
		*" $c "*) ;;
		*) tap_fail "$c" "$why" ;;
		esac
	done
}

# rig_figure NAME: a value the guest printed with g_figure, or "".
rig_figure() {
	grep -a "^GUEST-FIGURE $1 " "$RIG_LOG" | tail -n 1 | cut -d' ' -f3
}

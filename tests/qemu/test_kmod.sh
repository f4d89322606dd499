#!/bin/bash
# SPDX-License-Identifier: MIT
# kernel/iomt.ko in a qemu guest (tests/qemu/rig.sh: Debian's stock kernel,
# TCG). On the host: the module built for the guest's kernel with BTF
# (tests/qemu/kmod_build.sh). In the guest (tests/qemu/guest/kmod.sh, driving
# tests/qemu/kmodtest): a broken known answer refuses the load; insmod,
# module BTF, self-test status, genl key install, the loader picking the
# kfunc variant, crafted frames through BPF_PROG_TEST_RUN on both variants
# of both hooks (XDP; tc, i.e. SCHED_CLS with skb input) with identical (and
# the expected) verdicts, rmmod refused while a program uses the kfunc, a
# veth pair end to end with XDP and one with tc on clsact ingress, the benchmark, rmmod, and the
# pure-BPF variant once the module is gone. Skips only when qemu cannot run.
# Prints xdp_kfunc_verify_ns and xdp_purebpf_verify_ns (TCG: indicative
# only) and keeps them in $BUILD/qemu/kmod_bench.tsv (tests/bench/bench_kmod.sh;
# KMOD_BENCH_REPEAT test runs per measurement, default 2000).
. tests/tap.sh
. tests/qemu/rig.sh
BUILD=${BUILD:-build}
CASES="selftest_refuses insmod module_btf selftest_status genl_keys variant_kfunc
verdicts_identical rmmod_refused_in_use veth_kfunc veth_tc_kfunc bench rmmod
variant_purebpf_after_rmmod"
KMODTEST=$BUILD/tests/qemu/kmodtest

rig_need_qemu "module_build guest_boot $CASES"
[ -x "$KMODTEST" ] || rig_fail_all "module_build guest_boot $CASES" "$KMODTEST is not built"
kk=$("$RIG_DIR/kernel.sh" "$RIG_CACHE") ||
	rig_fail_all "module_build guest_boot $CASES" "no guest kernel (tests/qemu/kernel.sh)"
t0=$(date +%s)
if ko=$(tests/qemu/kmod_build.sh "$RIG_CACHE" $kk 2>"$RIG_CACHE/kmod_build.log"); then
	tap_ok module_build
	rig_log "module built with BTF in $(($(date +%s) - t0)) s: $ko"
else
	sed 's/^/# /' "$RIG_CACHE/kmod_build.log" | tail -n 20
	rig_fail_all "module_build guest_boot $CASES" "building kernel/iomt.ko failed"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$ko" "$tmp/iomt.ko"
echo "KMOD_BENCH_REPEAT=${KMOD_BENCH_REPEAT:-2000}" >"$tmp/params"
rm -f "$RIG_CACHE/kmod_bench.tsv"
if MODS="veth sch_ingress cls_bpf" rig_boot tests/qemu/guest/kmod.sh "$tmp/iomt.ko" "$KMODTEST" "$tmp/params"; then
	tap_ok guest_boot
else
	tap_fail guest_boot "the guest did not run to the end (console log: $RIG_LOG)"
fi
grep -a '^guest: ' "$RIG_LOG" | sed 's/^/# /'
rig_report "$CASES"
kf=$(rig_figure xdp_kfunc_verify_ns)
pb=$(rig_figure xdp_purebpf_verify_ns)
if [ -n "$kf" ] && [ -n "$pb" ] && [ "$kf" -gt 0 ]; then
	ratio=$(awk -v a="$pb" -v b="$kf" 'BEGIN { printf "%.2f", a / b }')
	echo "# xdp_kfunc_verify_ns $kf, xdp_purebpf_verify_ns $pb: kfunc ${ratio}x faster (qemu TCG: indicative only)"
	printf 'xdp_kfunc_verify_ns\t%s\tns\txdp_purebpf_verify_ns_qemu_TCG\t%s\t%s\n' \
		"$kf" "$pb" "$ratio" >"$RIG_CACHE/kmod_bench.tsv"
fi
tap_done

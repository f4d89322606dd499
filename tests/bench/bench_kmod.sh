#!/bin/sh
# SPDX-License-Identifier: MIT
# The kfunc fast path against pure BPF, indicative only: tests/qemu/
# test_kmod.sh with KMOD_BENCH_REPEAT test runs per measurement of a valid
# COOKIE_WRAP through each XDP variant in a qemu TCG guest (emulated CPU:
# the ratio, not the nanoseconds, is the figure). Row: xdp_kfunc_verify_ns,
# baseline xdp_purebpf_verify_ns, ratio purebpf / kfunc (> 1: the kfunc is
# faster). Prints nothing (a note on stderr) when the guest did not run.
BUILD=${BUILD:-build}
cache=${RIG_CACHE:-$BUILD/qemu}
rm -f "$cache/kmod_bench.tsv"
KMOD_BENCH_REPEAT=${KMOD_BENCH_REPEAT:-20000} BUILD=$BUILD \
	tests/qemu/test_kmod.sh >&2 || echo "# bench_kmod: the kernel module suite failed" >&2
if [ -s "$cache/kmod_bench.tsv" ]; then
	cat "$cache/kmod_bench.tsv"
else
	echo "# bench_kmod: no xdp_kfunc_verify_ns (qemu did not run)" >&2
fi
exit 0

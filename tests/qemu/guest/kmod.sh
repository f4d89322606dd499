# SPDX-License-Identifier: MIT
# Guest side of tests/qemu/test_kmod.sh (/test/run.sh in the guest):
# kernel/iomt.ko loaded, its self-tests, its genl family, both XDP program
# variants on both hooks, XDP and tc (tests/qemu/kmodtest), veth pairs, the benchmark, the unload.
# Every process runs under timeout.
. ./tap.sh
. ./params
T="timeout 120"
KM=./kmodtest
run() { n=$1; shift; out=$($T "$@" 2>&1); rc=$?; echo "$out" | sed "s/^/guest: $n: /"; return $rc; }

# The known-answer tests gate the load: a broken answer, no module.
if $T insmod ./iomt.ko selftest_break=1 2>/dev/null; then
	g_fail selftest_refuses "loaded with a broken known answer"
	rmmod iomt
elif dmesg | grep -q "iomt: self-tests failed, refusing to load" && [ ! -e /sys/module/iomt ]; then
	g_ok selftest_refuses
else
	g_fail selftest_refuses "insmod failed without the self-test's message"
fi
if $T insmod ./iomt.ko; then g_ok insmod; else g_fail insmod "$(dmesg | grep iomt | tail -n 3)"; fi
dmesg | grep "iomt:" | sed 's/^/guest: dmesg: /'
g_check module_btf test -s /sys/kernel/btf/iomt
if run status $KM status; then g_ok selftest_status; else g_fail selftest_status; fi
if run keys $KM keys; then g_ok genl_keys; else g_fail genl_keys; fi
if run variant $KM variant kfunc; then g_ok variant_kfunc; else g_fail variant_kfunc; fi
if run verdicts $KM verdicts; then g_ok verdicts_identical; else g_fail verdicts_identical; fi
if run busy $KM busy; then g_ok rmmod_refused_in_use; else g_fail rmmod_refused_in_use; fi
if run veth $KM veth; then g_ok veth_kfunc; else g_fail veth_kfunc; fi
if run veth_tc $KM veth tc; then g_ok veth_tc_kfunc; else g_fail veth_tc_kfunc; fi
if run bench $KM bench "${KMOD_BENCH_REPEAT:-2000}"; then
	g_ok bench
	g_figure xdp_kfunc_verify_ns "$(echo "$out" | sed -n 's/^xdp_kfunc_verify_ns //p')" ns
	g_figure xdp_purebpf_verify_ns "$(echo "$out" | sed -n 's/^xdp_purebpf_verify_ns //p')" ns
else
	g_fail bench
fi
# No program left: the module goes (a program is freed asynchronously after
# its last fd closes, so the first try may still find it in use).
echo "guest: refcnt $(cat /sys/module/iomt/refcnt 2>/dev/null)"
gone=0
for i in $(seq 50); do
	rmmod iomt 2>/dev/null && { gone=1; break; }
	sleep 0.2
done
if [ $gone = 1 ] && [ ! -e /sys/module/iomt ]; then g_ok rmmod; else g_fail rmmod "still loaded"; fi
if run variant_after $KM variant purebpf; then g_ok variant_purebpf_after_rmmod; else g_fail variant_purebpf_after_rmmod; fi

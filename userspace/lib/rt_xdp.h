/* SPDX-License-Identifier: MIT */
/*
 * The XDP ingress filter's loader (bpf/iomt_xdp.bpf.c through its bpftool
 * skeleton): open and load, attach to an interface (native XDP, else
 * generic; or the tc twin on clsact ingress), the daemon's map updates, the per-CPU verdict counters summed.
 * When loading or attaching fails the daemon logs the reason and runs the
 * same checks in userspace (rt_filter.h). docs/PROTOCOL.md § "Cookies and
 * the ingress filter".
 */
#ifndef IOMT_RT_XDP_H
#define IOMT_RT_XDP_H
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "../../bpf/iomt_xdp.h"   /* the filter's plain types */

struct rt_xdp;

enum rt_xdp_mode { RT_XDP_NONE = 0, RT_XDP_NATIVE, RT_XDP_GENERIC, RT_XDP_TC };
/* Where the program runs: the XDP hook, or tc's clsact ingress (the same
 * checks on the skb, for interfaces where XDP is unavailable or unwanted). */
enum rt_xdp_hook { RT_XDP_HOOK_XDP = 0, RT_XDP_HOOK_TC };

/* Opens and loads the program (the kernel's verifier runs here) with the
 * UDP service ports (1..IOMT_XF_MAX_PORTS) and no rate limit, not under
 * load, no cookie keys, no sessions. 0, or -errno with why[] saying what
 * failed (no privileges, no BPF, verifier log tail). */
int rt_xdp_open(struct rt_xdp **out, const uint16_t *ports, size_t nports,
		char *why, size_t whylen);
/* The program variant: pure BPF, or the one whose cookie check is
 * kernel/iomt.ko's kfunc (the module holds the keys). AUTO: the kfunc
 * variant when the module's BTF (/sys/kernel/btf/iomt) has the kfunc, else
 * pure BPF. Both give the same verdicts. */
enum rt_xdp_variant { RT_XDP_VARIANT_AUTO = 0, RT_XDP_VARIANT_PURE, RT_XDP_VARIANT_KFUNC };
/* rt_xdp_open with a variant; KFUNC without the module fails (-ENOENT). */
int rt_xdp_open_variant(struct rt_xdp **out, const uint16_t *ports, size_t nports,
			enum rt_xdp_variant want, char *why, size_t whylen);
/* rt_xdp_open_variant for a hook: the XDP or the tc (SCHED_CLS) program. */
int rt_xdp_open_hook(struct rt_xdp **out, const uint16_t *ports, size_t nports,
		     enum rt_xdp_variant want, enum rt_xdp_hook hook, char *why, size_t whylen);
enum rt_xdp_variant rt_xdp_variant(const struct rt_xdp *x);
enum rt_xdp_hook rt_xdp_hook(const struct rt_xdp *x);
/* "purebpf" or "kfunc". */
const char *rt_xdp_variant_name(enum rt_xdp_variant v);
/* 1 if the loaded kernel module offers the kfunc, 0 if not (why[] says
 * why: no module BTF, no such function). */
int rt_xdp_kfunc_available(char *why, size_t whylen);

/* Attaches to ifindex: native mode, else generic (skb) mode, through a
 * bpf_link (rtnetlink on kernels before 5.9). Never replaces another
 * program. The tc hook: a tcx link on ingress (kernel 6.6+), else over
 * netlink a filter on the clsact qdisc's ingress (the qdisc created if
 * absent and left in place on detach: removing it would remove other
 * filters too). 0, or -errno with why[]. */
int rt_xdp_attach(struct rt_xdp *x, int ifindex, char *why, size_t whylen);
/* 1 if attached through a bpf_link: detaching needs no capability (a
 * daemon that dropped privileges still detaches at stop), and the hook is
 * freed when the process dies. 0 if not attached, or attached over netlink
 * (tc on kernels before 6.6): detaching then takes CAP_NET_ADMIN. */
int rt_xdp_linked(const struct rt_xdp *x);
enum rt_xdp_mode rt_xdp_mode(const struct rt_xdp *x);
/* "none", "xdp native", "xdp generic", "tc". */
const char *rt_xdp_mode_name(enum rt_xdp_mode m);
/* Detaches if attached (also done by rt_xdp_close). */
void rt_xdp_detach(struct rt_xdp *x);
void rt_xdp_close(struct rt_xdp *x);

/* The config entry; the daemon may change it at any time. */
int rt_xdp_get_conf(struct rt_xdp *x, struct iomt_xf_conf *c);
int rt_xdp_set_conf(struct rt_xdp *x, const struct iomt_xf_conf *c);
int rt_xdp_set_under_load(struct rt_xdp *x, int on);
/* Per-source requests/s and burst, and the under-load cookie-reply budget
 * (all sources). A per-source rate of 0 is no limit; a cookie rate of 0 lets
 * no plain request through under load. -EINVAL if a burst is over 1e6. */
int rt_xdp_set_rates(struct rt_xdp *x, uint64_t rate_pps, uint64_t burst,
		     uint64_t cookie_rate_pps, uint64_t cookie_burst);
/* The cookie keys of the current and (NULL: none) previous epoch; for the
 * kfunc variant also into the module (rt_kmod.h). */
int rt_xdp_set_cookie_keys(struct rt_xdp *x, const uint8_t cur[16], const uint8_t *prev);

/* A session's window as the daemon committed it (lib/s2_data.h
 * iomt_s2_replay: top, bits): add, or update after each accepted frame. */
int rt_xdp_session_set(struct rt_xdp *x, const uint8_t handle[8], uint64_t top, uint64_t bits);
int rt_xdp_session_del(struct rt_xdp *x, const uint8_t handle[8]);

/* Verdict counts summed over CPUs. */
int rt_xdp_counters(struct rt_xdp *x, uint64_t out[IOMT_XF_NVERDICTS]);
/* Forgets the per-source buckets and the cookie budget (tests). */
int rt_xdp_reset_buckets(struct rt_xdp *x);

/* BPF_PROG_TEST_RUN on one Ethernet frame, repeat times: the XDP action
 * (XDP_PASS 2, XDP_DROP 1) and the mean ns per run. The tc hook's actions
 * are reported the same way (TC_ACT_OK as XDP_PASS, TC_ACT_SHOT as
 * XDP_DROP; any other as 0x100 + its value). */
int rt_xdp_test_run(struct rt_xdp *x, const void *pkt, size_t len, uint32_t repeat,
		    uint32_t *action, uint32_t *ns_per_run);

/* "PASS", "DROP_SIZE", ... ("?" out of range). */
const char *rt_xdp_verdict_name(int v);

#endif

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include "rt_xdp.h"
#include "rt_log.h"
#include "rt_kmod.h"
#include "rt_filter.h"
/* bpftool's generated code casts const away. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "iomt_xdp.skel.h"
#pragma GCC diagnostic pop

struct rt_xdp {
	struct iomt_xdp *skel;
	struct bpf_program *prog;   /* the variant loaded */
	enum rt_xdp_variant variant;
	enum rt_xdp_hook hook;
	int ifindex;
	enum rt_xdp_mode mode;
	int link_fd;                   /* the bpf_link holding the hook, or -1 */
	uint32_t tc_handle, tc_prio;   /* tc over netlink: our filter's */
};

/* tcx (kernel 6.6+): the tc ingress hook as a bpf_link. Debian 12's uapi
 * headers (6.1) and libbpf 1.1 do not name it; the value is the kernel's
 * ABI. Older kernels refuse it with EINVAL (unknown attach type). */
#ifndef RT_XDP_TCX_INGRESS
#define RT_XDP_TCX_INGRESS 46
#endif

static const char *const verdict_names[IOMT_XF_NVERDICTS] = {
	[IOMT_XF_PASS] = "PASS",
	[IOMT_XF_PASS_NOT_OURS] = "PASS_NOT_OURS",
	[IOMT_XF_DROP_MALFORMED] = "DROP_MALFORMED",
	[IOMT_XF_DROP_SIZE] = "DROP_SIZE",
	[IOMT_XF_DROP_RATE] = "DROP_RATE",
	[IOMT_XF_DROP_NO_SESSION] = "DROP_NO_SESSION",
	[IOMT_XF_DROP_REPLAY] = "DROP_REPLAY",
	[IOMT_XF_DROP_NO_COOKIE] = "DROP_NO_COOKIE",
	[IOMT_XF_DROP_BAD_COOKIE] = "DROP_BAD_COOKIE",
};

const char *rt_xdp_verdict_name(int v)
{
	return v >= 0 && v < IOMT_XF_NVERDICTS ? verdict_names[v] : "?";
}

/* libbpf's messages go to our log: warnings as debug records (the caller
 * reports the failure that matters, with its reason). */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	rt_log_vwrite(RT_LOG_DEBUG, "libbpf", 0, fmt, ap);
	return 0;
}

static int fail(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err < 0 ? err : -EINVAL;
}

static int conf_fd(struct rt_xdp *x)
{
	return bpf_map__fd(x->skel->maps.conf);
}

/* The kfunc the kfunc variant calls, in kernel/iomt.ko's BTF. */
static const char kfunc_module[] = "iomt", kfunc_name[] = "bpf_iomt_cookie_check";

int rt_xdp_kfunc_available(char *why, size_t whylen)
{
	struct btf *vml, *mod;
	int found;

	vml = btf__load_vmlinux_btf();
	if (!vml) {
		fail(0, why, whylen, "no kernel BTF: %s", strerror(errno));
		return 0;
	}
	mod = btf__load_module_btf(kfunc_module, vml);
	if (!mod) {
		fail(0, why, whylen, "no module BTF /sys/kernel/btf/%s: %s", kfunc_module,
		     strerror(errno));
		btf__free(vml);
		return 0;
	}
	found = btf__find_by_name_kind(mod, kfunc_name, BTF_KIND_FUNC) > 0;
	if (!found)
		fail(0, why, whylen, "module %s has no kfunc %s", kfunc_module, kfunc_name);
	btf__free(mod);
	btf__free(vml);
	return found;
}

const char *rt_xdp_variant_name(enum rt_xdp_variant v)
{
	return v == RT_XDP_VARIANT_KFUNC ? "kfunc" : v == RT_XDP_VARIANT_PURE ? "purebpf" : "auto";
}

enum rt_xdp_variant rt_xdp_variant(const struct rt_xdp *x)
{
	return x ? x->variant : RT_XDP_VARIANT_AUTO;
}

int rt_xdp_open(struct rt_xdp **out, const uint16_t *ports, size_t nports,
		char *why, size_t whylen)
{
	return rt_xdp_open_variant(out, ports, nports, RT_XDP_VARIANT_AUTO, why, whylen);
}

enum rt_xdp_hook rt_xdp_hook(const struct rt_xdp *x)
{
	return x ? x->hook : RT_XDP_HOOK_XDP;
}

int rt_xdp_open_variant(struct rt_xdp **out, const uint16_t *ports, size_t nports,
			enum rt_xdp_variant want, char *why, size_t whylen)
{
	return rt_xdp_open_hook(out, ports, nports, want, RT_XDP_HOOK_XDP, why, whylen);
}

/* The object's program for a variant and hook. */
static struct bpf_program *pick(struct iomt_xdp *s, int kf, enum rt_xdp_hook hook)
{
	if (hook == RT_XDP_HOOK_TC)
		return kf ? s->progs.iomt_tc_filter_kf : s->progs.iomt_tc_filter;
	return kf ? s->progs.iomt_xdp_filter_kf : s->progs.iomt_xdp_filter;
}

int rt_xdp_open_hook(struct rt_xdp **out, const uint16_t *ports, size_t nports,
		     enum rt_xdp_variant want, enum rt_xdp_hook hook, char *why, size_t whylen)
{
	struct bpf_program *p;
	struct iomt_xf_conf c = { 0 };
	struct rt_xdp *x;
	char kwhy[160] = "";
	int err, have;

	*out = NULL;
	if (hook != RT_XDP_HOOK_XDP && hook != RT_XDP_HOOK_TC)
		return fail(-EINVAL, why, whylen, "unknown hook %d", (int)hook);
	if (!ports || nports == 0 || nports > IOMT_XF_MAX_PORTS)
		return fail(-EINVAL, why, whylen, "1 to %d service ports", IOMT_XF_MAX_PORTS);
	for (size_t i = 0; i < nports; i++) {
		if (!ports[i])
			return fail(-EINVAL, why, whylen, "service port 0");
		c.ports[i] = ports[i];
	}
	libbpf_set_print(libbpf_log);
	/* On 6.1 one program cannot test for the kfunc itself (a weak kfunc
	 * with bpf_ksym_exists is refused while the module is loaded): load
	 * one of two programs, chosen by the module's BTF. */
	have = want == RT_XDP_VARIANT_PURE ? 0 : rt_xdp_kfunc_available(kwhy, sizeof(kwhy));
	if (want == RT_XDP_VARIANT_KFUNC && !have)
		return fail(-ENOENT, why, whylen, "kfunc variant: %s", kwhy);
	if (want == RT_XDP_VARIANT_AUTO && !have)
		rt_dbg("XDP: pure-BPF variant (%s)", kwhy);
	x = calloc(1, sizeof(*x));
	if (!x)
		return fail(-ENOMEM, why, whylen, "out of memory");
	x->variant = have ? RT_XDP_VARIANT_KFUNC : RT_XDP_VARIANT_PURE;
	x->hook = hook;
	x->link_fd = -1;
	x->skel = iomt_xdp__open();
	if (!x->skel) {
		err = -errno;
		free(x);
		return fail(err, why, whylen, "opening the BPF object: %s", strerror(-err));
	}
	/* One program of the four: only it goes through the verifier. */
	x->prog = pick(x->skel, have, hook);
	bpf_object__for_each_program(p, x->skel->obj)
		bpf_program__set_autoload(p, p == x->prog);
	err = iomt_xdp__load(x->skel);
	if (err) {
		const char *v = rt_xdp_variant_name(x->variant);

		rt_xdp_close(x);
		return fail(err, why, whylen, "loading the %s program (%s): %s%s",
			    hook == RT_XDP_HOOK_TC ? "tc" : "XDP", v, strerror(-err),
			    err == -EPERM ? " (needs CAP_BPF and CAP_NET_ADMIN)" : "");
	}
	err = rt_xdp_set_conf(x, &c);
	if (err) {
		rt_xdp_close(x);
		return fail(err, why, whylen, "writing the config map: %s", strerror(-err));
	}
	*out = x;
	return 0;
}

/* A bpf_link of the program on ifindex's hook: its fd, or -errno. The hook
 * is the link's while the fd (or a copy) is open; closing it or
 * bpf_link_detach frees the hook without any capability, so a daemon that
 * dropped privileges still leaves the interface as it found it, and a
 * killed one too (the kernel closes its fds). Never replaces a program
 * already on the hook (EBUSY for XDP; tcx appends). */
static int link_on(struct rt_xdp *x, int ifindex, int attach_type, unsigned flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, o, .flags = flags);
	int fd = bpf_link_create(bpf_program__fd(x->prog), ifindex,
				 (enum bpf_attach_type)attach_type, &o);

	return fd < 0 ? -errno : fd;
}

/* tc ingress on ifindex: a tcx link where the kernel has it (6.6+), else
 * over netlink: clsact's qdisc (created if absent), our filter with a handle
 * and priority the kernel picks (never replacing another). That one is
 * removed over netlink too, which takes CAP_NET_ADMIN (rt_xdp_linked). */
static int attach_tc(struct rt_xdp *x, int ifindex, char *why, size_t whylen)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = bpf_program__fd(x->prog));
	int err = link_on(x, ifindex, RT_XDP_TCX_INGRESS, 0);

	if (err >= 0) {
		x->link_fd = err;
		x->mode = RT_XDP_TC;
		x->ifindex = ifindex;
		return 0;
	}
	if (err != -EINVAL)
		return fail(err, why, whylen, "attaching tcx ingress to ifindex %d: %s", ifindex,
			    strerror(-err));
	rt_dbg("tcx link on ifindex %d: %s (kernel before 6.6); tc over netlink", ifindex,
	       strerror(-err));
	err = bpf_tc_hook_create(&h);

	if (err && err != -EEXIST)
		return fail(err, why, whylen, "creating clsact on ifindex %d: %s", ifindex,
			    strerror(-err));
	err = bpf_tc_attach(&h, &o);
	if (err)
		return fail(err, why, whylen, "attaching tc ingress to ifindex %d: %s", ifindex,
			    strerror(-err));
	x->tc_handle = o.handle;
	x->tc_prio = o.priority;
	x->mode = RT_XDP_TC;
	x->ifindex = ifindex;
	return 0;
}

static void detach_tc(struct rt_xdp *x)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = x->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = x->tc_handle, .priority = x->tc_prio);
	int err = bpf_tc_detach(&h, &o);

	/* The clsact qdisc stays: removing it would remove other filters too,
	 * and an empty one costs nothing. */
	if (err)
		rt_warn("detaching tc from ifindex %d: %s", x->ifindex, strerror(-err));
}

/* XDP over rtnetlink, for kernels without XDP links (before 5.9): its
 * detach takes CAP_NET_ADMIN. */
static int attach_xdp_netlink(struct rt_xdp *x, int ifindex, char *why, size_t whylen)
{
	int fd = bpf_program__fd(x->prog), err;

	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (!err) {
		x->mode = RT_XDP_NATIVE;
	} else {
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
				     NULL);
		if (err)
			return fail(err, why, whylen, "attaching XDP to ifindex %d: %s", ifindex,
				    strerror(-err));
		x->mode = RT_XDP_GENERIC;
	}
	x->ifindex = ifindex;
	return 0;
}

int rt_xdp_attach(struct rt_xdp *x, int ifindex, char *why, size_t whylen)
{
	int fd;

	if (x->mode != RT_XDP_NONE)
		return fail(-EBUSY, why, whylen, "already attached to ifindex %d", x->ifindex);
	if (x->hook == RT_XDP_HOOK_TC)
		return attach_tc(x, ifindex, why, whylen);
	/* A bpf_link, native mode first. */
	fd = link_on(x, ifindex, BPF_XDP, XDP_FLAGS_DRV_MODE);
	if (fd >= 0) {
		x->mode = RT_XDP_NATIVE;
	} else {
		/* The driver has no XDP hook: the generic one works everywhere,
		 * after the skb is built (slower, same verdicts). */
		rt_dbg("native XDP link on ifindex %d: %s; trying generic", ifindex,
		       strerror(-fd));
		fd = link_on(x, ifindex, BPF_XDP, XDP_FLAGS_SKB_MODE);
		if (fd == -EINVAL) {
			rt_dbg("XDP link on ifindex %d: %s (no XDP links); over rtnetlink",
			       ifindex, strerror(-fd));
			return attach_xdp_netlink(x, ifindex, why, whylen);
		}
		if (fd < 0)
			return fail(fd, why, whylen, "attaching XDP to ifindex %d: %s%s", ifindex,
				    strerror(-fd), fd == -EBUSY ? " (another program has the hook)" :
				    "");
		x->mode = RT_XDP_GENERIC;
	}
	x->link_fd = fd;
	x->ifindex = ifindex;
	return 0;
}

int rt_xdp_linked(const struct rt_xdp *x)
{
	return x && x->mode != RT_XDP_NONE && x->link_fd >= 0;
}

enum rt_xdp_mode rt_xdp_mode(const struct rt_xdp *x)
{
	return x ? x->mode : RT_XDP_NONE;
}

const char *rt_xdp_mode_name(enum rt_xdp_mode m)
{
	return m == RT_XDP_NATIVE ? "xdp native" : m == RT_XDP_GENERIC ? "xdp generic" :
	       m == RT_XDP_TC ? "tc" : "none";
}

void rt_xdp_detach(struct rt_xdp *x)
{
	int fd, err;
	LIBBPF_OPTS(bpf_xdp_attach_opts, o);

	if (!x || x->mode == RT_XDP_NONE)
		return;
	if (x->link_fd >= 0) {
		/* Detach first: the hook is free now even if a copy of the fd
		 * lives on somewhere (a forked child); no capability needed. */
		if (bpf_link_detach(x->link_fd) && errno != ENOLINK)
			rt_warn("detaching the %s link from ifindex %d: %s",
				x->mode == RT_XDP_TC ? "tcx" : "XDP", x->ifindex, strerror(errno));
		close(x->link_fd);
		x->link_fd = -1;
		x->mode = RT_XDP_NONE;
		return;
	}
	if (x->mode == RT_XDP_TC) {
		detach_tc(x);
		x->mode = RT_XDP_NONE;
		return;
	}
	/* Only our program: someone may have replaced it meanwhile. */
	fd = bpf_program__fd(x->prog);
	o.old_prog_fd = fd;
	err = bpf_xdp_detach(x->ifindex, XDP_FLAGS_REPLACE | (x->mode == RT_XDP_NATIVE ?
			     XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE), &o);
	if (err)
		rt_warn("detaching XDP from ifindex %d: %s", x->ifindex, strerror(-err));
	x->mode = RT_XDP_NONE;
}

void rt_xdp_close(struct rt_xdp *x)
{
	if (!x)
		return;
	rt_xdp_detach(x);
	iomt_xdp__destroy(x->skel);
	free(x);
}

int rt_xdp_get_conf(struct rt_xdp *x, struct iomt_xf_conf *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(conf_fd(x), &zero, c) ? -errno : 0;
}

int rt_xdp_set_conf(struct rt_xdp *x, const struct iomt_xf_conf *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(conf_fd(x), &zero, c, BPF_ANY) ? -errno : 0;
}

int rt_xdp_set_under_load(struct rt_xdp *x, int on)
{
	struct iomt_xf_conf c;
	int err = rt_xdp_get_conf(x, &c);

	if (err)
		return err;
	c.under_load = on ? 1 : 0;
	return rt_xdp_set_conf(x, &c);
}

int rt_xdp_set_rates(struct rt_xdp *x, uint64_t rate_pps, uint64_t burst,
		     uint64_t cookie_rate_pps, uint64_t cookie_burst)
{
	struct iomt_xf_conf c;
	int err;

	/* cost * burst must not overflow: 1e9 ns * 1e6 < 2^64. */
	if (burst > 1000000 || cookie_burst > 1000000 || rate_pps > 1000000000 ||
	    cookie_rate_pps > 1000000000)
		return -EINVAL;
	err = rt_xdp_get_conf(x, &c);
	if (err)
		return err;
	c.rate_pps = rate_pps;
	c.burst = burst;
	c.cookie_rate_pps = cookie_rate_pps;
	c.cookie_burst = cookie_burst;
	return rt_xdp_set_conf(x, &c);
}

int rt_xdp_set_cookie_keys(struct rt_xdp *x, const uint8_t cur[16], const uint8_t *prev)
{
	struct iomt_xf_keys k;
	__u32 zero = 0;
	int err = rt_filter_keys_make(cur, prev, &k);

	if (!err && bpf_map_update_elem(bpf_map__fd(x->skel->maps.keys), &zero, &k, BPF_ANY))
		err = -errno;
	explicit_bzero(&k, sizeof(k));
	/* The kfunc variant checks with the module's keys: the same ones. */
	if (!err && x->variant == RT_XDP_VARIANT_KFUNC) {
		char why[160];

		err = rt_kmod_set_cookie_keys(cur, cur ? prev : NULL, why, sizeof(why));
		if (err)
			rt_warn("XDP cookie keys into kernel/iomt.ko: %s", why);
	}
	return err < 0 ? err : 0;
}

int rt_xdp_session_set(struct rt_xdp *x, const uint8_t handle[8], uint64_t top, uint64_t bits)
{
	struct iomt_xf_win w = { .top = top, .bits = bits };
	__u64 key;

	memcpy(&key, handle, 8);
	return bpf_map_update_elem(bpf_map__fd(x->skel->maps.sessions), &key, &w, BPF_ANY) ?
	       -errno : 0;
}

int rt_xdp_session_del(struct rt_xdp *x, const uint8_t handle[8])
{
	__u64 key;

	memcpy(&key, handle, 8);
	return bpf_map_delete_elem(bpf_map__fd(x->skel->maps.sessions), &key) ? -errno : 0;
}

int rt_xdp_counters(struct rt_xdp *x, uint64_t out[IOMT_XF_NVERDICTS])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(x->skel->maps.counters);
	__u64 *v;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (__u32 i = 0; i < IOMT_XF_NVERDICTS; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, v)) {
			int err = -errno;

			free(v);
			return err;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += v[c];
	}
	free(v);
	return 0;
}

int rt_xdp_reset_buckets(struct rt_xdp *x)
{
	int fd = bpf_map__fd(x->skel->maps.buckets);
	struct iomt_xf_bucket zero_b = { 0 };
	struct iomt_xf_src k, next;
	__u32 zero = 0;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		k = next;
		if (bpf_map_delete_elem(fd, &k))
			return -errno;
	}
	return bpf_map_update_elem(bpf_map__fd(x->skel->maps.cookie_bucket), &zero, &zero_b,
				   BPF_ANY) ? -errno : 0;
}

int rt_xdp_test_run(struct rt_xdp *x, const void *pkt, size_t len, uint32_t repeat,
		    uint32_t *action, uint32_t *ns_per_run)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat ? repeat : 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(x->prog), &o);

	if (err)
		return -errno;
	if (action) {
		*action = o.retval;
		if (x->hook == RT_XDP_HOOK_TC)
			*action = o.retval == TC_ACT_OK ? XDP_PASS :
				  o.retval == TC_ACT_SHOT ? XDP_DROP : 0x100 + o.retval;
	}
	if (ns_per_run)
		*ns_per_run = o.duration;
	return 0;
}

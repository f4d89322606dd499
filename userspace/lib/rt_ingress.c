/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rt_ingress.h"
#include "rt_filter.h"
#include "rt_log.h"
#include "rt_nl.h"
#include "rt_xdp.h"

struct rt_ingress {
	struct rt_xdp *xdp;       /* attached, or NULL */
	struct rt_filter *filt;   /* the fallback, when xdp is NULL */
};

/* The filter on ifindex through hook: 0, or -errno with why[]. */
static int try_hook(struct rt_ingress *in, const struct rt_ingress_conf *c, size_t np,
		    int ifindex, enum rt_xdp_hook hook, char *why, size_t wl)
{
	int err = rt_xdp_open_hook(&in->xdp, c->ports, np, RT_XDP_VARIANT_AUTO, hook, why, wl);

	if (!err)
		err = rt_xdp_set_rates(in->xdp, c->rate_pps, c->burst, c->cookie_rate_pps,
				       c->cookie_burst);
	if (!err)
		err = rt_xdp_attach(in->xdp, ifindex, why, wl);
	if (err) {
		rt_xdp_close(in->xdp);
		in->xdp = NULL;
	}
	return err;
}

/* XDP on c->ifname, else the tc twin on its clsact ingress (XDP's hook
 * taken by another program, say): 0, or -errno with why[] (XDP's reason). */
static int try_xdp(struct rt_ingress *in, const struct rt_ingress_conf *c, size_t np,
		   char *why, size_t wl)
{
	char twhy[256];
	int ifindex, err;

	ifindex = rt_nl_ifindex(c->ifname);
	if (ifindex < 0) {
		snprintf(why, wl, "interface %s: %s", c->ifname, strerror(-ifindex));
		return ifindex;
	}
	err = try_hook(in, c, np, ifindex, RT_XDP_HOOK_XDP, why, wl);
	if (err && try_hook(in, c, np, ifindex, RT_XDP_HOOK_TC, twhy, sizeof(twhy)) == 0) {
		rt_info("XDP on %s: %s; the same program on tc ingress instead", c->ifname, why);
		err = 0;
	} else if (err) {
		rt_dbg("tc on %s: %s", c->ifname, twhy);
	}
	if (err)
		return err;
	rt_info("XDP filter attached to %s (ifindex %d, %s, %s)", c->ifname, ifindex,
		rt_xdp_mode_name(rt_xdp_mode(in->xdp)),
		rt_xdp_linked(in->xdp) ? "bpf_link" : "netlink");
	return 0;
}

int rt_ingress_open(struct rt_ingress **out, const struct rt_ingress_conf *c)
{
	struct iomt_xf_conf fc = { 0 };
	struct rt_ingress *in;
	char why[512] = "no interface configured";
	size_t np = 0;

	*out = NULL;
	while (np < IOMT_XF_MAX_PORTS && c->ports[np])
		np++;
	if (np == 0 || c->burst > 1000000 || c->cookie_burst > 1000000)
		return -EINVAL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	if (c->ifname && *c->ifname && try_xdp(in, c, np, why, sizeof(why)) == 0) {
		*out = in;
		return 0;
	}
	/* No interface asked for is the configuration, not a problem. */
	if (c->ifname && *c->ifname)
		rt_warn("XDP not available: %s; running the same checks in userspace", why);
	else
		rt_info("XDP not available: %s; running the same checks in userspace", why);
	in->filt = rt_filter_new(0, 0);
	if (!in->filt) {
		free(in);
		return -ENOMEM;
	}
	memcpy(fc.ports, c->ports, sizeof(fc.ports));
	fc.rate_pps = c->rate_pps;
	fc.burst = c->burst;
	fc.cookie_rate_pps = c->cookie_rate_pps;
	fc.cookie_burst = c->cookie_burst;
	rt_filter_set_conf(in->filt, &fc);
	*out = in;
	return 0;
}

void rt_ingress_close(struct rt_ingress *in)
{
	if (!in)
		return;
	rt_xdp_close(in->xdp);
	rt_filter_free(in->filt);
	free(in);
}

int rt_ingress_xdp(const struct rt_ingress *in)
{
	return in->xdp != NULL;
}

int rt_ingress_linked(const struct rt_ingress *in)
{
	return in->xdp && rt_xdp_linked(in->xdp);
}

const char *rt_ingress_mode_name(const struct rt_ingress *in)
{
	if (!in->xdp)
		return "userspace";
	return rt_xdp_mode_name(rt_xdp_mode(in->xdp));
}

int rt_ingress_check(struct rt_ingress *in, const struct sockaddr *src,
		     const uint8_t *p, size_t len)
{
	if (in->xdp)
		return IOMT_XF_PASS;
	return rt_filter_datagram(in->filt, src, p, len);
}

int rt_ingress_set_under_load(struct rt_ingress *in, int on)
{
	struct iomt_xf_conf c;

	if (in->xdp)
		return rt_xdp_set_under_load(in->xdp, on);
	rt_filter_get_conf(in->filt, &c);
	c.under_load = on ? 1 : 0;
	rt_filter_set_conf(in->filt, &c);
	return 0;
}

int rt_ingress_set_cookie_keys(struct rt_ingress *in, const uint8_t cur[16], const uint8_t *prev)
{
	struct iomt_xf_keys k;
	int err;

	if (in->xdp)
		return rt_xdp_set_cookie_keys(in->xdp, cur, prev);
	err = rt_filter_keys_make(cur, prev, &k);
	if (!err)
		rt_filter_set_keys(in->filt, &k);
	explicit_bzero(&k, sizeof(k));
	return err ? -EINVAL : 0;
}

int rt_ingress_session_set(struct rt_ingress *in, const uint8_t handle[8], uint64_t top,
			   uint64_t bits)
{
	struct iomt_xf_win w = { .top = top, .bits = bits };

	if (in->xdp)
		return rt_xdp_session_set(in->xdp, handle, top, bits);
	return rt_filter_session_set(in->filt, handle, &w);
}

int rt_ingress_session_del(struct rt_ingress *in, const uint8_t handle[8])
{
	if (in->xdp)
		return rt_xdp_session_del(in->xdp, handle);
	return rt_filter_session_del(in->filt, handle);
}

int rt_ingress_counters(struct rt_ingress *in, uint64_t out[IOMT_XF_NVERDICTS])
{
	if (in->xdp)
		return rt_xdp_counters(in->xdp, out);
	rt_filter_counters(in->filt, out);
	return 0;
}

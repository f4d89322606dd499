/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <linux/rtnetlink.h>
#include "rt_nl.h"

/* libnl's error codes are its own: the few that mean something here. */
static int nl_errno(int err)
{
	switch (-err) {
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_OBJ_NOTFOUND: case NLE_NODEV: return -ENODEV;
	}
	return -EIO;
}

static struct nl_sock *rtnl_open(int *err)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = nl_connect(sk, NETLINK_ROUTE);
	if (*err) {
		*err = nl_errno(*err);
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static int get_link(int ifindex, const char *name, struct rtnl_link **link)
{
	struct nl_sock *sk;
	int err;

	sk = rtnl_open(&err);
	if (!sk)
		return err;
	err = rtnl_link_get_kernel(sk, ifindex, name, link);
	nl_socket_free(sk);
	return err ? nl_errno(err) : 0;
}

int rt_nl_ifindex(const char *ifname)
{
	struct rtnl_link *link;
	int err, idx;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	err = get_link(0, ifname, &link);
	if (err)
		return err;
	idx = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return idx;
}

int rt_nl_link_up(int ifindex)
{
	struct rtnl_link *link;
	unsigned flags;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	err = get_link(ifindex, NULL, &link);
	if (err)
		return err;
	flags = rtnl_link_get_flags(link);
	rtnl_link_put(link);
	return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

struct addr_walk {
	int ifindex;            /* 0: any */
	int family;             /* with match: the address sought */
	const uint8_t *match;
	struct rt_nl_addr *out;
	size_t max, n;
	int found;              /* ifindex holding match */
};

static void addr_one(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct addr_walk *w = arg;
	struct nl_addr *local = rtnl_addr_get_local(a);
	int family = rtnl_addr_get_family(a);
	unsigned len;

	if (!local || (family != AF_INET && family != AF_INET6))
		return;
	len = nl_addr_get_len(local);
	if (len != (family == AF_INET ? 4u : 16u))
		return;
	if (w->match) {
		if (family == w->family && !memcmp(nl_addr_get_binary_addr(local), w->match, len))
			w->found = rtnl_addr_get_ifindex(a);
		return;
	}
	if (rtnl_addr_get_ifindex(a) != w->ifindex || w->n >= w->max)
		return;
	w->out[w->n].family = family;
	memset(w->out[w->n].addr, 0, sizeof(w->out[w->n].addr));
	memcpy(w->out[w->n].addr, nl_addr_get_binary_addr(local), len);
	w->out[w->n].prefixlen = rtnl_addr_get_prefixlen(a);
	w->n++;
}

static int walk_addrs(struct addr_walk *w)
{
	struct nl_cache *cache;
	struct nl_sock *sk;
	int err;

	sk = rtnl_open(&err);
	if (!sk)
		return err;
	err = rtnl_addr_alloc_cache(sk, &cache);
	nl_socket_free(sk);
	if (err)
		return nl_errno(err);
	nl_cache_foreach(cache, addr_one, w);
	nl_cache_free(cache);
	return 0;
}

int rt_nl_addrs(int ifindex, struct rt_nl_addr *out, size_t max)
{
	struct addr_walk w = { .ifindex = ifindex, .out = out, .max = max };
	int err;

	if (ifindex <= 0 || (!out && max))
		return -EINVAL;
	err = walk_addrs(&w);
	return err ? err : (int)w.n;
}

int rt_nl_find_addr(int family, const uint8_t *addr)
{
	struct addr_walk w = { .family = family, .match = addr };
	int err;

	if (!addr || (family != AF_INET && family != AF_INET6))
		return -EINVAL;
	err = walk_addrs(&w);
	if (err)
		return err;
	return w.found > 0 ? w.found : -EADDRNOTAVAIL;
}

struct rt_nl_watch {
	struct nl_sock *sk;
	int ifindex;
	void (*cb)(void *ctx, int ifindex, int up);
	void *ctx;
};

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct rt_nl_watch *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct ifinfomsg *ifi;

	if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return NL_SKIP;
	ifi = nlmsg_data(h);
	if (ifi->ifi_index != w->ifindex)
		return NL_SKIP;
	w->cb(w->ctx, ifi->ifi_index, h->nlmsg_type == RTM_NEWLINK &&
	      (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING));
	return NL_OK;
}

int rt_nl_watch_open(struct rt_nl_watch **out, int ifindex,
		     void (*cb)(void *ctx, int ifindex, int up), void *ctx)
{
	struct rt_nl_watch *w;
	int err;

	*out = NULL;
	if (ifindex <= 0 || !cb)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ifindex = ifindex;
	w->cb = cb;
	w->ctx = ctx;
	w->sk = rtnl_open(&err);
	if (!w->sk) {
		free(w);
		return err;
	}
	/* Notifications carry no sequence numbers of ours. */
	nl_socket_disable_seq_check(w->sk);
	nl_socket_modify_cb(w->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, w);
	err = nl_socket_add_membership(w->sk, RTNLGRP_LINK);
	if (!err)
		err = nl_socket_set_nonblocking(w->sk);
	if (err) {
		rt_nl_watch_close(w);
		return nl_errno(err);
	}
	*out = w;
	return 0;
}

int rt_nl_watch_fd(const struct rt_nl_watch *w)
{
	return nl_socket_get_fd(w->sk);
}

int rt_nl_watch_dispatch(struct rt_nl_watch *w)
{
	int err = nl_recvmsgs_default(w->sk);

	if (err == -NLE_AGAIN || err >= 0)
		return 0;
	return nl_errno(err);
}

void rt_nl_watch_close(struct rt_nl_watch *w)
{
	if (!w)
		return;
	nl_socket_free(w->sk);
	free(w);
}

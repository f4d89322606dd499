/* SPDX-License-Identifier: MIT */
/*
 * The ingress interface through rtnetlink (libnl-3, libnl-route-3): its
 * index and addresses, its state, and a watch on link up/down so the daemon
 * can (re)attach the XDP filter (rt_xdp.h) when the link comes back.
 */
#ifndef IOMT_RT_NL_H
#define IOMT_RT_NL_H
#include <stddef.h>
#include <stdint.h>

enum { RT_NL_MAX_ADDRS = 16 };

struct rt_nl_addr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* 4 or 16 bytes */
	int prefixlen;
};

/* ifindex of ifname (> 0), or -errno (-ENODEV: no such interface). */
int rt_nl_ifindex(const char *ifname);
/* 1 if the link is administratively up and has carrier, 0 if not, -errno. */
int rt_nl_link_up(int ifindex);
/* The interface's addresses (at most max): how many, or -errno. */
int rt_nl_addrs(int ifindex, struct rt_nl_addr *out, size_t max);
/* The interface holding addr (family AF_INET/AF_INET6): ifindex, or -errno
 * (-EADDRNOTAVAIL: none). */
int rt_nl_find_addr(int family, const uint8_t *addr);

/* Link state changes of one interface. fd() is for the daemon's loop;
 * when it is readable, dispatch() calls cb(ctx, up) for each change. */
struct rt_nl_watch;
int rt_nl_watch_open(struct rt_nl_watch **out, int ifindex,
		     void (*cb)(void *ctx, int ifindex, int up), void *ctx);
int rt_nl_watch_fd(const struct rt_nl_watch *w);
/* 0, or -errno; -EAGAIN (nothing pending) is 0. */
int rt_nl_watch_dispatch(struct rt_nl_watch *w);
void rt_nl_watch_close(struct rt_nl_watch *w);

#endif

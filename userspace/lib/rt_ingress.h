/* SPDX-License-Identifier: MIT */
/*
 * The daemon's ingress filter, whichever way it runs: the XDP program on
 * the ingress interface (rt_xdp.h, found with rt_nl.h), its tc twin on the
 * interface's clsact ingress when XDP's hook is not ours to take, or, when
 * neither can be attached (no interface given, no driver support, no privileges), the
 * same checks in userspace (rt_filter.h) on each received datagram. One set
 * of calls for the daemon either way; docs/PROTOCOL.md §10.
 */
#ifndef IOMT_RT_INGRESS_H
#define IOMT_RT_INGRESS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "../../bpf/iomt_xdp.h"   /* the filter's plain types */

struct rt_ingress_conf {
	const char *ifname;                   /* NULL or "": userspace checks only */
	uint16_t ports[IOMT_XF_MAX_PORTS];    /* UDP service ports; 0 = unused */
	uint64_t rate_pps, burst;             /* per source; 0 = no limit */
	uint64_t cookie_rate_pps, cookie_burst; /* under load; 0 = no plain request */
};

struct rt_ingress;

/* Attaches XDP when it can, else logs "XDP not available: <reason>; running
 * the same checks in userspace" and checks in userspace. 0, or -errno
 * (bad config, out of memory): an unavailable XDP is not an error. */
int rt_ingress_open(struct rt_ingress **out, const struct rt_ingress_conf *c);
void rt_ingress_close(struct rt_ingress *in);
/* 1 if the program is attached (XDP native or generic, or tc). */
int rt_ingress_xdp(const struct rt_ingress *in);
/* 1 if the program holds its hook through a bpf_link (rt_xdp_linked):
 * detached at close without privileges, and when the process dies. */
int rt_ingress_linked(const struct rt_ingress *in);
/* "xdp native", "xdp generic", "tc" or "userspace". */
const char *rt_ingress_mode_name(const struct rt_ingress *in);

/* A received datagram's verdict (enum iomt_xf_verdict): IOMT_XF_PASS
 * without looking when XDP already judged it, else rt_filter_datagram. */
int rt_ingress_check(struct rt_ingress *in, const struct sockaddr *src,
		     const uint8_t *p, size_t len);

int rt_ingress_set_under_load(struct rt_ingress *in, int on);
int rt_ingress_set_cookie_keys(struct rt_ingress *in, const uint8_t cur[16], const uint8_t *prev);
/* A session's window as the daemon committed it (iomt_s2_replay). */
int rt_ingress_session_set(struct rt_ingress *in, const uint8_t handle[8], uint64_t top,
			   uint64_t bits);
int rt_ingress_session_del(struct rt_ingress *in, const uint8_t handle[8]);
/* Verdicts so far (XDP's per-CPU counters summed, or the fallback's). */
int rt_ingress_counters(struct rt_ingress *in, uint64_t out[IOMT_XF_NVERDICTS]);

#endif

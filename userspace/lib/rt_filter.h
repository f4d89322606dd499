/* SPDX-License-Identifier: MIT */
/*
 * The ingress filter's checks in userspace: what iomt-gwd runs when the XDP
 * program cannot be attached (no driver support, no privileges), and the
 * reference the BPF program's verdicts are compared with. The checks are
 * bpf/xf_judge.h, the same source the XDP program is built from; only the
 * tables differ (fixed-size open addressing here, BPF maps there).
 */
#ifndef IOMT_RT_FILTER_H
#define IOMT_RT_FILTER_H
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <sys/socket.h>
#include "../../bpf/iomt_xdp.h"   /* the filter's plain types */

struct rt_filter;

/* Tables for max_sources buckets and max_sessions sessions (0: the XDP
 * maps' sizes). NULL on allocation failure. */
struct rt_filter *rt_filter_new(size_t max_sources, size_t max_sessions);
void rt_filter_free(struct rt_filter *f);

void rt_filter_set_conf(struct rt_filter *f, const struct iomt_xf_conf *c);
void rt_filter_get_conf(const struct rt_filter *f, struct iomt_xf_conf *c);
void rt_filter_set_keys(struct rt_filter *f, const struct iomt_xf_keys *k);
/* The filter's key block (for this table and for XDP's 'keys' map) from
 * the current cookie secret and the previous one (either may be NULL):
 * each secret's KMAC prestate (lib/cookie.h). 0, or lib's error (then *k
 * may hold part of a key: the caller wipes it either way). */
int rt_filter_keys_make(const uint8_t *cur, const uint8_t *prev, struct iomt_xf_keys *k);
/* Adds or replaces a session's window; -ENOSPC when the table is full. */
int rt_filter_session_set(struct rt_filter *f, const uint8_t handle[8],
			  const struct iomt_xf_win *w);
/* 0, or -ENOENT. */
int rt_filter_session_del(struct rt_filter *f, const uint8_t handle[8]);

/* The verdict (enum iomt_xf_verdict) of a whole Ethernet frame. */
int rt_filter_packet(struct rt_filter *f, const uint8_t *pkt, size_t len);
/* The verdict of one received datagram's payload from src (AF_INET or
 * AF_INET6): the daemon's path when XDP is not attached. */
int rt_filter_datagram(struct rt_filter *f, const struct sockaddr *src,
		       const uint8_t *p, size_t len);
/* Verdicts so far, per enum iomt_xf_verdict. */
void rt_filter_counters(const struct rt_filter *f, uint64_t out[IOMT_XF_NVERDICTS]);

#endif

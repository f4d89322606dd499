/* SPDX-License-Identifier: MIT */
/*
 * Small blocking-with-deadline socket helpers for request/response
 * protocols over UDP and TCP (the KDC client; tests). Deadlines are
 * CLOCK_MONOTONIC milliseconds (rt_knet_mono_ms). Every function returns
 * a non-negative result or -errno; -ETIMEDOUT once the deadline passed.
 */
#ifndef IOMT_RT_KNET_H
#define IOMT_RT_KNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

uint64_t rt_knet_mono_ms(void);

/* "host:port" or "[v6]:port"; host may be a name (getaddrinfo, first
 * address); port numeric 1..65535: 0 or -EINVAL. */
int rt_knet_resolve(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* A UDP socket connected to ss (only its datagrams arrive): fd or -errno. */
int rt_knet_udp_connect(const struct sockaddr_storage *ss, socklen_t len);
/* A TCP connection to ss, made before deadline: fd or -errno. */
int rt_knet_tcp_connect(const struct sockaddr_storage *ss, socklen_t len, uint64_t deadline);

/* The whole buffer (TCP) or one datagram (UDP): 0 or -errno. */
int rt_knet_send(int fd, const void *buf, size_t len);
/* One datagram before deadline: its length (cut to cap), or -errno. */
long rt_knet_recv_datagram(int fd, void *buf, size_t cap, uint64_t deadline);
/* One whole frame (lib/wire.h stream rules) from a TCP stream before
 * deadline into buf: its length; -EPROTO for a corrupt stream, -ECONNRESET
 * if the peer closed, -EMSGSIZE if the frame does not fit in cap. */
long rt_knet_recv_frame(int fd, void *buf, size_t cap, uint64_t deadline);

#endif

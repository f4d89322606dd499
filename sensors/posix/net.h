/* SPDX-License-Identifier: MIT */
/*
 * UDP for the POSIX port. Each device in flight has a socket of its own,
 * connected to the MEC: M4 carries no identifier, so the socket (our source
 * port) is what routes a reply to its device, and connect() makes the
 * kernel drop datagrams from anyone but the MEC. Non-blocking, for epoll.
 */
#ifndef IOMT_SENSOR_NET_H
#define IOMT_SENSOR_NET_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct sensor_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* "192.0.2.1:7001", "[::1]:7001" or "host:7001": 0, or -1 after logging. */
int sensor_net_resolve(const char *hostport, struct sensor_addr *out);

/* A non-blocking UDP socket connected to the MEC: fd, or -errno. */
int sensor_net_socket(const struct sensor_addr *mec);

/* One datagram: 0, or -errno (a lost datagram is the caller's timeout). */
int sensor_net_send(int fd, const void *buf, size_t len);

/* One datagram into buf: its length; -EAGAIN when none is left; -EMSGSIZE
 * for one larger than cap (dropped); -ECONNREFUSED and the like when the
 * kernel reports an ICMP error for an earlier send. */
ssize_t sensor_net_recv(int fd, void *buf, size_t cap);

#endif

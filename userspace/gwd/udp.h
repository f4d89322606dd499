/* SPDX-License-Identifier: MIT */
/*
 * The devices' UDP socket: datagrams in with recvmmsg (a batch per call),
 * datagrams out queued and sent with sendmmsg. One datagram is one frame.
 */
#ifndef IOMT_GWD_UDP_H
#define IOMT_GWD_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/rt_conf.h"
#include "role.h"
#include "seed002.h"
#include "wire.h"

enum {
	/* The largest device frame is a REC_PUT of one Ethernet MTU (1500 - IPv4
	 * 20 - UDP 8: sensors never rely on fragmentation); a datagram that does
	 * not fit is cut by the kernel (MSG_TRUNC) and refused as oversized. */
	GWD_UDP_RX_BUF = 1472,
	/* The largest frame we send to a device: S2_M4. */
	GWD_UDP_TX_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M4_LEN,
};

struct mmsghdr;
struct iovec;

struct gwd_udp {
	int fd;
	unsigned batch;
	struct rt_endpoint bound;
	struct mmsghdr *rx_msg, *tx_msg;
	struct iovec *rx_iov, *tx_iov;
	uint8_t *rx_buf, *tx_buf;
	struct gwd_addr *rx_from, *tx_to;
	unsigned tx_n;
	/* SO_RXQ_OVFL: the socket's running count of datagrams the kernel
	 * dropped, read from each datagram's control data. */
	uint8_t *rx_ctl;
	uint32_t kernel_drops;
};

/* Binds ep (port 0: any; [::] dual-stack); batch datagrams per receive and
 * per send; asks for a receive buffer of rcvbuf bytes and counts kernel
 * drops; reuseport: SO_REUSEPORT (the ingress workers' sockets share ep):
 * 0 or -errno. */
int gwd_udp_open(struct gwd_udp *u, const struct rt_endpoint *ep, unsigned batch,
		 uint64_t rcvbuf, int reuseport);
void gwd_udp_close(struct gwd_udp *u);

/* Datagrams received now (0 when none is waiting), or -errno. */
int gwd_udp_recv(struct gwd_udp *u);
/* Datagram i of the last receive: bytes, its real length, whether it was cut
 * (then only GWD_UDP_RX_BUF bytes are there: drop it unread), sender. */
const uint8_t *gwd_udp_datagram(const struct gwd_udp *u, unsigned i, size_t *len, int *cut);
const struct gwd_addr *gwd_udp_from(const struct gwd_udp *u, unsigned i);

/* total: the socket's SO_RXQ_OVFL counter from a datagram's control data;
 * what it gained is counted and logged. */
void gwd_udp_kernel_drops(struct gwd_udp *u, uint32_t total);

/* Queues one frame (sent when the queue fills, or by gwd_udp_flush). */
int gwd_udp_queue(struct gwd_udp *u, const struct gwd_addr *to, uint8_t type, const void *payload,
		  size_t len);
/* Sends everything queued; the number the kernel refused (counted, logged). */
unsigned gwd_udp_flush(struct gwd_udp *u);

/* "192.0.2.1:5000" or "[2001:db8::1]:5000", for log lines. */
const char *gwd_addr_str(const struct gwd_addr *a, char *buf, size_t len);

#endif

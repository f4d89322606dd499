/* SPDX-License-Identifier: MIT */
/*
 * BLE ingress through BlueZ sockets: an L2CAP LE credit-based (CoC)
 * listener on a fixed PSM, its accepted channels (one per sensor) in a
 * table of slots, and the socket filter every accepted channel gets.
 *
 * A channel is SOCK_SEQPACKET: one SDU is one frame (lib/wire.h), exactly as
 * one UDP datagram is. The listener asks for an incoming MTU of RT_BLE_MTU
 * (the largest device frame, as on UDP); an SDU above it is refused by the
 * kernel's L2CAP layer.
 *
 * The filter (rt_ble_filter.c) is an eBPF socket filter (SO_ATTACH_BPF,
 * BPF_PROG_TYPE_SOCKET_FILTER) written here as instructions, no compiler
 * needed. Before a frame is queued on the socket it checks the 4-byte header
 * (version 1, a known type, the big-endian payload length = SDU length - 4)
 * and, for a fixed-size type, the exact size; the sizes come from lib/'s
 * table (iomt_wire_fixed_len) copied into a BPF array map at load time.
 * Every verdict is counted in a second array map, read with
 * rt_ble_filter_counts: the filter's drops are measured in the kernel, not
 * guessed by comparing. A frame that passes is still judged and parsed
 * again by the daemon (rt_ble_judge, iomt_wire_parse): frames that arrive
 * between the kernel's accept and our SO_ATTACH_BPF are not filtered, and
 * kernels that skip socket filters on LE CoC channels (see rt_ble_judge)
 * filter none; the daemon's verdicts are counted apart.
 *
 * Loading the program needs CAP_BPF (or CAP_SYS_ADMIN): do it before
 * dropping privileges; attaching it to an accepted socket needs none.
 */
#ifndef IOMT_RT_BLE_H
#define IOMT_RT_BLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <bluetooth/bluetooth.h>
#include <bluetooth/l2cap.h>

enum {
	RT_BLE_PSM_DEFAULT = 0x80,	/* the first LE dynamic PSM */
	RT_BLE_PSM_MAX = 0xff,		/* LE PSMs are 0x01..0xff (0x80.. dynamic) */
	RT_BLE_MTU = 1472,		/* incoming SDU bound: the UDP path's datagram */
	RT_BLE_BACKLOG = 64,
};

/* The filter's verdicts, counted per verdict. */
enum rt_ble_verdict {
	RT_BLE_PASS,
	RT_BLE_DROP_SHORT,	/* under the 4-byte header */
	RT_BLE_DROP_VERSION,	/* version != 1 */
	RT_BLE_DROP_LENGTH,	/* length field != SDU length - 4 */
	RT_BLE_DROP_TYPE,	/* not a type lib/wire.c knows */
	RT_BLE_DROP_SIZE,	/* a fixed-size type of another size */
	RT_BLE_NVERDICTS,
};
extern const char *const rt_ble_verdict_name[RT_BLE_NVERDICTS];

struct rt_ble_filter {
	int prog_fd, sizes_fd, counts_fd;
};

/* Loads the program and its maps: 0, or -errno with a message in err. */
int rt_ble_filter_open(struct rt_ble_filter *f, char *err, size_t errlen);
void rt_ble_filter_close(struct rt_ble_filter *f);
/* SO_ATTACH_BPF on fd (any socket that runs sk_filter: L2CAP, AF_UNIX
 * SOCK_SEQPACKET in the host tests): 0 or -errno. */
int rt_ble_filter_attach(const struct rt_ble_filter *f, int fd);
/* The kernel's count of every verdict so far: 0 or -errno. */
int rt_ble_filter_counts(const struct rt_ble_filter *f, uint64_t out[RT_BLE_NVERDICTS]);
/* The filter's verdict on one SDU, computed here (same checks, same table):
 * for kernels that do not run socket filters on LE credit-based channels.
 * Linux skips sk_filter for L2CAP_MODE_LE_FLOWCTL and _EXT_FLOWCTL in
 * l2cap_sock_recv_cb (net/bluetooth/l2cap_sock.c: the SDU's credits are
 * already granted, so it may not be discarded), upstream and in Debian 12's
 * 6.1 (6.1.0-57); such a kernel counts nothing and every SDU reaches us. */
enum rt_ble_verdict rt_ble_judge(const uint8_t *sdu, size_t len);

/* One accepted channel. gen tells a slot's successive channels apart, so an
 * answer meant for a channel that has closed never reaches its successor. */
struct rt_ble_conn {
	int fd;				/* -1: the slot is free */
	uint32_t gen;
	struct sockaddr_l2 peer;
	uint64_t frames_in, frames_out;
};

struct rt_ble_server {
	int lfd;
	uint16_t psm;
	struct rt_ble_filter filter;
	struct rt_ble_conn *conn;
	unsigned cap, nopen;
	uint32_t next_gen;
};

/* Listens on psm (1..RT_BLE_PSM_MAX) of every LE adapter, with room for
 * max_conns channels, and loads the filter: 0, or -errno with a message in
 * err. The listener is non-blocking. */
int rt_ble_server_open(struct rt_ble_server *s, unsigned psm, unsigned max_conns, char *err,
		       size_t errlen);
/* The channel table and the filter, without a listener (tests adopt
 * AF_UNIX SOCK_SEQPACKET sockets): 0, or -errno with a message in err. */
int rt_ble_server_init(struct rt_ble_server *s, unsigned max_conns, char *err, size_t errlen);
void rt_ble_server_close(struct rt_ble_server *s);
/* Accepts one waiting channel (rt_ble_server_adopt): its slot, -EAGAIN
 * when none waits, or -errno. The channel's socket is non-blocking. */
int rt_ble_server_accept(struct rt_ble_server *s);
/* Takes a connected channel fd from peer: attaches the filter, gives it a
 * free slot and a new generation: the slot (>= 0), or -ENOSPC when the
 * table is full, -errno if the filter does not attach; fd is closed on
 * failure. */
int rt_ble_server_adopt(struct rt_ble_server *s, int fd, const struct sockaddr_l2 *peer);
/* The channel of slot with generation gen, or NULL if it has closed. */
struct rt_ble_conn *rt_ble_server_conn(struct rt_ble_server *s, unsigned slot, uint32_t gen);
/* Closes slot's channel (the slot becomes free). */
void rt_ble_server_drop(struct rt_ble_server *s, unsigned slot);

/* Receives one SDU: its length (0..), -EAGAIN, -EMSGSIZE when it was longer
 * than cap (cut: refuse it), -ECONNRESET when the peer has gone, -errno. */
int rt_ble_recv(int fd, uint8_t *buf, size_t cap);
/* Sends one frame (header + payload) as one SDU: 0, -EAGAIN (no credits
 * now), or -errno. */
int rt_ble_send_frame(int fd, uint8_t type, const void *payload, size_t len);

/* The sensor's side: a connected L2CAP LE CoC channel from adapter src to
 * dst's psm (both LE public addresses), opened with a blocking connect,
 * then made non-blocking: its fd, or -errno with *step naming the call that
 * failed ("socket": no Bluetooth in this kernel, "bind", "connect"). */
int rt_ble_channel_open(const bdaddr_t *src, const bdaddr_t *dst, unsigned psm,
			const char **step);

/* "AA:BB:CC:DD:EE:FF" (most significant byte first). */
const char *rt_ble_addr_str(const bdaddr_t *a, char buf[18]);
/* The same text to an address: 0 or -EINVAL. */
int rt_ble_addr_parse(const char *s, bdaddr_t *a);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * BLE ingress of iomt-gwd ('ble_psm'): sensors' L2CAP LE credit-based
 * channels (userspace/lib/rt_ble.h: the listener, the channel table, the
 * socket filter) served by the engine's loop, next to the UDP socket.
 *
 * To the roles a BLE sensor is an address like a UDP sender's: a struct
 * gwd_addr of family AF_BLUETOOTH holding struct gwd_ble_peer (the
 * channel's slot and generation, the peer's LE address). A role answers with
 * tx->to_device as for UDP; the engine sees the family and calls
 * gwd_ble_send, which writes the frame as one SDU on that same channel. An
 * answer for a channel that has closed (the slot's generation moved on) is
 * refused with -ENOTCONN and counted; it never reaches another sensor.
 *
 * The engine's side (engine.c):
 *   - gwd_ble_open puts the listener and, as they are accepted, every
 *     channel on the engine's epoll set, tagged GWD_BLE_TAG | id (the ring
 *     watches that set with its POLL_ADD: the same io_uring loop wakes
 *     for BLE as for UDP).
 *   - an event whose tag gwd_ble_is_tag: gwd_ble_event accepts, or reads the
 *     channel's waiting SDUs (at most 'batch'); it returns how many, and the
 *     engine checks and dispatches them like datagrams (gwd_ble_datagram,
 *     gwd_ble_from), then flushes.
 *   - gwd_ble_tick copies the filter's kernel counters into the metrics.
 *
 * Metrics: iomt_gwd_ble_channels_total (accepted), _channels_open,
 * _channels_refused_total (table full), _frames_in_total, _frames_out_total,
 * _send_errors_total{reason}, _filter_frames_total{verdict,where}: verdicts
 * (pass, short, version, length, type, size) of the kernel's socket filter
 * (where="kernel", read from its map) and of the same checks in the daemon
 * (where="daemon", rt_ble_judge on every SDU read: what the kernel has not
 * filtered), _filter_in_kernel (1 once the kernel's filter has judged any).
 * Linux does not run socket filters on LE credit-based channels
 * (l2cap_sock_recv_cb, Debian 12's 6.1 included): there the daemon's
 * checks are the filter, and its verdicts the drop counts.
 */
#ifndef IOMT_GWD_BLE_H
#define IOMT_GWD_BLE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lib/rt_ble.h"
#include "role.h"

/* epoll tags of BLE fds: GWD_BLE_TAG | slot, GWD_BLE_TAG | GWD_BLE_LISTEN. */
#define GWD_BLE_TAG (1ULL << 48)
#define GWD_BLE_LISTEN 0xffffffffULL

enum {
	GWD_BLE_CHANNELS_DEFAULT = 256,
	GWD_BLE_SYNC_MS = 500,		/* filter counters -> metrics */
};

/* What struct gwd_addr.ss holds for a BLE sensor. */
struct gwd_ble_peer {
	uint16_t family;		/* AF_BLUETOOTH */
	uint16_t slot;
	uint32_t gen;
	bdaddr_t bdaddr;
	uint8_t bdaddr_type;
};

struct gwd_ble {
	int on, epfd;
	struct rt_ble_server srv;
	size_t batch;
	uint8_t *rx;			/* batch buffers of RT_BLE_MTU + 1 */
	size_t *rx_len;
	uint8_t *rx_cut;
	struct gwd_addr *peer;		/* per slot */
	unsigned rx_slot;		/* the channel of the last read */
	uint64_t next_sync;
	int said_no_kernel, said_no_counts;	/* logged once */
};

/* Off (0, nothing opened) when cfg->ble_psm is 0. Otherwise listens on the
 * PSM with room for cfg->ble_channels channels, loads the socket filter and
 * joins epfd: 0, or -errno with a message in err. Before dropping root. */
int gwd_ble_open(struct gwd_ble *b, const struct gwd_cfg *cfg, int epfd, size_t batch,
		 char *err, size_t errlen);
void gwd_ble_close(struct gwd_ble *b);

static inline int gwd_ble_is_tag(uint64_t tag)
{
	return (tag & GWD_BLE_TAG) != 0;
}

/* The event of tag: accepts waiting channels (0 returned), or reads up to
 * 'batch' SDUs of the channel (their number; a channel that has gone is
 * closed and logged). */
unsigned gwd_ble_event(struct gwd_ble *b, uint64_t tag, uint32_t events);
/* SDU i of the last read, and its sender (valid until the next event). */
const uint8_t *gwd_ble_datagram(const struct gwd_ble *b, unsigned i, size_t *len, int *cut);
const struct gwd_addr *gwd_ble_from(const struct gwd_ble *b, unsigned i);

/* A BLE sensor's address (family AF_BLUETOOTH)? */
int gwd_ble_is_peer(const struct gwd_addr *a);
/* Sends one frame to the sensor's channel now: 0, -ENOTCONN (the channel
 * has closed), -EAGAIN (no credits: the sensor is not reading), -errno;
 * failures are counted and logged. */
int gwd_ble_send(struct gwd_ble *b, const struct gwd_addr *to, uint8_t type, const void *payload,
		 size_t len);
/* "ble:AA:BB:CC:DD:EE:FF/3" (slot), for log lines. */
const char *gwd_ble_peer_str(const struct gwd_addr *a, char *buf, size_t len);

/* Copies the filter's counters into the metrics when due (or force):
 * the next time it is due. */
uint64_t gwd_ble_tick(struct gwd_ble *b, uint64_t now_ms, int force);

#endif

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
 * The engine's side (engine.c), on io_uring (the default, uring.h):
 *   - the listener and every channel are ops on worker 0's ring, tagged
 *     (gwd_uring_fd_*): one multishot IORING_OP_ACCEPT on the listener, and
 *     on each channel one multishot IORING_OP_RECV whose SDUs land in a
 *     provided buffer ring of BLE's own (RT_BLE_MTU + 1 bytes each). Their
 *     completions come out of the same reaps as the UDP datagrams, in the
 *     same batches; gwd_ble_ring takes one reap's (accepts, SDUs, closes,
 *     send results) and returns its SDUs, which the engine checks and
 *     dispatches like datagrams (gwd_ble_datagram, gwd_ble_from); then
 *     gwd_ble_recycle gives the buffers back and re-arms what ended. A
 *     kernel that refuses multishot (the first completion says -EINVAL) gets
 *     single-shot ops re-armed after each completion (logged once). An
 *     empty buffer ring ends a channel's receive with -ENOBUFS: counted,
 *     re-armed after the batch; its SDUs wait in the socket (L2CAP credits:
 *     the sensor is held back, nothing is lost).
 *   - answers are SEND SQEs (MSG_DONTWAIT: no credits fails at once, as
 *     before), submitted in one io_uring_enter with the batch's UDP answers;
 *     their results come back as completions and are counted then. No send
 *     slot free: sent at once with sendmsg(2), after submitting the queued
 *     ones (the channel's order kept).
 *   - recv 0 or an error is the channel closing: counted, logged with the
 *     channel's name, freed. Tags carry the slot's generation: a late
 *     completion for a closed channel never touches its successor.
 * With 'baseline', or when the ring is not used (uring.h's fallback), the
 * listener and every channel are on the engine's epoll set, tagged
 * GWD_BLE_TAG | id: gwd_ble_event accepts, or reads the channel's waiting
 * SDUs with recv(2) (at most 'batch'), returning how many.
 * Either way gwd_ble_tick copies the filter's kernel counters into the
 * metrics.
 *
 * Metrics: iomt_gwd_ble_channels_total (accepted), _channels_open,
 * _channels_refused_total (table full), _frames_in_total, _frames_out_total,
 * _uring (0: epoll and recv(2), 1: io_uring single-shot recv, 2: multishot),
 * _uring_sdus_total (SDUs taken from io_uring completions),
 * _uring_nobufs_total (receives ended by an empty buffer ring),
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
#include "uring.h"

/* epoll tags of BLE fds: GWD_BLE_TAG | slot, GWD_BLE_TAG | GWD_BLE_LISTEN. */
#define GWD_BLE_TAG (1ULL << 48)
#define GWD_BLE_LISTEN 0xffffffffULL

enum {
	GWD_BLE_CHANNELS_DEFAULT = 256,
	GWD_BLE_SYNC_MS = 500,		/* filter counters -> metrics */
	GWD_BLE_BGID = 8,		/* its provided-buffer group on the ring */
	GWD_BLE_BUFS_MIN = 256,		/* provided buffers (or the batch's pow2) */
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
	unsigned n;			/* SDUs of the last event or reap */
	const uint8_t **rx_data;
	size_t *rx_len;
	uint8_t *rx_cut;
	struct gwd_addr *rx_from;	/* each SDU's sender, a copy */
	uint8_t *rx;			/* epoll path: batch buffers of RT_BLE_MTU + 1 */
	struct gwd_addr *peer;		/* per slot */
	unsigned rx_slot;		/* the channel of the SDU being judged */
	/* io_uring path (ring != NULL) */
	struct gwd_uring *ring;
	struct gwd_uring_bufs bufs;
	int accept_armed, accept_multi, accept_seen, recv_multi, recv_seen;
	uint8_t *armed;			/* per slot: enum in ble.c */
	unsigned *rearm, nrearm;	/* slots to re-arm after the batch */
	uint16_t *held;			/* buffers of the batch */
	unsigned nheld;
	uint64_t next_sync;
	int said_no_kernel, said_no_counts;	/* logged once */
};

/* Off (0, nothing opened) when cfg->ble_psm is 0. Otherwise listens on the
 * PSM with room for cfg->ble_channels channels, loads the socket filter and
 * serves them on ring (worker 0's; NULL: on epfd, and on epfd too should
 * the ring refuse BLE's buffers, logged): 0, or -errno with a message in
 * err. Before dropping root. */
int gwd_ble_open(struct gwd_ble *b, const struct gwd_cfg *cfg, int epfd, struct gwd_uring *ring,
		 size_t batch, char *err, size_t errlen);
/* After the ring has closed. */
void gwd_ble_close(struct gwd_ble *b);

static inline int gwd_ble_is_tag(uint64_t tag)
{
	return (tag & GWD_BLE_TAG) != 0;
}

/* The event of tag: accepts waiting channels (0 returned), or reads up to
 * 'batch' SDUs of the channel (their number; a channel that has gone is
 * closed and logged). */
unsigned gwd_ble_event(struct gwd_ble *b, uint64_t tag, uint32_t events);
/* The io_uring path: one reap's completions of other fds (gwd_uring_reap's
 * r->ev; BLE's are all there are): accepts, closes and send results are
 * handled, the SDUs kept: their number (at most nev). */
unsigned gwd_ble_ring(struct gwd_ble *b, const struct gwd_uring_ev *ev, unsigned nev);
/* The SDUs of gwd_ble_ring have been handled: their buffers go back, the
 * ops that ended are re-armed (submitted by the ring's next wait). */
void gwd_ble_recycle(struct gwd_ble *b);
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
